//! `budgets.burn`: burn-rate rules. Each estimates what runs in its scope right now (instance type × count ×
//! on-demand price, see `enforce::burn`) every 10 minutes and acts when the estimate reaches its limit.
//!
//! ```yaml
//! budgets:
//!   burn:
//!     - name: nlp-gpus
//!       scope: {tags: {team: nlp}}     # or `account`
//!       max_per_hour: 25               # in the budget's currency (USD: the Price List's)
//!       actions: [notify, stop-notebooks]   # one step at 100 % of the limit; or `steps:` with `at` in percent
//!       grace: 30m                     # optional, as budget steps have (with `actions:`); or approval: required
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::budgets::{
    Action, Approval, EndpointAction, ForecastedMode, Scope, ScopeFile, Step, parse_grace, tag_scope,
};

/// The prefix of the name a burn rule's runs are recorded, marked and noticed under: `burn:<rule>`.
pub const BURN_PREFIX: &str = "burn:";

/// One burn-rate rule: which resources, what limit per hour, what to do over it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RuleFile")]
pub struct BurnRule {
    /// The rule's name (unique in the section): the ledger and the notices use `burn:<name>`.
    pub name: String,
    /// The resources estimated: `Account`, or `Tags`.
    pub scope: Scope,
    /// The limit, per hour, in the Price List's currency (USD).
    pub max_per_hour: f64,
    /// The ladder, by percent of `max_per_hour`, ascending (`actions:` is one step at 100).
    pub steps: Vec<Step>,
    /// Overrides the section's `dry_run`.
    pub dry_run: Option<bool>,
}

impl BurnRule {
    /// `burn:<name>`: the ledger's, the markers' and the notices' name for this rule.
    pub fn ledger_name(&self) -> String {
        format!("{BURN_PREFIX}{}", self.name)
    }

    /// The estimate in percent of the limit.
    pub fn percent(&self, per_hour: f64) -> f64 {
        per_hour / self.max_per_hour * 100.0
    }

    /// The budget rule the action table runs this rule as: its steps, named `burn:<name>`, the actions'
    /// defaults (endpoints scaled to 1, no notebook restart on restore).
    pub fn as_budget_rule(&self) -> super::BudgetRule {
        super::BudgetRule {
            budget: self.ledger_name(),
            scope: self.scope.clone(),
            forecasted: ForecastedMode::Notify,
            steps: self.steps.clone(),
            endpoints: EndpointAction::ScaleTo(1),
            inference_components_min_copies: 1,
            clusters_min_instances: 1,
            restart_notebooks_on_restore: false,
            dry_run: self.dry_run,
        }
    }
}

/// The rule of this name (`burn:<name>` or `<name>`).
pub fn rule_named<'a>(rules: &'a [BurnRule], name: &str) -> Option<&'a BurnRule> {
    let name = name.strip_prefix(BURN_PREFIX).unwrap_or(name);
    rules.iter().find(|r| r.name == name)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    #[serde(default)]
    scope: Option<ScopeFile>,
    max_per_hour: f64,
    #[serde(default)]
    actions: Option<Vec<Action>>,
    #[serde(default)]
    approval: Approval,
    #[serde(default)]
    grace: Option<String>,
    #[serde(default)]
    steps: Option<Vec<Step>>,
    #[serde(default)]
    dry_run: Option<bool>,
}

impl TryFrom<RuleFile> for BurnRule {
    type Error = String;

