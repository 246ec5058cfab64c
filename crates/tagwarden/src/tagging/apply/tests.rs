use super::*;
use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::operation::add_tags::AddTagsOutput;
use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
use aws_sdk_sagemaker::types::Tag;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::json;

const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb";

fn job(arn_type: &str, name: &str, identity: Option<crate::event::UserIdentity>) -> Subject {
    let kind = crate::resource::kind_for_arn_type(arn_type).unwrap();
    let arn = format!("arn:aws:sagemaker:us-east-1:123456789012:{arn_type}/{name}");
    let mut subject = Subject::for_resource(kind, crate::resource::SageMakerArn::parse(&arn).unwrap(), None);
    if let Some(identity) = identity {
        subject.creator = Creator::from_identity(Some(&identity));
        subject.provenance = Provenance::of_call(Some(&identity));
    }
    subject
}

fn identity(kind: &str, invoked_by: Option<&str>) -> Option<crate::event::UserIdentity> {
    Some(crate::event::cloudtrail::UserIdentity {
        kind: Some(kind.into()),
        invoked_by: invoked_by.map(Into::into),
        user_name: Some("intern".into()),
        arn: Some("arn:aws:iam::123456789012:user/intern".into()),
        ..Default::default()
    })
}

#[test]
fn only_sagemaker_itself_or_a_record_without_an_event_may_have_launched_a_job() {
    let child = "fraud-hpo-1127-001-deadbeef";
    let sagemaker = || identity("AWSService", Some("sagemaker.amazonaws.com"));
    assert!(may_have_a_launcher(&job("training-job", child, sagemaker())));
    assert!(may_have_a_launcher(&job("training-job", "automl-churn-dpp0-1-abc", sagemaker())), "any name");
    assert!(may_have_a_launcher(&job("processing-job", "automl-churn-dpp0-abc", sagemaker())));
    assert!(may_have_a_launcher(&job("transform-job", "automl-churn-rpb-abc", sagemaker())));
    let pipeline_role = identity("AssumedRole", Some("sagemaker.amazonaws.com"));
    assert!(may_have_a_launcher(&job("training-job", child, pipeline_role)), "a role session SageMaker used");
    assert!(!may_have_a_launcher(&job("training-job", child, identity("IAMUser", None))), "a person, any name");
    let lambda = identity("AWSService", Some("lambda.amazonaws.com"));
    assert!(!may_have_a_launcher(&job("training-job", child, lambda)));
    assert!(!may_have_a_launcher(&job("training-job", child, identity("AWSService", None))));
    assert!(may_have_a_launcher(&job("training-job", child, None)), "no event: then described");
    assert!(!may_have_a_launcher(&job("training-job", "churn-xgb", None)));
    assert!(!may_have_a_launcher(&job("processing-job", child, None)), "no name shape to go by");
    assert!(!may_have_a_launcher(&job("training-job", child, identity("SomethingNew", None))));
}

fn aws_error(status: u16, code: &str) -> HttpResponse {
    let body = json!({"__type": code, "message": "from the mock"}).to_string();
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn tagger(sagemaker: &[&Rule], iam: &[&Rule], sns: &[&Rule]) -> AutoTagger {
    let no_retry = |c: aws_sdk_sagemaker::config::Builder| {
        c.retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
    };
    let clients = Clients {
        sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, sagemaker.iter().copied(), no_retry).into(),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, iam.iter().copied()).into(),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns.iter().copied()).into(),
        tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
        budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
        sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
        ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
        autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, std::iter::empty::<&Rule>())
            .into(),
        costexplorer: mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
        cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
    };
    let policy = Arc::new(Policy::example().unwrap());
    AutoTagger::new(clients, policy, &TaggerSettings::default())
}

fn notebook_event() -> Value {
    json!({
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker",
        "detail": {
            "eventSource": "sagemaker.amazonaws.com", "eventName": "CreateNotebookInstance",
            "userIdentity": {"type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/ci-deployer/build-7",
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ci-deployer",
                    "arn": "arn:aws:iam::123456789012:role/ci-deployer"}}},
            "responseElements": {"notebookInstanceArn": ARN}
        }
    })
}

fn role_tags_rule() -> Rule {
    mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
        let tag = |k: &str, v: &str| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap();
        ListRoleTagsOutput::builder()
            .tags(tag("cost-center", "CC-4000"))
            .tags(tag("team", "platform"))
            .is_truncated(false)
            .build()
            .unwrap()
    })
}

fn sm_tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

#[tokio::test]
async fn throttled_list_tags_is_a_retryable_error() {
    let list = mock!(SageMaker::list_tags).then_http_response(|| aws_error(400, "ThrottlingException"));
    let err = tagger(&[&list], &[], &[]).handle(&notebook_event()).await.unwrap_err();
    assert!(matches!(err.0, AwsError::Throttled { .. }), "{err}");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Tagwarden.Retryable.Throttled");
}

