//! `idle.endpoints`: InService endpoints in scope whose variants served no `Invocations` (CloudWatch
//! `AWS/SageMaker`, by `EndpointName` and `VariantName`, Sum over the window, at most
//! [`MAX_QUERIES_PER_CALL`] metrics a `GetMetricData` call) for the rule's window. An endpoint younger than
//! the window is not idle. First tick: the owner's notice and a ledger mark; a tick after the grace, still
//! idle: `scale-endpoints` to the variants' autoscaling minimum (or 1), or delete where the deployment allows
//! it; traffic in between clears the mark.

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::info;

use super::{IdleReport, Where};
use crate::aws::{AwsError, ResultExt};
use crate::enforce::actor::{Actor, running};
use crate::enforce::apply::{BudgetEnforcer, ledger_error};
use crate::enforce::ledger::{self, Bounds, IdleMark};
use crate::enforce::plan::{Candidate, select_within};
use crate::enforce::report::{ActionResult, ResultKind};
use crate::enforce::{EnforceError, scalable};
use crate::notice::{self, Notice, Severity};
use crate::policy::idle::endpoints::{EndpointIdleRule, IdleEndpointAction};
use crate::policy::{Action, Day, EndpointAction};

/// CloudWatch's limit of metrics (queries) in one `GetMetricData` call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// Whether an endpoint is idle over a window, from its creation time and its invocations in the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Old enough, and no invocation in the window.
    Idle,
    /// It served requests in the window.
    Busy {
        /// Invocations in the window (all variants).
        invocations: f64,
    },
    /// Created within the window (or its creation time is unknown): not idle yet.
    Young,
}

/// Is an endpoint created at `created` with `invocations` in the window `[now - window, now)` idle? (Pure.)
pub fn verdict(
    created: Option<DateTime<Utc>>,
    invocations: f64,
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> Verdict {
    if invocations > 0.0 {
        return Verdict::Busy { invocations };
    }
    let window = chrono::Duration::seconds(i64::try_from(window.as_secs()).unwrap_or(i64::MAX / 2));
    match created {
        Some(created) if created <= now - window => Verdict::Idle,
        _ => Verdict::Young,
    }
}

/// What a tick does for one endpoint, from its verdict and the rule's mark in the ledger. (Pure.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum IdleStep {
    /// Not idle and not marked: nothing.
    Nothing,
    /// Idle and not marked: tell the owner, mark it with its grace's end.
    Notice,
    /// Idle, marked, the grace not over: wait.
    InGrace {
        /// When the grace ends.
        due: String,
    },
    /// Idle, marked, the grace over: act.
    Act,
    /// The rule acted on it already: nothing more.
    Acted,
    /// Marked but not idle any more: forget the mark.
    Clear,
}

/// The tick's step for an endpoint with this verdict and mark at `now`.
pub fn next_step(verdict: Verdict, mark: Option<&IdleMark>, now: DateTime<Utc>) -> IdleStep {
    match (verdict, mark) {
        (Verdict::Idle, None) => IdleStep::Notice,
        (Verdict::Idle, Some(mark)) if mark.acted => IdleStep::Acted,
        (Verdict::Idle, Some(mark)) if mark.due.as_str() <= ledger::timestamp(now).as_str() => IdleStep::Act,
        (Verdict::Idle, Some(mark)) => IdleStep::InGrace { due: mark.due.clone() },
        // NOTE: an endpoint the rule scaled down and that serves again keeps its mark until it is busy: the
        // mark is forgotten then, and the next idle window notices it again.
        (_, Some(_)) => IdleStep::Clear,
        (_, None) => IdleStep::Nothing,
    }
}

/// The count an idle endpoint is scaled to: the highest autoscaling minimum of its variants, at least 1.
pub fn minimum(bounds: &[Bounds]) -> i32 {
    bounds.iter().map(|b| b.min).max().unwrap_or(1).max(1)
}

