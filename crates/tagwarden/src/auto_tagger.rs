//! The auto-tagger Lambda's handler, built once at cold start: one account ([`AutoTagger`]) or a whole
//! organization ([`OrgTagger`]), and the scheduled sweep of the estate: in one invocation, or, with a sweep
//! queue ([`SweepQueue`]), fanned out as one SQS message per page over every account and region.
//!
//! NOTE: the event arrives as JSON (`Value`), not as `LambdaEvent<EventBridgeEvent<_>>`: a typed payload would
//! make the runtime refuse a malformed event before the handler, as a Lambda error that is retried and ends in
//! the dead-letter queue. The envelope is read through `aws_lambda_events`' `EventBridgeEvent` in
//! [`crate::event::cloudtrail`], after a lenient first look, so bad input becomes a skip with a reason.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::aws::{AwsError, ResultExt};
use crate::enforce::ledger::{LedgerTable, TABLE_ENV};
use crate::org::{AccessError, ClientPool, MemberFunction, Organization};
use crate::sweep::queue::{SqsRecord, run_id, sqs_records};
use crate::sweep::worker::{
    BatchReport, PAGE_SIZE_ENV, Places, QUEUE_ENV, SweepQueue, TYPES_ENV, Unreachable, instant_of,
};
use crate::sweep::{self, EventHistory, Lister};
use crate::tagging::org::OrgTagger;
use crate::tagging::{AutoTagger, Outcome, RetryableError, TaggerSettings};
use crate::{Clients, Config};

/// Everything the auto-tagger function keeps between invocations.
#[derive(Debug)]
pub struct AutoTaggerFunction {
    tagger: Tagger,
    /// Lists the central account's estate for the scheduled sweep.
    lister: Lister,
    /// The queued sweep (`TAGWARDEN_SWEEP_QUEUE_URL`); `None`: a schedule sweeps in one invocation.
    queue: Option<SweepQueue>,
    /// The central account, asked of STS once (single-account deployments).
    home_account: OnceCell<String>,
}

/// Where events are tagged: this account, or the account each event came from.
#[derive(Debug)]
enum Tagger {
    Account(Arc<AutoTagger>),
    Organization(Box<OrgTagger>),
}

/// `settings` with the ledger `TAGWARDEN_LEDGER_TABLE` names (through `home`, the central account's clients).
fn with_ledger(mut settings: TaggerSettings, home: &Clients) -> TaggerSettings {
    let table = std::env::var(TABLE_ENV).ok().filter(|t| !t.trim().is_empty());
    settings.ledger = table.map(|table| LedgerTable::new(home.dynamodb.client(), table));
    settings
}

/// The sweep queue the environment names (`TAGWARDEN_SWEEP_QUEUE_URL`, `TAGWARDEN_SWEEP_PAGE_SIZE`,
/// `TAGWARDEN_SWEEP_TYPES`), kept in `ledger`; a queue without a ledger is refused (pages could not be
/// handled once).
async fn queue_from_env(ledger: Option<&LedgerTable>) -> Result<Option<SweepQueue>, String> {
    let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let Some(url) = var(QUEUE_ENV) else { return Ok(None) };
    let ledger = ledger.ok_or_else(|| format!("{QUEUE_ENV} is set: the queued sweep needs {TABLE_ENV} too"))?;
    let config = crate::aws::load_config().await;
    let mut queue = SweepQueue::new(aws_sdk_sqs::Client::new(&config), url, ledger.clone());
    if let Some(size) = var(PAGE_SIZE_ENV) {
        let size: i32 = size.parse().ok().filter(|s| (1..=100).contains(s)).ok_or_else(|| {
            format!("environment variable {PAGE_SIZE_ENV}: {size:?} is not a page size from 1 to 100")
        })?;
        queue = queue.with_page_size(size);
    }
    if let Some(types) = var(TYPES_ENV) {
        queue = queue
            .with_kinds(sweep::kinds_named(&[types]).map_err(|e| format!("environment variable {TYPES_ENV}: {e}"))?);
    }
    Ok(Some(queue))
}

