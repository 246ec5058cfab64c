//! The reserved `tagwarden:` tag key namespace: only Tagwarden writes it (its markers). A key of it that
//! anyone else wrote — in a create request's `tags` or in an `AddTags` call — is removed by the auto-tagger,
//! with one notice naming who wrote it. Nothing Tagwarden decides reads these keys any more (exemptions
//! live in the policy), so the removal keeps the namespace honest for people reading tags, and the
//! guardrails (`tagwarden guardrails`) and the deny policy deny such writes up front.
//!
//! "Tagwarden" is the trusted principals (`TAGWARDEN_TRUSTED_PRINCIPALS`, exact ARNs) and the principal the
//! function itself acts as, the same test tamper protection uses. A key is removed only while it still
//! holds the value the caller wrote, so a marker Tagwarden wrote over it since is never lost, and a
//! re-delivered event removes nothing twice.

use crate::notice::{Notice, Severity};

use super::apply::{AutoTagger, list_tags};
use super::plan::Tags;
use super::{Outcome, Report};
use crate::aws::{AwsError, ResultExt};
use crate::identity::Creator;
use crate::resource::{ResourceKind, SageMakerArn};

/// The reserved key prefix (compared ignoring case: `Tagwarden:exempt` is reserved too).
pub const RESERVED_PREFIX: &str = "tagwarden:";

/// Whether `key` is in the reserved namespace.
pub fn is_reserved(key: &str) -> bool {
    key.get(..RESERVED_PREFIX.len()).is_some_and(|head| head.eq_ignore_ascii_case(RESERVED_PREFIX))
}