/// One metric to sum: an endpoint's variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantMetric {
    /// The endpoint name.
    pub endpoint: String,
    /// The variant name.
    pub variant: String,
}

/// The `GetMetricData` queries for `metrics`, in calls of at most [`MAX_QUERIES_PER_CALL`]; each query's id
/// is `q<index into metrics>`. (Pure.)
pub fn batches(metrics: &[VariantMetric], period_secs: i32) -> Vec<Vec<MetricDataQuery>> {
    let queries: Vec<MetricDataQuery> = metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let metric = Metric::builder()
                .namespace("AWS/SageMaker")
                .metric_name("Invocations")
                .dimensions(Dimension::builder().name("EndpointName").value(&m.endpoint).build())
                .dimensions(Dimension::builder().name("VariantName").value(&m.variant).build())
                .build();
            let stat = MetricStat::builder().metric(metric).period(period_secs).stat("Sum").build();
            MetricDataQuery::builder().id(format!("q{i}")).metric_stat(stat).return_data(true).build()
        })
        .collect();
    queries.chunks(MAX_QUERIES_PER_CALL).map(<[MetricDataQuery]>::to_vec).collect()
}

/// Sums each metric's `Invocations` over `[now - window, now)`: one `GetMetricData` call (and its pages)
/// per batch of at most 500. A metric without data points sums to 0.
pub async fn invocations(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    metrics: &[VariantMetric],
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Vec<f64>, AwsError> {
    let mut sums = vec![0.0; metrics.len()];
    let seconds = i64::try_from(window.as_secs()).unwrap_or(i64::MAX / 2);
    let period = i32::try_from(window.as_secs()).unwrap_or(i32::MAX);
    let end = aws_smithy_types::DateTime::from_secs(now.timestamp());
    let start = aws_smithy_types::DateTime::from_secs(now.timestamp() - seconds);
    for batch in batches(metrics, period) {
        let mut pages = cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(batch))
            .start_time(start)
            .end_time(end)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for result in page.aws("GetMetricData")?.metric_data_results() {
                let index = result.id().and_then(|id| id.strip_prefix('q')).and_then(|i| i.parse::<usize>().ok());
                if let Some(sum) = index.and_then(|i| sums.get_mut(i)) {
                    *sum += result.values().iter().sum::<f64>();
                }
            }
        }
    }
    Ok(sums)
}

/// What an endpoint rule decided for one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointDecision {
    /// The rule.
    pub rule: String,
    /// The endpoint's ARN.
    pub endpoint: String,
    /// Its verdict over the window.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What this tick did about it.
    #[serde(flatten)]
    pub step: IdleStep,
}

/// An in-scope InService endpoint, described.
struct Described {
    candidate: Candidate,
    name: String,
    created: Option<DateTime<Utc>>,
    variants: Vec<String>,
}

