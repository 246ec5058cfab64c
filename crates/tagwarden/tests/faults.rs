//! Fault injection for both handlers: every AWS operation each function makes, under throttling, 500, 503,
//! a hanging connection (attempt timeout), a reset connection and a refused connection. Mock rules
//! (aws-smithy-mocks) answer every call of a permissive world; a fault-injecting HTTP client takes over
//! the one operation under test. Each (operation x fault) pair must end in a retryable Lambda error after
//! exactly the policy's attempts, and partial enforcement must be reported, not hidden.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::config::retry::RetryPartition;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};
use tagwarden::aws::CallPolicy;
use tagwarden::enforce::EnforceError;
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::pricing::PriceBook;
use tagwarden::tagging::TaggerSettings;
use tagwarden::{AutoTagger, BudgetEnforcer, Clients, EnforcementOutcome, Policy, permissions};

/// Short backoffs and timeouts so that a hundred cases run in seconds; same shape as the deployed policy.
const TEST_POLICY: CallPolicy = CallPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_millis(1),
    max_backoff: Duration::from_millis(5),
    connect_timeout: Duration::from_millis(50),
    attempt_timeout: Duration::from_millis(100),
    operation_timeout: Duration::from_secs(2),
};

const ACCOUNT: &str = "123456789012";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttling,
    Internal500,
    Unavailable503,
    Timeout,
    ConnectionReset,
    ConnectionRefused,
}

const FAULTS: &[Fault] = &[
    Fault::Throttling,
    Fault::Internal500,
    Fault::Unavailable503,
    Fault::Timeout,
    Fault::ConnectionReset,
    Fault::ConnectionRefused,
];

/// The operation an HTTP request is for: `X-Amz-Target` (JSON protocols), the path (CBOR) or `Action=`.
fn operation_of(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or_default().to_owned();
    }
    if let Some((_, op)) = request.uri().rsplit_once("/operation/") {
        return op.to_owned();
    }
    let body = request.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    body.split('&').find_map(|kv| kv.strip_prefix("Action=")).unwrap_or_default().to_owned()
}

fn is_json(request: &HttpRequest) -> bool {
    request.headers().get("x-amz-target").is_some()
}

fn error_response(json: bool, status: u16, code: &str) -> HttpResponse {
    error_with_message(json, status, code, "injected")
}

fn error_with_message(json: bool, status: u16, code: &str, message: &str) -> HttpResponse {
    let body = if json {
        json!({"__type": code, "message": message}).to_string()
    } else {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )
    };
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

/// Which requests fail, how, and how many times.
#[derive(Debug, Clone)]
struct Injection {
    operation: String,
    /// Only requests whose body contains this (e.g. one notebook's name).
    body_contains: Option<String>,
    fault: Fault,
    /// Fail this many matching attempts, then answer `{}` with 200 (JSON operations only)...
    fail_first: usize,
    /// ... or this 400 error (code, message), as a service that did carry out the faulted attempt would.
    then_error: Option<(&'static str, &'static str)>,
}

/// An HTTP client that injects a fault into one operation and hands every other request to the mocks.
#[derive(Debug, Clone)]
struct FaultClient {
    inner: SharedHttpClient,
    injection: Option<Injection>,
    /// Every attempt, by operation.
    attempts: Arc<Mutex<BTreeMap<String, usize>>>,
    /// Attempts of the injected operation that matched, faulted or not.
    matched: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct FaultConnector {
    client: FaultClient,
    inner: SharedHttpConnector,
}

impl HttpClient for FaultClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(FaultConnector { client: self.clone(), inner })
    }
}

impl HttpConnector for FaultConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = operation_of(&request);
        *self.client.attempts.lock().unwrap().entry(operation.clone()).or_default() += 1;
        let Some(injection) = self.client.injection.as_ref().filter(|i| i.operation == operation) else {
            return self.inner.call(request);
        };
        let body = request.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        if injection.body_contains.as_ref().is_some_and(|needle| !body.contains(needle.as_str())) {
            return HttpConnectorFuture::ready(Ok(HttpResponse::new(StatusCode::try_from(200).unwrap(), "{}".into())));
        }
        let n = self.client.matched.fetch_add(1, Ordering::SeqCst);
        if n >= injection.fail_first {
            if let Some((code, message)) = injection.then_error {
                return HttpConnectorFuture::ready(Ok(error_with_message(is_json(&request), 400, code, message)));
            }
            return HttpConnectorFuture::ready(Ok(HttpResponse::new(StatusCode::try_from(200).unwrap(), "{}".into())));
        }
        let json = is_json(&request);
        let io = |kind: std::io::ErrorKind| Err(ConnectorError::io(Box::new(std::io::Error::from(kind))));
        match injection.fault {
            Fault::Throttling => {
                let code = if json { "ThrottlingException" } else { "Throttling" };
                HttpConnectorFuture::ready(Ok(error_response(json, 400, code)))
            }
            Fault::Internal500 => HttpConnectorFuture::ready(Ok(error_response(json, 500, "InternalFailure"))),
            Fault::Unavailable503 => HttpConnectorFuture::ready(Ok(error_response(json, 503, "ServiceUnavailable"))),
            Fault::Timeout => HttpConnectorFuture::new(std::future::pending()),
            Fault::ConnectionReset => HttpConnectorFuture::ready(io(std::io::ErrorKind::ConnectionReset)),
            Fault::ConnectionRefused => HttpConnectorFuture::ready(io(std::io::ErrorKind::ConnectionRefused)),
        }
    }
}

/// Mock rules by operation name, so that the operation under test can be left to the fault client.
type World = Vec<(&'static str, Rule)>;

static PARTITION: AtomicUsize = AtomicUsize::new(0);

macro_rules! client {
    ($krate:ident, $rules:expr, $http:expr, $policy:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).allow_passthrough();
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        // NOTE: the SDK's retry token bucket is process-wide per partition: one per client keeps cases apart.
        let partition = RetryPartition::new(format!("faults-{}", PARTITION.fetch_add(1, Ordering::SeqCst)));
        $krate::Client::from_conf(
            $krate::Config::builder()
                .with_test_defaults_v2()
                .http_client($http.clone())
                .interceptor(interceptor)
                .retry_config($policy.retry_config())
                .timeout_config($policy.timeout_config())
                .retry_partition(partition)
                .build(),
        )
    }};
}

/// Clients answering from `world`, except the injected operation.
fn clients(world: &World, injection: Option<Injection>, policy: &CallPolicy) -> (Clients, FaultClient) {
    let fault = FaultClient {
        inner: create_mock_http_client(),
        injection: injection.clone(),
        attempts: Arc::default(),
        matched: Arc::default(),
    };
    let http = SharedHttpClient::new(fault.clone());
    let excluded = injection.map(|i| i.operation);
    let rules: Vec<&Rule> =
        world.iter().filter(|(op, _)| excluded.as_deref() != Some(*op)).map(|(_, rule)| rule).collect();
    let clients = Clients {
        sagemaker: client!(aws_sdk_sagemaker, rules.iter().copied(), http, policy).into(),
        iam: client!(aws_sdk_iam, rules.iter().copied(), http, policy).into(),
        sns: client!(aws_sdk_sns, rules.iter().copied(), http, policy).into(),
        tagging: client!(aws_sdk_resourcegroupstagging, rules.iter().copied(), http, policy).into(),
        budgets: client!(aws_sdk_budgets, rules.iter().copied(), http, policy).into(),
        sts: client!(aws_sdk_sts, rules.iter().copied(), http, policy).into(),
        ssm: client!(aws_sdk_ssm, rules.iter().copied(), http, policy).into(),
        dynamodb: client!(aws_sdk_dynamodb, rules.iter().copied(), http, policy).into(),
        autoscaling: client!(aws_sdk_applicationautoscaling, rules.iter().copied(), http, policy).into(),
        costexplorer: client!(aws_sdk_costexplorer, rules.iter().copied(), http, policy).into(),
        cloudwatch: client!(aws_sdk_cloudwatch, rules.iter().copied(), http, policy).into(),
    };
    (clients, fault)
}

/// The Price List client of a world, on the same fault-injecting HTTP client as [`clients`]' (the burn guard's).
fn pricing_client(world: &World, fault: &FaultClient, policy: &CallPolicy) -> aws_sdk_pricing::Client {
    let http = SharedHttpClient::new(fault.clone());
    let excluded = fault.injection.as_ref().map(|i| i.operation.clone());
    let rules = world.iter().filter(|(op, _)| excluded.as_deref() != Some(*op)).map(|(_, rule)| rule);
    client!(aws_sdk_pricing, rules, http, policy)
}

fn sm(path: &str) -> String {
    format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:{path}")
}

fn sm_tag(k: &str, v: &str) -> aws_sdk_sagemaker::types::Tag {
    aws_sdk_sagemaker::types::Tag::builder().key(k).value(v).build()
}

fn iam_tag(k: &str, v: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap()
}

