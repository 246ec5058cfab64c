//! Tagwarden's operator side: what the `tagwarden` CLI, the demo and the end-to-end tests run, and the two
//! Lambda functions never do.
//!
//! - [`audit`]: how well the estate's tags comply with the policy (table, JSON, CSV, HTML).
//! - [`budgets`]: budgets as code (the policy's `budgets.catalog` planned against AWS Budgets) and the
//!   budgets status report.
//! - [`cost`]: cost allocation: activating the policy's keys in Cost Explorer, Athena named queries over
//!   the CUR, cost reports by tag value.
//! - [`costs`]: SageMaker spend by tag value from Cost Explorer (`tagwarden costs`), with shares and forecasts.
//! - [`csv_cell`]: the one CSV cell writer, neutralising formula-looking values (CSV injection).
//! - [`guardrails`]: IAM, SCP and Organizations tag policies generated from the tag policy (untagged creation,
//!   the tag sources, source identity).
//!
//! They live in their own crate so that neither Lambda compiles them or links `aws-sdk-costexplorer`:
//! the functions depend on `tagwarden` only. Everything here builds on `tagwarden`'s public API
//! (policy, resource table, sweep listing, tag reads); nothing in `tagwarden` depends on this crate.

pub mod audit;
pub mod budgets;
pub mod cost;
pub mod costs;
pub mod csv_cell;
pub mod guardrails;
