//! Organization scale against the local emulator: events forwarded from member accounts in two regions
//! are tagged in the account and region they came from, with the policy of the account's OU; the member
//! role is assumed once per account (not per event); foreign accounts and unassumable roles are refused
//! with one notification each; the external id comes from a SecureString parameter and is the one the member
//! role requires.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use serde_json::Value;
use tagwarden::aws::CallPolicy;
use tagwarden::org::{ClientPool, MemberFunction, Membership, Organization, PoolError};
use tagwarden::tagging::apply::list_tags;
use tagwarden::tagging::org::OrgTagger;
use tagwarden::tagging::{TaggerSettings, Tags};
use tagwarden::{Clients, Outcome, Policy};
use tagwarden_e2e::org::{MEMBER_ROLE, SeededOrg, config_as, event_from, seed_organization};
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{ACCOUNT, CallCount, Emulator, REGION, sample_event};

const OTHER_REGION: &str = "eu-west-1";
const FOREIGN: &str = "999999999999";

/// The example policy with a different `data-class` per OU.
fn org_policy(org: &SeededOrg) -> Policy {
    let overrides = format!(
        "\noverrides:\n  - name: research\n    ous: [{}]\n    tags:\n      keys:\n        data-class: {{default: research-data}}\n  - name: production\n    ous: [{}]\n    tags:\n      keys:\n        data-class: {{default: restricted}}\n",
        org.ou("research").unwrap(),
        org.ou("production").unwrap()
    );
    Policy::from_yaml(&format!("{}{overrides}", tagwarden::policy::EXAMPLE_POLICY), "org test policy").unwrap()
}

struct World {
    emulator: Emulator,
    central: SdkConfig,
    org: SeededOrg,
    tagger: OrgTagger,
}

async fn world(members: &[(&str, &str)]) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let central = emulator.sdk_config(REGION, 3).await;
    seed_world(&central).await.unwrap();
    let org = seed_organization(&central, &["research", "production"], members).await.unwrap();
    let organization = Organization {
        membership: Membership::Organizations,
        member_role_name: MEMBER_ROLE.into(),
        external_id_parameter: None,
        external_id: Some("tagwarden-e2e".into()),
        regions: vec![REGION.into(), OTHER_REGION.into()],
    };
    let pool = ClientPool::new(&central, &CallPolicy::DEFAULT, ACCOUNT, organization, "auto-tagger");
    let tagger = OrgTagger::new(pool, Arc::new(org_policy(&org)), &TaggerSettings::default());
    World { emulator, central, org, tagger }
}

impl World {
    /// The resource the event announces, created in the event's account and region (as the member's
    /// user did before CloudTrail reported it).
    async fn create(&self, event: &Value) {
        let account = event["account"].as_str().unwrap();
        create_resource(&config_as(&self.central, account).await, event).await.unwrap().unwrap();
    }

    async fn handle(&self, event: &Value) -> Outcome {
        self.tagger.handle(event).await.expect("no retryable error")
    }

    /// Tags of `arn`, read with the resource account's own credentials in its region.
    async fn tags(&self, account: &str, region: &str, arn: &str) -> Tags {
        let config = config_as(&self.central, account).await;
        let config = config.to_builder().region(aws_config::Region::new(region.to_owned())).build();
        list_tags(&Clients::new(&config), arn).await.unwrap()
    }

    fn calls(&self) -> CallCount {
        self.emulator.calls().unwrap()
    }
}

fn count(calls: &CallCount, action: &str) -> u64 {
    calls.by_action.get(action).copied().unwrap_or(0)
}

fn model_arn(event: &Value) -> String {
    event["detail"]["responseElements"]["modelArn"].as_str().unwrap().to_owned()
}

/// The CI model event as `account` forwards it from `region`, for a model named `name`.
fn model_event(account: &str, region: &str, name: &str) -> Value {
    let sample = sample_event("auto-tagger", "model-assumed-role-ci.json").unwrap();
    let renamed: Value = serde_json::from_str(&sample.to_string().replace("fraud-scorer-v3", name)).unwrap();
    event_from(&renamed, account, region)
}

