//! Creators of what existed before (issue "every SageMaker dollar", item 4), against the emulator: the
//! sweep reads CloudTrail's event history and tags a resource it names exactly as the auto-tagger would
//! have; the pass stops at a deadline and resumes from its state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::Value;
use tagwarden::Outcome;
use tagwarden::sweep::{self, EventHistory, HistoryState, Lister, SweepOptions, SweepState};
use tagwarden::tagging::Tags;
use tagwarden_e2e::sample_event;
use tagwarden_e2e::tagger::TaggerWorld;
use tagwarden_e2e::world::create_resource;

const ALICES_JOB: &str = "training-job-studio-source-identity.json";
const INTERNS_NOTEBOOK: &str = "notebook-instance-iam-user.json";

fn arn_of(event: &Value, field: &str) -> String {
    event["detail"]["responseElements"][field].as_str().unwrap().to_owned()
}

/// The policy keys and `created-by` of a resource's tags.
fn policy_tags(tags: &Tags) -> Tags {
    let keys = ["cost-center", "team", "environment", "created-by", "project"];
    tags.iter().filter(|(k, _)| keys.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[tokio::test]
async fn the_sweep_tags_a_resource_the_event_history_names_exactly_as_the_auto_tagger_would_have() {
    // What the auto-tagger writes when it receives the event.
    let live = TaggerWorld::start().await.unwrap();
    let job_event = sample_event("auto-tagger", ALICES_JOB).unwrap();
    live.replay(ALICES_JOB).await.unwrap();
    let expected = policy_tags(&live.tags(&arn_of(&job_event, "trainingJobArn")).await.unwrap());
    assert_eq!(expected.get("created-by").map(String::as_str), Some("alice"));

    // The same job, made before Tagwarden: only CloudTrail's history remembers who made it.
    let w = TaggerWorld::start().await.unwrap();
    create_resource(&w.config, &job_event).await.unwrap();
    w.emulator.record_cloudtrail_event(&job_event["detail"]).unwrap();
    let notebook_event = sample_event("auto-tagger", INTERNS_NOTEBOOK).unwrap();
    create_resource(&w.config, &notebook_event).await.unwrap(); // no record: older than the history
    let history = EventHistory::new(&w.config).with_pace(Duration::ZERO);
    let lister = Lister::new(w.clients.clone()).with_history(history);
    let options = SweepOptions {
        kinds: sweep::kinds_named(&["training-job".into(), "notebook-instance".into()]).unwrap(),
        ..Default::default()
    };
    let mut outcomes = Vec::new();
    let summary = sweep::sweep(&w.tagger, &lister, &options, &mut SweepState::default(), &mut |p| {
        if let sweep::Progress::Resource { outcome, .. } = p {
            outcomes.push(outcome.clone());
        }
    })
    .await;

    assert_eq!(policy_tags(&w.tags(&arn_of(&job_event, "trainingJobArn")).await.unwrap()), expected);
    let history = summary.history.expect("the history was read");
    assert_eq!((history.records, history.creators_named, history.complete), (1, 1, true), "{history:?}");
    assert_eq!(history.calls as usize, sweep::history::create_event_names().len(), "one page per create name");
    let notebook = outcomes.iter().find_map(|o| match o {
        Outcome::Tagged(r) | Outcome::Unchanged(r) if r.resource_arn.contains(":notebook-instance/") => Some(r),
        _ => None,
    });
    assert_eq!(notebook.expect("the notebook was swept").creator.name, "unknown", "no record: creator unknown");
}

#[tokio::test]
async fn the_pass_over_the_history_stops_at_the_deadline_and_resumes_from_its_page() {
    let w = TaggerWorld::start().await.unwrap();
    let template = sample_event("auto-tagger", ALICES_JOB).unwrap()["detail"].clone();
    let names = sweep::history::create_event_names();
    let first_name = "CreateTrainingJob";
    let before = names.iter().take_while(|n| **n != first_name).map(|n| (*n).to_owned());
    for i in 0..60 {
        let mut record = template.clone();
        record["eventID"] = format!("e-{i}").into();
        record["responseElements"]["trainingJobArn"] =
            format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/old-job-{i}").into();
        w.emulator.record_cloudtrail_event(&record).unwrap();
    }
    // NOTE: the deadline falls well after the first call and well before the second (a pause of 2 s), so
    // a slow machine stops at the same page.
    let history = EventHistory::new(&w.config).with_pace(Duration::from_secs(2));
    // A pass that read the names before this one already: the next page is the training jobs' first.
    let mut state = HistoryState { names_done: before.collect(), ..HistoryState::default() };
    let done_before = state.names_done.len();
    let done = history.read(&mut state, Some(Instant::now() + Duration::from_secs(1))).await.unwrap();
    assert!(!done, "stopped at the deadline");
    assert_eq!((state.records.len(), state.calls), (50, 1), "one page of 50");
    assert_eq!(state.at.as_ref().map(|(name, _)| name.as_str()), Some(first_name), "the page it is at");

    let saved: HistoryState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    let mut state = saved;
    let done = history.with_pace(Duration::ZERO).read(&mut state, None).await.unwrap();
    assert!(done && state.is_complete());
    assert_eq!(state.records.len(), 60, "the second page, not the first again");
    assert_eq!(state.calls as usize, 1 + names.len() - done_before, "the names not read yet, once each");
}
