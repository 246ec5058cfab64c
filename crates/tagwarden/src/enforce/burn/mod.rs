//! The burn-rate guard: `{"tagwarden": "burn"}` (the schedule's, every 10 minutes) estimates, for each
//! `budgets.burn` rule, what runs in its scope right now — instance type × count × on-demand price from
//! the Price List ([`crate::pricing`]) — and runs the rule's steps when the estimate reaches them, through the
//! same action table, ledger, exemptions, approval and grace as budget steps.
//!
//! What is counted, found by tag as the actions find their candidates (account scope: everything running):
//! - notebook instances InService (`ListNotebookInstances` gives the type; usage `Notebook`);
//! - endpoint variants of InService endpoints: `CurrentInstanceCount` × the endpoint config's `InstanceType`
//!   (usage `Hosting`); a serverless variant is listed without an hourly price (billed per request);
//! - training, processing and transform jobs InProgress: their instance count × type (heterogeneous
//!   training clusters: each instance group);
//! - Studio apps InService: their `ResourceSpec.InstanceType` (usage `Studio`; `system` has none);
//! - HyperPod clusters InService: each instance group's current count × type (usage `Cluster`);
//! - inference components InService: listed with their copies, but **not counted**: their copies run on
//!   their endpoint's instances, which are billed (and counted) as the endpoint's variants. A component in
//!   scope whose endpoint is not is listed with a note, not priced: which share of a shared endpoint is its
//!   cannot be told from the API.
//!
//! In an organization every reachable (account, region) is estimated (the organization's accounts, in its
//! regions, through the member role, as the idle fan-out and the sweep see them), each part itemised with
//! its account and region and priced in its own region; the parts sum to the rule's estimate, and the rule
//! acts in every place. An account the member role does not reach is a note: the estimate is a lower bound.
//!
//! A price the Price List does not give is never 0: the part is in `unpriced` and the estimate says it is
//! a lower bound. The trigger is Tagwarden's own schedule and the limit is the policy's: no outside message
//! can make the guard act; tags on resources only claim scope, as for budgets. The ledger records a rule's
//! run under `burn:<rule>` for the day, so the tick undoes reversible actions the next day and
//! `tagwarden restore --budget burn:<rule>` before that.
//!
//! Pure: [`estimate`], [`notice`]; the handler's part is [`BudgetEnforcer::enforce_burn`]; what runs is
//! described in [`running`].

mod running;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::info;

use super::apply::{BudgetEnforcer, ledger_error};
use super::ledger::{self, Journal, PeriodKey, Place};
use super::plan::EnforcementPlan;
use super::plans::{Planning, defers};
use super::report::Tally;
use super::scope::ResolvedScope;
use super::verify::{Period, PeriodUnit};
use super::{EnforceError, EnforcementOutcome, EnforcementReport};
use crate::date::Date;
use crate::event::budget::{AlertType, BudgetAlert, BudgetPeriod};
use crate::notice::{self, Notice, Severity};
use crate::policy::{BurnRule, Scope};
use crate::pricing::{Fetched, Prices, Usage};

/// The currency of the estimate: the Price List's.
pub const CURRENCY: &str = "USD";

/// What kind of running thing a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunningKind {
    /// A notebook instance.
    NotebookInstance,
    /// One production variant of an endpoint.
    EndpointVariant,
    /// A training job (or one instance group of it).
    TrainingJob,
    /// A processing job.
    ProcessingJob,
    /// A batch transform job.
    TransformJob,
    /// A Studio app.
    StudioApp,
    /// An inference component (counted on its endpoint).
    InferenceComponent,
    /// One instance group of a HyperPod cluster.
    ClusterInstanceGroup,
}

impl RunningKind {
    /// The price-list usage it is billed as; `None` when it is billed through something else.
    pub fn usage(self) -> Option<Usage> {
        match self {
            Self::NotebookInstance => Some(Usage::Notebook),
            Self::EndpointVariant => Some(Usage::Hosting),
            Self::TrainingJob => Some(Usage::Training),
            Self::ProcessingJob => Some(Usage::Processing),
            Self::TransformJob => Some(Usage::Transform),
            Self::StudioApp => Some(Usage::Studio),
            Self::ClusterInstanceGroup => Some(Usage::Cluster),
            Self::InferenceComponent => None,
        }
    }
}

