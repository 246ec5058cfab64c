use aws_sdk_sagemaker::types::{AppType, CodeRepository, ResourceSpec};

use super::*;
use crate::policy::idle::studio::StudioScope;

fn rule(idle: i32, min: Option<i32>, max: Option<i32>, apps: &[StudioApp]) -> StudioIdleRule {
    StudioIdleRule {
        scope: StudioScope::Account,
        idle_timeout_minutes: idle,
        min_idle_timeout_minutes: min,
        max_idle_timeout_minutes: max,
        apps: apps.to_vec(),
    }
}

const BOTH: &[StudioApp] = &[StudioApp::Jupyterlab, StudioApp::CodeEditor];

fn idle(timeout: i32, min: Option<i32>, max: Option<i32>) -> IdleSettings {
    IdleSettings::builder()
        .lifecycle_management(LifecycleManagement::Enabled)
        .idle_timeout_in_minutes(timeout)
        .set_min_idle_timeout_in_minutes(min)
        .set_max_idle_timeout_in_minutes(max)
        .build()
}

fn lifecycle(settings: IdleSettings) -> AppLifecycleManagement {
    AppLifecycleManagement::builder().idle_settings(settings).build()
}

fn profile(settings: Option<UserSettings>) -> Described {
    Described::UserProfile { domain_id: "d-x".into(), name: "alice".into(), user_settings: settings }
}

fn compliant_user_settings(settings: IdleSettings) -> UserSettings {
    UserSettings::builder()
        .execution_role("arn:aws:iam::1:role/alice")
        .jupyter_lab_app_settings(
            JupyterLabAppSettings::builder().app_lifecycle_management(lifecycle(settings.clone())).build(),
        )
        .code_editor_app_settings(
            CodeEditorAppSettings::builder().app_lifecycle_management(lifecycle(settings)).build(),
        )
        .build()
}

fn fields(check: &Check) -> Vec<&str> {
    check.differences.iter().map(|d| d.field.as_str()).collect()
}

#[test]
fn a_profile_without_idle_settings_differs_in_every_field_and_the_update_sets_both_apps() {
    let check = check(&profile(None), &rule(60, None, Some(240), BOTH));
    assert_eq!(
        fields(&check),
        [
            "UserSettings.JupyterLabAppSettings.AppLifecycleManagement.IdleSettings.LifecycleManagement",
            "UserSettings.JupyterLabAppSettings.AppLifecycleManagement.IdleSettings.IdleTimeoutInMinutes",
            "UserSettings.JupyterLabAppSettings.AppLifecycleManagement.IdleSettings.MaxIdleTimeoutInMinutes",
            "UserSettings.CodeEditorAppSettings.AppLifecycleManagement.IdleSettings.LifecycleManagement",
            "UserSettings.CodeEditorAppSettings.AppLifecycleManagement.IdleSettings.IdleTimeoutInMinutes",
            "UserSettings.CodeEditorAppSettings.AppLifecycleManagement.IdleSettings.MaxIdleTimeoutInMinutes",
        ]
    );
    assert_eq!(check.differences[1].found, None);
    assert_eq!(check.differences[1].expected, "60");
    let Some(Update::UserProfile { domain_id, name, user_settings }) = &check.update else { panic!("{check:?}") };
    assert_eq!((domain_id.as_str(), name.as_str()), ("d-x", "alice"));
    let expected = idle(60, None, Some(240));
    let jl = user_settings.jupyter_lab_app_settings.as_ref().unwrap();
    assert_eq!(jl.app_lifecycle_management.as_ref().unwrap().idle_settings.as_ref(), Some(&expected));
    let ce = user_settings.code_editor_app_settings.as_ref().unwrap();
    assert_eq!(ce.app_lifecycle_management.as_ref().unwrap().idle_settings.as_ref(), Some(&expected));
    assert_eq!(user_settings.execution_role, None, "only the idle members are sent");
}

#[test]
fn a_profile_with_the_rules_settings_is_compliant_and_needs_no_update() {
    let settings = Some(compliant_user_settings(idle(60, None, Some(240))));
    let check = check(&profile(settings), &rule(60, None, Some(240), BOTH));
    assert!(check.is_compliant(), "{check:?}");
    assert_eq!(check.update, None);
}

