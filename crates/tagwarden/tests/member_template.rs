//! `infra/member.yaml` (what each member account of an organization deploys) agrees with the library: the
//! forwarding rule matches exactly the auto-tagger's events; each function's member role grants exactly that
//! function's member permissions (`permissions::auto_tagger_member()`, `budget_enforcer_member()`), trusts only
//! that function's central role with the external id, and exists once per account; and the SCP of
//! `infra/policies/` protects exactly member.yaml's roles and rules.

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

/// The member roles' logical ids, each with the central role it trusts and the permissions it must grant.
fn member_roles() -> [(&'static str, &'static str, BTreeSet<Permission>); 2] {
    [
        ("AutoTaggerMemberRole", "AutoTaggerRoleArn", permissions::auto_tagger_member()),
        ("BudgetEnforcerMemberRole", "BudgetEnforcerRoleArn", permissions::budget_enforcer_member()),
    ]
}

/// A member role's statements; a conditional one (`!If [Condition, statement, !Ref AWS::NoValue]`) as the
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

/// Every (action, scope) a member role grants, checked against `declared` (its function's member
/// permissions), the scope read from each statement's Sid; endpoint deletion only under
/// `EndpointDeletionAllowed`, everything else unconditionally.
fn granted(role: &Value, declared: &BTreeSet<Permission>) -> BTreeSet<Permission> {
    let mut granted = BTreeSet::new();
    for (condition, statement) in conditional_statements(role) {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let sid = statement["Sid"].as_str().unwrap();
        let opt_in = sid == Scope::EndpointDeletion.sid();
        assert_eq!(condition.as_deref(), opt_in.then_some("EndpointDeletionAllowed"), "{sid}");
        let scope = declared
            .iter()
            .map(|(_, s)| *s)
            .find(|s| s.sid() == sid)
            .unwrap_or_else(|| panic!("statement {sid} is no scope of this function's member permissions"));
        if scope != Scope::Any {
            assert_ne!(statement["Resource"].as_str(), Some("*"), "{sid} must be scoped");
            assert!(reference(&statement["Resource"]).contains("AWS::AccountId"), "{sid}: this account only");
        }
        for action in strings(&statement["Action"]) {
            let (declared, _) = *declared
                .iter()
                .find(|(a, s)| *a == action && *s == scope)
                .unwrap_or_else(|| panic!("{sid}: {action} is not declared for this function's member role"));
            granted.insert((declared, scope));
        }
    }
    granted
}

#[test]
fn each_member_role_grants_exactly_its_functions_permissions_without_the_central_ones() {
    let template = load("member.yaml");
    for (id, _, declared) in member_roles() {
        let role = &template["Resources"][id];
        assert_eq!(granted(role, &declared), declared, "{id}");
        let actions: Vec<String> = statements(role).iter().flat_map(|s| strings(&s["Action"])).collect();
        for central in ["ssm:GetParameter", "sns:Publish", "budgets:ViewBudget", "sts:AssumeRole"] {
            assert!(!actions.iter().any(|a| a == central), "{id}: {central} belongs to the central account only");
        }
        assert!(!actions.iter().any(|a| a.starts_with("organizations:") || a.starts_with("dynamodb:")), "{id}");
    }
    assert_eq!(template["Parameters"]["AllowEndpointDeletion"]["Default"].as_str(), Some("false"));
}

#[test]
fn the_enforcers_member_role_writes_only_tagwarden_keys_and_the_taggers_acts_on_nothing() {
    let template = load("member.yaml");
    let enforcer = statements(&template["Resources"]["BudgetEnforcerMemberRole"]);
    let mut tag_writes = 0;
    for statement in &enforcer {
        let actions = strings(&statement["Action"]);
        if actions.iter().any(|a| a == "sagemaker:AddTags" || a == "sagemaker:DeleteTags") {
            tag_writes += 1;
            let keys = &statement["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"];
            assert_eq!(keys.as_str(), Some(permissions::MARKER_TAG_KEYS), "{statement:?}");
        }
    }
    assert_eq!(tag_writes, 1, "one statement writes tags, conditioned on tagwarden:* keys");
    let tagger = statements(&template["Resources"]["AutoTaggerMemberRole"]);
    let actions: Vec<String> = tagger.iter().flat_map(|s| strings(&s["Action"])).collect();
    // NOTE: the Studio idle settings (permissions::STUDIO_IDLE) are configuration and stop nothing running.
    let idle_settings = |a: &str| permissions::STUDIO_IDLE.iter().any(|(p, _)| *p == a);
    let actions: Vec<&String> = actions.iter().filter(|a| !idle_settings(a)).collect();
    for verb in ["Stop", "Start", "Update", "DeleteApp", "DeleteEndpoint", "AttachRolePolicy", "TagRole"] {
        assert!(!actions.iter().any(|a| a.split(':').nth(1).is_some_and(|op| op.starts_with(verb))), "{verb}");
    }
}