/// The reserved keys among `written`, with the values written.
pub fn reserved_writes(written: &Tags) -> Tags {
    written.iter().filter(|(k, _)| is_reserved(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The keys of `written` the resource still carries with the written value: what to remove.
pub fn still_as_written(written: &Tags, existing: &Tags) -> Tags {
    written.iter().filter(|(k, v)| existing.get(*k) == Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// What one call wrote into the reserved namespace, and who made it.
#[derive(Debug, Clone)]
pub struct ReservedWrite<'a> {
    /// The resource's kind.
    pub kind: &'static ResourceKind,
    /// The resource.
    pub arn: &'a SageMakerArn,
    /// The create call or `AddTags`.
    pub event_name: &'a str,
    /// The reserved keys and the values written.
    pub written: Tags,
    /// Who wrote them ([`crate::tagging::tamper::principal_key`] form), if the record says.
    pub writer_key: Option<String>,
    /// Who wrote them, as the record names them (for the notice).
    pub writer_arn: Option<&'a str>,
    /// The EventBridge event id.
    pub event_id: Option<&'a str>,
}

impl AutoTagger {
    /// Removes the reserved keys a caller other than Tagwarden wrote and still stand, and sends one notice.
    /// `None` when there is nothing to do (Tagwarden wrote them, or none is left); the removal otherwise,
    /// as a report of its own (`removed`, `changed_by`). A resource that is gone is nothing to do.
    pub(super) async fn strip_reserved(&self, write: &ReservedWrite<'_>) -> Result<Option<Report>, AwsError> {
        if write.written.is_empty() {
            return Ok(None);
        }
        if let Some(writer) = &write.writer_key
            && self.is_self(writer).await?
        {
            return Ok(None);
        }
        let arn = write.arn.to_string();
        let existing = match list_tags(&self.clients, &arn).await {
            Ok(tags) => tags,
            Err(err) if err.is_not_found() => return Ok(None),
            Err(err) => return Err(err),
        };
        let remove = still_as_written(&write.written, &existing);
        if remove.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = remove.keys().cloned().collect();
        let deleted =
            self.clients.sagemaker.delete_tags().resource_arn(&arn).set_tag_keys(Some(keys.clone())).send().await;
        match deleted.aws("DeleteTags") {
            Ok(_) => {}
            Err(err) if err.is_not_found() => return Ok(None),
            Err(err) => return Err(err),
        }
        let writer = write.writer_arn.unwrap_or("an unknown principal").to_owned();
        let mut report = Report {
            resource_arn: arn,
            resource_type: write.kind.arn_type,
            event_name: write.event_name.to_owned(),
            creator: Creator::from_identity(None),
            parent_arn: None,
            added: Tags::new(),
            removed: keys,
            origins: Default::default(),
            missing_required: Vec::new(),
            notified: false,
            warnings: vec![format!(
                "{} written by {writer}: the tagwarden: key namespace is reserved for Tagwarden; removed",
                report_keys(&remove)
            )],
            changed_by: Some(writer),
            resource_name: None,
            budgets: Vec::new(),
            idle: None,
        };
        self.notify_reserved(&mut report, &remove, write.event_id).await?;
        Ok(Some(report))
    }

    /// Publishes the one notice of a removal: the resource, the keys and values, and who wrote them.
    async fn notify_reserved(
        &self,
        report: &mut Report,
        removed: &Tags,
        event_id: Option<&str>,
    ) -> Result<(), AwsError> {
        let name = report.resource_arn.rsplit('/').next().unwrap_or_default();
        let subject = format!("Tagwarden: reserved tagwarden: tags removed from {} {name}", report.resource_type);
        let writer = report.changed_by.clone().unwrap_or_default();
        let description = format!(
            "{} `{}`: {writer} wrote {} ({}). The `tagwarden:` key namespace is reserved for Tagwarden; removed.\n",
            report.resource_type,
            report.resource_arn,
            report_keys(removed),
            report.event_name
        );
        let mut notice = Notice::new("reserved-keys-removed", Severity::Warning, subject, description);
        notice.account_of_arn(&report.resource_arn);
        notice
            .step("Exemptions belong in the policy's `budgets.exemptions`, with a reason, not in resource tags")
            .detail("written_by", writer)
            .detail("event_id", event_id.unwrap_or_default());
        notice.resources.push(report.resource_arn.clone());
        self.publish(report, &notice).await
    }
}

fn report_keys(tags: &Tags) -> String {
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Folds a removal into the outcome of the same event: its keys join `removed`, its warning and writer
/// the report; an `unchanged` outcome becomes `tagged` (something was written). Other outcomes are kept.
pub(super) fn merge(outcome: Outcome, removal: Report) -> Outcome {
    let fold = |mut report: Report| {
        report.removed.extend(removal.removed.iter().cloned());
        report.warnings.extend(removal.warnings.iter().cloned());
        report.changed_by = report.changed_by.or_else(|| removal.changed_by.clone());
        report.notified |= removal.notified;
        report
    };
    match outcome {
        Outcome::Tagged(report) | Outcome::Unchanged(report) => Outcome::Tagged(fold(report)),
        Outcome::Restored(report) => Outcome::Restored(fold(report)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_reserved_namespace_is_the_tagwarden_prefix_in_any_case() {
        assert!(is_reserved("tagwarden:exempt"));
        assert!(is_reserved("TagWarden:scaled-from"));
        assert!(!is_reserved("tagwarden-exempt"));
        assert!(!is_reserved("team"));
        assert!(!is_reserved("tagwardé"), "short or non-ASCII keys are not reserved and do not panic");
        let written = tags(&[("tagwarden:exempt", "true"), ("team", "fraud")]);
        assert_eq!(reserved_writes(&written), tags(&[("tagwarden:exempt", "true")]));
    }

    #[test]
    fn only_keys_still_holding_the_written_value_are_removed() {
        let written = tags(&[("tagwarden:exempt", "true"), ("tagwarden:stopped-by", "x")]);
        let existing = tags(&[("tagwarden:exempt", "true"), ("tagwarden:stopped-by", "ml-marketing")]);
        assert_eq!(still_as_written(&written, &existing), tags(&[("tagwarden:exempt", "true")]));
        assert!(still_as_written(&written, &Tags::new()).is_empty());
    }
}
