//! Per-account and per-OU overrides of the tag policy (organization scale, see [`crate::org`]).
//!
//! ```yaml
//! overrides:
//!   - name: research                 # optional, shown in errors
//!     ous: [ou-ab12-research]        # any of the account's OUs (nearest or ancestor) matches
//!     accounts: ["111122223333"]     # or the account itself; at least one of the two lists
//!     tags:
//!       keys:                        # each rule replaces the base rule of the same key (whole rule),
//!         project: {required: true}  # or is added after the base keys
//!       notify_topic_arn: arn:aws:sns:...   # optional: replaces the base topic
//! ```
//!
//! Every override that matches applies, in file order (a later one wins over an earlier one for the
//! same key). Validated at load: key rules as in `tags.keys`, account and OU ids, and the base merged
//! with each override alone and with all of them together (no spelling may name two keys, at most 40
//! required keys).

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::{KeyRule, PolicyKeys, TagPolicy, normalize_key, policy_keys, topic_arn};
use crate::ids::{is_account_id, is_ou_id};

/// A validated override: which accounts it applies to and what it changes.
#[derive(Debug, Clone)]
pub struct TagOverride {
    /// Its name (or `overrides[i]`), for messages.
    pub name: String,
    /// Accounts it applies to.
    pub accounts: Vec<String>,
    /// Organizational units it applies to (an account in any of them, at any depth).
    pub ous: Vec<String>,
    /// Key rules replacing or extending the base's.
    pub keys: Vec<KeyRule>,
    /// A notification topic replacing the base's.
    pub notify_topic_arn: Option<String>,
}

impl TagOverride {
    /// Whether the override applies to `account`, whose OUs (nearest first, ancestors included) are `ous`.
    pub fn applies_to(&self, account: &str, ous: &[String]) -> bool {
        self.accounts.iter().any(|a| a == account) || self.ous.iter().any(|o| ous.contains(o))
    }
}

/// `base` with `overrides` applied in order: each key rule replaces the base rule with the same key
/// (compared as the policy compares spellings) or is appended; a topic replaces the base topic.
pub fn merge<'a>(base: &TagPolicy, overrides: impl IntoIterator<Item = &'a TagOverride>) -> Result<TagPolicy, String> {
    let mut merged = base.clone();
    for o in overrides {
        for rule in &o.keys {
            let same = |k: &KeyRule| k.key == rule.key || normalize_key(&k.key) == normalize_key(&rule.key);
            match merged.keys.iter().position(same) {
                Some(i) => merged.keys[i] = rule.clone(),
                None => merged.keys.push(rule.clone()),
            }
        }
        if o.notify_topic_arn.is_some() {
            merged.notify_topic_arn = o.notify_topic_arn.clone();
        }
    }
    merged.lookup = index(&merged.keys)?;
    if let Some(tag) = &merged.creator_tag
        && (merged.lookup.contains_key(tag) || merged.lookup.contains_key(&normalize_key(tag)))
    {
        return Err(format!("creator_tag {tag:?} is also a policy key"));
    }
    let required = merged.keys.iter().filter(|k| k.required).count();
    if required > 40 {
        return Err(format!("{required} required keys leave too little room under the 50-tag limit"));
    }
    Ok(merged)
}

/// Every spelling (key, aliases, normalised forms) to its key's index; refuses a spelling naming two keys.
fn index(keys: &[KeyRule]) -> Result<HashMap<String, usize>, String> {
    let mut lookup: HashMap<String, usize> = HashMap::new();
    for (i, rule) in keys.iter().enumerate() {
        let spellings = std::iter::once(&rule.key).chain(&rule.aliases);
        for spelling in spellings.flat_map(|s: &String| [s.clone(), normalize_key(s)]) {
            if let Some(&other) = lookup.get(&spelling)
                && other != i
            {
                return Err(format!("keys.{}: {spelling:?} also names key {:?}", rule.key, keys[other].key));
            }
            lookup.insert(spelling, i);
        }
    }
    Ok(lookup)
}

/// The tag policy for `account` (OUs nearest first): the base when no override applies, else merged.
///
/// Merging cannot fail for a policy validated by [`validate`] except for a combination of overrides it
/// did not try; such a combination falls back to the base policy with the error returned alongside.
pub fn resolve<'a>(
    base: &'a TagPolicy,
    overrides: &[TagOverride],
    account: &str,
    ous: &[String],
) -> (Cow<'a, TagPolicy>, Option<String>) {
    let matching: Vec<&TagOverride> = overrides.iter().filter(|o| o.applies_to(account, ous)).collect();
    if matching.is_empty() {
        return (Cow::Borrowed(base), None);
    }
    match merge(base, matching.iter().copied()) {
        Ok(merged) => (Cow::Owned(merged), None),
        Err(problem) => {
            let names: Vec<&str> = matching.iter().map(|o| o.name.as_str()).collect();
            (Cow::Borrowed(base), Some(format!("overrides {names:?} conflict: {problem}")))
        }
    }
}

/// Checks the overrides against the base at load: each alone, then all together.
pub fn validate(base: &TagPolicy, overrides: &[TagOverride]) -> Result<(), String> {
    for o in overrides {
        merge(base, [o]).map_err(|e| format!("{}: {e}", o.name))?;
    }
    if overrides.len() > 1 {
        merge(base, overrides).map_err(|e| format!("overrides together: {e}"))?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    accounts: Vec<AccountId>,
    #[serde(default)]
    ous: Vec<String>,
    tags: OverrideTagsFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideTagsFile {
    #[serde(default, deserialize_with = "some_policy_keys")]
    keys: Option<PolicyKeys>,
    #[serde(default, deserialize_with = "topic_arn")]
    notify_topic_arn: Option<String>,
}

fn some_policy_keys<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PolicyKeys>, D::Error> {
    policy_keys(d).map(Some)
}

/// An account id written as a string or a number in YAML.
struct AccountId(String);

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u64),
        }
        let id = match Raw::deserialize(d)? {
            Raw::Text(s) => s,
            Raw::Number(n) => format!("{n:012}"),
        };
        if !is_account_id(&id) {
            return Err(de::Error::custom(format!("{id:?} is not a 12-digit account id")));
        }
        Ok(Self(id))
    }
}