    fn try_from(file: RuleFile) -> Result<Self, String> {
        let name = file.name.trim().to_owned();
        if name.is_empty() {
            return Err("burn rule: `name` must name the rule".into());
        }
        if crate::tag_rules::value_problem(&name).is_some() || name.len() > 100 {
            return Err(format!("burn rule {name:?}: `name` must be up to 100 letters, digits and _.:/=+-@"));
        }
        let at = format!("burn rule {name:?}");
        let scope = match file.scope {
            None => return Err(format!("{at}: `scope` is required (account, or {{tags: …}})")),
            Some(ScopeFile::Word(word)) if word == "account" => Scope::Account,
            Some(ScopeFile::Word(other)) => {
                return Err(format!("{at}: scope {other:?} is not account or {{tags: …}}"));
            }
            Some(ScopeFile::Tags { tags }) => Scope::Tags(tag_scope(&at, tags)?),
        };
        if !(file.max_per_hour.is_finite() && file.max_per_hour > 0.0) {
            return Err(format!("{at}: max_per_hour must be a number above 0, got {}", file.max_per_hour));
        }
        let grace = file.grace.as_deref().map(parse_grace).transpose().map_err(|e| format!("{at}: {e}"))?;
        let steps = match (file.steps, file.actions) {
            (Some(_), Some(_)) => return Err(format!("{at}: give `actions` or `steps`, not both")),
            (Some(steps), None) => {
                if file.approval != Approval::None || grace.is_some() {
                    return Err(format!("{at}: with `steps`, approval and grace go on each step"));
                }
                steps
            }
            (None, actions) => {
                let actions = actions.unwrap_or_else(|| vec![Action::Notify]);
                vec![Step { at: 100.0, actions, approval: file.approval, grace }]
            }
        };
        if steps.is_empty() {
            return Err(format!("{at}: at least one step is needed"));
        }
        for pair in steps.windows(2) {
            if pair[1].at <= pair[0].at {
                return Err(format!(
                    "{at}: steps must be in ascending order of `at` ({} then {})",
                    pair[0].at, pair[1].at
                ));
            }
        }
        for step in &steps {
            if !(step.at.is_finite() && step.at > 0.0 && step.at <= 10_000.0) {
                return Err(format!(
                    "{at}: step at {} is not a percentage of max_per_hour between 0 and 10000",
                    step.at
                ));
            }
            if step.actions.is_empty() {
                return Err(format!("{at}: step at {} has no actions", step.at));
            }
        }
        Ok(Self { name, scope, max_per_hour: file.max_per_hour, steps, dry_run: file.dry_run })
    }
}

