//! The budget-enforcer's handler: parse the event, plan, resolve the scope, fan out over the places it
//! acts in (see [`fanout`](super::fanout)), let each [`Actor`](super::actor::Actor) carry the plan's
//! actions out through the [`ACTIONS`](super::ACTIONS) table, notify, and undo on `restore`.
//!
//! Resources are found with the tagging API's `GetResources` (100 per page) and SageMaker list calls with
//! status filters; one describe per resource only where no list call tells what is needed (an endpoint's
//! instance counts, a user profile's execution role). Every action checks state first, treats
//! ResourceNotFound as done and runs with bounded concurrency.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use tracing::{info, warn};

use super::ledger::{self, Claim, Journal, LedgerError, LedgerTable, PeriodKey};
use super::plan::plan_enforcement;
use super::report::Tally;
use super::report::{ActionResult, ResultKind, summary};
use super::scope::{ResolvedScope, scope_of_budget};
use super::{EnforceError, EnforcementOutcome, EnforcementReport};
use crate::aws::{AwsError, Clients, ResultExt};
use crate::cache::TtlCache;
use crate::event::budget::{BudgetAlert, BudgetEnvelope, BudgetEvent, parse_budget_envelope};
use crate::org::{ClientPool, Organization};
use crate::policy::{Action, BudgetRule, Policy, Scope};
use crate::telemetry::clip;

/// A retryable failure with the results recorded before it, logged with the failures' resources.
fn incomplete(err: AwsError, results: Vec<ActionResult>) -> EnforceError {
    let failed: Vec<&str> = results.iter().filter(|r| r.result.is_failed()).map(|r| r.resource_arn.as_str()).collect();
    let done = results.iter().filter(|r| r.result.is_done()).count();
    // NOTE: the log names the first few failures; the error (and Lambda's failure record) lists them all.
    let first: Vec<String> = failed.iter().take(10).map(|arn| clip(arn)).collect();
    warn!(error = %clip(&err.to_string()), done, failed = failed.len(), first_failed = ?first, "retryable failures remain; the alert will be retried");
    EnforceError::retryable(err, results)
}

/// A ledger failure as the handler reports it: retryable when DynamoDB throttled or was unavailable, else
/// a failure that says what is wrong (a missing table).
pub(super) fn ledger_error(err: LedgerError) -> EnforceError {
    EnforceError::Retryable(err.into_aws())
}

/// The budget-enforcer: policy and clients, built once per process.
#[derive(Debug)]
pub struct BudgetEnforcer {
    /// The central account's clients.
    pub(super) clients: Clients,
    /// The policy.
    pub(super) policy: Arc<Policy>,
    /// `<region>:<account>`, read once with STS GetCallerIdentity.
    pub(super) region_account: tokio::sync::OnceCell<String>,
    /// SNS messages already handled by this process: a re-delivery is skipped, not enforced again.
    handled: TtlCache<()>,
    /// Organization scale: clients for member accounts and regions (`None`: the central account only).
    pub(super) pool: Option<ClientPool>,
    /// The enforcement ledger (`None`: nothing is recorded, so nothing can be restored; tests only).
    pub(super) ledger: Option<LedgerTable>,
}

/// How long a handled SNS message id is remembered: the Lambda's maximum event age (6 h).
const DEDUP_TTL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

impl BudgetEnforcer {
    /// An enforcer with these clients and policy.
    pub fn new(clients: Clients, policy: Arc<Policy>) -> Self {
        let region_account = tokio::sync::OnceCell::new();
        Self { clients, policy, region_account, handled: TtlCache::new(DEDUP_TTL, 1024), pool: None, ledger: None }
    }

    /// The same enforcer, recording in (and restoring from) this ledger.
    pub fn with_ledger(mut self, ledger: LedgerTable) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// The ledger, or the error that says it is not configured (restore, approve).
    pub(super) fn ledger(&self) -> Result<&LedgerTable, EnforceError> {
        self.ledger.as_ref().ok_or_else(|| {
            EnforceError::Retryable(AwsError::Rejected {
                operation: "EnforcementLedger",
                code: "NotConfigured".into(),
                message: format!("no enforcement ledger is configured (set {})", ledger::TABLE_ENV),
            })
        })
    }

