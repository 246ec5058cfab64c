//! `scale-endpoints`: scale InService endpoints in scope down to the rule's `min_instances` (after recording
//! their previous counts in the ledger), or delete them when the rule says `endpoints: {delete: true}`.
//! A variant registered with Application Auto Scaling has its scalable target's MinCapacity/MaxCapacity
//! recorded and lowered with the count (or the target would put the instances back); a serverless variant
//! has its provisioned concurrency lowered to 1 (recorded), and one without any is `not-scalable`.
//! `restore` scales the endpoints the ledger recorded back to the recorded counts and bounds; the
//! `tagwarden:scaled-by`/`scaled-from` tags are hints for people, never read. A deletion records the
//! endpoint's config name and variants first; `restore` creates the endpoint again from that config (while it
//! exists).

use aws_sdk_sagemaker::types::{
    DesiredWeightAndCapacity, EndpointStatus, ProductionVariantServerlessUpdateConfig, ProductionVariantSummary,
};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::ledger::{Before, Bounds, DeployedVariant, Undo};
use super::plan::Candidate;
use super::report::ResultKind;
use super::report::Tally;
use super::scalable;
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
            // the variants' scalable targets, lowered with the counts and restored with them
            ("application-autoscaling:DescribeScalableTargets", Grant::Any),
            ("application-autoscaling:RegisterScalableTarget", Grant::Any),
            ("sagemaker:DeleteEndpoint", Grant::SageMaker),
            // `restore` of a deleted endpoint: CreateEndpoint from the recorded config, checked first
            ("sagemaker:CreateEndpoint", Grant::SageMaker),
            ("sagemaker:DescribeEndpointConfig", Grant::SageMaker),
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
                    EndpointAction::Delete => delete_endpoint(actor, cx, &target, &name).await,
                    EndpointAction::ScaleTo(min) => scale_endpoint(actor, cx, &target, &name, min, marker).await,
                }
            }
        })
        .await;
    Ok(())
}

/// Deletes an endpoint after recording its config name and variants (what `restore` creates it from again).
async fn delete_endpoint(
    actor: &Actor<'_>,
    cx: &Context<'_>,
    target: &Candidate,
    name: &str,
) -> Result<ResultKind, AwsError> {
    let sm = &actor.clients.sagemaker;
    let described = sm.describe_endpoint().endpoint_name(name).send().await.aws("DescribeEndpoint")?;
    let Some(endpoint_config) = described.endpoint_config_name().map(str::to_owned) else {
        return Ok(ResultKind::failed(
            "DescribeEndpoint gave no EndpointConfigName: not deleted (it could not be restored)",
        ));
    };
    let before = Before::DeletedEndpoint {
        name: name.to_owned(),
        endpoint_config,
        variants: deployed(described.production_variants()),
    };
    // NOTE: the ledger first, as for a scale-down: what is not recorded could never be created again.
    cx.remember(actor, Action::ScaleEndpoints, &target.arn, before).await?;
    sm.delete_endpoint().endpoint_name(name).send().await.aws("DeleteEndpoint")?;
    Ok(ResultKind::Done)
}

/// Each variant's instance count and weight as `DescribeEndpoint` gave them (pure).
fn deployed(variants: &[ProductionVariantSummary]) -> Vec<DeployedVariant> {
    variants
        .iter()
        .filter_map(|v| {
            let variant = v.variant_name()?.to_owned();
            let instances = v.current_instance_count().or(v.desired_instance_count());
            let weight = v.current_weight().or(v.desired_weight());
            Some(DeployedVariant { variant, instances, weight })
        })
        .collect()
}

/// Creates a deleted endpoint again from the endpoint config the ledger recorded; says why not when the
/// config is gone or an endpoint of that name exists again.
// NOTE: the new endpoint starts from the config's own initial counts and weights (it is `Creating`, and
// UpdateEndpointWeightsAndCapacities needs `InService`); the recorded ones are in the ledger's entry. Its tags
// are not copied: the enforcer may write only `tagwarden:*` tags; the auto-tagger tags it as any new endpoint.
async fn recreate_endpoint(actor: &Actor<'_>, name: &str, endpoint_config: &str) -> Result<ResultKind, AwsError> {
    let sm = &actor.clients.sagemaker;
    match sm.describe_endpoint().endpoint_name(name).send().await.aws("DescribeEndpoint") {
        Ok(_) => return Ok(ResultKind::NotRecreated { reason: format!("an endpoint named {name} exists again") }),
        Err(err) if err.is_not_found() => {}
        Err(err) => return Err(err),
    }
    match sm.describe_endpoint_config().endpoint_config_name(endpoint_config).send().await.aws("DescribeEndpointConfig")
    {
        Ok(_) => {}
        Err(err) if err.is_not_found() => {
            let reason = format!("its endpoint config {endpoint_config} no longer exists; create the endpoint by hand");
            return Ok(ResultKind::NotRecreated { reason });
        }
        Err(err) => return Err(err),
    }
    sm.create_endpoint()
        .endpoint_name(name)
        .endpoint_config_name(endpoint_config)
        .send()
        .await
        .aws("CreateEndpoint")?;
    Ok(ResultKind::Done)
}

