//! The budget-enforcer: an AWS Budgets alert in, actions on the resources the budget pays for out.
//!
//! [`plan`] decides the rule, step and targets (pure); [`apply`] resolves the scope, finds the resources
//! through the tagging API and list calls with status filters, and carries the actions out with bounded
//! concurrency. [`BudgetEnforcer::handle`] is the Lambda handler's body; the CLI calls the same function.

pub mod apply;
pub mod plan;

use serde::Serialize;

pub use apply::BudgetEnforcer;
pub use plan::{ActionResult, Candidate, EnforcementPlan, plan_enforcement, select};

use crate::aws::AwsError;
use crate::event::budget::{AlertError, BudgetAlert};
use crate::policy::Action;

/// Tag Tagwarden puts on a notebook it stopped: the budget's name.
pub const STOPPED_BY_TAG: &str = "tagwarden:stopped-by";
/// Tag Tagwarden puts on an endpoint it scaled down: the budget's name.
pub const SCALED_BY_TAG: &str = "tagwarden:scaled-by";
/// Tag holding an endpoint's instance counts before scaling: `variant=count variant=count`.
pub const SCALED_FROM_TAG: &str = "tagwarden:scaled-from";
/// Tag Tagwarden puts on a role it attached the deny policy to: the budget's name.
pub const DENIED_BY_TAG: &str = "tagwarden:denied-by";

/// The result of handling one budget-enforcer event; the JSON the Lambda returns and `replay` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum EnforcementOutcome {
    /// Actions beyond `notify` were carried out.
    Enforced(EnforcementReport),
    /// Only a notification was sent.
    Notified(EnforcementReport),
    /// Dry run: what would have been done.
    DryRun(EnforcementReport),
    /// Nothing to do; the reason names the budget.
    Skipped {
        /// Why.
        reason: String,
        /// The parsed alert, when there was one.
        #[serde(skip_serializing_if = "Option::is_none")]
        alert: Option<BudgetAlert>,
    },
    /// Reversible actions undone.
    Restored(RestoreReport),
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
    /// `enforced`, `notified`, `dry-run`, `skipped`, `restored`, `rejected` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Enforced(_) => "enforced",
            Self::Notified(_) => "notified",
            Self::DryRun(_) => "dry-run",
            Self::Skipped { .. } => "skipped",
            Self::Restored(_) => "restored",
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
    /// The scope acted on, for people (e.g. `cost-center=ML-Marketing (from the budget)`).
    pub scope: String,
    /// One entry per action and resource.
    pub results: Vec<ActionResult>,
    /// Whether the summary was published.
    pub notified: bool,
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
        self.results.iter().filter(|r| r.result == "done")
    }

    /// Results that are `failed: …`.
    pub fn failed(&self) -> impl Iterator<Item = &ActionResult> {
        self.results.iter().filter(|r| r.result.starts_with("failed"))
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

/// The per-resource action names used in results, by policy action.
pub fn result_action(action: Action) -> &'static str {
    match action {
        Action::Notify => "notify",
        Action::StopNotebooks => "stop-notebook",
        Action::StopJobs => "stop-job",
        Action::DeleteStudioApps => "delete-app",
        Action::ScaleEndpoints => "scale-endpoint",
        Action::DenyIam => "deny-role",
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
            ActionResult::new("stop-notebook", "arn:nb-1", "done"),
            ActionResult::new("stop-notebook", "arn:nb-2", "failed: StopNotebookInstance: service unavailable"),
            ActionResult::new("stop-notebook", "arn:nb-3", "exempt"),
        ];
        let err = EnforceError::retryable(unavailable(), results);
        assert!(err.is_retryable());
        let text = err.to_string();
        assert!(text.starts_with("retryable: 1 done, 1 failed, 1 settled otherwise; failed: stop-notebook arn:nb-2"));
        assert!(
            text.ends_with("first retryable failure: StopNotebookInstance: service unavailable: connection refused")
        );
        assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "Tagwarden.Retryable.Unavailable");
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
