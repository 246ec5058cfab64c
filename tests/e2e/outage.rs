//! An outage in the middle of enforcing a budget, end to end: 1,000 in-scope notebooks (plus out-of-scope and
//! exempt ones) in the emulator, the SDK pointed at a TCP proxy in front of it. The proxy is killed after a
//! few hundred stops (refused and reset connections), or the emulator is paused with SIGSTOP for longer
//! than the operation timeout (timeouts). The first invocation must be a retryable error that says what was
//! done and what failed; the second, with the same alert (Lambda's async retry), must finish the job
//! without stopping anything twice and without touching what is out of scope or exempt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sagemaker::config::Credentials;
use aws_sdk_sagemaker::config::retry::RetryPartition;
use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use tagwarden::aws::{AwsError, CallPolicy};
use tagwarden::enforce::EnforceError;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::notebooks::{NotebookSpec, create_notebooks};
use tagwarden_e2e::proxy::Proxy;
use tagwarden_e2e::{CallCount, Emulator, REGION, sample_event};

/// Test-short but realistic: 3 attempts, 2 s per attempt, 8 s per call.
const OUTAGE_POLICY: CallPolicy = CallPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_millis(100),
    max_backoff: Duration::from_secs(1),
    connect_timeout: Duration::from_secs(1),
    attempt_timeout: Duration::from_secs(2),
    operation_timeout: Duration::from_secs(8),
};

