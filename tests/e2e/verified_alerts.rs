//! Forged alerts against the emulator: an alert is a claim, checked against the budget's own record and the
//! topic it came through before anything is stopped. Each test is named for the attack it stops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use serde_json::{Value, json};
use tagwarden::enforce::EnforcementReport;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{ALERTS_TOPIC, BudgetWorld, seed_budget_world, set_budget_spend};
use tagwarden_e2e::{ACCOUNT, Emulator, REGION, sample_event};

struct World {
    emulator: Emulator,
    config: aws_config::SdkConfig,
    clients: Clients,
    seeded: BudgetWorld,
    ledger: tagwarden::enforce::ledger::LedgerTable,
}

/// The alerts topic the deployment configures (`TAGWARDEN_ALERT_TOPICS`); the samples come from it.
fn alerts_topic() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{ALERTS_TOPIC}")
}

async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 3).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger = tagwarden_e2e::ledger::create_ledger(&config).await.expect("ledger table");
    World { emulator, config, clients, seeded, ledger }
}

impl World {
    /// The enforcer as the Lambda builds it: alerts only from the alerts topic.
    fn enforcer(&self, policy: Policy) -> BudgetEnforcer {
        BudgetEnforcer::new(self.clients.clone(), Arc::new(policy))
            .with_alert_topics(vec![alerts_topic()])
            .with_ledger(self.ledger.clone())
    }

    async fn running_in_scope(&self) -> usize {
        let mut running = 0;
        for arn in &self.seeded.in_scope.notebooks_running {
            let name = arn.rsplit('/').next().unwrap();
            let out =
                self.clients.sagemaker.describe_notebook_instance().notebook_instance_name(name).send().await.unwrap();
            running += usize::from(out.notebook_instance_status() == Some(&NotebookInstanceStatus::InService));
        }
        running
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        self.emulator.calls().unwrap().by_action
    }
}

/// The 105 % sample with its budget, amount and message id replaced: what anyone allowed to publish can send.
fn alert(budget: &str, actual: &str) -> Value {
    let mut event = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let message = event["Records"][0]["Sns"]["Message"].as_str().unwrap().to_owned();
    let message = message.replace("ml-marketing", budget).replace("ACTUAL Amount: $1,050.00", actual);
    event["Records"][0]["Sns"]["Message"] = Value::from(message);
    event["Records"][0]["Sns"]["MessageId"] = json!(format!("forged-{budget}-{actual}"));
    event
}

fn calls_of(calls: &BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    calls.iter().map(|(action, n)| (action.as_str(), *n)).collect()
}

#[tokio::test]
async fn a_forged_alert_acts_on_nothing_and_says_unverified() {
    let w = world().await;
    // The budget's own record: $400 of $1,000 (40 %); the forged alert claims $2,000 (200 %).
    set_budget_spend(&w.config, "400").await.unwrap();
    let enforcer = w.enforcer(Policy::example().unwrap());
    w.emulator.reset_calls().unwrap();
    let outcome = enforcer.handle_lambda(&alert("ml-marketing", "ACTUAL Amount: $2,000.00")).await.unwrap();
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["outcome"], "unverified", "{json:#}");
    assert_eq!((json["alert_percent"].as_f64(), json["budget_percent"].as_f64()), (Some(200.0), Some(40.0)));
    assert_eq!(json["notified"], true);
    let reason = json["reason"].as_str().unwrap();
    assert!(reason.contains("40%") && reason.contains("200%") && reason.contains("first step (80%)"), "{reason}");
    assert_eq!(
        calls_of(&w.calls()),
        [("budgets.DescribeBudget", 1), ("dynamodb.PutItem", 1), ("dynamodb.UpdateItem", 1), ("sns.Publish", 1)],
        "one read, the delivery's claim (put, settled), one notice, nothing else"
    );
    assert_eq!(w.running_in_scope().await, w.seeded.in_scope.notebooks_running.len(), "nothing stopped");
}

#[tokio::test]
async fn an_alert_for_a_budget_that_does_not_exist_acts_on_nothing() {
    let w = world().await;
    // A tag-scoped rule never needed the budget for its scope: it still needs the budget to exist.
    let policy = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  notify_topic_arn: arn:aws:sns:us-east-1:123456789012:tagwarden-enforcement\n  rules:\n    - budget: ml-ghost\n      scope: {tags: {cost-center: CC-4100}}\n      steps: [{at: 100, actions: [notify, stop-notebooks]}]\n";
    let enforcer = w.enforcer(Policy::from_yaml(policy, "test").unwrap());
    w.emulator.reset_calls().unwrap();
    let outcome = enforcer.handle_lambda(&alert("ml-ghost", "ACTUAL Amount: $1,500.00")).await.unwrap();
    let EnforcementOutcome::Unverified { reason, alert_percent, budget_percent, notified, .. } = &outcome else {
        panic!("expected unverified, got {outcome:?}")
    };
    assert_eq!((*alert_percent, *budget_percent, *notified), (150.0, None, true));
    assert!(reason.contains("\"ml-ghost\" does not exist in account 123456789012"), "{reason}");
    // One read, the delivery's claim in the ledger (put, then settled), one notice.
    let expected =
        [("budgets.DescribeBudget", 1), ("dynamodb.PutItem", 1), ("dynamodb.UpdateItem", 1), ("sns.Publish", 1)];
    assert_eq!(calls_of(&w.calls()), expected);
    assert_eq!(w.running_in_scope().await, w.seeded.in_scope.notebooks_running.len(), "nothing stopped");
}

