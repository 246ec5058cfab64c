//! Identity evidence a caller cannot write (issue "trust the tags", item 2), against the emulator: a
//! `sagemaker:` tag in a person's create request, a chosen `sourceIdentity` and a job dressed as a
//! pipeline step each name nobody else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use tagwarden::Outcome;
use tagwarden::identity::{CreatorKind, Via};
use tagwarden::tagging::{Report, Tags};
use tagwarden_e2e::sample_event;
use tagwarden_e2e::tagger::TaggerWorld;
use tagwarden_e2e::world::create_resource;

/// The demo world's auto-tagger; [`replay`] returns the report and the resource's tags.
async fn world() -> TaggerWorld {
    TaggerWorld::start().await.unwrap()
}

/// Replays an event that must be tagged: its report and the resource's tags.
async fn replay(w: &TaggerWorld, event: &Value) -> (Report, Tags) {
    let report = match w.replay_event(event).await.unwrap().0 {
        Outcome::Tagged(report) => report,
        other => panic!("expected tagged, got {}", serde_json::to_string_pretty(&other).unwrap()),
    };
    let tags = w.tags(&report.resource_arn).await.unwrap();
    (report, tags)
}

/// Handles an event whose resource the test already created: its report and the resource's tags.
async fn replay_created(w: &TaggerWorld, event: &Value) -> (Report, Tags) {
    let report = match w.tagger.handle(event).await.unwrap() {
        Outcome::Tagged(report) => report,
        other => panic!("expected tagged, got {}", serde_json::to_string_pretty(&other).unwrap()),
    };
    let tags = w.tags(&report.resource_arn).await.unwrap();
    (report, tags)
}

/// A sample event with every `from` in its text replaced by `to` (role names and ARNs).
fn sample_with(file: &str, replacements: &[(&str, &str)]) -> Value {
    let mut text = serde_json::to_string(&sample_event("auto-tagger", file).unwrap()).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "{file} contains {from}");
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

fn tag<'a>(tags: &'a Tags, key: &str) -> Option<&'a str> {
    tags.get(key).map(String::as_str)
}

fn warned(report: &Report, needle: &str) -> bool {
    report.warnings.iter().any(|w| w.contains(needle))
}

/// alice's model (`model-studio-system-tags.json`, her profile tag in the request), made by another role.
fn alices_model_made_by(role_path_and_name: &str, role_name: &str) -> Value {
    sample_with(
        "model-studio-system-tags.json",
        &[
            ("service-role/AmazonSageMaker-ExecutionRole-alice", role_path_and_name),
            ("AmazonSageMaker-ExecutionRole-alice", role_name),
        ],
    )
}

#[tokio::test]
async fn a_studio_profile_tag_in_the_request_is_honoured_on_that_profiles_own_role() {
    let w = world().await;
    let event = sample_event("auto-tagger", "model-studio-system-tags.json").unwrap();
    let (report, tags) = replay(&w, &event).await;
    assert_eq!((report.creator.name.as_str(), report.creator.via), ("alice", Via::StudioTag));
    assert_eq!(tag(&tags, "cost-center"), Some("CC-2100"), "alice's own role confirms her profile");
}