/// One running thing as described (pure input of [`estimate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    /// Its ARN (with `#<variant>` or `#<group>` for a variant or instance group).
    pub arn: String,
    /// What it is.
    pub kind: RunningKind,
    /// Its instance type (`None`: serverless, or not described).
    pub instance_type: Option<String>,
    /// How many instances (copies for an inference component).
    pub count: i32,
    /// Why it is not counted or priced, when it is not.
    pub note: Option<String>,
    /// Where it runs, in an organization (`None`: the central account of a single-account deployment).
    pub place: Option<Place>,
}

/// One line of the estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnPart {
    /// The resource (with `#<variant>` or `#<group>`).
    pub arn: String,
    /// What it is.
    pub kind: RunningKind,
    /// Its instance type.
    pub instance_type: Option<String>,
    /// Instances (copies for an inference component).
    pub count: i32,
    /// The on-demand price of one instance per hour; `null` when unknown.
    pub unit_price: Option<f64>,
    /// `count × unit_price`; `null` when unknown; 0 for a part counted elsewhere.
    pub per_hour: Option<f64>,
    /// Why it is not counted or priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The account it runs in (an organization's estimate only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region it runs in (an organization's estimate only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// What runs in a scope costs per hour, itemised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnEstimate {
    /// The rule (`burn:<name>`), or `scope` for an estimate without a rule.
    pub rule: String,
    /// The scope estimated, for people.
    pub scope: String,
    /// The sum of the priced parts, per hour.
    pub per_hour: f64,
    /// The currency ([`CURRENCY`]).
    pub currency: &'static str,
    /// The rule's limit per hour (`None` without a rule).
    pub max_per_hour: Option<f64>,
    /// `per_hour` in percent of the limit.
    pub percent: Option<f64>,
    /// Every part priced or counted elsewhere.
    pub parts: Vec<BurnPart>,
    /// Parts without a price: the estimate is a lower bound while this is not empty.
    pub unpriced: Vec<BurnPart>,
    /// Notes on the prices (records that did not read, price-list calls that failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl BurnEstimate {
    /// The estimate for people: one line per part, then the total.
    pub fn table(&self) -> String {
        let mut text = format!("{} ({}):\n", self.rule, self.scope);
        let row = |p: &BurnPart| {
            let price = p.unit_price.map_or("price unknown".to_owned(), |u| format!("${u:.4}/h"));
            let total = p.per_hour.map_or("?".to_owned(), |t| format!("${t:.4}/h"));
            let note = p.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
            let place = match (&p.account, &p.region) {
                (Some(account), Some(region)) => format!("{account} {region}  "),
                _ => String::new(),
            };
            format!(
                "  {:<22} {:<16} x{:<3} {:>16} = {:>12}  {place}{}{note}\n",
                serde_json::to_value(p.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                p.instance_type.as_deref().unwrap_or("-"),
                p.count,
                price,
                total,
                p.arn
            )
        };
        for part in self.parts.iter().chain(&self.unpriced) {
            text.push_str(&row(part));
        }
        text.push_str(&format!("  total ${:.4}/h {}", self.per_hour, self.currency));
        if let (Some(limit), Some(percent)) = (self.max_per_hour, self.percent) {
            text.push_str(&format!(" = {percent:.0}% of the limit ${limit:.2}/h"));
        }
        if !self.unpriced.is_empty() {
            text.push_str(&format!("; {} part(s) unpriced: a lower bound", self.unpriced.len()));
        }
        text.push('\n');
        text
    }
}

/// On-demand prices by (region, instance type); the region is empty for the central region of a
/// single-account deployment (parts without a place).
pub type PriceTable = HashMap<(String, String), Prices>;

/// The key of `instance_type`'s prices where a part in `place` runs.
fn price_key(place: Option<&Place>, instance_type: &str) -> (String, String) {
    (place.map(|p| p.region.clone()).unwrap_or_default(), instance_type.to_owned())
}

