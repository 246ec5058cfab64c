//! The idle world: endpoints and notebook instances tagged by environment (`dev`, `prod`), CloudWatch
//! `Invocations` put for the ones that serve traffic, the ledger and the notification topic; and the policy
//! whose idle rules the tests and the demo run ([`IDLE_POLICY`]).

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_sagemaker::types::{
    ContainerDefinition, InstanceType, NotebookInstanceStatus, ProductionVariant, ProductionVariantInstanceType, Tag,
};
use chrono::{DateTime, Utc};
use tagwarden::Clients;
use tagwarden::enforce::ledger::LedgerTable;

use crate::ledger::create_ledger;

/// The notification topic the idle notices go to.
pub const TOPIC: &str = "tagwarden-enforcement";

/// The idle rules: dev endpoints idle for 3 days are noticed, then scaled to their minimum a day later; dev
/// notebooks stop at 20:00 Berlin time on weekdays and start again at 08:00. `exempt-*` is spared.
pub const IDLE_POLICY: &str = r#"
tags:
  keys:
    environment: {}
budgets:
  notify_topic_arn: arn:aws:sns:us-east-1:123456789012:tagwarden-enforcement
  exemptions:
    - resource: "exempt-*"
      reason: "the demo stand's endpoint (INC-7)"
idle:
  endpoints:
    - name: dev-endpoints
      scope: {tags: {environment: dev}}
      no_invocations_for: 3d
      grace: 1d
      then: scale-to-minimum
  off_hours:
    - name: dev-evenings
      scope: {tags: {environment: dev}}
      resources: [notebooks, studio-apps]
      stop_at: "20:00"
      start_at: "08:00"
      time_zone: Europe/Berlin
"#;

/// What the idle world's tests and demo use: the clients, CloudWatch and the ledger.
pub struct IdleWorld {
    /// Every client, pointed at the emulator.
    pub clients: Clients,
    /// CloudWatch, for `Invocations`.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// The enforcement ledger.
    pub ledger: LedgerTable,
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// The ledger table and the notification topic in a fresh emulator.
pub async fn idle_world(config: &SdkConfig) -> Result<IdleWorld, String> {
    let clients = Clients::new(config);
    let ledger = create_ledger(config).await?;
    clients.sns.create_topic().name(TOPIC).send().await.map_err(|e| format!("CreateTopic: {e:?}"))?;
    Ok(IdleWorld { clients, cloudwatch: aws_sdk_cloudwatch::Client::new(config), ledger })
}

impl IdleWorld {
    /// Endpoint `name` (variant `AllTraffic`, `instances` × `instance_type`) tagged `environment`; its ARN.
    pub async fn endpoint(
        &self,
        name: &str,
        environment: &str,
        instances: i32,
        instance_type: ProductionVariantInstanceType,
    ) -> Result<String, String> {
        let sm = &self.clients.sagemaker;
        let container = ContainerDefinition::builder()
            .image("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
            .model_data_url(format!("s3://ml-artifacts-123456789012/models/{name}/model.tar.gz"))
            .build();
        sm.create_model()
            .model_name(format!("{name}-model"))
            .execution_role_arn("arn:aws:iam::123456789012:role/mia-exec")
            .primary_container(container)
            .send()
            .await
            .map_err(|e| format!("CreateModel {name}-model: {e:?}"))?;
        let config = format!("{name}-config");
        let variant = ProductionVariant::builder()
            .variant_name("AllTraffic")
            .model_name(format!("{name}-model"))
            .initial_instance_count(instances)
            .instance_type(instance_type)
            .initial_variant_weight(1.0)
            .build();
        sm.create_endpoint_config()
            .endpoint_config_name(&config)
            .production_variants(variant)
            .send()
            .await
            .map_err(|e| format!("CreateEndpointConfig {config}: {e:?}"))?;
        let out = sm
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(&config)
            .tags(tag("environment", environment))
            .send()
            .await
            .map_err(|e| format!("CreateEndpoint {name}: {e:?}"))?;
        out.endpoint_arn().map(str::to_owned).ok_or_else(|| format!("CreateEndpoint {name}: no ARN"))
    }

    /// Notebook `name` (`instance_type`) tagged `environment`, InService; its ARN.
    pub async fn notebook(&self, name: &str, environment: &str, instance_type: InstanceType) -> Result<String, String> {
        let out = self
            .clients
            .sagemaker
            .create_notebook_instance()
            .notebook_instance_name(name)
            .instance_type(instance_type)
            .role_arn("arn:aws:iam::123456789012:role/mia-exec")
            .tags(tag("environment", environment))
            .send()
            .await
            .map_err(|e| format!("CreateNotebookInstance {name}: {e:?}"))?;
        out.notebook_instance_arn().map(str::to_owned).ok_or_else(|| format!("CreateNotebookInstance {name}: no ARN"))
    }

    /// Puts `count` invocations of `endpoint`'s `AllTraffic` variant at `at` (SageMaker publishes them so).
    pub async fn invocations(&self, endpoint: &str, count: f64, at: DateTime<Utc>) -> Result<(), String> {
        let datum = MetricDatum::builder()
            .metric_name("Invocations")
            .dimensions(Dimension::builder().name("EndpointName").value(endpoint).build())
            .dimensions(Dimension::builder().name("VariantName").value("AllTraffic").build())
            .timestamp(aws_smithy_types::DateTime::from_secs(at.timestamp()))
            .value(count)
            .unit(StandardUnit::None)
            .build();
        self.cloudwatch
            .put_metric_data()
            .namespace("AWS/SageMaker")
            .metric_data(datum)
            .send()
            .await
            .map_err(|e| format!("PutMetricData {endpoint}: {e:?}"))?;
        Ok(())
    }

    /// The instance count of `endpoint`'s `AllTraffic` variant.
    pub async fn instances(&self, endpoint: &str) -> Result<i32, String> {
        let out = self
            .clients
            .sagemaker
            .describe_endpoint()
            .endpoint_name(endpoint)
            .send()
            .await
            .map_err(|e| format!("DescribeEndpoint {endpoint}: {e:?}"))?;
        let variant = out.production_variants().first().ok_or_else(|| format!("{endpoint}: no variant"))?;
        variant.current_instance_count().ok_or_else(|| format!("{endpoint}: no instance count"))
    }

    /// The status of notebook `name`.
    pub async fn notebook_status(&self, name: &str) -> Result<NotebookInstanceStatus, String> {
        let out = self
            .clients
            .sagemaker
            .describe_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
            .map_err(|e| format!("DescribeNotebookInstance {name}: {e:?}"))?;
        out.notebook_instance_status().cloned().ok_or_else(|| format!("{name}: no status"))
    }
}
