//! Verified alerts: an alert's figures are a claim, so before acting on one the enforcer reads the budget's
//! own record (`DescribeBudget`) and acts on the *lower* of the alert's percentage and the budget's own
//! (`CalculatedSpend.ActualSpend` for ACTUAL alerts, `ForecastedSpend` for FORECASTED, over its limit).
//! An alert for a budget that does not exist, or whose own figure is below the rule's first step, is
//! [`Unverified`]: it acts on nothing and one notice says why.
//!
//! Also the budget's current [`Period`] (from its `TimeUnit`, its `TimePeriod` and "now"), which keys what the
//! enforcer records. In: the described budget (or none), the alert, the rule, the time. Out: plain data.
//! Pure: the `DescribeBudget` call and the clock are the handler's.

use std::fmt;
use std::time::SystemTime;

use aws_sdk_budgets::types::{Budget, Spend, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::event::budget::{AlertType, BudgetAlert};
use crate::notice::{Notice, Severity};
use crate::policy::BudgetRule;

pub use crate::date::Date;

/// How long a budget's period is: AWS Budgets' `TimeUnit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeriodUnit {
    /// One UTC day.
    Daily,
    /// A calendar month.
    Monthly,
    /// A calendar quarter (January, April, July, October).
    Quarterly,
    /// A calendar year.
    Annually,
    /// `CUSTOM` (or a unit this version does not know): the budget's own `TimePeriod`.
    Custom,
}

/// The budget period an alert falls in: `start` (its first day) up to `end` (the first day after it, when
/// the next period starts and `restore` lifts what this one enforced). UTC dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    /// The first day of the period.
    pub start: Date,
    /// The first day after the period (exclusive end).
    pub end: Date,
    /// The budget's time unit.
    pub unit: PeriodUnit,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {} ({:?})", self.start, self.end, self.unit)
    }
}

/// The calendar-aligned period of `budget` that contains `now`, clamped to the budget's `TimePeriod`
/// (a budget that has ended reports its last period). Inject `now` in tests; the handler passes the clock.
pub fn period_at(budget: &Budget, now: SystemTime) -> Period {
    let unit = match budget.time_unit() {
        TimeUnit::Daily => PeriodUnit::Daily,
        TimeUnit::Monthly => PeriodUnit::Monthly,
        TimeUnit::Quarterly => PeriodUnit::Quarterly,
        TimeUnit::Annually => PeriodUnit::Annually,
        _ => PeriodUnit::Custom,
    };
    let bounds = budget.time_period();
    let first = bounds.and_then(|p| p.start()).map(|t| Date::from_unix_secs(t.secs()));
    // NOTE: an end at midnight is exclusive; an end during a day includes that day.
    let after = bounds.and_then(|p| p.end()).map(|t| Date::from_unix_days((t.secs() + 86_399).div_euclid(86_400)));
    let mut today = Date::of(now);
    if let Some(after) = after.filter(|after| today >= *after) {
        today = Date::from_unix_days(after.to_unix_days() - 1);
    }
    let (start, end) = match unit {
        PeriodUnit::Daily => (today, today.next_day()),
        PeriodUnit::Monthly => (today.first_of_month_after(0), today.first_of_month_after(1)),
        PeriodUnit::Quarterly => {
            let start = today.first_of_month_after(-((today.month() as i32 - 1) % 3));
            (start, start.first_of_month_after(3))
        }
        PeriodUnit::Annually => {
            let start = today.first_of_month_after(1 - today.month() as i32);
            (start, start.first_of_month_after(12))
        }
        PeriodUnit::Custom => (first.unwrap_or(today), after.unwrap_or_else(|| today.next_day())),
    };
    let start = first.map_or(start, |first| start.max(first));
    let end = after.map_or(end, |after| end.min(after));
    Period { start, end: if end > start { end } else { start.next_day() }, unit }
}

