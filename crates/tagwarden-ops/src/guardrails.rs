//! The preventive half of tagging: guardrail policies generated from the same policy file the auto-tagger uses.
//!
//! In: a [`Policy`] and [`GuardrailOptions`]. Out: [`Guardrails`], the text of four files for `infra/policies/`
//! (pure; the CLI's `guardrails` command writes them):
//!
//! - `iam-deny-untagged-sagemaker.json`, an IAM identity policy for the roles and groups that create SageMaker
//!   resources: it denies each create call of the resource table ([`resource::KINDS`]) when a required key is
//!   missing from the request (`Null` on `aws:RequestTag/<key>`, one statement per key, because the `Null` tests
//!   of one statement are ANDed: one statement for all keys would deny only requests missing every key), or when
//!   a key with an `allowed` list carries another value, and it denies `sagemaker:DeleteTags` of a required or
//!   protected key.
//! - `scp-deny-untagged-sagemaker.json`, the same statements as a Service Control Policy, minified.
//! - `org-tag-policy.json`, an AWS Organizations tag policy: canonical key spelling, allowed values, enforcement.
//! - `README.md`: what each file is, how to attach it, its size, and what the documents cannot express.
//!
//! Decisions, each also explained in the generated README:
//!
//! - Values are compared case-sensitively (`StringNotEquals`, not `StringNotEqualsIgnoreCase`), although the
//!   auto-tagger accepts `DEV` for `dev`: the tag policy, which enforces the same allowed values, is case-sensitive
//!   too, so a case-insensitive IAM test would let through exactly the requests the tag policy then refuses.
//!   Values read from profiles, spaces and roles are still matched case-insensitively by the auto-tagger.
//! - `pattern`s cannot be expressed: IAM has wildcards (`StringLike`), not regular expressions. Nor can aliases
//!   and other spellings of keys (`Cost_Center`): IAM compares condition key names case-insensitively and knows
//!   no aliases. The auto-tagger repairs both after creation.
//! - `sagemaker:CreateModelPackage` is not guarded: a model package created in a group (a Model Registry version)
//!   takes its group's tags and the API refuses a `Tags` argument, so a deny on missing tags would refuse every
//!   registration. The group's creation (`CreateModelPackageGroup`) is guarded instead.
//! - `sagemaker:AddTags` is not restricted: SageMaker also authorises tags passed at creation as `AddTags`, so a
//!   deny on protected keys would refuse compliant creations. Only `DeleteTags` of policy keys is denied.
//! - Exempt principals (`--exempt-principal`, e.g. Tagwarden's own roles) are excluded from every statement with
//!   `ArnNotLike` on `aws:PrincipalArn`, the only way an SCP can exempt a role.
//! - The `tagwarden:` tag key namespace is Tagwarden's own: one statement (`DenyTagwardenTagKeys`) denies
//!   `sagemaker:AddTags`, `sagemaker:DeleteTags`, every `sagemaker:Create*` (tags given at creation) and
//!   `iam:TagRole`/`UntagRole`/`TagUser`/`UntagUser` when `aws:TagKeys` holds a `tagwarden:` key
//!   (`ForAnyValue:StringLike`), for every principal but Tagwarden's own roles. Those are given as exact role
//!   ARNs (`--tagwarden-role`, `ArnNotEquals` on `aws:PrincipalArn`): a `tagwarden-*` pattern would exempt any
//!   role someone names so. The exempt principals above are not exempt from it.
//! - Strict mode denies requests carrying tag keys other than the policy's keys, the creator tag and SageMaker's
//!   own `sagemaker:*` keys. The guide's pattern is an Allow with `ForAllValues:StringEquals` on `aws:TagKeys`;
//!   in a Deny statement the same rule is `ForAnyValue:StringNotLike` (true when any requested key is outside the
//!   list, false for a request without tags, which the `Null` statements already cover).

use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use tagwarden::policy::{KeyRule, Policy};
use tagwarden::resource;

