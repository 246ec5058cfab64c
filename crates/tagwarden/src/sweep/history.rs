//! Creators of what existed before: the create records CloudTrail's event history still holds (90 days).
//!
//! One pass of `LookupEvents` per create event name of the resource table (the API takes one lookup
//! attribute per call, and the names are far fewer events than all of SageMaker's), 50 events a page,
//! paced to the API's limit of 2 calls per second per account and region. Each successful SageMaker record
//! becomes the event the auto-tagger would have handled, kept by resource ARN ([`HistoryState::records`]),
//! so that the sweep tags such a resource exactly as the event path would have. Older resources (and
//! anything the history does not name) are swept as before, with an unknown creator.
//!
//! The pass is resumable: [`HistoryState`] holds the event names read to the end, the page the pass is at
//! and the records found; it stops at the sweep's deadline and goes on from there in the next run with the
//! same state. `LookupEvents` is not charged for; the pass costs time: at least one call per event name
//! ([`create_event_names`], the EventBridge rule's list, in its sorted order), then one per 50 creations, at
//! 2 calls a second.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::aws::{AwsError, ResultExt};
pub use crate::resource::create_event_names;
use crate::tagging::CreateCall;

/// `LookupEvents` allows 2 calls per second per account and region: the pause between two calls.
pub const LOOKUP_PACE: Duration = Duration::from_millis(500);

/// Events per `LookupEvents` page (the API's maximum).
const PAGE_SIZE: i32 = 50;

/// CloudTrail's event history, read by the sweep: a client and the pause between calls.
#[derive(Debug, Clone)]
pub struct EventHistory {
    client: aws_sdk_cloudtrail::Client,
    pace: Duration,
}

/// How far the pass over the event history got, and what it found (part of the sweep's checkpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryState {
    /// Create event names whose pages were all read.
    #[serde(default)]
    pub names_done: BTreeSet<String>,
    /// The event name being read and the token of its next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<(String, String)>,
    /// Each resource's create record as CloudTrail wrote it (JSON), by resource ARN.
    #[serde(default)]
    pub records: BTreeMap<String, String>,
    /// `LookupEvents` calls made, over all runs with this state.
    #[serde(default)]
    pub calls: u64,
}

impl HistoryState {
    /// Whether every create event name was read to the end.
    pub fn is_complete(&self) -> bool {
        create_event_names().iter().all(|name| self.names_done.contains(*name))
    }

    /// The create call that made `arn`, as the auto-tagger would have received it, if the history holds it.
    pub fn create_call(&self, arn: &str) -> Option<CreateCall> {
        let record: Value = serde_json::from_str(self.records.get(arn)?).ok()?;
        CreateCall::from_event(&envelope(record)).ok()
    }
}

/// The EventBridge event that delivers a CloudTrail record (what the auto-tagger's rule receives).
fn envelope(record: Value) -> Value {
    json!({
        "version": "0",
        "id": record.get("eventID").cloned().unwrap_or(Value::Null),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "detail": record,
    })
}

/// Keeps the records of successful SageMaker create calls among `events` (CloudTrail's JSON strings);
/// returns how many were kept. Pure.
fn keep_creates(state: &mut HistoryState, events: impl IntoIterator<Item = String>) -> usize {
    let mut kept = 0;
    for text in events {
        let Ok(record) = serde_json::from_str::<Value>(&text) else { continue };
        let Ok(call) = CreateCall::from_event(&envelope(record)) else { continue };
        // NOTE: newest first: a name reused after a delete keeps its latest creation.
        state.records.entry(call.arn_string()).or_insert_with(|| {
            kept += 1;
            text
        });
    }
    kept
}

impl EventHistory {
    /// The event history these clients' configuration reaches, paced at [`LOOKUP_PACE`].
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self { client: aws_sdk_cloudtrail::Client::new(config), pace: LOOKUP_PACE }
    }

    /// The same history with another pause between calls (the emulator has no rate limit).
    pub fn with_pace(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    /// Reads the history into `state` from where it stopped, until every create event name is read or
    /// `deadline` passes (returns `Ok(false)` then: rerun with the same state to go on).
    pub async fn read(&self, state: &mut HistoryState, deadline: Option<Instant>) -> Result<bool, AwsError> {
        let mut first = true;
        for name in create_event_names() {
            if state.names_done.contains(name) {
                continue;
            }
            let mut token = match state.at.take() {
                Some((at, token)) if at == name => Some(token),
                _ => None,
            };
            loop {
                if !first {
                    tokio::time::sleep(self.pace).await;
                }
                first = false;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    state.at = token.map(|t| (name.to_owned(), t));
                    return Ok(false);
                }
                let attribute = LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::EventName)
                    .attribute_value(name)
                    .build()
                    .map_err(|e| AwsError::Rejected {
                        operation: "LookupEvents",
                        code: "InvalidRequest".into(),
                        message: e.to_string(),
                    })?;
                let page = self
                    .client
                    .lookup_events()
                    .lookup_attributes(attribute)
                    .max_results(PAGE_SIZE)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .aws("LookupEvents")?;
                state.calls += 1;
                keep_creates(state, page.events().iter().filter_map(|e| e.cloud_trail_event().map(str::to_owned)));
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    state.names_done.insert(name.to_owned());
                    break;
                }
                state.at = token.clone().map(|t| (name.to_owned(), t));
            }
        }
        state.at = None;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event_source: &str, name: &str, arn: &str, error: Option<&str>) -> String {
        json!({
            "eventID": format!("e-{arn}"),
            "eventSource": event_source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "userIdentity": {"type": "IAMUser", "userName": "intern",
                             "arn": "arn:aws:iam::123456789012:user/intern"},
            "errorCode": error,
            "responseElements": {"modelArn": arn},
        })
        .to_string()
    }

    const MODEL: &str = "arn:aws:sagemaker:us-east-1:123456789012:model/churn";

    #[test]
    fn only_successful_sagemaker_creates_are_kept_and_the_newest_creation_of_a_name_wins() {
        let mut state = HistoryState::default();
        let newest = record("sagemaker.amazonaws.com", "CreateModel", MODEL, None);
        let events = [
            newest.clone(),
            record("sagemaker.amazonaws.com", "CreateModel", MODEL, None).replace("intern", "older"),
            record("sagemaker.amazonaws.com", "CreateModel", &MODEL.replace("churn", "failed"), Some("Throttling")),
            record("amplify.amazonaws.com", "CreateApp", "arn:aws:amplify:us-east-1:123456789012:apps/x", None),
            "not json".to_owned(),
        ];
        assert_eq!(keep_creates(&mut state, events), 1);
        assert_eq!(state.records.keys().collect::<Vec<_>>(), [MODEL]);
        assert_eq!(state.records[MODEL], newest);
        let call = state.create_call(MODEL).expect("the record is a create call");
        assert_eq!(call.subject().creator.name, "intern");
    }

    #[test]
    fn the_pass_reads_each_create_event_name_of_the_table_once() {
        let names = create_event_names();
        assert!(names.contains(&"CreateTrainingJob") && names.contains(&"CreateModel"));
        assert_eq!(names.len(), names.iter().collect::<BTreeSet<_>>().len());
        let mut state = HistoryState::default();
        assert!(!state.is_complete());
        state.names_done = names.iter().map(|n| (*n).to_owned()).collect();
        assert!(state.is_complete());
    }
}
