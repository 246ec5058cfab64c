//! Tamper protection against the local emulator: someone removes or overwrites a protected tag, the
//! auto-tagger puts the right value back once, and Tagwarden's own tag writes never set it off.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use tagwarden::tagging::apply::{add_tags, list_tags};
use tagwarden::tagging::{Report, TaggerSettings, Tags};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{CallCount, Emulator, REGION, sample_event};

const MODEL: &str = "arn:aws:sagemaker:us-east-1:123456789012:model/alice-quick-deploy";
/// The budget-enforcer's role as `tamper-by-tagwarden.json` names it; the deployment lists it as trusted.
const ENFORCER_ROLE: &str = "arn:aws:iam::123456789012:role/tagwarden-BudgetEnforcerRole-1X2Y3Z";

struct World {
    emulator: Emulator,
    clients: Clients,
    tagger: AutoTagger,
}

/// The demo world, with alice's Studio model created and tagged (`cost-center` from her profile).
async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config: SdkConfig = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.expect("seed");
    let clients = Clients::new(&config);
    let policy = Arc::new(Policy::example().unwrap());
    let settings = TaggerSettings { trusted_principals: vec![ENFORCER_ROLE.into()], ..TaggerSettings::default() };
    let tagger = AutoTagger::new(clients.clone(), policy, &settings);
    let create = sample_event("auto-tagger", "model-studio-system-tags.json").unwrap();
    create_resource(&config, &create).await.unwrap();
    let outcome = tagger.handle(&create).await.unwrap();
    assert_eq!(outcome.label(), "tagged");
    let w = World { emulator, clients, tagger };
    assert_eq!(w.tags(MODEL).await.get("cost-center").map(String::as_str), Some("CC-2100"));
    w
}

impl World {
    async fn handle(&self, event: &Value) -> (Outcome, CallCount) {
        self.emulator.reset_calls().unwrap();
        let outcome = self.tagger.handle(event).await.expect("no retryable error");
        (outcome, self.emulator.calls().unwrap())
    }

    async fn tags(&self, arn: &str) -> Tags {
        list_tags(&self.clients, arn).await.unwrap()
    }

    async fn delete_tag(&self, arn: &str, key: &str) {
        self.clients.sagemaker.delete_tags().resource_arn(arn).tag_keys(key).send().await.unwrap();
    }
}

