//! Enforcement that continues: an alert whose work does not fit one invocation hands the rest on.
//!
//! Each invocation works until its deadline (the Lambda context's, less [`MARGIN`]): past it no new call
//! starts, the calls in flight finish, what was done is recorded in the ledger, the delivery's claim moves to
//! `continued` at the next part (keeping the alert's event and the targets selected so far), and one
//! `{"tagwarden": "continue", "alert": "<MessageId>", "part": N}` message goes to the continuation queue,
//! whose consumer is this same function. The next part takes the claim (a conditional update: one invocation
//! per part, however often SQS delivers), reads the alert from the ledger — never from the message — and
//! runs it again: verified against the budget once more, and idempotent, because an action checks state
//! first and the ledger keeps the first state before. The last part sends the summary once, with the
//! results of every part ([`merge`]).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tracing::{info, warn};

use super::apply::{BudgetEnforcer, ledger_error};
use super::ledger::{self, LedgerTable, Resume};
use super::report::{ActionResult, ResultKind};
use super::{EnforceError, EnforcementOutcome};
use crate::aws::{AwsError, ResultExt};
use crate::event::budget::{BudgetEnvelope, BudgetEvent, parse_budget_envelope};
use crate::telemetry::clip;

/// The environment variable naming the continuation queue's URL; unset, an enforcement runs to its end
/// in one invocation (as before continuations).
pub const QUEUE_ENV: &str = "TAGWARDEN_CONTINUATION_QUEUE_URL";

/// What an invocation keeps free before its Lambda deadline: the longest call in flight (8 s with retries'
/// timeouts), the ledger's writes and the continuation message, with room to spare.
pub const MARGIN: Duration = Duration::from_secs(30);

/// The queue an enforcement sends its next part to.
#[derive(Debug, Clone)]
pub struct ContinuationQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl ContinuationQueue {
    /// The queue at `url`, reached with `sqs`.
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { sqs, url: url.into() }
    }

    /// Sends part `part` of the enforcement of `alert` (its SNS `MessageId`).
    pub async fn send(&self, alert: &str, part: u32) -> Result<(), AwsError> {
        let body = json!({"tagwarden": "continue", "alert": alert, "part": part}).to_string();
        self.sqs.send_message().queue_url(&self.url).message_body(body).send().await.aws("SendMessage")?;
        Ok(())
    }
}

/// Which part of an alert's enforcement an invocation runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Part {
    /// 1 for the alert's own invocation, then 2, 3, …
    pub(crate) number: u32,
    /// Targets the earlier parts selected per action.
    pub(crate) selected: HashMap<String, usize>,
    /// When the first part claimed the alert (the earlier parts' entries are recorded from then on).
    pub(crate) since: Option<String>,
    /// When to stop starting work; `None`: run to the end.
    pub(crate) deadline: Option<Instant>,
}

impl Part {
    /// The alert's own invocation, working until `deadline`.
    pub(crate) fn first(deadline: Option<Instant>) -> Self {
        Self { number: 1, deadline, ..Self::default() }
    }
}

/// The instant to stop starting work: `lambda_deadline` less [`MARGIN`] (now, if that has passed).
pub fn work_deadline(lambda_deadline: SystemTime) -> Instant {
    let left = lambda_deadline.duration_since(SystemTime::now()).unwrap_or_default();
    Instant::now() + left.saturating_sub(MARGIN)
}

impl BudgetEnforcer {
    /// Takes part `part` of the enforcement of `alert` (a `continue` message): the alert comes from the
    /// ledger's claim, never from the message, and is run again until `deadline`.
    pub(super) async fn resume(
        &self,
        alert: &str,
        part: u32,
        deadline: Option<Instant>,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let ledger = self.ledger()?;
        let (event, selected, since) = match ledger.resume(alert, part, ledger::now()).await.map_err(ledger_error)? {
            Resume::Taken { event, selected, since } => (event, selected, since),
            Resume::Waiting { part: waiting } if waiting == part + 1 => {
                // NOTE: a redelivered part whose hand-over was done: its next part's message may be lost with it.
                self.send_part(alert, waiting).await?;
                let reason =
                    format!("part {part} of alert {} was handed on; part {waiting} was sent again", clip(alert));
                return Ok(EnforcementOutcome::Skipped { reason, alert: None });
            }
            Resume::Waiting { part: waiting } => {
                let reason = format!("alert {} waits for part {waiting}, not part {part}", clip(alert));
                return Ok(EnforcementOutcome::Skipped { reason, alert: None });
            }
            Resume::Refused { reason } => return Ok(EnforcementOutcome::Skipped { reason, alert: None }),
        };
        let stored: Option<Value> = serde_json::from_str(&event).ok();
        let Some(Ok(BudgetEnvelope { event: BudgetEvent::Alert(budget_alert), .. })) =
            stored.as_ref().map(parse_budget_envelope)
        else {
            let error = format!("alert {}: the ledger's copy of the alert cannot be read; not continued", clip(alert));
            ledger.settle(alert, "failed").await.map_err(ledger_error)?;
            return Ok(EnforcementOutcome::Failed { error });
        };
        let run = Part { number: part, selected, since: Some(since), deadline };
        let outcome = self.enforce_part(budget_alert, Some(alert), run).await;
        self.settle_claim(ledger, alert, part, &event, outcome).await
    }

