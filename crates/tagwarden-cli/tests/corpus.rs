//! The bad-input corpus (`tests/corpus/`) at the command line: `tagwarden replay` refuses every payload that is
//! not JSON (the Lambda runtime refuses those before the handler) and `tagwarden check-policy` every broken
//! policy, each with a non-zero exit and a one-line reason. No AWS is needed: both fail before any call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;
use tagwarden_e2e::repo_root;

/// (file, function, expect, contains) for every manifest case.
fn cases() -> Vec<(String, String, String, Vec<String>)> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(repo_root().join("tests/corpus/MANIFEST.json")).unwrap()).unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    manifest["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let contains = c["contains"].as_array().map(|a| a.iter().map(text).collect()).unwrap_or_default();
            (text(&c["file"]), text(&c["function"]), text(&c["expect"]), contains)
        })
        .collect()
}

/// Exit code and stderr of `tagwarden <args>`, with no AWS configuration at all.
fn tagwarden(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tagwarden"))
        .args(args)
        .current_dir(repo_root())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env_remove("TAGWARDEN_POLICY_FILE")
        .env_remove("TAGWARDEN_POLICY")
        .env_remove("TAGWARDEN_POLICY_PARAMETER")
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn replay_refuses_every_payload_that_is_not_json_with_a_one_line_reason() {
    let mut checked = 0;
    for (file, function, expect, _) in cases() {
        if expect != "not-json" {
            continue;
        }
        let path = format!("tests/corpus/{file}");
        let (code, stderr) = tagwarden(&["replay", &function, "--event", &path]);
        assert_ne!(code, 0, "{file}: {stderr}");
        assert!(stderr.starts_with(&format!("tagwarden: {path} is not JSON: ")), "{file}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} not-JSON cases");
}

#[test]
fn check_policy_refuses_every_broken_policy_naming_the_key_and_the_problem() {
    let mut checked = 0;
    for (file, function, _, contains) in cases() {
        if function != "policy" {
            continue;
        }
        let path = format!("tests/corpus/{file}");
        let (code, stderr) = tagwarden(&["check-policy", &path]);
        assert_ne!(code, 0, "{file}: {stderr}");
        assert!(stderr.starts_with(&format!("tagwarden: invalid policy {path}: ")), "{file}: {stderr}");
        assert!(contains.iter().all(|c| stderr.contains(c.as_str())), "{file}: {contains:?} not in {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} policy cases");
}
