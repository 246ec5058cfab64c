//! budget-enforcer Lambda: AWS Budgets alerts (SNS) and restore commands in, actions on the SageMaker
//! resources the budget pays for out. All logic lives in the `tagwarden` library.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tagwarden::BudgetEnforcer;
use tagwarden::enforce::continuation::work_deadline;

// NOTE: one thread: Lambda hands one event at a time and the work waits on AWS; measured against the
// multi-thread runtime in docs/benchmarks.md ("Runtime flavour").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tagwarden::telemetry::init(true, "info");
    // NOTE: an invalid policy stops the cold start here, before any alert is taken.
    // NOTE: with TAGWARDEN_ORGANIZATION_ACCOUNTS set, member accounts are reached through the member role.
    let enforcer = BudgetEnforcer::from_env().await?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let enforcer = &enforcer;
        // NOTE: with a continuation queue, work stops starting before the deadline and the rest is handed on.
        let deadline = work_deadline(event.context.deadline());
        async move { enforcer.handle_lambda_until(&event.payload, Some(deadline)).await }
    }))
    .await
}
