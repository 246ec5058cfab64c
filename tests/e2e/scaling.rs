//! The enforcer scales down what keeps running, against the emulator: endpoints under Application Auto
//! Scaling (moto's own) have their scalable target's bounds lowered with the count and restored with it;
//! serverless endpoints' provisioned concurrency, inference components' copies, HyperPod clusters' instance
//! groups come down and back; warm pools are released and stay released.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_sagemaker::types::{
    ClusterInstanceGroupSpecification, ClusterInstanceType, ClusterLifeCycleConfig, ContainerDefinition,
    DesiredWeightAndCapacity, InferenceComponentRuntimeConfig, InferenceComponentSpecification, ProductionVariant,
    ProductionVariantServerlessConfig, ResourceConfig, Tag, TrainingInputMode, TrainingInstanceType,
};
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{BudgetEnforcer, Clients, EnforcementOutcome, Policy};
use tagwarden_e2e::budget_world::{BudgetWorld, seed_budget_world};
use tagwarden_e2e::ledger::create_ledger;
use tagwarden_e2e::{Emulator, REGION, sample_event};

struct World {
    emulator: Emulator,
    clients: Clients,
    enforcer: BudgetEnforcer,
    seeded: BudgetWorld,
}

/// The example policy, whose 100 % step of `ml-*` scales endpoints and takes the given actions.
fn policy_with(actions: &str) -> Policy {
    tagwarden_e2e::example_policy_with_step_100(&format!("notify, scale-endpoints, {actions}"), "scaling test").unwrap()
}

async fn world() -> World {
    world_with(Policy::example().unwrap()).await
}

async fn world_with(policy: Policy) -> World {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    let seeded = seed_budget_world(&emulator, &config, 2).await.expect("seed");
    let clients = Clients::new(&config);
    let ledger: LedgerTable = create_ledger(&config).await.expect("ledger table");
    let policy = Arc::new(policy);
    let enforcer = BudgetEnforcer::new(clients.clone(), policy).with_ledger(ledger);
    World { emulator, clients, enforcer, seeded }
}

fn name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

fn variant_target(endpoint: &str) -> String {
    format!("endpoint/{endpoint}/variant/AllTraffic")
}

impl World {
    async fn alert(&self, file: &str) -> EnforcementOutcome {
        self.enforcer.handle(&sample_event("budget-enforcer", file).unwrap(), false).await.expect("no error")
    }

    async fn restore(&self) -> Vec<(String, String, String)> {
        let restore = serde_json::json!({"tagwarden": "restore", "budget": "ml-marketing"});
        let outcome = self.enforcer.handle(&restore, false).await.expect("restore");
        let EnforcementOutcome::Restored(report) = outcome else { panic!("expected restored, got {outcome:?}") };
        report.results.into_iter().map(|r| (r.action, r.resource_arn, r.result.to_string())).collect()
    }

    async fn instances(&self, endpoint: &str) -> i32 {
        let out = self.clients.sagemaker.describe_endpoint().endpoint_name(endpoint).send().await.unwrap();
        let variant = out.production_variants().first().unwrap();
        variant.desired_instance_count().or(variant.current_instance_count()).unwrap()
    }

    async fn register(&self, endpoint: &str, min: i32, max: i32) {
        self.clients
            .autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .resource_id(variant_target(endpoint))
            .min_capacity(min)
            .max_capacity(max)
            .send()
            .await
            .unwrap();
    }

    /// The variant's scalable target as Application Auto Scaling holds it: `(min, max)`.
    async fn bounds(&self, endpoint: &str) -> (i32, i32) {
        let out = self
            .clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_ids(variant_target(endpoint))
            .send()
            .await
            .unwrap();
        let target = out.scalable_targets().first().expect("the target is still registered");
        (target.min_capacity(), target.max_capacity())
    }

