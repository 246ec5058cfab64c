//! `infra/member.yaml` (what each member account of an organization deploys) agrees with the library: the
//! forwarding rule matches exactly the auto-tagger's events, the member role grants exactly
//! `permissions::member_role()`, trusts only the central functions' roles, and exists once per account.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_norway::Value;
use tagwarden::permissions::{self, Permission, Scope};

fn load(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra").join(file);
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Tagged(tagged) => strings(&tagged.value),
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// The `!Ref`/`!GetAtt` target of a tagged value, e.g. `!Ref CentralBusArn` -> `CentralBusArn`.
fn reference(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => format!("{}:{}", tagged.tag, strings(&tagged.value).join(".")),
        other => format!("{other:?}"),
    }
}

/// The member role's statements; a conditional one (`!If [Condition, statement, !Ref AWS::NoValue]`) as the
/// statement it grants when the condition holds.
fn statements(role: &Value) -> Vec<Value> {
    conditional_statements(role).into_iter().map(|(_, statement)| statement).collect()
}

/// The member role's statements, each with the template Condition it is granted under.
fn conditional_statements(role: &Value) -> Vec<(Option<String>, Value)> {
    let listed = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    listed
        .iter()
        .map(|statement| match statement {
            Value::Tagged(tagged) => {
                assert_eq!(tagged.tag.to_string(), "!If", "{statement:?}");
                let [condition, then, otherwise] = tagged.value.as_sequence().unwrap().as_slice() else {
                    panic!("!If takes three arguments: {statement:?}");
                };
                assert_eq!(reference(otherwise), "!Ref:AWS::NoValue");
                (Some(condition.as_str().unwrap().to_owned()), then.clone())
            }
            other => (None, other.clone()),
        })
        .collect()
}

/// Every (action, scope) the member role grants, the scope read from each statement's Sid; endpoint
/// deletion only under `EndpointDeletionAllowed`, everything else unconditionally.
fn granted(role: &Value) -> BTreeSet<Permission> {
    let mut granted = BTreeSet::new();
    for (condition, statement) in conditional_statements(role) {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let sid = statement["Sid"].as_str().unwrap();
        let opt_in = sid == Scope::EndpointDeletion.sid();
        assert_eq!(condition.as_deref(), opt_in.then_some("EndpointDeletionAllowed"), "{sid}");
        let declared = permissions::member_role();
        let scope = declared
            .iter()
            .map(|(_, s)| *s)
            .find(|s| s.sid() == sid)
            .unwrap_or_else(|| panic!("statement {sid} is no scope of permissions::member_role()"));
        if scope != Scope::Any {
            assert_ne!(statement["Resource"].as_str(), Some("*"), "{sid} must be scoped");
            assert!(reference(&statement["Resource"]).contains("AWS::AccountId"), "{sid}: this account only");
        }
        for action in strings(&statement["Action"]) {
            let (declared, _) = *declared
                .iter()
                .find(|(a, s)| *a == action && *s == scope)
                .unwrap_or_else(|| panic!("{sid}: {action} is not declared for the member role"));
            granted.insert((declared, scope));
        }
    }
    granted
}

#[test]
fn the_member_role_grants_exactly_both_functions_permissions_without_the_central_ones() {
    let template = load("member.yaml");
    let role = &template["Resources"]["MemberRole"];
    assert_eq!(granted(role), permissions::member_role());
    let actions: Vec<String> = statements(role).iter().flat_map(|s| strings(&s["Action"])).collect();
    for central in ["ssm:GetParameter", "sns:Publish", "budgets:ViewBudget", "sts:AssumeRole"] {
        assert!(!actions.iter().any(|a| a == central), "{central} belongs to the central account only");
    }
    assert!(!actions.iter().any(|a| a.starts_with("organizations:") || a.starts_with("dynamodb:")));
    assert_eq!(template["Parameters"]["AllowEndpointDeletion"]["Default"].as_str(), Some("false"));
}

