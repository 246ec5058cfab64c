//! Cost allocation: what arrives is the policy's required tag keys, billing's view of them and the line
//! items of a billing export; what leaves is an activation plan (and its outcome), Athena named queries over
//! the export, and a cost report by tag value.
//!
//! This module holds the activation (Cost Explorer `ListCostAllocationTags` + `UpdateCostAllocationTagsStatus`,
//! which only work in the payer/management account: [`activate_tags`], the only side effect here). The pure
//! parts are in [`exports`] (legacy CUR, CUR 2.0 and FOCUS: detection and column layout), [`athena`] (the
//! named queries for each format) and [`report`] (exact sums by tag value); their items are re-exported here.

pub mod athena;
pub mod exports;
pub mod report;

pub use athena::*;
pub use exports::*;
pub use report::*;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_costexplorer::types::{CostAllocationTagStatus, CostAllocationTagStatusEntry};
use serde::Serialize;

use tagwarden::aws::{AwsError, ResultExt};
use tagwarden::policy::TagPolicy;

/// The region Cost Explorer's API lives in (its only endpoint for the `aws` partition).
pub const COST_EXPLORER_REGION: &str = "us-east-1";
/// `UpdateCostAllocationTagsStatus` takes at most this many keys per call.
const UPDATE_BATCH: usize = 20;
/// `ListCostAllocationTags` filters on at most this many keys per call.
const LIST_BATCH: usize = 100;

// --------------------------------------------------------------------------------------------------
// Cost-allocation tag activation
// --------------------------------------------------------------------------------------------------

/// What billing knows about a tag key (one `CostAllocationTag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownTag {
    /// The tag key.
    pub key: String,
    /// Active as a cost-allocation tag.
    pub active: bool,
}

/// Which keys to activate, which already are, and which billing has not seen yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivationPlan {
    /// Already active cost-allocation tags.
    pub already_active: Vec<String>,
    /// Known to billing but inactive: to activate.
    pub to_activate: Vec<String>,
    /// Not known to billing yet (it lists a key up to 24 h after a resource first carries it).
    pub not_seen: Vec<String>,
}

/// Decides what to do for each wanted key given billing's view; keys keep the order of `wanted`.
pub fn plan_activation<'a>(wanted: impl IntoIterator<Item = &'a str>, known: &[KnownTag]) -> ActivationPlan {
    let mut plan = ActivationPlan::default();
    let mut seen = BTreeSet::new();
    for key in wanted {
        if !seen.insert(key) {
            continue;
        }
        match known.iter().find(|k| k.key == key) {
            Some(k) if k.active => plan.already_active.push(key.to_owned()),
            Some(_) => plan.to_activate.push(key.to_owned()),
            None => plan.not_seen.push(key.to_owned()),
        }
    }
    plan
}

/// A key `UpdateCostAllocationTagsStatus` refused for another reason than "not seen yet".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyFailure {
    /// The tag key.
    pub key: String,
    /// The error code from the `Errors` entry.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// What `activate-tags` did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivationOutcome {
    /// Nothing was changed.
    pub dry_run: bool,
    /// Keys that were already active.
    pub already_active: Vec<String>,
    /// Keys activated now (with `dry_run`: that would be activated).
    pub activated: Vec<String>,
    /// Keys billing has not seen yet: run again once a resource has carried them for a day.
    pub pending: Vec<String>,
    /// Keys refused for another reason.
    pub failed: Vec<KeyFailure>,
}

/// Activation failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// The credentials belong to a member (linked) account: cost-allocation tags are managed by the payer.
    #[error(
        "cost-allocation tags can only be managed from the payer (management) account of the organization; \
         run this with credentials of that account ({0})"
    )]
    NotPayerAccount(String),
    /// Any other AWS failure.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl CostError {
    fn classify(err: AwsError) -> Self {
        match &err {
            AwsError::AccessDenied { message, .. } | AwsError::Rejected { message, .. }
                if message.to_ascii_lowercase().contains("linked account") =>
            {
                Self::NotPayerAccount(message.clone())
            }
            // NOTE: Cost Explorer's throttling error is `LimitExceededException` ("too many calls").
            AwsError::Rejected { operation, code, message } if code == "LimitExceededException" => {
                Self::Aws(AwsError::Throttled { operation, code: code.clone(), message: message.clone() })
            }
            _ => Self::Aws(err),
        }
    }
}

