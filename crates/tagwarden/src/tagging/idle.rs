//! The idle shutdown of Studio domains, user profiles and spaces, kept by the auto-tagger next to their
//! tags: on `CreateDomain`/`CreateUserProfile`/`CreateSpace` events and in the sweep (both call
//! [`AutoTagger::keep_studio_idle`] after tagging). The rule is the first `idle.studio` rule whose scope
//! matches the tags of the resource's *domain* ([`crate::studio_idle`]); the result goes in the report's `idle`.

use super::{AutoTagger, Outcome};
use crate::aws::AwsError;
use crate::policy::idle::studio::rule_for;
use crate::resource::{ResourceKind, SageMakerArn};
use crate::studio_idle::apply::{domain_arn, has_idle_settings, keep};
use crate::tagging::apply::list_tags;

impl AutoTagger {
    /// After a domain, profile or space was tagged (`outcome` tagged, unchanged or restored): checks its
    /// idle shutdown against its rule and, unless `dry_run`, sets it. `Err` only for AWS failures worth a
    /// retry or a failed `Describe*`; anything else is in the report.
    pub(crate) async fn keep_studio_idle(
        &self,
        kind: &'static ResourceKind,
        arn: &SageMakerArn,
        dry_run: bool,
        outcome: &mut Outcome,
    ) -> Result<(), AwsError> {
        let rules = &self.policy().idle.studio;
        if rules.is_empty() || !has_idle_settings(kind) {
            return Ok(());
        }
        let (Outcome::Tagged(report) | Outcome::Unchanged(report) | Outcome::Restored(report)) = outcome else {
            return Ok(());
        };
        let Some(domain) = domain_arn(kind, arn) else {
            return Ok(());
        };
        // NOTE: a domain's own tags were just written: read afresh; a profile's or space's domain is a tag
        // source already read (and cached) for its tags.
        let tags = if domain == report.resource_arn {
            match list_tags(&self.clients, &domain).await {
                Ok(tags) => Some(tags),
                Err(err) if err.is_not_found() => return Ok(()),
                Err(err) => return Err(err),
            }
        } else {
            self.tags_of(&domain, &mut report.warnings).await?
        };
        let Some(tags) = tags else {
            report.warnings.push(format!("idle shutdown not checked: the tags of domain {domain} cannot be read"));
            return Ok(());
        };
        let Some(rule) = rule_for(rules, &tags) else {
            return Ok(());
        };
        report.idle = keep(&self.clients.sagemaker, rule, kind, arn, dry_run).await?;
        Ok(())
    }
}
