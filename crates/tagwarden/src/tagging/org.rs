//! The auto-tagger at organization scale: an event forwarded from any member account and region in,
//! handled by that account's and region's [`AutoTagger`] (its clients from the [`ClientPool`], its
//! policy resolved for the account's OUs) out.
//!
//! The resource ARN's account and region decide where to act; the EventBridge envelope's `account`
//! (set by EventBridge to the account the event came from, not by the sender) must agree with it, so a
//! member account cannot make Tagwarden act in another. An account outside the organization is
//! `skipped`, one whose member role cannot be assumed is `failed`; each publishes one notification per
//! account per process, not one per event.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing::warn;

use super::profiles::ProfileDeletion;
use super::tamper::TagChange;
use super::{AutoTagger, CreateCall, Outcome, RetryableError, TaggerSettings};
use crate::notice::{Notice, Severity};
use crate::org::{AccessError, ClientPool, MAX_CLIENT_SETS};
use crate::policy::Policy;
use crate::resource::SageMakerArn;
use crate::telemetry::clip;

/// One auto-tagger per (account, region) of the organization, behind one `handle`.
#[derive(Debug)]
pub struct OrgTagger {
    pool: ClientPool,
    policy: Arc<Policy>,
    settings: TaggerSettings,
    home: Arc<AutoTagger>,
    taggers: Mutex<HashMap<(String, String), Arc<AutoTagger>>>,
    notified: Mutex<HashSet<String>>,
}

impl OrgTagger {
    /// A front over `pool` with the organization's `policy` (overrides resolved per account).
    pub fn new(pool: ClientPool, policy: Arc<Policy>, settings: &TaggerSettings) -> Self {
        let home_policy = Arc::new(policy.for_account(pool.home_account(), &[]));
        let home = Arc::new(AutoTagger::new(pool.home().clone(), home_policy, settings));
        Self {
            pool,
            policy,
            settings: settings.clone(),
            home,
            taggers: Mutex::new(HashMap::new()),
            notified: Mutex::new(HashSet::new()),
        }
    }

    /// The central account's auto-tagger in its own region (the scheduled sweep runs there).
    pub fn home(&self) -> &AutoTagger {
        &self.home
    }

    /// The pool the taggers take their clients from.
    pub fn pool(&self) -> &ClientPool {
        &self.pool
    }

    /// Handles one event in the account and region it came from; `Err` only for retryable failures.
    pub async fn handle(&self, event: &Value) -> Result<Outcome, RetryableError> {
        let Some(arn) = resource_arn(event) else {
            // NOTE: not a create call or tag change we handle: the home tagger explains the skip.
            return self.home.handle(event).await;
        };
        let arn_text = arn.to_string();
        let event_name = event.pointer("/detail/eventName").and_then(Value::as_str);
        if let Some(sender) = event.get("account").and_then(Value::as_str)
            && sender != arn.account
        {
            let reason = format!("event sent by account {sender} concerns a resource of account {}", arn.account);
            return Ok(Outcome::skipped(reason, event_name, Some(&arn_text)));
        }
        let member = match self.pool.verify(&arn.account).await {
            Ok(member) => member,
            Err(AccessError::Retryable(err)) => return Err(err.into()),
            Err(refusal) => {
                self.notify_once(&arn.account, &refusal).await?;
                let reason = refusal.to_string();
                return Ok(match refusal {
                    AccessError::Foreign { .. } => Outcome::skipped(reason, event_name, Some(&arn_text)),
                    _ => Outcome::Failed { reason, resource_arn: arn_text },
                });
            }
        };
        let tagger = self.tagger(&member.account, &arn.region, &member.ous);
        tagger.handle(event).await
    }

    /// The auto-tagger of `account` in `region` once the pool verified Tagwarden may act there (the queued
    /// sweep's pages; the membership and the member role are checked once per account).
    pub async fn tagger_in(&self, account: &str, region: &str) -> Result<Arc<AutoTagger>, AccessError> {
        let member = self.pool.verify(account).await?;
        Ok(self.tagger(&member.account, region, &member.ous))
    }

    /// The auto-tagger of `account` in `region`, built on first use and kept.
    fn tagger(&self, account: &str, region: &str, ous: &[String]) -> Arc<AutoTagger> {
        let key = (account.to_owned(), region.to_owned());
        if account == self.pool.home_account() && Some(region) == self.home_region() {
            return self.home.clone();
        }
        let mut taggers = lock(&self.taggers);
        if let Some(tagger) = taggers.get(&key) {
            return tagger.clone();
        }
        if taggers.len() >= MAX_CLIENT_SETS
            && let Some(evict) = taggers.keys().next().cloned()
        {
            taggers.remove(&evict);
        }
        let policy = Arc::new(self.policy.for_account(account, ous));
        // NOTE: a member account's tagger keeps no profile budgets: the budgets are the central account's.
        let tagger = Arc::new(
            AutoTagger::new(self.pool.clients(account, region), policy, &self.settings).with_profile_budgets(false),
        );
        taggers.insert(key, tagger.clone());
        tagger
    }

