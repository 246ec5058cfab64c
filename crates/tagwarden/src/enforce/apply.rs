//! The budget-enforcer's side effects: resolve the scope, find resources, act, notify, restore.
//!
//! Resources are found with the tagging API's `GetResources` (100 per page) and SageMaker list calls with
//! status filters; one describe per resource only where no list call tells what is needed (an endpoint's
//! instance counts, a user profile's execution role). Every action checks state first, treats
//! ResourceNotFound as done and runs with bounded concurrency.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_resourcegroupstagging::types::TagFilter;
use aws_sdk_sagemaker::types::{
    AppStatus, DesiredWeightAndCapacity, EndpointStatus, HyperParameterTuningJobStatus, NotebookInstanceStatus,
    ProcessingJobStatus, Tag, TrainingJobStatus, TransformJobStatus,
};
use futures::stream::{self, StreamExt};
use serde_json::Value;
use tracing::{info, warn};

use super::plan::{ActionResult, Candidate, EnforcementPlan, plan_enforcement, select_within};
use super::{
    DENIED_BY_TAG, EnforceError, EnforcementOutcome, EnforcementReport, RestoreReport, SCALED_BY_TAG, SCALED_FROM_TAG,
    STOPPED_BY_TAG, result_action,
};
use crate::aws::{AwsError, Clients, ResultExt};
use crate::cache::TtlCache;
use crate::event::budget::{BudgetAlert, BudgetEvent, parse_budget_event};
use crate::org::{AccessError, ClientPool, Membership, Organization};
use crate::policy::{Action, BudgetRule, EndpointAction, Policy, Scope};
use crate::resource::SageMakerArn;
use crate::tagging::Tags;
use crate::tagging::rules::sanitize_value;
use crate::telemetry::clip;

/// Tag conditions that must all hold: each key must carry one of its values.
pub type TagGroup = Vec<(String, Vec<String>)>;

/// Resources in scope: an OR of AND-groups of tag filters, or the whole account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedScope {
    /// Everything (the rule said `scope: account`).
    Account,
    /// Any group matches; within a group every key must carry one of its values.
    Tags(Vec<TagGroup>),
}

impl ResolvedScope {
    fn matches(&self, tags: &Tags) -> bool {
        match self {
            Self::Account => true,
            Self::Tags(groups) => groups
                .iter()
                .any(|group| group.iter().all(|(key, values)| tags.get(key).is_some_and(|v| values.contains(v)))),
        }
    }

    fn describe(&self, from_budget: bool) -> String {
        let text = match self {
            Self::Account => "the whole account".to_owned(),
            Self::Tags(groups) => groups
                .iter()
                .map(|g| g.iter().map(|(k, vs)| format!("{k}={}", vs.join("|"))).collect::<Vec<_>>().join(" and "))
                .collect::<Vec<_>>()
                .join(" or "),
        };
        if from_budget { format!("{text} (from the budget's cost filters)") } else { text }
    }
}

/// The scope from a budget's `CostFilters`: each `TagKeyValue` entry `user:<key>$<value>`; different keys
/// are alternatives (AWS Budgets ORs the values of one filter). `None` when the budget filters by no tag.
pub fn scope_from_cost_filters(filters: &HashMap<String, Vec<String>>) -> Option<ResolvedScope> {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in filters.get("TagKeyValue").into_iter().flatten() {
        let Some((key, value)) = entry.split_once('$') else {
            continue;
        };
        let key = key.strip_prefix("user:").unwrap_or(key);
        if key.is_empty() || value.is_empty() {
            continue;
        }
        by_key.entry(key.to_owned()).or_default().push(value.to_owned());
    }
    (!by_key.is_empty()).then(|| ResolvedScope::Tags(by_key.into_iter().map(|kv| vec![kv]).collect()))
}

/// The scope from a budget's `FilterExpression`: tag conditions, combined through `And` and `Or`; other
/// dimensions (service, region) only narrow the spend and are ignored. `None` when no tag condition is
/// found or a `Not` makes the scope inexpressible as tag filters.
pub fn scope_from_expression(expression: &aws_sdk_budgets::types::Expression) -> Option<ResolvedScope> {
    fn groups(e: &aws_sdk_budgets::types::Expression) -> Option<Vec<TagGroup>> {
        if e.not().is_some() {
            return None;
        }
        if let Some(tags) = e.tags() {
            let key = tags.key().unwrap_or_default();
            let key = key.strip_prefix("user:").unwrap_or(key);
            let values: Vec<String> = tags.values().iter().filter(|v| !v.is_empty()).cloned().collect();
            return Some(if key.is_empty() || values.is_empty() {
                vec![]
            } else {
                vec![vec![(key.to_owned(), values)]]
            });
        }
        if !e.or().is_empty() {
            let mut out = Vec::new();
            for child in e.or() {
                out.extend(groups(child)?);
            }
            return Some(out);
        }
        // And: every tag condition must hold at once (cross product of the children's alternatives).
        let mut out: Vec<TagGroup> = vec![vec![]];
        for child in e.and() {
            let alternatives = groups(child)?;
            if alternatives.is_empty() {
                continue;
            }
            out = out
                .iter()
                .flat_map(|g| alternatives.iter().map(move |a| g.iter().chain(a).cloned().collect()))
                .collect();
        }
        Some(out.into_iter().filter(|g| !g.is_empty()).collect())
    }
    let groups = groups(expression)?;
    (!groups.is_empty()).then_some(ResolvedScope::Tags(groups))
}

/// The member accounts a budget's `CostFilters` name (`LinkedAccount`), sorted and deduplicated; empty when
/// the budget filters by no account (then only the central account is acted in).
pub fn accounts_from_cost_filters(filters: &HashMap<String, Vec<String>>) -> Vec<String> {
    let accounts: BTreeSet<String> = filters
        .get("LinkedAccount")
        .into_iter()
        .flatten()
        .map(|a| a.trim().to_owned())
        .filter(|a| crate::org::is_account_id(a))
        .collect();
    accounts.into_iter().collect()
}

/// The member accounts a budget's `FilterExpression` restricts its spend to: `LINKED_ACCOUNT` dimensions,
/// intersected through `And` and united through `Or` (an `Or` with a branch that names no account is not
/// restricted). `Ok(empty)` when no account is named; `Err` (refuse to act) when a `Not` covers accounts:
/// "every account but these" cannot be enumerated from the budget.
pub fn accounts_from_expression(expression: &aws_sdk_budgets::types::Expression) -> Result<Vec<String>, String> {
    use aws_sdk_budgets::types::{Dimension, Expression};
    /// `None`: not restricted to accounts.
    fn accounts(e: &Expression) -> Result<Option<BTreeSet<String>>, String> {
        if let Some(inner) = e.not() {
            return match accounts(inner)? {
                Some(_) => Err("its filter excludes linked accounts (Not LINKED_ACCOUNT)".to_owned()),
                None => Ok(None),
            };
        }
        if let Some(dimension) = e.dimensions() {
            return Ok((*dimension.key() == Dimension::LinkedAccount).then(|| {
                dimension
                    .values()
                    .iter()
                    .map(|a| a.trim().to_owned())
                    .filter(|a| crate::org::is_account_id(a))
                    .collect()
            }));
        }
        if !e.or().is_empty() {
            let mut union = BTreeSet::new();
            for child in e.or() {
                match accounts(child)? {
                    Some(found) => union.extend(found),
                    None => return Ok(None),
                }
            }
            return Ok(Some(union));
        }
        let mut intersection: Option<BTreeSet<String>> = None;
        for child in e.and() {
            if let Some(found) = accounts(child)? {
                intersection = Some(match intersection {
                    Some(so_far) => so_far.intersection(&found).cloned().collect(),
                    None => found,
                });
            }
        }
        Ok(intersection)
    }
    Ok(accounts(expression)?.map(|a| a.into_iter().collect()).unwrap_or_default())
}

/// Every (ARN, name) a paginated SageMaker list call returns: `running!(request, "Op", items, arn, name)`.
macro_rules! running {
    ($request:expr, $operation:literal, $items:ident, $arn:ident, $name:ident) => {{
        let mut found: Vec<(String, String)> = Vec::new();
        let mut pages = $request.max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            for item in page.aws($operation)?.$items() {
                if let (Some(arn), Some(name)) = (item.$arn(), item.$name()) {
                    found.push((arn.to_owned(), name.to_owned()));
                }
            }
        }
        found
    }};
}

/// A retryable failure with the results recorded before it, logged with the failures' resources.
fn incomplete(err: AwsError, results: Vec<ActionResult>) -> EnforceError {
    let failed: Vec<&str> =
        results.iter().filter(|r| r.result.starts_with("failed")).map(|r| r.resource_arn.as_str()).collect();
    let done = results.iter().filter(|r| r.result == "done").count();
    // NOTE: the log names the first few failures; the error (and Lambda's failure record) lists them all.
    let first: Vec<String> = failed.iter().take(10).map(|arn| clip(arn)).collect();
    warn!(error = %clip(&err.to_string()), done, failed = failed.len(), first_failed = ?first, "retryable failures remain; the alert will be retried");
    EnforceError::retryable(err, results)
}

