//! Property tests over the parsers of outside input and the tag plan: arbitrary JSON and text never panic and
//! always end in a classified result, plans never break SageMaker's tag rules, and amounts written the AWS way
//! read back exactly (while other locales' formats are refused, never misread).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{Map, Value};
use tagwarden::event::{BudgetEvent, parse_alert_message, parse_budget_event};
use tagwarden::policy::SourceKind;
use tagwarden::tagging::rules::{MAX_TAGS, key_problem, value_problem};
use tagwarden::tagging::{CreateCall, SourceLayer, TagSources, Tags, plan_tags};
use tagwarden::{Policy, PolicyError};

/// Keys the parsers look for, so that generated objects reach past the first checks.
const KEYS: [&str; 22] = [
    "detail",
    "detail-type",
    "source",
    "eventSource",
    "eventName",
    "errorCode",
    "responseElements",
    "requestParameters",
    "modelArn",
    "userIdentity",
    "sessionContext",
    "sessionIssuer",
    "type",
    "arn",
    "tags",
    "Records",
    "EventSource",
    "Sns",
    "Message",
    "Subject",
    "TopicArn",
    "tagwarden",
];

/// Strings the parsers compare against, plus anything.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("aws.sagemaker".to_owned()),
        Just("sagemaker.amazonaws.com".to_owned()),
        Just("AWS API Call via CloudTrail".to_owned()),
        Just("CreateModel".to_owned()),
        Just("CreateTrainingJob".to_owned()),
        Just("arn:aws:sagemaker:us-east-1:123456789012:model/m".to_owned()),
        Just("aws:sns".to_owned()),
        Just("restore".to_owned()),
        Just("Budget Name: ml-x\nBudgeted Amount: $100\nAlert Type: ACTUAL\nACTUAL Amount: $1e3".to_owned()),
        any::<String>(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        let key = prop_oneof![prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned), any::<String>()];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((key, inner), 0..8).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// An SNS event around `message`, as AWS delivers budget alerts.
fn sns(message: &str) -> Value {
    let mut sns = Map::new();
    sns.insert("Message".into(), message.into());
    sns.insert("TopicArn".into(), "arn:aws:sns:us-east-1:123456789012:alerts".into());
    serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": sns}]})
}

/// `cents` written the AWS way: `$1,234.56`.
fn dollars(cents: u64) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("${grouped}.{:02}", cents % 100)
}

/// `cents` written the German way: `1.234,56 €`.
fn euros_german(cents: u64) -> String {
    dollars(cents).trim_start_matches('$').replace(',', "_").replace('.', ",").replace('_', ".") + " €"
}

fn alert_text(budgeted: &str, actual: &str) -> String {
    format!(
        "AWS Budget Notification\nAWS Account 123456789012\n\nYou requested an alert for the current month.\n\nBudget Name: ml-prop\nBudget Type: Cost\nBudgeted Amount: {budgeted}\nAlert Type: ACTUAL\nACTUAL Amount: {actual}\n"
    )
}

fn tag_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("cost-center".to_owned()),
        Just("CostCenter".to_owned()),
        Just("team".to_owned()),
        Just("environment".to_owned()),
        Just("Environment".to_owned()),
        Just("env".to_owned()),
        Just("project".to_owned()),
        Just("created-by".to_owned()),
        Just("aws:cloudformation:stack-name".to_owned()),
        Just("sagemaker:domain-arn".to_owned()),
        "[a-z]{1,12}",
        any::<String>(),
    ]
}

fn tag_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("CC-2100".to_owned()),
        Just("dev".to_owned()),
        Just("PRODUCTION".to_owned()),
        ".{0,300}",
        any::<String>(),
        "[a-z]{250,300}",
    ]
}

fn tags(max: usize) -> impl Strategy<Value = Tags> {
    prop::collection::btree_map(tag_key(), tag_value(), 0..max)
}

fn layer(kind: SourceKind) -> impl Strategy<Value = SourceLayer> {
    tags(16).prop_map(move |tags| SourceLayer { kind, origin: format!("{kind}"), tags })
}

fn sources() -> impl Strategy<Value = TagSources> {
    (
        layer(SourceKind::Parent),
        layer(SourceKind::UserProfile),
        layer(SourceKind::Principal),
        prop::option::of(any::<String>()),
    )
        .prop_map(|(parent, profile, principal, creator)| TagSources {
            layers: vec![parent, profile, principal],
            creator,
            ..TagSources::default()
        })
}

