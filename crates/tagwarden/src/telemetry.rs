//! Logging setup: JSON lines in Lambda (CloudWatch reads them), readable text on a terminal.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` filters (else `default_level`). Safe to call twice.
pub fn init(json: bool, default_level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ =
        if json { builder.json().flatten_event(true).without_time().try_init() } else { builder.compact().try_init() };
}
