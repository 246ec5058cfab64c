//! `stop-inference-experiments`: end the `Running` inference experiments (shadow tests) in scope, keeping
//! production serving as it is. Not reversible (an ended experiment cannot be resumed), so `restore` does
//! nothing.
//!
//! A shadow test runs a shadow variant next to the endpoint's production variant and copies a share of the
//! live traffic to it: the shadow variant's instances are what the experiment costs. Stopping it with
//! `StopInferenceExperiment` requires an action per variant (`ModelVariantActions`): the production variant
//! (`ShadowModeConfig.SourceModelVariantName`, and any variant that is not a shadow) is `Retain`ed, so the
//! endpoint keeps serving exactly as before; the shadow variants (`ShadowModeConfig.ShadowModelVariants`) are
//! `Remove`d, which releases their instances. `Promote` is never chosen: a budget must not change which model
//! answers customers. The variants come from the experiment's own `DescribeInferenceExperiment` (its listing
//! carries no ARN either), not from anything a user can write.

use std::collections::HashMap;

use aws_sdk_sagemaker::operation::describe_inference_experiment::DescribeInferenceExperimentOutput;
use aws_sdk_sagemaker::types::{InferenceExperimentStatus, InferenceExperimentStopDesiredState, ModelVariantAction};
use futures::future::BoxFuture;

use super::actor::Actor;
use super::report::{ResultKind, Tally};
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};
use crate::resource::Stop;

/// The tagging API's type of an inference experiment.
const TAGGING_TYPE: &str = "sagemaker:inference-experiment";

/// The listing, the description (ARN and variants) and the stop.
const PERMISSIONS: &[Permission] = &[
    ("sagemaker:ListInferenceExperiments", Grant::Any),
    ("sagemaker:DescribeInferenceExperiment", Grant::SageMaker),
    (Stop::InferenceExperiment.iam_action(), Grant::SageMaker),
];

/// The `stop-inference-experiments` row.
pub(crate) struct StopInferenceExperiments;

impl EnforcementAction for StopInferenceExperiments {
    fn action(&self) -> Action {
        Action::StopInferenceExperiments
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &[TAGGING_TYPE]
    }

    fn permissions(&self) -> &'static [Permission] {
        PERMISSIONS
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "stop Running inference experiments in scope: shadow variants removed, production variants retained \
         (not reversible)"
            .into()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(stop_experiments(actor, cx, tally))
    }
}

async fn stop_experiments(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let mut described: HashMap<String, DescribeInferenceExperimentOutput> = HashMap::new();
    let mut running = Vec::new();
    let request = sm.list_inference_experiments().status_equals(InferenceExperimentStatus::Running);
    let mut pages = request.max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for summary in page.aws("ListInferenceExperiments")?.inference_experiments() {
            let Some(name) = summary.name() else { continue };
            // NOTE: the summaries carry no ARN (the scope is by ARN); the description also names the variants.
            let description = match describe(actor, name).await {
                Err(err) if err.is_not_found() => continue,
                other => other?,
            };
            let Some(arn) = description.arn() else { continue };
            running.push((arn.to_owned(), name.to_owned()));
            described.insert(arn.to_ascii_lowercase(), description);
        }
    }
    let action = Action::StopInferenceExperiments.to_string();
    let (candidates, _) = actor.candidates(cx.scope, TAGGING_TYPE, &running).await?;
    let targets = actor.select(&action, candidates, ResultKind::AlreadyStopped, tally);
    let reason = format!("stopped by Tagwarden: budget {} is over its limit", cx.alert.budget_name);
    let (described, reason) = (&described, reason.as_str());
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyStopped, tally, |target| async move {
            let Some(description) = described.get(&target.arn.to_ascii_lowercase()) else {
                return Ok(ResultKind::AlreadyStopped);
            };
            stop(actor, description, reason).await
        })
        .await;
    Ok(())
}

async fn describe(actor: &Actor<'_>, name: &str) -> Result<DescribeInferenceExperimentOutput, AwsError> {
    let sm = &actor.clients.sagemaker;
    sm.describe_inference_experiment().name(name).send().await.aws("DescribeInferenceExperiment")
}

