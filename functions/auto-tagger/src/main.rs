//! auto-tagger Lambda: EventBridge "AWS API Call via CloudTrail" events from `aws.sagemaker` in,
//! tags on the created SageMaker resource out; an EventBridge schedule sweeps the existing estate.
//! All logic lives in the `tagwarden` library.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tagwarden::sweep::{self, Lister};
use tagwarden::{AutoTagger, Clients, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tagwarden::telemetry::init(true, "info");
    // NOTE: an invalid policy stops the cold start here, before any event is taken.
    let clients = Clients::from_env().await;
    let config = Config::load(&clients).await?;
    let tagger = AutoTagger::new(clients.clone(), Arc::new(config.policy), &config.tagger);
    let lister = Lister::new(clients);
    run(service_fn(|event: LambdaEvent<Value>| {
        let (tagger, lister) = (&tagger, &lister);
        async move { sweep::handle_event(tagger, lister, &event.payload, Some(event.context.deadline())).await }
    }))
    .await
}
