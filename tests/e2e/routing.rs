//! Notices people can route: two teams' SQS queues subscribe to the enforcement topic with filter policies on
//! the notices' message attributes (the emulator applies them as SNS does), and each receives exactly the
//! notices meant for it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use tagwarden::{BudgetEnforcer, Clients, Policy};
use tagwarden_e2e::budget_world::seed_budget_world;
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{Emulator, REGION, sample_event};

/// One message as it arrives in a queue: SNS's envelope, read back.
struct Delivered {
    attributes: BTreeMap<String, String>,
    body: Value,
}

/// A queue subscribed to `topic` with `filter` on the message attributes; returns its URL.
async fn subscribe_queue(config: &SdkConfig, topic: &str, name: &str, filter: &Value) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let url = sqs.create_queue().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned();
    let arn = format!("arn:aws:sqs:{REGION}:123456789012:{name}");
    aws_sdk_sns::Client::new(config)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("FilterPolicyScope", "MessageAttributes")
        .attributes("FilterPolicy", filter.to_string())
        .send()
        .await
        .unwrap();
    url
}

/// Every message in the queue now.
async fn drain(config: &SdkConfig, url: &str) -> Vec<Delivered> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut delivered = Vec::new();
    loop {
        let out = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
        if out.messages().is_empty() {
            return delivered;
        }
        for message in out.messages() {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let attributes = envelope["MessageAttributes"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or_default().to_owned())))
                .into_iter()
                .flatten()
                .collect();
            let body = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            delivered.push(Delivered { attributes, body });
            sqs.delete_message().queue_url(url).receipt_handle(message.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
}

#[tokio::test]
async fn each_team_queue_receives_exactly_the_notices_of_its_cost_center_or_team() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let world = seed_budget_world(&emulator, &config, 1).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger = create_ledger(&config).await.expect("ledger table");
    let enforcer = BudgetEnforcer::new(clients, Arc::new(Policy::example().unwrap())).with_ledger(ledger);
    let topic = world.summary_topic_arn.clone();
    let marketing = subscribe_queue(&config, &topic, "cc-4100-notices", &json!({"cost-center": ["CC-4100"]})).await;
    let research = subscribe_queue(&config, &topic, "research-notices", &json!({"team": ["research"]})).await;

    // ml-marketing (CostFilters cost-center CC-4100) at 81 %: a notice; ML Research Daily (scope team:
    // research) at 123 %: notebooks stopped and a summary; a forged 125 % alert on a budget that does not
    // exist: an unverified notice that names no cost center or team.
    let alert = |file: &str| sample_event("budget-enforcer", file).unwrap();
    for event in [alert("actual-80-percent.json"), alert("daily-name-with-spaces.json")] {
        enforcer.handle(&event, false).await.expect("no error");
    }
    let mut forged = alert("actual-125-percent.json");
    let message = forged["Records"][0]["Sns"]["Message"].as_str().unwrap().replace("ml-marketing", "ml-nobody");
    forged["Records"][0]["Sns"]["Message"] = Value::from(message);
    let outcome = enforcer.handle(&forged, false).await.expect("no error");
    assert_eq!(outcome.label(), "unverified");
    assert_eq!(emulator.sns_subjects().unwrap().len(), 3, "three notices were published to the topic");

    let to_marketing = drain(&config, &marketing).await;
    assert_eq!(to_marketing.len(), 1, "only the ml-marketing notice reaches the CC-4100 queue");
    let notice = &to_marketing[0];
    assert_eq!(notice.attributes["budget"], "ml-marketing");
    assert_eq!(notice.attributes["cost-center"], "CC-4100");
    assert_eq!(notice.attributes["kind"], "budget-notice");
    assert_eq!(notice.attributes["severity"], "warning");
    assert_eq!(notice.attributes["account"], "123456789012");
    assert!(!notice.attributes.contains_key("team"), "the budget's scope names no team");
    assert_eq!(notice.body["source"], "custom");
    assert!(notice.body["content"]["description"].as_str().unwrap().starts_with("Budget \"ml-marketing\""));

    let to_research = drain(&config, &research).await;
    assert_eq!(to_research.len(), 1, "only the research summary reaches the research queue");
    let notice = &to_research[0];
    assert_eq!(notice.attributes["budget"], "ML Research Daily");
    assert_eq!(notice.attributes["team"], "research");
    assert_eq!(notice.attributes["kind"], "enforcement");
    assert_eq!(notice.attributes["severity"], "critical");
    assert!(!notice.attributes.contains_key("cost-center"));
    assert_eq!(notice.body["content"]["textType"], "client-markdown");
    let steps = notice.body["content"]["nextSteps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s.as_str().unwrap().contains("tagwarden restore --budget")), "{steps:?}");
}
