//! The queued sweep's pure core: what travels on the sweep queue and what a page decides.
//!
//! In: a schedule event (the run), the organization's accounts and regions, the kinds; an SQS event's
//! records. Out: the seed [`SweepMessage`]s (one per account × region × kind), the [`Step`] after a page
//! (the next page's message, or the type is complete), the ledger keys of a page's and a type's progress,
//! and the partial batch response Lambda reads (`batchItemFailures`). No I/O here: `worker.rs` sends,
//! lists, tags and writes the ledger.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::enforce::ledger::ProgressKey;
use crate::ids::is_account_id;
use crate::resource::{ResourceKind, kind_for_arn_type};

/// The message format this build writes and reads.
pub const MESSAGE_VERSION: u32 = 1;
/// A page cut short by the invocation's deadline is sent again at most this many times; after that its
/// type is recorded failed rather than looping.
pub const MAX_ATTEMPTS: u32 = 5;

/// One page of one resource type in one account and region: a message on the sweep queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepMessage {
    /// [`MESSAGE_VERSION`] of the build that wrote it; a newer one is refused, not guessed at.
    pub version: u32,
    /// The sweep run: the schedule event's time (or id); pages of one run are handled once.
    pub run: String,
    /// The account to list in.
    pub account: String,
    /// The region to list in.
    pub region: String,
    /// The ARN resource type (`training-job`).
    pub kind: String,
    /// The listing's `NextToken` for this page (`None`: the first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// This page's number in its type's listing (0 for the first): the ledger key of its progress.
    #[serde(default)]
    pub page: u32,
    /// How often this page was sent again after the deadline cut it short (0 the first time).
    #[serde(default)]
    pub attempt: u32,
}

/// Why a message body is not a sweep page this build can handle (a skip, never a retry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Not JSON, or not the message's shape.
    #[error("not a sweep message: {0}")]
    Malformed(String),
    /// Written by a newer build.
    #[error("sweep message version {0} is newer than this build's {MESSAGE_VERSION}")]
    Version(u32),
    /// The resource type is not in the resource table.
    #[error("unknown resource type {0:?}")]
    UnknownKind(String),
    /// The account or region is not one.
    #[error("{0}")]
    BadPlace(String),
}

impl SweepMessage {
    /// The first page of `kind` in `account` and `region`, for `run`.
    pub fn first(run: &str, account: &str, region: &str, kind: &ResourceKind) -> Self {
        Self {
            version: MESSAGE_VERSION,
            run: run.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
            kind: kind.arn_type.to_owned(),
            next_token: None,
            page: 0,
            attempt: 0,
        }
    }

    /// Reads a message body and its resource kind.
    pub fn parse(body: &str) -> Result<(Self, &'static ResourceKind), MessageError> {
        let value: Value = serde_json::from_str(body).map_err(|e| MessageError::Malformed(e.to_string()))?;
        // NOTE: the version is read first, so a newer message with other fields says so instead of "malformed".
        if let Some(version) = value.get("version").and_then(Value::as_u64)
            && version > u64::from(MESSAGE_VERSION)
        {
            return Err(MessageError::Version(u32::try_from(version).unwrap_or(u32::MAX)));
        }
        let message: Self = serde_json::from_value(value).map_err(|e| MessageError::Malformed(e.to_string()))?;
        let kind = kind_for_arn_type(&message.kind).ok_or_else(|| MessageError::UnknownKind(message.kind.clone()))?;
        if !is_account_id(&message.account) {
            return Err(MessageError::BadPlace(format!("{:?} is not an account id", message.account)));
        }
        let region_ok = !message.region.is_empty()
            && message.region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !region_ok {
            return Err(MessageError::BadPlace(format!("{:?} is not a region", message.region)));
        }
        Ok((message, kind))
    }

    /// The message as a queue body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The ledger key of this page's progress: `sweep#<run>` / `page#<account>#<region>#<kind>#<page>`.
    ///
    /// NOTE: keyed by the page's number, not its token: a page handled twice (a redelivery after its next
    /// page was sent) may get a different `NextToken` from AWS, and the number still names the same page, so
    /// the second chain stops at its first page.
    pub fn page_key(&self) -> ProgressKey {
        let sk = format!("page#{}#{}#{}#{:06}", self.account, self.region, self.kind, self.page);
        ProgressKey { pk: run_pk(&self.run), sk }
    }

    /// The ledger key of this type's completion in its account and region.
    pub fn type_key(&self) -> ProgressKey {
        ProgressKey { pk: run_pk(&self.run), sk: format!("type#{}#{}#{}", self.account, self.region, self.kind) }
    }

