//! Billing export formats: what arrives is the header (CSV) or schema (Parquet) of a cost export, the
//! report's tag keys and then its rows; what leaves is a [`Layout`] saying which column holds the service,
//! the cost and each key's value, and the [`LineItem`] of each row.
//!
//! Three formats, told apart by their columns (see [`detect`]):
//! - **legacy** CUR: `lineItem/UnblendedCost` headers or their Athena names (`line_item_unblended_cost`),
//!   one flattened column per activated tag (`resourceTags/user:cost-center` = `resource_tags_user_cost_center`);
//! - **CUR 2.0** (Data Exports): the same snake_case line-item columns, tags in one `resource_tags` map whose
//!   keys are the legacy column names without `resource_tags_` (`user_cost_center`);
//! - **FOCUS** 1.0/1.2 with AWS columns: `BilledCost`/`EffectiveCost`, `x_ServiceCode`/`ServiceName`, and a
//!   `Tags` map keyed by the tag key as the user wrote it (`cost-center`).
//!
//! In CSV a map column is a JSON object; in Parquet a `MAP<string,string>`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::report::{LineItem, Money};

/// `line_item_product_code` (CUR) and `x_ServiceCode` (FOCUS) of SageMaker line items.
pub const SAGEMAKER_PRODUCT_CODE: &str = "AmazonSageMaker";
/// FOCUS `ServiceName` of SageMaker line items (matched when the export has no `x_ServiceCode`).
pub const SAGEMAKER_SERVICE_NAME: &str = "Amazon SageMaker";

/// A billing export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The legacy Cost and Usage Report: one column per activated tag.
    Legacy,
    /// CUR 2.0 from Data Exports: tags in the `resource_tags` map.
    Cur2,
    /// FOCUS 1.0/1.2 with AWS columns: `BilledCost`, `Tags`.
    Focus,
}

impl ExportFormat {
    /// Every format, in the order detection reports them.
    pub const ALL: [Self; 3] = [Self::Legacy, Self::Cur2, Self::Focus];

    /// The name used on the command line and in reports (`legacy`, `cur2`, `focus`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Cur2 => "cur2",
            Self::Focus => "focus",
        }
    }

    /// The columns this format must have, as they are looked for (for error messages and docs).
    pub fn required_columns(self, measure: CostMeasure) -> Vec<&'static str> {
        match (self, measure) {
            (Self::Legacy, _) => vec![LINE_ITEM_PRODUCT_CODE, LINE_ITEM_UNBLENDED_COST],
            (Self::Cur2, _) => vec![LINE_ITEM_PRODUCT_CODE, LINE_ITEM_UNBLENDED_COST, CUR2_TAGS],
            (Self::Focus, CostMeasure::Billed) => vec!["BilledCost", "x_ServiceCode or ServiceName", FOCUS_TAGS],
            (Self::Focus, CostMeasure::Effective) => {
                vec!["EffectiveCost", "x_ServiceCode or ServiceName", FOCUS_TAGS]
            }
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportFormat {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("unknown export format {text:?}: expected legacy, cur2 or focus"))
    }
}

/// Which cost a report sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CostMeasure {
    /// What is invoiced: CUR `line_item_unblended_cost`, FOCUS `BilledCost` (the default).
    #[default]
    Billed,
    /// FOCUS `EffectiveCost` (amortised commitments and discounts); FOCUS only.
    Effective,
}

impl FromStr for CostMeasure {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "billed" => Ok(Self::Billed),
            "effective" => Ok(Self::Effective),
            _ => Err(format!("unknown cost {text:?}: expected billed or effective")),
        }
    }
}

const LINE_ITEM_PRODUCT_CODE: &str = "line_item_product_code";
const LINE_ITEM_UNBLENDED_COST: &str = "line_item_unblended_cost";
const CUR2_TAGS: &str = "resource_tags";
const FOCUS_TAGS: &str = "Tags";

