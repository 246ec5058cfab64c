//! `idle.endpoints`: endpoints that served no request for a window are told to their owner, then, after a
//! grace, scaled to their minimum (reversible) or deleted (only where the deployment allows it).
//!
//! ```yaml
//! idle:
//!   endpoints:
//!     - name: dev-endpoints            # the ledger's key (`idle:dev-endpoints`) and the notices' name
//!       scope: {tags: {environment: dev}}   # or `account`
//!       no_invocations_for: 3d         # no `Invocations` in CloudWatch for this long (whole hours or days)
//!       grace: 1d                      # between the owner's notice and the action
//!       then: scale-to-minimum         # or `delete` (refused unless the deployment allows deletion)
//!       dry_run: false                 # optional: decide and record only
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::{check_name, scope_of};
use crate::policy::Scope;
use crate::policy::budgets::{ScopeFile, parse_grace};

/// What an idle endpoint becomes once its grace has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdleEndpointAction {
    /// Every instance variant down to its autoscaling minimum (or 1): `scale-endpoints`, undone by `restore`.
    ScaleToMinimum,
    /// Delete the endpoint (only with the deployment's `AllowEndpointDeletion`); `restore` creates it again
    /// from its recorded endpoint config.
    Delete,
}

/// One `idle.endpoints` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RuleFile")]
pub struct EndpointIdleRule {
    /// The rule's name: its ledger key is `idle:<name>`.
    pub name: String,
    /// The endpoints it watches (`account` or tags; never `from-budget`).
    pub scope: Scope,
    /// How long an endpoint must have served no invocation to be idle.
    pub no_invocations_for: Duration,
    /// How long after the owner's notice the rule acts, if the endpoint is still idle.
    pub grace: Duration,
    /// What it does then.
    pub then: IdleEndpointAction,
    /// Decide and record only (`None`: the `budgets.dry_run` default).
    pub dry_run: Option<bool>,
}

impl EndpointIdleRule {
    /// The name the ledger, the markers and the notices use: `idle:<name>`.
    pub fn ledger_name(&self) -> String {
        format!("idle:{}", self.name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    scope: Option<ScopeFile>,
    no_invocations_for: String,
    grace: String,
    then: IdleEndpointAction,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// The longest window CloudWatch keeps hourly data points for (63 days, then only hourly for 455 days).
const MAX_WINDOW: Duration = Duration::from_secs(63 * 86_400);

impl TryFrom<RuleFile> for EndpointIdleRule {
    type Error = String;

    fn try_from(file: RuleFile) -> Result<Self, String> {
        let at = format!("idle endpoint rule {:?}", file.name);
        check_name("idle endpoint rule", &file.name)?;
        let scope = scope_of(&at, file.scope)?;
        let window = parse_grace(&file.no_invocations_for).map_err(|e| format!("{at}: no_invocations_for: {e}"))?;
        // NOTE: CloudWatch sums whole periods of 60 s multiples; an hour is the shortest window that says "idle".
        if window.as_secs() % 3600 != 0 {
            return Err(format!(
                "{at}: no_invocations_for must be whole hours or days (3d, 12h), got {:?}",
                file.no_invocations_for
            ));
        }
        if window > MAX_WINDOW {
            return Err(format!(
                "{at}: no_invocations_for must be 63d or less (CloudWatch's hourly data), got {:?}",
                file.no_invocations_for
            ));
        }
        let grace = parse_grace(&file.grace).map_err(|e| format!("{at}: grace: {e}"))?;
        Ok(Self { name: file.name, scope, no_invocations_for: window, grace, then: file.then, dry_run: file.dry_run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(rules: &str) -> Result<Vec<EndpointIdleRule>, String> {
        let yaml = format!("tags:\n  keys:\n    environment: {{}}\nidle:\n  endpoints:\n{rules}");
        Policy::from_yaml(&yaml, "test").map(|p| p.idle.endpoints).map_err(|e| e.to_string())
    }

    #[test]
    fn an_endpoint_rule_reads_its_window_grace_scope_and_action() {
        let rules = parse(
            "    - {name: dev, scope: {tags: {environment: dev}}, no_invocations_for: 3d, grace: 12h, then: scale-to-minimum}\n",
        )
        .unwrap();
        let rule = &rules[0];
        assert_eq!(rule.no_invocations_for, Duration::from_secs(3 * 86_400));
        assert_eq!(rule.grace, Duration::from_secs(12 * 3600));
        assert_eq!(rule.then, IdleEndpointAction::ScaleToMinimum);
        assert_eq!(rule.ledger_name(), "idle:dev");
        let Scope::Tags(tags) = &rule.scope else { panic!("tags scope") };
        assert_eq!(tags["environment"], ["dev"]);
    }

    #[test]
    fn a_bad_endpoint_rule_is_refused_at_load_and_says_why() {
        for (rule, expected) in [
            ("{name: x, scope: account, no_invocations_for: 90m, grace: 1h, then: delete}", "whole hours or days"),
            ("{name: x, scope: account, no_invocations_for: 70d, grace: 1h, then: delete}", "63d or less"),
            ("{name: x, scope: account, no_invocations_for: 3d, grace: soon, then: delete}", "grace: grace \"soon\""),
            ("{name: x, scope: from-budget, no_invocations_for: 3d, grace: 1h, then: delete}", "account or {tags"),
            ("{name: x, no_invocations_for: 3d, grace: 1h, then: delete}", "`scope` is required"),
            ("{name: x, scope: account, no_invocations_for: 3d, grace: 1h, then: stop}", "unknown variant"),
            ("{name: 'a b', scope: account, no_invocations_for: 3d, grace: 1h, then: delete}", "letters, digits"),
        ] {
            let err = parse(&format!("    - {rule}\n")).unwrap_err();
            assert!(err.contains(expected), "{rule}: {err}");
        }
    }
}
