//! Budgets as code against the emulator (issue 16, items 3 and 4): the example policy's catalog applied to
//! moto's AWS Budgets (with the extension's gap 16), a second apply that changes nothing, pruning that
//! spares budgets made by hand, and `budgets status` after an alert the enforcer acted on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_budgets::types::{CalculatedSpend, Spend};
use tagwarden::policy::Selection;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{SCOPE_VALUE, seed_budget, seed_budget_world};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{ACCOUNT, Emulator, REGION, sample_event};
use tagwarden_ops::budgets::aws::{BudgetsApi, last_enforcements};
use tagwarden_ops::budgets::{Change, MANAGED_KEY, status};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";

#[tokio::test]
async fn a_second_apply_of_the_example_catalog_changes_nothing_and_only_reads() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let policy = Policy::example().unwrap();
    let api = BudgetsApi::new(&config, ACCOUNT);

    let first = api.plan_catalog(&policy.budgets.catalog, None, false).await.unwrap();
    let created: Vec<&str> = first
        .changes
        .iter()
        .filter_map(|c| if let Change::Create(s) = c { Some(s.name.as_str()) } else { None })
        .collect();
    assert_eq!(created, ["ml-CC-4100", "ml-CC-4200"], "{}", first.describe());
    api.apply(&first).await.unwrap();

    emulator.reset_calls().unwrap();
    let api = BudgetsApi::new(&config, ACCOUNT);
    let second = api.plan_catalog(&policy.budgets.catalog, None, false).await.unwrap();
    assert!(second.is_empty(), "{}", second.describe());
    assert!(api.apply(&second).await.unwrap().is_empty());
    assert_eq!(second.unchanged, ["ml-CC-4100", "ml-CC-4200"]);
    let calls = emulator.calls().unwrap();
    let notices = 5; // four ACTUAL thresholds and one FORECASTED
    let expected = [
        ("budgets.DescribeBudgets", 1),
        ("budgets.DescribeNotificationsForBudget", 2),
        ("budgets.DescribeSubscribersForNotification", 2 * notices),
        ("budgets.ListTagsForResource", 2),
    ];
    assert_eq!(calls.by_action, expected.iter().map(|(k, v)| (k.to_string(), *v)).collect(), "only reads");
    assert_eq!(calls.total, u64::from(api.calls()), "the command counts every call it makes");

    let budgets = aws_sdk_budgets::Client::new(&config);
    let tags = budgets
        .list_tags_for_resource()
        .resource_arn(format!("arn:aws:budgets::{ACCOUNT}:budget/ml-CC-4100"))
        .send()
        .await
        .unwrap();
    assert!(tags.resource_tags().iter().any(|t| t.key() == MANAGED_KEY && t.value() == "true"));
}

