//! The coverage matrix (`docs/coverage.md`): what Tagwarden does with each SageMaker resource type, read
//! from the resource table ([`crate::resource::KINDS`], [`crate::resource::NOT_HANDLED`]) and the
//! enforcer's action table, so the page cannot drift from the code (a test compares them).
//!
//! In: nothing. Out: the page's Markdown.

use std::fmt::Write as _;

use crate::enforce::ACTIONS;
use crate::resource::{KINDS, NOT_HANDLED, ResourceKind, distinct_kinds};

/// Where the page lives, relative to the repository root.
pub const COVERAGE_FILE: &str = "docs/coverage.md";

/// The enforcer's actions on a kind: the action rows whose candidate types include the kind, when the
/// kind has a way to be stopped ([`ResourceKind::stop`]); with each row's restore, if it has one.
fn enforcement(kind: &ResourceKind) -> Vec<(String, Option<&'static str>)> {
    if kind.stop.is_none() {
        return Vec::new();
    }
    let tagging_type = kind.tagging_type();
    ACTIONS
        .iter()
        .filter(|row| row.resource_types().contains(&tagging_type.as_str()))
        .map(|row| (row.action().to_string(), row.restore_name()))
        .collect()
}

/// The coverage page, as Markdown.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# Coverage: SageMaker resource types\n\n");
    out.push_str(
        "Generated from the resource table (`crates/tagwarden/src/resource/mod.rs`) and the enforcer's action table \
         (`crates/tagwarden/src/enforce/mod.rs`); `crates/tagwarden/tests/coverage.rs` fails when this page \
         differs. Regenerate it with `TAGWARDEN_WRITE_COVERAGE=1 cargo nextest run --workspace -E \
         'test(/coverage_page/)'`.\n\n",
    );
    out.push_str(
        "- **Tagged on create**: the create call is in the auto-tagger's EventBridge rule.\n\
         - **Swept / audited**: the `List*` call the scheduled sweep and `tagwarden audit` walk.\n\
         - **Enforcer action**: the budget-enforcer action that stops, scales or deletes it.\n\
         - **Restored**: what `tagwarden restore` records and undoes for that action.\n\n",
    );
    out.push_str("| Resource type | Tagged on create | Swept / audited | Enforcer action | Restored |\n");
    out.push_str("|---|---|---|---|---|\n");
    for kind in distinct_kinds() {
        let creates: Vec<String> =
            KINDS.iter().filter(|k| k.arn_type == kind.arn_type).map(|k| format!("`{}`", k.create_event)).collect();
        let actions = enforcement(kind);
        let acted = if actions.is_empty() {
            "—".to_owned()
        } else {
            actions.iter().map(|(a, _)| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        };
        let restored: Vec<String> = actions.iter().filter_map(|(_, r)| r.map(|r| format!("`{r}`"))).collect();
        let restored = if restored.is_empty() { "—".to_owned() } else { restored.join(", ") };
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} |",
            kind.arn_type,
            creates.join(", "),
            kind.listing.operation(),
            acted,
            restored
        );
    }
    out.push_str("\n## Create calls deliberately not handled\n\n");
    out.push_str(
        "Every other SageMaker create call that takes `Tags` (aws-sdk-sagemaker 1.248), and why it is not in \
         the table:\n\n",
    );
    out.push_str("| Create call | Why not |\n|---|---|\n");
    let mut not_handled: Vec<_> = NOT_HANDLED.iter().collect();
    not_handled.sort_by_key(|n| n.create_event);
    for n in not_handled {
        let _ = writeln!(out, "| `{}` | {} |", n.create_event, n.reason);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_stopped_kinds_name_their_action() {
        let page = markdown();
        for kind in distinct_kinds() {
            assert_eq!(page.matches(&format!("| `{}` |", kind.arn_type)).count(), 1, "{}", kind.arn_type);
        }
        let notebook = crate::resource::kind_for_arn_type("notebook-instance").unwrap();
        assert_eq!(enforcement(notebook), [("stop-notebooks".to_owned(), Some("restart-notebook"))]);
        let profile = crate::resource::kind_for_arn_type("user-profile").unwrap();
        assert!(enforcement(profile).is_empty(), "the studio-apps action finds apps through profiles, not them");
    }
}
