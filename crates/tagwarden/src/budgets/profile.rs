//! One Studio user profile's budgets, kept in step by the auto-tagger as the profile is created and deleted.
//! In: the catalog's `per: user-profile` entries, the profile's name (the value the creator tag records) and
//! what AWS Budgets holds under each budget name; out: what was done to each budget ([`ProfileBudget`]).
//!
//! The auto-tagger never adopts: a budget of the profile's name that lacks the managed tag was made by
//! someone else and is left alone on creation and on deletion, so a user who can create and delete
//! profiles cannot get Tagwarden to change or delete a budget it does not manage.

use serde::Serialize;

use super::apply::{BudgetsClient, BudgetsError, held_of};
use super::{BudgetSpec, CatalogError, Change, Held, desired, update_for};
use crate::aws::AwsError;
use crate::policy::{Catalog, Selection};

/// What was done to one of a profile's budgets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BudgetResult {
    /// Created, with its notifications subscribed to the alerts topic and the managed tag.
    Created,
    /// A managed budget that differed from the catalog was brought in line.
    Updated,
    /// Already as the catalog says.
    Unchanged,
    /// The profile's managed budget was deleted.
    Deleted,
    /// No budget of that name: nothing to delete.
    Absent,
    /// A budget of that name exists without the managed tag: left alone.
    NotManaged,
    /// Another profile of that name (in another domain) still exists: the budget stays.
    Kept,
    /// A failure retrying will not fix (access denied, a topic AWS Budgets refuses, no alerts topic).
    Failed,
}

/// One of a profile's budgets and what was done to it, as the auto-tagger's outcome reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileBudget {
    /// The budget's name (`studio-alice`); empty when the catalog could not be expanded.
    pub budget: String,
    /// What was done.
    pub result: BudgetResult,
    /// What changed, or why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ProfileBudget {
    fn new(budget: &str, result: BudgetResult, detail: Option<String>) -> Self {
        Self { budget: budget.to_owned(), result, detail }
    }
}

/// Whether the catalog has a `per: user-profile` entry (otherwise profile events cost no Budgets call).
pub fn has_profile_entries(catalog: &Catalog) -> bool {
    catalog.entries.iter().any(|e| e.select == Selection::PerUserProfile)
}

/// The budgets the catalog's `per: user-profile` entries want for `profile`, subscribed to `topic`.
pub fn profile_specs(catalog: &Catalog, profile: &str, topic: Option<&str>) -> Result<Vec<BudgetSpec>, CatalogError> {
    let values = |e: &crate::policy::CatalogEntry| {
        if e.select == Selection::PerUserProfile { vec![profile.to_owned()] } else { vec![] }
    };
    desired(catalog, &values, topic)
}

/// The names of the budgets the catalog's `per: user-profile` entries give `profile`.
pub fn profile_budget_names(catalog: &Catalog, profile: &str) -> Vec<String> {
    catalog.entries.iter().filter(|e| e.select == Selection::PerUserProfile).map(|e| e.budget_name(profile)).collect()
}

/// What a profile's creation does to one budget: create it when missing, update a managed one that differs,
/// leave a budget made by someone else alone (`Err` with the result to report).
pub fn on_created(spec: &BudgetSpec, held: Option<&Held>) -> Result<Change, BudgetResult> {
    let Some(held) = held else {
        return Ok(Change::Create(spec.clone()));
    };
    if held.managed != Some(true) {
        return Err(BudgetResult::NotManaged);
    }
    let update = update_for(spec, held);
    if update.is_empty() { Err(BudgetResult::Unchanged) } else { Ok(Change::Update(update)) }
}

/// What a profile's deletion does to its budget `name`: delete it only when it exists, carries the managed
/// tag (`managed`: `None` when there is no such budget) and no other profile of the name remains.
pub fn on_deleted(name: &str, managed: Option<bool>, profile_remains: bool) -> Result<Change, BudgetResult> {
    match managed {
        None => Err(BudgetResult::Absent),
        Some(false) => Err(BudgetResult::NotManaged),
        Some(true) if profile_remains => Err(BudgetResult::Kept),
        Some(true) => Ok(Change::Delete { name: name.to_owned() }),
    }
}

/// A Budgets failure as the outcome reports it: `Err` when retrying may help (throttling, 5xx), so that the
/// event is retried; otherwise a [`BudgetResult::Failed`] line.
fn failed(name: &str, err: BudgetsError) -> Result<ProfileBudget, AwsError> {
    match err {
        BudgetsError::Aws(err) if err.is_retryable() => Err(err),
        err => Ok(ProfileBudget::new(name, BudgetResult::Failed, Some(err.to_string()))),
    }
}

/// Creates or updates `specs` (one profile's budgets) in AWS Budgets. `Err` only for retryable failures.
pub async fn keep_created(client: &BudgetsClient, specs: &[BudgetSpec]) -> Result<Vec<ProfileBudget>, AwsError> {
    let mut out = Vec::new();
    for spec in specs {
        let line = match create_one(client, spec).await {
            Ok(line) => line,
            Err(err) => failed(&spec.name, err)?,
        };
        out.push(line);
    }
    Ok(out)
}

async fn create_one(client: &BudgetsClient, spec: &BudgetSpec) -> Result<ProfileBudget, BudgetsError> {
    let held = match client.budget(&spec.name).await? {
        None => None,
        Some(budget) => {
            let managed = client.managed(&spec.name).await?;
            // NOTE: the notifications of a budget made by someone else are never read: it is left alone.
            let notices = if managed { client.held_notices(&spec.name).await? } else { Vec::new() };
            Some(held_of(&budget, notices, Some(managed)))
        }
    };
    match on_created(spec, held.as_ref()) {
        Err(result) => Ok(ProfileBudget::new(&spec.name, result, None)),
        Ok(change) => {
            let done = client.apply_change(&change).await?;
            let result =
                if matches!(change, Change::Create(_)) { BudgetResult::Created } else { BudgetResult::Updated };
            Ok(ProfileBudget::new(&spec.name, result, Some(done.join("; ")).filter(|d| !d.is_empty())))
        }
    }
}

/// Deletes the managed budgets `names` of a deleted profile, unless `profile_remains` (another profile of
/// the same name). `Err` only for retryable failures.
pub async fn keep_deleted(
    client: &BudgetsClient,
    names: &[String],
    profile_remains: bool,
) -> Result<Vec<ProfileBudget>, AwsError> {
    let mut out = Vec::new();
    for name in names {
        let line = match delete_one(client, name, profile_remains).await {
            Ok(line) => line,
            Err(err) => failed(name, err)?,
        };
        out.push(line);
    }
    Ok(out)
}

async fn delete_one(client: &BudgetsClient, name: &str, profile_remains: bool) -> Result<ProfileBudget, BudgetsError> {
    let managed = match client.budget(name).await? {
        None => None,
        Some(_) => Some(client.managed(name).await?),
    };
    match on_deleted(name, managed, profile_remains) {
        Err(result) => Ok(ProfileBudget::new(name, result, None)),
        Ok(change) => match client.apply_change(&change).await {
            Ok(_) => Ok(ProfileBudget::new(name, BudgetResult::Deleted, None)),
            // NOTE: deleted meanwhile (a duplicate delivery of the event): the outcome is the same.
            Err(BudgetsError::Aws(err)) if err.is_not_found() => {
                Ok(ProfileBudget::new(name, BudgetResult::Absent, None))
            }
            Err(err) => Err(err),
        },
    }
}

#[cfg(test)]
mod tests;
