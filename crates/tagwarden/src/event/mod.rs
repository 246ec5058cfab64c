//! What arrives at the two functions: CloudTrail API calls as EventBridge delivers them (auto-tagger) and
//! AWS Budgets alerts as SNS delivers them, or a `restore` command (budget-enforcer).
//!
//! The envelopes are read through `aws_lambda_events` (`EventBridgeEvent`, `SnsEvent`) after a lenient first
//! look, so that bad input is skipped or rejected with a reason, never a Lambda error. The records inside are
//! Tagwarden's own tolerant types: real records lack almost any field, so every field is optional and a field
//! of the wrong JSON type reads as absent instead of failing the whole event (see each module for why the
//! crate's own record types do not fit).

pub mod budget;
pub mod cloudtrail;

pub use budget::{
    AlertError, AlertType, AnomalyAlert, BudgetAlert, BudgetEnvelope, BudgetEvent, BudgetPeriod, SnsDelivery,
    Threshold, ThresholdKind, parse_alert_message, parse_budget_envelope, parse_budget_event,
};
pub use cloudtrail::{ApiCall, CloudTrailEvent, SessionContext, SessionIssuer, UserIdentity};

use serde::{Deserialize, Deserializer};

/// Reads a string field leniently: any non-string JSON value (number, object, null) becomes `None`.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

/// Reads a nested struct leniently: a value of the wrong shape becomes `None`.
// NOTE: only an object is a struct here; serde would also read a JSON array positionally, field by field.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(if value.is_object() { serde_json::from_value(value).ok() } else { None })
}

/// Reads `errorCode`: absent or `null` is a successful call; any other value, even a number, is a failure.
pub(crate) fn error_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// Keeps outside text in error messages and skip reasons to a readable length.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