/// File name of the IAM identity policy.
pub const IAM_POLICY_FILE: &str = "iam-deny-untagged-sagemaker.json";
/// File name of the Service Control Policy.
pub const SCP_FILE: &str = "scp-deny-untagged-sagemaker.json";
/// File name of the Organizations tag policy.
pub const TAG_POLICY_FILE: &str = "org-tag-policy.json";
/// File name of the README that explains the other three.
pub const README_FILE: &str = "README.md";

/// The largest IAM managed policy, in characters not counting whitespace.
pub const IAM_POLICY_LIMIT: usize = 6_144;
/// The largest Service Control Policy, in characters including whitespace.
pub const SCP_LIMIT: usize = 5_120;
/// The largest Organizations tag policy, in characters including whitespace.
pub const TAG_POLICY_LIMIT: usize = 10_000;

/// The exempt principal of the checked-in files: Tagwarden's own roles in any account.
pub const DEFAULT_EXEMPT_PRINCIPAL: &str = "arn:aws:iam::*:role/tagwarden-*";

/// The tag-policy resource types `enforced_for` names: every SageMaker type tag policies support.
pub const TAG_POLICY_ENFORCED_FOR: &str = "sagemaker:ALL_SUPPORTED";

/// The Tagwarden roles of the checked-in files: the example account's two function roles (a deployment
/// generates its own with `--tagwarden-role`, exact ARNs from its stack).
pub const EXAMPLE_TAGWARDEN_ROLES: [&str; 2] = [
    "arn:aws:iam::123456789012:role/tagwarden-AutoTaggerFunctionRole-EXAMPLE",
    "arn:aws:iam::123456789012:role/tagwarden-BudgetEnforcerFunctionRole-EXAMPLE",
];

/// The actions `DenyTagwardenTagKeys` denies when they name a `tagwarden:` key (sorted).
pub const RESERVED_TAG_ACTIONS: [&str; 7] = [
    "iam:TagRole",
    "iam:TagUser",
    "iam:UntagRole",
    "iam:UntagUser",
    "sagemaker:AddTags",
    "sagemaker:Create*",
    "sagemaker:DeleteTags",
];

/// Create calls of the resource table that are deliberately not guarded (see the module doc).
const UNGUARDED_CREATE_CALLS: &[&str] = &["CreateModelPackage"];

/// Wildcards that stand for exactly the listed actions (checked against the `Create*` operations of
/// aws-sdk-sagemaker 1.248); used only when the SCP is too large otherwise.
const ACTION_MERGES: &[(&str, &[&str])] = &[
    ("sagemaker:CreateAutoMLJob*", &["sagemaker:CreateAutoMLJob", "sagemaker:CreateAutoMLJobV2"]),
    ("sagemaker:CreateEndpoint*", &["sagemaker:CreateEndpoint", "sagemaker:CreateEndpointConfig"]),
    ("sagemaker:CreateHyper*", &["sagemaker:CreateHyperParameterTuningJob"]),
    ("sagemaker:CreateLabel*", &["sagemaker:CreateLabelingJob"]),
    ("sagemaker:CreateMonitoring*", &["sagemaker:CreateMonitoringSchedule"]),
];

/// How to generate the guardrails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailOptions {
    /// IAM ARN patterns of principals no statement applies to (matched with `ArnNotLike aws:PrincipalArn`).
    pub exempt_principals: Vec<String>,
    /// Also deny create requests that carry keys other than the policy's, the creator tag and `sagemaker:*`.
    pub strict: bool,
    /// Tagwarden's own roles, exact IAM role ARNs: the only principals that may write `tagwarden:` keys.
    pub tagwarden_roles: Vec<String>,
}