impl BudgetEnforcer {
    /// Runs one endpoint rule at `now` in `here` (see the module).
    pub(super) async fn idle_endpoints(
        &self,
        rule: &EndpointIdleRule,
        now: DateTime<Utc>,
        force_dry_run: bool,
        here: &Where,
        report: &mut IdleReport,
    ) -> Result<(), EnforceError> {
        let name = rule.ledger_name();
        let Some(home_cloudwatch) = self.cloudwatch.as_ref() else {
            report.skipped.push(format!("{name}: no CloudWatch client is configured; endpoints cannot be measured"));
            return Ok(());
        };
        let ledger = self.ledger()?;
        if rule.then == IdleEndpointAction::Delete && !self.endpoint_deletion {
            report.skipped.push(format!(
                "{name}: the rule deletes endpoints, but this deployment does not allow it (AllowEndpointDeletion, \
                 {}=true); nothing noticed or deleted",
                super::ENDPOINT_DELETION_ENV
            ));
            return Ok(());
        }
        let dry_run = force_dry_run || rule.dry_run.unwrap_or(self.policy.budgets.dry_run);
        let (actor, cloudwatch) = self.endpoint_reach(here, home_cloudwatch).await.map_err(EnforceError::Retryable)?;
        let described = self.in_scope_endpoints(&actor, rule, report).await.map_err(EnforceError::Retryable)?;
        let metrics: Vec<VariantMetric> = described
            .iter()
            .flat_map(|d| d.variants.iter().map(|v| VariantMetric { endpoint: d.name.clone(), variant: v.clone() }))
            .collect();
        let sums =
            invocations(&cloudwatch, &metrics, rule.no_invocations_for, now).await.map_err(EnforceError::Retryable)?;
        let mut by_endpoint: HashMap<&str, f64> = HashMap::new();
        for (metric, sum) in metrics.iter().zip(&sums) {
            *by_endpoint.entry(metric.endpoint.as_str()).or_default() += sum;
        }
        // NOTE: a place's run sees only its own place's marks: the others' are theirs to keep or clear.
        let marks: HashMap<String, IdleMark> = ledger
            .idle_marks(&name)
            .await
            .map_err(ledger_error)?
            .into_iter()
            .filter(|m| here.holds(&m.resource))
            .map(|m| (m.resource.to_ascii_lowercase(), m))
            .collect();
        let mut due: Vec<&Described> = Vec::new();
        let mut seen = HashSet::new();
        for d in &described {
            let arn = d.candidate.arn.clone();
            seen.insert(arn.to_ascii_lowercase());
            let invocations = by_endpoint.get(d.name.as_str()).copied().unwrap_or_default();
            let verdict = verdict(d.created, invocations, rule.no_invocations_for, now);
            let mark = marks.get(&arn.to_ascii_lowercase());
            let step = next_step(verdict, mark, now);
            match (&step, dry_run) {
                (IdleStep::Notice, false) => {
                    let grace = chrono::Duration::seconds(i64::try_from(rule.grace.as_secs()).unwrap_or(i64::MAX / 2));
                    let mark = IdleMark {
                        resource: arn.clone(),
                        name: d.name.clone(),
                        noticed_at: ledger::timestamp(now),
                        due: ledger::timestamp(now + grace),
                        acted: false,
                    };
                    // NOTE: the mark is a conditional put: a redelivered tick (or a second invocation) finds it
                    // and does not tell the owner again.
                    if ledger.put_idle_mark(&name, &mark).await.map_err(ledger_error)? {
                        let notice = idle_notice(rule, d, &mark);
                        match self.publish(&notice).await {
                            Ok(sent) => report.notices += usize::from(sent),
                            Err(err) => {
                                // NOTE: no notice, no mark: the retry tells the owner (the grace starts then).
                                ledger.clear_idle_mark(&name, &arn).await.map_err(ledger_error)?;
                                return Err(EnforceError::Retryable(err));
                            }
                        }
                    }
                }
                (IdleStep::Clear, false) => ledger.clear_idle_mark(&name, &arn).await.map_err(ledger_error)?,
                (IdleStep::Act, _) => due.push(d),
                _ => {}
            }
            report.endpoints.push(EndpointDecision { rule: name.clone(), endpoint: arn, verdict, step });
        }
        if !dry_run {
            // NOTE: a marked endpoint no longer InService in scope (deleted, out of scope): forget it.
            for mark in marks.values().filter(|m| !seen.contains(&m.resource.to_ascii_lowercase())) {
                ledger.clear_idle_mark(&name, &mark.resource).await.map_err(ledger_error)?;
            }
        }
        self.act_on_idle_endpoints(rule, &actor, due, now, dry_run, force_dry_run, here, report).await
    }

    /// The actor and CloudWatch client that look at endpoints in `here`: the central ones (and the configured
    /// CloudWatch client) for the central run and the central account's own region, else the place's
    /// member clients.
    async fn endpoint_reach(
        &self,
        here: &Where,
        home_cloudwatch: &aws_sdk_cloudwatch::Client,
    ) -> Result<(Actor<'_>, aws_sdk_cloudwatch::Client), AwsError> {
        let Where::Place { account, region } = here else {
            return Ok((self.central_actor(), home_cloudwatch.clone()));
        };
        if self.pool.is_none() {
            return Ok((self.central_actor(), home_cloudwatch.clone()));
        }
        let home = self.region_account().await? == format!("{region}:{account}");
        let actor = self.actor(account, region);
        let cloudwatch = if home { home_cloudwatch.clone() } else { actor.clients.cloudwatch.client() };
        Ok((actor, cloudwatch))
    }

