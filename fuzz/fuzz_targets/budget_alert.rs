//! Bytes -> text -> the budget-enforcer's parsers: the SNS/command event (`parse_budget_event`) when the text is
//! JSON, and the plain-text alert (`parse_alert_message`) always. Any panic is a bug; every parsed alert has a
//! positive budget and finite amounts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagwarden::event::{BudgetEvent, parse_alert_message, parse_budget_event};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(event) = serde_json::from_str::<serde_json::Value>(text)
        && let Ok(BudgetEvent::Alert(alert)) = parse_budget_event(&event)
    {
        assert!(alert.budgeted_amount > 0.0 && alert.amount.is_finite());
    }
    let subject = text.lines().next();
    if let Ok(alert) = parse_alert_message(subject, text) {
        assert!(alert.budgeted_amount > 0.0 && alert.amount.is_finite() && alert.percent_of_budget.is_finite());
        assert!(!alert.budget_name.is_empty());
    }
});
