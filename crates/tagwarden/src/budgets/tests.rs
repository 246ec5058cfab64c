use super::*;
use crate::Policy;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";

fn catalog(entries: &str) -> Catalog {
    let yaml = format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  catalog:\n    alerts_topic_arn: {TOPIC}\n    entries:\n{entries}"
    );
    Policy::from_yaml(&yaml, "test").unwrap().budgets.catalog
}

fn two_cost_centers() -> Vec<BudgetSpec> {
    let catalog = catalog(
        "      - {key: cost-center, values: [CC-4100, CC-4200], amount: 5000, name: 'ml-{value}', thresholds: {actual: [80, 100], forecasted: [100]}}\n",
    );
    desired(
        &catalog,
        &|e| match &e.select {
            crate::policy::Selection::Values(v) => v.clone(),
            _ => vec![],
        },
        catalog.alerts_topic_arn.as_deref(),
    )
    .unwrap()
}

/// What AWS Budgets holds after `spec` was applied.
fn held_as(spec: &BudgetSpec) -> Held {
    Held {
        name: spec.name.clone(),
        amount: Some(spec.amount),
        currency: spec.currency.clone(),
        period: spec.period.as_str().to_owned(),
        cost_filters: spec.cost_filters(),
        notices: spec
            .notices
            .iter()
            .map(|n| HeldNotice { notice: *n, percentage: true, topics: vec![spec.topic.clone()] })
            .collect(),
        managed: Some(true),
    }
}

#[test]
fn missing_budgets_are_created_with_the_tag_value_and_sagemaker_as_cost_filters() {
    let specs = two_cost_centers();
    let plan = plan(&specs, &[], false);
    assert_eq!(plan.changes.len(), 2);
    let Change::Create(spec) = &plan.changes[0] else { panic!("create") };
    assert_eq!(spec.name, "ml-CC-4100");
    assert_eq!(spec.cost_filters()["TagKeyValue"], ["user:cost-center$CC-4100"]);
    assert_eq!(spec.cost_filters()["Service"], [SAGEMAKER_SERVICE]);
    assert_eq!(spec.notices.len(), 3);
    assert!(plan.describe().contains("+ create ml-CC-4200: 5000 USD MONTHLY on cost-center=CC-4200"));
}

#[test]
fn the_enforcer_reads_the_scope_of_a_planned_budget_as_its_tag_value() {
    let spec = &two_cost_centers()[0];
    let filters = spec.cost_filters().into_iter().collect();
    let scope = crate::enforce::scope::scope_from_cost_filters(&filters).unwrap();
    let tags = |v: &str| crate::tagging::Tags::from([("cost-center".to_string(), v.to_string())]);
    assert!(scope.matches(&tags("CC-4100")));
    assert!(!scope.matches(&tags("CC-4200")));
}

#[test]
fn budgets_already_as_the_catalog_says_are_unchanged() {
    let specs = two_cost_centers();
    let held: Vec<Held> = specs.iter().map(held_as).collect();
    let plan = plan(&specs, &held, true);
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(plan.unchanged, ["ml-CC-4100", "ml-CC-4200"]);
    assert!(plan.describe().contains("no changes: 2 budget(s)"));
}

#[test]
fn amount_thresholds_and_subscribers_that_differ_are_updated() {
    let specs = two_cost_centers();
    let mut held = held_as(&specs[0]);
    held.amount = Some(4000.0);
    held.notices.remove(0); // ACTUAL 80 missing
    held.notices.push(HeldNotice {
        notice: Notice { kind: Kind::Actual, threshold: 90.0 },
        percentage: true,
        topics: vec![TOPIC.into()],
    });
    held.notices[0].topics = vec!["arn:aws:sns:us-east-1:123456789012:old".into()];
    let plan = plan(&specs[..1], &[held], false);
    let Change::Update(u) = &plan.changes[0] else { panic!("update: {plan:?}") };
    assert_eq!(u.budget, ["amount 4000 USD -> 5000 USD"]);
    assert_eq!(u.add, [Notice { kind: Kind::Actual, threshold: 80.0 }]);
    assert_eq!(u.remove, [Notice { kind: Kind::Actual, threshold: 90.0 }]);
    assert_eq!(
        u.resubscribe,
        [(Notice { kind: Kind::Actual, threshold: 100.0 }, vec!["arn:aws:sns:us-east-1:123456789012:old".to_string()])]
    );
    assert!(!u.adopt);
}

#[test]
fn an_equal_amount_written_differently_is_no_change() {
    let specs = two_cost_centers();
    let mut held = held_as(&specs[0]);
    held.amount = Some(5000.001);
    assert!(plan(&specs[..1], &[held], false).is_empty());
}

#[test]
fn a_hand_made_budget_of_a_catalog_name_is_adopted_by_tagging_it() {
    let specs = two_cost_centers();
    let mut held = held_as(&specs[0]);
    held.managed = Some(false);
    let plan = plan(&specs[..1], &[held], false);
    let Change::Update(u) = &plan.changes[0] else { panic!("update") };
    assert!(u.adopt && u.budget.is_empty() && u.add.is_empty());
    assert!(plan.describe().contains("mark tagwarden:managed=true"));
}

#[test]
fn only_managed_budgets_outside_the_catalog_are_deleted_and_only_with_prune() {
    let specs = two_cost_centers();
    let mut gone = held_as(&specs[1]);
    gone.name = "ml-CC-9999".into();
    let mut by_hand = held_as(&specs[1]);
    by_hand.name = "finance-total".into();
    by_hand.managed = Some(false);
    let mut unread = by_hand.clone();
    unread.name = "ops".into();
    unread.managed = None;
    let held = vec![held_as(&specs[0]), held_as(&specs[1]), gone, by_hand, unread];
    let kept = plan(&specs, &held, false);
    assert!(kept.is_empty());
    assert_eq!(kept.kept, ["ml-CC-9999"]);
    assert!(kept.describe().contains("keep ml-CC-9999: managed, not in the catalog (--prune deletes it)"));
    let pruned = plan(&specs, &held, true);
    assert_eq!(pruned.changes, [Change::Delete { name: "ml-CC-9999".into() }]);
}

#[test]
fn two_entries_making_one_budget_name_or_no_topic_are_errors() {
    let catalog = catalog(
        "      - {key: cost-center, values: [A], amount: 1, name: 'b-{value}'}\n      - {key: cost-center, values_matching: '*', amount: 1, name: 'b-{value}x'}\n",
    );
    let values = |e: &CatalogEntry| match &e.select {
        crate::policy::Selection::Values(_) => vec!["Ax".to_string()],
        _ => vec!["A".to_string()],
    };
    let err = desired(&catalog, &values, Some(TOPIC)).unwrap_err();
    assert_eq!(
        err,
        CatalogError::Duplicate { name: "b-Ax".into(), first: "b-{value}".into(), second: "b-{value}x".into() }
    );
    assert_eq!(desired(&catalog, &values, None).unwrap_err(), CatalogError::NoTopic);
}
