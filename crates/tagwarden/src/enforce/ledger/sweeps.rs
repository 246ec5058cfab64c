//! The queued sweep's progress: one item per page handled (claimed with a conditional put, so a page
//! delivered twice is handled once), one per resource type finished in an account and region, and one per
//! run (how many types it expects). Written by the auto-tagger under `sweep#` keys only.
//!
//! | item | `pk`          | `sk`                                       | what it holds |
//! |------|---------------|--------------------------------------------|---------------|
//! | run  | `sweep#<run>` | `run`                                      | `expected`: the (account, region, type) triples seeded |
//! | page | `sweep#<run>` | `page#<account>#<region>#<type>#<000000>`  | `state` (`in-progress` until `lease`, `done`), the page's counts |
//! | type | `sweep#<run>` | `type#<account>#<region>#<type>`           | `result` (`complete` or `failed`), `reason`, `pages` |
//!
//! Every item expires after [`SWEEP_RETENTION`].

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{Claim, Item, LEASE, LedgerError, LedgerTable, optional, s, timestamp};
use crate::aws::{AwsError, ResultExt};

/// The partition-key prefix of the sweep's items (what the auto-tagger may write besides `source#`).
pub const SWEEP_KEY_PREFIX: &str = "sweep#";
/// How long a run's progress is kept.
pub const SWEEP_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The key of one progress item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgressKey {
    /// `sweep#<run>`.
    pub pk: String,
    /// `run`, `page#…` or `type#…`.
    pub sk: String,
}

/// A run's progress as the ledger holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunProgress {
    /// Types the run seeded (0 when its run item is missing).
    pub expected: u64,
    /// Types finished: `complete` or `failed`, by `<account>#<region>#<type>`.
    pub types: BTreeMap<String, String>,
    /// Pages done.
    pub pages_done: u64,
    /// Pages claimed and not done (in progress, or their invocation died).
    pub pages_open: u64,
    /// The pages' counts summed (`tagged`, `unchanged`, `skipped`, `failed`).
    pub counts: BTreeMap<String, u64>,
}

impl RunProgress {
    /// Every seeded type finished and no page is open.
    pub fn is_complete(&self) -> bool {
        self.expected > 0 && self.types.len() as u64 >= self.expected && self.pages_open == 0
    }
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn expiry(at: DateTime<Utc>) -> AttributeValue {
    number(at.timestamp() + SWEEP_RETENTION.as_secs() as i64)
}

impl LedgerTable {
    /// Claims a page for this invocation: a conditional put only one invocation wins. A page whose lease ran
    /// out (its invocation died) can be taken over; a released one is free again.
    pub async fn claim_progress(&self, key: &ProgressKey, at: DateTime<Utc>) -> Result<Claim, LedgerError> {
        let lease_until = at.timestamp() + LEASE.as_secs() as i64;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&key.pk))
            .item("sk", s(&key.sk))
            .item("state", s("in-progress"))
            .item("at", s(timestamp(at)))
            .item("lease", number(lease_until))
            .item("expires", expiry(at))
            .condition_expression("attribute_not_exists(pk) OR (#state = :progress AND lease < :now)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":progress", s("in-progress"))
            .expression_attribute_values(":now", number(at.timestamp()))
            .send()
            .await
            .aws("PutItem");
        match put {
            Ok(_) => Ok(Claim::Claimed),
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => {
                let item = self.progress_item(key).await?;
                let Some(item) = item else {
                    // NOTE: released between our put and our read: free again; the redelivery takes it.
                    return Ok(Claim::InProgress { at: timestamp(at) });
                };
                let when = optional(&item, "at").unwrap_or_default().to_owned();
                Ok(match optional(&item, "state") {
                    Some("done") => Claim::Done { at: when, outcome: optional(&item, "outcome").unwrap_or("").into() },
                    _ => Claim::InProgress { at: when },
                })
            }
            Err(err) => Err(self.fail("PutItem")(err)),
        }
    }

    /// Marks a claimed page done with its outcome and counts: later deliveries of it are skipped.
    pub async fn settle_progress(
        &self,
        key: &ProgressKey,
        outcome: &str,
        counts: &BTreeMap<&'static str, u64>,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&key.pk))
            .item("sk", s(&key.sk))
            .item("state", s("done"))
            .item("outcome", s(outcome))
            .item("at", s(timestamp(at)))
            .item("expires", expiry(at));
        for (name, count) in counts {
            put = put.item(*name, number(count));
        }
        put.send().await.aws("PutItem").map_err(self.fail("PutItem"))?;
        Ok(())
    }

