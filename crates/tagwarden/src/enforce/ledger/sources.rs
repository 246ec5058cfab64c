//! The last known values of the tag sources: what the auto-tagger saw and wrote of the protected keys of a
//! Studio domain, user profile or space, or accepted from one of the policy's admins. Tamper repair of a source
//! writes these back, not the values of the source's own sources (a profile's domain).
//!
//! One item per source, `pk` `source#<arn>`, `sk` `last`, overwritten with a plain put; no `expires`: a profile
//! nobody touches for a year still has a last value.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Item, LedgerError, LedgerTable, key_of, optional, s, text};
use crate::aws::ResultExt;

/// The sort key of a source's item.
pub const SOURCE_SK: &str = "last";

/// What the ledger knows of a source resource's protected keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// The source's ARN (domain, user profile or space).
    pub arn: String,
    /// The protected keys' values it carried; a key it lacked is absent.
    pub values: BTreeMap<String, String>,
    /// When they were recorded ([`super::timestamp`]).
    pub at: String,
    /// Who set them: `auto-tagger`, or the ARN of the admin whose change was accepted.
    pub by: String,
}

/// `source#<arn>`.
pub fn source_pk(arn: &str) -> String {
    format!("source#{arn}")
}

impl LedgerTable {
    /// The last values recorded for a source, if any (a consistent read).
    pub async fn last_source_values(&self, arn: &str) -> Result<Option<SourceRecord>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(source_pk(arn)))
            .key("sk", s(SOURCE_SK))
            .consistent_read(true)
            .send()
            .await
            .aws("GetItem")
            .map_err(self.fail("GetItem"))?;
        out.item().map(|item| record_of(arn, item)).transpose()
    }

    /// Records a source's values, replacing what was recorded before.
    pub async fn record_source_values(&self, record: &SourceRecord) -> Result<(), LedgerError> {
        let values = serde_json::to_string(&record.values).unwrap_or_else(|_| "{}".to_owned());
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(source_pk(&record.arn)))
            .item("sk", s(SOURCE_SK))
            .item("values", s(values))
            .item("at", s(&record.at))
            .item("by", s(&record.by))
            .send()
            .await
            .aws("PutItem")
            .map_err(self.fail("PutItem"))?;
        Ok(())
    }
}

fn record_of(arn: &str, item: &Item) -> Result<SourceRecord, LedgerError> {
    let values = serde_json::from_str(text(item, "values")?)
        .map_err(|e| LedgerError::Malformed { key: key_of(item), problem: format!("values: {e}") })?;
    Ok(SourceRecord {
        arn: arn.to_owned(),
        values,
        at: optional(item, "at").unwrap_or_default().to_owned(),
        by: optional(item, "by").unwrap_or_default().to_owned(),
    })
}

/// The item a record is stored as, for tests that seed the ledger by hand.
pub fn source_item(record: &SourceRecord) -> Item {
    let values = serde_json::to_string(&record.values).unwrap_or_else(|_| "{}".to_owned());
    Item::from([
        ("pk".to_owned(), s(source_pk(&record.arn))),
        ("sk".to_owned(), s(SOURCE_SK)),
        ("values".to_owned(), AttributeValue::S(values)),
        ("at".to_owned(), s(&record.at)),
        ("by".to_owned(), s(&record.by)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::Client as Ddb;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const PROFILE: &str = "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-1/dave";

    fn record() -> SourceRecord {
        SourceRecord {
            arn: PROFILE.into(),
            values: BTreeMap::from([("cost-center".to_owned(), "CC-1000".to_owned())]),
            at: "2026-12-01T06:00:00.000Z".into(),
            by: "auto-tagger".into(),
        }
    }

    #[tokio::test]
    async fn a_source_record_is_put_under_its_arn_and_read_back_as_written() {
        let item = source_item(&record());
        let put = mock!(Ddb::put_item)
            .match_requests(move |r| r.item() == Some(&item) && r.condition_expression().is_none())
            .then_output(|| PutItemOutput::builder().build());
        let stored = source_item(&record());
        let get = mock!(Ddb::get_item)
            .match_requests(|r| {
                r.key().and_then(|k| k.get("pk")) == Some(&s(source_pk(PROFILE))) && r.consistent_read() == Some(true)
            })
            .then_output(move || GetItemOutput::builder().set_item(Some(stored.clone())).build());
        let table = LedgerTable::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &get]), "ledger");
        table.record_source_values(&record()).await.unwrap();
        assert_eq!(table.last_source_values(PROFILE).await.unwrap(), Some(record()));
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_source_never_recorded_has_no_last_values_and_a_malformed_item_says_which() {
        let none = mock!(Ddb::get_item).then_output(|| GetItemOutput::builder().build());
        let table = LedgerTable::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&none]), "ledger");
        assert_eq!(table.last_source_values(PROFILE).await.unwrap(), None);

        let mut bad = source_item(&record());
        bad.insert("values".into(), s("not json"));
        let malformed =
            mock!(Ddb::get_item).then_output(move || GetItemOutput::builder().set_item(Some(bad.clone())).build());
        let table = LedgerTable::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&malformed]), "ledger");
        let err = table.last_source_values(PROFILE).await.unwrap_err();
        assert!(err.to_string().contains(&source_pk(PROFILE)) && err.to_string().contains("values"), "{err}");
    }
}