/// Prices what runs (pure): each part's instance type and usage looked up in `prices` (by its region and
/// instance type).
pub fn estimate(
    rule: Option<&BurnRule>,
    scope: &str,
    running: &[Running],
    prices: &PriceTable,
    notes: Vec<String>,
) -> BurnEstimate {
    let mut parts = Vec::new();
    let mut unpriced = Vec::new();
    for item in running {
        let mut part = BurnPart {
            arn: item.arn.clone(),
            kind: item.kind,
            instance_type: item.instance_type.clone(),
            count: item.count,
            unit_price: None,
            per_hour: None,
            note: item.note.clone(),
            account: item.place.as_ref().map(|p| p.account.clone()),
            region: item.place.as_ref().map(|p| p.region.clone()),
        };
        let Some(usage) = item.kind.usage() else {
            // NOTE: billed through its endpoint's instances, which are counted there.
            part.per_hour = Some(0.0);
            parts.push(part);
            continue;
        };
        let key = item.instance_type.as_deref().map(|t| price_key(item.place.as_ref(), t));
        let price = key.and_then(|k| prices.get(&k)).and_then(|p| p.of(usage));
        match price {
            Some(unit) => {
                part.unit_price = Some(unit);
                part.per_hour = Some(unit * f64::from(item.count.max(0)));
                parts.push(part);
            }
            None => {
                if part.note.is_none() {
                    part.note = Some(match &item.instance_type {
                        Some(t) => format!("the Price List gives no on-demand {usage:?} price for {t}"),
                        None => "no instance type".to_owned(),
                    });
                }
                unpriced.push(part);
            }
        }
    }
    parts.sort_by(|a, b| b.per_hour.partial_cmp(&a.per_hour).unwrap_or(std::cmp::Ordering::Equal));
    let per_hour = parts.iter().filter_map(|p| p.per_hour).sum::<f64>();
    let per_hour = (per_hour * 10_000.0).round() / 10_000.0;
    BurnEstimate {
        rule: rule.map_or_else(|| "scope".to_owned(), BurnRule::ledger_name),
        scope: scope.to_owned(),
        per_hour,
        currency: CURRENCY,
        max_per_hour: rule.map(|r| r.max_per_hour),
        percent: rule.map(|r| (r.percent(per_hour) * 100.0).round() / 100.0),
        parts,
        unpriced,
        notes,
    }
}

/// The resolved scope of a burn rule.
pub fn scope_of(rule: &BurnRule) -> ResolvedScope {
    match &rule.scope {
        Scope::Tags(tags) => ResolvedScope::Tags(vec![tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()]),
        Scope::Account | Scope::FromBudget => ResolvedScope::Account,
    }
}

/// The alert the action table runs a burn rule with: named `burn:<rule>`, the estimate as its amount over
/// the limit.
fn as_budget_alert(rule: &BurnRule, estimate: &BurnEstimate, account: Option<String>) -> BudgetAlert {
    BudgetAlert {
        budget_name: rule.ledger_name(),
        budget_type: "BurnRate".into(),
        account_id: account,
        alert_type: AlertType::Actual,
        budgeted_amount: rule.max_per_hour,
        threshold: None,
        amount: estimate.per_hour,
        unit: CURRENCY.into(),
        period: BudgetPeriod::Daily,
        percent_of_budget: estimate.percent.unwrap_or_default(),
        topic_arn: None,
    }
}

