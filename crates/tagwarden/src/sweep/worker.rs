//! The queued sweep's side effects: a schedule seeds the sweep queue ([`SweepQueue::seed`]); each SQS
//! record is one page ([`SweepQueue::handle_batch`]): claim it in the ledger, list it, tag what it lists
//! with bounded concurrency, send the next page, then mark it done. A record that failed retryably is
//! named in the partial batch response and SQS delivers it again; a page already done is skipped.
//!
//! In: [`SqsRecord`]s, the invocation's deadline, where each (account, region) is reached ([`Places`]).
//! Out: a [`BatchReport`] (its [`BatchReport::response`] is what Lambda reads), messages on the queue,
//! progress items in the ledger.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::apply::{DEADLINE_MARGIN, Gauge, How, past, try_tag_listed};
use super::list::Lister;
use super::queue::{MESSAGE_VERSION, SqsRecord, Step, SweepMessage, after_page, again, batch_response, run_key, seeds};
use super::{DEFAULT_CONCURRENCY, TypeSummary, sweep_kinds};
use crate::aws::{AwsError, ResultExt};
use crate::enforce::ledger::{Claim, LedgerError, LedgerTable, now};
use crate::policy::SourceKind;
use crate::resource::ResourceKind;
use crate::tagging::{AutoTagger, Outcome, TagOptions};

/// The environment variable naming the sweep queue's URL; set, a schedule enqueues instead of sweeping.
pub const QUEUE_ENV: &str = "TAGWARDEN_SWEEP_QUEUE_URL";
/// The environment variable setting the queued sweep's page size (1 to 100; default 100).
pub const PAGE_SIZE_ENV: &str = "TAGWARDEN_SWEEP_PAGE_SIZE";
/// The environment variable naming the resource types the queued sweep seeds (default: every type).
pub const TYPES_ENV: &str = "TAGWARDEN_SWEEP_TYPES";

/// Why a page cannot be swept in an (account, region).
#[derive(Debug)]
pub enum Unreachable {
    /// Tagwarden may not act there (foreign account, member role refused, no organization): the type is
    /// recorded failed, the record is done.
    Refused(String),
    /// A throttled or unavailable call: the record is retried.
    Retryable(AwsError),
}

/// Where a page is listed and tagged: the auto-tagger and a lister for an (account, region).
pub trait Places: Sync {
    /// The tagger and lister of `account` in `region`, or why Tagwarden cannot sweep there.
    fn reach(
        &self,
        account: &str,
        region: &str,
    ) -> impl Future<Output = Result<(Arc<AutoTagger>, Lister), Unreachable>> + Send;
}

/// The sweep queue, its ledger and how pages are listed.
#[derive(Debug, Clone)]
pub struct SweepQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
    ledger: LedgerTable,
    page_size: i32,
    kinds: Vec<&'static ResourceKind>,
    concurrency: usize,
}

/// What one record became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum PageResult {
    /// Listed and tagged; the next page was sent.
    Next,
    /// Listed and tagged; it was its type's last page.
    Complete,
    /// Handled by an earlier delivery: nothing was listed or tagged again.
    AlreadyDone,
    /// The deadline cut the page short: it was sent again (or, after too many attempts, its type failed).
    SentAgain {
        /// Why.
        reason: String,
    },
    /// The type cannot be swept there (refused account, listing rejected): recorded failed, not retried.
    Failed {
        /// Why.
        reason: String,
    },
    /// Not a sweep page (malformed, newer version, unknown type): dropped with the reason.
    Skipped {
        /// Why.
        reason: String,
    },
    /// A retryable failure: named in `batchItemFailures`, delivered again.
    Retry {
        /// Why.
        reason: String,
    },
}

/// One record's report.
#[derive(Debug, Clone, Serialize)]
pub struct PageReport {
    /// The SQS message id.
    pub message_id: String,
    /// The page, when the body was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<SweepMessage>,
    /// What became of it.
    #[serde(flatten)]
    pub result: PageResult,
    /// Counts of the resources handled in this delivery.
    pub counts: TypeSummary,
    /// Each resource handled in this delivery.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
}

/// What one SQS batch became.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchReport {
    /// One report per record, in order.
    pub pages: Vec<PageReport>,
}

impl BatchReport {
    /// The message ids to deliver again.
    pub fn failed(&self) -> Vec<&str> {
        let retry = |p: &&PageReport| matches!(p.result, PageResult::Retry { .. });
        self.pages.iter().filter(retry).map(|p| p.message_id.as_str()).collect()
    }

    /// The partial batch response Lambda reads (`{"batchItemFailures": [{"itemIdentifier": …}]}`).
    pub fn response(&self) -> Value {
        batch_response(self.failed())
    }
}

/// What a schedule enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    /// The run.
    pub run: String,
    /// Messages sent: one per account × region × type.
    pub messages: usize,
    /// `SendMessageBatch` calls.
    pub batches: usize,
}

