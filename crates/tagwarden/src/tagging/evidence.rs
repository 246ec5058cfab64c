//! Evidence of who made a resource and what started it, taken only from what its caller could not write.
//!
//! Studio's `sagemaker:user-profile-arn`, `sagemaker:space-arn` and `sagemaker:domain-arn` and a pipeline
//! step's `sagemaker:pipeline-execution-arn` are tags, and tags are what a caller passes in a create
//! request. AWS reserves the `aws:` prefix for itself, but documents no refusal of caller-supplied
//! `sagemaker:` keys (its own guides tell users to apply them by hand outside Studio; `docs/references.md`),
//! so Tagwarden does not depend on one. A key is *contested* when the create request of a person or tool
//! carried it, or when nothing recorded the creation (the sweep, a tamper restore); a key on the resource
//! that a recorded request did not carry, or that SageMaker itself sent (`invokedBy:
//! sagemaker.amazonaws.com`, written by CloudTrail, not the caller), is SageMaker's own.
//! - A contested Studio claim counts only as far as the acting role confirms it: the profile when the role
//!   is that profile's own execution role (not one its domain gives every user), the domain when the role
//!   is one of the domain's execution roles, a space never (every space runs as the domain's space role).
//! - A pipeline is a parent only when its key is not a person's claim and the acting role is the
//!   pipeline's own role.
//! - A Studio `sourceIdentity` names a profile only when the session's role is an execution role of that
//!   profile or of its domain (a role whose trust policy allows `sts:SetSourceIdentity` could otherwise
//!   pick any profile's name; the guardrails deny that action to everyone but SageMaker).
//!
//! Each confirmation is one `Describe*` call per profile, domain or pipeline, cached across warm events.

use std::collections::BTreeSet;

use super::Tags;
use super::apply::AutoTagger;
use super::{Provenance, Subject};
use crate::aws::{AwsError, ResultExt};
use crate::identity::{
    Creator, CreatorKind, PIPELINE_EXECUTION_TAG, Principal, STUDIO_DOMAIN_TAG, STUDIO_PROFILE_TAG, STUDIO_SPACE_TAG,
    Via,
};
use crate::resource::SageMakerArn;

/// The CloudTrail `invokedBy` of calls SageMaker itself made.
pub(crate) const SAGEMAKER_SERVICE: &str = "sagemaker.amazonaws.com";

/// The Studio keys read as evidence of the creator's profile, space and domain.
const STUDIO_KEYS: [&str; 3] = [STUDIO_PROFILE_TAG, STUDIO_SPACE_TAG, STUDIO_DOMAIN_TAG];

/// The system keys a resource carries, and which of them are contested (a person's or tool's request
/// carried them, or nothing recorded the creation). Pure.
pub(crate) fn claims(subject: &Subject, existing: &Tags) -> (Tags, BTreeSet<&'static str>) {
    let mut claims = Tags::new();
    let mut contested = BTreeSet::new();
    for key in STUDIO_KEYS.into_iter().chain([PIPELINE_EXECUTION_TAG]) {
        let Some(value) = existing.get(key) else { continue };
        claims.insert(key.to_owned(), value.clone());
        let is_contested = match subject.provenance {
            Provenance::SageMaker => false,
            Provenance::Caller => subject.request_tags.contains_key(key),
            Provenance::Unrecorded => true,
        };
        if is_contested {
            contested.insert(key);
        }
    }
    (claims, contested)
}

/// The Studio domain id a resource's Studio tags name (the domain's tag, else the profile's or space's).
fn claimed_domain(claims: &Tags) -> Option<String> {
    let from_domain = claims.get(STUDIO_DOMAIN_TAG).and_then(|arn| SageMakerArn::parse(arn)).map(|a| a.path);
    from_domain.or_else(|| {
        [STUDIO_PROFILE_TAG, STUDIO_SPACE_TAG].into_iter().find_map(|key| {
            let parsed = SageMakerArn::parse(claims.get(key)?)?;
            parsed.path.split_once('/').map(|(domain, _)| domain.to_owned())
        })
    })
}

