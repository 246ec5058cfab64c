//! Logging setup: JSON lines in Lambda (CloudWatch reads them), readable text on a terminal.
//!
//! The SDK, HTTP, TLS and Lambda runtime crates log signed headers, canonical requests and bodies at
//! `debug`/`trace`; they are capped at `info` whatever `RUST_LOG` asks, so logs never carry credentials
//! or request bodies. Tagwarden's own log lines name resources and outcomes, with values [`clip`]ped.

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Target prefixes whose events below `info` may carry credentials or request bodies.
const CAPPED: &[&str] = &["aws_", "hyper", "h2", "rustls", "tower", "lambda_runtime"];

/// Longest text a log field carries; the rest is counted, not shown.
pub const MAX_FIELD_CHARS: usize = 200;

/// Installs the global subscriber; `RUST_LOG` filters (else `default_level`). Safe to call twice.
pub fn init(json: bool, default_level: &str) {
    let directives = std::env::var("RUST_LOG").unwrap_or_default();
    let _ = tracing_subscriber::registry().with(layer(json, &directives, default_level, std::io::stderr)).try_init();
}

/// The formatting layer: `directives` (else `default_level`) AND the cap, as two filters that must both
/// agree. The cap is a separate filter, not a directive added to the user's, because `EnvFilter` lets the
/// most specific directive win: `aws_sigv4=trace` would beat an added `aws_=info`.
fn layer<S, W>(json: bool, directives: &str, default_level: &str, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let user = EnvFilter::try_new(directives)
        .ok()
        .filter(|_| !directives.trim().is_empty())
        .unwrap_or_else(|| EnvFilter::new(default_level));
    let filter = user.and(filter_fn(within_cap));
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer).with_target(false);
    if json {
        fmt.json().flatten_event(true).without_time().with_filter(filter).boxed()
    } else {
        fmt.compact().with_filter(filter).boxed()
    }
}

/// False for spans and events below `info` from the [`CAPPED`] crates, whatever `RUST_LOG` says.
fn within_cap(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || !CAPPED.iter().any(|prefix| meta.target().starts_with(prefix))
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

    use std::sync::{Arc, Mutex};
    use tracing::{debug, info, trace};
    use tracing_subscriber::Registry;

    /// Log lines written with `RUST_LOG` set to `directives`, after one event per (target, level) below.
    fn logged_with(directives: &str) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let writer = move || Sink(sink.clone());
        let subscriber = Registry::default().with(layer::<Registry, _>(true, directives, "info", writer));
        tracing::subscriber::with_default(subscriber, || {
            macro_rules! from_the_sdk {
                ($($target:literal),*) => {$(
                    trace!(target: $target, "trace-from-sdk x-amz-security-token: SECRET");
                    debug!(target: $target, "debug-from-sdk canonical request");
                    info!(target: $target, "info-from-sdk");
                )*};
            }
            from_the_sdk!("aws_sigv4::http_request::sign", "aws_smithy_runtime::client::orchestrator", "hyper_util");
            debug!(target: "tagwarden::tagging", "debug-from-tagwarden");
        });
        let bytes = out.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rust_log_aws_sigv4_trace_emits_nothing_below_info_from_the_sdk() {
        let logged = logged_with("aws_sigv4=trace,aws_=trace,debug");
        assert!(!logged.contains("SECRET") && !logged.contains("trace-from-sdk"), "{logged}");
        assert!(!logged.contains("debug-from-sdk"), "{logged}");
        assert_eq!(logged.matches("info-from-sdk").count(), 3, "{logged}");
        assert!(logged.contains("debug-from-tagwarden"), "the user's filter still applies elsewhere: {logged}");
    }

    #[test]
    fn rust_log_aws_smithy_runtime_trace_emits_nothing_below_info_from_the_sdk() {
        let logged = logged_with("aws_smithy_runtime=trace,aws_smithy_runtime::client::orchestrator=trace,trace");
        assert!(!logged.contains("trace-from-sdk") && !logged.contains("debug-from-sdk"), "{logged}");
        assert!(logged.contains("info-from-sdk"), "{logged}");
    }

    #[test]
    fn rust_log_that_asks_for_less_than_info_is_still_obeyed() {
        let logged = logged_with("warn");
        assert!(!logged.contains("info-from-sdk") && !logged.contains("debug-from-tagwarden"), "{logged}");
        assert!(logged_with("").contains("info-from-sdk"), "empty RUST_LOG falls back to the default level");
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character_boundary() {
        assert_eq!(clip("cost-center"), "cost-center");
        let long = "é".repeat(MAX_FIELD_CHARS + 56);
        let clipped = clip(&long);
        assert!(clipped.starts_with(&"é".repeat(MAX_FIELD_CHARS)));
        assert!(clipped.ends_with("…(+56 chars)"), "{clipped}");
    }
}
