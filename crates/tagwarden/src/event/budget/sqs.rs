//! The continuation queue's records: an enforcement that did not fit one invocation sends itself
//! `{"tagwarden": "continue", "alert": "<MessageId>", "part": 2}` through SQS (one record per invocation,
//! batch size 1). The message only names the part; what to do is read from the ledger's claim, so a forged
//! message can at most ask for a part that is already waiting.

use serde_json::{Map, Value};

use super::{AlertError, BudgetEvent, clip, command};

/// Whether the event is an SQS delivery (one or more records whose `eventSource` is `aws:sqs`).
pub(super) fn is_sqs(object: &Map<String, Value>) -> bool {
    let records = object.get("Records").and_then(Value::as_array);
    records.is_some_and(|r| r.iter().any(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")))
}

/// Reads the one SQS record's body as a `continue` command; any other body is refused.
pub(super) fn read_continue(object: &Map<String, Value>) -> Result<BudgetEvent, AlertError> {
    let records = object.get("Records").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let [record] = records else {
        return Err(AlertError::BadCommand(format!(
            "expected one continuation record (batch size 1), got {}",
            records.len()
        )));
    };
    let body = record.get("body").and_then(Value::as_str).unwrap_or_default();
    let parsed: Option<Map<String, Value>> = serde_json::from_str(body).ok();
    match parsed {
        Some(body) if body.get("tagwarden").and_then(Value::as_str) == Some("continue") => {
            command::parse_command(&body["tagwarden"], &body)
        }
        _ => Err(AlertError::BadCommand(format!(
            "a message from the continuation queue must be a 'continue' command, got {:?}",
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
    fn any_other_queue_message_is_refused_with_what_it_was() {
        for (body, expected) in [
            ("{}", "must be a 'continue' command, got \"{}\""),
            (r#"{"tagwarden": "restore"}"#, "must be a 'continue' command"),
            ("not json", "must be a 'continue' command, got \"not json\""),
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
