//! The cost-bearing kinds of issue 15 end to end: each one's sample event replayed against the emulator is
//! tagged, samples from the `aws-cn` and `aws-us-gov` partitions are tagged in their region, and the kinds
//! named by ids (MLflow apps, partner apps) are swept and audited (the others are in the estate:
//! `tests/src/estate.rs`, `sweep.rs`, `audit.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tagwarden::sweep::{self, Lister, SweepOptions, SweepState};
use tagwarden::tagging::apply::list_tags;
use tagwarden::tagging::{Report, TaggerSettings};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, sample_event};
use tagwarden_ops::audit;

/// One sample per kind added for issue 15, all made by the CI session of the role `ci-deployer`.
const SAMPLES: &[(&str, &str)] = &[
    ("mlflow-tracking-server-assumed-role-ci.json", "mlflow-tracking-server"),
    ("mlflow-app-assumed-role-ci.json", "mlflow-app"),
    ("training-plan-assumed-role-ci.json", "training-plan"),
    ("job-assumed-role-ci.json", "job"),
    ("training-session-assumed-role-ci.json", "training-session"),
    ("optimization-job-assumed-role-ci.json", "optimization-job"),
    ("inference-recommendations-job-assumed-role-ci.json", "inference-recommendations-job"),
    ("inference-experiment-assumed-role-ci.json", "inference-experiment"),
    ("partner-app-assumed-role-ci.json", "partner-app"),
    ("flow-definition-assumed-role-ci.json", "flow-definition"),
    ("ai-benchmark-job-assumed-role-ci.json", "ai-benchmark-job"),
    ("ai-recommendation-job-assumed-role-ci.json", "ai-recommendation-job"),
    ("edge-packaging-job-no-arn-in-response.json", "edge-packaging-job"),
];

fn tagged(file: &str, outcome: Outcome) -> Report {
    match outcome {
        Outcome::Tagged(report) => report,
        other => panic!("{file}: expected tagged, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

/// The tagger of a fresh emulator's demo world in `region`.
async fn tagger_in(emulator: &Emulator, region: &str) -> (aws_config::SdkConfig, Clients, AutoTagger) {
    let config = emulator.sdk_config(region, 1).await;
    seed_world(&config).await.expect("seed");
    let clients = Clients::new(&config);
    let tagger = AutoTagger::new(clients.clone(), Arc::new(Policy::example().unwrap()), &TaggerSettings::default());
    (config, clients, tagger)
}

#[tokio::test]
async fn every_cost_bearing_kind_is_tagged_from_its_replayed_sample() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let (config, clients, tagger) = tagger_in(&emulator, REGION).await;
    for (file, arn_type) in SAMPLES {
        let event = sample_event("auto-tagger", file).unwrap();
        let created = create_resource(&config, &event).await.unwrap().expect("an ARN");
        let report = tagged(file, tagger.handle(&event).await.unwrap());
        assert_eq!(report.resource_arn, created, "{file}: the ARN the tagger reads is the resource's");
        assert!(report.resource_arn.contains(&format!(":{arn_type}/")), "{file}: {}", report.resource_arn);
        // Apps named by an id in their ARN are reported by their name too, as HyperPod clusters are.
        let by_id = match *arn_type {
            "mlflow-app" => Some("fraud-mlflow"),
            "partner-app" => Some("comet-fraud"),
            _ => None,
        };
        assert_eq!(report.resource_name.as_deref(), by_id, "{file}");
        let tags = list_tags(&clients, &report.resource_arn).await.unwrap();
        assert_eq!(tags.get("cost-center").map(String::as_str), Some("CC-4000"), "{file}: ci-deployer's");
        assert_eq!(tags.get("team").map(String::as_str), Some("platform"), "{file}");
        assert_eq!(tags.get("created-by").map(String::as_str), Some("github-actions-run-4711"), "{file}");
        assert_eq!(tags.get("project").map(String::as_str), Some("fraud"), "{file}: the caller's own tag");
    }
}

#[tokio::test]
async fn samples_from_aws_cn_and_aws_us_gov_are_tagged_in_their_partition() {
    for (file, region, partition) in [
        ("mlflow-tracking-server-aws-cn.json", "cn-north-1", "aws-cn"),
        ("optimization-job-aws-us-gov.json", "us-gov-west-1", "aws-us-gov"),
    ] {
        let emulator = Emulator::start().expect("emulator starts");
        let (config, clients, tagger) = tagger_in(&emulator, region).await;
        let event = sample_event("auto-tagger", file).unwrap();
        let created = create_resource(&config, &event).await.unwrap().expect("an ARN");
        assert!(created.starts_with(&format!("arn:{partition}:sagemaker:{region}:")), "{file}: {created}");
        let report = tagged(file, tagger.handle(&event).await.unwrap());
        assert_eq!(report.resource_arn, created, "{file}");
        let tags = list_tags(&clients, &report.resource_arn).await.unwrap();
        assert_eq!(tags.get("created-by").map(String::as_str), Some("github-actions-run-4711"), "{file}");
        assert_eq!(tags.get("cost-center").map(String::as_str), Some("CC-4000"), "{file}: the role's tags");
    }
}

#[tokio::test]
async fn apps_named_by_ids_are_swept_and_audited() {
    let emulator = Emulator::start().expect("emulator starts");
    let (config, clients, tagger) = tagger_in(&emulator, REGION).await;
    let mut arns = Vec::new();
    for file in ["mlflow-app-assumed-role-ci.json", "partner-app-assumed-role-ci.json"] {
        let event = sample_event("auto-tagger", file).unwrap();
        arns.push(create_resource(&config, &event).await.unwrap().expect("an ARN"));
    }
    let names = vec!["mlflow-app".to_owned(), "partner-app".to_owned()];
    let kinds = sweep::kinds_named(&names).unwrap();
    let lister = Lister::new(clients.clone());

    let (before, errors) = audit::collect(&lister, &kinds, 2).await;
    assert!(errors.is_empty(), "{errors:?}");
    let report = audit::audit(&before, &Policy::example().unwrap().tags);
    let types: Vec<(&str, u64, u64)> =
        report.types.iter().map(|t| (t.resource_type.as_str(), t.resources, t.compliant)).collect();
    assert_eq!(types, [("mlflow-app", 1, 0), ("partner-app", 1, 0)]);

    let options = SweepOptions { kinds, ..SweepOptions::default() };
    let mut names = Vec::new();
    let summary = sweep::sweep(&tagger, &lister, &options, &mut SweepState::default(), &mut |p| {
        if let sweep::Progress::Resource { outcome: Outcome::Tagged(report), .. } = p {
            names.push(report.resource_name.clone());
        }
    })
    .await;
    names.sort();
    assert_eq!(names, [Some("comet-fraud".to_owned()), Some("fraud-mlflow".to_owned())], "named by their listings");
    assert!(summary.complete, "{summary:?}");
    assert_eq!((summary.total.scanned, summary.total.tagged, summary.total.failed), (2, 2, 0));
    for arn in &arns {
        let tags = list_tags(&clients, arn).await.unwrap();
        // No execution-role lookup for these kinds: the policy's default environment, the caller's project.
        assert_eq!(tags.get("environment").map(String::as_str), Some("dev"), "{arn}");
        assert_eq!(tags.get("project").map(String::as_str), Some("fraud"), "{arn}");
    }
}