    /// "training-job in 111111111111/eu-west-1, page 3", for logs and reasons.
    pub fn describe(&self) -> String {
        format!("{} in {}/{}, page {}", self.kind, self.account, self.region, self.page)
    }
}

/// The ledger partition of a run's progress.
pub fn run_pk(run: &str) -> String {
    format!("sweep#{run}")
}

/// The ledger key of a run's own item (how many types it expects).
pub fn run_key(run: &str) -> ProgressKey {
    ProgressKey { pk: run_pk(run), sk: "run".into() }
}

/// What a schedule enqueues: the first page of every kind in every (account, regions), in that order.
pub fn seeds(run: &str, places: &[(String, Vec<String>)], kinds: &[&'static ResourceKind]) -> Vec<SweepMessage> {
    places
        .iter()
        .flat_map(|(account, regions)| regions.iter().map(move |region| (account, region)))
        .flat_map(|(account, region)| kinds.iter().map(move |kind| SweepMessage::first(run, account, region, kind)))
        .collect()
}

/// What follows a handled page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The listing goes on: send this message (the next page) before the page is reported done.
    Next(SweepMessage),
    /// That was the last page: the type is complete in this account and region.
    Complete,
}

/// The step after `message`'s page listed `next_token`.
pub fn after_page(message: &SweepMessage, next_token: Option<String>) -> Step {
    match next_token {
        Some(token) => Step::Next(SweepMessage {
            next_token: Some(token),
            page: message.page.saturating_add(1),
            attempt: 0,
            ..message.clone()
        }),
        None => Step::Complete,
    }
}

/// The same page again after the deadline cut it short, or `None` when it was tried [`MAX_ATTEMPTS`] times.
pub fn again(message: &SweepMessage) -> Option<SweepMessage> {
    let attempt = message.attempt.saturating_add(1);
    (attempt < MAX_ATTEMPTS).then(|| SweepMessage { attempt, ..message.clone() })
}

/// The sweep run a schedule event starts: its `time` (EventBridge keeps it on a redelivery, so a schedule
/// delivered twice seeds one run), else its `id`, else `now`. Only `[0-9A-Za-z:.-]` are kept.
pub fn run_id(event: &Value, now: &str) -> String {
    let raw = ["time", "id"].iter().find_map(|k| event.get(*k).and_then(Value::as_str)).unwrap_or(now);
    let kept: String = raw.chars().filter(|c| c.is_ascii_alphanumeric() || ":.-".contains(*c)).take(64).collect();
    if kept.is_empty() { now.chars().take(64).collect() } else { kept }
}

/// One record of an SQS event, as the worker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsRecord {
    /// The SQS message id: what `batchItemFailures` names.
    pub message_id: String,
    /// The message body.
    pub body: String,
    /// `attributes.ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: u32,
}

/// The records of an SQS event (`Records[].eventSource == "aws:sqs"`); `None` for any other event. A
/// record without a `messageId` cannot be reported and is left out.
pub fn sqs_records(event: &Value) -> Option<Vec<SqsRecord>> {
    let records = event.get("Records")?.as_array()?;
    let first = records.first()?;
    if first.get("eventSource").and_then(Value::as_str) != Some("aws:sqs") {
        return None;
    }
    let read = |r: &Value| {
        Some(SqsRecord {
            message_id: r.get("messageId")?.as_str()?.to_owned(),
            body: r.get("body").and_then(Value::as_str).unwrap_or_default().to_owned(),
            receive_count: r
                .pointer("/attributes/ApproximateReceiveCount")
                .and_then(Value::as_str)
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
        })
    };
    Some(records.iter().filter_map(read).collect())
}

