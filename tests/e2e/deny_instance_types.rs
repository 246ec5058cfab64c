//! `deny-instance-types` against the emulator: the instance-types policy (the library's document, as the
//! templates deploy it) is attached to the in-scope execution roles only, each attachment is in the ledger, and
//! `restore` detaches exactly those. moto does not evaluate IAM policies for SageMaker calls, so what is checked
//! is the attachment; which calls the document denies is pinned by `deny_policy`'s unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use tagwarden::enforce::ActionResult;
use tagwarden::enforce::INSTANCE_TYPES_DENIED_BY_TAG;
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{
    BudgetWorld, EXEMPT_ROLE, INSTANCE_TYPES_POLICY, MIA_ROLE, SELF_TAGGED_ROLE, seed_budget_world,
};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{ACCOUNT, Emulator, REGION, sample_event};

struct World {
    _emulator: Emulator,
    clients: Clients,
    enforcer: BudgetEnforcer,
    ledger: LedgerTable,
    seeded: BudgetWorld,
    policy_arn: String,
}

/// The example policy with `deny-instance-types` as the only action of `ml-*`'s 100 % step.
fn policy() -> Policy {
    tagwarden_e2e::example_policy_with_step_100("notify, deny-instance-types", "deny-instance-types test").unwrap()
}

async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 1).await.expect("seed");
    let clients = Clients::new(&config);
    // The budget world holds the policy the example names (built from the library's document and list).
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/{INSTANCE_TYPES_POLICY}");
    let ledger = create_ledger(&config).await.expect("ledger table");
    let enforcer = BudgetEnforcer::new(clients.clone(), Arc::new(policy())).with_ledger(ledger.clone());
    World { _emulator: emulator, clients, enforcer, ledger, seeded, policy_arn }
}

impl World {
    async fn attached(&self, role: &str) -> Vec<String> {
        let out = self.clients.iam.list_attached_role_policies().role_name(role).send().await.unwrap();
        out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect()
    }

    async fn tag_keys(&self, role: &str) -> Vec<String> {
        let out = self.clients.iam.list_role_tags().role_name(role).send().await.unwrap();
        out.tags().iter().map(|t| t.key().to_owned()).collect()
    }
}

/// Role name -> result, for one action's results.
fn by_role(results: &[ActionResult], action: &str) -> BTreeMap<String, String> {
    results
        .iter()
        .filter(|r| r.action == action)
        .map(|r| (r.resource_arn.rsplit('/').next().unwrap().to_owned(), r.result.to_string()))
        .collect()
}

#[tokio::test]
async fn the_instance_types_policy_goes_on_in_scope_roles_only_into_the_ledger_and_restore_takes_it_off() {
    let w = world().await;
    let alert = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let EnforcementOutcome::Enforced(report) = w.enforcer.handle(&alert, false).await.unwrap() else {
        panic!("expected enforced")
    };
    let roles = by_role(&report.results, "deny-instance-types");
    assert_eq!(roles.get(SELF_TAGGED_ROLE).map(String::as_str), Some("done"), "{roles:?}");
    assert_eq!(roles.get(MIA_ROLE).map(String::as_str), Some("done"), "execution role of an in-scope profile");
    assert_eq!(
        roles.get(&w.seeded.preattached_role).map(String::as_str),
        Some("done"),
        "the deny-iam policy a person attached is another policy"
    );
    assert!(roles.get(EXEMPT_ROLE).is_some_and(|r| r.starts_with("exempt: ")), "{roles:?}");
    assert!(!roles.contains_key("ml-research-exec") && !roles.contains_key(&w.seeded.untrusted_role), "{roles:?}");
    assert!(report.results.iter().all(|r| r.action != "deny-iam"), "the step denies instance types only");

    let denied = [SELF_TAGGED_ROLE, MIA_ROLE, w.seeded.preattached_role.as_str()];
    for role in denied {
        let attached = w.attached(role).await;
        assert!(attached.contains(&w.policy_arn), "{role}: {attached:?}");
        assert!(w.tag_keys(role).await.iter().any(|k| k == INSTANCE_TYPES_DENIED_BY_TAG), "{role}: marker");
    }
    for role in [EXEMPT_ROLE, "ml-research-exec", w.seeded.untrusted_role.as_str()] {
        assert!(!w.attached(role).await.contains(&w.policy_arn), "{role}");
    }
    assert!(!w.attached(SELF_TAGGED_ROLE).await.contains(&w.seeded.deny_policy_arn), "not the deny-iam policy");

    let history = w.ledger.history_of_budget("ml-marketing", None).await.unwrap();
    let mut recorded: Vec<(&str, &str)> = history
        .iter()
        .filter(|e| e.action == "deny-instance-types" && e.result == "done")
        .map(|e| (e.resource.rsplit('/').next().unwrap(), e.before.as_ref().map_or("", |_| "with its state before")))
        .collect();
    recorded.sort_unstable();
    let mut expected: Vec<(&str, &str)> = denied.iter().map(|r| (*r, "with its state before")).collect();
    expected.sort_unstable();
    assert_eq!(recorded, expected, "each attachment is in the ledger");

    let restore = sample_event("budget-enforcer", "restore-command.json").unwrap();
    let EnforcementOutcome::Restored(restored) = w.enforcer.handle(&restore, false).await.unwrap() else {
        panic!("expected restored")
    };
    let detached = by_role(&restored.results, "detach-deny-instance-types");
    let expected: BTreeMap<String, String> = denied.iter().map(|r| ((*r).to_owned(), "done".to_owned())).collect();
    assert_eq!(detached, expected, "exactly the roles the ledger recorded");
    for role in denied {
        assert!(!w.attached(role).await.contains(&w.policy_arn), "{role}");
        assert!(!w.tag_keys(role).await.iter().any(|k| k == INSTANCE_TYPES_DENIED_BY_TAG), "{role}: marker");
    }
    assert!(
        w.attached(&w.seeded.preattached_role).await.contains(&w.seeded.deny_policy_arn),
        "a person's deny-iam attachment stays"
    );
}
