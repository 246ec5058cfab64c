//! `tagwarden report --cur` and `tagwarden athena-queries` on the sample exports of `tests/cur/generate.py`
//! (the same line items as a legacy CUR, a CUR 2.0 and a FOCUS export): the report equals the generator's own
//! totals for each format as CSV, gzip CSV and Parquet (`tests/cur/to_parquet.py`), and each format's
//! generated Athena SQL run by DuckDB gives the same answers as the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Each format, its sample's file stem and the cost column its report sums by default.
const FORMATS: [(&str, &str, &str); 3] = [
    ("legacy", "cur-legacy", "line_item_unblended_cost"),
    ("cur2", "cur2", "line_item_unblended_cost"),
    ("focus", "focus", "BilledCost"),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python with duckdb: `TAGWARDEN_PYTHON`, else the repository's `.venv` (`make venv`).
fn python() -> PathBuf {
    std::env::var_os("TAGWARDEN_PYTHON").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv/bin/python"))
}

/// Generates the samples once per test into its own directory (with Parquet copies when `parquet`).
pub(crate) fn sample(name: &str, parquet: bool) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cur-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new("python3")
        .arg(repo_root().join("tests/cur/generate.py"))
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs tests/cur/generate.py");
    assert!(status.success(), "generate.py failed");
    if parquet {
        let output = Command::new(python()).arg(repo_root().join("tests/cur/to_parquet.py")).arg(&dir).output();
        let output = output.expect("the venv's python runs (make venv)");
        assert!(
            output.status.success(),
            "to_parquet.py (needs duckdb: make venv): {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tagwarden")).args(args).output().unwrap()
}

fn tagwarden(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "tagwarden {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn report_json(cur: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["report", "--cur", cur.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&tagwarden(&args)).unwrap()
}

/// The report without the fields naming the export and its cost column, which the generator's totals lack.
fn totals(mut report: Value, export: &str, cost_column: &str) -> Value {
    let fields = report.as_object_mut().unwrap();
    assert_eq!(fields.remove("export"), Some(Value::from(export)), "detected format");
    assert_eq!(fields.remove("cost_column"), Some(Value::from(cost_column)), "summed column");
    report
}

