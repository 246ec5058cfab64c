//! The registry of SageMaker resource kinds, and SageMaker ARNs.
//!
//! In: a CloudTrail `eventName` or an ARN. Out: the [`ResourceKind`] row that says everything Tagwarden
//! does with that kind, as data (Cloud Custodian's `TypeInfo`): where the ARN is in the create event, how
//! the kind is listed ([`Listing`]), how its execution role is found ([`RoleLookup`]), who owns it
//! ([`Owner`]), where it sits in Studio ([`Studio`]), whether its tags are the sources of others', what
//! cannot be tagged, and how the enforcer stops it ([`Stop`]). Each call names its IAM action, so the
//! permissions manifest (`permissions.rs`) is written from this table, as the EventBridge pattern is.
//! No other module matches on ARN type strings: they ask the row.
//!
//! Adding a kind: one row in [`KINDS`]; if it is listed by a new `List*` call, one [`Listing`] variant,
//! whose arm `sweep::list` then must have (the match is exhaustive, so the build fails until it does).
//! The registry tests (here and in `permissions.rs`) fail when a row's calls are not declared.
//!
//! ARNs are built here only ([`ArnScope`]), in the partition of their region.

use std::fmt;

mod arn;
mod not_handled;

pub use arn::{AppOwner, ArnScope, SageMakerArn};
pub use not_handled::{NOT_HANDLED, NotHandled, SDK_CREATE_CALLS_WITH_TAGS};

/// Declares an enum of SageMaker API calls: each variant's operation name and IAM action
/// (`sagemaker:<operation>`) come from one literal.
macro_rules! sagemaker_calls {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $op:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every call of this enum, in declaration order.
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            /// The SDK operation's name, e.g. `ListTrainingJobs` (also the name errors carry).
            pub const fn operation(self) -> &'static str {
                match self {
                    $($name::$variant => $op,)+
                }
            }

            /// The IAM action the call needs, e.g. `sagemaker:ListTrainingJobs`.
            pub const fn iam_action(self) -> &'static str {
                match self {
                    $($name::$variant => concat!("sagemaker:", $op),)+
                }
            }
        }
    };
}

sagemaker_calls! {
    /// The paginated `List*` call that walks every resource of a kind (`NextToken`, [`Listing::PAGE_SIZE`]
    /// per page). `sweep::list::Lister::page` dispatches on it with one exhaustive match.
    Listing {
        /// `ListTrainingJobs`.
        TrainingJobs => "ListTrainingJobs",
        /// `ListProcessingJobs`.
        ProcessingJobs => "ListProcessingJobs",
        /// `ListTransformJobs`.
        TransformJobs => "ListTransformJobs",
        /// `ListHyperParameterTuningJobs`.
        HyperParameterTuningJobs => "ListHyperParameterTuningJobs",
        /// `ListNotebookInstances`.
        NotebookInstances => "ListNotebookInstances",
        /// `ListEndpoints`.
        Endpoints => "ListEndpoints",
        /// `ListEndpointConfigs`.
        EndpointConfigs => "ListEndpointConfigs",
        /// `ListModels`.
        Models => "ListModels",
        /// `ListPipelines`: the summaries name each pipeline's role.
        Pipelines => "ListPipelines",
        /// `ListDomains`.
        Domains => "ListDomains",
        /// `ListUserProfiles`: no ARNs; built from the domain's ([`Listing::needs_domain_arns`]).
        UserProfiles => "ListUserProfiles",
        /// `ListSpaces`: no ARNs; built from the domain's.
        Spaces => "ListSpaces",
        /// `ListApps`: no ARNs; built from the domain's.
        Apps => "ListApps",
        /// `ListLabelingJobs`.
        LabelingJobs => "ListLabelingJobs",
        /// `ListCompilationJobs`.
        CompilationJobs => "ListCompilationJobs",
        /// `ListAutoMLJobs`.
        AutoMlJobs => "ListAutoMLJobs",
        /// `ListModelPackages`, unversioned packages only (the versioned ones cannot be tagged).
        ModelPackages => "ListModelPackages",
        /// `ListModelPackageGroups`.
        ModelPackageGroups => "ListModelPackageGroups",
        /// `ListInferenceComponents`.
        InferenceComponents => "ListInferenceComponents",
        /// `ListExperiments`.
        Experiments => "ListExperiments",
        /// `ListFeatureGroups`.
        FeatureGroups => "ListFeatureGroups",
        /// `ListMonitoringSchedules`.
        MonitoringSchedules => "ListMonitoringSchedules",
        /// `ListClusters`.
        Clusters => "ListClusters",
        /// `ListMlflowTrackingServers`.
        MlflowTrackingServers => "ListMlflowTrackingServers",
        /// `ListMlflowApps`.
        MlflowApps => "ListMlflowApps",
        /// `ListTrainingPlans`.
        TrainingPlans => "ListTrainingPlans",
        /// `ListJobs`: model customization jobs (`CreateJob`).
        Jobs => "ListJobs",
        /// `ListTrainingSessions`.
        TrainingSessions => "ListTrainingSessions",
        /// `ListOptimizationJobs`.
        OptimizationJobs => "ListOptimizationJobs",
        /// `ListInferenceRecommendationsJobs`.
        InferenceRecommendationsJobs => "ListInferenceRecommendationsJobs",
        /// `ListInferenceExperiments`: no ARNs; read with `DescribeInferenceExperiment` ([`Listing::arn_lookup`]).
        InferenceExperiments => "ListInferenceExperiments",
        /// `ListPartnerApps`.
        PartnerApps => "ListPartnerApps",
        /// `ListFlowDefinitions`.
        FlowDefinitions => "ListFlowDefinitions",
        /// `ListAIBenchmarkJobs`.
        AiBenchmarkJobs => "ListAIBenchmarkJobs",
        /// `ListAIRecommendationJobs`.
        AiRecommendationJobs => "ListAIRecommendationJobs",
        /// `ListEdgePackagingJobs`.
        EdgePackagingJobs => "ListEdgePackagingJobs",
    }
}

