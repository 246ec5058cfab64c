//! Tamper protection: a SageMaker `AddTags` or `DeleteTags` call that changed a protected key is undone.
//!
//! [`TagChange::from_event`] reads the CloudTrail record (pure); the auto-tagger then re-plans the resource
//! from the sources its own tags point at (Studio profile, space, domain, parent) and writes back only the
//! protected keys that the call touched. Calls made by Tagwarden itself are recognised by principal and
//! skipped, so a restore never triggers another one; a restore that is replayed finds the value right and
//! writes nothing.
//!
//! The tag sources (Studio domains, user profiles and spaces) are repaired differently: a source is where
//! everything else's cost center comes from, so its own value is not re-planned from its domain. The
//! auto-tagger records what it saw and wrote of a source's protected keys in the ledger
//! ([`SourceRecord`]) whenever it tags one; a change by anyone else is undone to those last values, and a
//! change by one of the policy's `admins:` is accepted and recorded as the new last value. Without a ledger
//! (`TAGWARDEN_LEDGER_TABLE` unset) a source is re-planned from its sources as before, and the outcome says so.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::apply::{AutoTagger, add_tags, list_tags};
use super::plan::{TagPlan, Tags};
use super::{Outcome, Report, Skip, Subject, TagOptions};
use crate::aws::AwsError;
use crate::enforce::ledger::{self, LedgerError, SourceRecord};
use crate::event::{ApiCall, CloudTrailEvent, UserIdentity};
use crate::policy::TagPolicy;
use crate::resource::{ResourceKind, SageMakerArn, kind_for_arn_type};

/// Who a source's values are recorded by when the auto-tagger itself tagged it.
pub const RECORDED_BY_TAGGER: &str = "auto-tagger";

/// Where a value restored from the ledger came from, in a report's `origins`.
pub const LEDGER_ORIGIN: &str = "ledger";

/// What a report says when no ledger is configured and a source was re-planned from its own sources.
pub const NO_LEDGER_WARNING: &str = "no ledger is configured (TAGWARDEN_LEDGER_TABLE): restored from the source's own sources, not its last recorded value";

/// What a report says when the ledger holds no last value for the keys a source lost.
pub const NO_RECORD_WARNING: &str = "no last value is recorded for this source: restored from its own sources";

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

/// A CloudTrail caller as the IAM ARN the guardrails' `aws:PrincipalArn` names: its session's issuing role
/// (with its path), else its own IAM user ARN, else the role of an `assumed-role` session ARN (path unknown).
pub fn principal_arn(identity: Option<&UserIdentity>) -> Option<String> {
    let actor = identity?;
    let issuer = actor.session_context.as_ref().and_then(|c| c.session_issuer.as_ref()).and_then(|i| i.arn.clone());
    if issuer.is_some() {
        return issuer;
    }
    let arn = actor.arn.as_deref()?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", _, resource] if resource.starts_with("user/") || resource.starts_with("role/") => {
            Some(arn.to_owned())
        }
        ["arn", partition, "sts", "", account, resource] => {
            let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
            Some(format!("arn:{partition}:iam::{account}:role/{role}"))
        }
        _ => None,
    }
}

/// The protected keys' values a resource carries once `plan` is written over `existing`.
pub(super) fn protected_values_after(existing: &Tags, plan: &TagPlan, policy: &TagPolicy) -> BTreeMap<String, String> {
    let mut after = existing.clone();
    after.extend(plan.add.iter().map(|(k, v)| (k.clone(), v.clone())));
    after.retain(|key, _| !plan.remove.contains(key));
    protected_values(&after, policy)
}

fn protected_values(tags: &Tags, policy: &TagPolicy) -> BTreeMap<String, String> {
    let protected = policy.keys.iter().filter(|rule| rule.protected);
    protected.filter_map(|rule| Some((rule.key.clone(), tags.get(&rule.key)?.clone()))).collect()
}

