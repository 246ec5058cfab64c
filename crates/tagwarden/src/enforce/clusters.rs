//! `scale-clusters`: the instance groups of InService HyperPod clusters in scope down to the rule's
//! `clusters.min_instances` with `UpdateCluster` (a cluster is never deleted), after recording every group's
//! instance count in the ledger. `restore` puts the recorded counts back with the same call.

use aws_sdk_sagemaker::operation::describe_cluster::DescribeClusterOutput;
use aws_sdk_sagemaker::types::{ClusterInstanceGroupDetails, ClusterInstanceGroupSpecification, ClusterStatus};
use futures::future::BoxFuture;

use super::actor::Actor;
use super::ledger::{Before, Undo};
use super::report::{ResultKind, Tally};
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};

/// The `scale-clusters` row.
pub(crate) struct ScaleClusters;

/// The result name of `restore`.
const RESTORE: &str = "restore-cluster";

impl EnforcementAction for ScaleClusters {
    fn action(&self) -> Action {
        Action::ScaleClusters
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:cluster"]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListClusters", Grant::Any),
            ("sagemaker:DescribeCluster", Grant::SageMaker),
            ("sagemaker:UpdateCluster", Grant::SageMaker),
        ]
    }

    fn describe(&self, rule: &BudgetRule) -> String {
        format!(
            "scale the instance groups of InService HyperPod clusters in scope down to {} instance(s) each",
            rule.clusters_min_instances
        )
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(scale_clusters(actor, cx, tally))
    }

    fn restore_name(&self) -> Option<&'static str> {
        Some(RESTORE)
    }

    fn undo<'a>(&'a self, actor: &'a Actor<'a>, undo: &'a Undo) -> BoxFuture<'a, Result<ResultKind, AwsError>> {
        Box::pin(restore_cluster(actor, undo))
    }
}

async fn scale_clusters(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    // NOTE: ListClusters has no status filter: InService ones are kept here.
    let mut running: Vec<(String, String)> = Vec::new();
    let mut pages = actor.clients.sagemaker.list_clusters().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for cluster in page.aws("ListClusters")?.cluster_summaries() {
            if cluster.cluster_status() != Some(&ClusterStatus::Inservice) {
                continue;
            }
            if let (Some(arn), Some(name)) = (cluster.cluster_arn(), cluster.cluster_name()) {
                running.push((arn.to_owned(), name.to_owned()));
            }
        }
    }
    let action = Action::ScaleClusters.to_string();
    let (candidates, names) = actor.candidates(cx.scope, "sagemaker:cluster", &running).await?;
    let targets = actor.select(&action, candidates, ResultKind::NotInService, tally);
    let min = cx.rule.clusters_min_instances;
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move { scale_cluster(actor, cx, &target.arn, &name, min).await }
        })
        .await;
    Ok(())
}

fn count_of(group: &ClusterInstanceGroupDetails) -> Option<i32> {
    group.target_count().or(group.current_count())
}

/// The update of one instance group to `count`, from its description (UpdateCluster takes whole groups).
fn specification(group: &ClusterInstanceGroupDetails, count: i32) -> ClusterInstanceGroupSpecification {
    ClusterInstanceGroupSpecification::builder()
        .set_instance_group_name(group.instance_group_name().map(str::to_owned))
        .set_instance_type(group.instance_type().cloned())
        .set_life_cycle_config(group.life_cycle_config().cloned())
        .set_execution_role(group.execution_role().map(str::to_owned))
        .set_threads_per_core(group.threads_per_core())
        .set_instance_storage_configs(Some(group.instance_storage_configs().to_vec()).filter(|c| !c.is_empty()))
        .set_on_start_deep_health_checks(Some(group.on_start_deep_health_checks().to_vec()).filter(|c| !c.is_empty()))
        .set_training_plan_arn(group.training_plan_arn().map(str::to_owned))
        .set_override_vpc_config(group.override_vpc_config().cloned())
        .set_scheduled_update_config(group.scheduled_update_config().cloned())
        // NOTE: a group's own minimum above the count would refuse the update.
        .set_min_instance_count(group.min_count().map(|m| m.min(count)))
        .instance_count(count)
        .build()
}

