//! `stop-jobs` and `stop-inference-experiments` against the emulator: one running resource of every kind they
//! stop, tagged into the budget world's `ml-*` scope, is stopped by one alert (read back with the kind's own
//! `Describe*`), a pipeline's execution is stopped and its pipeline left as it is, a shadow test ends with its
//! production variant serving and its shadow removed, and the same kinds out of scope keep running.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{Value, json};
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{OTHER_VALUE, SCOPE_KEY, SCOPE_VALUE, seed_budget_world};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{Emulator, REGION, sample_event};

const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/ml-marketing-exec";
const S3: &str = "s3://ml-marketing-artifacts-123456789012/out";

/// The example policy, whose 100 % step of `ml-*` stops jobs and inference experiments (and notifies).
fn policy() -> Policy {
    tagwarden_e2e::example_policy_with_step_100("notify, stop-jobs, stop-inference-experiments", "stops test").unwrap()
}

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}")
}

/// One running resource of a kind: how it is created, and how its status is read back.
pub(super) struct Running {
    /// The ARN its results are recorded under (an execution's for a pipeline).
    pub(super) arn: String,
    /// The `Describe*` call and its request.
    pub(super) describe: (&'static str, Value),
    /// Where the status is in the answer (`/AutoMLJobStatus`, a JSON pointer).
    pub(super) status: &'static str,
    /// The status it has once stopped.
    pub(super) stopped: &'static str,
}

/// Creates one running resource of every kind the two actions stop, named `<prefix>-…`, tagged `value`.
pub(super) fn seed(emulator: &Emulator, prefix: &str, value: &str) -> Vec<Running> {
    let tags = json!([{"Key": SCOPE_KEY, "Value": value}]);
    let create = |op: &str, body: Value| {
        let mut body = body;
        body["Tags"] = tags.clone();
        emulator.sagemaker(op, &body).unwrap_or_else(|e| panic!("{e}"))
    };
    let name = |kind: &str| format!("{prefix}-{kind}");
    let mut running = Vec::new();

    // A pipeline (tagged; its executions are its own), one execution Executing.
    let definition = json!({"Version": "2020-12-01", "Steps": []}).to_string();
    let pipeline = name("pipeline");
    create("CreatePipeline", json!({"PipelineName": pipeline, "RoleArn": ROLE, "PipelineDefinition": definition}));
    let started = emulator.sagemaker("StartPipelineExecution", &json!({"PipelineName": pipeline})).unwrap();
    let execution = started["PipelineExecutionArn"].as_str().unwrap().to_owned();
    emulator.set_status(&execution, "Executing").unwrap();
    running.push(Running {
        describe: ("DescribePipelineExecution", json!({"PipelineExecutionArn": execution})),
        arn: execution,
        status: "/PipelineExecutionStatus",
        stopped: "Stopped",
    });

    // moto's AutoML (V2, created InProgress) and compilation jobs (created COMPLETED).
    let automl = name("automl");
    let out = create(
        "CreateAutoMLJobV2",
        json!({"AutoMLJobName": automl, "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": S3},
               "AutoMLJobInputDataConfig": [{"ChannelType": "training",
                   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": S3}}}],
               "AutoMLProblemTypeConfig": {"TabularJobConfig": {"TargetAttributeName": "y",
                   "ProblemType": "BinaryClassification", "CompletionCriteria": {"MaxCandidates": 2}}}}),
    );
    running.push(Running {
        arn: out["AutoMLJobArn"].as_str().unwrap().to_owned(),
        describe: ("DescribeAutoMLJobV2", json!({"AutoMLJobName": automl})),
        status: "/AutoMLJobStatus",
        stopped: "Stopped",
    });
    let neo = name("neo");
    let out = create(
        "CreateCompilationJob",
        json!({"CompilationJobName": neo, "RoleArn": ROLE, "StoppingCondition": {"MaxRuntimeInSeconds": 900},
               "InputConfig": {"S3Uri": S3, "Framework": "PYTORCH"},
               "OutputConfig": {"S3OutputLocation": S3, "TargetDevice": "ml_c5"}}),
    );
    let neo_arn = out["CompilationJobArn"].as_str().unwrap().to_owned();
    emulator.set_status(&neo_arn, "INPROGRESS").unwrap();
    running.push(Running {
        arn: neo_arn,
        describe: ("DescribeCompilationJob", json!({"CompilationJobName": neo})),
        status: "/CompilationJobStatus",
        stopped: "STOPPED",
    });

    // The extension's kinds (created running): (Create*, its request, Describe*, status pointer, stopped).
    let kinds: [(&str, &str, Value, &str, &str, &str); 9] = [
        (
            "labeling-job",
            "CreateLabelingJob",
            json!({"LabelingJobName": name("label"), "LabelAttributeName": "label", "RoleArn": ROLE,
                   "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": S3}}},
                   "OutputConfig": {"S3OutputPath": S3},
                   "HumanTaskConfig": {"WorkteamArn": arn("workteam", "private-crowd/team"), "UiConfig": {},
                       "TaskTitle": "t", "TaskDescription": "d", "NumberOfHumanWorkersPerDataObject": 1,
                       "TaskTimeLimitInSeconds": 60}}),
            "DescribeLabelingJob",
            "/LabelingJobStatus",
            "Stopped",
        ),
        (
            "optimization-job",
            "CreateOptimizationJob",
            json!({"OptimizationJobName": name("opt"), "RoleArn": ROLE, "ModelSource": {"S3": {"S3Uri": S3}},
                   "DeploymentInstanceType": "ml.g5.xlarge", "OptimizationConfigs": [{"ModelCompilationConfig": {}}],
                   "OutputConfig": {"S3OutputLocation": S3}, "StoppingCondition": {"MaxRuntimeInSeconds": 900}}),
            "DescribeOptimizationJob",
            "/OptimizationJobStatus",
            "STOPPED",
        ),
        (
            "inference-recommendations-job",
            "CreateInferenceRecommendationsJob",
            json!({"JobName": name("recs"), "JobType": "Default", "RoleArn": ROLE,
                   "InputConfig": {"ModelName": "m"}}),
            "DescribeInferenceRecommendationsJob",
            "/Status",
            "STOPPED",
        ),
        (
            "edge-packaging-job",
            "CreateEdgePackagingJob",
            json!({"EdgePackagingJobName": name("edge"), "CompilationJobName": neo, "ModelName": "m",
                   "ModelVersion": "1", "RoleArn": ROLE, "OutputConfig": {"S3OutputLocation": S3}}),
            "DescribeEdgePackagingJob",
            "/EdgePackagingJobStatus",
            "STOPPED",
        ),
        (
            "training-session",
            "CreateTrainingSession",
            json!({"TrainingSessionName": name("session"), "RoleArn": ROLE, "LoraConfig": {}, "ModelConfig": {},
                   "OutputConfig": {}}),
            "DescribeTrainingSession",
            "/TrainingSessionDetail/TrainingSessionStatus",
            "Stopped",
        ),
        (
            "job",
            "CreateJob",
            json!({"JobName": name("custom"), "RoleArn": ROLE, "JobCategory": "AgentRFT",
                   "JobConfigSchemaVersion": "1.0.0", "JobConfigDocument": "{}"}),
            "DescribeJob",
            "/JobStatus",
            "Stopped",
        ),
        (
            "ai-benchmark-job",
            "CreateAIBenchmarkJob",
            json!({"AIBenchmarkJobName": name("bench"), "BenchmarkTarget": {"Endpoint": {"Identifier": "ep"}},
                   "OutputConfig": {"S3OutputLocation": S3}, "AIWorkloadConfigIdentifier": "w", "RoleArn": ROLE}),
            "DescribeAIBenchmarkJob",
            "/AIBenchmarkJobStatus",
            "Stopped",
        ),
        (
            "ai-recommendation-job",
            "CreateAIRecommendationJob",
            json!({"AIRecommendationJobName": name("airec"), "ModelSource": {"S3": {"S3Uri": S3}},
                   "OutputConfig": {"S3OutputLocation": S3}, "AIWorkloadConfigIdentifier": "w",
                   "PerformanceTarget": {}, "RoleArn": ROLE}),
            "DescribeAIRecommendationJob",
            "/AIRecommendationJobStatus",
            "Stopped",
        ),
        (
            "inference-experiment",
            "CreateInferenceExperiment",
            shadow_test(&name("shadow")),
            "DescribeInferenceExperiment",
            "/Status",
            "Completed",
        ),
    ];
    for (kind, op, request, describe, status, stopped) in kinds {
        create(op, request.clone());
        let (name_member, resource) = request
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| {
                k.ends_with("Name")
                    && !["ModelName", "CompilationJobName", "LabelAttributeName", "EndpointName"].contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .unwrap();
        let mut key = json!({ name_member: resource });
        if op == "CreateJob" {
            key["JobCategory"] = "AgentRFT".into();
        }
        running.push(Running { arn: arn(kind, &resource), describe: (describe, key), status, stopped });
    }
    running
}

