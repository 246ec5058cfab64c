//! Notices about resources with long names still reach the notification topic: SNS refuses a `Subject` of
//! 100 characters or more, and a refused publish is only logged, so a cut that is one too long drops the notice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_config::SdkConfig;
use tagwarden::tagging::TaggerSettings;
use tagwarden::tagging::apply::list_tags;
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, sample_event};

/// The sample events' model, renamed to the longest name SageMaker allows (63 characters).
const SHORT_NAME: &str = "alice-quick-deploy";

#[tokio::test]
async fn the_restore_notice_about_a_model_with_a_63_character_name_is_published() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config: SdkConfig = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.expect("seed");
    let clients = Clients::new(&config);
    let tagger = AutoTagger::new(clients.clone(), Arc::new(Policy::example().unwrap()), &TaggerSettings::default());
    let long_name = format!("alice-{}", "x".repeat(57));
    assert_eq!(long_name.len(), 63);
    let renamed = |file: &str| {
        let text = sample_event("auto-tagger", file).unwrap().to_string().replace(SHORT_NAME, &long_name);
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let create = renamed("model-studio-system-tags.json");
    create_resource(&config, &create).await.unwrap();
    assert_eq!(tagger.handle(&create).await.unwrap().label(), "tagged");
    let arn = format!("arn:aws:sagemaker:{REGION}:123456789012:model/{long_name}");
    clients.sagemaker.delete_tags().resource_arn(&arn).tag_keys("cost-center").send().await.unwrap();

    emulator.reset_calls().unwrap();
    let outcome = tagger.handle(&renamed("tamper-delete-cost-center.json")).await.expect("no retryable error");
    let Outcome::Restored(report) = outcome else { panic!("expected restored, got {}", outcome.label()) };
    assert!(report.notified, "the notice about {long_name} reached the topic");
    assert_eq!(emulator.calls().unwrap().by_action.get("sns.Publish").copied(), Some(1));
    // moto accepts up to 100 characters; SNS itself wants fewer than 100, and ASCII text.
    let subjects = emulator.sns_subjects().unwrap();
    let subject = subjects.iter().find(|s| s.contains("restored") || s.contains("alice-xxx")).expect("the notice");
    assert!(subject.len() < 100 && subject.chars().count() < 100, "{} bytes: {subject}", subject.len());
    assert!(subject.is_ascii() && subject.starts_with("Tagwarden: protected tags of model alice-xxx"), "{subject}");
    assert_eq!(list_tags(&clients, &arn).await.unwrap().get("cost-center").map(String::as_str), Some("CC-2100"));
}