#[tokio::test]
async fn a_changed_amount_is_updated_and_prune_deletes_only_managed_budgets() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_budget(&config).await.unwrap(); // ml-marketing and others, made by hand: no managed tag
    let mut policy = Policy::example().unwrap();
    let api = BudgetsApi::new(&config, ACCOUNT);
    api.apply(&api.plan_catalog(&policy.budgets.catalog, None, false).await.unwrap()).await.unwrap();

    let entry = &mut policy.budgets.catalog.entries[0];
    entry.select = Selection::Values(vec![SCOPE_VALUE.to_owned()]);
    entry.amount = 1500.0;
    let kept = api.plan_catalog(&policy.budgets.catalog, None, false).await.unwrap();
    // NOTE: without --prune the tags of budgets outside the catalog are not read: nothing is said of them.
    assert!(kept.kept.is_empty(), "{}", kept.describe());
    assert!(matches!(&kept.changes[..], [Change::Update(u)] if u.budget == ["amount 1000 USD -> 1500 USD"]));

    let pruned = api.plan_catalog(&policy.budgets.catalog, None, true).await.unwrap();
    api.apply(&pruned).await.unwrap();
    let names: Vec<String> = api.budgets().await.unwrap().iter().map(|b| b.budget_name().to_owned()).collect();
    assert!(!names.contains(&"ml-CC-4200".to_owned()), "{names:?}");
    for by_hand in ["ml-marketing", "ml-unscoped", "ML Research Daily", "ml-CC-4100"] {
        assert!(names.contains(&by_hand.to_owned()), "{by_hand} kept: {names:?}");
    }
    let held = api.budgets().await.unwrap();
    let limit = held.iter().find(|b| b.budget_name() == "ml-CC-4100").and_then(|b| b.budget_limit()).unwrap();
    assert_eq!(limit.amount().parse::<f64>().unwrap(), 1500.0);
    assert!(api.plan_catalog(&policy.budgets.catalog, None, true).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_alert_for_an_applied_budget_acts_in_its_scope_and_status_shows_the_step_and_last_enforcement() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let world = seed_budget_world(&emulator, &config, 1).await.expect("seed");
    let ledger = create_ledger(&config).await.unwrap();
    let policy = Policy::example().unwrap();
    let api = BudgetsApi::new(&config, ACCOUNT);
    api.apply(&api.plan_catalog(&policy.budgets.catalog, Some(TOPIC), false).await.unwrap()).await.unwrap();

    // AWS Budgets computes spend; the emulator takes it from UpdateBudget: 1050 of 1000.
    let budgets = aws_sdk_budgets::Client::new(&config);
    let applied = budgets.describe_budget().account_id(ACCOUNT).budget_name("ml-CC-4100").send().await.unwrap();
    let usd = |a: &str| Spend::builder().amount(a).unit("USD").build().unwrap();
    let spent = CalculatedSpend::builder().actual_spend(usd("1050")).forecasted_spend(usd("1200")).build();
    let mut budget = applied.budget().unwrap().clone();
    budget.calculated_spend = Some(spent);
    budgets.update_budget().account_id(ACCOUNT).new_budget(budget).send().await.unwrap();

    let mut alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let sns = &mut alert["Records"][0]["Sns"];
    for field in ["Subject", "Message"] {
        sns[field] = sns[field].as_str().unwrap().replace("ml-marketing", "ml-CC-4100").into();
    }
    let enforcer = BudgetEnforcer::new(Clients::new(&config), Arc::new(policy.clone())).with_ledger(ledger.clone());
    let outcome = enforcer.handle(&alert, false).await.expect("no error");
    let EnforcementOutcome::Enforced(report) = &outcome else { panic!("enforced, got {outcome:?}") };
    let stopped: Vec<&str> =
        report.results.iter().filter(|r| r.action == "stop-notebooks").map(|r| r.resource_arn.as_str()).collect();
    for notebook in &world.in_scope.notebooks_running {
        assert!(stopped.contains(&notebook.as_str()), "{notebook} (cost-center={SCOPE_VALUE}) in scope: {stopped:?}");
    }
    for notebook in &world.out_of_scope.notebooks_running {
        assert!(!stopped.contains(&notebook.as_str()), "{notebook} is another cost center's");
    }

    let held = api.budgets().await.unwrap();
    let names: Vec<&str> = held.iter().map(|b| b.budget_name()).collect();
    let last = last_enforcements(&ledger, &names).await.unwrap();
    let rows = status::rows(&held, &policy.budgets, &last);
    let row = rows.iter().find(|r| r.budget == "ml-CC-4100").unwrap();
    assert_eq!((row.limit, row.actual, row.forecast, row.percent), (1000.0, 1050.0, 1200.0, 105.0));
    assert_eq!((row.rule.as_deref(), row.step), (Some("ml-*"), Some(100.0)));
    let last = row.last.as_ref().expect("the ledger recorded the enforcement");
    assert_eq!(last.step, Some(100.0));
    assert_eq!(last.results, report.results.len(), "every entry of the alert's run, and only those");
    assert!(last.actions.contains(&"stop-notebooks".to_owned()), "{last:?}");
    let other = rows.iter().find(|r| r.budget == "ml-CC-4200").unwrap();
    assert_eq!((other.step, &other.last), (None, &None));
    let page = status::html(&rows, "test");
    assert!(page.contains("ml-CC-4100") && page.contains("100% (ml-*)"));
}
