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
//! import nothing from the crate but other leaves: [`ids`] (account, OU and partition checks), [`grant`]
//! (what an IAM permission is), [`tag_rules`] (SageMaker's key and value rules), [`resource`] (the registry
//! of SageMaker kinds, their calls and ARNs), [`event`] (what arrives), [`aws`] (clients and the call
//! policy), [`date`] (calendar days, over `chrono`), [`notice`] (the one shape of every SNS notice, over `aws`), and the private `cache` and [`telemetry`] helpers. Above them: [`identity`] (who created a
//! resource, from `event` and `resource`), [`policy`] (the one configuration model, from `ids` and
//! `tag_rules`) and [`org`] (organization scale: membership and per-account clients, from `aws` and `ids`;
//! it has its own [`org::OrganizationError`] rather than importing `config`). Then `config`, which
//! assembles the policy, the tagger's settings and the organization from the environment ([`Config`]).
//! Then the work: [`budgets`] (budgets as code: the catalog planned against AWS Budgets, from `policy` and
//! `aws`), [`studio_idle`] (the idle shutdown of Studio domains, profiles and spaces: a pure check and its
//! `Describe*`/`Update*` calls, from `policy`, `resource` and `aws`), [`tagging`] (plan, apply, tamper repair, a profile's budgets through `budgets`), [`sweep`] (listing and back-fill, through
//! `tagging`), [`enforce`] (budget actions, one module per action family) and [`permissions`] (the IAM
//! manifest gathered from the registry and the action table). At the top, the Lambda wiring:
//! [`auto_tagger`] (tagging and the scheduled sweep) and `enforce`'s handler, under the two binaries.
//! Checked by reading the `use` lines module by module (`cargo modules`, from crates.io, draws the same
//! graph). [`deny_policy`] (the document `deny-iam` attaches) is a leaf too; [`policy`] also reads [`resource`]
//! (the kinds exemptions name), and [`tagging`] holds the reserved `tagwarden:` key namespace.

pub mod auto_tagger;
pub mod aws;
pub mod budgets;
mod cache;
mod config;
pub mod coverage;
pub mod date;
pub mod deny_policy;
pub mod enforce;
pub mod event;
pub mod grant;
pub mod identity;
pub mod ids;
pub mod notice;
pub mod org;
pub mod pace;
pub mod permissions;
pub mod policy;
pub mod pricing;
pub mod resource;
pub mod sqs;
pub mod studio_idle;
pub mod sweep;
pub mod tag_rules;
pub mod tagging;
pub mod telemetry;

pub use aws::{AwsError, CallPolicy, Clients};
pub use config::{Config, ConfigError};
pub use enforce::{BudgetEnforcer, EnforcementOutcome};
pub use org::{ClientPool, Organization, OrganizationError};
pub use policy::{Policy, PolicyError};
pub use tagging::{AutoTagger, Outcome};