    /// The InService endpoints in the rule's scope, with their creation time and variants; the exempt ones
    /// are recorded in the report and left out.
    async fn in_scope_endpoints(
        &self,
        actor: &Actor<'_>,
        rule: &EndpointIdleRule,
        report: &mut IdleReport,
    ) -> Result<Vec<Described>, AwsError> {
        let request =
            actor.clients.sagemaker.list_endpoints().status_equals(aws_sdk_sagemaker::types::EndpointStatus::InService);
        let running = running!(request, "ListEndpoints", endpoints, endpoint_arn, endpoint_name);
        let (candidates, names) =
            actor.candidates(&super::resolved(&rule.scope), "sagemaker:endpoint", &running).await?;
        let candidates: Vec<Candidate> = candidates.into_iter().filter(|c| c.active).collect();
        let budgets = &self.policy.budgets;
        let action = Action::ScaleEndpoints.to_string();
        let today = budgets.exemption_day();
        let selection =
            select_within(&action, candidates, &budgets.exemptions, &today, ResultKind::NotInService, usize::MAX, 0);
        report.results.extend(selection.settled);
        let mut described = Vec::new();
        for candidate in selection.targets {
            let Some(name) = names.get(&candidate.arn.to_ascii_lowercase()).cloned() else { continue };
            let out =
                actor.clients.sagemaker.describe_endpoint().endpoint_name(&name).send().await.aws("DescribeEndpoint");
            let out = match out {
                Ok(out) => out,
                Err(err) if err.is_not_found() => continue,
                Err(err) => return Err(err),
            };
            let created = out.creation_time().and_then(|t| DateTime::from_timestamp(t.secs(), 0));
            let variants =
                out.production_variants().iter().filter_map(|v| v.variant_name().map(str::to_owned)).collect();
            described.push(Described { candidate, name, created, variants });
        }
        Ok(described)
    }