#[tokio::test]
async fn server_errors_on_add_tags_are_retryable() {
    let list = mock!(SageMaker::list_tags).then_output(|| ListTagsOutput::builder().build());
    let add = mock!(SageMaker::add_tags).then_http_response(|| aws_error(500, "InternalFailure"));
    let err = tagger(&[&list, &add], &[&role_tags_rule()], &[]).handle(&notebook_event()).await.unwrap_err();
    assert!(err.0.is_retryable());
}

#[tokio::test]
async fn tags_on_every_list_tags_page_are_taken_into_account() {
    let list = mock!(SageMaker::list_tags)
        .match_requests(|r| r.resource_arn() == Some(ARN))
        .sequence()
        .output(|| {
            ListTagsOutput::builder()
                .tags(sm_tag("cost-center", "CC-4000"))
                .tags(sm_tag("team", "platform"))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            ListTagsOutput::builder().tags(sm_tag("environment", "dev")).tags(sm_tag("created-by", "build-7")).build()
        })
        .build();
    let outcome = tagger(&[&list], &[&role_tags_rule()], &[]).handle(&notebook_event()).await.unwrap();
    assert_eq!(outcome.label(), "unchanged", "{outcome:?}");
    assert_eq!(list.num_calls(), 2);
}

#[tokio::test]
async fn only_the_difference_is_written_in_one_add_tags_call() {
    let list =
        mock!(SageMaker::list_tags).then_output(|| ListTagsOutput::builder().tags(sm_tag("team", "platform")).build());
    let add = mock!(SageMaker::add_tags)
        .match_requests(|r| {
            let keys: Vec<_> = r.tags().iter().filter_map(|t| t.key()).collect();
            keys == ["cost-center", "created-by", "environment"]
        })
        .then_output(|| AddTagsOutput::builder().build());
    let outcome = tagger(&[&list, &add], &[&role_tags_rule()], &[]).handle(&notebook_event()).await.unwrap();
    let Outcome::Tagged(report) = outcome else { panic!("expected tagged, got {outcome:?}") };
    assert_eq!(report.origins["cost-center"], "principal");
    assert_eq!(report.added["created-by"], "build-7");
    assert_eq!(add.num_calls(), 1);
}

#[tokio::test]
async fn a_resource_deleted_before_tagging_is_skipped() {
    let list = mock!(SageMaker::list_tags).then_http_response(|| aws_error(400, "ResourceNotFound"));
    let outcome = tagger(&[&list], &[], &[]).handle(&notebook_event()).await.unwrap();
    let Outcome::Skipped(skip) = outcome else { panic!("expected skipped") };
    assert_eq!(skip.reason, "resource no longer exists");
}

#[tokio::test]
async fn access_denied_on_add_tags_is_a_failure_not_a_retry() {
    let list = mock!(SageMaker::list_tags).then_output(|| ListTagsOutput::builder().build());
    let add = mock!(SageMaker::add_tags).then_http_response(|| aws_error(400, "AccessDeniedException"));
    let outcome = tagger(&[&list, &add], &[&role_tags_rule()], &[]).handle(&notebook_event()).await.unwrap();
    let Outcome::Failed { reason, .. } = outcome else { panic!("expected failed, got {outcome:?}") };
    assert!(reason.contains("AddTags: access denied"), "{reason}");
}

#[tokio::test]
async fn an_unreadable_principal_is_a_warning_and_the_gap_is_notified() {
    let list = mock!(SageMaker::list_tags).then_output(|| ListTagsOutput::builder().build());
    let add = mock!(SageMaker::add_tags).then_output(|| AddTagsOutput::builder().build());
    let denied = mock!(aws_sdk_iam::Client::list_role_tags).then_http_response(|| aws_error(403, "AccessDenied"));
    let publish = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            let kind = r.message_attributes().and_then(|a| a.get("kind")).and_then(|k| k.string_value());
            r.message().is_some_and(|m| m.contains("\"missing_required\": \"cost-center, team\""))
                && kind == Some("non-compliant")
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build());
    let outcome = tagger(&[&list, &add], &[&denied], &[&publish]).handle(&notebook_event()).await.unwrap();
    let Outcome::Tagged(report) = outcome else { panic!("expected tagged, got {outcome:?}") };
    assert!(report.warnings.iter().any(|w| w.contains("ci-deployer") && w.contains("access denied")));
    assert_eq!(report.missing_required, ["cost-center", "team"]);
    assert!(report.notified);
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn source_tags_are_cached_across_events() {
    let list = mock!(SageMaker::list_tags).then_output(|| ListTagsOutput::builder().build());
    let add = mock!(SageMaker::add_tags).then_output(|| AddTagsOutput::builder().build());
    let roles = role_tags_rule();
    let tagger = tagger(&[&list, &add], &[&roles], &[]);
    tagger.handle(&notebook_event()).await.unwrap();
    tagger.handle(&notebook_event()).await.unwrap();
    assert_eq!(roles.num_calls(), 1);
    assert_eq!(list.num_calls(), 2);
}