/// The groups above `min`: `(name, count)` (pure).
fn above(described: &DescribeClusterOutput, min: i32) -> Vec<(String, i32)> {
    described
        .instance_groups()
        .iter()
        .filter_map(|g| Some((g.instance_group_name()?.to_owned(), count_of(g)?)))
        .filter(|(_, count)| *count > min)
        .collect()
}

async fn update(
    actor: &Actor<'_>,
    described: &DescribeClusterOutput,
    name: &str,
    counts: &[(String, i32)],
) -> Result<(), AwsError> {
    let groups: Vec<ClusterInstanceGroupSpecification> = counts
        .iter()
        .filter_map(|(group, count)| {
            let details = described.instance_groups().iter().find(|g| g.instance_group_name() == Some(group))?;
            Some(specification(details, *count))
        })
        .collect();
    actor
        .clients
        .sagemaker
        .update_cluster()
        .cluster_name(name)
        .set_instance_groups(Some(groups))
        .send()
        .await
        .aws("UpdateCluster")?;
    Ok(())
}

async fn describe(actor: &Actor<'_>, name: &str) -> Result<DescribeClusterOutput, AwsError> {
    actor.clients.sagemaker.describe_cluster().cluster_name(name).send().await.aws("DescribeCluster")
}

async fn scale_cluster(
    actor: &Actor<'_>,
    cx: &Context<'_>,
    arn: &str,
    name: &str,
    min: i32,
) -> Result<ResultKind, AwsError> {
    let described = describe(actor, name).await?;
    let groups = above(&described, min);
    if groups.is_empty() {
        return Ok(ResultKind::AlreadyScaled);
    }
    // NOTE: the ledger first, so a failure after it never loses the counts to restore.
    let before = Before::Cluster { name: name.to_owned(), instance_groups: groups.clone() };
    cx.remember(actor, Action::ScaleClusters, arn, before).await?;
    let lowered: Vec<(String, i32)> = groups.into_iter().map(|(group, _)| (group, min)).collect();
    update(actor, &described, name, &lowered).await?;
    Ok(ResultKind::Done)
}

/// Puts the recorded instance counts back (groups deleted since are left out).
async fn restore_cluster(actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
    let Before::Cluster { name, instance_groups } = &undo.before else {
        return Ok(ResultKind::failed("the ledger's record is not a cluster's"));
    };
    let described = match describe(actor, name).await {
        Ok(described) => described,
        Err(err) if err.is_not_found() => return Ok(ResultKind::ResourceGone),
        Err(err) => return Err(err),
    };
    update(actor, &described, name, instance_groups).await?;
    Ok(ResultKind::Done)
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::types::ClusterInstanceType;

    use super::*;

    fn group(name: &str, count: i32, min: Option<i32>) -> ClusterInstanceGroupDetails {
        ClusterInstanceGroupDetails::builder()
            .instance_group_name(name)
            .instance_type(ClusterInstanceType::MlP548Xlarge)
            .execution_role("arn:aws:iam::123456789012:role/hp")
            .threads_per_core(1)
            .set_min_count(min)
            .current_count(count)
            .target_count(count)
            .build()
    }

    #[test]
    fn only_groups_above_the_minimum_are_scaled() {
        let described = DescribeClusterOutput::builder()
            .instance_groups(group("gpu", 8, None))
            .instance_groups(group("head", 1, None))
            .build();
        assert_eq!(above(&described, 1), [("gpu".to_owned(), 8)]);
        assert!(above(&described, 8).is_empty());
    }

    #[test]
    fn an_update_keeps_the_groups_type_and_role_and_lowers_its_own_minimum_to_the_count() {
        let spec = specification(&group("gpu", 8, Some(4)), 1);
        assert_eq!(spec.instance_count(), Some(1));
        assert_eq!(spec.min_instance_count(), Some(1), "a group minimum above the count would refuse it");
        assert_eq!(spec.instance_type(), Some(&ClusterInstanceType::MlP548Xlarge));
        assert_eq!(spec.execution_role(), Some("arn:aws:iam::123456789012:role/hp"));
        assert_eq!(specification(&group("gpu", 1, Some(4)), 8).min_instance_count(), Some(4), "restored as it was");
    }
}
