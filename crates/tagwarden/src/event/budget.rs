//! What the budget-enforcer receives: an AWS Budgets alert delivered by SNS, or a `restore` command.
//!
//! In: the SNS Lambda event (`{"Records":[{"EventSource":"aws:sns","Sns":{"Subject","Message","TopicArn"}}]}`)
//! whose `Message` is plain text — a prose paragraph, then `Key: Value` lines — or the JSON command
//! `{"tagwarden": "restore", "budget": "ml-marketing"}` (no `budget` = all budgets).
//! Out: a [`BudgetEvent`], or an [`AlertError`] saying exactly what was wrong. Pure, no I/O.
//!
//! The `Key: Value` lines decide everything except the period, which only the prose states. Amounts are
//! read strictly (`$1,234.56`, `1234.5 USD`, `EUR 100`, `720 Hrs`): a number that another locale would
//! read differently (`1.234,56`) is refused rather than guessed.

use serde::Serialize;
use serde_json::{Map, Value};

/// ACTUAL or FORECASTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertType {
    /// Spend or usage that has happened.
    Actual,
    /// Spend or usage AWS expects by the end of the period.
    Forecasted,
}

impl AlertType {
    /// The word AWS writes: `ACTUAL` or `FORECASTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Actual => "ACTUAL",
            AlertType::Forecasted => "FORECASTED",
        }
    }

    /// The line that carries the amount for this alert type.
    fn amount_line(self) -> &'static str {
        match self {
            AlertType::Actual => ACTUAL_AMOUNT,
            AlertType::Forecasted => FORECASTED_AMOUNT,
        }
    }
}

/// The budget's period, from the prose ("for the current month", "per day", quarter, year); `Unknown` if absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    /// "per day. Yesterday, the ACTUAL Cost …"
    Daily,
    /// "for the current month"
    Monthly,
    /// "for the current quarter"
    Quarterly,
    /// "for the current year"
    Annually,
    /// The prose names no period.
    Unknown,
}

/// Whether a threshold is an amount or a percentage of the budgeted amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdKind {
    /// `> $80.00`
    Absolute,
    /// `> 80%` of the budgeted amount.
    Percentage,
}

/// The alert threshold: `> $80.00` (absolute) or `> 80%` / `> 80.00%` (percentage of the budgeted amount).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    /// The amount, or the percentage (80.0 for `80%`).
    pub value: f64,
    /// How to read `value`.
    pub kind: ThresholdKind,
}

/// One parsed AWS Budgets alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetAlert {
    /// `Budget Name:`; may contain spaces and colons.
    pub budget_name: String,
    /// `Budget Type:` (Cost, Usage, RI Utilization, Savings Plans Coverage, …); empty when the line is absent.
    pub budget_type: String,
    /// The `AWS Account 123456789012` line, else the account of the SNS topic.
    pub account_id: Option<String>,
    /// `Alert Type:`.
    pub alert_type: AlertType,
    /// `Budgeted Amount:`, always positive.
    pub budgeted_amount: f64,
    /// `Alert Threshold:`.
    // NOTE: optional because nothing the enforcer decides depends on it; a garbled one is still an error.
    pub threshold: Option<Threshold>,
    /// The `ACTUAL Amount:` or `FORECASTED Amount:` line, whichever the alert type names.
    pub amount: f64,
    /// `USD` for `$`, a currency code when one is written, a usage unit (`GB`, `Hrs`), or empty.
    pub unit: String,
    /// From the prose.
    pub period: BudgetPeriod,
    /// `amount / budgeted_amount * 100`, rounded to 2 decimals.
    pub percent_of_budget: f64,
    /// The SNS topic the alert came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
}

/// What the budget-enforcer was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum BudgetEvent {
    /// A budget crossed a threshold.
    Alert(BudgetAlert),
    /// Undo the guardrails of one budget, or of all budgets when `budget` is `None`.
    Restore {
        /// The budget name.
        budget: Option<String>,
    },
}

