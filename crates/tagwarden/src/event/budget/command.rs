//! The commands sent to the budget-enforcer directly (no SNS):
//! - `{"tagwarden": "restore", "budget": "ml-marketing"}`: undo what the ledger holds for one budget (all
//!   budgets without `budget`);
//! - `{"tagwarden": "tick"}`: the schedule's, every 5 minutes: restore budgets whose period ended, carry out
//!   plans whose grace passed;
//! - `{"tagwarden": "burn"}`: the burn-rate schedule's, every 10 minutes: estimate each `budgets.burn` rule's
//!   scope and act on those over their limit;
//! - `{"tagwarden": "approve", "plan": "<plan id>"}`: carry out a pending plan;
//! - `{"tagwarden": "idle"}`: the schedule's, every 10 minutes: run the policy's idle rules (idle endpoints,
//!   off-hours);
//! - `{"tagwarden": "continue", "alert": "<MessageId>", "part": 2}`: the next part of an enforcement that did
//!   not fit one invocation (through the continuation queue, see `sqs`).

use serde_json::{Map, Value};

use super::{AlertError, BudgetEvent, clip, json_kind};

/// Reads the command named by the `tagwarden` key, with its arguments (`budget`).
pub(crate) fn parse_command(command: &Value, object: &Map<String, Value>) -> Result<BudgetEvent, AlertError> {
    let name = match command {
        Value::String(c) => c.trim().to_ascii_lowercase(),
        other => return Err(AlertError::UnknownCommand(clip(&other.to_string()))),
    };
    match name.as_str() {
        "restore" => parse_restore(object.get("budget")),
        "tick" => Ok(BudgetEvent::Tick),
        "burn" => Ok(BudgetEvent::Burn),
        "idle" => Ok(BudgetEvent::Idle),
        "approve" => match object.get("plan") {
            Some(Value::String(plan)) if !plan.trim().is_empty() => {
                Ok(BudgetEvent::Approve { plan: plan.trim().to_owned() })
            }
            Some(Value::String(_)) | None | Some(Value::Null) => Err(AlertError::BadCommand(
                "'approve' needs the plan id: {\"tagwarden\": \"approve\", \"plan\": \"p-…\"}".into(),
            )),
            Some(other) => Err(AlertError::BadCommand(format!("'plan' must be a string, got {}", json_kind(other)))),
        },
        "continue" => parse_continue(object),
        _ => Err(AlertError::UnknownCommand(clip(command.as_str().unwrap_or_default()))),
    }
}

fn parse_continue(object: &Map<String, Value>) -> Result<BudgetEvent, AlertError> {
    let alert = match object.get("alert") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => return Err(AlertError::BadCommand("'continue' needs the alert's MessageId in 'alert'".into())),
    };
    match object.get("part").and_then(Value::as_u64).and_then(|p| u32::try_from(p).ok()) {
        Some(part) if part >= 2 => Ok(BudgetEvent::Continue { alert, part }),
        _ => Err(AlertError::BadCommand("'part' must be a whole number from 2".into())),
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
    fn tick_and_approve_are_commands_too() {
        assert_eq!(parse_budget_event(&json!({"tagwarden": "tick"})), Ok(BudgetEvent::Tick));
        assert_eq!(parse_budget_event(&json!({"tagwarden": " Burn "})), Ok(BudgetEvent::Burn));
        assert_eq!(parse_budget_event(&json!({"tagwarden": " Idle "})), Ok(BudgetEvent::Idle));
        assert_eq!(
            parse_budget_event(&json!({"tagwarden": "approve", "plan": " p-1 "})),
            Ok(BudgetEvent::Approve { plan: "p-1".into() })
        );
        let err = parse_budget_event(&json!({"tagwarden": "approve"})).unwrap_err();
        assert!(err.to_string().contains("'approve' needs the plan id"), "{err}");
    }

    #[test]
    fn unknown_or_malformed_commands_are_refused() {
        for (event, expected) in [
            (
                json!({"tagwarden": "start"}),
                "unknown command 'start' (expected 'restore', 'tick', 'burn', 'idle', 'approve' or 'continue')",
            ),
            (
                json!({"tagwarden": 1}),
                "unknown command '1' (expected 'restore', 'tick', 'burn', 'idle', 'approve' or 'continue')",
            ),
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
