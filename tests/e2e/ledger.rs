//! The enforcement ledger against the emulator (moto's DynamoDB): deliveries act once across Lambda
//! instances, `restore` undoes only what the ledger recorded (markers a user writes change nothing), a
//! budget is restored when its own period ends (`tagwarden history` is tested with the CLI).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_sagemaker::types::Tag;
use chrono::{Duration, Utc};
use tagwarden::enforce::ResultKind;
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{BudgetWorld, seed_budget_world};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{Emulator, REGION, sample_event};

struct World {
    emulator: Emulator,
    clients: Clients,
    ledger: LedgerTable,
    enforcer: BudgetEnforcer,
    seeded: BudgetWorld,
}

async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 2).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger = create_ledger(&config).await.expect("ledger table");
    let enforcer = enforcer(&clients, &ledger);
    World { emulator, clients, ledger, enforcer, seeded }
}

/// A budget-enforcer as one Lambda instance builds it: its own clients' state, the shared table.
fn enforcer(clients: &Clients, ledger: &LedgerTable) -> BudgetEnforcer {
    BudgetEnforcer::new(clients.clone(), Arc::new(Policy::example().unwrap())).with_ledger(ledger.clone())
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

    async fn endpoint_instances(&self, arn: &str) -> i32 {
        let name = arn.rsplit('/').next().unwrap();
        let out = self.clients.sagemaker.describe_endpoint().endpoint_name(name).send().await.unwrap();
        let variant = out.production_variants().first().unwrap();
        variant.desired_instance_count().or(variant.current_instance_count()).unwrap()
    }

    async fn tag(&self, arn: &str, tags: &[(&str, &str)]) {
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build());
        self.clients.sagemaker.add_tags().resource_arn(arn).set_tags(Some(tags.collect())).send().await.unwrap();
    }

    async fn attached(&self, role: &str) -> Vec<String> {
        let out = self.clients.iam.list_attached_role_policies().role_name(role).send().await.unwrap();
        out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect()
    }
}

#[tokio::test]
async fn a_forged_scaled_from_marker_leaves_the_endpoint_as_it_is_after_restore() {
    let w = world().await;
    // A user tags an endpoint Tagwarden never touched (out of scope) as if it had scaled it from 40.
    let untouched = w.seeded.out_of_scope.endpoints[0].clone();
    let forged = [("tagwarden:scaled-by", "ml-marketing"), ("tagwarden:scaled-from", "AllTraffic=40")];
    w.tag(&untouched, &forged).await;
    let enforced = w.alert("actual-105-percent.json").await;
    assert_eq!(enforced.label(), "enforced");
    // …and rewrites the marker on an endpoint Tagwarden did scale down from 3.
    let scaled = w.seeded.in_scope.endpoints[0].clone();
    assert_eq!(w.endpoint_instances(&scaled).await, 1);
    w.tag(&scaled, &forged).await;

    let restored = w.restore().await;
    assert_eq!(w.endpoint_instances(&untouched).await, 3, "a marker Tagwarden did not record changes nothing");
    assert_eq!(w.endpoint_instances(&scaled).await, 3, "the counts the ledger recorded, not the tag's 40");
    assert!(restored.iter().all(|(_, arn, _)| *arn != untouched), "{restored:?}");
    assert!(restored.contains(&("restore-endpoint".into(), scaled, "done".into())), "{restored:?}");
}