    fn home_region(&self) -> Option<&str> {
        self.pool.home().region()
    }

    /// Publishes the refusal to the policy's topic, once per account per process; a retryable failure
    /// to publish is retried with the event.
    async fn notify_once(&self, account: &str, refusal: &AccessError) -> Result<(), RetryableError> {
        if lock(&self.notified).contains(account) {
            return Ok(());
        }
        warn!(account, error = %clip(&refusal.to_string()), "Tagwarden cannot act in this account");
        if let Some(topic) = &self.policy.tags.notify_topic_arn {
            let subject = format!("Tagwarden cannot act in account {account}");
            let description = format!(
                "{refusal}.\n\nEvents from this account are not tagged until this is fixed (a member account \
                 needs the role `{}` trusted by the central account {}). This is reported once per function \
                 instance.",
                self.pool.role_arn(account),
                self.pool.home_account()
            );
            let mut notice = Notice::new("cannot-act", Severity::Critical, subject, description);
            notice.set(crate::notice::ACCOUNT, Some(account));
            notice.step(format!("Deploy the member template in account {account}, or fix its role's trust policy"));
            let published = crate::notice::publish(&self.pool.home().sns, topic, &notice).await;
            match published {
                Ok(_) => {}
                Err(err) if err.is_retryable() => return Err(err.into()),
                Err(err) => warn!(error = %clip(&err.to_string()), "cannot publish the refusal"),
            }
        }
        lock(&self.notified).insert(account.to_owned());
        Ok(())
    }
}

/// The resource an event is about: the created resource, the one whose tags changed, or a deleted profile.
pub fn resource_arn(event: &Value) -> Option<SageMakerArn> {
    if TagChange::is_tag_change(event) {
        TagChange::from_event(event).ok().map(|change| change.arn)
    } else if ProfileDeletion::is_profile_deletion(event) {
        ProfileDeletion::from_event(event).ok().map(|deletion| deletion.arn)
    } else {
        CreateCall::from_event(event).ok().map(|call| call.arn)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create_event(arn: &str, sender: &str) -> Value {
        serde_json::json!({
            "account": sender,
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.sagemaker",
            "detail": {
                "eventSource": "sagemaker.amazonaws.com",
                "eventName": "CreateTrainingJob",
                "responseElements": {"trainingJobArn": arn}
            }
        })
    }

    #[test]
    fn the_resource_arn_decides_account_and_region() {
        let arn = "arn:aws:sagemaker:eu-west-1:111111111111:training-job/t1";
        let found = resource_arn(&create_event(arn, "111111111111")).unwrap();
        assert_eq!((found.account.as_str(), found.region.as_str()), ("111111111111", "eu-west-1"));
        assert!(resource_arn(&serde_json::json!({"detail": {}})).is_none());
    }

    /// A front over a static membership (only 111111111111), with no notification topic: no AWS call
    /// can happen in these tests (the clients have no endpoint to reach).
    fn tagger() -> OrgTagger {
        let base = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let org = crate::org::Organization {
            membership: crate::org::Membership::Listed([("111111111111".to_owned(), Vec::new())].into()),
            member_role_name: crate::org::AUTO_TAGGER_MEMBER_ROLE.into(),
            external_id_parameter: None,
            external_id: None,
            regions: Vec::new(),
        };
        let pool = ClientPool::new(&base, &crate::aws::CallPolicy::DEFAULT, "999999999999", org, "auto-tagger");
        let mut policy = Policy::example().unwrap();
        policy.tags.notify_topic_arn = None;
        OrgTagger::new(pool, Arc::new(policy), &TaggerSettings::default())
    }

    #[tokio::test]
    async fn an_account_outside_a_static_membership_is_skipped_and_reported_once() {
        let tagger = tagger();
        for _ in 0..2 {
            let arn = "arn:aws:sagemaker:eu-west-1:222222222222:training-job/t1";
            let outcome = tagger.handle(&create_event(arn, "222222222222")).await.unwrap();
            let Outcome::Skipped(skip) = outcome else { panic!("{outcome:?}") };
            assert!(skip.reason.contains("222222222222 is not a member"), "{}", skip.reason);
        }
        assert_eq!(lock(&tagger.notified).len(), 1);
    }

    #[tokio::test]
    async fn an_event_sent_by_another_account_than_the_resources_is_refused_without_aws_calls() {
        let tagger = tagger();
        let arn = "arn:aws:sagemaker:eu-west-1:111111111111:training-job/t1";
        let outcome = tagger.handle(&create_event(arn, "222222222222")).await.unwrap();
        let Outcome::Skipped(skip) = outcome else { panic!("{outcome:?}") };
        assert!(skip.reason.contains("222222222222") && skip.reason.contains("111111111111"), "{}", skip.reason);
    }
}
