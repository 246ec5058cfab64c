//! `activate-tags`, `athena-queries` and `report --cur`: the cost-allocation commands.
//!
//! `activate-tags` calls Cost Explorer (payer account, us-east-1); `athena-queries` writes the policy's
//! named queries as `.sql` files; `report --cur` reads a CUR export (CSV, `.csv.gz` or Parquet, CUR 2.0 /
//! Athena column names or legacy `lineItem/…` headers) and prints SageMaker cost by tag value.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::process::ExitCode;

use clap::ValueEnum;
use tagwarden::Policy;
use tagwarden_ops::cost::{self, CostError, CostReport, LineItem, Money, UNTAGGED};

use crate::{print_json, print_line};

/// Output format of `report`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportFormat {
    /// Aligned text.
    Table,
    /// The whole report as JSON.
    Json,
    /// One row per key and value: key,tag_value,unblended_cost,line_items.
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
pub fn athena_queries(policy: Option<&Path>, database: &str, table: &str, out: &Path) -> Result<ExitCode, String> {
    let policy = policy_or_example(policy)?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for query in cost::athena_queries(&policy.tags, database, table) {
        let path = out.join(format!("{}.sql", query.name));
        std::fs::write(&path, query.file_text()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        print_line(&format!("wrote {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `tagwarden report --cur FILE`.
pub fn report(cur: &Path, format: ReportFormat, tags: Vec<String>, policy: Option<&Path>) -> Result<ExitCode, String> {
    let keys = if tags.is_empty() {
        policy_or_example(policy)?.tags.required_keys().map(str::to_owned).collect()
    } else {
        tags
    };
    let report = read_cur(cur, keys)?;
    match format {
        ReportFormat::Json => print_json(&report)?,
        ReportFormat::Csv => {
            print_line("key,tag_value,unblended_cost,line_items")?;
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
        "SageMaker: {} in {} of {} line items (unblended cost)",
        report.sagemaker.cost, report.sagemaker.line_items, report.line_items_read
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

/// Where each needed column is in a CUR file.
struct Columns {
    product: usize,
    cost: usize,
    tags: Vec<Option<usize>>,
}

impl Columns {
    /// Finds the columns by their normalised names; a tag column CUR never wrote counts as untagged.
    fn find(headers: &[String], keys: &[String]) -> Result<Self, String> {
        let normalised: BTreeMap<String, usize> =
            headers.iter().enumerate().rev().map(|(i, h)| (cost::cur_column(h), i)).collect();
        let need = |name: &str| {
            normalised
                .get(name)
                .copied()
                .ok_or_else(|| format!("the CUR file has no {name} column (nor its legacy form)"))
        };
        let tags: Vec<Option<usize>> = keys.iter().map(|k| normalised.get(&cost::tag_column(k)).copied()).collect();
        // NOTE: a CUR 2.0 Data Export keeps tags in one `resource_tags` map: reading it as "no tag columns"
        // would report every item as untagged, so refuse instead.
        if !keys.is_empty() && tags.iter().all(Option::is_none) && normalised.contains_key("resource_tags") {
            return Err("this CUR keeps tags in a `resource_tags` map column (CUR 2.0 Data Export), which is not \
                        supported yet: export with flattened tag columns (resource_tags_user_<key>)"
                .into());
        }
        for (key, column) in keys.iter().zip(&tags) {
            if column.is_none() {
                eprintln!(
                    "tagwarden: note: no {} column: every line item counts as untagged for {key}",
                    cost::tag_column(key)
                );
            }
        }
        Ok(Self { product: need("line_item_product_code")?, cost: need("line_item_unblended_cost")?, tags })
    }

    fn line_item(&self, field: impl Fn(usize) -> Option<String>, row: u64) -> Result<LineItem, String> {
        let raw_cost = field(self.cost).unwrap_or_default();
        let cost =
            Money::parse(&raw_cost).ok_or_else(|| format!("line item {row}: cost {raw_cost:?} is not a number"))?;
        Ok(LineItem {
            product_code: field(self.product).unwrap_or_default(),
            cost,
            tags: self.tags.iter().map(|i| i.and_then(&field)).collect(),
        })
    }
}

/// Reads a CUR export into a report over `keys`: Parquet by its `.parquet` extension or magic number,
/// gzip by `.gz` or its magic number, CSV otherwise.
pub fn read_cur(path: &Path, keys: Vec<String>) -> Result<CostReport, String> {
    let mut report = CostReport::new(keys);
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut file = File::open(path).map_err(cannot)?;
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).map_err(cannot)?;
    file.rewind().map_err(cannot)?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    if &magic[..n] == b"PAR1" || name.ends_with(".parquet") {
        read_parquet(file, &mut report).map_err(|e| format!("{}: {e}", path.display()))?;
    } else if magic[..n].starts_with(&[0x1f, 0x8b]) || name.ends_with(".gz") {
        read_csv(flate2::read::MultiGzDecoder::new(BufReader::new(file)), &mut report)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    } else {
        read_csv(BufReader::new(file), &mut report).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(report)
}

fn read_csv(input: impl Read, report: &mut CostReport) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
    let headers: Vec<String> = reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_owned).collect();
    let columns = Columns::find(&headers, &report.keys)?;
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    while reader.read_record(&mut record).map_err(|e| e.to_string())? {
        row += 1;
        let item = columns.line_item(|i| record.get(i).map(str::to_owned), row)?;
        report.add(&item);
    }
    Ok(())
}

fn read_parquet(file: File, report: &mut CostReport) -> Result<(), String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::schema::types::Type;

    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let schema = reader.metadata().file_metadata().schema();
    let headers: Vec<String> = schema.get_fields().iter().map(|f| f.name().to_owned()).collect();
    let columns = Columns::find(&headers, &report.keys)?;
    // NOTE: read only the needed columns: a CUR has hundreds.
    let mut wanted: Vec<usize> =
        [columns.product, columns.cost].into_iter().chain(columns.tags.iter().flatten().copied()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let fields = wanted.iter().map(|&i| schema.get_fields()[i].clone()).collect();
    let projection = Type::group_type_builder(schema.name()).with_fields(fields).build().map_err(|e| e.to_string())?;
    let position = |i: usize| wanted.iter().position(|&w| w == i);
    let projected = Columns {
        product: position(columns.product).unwrap_or_default(),
        cost: position(columns.cost).unwrap_or_default(),
        tags: columns.tags.iter().map(|t| t.and_then(position)).collect(),
    };
    let mut row_number = 0;
    for row in reader.get_row_iter(Some(projection)).map_err(|e| e.to_string())? {
        let row = row.map_err(|e| e.to_string())?;
        row_number += 1;
        let values: Vec<Option<String>> = row.get_column_iter().map(|(_, field)| field_text(field)).collect();
        let item = projected.line_item(|i| values.get(i).cloned().flatten(), row_number)?;
        report.add(&item);
    }
    Ok(())
}

/// A Parquet value as CUR text (`None` for null); numbers in plain decimal notation.
fn field_text(field: &parquet::record::Field) -> Option<String> {
    use parquet::record::Field;
    Some(match field {
        Field::Null => return None,
        Field::Str(s) => s.clone(),
        Field::Double(d) => d.to_string(),
        Field::Float(f) => f.to_string(),
        Field::Int(i) => i.to_string(),
        Field::Long(i) => i.to_string(),
        Field::Decimal(d) => {
            let bytes = d.data();
            let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
            let unscaled = bytes.iter().fold(if negative { -1i128 } else { 0 }, |acc, &b| (acc << 8) | i128::from(b));
            format!("{unscaled}E-{}", d.scale())
        }
        other => other.to_string(),
    })
}

/// Default directory of `athena-queries`.
pub const DEFAULT_ATHENA_DIR: &str = "infra/generated/athena";