impl AutoTaggerFunction {
    /// Reads the configuration and builds the clients; with `TAGWARDEN_ORGANIZATION_ACCOUNTS` set, member
    /// accounts are reached through the member role. An invalid policy or setting fails here, at cold start.
    ///
    /// With `TAGWARDEN_LEDGER_TABLE` set, the last known values of the tag sources are kept in that table (the
    /// central account's, in an organization too); unset, a tampered source is restored from its own sources.
    /// With `TAGWARDEN_SWEEP_QUEUE_URL` set too, the scheduled sweep goes through that queue.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let Some(organization) = Organization::from_env(MemberFunction::AutoTagger)? else {
            let sdk_config = crate::aws::load_config().await;
            let clients = Clients::new(&sdk_config);
            let config = Config::load(&clients).await?;
            let settings = with_ledger(config.tagger, &clients);
            let queue = queue_from_env(settings.ledger.as_ref()).await?;
            let tagger = AutoTagger::new(clients.clone(), config.policy.into(), &settings);
            let lister = Lister::new(clients).with_history(EventHistory::new(&sdk_config));
            return Ok(Self::for_account(tagger, lister).with_queue(queue));
        };
        let pool = ClientPool::from_env(organization, MemberFunction::AutoTagger).await?;
        let config = Config::load(pool.home()).await?;
        // NOTE: the in-invocation sweep covers the central account; its history is that account's.
        let history = EventHistory::new(&crate::aws::load_config().await);
        let lister = Lister::new(pool.home().clone()).with_history(history);
        let settings = with_ledger(config.tagger, pool.home());
        let queue = queue_from_env(settings.ledger.as_ref()).await?;
        let tagger = OrgTagger::new(pool, config.policy.into(), &settings);
        Ok(Self::for_organization(tagger, lister).with_queue(queue))
    }

    /// A single-account function: events tagged by `tagger`, the in-invocation sweep listed by `lister`.
    pub fn for_account(tagger: AutoTagger, lister: Lister) -> Self {
        Self { tagger: Tagger::Account(Arc::new(tagger)), lister, queue: None, home_account: OnceCell::new() }
    }

    /// An organization's function: events tagged where they came from; the in-invocation sweep lists with
    /// `lister` (the central account).
    pub fn for_organization(tagger: OrgTagger, lister: Lister) -> Self {
        Self { tagger: Tagger::Organization(Box::new(tagger)), lister, queue: None, home_account: OnceCell::new() }
    }

    /// The same function sweeping through `queue` (when there is one).
    pub fn with_queue(mut self, queue: Option<SweepQueue>) -> Self {
        self.queue = queue;
        self
    }

    /// One invocation: an SQS event is sweep pages (the partial batch response comes back); a schedule
    /// enqueues the sweep's first pages (with a queue) or sweeps the central account until `deadline`;
    /// anything else is an event, handled in the account and region it came from. `Err` only for retryable
    /// failures.
    pub async fn handle(&self, event: &Value, deadline: Option<SystemTime>) -> Result<Value, RetryableError> {
        if let Some(report) = self.sweep_pages(event, deadline).await {
            return Ok(report.response());
        }
        if sqs_records(event).is_some() {
            let reason = format!("an SQS event, but no sweep queue is configured ({QUEUE_ENV})");
            return Ok(serde_json::to_value(Outcome::skipped(reason, None, None)).unwrap_or(Value::Null));
        }
        if let Some(queue) = &self.queue
            && sweep::is_schedule(event)
        {
            return self.seed(queue, event).await;
        }
        match &self.tagger {
            Tagger::Account(tagger) => sweep::handle_event(tagger, &self.lister, event, deadline).await,
            Tagger::Organization(org) if sweep::is_schedule(event) => {
                sweep::handle_event(org.home(), &self.lister, event, deadline).await
            }
            Tagger::Organization(org) => {
                let outcome = org.handle(event).await?;
                Ok(serde_json::to_value(outcome).unwrap_or(Value::Null))
            }
        }
    }

    /// The sweep pages of an SQS event, handled: what [`Self::handle`] answers with, record by record
    /// (each resource's outcome included). `None` when the event is not SQS's or no queue is configured.
    pub async fn sweep_pages(&self, event: &Value, deadline: Option<SystemTime>) -> Option<BatchReport> {
        let records: Vec<SqsRecord> = sqs_records(event)?;
        let queue = self.queue.as_ref()?;
        let places = Reach { function: self, page_size: queue.page_size() };
        Some(queue.handle_batch(&places, records, instant_of(deadline)).await)
    }

    /// The schedule with a queue: the run's first pages, one per account × region × type.
    async fn seed(&self, queue: &SweepQueue, event: &Value) -> Result<Value, RetryableError> {
        let run = run_id(event, &crate::enforce::ledger::timestamp(crate::enforce::ledger::now()));
        let seeded = match self.sweep_places().await {
            Ok(places) => queue.seed(&run, &places).await,
            Err(err) => Err(err),
        };
        match seeded {
            Ok(report) => {
                tracing::info!(run = %report.run, messages = report.messages, "queued sweep seeded");
                Ok(serde_json::json!({ "outcome": "queued", "seed": report }))
            }
            Err(err) if err.is_retryable() => Err(err.into()),
            Err(err) => Ok(serde_json::json!({ "outcome": "failed", "run": run, "reason": err.to_string() })),
        }
    }

    /// Every (account, regions) the queued sweep covers: the organization's accounts (the static list, or AWS
    /// Organizations' active accounts) and the central one, each in the organization's regions (none
    /// configured: the central region); a single account in its own region.
    pub async fn sweep_places(&self) -> Result<Vec<(String, Vec<String>)>, AwsError> {
        let home_region = self.lister.clients().region().unwrap_or_default().to_owned();
        let Tagger::Organization(org) = &self.tagger else {
            return Ok(vec![(self.home_account().await?, vec![home_region])]);
        };
        let pool = org.pool();
        let organization = pool.organization();
        let regions = if organization.regions.is_empty() {
            vec![pool.home_region().to_owned()]
        } else {
            organization.regions.clone()
        };
        let accounts = pool.accounts().await?;
        Ok(accounts.into_iter().map(|account| (account, regions.clone())).collect())
    }

    /// The central account, from the organization's pool or STS (once).
    async fn home_account(&self) -> Result<String, AwsError> {
        if let Tagger::Organization(org) = &self.tagger {
            return Ok(org.pool().home_account().to_owned());
        }
        let sts = &self.lister.clients().sts;
        let account = self
            .home_account
            .get_or_try_init(|| async {
                let identity = sts.get_caller_identity().send().await.aws("GetCallerIdentity")?;
                Ok::<_, AwsError>(identity.account().unwrap_or_default().to_owned())
            })
            .await?;
        Ok(account.clone())
    }
}

