//! The organization fan-out: which (account, regions) one alert or restore acts in, which of those
//! accounts Tagwarden may reach (the member role), and the [`Actor`] for each place.

use tracing::warn;

use super::actor::Actor;
use super::apply::BudgetEnforcer;
use super::report::Tally;
use super::report::{ActionResult, ResultKind};
use crate::aws::{AwsError, ResultExt};
use crate::org::AccessError;
use crate::pace::{Pacer, Timing};
use crate::telemetry::clip;

impl BudgetEnforcer {
    /// `<region>:<account>` the clients act in (one STS call per process).
    pub(crate) async fn region_account(&self) -> Result<&str, AwsError> {
        let value = self
            .region_account
            .get_or_try_init(|| async {
                let identity = self.clients.sts.get_caller_identity().send().await.aws("GetCallerIdentity")?;
                let account = identity.account().unwrap_or_default();
                Ok::<_, AwsError>(format!("{}:{account}", self.clients.region().unwrap_or_default()))
            })
            .await?;
        Ok(value.as_str())
    }

    /// The central account's id.
    pub(crate) async fn home_account(&self) -> Result<String, AwsError> {
        Ok(self.region_account().await?.split(':').nth(1).unwrap_or_default().to_owned())
    }

    /// The (account, regions) to act in: `accounts` (none: the central account), each in the organization's
    /// regions (none configured, or no organization: the central region).
    pub(super) async fn places(&self, accounts: &[String]) -> Result<Vec<(String, Vec<String>)>, AwsError> {
        let home_region_account = self.region_account().await?.to_owned();
        let (home_region, home_account) = home_region_account.split_once(':').unwrap_or_default();
        let regions = match &self.pool {
            Some(pool) if !pool.organization().regions.is_empty() => pool.organization().regions.clone(),
            _ => vec![home_region.to_owned()],
        };
        let accounts = if accounts.is_empty() { vec![home_account.to_owned()] } else { accounts.to_vec() };
        Ok(accounts.into_iter().map(|account| (account, regions.clone())).collect())
    }

    /// The places whose account Tagwarden may act in; the others become one failed result each (the
    /// member role cannot be assumed, the account is foreign, no organization is configured).
    pub(super) async fn reachable(
        &self,
        places: Vec<(String, Vec<String>)>,
        tally: &mut Tally,
    ) -> Vec<(String, Vec<String>)> {
        if places.is_empty() {
            return places;
        }
        let home = self.home_account().await.unwrap_or_default();
        let mut reachable = Vec::new();
        for (account, regions) in places {
            if account == home {
                reachable.push((account, regions));
                continue;
            }
            let Some(pool) = &self.pool else {
                let why = ResultKind::failed(
                    "no organization configured (TAGWARDEN_ORGANIZATION_ACCOUNTS), cannot act in another account",
                );
                tally.results.push(ActionResult::new("assume-role", &format!("account {account}"), why));
                continue;
            };
            match pool.verify(&account).await {
                Ok(_) => reachable.push((account, regions)),
                Err(AccessError::Retryable(err)) => {
                    tally.record("assume-role", &pool.role_arn(&account), Err(err), ResultKind::Done)
                }
                Err(refused) => {
                    warn!(account = %account, error = %clip(&refused.to_string()), "cannot act in this account");
                    tally.results.push(ActionResult::new(
                        "assume-role",
                        &pool.role_arn(&account),
                        ResultKind::failed(refused),
                    ));
                }
            }
        }
        reachable
    }

    /// The actor of the single-account deployment: the central clients; its account and region are read
    /// with STS only when an action needs them (app and role ARNs).
    pub(super) fn central_actor(&self) -> Actor<'_> {
        let timing = Timing::from_retry(self.clients.sagemaker.config().retry_config());
        Actor {
            clients: self.clients.clone(),
            policy: &self.policy,
            account: String::new(),
            region: String::new(),
            deny_policy_arn: self.policy.budgets.deny_policy_arn.clone(),
            deny_instance_types_policy_arn: self.policy.budgets.deny_instance_types_policy_arn.clone(),
            central: Some(self),
            pace: Pacer::new(self.policy.budgets.concurrency, timing),
        }
    }

    /// The actor for one (account, region): the central clients at home, the pool's member clients elsewhere.
    pub(super) fn actor(&self, account: &str, region: &str) -> Actor<'_> {
        let home = self.region_account.get().map(String::as_str).unwrap_or_default();
        let clients = match &self.pool {
            Some(pool) if home != format!("{region}:{account}") => pool.clients(account, region),
            _ => self.clients.clone(),
        };
        let deny_policy_arn = self.policy.budgets.deny_policy_arn.as_deref().map(|arn| in_account(arn, account));
        let deny_instance_types_policy_arn =
            self.policy.budgets.deny_instance_types_policy_arn.as_deref().map(|arn| in_account(arn, account));
        let pace =
            Pacer::new(self.policy.budgets.concurrency, Timing::from_retry(clients.sagemaker.config().retry_config()));
        Actor {
            clients,
            policy: &self.policy,
            account: account.to_owned(),
            region: region.to_owned(),
            deny_policy_arn,
            deny_instance_types_policy_arn,
            central: None,
            pace,
        }
    }
}

/// An IAM ARN moved to another account (`arn:aws:iam::111:policy/x` -> `arn:aws:iam::222:policy/x`): the
/// member accounts' deny policies carry the central ones' names (infra/member.yaml, `DenyPolicyName`,
/// `DenyInstanceTypesPolicyName`).
fn in_account(arn: &str, account: &str) -> String {
    let mut fields: Vec<&str> = arn.splitn(6, ':').collect();
    if fields.len() == 6 {
        fields[4] = account;
    }
    fields.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_account_attaches_its_own_deny_policy_of_the_central_ones_name() {
        let central = "arn:aws:iam::111111111111:policy/tagwarden-deny-sagemaker-us-east-1";
        assert_eq!(
            in_account(central, "222222222222"),
            "arn:aws:iam::222222222222:policy/tagwarden-deny-sagemaker-us-east-1"
        );
        assert_eq!(in_account("not-an-arn", "222222222222"), "not-an-arn");
    }
}
