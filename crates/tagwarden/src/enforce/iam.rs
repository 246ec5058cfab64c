//! The two rows that attach a managed deny policy to SageMaker execution roles in scope — roles SageMaker may
//! assume that carry the scope's tags, and the execution roles of in-scope user profiles — recording each in
//! the ledger first:
//!
//! - `deny-instance-types` ([`DENY_INSTANCE_TYPES`]): the instance-types policy (no GPU, accelerator or huge
//!   instances; `crate::deny_policy::instance_types_document`), the graduated step before
//! - `deny-iam` ([`DENY_IAM`]): the deny policy (no new SageMaker spend at all; `crate::deny_policy::document`).
//!
//! They differ only in which policy, which marker tag and which names; `restore` detaches the policy from
//! exactly the roles the ledger recorded (the marker tag is a hint for people, never read).

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};

use super::actor::Actor;
use super::ledger::{Before, Undo};
use super::plan::Candidate;
use super::report::ResultKind;
use super::report::Tally;
use super::{Context, DENIED_BY_TAG, EnforcementAction, INSTANCE_TYPES_DENIED_BY_TAG};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::ids::partition_of;
use crate::policy::{Action, BudgetRule};
use crate::resource::SageMakerArn;
use crate::tag_rules::sanitize_value;
use crate::tagging::Tags;

/// A row that attaches one managed deny policy to in-scope execution roles.
pub(crate) struct DenyRoles {
    /// Its policy name.
    action: Action,
    /// The result name of its `restore`.
    detach: &'static str,
    /// The marker tag it puts on a role (the budget's name).
    marker: &'static str,
    /// Its IAM actions: the attach/detach grant is limited to its own policy.
    permissions: &'static [Permission],
    /// What it attaches, for people.
    describe: &'static str,
    /// Its policy's ARN in the actor's account (`None`: not configured, nothing to do).
    policy_arn: fn(&Actor<'_>) -> Option<String>,
}

/// The `deny-iam` row: the deny policy.
pub(crate) const DENY_IAM: DenyRoles = DenyRoles {
    action: Action::DenyIam,
    detach: "detach-deny",
    marker: DENIED_BY_TAG,
    permissions: &[
        ("iam:ListRoles", Grant::Any),
        ("iam:ListRoleTags", Grant::IamRoles),
        ("iam:ListAttachedRolePolicies", Grant::IamRoles),
        ("iam:TagRole", Grant::IamRoleMarkers),
        ("iam:UntagRole", Grant::IamRoleMarkers),
        ("iam:AttachRolePolicy", Grant::DenyPolicyAttachment),
        ("iam:DetachRolePolicy", Grant::DenyPolicyAttachment),
        ("sagemaker:DescribeUserProfile", Grant::SageMaker),
        ("sagemaker:DescribeDomain", Grant::SageMaker),
    ],
    describe: "attach the deny policy to in-scope SageMaker execution roles",
    policy_arn: |actor| actor.deny_policy_arn.clone(),
};

/// The `deny-instance-types` row: the instance-types deny policy.
pub(crate) const DENY_INSTANCE_TYPES: DenyRoles = DenyRoles {
    action: Action::DenyInstanceTypes,
    detach: "detach-deny-instance-types",
    marker: INSTANCE_TYPES_DENIED_BY_TAG,
    permissions: &[
        ("iam:ListRoles", Grant::Any),
        ("iam:ListRoleTags", Grant::IamRoles),
        ("iam:ListAttachedRolePolicies", Grant::IamRoles),
        ("iam:TagRole", Grant::IamRoleMarkers),
        ("iam:UntagRole", Grant::IamRoleMarkers),
        ("iam:AttachRolePolicy", Grant::DenyInstanceTypesAttachment),
        ("iam:DetachRolePolicy", Grant::DenyInstanceTypesAttachment),
        ("sagemaker:DescribeUserProfile", Grant::SageMaker),
        ("sagemaker:DescribeDomain", Grant::SageMaker),
    ],
    describe: "attach the instance-types deny policy (no GPU, accelerator or huge instances) to in-scope \
               SageMaker execution roles",
    policy_arn: |actor| actor.deny_instance_types_policy_arn.clone(),
};

impl EnforcementAction for DenyRoles {
    fn action(&self) -> Action {
        self.action
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:user-profile"]
    }

