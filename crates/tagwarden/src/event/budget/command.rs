//! The commands sent to the budget-enforcer directly (no SNS):
//! - `{"tagwarden": "restore", "budget": "ml-marketing"}`: undo what the ledger holds for one budget (all
//!   budgets without `budget`);
//! - `{"tagwarden": "tick"}`: the schedule's, every 5 minutes: restore budgets whose period ended, carry out
//!   plans whose grace passed;
//! - `{"tagwarden": "burn"}`: the burn-rate schedule's, every 10 minutes: estimate each `budgets.burn` rule's
//!   scope and act on those over their limit;
//! - `{"tagwarden": "approve", "plan": "<plan id>"}`: carry out a pending plan;
//! - `{"tagwarden": "idle"}`: the schedule's, every 10 minutes: run the policy's idle rules (idle endpoints,
//!   off-hours), or, in an organization with a queue, queue one message per place:
//!   `{"tagwarden": "idle", "account": "…", "region": "…", "at": "<RFC 3339 tick>"}` ([`IdlePlace`]);
//! - `{"tagwarden": "continue", "alert": "<MessageId>", "part": 2}`: the next part of an enforcement that did
//!   not fit one invocation (through the continuation queue, see `sqs`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::{AlertError, BudgetEvent, clip, json_kind};

/// One place's share of an idle tick: run the idle rules in `account` and `region` as at `at`. It only
/// names a place and a tick; what to do comes from the policy, and the enforcer checks the place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdlePlace {
    /// The account (12 digits).
    pub account: String,
    /// The region.
    pub region: String,
    /// The schedule's tick, shared by every place of one run.
    pub at: DateTime<Utc>,
}

impl IdlePlace {
    /// The message body the schedule queues for this place (read back by [`parse_command`]).
    pub fn body(&self) -> String {
        let at = self.at.to_rfc3339_opts(SecondsFormat::Millis, true);
        json!({"tagwarden": "idle", "account": self.account, "region": self.region, "at": at}).to_string()
    }
}

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
        "idle" => parse_idle(object),
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

/// `idle` alone is the schedule's; with `account`, `region` and `at` (all three) it is one place's message.
fn parse_idle(object: &Map<String, Value>) -> Result<BudgetEvent, AlertError> {
    let (account, region, at) = (object.get("account"), object.get("region"), object.get("at"));
    if [account, region, at].into_iter().all(|v| v.is_none_or(Value::is_null)) {
        return Ok(BudgetEvent::Idle);
    }
    let text = |value: Option<&Value>, key: &str| match value {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(AlertError::BadCommand(format!(
            "'idle' for one place needs 'account', 'region' and 'at'; '{key}' is missing or empty"
        ))),
        Some(other) => Err(AlertError::BadCommand(format!("'{key}' must be a string, got {}", json_kind(other)))),
    };
    let (account, region, at) = (text(account, "account")?, text(region, "region")?, text(at, "at")?);
    if !crate::ids::is_account_id(&account) {
        return Err(AlertError::BadCommand(format!("'account' must be 12 digits, got '{}'", clip(&account))));
    }
    if !is_region(&region) {
        return Err(AlertError::BadCommand(format!("'region' is not a region name: '{}'", clip(&region))));
    }
    let at = DateTime::parse_from_rfc3339(&at)
        .map_err(|_| AlertError::BadCommand(format!("'at' must be an RFC 3339 time, got '{}'", clip(&at))))?
        .with_timezone(&Utc);
    Ok(BudgetEvent::IdleIn(IdlePlace { account, region, at }))
}

/// Whether `s` is shaped like a region name (`eu-west-1`, `us-gov-east-1`): lower-case words and a number.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((number, words)) = parts.split_last() else { return false };
    s.len() <= 32
        && words.len() >= 2
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
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
    fn a_places_idle_message_round_trips_through_its_body() {
        let place = IdlePlace {
            account: "222222222222".into(),
            region: "eu-west-1".into(),
            at: DateTime::parse_from_rfc3339("2026-12-08T19:05:00Z").unwrap().with_timezone(&Utc),
        };
        let body: Value = serde_json::from_str(&place.body()).unwrap();
        assert_eq!(
            body,
            json!({"tagwarden": "idle", "account": "222222222222", "region": "eu-west-1", "at": "2026-12-08T19:05:00.000Z"})
        );
        assert_eq!(parse_budget_event(&body), Ok(BudgetEvent::IdleIn(place)));
        let offset = json!({"tagwarden": "idle", "account": "222222222222", "region": "eu-west-1",
            "at": "2026-12-08T20:05:00+01:00"});
        let Ok(BudgetEvent::IdleIn(read)) = parse_budget_event(&offset) else { panic!("an idle place") };
        assert_eq!(read.at.to_rfc3339(), "2026-12-08T19:05:00+00:00", "read as UTC");
        assert_eq!(parse_budget_event(&json!({"tagwarden": "idle", "account": null})), Ok(BudgetEvent::Idle));
    }

    #[test]
    fn a_places_idle_message_names_all_three_or_is_refused() {
        for (event, expected) in [
            (json!({"tagwarden": "idle", "account": "222222222222"}), "'region' is missing or empty"),
            (
                json!({"tagwarden": "idle", "account": "222222222222", "region": "eu-west-1"}),
                "'at' is missing or empty",
            ),
            (
                json!({"tagwarden": "idle", "account": "2222", "region": "eu-west-1", "at": "2026-12-08T19:05:00Z"}),
                "'account' must be 12 digits, got '2222'",
            ),
            (
                json!({"tagwarden": "idle", "account": 222222222222u64, "region": "eu-west-1", "at": "x"}),
                "'account' must be a string, got a number",
            ),
            (
                json!({"tagwarden": "idle", "account": "222222222222", "region": "EU west", "at": "2026-12-08T19:05:00Z"}),
                "'region' is not a region name: 'EU west'",
            ),
            (
                json!({"tagwarden": "idle", "account": "222222222222", "region": "eu-west-1", "at": "tonight"}),
                "'at' must be an RFC 3339 time, got 'tonight'",
            ),
        ] {
            let err = parse_budget_event(&event).unwrap_err().to_string();
            assert!(err.contains(expected), "{event}: {err}");
        }
        for region in ["us-gov-east-1", "ap-southeast-2", "eu-isoe-west-1"] {
            assert!(is_region(region), "{region}");
        }
        for region in ["", "east-1", "eu-west-", "eu--1", "eu-west-1a", "eu-west-x"] {
            assert!(!is_region(region), "{region}");
        }
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
