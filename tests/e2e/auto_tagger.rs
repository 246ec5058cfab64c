//! The auto-tagger's real handler code against the local emulator: seed the demo world, create the
//! resource an event announces, replay the event, read the tags back and count the AWS calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::Value;
use tagwarden::identity::{CreatorKind, Via};
use tagwarden::tagging::{Report, TaggerSettings, Tags};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::sample_event;
use tagwarden_e2e::tagger::TaggerWorld as World;
use tagwarden_e2e::world::create_resource;

async fn world() -> World {
    World::start().await.unwrap()
}

fn tagged(outcome: Outcome) -> Report {
    match outcome {
        Outcome::Tagged(report) => report,
        other => panic!("expected tagged, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

fn tag<'a>(tags: &'a Tags, key: &str) -> Option<&'a str> {
    tags.get(key).map(String::as_str)
}

#[tokio::test]
async fn studio_user_via_source_identity_gets_profile_then_domain_tags() {
    let w = world().await;
    let report = tagged(w.replay("training-job-studio-source-identity.json").await.unwrap().0);
    assert_eq!(report.creator.kind, CreatorKind::StudioUserProfile);
    assert_eq!(report.creator.name, "alice");
    let tags = w.tags(&report.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "cost-center"), Some("CC-2100"));
    assert_eq!(tag(&tags, "team"), Some("marketing-analytics"));
    assert_eq!(tag(&tags, "environment"), Some("production"), "alice has none: the domain's");
    assert_eq!(tag(&tags, "project"), Some("churn"), "the caller's own tag stays");
    assert_eq!(tag(&tags, "created-by"), Some("alice"));
    assert_eq!(report.origins["cost-center"], "user-profile");
    assert_eq!(report.origins["environment"], "domain");
    assert!(report.missing_required.is_empty());
}

#[tokio::test]
async fn iam_user_gets_user_tags_a_fixed_environment_and_a_non_compliance_notice() {
    let w = world().await;
    let report = tagged(w.replay("notebook-instance-iam-user.json").await.unwrap().0);
    let tags = w.tags(&report.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "team"), Some("growth"), "from the IAM user's tags");
    assert_eq!(tag(&tags, "environment"), Some("dev"), "Environment=DEV fixed");
    assert_eq!(tag(&tags, "Environment"), Some("DEV"), "drop_aliased_keys is off");
    assert_eq!(report.missing_required, ["cost-center"]);
    assert!(report.notified, "the gap went to the non-compliance topic");
}

#[tokio::test]
async fn ci_role_tags_reach_a_lower_cased_endpoint_arn_and_a_protected_key_is_overwritten() {
    let w = world().await;
    let report = tagged(w.replay("endpoint-assumed-role-ci.json").await.unwrap().0);
    assert!(report.resource_arn.ends_with(":endpoint/fraudscorer"));
    assert_eq!(report.creator.name, "github-actions-run-4711");
    let tags = w.tags(&report.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "cost-center"), Some("CC-4000"));
    assert_eq!(tag(&tags, "created-by"), Some("github-actions-run-4711"));
}

#[tokio::test]
async fn a_protected_key_with_no_source_stays_missing_and_is_notified() {
    let w = world().await;
    let console = tagged(w.replay("notebook-instance-assumed-role-console.json").await.unwrap().0);
    let tags = w.tags(&console.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "cost-center"), None, "the caller's CC-9999 is not the cost center");
    assert_eq!(console.removed, ["cost-center"]);
    assert_eq!(console.missing_required, ["cost-center"]);
    assert!(console.notified, "the gap went to the non-compliance topic");
    assert!(console.warnings.iter().any(|w| w.contains("CC-9999") && w.contains("protected")), "{console:?}");
    assert_eq!(tag(&tags, "team"), Some("fraud-detection"), "an unprotected key keeps the caller's value");
}

