//! What the enforcer tells: one [`ActionResult`] per action and resource, its [`ResultKind`], and the
//! summary published to the notification topic.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Serialize, Serializer};

use super::EnforcementReport;
use crate::aws::AwsError;
use crate::notice::{self, Notice, Severity};
use crate::tagging::Tags;

/// How one action ended for one resource; serialised as the kebab-case word, with its detail after `: `
/// (`done`, `capped: safety cap of 3 per action reached`, `failed: StopNotebookInstance: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultKind {
    /// Carried out.
    Done,
    /// Dry run: it would have been carried out.
    DryRun,
    /// Spared by an exemption of the policy (`budgets.exemptions`); its reason.
    Exempt {
        /// The exemption's reason.
        reason: String,
    },
    /// An exemption of the policy names it but has expired: not honoured (the resource's own result follows).
    ExemptionExpired {
        /// `exemption expired <day>: <reason>`.
        detail: String,
    },
    /// Spared: the safety cap per action was reached.
    Capped {
        /// The cap.
        cap: usize,
    },
    /// Nothing to do: the notebook or job is stopped (or stopping, or gone).
    AlreadyStopped,
    /// Nothing to do: the app or endpoint is deleted (or gone).
    AlreadyDeleted,
    /// Nothing to do: no production variant is above the minimum.
    AlreadyScaled,
    /// Nothing to do: the deny policy is already attached.
    AlreadyDenied,
    /// Nothing to do: the endpoint is not InService.
    NotInService,
    /// Restore: the role is gone.
    RoleGone,
    /// Restore: the endpoint is gone.
    EndpointGone,
    /// Restore: the notebook is gone.
    NotebookGone,
    /// Restore: the inference component or cluster is gone.
    ResourceGone,
    /// Nothing it can lower: e.g. a serverless endpoint without provisioned concurrency (it costs nothing idle).
    NotScalable {
        /// Why.
        reason: String,
    },
    /// Restore: a deleted endpoint is not created again; why (its endpoint config is gone, or an endpoint of
    /// that name exists again).
    NotRecreated {
        /// Why.
        reason: String,
    },
    /// Restore: the notebook stays stopped because its rule does not restart notebooks.
    LeftStopped,
    /// Restore: the notebook, tracking server or schedule is not stopped any more (someone started it):
    /// nothing to start.
    NotStopped,
    /// Told only (`notify-storage`): what the resource holds; nothing was changed. Neither done nor failed.
    Reported {
        /// What it holds (`EBS volume 100 GiB`, …).
        detail: String,
    },
    /// Spared: carrying out a plan, and the resource was not in it.
    NotInPlan,
    /// The call failed; the reason names the operation.
    Failed {
        /// What failed.
        reason: String,
    },
}

impl ResultKind {
    /// The kebab-case word, without detail: what the summary counts.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::DryRun => "dry-run",
            Self::Exempt { .. } => "exempt",
            Self::ExemptionExpired { .. } => "exemption-expired",
            Self::Capped { .. } => "capped",
            Self::AlreadyStopped => "already-stopped",
            Self::AlreadyDeleted => "already-deleted",
            Self::AlreadyScaled => "already-scaled",
            Self::AlreadyDenied => "already-denied",
            Self::NotInService => "not-in-service",
            Self::RoleGone => "role-gone",
            Self::EndpointGone => "endpoint-gone",
            Self::NotebookGone => "notebook-gone",
            Self::ResourceGone => "resource-gone",
            Self::NotScalable { .. } => "not-scalable",
            Self::NotRecreated { .. } => "not-recreated",
            Self::LeftStopped => "left-stopped",
            Self::NotStopped => "not-stopped",
            Self::Reported { .. } => "reported",
            Self::NotInPlan => "not-in-plan",
            Self::Failed { .. } => "failed",
        }
    }

    /// Reads a result back from its recorded text (the ledger's `result`, [`fmt::Display`]'s output); a word
    /// it does not know reads as a failure quoting the text, never as done.
    pub fn from_recorded(text: &str) -> Self {
        let (word, detail) = match text.split_once(": ") {
            Some((word, detail)) => (word, detail.to_owned()),
            None => (text.split(" (").next().unwrap_or(text), String::new()),
        };
        match word {
            "done" => Self::Done,
            "dry-run" => Self::DryRun,
            "exempt" => Self::Exempt { reason: detail },
            "exemption-expired" => Self::ExemptionExpired { detail },
            "capped" => {
                let cap = detail.split_whitespace().find_map(|w| w.parse().ok()).unwrap_or_default();
                Self::Capped { cap }
            }
            "already-stopped" => Self::AlreadyStopped,
            "already-deleted" => Self::AlreadyDeleted,
            "already-scaled" => Self::AlreadyScaled,
            "already-denied" => Self::AlreadyDenied,
            "not-in-service" => Self::NotInService,
            "role-gone" => Self::RoleGone,
            "endpoint-gone" => Self::EndpointGone,
            "notebook-gone" => Self::NotebookGone,
            "resource-gone" => Self::ResourceGone,
            "not-scalable" => Self::NotScalable { reason: detail },
            "not-recreated" => Self::NotRecreated { reason: detail },
            "left-stopped" => Self::LeftStopped,
            "not-stopped" => Self::NotStopped,
            "reported" => Self::Reported { detail },
            "not-in-plan" => Self::NotInPlan,
            "failed" => Self::Failed { reason: detail },
            _ => Self::failed(format!("recorded as {text:?}")),
        }
    }

    /// A failure with this reason.
    pub fn failed(reason: impl fmt::Display) -> Self {
        Self::Failed { reason: reason.to_string() }
    }

    /// Whether the action was carried out.
    pub fn is_done(&self) -> bool {
        *self == Self::Done
    }

    /// Whether the call failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }
}

