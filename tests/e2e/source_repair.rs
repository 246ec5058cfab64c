//! Tamper repair of the tag sources against the local emulator: a user profile's protected cost center comes
//! back to the last value the auto-tagger recorded in the ledger, not to its domain's; a change by one of the
//! policy's `admins:` is kept and becomes the last value; without a ledger the outcome says what it fell back to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::resource::{SageMakerArn, kind_for_arn_type};
use tagwarden::tagging::apply::{add_tags, list_tags};
use tagwarden::tagging::tamper::{LEDGER_ORIGIN, NO_LEDGER_WARNING, RECORDED_BY_TAGGER};
use tagwarden::tagging::{Report, Subject, TagOptions, TaggerSettings, Tags};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::world::{DOMAIN_ID, create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, sample_event};

/// The profile `user-profile-iam-user-admin.json` creates.
const PROFILE: &str = "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml-platform/dave";
/// The example policy's admin.
const ADMIN_ROLE: &str = "arn:aws:iam::123456789012:role/platform-admin";
/// The domain's cost center when dave's profile is created (the seeded world's).
const X: &str = "CC-1000";
/// What the domain's cost center becomes afterwards.
const Y: &str = "CC-1999";

struct World {
    _emulator: Emulator,
    clients: Clients,
    tagger: AutoTagger,
    ledger: Option<LedgerTable>,
}

/// The demo world; dave's profile created by the admin user and tagged by the auto-tagger from the domain
/// (`cost-center` X); then the domain's cost center changed to Y.
async fn world(with_ledger: bool) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config: SdkConfig = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger = if with_ledger { Some(create_ledger(&config).await.unwrap()) } else { None };
    // NOTE: no cache: the domain's new cost center is what a re-plan would read, not a cached X.
    let settings = TaggerSettings { ledger: ledger.clone(), cache_ttl: Duration::ZERO, ..TaggerSettings::default() };
    let tagger = AutoTagger::new(clients.clone(), Arc::new(Policy::example().unwrap()), &settings);
    let create = sample_event("auto-tagger", "user-profile-iam-user-admin.json").unwrap();
    create_resource(&config, &create).await.unwrap();
    let outcome = tagger.handle(&create).await.unwrap();
    assert_eq!(outcome.label(), "tagged", "{outcome:?}");
    let w = World { _emulator: emulator, clients, tagger, ledger };
    assert_eq!(w.cost_center(PROFILE).await.as_deref(), Some(X), "the profile took the domain's cost center");
    let domain = format!("arn:aws:sagemaker:{REGION}:123456789012:domain/{DOMAIN_ID}");
    add_tags(&w.clients, &domain, &Tags::from([("cost-center".to_owned(), Y.to_owned())])).await.unwrap();
    w
}

impl World {
    async fn cost_center(&self, arn: &str) -> Option<String> {
        list_tags(&self.clients, arn).await.unwrap().get("cost-center").cloned()
    }

    /// `identity` sets the profile's cost center to `value`, and the auto-tagger handles the AddTags event.
    async fn add_tags_as(&self, identity: Value, value: &str) -> Outcome {
        add_tags(&self.clients, PROFILE, &Tags::from([("cost-center".to_owned(), value.to_owned())])).await.unwrap();
        let mut event = sample_event("auto-tagger", "tamper-overwrite-cost-center.json").unwrap();
        event["detail"]["requestParameters"] =
            json!({"resourceArn": PROFILE, "tags": [{"key": "cost-center", "value": value}]});
        event["detail"]["userIdentity"] = identity;
        self.tagger.handle(&event).await.expect("no retryable error")
    }

    async fn last_value(&self) -> Option<(String, String)> {
        let record = self.ledger.as_ref()?.last_source_values(PROFILE).await.unwrap()?;
        Some((record.values.get("cost-center")?.clone(), record.by))
    }
}

fn intern() -> Value {
    json!({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/intern", "accountId": "123456789012",
        "userName": "intern"})
}

fn admin() -> Value {
    json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/platform-admin/ann",
        "accountId": "123456789012",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": ADMIN_ROLE, "accountId": "123456789012",
            "userName": "platform-admin"}}})
}

