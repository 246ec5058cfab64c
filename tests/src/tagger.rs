//! The auto-tagger over the demo world: one emulator, the world seeded, the example policy; replay an
//! event and read the resource's tags back.

use std::sync::Arc;

use aws_config::SdkConfig;
use serde_json::Value;
use tagwarden::tagging::apply::list_tags;
use tagwarden::tagging::{TaggerSettings, Tags};
use tagwarden::{AutoTagger, Clients, Outcome, Policy};

use crate::world::{create_resource, seed_world};
use crate::{CallCount, Emulator, REGION, sample_event};

/// The auto-tagger and the emulator it talks to, with the demo world seeded.
pub struct TaggerWorld {
    /// The emulator (its call counts, its admin endpoints).
    pub emulator: Emulator,
    /// The SDK configuration that reaches it.
    pub config: SdkConfig,
    /// Clients built once from `config`.
    pub clients: Clients,
    /// The auto-tagger under test, with the example policy.
    pub tagger: AutoTagger,
}

impl TaggerWorld {
    /// Starts an emulator and seeds the demo world (the emulator needs `make venv`).
    pub async fn start() -> Result<Self, String> {
        let emulator = Emulator::start().map_err(|e| format!("emulator (run `make venv` first): {e}"))?;
        let config = emulator.sdk_config(REGION, 1).await;
        seed_world(&config).await?;
        let clients = Clients::new(&config);
        let policy = Arc::new(Policy::example().map_err(|e| format!("example policy: {e}"))?);
        let tagger = AutoTagger::new(clients.clone(), policy, &TaggerSettings::default());
        Ok(Self { emulator, config, clients, tagger })
    }

    /// Creates the resource of sample event `file` as AWS would have, then replays the event; returns the
    /// outcome and the AWS calls the handler made.
    pub async fn replay(&self, file: &str) -> Result<(Outcome, CallCount), String> {
        let event = sample_event("auto-tagger", file).map_err(|e| format!("{file}: {e}"))?;
        self.replay_event(&event).await
    }

    /// [`Self::replay`] for an event built by the test; a retryable error is an `Err`.
    pub async fn replay_event(&self, event: &Value) -> Result<(Outcome, CallCount), String> {
        create_resource(&self.config, event).await?;
        self.emulator.reset_calls()?;
        let outcome = self.tagger.handle(event).await.map_err(|e| format!("retryable error: {e}"))?;
        Ok((outcome, self.emulator.calls()?))
    }

    /// The resource's tags now.
    pub async fn tags(&self, arn: &str) -> Result<Tags, String> {
        list_tags(&self.clients, arn).await.map_err(|e| format!("ListTags {arn}: {e}"))
    }
}