/// The notice of a burn rule acted on: kind `burn`, the estimate itemised, what was done.
pub fn notice(estimate: &BurnEstimate, report: &EnforcementReport, routing: &crate::tagging::Tags) -> Notice {
    let done = report.results.iter().filter(|r| r.result.is_done()).count();
    let limit = estimate.max_per_hour.unwrap_or_default();
    let subject = format!(
        "Tagwarden: {} burns ${:.2}/h, over its ${limit:.2}/h limit - {done} action(s) taken",
        estimate.rule, estimate.per_hour
    );
    let mut body = format!(
        "What runs in {} is estimated at ${:.2} {} per hour (on-demand prices of the AWS Price List), {:.0}% of the \
         rule's limit of ${limit:.2}.\n",
        estimate.scope,
        estimate.per_hour,
        estimate.currency,
        estimate.percent.unwrap_or_default()
    );
    body.push_str(&estimate.table());
    body.push_str(&format!(
        "Actions: {}.\n",
        report.plan.actions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    ));
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &report.results {
        *counts.entry((r.action.as_str(), r.result.label())).or_default() += 1;
    }
    for ((action, result), n) in &counts {
        body.push_str(&format!("  {action}: {n} {result}\n"));
    }
    let acted = !report.plan.dry_run && report.plan.actions.iter().any(|a| !a.is_notice());
    let severity = if acted { Severity::Critical } else { Severity::Warning };
    let mut notice = Notice::new("burn", severity, subject, body);
    notice.set(notice::BUDGET, Some(&estimate.rule)).set(notice::ACCOUNT, report.alert.account_id.as_deref());
    notice.route_by_tags(routing);
    if acted {
        notice.step(format!("Undo what can be undone: `tagwarden restore --budget {:?}`", estimate.rule));
    }
    notice.step("See what runs now: `tagwarden burn`");
    notice.resources = estimate.parts.iter().chain(&estimate.unpriced).map(|p| p.arn.clone()).take(20).collect();
    notice
}

/// One rule's estimate and what the guard did about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnRun {
    /// The estimate, itemised.
    pub estimate: BurnEstimate,
    /// What was done: `skipped` under the limit, else as for a budget step.
    #[serde(flatten)]
    pub outcome: Box<EnforcementOutcome>,
}

/// What one `burn` command did, rule by rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// One run per rule, in policy order.
    pub rules: Vec<BurnRun>,
}

impl BudgetEnforcer {
    /// `{"tagwarden": "burn"}`: estimates each burn rule's scope and acts on those at or over a step.
    pub async fn enforce_burn(&self, force_dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let now = ledger::now();
        let mut rules = Vec::new();
        for rule in &self.policy.budgets.burn {
            let estimate = self.estimate_rule(rule, now).await?;
            let outcome = self.act_on_burn(rule, &estimate, now, force_dry_run, None).await?;
            rules.push(BurnRun { estimate, outcome: Box::new(outcome) });
        }
        Ok(EnforcementOutcome::Burn(BurnReport { dry_run: force_dry_run, rules }))
    }

    /// The estimates of every burn rule, or of `scope` alone (`tagwarden burn`); changes nothing.
    pub async fn burn_estimates(&self, scope: Option<&ResolvedScope>) -> Result<Vec<BurnEstimate>, EnforceError> {
        let now = ledger::now();
        match scope {
            Some(scope) => {
                let (running, mut notes) = self.running_in(scope).await.map_err(EnforceError::Retryable)?;
                let (prices, priced) = self.prices_for(&running, now).await?;
                notes.extend(priced);
                Ok(vec![estimate(None, &self.estimated_where(scope), &running, &prices, notes)])
            }
            None => {
                let mut estimates = Vec::new();
                for rule in &self.policy.budgets.burn {
                    estimates.push(self.estimate_rule(rule, now).await?);
                }
                Ok(estimates)
            }
        }
    }

    /// One rule's estimate.
    async fn estimate_rule(&self, rule: &BurnRule, now: DateTime<Utc>) -> Result<BurnEstimate, EnforceError> {
        let scope = scope_of(rule);
        let (running, mut notes) = self.running_in(&scope).await.map_err(EnforceError::Retryable)?;
        let (prices, priced) = self.prices_for(&running, now).await?;
        notes.extend(priced);
        Ok(estimate(Some(rule), &self.estimated_where(&scope), &running, &prices, notes))
    }

    /// The scope estimated, for people: in an organization, in every place the member role reaches.
    fn estimated_where(&self, scope: &ResolvedScope) -> String {
        match &self.pool {
            None => scope.describe(false),
            Some(_) => format!("{} in the organization's accounts and regions", scope.describe(false)),
        }
    }

