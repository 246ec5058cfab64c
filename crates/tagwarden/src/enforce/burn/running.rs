//! What runs in a burn rule's scope, described for [`estimate`](super::estimate): in the central account, or
//! in every (account, region) of the organization the member role reaches, each part with its place.
//! One list call per kind and place (status-filtered), the scope resolved as the actions resolve it, and
//! one describe per resource where the list does not give the instance type and count.

use std::collections::{HashMap, HashSet};

use aws_sdk_sagemaker::types::{
    AppStatus, ClusterStatus, EndpointStatus, InferenceComponentStatus, NotebookInstanceStatus, ProcessingJobStatus,
    TrainingJobStatus, TransformJobStatus,
};

use super::{Running, RunningKind};
use crate::aws::{AwsError, ResultExt};
use crate::enforce::actor::{Actor, running};
use crate::enforce::apply::BudgetEnforcer;
use crate::enforce::ledger::Place;
use crate::enforce::scope::ResolvedScope;

impl BudgetEnforcer {
    /// What runs in `scope`, and notes on what was not looked at: the central account (single-account
    /// deployment), or every (account, region) of the organization the member role reaches, each part with
    /// its place. An account it does not reach, or a member place whose listing was refused, is a note (the
    /// estimate is then a lower bound); a failure at home or a retryable one is the error.
    pub(crate) async fn running_in(&self, scope: &ResolvedScope) -> Result<(Vec<Running>, Vec<String>), AwsError> {
        if self.pool.is_none() {
            return Ok((running_at(&self.central_actor(), scope).await?, Vec::new()));
        }
        let (places, unreachable) = self.reachable_places().await?;
        let mut notes: Vec<String> = unreachable.into_iter().map(|why| format!("not estimated: {why}")).collect();
        let home = self.region_account().await?.to_owned();
        let mut found = Vec::new();
        for (account, regions) in places {
            for region in regions {
                let actor = self.actor(&account, &region);
                match running_at(&actor, scope).await {
                    Ok(parts) => found.extend(parts.into_iter().map(|mut part| {
                        part.place = Some(Place { account: account.clone(), region: region.clone() });
                        part
                    })),
                    Err(err) if err.is_retryable() || home == format!("{region}:{account}") => return Err(err),
                    Err(err) => notes.push(format!("account {account} region {region} not estimated: {err}")),
                }
            }
        }
        Ok((found, notes))
    }
}

/// What runs in `scope` where `actor` acts.
async fn running_at(actor: &Actor<'_>, scope: &ResolvedScope) -> Result<Vec<Running>, AwsError> {
    let mut found = Vec::new();
    notebooks(actor, scope, &mut found).await?;
    endpoints(actor, scope, &mut found).await?;
    jobs(actor, scope, &mut found).await?;
    studio_apps(actor, scope, &mut found).await?;
    components(actor, scope, &mut found).await?;
    clusters(actor, scope, &mut found).await?;
    Ok(found)
}

/// The running ones among `listed` (ARN, name) that are in scope, by lower-cased ARN → (ARN, name).
async fn in_scope(
    actor: &Actor<'_>,
    scope: &ResolvedScope,
    tagging_type: &str,
    listed: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, AwsError> {
    let (candidates, names) = actor.candidates(scope, tagging_type, &listed).await?;
    let mut out: Vec<(String, String)> = candidates
        .into_iter()
        .filter(|c| c.active)
        .filter_map(|c| names.get(&c.arn.to_ascii_lowercase()).map(|name| (c.arn, name.clone())))
        .collect();
    out.sort();
    Ok(out)
}

async fn notebooks(actor: &Actor<'_>, scope: &ResolvedScope, found: &mut Vec<Running>) -> Result<(), AwsError> {
    let mut types = HashMap::new();
    let mut listed = Vec::new();
    let request = actor.clients.sagemaker.list_notebook_instances().status_equals(NotebookInstanceStatus::InService);
    let mut pages = request.max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for nb in page.aws("ListNotebookInstances")?.notebook_instances() {
            let (Some(arn), Some(name)) = (nb.notebook_instance_arn(), nb.notebook_instance_name()) else { continue };
            types.insert(arn.to_ascii_lowercase(), nb.instance_type().map(|t| t.as_str().to_owned()));
            listed.push((arn.to_owned(), name.to_owned()));
        }
    }
    for (arn, _) in in_scope(actor, scope, "sagemaker:notebook-instance", listed).await? {
        let instance_type = types.get(&arn.to_ascii_lowercase()).cloned().flatten();
        found.push(Running {
            arn,
            kind: RunningKind::NotebookInstance,
            instance_type,
            count: 1,
            note: None,
            place: None,
        });
    }
    Ok(())
}

