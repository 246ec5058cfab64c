//! `idle.off_hours` (placeholder: its helper replaces this file).

use serde::Deserialize;

/// One `idle.off_hours` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffHoursRule {}
