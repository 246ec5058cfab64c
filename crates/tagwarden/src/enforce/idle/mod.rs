//! The idle rules of the policy (`idle.endpoints`, `idle.off_hours`), run by the schedule's
//! `{"tagwarden": "idle"}` every 10 minutes ([`BudgetEnforcer::idle_at`], which tests call with their own
//! clock). In an organization with a queue the schedule only queues one message per reachable (account,
//! region), and each message runs the rules in that place with that place's clients ([`fanout`]).
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
pub mod fanout;
pub mod off_hours;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::apply::{BudgetEnforcer, ledger_error};
use super::ledger::{self, Journal, PeriodKey, Place};
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
    /// Rules not run (and, for the schedule's fan-out, accounts not queued), and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// Notices published.
    pub notices: usize,
    /// The one place this run looked at (`<account>/<region>`); absent for the central run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The schedule's fan-out: the places it queued instead of running the rules itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<fanout::Queued>,
}

impl IdleReport {
    /// An empty report of a run at `now`.
    pub fn new(now: DateTime<Utc>, dry_run: bool) -> Self {
        Self {
            at: ledger::timestamp(now),
            dry_run,
            endpoints: Vec::new(),
            off_hours: Vec::new(),
            results: Vec::new(),
            skipped: Vec::new(),
            notices: 0,
            place: None,
            queued: None,
        }
    }
}

/// The reason a run without endpoint or off-hours rules gives.
pub(crate) const NO_RULES: &str = "the policy has no idle.endpoints or idle.off_hours rules";

/// Where one run of the idle rules looks and acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Where {
    /// The central run, as before the fan-out: endpoints in the central account and region; off-hours there,
    /// or in an organization (without a queue) in the central account's regions.
    Central,
    /// One (account, region) of the organization, from the schedule's message.
    Place {
        /// The account.
        account: String,
        /// The region.
        region: String,
    },
}

impl Where {
    /// Whether `arn` is in this run's reach: every ARN for the central run, the place's own for a place.
    pub(crate) fn holds(&self, arn: &str) -> bool {
        match self {
            Self::Central => true,
            Self::Place { account, region } => {
                let of = Place::of_arn(arn);
                of.account == *account && of.region.eq_ignore_ascii_case(region)
            }
        }
    }

    /// The ledger key of an off-hours rule's stop on `day`: the day for the central run, the day and the place
    /// for a place (so that each place stops once that day, not only the first).
    pub(crate) fn day_key(&self, day: NaiveDate) -> String {
        match self {
            Self::Central => day.to_string(),
            Self::Place { account, region } => format!("{day}#{account}#{region}"),
        }
    }
}

impl BudgetEnforcer {
    /// Runs every idle rule of the policy at `now` in the central run (see the module); `force_dry_run`
    /// changes and records nothing.
    pub async fn idle_at(&self, now: DateTime<Utc>, force_dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        Ok(EnforcementOutcome::Idle(self.idle_rules(now, force_dry_run, &Where::Central).await?))
    }

    /// Runs every endpoint and off-hours rule at `now` in `here`.
    pub(crate) async fn idle_rules(
        &self,
        now: DateTime<Utc>,
        force_dry_run: bool,
        here: &Where,
    ) -> Result<IdleReport, EnforceError> {
        let mut report = IdleReport::new(now, force_dry_run);
        if let Where::Place { account, region } = here {
            report.place = Some(format!("{account}/{region}"));
        }
        if self.policy.idle.endpoints.is_empty() && self.policy.idle.off_hours.is_empty() {
            report.skipped.push(NO_RULES.into());
            return Ok(report);
        }
        for rule in &self.policy.idle.endpoints {
            self.idle_endpoints(rule, now, force_dry_run, here, &mut report).await?;
        }
        for rule in &self.policy.idle.off_hours {
            self.off_hours(rule, now, force_dry_run, here, &mut report).await?;
        }
        Ok(report)
    }

    /// Carries out `actions` of the idle rule named `name` (`idle:<rule>`) in `scope` through the action
    /// table, in `here`, on the `planned` targets only when given, recorded for `day` (never undone by the
    /// tick).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn act_idle(
        &self,
        here: &Where,
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
        let places = match (&self.pool, here) {
            // NOTE: without an organization the central actor acts (a place there is the central one).
            (None, _) => vec![],
            (Some(_), Where::Central) => self.places(&[]).await.map_err(EnforceError::Retryable)?,
            (Some(_), Where::Place { account, region }) => vec![(account.clone(), vec![region.clone()])],
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