/// The auto-tagger's world: every resource carries a misspelt `env` key (so `DeleteTags` runs) and a
/// Studio space tag (so the space's owner is looked up), sources
/// carry a cost center but no team (so the gap is published), Studio lookups answer.
fn tagger_world() -> World {
    use aws_sdk_sagemaker::Client as Sm;
    use aws_sdk_sagemaker::operation::{
        add_tags::AddTagsOutput, delete_tags::DeleteTagsOutput, describe_space::DescribeSpaceOutput,
        describe_training_job::DescribeTrainingJobOutput, describe_user_profile::DescribeUserProfileOutput,
        list_tags::ListTagsOutput, list_user_profiles::ListUserProfilesOutput,
    };
    use aws_sdk_sagemaker::types::{OwnershipSettings, UserProfileDetails};
    vec![
        (
            "ListTags",
            mock!(Sm::list_tags).then_output(|| {
                ListTagsOutput::builder()
                    .tags(sm_tag("env", "prod"))
                    .tags(sm_tag("cost-center", "CC-1234"))
                    .tags(sm_tag("sagemaker:space-arn", &sm("space/d-1/shared")))
                    .tags(sm_tag("sagemaker:pipeline-execution-arn", &sm("pipeline/nightly/execution/q8x2")))
                    .build()
            }),
        ),
        ("AddTags", mock!(Sm::add_tags).then_output(|| AddTagsOutput::builder().build())),
        ("DeleteTags", mock!(Sm::delete_tags).then_output(|| DeleteTagsOutput::builder().build())),
        (
            "DescribeUserProfile",
            mock!(Sm::describe_user_profile).then_output(|| {
                DescribeUserProfileOutput::builder()
                    .user_profile_arn(sm("user-profile/d-1/alice"))
                    .domain_id("d-1")
                    .user_profile_name("alice")
                    .build()
            }),
        ),
        (
            "ListUserProfiles",
            mock!(Sm::list_user_profiles).then_compute_output(|input| {
                let name = input.user_profile_name_contains().unwrap_or("alice").to_owned();
                ListUserProfilesOutput::builder()
                    .user_profiles(UserProfileDetails::builder().domain_id("d-1").user_profile_name(name).build())
                    .build()
            }),
        ),
        (
            "DescribeSpace",
            mock!(Sm::describe_space).then_output(|| {
                DescribeSpaceOutput::builder()
                    .ownership_settings(OwnershipSettings::builder().owner_user_profile_name("alice").build())
                    .build()
            }),
        ),
        (
            "DescribeTransformJob",
            mock!(Sm::describe_transform_job).then_output(|| {
                aws_sdk_sagemaker::operation::describe_transform_job::DescribeTransformJobOutput::builder()
                    .auto_ml_job_arn(sm("automl-job/churn-automl"))
                    .build()
            }),
        ),
        (
            "DescribePipeline",
            mock!(Sm::describe_pipeline).then_output(|| {
                aws_sdk_sagemaker::operation::describe_pipeline::DescribePipelineOutput::builder()
                    .role_arn("arn:aws:iam::123456789012:role/nightly-retrain")
                    .build()
            }),
        ),
        (
            "DescribeTrainingJob",
            mock!(Sm::describe_training_job).then_output(|| {
                // A tuning job's child: its description names the tuning job that launched it.
                DescribeTrainingJobOutput::builder()
                    .tuning_job_arn(sm("hyper-parameter-tuning-job/fraud-hpo-1127"))
                    .build()
            }),
        ),
        (
            "ListRoleTags",
            mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
                aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput::builder()
                    .tags(iam_tag("cost-center", "CC-1234"))
                    .is_truncated(false)
                    .build()
                    .unwrap()
            }),
        ),
        (
            "ListUserTags",
            mock!(aws_sdk_iam::Client::list_user_tags).then_output(|| {
                aws_sdk_iam::operation::list_user_tags::ListUserTagsOutput::builder()
                    .tags(iam_tag("cost-center", "CC-1234"))
                    .is_truncated(false)
                    .build()
                    .unwrap()
            }),
        ),
        (
            "Publish",
            mock!(aws_sdk_sns::Client::publish)
                .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().message_id("m").build()),
        ),
    ]
}

/// A ledger item of string attributes.
fn ledger_item(
    attributes: &[(&str, &str)],
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), aws_sdk_dynamodb::types::AttributeValue::S((*v).to_owned())))
        .collect()
}

/// An open undo item of budget `ml-marketing`.
fn undo_item(
    action: &str,
    resource: &str,
    before: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    ledger_item(&[
        ("budget", "ml-marketing"),
        ("period_start", "2026-11-01"),
        ("period_end", "2026-12-01"),
        ("action", action),
        ("target", resource),
        ("before", before),
        ("trigger", "m-1"),
        ("made_at", "2026-11-20T10:00:00.000Z"),
        ("account", ""),
        ("region", ""),
        ("state", "open"),
    ])
}

