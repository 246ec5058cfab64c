//! Per-profile budgets kept in step by the auto-tagger (issue 16, item 3): a `per: user-profile` catalog
//! entry, the `CreateUserProfile` and `DeleteUserProfile` samples replayed through the real handler against
//! moto's AWS Budgets (with the extension's gap 16).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_budgets::types::{BudgetType, Spend, TimeUnit};
use serde_json::Value;
use tagwarden::budgets::MANAGED_KEY;
use tagwarden::budgets::profile::{BudgetResult, ProfileBudget};
use tagwarden::policy::{CatalogEntry, Period, Selection};
use tagwarden::tagging::TaggerSettings;
use tagwarden::{AutoTagger, Clients, Outcome, Policy};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{ACCOUNT, Emulator, REGION, sample_event};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";
const BUDGET: &str = "studio-dave";
const DOMAIN: &str = "d-ml-platform";

struct World {
    emulator: Emulator,
    config: aws_config::SdkConfig,
    tagger: AutoTagger,
    budgets: aws_sdk_budgets::Client,
}

/// The demo world and an auto-tagger whose policy has a `per: user-profile` entry: $150 a month per profile.
async fn world() -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_world(&config).await.unwrap();
    let mut policy = Policy::example().unwrap();
    policy.budgets.catalog.alerts_topic_arn = Some(TOPIC.into());
    policy.budgets.catalog.entries.push(CatalogEntry {
        key: "created-by".into(),
        select: Selection::PerUserProfile,
        amount: 150.0,
        currency: "USD".into(),
        period: Period::Monthly,
        name: "studio-{value}".into(),
        actual: vec![80.0, 100.0],
        forecasted: vec![100.0],
    });
    let tagger = AutoTagger::new(Clients::new(&config), Arc::new(policy), &TaggerSettings::default());
    let budgets = aws_sdk_budgets::Client::new(&config);
    World { emulator, config, tagger, budgets }
}

impl World {
    async fn handle(&self, event: &Value) -> Outcome {
        self.tagger.handle(event).await.expect("no retryable error")
    }

    async fn delete_profile(&self) {
        let sm = aws_sdk_sagemaker::Client::new(&self.config);
        sm.delete_user_profile().domain_id(DOMAIN).user_profile_name("dave").send().await.unwrap();
    }

    async fn budget_exists(&self) -> bool {
        self.budgets.describe_budget().account_id(ACCOUNT).budget_name(BUDGET).send().await.is_ok()
    }

    async fn managed(&self) -> bool {
        let arn = format!("arn:aws:budgets::{ACCOUNT}:budget/{BUDGET}");
        let tags = self.budgets.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
        tags.resource_tags().iter().any(|t| t.key() == MANAGED_KEY && t.value() == "true")
    }

    /// The Budgets writes the emulator saw since its counts were reset.
    fn budget_writes(&self) -> Vec<String> {
        let calls = self.emulator.calls().unwrap();
        let reads = ["budgets.Describe", "budgets.ListTagsForResource"];
        calls
            .by_action
            .keys()
            .filter(|a| a.starts_with("budgets.") && !reads.iter().any(|r| a.starts_with(r)))
            .cloned()
            .collect()
    }
}

fn budgets_of(outcome: &Outcome) -> &[ProfileBudget] {
    match outcome {
        Outcome::Tagged(r) | Outcome::Unchanged(r) | Outcome::Restored(r) => &r.budgets,
        Outcome::ProfileBudgets(r) => &r.budgets,
        other => panic!("tagged or profile-budgets expected, got {}", serde_json::to_string_pretty(other).unwrap()),
    }
}

fn results(outcome: &Outcome) -> Vec<(&str, BudgetResult)> {
    budgets_of(outcome).iter().map(|b| (b.budget.as_str(), b.result.clone())).collect()
}

