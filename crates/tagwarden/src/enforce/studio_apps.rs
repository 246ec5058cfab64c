//! `delete-studio-apps`: delete running Studio apps that are in scope themselves or belong to an in-scope
//! user profile or space (user files survive on the domain's EFS). Not reversible: `restore` does nothing.

use std::collections::HashMap;

use aws_sdk_sagemaker::types::AppStatus;
use futures::future::BoxFuture;

use super::actor::Actor;
use super::plan::Candidate;
use super::report::ResultKind;
use super::report::Tally;
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};
use crate::resource::{AppOwner, ArnScope};
use crate::tagging::Tags;

/// The `delete-studio-apps` row.
pub(crate) struct DeleteStudioApps;

impl EnforcementAction for DeleteStudioApps {
    fn action(&self) -> Action {
        Action::DeleteStudioApps
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:app", "sagemaker:user-profile", "sagemaker:space"]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[("sagemaker:ListApps", Grant::Any), ("sagemaker:DeleteApp", Grant::SageMaker)]
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "delete running Studio apps in scope or of in-scope user profiles and spaces".to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(delete_apps(actor, cx, tally))
    }
}

async fn delete_apps(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let owners = actor.in_scope(cx.scope, DeleteStudioApps.resource_types()).await?;
    let mut apps = Vec::new();
    let mut pages = actor.clients.sagemaker.list_apps().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        apps.extend(page.aws("ListApps")?.apps().iter().cloned());
    }
    let mut candidates = Vec::new();
    let mut details = HashMap::new();
    let region_account = actor.region_account().await?;
    let (region, account) = region_account.split_once(':').unwrap_or_default();
    let place = ArnScope::new(region, account);
    for app in apps {
        let running = matches!(app.status(), Some(AppStatus::InService | AppStatus::Pending));
        let (Some(domain), Some(app_type), Some(name)) = (app.domain_id(), app.app_type(), app.app_name()) else {
            continue;
        };
        let Some(owner) = AppOwner::of(app.user_profile_name(), app.space_name()) else {
            continue;
        };
        let arn = place.app(domain, owner, app_type.as_str(), name).to_string();
        let owner_arn = place.app_owner(domain, owner).to_string();
        let tags = match &owners {
            None => Some(Tags::new()),
            Some(found) => {
                let own = found.get(&arn.to_ascii_lowercase()).map(|(_, t)| t);
                let owner_tags = found.get(&owner_arn.to_ascii_lowercase()).map(|(_, t)| t);
                match (own, owner_tags) {
                    (None, None) => None,
                    (a, b) => Some(a.into_iter().chain(b).flat_map(|t| t.clone()).collect()),
                }
            }
        };
        // NOTE: deleted apps stay listed for a while; they are neither candidates nor news.
        if let (Some(tags), true) = (tags, running) {
            details.insert(arn.clone(), app.clone());
            candidates.push(Candidate { arn, tags, active: true });
        }
    }
    let action = Action::DeleteStudioApps.to_string();
    let targets = actor.select(&action, candidates, ResultKind::AlreadyDeleted, tally);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let app = details.get(&target.arn).cloned();
            async move {
                let Some(app) = app else {
                    return Ok(ResultKind::failed("app details lost"));
                };
                actor
                    .clients
                    .sagemaker
                    .delete_app()
                    .set_domain_id(app.domain_id().map(str::to_owned))
                    .set_app_type(app.app_type().cloned())
                    .set_app_name(app.app_name().map(str::to_owned))
                    .set_user_profile_name(app.user_profile_name().map(str::to_owned))
                    .set_space_name(app.space_name().map(str::to_owned))
                    .send()
                    .await
                    .aws("DeleteApp")?;
                Ok(ResultKind::Done)
            }
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_arns_name_the_owner_in_the_app_path_and_follow_the_partition() {
        let place = ArnScope::new("us-east-1", "111111111111");
        let team = AppOwner::Space("team");
        assert_eq!(
            place.app("d-1", team, "JupyterLab", "default").to_string(),
            "arn:aws:sagemaker:us-east-1:111111111111:app/d-1/team/jupyterlab/default"
        );
        assert_eq!(place.app_owner("d-1", team).to_string(), "arn:aws:sagemaker:us-east-1:111111111111:space/d-1/team");
        let place = ArnScope::new("cn-north-1", "111111111111");
        let alice = AppOwner::UserProfile("alice");
        assert_eq!(
            place.app("d-1", alice, "KernelGateway", "k").to_string(),
            "arn:aws-cn:sagemaker:cn-north-1:111111111111:app/d-1/alice/kernelgateway/k"
        );
        assert_eq!(
            place.app_owner("d-1", alice).to_string(),
            "arn:aws-cn:sagemaker:cn-north-1:111111111111:user-profile/d-1/alice"
        );
    }
}