#[tokio::test]
async fn identity_center_user_is_recorded_and_defaults_fill_what_nobody_set() {
    let w = world().await;
    let report = tagged(w.replay("processing-job-identity-center.json").await.unwrap().0);
    assert_eq!(report.creator.kind, CreatorKind::IdentityCenter);
    let tags = w.tags(&report.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "created-by"), Some("carol@example.com"));
    assert_eq!(tag(&tags, "environment"), Some("dev"));
    assert_eq!(report.missing_required, ["cost-center", "team"]);
}

#[tokio::test]
async fn instance_role_is_named_by_role_not_by_instance_id() {
    let w = world().await;
    let report = tagged(w.replay("transform-job-ec2-instance-role.json").await.unwrap().0);
    assert_eq!(report.creator.name, "batch-runner");
    let tags = w.tags(&report.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "cost-center"), Some("CC-5000"));
    assert_eq!(tag(&tags, "team"), Some("data-engineering"));
}

/// The tuning child event with its training job created; the job's ARN.
async fn tuning_child(w: &World, event: &Value) -> String {
    create_resource(&w.config, event).await.expect("create resource").expect("an ARN")
}

#[tokio::test]
async fn a_real_tuning_child_inherits_its_parents_tags() {
    let w = world().await;
    let parent = tagged(w.replay("hyper-parameter-tuning-job-studio.json").await.unwrap().0);
    assert_eq!(parent.creator.name, "bob");
    let event = sample_event("auto-tagger", "training-job-tuning-child.json").unwrap();
    let child_arn = tuning_child(&w, &event).await;
    w.emulator.launched_by(&child_arn, &parent.resource_arn).unwrap();
    w.emulator.reset_calls().unwrap();
    let child = tagged(w.tagger.handle(&event).await.unwrap());
    let calls = w.emulator.calls().unwrap();
    assert_eq!(child.creator.kind, CreatorKind::Service);
    assert_eq!(child.parent_arn.as_deref(), Some(parent.resource_arn.as_str()));
    let tags = w.tags(&child.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "cost-center"), Some("CC-3300"));
    assert_eq!(tag(&tags, "environment"), Some("staging"), "bob's Staging, canonical case");
    assert_eq!(tag(&tags, "created-by"), Some("bob"));
    assert_eq!(child.origins["cost-center"], "parent");
    assert_eq!(calls.by_action.get("sagemaker.DescribeTrainingJob"), Some(&1), "{calls:?}");
    assert_eq!(calls.by_action.get("sagemaker.DescribeHyperParameterTuningJob"), None, "{calls:?}");
}

#[tokio::test]
async fn a_job_named_like_a_tuning_child_but_made_by_a_person_gets_its_creators_tags() {
    let w = world().await;
    let parent = tagged(w.replay("hyper-parameter-tuning-job-studio.json").await.unwrap().0);
    let mut event = sample_event("auto-tagger", "training-job-tuning-child.json").unwrap();
    let intern = sample_event("auto-tagger", "notebook-instance-iam-user.json").unwrap();
    event["detail"]["userIdentity"] = intern["detail"]["userIdentity"].clone();
    event["detail"]["eventType"] = "AwsApiCall".into();
    event["detail"]["requestParameters"]["trainingJobName"] = "fraud-hpo-1127-001-deadbeef".into();
    event["detail"]["responseElements"]["trainingJobArn"] =
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/fraud-hpo-1127-001-deadbeef".into();
    let (outcome, calls) = w.replay_event(&event).await.unwrap();
    let report = tagged(outcome);
    assert_eq!((report.creator.kind, report.creator.name.as_str()), (CreatorKind::IamUser, "intern"));
    assert_eq!(report.parent_arn, None, "no parent for a person's job, whatever its name");
    let tags = w.tags(&report.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "team"), Some("growth"), "the intern's own team");
    assert_eq!(tag(&tags, "created-by"), Some("intern"));
    assert_ne!(tag(&tags, "cost-center"), Some("CC-3300"), "the fraud team does not pay");
    assert_eq!(report.missing_required, ["cost-center"], "the intern has no cost center");
    assert!(!tags.values().any(|v| v == &parent.resource_arn));
    let describes: Vec<_> = calls.by_action.keys().filter(|a| a.contains(".Describe")).collect();
    assert!(describes.is_empty(), "no parent lookup at all: {calls:?}");
}