    /// Acts on one rule's estimate: under its first step, skipped with the estimate in the reason; else its
    /// step's actions, deferred when the step asks for an approval or a grace. `planned` carries a plan's
    /// targets out (approval, or the tick after the grace).
    pub(super) async fn act_on_burn(
        &self,
        rule: &BurnRule,
        estimate: &BurnEstimate,
        now: DateTime<Utc>,
        force_dry_run: bool,
        planned: Option<(&str, HashSet<(String, String)>)>,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let budget_rule = rule.as_budget_rule();
        let percent = estimate.percent.unwrap_or_default();
        let unpriced = if estimate.unpriced.is_empty() {
            String::new()
        } else {
            format!(" ({} part(s) unpriced: a lower bound)", estimate.unpriced.len())
        };
        let Some((step, actions)) = budget_rule.step_for(percent) else {
            let first = budget_rule.steps.first().map(|s| s.at).unwrap_or(100.0);
            let reason = format!(
                "{}: what runs in {} is estimated at ${:.2}/h{unpriced}, {percent:.0}% of the limit ${:.2}/h, below the \
                 rule's first step ({first}%)",
                estimate.rule, estimate.scope, estimate.per_hour, rule.max_per_hour
            );
            return Ok(EnforcementOutcome::Skipped { reason, alert: None });
        };
        let account = self.home_account().await.ok().filter(|a| !a.is_empty());
        let alert = as_budget_alert(rule, estimate, account);
        let dry_run = force_dry_run || rule.dry_run.unwrap_or(self.policy.budgets.dry_run);
        let plan = EnforcementPlan { rule: alert.budget_name.clone(), step, percent, actions, dry_run, limited: None };
        let today = Date::parse(&now.format("%Y-%m-%d").to_string()).unwrap_or_else(|_| Date::today());
        let period = Period { start: today, end: today.next_day(), unit: PeriodUnit::Daily };
        let period_key = PeriodKey { start: period.start.to_string(), end: period.end.to_string() };
        let scope = scope_of(rule);
        let scope_text = format!("{} (from the burn rule)", self.estimated_where(&scope));
        // NOTE: in an organization the rule acts where it was estimated: every place of the organization (the
        // accounts named, so that one member's failure is reported and does not stop the others).
        let places = match &self.pool {
            None => vec![],
            Some(_) => self.organization_places().await.map_err(EnforceError::Retryable)?,
        };
        let accounts: Vec<String> = places.iter().map(|(account, _)| account.clone()).collect();
        let mut tally = Tally::default();
        let trigger = match &planned {
            Some((id, targets)) => {
                tally.planned = Some(targets.clone());
                format!("plan:{id}")
            }
            // NOTE: one trigger per day: a tick that finds the same over-limit scope again makes the same plan.
            None if defers(&budget_rule, &plan) => format!("burn:{}", period.start),
            None => format!("burn:{}", ledger::timestamp(now)),
        };
        if planned.is_none() && defers(&budget_rule, &plan) {
            let planning =
                Planning { rule: &budget_rule, scope: &scope, accounts: &accounts, places, scope_text, period_key };
            return self.defer(alert, plan, planning, percent, period, &trigger).await;
        }
        // NOTE: a forced dry run (`replay --dry-run`, `tagwarden burn`) is a what-if: not recorded.
        let journal = self
            .ledger
            .as_ref()
            .filter(|_| !force_dry_run)
            .map(|table| Journal::new(table, &alert.budget_name, period_key, &trigger, plan.step));
        let journal = journal.as_ref();
        self.act_everywhere(&budget_rule, &scope, &alert, &plan, journal, &accounts, places, &mut tally).await?;
        if let Some(journal) = journal {
            let entries = journal.entries(&tally.results, plan.dry_run, ledger::now());
            journal.table.record(&entries).await.map_err(ledger_error)?;
        }
        let mut report = EnforcementReport {
            alert,
            plan,
            scope: scope_text,
            budget_percent: Some(percent),
            period: Some(period),
            results: tally.results,
            notified: false,
            anomaly: None,
            throttled: tally.throttled,
        };
        if !report.plan.dry_run {
            let notice = notice(estimate, &report, &scope.certain_tags());
            report.notified =
                self.publish(&notice).await.map_err(|err| EnforceError::retryable(err, report.results.clone()))?;
        }
        info!(rule = %estimate.rule, per_hour = estimate.per_hour, percent, "burn rule acted on");
        Ok(EnforcementOutcome::of_report(report))
    }