/// A Cost Explorer client from `config` with its region forced to us-east-1, Cost Explorer's endpoint
/// (the endpoint URL, e.g. `AWS_ENDPOINT_URL` for the emulator, is kept).
pub fn cost_explorer_client(config: &aws_config::SdkConfig) -> aws_sdk_costexplorer::Client {
    let config = aws_sdk_costexplorer::config::Builder::from(config)
        .region(aws_config::Region::new(COST_EXPLORER_REGION))
        .build();
    aws_sdk_costexplorer::Client::from_conf(config)
}

/// [`cost_explorer_client`] from the SDK's default configuration (environment, profile, IMDS).
pub async fn cost_explorer_from_env() -> aws_sdk_costexplorer::Client {
    cost_explorer_client(&aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await)
}

/// Billing's view of `keys` (`ListCostAllocationTags` filtered by key, every page).
pub async fn list_cost_allocation_tags(
    ce: &aws_sdk_costexplorer::Client,
    keys: &[String],
) -> Result<Vec<KnownTag>, CostError> {
    let mut known = Vec::new();
    for chunk in keys.chunks(LIST_BATCH) {
        let mut pages = ce.list_cost_allocation_tags().set_tag_keys(Some(chunk.to_vec())).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.aws("ListCostAllocationTags").map_err(CostError::classify)?;
            known.extend(page.cost_allocation_tags().iter().map(|t| KnownTag {
                key: t.tag_key().to_owned(),
                active: *t.status() == CostAllocationTagStatus::Active,
            }));
        }
    }
    Ok(known)
}

