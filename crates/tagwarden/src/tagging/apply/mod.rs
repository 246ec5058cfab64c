//! The auto-tagger's side effects: read the resource's tags and its sources' tags, write the plan.
//!
//! Cost per event: `ListTags` on the resource and, when something changes, one `AddTags`. Source tags
//! (profiles, spaces, domains, roles, users, parents) are read by ARN or name, never by listing a whole
//! resource type, and cached across warm invocations.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use tracing::{info, warn};

// NOTE: the shared tag calls live in `calls`; their old paths (`tagging::apply::list_tags`, …) stay.
pub(super) use super::calls::user_tags;
pub use super::calls::{add_tags, list_tags, role_tags};
use super::plan::tuning_job_name;
use super::plan::{SourceLayer, TagPlan, TagSources, Tags, plan_tags};
use super::profiles::ProfileDeletion;
use super::reserved::{self, ReservedWrite, reserved_writes};
use super::tamper::{TagChange, identity_key, principal_key};
use super::{CreateCall, Outcome, Provenance, Report, RetryableError, Subject, TagOptions, TaggerSettings};
use crate::aws::{AwsError, Clients, ResultExt};
use crate::cache::TtlCache;
use crate::identity::{
    Creator, CreatorKind, PIPELINE_EXECUTION_TAG, Principal, ProfileRef, STUDIO_DOMAIN_TAG, STUDIO_PROFILE_TAG,
    STUDIO_SPACE_TAG, Via,
};
use crate::notice::{Notice, Severity};
use crate::policy::{Policy, SourceKind};
use crate::resource::{Owner, ParentLookup, Studio};
use crate::telemetry::clip;

/// The auto-tagger: policy, clients and caches, built once per process.
#[derive(Debug)]
pub struct AutoTagger {
    pub(super) clients: Clients,
    policy: Arc<Policy>,
    /// Tags of source resources and principals, by ARN.
    pub(super) tags: TtlCache<Option<Tags>>,
    /// Name lookups: a profile's domain, a profile's ARN, a space's owner, the job that launched a job.
    pub(super) lookups: TtlCache<Option<String>>,
    /// Principals whose tag changes are Tagwarden's own ([`principal_key`] form).
    trusted: BTreeSet<String>,
    /// The principal these clients act as, asked of STS at the first tag change.
    own_principal: tokio::sync::OnceCell<Option<String>>,
    /// The last known values of the tag sources ([`super::tamper`]), when a ledger is configured.
    pub(super) ledger: Option<crate::enforce::ledger::LedgerTable>,
    /// Whether this tagger's account owns the profile budgets ([`super::profiles`]): not a member account's.
    pub(super) profile_budgets: bool,
}

impl AutoTagger {
    /// An auto-tagger with these clients, policy and cache settings.
    pub fn new(clients: Clients, policy: Arc<Policy>, settings: &TaggerSettings) -> Self {
        Self {
            clients,
            policy,
            tags: TtlCache::new(settings.cache_ttl, settings.cache_capacity),
            lookups: TtlCache::new(settings.cache_ttl, settings.cache_capacity),
            trusted: settings.trusted_principals.iter().filter_map(|arn| principal_key(arn)).collect(),
            own_principal: tokio::sync::OnceCell::new(),
            ledger: settings.ledger.clone(),
            profile_budgets: true,
        }
    }

