//! `idle:`: rules that stop spend before a budget has to, each validated at load like the rest.
//!
//! - [`studio`]: the idle shutdown (`IdleSettings` of `AppLifecycleManagement`) that Studio domains, user
//!   profiles and spaces in scope must have; audited, set by the sweep and by the auto-tagger on creation.
//! - [`endpoints`]: endpoints without `Invocations` for a window: notified, then after a grace scaled to
//!   their minimum or deleted.
//! - [`off_hours`]: notebook instances and Studio apps stopped at an hour of their time zone on chosen
//!   weekdays, notebooks optionally started again in the morning.

use serde::Deserialize;

pub mod endpoints;
pub mod off_hours;
pub mod studio;

/// The policy's `idle:` section; empty when absent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdlePolicy {
    /// `idle.studio`: required idle shutdown settings per scope.
    #[serde(default)]
    pub studio: Vec<studio::StudioIdleRule>,
    /// `idle.endpoints`: endpoints without invocations.
    #[serde(default)]
    pub endpoints: Vec<endpoints::EndpointIdleRule>,
    /// `idle.off_hours`: notebooks and Studio apps stopped out of hours.
    #[serde(default)]
    pub off_hours: Vec<off_hours::OffHoursRule>,
}

impl IdlePolicy {
    /// Whether the section sets no rule at all.
    pub fn is_empty(&self) -> bool {
        self.studio.is_empty() && self.endpoints.is_empty() && self.off_hours.is_empty()
    }

    /// Checks what no single rule can: endpoint and off-hours rules share the ledger's `idle:<name>` keys,
    /// so their names are unique across both lists.
    pub fn check(&self) -> Result<(), String> {
        let names = self.endpoints.iter().map(|r| &r.name).chain(self.off_hours.iter().map(|r| &r.name));
        let mut seen = std::collections::BTreeSet::new();
        for name in names {
            if !seen.insert(name) {
                return Err(format!(
                    "idle: two rules are named {name:?} (their ledger key idle:{name} must be one rule's)"
                ));
            }
        }
        Ok(())
    }
}

/// A rule name usable as the ledger's key `idle:<name>`: 1 to 64 letters, digits, `-` and `_`.
pub(super) fn check_name(what: &str, name: &str) -> Result<(), String> {
    let valid =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!("{what} {name:?}: `name` must be 1 to 64 letters, digits, '-' or '_' (it keys the ledger)"))
    }
}

/// An idle rule's scope: `account` or `{tags: …}` (an idle rule has no budget to read a scope from).
pub(super) fn scope_of(at: &str, scope: Option<super::budgets::ScopeFile>) -> Result<super::Scope, String> {
    match scope {
        None => Err(format!("{at}: `scope` is required (account, or {{tags: …}})")),
        Some(super::budgets::ScopeFile::Word(word)) if word == "account" => Ok(super::Scope::Account),
        Some(super::budgets::ScopeFile::Word(word)) => {
            Err(format!("{at}: scope {word:?} is not account or {{tags: …}}"))
        }
        Some(super::budgets::ScopeFile::Tags { tags }) => Ok(super::Scope::Tags(super::budgets::tag_scope(at, tags)?)),
    }
}
