//! `stop-jobs`: stop InProgress training, processing, transform and tuning jobs in scope. Not reversible
//! (a stopped job cannot be resumed), so `restore` does nothing.
//!
//! The job kinds come from the resource registry ([`crate::resource`]): each job kind's row names its
//! listing call and its [`Stop`] call, so a job kind the registry does not know cannot be stopped, and a
//! stop call that is not a job's is refused here by an exhaustive match, not guessed.

use std::sync::LazyLock;

use aws_sdk_sagemaker::types::{
    HyperParameterTuningJobStatus, ProcessingJobStatus, TrainingJobStatus, TransformJobStatus,
};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::report::ResultKind;
use super::report::Tally;
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};
use crate::resource::{self, ResourceKind, Stop};

/// The stop calls of the jobs `stop-jobs` stops, in order: tuning jobs first (stopping one stops its
/// training jobs).
const ORDER: [Stop; 4] = [Stop::HyperParameterTuningJob, Stop::TrainingJob, Stop::ProcessingJob, Stop::TransformJob];

/// One job kind: its stop call, its registry row and the tagging API's name for its type.
#[derive(Debug)]
pub(crate) struct JobKind {
    /// The call that stops it.
    pub(crate) stop: Stop,
    /// Its row of the resource registry (the listing call, the ARN type).
    pub(crate) kind: &'static ResourceKind,
    /// The tagging API's resource type (`sagemaker:<arn type>`).
    pub(crate) tagging_type: &'static str,
}

/// Every job kind `stop-jobs` handles, in the order they are stopped, read from the registry.
pub(crate) static JOB_KINDS: LazyLock<Vec<JobKind>> = LazyLock::new(|| {
    ORDER
        .iter()
        .flat_map(|&stop| resource::stopped_by(stop).map(move |kind| (stop, kind)))
        .map(|(stop, kind)| JobKind { stop, kind, tagging_type: tagging_type(kind) })
        .collect()
});

/// `sagemaker:<arn type>`, kept for the life of the process (one small string per job kind).
fn tagging_type(kind: &'static ResourceKind) -> &'static str {
    Box::leak(kind.tagging_type().into_boxed_str())
}

/// The listing and stop permission of every kind.
static PERMISSIONS: LazyLock<Vec<Permission>> = LazyLock::new(|| {
    JOB_KINDS
        .iter()
        .flat_map(|k| [(k.kind.listing.iam_action(), Grant::Any), (k.stop.iam_action(), Grant::SageMaker)])
        .collect()
});

/// The tagging API's resource types of every kind.
static RESOURCE_TYPES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| JOB_KINDS.iter().map(|k| k.tagging_type).collect());

/// The `stop-jobs` row.
pub(crate) struct StopJobs;

impl EnforcementAction for StopJobs {
    fn action(&self) -> Action {
        Action::StopJobs
    }

    fn resource_types(&self) -> &'static [&'static str] {
        RESOURCE_TYPES.as_slice()
    }

    fn permissions(&self) -> &'static [Permission] {
        PERMISSIONS.as_slice()
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "stop InProgress tuning, training, processing and transform jobs in scope".to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async move {
            for kind in JOB_KINDS.iter() {
                stop_kind(actor, kind, cx, tally).await?;
            }
            Ok(())
        })
    }
}

async fn stop_kind(actor: &Actor<'_>, kind: &JobKind, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let running = running_jobs(actor, kind).await?;
    let action = Action::StopJobs.to_string();
    let (candidates, names) = actor.candidates(cx.scope, kind.tagging_type, &running).await?;
    // NOTE: the safety cap counts each job kind on its own, as before the kinds shared one action name.
    let targets = actor.select_capped(&action, kind.tagging_type, candidates, ResultKind::AlreadyStopped, tally);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyStopped, tally, |target| {
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
    Ok(match kind.stop {
        Stop::TrainingJob => {
            let request = sm.list_training_jobs().status_equals(TrainingJobStatus::InProgress);
            running!(request, "ListTrainingJobs", training_job_summaries, training_job_arn, training_job_name)
        }
        Stop::ProcessingJob => {
            let request = sm.list_processing_jobs().status_equals(ProcessingJobStatus::InProgress);
            running!(request, "ListProcessingJobs", processing_job_summaries, processing_job_arn, processing_job_name)
        }
        Stop::TransformJob => {
            let request = sm.list_transform_jobs().status_equals(TransformJobStatus::InProgress);
            running!(request, "ListTransformJobs", transform_job_summaries, transform_job_arn, transform_job_name)
        }
        Stop::HyperParameterTuningJob => {
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
        Stop::NotebookInstance
        | Stop::App
        | Stop::EndpointCapacity
        | Stop::InferenceComponentCopies
        | Stop::ClusterInstances
        | Stop::TrackingServer
        | Stop::MonitoringSchedule => return Err(not_a_job(kind.stop)),
    })
}

/// A stop call in the job table that is not a job's: a registry mistake, reported instead of guessed.
fn not_a_job(stop: Stop) -> AwsError {
    let message = "stop-jobs stops jobs only; the resource registry pairs this call with a job kind".into();
    AwsError::Rejected { operation: stop.operation(), code: "NotAJob".into(), message }
}

async fn stop_job(actor: &Actor<'_>, kind: &JobKind, name: &str) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let operation = kind.stop.operation();
    match kind.stop {
        Stop::TrainingJob => sm.stop_training_job().training_job_name(name).send().await.aws(operation).map(drop),
        Stop::ProcessingJob => sm.stop_processing_job().processing_job_name(name).send().await.aws(operation).map(drop),
        Stop::TransformJob => sm.stop_transform_job().transform_job_name(name).send().await.aws(operation).map(drop),
        Stop::HyperParameterTuningJob => sm
            .stop_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name(name)
            .send()
            .await
            .aws(operation)
            .map(drop),
        Stop::NotebookInstance
        | Stop::App
        | Stop::EndpointCapacity
        | Stop::InferenceComponentCopies
        | Stop::ClusterInstances
        | Stop::TrackingServer
        | Stop::MonitoringSchedule => Err(not_a_job(kind.stop)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_comes_from_the_registry_once_with_tuning_jobs_first() {
        let stops: Vec<Stop> = JOB_KINDS.iter().map(|k| k.stop).collect();
        assert_eq!(stops, ORDER, "one registry row per job stop call, in the stop order");
        assert!(JOB_KINDS.iter().all(|k| k.stop.is_job() && k.kind.stop == Some(k.stop)));
        let registry_jobs = Stop::ALL.iter().filter(|s| s.is_job()).count();
        assert_eq!(JOB_KINDS.len(), registry_jobs, "every job the registry can stop is in stop-jobs");
        for kind in JOB_KINDS.iter() {
            assert!(kind.kind.listing.operation().starts_with("List"), "{kind:?}");
            assert!(kind.stop.operation().starts_with("Stop"), "{kind:?}");
            assert!(PERMISSIONS.contains(&(kind.stop.iam_action(), Grant::SageMaker)), "{kind:?}");
            assert!(RESOURCE_TYPES.contains(&kind.tagging_type));
            assert_eq!(kind.tagging_type, format!("sagemaker:{}", kind.kind.arn_type));
        }
    }
}
