//! Tests of the generated guardrails: the policies, their conditions and their size limits.

use serde_json::Value;

use super::json::{pascal, thousands};
use super::*;

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml(yaml, "test").unwrap()
}

fn json(guardrails: &Guardrails, name: &str) -> Value {
    serde_json::from_str(guardrails.file(name).unwrap()).unwrap()
}

fn statements(document: &Value) -> Vec<Value> {
    document["Statement"].as_array().unwrap().clone()
}

fn example() -> Guardrails {
    generate(&Policy::example().unwrap(), &GuardrailOptions::checked_in()).unwrap()
}

/// The parts of a document that exist, in order.
fn parts<'a>(guardrails: &Guardrails, names: &'a [&'a str]) -> Vec<(&'a str, Value)> {
    names.iter().filter(|n| guardrails.file(n).is_some()).map(|n| (*n, json(guardrails, n))).collect()
}

/// The actions each `Null`-is-`true` statement denies, by request-tag key, over every part.
fn null_actions(documents: &[(&str, Value)]) -> Vec<(String, Vec<String>)> {
    let mut by_key: Vec<(String, Vec<String>)> = Vec::new();
    for (_, document) in documents {
        for statement in statements(document) {
            let Some(null) = statement["Condition"]["Null"].as_object() else { continue };
            let Some((key, value)) = null.iter().next() else { continue };
            if value != "true" {
                continue;
            }
            let actions = statement["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned());
            match by_key.iter_mut().find(|(k, _)| k == key) {
                Some((_, all)) => all.extend(actions),
                None => by_key.push((key.clone(), actions.collect())),
            }
        }
    }
    by_key
}

#[test]
fn each_required_key_gets_its_own_null_statement_over_every_guarded_create_call_once() {
    let iam = parts(&example(), &IAM_POLICY_PARTS);
    let nulls = null_actions(&iam);
    let keys: Vec<&str> = nulls.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["aws:RequestTag/cost-center", "aws:RequestTag/team", "aws:RequestTag/environment"]);
    let mut guarded = guarded_actions();
    guarded.sort();
    for (key, actions) in &nulls {
        let mut sorted = actions.clone();
        sorted.sort();
        assert_eq!(sorted, guarded, "{key}: every guarded create call, in exactly one part");
        for call in ["CreateTrainingJob", "CreateAutoMLJobV2", "CreateModelPackageGroup", "CreateMlflowTrackingServer"]
        {
            assert!(actions.contains(&format!("sagemaker:{call}")), "{key}: {call}");
        }
        assert!(!actions.contains(&"sagemaker:CreateModelPackage".to_owned()), "versions cannot carry tags");
    }
    assert_eq!(guarded.len(), resource::create_event_names().len() - super::UNGUARDED_CREATE_CALLS.len());
}

#[test]
fn the_issue_15_create_calls_are_guarded_and_only_calls_that_cannot_be_are_left_out_with_a_reason() {
    let guarded = guarded_actions();
    for call in [
        "CreateAIBenchmarkJob",
        "CreateAIRecommendationJob",
        "CreateEdgePackagingJob",
        "CreateFlowDefinition",
        "CreateInferenceExperiment",
        "CreateInferenceRecommendationsJob",
        "CreateJob",
        "CreateMlflowApp",
        "CreateMlflowTrackingServer",
        "CreateOptimizationJob",
        "CreatePartnerApp",
        "CreateTrainingPlan",
    ] {
        assert!(guarded.contains(&format!("sagemaker:{call}")), "{call}");
    }
    let unguarded: Vec<&str> = super::UNGUARDED_CREATE_CALLS.iter().map(|(call, _)| *call).collect();
    assert_eq!(unguarded, ["CreateModelPackage", "CreateTrainingSession"]);
    assert!(super::UNGUARDED_CREATE_CALLS.iter().all(|(_, reason)| !reason.trim().is_empty()));
    assert!(unguarded.iter().all(|call| resource::create_event_names().contains(call)), "calls of the table");
}

