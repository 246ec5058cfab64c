//! [`AlertError`]: why an input is not something the budget-enforcer can act on, said precisely enough
//! that the `rejected` outcome explains itself.

/// Why an input is not something the budget-enforcer can act on (never retryable).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlertError {
    /// Neither an SNS event nor a command.
    #[error("not an SNS event: {0}")]
    NotSns(String),
    /// SNS delivers one record per invocation; anything else is not from SNS.
    #[error("expected one SNS record, got {0}")]
    RecordCount(usize),
    /// The SNS message is not the text of an AWS Budgets alert.
    #[error("not an AWS Budgets alert: {reason} ({})", subject_note(.subject.as_deref()))]
    NotAnAlert {
        /// What is missing or wrong.
        reason: String,
        /// The SNS subject, which usually says what the message is.
        subject: Option<String>,
    },
    /// The SNS message is a Cost Anomaly Detection alert (JSON with `anomalyId`) that cannot be read.
    #[error("not a readable cost anomaly alert: {0}")]
    BadAnomaly(String),
    /// A required line is absent.
    #[error("missing '{0}:' line")]
    MissingLine(&'static str),
    /// A required line is present but empty.
    #[error("{0}: the value is empty")]
    EmptyValue(&'static str),
    /// The same line twice, with different values.
    #[error("'{line}:' appears twice with different values ('{first}' and '{second}')")]
    ConflictingLines {
        /// The line's key.
        line: &'static str,
        /// The first value.
        first: String,
        /// The other value.
        second: String,
    },
    /// `Alert Type:` is neither ACTUAL nor FORECASTED.
    #[error("Alert Type: expected ACTUAL or FORECASTED, got '{0}'")]
    BadAlertType(String),
    /// Not a number in the `1,234.56` format.
    #[error("{line}: cannot read '{text}' as an amount")]
    BadAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// A number another locale would read differently, e.g. `1.234,56`.
    #[error("{line}: '{text}' does not use ',' for thousands and '.' for decimals; refusing to guess")]
    AmbiguousAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// A negative amount.
    #[error("{line}: amount must not be negative, got '{text}'")]
    NegativeAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// An amount over 1e12.
    #[error("{line}: '{text}' is implausibly large (over 1e12)")]
    ImplausibleAmount {
        /// The line's key.
        line: &'static str,
        /// The value as written.
        text: String,
    },
    /// `Budgeted Amount:` is zero.
    #[error("budgeted amount must be positive, got {0}")]
    NonPositiveBudget(f64),
    /// `Budgeted Amount:` under 0.0001, where the percentage of budget would be meaningless.
    #[error("Budgeted Amount: '{0}' is too small to compare against (under 0.0001)")]
    TinyBudget(String),
    /// The amount's unit is not the budget's (`$100` budgeted, `100 EUR` spent).
    #[error("{line}: unit '{unit}' differs from the budgeted amount's '{budgeted}'")]
    UnitMismatch {
        /// The line's key.
        line: &'static str,
        /// The amount's unit.
        unit: String,
        /// The budgeted amount's unit.
        budgeted: String,
    },
    /// A `less than` or `equal to` threshold (utilization and coverage budgets); the enforcer acts on overspend only.
    #[error("Alert Threshold: only 'greater than' thresholds are supported, got '{0}'")]
    UnsupportedThreshold(String),
    /// The alert came from an SNS topic that is not a configured alerts topic.
    #[error("alert from SNS topic '{topic}', which is not a configured alerts topic ({allowed}); refusing it")]
    ForgedTopic {
        /// The topic the record names (clipped).
        topic: String,
        /// The configured alerts topics.
        allowed: String,
    },
    /// The alert names no SNS topic: it was not delivered by SNS (e.g. the function was invoked directly).
    #[error("alerts must arrive through the alerts topic: this one names no SNS TopicArn (invoked directly?)")]
    NotFromTopic,
    /// No alerts topic is configured, so no alert can be accepted.
    #[error("no alerts topic is configured (TAGWARDEN_ALERT_TOPICS, or replay's --alert-topic): alerts are refused")]
    NoAlertTopics,
    /// `tagwarden` names a command other than `restore`, `tick`, `approve` or `continue`.
    #[error("unknown command '{0}' (expected 'restore', 'tick', 'burn', 'idle', 'approve' or 'continue')")]
    UnknownCommand(String),
    /// A command's arguments are malformed.
    #[error("invalid command: {0}")]
    BadCommand(String),
}

fn subject_note(subject: Option<&str>) -> String {
    subject.map_or("no subject".into(), |s| format!("subject: '{s}'"))
}