/// What the budget's own record says for one alert type: its spend as a percentage of its limit, rounded
/// to 2 decimals like the alert's. `Err` says why no figure can be read (no `CalculatedSpend`, no or a zero
/// limit, spend and limit in different units, an unreadable amount).
pub fn budget_percent(budget: &Budget, alert_type: AlertType, period: &Period) -> Result<f64, String> {
    let kind = alert_type.as_str();
    let calculated = budget.calculated_spend();
    let spend = match alert_type {
        AlertType::Actual => calculated.and_then(|c| c.actual_spend()),
        AlertType::Forecasted => calculated.and_then(|c| c.forecasted_spend()),
    }
    .ok_or_else(|| format!("the budget reports no {kind} spend (no CalculatedSpend)"))?;
    // NOTE: a planned (auto-adjusting or per-period) budget has no BudgetLimit but one limit per period,
    // keyed by the period's start in Unix seconds.
    let planned = budget.planned_budget_limits().and_then(|limits| limits.get(&period.start.unix_secs().to_string()));
    let limit = budget.budget_limit().or(planned).ok_or("the budget has no limit for this period")?;
    // NOTE: the alert's unit is not compared: a percentage needs only the budget's spend and limit to agree.
    if !spend.unit().trim().eq_ignore_ascii_case(limit.unit().trim()) {
        return Err(format!(
            "its {kind} spend is in {:?} but its limit in {:?}: the two cannot be compared",
            spend.unit(),
            limit.unit()
        ));
    }
    let (spent, limited) = (amount(spend, "spend")?, amount(limit, "limit")?);
    if limited <= 0.0 {
        return Err(format!("its limit is {} {}: no percentage of it can be taken", limit.amount(), limit.unit()));
    }
    Ok((spent / limited * 10_000.0).round() / 100.0)
}

/// A `Spend` amount as a finite, non-negative number.
fn amount(spend: &Spend, what: &str) -> Result<f64, String> {
    spend
        .amount()
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|a| a.is_finite() && *a >= 0.0)
        .ok_or_else(|| format!("its {what} amount {:?} is not a number", spend.amount()))
}

/// An alert the budget's own record confirms: act at `percent`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verified {
    /// The percentage acted on: the lower of the alert's and the budget's own.
    pub percent: f64,
    /// The budget's own figure.
    pub budget_percent: f64,
}

/// An alert the budget's own record does not confirm: nothing is done.
#[derive(Debug, Clone, PartialEq)]
pub struct Unverified {
    /// Why, naming the budget and both figures.
    pub reason: String,
    /// The budget's own figure; `None` when there is no such budget or no figure to read.
    pub budget_percent: Option<f64>,
}

/// The verdict on an alert for a budget that does not exist (DescribeBudget: NotFound).
pub fn missing(alert: &BudgetAlert) -> Unverified {
    Unverified {
        reason: format!(
            "budget {:?} does not exist in account {}: the alert's {}% cannot be verified; acting on nothing",
            alert.budget_name,
            alert.account_id.as_deref().unwrap_or("(none)"),
            alert.percent_of_budget
        ),
        budget_percent: None,
    }
}

/// Checks `alert` against the budget AWS Budgets returned under `rule`: the lower of the alert's figure and
/// the budget's own must reach the rule's first step. `period` picks a planned budget's limit.
pub fn verify(
    alert: &BudgetAlert,
    budget: &Budget,
    rule: &BudgetRule,
    period: &Period,
) -> Result<Verified, Unverified> {
    let name = &alert.budget_name;
    let claims = alert.percent_of_budget;
    let own = budget_percent(budget, alert.alert_type, period).map_err(|why| Unverified {
        reason: format!("budget {name:?}: {why}; the alert's {claims}% cannot be verified; acting on nothing"),
        budget_percent: None,
    })?;
    let percent = claims.min(own);
    if rule.step_for(percent).is_none() {
        let first = rule.steps.first().map(|s| s.at).unwrap_or_default();
        return Err(Unverified {
            reason: format!(
                "budget {name:?} reports {own}% ({} spend) while the alert claims {claims}%: below the rule's first step ({first}%); acting on nothing",
                alert.alert_type.as_str()
            ),
            budget_percent: Some(own),
        });
    }
    Ok(Verified { percent, budget_percent: own })
}