#[test]
fn the_update_keeps_the_apps_other_settings_and_changes_only_what_differs() {
    let jl = JupyterLabAppSettings::builder()
        .default_resource_spec(ResourceSpec::builder().instance_type("ml.t3.medium".into()).build())
        .code_repositories(CodeRepository::builder().repository_url("https://example.com/r.git").build())
        .app_lifecycle_management(lifecycle(idle(120, Some(60), None)))
        .build();
    let ce = CodeEditorAppSettings::builder().app_lifecycle_management(lifecycle(idle(60, None, None))).build();
    let settings = UserSettings::builder().jupyter_lab_app_settings(jl.clone()).code_editor_app_settings(ce).build();
    let check = check(&profile(Some(settings)), &rule(60, None, None, BOTH));
    let only = &check.differences[..];
    assert_eq!(only.len(), 1, "{only:?}");
    assert_eq!((only[0].found.as_deref(), only[0].expected.as_str()), (Some("120"), "60"));
    let Some(Update::UserProfile { user_settings, .. }) = check.update else { panic!() };
    assert_eq!(user_settings.code_editor_app_settings, None, "a compliant app is not sent");
    let sent = user_settings.jupyter_lab_app_settings.unwrap();
    assert_eq!(sent.default_resource_spec, jl.default_resource_spec);
    assert_eq!(sent.code_repositories, jl.code_repositories);
    assert_eq!(sent.app_lifecycle_management.unwrap().idle_settings, Some(idle(60, Some(60), None)));
}

#[test]
fn without_min_or_max_in_the_rule_the_users_bounds_are_kept_unless_they_exclude_the_timeout() {
    let r = rule(120, None, None, &[StudioApp::Jupyterlab]);
    let kept = UserSettings::builder()
        .jupyter_lab_app_settings(
            JupyterLabAppSettings::builder()
                .app_lifecycle_management(lifecycle(idle(120, Some(60), Some(600))))
                .build(),
        )
        .build();
    assert!(check(&profile(Some(kept)), &r).is_compliant());
    let narrow = UserSettings::builder()
        .jupyter_lab_app_settings(
            JupyterLabAppSettings::builder()
                .app_lifecycle_management(lifecycle(idle(120, Some(180), Some(90))))
                .build(),
        )
        .build();
    let check = check(&profile(Some(narrow)), &r);
    let found: Vec<_> =
        check.differences.iter().map(|d| (d.found.clone().unwrap_or_default(), d.expected.clone())).collect();
    assert_eq!(found, [("180".to_string(), "120".to_string()), ("90".to_string(), "120".to_string())]);
}

#[test]
fn disabled_idle_shutdown_is_a_difference_even_with_the_right_timeout() {
    let mut off = idle(60, None, None);
    off.lifecycle_management = Some(LifecycleManagement::Disabled);
    let settings = UserSettings::builder()
        .jupyter_lab_app_settings(JupyterLabAppSettings::builder().app_lifecycle_management(lifecycle(off)).build())
        .build();
    let check = check(&profile(Some(settings)), &rule(60, None, None, &[StudioApp::Jupyterlab]));
    assert_eq!(check.differences.len(), 1);
    assert_eq!(
        (check.differences[0].found.as_deref(), check.differences[0].expected.as_str()),
        (Some("DISABLED"), "ENABLED")
    );
}

