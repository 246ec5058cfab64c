//! The deny policies are defined once ([`tagwarden::deny_policy::document`],
//! [`tagwarden::deny_policy::instance_types_document`]): the SAM template, the member template and the CDK
//! app's generated JSON deploy exactly them, and the list of SageMaker operations the coverage test reads is
//! the SDK's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use tagwarden::deny_policy::{DEFAULT_DENIED_INSTANCE_TYPES, document, instance_types_document, sdk_operations};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `PolicyDocument` of `logical_id` in a CloudFormation template, as JSON.
fn deployed(template: &str, logical_id: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join(template)).unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let document = &yaml["Resources"][logical_id]["Properties"]["PolicyDocument"];
    serde_json::to_value(document).unwrap()
}

#[test]
fn the_sam_and_member_templates_deploy_the_librarys_deny_policy() {
    let expected = document();
    assert_eq!(deployed("infra/template.yaml", "DenyPolicy"), expected, "infra/template.yaml DenyPolicy");
    assert_eq!(deployed("infra/member.yaml", "MemberDenyPolicy"), expected, "infra/member.yaml MemberDenyPolicy");
}

/// A template's instance-types policy with `!Ref DeniedInstanceTypes` replaced by the parameter's default, and
/// that default.
fn deployed_instance_types(template: &str, logical_id: &str) -> (serde_json::Value, Vec<String>) {
    let text = std::fs::read_to_string(repo().join(template)).unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let default: Vec<String> =
        yaml["Parameters"]["DeniedInstanceTypes"]["Default"].as_str().unwrap().split(',').map(str::to_owned).collect();
    let mut document = yaml["Resources"][logical_id]["Properties"]["PolicyDocument"].clone();
    let condition = &mut document["Statement"][0]["Condition"]["ForAnyValue:StringLike"]["sagemaker:InstanceTypes"];
    let serde_norway::Value::Tagged(tagged) = condition.clone() else {
        panic!("{template} {logical_id}: the patterns are the DeniedInstanceTypes parameter: {condition:?}");
    };
    assert_eq!((tagged.tag.to_string().as_str(), tagged.value.as_str()), ("!Ref", Some("DeniedInstanceTypes")));
    *condition = serde_norway::to_value(&default).unwrap();
    (serde_json::to_value(document).unwrap(), default)
}

#[test]
fn the_sam_and_member_templates_deploy_the_librarys_instance_types_policy_with_its_default_patterns() {
    let expected = instance_types_document(DEFAULT_DENIED_INSTANCE_TYPES);
    for (template, logical_id) in
        [("infra/template.yaml", "DenyInstanceTypesPolicy"), ("infra/member.yaml", "MemberDenyInstanceTypesPolicy")]
    {
        let (deployed, default) = deployed_instance_types(template, logical_id);
        assert_eq!(default, DEFAULT_DENIED_INSTANCE_TYPES, "{template}: DeniedInstanceTypes' default");
        assert_eq!(deployed, expected, "{template} {logical_id}");
    }
}

#[test]
fn the_cdk_apps_instance_types_policy_json_is_the_librarys() {
    let path = repo().join("infra/generated/deny-instance-types-policy.json");
    let expected =
        serde_json::to_string_pretty(&instance_types_document(DEFAULT_DENIED_INSTANCE_TYPES)).unwrap() + "\n";
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "infra/generated/deny-instance-types-policy.json is stale: run `cargo run -p tagwarden-cli -- deny-instance-types-policy > infra/generated/deny-instance-types-policy.json`"
    );
}

#[test]
fn the_cdk_apps_deny_policy_json_is_the_librarys() {
    let path = repo().join("infra/generated/deny-policy.json");
    let expected = serde_json::to_string_pretty(&document()).unwrap() + "\n";
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "infra/generated/deny-policy.json is stale: run `cargo run -p tagwarden-cli -- deny-policy > infra/generated/deny-policy.json`"
    );
}

/// The version of aws-sdk-sagemaker in Cargo.lock.
fn locked_sdk_version() -> String {
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"aws-sdk-sagemaker\"" {
            let version = lines.next().unwrap();
            return version.trim_start_matches("version = \"").trim_end_matches('"').to_owned();
        }
    }
    panic!("aws-sdk-sagemaker is not in Cargo.lock");
}

/// `$CARGO_HOME/registry/src/*/aws-sdk-sagemaker-<version>/src/operation`, where cargo unpacked the SDK.
fn sdk_operation_dir(version: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let registries = std::fs::read_dir(home.join("registry/src")).ok()?;
    registries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(format!("aws-sdk-sagemaker-{version}/src/operation")))
        .find(|dir| dir.is_dir())
}

#[test]
fn the_checked_in_operation_list_is_the_locked_sdks() {
    let version = locked_sdk_version();
    let list = include_str!("../src/sagemaker-operations.txt");
    assert!(
        list.lines().next().unwrap_or_default().contains(&format!("aws-sdk-sagemaker {version}")),
        "src/sagemaker-operations.txt was made from another SDK than the locked {version}: regenerate it"
    );
    let dir = sdk_operation_dir(&version).unwrap_or_else(|| {
        panic!("the source of aws-sdk-sagemaker {version} is not under $CARGO_HOME/registry/src (run `cargo fetch`)")
    });
    let mut modules: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    modules.sort();
    let mut listed: Vec<String> = sdk_operations().iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(
        listed,
        modules,
        "regenerate crates/tagwarden/src/sagemaker-operations.txt from {}: its two comment lines, then `ls` of the directories",
        dir.display()
    );
}