/// The budget-enforcer: policy and clients, built once per process.
#[derive(Debug)]
pub struct BudgetEnforcer {
    clients: Clients,
    policy: Arc<Policy>,
    /// `<region>:<account>`, read once with STS GetCallerIdentity.
    region_account: tokio::sync::OnceCell<String>,
    /// SNS messages already handled by this process: a re-delivery is skipped, not enforced again.
    handled: TtlCache<()>,
    /// Organization scale: clients for member accounts and regions (`None`: the central account only).
    pool: Option<ClientPool>,
}

/// How long a handled SNS message id is remembered: the Lambda's maximum event age (6 h).
const DEDUP_TTL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Results collected while acting, and the first retryable failure if any.
#[derive(Default)]
struct Ledger {
    results: Vec<ActionResult>,
    retryable: Option<AwsError>,
    /// Targets selected so far per action, over every account and region: the safety cap counts them all.
    selected: HashMap<String, usize>,
}

impl Ledger {
    fn record(&mut self, action: &str, arn: &str, outcome: Result<String, AwsError>, gone: &str) {
        let result = match outcome {
            Ok(result) => result,
            Err(err) if err.is_not_found() => gone.to_owned(),
            Err(err) => {
                let text = format!("failed: {err}");
                if err.is_retryable() && self.retryable.is_none() {
                    self.retryable = Some(err);
                }
                text
            }
        };
        self.results.push(ActionResult::new(action, arn, result));
    }
}

impl BudgetEnforcer {
    /// An enforcer with these clients and policy.
    pub fn new(clients: Clients, policy: Arc<Policy>) -> Self {
        let region_account = tokio::sync::OnceCell::new();
        Self { clients, policy, region_account, handled: TtlCache::new(DEDUP_TTL, 1024), pool: None }
    }

    /// An enforcer for an organization: the central account's clients are the pool's own; a budget that
    /// filters by linked accounts is enforced in each of them (and in each of the organization's regions)
    /// with the member role.
    /// When membership comes from AWS Organizations, restore visits the accounts the pool's client lists.
    pub fn for_organization(pool: ClientPool, policy: Arc<Policy>) -> Self {
        let home = format!("{}:{}", pool.home_region(), pool.home_account());
        let region_account = tokio::sync::OnceCell::new_with(Some(home));
        let clients = pool.home().clone();
        let handled = TtlCache::new(DEDUP_TTL, 1024);
        Self { clients, policy, region_account, handled, pool: Some(pool) }
    }