    /// A deferred burn plan carried out: the rule's scope estimated again, and acted on (the plan's targets
    /// only) if the estimate still reaches the plan's step; else skipped (the plan lapses).
    pub(super) async fn carry_out_burn(
        &self,
        plan: &ledger::Plan,
        targets: HashSet<(String, String)>,
        dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let Some(rule) = self.policy.budgets.burn_rule(&plan.budget) else {
            let reason = format!("no burn rule {:?} in the policy any more", plan.budget);
            return Ok(EnforcementOutcome::Skipped { reason, alert: None });
        };
        let now = ledger::now();
        let estimate = self.estimate_rule(rule, now).await?;
        if estimate.percent.unwrap_or_default() < plan.step {
            let reason = format!(
                "{}: the estimate is now ${:.2}/h, below the plan's {}% step",
                estimate.rule, estimate.per_hour, plan.step
            );
            return Ok(EnforcementOutcome::Skipped { reason, alert: None });
        }
        self.act_on_burn(rule, &estimate, now, dry_run, Some((&plan.id, targets))).await
    }

    /// The prices of the instance types that run, in the region each runs in: the process cache, else the
    /// ledger's, else the Price List (then kept in both). A type the Price List cannot be asked about is left
    /// unpriced, with a note.
    async fn prices_for(
        &self,
        running: &[Running],
        now: DateTime<Utc>,
    ) -> Result<(PriceTable, Vec<String>), EnforceError> {
        let home_region = self.home_region().await;
        let mut prices = HashMap::new();
        let mut notes = Vec::new();
        let keys: std::collections::BTreeSet<(String, String)> = running
            .iter()
            .filter(|r| r.kind.usage().is_some())
            .filter_map(|r| r.instance_type.as_deref().map(|t| price_key(r.place.as_ref(), t)))
            .collect();
        if keys.is_empty() {
            return Ok((prices, notes));
        }
        let Some(book) = &self.pricing else {
            notes.push("no price source is configured: every part is unpriced".into());
            return Ok((prices, notes));
        };
        for key in keys {
            let region = if key.0.is_empty() { home_region.clone() } else { key.0.clone() };
            let instance_type = key.1.clone();
            let instance_type = instance_type.as_str();
            if let Some(found) = book.cached(&region, instance_type, now) {
                prices.insert(key, found);
                continue;
            }
            if let Some(ledger) = &self.ledger
                && let Some(fetched) = ledger.price(&region, instance_type).await.map_err(ledger_error)?
                && !fetched.stale(now)
            {
                book.keep(&region, instance_type, fetched.clone());
                prices.insert(key, fetched.prices);
                continue;
            }
            let fetched: Fetched = match book.fetch(&region, instance_type, now).await {
                Ok(fetched) => fetched,
                Err(err) if err.is_retryable() => return Err(EnforceError::Retryable(err)),
                Err(err) => {
                    notes.push(format!("{instance_type}: the Price List could not be read ({err})"));
                    continue;
                }
            };
            notes.extend(fetched.prices.rejected.iter().map(|r| format!("{instance_type}: {r}")));
            if let Some(ledger) = &self.ledger {
                ledger.record_price(&region, instance_type, &fetched).await.map_err(ledger_error)?;
            }
            book.keep(&region, instance_type, fetched.clone());
            prices.insert(key, fetched.prices);
        }
        Ok((prices, notes))
    }