impl GuardrailOptions {
    /// The options of the files checked in under `infra/policies/`: Tagwarden's roles exempt, not strict.
    pub fn checked_in() -> Self {
        Self {
            exempt_principals: vec![DEFAULT_EXEMPT_PRINCIPAL.to_owned()],
            strict: false,
            tagwarden_roles: EXAMPLE_TAGWARDEN_ROLES.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}

/// The generated documents, as `(file name, file text)` in a fixed order; every text ends with a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrails {
    /// IAM policy, SCP, tag policy, README.
    pub files: Vec<(&'static str, String)>,
}

impl Guardrails {
    /// The text of one generated file.
    pub fn file(&self, name: &str) -> Option<&str> {
        self.files.iter().find(|(n, _)| *n == name).map(|(_, text)| text.as_str())
    }
}

/// Why guardrails could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GuardrailError {
    /// A document is over its AWS size limit even in its most compact form.
    #[error("{document} would be {size} characters ({counted}), over AWS's limit of {limit}; {hint}")]
    TooLarge {
        /// The file name of the document.
        document: &'static str,
        /// Its size as AWS counts it.
        size: usize,
        /// The limit.
        limit: usize,
        /// How AWS counts (with or without whitespace).
        counted: &'static str,
        /// What to do about it.
        hint: &'static str,
    },
    /// The policy has neither required nor protected keys: there is nothing to deny.
    #[error("the policy has no required or protected keys, so there is nothing for a guardrail to deny")]
    NothingToGuard,
    /// An exempt principal is not an IAM ARN (pattern).
    #[error("exempt principal {0:?} is not an IAM ARN such as arn:aws:iam::*:role/tagwarden-*")]
    BadExemptPrincipal(String),
    /// No Tagwarden role was given: the statement reserving `tagwarden:` keys would deny Tagwarden itself.
    #[error(
        "no Tagwarden role given: the statement reserving tagwarden: tag keys exempts only Tagwarden's roles; pass each as --tagwarden-role arn:aws:iam::<account>:role/<name>"
    )]
    NoTagwardenRoles,
    /// A Tagwarden role is not an exact IAM role ARN.
    #[error(
        "Tagwarden role {0:?} is not an exact IAM role ARN (arn:aws:iam::<account>:role/<name>, no wildcard): a pattern would exempt any role named to match it"
    )]
    BadTagwardenRole(String),
    /// A document could not be serialised (not expected: every value is a string).
    #[error("cannot serialise {document}: {source}")]
    Json {
        /// The file name of the document.
        document: &'static str,
        /// The serde_json error.
        source: serde_json::Error,
    },
}

/// The size of a generated file as AWS counts it against its limit: an IAM policy without the whitespace
/// between JSON tokens, the others character for character.
pub fn counted_size(file: &str, text: &str) -> usize {
    if file != IAM_POLICY_FILE {
        return text.chars().count();
    }
    let (mut count, mut in_string, mut escaped) = (0, false, false);
    for c in text.chars() {
        if in_string {
            count += 1;
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            count += 1;
            in_string = c == '"';
        }
    }
    count
}

/// The AWS size limit of a generated file, as [`counted_size`] counts; `None` for the README.
pub fn size_limit(file: &str) -> Option<usize> {
    match file {
        IAM_POLICY_FILE => Some(IAM_POLICY_LIMIT),
        SCP_FILE => Some(SCP_LIMIT),
        TAG_POLICY_FILE => Some(TAG_POLICY_LIMIT),
        _ => None,
    }
}

