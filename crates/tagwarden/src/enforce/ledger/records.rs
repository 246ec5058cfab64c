//! What the enforcer did and may undo: entries (history), undo items with the state before, the budget
//! periods the tick restores, and each alert's [`Journal`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    BY_RESOURCE, Item, LedgerError, LedgerTable, PeriodKey, Place, before_of, budget_pk, expires, key_of, now,
    optional, s, text, timestamp,
};
use crate::aws::{AwsError, ResultExt};

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
        /// The Application Auto Scaling targets of those variants that were lowered with them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        scalable_targets: Vec<Bounds>,
        /// `(variant, provisioned concurrency)` of every serverless variant that was lowered.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        provisioned_concurrency: Vec<(String, i32)>,
    },
    /// An endpoint the enforcer deleted: the endpoint config `restore` creates it from again, and its
    /// variants as `DescribeEndpoint` gave them then.
    DeletedEndpoint {
        /// The endpoint name.
        name: String,
        /// The endpoint config it ran (`EndpointConfigName`).
        endpoint_config: String,
        /// Each production variant's instance count and weight then.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        variants: Vec<DeployedVariant>,
    },
    /// An inference component the enforcer scaled down, and its copy count then.
    InferenceComponent {
        /// The inference component name.
        name: String,
        /// Its desired copy count before.
        copies: i32,
        /// Its Application Auto Scaling target, when one was lowered with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scalable_target: Option<Bounds>,
    },
    /// A HyperPod cluster the enforcer scaled down, and its instance groups' counts then.
    Cluster {
        /// The cluster name.
        name: String,
        /// `(instance group, instance count)` of every group that was scaled.
        instance_groups: Vec<(String, i32)>,
    },
    /// A role the deny policy was attached to by the enforcer (it was not attached before).
    Role {
        /// The role name.
        name: String,
        /// The deny policy attached.
        policy_arn: String,
    },
    /// An MLflow tracking server the enforcer stopped, and its status then.
    TrackingServer {
        /// The tracking server name.
        name: String,
        /// Its status before the stop (`Created`, `Started`, …).
        status: String,
    },
    /// A monitoring schedule the enforcer stopped, and its status then.
    MonitoringSchedule {
        /// The monitoring schedule name.
        name: String,
        /// Its status before the stop (`Scheduled`).
        status: String,
    },
}

impl std::fmt::Display for Before {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Notebook { status, .. }
            | Self::TrackingServer { status, .. }
            | Self::MonitoringSchedule { status, .. } => write!(f, "status {status}"),
            Self::Endpoint { variants, scalable_targets, provisioned_concurrency, .. } => {
                let counts: Vec<String> = variants.iter().map(|(v, c)| format!("{v}={c}")).collect();
                write!(f, "instances {}", counts.join(" "))?;
                for bounds in scalable_targets {
                    write!(f, " {bounds}")?;
                }
                for (variant, concurrency) in provisioned_concurrency {
                    write!(f, " provisioned-concurrency {variant}={concurrency}")?;
                }
                Ok(())
            }
            Self::DeletedEndpoint { endpoint_config, variants, .. } => {
                write!(f, "deleted, endpoint config {endpoint_config}")?;
                variants.iter().try_for_each(|v| write!(f, " {v}"))
            }
            Self::InferenceComponent { copies, scalable_target, .. } => {
                write!(f, "copies {copies}")?;
                scalable_target.iter().try_for_each(|bounds| write!(f, " {bounds}"))
            }
            Self::Cluster { instance_groups, .. } => {
                let counts: Vec<String> = instance_groups.iter().map(|(g, c)| format!("{g}={c}")).collect();
                write!(f, "instance groups {}", counts.join(" "))
            }
            Self::Role { policy_arn, .. } => write!(f, "deny policy {policy_arn} not attached"),
        }
    }
}

/// A production variant of an endpoint the enforcer deleted, as `DescribeEndpoint` gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployedVariant {
    /// The variant name.
    pub variant: String,
    /// Its current instance count (none for a serverless variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<i32>,
    /// Its current weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
}

// NOTE: a weight is a finite number SageMaker gave (never NaN), so equality is an equivalence here.
impl Eq for DeployedVariant {}

impl std::fmt::Display for DeployedVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.variant)?;
        if let Some(instances) = self.instances {
            write!(f, "={instances}")?;
        }
        match self.weight {
            Some(weight) => write!(f, " (weight {weight})"),
            None => Ok(()),
        }
    }
}

/// An Application Auto Scaling target's bounds before the enforcer lowered them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// The target's resource id (`endpoint/<name>/variant/<variant>`, `inference-component/<name>`).
    pub resource_id: String,
    /// Its scalable dimension (`sagemaker:variant:DesiredInstanceCount`, …).
    pub dimension: String,
    /// MinCapacity before.
    pub min: i32,
    /// MaxCapacity before.
    pub max: i32,
}

impl std::fmt::Display for Bounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "autoscaling {} min={} max={}", self.resource_id, self.min, self.max)
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

impl LedgerTable {
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

    pub(super) fn entry_request(&self, e: &Entry) -> Result<WriteRequest, LedgerError> {
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

    /// The same journal, never marking its period open: the tick does not undo what it records (the idle
    /// rules: an idle endpoint stays scaled down, and notebooks are started by their rule's `start_at`).
    pub(crate) fn held(self) -> Self {
        self.opened.store(true, std::sync::atomic::Ordering::Release);
        self
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
    pub(crate) fn entries(
        &self,
        results: &[crate::enforce::ActionResult],
        dry_run: bool,
        at: DateTime<Utc>,
    ) -> Vec<Entry> {
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
