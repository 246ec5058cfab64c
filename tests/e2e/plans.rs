//! Approval and grace against the emulator: a step that asks for them makes a plan in the ledger instead of
//! acting; the plan acts only when approved (or when its grace has passed and the budget still says so),
//! once, on its listed resources, and never after its budget period.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use chrono::{Duration, Utc};
use serde_json::json;
use tagwarden::enforce::ledger::{LedgerTable, PlanMode, PlanState};
use tagwarden::enforce::{EnforceError, PendingReport};
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{BudgetWorld, seed_budget_world, set_budget_spend};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{Emulator, REGION, sample_event};

/// The example policy's 100 % step, as it ships.
const STEP: &str = tagwarden_e2e::EXAMPLE_STEP_100;

struct World {
    config: aws_config::SdkConfig,
    clients: Clients,
    ledger: LedgerTable,
    enforcer: BudgetEnforcer,
    seeded: BudgetWorld,
    _emulator: Emulator,
}

/// The budget world, with the example policy's 100 % step waiting as `waits` says (`approval: required`, …).
async fn world(waits: &str) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 2).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger = create_ledger(&config).await.expect("ledger table");
    let step = STEP.replace("]}", &format!("], {waits}}}"));
    let text = tagwarden::policy::EXAMPLE_POLICY.replace(STEP, &step);
    assert_ne!(text, tagwarden::policy::EXAMPLE_POLICY, "the example policy's 100 % step moved");
    let policy = Policy::from_yaml(&text, "plans-test").unwrap();
    let enforcer = BudgetEnforcer::new(clients.clone(), Arc::new(policy)).with_ledger(ledger.clone());
    World { config, clients, ledger, enforcer, seeded, _emulator: emulator }
}

impl World {
    async fn pending(&self) -> PendingReport {
        let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
        match self.enforcer.handle(&alert, false).await.unwrap() {
            EnforcementOutcome::Pending(pending) => pending,
            other => panic!("expected pending, got {other:?}"),
        }
    }

    async fn running(&self) -> usize {
        let mut running = 0;
        for arn in &self.seeded.in_scope.notebooks_running {
            let name = arn.rsplit('/').next().unwrap();
            let out = self.clients.sagemaker.describe_notebook_instance().notebook_instance_name(name).send().await;
            running += usize::from(out.unwrap().notebook_instance_status() == Some(&NotebookInstanceStatus::InService));
        }
        running
    }

    async fn state(&self, id: &str) -> PlanState {
        self.ledger.plan(id).await.unwrap().expect("plan in the ledger").state
    }
}

fn refusal(result: Result<EnforcementOutcome, EnforceError>) -> String {
    match result {
        Err(EnforceError::BadInput(err)) => err.to_string(),
        other => panic!("expected bad input, got {other:?}"),
    }
}

#[tokio::test]
async fn a_pending_plan_acts_only_after_approval_and_only_once() {
    let w = world("approval: required").await;
    let in_scope = w.seeded.in_scope.notebooks_running.len();
    let pending = w.pending().await;
    assert_eq!(pending.mode, PlanMode::Approval);
    assert!(pending.report.notified, "the notice names the plan and its list");
    assert_eq!(w.running().await, in_scope, "nothing acted on before the approval");
    let plan = w.ledger.plan(&pending.plan_id).await.unwrap().unwrap();
    let stops = plan.targets.iter().filter(|(action, _)| action == "stop-notebooks").count();
    assert_eq!(stops, in_scope, "the plan lists exactly what it would stop: {:?}", plan.targets);

    // The same alert delivered again makes no second plan.
    let again = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    assert_eq!(w.enforcer.handle(&again, false).await.unwrap().label(), "skipped");
    assert_eq!(w.ledger.plans().await.unwrap().len(), 1);

    let approved = w.enforcer.approve(&pending.plan_id, Utc::now(), false).await.unwrap();
    assert_eq!(approved.label(), "enforced");
    assert_eq!(w.running().await, 0, "approved: the in-scope notebooks are stopped");
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Executed);

    let twice = refusal(w.enforcer.approve(&pending.plan_id, Utc::now(), false).await);
    assert!(twice.contains("is executed (enforced); only a pending plan is carried out"), "{twice}");
}

#[tokio::test]
async fn a_plan_does_not_act_after_its_budget_period_ends() {
    let w = world("approval: required").await;
    let pending = w.pending().await;
    let next_period = Utc::now() + Duration::days(32);
    let late = refusal(w.enforcer.approve(&pending.plan_id, next_period, false).await);
    assert!(late.contains(&format!("expired: its budget period ended on {}", pending.expires)), "{late}");
    assert_eq!(w.running().await, w.seeded.in_scope.notebooks_running.len(), "nothing done");
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Expired);
}

#[tokio::test]
async fn approving_an_unknown_plan_or_a_grace_plan_is_refused_and_changes_nothing() {
    let w = world("grace: 2h").await;
    let outcome = w.enforcer.handle_lambda(&json!({"tagwarden": "approve", "plan": "p-0000000000000000"})).await;
    let EnforcementOutcome::Rejected { error } = outcome.unwrap() else { panic!("expected rejected") };
    assert!(error.contains("no plan \"p-0000000000000000\" in the ledger"), "{error}");

    let pending = w.pending().await;
    assert_eq!(pending.mode, PlanMode::Grace);
    let early = refusal(w.enforcer.approve(&pending.plan_id, Utc::now(), false).await);
    assert!(early.contains("waits for its grace"), "{early}");
    assert_eq!(w.running().await, w.seeded.in_scope.notebooks_running.len());
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Pending);
}

#[tokio::test]
async fn a_grace_plan_acts_at_the_first_tick_after_its_grace() {
    let w = world("grace: 2h").await;
    let pending = w.pending().await;
    let EnforcementOutcome::Restored(early) = w.enforcer.tick(Utc::now(), false).await.unwrap() else { panic!() };
    assert!(early.results.is_empty(), "the grace has not passed: {:?}", early.results);
    assert_eq!(w.running().await, w.seeded.in_scope.notebooks_running.len());

    let later = Utc::now() + Duration::hours(3);
    let EnforcementOutcome::Restored(tick) = w.enforcer.tick(later, false).await.unwrap() else { panic!() };
    assert!(tick.results.iter().any(|r| r.action == "stop-notebooks" && r.result.is_done()), "{:?}", tick.results);
    assert_eq!(w.running().await, 0);
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Executed);
}

#[tokio::test]
async fn a_grace_plan_whose_spend_fell_back_acts_on_nothing() {
    let w = world("grace: 2h").await;
    let pending = w.pending().await;
    // A refund lands: the budget's own figure is back at 85 %, below the planned 100 % step.
    set_budget_spend(&w.config, "850").await.unwrap();
    let later = Utc::now() + Duration::hours(3);
    w.enforcer.tick(later, false).await.unwrap();
    assert_eq!(w.running().await, w.seeded.in_scope.notebooks_running.len(), "nothing stopped");
    assert_eq!(w.state(&pending.plan_id).await, PlanState::Lapsed);
}
