//! `idle.studio`: the idle shutdown (`IdleSettings` under `AppLifecycleManagement`) that Studio domains, user
//! profiles and spaces must have. A list of rules, first match wins; a resource no rule matches is left alone.
//!
//! ```yaml
//! idle:
//!   studio:
//!     - scope: {tags: {environment: dev}}   # the *domain's* tags (profiles and spaces go by their domain's)
//!       idle_timeout_minutes: 60             # what apps shut down after (60 to 525600, as the API allows)
//!       min_idle_timeout_minutes: 60         # optional: the least a user may choose
//!       max_idle_timeout_minutes: 240        # optional: the most a user may choose
//!       apps: [jupyterlab, code-editor]      # default: both
//!     - scope: account                       # every other domain
//!       idle_timeout_minutes: 480
//! ```
//!
//! Validated at load: each minute count within the API's range, `min ≤ idle ≤ max`, a non-empty `apps`
//! without repeats, a scope of `account` or checked tags. Errors name the rule (`idle.studio[0]`) and key.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::policy::budgets::{ScopeFile, tag_scope};

/// The least idle timeout the SageMaker API accepts, in minutes.
pub const MIN_MINUTES: i32 = 60;
/// The most idle timeout the SageMaker API accepts, in minutes (a year).
pub const MAX_MINUTES: i32 = 525_600;

/// Which domains (and so which of their profiles and spaces) a rule covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StudioScope {
    /// Every domain of the account.
    Account,
    /// Domains carrying all these keys, each with one of the values.
    Tags(BTreeMap<String, Vec<String>>),
}

impl StudioScope {
    /// Whether a domain with these tags is in scope (values compared exactly, as cost reports do).
    pub fn matches(&self, domain_tags: &BTreeMap<String, String>) -> bool {
        match self {
            Self::Account => true,
            Self::Tags(wanted) => {
                wanted.iter().all(|(key, values)| domain_tags.get(key).is_some_and(|v| values.contains(v)))
            }
        }
    }
}

/// A Studio application type whose idle shutdown a rule sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StudioApp {
    /// JupyterLab (`JupyterLabAppSettings`).
    Jupyterlab,
    /// Code Editor (`CodeEditorAppSettings`).
    CodeEditor,
}

impl StudioApp {
    /// The app's settings member in the SageMaker API, e.g. `JupyterLabAppSettings`.
    pub fn settings_member(self) -> &'static str {
        match self {
            Self::Jupyterlab => "JupyterLabAppSettings",
            Self::CodeEditor => "CodeEditorAppSettings",
        }
    }

    /// The space `AppType` of this app (`JupyterLab`, `CodeEditor`).
    pub fn app_type(self) -> &'static str {
        match self {
            Self::Jupyterlab => "JupyterLab",
            Self::CodeEditor => "CodeEditor",
        }
    }
}

impl fmt::Display for StudioApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jupyterlab => "jupyterlab",
            Self::CodeEditor => "code-editor",
        })
    }
}

/// One `idle.studio` rule: which domains, and the idle shutdown their domain, profiles and spaces must have.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RuleFile")]
pub struct StudioIdleRule {
    /// The domains covered, by the domain's own tags.
    pub scope: StudioScope,
    /// The idle timeout apps get (`IdleTimeoutInMinutes`), with idle shutdown `ENABLED`.
    pub idle_timeout_minutes: i32,
    /// The least a user may choose (`MinIdleTimeoutInMinutes`); `None`: not set by Tagwarden.
    pub min_idle_timeout_minutes: Option<i32>,
    /// The most a user may choose (`MaxIdleTimeoutInMinutes`); `None`: not set by Tagwarden.
    pub max_idle_timeout_minutes: Option<i32>,
    /// The app types whose settings are kept, in policy order.
    pub apps: Vec<StudioApp>,
}

impl StudioIdleRule {
    /// The range a space's own idle timeout must fall in: `[min, max]` where the rule sets them, else
    /// exactly the rule's idle timeout.
    pub fn space_range(&self) -> (i32, i32) {
        (
            self.min_idle_timeout_minutes.unwrap_or(self.idle_timeout_minutes),
            self.max_idle_timeout_minutes.unwrap_or(self.idle_timeout_minutes),
        )
    }
}

