//! `tagwarden history`: what the budget-enforcer did to what, when, by which alert, and what restore undid,
//! read from the enforcement ledger.

use clap::ValueEnum;
use tagwarden::enforce::ledger::{Entry, LedgerTable};

/// How `history` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HistoryFormat {
    /// One aligned line per entry.
    Table,
    /// A JSON array of entries.
    Json,
}

/// What to read: one budget's entries, one resource's, or every entry; from `since` on.
pub struct Query<'a> {
    /// Only this budget.
    pub budget: Option<&'a str>,
    /// Only this resource ARN.
    pub resource: Option<&'a str>,
    /// From this date or RFC 3339 time on.
    pub since: Option<&'a str>,
}

/// Reads the entries the query asks for, oldest first.
pub async fn read(ledger: &LedgerTable, query: &Query<'_>) -> Result<Vec<Entry>, String> {
    if let Some(since) = query.since
        && chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d").is_err()
        && chrono::DateTime::parse_from_rfc3339(since).is_err()
    {
        return Err(format!("--since {since:?}: expected a date (2026-11-30) or an RFC 3339 time"));
    }
    let entries = match (query.budget, query.resource) {
        (_, Some(resource)) => ledger.history_of_resource(resource, query.since).await,
        (Some(budget), None) => ledger.history_of_budget(budget, query.since).await,
        (None, None) => ledger.history(query.since).await,
    };
    let mut entries = entries.map_err(|e| e.to_string())?;
    if let (Some(budget), Some(_)) = (query.budget, query.resource) {
        entries.retain(|e| e.budget == budget);
    }
    entries.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(entries)
}

/// The entries as an aligned table (a header line, then one line each).
pub fn table(entries: &[Entry]) -> String {
    let header = ["AT", "BUDGET", "TRIGGER", "STEP", "ACTION", "RESOURCE", "RESULT", "BEFORE"];
    let rows: Vec<[String; 8]> = entries
        .iter()
        .map(|e| {
            let step = e.step.map(|s| format!("{s}%")).unwrap_or_default();
            let result = if e.dry_run { format!("{} (dry run)", e.result) } else { e.result.clone() };
            let before = e.before.as_ref().map(ToString::to_string).unwrap_or_default();
            [
                e.at.clone(),
                e.budget.clone(),
                e.trigger.clone(),
                step,
                e.action.clone(),
                e.resource.clone(),
                result,
                before,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(rows.iter().map(|row| line(row.iter().map(String::as_str).collect())));
    out.join("\n") + "\n"
}
