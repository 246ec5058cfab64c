//! Listing the estate: one paginated `List*` call per resource kind, and the `Describe*` that names a
//! resource's execution role. Shared by the sweep and the audit.
//!
//! In: a [`ResourceKind`] and a `NextToken`. Out: a [`Page`] of [`Listed`] resources (ARN plus what the
//! listing says of their origin: domain, owning profile, space, role).

use std::collections::HashMap;

use aws_sdk_sagemaker::types::ModelPackageType;
use tokio::sync::Mutex;

use crate::aws::{AwsError, Clients, ResultExt};
use crate::resource::{ResourceKind, SageMakerArn};

/// Page size of every `List*` call (the largest SageMaker accepts).
pub const PAGE_SIZE: i32 = 100;

/// One resource as a `List*` call reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    /// Its ARN (built from the domain's ARN for profiles, spaces and apps, whose summaries carry none).
    pub arn: String,
    /// The Studio domain id, for profiles, spaces and apps.
    pub domain_id: Option<String>,
    /// The owning user profile: an app's profile, a private space's owner.
    pub owner_profile: Option<String>,
    /// An app's space.
    pub space_name: Option<String>,
    /// The execution role, when the summary names it (pipelines).
    pub role_arn: Option<String>,
    /// The status the summary reports (e.g. `Deleted` for an app), when it has one.
    pub status: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The resources on this page.
    pub items: Vec<Listed>,
    /// The token of the next page; `None` on the last.
    pub next_token: Option<String>,
}

/// Lists resources page by page; remembers the account's domain ARNs (profiles, spaces and apps
/// are listed without ARNs, which are built from their domain's).
#[derive(Debug)]
pub struct Lister {
    clients: Clients,
    domains: Mutex<Option<HashMap<String, SageMakerArn>>>,
}

macro_rules! arn_page {
    ($request:expr, $op:literal, $items:ident, $arn:ident, $status:expr) => {{
        let out = $request.max_results(PAGE_SIZE).send().await.aws($op)?;
        #[allow(clippy::redundant_closure_call)]
        let items = out
            .$items()
            .iter()
            .filter_map(|s| {
                let status: Option<String> = ($status)(s);
                Some(Listed { arn: s.$arn()?.to_owned(), status, ..Listed::default() })
            })
            .collect();
        Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
    }};
}

/// No status in the summary.
fn none<T>(_: &T) -> Option<String> {
    None
}

impl Lister {
    /// A lister using these clients.
    pub fn new(clients: Clients) -> Self {
        Self { clients, domains: Mutex::new(None) }
    }

