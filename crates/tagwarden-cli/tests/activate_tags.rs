//! `tagwarden activate-tags` as a user runs it, against the local emulator through `AWS_ENDPOINT_URL`:
//! what it prints for active, activated and pending keys, and what a member account is told.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use tagwarden_e2e::{ACCOUNT, Emulator, REGION};

fn tagwarden(emulator: &Emulator, args: &[&str], creds: (&str, &str, Option<&str>)) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tagwarden"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", emulator.endpoint())
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", creds.0)
        .env("AWS_SECRET_ACCESS_KEY", creds.1)
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE");
    match creds.2 {
        Some(token) => command.env("AWS_SESSION_TOKEN", token),
        None => command.env_remove("AWS_SESSION_TOKEN"),
    };
    command.output().unwrap()
}

#[tokio::test]
async fn prints_activated_and_pending_keys_and_sends_a_member_account_to_the_payer() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let sm = aws_sdk_sagemaker::Client::new(&config);
    let tag = |k: &str| aws_sdk_sagemaker::types::Tag::builder().key(k).value("x").build();
    sm.create_model()
        .model_name("m1")
        .execution_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/r"))
        .primary_container(aws_sdk_sagemaker::types::ContainerDefinition::builder().image("img").build())
        .tags(tag("cost-center"))
        .tags(tag("team"))
        .send()
        .await
        .unwrap();

    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policy/tagwarden.yaml");
    let out = tagwarden(&emulator, &["activate-tags", "--policy", policy], ("testing", "testing", None));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("activated: cost-center, team"), "{stdout}");
    assert!(stdout.contains("pending: not yet seen by billing: environment"), "{stdout}");

    let sts = aws_sdk_sts::Client::new(&config);
    let assumed = sts.assume_role().role_arn("arn:aws:iam::210987654321:role/admin").role_session_name("cli").send();
    let creds = assumed.await.unwrap().credentials().unwrap().clone();
    let out = tagwarden(
        &emulator,
        &["activate-tags", "--policy", policy],
        (creds.access_key_id(), creds.secret_access_key(), Some(creds.session_token())),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("payer (management) account"), "{stderr}");
}
