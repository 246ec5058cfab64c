//! The budget-enforcer: an AWS Budgets alert in, actions on the resources the budget pays for out.
//!
//! [`plan`] decides the rule, step and targets (pure); [`scope`] resolves which resources and accounts the
//! budget pays for (pure); [`apply`] is the handler ([`BudgetEnforcer::handle`], which the CLI calls too);
//! `fanout` picks the (account, region) places of an organization and their clients; `actor` holds what
//! every action shares (finding in-scope resources, selection, bounded concurrency, marker tags);
//! [`report`] holds the per-resource [`ActionResult`]s and the summary text; [`verify`] checks an alert
//! against the budget's own figures; [`ledger`] is the DynamoDB enforcement ledger (claims, what each action
//! changed, history, plans); `restore` undoes what the ledger recorded (and runs the tick); `plans` holds
//! approval and grace; [`idle`] runs the policy's idle rules (idle endpoints, off-hours) on their schedule.
//!
//! # Actions are rows in a table
//!
//! Each action family is one module implementing [`EnforcementAction`] once: its name in the policy
//! ([`Action`]), the resource types it finds candidates among, the IAM actions it needs (the permissions
//! manifest and the templates' grants are derived from them through [`crate::permissions::for_action`]), how it
//! finds candidates and acts (`act`, recording the state before of a reversible change in the ledger first),
//! how `restore` undoes one recorded change (`undo`), and what a dry run says it would do. The handler only
//! walks [`ACTIONS`]: `act` in the plan's order; `restore` finds each undo item's row by its policy name.
//!
//! | module          | policy name          | restore                          |
//! |-----------------|----------------------|----------------------------------|
//! | `notify`        | `notify`             | —                                |
//! | `notebooks`     | `stop-notebooks`     | `restart-notebook` (if the rule says so) |
//! | `jobs`, `pipelines` | `stop-jobs` (pipeline executions, then every job kind) | — (a stopped job cannot resume) |
//! | `studio_apps`   | `delete-studio-apps` | — (user files stay on EFS)       |
//! | `endpoints`     | `scale-endpoints`    | `restore-endpoint` (counts, autoscaling bounds, provisioned concurrency) |
//! | `inference_components` | `scale-inference-components` | `restore-inference-component` |
//! | `clusters`      | `scale-clusters`     | `restore-cluster`                |
//! | `warm_pools`    | `stop-warm-pools`    | — (a released pool cannot come back) |
//! | `inference_experiments` | `stop-inference-experiments` | — (shadows removed, production kept; an ended experiment cannot resume) |
//! | `tracking_servers` | `stop-tracking-servers` | `start-tracking-server`       |
//! | `monitoring_schedules` | `stop-monitoring-schedules` | `start-monitoring-schedule` |
//! | `storage`       | `notify-storage`     | — (changes nothing: deleting data is never automatic) |
//! | `iam`           | `deny-instance-types` | `detach-deny-instance-types`    |
//! | `iam`           | `deny-iam`           | `detach-deny`                    |
//!
//! Every result an action records carries its policy name as `action` (`{"action":"stop-notebooks", …}`).
//!
//! ## Adding an action: one new file and one line in the table
//!
//! The smallest action, `notify`, is the whole of `notify.rs`:
//!
//! ```rust,ignore
//! pub(crate) struct Notify;
//!
//! impl EnforcementAction for Notify {
//!     fn action(&self) -> Action { Action::Notify }
//!     fn resource_types(&self) -> &'static [&'static str] { &[] }
//!     fn permissions(&self) -> &'static [Permission] { &[("sns:Publish", Grant::NotifyTopic)] }
//!     fn describe(&self, _rule: &BudgetRule) -> String { "publish one summary to the notification topic".into() }
//!     fn act<'a>(&'a self, _: &'a Actor<'a>, _: &'a Context<'a>, _: &'a mut Tally)
//!         -> BoxFuture<'a, Result<(), AwsError>> {
//!         Box::pin(async { Ok(()) }) // the handler publishes the summary once, after every place
//!     }
//!     // `restore` has a default that does nothing: notify is not undone.
//! }
//! ```
//!
//! and the line `&notify::Notify,` in [`ACTIONS`]. An action that touches resources writes its `act` as
//! find → select → execute with the [`Actor`](actor::Actor)'s helpers (see `notebooks.rs`):
//! `actor.candidates(scope, type, &running)` (in-scope resources, active or not), `actor.select(…)`
//! (exemption, state, safety cap: the settled ones are recorded) and `actor.execute(…, |target| async { … })`
//! (bounded concurrency, `dry-run` under a dry run, not-found as the given [`ResultKind`]). Its policy name is
//! a variant of [`Action`] (`policy/budgets.rs`, kebab-case). Tests that then cover it without more work:
//! `permissions` (manifest, wildcards), `tests/template.rs` (the SAM template grants exactly the manifest:
//! regenerate with `make manifest`), and `tests/faults.rs` (every operation under every fault, and each
//! action's calls within its declared permissions).

