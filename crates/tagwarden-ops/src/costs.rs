//! `tagwarden costs`: SageMaker spend by the policy's required tag keys, from Cost Explorer.
//!
//! What arrives: a [`CostsQuery`] (keys, [`Period`], granularity, by-account, forecast) and Cost Explorer's
//! answers; what leaves: a [`CostsReport`] with each value's cost, share and forecast, rendered as a table,
//! JSON, CSV or one self-contained HTML page ([`render`]).
//!
//! Pure: [`Period`], [`sagemaker_filter`], [`group_by`], [`forecast_filter`], [`fold_key`], [`render`]. The side
//! effects are in [`fetch`]: one `GetCostAndUsage` per key (every page), and with forecasts one
//! `GetCostForecast` per key and value. Every request is billed ([`PRICE_PER_REQUEST_USD`]), so nothing is asked
//! twice and the report counts the calls.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity as CeGranularity, GroupDefinition,
    GroupDefinitionType, MatchOption, Metric, ResultByTime, TagValues,
};
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;
use tagwarden::aws::{AwsError, ResultExt};

use crate::cost::{Money, UNTAGGED};

mod html;
pub use html::{CHART_BAR_HEIGHT, CHART_BAR_WIDTH, CHART_LABEL_WIDTH, TAGGED_COLOUR, UNTAGGED_COLOUR};

/// Cost Explorer's `SERVICE` dimension value of SageMaker.
pub const SAGEMAKER_SERVICE: &str = "Amazon SageMaker";
/// The `GetCostAndUsage` metric reported (the CUR's `line_item_unblended_cost`).
pub const COST_METRIC: &str = "UnblendedCost";
/// What AWS bills per Cost Explorer API request (aws.amazon.com/aws-cost-management/aws-cost-explorer/pricing).
pub const PRICE_PER_REQUEST_USD: f64 = 0.01;

/// `MONTHLY` or `DAILY` buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Granularity {
    /// One bucket per calendar month.
    Monthly,
    /// One bucket per day.
    Daily,
}

impl Granularity {
    fn ce(self) -> CeGranularity {
        match self {
            Self::Monthly => CeGranularity::Monthly,
            Self::Daily => CeGranularity::Daily,
        }
    }
}

/// Bad input or a failed Cost Explorer call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostsError {
    /// A date that is not `YYYY-MM-DD`.
    #[error("{what} {text:?} is not a date (YYYY-MM-DD)")]
    BadDate {
        /// Which option.
        what: &'static str,
        /// What was given.
        text: String,
    },
    /// `--from` not before `--to`, or `--months 0`.
    #[error("empty period: {0}")]
    EmptyPeriod(String),
    /// A group key that is not `tag-key$value`.
    #[error("Cost Explorer answered group key {0:?}, not `<tag key>$<value>`")]
    UnexpectedGroupKey(String),
    /// An amount that is not a decimal.
    #[error("Cost Explorer answered amount {0:?} for {1}, not a decimal")]
    BadAmount(String, String),
    /// Cost Explorer refused for request rate (`LimitExceededException`).
    #[error(
        "Cost Explorer is throttling requests ({operation}: {message}) after {calls} call(s); wait a minute and run \
         again (each request is billed)"
    )]
    Throttled {
        /// The operation refused.
        operation: &'static str,
        /// Calls made before it.
        calls: u32,
        /// Cost Explorer's message.
        message: String,
    },
    /// Any other AWS failure.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl CostsError {
    fn classify(err: AwsError, calls: u32) -> Self {
        match err {
            AwsError::Throttled { operation, message, .. } => Self::Throttled { operation, calls, message },
            AwsError::Rejected { operation, code, message } if code == "LimitExceededException" => {
                Self::Throttled { operation, calls, message }
            }
            other => Self::Aws(other),
        }
    }
}

fn parse_date(what: &'static str, text: &str) -> Result<NaiveDate, CostsError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| CostsError::BadDate { what, text: text.into() })
}

fn iso<S: serde::Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&date.format("%Y-%m-%d"))
}

/// The dates asked about: `[start, end)` as Cost Explorer takes them, and where a forecast ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First day.
    #[serde(serialize_with = "iso")]
    pub start: NaiveDate,
    /// Day after the last (exclusive, as Cost Explorer).
    #[serde(serialize_with = "iso")]
    pub end: NaiveDate,
    /// Where the period ends for a forecast (exclusive): `end`, or the first of next month for `--months`.
    #[serde(serialize_with = "iso")]
    pub forecast_end: NaiveDate,
}

