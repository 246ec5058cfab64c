//! The bad-input corpus (`tests/corpus/`, written by `generate.py`) through the real handlers against one
//! emulator: every case must end in the class its manifest names, without a panic and without any AWS call
//! that changes something. Broken policies must fail to load with a message naming the key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tagwarden::tagging::TaggerSettings;
use tagwarden::{AutoTagger, BudgetEnforcer, Clients, EnforcementOutcome, Outcome, Policy};
use tagwarden_e2e::{CallCount, Emulator, REGION, repo_root};

/// One manifest entry.
struct Case {
    file: String,
    function: String,
    expect: String,
    contains: Vec<String>,
}

fn manifest() -> Vec<Case> {
    let path = repo_root().join("tests/corpus/MANIFEST.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let strings = |v: &Value| v.as_str().unwrap().to_owned();
    manifest["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            file: strings(&c["file"]),
            function: strings(&c["function"]),
            expect: strings(&c["expect"]),
            contains: c["contains"].as_array().map(|a| a.iter().map(strings).collect()).unwrap_or_default(),
        })
        .collect()
}

/// Calls that change something: every operation whose name does not start with List, Describe or Get, but
/// the enforcer's own ledger (`dynamodb.*`: claims and records are not changes to anything in the account).
fn writes(before: &CallCount, after: &CallCount) -> Vec<String> {
    after
        .by_action
        .iter()
        .filter(|(action, n)| **n > before.by_action.get(*action).copied().unwrap_or(0))
        .filter(|(action, _)| {
            let operation = action.rsplit('.').next().unwrap_or(action);
            !["List", "Describe", "Get"].iter().any(|read| operation.starts_with(read))
                && !action.starts_with("dynamodb.")
        })
        .map(|(action, _)| action.clone())
        .collect()
}

/// The class and the text (reason or error) of an auto-tagger result.
fn tagger_class(result: Result<Outcome, tagwarden::tagging::RetryableError>) -> (String, String) {
    match result {
        Ok(Outcome::Skipped(skip)) => ("skipped".into(), skip.reason),
        Ok(Outcome::Failed { reason, .. }) => ("failed".into(), reason),
        Ok(other) => (other.label().into(), serde_json::to_string(&other).unwrap()),
        Err(err) => ("retryable".into(), err.to_string()),
    }
}

/// The class and the text of a budget-enforcer result.
fn enforcer_class(result: Result<EnforcementOutcome, tagwarden::enforce::EnforceError>) -> (String, String) {
    match result {
        Ok(EnforcementOutcome::Rejected { error }) => ("rejected".into(), error),
        Ok(EnforcementOutcome::Skipped { reason, .. }) => ("skipped".into(), reason),
        Ok(EnforcementOutcome::Unverified { reason, .. }) => ("unverified".into(), reason),
        Ok(EnforcementOutcome::Restored(report)) if report.results.is_empty() => ("restored".into(), String::new()),
        Ok(other) => (other.label().into(), serde_json::to_string(&other).unwrap()),
        Err(err) if err.is_retryable() => ("retryable".into(), err.to_string()),
        Err(err) => ("non-retryable".into(), err.to_string()),
    }
}

#[tokio::test]
async fn every_corpus_case_is_classified_as_its_manifest_says_without_panics_or_writes() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let clients = Clients::new(&config);
    let policy = Arc::new(Policy::example().unwrap());
    let tagger = Arc::new(AutoTagger::new(clients.clone(), policy.clone(), &TaggerSettings::default()));
    let ledger = tagwarden_e2e::ledger::create_ledger(&config).await.expect("ledger table");
    let enforcer = Arc::new(BudgetEnforcer::new(clients, policy).with_ledger(ledger));
    let root = repo_root().join("tests/corpus");

    let cases = manifest();
    let start = emulator.calls().unwrap();
    let mut failures = Vec::new();
    let mut summary: BTreeMap<(String, String), usize> = BTreeMap::new();
    for case in &cases {
        let bytes = std::fs::read(root.join(&case.file)).unwrap();
        let (class, text, written) = match (case.function.as_str(), case.expect.as_str()) {
            ("policy", _) => {
                let path = root.join(&case.file);
                match std::panic::catch_unwind(|| Policy::from_file(&path)) {
                    Err(_) => ("panic".to_owned(), String::new(), Vec::new()),
                    Ok(Ok(_)) => ("valid".to_owned(), String::new(), Vec::new()),
                    Ok(Err(err)) => ("invalid".to_owned(), err.to_string(), Vec::new()),
                }
            }
            // What the Lambda runtime does with the payload before any handler runs.
            (_, "not-json") => match serde_json::from_slice::<Value>(&bytes) {
                Err(err) => ("not-json".to_owned(), err.to_string(), Vec::new()),
                Ok(_) => ("json".to_owned(), String::new(), Vec::new()),
            },
            (function, _) => {
                let Ok(event) = serde_json::from_slice::<Value>(&bytes) else {
                    failures.push(format!("{}: not JSON, but the manifest expects {}", case.file, case.expect));
                    continue;
                };
                let before = emulator.calls().unwrap();
                // NOTE: spawned so that a panic in the handler fails this case by name instead of the whole test.
                let joined = if function == "auto-tagger" {
                    let tagger = tagger.clone();
                    tokio::spawn(async move { tagger_class(tagger.handle(&event).await) }).await
                } else {
                    let enforcer = enforcer.clone();
                    tokio::spawn(async move { enforcer_class(enforcer.handle_lambda(&event).await) }).await
                };
                let (class, text) = joined.unwrap_or_else(|err| ("panic".into(), err.to_string()));
                (class, text, writes(&before, &emulator.calls().unwrap()))
            }
        };
        *summary.entry((case.function.clone(), class.clone())).or_default() += 1;
        if class != case.expect {
            failures.push(format!("{}: expected {}, got {class}: {}", case.file, case.expect, clip(&text)));
        } else if ["skipped", "unverified", "rejected", "invalid", "not-json"].contains(&class.as_str())
            && text.trim().is_empty()
        {
            failures.push(format!("{}: {class} without a reason", case.file));
        }
        if let Some(missing) = case.contains.iter().find(|c| !text.contains(c.as_str())) {
            failures.push(format!("{}: {class} text lacks {missing:?}: {}", case.file, clip(&text)));
        }
        if text.chars().count() > 2000 {
            failures.push(format!("{}: the reason is {} characters long", case.file, text.chars().count()));
        }
        // NOTE: an unverified alert's one notice is its only call that is not a read.
        let notice_only = class == "unverified" && written == ["sns.Publish"];
        if !written.is_empty() && !notice_only {
            failures.push(format!("{}: wrote to AWS: {written:?}", case.file));
        }
    }

    let end = emulator.calls().unwrap();
    let reads: Vec<String> = end
        .by_action
        .iter()
        .map(|(action, n)| format!("{action} x{}", n - start.by_action.get(action).copied().unwrap_or(0)))
        .collect();
    println!("corpus: {} cases, {} AWS calls: {}", cases.len(), end.total - start.total, reads.join(", "));
    for ((function, class), n) in &summary {
        println!("corpus: {function:>15} {class:<9} {n}");
    }
    assert!(cases.len() >= 300, "the corpus has {} cases", cases.len());
    // NOTE: the well-formed cases do reach AWS (e.g. ListTags of a missing model): the call log is not vacuous.
    assert!(end.total > start.total, "no AWS call at all: the write check would prove nothing");
    assert!(failures.is_empty(), "{} of {} cases misclassified:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}
