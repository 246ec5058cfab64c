//! auto-tagger Lambda: EventBridge "AWS API Call via CloudTrail" events from `aws.sagemaker` in,
//! tags on the created SageMaker resource out; an EventBridge schedule sweeps the existing estate.
//! With `TAGWARDEN_ORGANIZATION_ACCOUNTS` set, events forwarded from member accounts are handled in
//! their account and region (`tagwarden::org`). All logic lives in the `tagwarden` library.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tagwarden::org::{ClientPool, Organization};
use tagwarden::sweep::{self, Lister};
use tagwarden::tagging::org::OrgTagger;
use tagwarden::{AutoTagger, Clients, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tagwarden::telemetry::init(true, "info");
    // NOTE: an invalid policy or organization setting stops the cold start here, before any event is taken.
    if let Some(organization) = Organization::from_env()? {
        let pool = ClientPool::from_env(organization, "auto-tagger").await?;
        let config = Config::load(pool.home()).await?;
        let tagger = OrgTagger::new(pool.clone(), Arc::new(config.policy), &config.tagger);
        let lister = Lister::new(pool.home().clone());
        return run(service_fn(|event: LambdaEvent<Value>| {
            let (tagger, lister) = (&tagger, &lister);
            async move {
                if sweep::is_schedule(&event.payload) {
                    let deadline = Some(event.context.deadline());
                    return sweep::handle_event(tagger.home(), lister, &event.payload, deadline).await;
                }
                let outcome = tagger.handle(&event.payload).await?;
                Ok(serde_json::to_value(outcome).unwrap_or(Value::Null))
            }
        }))
        .await;
    }
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
