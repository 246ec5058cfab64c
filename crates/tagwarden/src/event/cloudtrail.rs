//! The EventBridge envelope of a CloudTrail "AWS API Call via CloudTrail" event and its `detail` record.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{error_code, lenient, lenient_string};

/// An EventBridge event carrying a CloudTrail record; every field may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CloudTrailEvent {
    /// EventBridge event id.
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// `AWS API Call via CloudTrail` for API calls.
    #[serde(default, rename = "detail-type", deserialize_with = "lenient_string")]
    pub detail_type: Option<String>,
    /// `aws.sagemaker` for SageMaker events.
    #[serde(default, deserialize_with = "lenient_string")]
    pub source: Option<String>,
    /// Account the event was recorded in.
    #[serde(default, deserialize_with = "lenient_string")]
    pub account: Option<String>,
    /// Region the event was recorded in.
    #[serde(default, deserialize_with = "lenient_string")]
    pub region: Option<String>,
    /// The CloudTrail record.
    #[serde(default, deserialize_with = "lenient")]
    pub detail: Option<ApiCall>,
}

/// A CloudTrail API-call record (`detail`).
#[derive(Debug, Clone, Default, Deserialize)]
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
#[derive(Debug, Clone, Default, Deserialize)]
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
#[derive(Debug, Clone, Default, Deserialize)]
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
#[derive(Debug, Clone, Default, Deserialize)]
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