impl fmt::Display for ResultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())?;
        match self {
            Self::Capped { cap } => write!(f, ": safety cap of {cap} per action reached"),
            Self::Failed { reason } => write!(f, ": {reason}"),
            Self::Exempt { reason } => write!(f, ": {reason}"),
            Self::NotScalable { reason } | Self::NotRecreated { reason } => write!(f, ": {reason}"),
            Self::ExemptionExpired { detail } => write!(f, ": {detail}"),
            Self::Reported { detail } => write!(f, ": {detail}"),
            Self::LeftStopped => f.write_str(" (restart_notebooks_on_restore is off)"),
            _ => Ok(()),
        }
    }
}

impl Serialize for ResultKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The outcome for one resource of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionResult {
    /// The action's name in the policy (`stop-notebooks`, `deny-iam`, …), its restore's (`restart-notebook`,
    /// `restore-endpoint`, `detach-deny`), or the organization fan-out's (`assume-role`, `act`, `restore`).
    pub action: String,
    /// The resource (or role) acted on.
    pub resource_arn: String,
    /// How it ended.
    pub result: ResultKind,
}

impl ActionResult {
    /// A result line.
    pub fn new(action: &str, resource_arn: &str, result: ResultKind) -> Self {
        Self { action: action.to_owned(), resource_arn: resource_arn.to_owned(), result }
    }
}

