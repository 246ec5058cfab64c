//! The EventBridge envelope of a CloudTrail "AWS API Call via CloudTrail" event and its `detail` record.
//!
//! In: the auto-tagger's Lambda event, as JSON. Out: a [`CloudTrailEvent`] in which every field may be
//! missing; what is missing or malformed becomes a skip reason in `tagging/`, never a Lambda error.
//!
//! The envelope is read through `aws_lambda_events`' [`EventBridgeEvent`], with the tolerant [`ApiCall`] as
//! its `detail`. NOTE: `EventBridgeEvent` requires `detail-type` and `source` strings and fails the whole
//! event on a malformed `time`, `resources` or a non-string `id`; after a lenient first look (is it a JSON
//! object at all?) such an envelope is read field by field instead, with the same meaning, so that the skip
//! reason still names what is wrong. A test holds the two readings equal wherever both succeed.
//!
//! NOTE: the record is Tagwarden's own [`ApiCall`], not the crate's `cloudwatch_events::cloudtrail::AWSAPICall`
//! (whose feature is not enabled): that type has no `errorCode` field (a failed call must be skipped, not
//! tagged), requires `eventVersion`, `userIdentity`, `eventTime`, `sourceIPAddress`, `userAgent`,
//! `requestID`, `eventID` and `eventType` (and `attributes.creationDate` in a `sessionContext`), and reads
//! every string strictly. A record lacking one of them — service events and hand-forwarded records may, the
//! bad-input corpus does on purpose — would fail the whole event instead of being skipped with a reason.

use std::collections::BTreeMap;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{error_code, lenient, lenient_string};

/// An EventBridge event carrying a CloudTrail record; every field may be missing.
///
/// Deserialising it from anything but a JSON object fails (serde would read an array positionally).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloudTrailEvent {
    /// EventBridge event id.
    pub id: Option<String>,
    /// `AWS API Call via CloudTrail` for API calls.
    pub detail_type: Option<String>,
    /// `aws.sagemaker` for SageMaker events.
    pub source: Option<String>,
    /// Account the event was recorded in.
    pub account: Option<String>,
    /// Region the event was recorded in.
    pub region: Option<String>,
    /// The CloudTrail record.
    pub detail: Option<ApiCall>,
}

impl CloudTrailEvent {
    /// Reads an EventBridge event through `aws_lambda_events`, or field by field where its envelope is
    /// malformed; `None` when the event is not a JSON object.
    pub fn from_json(event: &Value) -> Option<Self> {
        let object = event.as_object()?;
        Some(match EventBridgeEvent::<Option<Detail>>::deserialize(event) {
            Ok(typed) => Self::typed(typed),
            Err(_) => Self::tolerant(object),
        })
    }

    /// The envelope as `aws_lambda_events` read it.
    fn typed(event: EventBridgeEvent<Option<Detail>>) -> Self {
        Self {
            id: event.id,
            detail_type: Some(event.detail_type),
            source: Some(event.source),
            account: event.account,
            region: event.region,
            detail: event.detail.and_then(|detail| detail.0),
        }
    }

    /// The envelope read field by field: a field of the wrong JSON type is absent.
    fn tolerant(object: &Map<String, Value>) -> Self {
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(String::from);
        Self {
            id: text("id"),
            detail_type: text("detail-type"),
            source: text("source"),
            account: text("account"),
            region: text("region"),
            detail: object.get("detail").and_then(read_detail),
        }
    }
}

impl<'de> Deserialize<'de> for CloudTrailEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_json(&value).ok_or_else(|| serde::de::Error::custom("an EventBridge event is a JSON object"))
    }
}

/// `detail` as `EventBridgeEvent` carries it: the tolerant [`ApiCall`] when it is an object, else absent.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
struct Detail(Option<ApiCall>);

impl<'de> Deserialize<'de> for Detail {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d).map(Detail)
    }
}