#[test]
fn the_member_role_trusts_only_the_central_functions_roles_with_an_optional_external_id() {
    let template = load("member.yaml");
    let trust = &template["Resources"]["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    let trust = trust.as_sequence().unwrap();
    assert_eq!(trust.len(), 1);
    let principals: Vec<String> = trust[0]["Principal"]["AWS"].as_sequence().unwrap().iter().map(reference).collect();
    assert_eq!(principals, ["!Ref:AutoTaggerRoleArn", "!Ref:BudgetEnforcerRoleArn"]);
    assert_eq!(trust[0]["Action"].as_str(), Some("sts:AssumeRole"));
    let condition = &trust[0]["Condition"];
    assert!(reference(condition).starts_with("!If:HasExternalId"), "{condition:?}");
    assert_eq!(reference(&condition[1]["StringEquals"]["sts:ExternalId"]), "!Ref:ExternalId");
    assert_eq!(template["Parameters"]["ExternalId"]["NoEcho"].as_bool(), Some(true));
}

#[test]
fn account_wide_resources_are_created_once_per_account_and_the_rule_in_every_region() {
    let template = load("member.yaml");
    let resources = template["Resources"].as_mapping().unwrap();
    for (id, resource) in resources {
        let id = id.as_str().unwrap();
        let is_iam_named_once = ["MemberRole", "MemberDenyPolicy"].contains(&id);
        let condition = resource["Condition"].as_str();
        if is_iam_named_once {
            assert_eq!(condition, Some("IsPrimaryRegion"), "{id}: IAM names are account-wide");
        } else {
            assert_eq!(condition, None, "{id}: every region needs it");
        }
    }
    let primary = &template["Conditions"]["IsPrimaryRegion"];
    let compared: Vec<String> = primary.as_sequence().unwrap().iter().map(reference).collect();
    assert_eq!(compared, ["!Ref:AWS::Region", "!Ref:PrimaryRegion"]);
    // NOTE: the per-region forwarder role is named by region, so instances never collide on it.
    let forwarder = &template["Resources"]["ForwarderRole"]["Properties"]["RoleName"];
    assert!(reference(forwarder).contains("${AWS::Region}"), "{forwarder:?}");
}

#[test]
fn the_forwarding_rule_sends_exactly_the_auto_taggers_events_to_the_central_bus_through_its_role() {
    let member = load("member.yaml");
    let rule = &member["Resources"]["ForwardSageMakerCalls"]["Properties"];
    let pattern = &rule["EventPattern"];
    let expected: Vec<String> = permissions::auto_tagger_event_names().into_iter().map(str::to_owned).collect();
    assert_eq!(strings(&pattern["detail"]["eventName"]), expected);
    assert_eq!(strings(&pattern["source"]), ["aws.sagemaker"]);
    assert_eq!(strings(&pattern["detail"]["eventSource"]), ["sagemaker.amazonaws.com"]);
    let central = load("template.yaml");
    let default =
        &central["Resources"]["AutoTaggerFunction"]["Properties"]["Events"]["SageMakerCalls"]["Properties"]["Pattern"];
    assert_eq!(pattern, default, "member accounts forward what the central rule matches");
    let target = &rule["Targets"][0];
    assert_eq!(reference(&target["Arn"]), "!Ref:CentralBusArn");
    assert_eq!(reference(&target["RoleArn"]), "!GetAtt:ForwarderRole.Arn");
    let put = &member["Resources"]["ForwarderRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(strings(&put["Action"]), ["events:PutEvents"]);
    assert_eq!(reference(&put["Resource"]), "!Ref:CentralBusArn");
}

#[test]
fn the_member_deny_policy_is_the_only_one_the_member_role_may_attach() {
    let template = load("member.yaml");
    let statements = statements(&template["Resources"]["MemberRole"]);
    let attach = statements.iter().find(|s| s["Sid"].as_str() == Some(Scope::DenyPolicyAttachment.sid())).unwrap();
    assert_eq!(reference(&attach["Condition"]["ArnEquals"]["iam:PolicyARN"]), "!Ref:MemberDenyPolicy");
    for sid in [Scope::SageMakerMarkers.sid(), Scope::IamRoleMarkers.sid()] {
        let statement = statements.iter().find(|s| s["Sid"].as_str() == Some(sid)).unwrap();
        let keys = &statement["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"];
        assert_eq!(keys.as_str(), Some(permissions::MARKER_TAG_KEYS), "{sid}");
    }
}