#[test]
fn every_part_of_every_document_fits_its_limit() {
    let guardrails = example();
    for (name, text) in &guardrails.files {
        let Some(limit) = size_limit(name) else { continue };
        assert!(counted_size(name, text) <= limit, "{name}: {} of {limit}", counted_size(name, text));
    }
    // Four required keys with allowed values and one exempt role: more parts, each still within its limit.
    let keys: String = (1..=4).map(|i| format!("    key-{i}: {{required: true, allowed: [a, b, c]}}\n")).collect();
    let big = policy(&format!("tags:\n  keys:\n{keys}"));
    let guardrails = generate(&big, &GuardrailOptions::checked_in()).unwrap();
    let iam = parts(&guardrails, &IAM_POLICY_PARTS);
    assert!(iam.len() > 2, "{} parts", iam.len());
    for (name, text) in &guardrails.files {
        let Some(limit) = size_limit(name) else { continue };
        assert!(counted_size(name, text) <= limit, "{name}: {} of {limit}", counted_size(name, text));
    }
    let readme = guardrails.file(README_FILE).unwrap();
    assert!(IAM_POLICY_PARTS[..iam.len()].iter().all(|n| readme.contains(n)), "the README names every part");
}

#[test]
fn allowed_values_become_a_string_not_equals_condition() {
    let iam = json(&example(), IAM_POLICY_FILE);
    let statement = statements(&iam).into_iter().find(|s| s["Sid"] == "DenyCreateWithOtherEnvironment").unwrap();
    let condition = &statement["Condition"];
    assert_eq!(
        condition["StringNotEquals"]["aws:RequestTag/environment"],
        serde_json::json!(["dev", "staging", "production"])
    );
    assert_eq!(condition["Null"]["aws:RequestTag/environment"], "false", "an absent optional key is not denied");
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Resource"], "*");
}

#[test]
fn deleting_required_or_protected_keys_is_denied_except_to_exempt_principals() {
    let yaml = "tags:\n  keys:\n    owner: {protected: true}\n    team: {required: true}\n    note: {}\n";
    let options = GuardrailOptions {
        exempt_principals: vec!["arn:aws:iam::*:role/tagwarden-*".into(), "arn:aws:iam::*:role/admin".into()],
        allow_exempt_patterns: true,
        ..GuardrailOptions::checked_in()
    };
    let iam = json(&generate(&policy(yaml), &options).unwrap(), IAM_POLICY_FILE);
    let all = statements(&iam);
    let delete = all.iter().find(|s| s["Action"] == serde_json::json!(["sagemaker:DeleteTags"])).unwrap();
    assert_eq!(delete["Condition"]["ForAnyValue:StringEquals"]["aws:TagKeys"], serde_json::json!(["owner", "team"]));
    let policy_statements: Vec<&Value> = all.iter().filter(|s| s["Sid"] != "DenyTagwardenTagKeys").collect();
    for statement in &policy_statements {
        let exempt = &statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
        assert_eq!(exempt, &serde_json::json!(["arn:aws:iam::*:role/tagwarden-*", "arn:aws:iam::*:role/admin"]));
    }
    let policy_text = serde_json::to_string(&policy_statements).unwrap();
    assert!(!policy_text.contains("AddTags"), "tag-on-create is authorised as AddTags");
}

#[test]
fn strict_mode_denies_keys_outside_the_policy_and_is_off_by_default() {
    let sid = "DenyCreateWithTagKeysOutsidePolicy";
    let iam = json(&example(), IAM_POLICY_FILE);
    assert!(statements(&iam).iter().all(|s| s["Sid"] != sid));
    // NOTE: no exempt role: with exact role ARNs in every statement the example's strict SCP outgrows 5,120
    // characters (generate refuses it with its size; the IAM policy is what this test reads).
    let options = GuardrailOptions { strict: true, exempt_principals: vec![], ..GuardrailOptions::checked_in() };
    let iam = json(&generate(&Policy::example().unwrap(), &options).unwrap(), IAM_POLICY_FILE);
    let strict = statements(&iam).into_iter().find(|s| s["Sid"] == sid).unwrap();
    assert_eq!(
        strict["Condition"]["ForAnyValue:StringNotLike"]["aws:TagKeys"],
        serde_json::json!(["cost-center", "team", "environment", "project", "created-by", "sagemaker:*"])
    );
}

