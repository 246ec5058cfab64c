//! The `budgets` section of the policy: which budget alerts lead to which actions, on which resources.
//!
//! ```yaml
//! budgets:
//!   notify_topic_arn: arn:aws:sns:us-east-1:123456789012:tagwarden-enforcement
//!   exemptions:                    # the only way to spare a resource or a role (see `exemptions`)
//!     - {resource: "prod-fraud-*", reason: "serves customers; INC-2291", expires: 2026-12-31}
//!   deny_policy_arn: arn:aws:iam::123456789012:policy/tagwarden-deny-sagemaker
//!   deny_instance_types_policy_arn: arn:aws:iam::123456789012:policy/tagwarden-deny-instance-types
//!   rules:
//!     - budget: ml-*                 # exact name or glob
//!       scope: from-budget           # or `account`, or {tags: {cost-center: [CC-2100]}}
//!       steps:
//!         - {at: 80, actions: [notify]}
//!         - {at: 100, actions: [stop-notebooks, stop-jobs, delete-studio-apps, scale-endpoints]}
//!         - {at: 110, actions: [deny-instance-types]}
//!         - {at: 120, actions: [deny-iam]}
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::exemptions::{Day, Exemption, Judgement, judge};
use super::topic_arn;
use crate::tag_rules::{key_problem, value_problem};

/// The budget rules and the settings every rule shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetPolicy {
    /// Rules, first match wins.
    #[serde(default)]
    pub rules: Vec<BudgetRule>,
    /// SNS topic for enforcement summaries (the `notify` action).
    #[serde(default, deserialize_with = "topic_arn")]
    pub notify_topic_arn: Option<String>,
    /// The resources and roles the enforcer spares, each with a reason; a resource's own tags never exempt it.
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
    /// Removed: a policy that still sets `exempt_tag` is refused with where exemptions went.
    #[serde(default, rename = "exempt_tag", deserialize_with = "exempt_tag_moved")]
    removed_exempt_tag: Option<std::convert::Infallible>,
    /// The day exemptions are judged on; `None` (always, outside tests): today by the system clock, UTC.
    #[serde(skip)]
    pub today: Option<Day>,
    /// The deny managed policy `deny-iam` attaches to execution roles.
    #[serde(default, deserialize_with = "policy_arn")]
    pub deny_policy_arn: Option<String>,
    /// The managed policy `deny-instance-types` attaches (denies launching the expensive instance types).
    #[serde(default, deserialize_with = "instance_types_policy_arn")]
    pub deny_instance_types_policy_arn: Option<String>,
    /// IAM path prefix of the roles `deny-iam` considers.
    #[serde(default = "default_role_path")]
    pub role_path_prefix: String,
    /// How many AWS calls an action makes at once.
    #[serde(default = "default_concurrency", deserialize_with = "concurrency")]
    pub concurrency: usize,
    /// Most resources one action may touch per alert; the rest are reported as capped.
    #[serde(default = "default_cap", deserialize_with = "cap")]
    pub max_resources_per_action: usize,
    /// Decide and report, but change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The budgets Tagwarden keeps in AWS Budgets (`tagwarden budgets plan | apply`).
    #[serde(default, deserialize_with = "super::catalog::catalog")]
    pub catalog: super::catalog::Catalog,
    /// What verified Cost Anomaly Detection alerts do (`None`: the section is absent, every monitor notifies).
    #[serde(default)]
    pub anomalies: Option<Vec<super::anomalies::AnomalyRule>>,
    /// Burn-rate rules: what runs in a scope may cost at most this much per hour ([`super::burn`]).
    #[serde(default)]
    pub burn: Vec<super::burn::BurnRule>,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            notify_topic_arn: None,
            exemptions: Vec::new(),
            removed_exempt_tag: None,
            today: None,
            deny_policy_arn: None,
            deny_instance_types_policy_arn: None,
            role_path_prefix: default_role_path(),
            concurrency: default_concurrency(),
            max_resources_per_action: default_cap(),
            dry_run: false,
            catalog: super::catalog::Catalog::default(),
            anomalies: None,
            burn: Vec::new(),
        }
    }
}

impl BudgetPolicy {
    /// The anomaly rule for a monitor ([`super::anomalies::rule_for`]): notify-only without an `anomalies` section.
    pub fn anomaly_rule(&self, monitor_arn: &str, monitor_name: Option<&str>) -> Option<super::anomalies::AnomalyRule> {
        super::anomalies::rule_for(self.anomalies.as_deref(), monitor_arn, monitor_name)
    }