/// Reads a `detail` value: only an object is a record (serde would read an array positionally).
fn read_detail(value: &Value) -> Option<ApiCall> {
    value.is_object().then(|| ApiCall::deserialize(value).ok()).flatten()
}

/// A CloudTrail API-call record (`detail`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    /// `sagemaker.amazonaws.com` for SageMaker.
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_source: Option<String>,
    /// The API operation, e.g. `CreateTrainingJob`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_name: Option<String>,
    /// `AwsApiCall`, or `AwsServiceEvent` for work a service started by itself.
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_type: Option<String>,
    /// CloudTrail's id of the record.
    #[serde(default, rename = "eventID", deserialize_with = "lenient_string")]
    pub event_id: Option<String>,
    /// Region the call was made in.
    #[serde(default, deserialize_with = "lenient_string")]
    pub aws_region: Option<String>,
    /// The account the call was made to (where the resource is).
    #[serde(default, deserialize_with = "lenient_string")]
    pub recipient_account_id: Option<String>,
    /// Present when the call failed (a non-string code is kept as JSON text: it still means failure).
    #[serde(default, deserialize_with = "error_code")]
    pub error_code: Option<String>,
    /// Who made the call.
    #[serde(default, deserialize_with = "lenient")]
    pub user_identity: Option<UserIdentity>,
    /// The request, as CloudTrail recorded it (field names in camelCase).
    #[serde(default)]
    pub request_parameters: Option<Value>,
    /// The response, usually `null` for failed calls.
    #[serde(default)]
    pub response_elements: Option<Value>,
}

/// CloudTrail `userIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, `FederatedUser`, `IdentityCenterUser`, …
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// ARN of the caller (an STS assumed-role ARN for roles).
    #[serde(default, deserialize_with = "lenient_string")]
    pub arn: Option<String>,
    /// Account of the caller.
    #[serde(default, deserialize_with = "lenient_string")]
    pub account_id: Option<String>,
    /// IAM user name, for IAM users.
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_name: Option<String>,
    /// The service that acted, for `AWSService` identities.
    #[serde(default, deserialize_with = "lenient_string")]
    pub invoked_by: Option<String>,
    /// Role session details, for assumed roles.
    #[serde(default, deserialize_with = "lenient")]
    pub session_context: Option<SessionContext>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// The role (or federated user) that issued the session.
    #[serde(default, deserialize_with = "lenient")]
    pub session_issuer: Option<SessionIssuer>,
    /// Set by the assumer; SageMaker Studio puts the user profile name here.
    #[serde(default, deserialize_with = "lenient_string")]
    pub source_identity: Option<String>,
}

/// `sessionContext.sessionIssuer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// `Role` for assumed roles.
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// IAM ARN of the role, with its path.
    #[serde(default, deserialize_with = "lenient_string")]
    pub arn: Option<String>,
    /// The role's name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_name: Option<String>,
}

impl ApiCall {
    /// A string field of `requestParameters`, if present.
    pub fn request_str(&self, field: &str) -> Option<&str> {
        self.request_parameters.as_ref()?.get(field)?.as_str()
    }

    /// A string field of `responseElements`, if present.
    pub fn response_str(&self, field: &str) -> Option<&str> {
        self.response_elements.as_ref()?.get(field)?.as_str()
    }