mod actor;
pub mod anomaly;
pub mod apply;
pub mod burn;
mod clusters;
pub mod continuation;
mod endpoints;
mod fanout;
mod iam;
pub mod idle;
mod inference_components;
mod inference_experiments;
mod jobs;
pub mod ledger;
mod monitoring_schedules;
mod notebooks;
mod notify;
mod pipelines;
pub mod plan;
mod plans;
pub mod report;
mod restore;
mod scalable;
pub mod scope;
mod storage;
mod studio_apps;
mod tracking_servers;
pub mod verify;
mod warm_pools;

use futures::future::BoxFuture;
use serde::Serialize;

pub use apply::BudgetEnforcer;
pub use plan::{Candidate, EnforcementPlan, plan_at, plan_enforcement, select};
pub use report::{ActionResult, ResultKind, summary};
pub use scope::ResolvedScope;
pub use verify::{Date, Period, PeriodUnit};

use self::actor::Actor;
use self::report::Tally;

use crate::aws::AwsError;
use crate::event::budget::{AlertError, BudgetAlert};
use crate::grant::Permission;
use crate::policy::{Action, BudgetRule};

/// Tag Tagwarden puts on a notebook it stopped: the budget's name.
pub const STOPPED_BY_TAG: &str = "tagwarden:stopped-by";
/// Tag Tagwarden puts on an endpoint it scaled down: the budget's name.
pub const SCALED_BY_TAG: &str = "tagwarden:scaled-by";
/// Tag holding an endpoint's instance counts before scaling: `variant=count variant=count`.
pub const SCALED_FROM_TAG: &str = "tagwarden:scaled-from";
/// Tag Tagwarden puts on a role it attached the deny policy to: the budget's name.
pub const DENIED_BY_TAG: &str = "tagwarden:denied-by";
/// Tag Tagwarden puts on a role it attached the instance-types deny policy to: the budget's name.
pub const INSTANCE_TYPES_DENIED_BY_TAG: &str = "tagwarden:instance-types-denied-by";

/// Every enforcement action, one row per action family; the policy names each by its [`Action`].
pub(crate) const ACTIONS: &[&dyn EnforcementAction] = &[
    &notify::Notify,
    &notebooks::StopNotebooks,
    &jobs::StopJobs,
    &studio_apps::DeleteStudioApps,
    &endpoints::ScaleEndpoints,
    &inference_components::ScaleInferenceComponents,
    &clusters::ScaleClusters,
    &warm_pools::StopWarmPools,
    &inference_experiments::StopInferenceExperiments,
    &tracking_servers::StopTrackingServers,
    &monitoring_schedules::StopMonitoringSchedules,
    &storage::NotifyStorage,
    &iam::DENY_INSTANCE_TYPES,
    &iam::DENY_IAM,
];

/// The policy actions the table implements, in table order.
pub fn actions() -> impl Iterator<Item = Action> {
    ACTIONS.iter().map(|row| row.action())
}

