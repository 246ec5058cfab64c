//! The queued sweep against the local emulator: an organization of three accounts (the central one and two
//! members) in two regions, a few hundred resources; the schedule seeds moto's SQS queue, and the test plays
//! Lambda's event source mapping: receive up to five messages, invoke the handler with them as one SQS event,
//! delete what succeeded and make the `batchItemFailures` visible again, until the queue is empty.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_config::{Region, SdkConfig};
use aws_sdk_sagemaker::types::{ContainerDefinition, InstanceType};
use serde_json::{Value, json};
use tagwarden::auto_tagger::AutoTaggerFunction;
use tagwarden::aws::CallPolicy;
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::org::{ClientPool, Membership, Organization};
use tagwarden::sweep::queue::run_pk;
use tagwarden::sweep::worker::{PageReport, PageResult, SweepQueue};
use tagwarden::sweep::{Lister, kinds_named};
use tagwarden::tagging::org::OrgTagger;
use tagwarden::tagging::{TaggerSettings, apply::list_tags};
use tagwarden::{Clients, Policy};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::org::{MEMBER_ROLE, config_as, seed_organization};
use tagwarden_e2e::world::{STUDIO_ROLE, seed_world};
use tagwarden_e2e::{ACCOUNT, Emulator, REGION};

const OTHER_REGION: &str = "eu-west-1";
const RUN: &str = "2026-12-01T06:00:00Z";
/// Lambda's batch size in the template.
const BATCH: i32 = 5;
const PAGE_SIZE: i32 = 2;
const TYPES: [&str; 2] = ["model", "notebook-instance"];

struct World {
    emulator: Emulator,
    central: SdkConfig,
    function: AutoTaggerFunction,
    sqs: aws_sdk_sqs::Client,
    url: String,
    ledger: LedgerTable,
    /// Every resource seeded, by ARN.
    resources: BTreeSet<String>,
    accounts: Vec<String>,
}

/// What draining the queue saw.
#[derive(Default)]
struct Drained {
    /// Every record's report, in the order handled.
    pages: Vec<PageReport>,
    /// Invocations of the handler.
    invocations: usize,
}

impl Drained {
    /// How often each resource was visited with each outcome label (`tagged`, `unchanged`, …).
    fn visits(&self) -> BTreeMap<String, BTreeMap<String, u32>> {
        let mut visits: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for outcome in self.pages.iter().flat_map(|p| &p.outcomes) {
            let value = serde_json::to_value(outcome).unwrap();
            let arn = value["resource_arn"].as_str().unwrap().to_owned();
            *visits.entry(arn).or_default().entry(outcome.label().to_owned()).or_default() += 1;
        }
        visits
    }
}

/// `models` models and `notebooks` notebook instances in each account × region.
async fn world(models: usize, notebooks: usize) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let central = emulator.sdk_config(REGION, 1).await;
    seed_world(&central).await.unwrap();
    let org = seed_organization(&central, &["research"], &[("member-a", "research"), ("member-b", "research")])
        .await
        .unwrap();
    let mut accounts = vec![ACCOUNT.to_owned()];
    accounts.extend(org.members.iter().map(|(_, id, _)| id.clone()));

    let mut resources = BTreeSet::new();
    for account in &accounts {
        let acting = if account == ACCOUNT { central.clone() } else { config_as(&central, account).await };
        for region in [REGION, OTHER_REGION] {
            let config = acting.to_builder().region(Region::new(region)).build();
            resources.extend(seed_place(&config, account, models, notebooks).await);
        }
    }

    let ledger = create_ledger(&central).await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&central);
    let url = sqs.create_queue().queue_name("tagwarden-sweep").send().await.unwrap().queue_url().unwrap().to_owned();
    let organization = Organization {
        membership: Membership::Organizations,
        member_role_name: MEMBER_ROLE.into(),
        external_id_parameter: None,
        external_id: Some("tagwarden-e2e".into()),
        regions: vec![REGION.into(), OTHER_REGION.into()],
    };
    // NOTE: one attempt per call, so that a throttle the test injects reaches the worker instead of an SDK retry.
    let policy = CallPolicy { max_attempts: 1, ..CallPolicy::DEFAULT };
    let pool = ClientPool::new(&central, &policy, ACCOUNT, organization, "auto-tagger");
    let lister = Lister::new(pool.home().clone());
    let tagger = OrgTagger::new(pool, Arc::new(Policy::example().unwrap()), &TaggerSettings::default());
    let types: Vec<String> = TYPES.iter().map(|t| t.to_string()).collect();
    let queue = SweepQueue::new(sqs.clone(), &url, ledger.clone())
        .with_page_size(PAGE_SIZE)
        .with_kinds(kinds_named(&types).unwrap());
    let function = AutoTaggerFunction::for_organization(tagger, lister).with_queue(Some(queue));
    World { emulator, central, function, sqs, url, ledger, resources, accounts }
}