/// What scaling an endpoint's variants down changes: instance counts, scalable targets, provisioned concurrency.
#[derive(Debug, Default, PartialEq)]
struct Scaling {
    /// `(variant, instance count)` above the minimum.
    instances: Vec<(String, i32)>,
    /// `(variant, provisioned concurrency)` of serverless variants above the floor.
    provisioned: Vec<(String, i32)>,
    /// Serverless variants with nothing to lower (no provisioned concurrency).
    on_demand: usize,
    /// Every instance variant, at the minimum or above: its scalable target may still scale it up.
    instance_variants: Vec<String>,
}

/// The smallest provisioned concurrency the API accepts (it cannot be removed without a new endpoint config).
const CONCURRENCY_FLOOR: i32 = 1;

/// What to lower on an endpoint's variants (pure).
fn scaling_of(variants: &[ProductionVariantSummary], min: i32) -> Scaling {
    let mut scaling = Scaling::default();
    for v in variants {
        let Some(name) = v.variant_name() else { continue };
        let serverless = v.current_serverless_config().or(v.desired_serverless_config());
        if let Some(config) = serverless {
            match config.provisioned_concurrency() {
                Some(p) if p > CONCURRENCY_FLOOR => scaling.provisioned.push((name.to_owned(), p)),
                Some(_) => {}
                None => scaling.on_demand += 1,
            }
            continue;
        }
        let Some(count) = v.current_instance_count().or(v.desired_instance_count()) else { continue };
        scaling.instance_variants.push(name.to_owned());
        if count > min {
            scaling.instances.push((name.to_owned(), count));
        }
    }
    scaling
}

fn desired(
    instances: &[(String, i32)],
    provisioned: &[(String, i32)],
    to: Option<i32>,
) -> Vec<DesiredWeightAndCapacity> {
    let counts = instances.iter().map(|(variant, count)| {
        DesiredWeightAndCapacity::builder().variant_name(variant).desired_instance_count(to.unwrap_or(*count)).build()
    });
    let concurrency = provisioned.iter().map(|(variant, p)| {
        let update = ProductionVariantServerlessUpdateConfig::builder()
            .provisioned_concurrency(to.map_or(*p, |_| CONCURRENCY_FLOOR))
            .build();
        DesiredWeightAndCapacity::builder().variant_name(variant).serverless_update_config(update).build()
    });
    counts.chain(concurrency).collect()
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
    let scaling = scaling_of(described.production_variants(), min);
    if scaling.on_demand > 0 && scaling.on_demand == described.production_variants().len() {
        let reason = "serverless without provisioned concurrency: nothing bills while it is idle";
        return Ok(ResultKind::NotScalable { reason: reason.into() });
    }
    // NOTE: a registered scalable target puts the instances back up to its minimum, and its maximum lets a
    // scaling policy add them again (even to a variant already at the minimum): read it, lower it too.
    let ids: Vec<String> = scaling.instance_variants.iter().map(|v| scalable::variant_id(name, v)).collect();
    let targets =
        if ids.is_empty() { Vec::new() } else { scalable::targets(actor, scalable::VARIANT_INSTANCES, &ids).await? };
    let lowered: Vec<(Bounds, (i32, i32))> =
        targets.into_iter().filter_map(|b| scalable::lowered(&b, min).map(|to| (b, to))).collect();
    if scaling.instances.is_empty() && scaling.provisioned.is_empty() && lowered.is_empty() {
        return Ok(ResultKind::AlreadyScaled);
    }
    // NOTE: the ledger first, so a failure after it never loses the counts to restore.
    let before = Before::Endpoint {
        name: name.to_owned(),
        variants: scaling.instances.clone(),
        scalable_targets: lowered.iter().map(|(b, _)| b.clone()).collect(),
        provisioned_concurrency: scaling.provisioned.clone(),
    };
    cx.remember(actor, Action::ScaleEndpoints, &target.arn, before).await?;
    let from = scaling.instances.iter().chain(&scaling.provisioned).map(|(v, c)| format!("{v}={c}"));
    actor.mark(&target.arn, &[(SCALED_BY_TAG, marker), (SCALED_FROM_TAG, from.collect::<Vec<_>>().join(" "))]).await?;
    for (bounds, (low, high)) in &lowered {
        scalable::register(actor, bounds, *low, *high).await?;
    }
    let down = desired(&scaling.instances, &scaling.provisioned, Some(min));
    if !down.is_empty() {
        sm.update_endpoint_weights_and_capacities()
            .endpoint_name(name)
            .set_desired_weights_and_capacities(Some(down))
            .send()
            .await
            .aws("UpdateEndpointWeightsAndCapacities")?;
    }
    Ok(ResultKind::Done)
}

