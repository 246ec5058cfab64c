//! The idle rules across an organization, against the emulator: the schedule queues one message per
//! (account, region) the member role reaches, on the enforcer's own queue, instead of doing the work; a
//! place's message runs the rules in that place with its member clients (an off-hours rule stops a member's
//! dev notebooks, and each place stops once that day, not only the first); a redelivered message neither
//! stops again nor tells an idle endpoint's owner twice; a place outside the organization is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_sagemaker::types::{NotebookInstanceStatus, ProductionVariantInstanceType};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tagwarden::Clients;
use tagwarden::aws::CallPolicy;
use tagwarden::enforce::idle::IdleReport;
use tagwarden::enforce::idle::endpoints::IdleStep;
use tagwarden::enforce::idle::fanout::IdleQueue;
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::event::budget::IdlePlace;
use tagwarden::org::{ClientPool, Membership, Organization};
use tagwarden::{BudgetEnforcer, EnforcementOutcome, Policy};
use tagwarden_e2e::idle::IdleWorld;
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::org_budget::{MEMBER_ROLE, OrgWorld, REGIONS, member_config, seed_org_budget_world};
use tagwarden_e2e::{ACCOUNT, Emulator, REGION};

/// Off-hours at midnight UTC every day with no start: whatever the test's clock, the stop is due.
const POLICY: &str = r#"
tags:
  keys:
    cost-center: {}
    environment: {}
budgets:
  notify_topic_arn: arn:aws:sns:us-east-1:123456789012:tagwarden-enforcement
idle:
  endpoints:
    - name: dev-endpoints
      scope: {tags: {environment: dev}}
      no_invocations_for: 3d
      grace: 1d
      then: scale-to-minimum
  off_hours:
    - name: nights
      scope: {tags: {cost-center: CC-4100}}
      resources: [notebooks]
      stop_at: "00:00"
      time_zone: UTC
      weekdays: [mon, tue, wed, thu, fri, sat, sun]
"#;

struct World {
    emulator: Emulator,
    base: SdkConfig,
    seeded: OrgWorld,
    enforcer: BudgetEnforcer,
    ledger: LedgerTable,
    queue: String,
}

/// The seeded organization (three members, notebooks in two regions); the enforcer's membership lists the
/// first two, its regions are both, and its queue is `tagwarden-continuations`.
async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let base = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_org_budget_world(&emulator, &base).await.expect("seed");
    let members = seeded.members[..2].iter().map(|a| (a.clone(), vec![]));
    let organization = Organization {
        membership: Membership::Listed(members.collect()),
        member_role_name: MEMBER_ROLE.to_owned(),
        external_id_parameter: None,
        external_id: None,
        regions: REGIONS.iter().map(|r| (*r).to_owned()).collect(),
    };
    let pool = ClientPool::new(&base, &CallPolicy::default(), ACCOUNT, organization, "budget-enforcer");
    let ledger = create_ledger(&base).await.expect("ledger table");
    aws_sdk_sns::Client::new(&base).create_topic().name("tagwarden-enforcement").send().await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&base);
    let queue = sqs.create_queue().queue_name("tagwarden-continuations").send().await.unwrap();
    let queue = queue.queue_url().unwrap().to_owned();
    let policy = Arc::new(Policy::from_yaml(POLICY, "idle-fanout").unwrap());
    let enforcer = BudgetEnforcer::for_organization(pool, policy)
        .with_ledger(ledger.clone())
        .with_cloudwatch(aws_sdk_cloudwatch::Client::new(&base))
        .with_idle_queue(IdleQueue::new(sqs, &queue));
    World { emulator, base, seeded, enforcer, ledger, queue }
}

impl World {
    fn calls(&self, action: &str) -> u64 {
        self.emulator.calls().unwrap().by_action.get(action).copied().unwrap_or_default()
    }

    /// Every message on the queue now (deleted), as the SQS Lambda events that would carry them.
    async fn receive(&self) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.base);
        let mut events = Vec::new();
        loop {
            let out = sqs.receive_message().queue_url(&self.queue).max_number_of_messages(10).send().await.unwrap();
            if out.messages().is_empty() {
                return events;
            }
            for message in out.messages() {
                events.push(sqs_event(message.message_id().unwrap(), message.body().unwrap()));
                let receipt = message.receipt_handle().unwrap();
                sqs.delete_message().queue_url(&self.queue).receipt_handle(receipt).send().await.unwrap();
            }
        }
    }

    async fn notebook_status(&self, account: &str, region: &str, name: &str) -> NotebookInstanceStatus {
        let config = member_config(&self.base, account, region).await.unwrap();
        let out = aws_sdk_sagemaker::Client::new(&config)
            .describe_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
            .unwrap();
        out.notebook_instance_status().cloned().unwrap()
    }
}

