//! `tagwarden history` and `tagwarden plans`: what the budget-enforcer did to what, when, by which alert,
//! and what restore undid; the plans waiting for an approval or a grace period. Read from the ledger.

use clap::ValueEnum;
use tagwarden::enforce::ledger::{Entry, LedgerTable, Plan};

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
        && tagwarden::date::Date::parse(since).is_err()
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
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let step = e.step.map(|s| format!("{s}%")).unwrap_or_default();
            let result = if e.dry_run { format!("{} (dry run)", e.result) } else { e.result.clone() };
            let before = e.before.as_ref().map(ToString::to_string).unwrap_or_default();
            vec![
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
    aligned(&header, &rows)
}

/// Plans as an aligned table: id, budget, step, what it waits for, state, expiry, how many changes.
pub fn plans_table(plans: &[Plan]) -> String {
    let header = ["PLAN", "BUDGET", "STEP", "WAITS FOR", "STATE", "EXPIRES", "CHANGES", "CREATED"];
    let rows: Vec<Vec<String>> = plans
        .iter()
        .map(|p| {
            let waits = match &p.due {
                Some(due) => format!("grace until {due}"),
                None => "approval".to_owned(),
            };
            let state =
                serde_json::to_value(p.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            let state = match &p.outcome {
                Some(outcome) => format!("{state} ({outcome})"),
                None => state,
            };
            vec![
                p.id.clone(),
                p.budget.clone(),
                format!("{}%", p.step),
                waits,
                state,
                p.period.end.clone(),
                p.targets.len().to_string(),
                p.created.clone(),
            ]
        })
        .collect();
    aligned(&header, &rows)
}

/// A header and rows, each column padded to its widest cell.
fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(rows.iter().map(|row| line(row.iter().map(String::as_str).collect())));
    out.join("\n") + "\n"
}