#[test]
fn a_domain_gets_its_default_user_and_space_settings_and_keeps_the_rest() {
    let space_defaults = DefaultSpaceSettings::builder().execution_role("arn:aws:iam::1:role/spaces").build();
    let domain = Described::Domain {
        domain_id: "d-x".into(),
        default_user_settings: Some(UserSettings::builder().execution_role("arn:aws:iam::1:role/users").build()),
        default_space_settings: Some(space_defaults),
    };
    let check = check(&domain, &rule(60, Some(60), Some(240), BOTH));
    assert!(fields(&check).iter().any(|f| f.starts_with("DefaultSpaceSettings.JupyterLabAppSettings.")));
    assert!(fields(&check).iter().any(|f| f.starts_with("DefaultUserSettings.CodeEditorAppSettings.")));
    let Some(Update::Domain { domain_id, default_user_settings, default_space_settings }) = check.update else {
        panic!()
    };
    assert_eq!(domain_id, "d-x");
    let users = default_user_settings.unwrap();
    assert_eq!(users.execution_role, None, "the execution role is not resent");
    let expected = idle(60, Some(60), Some(240));
    let lifecycle_of = |jl: &JupyterLabAppSettings| jl.app_lifecycle_management.clone().unwrap().idle_settings;
    assert_eq!(lifecycle_of(users.jupyter_lab_app_settings.as_ref().unwrap()), Some(expected.clone()));
    let spaces = default_space_settings.unwrap();
    assert_eq!(spaces.execution_role, None);
    assert_eq!(lifecycle_of(spaces.jupyter_lab_app_settings.as_ref().unwrap()), Some(expected));
}

#[test]
fn a_code_editor_only_rule_leaves_the_domains_space_defaults_alone() {
    let domain =
        Described::Domain { domain_id: "d-x".into(), default_user_settings: None, default_space_settings: None };
    let check = check(&domain, &rule(60, None, None, &[StudioApp::CodeEditor]));
    let Some(Update::Domain { default_user_settings, default_space_settings, .. }) = check.update else { panic!() };
    assert_eq!(default_space_settings, None);
    assert!(default_user_settings.unwrap().jupyter_lab_app_settings.is_none());
}

fn space(app_type: Option<AppType>, timeout: Option<i32>) -> Described {
    let lifecycle = SpaceAppLifecycleManagement::builder()
        .idle_settings(SpaceIdleSettings::builder().set_idle_timeout_in_minutes(timeout).build())
        .build();
    let settings = SpaceSettings::builder()
        .set_app_type(app_type)
        .jupyter_lab_app_settings(
            SpaceJupyterLabAppSettings::builder()
                .default_resource_spec(ResourceSpec::builder().instance_type("ml.t3.large".into()).build())
                .app_lifecycle_management(lifecycle)
                .build(),
        )
        .build();
    Described::Space { domain_id: "d-x".into(), name: "s".into(), space_settings: Some(settings) }
}

#[test]
fn a_spaces_own_timeout_may_be_any_value_in_the_rules_range() {
    let r = rule(60, Some(60), Some(240), BOTH);
    assert!(check(&space(Some(AppType::JupyterLab), Some(180)), &r).is_compliant());
    let check = check(&space(Some(AppType::JupyterLab), Some(600)), &r);
    assert_eq!(check.differences.len(), 1, "only the space's own app type: {check:?}");
    assert_eq!(check.differences[0].expected, "60..240");
    let Some(Update::Space { space_settings, .. }) = check.update else { panic!() };
    let jl = space_settings.jupyter_lab_app_settings.unwrap();
    assert_eq!(jl.default_resource_spec.unwrap().instance_type.unwrap().as_str(), "ml.t3.large");
    let timeout = jl.app_lifecycle_management.unwrap().idle_settings.unwrap().idle_timeout_in_minutes;
    assert_eq!(timeout, Some(60));
    assert_eq!(space_settings.code_editor_app_settings, None);
}

#[test]
fn a_new_space_without_a_timeout_gets_the_rules_and_one_of_another_app_type_is_left_alone() {
    let r = rule(90, None, None, BOTH);
    let check_new = check(&Described::Space { domain_id: "d".into(), name: "s".into(), space_settings: None }, &r);
    assert_eq!(check_new.differences.len(), 2);
    assert_eq!(check_new.differences[0].expected, "90");
    let unrelated = check(&space(Some(AppType::KernelGateway), None), &r);
    assert!(unrelated.is_compliant());
    let ce_only = rule(90, None, None, &[StudioApp::CodeEditor]);
    assert!(check(&space(Some(AppType::JupyterLab), None), &ce_only).is_compliant());
}