/// The function as the queued sweep's [`Places`]: the organization's tagger of each account and region, or
/// the single account's own.
struct Reach<'a> {
    function: &'a AutoTaggerFunction,
    page_size: i32,
}

impl Places for Reach<'_> {
    async fn reach(&self, account: &str, region: &str) -> Result<(Arc<AutoTagger>, Lister), Unreachable> {
        match &self.function.tagger {
            Tagger::Organization(org) => match org.tagger_in(account, region).await {
                Ok(tagger) => {
                    let lister = Lister::new(org.pool().clients(account, region)).with_page_size(self.page_size);
                    Ok((tagger, lister))
                }
                Err(AccessError::Retryable(err)) => Err(Unreachable::Retryable(err)),
                Err(refused) => Err(Unreachable::Refused(refused.to_string())),
            },
            Tagger::Account(tagger) => {
                let home = match self.function.home_account().await {
                    Ok(home) => home,
                    Err(err) if err.is_retryable() => return Err(Unreachable::Retryable(err)),
                    Err(err) => return Err(Unreachable::Refused(err.to_string())),
                };
                let clients = self.function.lister.clients();
                let home_region = clients.region().unwrap_or_default();
                if account != home || region != home_region {
                    let reason = format!(
                        "{account}/{region} is not this deployment's account and region ({home}/{home_region}) and no organization is configured"
                    );
                    return Err(Unreachable::Refused(reason));
                }
                Ok((tagger.clone(), Lister::new(clients.clone()).with_page_size(self.page_size)))
            }
        }
    }
}
