//! `budgets.anomalies`: what a verified Cost Anomaly Detection alert does. A list of rules, first match wins;
//! absent, every monitor's anomalies only notify.
//!
//! ```yaml
//! budgets:
//!   anomalies:
//!     - monitor: ml-*                # the monitor's name (glob) or its ARN
//!       min_total_impact: 100        # USD of the verified impact; optional
//!       min_impact_percentage: 50    # percent over the expected spend; optional
//!       scope: from-monitor          # default: the monitor's tag value; or `account`, or {tags: {team: nlp}}
//!       actions: [notify, stop-notebooks]   # default [notify]: stronger actions only when listed
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::budgets::{Action, EndpointAction, ForecastedMode, Scope, ScopeFile, Step, glob_match, tag_scope};

/// Which resources a verified anomaly concerns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyScope {
    /// The monitor's own scope: a tag monitor's tag value, a service monitor's account (`GetAnomalyMonitors`).
    FromMonitor,
    /// Every resource in the account.
    Account,
    /// Resources carrying all these keys, each with one of the values.
    Tags(BTreeMap<String, Vec<String>>),
}

/// One anomaly rule: which monitors, from what impact, on which resources, doing what.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RuleFile")]
pub struct AnomalyRule {
    /// The monitor's name (exact or a glob with `*` and `?`), or its ARN (exact).
    pub monitor: String,
    /// The verified total impact (USD) must reach this.
    pub min_total_impact: Option<f64>,
    /// The verified impact percentage must reach this.
    pub min_impact_percentage: Option<f64>,
    /// The resources acted on.
    pub scope: AnomalyScope,
    /// What to do, in order; `[notify]` unless the rule lists more.
    pub actions: Vec<Action>,
    /// Overrides the section's `dry_run`.
    pub dry_run: Option<bool>,
}

impl AnomalyRule {
    /// The rule of a policy without an `anomalies` section: every monitor, its own scope, notify only.
    pub fn notify_only() -> Self {
        Self {
            monitor: "*".into(),
            min_total_impact: None,
            min_impact_percentage: None,
            scope: AnomalyScope::FromMonitor,
            actions: vec![Action::Notify],
            dry_run: None,
        }
    }

    /// Whether the rule names this monitor: its ARN exactly, or its name by glob.
    pub fn matches(&self, monitor_arn: &str, monitor_name: Option<&str>) -> bool {
        if self.monitor.starts_with("arn:") {
            return self.monitor == monitor_arn;
        }
        monitor_name.is_some_and(|name| glob_match(&self.monitor, name))
    }

    /// Why an impact is below the rule's minimums, or `None` when it reaches them.
    pub fn below(&self, total_impact: f64, impact_percentage: Option<f64>) -> Option<String> {
        if let Some(min) = self.min_total_impact
            && total_impact < min
        {
            return Some(format!("total impact ${total_impact:.2} is below the rule's min_total_impact ${min:.2}"));
        }
        if let Some(min) = self.min_impact_percentage {
            match impact_percentage {
                Some(p) if p >= min => {}
                Some(p) => {
                    return Some(format!("impact {p:.2}% is below the rule's min_impact_percentage {min:.2}%"));
                }
                None => return Some(format!("no impact percentage to compare with min_impact_percentage {min:.2}%")),
            }
        }
        None
    }

    /// The budget rule the action table runs this rule as: one step at 0 % with the rule's actions and the
    /// actions' defaults (endpoints scaled to 1, no notebook restart on restore).
    pub fn as_budget_rule(&self, name: &str, scope: Scope) -> super::BudgetRule {
        super::BudgetRule {
            budget: name.to_owned(),
            scope,
            forecasted: ForecastedMode::Notify,
            steps: vec![Step { at: 0.0, actions: self.actions.clone(), approval: Default::default(), grace: None }],
            endpoints: EndpointAction::ScaleTo(1),
            inference_components_min_copies: 1,
            clusters_min_instances: 1,
            restart_notebooks_on_restore: false,
            dry_run: self.dry_run,
        }
    }
}