    /// Acts on the endpoints whose grace has passed: scaled to their minimum (grouped by it) or deleted,
    /// through the `scale-endpoints` row on exactly these endpoints in `here`; each acted on is marked so.
    #[allow(clippy::too_many_arguments)]
    async fn act_on_idle_endpoints(
        &self,
        rule: &EndpointIdleRule,
        actor: &Actor<'_>,
        due: Vec<&Described>,
        now: DateTime<Utc>,
        dry_run: bool,
        force_dry_run: bool,
        here: &Where,
        report: &mut IdleReport,
    ) -> Result<(), EnforceError> {
        if due.is_empty() {
            return Ok(());
        }
        let name = rule.ledger_name();
        let action = Action::ScaleEndpoints.to_string();
        // NOTE: the safety cap bounds the rule's run, not each group below (one act per minimum); the rest
        // stays marked and is acted on at a later tick.
        let budgets = &self.policy.budgets;
        let (due, capped) = within_cap(due, budgets.max_resources_per_action, &budgets.exemption_day());
        report.results.extend(capped);
        let mut groups: BTreeMap<Option<i32>, HashSet<(String, String)>> = BTreeMap::new();
        for d in &due {
            let min = match rule.then {
                IdleEndpointAction::Delete => None,
                IdleEndpointAction::ScaleToMinimum => {
                    let ids: Vec<String> = d.variants.iter().map(|v| scalable::variant_id(&d.name, v)).collect();
                    let bounds = scalable::targets(actor, scalable::VARIANT_INSTANCES, &ids)
                        .await
                        .map_err(EnforceError::Retryable)?;
                    Some(minimum(&bounds))
                }
            };
            groups.entry(min).or_default().insert((action.clone(), d.candidate.arn.to_ascii_lowercase()));
        }
        let mut results = Vec::new();
        for (min, planned) in groups {
            let endpoints = min.map_or(EndpointAction::Delete, EndpointAction::ScaleTo);
            let scope = rule.scope.clone();
            let acted = self
                .act_idle(
                    here,
                    &name,
                    vec![Action::ScaleEndpoints],
                    endpoints,
                    &scope,
                    Some(planned),
                    now.date_naive(),
                    dry_run,
                    !force_dry_run,
                )
                .await?;
            results.extend(acted);
        }
        let ledger = self.ledger()?;
        let settled: Vec<&str> = results
            .iter()
            .filter(|r| matches!(r.result, ResultKind::Done | ResultKind::AlreadyScaled | ResultKind::AlreadyDeleted))
            .map(|r| r.resource_arn.as_str())
            .collect();
        if !dry_run {
            for arn in &settled {
                ledger.set_idle_acted(&name, arn).await.map_err(ledger_error)?;
            }
            let done: Vec<&crate::enforce::ActionResult> = results.iter().filter(|r| r.result.is_done()).collect();
            if !done.is_empty() {
                let notice = acted_notice(rule, &done);
                if self.publish(&notice).await.map_err(EnforceError::Retryable)? {
                    report.notices += 1;
                }
            }
        }
        info!(rule = %name, acted = settled.len(), dry_run, "idle endpoints acted on");
        for decision in report.endpoints.iter_mut().filter(|d| d.rule == name && d.step == IdleStep::Act) {
            if !settled.iter().any(|arn| arn.eq_ignore_ascii_case(&decision.endpoint)) && !dry_run {
                decision.step = IdleStep::InGrace { due: "retry at the next tick".into() };
            }
        }
        report.results.extend(results);
        Ok(())
    }
}

/// The endpoints due that the safety cap lets one run act on (in ARN order, through [`select_within`]), and
/// a `capped` result for each of the others.
fn within_cap<'a>(due: Vec<&'a Described>, cap: usize, today: &Day) -> (Vec<&'a Described>, Vec<ActionResult>) {
    let action = Action::ScaleEndpoints.to_string();
    let candidates = due.iter().map(|d| d.candidate.clone()).collect();
    let selection = select_within(&action, candidates, &[], today, ResultKind::NotInService, cap, 0);
    let chosen: HashSet<&str> = selection.targets.iter().map(|c| c.arn.as_str()).collect();
    let due = due.into_iter().filter(|d| chosen.contains(d.candidate.arn.as_str())).collect();
    (due, selection.settled)
}

/// The owner's notice of an endpoint found idle: what the rule will do and when, routed by its tags.
fn idle_notice(rule: &EndpointIdleRule, endpoint: &Described, mark: &IdleMark) -> Notice {
    let days = rule.no_invocations_for.as_secs() as f64 / 86_400.0;
    let then = match rule.then {
        IdleEndpointAction::ScaleToMinimum => "scaled down to its autoscaling minimum (or 1 instance)",
        IdleEndpointAction::Delete => "deleted",
    };
    let subject = format!("Tagwarden: endpoint {} served no request for {days:.1} days", endpoint.name);
    let body = format!(
        "Endpoint {} ({}) has served no invocation in {days:.1} days (CloudWatch AWS/SageMaker Invocations, every \
         variant). Idle rule {:?}: unless it serves traffic before {}, it will be {then}.\n",
        endpoint.name, endpoint.candidate.arn, rule.name, mark.due
    );
    let mut notice = Notice::new("idle-endpoint", Severity::Warning, subject, body);
    notice.set(notice::BUDGET, Some(&rule.ledger_name())).account_of_arn(&endpoint.candidate.arn);
    notice.route_by_tags(&endpoint.candidate.tags);
    notice.step("Still needed? Send it traffic, or spare it with an entry under `budgets.exemptions` in the policy");
    notice.step(format!(
        "Not needed? Delete it yourself: `aws sagemaker delete-endpoint --endpoint-name {}`",
        endpoint.name
    ));
    notice.resources = vec![endpoint.candidate.arn.clone()];
    notice.detail("due", mark.due.clone()).detail("rule", rule.name.clone());
    notice
}

