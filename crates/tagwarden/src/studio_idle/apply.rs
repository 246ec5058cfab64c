//! The side effects of the Studio idle check: `Describe*` a domain, user profile or space, check it against
//! its rule ([`super::check`]), and send the `Update*` request unless it is a dry run.
//!
//! In: the SageMaker client, the rule (matched by the caller on the domain's tags), the resource's kind and
//! ARN. Out: an [`IdleReport`] for the outcome. `Err` only for AWS failures of the describe or a retryable
//! failure of the update; an update AWS refuses is reported as `failed`.

use aws_sdk_sagemaker::Client;
use serde::Serialize;

use super::{Described, Difference, Update, check};
use crate::aws::{AwsError, ResultExt};
use crate::policy::idle::studio::StudioIdleRule;
use crate::resource::{ResourceKind, SageMakerArn, Studio};

/// What was found and done to one resource's idle shutdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdleReport {
    /// `compliant`, `updated`, `would-update` (dry run), `deferred` or `failed`.
    pub result: IdleResult,
    /// The idle timeout the rule asks for, in minutes.
    pub idle_timeout_minutes: i32,
    /// What differed (empty when compliant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    /// The update's operation (`UpdateUserProfile`, …), when one is needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<&'static str>,
    /// Why it was deferred or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl IdleReport {
    /// Whether the settings were (or, in a dry run, would be) written.
    pub fn changes(&self) -> bool {
        matches!(self.result, IdleResult::Updated | IdleResult::WouldUpdate)
    }
}

/// The result of keeping one resource's idle shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdleResult {
    /// It already has what the rule asks.
    Compliant,
    /// The update was sent.
    Updated,
    /// A dry run: the update would be sent.
    WouldUpdate,
    /// The resource is not InService (being created or updated): the next sweep sets it.
    Deferred,
    /// AWS refused the update (the detail says why).
    Failed,
}

/// Whether a kind carries Studio idle settings: domains, user profiles and spaces.
pub fn has_idle_settings(kind: &ResourceKind) -> bool {
    matches!(kind.arn_type, "domain" | "user-profile" | "space")
}

/// The ARN of the domain a domain, profile or space belongs to (its own for a domain).
pub fn domain_arn(kind: &ResourceKind, arn: &SageMakerArn) -> Option<String> {
    match kind.studio {
        Studio::Domain => Some(arn.to_string()),
        Studio::InDomain => arn.domain_id(kind).map(|id| arn.scope().domain(id).to_string()),
        Studio::No => None,
    }
}

/// Describes the resource: its settings and status; `None` when it no longer exists.
pub async fn describe(
    sagemaker: &Client,
    kind: &ResourceKind,
    arn: &SageMakerArn,
) -> Result<Option<(Described, Option<String>)>, AwsError> {
    let gone = |err: AwsError| if err.is_not_found() { Ok(None) } else { Err(err) };
    let (domain_id, name) = match arn.path.split_once('/') {
        Some((domain, name)) => (domain.to_owned(), name.to_owned()),
        None => (arn.path.clone(), String::new()),
    };
    match kind.arn_type {
        "domain" => match sagemaker.describe_domain().domain_id(&domain_id).send().await.aws("DescribeDomain") {
            Ok(out) => Ok(Some((
                Described::Domain {
                    domain_id,
                    default_user_settings: out.default_user_settings().cloned(),
                    default_space_settings: out.default_space_settings().cloned(),
                },
                out.status().map(|s| s.as_str().to_owned()),
            ))),
            Err(err) => gone(err),
        },
        "user-profile" => {
            let call = sagemaker.describe_user_profile().domain_id(&domain_id).user_profile_name(&name);
            match call.send().await.aws("DescribeUserProfile") {
                Ok(out) => Ok(Some((
                    Described::UserProfile { domain_id, name, user_settings: out.user_settings().cloned() },
                    out.status().map(|s| s.as_str().to_owned()),
                ))),
                Err(err) => gone(err),
            }
        }
        "space" => {
            match sagemaker.describe_space().domain_id(&domain_id).space_name(&name).send().await.aws("DescribeSpace") {
                Ok(out) => Ok(Some((
                    Described::Space { domain_id, name, space_settings: out.space_settings().cloned() },
                    out.status().map(|s| s.as_str().to_owned()),
                ))),
                Err(err) => gone(err),
            }
        }
        _ => Ok(None),
    }
}

/// Sends the update.
pub async fn update(sagemaker: &Client, update: &Update) -> Result<(), AwsError> {
    match update {
        Update::Domain { domain_id, default_user_settings, default_space_settings } => sagemaker
            .update_domain()
            .domain_id(domain_id)
            .set_default_user_settings(default_user_settings.clone())
            .set_default_space_settings(default_space_settings.clone())
            .send()
            .await
            .aws("UpdateDomain")
            .map(drop),
        Update::UserProfile { domain_id, name, user_settings } => sagemaker
            .update_user_profile()
            .domain_id(domain_id)
            .user_profile_name(name)
            .user_settings(user_settings.clone())
            .send()
            .await
            .aws("UpdateUserProfile")
            .map(drop),
        Update::Space { domain_id, name, space_settings } => sagemaker
            .update_space()
            .domain_id(domain_id)
            .space_name(name)
            .space_settings(space_settings.clone())
            .send()
            .await
            .aws("UpdateSpace")
            .map(drop),
    }
}

