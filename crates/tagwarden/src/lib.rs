//! Tagwarden: cost-allocation tagging and budget guardrails for Amazon SageMaker.
//!
//! The library holds all domain logic and all AWS calls; the Lambda binaries and the `tagwarden` CLI
//! only wire it up. Decisions are pure functions over plain data ([`tagging::plan_tags`]); the
//! `apply` modules read inputs and carry plans out with the SDK [`aws::Clients`].

pub mod audit;
pub mod aws;
pub mod cache;
pub mod config;
pub mod cost;
pub mod enforce;
pub mod event;
pub mod guardrails;
pub mod identity;
pub mod org;
pub mod permissions;
pub mod policy;
pub mod resource;
pub mod sweep;
pub mod tagging;
pub mod telemetry;

pub use aws::{AwsError, Clients};
pub use config::{Config, ConfigError};
pub use enforce::{BudgetEnforcer, EnforcementOutcome};
pub use policy::{Policy, PolicyError};
pub use tagging::{AutoTagger, Outcome};
