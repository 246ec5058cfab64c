//! The reserved `tagwarden:` key namespace against the local emulator: keys of it that a user writes, in a
//! create request or with `AddTags`, are removed by the auto-tagger with one notice naming who wrote them;
//! Tagwarden's own markers stay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{Value, json};
use tagwarden::tagging::apply::{add_tags, list_tags};
use tagwarden::tagging::{Report, TaggerSettings, Tags};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{CallCount, Emulator, REGION, sample_event};

const MODEL: &str = "arn:aws:sagemaker:us-east-1:123456789012:model/alice-quick-deploy";
/// The budget-enforcer's role as `tamper-by-tagwarden.json` names it; the deployment lists it as trusted.
const ENFORCER_ROLE: &str = "arn:aws:iam::123456789012:role/tagwarden-BudgetEnforcerRole-1X2Y3Z";
/// alice's own Studio execution role session that creates her model in `model-studio-system-tags.json`.
const STUDIO_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/AmazonSageMaker-ExecutionRole-alice/SageMaker";

struct World {
    emulator: Emulator,
    clients: Clients,
    tagger: AutoTagger,
}

async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.expect("seed");
    let clients = Clients::new(&config);
    let settings = TaggerSettings { trusted_principals: vec![ENFORCER_ROLE.into()], ..TaggerSettings::default() };
    let tagger = AutoTagger::new(clients.clone(), Arc::new(Policy::example().unwrap()), &settings);
    World { emulator, clients, tagger }
}

impl World {
    async fn handle(&self, event: &Value) -> (Outcome, CallCount) {
        self.emulator.reset_calls().unwrap();
        let outcome = self.tagger.handle(event).await.expect("no retryable error");
        (outcome, self.emulator.calls().unwrap())
    }

    async fn tags(&self) -> Tags {
        list_tags(&self.clients, MODEL).await.unwrap()
    }
}

fn calls(count: &CallCount, action: &str) -> u64 {
    count.by_action.get(action).copied().unwrap_or(0)
}

fn report(outcome: Outcome) -> Report {
    match outcome {
        Outcome::Tagged(report) | Outcome::Restored(report) => report,
        other => panic!("expected tagged or restored, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

fn reserved(tags: &Tags) -> Vec<&str> {
    tags.keys().filter(|k| k.starts_with("tagwarden:")).map(String::as_str).collect()
}

#[tokio::test]
async fn a_user_written_tagwarden_key_is_removed_with_one_notice() {
    let w = world().await;
    let config = w.emulator.sdk_config(REGION, 1).await;

    // 1. In the create request: alice's Studio session creates a model that "exempts itself".
    let mut create = sample_event("auto-tagger", "model-studio-system-tags.json").unwrap();
    let tags = create["detail"]["requestParameters"]["tags"].as_array_mut().unwrap();
    tags.push(json!({"key": "tagwarden:exempt", "value": "true"}));
    create_resource(&config, &create).await.unwrap();
    assert_eq!(reserved(&w.tags().await), ["tagwarden:exempt"], "SageMaker took the tag");
    let (outcome, count) = w.handle(&create).await;
    let created = report(outcome);
    assert_eq!(created.removed, ["tagwarden:exempt"]);
    assert_eq!(created.changed_by.as_deref(), Some(STUDIO_SESSION));
    assert!(created.warnings.iter().any(|w| w.contains("tagwarden:exempt=true written by") && w.contains("reserved")));
    assert!(created.notified);
    let non_compliance = u64::from(!created.missing_required.is_empty());
    assert_eq!(calls(&count, "sns.Publish"), 1 + non_compliance, "one notice: {count:?}");
    assert_eq!(calls(&count, "sagemaker.DeleteTags"), 1);
    assert!(reserved(&w.tags().await).is_empty());
    assert_eq!(w.tags().await.get("cost-center").map(String::as_str), Some("CC-2100"), "tagged as before");

    // EventBridge delivers at least once: the same event again removes nothing and notifies no one.
    let (_, again) = w.handle(&create).await;
    assert_eq!(calls(&again, "sagemaker.DeleteTags"), 0, "{again:?}");
    assert_eq!(calls(&again, "sns.Publish"), 0, "{again:?}");

    // 2. With AddTags: the CI role writes a forged exemption and a forged restore marker.
    let forged = Tags::from([
        ("tagwarden:exempt".to_owned(), "true".to_owned()),
        ("tagwarden:scaled-from".to_owned(), "AllTraffic=40".to_owned()),
    ]);
    add_tags(&w.clients, MODEL, &forged).await.unwrap();
    let mut add = sample_event("auto-tagger", "tamper-overwrite-cost-center.json").unwrap();
    let written: Vec<Value> = forged.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    add["detail"]["requestParameters"]["tags"] = json!(written);
    let (outcome, count) = w.handle(&add).await;
    let Outcome::Restored(added) = outcome else { panic!("expected restored, got {outcome:?}") };
    assert_eq!(added.removed, ["tagwarden:exempt", "tagwarden:scaled-from"]);
    assert_eq!(added.event_name, "AddTags");
    assert_eq!(
        added.changed_by.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/ci-deployer/github-actions-run-4712")
    );
    assert!(added.notified);
    assert_eq!(calls(&count, "sns.Publish"), 1, "one notice for both keys: {count:?}");
    assert_eq!(calls(&count, "sagemaker.DeleteTags"), 1, "{count:?}");
    assert!(reserved(&w.tags().await).is_empty());

    // 3. Tagwarden's own marker (the enforcer's trusted role) stays, and costs no call.
    let marker = Tags::from([("tagwarden:stopped-by".to_owned(), "ml-marketing".to_owned())]);
    add_tags(&w.clients, MODEL, &marker).await.unwrap();
    let own = sample_event("auto-tagger", "tamper-by-tagwarden.json").unwrap();
    let (outcome, count) = w.handle(&own).await;
    assert_eq!(outcome.label(), "skipped", "{outcome:?}");
    assert_eq!(count.total, 0, "{count:?}");
    assert_eq!(reserved(&w.tags().await), ["tagwarden:stopped-by"]);
}