async fn endpoints(actor: &Actor<'_>, scope: &ResolvedScope, found: &mut Vec<Running>) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let request = sm.list_endpoints().status_equals(EndpointStatus::InService);
    let listed = running!(request, "ListEndpoints", endpoints, endpoint_arn, endpoint_name);
    for (arn, name) in in_scope(actor, scope, "sagemaker:endpoint", listed).await? {
        let endpoint = match sm.describe_endpoint().endpoint_name(&name).send().await.aws("DescribeEndpoint") {
            Ok(out) => out,
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err),
        };
        let mut types = HashMap::new();
        if let Some(config) = endpoint.endpoint_config_name() {
            match sm.describe_endpoint_config().endpoint_config_name(config).send().await.aws("DescribeEndpointConfig")
            {
                Ok(out) => {
                    for v in out.production_variants() {
                        let name = v.variant_name().unwrap_or_default().to_owned();
                        types.insert(name, v.instance_type().map(|t| t.as_str().to_owned()));
                    }
                }
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err),
            }
        }
        for variant in endpoint.production_variants() {
            let name = variant.variant_name().unwrap_or_default();
            let serverless = variant.current_serverless_config().is_some();
            let instance_type = types.get(name).cloned().flatten();
            let note = (serverless || instance_type.is_none())
                .then(|| "serverless: billed per request, no hourly price".to_owned());
            found.push(Running {
                arn: format!("{arn}#{name}"),
                kind: RunningKind::EndpointVariant,
                instance_type: if serverless { None } else { instance_type },
                count: variant.current_instance_count().unwrap_or_default(),
                note,
                place: None,
            });
        }
    }
    Ok(())
}

async fn jobs(actor: &Actor<'_>, scope: &ResolvedScope, found: &mut Vec<Running>) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let request = sm.list_training_jobs().status_equals(TrainingJobStatus::InProgress);
    let listed = running!(request, "ListTrainingJobs", training_job_summaries, training_job_arn, training_job_name);
    for (arn, name) in in_scope(actor, scope, "sagemaker:training-job", listed).await? {
        let job = match sm.describe_training_job().training_job_name(&name).send().await.aws("DescribeTrainingJob") {
            Ok(out) => out,
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err),
        };
        let Some(resources) = job.resource_config() else { continue };
        if resources.instance_groups().is_empty() {
            let instance_type = resources.instance_type().map(|t| t.as_str().to_owned());
            let count = resources.instance_count().unwrap_or(1);
            found.push(Running { arn, kind: RunningKind::TrainingJob, instance_type, count, note: None, place: None });
        } else {
            for group in resources.instance_groups() {
                found.push(Running {
                    arn: format!("{arn}#{}", group.instance_group_name().unwrap_or_default()),
                    kind: RunningKind::TrainingJob,
                    instance_type: group.instance_type().map(|t| t.as_str().to_owned()),
                    count: group.instance_count().unwrap_or(1),
                    note: None,
                    place: None,
                });
            }
        }
    }
    let request = sm.list_processing_jobs().status_equals(ProcessingJobStatus::InProgress);
    let listed =
        running!(request, "ListProcessingJobs", processing_job_summaries, processing_job_arn, processing_job_name);
    for (arn, name) in in_scope(actor, scope, "sagemaker:processing-job", listed).await? {
        let job =
            match sm.describe_processing_job().processing_job_name(&name).send().await.aws("DescribeProcessingJob") {
                Ok(out) => out,
                Err(err) if err.is_not_found() => continue,
                Err(err) => return Err(err),
            };
        let Some(cluster) = job.processing_resources().and_then(|r| r.cluster_config()) else { continue };
        let instance_type = cluster.instance_type().map(|t| t.as_str().to_owned());
        let count = cluster.instance_count().unwrap_or(1);
        found.push(Running { arn, kind: RunningKind::ProcessingJob, instance_type, count, note: None, place: None });
    }
    let request = sm.list_transform_jobs().status_equals(TransformJobStatus::InProgress);
    let listed = running!(request, "ListTransformJobs", transform_job_summaries, transform_job_arn, transform_job_name);
    for (arn, name) in in_scope(actor, scope, "sagemaker:transform-job", listed).await? {
        let job = match sm.describe_transform_job().transform_job_name(&name).send().await.aws("DescribeTransformJob") {
            Ok(out) => out,
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err),
        };
        let Some(resources) = job.transform_resources() else { continue };
        let instance_type = resources.instance_type().map(|t| t.as_str().to_owned());
        let count = resources.instance_count().unwrap_or(1);
        found.push(Running { arn, kind: RunningKind::TransformJob, instance_type, count, note: None, place: None });
    }
    Ok(())
}

