//! The enforcement ledger: what the budget-enforcer decided and did, kept in a DynamoDB table that only
//! the enforcer writes. It is the enforcer's memory across Lambda instances — which SNS deliveries were
//! handled, what each action changed (so `restore` undoes exactly that), which budget periods still hold
//! enforcement — and its history (`tagwarden history`). A tag on a resource is never evidence here.
//!
//! One table, `pk`/`sk` strings, one index `by-resource` (`resource`, `at`), TTL on `expires`:
//!
//! | item        | `pk`               | `sk`                                        | what it holds |
//! |-------------|--------------------|---------------------------------------------|---------------|
//! | claim       | `alert#<MessageId>`| `claim`                                     | the delivery's state (`in-progress` until `lease`, `done`) |
//! | entry       | `budget#<budget>`  | `act#<at>#<alert>#<action>#<resource>`      | one decision or action: result, state before, step, period, dry run |
//! | undo        | `budget#<budget>`  | `undo#<period start>#<action>#<resource>`   | what to undo: the state before, `open` until restored |
//! | open period | `open`             | `<period end>#<budget>`                     | a budget period with undo items; the tick restores it when it ends |
//!
//! Entries carry `resource` and `at`, so the index finds a resource's history; undo items name their
//! resource `target` and stay out of it.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, ResultExt};

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

/// What an action changed, recorded before the change: `restore` puts exactly this back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Before {
    /// A notebook instance the enforcer stopped, and its status then.
    Notebook {
        /// The notebook instance name.
        name: String,
        /// Its status before the stop (`InService`).
        status: String,
    },
    /// An endpoint the enforcer scaled down, and its variants' instance counts then.
    Endpoint {
        /// The endpoint name.
        name: String,
        /// `(variant, instance count)` of every variant that was scaled.
        variants: Vec<(String, i32)>,
    },
    /// A role the deny policy was attached to by the enforcer (it was not attached before).
    Role {
        /// The role name.
        name: String,
        /// The deny policy attached.
        policy_arn: String,
    },
}

impl std::fmt::Display for Before {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Notebook { status, .. } => write!(f, "status {status}"),
            Self::Endpoint { variants, .. } => {
                let counts: Vec<String> = variants.iter().map(|(v, c)| format!("{v}={c}")).collect();
                write!(f, "instances {}", counts.join(" "))
            }
            Self::Role { policy_arn, .. } => write!(f, "deny policy {policy_arn} not attached"),
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

/// One decision or action of the enforcer, as `tagwarden history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The budget.
    pub budget: String,
    /// The budget period the alert fell in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodKey>,
    /// What asked for it: the SNS `MessageId` of the alert, `restore`, `tick`, or `plan:<id>`.
    pub trigger: String,
    /// The step reached, in percent (alerts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// The action's policy name, or its restore's (`restore-endpoint`, …).
    pub action: String,
    /// The resource acted on (or decided about).
    pub resource: String,
    /// How it ended (`done`, `exempt`, `failed: …`).
    pub result: String,
    /// The state before, where the action is reversible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Before>,
    /// Decided only (dry run).
    pub dry_run: bool,
    /// Where.
    #[serde(flatten)]
    pub place: Place,
}

/// Something the enforcer changed and `restore` may undo.
#[derive(Debug, Clone, PartialEq)]
pub struct Undo {
    /// The budget whose alert made the change.
    pub budget: String,
    /// The budget period.
    pub period: PeriodKey,
    /// The action's policy name (`stop-notebooks`, `scale-endpoints`, `deny-iam`).
    pub action: String,
    /// The resource changed.
    pub resource: String,
    /// The state before.
    pub before: Before,
    /// The alert that made it (SNS `MessageId`).
    pub trigger: String,
    /// When.
    pub at: String,
    /// Where.
    pub place: Place,
}

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

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn expires(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N((at.timestamp() + RETENTION.as_secs() as i64).to_string())
}

type Item = HashMap<String, AttributeValue>;

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, LedgerError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(LedgerError::Malformed { key: key_of(item), problem: format!("no string attribute {name:?}") }),
    }
}

fn optional<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