/// Activates the policy's required keys as cost-allocation tags (payer account only).
///
/// Keys billing has not seen yet are reported as pending, not as failures: either they are absent from
/// `ListCostAllocationTags`, or `UpdateCostAllocationTagsStatus` answers `TagKeysNotFoundException` for them.
pub async fn activate_tags(
    ce: &aws_sdk_costexplorer::Client,
    policy: &TagPolicy,
    dry_run: bool,
) -> Result<ActivationOutcome, CostError> {
    let wanted: Vec<String> = policy.required_keys().map(str::to_owned).collect();
    let known = list_cost_allocation_tags(ce, &wanted).await?;
    let plan = plan_activation(wanted.iter().map(String::as_str), &known);
    let mut outcome = ActivationOutcome {
        dry_run,
        already_active: plan.already_active,
        pending: plan.not_seen,
        ..ActivationOutcome::default()
    };
    if dry_run {
        outcome.activated = plan.to_activate;
        return Ok(outcome);
    }
    for chunk in plan.to_activate.chunks(UPDATE_BATCH) {
        let entries = chunk
            .iter()
            .map(|key| {
                CostAllocationTagStatusEntry::builder().tag_key(key).status(CostAllocationTagStatus::Active).build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError::Rejected {
                operation: "UpdateCostAllocationTagsStatus",
                code: "ConstructionFailure".into(),
                message: e.to_string(),
            })?;
        let answer = ce
            .update_cost_allocation_tags_status()
            .set_cost_allocation_tags_status(Some(entries))
            .send()
            .await
            .aws("UpdateCostAllocationTagsStatus")
            .map_err(CostError::classify)?;
        let errors: BTreeMap<&str, _> = answer.errors().iter().filter_map(|e| Some((e.tag_key()?, e))).collect();
        for key in chunk {
            match errors.get(key.as_str()) {
                None => outcome.activated.push(key.clone()),
                Some(e) if e.code() == Some("TagKeysNotFoundException") => outcome.pending.push(key.clone()),
                Some(e) => outcome.failed.push(KeyFailure {
                    key: key.clone(),
                    code: e.code().unwrap_or_default().to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                }),
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn known(key: &str, active: bool) -> KnownTag {
        KnownTag { key: key.into(), active }
    }

    #[test]
    fn activation_plan_splits_active_inactive_and_unseen_keys_in_policy_order() {
        let plan = plan_activation(
            ["cost-center", "team", "environment", "team"],
            &[known("environment", true), known("cost-center", false), known("other", false)],
        );
        assert_eq!(plan.already_active, ["environment"]);
        assert_eq!(plan.to_activate, ["cost-center"]);
        assert_eq!(plan.not_seen, ["team"]);
    }
}

#[cfg(test)]
mod apply_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use aws_sdk_costexplorer::operation::list_cost_allocation_tags::ListCostAllocationTagsOutput;
    use aws_sdk_costexplorer::operation::update_cost_allocation_tags_status::UpdateCostAllocationTagsStatusOutput;
    use aws_sdk_costexplorer::types::{CostAllocationTag, CostAllocationTagType, UpdateCostAllocationTagsStatusError};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use tagwarden::Policy;

    type Ce = aws_sdk_costexplorer::Client;

    fn tag(key: &str, status: CostAllocationTagStatus) -> CostAllocationTag {
        CostAllocationTag::builder()
            .tag_key(key)
            .r#type(CostAllocationTagType::UserDefined)
            .status(status)
            .build()
            .unwrap()
    }

    fn client(rules: &[&Rule]) -> Ce {
        let no_retry = |c: aws_sdk_costexplorer::config::Builder| {
            c.retry_config(aws_sdk_costexplorer::config::retry::RetryConfig::disabled())
        };
        mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, rules.iter().copied(), no_retry)
    }

    fn example() -> TagPolicy {
        Policy::example().unwrap().tags
    }

    #[tokio::test]
    async fn every_page_of_billings_list_is_read() {
        let list = mock!(Ce::list_cost_allocation_tags)
            .sequence()
            .output(|| {
                ListCostAllocationTagsOutput::builder()
                    .cost_allocation_tags(tag("cost-center", CostAllocationTagStatus::Active))
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                ListCostAllocationTagsOutput::builder()
                    .cost_allocation_tags(tag("team", CostAllocationTagStatus::Active))
                    .cost_allocation_tags(tag("environment", CostAllocationTagStatus::Active))
                    .build()
            })
            .build();
        let outcome = activate_tags(&client(&[&list]), &example(), false).await.unwrap();
        assert_eq!(outcome.already_active, ["cost-center", "team", "environment"]);
        assert!(outcome.activated.is_empty() && outcome.pending.is_empty());
        assert_eq!(list.num_calls(), 2);
    }

    #[tokio::test]
    async fn per_key_errors_of_the_update_become_pending_or_failed() {
        let list = mock!(Ce::list_cost_allocation_tags).then_output(|| {
            ListCostAllocationTagsOutput::builder()
                .cost_allocation_tags(tag("cost-center", CostAllocationTagStatus::Inactive))
                .cost_allocation_tags(tag("team", CostAllocationTagStatus::Inactive))
                .cost_allocation_tags(tag("environment", CostAllocationTagStatus::Inactive))
                .build()
        });
        let error = |key: &str, code: &str| {
            UpdateCostAllocationTagsStatusError::builder().tag_key(key).code(code).message("from the mock").build()
        };
        let update = mock!(Ce::update_cost_allocation_tags_status)
            .match_requests(|r| r.cost_allocation_tags_status().len() == 3)
            .then_output(move || {
                UpdateCostAllocationTagsStatusOutput::builder()
                    .errors(error("team", "TagKeysNotFoundException"))
                    .errors(error("environment", "SomethingElse"))
                    .build()
            });
        let outcome = activate_tags(&client(&[&list, &update]), &example(), false).await.unwrap();
        assert_eq!(outcome.activated, ["cost-center"]);
        assert_eq!(outcome.pending, ["team"]);
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!((outcome.failed[0].key.as_str(), outcome.failed[0].code.as_str()), ("environment", "SomethingElse"));
    }

    #[tokio::test]
    async fn a_linked_account_is_told_to_use_the_payer_account_and_throttling_stays_retryable() {
        let denied = mock!(Ce::list_cost_allocation_tags).then_http_response(|| {
            let body = r#"{"__type":"AccessDeniedException","Message":"Failed to update Cost Allocation Tag: Linked account doesn't have access to cost allocation tags."}"#;
            HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
        });
        let err = activate_tags(&client(&[&denied]), &example(), false).await.unwrap_err();
        assert!(matches!(err, CostError::NotPayerAccount(_)), "{err:?}");

        let throttled = mock!(Ce::list_cost_allocation_tags).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"LimitExceededException"}"#),
            )
        });
        let err = activate_tags(&client(&[&throttled]), &example(), false).await.unwrap_err();
        assert!(matches!(&err, CostError::Aws(e) if e.is_retryable()), "{err:?}");
    }
}