    /// The first rule whose `budget` pattern matches the budget's name.
    pub fn rule_for(&self, budget_name: &str) -> Option<&BudgetRule> {
        self.rules.iter().find(|r| glob_match(&r.budget, budget_name))
    }

    /// The day exemptions are judged on: [`BudgetPolicy::today`], else today (UTC).
    pub fn exemption_day(&self) -> Day {
        self.today.unwrap_or_else(Day::today)
    }

    /// How the exemptions judge a resource or role ARN on [`BudgetPolicy::exemption_day`].
    pub fn judge<'a>(&'a self, arn: &str, today: &Day) -> Judgement<'a> {
        judge(&self.exemptions, arn, today)
    }

    /// Checks what only the whole section can tell (e.g. `deny-iam` needs `deny_policy_arn`).
    fn check(self) -> Result<Self, String> {
        if let Some(never) = self.removed_exempt_tag {
            match never {}
        }
        let uses = |action: Action| self.rules.iter().any(|r| r.steps.iter().any(|s| s.actions.contains(&action)));
        if uses(Action::DenyIam) && self.deny_policy_arn.is_none() {
            return Err("budgets: rules use deny-iam but deny_policy_arn is not set".into());
        }
        if uses(Action::DenyInstanceTypes) && self.deny_instance_types_policy_arn.is_none() {
            return Err("budgets: rules use deny-instance-types but deny_instance_types_policy_arn is not set".into());
        }
        let anomalies_use = |action: Action| self.anomalies.iter().flatten().any(|r| r.actions.contains(&action));
        if anomalies_use(Action::DenyIam) && self.deny_policy_arn.is_none() {
            return Err("budgets: anomalies use deny-iam but deny_policy_arn is not set".into());
        }
        if anomalies_use(Action::DenyInstanceTypes) && self.deny_instance_types_policy_arn.is_none() {
            return Err(
                "budgets: anomalies use deny-instance-types but deny_instance_types_policy_arn is not set".into()
            );
        }
        super::burn::check(&self.burn)?;
        let burn_uses = |action: Action| self.burn.iter().any(|r| r.steps.iter().any(|s| s.actions.contains(&action)));
        if burn_uses(Action::DenyIam) && self.deny_policy_arn.is_none() {
            return Err("budgets: burn rules use deny-iam but deny_policy_arn is not set".into());
        }
        if burn_uses(Action::DenyInstanceTypes) && self.deny_instance_types_policy_arn.is_none() {
            return Err(
                "budgets: burn rules use deny-instance-types but deny_instance_types_policy_arn is not set".into()
            );
        }
        Ok(self)
    }

    /// The burn rule of this name (`burn:<name>` or `<name>`).
    pub fn burn_rule(&self, name: &str) -> Option<&super::burn::BurnRule> {
        super::burn::rule_named(&self.burn, name)
    }
}

/// One budget rule: which budgets, which resources, which actions at which percentage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RuleFile")]
pub struct BudgetRule {
    /// Budget name, exact or a glob with `*` and `?`.
    pub budget: String,
    /// The resources the budget pays for.
    pub scope: Scope,
    /// What FORECASTED alerts may do.
    pub forecasted: ForecastedMode,
    /// The ladder, by percent of the budgeted amount, ascending.
    pub steps: Vec<Step>,
    /// What `scale-endpoints` does.
    pub endpoints: EndpointAction,
    /// The copy count `scale-inference-components` leaves an in-scope inference component at.
    pub inference_components_min_copies: i32,
    /// The instance count `scale-clusters` leaves each instance group of an in-scope HyperPod cluster at.
    pub clusters_min_instances: i32,
    /// Restart the notebooks Tagwarden stopped when restoring (off: restarting costs money).
    pub restart_notebooks_on_restore: bool,
    /// Overrides the section's `dry_run`.
    pub dry_run: Option<bool>,
}

impl BudgetRule {
    /// The step that starts at `at` (the one a plan reached).
    pub fn step_at(&self, at: f64) -> Option<&Step> {
        self.steps.iter().find(|s| s.at == at)
    }

