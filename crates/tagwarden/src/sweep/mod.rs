//! The sweep: tags the resources that already exist, by the same plan as the auto-tagger.
//!
//! In: resource kinds to walk, a [`SweepState`] checkpoint, options (dry run, concurrency, deadline).
//! Out: one [`Outcome`] per resource (reported as it happens) and a [`SweepSummary`]. Every kind of the
//! resource table is listed with its paginated `List*` call ([`list`]); each resource goes through
//! [`AutoTagger::tag_resource`], the entry point the event path uses. The creator of an old resource is
//! unknown, so the sources are Studio's own tags on it, the owning profile of apps and spaces, the
//! execution role's tags (read with `Describe*`), and the policy defaults.
//!
//! The pure part ([`subject_for`], [`SweepState`], [`SweepSummary`]) decides what to do with one listed
//! resource and keeps count; [`sweep`] is the apply part (bounded concurrency, checkpoints, deadline).

pub mod list;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use list::{Listed, Lister, Page, has_role_lookup};

use crate::identity::Creator;
use crate::policy::SourceKind;
use crate::resource::{KINDS, ResourceKind, SageMakerArn, kind_for_arn_type};
use crate::tagging::{AutoTagger, Outcome, RetryableError, Subject, TagOptions};

/// Default number of resources tagged at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// What the sweep does not cover, and why (printed with the summary).
pub const NOT_SWEPT: &[&str] = &[
    "versioned model packages: SageMaker cannot tag them; their model package group is swept",
    "apps, spaces, profiles and domains being deleted (status Deleted, Deleting, Failed): nothing to tag",
];

/// The kinds the sweep walks: every resource type of the table once, in table order.
pub fn sweep_kinds() -> Vec<&'static ResourceKind> {
    let mut kinds: Vec<&'static ResourceKind> = Vec::new();
    for kind in KINDS {
        if !kinds.iter().any(|k| k.arn_type == kind.arn_type) {
            kinds.push(kind);
        }
    }
    kinds
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

