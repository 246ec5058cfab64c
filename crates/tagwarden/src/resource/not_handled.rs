//! The SageMaker create calls that take `Tags` and that Tagwarden deliberately does not handle, each with
//! its reason, and the list of every such call in the SDK that the registry tests hold the tables against.

/// A SageMaker create call that takes `Tags` and that Tagwarden deliberately does not handle, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotHandled {
    /// The CloudTrail `eventName` (the SDK operation's name).
    pub create_event: &'static str,
    /// Why it is not in [`KINDS`].
    pub reason: &'static str,
}

const fn nh(create_event: &'static str, reason: &'static str) -> NotHandled {
    NotHandled { create_event, reason }
}

/// Metadata with no cost of its own.
const METADATA: &str = "no cost of its own: metadata or configuration";
/// Lineage and experiment tracking records.
const LINEAGE: &str = "no cost of its own: a lineage or experiment-tracking record";
/// Definitions that only cost when a job or schedule runs them (and those are handled).
const DEFINITION: &str = "no cost of its own: a definition that costs only when a handled job or schedule runs it";

/// Every SageMaker create call that takes `Tags` and is not in [`KINDS`], with the reason.
pub const NOT_HANDLED: &[NotHandled] = &[
    nh("CreateAction", LINEAGE),
    nh("CreateArtifact", LINEAGE),
    nh("CreateContext", LINEAGE),
    nh("CreateTrial", LINEAGE),
    nh("CreateTrialComponent", LINEAGE),
    nh("CreateAIWorkloadConfig", DEFINITION),
    nh("CreateAlgorithm", DEFINITION),
    nh("CreateDataQualityJobDefinition", DEFINITION),
    nh("CreateModelBiasJobDefinition", DEFINITION),
    nh("CreateModelExplainabilityJobDefinition", DEFINITION),
    nh("CreateModelQualityJobDefinition", DEFINITION),
    nh("CreateHumanTaskUi", DEFINITION),
    nh("CreateEdgeDeploymentPlan", DEFINITION),
    nh("CreateAppImageConfig", METADATA),
    nh("CreateImage", METADATA),
    nh("CreateCodeRepository", METADATA),
    nh("CreateHub", METADATA),
    nh("CreateHubContentReference", METADATA),
    nh("CreateModelCard", METADATA),
    nh("CreateNotebookInstanceLifecycleConfig", METADATA),
    nh("CreateStudioLifecycleConfig", METADATA),
    nh(
        "CreateProject",
        "no cost of its own: a Service Catalog product whose resources are tagged by their own create calls",
    ),
    nh("CreateDeviceFleet", "no cost of its own: edge devices are the customer's hardware"),
    nh("CreateWorkforce", "no cost of its own: labeling is billed per labeling job (handled)"),
    nh("CreateWorkteam", "no cost of its own: labeling is billed per labeling job (handled)"),
    nh(
        "CreateClusterSchedulerConfig",
        "no cost of its own: scheduling of a HyperPod cluster's capacity, billed with the cluster (handled)",
    ),
    nh(
        "CreateComputeQuota",
        "no cost of its own: a share of a HyperPod cluster's capacity, billed with the cluster (handled)",
    ),
];

/// Every SageMaker create operation whose input takes `Tags` in aws-sdk-sagemaker 1.248, made with
/// `for d in operation/create_*/; do grep -q 'pub tags:' $d/_$(basename $d)_input.rs && echo $d; done` in the
/// crate's `src/`, names as the operations' (CloudTrail's `eventName`).
pub const SDK_CREATE_CALLS_WITH_TAGS: &[&str] = &[
    "CreateAction",
    "CreateAIBenchmarkJob",
    "CreateAIRecommendationJob",
    "CreateAIWorkloadConfig",
    "CreateAlgorithm",
    "CreateApp",
    "CreateAppImageConfig",
    "CreateArtifact",
    "CreateAutoMLJob",
    "CreateAutoMLJobV2",
    "CreateCluster",
    "CreateClusterSchedulerConfig",
    "CreateCodeRepository",
    "CreateCompilationJob",
    "CreateComputeQuota",
    "CreateContext",
    "CreateDataQualityJobDefinition",
    "CreateDeviceFleet",
    "CreateDomain",
    "CreateEdgeDeploymentPlan",
    "CreateEdgePackagingJob",
    "CreateEndpoint",
    "CreateEndpointConfig",
    "CreateExperiment",
    "CreateFeatureGroup",
    "CreateFlowDefinition",
    "CreateHub",
    "CreateHubContentReference",
    "CreateHumanTaskUi",
    "CreateHyperParameterTuningJob",
    "CreateImage",
    "CreateInferenceComponent",
    "CreateInferenceExperiment",
    "CreateInferenceRecommendationsJob",
    "CreateJob",
    "CreateLabelingJob",
    "CreateMlflowApp",
    "CreateMlflowTrackingServer",
    "CreateModel",
    "CreateModelBiasJobDefinition",
    "CreateModelCard",
    "CreateModelExplainabilityJobDefinition",
    "CreateModelPackage",
    "CreateModelPackageGroup",
    "CreateModelQualityJobDefinition",
    "CreateMonitoringSchedule",
    "CreateNotebookInstance",
    "CreateNotebookInstanceLifecycleConfig",
    "CreateOptimizationJob",
    "CreatePartnerApp",
    "CreatePipeline",
    "CreateProcessingJob",
    "CreateProject",
    "CreateSpace",
    "CreateStudioLifecycleConfig",
    "CreateTrainingJob",
    "CreateTrainingPlan",
    "CreateTrainingSession",
    "CreateTransformJob",
    "CreateTrial",
    "CreateTrialComponent",
    "CreateUserProfile",
    "CreateWorkforce",
    "CreateWorkteam",
];
