//! `tagwarden replay auto-tagger` as a person runs it: the binary, the SDK's environment variables, the
//! local emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, cli, sample_event};

fn tagwarden(emulator: &Emulator, args: &[&str]) -> (i32, Value, String) {
    tagwarden_with(emulator, args, &[])
}

fn tagwarden_with(emulator: &Emulator, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let output = cli(env!("CARGO_BIN_EXE_tagwarden"), emulator).args(args).envs(env.iter().copied()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn replay_prints_the_handlers_outcome_and_exits_zero() {
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.unwrap();
    let event = sample_event("auto-tagger", "training-job-studio-source-identity.json").unwrap();
    create_resource(&config, &event).await.unwrap();

    let file = "events/auto-tagger/training-job-studio-source-identity.json";
    let (code, outcome, stderr) = tagwarden(&emulator, &["replay", "auto-tagger", "--event", file]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(outcome["outcome"], "tagged");
    assert_eq!(outcome["creator"]["name"], "alice");
    assert_eq!(outcome["added"]["cost-center"], "CC-2100");

    let (code, outcome, _) =
        tagwarden(&emulator, &["replay", "auto-tagger", "--event", file, "--policy", "policy/tagwarden.yaml"]);
    assert_eq!((code, outcome["outcome"].as_str()), (0, Some("unchanged")));
}

#[tokio::test]
async fn replay_exits_zero_on_skips_and_non_zero_with_a_reason_on_bad_input() {
    let emulator = Emulator::start().unwrap();
    let (code, outcome, _) =
        tagwarden(&emulator, &["replay", "auto-tagger", "--event", "events/auto-tagger/app-amplify.json"]);
    assert_eq!(code, 0);
    assert_eq!(outcome["outcome"], "skipped");

    let (code, _, stderr) = tagwarden(&emulator, &["replay", "auto-tagger", "--event", "Cargo.toml"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("Cargo.toml is not JSON"), "{stderr}");

    let dir = std::env::temp_dir().join(format!("tagwarden-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("policy.yaml");
    std::fs::write(&bad, "tags:\n  keys:\n    team:\n      requried: true\n").unwrap();
    let file = "events/auto-tagger/app-amplify.json";
    let (code, _, stderr) =
        tagwarden(&emulator, &["replay", "auto-tagger", "--event", file, "--policy", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("requried") && stderr.contains("line 4"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one-line reason: {stderr}");
}

#[tokio::test]
async fn budget_enforcer_replay_dry_run_enforce_and_restore_from_the_command_line() {
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config(REGION, 1).await;
    tagwarden_e2e::budget_world::seed_budget_world(&emulator, &config, 2).await.unwrap();
    tagwarden_e2e::ledger::create_ledger(&config).await.unwrap();
    let ledger = ["--ledger-table", tagwarden_e2e::ledger::LEDGER_TABLE];
    let alert = "events/budget-enforcer/actual-125-percent.json";
    let topic = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";

    // Without an alerts topic, replay refuses alerts as the Lambda does; from another topic too.
    let (code, _, stderr) = tagwarden(&emulator, &["replay", "budget-enforcer", "--event", alert]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no alerts topic is configured"), "{stderr}");
    let other = ["--alert-topic", "arn:aws:sns:us-east-1:123456789012:elsewhere"];
    let (code, _, stderr) =
        tagwarden(&emulator, &[&["replay", "budget-enforcer", "--event", alert][..], &other].concat());
    assert_ne!(code, 0);
    assert!(stderr.contains("not a configured alerts topic"), "{stderr}");

    let (code, outcome, stderr) =
        tagwarden(&emulator, &["replay", "budget-enforcer", "--event", alert, "--dry-run", "--alert-topic", topic]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(outcome["outcome"], "dry-run");
    assert_eq!(outcome["alert"]["percent_of_budget"], 125.0);

    let (code, outcome, stderr) = tagwarden(
        &emulator,
        &["replay", "budget-enforcer", "--event", alert, "--alert-topic", topic, ledger[0], ledger[1]],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(outcome["outcome"], "enforced");
    let denied =
        outcome["results"].as_array().unwrap().iter().filter(|r| r["action"] == "deny-iam" && r["result"] == "done");
    assert_eq!(denied.count(), 2);

    let (code, outcome, stderr) = tagwarden(&emulator, &["restore", "--budget", "ml-marketing", ledger[0], ledger[1]]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(outcome["outcome"], "restored");
    let detached = outcome["results"].as_array().unwrap().iter().filter(|r| r["action"] == "detach-deny");
    assert_eq!(detached.count(), 2);

    let junk = "events/budget-enforcer/not-a-budget-alert.json";
    let (code, _, stderr) = tagwarden(&emulator, &["replay", "budget-enforcer", "--event", junk]);
    assert_ne!(code, 0);
    assert!(stderr.starts_with("tagwarden: bad input: not an AWS Budgets alert"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn the_policy_is_read_from_the_ssm_parameter_the_deployment_names() {
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.unwrap();
    let event = sample_event("auto-tagger", "model-assumed-role-ci.json").unwrap();
    create_resource(&config, &event).await.unwrap();
    let policy = "tags:\n  keys:\n    owner-team: {required: true}\n  creator_tag: launched-by\n";
    let ssm = aws_sdk_ssm::Client::new(&config);
    ssm.put_parameter()
        .name("/tagwarden/policy")
        .value(policy)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    let env = [("TAGWARDEN_POLICY_PARAMETER", "/tagwarden/policy")];
    let file = "events/auto-tagger/model-assumed-role-ci.json";
    let (code, outcome, stderr) = tagwarden_with(&emulator, &["replay", "auto-tagger", "--event", file], &env);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(outcome["added"]["launched-by"], "github-actions-run-4711");
    assert_eq!(outcome["missing_required"], serde_json::json!(["owner-team"]));

    let env = [("TAGWARDEN_POLICY_PARAMETER", "/tagwarden/missing")];
    let (code, _, stderr) = tagwarden_with(&emulator, &["replay", "auto-tagger", "--event", file], &env);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot read the policy from SSM parameter /tagwarden/missing"), "{stderr}");
}