    /// An enforcer for an organization: the central account's clients are the pool's own; a budget that
    /// filters by linked accounts is enforced in each of them (and in each of the organization's regions)
    /// with the member role.
    /// When membership comes from AWS Organizations, restore visits the accounts the pool's client lists.
    pub fn for_organization(pool: ClientPool, policy: Arc<Policy>) -> Self {
        let home = format!("{}:{}", pool.home_region(), pool.home_account());
        let region_account = tokio::sync::OnceCell::new_with(Some(home));
        let clients = pool.home().clone();
        let handled = TtlCache::new(DEDUP_TTL, 1024);
        Self { clients, policy, region_account, handled, pool: Some(pool), ledger: None }
    }

    /// The Lambda's enforcer: for the organization configured in the environment ([`Organization::from_env`]),
    /// else for the central account alone; the policy is read with the central account's clients.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let table = std::env::var(ledger::TABLE_ENV).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            format!("{} is not set: the budget-enforcer records what it does in that DynamoDB table", ledger::TABLE_ENV)
        })?;
        let Some(organization) = Organization::from_env()? else {
            let clients = Clients::from_env().await;
            let config = crate::Config::load(&clients).await?;
            let ledger = LedgerTable::new(clients.dynamodb.clone(), table);
            return Ok(Self::new(clients, Arc::new(config.policy)).with_ledger(ledger));
        };
        let pool = ClientPool::from_env(organization, "budget-enforcer").await?;
        let config = crate::Config::load(pool.home()).await?;
        let ledger = LedgerTable::new(pool.home().dynamodb.clone(), table);
        Ok(Self::for_organization(pool, Arc::new(config.policy)).with_ledger(ledger))
    }

    /// Handles one event (SNS budget alert or restore command); `force_dry_run` changes nothing.
    ///
    /// SNS delivers at least once: a message this process has already handled (same `MessageId`) is
    /// skipped without any AWS call. A failed attempt is not remembered, so Lambda's retry runs in full.
    pub async fn handle(&self, event: &Value, force_dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let BudgetEnvelope { event: parsed, sns } = parse_budget_envelope(event)?;
        let message_id = sns.as_ref().and_then(|s| s.message_id.as_deref()).filter(|_| !force_dry_run);
        if let Some(id) = message_id
            && self.handled.get(id).is_some()
        {
            let reason = format!("SNS message {} was already handled by this function", clip(id));
            info!(outcome = "skipped", reason = %reason, "handled");
            return Ok(EnforcementOutcome::Skipped { reason, alert: None });
        }
        let claimed = match (&self.ledger, message_id, &parsed) {
            (Some(ledger), Some(id), BudgetEvent::Alert(alert)) => {
                match ledger.claim(id, &alert.budget_name, ledger::now()).await.map_err(ledger_error)? {
                    Claim::Claimed => Some((ledger, id)),
                    Claim::Done { at, outcome } => {
                        let reason = format!("SNS message {} was already handled at {at} ({outcome})", clip(id));
                        info!(outcome = "skipped", reason = %reason, "handled");
                        return Ok(EnforcementOutcome::Skipped { reason, alert: None });
                    }
                    Claim::InProgress { at } => {
                        let reason =
                            format!("SNS message {} is being handled by another invocation (since {at})", clip(id));
                        info!(outcome = "skipped", reason = %reason, "handled");
                        return Ok(EnforcementOutcome::Skipped { reason, alert: None });
                    }
                }
            }
            _ => None,
        };
        let outcome = match parsed {
            BudgetEvent::Alert(alert) => self.enforce(alert, message_id, force_dry_run).await,
            BudgetEvent::Restore { budget } => self.restore(budget.as_deref(), force_dry_run).await,
            BudgetEvent::Tick => self.tick(ledger::now(), force_dry_run).await,
            BudgetEvent::Approve { plan } => Err(EnforceError::BadInput(crate::event::budget::AlertError::BadCommand(
                format!("no pending plan {plan:?}"),
            ))),
        };
        if let Some((ledger, id)) = claimed {
            // NOTE: a retryable failure gives the delivery back for Lambda's retry; anything else settles it.
            let settled = match &outcome {
                Ok(outcome) => ledger.settle(id, outcome.label()).await,
                Err(err) if err.is_retryable() => ledger.release(id).await,
                Err(_) => ledger.settle(id, "failed").await,
            };
            if let Err(err) = settled {
                warn!(error = %clip(&err.to_string()), "the delivery's claim was not updated");
            }
        }
        let outcome = outcome?;
        if let Some(id) = message_id {
            self.handled.insert(id.to_owned(), ());
        }
        info!(outcome = outcome.label(), "handled");
        Ok(outcome)
    }

    /// The Lambda entry: bad input becomes a `rejected` outcome and a refused AWS call (e.g. access denied)
    /// a `failed` one, both logged as errors, instead of an `Err`: an `Err` makes Lambda retry, and
    /// retrying cannot fix them.
    pub async fn handle_lambda(&self, event: &Value) -> Result<EnforcementOutcome, EnforceError> {
        match self.handle(event, false).await {
            Err(EnforceError::BadInput(err)) => {
                tracing::error!(error = %clip(&err.to_string()), "not a budget alert; not retried");
                Ok(EnforcementOutcome::Rejected { error: err.to_string() })
            }
            Err(err) if !err.is_retryable() => {
                tracing::error!(error = %clip(&err.to_string()), "failed; retrying will not help, not retried");
                Ok(EnforcementOutcome::Failed { error: err.to_string() })
            }
            other => other,
        }
    }

    /// Acts on one alert as the policy says. A retryable failure after some actions were taken is an
    /// [`EnforceError::Incomplete`] listing them.
    /// `trigger` is the SNS `MessageId` the ledger records the alert's entries under (`replay` without one).
    pub async fn enforce(
        &self,
        alert: BudgetAlert,
        trigger: Option<&str>,
        force_dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let budgets = &self.policy.budgets;
        let plan = match plan_enforcement(&alert, budgets, force_dry_run) {
            Ok(plan) => plan,
            Err(reason) => {
                return Ok(EnforcementOutcome::Skipped { reason, alert: Some(alert) });
            }
        };
        let Some(rule) = budgets.rule_for(&alert.budget_name) else {
            return Ok(EnforcementOutcome::Skipped {
                reason: format!("no budget rule matches budget {:?}", alert.budget_name),
                alert: Some(alert),
            });
        };
        let (scope, accounts) = match self.resolve_scope(rule, &alert).await.map_err(EnforceError::Retryable)? {
            Ok(resolved) => resolved,
            Err(reason) => {
                return Ok(EnforcementOutcome::Skipped { reason, alert: Some(alert) });
            }
        };
        let mut scope_text = scope.describe(rule.scope == Scope::FromBudget);
        let mut tally = Tally::default();
        let period = PeriodKey::month_of(ledger::now());
        // NOTE: a forced dry run (replay --dry-run) is a what-if, not a decision of the enforcer: not recorded.
        let journal = self
            .ledger
            .as_ref()
            .filter(|_| !force_dry_run)
            .map(|table| Journal::new(table, &alert.budget_name, period, trigger.unwrap_or("replay"), plan.step));
        let journal = journal.as_ref();
        let places = match (&self.pool, accounts.is_empty()) {
            (None, true) => vec![],
            _ => self.places(&accounts).await.map_err(EnforceError::Retryable)?,
        };
        if !accounts.is_empty() {
            let regions: BTreeSet<&str> = places.iter().flat_map(|(_, r)| r.iter().map(String::as_str)).collect();
            let regions: Vec<&str> = regions.into_iter().collect();
            scope_text = format!("{scope_text} in accounts {} (regions {})", accounts.join(", "), regions.join(", "));
        }
        if self.pool.is_none() && accounts.is_empty() {
            // The single-account deployment: the central clients, as before organizations.
            if let Err(err) = self.central_actor().act(rule, &scope, &alert, &plan, journal, &mut tally).await {
                // NOTE: a listing that failed after earlier actions were carried out: report those too.
                return Err(self.incomplete(journal, plan.dry_run, err, tally.results).await);
            }
        }
        for (account, regions) in self.reachable(places, &mut tally).await {
            for region in regions {
                let actor = self.actor(&account, &region);
                if let Err(err) = actor.act(rule, &scope, &alert, &plan, journal, &mut tally).await {
                    if !accounts.is_empty() && actor.account != self.home_account().await.unwrap_or_default() {
                        // NOTE: one member account failing does not stop the others; a retry redoes all (idempotent).
                        let place = format!("account {account} region {region}");
                        tally.record("act", &place, Err(err), ResultKind::Done);
                        continue;
                    }
                    // NOTE: a listing that failed after earlier actions were carried out: report those too.
                    return Err(self.incomplete(journal, plan.dry_run, err, tally.results).await);
                }
            }
        }
        if let Some(err) = tally.retryable {
            return Err(self.incomplete(journal, plan.dry_run, err, tally.results).await);
        }
        if let Some(journal) = journal {
            let entries = journal.entries(&tally.results, plan.dry_run, ledger::now());
            journal.table.record(&entries).await.map_err(|err| incomplete(err.into_aws(), tally.results.clone()))?;
        }
        let mut report = EnforcementReport { alert, plan, scope: scope_text, results: tally.results, notified: false };
        if report.plan.actions.contains(&Action::Notify) && !report.plan.dry_run {
            report.notified = self.notify(&report).await.map_err(|err| incomplete(err, report.results.clone()))?;
        }
        Ok(if report.plan.dry_run {
            EnforcementOutcome::DryRun(report)
        } else if report.plan.actions.iter().all(|a| *a == Action::Notify) {
            EnforcementOutcome::Notified(report)
        } else {
            EnforcementOutcome::Enforced(report)
        })
    }

    /// The rule's scope; `Err` is the reason to refuse acting (no resolvable scope).
    async fn resolve_scope(
        &self,
        rule: &BudgetRule,
        alert: &BudgetAlert,
    ) -> Result<Result<(ResolvedScope, Vec<String>), String>, AwsError> {
        Ok(match &rule.scope {
            Scope::Account => Ok((ResolvedScope::Account, vec![])),
            Scope::Tags(tags) => {
                Ok((ResolvedScope::Tags(vec![tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()]), vec![]))
            }
            Scope::FromBudget => {
                let Some(account) = alert.account_id.as_deref() else {
                    return Ok(Err(format!(
                        "budget {:?}: the alert names no account, so its cost filters cannot be read; refusing to act on the whole account",
                        alert.budget_name
                    )));
                };
                let described = self
                    .clients
                    .budgets
                    .describe_budget()
                    .account_id(account)
                    .budget_name(&alert.budget_name)
                    .send()
                    .await
                    .aws("DescribeBudget");
                match described {
                    Ok(out) => scope_of_budget(out.budget(), &alert.budget_name),
                    Err(err) if err.is_retryable() => return Err(err),
                    Err(err) => Err(format!(
                        "budget {:?}: cannot read its cost filters ({err}); refusing to act on the whole account",
                        alert.budget_name
                    )),
                }
            }
        })
    }

    /// A retryable failure with the results so far, which go in the ledger first (best effort: the retry
    /// records them again).
    async fn incomplete(
        &self,
        journal: Option<&Journal<'_>>,
        dry_run: bool,
        err: AwsError,
        results: Vec<ActionResult>,
    ) -> EnforceError {
        if let Some(journal) = journal
            && let Err(failed) = journal.table.record(&journal.entries(&results, dry_run, ledger::now())).await
        {
            warn!(error = %clip(&failed.to_string()), "the partial enforcement's entries were not recorded");
        }
        incomplete(err, results)
    }

    /// Publishes the summary; a missing topic is not an error (returns false).
    async fn notify(&self, report: &EnforcementReport) -> Result<bool, AwsError> {
        let Some(topic) = self.policy.budgets.notify_topic_arn.as_deref() else {
            return Ok(false);
        };
        let (subject, message) = summary(report);
        let sent =
            self.clients.sns.publish().topic_arn(topic).subject(subject).message(message).send().await.aws("Publish");
        match sent {
            Ok(_) => Ok(true),
            Err(err) if err.is_retryable() => Err(err),
            Err(err) => {
                warn!(error = %clip(&err.to_string()), "enforcement summary not sent");
                Ok(false)
            }
        }
    }
}
