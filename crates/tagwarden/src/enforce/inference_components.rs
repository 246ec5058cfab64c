//! `scale-inference-components`: InService inference components in scope down to the rule's
//! `inference_components.min_copies` (`UpdateInferenceComponentRuntimeConfig` DesiredCopyCount), after
//! recording their copy count — and the bounds of their Application Auto Scaling target, lowered with it —
//! in the ledger. `restore` puts the recorded copy count and bounds back.

use aws_sdk_sagemaker::types::{InferenceComponentRuntimeConfig, InferenceComponentStatus};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::ledger::{Before, Undo};
use super::report::{ResultKind, Tally};
use super::{Context, EnforcementAction, scalable};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};

/// The `scale-inference-components` row.
pub(crate) struct ScaleInferenceComponents;

/// The result name of `restore`.
const RESTORE: &str = "restore-inference-component";

impl EnforcementAction for ScaleInferenceComponents {
    fn action(&self) -> Action {
        Action::ScaleInferenceComponents
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:inference-component"]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListInferenceComponents", Grant::Any),
            ("sagemaker:DescribeInferenceComponent", Grant::SageMaker),
            ("sagemaker:UpdateInferenceComponentRuntimeConfig", Grant::SageMaker),
            ("application-autoscaling:DescribeScalableTargets", Grant::Any),
            ("application-autoscaling:RegisterScalableTarget", Grant::Any),
        ]
    }

    fn describe(&self, rule: &BudgetRule) -> String {
        format!("scale InService inference components in scope down to {} copies", rule.inference_components_min_copies)
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(scale_components(actor, cx, tally))
    }

    fn restore_name(&self) -> Option<&'static str> {
        Some(RESTORE)
    }

    fn undo<'a>(&'a self, actor: &'a Actor<'a>, undo: &'a Undo) -> BoxFuture<'a, Result<ResultKind, AwsError>> {
        Box::pin(restore_component(actor, undo))
    }
}

async fn scale_components(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let request =
        actor.clients.sagemaker.list_inference_components().status_equals(InferenceComponentStatus::InService);
    let running = running!(
        request,
        "ListInferenceComponents",
        inference_components,
        inference_component_arn,
        inference_component_name
    );
    let action = Action::ScaleInferenceComponents.to_string();
    let (candidates, names) = actor.candidates(cx.scope, "sagemaker:inference-component", &running).await?;
    let targets = actor.select(&action, candidates, ResultKind::NotInService, tally);
    let min = cx.rule.inference_components_min_copies;
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move { scale_component(actor, cx, &target.arn, &name, min).await }
        })
        .await;
    Ok(())
}

async fn scale_component(
    actor: &Actor<'_>,
    cx: &Context<'_>,
    arn: &str,
    name: &str,
    min: i32,
) -> Result<ResultKind, AwsError> {
    let sm = &actor.clients.sagemaker;
    let described = sm
        .describe_inference_component()
        .inference_component_name(name)
        .send()
        .await
        .aws("DescribeInferenceComponent")?;
    let runtime = described.runtime_config();
    let Some(copies) = runtime.and_then(|r| r.desired_copy_count().or(r.current_copy_count())) else {
        return Ok(ResultKind::NotScalable { reason: "no copy count in its runtime config".into() });
    };
    // NOTE: read even at the minimum: the target's maximum lets a scaling policy add copies back.
    let ids = [scalable::component_id(name)];
    let target = scalable::targets(actor, scalable::COMPONENT_COPIES, &ids).await?.into_iter().next();
    let lowered = target.and_then(|b| scalable::lowered(&b, min).map(|to| (b, to)));
    if copies <= min && lowered.is_none() {
        return Ok(ResultKind::AlreadyScaled);
    }
    // NOTE: the ledger first, so a failure after it never loses the count to restore.
    let before = Before::InferenceComponent {
        name: name.to_owned(),
        copies,
        scalable_target: lowered.as_ref().map(|(b, _)| b.clone()),
    };
    cx.remember(actor, Action::ScaleInferenceComponents, arn, before).await?;
    if let Some((bounds, (low, high))) = &lowered {
        scalable::register(actor, bounds, *low, *high).await?;
    }
    if copies > min {
        set_copies(actor, name, min).await?;
    }
    Ok(ResultKind::Done)
}

async fn set_copies(actor: &Actor<'_>, name: &str, copies: i32) -> Result<(), AwsError> {
    actor
        .clients
        .sagemaker
        .update_inference_component_runtime_config()
        .inference_component_name(name)
        .desired_runtime_config(InferenceComponentRuntimeConfig::builder().copy_count(copies).build())
        .send()
        .await
        .aws("UpdateInferenceComponentRuntimeConfig")?;
    Ok(())
}

/// Puts the recorded copy count (and scalable target bounds) back.
async fn restore_component(actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
    let Before::InferenceComponent { name, copies, scalable_target } = &undo.before else {
        return Ok(ResultKind::failed("the ledger's record is not an inference component's"));
    };
    match set_copies(actor, name, *copies).await {
        Ok(()) => {}
        Err(err) if err.is_not_found() => return Ok(ResultKind::ResourceGone),
        Err(err) => return Err(err),
    }
    if let Some(bounds) = scalable_target {
        scalable::register(actor, bounds, bounds.min, bounds.max).await?;
    }
    Ok(ResultKind::Done)
}
