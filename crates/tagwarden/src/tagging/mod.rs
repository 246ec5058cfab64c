//! The auto-tagger: a CloudTrail create event in, tags on the new SageMaker resource out.
//!
//! [`CreateCall::from_event`] decides whether an event is ours (pure), [`plan`] decides the tags (pure),
//! [`apply`] reads the sources and writes the difference. [`AutoTagger::handle`] is the Lambda handler's
//! whole body; the CLI's `replay` calls the same function.

pub mod apply;
mod calls;
mod evidence;
mod idle;
pub mod org;
pub mod plan;
pub mod profiles;
pub mod reserved;
mod sources;
pub mod tamper;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

pub use crate::tag_rules as rules;
pub use apply::AutoTagger;
pub use plan::{SourceLayer, TagPlan, TagSources, Tags, plan_tags};

use crate::aws::AwsError;
use crate::event::budget::clip;
use crate::event::{ApiCall, CloudTrailEvent};
use crate::identity::{Creator, Via};
use crate::resource::{ArnScope, Owner, ResourceKind, SageMakerArn, kind_for_event};

/// The result of handling one event; serialises to the JSON the Lambda returns and `replay` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Tags were written.
    Tagged(Report),
    /// Someone changed or removed protected tags; their right values were written back.
    Restored(Report),
    /// The resource already carried what the policy asks for; nothing was written.
    Unchanged(Report),
    /// The event is not for the auto-tagger, or the resource cannot be tagged.
    Skipped(Skip),
    /// A Studio user profile was deleted: its budgets as the catalog's `per: user-profile` entries name them.
    ProfileBudgets(profiles::ProfileBudgetsReport),
    /// A failure that retrying will not fix (e.g. missing permission, tag rejected by SageMaker).
    Failed {
        /// What failed.
        reason: String,
        /// The resource.
        resource_arn: String,
    },
}

/// Why an event was skipped, and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// Why, for people.
    pub reason: String,
    /// The CloudTrail event name, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// The resource, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
}

impl Skip {
    /// A skip with a reason and what is known of the event.
    pub fn new(reason: impl Into<String>, event_name: Option<&str>, resource_arn: Option<&str>) -> Self {
        Self {
            reason: reason.into(),
            event_name: event_name.map(str::to_owned),
            resource_arn: resource_arn.map(str::to_owned),
        }
    }
}

impl Outcome {
    /// A skip with a reason and what is known of the event.
    pub fn skipped(reason: impl Into<String>, event_name: Option<&str>, resource_arn: Option<&str>) -> Self {
        Self::Skipped(Skip::new(reason, event_name, resource_arn))
    }

    /// `tagged`, `restored`, `unchanged`, `skipped`, `profile-budgets` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Tagged(_) => "tagged",
            Self::Restored(_) => "restored",
            Self::Unchanged(_) => "unchanged",
            Self::Skipped(_) => "skipped",
            Self::ProfileBudgets(_) => "profile-budgets",
            Self::Failed { .. } => "failed",
        }
    }
}

/// What the auto-tagger found and did for one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The resource.
    pub resource_arn: String,
    /// Its kind, e.g. `training-job`.
    pub resource_type: &'static str,
    /// The create call.
    pub event_name: String,
    /// Who created it.
    pub creator: Creator,
    /// The parent whose tags were inherited (tuning job, pipeline), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_arn: Option<String>,
    /// Tags written (added or corrected).
    pub added: Tags,
    /// Misspelt keys deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// Where each written value came from.
    pub origins: std::collections::BTreeMap<String, String>,
    /// Required keys still without a valid value.
    pub missing_required: Vec<String>,
    /// Whether a non-compliance notification was published.
    pub notified: bool,
    /// Things a person should know (rejected values, unreadable sources, the 50-tag limit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Who changed protected tags (a restore) or wrote reserved `tagwarden:` keys (removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    /// The resource's name from its create request, when its ARN names it by an id (a HyperPod cluster's
    /// `cluster/<id>`, MLflow and partner apps' `app-…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// A new user profile's budgets (the catalog's `per: user-profile` entries) and what was done to each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<crate::budgets::profile::ProfileBudget>,
    /// A domain's, profile's or space's idle shutdown against its `idle.studio` rule, when one matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle: Option<crate::studio_idle::apply::IdleReport>,
}

