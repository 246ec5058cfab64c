//! The sweep: tags the resources that already exist, by the same plan as the auto-tagger.
//!
//! In: resource kinds to walk, a [`SweepState`] checkpoint, options (dry run, concurrency, deadline).
//! Out: one [`Outcome`] per resource (reported as it happens) and a [`SweepSummary`]. Every kind of the
//! resource table is listed with its paginated `List*` call ([`list`]); each resource goes through
//! [`crate::tagging::AutoTagger::tag_resource`], the entry point the event path uses. The creator of an old resource is
//! unknown, so the sources are Studio's own tags on it, the owning profile of apps and spaces, the
//! execution role's tags (read with `Describe*`), and the policy defaults.
//!
//! The pure part ([`subject_for`], [`SweepState`], [`SweepSummary`]) decides what to do with one listed
//! resource and keeps count; [`sweep`] (in `apply.rs`) carries it out: bounded concurrency, checkpoints,
//! the deadline, and [`handle_event`], the Lambda handler that sweeps on a schedule.
//!
//! With a sweep queue ([`worker::SweepQueue`]) the schedule enqueues one message per account × region ×
//! type instead ([`queue`], pure), and each SQS record is one page handled by [`worker`]: every account and
//! region of an organization, across as many invocations as it takes, each page once.

mod apply;
pub mod history;
pub mod list;
pub mod queue;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use apply::{DEADLINE_MARGIN, handle_event, sweep};
pub use history::{EventHistory, HistoryState};
pub use list::{Listed, Lister, Page, has_role_lookup};

use crate::identity::{Creator, Via};
use crate::resource::{EndingStatus, Owner, Refusal, ResourceKind, SageMakerArn, distinct_kinds, kind_for_arn_type};
use crate::tagging::{Outcome, Provenance, Subject};

/// Default number of resources tagged at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// What the sweep does not cover, and why (printed with the summary).
pub const NOT_SWEPT: &[&str] = &[
    "versioned model packages: SageMaker cannot tag them; their model package group is swept",
    "apps, spaces, profiles and domains being deleted (status Deleted, Deleting, Failed): nothing to tag",
];

/// The kinds the sweep walks: every resource type of the table once, in table order.
pub fn sweep_kinds() -> Vec<&'static ResourceKind> {
    distinct_kinds()
}

/// The kinds named by `--types` (ARN resource types, e.g. `training-job`); every kind when empty.
pub fn kinds_named(names: &[String]) -> Result<Vec<&'static ResourceKind>, String> {
    if names.is_empty() {
        return Ok(sweep_kinds());
    }
    let mut kinds: Vec<&'static ResourceKind> = Vec::new();
    for name in names.iter().flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        let kind = kind_for_arn_type(name).ok_or_else(|| {
            let known: Vec<_> = sweep_kinds().iter().map(|k| k.arn_type).collect();
            format!("unknown resource type {name:?}; known: {}", known.join(", "))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// What to do with one listed resource: the [`Subject`] to tag, or why it is refused. Pure.
///
/// The creator is unknown (nobody recorded it); the execution role, when known, is the `principal`
/// source; an app's or space's owning profile is the creator.
pub fn subject_for(kind: &'static ResourceKind, listed: &Listed, role_arn: Option<&str>) -> Result<Subject, Refusal> {
    let arn = SageMakerArn::parse(&listed.arn).ok_or_else(|| Refusal::NotSageMakerArn(listed.arn.clone()))?;
    if let Some(refusal) = kind.refusal(&arn) {
        return Err(refusal);
    }
    if let Some(status) = listed.status.as_deref().and_then(EndingStatus::parse) {
        return Err(Refusal::Ending { arn_type: kind.arn_type, status });
    }
    let via = match kind.owner {
        Owner::App => Some(Via::AppOwner),
        Owner::Space => Some(Via::SpaceOwner),
        Owner::None => None,
    };
    Ok(Subject {
        kind,
        arn,
        creator: Creator::unknown(Via::Sweep, role_arn.or(listed.role_arn.as_deref())),
        domain_id: listed.domain_id.clone(),
        owner_profile: via.and_then(|via| Some((listed.owner_profile.clone()?, via))),
        space_name: listed.space_name.clone(),
        event_id: None,
        request_tags: Default::default(),
        provenance: Provenance::Unrecorded,
    })
}

/// The sweep's checkpoint (`--state FILE`): per resource type, where the listing is and what is done.
///
/// A rerun with the same state continues: complete types are not listed again, an incomplete type
/// resumes at its saved page, and resources already done are not tagged again. A resource that failed
/// is not done, so the next run retries it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepState {
    /// Per ARN resource type.
    #[serde(default)]
    pub types: BTreeMap<String, TypeState>,
    /// The pass over CloudTrail's event history: who created what ([`history`]).
    #[serde(default)]
    pub history: HistoryState,
}

/// Progress of one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeState {
    /// The token of the page to list next (`None`: the first page, or the type is complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// ARNs handled (tagged, unchanged or skipped) in this pass.
    #[serde(default)]
    pub done: BTreeSet<String>,
    /// Every page was listed and nothing failed.
    #[serde(default)]
    pub complete: bool,
}

