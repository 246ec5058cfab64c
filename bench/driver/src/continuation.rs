//! Enforcement through continuations at scale: `setup-queue` and `setup-ledger` make what the SAM template
//! declares (a queue, optionally subscribed to a topic; the ledger table); `enforce-continued` builds the
//! budget-enforcer exactly as its Lambda does (`BudgetEnforcer::from_env`, with the continuation queue and
//! ledger the harness names in the environment), gives each invocation the deadline Lambda's would give it,
//! and passes every `continue` message on to the next invocation (one record each: the template's batch size)
//! until the queue is empty; then counts the summaries that reached the topic's subscriber queue.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use tagwarden::enforce::continuation::{MARGIN, QUEUE_ENV, work_deadline};
use tagwarden::{BudgetEnforcer, EnforcementOutcome};

use crate::{Result, arg, env_config, option};

fn sqs_error<E: std::error::Error>(what: &str, e: E) -> String {
    format!("{what}: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
}

/// `setup-queue NAME [--subscribe TOPIC_ARN]`: a queue with the template's visibility timeout (1,800 s),
/// subscribed to the topic when one is named; its URL.
pub async fn setup_queue(args: &[String]) -> Result<Value> {
    let name = arg(args, 0, "NAME")?;
    let config = env_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let out = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "1800")
        .send()
        .await
        .map_err(|e| sqs_error("CreateQueue", e))?;
    let url = out.queue_url().ok_or("CreateQueue: no URL")?.to_owned();
    if let Some(topic) = option::<String>(args, "--subscribe")? {
        let region = config.region().map(|r| r.as_ref().to_owned()).unwrap_or_default();
        let account = topic.split(':').nth(4).unwrap_or_default();
        aws_sdk_sns::Client::new(&config)
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{region}:{account}:{name}"))
            .send()
            .await
            .map_err(|e| format!("Subscribe: {}", aws_sdk_sns::error::DisplayErrorContext(e)))?;
    }
    Ok(json!({ "url": url }))
}

/// `setup-ledger`: the ledger table as the template declares it; its name.
pub async fn setup_ledger() -> Result<Value> {
    tagwarden_e2e::ledger::create_ledger(&env_config().await).await?;
    Ok(json!({ "table": tagwarden_e2e::ledger::LEDGER_TABLE }))
}

/// Each invocation's work deadline.
#[derive(Debug, Clone, Copy)]
enum Window {
    /// Lambda's: a function timeout of this long, less the margin `work_deadline` keeps.
    Timeout(Duration),
    /// Directly (the smoke run's tiny invocations).
    Work(Duration),
}

impl Window {
    fn deadline(self) -> Instant {
        match self {
            Self::Timeout(timeout) => work_deadline(SystemTime::now() + timeout),
            Self::Work(work) => Instant::now() + work,
        }
    }
}

/// Every message now in `url`, deleted as received.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<String>> {
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", e))?;
        if out.messages().is_empty() {
            return Ok(bodies);
        }
        for message in out.messages() {
            bodies.push(message.body().unwrap_or_default().to_owned());
            let receipt = message.receipt_handle().unwrap_or_default();
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(receipt)
                .send()
                .await
                .map_err(|e| sqs_error("DeleteMessage", e))?;
        }
    }
}

/// `enforce-continued EVENT MESSAGE_ID (--timeout SECS | --work-ms MS) --summaries URL`: the alert (its SNS
/// `MessageId` replaced, so that each run is a new delivery) through the enforcer, then each continuation, one
/// invocation per part; wall time, invocations, each one's outcome and time, and the summaries the subscriber
/// queue got.
pub async fn enforce_continued(args: &[String]) -> Result<Value> {
    let text = std::fs::read_to_string(arg(args, 0, "EVENT")?).map_err(|e| format!("event: {e}"))?;
    let mut alert: Value = serde_json::from_str(&text).map_err(|e| format!("event: {e}"))?;
    alert["Records"][0]["Sns"]["MessageId"] = json!(arg(args, 1, "MESSAGE_ID")?);
    let window = match (option::<u64>(args, "--timeout")?, option::<u64>(args, "--work-ms")?) {
        (Some(secs), None) => Window::Timeout(Duration::from_secs(secs)),
        (None, Some(ms)) => Window::Work(Duration::from_millis(ms)),
        _ => return Err("give one of --timeout SECS and --work-ms MS".into()),
    };
    let summaries: String = option(args, "--summaries")?.ok_or("missing --summaries URL")?;
    let url = std::env::var(QUEUE_ENV).map_err(|_| format!("{QUEUE_ENV} is not set"))?;
    // NOTE: built as the Lambda's cold start builds it: policy, clients, ledger, alert topics and queue.
    let enforcer = BudgetEnforcer::from_env().await.map_err(|e| format!("cold start: {e}"))?;
    let sqs = aws_sdk_sqs::Client::new(&env_config().await);

    let started = Instant::now();
    let mut event = alert;
    let (mut invocations, mut longest, mut each) = (0usize, 0f64, Vec::new());
    let mut outcomes: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut last;
    loop {
        let invoked = Instant::now();
        let outcome = enforcer
            .handle_lambda_until(&event, Some(window.deadline()))
            .await
            .map_err(|e| format!("invocation {}: {e}", invocations + 1))?;
        let secs = invoked.elapsed().as_secs_f64();
        longest = longest.max(secs);
        each.push(json!({"outcome": outcome.label(), "secs": secs}));
        invocations += 1;
        *outcomes.entry(outcome.label()).or_default() += 1;
        last = Some(outcome);
        // NOTE: the continuation queue's event source takes one record per invocation (BatchSize: 1).
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(1)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", e))?;
        let Some(message) = out.messages().first() else { break };
        event = json!({"Records": [{
            "messageId": message.message_id(), "receiptHandle": message.receipt_handle(), "body": message.body(),
            "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tagwarden-continuations", "awsRegion": "us-east-1",
        }]});
        let receipt = message.receipt_handle().unwrap_or_default();
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| sqs_error("DeleteMessage", e))?;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut results: BTreeMap<String, usize> = BTreeMap::new();
    let last_label = last.as_ref().map(EnforcementOutcome::label).unwrap_or("none");
    if let Some(EnforcementOutcome::Enforced(report) | EnforcementOutcome::Notified(report)) = &last {
        for r in &report.results {
            *results.entry(format!("{} {}", r.action, r.result.label())).or_default() += 1;
        }
    }
    let summaries = drain(&sqs, &summaries).await?;
    Ok(json!({
        "secs": secs,
        "invocations": invocations,
        "longest_invocation_secs": longest,
        "each_invocation": each,
        "window": match window {
            Window::Timeout(t) => json!({"timeout_secs": t.as_secs(), "work_secs": t.saturating_sub(MARGIN).as_secs()}),
            Window::Work(w) => json!({"work_ms": u64::try_from(w.as_millis()).unwrap_or(u64::MAX)}),
        },
        "outcomes": outcomes,
        "last": last_label,
        "results": results,
        "summaries": summaries.len(),
    }))
}
