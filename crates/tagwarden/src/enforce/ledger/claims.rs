//! Claims on SNS deliveries: one invocation of the enforcer acts on a message, however often it is delivered;
//! and the parts of an enforcement that continues: a claim `continued` at part N holds the alert's event
//! (the enforcer's own copy, not the queue message's) until the invocation that takes part N.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{LEASE, LedgerError, LedgerTable, expires, optional, s, timestamp};
use crate::aws::{AwsError, ResultExt};

/// How a delivery's claim went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This invocation holds the delivery: act, then [`LedgerTable::settle`] or [`LedgerTable::release`].
    Claimed,
    /// Another invocation handled it already.
    Done {
        /// When it was handled.
        at: String,
        /// Its outcome label.
        outcome: String,
    },
    /// Another invocation is handling it now (its lease has not expired).
    InProgress {
        /// When it claimed the delivery.
        at: String,
    },
    /// Its enforcement continues: part `part` waits for the continuation queue.
    Continued {
        /// The part that waits.
        part: u32,
    },
}

/// What taking part N of a continued enforcement found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// This invocation holds part N: the alert's event as first delivered, and what the earlier parts
    /// selected per action (the safety cap counts every part).
    Taken {
        /// The Lambda event of the alert (the SNS record), as the first part received it.
        event: String,
        /// Targets selected per action by the earlier parts.
        selected: HashMap<String, usize>,
        /// When the first part claimed the delivery (its entries are recorded from then on).
        since: String,
    },
    /// The enforcement waits for another part (a duplicate or stale message).
    Waiting {
        /// The part it waits for.
        part: u32,
    },
    /// Part N is not waiting: the enforcement is unknown, finished, or being handled.
    Refused {
        /// Why, naming the delivery and its state.
        reason: String,
    },
}

