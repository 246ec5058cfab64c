//! The sweep's side effects: list page by page, tag with bounded concurrency, checkpoint, stop at a
//! deadline; and the auto-tagger Lambda's handler that runs a sweep on a schedule.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use serde_json::Value;

use super::list::{Listed, Lister, has_role_lookup};
use super::{
    HistorySummary, NOT_SWEPT, Progress, SweepOptions, SweepState, SweepSummary, TypeSummary, is_schedule, subject_for,
};
use crate::aws::AwsError;
use crate::policy::SourceKind;
use crate::resource::{ResourceKind, SageMakerArn};
use crate::tagging::{AutoTagger, CreateCall, Outcome, RetryableError, TagOptions};

/// Time kept free before the Lambda's deadline: in-flight resources finish and the summary is returned.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(super) struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    pub(super) fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    pub(super) fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(super) fn past(deadline: Option<Instant>) -> bool {
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
    if let Some(history) = lister.history() {
        let mut found = HistorySummary::default();
        match history.read(&mut state.history, options.deadline).await {
            Ok(_) => {}
            Err(err) => found.error = Some(err.to_string()),
        }
        found.records = state.history.records.len();
        found.calls = state.history.calls;
        found.complete = state.history.is_complete();
        summary.history = Some(found);
    }
    let history = &state.history;
    let creators_named = AtomicU64::new(0);

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
                    let from_history = history.create_call(&listed.arn);
                    if from_history.is_some() {
                        creators_named.fetch_add(1, Ordering::SeqCst);
                    }
                    let how = How { options: tag_options, reads_roles, from_history };
                    handle_one(tagger, lister, kind, listed, how, options.deadline, &gauge)
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
    if let Some(found) = summary.history.as_mut() {
        found.creators_named = creators_named.load(Ordering::SeqCst);
    }
    observe(Progress::Checkpoint(state));
    summary.complete = state.is_complete(&options.kinds);
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    summary.max_in_flight = gauge.max.load(Ordering::SeqCst);
    summary
}

/// How one listed resource is tagged: the tag options, whether its execution role is read, and its create
/// call from the event history, if the history holds it.
pub(super) struct How {
    pub(super) options: TagOptions,
    pub(super) reads_roles: bool,
    pub(super) from_history: Option<CreateCall>,
}

async fn handle_one(
    tagger: &AutoTagger,
    lister: &Lister,
    kind: &'static ResourceKind,
    listed: Listed,
    how: How,
    deadline: Option<Instant>,
    gauge: &Gauge,
) -> (String, Option<Outcome>) {
    if past(deadline) {
        return (listed.arn, None);
    }
    gauge.enter();
    let outcome = tag_listed(tagger, lister, kind, &listed, how).await;
    gauge.leave();
    (listed.arn, Some(outcome))
}

async fn tag_listed(
    tagger: &AutoTagger,
    lister: &Lister,
    kind: &'static ResourceKind,
    listed: &Listed,
    how: How,
) -> Outcome {
    match try_tag_listed(tagger, lister, kind, listed, how).await {
        Ok(outcome) => outcome,
        Err(err) => Outcome::Failed { reason: err.to_string(), resource_arn: listed.arn.clone() },
    }
}

/// One listed resource tagged as the event path would: `Err` when an AWS call failed (retryable or not),
/// so that the queued sweep can tell a page to retry from a resource to report.
pub(super) async fn try_tag_listed(
    tagger: &AutoTagger,
    lister: &Lister,
    kind: &'static ResourceKind,
    listed: &Listed,
    how: How,
) -> Result<Outcome, AwsError> {
    let How { options, reads_roles, from_history } = how;
    let role = match SageMakerArn::parse(&listed.arn) {
        Some(arn) if from_history.is_none() && reads_roles && listed.role_arn.is_none() && has_role_lookup(kind) => {
            lister.execution_role(kind, &arn).await?
        }
        _ => None,
    };
    match subject_for(kind, listed, role.as_deref()) {
        Err(refusal) => Ok(Outcome::skipped(refusal.to_string(), Some(kind.create_event), Some(&listed.arn))),
        Ok(listed_subject) => {
            // NOTE: the create record names the creator: tagged as the event path would have.
            let subject = match from_history {
                Some(call) => call.subject_under(&tagger.policy().tags),
                None => listed_subject,
            };
            let mut outcome = tagger.tag_resource(&subject, options).await?;
            tagger.keep_studio_idle(kind, &subject.arn, options.dry_run, &mut outcome).await?;
            // NOTE: a HyperPod cluster's ARN names it by id: the listing's name goes with the outcome.
            if let Outcome::Tagged(report) | Outcome::Unchanged(report) = &mut outcome {
                report.resource_name.clone_from(&listed.name);
            }
            Ok(outcome)
        }
    }
}

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
    use crate::sweep::{DEFAULT_CONCURRENCY, TypeState, kinds_named};
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
    fn models_page(token: Option<&'static str>, names: &'static [&'static str], next: Option<&'static str>) -> Rule {
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
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules, no_retry).into(),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&role_tags]).into(),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, std::iter::empty::<&Rule>())
                .into(),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, std::iter::empty::<&Rule>())
                .into(),
            costexplorer: mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, std::iter::empty::<&Rule>()).into(),
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
        let (first, second) = (models_page(None, &["m1", "m2"], Some("p2")), models_page(Some("p2"), &["m3"], None));
        let add = mock!(SageMaker::add_tags)
            .match_requests(|r| r.tags().iter().any(|t| t.key() == Some("cost-center") && t.value() == Some("CC-5000")))
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
        let throttled = mock!(SageMaker::list_endpoints).then_http_response(|| aws_error(400, "ThrottlingException"));
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
