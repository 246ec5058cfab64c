//! Cost Anomaly Detection alerts against the emulator: a verified SageMaker anomaly on a tag monitor reaches
//! that team (and, when the policy asks, stops exactly its notebooks); a forged one, another service's and a
//! redelivered one change nothing. Each test is named for what it pins.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_costexplorer::types::{AnomalyMonitor, Expression, MonitorType, TagValues};
use aws_sdk_sagemaker::types::{InstanceType, NotebookInstanceStatus, Tag};
use serde_json::{Value, json};
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::{ACCOUNT, Emulator, REGION, sample_event};

/// The topic the samples arrive on (the budget alerts' topic: anomalies may share it).
const ALERTS: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";
/// The sample's anomaly and monitor ids, replaced by the emulator's.
const SAMPLE_MONITOR: &str = "arn:aws:ce::123456789012:anomalymonitor/7d0e4b2a-3c1f-4e8a-9b6d-2f5a8c1e0d41";
const SAMPLE_ANOMALY: &str = "5b3e9c7a-1f2d-4a6b-8e0c-9d4f7a2b6c13";

struct World {
    emulator: Emulator,
    config: SdkConfig,
    clients: Clients,
    ledger: LedgerTable,
    topic: String,
    monitor: String,
    /// notebook name -> team
    notebooks: BTreeMap<String, &'static str>,
}

async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let clients = Clients::new(&config);
    let ledger = tagwarden_e2e::ledger::create_ledger(&config).await.expect("ledger table");
    let topic = clients.sns.create_topic().name("tagwarden-enforcement").send().await.unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let mut notebooks = BTreeMap::new();
    for (name, team) in [("nlp-a", "nlp"), ("nlp-b", "nlp"), ("cv-a", "cv")] {
        clients
            .sagemaker
            .create_notebook_instance()
            .notebook_instance_name(name)
            .instance_type(InstanceType::MlT3Medium)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/sagemaker-exec"))
            .tags(Tag::builder().key("team").value(team).build())
            .send()
            .await
            .unwrap();
        notebooks.insert(name.to_owned(), team);
    }
    let tags = TagValues::builder().key("team").values("nlp").build();
    let spec = AnomalyMonitor::builder()
        .monitor_name("team-nlp")
        .monitor_type(MonitorType::Custom)
        .monitor_specification(Expression::builder().tags(tags).build())
        .build()
        .unwrap();
    let costexplorer = aws_sdk_costexplorer::Client::new(&config);
    let monitor = costexplorer.create_anomaly_monitor().anomaly_monitor(spec).send().await.unwrap();
    let monitor = monitor.monitor_arn().to_owned();
    World { emulator, config, clients, ledger, topic, monitor, notebooks }
}

impl World {
    /// The enforcer as the Lambda builds it: alerts from the alerts topic, a ledger.
    fn enforcer(&self, anomalies: &str) -> BudgetEnforcer {
        let policy =
            format!("tags:\n  keys:\n    team: {{}}\nbudgets:\n  notify_topic_arn: {}\n{anomalies}", self.topic);
        BudgetEnforcer::new(self.clients.clone(), Arc::new(Policy::from_yaml(&policy, "test").unwrap()))
            .with_alert_topics(vec![ALERTS.to_owned()])
            .with_ledger(self.ledger.clone())
    }

    /// AWS's record of the sample anomaly, as Cost Explorer keeps it, with this total impact.
    fn record(&self, total: f64, service: &str) {
        self.emulator
            .seed_anomalies(&json!([{
                "AnomalyId": SAMPLE_ANOMALY, "MonitorArn": self.monitor, "DimensionValue": "nlp",
                "AnomalyStartDate": "2026-11-30", "AnomalyEndDate": "2026-12-01",
                "AnomalyScore": {"MaxScore": 0.86, "CurrentScore": 0.82},
                "Impact": {"MaxImpact": total / 2.0, "TotalImpact": total, "TotalActualSpend": total + 96.0,
                           "TotalExpectedSpend": 96.0, "TotalImpactPercentage": (total / 96.0 * 10_000.0).round() / 100.0},
                "RootCauses": [{"Service": service, "Region": "us-east-1", "LinkedAccount": ACCOUNT,
                                "UsageType": "USE1-Notebk:ml.p3.2xlarge"}],
            }]))
            .unwrap();
    }

