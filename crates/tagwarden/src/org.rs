//! Organization scale: one Tagwarden acting in every member account and region.
//!
//! [`Organization`] is the configuration (from the environment, see below); [`ClientPool`] hands out
//! [`Clients`] for an (account, region): the central account's own credentials for its own account,
//! credentials of the function's own member role (`arn:<partition>:iam::<account>:role/<name>`: the
//! auto-tagger and the budget-enforcer each assume a role with only their own rights, see
//! [`MemberFunction`]), assumed through
//! `aws_config::sts::AssumeRoleProvider`) for the others. One provider per account feeds one shared
//! SDK identity cache, so every region of an account reuses the same assumed credentials and STS is
//! asked once per account per credential lifetime (refreshed by the SDK shortly before expiry), not per
//! event. Clients are built once per (account, region) and kept.
//!
//! Environment (read by [`Organization::from_lookup`]; unset `TAGWARDEN_ORGANIZATION_ACCOUNTS` = the
//! single-account deployment, unchanged):
//! - `TAGWARDEN_ORGANIZATION_ACCOUNTS`: `organizations` (membership and OUs from AWS Organizations:
//!   `DescribeAccount`, `ListParents`; the central account must be the management or a delegated
//!   administrator account) or a comma list `ACCOUNT[:OU[/OU...]]` (a static membership; the optional
//!   OU ids, nearest first, select policy overrides).
//! - `TAGWARDEN_MEMBER_ROLE_NAME`: the role this function assumes in member accounts (default: the
//!   function's own, [`MemberFunction::default_role_name`]); each function's deployment sets its own.
//! - `TAGWARDEN_MEMBER_EXTERNAL_ID_PARAMETER` (required): the name of the SSM SecureString parameter holding
//!   the external id the member roles' trust policies require; read once at cold start
//!   ([`ClientPool::from_env`], `GetParameter` with decryption). The value itself is never an environment
//!   variable: the former `TAGWARDEN_MEMBER_EXTERNAL_ID` is refused.
//! - `TAGWARDEN_REGIONS`: comma list of the regions the organization works in (used by scheduled jobs).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_sagemaker::config::SharedCredentialsProvider;
use aws_sdk_sagemaker::config::SharedIdentityCache;

use crate::aws::{AwsError, CallPolicy, Clients, ResultExt};
use crate::ids::{is_account_id, is_ou_id, partition_of};

/// The auto-tagger's member role's default name (`infra/member.yaml`: reads sources, writes tags).
pub const AUTO_TAGGER_MEMBER_ROLE: &str = "TagwardenAutoTaggerMember";
/// The budget-enforcer's member role's default name (`infra/member.yaml`: acts, writes only `tagwarden:*`).
pub const BUDGET_ENFORCER_MEMBER_ROLE: &str = "TagwardenEnforcerMember";
/// The variable naming the SecureString parameter that holds the member roles' external id.
pub const EXTERNAL_ID_PARAMETER_ENV: &str = "TAGWARDEN_MEMBER_EXTERNAL_ID_PARAMETER";
/// At most this many accounts keep assumed credentials (and cache partitions) at once.
pub const MAX_ACCOUNTS: usize = 512;
/// At most this many (account, region) client sets are kept at once.
pub const MAX_CLIENT_SETS: usize = 1024;
/// How long a refused account (foreign, or its role cannot be assumed) stays refused before it is asked
/// again (an account that just joined, a role just deployed).
pub const REFUSAL_TTL: Duration = Duration::from_secs(300);

/// An organization setting in the environment that cannot be used (raised at cold start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct OrganizationError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// The central function acting in member accounts: each assumes its own member role there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberFunction {
    /// The auto-tagger (`TagwardenAutoTaggerMember`).
    AutoTagger,
    /// The budget-enforcer (`TagwardenEnforcerMember`).
    BudgetEnforcer,
}

impl MemberFunction {
    /// The function's name (`auto-tagger`, `budget-enforcer`), as in its STS session name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AutoTagger => "auto-tagger",
            Self::BudgetEnforcer => "budget-enforcer",
        }
    }

    /// The member role the function assumes unless `TAGWARDEN_MEMBER_ROLE_NAME` says otherwise.
    pub fn default_role_name(self) -> &'static str {
        match self {
            Self::AutoTagger => AUTO_TAGGER_MEMBER_ROLE,
            Self::BudgetEnforcer => BUDGET_ENFORCER_MEMBER_ROLE,
        }
    }
}