/// The budget-enforcer's world: one running resource of each kind in scope (`cost-center=CC-1` from the
/// budget's cost filters), one SageMaker execution role, two user profiles (one with its own role, one
/// using the domain's), markers in place for `restore`.
fn enforcer_world() -> World {
    use aws_sdk_applicationautoscaling::Client as Aas;
    use aws_sdk_applicationautoscaling::operation as aas;
    use aws_sdk_dynamodb::Client as Ddb;
    use aws_sdk_dynamodb::operation as ddb;
    use aws_sdk_sagemaker::Client as Sm;
    use aws_sdk_sagemaker::operation as op;
    use aws_sdk_sagemaker::types as t;
    let epoch = aws_smithy_types::DateTime::from_secs(1_700_000_000);
    vec![
        (
            "DescribeBudget",
            mock!(aws_sdk_budgets::Client::describe_budget).then_output(|| {
                use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
                // NOTE: the budget's own record confirms the sample alerts (up to 125 % of $1,000).
                let usd = |amount: &str| Spend::builder().amount(amount).unit("USD").build().unwrap();
                let spend = CalculatedSpend::builder().actual_spend(usd("1250")).forecasted_spend(usd("1250")).build();
                #[allow(deprecated)]
                let budget = Budget::builder()
                    .budget_name("ml-marketing")
                    .budget_type(BudgetType::Cost)
                    .time_unit(TimeUnit::Monthly)
                    .budget_limit(usd("1000"))
                    .calculated_spend(spend)
                    .cost_filters("TagKeyValue", vec!["user:cost-center$CC-1".to_owned()])
                    .build()
                    .unwrap();
                aws_sdk_budgets::operation::describe_budget::DescribeBudgetOutput::builder().budget(budget).build()
            }),
        ),
        (
            "GetAnomalies",
            // NOTE: AWS's record of the anomaly sample: a SageMaker spike on the `cost-center=CC-1` monitor.
            mock!(aws_sdk_costexplorer::Client::get_anomalies).then_output(|| {
                use aws_sdk_costexplorer::types::{Anomaly, AnomalyScore, Impact, RootCause};
                let anomaly = Anomaly::builder()
                    .anomaly_id("5b3e9c7a-1f2d-4a6b-8e0c-9d4f7a2b6c13")
                    .monitor_arn(ANOMALY_MONITOR)
                    .dimension_value("CC-1")
                    .anomaly_score(AnomalyScore::builder().max_score(0.9).current_score(0.9).build())
                    .impact(Impact::builder().max_impact(300.0).total_impact(592.9).build())
                    .root_causes(RootCause::builder().service("Amazon SageMaker").build())
                    .build()
                    .unwrap();
                aws_sdk_costexplorer::operation::get_anomalies::GetAnomaliesOutput::builder()
                    .anomalies(anomaly)
                    .build()
                    .unwrap()
            }),
        ),
        (
            "GetAnomalyMonitors",
            mock!(aws_sdk_costexplorer::Client::get_anomaly_monitors).then_output(|| {
                use aws_sdk_costexplorer::types::{AnomalyMonitor, Expression, MonitorType, TagValues};
                let tags = TagValues::builder().key("cost-center").values("CC-1").build();
                let monitor = AnomalyMonitor::builder()
                    .monitor_arn(ANOMALY_MONITOR)
                    .monitor_name("team-nlp")
                    .monitor_type(MonitorType::Custom)
                    .monitor_specification(Expression::builder().tags(tags).build())
                    .build()
                    .unwrap();
                aws_sdk_costexplorer::operation::get_anomaly_monitors::GetAnomalyMonitorsOutput::builder()
                    .anomaly_monitors(monitor)
                    .build()
                    .unwrap()
            }),
        ),
        (
            "GetCallerIdentity",
            mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
                aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder().account(ACCOUNT).build()
            }),
        ),
        (
            "GetResources",
            mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_compute_output(|input| {
                use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
                let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
                let mut out = aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput::builder();
                for kind in input.resource_type_filters() {
                    let paths: &[&str] = match kind.as_str() {
                        "sagemaker:notebook-instance" => &["notebook-instance/nb-1"],
                        "sagemaker:training-job" => &["training-job/train-1"],
                        "sagemaker:processing-job" => &["processing-job/proc-1"],
                        "sagemaker:transform-job" => &["transform-job/xform-1"],
                        "sagemaker:hyper-parameter-tuning-job" => &["hyper-parameter-tuning-job/hpo-1"],
                        "sagemaker:endpoint" => &["endpoint/ep-1"],
                        "sagemaker:inference-component" => &["inference-component/ic-1"],
                        "sagemaker:cluster" => &["cluster/hp-1"],
                        "sagemaker:mlflow-tracking-server" => &["mlflow-tracking-server/mlflow-1"],
                        "sagemaker:monitoring-schedule" => &["monitoring-schedule/drift-1"],
                        "sagemaker:space" => &["space/d-1/team"],
                        "sagemaker:feature-group" => &["feature-group/fg-1"],
                        "sagemaker:user-profile" => &["user-profile/d-1/alice", "user-profile/d-1/bob"],
                        "sagemaker:pipeline" => &["pipeline/pipe-1"],
                        "sagemaker:automl-job" => &["automl-job/automl-1"],
                        "sagemaker:labeling-job" => &["labeling-job/label-1"],
                        "sagemaker:compilation-job" => &["compilation-job/neo-1"],
                        "sagemaker:optimization-job" => &["optimization-job/opt-1"],
                        "sagemaker:inference-recommendations-job" => &["inference-recommendations-job/rec-1"],
                        "sagemaker:edge-packaging-job" => &["edge-packaging-job/edge-1"],
                        "sagemaker:training-session" => &["training-session/session-1"],
                        "sagemaker:job" => &["job/custom-1"],
                        "sagemaker:ai-benchmark-job" => &["ai-benchmark-job/bench-1"],
                        "sagemaker:ai-recommendation-job" => &["ai-recommendation-job/airec-1"],
                        "sagemaker:inference-experiment" => &["inference-experiment/shadow-1"],
                        _ => &[],
                    };
                    for path in paths {
                        let mapping = ResourceTagMapping::builder()
                            .resource_arn(sm(path))
                            .tags(tag("cost-center", "CC-1"))
                            .tags(tag("tagwarden:stopped-by", "ml-marketing"))
                            .tags(tag("tagwarden:scaled-by", "ml-marketing"))
                            .tags(tag("tagwarden:scaled-from", "AllTraffic=2"))
                            .build();
                        out = out.resource_tag_mapping_list(mapping);
                    }
                }
                out.build()
            }),
        ),
        (
            "ListNotebookInstances",
            mock!(Sm::list_notebook_instances).then_output(|| {
                let nb = t::NotebookInstanceSummary::builder()
                    .notebook_instance_name("nb-1")
                    .notebook_instance_arn(sm("notebook-instance/nb-1"))
                    .notebook_instance_status(t::NotebookInstanceStatus::InService)
                    .build();
                op::list_notebook_instances::ListNotebookInstancesOutput::builder().notebook_instances(nb).build()
            }),
        ),
        (
            "ListTrainingJobs",
            mock!(Sm::list_training_jobs).then_output(move || {
                let job = t::TrainingJobSummary::builder()
                    .training_job_name("train-1")
                    .training_job_arn(sm("training-job/train-1"))
                    .creation_time(epoch)
                    .training_job_status(t::TrainingJobStatus::InProgress)
                    .build();
                op::list_training_jobs::ListTrainingJobsOutput::builder().training_job_summaries(job).build()
            }),
        ),
        (
            "ListProcessingJobs",
            mock!(Sm::list_processing_jobs).then_output(move || {
                let job = t::ProcessingJobSummary::builder()
                    .processing_job_name("proc-1")
                    .processing_job_arn(sm("processing-job/proc-1"))
                    .creation_time(epoch)
                    .processing_job_status(t::ProcessingJobStatus::InProgress)
                    .build();
                op::list_processing_jobs::ListProcessingJobsOutput::builder().processing_job_summaries(job).build()
            }),
        ),
        (
            "ListTransformJobs",
            mock!(Sm::list_transform_jobs).then_output(move || {
                let job = t::TransformJobSummary::builder()
                    .transform_job_name("xform-1")
                    .transform_job_arn(sm("transform-job/xform-1"))
                    .creation_time(epoch)
                    .transform_job_status(t::TransformJobStatus::InProgress)
                    .build();
                op::list_transform_jobs::ListTransformJobsOutput::builder().transform_job_summaries(job).build()
            }),
        ),
        (
            "ListHyperParameterTuningJobs",
            mock!(Sm::list_hyper_parameter_tuning_jobs).then_output(move || {
                let job = t::HyperParameterTuningJobSummary::builder()
                    .hyper_parameter_tuning_job_name("hpo-1")
                    .hyper_parameter_tuning_job_arn(sm("hyper-parameter-tuning-job/hpo-1"))
                    .creation_time(epoch)
                    .hyper_parameter_tuning_job_status(t::HyperParameterTuningJobStatus::InProgress)
                    .build();
                op::list_hyper_parameter_tuning_jobs::ListHyperParameterTuningJobsOutput::builder()
                    .hyper_parameter_tuning_job_summaries(job)
                    .build()
            }),
        ),
        // stop-jobs' kinds of issue 15: one running job of each, in scope.
        (
            "ListPipelines",
            mock!(Sm::list_pipelines).then_output(|| {
                let pipeline = t::PipelineSummary::builder().pipeline_name("pipe-1").pipeline_arn(sm("pipeline/pipe-1")).build();
                op::list_pipelines::ListPipelinesOutput::builder().pipeline_summaries(pipeline).build()
            }),
        ),
        (
            "ListPipelineExecutions",
            mock!(Sm::list_pipeline_executions).then_output(|| {
                let running = t::PipelineExecutionSummary::builder()
                    .pipeline_execution_arn(sm("pipeline/pipe-1/execution/exec1"))
                    .pipeline_execution_status(t::PipelineExecutionStatus::Executing)
                    .build();
                let done = t::PipelineExecutionSummary::builder()
                    .pipeline_execution_arn(sm("pipeline/pipe-1/execution/exec0"))
                    .pipeline_execution_status(t::PipelineExecutionStatus::Succeeded)
                    .build();
                op::list_pipeline_executions::ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(running)
                    .pipeline_execution_summaries(done)
                    .build()
            }),
        ),
        (
            "ListAutoMLJobs",
            mock!(Sm::list_auto_ml_jobs).then_output(|| {
                let job = t::AutoMlJobSummary::builder().auto_ml_job_name("automl-1").auto_ml_job_arn(sm("automl-job/automl-1")).build();
                op::list_auto_ml_jobs::ListAutoMlJobsOutput::builder().auto_ml_job_summaries(job).build()
            }),
        ),
        (
            "ListLabelingJobs",
            mock!(Sm::list_labeling_jobs).then_output(|| {
                let job = t::LabelingJobSummary::builder().labeling_job_name("label-1").labeling_job_arn(sm("labeling-job/label-1")).build();
                op::list_labeling_jobs::ListLabelingJobsOutput::builder().labeling_job_summary_list(job).build()
            }),
        ),
        (
            "ListCompilationJobs",
            mock!(Sm::list_compilation_jobs).then_output(|| {
                let job = t::CompilationJobSummary::builder().compilation_job_name("neo-1").compilation_job_arn(sm("compilation-job/neo-1")).build();
                op::list_compilation_jobs::ListCompilationJobsOutput::builder().compilation_job_summaries(job).build()
            }),
        ),
        (
            "ListOptimizationJobs",
            mock!(Sm::list_optimization_jobs).then_output(|| {
                let job = t::OptimizationJobSummary::builder().optimization_job_name("opt-1").optimization_job_arn(sm("optimization-job/opt-1")).build();
                op::list_optimization_jobs::ListOptimizationJobsOutput::builder().optimization_job_summaries(job).build()
            }),
        ),
        (
            "ListInferenceRecommendationsJobs",
            mock!(Sm::list_inference_recommendations_jobs).then_output(|| {
                let job = t::InferenceRecommendationsJob::builder().job_name("rec-1").job_arn(sm("inference-recommendations-job/rec-1")).build();
                op::list_inference_recommendations_jobs::ListInferenceRecommendationsJobsOutput::builder()
                    .inference_recommendations_jobs(job)
                    .build()
            }),
        ),
        (
            "ListEdgePackagingJobs",
            mock!(Sm::list_edge_packaging_jobs).then_output(|| {
                let job = t::EdgePackagingJobSummary::builder().edge_packaging_job_name("edge-1").edge_packaging_job_arn(sm("edge-packaging-job/edge-1")).build();
                op::list_edge_packaging_jobs::ListEdgePackagingJobsOutput::builder().edge_packaging_job_summaries(job).build()
            }),
        ),
        (
            "ListTrainingSessions",
            mock!(Sm::list_training_sessions).then_output(|| {
                let session = t::TrainingSessionSummary::builder().training_session_arn(sm("training-session/session-1")).build();
                op::list_training_sessions::ListTrainingSessionsOutput::builder().training_session_summaries(session).build()
            }),
        ),
        (
            "ListJobs",
            mock!(Sm::list_jobs).then_compute_output(|input| {
                let mut out = op::list_jobs::ListJobsOutput::builder();
                if input.job_category() == Some(&t::JobCategory::AgentRft) {
                    let job = t::JobSummary::builder()
                        .job_name("custom-1")
                        .job_arn(sm("job/custom-1"))
                        .job_category(t::JobCategory::AgentRft)
                        .build();
                    out = out.job_summaries(job);
                }
                out.build()
            }),
        ),
        (
            "ListAIBenchmarkJobs",
            mock!(Sm::list_ai_benchmark_jobs).then_output(|| {
                let job = t::AiBenchmarkJobSummary::builder().ai_benchmark_job_name("bench-1").ai_benchmark_job_arn(sm("ai-benchmark-job/bench-1")).build();
                op::list_ai_benchmark_jobs::ListAiBenchmarkJobsOutput::builder().ai_benchmark_jobs(job).build()
            }),
        ),
        (
            "ListAIRecommendationJobs",
            mock!(Sm::list_ai_recommendation_jobs).then_output(|| {
                let job = t::AiRecommendationJobSummary::builder()
                    .ai_recommendation_job_name("airec-1")
                    .ai_recommendation_job_arn(sm("ai-recommendation-job/airec-1"))
                    .build();
                op::list_ai_recommendation_jobs::ListAiRecommendationJobsOutput::builder().ai_recommendation_jobs(job).build()
            }),
        ),
        (
            "ListInferenceExperiments",
            mock!(Sm::list_inference_experiments).then_output(|| {
                let experiment = t::InferenceExperimentSummary::builder().name("shadow-1").build();
                op::list_inference_experiments::ListInferenceExperimentsOutput::builder().inference_experiments(experiment).build()
            }),
        ),
        (
            "DescribeInferenceExperiment",
            mock!(Sm::describe_inference_experiment).then_output(|| {
                let shadow = t::ShadowModelVariantConfig::builder().shadow_model_variant_name("challenger").sampling_percentage(50).build();
                let config = t::ShadowModeConfig::builder().source_model_variant_name("production").shadow_model_variants(shadow).build();
                op::describe_inference_experiment::DescribeInferenceExperimentOutput::builder()
                    .arn(sm("inference-experiment/shadow-1"))
                    .name("shadow-1")
                    .status(t::InferenceExperimentStatus::Running)
                    .shadow_mode_config(config)
                    .build()
            }),
        ),
        (
            "StopPipelineExecution",
            mock!(Sm::stop_pipeline_execution).then_output(|| {
                op::stop_pipeline_execution::StopPipelineExecutionOutput::builder()
                    .pipeline_execution_arn(sm("pipeline/pipe-1/execution/exec1"))
                    .build()
            }),
        ),
        ("StopAutoMLJob", mock!(Sm::stop_auto_ml_job).then_output(|| op::stop_auto_ml_job::StopAutoMlJobOutput::builder().build())),
        ("StopLabelingJob", mock!(Sm::stop_labeling_job).then_output(|| op::stop_labeling_job::StopLabelingJobOutput::builder().build())),
        (
            "StopCompilationJob",
            mock!(Sm::stop_compilation_job).then_output(|| op::stop_compilation_job::StopCompilationJobOutput::builder().build()),
        ),
        (
            "StopOptimizationJob",
            mock!(Sm::stop_optimization_job).then_output(|| op::stop_optimization_job::StopOptimizationJobOutput::builder().build()),
        ),
        (
            "StopInferenceRecommendationsJob",
            mock!(Sm::stop_inference_recommendations_job).then_output(|| {
                op::stop_inference_recommendations_job::StopInferenceRecommendationsJobOutput::builder().build()
            }),
        ),
        (
            "StopEdgePackagingJob",
            mock!(Sm::stop_edge_packaging_job).then_output(|| op::stop_edge_packaging_job::StopEdgePackagingJobOutput::builder().build()),
        ),
        (
            "StopTrainingSession",
            mock!(Sm::stop_training_session).then_output(|| op::stop_training_session::StopTrainingSessionOutput::builder().build()),
        ),
        ("StopJob", mock!(Sm::stop_job).then_output(|| op::stop_job::StopJobOutput::builder().build())),
        (
            "StopAIBenchmarkJob",
            mock!(Sm::stop_ai_benchmark_job).then_output(|| op::stop_ai_benchmark_job::StopAiBenchmarkJobOutput::builder().build()),
        ),
        (
            "StopAIRecommendationJob",
            mock!(Sm::stop_ai_recommendation_job).then_output(|| op::stop_ai_recommendation_job::StopAiRecommendationJobOutput::builder().build()),
        ),
        (
            "StopInferenceExperiment",
            mock!(Sm::stop_inference_experiment).then_output(|| {
                op::stop_inference_experiment::StopInferenceExperimentOutput::builder()
                    .inference_experiment_arn(sm("inference-experiment/shadow-1"))
                    .build()
            }),
        ),
        (
            "ListApps",
            mock!(Sm::list_apps).then_output(|| {
                let app = t::AppDetails::builder()
                    .domain_id("d-1")
                    .user_profile_name("alice")
                    .app_type(t::AppType::JupyterLab)
                    .app_name("default")
                    .status(t::AppStatus::InService)
                    .build();
                op::list_apps::ListAppsOutput::builder().apps(app).build()
            }),
        ),
        (
            "ListEndpoints",
            mock!(Sm::list_endpoints).then_output(move || {
                let ep = t::EndpointSummary::builder()
                    .endpoint_name("ep-1")
                    .endpoint_arn(sm("endpoint/ep-1"))
                    .creation_time(epoch)
                    .last_modified_time(epoch)
                    .endpoint_status(t::EndpointStatus::InService)
                    .build();
                op::list_endpoints::ListEndpointsOutput::builder().endpoints(ep).build()
            }),
        ),
        (
            // The endpoint the ledger records deleting (restore creates it again) is gone.
            "DescribeEndpoint",
            mock!(Sm::describe_endpoint).match_requests(|r| r.endpoint_name() == Some("ep-gone")).then_error(|| {
                let meta = aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ValidationException")
                    .message("Could not find endpoint \"ep-gone\".")
                    .build();
                op::describe_endpoint::DescribeEndpointError::generic(meta)
            }),
        ),
        (
            "DescribeEndpoint",
            mock!(Sm::describe_endpoint).then_output(|| {
                let variant =
                    t::ProductionVariantSummary::builder().variant_name("AllTraffic").current_instance_count(2).build();
                op::describe_endpoint::DescribeEndpointOutput::builder()
                    .endpoint_config_name("ep-1-config")
                    .production_variants(variant)
                    .build()
            }),
        ),
        (
            "DescribeEndpointConfig",
            mock!(Sm::describe_endpoint_config).then_output(|| {
                let variant = t::ProductionVariant::builder()
                    .variant_name("AllTraffic")
                    .instance_type(t::ProductionVariantInstanceType::MlM5Xlarge)
                    .build();
                op::describe_endpoint_config::DescribeEndpointConfigOutput::builder()
                    .endpoint_config_name("ep-1-config")
                    .production_variants(variant)
                    .build()
            }),
        ),
        (
            "CreateEndpoint",
            mock!(Sm::create_endpoint).then_output(|| {
                op::create_endpoint::CreateEndpointOutput::builder().endpoint_arn(sm("endpoint/ep-gone")).build()
            }),
        ),
        (
            "DescribeProcessingJob",
            mock!(Sm::describe_processing_job).then_output(|| {
                let cluster = t::ProcessingClusterConfig::builder()
                    .instance_count(1)
                    .instance_type(t::ProcessingInstanceType::MlM5Xlarge)
                    .volume_size_in_gb(30)
                    .build();
                let resources = t::ProcessingResources::builder().cluster_config(cluster).build();
                op::describe_processing_job::DescribeProcessingJobOutput::builder()
                    .processing_job_name("proc-1")
                    .processing_resources(resources)
                    .build()
            }),
        ),
        (
            "DescribeTransformJob",
            mock!(Sm::describe_transform_job).then_output(|| {
                let resources = t::TransformResources::builder()
                    .instance_type(t::TransformInstanceType::MlM5Xlarge)
                    .instance_count(1)
                    .build();
                op::describe_transform_job::DescribeTransformJobOutput::builder()
                    .transform_job_name("xform-1")
                    .transform_resources(resources)
                    .build()
            }),
        ),
        (
            // The Price List: ml.m5.xlarge at $1 an hour for every usage the burn guard prices.
            "GetProducts",
            mock!(aws_sdk_pricing::Client::get_products).then_output(|| {
                let record = |component: &str| {
                    json!({
                        "product": {"attributes": {"instanceName": "ml.m5.xlarge", "component": component}},
                        "terms": {"OnDemand": {"o": {"priceDimensions": {"d": {"unit": "Hrs", "pricePerUnit": {"USD": "1.0"}}}}}}
                    })
                    .to_string()
                };
                let records = ["Notebook", "Hosting", "Training", "Processing", "Batch Transform"].map(record);
                aws_sdk_pricing::operation::get_products::GetProductsOutput::builder()
                    .set_price_list(Some(records.to_vec()))
                    .build()
            }),
        ),
        (
            "DescribeScalableTargets",
            mock!(Aas::describe_scalable_targets).then_compute_output(|input| {
                use aws_sdk_applicationautoscaling::types::{ScalableDimension, ScalableTarget, ServiceNamespace};
                let mut out = aas::describe_scalable_targets::DescribeScalableTargetsOutput::builder();
                for id in input.resource_ids() {
                    let target = ScalableTarget::builder()
                        .service_namespace(ServiceNamespace::Sagemaker)
                        .resource_id(id)
                        .scalable_dimension(input.scalable_dimension().cloned().unwrap_or(ScalableDimension::SageMakerVariantDesiredInstanceCount))
                        .min_capacity(2)
                        .max_capacity(4)
                        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/aas"))
                        .creation_time(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap();
                    out = out.scalable_targets(target);
                }
                out.build()
            }),
        ),
        (
            "RegisterScalableTarget",
            mock!(Aas::register_scalable_target)
                .then_output(|| aas::register_scalable_target::RegisterScalableTargetOutput::builder().build()),
        ),
        (
            "ListInferenceComponents",
            mock!(Sm::list_inference_components).then_output(move || {
                let ic = t::InferenceComponentSummary::builder()
                    .inference_component_name("ic-1")
                    .inference_component_arn(sm("inference-component/ic-1"))
                    .endpoint_name("ep-1")
                    .endpoint_arn(sm("endpoint/ep-1"))
                    .creation_time(epoch)
                    .last_modified_time(epoch)
                    .inference_component_status(t::InferenceComponentStatus::InService)
                    .build();
                op::list_inference_components::ListInferenceComponentsOutput::builder().inference_components(ic).build()
            }),
        ),
        (
            "DescribeInferenceComponent",
            mock!(Sm::describe_inference_component).then_output(|| {
                let runtime = t::InferenceComponentRuntimeConfigSummary::builder().desired_copy_count(3).build();
                op::describe_inference_component::DescribeInferenceComponentOutput::builder()
                    .inference_component_name("ic-1")
                    .runtime_config(runtime)
                    .build()
            }),
        ),
        (
            "UpdateInferenceComponentRuntimeConfig",
            mock!(Sm::update_inference_component_runtime_config).then_output(|| {
                op::update_inference_component_runtime_config::UpdateInferenceComponentRuntimeConfigOutput::builder()
                    .inference_component_arn(sm("inference-component/ic-1"))
                    .build()
            }),
        ),
        (
            "ListClusters",
            mock!(Sm::list_clusters).then_output(move || {
                let cluster = t::ClusterSummary::builder()
                    .cluster_name("hp-1")
                    .cluster_arn(sm("cluster/hp-1"))
                    .creation_time(epoch)
                    .cluster_status(t::ClusterStatus::Inservice)
                    .build();
                op::list_clusters::ListClustersOutput::builder().cluster_summaries(cluster).build()
            }),
        ),
        (
            "DescribeCluster",
            mock!(Sm::describe_cluster).then_output(|| {
                let group = t::ClusterInstanceGroupDetails::builder()
                    .instance_group_name("workers")
                    .instance_type(t::ClusterInstanceType::MlP548Xlarge)
                    .current_count(4)
                    .target_count(4)
                    .build();
                op::describe_cluster::DescribeClusterOutput::builder().cluster_name("hp-1").instance_groups(group).build()
            }),
        ),
        (
            "UpdateCluster",
            mock!(Sm::update_cluster).then_output(|| {
                op::update_cluster::UpdateClusterOutput::builder().cluster_arn(sm("cluster/hp-1")).build()
            }),
        ),
        (
            "DescribeTrainingJob",
            mock!(Sm::describe_training_job).then_output(|| {
                let pool = t::WarmPoolStatus::builder().status(t::WarmPoolResourceStatus::Available).build();
                op::describe_training_job::DescribeTrainingJobOutput::builder()
                    .training_job_name("train-1")
                    .warm_pool_status(pool)
                    .build()
            }),
        ),
        (
            "UpdateTrainingJob",
            mock!(Sm::update_training_job).then_output(|| {
                op::update_training_job::UpdateTrainingJobOutput::builder()
                    .training_job_arn(sm("training-job/train-1"))
                    .build()
            }),
        ),
        (
            "DescribeUserProfile",
            mock!(Sm::describe_user_profile).then_compute_output(|input| {
                let mut out = op::describe_user_profile::DescribeUserProfileOutput::builder();
                if input.user_profile_name() == Some("alice") {
                    let role = format!("arn:aws:iam::{ACCOUNT}:role/service-role/sm-exec");
                    out = out.user_settings(t::UserSettings::builder().execution_role(role).build());
                }
                out.build()
            }),
        ),
        (
            "DescribeDomain",
            mock!(Sm::describe_domain).then_output(|| {
                let role = format!("arn:aws:iam::{ACCOUNT}:role/service-role/sm-exec");
                op::describe_domain::DescribeDomainOutput::builder()
                    .default_user_settings(t::UserSettings::builder().execution_role(role).build())
                    .build()
            }),
        ),
        (
            "StopNotebookInstance",
            mock!(Sm::stop_notebook_instance)
                .then_output(|| op::stop_notebook_instance::StopNotebookInstanceOutput::builder().build()),
        ),
        (
            "StartNotebookInstance",
            mock!(Sm::start_notebook_instance)
                .then_output(|| op::start_notebook_instance::StartNotebookInstanceOutput::builder().build()),
        ),
        (
            "StopTrainingJob",
            mock!(Sm::stop_training_job)
                .then_output(|| op::stop_training_job::StopTrainingJobOutput::builder().build()),
        ),
        (
            "StopProcessingJob",
            mock!(Sm::stop_processing_job)
                .then_output(|| op::stop_processing_job::StopProcessingJobOutput::builder().build()),
        ),
        (
            "StopTransformJob",
            mock!(Sm::stop_transform_job)
                .then_output(|| op::stop_transform_job::StopTransformJobOutput::builder().build()),
        ),
        (
            "StopHyperParameterTuningJob",
            mock!(Sm::stop_hyper_parameter_tuning_job).then_output(|| {
                op::stop_hyper_parameter_tuning_job::StopHyperParameterTuningJobOutput::builder().build()
            }),
        ),
        ("DeleteApp", mock!(Sm::delete_app).then_output(|| op::delete_app::DeleteAppOutput::builder().build())),
        (
            "DeleteEndpoint",
            mock!(Sm::delete_endpoint).then_output(|| op::delete_endpoint::DeleteEndpointOutput::builder().build()),
        ),
        (
            "UpdateEndpointWeightsAndCapacities",
            mock!(Sm::update_endpoint_weights_and_capacities).then_output(|| {
                op::update_endpoint_weights_and_capacities::UpdateEndpointWeightsAndCapacitiesOutput::builder()
                    .endpoint_arn(sm("endpoint/ep-1"))
                    .build()
            }),
        ),
        ("AddTags", mock!(Sm::add_tags).then_output(|| op::add_tags::AddTagsOutput::builder().build())),
        ("DeleteTags", mock!(Sm::delete_tags).then_output(|| op::delete_tags::DeleteTagsOutput::builder().build())),
        (
            "ListRoles",
            mock!(aws_sdk_iam::Client::list_roles).then_output(move || {
                let role = aws_sdk_iam::types::Role::builder()
                    .path("/service-role/")
                    .role_name("sm-exec")
                    .role_id("AROA1")
                    .arn(format!("arn:aws:iam::{ACCOUNT}:role/service-role/sm-exec"))
                    .create_date(epoch)
                    .assume_role_policy_document(
                        "%7B%22Principal%22%3A%7B%22Service%22%3A%22sagemaker.amazonaws.com%22%7D%7D",
                    )
                    .build()
                    .unwrap();
                aws_sdk_iam::operation::list_roles::ListRolesOutput::builder()
                    .roles(role)
                    .is_truncated(false)
                    .build()
                    .unwrap()
            }),
        ),
        (
            "ListRoleTags",
            mock!(aws_sdk_iam::Client::list_role_tags).then_output(|| {
                aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput::builder()
                    .tags(iam_tag("cost-center", "CC-1"))
                    .tags(iam_tag("tagwarden:denied-by", "ml-marketing"))
                    .is_truncated(false)
                    .build()
                    .unwrap()
            }),
        ),
        (
            "ListAttachedRolePolicies",
            mock!(aws_sdk_iam::Client::list_attached_role_policies).then_output(|| {
                aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput::builder().build()
            }),
        ),
        (
            "TagRole",
            mock!(aws_sdk_iam::Client::tag_role)
                .then_output(|| aws_sdk_iam::operation::tag_role::TagRoleOutput::builder().build()),
        ),
        (
            "UntagRole",
            mock!(aws_sdk_iam::Client::untag_role)
                .then_output(|| aws_sdk_iam::operation::untag_role::UntagRoleOutput::builder().build()),
        ),
        (
            "AttachRolePolicy",
            mock!(aws_sdk_iam::Client::attach_role_policy)
                .then_output(|| aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput::builder().build()),
        ),
        (
            "ListMlflowTrackingServers",
            mock!(Sm::list_mlflow_tracking_servers).then_output(|| {
                let server = t::TrackingServerSummary::builder()
                    .tracking_server_name("mlflow-1")
                    .tracking_server_arn(sm("mlflow-tracking-server/mlflow-1"))
                    .tracking_server_status(t::TrackingServerStatus::Created)
                    .build();
                op::list_mlflow_tracking_servers::ListMlflowTrackingServersOutput::builder()
                    .tracking_server_summaries(server)
                    .build()
            }),
        ),
        (
            "StopMlflowTrackingServer",
            mock!(Sm::stop_mlflow_tracking_server).then_output(|| {
                op::stop_mlflow_tracking_server::StopMlflowTrackingServerOutput::builder()
                    .tracking_server_arn(sm("mlflow-tracking-server/mlflow-1"))
                    .build()
            }),
        ),
        (
            "DescribeMlflowTrackingServer",
            mock!(Sm::describe_mlflow_tracking_server).then_output(|| {
                op::describe_mlflow_tracking_server::DescribeMlflowTrackingServerOutput::builder()
                    .tracking_server_name("mlflow-1")
                    .tracking_server_status(t::TrackingServerStatus::Stopped)
                    .build()
            }),
        ),
        (
            "StartMlflowTrackingServer",
            mock!(Sm::start_mlflow_tracking_server).then_output(|| {
                op::start_mlflow_tracking_server::StartMlflowTrackingServerOutput::builder()
                    .tracking_server_arn(sm("mlflow-tracking-server/mlflow-1"))
                    .build()
            }),
        ),
        (
            "ListMonitoringSchedules",
            mock!(Sm::list_monitoring_schedules).then_output(move || {
                let schedule = t::MonitoringScheduleSummary::builder()
                    .monitoring_schedule_name("drift-1")
                    .monitoring_schedule_arn(sm("monitoring-schedule/drift-1"))
                    .creation_time(epoch)
                    .last_modified_time(epoch)
                    .monitoring_schedule_status(t::ScheduleStatus::Scheduled)
                    .build();
                op::list_monitoring_schedules::ListMonitoringSchedulesOutput::builder()
                    .monitoring_schedule_summaries(schedule)
                    .build()
            }),
        ),
        (
            "StopMonitoringSchedule",
            mock!(Sm::stop_monitoring_schedule)
                .then_output(|| op::stop_monitoring_schedule::StopMonitoringScheduleOutput::builder().build()),
        ),
        (
            "DescribeMonitoringSchedule",
            mock!(Sm::describe_monitoring_schedule).then_output(|| {
                op::describe_monitoring_schedule::DescribeMonitoringScheduleOutput::builder()
                    .monitoring_schedule_name("drift-1")
                    .monitoring_schedule_status(t::ScheduleStatus::Stopped)
                    .build()
            }),
        ),
        (
            "StartMonitoringSchedule",
            mock!(Sm::start_monitoring_schedule)
                .then_output(|| op::start_monitoring_schedule::StartMonitoringScheduleOutput::builder().build()),
        ),
        (
            "ListSpaces",
            mock!(Sm::list_spaces).then_output(|| {
                let space = t::SpaceDetails::builder().domain_id("d-1").space_name("team").build();
                op::list_spaces::ListSpacesOutput::builder().spaces(space).build()
            }),
        ),
        (
            "DescribeSpace",
            mock!(Sm::describe_space).then_output(|| {
                let ebs = t::EbsStorageSettings::builder().ebs_volume_size_in_gb(100).build();
                let storage = t::SpaceStorageSettings::builder().ebs_storage_settings(ebs).build();
                op::describe_space::DescribeSpaceOutput::builder()
                    .space_name("team")
                    .space_settings(t::SpaceSettings::builder().space_storage_settings(storage).build())
                    .build()
            }),
        ),
        (
            "ListFeatureGroups",
            mock!(Sm::list_feature_groups).then_output(move || {
                let group = t::FeatureGroupSummary::builder()
                    .feature_group_name("fg-1")
                    .feature_group_arn(sm("feature-group/fg-1"))
                    .creation_time(epoch)
                    .feature_group_status(t::FeatureGroupStatus::Created)
                    .build();
                op::list_feature_groups::ListFeatureGroupsOutput::builder().feature_group_summaries(group).build()
            }),
        ),
        (
            "DescribeFeatureGroup",
            mock!(Sm::describe_feature_group).then_output(|| {
                op::describe_feature_group::DescribeFeatureGroupOutput::builder()
                    .feature_group_name("fg-1")
                    .online_store_config(t::OnlineStoreConfig::builder().enable_online_store(true).build())
                    .online_store_total_size_bytes(1 << 30)
                    .build()
            }),
        ),
        // The enforcement ledger: claims and records succeed; restore finds one undo item per reversible action.
        ("PutItem", mock!(Ddb::put_item).then_output(|| ddb::put_item::PutItemOutput::builder().build())),
        ("UpdateItem", mock!(Ddb::update_item).then_output(|| ddb::update_item::UpdateItemOutput::builder().build())),
        ("DeleteItem", mock!(Ddb::delete_item).then_output(|| ddb::delete_item::DeleteItemOutput::builder().build())),
        ("GetItem", mock!(Ddb::get_item).then_output(|| ddb::get_item::GetItemOutput::builder().build())),
        (
            "BatchWriteItem",
            mock!(Ddb::batch_write_item).then_output(|| ddb::batch_write_item::BatchWriteItemOutput::builder().build()),
        ),
        (
            "Query",
            mock!(Ddb::query).then_compute_output(|input| {
                let pk = input.expression_attribute_values().and_then(|v| v.get(":pk")).and_then(|v| v.as_s().ok());
                let items = match pk.map(String::as_str) {
                    Some("open") => vec![ledger_item(&[("budget", "ml-marketing"), ("period_end", "2026-12-01")])],
                    Some("budget#ml-marketing") => vec![
                        undo_item("stop-notebooks", &sm("notebook-instance/nb-1"), r#"{"kind":"notebook","name":"nb-1","status":"InService"}"#),
                        undo_item(
                            "scale-endpoints",
                            &sm("endpoint/ep-1"),
                            r#"{"kind":"endpoint","name":"ep-1","variants":[["AllTraffic",2]],"scalable_targets":[{"resource_id":"endpoint/ep-1/variant/AllTraffic","dimension":"sagemaker:variant:DesiredInstanceCount","min":2,"max":4}]}"#,
                        ),
                        undo_item(
                            "scale-endpoints",
                            &sm("endpoint/ep-gone"),
                            r#"{"kind":"deleted-endpoint","name":"ep-gone","endpoint_config":"ep-1-config","variants":[{"variant":"AllTraffic","instances":2,"weight":1.0}]}"#,
                        ),
                        undo_item(
                            "scale-inference-components",
                            &sm("inference-component/ic-1"),
                            r#"{"kind":"inference-component","name":"ic-1","copies":3}"#,
                        ),
                        undo_item(
                            "scale-clusters",
                            &sm("cluster/hp-1"),
                            r#"{"kind":"cluster","name":"hp-1","instance_groups":[["workers",4]]}"#,
                        ),
                        undo_item(
                            "stop-tracking-servers",
                            &sm("mlflow-tracking-server/mlflow-1"),
                            r#"{"kind":"tracking-server","name":"mlflow-1","status":"Created"}"#,
                        ),
                        undo_item(
                            "stop-monitoring-schedules",
                            &sm("monitoring-schedule/drift-1"),
                            r#"{"kind":"monitoring-schedule","name":"drift-1","status":"Scheduled"}"#,
                        ),
                        undo_item(
                            "deny-iam",
                            &format!("arn:aws:iam::{ACCOUNT}:role/service-role/sm-exec"),
                            &format!(r#"{{"kind":"role","name":"sm-exec","policy_arn":"arn:aws:iam::{ACCOUNT}:policy/deny"}}"#),
                        ),
                        undo_item(
                            "deny-instance-types",
                            &format!("arn:aws:iam::{ACCOUNT}:role/service-role/sm-exec"),
                            &format!(r#"{{"kind":"role","name":"sm-exec","policy_arn":"arn:aws:iam::{ACCOUNT}:policy/deny-instance-types"}}"#),
                        ),
                    ],
                    _ => vec![],
                };
                ddb::query::QueryOutput::builder().set_items(Some(items)).build()
            }),
        ),
        (
            "DetachRolePolicy",
            mock!(aws_sdk_iam::Client::detach_role_policy)
                .then_output(|| aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput::builder().build()),
        ),
        (
            "Publish",
            mock!(aws_sdk_sns::Client::publish)
                .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().message_id("m").build()),
        ),
    ]
}

fn enforcer_policy(endpoints: &str) -> Policy {
    let yaml = format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  notify_topic_arn: arn:aws:sns:us-east-1:{ACCOUNT}:enforcement\n  deny_policy_arn: arn:aws:iam::{ACCOUNT}:policy/deny\n  deny_instance_types_policy_arn: arn:aws:iam::{ACCOUNT}:policy/deny-instance-types\n  role_path_prefix: /\n  rules:\n    - budget: ml-*\n      scope: from-budget\n      restart_notebooks_on_restore: true\n      endpoints: {endpoints}\n      steps: [{{at: 100, actions: [notify, stop-notebooks, stop-jobs, delete-studio-apps, scale-endpoints, scale-inference-components, scale-clusters, stop-warm-pools, stop-inference-experiments, stop-tracking-servers, stop-monitoring-schedules, notify-storage, deny-instance-types, deny-iam]}}]\n"
    );
    Policy::from_yaml(&yaml, "faults").unwrap()
}

