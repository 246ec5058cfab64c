//! `notify-storage`: storage bills while nothing runs. The EBS volumes of Studio spaces (`DescribeSpace`
//! `SpaceSettings.SpaceStorageSettings`) and the online stores of feature groups (`DescribeFeatureGroup`
//! `OnlineStoreConfig`, `OnlineStoreTotalSizeBytes`) in scope are listed in the budget notice with what they
//! hold, as `reported: …` results. Nothing is changed, ever: deleting data is never automatic, so there is
//! nothing to restore either.

use aws_sdk_sagemaker::operation::describe_feature_group::DescribeFeatureGroupOutput;
use aws_sdk_sagemaker::types::{FeatureGroupStatus, SpaceStatus};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::report::{ResultKind, Tally};
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};
use crate::resource::{AppOwner, ArnScope};

/// The `notify-storage` row.
pub(crate) struct NotifyStorage;

/// The tagging API's type of a space.
const SPACE: &str = "sagemaker:space";
/// The tagging API's type of a feature group.
const FEATURE_GROUP: &str = "sagemaker:feature-group";

impl EnforcementAction for NotifyStorage {
    fn action(&self) -> Action {
        Action::NotifyStorage
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &[SPACE, FEATURE_GROUP]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListSpaces", Grant::Any),
            ("sagemaker:DescribeSpace", Grant::SageMaker),
            ("sagemaker:ListFeatureGroups", Grant::Any),
            ("sagemaker:DescribeFeatureGroup", Grant::SageMaker),
            // the notice it adds to (published even without `notify` in the step)
            ("sns:Publish", Grant::NotifyTopic),
        ]
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "list the EBS storage of spaces and the online stores of feature groups in scope in the notice (nothing is \
         changed: deleting data is never automatic)"
            .to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(report(actor, cx, tally))
    }
}

async fn report(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let action = Action::NotifyStorage.to_string();
    spaces(actor, cx, &action, tally).await?;
    feature_groups(actor, cx, &action, tally).await
}

async fn spaces(actor: &Actor<'_>, cx: &Context<'_>, action: &str, tally: &mut Tally) -> Result<(), AwsError> {
    let region_account = actor.region_account().await?;
    let (region, account) = region_account.split_once(':').unwrap_or_default();
    let place = ArnScope::new(region, account);
    // NOTE: ListSpaces names no ARN: it is built as the auto-tagger builds it; the name is `<domain>/<space>`.
    let mut listed: Vec<(String, String)> = Vec::new();
    let mut pages = actor.clients.sagemaker.list_spaces().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for space in page.aws("ListSpaces")?.spaces() {
            let (Some(domain), Some(name)) = (space.domain_id(), space.space_name()) else { continue };
            if space.status() == Some(&SpaceStatus::Deleting) {
                continue;
            }
            let arn = place.app_owner(domain, AppOwner::Space(name)).to_string();
            listed.push((arn, format!("{domain}/{name}")));
        }
    }
    let (mut candidates, names) = actor.candidates(cx.scope, SPACE, &listed).await?;
    // NOTE: an in-scope space that is not listed is gone: nothing to tell.
    candidates.retain(|c| c.active);
    let targets = actor.select(action, candidates, ResultKind::AlreadyDeleted, tally);
    actor
        .execute(action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move {
                let (domain, space) = name.split_once('/').unwrap_or_default();
                let described = actor
                    .clients
                    .sagemaker
                    .describe_space()
                    .domain_id(domain)
                    .space_name(space)
                    .send()
                    .await
                    .aws("DescribeSpace")?;
                let size = described
                    .space_settings()
                    .and_then(|s| s.space_storage_settings())
                    .and_then(|s| s.ebs_storage_settings())
                    .and_then(|s| s.ebs_volume_size_in_gb());
                Ok(ResultKind::Reported { detail: space_detail(size) })
            }
        })
        .await;
    Ok(())
}

