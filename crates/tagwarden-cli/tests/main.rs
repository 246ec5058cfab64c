//! The `tagwarden` command's tests: the built binary run against the local emulator and sample files.
//!
//! One test binary for the directory (see `autotests = false` in Cargo.toml), so the SDK is linked once.

mod activate_tags;
mod corpus;
mod costs;
mod cur_report;
mod history;
mod logs;
mod replay;
mod sweep;
