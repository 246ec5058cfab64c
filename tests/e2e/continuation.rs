//! An enforcement larger than one invocation, end to end: 240 in-scope notebooks behind an emulator that
//! answers each call after 20 ms, and invocations that may only work for 500 ms each. The alert's own
//! invocation stops what it can and hands the rest on through the continuation queue (moto's SQS); each
//! `continue` message is handed to the enforcer as Lambda's SQS event source would, until no part is left.
//! Every notebook is stopped once, nothing out of scope is touched, and one summary is sent, by the last
//! part, with every part's results. Duplicate and forged `continue` messages act on nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use serde_json::{Value, json};
use tagwarden::enforce::continuation::ContinuationQueue;
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::seed_budget;
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::notebooks::{NotebookSpec, create_notebooks, statuses};
use tagwarden_e2e::{Emulator, REGION, sample_event};

const IN_SCOPE: usize = 240;
const OUT_OF_SCOPE: usize = 20;
/// How long each invocation may start work (the Lambda deadline less the margin, made test-short).
const PART: Duration = Duration::from_millis(500);
/// Every part starts at least one round of calls (the policy's concurrency): the most parts there can be.
const MOST_PARTS: usize = IN_SCOPE / 4 + 1;

fn policy(topic: &str) -> String {
    format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  notify_topic_arn: {topic}\n  concurrency: 4\n  max_resources_per_action: 1000\n  rules:\n    - budget: ml-marketing\n      scope: from-budget\n      steps: [{{at: 100, actions: [notify, stop-notebooks]}}]\n"
    )
}

/// Notebooks `mkt-NNN` (cost-center CC-4100, the budget's scope) and `fin-NNN` (another cost center).
async fn seed_notebooks(clients: &Clients) {
    let specs = (0..IN_SCOPE).map(|i| NotebookSpec::new(format!("mkt-{i:03}"), "CC-4100"));
    let specs = specs.chain((0..OUT_OF_SCOPE).map(|i| NotebookSpec::new(format!("fin-{i:03}"), "ML-Finance")));
    create_notebooks(clients, specs).await.unwrap();
}

/// How many notebooks whose name starts with `prefix` have `status`.
async fn count(clients: &Clients, prefix: &str, status: NotebookInstanceStatus) -> usize {
    let statuses = statuses(clients).await.unwrap();
    statuses.iter().filter(|(name, s)| name.starts_with(prefix) && **s == status).count()
}

struct World {
    emulator: Emulator,
    config: SdkConfig,
    clients: Clients,
    enforcer: BudgetEnforcer,
    ledger: LedgerTable,
    continuations: String,
    summaries: String,
}

/// The world; `continues`: the enforcer hands what does not fit an invocation on to the queue.
async fn world(continues: bool) -> World {
    let emulator = Emulator::start_with_latency(20).expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_budget(&config).await.unwrap();
    let clients = Clients::new(&config);
    seed_notebooks(&clients).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = |name: &'static str| {
        let sqs = sqs.clone();
        async move { sqs.create_queue().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned() }
    };
    let (continuations, summaries) = (queue("tagwarden-continuations").await, queue("summaries").await);
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns.create_topic().name("tagwarden-enforcement").send().await.unwrap().topic_arn.unwrap();
    let summaries_arn = format!("arn:aws:sqs:{REGION}:123456789012:summaries");
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(summaries_arn).send().await.unwrap();
    let ledger = create_ledger(&config).await.unwrap();
    let policy = Arc::new(Policy::from_yaml(&policy(&topic), "continuation").unwrap());
    let mut enforcer = BudgetEnforcer::new(clients.clone(), policy).with_ledger(ledger.clone());
    if continues {
        enforcer = enforcer.with_continuation(ContinuationQueue::new(sqs, &continuations));
    }
    World { emulator, config, clients, enforcer, ledger, continuations, summaries }
}

