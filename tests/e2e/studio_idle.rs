//! Studio idle shutdown (issue 18, items 2a and 4b): an `idle.studio` rule scoped by the domain's tags,
//! audited, set by the sweep and by the auto-tagger on a new space, against the emulator's domains,
//! profiles and spaces (gap 18: UpdateDomain, UpdateUserProfile, UpdateSpace).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sagemaker::types::{IdleSettings, LifecycleManagement, UserSettings};
use tagwarden::policy::idle::studio::{StudioApp, StudioIdleRule, StudioScope};
use tagwarden::studio_idle::apply::IdleResult;
use tagwarden::sweep::{self, Lister, SweepOptions, SweepState, SweepSummary};
use tagwarden::tagging::TaggerSettings;
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::world::{DOMAIN_ID, create_resource, seed_world, studio_role_arn};
use tagwarden_e2e::{Emulator, REGION, sample_event};
use tagwarden_ops::audit::{self, IdleNonCompliant};

const IDLE: i32 = 60;
const MAX: i32 = 240;

struct World {
    emulator: Emulator,
    clients: Clients,
    tagger: AutoTagger,
    sm: aws_sdk_sagemaker::Client,
}

/// The demo world (domain `ml-platform`, tagged `environment=production`, profiles alice and bob) and a
/// policy whose `idle.studio` rule asks production domains for a 60-minute idle shutdown, users up to 240.
async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.unwrap();
    let mut policy = Policy::example().unwrap();
    policy.idle.studio = vec![StudioIdleRule {
        scope: StudioScope::Tags(BTreeMap::from([("environment".into(), vec!["production".into()])])),
        idle_timeout_minutes: IDLE,
        min_idle_timeout_minutes: None,
        max_idle_timeout_minutes: Some(MAX),
        apps: vec![StudioApp::Jupyterlab, StudioApp::CodeEditor],
    }];
    let clients = Clients::new(&config);
    let tagger = AutoTagger::new(clients.clone(), Arc::new(policy), &TaggerSettings::default());
    World { emulator, clients, tagger, sm: aws_sdk_sagemaker::Client::new(&config) }
}

fn expected_idle() -> IdleSettings {
    IdleSettings::builder()
        .lifecycle_management(LifecycleManagement::Enabled)
        .idle_timeout_in_minutes(IDLE)
        .max_idle_timeout_in_minutes(MAX)
        .build()
}

impl World {
    async fn sweep(&self, dry_run: bool) -> SweepSummary {
        let names = ["domain".to_string(), "user-profile".into(), "space".into()];
        let options = SweepOptions { kinds: sweep::kinds_named(&names).unwrap(), dry_run, ..SweepOptions::default() };
        let lister = Lister::new(self.clients.clone());
        let summary = sweep::sweep(&self.tagger, &lister, &options, &mut SweepState::default(), &mut |_| {}).await;
        assert_eq!(summary.total.failed, 0, "{summary:?}");
        summary
    }

    /// What `tagwarden audit` reports of the Studio idle shutdown.
    async fn audit(&self) -> Vec<IdleNonCompliant> {
        let names = ["domain".to_string(), "user-profile".into(), "space".into()];
        let kinds = sweep::kinds_named(&names).unwrap();
        let (resources, errors) = audit::collect(&Lister::new(self.clients.clone()), &kinds, 4).await;
        assert!(errors.is_empty(), "{errors:?}");
        let rules = &self.tagger.policy().idle.studio;
        let (found, errors) = audit::collect_studio_idle(&self.clients, rules, &resources, 4).await;
        assert!(errors.is_empty(), "{errors:?}");
        found
    }

    async fn profile_settings(&self, name: &str) -> Option<UserSettings> {
        let out = self.sm.describe_user_profile().domain_id(DOMAIN_ID).user_profile_name(name).send().await.unwrap();
        out.user_settings().cloned()
    }

    /// The Update* calls the emulator saw since its counts were reset.
    fn updates(&self) -> Vec<String> {
        let calls = self.emulator.calls().unwrap();
        calls.by_action.keys().filter(|a| a.starts_with("sagemaker.Update")).cloned().collect()
    }
}

fn jupyter_lab_idle(settings: &UserSettings) -> Option<IdleSettings> {
    settings.jupyter_lab_app_settings()?.app_lifecycle_management()?.idle_settings().cloned()
}