fn restored(outcome: Outcome) -> Report {
    match outcome {
        Outcome::Restored(report) => report,
        other => panic!("expected restored, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

#[tokio::test]
async fn tampered_profile_cost_center_comes_back_to_its_last_value() {
    let w = world(true).await;
    assert_eq!(w.last_value().await, Some((X.to_owned(), RECORDED_BY_TAGGER.to_owned())), "recorded at creation");

    let report = restored(w.add_tags_as(intern(), "CC-0000").await);
    assert_eq!(report.added.get("cost-center").map(String::as_str), Some(X), "the last value, not the domain's {Y}");
    assert_eq!(report.origins["cost-center"], LEDGER_ORIGIN);
    assert_eq!(report.changed_by.as_deref(), Some("arn:aws:iam::123456789012:user/intern"));
    assert_eq!(w.cost_center(PROFILE).await.as_deref(), Some(X));
    assert_eq!(w.last_value().await.map(|(value, _)| value).as_deref(), Some(X), "the repair changes no record");
}

#[tokio::test]
async fn an_admins_change_to_a_profile_is_kept_and_becomes_its_last_value() {
    let w = world(true).await;
    let outcome = w.add_tags_as(admin(), "CC-2200").await;
    let Outcome::Skipped(skip) = &outcome else { panic!("expected skipped, got {outcome:?}") };
    assert!(skip.reason.contains(ADMIN_ROLE) && skip.reason.contains("admin"), "{}", skip.reason);
    assert_eq!(w.cost_center(PROFILE).await.as_deref(), Some("CC-2200"), "kept");
    assert_eq!(w.last_value().await, Some(("CC-2200".to_owned(), ADMIN_ROLE.to_owned())));

    // Someone else's change afterwards comes back to the admin's value.
    let report = restored(w.add_tags_as(intern(), "CC-0000").await);
    assert_eq!(report.added.get("cost-center").map(String::as_str), Some("CC-2200"));
    assert_eq!(w.cost_center(PROFILE).await.as_deref(), Some("CC-2200"));
}

#[tokio::test]
async fn without_a_ledger_a_tampered_profile_is_restored_from_its_domain_and_the_outcome_says_so() {
    let w = world(false).await;
    let report = restored(w.add_tags_as(intern(), "CC-0000").await);
    assert_eq!(report.added.get("cost-center").map(String::as_str), Some(Y), "today's behaviour: the domain's");
    assert!(report.warnings.iter().any(|warning| warning == NO_LEDGER_WARNING), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_sweep_that_finds_a_changed_profile_does_not_take_the_change_for_its_last_value() {
    let w = world(true).await;
    // The AddTags event never arrives; the scheduled sweep reaches the profile first.
    add_tags(&w.clients, PROFILE, &Tags::from([("cost-center".to_owned(), "CC-0000".to_owned())])).await.unwrap();
    let kind = kind_for_arn_type("user-profile").unwrap();
    let subject = Subject::for_resource(kind, SageMakerArn::parse(PROFILE).unwrap(), None);
    let sweep = TagOptions { dry_run: false, notify: false, keep_source_values: true };
    w.tagger.tag_resource(&subject, sweep).await.unwrap();
    assert_eq!(w.last_value().await, Some((X.to_owned(), RECORDED_BY_TAGGER.to_owned())), "still the recorded value");

    // The event, late, still brings the recorded value back.
    let report = restored(w.add_tags_as(intern(), "CC-0000").await);
    assert_eq!(report.added.get("cost-center").map(String::as_str), Some(X));
}

#[tokio::test]
async fn a_profile_tagged_while_the_ledger_table_is_missing_is_still_tagged_and_the_outcome_says_it_was_not_recorded() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config: SdkConfig = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.expect("seed");
    let clients = Clients::new(&config);
    let missing = LedgerTable::new(clients.dynamodb.client(), "no-such-ledger");
    let settings = TaggerSettings { ledger: Some(missing), ..TaggerSettings::default() };
    let tagger = AutoTagger::new(clients.clone(), Arc::new(Policy::example().unwrap()), &settings);
    let create = sample_event("auto-tagger", "user-profile-iam-user-admin.json").unwrap();
    create_resource(&config, &create).await.unwrap();
    let Outcome::Tagged(report) = tagger.handle(&create).await.unwrap() else { panic!("expected tagged") };
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("the source's values were not recorded") && w.contains("no-such-ledger")),
        "{:?}",
        report.warnings
    );
    assert_eq!(list_tags(&clients, PROFILE).await.unwrap().get("cost-center").map(String::as_str), Some(X));
}
