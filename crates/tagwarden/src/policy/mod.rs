//! The one configuration model: the tag policy and the budget rules, parsed and validated once.
//!
//! In: a YAML document (see `policy/tagwarden.yaml` for a commented example). Out: a [`Policy`] whose
//! every value has been checked, or a [`PolicyError`] naming the key path and line of the problem.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use regex::Regex;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::identity::SessionPatterns;
use crate::tag_rules::{key_problem, value_problem};

pub mod admins;
pub mod anomalies;
mod budgets;
pub mod burn;
pub mod catalog;
pub mod exemptions;
pub mod idle;
pub mod overrides;

pub use admins::Admins;
pub use anomalies::{AnomalyRule, AnomalyScope};
pub use budgets::{
    Action, Approval, BudgetPolicy, BudgetRule, EndpointAction, ForecastedMode, Scope, Step, glob_match, parse_grace,
};
pub use burn::BurnRule;
pub use catalog::{Catalog, CatalogEntry, Period, Selection};
pub use exemptions::{Day, Exemption, Judgement};
pub use idle::IdlePolicy;

/// The example policy shipped with Tagwarden; used when no policy is configured.
pub const EXAMPLE_POLICY: &str = include_str!("../../../../policy/tagwarden.yaml");

/// What went wrong loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// Path that was read.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed or a value is invalid; the message names the key path and line.
    #[error("invalid policy {origin}: {message}")]
    Invalid {
        /// Where the policy came from (file path, `TAGWARDEN_POLICY`, `built-in example`).
        origin: String,
        /// What is wrong, with the key path and the line and column.
        message: String,
    },
}

/// A validated Tagwarden policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The tag policy.
    pub tags: TagPolicy,
    /// The budget rules (empty when the policy has no `budgets` section).
    pub budgets: BudgetPolicy,
    /// Per-account and per-OU changes to `tags` ([`overrides`]); empty in a single-account policy.
    pub overrides: Vec<overrides::TagOverride>,
    /// `admins:`: who may change the policy's keys on the tag sources ([`admins`]); empty: nobody.
    pub admins: Admins,
    /// `idle:`: idle shutdown, idle endpoints and off-hours ([`idle`]); empty when absent.
    pub idle: IdlePolicy,
}

impl Policy {
    /// Parses and validates a policy from YAML text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, PolicyError> {
        // NOTE: the tags are read first so that a `budgets.catalog` entry naming another key fails where it
        // stands, with its line; if they do not parse, the full read below says why.
        let known = serde_norway::from_str::<TagsOnly>(text).ok().map(|t| {
            let keys = t.tags.keys.iter().map(|k| k.key.clone()).collect::<Vec<_>>();
            (keys, t.tags.creator_tag)
        });
        let read = || serde_norway::from_str::<PolicyFile>(text);
        let file = match known {
            Some((keys, creator_tag)) => catalog::with_known_keys(keys, creator_tag, read),
            None => read(),
        }
        .map_err(|e| PolicyError::Invalid { origin: origin.to_owned(), message: e.to_string() })?;
        overrides::validate(&file.tags, &file.overrides).map_err(|problem| PolicyError::Invalid {
            origin: origin.to_owned(),
            message: format!("overrides: {problem}"),
        })?;
        file.idle.check().map_err(|message| PolicyError::Invalid { origin: origin.to_owned(), message })?;
        Ok(Self {
            tags: file.tags,
            budgets: file.budgets,
            overrides: file.overrides,
            admins: file.admins,
            idle: file.idle,
        })
    }

    /// The tag policy for `account`, whose organizational units (nearest first, ancestors included) are
    /// `ous`: the base `tags` merged with every override that applies ([`overrides`]).
    pub fn tags_for(&self, account: &str, ous: &[String]) -> std::borrow::Cow<'_, TagPolicy> {
        let (tags, problem) = overrides::resolve(&self.tags, &self.overrides, account, ous);
        if let Some(problem) = problem {
            tracing::warn!(account, problem = %problem, "policy overrides conflict; the base tag policy applies");
        }
        tags
    }

    /// This policy with `tags` resolved for `account` (see [`Policy::tags_for`]); what a per-account
    /// auto-tagger runs with.
    pub fn for_account(&self, account: &str, ous: &[String]) -> Self {
        Self {
            tags: self.tags_for(account, ous).into_owned(),
            budgets: self.budgets.clone(),
            overrides: Vec::new(),
            admins: self.admins.clone(),
            idle: self.idle.clone(),
        }
    }

    /// Reads, parses and validates a policy file.
    pub fn from_file(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// The example policy shipped in the binary.
    pub fn example() -> Result<Self, PolicyError> {
        Self::from_yaml(EXAMPLE_POLICY, "built-in example")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[allow(dead_code)]
    #[serde(default, deserialize_with = "version_one")]
    version: u32,
    tags: TagPolicy,
    #[serde(default, deserialize_with = "budgets::budgets")]
    budgets: BudgetPolicy,
    #[serde(default, deserialize_with = "overrides::overrides")]
    overrides: Vec<overrides::TagOverride>,
    #[serde(default, deserialize_with = "admins::admins")]
    admins: Admins,
    #[serde(default)]
    idle: IdlePolicy,
}

/// The tag policy alone (the rest ignored): the keys `budgets.catalog` entries may name.
#[derive(Deserialize)]
struct TagsOnly {
    tags: TagPolicy,
}

fn version_one<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        1 => Ok(1),
        other => Err(de::Error::custom(format!("unsupported policy version {other}; this Tagwarden reads version 1"))),
    }
}