impl SweepState {
    /// Whether every type of `kinds` is complete.
    pub fn is_complete(&self, kinds: &[&ResourceKind]) -> bool {
        kinds.iter().all(|k| self.types.get(k.arn_type).is_some_and(|t| t.complete))
    }
}

/// Counts for one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeSummary {
    /// Resources listed and handled in this run.
    pub scanned: u64,
    /// Tags written (or, in a dry run, that would be).
    pub tagged: u64,
    /// Already compliant.
    pub unchanged: u64,
    /// Not taggable (deleted, versioned package, vanished).
    pub skipped: u64,
    /// AWS refused or failed; retried by the next run.
    pub failed: u64,
    /// Domains, profiles and spaces whose idle shutdown was set (or, in a dry run, would be).
    #[serde(skip_serializing_if = "is_zero")]
    pub idle_updated: u64,
    /// Listed but already done by an earlier run with the same state.
    pub already_done: u64,
    /// The type was complete in the state and not listed again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resumed_complete: bool,
    /// Why the listing stopped, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TypeSummary {
    pub(crate) fn count(&mut self, outcome: &Outcome) {
        self.scanned += 1;
        if let Outcome::Tagged(report) | Outcome::Unchanged(report) | Outcome::Restored(report) = outcome
            && report.idle.as_ref().is_some_and(|idle| idle.changes())
        {
            self.idle_updated += 1;
        }
        match outcome {
            Outcome::Tagged(_) | Outcome::Restored(_) => self.tagged += 1,
            // NOTE: the sweep tags resources; a profile's budgets are kept only on its events.
            Outcome::Unchanged(_) | Outcome::ProfileBudgets(_) => self.unchanged += 1,
            Outcome::Skipped(_) => self.skipped += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
    }
}

/// The end of a sweep: counts per type and overall, and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepSummary {
    /// Nothing was written.
    pub dry_run: bool,
    /// Per ARN resource type, in sweep order.
    pub types: BTreeMap<String, TypeSummary>,
    /// Sums over all types.
    pub total: TypeSummary,
    /// Every type was listed to the end (with the state: over all runs) and nothing failed.
    pub complete: bool,
    /// Why the sweep stopped before the end (deadline), if it did; rerun with the same state to go on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<String>,
    /// Wall-clock time of this run, in milliseconds.
    pub elapsed_ms: u64,
    /// Most resources in flight at once (never above the concurrency).
    pub max_in_flight: usize,
    /// What the sweep does not cover.
    pub not_swept: Vec<&'static str>,
    /// The pass over CloudTrail's event history, when the sweep reads it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySummary>,
}

/// What the pass over CloudTrail's event history found and cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistorySummary {
    /// Resources whose create record the history holds.
    pub records: usize,
    /// Resources swept with the creator their record names.
    pub creators_named: u64,
    /// `LookupEvents` calls, over all runs with the same state.
    pub calls: u64,
    /// Every create event name was read to the end.
    pub complete: bool,
    /// Why the pass stopped, if it failed (the sweep goes on with unknown creators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SweepSummary {
    /// Resources handled per second in this run.
    pub fn per_second(&self) -> f64 {
        let secs = self.elapsed_ms as f64 / 1000.0;
        if secs > 0.0 { self.total.scanned as f64 / secs } else { 0.0 }
    }
}

/// How to sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Resource kinds, in order.
    pub kinds: Vec<&'static ResourceKind>,
    /// Plan and report, write nothing.
    pub dry_run: bool,
    /// Resources tagged at once (at least 1).
    pub concurrency: usize,
    /// Start nothing new after this instant (the Lambda's remaining time, less a margin).
    pub deadline: Option<Instant>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self { kinds: sweep_kinds(), dry_run: false, concurrency: DEFAULT_CONCURRENCY, deadline: None }
    }
}

/// What the sweep reports as it goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// One resource was handled.
    Resource {
        /// The resource's outcome (`tagged` in a dry run means "would be tagged").
        outcome: &'a Outcome,
        /// Counts so far.
        summary: &'a SweepSummary,
    },
    /// A page was finished: the state to save.
    Checkpoint(&'a SweepState),
}

/// One resource's outcome as a JSON line: the outcome plus `resource_type` and `dry_run`.
pub fn outcome_line(kind: &str, outcome: &Outcome, dry_run: bool) -> Value {
    let mut value = serde_json::to_value(outcome).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("resource_type".into(), Value::from(kind));
        map.insert("dry_run".into(), Value::from(dry_run));
    }
    value
}

