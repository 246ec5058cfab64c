//! Tamper protection: a SageMaker `AddTags` or `DeleteTags` call that changed a protected key is undone.
//!
//! [`TagChange::from_event`] reads the CloudTrail record (pure); the auto-tagger then re-plans the resource
//! from the sources its own tags point at (Studio profile, space, domain, parent) and writes back only the
//! protected keys that the call touched. Calls made by Tagwarden itself are recognised by principal and
//! skipped, so a restore never triggers another one; a restore that is replayed finds the value right and
//! writes nothing.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Skip;
use super::plan::Tags;
use crate::event::{ApiCall, CloudTrailEvent, UserIdentity};
use crate::policy::TagPolicy;
use crate::resource::{ResourceKind, SageMakerArn, kind_for_arn_type};

/// The CloudTrail event names of tag changes on SageMaker resources.
pub const TAG_CHANGE_EVENTS: [&str; 2] = ["AddTags", "DeleteTags"];

/// Whether a key was given a value or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `AddTags`: keys added or overwritten.
    Overwritten,
    /// `DeleteTags`: keys removed.
    Deleted,
}

/// A successful `AddTags`/`DeleteTags` call on a SageMaker resource.
#[derive(Debug, Clone)]
pub struct TagChange {
    /// `AddTags` or `DeleteTags`.
    pub change: ChangeKind,
    /// The resource's kind.
    pub kind: &'static ResourceKind,
    /// The resource.
    pub arn: SageMakerArn,
    /// The keys the call set or removed, as the caller spelt them.
    pub keys: BTreeSet<String>,
    /// For `AddTags`: the keys and the values written (empty for `DeleteTags`).
    pub written: Tags,
    /// Who made the call.
    pub actor: Option<UserIdentity>,
    /// The EventBridge event id.
    pub event_id: Option<String>,
}

impl TagChange {
    /// Whether `event` is a SageMaker tag change at all (by source and event name); decides which path
    /// of the auto-tagger handles it.
    pub fn is_tag_change(event: &Value) -> bool {
        let detail = event.get("detail");
        let name = detail.and_then(|d| d.get("eventName")).and_then(Value::as_str);
        let source = detail.and_then(|d| d.get("eventSource")).and_then(Value::as_str);
        source == Some("sagemaker.amazonaws.com") && name.is_some_and(|n| TAG_CHANGE_EVENTS.contains(&n))
    }

    /// Reads a tag change from a CloudTrail event, or the reason to skip it.
    pub fn from_event(event: &Value) -> Result<Self, Skip> {
        let parsed: CloudTrailEvent = serde_json::from_value(event.clone())
            .map_err(|_| Skip::new("not an EventBridge event: the payload is not a JSON object", None, None))?;
        let Some(call) = parsed.detail else {
            return Err(Skip::new("not a CloudTrail event: no detail", None, None));
        };
        let name = call.event_name.as_deref();
        let change = match name {
            Some("AddTags") => ChangeKind::Overwritten,
            Some("DeleteTags") => ChangeKind::Deleted,
            _ => return Err(Skip::new("not a tag change", name, None)),
        };
        if let Some(code) = &call.error_code {
            return Err(Skip::new(format!("failed call: {code}"), name, None));
        }
        let Some(arn) = call.request_str("resourceArn") else {
            return Err(Skip::new("no resourceArn in requestParameters", name, None));
        };
        let Some(parsed_arn) = SageMakerArn::parse(arn) else {
            return Err(Skip::new(format!("resourceArn is not a SageMaker ARN: {arn:?}"), name, None));
        };
        let Some(kind) = kind_for_arn_type(&parsed_arn.resource_type) else {
            let reason = format!("resource type {} is not one Tagwarden tags", parsed_arn.resource_type);
            return Err(Skip::new(reason, name, Some(arn)));
        };
        let keys = changed_keys(&call, change);
        if keys.is_empty() {
            return Err(Skip::new("the call names no tag keys", name, Some(arn)));
        }
        let written = match change {
            ChangeKind::Overwritten => call.request_tags(),
            ChangeKind::Deleted => Tags::new(),
        };
        Ok(Self {
            change,
            kind,
            arn: parsed_arn,
            keys,
            written,
            actor: call.user_identity,
            event_id: parsed.id.or(call.event_id),
        })
    }