/// The auto-tagger's only failure: an AWS call that may succeed if the event is retried.
#[derive(Debug, thiserror::Error)]
#[error("retryable: {0}")]
pub struct RetryableError(#[from] pub AwsError);

impl From<RetryableError> for lambda_runtime::Diagnostic {
    fn from(err: RetryableError) -> Self {
        let kind = match &err.0 {
            AwsError::Throttled { .. } => "Tagwarden.Retryable.Throttled",
            _ => "Tagwarden.Retryable.Unavailable",
        };
        Self { error_type: kind.into(), error_message: err.to_string() }
    }
}

/// A successful SageMaker create call that the auto-tagger handles.
#[derive(Debug, Clone)]
pub struct CreateCall {
    /// The kind of resource created.
    pub kind: &'static ResourceKind,
    /// The new resource's ARN, from `responseElements`.
    pub arn: SageMakerArn,
    /// The CloudTrail record.
    pub call: ApiCall,
    /// The EventBridge event id, for logs and notifications.
    pub event_id: Option<String>,
}

impl CreateCall {
    /// Decides whether an event is a successful SageMaker create call Tagwarden handles; otherwise the
    /// reason to skip it.
    pub fn from_event(event: &Value) -> Result<Self, Skip> {
        let not_an_object = || Skip::new("not an EventBridge event: the payload is not a JSON object", None, None);
        // NOTE: serde would also read a JSON array positionally as the envelope's fields.
        if !event.is_object() {
            return Err(not_an_object());
        }
        let parsed: CloudTrailEvent = serde_json::from_value(event.clone()).map_err(|_| not_an_object())?;
        let Some(call) = parsed.detail else {
            return Err(Skip::new("not a CloudTrail event: no detail", None, None));
        };
        let name = call.event_name.as_deref();
        let skip = |reason: String| Skip::new(reason, name, None);
        if let Some(detail_type) = parsed.detail_type.as_deref()
            && detail_type != "AWS API Call via CloudTrail"
        {
            return Err(skip(format!("not a CloudTrail API call: detail-type {:?}", clip(detail_type))));
        }
        let source = parsed.source.as_deref().or(call.event_source.as_deref());
        if source != Some("aws.sagemaker") || call.event_source.as_deref() != Some("sagemaker.amazonaws.com") {
            return Err(skip(format!(
                "not a SageMaker event: source {}",
                clip(call.event_source.as_deref().or(source).unwrap_or("missing"))
            )));
        }
        let Some(event_name) = name else {
            return Err(skip("no eventName".into()));
        };
        if let Some(code) = &call.error_code {
            return Err(skip(format!("failed call: {}", clip(code))));
        }
        let Some(kind) = kind_for_event(event_name) else {
            let event_name = clip(event_name);
            return Err(skip(format!("unsupported operation: {event_name} is not a create call Tagwarden handles")));
        };
        let parsed_arn = if kind.arn_from_name {
            // NOTE: the create call returns no ARN (edge packaging): built from the request's name in the
            // call's region and account, in the region's partition.
            let account = call
                .recipient_account_id
                .as_deref()
                .or(call.user_identity.as_ref().and_then(|u| u.account_id.as_deref()));
            let (Some(resource), Some(region), Some(account)) =
                (call.request_str(kind.name_field), call.aws_region.as_deref(), account)
            else {
                return Err(skip(format!("no {}, awsRegion or account to build the ARN from", kind.name_field)));
            };
            ArnScope::new(region, account).arn(kind, resource)
        } else {
            let Some(arn) = call.response_str(kind.arn_field) else {
                return Err(skip(format!("no {} in responseElements", kind.arn_field)));
            };
            let Some(parsed_arn) = SageMakerArn::parse(arn) else {
                return Err(skip(format!("{} is not a SageMaker ARN: {:?}", kind.arn_field, clip(arn))));
            };
            parsed_arn
        };
        if let Some(refusal) = kind.refusal(&parsed_arn) {
            return Err(Skip::new(refusal.to_string(), name, Some(&parsed_arn.to_string())));
        }
        Ok(Self { kind, arn: parsed_arn, event_id: parsed.id.or_else(|| call.event_id.clone()), call })
    }

    /// The resource's name from the request, when the ARN does not carry it (it names the resource by an
    /// id: HyperPod clusters, MLflow and partner apps).
    pub fn name_if_not_in_arn(&self) -> Option<&str> {
        let name = self.call.request_str(self.kind.name_field)?;
        (!self.arn.name().eq_ignore_ascii_case(name)).then_some(name)
    }

    /// The full ARN string.
    pub fn arn_string(&self) -> String {
        self.arn.to_string()
    }

    /// The CloudTrail event name.
    pub fn event_name(&self) -> &str {
        self.kind.create_event
    }

    /// The resource and what the event tells of its origin: the creator from `userIdentity`, the domain,
    /// the owning profile of an app or space, and an app's space, from `requestParameters`.
    pub fn subject(&self) -> Subject {
        let owner = match self.kind.owner {
            Owner::App => self.call.request_str("userProfileName").map(|n| (n.to_owned(), Via::RequestUserProfile)),
            Owner::Space => self
                .call
                .request_parameters
                .as_ref()
                .and_then(|p| p.pointer("/ownershipSettings/ownerUserProfileName"))
                .and_then(Value::as_str)
                .map(|n| (n.to_owned(), Via::SpaceOwner)),
            Owner::None => None,
        };
        Subject {
            kind: self.kind,
            arn: self.arn.clone(),
            creator: Creator::from_identity(self.call.user_identity.as_ref()),
            domain_id: self.call.request_str("domainId").map(str::to_owned),
            owner_profile: owner,
            space_name: self.call.request_str("spaceName").map(str::to_owned),
            event_id: self.event_id.clone(),
            request_tags: self.call.request_tags(),
            provenance: Provenance::of_call(self.call.user_identity.as_ref()),
        }
    }

    /// [`CreateCall::subject`] with the policy's own machine session names applied to the creator
    /// ([`Creator::with_machine_sessions`]): what the event path tags by.
    pub fn subject_under(&self, policy: &crate::policy::TagPolicy) -> Subject {
        let mut subject = self.subject();
        subject.creator = subject.creator.with_machine_sessions(&policy.machine_sessions);
        subject
    }
}

/// Who wrote a resource's create request, which decides what its `sagemaker:` tags prove
/// ([`evidence`](self::evidence)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// SageMaker itself made the call (`invokedBy: sagemaker.amazonaws.com`, written by CloudTrail): a
    /// tuning child, a pipeline step.
    SageMaker,
    /// A person or a tool made the call: the tags in its request are claims.
    Caller,
    /// No create record (the sweep, a tamper restore): every tag on the resource is a claim.
    Unrecorded,
}

