//! The deny policy `deny-iam` attaches to the execution roles of a budget over its limit, defined once here:
//! the SAM template's `DenyPolicy`, the member template's `MemberDenyPolicy` and the CDK app (through
//! `infra/generated/deny-policy.json`) deploy exactly [`document`], and tests hold them to it.
//!
//! It denies every SageMaker call that starts new spend — creating, starting, updating, retrying, importing,
//! extending, attaching, adding cluster nodes, continuing a pipeline, and the presigned URLs that open a
//! Studio or notebook session — and any change of `tagwarden:` tag keys. A test checks it against every
//! operation of the SageMaker API ([`SPENDING_PREFIXES`]): each is denied or listed in [`ALLOWED`] with a
//! reason. What it cannot stop is said in docs/budget-enforcer.md.
//!
//! The second policy, the one `deny-instance-types` attaches ([`instance_types_document`]), is the graduated
//! step before it: it denies only the calls that launch instances of the expensive types
//! ([`DEFAULT_DENIED_INSTANCE_TYPES`], or the deployment's `DeniedInstanceTypes`), so work goes on on small
//! instances. The SAM template's `DenyInstanceTypesPolicy`, the member template's
//! `MemberDenyInstanceTypesPolicy` and `infra/generated/deny-instance-types-policy.json` deploy it.

use serde_json::{Value, json};

/// The SageMaker actions denied (IAM matches action names ignoring case; `*` is any run of characters).
pub const DENIED_ACTIONS: &[&str] = &[
    // Every Create*: new resources, and CreatePresignedDomainUrl / CreatePresignedNotebookInstanceUrl (a
    // Studio or notebook session starts compute).
    "sagemaker:Create*",
    // StartNotebookInstance, StartPipelineExecution, StartMonitoringSchedule, StartInferenceExperiment, ...
    "sagemaker:Start*",
    // UpdateEndpoint, UpdateEndpointWeightsAndCapacities, UpdateInferenceComponent(RuntimeConfig),
    // UpdateCluster(Software), UpdateNotebookInstance, UpdateSpace, UpdateTrainingJob (warm pools), ...
    "sagemaker:Update*",
    // RetryPipelineExecution.
    "sagemaker:Retry*",
    // ImportHubContent.
    "sagemaker:Import*",
    // ExtendTrainingPlan (buys more reserved capacity).
    "sagemaker:Extend*",
    // AttachClusterNodeVolume, AttachClusterNodeNetworkInterface.
    "sagemaker:Attach*",
    "sagemaker:BatchAddClusterNodes",
    "sagemaker:BatchReplaceClusterNodes",
    // Lets a paused pipeline run its next steps.
    "sagemaker:SendPipelineExecutionStepSuccess",
];

/// The tag calls denied when they name a `tagwarden:` key (the namespace is Tagwarden's own).
pub const RESERVED_TAG_ACTIONS: &[&str] =
    &["sagemaker:AddTags", "sagemaker:DeleteTags", "iam:TagRole", "iam:UntagRole", "iam:TagUser", "iam:UntagUser"];

/// Name prefixes of SageMaker operations that may start spend: each such operation must be denied or
/// listed in [`ALLOWED`].
pub const SPENDING_PREFIXES: &[&str] =
    &["Create", "Start", "Update", "Retry", "Resume", "Restart", "Import", "Add", "Attach", "Batch", "Extend", "Send"];

/// Operations with a [`SPENDING_PREFIXES`] name that the policy leaves allowed, each with the reason.
pub const ALLOWED: &[(&str, &str)] = &[
    ("AddAssociation", "lineage metadata: runs nothing"),
    ("AddTags", "tags cost nothing; `tagwarden:` keys are denied by the NoTagwardenTagChanges statement"),
    ("BatchDeleteClusterNodes", "removes capacity"),
    ("BatchDescribeModelPackage", "reads only"),
    ("BatchRebootClusterNodes", "reboots nodes that already run; adds none"),
    ("SendPipelineExecutionStepFailure", "ends a paused step; nothing new runs"),
];

/// The deny policy's document (IAM JSON): one statement against new spend, one against `tagwarden:` tags.
pub fn document() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoNewSageMakerSpend",
                "Effect": "Deny",
                "Action": DENIED_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "NoTagwardenTagChanges",
                "Effect": "Deny",
                "Action": RESERVED_TAG_ACTIONS,
                "Resource": "*",
                "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": crate::grant::MARKER_TAG_KEYS}},
            },
        ],
    })
}

