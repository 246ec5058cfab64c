use super::*;
use crate::Policy;
use crate::budgets::{HeldNotice, Kind, Notice};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";

fn catalog() -> Catalog {
    let yaml = format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  catalog:\n    alerts_topic_arn: {TOPIC}\n    entries:\n      - {{key: cost-center, values: [CC-1], amount: 10, name: 'cc-{{value}}'}}\n      - {{per: user-profile, amount: 200, name: 'studio-{{value}}', thresholds: {{actual: [80, 100], forecasted: [100]}}}}\n"
    );
    Policy::from_yaml(&yaml, "test").unwrap().budgets.catalog
}

fn alice() -> BudgetSpec {
    let catalog = catalog();
    let specs = profile_specs(&catalog, "alice", catalog.alerts_topic_arn.as_deref()).unwrap();
    assert_eq!(specs.len(), 1, "only the per-profile entry: {specs:?}");
    specs.into_iter().next().unwrap()
}

fn held_as(spec: &BudgetSpec, managed: bool) -> Held {
    Held {
        name: spec.name.clone(),
        amount: Some(spec.amount),
        currency: spec.currency.clone(),
        period: spec.period.as_str().to_owned(),
        cost_filters: spec.cost_filters(),
        notices: spec
            .notices
            .iter()
            .map(|n| HeldNotice { notice: *n, percentage: true, topics: vec![spec.topic.clone()] })
            .collect(),
        managed: Some(managed),
    }
}

#[test]
fn a_new_profile_gets_a_budget_scoped_to_its_name_under_the_creator_tag_with_the_catalogs_notices() {
    let spec = alice();
    assert_eq!(spec.name, "studio-alice");
    assert_eq!(spec.cost_filters()["TagKeyValue"], ["user:created-by$alice"]);
    assert_eq!(spec.topic, TOPIC);
    assert_eq!(spec.notices.len(), 3);
    assert!(matches!(on_created(&spec, None), Ok(Change::Create(s)) if s == spec));
    assert!(has_profile_entries(&catalog()));
    assert_eq!(profile_budget_names(&catalog(), "alice"), ["studio-alice"]);
}

#[test]
fn an_existing_managed_budget_as_the_catalog_says_is_left_alone_and_one_that_differs_is_updated() {
    let spec = alice();
    assert_eq!(on_created(&spec, Some(&held_as(&spec, true))).unwrap_err(), BudgetResult::Unchanged);
    let mut held = held_as(&spec, true);
    held.amount = Some(150.0);
    held.notices.retain(|n| n.notice.kind == Kind::Actual);
    let Ok(Change::Update(update)) = on_created(&spec, Some(&held)) else { panic!("an update") };
    assert_eq!(update.budget, ["amount 150 USD -> 200 USD"]);
    assert_eq!(update.add, [Notice { kind: Kind::Forecasted, threshold: 100.0 }]);
    assert!(!update.adopt);
}

#[test]
fn a_budget_of_the_profiles_name_made_by_someone_else_is_never_adopted_nor_deleted() {
    let spec = alice();
    let mut by_hand = held_as(&spec, false);
    by_hand.amount = Some(99_999.0);
    assert_eq!(on_created(&spec, Some(&by_hand)).unwrap_err(), BudgetResult::NotManaged);
    assert_eq!(on_deleted("studio-alice", Some(false), false).unwrap_err(), BudgetResult::NotManaged);
}

#[test]
fn a_deleted_profiles_managed_budget_is_deleted_unless_another_profile_of_the_name_remains() {
    assert_eq!(on_deleted("studio-alice", Some(true), false).unwrap(), Change::Delete { name: "studio-alice".into() });
    assert_eq!(on_deleted("studio-alice", Some(true), true).unwrap_err(), BudgetResult::Kept);
    assert_eq!(on_deleted("studio-alice", None, false).unwrap_err(), BudgetResult::Absent);
}

#[test]
fn without_a_per_profile_entry_or_an_alerts_topic_nothing_is_planned() {
    let mut catalog = catalog();
    assert_eq!(profile_specs(&catalog, "alice", None).unwrap_err(), CatalogError::NoTopic);
    catalog.entries.retain(|e| e.select != Selection::PerUserProfile);
    assert!(!has_profile_entries(&catalog));
    assert!(profile_specs(&catalog, "alice", Some(TOPIC)).unwrap().is_empty());
    assert!(profile_budget_names(&catalog, "alice").is_empty());
}

mod aws_failures {
    use aws_sdk_budgets::operation::create_budget::CreateBudgetOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::alice;
    use crate::budgets::apply::BudgetsClient;
    use crate::budgets::profile::{BudgetResult, keep_created, keep_deleted};

    fn error(status: u16, code: &str) -> HttpResponse {
        let body = serde_json::json!({"__type": code, "Message": "from the mock"}).to_string();
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    fn client(rules: &[&Rule]) -> BudgetsClient {
        let no_retry = |c: aws_sdk_budgets::config::Builder| {
            c.retry_config(aws_sdk_budgets::config::retry::RetryConfig::disabled())
        };
        BudgetsClient::new(mock_client!(aws_sdk_budgets, RuleMode::MatchAny, rules.iter().copied(), no_retry), "1")
    }

    fn missing() -> Rule {
        mock!(aws_sdk_budgets::Client::describe_budget).then_http_response(|| error(400, "NotFoundException"))
    }

    #[tokio::test]
    async fn a_missing_budget_is_created_in_one_call_after_one_read() {
        let (describe, create) = (
            missing(),
            mock!(aws_sdk_budgets::Client::create_budget).then_output(|| CreateBudgetOutput::builder().build()),
        );
        let client = client(&[&describe, &create]);
        let kept = keep_created(&client, &[alice()]).await.unwrap();
        assert_eq!(kept[0].result, BudgetResult::Created);
        assert_eq!((describe.num_calls(), create.num_calls(), client.calls()), (1, 1, 2));
    }

    #[tokio::test]
    async fn a_throttled_or_failing_budgets_call_is_retryable_and_access_denied_is_reported_not_retried() {
        for (status, code) in [(400, "ThrottlingException"), (500, "InternalErrorException")] {
            let describe =
                mock!(aws_sdk_budgets::Client::describe_budget).then_http_response(move || error(status, code));
            let err = keep_created(&client(&[&describe]), &[alice()]).await.unwrap_err();
            assert!(err.is_retryable(), "{code}: {err}");
            let err = keep_deleted(&client(&[&describe]), &["studio-alice".into()], false).await.unwrap_err();
            assert!(err.is_retryable(), "{code}: {err}");
        }
        let denied =
            mock!(aws_sdk_budgets::Client::create_budget).then_http_response(|| error(400, "AccessDeniedException"));
        let describe = missing();
        let kept = keep_created(&client(&[&describe, &denied]), &[alice()]).await.unwrap();
        assert_eq!(kept[0].result, BudgetResult::Failed);
        assert!(kept[0].detail.as_deref().unwrap_or_default().contains("access denied"), "{kept:?}");
        // NOTE: AWS Budgets refuses a subscriber topic it cannot publish to with InvalidParameterException.
        let refused = mock!(aws_sdk_budgets::Client::create_budget)
            .then_http_response(|| error(400, "InvalidParameterException"));
        let describe = missing();
        let kept = keep_created(&client(&[&describe, &refused]), &[alice()]).await.unwrap();
        assert_eq!(kept[0].result, BudgetResult::Failed, "{kept:?}");
    }
}