#[test]
fn the_scp_parts_are_minified_within_5120_characters_and_deny_what_the_iam_parts_deny() {
    let guardrails = example();
    let scp = parts(&guardrails, &SCP_PARTS);
    for (name, _) in &scp {
        let text = guardrails.file(name).unwrap();
        assert!(text.chars().count() <= SCP_LIMIT, "{name}: {}", text.len());
        assert_eq!(text.trim_end().lines().count(), 1);
        assert!(!text.contains(": ") && !text.contains(", "));
    }
    let expand = |actions: &[String]| -> Vec<String> {
        let mut all: Vec<String> = actions
            .iter()
            .flat_map(|a| match ACTION_MERGES.iter().find(|(w, _)| w == a) {
                Some((_, members)) => members.iter().map(|m| (*m).to_owned()).collect(),
                None => vec![a.clone()],
            })
            .collect();
        all.sort();
        all
    };
    let iam = null_actions(&parts(&guardrails, &IAM_POLICY_PARTS));
    let scp_nulls = null_actions(&scp);
    assert_eq!(iam.len(), scp_nulls.len());
    for ((key, iam_actions), (scp_key, scp_actions)) in iam.iter().zip(&scp_nulls) {
        assert_eq!(key, scp_key);
        assert_eq!(expand(scp_actions), expand(iam_actions), "{key}");
    }
    for (_, document) in &scp {
        assert!(statements(document).iter().all(|s| s["Resource"] == "*" && s.get("Principal").is_none()));
    }
    let first = statements(&scp[0].1);
    assert!(first.iter().any(|s| s["Sid"] == "DenyTagwardenTagKeys"), "the statements naming no create call: first");
    assert!(scp[1..].iter().all(|(_, d)| statements(d).iter().all(|s| s["Sid"] != "DenyTagwardenTagKeys")));
}

#[test]
fn a_large_scp_merges_actions_into_exact_wildcards() {
    let actions = guarded_actions();
    let merged = merge_actions(&actions);
    assert_eq!(merged.len(), actions.len() - 2);
    assert!(merged.contains(&"sagemaker:CreateAutoMLJob*".to_owned()));
    assert!(merged.contains(&"sagemaker:CreateEndpoint*".to_owned()));
    assert!(!merged.contains(&"sagemaker:CreateEndpointConfig".to_owned()));

    // Five required keys, one exempt role: the exact SCP is over 5,120 characters, the merged one is not.
    let keys: String = (1..=5).map(|i| format!("    key-{i}: {{required: true}}\n")).collect();
    let big = policy(&format!("tags:\n  keys:\n{keys}"));
    let options = GuardrailOptions {
        exempt_principals: vec![EXAMPLE_TAGWARDEN_ROLES[0].to_owned()],
        ..GuardrailOptions::checked_in()
    };
    let exact = minified(SCP_FILE, &deny_policy(&big, &options, &actions)).unwrap();
    assert!(exact.chars().count() > SCP_LIMIT, "{}", exact.len());
    let guardrails = generate(&big, &options).unwrap();
    let scp = guardrails.file(SCP_FILE).unwrap();
    assert!(scp.contains("sagemaker:CreateEndpoint*"), "merged");
    assert!(scp.chars().count() <= SCP_LIMIT, "{}", scp.len());
    assert!(guardrails.file(README_FILE).unwrap().contains("actions merged into wildcards"));
    let iam = guardrails.file(IAM_POLICY_FILE).unwrap();
    assert!(iam.contains("\"sagemaker:CreateEndpointConfig\""), "the IAM policy keeps the exact actions");
}