impl Provenance {
    /// The provenance of a create call from its `userIdentity`.
    pub fn of_call(identity: Option<&crate::event::UserIdentity>) -> Self {
        match identity.and_then(|i| i.invoked_by.as_deref()) {
            Some(evidence::SAGEMAKER_SERVICE) => Self::SageMaker,
            _ => Self::Caller,
        }
    }
}

/// A resource to tag and what is known of its origin before its tags are read: built from a CloudTrail
/// event ([`CreateCall::subject`]) or by the sweep from a listing (creator unknown, execution role known).
#[derive(Debug, Clone)]
pub struct Subject {
    /// The kind of resource.
    pub kind: &'static ResourceKind,
    /// The resource's ARN.
    pub arn: SageMakerArn,
    /// Who created it as far as known; refined from Studio's tags on the resource once they are read.
    pub creator: Creator,
    /// The Studio domain id, when the request or the listing names it.
    pub domain_id: Option<String>,
    /// The owning user profile of an app or space, and how it was found (e.g. [`Via::SpaceOwner`]).
    pub owner_profile: Option<(String, Via)>,
    /// An app's space name, when the app lives in a space.
    pub space_name: Option<String>,
    /// The EventBridge event id, for notifications.
    pub event_id: Option<String>,
    /// The tags the caller passed in the create request (empty without one): never the value of a
    /// protected key.
    pub request_tags: Tags,
    /// Who wrote the create request, if it is known.
    pub provenance: Provenance,
}

