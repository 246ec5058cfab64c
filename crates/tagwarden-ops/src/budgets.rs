//! Budgets as code for the operator: the whole `budgets.catalog` planned against AWS Budgets
//! ([`aws::BudgetsApi`]: the values each entry selects, what AWS Budgets holds, `apply`) and the
//! `budgets status` rows ([`status`]). The planning and the Budgets calls themselves are the library's
//! ([`tagwarden::budgets`]), which the auto-tagger shares for one profile's budgets.

pub mod aws;
pub mod status;

pub use tagwarden::budgets::{
    BudgetSpec, BudgetsPlan, CatalogError, Change, Held, HeldNotice, Kind, MANAGED_KEY, MANAGED_VALUE, Notice,
    SAGEMAKER_SERVICE, Update, desired, plan,
};

#[cfg(test)]
mod tests;
