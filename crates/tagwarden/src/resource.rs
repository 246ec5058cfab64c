//! The table of SageMaker resource kinds Tagwarden knows, and SageMaker ARNs.
//!
//! In: a CloudTrail `eventName` or an ARN. Out: the [`ResourceKind`] that says where the ARN is in the
//! event, what the ARN's resource type is and how the tagging API names it. Every other module asks this
//! table; the deployment's EventBridge rule is generated from it.

use std::fmt;

/// One kind of SageMaker resource that can be created and tagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceKind {
    /// The ARN's resource type, e.g. `training-job` (also Tagwarden's name for the kind).
    pub arn_type: &'static str,
    /// The CloudTrail `eventName` of the call that creates it.
    pub create_event: &'static str,
    /// The field of `responseElements` that holds the new resource's ARN.
    pub arn_field: &'static str,
    /// The field of `requestParameters` that holds the resource's name.
    pub name_field: &'static str,
}

impl ResourceKind {
    /// The Resource Groups Tagging API's type filter for this kind, e.g. `sagemaker:training-job`.
    pub fn tagging_type(&self) -> String {
        format!("sagemaker:{}", self.arn_type)
    }
}

const fn kind(
    arn_type: &'static str,
    create_event: &'static str,
    arn_field: &'static str,
    name_field: &'static str,
) -> ResourceKind {
    ResourceKind { arn_type, create_event, arn_field, name_field }
}

/// Every resource kind the auto-tagger handles, one row per create call.
pub const KINDS: &[ResourceKind] = &[
    kind("training-job", "CreateTrainingJob", "trainingJobArn", "trainingJobName"),
    kind("processing-job", "CreateProcessingJob", "processingJobArn", "processingJobName"),
    kind("transform-job", "CreateTransformJob", "transformJobArn", "transformJobName"),
    kind(
        "hyper-parameter-tuning-job",
        "CreateHyperParameterTuningJob",
        "hyperParameterTuningJobArn",
        "hyperParameterTuningJobName",
    ),
    kind("notebook-instance", "CreateNotebookInstance", "notebookInstanceArn", "notebookInstanceName"),
    kind("endpoint", "CreateEndpoint", "endpointArn", "endpointName"),
    kind("endpoint-config", "CreateEndpointConfig", "endpointConfigArn", "endpointConfigName"),
    kind("model", "CreateModel", "modelArn", "modelName"),
    kind("pipeline", "CreatePipeline", "pipelineArn", "pipelineName"),
    kind("domain", "CreateDomain", "domainArn", "domainName"),
    kind("user-profile", "CreateUserProfile", "userProfileArn", "userProfileName"),
    kind("space", "CreateSpace", "spaceArn", "spaceName"),
    kind("app", "CreateApp", "appArn", "appName"),
    kind("labeling-job", "CreateLabelingJob", "labelingJobArn", "labelingJobName"),
    kind("compilation-job", "CreateCompilationJob", "compilationJobArn", "compilationJobName"),
    kind("automl-job", "CreateAutoMLJob", "autoMLJobArn", "autoMLJobName"),
    kind("automl-job", "CreateAutoMLJobV2", "autoMLJobArn", "autoMLJobName"),
    kind("model-package", "CreateModelPackage", "modelPackageArn", "modelPackageName"),
    kind("model-package-group", "CreateModelPackageGroup", "modelPackageGroupArn", "modelPackageGroupName"),
    kind("inference-component", "CreateInferenceComponent", "inferenceComponentArn", "inferenceComponentName"),
    kind("experiment", "CreateExperiment", "experimentArn", "experimentName"),
    kind("feature-group", "CreateFeatureGroup", "featureGroupArn", "featureGroupName"),
    kind("monitoring-schedule", "CreateMonitoringSchedule", "monitoringScheduleArn", "monitoringScheduleName"),
    kind("cluster", "CreateCluster", "clusterArn", "clusterName"),
];

/// The kind created by a CloudTrail `eventName`, if Tagwarden handles it.
pub fn kind_for_event(event_name: &str) -> Option<&'static ResourceKind> {
    KINDS.iter().find(|k| k.create_event == event_name)
}