#[test]
fn an_oversized_policy_is_refused_with_its_size() {
    let keys: String = (1..=12).map(|i| format!("    key-{i}: {{required: true}}\n")).collect();
    let err = generate(&policy(&format!("tags:\n  keys:\n{keys}")), &GuardrailOptions::checked_in()).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with(IAM_POLICY_FILE), "{message}");
    assert!(message.contains("limit of 6144"), "{message}");
    let GuardrailError::TooLarge { size, .. } = err else { panic!("{err}") };
    assert!(size > IAM_POLICY_LIMIT);
    assert!(message.contains(&size.to_string()), "{message}");
}

#[test]
fn the_tag_policy_assigns_canonical_keys_values_and_enforcement() {
    let tag = json(&example(), TAG_POLICY_FILE);
    let tags = tag["tags"].as_object().unwrap();
    assert_eq!(tags.len(), 4);
    assert_eq!(tags["environment"]["tag_key"]["@@assign"], "environment");
    assert_eq!(tags["environment"]["tag_value"]["@@assign"], serde_json::json!(["dev", "staging", "production"]));
    assert_eq!(tags["team"]["enforced_for"]["@@assign"], serde_json::json!(["sagemaker:ALL_SUPPORTED"]));
    assert!(tags["cost-center"].get("tag_value").is_none(), "a pattern is not a list of values");
    assert!(tags["project"].get("enforced_for").is_none(), "optional free-form keys are report-only");

    let camel = policy("tags:\n  keys:\n    CostCenter: {required: true}\n");
    let tag = json(&generate(&camel, &GuardrailOptions::checked_in()).unwrap(), TAG_POLICY_FILE);
    assert_eq!(tag["tags"]["costcenter"]["tag_key"]["@@assign"], "CostCenter");
}