fn sqs_event(id: &str, body: &str) -> Value {
    json!({"Records": [{"messageId": id, "eventSource": "aws:sqs", "body": body,
        "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:tagwarden-continuations")}]})
}

fn idle(outcome: EnforcementOutcome) -> IdleReport {
    match outcome {
        EnforcementOutcome::Idle(report) => report,
        other => panic!("expected idle, got {}", serde_json::to_string_pretty(&other).unwrap()),
    }
}

fn place_event(account: &str, region: &str) -> Value {
    let place = IdlePlace { account: account.to_owned(), region: region.to_owned(), at: Utc::now() };
    sqs_event("m-1", &place.body())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_schedule_queues_one_message_per_account_and_region() {
    let w = world().await;
    w.emulator.reset_calls().unwrap();
    let report = idle(w.enforcer.handle(&json!({"tagwarden": "idle"}), false).await.unwrap());
    let queued = report.queued.expect("queued, not run");
    assert_eq!(queued.places, 3 * 2, "the central account and the two listed members, in both regions: {queued:?}");
    assert_eq!((queued.batches, queued.resent), (1, 0));
    assert_eq!(w.calls("sqs.SendMessageBatch"), 1, "six messages fit one batch");
    assert_eq!(w.calls("sagemaker.ListNotebookInstances") + w.calls("sagemaker.StopNotebookInstance"), 0, "no work");

    let messages = w.receive().await;
    assert_eq!(messages.len(), 6);
    let mut places = BTreeSet::new();
    let mut ticks = BTreeSet::new();
    for event in &messages {
        let body: Value = serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["tagwarden"], "idle");
        places.insert((body["account"].as_str().unwrap().to_owned(), body["region"].as_str().unwrap().to_owned()));
        ticks.insert(body["at"].as_str().unwrap().to_owned());
    }
    let mut expected = BTreeSet::new();
    for account in [ACCOUNT, &w.seeded.members[0], &w.seeded.members[1]] {
        for region in REGIONS {
            expected.insert((account.to_owned(), region.to_owned()));
        }
    }
    assert_eq!(places, expected, "one message per account and region, the unlisted member left out");
    assert_eq!(ticks.len(), 1, "every place decides for the same tick: {ticks:?}");

    // A dry run says where it would queue and sends nothing.
    let dry = idle(w.enforcer.handle(&json!({"tagwarden": "idle"}), true).await.unwrap());
    assert_eq!(dry.queued.unwrap().places, 6);
    assert!(w.receive().await.is_empty(), "a dry run queues nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_off_hours_rule_stops_a_dev_notebook_in_a_member_account() {
    let w = world().await;
    let (first, second) = (w.seeded.members[0].clone(), w.seeded.members[1].clone());
    w.emulator.reset_calls().unwrap();

    let report = idle(w.enforcer.handle(&place_event(&first, REGIONS[0]), false).await.unwrap());
    assert_eq!(report.place.as_deref(), Some(format!("{first}/{}", REGIONS[0]).as_str()));
    let stopped: BTreeSet<&str> = report
        .results
        .iter()
        .filter(|r| r.action == "stop-notebooks" && r.result.is_done())
        .map(|r| r.resource_arn.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(stopped, BTreeSet::from(["mkt-1", "mkt-2"]), "{report:?}");
    assert!(report.results.iter().all(|r| r.resource_arn.contains(&first) && r.resource_arn.contains(REGIONS[0])));
    assert_eq!(w.notebook_status(&first, REGIONS[0], "mkt-1").await, NotebookInstanceStatus::Stopped);
    assert_eq!(w.notebook_status(&first, REGIONS[0], "research-1").await, NotebookInstanceStatus::InService);
    assert_eq!(
        w.notebook_status(&first, REGIONS[1], "mkt-1").await,
        NotebookInstanceStatus::InService,
        "not its place"
    );
    assert_eq!(w.notebook_status(&second, REGIONS[0], "mkt-1").await, NotebookInstanceStatus::InService);
    assert_eq!(w.calls("sagemaker.StopNotebookInstance"), 2);

    // Redelivered: the day's stop in that place is claimed; nothing is stopped again.
    let again = idle(w.enforcer.handle(&place_event(&first, REGIONS[0]), false).await.unwrap());
    assert!(again.off_hours[0].done.starts_with("stopped already on"), "{again:?}");
    assert_eq!(w.calls("sagemaker.StopNotebookInstance"), 2, "not stopped twice");

    // Another place the same evening stops its own (each place claims its own day).
    let other = idle(w.enforcer.handle(&place_event(&second, REGIONS[1]), false).await.unwrap());
    assert_eq!(other.results.iter().filter(|r| r.result.is_done()).count(), 1, "{other:?}");
    assert_eq!(w.notebook_status(&second, REGIONS[1], "mkt-1").await, NotebookInstanceStatus::Stopped);
    assert_eq!(w.calls("sagemaker.StopNotebookInstance"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_outside_the_organization_or_an_old_tick_is_skipped_with_the_reason() {
    let w = world().await;
    let unlisted = w.seeded.members[2].clone();
    w.emulator.reset_calls().unwrap();
    for (event, expected) in [
        (place_event(&unlisted, REGIONS[0]), "is not a member of the organization"),
        (place_event(&w.seeded.members[0], "ap-south-1"), "not a region of the organization"),
    ] {
        let outcome = w.enforcer.handle(&event, false).await.unwrap();
        let EnforcementOutcome::Skipped { reason, .. } = &outcome else { panic!("expected skipped: {outcome:?}") };
        assert!(reason.contains(expected), "{reason}");
    }
    let old = IdlePlace {
        account: w.seeded.members[0].clone(),
        region: REGIONS[0].into(),
        at: Utc::now() - Duration::hours(3),
    };
    let outcome = w.enforcer.handle(&sqs_event("m-2", &old.body()), false).await.unwrap();
    let EnforcementOutcome::Skipped { reason, .. } = &outcome else { panic!("expected skipped: {outcome:?}") };
    assert!(reason.contains("more than an hour old"), "{reason}");
    assert_eq!(w.calls("sagemaker.ListNotebookInstances") + w.calls("sagemaker.StopNotebookInstance"), 0);
    assert_eq!(w.notebook_status(&unlisted, REGIONS[0], "mkt-1").await, NotebookInstanceStatus::InService);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_place_message_does_not_tell_an_idle_endpoints_owner_twice() {
    let w = world().await;
    let member = w.seeded.members[0].clone();
    let config = member_config(&w.base, &member, REGIONS[0]).await.unwrap();
    let in_member = IdleWorld {
        clients: Clients::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        ledger: w.ledger.clone(),
    };
    let arn = in_member.endpoint("churn-dev", "dev", 3, ProductionVariantInstanceType::MlM5Xlarge).await.unwrap();
    assert!(arn.contains(&member), "{arn}");
    // The endpoint is three days without a request four days from now: the tick and the receiver's clock.
    let at = Utc::now() + Duration::days(4);
    let place = IdlePlace { account: member.clone(), region: REGIONS[0].into(), at };

    let first = idle(w.enforcer.idle_place_at(&place, at, false).await.unwrap());
    let decision = first.endpoints.iter().find(|d| d.endpoint == arn).unwrap_or_else(|| panic!("{first:?}"));
    assert_eq!(decision.step, IdleStep::Notice);
    let told = |subjects: Vec<String>| subjects.iter().filter(|s| s.contains("churn-dev served no request")).count();
    assert_eq!(told(w.emulator.sns_subjects().unwrap()), 1, "the owner is told");

    let redelivered = idle(w.enforcer.idle_place_at(&place, at, false).await.unwrap());
    let decision = redelivered.endpoints.iter().find(|d| d.endpoint == arn).unwrap();
    assert!(matches!(decision.step, IdleStep::InGrace { .. }), "{redelivered:?}");
    assert_eq!(redelivered.notices, 0, "nothing published again (the evening's stop is claimed too)");
    assert_eq!(told(w.emulator.sns_subjects().unwrap()), 1, "told once");

    // The central account's place run neither sees nor clears the member's mark.
    let home = IdlePlace { account: ACCOUNT.into(), region: REGIONS[0].into(), at };
    let central = idle(w.enforcer.idle_place_at(&home, at, false).await.unwrap());
    assert!(central.endpoints.is_empty(), "{central:?}");
    let marks = w.ledger.idle_marks("idle:dev-endpoints").await.unwrap();
    assert_eq!(marks.len(), 1, "the member's mark is kept: {marks:?}");
}
