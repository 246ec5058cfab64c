//! The queued sweep at estate scale: `seed-estate` creates resources of three kinds concurrently;
//! `sweep-queue` builds the auto-tagger exactly as its Lambda does (`AutoTaggerFunction::from_env`, with the
//! sweep queue and ledger the harness names in the environment), sends it the schedule, then plays Lambda's SQS
//! event source mapping: receive a batch, invoke the handler with it, delete what succeeded, make the
//! `batchItemFailures` visible again, until the queue is empty. Every resource must be visited exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, ContainerDefinition, OutputDataConfig, ProductionVariant, ProductionVariantInstanceType,
    ResourceConfig, StoppingCondition, TrainingInputMode, TrainingInstanceType,
};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use futures::StreamExt;
use serde_json::{Value, json};
use tagwarden::auto_tagger::AutoTaggerFunction;
use tagwarden::enforce::ledger::{LedgerTable, TABLE_ENV};
use tagwarden::sweep::queue::run_pk;
use tagwarden::sweep::worker::{PageResult, QUEUE_ENV};

use crate::{Result, arg, emulator_address, emulator_get, emulator_post, env_config, number, option};

/// The execution role every seeded resource names; its tags are the resources' cost center and team.
const ROLE: &str = "bench-exec";
const ACCOUNT: &str = "123456789012";
const IMAGE: &str = "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1";
/// Requests in flight while seeding.
const SEEDING: usize = 64;
/// The auto-tagger's SQS batch size in infra/template.yaml (`SweepPages`).
const BATCH: i32 = 5;

