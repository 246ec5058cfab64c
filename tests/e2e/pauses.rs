//! What bills while nothing trains, against the emulator: MLflow tracking servers and monitoring schedules
//! in scope are stopped (and started again by `restore`), out-of-scope ones are left alone; the storage of
//! spaces and feature groups in scope is listed in the notice and never changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_sagemaker::types::{
    AppType, EbsStorageSettings, FeatureDefinition, FeatureType, MonitoringScheduleConfig, MonitoringType,
    OnlineStoreConfig, ScheduleConfig, SpaceSettings, SpaceStorageSettings, StorageType, Tag,
};
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::enforce::{EnforcementReport, summary};
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{BudgetWorld, DOMAIN_ID, seed_budget_world};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{Emulator, REGION, sample_event};

const ROLE: &str = "arn:aws:iam::123456789012:role/ml-marketing-exec";

pub(super) struct World {
    pub(super) emulator: Emulator,
    pub(super) clients: Clients,
    pub(super) enforcer: BudgetEnforcer,
    pub(super) seeded: BudgetWorld,
}

/// The example policy, whose 100 % step of `ml-*` takes `actions` instead.
fn policy_with(actions: &str) -> Policy {
    tagwarden_e2e::example_policy_with_step_100(actions, "pauses test").unwrap()
}

/// The budget world (two resources of each kind per scope) and an enforcer with `policy` and a ledger.
pub(super) async fn world_with(policy: Policy) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 2).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger: LedgerTable = create_ledger(&config).await.expect("ledger table");
    let enforcer = BudgetEnforcer::new(clients.clone(), Arc::new(policy)).with_ledger(ledger);
    World { emulator, clients, enforcer, seeded }
}

fn cost_center(value: &str) -> Tag {
    Tag::builder().key("cost-center").value(value).build()
}

/// The ARNs of what the test seeds: `(in scope, out of scope)` of each kind.
pub(super) struct Seeded {
    pub(super) servers: (String, String),
    pub(super) schedules: (String, String),
    pub(super) spaces: (String, String),
    pub(super) groups: (String, String),
}

impl World {
    /// Seeds a tracking server, schedule, space and feature group in scope (`mkt-…`) and out (`fin-…`).
    pub(super) async fn seed(&self) -> Seeded {
        Seeded {
            servers: (
                self.tracking_server("mkt-mlflow", "CC-4100").await,
                self.tracking_server("fin-mlflow", "CC-4200").await,
            ),
            schedules: (self.schedule("mkt-drift", "CC-4100").await, self.schedule("fin-drift", "CC-4200").await),
            spaces: (self.space("team-space", "CC-4100").await, self.space("fin-space", "CC-4200").await),
            groups: (
                self.feature_group("mkt-features", "CC-4100").await,
                self.feature_group("fin-features", "CC-4200").await,
            ),
        }
    }

    async fn tracking_server(&self, name: &str, value: &str) -> String {
        let out = self
            .clients
            .sagemaker
            .create_mlflow_tracking_server()
            .tracking_server_name(name)
            .artifact_store_uri("s3://mlflow/artifacts")
            .role_arn(ROLE)
            .tags(cost_center(value))
            .send()
            .await
            .unwrap();
        out.tracking_server_arn().unwrap().to_owned()
    }

    async fn schedule(&self, name: &str, value: &str) -> String {
        let config = MonitoringScheduleConfig::builder()
            .schedule_config(ScheduleConfig::builder().schedule_expression("cron(0 * ? * * *)").build())
            .monitoring_job_definition_name("data-quality")
            .monitoring_type(MonitoringType::DataQuality)
            .build();
        let out = self
            .clients
            .sagemaker
            .create_monitoring_schedule()
            .monitoring_schedule_name(name)
            .monitoring_schedule_config(config)
            .tags(cost_center(value))
            .send()
            .await
            .unwrap();
        out.monitoring_schedule_arn().unwrap().to_owned()
    }