impl AutoTagger {
    /// After the auto-tagger tagged a source: records its protected keys' values as its last known ones. The
    /// sweep (`baseline_only`) records only a source never recorded, so that a change it happens upon is not
    /// taken for the source's own value. A non-retryable ledger failure is a warning on the outcome.
    pub(super) async fn remember_source(
        &self,
        arn: &str,
        values: BTreeMap<String, String>,
        baseline_only: bool,
        mut outcome: Outcome,
    ) -> Result<Outcome, AwsError> {
        let (Some(ledger), Outcome::Tagged(report) | Outcome::Unchanged(report)) = (&self.ledger, &mut outcome) else {
            return Ok(outcome);
        };
        let recorded = async {
            if baseline_only && ledger.last_source_values(arn).await?.is_some() {
                return Ok(());
            }
            let at = ledger::timestamp(ledger::now());
            let record = SourceRecord { arn: arn.to_owned(), values, at, by: RECORDED_BY_TAGGER.to_owned() };
            ledger.record_source_values(&record).await
        };
        match recorded.await {
            Ok(()) => {}
            Err(err) if err.is_retryable() => return Err(err.into_aws()),
            Err(err) => report.warnings.push(format!("the source's values were not recorded: {err}")),
        }
        Ok(outcome)
    }

    /// Undoes a change of protected keys on a source (domain, user profile, space): back to the values the
    /// ledger last recorded for it; a change by one of the policy's admins is recorded instead. Keys with no
    /// recorded value, or no ledger at all, are re-planned from the source's own sources, with a warning.
    pub(super) async fn repair_source(
        &self,
        change: &TagChange,
        subject: &Subject,
        keys: &BTreeSet<String>,
    ) -> Result<Outcome, AwsError> {
        let arn = subject.arn.to_string();
        let admin = principal_arn(change.actor.as_ref()).filter(|a| self.policy().admins.contains(a));
        let Some(ledger) = &self.ledger else {
            if let Some(admin) = admin {
                let reason = format!("changed by {admin}, an admin of the policy: kept (no ledger records it)");
                return Ok(Outcome::skipped(reason, Some(change.event_name()), Some(&arn)));
            }
            let outcome = self.tag_keys_of(subject, keys).await?;
            return Ok(with_warning(outcome, NO_LEDGER_WARNING));
        };
        let existing = match list_tags(&self.clients, &arn).await {
            Ok(tags) => tags,
            Err(err) if err.is_not_found() => {
                return Ok(Outcome::skipped("resource no longer exists", Some(change.event_name()), Some(&arn)));
            }
            Err(err) => return Err(err),
        };
        let last = ledger.last_source_values(&arn).await.map_err(LedgerError::into_aws)?;
        if let Some(admin) = admin {
            let mut values = last.map(|record| record.values).unwrap_or_default();
            for key in keys {
                match existing.get(key) {
                    Some(value) => values.insert(key.clone(), value.clone()),
                    None => values.remove(key),
                };
            }
            let at = ledger::timestamp(ledger::now());
            let record = SourceRecord { arn: arn.clone(), values, at, by: admin.clone() };
            ledger.record_source_values(&record).await.map_err(LedgerError::into_aws)?;
            let reason = format!("changed by {admin}, an admin of the policy: recorded as the source's last value");
            return Ok(Outcome::skipped(reason, Some(change.event_name()), Some(&arn)));
        }

        let last = last.unwrap_or_else(|| SourceRecord {
            arn: arn.clone(),
            values: BTreeMap::new(),
            at: String::new(),
            by: String::new(),
        });
        let (recorded, unrecorded): (BTreeSet<String>, BTreeSet<String>) =
            keys.iter().cloned().partition(|key| last.values.contains_key(key));
        let add: Tags = recorded
            .iter()
            .filter_map(|key| Some((key.clone(), last.values.get(key)?.clone())))
            .filter(|(key, value)| existing.get(key) != Some(value))
            .collect();
        if !add.is_empty() {
            match add_tags(&self.clients, &arn, &add).await {
                Ok(()) => {}
                Err(err) if err.is_not_found() => {
                    let reason = "resource deleted before it could be tagged";
                    return Ok(Outcome::skipped(reason, Some(change.event_name()), Some(&arn)));
                }
                Err(err) => return Err(err),
            }
        }
        let mut report = Report {
            resource_arn: arn.clone(),
            resource_type: subject.kind.arn_type,
            event_name: subject.kind.create_event.to_owned(),
            creator: subject.creator.clone(),
            parent_arn: None,
            origins: add.keys().map(|key| (key.clone(), LEDGER_ORIGIN.to_owned())).collect(),
            added: add,
            removed: Vec::new(),
            missing_required: Vec::new(),
            notified: false,
            warnings: Vec::new(),
            changed_by: None,
            resource_name: None,
            budgets: Vec::new(),
            idle: None,
        };
        if !unrecorded.is_empty() {
            match with_warning(self.tag_keys_of(subject, &unrecorded).await?, NO_RECORD_WARNING) {
                Outcome::Tagged(other) | Outcome::Unchanged(other) => {
                    report.creator = other.creator;
                    report.added.extend(other.added);
                    report.origins.extend(other.origins);
                    report.missing_required = other.missing_required;
                    report.warnings.extend(other.warnings);
                }
                other => return Ok(other),
            }
        }
        Ok(if report.added.is_empty() { Outcome::Unchanged(report) } else { Outcome::Tagged(report) })
    }