/// Why a [`ClientPool`] cannot be started (raised at cold start).
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The central account cannot be asked who it is (`GetCallerIdentity`).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The external id cannot be read from its parameter, or is not a usable external id.
    #[error("member external id parameter {name}: {problem}")]
    ExternalId {
        /// The parameter's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

/// A secret (the external id): compared and used like a string, printed by `Debug` as `<redacted>`, so that
/// no `{:?}` of the configuration or the pool puts it in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::ops::Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Where the organization's membership comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// These accounts, each with its OU ids (nearest first; may be empty).
    Listed(BTreeMap<String, Vec<String>>),
    /// AWS Organizations, asked once per account per process.
    Organizations,
}

/// The organization Tagwarden serves: who is a member, which role to assume there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Member accounts (and their OUs).
    pub membership: Membership,
    /// The role this function assumes in member accounts.
    pub member_role_name: String,
    /// The SSM SecureString parameter holding the external id (`TAGWARDEN_MEMBER_EXTERNAL_ID_PARAMETER`).
    pub external_id_parameter: Option<String>,
    /// The external id passed to `AssumeRole`: read from [`Self::external_id_parameter`] at cold start
    /// ([`Organization::load_external_id`]); `None` only where a test or tool sets none.
    pub external_id: Option<Secret>,
    /// The regions the organization works in (`TAGWARDEN_REGIONS`; empty: not configured).
    pub regions: Vec<String>,
}