#[tokio::test]
async fn a_new_profile_gets_its_budget_a_replay_changes_nothing_and_its_deletion_deletes_it() {
    let w = world().await;
    let created = sample_event("auto-tagger", "user-profile-iam-user-admin.json").unwrap();
    create_resource(&w.config, &created).await.unwrap();
    let outcome = w.handle(&created).await;
    assert!(matches!(outcome, Outcome::Tagged(_)), "the profile is tagged as before: {outcome:?}");
    assert_eq!(results(&outcome), [(BUDGET, BudgetResult::Created)]);

    let held = w.budgets.describe_budget().account_id(ACCOUNT).budget_name(BUDGET).send().await.unwrap();
    let budget = held.budget().unwrap();
    #[allow(deprecated)]
    let filters = budget.cost_filters().unwrap();
    assert_eq!(filters["TagKeyValue"], ["user:created-by$dave"], "scoped to the profile as the creator tag records it");
    assert_eq!(filters["Service"], ["Amazon SageMaker"]);
    assert_eq!(budget.budget_limit().unwrap().amount().parse::<f64>().unwrap(), 150.0);
    let notices =
        w.budgets.describe_notifications_for_budget().account_id(ACCOUNT).budget_name(BUDGET).send().await.unwrap();
    assert_eq!(notices.notifications().len(), 3, "ACTUAL 80 and 100, FORECASTED 100");
    for notification in notices.notifications() {
        let subscribers = w
            .budgets
            .describe_subscribers_for_notification()
            .account_id(ACCOUNT)
            .budget_name(BUDGET)
            .notification(notification.clone())
            .send()
            .await
            .unwrap();
        let addresses: Vec<&str> = subscribers.subscribers().iter().map(|s| s.address()).collect();
        assert_eq!(addresses, [TOPIC], "every notification on the alerts topic");
    }
    assert!(w.managed().await, "marked {MANAGED_KEY}=true");

    w.emulator.reset_calls().unwrap();
    let again = w.handle(&created).await;
    assert!(matches!(again, Outcome::Unchanged(_)), "{again:?}");
    assert_eq!(results(&again), [(BUDGET, BudgetResult::Unchanged)]);
    assert!(w.budget_writes().is_empty(), "a replay only reads: {:?}", w.budget_writes());

    w.delete_profile().await;
    let deleted = sample_event("auto-tagger", "delete-user-profile.json").unwrap();
    let outcome = w.handle(&deleted).await;
    assert_eq!(outcome.label(), "profile-budgets");
    assert_eq!(results(&outcome), [(BUDGET, BudgetResult::Deleted)]);
    assert!(!w.budget_exists().await);
    let twice = w.handle(&deleted).await;
    assert_eq!(results(&twice), [(BUDGET, BudgetResult::Absent)], "a duplicate delivery finds nothing to delete");
}

#[tokio::test]
async fn a_user_cannot_get_tagwarden_to_delete_a_budget_it_does_not_manage() {
    let w = world().await;
    // Someone makes a budget named like dave's future one, then creates and deletes the profile dave.
    let limit = Spend::builder().amount("99999").unit("USD").build().unwrap();
    let by_hand = aws_sdk_budgets::types::Budget::builder()
        .budget_name(BUDGET)
        .budget_type(BudgetType::Cost)
        .time_unit(TimeUnit::Monthly)
        .budget_limit(limit)
        .build()
        .unwrap();
    w.budgets.create_budget().account_id(ACCOUNT).budget(by_hand).send().await.unwrap();

    let created = sample_event("auto-tagger", "user-profile-iam-user-admin.json").unwrap();
    create_resource(&w.config, &created).await.unwrap();
    w.emulator.reset_calls().unwrap();
    let outcome = w.handle(&created).await;
    assert_eq!(results(&outcome), [(BUDGET, BudgetResult::NotManaged)]);
    assert!(w.budget_writes().is_empty(), "neither adopted nor changed: {:?}", w.budget_writes());
    assert!(!w.managed().await);

    w.delete_profile().await;
    let outcome = w.handle(&sample_event("auto-tagger", "delete-user-profile.json").unwrap()).await;
    assert_eq!(results(&outcome), [(BUDGET, BudgetResult::NotManaged)]);
    let held = w.budgets.describe_budget().account_id(ACCOUNT).budget_name(BUDGET).send().await.unwrap();
    assert_eq!(held.budget().unwrap().budget_limit().unwrap().amount().parse::<f64>().unwrap(), 99999.0);
}

#[tokio::test]
async fn without_a_per_profile_entry_a_deleted_profile_is_skipped_without_a_budgets_call() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let tagger =
        AutoTagger::new(Clients::new(&config), Arc::new(Policy::example().unwrap()), &TaggerSettings::default());
    emulator.reset_calls().unwrap();
    let outcome = tagger.handle(&sample_event("auto-tagger", "delete-user-profile.json").unwrap()).await.unwrap();
    let Outcome::Skipped(skip) = outcome else { panic!("skipped: {outcome:?}") };
    assert!(skip.reason.contains("no per: user-profile entry"), "{}", skip.reason);
    assert_eq!(emulator.calls().unwrap().total, 0);
}