    /// The highest step the percentage reached, with the actions of every step up to it (the ladder is
    /// cumulative: at 120 % what the 100 % step does is done too).
    pub fn step_for(&self, percent: f64) -> Option<(f64, Vec<Action>)> {
        let reached: Vec<&Step> = self.steps.iter().filter(|s| percent >= s.at).collect();
        let top = reached.last()?.at;
        let mut actions: Vec<Action> = Vec::new();
        for action in reached.iter().flat_map(|s| &s.actions) {
            if !actions.contains(action) {
                actions.push(*action);
            }
        }
        Some((top, actions))
    }
}

/// Which resources a budget pays for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Read the budget's own `CostFilters` (`TagKeyValue`), so the scope is defined once, in the budget.
    FromBudget,
    /// Every resource in the account; must be said explicitly.
    Account,
    /// Resources carrying all these keys, each with one of the values.
    Tags(BTreeMap<String, Vec<String>>),
}

/// What FORECASTED alerts may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForecastedMode {
    /// Only notify (a forecast is not spend yet).
    #[default]
    Notify,
    /// Act as on ACTUAL alerts.
    Enforce,
}

/// A rung of the ladder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Percent of the budgeted amount at which the step starts.
    pub at: f64,
    /// What to do.
    pub actions: Vec<Action>,
    /// `required`: the step's actions (but `notify`) wait for `tagwarden approve <plan id>`.
    #[serde(default)]
    pub approval: Approval,
    /// Notify first and act when this much time has passed (`30m`, `2h`, `1d`), if the budget still says so.
    #[serde(default, deserialize_with = "grace")]
    pub grace: Option<std::time::Duration>,
}

impl Step {
    /// Whether the step's actions wait (for an approval or a grace period) instead of running at once.
    pub fn defers(&self) -> bool {
        self.approval == Approval::Required || self.grace.is_some()
    }
}

/// Whether a step's actions need a person's approval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    /// Act at once (or after the grace).
    #[default]
    None,
    /// Act only on `tagwarden approve <plan id>`.
    Required,
}

/// Reads `30s`, `45m`, `2h` or `1d` (a whole number and a unit).
pub fn parse_grace(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 =
        number.parse().map_err(|_| format!("grace {text:?}: expected a whole number and s, m, h or d (2h)"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("grace {text:?}: expected a whole number and s, m, h or d (2h)")),
    };
    if seconds == 0 {
        return Err(format!("grace {text:?}: must be longer than zero"));
    }
    Ok(std::time::Duration::from_secs(seconds))
}

fn grace<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<std::time::Duration>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    text.map(|t| parse_grace(&t).map_err(de::Error::custom)).transpose()
}

/// What `scale-endpoints` does to an in-scope endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointAction {
    /// Scale every variant down to this many instances (reversible).
    ScaleTo(i32),
    /// Delete the endpoint (not reversible; only when the rule says so).
    Delete,
}

/// An enforcement action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// One summary to the notification topic.
    Notify,
    /// Stop InService notebook instances.
    StopNotebooks,
    /// Stop the executions of pipelines and every running job (training, processing, transform, tuning, AutoML,
    /// labeling, compilation, optimization, …; not reversible).
    StopJobs,
    /// Delete running Studio apps of in-scope user profiles and spaces.
    DeleteStudioApps,
    /// Scale endpoints down (or delete them, if the rule says so).
    ScaleEndpoints,
    /// Attach the deny policy to in-scope execution roles.
    DenyIam,
    /// Attach the instance-types deny policy (no GPU, accelerator or huge instances) to in-scope execution roles.
    DenyInstanceTypes,
    /// Scale InService inference components down to the rule's `inference_components.min_copies`.
    ScaleInferenceComponents,
    /// Scale the instance groups of InService HyperPod clusters down to the rule's `clusters.min_instances`.
    ScaleClusters,
    /// Release the warm pools of in-scope training jobs (`KeepAlivePeriodInSeconds` to 0; not reversible).
    StopWarmPools,
    /// End Running inference experiments: shadow variants removed, production variants retained (not reversible).
    StopInferenceExperiments,
    /// Stop running MLflow tracking servers (restore starts them again).
    StopTrackingServers,
    /// Stop Scheduled monitoring schedules (restore starts them again).
    StopMonitoringSchedules,
    /// List the storage in scope (spaces' EBS volumes, feature groups' online stores) in the notice; changes nothing.
    NotifyStorage,
}