/// Why an input is not something the budget-enforcer can act on (never retryable).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlertError {
    /// Neither an SNS event nor a command.
    #[error("not an SNS event: {0}")]
    NotSns(String),
    /// SNS delivers one record per invocation; anything else is not from SNS.
    #[error("expected one SNS record, got {0}")]
    RecordCount(usize),
    /// The SNS message is not the text of an AWS Budgets alert.
    #[error("not an AWS Budgets alert: {reason} ({})", subject_note(.subject.as_deref()))]
    NotAnAlert {
        /// What is missing or wrong.
        reason: String,
        /// The SNS subject, which usually says what the message is.
        subject: Option<String>,
    },
    /// A required line is absent.
    #[error("missing '{0}:' line")]
    MissingLine(&'static str),
    /// A required line is present but empty.
    #[error("{0}: the value is empty")]
    EmptyValue(&'static str),
    /// The same line twice, with different values.
    #[error("'{line}:' appears twice with different values ('{first}' and '{second}')")]
    ConflictingLines {
        /// The line's key.
        line: &'static str,
        /// The first value.
        first: String,
        /// The other value.
        second: String,
    },
    /// `Alert Type:` is neither ACTUAL nor FORECASTED.
    #[error("Alert Type: expected ACTUAL or FORECASTED, got '{0}'")]
    BadAlertType(String),
    /// Not a number in the `1,234.56` format.
    #[error("{line}: cannot read '{text}' as an amount")]
    BadAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// A number another locale would read differently, e.g. `1.234,56`.
    #[error("{line}: '{text}' does not use ',' for thousands and '.' for decimals; refusing to guess")]
    AmbiguousAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// A negative amount.
    #[error("{line}: amount must not be negative, got '{text}'")]
    NegativeAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// An amount over 1e12.
    #[error("{line}: '{text}' is implausibly large (over 1e12)")]
    ImplausibleAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// `Budgeted Amount:` is zero.
    #[error("budgeted amount must be positive, got {0}")]
    NonPositiveBudget(f64),
    /// `Budgeted Amount:` under 0.0001, where the percentage of budget would be meaningless.
    #[error("Budgeted Amount: '{0}' is too small to compare against (under 0.0001)")]
    TinyBudget(String),
    /// The amount's unit is not the budget's (`$100` budgeted, `100 EUR` spent).
    #[error("{line}: unit '{unit}' differs from the budgeted amount's '{budgeted}'")]
    UnitMismatch {
        /// The line's key.
        line: &'static str,
        /// The amount's unit.
        unit: String,
        /// The budgeted amount's unit.
        budgeted: String,
    },
    /// A `less than` or `equal to` threshold (utilization and coverage budgets); the enforcer acts on overspend only.
    #[error("Alert Threshold: only 'greater than' thresholds are supported, got '{0}'")]
    UnsupportedThreshold(String),
    /// `tagwarden` names a command other than `restore`.
    #[error("unknown command '{0}' (expected 'restore')")]
    UnknownCommand(String),
    /// The `restore` command is malformed.
    #[error("invalid restore command: {0}")]
    BadCommand(String),
}

/// Parses a Lambda event: SNS budget alert or a `{"tagwarden": "restore"}` command.
pub fn parse_budget_event(event: &Value) -> Result<BudgetEvent, AlertError> {
    let Some(object) = event.as_object() else {
        return Err(AlertError::NotSns(format!("expected a JSON object, got {}", json_kind(event))));
    };
    if let Some(command) = object.get("tagwarden") {
        return parse_command(command, object.get("budget"));
    }
    let records = match object.get("Records") {
        Some(Value::Array(records)) => records,
        Some(other) => {
            return Err(AlertError::NotSns(format!("'Records' is {}, not an array", json_kind(other))));
        }
        None => {
            return Err(AlertError::NotSns(format!("no 'Records' array ({})", keys_note(object))));
        }
    };
    let [record] = records.as_slice() else {
        return Err(AlertError::RecordCount(records.len()));
    };
    // NOTE: SNS spells it `EventSource`; SQS, S3 and DynamoDB streams spell it `eventSource`.
    let source = ["EventSource", "eventSource"].iter().find_map(|key| record.get(key).and_then(Value::as_str));
    if let Some(source) = source.filter(|s| *s != "aws:sns") {
        return Err(AlertError::NotSns(format!("the record comes from '{}'", clip(source))));
    }
    let Some(sns) = record.get("Sns").and_then(Value::as_object) else {
        return Err(AlertError::NotSns("the record has no 'Sns' object".into()));
    };
    let Some(message) = sns.get("Message").and_then(Value::as_str) else {
        return Err(AlertError::NotSns("'Sns' has no 'Message' string".into()));
    };
    let subject = sns.get("Subject").and_then(Value::as_str);
    let topic_arn = sns.get("TopicArn").and_then(Value::as_str);

    let mut alert = parse_alert_message(subject, message)?;
    if alert.account_id.is_none() {
        alert.account_id = topic_arn.and_then(arn_account).map(String::from);
    }
    alert.topic_arn = topic_arn.map(String::from);
    Ok(BudgetEvent::Alert(alert))
}

/// Parses the text of one alert (Subject may be absent).
pub fn parse_alert_message(subject: Option<&str>, message: &str) -> Result<BudgetAlert, AlertError> {
    let not_an_alert = |reason: String| AlertError::NotAnAlert { reason, subject: subject.map(clip) };
    let text = message.trim();
    if text.is_empty() {
        return Err(not_an_alert("the message is empty".into()));
    }
    if let Ok(json) = serde_json::from_str::<Value>(text) {
        let keys = json.as_object().map(|o| format!(" ({})", keys_note(o)));
        return Err(not_an_alert(format!(
            "the message is JSON{}, not the plain-text AWS Budgets format",
            keys.unwrap_or_default()
        )));
    }

    let mut lines = Lines::default();
    let mut prose = Vec::new();
    for line in text.split(['\n', '\r']).map(str::trim) {
        match line.split_once(':').and_then(|(k, v)| Some((known_key(k)?, v.trim()))) {
            Some((key, value)) => lines.insert(key, value)?,
            None => match header_account(line) {
                Some(account) => lines.insert(AWS_ACCOUNT, account)?,
                None => prose.push(line),
            },
        }
    }

    let budget_name = match lines.get(BUDGET_NAME) {
        None => return Err(not_an_alert(format!("no '{BUDGET_NAME}:' line"))),
        Some("") => return Err(AlertError::EmptyValue(BUDGET_NAME)),
        Some(name) if name.chars().count() > MAX_BUDGET_NAME => {
            let chars = name.chars().count();
            return Err(not_an_alert(format!(
                "'{BUDGET_NAME}:' is {chars} characters; AWS budget names have at most {MAX_BUDGET_NAME}"
            )));
        }
        Some(name) => name,
    };
    let budgeted_text = lines.require(BUDGETED_AMOUNT)?;
    let (budgeted_amount, unit) = parse_amount(BUDGETED_AMOUNT, budgeted_text)?;
    if budgeted_amount <= 0.0 {
        return Err(AlertError::NonPositiveBudget(budgeted_amount));
    }
    if budgeted_amount < MIN_BUDGET {
        return Err(AlertError::TinyBudget(clip(budgeted_text)));
    }
    let alert_type = match lines.require(ALERT_TYPE)?.to_ascii_uppercase().as_str() {
        "ACTUAL" => AlertType::Actual,
        "FORECASTED" => AlertType::Forecasted,
        _ => return Err(AlertError::BadAlertType(clip(lines.require(ALERT_TYPE)?))),
    };
    let amount_line = alert_type.amount_line();
    let (amount, amount_unit) = parse_amount(amount_line, lines.require(amount_line)?)?;
    let unit = match (unit, amount_unit) {
        (budgeted, spent) if spent.is_empty() || spent == budgeted => budgeted,
        (budgeted, spent) if budgeted.is_empty() => spent,
        (budgeted, spent) => {
            return Err(AlertError::UnitMismatch { line: amount_line, unit: spent, budgeted });
        }
    };
    let account_id = match lines.get(AWS_ACCOUNT) {
        Some(id) if is_account_id(id) => Some(id.to_string()),
        _ => None,
    };

    Ok(BudgetAlert {
        budget_name: budget_name.to_string(),
        budget_type: lines.get(BUDGET_TYPE).unwrap_or_default().to_string(),
        account_id,
        alert_type,
        budgeted_amount,
        threshold: lines.get(ALERT_THRESHOLD).map(parse_threshold).transpose()?,
        amount,
        unit,
        period: period_from_prose(&prose.join(" "), budget_name),
        percent_of_budget: (amount / budgeted_amount * 100.0 * 100.0).round() / 100.0,
        topic_arn: None,
    })
}

const BUDGET_NAME: &str = "Budget Name";
const BUDGET_TYPE: &str = "Budget Type";
const BUDGETED_AMOUNT: &str = "Budgeted Amount";
const ALERT_TYPE: &str = "Alert Type";
const ALERT_THRESHOLD: &str = "Alert Threshold";
const ACTUAL_AMOUNT: &str = "ACTUAL Amount";
const FORECASTED_AMOUNT: &str = "FORECASTED Amount";
const AWS_ACCOUNT: &str = "AWS Account";
const KEYS: [&str; 8] = [
    BUDGET_NAME,
    BUDGET_TYPE,
    BUDGETED_AMOUNT,
    ALERT_TYPE,
    ALERT_THRESHOLD,
    ACTUAL_AMOUNT,
    FORECASTED_AMOUNT,
    AWS_ACCOUNT,
];
/// Anything larger is a misread, not a bill.
const MAX_AMOUNT: f64 = 1e12;
/// The Budgets API's limit on `BudgetName`.
const MAX_BUDGET_NAME: usize = 100;
/// Below this, amount / budget stops being a meaningful (or finite) percentage.
const MIN_BUDGET: f64 = 1e-4;

/// The known `Key: Value` lines of one message.
#[derive(Default)]
struct Lines<'a>(Vec<(&'static str, &'a str)>);

impl<'a> Lines<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn require(&self, key: &'static str) -> Result<&'a str, AlertError> {
        self.get(key).ok_or(AlertError::MissingLine(key))
    }

    fn insert(&mut self, key: &'static str, value: &'a str) -> Result<(), AlertError> {
        match self.get(key) {
            Some(first) if first != value => {
                Err(AlertError::ConflictingLines { line: key, first: clip(first), second: clip(value) })
            }
            Some(_) => Ok(()),
            None => {
                self.0.push((key, value));
                Ok(())
            }
        }
    }
}

