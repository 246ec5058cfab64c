//! `idle.studio` (placeholder: its helper replaces this file).

use serde::Deserialize;

/// One `idle.studio` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudioIdleRule {}