/// Every message in `url` now, each as the SQS Lambda event that would carry it; deleted from the queue.
async fn receive(config: &SdkConfig, url: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut events = Vec::new();
    loop {
        let out = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
        if out.messages().is_empty() {
            return events;
        }
        for message in out.messages() {
            events.push(json!({"Records": [{
                "messageId": message.message_id().unwrap(),
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:123456789012:tagwarden-continuations"),
                "body": message.body().unwrap(),
            }]}));
            sqs.delete_message().queue_url(url).receipt_handle(message.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
}

/// Runs `event` for one invocation of [`PART`].
async fn invoke(w: &World, event: &Value) -> EnforcementOutcome {
    w.enforcer.handle_lambda_until(event, Some(Instant::now() + PART)).await.expect("no retryable failure")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforcement_longer_than_an_invocation_finishes_through_continuations_and_sends_one_summary() {
    let w = world(true).await;
    w.emulator.reset_calls().unwrap();
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();

    let first = invoke(&w, &alert).await;
    let EnforcementOutcome::Continued(report) = &first else { panic!("expected continued, got {first:?}") };
    assert_eq!((report.part, report.next), (1, 2));
    let stopped_first = count(&w.clients, "mkt-", NotebookInstanceStatus::Stopped).await;
    assert!(stopped_first > 0 && stopped_first < IN_SCOPE, "{stopped_first} stopped by the first part");
    assert!(receive(&w.config, &w.summaries).await.is_empty(), "no summary before the last part");

    // Lambda's SQS event source: every continuation is delivered twice (SQS delivers at least once).
    let (mut parts, mut last) = (1, None);
    while let Some(event) = receive(&w.config, &w.continuations).await.into_iter().next() {
        assert!(parts <= MOST_PARTS, "the continuations do not end");
        let outcome = invoke(&w, &event).await;
        let again = invoke(&w, &event).await;
        assert!(matches!(again, EnforcementOutcome::Skipped { .. }), "a duplicate part acts on nothing: {again:?}");
        if !matches!(outcome, EnforcementOutcome::Skipped { .. }) {
            parts += 1;
            last = Some(outcome);
        }
    }
    let Some(EnforcementOutcome::Enforced(last)) = last else { panic!("expected enforced, got {last:?}") };
    assert!(parts >= 2, "{parts} parts");

    let calls = w.emulator.calls().unwrap();
    let stops = calls.by_action.get("sagemaker.StopNotebookInstance").copied().unwrap_or(0);
    assert_eq!(stops, IN_SCOPE as u64, "each in-scope notebook is stopped once over {parts} parts");
    assert_eq!(count(&w.clients, "mkt-", NotebookInstanceStatus::Stopped).await, IN_SCOPE);
    assert_eq!(count(&w.clients, "fin-", NotebookInstanceStatus::InService).await, OUT_OF_SCOPE);
    let done = last.results.iter().filter(|r| r.action == "stop-notebooks" && r.result.is_done()).count();
    assert_eq!(done, IN_SCOPE, "the last part's report holds every part's stops");
    // A later part sees the earlier parts' stops as already stopped: that is neither reported nor recorded
    // again, so each part's tail (its ledger writes) is its own work, not everything before it.
    let stop_results = last.results.iter().filter(|r| r.action == "stop-notebooks").count();
    assert_eq!(stop_results, IN_SCOPE, "one result per in-scope notebook");
    let history = w.ledger.history_of_budget("ml-marketing", None).await.unwrap();
    let recorded = history.iter().filter(|e| e.action == "stop-notebooks").count();
    assert_eq!(recorded, IN_SCOPE, "one ledger entry per in-scope notebook over {parts} parts");

    let summaries = receive(&w.config, &w.summaries).await;
    assert_eq!(summaries.len(), 1, "one summary, from the last part");
    let body = summaries[0]["Records"][0]["body"].as_str().unwrap();
    assert!(body.contains(&format!("stop-notebooks: {IN_SCOPE} done")), "{body}");

    // The alert delivered again, and a continuation forged for it, act on nothing.
    w.emulator.reset_calls().unwrap();
    let again = invoke(&w, &alert).await;
    assert!(matches!(again, EnforcementOutcome::Skipped { .. }), "{again:?}");
    let message_id = alert["Records"][0]["Sns"]["MessageId"].as_str().unwrap();
    let forged = json!({"tagwarden": "continue", "alert": message_id, "part": parts + 1});
    let EnforcementOutcome::Skipped { reason, .. } = invoke(&w, &forged).await else { panic!("expected skipped") };
    assert!(reason.contains("is done"), "{reason}");
    let unknown = json!({"tagwarden": "continue", "alert": "never-delivered", "part": 2});
    let EnforcementOutcome::Skipped { reason, .. } = invoke(&w, &unknown).await else { panic!("expected skipped") };
    assert!(reason.contains("has no enforcement that continues"), "{reason}");
    let stops = w.emulator.calls().unwrap().by_action.get("sagemaker.StopNotebookInstance").copied();
    assert_eq!(stops.unwrap_or(0), 0);
    assert!(receive(&w.config, &w.continuations).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_continuation_queue_the_deadline_is_not_used_and_one_invocation_does_everything() {
    let w = world(false).await;
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let outcome = w.enforcer.handle_lambda_until(&alert, Some(Instant::now())).await.unwrap();
    assert!(matches!(outcome, EnforcementOutcome::Enforced(_)), "{outcome:?}");
    assert_eq!(count(&w.clients, "mkt-", NotebookInstanceStatus::Stopped).await, IN_SCOPE);
    assert_eq!(receive(&w.config, &w.summaries).await.len(), 1);
}
