//! The `budgets status` rows, table and page.

use std::collections::BTreeMap;

use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
use tagwarden::Policy;
use tagwarden::enforce::ledger::{Entry, Place};

use super::status::{html, rows, table};

#[allow(deprecated)]
fn budget(name: &str, limit: &str, actual: &str, service: bool) -> Budget {
    let usd = |a: &str| Spend::builder().amount(a).unit("USD").build().unwrap();
    let mut b = Budget::builder()
        .budget_name(name)
        .budget_type(BudgetType::Cost)
        .time_unit(TimeUnit::Monthly)
        .budget_limit(usd(limit))
        .calculated_spend(CalculatedSpend::builder().actual_spend(usd(actual)).forecasted_spend(usd("1300")).build());
    if service {
        b = b.cost_filters("Service", vec!["Amazon SageMaker".into()]);
    }
    b.build().unwrap()
}

#[test]
fn status_shows_sagemaker_budgets_with_their_step_and_last_enforcement() {
    let policy = Policy::example().unwrap().budgets;
    let budgets = [
        budget("ml-a", "1000", "1050", false),
        budget("team-x", "100", "10", true),
        budget("finance", "100", "10", false),
    ];
    let entry = Entry {
        at: "2026-11-25T09:02:11.208Z".into(),
        budget: "ml-a".into(),
        period: None,
        trigger: "m-1".into(),
        step: Some(100.0),
        action: "stop-notebooks".into(),
        resource: "arn:aws:sagemaker:us-east-1:1:notebook-instance/nb".into(),
        result: "done".into(),
        before: None,
        dry_run: false,
        place: Place::of_arn("arn:aws:sagemaker:us-east-1:1:notebook-instance/nb"),
    };
    let skipped = Entry {
        at: "2026-11-25T09:02:11.100Z".into(),
        result: "already-stopped".into(),
        resource: "arn:aws:sagemaker:us-east-1:1:notebook-instance/old".into(),
        ..entry.clone()
    };
    let earlier = Entry { at: "2026-11-24T08:00:00.000Z".into(), trigger: "m-0".into(), ..entry.clone() };
    let last = BTreeMap::from([("ml-a".to_string(), vec![earlier, skipped, entry])]);
    let rows = rows(&budgets, &policy, &last);
    let names: Vec<&str> = rows.iter().map(|r| r.budget.as_str()).collect();
    assert_eq!(names, ["ml-a", "team-x"], "finance is neither SageMaker-filtered nor under a rule");
    assert_eq!((rows[0].percent, rows[0].step, rows[0].rule.as_deref()), (105.0, Some(100.0), Some("ml-*")));
    assert_eq!(rows[1].step, None);
    let text = table(&rows);
    let summed = "2026-11-25T09:02:11.208Z step 100%: 1 of 2 done (stop-notebooks)";
    assert!(text.contains("100% (ml-*)") && text.contains(summed), "the latest run, summed up: {text}");
    assert!(text.contains("no rule"), "{text}");
    let page = html(&rows, "2026-11-25");
    assert!(page.starts_with("<!doctype html>") && page.contains("class=\"bar over\"") && !page.contains("<script"));
}
