//! The enforcer acting in one (account, region): the helpers every action family shares — find in-scope
//! resources through the tagging API, select targets (exemption, state, safety cap), run the calls with
//! bounded concurrency, paced under throttling by the place's [`Pacer`], into the [`Tally`], write and remove marker tags (hints for people) — and the dispatch
//! of a plan's actions through the [`ACTIONS`](super::ACTIONS) table.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_resourcegroupstagging::types::TagFilter;
use aws_sdk_sagemaker::types::Tag;
use futures::stream::{self, StreamExt};
use tracing::info;

use super::apply::BudgetEnforcer;
use super::ledger::Journal;
use super::plan::{Candidate, EnforcementPlan, select_within};
use super::report::{ActionResult, ResultKind, Tally};
use super::scope::ResolvedScope;
use super::{ACTIONS, Context};
use crate::aws::{AwsError, Clients, ResultExt};
use crate::event::budget::BudgetAlert;
use crate::pace::Pacer;
use crate::policy::{BudgetRule, Policy};
use crate::tagging::Tags;

/// Every (ARN, name) a paginated SageMaker list call returns: `running!(request, "Op", items, arn, name)`.
macro_rules! running {
    ($request:expr, $operation:literal, $items:ident, $arn:ident, $name:ident) => {{
        let mut found: Vec<(String, String)> = Vec::new();
        let mut pages = $request.max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            for item in page.aws($operation)?.$items() {
                if let (Some(arn), Some(name)) = (item.$arn(), item.$name()) {
                    found.push((arn.to_owned(), name.to_owned()));
                }
            }
        }
        found
    }};
}
pub(crate) use running;

/// The enforcer acting in one (account, region): that place's clients (the member role's, through the
/// organization's [`ClientPool`](crate::org::ClientPool), or the central account's own) and what the
/// actions need there.
pub(crate) struct Actor<'a> {
    /// This place's clients.
    pub(crate) clients: Clients,
    /// The policy.
    pub(crate) policy: &'a Policy,
    /// The account acted in (empty for the single-account deployment: read lazily).
    pub(crate) account: String,
    /// The region acted in (empty for the single-account deployment: read lazily).
    pub(crate) region: String,
    /// The deny policy of this account (the configured ARN with the account swapped in).
    pub(crate) deny_policy_arn: Option<String>,
    /// The instance-types deny policy of this account (the configured ARN with the account swapped in).
    pub(crate) deny_instance_types_policy_arn: Option<String>,
    /// The single-account enforcer, whose account and region are read lazily (`account`/`region` unset).
    pub(crate) central: Option<&'a BudgetEnforcer>,
    /// This place's adaptive limiters, one per action (operation family), shared by every action of the
    /// invocation here; they start at the policy's `concurrency`.
    pub(crate) pace: Pacer,
}