async fn feature_groups(actor: &Actor<'_>, cx: &Context<'_>, action: &str, tally: &mut Tally) -> Result<(), AwsError> {
    let request =
        actor.clients.sagemaker.list_feature_groups().feature_group_status_equals(FeatureGroupStatus::Created);
    let listed = running!(request, "ListFeatureGroups", feature_group_summaries, feature_group_arn, feature_group_name);
    let (mut candidates, names) = actor.candidates(cx.scope, FEATURE_GROUP, &listed).await?;
    candidates.retain(|c| c.active);
    let targets = actor.select(action, candidates, ResultKind::AlreadyDeleted, tally);
    actor
        .execute(action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move {
                let described = actor
                    .clients
                    .sagemaker
                    .describe_feature_group()
                    .feature_group_name(&name)
                    .send()
                    .await
                    .aws("DescribeFeatureGroup")?;
                Ok(ResultKind::Reported { detail: feature_group_detail(&described) })
            }
        })
        .await;
    Ok(())
}

/// What a space's storage holds, for people (pure).
fn space_detail(size_gib: Option<i32>) -> String {
    match size_gib {
        Some(gib) => format!("EBS volume {gib} GiB"),
        None => "EBS volume of the domain's default size (the space sets none)".to_owned(),
    }
}

/// What a feature group's stores hold, for people (pure).
fn feature_group_detail(described: &DescribeFeatureGroupOutput) -> String {
    let online = described.online_store_config().filter(|c| c.enable_online_store() == Some(true));
    let Some(online) = online else {
        let offline = described.offline_store_config().and_then(|c| c.s3_storage_config());
        return match offline.and_then(|s| s.resolved_output_s3_uri().or(s.s3_uri())) {
            Some(uri) => format!("no online store; offline store in S3 ({uri})"),
            None => "no online store".to_owned(),
        };
    };
    let kind = online.storage_type().map(|t| format!(" ({t})")).unwrap_or_default();
    let held = match described.online_store_total_size_bytes() {
        Some(bytes) => format!("holding {}", bytes_for_people(bytes)),
        None => "size not reported".to_owned(),
    };
    let ttl = match online.ttl_duration().and_then(|t| Some((t.value()?, t.unit()?))) {
        Some((value, unit)) => format!(", records expire after {value} {unit}"),
        None => ", records never expire".to_owned(),
    };
    format!("online store{kind} {held}{ttl}")
}

/// Bytes in binary units with one decimal (`5.0 GiB`), plain below a KiB (pure).
fn bytes_for_people(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::types::{
        OfflineStoreConfig, OnlineStoreConfig, S3StorageConfig, StorageType, TtlDuration, TtlDurationUnit,
    };

    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes_for_people(0), "0 B");
        assert_eq!(bytes_for_people(1023), "1023 B");
        assert_eq!(bytes_for_people(1536), "1.5 KiB");
        assert_eq!(bytes_for_people(5 << 30), "5.0 GiB");
    }

    #[test]
    fn a_spaces_detail_names_its_ebs_volume_or_the_domains_default() {
        assert_eq!(space_detail(Some(100)), "EBS volume 100 GiB");
        assert!(space_detail(None).contains("domain's default"));
    }

    #[test]
    fn a_feature_groups_detail_names_its_online_store_size_and_expiry_or_its_offline_store() {
        let online = DescribeFeatureGroupOutput::builder()
            .online_store_config(
                OnlineStoreConfig::builder()
                    .enable_online_store(true)
                    .storage_type(StorageType::Standard)
                    .ttl_duration(TtlDuration::builder().value(30).unit(TtlDurationUnit::Days).build())
                    .build(),
            )
            .online_store_total_size_bytes(5 << 30)
            .build();
        assert_eq!(
            feature_group_detail(&online),
            "online store (Standard) holding 5.0 GiB, records expire after 30 Days"
        );
        let offline = DescribeFeatureGroupOutput::builder()
            .offline_store_config(
                OfflineStoreConfig::builder()
                    .s3_storage_config(S3StorageConfig::builder().s3_uri("s3://bucket/fg").build())
                    .build(),
            )
            .build();
        assert_eq!(feature_group_detail(&offline), "no online store; offline store in S3 (s3://bucket/fg)");
    }
}
