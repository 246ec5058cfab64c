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