    /// The keys re-planned from the resource's own sources, as every other resource is repaired.
    async fn tag_keys_of(&self, subject: &Subject, keys: &BTreeSet<String>) -> Result<Outcome, AwsError> {
        self.tag_keys(subject, TagOptions::default(), Some(keys)).await
    }
}

/// `outcome` with `warning` on its report, if it has one.
fn with_warning(mut outcome: Outcome, warning: &str) -> Outcome {
    if let Outcome::Tagged(report) | Outcome::Restored(report) | Outcome::Unchanged(report) = &mut outcome {
        report.warnings.push(warning.to_owned());
    }
    outcome
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

    #[test]
    fn the_principal_an_admin_entry_is_matched_against_is_the_sessions_role_or_the_iam_user() {
        let session = json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/platform-admin/ann",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/ops/platform-admin"}}});
        let identity = |value: Value| serde_json::from_value::<UserIdentity>(value).unwrap();
        assert_eq!(
            principal_arn(Some(&identity(session))).as_deref(),
            Some("arn:aws:iam::123456789012:role/ops/platform-admin"),
            "the issuer, with its path, as aws:PrincipalArn names it"
        );
        let bare = json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/platform-admin/ann"});
        assert_eq!(
            principal_arn(Some(&identity(bare))).as_deref(),
            Some("arn:aws:iam::123456789012:role/platform-admin")
        );
        assert_eq!(principal_arn(Some(&identity(user()))).as_deref(), Some("arn:aws:iam::123456789012:user/mallory"));
        let service = json!({"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"});
        assert_eq!(principal_arn(Some(&identity(service))), None);
        assert_eq!(principal_arn(None), None);
    }

    #[test]
    fn a_sources_recorded_values_are_its_protected_keys_after_the_plan() {
        let policy = Policy::example().unwrap();
        let existing =
            Tags::from([("team".to_owned(), "a".to_owned()), ("cost-center".to_owned(), "CC-0001".to_owned())]);
        let plan =
            TagPlan { add: Tags::from([("cost-center".to_owned(), "CC-1000".to_owned())]), ..TagPlan::default() };
        let values = protected_values_after(&existing, &plan, &policy.tags);
        assert_eq!(values, BTreeMap::from([("cost-center".to_owned(), "CC-1000".to_owned())]), "team is not protected");
    }
}