impl Listing {
    /// Page size of every `List*` call (the largest SageMaker accepts).
    pub const PAGE_SIZE: i32 = 100;

    /// Whether the summaries lack ARNs, which are then built from their domain's ARN (read with
    /// [`Listing::Domains`] once per lister).
    pub const fn needs_domain_arns(self) -> bool {
        matches!(self, Self::UserProfiles | Self::Spaces | Self::Apps)
    }

    /// The IAM action of the `Describe*` call that reads each listed resource's ARN, for listings whose
    /// summaries carry only a name (inference experiments).
    pub const fn arn_lookup(self) -> Option<&'static str> {
        match self {
            Self::InferenceExperiments => Some("sagemaker:DescribeInferenceExperiment"),
            _ => None,
        }
    }
}

sagemaker_calls! {
    /// The `Describe*` call that names a resource's execution role (the sweep's `principal` source).
    RoleLookup {
        /// `DescribeNotebookInstance` -> `RoleArn`.
        NotebookInstance => "DescribeNotebookInstance",
        /// `DescribeTrainingJob` -> `RoleArn`.
        TrainingJob => "DescribeTrainingJob",
        /// `DescribeProcessingJob` -> `RoleArn`.
        ProcessingJob => "DescribeProcessingJob",
        /// `DescribeModel` -> `ExecutionRoleArn`.
        Model => "DescribeModel",
        /// `DescribeHyperParameterTuningJob` -> `TrainingJobDefinition.RoleArn`.
        HyperParameterTuningJob => "DescribeHyperParameterTuningJob",
    }
}