/// An export whose columns are not what its format needs, or a row that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// No format's columns are all present.
    #[error("not a billing export Tagwarden knows: looked for {looked_for}; the file's first columns are {found}")]
    Unknown {
        /// Each format's required columns.
        looked_for: String,
        /// The first columns of the file.
        found: String,
    },
    /// The format was given (`--export`) or detected, but some of its columns are missing.
    #[error("not a {export} export: no {missing} column (a {export} export has {required})")]
    MissingColumns {
        /// The format.
        export: ExportFormat,
        /// The missing columns.
        missing: String,
        /// Everything the format needs.
        required: String,
    },
    /// `--cost effective` on a CUR: only FOCUS has `EffectiveCost`.
    #[error(
        "--cost effective needs a FOCUS export (EffectiveCost); a {0} export is summed on line_item_unblended_cost"
    )]
    NoEffectiveCost(ExportFormat),
    /// A row's cost is not a number.
    #[error("line item {row}: {column} {value:?} is not a number")]
    BadCost {
        /// 1-based row number.
        row: u64,
        /// The cost column.
        column: String,
        /// The cell.
        value: String,
    },
    /// A row's tag map is not a JSON object of strings.
    #[error("line item {row}: {column} is not a map of tags ({reason})")]
    BadTagMap {
        /// 1-based row number.
        row: u64,
        /// The map column.
        column: String,
        /// What is wrong.
        reason: String,
    },
}

/// The Athena/CUR 2.0-style column name of a CUR header: `lineItem/UnblendedCost` ->
/// `line_item_unblended_cost`, `resourceTags/user:cost-center` -> `resource_tags_user_cost_center`.
///
/// The rules AWS applies when it builds the Athena table: a word boundary (`_`) before an upper-case
/// letter that follows a lower-case letter or digit (or that starts a word after an acronym), every
/// character that is not a letter or digit becomes `_`, runs of `_` collapse to one, leading and trailing
/// `_` are dropped, and everything is lower-cased. Already normalised names are left as they are.
pub fn cur_column(header: &str) -> String {
    let chars: Vec<char> = header.chars().collect();
    let mut out = String::with_capacity(header.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                    out.push('_');
                }
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    // NOTE: collapse again: a camel-case boundary next to a separator (`user:Cost`) produced `__`.
    let mut collapsed = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    collapsed
}

/// The CUR/Athena column of a user-defined tag key: `cost-center` -> `resource_tags_user_cost_center`.
pub fn tag_column(key: &str) -> String {
    cur_column(&format!("resourceTags/user:{key}"))
}

/// The key of a user tag inside CUR 2.0's `resource_tags` map: `cost-center` -> `user_cost_center`.
pub fn cur2_tag_key(key: &str) -> String {
    let column = tag_column(key);
    column.strip_prefix("resource_tags_").unwrap_or(&column).to_owned()
}

/// The name a tag key is looked up by in `export`: its column (legacy), its map key (CUR 2.0, FOCUS).
pub fn export_tag_key(export: ExportFormat, key: &str) -> String {
    match export {
        ExportFormat::Legacy => tag_column(key),
        ExportFormat::Cur2 => cur2_tag_key(key),
        // NOTE: FOCUS keeps the key as written; AWS's own tags (`aws:createdBy`) keep their prefix.
        ExportFormat::Focus => key.to_owned(),
    }
}

/// Position of a CUR column (compared by [`cur_column`], so `lineItem/ProductCode` finds `line_item_product_code`).
fn cur_position(headers: &[String], name: &str) -> Option<usize> {
    headers.iter().position(|h| cur_column(h) == name)
}

/// Position of a FOCUS column, compared case-insensitively (Athena and Glue lower-case column names).
fn focus_position(headers: &[String], name: &str) -> Option<usize> {
    headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name))
}

/// The format `headers` belong to, if any: FOCUS by `BilledCost`, CUR 2.0 by its `resource_tags` map next
/// to `line_item_unblended_cost`, legacy by `line_item_unblended_cost` (or `lineItem/UnblendedCost`) alone.
pub fn detect(headers: &[String]) -> Option<ExportFormat> {
    if focus_position(headers, "BilledCost").is_some() {
        Some(ExportFormat::Focus)
    } else if cur_position(headers, LINE_ITEM_UNBLENDED_COST).is_some() {
        Some(if cur_position(headers, CUR2_TAGS).is_some() { ExportFormat::Cur2 } else { ExportFormat::Legacy })
    } else {
        None
    }
}

/// Where each report key's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagColumns {
    /// One column per key (legacy CUR); `None`: the export has no column for that key.
    Flat(Vec<Option<usize>>),
    /// One map column; the keys to look up in it, in the report's key order.
    Map {
        /// The map column.
        column: usize,
        /// The map keys, one per report key.
        keys: Vec<String>,
    },
}

