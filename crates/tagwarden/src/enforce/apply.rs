//! The budget-enforcer's handler: parse the event, plan, resolve the scope, fan out over the places it
//! acts in (see [`fanout`](super::fanout)), let each [`Actor`](super::actor::Actor) carry the plan's
//! actions out through the [`ACTIONS`](super::ACTIONS) table, record it in the [ledger](super::ledger), and
//! notify; `restore` and the tick are in `restore.rs`, plans (approval and grace) in `plans.rs`.
//!
//! Resources are found with the tagging API's `GetResources` (100 per page) and SageMaker list calls with
//! status filters; one describe per resource only where no list call tells what is needed (an endpoint's
//! instance counts, a user profile's execution role). Every action checks state first, treats
//! ResourceNotFound as done and runs with bounded concurrency.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::Value;
use tracing::{info, warn};

use aws_sdk_budgets::types::Budget;

use super::continuation::{self, ContinuationQueue, Part};
use super::ledger::{self, Claim, Journal, LedgerError, LedgerTable, PeriodKey};
use super::plan::{EnforcementPlan, plan_at, plan_enforcement};
use super::plans::{Origin, Planning, defers};
use super::report::Tally;
use super::report::{ActionResult, ResultKind};
use super::scope::{ResolvedScope, scope_of_budget};
use super::verify::{self, Unverified};
use super::{ContinuedReport, EnforceError, EnforcementOutcome, EnforcementReport};
use crate::aws::{AwsError, Clients, ResultExt};
use crate::cache::TtlCache;
use crate::event::budget::{BudgetAlert, BudgetEnvelope, BudgetEvent, check_alert_topic, parse_budget_envelope};
use crate::notice::Notice;
use crate::org::{ClientPool, MemberFunction, Organization};
use crate::policy::{BudgetRule, Policy, Scope};
use crate::pricing::PriceBook;
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
    /// The SNS topics alerts may come from (`TAGWARDEN_ALERT_TOPICS`); `None`: not checked (tests and
    /// library use; the Lambda and `replay` always set it).
    alert_topics: Option<Vec<String>>,
    /// Where an enforcement that outgrows its invocation sends its next part (`None`: it runs to its end).
    pub(super) continuation: Option<ContinuationQueue>,
    /// Where the idle schedule of an organization queues one message per place (the same queue; `None`: the
    /// schedule runs the idle rules itself).
    pub(super) idle_queue: Option<super::idle::fanout::IdleQueue>,
    /// The Price List client of the burn-rate guard (`None`: every part of an estimate is unpriced).
    pub(super) pricing: Option<Arc<PriceBook>>,
    /// CloudWatch, for the idle endpoint rules' `Invocations` (`None`: those rules are skipped).
    pub(super) cloudwatch: Option<aws_sdk_cloudwatch::Client>,
    /// Whether the deployment allows deleting endpoints (`AllowEndpointDeletion`): an idle rule that deletes
    /// is refused without it.
    pub(super) endpoint_deletion: bool,
}

/// How long a handled SNS message id is remembered: the Lambda's maximum event age (6 h).
const DEDUP_TTL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

impl BudgetEnforcer {
    /// An enforcer with these clients and policy.
    pub fn new(clients: Clients, policy: Arc<Policy>) -> Self {
        let region_account = tokio::sync::OnceCell::new();
        let handled = TtlCache::new(DEDUP_TTL, 1024);
        Self {
            clients,
            policy,
            region_account,
            handled,
            pool: None,
            ledger: None,
            alert_topics: None,
            continuation: None,
            idle_queue: None,
            pricing: None,
            cloudwatch: None,
            endpoint_deletion: false,
        }
    }

    /// Measures idle endpoints with this CloudWatch client (the idle rules' `GetMetricData`).
    pub fn with_cloudwatch(mut self, cloudwatch: aws_sdk_cloudwatch::Client) -> Self {
        self.cloudwatch = Some(cloudwatch);
        self
    }

    /// Whether the deployment allows deleting endpoints (idle rules with `then: delete`).
    pub fn with_endpoint_deletion(mut self, allowed: bool) -> Self {
        self.endpoint_deletion = allowed;
        self
    }

