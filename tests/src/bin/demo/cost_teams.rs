//! Part five of `make demo`: the cost team's own tools on a fresh emulator — last month's SageMaker spend by
//! cost center from Cost Explorer (`tagwarden costs`), the policy's budget catalog planned and applied to AWS
//! Budgets twice (`tagwarden budgets plan | apply`), an alert for one applied budget enforced in its scope,
//! and `tagwarden budgets status`.

use std::sync::Arc;

use aws_sdk_budgets::types::{CalculatedSpend, Spend};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::seed_budget_world;
use tagwarden_e2e::{ACCOUNT, Emulator, REGION, sample_event};
use tagwarden_ops::budgets::aws::{BudgetsApi, last_enforcements};
use tagwarden_ops::budgets::status;
use tagwarden_ops::costs::{self, CostsQuery, Format, Granularity, Period};

/// The alerts topic every catalog budget notifies (as the stack's `BudgetAlertsTopic`).
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";

/// Last month's SageMaker spend by cost center as Cost Explorer answers it (`key$` is spend without the key).
const SPEND: &[(&str, &str)] =
    &[("cost-center$CC-4100", "1050.00"), ("cost-center$CC-4200", "640.25"), ("cost-center$", "212.40")];

/// Runs part five on its own emulator.
pub async fn cost_teams_part() -> Result<(), String> {
    let emulator = Emulator::start()?;
    let config = emulator.sdk_config(REGION, 3).await;
    println!("\n=== Part 5: the cost team's tools (tagwarden costs, tagwarden budgets) ===\n");

    let today = chrono::Utc::now().date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).ok_or("no first of the month")?;
    let last_month = this_month.checked_sub_months(chrono::Months::new(1)).ok_or("no last month")?;
    emulator.seed_cost_and_usage(&[cost_explorer_answer(last_month, this_month)])?;
    let query = CostsQuery {
        keys: vec!["cost-center".into()],
        period: Period::between(&last_month.to_string(), &this_month.to_string()).map_err(|e| e.to_string())?,
        granularity: Granularity::Monthly,
        by_account: false,
        forecast: false,
        today,
    };
    println!("$ tagwarden costs --tag cost-center --from {last_month} --to {this_month}   (moto's own Cost Explorer)");
    let ce = tagwarden_ops::cost::cost_explorer_client(&config);
    let report = costs::fetch(&ce, &query).await.map_err(|e| e.to_string())?;
    for line in costs::render(&report, Format::Table).lines() {
        println!("  {line}");
    }
    println!("  {}\n", report.calls.summary());

    let world = seed_budget_world(&emulator, &config, 1).await?;
    let policy = Policy::example().map_err(|e| e.to_string())?;
    let api = BudgetsApi::new(&config, ACCOUNT);
    println!("$ tagwarden budgets plan   (policy/tagwarden.yaml budgets.catalog: one budget per cost center)");
    let plan = api.plan_catalog(&policy.budgets.catalog, Some(TOPIC), false).await.map_err(|e| e.to_string())?;
    for line in plan.describe().lines() {
        println!("  {line}");
    }
    let applied = api.apply(&plan).await.map_err(|e| e.to_string())?;
    println!("$ tagwarden budgets apply\n  {} change(s) made ({} AWS calls so far)", applied.len(), api.calls());
    let again = BudgetsApi::new(&config, ACCOUNT);
    let second = again.plan_catalog(&policy.budgets.catalog, Some(TOPIC), false).await.map_err(|e| e.to_string())?;
    let changed = again.apply(&second).await.map_err(|e| e.to_string())?;
    println!(
        "$ tagwarden budgets apply   (again)\n  {} change(s): {} already as the catalog says ({} AWS calls, all reads)\n",
        changed.len(),
        second.unchanged.join(", "),
        again.calls()
    );

    // AWS Budgets computes spend; the emulator takes it from UpdateBudget: $1,050 of $1,000.
    let budgets = aws_sdk_budgets::Client::new(&config);
    let held = budgets.describe_budget().account_id(ACCOUNT).budget_name("ml-CC-4100").send().await;
    let mut budget = held.map_err(|e| format!("DescribeBudget: {e:?}"))?.budget.ok_or("ml-CC-4100 was not applied")?;
    let usd = |amount: &str| Spend::builder().amount(amount).unit("USD").build().map_err(|e| e.to_string());
    budget.calculated_spend =
        Some(CalculatedSpend::builder().actual_spend(usd("1050")?).forecasted_spend(usd("1200")?).build());
    budgets.update_budget().account_id(ACCOUNT).new_budget(budget).send().await.map_err(|e| format!("{e:?}"))?;

    let mut alert = sample_event("budget-enforcer", "actual-105-percent.json")?;
    let sns = &mut alert["Records"][0]["Sns"];
    for field in ["Subject", "Message"] {
        let text = sns[field].as_str().unwrap_or_default().replace("ml-marketing", "ml-CC-4100");
        sns[field] = Value::from(text);
    }
    let ledger = tagwarden_e2e::ledger::create_ledger(&config).await?;
    let enforcer = BudgetEnforcer::new(Clients::new(&config), Arc::new(policy.clone())).with_ledger(ledger.clone());
    let outcome = enforcer.handle(&alert, false).await.map_err(|e| e.to_string())?;
    if let EnforcementOutcome::Enforced(r) = &outcome {
        let stopped = r.results.iter().filter(|x| x.action == "stop-notebooks" && x.result.is_done()).count();
        println!(
            "AWS Budgets alerts ml-CC-4100 at 105 %: the enforcer acts in {} ({} action results; {stopped} of {} running \
             notebooks of CC-4100 stopped, none of CC-4200's {})",
            r.scope,
            r.results.len(),
            world.in_scope.notebooks_running.len(),
            world.out_of_scope.notebooks_running.len()
        );
    }

    println!("\n$ tagwarden budgets status");
    let held = api.budgets().await.map_err(|e| e.to_string())?;
    let names: Vec<&str> = held.iter().map(|b| b.budget_name()).collect();
    let last = last_enforcements(&ledger, &names).await.map_err(|e| e.to_string())?;
    for line in status::table(&status::rows(&held, &policy.budgets, &last)).lines() {
        println!("  {line}");
    }
    Ok(())
}

/// One `GetCostAndUsage` answer for `[start, end)`, monthly, grouped by cost center.
fn cost_explorer_answer(start: NaiveDate, end: NaiveDate) -> Value {
    let groups: Vec<Value> = SPEND
        .iter()
        .map(|(key, amount)| json!({"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}))
        .collect();
    json!({
        "GroupDefinitions": [],
        "ResultsByTime": [{"TimePeriod": {"Start": start.to_string(), "End": end.to_string()},
                           "Total": {}, "Groups": groups, "Estimated": false}],
        "DimensionValueAttributes": []
    })
}
