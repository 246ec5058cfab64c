//! What the logs may hold: with `RUST_LOG=trace` and real-looking credentials, a replay's log lines carry
//! no secret, no session token, no signed header and no request body, and tag values only truncated.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, cli, sample_event};

const ACCESS_KEY: &str = "AKIAZZLOGLEAKCHECK01";
const SECRET: &str = "zZsecret-log-leak-check-wJalrXUtnFEMI/K7MDENG";
const TOKEN: &str = "zZtoken-log-leak-check-IQoJb3JpZ2luX2VjEJr";

#[tokio::test]
async fn trace_logs_hold_no_credentials_bodies_or_whole_tag_values() {
    replay_holds_no_secrets("trace").await;
}

/// Per-crate directives are more specific than the cap's `aws_`: they must not lift it.
#[tokio::test]
async fn sdk_crates_asked_for_at_trace_by_name_still_log_no_credentials_or_bodies() {
    replay_holds_no_secrets(
        "aws_sigv4=trace,aws_smithy_runtime=trace,aws_smithy_runtime_api=trace,hyper_util=trace,trace",
    )
    .await;
}

/// Replays a create event with `RUST_LOG=rust_log` and real-looking credentials, and checks the log lines.
async fn replay_holds_no_secrets(rust_log: &str) {
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.unwrap();
    // The caller's own 256-character tag value: it reaches SageMaker in AddTags/ListTags bodies.
    let long_value = format!("zZvalue{}", "v".repeat(249));
    let mut event = sample_event("auto-tagger", "training-job-studio-source-identity.json").unwrap();
    event["detail"]["requestParameters"]["tags"] = json!([{"key": "project", "value": long_value}]);
    create_resource(&config, &event).await.unwrap();
    let file = std::env::temp_dir().join(format!("tagwarden-logs-{}.json", std::process::id()));
    std::fs::write(&file, event.to_string()).unwrap();

    let output = cli(env!("CARGO_BIN_EXE_tagwarden"), &emulator)
        .args(["replay", "auto-tagger", "--event", file.to_str().unwrap()])
        .env("RUST_LOG", rust_log)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .output()
        .unwrap();
    std::fs::remove_file(&file).ok();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{logs}");
    assert!(stdout.contains("\"tagged\""), "{stdout}");
    assert!(logs.contains("handled"), "the outcome is logged: {logs}");

    let lower = logs.to_lowercase();
    for (what, needle) in [
        ("secret key", SECRET.to_lowercase()),
        ("session token", TOKEN.to_lowercase()),
        ("access key id", ACCESS_KEY.to_lowercase()),
        ("signed header", "authorization".into()),
        ("token header", "x-amz-security-token".into()),
        ("request body", "\"resourcearn\"".into()),
        ("whole tag value", long_value.to_lowercase()),
    ] {
        assert!(!lower.contains(&needle), "{what} in the logs:\n{logs}");
    }
    println!("{} log lines at RUST_LOG={rust_log}, none with credentials or bodies", logs.lines().count());
}
