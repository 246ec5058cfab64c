//! `scale-endpoints`: scale InService endpoints in scope down to the rule's `min_instances` (after writing
//! their previous counts in the `tagwarden:scaled-from` marker), or delete them when the rule says
//! `endpoints: {delete: true}`. `restore` scales marked endpoints back to the recorded counts.

use aws_sdk_sagemaker::types::{DesiredWeightAndCapacity, EndpointStatus};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::plan::Candidate;
use super::report::ResultKind;
use super::report::Tally;
use super::{Context, EnforcementAction, SCALED_BY_TAG, SCALED_FROM_TAG};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule, EndpointAction};
use crate::tag_rules::sanitize_value;

/// The `scale-endpoints` row.
pub(crate) struct ScaleEndpoints;

/// The result name of `restore`.
const RESTORE: &str = "restore-endpoint";

impl EnforcementAction for ScaleEndpoints {
    fn action(&self) -> Action {
        Action::ScaleEndpoints
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:endpoint"]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListEndpoints", Grant::Any),
            ("sagemaker:DescribeEndpoint", Grant::SageMaker),
            ("sagemaker:UpdateEndpointWeightsAndCapacities", Grant::SageMaker),
            ("sagemaker:DeleteEndpoint", Grant::SageMaker),
            // the `tagwarden:scaled-*` markers
            ("sagemaker:AddTags", Grant::SageMakerMarkers),
            ("sagemaker:DeleteTags", Grant::SageMakerMarkers),
        ]
    }

    fn describe(&self, rule: &BudgetRule) -> String {
        match rule.endpoints {
            EndpointAction::Delete => "delete InService endpoints in scope".to_owned(),
            EndpointAction::ScaleTo(min) => format!("scale InService endpoints in scope down to {min} instance(s)"),
        }
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(scale_endpoints(actor, cx, tally))
    }

    fn restore<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        marker: Option<&'a str>,
        dry_run: bool,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(restore_endpoints(actor, marker, dry_run, tally))
    }
}

async fn scale_endpoints(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let request = actor.clients.sagemaker.list_endpoints().status_equals(EndpointStatus::InService);
    let running = running!(request, "ListEndpoints", endpoints, endpoint_arn, endpoint_name);
    let inactive = match cx.rule.endpoints {
        EndpointAction::Delete => ResultKind::AlreadyDeleted,
        EndpointAction::ScaleTo(_) => ResultKind::NotInService,
    };
    let action = Action::ScaleEndpoints.to_string();
    let (candidates, names) = actor.candidates(cx.scope, "sagemaker:endpoint", &running).await?;
    let targets = actor.select(&action, candidates, inactive, tally);
    let marker = sanitize_value(&cx.alert.budget_name);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            let marker = marker.clone();
            async move {
                match cx.rule.endpoints {
                    EndpointAction::Delete => {
                        actor
                            .clients
                            .sagemaker
                            .delete_endpoint()
                            .endpoint_name(&name)
                            .send()
                            .await
                            .aws("DeleteEndpoint")?;
                        Ok(ResultKind::Done)
                    }
                    EndpointAction::ScaleTo(min) => scale_endpoint(actor, &target, &name, min, marker).await,
                }
            }
        })
        .await;
    Ok(())
}

async fn scale_endpoint(
    actor: &Actor<'_>,
    target: &Candidate,
    name: &str,
    min: i32,
    marker: String,
) -> Result<ResultKind, AwsError> {
    let sm = &actor.clients.sagemaker;
    let described = sm.describe_endpoint().endpoint_name(name).send().await.aws("DescribeEndpoint")?;
    let above: Vec<(String, i32)> = described
        .production_variants()
        .iter()
        .filter_map(|v| {
            Some((v.variant_name()?.to_owned(), v.current_instance_count().or(v.desired_instance_count())?))
        })
        .filter(|(_, count)| *count > min)
        .collect();
    if above.is_empty() {
        return Ok(ResultKind::AlreadyScaled);
    }
    let from = above.iter().map(|(v, c)| format!("{v}={c}")).collect::<Vec<_>>().join(" ");
    // NOTE: the marker goes first, so a failure after it never loses the counts to restore.
    let previous = target.tags.get(SCALED_FROM_TAG).cloned();
    actor.mark(&target.arn, &[(SCALED_BY_TAG, marker), (SCALED_FROM_TAG, previous.unwrap_or(from))]).await?;
    let desired = above
        .iter()
        .map(|(variant, _)| {
            DesiredWeightAndCapacity::builder().variant_name(variant).desired_instance_count(min).build()
        })
        .collect();
    sm.update_endpoint_weights_and_capacities()
        .endpoint_name(name)
        .set_desired_weights_and_capacities(Some(desired))
        .send()
        .await
        .aws("UpdateEndpointWeightsAndCapacities")?;
    Ok(ResultKind::Done)
}

async fn restore_endpoints(
    actor: &Actor<'_>,
    marker: Option<&str>,
    dry_run: bool,
    tally: &mut Tally,
) -> Result<(), AwsError> {
    let targets = actor.marked_resources(marker, SCALED_BY_TAG, "sagemaker:endpoint").await?;
    actor
        .execute(RESTORE, targets, dry_run, ResultKind::EndpointGone, tally, |target| async move {
            let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let counts = target.tags.get(SCALED_FROM_TAG).map(|s| parse_counts(s)).unwrap_or_default();
            let desired: Vec<_> = counts
                .into_iter()
                .map(|(variant, count)| {
                    DesiredWeightAndCapacity::builder().variant_name(variant).desired_instance_count(count).build()
                })
                .collect();
            if !desired.is_empty() {
                actor
                    .clients
                    .sagemaker
                    .update_endpoint_weights_and_capacities()
                    .endpoint_name(&name)
                    .set_desired_weights_and_capacities(Some(desired))
                    .send()
                    .await
                    .aws("UpdateEndpointWeightsAndCapacities")?;
            }
            actor.unmark(&target.arn, &[SCALED_BY_TAG, SCALED_FROM_TAG]).await?;
            Ok(ResultKind::Done)
        })
        .await;
    Ok(())
}

/// `variant=count variant=count` -> pairs; malformed parts are ignored.
fn parse_counts(text: &str) -> Vec<(String, i32)> {
    text.split_whitespace()
        .filter_map(|part| {
            let (variant, count) = part.split_once('=')?;
            Some((variant.to_owned(), count.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_counts_round_trip_through_the_marker_tag() {
        assert_eq!(parse_counts("AllTraffic=3 canary=1 junk"), [("AllTraffic".to_string(), 3), ("canary".into(), 1)]);
    }
}
