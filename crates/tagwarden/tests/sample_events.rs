//! Every file in `events/auto-tagger/` parses and is classified as its README says, so samples cannot rot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use tagwarden::identity::{Creator, CreatorKind};
use tagwarden::tagging::CreateCall;
use tagwarden::tagging::tamper::{ChangeKind, TagChange};

fn samples() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/auto-tagger");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, value)
        })
        .collect()
}

/// file -> Ok((arn type, creator kind, creator name)) or Err(skip reason fragment)
fn expected(file: &str) -> Result<(&'static str, CreatorKind, &'static str), &'static str> {
    use CreatorKind::*;
    Ok(match file {
        "training-job-studio-source-identity.json" => ("training-job", StudioUserProfile, "alice"),
        "notebook-instance-iam-user.json" => ("notebook-instance", IamUser, "intern"),
        "endpoint-assumed-role-ci.json" => ("endpoint", AssumedRole, "github-actions-run-4711"),
        "endpoint-config-assumed-role-ci.json" => ("endpoint-config", AssumedRole, "github-actions-run-4711"),
        "model-assumed-role-ci.json" => ("model", AssumedRole, "github-actions-run-4711"),
        "processing-job-identity-center.json" => ("processing-job", IdentityCenter, "carol@example.com"),
        "transform-job-ec2-instance-role.json" => ("transform-job", AssumedRole, "batch-runner"),
        "pipeline-lambda-role.json" => ("pipeline", AssumedRole, "nightly-retrain"),
        "hyper-parameter-tuning-job-studio.json" => ("hyper-parameter-tuning-job", StudioUserProfile, "bob"),
        "training-job-tuning-child.json" => ("training-job", Service, "sagemaker.amazonaws.com"),
        "processing-job-pipeline-step.json" => ("processing-job", AssumedRole, "nightly-retrain"),
        "user-profile-iam-user-admin.json" => ("user-profile", IamUser, "admin"),
        // Owners named in the request are resolved in apply; from the identity alone it is the role.
        "space-studio-owner.json" => ("space", AssumedRole, "AmazonSageMaker-ExecutionRole-ml-platform"),
        "app-studio-user-profile.json" => ("app", AssumedRole, "AmazonSageMaker-ExecutionRole-ml-platform"),
        "model-studio-system-tags.json" => ("model", AssumedRole, "AmazonSageMaker-ExecutionRole-alice"),
        "domain-root.json" => ("domain", Root, "root"),
        "model-package-group-assumed-role-ci.json" => ("model-package-group", AssumedRole, "github-actions-run-4711"),
        "endpoint-iam-user-aws-docs-sample.json" => ("endpoint", IamUser, "intern"),
        "notebook-instance-assumed-role-console.json" => ("notebook-instance", AssumedRole, "bob@example.com"),
        // The cost-bearing kinds of issue 15, and two other partitions.
        "mlflow-tracking-server-assumed-role-ci.json" => {
            ("mlflow-tracking-server", AssumedRole, "github-actions-run-4711")
        }
        "mlflow-app-assumed-role-ci.json" => ("mlflow-app", AssumedRole, "github-actions-run-4711"),
        "training-plan-assumed-role-ci.json" => ("training-plan", AssumedRole, "github-actions-run-4711"),
        "job-assumed-role-ci.json" => ("job", AssumedRole, "github-actions-run-4711"),
        "training-session-assumed-role-ci.json" => ("training-session", AssumedRole, "github-actions-run-4711"),
        "optimization-job-assumed-role-ci.json" => ("optimization-job", AssumedRole, "github-actions-run-4711"),
        "inference-recommendations-job-assumed-role-ci.json" => {
            ("inference-recommendations-job", AssumedRole, "github-actions-run-4711")
        }
        "inference-experiment-assumed-role-ci.json" => ("inference-experiment", AssumedRole, "github-actions-run-4711"),
        "partner-app-assumed-role-ci.json" => ("partner-app", AssumedRole, "github-actions-run-4711"),
        "flow-definition-assumed-role-ci.json" => ("flow-definition", AssumedRole, "github-actions-run-4711"),
        "ai-benchmark-job-assumed-role-ci.json" => ("ai-benchmark-job", AssumedRole, "github-actions-run-4711"),
        "ai-recommendation-job-assumed-role-ci.json" => {
            ("ai-recommendation-job", AssumedRole, "github-actions-run-4711")
        }
        "edge-packaging-job-no-arn-in-response.json" => ("edge-packaging-job", AssumedRole, "github-actions-run-4711"),
        "cluster-hyperpod-named-by-id.json" => ("cluster", AssumedRole, "github-actions-run-4711"),
        "mlflow-tracking-server-aws-cn.json" => ("mlflow-tracking-server", AssumedRole, "github-actions-run-4711"),
        "optimization-job-aws-us-gov.json" => ("optimization-job", AssumedRole, "github-actions-run-4711"),
        "app-amplify.json" => return Err("not a SageMaker event"),
        "training-job-failed-call.json" => return Err("failed call: ResourceLimitExceeded"),
        "endpoint-delete-not-a-create.json" => return Err("unsupported operation: DeleteEndpoint"),
        // Not a create call: the auto-tagger keeps the deleted profile's budgets (tagging::profiles).
        "delete-user-profile.json" => return Err("unsupported operation: DeleteUserProfile"),
        "model-package-versioned.json" => return Err("versioned model packages cannot be tagged"),
        // Not a create call: the schedule that makes the auto-tagger sweep (tagwarden::sweep::handle_event).
        "scheduled-sweep.json" => return Err("not a CloudTrail API call"),
        other => panic!("{other}: add the new sample to this test"),
    })
}