/// What an action needs to act in one place: the rule, the resolved scope, the alert, dry run or not.
pub(crate) struct Context<'a> {
    /// The matching rule (endpoint mode, restart on restore).
    pub(crate) rule: &'a BudgetRule,
    /// The resources in scope.
    pub(crate) scope: &'a ResolvedScope,
    /// The alert (its budget names the markers).
    pub(crate) alert: &'a BudgetAlert,
    /// Decide and record `dry-run` only.
    pub(crate) dry_run: bool,
    /// Where reversible actions record their state before acting (`None`: no ledger configured, so
    /// nothing the action does can be restored).
    pub(crate) journal: Option<&'a ledger::Journal<'a>>,
}

impl Context<'_> {
    /// Records in the ledger what `action` is about to change on `resource`, before the change; an error
    /// stops the change (what is not recorded could never be restored).
    pub(crate) async fn remember(
        &self,
        actor: &Actor<'_>,
        action: Action,
        resource: &str,
        before: ledger::Before,
    ) -> Result<(), AwsError> {
        let Some(journal) = self.journal else { return Ok(()) };
        let place = ledger::Place { account: actor.account.clone(), region: actor.region.clone() };
        journal.remember(&action.to_string(), resource, before, place).await
    }
}

/// One action family: the shape every row of [`ACTIONS`] has.
pub(crate) trait EnforcementAction: Sync {
    /// Its name in the policy, and in every result it records.
    fn action(&self) -> Action;

    /// The tagging API's resource types it finds candidates among (`sagemaker:notebook-instance`, …).
    fn resource_types(&self) -> &'static [&'static str];

    /// The IAM actions it and its restore call; [`crate::permissions::for_action`] reads them.
    fn permissions(&self) -> &'static [Permission];

    /// What it would do under `rule`, for people (logged on a dry run).
    fn describe(&self, rule: &BudgetRule) -> String;

    /// Finds its candidates in scope and acts on them, recording one result per resource.
    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>>;

    /// The name its restore records results under (`restart-notebook`, …); `None` when not reversible.
    fn restore_name(&self) -> Option<&'static str> {
        None
    }

    /// Undoes one change the ledger recorded for this action, from the state before it holds — never from
    /// anything on the resource. Called only for reversible actions ([`Self::restore_name`]).
    fn undo<'a>(
        &'a self,
        _actor: &'a Actor<'a>,
        _undo: &'a ledger::Undo,
    ) -> BoxFuture<'a, Result<ResultKind, AwsError>> {
        Box::pin(async { Ok(ResultKind::failed("this action is not reversible")) })
    }
}

/// The permissions one action (and its restore) declares in its row; empty for an action without a row.
pub(crate) fn permissions_of(action: Action) -> &'static [Permission] {
    ACTIONS.iter().find(|row| row.action() == action).map(|row| row.permissions()).unwrap_or(&[])
}