fn expected(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[test]
fn report_totals_are_the_generators_own_for_legacy_cur2_and_focus_as_csv_gzip_and_parquet() {
    let dir = sample("formats", true);
    let expected = expected(&dir, "expected.json");
    assert!(expected["sagemaker"]["line_items"].as_u64().unwrap() > 1000, "the sample is a few thousand items");
    for (export, stem, cost_column) in FORMATS {
        for file in [format!("{stem}.csv"), format!("{stem}.csv.gz"), format!("{stem}.parquet")] {
            // NOTE: the gzip legacy sample has legacy headers: the report names the column as the file does.
            let cost_column = if file == "cur-legacy.csv.gz" { "lineItem/UnblendedCost" } else { cost_column };
            let report = report_json(&dir.join(&file), &[]);
            assert_eq!(totals(report, export, cost_column), expected, "{file}");
            let forced = report_json(&dir.join(&file), &["--export", export]);
            assert_eq!(totals(forced, export, cost_column), expected, "{file} with --export {export}");
        }
    }
}

#[test]
fn focus_effective_cost_is_summed_with_cost_effective_and_refused_on_a_cur() {
    let dir = sample("effective", true);
    let effective = expected(&dir, "expected-effective.json");
    assert_ne!(effective["sagemaker"], expected(&dir, "expected.json")["sagemaker"], "the sample amortises some usage");
    for file in ["focus.csv", "focus.parquet"] {
        let report = report_json(&dir.join(file), &["--cost", "effective"]);
        assert_eq!(totals(report, "focus", "EffectiveCost"), effective, "{file}");
    }
    let output = run(&["report", "--cur", dir.join("cur2.csv").to_str().unwrap(), "--cost", "effective"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--cost effective needs a FOCUS export (EffectiveCost)"), "{stderr}");
}

#[test]
fn report_on_explicit_tags_counts_a_key_the_export_lacks_as_untagged() {
    let dir = sample("tags", false);
    let expected = expected(&dir, "expected.json");
    for (export, stem, _) in FORMATS {
        let report = report_json(&dir.join(format!("{stem}.csv")), &["--tag", "team", "--tag", "owner"]);
        assert_eq!(report["by_tag"][0], expected["by_tag"][1], "{export}: team as in the policy report");
        let owner = report["by_tag"][1].as_object().unwrap();
        assert_eq!(owner.keys().collect::<Vec<_>>(), ["(untagged)"], "{export}");
        assert_eq!(owner["(untagged)"], expected["sagemaker"], "{export}");
        assert_eq!(report["untagged"], expected["sagemaker"], "{export}: every item lacks owner");
    }
}

#[test]
fn a_file_of_an_unknown_shape_fails_naming_the_columns_looked_for() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cur-unknown");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("costs.csv");
    std::fs::write(&file, "date,service,amount\n2026-10-01,SageMaker,12.5\n").unwrap();
    let output = run(&["report", "--cur", file.to_str().unwrap()]);
    assert!(!output.status.success(), "an unknown file is refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for column in
        ["line_item_unblended_cost", "line_item_product_code", "resource_tags", "BilledCost", "Tags", "x_ServiceCode"]
    {
        assert!(stderr.contains(column), "{column} named in: {stderr}");
    }
    assert!(stderr.contains("date, service, amount"), "what the file has: {stderr}");

    let sample = sample("forced", false);
    let output = run(&["report", "--cur", sample.join("cur2.csv").to_str().unwrap(), "--export", "focus"]);
    assert!(!output.status.success(), "a CUR 2.0 file read as FOCUS is refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a focus export: no x_ServiceCode or ServiceName, BilledCost, Tags column"),
        "{stderr}"
    );
}

/// Money strings compared exactly (`12.50` and `12.5000000000` are equal).
fn money(text: &str) -> i128 {
    tagwarden_ops::cost::Money::parse(text).expect("a decimal").units()
}

#[test]
fn each_formats_generated_athena_sql_run_by_duckdb_gives_the_same_answers_as_the_report() {
    let dir = sample("athena", false);
    let (database, table) = ("cur_db", "cur_table");
    for (export, stem, _) in FORMATS {
        let sql_dir = dir.join(format!("sql-{export}"));
        let out = sql_dir.to_str().unwrap();
        tagwarden(&["athena-queries", "--export", export, "--database", database, "--table", table, "--out", out]);
        let csv = dir.join(format!("{stem}.csv"));
        let output = Command::new(python())
            .arg(repo_root().join("tests/cur/athena_duckdb.py"))
            .args([export, csv.to_str().unwrap(), out, database, table])
            .output()
            .expect("the venv's python runs (make venv)");
        assert!(
            output.status.success(),
            "athena_duckdb.py {export} (needs duckdb: make venv): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let sql: Value = serde_json::from_slice(&output.stdout).unwrap();
        let report = report_json(&csv, &[]);

        let keys: Vec<&str> = report["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["cost-center", "team", "environment"]);
        for (i, key) in keys.iter().enumerate() {
            let rows = sql[tagwarden_ops::cost::cost_by_tag_query_name(key)].as_array().expect("a query per key");
            let by_tag = report["by_tag"][i].as_object().unwrap();
            assert_eq!(rows.len(), by_tag.len(), "{export} {key}: one row per value");
            for row in rows {
                let total = &by_tag[row[0].as_str().unwrap()];
                assert_eq!(
                    money(row[1].as_str().unwrap()),
                    money(total["cost"].as_str().unwrap()),
                    "{export} {key} {row}"
                );
                assert_eq!(row[2].as_str().unwrap(), total["line_items"].to_string(), "{export} {key} {row}");
            }
        }
        let missing = sql[tagwarden_ops::cost::MISSING_TAGS_QUERY].as_array().unwrap();
        let cost: i128 = missing.iter().map(|r| money(r[2].as_str().unwrap())).sum();
        let items: u64 = missing.iter().map(|r| r[3].as_str().unwrap().parse::<u64>().unwrap()).sum();
        assert_eq!(cost, money(report["untagged"]["cost"].as_str().unwrap()), "{export}");
        assert_eq!(items, report["untagged"]["line_items"].as_u64().unwrap(), "{export}");
        assert!(
            missing.iter().all(|r| !r[1].as_str().unwrap().is_empty()),
            "{export}: each row names its missing keys"
        );
    }
}
