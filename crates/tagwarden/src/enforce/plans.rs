//! Approval and grace: a step with `approval: required` or `grace: 2h` does not act when its alert comes.
//! The enforcer works out exactly what it would do (a dry run), records that as a *plan* in the ledger,
//! and notifies with the list and the plan id. `tagwarden approve <plan id>` (a command to the function)
//! or, for grace, the tick once the grace has passed, carries the plan out: after checking the plan in the
//! ledger (pending, its budget period not over) and reading the budget's own figure again — spend that has
//! fallen below the step acts on nothing — and on the listed resources only. A conditional update takes
//! the plan, so two approvals (or an approval and the tick) carry it out once.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::apply::{BudgetEnforcer, ledger_error};
use super::ledger::{self, PeriodKey, Plan, PlanMode, PlanState};
use super::plan::EnforcementPlan;
use super::report::{ResultKind, Tally, summary};
use super::scope::ResolvedScope;
use super::{EnforceError, EnforcementOutcome, EnforcementReport, PendingReport, Period};
use crate::event::budget::{AlertError, BudgetAlert};
use crate::notice::{Notice, Severity};
use crate::policy::burn::BURN_PREFIX;
use crate::policy::{Approval, BudgetRule};
use crate::tagging::Tags;

/// What an enforcement is for: an alert as it comes, or a plan being carried out.
pub(super) enum Origin<'a> {
    /// An alert, with its SNS `MessageId` (none for `replay`), in one or more parts.
    Alert {
        /// The `MessageId`.
        trigger: Option<&'a str>,
        /// Which part of the enforcement this invocation runs, and until when.
        part: super::continuation::Part,
    },
    /// A plan: only its `(action, lower-cased resource)` targets are acted on.
    Plan {
        /// The plan id.
        id: &'a str,
        /// Its targets.
        targets: HashSet<(String, String)>,
    },
}

/// What the handler resolved before acting, handed to [`BudgetEnforcer::defer`].
pub(super) struct Planning<'a> {
    /// The matching rule.
    pub(super) rule: &'a BudgetRule,
    /// The resolved scope.
    pub(super) scope: &'a ResolvedScope,
    /// Member accounts the budget names (organization scale).
    pub(super) accounts: &'a [String],
    /// Their (account, regions).
    pub(super) places: Vec<(String, Vec<String>)>,
    /// The scope, for people.
    pub(super) scope_text: String,
    /// The budget period.
    pub(super) period_key: PeriodKey,
}

/// Whether the step the plan reached defers its actions (and there is something beyond the notices to defer).
pub(super) fn defers(rule: &BudgetRule, plan: &EnforcementPlan) -> bool {
    !plan.dry_run
        && plan.actions.iter().any(|a| !a.is_notice())
        && rule.step_at(plan.step).is_some_and(|step| step.defers())
}

/// A plan id from what made it: the same alert delivered twice makes the same plan (FNV-1a, 64 bits).
fn plan_id(trigger: &str, budget: &str, step: f64) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{trigger}\n{budget}\n{step}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("p-{hash:016x}")
}

