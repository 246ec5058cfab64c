//! The Organizations tag policy: canonical key spelling, allowed values, enforcement.

use tagwarden::policy::Policy;

use super::json::{Node, minified, pretty};
use super::{GuardrailError, TAG_POLICY_ENFORCED_FOR, TAG_POLICY_FILE, TAG_POLICY_LIMIT};

/// The Organizations tag policy, pretty when it fits, else minified.
///
/// Every policy key gets `tag_key` (its capitalisation is then reported, and enforced where enforced);
/// `tag_value` lists `allowed` values; `enforced_for` is set for required keys and keys with allowed values,
/// the keys the IAM policy guards too. Optional free-form keys are report-only: refusing a creation over the
/// spelling of a key nobody must set would be stricter than the policy, and the auto-tagger fixes it.
pub(super) fn tag_policy(policy: &Policy) -> Result<String, GuardrailError> {
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
