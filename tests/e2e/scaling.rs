//! The enforcer scales down what keeps running, against the emulator: endpoints under Application Auto
//! Scaling (moto's own) have their scalable target's bounds lowered with the count and restored with it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_sagemaker::types::DesiredWeightAndCapacity;
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{BudgetWorld, seed_budget_world};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{Emulator, REGION, sample_event};

struct World {
    emulator: Emulator,
    clients: Clients,
    enforcer: BudgetEnforcer,
    seeded: BudgetWorld,
}

async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 2).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger: LedgerTable = create_ledger(&config).await.expect("ledger table");
    let policy = Arc::new(Policy::example().unwrap());
    let enforcer = BudgetEnforcer::new(clients.clone(), policy).with_ledger(ledger);
    World { emulator, clients, enforcer, seeded }
}

fn name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

fn variant_target(endpoint: &str) -> String {
    format!("endpoint/{endpoint}/variant/AllTraffic")
}

impl World {
    async fn alert(&self, file: &str) -> EnforcementOutcome {
        self.enforcer.handle(&sample_event("budget-enforcer", file).unwrap(), false).await.expect("no error")
    }

    async fn restore(&self) -> Vec<(String, String, String)> {
        let restore = serde_json::json!({"tagwarden": "restore", "budget": "ml-marketing"});
        let outcome = self.enforcer.handle(&restore, false).await.expect("restore");
        let EnforcementOutcome::Restored(report) = outcome else { panic!("expected restored, got {outcome:?}") };
        report.results.into_iter().map(|r| (r.action, r.resource_arn, r.result.to_string())).collect()
    }

    async fn instances(&self, endpoint: &str) -> i32 {
        let out = self.clients.sagemaker.describe_endpoint().endpoint_name(endpoint).send().await.unwrap();
        let variant = out.production_variants().first().unwrap();
        variant.desired_instance_count().or(variant.current_instance_count()).unwrap()
    }

    async fn register(&self, endpoint: &str, min: i32, max: i32) {
        self.clients
            .autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .resource_id(variant_target(endpoint))
            .min_capacity(min)
            .max_capacity(max)
            .send()
            .await
            .unwrap();
    }

    /// The variant's scalable target as Application Auto Scaling holds it: `(min, max)`.
    async fn bounds(&self, endpoint: &str) -> (i32, i32) {
        let out = self
            .clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_ids(variant_target(endpoint))
            .send()
            .await
            .unwrap();
        let target = out.scalable_targets().first().expect("the target is still registered");
        (target.min_capacity(), target.max_capacity())
    }

    /// What Application Auto Scaling does with a registered target (moto keeps targets but never acts on
    /// them): consult the target and bring the variant's count back within MinCapacity..=MaxCapacity.
    async fn consult_scalable_target(&self, endpoint: &str) {
        let (min, max) = self.bounds(endpoint).await;
        let count = self.instances(endpoint).await;
        let within = count.clamp(min, max);
        if within != count {
            let desired = DesiredWeightAndCapacity::builder().variant_name("AllTraffic").desired_instance_count(within);
            self.clients
                .sagemaker
                .update_endpoint_weights_and_capacities()
                .endpoint_name(endpoint)
                .desired_weights_and_capacities(desired.build())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn an_autoscaled_endpoint_stays_scaled_down_after_its_scalable_target_is_consulted_and_gets_its_bounds_back() {
    let w = world().await;
    let autoscaled = name_of(&w.seeded.in_scope.endpoints[0]).to_owned();
    w.register(&autoscaled, 2, 6).await;
    assert_eq!(w.instances(&autoscaled).await, 3);
    w.emulator.reset_calls().unwrap();

    assert_eq!(w.alert("actual-105-percent.json").await.label(), "enforced");
    let calls = w.emulator.calls().unwrap();
    let count = |op: &str| calls.by_action.get(op).copied().unwrap_or_default();
    assert_eq!(count("application-autoscaling.RegisterScalableTarget"), 1, "lowered once");
    assert_eq!(count("application-autoscaling.DescribeScalableTargets"), 1, "read once, before the change");
    assert_eq!(w.bounds(&autoscaled).await, (1, 1), "min and max lowered to the rule's min_instances");
    w.consult_scalable_target(&autoscaled).await;
    assert_eq!(w.instances(&autoscaled).await, 1, "the target does not put the instances back");

    let restored = w.restore().await;
    let arn = w.seeded.in_scope.endpoints[0].clone();
    assert!(restored.contains(&("restore-endpoint".into(), arn, "done".into())), "{restored:?}");
    assert_eq!(w.bounds(&autoscaled).await, (2, 6), "the recorded minimum and maximum");
    assert_eq!(w.instances(&autoscaled).await, 3, "the recorded count");
    w.consult_scalable_target(&autoscaled).await;
    assert_eq!(w.instances(&autoscaled).await, 3);
}
