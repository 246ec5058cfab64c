//! A creator that names someone: a create made under a CI tool's default role session name, or under one the
//! policy's `tags.machine_sessions` names, is `created-by` its role, with the session kept in the outcome.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::Value;
use tagwarden::identity::{CreatorKind, MachineSession, Via};
use tagwarden::policy::EXAMPLE_POLICY;
use tagwarden::tagging::apply::list_tags;
use tagwarden::tagging::{Report, TaggerSettings};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, sample_event};

/// The CI role's sample create (`ci-deployer`, session `github-actions-run-4711`), with its session renamed.
fn ci_create(session: &str) -> Value {
    let mut event = sample_event("auto-tagger", "endpoint-assumed-role-ci.json").unwrap();
    let identity = &mut event["detail"]["userIdentity"];
    identity["arn"] = format!("arn:aws:sts::123456789012:assumed-role/ci-deployer/{session}").into();
    identity["principalId"] = format!("AROAR7CIDEPLOYER4K8JD:{session}").into();
    event
}

/// Seeds the demo world, creates the event's resource and replays the event under `policy`; returns the report
/// and the resource's tags.
async fn replay(policy: Policy, event: &Value) -> (Report, tagwarden::tagging::Tags) {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.expect("seed");
    create_resource(&config, event).await.expect("create resource");
    let clients = Clients::new(&config);
    let tagger = AutoTagger::new(clients.clone(), Arc::new(policy), &TaggerSettings::default());
    let report = match tagger.handle(event).await.expect("no retryable error") {
        Outcome::Tagged(report) => report,
        other => panic!("expected tagged, got {}", serde_json::to_string_pretty(&other).unwrap()),
    };
    let tags = list_tags(&clients, &report.resource_arn).await.unwrap();
    (report, tags)
}

#[tokio::test]
async fn a_create_by_the_github_actions_default_session_is_created_by_the_role() {
    let (report, tags) = replay(Policy::example().unwrap(), &ci_create("GitHubActions")).await;
    let creator = &report.creator;
    assert_eq!(
        (creator.kind, creator.name.as_str(), creator.via),
        (CreatorKind::AssumedRole, "ci-deployer", Via::RoleName)
    );
    assert_eq!(creator.session.as_deref(), Some("GitHubActions"), "the session stays as detail");
    assert_eq!(
        creator.machine_session,
        Some(MachineSession { tool: "github-actions".into(), pattern: "GitHubActions".into() })
    );
    assert_eq!(tags.get("created-by").map(String::as_str), Some("ci-deployer"));
    assert_eq!(tags.get("cost-center").map(String::as_str), Some("CC-4000"), "the role's own tags still apply");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["creator"]["machine_session"]["tool"], "github-actions", "{json}");
}

#[tokio::test]
async fn a_session_the_policy_names_a_machine_is_created_by_the_role() {
    let yaml = EXAMPLE_POLICY.replace("machine_sessions: []", "machine_sessions: [github-actions-run-*]");
    let policy = Policy::from_yaml(&yaml, "test").unwrap();
    let (report, tags) = replay(policy, &ci_create("github-actions-run-4711")).await;
    assert_eq!((report.creator.name.as_str(), report.creator.via), ("ci-deployer", Via::RoleName));
    assert_eq!(
        report.creator.machine_session,
        Some(MachineSession { tool: "policy".into(), pattern: "github-actions-run-*".into() })
    );
    assert_eq!(tags.get("created-by").map(String::as_str), Some("ci-deployer"));
}

#[tokio::test]
async fn a_session_naming_a_person_still_names_the_person() {
    let (report, tags) = replay(Policy::example().unwrap(), &ci_create("bob@example.com")).await;
    assert_eq!((report.creator.name.as_str(), report.creator.via), ("bob@example.com", Via::SessionName));
    assert_eq!(report.creator.machine_session, None);
    assert_eq!(tags.get("created-by").map(String::as_str), Some("bob@example.com"));
}