fn sample(function: &str, file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(function).join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The anomaly sample's monitor (`events/budget-enforcer/anomaly-sagemaker-tag.json`).
const ANOMALY_MONITOR: &str = "arn:aws:ce::123456789012:anomalymonitor/7d0e4b2a-3c1f-4e8a-9b6d-2f5a8c1e0d41";

/// An enforcer scenario: a name, the event, the policy.
fn enforcer_scenarios() -> Vec<(&'static str, Value, Policy)> {
    let alert = sample("budget-enforcer", "actual-125-percent.json");
    let anomaly = enforcer_policy("{min_instances: 0}").budgets;
    let yaml = format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  notify_topic_arn: {}\n  anomalies:\n    - {{monitor: team-*, actions: [notify, stop-notebooks]}}\n",
        anomaly.notify_topic_arn.unwrap_or_default()
    );
    vec![
        ("alert, scale endpoints", alert.clone(), enforcer_policy("{min_instances: 0}")),
        ("alert, delete endpoints", alert, enforcer_policy("{delete: true}")),
        ("restore", sample("budget-enforcer", "restore-command.json"), enforcer_policy("{min_instances: 0}")),
        (
            "cost anomaly, stop notebooks",
            sample("budget-enforcer", "anomaly-sagemaker-tag.json"),
            Policy::from_yaml(&yaml, "faults").unwrap(),
        ),
        ("burn over its limit, notify", json!({"tagwarden": "burn"}), burn_policy()),
    ]
}

