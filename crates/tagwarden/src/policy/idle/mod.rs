//! `idle:`: rules that stop spend before a budget has to, each validated at load like the rest.
//!
//! - [`studio`]: the idle shutdown (`IdleSettings` of `AppLifecycleManagement`) that Studio domains, user
//!   profiles and spaces in scope must have; audited, set by the sweep and by the auto-tagger on creation.
//! - [`endpoints`]: endpoints without `Invocations` for a window: notified, then after a grace scaled to
//!   their minimum or deleted.
//! - [`off_hours`]: notebook instances and Studio apps stopped at an hour of their time zone on chosen
//!   weekdays, notebooks optionally started again in the morning.

use serde::Deserialize;

pub mod endpoints;
pub mod off_hours;
pub mod studio;

/// The policy's `idle:` section; empty when absent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdlePolicy {
    /// `idle.studio`: required idle shutdown settings per scope.
    #[serde(default)]
    pub studio: Vec<studio::StudioIdleRule>,
    /// `idle.endpoints`: endpoints without invocations.
    #[serde(default)]
    pub endpoints: Vec<endpoints::EndpointIdleRule>,
    /// `idle.off_hours`: notebooks and Studio apps stopped out of hours.
    #[serde(default)]
    pub off_hours: Vec<off_hours::OffHoursRule>,
}

impl IdlePolicy {
    /// Whether the section sets no rule at all.
    pub fn is_empty(&self) -> bool {
        self.studio.is_empty() && self.endpoints.is_empty() && self.off_hours.is_empty()
    }
}