impl Organization {
    /// The organization `function` serves, configured in the environment read through `var`; `None` for a
    /// single-account deployment (`TAGWARDEN_ORGANIZATION_ACCOUNTS` unset or empty). The external id is not
    /// read here (no AWS call): see [`Organization::load_external_id`].
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        function: MemberFunction,
    ) -> Result<Option<Self>, OrganizationError> {
        let Some(accounts) = var("TAGWARDEN_ORGANIZATION_ACCOUNTS").filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let bad = |name: &'static str, problem: String| OrganizationError { name, problem };
        let membership = if accounts.trim() == "organizations" {
            Membership::Organizations
        } else {
            let mut listed = BTreeMap::new();
            for entry in accounts.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (account, ous) = entry.split_once(':').unwrap_or((entry, ""));
                if !is_account_id(account) {
                    let problem = format!("{account:?} is not a 12-digit account id (entries: ACCOUNT[:OU[/OU...]])");
                    return Err(bad("TAGWARDEN_ORGANIZATION_ACCOUNTS", problem));
                }
                let ous: Vec<String> = ous.split('/').filter(|o| !o.is_empty()).map(str::to_owned).collect();
                if let Some(ou) = ous.iter().find(|o| !is_ou_id(o)) {
                    return Err(bad("TAGWARDEN_ORGANIZATION_ACCOUNTS", format!("{ou:?} is not an OU id (ou-...)")));
                }
                listed.insert(account.to_owned(), ous);
            }
            Membership::Listed(listed)
        };
        let member_role_name = var("TAGWARDEN_MEMBER_ROLE_NAME")
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| function.default_role_name().to_owned());
        let role_name_ok = member_role_name.len() <= 64
            && member_role_name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
        if !role_name_ok {
            return Err(bad("TAGWARDEN_MEMBER_ROLE_NAME", format!("{member_role_name:?} is not an IAM role name")));
        }
        if var("TAGWARDEN_MEMBER_EXTERNAL_ID").is_some_and(|v| !v.is_empty()) {
            let problem = format!(
                "no longer read: put the external id in an SSM SecureString parameter and name it in {EXTERNAL_ID_PARAMETER_ENV}"
            );
            return Err(bad("TAGWARDEN_MEMBER_EXTERNAL_ID", problem));
        }
        let external_id_parameter =
            var(EXTERNAL_ID_PARAMETER_ENV).map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let Some(parameter) = external_id_parameter else {
            let problem =
                "not set: the member roles require an external id, read from this SSM SecureString parameter".into();
            return Err(bad(EXTERNAL_ID_PARAMETER_ENV, problem));
        };
        let parameter_ok =
            parameter.len() <= 2048 && parameter.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
        if !parameter_ok {
            return Err(bad(EXTERNAL_ID_PARAMETER_ENV, format!("{parameter:?} is not an SSM parameter name")));
        }
        let mut regions = Vec::new();
        for region in var("TAGWARDEN_REGIONS").unwrap_or_default().split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if !region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                return Err(bad("TAGWARDEN_REGIONS", format!("{region:?} is not a region name")));
            }
            regions.push(region.to_owned());
        }
        let external_id_parameter = Some(parameter);
        Ok(Some(Self { membership, member_role_name, external_id_parameter, external_id: None, regions }))
    }

    /// The organization `function` serves, configured in the process environment (see
    /// [`Organization::from_lookup`]).
    pub fn from_env(function: MemberFunction) -> Result<Option<Self>, OrganizationError> {
        Self::from_lookup(|name| std::env::var(name).ok(), function)
    }

    /// Reads the external id from [`Self::external_id_parameter`] with `ssm` (the central account's client;
    /// `GetParameter` with decryption, once at cold start). The parameter must be a SecureString holding a
    /// valid external id (2 to 1,224 characters of `[\w+=,.@:/-]`). Without a parameter, nothing is read.
    pub async fn load_external_id(&mut self, ssm: &aws_sdk_ssm::Client) -> Result<(), PoolError> {
        let Some(name) = self.external_id_parameter.clone() else { return Ok(()) };
        let bad = |problem: String| PoolError::ExternalId { name: name.clone(), problem };
        let out = ssm.get_parameter().name(&name).with_decryption(true).send().await.aws("GetParameter");
        let parameter =
            out.map_err(|e| bad(e.to_string()))?.parameter.ok_or_else(|| bad("no parameter returned".into()))?;
        if parameter.r#type() != Some(&aws_sdk_ssm::types::ParameterType::SecureString) {
            let kind = parameter.r#type().map_or("untyped", |t| t.as_str());
            return Err(bad(format!("is a {kind} parameter: store the external id as a SecureString")));
        }
        let value = parameter.value().unwrap_or_default();
        if !is_external_id(value) {
            return Err(bad("does not hold an external id (2 to 1,224 characters: letters, digits, +=,.@:/-_)".into()));
        }
        self.external_id = Some(Secret::from(value));
        Ok(())
    }

    /// The member role's ARN in `account`.
    pub fn role_arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:role/{}", self.member_role_name)
    }
}

/// An account of the organization, as far as policy resolution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The account id.
    pub account: String,
    /// Its organizational units, nearest first (empty for the root or when unknown).
    pub ous: Vec<String>,
}

/// Why Tagwarden cannot act in an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The account is not a member of the organization.
    #[error("account {account} is not a member of the organization")]
    Foreign {
        /// The account.
        account: String,
    },
    /// The member role cannot be assumed (missing role, trust policy, external id) or the membership
    /// cannot be read: a deployment problem, not fixed by retrying the event.
    #[error("cannot act in account {account} as {role_arn}: {source}")]
    Refused {
        /// The account.
        account: String,
        /// The role Tagwarden tried to assume.
        role_arn: String,
        /// What AWS answered.
        source: AwsError,
    },
    /// A throttled or unavailable AWS call: retrying may succeed.
    #[error(transparent)]
    Retryable(AwsError),
}

/// What the pool knows of an account: its credentials provider and the last membership answer.
#[derive(Debug)]
struct AccountEntry {
    /// `None` for the central account (its own credentials).
    credentials: Option<SharedCredentialsProvider>,
    /// The verified membership, or a refusal with the time it was decided.
    access: Option<Result<Member, (AccessError, Instant)>>,
}