/// `Budget Name`, `budget name`, `Budget  Name ` and `BudgetName` are all [`BUDGET_NAME`].
fn known_key(raw: &str) -> Option<&'static str> {
    let squash =
        |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect() };
    let plausible = raw.len() <= 40 && raw.chars().all(|c| c.is_alphabetic() || c.is_whitespace());
    let key = squash(raw);
    (plausible && !key.is_empty()).then(|| KEYS.into_iter().find(|k| squash(k) == key)).flatten()
}

/// The header line `AWS Account 123456789012` (no colon).
fn header_account(line: &str) -> Option<&str> {
    let head = line.get(..11)?;
    let id = line.get(11..)?.trim();
    (head.eq_ignore_ascii_case("AWS Account") && is_account_id(id)).then_some(id)
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account field of an ARN (`arn:aws:sns:us-east-1:123456789012:topic`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|id| is_account_id(id))
}

/// Reads `$1,234.56`, `-$5`, `1234.5 USD`, `EUR 100`, `€100`, `720 Hrs`, `80%` into (value, unit).
fn parse_amount(line: &'static str, raw: &str) -> Result<(f64, String), AlertError> {
    let text = clip(raw.trim());
    let bad = || AlertError::BadAmount { line, text: text.clone() };
    let mut rest = raw.trim();
    let mut negative = false;
    let mut strip_sign = |rest: &mut &str| {
        if let Some(r) = rest.strip_prefix(['-', '−']) {
            negative = true;
            *rest = r.trim_start();
        }
    };
    strip_sign(&mut rest);
    let mut unit = None;
    for (symbol, code) in [("US$", "USD"), ("$", "USD"), ("€", "EUR"), ("£", "GBP")] {
        if let Some(r) = rest.strip_prefix(symbol) {
            (unit, rest) = (Some(code.to_string()), r.trim_start());
            break;
        }
    }
    if unit.is_none() {
        let code = rest.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_uppercase()));
        if let (Some(code), Some(r)) = (code, rest.get(3..)) {
            (unit, rest) = (Some(code.to_string()), r.trim_start());
        }
    }
    strip_sign(&mut rest);

    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    let suffix = suffix.trim();
    let value = match read_number(number) {
        Ok(value) => value,
        Err(NumberError::Unreadable) => return Err(bad()),
        Err(NumberError::Ambiguous) => return Err(AlertError::AmbiguousAmount { line, text }),
    };
    let unit = match (unit, suffix) {
        (unit, "") => unit.unwrap_or_default(),
        (Some(unit), suffix) if suffix.eq_ignore_ascii_case(&unit) => unit,
        (None, suffix) if is_unit(suffix) => suffix.to_string(),
        _ => return Err(bad()),
    };
    if negative {
        return Err(AlertError::NegativeAmount { line, text });
    }
    if !value.is_finite() || value > MAX_AMOUNT {
        return Err(AlertError::ImplausibleAmount { line, text });
    }
    Ok((value, unit))
}