fn sm_error<E: std::error::Error>(what: &str, name: &str, e: E) -> String {
    format!("{what} {name}: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e))
}

/// `seed-estate PREFIX COUNT ARNS_FILE`: the role, then COUNT resources — a third models, a third endpoint
/// configs (each serving one of the models), the rest training jobs — `SEEDING` requests at a time; every
/// ARN (from the create call's answer) is written to ARNS_FILE, one a line.
pub async fn seed_estate(args: &[String]) -> Result<Value> {
    let prefix = arg(args, 0, "PREFIX")?.to_owned();
    let count = number(args, 1, "COUNT")?;
    let out_path = arg(args, 2, "ARNS_FILE")?.to_owned();
    let config = env_config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let mut role = iam.create_role().role_name(ROLE).assume_role_policy_document(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
    for (k, v) in [("cost-center", "CC-2100"), ("team", "growth")] {
        role = role.tags(aws_sdk_iam::types::Tag::builder().key(k).value(v).build().map_err(|e| e.to_string())?);
    }
    let role_arn = role
        .send()
        .await
        .map_err(|e| format!("CreateRole: {}", aws_sdk_iam::error::DisplayErrorContext(e)))?
        .role()
        .map(|r| r.arn().to_owned())
        .ok_or("CreateRole: no role in the answer")?;

    let sm = aws_sdk_sagemaker::Client::new(&config);
    let (models, configs) = (count / 3, count / 3);
    let jobs = count - models - configs;
    let started = Instant::now();
    let model_name = |i: usize| format!("{prefix}-model-{i:05}");
    // Models first: an endpoint config must name an existing model.
    let made_models = run_all((1..=models).map(|i| {
        let (sm, name, role_arn) = (sm.clone(), model_name(i), role_arn.clone());
        async move {
            let container = ContainerDefinition::builder().image(IMAGE).build();
            let out = sm
                .create_model()
                .model_name(&name)
                .execution_role_arn(role_arn)
                .primary_container(container)
                .send()
                .await
                .map_err(|e| sm_error("CreateModel", &name, e))?;
            out.model_arn().map(str::to_owned).ok_or_else(|| format!("CreateModel {name}: no ARN"))
        }
    }))
    .await?;
    let config_arns = (1..=configs).map(|i| {
        let (sm, name, model) = (sm.clone(), format!("{prefix}-config-{i:05}"), model_name(i.min(models).max(1)));
        futures::future::Either::Left(async move {
            let variant = ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name(model)
                .initial_instance_count(1)
                .instance_type(ProductionVariantInstanceType::MlM5Large)
                .initial_variant_weight(1.0)
                .build();
            let out = sm
                .create_endpoint_config()
                .endpoint_config_name(&name)
                .production_variants(variant)
                .send()
                .await
                .map_err(|e| sm_error("CreateEndpointConfig", &name, e))?;
            out.endpoint_config_arn().map(str::to_owned).ok_or_else(|| format!("CreateEndpointConfig {name}: no ARN"))
        })
    });
    let job_arns = (1..=jobs).map(|i| {
        let (sm, name, role_arn) = (sm.clone(), format!("{prefix}-job-{i:05}"), role_arn.clone());
        futures::future::Either::Right(async move {
            let algorithm = AlgorithmSpecification::builder()
                .training_image(IMAGE)
                .training_input_mode(TrainingInputMode::File)
                .build();
            let resources = ResourceConfig::builder()
                .instance_type(TrainingInstanceType::MlM5Xlarge)
                .instance_count(1)
                .volume_size_in_gb(30)
                .build();
            let out = sm
                .create_training_job()
                .training_job_name(&name)
                .role_arn(role_arn)
                .algorithm_specification(algorithm)
                .output_data_config(OutputDataConfig::builder().s3_output_path("s3://bench/out/").build())
                .resource_config(resources)
                .stopping_condition(StoppingCondition::builder().max_runtime_in_seconds(3600).build())
                .send()
                .await
                .map_err(|e| sm_error("CreateTrainingJob", &name, e))?;
            out.training_job_arn().map(str::to_owned).ok_or_else(|| format!("CreateTrainingJob {name}: no ARN"))
        })
    });
    let made_rest = run_all(config_arns.chain(job_arns)).await?;
    let arns: Vec<String> = made_models.into_iter().chain(made_rest).collect();
    std::fs::write(&out_path, arns.join("\n") + "\n").map_err(|e| format!("{out_path}: {e}"))?;
    Ok(json!({
        "created": arns.len(),
        "by_kind": {"model": models, "endpoint-config": configs, "training-job": jobs},
        "secs": started.elapsed().as_secs_f64(),
        "in_flight": SEEDING,
    }))
}

/// Runs every future, `SEEDING` at a time; their results, or the first error.
async fn run_all<F>(futures: impl Iterator<Item = F>) -> Result<Vec<String>>
where
    F: std::future::Future<Output = Result<String>>,
{
    let results: Vec<Result<String>> = futures::stream::iter(futures).buffer_unordered(SEEDING).collect().await;
    results.into_iter().collect()
}

/// The scheduled event that starts run `run`.
fn schedule(run: &str) -> Value {
    json!({"version": "0", "id": format!("bench-{run}"), "detail-type": "Scheduled Event", "source": "aws.events",
           "account": ACCOUNT, "time": run, "region": "us-east-1", "resources": [], "detail": {}})
}

/// Lambda's SQS event for `messages`.
fn sqs_event(messages: &[Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .cloned()
                .unwrap_or_else(|| "1".into());
            json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                   "attributes": {"ApproximateReceiveCount": count}, "eventSource": "aws:sqs",
                   "eventSourceARN": format!("arn:aws:sqs:us-east-1:{ACCOUNT}:tagwarden-sweep"),
                   "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}

/// `sweep-queue ARNS_FILE [--timeout SECS]`: the schedule, then the queue drained one batch of up to
/// `BATCH` records per invocation, each with a deadline of SECS (the auto-tagger's timeout) from its start.
/// Fails unless every ARN of ARNS_FILE was visited exactly once, and nothing else was.
pub async fn sweep_queue(args: &[String]) -> Result<Value> {
    let arns_path = arg(args, 0, "ARNS_FILE")?;
    let timeout = Duration::from_secs(option(args, "--timeout")?.unwrap_or(300));
    let seeded: BTreeSet<String> = std::fs::read_to_string(arns_path)
        .map_err(|e| format!("{arns_path}: {e}"))?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let url = std::env::var(QUEUE_ENV).map_err(|_| format!("{QUEUE_ENV} is not set"))?;
    let table = std::env::var(TABLE_ENV).map_err(|_| format!("{TABLE_ENV} is not set"))?;
    let cold = Instant::now();
    // NOTE: built as the Lambda's cold start builds it: policy, clients, ledger and queue from the environment.
    let function = AutoTaggerFunction::from_env().await.map_err(|e| format!("cold start: {e}"))?;
    let cold_ms = cold.elapsed().as_secs_f64() * 1000.0;
    let config = env_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let ledger = LedgerTable::new(aws_sdk_dynamodb::Client::new(&config), table);
    let emulator = emulator_address()?;
    emulator_post(&emulator, "/_tagwarden/calls/reset")?;

    let run = tagwarden::enforce::ledger::timestamp(tagwarden::enforce::ledger::now());
    let started = Instant::now();
    let seeded_run = function
        .handle(&schedule(&run), Some(SystemTime::now() + timeout))
        .await
        .map_err(|e| format!("schedule: {e}"))?;
    if seeded_run["outcome"] != "queued" {
        return Err(format!("the schedule did not seed the queue: {seeded_run}"));
    }
    let mut visits: BTreeMap<String, BTreeMap<&'static str, u32>> = BTreeMap::new();
    let (mut invocations, mut pages, mut retried, mut longest) = (1usize, 0usize, 0usize, 0f64);
    let mut results: BTreeMap<&'static str, usize> = BTreeMap::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(BATCH)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let messages = received.messages();
        if messages.is_empty() {
            break;
        }
        let invoked = Instant::now();
        let report = function
            .sweep_pages(&sqs_event(messages), Some(SystemTime::now() + timeout))
            .await
            .ok_or("the function did not take the SQS event as sweep pages")?;
        longest = longest.max(invoked.elapsed().as_secs_f64());
        invocations += 1;
        let failed = report.failed();
        for message in messages {
            let receipt = message.receipt_handle().unwrap_or_default();
            let sent = if failed.contains(&message.message_id().unwrap_or_default()) {
                retried += 1;
                sqs.change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| format!("ChangeMessageVisibility: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
            } else {
                let deleted = sqs.delete_message().queue_url(&url).receipt_handle(receipt).send().await;
                deleted.map(drop).map_err(|e| format!("DeleteMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))
            };
            sent?;
        }
        for page in &report.pages {
            pages += 1;
            *results.entry(result_label(&page.result)).or_default() += 1;
            for outcome in &page.outcomes {
                let value = serde_json::to_value(outcome).map_err(|e| e.to_string())?;
                let arn = value["resource_arn"].as_str().unwrap_or_default().to_owned();
                *visits.entry(arn).or_default().entry(outcome.label()).or_default() += 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let calls = emulator_get(&emulator, "/_tagwarden/calls")?;

    let visited: BTreeSet<String> = visits.keys().cloned().collect();
    let missed = seeded.difference(&visited).count();
    let strangers = visited.difference(&seeded).count();
    let twice = visits.values().filter(|v| v.values().sum::<u32>() != 1).count();
    let mut labels: BTreeMap<&str, u32> = BTreeMap::new();
    for (label, n) in visits.values().flatten() {
        *labels.entry(label).or_default() += n;
    }
    let progress = ledger.run_progress(&run_pk(&run)).await.map_err(|e| format!("ledger: {e}"))?;
    let adds = calls["by_action"]["sagemaker.AddTags"].as_u64().unwrap_or(0);
    let result = json!({
        "resources": seeded.len(),
        "secs": secs,
        "cold_ms": cold_ms,
        "invocations": invocations,
        "longest_invocation_secs": longest,
        "timeout_secs": timeout.as_secs(),
        "pages": pages,
        "page_results": results,
        "retried_records": retried,
        "visited": visited.len(),
        "visited_once": visits.len() - twice,
        "missed": missed,
        "strangers": strangers,
        "labels": labels,
        "add_tags": adds,
        "ledger": {"complete": progress.is_complete(), "expected": progress.expected, "types": progress.types,
                   "pages_done": progress.pages_done, "pages_open": progress.pages_open, "counts": progress.counts},
        "calls": calls,
    });
    let tagged = progress.counts.get("tagged").copied().unwrap_or(0);
    if missed > 0 || strangers > 0 || twice > 0 || !progress.is_complete() || tagged != seeded.len() as u64 {
        return Err(format!("the queued sweep did not visit each resource exactly once: {result}"));
    }
    Ok(result)
}

fn result_label(result: &PageResult) -> &'static str {
    match result {
        PageResult::Next => "next",
        PageResult::Complete => "complete",
        PageResult::AlreadyDone => "already-done",
        PageResult::SentAgain { .. } => "sent-again",
        PageResult::Failed { .. } => "failed",
        PageResult::Skipped { .. } => "skipped",
        PageResult::Retry { .. } => "retry",
    }
}
