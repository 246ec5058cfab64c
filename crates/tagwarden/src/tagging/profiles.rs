//! A Studio user profile's budgets, kept in step by the auto-tagger: a successful `CreateUserProfile` creates
//! (or brings in line) the budgets the catalog's `per: user-profile` entries give the profile, next to its
//! tags; a successful `DeleteUserProfile` deletes them if Tagwarden manages them ([`crate::budgets::profile`]).
//!
//! The budget's value is the profile's name as the request gives it (`userProfileName`), which is what the
//! creator tag records for resources the profile creates. Only the auto-tagger of the account that owns the
//! budgets keeps them (a single-account deployment, or the central account of an organization): a member
//! account's profile changes no budget.

use serde::Serialize;
use serde_json::Value;
use tracing::{info, warn};

use super::{AutoTagger, CreateCall, Outcome, Skip};
use crate::aws::AwsError;
use crate::budgets::apply::BudgetsClient;
use crate::budgets::profile::{
    self, BudgetResult, ProfileBudget, has_profile_entries, profile_budget_names, profile_specs,
};
use crate::event::CloudTrailEvent;
use crate::event::budget::clip;
use crate::resource::{ArnScope, SageMakerArn};
use crate::telemetry::clip as clip_log;

/// The CloudTrail event of a deleted user profile, which the auto-tagger's rule also matches.
pub const PROFILE_DELETE_EVENT: &str = "DeleteUserProfile";

/// What the auto-tagger did to a deleted profile's budgets; the `profile-budgets` outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileBudgetsReport {
    /// The deleted profile's ARN (built from the request: the response carries none).
    pub resource_arn: String,
    /// `DeleteUserProfile`.
    pub event_name: String,
    /// The profile's name: the budgets' tag value.
    pub profile: String,
    /// Each budget of the catalog's `per: user-profile` entries and what was done to it.
    pub budgets: Vec<ProfileBudget>,
}

/// A successful `DeleteUserProfile` call.
#[derive(Debug, Clone)]
pub struct ProfileDeletion {
    /// The profile's name.
    pub name: String,
    /// Its domain.
    pub domain_id: String,
    /// Its ARN, in the call's region and account.
    pub arn: SageMakerArn,
}

impl ProfileDeletion {
    /// Whether the event is a SageMaker `DeleteUserProfile` call (successful or not).
    pub fn is_profile_deletion(event: &Value) -> bool {
        let detail = event.get("detail");
        let field = |name: &str| detail.and_then(|d| d.get(name)).and_then(Value::as_str);
        field("eventSource") == Some("sagemaker.amazonaws.com") && field("eventName") == Some(PROFILE_DELETE_EVENT)
    }

    /// The deletion an event records, or why it is skipped (a failed call, fields missing).
    pub fn from_event(event: &Value) -> Result<Self, Skip> {
        let skip = |reason: String| Skip::new(reason, Some(PROFILE_DELETE_EVENT), None);
        let parsed: Option<CloudTrailEvent> =
            event.is_object().then(|| serde_json::from_value(event.clone()).ok()).flatten();
        let Some(call) = parsed.and_then(|p| p.detail) else {
            return Err(skip("not an EventBridge event: the payload is not a JSON object".into()));
        };
        if let Some(code) = &call.error_code {
            return Err(skip(format!("failed call: {}", clip(code))));
        }
        let account =
            call.recipient_account_id.as_deref().or(call.user_identity.as_ref().and_then(|u| u.account_id.as_deref()));
        let (Some(name), Some(domain_id), Some(region), Some(account)) =
            (call.request_str("userProfileName"), call.request_str("domainId"), call.aws_region.as_deref(), account)
        else {
            return Err(skip(
                "no userProfileName, domainId, awsRegion or account in the deleted profile's record".into(),
            ));
        };
        let arn = ArnScope::new(region, account).user_profile(domain_id, name);
        Ok(Self { name: name.to_owned(), domain_id: domain_id.to_owned(), arn })
    }
}

impl AutoTagger {
    /// Whether this auto-tagger keeps profile budgets: it acts in the account that owns them.
    fn keeps_profile_budgets(&self) -> bool {
        self.profile_budgets && has_profile_entries(&self.policy().budgets.catalog)
    }

