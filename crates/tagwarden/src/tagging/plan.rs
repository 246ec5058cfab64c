//! The pure tagging decision: given the tags a resource carries, the tags of its sources and the policy,
//! which tags to add (and which misspelt keys to drop). No I/O here.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::rules::{MAX_TAGS, is_system_key, sanitize_value, truncate, value_problem};
use crate::policy::{InvalidValues, KeyRule, SourceKind, TagPolicy};

/// Tags as key -> value, sorted by key.
pub type Tags = BTreeMap<String, String>;

/// The tags of one source, e.g. a user profile's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLayer {
    /// Which source.
    pub kind: SourceKind,
    /// Where its tags were read, e.g. the profile's ARN.
    pub origin: String,
    /// The tags.
    pub tags: Tags,
}

/// Everything the plan may take values from besides the resource itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagSources {
    /// Source layers, in any order: the policy's `sources` list decides precedence.
    pub layers: Vec<SourceLayer>,
    /// The creator's name for the creator tag; `None` leaves the creator tag alone.
    pub creator: Option<String>,
    /// The tags the caller passed in the create request (empty when there was none, e.g. the sweep): a
    /// protected key's value found among them is removed when no source has one.
    pub requested: Tags,
}

impl TagSources {
    fn layer(&self, kind: SourceKind) -> Option<&SourceLayer> {
        self.layers.iter().find(|l| l.kind == kind)
    }
}

/// What to write on one resource, and what is still wrong with it afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TagPlan {
    /// Tags to add or overwrite (only the difference to what the resource carries).
    pub add: Tags,
    /// Misspelt keys to delete, when the policy says `drop_aliased_keys`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Where each added value came from (`caller`, `user-profile`, `principal`, `defaults`, `creator`…).
    pub origins: BTreeMap<String, String>,
    /// Required keys that will still have no valid value.
    pub missing_required: Vec<String>,
    /// Values rejected, tags dropped for the 50-tag limit, and other things a person should know.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl TagPlan {
    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    /// Only `keys`, and only where the resource (`existing`) does not already carry the planned value;
    /// deletes nothing. A restore plans without the changed keys, then keeps this part.
    pub fn restricted_to(mut self, keys: &std::collections::BTreeSet<String>, existing: &Tags) -> Self {
        self.add.retain(|key, value| keys.contains(key) && existing.get(key) != Some(value));
        self.origins.retain(|key, _| self.add.contains_key(key));
        self.missing_required.retain(|key| keys.contains(key));
        self.remove.clear();
        self
    }
}

/// Decides the tags a resource should carry. Pure and deterministic.
pub fn plan_tags(existing: &Tags, sources: &TagSources, policy: &TagPolicy) -> TagPlan {
    let mut plan = TagPlan::default();
    let caller = caller_values(existing, policy);

    for rule in &policy.keys {
        let from_caller = caller.get(rule.key.as_str());
        let mut candidates: Vec<(String, &str)> = Vec::new();
        if let (false, Some((_, value))) = (rule.protected, from_caller) {
            candidates.push(("caller".into(), value));
        }
        for kind in &policy.sources {
            let value = match kind {
                SourceKind::Defaults => rule.default.as_deref(),
                _ => sources.layer(*kind).and_then(|l| value_in(&l.tags, rule, policy)),
            };
            if let Some(value) = value {
                candidates.push((kind.to_string(), value));
            }
        }

        let chosen = candidates.into_iter().find_map(|(origin, value)| {
            accept(rule, policy.invalid_values, &origin, value, &mut plan.warnings).map(|v| (origin, v))
        });
        match chosen {
            Some((origin, value)) => {
                if existing.get(&rule.key) != Some(&value) {
                    plan.add.insert(rule.key.clone(), value);
                    plan.origins.insert(rule.key.clone(), origin);
                }
                if let Some((spelling, _)) = from_caller
                    && *spelling != rule.key
                    && policy.drop_aliased_keys
                {
                    plan.remove.push((*spelling).to_owned());
                }
            }
            None => {
                if let (true, Some((spelling, value))) = (rule.protected, from_caller) {
                    // NOTE: a protected key never takes the caller's value; with no source it is missing.
                    // The request's own value is removed; a value of unknown origin (the sweep) is left.
                    let requested = sources.requested.get(*spelling).is_some_and(|v| v == value);
                    if requested {
                        plan.remove.push((*spelling).to_owned());
                    }
                    let done = if requested { "removed" } else { "not used" };
                    plan.warnings.push(format!(
                        "{}: the caller's value {:?} (as {spelling}) {done}: the key is protected and no source \
                         has a value",
                        rule.key,
                        truncate(value, 60)
                    ));
                }
                if rule.required {
                    plan.missing_required.push(rule.key.clone());
                }
            }
        }
    }

    if let (Some(tag), Some(creator)) = (&policy.creator_tag, &sources.creator) {
        // NOTE: work started by a parent is attributed to whoever created the parent.
        let inherited = sources.layer(SourceKind::Parent).and_then(|l| l.tags.get(tag));
        let (origin, value) = match inherited {
            Some(value) => ("parent", sanitize_value(value)),
            None => ("creator", sanitize_value(creator)),
        };
        if !value.is_empty() && existing.get(tag) != Some(&value) {
            plan.add.insert(tag.clone(), value);
            plan.origins.insert(tag.clone(), origin.into());
        }
    }

    plan.add.retain(|key, _| !is_system_key(key));
    enforce_tag_limit(existing, policy, &mut plan);
    plan
}

