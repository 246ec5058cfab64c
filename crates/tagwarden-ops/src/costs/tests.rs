//! Tests of `costs`: periods, request pieces, folding Cost Explorer's groups, renderings, and the calls
//! against `aws-smithy-mocks` (pagination, forecasts, throttling).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput;
use aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastOutput;
use aws_sdk_costexplorer::types::{Group, MetricValue};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

type Ce = aws_sdk_costexplorer::Client;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn group(keys: &[&str], amount: &str) -> Group {
    Group::builder()
        .set_keys(Some(keys.iter().map(|k| (*k).to_owned()).collect()))
        .metrics(COST_METRIC, MetricValue::builder().amount(amount).unit("USD").build())
        .build()
}

fn result(start: &str, groups: Vec<Group>) -> ResultByTime {
    ResultByTime::builder()
        .time_period(DateInterval::builder().start(start).end("2026-11-01").build().unwrap())
        .set_groups(Some(groups))
        .estimated(false)
        .build()
}

fn client(rules: &[&Rule]) -> Ce {
    let no_retry = |c: aws_sdk_costexplorer::config::Builder| {
        c.retry_config(aws_sdk_costexplorer::config::retry::RetryConfig::disabled())
    };
    mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, rules.iter().copied(), no_retry)
}

fn query(keys: &[&str], forecast: bool) -> CostsQuery {
    CostsQuery {
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        period: Period::months(1, day("2026-12-02")).unwrap(),
        granularity: Granularity::Monthly,
        by_account: false,
        forecast,
        today: day("2026-12-02"),
    }
}

#[test]
fn months_period_runs_from_the_first_of_the_month_to_tomorrow_and_forecasts_to_the_month_end() {
    let p = Period::months(1, day("2026-12-02")).unwrap();
    assert_eq!((p.start, p.end, p.forecast_end), (day("2026-12-01"), day("2026-12-03"), day("2027-01-01")));
    assert_eq!(Period::months(3, day("2026-01-15")).unwrap().start, day("2025-11-01"));
    assert_eq!(p.forecast_window(day("2026-12-02")), Some((day("2026-12-02"), day("2027-01-01"))));
    let past = Period::between("2026-10-01", "2026-11-01").unwrap();
    assert_eq!(past.forecast_window(day("2026-12-02")), None);
}

#[test]
fn bad_dates_and_empty_periods_name_the_option() {
    assert!(matches!(Period::between("2026-10-32", "2026-11-01"), Err(CostsError::BadDate { what: "--from", .. })));
    assert!(matches!(Period::between("2026-10-01", "tomorrow"), Err(CostsError::BadDate { what: "--to", .. })));
    let err = Period::between("2026-11-01", "2026-11-01").unwrap_err().to_string();
    assert!(err.contains("--to is exclusive"), "{err}");
    assert!(Period::months(0, day("2026-12-02")).unwrap_err().to_string().contains("--months 0"));
}