/// Subject and body of the enforcement summary.
pub fn summary(report: &EnforcementReport) -> (String, String) {
    let alert = &report.alert;
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &report.results {
        *counts.entry((r.action.as_str(), r.result.label())).or_default() += 1;
    }
    let done = report.results.iter().filter(|r| r.result.is_done()).count();
    let subject =
        format!("Tagwarden: budget {} at {:.0}% - {done} action(s) taken", alert.budget_name, alert.percent_of_budget);
    let mut body = format!(
        "Budget {:?}: {:?} {} {:.2} of {:.2} ({:.2}%). Rule {:?}, step {}%: {}.\nScope: {}.\n",
        alert.budget_name,
        alert.alert_type,
        alert.unit,
        alert.amount,
        alert.budgeted_amount,
        alert.percent_of_budget,
        report.plan.rule,
        report.plan.step,
        report.plan.actions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        report.scope
    );
    if let Some(own) = report.budget_percent {
        body.push_str(&format!(
            "Verified: the budget's own figure is {own:.2}%; the step is chosen from {:.2}%.\n",
            report.plan.percent
        ));
    }
    if let Some(period) = &report.period {
        body.push_str(&format!("Budget period: {period}.\n"));
    }
    if let Some(limited) = &report.plan.limited {
        body.push_str(&format!("{limited}.\n"));
    }
    if report.throttled > 0 {
        body.push_str(&format!(
            "SageMaker throttled {} call(s); each was slowed down and issued again.\n",
            report.throttled
        ));
    }
    for ((action, result), n) in &counts {
        body.push_str(&format!("  {action}: {n} {result}\n"));
    }
    let mut expired: Vec<(&str, &str)> = report
        .results
        .iter()
        .filter_map(|r| match &r.result {
            ResultKind::ExemptionExpired { detail } => Some((r.resource_arn.as_str(), detail.as_str())),
            _ => None,
        })
        .collect();
    expired.sort_unstable();
    expired.dedup();
    if !expired.is_empty() {
        body.push_str("Expired exemptions (not honoured; renew or remove them in the policy):\n");
        for (arn, detail) in &expired {
            body.push_str(&format!("  {arn}: {detail}\n"));
        }
    }
    let mut stored: Vec<(&str, &str)> = report
        .results
        .iter()
        .filter_map(|r| match &r.result {
            ResultKind::Reported { detail } => Some((r.resource_arn.as_str(), detail.as_str())),
            _ => None,
        })
        .collect();
    stored.sort_unstable();
    stored.dedup();
    if !stored.is_empty() {
        body.push_str("Storage in scope (kept: deleting data is never automatic; delete what is no longer needed):\n");
        for (arn, detail) in stored.iter().take(50) {
            body.push_str(&format!("  {arn}: {detail}\n"));
        }
        if stored.len() > 50 {
            body.push_str(&format!("  … and {} more\n", stored.len() - 50));
        }
    }
    let failures: Vec<&ActionResult> = report.results.iter().filter(|r| r.result.is_failed()).collect();
    for f in failures.iter().take(50) {
        body.push_str(&format!("  FAILED {} {}: {}\n", f.action, f.resource_arn, f.result));
    }
    if failures.len() > 50 {
        body.push_str(&format!("  … and {} more failures\n", failures.len() - 50));
    }
    (crate::tag_rules::sns_subject(&subject), body)
}

/// The enforcement summary as a [`Notice`]: [`summary`]'s text as its description, routed by the budget,
/// its account and the tags every resource in scope carries (`routing`); critical when it acted.
pub fn notice(report: &EnforcementReport, routing: &Tags) -> Notice {
    let (subject, body) = summary(report);
    let acted = !report.plan.dry_run && report.plan.actions.iter().any(|a| !a.is_notice());
    let kind = if acted { "enforcement" } else { "budget-notice" };
    let mut notice = Notice::new(kind, if acted { Severity::Critical } else { Severity::Warning }, subject, body);
    budget_routing(&mut notice, &report.alert, routing);
    if acted {
        notice.step(format!("Undo what can be undone: `tagwarden restore --budget {:?}`", report.alert.budget_name));
        notice.step("Spare a resource: an entry with a reason under `budgets.exemptions` in the policy");
    } else {
        notice.step(format!(
            "Review the spend of budget {:?} before the next step of its rule",
            report.alert.budget_name
        ));
    }
    notice.resources = report.results.iter().map(|r| r.resource_arn.clone()).take(20).collect();
    notice.resources.dedup();
    notice.detail("step", format!("{}", report.plan.step)).detail("scope", report.scope.clone());
    notice
}

/// Routes a notice about `alert`: its budget, its account, and the scope's certain tags.
pub(crate) fn budget_routing(notice: &mut Notice, alert: &crate::event::budget::BudgetAlert, routing: &Tags) {
    notice
        .set(notice::BUDGET, Some(&alert.budget_name))
        .set(notice::ACCOUNT, alert.account_id.as_deref())
        .route_by_tags(routing);
}

/// Results collected while acting, and the first retryable failure if any.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Every result so far, in order.
    pub(crate) results: Vec<ActionResult>,
    /// The first retryable failure.
    pub(crate) retryable: Option<AwsError>,
    /// Targets selected so far per action, over every account and region: the safety cap counts them all.
    pub(super) selected: HashMap<String, usize>,
    /// Carrying out a plan: its `(action, lower-cased resource)` targets, the only ones acted on.
    pub(crate) planned: Option<std::collections::HashSet<(String, String)>>,
    /// Throttled calls in every place so far (each paced and issued again).
    pub(crate) throttled: u64,
    /// When to stop starting work and hand the rest on (an enforcement that continues); `None`: never.
    pub(crate) deadline: Option<std::time::Instant>,
    /// Whether work was left for a continuation because the deadline passed.
    pub(crate) unfinished: bool,
    /// Calls started by this invocation (a part looks at its deadline only once it has made progress).
    pub(crate) started: usize,
    /// A later part of an enforcement that continues: candidates no longer active are the earlier parts'
    /// work (or were reported by the first part) and are neither reported nor recorded again.
    pub(crate) later_part: bool,
    /// With a deadline: the safety-cap key each selected target counts under, so that a target left for the
    /// next part is not counted twice.
    pub(crate) cap_keys: HashMap<String, String>,
}

