//! Budgets as code: the policy's `budgets.catalog` made into AWS Budgets. In: the catalog, the tag values
//! each entry selects, and the budgets AWS Budgets holds; out: a [`BudgetsPlan`] (create, update, delete)
//! that [`apply`] carries out. The `tagwarden budgets` CLI plans the whole catalog (`tagwarden-ops`); the
//! auto-tagger keeps one Studio user profile's budgets in step as the profile comes and goes ([`profile`]).
//!
//! Planning is pure: [`desired`] expands the catalog, [`plan`] compares. Only budgets marked with the
//! Budgets resource tag [`MANAGED_KEY`]`=true` are ever deleted, and only when asked (`--prune`, or the
//! profile's own deletion).

pub mod apply;
pub mod profile;

use std::collections::BTreeMap;

use crate::policy::{Catalog, CatalogEntry, Period};
use serde::Serialize;

/// The Budgets resource tag that marks a budget Tagwarden manages.
pub const MANAGED_KEY: &str = "tagwarden:managed";
/// Its value.
pub const MANAGED_VALUE: &str = "true";
/// The Cost Explorer `SERVICE` value every catalog budget is limited to.
pub const SAGEMAKER_SERVICE: &str = "Amazon SageMaker";
/// Amounts closer than this are equal (AWS Budgets answers `"5000.0"` for `5000`).
pub(crate) const CENT: f64 = 0.005;

/// Whether a notification compares actual or forecasted spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    /// `ACTUAL`.
    Actual,
    /// `FORECASTED`.
    Forecasted,
}

impl Kind {
    /// The AWS Budgets `NotificationType` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actual => "ACTUAL",
            Self::Forecasted => "FORECASTED",
        }
    }
}

/// One notification: `kind` spend greater than `threshold` percent of the amount.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Notice {
    /// Actual or forecasted.
    pub kind: Kind,
    /// Percent of the budgeted amount.
    pub threshold: f64,
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} > {}%", self.kind.as_str(), self.threshold)
    }
}

/// A budget as the catalog wants it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetSpec {
    /// The budget name.
    pub name: String,
    /// The cost-allocation tag key it is scoped to.
    pub key: String,
    /// The tag value it is scoped to.
    pub value: String,
    /// The amount per period.
    pub amount: f64,
    /// The amount's currency.
    pub currency: String,
    /// The period.
    pub period: Period,
    /// Its notifications, each subscribed (SNS) to `topic`.
    pub notices: Vec<Notice>,
    /// The alerts topic.
    pub topic: String,
}

impl BudgetSpec {
    /// The budget's `CostFilters`: the tag value (`user:<key>$<value>`, as the enforcer's scope reads it)
    /// and the SageMaker service.
    pub fn cost_filters(&self) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            ("TagKeyValue".to_owned(), vec![format!("user:{}${}", self.key, self.value)]),
            ("Service".to_owned(), vec![SAGEMAKER_SERVICE.to_owned()]),
        ])
    }
}

/// A notification AWS Budgets holds, with its SNS subscribers (e-mail subscribers are left alone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldNotice {
    /// What it compares.
    pub notice: Notice,
    /// Whether it is a percentage threshold (absolute ones never match a catalog notice).
    pub percentage: bool,
    /// Its SNS topics.
    pub topics: Vec<String>,
}

/// A budget AWS Budgets holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    /// The name.
    pub name: String,
    /// `BudgetLimit.Amount`, if a number.
    pub amount: Option<f64>,
    /// `BudgetLimit.Unit`.
    pub currency: String,
    /// `TimeUnit`.
    pub period: String,
    /// `CostFilters`.
    pub cost_filters: BTreeMap<String, Vec<String>>,
    /// Its notifications (read only for budgets the catalog names).
    pub notices: Vec<HeldNotice>,
    /// Carries [`MANAGED_KEY`]`=`[`MANAGED_VALUE`]; `None` when its tags were not read.
    pub managed: Option<bool>,
}