/// A shadow test of endpoint `ep`: variant `production` serves, `challenger` gets half of the traffic copied.
fn shadow_test(name: &str) -> Value {
    let infrastructure = json!({"InfrastructureType": "RealTimeInference",
        "RealTimeInferenceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}});
    json!({"Name": name, "Type": "ShadowMode", "RoleArn": ROLE, "EndpointName": "ep",
        "ModelVariants": [
            {"ModelName": "m1", "VariantName": "production", "InfrastructureConfig": infrastructure},
            {"ModelName": "m2", "VariantName": "challenger", "InfrastructureConfig": infrastructure}],
        "ShadowModeConfig": {"SourceModelVariantName": "production",
            "ShadowModelVariants": [{"ShadowModelVariantName": "challenger", "SamplingPercentage": 50}]}})
}

pub(super) fn status_of(emulator: &Emulator, running: &Running) -> String {
    let (describe, key) = &running.describe;
    let answer = emulator.sagemaker(describe, key).unwrap();
    answer.pointer(running.status).and_then(Value::as_str).unwrap_or_else(|| panic!("{describe}: {answer}")).to_owned()
}

#[tokio::test]
async fn an_alert_stops_one_running_resource_of_every_stoppable_kind_in_scope_and_none_outside_it() {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_budget_world(&emulator, &config, 1).await.expect("seed");
    let ledger: LedgerTable = create_ledger(&config).await.expect("ledger table");
    let enforcer = BudgetEnforcer::new(Clients::new(&config), Arc::new(policy())).with_ledger(ledger);
    let in_scope = seed(&emulator, "mkt", SCOPE_VALUE);
    let outside = seed(&emulator, "res", OTHER_VALUE);
    assert_eq!(in_scope.len(), 12, "pipelines, AutoML, compilation and the nine kinds of the extension");
    for running in in_scope.iter().chain(&outside) {
        assert_ne!(status_of(&emulator, running), running.stopped, "{} runs before the alert", running.arn);
    }

    let event = sample_event("budget-enforcer", "actual-105-percent.json").unwrap();
    let outcome = enforcer.handle(&event, false).await.expect("no error");
    let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
    let result = |arn: &str| report.results.iter().find(|r| r.resource_arn == *arn).map(|r| r.result.to_string());

    for running in &in_scope {
        assert_eq!(result(&running.arn).as_deref(), Some("done"), "{}: {:?}", running.arn, report.results);
        assert_eq!(status_of(&emulator, running), running.stopped, "{}", running.arn);
    }
    for running in &outside {
        assert_eq!(result(&running.arn), None, "{} is out of scope", running.arn);
        assert_ne!(status_of(&emulator, running), running.stopped, "{} still runs", running.arn);
    }
    let experiment = in_scope.last().unwrap();
    assert!(experiment.arn.contains(":inference-experiment/"));
    let action = report.results.iter().find(|r| r.resource_arn == experiment.arn).map(|r| r.action.as_str());
    assert_eq!(action, Some("stop-inference-experiments"));
    let described = emulator.sagemaker("DescribeInferenceExperiment", &json!({"Name": "mkt-shadow"})).unwrap();
    let variants: Vec<(&str, &str)> = described["ModelVariants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["VariantName"].as_str().unwrap(), v["Status"].as_str().unwrap()))
        .collect();
    assert_eq!(variants, [("production", "InService"), ("challenger", "Deleted")], "production keeps serving");
    let pipeline = emulator.sagemaker("DescribePipeline", &json!({"PipelineName": "mkt-pipeline"})).unwrap();
    assert_eq!(pipeline["PipelineStatus"], "Active", "the pipeline itself is left as it is");
    assert!(report.results.iter().all(|r| !r.resource_arn.ends_with(":pipeline/mkt-pipeline")));
}
