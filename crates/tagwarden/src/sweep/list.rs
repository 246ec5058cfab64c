//! Listing the estate: one paginated `List*` call per resource kind, and the `Describe*` that names a
//! resource's execution role, as the registry ([`crate::resource`]) declares them. Shared by the sweep
//! and the audit.
//!
//! In: a [`ResourceKind`] and a `NextToken`. Out: a [`Page`] of [`Listed`] resources (ARN plus what the
//! listing says of their origin: domain, owning profile, space, role).

use std::collections::HashMap;

use aws_sdk_sagemaker::types::{JobCategory, ModelPackageType};
use tokio::sync::Mutex;

use crate::aws::{AwsError, Clients, ResultExt};
use crate::resource::{AppOwner, ArnScope, Listing, ResourceKind, RoleLookup, SageMakerArn};

/// Page size of every `List*` call (the largest SageMaker accepts).
pub const PAGE_SIZE: i32 = Listing::PAGE_SIZE;

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
    /// The resource's name, for kinds whose ARN names them by an id (HyperPod clusters, MLflow and
    /// partner apps), as the summary reports it.
    pub name: Option<String>,
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
    history: Option<super::EventHistory>,
    page_size: i32,
}

/// One page of a listing whose summaries carry ARNs: `arn_page!(size, request, token, operation, items, arn, status)`.
macro_rules! arn_page {
    ($size:expr, $request:expr, $token:expr, $op:expr, $items:ident, $arn:ident, $status:expr) => {{
        let out = $request.set_next_token($token).max_results($size).send().await.aws($op)?;
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

/// One page of a listing whose `summaries` carry `arn` and `name` (the ARN ends in an id, so the name is
/// kept for people): `named_page!(size, request, token, operation)`.
macro_rules! named_page {
    ($size:expr, $request:expr, $token:expr, $op:expr) => {{
        let out = $request.set_next_token($token).max_results($size).send().await.aws($op)?;
        let items = out
            .summaries()
            .iter()
            .filter_map(|s| {
                Some(Listed { arn: s.arn()?.to_owned(), name: s.name().map(str::to_owned), ..Listed::default() })
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
        Self { clients, domains: Mutex::new(None), history: None, page_size: PAGE_SIZE }
    }

    /// The same lister, reading who created what from CloudTrail's event history before it sweeps.
    pub fn with_history(mut self, history: super::EventHistory) -> Self {
        self.history = Some(history);
        self
    }

    /// The same lister asking for at most `size` resources per page (1 to [`PAGE_SIZE`]; tests use small pages).
    pub fn with_page_size(mut self, size: i32) -> Self {
        self.page_size = size.clamp(1, PAGE_SIZE);
        self
    }

    /// The event history the sweep reads creators from, if any.
    pub fn history(&self) -> Option<&super::EventHistory> {
        self.history.as_ref()
    }

    /// The clients it lists with.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// One page of resources of `kind`, starting at `token` (`None`: the first page).
    pub async fn page(&self, kind: &ResourceKind, token: Option<String>) -> Result<Page, AwsError> {
        let sm = &self.clients.sagemaker;
        let op = kind.listing.operation();
        // NOTE: one arm per `Listing`; a new listing in the registry does not compile until it has its arm.
        match kind.listing {
            Listing::TrainingJobs => {
                arn_page!(
                    self.page_size,
                    sm.list_training_jobs(),
                    token,
                    op,
                    training_job_summaries,
                    training_job_arn,
                    none
                )
            }
            Listing::ProcessingJobs => {
                arn_page!(
                    self.page_size,
                    sm.list_processing_jobs(),
                    token,
                    op,
                    processing_job_summaries,
                    processing_job_arn,
                    none
                )
            }
            Listing::TransformJobs => {
                arn_page!(
                    self.page_size,
                    sm.list_transform_jobs(),
                    token,
                    op,
                    transform_job_summaries,
                    transform_job_arn,
                    none
                )
            }
            Listing::HyperParameterTuningJobs => arn_page!(
                self.page_size,
                sm.list_hyper_parameter_tuning_jobs(),
                token,
                op,
                hyper_parameter_tuning_job_summaries,
                hyper_parameter_tuning_job_arn,
                none
            ),
            Listing::NotebookInstances => {
                arn_page!(
                    self.page_size,
                    sm.list_notebook_instances(),
                    token,
                    op,
                    notebook_instances,
                    notebook_instance_arn,
                    none
                )
            }
            Listing::Endpoints => {
                arn_page!(self.page_size, sm.list_endpoints(), token, op, endpoints, endpoint_arn, none)
            }
            Listing::EndpointConfigs => {
                arn_page!(
                    self.page_size,
                    sm.list_endpoint_configs(),
                    token,
                    op,
                    endpoint_configs,
                    endpoint_config_arn,
                    none
                )
            }
            Listing::Models => arn_page!(self.page_size, sm.list_models(), token, op, models, model_arn, none),
            Listing::Pipelines => {
                let out = sm.list_pipelines().set_next_token(token).max_results(self.page_size).send().await.aws(op)?;
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
            Listing::Domains => arn_page!(
                self.page_size,
                sm.list_domains(),
                token,
                op,
                domains,
                domain_arn,
                |s: &aws_sdk_sagemaker::types::DomainDetails| s.status().map(|s| s.as_str().to_owned())
            ),
            Listing::UserProfiles => {
                let out =
                    sm.list_user_profiles().set_next_token(token).max_results(self.page_size).send().await.aws(op)?;
                let mut items = Vec::new();
                for p in out.user_profiles() {
                    let (Some(domain), Some(name)) = (p.domain_id(), p.user_profile_name()) else { continue };
                    if let Some(scope) = self.domain_scope(domain).await? {
                        items.push(Listed {
                            arn: scope.user_profile(domain, name).to_string(),
                            domain_id: Some(domain.to_owned()),
                            owner_profile: Some(name.to_owned()),
                            status: p.status().map(|s| s.as_str().to_owned()),
                            ..Listed::default()
                        });
                    }
                }
                Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
            }
            Listing::Spaces => {
                let out = sm.list_spaces().set_next_token(token).max_results(self.page_size).send().await.aws(op)?;
                let mut items = Vec::new();
                for s in out.spaces() {
                    let (Some(domain), Some(name)) = (s.domain_id(), s.space_name()) else { continue };
                    if let Some(scope) = self.domain_scope(domain).await? {
                        items.push(Listed {
                            arn: scope.space(domain, name).to_string(),
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
            Listing::Apps => {
                let out = sm.list_apps().set_next_token(token).max_results(self.page_size).send().await.aws(op)?;
                let mut items = Vec::new();
                for a in out.apps() {
                    let (Some(domain), Some(app_type), Some(name)) = (a.domain_id(), a.app_type(), a.app_name()) else {
                        continue;
                    };
                    let Some(owner) = AppOwner::of(a.user_profile_name(), a.space_name()) else { continue };
                    if let Some(scope) = self.domain_scope(domain).await? {
                        items.push(Listed {
                            arn: scope.app(domain, owner, app_type.as_str(), name).to_string(),
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
            Listing::LabelingJobs => {
                arn_page!(
                    self.page_size,
                    sm.list_labeling_jobs(),
                    token,
                    op,
                    labeling_job_summary_list,
                    labeling_job_arn,
                    none
                )
            }
            Listing::CompilationJobs => {
                arn_page!(
                    self.page_size,
                    sm.list_compilation_jobs(),
                    token,
                    op,
                    compilation_job_summaries,
                    compilation_job_arn,
                    none
                )
            }
            Listing::AutoMlJobs => {
                arn_page!(
                    self.page_size,
                    sm.list_auto_ml_jobs(),
                    token,
                    op,
                    auto_ml_job_summaries,
                    auto_ml_job_arn,
                    none
                )
            }
            // NOTE: only unversioned packages can be tagged; versioned ones are tagged through their group.
            Listing::ModelPackages => arn_page!(
                self.page_size,
                sm.list_model_packages().model_package_type(ModelPackageType::Unversioned),
                token,
                op,
                model_package_summary_list,
                model_package_arn,
                none
            ),
            Listing::ModelPackageGroups => arn_page!(
                self.page_size,
                sm.list_model_package_groups(),
                token,
                op,
                model_package_group_summary_list,
                model_package_group_arn,
                none
            ),
            Listing::InferenceComponents => arn_page!(
                self.page_size,
                sm.list_inference_components(),
                token,
                op,
                inference_components,
                inference_component_arn,
                none
            ),
            Listing::Experiments => {
                arn_page!(self.page_size, sm.list_experiments(), token, op, experiment_summaries, experiment_arn, none)
            }
            Listing::FeatureGroups => {
                arn_page!(
                    self.page_size,
                    sm.list_feature_groups(),
                    token,
                    op,
                    feature_group_summaries,
                    feature_group_arn,
                    none
                )
            }
            Listing::MonitoringSchedules => arn_page!(
                self.page_size,
                sm.list_monitoring_schedules(),
                token,
                op,
                monitoring_schedule_summaries,
                monitoring_schedule_arn,
                none
            ),
            // NOTE: a HyperPod cluster's ARN names it by id (`cluster/pwbqjjlstbop`): the name comes along.
            Listing::Clusters => {
                let out = sm.list_clusters().set_next_token(token).max_results(self.page_size).send().await.aws(op)?;
                let items = out
                    .cluster_summaries()
                    .iter()
                    .filter_map(|s| {
                        Some(Listed {
                            arn: s.cluster_arn()?.to_owned(),
                            name: s.cluster_name().map(str::to_owned),
                            status: s.cluster_status().map(|s| s.as_str().to_owned()),
                            ..Listed::default()
                        })
                    })
                    .collect();
                Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
            }
            Listing::MlflowTrackingServers => arn_page!(
                self.page_size,
                sm.list_mlflow_tracking_servers(),
                token,
                op,
                tracking_server_summaries,
                tracking_server_arn,
                none
            ),
            Listing::MlflowApps => named_page!(self.page_size, sm.list_mlflow_apps(), token, op),
            Listing::TrainingPlans => {
                arn_page!(
                    self.page_size,
                    sm.list_training_plans(),
                    token,
                    op,
                    training_plan_summaries,
                    training_plan_arn,
                    none
                )
            }
            Listing::Jobs => {
                // NOTE: `ListJobs` requires a `JobCategory`: the categories are walked one after the other, the
                // token carrying `<category index>:<the category's NextToken>`.
                let categories = JobCategory::values();
                let (index, inner) = match token.as_deref().and_then(|t| t.split_once(':')) {
                    Some((i, t)) => {
                        (i.parse::<usize>().unwrap_or(categories.len()), (!t.is_empty()).then(|| t.to_owned()))
                    }
                    None => (0, None),
                };
                let Some(category) = categories.get(index) else {
                    return Ok(Page::default());
                };
                let request = sm.list_jobs().job_category(JobCategory::from(*category));
                let page: Result<Page, AwsError> =
                    arn_page!(self.page_size, request, inner, op, job_summaries, job_arn, none);
                let page = page?;
                let next_token = match page.next_token {
                    Some(t) => Some(format!("{index}:{t}")),
                    None => (index + 1 < categories.len()).then(|| format!("{}:", index + 1)),
                };
                Ok(Page { next_token, ..page })
            }
            Listing::TrainingSessions => arn_page!(
                self.page_size,
                sm.list_training_sessions(),
                token,
                op,
                training_session_summaries,
                training_session_arn,
                none
            ),
            Listing::OptimizationJobs => arn_page!(
                self.page_size,
                sm.list_optimization_jobs(),
                token,
                op,
                optimization_job_summaries,
                optimization_job_arn,
                none
            ),
            Listing::InferenceRecommendationsJobs => arn_page!(
                self.page_size,
                sm.list_inference_recommendations_jobs(),
                token,
                op,
                inference_recommendations_jobs,
                job_arn,
                none
            ),
            Listing::InferenceExperiments => {
                // NOTE: the summaries name the experiment but not its ARN: one `DescribeInferenceExperiment`
                // each (declared as the listing's `arn_lookup`); one that vanished meanwhile is left out.
                let out = sm
                    .list_inference_experiments()
                    .set_next_token(token)
                    .max_results(self.page_size)
                    .send()
                    .await
                    .aws(op)?;
                let mut items = Vec::new();
                for e in out.inference_experiments() {
                    let Some(name) = e.name() else { continue };
                    let described = sm.describe_inference_experiment().name(name).send().await;
                    let described = match described.aws("DescribeInferenceExperiment") {
                        Ok(d) => d,
                        Err(err) if err.is_not_found() => continue,
                        Err(err) => return Err(err),
                    };
                    let Some(arn) = described.arn() else { continue };
                    items.push(Listed {
                        arn: arn.to_owned(),
                        role_arn: e.role_arn().map(str::to_owned),
                        status: e.status().map(|s| s.as_str().to_owned()),
                        ..Listed::default()
                    });
                }
                Ok(Page { items, next_token: out.next_token().map(str::to_owned) })
            }
            Listing::PartnerApps => named_page!(self.page_size, sm.list_partner_apps(), token, op),
            Listing::FlowDefinitions => {
                arn_page!(
                    self.page_size,
                    sm.list_flow_definitions(),
                    token,
                    op,
                    flow_definition_summaries,
                    flow_definition_arn,
                    none
                )
            }
            Listing::AiBenchmarkJobs => {
                arn_page!(
                    self.page_size,
                    sm.list_ai_benchmark_jobs(),
                    token,
                    op,
                    ai_benchmark_jobs,
                    ai_benchmark_job_arn,
                    none
                )
            }
            Listing::AiRecommendationJobs => arn_page!(
                self.page_size,
                sm.list_ai_recommendation_jobs(),
                token,
                op,
                ai_recommendation_jobs,
                ai_recommendation_job_arn,
                none
            ),
            Listing::EdgePackagingJobs => arn_page!(
                self.page_size,
                sm.list_edge_packaging_jobs(),
                token,
                op,
                edge_packaging_job_summaries,
                edge_packaging_job_arn,
                none
            ),
        }
    }

    /// The partition, region and account of a Studio domain, from its ARN (read once with `ListDomains`):
    /// where its profiles, spaces and apps are.
    async fn domain_scope(&self, domain: &str) -> Result<Option<ArnScope>, AwsError> {
        let mut cached = self.domains.lock().await;
        if cached.is_none() {
            let mut found = HashMap::new();
            let mut pages = self.clients.sagemaker.list_domains().max_results(PAGE_SIZE).into_paginator().send();
            while let Some(page) = pages.next().await {
                for domain in page.aws(Listing::Domains.operation())?.domains() {
                    if let Some(arn) = domain.domain_arn().and_then(SageMakerArn::parse) {
                        found.insert(arn.path.clone(), arn);
                    }
                }
            }
            *cached = Some(found);
        }
        Ok(cached.as_ref().and_then(|d| d.get(domain)).map(SageMakerArn::scope))
    }

    /// The execution role a resource runs as, read with its `Describe*` call, for the kinds that have one.
    ///
    /// `Ok(None)` for kinds without a role lookup and for resources that vanished.
    pub async fn execution_role(&self, kind: &ResourceKind, arn: &SageMakerArn) -> Result<Option<String>, AwsError> {
        let sm = &self.clients.sagemaker;
        let name = arn.name();
        let Some(lookup) = kind.role else {
            return Ok(None);
        };
        let op = lookup.operation();
        // NOTE: one arm per `RoleLookup`, exhaustive: a new lookup in the registry needs its call here.
        let role = match lookup {
            RoleLookup::NotebookInstance => sm
                .describe_notebook_instance()
                .notebook_instance_name(name)
                .send()
                .await
                .aws(op)
                .map(|o| o.role_arn().map(str::to_owned)),
            RoleLookup::TrainingJob => sm
                .describe_training_job()
                .training_job_name(name)
                .send()
                .await
                .aws(op)
                .map(|o| o.role_arn().map(str::to_owned)),
            RoleLookup::ProcessingJob => sm
                .describe_processing_job()
                .processing_job_name(name)
                .send()
                .await
                .aws(op)
                .map(|o| o.role_arn().map(str::to_owned)),
            RoleLookup::Model => sm
                .describe_model()
                .model_name(name)
                .send()
                .await
                .aws(op)
                .map(|o| o.execution_role_arn().map(str::to_owned)),
            RoleLookup::HyperParameterTuningJob => sm
                .describe_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .send()
                .await
                .aws(op)
                .map(|o| o.training_job_definition().and_then(|d| d.role_arn()).map(str::to_owned)),
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
    kind.role.is_some()
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::Client as SageMaker;
    use aws_sdk_sagemaker::operation::list_clusters::ListClustersOutput;
    use aws_sdk_sagemaker::operation::list_jobs::ListJobsOutput;
    use aws_sdk_sagemaker::types::{ClusterStatus, ClusterSummary, JobSummary};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;
    use crate::resource::kind_for_arn_type;

    fn lister(rules: &[&Rule]) -> Lister {
        let none = std::iter::empty::<&Rule>;
        Lister::new(Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules.iter().copied()).into(),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, none()).into(),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, none()).into(),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, none()).into(),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, none()).into(),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, none()).into(),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, none()).into(),
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, none()).into(),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, none()).into(),
            costexplorer: mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, none()).into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, none()).into(),
        })
    }

    #[tokio::test]
    async fn hyperpod_clusters_are_listed_with_their_names_not_only_their_ids() {
        let list = mock!(SageMaker::list_clusters).then_output(|| {
            let summary = ClusterSummary::builder()
                .cluster_arn("arn:aws:sagemaker:us-east-1:123456789012:cluster/pwbqjjlstbop")
                .cluster_name("fraud-llm-pretrain")
                .cluster_status(ClusterStatus::Inservice)
                .build();
            ListClustersOutput::builder().cluster_summaries(summary).build()
        });
        let page = lister(&[&list]).page(kind_for_arn_type("cluster").unwrap(), None).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].name.as_deref(), Some("fraud-llm-pretrain"));
        assert_eq!(page.items[0].status.as_deref(), Some("InService"));
    }

    #[tokio::test]
    async fn customization_jobs_are_listed_category_after_category() {
        let job = |category: &'static str, arn: &'static str| {
            mock!(SageMaker::list_jobs)
                .match_requests(move |r| r.job_category().map(|c| c.as_str()) == Some(category))
                .then_output(move || {
                    ListJobsOutput::builder().job_summaries(JobSummary::builder().job_arn(arn).build()).build()
                })
        };
        let (rft, eval) =
            (job("AgentRFT", "arn:aws:sagemaker:r:1:job/a"), job("AgentRFTEvaluation", "arn:aws:sagemaker:r:1:job/b"));
        let lister = lister(&[&rft, &eval]);
        let kind = kind_for_arn_type("job").unwrap();
        let first = lister.page(kind, None).await.unwrap();
        assert_eq!(first.items[0].arn, "arn:aws:sagemaker:r:1:job/a");
        assert_eq!(first.next_token.as_deref(), Some("1:"), "the next category");
        let second = lister.page(kind, first.next_token).await.unwrap();
        assert_eq!(second.items[0].arn, "arn:aws:sagemaker:r:1:job/b");
        assert_eq!(second.next_token, None);
    }
}