    /// The tag-monitor sample, pointed at the emulator's monitor; `edit` changes its message.
    fn alert(&self, edit: impl FnOnce(&mut Value)) -> Value {
        let mut event = sample_event("budget-enforcer", "anomaly-sagemaker-tag.json").unwrap();
        let text = event["Records"][0]["Sns"]["Message"].as_str().unwrap().replace(SAMPLE_MONITOR, &self.monitor);
        let mut message: Value = serde_json::from_str(&text).unwrap();
        edit(&mut message);
        event["Records"][0]["Sns"]["Message"] = Value::from(message.to_string());
        event
    }

    async fn running(&self) -> BTreeMap<String, bool> {
        let mut running = BTreeMap::new();
        for name in self.notebooks.keys() {
            let out =
                self.clients.sagemaker.describe_notebook_instance().notebook_instance_name(name).send().await.unwrap();
            running.insert(name.clone(), out.notebook_instance_status() == Some(&NotebookInstanceStatus::InService));
        }
        running
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        self.emulator.calls().unwrap().by_action
    }

    /// A queue that receives the notices routed to `team` (an SNS filter policy on the `team` attribute).
    async fn team_queue(&self, team: &str) -> String {
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let name = format!("{team}-notices");
        let url = sqs.create_queue().queue_name(&name).send().await.unwrap().queue_url().unwrap().to_owned();
        self.clients
            .sns
            .subscribe()
            .topic_arn(&self.topic)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
            .attributes("FilterPolicyScope", "MessageAttributes")
            .attributes("FilterPolicy", json!({"team": [team]}).to_string())
            .send()
            .await
            .unwrap();
        url
    }

