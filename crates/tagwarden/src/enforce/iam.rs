//! `deny-iam`: attach the deny policy to SageMaker execution roles in scope — roles SageMaker may assume
//! that carry the scope's tags, and the execution roles of in-scope user profiles — marking each
//! `tagwarden:denied-by=<budget>` first. `restore` detaches it from exactly the marked roles.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};

use super::actor::Actor;
use super::plan::Candidate;
use super::report::ResultKind;
use super::report::Tally;
use super::{Context, DENIED_BY_TAG, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::ids::partition_of;
use crate::policy::{Action, BudgetRule};
use crate::resource::SageMakerArn;
use crate::tag_rules::sanitize_value;
use crate::tagging::Tags;

/// The `deny-iam` row.
pub(crate) struct DenyIam;

/// The result name of `restore`.
const DETACH: &str = "detach-deny";

impl EnforcementAction for DenyIam {
    fn action(&self) -> Action {
        Action::DenyIam
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:user-profile"]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("iam:ListRoles", Grant::Any),
            ("iam:ListRoleTags", Grant::IamRoles),
            ("iam:ListAttachedRolePolicies", Grant::IamRoles),
            ("iam:TagRole", Grant::IamRoleMarkers),
            ("iam:UntagRole", Grant::IamRoleMarkers),
            ("iam:AttachRolePolicy", Grant::DenyPolicyAttachment),
            ("iam:DetachRolePolicy", Grant::DenyPolicyAttachment),
            ("sagemaker:DescribeUserProfile", Grant::SageMaker),
            ("sagemaker:DescribeDomain", Grant::SageMaker),
        ]
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "attach the deny policy to in-scope SageMaker execution roles".to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(deny_roles(actor, cx, tally))
    }

    fn restore<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        marker: Option<&'a str>,
        dry_run: bool,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(restore_roles(actor, marker, dry_run, tally))
    }
}

/// The ARN of a role of the actor's account.
async fn role_arn(actor: &Actor<'_>, name: &str) -> Result<String, AwsError> {
    let region_account = actor.region_account().await?;
    let (region, account) = region_account.split_once(':').unwrap_or_default();
    Ok(format!("arn:{}:iam::{account}:role/{name}", partition_of(region)))
}

async fn deny_roles(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let Some(deny_arn) = actor.deny_policy_arn.clone() else {
        return Ok(());
    };
    let roles = sagemaker_roles(actor).await?;
    let mut in_scope: BTreeMap<String, Tags> = BTreeMap::new();
    for (name, tags) in &roles {
        if cx.scope.matches(tags) {
            in_scope.insert(name.clone(), tags.clone());
        }
    }
    if let Some(profiles) = actor.in_scope(cx.scope, DenyIam.resource_types()).await? {
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
    let action = Action::DenyIam.to_string();
    let targets = actor.select(&action, candidates, ResultKind::AlreadyDenied, tally);
    let marker = sanitize_value(&cx.alert.budget_name);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::RoleGone, tally, |target| {
            let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let (deny_arn, marker) = (deny_arn.clone(), marker.clone());
            async move { deny_role(actor, &name, &deny_arn, marker).await }
        })
        .await;
    Ok(())
}

async fn deny_role(actor: &Actor<'_>, role: &str, deny_arn: &str, marker: String) -> Result<ResultKind, AwsError> {
    let iam = &actor.clients.iam;
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .max_items(1000)
        .send()
        .await
        .aws("ListAttachedRolePolicies")?;
    if attached.attached_policies().iter().any(|p| p.policy_arn() == Some(deny_arn)) {
        // Attached by someone else (or by us, already marked): not ours to mark.
        return Ok(ResultKind::AlreadyDenied);
    }
    // NOTE: mark first: a mark without the policy is harmless, a policy without the mark is never restored.
    let tag = aws_sdk_iam::types::Tag::builder().key(DENIED_BY_TAG).value(marker).build().map_err(|e| {
        AwsError::Rejected { operation: "TagRole", code: "BuildFailure".into(), message: e.to_string() }
    })?;
    iam.tag_role().role_name(role).tags(tag).send().await.aws("TagRole")?;
    iam.attach_role_policy().role_name(role).policy_arn(deny_arn).send().await.aws("AttachRolePolicy")?;
    Ok(ResultKind::Done)
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

async fn restore_roles(
    actor: &Actor<'_>,
    marker: Option<&str>,
    dry_run: bool,
    tally: &mut Tally,
) -> Result<(), AwsError> {
    let Some(deny_arn) = actor.deny_policy_arn.clone() else {
        return Ok(());
    };
    let mut targets = Vec::new();
    for (name, tags) in sagemaker_roles(actor).await? {
        if Actor::marked(marker, DENIED_BY_TAG, &tags) {
            targets.push(Candidate { arn: role_arn(actor, &name).await?, tags, active: true });
        }
    }
    actor
        .execute(DETACH, targets, dry_run, ResultKind::Done, tally, |target| {
            let name = target.arn.rsplit('/').next().unwrap_or_default().to_owned();
            let deny_arn = deny_arn.clone();
            async move {
                let iam = &actor.clients.iam;
                match iam
                    .detach_role_policy()
                    .role_name(&name)
                    .policy_arn(&deny_arn)
                    .send()
                    .await
                    .aws("DetachRolePolicy")
                {
                    Ok(_) => {}
                    Err(err) if err.is_not_found() => {}
                    Err(err) => return Err(err),
                }
                iam.untag_role().role_name(&name).tag_keys(DENIED_BY_TAG).send().await.aws("UntagRole")?;
                Ok(ResultKind::Done)
            }
        })
        .await;
    Ok(())
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
}
