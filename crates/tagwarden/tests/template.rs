//! The SAM template agrees with the library: the EventBridge rule lists exactly the create calls of the
//! resource table, and each function's role grants exactly the permissions the library declares. And only
//! AWS Budgets and the policy's owner steer the budget-enforcer: who may publish alerts, who may invoke the
//! functions, who owns the policy parameter, when endpoints may be deleted.

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
    Scope::DenyInstanceTypesAttachment,
    Scope::NotifyTopic,
    Scope::Budgets,
    Scope::AnomalyMonitors,
    Scope::PolicyParameter,
    Scope::MemberRoles,
    Scope::MemberExternalId,
    Scope::Ledger,
    Scope::SourceRecords,
    Scope::SweepProgress,
    Scope::SweepQueue,
    Scope::ContinuationQueue,
    Scope::EndpointDeletion,
];

/// The statements the template grants only under a template Condition, by scope: endpoint deletion, and
/// what only organization mode needs (assuming member roles, reading the external id).
const CONDITIONAL: &[(Scope, &str)] = &[
    (Scope::EndpointDeletion, "EndpointDeletionAllowed"),
    (Scope::MemberRoles, "OrganizationEnabled"),
    (Scope::MemberExternalId, "OrganizationEnabled"),
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

/// A tagged value as text, e.g. `!GetAtt AutoTaggerFunctionRole.Arn` -> `!GetAtt:AutoTaggerFunctionRole.Arn`.
fn reference(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => format!("{}:{}", tagged.tag, strings(&tagged.value).join(".")),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// A function's inline statements, each with the template Condition it is granted under
/// (`!If [Condition, statement, !Ref AWS::NoValue]`), `None` for an unconditional one.
fn statements(properties: &Value) -> Vec<(Option<String>, Value)> {
    let mut all = Vec::new();
    for policy in properties["Policies"].as_sequence().unwrap() {
        for statement in policy["Statement"].as_sequence().unwrap() {
            match statement {
                Value::Tagged(tagged) => {
                    assert_eq!(tagged.tag.to_string(), "!If", "{statement:?}");
                    let [condition, then, otherwise] = tagged.value.as_sequence().unwrap().as_slice() else {
                        panic!("!If takes three arguments: {statement:?}");
                    };
                    assert_eq!(reference(otherwise), "!Ref:AWS::NoValue", "a conditional statement or none");
                    all.push((Some(condition.as_str().unwrap().to_owned()), then.clone()));
                }
                other => all.push((None, other.clone())),
            }
        }
    }
    all
}

/// The (action, scope) pairs a function's inline policy grants, the scope read from each statement's Sid;
/// only the [`CONDITIONAL`] scopes may be (and must be) granted under their template Condition.
fn granted(properties: &Value) -> BTreeSet<Permission> {
    let mut granted = BTreeSet::new();
    for (condition, statement) in &statements(properties) {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let sid = statement["Sid"].as_str().unwrap();
        let scope = SCOPES
            .iter()
            .copied()
            .find(|s| s.sid() == sid)
            .unwrap_or_else(|| panic!("statement {sid} has no scope in permissions.rs"));
        let expected = CONDITIONAL.iter().find(|(s, _)| *s == scope).map(|(_, c)| (*c).to_owned());
        assert_eq!(condition, &expected, "{sid}: granted under the wrong template Condition");
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
    assert_eq!(listed, table, "update infra/template.yaml from crates/tagwarden/src/resource/mod.rs");
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
    assert_eq!(reference(condition), "!Ref:DenyPolicy");
    let sid = Scope::DenyInstanceTypesAttachment.sid();
    let attach = statements.iter().find(|s| s["Sid"].as_str() == Some(sid)).unwrap();
    assert_eq!(reference(&attach["Condition"]["ArnEquals"]["iam:PolicyARN"]), "!Ref:DenyInstanceTypesPolicy");
    let environment = &properties["Environment"]["Variables"];
    assert_eq!(reference(&environment["TAGWARDEN_DENY_POLICY_ARN"]), "!Ref:DenyPolicy");
    assert_eq!(reference(&environment["TAGWARDEN_DENY_INSTANCE_TYPES_POLICY_ARN"]), "!Ref:DenyInstanceTypesPolicy");
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
        tagwarden::enforce::INSTANCE_TYPES_DENIED_BY_TAG,
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

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    let found = &template["Resources"][logical_id];
    assert!(!found.is_null(), "{logical_id} is in the template");
    found
}

/// The function's inline statement of this Sid, and the template Condition it is granted under.
fn statement(template: &Value, function_id: &str, sid: &str) -> (Option<String>, Value) {
    statements(&function(template, function_id))
        .into_iter()
        .find(|(_, s)| s["Sid"].as_str() == Some(sid))
        .unwrap_or_else(|| panic!("{function_id} has no statement {sid}"))
}

#[test]
fn the_ledger_table_is_on_demand_recoverable_encrypted_expiring_kept_and_indexed_by_resource() {
    let template = template();
    let table = resource(&template, "EnforcementLedger");
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(table["UpdateReplacePolicy"].as_str(), Some("Retain"));
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
    assert_eq!(properties["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    assert_eq!(properties["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("expires"));
    assert_eq!(properties["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    let keys = |schema: &Value| -> Vec<String> {
        schema
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| format!("{}:{}", reference(&k["AttributeName"]), reference(&k["KeyType"])))
            .collect()
    };
    assert_eq!(keys(&properties["KeySchema"]), ["pk:HASH", "sk:RANGE"]);
    let indexes = properties["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), 1);
    assert_eq!(indexes[0]["IndexName"].as_str(), Some("by-resource"));
    assert_eq!(keys(&indexes[0]["KeySchema"]), ["resource:HASH", "at:RANGE"]);
    assert_eq!(indexes[0]["Projection"]["ProjectionType"].as_str(), Some("ALL"));
    let mut attributes: Vec<String> = properties["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| format!("{}:{}", reference(&a["AttributeName"]), reference(&a["AttributeType"])))
        .collect();
    attributes.sort();
    assert_eq!(attributes, ["at:S", "pk:S", "resource:S", "sk:S"]);

    let variables = &function(&template, "BudgetEnforcerFunction")["Environment"]["Variables"];
    assert_eq!(reference(&variables["TAGWARDEN_LEDGER_TABLE"]), "!Ref:EnforcementLedger");
    let (condition, ledger) = statement(&template, "BudgetEnforcerFunction", Scope::Ledger.sid());
    assert_eq!(condition, None);
    let resources: Vec<String> = ledger["Resource"].as_sequence().unwrap().iter().map(reference).collect();
    assert_eq!(resources, ["!GetAtt:EnforcementLedger.Arn", "!Sub:${EnforcementLedger.Arn}/index/*"]);
    // The auto-tagger reads and puts the ledger's source# items (the tag sources' last values), nothing else.
    let tagger = &function(&template, "AutoTaggerFunction")["Environment"]["Variables"];
    assert_eq!(reference(&tagger["TAGWARDEN_LEDGER_TABLE"]), "!Ref:EnforcementLedger");
    assert!(!permissions::auto_tagger().iter().any(|(_, scope)| *scope == Scope::Ledger));
    let (condition, sources) = statement(&template, "AutoTaggerFunction", Scope::SourceRecords.sid());
    assert_eq!(condition, None);
    assert_eq!(reference(&sources["Resource"]), "!GetAtt:EnforcementLedger.Arn", "the table, no index");
    assert_eq!(strings(&sources["Action"]), ["dynamodb:GetItem", "dynamodb:PutItem"]);
    let leading = &sources["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
    assert_eq!(leading.as_str(), Some(permissions::SOURCE_RECORD_KEYS));
    assert_eq!(reference(&template["Outputs"]["EnforcementLedgerTableName"]["Value"]), "!Ref:EnforcementLedger");
}

#[test]
fn endpoint_deletion_is_granted_only_when_the_stack_allows_it_and_by_default_it_does_not() {
    let template = template();
    let parameter = &template["Parameters"]["AllowEndpointDeletion"];
    assert_eq!(parameter["Default"].as_str(), Some("false"));
    let condition = &template["Conditions"]["EndpointDeletionAllowed"];
    let compared: Vec<String> = condition.as_sequence().map_or_else(
        || match condition {
            Value::Tagged(tagged) => tagged.value.as_sequence().unwrap().iter().map(reference).collect(),
            other => panic!("{other:?}"),
        },
        |s| s.iter().map(reference).collect(),
    );
    assert_eq!(compared, ["!Ref:AllowEndpointDeletion", "true"]);
    let (condition, deletion) = statement(&template, "BudgetEnforcerFunction", Scope::EndpointDeletion.sid());
    assert_eq!(condition.as_deref(), Some("EndpointDeletionAllowed"));
    assert_eq!(strings(&deletion["Action"]), ["sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint"]);
    let resources: Vec<String> = deletion["Resource"].as_sequence().unwrap().iter().map(reference).collect();
    assert!(resources[0].ends_with(":endpoint/*") && resources[1].ends_with(":endpoint-config/*"), "{resources:?}");
    // The one grant under this condition (granted() checks each Sid's condition).
    let conditional: Vec<String> = statements(&function(&template, "BudgetEnforcerFunction"))
        .into_iter()
        .filter(|(c, _)| c.as_deref() == Some("EndpointDeletionAllowed"))
        .flat_map(|(_, s)| strings(&s["Action"]))
        .collect();
    assert_eq!(conditional, ["sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint"]);
    let (_, sagemaker) = statement(&template, "BudgetEnforcerFunction", Scope::SageMaker.sid());
    assert!(!strings(&sagemaker["Action"]).iter().any(|a| a == "sagemaker:DeleteEndpoint"));
}

/// Whether a Deny statement's condition block applies to a request with these context keys, as IAM
/// evaluates it: every operator must match; a negated operator (`StringNotEquals`, `ArnNotEquals`) matches
/// when the key is absent from the request or differs from every listed value.
fn deny_applies(condition: &Value, request: &[(&str, &str)]) -> bool {
    condition.as_mapping().unwrap().iter().all(|(operator, keys)| {
        let operator = operator.as_str().unwrap();
        assert!(["StringNotEquals", "ArnNotEquals"].contains(&operator), "evaluate {operator} by hand");
        keys.as_mapping().unwrap().iter().all(|(key, values)| {
            let listed: Vec<String> = match values {
                Value::Sequence(items) => items.iter().map(reference).collect(),
                one => vec![reference(one)],
            };
            match request.iter().find(|(k, _)| *k == key.as_str().unwrap()) {
                None => true,
                Some((_, value)) => !listed.iter().any(|l| l == value),
            }
        })
    })
}

#[test]
fn only_aws_budgets_and_cost_anomaly_detection_of_this_account_may_publish_alerts_and_everyone_else_is_denied() {
    let template = template();
    let policy = &resource(&template, "BudgetAlertsTopicPolicy")["Properties"];
    let topics: Vec<String> = policy["Topics"].as_sequence().unwrap().iter().map(reference).collect();
    assert_eq!(topics, ["!Ref:BudgetAlertsTopic"]);
    let statements = policy["PolicyDocument"]["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 3);
    let allows = |service: &str| {
        statements
            .iter()
            .find(|s| s["Effect"].as_str() == Some("Allow") && s["Principal"]["Service"].as_str() == Some(service))
    };
    let anomalies = allows("costalerts.amazonaws.com").expect("Cost Anomaly Detection may publish");
    assert_eq!(reference(&anomalies["Condition"]["StringEquals"]["aws:SourceAccount"]), "!Ref:AWS::AccountId");
    assert_eq!(
        reference(&anomalies["Condition"]["ArnLike"]["aws:SourceArn"]),
        "!Sub:arn:${AWS::Partition}:ce::${AWS::AccountId}:anomalysubscription/*"
    );
    let allow = allows("budgets.amazonaws.com").expect("AWS Budgets may publish");
    assert_eq!(allow["Principal"]["Service"].as_str(), Some("budgets.amazonaws.com"));
    assert_eq!(allow["Action"].as_str(), Some("sns:Publish"));
    assert_eq!(reference(&allow["Condition"]["StringEquals"]["aws:SourceAccount"]), "!Ref:AWS::AccountId");
    assert_eq!(
        reference(&allow["Condition"]["ArnLike"]["aws:SourceArn"]),
        "!Sub:arn:${AWS::Partition}:budgets::${AWS::AccountId}:*"
    );

    let deny = statements.iter().find(|s| s["Effect"].as_str() == Some("Deny")).unwrap();
    assert_eq!(deny["Principal"].as_str(), Some("*"));
    assert_eq!(deny["Action"].as_str(), Some("sns:Publish"));
    assert_eq!(reference(&deny["Resource"]), "!Ref:BudgetAlertsTopic");
    let condition = &deny["Condition"];
    let tagger_role = "!GetAtt:AutoTaggerFunctionRole.Arn";
    let enforcer_role = "!GetAtt:BudgetEnforcerFunctionRole.Arn";
    // The request context IAM builds for each caller: a service principal has aws:PrincipalServiceName and
    // no aws:PrincipalArn; an IAM principal has aws:PrincipalArn and no aws:PrincipalServiceName.
    let service = |name| vec![("aws:PrincipalServiceName", name)];
    let principal = |arn| vec![("aws:PrincipalArn", arn)];
    for (who, request, denied) in [
        ("AWS Budgets", service("budgets.amazonaws.com"), false),
        ("Cost Anomaly Detection", service("costalerts.amazonaws.com"), false),
        ("the budget-enforcer's role", principal(enforcer_role), false),
        ("the auto-tagger's role", principal(tagger_role), false),
        ("an administrator", principal("arn:aws:iam::111111111111:user/admin"), true),
        ("another role", principal("arn:aws:iam::111111111111:role/PowerUser"), true),
        ("the account's root user", principal("arn:aws:iam::111111111111:root"), true),
        ("another service", service("events.amazonaws.com"), true),
        ("an anonymous request", vec![], true),
    ] {
        assert_eq!(deny_applies(condition, &request), denied, "{who}");
    }

    // The budget-enforcer accepts SNS records of this topic only, and is subscribed to it alone.
    let enforcer = function(&template, "BudgetEnforcerFunction");
    assert_eq!(reference(&enforcer["Environment"]["Variables"]["TAGWARDEN_ALERT_TOPICS"]), "!Ref:BudgetAlertsTopic");
    // The budgets the auto-tagger keeps for `per: user-profile` catalog entries notify the same topic.
    let tagger = &function(&template, "AutoTaggerFunction")["Environment"]["Variables"];
    assert_eq!(reference(&tagger["TAGWARDEN_ALERTS_TOPIC_ARN"]), "!Ref:BudgetAlertsTopic");
    assert_eq!(reference(&enforcer["Events"]["BudgetAlerts"]["Properties"]["Topic"]), "!Ref:BudgetAlertsTopic");
}

#[test]
fn the_sweep_queue_hides_a_page_six_timeouts_long_redelivers_it_five_times_and_takes_partial_batch_responses() {
    let template = template();
    let tagger = function(&template, "AutoTaggerFunction");
    let queue = &resource(&template, "SweepQueue")["Properties"];
    let timeout = tagger["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout, "AWS: at least 6x the function's timeout");
    assert_eq!(reference(&queue["RedrivePolicy"]["deadLetterTargetArn"]), "!GetAtt:SweepDeadLetterQueue.Arn");
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"].as_u64(), Some(5));
    let pages = &tagger["Events"]["SweepPages"]["Properties"];
    assert_eq!(strings(&pages["FunctionResponseTypes"]), ["ReportBatchItemFailures"]);
    assert!(pages["BatchSize"].as_u64().unwrap() <= 10, "a small batch: each record is a page");
    let variables = &tagger["Environment"]["Variables"];
    assert_eq!(reference(&variables["TAGWARDEN_SWEEP_QUEUE_URL"]), "!Ref:SweepQueue");
    let (condition, send) = statement(&template, "AutoTaggerFunction", Scope::SweepQueue.sid());
    assert_eq!((condition, reference(&send["Resource"])), (None, "!GetAtt:SweepQueue.Arn".to_owned()));
    let (_, progress) = statement(&template, "AutoTaggerFunction", Scope::SweepProgress.sid());
    assert_eq!(reference(&progress["Resource"]), "!GetAtt:EnforcementLedger.Arn", "the table, no index");
    let leading = &progress["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
    assert_eq!(leading.as_str(), Some(permissions::SWEEP_PROGRESS_KEYS));
}

#[test]
fn the_continuation_queue_takes_one_part_per_invocation_and_only_the_enforcer_sends_to_it() {
    let template = template();
    let enforcer = function(&template, "BudgetEnforcerFunction");
    let queue = &resource(&template, "ContinuationQueue")["Properties"];
    let timeout = enforcer["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout, "AWS: at least 6x the function's timeout");
    assert_eq!(reference(&queue["RedrivePolicy"]["deadLetterTargetArn"]), "!GetAtt:ContinuationDeadLetterQueue.Arn");
    let parts = &enforcer["Events"]["Continuations"]["Properties"];
    assert_eq!(reference(&parts["Queue"]), "!GetAtt:ContinuationQueue.Arn");
    assert_eq!(parts["BatchSize"].as_u64(), Some(1), "one part per invocation: a part is a whole invocation's work");
    let variables = &enforcer["Environment"]["Variables"];
    assert_eq!(reference(&variables["TAGWARDEN_CONTINUATION_QUEUE_URL"]), "!Ref:ContinuationQueue");
    let (condition, send) = statement(&template, "BudgetEnforcerFunction", Scope::ContinuationQueue.sid());
    assert_eq!((condition, reference(&send["Resource"])), (None, "!GetAtt:ContinuationQueue.Arn".to_owned()));
    assert!(!permissions::auto_tagger().iter().any(|(_, scope)| *scope == Scope::ContinuationQueue));
}

#[test]
fn every_way_to_invoke_a_function_is_the_stacks_own_topic_or_rule() {
    let template = template();
    // SAM gives each event source one AWS::Lambda::Permission whose SourceArn is that topic or rule.
    for (function_id, allowed) in [
        (
            "AutoTaggerFunction",
            vec![("EstateSweep", "Schedule"), ("SweepPages", "SQS"), ("SageMakerCalls", "EventBridgeRule")],
        ),
        (
            "BudgetEnforcerFunction",
            vec![
                ("BudgetAlerts", "SNS"),
                ("Tick", "Schedule"),
                ("BurnRate", "Schedule"),
                ("Idle", "Schedule"),
                ("Continuations", "SQS"),
            ],
        ),
    ] {
        let properties = function(&template, function_id);
        let events: Vec<(String, String)> = properties["Events"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(name, event)| (name.as_str().unwrap().to_owned(), event["Type"].as_str().unwrap().to_owned()))
            .collect();
        let allowed: Vec<(String, String)> = allowed.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
        assert_eq!(events, allowed, "{function_id}: its event sources");
        for (name, event) in properties["Events"].as_mapping().unwrap() {
            if event["Type"].as_str() == Some("SNS") {
                let topic = reference(&event["Properties"]["Topic"]);
                assert!(topic.starts_with("!Ref:"), "{name:?}: a topic of this stack");
                assert_eq!(resource(&template, &topic["!Ref:".len()..])["Type"].as_str(), Some("AWS::SNS::Topic"));
            }
            if event["Type"].as_str() == Some("EventBridgeRule") {
                assert!(event["Properties"]["EventBusName"].is_null(), "{name:?}: the default bus");
            }
            if event["Type"].as_str() == Some("SQS") {
                let queue = reference(&event["Properties"]["Queue"]);
                let id = queue.strip_prefix("!GetAtt:").and_then(|q| q.strip_suffix(".Arn")).unwrap();
                assert_eq!(resource(&template, id)["Type"].as_str(), Some("AWS::SQS::Queue"), "{name:?}: this stack's");
            }
        }
        for key in ["FunctionUrlConfig", "AutoPublishAlias"] {
            assert!(properties[key].is_null(), "{function_id}: {key} would open another way in");
        }
    }
    // Explicit permissions (the organization bus's rule) name a rule of this stack.
    for (id, permission) in template["Resources"].as_mapping().unwrap() {
        if permission["Type"].as_str() != Some("AWS::Lambda::Permission") {
            continue;
        }
        let properties = &permission["Properties"];
        assert_eq!(properties["Action"].as_str(), Some("lambda:InvokeFunction"), "{id:?}");
        assert_eq!(properties["Principal"].as_str(), Some("events.amazonaws.com"), "{id:?}");
        let source = reference(&properties["SourceArn"]);
        let rule = source
            .strip_prefix("!GetAtt:")
            .and_then(|s| s.strip_suffix(".Arn"))
            .unwrap_or_else(|| panic!("{id:?}: SourceArn {source} is not a rule of this stack"));
        assert_eq!(resource(&template, rule)["Type"].as_str(), Some("AWS::Events::Rule"), "{id:?}");
    }
}

#[test]
fn the_tick_runs_every_five_minutes_and_no_monthly_restore_is_left() {
    let template = template();
    let events = &function(&template, "BudgetEnforcerFunction")["Events"];
    let tick = &events["Tick"]["Properties"];
    assert_eq!(tick["Schedule"].as_str(), Some("rate(5 minutes)"));
    let input: serde_json::Value = serde_json::from_str(tick["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"tagwarden": "tick"}));
    assert!(events["PeriodReset"].is_null());
}

#[test]
fn the_burn_rate_guard_runs_every_ten_minutes_on_the_budget_enforcer() {
    let template = template();
    let events = &function(&template, "BudgetEnforcerFunction")["Events"];
    let burn = &events["BurnRate"]["Properties"];
    assert_eq!(burn["Schedule"].as_str(), Some("rate(10 minutes)"));
    let input: serde_json::Value = serde_json::from_str(burn["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"tagwarden": "burn"}));
}

#[test]
fn the_idle_rules_run_every_ten_minutes_and_may_delete_endpoints_only_where_the_stack_grants_it() {
    let template = template();
    let enforcer = function(&template, "BudgetEnforcerFunction");
    let idle = &enforcer["Events"]["Idle"]["Properties"];
    assert_eq!(idle["Schedule"].as_str(), Some("rate(10 minutes)"));
    let input: serde_json::Value = serde_json::from_str(idle["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"tagwarden": "idle"}));
    let variables = &enforcer["Environment"]["Variables"];
    assert_eq!(
        reference(&variables[tagwarden::enforce::idle::ENDPOINT_DELETION_ENV]),
        "!Ref:AllowEndpointDeletion",
        "the same switch that grants sagemaker:DeleteEndpoint"
    );
}

#[test]
fn the_policy_parameter_is_the_stacks_own_its_default_only_notifies_and_its_changes_are_announced() {
    let template = template();
    let parameter = resource(&template, "PolicyParameter");
    assert_eq!(parameter["Type"].as_str(), Some("AWS::SSM::Parameter"));
    assert_eq!(reference(&parameter["Properties"]["Name"]), "!Ref:PolicyParameterName");
    assert_eq!(reference(&parameter["Properties"]["Value"]), "!Ref:PolicyYaml");
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(reference(&globals["TAGWARDEN_POLICY_PARAMETER"]), "!Ref:PolicyParameter");

    let default = template["Parameters"]["PolicyYaml"]["Default"].as_str().unwrap();
    let max = template["Parameters"]["PolicyYaml"]["MaxLength"].as_u64().unwrap();
    assert!(default.len() as u64 <= max);
    let policy = tagwarden::policy::Policy::from_yaml(default, "PolicyYaml's default").unwrap();
    assert!(policy.budgets.rule_for("ml-marketing").is_some(), "every budget's alerts are at least notified");
    for rule in &policy.budgets.rules {
        for step in &rule.steps {
            assert_eq!(step.actions, [tagwarden::policy::Action::Notify], "the default acts on nothing");
        }
    }

    let rule = &resource(&template, "PolicyParameterChanges")["Properties"];
    assert_eq!(strings(&rule["EventPattern"]["source"]), ["aws.ssm"]);
    assert_eq!(strings(&rule["EventPattern"]["detail-type"]), ["Parameter Store Change"]);
    let names: Vec<String> =
        rule["EventPattern"]["detail"]["name"].as_sequence().unwrap().iter().map(reference).collect();
    assert_eq!(names, ["!Ref:PolicyParameterName"]);
    let targets = rule["Targets"].as_sequence().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(reference(&targets[0]["Arn"]), "!Ref:NotificationTopic");
    let topic_policy = &resource(&template, "NotificationTopicPolicy")["Properties"];
    let statements = topic_policy["PolicyDocument"]["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Principal"]["Service"].as_str(), Some("events.amazonaws.com"));
    assert_eq!(
        reference(&statements[0]["Condition"]["ArnEquals"]["aws:SourceArn"]),
        "!GetAtt:PolicyParameterChanges.Arn"
    );
}

#[test]
fn the_auto_tagger_reserves_concurrency_from_its_parameter_twenty_by_default_and_zero_leaves_it_unreserved() {
    let template = template();
    let parameter = &template["Parameters"]["AutoTaggerReservedConcurrency"];
    assert_eq!(parameter["Type"].as_str(), Some("Number"));
    assert_eq!(parameter["Default"].as_u64(), Some(20));
    assert_eq!(parameter["MinValue"].as_u64(), Some(0));
    let condition = &template["Conditions"]["AutoTaggerConcurrencyReserved"];
    assert_eq!(format!("{condition:?}").matches("AutoTaggerReservedConcurrency").count(), 1, "{condition:?}");
    assert!(reference(condition).starts_with("!Not:"), "{condition:?}");
    let reserved = &function(&template, "AutoTaggerFunction")["ReservedConcurrentExecutions"];
    let Value::Tagged(tagged) = reserved else { panic!("not an !If: {reserved:?}") };
    assert_eq!(tagged.tag.to_string(), "!If");
    let branches: Vec<String> = match &tagged.value {
        Value::Sequence(items) => items.iter().map(reference).collect(),
        other => panic!("not a list: {other:?}"),
    };
    assert_eq!(branches, ["AutoTaggerConcurrencyReserved", "!Ref:AutoTaggerReservedConcurrency", "!Ref:AWS::NoValue"]);
    // The enforcer keeps its own single slot: two alerts for one budget must not race.
    assert_eq!(function(&template, "BudgetEnforcerFunction")["ReservedConcurrentExecutions"].as_u64(), Some(1));
}

#[test]
fn assume_role_is_granted_only_in_organization_mode_on_the_functions_own_member_role_in_the_organization() {
    let template = template();
    let condition = &template["Conditions"]["OrganizationEnabled"];
    assert!(format!("{condition:?}").contains("OrganizationId"), "{condition:?}");
    for scope in permissions::ORGANIZATION_ONLY {
        assert!(CONDITIONAL.contains(&(*scope, "OrganizationEnabled")), "{scope:?} only in organization mode");
    }
    for (function_id, role_name, default) in [
        ("AutoTaggerFunction", "AutoTaggerMemberRoleName", tagwarden::org::AUTO_TAGGER_MEMBER_ROLE),
        ("BudgetEnforcerFunction", "BudgetEnforcerMemberRoleName", tagwarden::org::BUDGET_ENFORCER_MEMBER_ROLE),
    ] {
        let (condition, assume) = statement(&template, function_id, Scope::MemberRoles.sid());
        assert_eq!(condition.as_deref(), Some("OrganizationEnabled"), "{function_id}");
        assert_eq!(strings(&assume["Action"]), ["sts:AssumeRole"]);
        let resource = reference(&assume["Resource"]);
        assert_eq!(resource, format!("!Sub:arn:${{AWS::Partition}}:iam::*:role/${{{role_name}}}"), "{function_id}");
        let org = &assume["Condition"]["StringEquals"]["aws:ResourceOrgID"];
        assert_eq!(reference(org), "!Ref:OrganizationId", "{function_id}: member roles of the organization only");
        assert_eq!(assume["Condition"].as_mapping().unwrap().len(), 1);
        assert_eq!(template["Parameters"][role_name]["Default"].as_str(), Some(default));
        let env = &function(&template, function_id)["Environment"]["Variables"]["TAGWARDEN_MEMBER_ROLE_NAME"];
        assert_eq!(reference(env), format!("!Ref:{role_name}"), "{function_id} assumes its own role");
    }
}

#[test]
fn the_external_id_is_read_from_a_named_secure_string_parameter_never_passed_as_a_value() {
    let template = template();
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(globals.get("TAGWARDEN_MEMBER_EXTERNAL_ID").is_none(), "no external id in the environment");
    let name = format!("{:?}", globals[tagwarden::org::EXTERNAL_ID_PARAMETER_ENV]);
    assert!(name.contains("OrganizationEnabled") && name.contains("MemberExternalIdParameterName"), "{name}");
    assert!(template["Parameters"].get("MemberExternalId").is_none());
    let parameter = &template["Parameters"]["MemberExternalIdParameterName"];
    assert!(parameter.get("NoEcho").is_none(), "a name, not a secret");
    let rule = format!("{:?}", template["Rules"]["OrganizationNeedsExternalIdParameter"]);
    assert!(rule.contains("OrganizationId") && rule.contains("MemberExternalIdParameterName"), "{rule}");
    for function_id in ["AutoTaggerFunction", "BudgetEnforcerFunction"] {
        let (condition, read) = statement(&template, function_id, Scope::MemberExternalId.sid());
        assert_eq!(condition.as_deref(), Some("OrganizationEnabled"));
        assert_eq!(strings(&read["Action"]), ["ssm:GetParameter"]);
        let resource = reference(&read["Resource"]);
        assert!(resource.ends_with(":parameter${MemberExternalIdParameterName}"), "{function_id}: {resource}");
    }
}

#[test]
fn the_example_team_subscription_filters_the_notification_topic_on_the_notices_cost_center_attribute() {
    let template = template();
    let subscription = resource(&template, "CostCenterNoticesSubscription");
    assert_eq!(subscription["Type"].as_str(), Some("AWS::SNS::Subscription"));
    assert_eq!(
        subscription["Condition"].as_str(),
        Some("CostCenterNoticesSubscribed"),
        "only when an address is given"
    );
    let properties = &subscription["Properties"];
    assert_eq!(reference(&properties["TopicArn"]), "!Ref:NotificationTopic");
    assert_eq!(properties["FilterPolicyScope"].as_str(), Some("MessageAttributes"));
    let filter = properties["FilterPolicy"].as_mapping().unwrap();
    let names: Vec<&str> = filter.keys().filter_map(Value::as_str).collect();
    assert_eq!(names, [tagwarden::notice::COST_CENTER], "the attribute every routed notice carries");
    let values = filter[tagwarden::notice::COST_CENTER].as_sequence().unwrap();
    assert_eq!(values.iter().map(reference).collect::<Vec<_>>(), ["!Ref:CostCenterTagValue"]);
}