/// The result of handling one budget-enforcer event; the JSON the Lambda returns and `replay` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum EnforcementOutcome {
    /// Actions beyond `notify` were carried out.
    Enforced(EnforcementReport),
    /// Only a notification was sent (the step's actions only tell: `notify`, `notify-storage`).
    Notified(EnforcementReport),
    /// Dry run: what would have been done.
    DryRun(EnforcementReport),
    /// The invocation's time ran out: what this part did; the next part was sent to the continuation queue.
    Continued(ContinuedReport),
    /// The step defers its actions: the plan (exactly what would be done) waits for an approval or its grace.
    Pending(PendingReport),
    /// Nothing to do; the reason names the budget.
    Skipped {
        /// Why.
        reason: String,
        /// The parsed alert, when there was one.
        #[serde(skip_serializing_if = "Option::is_none")]
        alert: Option<BudgetAlert>,
    },
    /// The budget's own record does not confirm the alert (no such budget, no figure to read, or its own
    /// figure is below the rule's first step): nothing was done, one notice was sent.
    Unverified {
        /// Why, naming the budget and both figures.
        reason: String,
        /// The parsed alert.
        alert: BudgetAlert,
        /// What the alert claims, in percent of the budgeted amount.
        alert_percent: f64,
        /// The budget's own figure (`ActualSpend` or `ForecastedSpend` over its limit); `None` when there is
        /// no such budget or no figure to read.
        budget_percent: Option<f64>,
        /// Whether the notice was published.
        notified: bool,
    },
    /// A cost anomaly AWS's record does not confirm (no such anomaly in its monitor's record, another
    /// monitor's, or a recorded impact below the rule's minimums): nothing was done, one notice was sent.
    #[serde(rename = "unverified")]
    UnverifiedAnomaly {
        /// Why, naming the anomaly and its monitor.
        reason: String,
        /// The alert as it claimed the anomaly.
        anomaly: Box<crate::event::budget::AnomalyAlert>,
        /// The impact the alert claims, USD.
        claimed_impact: f64,
        /// The impact AWS's record gives, USD; `None` when no record was found.
        recorded_impact: Option<f64>,
        /// Whether the notice was published.
        notified: bool,
    },
    /// Reversible actions undone.
    Restored(RestoreReport),
    /// The burn-rate guard's tick: each burn rule's estimate, itemised, and what was done about it.
    Burn(burn::BurnReport),
    /// The idle rules ran (`{"tagwarden": "idle"}`): what each decided and did.
    Idle(idle::IdleReport),
    /// The input was not a budget alert or command (Lambda only: not retried).
    Rejected {
        /// What was wrong with it.
        error: String,
    },
    /// An AWS failure that retrying will not fix, e.g. a call the role may not make (Lambda only: not
    /// retried; logged as an error). Names what was done before it, if anything.
    Failed {
        /// What failed.
        error: String,
    },
}

impl EnforcementOutcome {
    /// The outcome of a finished run: `dry-run`, `notified` when every action only tells, else `enforced`.
    pub fn of_report(report: EnforcementReport) -> Self {
        if report.plan.dry_run {
            Self::DryRun(report)
        } else if report.plan.actions.iter().all(|a| a.is_notice()) {
            Self::Notified(report)
        } else {
            Self::Enforced(report)
        }
    }

    /// `enforced`, `notified`, `dry-run`, `continued`, `pending`, `skipped`, `unverified`, `restored`,
    /// `burn`, `idle`, `rejected` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Enforced(_) => "enforced",
            Self::Notified(_) => "notified",
            Self::DryRun(_) => "dry-run",
            Self::Continued(_) => "continued",
            Self::Pending(_) => "pending",
            Self::Skipped { .. } => "skipped",
            Self::Unverified { .. } | Self::UnverifiedAnomaly { .. } => "unverified",
            Self::Restored(_) => "restored",
            Self::Burn(_) => "burn",
            Self::Idle(_) => "idle",
            Self::Rejected { .. } => "rejected",
            Self::Failed { .. } => "failed",
        }
    }
}

/// What the enforcer found and did for one alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnforcementReport {
    /// The parsed alert.
    pub alert: BudgetAlert,
    /// The rule and step chosen.
    pub plan: EnforcementPlan,
    /// The scope acted on, for people (e.g. `cost-center=CC-4100 (from the budget)`).
    pub scope: String,
    /// The budget's own figure the alert was verified against (the plan's step comes from the lower of it
    /// and the alert's).
    pub budget_percent: Option<f64>,
    /// The budget period the alert falls in.
    pub period: Option<Period>,
    /// One entry per action and resource.
    pub results: Vec<ActionResult>,
    /// Whether the summary was published.
    pub notified: bool,
    /// For a cost anomaly: what AWS's record says of it (the figures acted on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<Box<anomaly::VerifiedAnomaly>>,
    /// Calls SageMaker throttled (the SDK's retried attempts included); each was paced and issued again.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A plan made instead of acting: its id, how it waits, and what it would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingReport {
    /// The plan id (`tagwarden approve <plan id>`).
    pub plan_id: String,
    /// How it waits.
    pub mode: ledger::PlanMode,
    /// When the tick carries it out (grace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// The end of the budget period: the plan expires then.
    pub expires: String,
    /// The alert, the step and what would be done (`dry-run` results).
    #[serde(flatten)]
    pub report: EnforcementReport,
}

