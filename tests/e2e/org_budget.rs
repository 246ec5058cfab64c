//! The budget-enforcer across an organization, against the emulator: a payer budget filtered by two of
//! three member accounts (`LinkedAccount`) and a cost-allocation tag is enforced in exactly those accounts'
//! in-scope notebooks, in every configured region, through the member role; dry run writes nothing; restore
//! restarts them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use serde_json::{Value, json};
use tagwarden::aws::CallPolicy;
use tagwarden::enforce::{EnforcementReport, ResultKind};
use tagwarden::org::{ClientPool, Membership, Organization};
use tagwarden::{BudgetEnforcer, EnforcementOutcome, Policy};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::org_budget::{MEMBER_ROLE, ORG_BUDGET, OrgWorld, REGIONS, member_config, seed_org_budget_world};
use tagwarden_e2e::{ACCOUNT, Emulator, REGION};

const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  rules:\n    - budget: ml-org\n      scope: from-budget\n      restart_notebooks_on_restore: true\n      steps: [{at: 100, actions: [stop-notebooks]}]\n";

fn alert() -> Value {
    let message = format!(
        "AWS Budget Notification\nAWS Account {ACCOUNT}\n\nBudget Name: {ORG_BUDGET}\nBudget Type: Cost\nBudgeted Amount: $1,000.00\nAlert Type: ACTUAL\nAlert Threshold: > $1,000.00\nACTUAL Amount: $1,200.00\n"
    );
    json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": format!("AWS Budgets: {ORG_BUDGET} has exceeded your alert threshold"), "Message": message}}]})
}

struct World {
    emulator: Emulator,
    base: aws_config::SdkConfig,
    seeded: OrgWorld,
    enforcer: BudgetEnforcer,
}

/// The seeded organization; the enforcer's membership lists the members `listed` picks.
async fn world_listing(listed: impl Fn(usize) -> bool) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let base = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_org_budget_world(&emulator, &base).await.expect("seed");
    let members = seeded.members.iter().enumerate().filter(|(i, _)| listed(*i)).map(|(_, a)| (a.clone(), vec![]));
    let organization = Organization {
        membership: Membership::Listed(members.collect()),
        member_role_name: MEMBER_ROLE.to_owned(),
        external_id_parameter: None,
        external_id: None,
        regions: REGIONS.iter().map(|r| (*r).to_owned()).collect(),
    };
    let pool = ClientPool::new(&base, &CallPolicy::default(), ACCOUNT, organization, "budget-enforcer");
    let policy = Arc::new(Policy::from_yaml(POLICY, "org-test").unwrap());
    let ledger = create_ledger(&base).await.expect("ledger table");
    let enforcer = BudgetEnforcer::for_organization(pool, policy).with_ledger(ledger);
    World { emulator, base, seeded, enforcer }
}

async fn world() -> World {
    world_listing(|_| true).await
}

impl World {
    /// Status of every seeded notebook, by ARN.
    async fn statuses(&self) -> BTreeMap<String, NotebookInstanceStatus> {
        let mut statuses = BTreeMap::new();
        for notebook in &self.seeded.notebooks {
            let config = member_config(&self.base, &notebook.account, &notebook.region).await.unwrap();
            let name = notebook.arn.rsplit('/').next().unwrap();
            let out = aws_sdk_sagemaker::Client::new(&config)
                .describe_notebook_instance()
                .notebook_instance_name(name)
                .send()
                .await
                .unwrap();
            statuses.insert(notebook.arn.clone(), out.notebook_instance_status().cloned().unwrap());
        }
        statuses
    }

    fn calls(&self, action: &str) -> u64 {
        self.emulator.calls().unwrap().by_action.get(action).copied().unwrap_or_default()
    }
}

