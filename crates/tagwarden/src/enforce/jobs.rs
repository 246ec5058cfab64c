//! `stop-jobs`: stop every running job in scope, of every job kind the resource registry can stop: pipeline
//! executions first (a running pipeline starts new jobs), then tuning, AutoML and labeling jobs (the jobs they
//! started stop with them), then training, processing, transform, compilation, optimization, inference
//! recommendations, edge packaging, AI benchmark and AI recommendation jobs, training sessions and model
//! customization jobs (`CreateJob`). Not reversible (a stopped job cannot be resumed), so `restore` does nothing.
//!
//! The job kinds come from the resource registry ([`crate::resource`]): each job kind's row names its
//! listing call and its [`Stop`] call, so a job kind the registry does not know cannot be stopped, and a
//! stop call that is not a job's is refused here by an exhaustive match, not guessed. Each kind's running jobs
//! are listed with its listing's status filter, once per status that bills (`STARTING` and `INPROGRESS` for
//! compilation, optimization and edge packaging jobs, `Initializing` and `InProgress` for labeling jobs,
//! `PENDING` and `IN_PROGRESS` for inference recommendations jobs, `Running` for training sessions, `InProgress`
//! for the others). Pipeline executions are the pipeline's ([`super::pipelines`]).

use std::collections::HashMap;
use std::sync::LazyLock;

use aws_sdk_sagemaker::types::{
    AiBenchmarkJobStatus, AiRecommendationJobStatus, AutoMlJobStatus, CompilationJobStatus, EdgePackagingJobStatus,
    HyperParameterTuningJobStatus, JobCategory, JobStatus, LabelingJobStatus, OptimizationJobStatus,
    ProcessingJobStatus, RecommendationJobStatus, TrainingJobStatus, TrainingSessionStatus, TransformJobStatus,
};
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::pipelines;
use super::report::ResultKind;
use super::report::Tally;
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};
use crate::resource::{self, ResourceKind, SageMakerArn, Stop};

/// The stop calls of the jobs `stop-jobs` stops, in order: pipeline executions first (a running pipeline
/// starts new jobs), then the jobs that start others (stopping one stops its children), then the rest.
const ORDER: [Stop; 15] = [
    Stop::PipelineExecution,
    Stop::HyperParameterTuningJob,
    Stop::AutoMlJob,
    Stop::LabelingJob,
    Stop::TrainingJob,
    Stop::ProcessingJob,
    Stop::TransformJob,
    Stop::CompilationJob,
    Stop::OptimizationJob,
    Stop::InferenceRecommendationsJob,
    Stop::EdgePackagingJob,
    Stop::TrainingSession,
    Stop::Job,
    Stop::AiBenchmarkJob,
    Stop::AiRecommendationJob,
];

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

/// The listing and stop permission of every kind, and the pipelines' listing of their executions.
static PERMISSIONS: LazyLock<Vec<Permission>> = LazyLock::new(|| {
    JOB_KINDS
        .iter()
        .flat_map(|k| [(k.kind.listing.iam_action(), Grant::Any), (k.stop.iam_action(), Grant::SageMaker)])
        .chain(pipelines::PERMISSIONS.iter().copied())
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
        "stop the Executing executions of pipelines in scope, then every running job in scope (tuning, AutoML, \
         labeling, training, processing, transform, compilation, optimization, inference recommendations, edge \
         packaging, AI benchmark and AI recommendation jobs, training sessions, model customization jobs)"
            .to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async move {
            for kind in JOB_KINDS.iter() {
                if kind.stop == Stop::PipelineExecution {
                    pipelines::stop_executions(actor, kind.tagging_type, cx, tally).await?;
                } else {
                    stop_kind(actor, kind, cx, tally).await?;
                }
            }
            Ok(())
        })
    }
}

async fn stop_kind(actor: &Actor<'_>, kind: &JobKind, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let running = running_jobs(actor, kind).await?;
    let action = Action::StopJobs.to_string();
    let (candidates, names) = actor.candidates(cx.scope, kind.tagging_type, &running.jobs).await?;
    // NOTE: the safety cap counts each job kind on its own, as before the kinds shared one action name.
    let targets = actor.select_capped(&action, kind.tagging_type, candidates, ResultKind::AlreadyStopped, tally);
    let categories = &running.categories;
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyStopped, tally, |target| {
            let arn = target.arn.to_ascii_lowercase();
            let name = names.get(&arn).cloned().unwrap_or_default();
            let category = categories.get(&arn).cloned();
            async move {
                stop_job(actor, kind, &name, category).await?;
                Ok(ResultKind::Done)
            }
        })
        .await;
    Ok(())
}

/// The running jobs of one kind, as its listing reports them.
#[derive(Debug, Default)]
struct Running {
    /// (ARN, name) of each.
    jobs: Vec<(String, String)>,
    /// The category of each model customization job, by lower-cased ARN (`StopJob` names it).
    categories: HashMap<String, JobCategory>,
}