impl Subject {
    /// An existing resource with no create record (a tamper restore): the creator is worked out from the
    /// resource's own tags (Studio's system tags) and, for Studio kinds, the domain in its ARN.
    pub fn for_resource(kind: &'static ResourceKind, arn: SageMakerArn, event_id: Option<String>) -> Self {
        let domain_id = arn.domain_id(kind).map(str::to_owned);
        Self {
            kind,
            arn,
            creator: Creator::from_identity(None),
            domain_id,
            owner_profile: None,
            space_name: None,
            event_id,
            request_tags: Tags::new(),
            provenance: Provenance::Unrecorded,
        }
    }
}

/// How [`AutoTagger::tag_resource`] carries out its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagOptions {
    /// Plan and report, write nothing (no AddTags, DeleteTags or notification).
    pub dry_run: bool,
    /// Publish a non-compliance notification when required keys stay missing.
    pub notify: bool,
    /// On domains, user profiles and spaces, keep their own values of protected keys instead of putting
    /// the domain's in: they are the sources of everything else (the sweep; new ones follow the policy).
    pub keep_source_values: bool,
}

impl Default for TagOptions {
    /// What the event path does: write, and notify.
    fn default() -> Self {
        Self { dry_run: false, notify: true, keep_source_values: false }
    }
}

/// Runtime settings of the auto-tagger besides the policy.
#[derive(Debug, Clone)]
pub struct TaggerSettings {
    /// How long source tags (profiles, domains, roles) are cached across warm invocations.
    pub cache_ttl: Duration,
    /// How many cached entries at most.
    pub cache_capacity: usize,
    /// IAM roles or users (ARNs) whose tag changes are Tagwarden's own, e.g. the budget-enforcer's role;
    /// the function's own principal is recognised without being listed.
    pub trusted_principals: Vec<String>,
    /// Where the last known values of the tag sources are kept ([`tamper`]); `None`: a tampered source is
    /// restored from its own sources, as the outcome then says.
    pub ledger: Option<crate::enforce::ledger::LedgerTable>,
}

