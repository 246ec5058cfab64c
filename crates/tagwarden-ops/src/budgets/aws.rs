//! The AWS side of budgets as code: the values an entry selects (its list, Cost Explorer `GetTags`, Studio
//! user profiles), what AWS Budgets holds, and carrying out a [`BudgetsPlan`]. Every call is counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_budgets::types::{
    Budget, BudgetType, ComparisonOperator, Notification, NotificationType, NotificationWithSubscribers, ResourceTag,
    Spend, Subscriber, SubscriptionType, ThresholdType, TimeUnit,
};
use tagwarden::AwsError;
use tagwarden::date::Date;
use tagwarden::enforce::ledger::{Entry, LedgerTable};
use tagwarden::policy::{Catalog, CatalogEntry, Selection, glob_match};

use super::{
    BudgetSpec, BudgetsPlan, CatalogError, Change, Held, HeldNotice, Kind, MANAGED_KEY, MANAGED_VALUE, Notice, desired,
    plan,
};

/// What went wrong talking to AWS.
#[derive(Debug, thiserror::Error)]
pub enum BudgetsError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The catalog cannot be expanded.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The ledger could not be read.
    #[error("ledger: {0}")]
    Ledger(String),
    /// A request could not be built from the plan (a value AWS would refuse).
    #[error("cannot build {what}: {message}")]
    Build {
        /// What was being built.
        what: &'static str,
        /// The SDK's reason.
        message: String,
    },
}

fn build<T, E: std::fmt::Display>(what: &'static str, r: Result<T, E>) -> Result<T, BudgetsError> {
    r.map_err(|e| BudgetsError::Build { what, message: e.to_string() })
}

/// The clients budgets as code uses, the account it works in, and its count of AWS calls.
#[derive(Debug)]
pub struct BudgetsApi {
    budgets: aws_sdk_budgets::Client,
    costexplorer: aws_sdk_costexplorer::Client,
    sagemaker: aws_sdk_sagemaker::Client,
    account: String,
    calls: AtomicU32,
}

impl BudgetsApi {
    /// Builds the clients once from `config`, for `account` (the budgets' owner).
    pub fn new(config: &aws_config::SdkConfig, account: impl Into<String>) -> Self {
        Self {
            budgets: aws_sdk_budgets::Client::new(config),
            costexplorer: aws_sdk_costexplorer::Client::new(config),
            sagemaker: aws_sdk_sagemaker::Client::new(config),
            account: account.into(),
            calls: AtomicU32::new(0),
        }
    }