/// The partial batch response: the message ids Lambda must deliver again (`ReportBatchItemFailures`).
pub fn batch_response<'a>(failed: impl IntoIterator<Item = &'a str>) -> Value {
    let failures: Vec<Value> = failed.into_iter().map(|id| serde_json::json!({ "itemIdentifier": id })).collect();
    serde_json::json!({ "batchItemFailures": failures })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> &'static ResourceKind {
        kind_for_arn_type(name).unwrap()
    }

    fn places() -> Vec<(String, Vec<String>)> {
        let regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
        ["111111111111", "222222222222", "333333333333"].iter().map(|a| (a.to_string(), regions.clone())).collect()
    }

    #[test]
    fn a_schedule_seeds_one_first_page_per_account_region_and_kind() {
        let kinds = [kind("model"), kind("training-job")];
        let seeded = seeds("2026-12-01T06:00:00Z", &places(), &kinds);
        assert_eq!(seeded.len(), 3 * 2 * 2);
        let keys: std::collections::BTreeSet<_> = seeded.iter().map(|m| m.page_key()).collect();
        assert_eq!(keys.len(), seeded.len(), "every seed has its own progress key");
        assert!(seeded.iter().all(|m| m.page == 0 && m.next_token.is_none() && m.version == MESSAGE_VERSION));
        assert_eq!(seeded[1].describe(), "training-job in 111111111111/us-east-1, page 0");
    }

    #[test]
    fn a_message_round_trips_and_a_page_with_a_token_leads_to_the_next_page() {
        let first = SweepMessage::first("r", "111111111111", "us-east-1", kind("model"));
        let (parsed, parsed_kind) = SweepMessage::parse(&first.body()).unwrap();
        assert_eq!((parsed.clone(), parsed_kind.arn_type), (first.clone(), "model"));
        let Step::Next(next) = after_page(&first, Some("t-1".into())) else { panic!("a next page") };
        assert_eq!((next.page, next.next_token.as_deref(), next.attempt), (1, Some("t-1"), 0));
        assert_eq!(next.type_key(), first.type_key(), "one type, one completion");
        assert_ne!(next.page_key(), first.page_key());
        assert_eq!(after_page(&next, None), Step::Complete);
    }

    #[test]
    fn the_same_page_is_the_same_key_whatever_token_aws_handed_out() {
        let first = SweepMessage::first("r", "111111111111", "us-east-1", kind("model"));
        let (Step::Next(a), Step::Next(b)) =
            (after_page(&first, Some("a".into())), after_page(&first, Some("b".into())))
        else {
            panic!("next pages")
        };
        assert_eq!(a.page_key(), b.page_key());
        assert_eq!(a.page_key().sk, "page#111111111111#us-east-1#model#000001");
        assert_eq!(a.page_key().pk, "sweep#r");
    }

    #[test]
    fn bad_newer_and_unknown_messages_are_refused_with_a_reason() {
        assert!(matches!(SweepMessage::parse("nope"), Err(MessageError::Malformed(_))));
        let newer = r#"{"version": 2, "something": "else"}"#;
        assert_eq!(SweepMessage::parse(newer).unwrap_err(), MessageError::Version(2));
        let mut message = SweepMessage::first("r", "111111111111", "us-east-1", kind("model"));
        message.kind = "trainingjob".into();
        assert!(matches!(SweepMessage::parse(&message.body()), Err(MessageError::UnknownKind(_))));
        message.kind = "model".into();
        message.account = "12".into();
        assert!(SweepMessage::parse(&message.body()).unwrap_err().to_string().contains("not an account id"));
        message.account = "111111111111".into();
        message.region = "US East".into();
        assert!(SweepMessage::parse(&message.body()).unwrap_err().to_string().contains("not a region"));
    }

    #[test]
    fn a_page_cut_short_is_sent_again_a_bounded_number_of_times() {
        let mut message = SweepMessage::first("r", "111111111111", "us-east-1", kind("model"));
        let mut sent = 0;
        while let Some(next) = again(&message) {
            assert_eq!(next.page_key(), message.page_key(), "the same page");
            message = next;
            sent += 1;
        }
        assert_eq!(sent, MAX_ATTEMPTS - 1);
    }

    #[test]
    fn the_run_is_the_schedules_time_cleaned_or_now() {
        let event = serde_json::json!({"id": "e-1", "time": "2026-12-01T06:00:00Z"});
        assert_eq!(run_id(&event, "now"), "2026-12-01T06:00:00Z");
        assert_eq!(run_id(&serde_json::json!({"id": "a#b c"}), "now"), "abc");
        assert_eq!(run_id(&serde_json::json!({}), "2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z");
        assert_eq!(run_id(&serde_json::json!({"time": "###"}), "later"), "later");
    }

    #[test]
    fn only_sqs_events_are_read_as_records_and_the_response_names_failed_ones() {
        let event = serde_json::json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m-1", "body": "{}", "attributes": {"ApproximateReceiveCount": "3"}},
            {"eventSource": "aws:sqs", "body": "no id"},
        ]});
        let records = sqs_records(&event).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].message_id.as_str(), records[0].receive_count), ("m-1", 3));
        assert!(sqs_records(&serde_json::json!({"Records": [{"EventSource": "aws:sns"}]})).is_none());
        assert!(sqs_records(&serde_json::json!({"source": "aws.events"})).is_none());
        assert_eq!(batch_response(["m-1"]), serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]}));
        assert_eq!(batch_response([]), serde_json::json!({"batchItemFailures": []}));
    }
}