/// One change to AWS Budgets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Create the budget with its notifications, subscribers and the managed tag.
    Create(BudgetSpec),
    /// Bring an existing budget in line.
    Update(Update),
    /// Delete a managed budget the catalog no longer names (`--prune`).
    Delete {
        /// The budget.
        name: String,
    },
}

/// What an update changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    /// The budget as wanted.
    pub spec: BudgetSpec,
    /// Amount, currency, period or filters differ: `UpdateBudget`, with what differs.
    pub budget: Vec<String>,
    /// Notifications to create (subscribed to the topic).
    pub add: Vec<Notice>,
    /// Notifications to delete.
    pub remove: Vec<Notice>,
    /// Notifications whose SNS subscriber is not the topic: `(notice, topics to unsubscribe)`.
    pub resubscribe: Vec<(Notice, Vec<String>)>,
    /// The budget lacks the managed tag (made by hand, now adopted).
    pub adopt: bool,
}

impl Update {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.budget.is_empty()
            && self.add.is_empty()
            && self.remove.is_empty()
            && self.resubscribe.is_empty()
            && !self.adopt
    }
}

/// The difference between the catalog and AWS Budgets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BudgetsPlan {
    /// What to change, in name order.
    pub changes: Vec<Change>,
    /// Budgets already as the catalog wants them.
    pub unchanged: Vec<String>,
    /// Managed budgets the catalog no longer names, kept because `--prune` was not given.
    pub kept: Vec<String>,
}

impl BudgetsPlan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The plan for people, one line per change.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            let line = match change {
                Change::Create(spec) => {
                    let notices: Vec<String> = spec.notices.iter().map(ToString::to_string).collect();
                    format!(
                        "+ create {}: {} {} {} on {}={} and {SAGEMAKER_SERVICE}; notify {} -> {}",
                        spec.name,
                        spec.amount,
                        spec.currency,
                        spec.period.as_str(),
                        spec.key,
                        spec.value,
                        notices.join(", "),
                        spec.topic
                    )
                }
                Change::Update(u) => {
                    let mut what: Vec<String> = u.budget.clone();
                    what.extend(u.add.iter().map(|n| format!("add {n}")));
                    what.extend(u.remove.iter().map(|n| format!("remove {n}")));
                    what.extend(u.resubscribe.iter().map(|(n, _)| format!("subscribe {n} to {}", u.spec.topic)));
                    if u.adopt {
                        what.push(format!("mark {MANAGED_KEY}={MANAGED_VALUE}"));
                    }
                    format!("~ update {}: {}", u.spec.name, what.join("; "))
                }
                Change::Delete { name } => format!("- delete {name} (managed, not in the catalog)"),
            };
            out.push_str(&line);
            out.push('\n');
        }
        for name in &self.kept {
            out.push_str(&format!("  keep {name}: managed, not in the catalog (--prune deletes it)\n"));
        }
        if self.changes.is_empty() {
            out.push_str(&format!("no changes: {} budget(s) as the catalog says\n", self.unchanged.len()));
        }
        out
    }
}

/// Why the catalog cannot be expanded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogError {
    /// Two entries give one budget name.
    #[error("budget {name:?} is made by two catalog entries ({first:?} and {second:?})")]
    Duplicate {
        /// The budget name.
        name: String,
        /// The first entry's name template.
        first: String,
        /// The second's.
        second: String,
    },
    /// No topic to subscribe notifications to.
    #[error("no alerts topic: set budgets.catalog.alerts_topic_arn, TAGWARDEN_ALERTS_TOPIC_ARN or --alerts-topic")]
    NoTopic,
}