/// The one notice an unverified alert sends: both figures, and that nothing was done.
pub fn notice(alert: &BudgetAlert, unverified: &Unverified) -> Notice {
    let subject = format!("Tagwarden: UNVERIFIED alert for budget {} - nothing done", alert.budget_name);
    let own = unverified.budget_percent.map_or("no figure (see the reason)".to_owned(), |p| format!("{p:.2}%"));
    let body = format!(
        "An alert for budget {:?} claims {} {} {:.2} of {:.2} ({:.2}%).\nThe budget's own record: {own}.\n\
         Nothing was stopped, deleted, scaled or denied: {}.\nTopic: {}; account: {}.\n",
        alert.budget_name,
        alert.alert_type.as_str(),
        alert.unit,
        alert.amount,
        alert.budgeted_amount,
        alert.percent_of_budget,
        unverified.reason,
        alert.topic_arn.as_deref().unwrap_or("(none)"),
        alert.account_id.as_deref().unwrap_or("(none)"),
    );
    let mut notice = Notice::new("unverified-alert", Severity::Warning, subject, body);
    super::report::budget_routing(&mut notice, alert, &Default::default());
    notice.step(format!(
        "Compare budget {:?} in AWS Budgets with the alert; find who can publish to the topic",
        alert.budget_name
    ));
    notice.detail("reason", unverified.reason.clone());
    notice
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::budget::BudgetPeriod;
    use crate::policy::Policy;
    use aws_sdk_budgets::primitives::DateTime;
    use aws_sdk_budgets::types::{BudgetType, CalculatedSpend, TimePeriod};
    use std::time::Duration;

    fn spend(amount: &str, unit: &str) -> Spend {
        Spend::builder().amount(amount).unit(unit).build().unwrap()
    }

    fn budget(actual: Option<&str>, forecast: &str, limit: &str) -> Budget {
        let mut calculated = CalculatedSpend::builder().forecasted_spend(spend(forecast, "USD"));
        if let Some(actual) = actual {
            calculated = calculated.actual_spend(spend(actual, "USD"));
        }
        Budget::builder()
            .budget_name("ml-marketing")
            .budget_type(BudgetType::Cost)
            .time_unit(TimeUnit::Monthly)
            .budget_limit(spend(limit, "USD"))
            .calculated_spend(calculated.build())
            .build()
            .unwrap()
    }

    fn alert(percent: f64, alert_type: AlertType) -> BudgetAlert {
        BudgetAlert {
            budget_name: "ml-marketing".into(),
            budget_type: "Cost".into(),
            account_id: Some("123456789012".into()),
            alert_type,
            budgeted_amount: 1.0,
            threshold: None,
            amount: percent / 100.0,
            unit: "USD".into(),
            period: BudgetPeriod::Monthly,
            percent_of_budget: percent,
            topic_arn: None,
        }
    }

    fn rule() -> BudgetRule {
        Policy::example().unwrap().budgets.rules[0].clone()
    }

    #[test]
    fn the_notice_for_a_budget_with_a_long_multi_byte_name_has_a_subject_sns_accepts() {
        let mut alert = alert(120.0, AlertType::Actual);
        alert.budget_name = format!("ml-{}-Müller-🚀", "x".repeat(63));
        let subject = crate::tag_rules::sns_subject(&notice(&alert, &missing(&alert)).subject);
        assert!(subject.len() < 100 && subject.chars().count() < 100, "{} bytes: {subject}", subject.len());
        assert!(subject.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{subject}");
        assert!(subject.starts_with("Tagwarden: UNVERIFIED alert for budget ml-xxx") && subject.ends_with("..."));
    }

    fn at(date: &str) -> SystemTime {
        let date: Date = date.parse().unwrap();
        std::time::UNIX_EPOCH + Duration::from_secs(date.unix_secs() as u64 + 13 * 3600)
    }

    static NOV: std::sync::LazyLock<Period> = std::sync::LazyLock::new(|| Period {
        start: Date::parse("2026-11-01").unwrap(),
        end: Date::parse("2026-12-01").unwrap(),
        unit: PeriodUnit::Monthly,
    });

    #[test]
    fn a_forged_alert_claiming_200_percent_acts_on_the_budgets_own_figure_or_not_at_all() {
        let low = budget(Some("400"), "900", "1000");
        let refused = verify(&alert(200.0, AlertType::Actual), &low, &rule(), &NOV).unwrap_err();
        assert_eq!(refused.budget_percent, Some(40.0));
        assert!(refused.reason.contains("40%") && refused.reason.contains("200%"), "{}", refused.reason);
        assert!(refused.reason.contains("first step (80%)"), "{}", refused.reason);

        let high = budget(Some("1050"), "1100", "1000");
        let verified = verify(&alert(200.0, AlertType::Actual), &high, &rule(), &NOV).unwrap();
        assert_eq!(verified, Verified { percent: 105.0, budget_percent: 105.0 });
    }

    #[test]
    fn the_lower_figure_wins_whichever_side_it_is_on() {
        let budget = budget(Some("1250"), "1300", "1000");
        let verified = verify(&alert(105.0, AlertType::Actual), &budget, &rule(), &NOV).unwrap();
        assert_eq!(verified, Verified { percent: 105.0, budget_percent: 125.0 });
    }

    #[test]
    fn a_forecasted_alert_is_checked_against_the_forecast_not_the_actual_spend() {
        let budget = budget(Some("100"), "1100", "1000");
        let verified = verify(&alert(110.0, AlertType::Forecasted), &budget, &rule(), &NOV).unwrap();
        assert_eq!(verified.budget_percent, 110.0);
        assert_eq!(budget_percent(&budget, AlertType::Actual, &NOV), Ok(10.0));
    }

    #[test]
    fn a_budget_that_does_not_exist_verifies_nothing() {
        let refused = missing(&alert(150.0, AlertType::Actual));
        assert_eq!(refused.budget_percent, None);
        assert!(refused.reason.contains("does not exist in account 123456789012"), "{}", refused.reason);
    }

    #[test]
    fn missing_spend_a_zero_limit_and_differing_units_give_no_figure() {
        let no_actual = budget(None, "1100", "1000");
        let why = budget_percent(&no_actual, AlertType::Actual, &NOV).unwrap_err();
        assert!(why.contains("no ACTUAL spend"), "{why}");
        let refused = verify(&alert(150.0, AlertType::Actual), &no_actual, &rule(), &NOV).unwrap_err();
        assert_eq!(refused.budget_percent, None);

        let no_calculated =
            Budget::builder().budget_name("b").time_unit(TimeUnit::Monthly).budget_type(BudgetType::Cost).build();
        let why = budget_percent(&no_calculated.unwrap(), AlertType::Forecasted, &NOV).unwrap_err();
        assert!(why.contains("no FORECASTED spend"), "{why}");

        let zero = budget(Some("10"), "10", "0");
        assert!(budget_percent(&zero, AlertType::Actual, &NOV).unwrap_err().contains("limit is 0 USD"));

        let mut hours = budget(Some("10"), "10", "100");
        hours.budget_limit = Some(spend("100", "Hrs"));
        let why = budget_percent(&hours, AlertType::Actual, &NOV).unwrap_err();
        assert!(why.contains("\"USD\"") && why.contains("\"Hrs\""), "{why}");

        let mut lower_case = budget(Some("12.346"), "1", "1");
        lower_case.budget_limit = Some(spend("100", "usd"));
        assert_eq!(budget_percent(&lower_case, AlertType::Actual, &NOV), Ok(12.35));

        let junk = budget(Some("NaN"), "1", "100");
        assert!(budget_percent(&junk, AlertType::Actual, &NOV).unwrap_err().contains("not a number"));
    }

    #[test]
    fn a_planned_budget_uses_the_limit_of_the_current_period() {
        let mut planned = budget(Some("300"), "300", "1");
        planned.budget_limit = None;
        planned.planned_budget_limits =
            Some([(NOV.start.unix_secs().to_string(), spend("200", "USD")), ("0".into(), spend("1", "USD"))].into());
        assert_eq!(budget_percent(&planned, AlertType::Actual, &NOV), Ok(150.0));
        let december = Period { start: NOV.end, end: NOV.end.first_of_month_after(1), ..*NOV };
        assert!(budget_percent(&planned, AlertType::Actual, &december).unwrap_err().contains("no limit"));
    }

    #[test]
    fn dates_convert_both_ways_and_refuse_days_a_month_lacks() {
        for (days, text) in [(0, "1970-01-01"), (-1, "1969-12-31"), (20_513, "2026-03-01"), (11_016, "2000-02-29")] {
            let date: Date = text.parse().unwrap();
            assert_eq!(date.to_unix_days(), days, "{text}");
            assert_eq!(Date::from_unix_days(days).to_string(), text);
        }
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "26-1-1", "2026-01-01x", ""] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_value(*NOV).unwrap(),
            serde_json::json!({"start": "2026-11-01", "end": "2026-12-01", "unit": "MONTHLY"})
        );
        let back: Period = serde_json::from_value(serde_json::to_value(*NOV).unwrap()).unwrap();
        assert_eq!(back, *NOV);
    }

    fn with_unit(unit: TimeUnit, bounds: Option<(&str, &str)>) -> Budget {
        let mut budget = Budget::builder().budget_name("b").budget_type(BudgetType::Cost).time_unit(unit);
        if let Some((start, end)) = bounds {
            let secs = |d: &str| DateTime::from_secs(d.parse::<Date>().unwrap().unix_secs());
            budget = budget.time_period(TimePeriod::builder().start(secs(start)).end(secs(end)).build());
        }
        budget.build().unwrap()
    }

    fn period(unit: TimeUnit, bounds: Option<(&str, &str)>, now: &str) -> (String, String, PeriodUnit) {
        let p = period_at(&with_unit(unit, bounds), at(now));
        (p.start.to_string(), p.end.to_string(), p.unit)
    }

    #[test]
    fn periods_are_calendar_aligned_months_quarters_years_and_days() {
        let s = |a: &str, b: &str, u| (a.to_owned(), b.to_owned(), u);
        assert_eq!(period(TimeUnit::Monthly, None, "2026-11-25"), s("2026-11-01", "2026-12-01", PeriodUnit::Monthly));
        assert_eq!(period(TimeUnit::Monthly, None, "2026-12-31"), s("2026-12-01", "2027-01-01", PeriodUnit::Monthly));
        assert_eq!(
            period(TimeUnit::Quarterly, None, "2026-11-25"),
            s("2026-10-01", "2027-01-01", PeriodUnit::Quarterly)
        );
        assert_eq!(
            period(TimeUnit::Quarterly, None, "2026-03-31"),
            s("2026-01-01", "2026-04-01", PeriodUnit::Quarterly)
        );
        assert_eq!(
            period(TimeUnit::Quarterly, None, "2026-04-01"),
            s("2026-04-01", "2026-07-01", PeriodUnit::Quarterly)
        );
        assert_eq!(period(TimeUnit::Annually, None, "2028-02-29"), s("2028-01-01", "2029-01-01", PeriodUnit::Annually));
        assert_eq!(period(TimeUnit::Daily, None, "2026-02-28"), s("2026-02-28", "2026-03-01", PeriodUnit::Daily));
    }

    #[test]
    fn periods_are_clamped_to_the_budgets_time_period() {
        let s = |a: &str, b: &str, u| (a.to_owned(), b.to_owned(), u);
        // The budget ends mid-quarter: the period ends with it.
        let bounds = Some(("2026-01-01", "2026-11-15"));
        assert_eq!(
            period(TimeUnit::Quarterly, bounds, "2026-11-02"),
            s("2026-10-01", "2026-11-15", PeriodUnit::Quarterly)
        );
        // After its end, a budget's period is its last one.
        assert_eq!(period(TimeUnit::Monthly, bounds, "2027-03-02"), s("2026-11-01", "2026-11-15", PeriodUnit::Monthly));
        // moto's default: the first of this month to 2087.
        let open = Some(("2026-11-01", "2087-06-15"));
        assert_eq!(period(TimeUnit::Annually, open, "2026-11-20"), s("2026-11-01", "2027-01-01", PeriodUnit::Annually));
        // CUSTOM: the budget's own time period.
        let custom = Some(("2026-06-10", "2026-09-10"));
        assert_eq!(period(TimeUnit::Custom, custom, "2026-07-01"), s("2026-06-10", "2026-09-10", PeriodUnit::Custom));
    }

    #[test]
    fn the_notice_names_both_figures_and_that_nothing_was_done() {
        let low = budget(Some("400"), "900", "1000");
        let claim = alert(200.0, AlertType::Actual);
        let refused = verify(&claim, &low, &rule(), &NOV).unwrap_err();
        let notice = notice(&claim, &refused);
        let (subject, body) = (&notice.subject, &notice.description);
        assert!(subject.contains("UNVERIFIED") && subject.contains("ml-marketing"), "{subject}");
        assert_eq!(notice.attributes()["kind"], "unverified-alert");
        assert_eq!(notice.attributes()["budget"], "ml-marketing");
        assert!(body.contains("(200.00%)") && body.contains("own record: 40.00%"), "{body}");
        assert!(body.contains("Nothing was stopped"), "{body}");
    }
}

