//! Part six of `make demo`: the burn-rate guard on a fresh emulator — team nlp's notebooks and endpoint cost
//! more per hour than its `burn` rule allows (priced from the emulator's Price List records); the tick prints
//! the estimate itemised and acts; the next tick finds the scope under its limit.

use std::sync::Arc;

use aws_sdk_sagemaker::types::{
    ContainerDefinition, InstanceType, ProductionVariant, ProductionVariantInstanceType, Tag,
};
use serde_json::json;
use tagwarden::pricing::PriceBook;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::{Emulator, REGION};

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-exec";

/// Runs part six on its own emulator.
pub async fn burn_part() -> Result<(), String> {
    let emulator = Emulator::start()?;
    let config = emulator.sdk_config(REGION, 3).await;
    let clients = Clients::new(&config);
    println!("\n=== Part 6: the burn-rate guard (budgets.burn, every 10 minutes) ===\n");
    let sm = &clients.sagemaker;
    let nlp = Tag::builder().key("team").value("nlp").build();
    for name in ["nlp-explore", "nlp-eval"] {
        sm.create_notebook_instance()
            .notebook_instance_name(name)
            .instance_type(InstanceType::MlT3Medium)
            .role_arn(ROLE)
            .tags(nlp.clone())
            .send()
            .await
            .map_err(|e| format!("CreateNotebookInstance: {e}"))?;
    }
    let container = ContainerDefinition::builder().image("img").model_data_url("s3://bucket/m.tar.gz").build();
    sm.create_model()
        .model_name("nlp-ranker")
        .execution_role_arn(ROLE)
        .primary_container(container)
        .send()
        .await
        .map_err(|e| format!("CreateModel: {e}"))?;
    let variant = ProductionVariant::builder()
        .variant_name("AllTraffic")
        .model_name("nlp-ranker")
        .initial_instance_count(4)
        .instance_type(ProductionVariantInstanceType::MlM5Xlarge)
        .initial_variant_weight(1.0)
        .build();
    sm.create_endpoint_config()
        .endpoint_config_name("nlp-ranker-config")
        .production_variants(variant)
        .send()
        .await
        .map_err(|e| format!("CreateEndpointConfig: {e}"))?;
    sm.create_endpoint()
        .endpoint_name("nlp-ranker")
        .endpoint_config_name("nlp-ranker-config")
        .tags(nlp)
        .send()
        .await
        .map_err(|e| format!("CreateEndpoint: {e}"))?;
    let yaml = "tags:\n  keys:\n    team: {}\nbudgets:\n  burn:\n    - {name: nlp, scope: {tags: {team: nlp}}, max_per_hour: 1, actions: [notify, stop-notebooks, scale-endpoints]}\n";
    println!("Rule: team nlp may burn $1.00/h; over it, stop its notebooks and scale its endpoints to 1.\n");
    let policy = Policy::from_yaml(yaml, "demo").map_err(|e| e.to_string())?;
    let enforcer =
        BudgetEnforcer::new(clients, Arc::new(policy)).with_pricing(Arc::new(PriceBook::from_config(&config)));
    for tick in 1..=2 {
        let outcome = enforcer.handle(&json!({"tagwarden": "burn"}), false).await.map_err(|e| e.to_string())?;
        let EnforcementOutcome::Burn(report) = outcome else { return Err(format!("not a burn report: {outcome:?}")) };
        for run in &report.rules {
            print!("Tick {tick}: {}", run.estimate.table());
            let done = match run.outcome.as_ref() {
                EnforcementOutcome::Enforced(r) => {
                    let done = r.results.iter().filter(|x| x.result.is_done()).count();
                    format!(
                        "enforced: {done} change(s) ({})",
                        r.results.iter().map(|x| x.action.as_str()).collect::<Vec<_>>().join(", ")
                    )
                }
                EnforcementOutcome::Skipped { reason, .. } => format!("skipped: {reason}"),
                other => other.label().to_owned(),
            };
            println!("  -> {done}\n");
        }
    }
    Ok(())
}