/// Describes the resource, checks it against `rule` and, unless `dry_run`, fixes it. `None` when the
/// resource is gone or not a domain, profile or space.
pub async fn keep(
    sagemaker: &Client,
    rule: &StudioIdleRule,
    kind: &ResourceKind,
    arn: &SageMakerArn,
    dry_run: bool,
) -> Result<Option<IdleReport>, AwsError> {
    let Some((described, status)) = describe(sagemaker, kind, arn).await? else {
        return Ok(None);
    };
    let checked = check(&described, rule);
    let mut report = IdleReport {
        result: IdleResult::Compliant,
        idle_timeout_minutes: rule.idle_timeout_minutes,
        differences: checked.differences,
        operation: checked.update.as_ref().map(Update::operation),
        detail: None,
    };
    let Some(fix) = checked.update else {
        return Ok(Some(report));
    };
    if dry_run {
        report.result = IdleResult::WouldUpdate;
        return Ok(Some(report));
    }
    // NOTE: SageMaker refuses updates while a domain, profile or space is being created or updated.
    if let Some(status) = status.filter(|s| s != "InService") {
        report.result = IdleResult::Deferred;
        report.detail = Some(format!("{} is {status}: the next sweep sets its idle shutdown", kind.arn_type));
        return Ok(Some(report));
    }
    match update(sagemaker, &fix).await {
        Ok(()) => report.result = IdleResult::Updated,
        Err(err) if err.is_retryable() => return Err(err),
        Err(err) if err.is_not_found() => return Ok(None),
        Err(err) => {
            report.result = IdleResult::Failed;
            report.detail = Some(err.to_string());
        }
    }
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::operation::describe_user_profile::DescribeUserProfileOutput;
    use aws_sdk_sagemaker::operation::update_user_profile::UpdateUserProfileOutput;
    use aws_sdk_sagemaker::types::UserProfileStatus;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::policy::idle::studio::{StudioApp, StudioScope};
    use crate::resource::kind_for_arn_type;

    const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-x/alice";

    fn rule() -> StudioIdleRule {
        StudioIdleRule {
            scope: StudioScope::Account,
            idle_timeout_minutes: 60,
            min_idle_timeout_minutes: None,
            max_idle_timeout_minutes: None,
            apps: vec![StudioApp::Jupyterlab],
        }
    }

    fn aws_error(status: u16, code: &str) -> HttpResponse {
        let body = serde_json::json!({"__type": code, "message": "from the mock"}).to_string();
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    fn profile(status: UserProfileStatus) -> Rule {
        mock!(Client::describe_user_profile)
            .then_output(move || DescribeUserProfileOutput::builder().status(status.clone()).build())
    }

    async fn run(rules: &[&Rule], dry_run: bool) -> Result<Option<IdleReport>, AwsError> {
        let no_retry = |c: aws_sdk_sagemaker::config::Builder| {
            c.retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        };
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules.iter().copied(), no_retry);
        let kind = kind_for_arn_type("user-profile").unwrap();
        keep(&client, &rule(), kind, &SageMakerArn::parse(ARN).unwrap(), dry_run).await
    }

    #[tokio::test]
    async fn a_non_compliant_profile_is_updated_with_only_its_idle_settings() {
        let describe = profile(UserProfileStatus::InService);
        let update = mock!(Client::update_user_profile)
            .match_requests(|r| {
                let settings = r.user_settings().unwrap();
                let idle = settings.jupyter_lab_app_settings().and_then(|j| j.app_lifecycle_management());
                r.domain_id() == Some("d-x")
                    && r.user_profile_name() == Some("alice")
                    && settings.execution_role().is_none()
                    && idle.and_then(|l| l.idle_settings()).and_then(|i| i.idle_timeout_in_minutes()) == Some(60)
            })
            .then_output(|| UpdateUserProfileOutput::builder().build());
        let report = run(&[&describe, &update], false).await.unwrap().unwrap();
        assert_eq!((report.result, report.operation), (IdleResult::Updated, Some("UpdateUserProfile")));
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_dry_run_or_a_profile_being_updated_sends_nothing() {
        let describe = profile(UserProfileStatus::InService);
        let update = mock!(Client::update_user_profile).then_output(|| UpdateUserProfileOutput::builder().build());
        let report = run(&[&describe, &update], true).await.unwrap().unwrap();
        assert_eq!(report.result, IdleResult::WouldUpdate);
        assert_eq!(report.differences.len(), 2, "{report:?}");
        let pending = profile(UserProfileStatus::Updating);
        let report = run(&[&pending, &update], false).await.unwrap().unwrap();
        assert_eq!(report.result, IdleResult::Deferred);
        assert!(report.detail.unwrap().contains("user-profile is Updating"));
        assert_eq!(update.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_refused_update_is_reported_and_a_throttled_one_is_an_error_to_retry() {
        let describe = profile(UserProfileStatus::InService);
        let denied = mock!(Client::update_user_profile).then_http_response(|| aws_error(400, "AccessDeniedException"));
        let report = run(&[&describe, &denied], false).await.unwrap().unwrap();
        assert_eq!(report.result, IdleResult::Failed);
        assert!(report.detail.unwrap().contains("UpdateUserProfile"));
        let throttled = mock!(Client::update_user_profile).then_http_response(|| aws_error(400, "ThrottlingException"));
        let err = run(&[&describe, &throttled], false).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        let gone = mock!(Client::describe_user_profile).then_http_response(|| aws_error(400, "ResourceNotFound"));
        assert_eq!(run(&[&gone], false).await.unwrap(), None);
    }
}