/// One part of an enforcement that continues: what it did, and the part that comes next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContinuedReport {
    /// This part (1 for the alert's own invocation).
    pub part: u32,
    /// The part sent to the continuation queue.
    pub next: u32,
    /// The alert, the step and this part's results (no summary is sent until the last part).
    #[serde(flatten)]
    pub report: EnforcementReport,
    /// Targets selected per action so far (the safety cap counts every part).
    #[serde(skip)]
    pub selected: std::collections::HashMap<String, usize>,
}

/// What `restore` undid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    /// The budget restored, or every budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    /// Dry run: nothing was changed.
    pub dry_run: bool,
    /// One entry per action and resource.
    pub results: Vec<ActionResult>,
}

/// Why the budget-enforcer could not handle an event.
#[derive(Debug, thiserror::Error)]
pub enum EnforceError {
    /// Not a budget alert or command: retrying will not help.
    #[error("bad input: {0}")]
    BadInput(#[from] AlertError),
    /// Throttling or an outage remained after the SDK's retries: retry the (idempotent) whole event.
    #[error("retryable: {0}")]
    Retryable(AwsError),
    /// A retryable failure after some actions were carried out: what was done and what failed, so that a
    /// partial enforcement is never reported as nothing (or as everything). Retrying finishes the rest.
    #[error("retryable: {}", .0)]
    Incomplete(Box<Incomplete>),
}

/// What one alert did before a retryable failure stopped it.
#[derive(Debug, Clone, PartialEq)]
pub struct Incomplete {
    /// The first retryable failure.
    pub error: AwsError,
    /// Every result recorded before the handler gave up (`done`, `already-stopped`, `failed: …`, …).
    pub results: Vec<ActionResult>,
}

impl Incomplete {
    /// Results that are `done`.
    pub fn done(&self) -> impl Iterator<Item = &ActionResult> {
        self.results.iter().filter(|r| r.result.is_done())
    }

    /// Results that are `failed: …`.
    pub fn failed(&self) -> impl Iterator<Item = &ActionResult> {
        self.results.iter().filter(|r| r.result.is_failed())
    }
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (done, failed) = (self.done().count(), self.failed().count());
        let other = self.results.len() - done - failed;
        // NOTE: counts and the first failures before the SDK's (long) error: consumers truncate messages.
        write!(f, "{done} done, {failed} failed, {other} settled otherwise")?;
        for (i, r) in self.failed().take(10).enumerate() {
            write!(f, "{} {} {}", if i == 0 { "; failed:" } else { "," }, r.action, r.resource_arn)?;
        }
        if failed > 10 {
            write!(f, ", … {} more", failed - 10)?;
        }
        write!(f, "; first retryable failure: {}", self.error)?;
        Ok(())
    }
}

impl EnforceError {
    /// Whether retrying the event may succeed.
    pub fn is_retryable(&self) -> bool {
        self.aws_error().is_some_and(AwsError::is_retryable)
    }

    /// The AWS failure behind a retryable error.
    pub fn aws_error(&self) -> Option<&AwsError> {
        match self {
            Self::Retryable(err) => Some(err),
            Self::Incomplete(incomplete) => Some(&incomplete.error),
            Self::BadInput(_) => None,
        }
    }

    /// A retryable error carrying the results so far (plain [`EnforceError::Retryable`] when there are none).
    pub fn retryable(error: AwsError, results: Vec<ActionResult>) -> Self {
        if results.is_empty() {
            Self::Retryable(error)
        } else {
            Self::Incomplete(Box::new(Incomplete { error, results }))
        }
    }
}