/// What to do with one listed resource: the [`Subject`] to tag, or why it is skipped. Pure.
///
/// The creator is unknown (nobody recorded it); the execution role, when known, is the `principal`
/// source; an app's or space's owning profile is the creator.
pub fn subject_for(kind: &'static ResourceKind, listed: &Listed, role_arn: Option<&str>) -> Result<Subject, String> {
    let arn = SageMakerArn::parse(&listed.arn).ok_or_else(|| format!("not a SageMaker ARN: {:?}", listed.arn))?;
    if kind.arn_type == "model-package" && arn.path.contains('/') {
        return Err("versioned model packages cannot be tagged; tag the model package group instead".into());
    }
    if let Some(status) = listed.status.as_deref().filter(|s| matches!(*s, "Deleted" | "Deleting" | "Failed")) {
        return Err(format!("{} is {status}", kind.arn_type));
    }
    let owner = match kind.arn_type {
        "app" => listed.owner_profile.clone().map(|n| (n, "app-owner")),
        "space" => listed.owner_profile.clone().map(|n| (n, "space-owner")),
        _ => None,
    };
    Ok(Subject {
        kind,
        arn,
        creator: Creator::unknown("sweep", role_arn.or(listed.role_arn.as_deref())),
        domain_id: listed.domain_id.clone(),
        owner_profile: owner,
        space_name: listed.space_name.clone(),
        event_id: None,
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
    /// Listed but already done by an earlier run with the same state.
    pub already_done: u64,
    /// The type was complete in the state and not listed again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resumed_complete: bool,
    /// Why the listing stopped, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TypeSummary {
    fn count(&mut self, outcome: &Outcome) {
        self.scanned += 1;
        match outcome {
            Outcome::Tagged(_) => self.tagged += 1,
            Outcome::Unchanged(_) => self.unchanged += 1,
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

struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Sweeps the estate: lists every kind of `options` and tags each resource with `tagger`.
///
/// `state` is read and updated (save it on [`Progress::Checkpoint`] to resume later); `observe` sees
/// every outcome as it happens. Listing failures of one type are recorded in its summary and the sweep
/// goes on with the next type.
pub async fn sweep(
    tagger: &AutoTagger,
    lister: &Lister,
    options: &SweepOptions,
    state: &mut SweepState,
    observe: &mut (dyn FnMut(Progress<'_>) + Send),
) -> SweepSummary {
    let started = Instant::now();
    let gauge = Gauge { now: AtomicUsize::new(0), max: AtomicUsize::new(0) };
    let concurrency = options.concurrency.max(1);
    let tag_options = TagOptions { dry_run: options.dry_run, notify: false, keep_source_values: true };
    let reads_roles = tagger.policy().tags.sources.contains(&SourceKind::Principal);
    let mut summary = SweepSummary { dry_run: options.dry_run, not_swept: NOT_SWEPT.to_vec(), ..Default::default() };

    'kinds: for kind in &options.kinds {
        let kind: &'static ResourceKind = kind;
        let name = kind.arn_type;
        let mut progress = state.types.remove(name).unwrap_or_default();
        let mut counts = TypeSummary { resumed_complete: progress.complete, ..Default::default() };
        let mut restarted = false;
        let mut failures = 0;
        while !progress.complete {
            if past(options.deadline) {
                summary.stopped_early = Some(format!("deadline reached before listing {name}"));
                break;
            }
            let page = match lister.page(kind, progress.next_token.clone()).await {
                Ok(page) => page,
                // NOTE: a saved token may have expired; the done set keeps a fresh listing from redoing work.
                Err(err) if progress.next_token.is_some() && !err.is_retryable() && !restarted => {
                    restarted = true;
                    progress.next_token = None;
                    continue;
                }
                Err(err) => {
                    counts.error = Some(err.to_string());
                    break;
                }
            };
            let (done, todo): (Vec<Listed>, Vec<Listed>) =
                page.items.into_iter().partition(|l| progress.done.contains(&l.arn));
            counts.already_done += done.len() as u64;
            let handled = futures::stream::iter(todo)
                .map(|listed| {
                    handle_one(tagger, lister, kind, listed, tag_options, reads_roles, options.deadline, &gauge)
                })
                .buffer_unordered(concurrency);
            futures::pin_mut!(handled);
            let mut cut_short = false;
            while let Some((arn, outcome)) = handled.next().await {
                let Some(outcome) = outcome else {
                    cut_short = true;
                    continue;
                };
                counts.count(&outcome);
                if matches!(outcome, Outcome::Failed { .. }) {
                    failures += 1;
                } else {
                    progress.done.insert(arn);
                }
                summary.types.insert(name.to_owned(), counts.clone());
                summary.total.count(&outcome);
                observe(Progress::Resource { outcome: &outcome, summary: &summary });
            }
            if cut_short {
                summary.stopped_early = Some(format!("deadline reached while sweeping {name}"));
            } else {
                progress.next_token = page.next_token;
                if progress.next_token.is_none() {
                    if failures == 0 {
                        progress.complete = true;
                    } else {
                        // NOTE: listed to the end with failures: the next run lists again and retries them.
                        break;
                    }
                }
            }
            state.types.insert(name.to_owned(), progress.clone());
            observe(Progress::Checkpoint(state));
            if cut_short {
                break;
            }
        }
        state.types.insert(name.to_owned(), progress);
        summary.total.already_done += counts.already_done;
        summary.types.insert(name.to_owned(), counts);
        if summary.stopped_early.is_some() {
            break 'kinds;
        }
    }
    observe(Progress::Checkpoint(state));
    summary.complete = state.is_complete(&options.kinds);
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    summary.max_in_flight = gauge.max.load(Ordering::SeqCst);
    summary
}

#[allow(clippy::too_many_arguments)]
async fn handle_one(
    tagger: &AutoTagger,
    lister: &Lister,
    kind: &'static ResourceKind,
    listed: Listed,
    options: TagOptions,
    reads_roles: bool,
    deadline: Option<Instant>,
    gauge: &Gauge,
) -> (String, Option<Outcome>) {
    if past(deadline) {
        return (listed.arn, None);
    }
    gauge.enter();
    let outcome = tag_listed(tagger, lister, kind, &listed, options, reads_roles).await;
    gauge.leave();
    (listed.arn, Some(outcome))
}

async fn tag_listed(
    tagger: &AutoTagger,
    lister: &Lister,
    kind: &'static ResourceKind,
    listed: &Listed,
    options: TagOptions,
    reads_roles: bool,
) -> Outcome {
    let failed = |reason: String| Outcome::Failed { reason, resource_arn: listed.arn.clone() };
    let role = match SageMakerArn::parse(&listed.arn) {
        Some(arn) if reads_roles && listed.role_arn.is_none() && has_role_lookup(kind) => {
            match lister.execution_role(kind, &arn).await {
                Ok(role) => role,
                Err(err) => return failed(err.to_string()),
            }
        }
        _ => None,
    };
    match subject_for(kind, listed, role.as_deref()) {
        Err(reason) => Outcome::skipped(reason, Some(kind.create_event), Some(&listed.arn)),
        Ok(subject) => match tagger.tag_resource(&subject, options).await {
            Ok(outcome) => outcome,
            Err(err) => failed(err.to_string()),
        },
    }
}

/// Whether an event is EventBridge's schedule (`source: aws.events`, `detail-type: Scheduled Event`).
pub fn is_schedule(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// Time kept free before the Lambda's deadline: in-flight resources finish and the summary is returned.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The auto-tagger Lambda's handler: a schedule runs a sweep until the invocation's `deadline` less
/// [`DEADLINE_MARGIN`] and returns its summary; anything else is an event for [`AutoTagger::handle`].
///
/// A scheduled run starts over each time (no checkpoint is kept between runs): resources that already
/// comply cost one `ListTags` each. The summary's `stopped_early` says when the estate did not fit.
pub async fn handle_event(
    tagger: &AutoTagger,
    lister: &Lister,
    event: &Value,
    deadline: Option<SystemTime>,
) -> Result<Value, RetryableError> {
    if !is_schedule(event) {
        let outcome = tagger.handle(event).await?;
        return Ok(serde_json::to_value(outcome).unwrap_or(Value::Null));
    }
    let deadline = deadline.map(|d| {
        let remaining = d.duration_since(SystemTime::now()).unwrap_or_default();
        Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
    });
    let options = SweepOptions { deadline, ..Default::default() };
    let mut state = SweepState::default();
    let summary = sweep(tagger, lister, &options, &mut state, &mut |_| {}).await;
    tracing::info!(
        scanned = summary.total.scanned,
        tagged = summary.total.tagged,
        failed = summary.total.failed,
        complete = summary.complete,
        stopped_early = summary.stopped_early.as_deref().unwrap_or(""),
        "scheduled sweep"
    );
    Ok(serde_json::json!({ "outcome": "swept", "summary": summary }))
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
        assert_eq!(names, KINDS.iter().map(|k| k.arn_type).collect());
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
        assert_eq!(subject.owner_profile, Some(("alice".to_string(), "app-owner")));
        assert_eq!(subject.domain_id.as_deref(), Some("d-x"));
    }

    #[test]
    fn deleted_apps_versioned_packages_and_bad_arns_are_skipped_with_reasons() {
        let deleted = Listed { status: Some("Deleted".into()), ..listed("arn:aws:sagemaker:r:1:app/d/u/jupyterlab/a") };
        assert_eq!(subject_for(kind("app"), &deleted, None).unwrap_err(), "app is Deleted");
        let versioned = listed("arn:aws:sagemaker:r:1:model-package/group/3");
        assert!(subject_for(kind("model-package"), &versioned, None).unwrap_err().contains("model package group"));
        assert!(subject_for(kind("model"), &listed("nope"), None).unwrap_err().contains("not a SageMaker ARN"));
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

    mod with_mocks {
        use std::sync::Arc;

        use aws_sdk_sagemaker::Client as SageMaker;
        use aws_sdk_sagemaker::operation::add_tags::AddTagsOutput;
        use aws_sdk_sagemaker::operation::describe_model::DescribeModelOutput;
        use aws_sdk_sagemaker::operation::list_models::ListModelsOutput;
        use aws_sdk_sagemaker::operation::list_tags::ListTagsOutput;
        use aws_sdk_sagemaker::types::ModelSummary;
        use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;

        use super::*;
        use crate::Policy;
        use crate::aws::Clients;
        use crate::tagging::TaggerSettings;

        const ROLE: &str = "arn:aws:iam::123456789012:role/batch-runner";

        fn model_arn(name: &str) -> String {
            format!("arn:aws:sagemaker:us-east-1:123456789012:model/{name}")
        }

        fn aws_error(status: u16, code: &str) -> HttpResponse {
            let body = serde_json::json!({"__type": code, "message": "from the mock"}).to_string();
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
        }

        /// `ListModels`: the page for `token` (None = first) holds `names` and points at `next`.
        fn models_page(
            token: Option<&'static str>,
            names: &'static [&'static str],
            next: Option<&'static str>,
        ) -> Rule {
            mock!(SageMaker::list_models).match_requests(move |r| r.next_token() == token).then_output(move || {
                let summaries =
                    names.iter().map(|n| ModelSummary::builder().model_name(*n).model_arn(model_arn(n)).build());
                ListModelsOutput::builder()
                    .set_models(Some(summaries.collect()))
                    .set_next_token(next.map(str::to_owned))
                    .build()
            })
        }

        fn sweeper(sagemaker: &[&Rule]) -> (AutoTagger, Lister) {
            let no_retry = |c: aws_sdk_sagemaker::config::Builder| {
                c.retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
            };
            let role_tags = mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
                let tag = |k: &str, v: &str| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap();
                aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput::builder()
                    .tags(tag("cost-center", "CC-5000"))
                    .tags(tag("team", "data-engineering"))
                    .is_truncated(false)
                    .build()
                    .unwrap()
            });
            let describe = mock!(SageMaker::describe_model)
                .then_output(|| DescribeModelOutput::builder().execution_role_arn(ROLE).build());
            let list_tags = mock!(SageMaker::list_tags).then_output(|| ListTagsOutput::builder().build());
            let rules = sagemaker.iter().copied().chain([&describe, &list_tags]);
            let clients = Clients {
                sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules, no_retry),
                iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&role_tags]),
                sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, std::iter::empty::<&Rule>()),
                tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, std::iter::empty::<&Rule>()),
                budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, std::iter::empty::<&Rule>()),
                sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, std::iter::empty::<&Rule>()),
                ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, std::iter::empty::<&Rule>()),
            };
            let policy = Arc::new(Policy::example().unwrap());
            (AutoTagger::new(clients.clone(), policy, &TaggerSettings::default()), Lister::new(clients))
        }

        fn add_tags() -> Rule {
            mock!(SageMaker::add_tags).then_output(|| AddTagsOutput::builder().build())
        }

        async fn run(tagger: &AutoTagger, lister: &Lister, types: &[&str], state: &mut SweepState) -> SweepSummary {
            let names: Vec<String> = types.iter().map(|t| t.to_string()).collect();
            let options = SweepOptions { kinds: kinds_named(&names).unwrap(), ..SweepOptions::default() };
            sweep(tagger, lister, &options, state, &mut |_| {}).await
        }

        #[tokio::test]
        async fn every_page_is_listed_and_each_resource_tagged_once_from_its_execution_role() {
            let (first, second) =
                (models_page(None, &["m1", "m2"], Some("p2")), models_page(Some("p2"), &["m3"], None));
            let add = mock!(SageMaker::add_tags)
                .match_requests(|r| {
                    r.tags().iter().any(|t| t.key() == Some("cost-center") && t.value() == Some("CC-5000"))
                })
                .then_output(|| AddTagsOutput::builder().build());
            let (tagger, lister) = sweeper(&[&first, &second, &add]);
            let mut state = SweepState::default();
            let summary = run(&tagger, &lister, &["model"], &mut state).await;
            assert_eq!(summary.types["model"].tagged, 3, "{summary:?}");
            assert_eq!((first.num_calls(), second.num_calls(), add.num_calls()), (1, 1, 3));
            assert!(state.types["model"].complete && summary.complete);
            assert!(summary.max_in_flight <= DEFAULT_CONCURRENCY);
        }

        #[tokio::test]
        async fn a_throttled_listing_is_reported_for_its_type_and_the_sweep_goes_on() {
            let throttled =
                mock!(SageMaker::list_endpoints).then_http_response(|| aws_error(400, "ThrottlingException"));
            let models = models_page(None, &["m1"], None);
            let add = add_tags();
            let (tagger, lister) = sweeper(&[&throttled, &models, &add]);
            let mut state = SweepState::default();
            let summary = run(&tagger, &lister, &["endpoint", "model"], &mut state).await;
            assert!(summary.types["endpoint"].error.as_deref().unwrap().contains("throttled"));
            assert_eq!(summary.types["model"].tagged, 1);
            assert!(!summary.complete && !state.types["endpoint"].complete);
        }

        #[tokio::test]
        async fn a_failed_resource_is_not_done_and_the_next_run_retries_only_it() {
            let models = models_page(None, &["m1", "m2"], None);
            let denied = mock!(SageMaker::add_tags)
                .match_requests(|r| r.resource_arn().is_some_and(|a| a.ends_with("/m1")))
                .then_http_response(|| aws_error(400, "AccessDeniedException"));
            let add = add_tags();
            let (tagger, lister) = sweeper(&[&models, &denied, &add]);
            let mut state = SweepState::default();
            let summary = run(&tagger, &lister, &["model"], &mut state).await;
            assert_eq!((summary.total.failed, summary.total.tagged), (1, 1));
            assert_eq!(state.types["model"].done, [model_arn("m2")].into());
            assert!(!state.types["model"].complete);

            let summary = run(&tagger, &lister, &["model"], &mut state).await;
            assert_eq!((summary.total.scanned, summary.total.already_done), (1, 1));
            assert_eq!(denied.num_calls(), 2);
        }

        #[tokio::test]
        async fn an_expired_token_restarts_the_listing_and_skips_what_is_done() {
            let stale = mock!(SageMaker::list_models)
                .match_requests(|r| r.next_token() == Some("stale"))
                .then_http_response(|| aws_error(400, "ValidationException"));
            let fresh = models_page(None, &["m1", "m2"], None);
            let add = add_tags();
            let (tagger, lister) = sweeper(&[&stale, &fresh, &add]);
            let mut state = SweepState::default();
            let done = TypeState { next_token: Some("stale".into()), done: [model_arn("m1")].into(), complete: false };
            state.types.insert("model".into(), done);
            let summary = run(&tagger, &lister, &["model"], &mut state).await;
            assert_eq!((summary.types["model"].already_done, summary.types["model"].tagged), (1, 1));
            assert_eq!((stale.num_calls(), fresh.num_calls(), add.num_calls()), (1, 1, 1));
            assert!(state.types["model"].complete);
        }
    }
}
