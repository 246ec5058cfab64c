//! `stop-warm-pools`: a completed training job keeps its instances (and bills for them) while its warm pool
//! is `Available`. In-scope training jobs whose pool is Available get `KeepAlivePeriodInSeconds` 0
//! (`UpdateTrainingJob` ResourceConfig), which releases the pool. Not reversible: a released pool cannot be
//! brought back, so nothing is recorded for `restore` (the result says `done`; the entry keeps it).

use aws_sdk_sagemaker::types::{ResourceConfigForUpdate, WarmPoolResourceStatus};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::report::{ResultKind, Tally};
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};

/// The `stop-warm-pools` row.
pub(crate) struct StopWarmPools;

impl EnforcementAction for StopWarmPools {
    fn action(&self) -> Action {
        Action::StopWarmPools
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:training-job"]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListTrainingJobs", Grant::Any),
            ("sagemaker:DescribeTrainingJob", Grant::SageMaker),
            ("sagemaker:UpdateTrainingJob", Grant::SageMaker),
        ]
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "release the Available warm pools of training jobs in scope (KeepAlivePeriodInSeconds 0; not reversible)".into()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(stop_warm_pools(actor, cx, tally))
    }
}

async fn stop_warm_pools(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let request =
        actor.clients.sagemaker.list_training_jobs().warm_pool_status_equals(WarmPoolResourceStatus::Available);
    let running = running!(request, "ListTrainingJobs", training_job_summaries, training_job_arn, training_job_name);
    let action = Action::StopWarmPools.to_string();
    let (mut candidates, names) = actor.candidates(cx.scope, "sagemaker:training-job", &running).await?;
    // NOTE: only jobs with an Available pool are candidates: every other in-scope training job (thousands of
    // completed ones) keeps nothing running, and `stop-jobs` already reports the running ones.
    candidates.retain(|c| c.active);
    let targets = actor.select(&action, candidates, ResultKind::AlreadyStopped, tally);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyStopped, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move { release(actor, &name).await }
        })
        .await;
    Ok(())
}

async fn release(actor: &Actor<'_>, name: &str) -> Result<ResultKind, AwsError> {
    let sm = &actor.clients.sagemaker;
    // NOTE: the job's own description decides, not the listing's filter (the pool may have ended since).
    let described = sm.describe_training_job().training_job_name(name).send().await.aws("DescribeTrainingJob")?;
    let available = described.warm_pool_status().and_then(|w| w.status()) == Some(&WarmPoolResourceStatus::Available);
    if !available {
        return Ok(ResultKind::AlreadyStopped);
    }
    sm.update_training_job()
        .training_job_name(name)
        .resource_config(ResourceConfigForUpdate::builder().keep_alive_period_in_seconds(0).build())
        .send()
        .await
        .aws("UpdateTrainingJob")?;
    Ok(ResultKind::Done)
}