    /// The event name, `AddTags` or `DeleteTags`.
    pub fn event_name(&self) -> &'static str {
        match self.change {
            ChangeKind::Overwritten => "AddTags",
            ChangeKind::Deleted => "DeleteTags",
        }
    }

    /// The protected policy keys the call touched, in their canonical spelling. Only the exact key
    /// counts: adding a misspelt `CostCenter` beside `cost-center` changes nothing Tagwarden guards.
    pub fn protected_keys(&self, policy: &TagPolicy) -> BTreeSet<String> {
        self.keys
            .iter()
            .filter_map(|key| policy.rule(key))
            .filter(|rule| rule.protected)
            .map(|rule| rule.key.clone())
            .collect()
    }

    /// The caller as a [`principal_key`], when the record names one.
    pub fn actor_key(&self) -> Option<String> {
        identity_key(self.actor.as_ref())
    }

    /// The caller's ARN, for reports.
    pub fn actor_arn(&self) -> Option<&str> {
        self.actor.as_ref()?.arn.as_deref()
    }
}

/// A CloudTrail caller as a [`principal_key`]: its session's issuing role, else its own ARN.
pub fn identity_key(identity: Option<&UserIdentity>) -> Option<String> {
    let actor = identity?;
    let issuer = actor.session_context.as_ref().and_then(|c| c.session_issuer.as_ref());
    issuer.and_then(|i| i.arn.as_deref()).or(actor.arn.as_deref()).and_then(principal_key)
}

/// The keys an `AddTags` (`tags: [{key, value}]`) or `DeleteTags` (`tagKeys: [..]`) call names.
fn changed_keys(call: &ApiCall, change: ChangeKind) -> BTreeSet<String> {
    match change {
        ChangeKind::Overwritten => call.request_tags().into_keys().collect(),
        ChangeKind::Deleted => {
            let keys = call.request_parameters.as_ref().and_then(|p| p.get("tagKeys")).and_then(Value::as_array);
            keys.into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
        }
    }
}