/// Which columns of an export the report reads, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The export format.
    pub export: ExportFormat,
    /// The column naming the service.
    pub service: usize,
    /// The service column's value for SageMaker.
    pub service_value: &'static str,
    /// The cost column summed.
    pub cost: usize,
    /// Its name as the file spells it.
    pub cost_column: String,
    /// Where the tag values are.
    pub tags: TagColumns,
    /// Report keys the export has no column for (legacy only: every line item counts as untagged for them).
    pub absent_keys: Vec<String>,
}

/// The cells of one row, as an export reader sees them.
pub trait ExportRow {
    /// The cell's text (`None` for null or missing).
    fn text(&self, column: usize) -> Option<String>;
    /// The map cell's entries (empty for null); `Err` says why the cell is not a map of strings.
    fn map(&self, column: usize) -> Result<BTreeMap<String, String>, String>;
}

impl Layout {
    /// Finds the columns for `keys` in `headers`: of `forced` if given, else of the [`detect`]ed format.
    pub fn new(
        headers: &[String],
        forced: Option<ExportFormat>,
        measure: CostMeasure,
        keys: &[String],
    ) -> Result<Self, ExportError> {
        let export = match forced.or_else(|| detect(headers)) {
            Some(export) => export,
            None => {
                let looked_for = ExportFormat::ALL
                    .iter()
                    .map(|f| format!("{} ({})", f, f.required_columns(measure).join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut found: Vec<&str> = headers.iter().take(8).map(String::as_str).collect();
                if headers.len() > 8 {
                    found.push("…");
                }
                let found = if found.is_empty() { "none".to_owned() } else { found.join(", ") };
                return Err(ExportError::Unknown { looked_for, found });
            }
        };
        let missing = |names: Vec<&str>| ExportError::MissingColumns {
            export,
            missing: names.join(", "),
            required: export.required_columns(measure).join(", "),
        };
        if export == ExportFormat::Focus {
            let cost_name = match measure {
                CostMeasure::Billed => "BilledCost",
                CostMeasure::Effective => "EffectiveCost",
            };
            // NOTE: `x_ServiceCode` is stable; `ServiceName` is a display name AWS may change, so it is the fallback.
            let service = focus_position(headers, "x_ServiceCode")
                .map(|i| (i, SAGEMAKER_PRODUCT_CODE))
                .or_else(|| focus_position(headers, "ServiceName").map(|i| (i, SAGEMAKER_SERVICE_NAME)));
            let cost = focus_position(headers, cost_name);
            let tags = focus_position(headers, FOCUS_TAGS);
            return match (service, cost, tags) {
                (Some((service, service_value)), Some(cost), Some(column)) => Ok(Self {
                    export,
                    service,
                    service_value,
                    cost,
                    cost_column: headers[cost].clone(),
                    tags: TagColumns::Map { column, keys: keys.iter().map(|k| export_tag_key(export, k)).collect() },
                    absent_keys: Vec::new(),
                }),
                _ => Err(missing(
                    [
                        (service.is_none(), "x_ServiceCode or ServiceName"),
                        (cost.is_none(), cost_name),
                        (tags.is_none(), FOCUS_TAGS),
                    ]
                    .into_iter()
                    .filter_map(|(absent, name)| absent.then_some(name))
                    .collect(),
                )),
            };
        }
        if measure == CostMeasure::Effective {
            return Err(ExportError::NoEffectiveCost(export));
        }
        let service = cur_position(headers, LINE_ITEM_PRODUCT_CODE);
        let cost = cur_position(headers, LINE_ITEM_UNBLENDED_COST);
        let map = cur_position(headers, CUR2_TAGS);
        let absent: Vec<&str> = [
            (service.is_none(), LINE_ITEM_PRODUCT_CODE),
            (cost.is_none(), LINE_ITEM_UNBLENDED_COST),
            (export == ExportFormat::Cur2 && map.is_none(), CUR2_TAGS),
        ]
        .into_iter()
        .filter_map(|(absent, name)| absent.then_some(name))
        .collect();
        let (Some(service), Some(cost)) = (service, cost) else { return Err(missing(absent)) };
        let (tags, absent_keys) = match (export, map) {
            (ExportFormat::Cur2, Some(column)) => {
                (TagColumns::Map { column, keys: keys.iter().map(|k| cur2_tag_key(k)).collect() }, Vec::new())
            }
            (ExportFormat::Cur2, None) => return Err(missing(absent)),
            _ => {
                let columns: Vec<Option<usize>> = keys.iter().map(|k| cur_position(headers, &tag_column(k))).collect();
                let absent_keys =
                    keys.iter().zip(&columns).filter(|(_, c)| c.is_none()).map(|(k, _)| k.clone()).collect();
                (TagColumns::Flat(columns), absent_keys)
            }
        };
        Ok(Self {
            export,
            service,
            service_value: SAGEMAKER_PRODUCT_CODE,
            cost,
            cost_column: headers[cost].clone(),
            tags,
            absent_keys,
        })
    }

    /// Every column the report reads, ascending (a Parquet reader projects on these).
    pub fn columns(&self) -> Vec<usize> {
        let mut columns = vec![self.service, self.cost];
        match &self.tags {
            TagColumns::Flat(flat) => columns.extend(flat.iter().flatten()),
            TagColumns::Map { column, .. } => columns.push(*column),
        }
        columns.sort_unstable();
        columns.dedup();
        columns
    }

    /// The same layout over a projection that keeps only [`Layout::columns`], in their order.
    pub fn projected(&self) -> Self {
        let kept = self.columns();
        let at = |i: usize| kept.iter().position(|&k| k == i).unwrap_or_default();
        Self {
            service: at(self.service),
            cost: at(self.cost),
            tags: match &self.tags {
                TagColumns::Flat(flat) => TagColumns::Flat(flat.iter().map(|c| c.map(at)).collect()),
                TagColumns::Map { column, keys } => TagColumns::Map { column: at(*column), keys: keys.clone() },
            },
            ..self.clone()
        }
    }

    /// Row number `row` (1-based) as a line item; an empty cost is zero, an empty tag value untagged.
    pub fn line_item(&self, cells: &impl ExportRow, row: u64) -> Result<LineItem, ExportError> {
        let raw = cells.text(self.cost).unwrap_or_default();
        let cost = Money::parse(&raw).ok_or_else(|| ExportError::BadCost {
            row,
            column: self.cost_column.clone(),
            value: raw.clone(),
        })?;
        let tags = match &self.tags {
            TagColumns::Flat(flat) => flat.iter().map(|c| c.and_then(|c| cells.text(c))).collect(),
            TagColumns::Map { column, keys } => {
                let mut map = cells.map(*column).map_err(|reason| ExportError::BadTagMap {
                    row,
                    column: if self.export == ExportFormat::Focus { FOCUS_TAGS } else { CUR2_TAGS }.to_owned(),
                    reason,
                })?;
                keys.iter().map(|k| map.remove(k)).collect()
            }
        };
        Ok(LineItem { sagemaker: cells.text(self.service).as_deref() == Some(self.service_value), cost, tags })
    }
}

/// A map cell of a CSV export: a JSON object (`{"user_team":"nlp"}`); empty text is an empty map. Null
/// values are left out; numbers and booleans are kept as their JSON text.
pub fn parse_tag_map(text: &str) -> Result<BTreeMap<String, String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Object(entries) = value else {
        return Err("a JSON object was expected".to_owned());
    };
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => {
                map.insert(key, s);
            }
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                map.insert(key, value.to_string());
            }
            _ => return Err(format!("the value of {key:?} is not a string")),
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|&n| n.to_owned()).collect()
    }

    fn keys() -> Vec<String> {
        vec!["cost-center".into(), "team".into()]
    }

    /// A row of text cells; map cells are JSON, as in CSV.
    struct Cells(Vec<&'static str>);

    impl ExportRow for Cells {
        fn text(&self, column: usize) -> Option<String> {
            self.0.get(column).filter(|c| !c.is_empty()).map(|c| (*c).to_owned())
        }
        fn map(&self, column: usize) -> Result<BTreeMap<String, String>, String> {
            parse_tag_map(self.0.get(column).copied().unwrap_or_default())
        }
    }

    #[test]
    fn cur_headers_normalise_to_athena_column_names() {
        assert_eq!(cur_column("lineItem/UnblendedCost"), "line_item_unblended_cost");
        assert_eq!(cur_column("lineItem/ProductCode"), "line_item_product_code");
        assert_eq!(cur_column("lineItem/UsageStartDate"), "line_item_usage_start_date");
        assert_eq!(cur_column("resourceTags/user:cost-center"), "resource_tags_user_cost_center");
        assert_eq!(cur_column("resourceTags/user:CostCenter"), "resource_tags_user_cost_center");
        assert_eq!(cur_column("resourceTags/user:MLTeam"), "resource_tags_user_ml_team");
        assert_eq!(cur_column("resourceTags/user:app.name/v2"), "resource_tags_user_app_name_v2");
        assert_eq!(cur_column("line_item_unblended_cost"), "line_item_unblended_cost");
        assert_eq!(tag_column("environment"), "resource_tags_user_environment");
    }

    #[test]
    fn each_format_is_told_apart_by_its_columns() {
        let legacy = headers(&["lineItem/ProductCode", "lineItem/UnblendedCost", "resourceTags/user:team"]);
        let athena = headers(&["line_item_product_code", "line_item_unblended_cost", "resource_tags_user_team"]);
        let cur2 = headers(&["line_item_product_code", "line_item_unblended_cost", "resource_tags"]);
        let focus = headers(&["BilledCost", "EffectiveCost", "ServiceName", "x_ServiceCode", "Tags"]);
        let focus_athena = headers(&["billedcost", "x_servicecode", "tags"]);
        assert_eq!(detect(&legacy), Some(ExportFormat::Legacy));
        assert_eq!(detect(&athena), Some(ExportFormat::Legacy));
        assert_eq!(detect(&cur2), Some(ExportFormat::Cur2));
        assert_eq!(detect(&focus), Some(ExportFormat::Focus));
        assert_eq!(detect(&focus_athena), Some(ExportFormat::Focus));
        assert_eq!(detect(&headers(&["cost", "service", "tags"])), None);
    }

    #[test]
    fn a_tag_key_maps_to_the_legacy_column_the_cur2_map_key_and_the_focus_key_as_written() {
        assert_eq!(export_tag_key(ExportFormat::Legacy, "cost-center"), "resource_tags_user_cost_center");
        assert_eq!(export_tag_key(ExportFormat::Cur2, "cost-center"), "user_cost_center");
        assert_eq!(export_tag_key(ExportFormat::Cur2, "CostCenter"), "user_cost_center");
        assert_eq!(export_tag_key(ExportFormat::Cur2, "app.name/v2"), "user_app_name_v2");
        assert_eq!(export_tag_key(ExportFormat::Focus, "cost-center"), "cost-center");
        assert_eq!(export_tag_key(ExportFormat::Focus, "CostCenter"), "CostCenter");
    }

    #[test]
    fn an_unknown_file_names_every_formats_columns_and_what_it_found() {
        let err = Layout::new(&headers(&["date", "amount"]), None, CostMeasure::Billed, &keys()).unwrap_err();
        let text = err.to_string();
        for column in ["line_item_unblended_cost", "line_item_product_code", "resource_tags", "BilledCost", "Tags"] {
            assert!(text.contains(column), "{column} in {text}");
        }
        assert!(text.contains("x_ServiceCode or ServiceName") && text.contains("date, amount"), "{text}");
    }

    #[test]
    fn a_forced_format_whose_columns_are_missing_says_which() {
        let cur2 = headers(&["line_item_product_code", "line_item_unblended_cost", "resource_tags"]);
        let err = Layout::new(&cur2, Some(ExportFormat::Focus), CostMeasure::Billed, &keys()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a focus export: no x_ServiceCode or ServiceName, BilledCost, Tags column \
             (a focus export has BilledCost, x_ServiceCode or ServiceName, Tags)"
        );
        let legacy = headers(&["line_item_product_code", "line_item_unblended_cost"]);
        let err = Layout::new(&legacy, Some(ExportFormat::Cur2), CostMeasure::Billed, &keys()).unwrap_err();
        assert!(matches!(&err, ExportError::MissingColumns { missing, .. } if missing == "resource_tags"), "{err}");
        let err = Layout::new(&legacy, None, CostMeasure::Effective, &keys()).unwrap_err();
        assert_eq!(err, ExportError::NoEffectiveCost(ExportFormat::Legacy));
    }

    #[test]
    fn legacy_rows_read_flat_tag_columns_and_note_the_keys_without_one() {
        let layout = Layout::new(
            &headers(&["lineItem/ProductCode", "resourceTags/user:team", "lineItem/UnblendedCost"]),
            None,
            CostMeasure::Billed,
            &keys(),
        )
        .unwrap();
        assert_eq!(layout.absent_keys, ["cost-center"]);
        assert_eq!(layout.cost_column, "lineItem/UnblendedCost");
        let item = layout.line_item(&Cells(vec!["AmazonSageMaker", "nlp", "1.5"]), 1).unwrap();
        assert!(item.sagemaker);
        assert_eq!(item.tags, [None, Some("nlp".to_owned())]);
        assert_eq!(item.cost, Money::parse("1.5").unwrap());
    }

    #[test]
    fn cur2_rows_look_up_user_prefixed_keys_in_the_resource_tags_map() {
        let layout = Layout::new(
            &headers(&["resource_tags", "line_item_unblended_cost", "line_item_product_code"]),
            None,
            CostMeasure::Billed,
            &keys(),
        )
        .unwrap();
        assert_eq!(layout.export, ExportFormat::Cur2);
        let row = Cells(vec![
            r#"{"user_cost_center":"CC-1","user_costcentre":"CC-2","cost-center":"x"}"#,
            "2",
            "AmazonSageMaker",
        ]);
        let item = layout.line_item(&row, 1).unwrap();
        assert_eq!(item.tags, [Some("CC-1".to_owned()), None]);
        let other = layout.line_item(&Cells(vec!["", "2", "AmazonEC2"]), 2).unwrap();
        assert!(!other.sagemaker && other.tags == [None, None]);
    }

    #[test]
    fn focus_rows_sum_billed_or_effective_cost_and_match_the_service_code_or_name() {
        let names = headers(&["ServiceName", "BilledCost", "EffectiveCost", "Tags"]);
        let billed = Layout::new(&names, None, CostMeasure::Billed, &keys()).unwrap();
        let effective = Layout::new(&names, None, CostMeasure::Effective, &keys()).unwrap();
        let row = Cells(vec!["Amazon SageMaker", "10", "7.25", r#"{"cost-center":"CC-1","team":null}"#]);
        assert_eq!(billed.line_item(&row, 1).unwrap().cost, Money::parse("10").unwrap());
        let item = effective.line_item(&row, 1).unwrap();
        assert_eq!((item.cost, item.sagemaker), (Money::parse("7.25").unwrap(), true));
        assert_eq!(item.tags, [Some("CC-1".to_owned()), None]);
        assert_eq!(effective.cost_column, "EffectiveCost");
        let coded = Layout::new(
            &headers(&["x_ServiceCode", "ServiceName", "BilledCost", "Tags"]),
            None,
            CostMeasure::Billed,
            &keys(),
        )
        .unwrap();
        let renamed = Cells(vec!["AmazonSageMaker", "Amazon SageMaker AI", "1", ""]);
        assert!(coded.line_item(&renamed, 1).unwrap().sagemaker, "x_ServiceCode wins over a renamed ServiceName");
    }

    #[test]
    fn a_bad_cost_or_tag_map_names_the_row_and_column() {
        let layout = Layout::new(
            &headers(&["line_item_product_code", "line_item_unblended_cost", "resource_tags"]),
            None,
            CostMeasure::Billed,
            &keys(),
        )
        .unwrap();
        let err = layout.line_item(&Cells(vec!["AmazonSageMaker", "12,5", ""]), 7).unwrap_err();
        assert_eq!(err.to_string(), "line item 7: line_item_unblended_cost \"12,5\" is not a number");
        let err = layout.line_item(&Cells(vec!["AmazonSageMaker", "1", "[1]"]), 8).unwrap_err();
        assert!(err.to_string().starts_with("line item 8: resource_tags is not a map of tags"), "{err}");
        assert!(parse_tag_map(r#"{"a":{"b":1}}"#).is_err() && parse_tag_map("{oops").is_err());
    }

    #[test]
    fn a_projection_keeps_the_layout_pointing_at_the_same_columns() {
        let layout = Layout::new(
            &headers(&["x", "line_item_product_code", "y", "resource_tags", "line_item_unblended_cost"]),
            None,
            CostMeasure::Billed,
            &keys(),
        )
        .unwrap();
        assert_eq!(layout.columns(), [1, 3, 4]);
        let projected = layout.projected();
        assert_eq!((projected.service, projected.cost), (0, 2));
        assert!(matches!(projected.tags, TagColumns::Map { column: 1, .. }));
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cur_columns_are_lower_snake_case_and_stable(header in "[ -~]{0,40}") {
            let column = cur_column(&header);
            prop_assert!(column.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            prop_assert!(!column.starts_with('_') && !column.ends_with('_') && !column.contains("__"));
            prop_assert_eq!(cur_column(&column), column.clone());
        }

        #[test]
        fn tag_map_parsing_never_panics_on_any_text(text in ".{0,60}") {
            let _ = parse_tag_map(&text);
        }
    }
}
