//! The preventive half of tagging: guardrail policies generated from the same policy file the auto-tagger uses.
//!
//! In: a [`Policy`] and [`GuardrailOptions`]. Out: [`Guardrails`], the text of six files for `infra/policies/`
//! (pure; the CLI's `guardrails` command writes them):
//!
//! - `iam-deny-untagged-sagemaker.json`, an IAM identity policy for the roles and groups that create SageMaker
//!   resources: it denies each create call of the resource table ([`resource::KINDS`]) when a required key is
//!   missing from the request (`Null` on `aws:RequestTag/<key>`, one statement per key, because the `Null` tests
//!   of one statement are ANDed: one statement for all keys would deny only requests missing every key), or when
//!   a key with an `allowed` list carries another value, and it denies `sagemaker:DeleteTags` of a required or
//!   protected key. The create calls are spread over as many parts as fit IAM's 6,144 characters (at most four:
//!   [`IAM_POLICY_PARTS`], the first keeping this name and the statements that name no create call).
//! - `scp-deny-untagged-sagemaker.json`, the same statements as a Service Control Policy, minified (and its
//!   parts, [`SCP_PARTS`], when they outgrow 5,120 characters even with merged actions).
//! - `org-tag-policy.json`, an AWS Organizations tag policy: canonical key spelling, allowed values, enforcement.
//! - `iam-protect-tag-sources.json` and `scp-protect-tag-sources.json` ([`sources`]): nobody but the policy's
//!   `admins:` and Tagwarden's roles changes the policy's keys on Studio domains, user profiles and spaces or on
//!   IAM users and roles, and nobody but SageMaker sets a new session source identity.
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
//!   `ArnNotLike` on `aws:PrincipalArn`, the only way an SCP can exempt a role. They must be exact role or user
//!   ARNs: a pattern such as `arn:aws:iam::*:role/tagwarden-*` exempts any role someone names so, and is taken
//!   only with `allow_exempt_patterns` (`--allow-exempt-patterns`).
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

use tagwarden::policy::Policy;
use tagwarden::resource;

use json::{minified, pretty};
use readme::{Sizes, readme};
use scp::{deny_policy, deny_policy_part, scp};
use sources::source_documents;
use tag_policy::tag_policy;

mod json;
mod readme;
mod scp;
pub mod sources;
mod tag_policy;

/// File name of the IAM identity policy.
pub const IAM_POLICY_FILE: &str = "iam-deny-untagged-sagemaker.json";
/// File name of the Service Control Policy.
pub const SCP_FILE: &str = "scp-deny-untagged-sagemaker.json";
/// File name of the Organizations tag policy.
pub const TAG_POLICY_FILE: &str = "org-tag-policy.json";
/// File name of the IAM identity policy that protects the tag sources.
pub const IAM_SOURCES_FILE: &str = "iam-protect-tag-sources.json";
/// File name of the Service Control Policy that protects the tag sources.
pub const SCP_SOURCES_FILE: &str = "scp-protect-tag-sources.json";
/// File name of the README that explains the others.
pub const README_FILE: &str = "README.md";

/// The largest IAM managed policy, in characters not counting whitespace.
pub const IAM_POLICY_LIMIT: usize = 6_144;
/// The largest Service Control Policy, in characters including whitespace.
pub const SCP_LIMIT: usize = 5_120;
/// The largest Organizations tag policy, in characters including whitespace.
pub const TAG_POLICY_LIMIT: usize = 10_000;

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

/// Create calls of the resource table that are deliberately not guarded, each with its reason (see the module
/// doc). A call whose IAM action supports no `aws:RequestTag` cannot be guarded: its request never has the key,
/// so the `Null` statement would refuse every call.
const UNGUARDED_CREATE_CALLS: &[(&str, &str)] = &[
    ("CreateModelPackage", "a version in a group takes the group's tags and refuses a Tags argument"),
    (
        "CreateTrainingSession",
        "the Service Authorization Reference lists no aws:RequestTag or aws:TagKeys for it: a Null test would deny every call",
    ),
];

/// File names of the IAM policies that deny untagged creation, one per part: the first keeps the name of the
/// one-document days, so attaching it stays right; the create calls are spread over as many as fit.
pub const IAM_POLICY_PARTS: [&str; 4] = [
    IAM_POLICY_FILE,
    "iam-deny-untagged-sagemaker-2.json",
    "iam-deny-untagged-sagemaker-3.json",
    "iam-deny-untagged-sagemaker-4.json",
];
/// File names of the SCPs that deny untagged creation, one per part (as [`IAM_POLICY_PARTS`]).
pub const SCP_PARTS: [&str; 4] = [
    SCP_FILE,
    "scp-deny-untagged-sagemaker-2.json",
    "scp-deny-untagged-sagemaker-3.json",
    "scp-deny-untagged-sagemaker-4.json",
];

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
    /// IAM role or user ARNs no statement of the untagged-creation policies applies to (`ArnNotLike
    /// aws:PrincipalArn`); exact unless [`Self::allow_exempt_patterns`].
    pub exempt_principals: Vec<String>,
    /// Take `*`/`?` patterns among the exempt principals (anyone who can name a role to match is exempt).
    pub allow_exempt_patterns: bool,
    /// Also deny create requests that carry keys other than the policy's, the creator tag and `sagemaker:*`.
    pub strict: bool,
    /// Tagwarden's own roles, exact IAM role ARNs: the only principals that may write `tagwarden:` keys.
    pub tagwarden_roles: Vec<String>,
}