    /// The clients it lists with.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// One page of resources of `kind`, starting at `token` (`None`: the first page).
    pub async fn page(&self, kind: &ResourceKind, token: Option<String>) -> Result<Page, AwsError> {
        let sm = &self.clients.sagemaker;
        match kind.arn_type {
            "training-job" => arn_page!(
                sm.list_training_jobs().set_next_token(token),
                "ListTrainingJobs",
                training_job_summaries,
                training_job_arn,
                none
            ),
            "processing-job" => arn_page!(
                sm.list_processing_jobs().set_next_token(token),
                "ListProcessingJobs",
                processing_job_summaries,
                processing_job_arn,
                none
            ),
            "transform-job" => arn_page!(
                sm.list_transform_jobs().set_next_token(token),
                "ListTransformJobs",
                transform_job_summaries,
                transform_job_arn,
                none
            ),
            "hyper-parameter-tuning-job" => arn_page!(
                sm.list_hyper_parameter_tuning_jobs().set_next_token(token),
                "ListHyperParameterTuningJobs",
                hyper_parameter_tuning_job_summaries,
                hyper_parameter_tuning_job_arn,
                none
            ),
            "notebook-instance" => arn_page!(
                sm.list_notebook_instances().set_next_token(token),
                "ListNotebookInstances",
                notebook_instances,
                notebook_instance_arn,
                none
            ),
            "endpoint" => {
                arn_page!(sm.list_endpoints().set_next_token(token), "ListEndpoints", endpoints, endpoint_arn, none)
            }
            "endpoint-config" => arn_page!(
                sm.list_endpoint_configs().set_next_token(token),
                "ListEndpointConfigs",
                endpoint_configs,
                endpoint_config_arn,
                none
            ),
            "model" => arn_page!(sm.list_models().set_next_token(token), "ListModels", models, model_arn, none),
            "pipeline" => {
                let out = sm
                    .list_pipelines()
                    .set_next_token(token)
                    .max_results(PAGE_SIZE)
                    .send()
                    .await
                    .aws("ListPipelines")?;
                let items = out
                    .pipeline_summaries()
                    .iter()
                    .filter_map(|s| {
                        Some(Listed {
                            arn: s.pipeline_arn()?.to_owned(),
                            role_arn: s.role_arn().map(str::to_owned),
                            ..Listed::default()
                        })
                    })
                    .collect();
                Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
            }
            "domain" => arn_page!(
                sm.list_domains().set_next_token(token),
                "ListDomains",
                domains,
                domain_arn,
                |s: &aws_sdk_sagemaker::types::DomainDetails| s.status().map(|s| s.as_str().to_owned())
            ),
            "user-profile" => {
                let out = sm
                    .list_user_profiles()
                    .set_next_token(token)
                    .max_results(PAGE_SIZE)
                    .send()
                    .await
                    .aws("ListUserProfiles")?;
                let mut items = Vec::new();
                for p in out.user_profiles() {
                    let (Some(domain), Some(name)) = (p.domain_id(), p.user_profile_name()) else { continue };
                    if let Some(arn) = self.studio_arn(domain, "user-profile", &format!("{domain}/{name}")).await? {
                        items.push(Listed {
                            arn,
                            domain_id: Some(domain.to_owned()),
                            owner_profile: Some(name.to_owned()),
                            status: p.status().map(|s| s.as_str().to_owned()),
                            ..Listed::default()
                        });
                    }
                }
                Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
            }
            "space" => {
                let out =
                    sm.list_spaces().set_next_token(token).max_results(PAGE_SIZE).send().await.aws("ListSpaces")?;
                let mut items = Vec::new();
                for s in out.spaces() {
                    let (Some(domain), Some(name)) = (s.domain_id(), s.space_name()) else { continue };
                    if let Some(arn) = self.studio_arn(domain, "space", &format!("{domain}/{name}")).await? {
                        items.push(Listed {
                            arn,
                            domain_id: Some(domain.to_owned()),
                            owner_profile: s
                                .ownership_settings_summary()
                                .and_then(|o| o.owner_user_profile_name())
                                .map(str::to_owned),
                            status: s.status().map(|s| s.as_str().to_owned()),
                            ..Listed::default()
                        });
                    }
                }
                Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
            }
            "app" => {
                let out = sm.list_apps().set_next_token(token).max_results(PAGE_SIZE).send().await.aws("ListApps")?;
                let mut items = Vec::new();
                for a in out.apps() {
                    let (Some(domain), Some(app_type), Some(name)) = (a.domain_id(), a.app_type(), a.app_name()) else {
                        continue;
                    };
                    let Some(owner) = a.user_profile_name().or(a.space_name()) else { continue };
                    let path = format!("{domain}/{owner}/{}/{name}", app_type.as_str().to_ascii_lowercase());
                    if let Some(arn) = self.studio_arn(domain, "app", &path).await? {
                        items.push(Listed {
                            arn,
                            domain_id: Some(domain.to_owned()),
                            owner_profile: a.user_profile_name().map(str::to_owned),
                            space_name: a.space_name().map(str::to_owned),
                            status: a.status().map(|s| s.as_str().to_owned()),
                            ..Listed::default()
                        });
                    }
                }
                Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
            }
            "labeling-job" => arn_page!(
                sm.list_labeling_jobs().set_next_token(token),
                "ListLabelingJobs",
                labeling_job_summary_list,
                labeling_job_arn,
                none
            ),
            "compilation-job" => arn_page!(
                sm.list_compilation_jobs().set_next_token(token),
                "ListCompilationJobs",
                compilation_job_summaries,
                compilation_job_arn,
                none
            ),
            "automl-job" => arn_page!(
                sm.list_auto_ml_jobs().set_next_token(token),
                "ListAutoMLJobs",
                auto_ml_job_summaries,
                auto_ml_job_arn,
                none
            ),
            // NOTE: only unversioned packages can be tagged; versioned ones are tagged through their group.
            "model-package" => arn_page!(
                sm.list_model_packages().model_package_type(ModelPackageType::Unversioned).set_next_token(token),
                "ListModelPackages",
                model_package_summary_list,
                model_package_arn,
                none
            ),
            "model-package-group" => arn_page!(
                sm.list_model_package_groups().set_next_token(token),
                "ListModelPackageGroups",
                model_package_group_summary_list,
                model_package_group_arn,
                none
            ),
            "inference-component" => arn_page!(
                sm.list_inference_components().set_next_token(token),
                "ListInferenceComponents",
                inference_components,
                inference_component_arn,
                none
            ),
            "experiment" => arn_page!(
                sm.list_experiments().set_next_token(token),
                "ListExperiments",
                experiment_summaries,
                experiment_arn,
                none
            ),
            "feature-group" => arn_page!(
                sm.list_feature_groups().set_next_token(token),
                "ListFeatureGroups",
                feature_group_summaries,
                feature_group_arn,
                none
            ),
            "monitoring-schedule" => arn_page!(
                sm.list_monitoring_schedules().set_next_token(token),
                "ListMonitoringSchedules",
                monitoring_schedule_summaries,
                monitoring_schedule_arn,
                none
            ),
            "cluster" => arn_page!(
                sm.list_clusters().set_next_token(token),
                "ListClusters",
                cluster_summaries,
                cluster_arn,
                none
            ),
            other => Err(AwsError::Rejected {
                operation: "List",
                code: "Unsupported".into(),
                message: format!("no listing for {other}"),
            }),
        }
    }