#[tokio::test]
async fn a_forged_denied_by_marker_leaves_a_persons_deny_policy_attached() {
    let w = world().await;
    let deny = w.seeded.deny_policy_arn.clone();
    let person = w.seeded.preattached_role.clone();
    // The role a person attached the deny policy to, tagged as if Tagwarden had.
    let tag = aws_sdk_iam::types::Tag::builder().key("tagwarden:denied-by").value("ml-marketing").build().unwrap();
    w.clients.iam.tag_role().role_name(&person).tags(tag).send().await.unwrap();
    assert_eq!(w.alert("actual-125-percent.json").await.label(), "enforced");

    let restored = w.restore().await;
    assert!(w.attached(&person).await.contains(&deny), "a person's attachment stays: {restored:?}");
    assert!(!w.attached("ml-marketing-exec").await.contains(&deny), "what Tagwarden attached is detached");
    let detached_from_person =
        |(action, arn, _): &(String, String, String)| action == "detach-deny" && arn.ends_with(&format!("/{person}"));
    assert!(!restored.iter().any(detached_from_person), "{restored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_simultaneous_deliveries_of_one_alert_act_once() {
    let w = world().await;
    let event = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    // Two Lambda instances (no shared memory) handed the same SNS message at once.
    let (first, second) = (enforcer(&w.clients, &w.ledger), enforcer(&w.clients, &w.ledger));
    w.emulator.reset_calls().unwrap();
    let (a, b) = tokio::join!(first.handle(&event, false), second.handle(&event, false));
    let mut labels = [a.unwrap().label(), b.unwrap().label()];
    labels.sort();
    assert_eq!(labels, ["enforced", "skipped"]);
    let calls = w.emulator.calls().unwrap();
    let stops = calls.by_action.get("sagemaker.StopNotebookInstance").copied().unwrap_or_default();
    assert_eq!(stops, w.seeded.in_scope.notebooks_running.len() as u64, "each notebook stopped once");
    assert_eq!(calls.by_action.get("sns.Publish").copied(), Some(1), "one summary");

    // A third instance, later, sees the delivery settled.
    let third = enforcer(&w.clients, &w.ledger).handle(&event, false).await.unwrap();
    let EnforcementOutcome::Skipped { reason, .. } = third else { panic!("expected skipped, got {third:?}") };
    assert!(reason.contains("already handled") && reason.contains("(enforced)"), "{reason}");
}

#[tokio::test]
async fn a_budget_is_restored_at_the_start_of_its_own_next_period_by_the_tick() {
    let w = world().await;
    assert_eq!(w.alert("actual-105-percent.json").await.label(), "enforced");
    let scaled = w.seeded.in_scope.endpoints[0].clone();
    assert_eq!(w.endpoint_instances(&scaled).await, 1);

    let now = Utc::now();
    let EnforcementOutcome::Restored(same) = w.enforcer.tick(now, false).await.unwrap() else { panic!("restored") };
    assert!(same.results.is_empty(), "the period has not ended: {:?}", same.results);
    assert_eq!(w.endpoint_instances(&scaled).await, 1);

    let next_period = now + Duration::days(32);
    let EnforcementOutcome::Restored(next) = w.enforcer.tick(next_period, false).await.unwrap() else {
        panic!("restored")
    };
    assert!(next.results.iter().any(|r| r.action == "restore-endpoint" && r.result == ResultKind::Done));
    assert_eq!(w.endpoint_instances(&scaled).await, 3);
    let EnforcementOutcome::Restored(again) = w.enforcer.tick(next_period, false).await.unwrap() else {
        panic!("restored")
    };
    assert!(again.results.is_empty(), "a restored period is closed: {:?}", again.results);
}

#[tokio::test]
async fn a_missing_ledger_table_fails_clearly_and_changes_nothing() {
    let w = world().await;
    let ledger = LedgerTable::new(w.clients.dynamodb.client(), "no-such-table");
    let enforcer = enforcer(&w.clients, &ledger);
    let event = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    w.emulator.reset_calls().unwrap();
    let outcome = enforcer.handle_lambda(&event).await.unwrap();
    let EnforcementOutcome::Failed { error } = outcome else { panic!("expected failed, got {outcome:?}") };
    assert!(error.contains("\"no-such-table\" does not exist"), "{error}");
    let calls = w.emulator.calls().unwrap();
    assert!(calls.by_action.keys().all(|a| a.starts_with("dynamodb.")), "nothing but the claim: {calls:?}");
}

#[tokio::test]
async fn a_resource_enforced_again_after_a_restore_in_the_same_period_is_restored_again() {
    let w = world().await;
    let scaled = w.seeded.in_scope.endpoints[0].clone();
    assert_eq!(w.alert("actual-105-percent.json").await.label(), "enforced");
    w.restore().await;
    assert_eq!(w.endpoint_instances(&scaled).await, 3);
    // A second alert in the same period (another MessageId) scales it down again…
    let mut second = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    second["Records"][0]["Sns"]["MessageId"] = "second-delivery".into();
    assert_eq!(w.enforcer.handle(&second, false).await.unwrap().label(), "enforced");
    assert_eq!(w.endpoint_instances(&scaled).await, 1);
    // …and the period's end restores it again.
    let next_period = Utc::now() + Duration::days(32);
    w.enforcer.tick(next_period, false).await.unwrap();
    assert_eq!(w.endpoint_instances(&scaled).await, 3);
}

#[tokio::test]
async fn an_alert_costs_two_ledger_calls_a_batch_per_25_results_and_one_put_per_reversible_change() {
    let w = world().await;
    w.emulator.reset_calls().unwrap();
    let EnforcementOutcome::Enforced(report) = w.alert("actual-105-percent.json").await else { panic!("enforced") };
    let calls = w.emulator.calls().unwrap();
    let count = |action: &str| calls.by_action.get(action).copied().unwrap_or_default();
    let done = |action: &str| report.results.iter().filter(|r| r.action == action && r.result.is_done()).count();
    let reversible = (done("stop-notebooks") + done("scale-endpoints")) as u64;
    let batches = report.results.len().div_ceil(25) as u64;
    // Claim and open-period mark, plus one undo item per reversible change; the claim settled once.
    assert_eq!(count("dynamodb.PutItem"), 2 + reversible, "{calls:?}");
    assert_eq!(count("dynamodb.UpdateItem"), 1);
    assert_eq!(count("dynamodb.BatchWriteItem"), batches);
    let alert_calls = count("dynamodb.PutItem") + count("dynamodb.UpdateItem") + count("dynamodb.BatchWriteItem");
    println!(
        "ledger per alert: {alert_calls} calls for {} results ({reversible} reversible changes, {} other AWS calls)",
        report.results.len(),
        calls.total - alert_calls
    );

    w.emulator.reset_calls().unwrap();
    let restored = w.restore().await;
    let calls = w.emulator.calls().unwrap();
    let count = |action: &str| calls.by_action.get(action).copied().unwrap_or_default();
    // One query of the budget's undo items and of the open periods each, one update per undo, the entries.
    assert_eq!(count("dynamodb.UpdateItem"), restored.len() as u64);
    assert_eq!(count("dynamodb.BatchWriteItem"), restored.len().div_ceil(25) as u64);
    println!(
        "ledger per restore: {} calls for {} undone changes",
        calls.by_action.iter().filter(|(a, _)| a.starts_with("dynamodb.")).map(|(_, n)| n).sum::<u64>(),
        restored.len()
    );
}

#[tokio::test]
async fn a_quarterly_budget_stays_enforced_until_its_quarter_ends() {
    let w = world().await;
    let config = w.emulator.sdk_config(REGION, 1).await;
    tagwarden_e2e::budget_world::set_budget_period(&config, aws_sdk_budgets::types::TimeUnit::Quarterly, "1250")
        .await
        .unwrap();
    let EnforcementOutcome::Enforced(report) = w.alert("actual-105-percent.json").await else { panic!("enforced") };
    let period = report.period.expect("the budget's period");
    assert_eq!(format!("{:?}", period.unit), "Quarterly");
    let scaled = w.seeded.in_scope.endpoints[0].clone();
    let end = chrono::NaiveDate::parse_from_str(&period.end.to_string(), "%Y-%m-%d").unwrap();
    let at = |day: chrono::NaiveDate| day.and_hms_opt(0, 5, 0).unwrap().and_utc();

    // The last day of the quarter (a month or more after the alert, when a monthly schedule would have lifted it).
    w.enforcer.tick(at(end.pred_opt().unwrap()), false).await.unwrap();
    assert_eq!(w.endpoint_instances(&scaled).await, 1, "still enforced on the quarter's last day");
    w.enforcer.tick(at(end), false).await.unwrap();
    assert_eq!(w.endpoint_instances(&scaled).await, 3, "restored as the next quarter starts");
}
