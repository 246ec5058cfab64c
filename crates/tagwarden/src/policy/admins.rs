//! The policy's `admins:`: the IAM principals who may change the policy's keys on the tag sources (Studio
//! domains, user profiles, spaces; IAM users and roles).
//!
//! In: a YAML list of IAM role or user ARNs, exact or with `*`/`?` wildcards as IAM's `ArnLike` reads them.
//! Out: [`Admins`], checked at load. The guardrails exempt them from the statements that protect the sources,
//! and the auto-tagger accepts a change they make to a source's protected key as its new last value instead of
//! reverting it.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// The principals the policy names as administrators of the tag sources, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Admins(Vec<String>);

impl Admins {
    /// The ARNs (and ARN patterns) as the policy lists them.
    pub fn arns(&self) -> &[String] {
        &self.0
    }

    /// Whether the policy names no admin (then nobody's change to a source is accepted).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a principal is an admin: `arn` is the IAM role ARN of a session (its issuer) or an IAM user's
    /// ARN, matched against each entry as IAM's `ArnLike` does (`*` and `?` within the whole ARN).
    pub fn contains(&self, arn: &str) -> bool {
        self.0.iter().any(|pattern| wildmatch::WildMatch::new(pattern).matches(arn))
    }

    /// Checks each entry; the problem names the first bad one.
    pub fn new(arns: Vec<String>) -> Result<Self, String> {
        if let Some(problem) = arns.iter().find_map(|arn| admin_problem(arn)) {
            return Err(problem);
        }
        Ok(Self(arns))
    }
}

/// Why `arn` cannot name an admin, if it cannot: it must be `arn:<partition>:iam::<account or *>:role/…` or
/// `…:user/…`, with a name; `*` alone or a whole account would make everyone an admin.
fn admin_problem(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let bad = |why: &str| {
        Some(format!(
            "admins: {arn:?} {why}; write an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admin"
        ))
    };
    let [head, partition, service, region, account, resource] = parts.as_slice() else {
        return bad("is not an ARN");
    };
    if *head != "arn" || partition.is_empty() || partition.contains(['*', '?']) {
        return bad("is not an ARN");
    }
    if *service != "iam" || !region.is_empty() {
        return bad("is not an IAM ARN (an STS session ARN changes with every session: name its role)");
    }
    if *account != "*" && !crate::ids::is_account_id(account) {
        return bad("names no account (12 digits, or * for every account)");
    }
    let name = resource.strip_prefix("role/").or_else(|| resource.strip_prefix("user/"));
    match name {
        None => bad("names neither a role/ nor a user/"),
        Some(name) if name.trim_matches(['*', '?', '/']).is_empty() => bad("matches every role or user of the account"),
        Some(_) => None,
    }
}

/// Reads `admins:` (absent: none) and checks every entry.
pub(super) fn admins<'de, D: Deserializer<'de>>(d: D) -> Result<Admins, D::Error> {
    let arns = Vec::<String>::deserialize(d)?;
    Admins::new(arns).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_arns_and_named_patterns_are_admins_and_match_as_arn_like_does() {
        let admins = Admins::new(vec![
            "arn:aws:iam::123456789012:role/platform-admin".into(),
            "arn:aws:iam::*:user/finops-*".into(),
        ])
        .unwrap();
        assert!(admins.contains("arn:aws:iam::123456789012:role/platform-admin"));
        assert!(!admins.contains("arn:aws:iam::123456789012:role/platform-admin-2"), "exact means exact");
        assert!(admins.contains("arn:aws:iam::210987654321:user/finops-ann"));
        assert!(!admins.contains("arn:aws:iam::123456789012:role/finops-ann"));
        assert!(!Admins::default().contains("arn:aws:iam::123456789012:role/platform-admin"));
    }

    #[test]
    fn sessions_whole_accounts_and_non_iam_arns_are_refused_with_the_entry_named() {
        for bad in [
            "*",
            "platform-admin",
            "arn:aws:sts::123456789012:assumed-role/platform-admin/ann",
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::123456789012:*",
            "arn:aws:iam::12345:role/admin",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:s3:::bucket",
        ] {
            let err = Admins::new(vec![bad.into()]).unwrap_err();
            assert!(err.starts_with("admins: ") && err.contains(bad), "{bad}: {err}");
        }
    }
}
