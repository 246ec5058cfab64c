//! A burn rule's step with `approval` or `grace`, against the emulator (its Price List serves real SageMaker
//! on-demand records): a scope over its limit makes a pending plan instead of acting; the plan acts on its
//! listed resources only after the approve event (approval), or at the first tick after its grace (grace).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_sagemaker::types::{
    ContainerDefinition, InstanceType, NotebookInstanceStatus, ProductionVariant, ProductionVariantInstanceType, Tag,
};
use chrono::{Duration, Utc};
use serde_json::json;
use tagwarden::enforce::PendingReport;
use tagwarden::enforce::ledger::{LedgerTable, PlanMode, PlanState};
use tagwarden::pricing::PriceBook;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::{Emulator, REGION};

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-exec";

struct World {
    clients: Clients,
    ledger: LedgerTable,
    enforcer: BudgetEnforcer,
    _emulator: Emulator,
}

fn team(value: &str) -> Tag {
    Tag::builder().key("team").value(value).build()
}

/// Notebooks `nlp-a`, `nlp-b` (ml.t3.medium) and endpoint `nlp-llm` (4 × ml.m5.xlarge), team nlp: $1.18/h
/// against a limit of $1/h; the rule's one step stops the notebooks, waiting as `waits` says.
async fn world(waits: &str) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let clients = Clients::new(&config);
    let ledger = tagwarden_e2e::ledger::create_ledger(&config).await.expect("ledger table");
    let topic = clients.sns.create_topic().name("tagwarden-enforcement").send().await.unwrap();
    let sm = &clients.sagemaker;
    for name in ["nlp-a", "nlp-b"] {
        sm.create_notebook_instance()
            .notebook_instance_name(name)
            .instance_type(InstanceType::MlT3Medium)
            .role_arn(ROLE)
            .tags(team("nlp"))
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
    let policy = format!(
        "tags:\n  keys:\n    team: {{}}\nbudgets:\n  notify_topic_arn: {}\n  burn:\n    - {{name: nlp, scope: {{tags: {{team: nlp}}}}, max_per_hour: 1, actions: [notify, stop-notebooks], {waits}}}\n",
        topic.topic_arn().unwrap()
    );
    let enforcer = BudgetEnforcer::new(clients.clone(), Arc::new(Policy::from_yaml(&policy, "test").unwrap()))
        .with_ledger(ledger.clone())
        .with_pricing(Arc::new(PriceBook::from_config(&config)));
    World { clients, ledger, enforcer, _emulator: emulator }
}

impl World {
    /// One burn tick, whose one rule is expected to defer its step: the pending plan.
    async fn pending(&self) -> PendingReport {
        let outcome = self.enforcer.handle(&json!({"tagwarden": "burn"}), false).await.unwrap();
        let EnforcementOutcome::Burn(report) = outcome else { panic!("expected a burn report, got {outcome:?}") };
        match *report.rules[0].outcome.clone() {
            EnforcementOutcome::Pending(pending) => pending,
            other => panic!("expected a pending plan, got {other:?}"),
        }
    }

    async fn running(&self) -> usize {
        let mut running = 0;
        for name in ["nlp-a", "nlp-b"] {
            let out = self.clients.sagemaker.describe_notebook_instance().notebook_instance_name(name).send().await;
            running += usize::from(out.unwrap().notebook_instance_status() == Some(&NotebookInstanceStatus::InService));
        }
        running
    }

    async fn state(&self, id: &str) -> PlanState {
        self.ledger.plan(id).await.unwrap().expect("plan in the ledger").state
    }
}

#[tokio::test]
async fn a_burn_step_with_approval_makes_a_pending_plan_that_acts_only_after_the_approve_event() {
    let w = world("approval: required").await;
    let pending = w.pending().await;
    assert_eq!(pending.mode, PlanMode::Approval);
    assert_eq!(pending.report.alert.budget_name, "burn:nlp");
    assert!(pending.report.notified, "the notice names the plan and its list");
    assert_eq!(w.running().await, 2, "nothing acted on before the approval");
    let plan = w.ledger.plan(&pending.plan_id).await.unwrap().unwrap();
    let stops = plan.targets.iter().filter(|(action, _)| action == "stop-notebooks").count();
    assert_eq!(stops, 2, "the plan lists exactly what it would stop: {:?}", plan.targets);

    // The next tick the same day finds the scope over its limit again: no second plan, nothing stopped.
    w.enforcer.handle(&json!({"tagwarden": "burn"}), false).await.unwrap();
    assert_eq!(w.ledger.plans().await.unwrap().len(), 1);
    assert_eq!(w.running().await, 2);
    // A tick, however late in the day, does not carry out a plan that waits for an approval.
    w.enforcer.tick(Utc::now() + Duration::hours(3), false).await.unwrap();
    assert_eq!(w.running().await, 2);
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Pending);

    let approve = json!({"tagwarden": "approve", "plan": pending.plan_id});
    let approved = w.enforcer.handle_lambda(&approve).await.unwrap();
    assert_eq!(approved.label(), "enforced", "{approved:?}");
    assert_eq!(w.running().await, 0, "approved: the plan's notebooks are stopped");
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Executed);
    let history = w.ledger.history_of_budget("burn:nlp", None).await.unwrap();
    let stopped = history.iter().filter(|e| e.action == "stop-notebooks" && e.result == "done").count();
    assert_eq!(stopped, 2, "{history:?}");
}

#[tokio::test]
async fn a_burn_step_with_grace_acts_at_the_first_tick_after_the_grace() {
    let w = world("grace: 2h").await;
    let pending = w.pending().await;
    assert_eq!(pending.mode, PlanMode::Grace);
    assert!(pending.due.is_some(), "{pending:?}");
    assert_eq!(w.running().await, 2, "nothing acted on during the grace");

    let EnforcementOutcome::Restored(early) = w.enforcer.tick(Utc::now(), false).await.unwrap() else { panic!() };
    assert!(early.results.is_empty(), "the grace has not passed: {:?}", early.results);
    assert_eq!(w.running().await, 2);

    let later = Utc::now() + Duration::hours(3);
    let EnforcementOutcome::Restored(tick) = w.enforcer.tick(later, false).await.unwrap() else { panic!() };
    assert!(tick.results.iter().any(|r| r.action == "stop-notebooks" && r.result.is_done()), "{:?}", tick.results);
    assert_eq!(w.running().await, 0, "the tick after the grace stopped the plan's notebooks");
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Executed);
}