/// SDK clients for every (account, region) of the organization, built once and kept.
///
/// Cloning is cheap (shared state). Thread-safe; no AWS call happens in [`ClientPool::clients`] (the
/// first call made with member clients assumes the role); [`ClientPool::verify`] checks membership
/// and the role once per account.
#[derive(Debug, Clone)]
pub struct ClientPool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    base: SdkConfig,
    home: Clients,
    home_account: String,
    partition: String,
    organization: Organization,
    session_name: String,
    identity_cache: SharedIdentityCache,
    organizations: aws_sdk_organizations::Client,
    accounts: Mutex<HashMap<String, AccountEntry>>,
    clients: Mutex<HashMap<(String, String), Clients>>,
}

impl ClientPool {
    /// A pool acting as `base`'s credentials in `home_account` and assuming the member role elsewhere;
    /// every client gets `policy`'s retries and timeouts. `function` names the STS session
    /// (`tagwarden-<function>`, as CloudTrail shows it in member accounts).
    pub fn new(
        base: &SdkConfig,
        policy: &CallPolicy,
        home_account: &str,
        organization: Organization,
        function: &str,
    ) -> Self {
        let mut base = policy.apply(base);
        if base.time_source().is_none() {
            // NOTE: the STS provider reads the clock from the configuration (the SDK's loader always sets it).
            base = base.to_builder().time_source(aws_smithy_async::time::SystemTimeSource::new()).build();
        }
        let region = base.region().map(|r| r.as_ref().to_owned()).unwrap_or_default();
        Self {
            inner: Arc::new(PoolInner {
                home: Clients::new(&base),
                organizations: aws_sdk_organizations::Client::new(&base),
                partition: partition_of(&region).to_owned(),
                home_account: home_account.to_owned(),
                organization,
                session_name: session_name(function),
                identity_cache: IdentityCache::lazy().max_partitions(MAX_ACCOUNTS + 1).build(),
                accounts: Mutex::new(HashMap::new()),
                clients: Mutex::new(HashMap::new()),
                base,
            }),
        }
    }

    /// The SDK's default configuration with [`CallPolicy::from_env`], the central account asked of STS
    /// (`GetCallerIdentity`) and the external id read from its parameter, once at cold start.
    pub async fn from_env(mut organization: Organization, function: MemberFunction) -> Result<Self, PoolError> {
        let policy = CallPolicy::from_env();
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let applied = policy.apply(&base);
        organization.load_external_id(&aws_sdk_ssm::Client::new(&applied)).await?;
        let sts = aws_sdk_sts::Client::new(&applied);
        let identity = sts.get_caller_identity().send().await.aws("GetCallerIdentity")?;
        let account = identity.account().unwrap_or_default().to_owned();
        Ok(Self::new(&base, &policy, &account, organization, function.name()))
    }

    /// AWS Organizations, asked as the central account (membership, OUs, the account list for restore).
    pub fn organizations(&self) -> &aws_sdk_organizations::Client {
        &self.inner.organizations
    }

    /// The central account (where Tagwarden runs).
    pub fn home_account(&self) -> &str {
        &self.inner.home_account
    }

    /// The central account's clients in its own region.
    pub fn home(&self) -> &Clients {
        &self.inner.home
    }

    /// The central account's region.
    pub fn home_region(&self) -> &str {
        self.inner.home.region().unwrap_or_default()
    }

    /// The organization's configuration.
    pub fn organization(&self) -> &Organization {
        &self.inner.organization
    }

    /// The central account and the members: the static list, or AWS Organizations' active accounts.
    pub async fn accounts(&self) -> Result<std::collections::BTreeSet<String>, AwsError> {
        let mut accounts = std::collections::BTreeSet::from([self.home_account().to_owned()]);
        match &self.organization().membership {
            Membership::Listed(listed) => accounts.extend(listed.keys().cloned()),
            Membership::Organizations => {
                let mut pages = self.organizations().list_accounts().into_paginator().send();
                while let Some(page) = pages.next().await {
                    for account in page.aws("ListAccounts")?.accounts() {
                        let active = account.state().is_none_or(|s| s.as_str() == "ACTIVE");
                        if let (Some(id), true) = (account.id(), active) {
                            accounts.insert(id.to_owned());
                        }
                    }
                }
            }
        }
        Ok(accounts)
    }

    /// The member role's ARN in `account`.
    pub fn role_arn(&self, account: &str) -> String {
        self.inner.organization.role_arn(&self.inner.partition, account)
    }