impl Period {
    /// `--from`/`--to` (`YYYY-MM-DD`, `to` exclusive).
    pub fn between(from: &str, to: &str) -> Result<Self, CostsError> {
        let (start, end) = (parse_date("--from", from)?, parse_date("--to", to)?);
        if start >= end {
            return Err(CostsError::EmptyPeriod(format!(
                "--from {start} is not before --to {end} (--to is exclusive)"
            )));
        }
        Ok(Self { start, end, forecast_end: end })
    }

    /// The last `months` calendar months up to `today` included (1: this month so far).
    pub fn months(months: u32, today: NaiveDate) -> Result<Self, CostsError> {
        let first = today.with_day(1).unwrap_or(today);
        let start = months
            .checked_sub(1)
            .and_then(|back| first.checked_sub_months(Months::new(back)))
            .ok_or_else(|| CostsError::EmptyPeriod(format!("--months {months}: give at least 1")))?;
        let end = today.checked_add_days(Days::new(1)).unwrap_or(today);
        let forecast_end = first.checked_add_months(Months::new(1)).unwrap_or(end);
        Ok(Self { start, end, forecast_end })
    }

    /// The forecast's `[start, end)` from `today` on, if any of the period is still ahead.
    pub fn forecast_window(&self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let start = today.max(self.start);
        (start < self.forecast_end).then_some((start, self.forecast_end))
    }
}

fn interval(start: NaiveDate, end: NaiveDate) -> Result<DateInterval, CostsError> {
    DateInterval::builder()
        .start(start.format("%Y-%m-%d").to_string())
        .end(end.format("%Y-%m-%d").to_string())
        .build()
        .map_err(|e| {
            CostsError::Aws(AwsError::Rejected {
                operation: "GetCostAndUsage",
                code: "ConstructionFailure".into(),
                message: e.to_string(),
            })
        })
}

/// `SERVICE = Amazon SageMaker`.
pub fn sagemaker_filter() -> Expression {
    Expression::builder()
        .dimensions(DimensionValues::builder().key(Dimension::Service).values(SAGEMAKER_SERVICE).build())
        .build()
}

/// `GroupBy`: the tag `key`, then with `by_account` the `LINKED_ACCOUNT` dimension (Cost Explorer allows two).
pub fn group_by(key: &str, by_account: bool) -> Vec<GroupDefinition> {
    let mut groups = vec![GroupDefinition::builder().r#type(GroupDefinitionType::Tag).key(key).build()];
    if by_account {
        groups.push(GroupDefinition::builder().r#type(GroupDefinitionType::Dimension).key("LINKED_ACCOUNT").build());
    }
    groups
}

/// The forecast's filter for one value: SageMaker and `key = value`, or `key` absent for [`UNTAGGED`].
pub fn forecast_filter(key: &str, value: &str) -> Expression {
    let tags = if value == UNTAGGED {
        TagValues::builder().key(key).match_options(MatchOption::Absent).build()
    } else {
        TagValues::builder().key(key).values(value).build()
    };
    Expression::builder().and(sagemaker_filter()).and(Expression::builder().tags(tags).build()).build()
}

/// One tag value's spend.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValueCosts {
    /// The value; [`UNTAGGED`] for spend without it (Cost Explorer's `key$`).
    pub value: String,
    /// Whether this is the untagged bucket.
    pub untagged: bool,
    /// Unblended cost over the period.
    pub cost: Money,
    /// Percent of the key's total.
    pub share_percent: f64,
    /// Cost by bucket start date (granularity).
    pub by_period: BTreeMap<String, Money>,
    /// Cost by linked account (`--by-account`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_account: BTreeMap<String, Money>,
    /// Cost Explorer's forecast from today to the period's end (`--forecast`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Money>,
    /// `cost` + `forecast`: the period's projected spend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected: Option<Money>,
    /// Why there is no forecast although one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_note: Option<String>,
}

/// One key's values, the largest cost first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KeyCosts {
    /// The tag key.
    pub key: String,
    /// All SageMaker spend of the period, as grouped by this key.
    pub total: Money,
    /// The values, by cost (descending), then name.
    pub values: Vec<ValueCosts>,
}

/// Cost Explorer requests made (each billed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Calls {
    /// `GetCostAndUsage` requests, pages included.
    pub get_cost_and_usage: u32,
    /// `GetCostForecast` requests.
    pub get_cost_forecast: u32,
    /// Both.
    pub total: u32,
    /// What they cost at [`PRICE_PER_REQUEST_USD`].
    pub cost_usd: f64,
}

impl Calls {
    fn count(&mut self, forecast: bool) {
        if forecast {
            self.get_cost_forecast += 1;
        } else {
            self.get_cost_and_usage += 1;
        }
        self.total += 1;
        self.cost_usd = f64::from(self.total) * PRICE_PER_REQUEST_USD;
    }