/// The role a creator acted as (the session's role, or the resource's execution role for the sweep).
fn acting_role(creator: &Creator) -> Option<&str> {
    match &creator.principal {
        Some(Principal::Role { arn, .. }) => Some(arn),
        _ => None,
    }
}

/// `(account, role name)` of a role ARN, whatever its path: role names are unique in an account.
fn role_key(arn: &str) -> Option<(&str, &str)> {
    let (head, resource) = arn.split_once(":role/")?;
    let account = head.rsplit(':').next()?;
    Some((account, resource.rsplit('/').next()?))
}

/// Whether two role ARNs name the same role.
fn same_role(a: &str, b: &str) -> bool {
    role_key(a).is_some_and(|k| Some(k) == role_key(b))
}

impl AutoTagger {
    /// The resource's system tags that count as evidence ([module docs](self)); each claim dropped is a
    /// warning.
    pub(super) async fn evidence(
        &self,
        subject: &Subject,
        existing: &Tags,
        warnings: &mut Vec<String>,
    ) -> Result<Tags, AwsError> {
        let (mut claims, contested) = claims(subject, existing);
        let role = acting_role(&subject.creator);
        if STUDIO_KEYS.iter().any(|key| contested.contains(key)) {
            self.confirm_studio(&mut claims, &contested, role, warnings).await?;
        }
        if let Some(execution) = claims.get(PIPELINE_EXECUTION_TAG).cloned() {
            let by_a_person = subject.provenance == Provenance::Caller && contested.contains(PIPELINE_EXECUTION_TAG);
            let pipeline = execution.split_once("/execution/").map(|(pipeline, _)| pipeline);
            let pipeline_role = match (by_a_person, pipeline) {
                (false, Some(pipeline)) => self.pipeline_role(pipeline, warnings).await?,
                _ => None,
            };
            let confirmed = matches!((role, pipeline_role.as_deref()), (Some(a), Some(b)) if same_role(a, b));
            if by_a_person {
                warnings.push(format!(
                    "{PIPELINE_EXECUTION_TAG} came with the create request of a person or tool: a claim, not used"
                ));
            } else if !confirmed {
                warnings.push(format!(
                    "{PIPELINE_EXECUTION_TAG} not used: the acting role ({}) is not the pipeline's own role ({})",
                    role.unwrap_or("none"),
                    pipeline_role.as_deref().unwrap_or("unknown")
                ));
            }
            if by_a_person || !confirmed {
                claims.remove(PIPELINE_EXECUTION_TAG);
            }
        }
        Ok(claims)
    }