impl Tally {
    /// Whether the deadline has passed after this invocation made progress (started a call): no new work may
    /// start, and the rest is left for a continuation.
    pub(crate) fn out_of_time(&mut self) -> bool {
        let passed = self.deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline);
        let late = passed && self.started > 0;
        self.unfinished |= late;
        late
    }

    /// Records how a call ended: not-found is `gone`, a failure is `failed: …` (the first retryable one kept).
    pub(crate) fn record(&mut self, action: &str, arn: &str, outcome: Result<ResultKind, AwsError>, gone: ResultKind) {
        let result = match outcome {
            Ok(result) => result,
            Err(err) if err.is_not_found() => gone,
            Err(err) => {
                let failed = ResultKind::failed(&err);
                if err.is_retryable() && self.retryable.is_none() {
                    self.retryable = Some(err);
                }
                failed
            }
        };
        self.results.push(ActionResult::new(action, arn, result));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_reads_back_from_its_recorded_text_and_an_unknown_word_is_a_failure() {
        let kinds = [
            ResultKind::Done,
            ResultKind::DryRun,
            ResultKind::Exempt { reason: "serves customers: INC-1".into() },
            ResultKind::ExemptionExpired { detail: "exemption expired 2026-01-01: x".into() },
            ResultKind::Capped { cap: 3 },
            ResultKind::AlreadyStopped,
            ResultKind::AlreadyDeleted,
            ResultKind::AlreadyScaled,
            ResultKind::AlreadyDenied,
            ResultKind::NotInService,
            ResultKind::RoleGone,
            ResultKind::EndpointGone,
            ResultKind::NotebookGone,
            ResultKind::ResourceGone,
            ResultKind::NotScalable { reason: "serverless".into() },
            ResultKind::LeftStopped,
            ResultKind::NotRecreated { reason: "endpoint config ep-config no longer exists".into() },
            ResultKind::NotStopped,
            ResultKind::Reported { detail: "EBS volume 100 GiB".into() },
            ResultKind::NotInPlan,
            ResultKind::failed("StopNotebookInstance: ThrottlingException: Rate exceeded"),
        ];
        for kind in kinds {
            assert_eq!(ResultKind::from_recorded(&kind.to_string()), kind);
        }
        let unknown = ResultKind::from_recorded("teleported");
        assert!(unknown.is_failed() && unknown.to_string().contains("teleported"), "{unknown}");
    }

    #[test]
    fn results_serialise_as_the_kebab_case_word_and_their_detail() {
        let text = |kind: ResultKind| serde_json::to_value(ActionResult::new("stop-notebooks", "arn:x", kind)).unwrap();
        assert_eq!(text(ResultKind::Done)["result"], "done");
        assert_eq!(text(ResultKind::AlreadyStopped)["result"], "already-stopped");
        assert_eq!(text(ResultKind::Capped { cap: 3 })["result"], "capped: safety cap of 3 per action reached");
        assert_eq!(text(ResultKind::failed("DeleteApp: denied"))["result"], "failed: DeleteApp: denied");
        assert_eq!(text(ResultKind::LeftStopped)["result"], "left-stopped (restart_notebooks_on_restore is off)");
        assert_eq!(ResultKind::failed("x").label(), "failed");
        assert_eq!(text(ResultKind::Exempt { reason: "INC-1".into() })["result"], "exempt: INC-1");
        let expired = ResultKind::ExemptionExpired { detail: "exemption expired 2026-11-30: INC-1".into() };
        assert_eq!(text(expired)["result"], "exemption-expired: exemption expired 2026-11-30: INC-1");
        let reported = ResultKind::Reported { detail: "EBS volume 100 GiB".into() };
        assert_eq!(text(reported.clone())["result"], "reported: EBS volume 100 GiB");
        assert!(!reported.is_done() && !reported.is_failed(), "a report is neither an action taken nor a failure");
    }
}
