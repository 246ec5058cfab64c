//! Tagwarden: cost-allocation tagging and budget guardrails for Amazon SageMaker.
//!
//! The library holds the domain logic and the AWS calls that the two Lambda functions run; the Lambda
//! binaries and the `tagwarden` CLI only wire it up. Decisions are pure functions over plain data
//! ([`tagging::plan_tags`]); the `apply` modules read inputs and carry plans out with the SDK [`Clients`].
//! What only an operator runs from a laptop (the audit, cost allocation with Cost Explorer and Athena,
//! guardrail generation) lives in the `tagwarden-ops` crate, so neither function compiles it.
//!
//! # Layering
//!
//! Modules only import from layers below them; no import circle. At the bottom are the leaves, which
//! import nothing from the crate: [`ids`] (account, OU and partition checks), [`resource`] (the table of
//! SageMaker kinds and ARNs), [`event`] (what arrives), [`aws`] (clients and the call policy), and the
//! private `cache` and [`telemetry`] helpers. Above them: [`identity`] (who created a resource, from
//! `event` and `resource`), [`policy`] (the one configuration model; its overrides check ids through
//! `ids`, its key and value rules come from the leaf `tagging::rules`) and [`org`] (organization scale:
//! membership and per-account clients, from `aws` and `ids`; it has its own [`org::OrganizationError`]
//! rather than importing `config`). Then the work: [`tagging`] (plan, apply, tamper repair), [`sweep`]
//! (listing and back-fill), [`enforce`] (budget actions) and [`permissions`] (the IAM manifest derived
//! from the tables). At the top, `config` assembles the policy, the tagger's settings and the
//! organization from the environment ([`Config`]); only the Lambda wiring (`tagging::lambda`,
//! the handlers) and the binaries sit above it. Checked by reading the `use` lines module by module
//! (`cargo modules`, from crates.io, draws the same graph).

pub mod aws;
mod cache;
mod config;
pub mod enforce;
pub mod event;
pub mod identity;
pub mod ids;
pub mod org;
pub mod permissions;
pub mod policy;
pub mod resource;
pub mod sweep;
pub mod tagging;
pub mod telemetry;

pub use aws::{AwsError, CallPolicy, Clients};
pub use config::{Config, ConfigError};
pub use enforce::{BudgetEnforcer, EnforcementOutcome};
pub use org::{ClientPool, Organization, OrganizationError};
pub use policy::{Policy, PolicyError};
pub use tagging::{AutoTagger, Outcome};