/// A burn rule over `cost-center=CC-1` whose limit what runs in the world's scope exceeds ($1/h each).
fn burn_policy() -> Policy {
    let yaml = format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  notify_topic_arn: arn:aws:sns:us-east-1:{ACCOUNT}:enforcement\n  burn:\n    - name: cc-1\n      scope: {{tags: {{cost-center: [CC-1]}}}}\n      max_per_hour: 0.5\n      actions: [notify]\n"
    );
    Policy::from_yaml(&yaml, "faults").unwrap()
}

fn tagger_scenarios() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/auto-tagger");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    let mut scenarios: Vec<(String, Value)> =
        files.into_iter().map(|f| (f.clone(), sample("auto-tagger", &f))).collect();
    // A tamper restore reads the resource's execution role: the same change on each kind that has one.
    let model = "arn:aws:sagemaker:us-east-1:123456789012:model/alice-quick-deploy";
    for kind in ["notebook-instance", "processing-job", "hyper-parameter-tuning-job"] {
        let text = serde_json::to_string(&sample("auto-tagger", "tamper-delete-cost-center.json")).unwrap();
        let arn = format!("arn:aws:sagemaker:us-east-1:123456789012:{kind}/alice-work");
        assert!(text.contains(model), "the sample changes alice's model");
        let event = serde_json::from_str(&text.replace(model, &arn)).unwrap();
        scenarios.push((format!("tamper-delete-cost-center.json on a {kind}"), event));
    }
    // A transform job SageMaker started (for an AutoML or labeling job) is described for its launcher.
    let mut transform = sample("auto-tagger", "transform-job-ec2-instance-role.json");
    transform["detail"]["userIdentity"]["invokedBy"] = "sagemaker.amazonaws.com".into();
    scenarios.push(("transform-job-ec2-instance-role.json invoked by SageMaker".to_owned(), transform));
    scenarios
}

