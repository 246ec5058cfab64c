//! What the budget-enforcer receives: an AWS Budgets alert or a Cost Anomaly Detection alert delivered by
//! SNS, or a `restore` command.
//!
//! In: the SNS Lambda event (`{"Records":[{"EventSource":"aws:sns","Sns":{"Subject","Message","TopicArn"}}]}`)
//! whose `Message` is plain text — a prose paragraph, then `Key: Value` lines — or an anomaly's JSON
//! (an object with `anomalyId`), or the JSON command
//! `{"tagwarden": "restore", "budget": "ml-marketing"}` (no `budget` = all budgets).
//! Out: a [`BudgetEvent`] (with its [`SnsDelivery`], through [`parse_budget_envelope`]), or an [`AlertError`]
//! saying exactly what was wrong. Pure, no I/O.
//!
//! One module per layer: `sns` (the envelope, through `aws_lambda_events`), `message` (the alert's text),
//! `amount` (amounts and thresholds, read strictly: `1.234,56` is refused rather than guessed), `command`
//! (`restore`, `tick`, `burn`, `idle`, `approve`, `continue`), `sqs` (the queue's records), `alert` (what comes
//! out), `anomaly` (a cost anomaly's JSON), `error` (why not).

mod alert;
mod amount;
mod anomaly;
mod command;
mod error;
#[cfg(test)]
mod fixtures;
mod message;
mod sns;
mod sqs;

use serde_json::{Map, Value};

pub use alert::{AlertType, BudgetAlert, BudgetPeriod, Threshold, ThresholdKind};
pub use anomaly::{AnomalyAlert, AnomalyImpact, RootCause, is_monitor_arn, is_sagemaker_service, parse_anomaly};
pub use command::IdlePlace;
pub use error::AlertError;
pub use message::parse_alert_message;
pub use sns::{SnsDelivery, check_alert_topic};

pub(crate) use super::clip;

/// What the budget-enforcer was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum BudgetEvent {
    /// A budget crossed a threshold.
    Alert(BudgetAlert),
    /// Cost Anomaly Detection flagged a spike (boxed: it is the largest variant).
    Anomaly(Box<AnomalyAlert>),
    /// Undo what the ledger holds for one budget, or for all budgets when `budget` is `None`.
    Restore {
        /// The budget name.
        budget: Option<String>,
    },
    /// The schedule's tick: restore budgets whose period ended, carry out plans whose grace passed.
    Tick,
    /// The burn-rate schedule's tick: estimate each burn rule's scope, act on those over their limit.
    Burn,
    /// The idle rules' schedule: idle endpoints and off-hours (`{"tagwarden": "idle"}`).
    Idle,
    /// One place's share of an idle tick (queued by the schedule in an organization).
    IdleIn(IdlePlace),
    /// Carry out a pending plan.
    Approve {
        /// The plan id.
        plan: String,
    },
    /// Take the next part of an enforcement that did not fit one invocation.
    Continue {
        /// The SNS `MessageId` of the alert being enforced.
        alert: String,
        /// The part to take (2 or more).
        part: u32,
    },
}

/// A parsed event and the SNS delivery it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetEnvelope {
    /// The alert or command.
    pub event: BudgetEvent,
    /// The SNS record's facts (message id, topic); `None` for a command sent directly.
    pub sns: Option<SnsDelivery>,
}

/// Parses a Lambda event: SNS budget or anomaly alert, or a `{"tagwarden": "restore"}` command.
pub fn parse_budget_event(event: &Value) -> Result<BudgetEvent, AlertError> {
    parse_budget_envelope(event).map(|envelope| envelope.event)
}

/// Parses a Lambda event like [`parse_budget_event`], keeping what the SNS envelope says about the delivery.
pub fn parse_budget_envelope(event: &Value) -> Result<BudgetEnvelope, AlertError> {
    let Some(object) = event.as_object() else {
        return Err(AlertError::NotSns(format!("expected a JSON object, got {}", json_kind(event))));
    };
    if let Some(command) = object.get("tagwarden") {
        let event = command::parse_command(command, object)?;
        return Ok(BudgetEnvelope { event, sns: None });
    }
    if sqs::is_sqs(object) {
        return Ok(BudgetEnvelope { event: sqs::read_queued(object)?, sns: None });
    }
    let record = sns::read_record(event, object)?;
    let delivery = record.delivery;
    if let Ok(json) = serde_json::from_str::<Value>(record.message.trim())
        && anomaly::is_anomaly(&json)
    {
        let mut anomaly = parse_anomaly(&json)?;
        if anomaly.account_id.is_none() {
            anomaly.account_id = delivery.topic_arn.as_deref().and_then(arn_account).map(String::from);
        }
        anomaly.topic_arn = delivery.topic_arn.clone();
        return Ok(BudgetEnvelope { event: BudgetEvent::Anomaly(Box::new(anomaly)), sns: Some(delivery) });
    }
    let mut alert = parse_alert_message(delivery.subject.as_deref(), &record.message)?;
    if alert.account_id.is_none() {
        alert.account_id = delivery.topic_arn.as_deref().and_then(arn_account).map(String::from);
    }
    alert.topic_arn = delivery.topic_arn.clone();
    Ok(BudgetEnvelope { event: BudgetEvent::Alert(alert), sns: Some(delivery) })
}

/// The account field of an ARN (`arn:aws:sns:us-east-1:123456789012:topic`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|id| crate::ids::is_account_id(id))
}

/// `a string`, `an object`, … for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `keys: Records, detail-type` (at most six, clipped) for error messages.
fn keys_note(object: &Map<String, Value>) -> String {
    let mut keys: Vec<String> = object.keys().take(6).map(|k| clip(k)).collect();
    if object.len() > keys.len() {
        keys.push("…".into());
    }
    if keys.is_empty() { "no keys".into() } else { format!("keys: {}", keys.join(", ")) }
}
