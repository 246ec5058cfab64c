//! Reading a billing export for `report --cur`: what arrives is a file (CSV, `.csv.gz` or Parquet; legacy
//! CUR, CUR 2.0 or FOCUS); what leaves is the [`CostReport`] of its line items.
//!
//! The format is found from the header (CSV) or schema (Parquet) by [`Layout::new`], or forced; the rows are
//! read here and reduced to line items by the layout. A map column is a JSON object in CSV and a
//! `MAP<string,string>` in Parquet.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use tagwarden_ops::cost::{CostMeasure, CostReport, ExportFormat, ExportRow, Layout, parse_tag_map};

/// What `report --cur` reads and how.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The report's tag keys.
    pub keys: Vec<String>,
    /// `--export`: the format, instead of detecting it.
    pub forced: Option<ExportFormat>,
    /// `--cost`: billed (default) or FOCUS effective cost.
    pub measure: CostMeasure,
}

/// Reads an export into a report: Parquet by its `.parquet` extension or magic number, gzip by `.gz` or its
/// magic number, CSV otherwise.
pub fn read_export(path: &Path, request: &ExportRequest) -> Result<CostReport, String> {
    let mut report = CostReport::new(request.keys.clone());
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut file = File::open(path).map_err(cannot)?;
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).map_err(cannot)?;
    file.rewind().map_err(cannot)?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let result = if &magic[..n] == b"PAR1" || name.ends_with(".parquet") {
        read_parquet(file, request, &mut report)
    } else if magic[..n].starts_with(&[0x1f, 0x8b]) || name.ends_with(".gz") {
        read_csv(flate2::read::MultiGzDecoder::new(BufReader::new(file)), request, &mut report)
    } else {
        read_csv(BufReader::new(file), request, &mut report)
    };
    result.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(report)
}

/// The layout for `headers`, recorded in the report, with a note for each key the export has no column for.
fn layout(headers: &[String], request: &ExportRequest, report: &mut CostReport) -> Result<Layout, String> {
    let layout = Layout::new(headers, request.forced, request.measure, &request.keys).map_err(|e| e.to_string())?;
    report.export = layout.export.name().to_owned();
    report.cost_column = layout.cost_column.clone();
    for key in &layout.absent_keys {
        eprintln!(
            "tagwarden: note: no {} column: every line item counts as untagged for {key}",
            tagwarden_ops::cost::tag_column(key)
        );
    }
    Ok(layout)
}

struct CsvRow<'a>(&'a csv::StringRecord);

impl ExportRow for CsvRow<'_> {
    fn text(&self, column: usize) -> Option<String> {
        self.0.get(column).map(str::to_owned)
    }
    fn map(&self, column: usize) -> Result<BTreeMap<String, String>, String> {
        parse_tag_map(self.0.get(column).unwrap_or_default())
    }
}

fn read_csv(input: impl Read, request: &ExportRequest, report: &mut CostReport) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
    let headers: Vec<String> = reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_owned).collect();
    let layout = layout(&headers, request, report)?;
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    while reader.read_record(&mut record).map_err(|e| e.to_string())? {
        row += 1;
        report.add(&layout.line_item(&CsvRow(&record), row).map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// One projected Parquet row: each kept column as text, or as the entries of a map.
struct ParquetRow(Vec<Cell>);

enum Cell {
    Null,
    Text(String),
    Map(Result<BTreeMap<String, String>, String>),
}

impl ExportRow for ParquetRow {
    fn text(&self, column: usize) -> Option<String> {
        match self.0.get(column) {
            Some(Cell::Text(text)) => Some(text.clone()),
            _ => None,
        }
    }
    fn map(&self, column: usize) -> Result<BTreeMap<String, String>, String> {
        match self.0.get(column) {
            Some(Cell::Map(map)) => map.clone(),
            Some(Cell::Text(text)) => parse_tag_map(text),
            Some(Cell::Null) | None => Ok(BTreeMap::new()),
        }
    }
}

fn read_parquet(file: File, request: &ExportRequest, report: &mut CostReport) -> Result<(), String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::schema::types::Type;

    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let schema = reader.metadata().file_metadata().schema();
    let headers: Vec<String> = schema.get_fields().iter().map(|f| f.name().to_owned()).collect();
    let layout = layout(&headers, request, report)?;
    // NOTE: read only the needed columns: a CUR has hundreds.
    let fields = layout.columns().iter().map(|&i| schema.get_fields()[i].clone()).collect();
    let projection = Type::group_type_builder(schema.name()).with_fields(fields).build().map_err(|e| e.to_string())?;
    let projected = layout.projected();
    let mut row_number = 0;
    for row in reader.get_row_iter(Some(projection)).map_err(|e| e.to_string())? {
        let row = row.map_err(|e| e.to_string())?;
        row_number += 1;
        let cells = ParquetRow(row.get_column_iter().map(|(_, field)| cell(field)).collect());
        report.add(&projected.line_item(&cells, row_number).map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// A Parquet value as a cell: maps as their entries (null values left out), the rest as text.
fn cell(field: &parquet::record::Field) -> Cell {
    use parquet::record::Field;
    match field {
        Field::Null => Cell::Null,
        Field::MapInternal(map) => Cell::Map(
            map.entries()
                .iter()
                .filter_map(|(k, v)| match (field_text(k), field_text(v)) {
                    (Some(k), Some(v)) => Some(Ok((k, v))),
                    (None, _) => Some(Err("a map key is null".to_owned())),
                    (Some(_), None) => None,
                })
                .collect(),
        ),
        other => field_text(other).map_or(Cell::Null, Cell::Text),
    }
}

/// A Parquet value as export text (`None` for null); numbers in plain decimal notation.
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
