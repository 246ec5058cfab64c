//! The text of an AWS Budgets alert: a header, a prose paragraph, then `Key: Value` lines.
//!
//! In: the SNS `Message` (and `Subject`, for error messages). Out: a [`BudgetAlert`] or the [`AlertError`]
//! naming the missing, empty, conflicting or unreadable line. The `Key: Value` lines decide everything except
//! the period, which only the prose states; keys are matched loosely (`budget name :`, `BudgetName:`).

use serde_json::Value;

use super::amount::{ALERT_THRESHOLD, parse_amount, parse_threshold};
use super::{AlertError, AlertType, BudgetAlert, BudgetPeriod, clip, keys_note};
use crate::ids::is_account_id;

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
pub(super) const BUDGETED_AMOUNT: &str = "Budgeted Amount";
const ALERT_TYPE: &str = "Alert Type";
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

impl AlertType {
    /// The line that carries the amount for this alert type.
    fn amount_line(self) -> &'static str {
        match self {
            AlertType::Actual => ACTUAL_AMOUNT,
            AlertType::Forecasted => FORECASTED_AMOUNT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::amount::MAX_AMOUNT;
    use super::super::fixtures::*;
    use super::super::{Threshold, ThresholdKind};
    use super::*;
    use proptest::prelude::*;

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
    }
}
