//! The end-to-end tests: the real handler code against the local emulator, one module per area.
//!
//! One test binary for the directory, so the AWS SDK is linked once; `cargo nextest` (what `make test`
//! runs) still gives every test its own process and emulator.

mod anomalies;
mod audit;
mod auto_tagger;
mod budget_enforcer;
mod budgets_as_code;
mod burn;
mod burn_steps;
mod continuation;
mod corpus;
mod cost;
mod costs;
mod creator_names;
mod deny_instance_types;
mod every_dollar;
mod evidence;
mod exemptions;
mod history;
mod idle;
mod idle_delete;
mod idle_fanout;
mod kinds;
mod ledger;
mod load;
mod notices;
mod org;
mod org_budget;
mod outage;
mod pauses;
mod plans;
mod profile_budgets;
mod reserved_tags;
mod routing;
mod scaling;
mod source_repair;
mod stops;
mod studio_idle;
mod sweep;
mod sweep_queue;
mod tamper;
mod throttling;
mod verified_alerts;