    /// The clients for `account` in `region`, built on first use and kept (no AWS call here).
    ///
    /// Member clients act with the assumed member role, except `sns` and `ssm`, which stay the central
    /// account's (the notification topics and the policy parameter live there).
    pub fn clients(&self, account: &str, region: &str) -> Clients {
        let key = (account.to_owned(), region.to_owned());
        if let Some(clients) = lock(&self.inner.clients).get(&key) {
            return clients.clone();
        }
        let built = self.build(account, region);
        let mut map = lock(&self.inner.clients);
        if map.len() >= MAX_CLIENT_SETS
            && let Some(evict) = map.keys().next().cloned()
        {
            map.remove(&evict);
        }
        map.entry(key).or_insert(built).clone()
    }

    fn build(&self, account: &str, region: &str) -> Clients {
        let inner = &self.inner;
        let in_region = inner.base.to_builder().region(Region::new(region.to_owned())).build();
        if account == inner.home_account {
            return Clients::new(&in_region);
        }
        let provider = self.credentials(account);
        let config =
            in_region.to_builder().credentials_provider(provider).identity_cache(inner.identity_cache.clone()).build();
        Clients {
            sns: inner.home.sns.clone(),
            ssm: inner.home.ssm.clone(),
            dynamodb: inner.home.dynamodb.clone(),
            ..Clients::new(&config)
        }
    }

    /// The account's one credentials provider (one cache partition shared by all its regions).
    fn credentials(&self, account: &str) -> SharedCredentialsProvider {
        let inner = &self.inner;
        let mut accounts = lock(&inner.accounts);
        if let Some(provider) = accounts.get(account).and_then(|e| e.credentials.clone()) {
            return provider;
        }
        let mut builder = AssumeRoleProvider::builder(self.role_arn(account))
            .session_name(inner.session_name.clone())
            .configure(&inner.base);
        if let Some(id) = &inner.organization.external_id {
            builder = builder.external_id(id.to_string());
        }
        // NOTE: `build` is async only to load a default configuration; with `configure` it never awaits,
        // so it is driven here without a runtime (no I/O happens until credentials are first asked for).
        let provider = SharedCredentialsProvider::new(futures::executor::block_on(builder.build()));
        if accounts.len() >= MAX_ACCOUNTS
            && let Some(evict) = accounts.keys().find(|a| **a != account).cloned()
        {
            accounts.remove(&evict);
        }
        accounts.entry(account.to_owned()).or_insert(AccountEntry { credentials: None, access: None }).credentials =
            Some(provider.clone());
        provider
    }

    /// Checks, once per account per process, that Tagwarden may act in `account`: it is the central
    /// account or a member of the organization, and the member role can be assumed (one
    /// `GetCallerIdentity` with the member clients, which also fills the credentials cache).
    /// Refusals are remembered for [`REFUSAL_TTL`]; retryable failures are not remembered.
    pub async fn verify(&self, account: &str) -> Result<Member, AccessError> {
        let cached = lock(&self.inner.accounts).get(account).and_then(|e| e.access.clone());
        match cached {
            Some(Ok(member)) => return Ok(member),
            Some(Err((refusal, at))) if at.elapsed() < REFUSAL_TTL => return Err(refusal),
            _ => {}
        }
        let decided = self.decide(account).await;
        let remembered = match &decided {
            Ok(member) => Ok(member.clone()),
            Err(AccessError::Retryable(_)) => return decided,
            Err(refusal) => Err((refusal.clone(), Instant::now())),
        };
        let mut accounts = lock(&self.inner.accounts);
        accounts.entry(account.to_owned()).or_insert(AccountEntry { credentials: None, access: None }).access =
            Some(remembered);
        decided
    }

