//! Studio idle shutdown: does a domain, user profile or space carry the `IdleSettings` its `idle.studio` rule
//! asks for, and which `Update*` request fixes it.
//!
//! In: a [`Described`] resource (the settings `DescribeDomain`/`DescribeUserProfile`/`DescribeSpace` return)
//! and the matching [`StudioIdleRule`]. Out: a [`Check`]: the [`Difference`]s, and the [`Update`] that sets
//! only the idle fields, carrying each touched app's settings whole as described so that nothing else of the
//! resource is dropped. Pure; [`apply`] describes, matches the rule by the domain's tags, and updates.
//!
//! Where the settings live (SageMaker API model):
//! - domain: `DefaultUserSettings.{JupyterLab,CodeEditor}AppSettings.AppLifecycleManagement.IdleSettings`
//!   and `DefaultSpaceSettings.JupyterLabAppSettings.AppLifecycleManagement.IdleSettings` (the domain's
//!   default space settings have no Code Editor member);
//! - user profile: `UserSettings.{JupyterLab,CodeEditor}AppSettings.AppLifecycleManagement.IdleSettings`;
//! - space: `SpaceSettings.{JupyterLab,CodeEditor}AppSettings.AppLifecycleManagement.IdleSettings`, which
//!   carries only `IdleTimeoutInMinutes` (the user's own choice, which must fall in the rule's min..max).
//!
//! `IdleSettings` must say `LifecycleManagement: ENABLED`, the rule's `IdleTimeoutInMinutes`, and the rule's
//! min/max where it sets them; where it does not, a min above (max below) the idle timeout is widened to it.

pub mod apply;

use aws_sdk_sagemaker::types::{
    AppLifecycleManagement, CodeEditorAppSettings, DefaultSpaceSettings, IdleSettings, JupyterLabAppSettings,
    LifecycleManagement, SpaceAppLifecycleManagement, SpaceCodeEditorAppSettings, SpaceIdleSettings,
    SpaceJupyterLabAppSettings, SpaceSettings, UserSettings,
};
use serde::Serialize;

use crate::policy::idle::studio::{StudioApp, StudioIdleRule};

/// A described Studio resource: the settings the check reads.
// NOTE: one short-lived value per resource checked; boxing the settings would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Described {
    /// `DescribeDomain`.
    Domain {
        /// The domain's id.
        domain_id: String,
        /// `DefaultUserSettings`.
        default_user_settings: Option<UserSettings>,
        /// `DefaultSpaceSettings`.
        default_space_settings: Option<DefaultSpaceSettings>,
    },
    /// `DescribeUserProfile`.
    UserProfile {
        /// Its domain's id.
        domain_id: String,
        /// The profile's name.
        name: String,
        /// `UserSettings`.
        user_settings: Option<UserSettings>,
    },
    /// `DescribeSpace`.
    Space {
        /// Its domain's id.
        domain_id: String,
        /// The space's name.
        name: String,
        /// `SpaceSettings`.
        space_settings: Option<SpaceSettings>,
    },
}

impl Described {
    /// The resource's domain id.
    pub fn domain_id(&self) -> &str {
        match self {
            Self::Domain { domain_id, .. } | Self::UserProfile { domain_id, .. } | Self::Space { domain_id, .. } => {
                domain_id
            }
        }
    }
}

/// One idle field that is not what the rule asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The field's path in the API's shape, e.g.
    /// `UserSettings.JupyterLabAppSettings.AppLifecycleManagement.IdleSettings.IdleTimeoutInMinutes`.
    pub field: String,
    /// What the resource has; `None`: not set.
    pub found: Option<String>,
    /// What the rule asks (`60`, `ENABLED`, or a range `60..240` for a space's own choice).
    pub expected: String,
}

/// The `Update*` request that fixes a resource's idle fields (and nothing else).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// `UpdateDomain`: only the settings members that change.
    Domain {
        /// `DomainId`.
        domain_id: String,
        /// `DefaultUserSettings` with only the app settings that change, each whole as described.
        default_user_settings: Option<UserSettings>,
        /// `DefaultSpaceSettings` with only `JupyterLabAppSettings`, whole as described.
        default_space_settings: Option<DefaultSpaceSettings>,
    },
    /// `UpdateUserProfile`.
    UserProfile {
        /// `DomainId`.
        domain_id: String,
        /// `UserProfileName`.
        name: String,
        /// `UserSettings` with only the app settings that change, each whole as described.
        user_settings: UserSettings,
    },
    /// `UpdateSpace`.
    Space {
        /// `DomainId`.
        domain_id: String,
        /// `SpaceName`.
        name: String,
        /// `SpaceSettings` with only the app settings that change, each whole as described.
        space_settings: SpaceSettings,
    },
}

impl Update {
    /// The operation's name, e.g. `UpdateUserProfile`.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Domain { .. } => "UpdateDomain",
            Self::UserProfile { .. } => "UpdateUserProfile",
            Self::Space { .. } => "UpdateSpace",
        }
    }
}

