//! The deny statements shared by the IAM policy and the SCP, and the SCP's fitting into its size limit.

use tagwarden::policy::{KeyRule, Policy};

use super::json::{Node, Sids, minified, pascal};
use super::{GuardrailError, GuardrailOptions, RESERVED_TAG_ACTIONS, SCP_FILE, SCP_LIMIT, merge_actions};

/// The SCP text, minified; with merged actions when the exact list is too large. `true` when merged.
pub(super) fn scp(
    policy: &Policy,
    options: &GuardrailOptions,
    actions: &[String],
) -> Result<(String, bool), GuardrailError> {
    let text = minified(SCP_FILE, &deny_policy(policy, options, actions))? + "\n";
    if text.chars().count() <= SCP_LIMIT {
        return Ok((text, false));
    }
    let merged = minified(SCP_FILE, &deny_policy(policy, options, &merge_actions(actions)))? + "\n";
    let size = merged.chars().count();
    if size <= SCP_LIMIT {
        return Ok((merged, true));
    }
    Err(GuardrailError::TooLarge {
        document: SCP_FILE,
        size,
        limit: SCP_LIMIT,
        counted: "minified, with merged actions",
        hint: "fewer required keys or allowed values per SCP: split them over two SCPs",
    })
}

/// The statements shared by the IAM policy and the SCP.
pub(super) fn deny_policy(policy: &Policy, options: &GuardrailOptions, actions: &[String]) -> Node {
    let tags = &policy.tags;
    let action_list = Node::list(actions.iter().map(String::as_str));
    let mut sids = Sids::default();
    let mut statements = Vec::new();
    let deny = |sid: String, actions: Node, conditions: Vec<(&str, Node)>| {
        let mut conditions: Vec<(String, Node)> = conditions.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        if let Some(exempt) = exemption(options) {
            conditions.push(("ArnNotLike".to_owned(), exempt));
        }
        Node::obj([
            ("Sid", Node::str(sid)),
            ("Effect", Node::str("Deny")),
            ("Action", actions),
            ("Resource", Node::str("*")),
            ("Condition", Node::Obj(conditions)),
        ])
    };

    for rule in tags.keys.iter().filter(|r| r.required) {
        let sid = sids.unique(&format!("DenyCreateWithout{}", pascal(&rule.key)));
        let null = Node::obj([(request_tag(rule), Node::str("true"))]);
        statements.push(deny(sid, action_list.clone(), vec![("Null", null)]));
    }
    for rule in tags.keys.iter().filter(|r| !r.allowed.is_empty()) {
        let sid = sids.unique(&format!("DenyCreateWithOther{}", pascal(&rule.key)));
        let present = Node::obj([(request_tag(rule), Node::str("false"))]);
        let allowed = Node::obj([(request_tag(rule), Node::list(rule.allowed.iter().map(String::as_str)))]);
        statements.push(deny(sid, action_list.clone(), vec![("Null", present), ("StringNotEquals", allowed)]));
    }
    if options.strict {
        let mut keys: Vec<&str> = tags.keys.iter().map(|r| r.key.as_str()).collect();
        keys.extend(tags.creator_tag.as_deref());
        keys.push("sagemaker:*");
        let sid = sids.unique("DenyCreateWithTagKeysOutsidePolicy");
        let outside = Node::obj([("aws:TagKeys", Node::list(keys))]);
        statements.push(deny(sid, action_list.clone(), vec![("ForAnyValue:StringNotLike", outside)]));
    }
    let guarded: Vec<&str> = tags.keys.iter().filter(|r| r.required || r.protected).map(|r| r.key.as_str()).collect();
    let sid = sids.unique("DenyDeletingPolicyTags");
    let deleted = Node::obj([("aws:TagKeys", Node::list(guarded))]);
    let delete = Node::list(["sagemaker:DeleteTags"]);
    statements.push(deny(sid, delete, vec![("ForAnyValue:StringEquals", deleted)]));

    // NOTE: not through `deny`: the exempt principals (patterns) are not exempt here, only the exact roles.
    let roles = match options.tagwarden_roles.as_slice() {
        [one] => Node::str(one.as_str()),
        many => Node::list(many.iter().map(String::as_str)),
    };
    statements.push(Node::obj([
        ("Sid", Node::str(sids.unique("DenyTagwardenTagKeys"))),
        ("Effect", Node::str("Deny")),
        ("Action", Node::list(RESERVED_TAG_ACTIONS)),
        ("Resource", Node::str("*")),
        (
            "Condition",
            Node::obj([
                ("ForAnyValue:StringLike", Node::obj([("aws:TagKeys", Node::str("tagwarden:*"))])),
                ("ArnNotEquals", Node::obj([("aws:PrincipalArn", roles)])),
            ]),
        ),
    ]));

    Node::obj([("Version", Node::str("2012-10-17")), ("Statement", Node::List(statements))])
}

/// `{"aws:PrincipalArn": …}` for the exempt principals (a string for one), if any.
fn exemption(options: &GuardrailOptions) -> Option<Node> {
    let value = match options.exempt_principals.as_slice() {
        [] => return None,
        [one] => Node::str(one.as_str()),
        many => Node::list(many.iter().map(String::as_str)),
    };
    Some(Node::obj([("aws:PrincipalArn", value)]))
}

fn request_tag(rule: &KeyRule) -> String {
    format!("aws:RequestTag/{}", rule.key)
}