/// Mock rules for tests that reach the enforcer's `DescribeBudget`.
#[cfg(test)]
pub(crate) mod test_support {
    use aws_sdk_budgets::operation::describe_budget::DescribeBudgetOutput;
    use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
    use aws_smithy_mocks::{Rule, mock};

    /// `DescribeBudget` answering a monthly USD budget `name` with this limit and ACTUAL/FORECASTED spend.
    pub(crate) fn described(name: &'static str, limit: &'static str, spend: &'static str) -> Rule {
        mock!(aws_sdk_budgets::Client::describe_budget).then_output(move || {
            let usd = |amount: &str| Spend::builder().amount(amount).unit("USD").build().unwrap();
            let budget = Budget::builder()
                .budget_name(name)
                .budget_type(BudgetType::Cost)
                .time_unit(TimeUnit::Monthly)
                .budget_limit(usd(limit))
                .calculated_spend(
                    CalculatedSpend::builder().actual_spend(usd(spend)).forecasted_spend(usd(spend)).build(),
                )
                .build()
                .unwrap();
            DescribeBudgetOutput::builder().budget(budget).build()
        })
    }
}

#[cfg(test)]
mod mock_tests {
    use std::sync::Arc;

    use aws_sdk_sns::operation::publish::PublishOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use serde_json::{Value, json};

