//! Load: thousands of create events through one auto-tagger, 16 at a time, against the emulator. Every
//! resource ends tagged, none is written twice (re-deliveries included), and the handler process's
//! memory stays flat. `TAGWARDEN_LOAD_EVENTS` sets the number (default 400; `make soak` runs 10,000).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde_json::{Value, json};
use tagwarden::tagging::TaggerSettings;
use tagwarden::tagging::apply::list_tags;
use tagwarden::{AutoTagger, Clients, Policy};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, sample_event};

const CONCURRENCY: usize = 16;
/// One in this many events is delivered a second time, after the first delivery was handled.
const REDELIVER_EVERY: usize = 10;

/// The `n`th event: a `CreateModel` by one of three creators (CI role, IAM user, Studio user via
/// Studio's system tags), for a model of its own.
fn event(templates: &[Value], n: usize) -> Value {
    let mut event = templates[n % templates.len()].clone();
    let name = format!("load-model-{n:05}");
    event["id"] = json!(format!("load-{n:05}"));
    event["detail"]["requestParameters"]["modelName"] = json!(name);
    event["detail"]["responseElements"]["modelArn"] =
        json!(format!("arn:aws:sagemaker:us-east-1:123456789012:model/{name}"));
    event
}

/// This process's resident set and its peak so far, in KiB (`/proc/self/status`).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_events_sixteen_at_a_time_tag_everything_once_in_flat_memory() {
    let total: usize = std::env::var("TAGWARDEN_LOAD_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config(REGION, 3).await;
    seed_world(&config).await.unwrap();
    let ci = sample_event("auto-tagger", "model-assumed-role-ci.json").unwrap();
    let mut by_user = ci.clone();
    by_user["detail"]["userIdentity"] =
        sample_event("auto-tagger", "notebook-instance-iam-user.json").unwrap()["detail"]["userIdentity"].clone();
    let studio = sample_event("auto-tagger", "model-studio-system-tags.json").unwrap();
    let templates = [ci, by_user, studio];

    let started = Instant::now();
    futures::stream::iter(0..total)
        .map(|n| {
            let (config, event) = (&config, event(&templates, n));
            async move { create_resource(config, &event).await.unwrap() }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let seeded = started.elapsed();

    let clients = Clients::new(&config);
    let tagger =
        Arc::new(AutoTagger::new(clients.clone(), Arc::new(Policy::example().unwrap()), &TaggerSettings::default()));
    emulator.reset_calls().unwrap();
    let started = Instant::now();
    let mut samples = Vec::new();
    let chunk = (total / 10).max(1);
    let mut outcomes = std::collections::BTreeMap::<&'static str, usize>::new();
    for start in (0..total).step_by(chunk) {
        let end = (start + chunk).min(total);
        // First deliveries of this chunk, then, once they are all handled, the re-deliveries of it
        // (EventBridge is at least once). NOTE: a re-delivery that overlaps its first delivery can write
        // twice (both read the tags before either writes); that is not what this test measures.
        let first = (start..end).collect::<Vec<_>>();
        let again = (start..end).filter(|n| n % REDELIVER_EVERY == 0).collect::<Vec<_>>();
        for deliveries in [first, again] {
            let labels: Vec<&'static str> = futures::stream::iter(deliveries)
                .map(|n| {
                    let (tagger, event) = (tagger.clone(), event(&templates, n));
                    async move { tagger.handle(&event).await.expect("no retryable error").label() }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for label in labels {
                *outcomes.entry(label).or_default() += 1;
            }
        }
        samples.push((end, memory_kib()));
    }
    let handled = started.elapsed();
    let calls = emulator.calls().unwrap();

    println!("events: {total} (+{} re-deliveries), concurrency {CONCURRENCY}", total.div_ceil(REDELIVER_EVERY));
    println!(
        "seeding {:.1} s; handling {:.1} s = {:.0} events/s",
        seeded.as_secs_f64(),
        handled.as_secs_f64(),
        total as f64 / handled.as_secs_f64()
    );
    println!("outcomes: {outcomes:?}");
    println!("AWS calls: {calls:?}");
    println!("{:>8} {:>10} {:>10}", "events", "RSS KiB", "peak KiB");
    for (events, (rss, peak)) in &samples {
        println!("{events:>8} {rss:>10} {peak:>10}");
    }

    let add_tags = calls.by_action.get("sagemaker.AddTags").copied().unwrap_or(0);
    assert_eq!(add_tags, total as u64, "one AddTags per resource: none lost, none written twice");
    assert_eq!(outcomes.get("tagged"), Some(&total), "{outcomes:?}");
    assert_eq!(outcomes.get("unchanged"), Some(&total.div_ceil(REDELIVER_EVERY)), "re-deliveries write nothing");
    let untagged: Vec<usize> = futures::stream::iter(0..total)
        .map(|n| {
            let clients = &clients;
            async move {
                let arn = format!("arn:aws:sagemaker:us-east-1:123456789012:model/load-model-{n:05}");
                let tags = list_tags(clients, &arn).await.unwrap();
                (!tags.contains_key("created-by") || !tags.contains_key("environment")).then_some(n)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|n| async move { n })
        .collect()
        .await;
    assert!(untagged.is_empty(), "models without their tags: {untagged:?}");
    // Flat: after the first tenth (caches, connection pool, allocator arenas warm), the resident set grows
    // by less than 8 MiB over the rest of the run.
    let warm = samples.first().map(|(_, (rss, _))| *rss).unwrap_or(0);
    let last = samples.last().map(|(_, (rss, _))| *rss).unwrap_or(0);
    assert!(last.saturating_sub(warm) < 8 * 1024, "RSS grew from {warm} KiB to {last} KiB");
}