/// A place tag values come from, in the order the policy lists them (first wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The parent that started the resource (tuning job of a training job, pipeline of a step job).
    Parent,
    /// The creator's SageMaker Studio user profile.
    UserProfile,
    /// The Studio space the resource was created from.
    Space,
    /// The Studio domain.
    Domain,
    /// The creator's IAM role or user tags.
    Principal,
    /// The policy's per-key defaults.
    Defaults,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parent => "parent",
            Self::UserProfile => "user-profile",
            Self::Space => "space",
            Self::Domain => "domain",
            Self::Principal => "principal",
            Self::Defaults => "defaults",
        })
    }
}

/// What to do with a value that breaks SageMaker's character or length rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvalidValues {
    /// Replace disallowed characters with `-` and cut to 256 characters.
    #[default]
    Sanitize,
    /// Do not use the value; try the next source.
    Skip,
}

/// The tag policy: which keys, which values, where the values come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "TagPolicyFile")]
pub struct TagPolicy {
    /// The policy's keys, in file order (also the order of precedence when the 50-tag limit bites).
    pub keys: Vec<KeyRule>,
    /// Key that records who created the resource, e.g. `created-by`; `None` to not record it.
    pub creator_tag: Option<String>,
    /// Role session names that name a machine, not a person (`deploy-*`): the creator is then the role, as
    /// for the tools' own defaults (`identity::DEFAULT_SESSIONS`).
    pub machine_sessions: SessionPatterns,
    /// Sources of values, first wins.
    pub sources: Vec<SourceKind>,
    /// What to do with illegal values.
    pub invalid_values: InvalidValues,
    /// Delete a misspelt key (e.g. `Environment`) once its canonical key is written.
    pub drop_aliased_keys: bool,
    /// SNS topic for non-compliance notifications.
    pub notify_topic_arn: Option<String>,
    lookup: HashMap<String, usize>,
}

/// The rule for one policy key.
#[derive(Debug, Clone)]
pub struct KeyRule {
    /// The canonical key.
    pub key: String,
    /// Every resource must carry it.
    pub required: bool,
    /// Its value always comes from the sources, overwriting what the caller set.
    pub protected: bool,
    /// Allowed values (canonical spelling), matched case-insensitively; empty means any.
    pub allowed: Vec<String>,
    /// A pattern values must match.
    pub pattern: Option<Regex>,
    /// Misspellings that mean this key.
    pub aliases: Vec<String>,
    /// Value used by the `defaults` source.
    pub default: Option<String>,
}

impl KeyRule {
    /// The canonical form of `value` under this rule, or why it is not acceptable.
    pub fn accept(&self, value: &str) -> Result<String, String> {
        self.check(value).map_err(|why| why.to_string())
    }

    /// The canonical form of `value` under this rule, or which check it fails (for the audit).
    pub fn check(&self, value: &str) -> Result<String, Rejection> {
        let value = if self.allowed.is_empty() {
            value.to_owned()
        } else {
            let found = self.allowed.iter().find(|a| a.to_lowercase() == value.to_lowercase());
            match found {
                Some(canonical) => canonical.clone(),
                None => {
                    return Err(Rejection::NotAllowed { value: value.to_owned(), allowed: self.allowed.clone() });
                }
            }
        };
        if let Some(pattern) = &self.pattern
            && !pattern.is_match(&value)
        {
            return Err(Rejection::NoPatternMatch { value, pattern: pattern.as_str().to_owned() });
        }
        Ok(value)
    }
}