impl BudgetEnforcer {
    /// Records what the step would do as a plan and notifies with the list and the plan id, instead of acting.
    pub(super) async fn defer(
        &self,
        alert: BudgetAlert,
        plan: EnforcementPlan,
        planning: Planning<'_>,
        budget_percent: f64,
        period: Period,
        trigger: &str,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let ledger = self.ledger()?;
        let Planning { rule, scope, accounts, places, scope_text, period_key } = planning;
        let step = rule.step_at(plan.step).cloned();
        let mut tally = Tally::default();
        let what_if = EnforcementPlan { dry_run: true, ..plan.clone() };
        self.act_everywhere(rule, scope, &alert, &what_if, None, accounts, places, &mut tally).await?;
        let targets: Vec<(String, String)> = tally
            .results
            .iter()
            .filter(|r| r.result == ResultKind::DryRun)
            .map(|r| (r.action.clone(), r.resource_arn.clone()))
            .collect();
        let now = ledger::now();
        let approval = step.as_ref().is_some_and(|s| s.approval == Approval::Required);
        let grace = step.as_ref().and_then(|s| s.grace).filter(|_| !approval);
        let due = grace.map(|grace| ledger::timestamp(now + chrono::Duration::seconds(grace.as_secs() as i64)));
        let record = Plan {
            id: plan_id(trigger, &alert.budget_name, plan.step),
            budget: alert.budget_name.clone(),
            period: period_key.clone(),
            step: plan.step,
            percent: plan.percent,
            alert: alert.clone(),
            targets,
            mode: if approval { PlanMode::Approval } else { PlanMode::Grace },
            due: due.clone(),
            created: ledger::timestamp(now),
            trigger: trigger.to_owned(),
            state: PlanState::Pending,
            outcome: None,
        };
        let new = ledger.put_plan(&record).await.map_err(ledger_error)?;
        let report = EnforcementReport {
            alert,
            plan,
            scope: scope_text,
            budget_percent: Some(budget_percent),
            period: Some(period),
            results: tally.results,
            notified: false,
            anomaly: None,
            throttled: 0,
        };
        let mut pending =
            PendingReport { plan_id: record.id.clone(), mode: record.mode, due, expires: period_key.end, report };
        if new {
            let notice = plan_notice(&pending, &record, &scope.certain_tags());
            pending.report.notified =
                self.publish(&notice).await.map_err(|err| EnforceError::retryable(err, vec![]))?;
        }
        info!(plan = %record.id, targets = record.targets.len(), mode = ?record.mode, "actions deferred to a plan");
        Ok(EnforcementOutcome::Pending(pending))
    }

    /// `{"tagwarden": "approve", "plan": …}`: carries out a pending plan. An unknown, used or expired plan
    /// is bad input and changes nothing (an expired one is marked so).
    pub async fn approve(
        &self,
        id: &str,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let ledger = self.ledger()?;
        let Some(plan) = ledger.plan(id).await.map_err(ledger_error)? else {
            return Err(bad(format!("no plan {id:?} in the ledger")));
        };
        if plan.mode != PlanMode::Approval {
            // NOTE: a grace plan is the tick's; approving it early would skip the grace the policy asks for.
            return Err(bad(format!(
                "plan {id:?} waits for its grace (due {}), not for an approval",
                plan.due.as_deref().unwrap_or("?")
            )));
        }
        self.carry_out(plan, now, dry_run).await
    }

    /// The tick's part: carries out every grace plan whose grace has passed.
    pub(super) async fn run_due_plans(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        tally: &mut Tally,
    ) -> Result<(), EnforceError> {
        let ledger = self.ledger()?;
        for (key, id) in ledger.due_plans(&ledger::timestamp(now)).await.map_err(ledger_error)? {
            let Some(plan) = ledger.plan(&id).await.map_err(ledger_error)? else {
                ledger.drop_due(&key).await.map_err(ledger_error)?;
                continue;
            };
            let outcome = match self.carry_out(plan, now, dry_run).await {
                Ok(outcome) => outcome,
                Err(EnforceError::BadInput(err)) => {
                    // NOTE: used or expired already: nothing to carry out.
                    info!(plan = %id, reason = %err, "due plan not carried out");
                    if !dry_run {
                        ledger.drop_due(&key).await.map_err(ledger_error)?;
                    }
                    continue;
                }
                Err(err) => return Err(err),
            };
            if let EnforcementOutcome::Enforced(report) | EnforcementOutcome::Notified(report) = &outcome {
                tally.results.extend(report.results.iter().cloned());
            }
            if !dry_run {
                ledger.drop_due(&key).await.map_err(ledger_error)?;
            }
        }
        Ok(())
    }

