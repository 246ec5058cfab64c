//! The auto-tagger Lambda's handler, built once at cold start: one account ([`AutoTagger`]) or a whole
//! organization ([`OrgTagger`]), and the scheduled sweep of the estate.
//!
//! NOTE: the event arrives as JSON (`Value`), not as `LambdaEvent<EventBridgeEvent<_>>`: a typed payload would
//! make the runtime refuse a malformed event before the handler, as a Lambda error that is retried and ends in
//! the dead-letter queue. The envelope is read through `aws_lambda_events`' `EventBridgeEvent` in
//! [`crate::event::cloudtrail`], after a lenient first look, so bad input becomes a skip with a reason.

use std::time::SystemTime;

use serde_json::Value;

use crate::enforce::ledger::{LedgerTable, TABLE_ENV};
use crate::org::{ClientPool, MemberFunction, Organization};
use crate::sweep::{self, EventHistory, Lister};
use crate::tagging::org::OrgTagger;
use crate::tagging::{AutoTagger, RetryableError, TaggerSettings};
use crate::{Clients, Config};

/// Everything the auto-tagger function keeps between invocations.
#[derive(Debug)]
pub struct AutoTaggerFunction {
    tagger: Tagger,
    /// Lists the central account's estate for the scheduled sweep.
    lister: Lister,
}

/// Where events are tagged: this account, or the account each event came from.
#[derive(Debug)]
enum Tagger {
    Account(AutoTagger),
    Organization(OrgTagger),
}

/// `settings` with the ledger `TAGWARDEN_LEDGER_TABLE` names (through `home`, the central account's clients).
fn with_ledger(mut settings: TaggerSettings, home: &Clients) -> TaggerSettings {
    let table = std::env::var(TABLE_ENV).ok().filter(|t| !t.trim().is_empty());
    settings.ledger = table.map(|table| LedgerTable::new(home.dynamodb.clone(), table));
    settings
}

impl AutoTaggerFunction {
    /// Reads the configuration and builds the clients; with `TAGWARDEN_ORGANIZATION_ACCOUNTS` set, member
    /// accounts are reached through the member role. An invalid policy or setting fails here, at cold start.
    ///
    /// With `TAGWARDEN_LEDGER_TABLE` set, the last known values of the tag sources are kept in that table (the
    /// central account's, in an organization too); unset, a tampered source is restored from its own sources.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let Some(organization) = Organization::from_env(MemberFunction::AutoTagger)? else {
            let sdk_config = crate::aws::load_config().await;
            let clients = Clients::new(&sdk_config);
            let config = Config::load(&clients).await?;
            let settings = with_ledger(config.tagger, &clients);
            let tagger = AutoTagger::new(clients.clone(), config.policy.into(), &settings);
            let lister = Lister::new(clients).with_history(EventHistory::new(&sdk_config));
            return Ok(Self { tagger: Tagger::Account(tagger), lister });
        };
        let pool = ClientPool::from_env(organization, MemberFunction::AutoTagger).await?;
        let config = Config::load(pool.home()).await?;
        // NOTE: the scheduled sweep covers the central account; its history is that account's.
        let history = EventHistory::new(&crate::aws::load_config().await);
        let lister = Lister::new(pool.home().clone()).with_history(history);
        let settings = with_ledger(config.tagger, pool.home());
        let tagger = OrgTagger::new(pool, config.policy.into(), &settings);
        Ok(Self { tagger: Tagger::Organization(tagger), lister })
    }

    /// One invocation: a schedule sweeps the central account's estate until `deadline`; anything else is an
    /// event, handled in the account and region it came from. `Err` only for retryable failures.
    pub async fn handle(&self, event: &Value, deadline: Option<SystemTime>) -> Result<Value, RetryableError> {
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
}
