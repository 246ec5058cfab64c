//! Configuration from the environment, read once at cold start: which policy, cache settings.
//!
//! - `TAGWARDEN_POLICY_PARAMETER`: name of an SSM parameter holding the policy YAML (how the deployed
//!   functions get it; read once at cold start); else `TAGWARDEN_POLICY_FILE`: path of the policy YAML;
//!   else `TAGWARDEN_POLICY`: the YAML itself; else the example policy built into the binary.
//! - `TAGWARDEN_NOTIFY_TOPIC_ARN`: overrides the policy's `tags.notify_topic_arn` (empty: no notifications).
//! - `TAGWARDEN_ENFORCEMENT_TOPIC_ARN`, `TAGWARDEN_DENY_POLICY_ARN`, `TAGWARDEN_DENY_INSTANCE_TYPES_POLICY_ARN`:
//!   override `budgets.notify_topic_arn`, `budgets.deny_policy_arn` and `budgets.deny_instance_types_policy_arn`
//!   (the deployment sets them to the resources it creates).
//! - `TAGWARDEN_ALERTS_TOPIC_ARN`: overrides `budgets.catalog.alerts_topic_arn`, the topic the budgets Tagwarden
//!   keeps notify (the deployment sets it to its alerts topic; the auto-tagger keeps profiles' budgets).
//! - `TAGWARDEN_CACHE_TTL_SECONDS`: how long source tags are cached (default 300; 0 disables).
//! - `TAGWARDEN_TRUSTED_PRINCIPALS`: comma-separated IAM role/user ARNs whose tag changes are Tagwarden's own
//!   (the deployment lists the budget-enforcer's role); tamper protection leaves their changes alone.
//! - `TAGWARDEN_ALERT_TOPICS`: comma-separated SNS topic ARNs the budget-enforcer takes alerts from (the
//!   deployment passes its own alerts topic); required by the budget-enforcer Lambda.
//! - `TAGWARDEN_ORGANIZATION_ACCOUNTS`, `TAGWARDEN_MEMBER_ROLE_NAME`, `TAGWARDEN_MEMBER_EXTERNAL_ID_PARAMETER`,
//!   `TAGWARDEN_REGIONS`: organization scale, read per function by [`crate::org::Organization::from_env`]
//!   (unset: a single-account deployment).

use std::path::Path;
use std::time::Duration;

use crate::aws::{AwsError, Clients, ResultExt};
use crate::org::OrganizationError;
use crate::policy::{Policy, PolicyError};
use crate::tagging::TaggerSettings;