    /// What Application Auto Scaling does with a registered target (moto keeps targets but never acts on
    /// them): consult the target and bring the variant's count back within MinCapacity..=MaxCapacity.
    async fn consult_scalable_target(&self, endpoint: &str) {
        let (min, max) = self.bounds(endpoint).await;
        let count = self.instances(endpoint).await;
        let within = count.clamp(min, max);
        if within != count {
            let desired = DesiredWeightAndCapacity::builder().variant_name("AllTraffic").desired_instance_count(within);
            self.clients
                .sagemaker
                .update_endpoint_weights_and_capacities()
                .endpoint_name(endpoint)
                .desired_weights_and_capacities(desired.build())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn an_autoscaled_endpoint_stays_scaled_down_after_its_scalable_target_is_consulted_and_gets_its_bounds_back() {
    let w = world().await;
    let autoscaled = name_of(&w.seeded.in_scope.endpoints[0]).to_owned();
    w.register(&autoscaled, 2, 6).await;
    assert_eq!(w.instances(&autoscaled).await, 3);
    w.emulator.reset_calls().unwrap();

    assert_eq!(w.alert("actual-105-percent.json").await.label(), "enforced");
    let calls = w.emulator.calls().unwrap();
    let count = |op: &str| calls.by_action.get(op).copied().unwrap_or_default();
    assert_eq!(count("application-autoscaling.RegisterScalableTarget"), 1, "lowered once");
    assert_eq!(count("application-autoscaling.DescribeScalableTargets"), 1, "read once, before the change");
    assert_eq!(w.bounds(&autoscaled).await, (1, 1), "min and max lowered to the rule's min_instances");
    w.consult_scalable_target(&autoscaled).await;
    assert_eq!(w.instances(&autoscaled).await, 1, "the target does not put the instances back");

    let restored = w.restore().await;
    let arn = w.seeded.in_scope.endpoints[0].clone();
    assert!(restored.contains(&("restore-endpoint".into(), arn, "done".into())), "{restored:?}");
    assert_eq!(w.bounds(&autoscaled).await, (2, 6), "the recorded minimum and maximum");
    assert_eq!(w.instances(&autoscaled).await, 3, "the recorded count");
    w.consult_scalable_target(&autoscaled).await;
    assert_eq!(w.instances(&autoscaled).await, 3);
}

#[tokio::test]
async fn an_endpoint_already_at_the_minimum_has_its_scalable_targets_maximum_lowered_and_restored() {
    let w = world().await;
    let endpoint = name_of(&w.seeded.in_scope.endpoints[0]).to_owned();
    let one = DesiredWeightAndCapacity::builder().variant_name("AllTraffic").desired_instance_count(1).build();
    let sm = &w.clients.sagemaker;
    sm.update_endpoint_weights_and_capacities()
        .endpoint_name(&endpoint)
        .desired_weights_and_capacities(one)
        .send()
        .await
        .unwrap();
    // A scaling policy may add up to 6 instances under load while the budget is over.
    w.register(&endpoint, 1, 6).await;
    w.emulator.reset_calls().unwrap();

    assert_eq!(w.alert("actual-105-percent.json").await.label(), "enforced");
    let calls = w.emulator.calls().unwrap();
    let count = |op: &str| calls.by_action.get(op).copied().unwrap_or_default();
    assert_eq!(count("sagemaker.UpdateEndpointWeightsAndCapacities"), 0, "the count is already the minimum");
    assert_eq!(w.bounds(&endpoint).await, (1, 1), "no policy can scale it up");

    let restored = w.restore().await;
    let arn = w.seeded.in_scope.endpoints[0].clone();
    assert!(restored.contains(&("restore-endpoint".into(), arn, "done".into())), "{restored:?}");
    assert_eq!(w.bounds(&endpoint).await, (1, 6));
    assert_eq!(w.instances(&endpoint).await, 1);
}

const ROLE: &str = "arn:aws:iam::123456789012:role/ml-marketing-exec";

fn in_scope() -> Tag {
    Tag::builder().key("cost-center").value("CC-4100").build()
}

/// One of each running cost the scaling actions own, in scope (`cost-center=CC-4100`).
pub(super) struct Running {
    pub(super) serverless: String,
    pub(super) component: String,
    pub(super) cluster: String,
    pub(super) warm_job: String,
}

/// Seeds one of each running cost in scope: a serverless endpoint (provisioned concurrency 10), an inference
/// component of 4 copies on `host` (autoscaled 2..=8), a HyperPod cluster of 4 workers, a completed training
/// job whose warm pool is Available.
pub(super) async fn seed_running(emulator: &Emulator, clients: &Clients, host: &str) -> Running {
    let sm = &clients.sagemaker;
    let container = ContainerDefinition::builder().image("img").model_data_url("s3://bucket/m.tar.gz").build();
    sm.create_model()
        .model_name("sls-model")
        .execution_role_arn(ROLE)
        .primary_container(container)
        .send()
        .await
        .unwrap();
    let serverless = ProductionVariantServerlessConfig::builder()
        .memory_size_in_mb(2048)
        .max_concurrency(20)
        .provisioned_concurrency(10)
        .build();
    let variant = ProductionVariant::builder()
        .variant_name("AllTraffic")
        .model_name("sls-model")
        .serverless_config(serverless)
        .build();
    sm.create_endpoint_config()
        .endpoint_config_name("mkt-sls-config")
        .production_variants(variant)
        .send()
        .await
        .unwrap();
    let endpoint = sm
        .create_endpoint()
        .endpoint_name("mkt-sls")
        .endpoint_config_name("mkt-sls-config")
        .tags(in_scope())
        .send()
        .await
        .unwrap();

    let spec = InferenceComponentSpecification::builder().model_name("sls-model").build();
    let component = sm
        .create_inference_component()
        .inference_component_name("mkt-llm")
        .endpoint_name(host)
        .variant_name("AllTraffic")
        .specification(spec)
        .runtime_config(InferenceComponentRuntimeConfig::builder().copy_count(4).build())
        .tags(in_scope())
        .send()
        .await
        .unwrap();
    clients
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::SageMakerInferenceComponentDesiredCopyCount)
        .resource_id("inference-component/mkt-llm")
        .min_capacity(2)
        .max_capacity(8)
        .send()
        .await
        .unwrap();

    let lifecycle =
        ClusterLifeCycleConfig::builder().source_s3_uri("s3://sagemaker-lifecycle/").on_create("on_create.sh").build();
    let group = ClusterInstanceGroupSpecification::builder()
        .instance_group_name("workers")
        .instance_type(ClusterInstanceType::MlG5Xlarge)
        .instance_count(4)
        .life_cycle_config(lifecycle)
        .execution_role(ROLE)
        .threads_per_core(1)
        .build();
    let cluster =
        sm.create_cluster().cluster_name("mkt-hyperpod").instance_groups(group).tags(in_scope()).send().await.unwrap();

    let resources = ResourceConfig::builder()
        .instance_type(TrainingInstanceType::MlG5Xlarge)
        .instance_count(1)
        .volume_size_in_gb(10)
        .keep_alive_period_in_seconds(1800)
        .build();
    let job = sm
        .create_training_job()
        .training_job_name("mkt-warm")
        .role_arn(ROLE)
        .algorithm_specification(
            aws_sdk_sagemaker::types::AlgorithmSpecification::builder()
                .training_image("img")
                .training_input_mode(TrainingInputMode::File)
                .build(),
        )
        .output_data_config(
            aws_sdk_sagemaker::types::OutputDataConfig::builder().s3_output_path("s3://bucket/out").build(),
        )
        .resource_config(resources)
        .stopping_condition(aws_sdk_sagemaker::types::StoppingCondition::builder().max_runtime_in_seconds(3600).build())
        .tags(in_scope())
        .send()
        .await
        .unwrap();
    let warm_job = job.training_job_arn().unwrap().to_owned();
    emulator.set_status(&warm_job, "Completed").unwrap();
    Running {
        serverless: endpoint.endpoint_arn().unwrap().to_owned(),
        component: component.inference_component_arn().unwrap().to_owned(),
        cluster: cluster.cluster_arn().unwrap().to_owned(),
        warm_job,
    }
}

impl World {
    async fn seed_running(&self) -> Running {
        seed_running(&self.emulator, &self.clients, name_of(&self.seeded.in_scope.endpoints[0])).await
    }

    async fn provisioned_concurrency(&self, endpoint: &str) -> Option<i32> {
        let out = self.clients.sagemaker.describe_endpoint().endpoint_name(endpoint).send().await.unwrap();
        let variant = out.production_variants().first().unwrap();
        variant.current_serverless_config().and_then(|c| c.provisioned_concurrency())
    }

    async fn copies(&self, component: &str) -> i32 {
        let out = self
            .clients
            .sagemaker
            .describe_inference_component()
            .inference_component_name(component)
            .send()
            .await
            .unwrap();
        out.runtime_config().and_then(|r| r.desired_copy_count()).unwrap()
    }

    async fn component_bounds(&self, component: &str) -> (i32, i32) {
        let out = self
            .clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_ids(format!("inference-component/{component}"))
            .send()
            .await
            .unwrap();
        let target = out.scalable_targets().first().unwrap();
        (target.min_capacity(), target.max_capacity())
    }

    async fn cluster_workers(&self, cluster: &str) -> i32 {
        let out = self.clients.sagemaker.describe_cluster().cluster_name(cluster).send().await.unwrap();
        out.instance_groups().first().and_then(|g| g.target_count()).unwrap()
    }

    async fn warm_pool(&self, job: &str) -> Option<String> {
        let out = self.clients.sagemaker.describe_training_job().training_job_name(job).send().await.unwrap();
        out.warm_pool_status().and_then(|w| w.status()).map(|s| s.as_str().to_owned())
    }
}

#[tokio::test]
async fn an_alert_scales_down_each_running_cost_and_restore_brings_back_each_reversible_one() {
    let actions = "scale-inference-components, scale-clusters, stop-warm-pools";
    let w = world_with(policy_with(actions)).await;
    let running = w.seed_running().await;
    let host = name_of(&w.seeded.in_scope.endpoints[0]).to_owned();
    assert_eq!(w.warm_pool("mkt-warm").await.as_deref(), Some("Available"));
    w.emulator.reset_calls().unwrap();

    let outcome = w.alert("actual-105-percent.json").await;
    let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
    let result = |action: &str, arn: &str| {
        report.results.iter().find(|r| r.action == action && r.resource_arn == arn).map(|r| r.result.to_string())
    };
    assert_eq!(result("scale-endpoints", &running.serverless).as_deref(), Some("done"), "{:?}", report.results);
    assert_eq!(result("scale-inference-components", &running.component).as_deref(), Some("done"));
    assert_eq!(result("scale-clusters", &running.cluster).as_deref(), Some("done"));
    assert_eq!(result("stop-warm-pools", &running.warm_job).as_deref(), Some("done"));
    let pools: Vec<&str> =
        report.results.iter().filter(|r| r.action == "stop-warm-pools").map(|r| r.resource_arn.as_str()).collect();
    assert_eq!(pools, [running.warm_job.as_str()], "jobs without an Available pool are not listed");
    let calls = w.emulator.calls().unwrap();
    let count = |op: &str| calls.by_action.get(op).copied().unwrap_or_default();
    assert_eq!(
        count("sagemaker.UpdateEndpointWeightsAndCapacities"),
        2,
        "the instance endpoint and the serverless one"
    );
    assert_eq!(count("sagemaker.UpdateInferenceComponentRuntimeConfig"), 1);
    assert_eq!(count("sagemaker.UpdateCluster"), 1);
    assert_eq!(count("sagemaker.UpdateTrainingJob"), 1, "only the job whose pool is Available");
    assert_eq!(count("application-autoscaling.RegisterScalableTarget"), 1, "the component's target");
    assert_eq!(count("sagemaker.DeleteCluster"), 0, "a cluster is never deleted");

    assert_eq!(w.provisioned_concurrency("mkt-sls").await, Some(1));
    assert_eq!(w.instances(&host).await, 1);
    assert_eq!(w.copies("mkt-llm").await, 1);
    assert_eq!(w.component_bounds("mkt-llm").await, (1, 1));
    assert_eq!(w.cluster_workers("mkt-hyperpod").await, 1);
    assert_eq!(w.warm_pool("mkt-warm").await.as_deref(), Some("Terminated"));

    let restored = w.restore().await;
    for (action, arn) in [
        ("restore-endpoint", &running.serverless),
        ("restore-inference-component", &running.component),
        ("restore-cluster", &running.cluster),
    ] {
        assert!(restored.contains(&(action.into(), arn.clone(), "done".into())), "{action}: {restored:?}");
    }
    assert!(restored.iter().all(|(_, arn, _)| *arn != running.warm_job), "a released pool is not restored");
    assert_eq!(w.provisioned_concurrency("mkt-sls").await, Some(10));
    assert_eq!(w.instances(&host).await, 3);
    assert_eq!(w.copies("mkt-llm").await, 4);
    assert_eq!(w.component_bounds("mkt-llm").await, (2, 8));
    assert_eq!(w.cluster_workers("mkt-hyperpod").await, 4);
    assert_eq!(w.warm_pool("mkt-warm").await.as_deref(), Some("Terminated"));
}