/// Deserializes the `overrides` list, validating each entry where it stands.
pub(super) fn overrides<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TagOverride>, D::Error> {
    let files = Vec::<OverrideFile>::deserialize(d)?;
    let mut out = Vec::with_capacity(files.len());
    for (i, file) in files.into_iter().enumerate() {
        let name = file.name.unwrap_or_else(|| format!("overrides[{i}]"));
        if file.accounts.is_empty() && file.ous.is_empty() {
            return Err(de::Error::custom(format!("{name}: needs `accounts` or `ous`")));
        }
        if let Some(ou) = file.ous.iter().find(|o| !is_ou_id(o)) {
            return Err(de::Error::custom(format!("{name}.ous: {ou:?} is not an OU id (ou-...)")));
        }
        out.push(TagOverride {
            name,
            accounts: file.accounts.into_iter().map(|a| a.0).collect(),
            ous: file.ous,
            keys: file.tags.keys.map(|k| k.keys).unwrap_or_default(),
            notify_topic_arn: file.tags.notify_topic_arn,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    const BASE: &str = r#"
tags:
  keys:
    cost-center: {required: true, aliases: [cc]}
    project: {}
overrides:
  - name: research
    ous: [ou-root-research]
    tags:
      keys:
        project: {required: true}
        grant: {required: true, pattern: "^G-[0-9]+$"}
  - name: production
    ous: [ou-root-production]
    tags:
      keys:
        cost-center: {required: true, allowed: [CC-100, CC-200]}
      notify_topic_arn: arn:aws:sns:us-east-1:123456789012:prod-tags
  - name: sandbox-account
    accounts: ["333333333333"]
    tags:
      keys:
        project: {default: sandbox}
"#;

    fn ous(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_account_outside_every_override_gets_the_base_policy_unchanged() {
        let policy = Policy::from_yaml(BASE, "test").unwrap();
        let tags = policy.tags_for("999999999999", &[]);
        assert!(matches!(tags, std::borrow::Cow::Borrowed(_)));
        assert_eq!(tags.required_keys().collect::<Vec<_>>(), ["cost-center"]);
    }

    #[test]
    fn an_ou_override_replaces_rules_of_its_keys_and_adds_new_keys() {
        let policy = Policy::from_yaml(BASE, "test").unwrap();
        let research = policy.tags_for("111111111111", &ous(&["ou-root-research"]));
        assert_eq!(research.required_keys().collect::<Vec<_>>(), ["cost-center", "project", "grant"]);
        assert_eq!(research.rule_for("cc").unwrap().key, "cost-center", "base aliases stay");
        assert!(research.rule("grant").unwrap().accept("G-7").is_ok());
        let production = policy.tags_for("222222222222", &ous(&["ou-root-production"]));
        assert!(production.rule("cost-center").unwrap().accept("CC-999").is_err());
        assert!(production.rule_for("cc").is_none(), "a replaced rule is replaced whole, aliases included");
        assert_eq!(production.notify_topic_arn.as_deref(), Some("arn:aws:sns:us-east-1:123456789012:prod-tags"));
        assert!(production.rule("grant").is_none());
    }

    #[test]
    fn ancestor_ous_match_and_every_matching_override_applies_in_file_order() {
        let policy = Policy::from_yaml(BASE, "test").unwrap();
        let nested = policy.tags_for("333333333333", &ous(&["ou-root-team7", "ou-root-research"]));
        let project = nested.rule("project").unwrap();
        assert_eq!(project.default.as_deref(), Some("sandbox"), "the later (account) override wins");
        assert!(!project.required);
        assert!(nested.rule("grant").unwrap().required, "the research override applies too");
    }

    #[test]
    fn invalid_overrides_are_refused_at_load_with_their_path() {
        let cases = [
            ("  - ous: [research]\n    tags: {}\n", "research"),
            ("  - accounts: ['12']\n    tags: {}\n", "12-digit"),
            ("  - tags: {keys: {x: {}}}\n", "needs `accounts` or `ous`"),
            ("  - name: bad\n    accounts: ['111111111111']\n    tags: {keys: {owner: {aliases: [project]}}}\n", "bad"),
            ("  - accounts: ['111111111111']\n    tags: {keys: {x: {pattern: '('}}}\n", "keys.x.pattern"),
            ("  - accounts: ['111111111111']\n    tags: {keys: {created-by: {}}}\n", "creator_tag"),
        ];
        for (entry, expected) in cases {
            let yaml = format!("tags:\n  keys:\n    project: {{}}\noverrides:\n{entry}");
            let err = Policy::from_yaml(&yaml, "p.yaml").unwrap_err().to_string();
            assert!(err.contains(expected) && err.contains("p.yaml"), "{entry}: {err}");
        }
    }

    #[test]
    fn account_ids_may_be_written_as_numbers() {
        let yaml = "tags:\n  keys:\n    a: {}\noverrides:\n  - accounts: [111111111111]\n    tags: {keys: {b: {}}}\n";
        let policy = Policy::from_yaml(yaml, "t").unwrap();
        assert!(policy.tags_for("111111111111", &[]).rule("b").is_some());
    }
}