fn restored(outcome: Outcome) -> Report {
    match outcome {
        Outcome::Restored(report) => report,
        other => panic!("expected restored, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

fn calls(count: &CallCount, action: &str) -> u64 {
    count.by_action.get(action).copied().unwrap_or(0)
}

#[tokio::test]
async fn deleted_protected_tag_is_put_back_once_with_one_write() {
    let w = world().await;
    w.delete_tag(MODEL, "cost-center").await;
    let event = sample_event("auto-tagger", "tamper-delete-cost-center.json").unwrap();

    let (outcome, count) = w.handle(&event).await;
    let report = restored(outcome);
    assert_eq!(report.added.get("cost-center").map(String::as_str), Some("CC-2100"));
    assert_eq!(report.origins["cost-center"], "user-profile");
    assert_eq!(report.changed_by.as_deref(), Some("arn:aws:iam::123456789012:user/intern"));
    assert_eq!(report.event_name, "DeleteTags");
    assert!(report.notified, "a restore is reported on the notification topic");
    assert_eq!(w.tags(MODEL).await.get("cost-center").map(String::as_str), Some("CC-2100"));
    assert_eq!(calls(&count, "sagemaker.AddTags"), 1);
    assert_eq!(calls(&count, "sns.Publish"), 1);
    assert_eq!(calls(&count, "sagemaker.DeleteTags"), 0);

    // EventBridge delivers at least once: the same event again finds the value right and writes nothing.
    let (again, count) = w.handle(&event).await;
    assert_eq!(again.label(), "unchanged");
    assert_eq!(calls(&count, "sagemaker.AddTags") + calls(&count, "sns.Publish"), 0, "{count:?}");
}

#[tokio::test]
async fn overwritten_protected_tag_gets_the_source_value_back_and_other_tags_stay() {
    let w = world().await;
    let before = w.tags(MODEL).await;
    let wrong = Tags::from([("cost-center".to_owned(), "CC-0000".to_owned())]);
    add_tags(&w.clients, MODEL, &wrong).await.unwrap();
    let event = sample_event("auto-tagger", "tamper-overwrite-cost-center.json").unwrap();

    let report = restored(w.handle(&event).await.0);
    assert_eq!(report.added, Tags::from([("cost-center".to_owned(), "CC-2100".to_owned())]));
    assert_eq!(w.tags(MODEL).await, before, "exactly the state before the overwrite");
}

#[tokio::test]
async fn changes_to_unprotected_keys_and_by_tagwarden_cost_no_call() {
    let w = world().await;
    for file in ["tamper-unprotected-key.json", "tamper-by-tagwarden.json"] {
        let event = sample_event("auto-tagger", file).unwrap();
        let (outcome, count) = w.handle(&event).await;
        let Outcome::Skipped(skip) = &outcome else { panic!("{file}: expected skipped, got {outcome:?}") };
        let expected = if file == "tamper-by-tagwarden.json" { "changed by Tagwarden itself" } else { "no protected" };
        assert!(skip.reason.contains(expected), "{file}: {}", skip.reason);
        assert_eq!(count.total, 0, "{file}: {count:?}");
    }
}

#[tokio::test]
async fn the_restore_write_itself_does_not_trigger_another_restore() {
    let w = world().await;
    w.delete_tag(MODEL, "cost-center").await;
    let delete = sample_event("auto-tagger", "tamper-delete-cost-center.json").unwrap();
    let report = restored(w.handle(&delete).await.0);

    // The AddTags record CloudTrail makes of that restore names the principal the function acts as.
    let own = w.clients.sts.get_caller_identity().send().await.unwrap();
    let own_arn = own.arn().unwrap().to_owned();
    let tags: Vec<Value> = report.added.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    let mut echo = delete.clone();
    echo["detail"]["eventName"] = json!("AddTags");
    echo["detail"]["requestParameters"] = json!({"resourceArn": MODEL, "tags": tags});
    echo["detail"]["userIdentity"] = json!({"type": "IAMUser", "arn": own_arn, "accountId": "123456789012"});

    let (outcome, count) = w.handle(&echo).await;
    let Outcome::Skipped(skip) = outcome else { panic!("expected skipped, got {outcome:?}") };
    assert!(skip.reason.contains("changed by Tagwarden itself"), "{}", skip.reason);
    assert_eq!(calls(&count, "sagemaker.AddTags") + calls(&count, "sagemaker.ListTags"), 0, "{count:?}");

    // Even if it were not recognised (another deployment's role), the echo finds the value right: no write.
    let mut stranger = echo.clone();
    stranger["detail"]["userIdentity"] =
        json!({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/someone-else", "accountId": "123456789012"});
    let (outcome, count) = w.handle(&stranger).await;
    assert_eq!(outcome.label(), "unchanged");
    assert_eq!(calls(&count, "sagemaker.AddTags"), 0, "{count:?}");
}

#[tokio::test]
async fn protected_value_from_a_principal_that_cannot_be_recovered_is_reported_not_guessed() {
    let w = world().await;
    let config = w.emulator.sdk_config(REGION, 1).await;
    let create = sample_event("auto-tagger", "model-assumed-role-ci.json").unwrap();
    let arn = create_resource(&config, &create).await.unwrap().unwrap();
    assert_eq!(w.tagger.handle(&create).await.unwrap().label(), "tagged");
    assert!(w.tags(&arn).await.contains_key("cost-center"), "from the CI role's tags");
    w.delete_tag(&arn, "cost-center").await;

    let mut event = sample_event("auto-tagger", "tamper-delete-cost-center.json").unwrap();
    event["detail"]["requestParameters"]["resourceArn"] = json!(arn);
    let (outcome, count) = w.handle(&event).await;
    let Outcome::Unchanged(report) = outcome else { panic!("expected unchanged, got {outcome:?}") };
    assert_eq!(report.missing_required, ["cost-center"]);
    assert!(report.warnings.iter().any(|w| w.contains("no source has a value")), "{:?}", report.warnings);
    assert!(report.notified, "the gap is reported on the notification topic");
    assert_eq!(calls(&count, "sagemaker.AddTags"), 0);
}
