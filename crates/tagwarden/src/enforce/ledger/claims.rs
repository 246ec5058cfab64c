//! Claims on SNS deliveries: one invocation of the enforcer acts on a message, however often it is delivered.

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
                let item = self
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
                let Some(item) = item.item() else {
                    // NOTE: released between our put and our read: the delivery is free; the retry takes it.
                    return Ok(Claim::InProgress { at: timestamp(at) });
                };
                let when = optional(item, "at").unwrap_or_default().to_owned();
                Ok(match optional(item, "state") {
                    Some("done") => {
                        Claim::Done { at: when, outcome: optional(item, "outcome").unwrap_or("").to_owned() }
                    }
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
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("alert#{message_id}")))
            .key("sk", s("claim"))
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
}