impl From<EnforceError> for lambda_runtime::Diagnostic {
    fn from(err: EnforceError) -> Self {
        let error_type = match &err {
            EnforceError::BadInput(_) => "Tagwarden.NonRetryable.BadInput",
            _ => match err.aws_error() {
                Some(AwsError::Throttled { .. }) => "Tagwarden.Retryable.Throttled",
                Some(AwsError::Unavailable { .. }) => "Tagwarden.Retryable.Unavailable",
                // NOTE: e.g. a listing denied by IAM: Lambda still retries an error, but the type says why it fails.
                _ => "Tagwarden.NonRetryable.Aws",
            },
        };
        Self { error_type: error_type.into(), error_message: err.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable() -> AwsError {
        AwsError::Unavailable { operation: "StopNotebookInstance", message: "connection refused".into() }
    }

    #[test]
    fn an_incomplete_enforcement_names_its_counts_and_failures_before_the_error() {
        let results = vec![
            ActionResult::new("stop-notebooks", "arn:nb-1", ResultKind::Done),
            ActionResult::new(
                "stop-notebooks",
                "arn:nb-2",
                ResultKind::failed("StopNotebookInstance: service unavailable"),
            ),
            ActionResult::new("stop-notebooks", "arn:nb-3", ResultKind::Exempt { reason: "INC-1".into() }),
        ];
        let err = EnforceError::retryable(unavailable(), results);
        assert!(err.is_retryable());
        let text = err.to_string();
        assert!(text.starts_with("retryable: 1 done, 1 failed, 1 settled otherwise; failed: stop-notebooks arn:nb-2"));
        assert!(
            text.ends_with("first retryable failure: StopNotebookInstance: service unavailable: connection refused")
        );
        assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "Tagwarden.Retryable.Unavailable");
    }

    #[test]
    fn every_policy_action_has_exactly_one_row_and_declares_its_permissions() {
        // NOTE: the match fails to compile when a policy action is added without being listed here.
        let every = [
            Action::Notify,
            Action::StopNotebooks,
            Action::StopJobs,
            Action::DeleteStudioApps,
            Action::ScaleEndpoints,
            Action::ScaleInferenceComponents,
            Action::ScaleClusters,
            Action::StopWarmPools,
            Action::StopInferenceExperiments,
            Action::StopTrackingServers,
            Action::StopMonitoringSchedules,
            Action::NotifyStorage,
            Action::DenyInstanceTypes,
            Action::DenyIam,
        ];
        for action in every {
            match action {
                Action::Notify
                | Action::StopNotebooks
                | Action::StopJobs
                | Action::DeleteStudioApps
                | Action::ScaleEndpoints
                | Action::ScaleInferenceComponents
                | Action::ScaleClusters
                | Action::StopWarmPools
                | Action::StopInferenceExperiments
                | Action::StopTrackingServers
                | Action::StopMonitoringSchedules
                | Action::NotifyStorage
                | Action::DenyInstanceTypes
                | Action::DenyIam => {}
            }
            let rows = ACTIONS.iter().filter(|row| row.action() == action).count();
            assert_eq!(rows, 1, "{action}");
            assert!(!permissions_of(action).is_empty(), "{action}");
        }
        assert_eq!(ACTIONS.len(), every.len());
        for row in ACTIONS {
            assert!(!row.describe(&crate::Policy::example().unwrap().budgets.rules[0]).is_empty());
            assert!(row.resource_types().iter().all(|t| t.starts_with("sagemaker:")), "{}", row.action());
        }
    }

    #[test]
    fn every_resource_type_an_action_touches_is_a_kind_of_the_registry() {
        for row in ACTIONS {
            for tagging_type in row.resource_types() {
                let kind = tagging_type.strip_prefix("sagemaker:").and_then(crate::resource::kind_for_arn_type);
                assert!(kind.is_some(), "{}: {tagging_type} is not in the resource registry", row.action());
            }
        }
    }

    #[test]
    fn a_failure_before_any_action_is_plainly_retryable_and_a_denied_one_is_not_labelled_retryable() {
        assert!(matches!(EnforceError::retryable(unavailable(), vec![]), EnforceError::Retryable(_)));
        let denied = EnforceError::Retryable(AwsError::AccessDenied {
            operation: "ListNotebookInstances",
            message: "no".into(),
        });
        assert!(!denied.is_retryable());
        assert_eq!(lambda_runtime::Diagnostic::from(denied).error_type, "Tagwarden.NonRetryable.Aws");
    }
}
