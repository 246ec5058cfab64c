//! The burn-rate guard against the emulator (its Price List serves real SageMaker on-demand records): a scope
//! whose running resources cost more per hour than its `burn` limit is acted on at the next tick with the
//! estimate itemised, and the tick after finds nothing new; one under its limit is left alone; a type the
//! Price List does not price (or prices with a forged record) is listed unpriced, never as 0. In an
//! organization the estimate sums every listed account's parts, each with its account and region.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sagemaker::types::{
    ContainerDefinition, InstanceType, NotebookInstanceStatus, ProductionVariant, ProductionVariantInstanceType, Tag,
};
use serde_json::{Value, json};
use tagwarden::aws::CallPolicy;
use tagwarden::enforce::burn::{BurnReport, RunningKind};
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::org::{ClientPool, Membership, Organization};
use tagwarden::pricing::{PriceBook, Usage};
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::org_budget::{MEMBER_ROLE, OrgWorld, member_config, seed_org_budget_world};
use tagwarden_e2e::{ACCOUNT, Emulator, REGION};

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-exec";

struct World {
    emulator: Emulator,
    clients: Clients,
    ledger: LedgerTable,
    topic: String,
    config: aws_config::SdkConfig,
}

fn team(value: &str) -> Tag {
    Tag::builder().key("team").value(value).build()
}

/// Notebooks `nlp-a`, `nlp-b` (team nlp) and `cv-a` (team cv) on `notebook_type`, and endpoint `nlp-llm`
/// (team nlp) of 4 × ml.m5.xlarge.
async fn world(notebook_type: InstanceType) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let clients = Clients::new(&config);
    let ledger = tagwarden_e2e::ledger::create_ledger(&config).await.expect("ledger table");
    let topic = clients.sns.create_topic().name("tagwarden-enforcement").send().await.unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let sm = &clients.sagemaker;
    for (name, owner) in [("nlp-a", "nlp"), ("nlp-b", "nlp"), ("cv-a", "cv")] {
        sm.create_notebook_instance()
            .notebook_instance_name(name)
            .instance_type(notebook_type.clone())
            .role_arn(ROLE)
            .tags(team(owner))
            .send()
            .await
            .unwrap();
    }
    let container = ContainerDefinition::builder().image("img").model_data_url("s3://bucket/m.tar.gz").build();
    sm.create_model().model_name("llm").execution_role_arn(ROLE).primary_container(container).send().await.unwrap();
    let variant = ProductionVariant::builder()
        .variant_name("AllTraffic")
        .model_name("llm")
        .initial_instance_count(4)
        .instance_type(ProductionVariantInstanceType::MlM5Xlarge)
        .initial_variant_weight(1.0)
        .build();
    sm.create_endpoint_config()
        .endpoint_config_name("nlp-llm-config")
        .production_variants(variant)
        .send()
        .await
        .unwrap();
    sm.create_endpoint()
        .endpoint_name("nlp-llm")
        .endpoint_config_name("nlp-llm-config")
        .tags(team("nlp"))
        .send()
        .await
        .unwrap();
    World { emulator, clients, ledger, topic, config }
}

impl World {
    /// The enforcer as the Lambda builds it: a ledger and the Price List.
    fn enforcer(&self, burn: &str) -> BudgetEnforcer {
        let policy =
            format!("tags:\n  keys:\n    team: {{}}\nbudgets:\n  notify_topic_arn: {}\n  burn:\n{burn}", self.topic);
        BudgetEnforcer::new(self.clients.clone(), Arc::new(Policy::from_yaml(&policy, "test").unwrap()))
            .with_ledger(self.ledger.clone())
            .with_pricing(Arc::new(PriceBook::from_config(&self.config)))
    }