/// The kind whose ARN resource type is `arn_type`.
pub fn kind_for_arn_type(arn_type: &str) -> Option<&'static ResourceKind> {
    KINDS.iter().find(|k| k.arn_type == arn_type)
}

/// The create-call event names, sorted and without duplicates: the EventBridge rule's `eventName` list.
pub fn create_event_names() -> Vec<&'static str> {
    let mut names: Vec<_> = KINDS.iter().map(|k| k.create_event).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// A parsed SageMaker ARN: `arn:<partition>:sagemaker:<region>:<account>:<type>/<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SageMakerArn {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// Region of the resource.
    pub region: String,
    /// Account id of the resource.
    pub account: String,
    /// ARN resource type, e.g. `user-profile`.
    pub resource_type: String,
    /// Everything after `<type>/`, e.g. `d-abc/alice` for a user profile.
    pub path: String,
}

impl SageMakerArn {
    /// Parses a SageMaker ARN; `None` for anything else (other services, missing parts).
    pub fn parse(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
        if prefix != "arn" || service != "sagemaker" || partition.is_empty() {
            return None;
        }
        let (resource_type, path) = resource.split_once('/')?;
        if resource_type.is_empty() || path.is_empty() || region.is_empty() || account.is_empty() {
            return None;
        }
        Some(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource_type: resource_type.to_owned(),
            path: path.to_owned(),
        })
    }

    /// Another resource of the same partition, region and account: `arn:…:<resource_type>/<path>`.
    pub fn sibling(&self, resource_type: &str, path: &str) -> String {
        format!("arn:{}:sagemaker:{}:{}:{}/{}", self.partition, self.region, self.account, resource_type, path)
    }

    /// The last path segment: the resource's name for most kinds.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

impl fmt::Display for SageMakerArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sibling(&self.resource_type, &self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_facts_table_event_name_has_a_kind() {
        for name in [
            "CreateTrainingJob",
            "CreateProcessingJob",
            "CreateTransformJob",
            "CreateHyperParameterTuningJob",
            "CreateNotebookInstance",
            "CreateEndpoint",
            "CreateEndpointConfig",
            "CreateModel",
            "CreatePipeline",
            "CreateDomain",
            "CreateUserProfile",
            "CreateSpace",
            "CreateApp",
            "CreateLabelingJob",
            "CreateCompilationJob",
            "CreateAutoMLJob",
            "CreateAutoMLJobV2",
            "CreateModelPackage",
            "CreateModelPackageGroup",
            "CreateInferenceComponent",
            "CreateExperiment",
        ] {
            assert!(kind_for_event(name).is_some(), "{name} missing from KINDS");
        }
    }

    #[test]
    fn event_names_are_unique_and_arn_fields_end_in_arn() {
        let names = create_event_names();
        assert_eq!(names.len(), KINDS.len());
        assert!(KINDS.iter().all(|k| k.arn_field.ends_with("Arn")));
    }

    #[test]
    fn parses_multi_segment_arns_and_rebuilds_them() {
        let arn = "arn:aws:sagemaker:us-east-1:123456789012:app/d-x/alice/jupyterlab/default";
        let parsed = SageMakerArn::parse(arn).unwrap();
        assert_eq!(parsed.resource_type, "app");
        assert_eq!(parsed.path, "d-x/alice/jupyterlab/default");
        assert_eq!(parsed.name(), "default");
        assert_eq!(parsed.to_string(), arn);
        assert_eq!(parsed.sibling("domain", "d-x"), "arn:aws:sagemaker:us-east-1:123456789012:domain/d-x");
    }

    #[test]
    fn rejects_arns_of_other_services_and_truncated_arns() {
        assert!(SageMakerArn::parse("arn:aws:amplify:us-east-1:1:apps/x").is_none());
        assert!(SageMakerArn::parse("arn:aws:sagemaker:us-east-1:1:model").is_none());
        assert!(SageMakerArn::parse("arn:aws:sagemaker::1:model/x").is_none());
        assert!(SageMakerArn::parse("not an arn").is_none());
    }
}