    /// The Lambda's enforcer: for the organization configured in the environment ([`Organization::from_env`]),
    /// else for the central account alone; the policy is read with the central account's clients.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let Some(organization) = Organization::from_env()? else {
            let clients = Clients::from_env().await;
            let config = crate::Config::load(&clients).await?;
            return Ok(Self::new(clients, Arc::new(config.policy)));
        };
        let pool = ClientPool::from_env(organization, "budget-enforcer").await?;
        let config = crate::Config::load(pool.home()).await?;
        Ok(Self::for_organization(pool, Arc::new(config.policy)))
    }

    /// Handles one event (SNS budget alert or restore command); `force_dry_run` changes nothing.
    ///
    /// SNS delivers at least once: a message this process has already handled (same `MessageId`) is
    /// skipped without any AWS call. A failed attempt is not remembered, so Lambda's retry runs in full.
    pub async fn handle(&self, event: &Value, force_dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let parsed = parse_budget_event(event)?;
        let message_id = event.pointer("/Records/0/Sns/MessageId").and_then(Value::as_str).filter(|_| !force_dry_run);
        if let Some(id) = message_id
            && self.handled.get(id).is_some()
        {
            let reason = format!("SNS message {} was already handled by this function", clip(id));
            info!(outcome = "skipped", reason = %reason, "handled");
            return Ok(EnforcementOutcome::Skipped { reason, alert: None });
        }
        let outcome = match parsed {
            BudgetEvent::Alert(alert) => self.enforce(alert, force_dry_run).await,
            BudgetEvent::Restore { budget } => self.restore(budget.as_deref(), force_dry_run).await,
        };
        let outcome = outcome?;
        if let Some(id) = message_id {
            self.handled.insert(id.to_owned(), ());
        }
        info!(outcome = outcome.label(), "handled");
        Ok(outcome)
    }

    /// The Lambda entry: bad input becomes a `rejected` outcome and a refused AWS call (e.g. access denied)
    /// a `failed` one, both logged as errors, instead of an `Err`: an `Err` makes Lambda retry, and
    /// retrying cannot fix them.
    pub async fn handle_lambda(&self, event: &Value) -> Result<EnforcementOutcome, EnforceError> {
        match self.handle(event, false).await {
            Err(EnforceError::BadInput(err)) => {
                tracing::error!(error = %clip(&err.to_string()), "not a budget alert; not retried");
                Ok(EnforcementOutcome::Rejected { error: err.to_string() })
            }
            Err(err) if !err.is_retryable() => {
                tracing::error!(error = %clip(&err.to_string()), "failed; retrying will not help, not retried");
                Ok(EnforcementOutcome::Failed { error: err.to_string() })
            }
            other => other,
        }
    }

    /// Acts on one alert as the policy says. A retryable failure after some actions were taken is an
    /// [`EnforceError::Incomplete`] listing them.
    pub async fn enforce(&self, alert: BudgetAlert, force_dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let budgets = &self.policy.budgets;
        let plan = match plan_enforcement(&alert, budgets, force_dry_run) {
            Ok(plan) => plan,
            Err(reason) => {
                return Ok(EnforcementOutcome::Skipped { reason, alert: Some(alert) });
            }
        };
        let Some(rule) = budgets.rule_for(&alert.budget_name) else {
            return Ok(EnforcementOutcome::Skipped {
                reason: format!("no budget rule matches budget {:?}", alert.budget_name),
                alert: Some(alert),
            });
        };
        let (scope, accounts) = match self.resolve_scope(rule, &alert).await.map_err(EnforceError::Retryable)? {
            Ok(resolved) => resolved,
            Err(reason) => {
                return Ok(EnforcementOutcome::Skipped { reason, alert: Some(alert) });
            }
        };
        let mut scope_text = scope.describe(rule.scope == Scope::FromBudget);
        let mut ledger = Ledger::default();
        let places = match (&self.pool, accounts.is_empty()) {
            (None, true) => vec![],
            _ => self.places(&accounts).await.map_err(EnforceError::Retryable)?,
        };
        if !accounts.is_empty() {
            let regions: BTreeSet<&str> = places.iter().flat_map(|(_, r)| r.iter().map(String::as_str)).collect();
            let regions: Vec<&str> = regions.into_iter().collect();
            scope_text = format!("{scope_text} in accounts {} (regions {})", accounts.join(", "), regions.join(", "));
        }
        if self.pool.is_none() && accounts.is_empty() {
            // The single-account deployment: the central clients, as before organizations.
            if let Err(err) = self.central_actor().act(rule, &scope, &alert, &plan, &mut ledger).await {
                // NOTE: a listing that failed after earlier actions were carried out: report those too.
                return Err(incomplete(err, ledger.results));
            }
        }
        for (account, regions) in self.reachable(places, &mut ledger).await {
            for region in regions {
                let actor = self.actor(&account, &region);
                if let Err(err) = actor.act(rule, &scope, &alert, &plan, &mut ledger).await {
                    if !accounts.is_empty() && actor.account != self.home_account().await.unwrap_or_default() {
                        // NOTE: one member account failing does not stop the others; a retry redoes all (idempotent).
                        ledger.record("act", &format!("account {account} region {region}"), Err(err), "done");
                        continue;
                    }
                    // NOTE: a listing that failed after earlier actions were carried out: report those too.
                    return Err(incomplete(err, ledger.results));
                }
            }
        }
        if let Some(err) = ledger.retryable {
            return Err(incomplete(err, ledger.results));
        }
        let mut report = EnforcementReport { alert, plan, scope: scope_text, results: ledger.results, notified: false };
        if report.plan.actions.contains(&Action::Notify) && !report.plan.dry_run {
            report.notified = self.notify(&report).await.map_err(|err| incomplete(err, report.results.clone()))?;
        }
        Ok(if report.plan.dry_run {
            EnforcementOutcome::DryRun(report)
        } else if report.plan.actions.iter().all(|a| *a == Action::Notify) {
            EnforcementOutcome::Notified(report)
        } else {
            EnforcementOutcome::Enforced(report)
        })
    }

    /// The rule's scope; `Err` is the reason to refuse acting (no resolvable scope).
    async fn resolve_scope(
        &self,
        rule: &BudgetRule,
        alert: &BudgetAlert,
    ) -> Result<Result<(ResolvedScope, Vec<String>), String>, AwsError> {
        Ok(match &rule.scope {
            Scope::Account => Ok((ResolvedScope::Account, vec![])),
            Scope::Tags(tags) => {
                Ok((ResolvedScope::Tags(vec![tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()]), vec![]))
            }
            Scope::FromBudget => {
                let Some(account) = alert.account_id.as_deref() else {
                    return Ok(Err(format!(
                        "budget {:?}: the alert names no account, so its cost filters cannot be read; refusing to act on the whole account",
                        alert.budget_name
                    )));
                };
                let described = self
                    .clients
                    .budgets
                    .describe_budget()
                    .account_id(account)
                    .budget_name(&alert.budget_name)
                    .send()
                    .await
                    .aws("DescribeBudget");
                let (scope, accounts) = match described {
                    Ok(out) => match out.budget() {
                        None => (None, vec![]),
                        Some(budget) => {
                            // NOTE: older budgets filter with CostFilters, newer ones with a FilterExpression.
                            #[allow(deprecated)]
                            let filters = budget.cost_filters().cloned().unwrap_or_default();
                            let scope = scope_from_cost_filters(&filters)
                                .or_else(|| budget.filter_expression().and_then(scope_from_expression));
                            let mut accounts = accounts_from_cost_filters(&filters);
                            if let (true, Some(expression)) = (accounts.is_empty(), budget.filter_expression()) {
                                match accounts_from_expression(expression) {
                                    Ok(found) => accounts = found,
                                    Err(why) => {
                                        return Ok(Err(format!(
                                            "budget {:?}: {why}; refusing to act",
                                            alert.budget_name
                                        )));
                                    }
                                }
                            }
                            (scope, accounts)
                        }
                    },
                    Err(err) if err.is_retryable() => return Err(err),
                    Err(err) => {
                        return Ok(Err(format!(
                            "budget {:?}: cannot read its cost filters ({err}); refusing to act on the whole account",
                            alert.budget_name
                        )));
                    }
                };
                match scope {
                    Some(scope) => Ok((scope, accounts)),
                    // NOTE: a budget that names linked accounts and no tag pays for everything in those accounts.
                    None if !accounts.is_empty() => Ok((ResolvedScope::Account, accounts)),
                    None => Err(format!(
                        "budget {:?} filters by no cost-allocation tag; refusing to act on the whole account (say `scope: account` to mean it)",
                        alert.budget_name
                    )),
                }
            }
        })
    }

    /// Undoes the reversible actions of one budget (or all): detaches Tagwarden's deny policy, scales
    /// endpoints back, and restarts stopped notebooks where the rule asks for it.
    /// A retryable failure after some resources were restored is an [`EnforceError::Incomplete`].
    pub async fn restore(&self, budget: Option<&str>, dry_run: bool) -> Result<EnforcementOutcome, EnforceError> {
        let marker = budget.map(sanitize_value);
        let mut ledger = Ledger::default();
        let places = match &self.pool {
            None => {
                let actor = self.central_actor();
                let restored = async {
                    actor.restore_roles(marker.as_deref(), dry_run, &mut ledger).await?;
                    actor.restore_endpoints(marker.as_deref(), dry_run, &mut ledger).await?;
                    actor.restore_notebooks(marker.as_deref(), dry_run, &mut ledger).await
                }
                .await;
                if let Err(err) = restored {
                    return Err(incomplete(err, ledger.results));
                }
                vec![]
            }
            Some(_) => {
                let accounts = self.known_accounts().await.map_err(EnforceError::Retryable)?;
                self.places(&accounts).await.map_err(EnforceError::Retryable)?
            }
        };
        let home = self.pool.as_ref().map(|pool| pool.home_account().to_owned()).unwrap_or_default();
        for (account, regions) in self.reachable(places, &mut ledger).await {
            for region in regions {
                let actor = self.actor(&account, &region);
                let restored = async {
                    actor.restore_roles(marker.as_deref(), dry_run, &mut ledger).await?;
                    actor.restore_endpoints(marker.as_deref(), dry_run, &mut ledger).await?;
                    actor.restore_notebooks(marker.as_deref(), dry_run, &mut ledger).await
                }
                .await;
                match restored {
                    Ok(()) => {}
                    Err(err) if account != home => {
                        ledger.record("restore", &format!("account {account} region {region}"), Err(err), "done");
                    }
                    Err(err) => return Err(incomplete(err, ledger.results)),
                }
            }
        }
        if let Some(err) = ledger.retryable {
            return Err(incomplete(err, ledger.results));
        }
        Ok(EnforcementOutcome::Restored(RestoreReport {
            budget: budget.map(str::to_owned),
            dry_run,
            results: ledger.results,
        }))
    }

    /// Publishes the summary; a missing topic is not an error (returns false).
    async fn notify(&self, report: &EnforcementReport) -> Result<bool, AwsError> {
        let Some(topic) = self.policy.budgets.notify_topic_arn.as_deref() else {
            return Ok(false);
        };
        let (subject, message) = summary(report);
        let sent =
            self.clients.sns.publish().topic_arn(topic).subject(subject).message(message).send().await.aws("Publish");
        match sent {
            Ok(_) => Ok(true),
            Err(err) if err.is_retryable() => Err(err),
            Err(err) => {
                warn!(error = %clip(&err.to_string()), "enforcement summary not sent");
                Ok(false)
            }
        }
    }

    /// `<region>:<account>` the clients act in (one STS call per process).
    async fn region_account(&self) -> Result<&str, AwsError> {
        let value = self
            .region_account
            .get_or_try_init(|| async {
                let identity = self.clients.sts.get_caller_identity().send().await.aws("GetCallerIdentity")?;
                let account = identity.account().unwrap_or_default();
                Ok::<_, AwsError>(format!("{}:{account}", self.clients.region().unwrap_or_default()))
            })
            .await?;
        Ok(value.as_str())
    }

    async fn home_account(&self) -> Result<String, AwsError> {
        Ok(self.region_account().await?.split(':').nth(1).unwrap_or_default().to_owned())
    }

    /// Every account restore visits: the central one and, for an organization, every member account.
    async fn known_accounts(&self) -> Result<Vec<String>, AwsError> {
        let mut accounts = BTreeSet::from([self.home_account().await?]);
        let Some(pool) = &self.pool else {
            return Ok(accounts.into_iter().collect());
        };
        match &pool.organization().membership {
            Membership::Listed(listed) => accounts.extend(listed.keys().cloned()),
            Membership::Organizations => {
                let mut pages = pool.organizations().list_accounts().into_paginator().send();
                while let Some(page) = pages.next().await {
                    accounts
                        .extend(page.aws("ListAccounts")?.accounts().iter().filter_map(|a| a.id()).map(str::to_owned));
                }
            }
        }
        Ok(accounts.into_iter().collect())
    }

    /// The (account, regions) to act in: `accounts` (none: the central account), each in the organization's
    /// regions (none configured, or no organization: the central region).
    async fn places(&self, accounts: &[String]) -> Result<Vec<(String, Vec<String>)>, AwsError> {
        let home_region_account = self.region_account().await?.to_owned();
        let (home_region, home_account) = home_region_account.split_once(':').unwrap_or_default();
        let regions = match &self.pool {
            Some(pool) if !pool.organization().regions.is_empty() => pool.organization().regions.clone(),
            _ => vec![home_region.to_owned()],
        };
        let accounts = if accounts.is_empty() { vec![home_account.to_owned()] } else { accounts.to_vec() };
        Ok(accounts.into_iter().map(|account| (account, regions.clone())).collect())
    }

    /// The places whose account Tagwarden may act in; the others become one failed result each (the
    /// member role cannot be assumed, the account is foreign, no organization is configured).
    async fn reachable(&self, places: Vec<(String, Vec<String>)>, ledger: &mut Ledger) -> Vec<(String, Vec<String>)> {
        if places.is_empty() {
            return places;
        }
        let home = self.home_account().await.unwrap_or_default();
        let mut reachable = Vec::new();
        for (account, regions) in places {
            if account == home {
                reachable.push((account, regions));
                continue;
            }
            let Some(pool) = &self.pool else {
                let why = "failed: no organization configured (TAGWARDEN_ORGANIZATION_ACCOUNTS), cannot act in another account";
                ledger.results.push(ActionResult::new("assume-role", &format!("account {account}"), why));
                continue;
            };
            match pool.verify(&account).await {
                Ok(_) => reachable.push((account, regions)),
                Err(AccessError::Retryable(err)) => {
                    ledger.record("assume-role", &pool.role_arn(&account), Err(err), "done")
                }
                Err(refused) => {
                    warn!(account = %account, error = %clip(&refused.to_string()), "cannot act in this account");
                    ledger.results.push(ActionResult::new(
                        "assume-role",
                        &pool.role_arn(&account),
                        format!("failed: {refused}"),
                    ));
                }
            }
        }
        reachable
    }

    /// The actor of the single-account deployment: the central clients; its account and region are read
    /// with STS only when an action needs them (app and role ARNs).
    fn central_actor(&self) -> Actor<'_> {
        Actor {
            clients: self.clients.clone(),
            policy: &self.policy,
            account: String::new(),
            region: String::new(),
            deny_policy_arn: self.policy.budgets.deny_policy_arn.clone(),
            central: Some(self),
        }
    }

    /// The actor for one (account, region): the central clients at home, the pool's member clients elsewhere.
    fn actor(&self, account: &str, region: &str) -> Actor<'_> {
        let home = self.region_account.get().map(String::as_str).unwrap_or_default();
        let clients = match &self.pool {
            Some(pool) if home != format!("{region}:{account}") => pool.clients(account, region),
            _ => self.clients.clone(),
        };
        let deny_policy_arn = self.policy.budgets.deny_policy_arn.as_deref().map(|arn| in_account(arn, account));
        Actor {
            clients,
            policy: &self.policy,
            account: account.to_owned(),
            region: region.to_owned(),
            deny_policy_arn,
            central: None,
        }
    }
}