/// The SageMaker actions that support the `sagemaker:InstanceTypes` condition key (Service Authorization
/// Reference, "Actions, resources, and condition keys for Amazon SageMaker"): the creates and updates that take
/// instance types. `deny-instance-types` denies exactly these.
pub const INSTANCE_TYPE_ACTIONS: &[&str] = &[
    "sagemaker:CreateApp",
    "sagemaker:CreateCluster",
    "sagemaker:CreateDataQualityJobDefinition",
    "sagemaker:CreateDomain",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModelBiasJobDefinition",
    "sagemaker:CreateModelExplainabilityJobDefinition",
    "sagemaker:CreateModelQualityJobDefinition",
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:CreateNotebookInstance",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateSpace",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:CreateUserProfile",
    "sagemaker:UpdateCluster",
    "sagemaker:UpdateDomain",
    "sagemaker:UpdateMonitoringSchedule",
    "sagemaker:UpdateNotebookInstance",
    "sagemaker:UpdateSpace",
    "sagemaker:UpdateTrainingJob",
    "sagemaker:UpdateUserProfile",
];

/// The instance types `deny-instance-types` denies by default (`StringLike` patterns): every GPU and accelerator
/// family, and the largest sizes of any family.
pub const DEFAULT_DENIED_INSTANCE_TYPES: &[&str] = &[
    // GPU: P2-P6 (A100, H100, H200, B200, GB200), G4dn-G6e, Gr6.
    "ml.p*",
    "ml.g*",
    // AWS Trainium and Inferentia, Habana Gaudi (DL1).
    "ml.trn*",
    "ml.inf*",
    "ml.dl*",
    // The largest CPU sizes (tens of dollars an hour with memory-optimised families).
    "ml.*.24xlarge",
    "ml.*.32xlarge",
    "ml.*.48xlarge",
    "ml.*.metal*",
];

/// The `Sid` of the instance-types policy's one statement.
pub const INSTANCE_TYPES_SID: &str = "NoExpensiveSageMakerInstances";

/// The instance-types deny policy's document: [`INSTANCE_TYPE_ACTIONS`] denied when any instance type of the
/// request matches one of `patterns` (`ForAnyValue:StringLike` on `sagemaker:InstanceTypes`).
pub fn instance_types_document(patterns: &[&str]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": INSTANCE_TYPES_SID,
                "Effect": "Deny",
                "Action": INSTANCE_TYPE_ACTIONS,
                "Resource": "*",
                "Condition": {"ForAnyValue:StringLike": {"sagemaker:InstanceTypes": patterns}},
            },
        ],
    })
}

/// Whether the document denies `sagemaker:<operation>` outright (not only for `tagwarden:` keys).
pub fn denies(operation: &str) -> bool {
    let action = format!("sagemaker:{operation}").to_ascii_lowercase();
    DENIED_ACTIONS.iter().any(|pattern| wildmatch::WildMatch::new(&pattern.to_ascii_lowercase()).matches(&action))
}

/// An operation module name of `aws_sdk_sagemaker::operation` (`update_inference_component`) compared as
/// IAM compares action names: without case or underscores (`updateinferencecomponent`).
fn folded(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// The SDK's operation module names (from the checked-in list) whose name starts with a spending prefix and
/// that are neither denied nor allowed with a reason: what the coverage test reports.
pub fn uncovered<'a>(operations: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let prefixes: Vec<String> = SPENDING_PREFIXES.iter().map(|p| folded(p)).collect();
    let allowed: Vec<String> = ALLOWED.iter().map(|(op, _)| folded(op)).collect();
    operations
        .into_iter()
        .filter(|op| {
            let name = folded(op);
            prefixes.iter().any(|p| name.starts_with(p.as_str())) && !denies(&name) && !allowed.contains(&name)
        })
        .collect()
}

