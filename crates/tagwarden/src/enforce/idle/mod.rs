//! The idle rules of the policy (`idle.endpoints`, `idle.off_hours`), run by the schedule's
//! `{"tagwarden": "idle"}` every 10 minutes ([`BudgetEnforcer::idle_at`], which tests call with their own
//! clock).
//!
//! - [`endpoints`]: endpoints without `Invocations` in CloudWatch for the rule's window. The first tick that
//!   finds one idle tells its owner (a notice routed by the endpoint's tags) and records the notice in the
//!   ledger; a tick after the grace, still idle, acts; traffic in between clears the record.
//! - [`off_hours`]: at the first tick at or after `stop_at` (local time of the rule's zone, on a listed
//!   weekday) the notebooks and Studio apps in scope are stopped, once per local day; at `start_at` the
//!   notebooks that rule stopped (the ledger's undo items) are started again, no others.
//!
//! Deciding is pure ([`endpoints::verdict`], [`endpoints::next_step`], [`off_hours::decide`]); acting goes
//! through the action table like an anomaly's rule: an alert named `idle:<rule>`, a budget rule built from
//! the idle rule, `act_everywhere`, a ledger journal for the day — restricted to the chosen targets — so
//! exemptions, dry run, the state before and `tagwarden restore --budget idle:<rule>` come with it. The
//! journal never marks its period open: the tick does not undo an idle rule's changes at midnight.

pub mod endpoints;
pub mod off_hours;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::apply::{BudgetEnforcer, ledger_error};
use super::ledger::{self, Journal, PeriodKey};
use super::plan::EnforcementPlan;
use super::report::{ActionResult, ResultKind, Tally};
use super::scope::ResolvedScope;
use super::{EnforceError, EnforcementOutcome};
use crate::event::budget::{AlertType, BudgetAlert, BudgetPeriod};
use crate::policy::{Action, BudgetRule, EndpointAction, ForecastedMode, Scope, Step};

/// The environment variable that says the deployment allows deleting endpoints (`true`; the templates set it
/// from `AllowEndpointDeletion`, which also grants `sagemaker:DeleteEndpoint`).
pub const ENDPOINT_DELETION_ENV: &str = "TAGWARDEN_ALLOW_ENDPOINT_DELETION";

/// What one run of the idle rules found and did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdleReport {
    /// The run's clock (RFC 3339, UTC).
    pub at: String,
    /// Forced dry run: nothing changed, nothing recorded.
    pub dry_run: bool,
    /// Each in-scope endpoint an endpoint rule looked at, and what it decided.
    pub endpoints: Vec<endpoints::EndpointDecision>,
    /// Each off-hours rule, and what it decided at its local time.
    pub off_hours: Vec<off_hours::OffHoursDecision>,
    /// One entry per action and resource (`scale-endpoints`, `stop-notebooks`, `start-notebook`, …).
    pub results: Vec<ActionResult>,
    /// Rules not run, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// Notices published.
    pub notices: usize,
}

impl BudgetEnforcer {
    /// Runs every idle rule of the policy at `now` (see the module); `force_dry_run` changes and records
    /// nothing.
    pub async fn idle_at(&self, now: DateTime<Utc>, force_dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let mut report = IdleReport {
            at: ledger::timestamp(now),
            dry_run: force_dry_run,
            endpoints: Vec::new(),
            off_hours: Vec::new(),
            results: Vec::new(),
            skipped: Vec::new(),
            notices: 0,
        };
        if self.policy.idle.endpoints.is_empty() && self.policy.idle.off_hours.is_empty() {
            report.skipped.push("the policy has no idle.endpoints or idle.off_hours rules".into());
            return Ok(EnforcementOutcome::Idle(report));
        }
        for rule in &self.policy.idle.endpoints {
            self.idle_endpoints(rule, now, force_dry_run, &mut report).await?;
        }
        for rule in &self.policy.idle.off_hours {
            self.off_hours(rule, now, force_dry_run, &mut report).await?;
        }
        Ok(EnforcementOutcome::Idle(report))
    }

    /// Carries out `actions` of the idle rule named `name` (`idle:<rule>`) in `scope` through the action
    /// table, on the `planned` targets only when given, recorded for `day` (never undone by the tick).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn act_idle(
        &self,
        name: &str,
        actions: Vec<Action>,
        endpoints: EndpointAction,
        scope: &Scope,
        planned: Option<HashSet<(String, String)>>,
        day: NaiveDate,
        dry_run: bool,
        record: bool,
    ) -> Result<Vec<ActionResult>, EnforceError> {
        let alert = idle_alert(name);
        let rule = BudgetRule {
            budget: name.to_owned(),
            scope: scope.clone(),
            forecasted: ForecastedMode::Notify,
            steps: vec![Step { at: 0.0, actions: actions.clone(), approval: Default::default(), grace: None }],
            endpoints,
            inference_components_min_copies: 1,
            clusters_min_instances: 1,
            restart_notebooks_on_restore: false,
            dry_run: Some(dry_run),
        };
        let plan = EnforcementPlan { rule: name.to_owned(), step: 0.0, percent: 0.0, actions, dry_run, limited: None };
        let period = PeriodKey { start: day.to_string(), end: day.succ_opt().unwrap_or(day).to_string() };
        let journal =
            self.ledger.as_ref().filter(|_| record).map(|table| Journal::new(table, name, period, "idle", 0.0).held());
        let journal = journal.as_ref();
        let places = match &self.pool {
            None => vec![],
            Some(_) => self.places(&[]).await.map_err(EnforceError::Retryable)?,
        };
        let mut tally = Tally { planned, ..Tally::default() };
        self.act_everywhere(&rule, &resolved(scope), &alert, &plan, journal, &[], places, &mut tally).await?;
        // NOTE: the endpoints an idle rule did not choose are not decisions of this run: not reported, not recorded.
        tally.results.retain(|r| r.result != ResultKind::NotInPlan);
        if let Some(journal) = journal {
            let entries = journal.entries(&tally.results, dry_run, ledger::now());
            journal.table.record(&entries).await.map_err(ledger_error)?;
        }
        Ok(tally.results)
    }
}

/// The alert the action table runs an idle rule with: named `idle:<rule>` (the markers' and the ledger's key).
fn idle_alert(name: &str) -> BudgetAlert {
    BudgetAlert {
        budget_name: name.to_owned(),
        budget_type: "Idle".into(),
        account_id: None,
        alert_type: AlertType::Actual,
        budgeted_amount: 0.0,
        threshold: None,
        amount: 0.0,
        unit: "USD".into(),
        period: BudgetPeriod::Daily,
        percent_of_budget: 0.0,
        topic_arn: None,
    }
}

/// An idle rule's scope as the actors resolve it.
pub(crate) fn resolved(scope: &Scope) -> ResolvedScope {
    match scope {
        Scope::Tags(tags) => ResolvedScope::Tags(vec![tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()]),
        Scope::Account => ResolvedScope::Account,
        // NOTE: refused at load for idle rules; never widened to the account if one got here.
        Scope::FromBudget => ResolvedScope::Tags(vec![]),
    }
}
