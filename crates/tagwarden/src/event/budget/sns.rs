//! The SNS envelope of a budget alert: one record from `aws:sns` whose `Message` is the alert's text.
//!
//! In: the Lambda event, as JSON. A lenient first look ([`first_look`]) classifies everything that is not
//! one SNS record — not an object, no `Records` array, zero or two records, an SQS or S3 record, no `Sns`
//! object, no `Message` string — with the reason the enforcer's `rejected` outcome reports. What passes is
//! then read through `aws_lambda_events`' [`SnsEvent`]. Out: the message text and an [`SnsDelivery`].
//!
//! NOTE: `SnsEvent` requires every field SNS itself delivers (`EventVersion`, `EventSubscriptionArn`,
//! `Sns.MessageId`, `Timestamp`, `Signature`, `SigningCertUrl`, `UnsubscribeUrl`, …) and fails the whole
//! event on one wrongly typed field. Real deliveries carry all of them, but hand-written events (replays,
//! tests, the bad-input corpus) often carry no more than `Sns.Message`. Such a record is read from the first
//! look instead, field by field and with the same meaning, and [`SnsDelivery::complete`] says which reading
//! it was: the crate's type reads real deliveries; it does not decide what the enforcer accepts.

use aws_lambda_events::event::sns::SnsEvent;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{AlertError, clip, json_kind, keys_note};

/// What the SNS envelope says besides the message: the facts the enforcer de-duplicates on and checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnsDelivery {
    /// `Sns.MessageId`: SNS delivers at least once, with the same id on every retry.
    pub message_id: Option<String>,
    /// `Sns.TopicArn`: the topic the alert was published to.
    pub topic_arn: Option<String>,
    /// `Sns.Subject`; AWS Budgets names the budget there.
    pub subject: Option<String>,
    /// The record carried every field SNS delivers and was read through `aws_lambda_events`' [`SnsEvent`];
    /// `false` for a hand-written record (no signature, no timestamp).
    pub complete: bool,
}

/// Checks where an alert came from: an SNS delivery naming one of the `allowed` alerts topics. No I/O.
///
/// NOTE: a direct `lambda:InvokeFunction` can forge a whole envelope; this check stops alerts published to any
/// other topic and raw invocations, the budget's own figures (`verify`) stop the rest.
pub fn check_alert_topic(delivery: Option<&SnsDelivery>, allowed: &[String]) -> Result<(), AlertError> {
    if allowed.is_empty() {
        return Err(AlertError::NoAlertTopics);
    }
    let Some(topic) = delivery.and_then(|d| d.topic_arn.as_deref()) else {
        return Err(AlertError::NotFromTopic);
    };
    if allowed.iter().any(|a| a == topic) {
        return Ok(());
    }
    Err(AlertError::ForgedTopic { topic: clip(topic), allowed: allowed.join(", ") })
}

/// One SNS record: its message text and the envelope's facts.
#[derive(Debug)]
pub(super) struct SnsRecord {
    /// `Sns.Message`: the alert's text.
    pub(super) message: String,
    /// The rest of the envelope.
    pub(super) delivery: SnsDelivery,
}

/// Reads the one SNS record of `event` (whose top level is `object`), or says why it is not one.
pub(super) fn read_record(event: &Value, object: &Map<String, Value>) -> Result<SnsRecord, AlertError> {
    let look = first_look(object)?;
    // NOTE: the first look saw exactly one record, so a typed event has exactly one too.
    let typed = SnsEvent::deserialize(event).ok().and_then(|typed| typed.records.into_iter().next());
    match typed {
        Some(record) => Ok(SnsRecord {
            message: record.sns.message,
            delivery: SnsDelivery {
                message_id: Some(record.sns.message_id),
                topic_arn: Some(record.sns.topic_arn),
                subject: record.sns.subject,
                complete: true,
            },
        }),
        None => Ok(SnsRecord {
            message: look.message.to_owned(),
            delivery: SnsDelivery {
                message_id: look.message_id.map(String::from),
                topic_arn: look.topic_arn.map(String::from),
                subject: look.subject.map(String::from),
                complete: false,
            },
        }),
    }
}

/// The fields of the one record, read leniently: a field of the wrong JSON type is absent.
struct FirstLook<'a> {
    message: &'a str,
    message_id: Option<&'a str>,
    topic_arn: Option<&'a str>,
    subject: Option<&'a str>,
}

