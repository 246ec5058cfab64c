//! The Price List's answers the burn-rate guard fetched, kept so that a cold start does not ask again: one
//! item per (region, instance type), `pk` `price#<region>#<instance type>`, `sk` `prices`, with `fetched_at`;
//! overwritten with a plain put, `expires` a week on (a price older than a day is fetched again anyway).

use super::{Item, LedgerError, LedgerTable, key_of, s, text};
use crate::aws::ResultExt;
use crate::pricing::{Fetched, Prices};

/// The sort key of a price item.
pub const PRICE_SK: &str = "prices";

/// `price#<region>#<instance type>`.
pub fn price_pk(region: &str, instance_type: &str) -> String {
    format!("price#{region}#{instance_type}")
}

impl LedgerTable {
    /// The prices kept for an instance type in a region, if any.
    pub async fn price(&self, region: &str, instance_type: &str) -> Result<Option<Fetched>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(price_pk(region, instance_type)))
            .key("sk", s(PRICE_SK))
            .send()
            .await
            .aws("GetItem")
            .map_err(self.fail("GetItem"))?;
        out.item().map(fetched_of).transpose()
    }

    /// Keeps the prices fetched for an instance type in a region, replacing what was kept.
    pub async fn record_price(&self, region: &str, instance_type: &str, fetched: &Fetched) -> Result<(), LedgerError> {
        let prices = serde_json::to_string(&fetched.prices).unwrap_or_else(|_| "{}".to_owned());
        let expires = (fetched.fetched_at.timestamp() + 7 * 86_400).to_string();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(price_pk(region, instance_type)))
            .item("sk", s(PRICE_SK))
            .item("prices", s(prices))
            .item("fetched_at", s(super::timestamp(fetched.fetched_at)))
            .item("expires", aws_sdk_dynamodb::types::AttributeValue::N(expires))
            .send()
            .await
            .aws("PutItem")
            .map_err(self.fail("PutItem"))?;
        Ok(())
    }
}

fn fetched_of(item: &Item) -> Result<Fetched, LedgerError> {
    let malformed = |problem: String| LedgerError::Malformed { key: key_of(item), problem };
    let prices: Prices = serde_json::from_str(text(item, "prices")?).map_err(|e| malformed(format!("prices: {e}")))?;
    let fetched_at = chrono::DateTime::parse_from_rfc3339(text(item, "fetched_at")?)
        .map_err(|e| malformed(format!("fetched_at: {e}")))?
        .with_timezone(&chrono::Utc);
    Ok(Fetched { prices, fetched_at })
}