#[test]
fn requests_filter_on_sagemaker_and_group_by_the_key_then_the_account() {
    let filter = sagemaker_filter();
    let dims = filter.dimensions().unwrap();
    assert_eq!((dims.key(), dims.values()), (Some(&Dimension::Service), &["Amazon SageMaker".to_owned()][..]));
    let groups = group_by("team", true);
    assert_eq!(groups.len(), 2);
    assert_eq!((groups[0].r#type(), groups[0].key()), (Some(&GroupDefinitionType::Tag), Some("team")));
    assert_eq!(groups[1].key(), Some("LINKED_ACCOUNT"));
    let untagged = forecast_filter("team", UNTAGGED);
    let tags = untagged.and()[1].tags().unwrap();
    assert_eq!((tags.match_options(), tags.values().len()), (&[MatchOption::Absent][..], 0));
    assert_eq!(forecast_filter("team", "nlp").and()[1].tags().unwrap().values(), ["nlp"]);
}

#[test]
fn the_empty_value_is_the_named_untagged_bucket_and_shares_add_up() {
    let results =
        [result("2026-10-01", vec![group(&["team$nlp"], "3"), group(&["team$"], "1"), group(&["team$cv"], "-0.0")])];
    let (costs, unit, estimated) = fold_key("team", &results).unwrap();
    assert_eq!((unit.as_deref(), estimated), (Some("USD"), false));
    assert_eq!(costs.total.to_string(), "4.00");
    let names: Vec<_> = costs.values.iter().map(|v| (v.value.as_str(), v.untagged, v.share_percent)).collect();
    assert_eq!(names, [("nlp", false, 75.0), (UNTAGGED, true, 25.0), ("cv", false, 0.0)]);
    assert!(
        matches!(fold_key("team", &[result("x", vec![group(&["nlp"], "1")])]), Err(CostsError::UnexpectedGroupKey(k)) if k == "nlp")
    );
    assert!(matches!(
        fold_key("team", &[result("x", vec![group(&["team$a"], "lots")])]),
        Err(CostsError::BadAmount(..))
    ));
}

#[test]
fn renderings_carry_every_value_and_escape_html() {
    let results =
        [result("2026-10-01", vec![group(&["team$<b>", "111122223333"], "2"), group(&["team$", "111122223333"], "2")])];
    let (costs, ..) = fold_key("team", &results).unwrap();
    let report = CostsReport {
        period: Period::between("2026-10-01", "2026-11-01").unwrap(),
        granularity: Granularity::Monthly,
        unit: "USD".into(),
        estimated: false,
        by_account: true,
        forecast_window: None,
        keys: vec![costs],
        calls: Calls::default(),
    };
    let csv = render(&report, Format::Csv);
    assert!(
        csv.contains("team,<b>,,2.00,50.0000,,\n") && csv.contains("team,(untagged),111122223333,2.00,50.0000,,"),
        "{csv}"
    );
    let html = render(&report, Format::Html);
    assert!(html.contains("&lt;b&gt;") && !html.contains("<b>") && html.contains(UNTAGGED_COLOUR));
    assert_eq!(html.matches("://").count(), report.keys.len(), "nothing linked but the SVG namespace");
    let json: serde_json::Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
    assert_eq!(json["keys"][0]["values"][1]["by_account"]["111122223333"], "2.00");
    assert!(render(&report, Format::Table).contains("account 111122223333"));
}

#[tokio::test]
async fn every_page_is_read_and_counted_one_request_per_key_and_page() {
    let usage = mock!(Ce::get_cost_and_usage)
        .sequence()
        .output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(result("2026-12-01", vec![group(&["team$nlp"], "1.5")]))
                .next_page_token("p2")
                .build()
        })
        .output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(result("2026-12-01", vec![group(&["team$nlp"], "0.5"), group(&["team$"], "6")]))
                .build()
        })
        .output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(result("2026-12-01", vec![group(&["environment$dev"], "4")]))
                .build()
        })
        .build();
    let report = fetch(&client(&[&usage]), &query(&["team", "environment"], false)).await.unwrap();
    assert_eq!(usage.num_calls(), 3);
    assert_eq!((report.calls.get_cost_and_usage, report.calls.total), (3, 3));
    let team = &report.keys[0];
    assert_eq!((team.values[0].value.as_str(), team.values[0].share_percent), (UNTAGGED, 75.0));
    assert_eq!((team.values[1].value.as_str(), team.values[1].cost.to_string()), ("nlp", "2.00".into()));
    assert_eq!(report.keys[1].total.to_string(), "4.00");
    assert!(report.calls.summary().contains("3 (3 GetCostAndUsage, 0 GetCostForecast), billed $0.03"));
}

#[tokio::test]
async fn forecasts_one_request_per_value_and_a_value_without_history_gets_a_note() {
    let usage = mock!(Ce::get_cost_and_usage).then_output(|| {
        GetCostAndUsageOutput::builder()
            .results_by_time(result("2026-12-01", vec![group(&["team$nlp"], "1"), group(&["team$"], "1")]))
            .build()
    });
    let nlp = mock!(Ce::get_cost_forecast)
        .match_requests(|r| r.filter().is_some_and(|f| f.and()[1].tags().is_some_and(|t| t.values() == ["nlp"])))
        .then_output(|| {
            GetCostForecastOutput::builder().total(MetricValue::builder().amount("29").unit("USD").build()).build()
        });
    let untagged = mock!(Ce::get_cost_forecast).then_http_response(|| {
        let body = r#"{"__type":"DataUnavailableException","Message":"Insufficient amount of historical data to generate forecast."}"#;
        HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
    });
    let report = fetch(&client(&[&usage, &nlp, &untagged]), &query(&["team"], true)).await.unwrap();
    let values = &report.keys[0].values;
    let nlp_value = values.iter().find(|v| v.value == "nlp").unwrap();
    assert_eq!(
        (nlp_value.forecast.unwrap().to_string(), nlp_value.projected.unwrap().to_string()),
        ("29.00".into(), "30.00".into())
    );
    let none = values.iter().find(|v| v.untagged).unwrap();
    assert!(none.forecast.is_none() && none.forecast_note.as_deref().unwrap().contains("historical data"));
    assert_eq!((report.calls.get_cost_forecast, report.calls.total), (2, 3));
    assert_eq!(report.forecast_window, Some(("2026-12-02".into(), "2027-01-01".into())));
}

#[tokio::test]
async fn throttling_says_to_wait_and_how_many_requests_were_made() {
    let first = mock!(Ce::get_cost_and_usage)
        .sequence()
        .output(|| GetCostAndUsageOutput::builder().next_page_token("p2").build())
        .http_response(|| {
            let body = r#"{"__type":"LimitExceededException","Message":"Rate exceeded"}"#;
            HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
        })
        .build();
    let err = fetch(&client(&[&first]), &query(&["team"], false)).await.unwrap_err();
    assert!(matches!(&err, CostsError::Throttled { calls: 1, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("throttling") && text.contains("Rate exceeded") && text.contains("wait a minute"), "{text}");
}
