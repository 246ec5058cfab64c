//! Test fixtures shared by the parser's modules: alerts in AWS's layout, SNS events, and generators.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Value, json};

use super::parse_alert_message;

pub(super) const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";

/// An alert in AWS's layout: header, prose, then the given `Key: Value` lines and the dashboard link.
pub(super) fn message(prose: &str, lines: &[&str]) -> String {
    format!(
        "AWS Budget Notification November 27, 2026\nAWS Account 123456789012\n\nDear AWS Customer,\n\n{prose}\n\n{}\n\n[1] https://console.aws.amazon.com/billing/home#/budgets\n",
        lines.join("\n")
    )
}

pub(super) fn monthly(lines: &[&str]) -> String {
    message(
        "You requested that we alert you when the ACTUAL Cost associated with your ml-marketing budget is greater than $800.00 for the current month. The ACTUAL Cost associated with this budget is $812.40.",
        lines,
    )
}

pub(super) const ML_MARKETING: [&str; 6] = [
    "Budget Name: ml-marketing",
    "Budget Type: Cost",
    "Budgeted Amount: $1,000.00",
    "Alert Type: ACTUAL",
    "Alert Threshold: > $800.00",
    "ACTUAL Amount: $812.40",
];

pub(super) fn with(replace: (&str, &str)) -> String {
    let lines: Vec<&str> = ML_MARKETING
        .iter()
        .map(|l| if l.starts_with(replace.0) { replace.1 } else { *l })
        .filter(|l| !l.is_empty())
        .collect();
    monthly(&lines)
}

pub(super) fn error(text: &str) -> String {
    parse_alert_message(Some("AWS Budgets: ml-marketing has exceeded your alert threshold"), text)
        .unwrap_err()
        .to_string()
}

pub(super) fn sns(subject: Option<&str>, message: &str) -> Value {
    json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
        "Sns": {"Type": "Notification", "TopicArn": TOPIC, "Subject": subject, "Message": message}}]})
}

pub(super) fn line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("Budget Name"),
        Just("Budgeted Amount"),
        Just("Alert Type"),
        Just("Alert Threshold"),
        Just("ACTUAL Amount"),
        Just("FORECASTED Amount"),
        Just("AWS Account"),
    ];
    let value = prop_oneof![
        Just("ACTUAL".to_string()),
        Just("FORECASTED".to_string()),
        "[$€]?-?[0-9,.]{0,8} ?(USD|EUR|GB|%)?",
        "> ?[$]?[0-9,.]{1,6}%?",
        ".{0,12}",
    ];
    prop_oneof![
        (key, value).prop_map(|(k, v)| format!("{k}: {v}")),
        Just("for the current month. per day.".to_string()),
        ".{0,30}",
    ]
}

pub(super) fn json_ish() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("aws:sns".to_string()),
            Just("restore".to_string()),
            Just(monthly(&ML_MARKETING)),
            prop::collection::vec(line(), 0..8).prop_map(|l| l.join("\n")),
            ".{0,20}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("Records".to_string()),
            Just("EventSource".to_string()),
            Just("Sns".to_string()),
            Just("Message".to_string()),
            Just("Subject".to_string()),
            Just("TopicArn".to_string()),
            Just("tagwarden".to_string()),
            Just("budget".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map(keys, inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
