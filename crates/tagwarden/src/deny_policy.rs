//! The deny policy `deny-iam` attaches to the execution roles of a budget over its limit, defined once here:
//! the SAM template's `DenyPolicy`, the member template's `MemberDenyPolicy` and the CDK app (through
//! `infra/generated/deny-policy.json`) deploy exactly [`document`], and tests hold them to it.
//!
//! It denies every SageMaker call that starts new spend — creating, starting, updating, retrying, importing,
//! extending, attaching, adding cluster nodes, continuing a pipeline, and the presigned URLs that open a
//! Studio or notebook session — and any change of `tagwarden:` tag keys. A test checks it against every
//! operation of the SageMaker API ([`SPENDING_PREFIXES`]): each is denied or listed in [`ALLOWED`] with a
//! reason. What it cannot stop is said in docs/budget-enforcer.md.

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