#[tokio::test]
async fn a_service_event_for_a_job_whose_description_names_no_launcher_gets_no_parent() {
    let w = world().await;
    tagged(w.replay("hyper-parameter-tuning-job-studio.json").await.unwrap().0);
    let (outcome, calls) = w.replay("training-job-tuning-child.json").await.unwrap();
    let Outcome::Skipped(skip) = outcome else { panic!("expected skipped, got {outcome:?}") };
    assert!(skip.reason.contains("no parent"), "{}", skip.reason);
    assert_eq!(calls.by_action.get("sagemaker.DescribeTrainingJob"), Some(&1), "{calls:?}");
}

#[tokio::test]
async fn a_service_started_job_without_a_parent_is_skipped() {
    let w = world().await;
    let (outcome, _) = w.replay("training-job-tuning-child.json").await.unwrap();
    let Outcome::Skipped(skip) = outcome else { panic!("expected skipped, got {outcome:?}") };
    assert!(skip.reason.contains("no parent"), "{}", skip.reason);
}

#[tokio::test]
async fn pipeline_step_jobs_inherit_from_their_pipeline() {
    let w = world().await;
    let pipeline = tagged(w.replay("pipeline-lambda-role.json").await.unwrap().0);
    assert_eq!(pipeline.creator.name, "nightly-retrain");
    let step = tagged(w.replay("processing-job-pipeline-step.json").await.unwrap().0);
    assert_eq!(step.parent_arn.as_deref(), Some(pipeline.resource_arn.as_str()));
    let tags = w.tags(&step.resource_arn).await.unwrap();
    assert_eq!(tag(&tags, "cost-center"), Some("CC-6000"));
    assert_eq!(tag(&tags, "sagemaker:pipeline-step-name"), Some("preprocess"), "system tags untouched");
}

#[tokio::test]
async fn studio_apps_spaces_and_tagged_models_belong_to_their_user_profile() {
    let w = world().await;
    let app = tagged(w.replay("app-studio-user-profile.json").await.unwrap().0);
    assert_eq!((app.creator.kind, app.creator.name.as_str()), (CreatorKind::StudioUserProfile, "alice"));
    assert_eq!(tag(&w.tags(&app.resource_arn).await.unwrap(), "cost-center"), Some("CC-2100"));

    let space = tagged(w.replay("space-studio-owner.json").await.unwrap().0);
    assert_eq!(space.creator.name, "bob");
    assert_eq!(tag(&w.tags(&space.resource_arn).await.unwrap(), "team"), Some("fraud-detection"));

    let model = tagged(w.replay("model-studio-system-tags.json").await.unwrap().0);
    assert_eq!((model.creator.name.as_str(), model.creator.via), ("alice", Via::StudioTag));
    assert_eq!(tag(&w.tags(&model.resource_arn).await.unwrap(), "cost-center"), Some("CC-2100"));

    let profile = tagged(w.replay("user-profile-iam-user-admin.json").await.unwrap().0);
    assert_eq!(profile.creator.name, "admin");
    assert_eq!(tag(&w.tags(&profile.resource_arn).await.unwrap(), "cost-center"), Some("CC-1000"), "the domain's");
}

#[tokio::test]
async fn root_created_domain_gets_defaults_and_the_root_creator() {
    let w = world().await;
    let report = tagged(w.replay("domain-root.json").await.unwrap().0);
    assert_eq!(report.creator.kind, CreatorKind::Root);
    assert_eq!(tag(&w.tags(&report.resource_arn).await.unwrap(), "created-by"), Some("root"));
}

#[tokio::test]
async fn events_that_are_not_ours_are_skipped_without_any_aws_call() {
    let w = world().await;
    for file in [
        "app-amplify.json",
        "training-job-failed-call.json",
        "endpoint-delete-not-a-create.json",
        "model-package-versioned.json",
    ] {
        let (outcome, calls) = w.replay(file).await.unwrap();
        assert_eq!(outcome.label(), "skipped", "{file}");
        assert_eq!(calls.total, 0, "{file}: {calls:?}");
    }
}

