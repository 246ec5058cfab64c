//! `activate-tags` against the local emulator (Cost Explorer's cost-allocation tags, see
//! `tests/emulator/tagwarden_moto_ce.py`): keys already active are reported, known inactive keys are
//! activated, keys no resource carries yet are pending, a dry run writes nothing, and a member account is
//! told to use the payer account.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_config::SdkConfig;
use aws_sdk_sagemaker::types::{ContainerDefinition, Tag};
use tagwarden::Policy;
use tagwarden_e2e::{ACCOUNT, Emulator, REGION};
use tagwarden_ops::cost::{CostError, activate_tags, cost_explorer_client, list_cost_allocation_tags};

/// A SageMaker model carrying `keys` (billing "sees" a key once a resource carries it).
async fn tagged_model(config: &SdkConfig, name: &str, keys: &[&str]) {
    let sm = aws_sdk_sagemaker::Client::new(config);
    let tags = keys.iter().map(|k| Tag::builder().key(*k).value("x").build());
    sm.create_model()
        .model_name(name)
        .execution_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/tagwarden-e2e"))
        .primary_container(ContainerDefinition::builder().image("img").build())
        .set_tags(Some(tags.collect()))
        .send()
        .await
        .unwrap();
}

fn policy_requiring(keys: &[&str]) -> Policy {
    let keys: String = keys.iter().map(|k| format!("    {k}: {{required: true}}\n")).collect();
    Policy::from_yaml(&format!("version: 1\ntags:\n  keys:\n{keys}"), "test").unwrap()
}

#[tokio::test]
async fn already_active_keys_are_reported_known_keys_activated_and_unseen_keys_pending() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    // NOTE: the SDK configuration says eu-west-1: the Cost Explorer client must go to us-east-1 by itself.
    let config = emulator.sdk_config("eu-west-1", 1).await;
    let ce = cost_explorer_client(&config);
    assert_eq!(ce.config().region().map(|r| r.as_ref()), Some("us-east-1"));
    tagged_model(&emulator.sdk_config(REGION, 1).await, "m1", &["cost-center", "team"]).await;

    let first = activate_tags(&ce, &policy_requiring(&["cost-center"]).tags, false).await.unwrap();
    assert_eq!(first.activated, ["cost-center"]);

    let policy = Policy::example().unwrap();
    let second = activate_tags(&ce, &policy.tags, false).await.unwrap();
    assert_eq!(second.already_active, ["cost-center"]);
    assert_eq!(second.activated, ["team"]);
    assert_eq!(second.pending, ["environment"], "no resource carries environment yet");
    assert!(second.failed.is_empty());

    tagged_model(&config, "m2", &["environment"]).await;
    let third = activate_tags(&ce, &policy.tags, false).await.unwrap();
    assert_eq!(third.already_active, ["cost-center", "team"]);
    assert_eq!(third.activated, ["environment"]);
    assert!(third.pending.is_empty());
    let keys: Vec<String> = policy.tags.required_keys().map(str::to_owned).collect();
    let known = list_cost_allocation_tags(&ce, &keys).await.unwrap();
    assert!(known.iter().all(|k| k.active) && known.len() == 3, "{known:?}");
}

#[tokio::test]
async fn dry_run_reads_billing_and_writes_nothing() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    tagged_model(&config, "m1", &["cost-center", "team", "environment"]).await;
    let ce = cost_explorer_client(&config);
    emulator.reset_calls().unwrap();

    let outcome = activate_tags(&ce, &Policy::example().unwrap().tags, true).await.unwrap();
    assert!(outcome.dry_run);
    assert_eq!(outcome.activated, ["cost-center", "team", "environment"], "what would be activated");

    let calls = emulator.calls().unwrap();
    assert_eq!(calls.by_action.get("ce.UpdateCostAllocationTagsStatus"), None, "{calls:?}");
    assert_eq!(calls.by_action.get("ce.ListCostAllocationTags"), Some(&1), "{calls:?}");
    let keys = ["cost-center".to_owned()];
    assert!(!list_cost_allocation_tags(&ce, &keys).await.unwrap()[0].active, "still inactive");
}

#[tokio::test]
async fn member_account_gets_told_to_use_the_payer_account() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let sts = aws_sdk_sts::Client::new(&config);
    let assumed = sts
        .assume_role()
        .role_arn("arn:aws:iam::210987654321:role/member-admin")
        .role_session_name("tagwarden-e2e")
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials().unwrap();
    let member = aws_config::SdkConfig::builder()
        .endpoint_url(emulator.endpoint())
        .region(config.region().cloned())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            aws_sdk_sts::config::Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_owned()),
                None,
                "member",
            ),
        ))
        .build();

    let err = activate_tags(&cost_explorer_client(&member), &Policy::example().unwrap().tags, false).await.unwrap_err();
    assert!(matches!(err, CostError::NotPayerAccount(_)), "{err:?}");
    assert!(err.to_string().contains("payer (management) account"), "{err}");
}