    /// The ARN of a Studio resource of `domain`: its domain's ARN with another type and path.
    async fn studio_arn(&self, domain: &str, arn_type: &str, path: &str) -> Result<Option<String>, AwsError> {
        let mut cached = self.domains.lock().await;
        if cached.is_none() {
            let mut found = HashMap::new();
            let mut pages = self.clients.sagemaker.list_domains().max_results(PAGE_SIZE).into_paginator().send();
            while let Some(page) = pages.next().await {
                for domain in page.aws("ListDomains")?.domains() {
                    if let Some(arn) = domain.domain_arn().and_then(SageMakerArn::parse) {
                        found.insert(arn.path.clone(), arn);
                    }
                }
            }
            *cached = Some(found);
        }
        Ok(cached.as_ref().and_then(|d| d.get(domain)).map(|d| d.sibling(arn_type, path)))
    }

    /// The execution role a resource runs as, read with its `Describe*` call, for the kinds that have one.
    ///
    /// `Ok(None)` for kinds without a role lookup and for resources that vanished.
    pub async fn execution_role(&self, kind: &ResourceKind, arn: &SageMakerArn) -> Result<Option<String>, AwsError> {
        let sm = &self.clients.sagemaker;
        let name = arn.name();
        let role = match kind.arn_type {
            "notebook-instance" => sm
                .describe_notebook_instance()
                .notebook_instance_name(name)
                .send()
                .await
                .aws("DescribeNotebookInstance")
                .map(|o| o.role_arn().map(str::to_owned)),
            "training-job" => sm
                .describe_training_job()
                .training_job_name(name)
                .send()
                .await
                .aws("DescribeTrainingJob")
                .map(|o| o.role_arn().map(str::to_owned)),
            "processing-job" => sm
                .describe_processing_job()
                .processing_job_name(name)
                .send()
                .await
                .aws("DescribeProcessingJob")
                .map(|o| o.role_arn().map(str::to_owned)),
            "model" => sm
                .describe_model()
                .model_name(name)
                .send()
                .await
                .aws("DescribeModel")
                .map(|o| o.execution_role_arn().map(str::to_owned)),
            "hyper-parameter-tuning-job" => sm
                .describe_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .send()
                .await
                .aws("DescribeHyperParameterTuningJob")
                .map(|o| o.training_job_definition().and_then(|d| d.role_arn()).map(str::to_owned)),
            _ => return Ok(None),
        };
        match role {
            Ok(role) => Ok(role),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Whether the sweep reads the execution role of this kind with a `Describe*` call.
pub fn has_role_lookup(kind: &ResourceKind) -> bool {
    matches!(
        kind.arn_type,
        "notebook-instance" | "training-job" | "processing-job" | "model" | "hyper-parameter-tuning-job"
    )
}