    async fn notebooks(&self) -> BTreeMap<String, bool> {
        let mut running = BTreeMap::new();
        for name in ["nlp-a", "nlp-b", "cv-a"] {
            let out =
                self.clients.sagemaker.describe_notebook_instance().notebook_instance_name(name).send().await.unwrap();
            running.insert(name.to_owned(), out.notebook_instance_status() == Some(&NotebookInstanceStatus::InService));
        }
        running
    }

    async fn endpoint_instances(&self) -> i32 {
        let out = self.clients.sagemaker.describe_endpoint().endpoint_name("nlp-llm").send().await.unwrap();
        out.production_variants()[0].current_instance_count().unwrap_or_default()
    }
}

async fn tick(enforcer: &BudgetEnforcer) -> BurnReport {
    match enforcer.handle(&json!({"tagwarden": "burn"}), false).await.unwrap() {
        EnforcementOutcome::Burn(report) => report,
        other => panic!("expected a burn report, got {other:?}"),
    }
}

const OVER: &str = "    - {name: nlp, scope: {tags: {team: nlp}}, max_per_hour: 1, actions: [notify, stop-notebooks, scale-endpoints]}\n";

#[tokio::test]
async fn a_scope_running_more_per_hour_than_its_burn_limit_is_acted_on_at_the_next_tick_with_the_estimate_itemised() {
    let world = world(InstanceType::MlT3Medium).await;
    let enforcer = world.enforcer(OVER);

    let report = tick(&enforcer).await;
    let run = &report.rules[0];
    let estimate = &run.estimate;
    // 4 × ml.m5.xlarge hosting at $0.269 + 2 × ml.t3.medium notebook at $0.05 (the emulator's price records).
    assert_eq!(estimate.per_hour, 1.176, "{estimate:?}");
    assert_eq!((estimate.rule.as_str(), estimate.max_per_hour, estimate.percent), ("burn:nlp", Some(1.0), Some(117.6)));
    let parts: Vec<(RunningKind, Option<&str>, i32, Option<f64>)> =
        estimate.parts.iter().map(|p| (p.kind, p.instance_type.as_deref(), p.count, p.unit_price)).collect();
    assert_eq!(
        parts,
        [
            (RunningKind::EndpointVariant, Some("ml.m5.xlarge"), 4, Some(0.269)),
            (RunningKind::NotebookInstance, Some("ml.t3.medium"), 1, Some(0.05)),
            (RunningKind::NotebookInstance, Some("ml.t3.medium"), 1, Some(0.05)),
        ]
    );
    assert!(estimate.parts[0].arn.ends_with("endpoint/nlp-llm#AllTraffic"), "{}", estimate.parts[0].arn);
    assert!(estimate.unpriced.is_empty(), "{:?}", estimate.unpriced);
    assert_eq!(run.outcome.label(), "enforced", "{:?}", run.outcome);
    let EnforcementOutcome::Enforced(acted) = run.outcome.as_ref() else { unreachable!() };
    assert!(acted.notified, "one burn notice");
    assert_eq!(
        world.notebooks().await,
        BTreeMap::from([("cv-a".into(), true), ("nlp-a".into(), false), ("nlp-b".into(), false)])
    );
    assert_eq!(world.endpoint_instances().await, 1);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rules"][0]["outcome"], "enforced");
    assert_eq!(json["rules"][0]["estimate"]["parts"][0]["per_hour"], json!(1.076));
    let subjects = world.emulator.sns_subjects().unwrap();
    assert_eq!(subjects.iter().filter(|s| s.contains("burn:nlp burns $1.18/h")).count(), 1, "{subjects:?}");
    // The prices are kept in the ledger: a cold start does not ask the Price List again.
    let kept = world.ledger.price(REGION, "ml.m5.xlarge").await.unwrap().expect("kept");
    assert_eq!(kept.prices.of(Usage::Hosting), Some(0.269));

    // The next tick: what still runs (the endpoint at 1 instance) is under the limit; nothing new is done.
    world.emulator.reset_calls().unwrap();
    let report = tick(&enforcer).await;
    let run = &report.rules[0];
    assert_eq!(run.estimate.per_hour, 0.269);
    let EnforcementOutcome::Skipped { reason, .. } = run.outcome.as_ref() else { panic!("{:?}", run.outcome) };
    assert!(reason.contains("estimated at $0.27/h, 27% of the limit $1.00/h"), "{reason}");
    let calls = world.emulator.calls().unwrap();
    assert_eq!(calls.by_action.get("pricing.GetProducts"), None, "prices come from the process cache: {calls:?}");
    assert_eq!(calls.by_action.get("sagemaker.StopNotebookInstance"), None);
    let history = world.ledger.history_of_budget("burn:nlp", None).await.unwrap();
    assert_eq!(history.iter().filter(|e| e.result == "done").count(), 3, "{history:?}");
}