    /// The caller's tags from `requestParameters.tags` (`[{"key", "value"}]`); malformed entries are ignored.
    pub fn request_tags(&self) -> BTreeMap<String, String> {
        let entries = self.request_parameters.as_ref().and_then(|p| p.get("tags")).and_then(Value::as_array);
        entries
            .into_iter()
            .flatten()
            .filter_map(|tag| {
                let key = tag.get("key").or_else(|| tag.get("Key"))?.as_str()?;
                let value = tag.get("value").or_else(|| tag.get("Value"));
                let value = value.and_then(Value::as_str).unwrap_or_default();
                Some((key.to_owned(), value.to_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn samples() -> Vec<(String, Value)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/auto-tagger");
        let mut samples: Vec<(String, Value)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap();
                (path.display().to_string(), serde_json::from_str(&text).unwrap())
            })
            .collect();
        samples.sort_by(|a, b| a.0.cmp(&b.0));
        samples
    }

    fn typed(event: &Value) -> Option<CloudTrailEvent> {
        EventBridgeEvent::<Option<Detail>>::deserialize(event).ok().map(CloudTrailEvent::typed)
    }

    #[test]
    fn every_sample_envelope_is_read_through_eventbridge_event_and_agrees_with_the_tolerant_reading() {
        let samples = samples();
        assert!(samples.len() >= 20, "samples went missing: {}", samples.len());
        for (file, event) in samples {
            let typed = typed(&event).unwrap_or_else(|| panic!("{file}: not an EventBridgeEvent"));
            assert_eq!(Some(&typed), CloudTrailEvent::from_json(&event).as_ref(), "{file}");
            assert_eq!(typed, CloudTrailEvent::tolerant(event.as_object().unwrap()), "{file}");
        }
    }

    #[test]
    fn a_malformed_envelope_is_read_field_by_field_instead_of_failing() {
        let event = json!({"id": 5, "time": "yesterday", "source": "aws.sagemaker", "resources": "x",
            "detail": {"eventName": "CreateModel", "errorCode": 403}});
        assert!(typed(&event).is_none());
        let parsed: CloudTrailEvent = serde_json::from_value(event).unwrap();
        assert_eq!((parsed.id, parsed.detail_type, parsed.source.as_deref()), (None, None, Some("aws.sagemaker")));
        let call = parsed.detail.unwrap();
        assert_eq!((call.event_name.as_deref(), call.error_code.as_deref()), (Some("CreateModel"), Some("403")));
    }

    #[test]
    fn only_a_json_object_is_an_event_and_only_an_object_is_a_detail() {
        for event in [json!(["id", "AWS API Call via CloudTrail", "aws.sagemaker"]), json!("x"), json!(null)] {
            assert!(serde_json::from_value::<CloudTrailEvent>(event.clone()).is_err(), "{event}");
            assert_eq!(CloudTrailEvent::from_json(&event), None);
        }
        let base = json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker"});
        for detail in [json!(["sagemaker.amazonaws.com", "CreateModel"]), json!("CreateModel"), json!(null)] {
            let mut event = base.clone();
            event["detail"] = detail;
            let parsed = CloudTrailEvent::from_json(&event).unwrap();
            assert_eq!(parsed.detail, None, "{event}");
            assert_eq!(parsed.source.as_deref(), Some("aws.sagemaker"));
        }
    }

    fn envelope() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            Just(json!("AWS API Call via CloudTrail")),
            Just(json!("aws.sagemaker")),
            Just(json!("2026-11-21T09:14:37Z")),
            Just(json!("yesterday")),
            Just(json!(null)),
            Just(json!(7)),
            Just(json!(["arn:aws:sagemaker:us-east-1:123456789012:model/m"])),
            Just(json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModel", "errorCode": null})),
            Just(json!({"eventName": 5, "userIdentity": [], "requestParameters": {"tags": []}})),
            Just(json!([1, 2])),
        ];
        let key = prop_oneof![
            Just("version"),
            Just("id"),
            Just("detail-type"),
            Just("source"),
            Just("account"),
            Just("time"),
            Just("region"),
            Just("resources"),
            Just("detail"),
        ];
        prop::collection::btree_map(key, text, 0..9)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }

    proptest! {
        #[test]
        fn the_typed_and_the_tolerant_reading_agree_wherever_the_typed_one_succeeds(event in envelope()) {
            let tolerant = CloudTrailEvent::tolerant(event.as_object().unwrap());
            if let Some(typed) = typed(&event) {
                prop_assert_eq!(typed, tolerant.clone());
            }
            prop_assert_eq!(CloudTrailEvent::from_json(&event), Some(tolerant));
        }
    }
}
