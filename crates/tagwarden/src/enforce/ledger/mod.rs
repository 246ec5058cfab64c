//! The enforcement ledger: what the budget-enforcer decided and did, kept in a DynamoDB table that only
//! Tagwarden writes (the enforcer; the auto-tagger only its `source#` items). It is the enforcer's memory across Lambda instances — which SNS deliveries were
//! handled, what each action changed (so `restore` undoes exactly that), which budget periods still hold
//! enforcement — and its history (`tagwarden history`). A tag on a resource is never evidence here.
//!
//! One table, `pk`/`sk` strings, one index `by-resource` (`resource`, `at`), TTL on `expires`:
//!
//! | item        | `pk`               | `sk`                                        | what it holds |
//! |-------------|--------------------|---------------------------------------------|---------------|
//! | claim       | `alert#<MessageId>`| `claim`                                     | the delivery's state (`in-progress` until `lease`, `continued` at `part` with the alert's `event`, `done`) |
//! | entry       | `budget#<budget>`  | `act#<at>#<alert>#<action>#<resource>`      | one decision or action: result, state before, step, period, dry run |
//! | undo        | `budget#<budget>`  | `undo#<period start>#<action>#<resource>`   | what to undo: the state before, `open` until restored |
//! | open period | `open`             | `<period end>#<budget>`                     | a budget period with undo items; the tick restores it when it ends |
//! | source      | `source#<arn>`     | `last`                                      | the auto-tagger's last known values of a tag source's protected keys ([`SourceRecord`]) |
//! | sweep       | `sweep#<run>`      | `run`, `page#…`, `type#…`                   | the queued sweep's progress ([`sweeps`]) |
//! | price       | `price#<region>#<type>` | `prices`                               | the Price List's hourly prices of an instance type, with `fetched_at` (the burn-rate guard) |
//! | idle        | `idle#<rule>`      | `endpoint#<arn>`, `off-hours#<local day>`   | an idle endpoint's notice and grace, an off-hours day's stop ([`IdleMark`]) |
//!
//! Entries carry `resource` and `at`, so the index finds a resource's history; undo items name their
//! resource `target` and stay out of it.
//!
//! `claims` holds the deliveries' claims, `records` what the enforcer did and may undo (and each alert's
//! [`Journal`]), `plans` the deferred steps; this module the table, its errors and the item helpers they share.

mod claims;
mod idle;
mod plans;
mod prices;
mod records;
mod sources;
pub mod sweeps;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, ResultExt};

pub use claims::{Claim, Resume};
pub use idle::IdleMark;
pub use plans::{Plan, PlanMode, PlanState};
pub use prices::{PRICE_SK, price_pk};
pub(crate) use records::Journal;
pub use records::{Before, Bounds, DeployedVariant, Entry, Undo};
pub use sources::{SOURCE_SK, SourceRecord, source_item, source_pk};
pub use sweeps::{ProgressKey, RunProgress, SWEEP_KEY_PREFIX};

/// The index over entries by resource ARN (`resource`, `at`).
pub const BY_RESOURCE: &str = "by-resource";
/// The environment variable naming the table.
pub const TABLE_ENV: &str = "TAGWARDEN_LEDGER_TABLE";
/// How long entries and handled-delivery claims are kept (DynamoDB's TTL deletes them after).
pub const RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);
/// How long a claim holds a delivery for one invocation: the Lambda's longest run (15 min) and a margin.
pub const LEASE: Duration = Duration::from_secs(16 * 60);

/// Why the ledger could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The table does not exist (a deployment problem: retrying will not help).
    #[error("the enforcement ledger table {table:?} does not exist ({operation}); deploy it or set {TABLE_ENV}")]
    Missing {
        /// The table name.
        table: String,
        /// The call that found it missing.
        operation: &'static str,
    },
    /// Any other failure of a call; retryable when throttled or unavailable.
    #[error("enforcement ledger: {0}")]
    Aws(AwsError),
    /// An item the ledger holds is not one it wrote (a field is missing or malformed).
    #[error("enforcement ledger: item {key} is malformed: {problem}")]
    Malformed {
        /// `pk`/`sk` of the item.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl LedgerError {
    /// Whether retrying may succeed (throttling, outage).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Aws(err) if err.is_retryable())
    }

    /// The error as an [`AwsError`], for the handler's classification (retryable or not).
    pub fn into_aws(self) -> AwsError {
        match self {
            Self::Aws(err) => err,
            other => {
                AwsError::Rejected { operation: "EnforcementLedger", code: "Ledger".into(), message: other.to_string() }
            }
        }
    }
}

/// A budget period, as the ledger keys it: `YYYY-MM-DD` dates, the end exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodKey {
    /// The first day.
    pub start: String,
    /// The first day of the next period.
    pub end: String,
}

/// Where an action happened: an account and region of the organization, or empty for the central
/// (single-account) deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Place {
    /// The account (empty: the central account).
    pub account: String,
    /// The region (empty: the central region).
    pub region: String,
}