    async fn decide(&self, account: &str) -> Result<Member, AccessError> {
        let member = self.membership(account).await?;
        if account == self.inner.home_account {
            return Ok(member);
        }
        let region = self.home_region().to_owned();
        let clients = self.clients(account, &region);
        let refused = |source: AwsError| AccessError::Refused {
            account: account.to_owned(),
            role_arn: self.role_arn(account),
            source,
        };
        match clients.sts.get_caller_identity().send().await.aws("GetCallerIdentity") {
            Ok(identity) if identity.account() == Some(account) => Ok(member),
            Ok(identity) => Err(refused(AwsError::Rejected {
                operation: "AssumeRole",
                code: "WrongAccount".into(),
                message: format!("the assumed role acts in account {}", identity.account().unwrap_or("?")),
            })),
            Err(err) if err.is_retryable() => Err(AccessError::Retryable(err)),
            Err(err) => Err(refused(err)),
        }
    }

    /// The account's membership: the static list, or AWS Organizations (`DescribeAccount`, then
    /// `ListParents` up to the root).
    async fn membership(&self, account: &str) -> Result<Member, AccessError> {
        let foreign = || AccessError::Foreign { account: account.to_owned() };
        let org = &self.inner.organization;
        let listed = match &org.membership {
            Membership::Listed(accounts) => accounts.get(account).cloned(),
            Membership::Organizations => None,
        };
        match (&org.membership, listed) {
            (Membership::Listed(_), Some(ous)) => return Ok(Member { account: account.to_owned(), ous }),
            (Membership::Listed(_), None) if account == self.inner.home_account => {
                return Ok(Member { account: account.to_owned(), ous: Vec::new() });
            }
            (Membership::Listed(_), None) => return Err(foreign()),
            (Membership::Organizations, _) => {}
        }
        let orgs = &self.inner.organizations;
        let refused = |source: AwsError| AccessError::Refused {
            account: account.to_owned(),
            role_arn: self.role_arn(account),
            source,
        };
        let classify = |err: AwsError| match err {
            err if err.is_retryable() => AccessError::Retryable(err),
            err => refused(err),
        };
        match orgs.describe_account().account_id(account).send().await {
            Ok(out) => {
                let status = out.account().and_then(|a| a.status()).map(|s| s.as_str().to_owned());
                if status.as_deref().is_some_and(|s| s != "ACTIVE") {
                    return Err(foreign());
                }
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_account_not_found_exception()) => {
                return Err(foreign());
            }
            Err(err) => return Err(classify(AwsError::from_sdk("DescribeAccount", err))),
        }
        let mut ous = Vec::new();
        let mut child = account.to_owned();
        // NOTE: OUs nest at most five deep; the bound only guards against a malformed answer.
        for _ in 0..8 {
            let parents = orgs.list_parents().child_id(&child).send().await.aws("ListParents").map_err(classify)?;
            let Some(parent) = parents.parents().first() else { break };
            let is_ou = parent.r#type().is_some_and(|t| t.as_str() == "ORGANIZATIONAL_UNIT");
            match parent.id() {
                Some(id) if is_ou => {
                    ous.push(id.to_owned());
                    child = id.to_owned();
                }
                _ => break,
            }
        }
        Ok(Member { account: account.to_owned(), ous })
    }
}

/// Whether `value` is an external id STS accepts: 2 to 1,224 characters of `[\w+=,.@:/-]`.
fn is_external_id(value: &str) -> bool {
    (2..=1224).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
}

/// `tagwarden-<function>`, cut to STS's 64 characters and its allowed characters.
fn session_name(function: &str) -> String {
    let cleaned: String =
        function.chars().map(|c| if c.is_ascii_alphanumeric() || "=,.@-_".contains(c) { c } else { '-' }).collect();
    format!("tagwarden-{cleaned}").chars().take(64).collect()
}

