//! The idle rules across an organization: the schedule's `{"tagwarden": "idle"}` queues one message per
//! (account, region) the organization's member role reaches ([`IdlePlace::body`], `SendMessageBatch`, ten a
//! call, refused entries sent once more one by one), and each message runs the rules in its place only
//! ([`BudgetEnforcer::idle_place_at`]).
//!
//! A message is not a fact: it names a place and a tick, nothing else. The place must be one of the
//! organization's regions and an account the member role reaches (the central one, or a member
//! [`ClientPool::verify`](crate::org::ClientPool::verify) accepts); the tick must be recent ([`check_tick`]).
//! Anything else is skipped with the reason. The rules, scopes and exemptions come from the policy.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{IdleReport, Where};
use crate::aws::AwsError;
use crate::enforce::apply::BudgetEnforcer;
use crate::enforce::ledger;
use crate::enforce::report::Tally;
use crate::enforce::{EnforceError, EnforcementOutcome};
use crate::event::budget::IdlePlace;

/// How old a place's tick may be when it is taken: an older one is skipped (a later tick's message covers
/// the place again; the schedule runs every 10 minutes).
pub const MAX_TICK_AGE: Duration = Duration::hours(1);

/// How far ahead of the receiver's clock a tick may be (clock skew between invocations).
pub const MAX_TICK_AHEAD: Duration = Duration::minutes(5);

/// The queue the idle schedule sends its places to: the enforcer's own (continuation) queue, whose
/// consumer is this function, one record per invocation.
#[derive(Debug, Clone)]
pub struct IdleQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

/// What the schedule queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queued {
    /// Places queued, one message each (in a dry run: that would be, none sent).
    pub places: usize,
    /// `SendMessageBatch` calls.
    pub batches: usize,
    /// Entries a batch refused that were sent again one by one.
    pub resent: usize,
    /// Each place, `<account>/<region>`.
    pub each: Vec<String>,
}

impl IdleQueue {
    /// The queue at `url`, reached with `sqs`.
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { sqs, url: url.into() }
    }

    /// Sends one message per place, ten per `SendMessageBatch`; an entry SQS refused is sent once more with
    /// `SendMessage`, and a second refusal is the error.
    pub async fn send(&self, places: &[IdlePlace]) -> Result<Queued, AwsError> {
        let bodies: Vec<String> = places.iter().map(IdlePlace::body).collect();
        let sent = crate::sqs::send_all(&self.sqs, &self.url, &bodies).await?;
        Ok(Queued { places: places.len(), batches: sent.batches, resent: sent.resent, each: each(places) })
    }
}

/// `<account>/<region>` of each place.
fn each(places: &[IdlePlace]) -> Vec<String> {
    places.iter().map(|p| format!("{}/{}", p.account, p.region)).collect()
}

/// One message per (account, region) of `places`, all for the tick `at`. (Pure.)
pub fn messages(places: &[(String, Vec<String>)], at: DateTime<Utc>) -> Vec<IdlePlace> {
    places
        .iter()
        .flat_map(|(account, regions)| {
            regions.iter().map(move |region| IdlePlace { account: account.clone(), region: region.clone(), at })
        })
        .collect()
}

/// Whether a place's tick `at` may be taken at `now`: not older than [`MAX_TICK_AGE`], not more than
/// [`MAX_TICK_AHEAD`] ahead; else why not. (Pure.)
pub fn check_tick(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if at > now + MAX_TICK_AHEAD {
        return Err(format!(
            "its tick {} is ahead of this invocation's clock ({}): a message cannot move the clock",
            ledger::timestamp(at),
            ledger::timestamp(now)
        ));
    }
    if at < now - MAX_TICK_AGE {
        return Err(format!(
            "its tick {} is more than an hour old ({}): a later tick covers the place",
            ledger::timestamp(at),
            ledger::timestamp(now)
        ));
    }
    Ok(())
}

/// The regions a place may be in: the organization's, or the central region when none are configured.
/// (Pure.)
pub fn allowed_regions(configured: &[String], home_region: &str) -> Vec<String> {
    if configured.is_empty() { vec![home_region.to_owned()] } else { configured.to_vec() }
}

impl BudgetEnforcer {
    /// Sets the queue the idle schedule sends its places to (an organization's deployment: the continuation
    /// queue). Without a pool or without this queue, the schedule runs the rules itself.
    pub fn with_idle_queue(mut self, queue: IdleQueue) -> Self {
        self.idle_queue = Some(queue);
        self
    }

    /// Every (account, regions) of the organization: the central account and the members (the static list, or
    /// AWS Organizations' active accounts), each in the organization's regions (none configured: the central
    /// region); without an organization, the central account in its region. Not yet checked for reach.
    pub(crate) async fn organization_places(&self) -> Result<Vec<(String, Vec<String>)>, AwsError> {
        let region_account = self.region_account().await?.to_owned();
        let (home_region, home_account) = region_account.split_once(':').unwrap_or_default();
        let Some(pool) = &self.pool else {
            return Ok(vec![(home_account.to_owned(), vec![home_region.to_owned()])]);
        };
        let organization = pool.organization();
        let regions = allowed_regions(&organization.regions, home_region);
        // NOTE: the pool's central account is the one STS names (both are read once per process).
        let accounts = pool.accounts().await?;
        Ok(accounts.into_iter().map(|account| (account, regions.clone())).collect())
    }

