//! auto-tagger Lambda: EventBridge "AWS API Call via CloudTrail" events from `aws.sagemaker` in,
//! tags on the created SageMaker resource out. All logic lives in the `tagwarden` library.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tagwarden::{AutoTagger, Clients, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tagwarden::telemetry::init(true, "info");
    // NOTE: an invalid policy stops the cold start here, before any event is taken.
    let clients = Clients::from_env().await;
    let config = Config::load(&clients).await?;
    let tagger = AutoTagger::new(clients, Arc::new(config.policy), &config.tagger);
    run(service_fn(|event: LambdaEvent<Value>| {
        let tagger = &tagger;
        async move { tagger.handle(&event.payload).await }
    }))
    .await
}