fn report(outcome: EnforcementOutcome) -> EnforcementReport {
    match outcome {
        EnforcementOutcome::Enforced(r) | EnforcementOutcome::DryRun(r) => r,
        other => panic!("expected a report, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_account_budget_stops_exactly_its_accounts_tagged_notebooks_in_every_region_and_restore_restarts_them()
{
    let world = world().await;
    let expected: Vec<String> = world.seeded.in_scope().map(|n| n.arn.clone()).collect();
    assert_eq!(expected.len(), 2 * 3, "two accounts: two in-scope notebooks in us-east-1, one in eu-west-1");
    let before = world.statuses().await;
    assert!(before.values().all(|s| *s == NotebookInstanceStatus::InService));

    // Dry run: the same decisions, nothing written.
    world.emulator.reset_calls().unwrap();
    let dry = report(world.enforcer.handle(&alert(), true).await.expect("dry run"));
    let first_assumes = world.calls("sts.AssumeRole");
    assert_eq!(first_assumes, 2, "the member role is assumed once per budget account (not per region or call)");
    let mut would: Vec<String> =
        dry.results.iter().filter(|r| r.result == ResultKind::DryRun).map(|r| r.resource_arn.clone()).collect();
    would.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(would, sorted, "dry run names exactly the in-scope notebooks of the budget's accounts");
    assert_eq!(world.calls("sagemaker.StopNotebookInstance") + world.calls("sagemaker.AddTags"), 0);
    assert_eq!(world.statuses().await, before, "dry run changes nothing");
    assert!(dry.scope.contains(&world.seeded.members[0]) && dry.scope.contains("eu-west-1"), "{}", dry.scope);

    // Enforce.
    world.emulator.reset_calls().unwrap();
    let started = std::time::Instant::now();
    let enforced = report(world.enforcer.handle(&alert(), false).await.expect("enforced"));
    let elapsed = started.elapsed();
    let assumed = world.calls("sts.AssumeRole");
    let mut stopped: Vec<String> =
        enforced.results.iter().filter(|r| r.result == ResultKind::Done).map(|r| r.resource_arn.clone()).collect();
    stopped.sort();
    assert_eq!(stopped, sorted, "{:#?}", enforced.results);
    let after = world.statuses().await;
    for notebook in &world.seeded.notebooks {
        let in_scope = expected.contains(&notebook.arn);
        let running = after[&notebook.arn] == NotebookInstanceStatus::InService;
        assert_eq!(running, !in_scope, "{} ({}/{})", notebook.arn, notebook.account, notebook.region);
    }
    let third = &world.seeded.members[2];
    assert!(enforced.results.iter().all(|r| !r.resource_arn.contains(third.as_str())), "third account untouched");
    assert_eq!(assumed, 0, "credentials assumed for the dry run are reused");
    println!(
        "org enforce: {} notebooks stopped in 2 accounts x {} regions in {elapsed:?}; sts.AssumeRole calls: {first_assumes} (dry run, first use), {assumed} (enforce); AWS calls: {}",
        stopped.len(),
        REGIONS.len(),
        world.emulator.calls().unwrap().total
    );

    // Enforcing again finds nothing left to stop (idempotent).
    let again = report(world.enforcer.handle(&alert(), false).await.expect("again"));
    assert!(again.results.iter().all(|r| r.result != ResultKind::Done), "{:#?}", again.results);

    // Restore: the ledger's accounts and regions only, the notebooks restart.
    world.emulator.reset_calls().unwrap();
    let EnforcementOutcome::Restored(restored) = world.enforcer.restore(Some(ORG_BUDGET), false).await.unwrap() else {
        panic!("restored")
    };
    let restore_assumes = world.calls("sts.AssumeRole");
    assert_eq!(restore_assumes, 0, "restore visits only where the ledger recorded changes, with cached credentials");
    let mut restarted: Vec<String> = restored
        .results
        .iter()
        .filter(|r| r.action == "restart-notebook" && r.result == ResultKind::Done)
        .map(|r| r.resource_arn.clone())
        .collect();
    restarted.sort();
    assert_eq!(restarted, sorted, "{:#?}", restored.results);
    assert!(restored.results.iter().all(|r| !r.result.is_failed()), "{:#?}", restored.results);
    let final_statuses = world.statuses().await;
    for arn in &expected {
        assert_eq!(final_statuses[arn], NotebookInstanceStatus::InService, "{arn} restarted");
    }
    println!(
        "org restore: {} notebooks restarted over 2 members x 2 regions; sts.AssumeRole calls: {restore_assumes}",
        restarted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_tagwarden_may_not_act_in_is_one_failed_result_and_the_other_accounts_are_still_enforced() {
    // The budget names members 0 and 1; the enforcer's organization does not list member 1.
    let world = world_listing(|i| i != 1).await;
    let refused = world.seeded.members[1].clone();
    let enforced = report(world.enforcer.handle(&alert(), false).await.expect("enforced despite one account"));
    let failed: Vec<_> = enforced.results.iter().filter(|r| r.result.is_failed()).collect();
    assert_eq!(failed.len(), 1, "{:#?}", enforced.results);
    assert_eq!(failed[0].action, "assume-role");
    assert!(
        failed[0].resource_arn.contains(&refused) && failed[0].result.to_string().contains("not a member"),
        "{failed:?}"
    );
    let mut stopped: Vec<String> =
        enforced.results.iter().filter(|r| r.result == ResultKind::Done).map(|r| r.resource_arn.clone()).collect();
    stopped.sort();
    let mut expected: Vec<String> =
        world.seeded.in_scope().filter(|n| n.account != refused).map(|n| n.arn.clone()).collect();
    expected.sort();
    assert_eq!(stopped, expected);
    let after = world.statuses().await;
    for notebook in world.seeded.notebooks.iter().filter(|n| n.account == refused) {
        assert_eq!(after[&notebook.arn], NotebookInstanceStatus::InService, "{}", notebook.arn);
    }
}