/// The models and notebook instances of one account and region; their ARNs.
async fn seed_place(config: &SdkConfig, account: &str, models: usize, notebooks: usize) -> Vec<String> {
    let sm = aws_sdk_sagemaker::Client::new(config);
    let role = format!("arn:aws:iam::{account}:role/service-role/{STUDIO_ROLE}");
    let mut arns = Vec::new();
    for i in 0..models {
        let container =
            ContainerDefinition::builder().image("683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1").build();
        let out = sm
            .create_model()
            .model_name(format!("churn-{i:03}"))
            .execution_role_arn(&role)
            .primary_container(container)
            .send()
            .await
            .unwrap();
        arns.push(out.model_arn().unwrap().to_owned());
    }
    for i in 0..notebooks {
        let out = sm
            .create_notebook_instance()
            .notebook_instance_name(format!("nb-{i:03}"))
            .instance_type(InstanceType::MlT3Medium)
            .role_arn(&role)
            .send()
            .await
            .unwrap();
        arns.push(out.notebook_instance_arn().unwrap().to_owned());
    }
    arns
}

fn schedule() -> Value {
    json!({"version": "0", "id": "5f3c1d2e", "detail-type": "Scheduled Event", "source": "aws.events",
           "account": ACCOUNT, "time": RUN, "region": REGION, "resources": [], "detail": {}})
}

fn deadline() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(300))
}

impl World {
    async fn seed(&self) {
        let seeded = self.function.handle(&schedule(), deadline()).await.unwrap();
        assert_eq!(seeded["outcome"], "queued", "{seeded}");
        assert_eq!(seeded["seed"]["messages"], self.accounts.len() * 2 * TYPES.len(), "{seeded}");
    }

    async fn receive(&self, max: i32) -> Vec<aws_sdk_sqs::types::Message> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        out.messages().to_vec()
    }

    /// Lambda's SQS event for `messages`.
    fn event(&self, messages: &[aws_sdk_sqs::types::Message]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let count = m
                    .attributes()
                    .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
                    .cloned()
                    .unwrap_or_else(|| "1".into());
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                       "attributes": {"ApproximateReceiveCount": count}, "eventSource": "aws:sqs",
                       "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:tagwarden-sweep"),
                       "awsRegion": REGION})
            })
            .collect();
        json!({ "Records": records })
    }

    /// Deletes the messages that succeeded; makes the failed ones visible again at once (as the visibility
    /// timeout would, later).
    async fn acknowledge(&self, messages: &[aws_sdk_sqs::types::Message], failed: &[&str]) {
        for message in messages {
            let receipt = message.receipt_handle().unwrap();
            if failed.contains(&message.message_id().unwrap()) {
                let again = self.sqs.change_message_visibility().queue_url(&self.url).receipt_handle(receipt);
                again.visibility_timeout(0).send().await.unwrap();
            } else {
                self.sqs.delete_message().queue_url(&self.url).receipt_handle(receipt).send().await.unwrap();
            }
        }
    }

    /// Plays the event source mapping until the queue is empty.
    async fn drain(&self) -> Drained {
        let mut drained = Drained::default();
        for _ in 0..2000 {
            let messages = self.receive(BATCH).await;
            if messages.is_empty() {
                return drained;
            }
            let report = self.function.sweep_pages(&self.event(&messages), deadline()).await.unwrap();
            drained.invocations += 1;
            self.acknowledge(&messages, &report.failed()).await;
            drained.pages.extend(report.pages);
        }
        panic!("the queue did not empty in 2,000 invocations");
    }

    fn calls(&self, action: &str) -> u64 {
        self.emulator.calls().unwrap().by_action.get(action).copied().unwrap_or(0)
    }
}