    /// Takes alerts only from these SNS topics: an alert from another topic, or one that names no topic
    /// (invoked directly), is rejected before any AWS call. Empty: every alert is rejected.
    pub fn with_alert_topics(mut self, topics: Vec<String>) -> Self {
        self.alert_topics = Some(topics);
        self
    }

    /// The same enforcer, recording in (and restoring from) this ledger.
    pub fn with_ledger(mut self, ledger: LedgerTable) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Hands what does not fit one invocation's deadline on to this queue (an enforcement that continues;
    /// needs the ledger).
    pub fn with_continuation(mut self, queue: ContinuationQueue) -> Self {
        self.continuation = Some(queue);
        self
    }

    /// Prices the burn-rate guard's estimates with this price book.
    pub fn with_pricing(mut self, pricing: Arc<PriceBook>) -> Self {
        self.pricing = Some(pricing);
        self
    }

    /// The ledger, or the error that says it is not configured (restore, tick).
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
        Self {
            region_account: tokio::sync::OnceCell::new_with(Some(home)),
            pool: Some(pool.clone()),
            ..Self::new(pool.home().clone(), policy)
        }
    }

    /// The Lambda's enforcer: for the organization configured in the environment ([`Organization::from_env`]),
    /// else for the central account alone; the policy is read with the central account's clients. Alerts are
    /// taken only from `TAGWARDEN_ALERT_TOPICS`, which must be set.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let table = std::env::var(ledger::TABLE_ENV).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            format!("{} is not set: the budget-enforcer records what it does in that DynamoDB table", ledger::TABLE_ENV)
        })?;
        let (enforcer, config) = match Organization::from_env(MemberFunction::BudgetEnforcer)? {
            None => {
                let clients = Clients::from_env().await;
                let config = crate::Config::load(&clients).await?;
                let ledger = LedgerTable::new(clients.dynamodb.client(), table);
                (Self::new(clients, Arc::new(config.policy.clone())).with_ledger(ledger), config)
            }
            Some(organization) => {
                let pool = ClientPool::from_env(organization, MemberFunction::BudgetEnforcer).await?;
                let config = crate::Config::load(pool.home()).await?;
                let ledger = LedgerTable::new(pool.home().dynamodb.client(), table);
                (Self::for_organization(pool, Arc::new(config.policy.clone())).with_ledger(ledger), config)
            }
        };
        // NOTE: the schedules' clients (Price List, CloudWatch, the continuation queue) share one configuration.
        let sdk = crate::aws::load_config().await;
        let pricing = Arc::new(PriceBook::from_config(&sdk));
        let deletion = std::env::var(super::idle::ENDPOINT_DELETION_ENV).is_ok_and(|v| v.trim() == "true");
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
        let enforcer = enforcer
            .with_alert_topics(config.required_alert_topics()?)
            .with_pricing(pricing)
            .with_cloudwatch(cloudwatch)
            .with_endpoint_deletion(deletion);
        Ok(match std::env::var(continuation::QUEUE_ENV).ok().filter(|url| !url.trim().is_empty()) {
            Some(url) => {
                let sqs = aws_sdk_sqs::Client::new(&sdk);
                let idle = super::idle::fanout::IdleQueue::new(sqs.clone(), url.clone());
                enforcer.with_continuation(ContinuationQueue::new(sqs, url)).with_idle_queue(idle)
            }
            None => enforcer,
        })
    }

    /// Handles one event (SNS budget or cost anomaly alert, or a `restore`, `tick`, `burn`, `idle` or `approve` command);
    /// `force_dry_run` changes nothing.
    ///
    /// With alert topics set ([`Self::with_alert_topics`]), an alert must come from one of them, through SNS:
    /// any other is bad input, refused before any AWS call. Commands arrive directly.
    ///
    /// SNS delivers at least once: a message this process has already handled (same `MessageId`) is
    /// skipped without any AWS call, and with a ledger the `MessageId` is claimed there first (a conditional
    /// put), so that of two instances handed the same message one acts. A retryable failure gives the claim
    /// back, so Lambda's retry runs in full.
    pub async fn handle(&self, event: &Value, force_dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        self.handle_until(event, force_dry_run, None).await
    }

    /// [`Self::handle`] with a deadline: with a continuation queue, an alert's enforcement stops starting
    /// work at `deadline` and hands the rest on ([`continuation`]); a `continue` message takes its part.
    pub async fn handle_until(
        &self,
        event: &Value,
        force_dry_run: bool,
        deadline: Option<Instant>,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let BudgetEnvelope { event: parsed, sns } = parse_budget_envelope(event)?;
        if let (Some(allowed), BudgetEvent::Alert(_) | BudgetEvent::Anomaly(_)) = (&self.alert_topics, &parsed) {
            check_alert_topic(sns.as_ref(), allowed)?;
        }
        let message_id = sns.as_ref().and_then(|s| s.message_id.as_deref()).filter(|_| !force_dry_run);
        if let Some(id) = message_id
            && self.handled.get(id).is_some()
        {
            let reason = format!("SNS message {} was already handled by this function", clip(id));
            info!(outcome = "skipped", reason = %reason, "handled");
            return Ok(EnforcementOutcome::Skipped { reason, alert: None });
        }
        let claim_name = match &parsed {
            BudgetEvent::Alert(alert) => Some(alert.budget_name.clone()),
            BudgetEvent::Anomaly(anomaly) => Some(super::anomaly::ledger_name(anomaly)),
            _ => None,
        };
        let claimed = match (&self.ledger, message_id, claim_name) {
            (Some(ledger), Some(id), Some(name)) => {
                match ledger.claim(id, &name, ledger::now()).await.map_err(ledger_error)? {
                    Claim::Claimed => Some((ledger, id)),
                    Claim::Done { at, outcome } => {
                        let reason = format!("SNS message {} was already handled at {at} ({outcome})", clip(id));
                        info!(outcome = "skipped", reason = %reason, "handled");
                        return Ok(EnforcementOutcome::Skipped { reason, alert: None });
                    }
                    Claim::Continued { part } => {
                        // NOTE: a redelivered alert whose enforcement continues: its part's message may be lost.
                        self.send_part(id, part).await?;
                        let reason =
                            format!("SNS message {} continues at part {part}; that part was sent again", clip(id));
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
        // NOTE: each kind's work is boxed: the handler's own future stays small (a pointer) however large one
        // kind's state machine grows, so no stack (a test thread's 2 MiB, a runtime worker's) overflows.
        let outcome = match parsed {
            BudgetEvent::Alert(alert) => {
                let part = Part::first(deadline.filter(|_| claimed.is_some() && self.continuation.is_some()));
                Box::pin(self.enforce_as(alert, Origin::Alert { trigger: message_id, part }, force_dry_run)).await
            }
            BudgetEvent::Anomaly(anomaly) => Box::pin(self.enforce_anomaly(*anomaly, message_id, force_dry_run)).await,
            BudgetEvent::Restore { budget } => Box::pin(self.restore(budget.as_deref(), force_dry_run)).await,
            BudgetEvent::Tick => Box::pin(self.tick(ledger::now(), force_dry_run)).await,
            BudgetEvent::Burn => Box::pin(self.enforce_burn(force_dry_run)).await,
            BudgetEvent::Idle => Box::pin(self.idle_tick(ledger::now(), force_dry_run)).await,
            BudgetEvent::IdleIn(place) => Box::pin(self.idle_place_at(&place, ledger::now(), force_dry_run)).await,
            BudgetEvent::Approve { plan } => Box::pin(self.approve(&plan, ledger::now(), force_dry_run)).await,
            BudgetEvent::Continue { alert, part } => {
                if force_dry_run {
                    let reason = format!("a dry run does not take part {part} of alert {}", clip(&alert));
                    return Ok(EnforcementOutcome::Skipped { reason, alert: None });
                }
                Box::pin(self.resume(&alert, part, deadline)).await
            }
        };
        let outcome = match claimed {
            // NOTE: a retryable failure gives the delivery back for Lambda's retry; anything else settles it.
            Some((ledger, id)) => self.settle_claim(ledger, id, 1, &event.to_string(), outcome).await?,
            None => outcome?,
        };
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
        self.handle_lambda_until(event, None).await
    }

    /// [`Self::handle_lambda`] with the invocation's work deadline (see [`continuation::work_deadline`]).
    pub async fn handle_lambda_until(
        &self,
        event: &Value,
        deadline: Option<Instant>,
    ) -> Result<EnforcementOutcome, EnforceError> {
        match self.handle_until(event, false, deadline).await {
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

    /// Acts on one alert as the policy says, after checking it against the budget's own record: the step
    /// comes from the lower of the alert's figure and the budget's (see [`verify`]); an alert the budget
    /// does not confirm is [`EnforcementOutcome::Unverified`]. A retryable failure after some actions were
    /// taken is an [`EnforceError::Incomplete`] listing them.
    /// `trigger` is the SNS `MessageId` the ledger records the alert's entries under (`replay` without one).
    pub async fn enforce(
        &self,
        alert: BudgetAlert,
        trigger: Option<&str>,
        force_dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        self.enforce_as(alert, Origin::Alert { trigger, part: Part::first(None) }, force_dry_run).await
    }

    /// Runs one part of an alert's enforcement (see [`continuation`]).
    pub(super) async fn enforce_part(
        &self,
        alert: BudgetAlert,
        trigger: Option<&str>,
        part: Part,
    ) -> Result<EnforcementOutcome, EnforceError> {
        self.enforce_as(alert, Origin::Alert { trigger, part }, false).await
    }

    /// [`Self::enforce`] for an alert, or for a plan being carried out (its targets only, no deferral).
    pub(super) async fn enforce_as(
        &self,
        alert: BudgetAlert,
        origin: Origin<'_>,
        force_dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let budgets = &self.policy.budgets;
        // NOTE: the alert's own claim first: one that asks for nothing needs no AWS call.
        let claimed = match plan_enforcement(&alert, budgets, force_dry_run) {
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
        let Some(account) = alert.account_id.clone() else {
            let reason = format!(
                "budget {:?}: the alert names no account, so the budget's own record cannot be read; refusing to act",
                alert.budget_name
            );
            return Ok(EnforcementOutcome::Skipped { reason, alert: Some(alert) });
        };
        let budget = match self.describe_budget(&account, &alert.budget_name).await {
            Ok(Some(budget)) => budget,
            Ok(None) => {
                let unverified = verify::missing(&alert);
                return self.unverified(alert, unverified, claimed.dry_run).await;
            }
            Err(err) if err.is_retryable() => return Err(EnforceError::Retryable(err)),
            Err(err) => {
                let reason = format!(
                    "budget {:?}: cannot read it ({err}): the alert cannot be verified; acting on nothing",
                    alert.budget_name
                );
                let unverified = Unverified { reason, budget_percent: None };
                return self.unverified(alert, unverified, claimed.dry_run).await;
            }
        };
        let period = verify::period_at(&budget, SystemTime::now());
        let verified = match verify::verify(&alert, &budget, rule, &period) {
            Ok(verified) => verified,
            Err(unverified) => return self.unverified(alert, unverified, claimed.dry_run).await,
        };
        let plan = match plan_at(&alert, verified.percent, budgets, force_dry_run) {
            Ok(plan) => plan,
            Err(reason) => return Ok(EnforcementOutcome::Skipped { reason, alert: Some(alert) }),
        };
        let (scope, accounts) = match self.resolve_scope(rule, &budget, &alert) {
            Ok(resolved) => resolved,
            Err(reason) => {
                return Ok(EnforcementOutcome::Skipped { reason, alert: Some(alert) });
            }
        };
        let mut scope_text = scope.describe(rule.scope == Scope::FromBudget);
        let mut tally = Tally::default();
        if let Origin::Alert { part, .. } = &origin
            && !force_dry_run
        {
            tally.deadline = part.deadline;
            tally.selected = part.selected.clone();
            tally.later_part = part.number > 1;
        }
        let period_key = PeriodKey { start: period.start.to_string(), end: period.end.to_string() };
        let trigger = match &origin {
            Origin::Alert { trigger, .. } => trigger.unwrap_or("replay").to_owned(),
            Origin::Plan { id, targets } => {
                tally.planned = Some(targets.clone());
                format!("plan:{id}")
            }
        };
        // NOTE: a forced dry run (replay --dry-run) is a what-if, not a decision of the enforcer: not recorded.
        let journal = self
            .ledger
            .as_ref()
            .filter(|_| !force_dry_run)
            .map(|table| Journal::new(table, &alert.budget_name, period_key.clone(), &trigger, plan.step));
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
        // NOTE: a later part carries out what the first part decided: it is never deferred again.
        if matches!(&origin, Origin::Alert { part, .. } if part.number == 1) && defers(rule, &plan) {
            let planning = Planning { rule, scope: &scope, accounts: &accounts, places, scope_text, period_key };
            return self.defer(alert, plan, planning, verified.budget_percent, period, &trigger).await;
        }
        let clock = Instant::now();
        self.act_everywhere(rule, &scope, &alert, &plan, journal, &accounts, places, &mut tally).await?;
        let acted = clock.elapsed();
        let mut parts = match &origin {
            Origin::Alert { part: Part { number: 2.., since: Some(since), .. }, .. } if !tally.unfinished => {
                self.earlier_parts(&alert.budget_name, &trigger, since).await?
            }
            _ => Vec::new(),
        };
        let read = clock.elapsed() - acted;
        if let Some(journal) = journal {
            let entries = journal.entries(&tally.results, plan.dry_run, ledger::now());
            journal.table.record(&entries).await.map_err(|err| incomplete(err.into_aws(), tally.results.clone()))?;
        }
        // NOTE: where an invocation's time went: the work window, then its tail (reading the earlier parts,
        // recording), which must stay well inside the margin the deadline keeps.
        let recorded = clock.elapsed() - acted - read;
        info!(
            acted_ms = acted.as_millis(),
            earlier_parts_ms = read.as_millis(),
            recorded_ms = recorded.as_millis(),
            results = tally.results.len(),
            "enforcement timing"
        );
        let unfinished = tally.unfinished;
        let mut report = EnforcementReport {
            alert,
            plan,
            scope: scope_text,
            budget_percent: Some(verified.budget_percent),
            period: Some(period),
            results: if parts.is_empty() {
                tally.results
            } else {
                parts.push(tally.results);
                continuation::merge(parts)
            },
            notified: false,
            anomaly: None,
            throttled: tally.throttled,
        };
        if let (true, Origin::Alert { part, .. }) = (unfinished, &origin) {
            // NOTE: the summary waits for the last part, which sends it once with every part's results.
            let (part, next, selected) = (part.number, part.number + 1, tally.selected);
            return Ok(EnforcementOutcome::Continued(ContinuedReport { part, next, report, selected }));
        }
        if report.plan.actions.iter().any(|a| a.is_notice()) && !report.plan.dry_run {
            report.notified =
                self.notify(&report, &scope).await.map_err(|err| incomplete(err, report.results.clone()))?;
        }
        Ok(EnforcementOutcome::of_report(report))
    }

    /// Carries out the plan in every place: the central account (single-account deployment) or each
    /// reachable (account, region). A retryable failure is an [`EnforceError::Incomplete`] with the results.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn act_everywhere(
        &self,
        rule: &BudgetRule,
        scope: &ResolvedScope,
        alert: &BudgetAlert,
        plan: &EnforcementPlan,
        journal: Option<&Journal<'_>>,
        accounts: &[String],
        places: Vec<(String, Vec<String>)>,
        tally: &mut Tally,
    ) -> Result<(), EnforceError> {
        if self.pool.is_none() && accounts.is_empty() {
            // The single-account deployment: the central clients, as before organizations.
            let actor = self.central_actor();
            let acted = actor.act(rule, scope, alert, plan, journal, tally).await;
            tally.throttled += actor.pace.throttled();
            if let Err(err) = acted {
                // NOTE: a listing that failed after earlier actions were carried out: report those too.
                return Err(self.incomplete(journal, plan.dry_run, err, std::mem::take(&mut tally.results)).await);
            }
        }
        for (account, regions) in self.reachable(places, tally).await {
            for region in regions {
                if tally.out_of_time() {
                    break;
                }
                let actor = self.actor(&account, &region);
                let acted = actor.act(rule, scope, alert, plan, journal, tally).await;
                tally.throttled += actor.pace.throttled();
                if let Err(err) = acted {
                    if !accounts.is_empty() && actor.account != self.home_account().await.unwrap_or_default() {
                        // NOTE: one member account failing does not stop the others; a retry redoes all (idempotent).
                        let place = format!("account {account} region {region}");
                        tally.record("act", &place, Err(err), ResultKind::Done);
                        continue;
                    }
                    // NOTE: a listing that failed after earlier actions were carried out: report those too.
                    return Err(self.incomplete(journal, plan.dry_run, err, std::mem::take(&mut tally.results)).await);
                }
            }
        }
        if let Some(err) = tally.retryable.take() {
            return Err(self.incomplete(journal, plan.dry_run, err, std::mem::take(&mut tally.results)).await);
        }
        Ok(())
    }

    /// The budget's own record, read once per alert: `None` when it does not exist (NotFound).
    async fn describe_budget(&self, account: &str, name: &str) -> Result<Option<Budget>, AwsError> {
        let described = self
            .clients
            .budgets
            .describe_budget()
            .account_id(account)
            .budget_name(name)
            .send()
            .await
            .aws("DescribeBudget");
        match described {
            Ok(out) => Ok(out.budget),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// An alert the budget's own record does not confirm: nothing is done, one notice names both figures
    /// (none under a dry run; a missing notification topic is fine).
    async fn unverified(
        &self,
        alert: BudgetAlert,
        unverified: Unverified,
        dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        warn!(budget = %clip(&alert.budget_name), reason = %clip(&unverified.reason), "unverified alert; nothing done");
        let notified = if dry_run {
            false
        } else {
            self.publish(&verify::notice(&alert, &unverified)).await.map_err(EnforceError::Retryable)?
        };
        Ok(EnforcementOutcome::Unverified {
            reason: unverified.reason,
            alert_percent: alert.percent_of_budget,
            budget_percent: unverified.budget_percent,
            alert,
            notified,
        })
    }

    /// The rule's scope, from the described `budget` for `scope: from-budget`; `Err` is the reason to refuse
    /// acting (no resolvable scope).
    fn resolve_scope(
        &self,
        rule: &BudgetRule,
        budget: &Budget,
        alert: &BudgetAlert,
    ) -> Result<(ResolvedScope, Vec<String>), String> {
        match &rule.scope {
            Scope::Account => Ok((ResolvedScope::Account, vec![])),
            Scope::Tags(tags) => {
                Ok((ResolvedScope::Tags(vec![tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()]), vec![]))
            }
            Scope::FromBudget => scope_of_budget(Some(budget), &alert.budget_name),
        }
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
    async fn notify(&self, report: &EnforcementReport, scope: &ResolvedScope) -> Result<bool, AwsError> {
        self.publish(&super::report::notice(report, &scope.certain_tags())).await
    }

    /// Publishes one message to the notification topic; a missing topic or a refused publish is not an
    /// error (returns false, logged), a retryable failure is.
    pub(super) async fn publish(&self, notice: &Notice) -> Result<bool, AwsError> {
        let Some(topic) = self.policy.budgets.notify_topic_arn.as_deref() else {
            return Ok(false);
        };
        match crate::notice::publish(&self.clients.sns, topic, notice).await {
            Ok(_) => Ok(true),
            Err(err) if err.is_retryable() => Err(err),
            Err(err) => {
                warn!(error = %clip(&err.to_string()), "notification not sent");
                Ok(false)
            }
        }
    }
}
