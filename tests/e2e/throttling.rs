//! Pacing under throttling, end to end: a few hundred in-scope notebooks (plus out-of-scope ones) in the
//! emulator, `StopNotebookInstance` throttled to 20 calls a second (AWS's `ThrottlingException`), and one
//! budget alert with the policy's concurrency of 8. The enforcement must finish in one invocation, stop every
//! in-scope notebook with exactly one stop that took effect, touch nothing out of scope, and report how many
//! calls were throttled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use tagwarden::aws::CallPolicy;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::notebooks::{NotebookSpec, create_notebooks};
use tagwarden_e2e::{Emulator, REGION, sample_event};

const IN_SCOPE: usize = 300;
const OUT_OF_SCOPE: usize = 40;
const PER_SECOND: f64 = 20.0;
const STOP: &str = "sagemaker.StopNotebookInstance";

const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  concurrency: 8\n  max_resources_per_action: 5000\n  rules:\n    - budget: ml-marketing\n      scope: from-budget\n      steps: [{at: 100, actions: [stop-notebooks]}]\n";

/// Creates `mkt-NNNN` (in scope, `cost-center=CC-4100`) and `fin-NNNN` notebooks.
async fn seed(clients: &Clients) -> (Vec<String>, Vec<String>) {
    let in_scope: Vec<String> = (0..IN_SCOPE).map(|i| format!("mkt-{i:04}")).collect();
    let out_of_scope: Vec<String> = (0..OUT_OF_SCOPE).map(|i| format!("fin-{i:04}")).collect();
    let specs = in_scope.iter().map(|n| NotebookSpec::new(n, "CC-4100"));
    let specs = specs.chain(out_of_scope.iter().map(|n| NotebookSpec::new(n, "ML-Finance")));
    create_notebooks(clients, specs).await.unwrap();
    (in_scope, out_of_scope)
}

/// Every notebook's status, by name.
async fn statuses(clients: &Clients) -> BTreeMap<String, NotebookInstanceStatus> {
    tagwarden_e2e::notebooks::statuses(clients).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_enforcement_finishes_with_every_notebook_stopped_once() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    tagwarden_e2e::budget_world::seed_budget(&config).await.unwrap();
    let direct = Clients::new(&config);
    let (in_scope, out_of_scope) = seed(&direct).await;
    // The Lambda's own call policy (3 SDK attempts, standard retry mode) and clients (Clients::new).
    let clients = Clients::new(&CallPolicy::DEFAULT.apply(&config));
    let enforcer = BudgetEnforcer::new(clients, Arc::new(Policy::from_yaml(POLICY, "throttling").unwrap()));

    emulator.throttle(STOP, PER_SECOND).unwrap();
    emulator.reset_calls().unwrap();
    let started = Instant::now();
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let outcome = enforcer.handle_lambda(&alert).await.expect("one invocation finishes: no Lambda error");
    let elapsed = started.elapsed();
    let calls = emulator.calls().unwrap();

    let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
    let mut by_result: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &report.results {
        *by_result.entry(r.result.label()).or_default() += 1;
    }
    let after = statuses(&direct).await;
    let stopped = in_scope.iter().filter(|n| after[*n] == NotebookInstanceStatus::Stopped).count();
    let untouched = out_of_scope.iter().filter(|n| after[*n] == NotebookInstanceStatus::InService).count();
    let stops = calls.by_action.get(STOP).copied().unwrap_or(0);
    let throttled = calls.throttled.get(STOP).copied().unwrap_or(0);
    println!(
        "{IN_SCOPE} stops throttled at {PER_SECOND}/s: {:.1} s (floor {:.1} s), {stops} stop calls of which {throttled} \
         throttled ({:.0} %), report: {} throttled; results {by_result:?}",
        elapsed.as_secs_f64(),
        IN_SCOPE as f64 / PER_SECOND,
        100.0 * throttled as f64 / stops.max(1) as f64,
        report.throttled
    );

    assert_eq!(stopped, IN_SCOPE, "every in-scope notebook is stopped");
    assert_eq!(untouched, OUT_OF_SCOPE, "nothing out of scope is touched");
    assert_eq!(by_result, BTreeMap::from([("done", IN_SCOPE)]), "each one acted on, none failed");
    assert!(throttled > 0, "the throttle bit");
    assert_eq!(stops - throttled, IN_SCOPE as u64, "exactly one stop per notebook took effect, none twice");
    assert_eq!(report.throttled, throttled, "the report counts every throttled call");
    assert!(report.plan.actions.iter().any(|a| a.to_string() == "stop-notebooks"));
}
