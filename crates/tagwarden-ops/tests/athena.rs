//! The Athena named queries shipped in the SAM template and in `infra/generated/athena/` are exactly what
//! the generator makes from the example policy (policy/tagwarden.yaml), so neither can drift from it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_norway::Value;
use tagwarden::Policy;
use tagwarden_ops::cost::{DEFAULT_DATABASE, DEFAULT_TABLE, ExportFormat, athena_queries};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `!Sub` text or `!Ref` name of a template value.
fn tagged(value: &Value, tag: &str) -> String {
    match value {
        Value::Tagged(t) if t.tag == tag => t.value.as_str().unwrap().to_owned(),
        other => panic!("expected !{tag}, found {other:?}"),
    }
}

#[test]
fn template_named_queries_equal_the_generator_output_for_the_example_policy() {
    let text = std::fs::read_to_string(repo().join("infra/template.yaml")).unwrap();
    let template: Value = serde_norway::from_str(&text).unwrap();
    let in_template: BTreeMap<String, (String, String)> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Athena::NamedQuery"))
        .map(|r| {
            let p = &r["Properties"];
            assert_eq!(tagged(&p["Database"], "Ref"), "CurDatabase");
            let name = p["Name"].as_str().unwrap().to_owned();
            (name, (p["Description"].as_str().unwrap().to_owned(), tagged(&p["QueryString"], "Sub")))
        })
        .collect();
    let generated: BTreeMap<String, (String, String)> =
        athena_queries(&Policy::example().unwrap().tags, ExportFormat::Legacy, "${CurDatabase}", "${CurTable}")
            .into_iter()
            .map(|q| (q.name, (q.description, q.sql)))
            .collect();
    assert_eq!(in_template, generated);
    for parameter in ["CurDatabase", "CurTable"] {
        assert!(template["Parameters"][parameter]["Default"].as_str().is_some(), "{parameter} has a default");
    }
    assert_eq!(template["Parameters"]["CurDatabase"]["Default"].as_str(), Some(DEFAULT_DATABASE));
    assert_eq!(template["Parameters"]["CurTable"]["Default"].as_str(), Some(DEFAULT_TABLE));
}

#[test]
fn generated_sql_files_equal_the_generator_output_for_the_example_policy() {
    let dir = repo().join("infra/generated/athena");
    let queries =
        athena_queries(&Policy::example().unwrap().tags, ExportFormat::Legacy, DEFAULT_DATABASE, DEFAULT_TABLE);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = queries.iter().map(|q| format!("{}.sql", q.name)).collect();
    expected.sort();
    assert_eq!(on_disk, expected, "run `tagwarden athena-queries` to regenerate");
    for query in &queries {
        let text = std::fs::read_to_string(dir.join(format!("{}.sql", query.name))).unwrap();
        assert_eq!(text, query.file_text(), "{}: run `tagwarden athena-queries` to regenerate", query.name);
    }
}
