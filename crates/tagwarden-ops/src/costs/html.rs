//! The HTML page of `tagwarden costs --format html`: one self-contained document (inline CSS and SVG, no
//! external asset), a bar chart per key whose bars are each value's share of the key's total.

use std::fmt::Write as _;

use super::{CostsReport, KeyCosts};

/// Width of the label column, in CSS pixels.
pub const CHART_LABEL_WIDTH: u32 = 220;
/// Width of a 100 % bar, in CSS pixels.
pub const CHART_BAR_WIDTH: u32 = 600;
/// Height of one bar, in CSS pixels.
pub const CHART_BAR_HEIGHT: u32 = 20;
/// Bar colour of a tag value.
pub const TAGGED_COLOUR: &str = "#2f6fbf";
/// Bar colour of the untagged bucket.
pub const UNTAGGED_COLOUR: &str = "#d1242f";
const CHART_ROW: u32 = 28;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn chart(key: &KeyCosts) -> String {
    let height = CHART_ROW * key.values.len() as u32 + 8;
    let width = CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 160;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="SageMaker spend by {}" shape-rendering="crispEdges">"#,
        escape(&key.key)
    );
    for (i, v) in key.values.iter().enumerate() {
        let y = CHART_ROW * i as u32 + 4;
        // NOTE: a negative share (credits larger than usage) draws no bar; its figure is still printed.
        let bar = (v.share_percent.clamp(0.0, 100.0) / 100.0 * f64::from(CHART_BAR_WIDTH)).round() as u32;
        let colour = if v.untagged { UNTAGGED_COLOUR } else { TAGGED_COLOUR };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text><rect x="{CHART_LABEL_WIDTH}" y="{y}" width="{bar}" height="{CHART_BAR_HEIGHT}" fill="{colour}"/><text x="{}" y="{}" class="value">{} ({:.1} %)</text>"#,
            CHART_LABEL_WIDTH - 8,
            y + 15,
            escape(&v.value),
            CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 8,
            y + 15,
            v.cost,
            v.share_percent,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn rows(key: &KeyCosts, forecast: bool) -> String {
    let mut rows = String::new();
    for v in &key.values {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2} %</td>",
            escape(&v.value),
            v.cost,
            v.share_percent
        );
        if forecast {
            let cell = |m: Option<crate::cost::Money>| m.map(|m| m.to_string()).unwrap_or_else(|| "-".into());
            let _ = write!(
                rows,
                "<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td>",
                cell(v.forecast),
                cell(v.projected),
                escape(v.forecast_note.as_deref().unwrap_or(""))
            );
        }
        let accounts: Vec<String> = v.by_account.iter().map(|(a, c)| format!("{}: {c}", escape(a))).collect();
        let _ = writeln!(rows, "<td>{}</td></tr>", accounts.join("<br>"));
    }
    rows
}

/// The whole page.
pub fn page(report: &CostsReport) -> String {
    let forecast = report.forecast_window.is_some();
    let mut sections = String::new();
    for key in &report.keys {
        let forecast_headers = if forecast { "<th>forecast</th><th>projected</th><th>note</th>" } else { "" };
        let _ = write!(
            sections,
            "<h2>By {} <span class=\"total\">total {} {}</span></h2>\n{}\n<table>\n<tr><th>value</th><th>cost</th><th>share</th>{forecast_headers}<th>accounts</th></tr>\n{}</table>\n",
            escape(&key.key),
            key.total,
            escape(&report.unit),
            chart(key),
            rows(key, forecast)
        );
    }
    let p = &report.period;
    let window = report
        .forecast_window
        .as_ref()
        .map(|(s, e)| format!(" Forecast from {} to {} (exclusive).", escape(s), escape(e)))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tagwarden: SageMaker spend by tag</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1f2328; background: #ffffff; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }}
h2 {{ font-size: 17px; margin: 28px 0 8px; }}
h2 .total {{ font-weight: normal; color: #444c56; font-size: 14px; }}
p.summary {{ margin: 0 0 16px; color: #444c56; }}
svg .label {{ font-size: 13px; fill: #1f2328; }}
svg .value {{ font-size: 12px; fill: #444c56; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
th {{ background: #f6f8fa; }}
</style>
</head>
<body>
<h1>SageMaker spend by tag</h1>
<p class="summary">{start} to {end} (exclusive), {granularity:?}, unblended cost in {unit}{estimated}.{window} Cost Explorer requests: {calls}.</p>
{sections}</body>
</html>
"#,
        start = p.start,
        end = p.end,
        granularity = report.granularity,
        unit = escape(&report.unit),
        estimated = if report.estimated { ", estimated (the period is not closed)" } else { "" },
        calls = report.calls.total,
    )
}