    fn permissions(&self) -> &'static [Permission] {
        self.permissions
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        self.describe.to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(self.deny_roles(actor, cx, tally))
    }

    fn restore_name(&self) -> Option<&'static str> {
        Some(self.detach)
    }

    fn undo<'a>(&'a self, actor: &'a Actor<'a>, undo: &'a Undo) -> BoxFuture<'a, Result<ResultKind, AwsError>> {
        Box::pin(self.detach(actor, undo))
    }
}

/// The ARN of a role of the actor's account.
async fn role_arn(actor: &Actor<'_>, name: &str) -> Result<String, AwsError> {
    let region_account = actor.region_account().await?;
    let (region, account) = region_account.split_once(':').unwrap_or_default();
    Ok(format!("arn:{}:iam::{account}:role/{name}", partition_of(region)))
}

impl DenyRoles {
    async fn deny_roles(&self, actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
        let Some(policy_arn) = (self.policy_arn)(actor) else {
            return Ok(());
        };
        let roles = sagemaker_roles(actor).await?;
        let mut in_scope: BTreeMap<String, Tags> = BTreeMap::new();
        for (name, tags) in &roles {
            if cx.scope.matches(tags) {
                in_scope.insert(name.clone(), tags.clone());
            }
        }
        if let Some(profiles) = actor.in_scope(cx.scope, self.resource_types()).await? {
            for (arn, _) in profiles.values() {
                if let Some(role) = profile_role(actor, arn).await? {
                    let tags = roles.get(&role).cloned().unwrap_or_default();
                    in_scope.insert(role, tags);
                }
            }
        }
        let mut candidates = Vec::new();
        for (name, tags) in in_scope {
            candidates.push(Candidate { arn: role_arn(actor, &name).await?, tags, active: true });
        }
        let action = self.action.to_string();
        let targets = actor.select(&action, candidates, ResultKind::AlreadyDenied, tally);
        let marker = sanitize_value(&cx.alert.budget_name);
        actor
            .execute(&action, targets, cx.dry_run, ResultKind::RoleGone, tally, |target| {
                let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
                let (policy_arn, marker) = (policy_arn.clone(), marker.clone());
                let arn = target.arn.clone();
                async move { self.deny_role(actor, cx, &arn, &name, &policy_arn, marker).await }
            })
            .await;
        Ok(())
    }

    async fn deny_role(
        &self,
        actor: &Actor<'_>,
        cx: &Context<'_>,
        arn: &str,
        role: &str,
        policy_arn: &str,
        marker: String,
    ) -> Result<ResultKind, AwsError> {
        let iam = &actor.clients.iam;
        let attached = iam
            .list_attached_role_policies()
            .role_name(role)
            .max_items(1000)
            .send()
            .await
            .aws("ListAttachedRolePolicies")?;
        if attached.attached_policies().iter().any(|p| p.policy_arn() == Some(policy_arn)) {
            // Attached by someone else (or by us, already recorded): not ours to record.
            return Ok(ResultKind::AlreadyDenied);
        }
        // NOTE: the ledger first: a record without the policy is harmless (detaching finds nothing), a policy
        // without the record is never restored.
        let before = Before::Role { name: role.to_owned(), policy_arn: policy_arn.to_owned() };
        cx.remember(actor, self.action, arn, before).await?;
        let tag = aws_sdk_iam::types::Tag::builder().key(self.marker).value(marker).build().map_err(|e| {
            AwsError::Rejected { operation: "TagRole", code: "BuildFailure".into(), message: e.to_string() }
        })?;
        iam.tag_role().role_name(role).tags(tag).send().await.aws("TagRole")?;
        iam.attach_role_policy().role_name(role).policy_arn(policy_arn).send().await.aws("AttachRolePolicy")?;
        Ok(ResultKind::Done)
    }