/// What one handler run produced, reduced to what the table checks.
#[derive(Debug)]
enum Run {
    Ok(String),
    Retryable {
        error_type: String,
        message: String,
        done: usize,
        failed: usize,
    },
    /// A non-retryable error (its message).
    Other(#[allow(dead_code)] String),
}

async fn run_tagger(event: &Value, injection: Option<Injection>, policy: &CallPolicy) -> (Run, FaultClient) {
    let (clients, fault) = clients(&tagger_world(), injection, policy);
    let mut tag_policy = Policy::example().unwrap();
    tag_policy.tags.drop_aliased_keys = true;
    let tagger = AutoTagger::new(clients, Arc::new(tag_policy), &TaggerSettings::default());
    let run = match tagger.handle(event).await {
        Ok(outcome) => Run::Ok(outcome.label().to_owned()),
        Err(err) => {
            let message = err.to_string();
            let diagnostic = lambda_runtime::Diagnostic::from(err);
            Run::Retryable { error_type: diagnostic.error_type, message, done: 0, failed: 0 }
        }
    };
    (run, fault)
}

async fn run_enforcer(
    event: &Value,
    policy: &Policy,
    injection: Option<Injection>,
    call_policy: &CallPolicy,
) -> (Run, FaultClient) {
    let world = enforcer_world();
    let (clients, fault) = clients(&world, injection, call_policy);
    let ledger = LedgerTable::new(clients.dynamodb.client(), "ledger");
    let pricing = PriceBook::new(pricing_client(&world, &fault, call_policy));
    let enforcer =
        BudgetEnforcer::new(clients, Arc::new(policy.clone())).with_ledger(ledger).with_pricing(Arc::new(pricing));
    let run = match enforcer.handle_lambda(event).await {
        Ok(outcome) => Run::Ok(outcome.label().to_owned()),
        Err(err) if err.is_retryable() => {
            let (done, failed) = match &err {
                EnforceError::Incomplete(i) => (i.done().count(), i.failed().count()),
                _ => (0, 0),
            };
            let message = err.to_string();
            let diagnostic = lambda_runtime::Diagnostic::from(err);
            Run::Retryable { error_type: diagnostic.error_type, message, done, failed }
        }
        Err(err) => Run::Other(err.to_string()),
    };
    (run, fault)
}

fn injection(operation: &str, fault: Fault) -> Injection {
    Injection { operation: operation.to_owned(), body_contains: None, fault, fail_first: usize::MAX, then_error: None }
}

/// The operations a function's permissions allow, as SDK operation names.
fn operations(permissions: impl IntoIterator<Item = permissions::Permission>) -> BTreeSet<String> {
    permissions
        .into_iter()
        .map(|(action, _)| action.split_once(':').unwrap().1.to_owned())
        .filter(|op| op != "GetParameter") // read once at cold start by Config::load, not by the handler
        .map(|op| if op == "ViewBudget" { "DescribeBudget".to_owned() } else { op })
        .collect()
}

/// One table case's verdict: the handler's error is retryable and the operation saw all its attempts.
fn check(case: &str, run: &Run, fault: &FaultClient, operation: &str) -> Result<usize, String> {
    let attempts = fault.attempts.lock().unwrap().get(operation).copied().unwrap_or(0);
    let Run::Retryable { error_type, message, .. } = run else {
        return Err(format!("{case}: expected a retryable error, got {run:?}"));
    };
    if !error_type.starts_with("Tagwarden.Retryable.") {
        return Err(format!("{case}: error type {error_type}"));
    }
    if !message.contains(operation) {
        return Err(format!("{case}: the error does not name {operation}: {message}"));
    }
    let max = TEST_POLICY.max_attempts as usize;
    if attempts < max || attempts % max != 0 {
        return Err(format!("{case}: {attempts} attempts of {operation}, expected a multiple of {max}"));
    }
    Ok(attempts)
}

#[tokio::test]
async fn every_auto_tagger_call_under_every_fault_ends_in_a_retryable_error_after_all_attempts() {
    // Which sample event reaches which operation (no fault), so each case runs the first event that does.
    let mut reaching: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for (name, event) in tagger_scenarios() {
        let (run, fault) = run_tagger(&event, None, &TEST_POLICY).await;
        assert!(matches!(run, Run::Ok(_)), "{name} without faults: {run:?}");
        for op in fault.attempts.lock().unwrap().keys() {
            reaching.entry(op.clone()).or_insert_with(|| (name.clone(), event.clone()));
        }
    }
    // The event path's calls; the scheduled sweep's listings (permissions::SWEEP) have their own mock tests, and
    // so do a profile's budgets (permissions::PROFILE_BUDGETS: budgets::profile's throttled, 5xx and denied
    // cases; the example policy has no `per: user-profile` entry, so this world makes no Budgets call).
    let event_path = permissions::AUTO_TAGGER.iter().copied().filter(|p| !permissions::PROFILE_BUDGETS.contains(p));
    let mut expected = operations(event_path);
    expected.insert("GetCallerIdentity".to_owned()); // tamper protection's own principal; needs no permission
    let reached: BTreeSet<String> = reaching.keys().cloned().collect();
    assert_eq!(reached, expected, "the world reaches exactly the declared operations");
    let (mut cases, mut failures) = (0, Vec::new());
    let started = Instant::now();
    for (op, (name, event)) in &reaching {
        for fault in FAULTS {
            let case = format!("auto-tagger {op} x {fault:?} ({name})");
            let (run, client) = run_tagger(event, Some(injection(op, *fault)), &TEST_POLICY).await;
            cases += 1;
            if let Err(e) = check(&case, &run, &client, op) {
                failures.push(e);
            }
        }
    }
    println!(
        "auto-tagger: {cases} cases ({} operations x {} faults), {} failed, {:.1} s",
        reaching.len(),
        FAULTS.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Operations that change something: a fault in one must show up as a `failed` result of an incomplete
/// enforcement, next to what was done.
const WRITES: &[&str] = &[
    "StopNotebookInstance",
    "StartNotebookInstance",
    "StopTrainingJob",
    "StopProcessingJob",
    "StopTransformJob",
    "StopHyperParameterTuningJob",
    "StopPipelineExecution",
    "StopAutoMLJob",
    "StopLabelingJob",
    "StopCompilationJob",
    "StopOptimizationJob",
    "StopInferenceRecommendationsJob",
    "StopEdgePackagingJob",
    "StopTrainingSession",
    "StopJob",
    "StopAIBenchmarkJob",
    "StopAIRecommendationJob",
    "StopInferenceExperiment",
    "DeleteApp",
    "DeleteEndpoint",
    "CreateEndpoint",
    "UpdateEndpointWeightsAndCapacities",
    "RegisterScalableTarget",
    "UpdateInferenceComponentRuntimeConfig",
    "UpdateCluster",
    "UpdateTrainingJob",
    "StopMlflowTrackingServer",
    "StartMlflowTrackingServer",
    "StopMonitoringSchedule",
    "StartMonitoringSchedule",
    "AddTags",
    "DeleteTags",
    "TagRole",
    "UntagRole",
    "AttachRolePolicy",
    "DetachRolePolicy",
];

/// How many tasks share the budget-enforcer's fault table (the machine's two cores, with waiting to overlap).
const SHARES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_budget_enforcer_call_under_every_fault_ends_in_a_retryable_error_that_reports_partial_work() {
    let mut reaching: BTreeMap<String, (&str, Value, Policy)> = BTreeMap::new();
    for (name, event, policy) in enforcer_scenarios() {
        let (run, fault) = run_enforcer(&event, &policy, None, &TEST_POLICY).await;
        assert!(
            matches!(run, Run::Ok(ref label) if label == "enforced" || label == "restored" || label == "burn"),
            "{name}: {run:?}"
        );
        for op in fault.attempts.lock().unwrap().keys() {
            reaching.entry(op.clone()).or_insert_with(|| (name, event.clone(), policy.clone()));
        }
    }
    // NOTE: organization scale (AssumeRole, Organizations) is not reached by this single-account world;
    // tests/e2e/org_budget.rs covers it.
    let organization = operations(permissions::ORGANIZATION.iter().copied());
    let mut expected: BTreeSet<String> =
        operations(permissions::budget_enforcer()).difference(&organization).cloned().collect();
    expected.insert("GetCallerIdentity".to_owned()); // needs no permission
    // NOTE: the ledger reads a claim (GetItem) only when another invocation holds it (tests/e2e/ledger.rs
    // `two_simultaneous_deliveries_of_one_alert_act_once`); here the burn guard's price lookup reaches it.
    // NOTE: this world's invocations have no deadline, so nothing continues: tests/e2e/continuation.rs sends
    // parts (SendMessage) to the emulator's queue, and a failed send is a retryable error there.
    expected.remove("SendMessage");
    // NOTE: the burn scenario reaches the guard's own calls (GetProducts through the price book's client, on
    // the same faulty HTTP client; DescribeEndpointConfig, DescribeProcessingJob, DescribeTransformJob).
    // NOTE: the idle rules' GetMetricData runs on `{"tagwarden": "idle"}` only, and the CloudWatch client is
    // not in this world's `Clients` (the enforcer takes it apart, `with_cloudwatch`): tests/e2e/idle.rs reaches
    // it against the emulator, enforce/idle/endpoints.rs's mocked tests its batching.
    expected.remove("GetMetricData");
    let reached: BTreeSet<String> = reaching.keys().cloned().collect();
    assert_eq!(reached, expected, "the world reaches exactly the declared operations");
    // NOTE: an alert's only UpdateItem settles its claim after the work is done: a failure there is logged
    // and the claim's lease ends it. Restore's UpdateItem (closing what it undid) must surface a fault.
    let restore = enforcer_scenarios().into_iter().find(|(name, _, _)| *name == "restore").expect("restore");
    reaching.insert("UpdateItem".to_owned(), restore);
    let started = Instant::now();
    // NOTE: the cases are independent (each builds its own world and clients): run them on both cores,
    // a share each, so that the table's time stays flat as actions are added.
    let all: Vec<(String, &'static str, Value, Policy, Fault)> = reaching
        .iter()
        .flat_map(|(op, (name, event, policy))| {
            FAULTS.iter().map(move |fault| (op.clone(), *name, event.clone(), policy.clone(), *fault))
        })
        .collect();
    let cases = all.len();
    let mut shares: Vec<Vec<_>> = (0..SHARES).map(|_| Vec::new()).collect();
    for (i, case) in all.into_iter().enumerate() {
        shares[i % SHARES].push(case);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for share in shares {
        tasks.spawn(async move {
            let (mut failures, mut partial) = (Vec::new(), 0);
            for (op, name, event, policy, fault) in share {
                let case = format!("budget-enforcer {op} x {fault:?} ({name})");
                let (run, client) = run_enforcer(&event, &policy, Some(injection(&op, fault)), &TEST_POLICY).await;
                if let Err(e) = check(&case, &run, &client, &op) {
                    failures.push(e);
                    continue;
                }
                if let Run::Retryable { failed, done, message, .. } = &run {
                    if WRITES.contains(&op.as_str()) && *failed == 0 {
                        failures.push(format!("{case}: a failed write is not reported as failed: {message}"));
                    }
                    if *done > 0 || *failed > 0 {
                        partial += 1;
                    }
                }
            }
            (failures, partial)
        });
    }
    let (mut failures, mut partial) = (Vec::new(), 0);
    for (share_failures, share_partial) in tasks.join_all().await {
        failures.extend(share_failures);
        partial += share_partial;
    }
    failures.sort();
    println!(
        "budget-enforcer: {cases} cases ({} operations x {} faults), {partial} reported partial work, {} failed, {:.1} s",
        reaching.len(),
        FAULTS.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A policy whose one step takes only `action`.
fn single_action_policy(action: &str, endpoints: &str) -> Policy {
    let yaml = format!(
        "tags:\n  keys:\n    cost-center: {{}}\nbudgets:\n  notify_topic_arn: arn:aws:sns:us-east-1:{ACCOUNT}:enforcement\n  deny_policy_arn: arn:aws:iam::{ACCOUNT}:policy/deny\n  deny_instance_types_policy_arn: arn:aws:iam::{ACCOUNT}:policy/deny-instance-types\n  role_path_prefix: /\n  rules:\n    - budget: ml-*\n      scope: from-budget\n      restart_notebooks_on_restore: true\n      endpoints: {endpoints}\n      steps: [{{at: 100, actions: [{action}]}}]\n"
    );
    Policy::from_yaml(&yaml, "faults").unwrap()
}

#[tokio::test]
async fn every_action_calls_only_what_its_row_declares() {
    let alert = sample("budget-enforcer", "actual-125-percent.json");
    let base = operations(permissions::ENFORCER_BASE.iter().copied());
    let mut actions = 0;
    for action in tagwarden::enforce::actions() {
        let declared = operations(permissions::for_action(action).iter().copied());
        assert!(!declared.is_empty(), "{action} declares no permission");
        let mut allowed: BTreeSet<String> = declared.union(&base).cloned().collect();
        allowed.insert("GetCallerIdentity".to_owned()); // needs no permission
        for endpoints in ["{min_instances: 0}", "{delete: true}"] {
            let policy = single_action_policy(&action.to_string(), endpoints);
            let (run, fault) = run_enforcer(&alert, &policy, None, &TEST_POLICY).await;
            assert!(matches!(run, Run::Ok(_)), "{action} ({endpoints}): {run:?}");
            let reached: BTreeSet<String> = fault.attempts.lock().unwrap().keys().cloned().collect();
            let undeclared: Vec<&String> = reached.difference(&allowed).collect();
            assert!(
                undeclared.is_empty(),
                "{action} ({endpoints}) calls what its row does not declare: {undeclared:?}"
            );
            assert!(
                reached.intersection(&declared).next().is_some(),
                "{action} ({endpoints}) reached none of its calls"
            );
        }
        actions += 1;
    }
    assert!(actions > 1, "the action table is empty");
    // Restore undoes every reversible action at once: its calls are declared by the actions' rows.
    let restore = sample("budget-enforcer", "restore-command.json");
    let (run, fault) = run_enforcer(&restore, &enforcer_policy("{min_instances: 0}"), None, &TEST_POLICY).await;
    assert!(matches!(run, Run::Ok(ref label) if label == "restored"), "{run:?}");
    let mut allowed =
        operations(tagwarden::enforce::actions().flat_map(|a| permissions::for_action(a).iter().copied()));
    allowed.extend(base);
    allowed.insert("GetCallerIdentity".to_owned());
    let reached: BTreeSet<String> = fault.attempts.lock().unwrap().keys().cloned().collect();
    let undeclared: Vec<&String> = reached.difference(&allowed).collect();
    assert!(undeclared.is_empty(), "restore calls what no row declares: {undeclared:?}");
}

#[tokio::test]
async fn throttling_twice_then_success_is_absorbed_by_the_sdk_in_three_attempts() {
    // auto-tagger: its one write, AddTags (answered `{}` like the real service).
    let event = sample("auto-tagger", "notebook-instance-assumed-role-console.json");
    let throttled = Injection { fail_first: 2, ..injection("AddTags", Fault::Throttling) };
    let (run, fault) = run_tagger(&event, Some(throttled), &TEST_POLICY).await;
    assert!(matches!(run, Run::Ok(ref label) if label == "tagged"), "{run:?}");
    assert_eq!(fault.attempts.lock().unwrap()["AddTags"], 3, "2 throttled + 1 answered");
    // budget-enforcer: a stop.
    let (_, alert, policy) = enforcer_scenarios().remove(0);
    for fault_kind in [Fault::Throttling, Fault::Unavailable503, Fault::ConnectionReset] {
        let flaky = Injection { fail_first: 2, ..injection("StopNotebookInstance", fault_kind) };
        let (run, fault) = run_enforcer(&alert, &policy, Some(flaky), &TEST_POLICY).await;
        assert!(matches!(run, Run::Ok(ref label) if label == "enforced"), "{fault_kind:?}: {run:?}");
        assert_eq!(fault.attempts.lock().unwrap()["StopNotebookInstance"], 3, "{fault_kind:?}");
        assert_eq!(fault.matched.load(Ordering::SeqCst), 3);
    }
}

#[tokio::test]
async fn one_notebook_failing_after_retries_is_reported_with_the_others_done_and_a_second_run_finishes_it() {
    use aws_sdk_sagemaker::operation::list_notebook_instances::ListNotebookInstancesOutput;
    use aws_sdk_sagemaker::types::{NotebookInstanceStatus, NotebookInstanceSummary};
    // Five notebooks in scope; the world lists as running those not stopped yet.
    let stopped: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let world_for = |stopped: Arc<Mutex<BTreeSet<String>>>| {
        let mut world: World = enforcer_world().into_iter().filter(|(op, _)| *op != "ListNotebookInstances").collect();
        world.push((
            "ListNotebookInstances",
            mock!(aws_sdk_sagemaker::Client::list_notebook_instances).then_output(move || {
                let mut out = ListNotebookInstancesOutput::builder();
                for i in 1..=5 {
                    let name = format!("nb-{i}");
                    if !stopped.lock().unwrap().contains(&name) {
                        out = out.notebook_instances(
                            NotebookInstanceSummary::builder()
                                .notebook_instance_arn(sm(&format!("notebook-instance/{name}")))
                                .notebook_instance_name(name)
                                .notebook_instance_status(NotebookInstanceStatus::InService)
                                .build(),
                        );
                    }
                }
                out.build()
            }),
        ));
        world
    };
    let policy = Policy::from_yaml(
        "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  rules:\n    - budget: ml-*\n      scope: {tags: {cost-center: CC-1}}\n      steps: [{at: 100, actions: [stop-notebooks]}]\n",
        "faults",
    )
    .unwrap();
    // In scope: nb-1..nb-5 (the tagging API answers them all).
    let tagging = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(|| {
        use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
        let mut out = aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput::builder();
        for i in 1..=5 {
            out = out.resource_tag_mapping_list(
                ResourceTagMapping::builder()
                    .resource_arn(sm(&format!("notebook-instance/nb-{i}")))
                    .tags(Tag::builder().key("cost-center").value("CC-1").build().unwrap())
                    .build(),
            );
        }
        out.build()
    });
    let run = |injection: Option<Injection>| {
        let mut world = world_for(stopped.clone());
        world.retain(|(op, _)| *op != "GetResources");
        world.push(("GetResources", tagging.clone()));
        let (clients, fault) = clients(&world, injection, &TEST_POLICY);
        (BudgetEnforcer::new(clients, Arc::new(policy.clone())), fault)
    };
    let alert = sample("budget-enforcer", "actual-125-percent.json");

    // First run: nb-3 answers 503 on every attempt; the others are stopped.
    let nb3 = Injection {
        body_contains: Some("\"nb-3\"".into()),
        ..injection("StopNotebookInstance", Fault::Unavailable503)
    };
    let (enforcer, fault) = run(Some(nb3));
    let err = enforcer.handle_lambda(&alert).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let EnforceError::Incomplete(incomplete) = &err else { panic!("expected an incomplete enforcement, got {err}") };
    let done: Vec<&str> = incomplete.done().map(|r| r.resource_arn.rsplit('/').next().unwrap()).collect();
    let failed: Vec<&str> = incomplete.failed().map(|r| r.resource_arn.rsplit('/').next().unwrap()).collect();
    assert_eq!(done, ["nb-1", "nb-2", "nb-4", "nb-5"]);
    assert_eq!(failed, ["nb-3"]);
    assert!(
        err.to_string().contains("4 done, 1 failed") && err.to_string().contains("notebook-instance/nb-3"),
        "{err}"
    );
    assert_eq!(fault.matched.load(Ordering::SeqCst), 3, "nb-3 was tried with every attempt");
    println!("first run: {err}");
    stopped.lock().unwrap().extend(done.iter().map(|n| (*n).to_owned()));

    // Second run (Lambda's retry of the same alert): only nb-3 is stopped, the others are not touched again.
    let (enforcer, fault) = run(None);
    let EnforcementOutcome::Enforced(report) = enforcer.handle_lambda(&alert).await.unwrap() else {
        panic!("expected enforced")
    };
    let by_result: BTreeMap<String, Vec<&str>> = report.results.iter().fold(BTreeMap::new(), |mut m, r| {
        m.entry(r.result.to_string()).or_default().push(r.resource_arn.rsplit('/').next().unwrap());
        m
    });
    assert_eq!(by_result["done"], ["nb-3"]);
    assert_eq!(by_result["already-stopped"], ["nb-1", "nb-2", "nb-4", "nb-5"]);
    assert_eq!(fault.attempts.lock().unwrap()["StopNotebookInstance"], 1);
}

#[tokio::test]
async fn a_stop_retried_after_a_timeout_that_sagemaker_carried_out_counts_as_stopped_not_failed() {
    // The first attempt hangs (the service did stop the notebook); the SDK's retry is refused the way
    // SageMaker refuses stopping a notebook that is stopping (aws/amazon-sagemaker-examples#1798).
    let refused = "Status (Stopping) not in ([InService]). Unable to transition to (Stopping) for Notebook Instance (arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-1).";
    let timed_out = Injection {
        fail_first: 1,
        then_error: Some(("ValidationException", refused)),
        ..injection("StopNotebookInstance", Fault::Timeout)
    };
    let (_, alert, policy) = enforcer_scenarios().remove(0);
    let (clients, fault) = clients(&enforcer_world(), Some(timed_out), &TEST_POLICY);
    let enforcer = BudgetEnforcer::new(clients, Arc::new(policy));
    let EnforcementOutcome::Enforced(report) = enforcer.handle_lambda(&alert).await.unwrap() else {
        panic!("expected enforced")
    };
    let stop = report.results.iter().find(|r| r.action == "stop-notebooks").unwrap();
    assert_eq!(stop.result.to_string(), "already-stopped");
    assert_eq!(fault.matched.load(Ordering::SeqCst), 2, "one timed-out attempt, one refused retry");
}
