//! `tagwarden budgets status`: every SageMaker budget with its limit, actual and forecasted spend, the
//! percent used, the policy step it has reached and the last enforcement the ledger recorded. In: the
//! budgets `DescribeBudgets` returned, the policy, each budget's ledger history; out: rows, printed
//! as a table, JSON or one self-contained HTML page. Pure.

use std::collections::BTreeMap;

use aws_sdk_budgets::types::Budget;
use serde::Serialize;
use tagwarden::enforce::ledger::Entry;
use tagwarden::policy::BudgetPolicy;

use super::SAGEMAKER_SERVICE;

/// One budget's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusRow {
    /// The budget.
    pub budget: String,
    /// `MONTHLY`, `QUARTERLY`, …
    pub period: String,
    /// The budgeted amount.
    pub limit: f64,
    /// Actual spend this period.
    pub actual: f64,
    /// Forecasted spend to the period's end.
    pub forecast: f64,
    /// The currency.
    pub currency: String,
    /// Actual spend in percent of the limit.
    pub percent: f64,
    /// The policy rule (its `budget` pattern) that governs the budget, if any.
    pub rule: Option<String>,
    /// The highest step of that rule the percent has reached.
    pub step: Option<f64>,
    /// The last enforcement the ledger recorded for the budget.
    pub last: Option<LastEnforcement>,
}

/// The budget's most recent enforcement in the ledger: every entry of the latest run (one alert, `restore`,
/// `tick` or plan), summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastEnforcement {
    /// When its last entry was written.
    pub at: String,
    /// What asked for it: the alert's SNS `MessageId`, `restore`, `tick` or `plan:<id>`.
    pub trigger: String,
    /// The step, if an alert's.
    pub step: Option<f64>,
    /// Its entries (one per action and resource).
    pub results: usize,
    /// Those whose result is `done`.
    pub done: usize,
    /// The actions taken, in name order, each once.
    pub actions: Vec<String>,
}

impl LastEnforcement {
    /// The run of the latest entry among `entries` (a budget's ledger history), or `None` for none.
    pub fn of(entries: &[Entry]) -> Option<Self> {
        let latest = entries.iter().max_by(|a, b| a.at.cmp(&b.at))?;
        let run: Vec<&Entry> = entries.iter().filter(|e| e.trigger == latest.trigger).collect();
        let mut actions: Vec<String> = run.iter().map(|e| e.action.clone()).collect();
        actions.sort();
        actions.dedup();
        Some(Self {
            at: latest.at.clone(),
            trigger: latest.trigger.clone(),
            step: run.iter().find_map(|e| e.step),
            results: run.len(),
            done: run.iter().filter(|e| e.result == "done").count(),
            actions,
        })
    }
}

/// Whether a budget is about SageMaker: its filters name the SageMaker service, or a policy rule governs it.
pub fn is_sagemaker(budget: &Budget, policy: &BudgetPolicy) -> bool {
    #[allow(deprecated)]
    let by_filter = budget
        .cost_filters()
        .and_then(|f| f.get("Service"))
        .is_some_and(|services| services.iter().any(|s| s == SAGEMAKER_SERVICE));
    let by_expression = budget.filter_expression().is_some_and(|e| format!("{e:?}").contains(SAGEMAKER_SERVICE));
    by_filter || by_expression || policy.rule_for(budget.budget_name()).is_some()
}

fn amount(spend: Option<&aws_sdk_budgets::types::Spend>) -> f64 {
    spend.and_then(|s| s.amount().trim().parse().ok()).unwrap_or(0.0)
}