impl Place {
    /// The account and region an ARN names (IAM ARNs name no region; a non-ARN names neither).
    pub fn of_arn(arn: &str) -> Self {
        let mut parts = arn.splitn(6, ':');
        match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(_), Some(_), Some(region), Some(account)) => {
                Self { account: account.to_owned(), region: region.to_owned() }
            }
            _ => Self::default(),
        }
    }
}

/// The ledger table and its client, built once per process.
#[derive(Debug, Clone)]
pub struct LedgerTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Now, as the ledger writes it.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// RFC 3339 in UTC with milliseconds, fixed width, so that strings sort as times do.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn expires(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N((at.timestamp() + RETENTION.as_secs() as i64).to_string())
}

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, LedgerError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(LedgerError::Malformed { key: key_of(item), problem: format!("no string attribute {name:?}") }),
    }
}

pub(super) fn optional<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

pub(super) fn key_of(item: &Item) -> String {
    format!("{}/{}", optional(item, "pk").unwrap_or("?"), optional(item, "sk").unwrap_or("?"))
}

pub(super) fn before_of(item: &Item) -> Result<Option<Before>, LedgerError> {
    optional(item, "before")
        .map(|json| {
            serde_json::from_str(json)
                .map_err(|e| LedgerError::Malformed { key: key_of(item), problem: format!("before: {e}") })
        })
        .transpose()
}

pub(super) fn budget_pk(budget: &str) -> String {
    format!("budget#{budget}")
}

impl LedgerTable {
    /// The ledger in `table`, through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    pub(super) fn fail(&self, operation: &'static str) -> impl Fn(AwsError) -> LedgerError + '_ {
        // NOTE: DynamoDB's only ResourceNotFoundException on these calls is a missing table (or index).
        move |err| match err {
            AwsError::NotFound { .. } => LedgerError::Missing { table: self.table.clone(), operation },
            err => LedgerError::Aws(err),
        }
    }

    /// Items of `pk` whose `sk` lies between `from` and `to` (each bound optional).
    pub(super) async fn query(
        &self,
        pk: &str,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<Vec<Item>, LedgerError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            query = match (&from, &to) {
                (Some(from), Some(to)) => query
                    .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to)),
                (None, Some(to)) => {
                    query.key_condition_expression("pk = :pk AND sk < :to").expression_attribute_values(":to", s(to))
                }
                (Some(from), None) => query
                    .key_condition_expression("pk = :pk AND sk >= :from")
                    .expression_attribute_values(":from", s(from)),
                (None, None) => query.key_condition_expression("pk = :pk"),
            };
            let out = query.send().await.aws("Query").map_err(self.fail("Query"))?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::Client as Ddb;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn error(code: &str) -> HttpResponse {
        let body = serde_json::json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": "from the mock"});
        HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body.to_string()))
    }

    fn table(rules: &[&Rule]) -> LedgerTable {
        let no_retry = |c: aws_sdk_dynamodb::config::Builder| {
            c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        };
        LedgerTable::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules.iter().copied(), no_retry), "ledger")
    }

    #[tokio::test]
    async fn a_throttled_claim_is_retryable_and_a_missing_table_says_which_table() {
        let throttled = mock!(Ddb::put_item).then_http_response(|| error("ProvisionedThroughputExceededException"));
        let err = table(&[&throttled]).claim("m-1", "b", now()).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");

        let missing = mock!(Ddb::put_item).then_http_response(|| error("ResourceNotFoundException"));
        let err = table(&[&missing]).claim("m-1", "b", now()).await.unwrap_err();
        assert!(!err.is_retryable());
        assert!(
            err.to_string().starts_with("the enforcement ledger table \"ledger\" does not exist (PutItem)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn entries_dynamodb_leaves_unprocessed_are_sent_again() {
        let entry = Entry {
            at: timestamp(now()),
            budget: "b".into(),
            period: None,
            trigger: "m-1".into(),
            step: Some(100.0),
            action: "stop-notebooks".into(),
            resource: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb".into(),
            result: "done".into(),
            before: None,
            dry_run: false,
            place: Place::default(),
        };
        let ledger = table(&[]);
        let request = ledger.entry_request(&entry).unwrap();
        let batch = mock!(Ddb::batch_write_item)
            .sequence()
            .output(move || {
                aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput::builder()
                    .unprocessed_items("ledger", vec![request.clone()])
                    .build()
            })
            .output(|| aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput::builder().build())
            .build();
        table(&[&batch]).record(&[entry]).await.unwrap();
        assert_eq!(batch.num_calls(), 2);
    }

    #[test]
    fn the_state_before_reads_as_people_say_it() {
        let endpoint = Before::Endpoint {
            name: "ep".into(),
            variants: vec![("AllTraffic".into(), 3)],
            scalable_targets: vec![],
            provisioned_concurrency: vec![],
        };
        assert_eq!(endpoint.to_string(), "instances AllTraffic=3");
        assert_eq!(
            Place::of_arn("arn:aws:iam::123456789012:role/r"),
            Place { account: "123456789012".into(), region: String::new() }
        );
    }
}