/// The notice of what a rule did to idle endpoints once their grace passed.
fn acted_notice(rule: &EndpointIdleRule, done: &[&crate::enforce::ActionResult]) -> Notice {
    let what = match rule.then {
        IdleEndpointAction::ScaleToMinimum => "scaled down",
        IdleEndpointAction::Delete => "deleted",
    };
    let subject = format!("Tagwarden: idle rule {} {what} {} endpoint(s)", rule.name, done.len());
    let mut body = format!("Idle rule {:?}: endpoints idle past their grace were {what}:\n", rule.name);
    for r in done.iter().take(50) {
        body.push_str(&format!("  {}\n", r.resource_arn));
    }
    let mut notice = Notice::new("idle-endpoint", Severity::Critical, subject, body);
    notice.set(notice::BUDGET, Some(&rule.ledger_name()));
    let back = match rule.then {
        IdleEndpointAction::ScaleToMinimum => "Scale back up",
        IdleEndpointAction::Delete => "Create them again from their endpoint configs",
    };
    notice.step(format!("{back}: `tagwarden restore --budget {:?}`", rule.ledger_name()));
    notice.resources = done.iter().map(|r| r.resource_arn.clone()).take(20).collect();
    notice
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    const THREE_DAYS: Duration = Duration::from_secs(3 * 86_400);

    #[test]
    fn an_endpoint_without_invocations_older_than_the_window_is_idle_and_a_younger_one_is_not() {
        let now = at("2026-12-10T12:00:00Z");
        assert_eq!(verdict(Some(at("2026-12-01T00:00:00Z")), 0.0, THREE_DAYS, now), Verdict::Idle);
        assert_eq!(
            verdict(Some(at("2026-12-07T12:00:00Z")), 0.0, THREE_DAYS, now),
            Verdict::Idle,
            "exactly the window"
        );
        assert_eq!(verdict(Some(at("2026-12-08T00:00:00Z")), 0.0, THREE_DAYS, now), Verdict::Young);
        assert_eq!(verdict(None, 0.0, THREE_DAYS, now), Verdict::Young, "an unknown age is never idle");
        assert_eq!(verdict(Some(at("2026-12-01T00:00:00Z")), 4.0, THREE_DAYS, now), Verdict::Busy { invocations: 4.0 });
    }

    #[test]
    fn an_idle_endpoint_is_noticed_then_waits_its_grace_then_is_acted_on_and_traffic_clears_it() {
        let now = at("2026-12-10T12:00:00Z");
        let mark = |due: &str, acted: bool| IdleMark {
            resource: "arn:ep".into(),
            name: "ep".into(),
            noticed_at: "2026-12-10T00:00:00.000Z".into(),
            due: due.into(),
            acted,
        };
        assert_eq!(next_step(Verdict::Idle, None, now), IdleStep::Notice);
        let later = mark("2026-12-11T00:00:00.000Z", false);
        assert_eq!(next_step(Verdict::Idle, Some(&later), now), IdleStep::InGrace { due: later.due.clone() });
        assert_eq!(next_step(Verdict::Idle, Some(&mark("2026-12-10T12:00:00.000Z", false)), now), IdleStep::Act);
        assert_eq!(next_step(Verdict::Idle, Some(&mark("2026-12-09T00:00:00.000Z", true)), now), IdleStep::Acted);
        assert_eq!(next_step(Verdict::Busy { invocations: 1.0 }, Some(&later), now), IdleStep::Clear);
        assert_eq!(next_step(Verdict::Young, Some(&later), now), IdleStep::Clear);
        assert_eq!(next_step(Verdict::Busy { invocations: 1.0 }, None, now), IdleStep::Nothing);
    }

    #[test]
    fn the_safety_cap_bounds_the_endpoints_one_run_acts_on_and_reports_the_rest_capped() {
        let described = |n: u32| Described {
            candidate: Candidate {
                arn: format!("arn:aws:sagemaker:us-east-1:1:endpoint/ep-{n}"),
                tags: Default::default(),
                active: true,
            },
            name: format!("ep-{n}"),
            created: None,
            variants: vec!["AllTraffic".into()],
        };
        let all: Vec<Described> = (0..5).rev().map(described).collect();
        let today = Day::today();
        let (acted, capped) = within_cap(all.iter().collect(), 3, &today);
        let acted: Vec<&str> = acted.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(acted, ["ep-2", "ep-1", "ep-0"], "the first three in ARN order, in the order they came");
        assert_eq!(capped.len(), 2);
        assert!(capped.iter().all(|r| r.result == ResultKind::Capped { cap: 3 } && r.action == "scale-endpoints"));
        let (all_of_them, none) = within_cap(all.iter().collect(), 1000, &today);
        assert_eq!((all_of_them.len(), none.len()), (5, 0));
    }

    #[test]
    fn the_minimum_is_the_highest_autoscaling_minimum_of_the_variants_or_one() {
        let bounds = |min| Bounds { resource_id: "endpoint/ep/variant/a".into(), dimension: "d".into(), min, max: 8 };
        assert_eq!(minimum(&[]), 1);
        assert_eq!(minimum(&[bounds(0)]), 1);
        assert_eq!(minimum(&[bounds(2), bounds(3)]), 3);
    }

    #[test]
    fn metrics_are_queried_at_most_500_to_a_call_each_named_by_its_index() {
        let metrics: Vec<VariantMetric> = (0..1201)
            .map(|i| VariantMetric { endpoint: format!("ep-{}", i / 2), variant: format!("v{}", i % 2) })
            .collect();
        let calls = batches(&metrics, 259_200);
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [500, 500, 201]);
        let last = &calls[2][200];
        assert_eq!(last.id(), Some("q1200"));
        let stat = last.metric_stat().unwrap();
        assert_eq!((stat.stat(), stat.period()), (Some("Sum"), Some(259_200)));
        let metric = stat.metric().unwrap();
        assert_eq!((metric.namespace(), metric.metric_name()), (Some("AWS/SageMaker"), Some("Invocations")));
        let dims: Vec<(&str, &str)> =
            metric.dimensions().iter().map(|d| (d.name().unwrap(), d.value().unwrap())).collect();
        assert_eq!(dims, [("EndpointName", "ep-600"), ("VariantName", "v0")]);
    }
}

