//! `restore` and the tick: undo what the ledger recorded, and only that. A budget's enforcement is lifted
//! at the start of its own next period (the tick, every 5 minutes, finds the periods that ended), or on
//! demand (`{"tagwarden": "restore"}`). Each undo item is undone through its action's row
//! ([`EnforcementAction::undo`](super::EnforcementAction::undo)) from the state before it holds; tags on
//! the resources are never read. An undo that failed stays open for the next tick.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use super::apply::{BudgetEnforcer, ledger_error};
use super::ledger::{self, Entry, Place, Undo};
use super::report::{ActionResult, ResultKind, Tally};
use super::{ACTIONS, EnforceError, EnforcementOutcome, RestoreReport};
use crate::telemetry::clip;

impl BudgetEnforcer {
    /// Undoes what the ledger holds for one budget (every period), or for every budget when `None`.
    pub async fn restore(&self, budget: Option<&str>, dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let ledger = self.ledger()?;
        let budgets: Vec<String> = match budget {
            Some(budget) => vec![budget.to_owned()],
            None => {
                let mut open: Vec<String> =
                    ledger.open_periods().await.map_err(ledger_error)?.into_iter().map(|(_, b)| b).collect();
                open.sort();
                open.dedup();
                open
            }
        };
        let mut tally = Tally::default();
        for budget in &budgets {
            let undos = ledger.undos(budget).await.map_err(ledger_error)?;
            let complete = self.undo_all(undos, "restore", dry_run, &mut tally).await?;
            if complete && !dry_run {
                for (end, open) in ledger.open_periods().await.map_err(ledger_error)? {
                    if &open == budget {
                        ledger.close_period(&end, budget).await.map_err(ledger_error)?;
                    }
                }
            }
        }
        self.restored(budget.map(str::to_owned), dry_run, tally)
    }

    /// The schedule's tick: restores each budget whose period ended (its undo items of ended periods), then
    /// carries out the grace plans whose grace has passed.
    pub async fn tick(&self, now: DateTime<Utc>, dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let ledger = self.ledger()?;
        let today = now.format("%Y-%m-%d").to_string();
        let mut tally = Tally::default();
        for (end, budget) in ledger.ended_periods(&today).await.map_err(ledger_error)? {
            let undos: Vec<Undo> = ledger
                .undos(&budget)
                .await
                .map_err(ledger_error)?
                .into_iter()
                .filter(|u| u.period.end.as_str() <= today.as_str())
                .collect();
            info!(budget = %budget, period_end = %end, undos = undos.len(), "budget period ended: restoring");
            let complete = self.undo_all(undos, "tick", dry_run, &mut tally).await?;
            if complete && !dry_run {
                ledger.close_period(&end, &budget).await.map_err(ledger_error)?;
            }
        }
        self.run_due_plans(now, dry_run, &mut tally).await?;
        self.restored(None, dry_run, tally)
    }

    fn restored(
        &self,
        budget: Option<String>,
        dry_run: bool,
        mut tally: Tally,
    ) -> Result<EnforcementOutcome, EnforceError> {
        tally.results.sort_by(|a, b| (&a.action, &a.resource_arn).cmp(&(&b.action, &b.resource_arn)));
        if let Some(err) = tally.retryable {
            return Err(EnforceError::retryable(err, tally.results));
        }
        Ok(EnforcementOutcome::Restored(RestoreReport { budget, dry_run, results: tally.results }))
    }

    /// Undoes `undos` place by place, each through its action's row, and records each final result in the
    /// ledger (the undo item closed, an entry written). Returns whether every one was final (none failed).
    async fn undo_all(
        &self,
        undos: Vec<Undo>,
        trigger: &str,
        dry_run: bool,
        tally: &mut Tally,
    ) -> Result<bool, EnforceError> {
        let ledger = self.ledger()?;
        let mut by_place: BTreeMap<Place, Vec<Undo>> = BTreeMap::new();
        for undo in undos {
            by_place.entry(undo.place.clone()).or_default().push(undo);
        }
        let mut complete = true;
        let mut entries = Vec::new();
        for (place, undos) in by_place {
            let actor =
                if place.account.is_empty() { self.central_actor() } else { self.actor(&place.account, &place.region) };
            let concurrency = self.policy.budgets.concurrency;
            let done: Vec<(Undo, &'static str, Result<ResultKind, crate::aws::AwsError>)> = stream::iter(undos)
                .map(|undo| {
                    let actor = &actor;
                    async move {
                        let row = ACTIONS.iter().find(|row| row.action().to_string() == undo.action);
                        let Some((row, name)) = row.and_then(|row| row.restore_name().map(|name| (row, name))) else {
                            let result = ResultKind::failed(format!("{} is not a reversible action", undo.action));
                            return (undo, "restore", Ok(result));
                        };
                        if dry_run {
                            return (undo, name, Ok(ResultKind::DryRun));
                        }
                        let result = row.undo(actor, &undo).await;
                        (undo, name, result)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            for (undo, name, result) in done {
                let gone = match undo.before {
                    ledger::Before::Notebook { .. } => ResultKind::NotebookGone,
                    ledger::Before::Endpoint { .. } | ledger::Before::DeletedEndpoint { .. } => {
                        ResultKind::EndpointGone
                    }
                    ledger::Before::Role { .. } => ResultKind::RoleGone,
                    ledger::Before::InferenceComponent { .. }
                    | ledger::Before::Cluster { .. }
                    | ledger::Before::TrackingServer { .. }
                    | ledger::Before::MonitoringSchedule { .. } => ResultKind::ResourceGone,
                };
                tally.record(name, &undo.resource, result, gone);
                let Some(recorded) = tally.results.last() else { continue };
                let result = recorded.result.clone();
                if result.is_failed() {
                    complete = false;
                } else if !dry_run {
                    ledger.undone(&undo, &result.to_string(), ledger::now()).await.map_err(ledger_error)?;
                }
                entries.push(restore_entry(&undo, name, trigger, recorded, dry_run));
            }
        }
        if let Err(err) = ledger.record(&entries).await {
            warn!(error = %clip(&err.to_string()), "the restore's entries were not recorded");
            return Err(ledger_error(err));
        }
        Ok(complete)
    }
}

/// The ledger entry of one undo.
fn restore_entry(undo: &Undo, name: &str, trigger: &str, result: &ActionResult, dry_run: bool) -> Entry {
    Entry {
        at: ledger::timestamp(ledger::now()),
        budget: undo.budget.clone(),
        period: Some(undo.period.clone()),
        trigger: trigger.to_owned(),
        step: None,
        action: name.to_owned(),
        resource: undo.resource.clone(),
        result: result.result.to_string(),
        before: Some(undo.before.clone()),
        dry_run,
        place: Place::of_arn(&undo.resource),
    }
}