    /// Detaches the policy the ledger recorded attaching from the role it recorded, and removes the marker.
    async fn detach(&self, actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
        let Before::Role { name, policy_arn } = &undo.before else {
            return Ok(ResultKind::failed("the ledger's record is not a role's"));
        };
        let iam = &actor.clients.iam;
        match iam.detach_role_policy().role_name(name).policy_arn(policy_arn).send().await.aws("DetachRolePolicy") {
            Ok(_) => {}
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(err),
        }
        match iam.untag_role().role_name(name).tag_keys(self.marker).send().await.aws("UntagRole") {
            Err(err) if err.is_not_found() => Ok(ResultKind::RoleGone),
            Err(err) => Err(err),
            Ok(_) => Ok(ResultKind::Done),
        }
    }
}

/// Roles under the policy's path prefix that SageMaker may assume, with their tags.
async fn sagemaker_roles(actor: &Actor<'_>) -> Result<BTreeMap<String, Tags>, AwsError> {
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = actor
            .clients
            .iam
            .list_roles()
            .path_prefix(&actor.policy.budgets.role_path_prefix)
            .set_marker(marker)
            .send()
            .await
            .aws("ListRoles")?;
        for role in page.roles() {
            let trust = role.assume_role_policy_document().map(percent_decode).unwrap_or_default();
            if trust.contains("sagemaker.amazonaws.com") {
                names.push(role.role_name().to_owned());
            }
        }
        marker = page.marker().map(str::to_owned).filter(|_| page.is_truncated());
        if marker.is_none() {
            break;
        }
    }
    let tagged: Vec<Result<(String, Tags), AwsError>> = stream::iter(names)
        .map(|name| async move {
            let tags = crate::tagging::apply::role_tags(&actor.clients, &name).await?;
            Ok((name, tags))
        })
        .buffer_unordered(actor.policy.budgets.concurrency)
        .collect()
        .await;
    tagged.into_iter().collect()
}

/// The execution role (name) of a user profile, or its domain's default.
async fn profile_role(actor: &Actor<'_>, profile_arn: &str) -> Result<Option<String>, AwsError> {
    let Some((domain, profile)) = SageMakerArn::parse(profile_arn).and_then(|a| {
        let (d, p) = a.path.split_once('/')?;
        Some((d.to_owned(), p.to_owned()))
    }) else {
        return Ok(None);
    };
    let sm = &actor.clients.sagemaker;
    let described = sm
        .describe_user_profile()
        .domain_id(&domain)
        .user_profile_name(&profile)
        .send()
        .await
        .aws("DescribeUserProfile");
    let role = match described {
        Ok(out) => out.user_settings().and_then(|s| s.execution_role()).map(str::to_owned),
        Err(err) if err.is_not_found() => return Ok(None),
        Err(err) => return Err(err),
    };
    let role = match role {
        Some(role) => Some(role),
        None => match sm.describe_domain().domain_id(&domain).send().await.aws("DescribeDomain") {
            Ok(out) => out.default_user_settings().and_then(|s| s.execution_role()).map(str::to_owned),
            Err(err) if err.is_not_found() => None,
            Err(err) => return Err(err),
        },
    };
    Ok(role.and_then(|arn| arn.rsplit('/').next().map(str::to_owned)))
}

/// IAM returns trust policies URL-encoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_are_url_decoded() {
        assert_eq!(
            percent_decode("%7B%22Service%22%3A%22sagemaker.amazonaws.com%22%7D"),
            r#"{"Service":"sagemaker.amazonaws.com"}"#
        );
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn the_two_rows_differ_only_in_policy_marker_names_and_attachment_grant() {
        assert_ne!(DENY_IAM.marker, DENY_INSTANCE_TYPES.marker, "detaching one leaves the other's marker");
        assert_ne!(DENY_IAM.detach, DENY_INSTANCE_TYPES.detach);
        let attach = |row: &DenyRoles| {
            row.permissions.iter().filter(|(a, _)| a.ends_with("RolePolicy")).map(|(_, g)| *g).collect::<Vec<_>>()
        };
        assert_eq!(attach(&DENY_IAM), [Grant::DenyPolicyAttachment; 2]);
        assert_eq!(attach(&DENY_INSTANCE_TYPES), [Grant::DenyInstanceTypesAttachment; 2]);
        let others = |row: &DenyRoles| {
            row.permissions.iter().filter(|(a, _)| !a.ends_with("RolePolicy")).copied().collect::<Vec<_>>()
        };
        assert_eq!(others(&DENY_IAM), others(&DENY_INSTANCE_TYPES));
    }
}
