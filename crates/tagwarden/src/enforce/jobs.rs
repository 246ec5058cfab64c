//! `stop-jobs`: stop InProgress training, processing, transform and tuning jobs in scope. Not reversible
//! (a stopped job cannot be resumed), so `restore` does nothing.
//!
//! The job kinds are data ([`JOB_KINDS`]): the tagging type, the listing and stop permissions (whose
//! names are the SDK operations), and a typed [`JobType`] that picks the SDK calls: an unknown kind cannot
//! be written down.

use aws_sdk_sagemaker::types::{
    HyperParameterTuningJobStatus, ProcessingJobStatus, TrainingJobStatus, TransformJobStatus,
};
use futures::future::BoxFuture;

use super::actor::{Actor, Ledger, running};
use super::report::ResultKind;
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::permissions::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};

/// The SageMaker job types `stop-jobs` stops: each has its own list and stop call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum JobType {
    /// Hyperparameter tuning jobs (first: stopping one stops its training jobs).
    Tuning,
    /// Training jobs.
    Training,
    /// Processing jobs.
    Processing,
    /// Batch transform jobs.
    Transform,
}

/// One job kind as data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobKind {
    /// Which SDK calls list and stop it.
    pub(crate) job: JobType,
    /// The tagging API's resource type (`sagemaker:<arn type>`).
    pub(crate) arn_type: &'static str,
    /// The listing call (with `StatusEquals=InProgress`).
    pub(crate) list: Permission,
    /// The stop call.
    pub(crate) stop: Permission,
}

impl JobKind {
    /// The SDK operation of a permission (`sagemaker:StopTrainingJob` -> `StopTrainingJob`).
    fn operation(permission: Permission) -> &'static str {
        permission.0.strip_prefix("sagemaker:").unwrap_or(permission.0)
    }
}

/// Every job kind `stop-jobs` handles, in the order they are stopped.
pub(crate) const JOB_KINDS: [JobKind; 4] = [
    JobKind {
        job: JobType::Tuning,
        arn_type: "sagemaker:hyper-parameter-tuning-job",
        list: ("sagemaker:ListHyperParameterTuningJobs", Grant::Any),
        stop: ("sagemaker:StopHyperParameterTuningJob", Grant::SageMaker),
    },
    JobKind {
        job: JobType::Training,
        arn_type: "sagemaker:training-job",
        list: ("sagemaker:ListTrainingJobs", Grant::Any),
        stop: ("sagemaker:StopTrainingJob", Grant::SageMaker),
    },
    JobKind {
        job: JobType::Processing,
        arn_type: "sagemaker:processing-job",
        list: ("sagemaker:ListProcessingJobs", Grant::Any),
        stop: ("sagemaker:StopProcessingJob", Grant::SageMaker),
    },
    JobKind {
        job: JobType::Transform,
        arn_type: "sagemaker:transform-job",
        list: ("sagemaker:ListTransformJobs", Grant::Any),
        stop: ("sagemaker:StopTransformJob", Grant::SageMaker),
    },
];

/// The listing and stop permission of every kind, read from [`JOB_KINDS`].
const PERMISSIONS: [Permission; 8] = {
    let k = &JOB_KINDS;
    [k[0].list, k[0].stop, k[1].list, k[1].stop, k[2].list, k[2].stop, k[3].list, k[3].stop]
};

/// The resource types, read from [`JOB_KINDS`].
const RESOURCE_TYPES: [&str; 4] =
    [JOB_KINDS[0].arn_type, JOB_KINDS[1].arn_type, JOB_KINDS[2].arn_type, JOB_KINDS[3].arn_type];

/// The `stop-jobs` row.
pub(crate) struct StopJobs;

impl EnforcementAction for StopJobs {
    fn action(&self) -> Action {
        Action::StopJobs
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &RESOURCE_TYPES
    }

    fn permissions(&self) -> &'static [Permission] {
        &PERMISSIONS
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "stop InProgress tuning, training, processing and transform jobs in scope".to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        ledger: &'a mut Ledger,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async move {
            for kind in &JOB_KINDS {
                stop_kind(actor, kind, cx, ledger).await?;
            }
            Ok(())
        })
    }
}

async fn stop_kind(actor: &Actor<'_>, kind: &JobKind, cx: &Context<'_>, ledger: &mut Ledger) -> Result<(), AwsError> {
    let running = running_jobs(actor, kind).await?;
    let action = Action::StopJobs.to_string();
    let (candidates, names) = actor.candidates(cx.scope, kind.arn_type, &running).await?;
    // NOTE: the safety cap counts each job kind on its own, as before the kinds shared one action name.
    let targets = actor.select_capped(&action, kind.arn_type, candidates, ResultKind::AlreadyStopped, ledger);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyStopped, ledger, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move {
                stop_job(actor, kind, &name).await?;
                Ok(ResultKind::Done)
            }
        })
        .await;
    Ok(())
}

async fn running_jobs(actor: &Actor<'_>, kind: &JobKind) -> Result<Vec<(String, String)>, AwsError> {
    let sm = &actor.clients.sagemaker;
    Ok(match kind.job {
        JobType::Training => {
            let request = sm.list_training_jobs().status_equals(TrainingJobStatus::InProgress);
            running!(request, "ListTrainingJobs", training_job_summaries, training_job_arn, training_job_name)
        }
        JobType::Processing => {
            let request = sm.list_processing_jobs().status_equals(ProcessingJobStatus::InProgress);
            running!(request, "ListProcessingJobs", processing_job_summaries, processing_job_arn, processing_job_name)
        }
        JobType::Transform => {
            let request = sm.list_transform_jobs().status_equals(TransformJobStatus::InProgress);
            running!(request, "ListTransformJobs", transform_job_summaries, transform_job_arn, transform_job_name)
        }
        JobType::Tuning => {
            let request =
                sm.list_hyper_parameter_tuning_jobs().status_equals(HyperParameterTuningJobStatus::InProgress);
            running!(
                request,
                "ListHyperParameterTuningJobs",
                hyper_parameter_tuning_job_summaries,
                hyper_parameter_tuning_job_arn,
                hyper_parameter_tuning_job_name
            )
        }
    })
}

async fn stop_job(actor: &Actor<'_>, kind: &JobKind, name: &str) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let operation = JobKind::operation(kind.stop);
    match kind.job {
        JobType::Training => sm.stop_training_job().training_job_name(name).send().await.aws(operation).map(drop),
        JobType::Processing => sm.stop_processing_job().processing_job_name(name).send().await.aws(operation).map(drop),
        JobType::Transform => sm.stop_transform_job().transform_job_name(name).send().await.aws(operation).map(drop),
        JobType::Tuning => sm
            .stop_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name(name)
            .send()
            .await
            .aws(operation)
            .map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_declares_its_list_and_stop_calls_and_its_type_once() {
        let types: std::collections::BTreeSet<JobType> = JOB_KINDS.iter().map(|k| k.job).collect();
        assert_eq!(types.len(), JOB_KINDS.len());
        for kind in &JOB_KINDS {
            assert!(JobKind::operation(kind.list).starts_with("List"), "{kind:?}");
            assert!(JobKind::operation(kind.stop).starts_with("Stop"), "{kind:?}");
            assert!(PERMISSIONS.contains(&kind.list) && PERMISSIONS.contains(&kind.stop), "{kind:?}");
            assert!(RESOURCE_TYPES.contains(&kind.arn_type));
        }
    }
}