/// Why a value is refused by a key's rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not one of the allowed values (in any case).
    #[error("{value:?} is not one of {}", allowed.join(", "))]
    NotAllowed {
        /// The value.
        value: String,
        /// The allowed values.
        allowed: Vec<String>,
    },
    /// Does not match the key's pattern.
    #[error("{value:?} does not match {pattern}")]
    NoPatternMatch {
        /// The value.
        value: String,
        /// The pattern.
        pattern: String,
    },
}

impl TagPolicy {
    /// The rule a tag key belongs to: the key itself, an alias, or the same words in another case or
    /// with other separators (`Cost_Center` for `cost-center`).
    pub fn rule_for(&self, key: &str) -> Option<&KeyRule> {
        self.lookup.get(key).or_else(|| self.lookup.get(&normalize_key(key))).map(|&i| &self.keys[i])
    }

    /// The rule for an exact canonical key.
    pub fn rule(&self, key: &str) -> Option<&KeyRule> {
        self.keys.iter().find(|r| r.key == key)
    }

    /// The required keys, in policy order.
    pub fn required_keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter(|r| r.required).map(|r| r.key.as_str())
    }
}

/// Lower case, separators (`-`, `_`, space, `.`) removed: `Cost_Center` and `cost-center` agree.
fn normalize_key(key: &str) -> String {
    key.chars().filter(|c| !matches!(c, '-' | '_' | ' ' | '.')).flat_map(char::to_lowercase).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagPolicyFile {
    #[serde(deserialize_with = "policy_keys")]
    keys: PolicyKeys,
    #[serde(default = "default_creator_tag")]
    creator_tag: Option<String>,
    #[serde(default)]
    machine_sessions: SessionPatterns,
    #[serde(default = "default_sources", deserialize_with = "distinct_sources")]
    sources: Vec<SourceKind>,
    #[serde(default)]
    invalid_values: InvalidValues,
    #[serde(default)]
    drop_aliased_keys: bool,
    #[serde(default, deserialize_with = "topic_arn")]
    notify_topic_arn: Option<String>,
}

fn distinct_sources<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SourceKind>, D::Error> {
    let sources = Vec::<SourceKind>::deserialize(d)?;
    for (i, source) in sources.iter().enumerate() {
        if sources[..i].contains(source) {
            return Err(de::Error::custom(format!("{source} is listed twice")));
        }
    }
    Ok(sources)
}

pub(crate) fn topic_arn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let arn = Option::<String>::deserialize(d)?;
    if let Some(arn) = &arn
        && !(arn.starts_with("arn:") && arn.split(':').nth(2) == Some("sns"))
    {
        return Err(de::Error::custom(format!("notify_topic_arn: {arn:?} is not an SNS topic ARN")));
    }
    Ok(arn)
}

fn default_creator_tag() -> Option<String> {
    Some("created-by".into())
}