#[tokio::test]
async fn a_scope_under_its_burn_limit_is_left_alone() {
    let world = world(InstanceType::MlT3Medium).await;
    let enforcer = world.enforcer(
        "    - {name: nlp, scope: {tags: {team: nlp}}, max_per_hour: 25, actions: [notify, stop-notebooks, scale-endpoints]}\n",
    );
    let report = tick(&enforcer).await;
    let run = &report.rules[0];
    assert_eq!((run.estimate.per_hour, run.estimate.parts.len()), (1.176, 3));
    let EnforcementOutcome::Skipped { reason, .. } = run.outcome.as_ref() else { panic!("{:?}", run.outcome) };
    assert!(
        reason.contains("burn:nlp: what runs in team=nlp is estimated at $1.18/h, 5% of the limit $25.00/h"),
        "{reason}"
    );
    assert!(world.notebooks().await.values().all(|running| *running));
    assert_eq!(world.endpoint_instances().await, 4);
    assert!(world.emulator.sns_subjects().unwrap().is_empty());
    assert!(world.ledger.history_of_budget("burn:nlp", None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_type_the_price_list_does_not_price_or_prices_with_a_forged_record_is_unpriced_never_zero() {
    let world = world(InstanceType::MlC5Xlarge).await;
    // A forged record for the notebooks' type: a negative price is refused, not read.
    let forged: Value = json!({
        "product": {"productFamily": "ML Instance", "sku": "FORGED",
            "attributes": {"instanceName": "ml.c5.xlarge", "component": "Notebook", "regionCode": REGION}},
        "serviceCode": "AmazonSageMaker",
        "terms": {"OnDemand": {"FORGED.JRTCKXETXF": {"priceDimensions": {"FORGED.JRTCKXETXF.6YS6EN2CT7":
            {"unit": "Hrs", "pricePerUnit": {"USD": "-9.0000000000"}}}}}}
    });
    world.emulator.seed_price_list(&json!([forged])).unwrap();
    let enforcer = world.enforcer(OVER);
    let report = tick(&enforcer).await;
    let estimate = &report.rules[0].estimate;
    assert_eq!(estimate.per_hour, 1.076, "only the endpoint is priced");
    assert_eq!(estimate.unpriced.len(), 2, "{estimate:?}");
    for part in &estimate.unpriced {
        assert_eq!((part.instance_type.as_deref(), part.unit_price, part.per_hour), (Some("ml.c5.xlarge"), None, None));
    }
    assert!(estimate.notes.iter().any(|n| n.contains("not a positive price")), "{:?}", estimate.notes);
    assert!(estimate.table().contains("2 part(s) unpriced: a lower bound"));
    let json = serde_json::to_value(estimate).unwrap();
    assert!(json["unpriced"][0]["unit_price"].is_null());
    assert_eq!(json["unpriced"][0]["instance_type"], "ml.c5.xlarge");
}

/// An organization (the emulator's default account central, three members with notebooks tagged
/// `cost-center`); the enforcer lists the first two members and works in us-east-1.
async fn org_enforcer(emulator: &Emulator, base: &aws_config::SdkConfig) -> (BudgetEnforcer, OrgWorld) {
    let seeded = seed_org_budget_world(emulator, base).await.expect("seed");
    let organization = Organization {
        membership: Membership::Listed(seeded.members[..2].iter().map(|a| (a.clone(), vec![])).collect()),
        member_role_name: MEMBER_ROLE.to_owned(),
        external_id_parameter: None,
        external_id: None,
        regions: vec![REGION.to_owned()],
    };
    let pool = ClientPool::new(base, &CallPolicy::default(), ACCOUNT, organization, "budget-enforcer");
    let topic = aws_sdk_sns::Client::new(base).create_topic().name("tagwarden-enforcement").send().await.unwrap();
    let policy = format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  notify_topic_arn: {}\n  burn:\n    - {{name: mkt, scope: {{tags: {{cost-center: CC-4100}}}}, max_per_hour: 0.15, actions: [notify, stop-notebooks]}}\n",
        topic.topic_arn().unwrap()
    );
    let ledger = tagwarden_e2e::ledger::create_ledger(base).await.expect("ledger table");
    let enforcer = BudgetEnforcer::for_organization(pool, Arc::new(Policy::from_yaml(&policy, "org burn").unwrap()))
        .with_ledger(ledger)
        .with_pricing(Arc::new(PriceBook::from_config(base)));
    (enforcer, seeded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burn_estimate_sums_the_running_resources_of_two_accounts() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let base = emulator.sdk_config(REGION, 1).await;
    let (enforcer, seeded) = org_enforcer(&emulator, &base).await;
    let (first, second) = (&seeded.members[0], &seeded.members[1]);

    let report = tick(&enforcer).await;
    let run = &report.rules[0];
    let estimate = &run.estimate;
    // mkt-1 and mkt-2 (ml.t3.medium notebooks, $0.05 an hour) in each of the two listed accounts.
    assert_eq!(estimate.per_hour, 0.2, "{estimate:?}");
    let mut places: Vec<(&str, &str, &str)> = estimate
        .parts
        .iter()
        .map(|p| (p.account.as_deref().unwrap(), p.region.as_deref().unwrap(), p.arn.rsplit('/').next().unwrap()))
        .collect();
    places.sort();
    let mut expected =
        vec![(first.as_str(), REGION, "mkt-1"), (first.as_str(), REGION, "mkt-2"), (second.as_str(), REGION, "mkt-1")];
    expected.push((second.as_str(), REGION, "mkt-2"));
    expected.sort();
    assert_eq!(places, expected, "itemised with account and region; the unlisted member is not estimated");
    assert!(estimate.unpriced.is_empty(), "{:?}", estimate.unpriced);
    assert!(estimate.scope.contains("organization"), "{}", estimate.scope);

    // 0.2 of 0.15 an hour: the rule acts in both accounts.
    let EnforcementOutcome::Enforced(acted) = run.outcome.as_ref() else { panic!("{:?}", run.outcome) };
    let stopped: Vec<&str> = acted
        .results
        .iter()
        .filter(|r| r.action == "stop-notebooks" && r.result.is_done())
        .map(|r| r.resource_arn.as_str())
        .collect();
    assert_eq!(stopped.len(), 4, "{:?}", acted.results);
    for notebook in &seeded.notebooks {
        let config = member_config(&base, &notebook.account, &notebook.region).await.unwrap();
        let name = notebook.arn.rsplit('/').next().unwrap();
        let out = aws_sdk_sagemaker::Client::new(&config)
            .describe_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
            .unwrap();
        let in_estimate = stopped.contains(&notebook.arn.as_str());
        let status = out.notebook_instance_status().unwrap();
        assert_eq!(*status == NotebookInstanceStatus::Stopped, in_estimate, "{}: {status:?}", notebook.arn);
    }
}