enum NumberError {
    Unreadable,
    Ambiguous,
}

/// Digits with optional `,` thousands groups and an optional `.` fraction; nothing else.
fn read_number(s: &str) -> Result<f64, NumberError> {
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(NumberError::Unreadable);
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    if frac.contains([',', '.']) {
        return Err(NumberError::Ambiguous);
    }
    if frac.is_empty() {
        return Err(NumberError::Unreadable);
    }
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or_default();
    if int.contains(',') && !((1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)) {
        return Err(NumberError::Ambiguous);
    }
    s.replace(',', "").parse().map_err(|_| NumberError::Unreadable)
}

/// A usage unit (`GB`, `Hrs`, `GB-Mo`, `Requests`) or `%`; never an exponent (`8.1e2` is not 8.1 of unit `e2`).
fn is_unit(s: &str) -> bool {
    let exponent = s
        .strip_prefix(['e', 'E'])
        .map(|r| r.trim_start_matches(['+', '-']))
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    s == "%"
        || (!exponent
            && s.len() <= 32
            && s.starts_with(char::is_alphabetic)
            && s.chars().all(|c| c.is_alphanumeric() || " -/._".contains(c)))
}

/// `> $800.00`, `>= 80%`, `> 80.00 %`.
fn parse_threshold(raw: &str) -> Result<Threshold, AlertError> {
    let text = raw.trim();
    if text.starts_with(['<', '=', '≤']) {
        return Err(AlertError::UnsupportedThreshold(clip(text)));
    }
    let rest = [">=", "≥", ">"].iter().find_map(|op| text.strip_prefix(op)).unwrap_or(text).trim();
    match rest.strip_suffix('%') {
        Some(percent) => match parse_amount(ALERT_THRESHOLD, percent)? {
            (value, unit) if unit.is_empty() => Ok(Threshold { value, kind: ThresholdKind::Percentage }),
            _ => Err(AlertError::BadAmount { line: ALERT_THRESHOLD, text: clip(text) }),
        },
        None => Ok(Threshold { value: parse_amount(ALERT_THRESHOLD, rest)?.0, kind: ThresholdKind::Absolute }),
    }
}

/// The earliest period phrase in the prose; the budget name is blanked first so `Costs per day` cannot decide.
fn period_from_prose(prose: &str, budget_name: &str) -> BudgetPeriod {
    use BudgetPeriod::*;
    const PHRASES: [(&str, BudgetPeriod); 9] = [
        ("per day", Daily),
        ("for the current day", Daily),
        ("yesterday", Daily),
        ("for the current month", Monthly),
        ("per month", Monthly),
        ("for the current quarter", Quarterly),
        ("per quarter", Quarterly),
        ("for the current year", Annually),
        ("per year", Annually),
    ];
    let prose = prose.replace(budget_name, " ");
    let prose = prose.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    PHRASES
        .iter()
        .filter_map(|(phrase, period)| prose.find(phrase).map(|at| (at, *period)))
        .min_by_key(|(at, _)| *at)
        .map_or(Unknown, |(_, period)| period)
}