impl LedgerTable {
    /// Claims an SNS delivery for this invocation: a conditional put that only one invocation wins, so two
    /// Lambda instances handed the same message act once. A claim whose lease ran out (the invocation that
    /// held it died) can be taken over; a released one (a retryable failure) is free again.
    pub async fn claim(&self, message_id: &str, budget: &str, at: DateTime<Utc>) -> Result<Claim, LedgerError> {
        let lease_until = at.timestamp() + LEASE.as_secs() as i64;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("alert#{message_id}")))
            .item("sk", s("claim"))
            .item("state", s("in-progress"))
            .item("budget", s(budget))
            .item("at", s(timestamp(at)))
            .item("lease", AttributeValue::N(lease_until.to_string()))
            .item("expires", expires(at))
            .condition_expression("attribute_not_exists(pk) OR (#state = :progress AND lease < :now)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":progress", s("in-progress"))
            .expression_attribute_values(":now", AttributeValue::N(at.timestamp().to_string()))
            .send()
            .await
            .aws("PutItem");
        match put {
            Ok(_) => Ok(Claim::Claimed),
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => {
                let item = self.read_claim(message_id).await?;
                let Some(item) = &item else {
                    // NOTE: released between our put and our read: the delivery is free; the retry takes it.
                    return Ok(Claim::InProgress { at: timestamp(at) });
                };
                let when = optional(item, "at").unwrap_or_default().to_owned();
                Ok(match optional(item, "state") {
                    Some("done") => {
                        Claim::Done { at: when, outcome: optional(item, "outcome").unwrap_or("").to_owned() }
                    }
                    Some("continued") => Claim::Continued { part: part_of(item) },
                    _ => Claim::InProgress { at: when },
                })
            }
            Err(err) => Err(self.fail("PutItem")(err)),
        }
    }

    /// Marks a claimed delivery handled, with its outcome label: later deliveries are skipped.
    pub async fn settle(&self, message_id: &str, outcome: &str) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("alert#{message_id}")))
            .key("sk", s("claim"))
            .update_expression("SET #state = :done, outcome = :outcome REMOVE lease")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":outcome", s(outcome))
            .send()
            .await
            .aws("UpdateItem")
            .map_err(self.fail("UpdateItem"))?;
        Ok(())
    }

    /// Gives a claimed delivery up after a retryable failure, so that Lambda's retry can claim it.
    pub async fn release(&self, message_id: &str) -> Result<(), LedgerError> {
        self.release_item(&format!("alert#{message_id}"), "claim").await
    }

    /// Deletes the claim item `pk`/`sk` if it is still `in-progress` (one that moved on is left as it is):
    /// giving up a delivery's claim, or a sweep page's.
    pub(super) async fn release_item(&self, pk: &str, sk: &str) -> Result<(), LedgerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("#state = :progress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":progress", s("in-progress"))
            .send()
            .await
            .aws("DeleteItem")
            .map(|_| ())
            .or_else(|err| match err {
                AwsError::Rejected { code, .. } if code == "ConditionalCheckFailedException" => Ok(()),
                err => Err(self.fail("DeleteItem")(err)),
            })
    }

    /// Hands a claimed delivery on to part `next`: the claim keeps the alert's `event` and the targets
    /// selected so far, and waits, without a lease, for the invocation that takes that part.
    pub async fn continue_claim(
        &self,
        message_id: &str,
        next: u32,
        event: &str,
        selected: &HashMap<String, usize>,
    ) -> Result<(), LedgerError> {
        let selected = serde_json::to_string(selected).unwrap_or_default();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("alert#{message_id}")))
            .key("sk", s("claim"))
            .update_expression(
                "SET #state = :continued, part = :part, event = :event, selected = :selected REMOVE lease",
            )
            .condition_expression("#state = :progress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":continued", s("continued"))
            .expression_attribute_values(":progress", s("in-progress"))
            .expression_attribute_values(":part", AttributeValue::N(next.to_string()))
            .expression_attribute_values(":event", s(event))
            .expression_attribute_values(":selected", s(selected))
            .send()
            .await
            .aws("UpdateItem")
            .map_err(self.fail("UpdateItem"))?;
        Ok(())
    }

    /// Takes part `part` of a continued enforcement for this invocation: a conditional update that only
    /// one invocation wins (or that takes over a part whose invocation died, once its lease ran out).
    pub async fn resume(&self, message_id: &str, part: u32, at: DateTime<Utc>) -> Result<Resume, LedgerError> {
        let lease_until = at.timestamp() + LEASE.as_secs() as i64;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("alert#{message_id}")))
            .key("sk", s("claim"))
            .update_expression("SET #state = :progress, lease = :lease")
            .condition_expression("part = :part AND (#state = :continued OR (#state = :progress AND lease < :now))")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":continued", s("continued"))
            .expression_attribute_values(":progress", s("in-progress"))
            .expression_attribute_values(":part", AttributeValue::N(part.to_string()))
            .expression_attribute_values(":lease", AttributeValue::N(lease_until.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(at.timestamp().to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .aws("UpdateItem");
        match update {
            Ok(out) => {
                let item = out.attributes().cloned().unwrap_or_default();
                let selected = optional(&item, "selected").and_then(|s| serde_json::from_str(s).ok());
                Ok(Resume::Taken {
                    event: optional(&item, "event").unwrap_or_default().to_owned(),
                    selected: selected.unwrap_or_default(),
                    since: optional(&item, "at").unwrap_or_default().to_owned(),
                })
            }
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => {
                let item = self.read_claim(message_id).await?;
                let id = crate::telemetry::clip(message_id);
                Ok(match &item {
                    None => Resume::Refused { reason: format!("alert {id} has no enforcement that continues") },
                    Some(item) if optional(item, "state") == Some("continued") => {
                        Resume::Waiting { part: part_of(item) }
                    }
                    Some(item) => {
                        let state = optional(item, "state").unwrap_or("unknown");
                        let reason =
                            format!("alert {id} is {state} at part {}, not waiting for part {part}", part_of(item));
                        Resume::Refused { reason }
                    }
                })
            }
            Err(err) => Err(self.fail("UpdateItem")(err)),
        }
    }

    /// Gives part `part` back after a retryable failure: it waits again for the queue's retry.
    pub async fn release_part(&self, message_id: &str, part: u32) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("alert#{message_id}")))
            .key("sk", s("claim"))
            .update_expression("SET #state = :continued REMOVE lease")
            .condition_expression("#state = :progress AND part = :part")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":continued", s("continued"))
            .expression_attribute_values(":progress", s("in-progress"))
            .expression_attribute_values(":part", AttributeValue::N(part.to_string()))
            .send()
            .await
            .aws("UpdateItem")
            .map(|_| ())
            .or_else(|err| match err {
                AwsError::Rejected { code, .. } if code == "ConditionalCheckFailedException" => Ok(()),
                err => Err(self.fail("UpdateItem")(err)),
            })
    }
}

impl LedgerTable {
    /// The claim item of a delivery as it is now (a consistent read), after a conditional write lost.
    async fn read_claim(&self, message_id: &str) -> Result<Option<super::Item>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("alert#{message_id}")))
            .key("sk", s("claim"))
            .consistent_read(true)
            .send()
            .await
            .aws("GetItem")
            .map_err(self.fail("GetItem"))?;
        Ok(out.item)
    }
}

/// The part a claim is at (1 for a claim that never continued).
fn part_of(item: &super::Item) -> u32 {
    match item.get("part") {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or(1),
        _ => 1,
    }
}