#[test]
fn documents_are_deterministic_and_end_with_a_newline() {
    let (a, b) = (example(), example());
    assert_eq!(a, b);
    let names: Vec<&str> = a.files.iter().map(|(n, _)| *n).collect();
    let (iam_parts, scp_parts) = (&IAM_POLICY_PARTS[..2], &SCP_PARTS[..2]);
    let rest = [TAG_POLICY_FILE, IAM_SOURCES_FILE, SCP_SOURCES_FILE, README_FILE];
    let expected: Vec<&str> = iam_parts.iter().chain(scp_parts).chain(&rest).copied().collect();
    assert_eq!(names, expected, "the example needs two parts of each");
    for (name, text) in &a.files {
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{name}");
    }
    let iam = a.file(IAM_POLICY_FILE).unwrap();
    assert!(iam.starts_with("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": ["), "{iam}");
    assert!(iam.contains("\"Sid\": \"DenyCreateWithoutCostCenter\""));
}

#[test]
fn the_iam_policy_is_counted_without_whitespace_between_tokens() {
    let guardrails = example();
    let iam = guardrails.file(IAM_POLICY_FILE).unwrap();
    let document: Value = serde_json::from_str(iam).unwrap();
    assert_eq!(counted_size(IAM_POLICY_FILE, iam), serde_json::to_string(&document).unwrap().chars().count());
    assert_eq!(counted_size(IAM_POLICY_FILE, "{ \"a b\": \"c \\\" d\" }"), 16);
    let scp = guardrails.file(SCP_FILE).unwrap();
    assert_eq!(counted_size(SCP_FILE, scp), scp.chars().count());
}

#[test]
fn the_readme_names_sizes_and_what_iam_cannot_express() {
    let guardrails = example();
    let readme = guardrails.file(README_FILE).unwrap();
    let scp_size = thousands(guardrails.file(SCP_FILE).unwrap().chars().count());
    assert!(readme.contains(&format!("{scp_size} characters")), "{readme}");
    assert!(readme.contains("`cost-center` must match `^CC-[0-9]{4}$`"), "{readme}");
    assert!(readme.contains("aws organizations create-policy --type SERVICE_CONTROL_POLICY"));
    assert_eq!(thousands(6144), "6,144");
    assert_eq!(thousands(512), "512");
}

#[test]
fn policies_without_anything_to_deny_and_bad_exempt_principals_are_refused() {
    let err = generate(&policy("tags:\n  keys:\n    project: {}\n"), &GuardrailOptions::checked_in());
    assert!(matches!(err, Err(GuardrailError::NothingToGuard)));
    let options = GuardrailOptions { exempt_principals: vec!["tagwarden-*".into()], ..GuardrailOptions::checked_in() };
    let err = generate(&Policy::example().unwrap(), &options).unwrap_err();
    assert!(err.to_string().contains("\"tagwarden-*\""), "{err}");
}

#[test]
fn statement_ids_are_alphanumeric_and_unique() {
    assert_eq!(pascal("cost-center"), "CostCenter");
    assert_eq!(pascal("app:owner/name"), "AppOwnerName");
    let yaml = "tags:\n  keys:\n    a:b: {required: true}\n    a=b: {required: true}\n";
    let iam = json(&generate(&policy(yaml), &GuardrailOptions::checked_in()).unwrap(), IAM_POLICY_FILE);
    let sids: Vec<String> = statements(&iam).iter().map(|s| s["Sid"].as_str().unwrap().to_owned()).collect();
    assert_eq!(sids, ["DenyCreateWithoutAB", "DenyCreateWithoutAB2", "DenyDeletingPolicyTags", "DenyTagwardenTagKeys"]);
}

#[test]
fn tagwarden_keys_are_denied_to_every_principal_but_tagwardens_exact_roles_in_the_iam_policy_and_the_scp() {
    let roles = vec![
        "arn:aws:iam::111122223333:role/tagwarden-AutoTaggerFunctionRole-1A2B".to_owned(),
        "arn:aws:iam::111122223333:role/tagwarden-BudgetEnforcerFunctionRole-3C4D".to_owned(),
    ];
    let options = GuardrailOptions { tagwarden_roles: roles.clone(), ..GuardrailOptions::checked_in() };
    let guardrails = generate(&Policy::example().unwrap(), &options).unwrap();
    for file in [IAM_POLICY_FILE, SCP_FILE] {
        let document = json(&guardrails, file);
        let all = statements(&document);
        let reserved = all.iter().find(|s| s["Sid"] == "DenyTagwardenTagKeys").unwrap_or_else(|| panic!("{file}"));
        assert_eq!(reserved["Effect"], "Deny");
        assert_eq!(reserved["Resource"], "*");
        let actions: Vec<&str> = reserved["Action"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        for action in [
            "sagemaker:AddTags",
            "sagemaker:DeleteTags",
            "sagemaker:Create*",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:TagUser",
            "iam:UntagUser",
        ] {
            assert!(actions.contains(&action), "{file}: {action}");
        }
        let condition = reserved["Condition"].as_object().unwrap();
        assert_eq!(condition["ForAnyValue:StringLike"]["aws:TagKeys"], "tagwarden:*", "{file}");
        assert_eq!(condition["ArnNotEquals"]["aws:PrincipalArn"], serde_json::json!(roles), "{file}");
        assert!(!condition.contains_key("ArnNotLike"), "{file}: no pattern exempts anyone from it");
        assert!(!reserved.to_string().contains("tagwarden-*"), "{file}");
    }
    let readme = guardrails.file(README_FILE).unwrap();
    assert!(readme.contains("arn:aws:iam::111122223333:role/tagwarden-BudgetEnforcerFunctionRole-3C4D"));
}

#[test]
fn tagwarden_roles_must_be_given_as_exact_role_arns() {
    let with = |roles: &[&str]| GuardrailOptions {
        tagwarden_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        ..GuardrailOptions::checked_in()
    };
    let example = Policy::example().unwrap();
    assert!(matches!(generate(&example, &with(&[])), Err(GuardrailError::NoTagwardenRoles)));
    for bad in [
        "arn:aws:iam::*:role/tagwarden-*",
        "arn:aws:iam::123456789012:role/tagwarden-*",
        "arn:aws:iam::123456789012:user/tagwarden",
        "arn:aws:sts::123456789012:assumed-role/tagwarden/session",
        "tagwarden-BudgetEnforcerFunctionRole",
        "arn:aws:iam::123456789012:role/",
    ] {
        let err = generate(&example, &with(&[bad])).unwrap_err();
        assert!(matches!(&err, GuardrailError::BadTagwardenRole(r) if r == bad), "{bad}: {err}");
        assert!(err.to_string().contains("no wildcard"), "{err}");
    }
    assert!(generate(&example, &with(&["arn:aws:iam::123456789012:role/service-role/tagwarden-x"])).is_ok());
}

#[test]
fn every_merge_wildcard_stands_for_exactly_its_actions_among_the_sdks_operations() {
    let operations: Vec<String> = tagwarden::deny_policy::sdk_operations()
        .iter()
        .map(|op| op.chars().filter(|c| *c != '_').collect::<String>())
        .collect();
    for (wildcard, members) in ACTION_MERGES {
        let pattern = wildcard.trim_start_matches("sagemaker:").to_ascii_lowercase();
        let matched: Vec<&String> =
            operations.iter().filter(|op| tagwarden::policy::glob_match(&pattern, op)).collect();
        let mut expected: Vec<String> =
            members.iter().map(|m| m.trim_start_matches("sagemaker:").to_ascii_lowercase()).collect();
        expected.sort();
        let mut matched: Vec<String> = matched.into_iter().cloned().collect();
        matched.sort();
        assert_eq!(matched, expected, "{wildcard}");
    }
}

#[test]
fn wildcard_exempt_principals_are_refused_unless_patterns_are_explicitly_allowed() {
    let pattern = "arn:aws:iam::*:role/tagwarden-*";
    let options = GuardrailOptions { exempt_principals: vec![pattern.into()], ..GuardrailOptions::checked_in() };
    let err = generate(&Policy::example().unwrap(), &options).unwrap_err();
    assert!(matches!(&err, GuardrailError::ExemptPattern(p) if p == pattern), "{err}");
    assert!(err.to_string().contains("--allow-exempt-patterns"), "{err}");
    let allowed = GuardrailOptions { allow_exempt_patterns: true, ..options };
    let iam = json(&generate(&Policy::example().unwrap(), &allowed).unwrap(), IAM_POLICY_FILE);
    assert!(iam.to_string().contains(pattern));
    let user = "arn:aws:iam::123456789012:user/ops-sweeper";
    let exact = GuardrailOptions { exempt_principals: vec![user.into()], ..GuardrailOptions::checked_in() };
    assert!(generate(&Policy::example().unwrap(), &exact).is_ok(), "an exact user ARN is exact");
}

#[test]
fn the_checked_in_exemptions_are_exact_role_arns_and_no_document_holds_a_tagwarden_pattern() {
    let options = GuardrailOptions::checked_in();
    assert!(!options.allow_exempt_patterns);
    assert!(options.exempt_principals.iter().all(|p| is_exact_role_arn(p)), "{:?}", options.exempt_principals);
    for (name, text) in &example().files {
        assert!(!text.contains("role/tagwarden-*\""), "{name} exempts a pattern");
    }
}

/// The statement `sid` of a document.
fn statement(document: &Value, sid: &str) -> Value {
    statements(document).into_iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no {sid}"))
}

#[test]
fn source_tag_keys_on_domains_profiles_and_spaces_are_denied_to_all_but_the_admins_and_tagwardens_roles() {
    let guardrails = example();
    for name in [IAM_SOURCES_FILE, SCP_SOURCES_FILE] {
        let denied = statement(&json(&guardrails, name), "DenySourceTagChanges");
        assert_eq!(denied["Effect"], "Deny", "{name}");
        assert_eq!(denied["Action"], serde_json::json!(["sagemaker:AddTags", "sagemaker:DeleteTags"]), "{name}");
        assert_eq!(
            denied["Resource"],
            serde_json::json!([
                "arn:aws:sagemaker:*:*:domain/*",
                "arn:aws:sagemaker:*:*:space/*",
                "arn:aws:sagemaker:*:*:user-profile/*"
            ]),
            "{name}"
        );
        let keys = &denied["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]["aws:TagKeys"];
        for key in ["cost-center", "costcentre", "team", "environment", "env", "project"] {
            assert!(keys.as_array().unwrap().iter().any(|k| k == key), "{name}: {key} in {keys}");
        }
        assert_eq!(
            denied["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
            serde_json::json!([
                "arn:aws:iam::123456789012:role/platform-admin",
                EXAMPLE_TAGWARDEN_ROLES[0],
                EXAMPLE_TAGWARDEN_ROLES[1]
            ]),
            "{name}: the policy's admins, then Tagwarden's exact roles"
        );
    }
}

#[test]
fn iam_user_and_role_tags_of_policy_keys_are_denied_to_all_but_the_admins_in_any_case() {
    let yaml = "admins: [\"arn:aws:iam::*:role/finops-admin\"]\ntags:\n  keys:\n    CostCenter: {required: true}\n";
    let guardrails = generate(&policy(yaml), &GuardrailOptions::checked_in()).unwrap();
    let denied = statement(&json(&guardrails, SCP_SOURCES_FILE), "DenyPrincipalTagChanges");
    assert_eq!(
        denied["Action"],
        serde_json::json!(["iam:TagRole", "iam:TagUser", "iam:UntagRole", "iam:UntagUser"]),
        "creating a user or role with tags is authorised as Tag* too"
    );
    assert_eq!(
        denied["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]["aws:TagKeys"],
        serde_json::json!(["CostCenter"])
    );
    let editors = &denied["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
    assert_eq!(editors[0], "arn:aws:iam::*:role/finops-admin");
    assert_eq!(editors.as_array().unwrap().len(), 3, "{editors}");
}

#[test]
fn setting_a_new_source_identity_is_denied_to_every_principal_but_an_aws_service() {
    for name in [IAM_SOURCES_FILE, SCP_SOURCES_FILE] {
        let denied = statement(&json(&example(), name), "DenySettingSourceIdentity");
        assert_eq!(denied["Action"], "sts:SetSourceIdentity", "{name}");
        assert_eq!(denied["Resource"], "*");
        assert_eq!(denied["Condition"]["Null"]["aws:SourceIdentity"], "true", "a chained session keeps its own");
        assert_eq!(denied["Condition"]["BoolIfExists"]["aws:PrincipalIsAWSService"], "false", "SageMaker sets it");
        assert!(denied["Condition"].get("ArnNotLike").is_none(), "not even the admins choose a profile's name");
    }
    let readme = example().file(README_FILE).unwrap().to_owned();
    assert!(readme.contains("monitor-user-access-how-to.html") && readme.contains("USER_PROFILE_NAME"), "cited");
}

#[test]
fn the_source_documents_fit_their_limits_and_too_many_admins_are_refused_with_the_size() {
    let guardrails = example();
    for name in [IAM_SOURCES_FILE, SCP_SOURCES_FILE] {
        let text = guardrails.file(name).unwrap();
        assert!(counted_size(name, text) <= size_limit(name).unwrap(), "{name}");
    }
    assert!(!guardrails.file(SCP_SOURCES_FILE).unwrap().trim_end().contains('\n'), "the SCP is minified");
    let admins: Vec<String> =
        (0..80).map(|i| format!("  - arn:aws:iam::123456789012:role/platform-administrator-number-{i}")).collect();
    let yaml = format!("admins:\n{}\ntags:\n  keys:\n    cost-center: {{required: true}}\n", admins.join("\n"));
    let err = generate(&policy(&yaml), &GuardrailOptions::checked_in()).unwrap_err();
    assert!(matches!(err, GuardrailError::TooLarge { document: IAM_SOURCES_FILE | SCP_SOURCES_FILE, .. }), "{err}");
}