    /// This tagger with profile budgets kept (`true`, the default) or not (a member account's tagger).
    pub fn with_profile_budgets(mut self, keep: bool) -> Self {
        self.profile_budgets = keep;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Handles one EventBridge event: the Lambda handler's whole body.
    ///
    /// A create call is tagged; an `AddTags`/`DeleteTags` call that changed a protected key is undone
    /// ([`super::tamper`]); a user profile's creation and deletion keep its budgets ([`super::profiles`]). `Ok` for everything that retrying will not change (tagged, restored, unchanged,
    /// skipped, failed); `Err` only for throttling and outages, so that Lambda retries the event.
    pub async fn handle(&self, event: &Value) -> Result<Outcome, RetryableError> {
        let (result, arn) = if TagChange::is_tag_change(event) {
            match TagChange::from_event(event) {
                Err(skip) => (Ok(Outcome::Skipped(skip)), String::new()),
                Ok(change) => (self.guard(&change).await, change.arn.to_string()),
            }
        } else if ProfileDeletion::is_profile_deletion(event) {
            match ProfileDeletion::from_event(event) {
                Err(skip) => (Ok(Outcome::Skipped(skip)), String::new()),
                Ok(deletion) => (self.profile_deleted(&deletion).await, deletion.arn.to_string()),
            }
        } else {
            match CreateCall::from_event(event) {
                Err(skip) => (Ok(Outcome::Skipped(skip)), String::new()),
                Ok(call) => {
                    let tagged = match self.tag_create(&call).await {
                        Ok(outcome) => self.profile_created(&call, outcome).await,
                        Err(err) => Err(err),
                    };
                    let tagged = match tagged {
                        Ok(mut outcome) => {
                            self.keep_studio_idle(call.kind, &call.arn, false, &mut outcome).await.map(|()| outcome)
                        }
                        Err(err) => Err(err),
                    };
                    (tagged, call.arn_string())
                }
            }
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(err) if err.is_retryable() => {
                warn!(resource_arn = %clip(&arn), error = %clip(&err.to_string()), "retryable failure; the event will be retried");
                return Err(err.into());
            }
            Err(err) => Outcome::Failed { reason: err.to_string(), resource_arn: arn },
        };
        log_outcome(&outcome);
        Ok(outcome)
    }

    /// The create path: tags the new resource, then removes the reserved `tagwarden:` keys its request
    /// wrote if its creator is not Tagwarden ([`super::reserved`]).
    async fn tag_create(&self, call: &CreateCall) -> Result<Outcome, AwsError> {
        let mut outcome = self.tag_event(&call.subject_under(&self.policy.tags)).await?;
        if let Outcome::Tagged(report) | Outcome::Unchanged(report) = &mut outcome {
            report.resource_name = call.name_if_not_in_arn().map(str::to_owned);
        } else {
            return Ok(outcome);
        }
        let write = ReservedWrite {
            kind: call.kind,
            arn: &call.arn,
            event_name: call.event_name(),
            written: reserved_writes(&call.call.request_tags()),
            writer_key: identity_key(call.call.user_identity.as_ref()),
            writer_arn: call.call.user_identity.as_ref().and_then(|i| i.arn.as_deref()),
            event_id: call.event_id.as_deref(),
        };
        Ok(match self.strip_reserved(&write).await? {
            Some(removal) => reserved::merge(outcome, removal),
            None => outcome,
        })
    }

    /// Undoes a tag change that touched protected keys: re-plans the resource as if those keys were
    /// absent and writes back only them. Changes made by Tagwarden's own principals are left alone. An
    /// `AddTags` of reserved `tagwarden:` keys by anyone else is undone too ([`super::reserved`]).
    async fn guard(&self, change: &TagChange) -> Result<Outcome, AwsError> {
        let arn = change.arn.to_string();
        let skip = |reason: String| Outcome::skipped(reason, Some(change.event_name()), Some(&arn));
        let write = ReservedWrite {
            kind: change.kind,
            arn: &change.arn,
            event_name: change.event_name(),
            written: reserved_writes(&change.written),
            writer_key: change.actor_key(),
            writer_arn: change.actor_arn(),
            event_id: change.event_id.as_deref(),
        };
        let removal = if self.other_region(&Subject::for_resource(change.kind, change.arn.clone(), None)).is_none() {
            self.strip_reserved(&write).await?
        } else {
            None
        };
        let keys = change.protected_keys(&self.policy.tags);
        if keys.is_empty() {
            return Ok(match removal {
                Some(report) => Outcome::Restored(report),
                None => skip("no protected key changed".into()),
            });
        }
        if let Some(actor) = change.actor_key()
            && self.is_self(&actor).await?
        {
            return Ok(skip(format!("changed by Tagwarden itself ({actor})")));
        }
        let mut subject = Subject::for_resource(change.kind, change.arn.clone(), change.event_id.clone());
        if let Some(skip) = self.other_region(&subject) {
            return Ok(skip);
        }
        // NOTE: as for the sweep, the resource's execution role is what confirms its Studio and pipeline
        // tags ([`super::evidence`]), and its tags are the `principal` source.
        let role = crate::sweep::Lister::new(self.clients.clone()).execution_role(change.kind, &change.arn).await?;
        subject.creator = Creator::unknown(Via::NoUserIdentity, role.as_deref());
        // NOTE: a source (domain, profile, space) gets its last recorded value back, not its domain's.
        let outcome = if change.kind.tag_source {
            self.repair_source(change, &subject, &keys).await?
        } else {
            self.tag_keys(&subject, TagOptions::default(), Some(&keys)).await?
        };
        let changed_by = change.actor_arn().unwrap_or("an unknown principal").to_owned();
        let outcome = match outcome {
            Outcome::Tagged(mut report) => {
                report.event_name = change.event_name().to_owned();
                report.changed_by = Some(changed_by);
                self.notify_restore(&mut report, change.event_id.as_deref()).await?;
                Outcome::Restored(report)
            }
            Outcome::Unchanged(mut report) => {
                report.event_name = change.event_name().to_owned();
                for key in keys.iter().filter(|k| report.missing_required.contains(k)) {
                    report.warnings.push(format!("{key}: no source has a value, so the change by {changed_by} stays"));
                }
                report.changed_by = Some(changed_by);
                Outcome::Unchanged(report)
            }
            other => other,
        };
        Ok(match (removal, outcome) {
            (Some(removal), Outcome::Unchanged(report)) => reserved::merge(Outcome::Restored(report), removal),
            (Some(removal), outcome) => reserved::merge(outcome, removal),
            (None, outcome) => outcome,
        })
    }

    /// Whether `actor` (a [`principal_key`]) is Tagwarden: a configured trusted principal, or the
    /// principal these clients act as (asked of STS once per process).
    pub(super) async fn is_self(&self, actor: &str) -> Result<bool, AwsError> {
        if self.trusted.contains(actor) {
            return Ok(true);
        }
        let own = self
            .own_principal
            .get_or_try_init(|| async {
                match self.clients.sts.get_caller_identity().send().await.aws("GetCallerIdentity") {
                    Ok(out) => Ok(out.arn().and_then(principal_key)),
                    Err(err) if err.is_retryable() => Err(err),
                    Err(err) => {
                        warn!(error = %clip(&err.to_string()), "cannot tell which principal this function acts as");
                        Ok(None)
                    }
                }
            })
            .await?;
        Ok(own.as_deref() == Some(actor))
    }

    /// A resource in another region than the clients': that region's deployment handles it.
    fn other_region(&self, subject: &Subject) -> Option<Outcome> {
        let region = self.clients.region()?;
        (region != subject.arn.region).then(|| {
            Outcome::skipped(
                format!("resource is in {}, this function acts in {region}", subject.arn.region),
                Some(subject.kind.create_event),
                Some(&subject.arn.to_string()),
            )
        })
    }

    /// The event path: a resource in this function's region is tagged by the policy.
    async fn tag_event(&self, subject: &Subject) -> Result<Outcome, AwsError> {
        match self.other_region(subject) {
            Some(skip) => Ok(skip),
            None => self.tag_resource(subject, TagOptions::default()).await,
        }
    }

    /// Tags one resource by the policy: reads its tags and its sources, plans, and writes the difference.
    ///
    /// The single entry point of the event path ([`Self::handle`]) and of the sweep. `Err` only for
    /// AWS failures; a resource that vanished is a skip.
    pub async fn tag_resource(&self, subject: &Subject, options: TagOptions) -> Result<Outcome, AwsError> {
        self.tag_keys(subject, options, None).await
    }

    /// [`Self::tag_resource`]; with `only`, re-plans just those keys as if the resource lacked them (what a
    /// tamper restore needs) and writes nothing else.
    pub(super) async fn tag_keys(
        &self,
        subject: &Subject,
        options: TagOptions,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Outcome, AwsError> {
        let arn = subject.arn.to_string();
        let event_name = Some(subject.kind.create_event);
        let existing = match list_tags(&self.clients, &arn).await {
            Ok(tags) => tags,
            Err(err) if err.is_not_found() => {
                return Ok(Outcome::skipped("resource no longer exists", event_name, Some(&arn)));
            }
            Err(err) => return Err(err),
        };

        let mut warnings = Vec::new();
        let evidence = self.evidence(subject, &existing, &mut warnings).await?;
        let creator = self.creator(subject, &evidence, &mut warnings).await?;
        let parent = self.parent(subject, &evidence, &mut warnings).await?;
        if creator.kind == CreatorKind::Service && parent.is_none() {
            return Ok(Outcome::skipped(
                format!("started by {} and no parent resource was found to inherit tags from", creator.name),
                event_name,
                Some(&arn),
            ));
        }
        let sources = self.sources(subject, &evidence, &creator, parent.as_ref(), &mut warnings).await?;
        let is_source = subject.kind.tag_source;
        let plan = if let Some(keys) = only {
            let mut without = existing.clone();
            without.retain(|key, _| !keys.contains(key));
            plan_tags(&without, &sources, &self.policy.tags).restricted_to(keys, &existing)
        } else if options.keep_source_values && is_source {
            // NOTE: an existing profile's cost center is what its owner's resources are billed to; the
            // domain's value must not overwrite it.
            let mut policy = self.policy.tags.clone();
            policy.keys.iter_mut().for_each(|rule| rule.protected = false);
            plan_tags(&existing, &sources, &policy)
        } else {
            plan_tags(&existing, &sources, &self.policy.tags)
        };
        let seen = (is_source && only.is_none() && !options.dry_run)
            .then(|| super::tamper::protected_values_after(&existing, &plan, &self.policy.tags));
        let parent = parent.map(|p| p.origin);
        let outcome = self.write(subject, &arn, &existing, creator, parent, plan, warnings, options).await?;
        match seen {
            Some(values) => self.remember_source(&arn, values, options.keep_source_values, outcome).await,
            None => Ok(outcome),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn write(
        &self,
        subject: &Subject,
        arn: &str,
        existing: &Tags,
        creator: Creator,
        parent_arn: Option<String>,
        plan: TagPlan,
        mut warnings: Vec<String>,
        options: TagOptions,
    ) -> Result<Outcome, AwsError> {
        if !plan.add.is_empty() && !options.dry_run {
            match add_tags(&self.clients, arn, &plan.add).await {
                Ok(()) => {}
                Err(err) if err.is_not_found() => {
                    return Ok(Outcome::skipped(
                        "resource deleted before it could be tagged",
                        Some(subject.kind.create_event),
                        Some(arn),
                    ));
                }
                Err(err) => return Err(err),
            }
        }
        if !plan.remove.is_empty() && !options.dry_run {
            // NOTE: after AddTags, so a failure here never leaves the resource without the canonical key.
            self.clients
                .sagemaker
                .delete_tags()
                .resource_arn(arn)
                .set_tag_keys(Some(plan.remove.clone()))
                .send()
                .await
                .aws("DeleteTags")?;
        }
        warnings.extend(plan.warnings);
        let mut report = Report {
            resource_arn: arn.to_owned(),
            resource_type: subject.kind.arn_type,
            event_name: subject.kind.create_event.to_owned(),
            creator,
            parent_arn,
            added: plan.add,
            removed: plan.remove,
            origins: plan.origins,
            missing_required: plan.missing_required,
            notified: false,
            warnings,
            changed_by: None,
            resource_name: None,
            budgets: Vec::new(),
            idle: None,
        };
        if !report.missing_required.is_empty() && options.notify && !options.dry_run {
            let mut carries = existing.clone();
            carries.extend(report.added.clone());
            self.notify(&mut report, &carries, subject.event_id.as_deref()).await?;
        }
        Ok(if report.added.is_empty() && report.removed.is_empty() {
            Outcome::Unchanged(report)
        } else {
            Outcome::Tagged(report)
        })
    }

    /// Publishes one non-compliance notification, routed by the tags the resource now `carries`; a missing
    /// or refused topic is a warning, not a failure.
    async fn notify(&self, report: &mut Report, carries: &Tags, event_id: Option<&str>) -> Result<(), AwsError> {
        let name = report.resource_arn.rsplit('/').next().unwrap_or_default();
        let subject = format!("Tagwarden: {} {name} is missing required tags", report.resource_type);
        let missing = report.missing_required.join(", ");
        let mut description = format!(
            "{} `{}`, created by {}, has no valid value for: **{missing}**.\n",
            report.resource_type, report.resource_arn, report.creator.name
        );
        if !report.added.is_empty() {
            description.push_str(&format!("Tagwarden wrote: {}.\n", pairs(&report.added)));
        }
        let mut notice = Notice::new("non-compliant", Severity::Warning, subject, description);
        notice.route_by_tags(carries).account_of_arn(&report.resource_arn);
        notice
            .step(format!("Tag it: {missing} (or give its creator's user profile or role these tags)"))
            .detail("missing_required", missing.clone())
            .detail("creator", report.creator.name.clone())
            .detail("event_id", event_id.unwrap_or_default());
        notice.resources.push(report.resource_arn.clone());
        self.publish(report, &notice).await
    }

    /// Publishes one notice that protected tags were changed and put back.
    async fn notify_restore(&self, report: &mut Report, event_id: Option<&str>) -> Result<(), AwsError> {
        let name = report.resource_arn.rsplit('/').next().unwrap_or_default();
        let subject = format!("Tagwarden: protected tags of {} {name} restored", report.resource_type);
        let changed_by = report.changed_by.clone().unwrap_or_default();
        let description = format!(
            "{} `{}`: {} changed protected tags ({}); Tagwarden put back {}.\n",
            report.resource_type,
            report.resource_arn,
            changed_by,
            report.event_name,
            pairs(&report.added)
        );
        let mut notice = Notice::new("tags-restored", Severity::Warning, subject, description);
        notice.route_by_tags(&report.added).account_of_arn(&report.resource_arn);
        notice
            .step("Protected tags change on their sources (user profile, domain, role), by an admin of the policy")
            .detail("changed_by", changed_by)
            .detail("event_name", report.event_name.clone())
            .detail("event_id", event_id.unwrap_or_default());
        notice.resources.push(report.resource_arn.clone());
        self.publish(report, &notice).await
    }

    /// One notice to the policy's topic, if there is one; only a retryable failure is an error.
    pub(super) async fn publish(&self, report: &mut Report, notice: &Notice) -> Result<(), AwsError> {
        let Some(topic) = self.policy.tags.notify_topic_arn.as_deref() else {
            return Ok(());
        };
        match crate::notice::publish(&self.clients.sns, topic, notice).await {
            Ok(()) => report.notified = true,
            Err(err) if err.is_retryable() => return Err(err),
            Err(err) => report.warnings.push(format!("notification not sent: {err}")),
        }
        Ok(())
    }

    /// The creator from the event, refined by Studio's own tags (the [`evidence`](super::evidence) among
    /// them) and the request's owner fields; a Studio `sourceIdentity` is confirmed by the session's role.
    async fn creator(
        &self,
        subject: &Subject,
        evidence: &Tags,
        warnings: &mut Vec<String>,
    ) -> Result<Creator, AwsError> {
        let mut creator = subject.creator.clone().from_studio_tags(
            evidence.get(STUDIO_PROFILE_TAG).map(String::as_str),
            evidence.get(STUDIO_DOMAIN_TAG).map(String::as_str),
        );
        let domain_id = self.domain_id(subject, evidence, &creator);
        // Apps and spaces name their owning profile (in the request, or in the listing for the sweep).
        let owner = match subject.owner_profile.clone() {
            Some(owner) => Some(owner),
            None => match self.space_arn(subject, evidence) {
                Some(space_arn) => self.space_owner(&space_arn, warnings).await?.map(|n| (n, Via::SpaceOwner)),
                None => None,
            },
        };
        if let Some((name, via)) = owner {
            creator = creator.with_owner_profile(ProfileRef { name, domain_id: domain_id.clone(), arn: None }, via);
        }
        if let Some(profile) = creator.profile.as_mut()
            && profile.domain_id.is_none()
        {
            profile.domain_id = match domain_id {
                Some(id) => Some(id),
                None => self.profile_domain(&profile.name, warnings).await?,
            };
        }
        self.confirm_source_identity(creator, warnings).await
    }

    /// The domain id from the request, Studio's domain tag (`evidence`) or the creator's profile.
    fn domain_id(&self, subject: &Subject, evidence: &Tags, creator: &Creator) -> Option<String> {
        if subject.kind.studio == Studio::Domain {
            return None;
        }
        subject
            .domain_id
            .clone()
            .or_else(|| {
                let arn = evidence.get(STUDIO_DOMAIN_TAG)?;
                crate::resource::SageMakerArn::parse(arn).map(|a| a.path)
            })
            .or_else(|| creator.profile.as_ref()?.domain_id.clone())
    }

    fn space_arn(&self, subject: &Subject, evidence: &Tags) -> Option<String> {
        if let Some(arn) = evidence.get(STUDIO_SPACE_TAG) {
            return Some(arn.clone());
        }
        let space = subject.space_name.as_deref().filter(|_| subject.kind.owner == Owner::App)?;
        let domain = subject.domain_id.as_deref()?;
        Some(subject.arn.scope().space(domain, space).to_string())
    }

    /// Work started by SageMaker itself: the pipeline of a step job, or the tuning, AutoML or labeling
    /// job that launched a job, as the job's own description names it.
    ///
    /// The description is asked only when SageMaker may have started the job ([`may_have_a_launcher`]): a
    /// job a person created gets that person's tags, whatever its name, and costs no extra call.
    async fn parent(
        &self,
        subject: &Subject,
        evidence: &Tags,
        warnings: &mut Vec<String>,
    ) -> Result<Option<SourceLayer>, AwsError> {
        let pipeline = evidence
            .get(PIPELINE_EXECUTION_TAG)
            .and_then(|execution| execution.split_once("/execution/"))
            .map(|(pipeline, _)| pipeline.to_owned());
        let parent_arn = match (pipeline, subject.kind.parent) {
            (Some(arn), _) => Some(arn),
            (None, Some(lookup)) if may_have_a_launcher(subject) => {
                self.launcher_arn(lookup, &subject.arn, warnings).await?
            }
            (None, _) => None,
        };
        let Some(parent_arn) = parent_arn else {
            return Ok(None);
        };
        Ok(self.tags_of(&parent_arn, warnings).await?.map(|tags| SourceLayer {
            kind: SourceKind::Parent,
            origin: parent_arn,
            tags,
        }))
    }

    /// Reads the sources the policy names, in its order.
    async fn sources(
        &self,
        subject: &Subject,
        evidence: &Tags,
        creator: &Creator,
        parent: Option<&SourceLayer>,
        warnings: &mut Vec<String>,
    ) -> Result<TagSources, AwsError> {
        let mut layers = Vec::new();
        for kind in &self.policy.tags.sources {
            let origin = match kind {
                SourceKind::Parent => {
                    layers.extend(parent.cloned());
                    continue;
                }
                SourceKind::Defaults => continue,
                SourceKind::UserProfile => self.profile_arn(creator, warnings).await?,
                SourceKind::Space => self.space_arn(subject, evidence),
                SourceKind::Domain => {
                    self.domain_id(subject, evidence, creator).map(|id| subject.arn.scope().domain(&id).to_string())
                }
                SourceKind::Principal => match &creator.principal {
                    Some(principal) => {
                        if let Some(tags) = self.principal_tags(principal, warnings).await? {
                            let arn = match principal {
                                Principal::Role { arn, .. } | Principal::User { arn, .. } => arn.clone(),
                            };
                            layers.push(SourceLayer { kind: *kind, origin: arn, tags });
                        }
                        continue;
                    }
                    None => None,
                },
            };
            // A resource is not its own source (e.g. the profile a CreateUserProfile event made).
            if let Some(origin) = origin.filter(|o| *o != subject.arn.to_string())
                && let Some(tags) = self.tags_of(&origin, warnings).await?
            {
                layers.push(SourceLayer { kind: *kind, origin, tags });
            }
        }
        Ok(TagSources {
            layers,
            creator: Some(creator.name.clone()).filter(|_| creator.kind != CreatorKind::Unknown),
            requested: subject.request_tags.clone(),
        })
    }
}

fn log_outcome(outcome: &Outcome) {
    match outcome {
        Outcome::Tagged(r) | Outcome::Restored(r) | Outcome::Unchanged(r) => info!(
            outcome = outcome.label(),
            resource_arn = %clip(&r.resource_arn),
            creator = %clip(&r.creator.name),
            added = r.added.len(),
            missing_required = ?r.missing_required,
            "handled"
        ),
        Outcome::Skipped(skip) => info!(outcome = "skipped", reason = %clip(&skip.reason), "handled"),
        Outcome::ProfileBudgets(r) => info!(
            outcome = "profile-budgets",
            resource_arn = %clip(&r.resource_arn),
            budgets = ?r.budgets,
            "handled"
        ),
        Outcome::Failed { reason, resource_arn } => {
            warn!(outcome = "failed", resource_arn = %clip(resource_arn), reason = %clip(reason), "handled")
        }
    }
}

/// Whether SageMaker itself may have started this job, so that its description is worth asking for the
/// job that launched it.
///
/// From an event: only when CloudTrail says SageMaker made the call (`invokedBy` `sagemaker.amazonaws.com`,
/// which no caller can write: [`Provenance::SageMaker`]). Without an event (the sweep, a tamper restore):
/// only training jobs named like a tuning job's children (`<tuning-job>-NNN-<8 hex>`), a cheap filter
/// before the description, which alone decides.
pub(crate) fn may_have_a_launcher(subject: &Subject) -> bool {
    match subject.provenance {
        Provenance::SageMaker => true,
        Provenance::Caller => false,
        Provenance::Unrecorded => {
            subject.kind.parent == Some(ParentLookup::TrainingJob) && tuning_job_name(subject.arn.name()).is_some()
        }
    }
}

/// `k=v, k=v` for people.
pub(super) fn pairs(tags: &Tags) -> String {
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