sagemaker_calls! {
    /// How the budget-enforcer stops, deletes or scales down a resource of a kind; the call's IAM action
    /// is what the action needs granted.
    Stop {
        /// `StopNotebookInstance` (undone by `StartNotebookInstance`).
        NotebookInstance => "StopNotebookInstance",
        /// `StopTrainingJob`.
        TrainingJob => "StopTrainingJob",
        /// `StopProcessingJob`.
        ProcessingJob => "StopProcessingJob",
        /// `StopTransformJob`.
        TransformJob => "StopTransformJob",
        /// `StopHyperParameterTuningJob` (its training jobs stop with it).
        HyperParameterTuningJob => "StopHyperParameterTuningJob",
        /// `StopPipelineExecution`, per `Executing` execution of the pipeline (a running pipeline starts jobs).
        PipelineExecution => "StopPipelineExecution",
        /// `StopAutoMLJob`, V1 and V2 (the training, processing and transform jobs it started stop with it).
        AutoMlJob => "StopAutoMLJob",
        /// `StopLabelingJob` (its annotation and auto-labeling jobs stop with it).
        LabelingJob => "StopLabelingJob",
        /// `StopCompilationJob`.
        CompilationJob => "StopCompilationJob",
        /// `StopOptimizationJob`.
        OptimizationJob => "StopOptimizationJob",
        /// `StopInferenceRecommendationsJob`.
        InferenceRecommendationsJob => "StopInferenceRecommendationsJob",
        /// `StopEdgePackagingJob`.
        EdgePackagingJob => "StopEdgePackagingJob",
        /// `StopTrainingSession`.
        TrainingSession => "StopTrainingSession",
        /// `StopJob`: a model customization job (`CreateJob`), named with its `JobCategory`.
        Job => "StopJob",
        /// `StopAIBenchmarkJob`.
        AiBenchmarkJob => "StopAIBenchmarkJob",
        /// `StopAIRecommendationJob`.
        AiRecommendationJob => "StopAIRecommendationJob",
        /// `StopInferenceExperiment`: the shadow variants are removed, production serving is kept.
        InferenceExperiment => "StopInferenceExperiment",
        /// `DeleteApp`: a Studio app cannot be stopped, only deleted.
        App => "DeleteApp",
        /// `UpdateEndpointWeightsAndCapacities` to the lowest instance count (undone by the same call).
        EndpointCapacity => "UpdateEndpointWeightsAndCapacities",
        /// `UpdateInferenceComponentRuntimeConfig` to the lowest copy count (undone by the same call).
        InferenceComponentCopies => "UpdateInferenceComponentRuntimeConfig",
        /// `UpdateCluster` to the lowest instance count per group (undone by the same call; never deleted).
        ClusterInstances => "UpdateCluster",
        /// `StopMlflowTrackingServer` (undone by `StartMlflowTrackingServer`).
        TrackingServer => "StopMlflowTrackingServer",
        /// `StopMonitoringSchedule` (undone by `StartMonitoringSchedule`).
        MonitoringSchedule => "StopMonitoringSchedule",
    }
}

impl Stop {
    /// The IAM action that undoes the stop on `restore`, when it is another call.
    pub const fn undo_iam_action(self) -> Option<&'static str> {
        match self {
            Self::NotebookInstance => Some("sagemaker:StartNotebookInstance"),
            Self::EndpointCapacity => Some(Self::EndpointCapacity.iam_action()),
            Self::InferenceComponentCopies => Some(Self::InferenceComponentCopies.iam_action()),
            Self::ClusterInstances => Some(Self::ClusterInstances.iam_action()),
            Self::TrackingServer => Some("sagemaker:StartMlflowTrackingServer"),
            Self::MonitoringSchedule => Some("sagemaker:StartMonitoringSchedule"),
            Self::TrainingJob
            | Self::ProcessingJob
            | Self::TransformJob
            | Self::HyperParameterTuningJob
            | Self::PipelineExecution
            | Self::AutoMlJob
            | Self::LabelingJob
            | Self::CompilationJob
            | Self::OptimizationJob
            | Self::InferenceRecommendationsJob
            | Self::EdgePackagingJob
            | Self::TrainingSession
            | Self::Job
            | Self::AiBenchmarkJob
            | Self::AiRecommendationJob
            | Self::InferenceExperiment
            | Self::App => None,
        }
    }

    /// Whether this is one of the jobs `stop-jobs` stops (pipeline executions first, as a running pipeline
    /// starts jobs; then tuning, AutoML and labeling jobs, so their children end with them).
    pub const fn is_job(self) -> bool {
        match self {
            Self::TrainingJob
            | Self::ProcessingJob
            | Self::TransformJob
            | Self::HyperParameterTuningJob
            | Self::PipelineExecution
            | Self::AutoMlJob
            | Self::LabelingJob
            | Self::CompilationJob
            | Self::OptimizationJob
            | Self::InferenceRecommendationsJob
            | Self::EdgePackagingJob
            | Self::TrainingSession
            | Self::Job
            | Self::AiBenchmarkJob
            | Self::AiRecommendationJob => true,
            Self::NotebookInstance
            | Self::InferenceExperiment
            | Self::App
            | Self::EndpointCapacity
            | Self::InferenceComponentCopies
            | Self::ClusterInstances
            | Self::TrackingServer
            | Self::MonitoringSchedule => false,
        }
    }
}