/// The caller's value for each policy key, by canonical key: the exact key wins over a misspelling.
fn caller_values<'a>(existing: &'a Tags, policy: &'a TagPolicy) -> HashMap<&'a str, (&'a str, &'a str)> {
    let mut found: HashMap<&str, (&str, &str)> = HashMap::new();
    for (key, value) in existing {
        if let Some(rule) = policy.rule_for(key) {
            let exact = key == &rule.key;
            let entry = found.entry(rule.key.as_str()).or_insert((key, value));
            if exact {
                *entry = (key, value);
            }
        }
    }
    found
}

/// A source's value for a policy key, under its canonical key or any spelling of it.
fn value_in<'a>(tags: &'a Tags, rule: &KeyRule, policy: &TagPolicy) -> Option<&'a str> {
    if let Some(value) = tags.get(&rule.key) {
        return Some(value);
    }
    tags.iter()
        .find(|(key, _)| policy.rule_for(key).is_some_and(|r| r.key == rule.key))
        .map(|(_, value)| value.as_str())
}

fn accept(
    rule: &KeyRule,
    invalid: InvalidValues,
    origin: &str,
    value: &str,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let key = &rule.key;
    let value = match (value_problem(value), invalid) {
        (None, _) => value.to_owned(),
        (Some(problem), InvalidValues::Sanitize) => {
            let clean = sanitize_value(value);
            warnings.push(format!("{key}: value from {origin} sanitized ({problem})"));
            clean
        }
        (Some(problem), InvalidValues::Skip) => {
            warnings.push(format!("{key}: value from {origin} skipped ({problem})"));
            return None;
        }
    };
    match rule.accept(&value) {
        Ok(canonical) => Some(canonical),
        Err(why) => {
            warnings.push(format!("{key}: value from {origin} rejected: {}", truncate(&why, 120)));
            None
        }
    }
}

/// Drops new keys that would take the resource past 50 tags: other keys first, then the creator tag,
/// then required keys, each group in reverse policy order.
fn enforce_tag_limit(existing: &Tags, policy: &TagPolicy, plan: &mut TagPlan) {
    let new_keys = plan.add.keys().filter(|k| !existing.contains_key(*k)).count();
    let mut excess = (existing.len() + new_keys).saturating_sub(MAX_TAGS);
    if excess == 0 {
        return;
    }
    let rank = |key: &str| -> (u8, usize) {
        match policy.keys.iter().position(|r| r.key == key) {
            Some(i) if policy.keys[i].required => (0, i),
            Some(i) => (2, i),
            None => (1, 0),
        }
    };
    let mut droppable: Vec<String> = plan.add.keys().filter(|k| !existing.contains_key(*k)).cloned().collect();
    droppable.sort_by_key(|k| std::cmp::Reverse(rank(k)));
    for key in droppable {
        if excess == 0 {
            break;
        }
        plan.add.remove(&key);
        plan.origins.remove(&key);
        if policy.rule(&key).is_some_and(|r| r.required) {
            plan.missing_required.push(key.clone());
        }
        plan.warnings.push(format!("{key}: not written, the resource would exceed {MAX_TAGS} tags"));
        excess -= 1;
    }
}

