//! `tagwarden costs`' HTML page: the report fetched from moto's Cost Explorer (seeded answers), rendered and
//! screenshotted in headless Chromium; each key's chart has bars proportional to each value's share, the
//! untagged bucket in its own colour.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use serde_json::{Value, json};
use tagwarden_e2e::{Emulator, REGION};
use tagwarden_ops::cost::cost_explorer_client;
use tagwarden_ops::costs::{self, CostsQuery, Format, Granularity, Period};

use crate::audit::{chromium, near, render, rgb};

fn answer(groups: &[(&str, &str)]) -> Value {
    let groups: Vec<Value> = groups
        .iter()
        .map(|(k, amount)| json!({"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}))
        .collect();
    json!({"ResultsByTime": [{"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Total": {}, "Groups": groups, "Estimated": false}]})
}

#[tokio::test]
async fn the_html_page_renders_in_chromium_with_bars_proportional_to_each_values_share() {
    let Some(browser) = chromium() else { return };
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    emulator
        .seed_cost_and_usage(&[
            answer(&[("team$nlp", "60"), ("team$cv", "15"), ("team$", "25")]),
            answer(&[("environment$prod", "50"), ("environment$", "50")]),
        ])
        .unwrap();
    let ce = cost_explorer_client(&emulator.sdk_config(REGION, 1).await);
    let query = CostsQuery {
        keys: vec!["team".into(), "environment".into()],
        period: Period::between("2026-10-01", "2026-11-01").unwrap(),
        granularity: Granularity::Monthly,
        by_account: false,
        forecast: false,
        today: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
    };
    let report = costs::fetch(&ce, &query).await.unwrap();
    assert_eq!(report.calls.total, 2);
    let html = costs::render(&report, Format::Html);
    assert!(!html.contains("src=") && !html.contains("href="), "self-contained");

    let (tagged, untagged) = (rgb(costs::TAGGED_COLOUR), rgb(costs::UNTAGGED_COLOUR));
    let shot = render(&browser, "costs", &html);
    let (mut blue, mut red, mut min_x) = (0f64, 0f64, u32::MAX);
    for (x, p) in shot.pixels() {
        let (b, r) = (near(p, tagged), near(p, untagged));
        blue += f64::from(u8::from(b));
        red += f64::from(u8::from(r));
        if b || r {
            min_x = min_x.min(x);
        }
    }
    // Each key's bars together are one full bar (shares add to 100 %): 75 + 50 % tagged, 25 + 50 % untagged.
    let bar = f64::from(costs::CHART_BAR_WIDTH * costs::CHART_BAR_HEIGHT);
    let tolerance = 0.02 * 2.0 * bar;
    assert!((blue - 1.25 * bar).abs() <= tolerance, "{blue} tagged px, expected {}", 1.25 * bar);
    assert!((red - 0.75 * bar).abs() <= tolerance, "{red} untagged px, expected {}", 0.75 * bar);
    assert!(min_x >= costs::CHART_LABEL_WIDTH, "bars start after the labels, at x {min_x}");
}