/// Who owns a resource of this kind besides its creator, and where that is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// No owner besides the creator.
    None,
    /// A Studio app: the user profile of the create request (`userProfileName`) or of the listing, else
    /// its space's owner.
    App,
    /// A Studio space: its `ownershipSettings.ownerUserProfileName`.
    Space,
}

/// Where a kind sits in SageMaker Studio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Studio {
    /// Not a Studio resource.
    No,
    /// The Studio domain itself.
    Domain,
    /// Lives in a domain whose id is the first segment of its ARN path (profiles, spaces, apps).
    InDomain,
}

/// The work that started a resource of this kind, besides a pipeline (which every job's tag names): the
/// resource's own `Describe*` call, whose answer names the tuning, AutoML or labeling job that launched
/// it. SageMaker writes those fields; a caller cannot set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentLookup {
    /// `DescribeTrainingJob` -> `TuningJobArn`, `AutoMLJobArn` or `LabelingJobArn`.
    TrainingJob,
    /// `DescribeProcessingJob` -> `AutoMLJobArn` or `TrainingJobArn` (a training job's rule evaluations).
    ProcessingJob,
    /// `DescribeTransformJob` -> `AutoMLJobArn` or `LabelingJobArn`.
    TransformJob,
}

impl ParentLookup {
    /// The IAM action the lookup needs.
    pub const fn iam_action(self) -> &'static str {
        match self {
            Self::TrainingJob => "sagemaker:DescribeTrainingJob",
            Self::ProcessingJob => "sagemaker:DescribeProcessingJob",
            Self::TransformJob => "sagemaker:DescribeTransformJob",
        }
    }
}

/// One kind of SageMaker resource that can be created and tagged: a row of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceKind {
    /// The ARN's resource type, e.g. `training-job` (also Tagwarden's name for the kind, `resource_type`).
    pub arn_type: &'static str,
    /// The CloudTrail `eventName` of the call that creates it.
    pub create_event: &'static str,
    /// The field of `responseElements` that holds the new resource's ARN (`""` when the response has
    /// none and the ARN is built from the name, see [`ResourceKind::arn_from_name`]).
    pub arn_field: &'static str,
    /// The field of `requestParameters` that holds the resource's name.
    pub name_field: &'static str,
    /// The `List*` call the sweep and the audit walk it with.
    pub listing: Listing,
    /// The `Describe*` call that names its execution role, if it has one the listing does not name.
    pub role: Option<RoleLookup>,
    /// Who owns it besides its creator.
    pub owner: Owner,
    /// Where it sits in Studio.
    pub studio: Studio,
    /// Its tags are the sources of other resources' tags (domains, user profiles, spaces).
    pub tag_source: bool,
    /// Versions (`<group>/<n>` ARNs) cannot be tagged; their group is (model packages).
    pub versioned: bool,
    /// The work that started it, found by a lookup.
    pub parent: Option<ParentLookup>,
    /// How the budget-enforcer stops it, where it can.
    pub stop: Option<Stop>,
    /// The create call returns no ARN (edge packaging jobs): it is built from the name in the request, in
    /// the event's region and account ([`ArnScope`]).
    pub arn_from_name: bool,
}

impl ResourceKind {
    /// A row with no role lookup, owner, Studio place, flags, parent or stop.
    const fn new(
        arn_type: &'static str,
        create_event: &'static str,
        arn_field: &'static str,
        name_field: &'static str,
        listing: Listing,
    ) -> Self {
        Self {
            arn_type,
            create_event,
            arn_field,
            name_field,
            listing,
            role: None,
            owner: Owner::None,
            studio: Studio::No,
            tag_source: false,
            versioned: false,
            parent: None,
            stop: None,
            arn_from_name: false,
        }
    }

