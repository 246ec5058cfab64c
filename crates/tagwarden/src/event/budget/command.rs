//! The `restore` command, sent to the budget-enforcer directly (no SNS):
//! `{"tagwarden": "restore", "budget": "ml-marketing"}`; without `budget` it means all budgets.

use serde_json::Value;

use super::{AlertError, BudgetEvent, clip, json_kind};

/// Reads the command named by the `tagwarden` key, with its optional `budget`.
pub(super) fn parse_command(command: &Value, budget: Option<&Value>) -> Result<BudgetEvent, AlertError> {
    match command {
        Value::String(c) if c.trim().eq_ignore_ascii_case("restore") => {}
        Value::String(c) => return Err(AlertError::UnknownCommand(clip(c))),
        other => return Err(AlertError::UnknownCommand(clip(&other.to_string()))),
    }
    let budget = match budget {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if name.trim().is_empty() => {
            return Err(AlertError::BadCommand("'budget' is empty; leave it out to restore all budgets".into()));
        }
        Some(Value::String(name)) => Some(name.trim().to_string()),
        Some(other) => {
            return Err(AlertError::BadCommand(format!("'budget' must be a string, got {}", json_kind(other))));
        }
    };
    Ok(BudgetEvent::Restore { budget })
}

#[cfg(test)]
mod tests {
    use super::super::parse_budget_event;
    use super::*;
    use serde_json::json;

    #[test]
    fn restore_command_names_one_budget_or_all() {
        assert_eq!(
            parse_budget_event(&json!({"tagwarden": "restore", "budget": "ml-marketing"})),
            Ok(BudgetEvent::Restore { budget: Some("ml-marketing".into()) })
        );
        assert_eq!(parse_budget_event(&json!({"tagwarden": "restore"})), Ok(BudgetEvent::Restore { budget: None }));
    }

    #[test]
    fn unknown_or_malformed_commands_are_refused() {
        for (event, expected) in [
            (json!({"tagwarden": "start"}), "unknown command 'start' (expected 'restore')"),
            (json!({"tagwarden": 1}), "unknown command '1' (expected 'restore')"),
            (
                json!({"tagwarden": "restore", "budget": 7}),
                "invalid restore command: 'budget' must be a string, got a number",
            ),
            (
                json!({"tagwarden": "restore", "budget": " "}),
                "invalid restore command: 'budget' is empty; leave it out to restore all budgets",
            ),
        ] {
            assert_eq!(parse_budget_event(&event).unwrap_err().to_string(), expected);
        }
    }
}