/// The report's rows, in name order: the SageMaker budgets of `budgets`, each with its step under `policy`
/// and its entries of `last` (each budget's ledger history).
pub fn rows(budgets: &[Budget], policy: &BudgetPolicy, last: &BTreeMap<String, Vec<Entry>>) -> Vec<StatusRow> {
    let mut rows: Vec<StatusRow> = budgets
        .iter()
        .filter(|b| is_sagemaker(b, policy))
        .map(|b| {
            let limit = amount(b.budget_limit());
            let spend = b.calculated_spend();
            let actual = amount(spend.and_then(|s| s.actual_spend()));
            let forecast = amount(spend.and_then(|s| s.forecasted_spend()));
            let percent = if limit > 0.0 { actual / limit * 100.0 } else { 0.0 };
            let rule = policy.rule_for(b.budget_name());
            StatusRow {
                budget: b.budget_name().to_owned(),
                period: b.time_unit().as_str().to_owned(),
                limit,
                actual,
                forecast,
                currency: b.budget_limit().map(|l| l.unit().to_owned()).unwrap_or_default(),
                percent: (percent * 10.0).round() / 10.0,
                rule: rule.map(|r| r.budget.clone()),
                step: rule.and_then(|r| r.step_for(percent)).map(|(at, _)| at),
                last: last.get(b.budget_name()).and_then(|entries| LastEnforcement::of(entries)),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.budget.cmp(&b.budget));
    rows
}

fn step_text(row: &StatusRow) -> String {
    match (&row.rule, row.step) {
        (Some(rule), Some(step)) => format!("{step}% ({rule})"),
        (Some(rule), None) => format!("below the first step ({rule})"),
        (None, _) => "no rule".to_owned(),
    }
}

fn last_text(row: &StatusRow) -> String {
    let Some(l) = &row.last else { return String::new() };
    let what = l.step.map_or_else(|| l.trigger.clone(), |step| format!("step {step}%"));
    format!("{} {what}: {} of {} done ({})", l.at, l.done, l.results, l.actions.join(", "))
}

/// The rows as an aligned table.
pub fn table(rows: &[StatusRow]) -> String {
    let header = ["BUDGET", "PERIOD", "LIMIT", "ACTUAL", "FORECAST", "USED", "STEP", "LAST ENFORCEMENT"];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.budget.clone(),
                r.period.clone(),
                format!("{:.2} {}", r.limit, r.currency),
                format!("{:.2}", r.actual),
                format!("{:.2}", r.forecast),
                format!("{:.1}%", r.percent),
                step_text(r),
                last_text(r),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(cells.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n") + "\n"
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The rows as one self-contained HTML page (no script, no outside resource): a table with a bar per budget.
pub fn html(rows: &[StatusRow], generated: &str) -> String {
    let mut body = String::new();
    for r in rows {
        let width = r.percent.clamp(0.0, 150.0) / 1.5;
        let class = if r.percent >= 100.0 {
            "over"
        } else if r.percent >= 80.0 {
            "near"
        } else {
            "ok"
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=n>{:.2} {}</td><td class=n>{:.2}</td><td class=n>{:.2}</td>\
             <td><div class=\"bar {class}\" style=\"width:{width:.1}%\"></div>{:.1}%</td><td>{}</td><td>{}</td></tr>\n",
            escape(&r.budget),
            escape(&r.period),
            r.limit,
            escape(&r.currency),
            r.actual,
            r.forecast,
            r.percent,
            escape(&step_text(r)),
            escape(&last_text(r)),
        ));
    }
    format!(
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>Tagwarden: SageMaker budgets</title>\n<style>\
         body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}\
         .n{{text-align:right}}.bar{{height:8px;margin-bottom:2px}}.ok{{background:#2a7}}.near{{background:#e90}}\
         .over{{background:#c33}}</style></head>\n<body><h1>SageMaker budgets</h1><p>{} budget(s), {}</p>\n<table>\
         <thead><tr><th>Budget</th><th>Period</th><th>Limit</th><th>Actual</th><th>Forecast</th><th>Used</th>\
         <th>Step</th><th>Last enforcement</th></tr></thead><tbody>\n{body}</tbody></table></body></html>\n",
        rows.len(),
        escape(generated)
    )
}