#[test]
fn each_member_role_trusts_only_its_own_functions_central_role_and_requires_the_external_id() {
    let template = load("member.yaml");
    for (id, central, _) in member_roles() {
        let trust = &template["Resources"][id]["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        let trust = trust.as_sequence().unwrap();
        assert_eq!(trust.len(), 1, "{id}");
        assert_eq!(trust[0]["Effect"].as_str(), Some("Allow"));
        let principal = &trust[0]["Principal"];
        assert_eq!(principal.as_mapping().unwrap().len(), 1, "{id}: an AWS principal only");
        assert_eq!(reference(&principal["AWS"]), format!("!Ref:{central}"), "{id}: its own function's role alone");
        assert_eq!(trust[0]["Action"].as_str(), Some("sts:AssumeRole"));
        let condition = &trust[0]["Condition"];
        assert_eq!(condition.as_mapping().unwrap().len(), 1, "{id}: unconditional external id: {condition:?}");
        assert_eq!(reference(&condition["StringEquals"]["sts:ExternalId"]), "!Ref:ExternalId", "{id}");
    }
    let external_id = &template["Parameters"]["ExternalId"];
    assert_eq!(external_id["NoEcho"].as_bool(), Some(true));
    assert!(external_id.get("Default").is_none(), "the external id is required, not optional");
    assert!(external_id["MinLength"].as_u64().unwrap() >= 2);
    assert!(template["Conditions"].get("HasExternalId").is_none());
    let names = |key: &str| template["Parameters"][key]["Default"].as_str().unwrap().to_owned();
    assert_eq!(names("AutoTaggerMemberRoleName"), tagwarden::org::AUTO_TAGGER_MEMBER_ROLE);
    assert_eq!(names("BudgetEnforcerMemberRoleName"), tagwarden::org::BUDGET_ENFORCER_MEMBER_ROLE);
}

#[test]
fn account_wide_resources_are_created_once_per_account_and_the_rule_in_every_region() {
    let template = load("member.yaml");
    let resources = template["Resources"].as_mapping().unwrap();
    for (id, resource) in resources {
        let id = id.as_str().unwrap();
        let is_iam_named_once =
            ["AutoTaggerMemberRole", "BudgetEnforcerMemberRole", "MemberDenyPolicy", "MemberDenyInstanceTypesPolicy"]
                .contains(&id);
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
    let statements = statements(&template["Resources"]["BudgetEnforcerMemberRole"]);
    let attach = statements.iter().find(|s| s["Sid"].as_str() == Some(Scope::DenyPolicyAttachment.sid())).unwrap();
    assert_eq!(reference(&attach["Condition"]["ArnEquals"]["iam:PolicyARN"]), "!Ref:MemberDenyPolicy");
    let sid = Scope::DenyInstanceTypesAttachment.sid();
    let attach = statements.iter().find(|s| s["Sid"].as_str() == Some(sid)).unwrap();
    assert_eq!(reference(&attach["Condition"]["ArnEquals"]["iam:PolicyARN"]), "!Ref:MemberDenyInstanceTypesPolicy");
    for sid in [Scope::SageMakerMarkers.sid(), Scope::IamRoleMarkers.sid()] {
        let statement = statements.iter().find(|s| s["Sid"].as_str() == Some(sid)).unwrap();
        let keys = &statement["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"];
        assert_eq!(keys.as_str(), Some(permissions::MARKER_TAG_KEYS), "{sid}");
    }
    let tagger = self::statements(&template["Resources"]["AutoTaggerMemberRole"]);
    assert!(!tagger.iter().any(|s| strings(&s["Action"]).iter().any(|a| a.ends_with("RolePolicy"))));
}

/// The SCP of `infra/policies/` that keeps member-account administrators off Tagwarden's member resources.
fn scp() -> serde_json::Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/policies/scp-protect-tagwarden-members.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn json_strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().flat_map(json_strings).collect(),
        _ => vec![],
    }
}

