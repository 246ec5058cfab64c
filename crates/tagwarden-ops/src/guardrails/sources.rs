//! The statements that keep the tag sources in their owners' hands: nobody but the policy's `admins:` and
//! Tagwarden's own roles changes the policy's keys on Studio domains, user profiles and spaces or on IAM users
//! and roles, and nobody but SageMaker sets a session's source identity.
//!
//! In: a [`Policy`] and [`GuardrailOptions`]. Out: the statements of `iam-protect-tag-sources.json` and
//! `scp-protect-tag-sources.json` (one document, pretty for IAM, minified for the SCP).

use tagwarden::policy::Policy;

use super::json::{Node, minified, pretty};
use super::{GuardrailError, GuardrailOptions, IAM_POLICY_LIMIT, IAM_SOURCES_FILE, SCP_LIMIT, SCP_SOURCES_FILE};

/// The SageMaker resources everything else is tagged from: Studio domains, user profiles and spaces.
pub const SOURCE_RESOURCES: [&str; 3] =
    ["arn:aws:sagemaker:*:*:domain/*", "arn:aws:sagemaker:*:*:space/*", "arn:aws:sagemaker:*:*:user-profile/*"];

/// The SageMaker tag writes denied on the sources.
pub const SOURCE_TAG_ACTIONS: [&str; 2] = ["sagemaker:AddTags", "sagemaker:DeleteTags"];

/// The IAM tag writes denied on users and roles (creating one with tags is authorised as `iam:Tag*` too).
pub const PRINCIPAL_TAG_ACTIONS: [&str; 4] = ["iam:TagRole", "iam:TagUser", "iam:UntagRole", "iam:UntagUser"];

/// The condition operator on `aws:TagKeys`: any of the request's keys equals a policy key in any case.
///
/// NOTE: IAM tag keys are case-insensitive (a role cannot carry `CostCenter` and `costcenter`), SageMaker's are
/// case-sensitive but the auto-tagger reads keys and their aliases case-insensitively from the sources: ignoring
/// case denies every spelling that could reach a source value, and costs an admin nothing.
pub const TAG_KEYS_OPERATOR: &str = "ForAnyValue:StringEqualsIgnoreCase";

/// The two documents' texts and sizes as AWS counts them.
pub(super) struct SourceDocuments {
    pub(super) iam: String,
    pub(super) iam_size: usize,
    pub(super) scp: String,
}

/// Generates the IAM policy and the SCP that protect the sources; both must fit their AWS limits.
pub(super) fn source_documents(policy: &Policy, options: &GuardrailOptions) -> Result<SourceDocuments, GuardrailError> {
    let document = statements(policy, options);
    let iam = pretty(IAM_SOURCES_FILE, &document)?;
    let iam_size = minified(IAM_SOURCES_FILE, &document)?.chars().count();
    let scp = minified(SCP_SOURCES_FILE, &document)? + "\n";
    let hint = "fewer keys or admins: list admins as roles every admin assumes rather than one ARN per person";
    let fits = |document, size, limit, counted| {
        if size > limit { Err(GuardrailError::TooLarge { document, size, limit, counted, hint }) } else { Ok(()) }
    };
    fits(IAM_SOURCES_FILE, iam_size, IAM_POLICY_LIMIT, "without whitespace")?;
    fits(SCP_SOURCES_FILE, scp.chars().count(), SCP_LIMIT, "minified")?;
    Ok(SourceDocuments { iam, iam_size, scp })
}

/// The policy's keys and their aliases, in file order, without repeats (case-insensitively).
pub fn guarded_source_keys(policy: &Policy) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for rule in &policy.tags.keys {
        for key in std::iter::once(&rule.key).chain(&rule.aliases) {
            if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                keys.push(key.clone());
            }
        }
    }
    keys
}

/// Who may still change the sources: the policy's admins, then Tagwarden's roles (which repair them).
pub fn source_editors(policy: &Policy, options: &GuardrailOptions) -> Vec<String> {
    let mut editors: Vec<String> = policy.admins.arns().to_vec();
    for role in &options.tagwarden_roles {
        if !editors.contains(role) {
            editors.push(role.clone());
        }
    }
    editors
}

fn statements(policy: &Policy, options: &GuardrailOptions) -> Node {
    let keys = guarded_source_keys(policy);
    let tag_keys = || Node::obj([("aws:TagKeys", Node::list(keys.iter().map(String::as_str)))]);
    let editors = source_editors(policy, options);
    let editors = match editors.as_slice() {
        [one] => Node::str(one.as_str()),
        many => Node::list(many.iter().map(String::as_str)),
    };
    let protect = |sid: &str, actions: &[&str], resource: Node| {
        Node::obj([
            ("Sid", Node::str(sid)),
            ("Effect", Node::str("Deny")),
            ("Action", Node::list(actions.iter().copied())),
            ("Resource", resource),
            (
                "Condition",
                Node::obj([
                    (TAG_KEYS_OPERATOR, tag_keys()),
                    ("ArnNotLike", Node::obj([("aws:PrincipalArn", editors.clone())])),
                ]),
            ),
        ])
    };
    let source_identity = Node::obj([
        ("Sid", Node::str("DenySettingSourceIdentity")),
        ("Effect", Node::str("Deny")),
        ("Action", Node::str("sts:SetSourceIdentity")),
        ("Resource", Node::str("*")),
        (
            "Condition",
            // NOTE: `Null aws:SourceIdentity` true: the caller's own session carries none, so this would set a new
            // one; a session SageMaker started with one carries it on through role chaining, which needs the same
            // permission. SageMaker itself is a service principal (`aws:PrincipalIsAWSService`).
            Node::obj([
                ("Null", Node::obj([("aws:SourceIdentity", Node::str("true"))])),
                ("BoolIfExists", Node::obj([("aws:PrincipalIsAWSService", Node::str("false"))])),
            ]),
        ),
    ]);
    Node::obj([
        ("Version", Node::str("2012-10-17")),
        (
            "Statement",
            Node::List(vec![
                protect("DenySourceTagChanges", &SOURCE_TAG_ACTIONS, Node::list(SOURCE_RESOURCES)),
                protect("DenyPrincipalTagChanges", &PRINCIPAL_TAG_ACTIONS, Node::str("*")),
                source_identity,
            ]),
        ),
    ])
}