fn key_of(item: &Item) -> String {
    format!("{}/{}", optional(item, "pk").unwrap_or("?"), optional(item, "sk").unwrap_or("?"))
}

fn before_of(item: &Item) -> Result<Option<Before>, LedgerError> {
    optional(item, "before")
        .map(|json| {
            serde_json::from_str(json)
                .map_err(|e| LedgerError::Malformed { key: key_of(item), problem: format!("before: {e}") })
        })
        .transpose()
}

fn budget_pk(budget: &str) -> String {
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

    fn fail(&self, operation: &'static str) -> impl Fn(AwsError) -> LedgerError + '_ {
        // NOTE: DynamoDB's only ResourceNotFoundException on these calls is a missing table (or index).
        move |err| match err {
            AwsError::NotFound { .. } => LedgerError::Missing { table: self.table.clone(), operation },
            err => LedgerError::Aws(err),
        }
    }

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

    /// Records what an action is about to change, before it changes it (a conditional put: the first
    /// record of a resource in a period holds its state before, a retry or a later alert keeps it, and one
    /// already restored is replaced), and,
    /// with `open_period`, marks the period open for the tick. Returns whether this record is new.
    pub async fn remember(&self, undo: &Undo, open_period: bool) -> Result<bool, LedgerError> {
        let before = serde_json::to_string(&undo.before).unwrap_or_default();
        let at = DateTime::parse_from_rfc3339(&undo.at).map(|t| t.with_timezone(&Utc)).unwrap_or_else(|_| now());
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(budget_pk(&undo.budget)))
            .item("sk", s(format!("undo#{}#{}#{}", undo.period.start, undo.action, undo.resource)))
            .item("budget", s(&undo.budget))
            .item("period_start", s(&undo.period.start))
            .item("period_end", s(&undo.period.end))
            .item("action", s(&undo.action))
            .item("target", s(&undo.resource))
            .item("before", s(before))
            .item("trigger", s(&undo.trigger))
            .item("made_at", s(&undo.at))
            .item("account", s(&undo.place.account))
            .item("region", s(&undo.place.region))
            .item("state", s("open"))
            // NOTE: an item restored already (a restore earlier in the period) is replaced: the change is new.
            .condition_expression("attribute_not_exists(pk) OR #state = :restored")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":restored", s("restored"))
            .send()
            .await
            .aws("PutItem");
        let new = match put {
            Ok(_) => true,
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => false,
            Err(err) => return Err(self.fail("PutItem")(err)),
        };
        if new && open_period {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s("open"))
                .item("sk", s(format!("{}#{}", undo.period.end, undo.budget)))
                .item("budget", s(&undo.budget))
                .item("period_end", s(&undo.period.end))
                .item("expires", expires(at))
                .send()
                .await
                .aws("PutItem")
                .map_err(self.fail("PutItem"))?;
        }
        Ok(new)
    }

    /// Writes entries, 25 to a `BatchWriteItem` call, re-sending what DynamoDB left unprocessed.
    pub async fn record(&self, entries: &[Entry]) -> Result<(), LedgerError> {
        for chunk in entries.chunks(25) {
            let mut requests: Vec<WriteRequest> =
                chunk.iter().map(|e| self.entry_request(e)).collect::<Result<_, _>>()?;
            for attempt in 0..5u32 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .aws("BatchWriteItem")
                    .map_err(self.fail("BatchWriteItem"))?;
                requests = out.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt == 4 {
                    return Err(LedgerError::Aws(AwsError::Throttled {
                        operation: "BatchWriteItem",
                        code: "UnprocessedItems".into(),
                        message: format!("{} entries left unprocessed after 5 attempts", requests.len()),
                    }));
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }

    fn entry_request(&self, e: &Entry) -> Result<WriteRequest, LedgerError> {
        let at = DateTime::parse_from_rfc3339(&e.at).map(|t| t.with_timezone(&Utc)).unwrap_or_else(|_| now());
        let mut item: Item = HashMap::from([
            ("pk".to_owned(), s(budget_pk(&e.budget))),
            ("sk".to_owned(), s(format!("act#{}#{}#{}#{}", e.at, e.trigger, e.action, e.resource))),
            ("budget".to_owned(), s(&e.budget)),
            ("at".to_owned(), s(&e.at)),
            ("trigger".to_owned(), s(&e.trigger)),
            ("action".to_owned(), s(&e.action)),
            ("resource".to_owned(), s(&e.resource)),
            ("result".to_owned(), s(&e.result)),
            ("dry_run".to_owned(), AttributeValue::Bool(e.dry_run)),
            ("account".to_owned(), s(&e.place.account)),
            ("region".to_owned(), s(&e.place.region)),
            ("expires".to_owned(), expires(at)),
        ]);
        if let Some(period) = &e.period {
            item.insert("period_start".into(), s(&period.start));
            item.insert("period_end".into(), s(&period.end));
        }
        if let Some(step) = e.step {
            item.insert("step".into(), AttributeValue::N(step.to_string()));
        }
        if let Some(before) = &e.before {
            item.insert("before".into(), s(serde_json::to_string(before).unwrap_or_default()));
        }
        let put = PutRequest::builder().set_item(Some(item)).build().map_err(|e| {
            LedgerError::Aws(AwsError::Rejected {
                operation: "BatchWriteItem",
                code: "ConstructionFailure".into(),
                message: e.to_string(),
            })
        })?;
        Ok(WriteRequest::builder().put_request(put).build())
    }

    /// The open undo items of a budget (every period), oldest period first.
    pub async fn undos(&self, budget: &str) -> Result<Vec<Undo>, LedgerError> {
        // NOTE: BETWEEN "undo#" and "undo$" ('$' follows '#') is every sk that begins with "undo#".
        let items = self.query(&budget_pk(budget), Some("undo#".to_owned()), Some("undo$".to_owned())).await?;
        let mut undos = Vec::new();
        for item in items.iter().filter(|item| optional(item, "state") == Some("open")) {
            let Some(before) = before_of(item)? else {
                return Err(LedgerError::Malformed { key: key_of(item), problem: "no state before".into() });
            };
            undos.push(Undo {
                budget: text(item, "budget")?.to_owned(),
                period: PeriodKey {
                    start: text(item, "period_start")?.to_owned(),
                    end: text(item, "period_end")?.to_owned(),
                },
                action: text(item, "action")?.to_owned(),
                resource: text(item, "target")?.to_owned(),
                before,
                trigger: text(item, "trigger")?.to_owned(),
                at: text(item, "made_at")?.to_owned(),
                place: Place { account: text(item, "account")?.to_owned(), region: text(item, "region")?.to_owned() },
            });
        }
        Ok(undos)
    }

    /// Marks an undo item restored, with how the restore ended; it is kept (history) until its TTL.
    pub async fn undone(&self, undo: &Undo, result: &str, at: DateTime<Utc>) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(budget_pk(&undo.budget)))
            .key("sk", s(format!("undo#{}#{}#{}", undo.period.start, undo.action, undo.resource)))
            .update_expression(
                "SET #state = :restored, restored_at = :at, restore_result = :result, expires = :expires",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":restored", s("restored"))
            .expression_attribute_values(":at", s(timestamp(at)))
            .expression_attribute_values(":result", s(result))
            .expression_attribute_values(":expires", expires(at))
            .send()
            .await
            .aws("UpdateItem")
            .map_err(self.fail("UpdateItem"))?;
        Ok(())
    }

    /// The budget periods with undo items that ended on or before `today` (`YYYY-MM-DD`): `(end, budget)`.
    pub async fn ended_periods(&self, today: &str) -> Result<Vec<(String, String)>, LedgerError> {
        // NOTE: `sk` is `<end>#<budget>`; every sk of a period ending today or earlier sorts before "<today>$"
        // ('$' follows '#'), and no later one does.
        let items = self.query("open", None, Some(format!("{today}$"))).await?;
        items.iter().map(|item| Ok((text(item, "period_end")?.to_owned(), text(item, "budget")?.to_owned()))).collect()
    }

    /// Every budget period with undo items: `(end, budget)`.
    pub async fn open_periods(&self) -> Result<Vec<(String, String)>, LedgerError> {
        let items = self.query("open", None, None).await?;
        items.iter().map(|item| Ok((text(item, "period_end")?.to_owned(), text(item, "budget")?.to_owned()))).collect()
    }

    /// Closes a budget period for the tick: all its undo items are restored.
    pub async fn close_period(&self, end: &str, budget: &str) -> Result<(), LedgerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("open"))
            .key("sk", s(format!("{end}#{budget}")))
            .send()
            .await
            .aws("DeleteItem")
            .map_err(self.fail("DeleteItem"))?;
        Ok(())
    }

    /// A budget's entries (oldest first), optionally from `since` (RFC 3339 or a date).
    pub async fn history_of_budget(&self, budget: &str, since: Option<&str>) -> Result<Vec<Entry>, LedgerError> {
        let from = format!("act#{}", since.unwrap_or_default());
        let items = self.query(&budget_pk(budget), Some(from), Some("act$".to_owned())).await?;
        items.iter().map(entry_of).collect()
    }

    /// A resource's entries (oldest first) through the `by-resource` index, optionally from `since`.
    pub async fn history_of_resource(&self, resource: &str, since: Option<&str>) -> Result<Vec<Entry>, LedgerError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_RESOURCE)
                .expression_attribute_values(":r", s(resource))
                .set_exclusive_start_key(start.take());
            query = match since {
                Some(since) => query
                    .key_condition_expression("#resource = :r AND #at >= :since")
                    .expression_attribute_values(":since", s(since))
                    .expression_attribute_names("#at", "at"),
                None => query.key_condition_expression("#resource = :r"),
            };
            let out = query
                .expression_attribute_names("#resource", "resource")
                .send()
                .await
                .aws("Query")
                .map_err(self.fail("Query"))?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        items.iter().map(entry_of).collect()
    }

    /// Every entry of every budget, from `since` (a scan: for `tagwarden history` without a filter).
    pub async fn history(&self, since: Option<&str>) -> Result<Vec<Entry>, LedgerError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(sk, :act)")
                .expression_attribute_values(":act", s("act#"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .aws("Scan")
                .map_err(self.fail("Scan"))?;
            for item in out.items() {
                let entry = entry_of(item)?;
                if since.is_none_or(|since| entry.at.as_str() >= since) {
                    entries.push(entry);
                }
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        entries.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(entries)
    }

    /// Items of `pk` whose `sk` lies between `from` and `to` (each bound optional).
    async fn query(&self, pk: &str, from: Option<String>, to: Option<String>) -> Result<Vec<Item>, LedgerError> {
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

fn entry_of(item: &Item) -> Result<Entry, LedgerError> {
    let period = match (optional(item, "period_start"), optional(item, "period_end")) {
        (Some(start), Some(end)) => Some(PeriodKey { start: start.to_owned(), end: end.to_owned() }),
        _ => None,
    };
    let step = match item.get("step") {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    Ok(Entry {
        at: text(item, "at")?.to_owned(),
        budget: text(item, "budget")?.to_owned(),
        period,
        trigger: text(item, "trigger")?.to_owned(),
        step,
        action: text(item, "action")?.to_owned(),
        resource: text(item, "resource")?.to_owned(),
        result: text(item, "result")?.to_owned(),
        before: before_of(item)?,
        dry_run: matches!(item.get("dry_run"), Some(AttributeValue::Bool(true))),
        place: Place {
            account: optional(item, "account").unwrap_or_default().to_owned(),
            region: optional(item, "region").unwrap_or_default().to_owned(),
        },
    })
}

/// One alert's writer to the ledger: the budget, period, trigger and step every record of it shares, and
/// what its actions recorded as their state before (for the alert's entries).
#[derive(Debug)]
pub(crate) struct Journal<'a> {
    /// The table.
    pub(crate) table: &'a LedgerTable,
    /// The budget.
    pub(crate) budget: String,
    /// Its period.
    pub(crate) period: PeriodKey,
    /// The SNS `MessageId` (or `plan:<id>`).
    pub(crate) trigger: String,
    /// The step reached.
    pub(crate) step: f64,
    /// The state before of each `(action, resource)` remembered so far.
    remembered: std::sync::Mutex<HashMap<(String, String), Before>>,
    /// Whether this alert has marked its budget period open already (once per alert is enough).
    opened: std::sync::atomic::AtomicBool,
}

impl<'a> Journal<'a> {
    /// A journal for one alert.
    pub(crate) fn new(table: &'a LedgerTable, budget: &str, period: PeriodKey, trigger: &str, step: f64) -> Self {
        let (budget, trigger) = (budget.to_owned(), trigger.to_owned());
        Self { table, budget, period, trigger, step, remembered: Default::default(), opened: Default::default() }
    }

    /// Records what `action` is about to change on `resource` in `place` ([`LedgerTable::remember`]).
    pub(crate) async fn remember(
        &self,
        action: &str,
        resource: &str,
        before: Before,
        place: Place,
    ) -> Result<(), AwsError> {
        let undo = Undo {
            budget: self.budget.clone(),
            period: self.period.clone(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            before: before.clone(),
            trigger: self.trigger.clone(),
            at: timestamp(now()),
            place,
        };
        // NOTE: the first concurrent caller marks the period open; if its record was not new (or failed), the
        // next one does.
        let open_period = !self.opened.swap(true, std::sync::atomic::Ordering::AcqRel);
        let new = self.table.remember(&undo, open_period).await.map_err(LedgerError::into_aws);
        if open_period && !matches!(new, Ok(true)) {
            self.opened.store(false, std::sync::atomic::Ordering::Release);
        }
        new?;
        self.remembered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((action.to_owned(), resource.to_owned()), before);
        Ok(())
    }

    /// The alert's entries: one per result, with the state before where one was remembered.
    pub(crate) fn entries(&self, results: &[super::ActionResult], dry_run: bool, at: DateTime<Utc>) -> Vec<Entry> {
        let remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        let at = timestamp(at);
        results
            .iter()
            .map(|r| Entry {
                at: at.clone(),
                budget: self.budget.clone(),
                period: Some(self.period.clone()),
                trigger: self.trigger.clone(),
                step: Some(self.step),
                action: r.action.clone(),
                resource: r.resource_arn.clone(),
                result: r.result.to_string(),
                before: remembered.get(&(r.action.clone(), r.resource_arn.clone())).cloned(),
                dry_run,
                place: Place::of_arn(&r.resource_arn),
            })
            .collect()
    }
}

/// How a plan waits: for a person's approval, or for its grace to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanMode {
    /// `tagwarden approve <plan id>` runs it.
    Approval,
    /// The tick runs it once `due` has passed.
    Grace,
}

/// Where a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanState {
    /// Waiting.
    Pending,
    /// Being carried out by one invocation (a conditional update took it).
    Running,
    /// Carried out.
    Executed,
    /// Its budget period ended before it was approved: never carried out.
    Expired,
    /// The budget's own figure had fallen below the step when it was due: nothing done.
    Lapsed,
}

/// Actions a step deferred: exactly what they would do, waiting for an approval or a grace period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan id (`p-` and 16 hex digits).
    pub id: String,
    /// The budget.
    pub budget: String,
    /// The budget period; the plan expires at its end.
    pub period: PeriodKey,
    /// The step reached.
    pub step: f64,
    /// The verified percentage it was planned at.
    pub percent: f64,
    /// The alert, to be checked again and acted on.
    pub alert: crate::event::budget::BudgetAlert,
    /// `(action, resource)` of every planned change: nothing else is touched.
    pub targets: Vec<(String, String)>,
    /// How it waits.
    pub mode: PlanMode,
    /// When the tick carries it out (grace plans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// When it was made.
    pub created: String,
    /// The SNS `MessageId` of the alert that made it.
    pub trigger: String,
    /// Where it is.
    pub state: PlanState,
    /// How it ended (`enforced`, `expired: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

impl LedgerTable {
    /// Records a new plan (and its due time for the tick); `false` if a plan of this id exists already
    /// (the same alert delivered again).
    pub async fn put_plan(&self, plan: &Plan) -> Result<bool, LedgerError> {
        let json = serde_json::to_string(plan).unwrap_or_default();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s("plans"))
            .item("sk", s(&plan.id))
            .item("plan", s(json))
            .item("state", s(plan_state(plan.state)))
            .item("expires", expires(now()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .aws("PutItem");
        match put {
            Ok(_) => {}
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => return Ok(false),
            Err(err) => return Err(self.fail("PutItem")(err)),
        }
        if let Some(due) = &plan.due {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s("due"))
                .item("sk", s(format!("{due}#{}", plan.id)))
                .item("plan_id", s(&plan.id))
                .send()
                .await
                .aws("PutItem")
                .map_err(self.fail("PutItem"))?;
        }
        Ok(true)
    }

    /// A plan by id, `None` if there is none.
    pub async fn plan(&self, id: &str) -> Result<Option<Plan>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("plans"))
            .key("sk", s(id))
            .consistent_read(true)
            .send()
            .await
            .aws("GetItem")
            .map_err(self.fail("GetItem"))?;
        out.item().map(plan_of).transpose()
    }

    /// Every plan, newest first.
    pub async fn plans(&self) -> Result<Vec<Plan>, LedgerError> {
        let items = self.query("plans", None, None).await?;
        let mut plans: Vec<Plan> = items.iter().map(plan_of).collect::<Result<_, _>>()?;
        plans.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(plans)
    }

    /// The ids of plans due at `now` (RFC 3339), with their due items' keys.
    pub async fn due_plans(&self, now: &str) -> Result<Vec<(String, String)>, LedgerError> {
        let items = self.query("due", None, Some(format!("{now}$"))).await?;
        items.iter().map(|item| Ok((text(item, "sk")?.to_owned(), text(item, "plan_id")?.to_owned()))).collect()
    }

    /// Removes a due item once its plan ran (or could not).
    pub async fn drop_due(&self, key: &str) -> Result<(), LedgerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("due"))
            .key("sk", s(key))
            .send()
            .await
            .aws("DeleteItem")
            .map_err(self.fail("DeleteItem"))?;
        Ok(())
    }

    /// Moves a plan from `from` to `to` (a conditional update: of two invocations, one wins), recording
    /// `outcome`; `false` if the plan was not in `from`.
    pub async fn move_plan(
        &self,
        plan: &Plan,
        from: PlanState,
        to: PlanState,
        outcome: Option<&str>,
    ) -> Result<bool, LedgerError> {
        let mut moved = plan.clone();
        moved.state = to;
        moved.outcome = outcome.map(str::to_owned);
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("plans"))
            .key("sk", s(&plan.id))
            .update_expression("SET #state = :to, #plan = :plan")
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_values(":to", s(plan_state(to)))
            .expression_attribute_values(":from", s(plan_state(from)))
            .expression_attribute_values(":plan", s(serde_json::to_string(&moved).unwrap_or_default()))
            .send()
            .await
            .aws("UpdateItem");
        match updated {
            Ok(_) => Ok(true),
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => Ok(false),
            Err(err) => Err(self.fail("UpdateItem")(err)),
        }
    }
}

fn plan_state(state: PlanState) -> String {
    serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn plan_of(item: &Item) -> Result<Plan, LedgerError> {
    let mut plan: Plan = serde_json::from_str(text(item, "plan")?)
        .map_err(|e| LedgerError::Malformed { key: key_of(item), problem: format!("plan: {e}") })?;
    // NOTE: `state` is what conditional updates test; the JSON copy follows it.
    if let Some(state) = optional(item, "state").and_then(|s| serde_json::from_value(serde_json::json!(s)).ok()) {
        plan.state = state;
    }
    Ok(plan)
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
        let endpoint = Before::Endpoint { name: "ep".into(), variants: vec![("AllTraffic".into(), 3)] };
        assert_eq!(endpoint.to_string(), "instances AllTraffic=3");
        assert_eq!(
            Place::of_arn("arn:aws:iam::123456789012:role/r"),
            Place { account: "123456789012".into(), region: String::new() }
        );
    }
}