    /// Carries a pending plan out: takes it (once), checks its period and the budget's figure again, and acts
    /// on its targets only.
    async fn carry_out(
        &self,
        plan: Plan,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let ledger = self.ledger()?;
        if plan.state != PlanState::Pending {
            return Err(bad(format!(
                "plan {:?} is {} ({}); only a pending plan is carried out",
                plan.id,
                serde_json::to_value(plan.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                plan.outcome.as_deref().unwrap_or("no outcome")
            )));
        }
        let today = now.format("%Y-%m-%d").to_string();
        if today >= plan.period.end {
            let reason = format!("expired: its budget period ended on {}", plan.period.end);
            if !dry_run {
                ledger
                    .move_plan(&plan, PlanState::Pending, PlanState::Expired, Some(&reason))
                    .await
                    .map_err(ledger_error)?;
            }
            return Err(bad(format!("plan {:?} {reason}; nothing done", plan.id)));
        }
        if dry_run {
            let targets = plan.targets.iter().map(|(a, r)| (a.clone(), r.to_ascii_lowercase())).collect();
            if plan.budget.starts_with(BURN_PREFIX) {
                return self.carry_out_burn(&plan, targets, true).await;
            }
            return self.enforce_as(plan.alert.clone(), Origin::Plan { id: &plan.id, targets }, true).await;
        }
        if !ledger.move_plan(&plan, PlanState::Pending, PlanState::Running, None).await.map_err(ledger_error)? {
            return Err(bad(format!("plan {:?} was taken by another invocation; nothing done", plan.id)));
        }
        let targets = plan.targets.iter().map(|(a, r)| (a.clone(), r.to_ascii_lowercase())).collect();
        let result = if plan.budget.starts_with(BURN_PREFIX) {
            self.carry_out_burn(&plan, targets, false).await
        } else {
            self.enforce_as(plan.alert.clone(), Origin::Plan { id: &plan.id, targets }, false).await
        };
        let (to, outcome) = match &result {
            Ok(EnforcementOutcome::Enforced(report)) if report.plan.step >= plan.step => {
                (PlanState::Executed, "enforced".to_owned())
            }
            // NOTE: the budget's own figure no longer reaches the step: the spend fell back.
            Ok(other) => (
                PlanState::Lapsed,
                format!("{}: the budget's figure no longer reaches the {}% step", other.label(), plan.step),
            ),
            // NOTE: a retryable failure gives the plan back, so that the approval (or the tick) can be retried.
            Err(err) if err.is_retryable() => (PlanState::Pending, String::new()),
            Err(err) => (PlanState::Executed, format!("failed: {err}")),
        };
        let outcome = (!outcome.is_empty()).then_some(outcome);
        if let Err(err) = ledger.move_plan(&plan, PlanState::Running, to, outcome.as_deref()).await {
            warn!(plan = %plan.id, error = %err, "the plan's state was not updated");
        }
        result
    }
}

/// A command's bad input.
fn bad(message: String) -> EnforceError {
    EnforceError::BadInput(AlertError::BadCommand(message))
}

/// A plan's notice: the summary of what would be done, how to approve, when it expires; routed like the
/// summary by `routing`.
fn plan_notice(pending: &PendingReport, plan: &Plan, routing: &Tags) -> Notice {
    let (_, body) = summary(&pending.report);
    let alert = &pending.report.alert;
    let waits = match (plan.mode, &plan.due) {
        (PlanMode::Approval, _) => format!("awaits approval: tagwarden approve {}", plan.id),
        (PlanMode::Grace, Some(due)) => format!("acts at {due} unless spend falls back"),
        (PlanMode::Grace, None) => "acts at the next tick".to_owned(),
    };
    let subject = format!(
        "Tagwarden: budget {} at {:.0}% - plan {} {}",
        alert.budget_name,
        plan.percent,
        plan.id,
        match plan.mode {
            PlanMode::Approval => "awaits approval",
            PlanMode::Grace => "in grace",
        }
    );
    let mut message = format!("Plan {} {waits}. It expires with the budget period on {}.\n", plan.id, plan.period.end);
    message.push_str(&body.replace("dry-run", "planned"));
    message.push_str("Planned:\n");
    for (action, resource) in plan.targets.iter().take(200) {
        message.push_str(&format!("  {action} {resource}\n"));
    }
    if plan.targets.len() > 200 {
        message.push_str(&format!("  … and {} more (tagwarden plans --format json)\n", plan.targets.len() - 200));
    }
    let mut notice = Notice::new("plan", Severity::Warning, subject, message);
    super::report::budget_routing(&mut notice, alert, routing);
    notice.step(match plan.mode {
        PlanMode::Approval => format!("Approve: `tagwarden approve {}`", plan.id),
        PlanMode::Grace => "Review the list: `tagwarden plans`; spend back below the step makes it lapse".to_owned(),
    });
    notice.detail("plan", plan.id.clone());
    notice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_alert_makes_the_same_plan_id_and_another_alert_another() {
        let id = plan_id("msg-1", "ml-marketing", 100.0);
        assert_eq!(id, plan_id("msg-1", "ml-marketing", 100.0));
        assert_ne!(id, plan_id("msg-2", "ml-marketing", 100.0));
        assert!(id.starts_with("p-") && id.len() == 18, "{id}");
    }
}