/// Why the configuration cannot be used; raised at cold start, never at the first event.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The policy is unreadable or invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The SSM parameter holding the policy cannot be read.
    #[error("cannot read the policy from SSM parameter {name}: {source}")]
    Parameter {
        /// The parameter's name.
        name: String,
        /// Why.
        source: AwsError,
    },
    /// An organization setting (`TAGWARDEN_ORGANIZATION_ACCOUNTS` & co.) cannot be used.
    #[error(transparent)]
    Organization(#[from] OrganizationError),
    /// An environment variable has a value that cannot be used.
    #[error("environment variable {name}: {problem}")]
    Variable {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Everything a Tagwarden function needs besides AWS clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// The validated policy.
    pub policy: Policy,
    /// Auto-tagger cache settings.
    pub tagger: TaggerSettings,
    /// `TAGWARDEN_ALERT_TOPICS`: the SNS topics budget alerts may come from; `None` when unset or empty.
    pub alert_topics: Option<Vec<String>>,
}

impl Config {
    /// Reads the configuration from the process environment (no AWS calls: `TAGWARDEN_POLICY_PARAMETER`
    /// needs [`Config::load`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from the environment, fetching the policy from SSM Parameter Store when
    /// `TAGWARDEN_POLICY_PARAMETER` names a parameter. Called once at cold start.
    pub async fn load(clients: &Clients) -> Result<Self, ConfigError> {
        let Some(name) = std::env::var("TAGWARDEN_POLICY_PARAMETER").ok().filter(|n| !n.is_empty()) else {
            return Self::from_env();
        };
        let fetched = clients.ssm.get_parameter().name(&name).send().await.aws("GetParameter");
        let text = fetched
            .map_err(|source| ConfigError::Parameter { name: name.clone(), source })?
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_owned();
        let origin = format!("SSM parameter {name}");
        let policy = Policy::from_yaml(&text, &origin)?;
        Self::with_policy(policy, |var| std::env::var(var).ok())
    }

    /// Reads the configuration through `var` (the environment, or a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let policy = match (var("TAGWARDEN_POLICY_FILE"), var("TAGWARDEN_POLICY")) {
            (Some(path), _) if !path.is_empty() => Policy::from_file(Path::new(&path))?,
            (_, Some(text)) if !text.is_empty() => Policy::from_yaml(&text, "TAGWARDEN_POLICY")?,
            _ => Policy::example()?,
        };
        Self::with_policy(policy, var)
    }

    /// The alerts topics the budget-enforcer Lambda requires; a clear error when `TAGWARDEN_ALERT_TOPICS` is unset.
    pub fn required_alert_topics(&self) -> Result<Vec<String>, ConfigError> {
        self.alert_topics.clone().ok_or_else(|| ConfigError::Variable {
            name: "TAGWARDEN_ALERT_TOPICS",
            problem: "not set: the budget-enforcer takes alerts only from its alerts topics (comma-separated SNS \
                      topic ARNs; the deployment passes its own alerts topic)"
                .to_owned(),
        })
    }

    /// Comma-separated SNS topic ARNs (as `TAGWARDEN_ALERT_TOPICS` holds them), each checked; blanks are skipped.
    pub fn alert_topic_list(list: &str) -> Result<Vec<String>, ConfigError> {
        let mut topics = Vec::new();
        for arn in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let parts: Vec<&str> = arn.split(':').collect();
            let is_topic = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "sns"
                && crate::ids::is_account_id(parts[4])
                && !parts[5].is_empty();
            if !is_topic {
                return Err(ConfigError::Variable {
                    name: "TAGWARDEN_ALERT_TOPICS",
                    problem: format!("{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
                });
            }
            topics.push(arn.to_owned());
        }
        Ok(topics)
    }

    /// Applies the environment's overrides and settings to a loaded policy.
    fn with_policy(mut policy: Policy, var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        if let Some(topic) = arn_override(&var, "TAGWARDEN_NOTIFY_TOPIC_ARN")? {
            policy.tags.notify_topic_arn = topic;
        }
        if let Some(topic) = arn_override(&var, "TAGWARDEN_ENFORCEMENT_TOPIC_ARN")? {
            policy.budgets.notify_topic_arn = topic;
        }
        if let Some(topic) = arn_override(&var, "TAGWARDEN_ALERTS_TOPIC_ARN")? {
            policy.budgets.catalog.alerts_topic_arn = topic;
        }
        if let Some(deny) = arn_override(&var, "TAGWARDEN_DENY_POLICY_ARN")? {
            policy.budgets.deny_policy_arn = deny;
        }
        if let Some(deny) = arn_override(&var, "TAGWARDEN_DENY_INSTANCE_TYPES_POLICY_ARN")? {
            policy.budgets.deny_instance_types_policy_arn = deny;
        }
        let mut tagger = TaggerSettings::default();
        if let Some(ttl) = var("TAGWARDEN_CACHE_TTL_SECONDS") {
            let seconds = ttl.parse::<u64>().map_err(|_| ConfigError::Variable {
                name: "TAGWARDEN_CACHE_TTL_SECONDS",
                problem: format!("{ttl:?} is not a whole number of seconds"),
            })?;
            tagger.cache_ttl = Duration::from_secs(seconds);
        }
        if let Some(list) = var("TAGWARDEN_TRUSTED_PRINCIPALS") {
            for arn in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                if crate::tagging::tamper::principal_key(arn).is_none() {
                    return Err(ConfigError::Variable {
                        name: "TAGWARDEN_TRUSTED_PRINCIPALS",
                        problem: format!("{arn:?} is not an IAM role, IAM user or STS session ARN"),
                    });
                }
                tagger.trusted_principals.push(arn.to_owned());
            }
        }
        let alert_topics = alert_topics(var("TAGWARDEN_ALERT_TOPICS"))?;
        Ok(Self { policy, tagger, alert_topics })
    }
}

/// `TAGWARDEN_ALERT_TOPICS`: SNS topic ARNs, comma-separated; `None` when unset or empty.
fn alert_topics(value: Option<String>) -> Result<Option<Vec<String>>, ConfigError> {
    let topics = Config::alert_topic_list(value.as_deref().unwrap_or_default())?;
    Ok((!topics.is_empty()).then_some(topics))
}

