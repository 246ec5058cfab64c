//! Reading the tag sources of a resource: user profiles, spaces, the jobs that launched a job, and the tags of source
//! resources and principals, each looked up by ARN or name and cached across warm invocations.
//!
//! In: what [`super::apply`] knows of a subject. Out: ARNs, names and tags, or a warning when a source
//! cannot be read (only a retryable failure is an error).

use super::Tags;
use super::apply::{AutoTagger, list_tags, role_tags, user_tags};
use crate::aws::{AwsError, ResultExt};
use crate::identity::{Creator, Principal};
use crate::resource::{ParentLookup, SageMakerArn};

impl AutoTagger {
    /// The creator's user profile ARN: from Studio's tag, or looked up by domain and name.
    pub(super) async fn profile_arn(
        &self,
        creator: &Creator,
        warnings: &mut Vec<String>,
    ) -> Result<Option<String>, AwsError> {
        let Some(profile) = &creator.profile else {
            return Ok(None);
        };
        if let Some(arn) = &profile.arn {
            return Ok(Some(arn.clone()));
        }
        let Some(domain) = &profile.domain_id else {
            return Ok(None);
        };
        Ok(self.describe_profile(domain, &profile.name, warnings).await?.0)
    }

    /// A profile's ARN and its own execution role, read with one `DescribeUserProfile` and each cached
    /// (the creator's profile source and the evidence that confirms a Studio claim ask the same call).
    pub(super) async fn describe_profile(
        &self,
        domain: &str,
        name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<(Option<String>, Option<String>), AwsError> {
        let (arn_key, role_key) = (format!("profile-arn:{domain}/{name}"), format!("profile-role:{domain}/{name}"));
        if let (Some(arn), Some(role)) = (self.lookups.get(&arn_key), self.lookups.get(&role_key)) {
            return Ok((arn, role));
        }
        let described = self
            .clients
            .sagemaker
            .describe_user_profile()
            .domain_id(domain)
            .user_profile_name(name)
            .send()
            .await
            .aws("DescribeUserProfile");
        let (arn, role) = match described {
            Ok(out) => (
                out.user_profile_arn().map(str::to_owned),
                out.user_settings().and_then(|s| s.execution_role()).map(str::to_owned),
            ),
            Err(err) => (soft(err, warnings, &format!("user profile {domain}/{name}"))?, None),
        };
        self.lookups.insert(arn_key, arn.clone());
        self.lookups.insert(role_key, role.clone());
        Ok((arn, role))
    }

    /// The domain holding a profile of this name, when exactly one does.
    pub(super) async fn profile_domain(
        &self,
        name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Option<String>, AwsError> {
        let key = format!("profile-domain:{name}");
        if let Some(hit) = self.lookups.get(&key) {
            return Ok(hit);
        }
        let mut pages =
            self.clients.sagemaker.list_user_profiles().user_profile_name_contains(name).into_paginator().send();
        let mut domains = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page.aws("ListUserProfiles") {
                Ok(page) => page,
                Err(err) => return soft(err, warnings, &format!("user profile {name}")),
            };
            domains.extend(
                page.user_profiles()
                    .iter()
                    .filter(|p| p.user_profile_name() == Some(name))
                    .filter_map(|p| p.domain_id().map(str::to_owned)),
            );
        }
        domains.sort();
        domains.dedup();
        let found = match domains.len() {
            1 => domains.pop(),
            0 => {
                warnings.push(format!("user profile {name}: not found in any domain"));
                None
            }
            n => {
                warnings.push(format!("user profile {name}: exists in {n} domains, not guessing which"));
                None
            }
        };
        self.lookups.insert(key, found.clone());
        Ok(found)
    }

    pub(super) async fn space_owner(
        &self,
        space_arn: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Option<String>, AwsError> {
        let key = format!("space-owner:{space_arn}");
        if let Some(hit) = self.lookups.get(&key) {
            return Ok(hit);
        }
        let Some((domain, space)) = SageMakerArn::parse(space_arn)
            .and_then(|a| a.path.split_once('/').map(|(d, s)| (d.to_owned(), s.to_owned())))
        else {
            return Ok(None);
        };
        let described = self
            .clients
            .sagemaker
            .describe_space()
            .domain_id(&domain)
            .space_name(&space)
            .send()
            .await
            .aws("DescribeSpace");
        let owner = match described {
            Ok(out) => out.ownership_settings().and_then(|o| o.owner_user_profile_name()).map(str::to_owned),
            Err(err) => soft(err, warnings, &format!("space {domain}/{space}"))?,
        };
        self.lookups.insert(key, owner.clone());
        Ok(owner)
    }

    /// The tuning, AutoML or labeling job that launched a job, as the job's own description names it
    /// (fields SageMaker writes, which no caller can set); cached by ARN.
    pub(super) async fn launcher_arn(
        &self,
        lookup: ParentLookup,
        job: &SageMakerArn,
        warnings: &mut Vec<String>,
    ) -> Result<Option<String>, AwsError> {
        let key = format!("launcher:{job}");
        if let Some(hit) = self.lookups.get(&key) {
            return Ok(hit);
        }
        let name = job.name();
        let sm = &self.clients.sagemaker;
        // NOTE: one arm per `ParentLookup`, exhaustive: a new lookup in the registry needs its call here.
        let described = match lookup {
            ParentLookup::TrainingJob => {
                sm.describe_training_job().training_job_name(name).send().await.aws("DescribeTrainingJob").map(|out| {
                    let launcher = out.tuning_job_arn().or(out.auto_ml_job_arn()).or(out.labeling_job_arn());
                    launcher.map(str::to_owned)
                })
            }
            ParentLookup::ProcessingJob => sm
                .describe_processing_job()
                .processing_job_name(name)
                .send()
                .await
                .aws("DescribeProcessingJob")
                .map(|out| out.auto_ml_job_arn().or(out.training_job_arn()).map(str::to_owned)),
            ParentLookup::TransformJob => sm
                .describe_transform_job()
                .transform_job_name(name)
                .send()
                .await
                .aws("DescribeTransformJob")
                .map(|out| out.auto_ml_job_arn().or(out.labeling_job_arn()).map(str::to_owned)),
        };
        let arn = match described {
            Ok(arn) => arn,
            Err(err) => soft(err, warnings, &format!("{} {name}", job.resource_type))?,
        };
        self.lookups.insert(key, arn.clone());
        Ok(arn)
    }

    /// Tags of a source resource by ARN, cached; `None` if it cannot be read (with a warning).
    pub(super) async fn tags_of(&self, arn: &str, warnings: &mut Vec<String>) -> Result<Option<Tags>, AwsError> {
        if let Some(hit) = self.tags.get(arn) {
            return Ok(hit);
        }
        let tags = match list_tags(&self.clients, arn).await {
            Ok(tags) => Some(tags),
            Err(err) => soft(err, warnings, arn)?,
        };
        self.tags.insert(arn.to_owned(), tags.clone());
        Ok(tags)
    }

    pub(super) async fn principal_tags(
        &self,
        principal: &Principal,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Tags>, AwsError> {
        let (key, arn) = match principal {
            Principal::Role { arn, .. } | Principal::User { arn, .. } => (arn.clone(), arn),
        };
        if let Some(hit) = self.tags.get(&key) {
            return Ok(hit);
        }
        let read = match principal {
            Principal::Role { name, .. } => role_tags(&self.clients, name).await,
            Principal::User { name, .. } => user_tags(&self.clients, name).await,
        };
        let tags = match read {
            Ok(tags) => Some(tags),
            Err(err) => soft(err, warnings, arn)?,
        };
        self.tags.insert(key, tags.clone());
        Ok(tags)
    }
}

/// A source that cannot be read is a warning, unless retrying may help.
pub(super) fn soft<T>(err: AwsError, warnings: &mut Vec<String>, what: &str) -> Result<Option<T>, AwsError> {
    if err.is_retryable() {
        return Err(err);
    }
    warnings.push(format!("{what}: not read ({err})"));
    Ok(None)
}