impl Action {
    /// Whether it only tells (`notify`, `notify-storage`): it changes nothing, and makes the summary published.
    pub fn is_notice(self) -> bool {
        matches!(self, Self::Notify | Self::NotifyStorage)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        f.write_str(&name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    budget: String,
    #[serde(default)]
    scope: Option<ScopeFile>,
    #[serde(default)]
    forecasted: ForecastedMode,
    steps: Vec<Step>,
    #[serde(default)]
    endpoints: EndpointsFile,
    #[serde(default)]
    inference_components: ComponentsFile,
    #[serde(default)]
    clusters: ClustersFile,
    #[serde(default)]
    restart_notebooks_on_restore: bool,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// A rule's `scope` as written: a word (`from-budget`, `account`, …) or `{tags: {key: value or [values]}}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ScopeFile {
    /// `from-budget`, `from-monitor`, `account`.
    Word(String),
    /// `{tags: {cost-center: [CC-2100]}}`.
    Tags {
        /// The tag values by key.
        tags: BTreeMap<String, OneOrMany>,
    },
}

/// One value or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    /// `cost-center: CC-2100`.
    One(String),
    /// `cost-center: [CC-2100, CC-2200]`.
    Many(Vec<String>),
}

/// A `{tags: …}` scope checked like every tag of the policy: keys and values valid, none empty (`at` names
/// the rule in the errors).
pub(super) fn tag_scope(at: &str, tags: BTreeMap<String, OneOrMany>) -> Result<BTreeMap<String, Vec<String>>, String> {
    if tags.is_empty() {
        return Err(format!("{at}: scope.tags is empty; say `scope: account` to mean everything"));
    }
    let mut scope = BTreeMap::new();
    for (key, values) in tags {
        if let Some(problem) = key_problem(&key) {
            return Err(format!("{at}: scope.tags: {problem}"));
        }
        let values = match values {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(vs) => vs,
        };
        if values.is_empty() {
            return Err(format!("{at}: scope.tags.{key} has no values"));
        }
        if let Some(problem) = values.iter().find_map(|v| value_problem(v)) {
            return Err(format!("{at}: scope.tags.{key}: {problem}"));
        }
        scope.insert(key, values);
    }
    Ok(scope)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointsFile {
    #[serde(default = "one")]
    min_instances: i32,
    #[serde(default)]
    delete: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentsFile {
    #[serde(default = "one")]
    min_copies: i32,
}

impl Default for ComponentsFile {
    fn default() -> Self {
        Self { min_copies: 1 }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClustersFile {
    #[serde(default = "one")]
    min_instances: i32,
}

impl Default for ClustersFile {
    fn default() -> Self {
        Self { min_instances: 1 }
    }
}

impl Default for EndpointsFile {
    fn default() -> Self {
        Self { min_instances: 1, delete: false }
    }
}

fn one() -> i32 {
    1
}

impl TryFrom<RuleFile> for BudgetRule {
    type Error = String;

    fn try_from(file: RuleFile) -> Result<Self, String> {
        let at = format!("budget rule {:?}", file.budget);
        if file.budget.trim().is_empty() {
            return Err("budget rule: `budget` must name a budget or a glob".into());
        }
        let scope = match file.scope {
            None => {
                return Err(format!("{at}: `scope` is required (from-budget, account, or tags)"));
            }
            Some(ScopeFile::Word(word)) => match word.as_str() {
                "from-budget" => Scope::FromBudget,
                "account" => Scope::Account,
                other => {
                    return Err(format!("{at}: scope {other:?} is not from-budget, account or {{tags: …}}"));
                }
            },
            Some(ScopeFile::Tags { tags }) => Scope::Tags(tag_scope(&at, tags)?),
        };
        if file.steps.is_empty() {
            return Err(format!("{at}: at least one step is needed"));
        }
        for pair in file.steps.windows(2) {
            if pair[1].at <= pair[0].at {
                return Err(format!(
                    "{at}: steps must be in ascending order of `at` ({} then {})",
                    pair[0].at, pair[1].at
                ));
            }
        }
        for step in &file.steps {
            if !(step.at.is_finite() && step.at > 0.0 && step.at <= 10_000.0) {
                return Err(format!("{at}: step at {} is not a percentage between 0 and 10000", step.at));
            }
            if step.actions.is_empty() {
                return Err(format!("{at}: step at {} has no actions", step.at));
            }
        }
        let endpoints = match file.endpoints {
            EndpointsFile { delete: true, .. } => EndpointAction::Delete,
            EndpointsFile { min_instances, .. } if min_instances >= 0 => EndpointAction::ScaleTo(min_instances),
            EndpointsFile { min_instances, .. } => {
                return Err(format!("{at}: endpoints.min_instances must be 0 or more, got {min_instances}"));
            }
        };
        if file.inference_components.min_copies < 0 {
            let got = file.inference_components.min_copies;
            return Err(format!("{at}: inference_components.min_copies must be 0 or more, got {got}"));
        }
        if file.clusters.min_instances < 0 {
            let got = file.clusters.min_instances;
            return Err(format!("{at}: clusters.min_instances must be 0 or more, got {got}"));
        }
        Ok(Self {
            budget: file.budget,
            scope,
            forecasted: file.forecasted,
            steps: file.steps,
            endpoints,
            inference_components_min_copies: file.inference_components.min_copies,
            clusters_min_instances: file.clusters.min_instances,
            restart_notebooks_on_restore: file.restart_notebooks_on_restore,
            dry_run: file.dry_run,
        })
    }
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and `?` any one character; every
/// other character (`[`, `{`, `\`, `/`) is literal and the match is case-sensitive, as budget names are.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    wildmatch::WildMatch::new(pattern).matches(name)
}

fn default_role_path() -> String {
    "/".into()
}

fn default_concurrency() -> usize {
    8
}

fn default_cap() -> usize {
    1000
}

fn exempt_tag_moved<'de, D: Deserializer<'de>>(d: D) -> Result<Option<std::convert::Infallible>, D::Error> {
    let _ = de::IgnoredAny::deserialize(d)?;
    Err(de::Error::custom(
        "exempt_tag is no longer read: a resource's own tags never exempt it (anyone who can tag can write them); \
         exemptions moved to budgets.exemptions (resource, resource_type or role, with a reason and an optional expires)",
    ))
}

fn policy_arn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    checked_policy_arn(d, "deny_policy_arn")
}

fn instance_types_policy_arn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    checked_policy_arn(d, "deny_instance_types_policy_arn")
}

fn checked_policy_arn<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Option<String>, D::Error> {
    let arn = Option::<String>::deserialize(d)?;
    if let Some(arn) = &arn
        && !(arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":policy/"))
    {
        return Err(de::Error::custom(format!("{key}: {arn:?} is not an IAM policy ARN")));
    }
    Ok(arn)
}

fn concurrency<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    match usize::deserialize(d)? {
        n @ 1..=64 => Ok(n),
        n => Err(de::Error::custom(format!("concurrency must be 1 to 64, got {n}"))),
    }
}

fn cap<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    match usize::deserialize(d)? {
        0 => Err(de::Error::custom("max_resources_per_action must be at least 1")),
        n => Ok(n),
    }
}