    const fn role(mut self, role: RoleLookup) -> Self {
        self.role = Some(role);
        self
    }

    const fn stop(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    const fn studio(mut self, studio: Studio, owner: Owner, tag_source: bool) -> Self {
        self.studio = studio;
        self.owner = owner;
        self.tag_source = tag_source;
        self
    }

    /// The Resource Groups Tagging API's type filter for this kind, e.g. `sagemaker:training-job`.
    pub fn tagging_type(&self) -> String {
        format!("sagemaker:{}", self.arn_type)
    }

    /// Why a resource of this kind cannot be tagged at all, if it cannot (a versioned model package).
    pub fn refusal(&self, arn: &SageMakerArn) -> Option<Refusal> {
        (self.versioned && arn.path.contains('/')).then_some(Refusal::VersionedPackage)
    }

    /// Every IAM action the sweep needs for this kind: its listing, the domains' listing when ARNs are
    /// built from them, the `Describe*` that reads ARNs the listing lacks, and its role lookup.
    pub fn sweep_iam_actions(&self) -> impl Iterator<Item = &'static str> {
        let domains = self.listing.needs_domain_arns().then_some(Listing::Domains.iam_action());
        let arns = self.listing.arn_lookup();
        [Some(self.listing.iam_action()), domains, arns, self.role.map(RoleLookup::iam_action)].into_iter().flatten()
    }
}

/// Why a resource is refused: a closed set, each with the reason people read in outcomes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A versioned model package.
    #[error("versioned model packages cannot be tagged; tag the model package group instead")]
    VersionedPackage,
    /// The listing reports the resource as going or gone.
    #[error("{arn_type} is {status}")]
    Ending {
        /// The kind's ARN type.
        arn_type: &'static str,
        /// What the listing says.
        status: EndingStatus,
    },
    /// The listing's ARN is not a SageMaker ARN.
    #[error("not a SageMaker ARN: {0:?}")]
    NotSageMakerArn(String),
}

/// Statuses of a listed resource that leave nothing to tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndingStatus {
    /// `Deleted`.
    Deleted,
    /// `Deleting`.
    Deleting,
    /// `Failed`.
    Failed,
}

impl EndingStatus {
    /// The ending status a listing reports, if the status is one.
    pub fn parse(status: &str) -> Option<Self> {
        match status {
            "Deleted" => Some(Self::Deleted),
            "Deleting" => Some(Self::Deleting),
            "Failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for EndingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deleted => "Deleted",
            Self::Deleting => "Deleting",
            Self::Failed => "Failed",
        })
    }
}

use Listing as L;

/// The Studio domain.
pub const DOMAIN: ResourceKind = ResourceKind::new("domain", "CreateDomain", "domainArn", "domainName", L::Domains)
    .studio(Studio::Domain, Owner::None, true);
/// A Studio user profile.
pub const USER_PROFILE: ResourceKind =
    ResourceKind::new("user-profile", "CreateUserProfile", "userProfileArn", "userProfileName", L::UserProfiles)
        .studio(Studio::InDomain, Owner::None, true);
/// A Studio space.
pub const SPACE: ResourceKind = ResourceKind::new("space", "CreateSpace", "spaceArn", "spaceName", L::Spaces).studio(
    Studio::InDomain,
    Owner::Space,
    true,
);
/// A Studio app, of a user profile or of a space.
pub const APP: ResourceKind = ResourceKind::new("app", "CreateApp", "appArn", "appName", L::Apps)
    .studio(Studio::InDomain, Owner::App, false)
    .stop(Stop::App);

