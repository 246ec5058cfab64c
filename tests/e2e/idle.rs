//! The idle rules against the emulator (moto's CloudWatch metrics simulate traffic): an endpoint without
//! invocations for the window is noticed, then scaled after its grace; one with traffic is left alone; a dev
//! notebook is stopped at 20:00 in Berlin and a production one is not; the morning start restarts only what
//! the rule stopped; an exempt endpoint is spared.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_sagemaker::types::{InstanceType, NotebookInstanceStatus, ProductionVariantInstanceType};
use chrono::{DateTime, Duration, Utc};
use tagwarden::enforce::idle::IdleReport;
use tagwarden::enforce::idle::endpoints::IdleStep;
use tagwarden::{BudgetEnforcer, EnforcementOutcome, Policy};
use tagwarden_e2e::idle::{IDLE_POLICY, IdleWorld, idle_world};
use tagwarden_e2e::{Emulator, REGION};

struct World {
    idle: IdleWorld,
    enforcer: BudgetEnforcer,
    _emulator: Emulator,
}

async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let idle = idle_world(&config).await.expect("idle world");
    let policy = Arc::new(Policy::from_yaml(IDLE_POLICY, "idle test").unwrap());
    let enforcer = BudgetEnforcer::new(idle.clients.clone(), policy)
        .with_ledger(idle.ledger.clone())
        .with_cloudwatch(idle.cloudwatch.clone());
    World { idle, enforcer, _emulator: emulator }
}

impl World {
    async fn run(&self, now: DateTime<Utc>) -> IdleReport {
        match self.enforcer.idle_at(now, false).await.unwrap() {
            EnforcementOutcome::Idle(report) => report,
            other => panic!("expected idle, got {other:?}"),
        }
    }
}

fn step_of(report: &IdleReport, endpoint_arn: &str) -> IdleStep {
    let decision = report.endpoints.iter().find(|d| d.endpoint == endpoint_arn);
    decision.unwrap_or_else(|| panic!("{endpoint_arn} not looked at: {report:?}")).step.clone()
}