/// Scales an endpoint the ledger recorded back to its recorded instance counts, provisioned concurrency and
/// scalable targets' bounds; creates one it recorded deleting again.
async fn restore_endpoint(actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
    let (name, variants, scalable_targets, provisioned_concurrency) = match &undo.before {
        Before::Endpoint { name, variants, scalable_targets, provisioned_concurrency } => {
            (name, variants, scalable_targets, provisioned_concurrency)
        }
        Before::DeletedEndpoint { name, endpoint_config, .. } => {
            return recreate_endpoint(actor, name, endpoint_config).await;
        }
        _ => return Ok(ResultKind::failed("the ledger's record is not an endpoint's")),
    };
    let back = desired(variants, provisioned_concurrency, None);
    let sm = &actor.clients.sagemaker;
    // NOTE: only the bounds were lowered (the variants were at the minimum already): check that it exists.
    let updated = if back.is_empty() {
        sm.describe_endpoint().endpoint_name(name).send().await.aws("DescribeEndpoint").map(drop)
    } else {
        let update = sm.update_endpoint_weights_and_capacities().endpoint_name(name);
        let update = update.set_desired_weights_and_capacities(Some(back));
        update.send().await.aws("UpdateEndpointWeightsAndCapacities").map(drop)
    };
    match updated {
        Ok(()) => {}
        Err(err) if err.is_not_found() => return Ok(ResultKind::EndpointGone),
        Err(err) => return Err(err),
    }
    for bounds in scalable_targets {
        // NOTE: after the counts, so that the restored minimum never asks for more than the endpoint has.
        scalable::register(actor, bounds, bounds.min, bounds.max).await?;
    }
    match actor.unmark(&undo.resource, &[SCALED_BY_TAG, SCALED_FROM_TAG]).await {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(ResultKind::Done),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::types::ProductionVariantServerlessConfig;

    use super::*;

    fn instances(name: &str, count: i32) -> ProductionVariantSummary {
        ProductionVariantSummary::builder().variant_name(name).current_instance_count(count).build()
    }

    fn serverless(name: &str, provisioned: Option<i32>) -> ProductionVariantSummary {
        let config = ProductionVariantServerlessConfig::builder()
            .memory_size_in_mb(2048)
            .max_concurrency(20)
            .set_provisioned_concurrency(provisioned)
            .build();
        ProductionVariantSummary::builder().variant_name(name).current_serverless_config(config).build()
    }

    #[test]
    fn instance_variants_above_the_minimum_and_provisioned_concurrency_above_one_are_lowered() {
        let variants = [instances("a", 3), instances("b", 1), serverless("c", Some(10)), serverless("d", Some(1))];
        let scaling = scaling_of(&variants, 1);
        assert_eq!(scaling.instances, [("a".to_owned(), 3)]);
        assert_eq!(scaling.provisioned, [("c".to_owned(), 10)]);
        assert_eq!(scaling.on_demand, 0);
        let down = desired(&scaling.instances, &scaling.provisioned, Some(1));
        assert_eq!(down[0].desired_instance_count(), Some(1));
        let update = down[1].serverless_update_config().and_then(|c| c.provisioned_concurrency());
        assert_eq!(update, Some(1), "the smallest provisioned concurrency the API accepts");
        let back = desired(&scaling.instances, &scaling.provisioned, None);
        assert_eq!(back[0].desired_instance_count(), Some(3));
        assert_eq!(back[1].serverless_update_config().and_then(|c| c.provisioned_concurrency()), Some(10));
    }

    #[test]
    fn a_serverless_variant_without_provisioned_concurrency_has_nothing_to_lower() {
        let scaling = scaling_of(&[serverless("only", None)], 0);
        assert_eq!(scaling, Scaling { on_demand: 1, ..Scaling::default() });
        let at_minimum = scaling_of(&[instances("a", 1)], 1);
        assert_eq!(at_minimum.instance_variants, ["a"], "its scalable target is still read");
        assert!(at_minimum.instances.is_empty());
    }

    #[test]
    fn a_deleted_endpoint_is_recorded_with_its_config_and_its_variants_as_described() {
        let weighted =
            ProductionVariantSummary::builder().variant_name("a").current_instance_count(3).current_weight(0.5).build();
        let variants = deployed(&[weighted, serverless("b", None)]);
        assert_eq!(variants[0], DeployedVariant { variant: "a".into(), instances: Some(3), weight: Some(0.5) });
        assert_eq!((variants[1].instances, variants[1].weight), (None, None), "serverless: no count");
        let before = Before::DeletedEndpoint { name: "ep".into(), endpoint_config: "ep-config".into(), variants };
        let text = serde_json::to_string(&before).unwrap();
        assert_eq!(serde_json::from_str::<Before>(&text).unwrap(), before, "{text}");
        assert_eq!(before.to_string(), "deleted, endpoint config ep-config a=3 (weight 0.5) b");
    }

    #[test]
    fn an_old_ledger_record_of_an_endpoint_reads_without_bounds_or_concurrency() {
        let before: Before =
            serde_json::from_str(r#"{"kind":"endpoint","name":"ep","variants":[["AllTraffic",3]]}"#).unwrap();
        let Before::Endpoint { scalable_targets, provisioned_concurrency, .. } = &before else { panic!() };
        assert!(scalable_targets.is_empty() && provisioned_concurrency.is_empty());
        assert_eq!(before.to_string(), "instances AllTraffic=3");
    }
}