async fn studio_apps(actor: &Actor<'_>, scope: &ResolvedScope, found: &mut Vec<Running>) -> Result<(), AwsError> {
    let mut listed = Vec::new();
    let mut types = HashMap::new();
    let region_account = actor.region_account().await?;
    let (region, account) = region_account.split_once(':').unwrap_or_default();
    let place = crate::resource::ArnScope::new(region, account);
    let owners = actor.in_scope(scope, &["sagemaker:app", "sagemaker:user-profile", "sagemaker:space"]).await?;
    let mut pages = actor.clients.sagemaker.list_apps().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for app in page.aws("ListApps")?.apps() {
            if app.status() != Some(&AppStatus::InService) {
                continue;
            }
            let (Some(domain), Some(app_type), Some(name)) = (app.domain_id(), app.app_type(), app.app_name()) else {
                continue;
            };
            let Some(owner) = crate::resource::AppOwner::of(app.user_profile_name(), app.space_name()) else {
                continue;
            };
            let arn = place.app(domain, owner, app_type.as_str(), name).to_string();
            let owner_arn = place.app_owner(domain, owner).to_string();
            let in_scope = match &owners {
                None => true,
                Some(found) => {
                    found.contains_key(&arn.to_ascii_lowercase()) || found.contains_key(&owner_arn.to_ascii_lowercase())
                }
            };
            if in_scope {
                let instance_type = app.resource_spec().and_then(|s| s.instance_type()).map(|t| t.as_str().to_owned());
                types.insert(arn.clone(), instance_type);
                listed.push(arn);
            }
        }
    }
    for arn in listed {
        let instance_type = types.remove(&arn).flatten();
        let note =
            instance_type.is_none().then(|| "no instance type (a system app): not billed by the hour".to_owned());
        let count = i32::from(instance_type.is_some());
        found.push(Running { arn, kind: RunningKind::StudioApp, instance_type, count, note, place: None });
    }
    Ok(())
}

async fn components(actor: &Actor<'_>, scope: &ResolvedScope, found: &mut Vec<Running>) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let request = sm.list_inference_components().status_equals(InferenceComponentStatus::InService);
    let listed = running!(
        request,
        "ListInferenceComponents",
        inference_components,
        inference_component_arn,
        inference_component_name
    );
    let endpoints: HashSet<String> = found
        .iter()
        .filter(|r| r.kind == RunningKind::EndpointVariant)
        .filter_map(|r| r.arn.split('#').next().map(str::to_ascii_lowercase))
        .collect();
    for (arn, name) in in_scope(actor, scope, "sagemaker:inference-component", listed).await? {
        let component = match sm
            .describe_inference_component()
            .inference_component_name(&name)
            .send()
            .await
            .aws("DescribeInferenceComponent")
        {
            Ok(out) => out,
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err),
        };
        let copies = component.runtime_config().and_then(|c| c.current_copy_count()).unwrap_or_default();
        let endpoint = component.endpoint_arn().unwrap_or(component.endpoint_name().unwrap_or_default());
        let note = if endpoints.contains(&endpoint.to_ascii_lowercase()) {
            format!("runs on endpoint {}: its instances are counted there", component.endpoint_name().unwrap_or("?"))
        } else {
            format!(
                "runs on endpoint {}, which is not in scope: its share of that endpoint's instances is not counted",
                component.endpoint_name().unwrap_or("?")
            )
        };
        let instance_type = None;
        found.push(Running {
            arn,
            kind: RunningKind::InferenceComponent,
            instance_type,
            count: copies,
            note: Some(note),
            place: None,
        });
    }
    Ok(())
}

async fn clusters(actor: &Actor<'_>, scope: &ResolvedScope, found: &mut Vec<Running>) -> Result<(), AwsError> {
    let sm = &actor.clients.sagemaker;
    let mut listed = Vec::new();
    let mut pages = sm.list_clusters().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for cluster in page.aws("ListClusters")?.cluster_summaries() {
            if cluster.cluster_status() != Some(&ClusterStatus::Inservice) {
                continue;
            }
            if let (Some(arn), Some(name)) = (cluster.cluster_arn(), cluster.cluster_name()) {
                listed.push((arn.to_owned(), name.to_owned()));
            }
        }
    }
    for (arn, name) in in_scope(actor, scope, "sagemaker:cluster", listed).await? {
        let cluster = match sm.describe_cluster().cluster_name(&name).send().await.aws("DescribeCluster") {
            Ok(out) => out,
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err),
        };
        for group in cluster.instance_groups() {
            found.push(Running {
                arn: format!("{arn}#{}", group.instance_group_name().unwrap_or_default()),
                kind: RunningKind::ClusterInstanceGroup,
                instance_type: group.instance_type().map(|t| t.as_str().to_owned()),
                count: group.current_count().unwrap_or_default(),
                note: None,
                place: None,
            });
        }
    }
    Ok(())
}
