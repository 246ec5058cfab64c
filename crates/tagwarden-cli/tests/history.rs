//! `tagwarden history` against the emulator: what an alert did and what restore undid, from the ledger.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{Value, json};
use tagwarden::{BudgetEnforcer, Clients, Policy};
use tagwarden_e2e::budget_world::seed_budget_world;
use tagwarden_e2e::ledger::{LEDGER_TABLE, create_ledger};
use tagwarden_e2e::{Emulator, REGION, cli, sample_event};

#[tokio::test]
async fn history_shows_what_was_done_by_which_alert_and_what_restore_undid() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 2).await.expect("seed");
    let ledger = create_ledger(&config).await.expect("ledger table");
    let enforcer = BudgetEnforcer::new(Clients::new(&config), Arc::new(Policy::example().unwrap())).with_ledger(ledger);
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    assert_eq!(enforcer.handle(&alert, false).await.unwrap().label(), "enforced");
    let restore = json!({"tagwarden": "restore", "budget": "ml-marketing"});
    assert_eq!(enforcer.handle(&restore, false).await.unwrap().label(), "restored");
    let scaled = seeded.in_scope.endpoints[0].clone();
    let out = cli(env!("CARGO_BIN_EXE_tagwarden"), &emulator)
        .args(["history", "--resource", &scaled, "--format", "json", "--ledger-table", LEDGER_TABLE])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entries: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["trigger"].as_str().unwrap(), e["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [("scale-endpoints", "9a6d2f4e-81c3-5b0a-a7e2-0c5f3d1b8e02", "done"), ("restore-endpoint", "restore", "done")]
    );
    assert_eq!(
        entries[0]["before"],
        json!({"kind": "endpoint", "name": scaled.rsplit('/').next().unwrap(), "variants": [["AllTraffic", 3]]})
    );

    let table = cli(env!("CARGO_BIN_EXE_tagwarden"), &emulator)
        .args(["history", "--budget", "ml-marketing", "--ledger-table", LEDGER_TABLE])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("AT "), "{text}");
    assert!(text.contains("stop-notebooks") && text.contains("restore-endpoint"), "{text}");
}

#[tokio::test]
async fn plans_lists_a_pending_plan_and_approve_carries_it_out_from_the_command_line() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_budget_world(&emulator, &config, 2).await.expect("seed");
    let ledger = create_ledger(&config).await.expect("ledger table");
    let step = tagwarden_e2e::EXAMPLE_STEP_100;
    let waiting = step.replace("]}", "], approval: required}");
    let text = tagwarden::policy::EXAMPLE_POLICY.replace(step, &waiting);
    let policy = std::env::temp_dir().join(format!("tagwarden-plans-{}.yaml", std::process::id()));
    std::fs::write(&policy, &text).unwrap();
    let enforcer = BudgetEnforcer::new(Clients::new(&config), Arc::new(Policy::from_yaml(&text, "t").unwrap()))
        .with_ledger(ledger);
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    assert_eq!(enforcer.handle(&alert, false).await.unwrap().label(), "pending");

    let run = |args: &[&str]| cli(env!("CARGO_BIN_EXE_tagwarden"), &emulator).args(args).output().unwrap();
    let listed = run(&["plans", "--format", "json", "--ledger-table", LEDGER_TABLE]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let plans: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!((plans[0]["state"].as_str(), plans[0]["mode"].as_str()), (Some("pending"), Some("approval")));
    let id = plans[0]["id"].as_str().unwrap().to_owned();
    let table = String::from_utf8(run(&["plans", "--ledger-table", LEDGER_TABLE]).stdout).unwrap();
    assert!(table.starts_with("PLAN ") && table.contains(&id) && table.contains("approval"), "{table}");

    let policy_arg = policy.to_str().unwrap();
    let approved = run(&["approve", &id, "--policy", policy_arg, "--ledger-table", LEDGER_TABLE]);
    assert!(approved.status.success(), "{}", String::from_utf8_lossy(&approved.stderr));
    let outcome: Value = serde_json::from_slice(&approved.stdout).unwrap();
    assert_eq!(outcome["outcome"], "enforced");

    let again = run(&["approve", &id, "--policy", policy_arg, "--ledger-table", LEDGER_TABLE]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("only a pending plan is carried out"), "{stderr}");
    assert!(run(&["plans", "--ledger-table", LEDGER_TABLE]).stdout.iter().filter(|b| **b == b'\n').count() == 1);
    std::fs::remove_file(policy).ok();
}