    /// Settles the claim on `alert` after part `part` ran: a continued run hands the claim on and sends its
    /// next part; a retryable failure gives the part back for the retry; anything else is done.
    pub(super) async fn settle_claim(
        &self,
        ledger: &LedgerTable,
        alert: &str,
        part: u32,
        event: &str,
        outcome: Result<EnforcementOutcome, EnforceError>,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let settled = match &outcome {
            Ok(EnforcementOutcome::Continued(continued)) => {
                ledger.continue_claim(alert, continued.next, event, &continued.selected).await.map_err(ledger_error)?;
                self.send_part(alert, continued.next).await?;
                info!(alert = %clip(alert), part, next = continued.next, "continued");
                Ok(())
            }
            Ok(outcome) => ledger.settle(alert, outcome.label()).await,
            Err(err) if err.is_retryable() && part == 1 => ledger.release(alert).await,
            Err(err) if err.is_retryable() => ledger.release_part(alert, part).await,
            Err(_) => ledger.settle(alert, "failed").await,
        };
        if let Err(err) = settled {
            warn!(error = %clip(&err.to_string()), "the delivery's claim was not updated");
        }
        outcome
    }

    /// Sends part `part` of `alert` to the continuation queue (a retryable failure when it cannot).
    pub(super) async fn send_part(&self, alert: &str, part: u32) -> Result<(), EnforceError> {
        let Some(queue) = &self.continuation else {
            return Err(EnforceError::Retryable(AwsError::Rejected {
                operation: "SendMessage",
                code: "NotConfigured".into(),
                message: format!("no continuation queue is configured (set {QUEUE_ENV})"),
            }));
        };
        queue.send(alert, part).await.map_err(EnforceError::Retryable)
    }

    /// The results the earlier parts of `alert`'s enforcement recorded (from the ledger), one list per part
    /// (a part's entries share their time), for the summary.
    pub(super) async fn earlier_parts(
        &self,
        budget: &str,
        alert: &str,
        since: &str,
    ) -> Result<Vec<Vec<ActionResult>>, EnforceError> {
        let ledger = self.ledger()?;
        let entries = ledger.history_of_budget(budget, Some(since)).await.map_err(ledger_error)?;
        let mut parts: Vec<(String, Vec<ActionResult>)> = Vec::new();
        for entry in entries.into_iter().filter(|e| e.trigger == alert && !e.dry_run) {
            let result = ActionResult::new(&entry.action, &entry.resource, ResultKind::from_recorded(&entry.result));
            match parts.last_mut() {
                Some((at, part)) if *at == entry.at => part.push(result),
                _ => parts.push((entry.at, vec![result])),
            }
        }
        Ok(parts.into_iter().map(|(_, part)| part).collect())
    }
}

/// One summary's results from every part, in the order the parts ran (the earlier parts' read back from the
/// ledger). A resource's results in one part stay together (`exemption-expired` then `done`); a later part's
/// results for the same action and resource replace an earlier part's only when those failed (a later part
/// sees the earlier parts' work as `already-stopped` and the like, which is not news).
pub(crate) fn merge(parts: Vec<Vec<ActionResult>>) -> Vec<ActionResult> {
    let mut merged: Vec<((String, String), Vec<ActionResult>)> = Vec::new();
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    for part in parts {
        let mut groups: Vec<((String, String), Vec<ActionResult>)> = Vec::new();
        let mut in_part: HashMap<(String, String), usize> = HashMap::new();
        for result in part {
            let key = (result.action.clone(), result.resource_arn.clone());
            match in_part.get(&key) {
                Some(&i) => groups[i].1.push(result),
                None => {
                    in_part.insert(key.clone(), groups.len());
                    groups.push((key, vec![result]));
                }
            }
        }
        for (key, group) in groups {
            match at.get(&key) {
                Some(&i) if merged[i].1.iter().any(|r| r.result.is_failed()) => merged[i].1 = group,
                Some(_) => {}
                None => {
                    at.insert(key.clone(), merged.len());
                    merged.push((key, group));
                }
            }
        }
    }
    merged.into_iter().flat_map(|(_, group)| group).collect()
}

#[cfg(test)]
mod tests {
    use super::super::report::ResultKind;
    use super::*;

    fn result(arn: &str, kind: ResultKind) -> ActionResult {
        ActionResult::new("stop-notebooks", arn, kind)
    }

    #[test]
    fn a_later_part_adds_new_results_and_mends_failures_but_does_not_recount_earlier_work() {
        let first = vec![
            result("arn:nb/a", ResultKind::ExemptionExpired { detail: "exemption expired 2026-11-30: x".into() }),
            result("arn:nb/a", ResultKind::Done),
            result("arn:nb/b", ResultKind::failed("StopNotebookInstance: ThrottlingException")),
        ];
        let second = vec![result("arn:nb/a", ResultKind::AlreadyStopped), result("arn:nb/b", ResultKind::Done)];
        let third = vec![
            result("arn:nb/a", ResultKind::AlreadyStopped),
            result("arn:nb/b", ResultKind::AlreadyStopped),
            result("arn:nb/c", ResultKind::Done),
        ];
        let merged = merge(vec![first, second, third]);
        let kinds: Vec<(&str, &str)> = merged.iter().map(|r| (r.resource_arn.as_str(), r.result.label())).collect();
        assert_eq!(
            kinds,
            [("arn:nb/a", "exemption-expired"), ("arn:nb/a", "done"), ("arn:nb/b", "done"), ("arn:nb/c", "done")]
        );
    }

    #[test]
    fn the_work_deadline_is_the_lambda_deadline_less_the_margin_or_now() {
        let far = SystemTime::now() + Duration::from_secs(300);
        let deadline = work_deadline(far);
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(270) && left > Duration::from_secs(260), "{left:?}");
        let soon = SystemTime::now() + Duration::from_secs(10);
        assert!(work_deadline(soon) <= Instant::now());
    }
}