impl SweepQueue {
    /// The queue at `url`, its progress kept in `ledger`; pages of 100, every resource type.
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>, ledger: LedgerTable) -> Self {
        Self {
            sqs,
            url: url.into(),
            ledger,
            page_size: super::list::PAGE_SIZE,
            kinds: sweep_kinds(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// The same queue listing at most `size` resources per page (1 to 100).
    pub fn with_page_size(mut self, size: i32) -> Self {
        self.page_size = size.clamp(1, super::list::PAGE_SIZE);
        self
    }

    /// The same queue seeding only `kinds`.
    pub fn with_kinds(mut self, kinds: Vec<&'static ResourceKind>) -> Self {
        self.kinds = kinds;
        self
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The page size its listers ask for.
    pub fn page_size(&self) -> i32 {
        self.page_size
    }

    /// The ledger its progress is kept in.
    pub fn ledger(&self) -> &LedgerTable {
        &self.ledger
    }

    /// Starts `run`: records how many types it expects, then sends the first page of every type in every
    /// (account, regions) of `places`, ten per `SendMessageBatch`; entries SQS refused are sent once more
    /// one by one, then the error is returned.
    pub async fn seed(&self, run: &str, places: &[(String, Vec<String>)]) -> Result<SeedReport, AwsError> {
        let messages = seeds(run, places, &self.kinds);
        let expected = [("expected", messages.len().to_string()), ("version", MESSAGE_VERSION.to_string())];
        self.ledger.record_progress(&run_key(run), &expected, now()).await.map_err(LedgerError::into_aws)?;
        let bodies: Vec<String> = messages.iter().map(SweepMessage::body).collect();
        let batches = crate::sqs::send_all(&self.sqs, &self.url, &bodies).await?.batches;
        Ok(SeedReport { run: run.to_owned(), messages: messages.len(), batches })
    }

    async fn send(&self, message: &SweepMessage) -> Result<(), AwsError> {
        self.sqs.send_message().queue_url(&self.url).message_body(message.body()).send().await.aws("SendMessage")?;
        Ok(())
    }

    /// Handles an SQS batch, record after record; a record that would start within [`DEADLINE_MARGIN`] of
    /// `deadline` is handed back (retried) untouched.
    pub async fn handle_batch(
        &self,
        places: &impl Places,
        records: Vec<SqsRecord>,
        deadline: Option<Instant>,
    ) -> BatchReport {
        let mut report = BatchReport::default();
        for record in records {
            let page = if past(deadline.map(|d| d.checked_sub(DEADLINE_MARGIN).unwrap_or(d))) {
                let reason = "the invocation's deadline is near: handed back untouched".to_owned();
                PageReport::bare(&record.message_id, None, PageResult::Retry { reason })
            } else {
                self.handle_record(places, &record, deadline).await
            };
            tracing::info!(
                message_id = %page.message_id,
                page = page.page.as_ref().map(SweepMessage::describe).unwrap_or_default(),
                result = ?page.result,
                tagged = page.counts.tagged,
                failed = page.counts.failed,
                "sweep page"
            );
            report.pages.push(page);
        }
        report
    }

    async fn handle_record(&self, places: &impl Places, record: &SqsRecord, deadline: Option<Instant>) -> PageReport {
        let id = &record.message_id;
        let (message, kind) = match SweepMessage::parse(&record.body) {
            Ok(parsed) => parsed,
            Err(err) => return PageReport::bare(id, None, PageResult::Skipped { reason: err.to_string() }),
        };
        let key = message.page_key();
        let retry = |reason: String| PageResult::Retry { reason };
        match self.ledger.claim_progress(&key, now()).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::Done { .. }) => return PageReport::bare(id, Some(message), PageResult::AlreadyDone),
            Ok(Claim::InProgress { at }) => {
                let reason = format!("held by another invocation since {at}");
                return PageReport::bare(id, Some(message), retry(reason));
            }
            // NOTE: only an enforcement's claim continues; a sweep page's never does.
            Ok(Claim::Continued { part }) => {
                let reason = format!("its progress item reads 'continued' at part {part}, which a page never is");
                return PageReport::bare(id, Some(message), PageResult::Skipped { reason });
            }
            Err(err) => return PageReport::bare(id, Some(message), retry(err.to_string())),
        }
        let mut page = PageReport::bare(id, Some(message.clone()), PageResult::AlreadyDone);
        page.result = match self.sweep_page(places, &message, kind, deadline, &mut page).await {
            Ok(result) => result,
            Err(reason) => {
                // NOTE: given up so that the redelivery can claim it at once (else it waits for the lease).
                if let Err(err) = self.ledger.release_progress(&key).await {
                    tracing::warn!(error = %err, "cannot release a sweep page");
                }
                retry(reason)
            }
        };
        page
    }

    /// The claimed page: `Ok` with what it became (the page is then marked done), `Err` with why it must be
    /// retried (the claim is released).
    async fn sweep_page(
        &self,
        places: &impl Places,
        message: &SweepMessage,
        kind: &'static ResourceKind,
        deadline: Option<Instant>,
        page: &mut PageReport,
    ) -> Result<PageResult, String> {
        let (tagger, lister) = match places.reach(&message.account, &message.region).await {
            Ok(reached) => reached,
            Err(Unreachable::Retryable(err)) => return Err(err.to_string()),
            Err(Unreachable::Refused(reason)) => return self.fail_type(message, reason, page).await,
        };
        let listed = match lister.page(kind, message.next_token.clone()).await {
            Ok(listed) => listed,
            Err(err) if err.is_retryable() => return Err(err.to_string()),
            Err(err) => return self.fail_type(message, err.to_string(), page).await,
        };
        let options = TagOptions { dry_run: false, notify: false, keep_source_values: true };
        let reads_roles = tagger.policy().tags.sources.contains(&SourceKind::Principal);
        let gauge = Gauge::default();
        let not_started = AtomicUsize::new(0);
        let handled = futures::stream::iter(listed.items)
            .map(|listed| {
                let (tagger, lister, gauge, not_started) = (&tagger, &lister, &gauge, &not_started);
                async move {
                    if past(deadline) {
                        not_started.fetch_add(1, Ordering::SeqCst);
                        return None;
                    }
                    let how = How { options, reads_roles, from_history: None };
                    gauge.enter();
                    let result = try_tag_listed(tagger, lister, kind, &listed, how).await;
                    gauge.leave();
                    Some((listed.arn, result))
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let mut retryable = None;
        for (arn, result) in handled.into_iter().flatten() {
            let outcome = match result {
                Ok(outcome) => outcome,
                Err(err) if err.is_retryable() => {
                    retryable.get_or_insert(err.to_string());
                    continue;
                }
                Err(err) => Outcome::Failed { reason: err.to_string(), resource_arn: arn },
            };
            page.counts.count(&outcome);
            page.outcomes.push(outcome);
        }
        if let Some(reason) = retryable {
            return Err(reason);
        }
        if not_started.load(Ordering::SeqCst) > 0 {
            return self.send_again(message, page).await;
        }
        let result = match after_page(message, listed.next_token) {
            Step::Next(next) => {
                self.send(&next).await.map_err(|e| e.to_string())?;
                PageResult::Next
            }
            Step::Complete => {
                let fields = [("result", "complete".to_owned()), ("pages", (message.page + 1).to_string())];
                self.ledger.record_progress(&message.type_key(), &fields, now()).await.map_err(|e| e.to_string())?;
                PageResult::Complete
            }
        };
        self.settle(message, &result, page).await?;
        Ok(result)
    }

    /// The deadline left part of the page undone: the same page goes on the queue again (what was tagged
    /// is tagged again, harmlessly), or after [`super::queue::MAX_ATTEMPTS`] its type is recorded failed.
    async fn send_again(&self, message: &SweepMessage, page: &PageReport) -> Result<PageResult, String> {
        let Some(again) = again(message) else {
            let reason = format!("the deadline cut {} short {} times", message.describe(), message.attempt + 1);
            return self.fail_type(message, reason, page).await;
        };
        self.send(&again).await.map_err(|e| e.to_string())?;
        let reason = format!("the deadline cut the page short; sent again (attempt {})", again.attempt);
        // NOTE: the copy has the same page key: settled as done, it would be skipped. Released instead, so the
        // copy claims it.
        self.ledger.release_progress(&message.page_key()).await.map_err(|e| e.to_string())?;
        Ok(PageResult::SentAgain { reason })
    }

    async fn fail_type(&self, message: &SweepMessage, reason: String, page: &PageReport) -> Result<PageResult, String> {
        let fields = [("result", "failed".to_owned()), ("reason", reason.clone()), ("pages", message.page.to_string())];
        self.ledger.record_progress(&message.type_key(), &fields, now()).await.map_err(|e| e.to_string())?;
        let result = PageResult::Failed { reason };
        self.settle(message, &result, page).await?;
        Ok(result)
    }

    async fn settle(&self, message: &SweepMessage, result: &PageResult, page: &PageReport) -> Result<(), String> {
        let label = match result {
            PageResult::Next => "next",
            PageResult::Complete => "complete",
            _ => "failed",
        };
        let c = &page.counts;
        let counts = BTreeMap::from([
            ("tagged", c.tagged),
            ("unchanged", c.unchanged),
            ("skipped", c.skipped),
            ("failed", c.failed),
        ]);
        self.ledger.settle_progress(&message.page_key(), label, &counts, now()).await.map_err(|e| e.to_string())
    }
}

impl PageReport {
    fn bare(message_id: &str, page: Option<SweepMessage>, result: PageResult) -> Self {
        Self { message_id: message_id.to_owned(), page, result, counts: TypeSummary::default(), outcomes: Vec::new() }
    }
}

/// A Lambda invocation's deadline as an [`Instant`].
pub fn instant_of(deadline: Option<std::time::SystemTime>) -> Option<Instant> {
    deadline.map(|d| Instant::now() + d.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}
