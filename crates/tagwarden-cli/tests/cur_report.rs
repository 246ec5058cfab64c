//! `tagwarden report --cur` and `tagwarden athena-queries` on the sample CUR of `tests/cur/generate.py`:
//! the report equals the generator's own totals (CUR 2.0 CSV, legacy gzip CSV, Parquet), and the generated
//! Athena SQL run by DuckDB gives the same answers as the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python with duckdb: `TAGWARDEN_PYTHON`, else the repository's `.venv` (`make venv`).
fn python() -> PathBuf {
    std::env::var_os("TAGWARDEN_PYTHON").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv/bin/python"))
}

/// Generates the sample once per test into its own directory.
fn sample(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cur-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new("python3")
        .arg(repo_root().join("tests/cur/generate.py"))
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs tests/cur/generate.py");
    assert!(status.success(), "generate.py failed");
    dir
}

fn tagwarden(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tagwarden")).args(args).output().unwrap();
    assert!(output.status.success(), "tagwarden {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn report_json(cur: &Path) -> Value {
    serde_json::from_str(&tagwarden(&["report", "--cur", cur.to_str().unwrap(), "--format", "json"])).unwrap()
}

fn expected(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap()
}

/// Rewrites the sample CSV as Parquet the way CUR delivers it: strings as optional UTF8 (null when
/// empty), costs and amounts as DOUBLE, Snappy-compressed.
fn csv_to_parquet(csv_path: &Path, parquet_path: &Path) {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let is_double = |h: &str| h == "line_item_unblended_cost" || h == "line_item_usage_amount";
    let fields: String = headers
        .iter()
        .map(
            |h| if is_double(h) { format!("OPTIONAL DOUBLE {h};") } else { format!("OPTIONAL BYTE_ARRAY {h} (UTF8);") },
        )
        .collect();
    let schema = Arc::new(parse_message_type(&format!("message schema {{ {fields} }}")).unwrap());
    let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let mut writer = SerializedFileWriter::new(File::create(parquet_path).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut index = 0;
    while let Some(mut column) = group.next_column().unwrap() {
        let cells: Vec<&str> = rows.iter().map(|r| r.get(index).unwrap_or("")).collect();
        let levels: Vec<i16> = cells.iter().map(|c| i16::from(!c.is_empty())).collect();
        let present = cells.iter().filter(|c| !c.is_empty());
        if is_double(&headers[index]) {
            let values: Vec<f64> = present.map(|c| c.parse().unwrap()).collect();
            column.typed::<DoubleType>().write_batch(&values, Some(&levels), None).unwrap();
        } else {
            let values: Vec<ByteArray> = present.map(|c| ByteArray::from(*c)).collect();
            column.typed::<ByteArrayType>().write_batch(&values, Some(&levels), None).unwrap();
        }
        column.close().unwrap();
        index += 1;
    }
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn report_totals_equal_the_generators_own_totals_for_csv_gzip_legacy_headers_and_parquet() {
    let dir = sample("formats");
    let expected = expected(&dir);
    assert!(expected["sagemaker"]["line_items"].as_u64().unwrap() > 1000, "the sample is a few thousand items");
    assert_eq!(report_json(&dir.join("cur.csv")), expected, "CUR 2.0 CSV");
    assert_eq!(report_json(&dir.join("cur-legacy.csv.gz")), expected, "legacy headers, gzip");
    let parquet = dir.join("cur.parquet");
    csv_to_parquet(&dir.join("cur.csv"), &parquet);
    assert_eq!(report_json(&parquet), expected, "Parquet");
}

#[test]
fn report_on_explicit_tags_counts_a_column_the_cur_lacks_as_untagged() {
    let dir = sample("tags");
    let report = report_json_args(&dir.join("cur.csv"), &["--tag", "team", "--tag", "owner"]);
    let expected = expected(&dir);
    assert_eq!(report["by_tag"][0], expected["by_tag"][1], "team as in the policy report");
    let owner = report["by_tag"][1].as_object().unwrap();
    assert_eq!(owner.keys().collect::<Vec<_>>(), ["(untagged)"]);
    assert_eq!(owner["(untagged)"], expected["sagemaker"]);
    assert_eq!(report["untagged"], expected["sagemaker"], "every item lacks owner");
}

fn report_json_args(cur: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["report", "--cur", cur.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&tagwarden(&args)).unwrap()
}

/// Money strings compared exactly (`12.50` and `12.5000000000` are equal).
fn money(text: &str) -> i128 {
    tagwarden_ops::cost::Money::parse(text).expect("a decimal").units()
}

#[test]
fn generated_athena_sql_run_by_duckdb_gives_the_same_answers_as_the_report() {
    let dir = sample("athena");
    let sql_dir = dir.join("sql");
    let (database, table) = ("cur_db", "cur_table");
    tagwarden(&["athena-queries", "--database", database, "--table", table, "--out", sql_dir.to_str().unwrap()]);
    let output = Command::new(python())
        .arg(repo_root().join("tests/cur/athena_duckdb.py"))
        .args([dir.join("cur.csv").to_str().unwrap(), sql_dir.to_str().unwrap(), database, table])
        .output()
        .expect("the venv's python runs (make venv)");
    assert!(
        output.status.success(),
        "athena_duckdb.py (needs duckdb: make venv): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sql: Value = serde_json::from_slice(&output.stdout).unwrap();
    let report = report_json(&dir.join("cur.csv"));

    let keys: Vec<&str> = report["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(keys, ["cost-center", "team", "environment"]);
    for (i, key) in keys.iter().enumerate() {
        let rows = sql[tagwarden_ops::cost::cost_by_tag_query_name(key)].as_array().expect("a query per key");
        let by_tag = report["by_tag"][i].as_object().unwrap();
        assert_eq!(rows.len(), by_tag.len(), "{key}: one row per value");
        for row in rows {
            let total = &by_tag[row[0].as_str().unwrap()];
            assert_eq!(money(row[1].as_str().unwrap()), money(total["cost"].as_str().unwrap()), "{key} {row}");
            assert_eq!(row[2].as_str().unwrap(), total["line_items"].to_string(), "{key} {row}");
        }
    }
    let missing = sql[tagwarden_ops::cost::MISSING_TAGS_QUERY].as_array().unwrap();
    let cost: i128 = missing.iter().map(|r| money(r[2].as_str().unwrap())).sum();
    let items: u64 = missing.iter().map(|r| r[3].as_str().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(cost, money(report["untagged"]["cost"].as_str().unwrap()));
    assert_eq!(items, report["untagged"]["line_items"].as_u64().unwrap());
    assert!(missing.iter().all(|r| !r[1].as_str().unwrap().is_empty()), "each row names its missing keys");
}
