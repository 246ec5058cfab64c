//! An organization in the emulator: the central (management) account creates it, its OUs and member
//! accounts; each member gets the member role and the demo world ([`crate::world::seed_world`]).
//! moto lets credentials from STS `AssumeRole` act in the role's account, so [`config_as`] is how a
//! test acts in (and reads back from) a member account.

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_sagemaker::config::SharedCredentialsProvider;
use serde_json::Value;

use crate::{ACCOUNT, REGION};

/// The role the auto-tagger assumes in member accounts (its default `TAGWARDEN_MEMBER_ROLE_NAME`).
pub const MEMBER_ROLE: &str = tagwarden::org::AUTO_TAGGER_MEMBER_ROLE;
/// The role the test itself assumes to seed and read member accounts (as AWS Organizations creates it).
pub const ADMIN_ROLE: &str = "OrganizationAccountAccessRole";

/// A seeded organization.
#[derive(Debug, Clone)]
pub struct SeededOrg {
    /// The root's id.
    pub root: String,
    /// OU ids by name, in the order asked for.
    pub ous: Vec<(String, String)>,
    /// Member accounts: (name, account id, OU name), in the order asked for.
    pub members: Vec<(String, String, String)>,
}

impl SeededOrg {
    /// The id of the OU named `name`.
    pub fn ou(&self, name: &str) -> Option<&str> {
        self.ous.iter().find(|(n, _)| n == name).map(|(_, id)| id.as_str())
    }

    /// The account id of the member named `name`.
    pub fn account(&self, name: &str) -> Option<&str> {
        self.members.iter().find(|(n, _, _)| n == name).map(|(_, id, _)| id.as_str())
    }
}

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// `central` acting as [`ADMIN_ROLE`] in `account` (credentials from STS, cached by the SDK).
pub async fn config_as(central: &SdkConfig, account: &str) -> SdkConfig {
    let provider = AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/{ADMIN_ROLE}"))
        .session_name("tagwarden-e2e")
        .configure(central)
        .build()
        .await;
    central.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build()
}

/// Creates the organization (all features) with `ous` under the root and `members` (name, OU name)
/// as new accounts moved into their OU; then, in every member account, the member role and the demo
/// world (IAM roles and users, the Studio domain and the SNS topic in [`REGION`]).
pub async fn seed_organization(
    central: &SdkConfig,
    ous: &[&str],
    members: &[(&str, &str)],
) -> Result<SeededOrg, String> {
    let orgs = aws_sdk_organizations::Client::new(central);
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .map_err(|e| format!("CreateOrganization: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e)))?;
    let roots = orgs.list_roots().send().await.map_err(err("ListRoots"))?;
    let root = roots.roots().first().and_then(|r| r.id()).ok_or("no root")?.to_owned();
    let mut seeded = SeededOrg { root: root.clone(), ous: Vec::new(), members: Vec::new() };
    for name in ous {
        let ou = orgs
            .create_organizational_unit()
            .parent_id(&root)
            .name(*name)
            .send()
            .await
            .map_err(err("CreateOrganizationalUnit"))?;
        let id = ou.organizational_unit().and_then(|o| o.id()).ok_or("no OU id")?.to_owned();
        seeded.ous.push((name.to_string(), id));
    }
    for (name, ou_name) in members {
        let created = orgs
            .create_account()
            .account_name(*name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .map_err(err("CreateAccount"))?;
        let account = created.create_account_status().and_then(|s| s.account_id()).ok_or("no account id")?.to_owned();
        let ou = seeded.ou(ou_name).ok_or_else(|| format!("no OU {ou_name}"))?.to_owned();
        orgs.move_account()
            .account_id(&account)
            .source_parent_id(&root)
            .destination_parent_id(&ou)
            .send()
            .await
            .map_err(err("MoveAccount"))?;
        let member = config_as(central, &account).await;
        seed_member(&member).await?;
        seeded.members.push((name.to_string(), account, ou_name.to_string()));
    }
    Ok(seeded)
}

/// The member role (trusting the central account) and the demo world, in the account `member` acts in.
pub async fn seed_member(member: &SdkConfig) -> Result<(), String> {
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
                       "Action": "sts:AssumeRole"}]
    });
    aws_sdk_iam::Client::new(member)
        .create_role()
        .role_name(MEMBER_ROLE)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .map_err(err("CreateRole (member role)"))?;
    crate::world::seed_world(member).await
}

/// A sample event as `account` would forward it from `region`: every mention of the sample account and
/// region replaced (envelope, identity, ARNs).
pub fn event_from(event: &Value, account: &str, region: &str) -> Value {
    let text = event.to_string().replace(ACCOUNT, account).replace(REGION, region);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