/// An IAM ARN moved to another account (`arn:aws:iam::111:policy/x` -> `arn:aws:iam::222:policy/x`): the
/// member accounts' deny policy carries the central one's name (infra/member.yaml, `DenyPolicyName`).
fn in_account(arn: &str, account: &str) -> String {
    let mut fields: Vec<&str> = arn.splitn(6, ':').collect();
    if fields.len() == 6 {
        fields[4] = account;
    }
    fields.join(":")
}

/// The enforcer acting in one (account, region): that place's clients (the member role's, through the
/// organization's [`ClientPool`], or the central account's own) and what the actions need there.
struct Actor<'a> {
    clients: Clients,
    policy: &'a Policy,
    account: String,
    region: String,
    /// The deny policy of this account (the configured ARN with the account swapped in).
    deny_policy_arn: Option<String>,
    /// The single-account enforcer, whose account and region are read lazily (`account`/`region` unset).
    central: Option<&'a BudgetEnforcer>,
}

impl Actor<'_> {
    /// Carries out the plan's actions, recording each resource's result in `ledger`.
    async fn act(
        &self,
        rule: &BudgetRule,
        scope: &ResolvedScope,
        alert: &BudgetAlert,
        plan: &EnforcementPlan,
        ledger: &mut Ledger,
    ) -> Result<(), AwsError> {
        for action in &plan.actions {
            match action {
                Action::Notify => {}
                Action::StopNotebooks => self.stop_notebooks(rule, scope, alert, plan.dry_run, ledger).await?,
                Action::StopJobs => {
                    for kind in JOB_KINDS {
                        self.stop_jobs(kind, scope, plan.dry_run, ledger).await?;
                    }
                }
                Action::DeleteStudioApps => self.delete_apps(scope, plan.dry_run, ledger).await?,
                Action::ScaleEndpoints => self.scale_endpoints(rule, scope, alert, plan.dry_run, ledger).await?,
                Action::DenyIam => self.deny_roles(scope, alert, plan.dry_run, ledger).await?,
            }
        }
        Ok(())
    }

    /// In-scope resources of these tagging types, by lower-cased ARN; every resource for account scope
    /// is not listed here (the list calls find them) and `None` is returned.
    async fn in_scope(
        &self,
        scope: &ResolvedScope,
        types: &[&str],
    ) -> Result<Option<HashMap<String, (String, Tags)>>, AwsError> {
        let ResolvedScope::Tags(groups) = scope else {
            return Ok(None);
        };
        let mut found = HashMap::new();
        for group in groups {
            let filters: Vec<TagFilter> =
                group.iter().map(|(k, vs)| TagFilter::builder().key(k).set_values(Some(vs.clone())).build()).collect();
            self.get_resources(filters, types, &mut found).await?;
        }
        Ok(Some(found))
    }

    async fn get_resources(
        &self,
        filters: Vec<TagFilter>,
        types: &[&str],
        found: &mut HashMap<String, (String, Tags)>,
    ) -> Result<(), AwsError> {
        let types = types.iter().map(|t| (*t).to_owned()).collect();
        let mut pages = self
            .clients
            .tagging
            .get_resources()
            .set_tag_filters(Some(filters))
            .set_resource_type_filters(Some(types))
            .resources_per_page(100)
            .tags_per_page(500)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for mapping in page.aws("GetResources")?.resource_tag_mapping_list() {
                let Some(arn) = mapping.resource_arn() else { continue };
                let tags = mapping.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                found.insert(arn.to_ascii_lowercase(), (arn.to_owned(), tags));
            }
        }
        Ok(())
    }

    /// Tags of known ARNs (100 per call), for the exemption check under account scope.
    async fn tags_of(&self, arns: &[String]) -> Result<HashMap<String, Tags>, AwsError> {
        let mut found = HashMap::new();
        for chunk in arns.chunks(100) {
            // NOTE: ResourceARNList cannot be combined with ResourcesPerPage or filters.
            let mut pages = self
                .clients
                .tagging
                .get_resources()
                .set_resource_arn_list(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for mapping in page.aws("GetResources")?.resource_tag_mapping_list() {
                    let Some(arn) = mapping.resource_arn() else {
                        continue;
                    };
                    let tags = mapping.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                    found.insert(arn.to_ascii_lowercase(), tags);
                }
            }
        }
        Ok(found)
    }

    /// Candidates from the running resources (ARN, name) and the in-scope set: in-scope resources that are
    /// not running are inactive candidates; running ones outside the scope are not candidates.
    async fn candidates(
        &self,
        scope: &ResolvedScope,
        tagging_type: &str,
        running: &[(String, String)],
    ) -> Result<(Vec<Candidate>, HashMap<String, String>), AwsError> {
        let names: HashMap<String, String> =
            running.iter().map(|(arn, name)| (arn.to_ascii_lowercase(), name.clone())).collect();
        let candidates = match self.in_scope(scope, &[tagging_type]).await? {
            Some(in_scope) => in_scope
                .into_values()
                .map(|(arn, tags)| Candidate { active: names.contains_key(&arn.to_ascii_lowercase()), arn, tags })
                .collect(),
            None => {
                let arns: Vec<String> = running.iter().map(|(arn, _)| arn.clone()).collect();
                let tags = self.tags_of(&arns).await?;
                arns.into_iter()
                    .map(|arn| Candidate {
                        tags: tags.get(&arn.to_ascii_lowercase()).cloned().unwrap_or_default(),
                        active: true,
                        arn,
                    })
                    .collect()
            }
        };
        Ok((candidates, names))
    }

    /// Runs `op` on each target with bounded concurrency (or records `dry-run`).
    async fn execute<F, Fut>(
        &self,
        action: &str,
        targets: Vec<Candidate>,
        dry_run: bool,
        gone: &str,
        ledger: &mut Ledger,
        op: F,
    ) where
        F: Fn(Candidate) -> Fut,
        Fut: Future<Output = Result<String, AwsError>>,
    {
        if dry_run {
            for target in targets {
                ledger.results.push(ActionResult::new(action, &target.arn, "dry-run"));
            }
            return;
        }
        let done: Vec<(String, Result<String, AwsError>)> = stream::iter(targets)
            .map(|target| {
                let arn = target.arn.clone();
                let work = op(target);
                async move { (arn, work.await) }
            })
            .buffer_unordered(self.policy.budgets.concurrency)
            .collect()
            .await;
        let mut done = done;
        done.sort_by(|a, b| a.0.cmp(&b.0));
        for (arn, outcome) in done {
            ledger.record(action, &arn, outcome, gone);
        }
    }

    fn select(&self, action: &str, candidates: Vec<Candidate>, inactive: &str, ledger: &mut Ledger) -> Vec<Candidate> {
        let budgets = &self.policy.budgets;
        let used = ledger.selected.get(action).copied().unwrap_or_default();
        let cap = budgets.max_resources_per_action;
        let selection = select_within(action, candidates, &budgets.exempt_tag, inactive, cap, used);
        *ledger.selected.entry(action.to_owned()).or_default() += selection.targets.len();
        ledger.results.extend(selection.settled);
        selection.targets
    }

    async fn stop_notebooks(
        &self,
        rule: &BudgetRule,
        scope: &ResolvedScope,
        alert: &BudgetAlert,
        dry_run: bool,
        ledger: &mut Ledger,
    ) -> Result<(), AwsError> {
        let request = self.clients.sagemaker.list_notebook_instances().status_equals(NotebookInstanceStatus::InService);
        let running = running!(
            request,
            "ListNotebookInstances",
            notebook_instances,
            notebook_instance_arn,
            notebook_instance_name
        );
        let action = result_action(Action::StopNotebooks);
        let (candidates, names) = self.candidates(scope, "sagemaker:notebook-instance", &running).await?;
        let targets = self.select(action, candidates, "already-stopped", ledger);
        // NOTE: the marker costs one call per notebook, so it is written only when restore will use it.
        let marker = rule.restart_notebooks_on_restore.then(|| sanitize_value(&alert.budget_name));
        self.execute(action, targets, dry_run, "already-stopped", ledger, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            let marker = marker.clone();
            async move {
                if let Some(marker) = marker {
                    self.mark(&target.arn, &[(STOPPED_BY_TAG, marker)]).await?;
                }
                let stopped = self
                    .clients
                    .sagemaker
                    .stop_notebook_instance()
                    .notebook_instance_name(&name)
                    .send()
                    .await
                    .aws("StopNotebookInstance");
                match stopped {
                    Ok(_) => Ok("done".to_owned()),
                    Err(err) if already_stopping(&err) => Ok("already-stopped".to_owned()),
                    Err(err) => Err(err),
                }
            }
        })
        .await;
        Ok(())
    }

    async fn stop_jobs(
        &self,
        kind: &JobKind,
        scope: &ResolvedScope,
        dry_run: bool,
        ledger: &mut Ledger,
    ) -> Result<(), AwsError> {
        let running = self.running_jobs(kind).await?;
        let (candidates, names) = self.candidates(scope, kind.tagging_type, &running).await?;
        let targets = self.select(kind.action, candidates, "already-stopped", ledger);
        self.execute(kind.action, targets, dry_run, "already-stopped", ledger, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move {
                self.stop_job(kind, &name).await?;
                Ok("done".to_owned())
            }
        })
        .await;
        Ok(())
    }

    async fn running_jobs(&self, kind: &JobKind) -> Result<Vec<(String, String)>, AwsError> {
        let sm = &self.clients.sagemaker;
        Ok(match kind.tagging_type {
            "sagemaker:training-job" => {
                let request = sm.list_training_jobs().status_equals(TrainingJobStatus::InProgress);
                running!(request, "ListTrainingJobs", training_job_summaries, training_job_arn, training_job_name)
            }
            "sagemaker:processing-job" => {
                let request = sm.list_processing_jobs().status_equals(ProcessingJobStatus::InProgress);
                running!(
                    request,
                    "ListProcessingJobs",
                    processing_job_summaries,
                    processing_job_arn,
                    processing_job_name
                )
            }
            "sagemaker:transform-job" => {
                let request = sm.list_transform_jobs().status_equals(TransformJobStatus::InProgress);
                running!(request, "ListTransformJobs", transform_job_summaries, transform_job_arn, transform_job_name)
            }
            _ => {
                let request =
                    sm.list_hyper_parameter_tuning_jobs().status_equals(HyperParameterTuningJobStatus::InProgress);
                running!(
                    request,
                    "ListHyperParameterTuningJobs",
                    hyper_parameter_tuning_job_summaries,
                    hyper_parameter_tuning_job_arn,
                    hyper_parameter_tuning_job_name
                )
            }
        })
    }

    async fn stop_job(&self, kind: &JobKind, name: &str) -> Result<(), AwsError> {
        let sm = &self.clients.sagemaker;
        match kind.tagging_type {
            "sagemaker:training-job" => {
                sm.stop_training_job().training_job_name(name).send().await.aws("StopTrainingJob").map(drop)
            }
            "sagemaker:processing-job" => {
                sm.stop_processing_job().processing_job_name(name).send().await.aws("StopProcessingJob").map(drop)
            }
            "sagemaker:transform-job" => {
                sm.stop_transform_job().transform_job_name(name).send().await.aws("StopTransformJob").map(drop)
            }
            _ => sm
                .stop_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .send()
                .await
                .aws("StopHyperParameterTuningJob")
                .map(drop),
        }
    }

    /// Deletes running apps that are in scope themselves or belong to an in-scope user profile or space.
    async fn delete_apps(&self, scope: &ResolvedScope, dry_run: bool, ledger: &mut Ledger) -> Result<(), AwsError> {
        let owners = self.in_scope(scope, &["sagemaker:app", "sagemaker:user-profile", "sagemaker:space"]).await?;
        let mut apps = Vec::new();
        let mut pages = self.clients.sagemaker.list_apps().max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            apps.extend(page.aws("ListApps")?.apps().iter().cloned());
        }
        let mut candidates = Vec::new();
        let mut details = HashMap::new();
        let region_account = self.region_account().await?.to_owned();
        for app in apps {
            let running = matches!(app.status(), Some(AppStatus::InService | AppStatus::Pending));
            let (Some(domain), Some(app_type), Some(name)) = (app.domain_id(), app.app_type(), app.app_name()) else {
                continue;
            };
            let (owner_type, owner) = match (app.user_profile_name(), app.space_name()) {
                (_, Some(space)) => ("space", space),
                (Some(profile), None) => ("user-profile", profile),
                (None, None) => continue,
            };
            let prefix = format!("arn:aws:sagemaker:{region_account}");
            let owner_arn = format!("{prefix}:{owner_type}/{domain}/{owner}");
            let arn = format!("{prefix}:app/{domain}/{owner}/{}/{name}", app_type.as_str().to_ascii_lowercase());
            let tags = match &owners {
                None => Some(Tags::new()),
                Some(found) => {
                    let own = found.get(&arn.to_ascii_lowercase()).map(|(_, t)| t);
                    let owner_tags = found.get(&owner_arn.to_ascii_lowercase()).map(|(_, t)| t);
                    match (own, owner_tags) {
                        (None, None) => None,
                        (a, b) => Some(a.into_iter().chain(b).flat_map(|t| t.clone()).collect()),
                    }
                }
            };
            // NOTE: deleted apps stay listed for a while; they are neither candidates nor news.
            if let (Some(tags), true) = (tags, running) {
                details.insert(arn.clone(), app.clone());
                candidates.push(Candidate { arn, tags, active: true });
            }
        }
        let action = result_action(Action::DeleteStudioApps);
        let targets = self.select(action, candidates, "already-deleted", ledger);
        self.execute(action, targets, dry_run, "already-deleted", ledger, |target| {
            let app = details.get(&target.arn).cloned();
            async move {
                let Some(app) = app else {
                    return Ok("failed: app details lost".to_owned());
                };
                self.clients
                    .sagemaker
                    .delete_app()
                    .set_domain_id(app.domain_id().map(str::to_owned))
                    .set_app_type(app.app_type().cloned())
                    .set_app_name(app.app_name().map(str::to_owned))
                    .set_user_profile_name(app.user_profile_name().map(str::to_owned))
                    .set_space_name(app.space_name().map(str::to_owned))
                    .send()
                    .await
                    .aws("DeleteApp")?;
                Ok("done".to_owned())
            }
        })
        .await;
        Ok(())
    }

    async fn scale_endpoints(
        &self,
        rule: &BudgetRule,
        scope: &ResolvedScope,
        alert: &BudgetAlert,
        dry_run: bool,
        ledger: &mut Ledger,
    ) -> Result<(), AwsError> {
        let request = self.clients.sagemaker.list_endpoints().status_equals(EndpointStatus::InService);
        let running = running!(request, "ListEndpoints", endpoints, endpoint_arn, endpoint_name);
        let (action, inactive) = match rule.endpoints {
            EndpointAction::Delete => ("delete-endpoint", "already-deleted"),
            EndpointAction::ScaleTo(_) => (result_action(Action::ScaleEndpoints), "not-in-service"),
        };
        let (candidates, names) = self.candidates(scope, "sagemaker:endpoint", &running).await?;
        let targets = self.select(action, candidates, inactive, ledger);
        let marker = sanitize_value(&alert.budget_name);
        self.execute(action, targets, dry_run, "already-deleted", ledger, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            let marker = marker.clone();
            async move {
                match rule.endpoints {
                    EndpointAction::Delete => {
                        self.clients
                            .sagemaker
                            .delete_endpoint()
                            .endpoint_name(&name)
                            .send()
                            .await
                            .aws("DeleteEndpoint")?;
                        Ok("done".to_owned())
                    }
                    EndpointAction::ScaleTo(min) => self.scale_endpoint(&target, &name, min, marker).await,
                }
            }
        })
        .await;
        Ok(())
    }

    async fn scale_endpoint(
        &self,
        target: &Candidate,
        name: &str,
        min: i32,
        marker: String,
    ) -> Result<String, AwsError> {
        let described =
            self.clients.sagemaker.describe_endpoint().endpoint_name(name).send().await.aws("DescribeEndpoint")?;
        let above: Vec<(String, i32)> = described
            .production_variants()
            .iter()
            .filter_map(|v| {
                Some((v.variant_name()?.to_owned(), v.current_instance_count().or(v.desired_instance_count())?))
            })
            .filter(|(_, count)| *count > min)
            .collect();
        if above.is_empty() {
            return Ok("already-scaled".to_owned());
        }
        let from = above.iter().map(|(v, c)| format!("{v}={c}")).collect::<Vec<_>>().join(" ");
        // NOTE: the marker goes first, so a failure after it never loses the counts to restore.
        let previous = target.tags.get(SCALED_FROM_TAG).cloned();
        self.mark(&target.arn, &[(SCALED_BY_TAG, marker), (SCALED_FROM_TAG, previous.unwrap_or(from))]).await?;
        let desired = above
            .iter()
            .map(|(variant, _)| {
                DesiredWeightAndCapacity::builder().variant_name(variant).desired_instance_count(min).build()
            })
            .collect();
        self.clients
            .sagemaker
            .update_endpoint_weights_and_capacities()
            .endpoint_name(name)
            .set_desired_weights_and_capacities(Some(desired))
            .send()
            .await
            .aws("UpdateEndpointWeightsAndCapacities")?;
        Ok("done".to_owned())
    }

    /// Attaches the deny policy to SageMaker execution roles in scope: the roles of in-scope user profiles
    /// and roles trusted by SageMaker that carry the scope's tags.
    async fn deny_roles(
        &self,
        scope: &ResolvedScope,
        alert: &BudgetAlert,
        dry_run: bool,
        ledger: &mut Ledger,
    ) -> Result<(), AwsError> {
        let Some(deny_arn) = self.deny_policy_arn.clone() else {
            return Ok(());
        };
        let roles = self.sagemaker_roles().await?;
        let mut in_scope: BTreeMap<String, Tags> = BTreeMap::new();
        for (name, tags) in &roles {
            if scope.matches(tags) {
                in_scope.insert(name.clone(), tags.clone());
            }
        }
        if let Some(profiles) = self.in_scope(scope, &["sagemaker:user-profile"]).await? {
            for (arn, _) in profiles.values() {
                if let Some(role) = self.profile_role(arn).await? {
                    let tags = roles.get(&role).cloned().unwrap_or_default();
                    in_scope.insert(role, tags);
                }
            }
        }
        let account = self.account().await?;
        let candidates = in_scope
            .into_iter()
            .map(|(name, tags)| Candidate { arn: format!("arn:aws:iam::{account}:role/{name}"), tags, active: true })
            .collect();
        let action = result_action(Action::DenyIam);
        let targets = self.select(action, candidates, "already-denied", ledger);
        let marker = sanitize_value(&alert.budget_name);
        self.execute(action, targets, dry_run, "role-gone", ledger, |target| {
            let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let (deny_arn, marker) = (deny_arn.clone(), marker.clone());
            async move { self.deny_role(&name, &deny_arn, marker).await }
        })
        .await;
        Ok(())
    }

    async fn deny_role(&self, role: &str, deny_arn: &str, marker: String) -> Result<String, AwsError> {
        let iam = &self.clients.iam;
        let attached = iam
            .list_attached_role_policies()
            .role_name(role)
            .max_items(1000)
            .send()
            .await
            .aws("ListAttachedRolePolicies")?;
        if attached.attached_policies().iter().any(|p| p.policy_arn() == Some(deny_arn)) {
            // Attached by someone else (or by us, already marked): not ours to mark.
            return Ok("already-denied".to_owned());
        }
        // NOTE: mark first: a mark without the policy is harmless, a policy without the mark is never restored.
        let tag = aws_sdk_iam::types::Tag::builder()
            .key(DENIED_BY_TAG)
            .value(marker)
            .build()
            .map_err(build_error("TagRole"))?;
        iam.tag_role().role_name(role).tags(tag).send().await.aws("TagRole")?;
        iam.attach_role_policy().role_name(role).policy_arn(deny_arn).send().await.aws("AttachRolePolicy")?;
        Ok("done".to_owned())
    }

    /// Roles under the policy's path prefix that SageMaker may assume, with their tags.
    async fn sagemaker_roles(&self) -> Result<BTreeMap<String, Tags>, AwsError> {
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .clients
                .iam
                .list_roles()
                .path_prefix(&self.policy.budgets.role_path_prefix)
                .set_marker(marker)
                .send()
                .await
                .aws("ListRoles")?;
            for role in page.roles() {
                let trust = role.assume_role_policy_document().map(percent_decode).unwrap_or_default();
                if trust.contains("sagemaker.amazonaws.com") {
                    names.push(role.role_name().to_owned());
                }
            }
            marker = page.marker().map(str::to_owned).filter(|_| page.is_truncated());
            if marker.is_none() {
                break;
            }
        }
        let tagged: Vec<Result<(String, Tags), AwsError>> = stream::iter(names)
            .map(|name| async move {
                let tags = crate::tagging::apply::role_tags(&self.clients, &name).await?;
                Ok((name, tags))
            })
            .buffer_unordered(self.policy.budgets.concurrency)
            .collect()
            .await;
        tagged.into_iter().collect()
    }

    /// The execution role (name) of a user profile, or its domain's default.
    async fn profile_role(&self, profile_arn: &str) -> Result<Option<String>, AwsError> {
        let Some((domain, profile)) = SageMakerArn::parse(profile_arn).and_then(|a| {
            let (d, p) = a.path.split_once('/')?;
            Some((d.to_owned(), p.to_owned()))
        }) else {
            return Ok(None);
        };
        let sm = &self.clients.sagemaker;
        let described = sm
            .describe_user_profile()
            .domain_id(&domain)
            .user_profile_name(&profile)
            .send()
            .await
            .aws("DescribeUserProfile");
        let role = match described {
            Ok(out) => out.user_settings().and_then(|s| s.execution_role()).map(str::to_owned),
            Err(err) if err.is_not_found() => return Ok(None),
            Err(err) => return Err(err),
        };
        let role = match role {
            Some(role) => Some(role),
            None => match sm.describe_domain().domain_id(&domain).send().await.aws("DescribeDomain") {
                Ok(out) => out.default_user_settings().and_then(|s| s.execution_role()).map(str::to_owned),
                Err(err) if err.is_not_found() => None,
                Err(err) => return Err(err),
            },
        };
        Ok(role.and_then(|arn| arn.rsplit('/').next().map(str::to_owned)))
    }

    fn marked(&self, marker: Option<&str>, key: &str, tags: &Tags) -> bool {
        tags.get(key).is_some_and(|v| marker.is_none_or(|m| m == v))
    }

    async fn restore_roles(&self, marker: Option<&str>, dry_run: bool, ledger: &mut Ledger) -> Result<(), AwsError> {
        let Some(deny_arn) = self.deny_policy_arn.clone() else {
            return Ok(());
        };
        let account = self.account().await?;
        let targets: Vec<Candidate> = self
            .sagemaker_roles()
            .await?
            .into_iter()
            .filter(|(_, tags)| self.marked(marker, DENIED_BY_TAG, tags))
            .map(|(name, tags)| Candidate { arn: format!("arn:aws:iam::{account}:role/{name}"), tags, active: true })
            .collect();
        self.execute("detach-deny", targets, dry_run, "done", ledger, |target| {
            let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let deny_arn = deny_arn.clone();
            async move {
                let iam = &self.clients.iam;
                match iam
                    .detach_role_policy()
                    .role_name(&name)
                    .policy_arn(&deny_arn)
                    .send()
                    .await
                    .aws("DetachRolePolicy")
                {
                    Ok(_) => {}
                    Err(err) if err.is_not_found() => {}
                    Err(err) => return Err(err),
                }
                iam.untag_role().role_name(&name).tag_keys(DENIED_BY_TAG).send().await.aws("UntagRole")?;
                Ok("done".to_owned())
            }
        })
        .await;
        Ok(())
    }

    async fn marked_resources(
        &self,
        marker: Option<&str>,
        key: &str,
        tagging_type: &str,
    ) -> Result<Vec<Candidate>, AwsError> {
        let filter = TagFilter::builder().key(key).set_values(marker.map(|m| vec![m.to_owned()])).build();
        let mut found = HashMap::new();
        self.get_resources(vec![filter], &[tagging_type], &mut found).await?;
        let mut candidates: Vec<Candidate> =
            found.into_values().map(|(arn, tags)| Candidate { arn, tags, active: true }).collect();
        candidates.sort_by(|a, b| a.arn.cmp(&b.arn));
        Ok(candidates)
    }

    async fn restore_endpoints(
        &self,
        marker: Option<&str>,
        dry_run: bool,
        ledger: &mut Ledger,
    ) -> Result<(), AwsError> {
        let targets = self.marked_resources(marker, SCALED_BY_TAG, "sagemaker:endpoint").await?;
        self.execute("restore-endpoint", targets, dry_run, "endpoint-gone", ledger, |target| async move {
            let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let counts = target.tags.get(SCALED_FROM_TAG).map(|s| parse_counts(s)).unwrap_or_default();
            let desired: Vec<_> = counts
                .into_iter()
                .map(|(variant, count)| {
                    DesiredWeightAndCapacity::builder().variant_name(variant).desired_instance_count(count).build()
                })
                .collect();
            if !desired.is_empty() {
                self.clients
                    .sagemaker
                    .update_endpoint_weights_and_capacities()
                    .endpoint_name(&name)
                    .set_desired_weights_and_capacities(Some(desired))
                    .send()
                    .await
                    .aws("UpdateEndpointWeightsAndCapacities")?;
            }
            self.unmark(&target.arn, &[SCALED_BY_TAG, SCALED_FROM_TAG]).await?;
            Ok("done".to_owned())
        })
        .await;
        Ok(())
    }

    async fn restore_notebooks(
        &self,
        marker: Option<&str>,
        dry_run: bool,
        ledger: &mut Ledger,
    ) -> Result<(), AwsError> {
        let targets = self.marked_resources(marker, STOPPED_BY_TAG, "sagemaker:notebook-instance").await?;
        let budgets = &self.policy.budgets;
        self.execute("restart-notebook", targets, dry_run, "notebook-gone", ledger, |target| async move {
            let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let budget = target.tags.get(STOPPED_BY_TAG).cloned().unwrap_or_default();
            let restart = budgets.rule_for(&budget).is_some_and(|r| r.restart_notebooks_on_restore);
            let result = if restart {
                self.clients
                    .sagemaker
                    .start_notebook_instance()
                    .notebook_instance_name(&name)
                    .send()
                    .await
                    .aws("StartNotebookInstance")?;
                "done"
            } else {
                "left-stopped (restart_notebooks_on_restore is off)"
            };
            self.unmark(&target.arn, &[STOPPED_BY_TAG]).await?;
            Ok(result.to_owned())
        })
        .await;
        Ok(())
    }

    async fn mark(&self, arn: &str, tags: &[(&str, String)]) -> Result<(), AwsError> {
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(v).build()).collect();
        self.clients.sagemaker.add_tags().resource_arn(arn).set_tags(Some(tags)).send().await.aws("AddTags")?;
        Ok(())
    }

    async fn unmark(&self, arn: &str, keys: &[&str]) -> Result<(), AwsError> {
        let keys = keys.iter().map(|k| (*k).to_owned()).collect();
        self.clients
            .sagemaker
            .delete_tags()
            .resource_arn(arn)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .aws("DeleteTags")?;
        Ok(())
    }

    /// `<region>:<account>` this actor acts in.
    async fn region_account(&self) -> Result<String, AwsError> {
        match self.central {
            Some(enforcer) => enforcer.region_account().await.map(str::to_owned),
            None => Ok(format!("{}:{}", self.region, self.account)),
        }
    }

    async fn account(&self) -> Result<String, AwsError> {
        match self.central {
            Some(enforcer) => enforcer.home_account().await,
            None => Ok(self.account.clone()),
        }
    }
}

