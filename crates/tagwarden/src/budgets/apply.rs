//! The AWS Budgets side of budgets as code: what AWS Budgets holds of a budget (its limit, filters,
//! notifications with their SNS subscribers, the managed tag) and carrying out a [`BudgetsPlan`]. Every call
//! is counted. Used by `tagwarden budgets` (through `tagwarden-ops`) and by the auto-tagger for one profile.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_budgets::types::{
    Budget, BudgetType, ComparisonOperator, Notification, NotificationType, NotificationWithSubscribers, ResourceTag,
    Spend, Subscriber, SubscriptionType, ThresholdType, TimeUnit,
};

use super::{
    BudgetSpec, BudgetsPlan, CatalogError, Change, Held, HeldNotice, Kind, MANAGED_KEY, MANAGED_VALUE, Notice,
};
use crate::aws::AwsError;

/// What went wrong keeping budgets.
#[derive(Debug, thiserror::Error)]
pub enum BudgetsError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The catalog cannot be expanded.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A request could not be built from the plan (a value AWS would refuse).
    #[error("cannot build {what}: {message}")]
    Build {
        /// What was being built.
        what: &'static str,
        /// The SDK's reason.
        message: String,
    },
}

impl BudgetsError {
    /// Whether trying again later may succeed (throttling, 5xx, timeouts).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Aws(err) if err.is_retryable())
    }
}

/// An SDK builder's result as a [`BudgetsError::Build`].
pub fn build<T, E: std::fmt::Display>(what: &'static str, r: Result<T, E>) -> Result<T, BudgetsError> {
    r.map_err(|e| BudgetsError::Build { what, message: e.to_string() })
}

/// The AWS Budgets client for one account (the budgets' owner) and its count of calls.
#[derive(Debug)]
pub struct BudgetsClient {
    client: aws_sdk_budgets::Client,
    account: String,
    calls: AtomicU32,
}

impl BudgetsClient {
    /// AWS Budgets of `account` through `client`.
    pub fn new(client: aws_sdk_budgets::Client, account: impl Into<String>) -> Self {
        Self { client, account: account.into(), calls: AtomicU32::new(0) }
    }

    /// The AWS calls made so far.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The account whose budgets these are.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The budget's ARN (`arn:aws:budgets::ACCOUNT:budget/NAME`), what resource tags are set on.
    pub fn arn(&self, name: &str) -> String {
        format!("arn:aws:budgets::{}:budget/{name}", self.account)
    }

    /// Every budget of the account (`DescribeBudgets`, paginated).
    pub async fn budgets(&self) -> Result<Vec<Budget>, BudgetsError> {
        let mut budgets = Vec::new();
        let mut token = None;
        loop {
            self.count();
            let out = self
                .client
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

    /// One budget by name (`DescribeBudget`); `None` when it does not exist.
    pub async fn budget(&self, name: &str) -> Result<Option<Budget>, BudgetsError> {
        self.count();
        match self.client.describe_budget().account_id(&self.account).budget_name(name).send().await {
            Ok(out) => Ok(out.budget().cloned()),
            Err(e) => match AwsError::from_sdk("DescribeBudget", e) {
                err if err.is_not_found() => Ok(None),
                err => Err(err.into()),
            },
        }
    }

    /// Whether the budget carries the managed tag (`ListTagsForResource`).
    pub async fn managed(&self, name: &str) -> Result<bool, BudgetsError> {
        self.count();
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(self.arn(name))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListTagsForResource", e))?;
        Ok(out.resource_tags().iter().any(|t| t.key() == MANAGED_KEY && t.value() == MANAGED_VALUE))
    }

    /// The budget's notifications with their SNS subscribers.
    pub async fn held_notices(&self, name: &str) -> Result<Vec<HeldNotice>, BudgetsError> {
        let mut notifications = Vec::new();
        let mut token = None;
        loop {
            self.count();
            let out = self
                .client
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
                .client
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

    /// Carries out `plan`; returns one line per call that changed something.
    pub async fn apply(&self, plan: &BudgetsPlan) -> Result<Vec<String>, BudgetsError> {
        let mut done = Vec::new();
        for change in &plan.changes {
            done.extend(self.apply_change(change).await?);
        }
        Ok(done)
    }

    /// Carries out one change; returns one line per call that changed something.
    pub async fn apply_change(&self, change: &Change) -> Result<Vec<String>, BudgetsError> {
        let mut done = Vec::new();
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
                self.count();
                self.client
                    .create_budget()
                    .account_id(&self.account)
                    .budget(budget(spec)?)
                    .set_notifications_with_subscribers(Some(with))
                    .resource_tags(managed_tag()?)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("CreateBudget", e))?;
                done.push(format!("created {}", spec.name));
            }
            Change::Update(u) => {
                let name = &u.spec.name;
                if !u.budget.is_empty() {
                    self.count();
                    self.client
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
                    self.client
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
                    self.client
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
                        self.client
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
                    self.client
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
                    self.count();
                    self.client
                        .tag_resource()
                        .resource_arn(self.arn(name))
                        .resource_tags(managed_tag()?)
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("TagResource", e))?;
                    done.push(format!("marked {name} {MANAGED_KEY}={MANAGED_VALUE}"));
                }
            }
            Change::Delete { name } => {
                self.count();
                self.client
                    .delete_budget()
                    .account_id(&self.account)
                    .budget_name(name)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("DeleteBudget", e))?;
                done.push(format!("deleted {name}"));
            }
        }
        Ok(done)
    }
}

/// A budget AWS Budgets holds, as the planner compares it: with the `notices` and `managed` mark read for it.
pub fn held_of(budget: &Budget, notices: Vec<HeldNotice>, managed: Option<bool>) -> Held {
    // NOTE: CostFilters is deprecated in favour of FilterExpression; it is what the enforcer reads first.
    #[allow(deprecated)]
    let cost_filters: BTreeMap<String, Vec<String>> =
        budget.cost_filters().map(|f| f.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    let limit = budget.budget_limit();
    Held {
        name: budget.budget_name().to_owned(),
        amount: limit.and_then(|l| l.amount().trim().parse().ok()),
        currency: limit.map(|l| l.unit().to_owned()).unwrap_or_default(),
        period: budget.time_unit().as_str().to_owned(),
        cost_filters,
        notices,
        managed,
    }
}

fn managed_tag() -> Result<ResourceTag, BudgetsError> {
    build("ResourceTag", ResourceTag::builder().key(MANAGED_KEY).value(MANAGED_VALUE).build())
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