#[tokio::test]
async fn member_events_are_tagged_in_their_account_and_region_with_their_ous_policy_and_one_assume_role_each() {
    let w = world(&[("research-a", "research"), ("research-b", "research"), ("production-a", "production")]).await;
    let places: Vec<(String, String, &str)> = w
        .org
        .members
        .iter()
        .flat_map(|(_, account, ou)| {
            let class = if ou == "research" { "research-data" } else { "restricted" };
            [REGION, OTHER_REGION].map(|region| (account.clone(), region.to_owned(), class))
        })
        .collect();
    let rounds = 3;
    let mut events = Vec::new();
    for round in 0..rounds {
        for (account, region, class) in &places {
            let event = model_event(account, region, &format!("fraud-scorer-r{round}"));
            w.create(&event).await;
            events.push((event, account.clone(), region.clone(), *class));
        }
    }

    w.emulator.reset_calls().unwrap();
    let mut warm: Option<CallCount> = None;
    let mut cold_total = 0;
    for (i, (event, ..)) in events.iter().enumerate() {
        let before = w.calls();
        let outcome = w.handle(event).await;
        assert_eq!(outcome.label(), "tagged", "{}", serde_json::to_string_pretty(&outcome).unwrap());
        let after = w.calls();
        if i < places.len() {
            cold_total += after.total - before.total;
        }
        if i == 0 || i == 1 || i == events.len() - 1 {
            let by_action = after
                .by_action
                .iter()
                .map(|(k, v)| (k.clone(), v - before.by_action.get(k).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect::<BTreeMap<_, _>>();
            let delta = CallCount { total: after.total - before.total, by_action, ..Default::default() };
            match i {
                0 => println!("first event of a member account: {} calls {:?}", delta.total, delta.by_action),
                1 => println!("first event in its second region: {} calls {:?}", delta.total, delta.by_action),
                _ => warm = Some(delta),
            }
        }
    }
    let all = w.calls();
    let accounts = w.org.members.len() as u64;
    println!(
        "{} events from {accounts} member accounts x 2 regions: {} AWS calls, sts.AssumeRole {}, \
         organizations {} (first pass over the 6 places: {cold_total} calls)",
        events.len(),
        all.total,
        count(&all, "sts.AssumeRole"),
        count(&all, "organizations.DescribeAccount") + count(&all, "organizations.ListParents"),
    );
    assert_eq!(count(&all, "sts.AssumeRole"), accounts, "one AssumeRole per member account: {:?}", all.by_action);
    assert_eq!(count(&all, "organizations.DescribeAccount"), accounts, "membership asked once per account");
    let warm = warm.unwrap();
    println!("cross-account warm path, calls per event: {} {:?}", warm.total, warm.by_action);
    assert!(
        warm.by_action.keys().all(|k| k.starts_with("sagemaker.") || k.starts_with("iam.")),
        "no STS or Organizations call on the warm path: {:?}",
        warm.by_action
    );
    assert_eq!(count(&warm, "sagemaker.AddTags"), 1);

    for (event, account, region, class) in &events {
        let arn = model_arn(event);
        assert!(arn.contains(&format!(":{region}:{account}:")), "{arn}");
        let tags = w.tags(account, region, &arn).await;
        assert_eq!(tags.get("data-class").map(String::as_str), Some(*class), "{arn}: {tags:?}");
        assert_eq!(tags.get("cost-center").map(String::as_str), Some("CC-4000"), "{arn}: {tags:?}");
    }
    // Nothing was tagged in the central account: the same names there do not exist.
    let central_arn = model_arn(&model_event(ACCOUNT, REGION, "fraud-scorer-r0"));
    let central = list_tags(&Clients::new(&w.central), &central_arn).await;
    assert!(central.is_err() || central.unwrap().is_empty());
}

#[tokio::test]
async fn a_protected_tag_removed_in_a_member_account_is_restored_there() {
    let w = world(&[("research-a", "research")]).await;
    let account = w.org.account("research-a").unwrap().to_owned();
    let create = event_from(&sample_event("auto-tagger", "model-studio-system-tags.json").unwrap(), &account, REGION);
    w.create(&create).await;
    assert_eq!(w.handle(&create).await.label(), "tagged");
    let arn = create["detail"]["responseElements"]["modelArn"].as_str().unwrap().to_owned();
    let member = Clients::new(&config_as(&w.central, &account).await);
    member.sagemaker.delete_tags().resource_arn(&arn).tag_keys("cost-center").send().await.unwrap();

    let tamper = event_from(&sample_event("auto-tagger", "tamper-delete-cost-center.json").unwrap(), &account, REGION);
    let outcome = w.handle(&tamper).await;
    assert_eq!(outcome.label(), "restored", "{}", serde_json::to_string_pretty(&outcome).unwrap());
    let tags = w.tags(&account, REGION, &arn).await;
    assert_eq!(tags.get("cost-center").map(String::as_str), Some("CC-2100"), "{tags:?}");
    assert_eq!(tags.get("data-class").map(String::as_str), Some("research-data"), "{tags:?}");
}

#[tokio::test]
async fn an_event_from_a_foreign_account_is_refused_with_one_notification() {
    let w = world(&[("production-a", "production")]).await;
    w.emulator.reset_calls().unwrap();
    for name in ["m1", "m2", "m3"] {
        let event = model_event(FOREIGN, OTHER_REGION, name);
        let outcome = w.handle(&event).await;
        let Outcome::Skipped(skip) = &outcome else { panic!("{outcome:?}") };
        assert!(skip.reason.contains(FOREIGN) && skip.reason.contains("not a member"), "{}", skip.reason);
    }
    let calls = w.calls();
    println!("3 events from a foreign account: {:?}", calls.by_action);
    assert_eq!(count(&calls, "sns.Publish"), 1, "one notification, not one per event");
    assert_eq!(count(&calls, "sts.AssumeRole"), 0, "no role is assumed in a foreign account");
    assert_eq!(count(&calls, "organizations.DescribeAccount"), 1, "the refusal is remembered");
    assert!(count(&calls, "sagemaker.AddTags") == 0);
}

#[tokio::test]
async fn a_member_whose_role_cannot_be_assumed_fails_with_one_notification_and_no_retry() {
    let w = world(&[("research-a", "research"), ("production-a", "production")]).await;
    let locked = w.org.account("production-a").unwrap().to_owned();
    w.emulator.deny_assume_role(&format!("arn:aws:iam::{locked}:role/{MEMBER_ROLE}")).unwrap();
    w.emulator.reset_calls().unwrap();
    for name in ["m1", "m2", "m3"] {
        let event = model_event(&locked, REGION, name);
        let outcome = w.handle(&event).await;
        let Outcome::Failed { reason, resource_arn } = &outcome else { panic!("{outcome:?}") };
        assert!(reason.contains("AssumeRole") && reason.contains("access denied"), "{reason}");
        assert!(reason.contains(&locked) && resource_arn.contains(&locked), "{reason}");
    }
    let calls = w.calls();
    println!("3 events from an account whose role cannot be assumed: {:?}", calls.by_action);
    assert_eq!(count(&calls, "sns.Publish"), 1, "one notification, not one per event");
    assert_eq!(count(&calls, "sts.AssumeRole"), 1, "the refusal is remembered, not retried per event");

    // The other member is not affected.
    let open = w.org.account("research-a").unwrap().to_owned();
    let event = model_event(&open, REGION, "m1");
    w.create(&event).await;
    assert_eq!(w.handle(&event).await.label(), "tagged");
}

/// The organization as the deployed auto-tagger reads it: its environment (membership from AWS
/// Organizations, the external id's parameter), then the external id from that parameter with the central
/// account's SSM client (what `ClientPool::from_env` does at cold start).
async fn organization_reading(central: &SdkConfig, parameter: &str) -> Result<Organization, PoolError> {
    let vars: BTreeMap<&str, &str> = [
        ("TAGWARDEN_ORGANIZATION_ACCOUNTS", "organizations"),
        (tagwarden::org::EXTERNAL_ID_PARAMETER_ENV, parameter),
        ("TAGWARDEN_REGIONS", REGION),
    ]
    .into();
    let organization = Organization::from_lookup(|n| vars.get(n).map(|v| (*v).to_owned()), MemberFunction::AutoTagger);
    let mut organization = organization.unwrap().unwrap();
    organization.load_external_id(&Clients::new(central).ssm).await?;
    Ok(organization)
}

async fn put_parameter(central: &SdkConfig, name: &str, value: &str, kind: aws_sdk_ssm::types::ParameterType) {
    let ssm = Clients::new(central).ssm;
    ssm.put_parameter().name(name).value(value).r#type(kind).overwrite(true).send().await.unwrap();
}

#[tokio::test]
async fn the_external_id_read_from_the_secure_string_parameter_is_the_one_the_member_role_requires() {
    use aws_sdk_ssm::types::ParameterType;
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let central = emulator.sdk_config(REGION, 3).await;
    seed_world(&central).await.unwrap();
    let org = seed_organization(&central, &["research", "production"], &[("research-a", "research")]).await.unwrap();
    let account = org.account("research-a").unwrap().to_owned();
    let secret = "ext-e2e-7f3a9c1b";
    emulator.require_external_id(&format!("arn:aws:iam::{account}:role/{MEMBER_ROLE}"), secret).unwrap();
    put_parameter(&central, "/tagwarden/member-external-id", secret, ParameterType::SecureString).await;
    put_parameter(&central, "/tagwarden/stale-external-id", "ext-e2e-stale", ParameterType::SecureString).await;

    let organization = organization_reading(&central, "/tagwarden/member-external-id").await.unwrap();
    assert_eq!(organization.external_id.as_deref(), Some(secret), "the parameter's decrypted value");
    assert_eq!(organization.member_role_name, MEMBER_ROLE, "the auto-tagger's own member role");
    let pool = ClientPool::new(&central, &CallPolicy::DEFAULT, ACCOUNT, organization, "auto-tagger");
    let tagger = OrgTagger::new(pool, Arc::new(org_policy(&org)), &TaggerSettings::default());
    let event = model_event(&account, REGION, "fraud-scorer-ext");
    create_resource(&config_as(&central, &account).await, &event).await.unwrap().unwrap();
    emulator.reset_calls().unwrap();
    let outcome = tagger.handle(&event).await.expect("no retryable error");
    assert_eq!(outcome.label(), "tagged", "{}", serde_json::to_string_pretty(&outcome).unwrap());
    assert_eq!(count(&emulator.calls().unwrap(), "sts.AssumeRole"), 1);

    // A deployment whose parameter holds another value cannot act there: the role refuses it.
    let stale = organization_reading(&central, "/tagwarden/stale-external-id").await.unwrap();
    let pool = ClientPool::new(&central, &CallPolicy::DEFAULT, ACCOUNT, stale, "auto-tagger");
    let tagger = OrgTagger::new(pool, Arc::new(org_policy(&org)), &TaggerSettings::default());
    let outcome = tagger.handle(&model_event(&account, REGION, "fraud-scorer-ext")).await.expect("not retryable");
    let Outcome::Failed { reason, .. } = &outcome else { panic!("{outcome:?}") };
    assert!(reason.contains("AssumeRole") && reason.contains("access denied"), "{reason}");
}

#[tokio::test]
async fn an_external_id_in_a_plain_string_parameter_or_a_missing_one_stops_the_cold_start() {
    use aws_sdk_ssm::types::ParameterType;
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let central = emulator.sdk_config(REGION, 1).await;
    put_parameter(&central, "/tagwarden/plain-external-id", "ext-e2e-plain", ParameterType::String).await;
    let plain = organization_reading(&central, "/tagwarden/plain-external-id").await.unwrap_err();
    assert!(plain.to_string().contains("SecureString"), "{plain}");
    let missing = organization_reading(&central, "/tagwarden/no-such-parameter").await.unwrap_err();
    assert!(missing.to_string().contains("/tagwarden/no-such-parameter"), "{missing}");
}