/// The operation module names of the checked-in list (`src/sagemaker-operations.txt`), comments dropped.
pub fn sdk_operations() -> Vec<&'static str> {
    include_str!("sagemaker-operations.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sagemaker_operation_that_may_spend_is_denied_or_allowed_with_a_reason() {
        let operations = sdk_operations();
        assert!(operations.len() > 300, "the list holds the whole API: {}", operations.len());
        assert_eq!(uncovered(operations.iter().copied()), Vec::<&str>::new(), "add them to DENIED_ACTIONS or ALLOWED");
    }

    #[test]
    fn the_calls_that_spend_without_a_create_are_denied() {
        for op in [
            "UpdateInferenceComponent",
            "UpdateInferenceComponentRuntimeConfig",
            "UpdateCluster",
            "UpdateClusterSoftware",
            "RetryPipelineExecution",
            "StartPipelineExecution",
            "CreatePresignedDomainUrl",
            "CreatePresignedNotebookInstanceUrl",
            "UpdateEndpoint",
            "UpdateEndpointWeightsAndCapacities",
            "StartNotebookInstance",
            "UpdateNotebookInstance",
            "BatchAddClusterNodes",
            "ExtendTrainingPlan",
        ] {
            assert!(denies(op), "{op}");
            let module: String = op
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                    sep.into_iter().chain(c.to_lowercase())
                })
                .collect();
            assert!(sdk_operations().contains(&module.as_str()), "{op} is in the SDK");
        }
        assert!(!denies("StopNotebookInstance") && !denies("DeleteEndpoint") && !denies("AddTags"));
    }

    #[test]
    fn the_allow_list_names_real_operations_that_are_not_denied_each_with_a_reason() {
        let operations: Vec<String> = sdk_operations().iter().map(|op| folded(op)).collect();
        for (op, reason) in ALLOWED {
            assert!(operations.contains(&folded(op)), "{op} is not a SageMaker operation");
            assert!(!denies(op), "{op} is both denied and allowed");
            assert!(!reason.trim().is_empty(), "{op} needs a reason");
        }
    }

    #[test]
    fn the_instance_types_policy_denies_its_actions_only_when_an_instance_type_matches() {
        let doc = instance_types_document(DEFAULT_DENIED_INSTANCE_TYPES);
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1);
        let statement = &statements[0];
        assert_eq!((statement["Sid"].as_str(), statement["Effect"].as_str()), (Some(INSTANCE_TYPES_SID), Some("Deny")));
        assert_eq!(statement["Resource"], "*");
        let condition = statement["Condition"].as_object().unwrap();
        assert_eq!(condition.keys().collect::<Vec<_>>(), ["ForAnyValue:StringLike"], "any matching type denies");
        let patterns = &condition["ForAnyValue:StringLike"]["sagemaker:InstanceTypes"];
        assert_eq!(patterns, &json!(DEFAULT_DENIED_INSTANCE_TYPES));
        assert_eq!(statement["Action"], json!(INSTANCE_TYPE_ACTIONS));
    }

    #[test]
    fn every_instance_type_action_is_a_create_or_update_of_the_sdk_that_the_deny_policy_also_denies() {
        let operations: Vec<String> = sdk_operations().iter().map(|op| folded(op)).collect();
        let mut sorted = INSTANCE_TYPE_ACTIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, INSTANCE_TYPE_ACTIONS, "sorted, each once");
        for action in INSTANCE_TYPE_ACTIONS {
            let operation = action.strip_prefix("sagemaker:").unwrap();
            assert!(operation.starts_with("Create") || operation.starts_with("Update"), "{action}");
            assert!(operations.contains(&folded(operation)), "{action} is not a SageMaker operation");
            // NOTE: the instance-types policy is a step before deny-iam, never more than it.
            assert!(denies(operation), "{action} is not denied by deny-iam's policy");
        }
    }

    #[test]
    fn the_default_patterns_catch_gpu_accelerator_and_huge_types_and_spare_small_ones() {
        let matches = |t: &str| DEFAULT_DENIED_INSTANCE_TYPES.iter().any(|p| wildmatch::WildMatch::new(p).matches(t));
        for expensive in [
            "ml.p4d.24xlarge",
            "ml.p5.48xlarge",
            "ml.p5e.48xlarge",
            "ml.g5.xlarge",
            "ml.g6e.2xlarge",
            "ml.trn1.32xlarge",
            "ml.trn2.48xlarge",
            "ml.inf2.xlarge",
            "ml.dl1.24xlarge",
            "ml.m5.24xlarge",
            "ml.r7i.48xlarge",
            "ml.c6i.32xlarge",
        ] {
            assert!(matches(expensive), "{expensive}");
        }
        for small in ["ml.t3.medium", "ml.m5.large", "ml.c5.2xlarge", "ml.m6g.xlarge", "ml.r5.4xlarge", "system"] {
            assert!(!matches(small), "{small}");
        }
    }

    #[test]
    fn tag_changes_of_tagwarden_keys_are_denied_for_sagemaker_and_iam_alike() {
        let doc = document();
        let statement = &doc["Statement"][1];
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(statement["Condition"]["ForAnyValue:StringLike"]["aws:TagKeys"], "tagwarden:*");
        let actions: Vec<&str> = statement["Action"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        for action in ["sagemaker:AddTags", "sagemaker:DeleteTags", "iam:TagRole", "iam:UntagRole"] {
            assert!(actions.contains(&action), "{action}");
        }
        assert!(doc["Statement"].as_array().unwrap().iter().all(|s| s["Resource"] == "*"));
    }
}