    /// The line `tagwarden costs` prints on stderr.
    pub fn summary(&self) -> String {
        format!(
            "Cost Explorer requests: {} ({} GetCostAndUsage, {} GetCostForecast), billed ${:.2}",
            self.total, self.get_cost_and_usage, self.get_cost_forecast, self.cost_usd
        )
    }
}

/// SageMaker spend by each key's values over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostsReport {
    /// The period asked about.
    pub period: Period,
    /// Bucket size.
    pub granularity: Granularity,
    /// Cost Explorer's unit (`USD`).
    pub unit: String,
    /// Some bucket is still an estimate (the month is not closed).
    pub estimated: bool,
    /// Grouped by linked account too.
    pub by_account: bool,
    /// The forecast's `[start, end)`, when forecasts were made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_window: Option<(String, String)>,
    /// One entry per key, in the policy's order.
    pub keys: Vec<KeyCosts>,
    /// Requests made.
    pub calls: Calls,
}

/// What to ask Cost Explorer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostsQuery {
    /// Tag keys (the policy's required keys).
    pub keys: Vec<String>,
    /// The period.
    pub period: Period,
    /// Bucket size.
    pub granularity: Granularity,
    /// Add the `LINKED_ACCOUNT` dimension (organization, from the payer account).
    pub by_account: bool,
    /// Forecast each value to the period's end.
    pub forecast: bool,
    /// Today (UTC): where a forecast starts.
    pub today: NaiveDate,
}

/// Folds the `ResultsByTime` of every page of one key's `GetCostAndUsage` into its values, with shares.
/// Returns the key's costs, the unit seen and whether any bucket is estimated.
pub fn fold_key(key: &str, results: &[ResultByTime]) -> Result<(KeyCosts, Option<String>, bool), CostsError> {
    let mut values: BTreeMap<String, ValueCosts> = BTreeMap::new();
    let (mut unit, mut estimated) = (None, false);
    for result in results {
        estimated |= result.estimated();
        let bucket = result.time_period().map(|t| t.start().to_owned()).unwrap_or_default();
        for group in result.groups() {
            let tag = group.keys().first().map(String::as_str).unwrap_or_default();
            let (_, value) = tag.split_once('$').ok_or_else(|| CostsError::UnexpectedGroupKey(tag.to_owned()))?;
            let metric = group.metrics().and_then(|m| m.get(COST_METRIC));
            let text = metric.and_then(|m| m.amount()).unwrap_or_default();
            let amount = Money::parse(text).ok_or_else(|| CostsError::BadAmount(text.to_owned(), tag.to_owned()))?;
            if unit.is_none() {
                unit = metric.and_then(|m| m.unit()).map(str::to_owned);
            }
            let name = if value.is_empty() { UNTAGGED } else { value };
            let entry = values.entry(name.to_owned()).or_insert_with(|| ValueCosts {
                value: name.to_owned(),
                untagged: value.is_empty(),
                ..ValueCosts::default()
            });
            entry.cost += amount;
            *entry.by_period.entry(bucket.clone()).or_default() += amount;
            if let Some(account) = group.keys().get(1) {
                *entry.by_account.entry(account.clone()).or_default() += amount;
            }
        }
    }
    let mut total = Money::default();
    for v in values.values() {
        total += v.cost;
    }
    let mut values: Vec<ValueCosts> = values.into_values().collect();
    for v in &mut values {
        v.share_percent = share(v.cost, total);
    }
    values.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.value.cmp(&b.value)));
    Ok((KeyCosts { key: key.to_owned(), total, values }, unit, estimated))
}

/// `part` as a percent of `total` (0 for a zero total).
pub fn share(part: Money, total: Money) -> f64 {
    if total.units() == 0 { 0.0 } else { part.units() as f64 * 100.0 / total.units() as f64 }
}