impl Actor<'_> {
    /// Carries out the plan's actions in table order of the plan, recording each resource's result.
    pub(crate) async fn act(
        &self,
        rule: &BudgetRule,
        scope: &ResolvedScope,
        alert: &BudgetAlert,
        plan: &EnforcementPlan,
        journal: Option<&Journal<'_>>,
        tally: &mut Tally,
    ) -> Result<(), AwsError> {
        let cx = Context { rule, scope, alert, dry_run: plan.dry_run, journal };
        for action in &plan.actions {
            if tally.out_of_time() {
                break;
            }
            let Some(row) = ACTIONS.iter().find(|row| row.action() == *action) else {
                // NOTE: impossible while every policy action has a row (a test checks it); refuse, never guess.
                tally.results.push(ActionResult::new(
                    &action.to_string(),
                    "-",
                    ResultKind::failed("no enforcement is implemented for this action"),
                ));
                continue;
            };
            if plan.dry_run {
                info!(action = %action, would = %row.describe(rule), "dry run");
            }
            row.act(self, &cx, tally).await?;
        }
        Ok(())
    }

    /// In-scope resources of these tagging types, by lower-cased ARN; every resource for account scope
    /// is not listed here (the list calls find them) and `None` is returned.
    pub(crate) async fn in_scope(
        &self,
        scope: &ResolvedScope,
        types: &[&str],
    ) -> Result<Option<HashMap<String, (String, Tags)>>, AwsError> {
        let ResolvedScope::Tags(groups) = scope else {
            return Ok(None);
        };
        let mut found = HashMap::new();
        for group in groups {
            let filters: Vec<TagFilter> =
                group.iter().map(|(k, vs)| TagFilter::builder().key(k).set_values(Some(vs.clone())).build()).collect();
            self.get_resources(filters, types, &mut found).await?;
        }
        Ok(Some(found))
    }

    async fn get_resources(
        &self,
        filters: Vec<TagFilter>,
        types: &[&str],
        found: &mut HashMap<String, (String, Tags)>,
    ) -> Result<(), AwsError> {
        let types = types.iter().map(|t| (*t).to_owned()).collect();
        let mut pages = self
            .clients
            .tagging
            .get_resources()
            .set_tag_filters(Some(filters))
            .set_resource_type_filters(Some(types))
            .resources_per_page(100)
            .tags_per_page(500)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for mapping in page.aws("GetResources")?.resource_tag_mapping_list() {
                let Some(arn) = mapping.resource_arn() else { continue };
                let tags = mapping.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                found.insert(arn.to_ascii_lowercase(), (arn.to_owned(), tags));
            }
        }
        Ok(())
    }

    /// Tags of known ARNs (100 per call), for the exemption check under account scope.
    async fn tags_of(&self, arns: &[String]) -> Result<HashMap<String, Tags>, AwsError> {
        let mut found = HashMap::new();
        for chunk in arns.chunks(100) {
            // NOTE: ResourceARNList cannot be combined with ResourcesPerPage or filters.
            let mut pages = self
                .clients
                .tagging
                .get_resources()
                .set_resource_arn_list(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for mapping in page.aws("GetResources")?.resource_tag_mapping_list() {
                    let Some(arn) = mapping.resource_arn() else {
                        continue;
                    };
                    let tags = mapping.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                    found.insert(arn.to_ascii_lowercase(), tags);
                }
            }
        }
        Ok(found)
    }

    /// Candidates from the running resources (ARN, name) and the in-scope set: in-scope resources that are
    /// not running are inactive candidates; running ones outside the scope are not candidates. Also returns
    /// the running resources' names by lower-cased ARN.
    pub(crate) async fn candidates(
        &self,
        scope: &ResolvedScope,
        tagging_type: &str,
        running: &[(String, String)],
    ) -> Result<(Vec<Candidate>, HashMap<String, String>), AwsError> {
        let names: HashMap<String, String> =
            running.iter().map(|(arn, name)| (arn.to_ascii_lowercase(), name.clone())).collect();
        let candidates = match self.in_scope(scope, &[tagging_type]).await? {
            Some(in_scope) => in_scope
                .into_values()
                .map(|(arn, tags)| Candidate { active: names.contains_key(&arn.to_ascii_lowercase()), arn, tags })
                .collect(),
            None => {
                let arns: Vec<String> = running.iter().map(|(arn, _)| arn.clone()).collect();
                let tags = self.tags_of(&arns).await?;
                arns.into_iter()
                    .map(|arn| Candidate {
                        tags: tags.get(&arn.to_ascii_lowercase()).cloned().unwrap_or_default(),
                        active: true,
                        arn,
                    })
                    .collect()
            }
        };
        Ok((candidates, names))
    }

    /// The targets among `candidates`; the others are recorded (exempt, `inactive`, capped).
    pub(crate) fn select(
        &self,
        action: &str,
        candidates: Vec<Candidate>,
        inactive: ResultKind,
        tally: &mut Tally,
    ) -> Vec<Candidate> {
        self.select_capped(action, action, candidates, inactive, tally)
    }

    /// [`Actor::select`] with the safety cap counted under `cap_key` (e.g. one per job kind).
    pub(crate) fn select_capped(
        &self,
        action: &str,
        cap_key: &str,
        candidates: Vec<Candidate>,
        inactive: ResultKind,
        tally: &mut Tally,
    ) -> Vec<Candidate> {
        let budgets = &self.policy.budgets;
        let candidates = match &tally.planned {
            // NOTE: a plan acts on exactly what it listed when it was approved (or its grace began).
            Some(planned) => {
                let (kept, spared): (Vec<Candidate>, Vec<Candidate>) = candidates
                    .into_iter()
                    .partition(|c| planned.contains(&(action.to_owned(), c.arn.to_ascii_lowercase())));
                let spared = spared.into_iter().map(|c| ActionResult::new(action, &c.arn, ResultKind::NotInPlan));
                tally.results.extend(spared);
                kept
            }
            None => candidates,
        };
        let used = tally.selected.get(cap_key).copied().unwrap_or_default();
        let cap = budgets.max_resources_per_action;
        let today = budgets.exemption_day();
        let mut selection = select_within(action, candidates, &budgets.exemptions, &today, inactive.clone(), cap, used);
        if tally.later_part {
            // NOTE: a later part sees the earlier parts' work as inactive (thousands at estate scale); recording
            // it again made each part's tail grow with the parts before it, past the invocation's deadline.
            selection.settled.retain(|settled| settled.result != inactive);
        }
        *tally.selected.entry(cap_key.to_owned()).or_default() += selection.targets.len();
        if tally.deadline.is_some() {
            // NOTE: a target the deadline leaves unstarted gives its place under the cap back (see `execute`).
            tally.cap_keys.extend(selection.targets.iter().map(|t| (t.arn.clone(), cap_key.to_owned())));
        }
        tally.results.extend(selection.settled);
        selection.targets
    }

    /// Runs `op` on each target with bounded concurrency under `action`'s adaptive limiter (or records
    /// `dry-run`): a target throttled in the end is run again under the limiter; not-found is `gone`. Past the
    /// tally's deadline no new call starts, and the targets left are the continuation's.
    pub(crate) async fn execute<F, Fut>(
        &self,
        action: &str,
        targets: Vec<Candidate>,
        dry_run: bool,
        gone: ResultKind,
        tally: &mut Tally,
        op: F,
    ) where
        F: Fn(Candidate) -> Fut,
        Fut: Future<Output = Result<ResultKind, AwsError>>,
    {
        if dry_run {
            for target in targets {
                tally.results.push(ActionResult::new(action, &target.arn, ResultKind::DryRun));
            }
            return;
        }
        // NOTE: op is run again only after a throttle, which means it was not carried out; every op
        // records its ledger entry with a conditional put and checks state, so running it again acts once.
        let limiter = self.pace.limiter(action);
        let (limiter, op) = (&limiter, &op);
        // NOTE: past the deadline no new call starts (those in flight finish); the rest is a continuation's. A
        // part starts one round of calls (the concurrency) whatever the time, so that every part makes progress.
        let (deadline, round) = (tally.deadline, self.policy.budgets.concurrency);
        let first_round = tally.started < round;
        let in_time = |(i, _): &(usize, Candidate)| {
            let go = (first_round && *i < round) || deadline.is_none_or(|d| std::time::Instant::now() < d);
            std::future::ready(go)
        };
        let arns: Vec<String> = targets.iter().map(|t| t.arn.clone()).collect();
        let mut done: Vec<(String, Result<ResultKind, AwsError>)> = stream::iter(targets.into_iter().enumerate())
            .take_while(in_time)
            .map(|(_, target)| {
                let arn = target.arn.clone();
                async move { (arn, limiter.run(|| op(target.clone())).await) }
            })
            .buffer_unordered(self.policy.budgets.concurrency)
            .collect()
            .await;
        tally.started += done.len();
        if done.len() < arns.len() {
            tally.unfinished = true;
            let started: std::collections::HashSet<&str> = done.iter().map(|(arn, _)| arn.as_str()).collect();
            for arn in arns.iter().filter(|arn| !started.contains(arn.as_str())) {
                if let Some(used) = tally.cap_keys.get(arn).and_then(|key| tally.selected.get_mut(key)) {
                    *used = used.saturating_sub(1);
                }
            }
        }
        done.sort_by(|a, b| a.0.cmp(&b.0));
        for (arn, outcome) in done {
            tally.record(action, &arn, outcome, gone.clone());
        }
    }

    /// Writes Tagwarden's marker tags on a SageMaker resource.
    pub(crate) async fn mark(&self, arn: &str, tags: &[(&str, String)]) -> Result<(), AwsError> {
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(v).build()).collect();
        self.clients.sagemaker.add_tags().resource_arn(arn).set_tags(Some(tags)).send().await.aws("AddTags")?;
        Ok(())
    }

    /// Removes Tagwarden's marker tags from a SageMaker resource.
    pub(crate) async fn unmark(&self, arn: &str, keys: &[&str]) -> Result<(), AwsError> {
        let keys = keys.iter().map(|k| (*k).to_owned()).collect();
        self.clients
            .sagemaker
            .delete_tags()
            .resource_arn(arn)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .aws("DeleteTags")?;
        Ok(())
    }

    /// `<region>:<account>` this actor acts in.
    pub(crate) async fn region_account(&self) -> Result<String, AwsError> {
        match self.central {
            Some(enforcer) => enforcer.region_account().await.map(str::to_owned),
            None => Ok(format!("{}:{}", self.region, self.account)),
        }
    }
}