    /// The organization's places the member role reaches, and a reason for each account it does not (a
    /// throttled check included: that account waits for the next tick).
    pub(crate) async fn reachable_places(&self) -> Result<(Vec<(String, Vec<String>)>, Vec<String>), AwsError> {
        let places = self.organization_places().await?;
        let mut tally = Tally::default();
        let reachable = self.reachable(places, &mut tally).await;
        let unreachable = tally.results.iter().map(|r| format!("{}: {}", r.resource_arn, r.result)).collect();
        Ok((reachable, unreachable))
    }

    /// The schedule's tick: in an organization with a queue, one message per reachable place (none sent in a
    /// dry run); otherwise the rules run here ([`Self::idle_at`]).
    pub(crate) async fn idle_tick(
        &self,
        now: DateTime<Utc>,
        force_dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let (Some(_), Some(queue)) = (&self.pool, &self.idle_queue) else {
            return self.idle_at(now, force_dry_run).await;
        };
        let mut report = IdleReport::new(now, force_dry_run);
        if self.policy.idle.endpoints.is_empty() && self.policy.idle.off_hours.is_empty() {
            report.skipped.push(super::NO_RULES.into());
            return Ok(EnforcementOutcome::Idle(report));
        }
        let (places, unreachable) = self.reachable_places().await.map_err(EnforceError::Retryable)?;
        report.skipped.extend(unreachable.into_iter().map(|why| format!("not queued: {why}")));
        let messages = messages(&places, now);
        let queued = if force_dry_run {
            Queued { places: messages.len(), batches: 0, resent: 0, each: each(&messages) }
        } else {
            queue.send(&messages).await.map_err(EnforceError::Retryable)?
        };
        tracing::info!(places = queued.places, batches = queued.batches, dry_run = force_dry_run, "idle places queued");
        report.queued = Some(queued);
        Ok(EnforcementOutcome::Idle(report))
    }

    /// One place's message, taken at `now` (the receiver's clock): the rules run in that place only, with its
    /// clients and the message's tick as their clock; a place outside the organization's reach, or a tick
    /// too old or ahead, is skipped with the reason.
    pub async fn idle_place_at(
        &self,
        place: &IdlePlace,
        now: DateTime<Utc>,
        force_dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let name = format!("account {} region {}", place.account, place.region);
        let skipped =
            |why: String| Ok(EnforcementOutcome::Skipped { reason: format!("idle in {name}: {why}"), alert: None });
        if let Err(why) = check_tick(place.at, now) {
            return skipped(why);
        }
        let region_account = self.region_account().await.map_err(EnforceError::Retryable)?.to_owned();
        let (home_region, home_account) = region_account.split_once(':').unwrap_or_default();
        let configured = self.pool.as_ref().map(|p| p.organization().regions.clone()).unwrap_or_default();
        if !allowed_regions(&configured, home_region).contains(&place.region) {
            return skipped("not a region of the organization (TAGWARDEN_REGIONS)".into());
        }
        if self.pool.is_none() && place.account != home_account {
            return skipped("no organization is configured: only the central account is reached".into());
        }
        let mut tally = Tally::default();
        let reached = self.reachable(vec![(place.account.clone(), vec![place.region.clone()])], &mut tally).await;
        if reached.is_empty() {
            if let Some(err) = tally.retryable.take() {
                return Err(EnforceError::Retryable(err));
            }
            let why = tally.results.iter().map(|r| r.result.to_string()).collect::<Vec<_>>().join("; ");
            return skipped(format!("not reachable: {why}"));
        }
        let here = Where::Place { account: place.account.clone(), region: place.region.clone() };
        let outcome = self.idle_rules(place.at, force_dry_run, &here).await?;
        Ok(EnforcementOutcome::Idle(outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn one_message_per_account_and_region_all_for_one_tick() {
        let places = vec![
            ("111111111111".to_owned(), vec!["us-east-1".to_owned(), "eu-west-1".to_owned()]),
            ("222222222222".to_owned(), vec!["us-east-1".to_owned(), "eu-west-1".to_owned()]),
        ];
        let tick = at("2026-12-08T19:05:00Z");
        let queued = messages(&places, tick);
        assert_eq!(
            each(&queued),
            ["111111111111/us-east-1", "111111111111/eu-west-1", "222222222222/us-east-1", "222222222222/eu-west-1"]
        );
        assert!(queued.iter().all(|m| m.at == tick));
        assert!(messages(&[("111111111111".to_owned(), vec![])], tick).is_empty(), "no region, no message");
    }

    #[test]
    fn a_tick_must_be_recent_and_not_ahead_of_the_receivers_clock() {
        let now = at("2026-12-08T19:30:00Z");
        assert_eq!(check_tick(at("2026-12-08T19:05:00Z"), now), Ok(()));
        assert_eq!(check_tick(at("2026-12-08T19:34:00Z"), now), Ok(()), "clock skew");
        let ahead = check_tick(at("2026-12-10T19:05:00Z"), now).unwrap_err();
        assert!(ahead.contains("ahead of this invocation's clock"), "{ahead}");
        let old = check_tick(at("2026-12-08T18:00:00Z"), now).unwrap_err();
        assert!(old.contains("more than an hour old"), "{old}");
    }

    #[test]
    fn a_place_is_in_the_organizations_regions_or_the_central_one() {
        let configured = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
        assert!(allowed_regions(&configured, "us-east-1").contains(&"eu-west-1".to_owned()));
        assert!(!allowed_regions(&configured, "us-east-1").contains(&"ap-south-1".to_owned()));
        assert_eq!(allowed_regions(&[], "eu-central-1"), ["eu-central-1"]);
    }
}