#[tokio::test]
async fn a_caller_supplied_studio_profile_tag_on_the_shared_domain_role_picks_nobodys_profile() {
    let w = world().await;
    // bob's Studio session (the domain's shared role) creates a model naming alice's profile.
    let shared = "AmazonSageMaker-ExecutionRole-ml-platform";
    let event = alices_model_made_by(&format!("service-role/{shared}"), shared);
    let (report, tags) = replay(&w, &event).await;
    assert_eq!((report.creator.kind, report.creator.via), (CreatorKind::AssumedRole, Via::RoleName));
    assert_eq!(report.creator.name, shared);
    assert_eq!(tag(&tags, "cost-center"), Some("CC-1000"), "the domain pays, not alice: {tags:?}");
    assert_eq!(report.origins["cost-center"], "domain");
    assert!(warned(&report, "sagemaker:user-profile-arn"), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_caller_supplied_studio_profile_tag_outside_studio_picks_no_profile_and_no_domain() {
    let w = world().await;
    let event = alices_model_made_by("ci-deployer", "ci-deployer");
    let (report, tags) = replay(&w, &event).await;
    assert_eq!(report.creator.name, "ci-deployer");
    assert_eq!(tag(&tags, "cost-center"), Some("CC-4000"), "the role's own cost center: {tags:?}");
    assert_eq!(tag(&tags, "team"), Some("platform"));
    assert!(!report.origins.values().any(|o| o == "user-profile" || o == "domain"), "{:?}", report.origins);
    assert!(warned(&report, "sagemaker:domain-arn"), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_source_identity_on_a_role_that_is_not_a_studio_role_names_the_role() {
    let w = world().await;
    // A CI role whose trust policy allows sts:SetSourceIdentity, session "SageMaker", sourceIdentity alice.
    let event = sample_with(
        "training-job-studio-source-identity.json",
        &[
            ("service-role/AmazonSageMaker-ExecutionRole-ml-platform", "ci-deployer"),
            ("AmazonSageMaker-ExecutionRole-ml-platform", "ci-deployer"),
        ],
    );
    let (report, tags) = replay(&w, &event).await;
    assert_eq!((report.creator.kind, report.creator.name.as_str()), (CreatorKind::AssumedRole, "ci-deployer"));
    assert_eq!(report.creator.via, Via::RoleName);
    assert_eq!(tag(&tags, "cost-center"), Some("CC-4000"), "not alice's CC-2100: {tags:?}");
    assert_eq!(tag(&tags, "created-by"), Some("ci-deployer"));
    assert!(warned(&report, "sourceIdentity \"alice\" not used"), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_job_a_person_tags_as_a_pipeline_step_does_not_inherit_from_the_pipeline() {
    let w = world().await;
    replay(&w, &sample_event("auto-tagger", "pipeline-lambda-role.json").unwrap()).await;
    // The same request, made by the CI role itself (no `invokedBy`): the pipeline tag is its claim.
    let mut event = sample_with(
        "processing-job-pipeline-step.json",
        &[("assumed-role/nightly-retrain", "assumed-role/ci-deployer"), ("role/nightly-retrain", "role/ci-deployer")],
    );
    let identity = event.pointer_mut("/detail/userIdentity").unwrap().as_object_mut().unwrap();
    identity.remove("invokedBy");
    identity["sessionContext"]["sessionIssuer"]["userName"] = "ci-deployer".into();
    let (report, tags) = replay(&w, &event).await;
    assert_eq!(report.parent_arn, None);
    assert_eq!(tag(&tags, "cost-center"), Some("CC-4000"), "its own role's, not the pipeline's CC-6000");
    assert!(warned(&report, "sagemaker:pipeline-execution-arn came with the create request"), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_step_started_under_another_role_than_the_pipelines_does_not_inherit_from_it() {
    let w = world().await;
    replay(&w, &sample_event("auto-tagger", "pipeline-lambda-role.json").unwrap()).await;
    let mut event = sample_with(
        "processing-job-pipeline-step.json",
        &[("assumed-role/nightly-retrain", "assumed-role/ci-deployer"), ("role/nightly-retrain", "role/ci-deployer")],
    );
    event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] = "ci-deployer".into();
    let (report, _) = replay(&w, &event).await;
    assert_eq!(report.parent_arn, None);
    assert!(warned(&report, "is not the pipeline's own role"), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_processing_job_sagemaker_started_for_a_training_job_inherits_from_the_job_its_description_names() {
    let w = world().await;
    let (parent, _) =
        replay(&w, &sample_event("auto-tagger", "training-job-studio-source-identity.json").unwrap()).await;
    // SageMaker runs a training job's rule evaluations as processing jobs under the job's role session.
    let mut event = sample_event("auto-tagger", "processing-job-pipeline-step.json").unwrap();
    event["detail"]["requestParameters"].as_object_mut().unwrap().remove("tags");
    create_resource(&w.config, &event).await.expect("create resource");
    let child = event["detail"]["responseElements"]["processingJobArn"].as_str().unwrap().to_owned();
    w.emulator.launched_by(&child, &parent.resource_arn).unwrap();
    let (report, tags) = replay_created(&w, &event).await;
    assert_eq!(report.parent_arn.as_deref(), Some(parent.resource_arn.as_str()));
    assert_eq!(tag(&tags, "cost-center"), Some("CC-2100"), "alice's job pays, not the role's CC-6000: {tags:?}");
    assert_eq!(tag(&tags, "created-by"), Some("alice"));
}

#[tokio::test]
async fn a_contested_space_tag_does_not_cost_the_profile_tag_sagemaker_wrote_itself() {
    let w = world().await;
    let shared = "AmazonSageMaker-ExecutionRole-ml-platform";
    let mut event = alices_model_made_by(&format!("service-role/{shared}"), shared);
    // The request carries only a space claim; the profile and domain tags are on the resource, not in the
    // request: SageMaker wrote them.
    let space = "arn:aws:sagemaker:us-east-1:123456789012:space/d-ml-platform/team-space";
    event["detail"]["requestParameters"]["tags"] = serde_json::json!([{"key": "sagemaker:space-arn", "value": space}]);
    create_resource(&w.config, &event).await.unwrap();
    let model = event["detail"]["responseElements"]["modelArn"].as_str().unwrap();
    let profile = "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml-platform/alice";
    let tag = aws_sdk_sagemaker::types::Tag::builder().key("sagemaker:user-profile-arn").value(profile).build();
    w.clients.sagemaker.add_tags().resource_arn(model).tags(tag).send().await.unwrap();
    let (report, tags) = replay_created(&w, &event).await;
    assert_eq!((report.creator.name.as_str(), report.creator.via), ("alice", Via::StudioTag), "{:?}", report.warnings);
    assert_eq!(tags.get("cost-center").map(String::as_str), Some("CC-2100"));
    assert!(warned(&report, "sagemaker:space-arn"), "{:?}", report.warnings);
}