    /// The region the central clients act in.
    async fn home_region(&self) -> String {
        match self.region_account().await {
            Ok(region_account) => region_account.split_once(':').map(|(r, _)| r.to_owned()).unwrap_or_default(),
            Err(_) => self.clients.region().unwrap_or_default().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn rule(max: f64) -> BurnRule {
        let yaml = format!(
            "tags:\n  keys:\n    team: {{}}\nbudgets:\n  burn:\n    - {{name: nlp, scope: {{tags: {{team: nlp}}}}, max_per_hour: {max}, actions: [notify, stop-notebooks]}}\n"
        );
        Policy::from_yaml(&yaml, "test").unwrap().budgets.burn.remove(0)
    }

    fn run(arn: &str, kind: RunningKind, instance_type: Option<&str>, count: i32) -> Running {
        Running {
            arn: arn.into(),
            kind,
            instance_type: instance_type.map(str::to_owned),
            count,
            note: None,
            place: None,
        }
    }

    fn prices() -> PriceTable {
        let mut m5 = Prices::default();
        m5.per_hour.insert(Usage::Hosting, 0.269);
        m5.per_hour.insert(Usage::Training, 0.23);
        let mut g5 = Prices::default();
        g5.per_hour.insert(Usage::Hosting, 1.408);
        let mut t3 = Prices::default();
        t3.per_hour.insert(Usage::Notebook, 0.05);
        HashMap::from([
            ((String::new(), "ml.m5.xlarge".into()), m5),
            ((String::new(), "ml.g5.xlarge".into()), g5),
            ((String::new(), "ml.t3.medium".into()), t3),
        ])
    }

    #[test]
    fn the_estimate_is_type_times_count_times_price_itemised_and_summed() {
        let running = [
            run("arn:endpoint/e#v1", RunningKind::EndpointVariant, Some("ml.g5.xlarge"), 2),
            run("arn:training-job/t", RunningKind::TrainingJob, Some("ml.m5.xlarge"), 4),
            run("arn:notebook-instance/n", RunningKind::NotebookInstance, Some("ml.t3.medium"), 1),
        ];
        let estimate = estimate(Some(&rule(2.0)), "team=nlp", &running, &prices(), vec![]);
        assert_eq!(estimate.per_hour, 3.786, "2 × 1.408 + 4 × 0.23 + 1 × 0.05, rounded to 1/100 cent");
        assert_eq!(estimate.percent, Some(189.3));
        assert_eq!(estimate.parts.len(), 3);
        assert_eq!(estimate.parts[0].arn, "arn:endpoint/e#v1", "the dearest part first");
        assert_eq!((estimate.parts[0].unit_price, estimate.parts[0].per_hour), (Some(1.408), Some(2.816)));
        assert!(estimate.unpriced.is_empty());
        let table = estimate.table();
        assert!(table.contains("endpoint-variant") && table.contains("x2") && table.contains("$1.4080/h"), "{table}");
        assert!(table.contains("total $3.7860/h USD = 189% of the limit $2.00/h"), "{table}");
    }

    #[test]
    fn a_type_without_a_price_is_listed_unpriced_never_as_zero() {
        let running = [
            run("arn:notebook-instance/n", RunningKind::NotebookInstance, Some("ml.t3.medium"), 1),
            run("arn:notebook-instance/big", RunningKind::NotebookInstance, Some("ml.p5.48xlarge"), 1),
            run("arn:training-job/t3", RunningKind::TrainingJob, Some("ml.t3.medium"), 1),
        ];
        let estimate = estimate(Some(&rule(1.0)), "team=nlp", &running, &prices(), vec![]);
        assert_eq!(estimate.per_hour, 0.05);
        assert_eq!(estimate.unpriced.len(), 2);
        assert_eq!((estimate.unpriced[0].unit_price, estimate.unpriced[0].per_hour), (None, None));
        assert!(
            estimate.unpriced[0].note.as_deref().unwrap().contains("no on-demand Notebook price for ml.p5.48xlarge")
        );
        assert!(estimate.table().contains("2 part(s) unpriced: a lower bound"));
        let json = serde_json::to_value(&estimate).unwrap();
        assert!(json["unpriced"][0]["unit_price"].is_null());
    }

    #[test]
    fn inference_components_are_listed_but_counted_on_their_endpoint_and_serverless_variants_have_no_price() {
        let mut component = run("arn:inference-component/ic", RunningKind::InferenceComponent, None, 3);
        component.note = Some("runs on endpoint e".into());
        let mut serverless = run("arn:endpoint/s#v", RunningKind::EndpointVariant, None, 0);
        serverless.note = Some("serverless: billed per request, no hourly price".into());
        let running =
            [run("arn:endpoint/e#v1", RunningKind::EndpointVariant, Some("ml.m5.xlarge"), 1), component, serverless];
        let estimate = estimate(Some(&rule(1.0)), "team=nlp", &running, &prices(), vec![]);
        assert_eq!(estimate.per_hour, 0.269, "the endpoint's instance once, the component not again");
        let ic = estimate.parts.iter().find(|p| p.kind == RunningKind::InferenceComponent).unwrap();
        assert_eq!((ic.count, ic.per_hour), (3, Some(0.0)));
        assert_eq!(estimate.unpriced[0].note.as_deref(), Some("serverless: billed per request, no hourly price"));
    }

    #[test]
    fn an_organizations_parts_are_summed_itemised_with_their_place_and_priced_in_their_region() {
        let place = |account: &str, region: &str| Place { account: account.into(), region: region.into() };
        let mut a = run(
            "arn:aws:sagemaker:us-east-1:111111111111:notebook-instance/a",
            RunningKind::NotebookInstance,
            Some("ml.t3.medium"),
            1,
        );
        a.place = Some(place("111111111111", "us-east-1"));
        let mut b = run(
            "arn:aws:sagemaker:us-east-1:222222222222:notebook-instance/b",
            RunningKind::NotebookInstance,
            Some("ml.t3.medium"),
            1,
        );
        b.place = Some(place("222222222222", "us-east-1"));
        let mut c = run(
            "arn:aws:sagemaker:eu-west-1:222222222222:notebook-instance/c",
            RunningKind::NotebookInstance,
            Some("ml.t3.medium"),
            1,
        );
        c.place = Some(place("222222222222", "eu-west-1"));
        let mut t3 = Prices::default();
        t3.per_hour.insert(Usage::Notebook, 0.05);
        let prices = HashMap::from([(("us-east-1".to_owned(), "ml.t3.medium".to_owned()), t3)]);
        let estimate = estimate(Some(&rule(0.05)), "team=nlp", &[a, b, c], &prices, vec![]);
        assert_eq!(estimate.per_hour, 0.1, "two accounts' parts summed");
        let places: Vec<(Option<&str>, Option<&str>)> =
            estimate.parts.iter().map(|p| (p.account.as_deref(), p.region.as_deref())).collect();
        assert_eq!(places, [(Some("111111111111"), Some("us-east-1")), (Some("222222222222"), Some("us-east-1"))]);
        assert_eq!(estimate.unpriced.len(), 1, "eu-west-1 has no price here: unpriced, not the us-east-1 price");
        assert_eq!(estimate.unpriced[0].region.as_deref(), Some("eu-west-1"));
        assert!(estimate.table().contains("222222222222 us-east-1"), "{}", estimate.table());
        let json = serde_json::to_value(&estimate).unwrap();
        assert_eq!(json["parts"][0]["account"], "111111111111");
        let single = estimate_single();
        assert!(single.get("account").is_none() && single.get("region").is_none(), "single-account output unchanged");
    }

    fn estimate_single() -> serde_json::Value {
        let one = run("arn:notebook-instance/n", RunningKind::NotebookInstance, Some("ml.t3.medium"), 1);
        let estimate = estimate(Some(&rule(1.0)), "team=nlp", &[one], &prices(), vec![]);
        serde_json::to_value(&estimate.parts[0]).unwrap()
    }

    #[test]
    fn an_estimate_without_a_rule_has_no_limit() {
        let estimate = estimate(None, "the whole account", &[], &prices(), vec![]);
        assert_eq!((estimate.rule.as_str(), estimate.per_hour, estimate.percent), ("scope", 0.0, None));
    }
}
