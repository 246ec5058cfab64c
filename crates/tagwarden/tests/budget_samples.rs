//! Every file in `events/budget-enforcer/` parses as its README says, so the samples cannot rot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::Value;
use tagwarden::event::budget::{AlertType, BudgetEvent, BudgetPeriod, parse_budget_envelope, parse_budget_event};

fn samples() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/budget-enforcer");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, value)
        })
        .collect()
}

enum Expected {
    /// budget, alert type, percent of budget, period
    Alert(&'static str, AlertType, f64, BudgetPeriod),
    Restore(Option<&'static str>),
    /// the schedule's tick
    Tick,
    /// approve this plan
    Approve(&'static str),
    /// the burn-rate schedule
    Burn,
    /// the idle rules' schedule
    Idle,
    /// one place's share of an idle tick: account, region, the tick (RFC 3339)
    IdleIn(&'static str, &'static str, &'static str),
    /// the next part of an enforcement: the alert's MessageId, the part
    Continue(&'static str, u32),
    /// a cost anomaly: its id's start, monitor name, total impact, whether a root cause is SageMaker
    Anomaly(&'static str, &'static str, f64, bool),
    /// a fragment of the error message
    Error(&'static str),
}

fn expected(file: &str) -> Expected {
    use AlertType::*;
    use BudgetPeriod::*;
    use Expected::*;
    match file {
        "actual-80-percent.json" => Alert("ml-marketing", Actual, 81.24, Monthly),
        "actual-105-percent.json" => Alert("ml-marketing", Actual, 105.0, Monthly),
        "actual-125-percent.json" => Alert("ml-marketing", Actual, 125.0, Monthly),
        "forecasted-110-percent.json" => Alert("ml-marketing", Forecasted, 110.0, Monthly),
        "daily-name-with-spaces.json" => Alert("ML Research Daily", Actual, 123.0, Daily),
        "aws-sample-teste.json" => Alert("teste", Actual, 41.45, Monthly),
        // NOTE: AWS's own sample says $1.03 in the prose but $0.5 on the line; the line wins.
        "aws-sample-forecasted.json" => {
            Alert("AwsCostNotificationStack-MonthlyCostBudget", Forecasted, 5000.0, Monthly)
        }
        "restore-command.json" => Restore(Some("ml-marketing")),
        "tick-command.json" => Tick,
        "approve-command.json" => Approve("p-3f9c2a7d41e0b865"),
        "burn-command.json" => Burn,
        "idle-command.json" => Idle,
        "idle-place-message.json" => IdleIn("210987654321", "eu-west-1", "2026-11-27T19:00:00+00:00"),
        "continue-message.json" => Continue("8f9a1b2c-3d4e-5f60-7182-93a4b5c6d7e8", 2),
        "anomaly-sagemaker-tag.json" => Anomaly("5b3e9c7a-", "team-nlp", 592.9, true),
        "anomaly-other-service.json" => Anomaly("e4d3c2b1-", "aws-services", 151.0, false),
        "not-a-budget-alert.json" => Error("not an AWS Budgets alert: the message is JSON"),
        other => panic!("new sample {other}: add its expected parse here and to the README"),
    }
}

#[test]
fn every_budget_enforcer_sample_parses_as_documented() {
    let samples = samples();
    assert!(samples.len() >= 9, "samples went missing: {}", samples.len());
    for (file, event) in samples {
        let parsed = parse_budget_event(&event);
        match (expected(&file), parsed) {
            (Expected::Alert(budget, alert_type, percent, period), Ok(BudgetEvent::Alert(a))) => {
                assert_eq!(a.budget_name, budget, "{file}");
                assert_eq!(a.alert_type, alert_type, "{file}");
                assert_eq!(a.percent_of_budget, percent, "{file}");
                assert_eq!(a.period, period, "{file}");
                assert_eq!(a.unit, "USD", "{file}");
                assert!(a.account_id.is_some() && a.topic_arn.is_some(), "{file}");
            }
            (Expected::Restore(budget), Ok(BudgetEvent::Restore { budget: got })) => {
                assert_eq!(got.as_deref(), budget, "{file}");
            }
            (Expected::Anomaly(id, monitor, impact, sagemaker), Ok(BudgetEvent::Anomaly(a))) => {
                assert!(a.anomaly_id.starts_with(id), "{file}");
                assert_eq!(a.monitor_name.as_deref(), Some(monitor), "{file}");
                assert_eq!((a.impact.total_impact, a.names_sagemaker()), (impact, sagemaker), "{file}");
                assert!(a.account_id.is_some() && a.topic_arn.is_some() && a.details_link.is_some(), "{file}");
            }
            (Expected::Tick, Ok(BudgetEvent::Tick))
            | (Expected::Burn, Ok(BudgetEvent::Burn))
            | (Expected::Idle, Ok(BudgetEvent::Idle)) => {}
            (Expected::IdleIn(account, region, at), Ok(BudgetEvent::IdleIn(place))) => {
                assert_eq!((place.account.as_str(), place.region.as_str()), (account, region), "{file}");
                assert_eq!(place.at.to_rfc3339(), at, "{file}");
            }
            (Expected::Continue(alert, part), Ok(BudgetEvent::Continue { alert: got, part: n })) => {
                assert_eq!((got.as_str(), n), (alert, part), "{file}");
            }
            (Expected::Approve(plan), Ok(BudgetEvent::Approve { plan: got })) => assert_eq!(got, plan, "{file}"),
            (Expected::Error(fragment), Err(e)) => {
                assert!(e.to_string().contains(fragment), "{file}: {e}");
            }
            (_, got) => panic!("{file}: unexpected parse {got:?}"),
        }
    }
}

#[test]
fn the_aws_sample_takes_its_account_from_the_message_not_the_topic() {
    let (_, event) = samples().into_iter().find(|(f, _)| f == "aws-sample-teste.json").unwrap();
    let Ok(BudgetEvent::Alert(alert)) = parse_budget_event(&event) else {
        panic!("expected an alert");
    };
    assert_eq!(alert.account_id.as_deref(), Some("058100963274"));
    assert_eq!(alert.topic_arn.as_deref(), Some("arn:aws:sns:us-east-2:123456789012:budget-alerts"));
    assert_eq!((alert.budgeted_amount, alert.amount), (100.0, 41.45));
}

#[test]
fn every_sns_sample_is_a_complete_delivery_read_through_the_sns_event_type() {
    for (file, event) in samples() {
        let envelope = match parse_budget_envelope(&event) {
            Ok(envelope) => envelope,
            Err(e) => {
                assert_eq!(file, "not-a-budget-alert.json", "{file}: {e}");
                continue;
            }
        };
        let Some(sns) = envelope.sns else {
            assert!(file.ends_with("-command.json") || file.ends_with("-message.json"), "{file}: no SNS delivery");
            continue;
        };
        assert!(sns.complete, "{file}: lacks a field SNS delivers");
        assert_eq!(sns.message_id.as_deref(), event.pointer("/Records/0/Sns/MessageId").and_then(Value::as_str));
        assert_eq!(sns.topic_arn.as_deref(), event.pointer("/Records/0/Sns/TopicArn").and_then(Value::as_str));
    }
}