/// The first rule whose scope matches the domain's tags.
pub fn rule_for<'a>(rules: &'a [StudioIdleRule], domain_tags: &BTreeMap<String, String>) -> Option<&'a StudioIdleRule> {
    rules.iter().find(|r| r.scope.matches(domain_tags))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    scope: Option<ScopeFile>,
    idle_timeout_minutes: i64,
    #[serde(default)]
    min_idle_timeout_minutes: Option<i64>,
    #[serde(default)]
    max_idle_timeout_minutes: Option<i64>,
    #[serde(default)]
    apps: Option<Vec<StudioApp>>,
}

fn minutes(at: &str, key: &str, value: i64) -> Result<i32, String> {
    match i32::try_from(value) {
        Ok(m) if (MIN_MINUTES..=MAX_MINUTES).contains(&m) => Ok(m),
        _ => {
            Err(format!("{at}.{key}: {value} is not between {MIN_MINUTES} and {MAX_MINUTES} minutes (the API's range)"))
        }
    }
}

impl TryFrom<RuleFile> for StudioIdleRule {
    type Error = String;

    fn try_from(file: RuleFile) -> Result<Self, String> {
        // NOTE: serde gives a list element no index; the errors name the section, and serde adds the line.
        let at = "idle.studio";
        let scope = match file.scope {
            None => return Err(format!("{at}.scope is required (account, or {{tags: …}} of the domain)")),
            Some(ScopeFile::Word(word)) if word == "account" => StudioScope::Account,
            Some(ScopeFile::Word(other)) => {
                return Err(format!("{at}.scope {other:?} is not account or {{tags: …}}"));
            }
            Some(ScopeFile::Tags { tags }) => StudioScope::Tags(tag_scope(at, tags)?),
        };
        let idle = minutes(at, "idle_timeout_minutes", file.idle_timeout_minutes)?;
        let min = file.min_idle_timeout_minutes.map(|m| minutes(at, "min_idle_timeout_minutes", m)).transpose()?;
        let max = file.max_idle_timeout_minutes.map(|m| minutes(at, "max_idle_timeout_minutes", m)).transpose()?;
        if let Some(min) = min
            && min > idle
        {
            return Err(format!("{at}: min_idle_timeout_minutes {min} is above idle_timeout_minutes {idle}"));
        }
        if let Some(max) = max
            && max < idle
        {
            return Err(format!("{at}: max_idle_timeout_minutes {max} is below idle_timeout_minutes {idle}"));
        }
        let apps = file.apps.unwrap_or_else(|| vec![StudioApp::Jupyterlab, StudioApp::CodeEditor]);
        if apps.is_empty() {
            return Err(format!("{at}.apps is empty; leave it out for jupyterlab and code-editor"));
        }
        for (i, app) in apps.iter().enumerate() {
            if apps[..i].contains(app) {
                return Err(format!("{at}.apps: {app} is listed twice"));
            }
        }
        Ok(Self {
            scope,
            idle_timeout_minutes: idle,
            min_idle_timeout_minutes: min,
            max_idle_timeout_minutes: max,
            apps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(studio: &str) -> Result<Vec<StudioIdleRule>, String> {
        let yaml = format!("tags:\n  keys:\n    environment: {{}}\nidle:\n  studio:\n{studio}");
        Policy::from_yaml(&yaml, "test").map(|p| p.idle.studio).map_err(|e| e.to_string())
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_rule_reads_its_scope_minutes_and_defaults_to_both_apps() {
        let rules = parse(
            "    - {scope: {tags: {environment: dev}}, idle_timeout_minutes: 60, max_idle_timeout_minutes: 240}\n    - {scope: account, idle_timeout_minutes: 480, apps: [code-editor]}\n",
        )
        .unwrap();
        assert_eq!(rules[0].idle_timeout_minutes, 60);
        assert_eq!((rules[0].min_idle_timeout_minutes, rules[0].max_idle_timeout_minutes), (None, Some(240)));
        assert_eq!(rules[0].apps, [StudioApp::Jupyterlab, StudioApp::CodeEditor]);
        assert_eq!(rules[0].space_range(), (60, 240));
        assert_eq!(rules[1].scope, StudioScope::Account);
        assert_eq!(rules[1].apps, [StudioApp::CodeEditor]);
        assert_eq!(rules[1].space_range(), (480, 480));
    }

    #[test]
    fn the_first_rule_whose_scope_matches_the_domains_tags_wins() {
        let rules = parse(
            "    - {scope: {tags: {environment: [dev, test]}}, idle_timeout_minutes: 60}\n    - {scope: account, idle_timeout_minutes: 480}\n",
        )
        .unwrap();
        assert_eq!(rule_for(&rules, &tags(&[("environment", "test")])).unwrap().idle_timeout_minutes, 60);
        assert_eq!(rule_for(&rules, &tags(&[("environment", "prod")])).unwrap().idle_timeout_minutes, 480);
        assert_eq!(rule_for(&rules, &tags(&[])).unwrap().idle_timeout_minutes, 480);
        assert!(rule_for(&rules[..1], &tags(&[("environment", "DEV")])).is_none(), "values are exact");
    }

    #[test]
    fn the_commented_example_in_the_shipped_policy_is_valid() {
        let example = crate::policy::EXAMPLE_POLICY;
        let start = example.find("\n# idle:\n").expect("policy/tagwarden.yaml comments an idle: example") + 1;
        let block: Vec<&str> = example[start..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            .collect();
        let yaml = format!("tags:\n  keys:\n    environment: {{}}\n{}\n", block.join("\n"));
        let policy = Policy::from_yaml(&yaml, "example").unwrap();
        assert_eq!(policy.idle.studio.len(), 2);
        assert_eq!(policy.idle.studio[0].max_idle_timeout_minutes, Some(240));
    }

    #[test]
    fn bad_rules_are_refused_at_load_naming_the_key() {
        for (yaml, expected) in [
            ("    - {idle_timeout_minutes: 60}\n", "idle.studio.scope is required"),
            ("    - {scope: from-budget, idle_timeout_minutes: 60}\n", "scope \"from-budget\" is not account"),
            ("    - {scope: {tags: {}}, idle_timeout_minutes: 60}\n", "scope.tags is empty"),
            (
                "    - {scope: account, idle_timeout_minutes: 59}\n",
                "idle.studio.idle_timeout_minutes: 59 is not between 60 and 525600",
            ),
            ("    - {scope: account, idle_timeout_minutes: 525601}\n", "525601 is not between"),
            ("    - {scope: account, idle_timeout_minutes: 99999999999}\n", "99999999999 is not between"),
            (
                "    - {scope: account, idle_timeout_minutes: 60, min_idle_timeout_minutes: 30}\n",
                "idle.studio.min_idle_timeout_minutes: 30 is not between",
            ),
            (
                "    - {scope: account, idle_timeout_minutes: 60, min_idle_timeout_minutes: 120}\n",
                "min_idle_timeout_minutes 120 is above idle_timeout_minutes 60",
            ),
            (
                "    - {scope: account, idle_timeout_minutes: 300, max_idle_timeout_minutes: 120}\n",
                "max_idle_timeout_minutes 120 is below idle_timeout_minutes 300",
            ),
            ("    - {scope: account, idle_timeout_minutes: 60, apps: []}\n", "idle.studio.apps is empty"),
            ("    - {scope: account, idle_timeout_minutes: 60, apps: [rstudio]}\n", "rstudio"),
            ("    - {scope: account, idle_timeout_minutes: 60, apps: [jupyterlab, jupyterlab]}\n", "listed twice"),
            ("    - {scope: account, idle_timeout: 60}\n", "idle_timeout"),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(expected), "{yaml}: {err}");
            assert!(err.contains("line"), "{yaml}: {err}");
        }
    }
}