    use super::test_support::described;
    use crate::aws::Clients;
    use crate::enforce::{BudgetEnforcer, EnforcementOutcome};
    use crate::policy::Policy;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";
    const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  notify_topic_arn: arn:aws:sns:us-east-1:123456789012:tagwarden-enforcement\n  rules:\n    - budget: ml-marketing\n      scope: {tags: {cost-center: CC-4100}}\n      steps: [{at: 100, actions: [notify, stop-notebooks]}]\n";

    fn alert(actual: &str) -> Value {
        let message = format!(
            "AWS Budget Notification\nAWS Account 123456789012\n\nBudget Name: ml-marketing\nBudget Type: Cost\nBudgeted Amount: $1.00\nAlert Type: ACTUAL\nAlert Threshold: > $1.00\nACTUAL Amount: ${actual}\n"
        );
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"TopicArn": TOPIC, "Message": message}}]})
    }

    fn error(status: u16, code: &str) -> HttpResponse {
        let body = json!({"__type": code, "Message": "from the mock"}).to_string();
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    /// An enforcer whose only answering services are Budgets and SNS: a SageMaker or tagging call panics.
    fn enforcer(budgets: &[&Rule], sns: &[&Rule]) -> BudgetEnforcer {
        let empty = std::iter::empty::<&Rule>;
        let no_retry = |c: aws_sdk_budgets::config::Builder| {
            c.retry_config(aws_sdk_budgets::config::retry::RetryConfig::disabled())
        };
        let clients = Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, empty()).into(),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, empty()).into(),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns.iter().copied()).into(),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, empty()).into(),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, budgets.iter().copied(), no_retry).into(),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, empty()).into(),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, empty()).into(),
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, empty()).into(),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, empty()).into(),
            costexplorer: mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, empty()).into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, empty()).into(),
        };
        BudgetEnforcer::new(clients, Arc::new(Policy::from_yaml(POLICY, "test").unwrap()))
    }

    fn publish() -> Rule {
        mock!(aws_sdk_sns::Client::publish).then_output(|| PublishOutput::builder().message_id("m").build())
    }

    #[tokio::test]
    async fn a_forged_200_percent_alert_for_a_budget_at_40_percent_touches_nothing_and_sends_one_notice() {
        let (budget, notice) = (described("ml-marketing", "1000", "400"), publish());
        let outcome = enforcer(&[&budget], &[&notice]).handle(&alert("2.00"), false).await.unwrap();
        let EnforcementOutcome::Unverified { alert_percent, budget_percent, notified, reason, .. } = &outcome else {
            panic!("expected unverified, got {outcome:?}")
        };
        assert_eq!((*alert_percent, *budget_percent, *notified), (200.0, Some(40.0), true));
        assert!(reason.contains("40%") && reason.contains("200%"), "{reason}");
        assert_eq!((budget.num_calls(), notice.num_calls()), (1, 1));
        assert_eq!(serde_json::to_value(&outcome).unwrap()["outcome"], "unverified");
    }

    #[tokio::test]
    async fn a_budget_that_does_not_exist_is_unverified_and_a_throttled_describe_is_retried() {
        let missing =
            mock!(aws_sdk_budgets::Client::describe_budget).then_http_response(|| error(400, "NotFoundException"));
        let notice = publish();
        let outcome = enforcer(&[&missing], &[&notice]).handle(&alert("2.00"), false).await.unwrap();
        let EnforcementOutcome::Unverified { budget_percent: None, reason, .. } = &outcome else {
            panic!("expected unverified without a figure, got {outcome:?}")
        };
        assert!(reason.contains("does not exist"), "{reason}");
        assert_eq!(notice.num_calls(), 1);

        let throttled =
            mock!(aws_sdk_budgets::Client::describe_budget).then_http_response(|| error(400, "ThrottlingException"));
        let err = enforcer(&[&throttled], &[]).handle(&alert("2.00"), false).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    #[tokio::test]
    async fn a_dry_run_of_an_unverified_alert_sends_no_notice() {
        let budget = described("ml-marketing", "1000", "400");
        let outcome = enforcer(&[&budget], &[]).handle(&alert("2.00"), true).await.unwrap();
        assert!(matches!(outcome, EnforcementOutcome::Unverified { notified: false, .. }), "{outcome:?}");
    }

    #[tokio::test]
    async fn an_alert_from_another_topic_is_rejected_without_any_aws_call() {
        let budget = described("ml-marketing", "1000", "1500");
        let enforcer = enforcer(&[&budget], &[]).with_alert_topics(vec![TOPIC.to_owned()]);
        let mut forged = alert("2.00");
        forged["Records"][0]["Sns"]["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:open-topic");
        let outcome = enforcer.handle_lambda(&forged).await.unwrap();
        let EnforcementOutcome::Rejected { error } = outcome else { panic!("expected rejected, got {outcome:?}") };
        assert!(error.contains("open-topic") && error.contains("not a configured alerts topic"), "{error}");
        forged["Records"][0]["Sns"].as_object_mut().unwrap().remove("TopicArn");
        let outcome = enforcer.handle_lambda(&forged).await.unwrap();
        assert_eq!(outcome.label(), "rejected");
        assert_eq!(budget.num_calls(), 0);
    }
}