#[tokio::test]
async fn the_scheduled_sweep_of_three_accounts_in_two_regions_visits_every_resource_once_across_many_invocations() {
    let w = world(25, 15).await;
    assert_eq!(w.resources.len(), 3 * 2 * 40);
    w.emulator.reset_calls().unwrap();
    let started = Instant::now();
    w.seed().await;
    let drained = w.drain().await;
    let elapsed = started.elapsed();

    let visits = drained.visits();
    assert_eq!(visits.keys().cloned().collect::<BTreeSet<_>>(), w.resources, "every resource of every place");
    for (arn, labels) in &visits {
        assert_eq!(labels.values().sum::<u32>(), 1, "{arn} visited once: {labels:?}");
        assert_eq!(labels.get("tagged"), Some(&1), "{arn}: {labels:?}");
    }
    assert!(drained.pages.iter().all(|p| matches!(p.result, PageResult::Next | PageResult::Complete)));
    let most = drained.pages.iter().map(|p| p.outcomes.len()).max().unwrap();
    assert!(most <= PAGE_SIZE as usize, "one page per message: {most}");

    let progress = w.ledger.run_progress(&run_pk(RUN)).await.unwrap();
    assert!(progress.is_complete(), "{progress:?}");
    assert_eq!(progress.expected, 12);
    assert!(progress.types.values().all(|r| r == "complete"), "{progress:?}");
    assert_eq!(progress.pages_done, drained.pages.len() as u64);
    assert_eq!(progress.counts["tagged"], w.resources.len() as u64);
    let listings = w.calls("sagemaker.ListModels") + w.calls("sagemaker.ListNotebookInstances");
    assert_eq!(listings, progress.pages_done, "each page listed once");

    // A member's resource in the second region carries its tags, written there.
    let member = &w.accounts[2];
    let arn = w.resources.iter().find(|a| a.contains(member) && a.contains(OTHER_REGION)).unwrap();
    let config = config_as(&w.central, member).await.to_builder().region(Region::new(OTHER_REGION)).build();
    let tags = list_tags(&Clients::new(&config), arn).await.unwrap();
    assert_eq!(tags.get("environment").map(String::as_str), Some("dev"), "the policy's default: {arn}: {tags:?}");
    println!(
        "queued sweep: {} resources, {} pages in {} invocations, {} SendMessage, {:.1} s",
        w.resources.len(),
        progress.pages_done,
        drained.invocations,
        w.calls("sqs.SendMessage"),
        elapsed.as_secs_f64()
    );
}

#[tokio::test]
async fn a_redelivered_page_visits_nothing_again_and_starts_no_second_chain() {
    let w = world(5, 2).await;
    w.seed().await;
    let first = w.receive(1).await;
    let event = w.event(&first);
    let handled = w.function.sweep_pages(&event, deadline()).await.unwrap();
    assert_eq!(handled.pages[0].result, PageResult::Next, "{:?}", handled.pages[0]);
    assert_eq!(handled.pages[0].outcomes.len(), PAGE_SIZE as usize);

    // The same record again (its deletion was lost): through the Lambda handler, then once more for its report.
    let response = w.function.handle(&event, deadline()).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let again = w.function.sweep_pages(&event, deadline()).await.unwrap();
    assert_eq!(again.pages[0].result, PageResult::AlreadyDone);
    assert!(again.pages[0].outcomes.is_empty());
    w.acknowledge(&first, &[]).await;

    let mut drained = w.drain().await;
    drained.pages.extend(handled.pages);
    for (arn, labels) in drained.visits() {
        assert_eq!(labels.values().sum::<u32>(), 1, "{arn} visited once: {labels:?}");
    }
    assert_eq!(drained.visits().len(), w.resources.len());
    let progress = w.ledger.run_progress(&run_pk(RUN)).await.unwrap();
    assert!(progress.is_complete(), "{progress:?}");
    assert_eq!(progress.pages_done, drained.pages.len() as u64, "no page of a second chain");
}

#[tokio::test]
async fn a_page_whose_tagging_is_throttled_is_reported_for_retry_and_the_retry_finishes_it() {
    let w = world(3, 1).await;
    w.seed().await;
    w.emulator.throttle_next("sagemaker.AddTags", 1).unwrap();
    let drained = w.drain().await;

    let retried: Vec<&PageReport> =
        drained.pages.iter().filter(|p| matches!(p.result, PageResult::Retry { .. })).collect();
    assert_eq!(retried.len(), 1, "one page failed");
    let PageResult::Retry { reason } = &retried[0].result else { unreachable!() };
    assert!(reason.contains("throttled"), "{reason}");
    let id = &retried[0].message_id;
    let later = drained.pages.iter().rev().find(|p| &p.message_id == id).unwrap();
    assert!(matches!(later.result, PageResult::Next | PageResult::Complete), "the retry finished it: {later:?}");

    for (arn, labels) in drained.visits() {
        assert_eq!(labels.get("tagged"), Some(&1), "{arn} tagged once: {labels:?}");
    }
    assert_eq!(drained.visits().len(), w.resources.len());
    let progress = w.ledger.run_progress(&run_pk(RUN)).await.unwrap();
    assert!(progress.is_complete(), "{progress:?}");
}
