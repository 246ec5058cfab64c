//! The deny statements shared by the IAM policy and the SCP, and the SCP's fitting into its size limit.

use tagwarden::policy::{KeyRule, Policy};

use super::json::{Node, Sids, minified, pascal};
use super::{
    GuardrailError, GuardrailOptions, RESERVED_TAG_ACTIONS, SCP_FILE, SCP_LIMIT, SCP_PARTS, merge_actions, split,
};

/// A generated file: its name and text.
type Named = (&'static str, String);

/// The SCP texts, minified, by file name: one document when the exact actions fit, else the merged actions
/// spread over as many parts as needed. `true` when merged.
pub(super) fn scp(
    policy: &Policy,
    options: &GuardrailOptions,
    actions: &[String],
) -> Result<(Vec<Named>, bool), GuardrailError> {
    let text = minified(SCP_FILE, &deny_policy(policy, options, actions))? + "\n";
    if text.chars().count() <= SCP_LIMIT {
        return Ok((vec![(SCP_FILE, text)], false));
    }
    let merged = merge_actions(actions);
    let fits = |part: &[String], first: bool| -> Result<bool, GuardrailError> {
        let text = minified(SCP_FILE, &deny_policy_part(policy, options, part, first))?;
        Ok(text.chars().count() < SCP_LIMIT)
    };
    let Some(parts) = split(&merged, fits) else {
        return Err(GuardrailError::TooLarge {
            document: SCP_FILE,
            size: minified(SCP_FILE, &deny_policy(policy, options, &merged))?.chars().count(),
            limit: SCP_LIMIT,
            counted: "minified, with merged actions, in one document",
            hint: "not even one create call fits an SCP, or more than four are needed: split the policy's required keys",
        });
    };
    let mut texts = Vec::new();
    for (i, part) in parts?.iter().enumerate() {
        texts.push((SCP_PARTS[i], minified(SCP_FILE, &deny_policy_part(policy, options, part, i == 0))? + "\n"));
    }
    Ok((texts, true))
}

/// The statements shared by the IAM policy and the SCP, in one document.
pub(super) fn deny_policy(policy: &Policy, options: &GuardrailOptions, actions: &[String]) -> Node {
    deny_policy_part(policy, options, actions, true)
}

/// The statements of one part: the per-key statements over `actions`; the statements that name no create call
/// (deleting policy keys, `tagwarden:` keys) only in the `first`.
pub(super) fn deny_policy_part(policy: &Policy, options: &GuardrailOptions, actions: &[String], first: bool) -> Node {
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
    if !first {
        return Node::obj([("Version", Node::str("2012-10-17")), ("Statement", Node::List(statements))]);
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