#[test]
fn every_sample_event_is_classified_as_documented() {
    let samples = samples();
    assert!(samples.len() >= 15, "at least 15 samples, found {}", samples.len());
    for (file, event) in samples {
        if file.starts_with("tamper-") {
            assert!(TagChange::is_tag_change(&event), "{file}");
            continue;
        }
        match (CreateCall::from_event(&event), expected(&file)) {
            (Ok(call), Ok((arn_type, kind, name))) => {
                assert_eq!(call.kind.arn_type, arn_type, "{file}");
                let creator = Creator::from_identity(call.call.user_identity.as_ref());
                assert_eq!((creator.kind, creator.name.as_str()), (kind, name), "{file}");
                if call.kind.arn_from_name {
                    assert_eq!(
                        call.arn_string(),
                        "arn:aws:sagemaker:us-east-1:123456789012:edge-packaging-job/fraud-edge-pkg",
                        "{file}: no ARN in the response: built from the name, region and account"
                    );
                } else {
                    let arn = call.call.response_str(call.kind.arn_field).unwrap();
                    assert_eq!(call.arn_string(), arn, "{file}: the ARN is taken verbatim");
                }
                let partition = match event["detail"]["awsRegion"].as_str().unwrap() {
                    "cn-north-1" => "aws-cn",
                    "us-gov-west-1" => "aws-us-gov",
                    _ => "aws",
                };
                assert_eq!(call.arn.partition, partition, "{file}");
            }
            (Err(skip), Err(reason)) => {
                assert!(skip.reason.contains(reason), "{file}: {}", skip.reason)
            }
            (got, want) => panic!("{file}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn samples_cover_every_identity_kind_and_eight_resource_kinds() {
    let mut kinds = std::collections::BTreeSet::new();
    let mut types = std::collections::BTreeSet::new();
    for (file, _) in samples().into_iter().filter(|(file, _)| !file.starts_with("tamper-")) {
        if let Ok((arn_type, kind, _)) = expected(&file) {
            kinds.insert(format!("{kind:?}"));
            types.insert(arn_type);
        }
    }
    for kind in ["IamUser", "AssumedRole", "IdentityCenter", "StudioUserProfile", "Service", "Root"] {
        assert!(kinds.contains(kind), "no sample for {kind}");
    }
    assert!(types.len() >= 8, "{types:?}");
}

#[test]
fn a_hyperpod_cluster_named_by_id_is_reported_by_its_name() {
    let samples = samples();
    let (_, event) = samples.iter().find(|(f, _)| f == "cluster-hyperpod-named-by-id.json").unwrap();
    let call = CreateCall::from_event(event).unwrap();
    assert_eq!(call.arn.name(), "pwbqjjlstbop");
    assert_eq!(call.name_if_not_in_arn(), Some("fraud-llm-pretrain"));
    let (_, named) = samples.iter().find(|(f, _)| f == "endpoint-assumed-role-ci.json").unwrap();
    assert_eq!(CreateCall::from_event(named).unwrap().name_if_not_in_arn(), None, "FraudScorer is in its ARN");
}

#[test]
fn every_kind_added_for_issue_15_has_a_sample_and_two_other_partitions_replay() {
    let mut types = std::collections::BTreeSet::new();
    let mut partitions = std::collections::BTreeSet::new();
    for (_, event) in samples() {
        if let Ok(call) = CreateCall::from_event(&event) {
            types.insert(call.kind.arn_type);
            partitions.insert(call.arn.partition.clone());
        }
    }
    let added = "mlflow-tracking-server mlflow-app training-plan job training-session optimization-job \
        inference-recommendations-job inference-experiment partner-app flow-definition ai-benchmark-job \
        ai-recommendation-job edge-packaging-job";
    for arn_type in added.split_whitespace() {
        assert!(types.contains(arn_type), "no sample for {arn_type}");
    }
    assert_eq!(partitions, ["aws", "aws-cn", "aws-us-gov"].map(String::from).into_iter().collect());
}

#[test]
fn tag_change_samples_name_the_model_and_the_keys_they_touch() {
    let policy = tagwarden::Policy::example().unwrap();
    let changes: Vec<_> = samples().into_iter().filter(|(file, _)| file.starts_with("tamper-")).collect();
    assert_eq!(changes.len(), 4);
    for (file, event) in changes {
        let change = TagChange::from_event(&event).unwrap_or_else(|skip| panic!("{file}: {}", skip.reason));
        assert_eq!(change.arn.to_string(), "arn:aws:sagemaker:us-east-1:123456789012:model/alice-quick-deploy");
        let protected: Vec<String> = change.protected_keys(&policy.tags).into_iter().collect();
        let (kind, touched): (ChangeKind, &[&str]) = match file.as_str() {
            "tamper-delete-cost-center.json" => (ChangeKind::Deleted, &["cost-center"]),
            "tamper-overwrite-cost-center.json" => (ChangeKind::Overwritten, &["cost-center"]),
            "tamper-unprotected-key.json" => (ChangeKind::Deleted, &[]),
            "tamper-by-tagwarden.json" => (ChangeKind::Overwritten, &["cost-center"]),
            other => panic!("{other}: add the new sample to this test"),
        };
        assert_eq!(change.change, kind, "{file}");
        assert_eq!(protected, touched, "{file}");
    }
}
