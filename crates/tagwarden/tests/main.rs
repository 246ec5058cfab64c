//! The library's integration tests: fault injection, properties, sample events and the templates.
//!
//! One test binary for the directory (see `autotests = false` in Cargo.toml), so the SDK is linked once.

mod budget_samples;
mod coverage;
mod deny_policy;
mod docs_links;
mod faults;
mod member_template;
mod properties;
mod sample_events;
mod template;