/// The first rule naming the monitor; the notify-only rule when the policy has no `anomalies` section.
pub fn rule_for(rules: Option<&[AnomalyRule]>, monitor_arn: &str, monitor_name: Option<&str>) -> Option<AnomalyRule> {
    match rules {
        None => Some(AnomalyRule::notify_only()),
        Some(rules) => rules.iter().find(|r| r.matches(monitor_arn, monitor_name)).cloned(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    monitor: String,
    #[serde(default)]
    min_total_impact: Option<f64>,
    #[serde(default)]
    min_impact_percentage: Option<f64>,
    #[serde(default)]
    scope: Option<ScopeFile>,
    #[serde(default)]
    actions: Option<Vec<Action>>,
    #[serde(default)]
    dry_run: Option<bool>,
}

impl TryFrom<RuleFile> for AnomalyRule {
    type Error = String;

    fn try_from(file: RuleFile) -> Result<Self, String> {
        let at = format!("anomaly rule {:?}", file.monitor);
        if file.monitor.trim().is_empty() {
            return Err("anomaly rule: `monitor` must name a monitor (name, glob or ARN)".into());
        }
        if file.monitor.starts_with("arn:") && !crate::event::budget::is_monitor_arn(&file.monitor) {
            return Err(format!("{at}: not an anomaly monitor's ARN (arn:aws:ce::<account>:anomalymonitor/<id>)"));
        }
        for (key, value) in
            [("min_total_impact", file.min_total_impact), ("min_impact_percentage", file.min_impact_percentage)]
        {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(format!("{at}: {key} must be a number of 0 or more, got {v}"));
            }
        }
        let scope = match file.scope {
            None => AnomalyScope::FromMonitor,
            Some(ScopeFile::Word(word)) => match word.as_str() {
                "from-monitor" => AnomalyScope::FromMonitor,
                "account" => AnomalyScope::Account,
                other => return Err(format!("{at}: scope {other:?} is not from-monitor, account or {{tags: …}}")),
            },
            Some(ScopeFile::Tags { tags }) => AnomalyScope::Tags(tag_scope(&at, tags)?),
        };
        let actions = file.actions.unwrap_or_else(|| vec![Action::Notify]);
        if actions.is_empty() {
            return Err(format!("{at}: `actions` is empty; leave it out to notify only"));
        }
        Ok(Self {
            monitor: file.monitor,
            min_total_impact: file.min_total_impact,
            min_impact_percentage: file.min_impact_percentage,
            scope,
            actions,
            dry_run: file.dry_run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(anomalies: &str) -> Result<Option<Vec<AnomalyRule>>, String> {
        let yaml = format!(
            "tags:\n  keys:\n    team: {{}}\nbudgets:\n  deny_policy_arn: arn:aws:iam::123456789012:policy/deny\n{anomalies}"
        );
        Policy::from_yaml(&yaml, "test").map(|p| p.budgets.anomalies).map_err(|e| e.to_string())
    }

    const MONITOR: &str = "arn:aws:ce::123456789012:anomalymonitor/abc";

    #[test]
    fn without_an_anomalies_section_every_monitor_only_notifies() {
        assert_eq!(parse("").unwrap(), None);
        let rule = rule_for(None, MONITOR, Some("anything")).unwrap();
        assert_eq!((rule.actions.as_slice(), &rule.scope), (&[Action::Notify][..], &AnomalyScope::FromMonitor));
    }

    #[test]
    fn a_rule_without_actions_notifies_and_stronger_actions_must_be_listed() {
        let rules = parse("  anomalies:\n    - monitor: ml-*\n").unwrap().unwrap();
        assert_eq!(rules[0].actions, [Action::Notify]);
        assert_eq!(rules[0].scope, AnomalyScope::FromMonitor);
        let rules =
            parse("  anomalies:\n    - {monitor: ml-*, actions: [notify, stop-notebooks], min_total_impact: 100}\n")
                .unwrap()
                .unwrap();
        assert_eq!(rules[0].actions, [Action::Notify, Action::StopNotebooks]);
        assert_eq!(rules[0].min_total_impact, Some(100.0));
    }

    #[test]
    fn rules_match_a_monitor_by_name_glob_or_exact_arn_first_match_wins() {
        let rules = parse(&format!(
            "  anomalies:\n    - {{monitor: '{MONITOR}', actions: [notify, stop-jobs]}}\n    - {{monitor: 'ml-*'}}\n"
        ))
        .unwrap();
        let rules = rules.as_deref();
        let other = "arn:aws:ce::123456789012:anomalymonitor/other";
        assert_eq!(rule_for(rules, MONITOR, Some("ml-x")).unwrap().actions.len(), 2);
        assert_eq!(rule_for(rules, other, Some("ml-x")).unwrap().actions.len(), 1);
        assert!(rule_for(rules, other, Some("finance")).is_none());
        assert!(rule_for(rules, other, None).is_none());
    }

    #[test]
    fn scopes_are_from_monitor_account_or_checked_tags() {
        let rules = parse(
            "  anomalies:\n    - {monitor: a, scope: account}\n    - {monitor: b, scope: {tags: {team: [nlp, cv]}}}\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(rules[0].scope, AnomalyScope::Account);
        let AnomalyScope::Tags(tags) = &rules[1].scope else { panic!() };
        assert_eq!(tags["team"], ["nlp", "cv"]);
    }

    #[test]
    fn bad_rules_are_refused_at_load_with_a_clear_error() {
        for (yaml, expected) in [
            ("  anomalies:\n    - {monitor: ' '}\n", "`monitor` must name a monitor"),
            ("  anomalies:\n    - {monitor: 'arn:aws:ce::1:x'}\n", "not an anomaly monitor's ARN"),
            (
                "  anomalies:\n    - {monitor: a, min_total_impact: -5}\n",
                "min_total_impact must be a number of 0 or more, got -5",
            ),
            (
                "  anomalies:\n    - {monitor: a, min_impact_percentage: .nan}\n",
                "min_impact_percentage must be a number of 0 or more",
            ),
            ("  anomalies:\n    - {monitor: a, scope: budget}\n", "scope \"budget\" is not from-monitor, account"),
            ("  anomalies:\n    - {monitor: a, scope: {tags: {}}}\n", "scope.tags is empty"),
            ("  anomalies:\n    - {monitor: a, scope: {tags: {team: []}}}\n", "scope.tags.team has no values"),
            ("  anomalies:\n    - {monitor: a, actions: []}\n", "`actions` is empty"),
            ("  anomalies:\n    - {monitor: a, actions: [reboot]}\n", "reboot"),
            ("  anomalies:\n    - {monitor: a, steps: []}\n", "steps"),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(expected), "{yaml}: {err}");
        }
        let yaml = "tags:\n  keys:\n    team: {}\nbudgets:\n  anomalies:\n    - {monitor: a, actions: [deny-iam]}\n";
        let err = Policy::from_yaml(yaml, "test").unwrap_err().to_string();
        assert!(err.contains("anomalies use deny-iam but deny_policy_arn is not set"), "{err}");
    }

    #[test]
    fn impact_minimums_are_judged_on_the_figures_given() {
        let rule = AnomalyRule {
            min_total_impact: Some(100.0),
            min_impact_percentage: Some(50.0),
            ..AnomalyRule::notify_only()
        };
        assert_eq!(rule.below(150.0, Some(60.0)), None);
        assert!(rule.below(99.0, Some(60.0)).unwrap().contains("below the rule's min_total_impact $100.00"));
        assert!(rule.below(150.0, Some(10.0)).unwrap().contains("impact 10.00% is below"));
        assert!(rule.below(150.0, None).unwrap().contains("no impact percentage"));
        assert_eq!(AnomalyRule::notify_only().below(0.0, None), None);
    }
}
