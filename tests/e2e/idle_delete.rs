//! An idle endpoint rule that deletes (`then: delete`, where the deployment allows it), against the emulator:
//! the ledger keeps the deleted endpoint's config name and variants, so `restore --budget idle:<rule>` creates
//! it again from its endpoint config; when that config is gone too, restore says so and creates nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_sagemaker::types::ProductionVariantInstanceType;
use chrono::{DateTime, Duration, Utc};
use tagwarden::enforce::ledger::{Before, DeployedVariant};
use tagwarden::{BudgetEnforcer, EnforcementOutcome, Policy};
use tagwarden_e2e::idle::{IDLE_POLICY, IdleWorld, idle_world};
use tagwarden_e2e::{Emulator, REGION};

const RULE: &str = "idle:dev-endpoints";

struct World {
    idle: IdleWorld,
    enforcer: BudgetEnforcer,
    _emulator: Emulator,
}

/// The idle world with its endpoint rule deleting, in a deployment that allows it.
async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let idle = idle_world(&config).await.expect("idle world");
    let text = IDLE_POLICY.replace("then: scale-to-minimum", "then: delete");
    assert_ne!(text, IDLE_POLICY, "the idle policy's endpoint rule moved");
    let policy = Arc::new(Policy::from_yaml(&text, "idle delete test").unwrap());
    let enforcer = BudgetEnforcer::new(idle.clients.clone(), policy)
        .with_ledger(idle.ledger.clone())
        .with_cloudwatch(idle.cloudwatch.clone())
        .with_endpoint_deletion(true);
    World { idle, enforcer, _emulator: emulator }
}

impl World {
    /// Notices the idle endpoint at `t0`, then deletes it a tick after its one-day grace.
    async fn delete_idle(&self, t0: DateTime<Utc>) {
        self.enforcer.idle_at(t0, false).await.unwrap();
        let EnforcementOutcome::Idle(due) = self.enforcer.idle_at(t0 + Duration::hours(25), false).await.unwrap()
        else {
            panic!("expected idle")
        };
        let deleted = due.results.iter().find(|r| r.action == "scale-endpoints").expect("acted on");
        assert_eq!(deleted.result.to_string(), "done", "{due:?}");
    }

    async fn exists(&self, endpoint: &str) -> bool {
        self.idle.clients.sagemaker.describe_endpoint().endpoint_name(endpoint).send().await.is_ok()
    }
}

#[tokio::test]
async fn an_idle_endpoint_deleted_by_its_rule_is_created_again_from_its_config_by_restore() {
    let w = world().await;
    let arn = w.idle.endpoint("churn-dev", "dev", 3, ProductionVariantInstanceType::MlM5Xlarge).await.unwrap();
    w.delete_idle(Utc::now() + Duration::days(4)).await;
    assert!(!w.exists("churn-dev").await, "deleted");

    // The ledger kept what CreateEndpoint needs, and the variants as DescribeEndpoint gave them.
    let undos = w.idle.ledger.undos(RULE).await.unwrap();
    assert_eq!(undos.len(), 1, "{undos:?}");
    assert_eq!(undos[0].resource, arn);
    let Before::DeletedEndpoint { name, endpoint_config, variants } = &undos[0].before else {
        panic!("expected a deleted endpoint's record: {:?}", undos[0].before)
    };
    assert_eq!((name.as_str(), endpoint_config.as_str()), ("churn-dev", "churn-dev-config"));
    assert_eq!(variants, &[DeployedVariant { variant: "AllTraffic".into(), instances: Some(3), weight: Some(1.0) }]);

    let restored = w.enforcer.restore(Some(RULE), false).await.unwrap();
    let EnforcementOutcome::Restored(report) = &restored else { panic!("expected restored: {restored:?}") };
    let result = report.results.iter().find(|r| r.resource_arn == arn).expect("restored");
    assert_eq!((result.action.as_str(), result.result.to_string().as_str()), ("restore-endpoint", "done"));
    let out = w.idle.clients.sagemaker.describe_endpoint().endpoint_name("churn-dev").send().await.unwrap();
    assert_eq!(out.endpoint_config_name(), Some("churn-dev-config"), "created again from its config");
    assert_eq!(w.idle.instances("churn-dev").await.unwrap(), 3, "the config's count");
    assert!(w.idle.ledger.undos(RULE).await.unwrap().is_empty(), "the undo item is closed");
}

#[tokio::test]
async fn restore_says_why_it_cannot_create_a_deleted_endpoint_whose_config_is_gone() {
    let w = world().await;
    let arn = w.idle.endpoint("churn-dev", "dev", 2, ProductionVariantInstanceType::MlM5Large).await.unwrap();
    w.delete_idle(Utc::now() + Duration::days(4)).await;
    w.idle.clients.sagemaker.delete_endpoint_config().endpoint_config_name("churn-dev-config").send().await.unwrap();

    let restored = w.enforcer.restore(Some(RULE), false).await.unwrap();
    let EnforcementOutcome::Restored(report) = &restored else { panic!("expected restored: {restored:?}") };
    let result = report.results.iter().find(|r| r.resource_arn == arn).expect("looked at");
    assert_eq!(
        result.result.to_string(),
        "not-recreated: its endpoint config churn-dev-config no longer exists; create the endpoint by hand"
    );
    assert!(!w.exists("churn-dev").await, "nothing created");
    let history = w.idle.ledger.history_of_budget(RULE, None).await.unwrap();
    assert!(
        history.iter().any(|e| e.action == "restore-endpoint" && e.result.starts_with("not-recreated")),
        "{history:?}"
    );
}