/// A job type `stop-jobs` handles.
#[derive(Debug)]
struct JobKind {
    tagging_type: &'static str,
    action: &'static str,
}

const JOB_KINDS: &[JobKind] = &[
    JobKind { tagging_type: "sagemaker:hyper-parameter-tuning-job", action: "stop-tuning-job" },
    JobKind { tagging_type: "sagemaker:training-job", action: "stop-training-job" },
    JobKind { tagging_type: "sagemaker:processing-job", action: "stop-processing-job" },
    JobKind { tagging_type: "sagemaker:transform-job", action: "stop-transform-job" },
];

/// Subject and body of the enforcement summary.
pub fn summary(report: &EnforcementReport) -> (String, String) {
    let alert = &report.alert;
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &report.results {
        let result = r.result.split(':').next().unwrap_or_default();
        *counts.entry((r.action.as_str(), result)).or_default() += 1;
    }
    let done = report.results.iter().filter(|r| r.result == "done").count();
    let subject =
        format!("Tagwarden: budget {} at {:.0}% - {done} action(s) taken", alert.budget_name, alert.percent_of_budget);
    let mut body = format!(
        "Budget {:?}: {:?} {} {:.2} of {:.2} ({:.2}%). Rule {:?}, step {}%: {}.\nScope: {}.\n",
        alert.budget_name,
        alert.alert_type,
        alert.unit,
        alert.amount,
        alert.budgeted_amount,
        alert.percent_of_budget,
        report.plan.rule,
        report.plan.step,
        report.plan.actions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        report.scope
    );
    if let Some(limited) = &report.plan.limited {
        body.push_str(&format!("{limited}.\n"));
    }
    for ((action, result), n) in &counts {
        body.push_str(&format!("  {action}: {n} {result}\n"));
    }
    let failures: Vec<&ActionResult> = report.results.iter().filter(|r| r.result.starts_with("failed")).collect();
    for f in failures.iter().take(50) {
        body.push_str(&format!("  FAILED {} {}: {}\n", f.action, f.resource_arn, f.result));
    }
    if failures.len() > 50 {
        body.push_str(&format!("  … and {} more failures\n", failures.len() - 50));
    }
    (crate::tagging::rules::truncate(&subject, 99), body)
}

