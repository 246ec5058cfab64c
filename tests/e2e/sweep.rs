//! The sweep against the local emulator: seed the untidy estate (`tests/src/estate.rs`), sweep it with
//! the library, read every resource's tags back and count the AWS calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use tagwarden::sweep::{self, Lister, SweepOptions, SweepState, SweepSummary, TypeState};
use tagwarden::tagging::apply::list_tags;
use tagwarden::tagging::{TaggerSettings, Tags};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::estate::{ESTATE, ESTATE_TYPES, Entry, arn, audited, seed_estate, sweep_writes};
use tagwarden_e2e::{Emulator, REGION};

const POLICY_KEYS: &[&str] = &["cost-center", "team", "environment", "project", "created-by"];

struct Estate {
    emulator: Emulator,
    clients: Clients,
    tagger: AutoTagger,
    lister: Lister,
}

async fn estate_with(emulator: Emulator) -> Estate {
    let config = emulator.sdk_config(REGION, 1).await;
    seed_estate(&config).await.expect("seed the estate");
    let clients = Clients::new(&config);
    let tagger = AutoTagger::new(clients.clone(), Arc::new(Policy::example().unwrap()), &TaggerSettings::default());
    Estate { emulator, lister: Lister::new(clients.clone()), clients, tagger }
}

async fn estate() -> Estate {
    estate_with(Emulator::start().expect("emulator starts (run `make venv` first)")).await
}

fn options(types: &[&str]) -> SweepOptions {
    let names: Vec<String> = types.iter().map(|t| t.to_string()).collect();
    SweepOptions { kinds: sweep::kinds_named(&names).unwrap(), ..SweepOptions::default() }
}

impl Estate {
    async fn sweep(&self, options: &SweepOptions, state: &mut SweepState) -> (SweepSummary, Vec<Outcome>) {
        let mut outcomes = Vec::new();
        let summary = sweep::sweep(&self.tagger, &self.lister, options, state, &mut |p| {
            if let sweep::Progress::Resource { outcome, .. } = p {
                outcomes.push(outcome.clone());
            }
        })
        .await;
        (summary, outcomes)
    }

    async fn tags(&self, entry: &Entry) -> Tags {
        list_tags(&self.clients, &arn(entry)).await.unwrap()
    }

    async fn snapshot(&self) -> Vec<Tags> {
        let mut all = Vec::new();
        for entry in audited() {
            all.push(self.tags(entry).await);
        }
        all
    }

    fn writes(&self) -> u64 {
        let calls = self.emulator.calls().unwrap().by_action;
        ["sagemaker.AddTags", "sagemaker.DeleteTags", "sns.Publish"]
            .iter()
            .map(|a| calls.get(*a).copied().unwrap_or(0))
            .sum()
    }
}

fn count(kind: &str, pred: impl Fn(&Entry) -> bool) -> u64 {
    ESTATE.iter().filter(|e| e.kind == kind && pred(e)).count() as u64
}