/// Whether an event is EventBridge's schedule (`source: aws.events`, `detail-type: Scheduled Event`).
pub fn is_schedule(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{CreatorKind, Principal};

    fn kind(name: &str) -> &'static ResourceKind {
        kind_for_arn_type(name).unwrap()
    }

    fn listed(arn: &str) -> Listed {
        Listed { arn: arn.into(), ..Listed::default() }
    }

    #[test]
    fn every_resource_type_is_swept_once() {
        let kinds = sweep_kinds();
        let names: BTreeSet<_> = kinds.iter().map(|k| k.arn_type).collect();
        assert_eq!(names.len(), kinds.len());
        assert_eq!(names, crate::resource::KINDS.iter().map(|k| k.arn_type).collect());
    }

    #[test]
    fn types_are_parsed_from_commas_and_repeats_and_unknown_names_are_refused() {
        let kinds = kinds_named(&["training-job,notebook-instance".into(), "training-job".into()]).unwrap();
        assert_eq!(kinds.iter().map(|k| k.arn_type).collect::<Vec<_>>(), ["training-job", "notebook-instance"]);
        assert!(kinds_named(&["trainingjob".into()]).unwrap_err().contains("known: training-job"));
        assert_eq!(kinds_named(&[]).unwrap().len(), sweep_kinds().len());
    }

    #[test]
    fn the_execution_role_becomes_the_principal_but_not_the_creator() {
        let arn = "arn:aws:sagemaker:us-east-1:1:notebook-instance/nb";
        let role = "arn:aws:iam::1:role/service-role/nb-role";
        let subject = subject_for(kind("notebook-instance"), &listed(arn), Some(role)).unwrap();
        assert_eq!(subject.creator.kind, CreatorKind::Unknown);
        assert_eq!(subject.creator.principal, Some(Principal::Role { name: "nb-role".into(), arn: role.into() }));
    }

    #[test]
    fn an_apps_owning_profile_and_space_are_passed_on() {
        let app = Listed {
            arn: "arn:aws:sagemaker:us-east-1:1:app/d-x/alice/jupyterlab/default".into(),
            domain_id: Some("d-x".into()),
            owner_profile: Some("alice".into()),
            ..Listed::default()
        };
        let subject = subject_for(kind("app"), &app, None).unwrap();
        assert_eq!(subject.owner_profile, Some(("alice".to_string(), Via::AppOwner)));
        assert_eq!(subject.domain_id.as_deref(), Some("d-x"));
    }

    #[test]
    fn deleted_apps_versioned_packages_and_bad_arns_are_skipped_with_reasons() {
        let deleted = Listed { status: Some("Deleted".into()), ..listed("arn:aws:sagemaker:r:1:app/d/u/jupyterlab/a") };
        assert_eq!(subject_for(kind("app"), &deleted, None).unwrap_err().to_string(), "app is Deleted");
        let versioned = listed("arn:aws:sagemaker:r:1:model-package/group/3");
        let refusal = subject_for(kind("model-package"), &versioned, None).unwrap_err();
        assert!(refusal.to_string().contains("model package group"));
        let refusal = subject_for(kind("model"), &listed("nope"), None).unwrap_err();
        assert!(refusal.to_string().contains("not a SageMaker ARN"));
    }

    #[test]
    fn a_state_round_trips_through_json_and_knows_when_it_is_complete() {
        let mut state = SweepState::default();
        let kinds = kinds_named(&["model".into(), "endpoint".into()]).unwrap();
        state.types.insert("model".into(), TypeState { complete: true, ..Default::default() });
        assert!(!state.is_complete(&kinds));
        state.types.insert(
            "endpoint".into(),
            TypeState { next_token: Some("t".into()), done: ["a".to_string()].into(), complete: false },
        );
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<SweepState>(&text).unwrap(), state);
        state.types.get_mut("endpoint").unwrap().complete = true;
        assert!(state.is_complete(&kinds));
    }

    #[test]
    fn only_eventbridge_schedules_start_a_sweep() {
        let schedule = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert!(is_schedule(&schedule));
        let cloudtrail = serde_json::json!({"source": "aws.sagemaker", "detail-type": "AWS API Call via CloudTrail"});
        assert!(!is_schedule(&cloudtrail));
    }

    #[test]
    fn outcome_lines_carry_the_type_and_the_dry_run_flag() {
        let outcome = Outcome::skipped("gone", Some("CreateModel"), Some("arn"));
        let line = outcome_line("model", &outcome, true);
        assert_eq!(line["outcome"], "skipped");
        assert_eq!(line["resource_type"], "model");
        assert_eq!(line["dry_run"], true);
    }
}