/// The shipped policy, and one with many optional keys so that the 50-tag limit bites; parsed once.
static POLICIES: LazyLock<Vec<Policy>> = LazyLock::new(|| {
    let mut wide = String::from("tags:\n  invalid_values: sanitize\n  keys:\n    team: {required: true}\n");
    for i in 0..45 {
        wide.push_str(&format!("    key{i}: {{default: v{i}}}\n"));
    }
    vec![Policy::example().unwrap(), Policy::from_yaml(&wide, "wide").unwrap()]
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_json_is_a_create_call_or_a_skip_with_a_reason(value in json()) {
        match CreateCall::from_event(&value) {
            Ok(call) => prop_assert!(call.arn_string().starts_with("arn:")),
            Err(skip) => prop_assert!(!skip.reason.is_empty() && skip.reason.chars().count() < 400),
        }
    }

    #[test]
    fn any_json_is_a_budget_event_or_an_error_with_a_message(value in json()) {
        match parse_budget_event(&value) {
            Ok(BudgetEvent::Alert(alert)) => {
                prop_assert!(alert.budgeted_amount > 0.0 && alert.percent_of_budget.is_finite());
            }
            Ok(BudgetEvent::Restore { budget }) => prop_assert!(budget.is_none_or(|b| !b.trim().is_empty())),
            Ok(BudgetEvent::Anomaly(anomaly)) => {
                prop_assert!(!anomaly.anomaly_id.is_empty() && anomaly.impact.total_impact.is_finite());
            }
            Ok(BudgetEvent::Tick | BudgetEvent::Burn | BudgetEvent::Idle) => {}
            Ok(BudgetEvent::IdleIn(place)) => {
                prop_assert!(place.account.len() == 12 && !place.region.is_empty());
            }
            Ok(BudgetEvent::Approve { plan }) => prop_assert!(!plan.trim().is_empty()),
            Ok(BudgetEvent::Continue { alert, part }) => prop_assert!(!alert.trim().is_empty() && part >= 2),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn any_text_is_json_or_not_and_never_panics_the_event_parsers(text in any::<String>()) {
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            let _ = CreateCall::from_event(&value);
            let _ = parse_budget_event(&value);
        }
        if let Ok(alert) = parse_alert_message(None, &text) {
            prop_assert!(alert.amount.is_finite() && alert.budgeted_amount > 0.0);
        }
        let _ = parse_budget_event(&sns(&text));
    }

    #[test]
    fn any_text_is_a_policy_or_an_error_that_says_where_it_came_from(text in any::<String>()) {
        match Policy::from_yaml(&text, "prop") {
            Ok(policy) => prop_assert!(!policy.tags.keys.is_empty()),
            Err(PolicyError::Invalid { origin, message }) => prop_assert!(origin == "prop" && !message.is_empty()),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

}

proptest! {
    // NOTE: fewer cases: each one plans with two policies over up to 52 existing tags.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn plans_never_write_system_keys_illegal_values_or_past_fifty_tags(
        existing in tags(52),
        sources in sources(),
    ) {
        for policy in POLICIES.iter() {
            let plan = plan_tags(&existing, &sources, &policy.tags);
            for (key, value) in &plan.add {
                prop_assert!(key_problem(key).is_none(), "key {key:?}: {:?}", key_problem(key));
                prop_assert!(value_problem(value).is_none(), "{key}={value:?}: {:?}", value_problem(value));
                prop_assert!(value.chars().count() <= 256);
            }
            let new = plan.add.keys().filter(|k| !existing.contains_key(*k)).count();
            prop_assert!(existing.len() + new <= MAX_TAGS.max(existing.len()), "{} + {new} tags", existing.len());
            prop_assert!(plan.remove.iter().all(|k| existing.contains_key(k)));
        }
    }

    #[test]
    fn a_plan_carried_out_asks_for_nothing_more(existing in tags(52), sources in sources()) {
        for policy in POLICIES.iter() {
            let plan = plan_tags(&existing, &sources, &policy.tags);
            let mut after = existing.clone();
            after.extend(plan.add.clone());
            for key in &plan.remove {
                after.remove(key);
            }
            let again = plan_tags(&after, &sources, &policy.tags);
            prop_assert!(again.add.is_empty(), "second plan adds {:?}", again.add);
        }
    }
}

proptest! {

    #[test]
    fn amounts_written_the_aws_way_read_back_exactly(budgeted in 1u64..10_000_000_000_000, actual in 0u64..10_000_000_000_000) {
        let alert = parse_alert_message(None, &alert_text(&dollars(budgeted), &dollars(actual))).unwrap();
        prop_assert_eq!(alert.budgeted_amount, budgeted as f64 / 100.0);
        prop_assert_eq!(alert.amount, actual as f64 / 100.0);
        prop_assert_eq!(alert.unit, "USD");
        let percent = (actual as f64 / budgeted as f64 * 10_000.0).round() / 100.0;
        prop_assert!((alert.percent_of_budget - percent).abs() < 0.011, "{} vs {percent}", alert.percent_of_budget);
    }

    #[test]
    fn german_formatted_amounts_are_refused_never_misread(budgeted in 100_000u64..10_000_000_000_000, cents in 1u64..100) {
        let german = euros_german(budgeted / 100 * 100 + cents);
        let err = parse_alert_message(None, &alert_text(&german, "1.00 EUR")).unwrap_err().to_string();
        prop_assert!(err.contains("refusing to guess"), "{german}: {err}");
    }

    #[test]
    fn scientific_notation_is_refused_never_read_as_a_unit(mantissa in 1u32..10_000, exponent in 0u32..15) {
        let text = alert_text(&format!("{mantissa}e{exponent}"), &format!("{mantissa}e{exponent}"));
        let err = parse_alert_message(None, &text).unwrap_err().to_string();
        prop_assert!(err.contains("cannot read"), "{err}");
    }
}