#[tokio::test]
async fn the_sweep_tags_every_resource_as_the_estate_describes() {
    let estate = estate().await;
    let (summary, _) = estate.sweep(&options(ESTATE_TYPES), &mut SweepState::default()).await;

    for entry in audited() {
        let tags = estate.tags(entry).await;
        for key in POLICY_KEYS {
            let expected = entry.after.iter().find(|(k, _)| k == key).map(|(_, v)| v.to_string());
            assert_eq!(tags.get(*key), expected.as_ref(), "{} {}: {key} in {tags:?}", entry.kind, entry.name);
        }
        for (key, value) in entry.tags.iter().filter(|(k, _)| !POLICY_KEYS.contains(k)) {
            assert_eq!(tags.get(*key).map(String::as_str), Some(*value), "{} kept {key}", entry.name);
        }
    }
    for kind in ESTATE_TYPES {
        let t = &summary.types[*kind];
        assert_eq!(t.tagged, count(kind, sweep_writes), "{kind} tagged");
        assert_eq!(t.unchanged, count(kind, |e| !e.deleted && !sweep_writes(e)), "{kind} unchanged");
        assert_eq!(t.skipped, count(kind, |e| e.deleted), "{kind} skipped");
        assert_eq!(t.failed, 0, "{kind}: {:?}", t.error);
    }
    assert!(summary.complete && summary.stopped_early.is_none());
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_what_it_would_tag() {
    let estate = estate().await;
    let before = estate.snapshot().await;
    estate.emulator.reset_calls().unwrap();
    let dry = SweepOptions { dry_run: true, ..options(ESTATE_TYPES) };
    let (summary, outcomes) = estate.sweep(&dry, &mut SweepState::default()).await;

    assert_eq!(estate.writes(), 0, "{:?}", estate.emulator.calls().unwrap().by_action);
    assert_eq!(estate.snapshot().await, before);
    assert_eq!(summary.total.tagged, ESTATE.iter().filter(|e| sweep_writes(e)).count() as u64);
    assert!(summary.dry_run);
    let drift = outcomes.iter().find_map(|o| match o {
        Outcome::Tagged(r) if r.resource_arn.ends_with("/estate-nb-drift") => Some(r),
        _ => None,
    });
    assert_eq!(drift.expect("drift reported").added.get("cost-center").map(String::as_str), Some("CC-5000"));
}

#[tokio::test]
async fn a_second_sweep_writes_nothing() {
    let estate = estate().await;
    estate.sweep(&options(ESTATE_TYPES), &mut SweepState::default()).await;
    estate.emulator.reset_calls().unwrap();
    let (summary, _) = estate.sweep(&options(ESTATE_TYPES), &mut SweepState::default()).await;
    assert_eq!(estate.writes(), 0);
    assert_eq!(summary.total.tagged, 0);
    assert_eq!(summary.total.unchanged, audited().count() as u64);
}

#[tokio::test]
async fn a_rerun_with_the_state_skips_what_is_done_and_resumes_after_a_deadline() {
    let estate = estate().await;
    let jobs: Vec<&Entry> = ESTATE.iter().filter(|e| e.kind == "training-job").collect();

    // Half the training jobs done by an earlier run that stopped mid-type.
    let mut state = SweepState::default();
    let done: Vec<String> = jobs.iter().take(3).map(|e| arn(e)).collect();
    state.types.insert("training-job".into(), TypeState { done: done.iter().cloned().collect(), ..Default::default() });
    estate.emulator.reset_calls().unwrap();
    let (summary, outcomes) = estate.sweep(&options(&["training-job"]), &mut state).await;
    let t = &summary.types["training-job"];
    assert_eq!(t.already_done, 3);
    assert_eq!(t.scanned, jobs.len() as u64 - 3);
    assert!(outcomes.iter().all(|o| !done.iter().any(|d| serde_json::to_string(o).unwrap().contains(d.as_str()))));
    let calls = estate.emulator.calls().unwrap().by_action;
    assert_eq!(calls["sagemaker.DescribeTrainingJob"], jobs.len() as u64 - 3);
    assert!(state.types["training-job"].complete);

    // A complete type is not listed again; an interrupted run (deadline) is continued by the next.
    estate.emulator.reset_calls().unwrap();
    let stopped = SweepOptions { deadline: Some(Instant::now()), ..options(&["training-job", "model"]) };
    let (summary, _) = estate.sweep(&stopped, &mut state).await;
    assert!(summary.stopped_early.is_some() && !summary.complete);
    assert_eq!(summary.total.scanned, 0);
    assert!(summary.types["training-job"].resumed_complete);
    let (summary, _) = estate.sweep(&options(&["training-job", "model"]), &mut state).await;
    assert!(summary.complete);
    assert_eq!(summary.types["model"].scanned, count("model", |_| true));
    let calls = estate.emulator.calls().unwrap().by_action;
    assert_eq!(calls.get("sagemaker.ListTrainingJobs"), None, "{calls:?}");
}

#[tokio::test]
async fn concurrency_is_bounded_by_the_option() {
    let estate = estate_with(Emulator::start_with_latency(30).expect("emulator starts")).await;
    let types = ["training-job", "model", "notebook-instance"];
    let one = SweepOptions { concurrency: 1, dry_run: true, ..options(&types) };
    let (summary, _) = estate.sweep(&one, &mut SweepState::default()).await;
    assert_eq!(summary.max_in_flight, 1);
    let three = SweepOptions { concurrency: 3, dry_run: true, ..options(&types) };
    let (summary, _) = estate.sweep(&three, &mut SweepState::default()).await;
    assert_eq!(summary.max_in_flight, 3, "7 training jobs with 30 ms per call fill 3 slots");
}

#[tokio::test]
async fn the_lambdas_schedule_event_sweeps_until_its_deadline_and_other_events_are_tagged_as_before() {
    use std::time::{Duration, SystemTime};
    let estate = estate().await;
    let schedule = serde_json::json!({
        "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-27T06:00:00Z", "region": REGION,
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/tagwarden-AutoTaggerFunctionEstateSweep"],
        "detail": {}
    });

    // Less time left than the margin: nothing is started, and the summary says so.
    let soon = Some(SystemTime::now() + Duration::from_secs(5));
    let out = sweep::handle_event(&estate.tagger, &estate.lister, &schedule, soon).await.unwrap();
    assert_eq!(out["outcome"], "swept");
    assert_eq!(out["summary"]["total"]["scanned"], 0);
    assert!(out["summary"]["stopped_early"].is_string());

    let later = Some(SystemTime::now() + Duration::from_secs(300));
    let out = sweep::handle_event(&estate.tagger, &estate.lister, &schedule, later).await.unwrap();
    assert_eq!(out["summary"]["complete"], true, "{out}");
    assert_eq!(out["summary"]["total"]["tagged"], ESTATE.iter().filter(|e| sweep_writes(e)).count());
    for entry in audited().filter(|e| e.kind == "notebook-instance") {
        let tags = estate.tags(entry).await;
        assert_eq!(
            tags.get("cost-center").map(String::as_str),
            entry.after.iter().find(|(k, _)| *k == "cost-center").map(|(_, v)| *v)
        );
    }

    let amplify = tagwarden_e2e::sample_event("auto-tagger", "app-amplify.json").unwrap();
    let out = sweep::handle_event(&estate.tagger, &estate.lister, &amplify, later).await.unwrap();
    assert_eq!(out["outcome"], "skipped");
}
