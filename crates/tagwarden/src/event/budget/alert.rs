//! What one AWS Budgets alert says, as plain data: the [`BudgetAlert`] the text parser produces and the
//! enforcer plans from.

use serde::{Deserialize, Serialize};

/// ACTUAL or FORECASTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertType {
    /// Spend or usage that has happened.
    Actual,
    /// Spend or usage AWS expects by the end of the period.
    Forecasted,
}

impl AlertType {
    /// The word AWS writes: `ACTUAL` or `FORECASTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Actual => "ACTUAL",
            AlertType::Forecasted => "FORECASTED",
        }
    }
}

/// The budget's period, from the prose ("for the current month", "per day", quarter, year); `Unknown` if absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    /// "per day. Yesterday, the ACTUAL Cost …"
    Daily,
    /// "for the current month"
    Monthly,
    /// "for the current quarter"
    Quarterly,
    /// "for the current year"
    Annually,
    /// The prose names no period.
    Unknown,
}

/// Whether a threshold is an amount or a percentage of the budgeted amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdKind {
    /// `> $80.00`
    Absolute,
    /// `> 80%` of the budgeted amount.
    Percentage,
}

/// The alert threshold: `> $80.00` (absolute) or `> 80%` / `> 80.00%` (percentage of the budgeted amount).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The amount, or the percentage (80.0 for `80%`).
    pub value: f64,
    /// How to read `value`.
    pub kind: ThresholdKind,
}

/// One parsed AWS Budgets alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetAlert {
    /// `Budget Name:`; may contain spaces and colons.
    pub budget_name: String,
    /// `Budget Type:` (Cost, Usage, RI Utilization, Savings Plans Coverage, …); empty when the line is absent.
    pub budget_type: String,
    /// The `AWS Account 123456789012` line, else the account of the SNS topic.
    pub account_id: Option<String>,
    /// `Alert Type:`.
    pub alert_type: AlertType,
    /// `Budgeted Amount:`, always positive.
    pub budgeted_amount: f64,
    /// `Alert Threshold:`.
    // NOTE: optional because nothing the enforcer decides depends on it; a garbled one is still an error.
    pub threshold: Option<Threshold>,
    /// The `ACTUAL Amount:` or `FORECASTED Amount:` line, whichever the alert type names.
    pub amount: f64,
    /// `USD` for `$`, a currency code when one is written, a usage unit (`GB`, `Hrs`), or empty.
    pub unit: String,
    /// From the prose.
    pub period: BudgetPeriod,
    /// `amount / budgeted_amount * 100`, rounded to 2 decimals.
    pub percent_of_budget: f64,
    /// The SNS topic the alert came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
}