/// An ARN from the environment: `None` when unset, `Some(None)` when set empty (switches the setting off).
fn arn_override(
    var: impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Option<String>>, ConfigError> {
    let Some(value) = var(name) else { return Ok(None) };
    if !value.is_empty() && !value.starts_with("arn:") {
        return Err(ConfigError::Variable { name, problem: format!("{value:?} is not an ARN") });
    }
    Ok(Some(Some(value).filter(|v| !v.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn without_settings_the_built_in_example_policy_is_used() {
        let config = config(&[]).unwrap();
        assert!(config.policy.tags.rule("cost-center").is_some());
        assert_eq!(config.tagger.cache_ttl, Duration::from_secs(300));
    }

    #[test]
    fn inline_policy_and_topic_override_are_honoured() {
        let config = config(&[
            ("TAGWARDEN_POLICY", "tags:\n  keys:\n    owner: {required: true}\n"),
            ("TAGWARDEN_NOTIFY_TOPIC_ARN", "arn:aws:sns:eu-west-1:1:t"),
            ("TAGWARDEN_DENY_POLICY_ARN", "arn:aws:iam::1:policy/deny"),
            ("TAGWARDEN_DENY_INSTANCE_TYPES_POLICY_ARN", "arn:aws:iam::1:policy/deny-instance-types"),
            ("TAGWARDEN_ENFORCEMENT_TOPIC_ARN", ""),
            ("TAGWARDEN_CACHE_TTL_SECONDS", "0"),
            ("TAGWARDEN_ALERTS_TOPIC_ARN", "arn:aws:sns:eu-west-1:1:alerts"),
        ])
        .unwrap();
        assert_eq!(config.policy.budgets.catalog.alerts_topic_arn.as_deref(), Some("arn:aws:sns:eu-west-1:1:alerts"));
        assert_eq!(config.policy.tags.required_keys().collect::<Vec<_>>(), ["owner"]);
        assert_eq!(config.policy.tags.notify_topic_arn.as_deref(), Some("arn:aws:sns:eu-west-1:1:t"));
        assert_eq!(config.policy.budgets.deny_policy_arn.as_deref(), Some("arn:aws:iam::1:policy/deny"));
        let instance_types = config.policy.budgets.deny_instance_types_policy_arn.as_deref();
        assert_eq!(instance_types, Some("arn:aws:iam::1:policy/deny-instance-types"));
        assert_eq!(config.policy.budgets.notify_topic_arn, None, "set empty: switched off");
        assert_eq!(config.tagger.cache_ttl, Duration::ZERO);
    }

    #[test]
    fn bad_values_fail_with_the_variable_or_file_named() {
        let err = config(&[("TAGWARDEN_CACHE_TTL_SECONDS", "soon")]).unwrap_err().to_string();
        assert!(err.contains("TAGWARDEN_CACHE_TTL_SECONDS"), "{err}");
        let err = config(&[("TAGWARDEN_POLICY_FILE", "/nonexistent/p.yaml")]).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/p.yaml"), "{err}");
        let err = config(&[("TAGWARDEN_POLICY", "tags: [")]).unwrap_err().to_string();
        assert!(err.contains("TAGWARDEN_POLICY"), "{err}");
    }

    #[test]
    fn alert_topics_are_a_list_of_sns_topic_arns_and_anything_else_is_refused() {
        let topics =
            "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts, arn:aws:sns:eu-west-1:123456789012:b,";
        let read = config(&[("TAGWARDEN_ALERT_TOPICS", topics)]).unwrap().alert_topics.unwrap();
        assert_eq!(
            read,
            ["arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts", "arn:aws:sns:eu-west-1:123456789012:b"]
        );
        assert_eq!(config(&[("TAGWARDEN_ALERT_TOPICS", " ")]).unwrap().alert_topics, None);
        assert_eq!(config(&[]).unwrap().alert_topics, None);
        let missing = config(&[]).unwrap().required_alert_topics().unwrap_err().to_string();
        assert!(missing.starts_with("environment variable TAGWARDEN_ALERT_TOPICS: not set"), "{missing}");
        for bad in ["tagwarden-budget-alerts", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:us-east-1:x:t"] {
            let err = config(&[("TAGWARDEN_ALERT_TOPICS", bad)]).unwrap_err().to_string();
            assert!(err.contains("TAGWARDEN_ALERT_TOPICS") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn trusted_principals_are_read_as_a_list_and_bad_arns_are_refused() {
        let roles = "arn:aws:iam::1:role/tagwarden-BudgetEnforcerRole, arn:aws:iam::1:user/ops-sweeper,";
        let trusted = config(&[("TAGWARDEN_TRUSTED_PRINCIPALS", roles)]).unwrap().tagger.trusted_principals;
        assert_eq!(trusted, ["arn:aws:iam::1:role/tagwarden-BudgetEnforcerRole", "arn:aws:iam::1:user/ops-sweeper"]);
        let err = config(&[("TAGWARDEN_TRUSTED_PRINCIPALS", "tagwarden-role")]).unwrap_err().to_string();
        assert!(err.contains("TAGWARDEN_TRUSTED_PRINCIPALS") && err.contains("tagwarden-role"), "{err}");
    }
}
