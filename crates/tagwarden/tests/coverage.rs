//! `docs/coverage.md` is the coverage matrix the library generates from its tables, as the EventBridge
//! pattern is checked against the templates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use tagwarden::coverage::{COVERAGE_FILE, markdown};

#[test]
fn the_coverage_page_matches_the_resource_and_action_tables() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(COVERAGE_FILE);
    let generated = markdown();
    if std::env::var_os("TAGWARDEN_WRITE_COVERAGE").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{COVERAGE_FILE} is stale: run `TAGWARDEN_WRITE_COVERAGE=1 cargo nextest run --workspace -E 'test(/coverage_page/)'`"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("(docs/coverage.md)"), "README's Documentation table links the page");
}
