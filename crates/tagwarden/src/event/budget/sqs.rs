//! The continuation queue's records (one record per invocation, batch size 1):
//! - an enforcement that did not fit one invocation sends itself
//!   `{"tagwarden": "continue", "alert": "<MessageId>", "part": 2}`. The message only names the part; what to
//!   do is read from the ledger's claim, so a forged message can at most ask for a part that is already waiting;
//! - the idle schedule of an organization queues one `{"tagwarden": "idle", "account": "…", "region": "…",
//!   "at": "…"}` per place. The message only names a place and a tick: the rules come from the policy, and the
//!   enforcer runs them only in a place of the organization it can reach, for a recent tick.

use serde_json::{Map, Value};

use super::{AlertError, BudgetEvent, clip, command};

/// Whether the event is an SQS delivery (one or more records whose `eventSource` is `aws:sqs`).
pub(super) fn is_sqs(object: &Map<String, Value>) -> bool {
    let records = object.get("Records").and_then(Value::as_array);
    records.is_some_and(|r| r.iter().any(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")))
}

/// Reads the one SQS record's body as a `continue` command or a place's `idle` command; any other body is
/// refused.
pub(super) fn read_queued(object: &Map<String, Value>) -> Result<BudgetEvent, AlertError> {
    let records = object.get("Records").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let [record] = records else {
        return Err(AlertError::BadCommand(format!(
            "expected one continuation record (batch size 1), got {}",
            records.len()
        )));
    };
    let body = record.get("body").and_then(Value::as_str).unwrap_or_default();
    let parsed: Option<Map<String, Value>> = serde_json::from_str(body).ok();
    let command = parsed.as_ref().and_then(|b| b.get("tagwarden")).and_then(Value::as_str);
    match (command, &parsed) {
        (Some("continue"), Some(body)) => command::parse_command(&body["tagwarden"], body),
        (Some("idle"), Some(body)) => match command::parse_command(&body["tagwarden"], body)? {
            BudgetEvent::Idle => Err(AlertError::BadCommand(
                "an 'idle' message from the queue must name its place ('account', 'region', 'at')".into(),
            )),
            place => Ok(place),
        },
        _ => Err(AlertError::BadCommand(format!(
            "a message from the continuation queue must be a 'continue' or a place's 'idle' command, got {:?}",
            clip(body)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_budget_event;
    use super::*;
    use serde_json::json;

    fn sqs(body: &str) -> Value {
        json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": body,
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tagwarden-continuations"}]})
    }

    #[test]
    fn a_continuation_record_names_the_alert_and_the_part() {
        let event = sqs(r#"{"tagwarden": "continue", "alert": "0b1f-4c", "part": 3}"#);
        assert_eq!(parse_budget_event(&event), Ok(BudgetEvent::Continue { alert: "0b1f-4c".into(), part: 3 }));
    }

    #[test]
    fn a_places_idle_record_names_the_account_region_and_tick() {
        let event = sqs(
            r#"{"tagwarden": "idle", "account": "222222222222", "region": "eu-west-1", "at": "2026-12-08T19:05:00Z"}"#,
        );
        let Ok(BudgetEvent::IdleIn(place)) = parse_budget_event(&event) else { panic!("{event}") };
        assert_eq!((place.account.as_str(), place.region.as_str()), ("222222222222", "eu-west-1"));
        assert_eq!(place.at.to_rfc3339(), "2026-12-08T19:05:00+00:00");
    }

    #[test]
    fn any_other_queue_message_is_refused_with_what_it_was() {
        for (body, expected) in [
            ("{}", "must be a 'continue' or a place's 'idle' command, got \"{}\""),
            (r#"{"tagwarden": "restore"}"#, "must be a 'continue' or a place's 'idle' command"),
            ("not json", "must be a 'continue' or a place's 'idle' command, got \"not json\""),
            (r#"{"tagwarden": "idle"}"#, "an 'idle' message from the queue must name its place"),
            (r#"{"tagwarden": "idle", "account": "222222222222"}"#, "'region' is missing or empty"),
            (r#"{"tagwarden": "continue", "alert": "a", "part": 1}"#, "'part' must be a whole number from 2"),
            (r#"{"tagwarden": "continue", "part": 2}"#, "'continue' needs the alert's MessageId"),
        ] {
            let err = parse_budget_event(&sqs(body)).unwrap_err().to_string();
            assert!(err.contains(expected), "{body}: {err}");
        }
        let two =
            json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}, {"eventSource": "aws:sqs", "body": "{}"}]});
        let err = parse_budget_event(&two).unwrap_err().to_string();
        assert!(err.contains("expected one continuation record (batch size 1), got 2"), "{err}");
    }
}
