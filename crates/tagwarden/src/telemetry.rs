//! Logging setup: JSON lines in Lambda (CloudWatch reads them), readable text on a terminal.
//!
//! The SDK, HTTP, TLS and Lambda runtime crates log signed headers, canonical requests and bodies at
//! `debug`/`trace`; they are capped at `info` whatever `RUST_LOG` asks, so logs never carry credentials
//! or request bodies. Tagwarden's own log lines name resources and outcomes, with values [`clip`]ped.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Target prefixes whose events below `info` may carry credentials or request bodies.
const CAPPED: &[&str] = &["aws_", "hyper", "h2", "rustls", "tower", "lambda_runtime"];

/// Longest text a log field carries; the rest is counted, not shown.
pub const MAX_FIELD_CHARS: usize = 200;

/// Installs the global subscriber; `RUST_LOG` filters (else `default_level`). Safe to call twice.
pub fn init(json: bool, default_level: &str) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(default_level))
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ =
        if json { builder.json().flatten_event(true).without_time().try_init() } else { builder.compact().try_init() };
}

/// `RUST_LOG` (else `default_level`), with the [`CAPPED`] crates held at `info` or below.
fn filter(default_level: &str) -> EnvFilter {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let cap = filter.max_level_hint().unwrap_or(LevelFilter::INFO).min(LevelFilter::INFO);
    CAPPED.iter().fold(filter, |filter, target| match format!("{target}={cap}").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    })
}

/// `text` cut to [`MAX_FIELD_CHARS`] characters, saying how many were left out.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_FIELD_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…(+{} chars)", &text[..end], text[end..].chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character_boundary() {
        assert_eq!(clip("cost-center"), "cost-center");
        let long = "é".repeat(MAX_FIELD_CHARS + 56);
        let clipped = clip(&long);
        assert!(clipped.starts_with(&"é".repeat(MAX_FIELD_CHARS)));
        assert!(clipped.ends_with("…(+56 chars)"), "{clipped}");
    }
}