impl GuardrailOptions {
    /// The options of the files checked in under `infra/policies/`: the example account's Tagwarden roles,
    /// by exact ARN, exempt and writing `tagwarden:` keys; not strict.
    pub fn checked_in() -> Self {
        let roles: Vec<String> = EXAMPLE_TAGWARDEN_ROLES.iter().map(|r| (*r).to_owned()).collect();
        Self { exempt_principals: roles.clone(), allow_exempt_patterns: false, strict: false, tagwarden_roles: roles }
    }
}

/// The generated documents, as `(file name, file text)` in a fixed order; every text ends with a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrails {
    /// IAM policy, SCP, tag policy, the sources' IAM policy and SCP, README.
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
    #[error("exempt principal {0:?} is not an IAM role or user ARN such as arn:aws:iam::123456789012:role/ci-deployer")]
    BadExemptPrincipal(String),
    /// An exempt principal is a pattern and patterns were not allowed.
    #[error(
        "exempt principal {0:?} is a pattern: it exempts any role someone names to match it; give exact role or user ARNs, or pass --allow-exempt-patterns to accept that"
    )]
    ExemptPattern(String),
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
    if !IAM_POLICY_PARTS.contains(&file) && file != IAM_SOURCES_FILE {
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
        IAM_SOURCES_FILE => Some(IAM_POLICY_LIMIT),
        SCP_SOURCES_FILE => Some(SCP_LIMIT),
        _ if IAM_POLICY_PARTS.contains(&file) => Some(IAM_POLICY_LIMIT),
        _ if SCP_PARTS.contains(&file) => Some(SCP_LIMIT),
        TAG_POLICY_FILE => Some(TAG_POLICY_LIMIT),
        _ => None,
    }
}

/// Generates the IAM policies, the SCPs, the tag policy and their README from `policy`.
pub fn generate(policy: &Policy, options: &GuardrailOptions) -> Result<Guardrails, GuardrailError> {
    for principal in &options.exempt_principals {
        let parts: Vec<&str> = principal.split(':').collect();
        if parts.len() < 6 || parts[0] != "arn" || parts[2] != "iam" || parts[5].is_empty() {
            return Err(GuardrailError::BadExemptPrincipal(principal.clone()));
        }
        if !options.allow_exempt_patterns && !is_exact_principal_arn(principal) {
            return Err(GuardrailError::ExemptPattern(principal.clone()));
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
    let iam_fits = |part: &[String], first: bool| -> Result<bool, GuardrailError> {
        let size = minified(IAM_POLICY_FILE, &deny_policy_part(policy, options, part, first))?.chars().count();
        Ok(size <= IAM_POLICY_LIMIT)
    };
    let iam_parts = split(&actions, iam_fits).ok_or(GuardrailError::TooLarge {
        document: IAM_POLICY_FILE,
        size: minified(IAM_POLICY_FILE, &deny_policy(policy, options, &actions))?.chars().count(),
        limit: IAM_POLICY_LIMIT,
        counted: "without whitespace, in one document",
        hint: "not even one create call fits a policy, or more than four are needed: split the policy's required keys",
    })??;
    let mut iam = Vec::new();
    for (i, part) in iam_parts.iter().enumerate() {
        let document = deny_policy_part(policy, options, part, i == 0);
        iam.push((IAM_POLICY_PARTS[i], pretty(IAM_POLICY_PARTS[i], &document)?, minified(IAM_POLICY_FILE, &document)?));
    }

    let (scp_texts, scp_merged) = scp(policy, options, &actions)?;
    let tag_text = tag_policy(policy)?;
    let sources = source_documents(policy, options)?;

    let sizes = Sizes {
        iam: iam.iter().map(|(name, _, min)| (*name, min.chars().count())).collect(),
        scp: scp_texts.iter().map(|(name, text)| (*name, text.chars().count())).collect(),
        tag: tag_text.chars().count(),
        iam_sources: sources.iam_size,
        scp_sources: sources.scp.chars().count(),
    };
    let readme = readme(policy, options, &actions, &sizes, scp_merged);
    Ok(Guardrails {
        files: iam
            .into_iter()
            .map(|(name, text, _)| (name, text))
            .chain(scp_texts)
            .chain([
                (TAG_POLICY_FILE, tag_text),
                (IAM_SOURCES_FILE, sources.iam),
                (SCP_SOURCES_FILE, sources.scp),
                (README_FILE, readme),
            ])
            .collect(),
    })
}

/// `arn:<partition>:iam::<12 digits>:role/…` or `…:user/…`, with no `*` or `?`.
fn is_exact_principal_arn(arn: &str) -> bool {
    let user_as_role = arn.replacen(":user/", ":role/", 1);
    is_exact_role_arn(&user_as_role)
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
        .filter(|name| !UNGUARDED_CREATE_CALLS.iter().any(|(call, _)| call == name))
        .map(|name| format!("sagemaker:{name}"))
        .collect()
}

/// `actions` (sorted) spread over the fewest consecutive parts, at most four, for which `fits(part, first)`
/// holds; `None` when that cannot be done.
fn split<E>(
    actions: &[String],
    fits: impl Fn(&[String], bool) -> Result<bool, E>,
) -> Option<Result<Vec<Vec<String>>, E>> {
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for action in actions {
        current.push(action.clone());
        match fits(&current, parts.is_empty()) {
            Err(e) => return Some(Err(e)),
            Ok(true) => continue,
            Ok(false) => {}
        }
        let last = current.pop()?;
        if current.is_empty() {
            return None;
        }
        parts.push(std::mem::take(&mut current));
        current.push(last);
        match fits(&current, false) {
            Err(e) => return Some(Err(e)),
            Ok(true) => {}
            Ok(false) => return None,
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    (parts.len() <= IAM_POLICY_PARTS.len()).then_some(Ok(parts))
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

#[cfg(test)]
mod tests;