/// The budgets the catalog wants, given the values each entry selects (`values(entry)`: its own list, the
/// billing values matching its pattern, or the user profiles), subscribed to `topic`.
pub fn desired(
    catalog: &Catalog,
    values: &dyn Fn(&CatalogEntry) -> Vec<String>,
    topic: Option<&str>,
) -> Result<Vec<BudgetSpec>, CatalogError> {
    let topic = topic.ok_or(CatalogError::NoTopic)?;
    let mut specs: Vec<(BudgetSpec, &str)> = Vec::new();
    for entry in &catalog.entries {
        let mut notices: Vec<Notice> =
            entry.actual.iter().map(|&threshold| Notice { kind: Kind::Actual, threshold }).collect();
        notices.extend(entry.forecasted.iter().map(|&threshold| Notice { kind: Kind::Forecasted, threshold }));
        for value in values(entry) {
            let name = entry.budget_name(&value);
            if let Some((_, first)) = specs.iter().find(|(s, _)| s.name == name) {
                return Err(CatalogError::Duplicate { name, first: (*first).to_owned(), second: entry.name.clone() });
            }
            let spec = BudgetSpec {
                name,
                key: entry.key.clone(),
                value,
                amount: entry.amount,
                currency: entry.currency.clone(),
                period: entry.period,
                notices: notices.clone(),
                topic: topic.to_owned(),
            };
            specs.push((spec, &entry.name));
        }
    }
    let mut specs: Vec<BudgetSpec> = specs.into_iter().map(|(s, _)| s).collect();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(specs)
}

fn same_notice(a: &Notice, b: &Notice) -> bool {
    a.kind == b.kind && (a.threshold - b.threshold).abs() < 1e-9
}

pub(crate) fn update_for(spec: &BudgetSpec, held: &Held) -> Update {
    let mut budget = Vec::new();
    match held.amount {
        Some(amount) if (amount - spec.amount).abs() < CENT && held.currency == spec.currency => {}
        _ => budget.push(format!(
            "amount {} {} -> {} {}",
            held.amount.map(|a| a.to_string()).unwrap_or_else(|| "?".into()),
            held.currency,
            spec.amount,
            spec.currency
        )),
    }
    if held.period != spec.period.as_str() {
        budget.push(format!("period {} -> {}", held.period, spec.period.as_str()));
    }
    if held.cost_filters != spec.cost_filters() {
        budget.push("cost filters".to_owned());
    }
    let wanted = |n: &HeldNotice| n.percentage && spec.notices.iter().any(|s| same_notice(s, &n.notice));
    let add = spec
        .notices
        .iter()
        .filter(|s| !held.notices.iter().any(|n| n.percentage && same_notice(s, &n.notice)))
        .copied()
        .collect();
    let remove = held.notices.iter().filter(|n| !wanted(n)).map(|n| n.notice).collect();
    let resubscribe = held
        .notices
        .iter()
        .filter(|n| wanted(n) && n.topics != [spec.topic.clone()])
        .map(|n| (n.notice, n.topics.iter().filter(|t| **t != spec.topic).cloned().collect()))
        .collect();
    Update { spec: spec.clone(), budget, add, remove, resubscribe, adopt: held.managed != Some(true) }
}

/// The changes that make AWS Budgets hold `desired`: create what is missing, update what differs, and
/// with `prune` delete managed budgets the catalog does not name (never a budget without the managed tag).
pub fn plan(desired: &[BudgetSpec], held: &[Held], prune: bool) -> BudgetsPlan {
    let mut out = BudgetsPlan::default();
    for spec in desired {
        match held.iter().find(|h| h.name == spec.name) {
            None => out.changes.push(Change::Create(spec.clone())),
            Some(h) => {
                let update = update_for(spec, h);
                if update.is_empty() {
                    out.unchanged.push(spec.name.clone());
                } else {
                    out.changes.push(Change::Update(update));
                }
            }
        }
    }
    let mut orphans: Vec<&Held> =
        held.iter().filter(|h| h.managed == Some(true) && !desired.iter().any(|d| d.name == h.name)).collect();
    orphans.sort_by(|a, b| a.name.cmp(&b.name));
    for h in orphans {
        if prune {
            out.changes.push(Change::Delete { name: h.name.clone() });
        } else {
            out.kept.push(h.name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests;