/// One spelling for a principal, whatever ARN names it: `role:<account>:<name>` for an IAM role or any
/// of its STS sessions, `user:<account>:<name>` for an IAM (or STS-reported) user. Paths are dropped:
/// names are unique per account.
pub fn principal_key(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, service, _region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (kind, rest) = resource.split_once('/')?;
    let name = match (service, kind) {
        ("iam", "role" | "user") => rest.rsplit('/').next()?,
        ("sts", "assumed-role") => rest.split('/').next()?,
        ("sts", "user") => rest.rsplit('/').next()?,
        _ => return None,
    };
    let kind = if kind == "user" { "user" } else { "role" };
    (!name.is_empty() && !account.is_empty()).then(|| format!("{kind}:{account}:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use serde_json::json;

    fn event(name: &str, request: Value, identity: Value) -> Value {
        json!({"id": "e-1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker", "detail": {
            "eventSource": "sagemaker.amazonaws.com", "eventName": name,
            "userIdentity": identity, "requestParameters": request, "responseElements": null}})
    }

    const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-1";

    fn user() -> Value {
        json!({"type": "IAMUser", "userName": "mallory", "arn": "arn:aws:iam::123456789012:user/mallory"})
    }

    #[test]
    fn delete_tags_names_the_removed_keys_and_the_protected_ones_among_them() {
        let value = event("DeleteTags", json!({"resourceArn": ARN, "tagKeys": ["cost-center", "project"]}), user());
        assert!(TagChange::is_tag_change(&value));
        let change = TagChange::from_event(&value).unwrap();
        assert_eq!(change.change, ChangeKind::Deleted);
        assert_eq!(change.kind.arn_type, "notebook-instance");
        let policy = Policy::example().unwrap();
        assert_eq!(change.protected_keys(&policy.tags), BTreeSet::from(["cost-center".to_owned()]));
        assert_eq!(change.actor_key().as_deref(), Some("user:123456789012:mallory"));
    }

    #[test]
    fn add_tags_of_a_misspelt_or_unprotected_key_touches_no_protected_key() {
        let tags = json!([{"key": "CostCenter", "value": "CC-0001"}, {"key": "team", "value": "x"}]);
        let change =
            TagChange::from_event(&event("AddTags", json!({"resourceArn": ARN, "tags": tags}), user())).unwrap();
        assert_eq!(change.change, ChangeKind::Overwritten);
        assert!(change.protected_keys(&Policy::example().unwrap().tags).is_empty());
    }

    #[test]
    fn failed_calls_foreign_arns_and_empty_key_lists_are_skipped_with_reasons() {
        let mut failed = event("DeleteTags", json!({"resourceArn": ARN, "tagKeys": ["cost-center"]}), user());
        failed["detail"]["errorCode"] = json!("AccessDenied");
        assert_eq!(TagChange::from_event(&failed).unwrap_err().reason, "failed call: AccessDenied");
        let s3 = event("DeleteTags", json!({"resourceArn": "arn:aws:s3:::bucket", "tagKeys": ["a"]}), user());
        assert!(TagChange::from_event(&s3).unwrap_err().reason.contains("not a SageMaker ARN"));
        let empty = event("DeleteTags", json!({"resourceArn": ARN, "tagKeys": "cost-center"}), user());
        assert_eq!(TagChange::from_event(&empty).unwrap_err().reason, "the call names no tag keys");
        let no_arn = event("AddTags", json!({"tags": []}), user());
        assert!(TagChange::from_event(&no_arn).unwrap_err().reason.contains("no resourceArn"));
    }

    #[test]
    fn create_calls_and_other_services_are_not_tag_changes() {
        assert!(!TagChange::is_tag_change(&event("CreateModel", json!({}), user())));
        let other = json!({"detail": {"eventSource": "s3.amazonaws.com", "eventName": "DeleteTags"}});
        assert!(!TagChange::is_tag_change(&other));
        assert!(!TagChange::is_tag_change(&json!("DeleteTags")));
    }

    #[test]
    fn a_role_and_its_sessions_share_one_principal_key_whatever_the_path() {
        let role = principal_key("arn:aws:iam::123456789012:role/service-role/tagwarden-AutoTaggerRole-1");
        let session = principal_key("arn:aws:sts::123456789012:assumed-role/tagwarden-AutoTaggerRole-1/auto-tagger");
        assert_eq!(role, session);
        assert_eq!(role.as_deref(), Some("role:123456789012:tagwarden-AutoTaggerRole-1"));
        assert_eq!(principal_key("arn:aws:sts::123456789012:user/moto").as_deref(), Some("user:123456789012:moto"));
        assert_ne!(
            principal_key("arn:aws:iam::111111111111:role/r"),
            principal_key("arn:aws:iam::222222222222:role/r")
        );
        assert_eq!(principal_key("arn:aws:s3:::bucket/key"), None);
        assert_eq!(principal_key("not an arn"), None);
    }

    #[test]
    fn the_actor_of_an_assumed_role_is_its_issuing_role() {
        let identity = json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/tagwarden-BudgetEnforcerRole-9/budget-enforcer",
            "sessionContext": {"sessionIssuer": {"type": "Role",
                "arn": "arn:aws:iam::123456789012:role/tagwarden-BudgetEnforcerRole-9"}}});
        let change =
            TagChange::from_event(&event("AddTags", json!({"resourceArn": ARN, "tags": [{"key": "a"}]}), identity))
                .unwrap();
        assert_eq!(change.actor_key().as_deref(), Some("role:123456789012:tagwarden-BudgetEnforcerRole-9"));
    }
}
