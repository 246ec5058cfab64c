//! `tagwarden sweep` and `tagwarden audit` as a person runs them: the binary, the SDK's environment
//! variables, the local emulator seeded with the untidy estate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use serde_json::Value;
use tagwarden_e2e::estate::{ESTATE_TYPES, audited, seed_estate, sweep_writes};
use tagwarden_e2e::{Emulator, REGION, cli};

fn tagwarden(emulator: &Emulator, args: &[&str]) -> Output {
    cli(env!("CARGO_BIN_EXE_tagwarden"), emulator).args(args).output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).expect(l)).collect()
}

#[tokio::test]
async fn sweep_prints_json_lines_and_a_summary_and_resumes_from_its_state_file() {
    let emulator = Emulator::start().unwrap();
    seed_estate(&emulator.sdk_config(REGION, 1).await).await.unwrap();
    let types = ESTATE_TYPES.join(",");
    let dir = std::env::temp_dir().join(format!("tagwarden-cli-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let state_arg = state.to_str().unwrap();

    let dry = tagwarden(&emulator, &["sweep", "--types", &types, "--dry-run", "--no-history"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let dry_lines = lines(&dry);
    assert!(dry_lines[..dry_lines.len() - 1].iter().all(|l| l["dry_run"] == true && l["resource_type"].is_string()));

    emulator.reset_calls().unwrap();
    let run = tagwarden(
        &emulator,
        &["sweep", "--types", &types, "--concurrency", "4", "--state", state_arg, "--lookup-pace-ms", "0"],
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let out = lines(&run);
    let (summary, outcomes) = out.split_last().unwrap();
    assert_eq!(outcomes.len(), audited().count() + 1, "one line per resource, the deleted app included");
    let tagged = outcomes.iter().filter(|l| l["outcome"] == "tagged").count();
    assert_eq!(tagged, audited().filter(|e| sweep_writes(e)).count());
    assert_eq!(summary["summary"]["total"]["tagged"], tagged);
    assert!(summary["summary"]["max_in_flight"].as_u64().unwrap() <= 4);
    assert!(String::from_utf8_lossy(&run.stderr).contains("total"), "the summary table goes to stderr");
    let calls = emulator.calls().unwrap();
    assert_eq!(calls.by_action["sagemaker.AddTags"], tagged as u64);
    let history = &summary["summary"]["history"];
    assert_eq!(history["complete"], true, "{history}");
    assert_eq!(
        calls.by_action["cloudtrail.LookupEvents"],
        history["calls"].as_u64().unwrap(),
        "one per event name here"
    );

    // The same state file: everything is complete, nothing is listed or tagged again.
    emulator.reset_calls().unwrap();
    let again = tagwarden(&emulator, &["sweep", "--types", &types, "--state", state_arg]);
    assert!(again.status.success());
    assert_eq!(lines(&again).len(), 1, "only the summary");
    assert_eq!(emulator.calls().unwrap().total, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn audit_writes_every_format_and_refuses_unknown_types() {
    let emulator = Emulator::start().unwrap();
    seed_estate(&emulator.sdk_config(REGION, 1).await).await.unwrap();
    let types = ESTATE_TYPES.join(",");
    let json = tagwarden(&emulator, &["audit", "--format", "json", "--types", &types]);
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["total"]["resources"], audited().count());
    assert_eq!(report["total"]["compliant"], audited().filter(|e| e.bad_before.is_empty()).count());

    let dir = std::env::temp_dir().join(format!("tagwarden-cli-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("audit.html");
    let out =
        tagwarden(&emulator, &["audit", "--format", "html", "--types", &types, "--output", html.to_str().unwrap()]);
    assert!(out.status.success() && out.stdout.is_empty());
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    let csv = tagwarden(&emulator, &["audit", "--format", "csv", "--types", &types]);
    assert!(String::from_utf8_lossy(&csv.stdout).starts_with("resource_type,resource_arn,creator,key,status,detail"));
    let table = tagwarden(&emulator, &["audit", "--types", &types]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("non-compliant"));
    let _ = std::fs::remove_dir_all(&dir);

    let bad = tagwarden(&emulator, &["audit", "--types", "trainingjob"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown resource type \"trainingjob\""));
}

#[tokio::test]
async fn replaying_the_schedule_sample_sweeps_every_type_as_the_lambda_does() {
    let emulator = Emulator::start().unwrap();
    seed_estate(&emulator.sdk_config(REGION, 1).await).await.unwrap();
    let out = tagwarden(&emulator, &["replay", "auto-tagger", "--event", "events/auto-tagger/scheduled-sweep.json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["outcome"], "swept");
    assert_eq!(value["summary"]["complete"], true);
    assert_eq!(value["summary"]["total"]["tagged"], audited().filter(|e| sweep_writes(e)).count());
}
