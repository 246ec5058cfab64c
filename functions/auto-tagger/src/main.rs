//! auto-tagger Lambda: EventBridge "AWS API Call via CloudTrail" events from `aws.sagemaker` in,
//! tags on the created SageMaker resource out; an EventBridge schedule sweeps the existing estate.
//! With `TAGWARDEN_ORGANIZATION_ACCOUNTS` set, events forwarded from member accounts are handled in
//! their account and region (`tagwarden::org`). With `TAGWARDEN_LEDGER_TABLE` set, the last known values of the
//! tag sources (domains, profiles, spaces) are kept there for tamper repair. All logic lives in the `tagwarden` library.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tagwarden::auto_tagger::AutoTaggerFunction;

// NOTE: one thread: Lambda hands one event at a time and the work waits on AWS; measured against the
// multi-thread runtime in docs/benchmarks.md ("Runtime flavour").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tagwarden::telemetry::init(true, "info");
    // NOTE: an invalid policy or organization setting stops the cold start here, before any event is taken.
    let function = AutoTaggerFunction::from_env().await?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let function = &function;
        async move { function.handle(&event.payload, Some(event.context.deadline())).await }
    }))
    .await
}
