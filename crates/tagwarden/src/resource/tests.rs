use std::collections::BTreeSet;

use super::*;

#[test]
fn every_facts_table_event_name_has_a_kind() {
    let names = "CreateTrainingJob CreateProcessingJob CreateTransformJob CreateHyperParameterTuningJob \
        CreateNotebookInstance CreateEndpoint CreateEndpointConfig CreateModel CreatePipeline CreateDomain \
        CreateUserProfile CreateSpace CreateApp CreateLabelingJob CreateCompilationJob CreateAutoMLJob \
        CreateAutoMLJobV2 CreateModelPackage CreateModelPackageGroup CreateInferenceComponent CreateExperiment";
    assert_eq!(names.split_whitespace().count(), 21);
    for name in names.split_whitespace() {
        assert!(kind_for_event(name).is_some(), "{name} missing from KINDS");
    }
}

#[test]
fn event_names_are_unique_and_arn_fields_end_in_arn_or_are_arn() {
    let names = create_event_names();
    assert_eq!(names.len(), KINDS.len());
    for kind in KINDS {
        let field = kind.arn_field;
        let ok = if kind.arn_from_name { field.is_empty() } else { field == "arn" || field.ends_with("Arn") };
        assert!(ok, "{}: {field:?}", kind.create_event);
    }
    let built: Vec<_> = KINDS.iter().filter(|k| k.arn_from_name).map(|k| k.arn_type).collect();
    assert_eq!(built, ["edge-packaging-job"]);
}

#[test]
fn every_sdk_create_call_with_tags_is_handled_or_not_handled_with_a_reason_exactly_once() {
    assert_eq!(SDK_CREATE_CALLS_WITH_TAGS.len(), 64);
    for call in SDK_CREATE_CALLS_WITH_TAGS {
        let handled = KINDS.iter().filter(|k| k.create_event == *call).count();
        let not = NOT_HANDLED.iter().filter(|n| n.create_event == *call).count();
        assert_eq!(handled + not, 1, "{call}: handled {handled} times, not handled {not} times");
    }
    for name in KINDS.iter().map(|k| k.create_event).chain(NOT_HANDLED.iter().map(|n| n.create_event)) {
        assert!(SDK_CREATE_CALLS_WITH_TAGS.contains(&name), "{name} is not an SDK create call with tags");
    }
    assert!(NOT_HANDLED.iter().all(|n| n.reason.starts_with("no cost of its own")));
}

#[test]
fn cost_bearing_kinds_of_the_issue_are_all_handled() {
    let names = "CreateMlflowTrackingServer CreateMlflowApp CreateTrainingPlan CreateJob CreateTrainingSession \
        CreateOptimizationJob CreateInferenceRecommendationsJob CreateInferenceExperiment CreatePartnerApp \
        CreateFlowDefinition CreateAIBenchmarkJob CreateAIRecommendationJob CreateEdgePackagingJob";
    for name in names.split_whitespace() {
        assert!(kind_for_event(name).is_some(), "{name} missing from KINDS");
    }
    assert_eq!(kind_for_event("CreatePartnerApp").unwrap().arn_field, "arn");
    assert_eq!(kind_for_event("CreateInferenceRecommendationsJob").unwrap().arn_field, "jobArn");
    assert_eq!(
        Listing::InferenceExperiments.arn_lookup(),
        Some("sagemaker:DescribeInferenceExperiment"),
        "its summaries carry no ARN"
    );
}

#[test]
fn every_listing_walks_exactly_one_kind_and_rows_of_one_kind_agree_on_all_but_the_event() {
    let kinds = distinct_kinds();
    let listings: BTreeSet<Listing> = kinds.iter().map(|k| k.listing).collect();
    assert_eq!(listings.len(), kinds.len(), "two kinds share a listing");
    assert_eq!(listings, Listing::ALL.iter().copied().collect(), "a listing no kind uses");
    for row in KINDS {
        let first = kind_for_arn_type(row.arn_type).unwrap();
        assert_eq!(ResourceKind { create_event: first.create_event, ..*row }, *first, "{}", row.arn_type);
    }
}

