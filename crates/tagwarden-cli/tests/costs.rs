//! `tagwarden costs` as a user runs it, against moto's own Cost Explorer: `GetCostAndUsage` answers seeded from
//! the CUR sample's totals (`tests/cur/generate.py`), so its numbers must equal `tagwarden report --cur` on the
//! same data; forecasts from the extension's `GetCostForecast` (section 15); the requests it says it made are
//! the ones the emulator counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use chrono::Datelike;
use serde_json::{Value, json};
use tagwarden_e2e::{Emulator, cli, repo_root};

fn tagwarden(emulator: &Emulator, args: &[&str]) -> Output {
    cli(env!("CARGO_BIN_EXE_tagwarden"), emulator).args(args).output().unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One `GetCostAndUsage` answer (October 2026, MONTHLY) with `groups` as (`key$value`, amount).
fn answer(groups: &[(String, String)], next: Option<&str>) -> Value {
    let groups: Vec<Value> = groups
        .iter()
        .map(|(k, amount)| json!({"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}))
        .collect();
    let mut page = json!({
        "GroupDefinitions": [],
        "ResultsByTime": [{"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Total": {}, "Groups": groups, "Estimated": false}],
        "DimensionValueAttributes": []
    });
    if let Some(token) = next {
        page["NextPageToken"] = json!(token);
    }
    page
}

#[test]
fn costs_from_cost_explorer_equal_report_cur_on_the_sample_and_every_page_is_read() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let dir = crate::cur_report::sample("costs", false);
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    // Cost Explorer's view of the generator's totals: `key$value`, and `key$` for line items without the key.
    let mut pages = Vec::new();
    for (i, key) in expected["keys"].as_array().unwrap().iter().enumerate() {
        let key = key.as_str().unwrap();
        let groups: Vec<(String, String)> = expected["by_tag"][i]
            .as_object()
            .unwrap()
            .iter()
            .map(|(value, total)| {
                let value = if value == "(untagged)" { "" } else { value.as_str() };
                (format!("{key}${value}"), total["cost"].as_str().unwrap().to_owned())
            })
            .collect();
        if i == 0 {
            // The first key's groups come in two pages, as Cost Explorer pages a long answer.
            let (first, rest) = groups.split_at(groups.len() / 2);
            pages.push(answer(first, Some("page-2")));
            pages.push(answer(rest, None));
        } else {
            pages.push(answer(&groups, None));
        }
    }
    emulator.seed_cost_and_usage(&pages).unwrap();
    emulator.reset_calls().unwrap();

    let policy = repo_root().join("policy/tagwarden.yaml");
    let args = ["costs", "--from", "2026-10-01", "--to", "2026-11-01", "--policy", policy.to_str().unwrap()];
    let out = tagwarden(&emulator, &[&args[..], &["--format", "json"]].concat());
    let costs = ok_json(&out);
    let report = ok_json(&tagwarden(
        &emulator,
        &["report", "--cur", dir.join("cur-legacy.csv").to_str().unwrap(), "--format", "json"],
    ));

    assert_eq!(costs["keys"].as_array().unwrap().len(), 3);
    for (i, key) in costs["keys"].as_array().unwrap().iter().enumerate() {
        assert_eq!(key["key"], report["keys"][i]);
        assert_eq!(key["total"], report["sagemaker"]["cost"], "{} total", key["key"]);
        let by_value = report["by_tag"][i].as_object().unwrap();
        assert_eq!(key["values"].as_array().unwrap().len(), by_value.len());
        let mut shares = 0.0;
        for value in key["values"].as_array().unwrap() {
            let name = value["value"].as_str().unwrap();
            assert_eq!(value["cost"], by_value[name]["cost"], "{} = {name}", key["key"]);
            assert_eq!(value["untagged"], name == "(untagged)");
            shares += value["share_percent"].as_f64().unwrap();
        }
        assert!((shares - 100.0).abs() < 1e-6, "shares of {} add to {shares}", key["key"]);
    }
    // One request per key and page, no more; said on stderr and in the JSON, and counted by the emulator.
    assert_eq!(costs["calls"]["get_cost_and_usage"], 4);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Cost Explorer requests: 4 (4 GetCostAndUsage, 0 GetCostForecast), billed $0.04")
    );
    let counted = emulator.calls().unwrap();
    assert_eq!(counted.by_action.get("ce.GetCostAndUsage"), Some(&4), "{counted:?}");

    // The same answers again (moto repeats a known request's answer) in the other formats.
    let table = String::from_utf8(tagwarden(&emulator, &args).stdout).unwrap();
    assert!(table.contains("by team (total ") && table.contains("(untagged)"), "{table}");
    let csv = String::from_utf8(tagwarden(&emulator, &[&args[..], &["--format", "csv"]].concat()).stdout).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + costs["keys"].as_array().unwrap().iter().map(|k| k["values"].as_array().unwrap().len()).sum::<usize>()
    );
}

#[test]
fn forecast_and_accounts_for_this_month_with_a_note_where_cost_explorer_has_no_history() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let today = chrono::Utc::now().date_naive();
    let month = |groups: Value| {
        json!({"ResultsByTime": [{"TimePeriod": {"Start": "x", "End": "y"}, "Total": {}, "Groups": groups, "Estimated": true}],
               "DimensionValueAttributes": []})
    };
    let metric = |amount: &str| json!({"UnblendedCost": {"Amount": amount, "Unit": "USD"}});
    emulator
        .seed_cost_and_usage(&[month(json!([
            {"Keys": ["team$nlp", "111111111111"], "Metrics": metric("10.5")},
            {"Keys": ["team$nlp", "222222222222"], "Metrics": metric("4.5")},
            {"Keys": ["team$", "222222222222"], "Metrics": metric("5")}
        ]))])
        .unwrap();
    emulator.seed_cost_forecasts(&json!([{"Tag": {"Key": "team", "Value": "nlp"}, "DailyMean": "2"}])).unwrap();

    let out = tagwarden(&emulator, &["costs", "--tag", "team", "--by-account", "--forecast", "--format", "json"]);
    let costs = ok_json(&out);
    let first_next = today.with_day(1).unwrap().checked_add_months(chrono::Months::new(1)).unwrap();
    let days = (first_next - today).num_days();
    assert_eq!(costs["forecast_window"], json!([today.to_string(), first_next.to_string()]));
    let values = costs["keys"][0]["values"].as_array().unwrap();
    let nlp = &values[0];
    assert_eq!(
        (nlp["value"].as_str(), nlp["cost"].as_str(), nlp["share_percent"].as_f64()),
        (Some("nlp"), Some("15.00"), Some(75.0))
    );
    assert_eq!(nlp["by_account"], json!({"111111111111": "10.50", "222222222222": "4.50"}));
    assert_eq!(nlp["forecast"].as_str().unwrap().parse::<f64>().unwrap(), 2.0 * days as f64);
    assert_eq!(nlp["projected"].as_str().unwrap().parse::<f64>().unwrap(), 15.0 + 2.0 * days as f64);
    let untagged = &values[1];
    assert!(untagged["untagged"].as_bool().unwrap() && untagged.get("forecast").is_none());
    assert!(untagged["forecast_note"].as_str().unwrap().contains("Insufficient amount of historical data"));
    assert_eq!(costs["calls"]["total"], 3);
    assert_eq!(costs["estimated"], true);
}

#[test]
fn bad_dates_fail_before_any_request_naming_the_option() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let out = tagwarden(&emulator, &["costs", "--tag", "team", "--from", "2026-10-01", "--to", "2026-13-01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to \"2026-13-01\" is not a date"));
    assert_eq!(emulator.calls().unwrap().total, 0);
}
