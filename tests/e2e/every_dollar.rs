//! Every running cost under one alert, with the example policy as it ships: one resource of each kind the
//! enforcer acts on, in the budget world's `ml-*` scope, is stopped, scaled, released or listed by one 105 %
//! alert, out-of-scope twins are left alone, nothing is deleted but Studio apps, and `restore` brings back
//! each reversible change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::json;
use tagwarden::{EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{OTHER_VALUE, SCOPE_VALUE};

use crate::{pauses, scaling, stops};

/// Every action of the shipped example's 100 % step, read from the policy itself.
fn step_actions(policy: &Policy) -> BTreeSet<String> {
    let rule = policy.budgets.rules.iter().find(|r| r.budget == "ml-*").expect("the example's ml-* rule");
    let step = rule.steps.iter().find(|s| s.at == 100.0).expect("its 100 % step");
    step.actions.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn one_alert_acts_on_one_running_resource_of_every_kind_and_restore_brings_back_the_reversible_ones() {
    let policy = Policy::example().unwrap();
    let actions = step_actions(&policy);
    let w = pauses::world_with(policy).await;
    let paused = w.seed().await;
    let host = w.seeded.in_scope.endpoints[0].rsplit('/').next().unwrap().to_owned();
    let scaled = scaling::seed_running(&w.emulator, &w.clients, &host).await;
    let stopped = stops::seed(&w.emulator, "mkt", SCOPE_VALUE);
    let outside = stops::seed(&w.emulator, "res", OTHER_VALUE);
    w.emulator.reset_calls().unwrap();

    let outcome = w.alert().await;
    let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
    let result = |action: &str, arn: &str| {
        report.results.iter().find(|r| r.action == action && r.resource_arn == arn).map(|r| r.result.label())
    };
    let taken: BTreeSet<String> = report.results.iter().map(|r| r.action.clone()).collect();
    let missing: Vec<&String> = actions.iter().filter(|a| *a != "notify" && !taken.contains(*a)).collect();
    assert!(missing.is_empty(), "every action of the step found something in scope; not {missing:?}");
    assert!(report.notified, "the notice was published");
    let failed: Vec<_> = report.results.iter().filter(|r| r.result.is_failed()).collect();
    assert!(failed.is_empty(), "{failed:?}");

    let expected = [
        ("stop-notebooks", w.seeded.in_scope.notebooks_running[0].as_str(), "done"),
        ("stop-jobs", w.seeded.in_scope.training_jobs[0].as_str(), "done"),
        ("delete-studio-apps", w.seeded.in_scope.apps[0].as_str(), "done"),
        ("scale-endpoints", w.seeded.in_scope.endpoints[0].as_str(), "done"),
        ("scale-endpoints", scaled.serverless.as_str(), "done"),
        ("scale-inference-components", scaled.component.as_str(), "done"),
        ("scale-clusters", scaled.cluster.as_str(), "done"),
        ("stop-warm-pools", scaled.warm_job.as_str(), "done"),
        ("stop-tracking-servers", paused.servers.0.as_str(), "done"),
        ("stop-monitoring-schedules", paused.schedules.0.as_str(), "done"),
        ("notify-storage", paused.spaces.0.as_str(), "reported"),
        ("notify-storage", paused.groups.0.as_str(), "reported"),
    ];
    for (action, arn, label) in expected {
        assert_eq!(result(action, arn), Some(label), "{action} {arn}: {:?}", report.results);
    }
    for running in &stopped {
        let done = report.results.iter().find(|r| r.resource_arn == running.arn).map(|r| r.result.label());
        assert_eq!(done, Some("done"), "{}", running.arn);
        assert_eq!(stops::status_of(&w.emulator, running), running.stopped, "{}", running.arn);
    }
    for running in &outside {
        assert!(report.results.iter().all(|r| r.resource_arn != running.arn), "{} is out of scope", running.arn);
        assert_ne!(stops::status_of(&w.emulator, running), running.stopped, "{} still runs", running.arn);
    }
    for out_of_scope in [&paused.servers.1, &paused.schedules.1, &paused.spaces.1, &paused.groups.1] {
        assert!(report.results.iter().all(|r| r.resource_arn != *out_of_scope), "{out_of_scope}");
    }

    // Counted where the calls land: each change made once, and nothing deleted but Studio apps.
    let calls = w.emulator.calls().unwrap();
    let count = |op: &str| calls.by_action.get(op).copied().unwrap_or_default();
    for op in [
        "StopMlflowTrackingServer",
        "StopMonitoringSchedule",
        "UpdateInferenceComponentRuntimeConfig",
        "UpdateCluster",
        "UpdateTrainingJob",
        "StopPipelineExecution",
        "StopInferenceExperiment",
    ] {
        assert_eq!(count(&format!("sagemaker.{op}")), 1, "{op}");
    }
    let deletes: Vec<&String> = calls
        .by_action
        .keys()
        .filter(|op| op.starts_with("sagemaker.Delete") && *op != "sagemaker.DeleteApp")
        .collect();
    assert!(deletes.is_empty(), "deleting data is never automatic: {deletes:?}");
    assert_eq!(w.server_status("mkt-mlflow").await, "Stopped");
    assert_eq!(w.schedule_status("mkt-drift").await, "Stopped");
    let cluster = w.emulator.sagemaker("DescribeCluster", &json!({"ClusterName": "mkt-hyperpod"})).unwrap();
    assert_eq!(cluster["InstanceGroups"][0]["TargetCount"], 1, "{cluster}");
    let component =
        w.emulator.sagemaker("DescribeInferenceComponent", &json!({"InferenceComponentName": "mkt-llm"})).unwrap();
    assert_eq!(component["RuntimeConfig"]["DesiredCopyCount"], 1, "{component}");

    let restored = w.restore().await;
    for (action, arn) in [
        ("start-tracking-server", &paused.servers.0),
        ("start-monitoring-schedule", &paused.schedules.0),
        ("restore-inference-component", &scaled.component),
        ("restore-cluster", &scaled.cluster),
        ("restore-endpoint", &scaled.serverless),
        ("restore-endpoint", &w.seeded.in_scope.endpoints[0]),
    ] {
        assert!(restored.contains(&(action.into(), arn.clone(), "done".into())), "{action} {arn}: {restored:?}");
    }
    let one_way: Vec<&String> = stopped.iter().map(|r| &r.arn).chain([&scaled.warm_job]).collect();
    assert!(restored.iter().all(|(_, arn, _)| !one_way.contains(&arn)), "stops and releases are one-way");
    assert_eq!(w.server_status("mkt-mlflow").await, "Started");
    assert_eq!(w.schedule_status("mkt-drift").await, "Scheduled");
    let cluster = w.emulator.sagemaker("DescribeCluster", &json!({"ClusterName": "mkt-hyperpod"})).unwrap();
    assert_eq!(cluster["InstanceGroups"][0]["TargetCount"], 4, "{cluster}");
    let component =
        w.emulator.sagemaker("DescribeInferenceComponent", &json!({"InferenceComponentName": "mkt-llm"})).unwrap();
    assert_eq!(component["RuntimeConfig"]["DesiredCopyCount"], 4, "{component}");
}
