//! The budget-enforcer's real handler code against the local emulator: seed in-scope, out-of-scope, exempt
//! and already-stopped resources, replay budget alerts, and check exactly what changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_sagemaker::types::{AppStatus, NotebookInstanceStatus, Tag};
use serde_json::{Value, json};
use tagwarden::enforce::{ActionResult, EnforcementReport, ResultKind};
use tagwarden::policy::Action;
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

async fn world(notebooks: usize) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, notebooks).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger = create_ledger(&config).await.expect("ledger table");
    let enforcer = BudgetEnforcer::new(clients.clone(), Arc::new(Policy::example().unwrap())).with_ledger(ledger);
    World { emulator, clients, enforcer, seeded }
}

impl World {
    async fn alert(&self, file: &str) -> EnforcementOutcome {
        self.enforcer.handle(&sample_event("budget-enforcer", file).unwrap(), false).await.expect("no error")
    }

    async fn notebook_status(&self, arn: &str) -> NotebookInstanceStatus {
        let name = arn.rsplit('/').next().unwrap();
        let out =
            self.clients.sagemaker.describe_notebook_instance().notebook_instance_name(name).send().await.unwrap();
        out.notebook_instance_status().cloned().unwrap()
    }

    async fn attached(&self, role: &str) -> Vec<String> {
        let out = self.clients.iam.list_attached_role_policies().role_name(role).send().await.unwrap();
        out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect()
    }

    async fn app_status(&self, arn: &str) -> AppStatus {
        let out = self.clients.sagemaker.list_apps().max_results(100).send().await.unwrap();
        let parts: Vec<&str> = arn.rsplit('/').take(4).collect(); // name, type, owner, domain
        let app = out
            .apps()
            .iter()
            .find(|a| {
                a.app_name() == Some(parts[0])
                    && a.app_type().map(|t| t.as_str().to_ascii_lowercase()) == Some(parts[1].to_owned())
                    && (a.user_profile_name() == Some(parts[2]) || a.space_name() == Some(parts[2]))
            })
            .unwrap_or_else(|| panic!("app {arn} not listed"));
        app.status().cloned().unwrap()
    }

    async fn endpoint_instances(&self, arn: &str) -> Option<i32> {
        let name = arn.rsplit('/').next().unwrap();
        let out = self.clients.sagemaker.describe_endpoint().endpoint_name(name).send().await.unwrap();
        let variant = out.production_variants().first()?;
        variant.desired_instance_count().or(variant.current_instance_count())
    }
}