/// The result of checking one resource against its rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What differs; empty: compliant.
    pub differences: Vec<Difference>,
    /// The request that fixes it; `None` when compliant.
    pub update: Option<Update>,
}

impl Check {
    /// Whether the resource already has what the rule asks.
    pub fn is_compliant(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Checks a described resource against its rule. Pure.
pub fn check(described: &Described, rule: &StudioIdleRule) -> Check {
    let mut differences = Vec::new();
    let update = match described {
        Described::Domain { domain_id, default_user_settings, default_space_settings } => {
            let users = user_settings("DefaultUserSettings", default_user_settings.as_ref(), rule, &mut differences);
            let spaces = rule.apps.contains(&StudioApp::Jupyterlab).then(|| {
                let current = default_space_settings.as_ref().and_then(|s| s.jupyter_lab_app_settings.as_ref());
                let at = "DefaultSpaceSettings.JupyterLabAppSettings";
                jupyter_lab(at, current, rule, &mut differences)
                    .map(|jl| DefaultSpaceSettings::builder().jupyter_lab_app_settings(jl).build())
            });
            let spaces = spaces.flatten();
            (users.is_some() || spaces.is_some()).then(|| Update::Domain {
                domain_id: domain_id.clone(),
                default_user_settings: users,
                default_space_settings: spaces,
            })
        }
        Described::UserProfile { domain_id, name, user_settings: current } => {
            user_settings("UserSettings", current.as_ref(), rule, &mut differences).map(|user_settings| {
                Update::UserProfile { domain_id: domain_id.clone(), name: name.clone(), user_settings }
            })
        }
        Described::Space { domain_id, name, space_settings } => space(space_settings.as_ref(), rule, &mut differences)
            .map(|space_settings| Update::Space { domain_id: domain_id.clone(), name: name.clone(), space_settings }),
    };
    Check { differences, update }
}

/// `UserSettings` (of a profile, or a domain's defaults) with only the app settings that change.
fn user_settings(
    at: &str,
    current: Option<&UserSettings>,
    rule: &StudioIdleRule,
    differences: &mut Vec<Difference>,
) -> Option<UserSettings> {
    let mut fixed = UserSettings::builder();
    let mut changed = false;
    for app in &rule.apps {
        let at = format!("{at}.{}", app.settings_member());
        match app {
            StudioApp::Jupyterlab => {
                let jl = current.and_then(|s| s.jupyter_lab_app_settings.as_ref());
                if let Some(jl) = jupyter_lab(&at, jl, rule, differences) {
                    fixed = fixed.jupyter_lab_app_settings(jl);
                    changed = true;
                }
            }
            StudioApp::CodeEditor => {
                let ce = current.and_then(|s| s.code_editor_app_settings.as_ref());
                let idle = ce.and_then(|c| c.app_lifecycle_management.as_ref()).and_then(|a| a.idle_settings.as_ref());
                if let Some(idle) = full_idle(&at, idle, rule, differences) {
                    let mut ce = ce.cloned().unwrap_or_else(|| CodeEditorAppSettings::builder().build());
                    ce.app_lifecycle_management = Some(with_idle(ce.app_lifecycle_management.take(), idle));
                    fixed = fixed.code_editor_app_settings(ce);
                    changed = true;
                }
            }
        }
    }
    changed.then(|| fixed.build())
}

/// The JupyterLab settings, whole, with fixed idle settings; `None` when they already comply.
fn jupyter_lab(
    at: &str,
    current: Option<&JupyterLabAppSettings>,
    rule: &StudioIdleRule,
    differences: &mut Vec<Difference>,
) -> Option<JupyterLabAppSettings> {
    let idle = current.and_then(|c| c.app_lifecycle_management.as_ref()).and_then(|a| a.idle_settings.as_ref());
    let idle = full_idle(at, idle, rule, differences)?;
    let mut jl = current.cloned().unwrap_or_else(|| JupyterLabAppSettings::builder().build());
    jl.app_lifecycle_management = Some(with_idle(jl.app_lifecycle_management.take(), idle));
    Some(jl)
}

fn with_idle(current: Option<AppLifecycleManagement>, idle: IdleSettings) -> AppLifecycleManagement {
    let mut lifecycle = current.unwrap_or_else(|| AppLifecycleManagement::builder().build());
    lifecycle.idle_settings = Some(idle);
    lifecycle
}

/// The `IdleSettings` the rule asks for, built on the current ones; `None` when they already comply.
fn full_idle(
    at: &str,
    current: Option<&IdleSettings>,
    rule: &StudioIdleRule,
    differences: &mut Vec<Difference>,
) -> Option<IdleSettings> {
    let at = format!("{at}.AppLifecycleManagement.IdleSettings");
    let before = differences.len();
    let mut diff = |field: &str, found: Option<String>, expected: String| {
        differences.push(Difference { field: format!("{at}.{field}"), found, expected });
    };
    let lifecycle = current.and_then(|c| c.lifecycle_management.as_ref());
    if lifecycle != Some(&LifecycleManagement::Enabled) {
        diff("LifecycleManagement", lifecycle.map(|l| l.as_str().to_owned()), "ENABLED".into());
    }
    let idle = rule.idle_timeout_minutes;
    let timeout = current.and_then(|c| c.idle_timeout_in_minutes);
    if timeout != Some(idle) {
        diff("IdleTimeoutInMinutes", timeout.map(|t| t.to_string()), idle.to_string());
    }
    let found_min = current.and_then(|c| c.min_idle_timeout_in_minutes);
    let min = match rule.min_idle_timeout_minutes {
        Some(min) => Some(min),
        None => found_min.map(|m| m.min(idle)),
    };
    if min != found_min {
        let expected = min.map_or_else(|| "not set".into(), |m| m.to_string());
        diff("MinIdleTimeoutInMinutes", found_min.map(|m| m.to_string()), expected);
    }
    let found_max = current.and_then(|c| c.max_idle_timeout_in_minutes);
    let max = match rule.max_idle_timeout_minutes {
        Some(max) => Some(max),
        None => found_max.map(|m| m.max(idle)),
    };
    if max != found_max {
        let expected = max.map_or_else(|| "not set".into(), |m| m.to_string());
        diff("MaxIdleTimeoutInMinutes", found_max.map(|m| m.to_string()), expected);
    }
    (differences.len() > before).then(|| {
        IdleSettings::builder()
            .lifecycle_management(LifecycleManagement::Enabled)
            .idle_timeout_in_minutes(idle)
            .set_min_idle_timeout_in_minutes(min)
            .set_max_idle_timeout_in_minutes(max)
            .build()
    })
}

/// The space's apps the rule covers: its `AppType` when it names one of them, else the rule's apps.
fn space_apps(current: Option<&SpaceSettings>, rule: &StudioIdleRule) -> Vec<StudioApp> {
    match current.and_then(|s| s.app_type.as_ref()) {
        Some(app_type) => rule.apps.iter().copied().filter(|a| a.app_type() == app_type.as_str()).collect(),
        None => rule.apps.clone(),
    }
}

/// `SpaceSettings` with only the app settings that change; `None` when the space complies.
fn space(
    current: Option<&SpaceSettings>,
    rule: &StudioIdleRule,
    differences: &mut Vec<Difference>,
) -> Option<SpaceSettings> {
    let (low, high) = rule.space_range();
    let expected = if low == high { low.to_string() } else { format!("{low}..{high}") };
    let mut fixed = SpaceSettings::builder();
    let mut changed = false;
    for app in space_apps(current, rule) {
        let field =
            format!("SpaceSettings.{}.AppLifecycleManagement.IdleSettings.IdleTimeoutInMinutes", app.settings_member());
        let (lifecycle, timeout) = match app {
            StudioApp::Jupyterlab => {
                let l = current
                    .and_then(|s| s.jupyter_lab_app_settings.as_ref())
                    .and_then(|j| j.app_lifecycle_management.clone());
                let t = l.as_ref().and_then(|l| l.idle_settings.as_ref()).and_then(|i| i.idle_timeout_in_minutes);
                (l, t)
            }
            StudioApp::CodeEditor => {
                let l = current
                    .and_then(|s| s.code_editor_app_settings.as_ref())
                    .and_then(|c| c.app_lifecycle_management.clone());
                let t = l.as_ref().and_then(|l| l.idle_settings.as_ref()).and_then(|i| i.idle_timeout_in_minutes);
                (l, t)
            }
        };
        if timeout.is_some_and(|t| (low..=high).contains(&t)) {
            continue;
        }
        differences.push(Difference { field, found: timeout.map(|t| t.to_string()), expected: expected.clone() });
        let mut lifecycle = lifecycle.unwrap_or_else(|| SpaceAppLifecycleManagement::builder().build());
        let mut idle = lifecycle.idle_settings.take().unwrap_or_else(|| SpaceIdleSettings::builder().build());
        idle.idle_timeout_in_minutes = Some(rule.idle_timeout_minutes);
        lifecycle.idle_settings = Some(idle);
        changed = true;
        match app {
            StudioApp::Jupyterlab => {
                let mut jl = current
                    .and_then(|s| s.jupyter_lab_app_settings.clone())
                    .unwrap_or_else(|| SpaceJupyterLabAppSettings::builder().build());
                jl.app_lifecycle_management = Some(lifecycle);
                fixed = fixed.jupyter_lab_app_settings(jl);
            }
            StudioApp::CodeEditor => {
                let mut ce = current
                    .and_then(|s| s.code_editor_app_settings.clone())
                    .unwrap_or_else(|| SpaceCodeEditorAppSettings::builder().build());
                ce.app_lifecycle_management = Some(lifecycle);
                fixed = fixed.code_editor_app_settings(ce);
            }
        }
    }
    changed.then(|| fixed.build())
}

#[cfg(test)]
mod tests;
