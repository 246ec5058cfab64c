//! The pipeline executions `stop-jobs` stops, first of all its kinds: a running pipeline starts new jobs, so
//! stopping its jobs first would only see them replaced.
//!
//! An execution is not tagged: it is its pipeline's (`sagemaker:pipeline`). In-scope pipelines are found like
//! every other kind (`ListPipelines` and the tagging API); each one's `Executing` executions are listed with
//! `ListPipelineExecutions` (it has no status filter: the listing's status is read) and stopped with
//! `StopPipelineExecution`. Results, the safety cap and a plan's list are per execution ARN; an exemption
//! naming the pipeline spares its executions. The stop's `ClientRequestToken` is derived from the execution
//! ARN ([`stop_token`]), so a retried stop of one execution is the same request to SageMaker.

use aws_sdk_sagemaker::types::PipelineExecutionStatus;

use super::Context;
use super::actor::{Actor, running};
use super::plan::Candidate;
use super::report::{ActionResult, ResultKind, Tally};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, Judgement};

/// What stopping executions needs besides the pipelines' listing and `StopPipelineExecution` (the registry's).
pub(crate) const PERMISSIONS: &[Permission] = &[("sagemaker:ListPipelineExecutions", Grant::Any)];

/// The key the safety cap counts executions under (one per execution, not per pipeline).
const CAP_KEY: &str = "sagemaker:pipeline-execution";

/// Stops the `Executing` executions of in-scope pipelines (`tagging_type`: `sagemaker:pipeline`).
pub(crate) async fn stop_executions(
    actor: &Actor<'_>,
    tagging_type: &str,
    cx: &Context<'_>,
    tally: &mut Tally,
) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let pipelines = running!(sm.list_pipelines(), "ListPipelines", pipeline_summaries, pipeline_arn, pipeline_name);
    let (candidates, names) = actor.candidates(cx.scope, tagging_type, &pipelines).await?;
    let action = Action::StopJobs.to_string();
    let budgets = &actor.policy.budgets;
    let today = budgets.exemption_day();
    let mut executions = Vec::new();
    // NOTE: a pipeline in scope that is not listed (deleted since it was tagged) has nothing running.
    for pipeline in candidates.into_iter().filter(|c| c.active) {
        let Some(name) = names.get(&pipeline.arn.to_ascii_lowercase()) else { continue };
        for arn in executing(actor, name).await? {
            // NOTE: an exemption naming the pipeline (`resource: <pipeline name>`) does not match the path
            // `<pipeline>/execution/<id>`: the pipeline's own judgement decides when the execution's is silent.
            if matches!(budgets.judge(&arn, &today), Judgement::None) {
                match budgets.judge(&pipeline.arn, &today) {
                    Judgement::Honoured(exemption) => {
                        let reason = exemption.reason.clone();
                        tally.results.push(ActionResult::new(&action, &arn, ResultKind::Exempt { reason }));
                        continue;
                    }
                    Judgement::Expired(exemption) => {
                        let expired = ResultKind::ExemptionExpired { detail: exemption.expiry_text() };
                        tally.results.push(ActionResult::new(&action, &arn, expired));
                    }
                    Judgement::None => {}
                }
            }
            executions.push(Candidate { arn, tags: pipeline.tags.clone(), active: true });
        }
    }
    let targets = actor.select_capped(&action, CAP_KEY, executions, ResultKind::AlreadyStopped, tally);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyStopped, tally, |target| async move {
            sm.stop_pipeline_execution()
                .pipeline_execution_arn(&target.arn)
                .client_request_token(stop_token(&target.arn))
                .send()
                .await
                .aws("StopPipelineExecution")?;
            Ok(ResultKind::Done)
        })
        .await;
    Ok(())
}

/// The ARNs of one pipeline's `Executing` executions.
async fn executing(actor: &Actor<'_>, pipeline: &str) -> Result<Vec<String>, AwsError> {
    let request = actor.clients.sagemaker.list_pipeline_executions().pipeline_name(pipeline);
    let mut pages = request.max_results(100).into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        for execution in page.aws("ListPipelineExecutions")?.pipeline_execution_summaries() {
            if execution.pipeline_execution_status() == Some(&PipelineExecutionStatus::Executing)
                && let Some(arn) = execution.pipeline_execution_arn()
            {
                found.push(arn.to_owned());
            }
        }
    }
    Ok(found)
}

/// The `ClientRequestToken` of stopping one execution: `tagwarden-stop-<execution id>-<hash of its ARN>`, the
/// same on every retry (SageMaker then treats a repeated stop as the same request), 32 to 128 characters.
pub(crate) fn stop_token(execution_arn: &str) -> String {
    let id: String = execution_arn.rsplit('/').next().unwrap_or_default().chars().take(64).collect();
    format!("tagwarden-stop-{id}-{:016x}", fnv1a(execution_arn.as_bytes()))
}

/// FNV-1a, 64 bits: a stable hash (std's hashers may change between releases; a token must not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXECUTION: &str = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/train-nightly/execution/k2b4x9q1m0zz";

    #[test]
    fn a_stop_token_is_the_same_for_one_execution_and_differs_between_executions() {
        let token = stop_token(EXECUTION);
        assert_eq!(token, stop_token(EXECUTION));
        assert!(token.starts_with("tagwarden-stop-k2b4x9q1m0zz-"), "{token}");
        assert!((32..=128).contains(&token.len()), "{token}");
        let other = EXECUTION.replace("train-nightly", "train-weekly");
        assert_ne!(stop_token(&other), token, "same execution id in another pipeline");
        let long = format!("{EXECUTION}{}", "x".repeat(500));
        assert!(stop_token(&long).len() <= 128);
    }

    #[test]
    fn fnv1a_matches_its_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