    async fn space(&self, name: &str, value: &str) -> String {
        let ebs = EbsStorageSettings::builder().ebs_volume_size_in_gb(100).build();
        let settings = SpaceSettings::builder()
            .app_type(AppType::JupyterLab)
            .space_storage_settings(SpaceStorageSettings::builder().ebs_storage_settings(ebs).build())
            .build();
        let out = self
            .clients
            .sagemaker
            .create_space()
            .domain_id(DOMAIN_ID)
            .space_name(name)
            .space_settings(settings)
            .tags(cost_center(value))
            .send()
            .await
            .unwrap();
        out.space_arn().unwrap().to_owned()
    }

    async fn feature_group(&self, name: &str, value: &str) -> String {
        let feature =
            |name: &str| FeatureDefinition::builder().feature_name(name).feature_type(FeatureType::String).build();
        let online = OnlineStoreConfig::builder().enable_online_store(true).storage_type(StorageType::Standard).build();
        let out = self
            .clients
            .sagemaker
            .create_feature_group()
            .feature_group_name(name)
            .record_identifier_feature_name("id")
            .event_time_feature_name("ts")
            .feature_definitions(feature("id"))
            .feature_definitions(feature("ts"))
            .online_store_config(online)
            .role_arn(ROLE)
            .tags(cost_center(value))
            .send()
            .await
            .unwrap();
        let arn = out.feature_group_arn().unwrap().to_owned();
        self.emulator.set_online_store_size(&arn, 5 << 30).unwrap();
        arn
    }

    pub(super) async fn server_status(&self, name: &str) -> String {
        let out = self.clients.sagemaker.describe_mlflow_tracking_server().tracking_server_name(name).send().await;
        out.unwrap().tracking_server_status().unwrap().as_str().to_owned()
    }

    pub(super) async fn schedule_status(&self, name: &str) -> String {
        let out = self.clients.sagemaker.describe_monitoring_schedule().monitoring_schedule_name(name).send().await;
        out.unwrap().monitoring_schedule_status().unwrap().as_str().to_owned()
    }

    async fn space_gib(&self, name: &str) -> Option<i32> {
        let out = self.clients.sagemaker.describe_space().domain_id(DOMAIN_ID).space_name(name).send().await.unwrap();
        out.space_settings()?.space_storage_settings()?.ebs_storage_settings()?.ebs_volume_size_in_gb()
    }

    async fn online_store(&self, name: &str) -> (Option<bool>, Option<i64>) {
        let out = self.clients.sagemaker.describe_feature_group().feature_group_name(name).send().await.unwrap();
        (out.online_store_config().and_then(|c| c.enable_online_store()), out.online_store_total_size_bytes())
    }

    pub(super) async fn alert(&self) -> EnforcementOutcome {
        let event = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
        self.enforcer.handle(&event, false).await.expect("no error")
    }

    pub(super) async fn restore(&self) -> Vec<(String, String, String)> {
        let restore = serde_json::json!({"tagwarden": "restore", "budget": "ml-marketing"});
        let outcome = self.enforcer.handle(&restore, false).await.expect("restore");
        let EnforcementOutcome::Restored(report) = outcome else { panic!("expected restored, got {outcome:?}") };
        report.results.into_iter().map(|r| (r.action, r.resource_arn, r.result.to_string())).collect()
    }
}