/// `running!` once per status: the (ARN, name) of every job listed in any of them.
macro_rules! running_in {
    ($sm:ident . $list:ident, [$($status:expr),+], $op:literal, $items:ident, $arn:ident, $name:ident) => {{
        let mut found: Vec<(String, String)> = Vec::new();
        for status in [$($status),+] {
            let request = $sm.$list().status_equals(status);
            found.extend(running!(request, $op, $items, $arn, $name));
        }
        Running { jobs: found, categories: HashMap::new() }
    }};
}

async fn running_jobs(actor: &Actor<'_>, kind: &JobKind) -> Result<Running, AwsError> {
    let sm = &actor.clients.sagemaker;
    Ok(match kind.stop {
        Stop::TrainingJob => running_in!(
            sm.list_training_jobs,
            [TrainingJobStatus::InProgress],
            "ListTrainingJobs",
            training_job_summaries,
            training_job_arn,
            training_job_name
        ),
        Stop::ProcessingJob => running_in!(
            sm.list_processing_jobs,
            [ProcessingJobStatus::InProgress],
            "ListProcessingJobs",
            processing_job_summaries,
            processing_job_arn,
            processing_job_name
        ),
        Stop::TransformJob => running_in!(
            sm.list_transform_jobs,
            [TransformJobStatus::InProgress],
            "ListTransformJobs",
            transform_job_summaries,
            transform_job_arn,
            transform_job_name
        ),
        Stop::HyperParameterTuningJob => running_in!(
            sm.list_hyper_parameter_tuning_jobs,
            [HyperParameterTuningJobStatus::InProgress],
            "ListHyperParameterTuningJobs",
            hyper_parameter_tuning_job_summaries,
            hyper_parameter_tuning_job_arn,
            hyper_parameter_tuning_job_name
        ),
        Stop::AutoMlJob => running_in!(
            sm.list_auto_ml_jobs,
            [AutoMlJobStatus::InProgress],
            "ListAutoMLJobs",
            auto_ml_job_summaries,
            auto_ml_job_arn,
            auto_ml_job_name
        ),
        Stop::LabelingJob => running_in!(
            sm.list_labeling_jobs,
            [LabelingJobStatus::Initializing, LabelingJobStatus::InProgress],
            "ListLabelingJobs",
            labeling_job_summary_list,
            labeling_job_arn,
            labeling_job_name
        ),
        Stop::CompilationJob => running_in!(
            sm.list_compilation_jobs,
            [CompilationJobStatus::Starting, CompilationJobStatus::Inprogress],
            "ListCompilationJobs",
            compilation_job_summaries,
            compilation_job_arn,
            compilation_job_name
        ),
        Stop::OptimizationJob => running_in!(
            sm.list_optimization_jobs,
            [OptimizationJobStatus::Starting, OptimizationJobStatus::Inprogress],
            "ListOptimizationJobs",
            optimization_job_summaries,
            optimization_job_arn,
            optimization_job_name
        ),
        Stop::InferenceRecommendationsJob => running_in!(
            sm.list_inference_recommendations_jobs,
            [RecommendationJobStatus::Pending, RecommendationJobStatus::InProgress],
            "ListInferenceRecommendationsJobs",
            inference_recommendations_jobs,
            job_arn,
            job_name
        ),
        Stop::EdgePackagingJob => running_in!(
            sm.list_edge_packaging_jobs,
            [EdgePackagingJobStatus::Starting, EdgePackagingJobStatus::InProgress],
            "ListEdgePackagingJobs",
            edge_packaging_job_summaries,
            edge_packaging_job_arn,
            edge_packaging_job_name
        ),
        Stop::AiBenchmarkJob => running_in!(
            sm.list_ai_benchmark_jobs,
            [AiBenchmarkJobStatus::InProgress],
            "ListAIBenchmarkJobs",
            ai_benchmark_jobs,
            ai_benchmark_job_arn,
            ai_benchmark_job_name
        ),
        Stop::AiRecommendationJob => running_in!(
            sm.list_ai_recommendation_jobs,
            [AiRecommendationJobStatus::InProgress],
            "ListAIRecommendationJobs",
            ai_recommendation_jobs,
            ai_recommendation_job_arn,
            ai_recommendation_job_name
        ),
        Stop::TrainingSession => running_sessions(actor).await?,
        Stop::Job => running_customization_jobs(actor).await?,
        Stop::PipelineExecution
        | Stop::InferenceExperiment
        | Stop::NotebookInstance
        | Stop::App
        | Stop::EndpointCapacity
        | Stop::InferenceComponentCopies
        | Stop::ClusterInstances
        | Stop::TrackingServer
        | Stop::MonitoringSchedule => return Err(not_a_job(kind.stop)),
    })
}

/// Running training sessions: the summaries carry only an ARN, whose path is the session's name.
async fn running_sessions(actor: &Actor<'_>) -> Result<Running, AwsError> {
    let request = actor.clients.sagemaker.list_training_sessions().status_equals(TrainingSessionStatus::Running);
    let mut pages = request.max_results(100).into_paginator().send();
    let mut running = Running::default();
    while let Some(page) = pages.next().await {
        for session in page.aws("ListTrainingSessions")?.training_session_summaries() {
            let Some(arn) = session.training_session_arn() else { continue };
            if let Some(parsed) = SageMakerArn::parse(arn) {
                running.jobs.push((arn.to_owned(), parsed.path));
            }
        }
    }
    Ok(running)
}