fn report(outcome: EnforcementOutcome) -> EnforcementReport {
    match outcome {
        EnforcementOutcome::Enforced(r) | EnforcementOutcome::Notified(r) | EnforcementOutcome::DryRun(r) => r,
        other => panic!("expected a report, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

/// resource ARN (or role ARN) -> result, for one action.
fn results(report: &EnforcementReport, action: &str) -> BTreeMap<String, String> {
    report
        .results
        .iter()
        .filter(|r| r.action == action)
        .map(|r| (r.resource_arn.clone(), r.result.to_string()))
        .collect()
}

fn role_results(report: &EnforcementReport) -> BTreeMap<String, String> {
    report
        .results
        .iter()
        .filter(|r| r.action == "deny-iam")
        .map(|r| (r.resource_arn.rsplit('/').next().unwrap().to_owned(), r.result.to_string()))
        .collect()
}

#[tokio::test]
async fn over_100_percent_stops_exactly_the_in_scope_resources_and_spares_the_rest() {
    let w = world(100).await;
    let report = report(w.alert("actual-105-percent.json").await);
    assert_eq!(report.plan.step, 100.0);
    assert!(report.scope.contains("cost-center=CC-4100"), "{}", report.scope);
    assert!(report.notified);

    let stops = results(&report, "stop-notebooks");
    for arn in &w.seeded.in_scope.notebooks_running {
        assert_eq!(stops.get(arn).map(String::as_str), Some("done"), "{arn}");
        assert_eq!(w.notebook_status(arn).await, NotebookInstanceStatus::Stopped, "{arn}");
    }
    for arn in &w.seeded.in_scope.notebooks_stopped {
        assert_eq!(stops.get(arn).map(String::as_str), Some("already-stopped"), "{arn}");
    }
    for arn in &w.seeded.exempt.notebooks_running {
        assert!(stops.get(arn).is_some_and(|r| r.starts_with("exempt: ")), "{arn}: {:?}", stops.get(arn));
        assert_eq!(w.notebook_status(arn).await, NotebookInstanceStatus::InService);
    }
    for arn in &w.seeded.out_of_scope.notebooks_running {
        assert!(!stops.contains_key(arn), "{arn} is out of scope");
        assert_eq!(w.notebook_status(arn).await, NotebookInstanceStatus::InService);
    }

    let in_scope_jobs = [
        (&w.seeded.in_scope.training_jobs, "stop-jobs"),
        (&w.seeded.in_scope.processing_jobs, "stop-jobs"),
        (&w.seeded.in_scope.transform_jobs, "stop-jobs"),
        (&w.seeded.in_scope.tuning_jobs, "stop-jobs"),
    ];
    for (arns, action) in in_scope_jobs {
        let done = results(&report, action);
        for arn in arns {
            assert_eq!(done.get(arn).map(String::as_str), Some("done"), "{action} {arn}");
        }
    }
    let touched: Vec<&ActionResult> = report
        .results
        .iter()
        .filter(|r| r.result == ResultKind::Done)
        .filter(|r| {
            let out = &w.seeded.out_of_scope;
            let exempt = &w.seeded.exempt;
            [out, exempt].iter().any(|inv| {
                inv.training_jobs.contains(&r.resource_arn)
                    || inv.processing_jobs.contains(&r.resource_arn)
                    || inv.transform_jobs.contains(&r.resource_arn)
                    || inv.tuning_jobs.contains(&r.resource_arn)
                    || inv.endpoints.contains(&r.resource_arn)
                    || inv.apps.contains(&r.resource_arn)
            })
        })
        .collect();
    assert!(touched.is_empty(), "out-of-scope or exempt resources changed: {touched:?}");
    for arn in &w.seeded.completed_jobs {
        assert_eq!(results(&report, "stop-jobs").get(arn).map(String::as_str), Some("already-stopped"));
    }

    let apps = results(&report, "delete-studio-apps");
    for arn in &w.seeded.in_scope.apps {
        assert_eq!(apps.get(arn).map(String::as_str), Some("done"), "{arn}");
        assert_eq!(w.app_status(arn).await, AppStatus::Deleted, "{arn}");
    }
    for arn in w.seeded.out_of_scope.apps.iter().chain(&w.seeded.exempt.apps) {
        assert_eq!(w.app_status(arn).await, AppStatus::InService, "{arn}");
    }

    let endpoints = results(&report, "scale-endpoints");
    for arn in &w.seeded.in_scope.endpoints {
        assert_eq!(endpoints.get(arn).map(String::as_str), Some("done"), "{arn}");
        assert_eq!(w.endpoint_instances(arn).await, Some(1));
    }
    for arn in &w.seeded.out_of_scope.endpoints {
        assert_eq!(w.endpoint_instances(arn).await, Some(3));
    }
    assert!(role_results(&report).is_empty(), "deny-iam starts at 120 %");
}

#[tokio::test]
async fn the_same_alert_twice_changes_nothing_the_second_time() {
    let w = world(20).await;
    let first = report(w.alert("actual-105-percent.json").await);
    assert!(first.results.iter().any(|r| r.result == ResultKind::Done));
    // A second notification of the same state (AWS Budgets re-sends, a new SNS message) finds it all done.
    let mut again = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    again["Records"][0]["Sns"]["MessageId"] = json!("9a6d2f4e-81c3-5b0a-a7e2-0c5f3d1b8eff");
    let second = report(w.enforcer.handle(&again, false).await.unwrap());
    let news: Vec<&ActionResult> = second.results.iter().filter(|r| r.result == ResultKind::Done).collect();
    assert!(news.is_empty(), "second run did something: {news:?}");
    assert!(second.results.iter().all(|r| !r.result.is_failed()), "{:?}", second.results);
}

#[tokio::test]
async fn ten_deliveries_of_one_alert_act_and_notify_once() {
    let w = world(20).await;
    let event = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    w.emulator.reset_calls().unwrap();
    let first = report(w.enforcer.handle_lambda(&event).await.unwrap());
    let done = first.results.iter().filter(|r| r.result == ResultKind::Done).count();
    assert!(done > 0);
    let after_first = w.emulator.calls().unwrap();
    for delivery in 2..=10 {
        let outcome = w.enforcer.handle_lambda(&event).await.unwrap();
        let EnforcementOutcome::Skipped { reason, .. } = outcome else { panic!("delivery {delivery}: {outcome:?}") };
        assert!(reason.contains("already handled"), "{reason}");
    }
    let after_ten = w.emulator.calls().unwrap();
    assert_eq!(after_ten, after_first, "deliveries 2..10 made no AWS call");
    let writes: u64 = after_first
        .by_action
        .iter()
        .filter(|(action, _)| {
            !["List", "Describe", "Get"].iter().any(|p| action.split('.').nth(1).unwrap_or("").starts_with(p))
        })
        .map(|(_, n)| n)
        .sum();
    println!("first delivery: {done} actions done, {writes} writing calls; deliveries 2..10: none");
    assert_eq!(after_first.by_action.get("sns.Publish"), Some(&1), "one summary");
}

#[tokio::test]
async fn at_125_percent_execution_roles_are_denied_and_restore_detaches_only_what_tagwarden_attached() {
    let w = world(5).await;
    let deny = w.seeded.deny_policy_arn.clone();
    let report = report(w.alert("actual-125-percent.json").await);
    let roles = role_results(&report);
    assert_eq!(roles.get("ml-marketing-exec").map(String::as_str), Some("done"));
    assert_eq!(roles.get("mia-exec").map(String::as_str), Some("done"), "execution role of an in-scope profile");
    assert_eq!(roles.get(&w.seeded.preattached_role).map(String::as_str), Some("already-denied"));
    assert!(roles.get("ml-marketing-exempt-exec").is_some_and(|r| r.starts_with("exempt: ")), "{roles:?}");
    assert!(!roles.contains_key("ml-research-exec"));
    assert!(!roles.contains_key(&w.seeded.untrusted_role), "roles SageMaker cannot assume are never denied");
    for role in ["ml-marketing-exec", "mia-exec", &w.seeded.preattached_role] {
        assert!(w.attached(role).await.contains(&deny), "{role}");
    }
    assert!(!w.attached("ml-research-exec").await.contains(&deny));

    let restore = sample_event("budget-enforcer", "restore-command.json").unwrap();
    let restored = w.enforcer.handle(&restore, false).await.unwrap();
    let EnforcementOutcome::Restored(restored) = restored else { panic!("expected restored, got {restored:?}") };
    let detached: Vec<&str> = restored
        .results
        .iter()
        .filter(|r| r.action == "detach-deny" && r.result == ResultKind::Done)
        .map(|r| r.resource_arn.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(detached, ["mia-exec", "ml-marketing-exec"], "exactly the roles the ledger recorded");
    assert!(!w.attached("ml-marketing-exec").await.contains(&deny));
    assert!(!w.attached("mia-exec").await.contains(&deny));
    assert!(w.attached(&w.seeded.preattached_role).await.contains(&deny), "a human's attachment stays");
    for arn in &w.seeded.in_scope.endpoints {
        assert_eq!(w.endpoint_instances(arn).await, Some(3), "scaled back");
    }
    let notebooks: Vec<&ActionResult> = restored.results.iter().filter(|r| r.action == "restart-notebook").collect();
    assert!(!notebooks.is_empty());
    assert!(
        notebooks.iter().all(|r| r.result == ResultKind::LeftStopped),
        "the rule does not restart notebooks: {notebooks:?}"
    );
}

/// Whether an emulator call (`service.Operation`) only reads.
fn is_read(call: &str) -> bool {
    let op = call.split('.').nth(1).unwrap_or_default();
    ["List", "Get", "Describe"].iter().any(|read| op.starts_with(read))
}

#[tokio::test]
async fn forecasts_notify_only_and_dry_runs_write_nothing() {
    let w = world(5).await;
    w.emulator.reset_calls().unwrap();
    let forecast = report(w.alert("forecasted-110-percent.json").await);
    let notices = [Action::Notify, Action::NotifyStorage];
    assert_eq!(forecast.plan.actions, notices, "the notices of the steps reached (storage listed, not touched)");
    assert!(forecast.notified);
    assert!(forecast.results.iter().all(|r| r.action == "notify-storage"), "{:?}", forecast.results);
    // The ledger's writes (the delivery's claim, put then settled; the listed storage in its history) are the
    // only writes besides the notice.
    let writes: Vec<String> = w.emulator.calls().unwrap().by_action.into_keys().filter(|a| !is_read(a)).collect();
    assert_eq!(writes, ["dynamodb.BatchWriteItem", "dynamodb.PutItem", "dynamodb.UpdateItem", "sns.Publish"]);

    w.emulator.reset_calls().unwrap();
    let event = sample_event("budget-enforcer", "actual-125-percent.json").unwrap();
    let dry = w.enforcer.handle(&event, true).await.unwrap();
    assert_eq!(dry.label(), "dry-run");
    let dry = report(dry);
    assert!(dry.results.iter().any(|r| r.result == ResultKind::DryRun));
    let writes: Vec<String> = w.emulator.calls().unwrap().by_action.into_keys().filter(|a| !is_read(a)).collect();
    assert!(writes.is_empty(), "dry run wrote: {writes:?}");
    for arn in &w.seeded.in_scope.notebooks_running {
        assert_eq!(w.notebook_status(arn).await, NotebookInstanceStatus::InService);
    }
}

#[tokio::test]
async fn a_budget_without_tag_filters_is_refused_and_a_non_alert_is_rejected() {
    let w = world(2).await;
    let mut event = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let message = event["Records"][0]["Sns"]["Message"].as_str().unwrap().replace("ml-marketing", "ml-unscoped");
    event["Records"][0]["Sns"]["Message"] = Value::from(message);
    let outcome = w.enforcer.handle(&event, false).await.unwrap();
    let EnforcementOutcome::Skipped { reason, alert } = outcome else { panic!("expected skipped, got {outcome:?}") };
    assert!(reason.contains("ml-unscoped") && reason.contains("refusing"), "{reason}");
    assert_eq!(alert.unwrap().budget_name, "ml-unscoped");

    let junk = sample_event("budget-enforcer", "not-a-budget-alert.json").unwrap();
    let err = w.enforcer.handle(&junk, false).await.unwrap_err();
    assert!(!err.is_retryable());
    let rejected = w.enforcer.handle_lambda(&junk).await.unwrap();
    assert_eq!(rejected.label(), "rejected");
}

#[tokio::test]
async fn a_thousand_in_scope_notebooks_are_all_stopped_with_one_call_each_plus_pages() {
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config(REGION, 1).await;
    let clients = Clients::new(&config);
    tagwarden_e2e::budget_world::seed_budget(&config).await.unwrap();
    let count = 1000;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let sm = clients.sagemaker.client();
        tasks.spawn(async move {
            sm.create_notebook_instance()
                .notebook_instance_name(format!("bulk-{i:04}"))
                .instance_type(aws_sdk_sagemaker::types::InstanceType::MlT3Medium)
                .role_arn("arn:aws:iam::123456789012:role/mia-exec")
                .tags(Tag::builder().key("cost-center").value("CC-4100").build())
                .send()
                .await
                .map(drop)
        });
        if tasks.len() >= 16 {
            tasks.join_next().await.unwrap().unwrap().unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let policy = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  rules:\n    - budget: ml-marketing\n      scope: from-budget\n      steps: [{at: 100, actions: [stop-notebooks]}]\n";
    let policy = Arc::new(Policy::from_yaml(policy, "test").unwrap());
    let enforcer = BudgetEnforcer::new(clients.clone(), policy);
    emulator.reset_calls().unwrap();
    let started = Instant::now();
    let report = report(
        enforcer.handle(&sample_event("budget-enforcer", "actual-105-percent.json").unwrap(), false).await.unwrap(),
    );
    let elapsed = started.elapsed();
    let done = report.results.iter().filter(|r| r.action == "stop-notebooks" && r.result == ResultKind::Done).count();
    assert_eq!(done, count);
    let calls = emulator.calls().unwrap();
    let pages = count.div_ceil(100) as u64;
    let expected = BTreeMap::from([
        ("budgets.DescribeBudget".to_string(), 1),
        ("sagemaker.ListNotebookInstances".to_string(), pages),
        ("sagemaker.StopNotebookInstance".to_string(), count as u64),
        ("tagging.GetResources".to_string(), pages),
    ]);
    assert_eq!(calls.by_action, expected);
    println!("1,000 notebooks stopped in {:.2} s with {} AWS calls", elapsed.as_secs_f64(), calls.total);
}