fn results_of<'a>(report: &'a EnforcementReport, action: &str) -> Vec<(&'a str, String)> {
    let mut found: Vec<(&str, String)> = report
        .results
        .iter()
        .filter(|r| r.action == action)
        .map(|r| (r.resource_arn.as_str(), r.result.to_string()))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn an_alert_stops_tracking_servers_and_schedules_in_scope_lists_storage_unchanged_and_restore_starts_them() {
    let w = world_with(policy_with("notify, stop-tracking-servers, stop-monitoring-schedules, notify-storage")).await;
    let seeded = w.seed().await;
    w.emulator.reset_calls().unwrap();

    let outcome = w.alert().await;
    let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
    assert_eq!(results_of(&report, "stop-tracking-servers"), [(seeded.servers.0.as_str(), "done".to_owned())]);
    assert_eq!(results_of(&report, "stop-monitoring-schedules"), [(seeded.schedules.0.as_str(), "done".to_owned())]);
    assert_eq!(
        (w.server_status("mkt-mlflow").await, w.server_status("fin-mlflow").await),
        ("Stopped".into(), "Created".into())
    );
    assert_eq!(
        (w.schedule_status("mkt-drift").await, w.schedule_status("fin-drift").await),
        ("Stopped".into(), "Scheduled".into())
    );

    let storage = results_of(&report, "notify-storage");
    let reported = |arn: &str| storage.iter().find(|(a, _)| *a == arn).map(|(_, r)| r.clone());
    assert_eq!(reported(&seeded.spaces.0).as_deref(), Some("reported: EBS volume 100 GiB"), "{storage:?}");
    let group = reported(&seeded.groups.0).unwrap_or_default();
    assert!(group.starts_with("reported: online store (Standard) holding 5.0 GiB"), "{group}");
    assert!(reported(&seeded.spaces.1).is_none() && reported(&seeded.groups.1).is_none(), "out of scope: {storage:?}");
    assert!(storage.iter().all(|(_, r)| r.starts_with("reported: ")), "{storage:?}");
    let (subject, body) = summary(&report);
    assert!(subject.ends_with("2 action(s) taken"), "a report is not an action taken: {subject}");
    assert!(body.contains("Storage in scope (kept: deleting data is never automatic"), "{body}");
    assert!(body.contains(&format!("  {}: EBS volume 100 GiB", seeded.spaces.0)), "{body}");
    assert!(report.notified, "the notice was published");

    assert_eq!(w.space_gib("team-space").await, Some(100), "the space's storage is unchanged");
    assert_eq!(w.online_store("mkt-features").await, (Some(true), Some(5 << 30)), "the online store is unchanged");
    let calls = w.emulator.calls().unwrap();
    let changed: Vec<&String> = calls
        .by_action
        .keys()
        .filter(|op| {
            ["Space", "FeatureGroup"]
                .iter()
                .any(|kind| op.ends_with(kind) && !op.contains(".Describe") && !op.contains(".List"))
        })
        .collect();
    assert!(changed.is_empty(), "storage is only read: {changed:?}");

    let restored = w.restore().await;
    assert!(
        restored.contains(&("start-tracking-server".into(), seeded.servers.0.clone(), "done".into())),
        "{restored:?}"
    );
    assert!(
        restored.contains(&("start-monitoring-schedule".into(), seeded.schedules.0.clone(), "done".into())),
        "{restored:?}"
    );
    assert_eq!(restored.len(), 2, "nothing else was recorded: {restored:?}");
    assert_eq!(w.server_status("mkt-mlflow").await, "Started");
    assert_eq!(w.schedule_status("mkt-drift").await, "Scheduled");
    assert_eq!(
        (w.server_status("fin-mlflow").await, w.schedule_status("fin-drift").await),
        ("Created".into(), "Scheduled".into())
    );
}

#[tokio::test]
async fn a_dry_run_says_what_it_would_stop_and_list_and_changes_nothing() {
    let mut policy = policy_with("notify, stop-tracking-servers, stop-monitoring-schedules, notify-storage");
    policy.budgets.dry_run = true;
    let w = world_with(policy).await;
    let seeded = w.seed().await;
    let outcome = w.alert().await;
    let EnforcementOutcome::DryRun(report) = outcome else { panic!("expected dry-run, got {outcome:?}") };
    for (action, arn) in [
        ("stop-tracking-servers", &seeded.servers.0),
        ("stop-monitoring-schedules", &seeded.schedules.0),
        ("notify-storage", &seeded.spaces.0),
        ("notify-storage", &seeded.groups.0),
    ] {
        assert!(results_of(&report, action).contains(&(arn.as_str(), "dry-run".to_owned())), "{action} {arn}");
    }
    assert_eq!(w.server_status("mkt-mlflow").await, "Created");
    assert_eq!(w.schedule_status("mkt-drift").await, "Scheduled");
}

#[tokio::test]
async fn a_step_that_only_lists_storage_publishes_its_notice_and_is_a_notification() {
    let w = world_with(policy_with("notify-storage")).await;
    let seeded = w.seed().await;
    let outcome = w.alert().await;
    let EnforcementOutcome::Notified(report) = outcome else { panic!("expected notified, got {outcome:?}") };
    assert!(report.notified, "notify-storage publishes the notice without notify in the step");
    assert!(results_of(&report, "notify-storage").iter().any(|(arn, _)| *arn == seeded.spaces.0));
    assert_eq!(w.server_status("mkt-mlflow").await, "Created", "nothing was stopped");
}