/// Asks Cost Explorer: one `GetCostAndUsage` per key (all pages, one after the other), then with
/// `query.forecast` one `GetCostForecast` per value still ahead of today.
pub async fn fetch(ce: &aws_sdk_costexplorer::Client, query: &CostsQuery) -> Result<CostsReport, CostsError> {
    let mut calls = Calls::default();
    let mut report = CostsReport {
        period: query.period,
        granularity: query.granularity,
        unit: "USD".into(),
        estimated: false,
        by_account: query.by_account,
        forecast_window: None,
        keys: Vec::with_capacity(query.keys.len()),
        calls,
    };
    let period = interval(query.period.start, query.period.end)?;
    for key in &query.keys {
        let mut results = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = ce
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(query.granularity.ce())
                .metrics(COST_METRIC)
                .filter(sagemaker_filter())
                .set_group_by(Some(group_by(key, query.by_account)))
                .set_next_page_token(token.take())
                .send()
                .await
                .aws("GetCostAndUsage")
                .map_err(|e| CostsError::classify(e, calls.total));
            calls.count(false);
            let page = page?;
            results.extend(page.results_by_time().iter().cloned());
            match page.next_page_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        let (costs, unit, estimated) = fold_key(key, &results)?;
        report.unit = unit.unwrap_or(report.unit);
        report.estimated |= estimated;
        report.keys.push(costs);
    }
    if query.forecast {
        let window = query.period.forecast_window(query.today);
        report.forecast_window = window.map(|(s, e)| (s.to_string(), e.to_string()));
        for costs in &mut report.keys {
            for value in &mut costs.values {
                let Some((start, end)) = window else {
                    value.forecast_note = Some("the period is over: nothing to forecast".into());
                    continue;
                };
                let answer = ce
                    .get_cost_forecast()
                    .time_period(interval(start, end)?)
                    .metric(Metric::UnblendedCost)
                    .granularity(query.granularity.ce())
                    .filter(forecast_filter(&costs.key, &value.value))
                    .send()
                    .await
                    .aws("GetCostForecast");
                calls.count(true);
                match answer {
                    Ok(answer) => {
                        let text = answer.total().and_then(|t| t.amount()).unwrap_or_default();
                        let amount = Money::parse(text)
                            .ok_or_else(|| CostsError::BadAmount(text.to_owned(), value.value.clone()))?;
                        value.forecast = Some(amount);
                        let mut projected = value.cost;
                        projected += amount;
                        value.projected = Some(projected);
                    }
                    // NOTE: too little history for this value is an answer about the value, not a failure.
                    Err(AwsError::Rejected { code, message, .. }) if code == "DataUnavailableException" => {
                        value.forecast_note = Some(format!("no forecast: {message}"));
                    }
                    Err(e) => return Err(CostsError::classify(e, calls.total - 1)),
                }
            }
        }
    }
    report.calls = calls;
    Ok(report)
}

/// Output format: the audit's four (a CSV row per key, value and account; an SVG bar chart per key).
pub use crate::audit::Format;

/// The report in `format`.
pub fn render(report: &CostsReport, format: Format) -> String {
    match format {
        Format::Table => table(report),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Csv => csv(report),
        Format::Html => html::page(report),
    }
}

fn money_or_dash(m: Option<Money>) -> String {
    m.map_or_else(|| "-".to_owned(), |m| m.to_string())
}

fn table(report: &CostsReport) -> String {
    let p = &report.period;
    let mut out = format!(
        "SageMaker spend {} .. {} (end exclusive, {:?}, unblended, {}){}\n",
        p.start,
        p.end,
        report.granularity,
        report.unit,
        if report.estimated { " -- estimated, the period is not closed" } else { "" }
    );
    if let Some((start, end)) = &report.forecast_window {
        let _ = writeln!(out, "forecast: {start} .. {end}");
    }
    for key in &report.keys {
        let _ = writeln!(out, "\nby {} (total {}):", key.key, key.total);
        let width = key.values.iter().map(|v| v.value.chars().count()).max().unwrap_or(0).max(5);
        let cost_width = key.values.iter().map(|v| v.cost.to_string().len()).max().unwrap_or(0);
        for v in &key.values {
            let _ =
                write!(out, "  {:<width$}  {:>cost_width$}  {:>6.2} %", v.value, v.cost.to_string(), v.share_percent);
            if report.forecast_window.is_some() || v.forecast_note.is_some() {
                let _ = write!(
                    out,
                    "  forecast {:>12}  projected {:>14}",
                    money_or_dash(v.forecast),
                    money_or_dash(v.projected)
                );
            }
            out.push('\n');
            for (account, cost) in &v.by_account {
                let _ = writeln!(out, "  {:<width$}    account {account}  {:>cost_width$}", "", cost.to_string());
            }
            if let Some(note) = &v.forecast_note {
                let _ = writeln!(out, "  {:<width$}    {note}", "");
            }
        }
    }
    out
}

fn csv(report: &CostsReport) -> String {
    use crate::csv_cell::cell;
    let mut out = String::from("key,tag_value,account,unblended_cost,share_percent,forecast,projected\n");
    for key in &report.keys {
        for v in &key.values {
            let opt = |m: Option<Money>| m.map(|m| m.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "{},{},,{},{:.4},{},{}",
                cell(&key.key),
                cell(&v.value),
                v.cost,
                v.share_percent,
                opt(v.forecast),
                opt(v.projected)
            );
            for (account, cost) in &v.by_account {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{:.4},,",
                    cell(&key.key),
                    cell(&v.value),
                    cell(account),
                    cost,
                    share(*cost, key.total)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
