//! The operator crate's integration tests: the generated Athena queries and guardrail policies.
//!
//! One test binary for the directory (see `autotests = false` in Cargo.toml).

mod athena;
mod guardrails;