#[cfg(test)]
mod mocked {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    #[tokio::test]
    async fn invocations_are_summed_per_metric_over_calls_of_at_most_500() {
        // Each call answers every query it was sent: query qN has N invocations in two data points.
        let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
            .match_requests(|r| r.metric_data_queries().len() <= MAX_QUERIES_PER_CALL)
            .then_output(|| GetMetricDataOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
        let metrics: Vec<VariantMetric> =
            (0..1001).map(|i| VariantMetric { endpoint: format!("ep-{i}"), variant: "AllTraffic".into() }).collect();
        let sums = invocations(&client, &metrics, std::time::Duration::from_secs(86_400), Utc::now()).await.unwrap();
        assert_eq!(rule.num_calls(), 3, "1001 metrics take three calls");
        assert!(sums.iter().all(|s| *s == 0.0), "no data points: no invocations");

        let answering = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(MetricDataResult::builder().id("q1").values(2.0).values(3.0).build())
                .metric_data_results(MetricDataResult::builder().id("q7").values(1.0).build())
                .build()
        });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&answering]);
        let sums = invocations(&client, &metrics[..3], std::time::Duration::from_secs(3600), Utc::now()).await.unwrap();
        assert_eq!(sums, [0.0, 5.0, 0.0], "an id outside the batch is ignored");
    }
}