const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  exemptions: [{resource: \"mkt-exempt-*\", reason: outage test}]\n  concurrency: 8\n  max_resources_per_action: 5000\n  rules:\n    - budget: ml-marketing\n      scope: from-budget\n      steps: [{at: 100, actions: [stop-notebooks]}]\n";

const STOP: &str = "sagemaker.StopNotebookInstance";

/// One at a time: the emulators, the proxy and the timings share two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Notebooks {
    in_scope: Vec<String>,
    out_of_scope: Vec<String>,
    exempt: Vec<String>,
}

async fn seed(clients: &Clients, in_scope: usize) -> Notebooks {
    let mut notebooks = Notebooks { in_scope: vec![], out_of_scope: vec![], exempt: vec![] };
    let mut specs = Vec::new();
    for i in 0..in_scope {
        notebooks.in_scope.push(format!("mkt-{i:04}"));
        specs.push(NotebookSpec::new(format!("mkt-{i:04}"), "CC-4100"));
    }
    for i in 0..40 {
        notebooks.out_of_scope.push(format!("fin-{i:04}"));
        specs.push(NotebookSpec::new(format!("fin-{i:04}"), "ML-Finance"));
    }
    for i in 0..20 {
        notebooks.exempt.push(format!("mkt-exempt-{i:04}"));
        specs.push(NotebookSpec { self_exempt: true, ..NotebookSpec::new(format!("mkt-exempt-{i:04}"), "CC-4100") });
    }
    create_notebooks(clients, specs).await.unwrap();
    notebooks
}

/// Every notebook's status, by name.
async fn statuses(clients: &Clients) -> BTreeMap<String, NotebookInstanceStatus> {
    tagwarden_e2e::notebooks::statuses(clients).await.unwrap()
}

fn count(
    statuses: &BTreeMap<String, NotebookInstanceStatus>,
    names: &[String],
    status: NotebookInstanceStatus,
) -> usize {
    names.iter().filter(|n| statuses.get(*n) == Some(&status)).count()
}

/// The world: emulator, direct clients (for seeding and checks), a proxy, the enforcer behind the proxy.
struct World {
    emulator: Emulator,
    direct: Clients,
    proxy: Proxy,
    enforcer: BudgetEnforcer,
    notebooks: Notebooks,
}

async fn world(in_scope: usize, partition: &'static str) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let direct_config = emulator.sdk_config(REGION, 1).await;
    tagwarden_e2e::budget_world::seed_budget(&direct_config).await.unwrap();
    let direct = Clients::new(&direct_config);
    let notebooks = seed(&direct, in_scope).await;
    let proxy = Proxy::start(emulator.endpoint().trim_start_matches("http://")).await.unwrap();
    let config = OUTAGE_POLICY.apply(&proxied_config(&proxy.url()).await);
    let mut clients = Clients::new(&config);
    // NOTE: the SDK's retry token bucket is process-wide per partition: each test gets its own.
    clients.sagemaker = aws_sdk_sagemaker::Client::from_conf(
        aws_sdk_sagemaker::config::Builder::from(&config).retry_partition(RetryPartition::new(partition)).build(),
    )
    .into();
    let enforcer = BudgetEnforcer::new(clients, Arc::new(Policy::from_yaml(POLICY, "outage").unwrap()));
    World { emulator, direct, proxy, enforcer, notebooks }
}

async fn proxied_config(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tagwarden-e2e"))
        .load()
        .await
}

fn stops(calls: &CallCount) -> u64 {
    calls.by_action.get(STOP).copied().unwrap_or(0)
}

/// The retry run: the same alert must finish the job, stopping only what is still running.
async fn retry_finishes(w: &World, stopped_before: usize, label: &str) {
    w.emulator.reset_calls().unwrap();
    let started = Instant::now();
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let outcome = w.enforcer.handle_lambda(&alert).await.expect("the retry succeeds");
    let elapsed = started.elapsed();
    let calls = w.emulator.calls().unwrap();
    let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
    let mut by_result: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &report.results {
        *by_result.entry(r.result.label()).or_default() += 1;
    }
    let after = statuses(&w.direct).await;
    let n = &w.notebooks;
    assert_eq!(count(&after, &n.in_scope, NotebookInstanceStatus::Stopped), n.in_scope.len(), "every in-scope one");
    assert_eq!(count(&after, &n.out_of_scope, NotebookInstanceStatus::InService), n.out_of_scope.len());
    assert_eq!(count(&after, &n.exempt, NotebookInstanceStatus::InService), n.exempt.len());
    let done = by_result.get("done").copied().unwrap_or(0);
    assert_eq!(done + by_result.get("already-stopped").copied().unwrap_or(0), n.in_scope.len(), "{by_result:?}");
    assert_eq!(by_result.get("already-stopped").copied().unwrap_or(0), stopped_before, "{by_result:?}");
    assert_eq!(by_result.get("exempt").copied().unwrap_or(0), n.exempt.len());
    assert_eq!(stops(&calls), done as u64, "the retry stops only what is still running");
    println!(
        "{label} retry: {done} stopped, {stopped_before} already stopped, {} calls ({} stops) in {:.1} s",
        calls.total,
        stops(&calls),
        elapsed.as_secs_f64()
    );
}

/// Checks the first run's error: retryable for Lambda, and it lists what was done and what failed.
fn incomplete_first_run(err: EnforceError, stopped_before: usize, label: &str) -> (usize, usize, String) {
    assert!(err.is_retryable(), "{err}");
    let EnforceError::Incomplete(incomplete) = &err else {
        panic!("{label}: expected an incomplete enforcement: {err}")
    };
    let (done, failed) = (incomplete.done().count(), incomplete.failed().count());
    assert!(done > 0 && failed > 0, "{label}: {done} done, {failed} failed");
    // Reported done is really stopped; a stop whose answer was lost may have been done too (one per slot).
    assert!(stopped_before >= done && stopped_before <= done + 8, "{label}: {stopped_before} stopped, {done} reported");
    let first = &incomplete.error;
    assert!(matches!(first, AwsError::Unavailable { operation: "StopNotebookInstance", .. }), "{first}");
    let first: String = first.to_string().chars().take(160).collect();
    let error_type = lambda_runtime::Diagnostic::from(err).error_type;
    assert!(error_type.starts_with("Tagwarden.Retryable."), "{error_type}");
    (done, failed, format!("{error_type}, first failure: {first}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_outage_mid_enforcement_is_retryable_and_the_retry_stops_the_rest_once() {
    let _serial = SERIAL.lock().await;
    let seeding = Instant::now();
    let w = world(1000, "outage-kill").await;
    println!("seeded 1,060 notebooks in {:.1} s", seeding.elapsed().as_secs_f64());
    // The outage: the proxy dies when the 301st stop arrives (that one is never forwarded).
    w.proxy.kill_on("SageMaker.StopNotebookInstance", 301);
    w.emulator.reset_calls().unwrap();
    let started = Instant::now();
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let err = w.enforcer.handle_lambda(&alert).await.expect_err("the outage is an error");
    let elapsed = started.elapsed();
    let calls = w.emulator.calls().unwrap();
    assert_eq!(w.proxy.kills(), 1);
    let stopped_before = count(&statuses(&w.direct).await, &w.notebooks.in_scope, NotebookInstanceStatus::Stopped);
    let (done, failed, message) = incomplete_first_run(err, stopped_before, "kill");
    assert_eq!(stops(&calls), stopped_before as u64, "every stop that reached the emulator took effect");
    println!(
        "kill: first run failed after {:.1} s: {done} reported done, {failed} failed, {stopped_before} stopped, {} calls ({} stops) reached the emulator",
        elapsed.as_secs_f64(),
        calls.total,
        stops(&calls)
    );
    println!("kill: error: {message}");

    w.proxy.restart().await.unwrap();
    retry_finishes(&w, stopped_before, "kill").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_emulator_times_calls_out_and_the_retry_finishes_after_it_resumes() {
    let _serial = SERIAL.lock().await;
    let w = world(200, "outage-pause").await;
    // Count stops without ever tripping; pause the emulator after 50 and resume it after 10 s, longer than
    // the 8 s operation timeout, so the calls in flight fail with timeouts.
    w.proxy.kill_on("SageMaker.StopNotebookInstance", usize::MAX);
    let pid = w.emulator.pid().to_string();
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    w.emulator.reset_calls().unwrap();
    let started = Instant::now();
    let (result, paused) = tokio::join!(w.enforcer.handle_lambda(&alert), async {
        while w.proxy.marked() < 50 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let signal = |sig: &str| std::process::Command::new("kill").args([sig, pid.as_str()]).status().unwrap();
        assert!(signal("-STOP").success());
        let paused_at = started.elapsed();
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(signal("-CONT").success());
        paused_at
    });
    let elapsed = started.elapsed();
    let err = result.expect_err("calls timed out during the pause");
    let calls = w.emulator.calls().unwrap();
    let stopped_before = count(&statuses(&w.direct).await, &w.notebooks.in_scope, NotebookInstanceStatus::Stopped);
    let (done, failed, message) = incomplete_first_run(err, stopped_before, "pause");
    assert!(message.contains("timed out"), "{message}");
    println!(
        "pause: emulator paused at {:.1} s for 10 s; first run failed after {:.1} s: {done} reported done, {failed} failed, {stopped_before} stopped, {} calls ({} stops) reached the emulator",
        paused.as_secs_f64(),
        elapsed.as_secs_f64(),
        calls.total,
        stops(&calls)
    );
    println!("pause: error: {message}");
    retry_finishes(&w, stopped_before, "pause").await;
}