#[test]
fn every_role_lookup_and_stop_belongs_to_a_kind() {
    let roles: BTreeSet<RoleLookup> = KINDS.iter().filter_map(|k| k.role).collect();
    assert_eq!(roles, RoleLookup::ALL.iter().copied().collect());
    let stops: BTreeSet<Stop> = KINDS.iter().filter_map(|k| k.stop).collect();
    assert_eq!(stops, Stop::ALL.iter().copied().collect());
    let jobs: Vec<_> = Stop::ALL.iter().filter(|s| s.is_job()).flat_map(|s| stopped_by(*s)).collect();
    assert_eq!(jobs.len(), 15, "4 of the original jobs, 10 of issue 15's job kinds, pipelines");
}

#[test]
fn iam_actions_name_the_operation_they_grant() {
    for listing in Listing::ALL {
        assert_eq!(listing.iam_action(), format!("sagemaker:{}", listing.operation()));
        assert!(listing.operation().starts_with("List"));
    }
    assert_eq!(RoleLookup::Model.iam_action(), "sagemaker:DescribeModel");
    assert_eq!(Stop::EndpointCapacity.undo_iam_action(), Some("sagemaker:UpdateEndpointWeightsAndCapacities"));
    let app: Vec<_> = APP.sweep_iam_actions().collect();
    assert_eq!(app, ["sagemaker:ListApps", "sagemaker:ListDomains"]);
}

#[test]
fn only_versioned_model_packages_are_refused() {
    let package = kind_for_arn_type("model-package").unwrap();
    let versioned = SageMakerArn::parse("arn:aws:sagemaker:r:1:model-package/group/3").unwrap();
    let unversioned = SageMakerArn::parse("arn:aws:sagemaker:r:1:model-package/pkg").unwrap();
    assert_eq!(package.refusal(&versioned), Some(Refusal::VersionedPackage));
    assert_eq!(package.refusal(&unversioned), None);
    assert_eq!(APP.refusal(&versioned), None);
    let ending = Refusal::Ending { arn_type: "app", status: EndingStatus::parse("Deleted").unwrap() };
    assert_eq!(ending.to_string(), "app is Deleted");
}

#[test]
fn parses_multi_segment_arns_and_rebuilds_them() {
    let arn = "arn:aws:sagemaker:us-east-1:123456789012:app/d-x/alice/jupyterlab/default";
    let parsed = SageMakerArn::parse(arn).unwrap();
    assert_eq!(parsed.resource_type, "app");
    assert_eq!(parsed.path, "d-x/alice/jupyterlab/default");
    assert_eq!(parsed.name(), "default");
    assert_eq!(parsed.domain_id(&APP), Some("d-x"));
    assert_eq!(parsed.to_string(), arn);
    assert_eq!(parsed.scope().domain("d-x").to_string(), "arn:aws:sagemaker:us-east-1:123456789012:domain/d-x");
}

#[test]
fn app_arns_name_the_space_when_there_is_one_and_keep_the_partition() {
    let scope = ArnScope::new("cn-north-1", "123456789012");
    let owner = AppOwner::of(Some("alice"), Some("team-space")).unwrap();
    assert_eq!(
        scope.app("d-x", owner, "JupyterLab", "default").to_string(),
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:app/d-x/team-space/jupyterlab/default"
    );
    assert_eq!(
        scope.app_owner("d-x", owner).to_string(),
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:space/d-x/team-space"
    );
    let profile = AppOwner::of(Some("alice"), None).unwrap();
    assert_eq!(scope.app_owner("d-x", profile).resource_type, "user-profile");
    assert_eq!(AppOwner::of(None, None), None);
    assert_eq!(ArnScope::new("us-gov-west-1", "1").partition, "aws-us-gov");
    assert_eq!(ArnScope::new("eu-west-1", "1").partition, "aws");
}

#[test]
fn rejects_arns_of_other_services_and_truncated_arns() {
    assert!(SageMakerArn::parse("arn:aws:amplify:us-east-1:1:apps/x").is_none());
    assert!(SageMakerArn::parse("arn:aws:sagemaker:us-east-1:1:model").is_none());
    assert!(SageMakerArn::parse("arn:aws:sagemaker::1:model/x").is_none());
    assert!(SageMakerArn::parse("not an arn").is_none());
}
