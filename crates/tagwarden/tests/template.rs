//! The SAM template agrees with the library: the EventBridge rule lists exactly the create calls of the
//! resource table, and each function's role grants exactly the permissions the library declares.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_norway::Value;
use tagwarden::permissions::{self, Permission, Scope};
use tagwarden::resource::create_event_names;

const SCOPES: &[Scope] = &[
    Scope::Any,
    Scope::SageMaker,
    Scope::IamRoles,
    Scope::IamUsers,
    Scope::SageMakerMarkers,
    Scope::IamRoleMarkers,
    Scope::DenyPolicyAttachment,
    Scope::NotifyTopic,
    Scope::Budgets,
    Scope::PolicyParameter,
    Scope::MemberRoles,
];

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn function(template: &Value, logical_id: &str) -> Value {
    template["Resources"][logical_id]["Properties"].clone()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// The (action, scope) pairs a function's inline policy grants, the scope read from each statement's Sid.
fn granted(properties: &Value) -> BTreeSet<Permission> {
    let mut granted = BTreeSet::new();
    for policy in properties["Policies"].as_sequence().unwrap() {
        for statement in policy["Statement"].as_sequence().unwrap() {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            let sid = statement["Sid"].as_str().unwrap();
            let scope = SCOPES
                .iter()
                .copied()
                .find(|s| s.sid() == sid)
                .unwrap_or_else(|| panic!("statement {sid} has no scope in permissions.rs"));
            if scope != Scope::Any {
                assert_ne!(statement["Resource"].as_str(), Some("*"), "{sid} must be scoped");
            }
            for action in strings(&statement["Action"]) {
                assert!(!action.contains('*'), "{sid}: wildcard action {action}");
                let declared = permissions::auto_tagger()
                    .into_iter()
                    .chain(permissions::budget_enforcer())
                    .find(|(a, _)| *a == action)
                    .unwrap_or_else(|| panic!("{action} is not declared in permissions.rs"));
                granted.insert((declared.0, scope));
            }
        }
    }
    granted
}

#[test]
fn the_event_rule_lists_exactly_the_create_calls_of_the_resource_table_and_the_tag_changes() {
    let template = template();
    let pattern = &function(&template, "AutoTaggerFunction")["Events"]["SageMakerCalls"]["Properties"]["Pattern"];
    let listed = strings(&pattern["detail"]["eventName"]);
    let table: Vec<String> = permissions::auto_tagger_event_names().into_iter().map(str::to_owned).collect();
    assert!(create_event_names().iter().all(|name| table.iter().any(|t| t == name)));
    assert!(table.iter().any(|t| t == "DeleteTags"), "tamper protection needs the tag changes");
    assert_eq!(listed, table, "update infra/template.yaml from crates/tagwarden/src/resource.rs");
    assert_eq!(strings(&pattern["source"]), ["aws.sagemaker"]);
}

#[test]
fn the_organization_bus_admits_only_the_organization_and_its_rule_matches_the_default_one() {
    let template = template();
    let resources = &template["Resources"];
    let policy = &resources["OrganizationBusPolicy"]["Properties"]["Statement"];
    assert_eq!(policy["Action"].as_str(), Some("events:PutEvents"));
    assert_eq!(policy["Principal"].as_str(), Some("*"));
    assert!(format!("{:?}", policy["Condition"]["StringEquals"]["aws:PrincipalOrgID"]).contains("OrganizationId"));
    let org = &resources["OrganizationSageMakerCalls"]["Properties"]["EventPattern"];
    let default = &function(&template, "AutoTaggerFunction")["Events"]["SageMakerCalls"]["Properties"]["Pattern"];
    assert_eq!(org, default, "the organization bus's rule must match what the default bus's rule matches");
    for id in ["OrganizationBus", "OrganizationBusPolicy", "OrganizationSageMakerCalls"] {
        assert_eq!(resources[id]["Condition"].as_str(), Some("OrganizationEnabled"), "{id}");
    }
}

#[test]
fn each_function_role_grants_exactly_the_declared_permissions() {
    let template = template();
    assert_eq!(granted(&function(&template, "AutoTaggerFunction")), permissions::auto_tagger());
    assert_eq!(granted(&function(&template, "BudgetEnforcerFunction")), permissions::budget_enforcer());
}

#[test]
fn attaching_policies_is_limited_to_the_deny_policy() {
    let template = template();
    let properties = function(&template, "BudgetEnforcerFunction");
    let statements = properties["Policies"][0]["Statement"].as_sequence().unwrap();
    let attach = statements.iter().find(|s| s["Sid"].as_str() == Some("DenyPolicyAttachment")).unwrap();
    let condition = &attach["Condition"]["ArnEquals"]["iam:PolicyARN"];
    assert!(format!("{condition:?}").contains("DenyPolicy"), "{condition:?}");
}

#[test]
fn the_enforcer_writes_only_tagwarden_marker_tags() {
    let template = template();
    let statements = function(&template, "BudgetEnforcerFunction")["Policies"][0]["Statement"].clone();
    let statements = statements.as_sequence().unwrap();
    for sid in [Scope::SageMakerMarkers.sid(), Scope::IamRoleMarkers.sid()] {
        let statement = statements.iter().find(|s| s["Sid"].as_str() == Some(sid)).unwrap();
        let keys = &statement["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"];
        assert_eq!(keys.as_str(), Some(permissions::MARKER_TAG_KEYS), "{sid}");
    }
    for statement in statements.iter().filter(|s| s["Condition"].is_null()) {
        let actions = strings(&statement["Action"]);
        assert!(
            !actions
                .iter()
                .any(|a| ["sagemaker:AddTags", "sagemaker:DeleteTags", "iam:TagRole", "iam:UntagRole"]
                    .contains(&a.as_str())),
            "{:?} writes tags without the marker condition",
            statement["Sid"]
        );
    }
    let markers = [
        tagwarden::enforce::STOPPED_BY_TAG,
        tagwarden::enforce::SCALED_BY_TAG,
        tagwarden::enforce::SCALED_FROM_TAG,
        tagwarden::enforce::DENIED_BY_TAG,
    ];
    let prefix = permissions::MARKER_TAG_KEYS.trim_end_matches('*');
    assert!(markers.iter().all(|m| m.starts_with(prefix)), "{markers:?}");
}

#[test]
fn both_functions_are_built_by_cargo_lambda_under_their_own_name() {
    let template = template();
    for (logical_id, binary) in [("AutoTaggerFunction", "auto-tagger"), ("BudgetEnforcerFunction", "budget-enforcer")] {
        let metadata = &template["Resources"][logical_id]["Metadata"];
        assert_eq!(metadata["BuildMethod"].as_str(), Some("rust-cargolambda"));
        assert_eq!(metadata["BuildProperties"]["Binary"].as_str(), Some(binary));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../functions").join(binary);
        assert!(dir.join("Cargo.toml").exists(), "functions/{binary} exists");
        assert!(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events").join(binary).is_dir());
    }
}

#[test]
fn the_checked_in_deployment_manifest_matches_the_library() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/generated/manifest.json");
    let expected = serde_json::to_string_pretty(&permissions::manifest()).unwrap() + "\n";
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "infra/generated/manifest.json is stale: run `cargo run -p tagwarden-cli -- manifest > infra/generated/manifest.json`"
    );
}