impl Default for TaggerSettings {
    fn default() -> Self {
        Self { cache_ttl: Duration::from_secs(300), cache_capacity: 2048, trusted_principals: Vec::new(), ledger: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker", "detail": detail})
    }

    fn skipped_reason(value: &Value) -> String {
        match CreateCall::from_event(value) {
            Err(skip) => skip.reason,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn successful_create_call_yields_its_kind_and_arn() {
        let call = CreateCall::from_event(&event(json!({
            "eventSource": "sagemaker.amazonaws.com",
            "eventName": "CreateModel",
            "responseElements": {"modelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"}
        })))
        .unwrap();
        assert_eq!(call.kind.arn_type, "model");
        assert_eq!(call.arn.name(), "m");
    }

    #[test]
    fn amplify_create_app_is_not_a_sagemaker_event() {
        let value = json!({"source": "aws.amplify", "detail": {"eventSource": "amplify.amazonaws.com", "eventName": "CreateApp"}});
        assert!(skipped_reason(&value).contains("not a SageMaker event"));
    }

    #[test]
    fn failed_calls_unknown_operations_and_missing_arns_are_skipped_with_reasons() {
        let failed = event(json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateTrainingJob",
            "errorCode": "ResourceLimitExceeded", "responseElements": null}));
        assert_eq!(skipped_reason(&failed), "failed call: ResourceLimitExceeded");
        let delete = event(json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "DeleteEndpoint"}));
        assert!(skipped_reason(&delete).contains("unsupported operation: DeleteEndpoint"));
        let no_arn = event(
            json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModel", "responseElements": {}}),
        );
        assert_eq!(skipped_reason(&no_arn), "no modelArn in responseElements");
        let bad_arn = event(json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModel",
            "responseElements": {"modelArn": 42}}));
        assert_eq!(skipped_reason(&bad_arn), "no modelArn in responseElements");
    }

    #[test]
    fn non_objects_and_wrong_types_are_skipped_not_errors() {
        assert!(skipped_reason(&json!("hello")).contains("not a JSON object"));
        assert!(skipped_reason(&json!({"detail": 5})).contains("no detail"));
        let wrong = json!({"source": 1, "detail": {"eventSource": ["x"], "eventName": {}}});
        assert!(skipped_reason(&wrong).contains("not a SageMaker event"));
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("aws.sagemaker".to_string()),
                Just("sagemaker.amazonaws.com".to_string()),
                Just("CreateModel".to_string()),
                Just("arn:aws:sagemaker:us-east-1:1:model/m".to_string()),
                ".{0,20}"
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            let keys = prop_oneof![
                Just("detail".to_string()),
                Just("source".to_string()),
                Just("eventSource".to_string()),
                Just("eventName".to_string()),
                Just("responseElements".to_string()),
                Just("modelArn".to_string()),
                Just("userIdentity".to_string()),
                Just("errorCode".to_string()),
                "[a-z]{1,8}"
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(keys, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_is_classified_without_panicking(value in json()) {
            match CreateCall::from_event(&value) {
                Ok(call) => prop_assert!(call.arn_string().starts_with("arn:")),
                Err(skip) => prop_assert!(!skip.reason.is_empty()),
            }
        }
    }

    #[test]
    fn json_arrays_are_not_read_positionally_as_an_event_or_its_detail() {
        let detail = json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModel",
            "responseElements": {"modelArn": "arn:aws:sagemaker:us-east-1:1:model/m"}});
        let envelope = json!(["id", "AWS API Call via CloudTrail", "aws.sagemaker", "1", "us-east-1", detail]);
        assert!(skipped_reason(&envelope).contains("not a JSON object"));
        let positional = json!(["sagemaker.amazonaws.com", "CreateModel", "AwsApiCall", "e", "us-east-1", null, {}, {},
            {"modelArn": "arn:aws:sagemaker:us-east-1:1:model/m"}]);
        let value =
            json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker", "detail": positional});
        assert!(skipped_reason(&value).contains("no detail"));
    }

    #[test]
    fn an_error_code_of_any_type_but_null_means_the_call_failed() {
        let with_code = |code: Value| {
            event(json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModel", "errorCode": code,
                "responseElements": {"modelArn": "arn:aws:sagemaker:us-east-1:1:model/m"}}))
        };
        assert_eq!(skipped_reason(&with_code(json!(500))), "failed call: 500");
        assert_eq!(skipped_reason(&with_code(json!({"code": "x"}))), r#"failed call: {"code":"x"}"#);
        assert!(CreateCall::from_event(&with_code(Value::Null)).is_ok());
    }

    #[test]
    fn reasons_quote_at_most_eighty_characters_of_outside_text() {
        let name = format!("Create{}", "A".repeat(100_000));
        let reason = skipped_reason(&event(json!({"eventSource": "sagemaker.amazonaws.com", "eventName": name})));
        assert!(reason.starts_with("unsupported operation: CreateAAA") && reason.chars().count() < 200, "{reason}");
    }

    #[test]
    fn versioned_model_packages_are_skipped() {
        let value = event(json!({"eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModelPackage",
            "responseElements": {"modelPackageArn": "arn:aws:sagemaker:us-east-1:1:model-package/g/1"}}));
        assert!(skipped_reason(&value).contains("model package group"));
    }
}