    /// Gives a claimed page up after a retryable failure, so that its redelivery can claim it at once.
    pub async fn release_progress(&self, key: &ProgressKey) -> Result<(), LedgerError> {
        self.release_item(&key.pk, &key.sk).await
    }

    /// Records a fact of the run (its expected types, a type's end): a plain put of `fields` (strings).
    pub async fn record_progress(
        &self,
        key: &ProgressKey,
        fields: &[(&str, String)],
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&key.pk))
            .item("sk", s(&key.sk))
            .item("at", s(timestamp(at)))
            .item("expires", expiry(at));
        for (name, value) in fields {
            put = put.item(*name, s(value));
        }
        put.send().await.aws("PutItem").map_err(self.fail("PutItem"))?;
        Ok(())
    }

    async fn progress_item(&self, key: &ProgressKey) -> Result<Option<Item>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&key.pk))
            .key("sk", s(&key.sk))
            .consistent_read(true)
            .send()
            .await
            .aws("GetItem")
            .map_err(self.fail("GetItem"))?;
        Ok(out.item().cloned())
    }

    /// A run's progress, read back (`Query` on its partition; operators and tests, not the auto-tagger).
    pub async fn run_progress(&self, run_pk: &str) -> Result<RunProgress, LedgerError> {
        let mut progress = RunProgress::default();
        for item in self.query(run_pk, None, None).await? {
            let sk = optional(&item, "sk").unwrap_or_default();
            if sk == "run" {
                progress.expected = optional(&item, "expected").and_then(|e| e.parse().ok()).unwrap_or(0);
            } else if let Some(place) = sk.strip_prefix("type#") {
                progress.types.insert(place.to_owned(), optional(&item, "result").unwrap_or("?").to_owned());
            } else if sk.starts_with("page#") {
                if optional(&item, "state") == Some("done") {
                    progress.pages_done += 1;
                } else {
                    progress.pages_open += 1;
                }
                for name in ["tagged", "unchanged", "skipped", "failed"] {
                    if let Some(AttributeValue::N(n)) = item.get(name) {
                        *progress.counts.entry(name.to_owned()).or_default() += n.parse::<u64>().unwrap_or(0);
                    }
                }
            }
        }
        Ok(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::Client as Ddb;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn key() -> ProgressKey {
        ProgressKey { pk: "sweep#r".into(), sk: "page#111111111111#us-east-1#model#000000".into() }
    }

    fn conditional_failure() -> HttpResponse {
        let body = serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                                      "message": "The conditional request failed"});
        HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body.to_string()))
    }

    #[tokio::test]
    async fn a_page_already_done_is_not_claimed_again() {
        let put = mock!(Ddb::put_item)
            .match_requests(|r| r.condition_expression().is_some_and(|c| c.starts_with("attribute_not_exists(pk)")))
            .then_http_response(conditional_failure);
        let done = mock!(Ddb::get_item).then_output(|| {
            let item = Item::from([("state".to_owned(), s("done")), ("at".to_owned(), s("t"))]);
            GetItemOutput::builder().set_item(Some(item)).build()
        });
        let table = LedgerTable::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &done]), "ledger");
        let claim = table.claim_progress(&key(), super::super::now()).await.unwrap();
        assert!(matches!(claim, Claim::Done { .. }), "{claim:?}");
    }

    #[tokio::test]
    async fn a_page_held_by_another_invocation_is_in_progress() {
        let put = mock!(Ddb::put_item).then_http_response(conditional_failure);
        let held = mock!(Ddb::get_item).then_output(|| {
            let item = Item::from([("state".to_owned(), s("in-progress")), ("at".to_owned(), s("t"))]);
            GetItemOutput::builder().set_item(Some(item)).build()
        });
        let table = LedgerTable::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &held]), "ledger");
        let claim = table.claim_progress(&key(), super::super::now()).await.unwrap();
        assert_eq!(claim, Claim::InProgress { at: "t".into() });
    }

    #[test]
    fn a_run_is_complete_when_every_seeded_type_finished_and_no_page_is_open() {
        let mut progress = RunProgress { expected: 2, ..Default::default() };
        assert!(!progress.is_complete());
        progress.types.insert("a".into(), "complete".into());
        progress.types.insert("b".into(), "failed".into());
        assert!(progress.is_complete());
        progress.pages_open = 1;
        assert!(!progress.is_complete());
        assert!(!RunProgress::default().is_complete(), "a run nobody seeded is not complete");
    }
}
