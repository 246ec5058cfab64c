//! The Rust side of `make bench` (see `bench/README.md`): one subcommand per measurement, driven by
//! `bench/run.py`. Every subcommand reads the emulator's address from `AWS_ENDPOINT_URL` (as the Lambda
//! functions do), prints one JSON object on stdout, and never talks to real AWS.
//!
//! - `seed-notebooks PREFIX COUNT [KEY=VALUE...]`: creates notebook instances `PREFIX-00001`… (32 at a time).
//! - `start-notebooks PREFIX COUNT`: starts them again (after a budget run stopped them).
//! - `setup-tagging`: the IAM user `intern` (creator of the sample event) with its `cost-center` and `team` tags.
//! - `setup-budget`: the budget `ml-marketing` (scoped by `cost-center=CC-4100`) and the summary topic.
//! - `floor ARN N`: N bare `AddTags` calls on one resource (each followed by a bare `ListTags`); their times.
//! - `warm POLICY EVENTS.jsonl [--count-calls]`: one `AutoTagger`, every event in a row; the time (and, with
//!   `--count-calls`, the emulator-counted AWS calls) of each.
//! - `enforce POLICY EVENT`: one budget alert through `BudgetEnforcer`, through a counting TCP proxy that
//!   records the most requests ever in flight at once.
//! - `seed-estate PREFIX COUNT ARNS_FILE`, `sweep-queue ARNS_FILE [--timeout SECS]`: the queued sweep at
//!   estate scale ([`sweep`]).
//! - `setup-queue NAME [--subscribe TOPIC]`, `setup-ledger`, `enforce-continued EVENT MESSAGE_ID
//!   (--timeout SECS | --work-ms MS) --summaries URL`: enforcement through continuations ([`continuation`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sagemaker::types::{InstanceType, Tag};
use futures::StreamExt;
use serde_json::{Value, json};
use tagwarden::tagging::TaggerSettings;
use tagwarden::{AutoTagger, BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream as TokioStream};

mod continuation;
mod sweep;

type Result<T> = std::result::Result<T, String>;

fn main() {
    // NOTE: the functions' runtime (one thread) unless TAGWARDEN_BENCH_RUNTIME=multi-thread measures the other.
    let mut runtime = match std::env::var("TAGWARDEN_BENCH_RUNTIME").as_deref() {
        Ok("multi-thread") => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("tagwarden-bench: cannot start a tokio runtime: {err}");
            std::process::exit(1);
        }
    }
}

async fn run() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("seed-notebooks") => seed_notebooks(&args[1..]).await,
        Some("start-notebooks") => start_notebooks(&args[1..]).await,
        Some("setup-tagging") => setup_tagging().await,
        Some("setup-budget") => setup_budget().await,
        Some("floor") => floor(&args[1..]).await,
        Some("warm") => warm(&args[1..]).await,
        Some("enforce") => enforce(&args[1..]).await,
        Some("seed-estate") => sweep::seed_estate(&args[1..]).await,
        Some("sweep-queue") => sweep::sweep_queue(&args[1..]).await,
        Some("setup-queue") => continuation::setup_queue(&args[1..]).await,
        Some("setup-ledger") => continuation::setup_ledger().await,
        Some("enforce-continued") => continuation::enforce_continued(&args[1..]).await,
        _ => Err("usage: tagwarden-bench seed-notebooks|start-notebooks|setup-tagging|setup-budget|floor|warm|\
                  enforce|seed-estate|sweep-queue|setup-queue|setup-ledger|enforce-continued ... (see \
                  bench/driver/src/main.rs)"
            .into()),
    };
    match result {
        Ok(value) => println!("{value}"),
        Err(err) => {
            eprintln!("tagwarden-bench: {err}");
            std::process::exit(1);
        }
    }
}

/// The SDK configuration the Lambda functions get: everything from the environment.
async fn env_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Result<&'a str> {
    args.get(i).map(String::as_str).ok_or_else(|| format!("missing argument: {what}"))
}

fn number(args: &[String], i: usize, what: &str) -> Result<usize> {
    arg(args, i, what)?.parse().map_err(|e| format!("{what}: {e}"))
}

/// The value after `--name` among `args`, parsed; `None` when the option is absent.
fn option<T: std::str::FromStr>(args: &[String], name: &str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    let Some(i) = args.iter().position(|a| a == name) else { return Ok(None) };
    let value = args.get(i + 1).ok_or_else(|| format!("{name} needs a value"))?;
    value.parse().map(Some).map_err(|e| format!("{name} {value}: {e}"))
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `PREFIX-00001`, `PREFIX-00002`, …
fn notebook_names(prefix: &str, count: usize) -> impl Iterator<Item = String> + '_ {
    (1..=count).map(move |i| format!("{prefix}-{i:05}"))
}

