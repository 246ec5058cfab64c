//! The guardrail policies checked in under `infra/policies/` are exactly what the example policy generates, so
//! they cannot drift from `policy/tagwarden.yaml`; and each document is the JSON AWS expects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use tagwarden::Policy;
use tagwarden_ops::guardrails::{
    GuardrailOptions, IAM_POLICY_FILE, IAM_SOURCES_FILE, SCP_FILE, SCP_SOURCES_FILE, TAG_POLICY_FILE, counted_size,
    generate, size_limit,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn generated() -> tagwarden_ops::guardrails::Guardrails {
    let policy = Policy::from_file(&repo().join("policy/tagwarden.yaml")).unwrap();
    generate(&policy, &GuardrailOptions::checked_in()).unwrap()
}

#[test]
fn checked_in_policies_match_a_fresh_generation() {
    for (name, text) in &generated().files {
        let path = repo().join("infra/policies").join(name);
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == *text,
            "{} is out of date with policy/tagwarden.yaml; run `cargo run -p tagwarden-cli -- guardrails` to \
             regenerate it",
            path.display()
        );
    }
}

#[test]
fn each_document_is_json_of_the_right_shape_and_within_its_limit() {
    let guardrails = generated();
    for name in [IAM_POLICY_FILE, SCP_FILE] {
        let text = guardrails.file(name).unwrap();
        let document: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(document["Version"], "2012-10-17", "{name}");
        let statements = document["Statement"].as_array().unwrap();
        assert!(!statements.is_empty(), "{name}");
        for statement in statements {
            assert_eq!(statement["Effect"], "Deny", "{name}");
            assert_eq!(statement["Resource"], "*", "{name}");
            assert!(statement.get("Principal").is_none(), "{name}");
        }
        assert!(counted_size(name, text) <= size_limit(name).unwrap(), "{name}");
    }
    for name in [IAM_SOURCES_FILE, SCP_SOURCES_FILE] {
        let text = guardrails.file(name).unwrap();
        let document: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(document["Version"], "2012-10-17", "{name}");
        for statement in document["Statement"].as_array().unwrap() {
            assert_eq!(statement["Effect"], "Deny", "{name}");
            assert!(statement.get("Principal").is_none(), "{name}");
            assert!(statement["Condition"].is_object(), "{name}: every source statement is conditional");
        }
        assert!(counted_size(name, text) <= size_limit(name).unwrap(), "{name}");
    }
    let text = guardrails.file(TAG_POLICY_FILE).unwrap();
    let tag_policy: Value = serde_json::from_str(text).unwrap();
    assert!(tag_policy["tags"].as_object().is_some_and(|tags| !tags.is_empty()));
    assert!(counted_size(TAG_POLICY_FILE, text) <= size_limit(TAG_POLICY_FILE).unwrap());
}