/// Running model customization jobs: `ListJobs` needs a `JobCategory`, so each category is listed, and
/// `StopJob` is given the category the listing reports.
async fn running_customization_jobs(actor: &Actor<'_>) -> Result<Running, AwsError> {
    let mut running = Running::default();
    for category in JobCategory::values() {
        let category = JobCategory::from(*category);
        let request =
            actor.clients.sagemaker.list_jobs().job_category(category.clone()).status_equals(JobStatus::InProgress);
        let mut pages = request.max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            for job in page.aws("ListJobs")?.job_summaries() {
                if let (Some(arn), Some(name)) = (job.job_arn(), job.job_name()) {
                    let category = job.job_category().cloned().unwrap_or_else(|| category.clone());
                    running.categories.insert(arn.to_ascii_lowercase(), category);
                    running.jobs.push((arn.to_owned(), name.to_owned()));
                }
            }
        }
    }
    Ok(running)
}

/// A stop call in the job table that is not a job's: a registry mistake, reported instead of guessed.
fn not_a_job(stop: Stop) -> AwsError {
    let message = "stop-jobs stops jobs only; the resource registry pairs this call with a job kind".into();
    AwsError::Rejected { operation: stop.operation(), code: "NotAJob".into(), message }
}

async fn stop_job(
    actor: &Actor<'_>,
    kind: &JobKind,
    name: &str,
    category: Option<JobCategory>,
) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let op = kind.stop.operation();
    match kind.stop {
        Stop::TrainingJob => sm.stop_training_job().training_job_name(name).send().await.aws(op).map(drop),
        Stop::ProcessingJob => sm.stop_processing_job().processing_job_name(name).send().await.aws(op).map(drop),
        Stop::TransformJob => sm.stop_transform_job().transform_job_name(name).send().await.aws(op).map(drop),
        Stop::HyperParameterTuningJob => {
            sm.stop_hyper_parameter_tuning_job().hyper_parameter_tuning_job_name(name).send().await.aws(op).map(drop)
        }
        Stop::AutoMlJob => sm.stop_auto_ml_job().auto_ml_job_name(name).send().await.aws(op).map(drop),
        Stop::LabelingJob => sm.stop_labeling_job().labeling_job_name(name).send().await.aws(op).map(drop),
        Stop::CompilationJob => sm.stop_compilation_job().compilation_job_name(name).send().await.aws(op).map(drop),
        Stop::OptimizationJob => sm.stop_optimization_job().optimization_job_name(name).send().await.aws(op).map(drop),
        Stop::InferenceRecommendationsJob => {
            sm.stop_inference_recommendations_job().job_name(name).send().await.aws(op).map(drop)
        }
        Stop::EdgePackagingJob => {
            sm.stop_edge_packaging_job().edge_packaging_job_name(name).send().await.aws(op).map(drop)
        }
        Stop::TrainingSession => sm.stop_training_session().training_session_name(name).send().await.aws(op).map(drop),
        Stop::Job => sm.stop_job().job_name(name).set_job_category(category).send().await.aws(op).map(drop),
        Stop::AiBenchmarkJob => sm.stop_ai_benchmark_job().ai_benchmark_job_name(name).send().await.aws(op).map(drop),
        Stop::AiRecommendationJob => {
            sm.stop_ai_recommendation_job().ai_recommendation_job_name(name).send().await.aws(op).map(drop)
        }
        Stop::PipelineExecution
        | Stop::InferenceExperiment
        | Stop::NotebookInstance
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
    fn every_job_kind_comes_from_the_registry_once_with_pipelines_then_parents_first() {
        let stops: Vec<Stop> = JOB_KINDS.iter().map(|k| k.stop).collect();
        assert_eq!(stops, ORDER, "one registry row per job stop call, in the stop order");
        assert!(JOB_KINDS.iter().all(|k| k.stop.is_job() && k.kind.stop == Some(k.stop)));
        let registry_jobs = Stop::ALL.iter().filter(|s| s.is_job()).count();
        assert_eq!(JOB_KINDS.len(), registry_jobs, "every job the registry can stop is in stop-jobs");
        for kind in JOB_KINDS.iter() {
            assert!(kind.kind.listing.operation().starts_with("List"), "{kind:?}");
            assert!(PERMISSIONS.contains(&(kind.kind.listing.iam_action(), Grant::Any)), "{kind:?}");
            assert!(kind.stop.operation().starts_with("Stop"), "{kind:?}");
            assert!(PERMISSIONS.contains(&(kind.stop.iam_action(), Grant::SageMaker)), "{kind:?}");
            assert!(RESOURCE_TYPES.contains(&kind.tagging_type));
            assert_eq!(kind.tagging_type, format!("sagemaker:{}", kind.kind.arn_type));
        }
    }
}