/// Generates the IAM policy, the SCP, the tag policy and their README from `policy`.
pub fn generate(policy: &Policy, options: &GuardrailOptions) -> Result<Guardrails, GuardrailError> {
    for principal in &options.exempt_principals {
        let parts: Vec<&str> = principal.split(':').collect();
        if parts.len() < 6 || parts[0] != "arn" || parts[2] != "iam" || parts[5].is_empty() {
            return Err(GuardrailError::BadExemptPrincipal(principal.clone()));
        }
    }
    if options.tagwarden_roles.is_empty() {
        return Err(GuardrailError::NoTagwardenRoles);
    }
    if let Some(bad) = options.tagwarden_roles.iter().find(|r| !is_exact_role_arn(r)) {
        return Err(GuardrailError::BadTagwardenRole(bad.clone()));
    }
    let tags = &policy.tags;
    if !tags.keys.iter().any(|k| k.required || k.protected) {
        return Err(GuardrailError::NothingToGuard);
    }

    let actions = guarded_actions();
    let iam = deny_policy(policy, options, &actions);
    let iam_text = pretty(IAM_POLICY_FILE, &iam)?;
    let iam_size = minified(IAM_POLICY_FILE, &iam)?.chars().count();
    if iam_size > IAM_POLICY_LIMIT {
        return Err(GuardrailError::TooLarge {
            document: IAM_POLICY_FILE,
            size: iam_size,
            limit: IAM_POLICY_LIMIT,
            counted: "without whitespace",
            hint: "split the policy's required keys over two policy files or attach two managed policies",
        });
    }

    let (scp_text, scp_merged) = scp(policy, options, &actions)?;
    let tag_text = tag_policy(policy)?;

    let sizes = Sizes { iam: iam_size, scp: scp_text.chars().count(), tag: tag_text.chars().count() };
    let readme = readme(policy, options, &actions, &sizes, scp_merged);
    Ok(Guardrails {
        files: vec![
            (IAM_POLICY_FILE, iam_text),
            (SCP_FILE, scp_text),
            (TAG_POLICY_FILE, tag_text),
            (README_FILE, readme),
        ],
    })
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`, with no `*` or `?`.
fn is_exact_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [head, _partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    *head == "arn"
        && *service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
        && !arn.contains(['*', '?'])
}

/// The IAM actions of the resource table's create calls, sorted, without the unguarded ones.
fn guarded_actions() -> Vec<String> {
    resource::create_event_names()
        .into_iter()
        .filter(|name| !UNGUARDED_CREATE_CALLS.contains(name))
        .map(|name| format!("sagemaker:{name}"))
        .collect()
}

/// `actions` with each [`ACTION_MERGES`] wildcard in place of the actions it stands for, when all are present.
fn merge_actions(actions: &[String]) -> Vec<String> {
    let mut merged: Vec<String> = actions.to_vec();
    for (wildcard, members) in ACTION_MERGES {
        if members.iter().all(|m| merged.iter().any(|a| a == m)) {
            merged.retain(|a| !members.contains(&a.as_str()));
            merged.push((*wildcard).to_owned());
        }
    }
    merged.sort();
    merged
}

/// The SCP text, minified; with merged actions when the exact list is too large. `true` when merged.
fn scp(policy: &Policy, options: &GuardrailOptions, actions: &[String]) -> Result<(String, bool), GuardrailError> {
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
fn deny_policy(policy: &Policy, options: &GuardrailOptions, actions: &[String]) -> Node {
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

/// The Organizations tag policy, pretty when it fits, else minified.
///
/// Every policy key gets `tag_key` (its capitalisation is then reported, and enforced where enforced);
/// `tag_value` lists `allowed` values; `enforced_for` is set for required keys and keys with allowed values,
/// the keys the IAM policy guards too. Optional free-form keys are report-only: refusing a creation over the
/// spelling of a key nobody must set would be stricter than the policy, and the auto-tagger fixes it.
fn tag_policy(policy: &Policy) -> Result<String, GuardrailError> {
    let mut entries = Vec::new();
    for rule in &policy.tags.keys {
        let mut entry = vec![("tag_key", Node::obj([("@@assign", Node::str(rule.key.as_str()))]))];
        if !rule.allowed.is_empty() {
            let values = Node::list(rule.allowed.iter().map(String::as_str));
            entry.push(("tag_value", Node::obj([("@@assign", values)])));
        }
        if rule.required || !rule.allowed.is_empty() {
            let types = Node::list([TAG_POLICY_ENFORCED_FOR]);
            entry.push(("enforced_for", Node::obj([("@@assign", types)])));
        }
        entries.push((rule.key.to_lowercase(), Node::obj(entry)));
    }
    let document = Node::obj([("tags", Node::Obj(entries))]);
    let text = pretty(TAG_POLICY_FILE, &document)?;
    if text.chars().count() <= TAG_POLICY_LIMIT {
        return Ok(text);
    }
    let text = minified(TAG_POLICY_FILE, &document)? + "\n";
    let size = text.chars().count();
    if size <= TAG_POLICY_LIMIT {
        return Ok(text);
    }
    Err(GuardrailError::TooLarge {
        document: TAG_POLICY_FILE,
        size,
        limit: TAG_POLICY_LIMIT,
        counted: "minified",
        hint: "split the keys over two tag policies attached to the same target",
    })
}

/// The sizes as AWS counts them, for the README.
struct Sizes {
    iam: usize,
    scp: usize,
    tag: usize,
}

fn readme(policy: &Policy, options: &GuardrailOptions, actions: &[String], sizes: &Sizes, merged: bool) -> String {
    let tags = &policy.tags;
    let keys = |filter: fn(&KeyRule) -> bool| -> String {
        let keys: Vec<String> = tags.keys.iter().filter(|r| filter(r)).map(|r| format!("`{}`", r.key)).collect();
        if keys.is_empty() { "none".to_owned() } else { keys.join(", ") }
    };
    let exempt = if options.exempt_principals.is_empty() {
        "none".to_owned()
    } else {
        options.exempt_principals.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
    };
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line("# Guardrails: no untagged SageMaker resources");
    line("");
    line("Generated by `cargo run -p tagwarden-cli -- guardrails` from `policy/tagwarden.yaml`, the same policy the");
    line("auto-tagger reads; do not edit by hand (a test compares these files with a fresh generation). They are the");
    line("preventive half of tagging: they refuse a creation that lacks required tags, the auto-tagger then fills");
    line("in what may be inferred and repairs spellings.");
    line("");
    line(&format!("- Required keys (a create call without them is denied): {}", keys(|r| r.required)));
    line(&format!("- Keys with allowed values (another value is denied): {}", keys(|r| !r.allowed.is_empty())));
    line(&format!("- Keys that cannot be deleted (required or protected): {}", keys(|r| r.required || r.protected)));
    line(&format!("- Exempt principals (no statement but `DenyTagwardenTagKeys` applies to them): {exempt}"));
    let roles: Vec<String> = options.tagwarden_roles.iter().map(|r| format!("`{r}`")).collect();
    line(&format!(
        "- Tagwarden's roles (the only principals that may write `tagwarden:` tag keys): {}",
        roles.join(", ")
    ));
    line(&format!(
        "- Strict (only policy keys, `{}` and `sagemaker:*` keys allowed in a create request): {}",
        tags.creator_tag.as_deref().unwrap_or("no creator tag"),
        if options.strict { "yes" } else { "no" }
    ));
    line("");
    line("| file | what it is | size | AWS limit |");
    line("|---|---|---|---|");
    line(&format!(
        "| `{IAM_POLICY_FILE}` | IAM identity policy for the roles, users and groups that create SageMaker resources | {} characters without whitespace | {} |",
        thousands(sizes.iam),
        thousands(IAM_POLICY_LIMIT)
    ));
    line(&format!(
        "| `{SCP_FILE}` | the same statements as a Service Control Policy, minified{} | {} characters | {} |",
        if merged { ", actions merged into wildcards" } else { "" },
        thousands(sizes.scp),
        thousands(SCP_LIMIT)
    ));
    line(&format!(
        "| `{TAG_POLICY_FILE}` | AWS Organizations tag policy: key spelling, allowed values, enforcement | {} characters | {} |",
        thousands(sizes.tag),
        thousands(TAG_POLICY_LIMIT)
    ));
    line("");
    line("## Attaching them");
    line("");
    line("```sh");
    line("# IAM: one account; attach to the people's and CI's roles or groups (not to Tagwarden's roles)");
    line(&format!(
        "aws iam create-policy --policy-name tagwarden-deny-untagged-sagemaker --policy-document file://{IAM_POLICY_FILE}"
    ));
    line("aws iam attach-group-policy --group-name data-scientists \\");
    line("    --policy-arn arn:aws:iam::123456789012:policy/tagwarden-deny-untagged-sagemaker");
    line("# Organizations (from the management account): every account of an OU");
    line(&format!(
        "aws organizations create-policy --type SERVICE_CONTROL_POLICY --name tagwarden-deny-untagged-sagemaker \\\n    --description 'Deny untagged SageMaker creation' --content file://{SCP_FILE}"
    ));
    line("aws organizations enable-policy-type --root-id r-abcd --policy-type TAG_POLICY");
    line(&format!(
        "aws organizations create-policy --type TAG_POLICY --name tagwarden-sagemaker-tags \\\n    --description 'SageMaker cost-allocation tags' --content file://{TAG_POLICY_FILE}"
    ));
    line("aws organizations attach-policy --policy-id p-examplepolicyid --target-id ou-abcd-11111111");
    line("```");
    line("");
    line("Either the IAM policy or the SCP is enough for a given principal; the SCP also covers principals you do not");
    line("manage. An SCP never applies to the management account or to service-linked roles.");
    line("");
    line("## What they deny");
    line("");
    line(&format!("The create calls of the resource table ({} actions):", actions.len()));
    line(&actions.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "));
    line("");
    line("- One statement per required key with `\"Null\": {\"aws:RequestTag/<key>\": \"true\"}`: the `Null` tests of");
    line("  one statement are ANDed, so a single statement would deny only requests that lack every key.");
    line("- One statement per key with allowed values: the key is present (`Null` false) and its value is not one of");
    line(
        "  them (`StringNotEquals`). Optional keys may be absent; required ones are covered by their `Null` statement.",
    );
    line("- `sagemaker:DeleteTags` of a required or protected key (`ForAnyValue:StringEquals` on `aws:TagKeys`).");
    line(
        "- With `--strict`, create requests carrying any other tag key (`ForAnyValue:StringNotLike` on `aws:TagKeys`,",
    );
    line("  the deny-side form of the usual `ForAllValues:StringEquals` allow-list).");
    line("- Every statement but the next excludes the exempt principals with `ArnNotLike` on `aws:PrincipalArn` (the");
    line("  role's ARN, not the session's; add more with `--exempt-principal ARN`).");
    line(
        "- `DenyTagwardenTagKeys`: the `tagwarden:` key namespace is Tagwarden's own. Adding, removing or creating with",
    );
    line("  a `tagwarden:` key (`sagemaker:AddTags`, `DeleteTags`, `Create*`, `iam:TagRole`, `UntagRole`, `TagUser`,");
    line(
        "  `UntagUser`; `ForAnyValue:StringLike` on `aws:TagKeys`) is denied to every principal but Tagwarden's roles,",
    );
    line("  named by exact ARN (`ArnNotEquals`; regenerate with `--tagwarden-role ARN` for each of your stack's");
    line("  `AutoTaggerFunctionRole` and `BudgetEnforcerFunctionRole`, and in an organization each account's member");
    line("  role). A `tagwarden-*` pattern would exempt any role someone names so. The checked-in files name the");
    line("  example account's roles.");
    line("");
    line("The tag policy names every policy key with its canonical spelling (`tag_key`) and its allowed values");
    line(&format!(
        "(`tag_value`), and enforces them (`enforced_for: {TAG_POLICY_ENFORCED_FOR}`, every SageMaker resource type"
    ));
    line("that supports tag-policy enforcement) for required keys and keys with allowed values; other keys are");
    line("report-only. A tag policy does not refuse a creation without tags, which is why the IAM policy or SCP");
    line("exists. Check that SageMaker is listed in the Organizations guide's \"Services and resource types that");
    line("support enforcement\"; `create-policy` refuses a value it does not know.");
    line("");
    line("## What they cannot express");
    line("");
    let patterns: Vec<String> = tags
        .keys
        .iter()
        .filter_map(|r| r.pattern.as_ref().map(|p| format!("`{}` must match `{}`", r.key, p.as_str())))
        .collect();
    if patterns.is_empty() {
        line("- Patterns: IAM and tag policies have wildcards, not regular expressions (this policy has none).");
    } else {
        line("- Patterns: IAM and tag policies have wildcards, not regular expressions, so only presence is denied");
        line(&format!(
            "  for {}; the auto-tagger replaces an invalid value from its sources and reports what it cannot fill.",
            patterns.join(", ")
        ));
    }
    line("- Aliases and other spellings of keys (`Cost_Center`, `costcentre`): IAM compares condition key names");
    line("  case-insensitively and knows no aliases, so `Environment` satisfies the `environment` test. The tag");
    line("  policy refuses other capitalisations of enforced keys; the auto-tagger writes the canonical key.");
    line("- Case-insensitive values: the auto-tagger accepts `DEV` for `dev` from its sources, but the guardrails");
    line("  compare values case-sensitively (`StringNotEquals`) because the tag policy does: a creation must spell");
    line("  allowed values as the policy does.");
    line("- `sagemaker:CreateModelPackage` is not guarded: a model package version in a group takes the group's tags");
    line("  and the API refuses `Tags` for it, so a deny would refuse every Model Registry registration; the group's");
    line("  `CreateModelPackageGroup` is guarded instead.");
    line("- `sagemaker:AddTags` is not restricted: SageMaker authorises tags given at creation as `AddTags` too, so a");
    line("  deny on protected keys would refuse compliant creations. Tag-policy enforcement still checks the values.");
    line("- Work SageMaker starts for a principal: a tuning job passes its tags to its training jobs, but pipeline");
    line("  steps run as the pipeline's execution role, and Studio creates apps and spaces as the user profile's");
    line("  execution role. Give those requests the tags (pipeline step tags; the domain's tag propagation) and try");
    line("  it in one account first, or exempt those roles with `--exempt-principal`.");
    out
}

/// `6144` as `6,144`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `cost-center` as `CostCenter`: the ASCII letters and digits of each word, capitalised (a `Sid` is alphanumeric).
fn pascal(key: &str) -> String {
    key.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars)
        })
        .collect()
}