#[tokio::test]
async fn warm_path_costs_two_calls_whatever_the_number_of_resources() {
    let w = world().await;
    let (_, cold) = w.replay("endpoint-config-assumed-role-ci.json").await.unwrap();
    assert!(cold.total > 2, "cold path reads the role's tags: {cold:?}");
    let (_, warm_small) = w.replay("model-assumed-role-ci.json").await.unwrap();
    // Fill the account: the warm path must not list resource types.
    for i in 0..150 {
        let mut event = sample_event("auto-tagger", "model-assumed-role-ci.json").unwrap();
        let name = format!("filler-model-{i}");
        event["detail"]["requestParameters"]["modelName"] = name.clone().into();
        event["detail"]["responseElements"]["modelArn"] =
            format!("arn:aws:sagemaker:us-east-1:123456789012:model/{name}").into();
        create_resource(&w.config, &event).await.unwrap();
    }
    let (outcome, warm_large) = w.replay("model-package-group-assumed-role-ci.json").await.unwrap();
    assert_eq!(outcome.label(), "tagged");
    assert_eq!(warm_small.total, 2, "{warm_small:?}");
    assert_eq!(warm_large.by_action, warm_small.by_action, "same calls with 150 more models");
    assert_eq!(warm_large.by_action.get("sagemaker.ListTags"), Some(&1));
    assert_eq!(warm_large.by_action.get("sagemaker.AddTags"), Some(&1));
}

#[tokio::test]
async fn ten_deliveries_of_one_event_write_once_and_each_replay_costs_one_call() {
    let w = world().await;
    let event = sample_event("auto-tagger", "endpoint-assumed-role-ci.json").unwrap();
    let (first, _) = w.replay_event(&event).await.unwrap();
    assert_eq!(first.label(), "tagged");
    let after_first = w.tags("arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraudscorer").await.unwrap();
    w.emulator.reset_calls().unwrap();
    for _ in 0..9 {
        let again = w.tagger.handle(&event).await.unwrap();
        assert_eq!(again.label(), "unchanged");
    }
    let calls = w.emulator.calls().unwrap();
    assert_eq!(calls.by_action.get("sagemaker.ListTags"), Some(&9));
    assert_eq!(calls.total, 9, "no write after the first delivery: {calls:?}");
    assert_eq!(w.tags("arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraudscorer").await.unwrap(), after_first);
}

#[tokio::test]
async fn events_from_another_region_are_handled_by_that_regions_function_only() {
    let w = world().await;
    let event = sample_event("auto-tagger", "endpoint-iam-user-aws-docs-sample.json").unwrap();
    let (outcome, _) = w.replay_event(&event).await.unwrap();
    let Outcome::Skipped(skip) = outcome else { panic!("expected skipped, got {outcome:?}") };
    assert!(skip.reason.contains("us-west-2"), "{}", skip.reason);

    let west = w.emulator.sdk_config("us-west-2", 1).await;
    let policy = Arc::new(Policy::example().unwrap());
    let tagger = AutoTagger::new(Clients::new(&west), policy, &TaggerSettings::default());
    let report = tagged(tagger.handle(&event).await.unwrap());
    assert_eq!(report.creator.name, "intern");
    assert!(report.resource_arn.ends_with("endpoint/exampleendpoint"));
}

#[tokio::test]
async fn when_aws_is_unreachable_the_event_is_retried_not_dropped() {
    let w = world().await;
    let event = sample_event("auto-tagger", "model-assumed-role-ci.json").unwrap();
    create_resource(&w.config, &event).await.unwrap();
    let World { emulator, tagger, .. } = w;
    drop(emulator);
    let err = tagger.handle(&event).await.unwrap_err();
    assert!(err.0.is_retryable(), "{err}");
}