#[tokio::test]
async fn an_alert_from_a_forged_topic_is_rejected() {
    let w = world().await;
    let enforcer = w.enforcer(Policy::example().unwrap());
    let mut forged = sample_event("budget-enforcer", "actual-125-percent.json").unwrap();
    let other = format!("arn:aws:sns:{REGION}:{ACCOUNT}:ml-team-notifications");
    forged["Records"][0]["Sns"]["TopicArn"] = json!(other);
    w.emulator.reset_calls().unwrap();
    let outcome = enforcer.handle_lambda(&forged).await.unwrap();
    let EnforcementOutcome::Rejected { error } = &outcome else { panic!("expected rejected, got {outcome:?}") };
    assert!(error.contains(&other) && error.contains("not a configured alerts topic"), "{error}");
    assert!(w.calls().is_empty(), "rejected before any AWS call: {:?}", w.calls());
    assert_eq!(w.running_in_scope().await, w.seeded.in_scope.notebooks_running.len());

    // The same alert from the alerts topic is taken (as a dry run here).
    let genuine = sample_event("budget-enforcer", "actual-125-percent.json").unwrap();
    assert_eq!(enforcer.handle(&genuine, true).await.unwrap().label(), "dry-run");
}

#[tokio::test]
async fn a_raw_alert_invoked_directly_is_rejected() {
    let w = world().await;
    let enforcer = w.enforcer(Policy::example().unwrap());
    let sample = sample_event("budget-enforcer", "actual-125-percent.json").unwrap();
    // What `aws lambda invoke` with a hand-written payload sends: no SNS topic.
    let raw = json!({"Records": [{"Sns": {"Message": sample["Records"][0]["Sns"]["Message"].clone()}}]});
    w.emulator.reset_calls().unwrap();
    let outcome = enforcer.handle_lambda(&raw).await.unwrap();
    let EnforcementOutcome::Rejected { error } = &outcome else { panic!("expected rejected, got {outcome:?}") };
    assert!(error.contains("alerts must arrive through the alerts topic"), "{error}");
    assert!(w.calls().is_empty(), "rejected before any AWS call: {:?}", w.calls());
    // Commands (the restore schedule, `tagwarden restore`) still arrive directly.
    let restore = enforcer.handle_lambda(&json!({"tagwarden": "restore", "budget": "ml-marketing"})).await.unwrap();
    assert_eq!(restore.label(), "restored");
}

#[tokio::test]
async fn the_lower_of_the_alert_and_the_budget_figure_picks_the_step() {
    let w = world().await;
    // The alert claims 125 % (the deny-iam step); the budget's own record says 105 %.
    set_budget_spend(&w.config, "1050").await.unwrap();
    let enforcer = w.enforcer(Policy::example().unwrap());
    let alert = sample_event("budget-enforcer", "actual-125-percent.json").unwrap();
    let outcome = enforcer.handle_lambda(&alert).await.unwrap();
    let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
    let EnforcementReport { plan, budget_percent, period, results, .. } = &report;
    assert_eq!((report.alert.percent_of_budget, *budget_percent), (125.0, Some(105.0)));
    assert_eq!((plan.percent, plan.step), (105.0, 100.0), "the step of the budget's own 105 %");
    assert!(!results.iter().any(|r| r.action == "deny-iam"), "no role is denied below 120 %");
    assert!(results.iter().any(|r| r.action == "stop-notebooks" && r.result.is_done()));
    let period = period.expect("the budget's period");
    assert_eq!((period.start.day(), period.end.day()), (1, 1), "a calendar month: {period}");
    assert_eq!(w.running_in_scope().await, 0, "the 100 % step still stops the in-scope notebooks");

    // The other way round: the alert's own 105 % is lower than the budget's 125 %.
    set_budget_spend(&w.config, "1250").await.unwrap();
    let mut lower = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    lower["Records"][0]["Sns"]["MessageId"] = json!("lower-alert");
    let EnforcementOutcome::Enforced(report) = enforcer.handle_lambda(&lower).await.unwrap() else {
        panic!("expected enforced")
    };
    assert_eq!((report.plan.percent, report.plan.step, report.budget_percent), (105.0, 100.0, Some(125.0)));
}
