//! `scale-endpoints`: scale InService endpoints in scope down to the rule's `min_instances` (after recording
//! their previous counts in the ledger), or delete them when the rule says `endpoints: {delete: true}`.
//! `restore` scales the endpoints the ledger recorded back to the recorded counts; the
//! `tagwarden:scaled-by`/`scaled-from` tags are hints for people, never read.

use aws_sdk_sagemaker::types::{DesiredWeightAndCapacity, EndpointStatus};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::ledger::{Before, Undo};
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

    fn restore_name(&self) -> Option<&'static str> {
        Some(RESTORE)
    }

    fn undo<'a>(&'a self, actor: &'a Actor<'a>, undo: &'a Undo) -> BoxFuture<'a, Result<ResultKind, AwsError>> {
        Box::pin(restore_endpoint(actor, undo))
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
                    EndpointAction::ScaleTo(min) => scale_endpoint(actor, cx, &target, &name, min, marker).await,
                }
            }
        })
        .await;
    Ok(())
}

async fn scale_endpoint(
    actor: &Actor<'_>,
    cx: &Context<'_>,
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
    // NOTE: the ledger first, so a failure after it never loses the counts to restore.
    let before = Before::Endpoint { name: name.to_owned(), variants: above.clone() };
    cx.remember(actor, Action::ScaleEndpoints, &target.arn, before).await?;
    let from = above.iter().map(|(v, c)| format!("{v}={c}")).collect::<Vec<_>>().join(" ");
    actor.mark(&target.arn, &[(SCALED_BY_TAG, marker), (SCALED_FROM_TAG, from)]).await?;
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

/// Scales an endpoint the ledger recorded back to its recorded instance counts.
async fn restore_endpoint(actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
    let Before::Endpoint { name, variants } = &undo.before else {
        return Ok(ResultKind::failed("the ledger's record is not an endpoint's"));
    };
    let desired: Vec<_> = variants
        .iter()
        .map(|(variant, count)| {
            DesiredWeightAndCapacity::builder().variant_name(variant).desired_instance_count(*count).build()
        })
        .collect();
    let updated = actor
        .clients
        .sagemaker
        .update_endpoint_weights_and_capacities()
        .endpoint_name(name)
        .set_desired_weights_and_capacities(Some(desired))
        .send()
        .await
        .aws("UpdateEndpointWeightsAndCapacities");
    match updated {
        Ok(_) => {}
        Err(err) if err.is_not_found() => return Ok(ResultKind::EndpointGone),
        Err(err) => return Err(err),
    }
    match actor.unmark(&undo.resource, &[SCALED_BY_TAG, SCALED_FROM_TAG]).await {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(ResultKind::Done),
    }
}