fn parse_command(command: &Value, budget: Option<&Value>) -> Result<BudgetEvent, AlertError> {
    match command {
        Value::String(c) if c.trim().eq_ignore_ascii_case("restore") => {}
        Value::String(c) => return Err(AlertError::UnknownCommand(clip(c))),
        other => return Err(AlertError::UnknownCommand(clip(&other.to_string()))),
    }
    let budget = match budget {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if name.trim().is_empty() => {
            return Err(AlertError::BadCommand("'budget' is empty; leave it out to restore all budgets".into()));
        }
        Some(Value::String(name)) => Some(name.trim().to_string()),
        Some(other) => {
            return Err(AlertError::BadCommand(format!("'budget' must be a string, got {}", json_kind(other))));
        }
    };
    Ok(BudgetEvent::Restore { budget })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn keys_note(object: &Map<String, Value>) -> String {
    let mut keys: Vec<String> = object.keys().take(6).map(|k| clip(k)).collect();
    if object.len() > keys.len() {
        keys.push("…".into());
    }
    if keys.is_empty() { "no keys".into() } else { format!("keys: {}", keys.join(", ")) }
}

fn subject_note(subject: Option<&str>) -> String {
    subject.map_or("no subject".into(), |s| format!("subject: '{s}'"))
}

/// Keeps outside text in error messages to a readable length.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";

    /// An alert in AWS's layout: header, prose, then the given `Key: Value` lines and the dashboard link.
    fn message(prose: &str, lines: &[&str]) -> String {
        format!(
            "AWS Budget Notification November 27, 2026\nAWS Account 123456789012\n\nDear AWS Customer,\n\n{prose}\n\n{}\n\n[1] https://console.aws.amazon.com/billing/home#/budgets\n",
            lines.join("\n")
        )
    }

    fn monthly(lines: &[&str]) -> String {
        message(
            "You requested that we alert you when the ACTUAL Cost associated with your ml-marketing budget is greater than $800.00 for the current month. The ACTUAL Cost associated with this budget is $812.40.",
            lines,
        )
    }

    const ML_MARKETING: [&str; 6] = [
        "Budget Name: ml-marketing",
        "Budget Type: Cost",
        "Budgeted Amount: $1,000.00",
        "Alert Type: ACTUAL",
        "Alert Threshold: > $800.00",
        "ACTUAL Amount: $812.40",
    ];

    fn with(replace: (&str, &str)) -> String {
        let lines: Vec<&str> = ML_MARKETING
            .iter()
            .map(|l| if l.starts_with(replace.0) { replace.1 } else { *l })
            .filter(|l| !l.is_empty())
            .collect();
        monthly(&lines)
    }

    fn error(text: &str) -> String {
        parse_alert_message(Some("AWS Budgets: ml-marketing has exceeded your alert threshold"), text)
            .unwrap_err()
            .to_string()
    }

    fn sns(subject: Option<&str>, message: &str) -> Value {
        json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
            "Sns": {"Type": "Notification", "TopicArn": TOPIC, "Subject": subject, "Message": message}}]})
    }

    #[test]
    fn actual_monthly_alert_with_absolute_threshold_is_parsed() {
        let alert = parse_alert_message(None, &monthly(&ML_MARKETING)).unwrap();
        assert_eq!(
            alert,
            BudgetAlert {
                budget_name: "ml-marketing".into(),
                budget_type: "Cost".into(),
                account_id: Some("123456789012".into()),
                alert_type: AlertType::Actual,
                budgeted_amount: 1000.0,
                threshold: Some(Threshold { value: 800.0, kind: ThresholdKind::Absolute }),
                amount: 812.4,
                unit: "USD".into(),
                period: BudgetPeriod::Monthly,
                percent_of_budget: 81.24,
                topic_arn: None,
            }
        );
    }

    #[test]
    fn forecasted_alert_reads_the_forecasted_amount_line_with_one_decimal() {
        let text = message(
            "You requested that we alert you when the FORECASTED Cost associated with your ml-marketing budget is greater than $1,000.00 for the current month. The FORECASTED Cost associated with this budget is $1,100.0.",
            &[
                "Budget Name: ml-marketing",
                "Budgeted Amount: $1,000.00",
                "Alert Type: FORECASTED",
                "Alert Threshold: > $1,000.00",
                "ACTUAL Amount: $3.00",
                "FORECASTED Amount: $1,100.0",
            ],
        );
        let alert = parse_alert_message(None, &text).unwrap();
        assert_eq!(alert.alert_type, AlertType::Forecasted);
        assert_eq!((alert.amount, alert.percent_of_budget), (1100.0, 110.0));
    }

    #[test]
    fn daily_alert_with_percentage_threshold_and_spaces_in_the_name_is_parsed() {
        let text = message(
            "You requested that we alert you when the ACTUAL Cost associated with your ML Research Daily budget is greater than $50.00 per day. Yesterday, the ACTUAL Cost associated with this budget was $61.50.",
            &[
                "Budget Name: ML Research Daily",
                "Budget Type: Cost",
                "Budgeted Amount: $50.00",
                "Alert Type: ACTUAL",
                "Alert Threshold: > 100.00%",
                "ACTUAL Amount: $61.5",
            ],
        );
        let alert = parse_alert_message(None, &text).unwrap();
        assert_eq!(alert.budget_name, "ML Research Daily");
        assert_eq!(alert.period, BudgetPeriod::Daily);
        assert_eq!(alert.threshold, Some(Threshold { value: 100.0, kind: ThresholdKind::Percentage }));
        assert_eq!(alert.percent_of_budget, 123.0);
    }

    #[test]
    fn quarterly_and_annual_periods_are_read_from_the_prose_and_absent_ones_are_unknown() {
        for (phrase, period) in [
            ("for the current quarter", BudgetPeriod::Quarterly),
            ("for the current year", BudgetPeriod::Annually),
            ("for the current month", BudgetPeriod::Monthly),
            ("whenever", BudgetPeriod::Unknown),
        ] {
            let prose = format!("Your ml-marketing budget is greater than $800.00 {phrase}.");
            let alert = parse_alert_message(None, &message(&prose, &ML_MARKETING)).unwrap();
            assert_eq!(alert.period, period, "{phrase}");
        }
    }

    #[test]
    fn period_words_inside_the_budget_name_do_not_decide_the_period() {
        let text = message(
            "Your Costs per day budget is greater than $800.00 for the current month.",
            &["Budget Name: Costs per day", "Budgeted Amount: $1,000", "Alert Type: ACTUAL", "ACTUAL Amount: $900"],
        );
        assert_eq!(parse_alert_message(None, &text).unwrap().period, BudgetPeriod::Monthly);
    }

    #[test]
    fn budget_name_with_colons_keeps_everything_after_the_first_colon() {
        let alert = parse_alert_message(None, &with(("Budget Name", "Budget Name: team: ml: daily"))).unwrap();
        assert_eq!(alert.budget_name, "team: ml: daily");
    }

    #[test]
    fn amounts_with_separators_without_decimals_and_with_currency_codes_are_read() {
        for (written, value, unit) in [
            ("$1,234.5", 1234.5, "USD"),
            ("$1,234,567.89", 1234567.89, "USD"),
            ("$1000", 1000.0, "USD"),
            ("100.00 USD", 100.0, "USD"),
            ("EUR 100.00", 100.0, "EUR"),
            ("€100", 100.0, "EUR"),
            ("$100.00 USD", 100.0, "USD"),
            ("1.234", 1.234, ""),
            ("720 Hrs", 720.0, "Hrs"),
            ("5,000 GB-Mo", 5000.0, "GB-Mo"),
        ] {
            assert_eq!(parse_amount(BUDGETED_AMOUNT, written).unwrap(), (value, unit.to_string()), "{written}");
        }
    }

    #[test]
    fn usage_budget_records_its_unit_and_percent() {
        let text = message(
            "You requested that we alert you when the ACTUAL Usage associated with your gpu-hours budget is greater than 600 Hrs for the current month.",
            &[
                "Budget Name: gpu-hours",
                "Budget Type: Usage",
                "Budgeted Amount: 720 Hrs",
                "Alert Type: ACTUAL",
                "Alert Threshold: > 600 Hrs",
                "ACTUAL Amount: 612.25",
            ],
        );
        let alert = parse_alert_message(None, &text).unwrap();
        assert_eq!((alert.budget_type.as_str(), alert.unit.as_str()), ("Usage", "Hrs"));
        assert_eq!(alert.percent_of_budget, 85.03);
    }

    #[test]
    fn crlf_line_endings_extra_lines_and_loose_key_spelling_are_accepted() {
        let text = monthly(&[
            "budget name :  ml-marketing ",
            "BUDGET  TYPE: Cost",
            "Budget Period: Monthly",
            "BudgetedAmount:$1,000.00",
            "alert type: actual",
            "Actual   Amount: $812.40",
            "Cost Allocation Tags: none",
        ])
        .replace('\n', "\r\n");
        let alert = parse_alert_message(None, &text).unwrap();
        assert_eq!(alert.budget_name, "ml-marketing");
        assert_eq!((alert.alert_type, alert.amount), (AlertType::Actual, 812.4));
        assert_eq!(alert.threshold, None);
    }

    #[test]
    fn missing_required_lines_are_named_in_the_error() {
        assert_eq!(
            error(&with(("Budget Name", ""))),
            "not an AWS Budgets alert: no 'Budget Name:' line (subject: 'AWS Budgets: ml-marketing has exceeded your alert threshold')"
        );
        assert_eq!(error(&with(("Budget Name", "Budget Name:  "))), "Budget Name: the value is empty");
        assert_eq!(error(&with(("Budgeted Amount", ""))), "missing 'Budgeted Amount:' line");
        assert_eq!(error(&with(("Alert Type", ""))), "missing 'Alert Type:' line");
        assert_eq!(error(&with(("ACTUAL Amount", "FORECASTED Amount: $900"))), "missing 'ACTUAL Amount:' line");
        assert_eq!(
            error(&with(("Alert Type", "Alert Type: PREDICTED"))),
            "Alert Type: expected ACTUAL or FORECASTED, got 'PREDICTED'"
        );
    }

    #[test]
    fn negative_zero_absurd_and_other_locale_amounts_are_refused() {
        for (line, expected) in [
            ("Budgeted Amount: $abc", "Budgeted Amount: cannot read '$abc' as an amount"),
            ("Budgeted Amount: $0.00", "budgeted amount must be positive, got 0"),
            (
                "Budgeted Amount: $0.00000001",
                "Budgeted Amount: '$0.00000001' is too small to compare against (under 0.0001)",
            ),
            ("Budgeted Amount: -$5.00", "Budgeted Amount: amount must not be negative, got '-$5.00'"),
            ("Budgeted Amount: $-5.00", "Budgeted Amount: amount must not be negative, got '$-5.00'"),
            ("Budgeted Amount: NaN", "Budgeted Amount: cannot read 'NaN' as an amount"),
            ("Budgeted Amount: $inf", "Budgeted Amount: cannot read '$inf' as an amount"),
            ("Budgeted Amount: $1e3", "Budgeted Amount: cannot read '$1e3' as an amount"),
            ("Budgeted Amount: $100.", "Budgeted Amount: cannot read '$100.' as an amount"),
            ("Budgeted Amount: $100 EUR", "Budgeted Amount: cannot read '$100 EUR' as an amount"),
            (
                "Budgeted Amount: $2,000,000,000,000",
                "Budgeted Amount: '$2,000,000,000,000' is implausibly large (over 1e12)",
            ),
            (
                "Budgeted Amount: 1.234,56 €",
                "Budgeted Amount: '1.234,56 €' does not use ',' for thousands and '.' for decimals; refusing to guess",
            ),
            (
                "ACTUAL Amount: $1.234.567",
                "ACTUAL Amount: '$1.234.567' does not use ',' for thousands and '.' for decimals; refusing to guess",
            ),
            (
                "ACTUAL Amount: 12,5 EUR",
                "ACTUAL Amount: '12,5 EUR' does not use ',' for thousands and '.' for decimals; refusing to guess",
            ),
            ("ACTUAL Amount: 900 EUR", "ACTUAL Amount: unit 'EUR' differs from the budgeted amount's 'USD'"),
            ("Alert Threshold: > lots", "Alert Threshold: cannot read 'lots' as an amount"),
            ("Alert Threshold: < 80%", "Alert Threshold: only 'greater than' thresholds are supported, got '< 80%'"),
        ] {
            let key = line.split(':').next().unwrap();
            assert_eq!(error(&with((key, line))), expected, "{line}");
        }
    }

    #[test]
    fn scientific_notation_is_refused_not_read_as_a_unit_named_e() {
        let both =
            monthly(&["Budget Name: ml-marketing", "Budgeted Amount: 1e3", "Alert Type: ACTUAL", "ACTUAL Amount: 2e3"]);
        assert_eq!(error(&both), "Budgeted Amount: cannot read '1e3' as an amount");
        assert!(error(&with(("ACTUAL Amount", "ACTUAL Amount: 8.124E-2"))).contains("cannot read '8.124E-2'"));
        let usage = with(("Budgeted Amount", "Budgeted Amount: 720 Hrs"));
        let usage = usage.replace("ACTUAL Amount: $812.40", "ACTUAL Amount: 800 Hrs");
        assert_eq!(parse_alert_message(None, &usage).unwrap().unit, "Hrs");
    }

    #[test]
    fn budget_names_longer_than_aws_allows_are_not_alerts() {
        let name = format!("ml-{}", "x".repeat(98));
        let err = error(&with(("Budget Name", &format!("Budget Name: {name}"))));
        assert!(err.contains("101 characters; AWS budget names have at most 100"), "{err}");
        let name = format!("ml-{}", "x".repeat(97));
        let alert = parse_alert_message(None, &with(("Budget Name", &format!("Budget Name: {name}")))).unwrap();
        assert_eq!(alert.budget_name.len(), 100);
    }

    #[test]
    fn conflicting_duplicate_lines_are_refused_but_repeats_are_not() {
        let mut lines = ML_MARKETING.to_vec();
        lines.push("Budget Name: ml-marketing");
        assert!(parse_alert_message(None, &monthly(&lines)).is_ok());
        lines.push("Budget Name: ml-research");
        assert_eq!(
            error(&monthly(&lines)),
            "'Budget Name:' appears twice with different values ('ml-marketing' and 'ml-research')"
        );
    }

    #[test]
    fn json_empty_and_foreign_messages_are_not_budget_alerts() {
        let alarm = r#"{"AlarmName":"ml-endpoint-5xx","NewStateValue":"ALARM"}"#;
        assert_eq!(
            parse_alert_message(Some("ALARM: \"ml-endpoint-5xx\""), alarm).unwrap_err().to_string(),
            "not an AWS Budgets alert: the message is JSON (keys: AlarmName, NewStateValue), not the plain-text AWS Budgets format (subject: 'ALARM: \"ml-endpoint-5xx\"')"
        );
        assert_eq!(
            parse_alert_message(None, " \r\n").unwrap_err().to_string(),
            "not an AWS Budgets alert: the message is empty (no subject)"
        );
        assert_eq!(
            parse_alert_message(None, "Your order has shipped.\nTracking: 123").unwrap_err().to_string(),
            "not an AWS Budgets alert: no 'Budget Name:' line (no subject)"
        );
    }

    #[test]
    fn sns_event_yields_the_alert_with_its_topic_and_the_topic_account_as_fallback() {
        let text = monthly(&ML_MARKETING).replace("AWS Account 123456789012\n", "");
        let Ok(BudgetEvent::Alert(alert)) = parse_budget_event(&sns(None, &text)) else {
            panic!("expected an alert");
        };
        assert_eq!(alert.topic_arn.as_deref(), Some(TOPIC));
        assert_eq!(alert.account_id.as_deref(), Some("123456789012"));
        let json = serde_json::to_value(&alert).unwrap();
        assert_eq!(json["alert_type"], "ACTUAL");
        assert_eq!(json["period"], "monthly");
        assert_eq!(json["threshold"]["kind"], "absolute");
    }

    #[test]
    fn events_that_are_not_one_sns_record_are_refused_with_the_reason() {
        let cases = [
            (json!("hello"), "not an SNS event: expected a JSON object, got a string"),
            (
                json!({"detail-type": "x", "source": "aws.sagemaker"}),
                "not an SNS event: no 'Records' array (keys: detail-type, source)",
            ),
            (json!({"Records": {}}), "not an SNS event: 'Records' is an object, not an array"),
            (json!({"Records": []}), "expected one SNS record, got 0"),
            (json!({"Records": [{}, {}, {}]}), "expected one SNS record, got 3"),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
                "not an SNS event: the record comes from 'aws:sqs'",
            ),
            (json!({"Records": [{"EventSource": "aws:sns"}]}), "not an SNS event: the record has no 'Sns' object"),
            (json!({"Records": [{"Sns": {"Message": 5}}]}), "not an SNS event: 'Sns' has no 'Message' string"),
        ];
        for (event, expected) in cases {
            assert_eq!(parse_budget_event(&event).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn restore_command_names_one_budget_or_all() {
        assert_eq!(
            parse_budget_event(&json!({"tagwarden": "restore", "budget": "ml-marketing"})),
            Ok(BudgetEvent::Restore { budget: Some("ml-marketing".into()) })
        );
        assert_eq!(parse_budget_event(&json!({"tagwarden": "restore"})), Ok(BudgetEvent::Restore { budget: None }));
    }

    #[test]
    fn unknown_or_malformed_commands_are_refused() {
        for (event, expected) in [
            (json!({"tagwarden": "start"}), "unknown command 'start' (expected 'restore')"),
            (json!({"tagwarden": 1}), "unknown command '1' (expected 'restore')"),
            (
                json!({"tagwarden": "restore", "budget": 7}),
                "invalid restore command: 'budget' must be a string, got a number",
            ),
            (
                json!({"tagwarden": "restore", "budget": " "}),
                "invalid restore command: 'budget' is empty; leave it out to restore all budgets",
            ),
        ] {
            assert_eq!(parse_budget_event(&event).unwrap_err().to_string(), expected);
        }
    }

    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("Budget Name"),
            Just("Budgeted Amount"),
            Just("Alert Type"),
            Just("Alert Threshold"),
            Just("ACTUAL Amount"),
            Just("FORECASTED Amount"),
            Just("AWS Account"),
        ];
        let value = prop_oneof![
            Just("ACTUAL".to_string()),
            Just("FORECASTED".to_string()),
            "[$€]?-?[0-9,.]{0,8} ?(USD|EUR|GB|%)?",
            "> ?[$]?[0-9,.]{1,6}%?",
            ".{0,12}",
        ];
        prop_oneof![
            (key, value).prop_map(|(k, v)| format!("{k}: {v}")),
            Just("for the current month. per day.".to_string()),
            ".{0,30}",
        ]
    }

    fn json_ish() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("aws:sns".to_string()),
                Just("restore".to_string()),
                Just(monthly(&ML_MARKETING)),
                prop::collection::vec(line(), 0..8).prop_map(|l| l.join("\n")),
                ".{0,20}",
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let keys = prop_oneof![
                Just("Records".to_string()),
                Just("EventSource".to_string()),
                Just("Sns".to_string()),
                Just("Message".to_string()),
                Just("Subject".to_string()),
                Just("TopicArn".to_string()),
                Just("tagwarden".to_string()),
                Just("budget".to_string()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map(keys, inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_text_is_an_alert_or_an_error_with_a_message(
            subject in proptest::option::of(".{0,20}"),
            lines in prop::collection::vec(line(), 0..10),
            noise in ".{0,200}",
        ) {
            let valid_plus_noise = format!("{}\n{}", monthly(&ML_MARKETING), lines.join("\n"));
            for text in [lines.join("\n"), lines.join("\r\n"), noise, valid_plus_noise] {
                match parse_alert_message(subject.as_deref(), &text) {
                    Ok(alert) => {
                        prop_assert!(alert.budgeted_amount >= MIN_BUDGET && alert.budgeted_amount <= MAX_AMOUNT);
                        prop_assert!(alert.amount >= 0.0 && alert.percent_of_budget.is_finite());
                    }
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }
        }

        #[test]
        fn any_json_is_an_event_or_an_error_with_a_message(value in json_ish()) {
            if let Err(e) = parse_budget_event(&value) {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        #[test]
        fn amounts_formatted_the_aws_way_read_back_exactly(cents in 1u64..100_000_000_000_000) {
            let digits = (cents / 100).to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let written = format!("${grouped}.{:02}", cents % 100);
            let (value, unit) = parse_amount(BUDGETED_AMOUNT, &written).unwrap();
            prop_assert_eq!(value, format!("{}.{:02}", cents / 100, cents % 100).parse::<f64>().unwrap());
            prop_assert_eq!(unit, "USD");
        }
    }
}
