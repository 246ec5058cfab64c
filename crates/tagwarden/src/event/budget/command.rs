//! The commands sent to the budget-enforcer directly (no SNS):
//! - `{"tagwarden": "restore", "budget": "ml-marketing"}`: undo what the ledger holds for one budget (all
//!   budgets without `budget`);
//! - `{"tagwarden": "tick"}`: the schedule's, every 5 minutes: restore budgets whose period ended.

use serde_json::{Map, Value};

use super::{AlertError, BudgetEvent, clip, json_kind};

/// Reads the command named by the `tagwarden` key, with its arguments (`budget`).
pub(super) fn parse_command(command: &Value, object: &Map<String, Value>) -> Result<BudgetEvent, AlertError> {
    let name = match command {
        Value::String(c) => c.trim().to_ascii_lowercase(),
        other => return Err(AlertError::UnknownCommand(clip(&other.to_string()))),
    };
    match name.as_str() {
        "restore" => parse_restore(object.get("budget")),
        "tick" => Ok(BudgetEvent::Tick),
        _ => Err(AlertError::UnknownCommand(clip(command.as_str().unwrap_or_default()))),
    }
}

fn parse_restore(budget: Option<&Value>) -> Result<BudgetEvent, AlertError> {
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
    fn tick_is_a_command_too() {
        assert_eq!(parse_budget_event(&json!({"tagwarden": "tick"})), Ok(BudgetEvent::Tick));
    }

    #[test]
    fn unknown_or_malformed_commands_are_refused() {
        for (event, expected) in [
            (json!({"tagwarden": "start"}), "unknown command 'start' (expected 'restore' or 'tick')"),
            (json!({"tagwarden": 1}), "unknown command '1' (expected 'restore' or 'tick')"),
            (json!({"tagwarden": "restore", "budget": 7}), "invalid command: 'budget' must be a string, got a number"),
            (
                json!({"tagwarden": "restore", "budget": " "}),
                "invalid command: 'budget' is empty; leave it out to restore all budgets",
            ),
        ] {
            assert_eq!(parse_budget_event(&event).unwrap_err().to_string(), expected);
        }
    }
}