/// Deserializes and checks the whole section.
pub(super) fn budgets<'de, D: Deserializer<'de>>(d: D) -> Result<BudgetPolicy, D::Error> {
    BudgetPolicy::deserialize(d)?.check().map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(budgets: &str) -> Result<BudgetPolicy, String> {
        let yaml = format!("tags:\n  keys:\n    team: {{}}\nbudgets:\n{budgets}");
        Policy::from_yaml(&yaml, "test").map(|p| p.budgets).map_err(|e| e.to_string())
    }

    const LADDER: &str = "  deny_policy_arn: arn:aws:iam::123456789012:policy/deny\n  rules:\n    - budget: ml-*\n      scope: from-budget\n      steps:\n        - {at: 80, actions: [notify]}\n        - {at: 100, actions: [stop-notebooks, stop-jobs]}\n        - {at: 120, actions: [deny-iam]}\n";

    #[test]
    fn the_ladder_is_cumulative_and_picks_the_highest_step_reached() {
        let policy = parse(LADDER).unwrap();
        let rule = policy.rule_for("ml-marketing").unwrap();
        assert_eq!(rule.step_for(79.9), None);
        assert_eq!(rule.step_for(80.0), Some((80.0, vec![Action::Notify])));
        let (at, actions) = rule.step_for(125.0).unwrap();
        assert_eq!(at, 120.0);
        assert_eq!(actions, [Action::Notify, Action::StopNotebooks, Action::StopJobs, Action::DenyIam]);
        assert!(policy.rule_for("finance").is_none());
    }

    #[test]
    fn defaults_are_safe() {
        let policy = parse(LADDER).unwrap();
        let rule = &policy.rules[0];
        assert_eq!(rule.forecasted, ForecastedMode::Notify);
        assert_eq!(rule.endpoints, EndpointAction::ScaleTo(1));
        assert!(policy.exemptions.is_empty(), "nothing is exempt unless the policy says so");
        assert_eq!((policy.concurrency, policy.max_resources_per_action), (8, 1000));
        assert!(!policy.dry_run);
    }

    #[test]
    fn explicit_tag_scopes_take_one_value_or_a_list() {
        let policy = parse(
            "  rules:\n    - budget: b\n      scope: {tags: {cost-center: CC-1, team: [a, b]}}\n      steps: [{at: 100, actions: [notify]}]\n",
        )
        .unwrap();
        let Scope::Tags(tags) = &policy.rules[0].scope else { panic!("tags scope") };
        assert_eq!(tags["cost-center"], ["CC-1"]);
        assert_eq!(tags["team"], ["a", "b"]);
    }

    #[test]
    fn a_rule_without_scope_or_with_deny_iam_and_no_policy_arn_is_refused() {
        let no_scope = parse("  rules:\n    - budget: b\n      steps: [{at: 100, actions: [notify]}]\n");
        assert!(no_scope.unwrap_err().contains("`scope` is required"));
        let no_arn =
            parse("  rules:\n    - budget: b\n      scope: account\n      steps: [{at: 100, actions: [deny-iam]}]\n");
        assert!(no_arn.unwrap_err().contains("deny_policy_arn is not set"));
        let unordered = parse(
            "  rules:\n    - budget: b\n      scope: account\n      steps: [{at: 100, actions: [notify]}, {at: 80, actions: [notify]}]\n",
        );
        assert!(unordered.unwrap_err().contains("ascending"));
        let bad_action =
            parse("  rules:\n    - budget: b\n      scope: account\n      steps: [{at: 100, actions: [reboot]}]\n");
        let err = bad_action.unwrap_err();
        assert!(err.contains("reboot") && err.contains("line"), "{err}");
    }

    #[test]
    fn errors_of_checked_settings_name_their_key() {
        let err = parse("  deny_policy_arn: arn:aws:s3:::bucket\n").unwrap_err();
        assert!(err.contains("deny_policy_arn: \"arn:aws:s3:::bucket\" is not an IAM policy ARN"), "{err}");
        let err =
            parse("  rules:\n    - budget: b\n      scope: account\n      steps: [{at: 100, actions: [deny-iam]}]\n");
        assert!(err.unwrap_err().contains("budgets: rules use deny-iam"));
        let err = parse("  deny_instance_types_policy_arn: arn:aws:s3:::bucket\n").unwrap_err();
        assert!(err.contains("deny_instance_types_policy_arn: \"arn:aws:s3:::bucket\" is not an IAM"), "{err}");
    }

    #[test]
    fn a_rule_with_deny_instance_types_needs_its_policy_arn() {
        let rule = "  rules:\n    - budget: b\n      scope: account\n      steps: [{at: 110, actions: [deny-instance-types]}]\n";
        let err = parse(rule).unwrap_err();
        assert!(err.contains("deny_instance_types_policy_arn is not set"), "{err}");
        let arn = "  deny_instance_types_policy_arn: arn:aws:iam::123456789012:policy/tagwarden-deny-instance-types\n";
        let budgets = parse(&format!("{arn}{rule}")).unwrap();
        assert_eq!(budgets.rules[0].steps[0].actions, [Action::DenyInstanceTypes]);
    }

    #[test]
    fn the_scaling_actions_minimums_default_to_one_and_refuse_a_negative_count() {
        let rule = "  rules:\n    - budget: b\n      scope: account\n      steps: [{at: 100, actions: [scale-clusters, scale-inference-components, stop-warm-pools]}]\n";
        let policy = parse(rule).unwrap();
        assert_eq!((policy.rules[0].inference_components_min_copies, policy.rules[0].clusters_min_instances), (1, 1));
        let set =
            format!("{rule}      inference_components: {{min_copies: 0}}\n      clusters: {{min_instances: 2}}\n");
        let policy = parse(&set).unwrap();
        assert_eq!((policy.rules[0].inference_components_min_copies, policy.rules[0].clusters_min_instances), (0, 2));
        let err = parse(&format!("{rule}      inference_components: {{min_copies: -1}}\n")).unwrap_err();
        assert!(err.contains("inference_components.min_copies must be 0 or more, got -1"), "{err}");
        let err = parse(&format!("{rule}      clusters: {{min_instances: -2}}\n")).unwrap_err();
        assert!(err.contains("clusters.min_instances must be 0 or more, got -2"), "{err}");
        let err = parse(&format!("{rule}      clusters: {{min_copies: 1}}\n")).unwrap_err();
        assert!(err.contains("min_copies"), "an unknown key is named: {err}");
    }

    #[test]
    fn a_policy_that_still_sets_exempt_tag_is_refused_and_told_where_exemptions_went() {
        let err = parse("  exempt_tag: tagwarden:exempt=true\n").unwrap_err();
        assert!(err.contains("exempt_tag is no longer read"), "{err}");
        assert!(err.contains("exemptions moved to budgets.exemptions"), "{err}");
    }

    #[test]
    fn exemptions_are_parsed_with_the_section_and_a_bad_entry_names_itself() {
        let policy = parse(
            "  exemptions:\n    - {resource: 'prod-*', reason: serves customers, expires: 2026-11-30}\n    - {role: 'arn:aws:iam::123456789012:role/oncall', reason: on call}\n",
        )
        .unwrap();
        assert_eq!(policy.exemptions.len(), 2);
        assert_eq!(policy.exemptions[0].expires, Some(Day::parse("2026-11-30").unwrap()));
        let err = parse("  exemptions:\n    - {resource: 'prod-*', resource_type: endpoint, reason: x}\n").unwrap_err();
        assert!(err.contains("not resource and resource_type") && err.contains("line"), "{err}");
        let err = parse("  exemptions:\n    - {resource: 'prod-*'}\n").unwrap_err();
        assert!(err.contains("a reason is required"), "{err}");
        let err = parse("  exemptions:\n    - {resource: 'prod-*', reason: x, expires: 31/12/2026}\n").unwrap_err();
        assert!(err.contains("is not a date as YYYY-MM-DD"), "{err}");
    }

    #[test]
    fn the_exemption_day_is_injectable_and_defaults_to_today() {
        let mut policy = parse(LADDER).unwrap();
        assert!(Day::parse(&policy.exemption_day().to_string()).is_ok());
        policy.today = Some(Day::parse("2026-12-01").unwrap());
        assert_eq!(policy.exemption_day().to_string(), "2026-12-01");
    }

    #[test]
    fn globs_match_like_shell_patterns() {
        assert!(glob_match("ml-*", "ml-marketing"));
        assert!(glob_match("*", ""));
        assert!(glob_match("ML Research ?aily", "ML Research Daily"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("ml-*", "finance-ml"));
        assert!(!glob_match("exact", "exactly"));
    }

    #[test]
    fn globs_are_case_sensitive_like_budget_names() {
        assert!(glob_match("ML Research Daily", "ML Research Daily"));
        assert!(!glob_match("ml-*", "ML-marketing"));
        assert!(!glob_match("ML Research Daily", "ml research daily"));
    }

    #[test]
    fn a_question_mark_is_exactly_one_character() {
        assert!(glob_match("ml-?", "ml-a"));
        assert!(!glob_match("ml-?", "ml-"));
        assert!(!glob_match("ml-?", "ml-ab"));
        assert!(glob_match("ml-?", "ml-é"), "one character, not one byte");
        assert!(glob_match("??*", "ab"));
        assert!(!glob_match("??*", "a"));
    }

    #[test]
    fn a_star_matches_any_run_including_none_and_slashes() {
        assert!(glob_match("ml-*", "ml-"));
        assert!(glob_match("*-daily", "team/ml-daily"));
        assert!(glob_match("ml**", "ml"));
        assert!(glob_match("*a*a*", "banana"));
        assert!(!glob_match("*a*a*a*a", "banana"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "ml"));
    }

    #[test]
    fn every_other_character_is_literal() {
        assert!(glob_match("ml-[dev]", "ml-[dev]"));
        assert!(!glob_match("ml-[dev]", "ml-d"));
        assert!(glob_match("ml-{a,b}", "ml-{a,b}"));
        assert!(!glob_match("ml-{a,b}", "ml-a"));
        assert!(glob_match(r"ml\*", r"ml\anything"));
        assert!(!glob_match(r"ml\*", "ml*"));
        assert!(glob_match("cost (Q1) $ ^.+", "cost (Q1) $ ^.+"));
        assert!(!glob_match("ml.marketing", "ml-marketing"));
    }
}
