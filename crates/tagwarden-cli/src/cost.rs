//! `activate-tags`, `athena-queries` and `report --cur`: the cost-allocation commands.
//!
//! `activate-tags`, `athena-queries` and `report --cur`: the cost-allocation commands.
//!
//! `activate-tags` calls Cost Explorer (payer account, us-east-1); `athena-queries` writes the policy's
//! named queries for a legacy CUR, CUR 2.0 or FOCUS table as `.sql` files; `report --cur` reads an export
//! of any of the three (CSV, `.csv.gz` or Parquet; see [`crate::cur`]) and prints SageMaker cost by tag value.

use std::path::Path;
use std::process::ExitCode;

use clap::ValueEnum;
use tagwarden::Policy;
use tagwarden_ops::cost::{self, CostError, CostReport, ExportFormat, UNTAGGED};

use crate::cur::{ExportRequest, read_export};

use crate::{print_json, print_line};

/// Output format of `report`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportFormat {
    /// Aligned text.
    Table,
    /// The whole report as JSON.
    Json,
    /// One row per key and value: key,tag_value,cost,line_items (the cost column is named on stderr).
    Csv,
}

/// The policy from `--policy`, else the built-in example (policy/tagwarden.yaml).
fn policy_or_example(policy: Option<&Path>) -> Result<Policy, String> {
    match policy {
        Some(path) => Policy::from_file(path),
        None => Policy::example(),
    }
    .map_err(|e| e.to_string())
}

/// `tagwarden activate-tags`.
pub async fn activate_tags(policy: Option<&Path>, dry_run: bool) -> Result<ExitCode, String> {
    let policy = match policy {
        Some(path) => Policy::from_file(path).map_err(|e| e.to_string())?,
        None => {
            let clients = tagwarden::Clients::from_env().await;
            crate::load_config(&clients, None).await?.policy
        }
    };
    let ce = cost::cost_explorer_from_env().await;
    let outcome = match cost::activate_tags(&ce, &policy.tags, dry_run).await {
        Ok(outcome) => outcome,
        Err(e @ CostError::NotPayerAccount(_)) => return Err(e.to_string()),
        Err(CostError::Aws(e)) if matches!(e, tagwarden::AwsError::AccessDenied { .. }) => {
            return Err(format!(
                "{e}\n(activate-tags needs ce:ListCostAllocationTags and ce:UpdateCostAllocationTagsStatus \
                 in the payer/management account)"
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    let verb = if dry_run { "would activate" } else { "activated" };
    let list = |keys: &[String]| if keys.is_empty() { "-".to_owned() } else { keys.join(", ") };
    print_line(&format!(
        "cost-allocation tags (payer account, Cost Explorer in {}){}",
        cost::COST_EXPLORER_REGION,
        if dry_run { " -- dry run, nothing changed" } else { "" }
    ))?;
    print_line(&format!("  already active: {}", list(&outcome.already_active)))?;
    print_line(&format!("  {verb}: {}", list(&outcome.activated)))?;
    print_line(&format!(
        "  pending: not yet seen by billing: {}{}",
        list(&outcome.pending),
        if outcome.pending.is_empty() {
            ""
        } else {
            " (billing lists a key up to 24 h after a resource first carries it; run again later)"
        }
    ))?;
    for failure in &outcome.failed {
        print_line(&format!("  failed: {}: {}: {}", failure.key, failure.code, failure.message))?;
    }
    if outcome.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("{} key(s) could not be activated", outcome.failed.len()))
    }
}

/// `tagwarden athena-queries`.
pub fn athena_queries(
    policy: Option<&Path>,
    export: ExportFormat,
    database: &str,
    table: &str,
    out: &Path,
) -> Result<ExitCode, String> {
    let policy = policy_or_example(policy)?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for query in cost::athena_queries(&policy.tags, export, database, table) {
        let path = out.join(format!("{}.sql", query.name));
        std::fs::write(&path, query.file_text()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        print_line(&format!("wrote {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `tagwarden report --cur FILE`: `request.keys` empty means the policy's required keys.
pub fn report(
    cur: &Path,
    format: ReportFormat,
    mut request: ExportRequest,
    policy: Option<&Path>,
) -> Result<ExitCode, String> {
    if request.keys.is_empty() {
        request.keys = policy_or_example(policy)?.tags.required_keys().map(str::to_owned).collect();
    }
    let report = read_export(cur, &request)?;
    match format {
        ReportFormat::Json => print_json(&report)?,
        ReportFormat::Csv => {
            eprintln!("tagwarden: {} export, cost = {}", report.export, report.cost_column);
            print_line("key,tag_value,cost,line_items")?;
            for (key, groups) in report.keys.iter().zip(&report.by_tag) {
                for (value, total) in groups {
                    print_line(&format!(
                        "{},{},{},{}",
                        tagwarden_ops::csv_cell::cell(key),
                        tagwarden_ops::csv_cell::cell(value),
                        total.cost,
                        total.line_items
                    ))?;
                }
            }
            print_line(&format!(
                "(any),{},{},{}",
                tagwarden_ops::csv_cell::cell(UNTAGGED),
                report.untagged.cost,
                report.untagged.line_items
            ))?;
        }
        ReportFormat::Table => print_table(&report)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(report: &CostReport) -> Result<(), String> {
    print_line(&format!(
        "SageMaker: {} in {} of {} line items ({} export, sum of {})",
        report.sagemaker.cost, report.sagemaker.line_items, report.line_items_read, report.export, report.cost_column
    ))?;
    for (key, groups) in report.keys.iter().zip(&report.by_tag) {
        print_line(&format!("\nby {key}:"))?;
        let mut rows: Vec<_> = groups.iter().collect();
        rows.sort_by(|a, b| b.1.cost.cmp(&a.1.cost).then(a.0.cmp(b.0)));
        let width = rows.iter().map(|(v, _)| v.chars().count()).max().unwrap_or(0);
        for (value, total) in rows {
            print_line(&format!(
                "  {value:<width$}  {:>16}  {:>8} line items",
                total.cost.to_string(),
                total.line_items
            ))?;
        }
    }
    print_line(&format!(
        "\nuntagged (missing any of {}): {} in {} line items",
        report.keys.join(", "),
        report.untagged.cost,
        report.untagged.line_items
    ))
}

/// Default directory of `athena-queries`.
pub const DEFAULT_ATHENA_DIR: &str = "infra/generated/athena";
