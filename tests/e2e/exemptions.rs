//! Exemptions come only from the policy: the attacks on the old `tagwarden:exempt=true` tag change nothing,
//! the policy's exemptions spare what they name with their reason, and an expired one is reported and not
//! honoured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use serde_json::json;
use tagwarden::enforce::{EnforcementReport, summary};
use tagwarden::policy::{Day, Exemption};
use tagwarden::tagging::apply::list_tags;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{
    BudgetWorld, EXEMPT_KEY, EXEMPT_ROLE, SELF_TAGGED_ROLE, role_arn, seed_budget_world,
};
use tagwarden_e2e::{Emulator, REGION, sample_event};

struct World {
    _emulator: Emulator,
    clients: Clients,
    seeded: BudgetWorld,
}

async fn world(notebooks: usize) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, notebooks).await.expect("seed");
    World { _emulator: emulator, clients: Clients::new(&config), seeded }
}

impl World {
    async fn alert(&self, policy: Policy, file: &str) -> EnforcementReport {
        let enforcer = BudgetEnforcer::new(self.clients.clone(), Arc::new(policy));
        let outcome = enforcer.handle(&sample_event("budget-enforcer", file).unwrap(), false).await.unwrap();
        match outcome {
            EnforcementOutcome::Enforced(report) => report,
            other => panic!("expected enforced, got {}", serde_json::to_string_pretty(&other).unwrap()),
        }
    }

    async fn notebook_status(&self, arn: &str) -> NotebookInstanceStatus {
        let name = arn.rsplit('/').next().unwrap();
        let out =
            self.clients.sagemaker.describe_notebook_instance().notebook_instance_name(name).send().await.unwrap();
        out.notebook_instance_status().cloned().unwrap()
    }

    async fn attached(&self, role: &str) -> Vec<String> {
        let out = self.clients.iam.list_attached_role_policies().role_name(role).send().await.unwrap();
        out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect()
    }
}

/// Every result of `action` for `arn`, as its text.
fn results_for(report: &EnforcementReport, action: &str, arn: &str) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| r.action == action && r.resource_arn.eq_ignore_ascii_case(arn))
        .map(|r| r.result.to_string())
        .collect()
}

#[tokio::test]
async fn a_self_exempted_notebook_in_scope_is_stopped() {
    let w = world(3).await;
    let notebook = w.seeded.self_tagged_notebook.clone();
    let tags = list_tags(&w.clients, &notebook).await.unwrap();
    assert_eq!(tags.get(EXEMPT_KEY).map(String::as_str), Some("true"), "the owner tagged it exempt");

    let report = w.alert(Policy::example().unwrap(), "actual-105-percent.json").await;
    assert_eq!(results_for(&report, "stop-notebooks", &notebook), ["done"]);
    assert_eq!(w.notebook_status(&notebook).await, NotebookInstanceStatus::Stopped);
    // What the policy exempts is spared, and says why.
    for arn in &w.seeded.exempt.notebooks_running {
        let results = results_for(&report, "stop-notebooks", arn);
        assert_eq!(results, ["exempt: the fraud team's serving stack (INC-2291); reviewed monthly"], "{arn}");
        assert_eq!(w.notebook_status(arn).await, NotebookInstanceStatus::InService, "{arn}");
    }
    for arn in &w.seeded.exempt.apps {
        let results = results_for(&report, "delete-studio-apps", arn);
        assert_eq!(results, ["exempt: ed's Studio apps run the on-call runbooks"], "{arn}");
    }
}

#[tokio::test]
async fn a_self_tagged_role_in_scope_is_denied() {
    let w = world(1).await;
    let tags = w.clients.iam.list_role_tags().role_name(SELF_TAGGED_ROLE).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == EXEMPT_KEY && t.value() == "true"), "the role tagged itself exempt");

    let report = w.alert(Policy::example().unwrap(), "actual-125-percent.json").await;
    assert_eq!(results_for(&report, "deny-iam", &role_arn(SELF_TAGGED_ROLE)), ["done"]);
    assert!(w.attached(SELF_TAGGED_ROLE).await.contains(&w.seeded.deny_policy_arn));
    let exempt = results_for(&report, "deny-iam", &role_arn(EXEMPT_ROLE));
    assert_eq!(exempt, ["exempt: the fraud team's execution role must keep serving"]);
    assert!(!w.attached(EXEMPT_ROLE).await.contains(&w.seeded.deny_policy_arn));
}

#[tokio::test]
async fn an_expired_exemption_is_reported_and_not_honoured() {
    let w = world(2).await;
    let mut policy = Policy::example().unwrap();
    let expired: Vec<Exemption> = serde_json::from_value(json!([
        {"resource": "exempt-*", "reason": "fraud launch week (INC-2291)", "expires": "2026-11-30"},
        {"role": role_arn(EXEMPT_ROLE), "reason": "fraud launch week", "expires": "2026-11-30"},
    ]))
    .unwrap();
    policy.budgets.exemptions = expired;
    policy.budgets.today = Some(Day::parse("2026-12-01").unwrap());

    let report = w.alert(policy, "actual-125-percent.json").await;
    for arn in &w.seeded.exempt.notebooks_running {
        let results = results_for(&report, "stop-notebooks", arn);
        assert_eq!(
            results,
            ["exemption-expired: exemption expired 2026-11-30: fraud launch week (INC-2291)", "done"],
            "{arn}"
        );
        assert_eq!(w.notebook_status(arn).await, NotebookInstanceStatus::Stopped, "{arn}");
    }
    let role = results_for(&report, "deny-iam", &role_arn(EXEMPT_ROLE));
    assert_eq!(role, ["exemption-expired: exemption expired 2026-11-30: fraud launch week", "done"]);
    assert!(w.attached(EXEMPT_ROLE).await.contains(&w.seeded.deny_policy_arn));

    let (_, body) = summary(&report);
    let listed: BTreeMap<&str, &str> = body
        .lines()
        .skip_while(|l| !l.starts_with("Expired exemptions"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.trim().split_once(": "))
        .collect();
    for arn in w.seeded.exempt.notebooks_running.iter().chain(&w.seeded.exempt.endpoints) {
        assert!(listed.keys().any(|k| k.eq_ignore_ascii_case(arn)), "{arn} missing from the summary:\n{body}");
    }
    assert!(listed.contains_key(role_arn(EXEMPT_ROLE).as_str()), "{body}");
}