/// Every resource kind the auto-tagger handles, one row per create call (two for AutoML's V1 and V2).
pub const KINDS: &[ResourceKind] = &[
    ResourceKind {
        parent: Some(ParentLookup::TrainingJob),
        ..ResourceKind::new("training-job", "CreateTrainingJob", "trainingJobArn", "trainingJobName", L::TrainingJobs)
            .role(RoleLookup::TrainingJob)
            .stop(Stop::TrainingJob)
    },
    ResourceKind {
        parent: Some(ParentLookup::ProcessingJob),
        ..ResourceKind::new(
            "processing-job",
            "CreateProcessingJob",
            "processingJobArn",
            "processingJobName",
            L::ProcessingJobs,
        )
        .role(RoleLookup::ProcessingJob)
        .stop(Stop::ProcessingJob)
    },
    ResourceKind {
        parent: Some(ParentLookup::TransformJob),
        ..ResourceKind::new(
            "transform-job",
            "CreateTransformJob",
            "transformJobArn",
            "transformJobName",
            L::TransformJobs,
        )
        .stop(Stop::TransformJob)
    },
    ResourceKind::new(
        "hyper-parameter-tuning-job",
        "CreateHyperParameterTuningJob",
        "hyperParameterTuningJobArn",
        "hyperParameterTuningJobName",
        L::HyperParameterTuningJobs,
    )
    .role(RoleLookup::HyperParameterTuningJob)
    .stop(Stop::HyperParameterTuningJob),
    ResourceKind::new(
        "notebook-instance",
        "CreateNotebookInstance",
        "notebookInstanceArn",
        "notebookInstanceName",
        L::NotebookInstances,
    )
    .role(RoleLookup::NotebookInstance)
    .stop(Stop::NotebookInstance),
    ResourceKind::new("endpoint", "CreateEndpoint", "endpointArn", "endpointName", L::Endpoints)
        .stop(Stop::EndpointCapacity),
    ResourceKind::new(
        "endpoint-config",
        "CreateEndpointConfig",
        "endpointConfigArn",
        "endpointConfigName",
        L::EndpointConfigs,
    ),
    ResourceKind::new("model", "CreateModel", "modelArn", "modelName", L::Models).role(RoleLookup::Model),
    ResourceKind::new("pipeline", "CreatePipeline", "pipelineArn", "pipelineName", L::Pipelines)
        .stop(Stop::PipelineExecution),
    DOMAIN,
    USER_PROFILE,
    SPACE,
    APP,
    ResourceKind::new("labeling-job", "CreateLabelingJob", "labelingJobArn", "labelingJobName", L::LabelingJobs)
        .stop(Stop::LabelingJob),
    ResourceKind::new(
        "compilation-job",
        "CreateCompilationJob",
        "compilationJobArn",
        "compilationJobName",
        L::CompilationJobs,
    )
    .stop(Stop::CompilationJob),
    ResourceKind::new("automl-job", "CreateAutoMLJob", "autoMLJobArn", "autoMLJobName", L::AutoMlJobs)
        .stop(Stop::AutoMlJob),
    ResourceKind::new("automl-job", "CreateAutoMLJobV2", "autoMLJobArn", "autoMLJobName", L::AutoMlJobs)
        .stop(Stop::AutoMlJob),
    ResourceKind {
        versioned: true,
        ..ResourceKind::new(
            "model-package",
            "CreateModelPackage",
            "modelPackageArn",
            "modelPackageName",
            L::ModelPackages,
        )
    },
    ResourceKind::new(
        "model-package-group",
        "CreateModelPackageGroup",
        "modelPackageGroupArn",
        "modelPackageGroupName",
        L::ModelPackageGroups,
    ),
    ResourceKind::new(
        "inference-component",
        "CreateInferenceComponent",
        "inferenceComponentArn",
        "inferenceComponentName",
        L::InferenceComponents,
    )
    .stop(Stop::InferenceComponentCopies),
    ResourceKind::new("experiment", "CreateExperiment", "experimentArn", "experimentName", L::Experiments),
    ResourceKind::new("feature-group", "CreateFeatureGroup", "featureGroupArn", "featureGroupName", L::FeatureGroups),
    ResourceKind::new(
        "monitoring-schedule",
        "CreateMonitoringSchedule",
        "monitoringScheduleArn",
        "monitoringScheduleName",
        L::MonitoringSchedules,
    )
    .stop(Stop::MonitoringSchedule),
    ResourceKind::new("cluster", "CreateCluster", "clusterArn", "clusterName", L::Clusters)
        .stop(Stop::ClusterInstances),
    // NOTE: CloudTrail names `responseElements` after the API's output members in lowerCamelCase:
    // `TrackingServerArn` -> `trackingServerArn`, `Arn` -> `arn`, `AIBenchmarkJobArn` -> `aIBenchmarkJobArn`.
    ResourceKind::new(
        "mlflow-tracking-server",
        "CreateMlflowTrackingServer",
        "trackingServerArn",
        "trackingServerName",
        L::MlflowTrackingServers,
    )
    .stop(Stop::TrackingServer),
    ResourceKind::new("mlflow-app", "CreateMlflowApp", "arn", "name", L::MlflowApps),
    ResourceKind::new("training-plan", "CreateTrainingPlan", "trainingPlanArn", "trainingPlanName", L::TrainingPlans),
    ResourceKind::new("job", "CreateJob", "jobArn", "jobName", L::Jobs).stop(Stop::Job),
    ResourceKind::new(
        "training-session",
        "CreateTrainingSession",
        "trainingSessionArn",
        "trainingSessionName",
        L::TrainingSessions,
    )
    .stop(Stop::TrainingSession),
    ResourceKind::new(
        "optimization-job",
        "CreateOptimizationJob",
        "optimizationJobArn",
        "optimizationJobName",
        L::OptimizationJobs,
    )
    .stop(Stop::OptimizationJob),
    ResourceKind::new(
        "inference-recommendations-job",
        "CreateInferenceRecommendationsJob",
        "jobArn",
        "jobName",
        L::InferenceRecommendationsJobs,
    )
    .stop(Stop::InferenceRecommendationsJob),
    ResourceKind::new(
        "inference-experiment",
        "CreateInferenceExperiment",
        "inferenceExperimentArn",
        "name",
        L::InferenceExperiments,
    )
    .stop(Stop::InferenceExperiment),
    ResourceKind::new("partner-app", "CreatePartnerApp", "arn", "name", L::PartnerApps),
    ResourceKind::new(
        "flow-definition",
        "CreateFlowDefinition",
        "flowDefinitionArn",
        "flowDefinitionName",
        L::FlowDefinitions,
    ),
    ResourceKind::new(
        "ai-benchmark-job",
        "CreateAIBenchmarkJob",
        "aIBenchmarkJobArn",
        "aIBenchmarkJobName",
        L::AiBenchmarkJobs,
    )
    .stop(Stop::AiBenchmarkJob),
    ResourceKind::new(
        "ai-recommendation-job",
        "CreateAIRecommendationJob",
        "aIRecommendationJobArn",
        "aIRecommendationJobName",
        L::AiRecommendationJobs,
    )
    .stop(Stop::AiRecommendationJob),
    ResourceKind {
        arn_from_name: true,
        ..ResourceKind::new(
            "edge-packaging-job",
            "CreateEdgePackagingJob",
            "",
            "edgePackagingJobName",
            L::EdgePackagingJobs,
        )
        .stop(Stop::EdgePackagingJob)
    },
];