/// A poisoned lock only means another thread panicked mid-insert: the maps stay usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The auto-tagger's organization from `vars`, with an external id parameter unless `vars` name one.
    fn org(vars: &[(&str, &str)]) -> Result<Option<Organization>, OrganizationError> {
        org_for(vars, MemberFunction::AutoTagger)
    }

    fn org_for(vars: &[(&str, &str)], function: MemberFunction) -> Result<Option<Organization>, OrganizationError> {
        let mut vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        vars.entry(EXTERNAL_ID_PARAMETER_ENV.into()).or_insert_with(|| "/tagwarden/member-external-id".into());
        Organization::from_lookup(|name| vars.get(name).cloned(), function)
    }

    #[test]
    fn without_an_account_list_the_deployment_is_single_account() {
        assert_eq!(org(&[]).unwrap(), None);
        assert_eq!(org(&[("TAGWARDEN_MEMBER_ROLE_NAME", "X")]).unwrap(), None);
    }

    #[test]
    fn a_static_membership_is_read_with_ous_and_defaults() {
        let org = org(&[
            ("TAGWARDEN_ORGANIZATION_ACCOUNTS", "111111111111:ou-ab12-research, 222222222222 ,"),
            ("TAGWARDEN_REGIONS", "us-east-1,eu-west-1"),
        ])
        .unwrap()
        .unwrap();
        let Membership::Listed(accounts) = &org.membership else { panic!("{org:?}") };
        assert_eq!(accounts["111111111111"], ["ou-ab12-research"]);
        assert!(accounts["222222222222"].is_empty());
        assert_eq!(org.member_role_name, AUTO_TAGGER_MEMBER_ROLE);
        assert_eq!(org.external_id_parameter.as_deref(), Some("/tagwarden/member-external-id"));
        assert_eq!(org.external_id, None, "read from the parameter at cold start, not here");
        assert_eq!(org.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(org.role_arn("aws", "111111111111"), "arn:aws:iam::111111111111:role/TagwardenAutoTaggerMember");
    }

    #[test]
    fn each_function_assumes_its_own_member_role_unless_the_deployment_names_one() {
        let accounts = ("TAGWARDEN_ORGANIZATION_ACCOUNTS", "organizations");
        let enforcer = org_for(&[accounts], MemberFunction::BudgetEnforcer).unwrap().unwrap();
        assert_eq!(enforcer.member_role_name, "TagwardenEnforcerMember");
        let tagger = org_for(&[accounts], MemberFunction::AutoTagger).unwrap().unwrap();
        assert_eq!(tagger.member_role_name, "TagwardenAutoTaggerMember");
        let named = org_for(&[accounts, ("TAGWARDEN_MEMBER_ROLE_NAME", "ops/Tagger")], MemberFunction::BudgetEnforcer);
        let named = named.unwrap().unwrap();
        assert_eq!(named.membership, Membership::Organizations);
        assert_eq!(named.role_arn("aws-cn", "1"), "arn:aws-cn:iam::1:role/ops/Tagger");
    }

    #[test]
    fn the_external_id_comes_only_from_a_named_parameter_never_from_a_plain_variable() {
        let accounts = ("TAGWARDEN_ORGANIZATION_ACCOUNTS", "111111111111");
        let plain = org(&[accounts, ("TAGWARDEN_MEMBER_EXTERNAL_ID", "secret-1")]).unwrap_err();
        assert_eq!(plain.name, "TAGWARDEN_MEMBER_EXTERNAL_ID", "{plain}");
        let vars: HashMap<&str, &str> = [accounts].into();
        let missing = Organization::from_lookup(|n| vars.get(n).map(|v| v.to_string()), MemberFunction::AutoTagger);
        assert_eq!(missing.unwrap_err().name, EXTERNAL_ID_PARAMETER_ENV);
        let odd = org(&[accounts, (EXTERNAL_ID_PARAMETER_ENV, "not a name")]).unwrap_err();
        assert_eq!(odd.name, EXTERNAL_ID_PARAMETER_ENV);
        let single = Organization::from_lookup(|_| None, MemberFunction::AutoTagger).unwrap();
        assert_eq!(single, None, "a single-account deployment needs no external id");
    }

    #[test]
    fn external_ids_follow_the_sts_rules() {
        assert!(is_external_id("tagwarden-e2e"));
        assert!(is_external_id(&"a".repeat(1224)));
        assert!(!is_external_id("a"), "at least 2 characters");
        assert!(!is_external_id(&"a".repeat(1225)));
        assert!(!is_external_id("with space"));
    }

    fn ssm_answering(parameter: aws_sdk_ssm::types::Parameter) -> aws_sdk_ssm::Client {
        use aws_smithy_mocks::{mock, mock_client};
        let rule = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.with_decryption() == Some(true) && r.name() == Some("/tagwarden/member-external-id"))
            .then_output(move || {
                aws_sdk_ssm::operation::get_parameter::GetParameterOutput::builder()
                    .parameter(parameter.clone())
                    .build()
            });
        mock_client!(aws_sdk_ssm, [&rule])
    }

    #[tokio::test]
    async fn the_external_id_is_read_decrypted_from_a_secure_string_parameter() {
        use aws_sdk_ssm::types::{Parameter, ParameterType};
        let mut org = org(&[("TAGWARDEN_ORGANIZATION_ACCOUNTS", "organizations")]).unwrap().unwrap();
        let secure = Parameter::builder().r#type(ParameterType::SecureString).value("ext-7f3a9c").build();
        org.load_external_id(&ssm_answering(secure)).await.unwrap();
        assert_eq!(org.external_id.as_deref(), Some("ext-7f3a9c"));
        assert!(!format!("{org:?}").contains("ext-7f3a9c"), "never in a Debug print: {org:?}");

        let mut org = org_for(&[("TAGWARDEN_ORGANIZATION_ACCOUNTS", "organizations")], MemberFunction::BudgetEnforcer);
        let plain = Parameter::builder().r#type(ParameterType::String).value("ext-7f3a9c").build();
        let err = org.as_mut().unwrap().as_mut().unwrap().load_external_id(&ssm_answering(plain)).await.unwrap_err();
        assert!(err.to_string().contains("SecureString"), "{err}");
        let mut org = org_for(&[("TAGWARDEN_ORGANIZATION_ACCOUNTS", "organizations")], MemberFunction::BudgetEnforcer);
        let short = Parameter::builder().r#type(ParameterType::SecureString).value("x").build();
        let err = org.as_mut().unwrap().as_mut().unwrap().load_external_id(&ssm_answering(short)).await.unwrap_err();
        assert!(matches!(err, PoolError::ExternalId { .. }), "{err}");
    }

    #[test]
    fn bad_accounts_ous_roles_and_regions_name_the_variable() {
        for (name, value) in [
            ("TAGWARDEN_ORGANIZATION_ACCOUNTS", "12345"),
            ("TAGWARDEN_ORGANIZATION_ACCOUNTS", "111111111111:research"),
            ("TAGWARDEN_MEMBER_ROLE_NAME", "bad role"),
            ("TAGWARDEN_REGIONS", "US East"),
        ] {
            let mut vars = vec![("TAGWARDEN_ORGANIZATION_ACCOUNTS", "111111111111")];
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            let err = org(&vars).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn session_names_and_partitions_follow_aws_rules() {
        assert_eq!(session_name("auto-tagger"), "tagwarden-auto-tagger");
        assert_eq!(session_name(&"x y".repeat(40)).len(), 64);
        assert!(!session_name("a b").contains(' '));
        assert_eq!((partition_of("cn-north-1"), partition_of("us-gov-west-1")), ("aws-cn", "aws-us-gov"));
        assert_eq!(partition_of("eu-west-1"), "aws");
    }

    #[tokio::test]
    async fn clients_are_kept_per_account_and_region_and_members_share_one_provider() {
        let base = SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        // NOTE: no time source on purpose: the pool supplies one (the STS provider needs it).
        let org = org(&[("TAGWARDEN_ORGANIZATION_ACCOUNTS", "111111111111")]).unwrap().unwrap();
        let pool = ClientPool::new(&base, &CallPolicy::DEFAULT, "999999999999", org, "auto-tagger");
        let a = pool.clients("111111111111", "eu-west-1");
        assert_eq!(a.region(), Some("eu-west-1"));
        assert_eq!(pool.clients("111111111111", "us-east-1").region(), Some("us-east-1"));
        assert_eq!(lock(&pool.inner.clients).len(), 2);
        pool.clients("111111111111", "eu-west-1");
        assert_eq!(lock(&pool.inner.clients).len(), 2, "kept, not rebuilt");
        let accounts = lock(&pool.inner.accounts);
        assert_eq!(accounts.len(), 1, "one credentials provider for both regions of the member");
        let retry = a.sagemaker.config().retry_config().unwrap().max_attempts();
        assert_eq!(retry, CallPolicy::DEFAULT.max_attempts, "the call policy reaches member clients");
    }
}
