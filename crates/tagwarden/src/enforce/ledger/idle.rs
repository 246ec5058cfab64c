//! What the idle rules remember between ticks, under `idle#<rule>`: each idle endpoint's notice (when it
//! was noticed, when its grace ends, whether the rule acted), and each local day an off-hours rule stopped
//! (so that a later tick that evening does not stop again what a person started on purpose).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Item, LedgerError, LedgerTable, expires, now, optional, s, text, timestamp};
use crate::aws::{AwsError, ResultExt};

/// An endpoint an idle rule found idle and told its owner about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdleMark {
    /// The endpoint's ARN.
    pub resource: String,
    /// Its name.
    pub name: String,
    /// When the owner was told (RFC 3339).
    pub noticed_at: String,
    /// When the grace ends: a tick from then on acts if it is still idle (RFC 3339).
    pub due: String,
    /// Whether the rule has acted on it (scaled or deleted): it is not noticed or acted on again.
    pub acted: bool,
}

fn idle_pk(rule: &str) -> String {
    format!("idle#{rule}")
}

fn conditional_failed(err: &AwsError) -> bool {
    matches!(err, AwsError::Rejected { code, .. } if code == "ConditionalCheckFailedException")
}

impl LedgerTable {
    /// The endpoints rule `rule` (its ledger name, `idle:<name>`) has noticed and not cleared.
    pub async fn idle_marks(&self, rule: &str) -> Result<Vec<IdleMark>, LedgerError> {
        let items = self.query(&idle_pk(rule), Some("endpoint#".to_owned()), Some("endpoint$".to_owned())).await?;
        items.iter().map(mark_of).collect()
    }

    /// Records that `mark`'s endpoint was found idle and its owner told; `false` if a mark exists already.
    pub async fn put_idle_mark(&self, rule: &str, mark: &IdleMark) -> Result<bool, LedgerError> {
        let item = self
            .client
            .put_item()
            .item("sk", s(format!("endpoint#{}", mark.resource)))
            .item("resource_arn", s(&mark.resource))
            .item("name", s(&mark.name))
            .item("noticed_at", s(&mark.noticed_at))
            .item("due", s(&mark.due))
            .item("state", s(if mark.acted { "acted" } else { "noticed" }))
            .item("expires", expires(now()));
        self.put_new(rule, item).await
    }

    /// Marks a noticed endpoint acted on.
    pub async fn set_idle_acted(&self, rule: &str, resource: &str) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(idle_pk(rule)))
            .key("sk", s(format!("endpoint#{resource}")))
            .update_expression("SET #state = :acted")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":acted", s("acted"))
            .send()
            .await
            .aws("UpdateItem")
            .map_err(self.fail("UpdateItem"))?;
        Ok(())
    }

    /// Forgets an endpoint's mark: it served traffic again, or it is gone.
    pub async fn clear_idle_mark(&self, rule: &str, resource: &str) -> Result<(), LedgerError> {
        self.delete_idle_item(rule, format!("endpoint#{resource}")).await
    }

    /// Claims an off-hours rule's stop for one local day (a conditional put); `false` if it ran that day.
    pub async fn claim_off_hours(&self, rule: &str, day: &str, at: DateTime<Utc>) -> Result<bool, LedgerError> {
        let item = self
            .client
            .put_item()
            .item("sk", s(format!("off-hours#{day}")))
            .item("at", s(timestamp(at)))
            .item("expires", expires(at));
        self.put_new(rule, item).await
    }

    /// Gives an off-hours day's claim back (its stop failed and should run again at the next tick).
    pub async fn release_off_hours(&self, rule: &str, day: &str) -> Result<(), LedgerError> {
        self.delete_idle_item(rule, format!("off-hours#{day}")).await
    }

    /// Puts `item` under `idle#<rule>` unless that key exists; `false` if it did.
    async fn put_new(
        &self,
        rule: &str,
        item: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    ) -> Result<bool, LedgerError> {
        let put = item
            .table_name(&self.table)
            .item("pk", s(idle_pk(rule)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .aws("PutItem");
        match put {
            Ok(_) => Ok(true),
            Err(err) if conditional_failed(&err) => Ok(false),
            Err(err) => Err(self.fail("PutItem")(err)),
        }
    }

    /// Deletes one item under `idle#<rule>`.
    async fn delete_idle_item(&self, rule: &str, sk: String) -> Result<(), LedgerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(idle_pk(rule)))
            .key("sk", s(sk))
            .send()
            .await
            .aws("DeleteItem")
            .map_err(self.fail("DeleteItem"))?;
        Ok(())
    }
}

fn mark_of(item: &Item) -> Result<IdleMark, LedgerError> {
    Ok(IdleMark {
        resource: text(item, "resource_arn")?.to_owned(),
        name: text(item, "name")?.to_owned(),
        noticed_at: text(item, "noticed_at")?.to_owned(),
        due: text(item, "due")?.to_owned(),
        acted: optional(item, "state") == Some("acted"),
    })
}
