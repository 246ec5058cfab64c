//! The AWS side of budgets as code for the operator: the values an entry selects (its list, Cost Explorer
//! `GetTags`, Studio user profiles), what AWS Budgets holds, and carrying out a [`BudgetsPlan`] through the
//! library's [`BudgetsClient`]. Every call is counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_budgets::types::Budget;
use tagwarden::AwsError;
use tagwarden::budgets::apply::{BudgetsClient, build, held_of};
use tagwarden::date::Date;
use tagwarden::enforce::ledger::{Entry, LedgerTable};
use tagwarden::policy::{Catalog, CatalogEntry, Selection, glob_match};

use super::{BudgetSpec, BudgetsPlan, CatalogError, Held, desired, plan};

/// What went wrong talking to AWS.
#[derive(Debug, thiserror::Error)]
pub enum BudgetsError {
    /// A Budgets call failed, or the catalog cannot be expanded.
    #[error(transparent)]
    Budgets(#[from] tagwarden::budgets::apply::BudgetsError),
    /// The ledger could not be read.
    #[error("ledger: {0}")]
    Ledger(String),
}

impl From<AwsError> for BudgetsError {
    fn from(err: AwsError) -> Self {
        Self::Budgets(err.into())
    }
}

impl From<CatalogError> for BudgetsError {
    fn from(err: CatalogError) -> Self {
        Self::Budgets(err.into())
    }
}

/// The clients budgets as code uses, the account it works in, and its count of AWS calls.
#[derive(Debug)]
pub struct BudgetsApi {
    budgets: BudgetsClient,
    costexplorer: aws_sdk_costexplorer::Client,
    sagemaker: aws_sdk_sagemaker::Client,
    calls: AtomicU32,
}

impl BudgetsApi {
    /// Builds the clients once from `config`, for `account` (the budgets' owner).
    pub fn new(config: &aws_config::SdkConfig, account: impl Into<String>) -> Self {
        Self {
            budgets: BudgetsClient::new(aws_sdk_budgets::Client::new(config), account),
            costexplorer: aws_sdk_costexplorer::Client::new(config),
            sagemaker: aws_sdk_sagemaker::Client::new(config),
            calls: AtomicU32::new(0),
        }
    }

    /// The AWS calls made so far.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed) + self.budgets.calls()
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The budget's ARN (`arn:aws:budgets::ACCOUNT:budget/NAME`), what resource tags are set on.
    pub fn arn(&self, name: &str) -> String {
        self.budgets.arn(name)
    }

    /// The values an entry selects: its list; the values billing knows for its key that match its pattern
    /// (Cost Explorer `GetTags` over the last twelve months); or the Studio user profiles' names.
    pub async fn values(&self, entry: &CatalogEntry) -> Result<Vec<String>, BudgetsError> {
        match &entry.select {
            Selection::Values(values) => Ok(values.clone()),
            Selection::Matching(pattern) => {
                let today = Date::today();
                let start = Date::from_unix_days(today.to_unix_days() - 365).to_string();
                let period = build(
                    "DateInterval",
                    aws_sdk_costexplorer::types::DateInterval::builder()
                        .start(start)
                        .end(today.next_day().to_string())
                        .build(),
                )?;
                let mut values = Vec::new();
                let mut token = None;
                loop {
                    self.count();
                    let out = self
                        .costexplorer
                        .get_tags()
                        .time_period(period.clone())
                        .tag_key(&entry.key)
                        .set_next_page_token(token)
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("GetTags", e))?;
                    values.extend(out.tags().iter().filter(|v| glob_match(pattern, v)).cloned());
                    token = out.next_page_token().map(str::to_owned);
                    if token.is_none() {
                        break;
                    }
                }
                values.sort();
                values.dedup();
                Ok(values)
            }
            Selection::PerUserProfile => {
                let mut names = Vec::new();
                let mut token = None;
                loop {
                    self.count();
                    let out = self
                        .sagemaker
                        .list_user_profiles()
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("ListUserProfiles", e))?;
                    names.extend(out.user_profiles().iter().filter_map(|p| p.user_profile_name().map(str::to_owned)));
                    token = out.next_token().map(str::to_owned);
                    if token.is_none() {
                        break;
                    }
                }
                names.sort();
                names.dedup();
                Ok(names)
            }
        }
    }

    /// Every budget of the account (`DescribeBudgets`, paginated).
    pub async fn budgets(&self) -> Result<Vec<Budget>, BudgetsError> {
        Ok(self.budgets.budgets().await?)
    }

    /// Whether the budget carries the managed tag (`ListTagsForResource`).
    pub async fn managed(&self, name: &str) -> Result<bool, BudgetsError> {
        Ok(self.budgets.managed(name).await?)
    }

    /// What AWS Budgets holds: every budget, with notifications and tags read for the ones `desired` names,
    /// and tags for the others only when `prune` (they may be deleted).
    pub async fn held(&self, desired: &[BudgetSpec], prune: bool) -> Result<Vec<Held>, BudgetsError> {
        let mut held = Vec::new();
        for budget in self.budgets().await? {
            let name = budget.budget_name().to_owned();
            let wanted = desired.iter().any(|d| d.name == name);
            let (notices, managed) = if wanted {
                (self.budgets.held_notices(&name).await?, Some(self.managed(&name).await?))
            } else if prune {
                (Vec::new(), Some(self.managed(&name).await?))
            } else {
                (Vec::new(), None)
            };
            held.push(held_of(&budget, notices, managed));
        }
        Ok(held)
    }

    /// The plan that makes AWS Budgets hold `catalog`, notifications subscribed to `topic` (the catalog's
    /// when `None`); with `prune`, managed budgets the catalog no longer names are deleted.
    pub async fn plan_catalog(
        &self,
        catalog: &Catalog,
        topic: Option<&str>,
        prune: bool,
    ) -> Result<BudgetsPlan, BudgetsError> {
        let mut values = BTreeMap::new();
        for entry in &catalog.entries {
            values.insert(entry.name.clone(), self.values(entry).await?);
        }
        let topic = topic.or(catalog.alerts_topic_arn.as_deref());
        let specs = desired(catalog, &|e| values.get(&e.name).cloned().unwrap_or_default(), topic)?;
        let held = self.held(&specs, prune).await?;
        Ok(plan(&specs, &held, prune))
    }

    /// Carries out `plan`; returns one line per call that changed something.
    pub async fn apply(&self, plan: &BudgetsPlan) -> Result<Vec<String>, BudgetsError> {
        Ok(self.budgets.apply(plan).await?)
    }
}

/// The ledger history of each of `budgets` that has one (one query per budget), for
/// [`status::LastEnforcement::of`](super::status::LastEnforcement::of).
pub async fn last_enforcements(
    ledger: &LedgerTable,
    budgets: &[&str],
) -> Result<BTreeMap<String, Vec<Entry>>, BudgetsError> {
    let mut last = BTreeMap::new();
    for name in budgets {
        let entries = ledger.history_of_budget(name, None).await.map_err(|e| BudgetsError::Ledger(e.to_string()))?;
        if !entries.is_empty() {
            last.insert((*name).to_owned(), entries);
        }
    }
    Ok(last)
}