    /// The `kind` attribute of every notice in the queue.
    async fn kinds(&self, url: &str) -> Vec<String> {
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let out = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
        out.messages()
            .iter()
            .map(|m| {
                let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                envelope["MessageAttributes"]["kind"]["Value"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }
}

fn all_running(world: &World) -> BTreeMap<String, bool> {
    world.notebooks.keys().map(|name| (name.clone(), true)).collect()
}

#[tokio::test]
async fn a_verified_sagemaker_anomaly_on_a_tag_monitor_notifies_that_teams_scope() {
    let w = world().await;
    w.record(592.9, "Amazon SageMaker");
    let (nlp, cv) = (w.team_queue("nlp").await, w.team_queue("cv").await);
    // No `anomalies` section: every monitor's anomalies only notify.
    let enforcer = w.enforcer("");
    w.emulator.reset_calls().unwrap();
    let outcome = enforcer.handle_lambda(&w.alert(|_| {})).await.unwrap();
    let EnforcementOutcome::Notified(report) = &outcome else { panic!("expected notified, got {outcome:?}") };
    assert!(report.notified);
    assert_eq!(report.scope, "team=nlp (from the anomaly monitor)");
    assert_eq!(report.alert.budget_name, "anomaly:team-nlp");
    let verified = report.anomaly.as_ref().unwrap();
    assert_eq!((verified.impact.total_impact, verified.recorded_total_impact), (592.9, 592.9));
    let calls = w.calls();
    assert_eq!(calls.get("ce.GetAnomalies"), Some(&1));
    assert_eq!(calls.get("ce.GetAnomalyMonitors"), Some(&1));
    assert_eq!(calls.get("sns.Publish"), Some(&1));
    assert!(!calls.keys().any(|k| k.starts_with("sagemaker.Stop")), "notify only: {calls:?}");
    assert_eq!(w.kinds(&nlp).await, ["anomaly"], "the nlp team's queue gets the notice");
    assert!(w.kinds(&cv).await.is_empty(), "the cv team's does not");
    assert_eq!(w.running().await, all_running(&w));
}

#[tokio::test]
async fn a_policy_asking_for_stop_notebooks_stops_exactly_the_notebooks_tagged_with_the_monitors_value() {
    let w = world().await;
    w.record(592.9, "Amazon SageMaker");
    let enforcer =
        w.enforcer("  anomalies:\n    - {monitor: team-*, min_total_impact: 100, actions: [notify, stop-notebooks]}\n");
    let outcome = enforcer.handle_lambda(&w.alert(|_| {})).await.unwrap();
    let EnforcementOutcome::Enforced(report) = &outcome else { panic!("expected enforced, got {outcome:?}") };
    let stopped: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.result.is_done())
        .map(|r| r.resource_arn.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(stopped, ["nlp-a", "nlp-b"]);
    let running = w.running().await;
    assert_eq!(running.iter().filter(|(_, r)| **r).map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["cv-a"]);
    // What was done is in the ledger under the monitor's name, for restore and the next day's tick.
    let history = w.ledger.history_of_budget("anomaly:team-nlp", None).await.unwrap();
    assert_eq!(history.iter().filter(|e| e.action == "stop-notebooks" && e.result == "done").count(), 2);
}

#[tokio::test]
async fn a_forged_anomaly_id_acts_on_nothing_and_says_unverified() {
    let w = world().await;
    w.record(592.9, "Amazon SageMaker");
    let enforcer = w.enforcer("  anomalies:\n    - {monitor: team-*, actions: [notify, stop-notebooks]}\n");
    w.emulator.reset_calls().unwrap();
    let forged = w.alert(|m| m["anomalyId"] = json!("00000000-forged-anomaly"));
    let outcome = enforcer.handle_lambda(&forged).await.unwrap();
    let EnforcementOutcome::UnverifiedAnomaly { reason, notified, recorded_impact, .. } = &outcome else {
        panic!("expected unverified, got {outcome:?}")
    };
    assert_eq!(outcome.label(), "unverified");
    assert_eq!(serde_json::to_value(&outcome).unwrap()["outcome"], "unverified");
    assert!(reason.contains("\"00000000-forged-anomaly\" is not in the record of monitor"), "{reason}");
    assert!(*notified && recorded_impact.is_none());
    let calls = w.calls();
    assert_eq!(calls.get("ce.GetAnomalies"), Some(&1));
    assert_eq!(calls.get("sns.Publish"), Some(&1), "one notice says why");
    assert!(!calls.keys().any(|k| k.starts_with("sagemaker.") || k.starts_with("tagging.")), "{calls:?}");
    assert_eq!(w.running().await, all_running(&w));
}

#[tokio::test]
async fn an_inflated_impact_is_judged_on_the_recorded_figure() {
    let w = world().await;
    // AWS's record: $40; the alert claims $592.90, over the rule's $100 minimum.
    w.record(40.0, "Amazon SageMaker");
    let enforcer =
        w.enforcer("  anomalies:\n    - {monitor: team-*, min_total_impact: 100, actions: [notify, stop-notebooks]}\n");
    let outcome = enforcer.handle_lambda(&w.alert(|_| {})).await.unwrap();
    let EnforcementOutcome::UnverifiedAnomaly { reason, claimed_impact, recorded_impact, .. } = &outcome else {
        panic!("expected unverified, got {outcome:?}")
    };
    assert_eq!((*claimed_impact, *recorded_impact), (592.9, Some(40.0)));
    assert!(reason.contains("total impact $40.00 is below the rule's min_total_impact $100.00"), "{reason}");
    assert_eq!(w.running().await, all_running(&w));
}

#[tokio::test]
async fn a_non_sagemaker_root_cause_is_skipped_without_any_aws_call() {
    let w = world().await;
    let enforcer =
        w.enforcer("  anomalies:\n    - {monitor: '*', scope: account, actions: [notify, stop-notebooks]}\n");
    w.emulator.reset_calls().unwrap();
    let event = sample_event("budget-enforcer", "anomaly-other-service.json").unwrap();
    let outcome = enforcer.handle_lambda(&event).await.unwrap();
    let EnforcementOutcome::Skipped { reason, .. } = &outcome else { panic!("expected skipped, got {outcome:?}") };
    assert!(reason.contains("no Amazon SageMaker (Amazon Elastic Compute Cloud - Compute)"), "{reason}");
    let calls = w.calls();
    assert!(calls.keys().all(|k| k.starts_with("dynamodb.")), "only the delivery's claim: {calls:?}");
    assert_eq!(w.running().await, all_running(&w));
}

#[tokio::test]
async fn a_redelivered_anomaly_acts_once() {
    let w = world().await;
    w.record(592.9, "Amazon SageMaker");
    let anomalies = "  anomalies:\n    - {monitor: team-*, actions: [notify, stop-notebooks]}\n";
    let event = w.alert(|_| {});
    let first = w.enforcer(anomalies).handle_lambda(&event).await.unwrap();
    assert_eq!(first.label(), "enforced");
    // SNS delivers the same message again, to another Lambda instance (a fresh enforcer: only the ledger knows).
    w.emulator.reset_calls().unwrap();
    let again = w.enforcer(anomalies).handle_lambda(&event).await.unwrap();
    let EnforcementOutcome::Skipped { reason, .. } = &again else { panic!("expected skipped, got {again:?}") };
    assert!(reason.contains("was already handled at") && reason.contains("(enforced)"), "{reason}");
    let calls = w.calls();
    assert!(calls.keys().all(|k| k.starts_with("dynamodb.")), "nothing but the ledger's claim: {calls:?}");
}