#[tokio::test]
async fn a_profile_without_the_required_idle_timeout_is_audited_non_compliant_and_fixed_by_the_sweep() {
    let world = world().await;
    let alice = format!("arn:aws:sagemaker:{REGION}:123456789012:user-profile/{DOMAIN_ID}/alice");

    let before = world.audit().await;
    let found = before.iter().find(|r| r.resource_arn == alice).expect("alice's profile is audited non-compliant");
    assert_eq!((found.resource_type.as_str(), found.idle_timeout_minutes), ("user-profile", IDLE));
    assert_eq!(found.operation, Some("UpdateUserProfile"));
    let timeout = found
        .differences
        .iter()
        .find(|d| {
            d.field == "UserSettings.JupyterLabAppSettings.AppLifecycleManagement.IdleSettings.IdleTimeoutInMinutes"
        })
        .expect("the idle timeout differs");
    assert_eq!((timeout.found.as_deref(), timeout.expected.as_str()), (None, "60"));
    assert_eq!(before.len(), 3, "the domain and both profiles: {before:?}");

    let summary = world.sweep(false).await;
    assert_eq!(summary.types["user-profile"].idle_updated, 2, "{summary:?}");
    assert_eq!(summary.types["domain"].idle_updated, 1, "{summary:?}");

    let settings = world.profile_settings("alice").await.unwrap();
    assert_eq!(jupyter_lab_idle(&settings), Some(expected_idle()));
    let code_editor = settings.code_editor_app_settings().and_then(|c| c.app_lifecycle_management());
    assert_eq!(code_editor.and_then(|l| l.idle_settings()), Some(&expected_idle()));
    let own_role = settings.execution_role().unwrap();
    assert!(
        own_role.ends_with("/AmazonSageMaker-ExecutionRole-alice"),
        "the profile's other settings stay: {own_role}"
    );
    let domain = world.sm.describe_domain().domain_id(DOMAIN_ID).send().await.unwrap();
    let defaults = domain.default_user_settings().unwrap();
    assert_eq!(defaults.execution_role(), Some(studio_role_arn().as_str()));
    assert_eq!(jupyter_lab_idle(defaults), Some(expected_idle()));

    assert_eq!(world.audit().await, [], "compliant after the sweep");
}

#[tokio::test]
async fn the_auto_tagger_sets_the_idle_timeout_on_a_new_space() {
    let world = world().await;
    let config = world.emulator.sdk_config(REGION, 1).await;
    let event = sample_event("auto-tagger", "space-studio-owner.json").unwrap();
    let arn = create_resource(&config, &event).await.unwrap().unwrap();

    let outcome = world.tagger.handle(&event).await.unwrap();
    let (Outcome::Tagged(report) | Outcome::Unchanged(report)) = &outcome else { panic!("{outcome:?}") };
    assert_eq!(report.resource_arn, arn);
    let idle = report.idle.as_ref().expect("the space's idle shutdown is kept");
    assert_eq!(idle.result, IdleResult::Updated, "{idle:?}");
    assert_eq!(idle.operation, Some("UpdateSpace"));
    assert_eq!(idle.differences[0].expected, "60..240");

    let space = world.sm.describe_space().domain_id(DOMAIN_ID).space_name("fraud-research").send().await.unwrap();
    let settings = space.space_settings().unwrap();
    assert_eq!(settings.app_type().map(|t| t.as_str()), Some("JupyterLab"), "the space's app type stays");
    let timeout = settings
        .jupyter_lab_app_settings()
        .and_then(|j| j.app_lifecycle_management())
        .and_then(|l| l.idle_settings())
        .and_then(|i| i.idle_timeout_in_minutes());
    assert_eq!(timeout, Some(IDLE));
    assert!(settings.code_editor_app_settings().is_none(), "a JupyterLab space gets no Code Editor settings");
    assert_eq!(world.updates(), ["sagemaker.UpdateSpace"]);
}

#[tokio::test]
async fn a_compliant_domain_is_not_updated() {
    let world = world().await;
    world.sweep(false).await;
    world.emulator.reset_calls().unwrap();

    let summary = world.sweep(false).await;
    assert_eq!(summary.total.idle_updated, 0, "{summary:?}");
    assert_eq!(world.updates(), Vec::<String>::new());
    let calls = world.emulator.calls().unwrap();
    assert!(calls.by_action.contains_key("sagemaker.DescribeDomain"), "the domain was checked: {calls:?}");
}

#[tokio::test]
async fn a_dry_run_sweep_reports_but_does_not_update() {
    let world = world().await;
    world.emulator.reset_calls().unwrap();

    let summary = world.sweep(true).await;
    assert_eq!(summary.types["user-profile"].idle_updated, 2, "reported as would-update: {summary:?}");
    assert_eq!(summary.types["domain"].idle_updated, 1);
    assert_eq!(world.updates(), Vec::<String>::new());
    let settings = world.profile_settings("alice").await.unwrap();
    assert_eq!(jupyter_lab_idle(&settings), None, "nothing was written");
    assert_eq!(world.audit().await.len(), 3);
}
