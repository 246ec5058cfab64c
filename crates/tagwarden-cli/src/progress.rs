//! Progress on a terminal through `indicatif`: drawn on stderr when it is a terminal, nothing otherwise
//! (a pipe or a file gets no control codes; the sweep's JSON lines go to stdout either way).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress line on stderr: `<prefix>: <template>`; hidden when stderr is not a terminal.
pub fn bar(prefix: &'static str, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    // NOTE: the templates are constants of this crate; a bad one falls back to the plain message.
    let style = ProgressStyle::with_template(&format!("{{prefix}}: {template}"))
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_prefix(prefix);
    bar
}

/// The sweep's line: counts so far and the rate, in the message.
pub const SWEEP_TEMPLATE: &str = "{msg}";

/// The audit's line: resources read of those listed so far, and the type being read.
pub const AUDIT_TEMPLATE: &str = "{pos}/{len} resources read ({msg})";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_of_the_commands_parse() {
        for template in [SWEEP_TEMPLATE, AUDIT_TEMPLATE] {
            assert!(ProgressStyle::with_template(&format!("{{prefix}}: {template}")).is_ok(), "{template}");
        }
    }
}