/// The kind created by a CloudTrail `eventName`, if Tagwarden handles it.
pub fn kind_for_event(event_name: &str) -> Option<&'static ResourceKind> {
    KINDS.iter().find(|k| k.create_event == event_name)
}

/// The kind whose ARN resource type is `arn_type`.
pub fn kind_for_arn_type(arn_type: &str) -> Option<&'static ResourceKind> {
    KINDS.iter().find(|k| k.arn_type == arn_type)
}

/// Every resource type of the table once, in table order (the first row of each).
pub fn distinct_kinds() -> Vec<&'static ResourceKind> {
    let mut kinds: Vec<&'static ResourceKind> = Vec::new();
    for kind in KINDS {
        if !kinds.iter().any(|k| k.arn_type == kind.arn_type) {
            kinds.push(kind);
        }
    }
    kinds
}

/// The kinds the enforcer stops with `stop`, in table order.
pub fn stopped_by(stop: Stop) -> impl Iterator<Item = &'static ResourceKind> {
    distinct_kinds().into_iter().filter(move |k| k.stop == Some(stop))
}

/// The create-call event names, sorted and without duplicates: the EventBridge rule's `eventName` list.
pub fn create_event_names() -> Vec<&'static str> {
    let mut names: Vec<_> = KINDS.iter().map(|k| k.create_event).collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests;
