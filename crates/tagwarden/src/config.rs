//! Configuration from the environment, read once at cold start: which policy, cache settings.
//!
//! - `TAGWARDEN_POLICY_FILE`: path of the policy YAML; else `TAGWARDEN_POLICY`: the YAML itself;
//!   else the example policy built into the binary.
//! - `TAGWARDEN_NOTIFY_TOPIC_ARN`: overrides the policy's `notify_topic_arn` (empty: no notifications).
//! - `TAGWARDEN_CACHE_TTL_SECONDS`: how long source tags are cached (default 300; 0 disables).

use std::path::Path;
use std::time::Duration;

use crate::policy::{Policy, PolicyError};
use crate::tagging::TaggerSettings;

/// Why the configuration cannot be used; raised at cold start, never at the first event.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The policy is unreadable or invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
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
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var` (the environment, or a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut policy = match (var("TAGWARDEN_POLICY_FILE"), var("TAGWARDEN_POLICY")) {
            (Some(path), _) if !path.is_empty() => Policy::from_file(Path::new(&path))?,
            (_, Some(text)) if !text.is_empty() => Policy::from_yaml(&text, "TAGWARDEN_POLICY")?,
            _ => Policy::example()?,
        };
        if let Some(topic) = var("TAGWARDEN_NOTIFY_TOPIC_ARN") {
            if !topic.is_empty() && !topic.starts_with("arn:") {
                return Err(ConfigError::Variable {
                    name: "TAGWARDEN_NOTIFY_TOPIC_ARN",
                    problem: format!("{topic:?} is not an ARN"),
                });
            }
            policy.tags.notify_topic_arn = Some(topic).filter(|t| !t.is_empty());
        }
        let mut tagger = TaggerSettings::default();
        if let Some(ttl) = var("TAGWARDEN_CACHE_TTL_SECONDS") {
            let seconds = ttl.parse::<u64>().map_err(|_| ConfigError::Variable {
                name: "TAGWARDEN_CACHE_TTL_SECONDS",
                problem: format!("{ttl:?} is not a whole number of seconds"),
            })?;
            tagger.cache_ttl = Duration::from_secs(seconds);
        }
        Ok(Self { policy, tagger })
    }
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
            ("TAGWARDEN_CACHE_TTL_SECONDS", "0"),
        ])
        .unwrap();
        assert_eq!(config.policy.tags.required_keys().collect::<Vec<_>>(), ["owner"]);
        assert_eq!(config.policy.tags.notify_topic_arn.as_deref(), Some("arn:aws:sns:eu-west-1:1:t"));
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
}