async fn seed_notebooks(args: &[String]) -> Result<Value> {
    let prefix = arg(args, 0, "PREFIX")?.to_owned();
    let count = number(args, 1, "COUNT")?;
    let tags: Vec<Tag> = args[2..]
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let sm = aws_sdk_sagemaker::Client::new(&env_config().await);
    let started = Instant::now();
    let results: Vec<Result<()>> = futures::stream::iter(notebook_names(&prefix, count))
        .map(|name| {
            let (sm, tags) = (sm.clone(), tags.clone());
            async move {
                sm.create_notebook_instance()
                    .notebook_instance_name(&name)
                    .instance_type(InstanceType::MlT3Medium)
                    .role_arn("arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-bench")
                    .volume_size_in_gb(5)
                    .set_tags((!tags.is_empty()).then_some(tags))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| {
                        format!("CreateNotebookInstance {name}: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e))
                    })
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(json!({"created": count, "secs": started.elapsed().as_secs_f64()}))
}

async fn start_notebooks(args: &[String]) -> Result<Value> {
    let prefix = arg(args, 0, "PREFIX")?.to_owned();
    let count = number(args, 1, "COUNT")?;
    let sm = aws_sdk_sagemaker::Client::new(&env_config().await);
    let started = Instant::now();
    let results: Vec<Result<()>> = futures::stream::iter(notebook_names(&prefix, count))
        .map(|name| {
            let sm = sm.clone();
            async move {
                sm.start_notebook_instance().notebook_instance_name(&name).send().await.map(drop).map_err(|e| {
                    format!("StartNotebookInstance {name}: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e))
                })
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(json!({"started": count, "secs": started.elapsed().as_secs_f64()}))
}

async fn setup_tagging() -> Result<Value> {
    let iam = aws_sdk_iam::Client::new(&env_config().await);
    let mut user = iam.create_user().user_name("intern");
    for (k, v) in [("cost-center", "CC-2100"), ("team", "growth")] {
        let tag = aws_sdk_iam::types::Tag::builder().key(k).value(v).build().map_err(|e| e.to_string())?;
        user = user.tags(tag);
    }
    user.send().await.map_err(|e| format!("CreateUser: {}", aws_sdk_iam::error::DisplayErrorContext(e)))?;
    Ok(json!({"user": "intern"}))
}

async fn setup_budget() -> Result<Value> {
    let config = env_config().await;
    tagwarden_e2e::budget_world::seed_budget(&config).await?;
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns
        .create_topic()
        .name(tagwarden_e2e::budget_world::SUMMARY_TOPIC)
        .send()
        .await
        .map_err(|e| format!("CreateTopic: {}", aws_sdk_sns::error::DisplayErrorContext(e)))?;
    Ok(json!({"budget": tagwarden_e2e::budget_world::BUDGET, "topic": topic.topic_arn()}))
}

/// The floor: one bare `AddTags` from the same SDK stack, repeated; the first call (connection set-up) is
/// reported apart.
async fn floor(args: &[String]) -> Result<Value> {
    let arn = arg(args, 0, "ARN")?;
    let n = number(args, 1, "N")?;
    let sm = aws_sdk_sagemaker::Client::new(&env_config().await);
    let (mut ms, mut list_ms) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let tag = Tag::builder().key("bench-floor").value(i.to_string()).build();
        let started = Instant::now();
        sm.add_tags()
            .resource_arn(arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| format!("AddTags: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e)))?;
        ms.push(millis(started.elapsed()));
        // NOTE: a bare ListTags too, apart, to show what the warm path (ListTags + AddTags) is made of.
        let started = Instant::now();
        sm.list_tags()
            .resource_arn(arn)
            .max_results(100)
            .send()
            .await
            .map_err(|e| format!("ListTags: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e)))?;
        list_ms.push(millis(started.elapsed()));
    }
    Ok(json!({"ms": ms, "list_tags_ms": list_ms}))
}

/// The warm loop: one tagger (clients and caches built once, as in a warm Lambda), every event in a row.
async fn warm(args: &[String]) -> Result<Value> {
    let policy = Policy::from_file(Path::new(arg(args, 0, "POLICY")?)).map_err(|e| e.to_string())?;
    let events_text = std::fs::read_to_string(arg(args, 1, "EVENTS")?).map_err(|e| format!("events: {e}"))?;
    let count_calls = args.iter().any(|a| a == "--count-calls");
    let counter = count_calls.then(emulator_address).transpose()?;
    let events: Vec<Value> = events_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("event: {e}")))
        .collect::<Result<_>>()?;
    let init = Instant::now();
    let tagger = AutoTagger::new(Clients::from_env().await, Arc::new(policy), &TaggerSettings::default());
    let init_ms = millis(init.elapsed());
    let mut ms = Vec::with_capacity(events.len());
    let mut calls = Vec::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut before = match &counter {
        Some(addr) => emulator_calls(addr)?,
        None => 0,
    };
    for event in &events {
        let started = Instant::now();
        let outcome = tagger.handle(event).await.map_err(|e| format!("handler error: {e}"))?;
        ms.push(millis(started.elapsed()));
        *outcomes.entry(outcome.label().to_owned()).or_default() += 1;
        if let Some(addr) = &counter {
            let after = emulator_calls(addr)?;
            calls.push(after - before);
            before = after;
        }
    }
    Ok(json!({"init_ms": init_ms, "ms": ms, "calls": calls, "outcomes": outcomes}))
}

/// `host:port` of `AWS_ENDPOINT_URL`.
fn emulator_address() -> Result<String> {
    let url = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL is not set".to_owned())?;
    Ok(url.trim_start_matches("http://").trim_end_matches('/').to_owned())
}

/// The emulator's total of counted AWS calls (its `/_tagwarden/calls`, which is itself never counted).
fn emulator_calls(addr: &str) -> Result<u64> {
    emulator_get(addr, "/_tagwarden/calls")?["total"].as_u64().ok_or_else(|| "calls: no total".into())
}

/// One request to an admin endpoint of the emulator (`/_tagwarden/...`, never counted); its JSON answer.
fn emulator_request(addr: &str, method: &str, path: &str) -> Result<Value> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).map_err(|e| format!("{path}: {e}"))
}

/// `GET` an admin endpoint of the emulator.
fn emulator_get(addr: &str, path: &str) -> Result<Value> {
    emulator_request(addr, "GET", path)
}

/// `POST` an admin endpoint of the emulator.
fn emulator_post(addr: &str, path: &str) -> Result<Value> {
    emulator_request(addr, "POST", path)
}

/// Budget enforcement: one alert, the SDK pointed at a counting proxy in front of the emulator.
async fn enforce(args: &[String]) -> Result<Value> {
    let policy = Policy::from_file(Path::new(arg(args, 0, "POLICY")?)).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(arg(args, 1, "EVENT")?).map_err(|e| format!("event: {e}"))?;
    let event: Value = serde_json::from_str(&text).map_err(|e| format!("event: {e}"))?;
    let gauge = Arc::new(Gauge::default());
    let proxy = start_proxy(emulator_address()?, gauge.clone()).await?;
    let config = aws_config::defaults(BehaviorVersion::latest()).endpoint_url(proxy).load().await;
    // NOTE: the Lambda's call policy (retries, timeouts), which the enforcer's pacing also follows.
    let config = tagwarden::aws::CallPolicy::DEFAULT.apply(&config);
    let enforcer = BudgetEnforcer::new(Clients::new(&config), Arc::new(policy));
    let started = Instant::now();
    let outcome = enforcer.handle(&event, false).await.map_err(|e| format!("enforcer error: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    let mut results: BTreeMap<String, usize> = BTreeMap::new();
    let mut throttled = 0;
    if let EnforcementOutcome::Enforced(report) | EnforcementOutcome::Notified(report) = &outcome {
        for r in &report.results {
            *results.entry(format!("{} {}", r.action, r.result)).or_default() += 1;
        }
        throttled = report.throttled;
    }
    Ok(json!({
        "secs": secs,
        "outcome": outcome.label(),
        "results": results,
        "max_in_flight": gauge.max.load(Ordering::SeqCst),
        "requests": gauge.requests.load(Ordering::SeqCst),
        "throttled": throttled,
    }))
}

/// Requests in flight through the proxy: a connection is busy from the first byte of a request until the
/// first byte of its response (HTTP/1.1 without pipelining: one request per connection at a time).
#[derive(Debug, Default)]
struct Gauge {
    busy: AtomicUsize,
    max: AtomicUsize,
    requests: AtomicUsize,
}

/// Starts a TCP proxy on a free loopback port forwarding to `upstream`; returns its URL.
async fn start_proxy(upstream: String, gauge: Arc<Gauge>) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, gauge) = (upstream.clone(), gauge.clone());
            tokio::spawn(async move {
                if let Ok(server) = TokioStream::connect(&upstream).await {
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    relay(client, server, gauge).await;
                }
            });
        }
    });
    Ok(url)
}

async fn relay(client: TokioStream, server: TokioStream, gauge: Arc<Gauge>) {
    let busy = Arc::new(AtomicBool::new(false));
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (up_busy, up_gauge) = (busy.clone(), gauge.clone());
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if !up_busy.swap(true, Ordering::SeqCst) {
                let now = up_gauge.busy.fetch_add(1, Ordering::SeqCst) + 1;
                up_gauge.max.fetch_max(now, Ordering::SeqCst);
                up_gauge.requests.fetch_add(1, Ordering::SeqCst);
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if busy.swap(false, Ordering::SeqCst) {
                gauge.busy.fetch_sub(1, Ordering::SeqCst);
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(up, down);
}