    /// The AWS calls made so far.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The budget's ARN (`arn:aws:budgets::ACCOUNT:budget/NAME`), what resource tags are set on.
    pub fn arn(&self, name: &str) -> String {
        format!("arn:aws:budgets::{}:budget/{name}", self.account)
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
        let mut budgets = Vec::new();
        let mut token = None;
        loop {
            self.count();
            let out = self
                .budgets
                .describe_budgets()
                .account_id(&self.account)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeBudgets", e))?;
            budgets.extend(out.budgets().iter().cloned());
            token = out.next_token().map(str::to_owned).filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(budgets);
            }
        }
    }

    /// Whether the budget carries the managed tag (`ListTagsForResource`).
    pub async fn managed(&self, name: &str) -> Result<bool, BudgetsError> {
        self.count();
        let out = self
            .budgets
            .list_tags_for_resource()
            .resource_arn(self.arn(name))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListTagsForResource", e))?;
        Ok(out.resource_tags().iter().any(|t| t.key() == MANAGED_KEY && t.value() == MANAGED_VALUE))
    }

    async fn held_notices(&self, name: &str) -> Result<Vec<HeldNotice>, BudgetsError> {
        let mut notifications = Vec::new();
        let mut token = None;
        loop {
            self.count();
            let out = self
                .budgets
                .describe_notifications_for_budget()
                .account_id(&self.account)
                .budget_name(name)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeNotificationsForBudget", e))?;
            notifications.extend(out.notifications().iter().cloned());
            token = out.next_token().map(str::to_owned).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        let mut held = Vec::new();
        for n in notifications {
            self.count();
            let out = self
                .budgets
                .describe_subscribers_for_notification()
                .account_id(&self.account)
                .budget_name(name)
                .notification(n.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeSubscribersForNotification", e))?;
            let topics = out
                .subscribers()
                .iter()
                .filter(|s| *s.subscription_type() == SubscriptionType::Sns)
                .map(|s| s.address().to_owned())
                .collect();
            let kind = match n.notification_type() {
                NotificationType::Forecasted => Kind::Forecasted,
                _ => Kind::Actual,
            };
            let percentage = n.threshold_type().is_none_or(|t| *t == ThresholdType::Percentage)
                && *n.comparison_operator() == ComparisonOperator::GreaterThan;
            held.push(HeldNotice { notice: Notice { kind, threshold: n.threshold() }, percentage, topics });
        }
        Ok(held)
    }

    /// What AWS Budgets holds: every budget, with notifications and tags read for the ones `desired` names,
    /// and tags for the others only when `prune` (they may be deleted).
    pub async fn held(&self, desired: &[BudgetSpec], prune: bool) -> Result<Vec<Held>, BudgetsError> {
        let mut held = Vec::new();
        for budget in self.budgets().await? {
            let name = budget.budget_name().to_owned();
            let wanted = desired.iter().any(|d| d.name == name);
            // NOTE: CostFilters is deprecated in favour of FilterExpression; it is what the enforcer reads first.
            #[allow(deprecated)]
            let cost_filters: BTreeMap<String, Vec<String>> = budget
                .cost_filters()
                .map(|f| f.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let limit = budget.budget_limit();
            let (notices, managed) = if wanted {
                (self.held_notices(&name).await?, Some(self.managed(&name).await?))
            } else if prune {
                (Vec::new(), Some(self.managed(&name).await?))
            } else {
                (Vec::new(), None)
            };
            held.push(Held {
                amount: limit.and_then(|l| l.amount().trim().parse().ok()),
                currency: limit.map(|l| l.unit().to_owned()).unwrap_or_default(),
                period: budget.time_unit().as_str().to_owned(),
                cost_filters,
                notices,
                managed,
                name,
            });
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
        let mut done = Vec::new();
        for change in &plan.changes {
            match change {
                Change::Create(spec) => {
                    let mut with = Vec::new();
                    for notice in &spec.notices {
                        with.push(build(
                            "NotificationWithSubscribers",
                            NotificationWithSubscribers::builder()
                                .notification(notification(notice)?)
                                .subscribers(subscriber(&spec.topic)?)
                                .build(),
                        )?);
                    }
                    let tag =
                        build("ResourceTag", ResourceTag::builder().key(MANAGED_KEY).value(MANAGED_VALUE).build())?;
                    self.count();
                    self.budgets
                        .create_budget()
                        .account_id(&self.account)
                        .budget(budget(spec)?)
                        .set_notifications_with_subscribers(Some(with))
                        .resource_tags(tag)
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("CreateBudget", e))?;
                    done.push(format!("created {}", spec.name));
                }
                Change::Update(u) => {
                    let name = &u.spec.name;
                    if !u.budget.is_empty() {
                        self.count();
                        self.budgets
                            .update_budget()
                            .account_id(&self.account)
                            .new_budget(budget(&u.spec)?)
                            .send()
                            .await
                            .map_err(|e| AwsError::from_sdk("UpdateBudget", e))?;
                        done.push(format!("updated {name}: {}", u.budget.join(", ")));
                    }
                    for notice in &u.remove {
                        self.count();
                        self.budgets
                            .delete_notification()
                            .account_id(&self.account)
                            .budget_name(name)
                            .notification(notification(notice)?)
                            .send()
                            .await
                            .map_err(|e| AwsError::from_sdk("DeleteNotification", e))?;
                        done.push(format!("removed {notice} from {name}"));
                    }
                    for notice in &u.add {
                        self.count();
                        self.budgets
                            .create_notification()
                            .account_id(&self.account)
                            .budget_name(name)
                            .notification(notification(notice)?)
                            .subscribers(subscriber(&u.spec.topic)?)
                            .send()
                            .await
                            .map_err(|e| AwsError::from_sdk("CreateNotification", e))?;
                        done.push(format!("added {notice} to {name}"));
                    }
                    for (notice, stale) in &u.resubscribe {
                        for topic in stale {
                            self.count();
                            self.budgets
                                .delete_subscriber()
                                .account_id(&self.account)
                                .budget_name(name)
                                .notification(notification(notice)?)
                                .subscriber(subscriber(topic)?)
                                .send()
                                .await
                                .map_err(|e| AwsError::from_sdk("DeleteSubscriber", e))?;
                        }
                        self.count();
                        self.budgets
                            .create_subscriber()
                            .account_id(&self.account)
                            .budget_name(name)
                            .notification(notification(notice)?)
                            .subscriber(subscriber(&u.spec.topic)?)
                            .send()
                            .await
                            .map_err(|e| AwsError::from_sdk("CreateSubscriber", e))?;
                        done.push(format!("subscribed {notice} of {name} to {}", u.spec.topic));
                    }
                    if u.adopt {
                        let tag =
                            build("ResourceTag", ResourceTag::builder().key(MANAGED_KEY).value(MANAGED_VALUE).build())?;
                        self.count();
                        self.budgets
                            .tag_resource()
                            .resource_arn(self.arn(name))
                            .resource_tags(tag)
                            .send()
                            .await
                            .map_err(|e| AwsError::from_sdk("TagResource", e))?;
                        done.push(format!("marked {name} {MANAGED_KEY}={MANAGED_VALUE}"));
                    }
                }
                Change::Delete { name } => {
                    self.count();
                    self.budgets
                        .delete_budget()
                        .account_id(&self.account)
                        .budget_name(name)
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("DeleteBudget", e))?;
                    done.push(format!("deleted {name}"));
                }
            }
        }
        Ok(done)
    }
}

fn notification(notice: &Notice) -> Result<Notification, BudgetsError> {
    let kind = match notice.kind {
        Kind::Actual => NotificationType::Actual,
        Kind::Forecasted => NotificationType::Forecasted,
    };
    build(
        "Notification",
        Notification::builder()
            .notification_type(kind)
            .comparison_operator(ComparisonOperator::GreaterThan)
            .threshold(notice.threshold)
            .threshold_type(ThresholdType::Percentage)
            .build(),
    )
}

fn subscriber(topic: &str) -> Result<Subscriber, BudgetsError> {
    build("Subscriber", Subscriber::builder().subscription_type(SubscriptionType::Sns).address(topic).build())
}

/// The `Budget` of a spec: COST, its period, amount and cost filters.
// NOTE: CostFilters is deprecated in favour of FilterExpression, but it is what the enforcer's scope reads first.
#[allow(deprecated)]
fn budget(spec: &BudgetSpec) -> Result<Budget, BudgetsError> {
    let limit = build("Spend", Spend::builder().amount(spec.amount.to_string()).unit(&spec.currency).build())?;
    let mut budget = Budget::builder()
        .budget_name(&spec.name)
        .budget_type(BudgetType::Cost)
        .time_unit(TimeUnit::from(spec.period.as_str()))
        .budget_limit(limit);
    for (key, values) in spec.cost_filters() {
        budget = budget.cost_filters(key, values);
    }
    build("Budget", budget.build())
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