async fn stop(
    actor: &Actor<'_>,
    description: &DescribeInferenceExperimentOutput,
    reason: &str,
) -> Result<ResultKind, AwsError> {
    let (Some(name), Some(InferenceExperimentStatus::Running)) = (description.name(), description.status()) else {
        return Ok(ResultKind::AlreadyStopped);
    };
    let actions = variant_actions(description);
    if actions.is_empty() {
        return Ok(ResultKind::failed("the experiment's description names no model variant"));
    }
    actor
        .clients
        .sagemaker
        .stop_inference_experiment()
        .name(name)
        .set_model_variant_actions(Some(actions))
        .desired_state(InferenceExperimentStopDesiredState::Completed)
        .reason(reason)
        .send()
        .await
        .aws(Stop::InferenceExperiment.operation())?;
    Ok(ResultKind::Done)
}

/// What happens to each variant: `Remove` for the shadow variants, `Retain` for the production variant and
/// every other variant the experiment names (never `Promote`).
pub(crate) fn variant_actions(description: &DescribeInferenceExperimentOutput) -> HashMap<String, ModelVariantAction> {
    let shadow = description.shadow_mode_config();
    let shadows: Vec<&str> = shadow
        .map(|c| c.shadow_model_variants().iter().filter_map(|v| v.shadow_model_variant_name()).collect())
        .unwrap_or_default();
    let production = shadow.and_then(|c| c.source_model_variant_name());
    let named = description.model_variants().iter().filter_map(|v| v.variant_name()).chain(production);
    named
        .chain(shadows.iter().copied())
        .map(|variant| {
            let action =
                if shadows.contains(&variant) { ModelVariantAction::Remove } else { ModelVariantAction::Retain };
            (variant.to_owned(), action)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::types::{ModelVariantConfigSummary, ShadowModeConfig, ShadowModelVariantConfig};

    use super::*;

    fn variant(name: &str) -> ModelVariantConfigSummary {
        ModelVariantConfigSummary::builder().model_name(format!("{name}-model")).variant_name(name).build()
    }

    fn shadow_test(production: &str, shadow: &str, listed: bool) -> DescribeInferenceExperimentOutput {
        let config = ShadowModeConfig::builder()
            .source_model_variant_name(production)
            .shadow_model_variants(
                ShadowModelVariantConfig::builder().shadow_model_variant_name(shadow).sampling_percentage(50).build(),
            )
            .build();
        let described = DescribeInferenceExperimentOutput::builder()
            .name("shadow-test")
            .status(InferenceExperimentStatus::Running)
            .shadow_mode_config(config);
        if listed {
            described.model_variants(variant(production)).model_variants(variant(shadow)).build()
        } else {
            described.build()
        }
    }

    #[test]
    fn the_production_variant_is_retained_and_the_shadow_removed() {
        let actions = variant_actions(&shadow_test("production", "challenger", true));
        assert_eq!(actions.len(), 2);
        assert_eq!(actions["production"], ModelVariantAction::Retain);
        assert_eq!(actions["challenger"], ModelVariantAction::Remove);
    }

    #[test]
    fn without_a_shadow_config_every_variant_is_retained_and_none_promoted() {
        let description = DescribeInferenceExperimentOutput::builder()
            .model_variants(variant("a"))
            .model_variants(variant("b"))
            .build();
        let actions = variant_actions(&description);
        assert_eq!(actions.len(), 2);
        assert!(actions.values().all(|a| *a == ModelVariantAction::Retain));
    }

    #[test]
    fn variants_named_only_by_the_shadow_config_still_get_an_action() {
        let actions = variant_actions(&shadow_test("production", "challenger", false));
        assert_eq!(actions["production"], ModelVariantAction::Retain);
        assert_eq!(actions["challenger"], ModelVariantAction::Remove);
    }
}

#[cfg(test)]
mod mock_tests {
    use std::sync::Arc;

    use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag as RgtTag};
    use aws_sdk_sagemaker::Client as SageMaker;
    use aws_sdk_sagemaker::operation::list_inference_experiments::ListInferenceExperimentsOutput;
    use aws_sdk_sagemaker::operation::stop_inference_experiment::StopInferenceExperimentOutput;
    use aws_sdk_sagemaker::types::{InferenceExperimentSummary, ShadowModeConfig, ShadowModelVariantConfig};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use serde_json::{Value, json};

    use super::*;
    use crate::aws::Clients;
    use crate::enforce::{BudgetEnforcer, EnforcementOutcome};
    use crate::policy::Policy;

    const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  rules:\n    - budget: ml-marketing\n      scope: {tags: {cost-center: CC-4100}}\n      steps: [{at: 100, actions: [stop-inference-experiments]}]\n";

    fn arn(name: &str) -> String {
        format!("arn:aws:sagemaker:us-east-1:123456789012:inference-experiment/{name}")
    }

    fn alert() -> Value {
        let message = "AWS Budget Notification\nAWS Account 123456789012\n\nBudget Name: ml-marketing\nBudget Type: Cost\nBudgeted Amount: $100.00\nAlert Type: ACTUAL\nAlert Threshold: > $100.00\nACTUAL Amount: $120.00\n";
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": "AWS Budgets: ml-marketing has exceeded your alert threshold", "Message": message}}]})
    }

    fn described(name: &str) -> DescribeInferenceExperimentOutput {
        let shadow = ShadowModelVariantConfig::builder().shadow_model_variant_name("challenger").build();
        let config =
            ShadowModeConfig::builder().source_model_variant_name("production").shadow_model_variants(shadow).build();
        DescribeInferenceExperimentOutput::builder()
            .arn(arn(name))
            .name(name)
            .status(InferenceExperimentStatus::Running)
            .shadow_mode_config(config)
            .build()
    }

    fn enforcer(sagemaker: &[&Rule], tagging: &Rule) -> BudgetEnforcer {
        let empty = std::iter::empty::<&Rule>;
        let budget = crate::enforce::verify::test_support::described("ml-marketing", "100", "120");
        let no_retry = |c: aws_sdk_sagemaker::config::Builder| {
            c.retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        };
        let clients = Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, sagemaker.iter().copied(), no_retry).into(),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, empty()).into(),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, empty()).into(),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, [tagging]).into(),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, [&budget]).into(),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, empty()).into(),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, empty()).into(),
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, empty()).into(),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, empty()).into(),
            costexplorer: mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, empty()).into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, empty()).into(),
        };
        BudgetEnforcer::new(clients, Arc::new(Policy::from_yaml(POLICY, "test").unwrap()))
    }

    #[tokio::test]
    async fn in_scope_experiments_end_with_the_shadow_removed_and_one_gone_meanwhile_is_already_stopped() {
        let names = ["shadow-1", "shadow-2", "other-team"];
        let list = mock!(SageMaker::list_inference_experiments).then_output(move || {
            let summaries = names.iter().map(|n| InferenceExperimentSummary::builder().name(*n).build());
            ListInferenceExperimentsOutput::builder().set_inference_experiments(Some(summaries.collect())).build()
        });
        let describe = mock!(SageMaker::describe_inference_experiment)
            .then_compute_output(|input| described(input.name().unwrap_or_default()));
        let stopped = mock!(SageMaker::stop_inference_experiment)
            .match_requests(|r| {
                let actions = r.model_variant_actions().cloned().unwrap_or_default();
                r.name() == Some("shadow-1")
                    && actions.get("production") == Some(&ModelVariantAction::Retain)
                    && actions.get("challenger") == Some(&ModelVariantAction::Remove)
                    && r.desired_state() == Some(&InferenceExperimentStopDesiredState::Completed)
            })
            .then_output(|| StopInferenceExperimentOutput::builder().inference_experiment_arn(arn("shadow-1")).build());
        let gone = mock!(SageMaker::stop_inference_experiment)
            .match_requests(|r| r.name() == Some("shadow-2"))
            .then_http_response(|| {
                let body = json!({"__type": "ResourceNotFound", "message": "gone"}).to_string();
                HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
            });
        // NOTE: `other-team` is not tagged into the scope: the tagging API does not return it.
        let tagging = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(move || {
            let tag = RgtTag::builder().key("cost-center").value("CC-4100").build().unwrap();
            let mappings = ["shadow-1", "shadow-2"]
                .iter()
                .map(|n| ResourceTagMapping::builder().resource_arn(arn(n)).tags(tag.clone()).build());
            GetResourcesOutput::builder().set_resource_tag_mapping_list(Some(mappings.collect())).build()
        });
        let outcome = enforcer(&[&list, &describe, &stopped, &gone], &tagging).handle(&alert(), false).await.unwrap();
        let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
        let results: Vec<(String, String)> =
            report.results.iter().map(|r| (r.resource_arn.clone(), r.result.to_string())).collect();
        assert_eq!(
            results,
            [(arn("shadow-1"), "done".to_owned()), (arn("shadow-2"), "already-stopped".to_owned())],
            "the out-of-scope experiment is not touched"
        );
        assert_eq!((describe.num_calls(), stopped.num_calls(), gone.num_calls()), (3, 1, 1));
    }
}