/// Four days from now: the endpoints created now are older than the 3-day window.
fn later() -> DateTime<Utc> {
    Utc::now() + Duration::days(4)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn an_endpoint_without_invocations_is_notified_then_scaled_after_its_grace() {
    let w = world().await;
    let arn = w.idle.endpoint("churn-dev", "dev", 3, ProductionVariantInstanceType::MlM5Xlarge).await.unwrap();
    let t0 = later();

    let first = w.run(t0).await;
    assert_eq!(step_of(&first, &arn), IdleStep::Notice, "{first:?}");
    assert_eq!(first.notices, 1, "the owner is told first");
    assert_eq!(w.idle.instances("churn-dev").await.unwrap(), 3, "nothing scaled before the grace");

    let again = w.run(t0 + Duration::hours(12)).await;
    assert!(matches!(step_of(&again, &arn), IdleStep::InGrace { .. }), "{again:?}");
    assert_eq!(again.notices, 0, "told once");
    assert_eq!(w.idle.instances("churn-dev").await.unwrap(), 3);

    let due = w.run(t0 + Duration::hours(25)).await;
    assert_eq!(step_of(&due, &arn), IdleStep::Act, "{due:?}");
    let scaled = due.results.iter().find(|r| r.resource_arn == arn).unwrap();
    assert_eq!((scaled.action.as_str(), scaled.result.to_string().as_str()), ("scale-endpoints", "done"));
    assert_eq!(w.idle.instances("churn-dev").await.unwrap(), 1, "scaled to its minimum");

    let after = w.run(t0 + Duration::hours(26)).await;
    assert_eq!(step_of(&after, &arn), IdleStep::Acted, "acted on once");

    // The ledger holds the state before: restore scales it back.
    let restored = w.enforcer.restore(Some("idle:dev-endpoints"), false).await.unwrap();
    assert_eq!(restored.label(), "restored", "{restored:?}");
    assert_eq!(w.idle.instances("churn-dev").await.unwrap(), 3, "restored from the ledger");
}

#[tokio::test]
async fn an_endpoint_with_traffic_is_left_alone() {
    let w = world().await;
    let busy = w.idle.endpoint("search-dev", "dev", 2, ProductionVariantInstanceType::MlM5Large).await.unwrap();
    let idle = w.idle.endpoint("ranker-dev", "dev", 2, ProductionVariantInstanceType::MlM5Large).await.unwrap();
    let prod = w.idle.endpoint("ranker-prod", "prod", 2, ProductionVariantInstanceType::MlM5Large).await.unwrap();
    let t0 = later();
    w.idle.invocations("search-dev", 42.0, t0 - Duration::hours(30)).await.unwrap();

    let first = w.run(t0).await;
    assert_eq!(step_of(&first, &idle), IdleStep::Notice);
    assert_eq!(step_of(&first, &busy), IdleStep::Nothing, "{first:?}");
    assert!(first.endpoints.iter().all(|d| d.endpoint != prod), "prod is out of the rule's scope");

    // The idle one serves a request during its grace: its notice is cleared and nothing is scaled.
    w.idle.invocations("ranker-dev", 1.0, t0 + Duration::hours(2)).await.unwrap();
    let later = w.run(t0 + Duration::hours(25)).await;
    assert_eq!(step_of(&later, &idle), IdleStep::Clear, "{later:?}");
    assert_eq!(step_of(&later, &busy), IdleStep::Nothing);
    assert!(later.results.iter().all(|r| r.action != "scale-endpoints"), "{:?}", later.results);
    for name in ["search-dev", "ranker-dev", "ranker-prod"] {
        assert_eq!(w.idle.instances(name).await.unwrap(), 2, "{name} untouched");
    }
    assert!(w.idle.ledger.idle_marks("idle:dev-endpoints").await.unwrap().is_empty(), "the notice was cleared");
}

#[tokio::test]
async fn a_young_endpoint_and_an_exempt_one_are_not_idle() {
    let w = world().await;
    let young = w.idle.endpoint("fresh-dev", "dev", 2, ProductionVariantInstanceType::MlM5Large).await.unwrap();
    let exempt = w.idle.endpoint("exempt-stand", "dev", 2, ProductionVariantInstanceType::MlM5Large).await.unwrap();
    let report = w.run(Utc::now() + Duration::days(1)).await;
    assert_eq!(step_of(&report, &young), IdleStep::Nothing, "younger than the 3-day window");
    let spared = report.results.iter().find(|r| r.resource_arn == exempt).unwrap();
    assert!(spared.result.to_string().starts_with("exempt: the demo stand's endpoint"), "{spared:?}");
    let later = w.run(Utc::now() + Duration::days(6)).await;
    assert!(later.endpoints.iter().all(|d| d.endpoint != exempt), "never noticed: {later:?}");
    assert_eq!(w.idle.instances("exempt-stand").await.unwrap(), 2);
}

#[tokio::test]
async fn a_dev_notebook_is_stopped_at_its_off_hours_time_in_its_time_zone_and_a_production_one_is_not() {
    let w = world().await;
    w.idle.notebook("ana-dev", "dev", InstanceType::MlT3Xlarge).await.unwrap();
    w.idle.notebook("ana-prod", "prod", InstanceType::MlT3Xlarge).await.unwrap();

    // Tuesday 8 December 2026, 19:50 in Berlin (18:50 UTC): working hours still.
    let early = w.run(at("2026-12-08T18:50:00Z")).await;
    assert!(early.results.iter().all(|r| r.action != "stop-notebooks"), "{early:?}");
    assert_eq!(w.idle.notebook_status("ana-dev").await.unwrap(), NotebookInstanceStatus::InService);

    // 20:00 in Berlin is 19:00 UTC: the first tick after it stops the dev notebook, not the production one.
    let evening = w.run(at("2026-12-08T19:05:00Z")).await;
    let stopped: Vec<&str> = evening
        .results
        .iter()
        .filter(|r| r.action == "stop-notebooks" && r.result.is_done())
        .map(|r| r.resource_arn.as_str())
        .collect();
    assert_eq!(stopped.len(), 1, "{evening:?}");
    assert!(stopped[0].ends_with("/ana-dev"));
    assert_eq!(w.idle.notebook_status("ana-dev").await.unwrap(), NotebookInstanceStatus::Stopped);
    assert_eq!(w.idle.notebook_status("ana-prod").await.unwrap(), NotebookInstanceStatus::InService);

    // Ana starts it again on purpose at 21:00: the later ticks that evening leave it running.
    w.idle.clients.sagemaker.start_notebook_instance().notebook_instance_name("ana-dev").send().await.unwrap();
    let late = w.run(at("2026-12-08T20:30:00Z")).await;
    assert_eq!(late.off_hours[0].done, "stopped already on 2026-12-08", "{late:?}");
    assert_eq!(w.idle.notebook_status("ana-dev").await.unwrap(), NotebookInstanceStatus::InService);
}

#[tokio::test]
async fn the_morning_start_restarts_only_what_off_hours_stopped() {
    let w = world().await;
    w.idle.notebook("ben-dev", "dev", InstanceType::MlT3Medium).await.unwrap();
    w.idle.notebook("cho-dev", "dev", InstanceType::MlT3Medium).await.unwrap();
    // cho stopped their notebook themselves before the evening: off-hours never stopped it.
    w.idle.clients.sagemaker.stop_notebook_instance().notebook_instance_name("cho-dev").send().await.unwrap();

    let evening = w.run(at("2026-12-08T19:05:00Z")).await;
    assert_eq!(evening.results.iter().filter(|r| r.result.is_done()).count(), 1, "{evening:?}");
    assert_eq!(w.idle.notebook_status("ben-dev").await.unwrap(), NotebookInstanceStatus::Stopped);

    // Wednesday 08:00 in Berlin is 07:00 UTC.
    let morning = w.run(at("2026-12-09T07:10:00Z")).await;
    let started: Vec<&str> = morning
        .results
        .iter()
        .filter(|r| r.action == "start-notebook" && r.result.is_done())
        .map(|r| r.resource_arn.as_str())
        .collect();
    assert_eq!(started.len(), 1, "{morning:?}");
    assert!(started[0].ends_with("/ben-dev"));
    assert_eq!(w.idle.notebook_status("ben-dev").await.unwrap(), NotebookInstanceStatus::InService);
    assert_eq!(w.idle.notebook_status("cho-dev").await.unwrap(), NotebookInstanceStatus::Stopped, "not ours");

    // The next tick that morning starts nothing again.
    let again = w.run(at("2026-12-09T07:20:00Z")).await;
    assert!(again.results.is_empty(), "{again:?}");
}

#[tokio::test]
async fn the_idle_command_runs_the_rules_and_a_dry_run_changes_nothing() {
    let w = world().await;
    w.idle.notebook("dia-dev", "dev", InstanceType::MlT3Medium).await.unwrap();
    let outcome = w.enforcer.handle(&serde_json::json!({"tagwarden": "idle"}), true).await.unwrap();
    assert_eq!(outcome.label(), "idle");
    let EnforcementOutcome::Idle(report) = w.enforcer.idle_at(at("2026-12-08T19:05:00Z"), true).await.unwrap() else {
        panic!("idle")
    };
    assert!(report.results.iter().any(|r| r.result.to_string() == "dry-run"), "{report:?}");
    assert_eq!(w.idle.notebook_status("dia-dev").await.unwrap(), NotebookInstanceStatus::InService);
}