/// Checks what only the whole list can tell: names unique.
pub(super) fn check(rules: &[BurnRule]) -> Result<(), String> {
    let mut seen = BTreeMap::new();
    for rule in rules {
        if seen.insert(rule.name.as_str(), ()).is_some() {
            return Err(format!("budgets.burn: two rules are named {:?}", rule.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(burn: &str) -> Result<Vec<BurnRule>, String> {
        let yaml = format!(
            "tags:\n  keys:\n    team: {{}}\nbudgets:\n  deny_policy_arn: arn:aws:iam::123456789012:policy/deny\n{burn}"
        );
        Policy::from_yaml(&yaml, "test").map(|p| p.budgets.burn).map_err(|e| e.to_string())
    }

    #[test]
    fn a_burn_rule_with_actions_is_one_step_at_its_limit() {
        let rules =
            parse("  burn:\n    - {name: nlp, scope: {tags: {team: nlp}}, max_per_hour: 25, actions: [notify, stop-notebooks], grace: 30m}\n")
                .unwrap();
        let rule = &rules[0];
        assert_eq!((rule.max_per_hour, rule.ledger_name().as_str()), (25.0, "burn:nlp"));
        assert_eq!(rule.steps.len(), 1);
        assert_eq!(
            (rule.steps[0].at, rule.steps[0].actions.as_slice()),
            (100.0, &[Action::Notify, Action::StopNotebooks][..])
        );
        assert_eq!(rule.steps[0].grace, Some(std::time::Duration::from_secs(1800)));
        let Scope::Tags(tags) = &rule.scope else { panic!("tags") };
        assert_eq!(tags["team"], ["nlp"]);
        assert_eq!(rule.percent(30.0), 120.0);
        let budget_rule = rule.as_budget_rule();
        assert_eq!(budget_rule.step_for(120.0).unwrap().0, 100.0);
        assert!(budget_rule.step_for(99.0).is_none(), "under the limit: no step");
    }

    #[test]
    fn without_actions_a_burn_rule_notifies_and_steps_make_a_ladder() {
        let rules = parse(
            "  burn:\n    - {name: a, scope: account, max_per_hour: 10}\n    - name: b\n      scope: account\n      max_per_hour: 10\n      steps:\n        - {at: 80, actions: [notify]}\n        - {at: 150, actions: [scale-endpoints], approval: required}\n",
        )
        .unwrap();
        assert_eq!(rules[0].steps[0].actions, [Action::Notify]);
        assert_eq!(rules[0].scope, Scope::Account);
        assert_eq!(rules[1].steps.len(), 2);
        assert!(rules[1].steps[1].defers());
        assert!(parse("").unwrap().is_empty(), "no burn section: no rules");
    }

    #[test]
    fn bad_burn_rules_are_refused_at_load_with_the_rule_named() {
        for (yaml, expected) in [
            ("  burn:\n    - {name: ' ', scope: account, max_per_hour: 1}\n", "`name` must name the rule"),
            ("  burn:\n    - {name: a, max_per_hour: 1}\n", "burn rule \"a\": `scope` is required"),
            ("  burn:\n    - {name: a, scope: from-budget, max_per_hour: 1}\n", "scope \"from-budget\" is not account"),
            (
                "  burn:\n    - {name: a, scope: account, max_per_hour: 0}\n",
                "max_per_hour must be a number above 0, got 0",
            ),
            ("  burn:\n    - {name: a, scope: account, max_per_hour: -3}\n", "max_per_hour must be a number above 0"),
            ("  burn:\n    - {name: a, scope: account}\n", "max_per_hour"),
            ("  burn:\n    - {name: a, scope: account, max_per_hour: 1, actions: []}\n", "step at 100 has no actions"),
            (
                "  burn:\n    - {name: a, scope: account, max_per_hour: 1, actions: [notify], steps: [{at: 100, actions: [notify]}]}\n",
                "give `actions` or `steps`, not both",
            ),
            ("  burn:\n    - {name: a, scope: account, max_per_hour: 1, grace: soon}\n", "grace \"soon\""),
            ("  burn:\n    - {name: a, scope: {tags: {}}, max_per_hour: 1}\n", "scope.tags is empty"),
            ("  burn:\n    - {name: a, scope: account, max_per_hour: 1, actions: [reboot]}\n", "reboot"),
            (
                "  burn:\n    - {name: a, scope: account, max_per_hour: 1}\n    - {name: a, scope: account, max_per_hour: 2}\n",
                "two rules are named \"a\"",
            ),
            ("  burn:\n    - {name: a, scope: account, max_per_hour: 1, limit: 3}\n", "limit"),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(expected), "{yaml}: {err}");
            assert!(err.contains("burn"), "the key path names the section: {err}");
        }
        let err = parse("  burn:\n    - {name: a, scope: account, max_per_hour: 1, actions: [deny-iam]}\n");
        assert!(err.is_ok(), "deny_policy_arn is set in this test policy");
        let yaml = "tags:\n  keys:\n    team: {}\nbudgets:\n  burn:\n    - {name: a, scope: account, max_per_hour: 1, actions: [deny-iam]}\n";
        let err = Policy::from_yaml(yaml, "test").unwrap_err().to_string();
        assert!(err.contains("burn rules use deny-iam but deny_policy_arn is not set"), "{err}");
    }

    #[test]
    fn a_rule_is_found_by_its_name_or_its_ledger_name() {
        let rules = parse("  burn:\n    - {name: nlp, scope: account, max_per_hour: 1}\n").unwrap();
        assert_eq!(rule_named(&rules, "burn:nlp").map(|r| r.name.as_str()), Some("nlp"));
        assert_eq!(rule_named(&rules, "nlp").map(|r| r.name.as_str()), Some("nlp"));
        assert!(rule_named(&rules, "burn:cv").is_none());
    }
}