    /// Keeps of the contested Studio claims what the acting role confirms: the profile for its own role,
    /// the domain for any of its roles, never a space; SageMaker's own keys stay as they are.
    async fn confirm_studio(
        &self,
        claims: &mut Tags,
        contested: &BTreeSet<&'static str>,
        role: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Result<(), AwsError> {
        let profile_arn = claims.get(STUDIO_PROFILE_TAG).and_then(|arn| SageMakerArn::parse(arn));
        let profile = profile_arn.as_ref().and_then(|a| a.path.split_once('/').map(|(_, name)| name.to_owned()));
        let domain = claimed_domain(claims);
        let (mut profile_ok, mut domain_ok) = (false, false);
        if let (Some(domain), Some(role)) = (&domain, role) {
            let defaults = self.domain_roles(domain, warnings).await?;
            let own = match &profile {
                Some(name) => self.describe_profile(domain, name, warnings).await?.1,
                None => None,
            };
            let is_default = |r: &str| defaults.iter().any(|d| same_role(d, r));
            profile_ok = own.as_deref().is_some_and(|own| same_role(own, role) && !is_default(own));
            domain_ok = profile_ok || is_default(role) || own.as_deref().is_some_and(|own| same_role(own, role));
        }
        profile_ok |= !contested.contains(STUDIO_PROFILE_TAG);
        domain_ok |= !contested.contains(STUDIO_DOMAIN_TAG) && claims.contains_key(STUDIO_DOMAIN_TAG);
        let what = "not recorded as SageMaker's own (a caller's request carried it, or nothing recorded the creation)";
        if contested.contains(STUDIO_SPACE_TAG) && claims.remove(STUDIO_SPACE_TAG).is_some() {
            warnings.push(format!("{STUDIO_SPACE_TAG} {what}: not used, every space runs as the same role"));
        }
        if !profile_ok && claims.remove(STUDIO_PROFILE_TAG).is_some() {
            warnings.push(format!(
                "{STUDIO_PROFILE_TAG} {what}: not used, the acting role ({}) is not that profile's own execution role",
                role.unwrap_or("none")
            ));
        }
        if !domain_ok && claims.remove(STUDIO_DOMAIN_TAG).is_some() {
            warnings.push(format!(
                "{STUDIO_DOMAIN_TAG} {what}: not used, the acting role ({}) is not an execution role of that domain",
                role.unwrap_or("none")
            ));
        }
        // NOTE: a confirmed domain named only inside a dropped profile's ARN stays known under its own key.
        if domain_ok
            && !claims.contains_key(STUDIO_DOMAIN_TAG)
            && let (Some(domain), Some(arn)) = (domain, profile_arn)
        {
            claims.insert(STUDIO_DOMAIN_TAG.to_owned(), arn.scope().domain(&domain).to_string());
        }
        Ok(())
    }

    /// A Studio creator named by a `sourceIdentity`, kept only when the session's role is an execution
    /// role of that profile or its domain; otherwise the role names the creator, with a warning.
    pub(super) async fn confirm_source_identity(
        &self,
        creator: Creator,
        warnings: &mut Vec<String>,
    ) -> Result<Creator, AwsError> {
        if creator.kind != CreatorKind::StudioUserProfile || creator.via != Via::SourceIdentity {
            return Ok(creator);
        }
        let Some(profile) = creator.profile.as_ref() else {
            return Ok(creator);
        };
        let role = acting_role(&creator).unwrap_or("none");
        let confirmed = match &profile.domain_id {
            Some(domain) => self.is_studio_role(domain, Some(&profile.name), role, warnings).await?,
            None => false,
        };
        if confirmed {
            return Ok(creator);
        }
        warnings.push(format!(
            "sourceIdentity {:?} not used: the session's role {role} is not an execution role of that user profile \
             or its domain",
            profile.name
        ));
        Ok(creator.as_role())
    }

    /// Whether `role` is the execution role of the profile (when named) or a default one of the domain.
    async fn is_studio_role(
        &self,
        domain: &str,
        profile: Option<&str>,
        role: &str,
        warnings: &mut Vec<String>,
    ) -> Result<bool, AwsError> {
        let mut roles = self.domain_roles(domain, warnings).await?;
        if let Some(profile) = profile {
            roles.extend(self.describe_profile(domain, profile, warnings).await?.1);
        }
        Ok(roles.iter().any(|r| same_role(r, role)))
    }

    /// The domain's default execution roles for users and for spaces, cached.
    async fn domain_roles(&self, domain: &str, warnings: &mut Vec<String>) -> Result<Vec<String>, AwsError> {
        let (users, spaces) = (format!("domain-user-role:{domain}"), format!("domain-space-role:{domain}"));
        if let (Some(user), Some(space)) = (self.lookups.get(&users), self.lookups.get(&spaces)) {
            return Ok(user.into_iter().chain(space).collect());
        }
        let described = self.clients.sagemaker.describe_domain().domain_id(domain).send().await.aws("DescribeDomain");
        let (user, space) = match described {
            Ok(out) => (
                out.default_user_settings().and_then(|s| s.execution_role()).map(str::to_owned),
                out.default_space_settings().and_then(|s| s.execution_role()).map(str::to_owned),
            ),
            Err(err) => (super::sources::soft(err, warnings, &format!("domain {domain}"))?, None),
        };
        self.lookups.insert(users, user.clone());
        self.lookups.insert(spaces, space.clone());
        Ok(user.into_iter().chain(space).collect())
    }

    /// The pipeline's own role (`DescribePipeline` -> `RoleArn`), cached.
    async fn pipeline_role(&self, pipeline_arn: &str, warnings: &mut Vec<String>) -> Result<Option<String>, AwsError> {
        let key = format!("pipeline-role:{pipeline_arn}");
        if let Some(hit) = self.lookups.get(&key) {
            return Ok(hit);
        }
        let Some(name) = SageMakerArn::parse(pipeline_arn).map(|a| a.path) else {
            return Ok(None);
        };
        let described =
            self.clients.sagemaker.describe_pipeline().pipeline_name(&name).send().await.aws("DescribePipeline");
        let role = match described {
            Ok(out) => out.role_arn().map(str::to_owned),
            Err(err) => super::sources::soft(err, warnings, &format!("pipeline {name}"))?,
        };
        self.lookups.insert(key, role.clone());
        Ok(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::kind_for_arn_type;

    const PROFILE: &str = "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc/alice";
    const EXECUTION: &str = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/nightly/execution/q8x2";

    fn job(provenance: Provenance, request: &[(&str, &str)]) -> Subject {
        let kind = kind_for_arn_type("training-job").unwrap();
        let arn = SageMakerArn::parse("arn:aws:sagemaker:us-east-1:123456789012:training-job/j").unwrap();
        let mut subject = Subject::for_resource(kind, arn, None);
        subject.provenance = provenance;
        subject.request_tags = request.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        subject
    }

    fn on_resource() -> Tags {
        [(STUDIO_PROFILE_TAG, PROFILE), (PIPELINE_EXECUTION_TAG, EXECUTION), ("team", "fraud")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn a_system_tag_from_a_persons_create_request_is_contested() {
        let subject = job(Provenance::Caller, &[(STUDIO_PROFILE_TAG, PROFILE)]);
        let (claims, contested) = claims(&subject, &on_resource());
        assert_eq!(claims.len(), 2, "both read: {claims:?}");
        assert_eq!(contested.into_iter().collect::<Vec<_>>(), [STUDIO_PROFILE_TAG], "not in the request: SageMaker's");
    }

    #[test]
    fn system_tags_in_a_request_sagemaker_itself_made_are_not_contested() {
        let subject = job(Provenance::SageMaker, &[(PIPELINE_EXECUTION_TAG, EXECUTION)]);
        let (claims, contested) = claims(&subject, &on_resource());
        assert_eq!(claims.get(PIPELINE_EXECUTION_TAG).map(String::as_str), Some(EXECUTION));
        assert!(contested.is_empty());
    }

    #[test]
    fn without_a_create_record_every_system_tag_is_contested_and_only_system_keys_are_read() {
        let (claims, contested) = claims(&job(Provenance::Unrecorded, &[]), &on_resource());
        assert!(!claims.contains_key("team"));
        assert_eq!(contested.len(), 2);
    }

    #[test]
    fn the_claimed_domain_comes_from_the_domain_tag_or_the_profile_path() {
        let mut claims = Tags::new();
        claims.insert(STUDIO_PROFILE_TAG.into(), PROFILE.into());
        assert_eq!(claimed_domain(&claims).as_deref(), Some("d-abc"));
        claims.insert(STUDIO_DOMAIN_TAG.into(), "arn:aws:sagemaker:us-east-1:123456789012:domain/d-xyz".into());
        assert_eq!(claimed_domain(&claims).as_deref(), Some("d-xyz"));
    }

    #[test]
    fn roles_are_the_same_by_account_and_name_whatever_the_path() {
        assert!(same_role(
            "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-1",
            "arn:aws:iam::123456789012:role/AmazonSageMaker-ExecutionRole-1"
        ));
        assert!(!same_role("arn:aws:iam::123456789012:role/a", "arn:aws:iam::210987654321:role/a"));
        assert!(!same_role("arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:user/a"));
    }
}