/// Finds the one SNS record and its `Message` string without requiring anything else.
fn first_look(object: &Map<String, Value>) -> Result<FirstLook<'_>, AlertError> {
    let records = match object.get("Records") {
        Some(Value::Array(records)) => records,
        Some(other) => {
            return Err(AlertError::NotSns(format!("'Records' is {}, not an array", json_kind(other))));
        }
        None => {
            return Err(AlertError::NotSns(format!("no 'Records' array ({})", keys_note(object))));
        }
    };
    let [record] = records.as_slice() else {
        return Err(AlertError::RecordCount(records.len()));
    };
    // NOTE: SNS spells it `EventSource`; SQS, S3 and DynamoDB streams spell it `eventSource`.
    let source = ["EventSource", "eventSource"].iter().find_map(|key| record.get(key).and_then(Value::as_str));
    if let Some(source) = source.filter(|s| *s != "aws:sns") {
        return Err(AlertError::NotSns(format!("the record comes from '{}'", clip(source))));
    }
    let Some(sns) = record.get("Sns").and_then(Value::as_object) else {
        return Err(AlertError::NotSns("the record has no 'Sns' object".into()));
    };
    let Some(message) = sns.get("Message").and_then(Value::as_str) else {
        return Err(AlertError::NotSns("'Sns' has no 'Message' string".into()));
    };
    let field = |key: &str| sns.get(key).and_then(Value::as_str);
    Ok(FirstLook { message, message_id: field("MessageId"), topic_arn: field("TopicArn"), subject: field("Subject") })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{BudgetEvent, parse_budget_envelope, parse_budget_event};
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// An SNS record as SNS delivers it to Lambda, every field present.
    fn delivered(message: &str) -> Value {
        json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("{TOPIC}:3f1c2a9e-5b7d-4e21-9c0a-6d8e4b2f7101"),
            "Sns": {
                "Type": "Notification",
                "MessageId": "9a6d2f4e-81c3-5b0a-a7e2-0c5f3d1b8e01",
                "TopicArn": TOPIC,
                "Subject": "AWS Budgets: ml-marketing has exceeded your alert threshold",
                "Message": message,
                "Timestamp": "2026-11-21T09:14:37.512Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {}
            }
        }]})
    }

    #[test]
    fn sns_event_yields_the_alert_with_its_topic_and_the_topic_account_as_fallback() {
        let text = monthly(&ML_MARKETING).replace("AWS Account 123456789012\n", "");
        let Ok(BudgetEvent::Alert(alert)) = parse_budget_event(&sns(None, &text)) else {
            panic!("expected an alert");
        };
        assert_eq!(alert.topic_arn.as_deref(), Some(TOPIC));
        assert_eq!(alert.account_id.as_deref(), Some("123456789012"));
        let json = serde_json::to_value(&alert).unwrap();
        assert_eq!(json["alert_type"], "ACTUAL");
        assert_eq!(json["period"], "monthly");
        assert_eq!(json["threshold"]["kind"], "absolute");
    }

    #[test]
    fn events_that_are_not_one_sns_record_are_refused_with_the_reason() {
        let cases = [
            (json!("hello"), "not an SNS event: expected a JSON object, got a string"),
            (
                json!({"detail-type": "x", "source": "aws.sagemaker"}),
                "not an SNS event: no 'Records' array (keys: detail-type, source)",
            ),
            (json!({"Records": {}}), "not an SNS event: 'Records' is an object, not an array"),
            (json!({"Records": []}), "expected one SNS record, got 0"),
            (json!({"Records": [{}, {}, {}]}), "expected one SNS record, got 3"),
            (
                json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]}),
                "not an SNS event: the record comes from 'aws:s3'",
            ),
            (json!({"Records": [{"EventSource": "aws:sns"}]}), "not an SNS event: the record has no 'Sns' object"),
            (json!({"Records": [{"Sns": {"Message": 5}}]}), "not an SNS event: 'Sns' has no 'Message' string"),
        ];
        for (event, expected) in cases {
            assert_eq!(parse_budget_event(&event).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn a_delivered_record_is_read_through_the_sns_event_type_with_its_message_id() {
        let envelope = parse_budget_envelope(&delivered(&monthly(&ML_MARKETING))).unwrap();
        let sns = envelope.sns.unwrap();
        assert!(sns.complete);
        assert_eq!(sns.message_id.as_deref(), Some("9a6d2f4e-81c3-5b0a-a7e2-0c5f3d1b8e01"));
        assert_eq!(sns.topic_arn.as_deref(), Some(TOPIC));
        assert_eq!(sns.subject.as_deref(), Some("AWS Budgets: ml-marketing has exceeded your alert threshold"));
    }

    #[test]
    fn a_hand_written_record_reads_the_same_facts_from_the_first_look() {
        let mut event = delivered(&monthly(&ML_MARKETING));
        let full = parse_budget_envelope(&event).unwrap();
        for field in ["Signature", "Timestamp", "SigningCertUrl"] {
            event["Records"][0]["Sns"].as_object_mut().unwrap().remove(field);
        }
        event["Records"][0].as_object_mut().unwrap().remove("EventVersion");
        let partial = parse_budget_envelope(&event).unwrap();
        assert_eq!(partial.event, full.event);
        let sns = partial.sns.unwrap();
        assert!(!sns.complete);
        assert_eq!(SnsDelivery { complete: true, ..sns }, full.sns.unwrap());
    }

    #[test]
    fn wrongly_typed_envelope_fields_read_as_absent_instead_of_failing_the_alert() {
        let mut event = delivered(&monthly(&ML_MARKETING));
        event["Records"][0]["Sns"]["MessageId"] = json!(7);
        event["Records"][0]["Sns"]["Subject"] = json!(["x"]);
        event["Records"][0]["Sns"]["Timestamp"] = json!("yesterday");
        let envelope = parse_budget_envelope(&event).unwrap();
        let sns = envelope.sns.unwrap();
        assert_eq!((sns.message_id, sns.subject, sns.complete), (None, None, false));
        assert!(matches!(envelope.event, BudgetEvent::Alert(_)));
    }

    #[test]
    fn only_alerts_delivered_from_a_configured_topic_pass_the_topic_check() {
        let allowed = vec![TOPIC.to_owned()];
        let envelope = parse_budget_envelope(&delivered(&monthly(&ML_MARKETING))).unwrap();
        assert_eq!(check_alert_topic(envelope.sns.as_ref(), &allowed), Ok(()));

        let mut forged = delivered(&monthly(&ML_MARKETING));
        forged["Records"][0]["Sns"]["TopicArn"] = serde_json::json!("arn:aws:sns:us-east-1:123456789012:anyone");
        let envelope = parse_budget_envelope(&forged).unwrap();
        let err = check_alert_topic(envelope.sns.as_ref(), &allowed).unwrap_err().to_string();
        assert!(err.contains("'arn:aws:sns:us-east-1:123456789012:anyone'") && err.contains(TOPIC), "{err}");

        let mut raw = delivered(&monthly(&ML_MARKETING));
        raw["Records"][0]["Sns"].as_object_mut().unwrap().remove("TopicArn");
        let envelope = parse_budget_envelope(&raw).unwrap();
        let err = check_alert_topic(envelope.sns.as_ref(), &allowed).unwrap_err();
        assert_eq!(err, AlertError::NotFromTopic);
        assert!(err.to_string().contains("must arrive through the alerts topic"));
        assert_eq!(check_alert_topic(None, &allowed), Err(AlertError::NotFromTopic));
        assert_eq!(check_alert_topic(envelope.sns.as_ref(), &[]), Err(AlertError::NoAlertTopics));
    }

    proptest! {
        #[test]
        fn any_json_is_an_event_or_an_error_with_a_message(value in json_ish()) {
            if let Err(e) = parse_budget_event(&value) {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        #[test]
        fn the_typed_and_the_lenient_reading_of_a_record_agree(
            drop in prop::collection::vec(0usize..8, 0..4),
            text in prop_oneof![Just(monthly(&ML_MARKETING)), ".{0,40}"],
        ) {
            let full = delivered(&text);
            let mut event = full.clone();
            let sns = event["Records"][0]["Sns"].as_object_mut().unwrap();
            // NOTE: the message, topic and subject are what the alert is made of; the rest is delivery metadata.
            let keep = ["Message", "TopicArn", "Subject"];
            let keys: Vec<String> = sns.keys().filter(|k| !keep.contains(&k.as_str())).cloned().collect();
            for i in drop {
                if let Some(key) = keys.get(i % keys.len()) {
                    sns.remove(key);
                }
            }
            let (typed, lenient) = (parse_budget_envelope(&full), parse_budget_envelope(&event));
            match (typed, lenient) {
                (Ok(typed), Ok(lenient)) => {
                    prop_assert_eq!(&typed.event, &lenient.event);
                    let typed_sns = typed.sns.unwrap();
                    let lenient_sns = lenient.sns.unwrap();
                    prop_assert!(typed_sns.complete);
                    let kept = |key: &str, value: Option<String>| {
                        if event["Records"][0]["Sns"].get(key).is_some() { value } else { None }
                    };
                    prop_assert_eq!(lenient_sns.message_id, kept("MessageId", typed_sns.message_id));
                    prop_assert_eq!(lenient_sns.topic_arn, typed_sns.topic_arn);
                }
                (Err(typed), Err(lenient)) => prop_assert_eq!(typed.to_string(), lenient.to_string()),
                (typed, lenient) => prop_assert!(false, "typed {typed:?} but lenient {lenient:?}"),
            }
        }
    }
}