/// The tuning job that launched a training job named `<tuning-job>-<NNN>-<8 hex>`.
pub(crate) fn tuning_job_name(training_job: &str) -> Option<&str> {
    let (rest, suffix) = training_job.rsplit_once('-')?;
    let (parent, index) = rest.rsplit_once('-')?;
    let hex = suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit());
    let number = index.len() == 3 && index.chars().all(|c| c.is_ascii_digit());
    (hex && number && !parent.is_empty()).then_some(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_job_children_are_recognised_by_their_name() {
        assert_eq!(tuning_job_name("fraud-hpo-1127-001-5e2a7c1b"), Some("fraud-hpo-1127"));
        assert_eq!(tuning_job_name("churn-xgb-2026-11-27"), None);
        assert_eq!(tuning_job_name("x-01-5e2a7c1b"), None);
        assert_eq!(tuning_job_name("-001-5e2a7c1b"), None);
    }
    use crate::policy::Policy;

    fn policy(yaml: &str) -> TagPolicy {
        Policy::from_yaml(yaml, "test").unwrap().tags
    }

    fn example() -> TagPolicy {
        Policy::example().unwrap().tags
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn layer(kind: SourceKind, pairs: &[(&str, &str)]) -> SourceLayer {
        SourceLayer { kind, origin: kind.to_string(), tags: tags(pairs) }
    }

    fn sources(layers: Vec<SourceLayer>, creator: Option<&str>) -> TagSources {
        TagSources { layers, creator: creator.map(Into::into), ..TagSources::default() }
    }

    #[test]
    fn profile_tags_fill_missing_keys_and_the_creator_is_recorded() {
        let s = sources(
            vec![
                layer(SourceKind::UserProfile, &[("cost-center", "CC-2100"), ("team", "marketing")]),
                layer(SourceKind::Domain, &[("cost-center", "CC-1000"), ("team", "platform")]),
            ],
            Some("alice"),
        );
        let plan = plan_tags(&tags(&[("project", "churn")]), &s, &example());
        assert_eq!(
            plan.add,
            tags(&[("cost-center", "CC-2100"), ("team", "marketing"), ("environment", "dev"), ("created-by", "alice")])
        );
        assert_eq!(plan.origins["cost-center"], "user-profile");
        assert_eq!(plan.origins["environment"], "defaults");
        assert!(plan.missing_required.is_empty());
    }

    #[test]
    fn when_caller_sets_a_protected_key_the_source_value_wins() {
        let s = sources(vec![layer(SourceKind::Principal, &[("cost-center", "CC-4000")])], None);
        let plan = plan_tags(&tags(&[("cost-center", "CC-9999")]), &s, &example());
        assert_eq!(plan.add.get("cost-center").map(String::as_str), Some("CC-4000"));
        assert_eq!(plan.origins["cost-center"], "principal");
    }

    #[test]
    fn protected_key_never_takes_the_callers_value_and_stays_missing_when_no_source_has_one() {
        let plan = plan_tags(&tags(&[("cost-center", "CC-9999")]), &TagSources::default(), &example());
        assert!(!plan.add.contains_key("cost-center"));
        assert!(plan.missing_required.contains(&"cost-center".to_string()));
        assert!(plan.warnings.iter().any(|w| w.starts_with("cost-center:") && w.contains("CC-9999")), "{plan:?}");
    }

    #[test]
    fn protected_key_from_the_create_request_with_no_source_is_removed() {
        let s = TagSources { requested: tags(&[("cost-center", "CC-9999")]), ..TagSources::default() };
        let plan = plan_tags(&tags(&[("cost-center", "CC-9999")]), &s, &example());
        assert_eq!(plan.remove, ["cost-center"]);
        assert!(plan.missing_required.contains(&"cost-center".to_string()));
        assert!(plan.warnings.iter().any(|w| w.starts_with("cost-center:") && w.contains("removed")), "{plan:?}");
    }

    #[test]
    fn protected_key_from_the_create_request_is_replaced_by_a_source_value_not_removed() {
        let s = TagSources {
            layers: vec![layer(SourceKind::Principal, &[("cost-center", "CC-4000")])],
            requested: tags(&[("cost-center", "CC-9999")]),
            ..TagSources::default()
        };
        let plan = plan_tags(&tags(&[("cost-center", "CC-9999")]), &s, &example());
        assert_eq!(plan.add.get("cost-center").map(String::as_str), Some("CC-4000"));
        assert!(plan.remove.is_empty());
    }

    #[test]
    fn protected_key_under_a_misspelt_key_is_not_taken_from_the_caller_either() {
        let plan = plan_tags(&tags(&[("costcentre", "CC-9999")]), &TagSources::default(), &example());
        assert!(!plan.add.contains_key("cost-center"), "{plan:?}");
        assert!(plan.missing_required.contains(&"cost-center".to_string()));
    }

    #[test]
    fn protected_key_with_no_source_and_no_caller_value_is_missing_without_a_warning() {
        let plan = plan_tags(&Tags::new(), &TagSources::default(), &example());
        assert!(plan.missing_required.contains(&"cost-center".to_string()));
        assert!(!plan.warnings.iter().any(|w| w.starts_with("cost-center:")), "{plan:?}");
    }

    #[test]
    fn restricted_plan_keeps_only_the_named_keys_that_differ_and_deletes_nothing() {
        let s = sources(vec![layer(SourceKind::Domain, &[("cost-center", "CC-1000"), ("team", "platform")])], None);
        let existing = tags(&[("cost-center", "CC-6666"), ("Environment", "dev")]);
        let mut without = existing.clone();
        without.remove("cost-center");
        let keys = std::collections::BTreeSet::from(["cost-center".to_owned()]);
        let plan = plan_tags(&without, &s, &example()).restricted_to(&keys, &existing);
        assert_eq!(plan.add, tags(&[("cost-center", "CC-1000")]), "team is missing too, but was not touched");
        assert_eq!(plan.origins.keys().collect::<Vec<_>>(), ["cost-center"]);
        assert!(plan.remove.is_empty());
        let right = tags(&[("cost-center", "CC-1000")]);
        assert!(plan_tags(&tags(&[]), &s, &example()).restricted_to(&keys, &right).add.is_empty());
    }

    #[test]
    fn when_caller_sets_an_unprotected_key_the_callers_value_wins() {
        let s = sources(vec![layer(SourceKind::UserProfile, &[("team", "marketing")])], None);
        let plan = plan_tags(&tags(&[("team", "growth")]), &s, &example());
        assert!(!plan.add.contains_key("team"));
    }

    #[test]
    fn misspelt_key_and_wrong_case_value_are_fixed_under_the_canonical_key() {
        let plan = plan_tags(&tags(&[("Environment", "DEV")]), &TagSources::default(), &example());
        assert_eq!(plan.add.get("environment").map(String::as_str), Some("dev"));
        assert_eq!(plan.origins["environment"], "caller");
        assert!(plan.remove.is_empty(), "drop_aliased_keys is off in the example");
    }

    #[test]
    fn misspelt_key_is_removed_when_the_policy_drops_aliases() {
        let p = policy("tags:\n  drop_aliased_keys: true\n  keys:\n    environment: {allowed: [dev]}\n");
        let plan = plan_tags(&tags(&[("ENV-IRONMENT", "Dev")]), &TagSources::default(), &p);
        assert_eq!(plan.add, tags(&[("environment", "dev")]));
        assert_eq!(plan.remove, vec!["ENV-IRONMENT".to_string()]);
    }

    #[test]
    fn disallowed_source_value_is_skipped_for_the_next_source_with_a_warning() {
        let s = sources(
            vec![
                layer(SourceKind::UserProfile, &[("environment", "qa")]),
                layer(SourceKind::Domain, &[("environment", "Production")]),
            ],
            None,
        );
        let plan = plan_tags(&Tags::new(), &s, &example());
        assert_eq!(plan.add.get("environment").map(String::as_str), Some("production"));
        assert!(plan.warnings.iter().any(|w| w.contains("environment") && w.contains("user-profile")));
    }

    #[test]
    fn value_not_matching_the_pattern_leaves_the_key_missing() {
        let s = sources(vec![layer(SourceKind::Principal, &[("cost-center", "marketing")])], None);
        let plan = plan_tags(&Tags::new(), &s, &example());
        assert!(plan.missing_required.contains(&"cost-center".to_string()));
        assert!(plan.warnings.iter().any(|w| w.contains("does not match")));
    }

    #[test]
    fn illegal_characters_are_sanitized_or_skipped_as_the_policy_says() {
        let s = sources(vec![layer(SourceKind::Principal, &[("team", "a,b")])], Some("x;y"));
        let plan = plan_tags(&Tags::new(), &s, &example());
        assert_eq!(plan.add.get("team").map(String::as_str), Some("a-b"));
        assert_eq!(plan.add.get("created-by").map(String::as_str), Some("x-y"));
        let skip = policy("tags:\n  invalid_values: skip\n  keys:\n    team: {required: true}\n");
        let plan = plan_tags(&Tags::new(), &s, &skip);
        assert_eq!(plan.missing_required, vec!["team".to_string()]);
    }

    #[test]
    fn nothing_changes_when_the_resource_already_complies() {
        let existing =
            tags(&[("cost-center", "CC-2100"), ("team", "m"), ("environment", "dev"), ("created-by", "alice")]);
        let s = sources(vec![layer(SourceKind::UserProfile, &[("cost-center", "CC-2100")])], Some("alice"));
        let plan = plan_tags(&existing, &s, &example());
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn parent_tags_and_parent_creator_are_inherited() {
        let s = sources(
            vec![layer(SourceKind::Parent, &[("cost-center", "CC-3300"), ("team", "fraud"), ("created-by", "bob")])],
            Some("sagemaker.amazonaws.com"),
        );
        let plan = plan_tags(&Tags::new(), &s, &example());
        assert_eq!(plan.add.get("created-by").map(String::as_str), Some("bob"));
        assert_eq!(plan.origins["cost-center"], "parent");
    }

    #[test]
    fn system_keys_are_never_written_even_if_a_source_carries_them() {
        let s = sources(vec![layer(SourceKind::Parent, &[("sagemaker:domain-arn", "x"), ("aws:foo", "y")])], None);
        let plan = plan_tags(&Tags::new(), &s, &example());
        assert!(plan.add.keys().all(|k| !is_system_key(k)));
    }

    #[test]
    fn at_the_50_tag_limit_optional_keys_go_first_and_required_keys_last() {
        let mut existing: Tags = (0..47).map(|i| (format!("k{i}"), "v".to_string())).collect();
        existing.insert("sagemaker:domain-arn".into(), "arn".into());
        let s = sources(
            vec![layer(SourceKind::UserProfile, &[("cost-center", "CC-1000"), ("team", "t"), ("project", "p")])],
            Some("alice"),
        );
        let plan = plan_tags(&existing, &s, &example());
        // 48 existing + 2 new fit: cost-center and team (required, first in policy order).
        assert_eq!(plan.add.keys().collect::<Vec<_>>(), ["cost-center", "team"]);
        assert!(plan.missing_required.contains(&"environment".to_string()));
        assert_eq!(plan.warnings.iter().filter(|w| w.contains("exceed 50")).count(), 3);
    }
}