/// SageMaker's answer to stopping a notebook that is already stopping or stopped:
/// `ValidationException: Status (Stopping) not in ([InService]). Unable to transition to (Stopping) …`.
// NOTE: this is what the SDK's retry meets when an attempt timed out after SageMaker had carried it out,
// and what a stop by someone else between the list call and ours looks like: done, not failed.
fn already_stopping(err: &AwsError) -> bool {
    matches!(err, AwsError::Rejected { code, message, .. }
        if code == "ValidationException"
            && (message.contains("Status (Stopping)") || message.contains("Status (Stopped)")))
}

/// `variant=count variant=count` -> pairs; malformed parts are ignored.
fn parse_counts(text: &str) -> Vec<(String, i32)> {
    text.split_whitespace()
        .filter_map(|part| {
            let (variant, count) = part.split_once('=')?;
            Some((variant.to_owned(), count.parse().ok()?))
        })
        .collect()
}

/// IAM returns trust policies URL-encoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn build_error<E: std::fmt::Display>(operation: &'static str) -> impl Fn(E) -> AwsError {
    move |e| AwsError::Rejected { operation, code: "BuildFailure".into(), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_filters_become_one_alternative_per_tag_key() {
        let filters = HashMap::from([(
            "TagKeyValue".to_string(),
            vec![
                "user:cost-center$ML-Marketing".to_string(),
                "user:cost-center$ML-Ads".into(),
                "user:team$growth".into(),
            ],
        )]);
        let scope = scope_from_cost_filters(&filters).unwrap();
        let ResolvedScope::Tags(groups) = &scope else { panic!("tags") };
        assert_eq!(groups.len(), 2);
        let tags = |k: &str, v: &str| Tags::from([(k.to_string(), v.to_string())]);
        assert!(scope.matches(&tags("cost-center", "ML-Ads")));
        assert!(scope.matches(&tags("team", "growth")));
        assert!(!scope.matches(&tags("cost-center", "Finance")));
    }

    #[test]
    fn filter_expressions_with_and_or_of_tags_become_scopes() {
        use aws_sdk_budgets::types::{Expression, TagValues};
        let tag = |k: &str, v: &str| Expression::builder().tags(TagValues::builder().key(k).values(v).build()).build();
        let expression = Expression::builder()
            .and(tag("cost-center", "ML-Marketing"))
            .and(Expression::builder().or(tag("team", "a")).or(tag("team", "b")).build())
            .build();
        let scope = scope_from_expression(&expression).unwrap();
        let has = |pairs: &[(&str, &str)]| {
            scope.matches(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        };
        assert!(has(&[("cost-center", "ML-Marketing"), ("team", "b")]));
        assert!(!has(&[("cost-center", "ML-Marketing")]));
        assert!(!has(&[("team", "a")]));
        let negated = Expression::builder().not(tag("team", "a")).build();
        assert_eq!(scope_from_expression(&negated), None);
    }

    #[test]
    fn budgets_without_tag_filters_have_no_scope() {
        let filters = HashMap::from([("Service".to_string(), vec!["Amazon SageMaker".to_string()])]);
        assert_eq!(scope_from_cost_filters(&filters), None);
        let empty = HashMap::from([("TagKeyValue".to_string(), vec!["user:cost-center$".to_string()])]);
        assert_eq!(scope_from_cost_filters(&empty), None);
    }

    #[test]
    fn linked_account_cost_filters_name_the_accounts_to_act_in() {
        let filters = HashMap::from([
            ("LinkedAccount".to_string(), vec!["222222222222".to_string(), "111111111111".into(), "junk".into()]),
            ("TagKeyValue".to_string(), vec!["user:cost-center$ML-Marketing".to_string()]),
        ]);
        assert_eq!(accounts_from_cost_filters(&filters), ["111111111111", "222222222222"]);
        assert!(scope_from_cost_filters(&filters).is_some(), "the tag filter still scopes resources");
        assert!(accounts_from_cost_filters(&HashMap::new()).is_empty());
    }

    #[test]
    fn linked_account_dimensions_intersect_through_and_and_unite_through_or() {
        use aws_sdk_budgets::types::{Dimension, Expression, ExpressionDimensionValues, TagValues};
        let accounts = |ids: &[&str]| {
            let values = ExpressionDimensionValues::builder()
                .key(Dimension::LinkedAccount)
                .set_values(Some(ids.iter().map(|a| a.to_string()).collect()))
                .build()
                .unwrap();
            Expression::builder().dimensions(values).build()
        };
        let tag = Expression::builder().tags(TagValues::builder().key("user:team").values("a").build()).build();
        let and = Expression::builder()
            .and(accounts(&["111111111111", "222222222222"]))
            .and(accounts(&["222222222222", "333333333333"]))
            .and(tag.clone())
            .build();
        assert_eq!(accounts_from_expression(&and).unwrap(), ["222222222222"]);
        let or = Expression::builder().or(accounts(&["111111111111"])).or(accounts(&["333333333333"])).build();
        assert_eq!(accounts_from_expression(&or).unwrap(), ["111111111111", "333333333333"]);
        let open = Expression::builder().or(accounts(&["111111111111"])).or(tag.clone()).build();
        assert!(accounts_from_expression(&open).unwrap().is_empty(), "one branch spans every account");
        let not = Expression::builder().not(accounts(&["111111111111"])).build();
        assert!(accounts_from_expression(&not).unwrap_err().contains("Not LINKED_ACCOUNT"));
        let service =
            ExpressionDimensionValues::builder().key(Dimension::Service).values("Amazon SageMaker").build().unwrap();
        let not_service = Expression::builder().not(Expression::builder().dimensions(service).build()).build();
        assert!(accounts_from_expression(&not_service).unwrap().is_empty());
    }

    #[test]
    fn a_member_account_attaches_its_own_deny_policy_of_the_central_ones_name() {
        let central = "arn:aws:iam::111111111111:policy/tagwarden-deny-sagemaker-us-east-1";
        assert_eq!(
            in_account(central, "222222222222"),
            "arn:aws:iam::222222222222:policy/tagwarden-deny-sagemaker-us-east-1"
        );
        assert_eq!(in_account("not-an-arn", "222222222222"), "not-an-arn");
    }

    #[test]
    fn endpoint_counts_round_trip_through_the_marker_tag() {
        assert_eq!(parse_counts("AllTraffic=3 canary=1 junk"), [("AllTraffic".to_string(), 3), ("canary".into(), 1)]);
    }

    #[test]
    fn trust_policies_are_url_decoded() {
        assert_eq!(
            percent_decode("%7B%22Service%22%3A%22sagemaker.amazonaws.com%22%7D"),
            r#"{"Service":"sagemaker.amazonaws.com"}"#
        );
        assert_eq!(percent_decode("100%"), "100%");
    }
}

#[cfg(test)]
mod mock_tests {
    use super::*;
    use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag as RgtTag};
    use aws_sdk_sagemaker::Client as SageMaker;
    use aws_sdk_sagemaker::operation::list_notebook_instances::ListNotebookInstancesOutput;
    use aws_sdk_sagemaker::operation::stop_notebook_instance::StopNotebookInstanceOutput;
    use aws_sdk_sagemaker::types::NotebookInstanceSummary;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use serde_json::json;

    const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  rules:\n    - budget: ml-marketing\n      scope: {tags: {cost-center: ML-Marketing}}\n      steps: [{at: 100, actions: [stop-notebooks]}]\n";

    fn arn(i: usize) -> String {
        format!("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-{i}")
    }

    fn alert() -> Value {
        let message = "AWS Budget Notification\nAWS Account 123456789012\n\nBudget Name: ml-marketing\nBudget Type: Cost\nBudgeted Amount: $100.00\nAlert Type: ACTUAL\nAlert Threshold: > $100.00\nACTUAL Amount: $120.00\n";
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": "AWS Budgets: ml-marketing has exceeded your alert threshold", "Message": message}}]})
    }

    fn error(status: u16, code: &str) -> HttpResponse {
        let body = json!({"__type": code, "message": "from the mock"}).to_string();
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    fn in_scope(n: usize) -> Rule {
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(move || {
            let mappings = (0..n).map(|i| {
                ResourceTagMapping::builder()
                    .resource_arn(arn(i))
                    .tags(RgtTag::builder().key("cost-center").value("ML-Marketing").build().unwrap())
                    .build()
            });
            GetResourcesOutput::builder().set_resource_tag_mapping_list(Some(mappings.collect())).build()
        })
    }

    fn summary(i: usize) -> NotebookInstanceSummary {
        NotebookInstanceSummary::builder()
            .notebook_instance_name(format!("nb-{i}"))
            .notebook_instance_arn(arn(i))
            .notebook_instance_status(NotebookInstanceStatus::InService)
            .build()
    }

    fn enforcer(sagemaker: &[&Rule], tagging: &[&Rule]) -> BudgetEnforcer {
        let empty = std::iter::empty::<&Rule>;
        let no_retry = |c: aws_sdk_sagemaker::config::Builder| {
            c.retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        };
        let clients = Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, sagemaker.iter().copied(), no_retry),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, empty()),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, empty()),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, tagging.iter().copied()),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, empty()),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, empty()),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, empty()),
        };
        BudgetEnforcer::new(clients, Arc::new(Policy::from_yaml(POLICY, "test").unwrap()))
    }

    fn results(outcome: EnforcementOutcome) -> Vec<String> {
        let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
        report.results.into_iter().map(|r| r.result).collect()
    }

    #[tokio::test]
    async fn notebooks_on_every_list_page_are_stopped() {
        let list = mock!(SageMaker::list_notebook_instances)
            .sequence()
            .output(|| ListNotebookInstancesOutput::builder().notebook_instances(summary(0)).next_token("p2").build())
            .output(|| ListNotebookInstancesOutput::builder().notebook_instances(summary(1)).build())
            .build();
        let stop =
            mock!(SageMaker::stop_notebook_instance).then_output(|| StopNotebookInstanceOutput::builder().build());
        let tagging = in_scope(2);
        let outcome = enforcer(&[&list, &stop], &[&tagging]).handle(&alert(), false).await.unwrap();
        assert_eq!(results(outcome), ["done", "done"]);
        assert_eq!((list.num_calls(), stop.num_calls()), (2, 2));
    }

    #[tokio::test]
    async fn a_notebook_gone_before_the_stop_counts_as_stopped_and_a_denied_stop_is_reported() {
        let list = mock!(SageMaker::list_notebook_instances).then_output(|| {
            ListNotebookInstancesOutput::builder().notebook_instances(summary(0)).notebook_instances(summary(1)).build()
        });
        let gone = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-0"))
            .then_http_response(|| error(400, "ResourceNotFound"));
        let denied = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-1"))
            .then_http_response(|| error(400, "AccessDeniedException"));
        let tagging = in_scope(2);
        let outcome = enforcer(&[&list, &gone, &denied], &[&tagging]).handle(&alert(), false).await.unwrap();
        let results = results(outcome);
        assert_eq!(results[0], "already-stopped");
        assert!(results[1].starts_with("failed: StopNotebookInstance: access denied"), "{}", results[1]);
    }

    #[tokio::test]
    async fn throttling_that_outlasts_the_sdk_retries_makes_the_whole_alert_retryable() {
        let list = mock!(SageMaker::list_notebook_instances).then_output(|| {
            ListNotebookInstancesOutput::builder().notebook_instances(summary(0)).notebook_instances(summary(1)).build()
        });
        let ok = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-0"))
            .then_output(|| StopNotebookInstanceOutput::builder().build());
        let throttled = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-1"))
            .then_http_response(|| error(400, "ThrottlingException"));
        let tagging = in_scope(2);
        let err = enforcer(&[&list, &ok, &throttled], &[&tagging]).handle(&alert(), false).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(ok.num_calls(), 1, "the other notebooks were still stopped before the retry");
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "Tagwarden.Retryable.Throttled");
    }

    #[tokio::test]
    async fn a_refused_listing_is_a_failed_outcome_for_lambda_not_a_retry() {
        let denied =
            mock!(SageMaker::list_notebook_instances).then_http_response(|| error(400, "AccessDeniedException"));
        let tagging = in_scope(2);
        let enforcer = enforcer(&[&denied], &[&tagging]);
        let err = enforcer.handle(&alert(), false).await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        let outcome = enforcer.handle_lambda(&alert()).await.unwrap();
        let EnforcementOutcome::Failed { error } = outcome else { panic!("expected failed, got {outcome:?}") };
        assert!(error.contains("ListNotebookInstances: access denied"), "{error}");
    }

    #[tokio::test]
    async fn the_safety_cap_limits_how_many_notebooks_one_alert_stops() {
        let list = mock!(SageMaker::list_notebook_instances).then_output(|| {
            let mut out = ListNotebookInstancesOutput::builder();
            for i in 0..5 {
                out = out.notebook_instances(summary(i));
            }
            out.build()
        });
        let stop =
            mock!(SageMaker::stop_notebook_instance).then_output(|| StopNotebookInstanceOutput::builder().build());
        let tagging = in_scope(5);
        let mut enforcer = enforcer(&[&list, &stop], &[&tagging]);
        Arc::make_mut(&mut enforcer.policy).budgets.max_resources_per_action = 3;
        let results = results(enforcer.handle(&alert(), false).await.unwrap());
        assert_eq!(results.iter().filter(|r| *r == "done").count(), 3);
        assert_eq!(results.iter().filter(|r| r.starts_with("capped")).count(), 2);
        assert_eq!(stop.num_calls(), 3);
    }
}