/// Statement ids, made unique with a number when two keys spell the same (`a:b` and `a-b`).
#[derive(Default)]
struct Sids(Vec<String>);

impl Sids {
    fn unique(&mut self, wanted: &str) -> String {
        let mut sid = wanted.to_owned();
        let mut n = 2;
        while self.0.contains(&sid) {
            sid.clear();
            let _ = write!(sid, "{wanted}{n}");
            n += 1;
        }
        self.0.push(sid.clone());
        sid
    }
}

fn pretty(document: &'static str, node: &Node) -> Result<String, GuardrailError> {
    serde_json::to_string_pretty(node).map(|s| s + "\n").map_err(|source| GuardrailError::Json { document, source })
}

fn minified(document: &'static str, node: &Node) -> Result<String, GuardrailError> {
    serde_json::to_string(node).map_err(|source| GuardrailError::Json { document, source })
}

/// A JSON value whose objects keep their keys in the order written (`Version` before `Statement`, `Sid` first);
/// serde_json's own map sorts keys in this build.
#[derive(Debug, Clone)]
enum Node {
    Str(String),
    List(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

impl Node {
    fn str(s: impl Into<String>) -> Self {
        Self::Str(s.into())
    }

    fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        Self::List(items.into_iter().map(Self::str).collect())
    }

    fn obj<K: Into<String>>(entries: impl IntoIterator<Item = (K, Node)>) -> Self {
        Self::Obj(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Str(s) => serializer.serialize_str(s),
            Self::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Obj(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests;