fn scp_statement(sid: &str) -> serde_json::Value {
    let scp = scp();
    let found = scp["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid).cloned();
    found.unwrap_or_else(|| panic!("the SCP has no statement {sid}"))
}

/// The only principal the SCP exempts: the role service-managed StackSets deploy member.yaml with.
const STACKSETS_EXEC: &str = "arn:*:iam::*:role/stacksets-exec-*";

#[test]
fn the_scp_protects_exactly_member_yamls_roles_and_rules_from_everyone_but_stacksets() {
    let template = load("member.yaml");
    let default = |key: &str| template["Parameters"][key]["Default"].as_str().unwrap().to_owned();
    let roles = json_strings(&scp_statement("ProtectTagwardenMemberRoles")["Resource"]);
    let forwarder = reference(&template["Resources"]["ForwarderRole"]["Properties"]["RoleName"]);
    assert_eq!(forwarder, "!Sub:tagwarden-forward-${AWS::Region}");
    let expected = [
        format!("arn:*:iam::*:role/{}", default("AutoTaggerMemberRoleName")),
        format!("arn:*:iam::*:role/{}", default("BudgetEnforcerMemberRoleName")),
        "arn:*:iam::*:role/tagwarden-forward-*".to_owned(),
    ];
    assert_eq!(roles, expected, "exactly member.yaml's roles");
    let iam_roles: Vec<&str> = template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::IAM::Role"))
        .map(|(id, _)| id.as_str().unwrap())
        .collect();
    assert_eq!(iam_roles.len(), expected.len(), "every role of member.yaml is protected: {iam_roles:?}");

    let rules: Vec<String> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Events::Rule"))
        .map(|r| format!("arn:*:events:*:*:rule/{}", r["Properties"]["Name"].as_str().expect("rules are named")))
        .collect();
    assert_eq!(json_strings(&scp_statement("ProtectTagwardenForwardingRules")["Resource"]), rules);

    let role_actions = json_strings(&scp_statement("ProtectTagwardenMemberRoles")["Action"]);
    for action in [
        "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:DeleteRole",
        "iam:CreateRole",
        "iam:PutRolePermissionsBoundary",
    ] {
        assert!(role_actions.iter().any(|a| a == action), "member roles: {action}");
    }
    let rule_actions = json_strings(&scp_statement("ProtectTagwardenForwardingRules")["Action"]);
    for action in
        ["events:PutRule", "events:DeleteRule", "events:DisableRule", "events:RemoveTargets", "events:PutTargets"]
    {
        assert!(rule_actions.iter().any(|a| a == action), "forwarding rules: {action}");
    }

    for sid in ["ProtectTagwardenMemberRoles", "ProtectTagwardenForwardingRules", "ProtectTheDenyPolicy"] {
        let statement = scp_statement(sid);
        assert_eq!(statement["Effect"], "Deny");
        let exempt = &statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
        assert_eq!(json_strings(exempt), [STACKSETS_EXEC], "{sid}: StackSets alone may change them");
    }
    // NOTE: the exemption is a name pattern, so the SCP also keeps everyone from creating or changing a role of
    // that name (the StackSets service-linked role that creates it is not subject to SCPs).
    let exec = scp_statement("ProtectTheStackSetsExecutionRole");
    assert_eq!(json_strings(&exec["Resource"]), [STACKSETS_EXEC]);
    assert!(exec.get("Condition").is_none(), "no exemption from protecting the exempt role");
    let exec_actions = json_strings(&exec["Action"]);
    assert!(
        ["iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy"]
            .iter()
            .all(|a| exec_actions.iter().any(|e| e == a))
    );

    let deny_policies =
        ["arn:*:iam::*:policy/tagwarden-deny-sagemaker-*", "arn:*:iam::*:policy/tagwarden-deny-instance-types-*"];
    let protected = json_strings(&scp_statement("ProtectTheDenyPolicy")["Resource"]);
    assert_eq!(protected, deny_policies);
    let deny_policy = default("DenyPolicyName");
    assert!(deny_policy.starts_with("tagwarden-deny-sagemaker-"), "{deny_policy}");
    let instance_types = default("DenyInstanceTypesPolicyName");
    assert!(instance_types.starts_with("tagwarden-deny-instance-types-"), "{instance_types}");
    let detach = scp_statement("OnlyTheEnforcerDetachesTheDenyPolicy");
    assert_eq!(json_strings(&detach["Condition"]["ArnLike"]["iam:PolicyARN"]), deny_policies);
    let detachers = json_strings(&detach["Condition"]["ArnNotLike"]["aws:PrincipalArn"]);
    assert_eq!(
        detachers,
        [format!("arn:*:iam::*:role/{}", default("BudgetEnforcerMemberRoleName")), STACKSETS_EXEC.into()]
    );

    // AWS Organizations limits an SCP to 5,120 characters.
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/policies/scp-protect-tagwarden-members.json"),
    )
    .unwrap();
    assert!(text.len() < 5120, "{} characters", text.len());
}
