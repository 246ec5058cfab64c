//! Application Auto Scaling for the scaling actions: a scalable target (an endpoint variant's instance count,
//! an inference component's copy count) keeps its resource within MinCapacity/MaxCapacity, so a scale-down
//! below the minimum is undone by the target. The actions read the target first, record its bounds in the
//! ledger, and lower them with the count; `restore` registers the recorded bounds again.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

use super::actor::Actor;
use super::ledger::Bounds;
use crate::aws::{AwsError, ResultExt};

/// The scalable dimension of an endpoint variant's instance count.
pub(crate) const VARIANT_INSTANCES: &str = "sagemaker:variant:DesiredInstanceCount";
/// The scalable dimension of an inference component's copy count.
pub(crate) const COMPONENT_COPIES: &str = "sagemaker:inference-component:DesiredCopyCount";

/// The resource id of an endpoint variant's scalable target.
pub(crate) fn variant_id(endpoint: &str, variant: &str) -> String {
    format!("endpoint/{endpoint}/variant/{variant}")
}

/// The resource id of an inference component's scalable target.
pub(crate) fn component_id(component: &str) -> String {
    format!("inference-component/{component}")
}

/// The registered targets among `resource_ids` in `dimension`: `(resource id, min, max)`.
pub(crate) async fn targets(
    actor: &Actor<'_>,
    dimension: &str,
    resource_ids: &[String],
) -> Result<Vec<Bounds>, AwsError> {
    let mut found = Vec::new();
    // NOTE: DescribeScalableTargets takes at most 50 resource ids per call.
    for chunk in resource_ids.chunks(50) {
        let mut pages = actor
            .clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(ScalableDimension::from(dimension))
            .set_resource_ids(Some(chunk.to_vec()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for target in page.aws("DescribeScalableTargets")?.scalable_targets() {
                found.push(Bounds {
                    resource_id: target.resource_id().to_owned(),
                    dimension: dimension.to_owned(),
                    min: target.min_capacity(),
                    max: target.max_capacity(),
                });
            }
        }
    }
    Ok(found)
}

/// The bounds that hold a resource at `count`: the minimum lowered to it, the maximum too (so that a
/// scaling policy cannot put the capacity back); `None` when the target already allows no more than `count`.
pub(crate) fn lowered(bounds: &Bounds, count: i32) -> Option<(i32, i32)> {
    let min = bounds.min.min(count);
    let max = bounds.max.min(count).max(min);
    ((min, max) != (bounds.min, bounds.max)).then_some((min, max))
}

/// Registers `(min, max)` on an existing target (RegisterScalableTarget updates it in place).
pub(crate) async fn register(actor: &Actor<'_>, bounds: &Bounds, min: i32, max: i32) -> Result<(), AwsError> {
    actor
        .clients
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::from(bounds.dimension.as_str()))
        .resource_id(&bounds.resource_id)
        .min_capacity(min)
        .max_capacity(max)
        .send()
        .await
        .aws("RegisterScalableTarget")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(min: i32, max: i32) -> Bounds {
        Bounds { resource_id: variant_id("ep", "AllTraffic"), dimension: VARIANT_INSTANCES.into(), min, max }
    }

    #[test]
    fn a_target_whose_minimum_is_above_the_count_is_lowered_to_it_maximum_included() {
        assert_eq!(lowered(&bounds(2, 6), 1), Some((1, 1)));
        assert_eq!(lowered(&bounds(1, 6), 1), Some((1, 1)), "the maximum alone would let a policy scale up");
        assert_eq!(lowered(&bounds(0, 6), 1), Some((0, 1)), "a lower minimum is kept");
    }

    #[test]
    fn a_target_that_already_holds_the_count_is_left_alone() {
        assert_eq!(lowered(&bounds(1, 1), 1), None);
        assert_eq!(lowered(&bounds(0, 1), 1), None);
        assert_eq!(lowered(&bounds(0, 0), 1), None);
    }
}