fn default_sources() -> Vec<SourceKind> {
    use SourceKind::*;
    vec![Parent, UserProfile, Space, Domain, Principal, Defaults]
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyRuleFile {
    #[serde(default)]
    required: bool,
    #[serde(default)]
    protected: bool,
    #[serde(default)]
    allowed: Vec<String>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    default: Option<String>,
}

impl TryFrom<TagPolicyFile> for TagPolicy {
    type Error = String;

    fn try_from(file: TagPolicyFile) -> Result<Self, String> {
        let PolicyKeys { keys, lookup } = file.keys;
        if let Some(tag) = &file.creator_tag {
            if let Some(problem) = key_problem(tag) {
                return Err(format!("creator_tag: {problem}"));
            }
            if lookup.contains_key(tag) || lookup.contains_key(&normalize_key(tag)) {
                return Err(format!("creator_tag: {tag:?} is also a policy key"));
            }
        }
        Ok(Self {
            keys,
            creator_tag: file.creator_tag,
            machine_sessions: file.machine_sessions,
            sources: file.sources,
            invalid_values: file.invalid_values,
            drop_aliased_keys: file.drop_aliased_keys,
            notify_topic_arn: file.notify_topic_arn,
            lookup,
        })
    }
}

/// The validated `keys` mapping and every spelling that points at each key.
struct PolicyKeys {
    keys: Vec<KeyRule>,
    lookup: HashMap<String, usize>,
}

fn key_rule(key: String, file: KeyRuleFile) -> Result<KeyRule, String> {
    let at = format!("keys.{key}");
    if let Some(problem) = key_problem(&key) {
        return Err(format!("{at}: {problem}"));
    }
    for alias in &file.aliases {
        if let Some(problem) = key_problem(alias) {
            return Err(format!("{at}.aliases: {problem}"));
        }
    }
    for value in &file.allowed {
        if let Some(problem) = value_problem(value) {
            return Err(format!("{at}.allowed: {problem}"));
        }
    }
    let pattern = match &file.pattern {
        Some(p) => {
            Some(Regex::new(p).map_err(|e| format!("{at}.pattern: invalid regex {p:?}: {}", regex_problem(&e)))?)
        }
        None => None,
    };
    let rule = KeyRule {
        key,
        required: file.required,
        protected: file.protected,
        allowed: file.allowed,
        pattern,
        aliases: file.aliases,
        default: None,
    };
    let default = match file.default {
        Some(value) => {
            if let Some(problem) = value_problem(&value) {
                return Err(format!("{at}.default: {problem}"));
            }
            Some(rule.accept(&value).map_err(|e| format!("{at}.default: {e}"))?)
        }
        None => None,
    };
    Ok(KeyRule { default, ..rule })
}

/// The regex crate's reason on one line (its syntax errors draw a caret under the pattern over several lines).
fn regex_problem(err: &regex::Error) -> String {
    let text = err.to_string();
    let last = text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or_default();
    last.trim_start_matches("error: ").to_owned()
}

/// Deserializes the `keys` mapping in file order, validating each rule where it stands (so errors carry
/// the line) and refusing duplicates and spellings that would name two keys.
fn policy_keys<'de, D: Deserializer<'de>>(d: D) -> Result<PolicyKeys, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = PolicyKeys;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of tag keys to their rules")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys: Vec<KeyRule> = Vec::new();
            let mut lookup: HashMap<String, usize> = HashMap::new();
            while let Some(key) = map.next_key::<String>()? {
                let file: Option<KeyRuleFile> = map.next_value()?;
                let rule = key_rule(key, file.unwrap_or_default()).map_err(de::Error::custom)?;
                let index = keys.len();
                let spellings = std::iter::once(&rule.key).chain(&rule.aliases);
                for spelling in spellings.flat_map(|s| [s.clone(), normalize_key(s)]) {
                    if let Some(&other) = lookup.get(&spelling)
                        && other != index
                    {
                        let other = &keys[other].key;
                        return Err(de::Error::custom(format!(
                            "keys.{}: {spelling:?} also names key {other:?}",
                            rule.key
                        )));
                    }
                    lookup.insert(spelling, index);
                }
                keys.push(rule);
            }
            if keys.is_empty() {
                return Err(de::Error::custom("at least one key is needed"));
            }
            let required = keys.iter().filter(|k| k.required).count();
            if required > 40 {
                return Err(de::Error::custom(format!(
                    "{required} required keys leave too little room under the 50-tag limit"
                )));
            }
            Ok(PolicyKeys { keys, lookup })
        }
    }
    d.deserialize_map(Ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Policy, String> {
        Policy::from_yaml(yaml, "test").map_err(|e| e.to_string())
    }

    #[test]
    fn the_shipped_example_policy_is_valid() {
        let policy = Policy::example().unwrap();
        assert!(policy.tags.required_keys().count() >= 3);
    }

    #[test]
    fn keys_keep_file_order_and_defaults_fill_in() {
        let policy = parse("tags:\n  keys:\n    team: {required: true}\n    cost-center:\n    env: {}\n").unwrap();
        let keys: Vec<_> = policy.tags.keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["team", "cost-center", "env"]);
        assert_eq!(policy.tags.creator_tag.as_deref(), Some("created-by"));
        assert_eq!(policy.tags.sources.first(), Some(&SourceKind::Parent));
    }

    #[test]
    fn misspelt_field_is_named_with_its_line() {
        let err = parse("tags:\n  keys:\n    team:\n      requried: true\n").unwrap_err();
        assert!(err.contains("requried"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn default_outside_allowed_values_names_the_key_path() {
        let yaml = "tags:\n  keys:\n    environment:\n      allowed: [dev, prod]\n      default: qa\n";
        let err = parse(yaml).unwrap_err();
        assert!(err.contains("keys.environment.default"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn reserved_keys_bad_patterns_and_colliding_aliases_are_refused() {
        assert!(parse("tags:\n  keys:\n    aws:team: {}\n").unwrap_err().contains("reserved prefix"));
        let err = parse("tags:\n  keys:\n    a: {pattern: '('}\n").unwrap_err();
        assert!(err.contains("keys.a.pattern: invalid regex \"(\": unclosed group"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let err = parse("tags:\n  keys:\n    team: {aliases: [squad]}\n    squad: {}\n").unwrap_err();
        assert!(err.contains("also names key"), "{err}");
        let err = parse("tags:\n  keys:\n    cost-center: {}\n    CostCenter: {}\n").unwrap_err();
        assert!(err.contains("also names key"), "{err}");
        let err = parse("tags:\n  sources: [domain, domain]\n  keys:\n    a: {}\n").unwrap_err();
        assert!(err.contains("listed twice"), "{err}");
        let err = parse("version: 2\ntags:\n  keys:\n    a: {}\n").unwrap_err();
        assert!(err.contains("unsupported policy version 2"), "{err}");
    }

    #[test]
    fn machine_sessions_are_read_in_order_and_default_to_none() {
        let policy = parse("tags:\n  machine_sessions: [deploy-*, jenkins-?]\n  keys:\n    a: {}\n").unwrap();
        assert_eq!(policy.tags.machine_sessions.patterns(), ["deploy-*", "jenkins-?"]);
        assert!(parse("tags:\n  keys:\n    a: {}\n").unwrap().tags.machine_sessions.is_empty());
    }

    #[test]
    fn a_machine_session_pattern_no_session_could_match_is_a_load_error_naming_it() {
        let err = parse("tags:\n  keys:\n    a: {}\n  machine_sessions: ['deploy/*']\n").unwrap_err();
        assert!(err.starts_with("invalid policy test: "), "{err}");
        assert!(err.contains("machine_sessions: \"deploy/*\" has '/'"), "{err}");
        assert!(err.contains("line "), "{err}");
        let err = parse("tags:\n  machine_sessions: [ci-*, ci-*]\n  keys:\n    a: {}\n").unwrap_err();
        assert!(err.contains("machine_sessions: \"ci-*\" is listed twice"), "{err}");
        let err = parse("tags:\n  machine_sessions: ci-*\n  keys:\n    a: {}\n").unwrap_err();
        assert!(err.contains("machine_sessions"), "a list, not a string: {err}");
    }

    #[test]
    fn a_topic_that_is_not_sns_is_refused_naming_notify_topic_arn() {
        let err = parse("tags:\n  notify_topic_arn: arn:aws:sqs:us-east-1:1:q\n  keys:\n    a: {}\n").unwrap_err();
        assert!(err.contains("notify_topic_arn: \"arn:aws:sqs:us-east-1:1:q\" is not an SNS topic ARN"), "{err}");
    }

    #[test]
    fn rule_lookup_accepts_aliases_case_and_separator_variants() {
        let policy = parse("tags:\n  keys:\n    cost-center: {aliases: [cc]}\n    environment: {}\n").unwrap();
        for spelling in ["cost-center", "CostCenter", "COST_CENTER", "Cost Center", "cc"] {
            assert_eq!(policy.tags.rule_for(spelling).map(|r| r.key.as_str()), Some("cost-center"));
        }
        assert_eq!(policy.tags.rule_for("Environment").map(|r| r.key.as_str()), Some("environment"));
        assert!(policy.tags.rule_for("owner").is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_policy_or_an_error_never_a_panic(text in "(tags:|keys:|  |\\n|required: true|allowed: \\[a\\]|[a-z:{}\\[\\], -]){0,40}") {
            if let Err(err) = Policy::from_yaml(&text, "fuzz") {
                proptest::prop_assert!(err.to_string().starts_with("invalid policy fuzz: "), "{err}");
            }
        }
    }

    #[test]
    fn allowed_values_match_case_insensitively_to_the_canonical_spelling() {
        let policy = parse("tags:\n  keys:\n    environment: {allowed: [dev, staging, production]}\n").unwrap();
        let rule = policy.tags.rule("environment").unwrap();
        assert_eq!(rule.accept("DEV"), Ok("dev".into()));
        assert!(rule.accept("prod").is_err());
    }
}
