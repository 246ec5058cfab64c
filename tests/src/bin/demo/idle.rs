//! Part seven of `make demo`: the idle rules on a fresh emulator — an endpoint without invocations for three
//! days is told to its owner, then scaled to its minimum once its grace has passed, while one with traffic
//! is left alone; a dev notebook is stopped at 20:00 in Berlin and a production one is not; and what that
//! saves, in hours × the on-demand price (docs/idle.md cites it).

use std::sync::Arc;

use aws_sdk_sagemaker::types::{InstanceType, ProductionVariantInstanceType};
use chrono::{DateTime, Duration, Utc};
use tagwarden::enforce::idle::IdleReport;
use tagwarden::{BudgetEnforcer, EnforcementOutcome, Policy};
use tagwarden_e2e::idle::{IDLE_POLICY, idle_world};
use tagwarden_e2e::{Emulator, REGION};

/// On-demand price of ml.m5.xlarge real-time inference (hosting) in us-east-1, USD an hour: the emulator's
/// Price List record, as docs/references.md cites it.
const M5_XLARGE_HOSTING_PER_HOUR: f64 = 0.269;
/// On-demand price of an ml.m5.xlarge notebook instance in us-east-1, USD an hour (docs/idle.md cites it).
const M5_XLARGE_NOTEBOOK_PER_HOUR: f64 = 0.23;
/// Hours a week the off-hours rule keeps a notebook stopped: four weeknights 20:00–08:00 and Friday 20:00 to
/// Monday 08:00.
const OFF_HOURS_A_WEEK: f64 = 4.0 * 12.0 + 60.0;

async fn run(enforcer: &BudgetEnforcer, now: DateTime<Utc>) -> Result<IdleReport, String> {
    match enforcer.idle_at(now, false).await.map_err(|e| e.to_string())? {
        EnforcementOutcome::Idle(report) => Ok(report),
        other => Err(format!("expected the idle rules' report, got {}", other.label())),
    }
}

fn show(report: &IdleReport) {
    for d in &report.endpoints {
        let step = serde_json::to_value(&d.step).ok().and_then(|v| v["step"].as_str().map(str::to_owned));
        let verdict = serde_json::to_value(d.verdict).ok().and_then(|v| v["verdict"].as_str().map(str::to_owned));
        println!(
            "    {:<14} {:<6} -> {}",
            d.endpoint.rsplit('/').next().unwrap_or_default(),
            verdict.unwrap_or_default(),
            step.unwrap_or_default()
        );
    }
    for o in &report.off_hours {
        println!("    {} at {}: {}", o.rule, o.local_time, o.done);
    }
    for r in &report.results {
        println!("    {} {}: {}", r.action, r.resource_arn.rsplit('/').next().unwrap_or_default(), r.result);
    }
    if report.notices > 0 {
        println!("    {} notice(s) published", report.notices);
    }
}

/// Runs part six on its own emulator.
pub async fn idle_part() -> Result<(), String> {
    let emulator = Emulator::start()?;
    let config = emulator.sdk_config(REGION, 3).await;
    println!("\n=== Part 7: idle rules (idle endpoints, off-hours) ===\n");
    let world = idle_world(&config).await?;
    let policy = Arc::new(Policy::from_yaml(IDLE_POLICY, "demo idle policy").map_err(|e| e.to_string())?);
    let enforcer = BudgetEnforcer::new(world.clients.clone(), policy)
        .with_ledger(world.ledger.clone())
        .with_cloudwatch(world.cloudwatch.clone());
    world.endpoint("churn-dev", "dev", 3, ProductionVariantInstanceType::MlM5Xlarge).await?;
    world.endpoint("search-dev", "dev", 2, ProductionVariantInstanceType::MlM5Xlarge).await?;
    world.notebook("ana-dev", "dev", InstanceType::MlM5Xlarge).await?;
    world.notebook("ana-prod", "prod", InstanceType::MlM5Xlarge).await?;
    println!("Rule dev-endpoints: environment=dev endpoints without Invocations for 3 days are told to their owner,");
    println!(
        "then scaled to their minimum a day later. churn-dev: 3 x ml.m5.xlarge, no traffic; search-dev: 42 calls."
    );
    let t0 = Utc::now() + Duration::days(4);
    world.invocations("search-dev", 42.0, t0 - Duration::hours(30)).await?;
    println!("\n  run 1 (4 days later):");
    show(&run(&enforcer, t0).await?);
    println!("  run 2 (12 hours later, in the grace):");
    show(&run(&enforcer, t0 + Duration::hours(12)).await?);
    println!("  run 3 (25 hours later, the grace over):");
    show(&run(&enforcer, t0 + Duration::hours(25)).await?);
    println!(
        "  churn-dev now runs {} instance(s), search-dev {}.",
        world.instances("churn-dev").await?,
        world.instances("search-dev").await?
    );

    println!("\nRule dev-evenings: environment=dev notebooks stop at 20:00 Europe/Berlin on weekdays, start at 08:00.");
    let evening = DateTime::parse_from_rfc3339("2026-12-08T19:05:00Z").map_err(|e| e.to_string())?.with_timezone(&Utc);
    println!("  run at {evening} (a Tuesday):");
    show(&run(&enforcer, evening).await?);
    println!(
        "  ana-dev is {:?}, ana-prod {:?}.",
        world.notebook_status("ana-dev").await?,
        world.notebook_status("ana-prod").await?
    );

    let endpoint_hour = 2.0 * M5_XLARGE_HOSTING_PER_HOUR;
    let notebook_week = OFF_HOURS_A_WEEK * M5_XLARGE_NOTEBOOK_PER_HOUR;
    println!("\nSaved (on-demand ml.m5.xlarge, us-east-1; docs/idle.md):");
    println!(
        "  churn-dev: 2 instances x ${M5_XLARGE_HOSTING_PER_HOUR:.3} = ${endpoint_hour:.3} an hour, ${:.2} a day, ${:.0} a month of 30 days",
        endpoint_hour * 24.0,
        endpoint_hour * 24.0 * 30.0
    );
    println!(
        "  ana-dev: {OFF_HOURS_A_WEEK:.0} off-hours a week x ${M5_XLARGE_NOTEBOOK_PER_HOUR:.2} = ${notebook_week:.2} a week"
    );
    Ok(())
}