    /// After a `CreateUserProfile` was tagged: creates or updates the profile's budgets and reports them in
    /// `outcome`. A retryable Budgets failure is `Err` (the event is retried; its tags are already written,
    /// so the retry finds them unchanged); any other failure is reported and the tagging outcome stands.
    pub(super) async fn profile_created(&self, call: &CreateCall, mut outcome: Outcome) -> Result<Outcome, AwsError> {
        if call.kind.create_event != "CreateUserProfile" || !self.keeps_profile_budgets() {
            return Ok(outcome);
        }
        let (Outcome::Tagged(report) | Outcome::Unchanged(report) | Outcome::Restored(report)) = &mut outcome else {
            return Ok(outcome);
        };
        let Some(name) = call.call.request_str("userProfileName").map(str::to_owned) else {
            report.warnings.push("no userProfileName in the request: the profile's budgets were not kept".into());
            return Ok(outcome);
        };
        let catalog = &self.policy().budgets.catalog;
        let specs = match profile_specs(catalog, &name, catalog.alerts_topic_arn.as_deref()) {
            Ok(specs) => specs,
            Err(err) => {
                report.budgets = failed_all(&profile_budget_names(catalog, &name), &err.to_string());
                return Ok(outcome);
            }
        };
        let client = BudgetsClient::new(self.clients.budgets.client(), call.arn.account.clone());
        match profile::keep_created(&client, &specs).await {
            Ok(budgets) => {
                report.budgets = budgets;
                Ok(outcome)
            }
            Err(err) => {
                info!(resource_arn = %clip_log(&report.resource_arn), outcome = outcome.label(),
                    "tagged; the profile's budgets will be kept when the event is retried");
                Err(err)
            }
        }
    }

    /// A `DeleteUserProfile` call: deletes the profile's budgets that Tagwarden manages, unless another
    /// profile of the same name remains. `Err` only for retryable failures.
    pub(super) async fn profile_deleted(&self, deletion: &ProfileDeletion) -> Result<Outcome, AwsError> {
        let arn = deletion.arn.to_string();
        let skip = |reason: &str| Ok(Outcome::skipped(reason, Some(PROFILE_DELETE_EVENT), Some(&arn)));
        if !self.profile_budgets {
            return skip("a member account's profile: profile budgets are kept in the central account only");
        }
        let catalog = &self.policy().budgets.catalog;
        if !has_profile_entries(catalog) {
            return skip("budgets.catalog has no per: user-profile entry: a deleted profile changes nothing");
        }
        let names = profile_budget_names(catalog, &deletion.name);
        let remains = self.profile_remains(deletion).await?;
        let client = BudgetsClient::new(self.clients.budgets.client(), deletion.arn.account.clone());
        let budgets = profile::keep_deleted(&client, &names, remains).await?;
        Ok(Outcome::ProfileBudgets(ProfileBudgetsReport {
            resource_arn: arn,
            event_name: PROFILE_DELETE_EVENT.to_owned(),
            profile: deletion.name.clone(),
            budgets,
        }))
    }

    /// Whether a profile of the deleted one's name lives on in another domain (its budget is then still
    /// that profile's): `ListUserProfiles` filtered by the name.
    async fn profile_remains(&self, deletion: &ProfileDeletion) -> Result<bool, AwsError> {
        let mut token = None;
        loop {
            let out = self
                .clients
                .sagemaker
                .list_user_profiles()
                .user_profile_name_contains(&deletion.name)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListUserProfiles", e))?;
            let other = out.user_profiles().iter().any(|p| {
                p.user_profile_name() == Some(deletion.name.as_str())
                    && p.domain_id() != Some(deletion.domain_id.as_str())
                    && !p.status().is_some_and(|s| s.as_str().starts_with("Delet"))
            });
            if other {
                return Ok(true);
            }
            token = out.next_token().map(str::to_owned).filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(false);
            }
        }
    }
}

/// Every one of `names` failed for `reason` (no alerts topic, two entries naming one budget).
fn failed_all(names: &[String], reason: &str) -> Vec<ProfileBudget> {
    warn!(reason = %clip_log(reason), "the profile's budgets cannot be kept");
    names
        .iter()
        .map(|name| ProfileBudget {
            budget: name.clone(),
            result: BudgetResult::Failed,
            detail: Some(reason.to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/auto-tagger/delete-user-profile.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_deleted_profile_sample_names_the_profile_its_domain_and_its_arn() {
        let event = sample();
        assert!(ProfileDeletion::is_profile_deletion(&event));
        let deletion = ProfileDeletion::from_event(&event).unwrap();
        assert_eq!((deletion.name.as_str(), deletion.domain_id.as_str()), ("dave", "d-ml-platform"));
        assert_eq!(
            deletion.arn.to_string(),
            "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml-platform/dave"
        );
    }

    #[test]
    fn a_failed_deletion_or_one_without_a_name_is_skipped_with_a_reason() {
        let mut failed = sample();
        failed["detail"]["errorCode"] = "ResourceInUse".into();
        assert_eq!(ProfileDeletion::from_event(&failed).unwrap_err().reason, "failed call: ResourceInUse");
        let mut nameless = sample();
        nameless["detail"]["requestParameters"] = Value::Null;
        assert!(ProfileDeletion::from_event(&nameless).unwrap_err().reason.contains("no userProfileName"));
        assert!(!ProfileDeletion::is_profile_deletion(&serde_json::json!([1, 2])));
    }
}
