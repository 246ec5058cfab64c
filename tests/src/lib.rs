//! End-to-end support: runs the local emulator (moto server + Tagwarden's extension, see
//! `tests/emulator/`) on a free loopback port, builds SDK configuration pointed at it, seeds the demo
//! world, and reads the emulator's count of AWS calls.

pub mod budget_world;
pub mod estate;
pub mod idle;
pub mod ledger;
pub mod notebooks;
pub mod org;
pub mod org_budget;
pub mod proxy;
pub mod tagger;
pub mod world;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sagemaker::config::Credentials;
use serde_json::Value;

/// The account moto uses.
pub const ACCOUNT: &str = "123456789012";
/// The region the demo and tests use.
pub const REGION: &str = "us-east-1";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The example policy's 100 % step of `ml-*`, exactly as policy/tagwarden.yaml ships it.
pub const EXAMPLE_STEP_100: &str = "- {at: 100, actions: [notify, notify-storage, stop-notebooks, stop-jobs, \
delete-studio-apps, scale-endpoints,
            scale-inference-components, scale-clusters, stop-warm-pools, stop-tracking-servers,
            stop-monitoring-schedules, stop-inference-experiments]}";

/// The example policy with its 100 % step of `ml-*` taking `actions` (`"notify, stop-jobs"`) instead.
pub fn example_policy_with_step_100(actions: &str, source: &str) -> Result<tagwarden::Policy, String> {
    let text = tagwarden::policy::EXAMPLE_POLICY;
    if !text.contains(EXAMPLE_STEP_100) {
        return Err("the example policy's 100 % step moved: update EXAMPLE_STEP_100".into());
    }
    let text = text.replace(EXAMPLE_STEP_100, &format!("- {{at: 100, actions: [{actions}]}}"));
    tagwarden::Policy::from_yaml(&text, source).map_err(|e| e.to_string())
}

/// A running emulator; stopped when dropped.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    port: u16,
}

impl Emulator {
    /// Starts `tests/emulator/serve` on a free port and waits until it answers (30 s at most).
    pub fn start() -> Result<Self, String> {
        Self::start_on(free_port()?)
    }

    /// Starts the emulator on `port` and waits until it answers (30 s at most).
    pub fn start_on(port: u16) -> Result<Self, String> {
        Self::start_with(port, None)
    }

    /// Starts the emulator on a free port, answering every AWS call after `latency_ms` milliseconds.
    pub fn start_with_latency(latency_ms: u64) -> Result<Self, String> {
        Self::start_with(free_port()?, Some(latency_ms))
    }

    fn start_with(port: u16, latency_ms: Option<u64>) -> Result<Self, String> {
        let serve = repo_root().join("tests/emulator/serve");
        let mut command = Command::new(&serve);
        if let Some(ms) = latency_ms {
            command.env("TAGWARDEN_EMULATOR_LATENCY_MS", ms.to_string());
        }
        let child = command
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", serve.display()))?;
        let mut emulator = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if emulator.request("GET", "/_tagwarden/health", "").is_ok() {
                return Ok(emulator);
            }
            if let Ok(Some(status)) = emulator.child.try_wait() {
                return Err(format!("emulator exited before answering ({status}); run `make venv`"));
            }
            if Instant::now() > deadline {
                return Err("emulator did not answer within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The emulator process's id (to pause it with SIGSTOP in outage tests).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration pointed at the emulator with static test credentials.
    ///
    /// `attempts` = 1 disables retries: moto answers unimplemented calls with a 500 the SDK would retry.
    pub async fn sdk_config(&self, region: &str, attempts: u32) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tagwarden-e2e"))
            .retry_config(RetryConfig::standard().with_max_attempts(attempts))
            .load()
            .await
    }

    /// AWS calls the emulator has answered since the last reset, by `service.Action`.
    pub fn calls(&self) -> Result<CallCount, String> {
        let body = self.request("GET", "/_tagwarden/calls", "")?;
        let value: Value = serde_json::from_str(&body).map_err(|e| format!("calls: {e}"))?;
        let by_action = value["by_action"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
            .unwrap_or_default();
        let throttled = value["throttled"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
            .unwrap_or_default();
        Ok(CallCount { total: value["total"].as_u64().unwrap_or(0), by_action, throttled })
    }

    /// Answers `action` (`sagemaker.StopNotebookInstance`) at most `per_second` times a second from now on,
    /// with AWS's `ThrottlingException` past it (0 lifts it); throttled calls are counted in
    /// [`CallCount::throttled`].
    pub fn throttle(&self, action: &str, per_second: f64) -> Result<(), String> {
        let body = serde_json::json!({"action": action, "per_second": per_second}).to_string();
        self.request("POST", "/_tagwarden/throttle", &body).map(drop)
    }

    /// Zeroes the call count.
    pub fn reset_calls(&self) -> Result<(), String> {
        self.request("POST", "/_tagwarden/calls/reset", "").map(drop)
    }

    /// Sets a job's or notebook's status (moto creates jobs as Completed).
    pub fn set_status(&self, arn: &str, status: &str) -> Result<(), String> {
        let body = serde_json::json!({"arn": arn, "status": status}).to_string();
        self.request("POST", "/_tagwarden/status", &body).map(drop)
    }

    /// Sets what a feature group's online store holds (`OnlineStoreTotalSizeBytes`; the emulator stores no records).
    pub fn set_online_store_size(&self, arn: &str, bytes: i64) -> Result<(), String> {
        let body = serde_json::json!({"arn": arn, "bytes": bytes}).to_string();
        self.request("POST", "/_tagwarden/online-store-size", &body).map(drop)
    }

    /// Keeps a CloudTrail record (an event's `detail`) in the emulator's event history (`LookupEvents`).
    pub fn record_cloudtrail_event(&self, record: &Value) -> Result<(), String> {
        self.request("POST", "/_tagwarden/cloudtrail-event", &record.to_string()).map(drop)
    }

    /// Records that SageMaker launched job `arn` for `launcher` (a tuning, AutoML or labeling job): the
    /// job's description then names it, as SageMaker's does (moto launches no jobs itself).
    pub fn launched_by(&self, arn: &str, launcher: &str) -> Result<(), String> {
        let body = serde_json::json!({"arn": arn, "launched_by": launcher}).to_string();
        self.request("POST", "/_tagwarden/launched-by", &body).map(drop)
    }

    /// Makes STS refuse `AssumeRole` of `role_arn` with AccessDenied (a member role that does not trust us).
    pub fn deny_assume_role(&self, role_arn: &str) -> Result<(), String> {
        let body = serde_json::json!({ "role_arn": role_arn }).to_string();
        self.request("POST", "/_tagwarden/deny-assume-role", &body).map(drop)
    }

    /// Answers the next `times` calls of `action` (`sagemaker.AddTags`) with a `ThrottlingException`.
    pub fn throttle_next(&self, action: &str, times: u32) -> Result<(), String> {
        let body = serde_json::json!({ "action": action, "times": times }).to_string();
        self.request("POST", "/_tagwarden/throttle", &body).map(drop)
    }

    /// Makes `AssumeRole` of `role_arn` require `external_id`, as a trust policy's `sts:ExternalId` condition
    /// does (moto checks none): a request without it or with another is refused with AccessDenied.
    pub fn require_external_id(&self, role_arn: &str, external_id: &str) -> Result<(), String> {
        let body = serde_json::json!({ "role_arn": role_arn, "external_id": external_id }).to_string();
        self.request("POST", "/_tagwarden/require-external-id", &body).map(drop)
    }

    /// The `Subject` of every message published to SNS so far (moto's record), in order, per topic.
    pub fn sns_subjects(&self) -> Result<Vec<String>, String> {
        let body = self.request("GET", "/moto-api/data.json", "")?;
        let value: Value = serde_json::from_str(&body).map_err(|e| format!("data.json: {e}"))?;
        let topics = value["sns"]["Topic"].as_array().cloned().unwrap_or_default();
        Ok(topics
            .iter()
            .flat_map(|t| t["sent_notifications"].as_array().cloned().unwrap_or_default())
            .filter_map(|sent| sent[2].as_str().map(str::to_owned))
            .collect())
    }

    /// One SageMaker call as raw awsJson 1.1 (`X-Amz-Target: SageMaker.<operation>`, region `us-east-1`): for
    /// seeding kinds whose create requests carry nested members the emulator stores but never reads.
    pub fn sagemaker(&self, operation: &str, body: &Value) -> Result<Value, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
        let body = body.to_string();
        let request = format!(
            "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: SageMaker.{operation}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sagemaker/aws4_request, \
             SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
        let (head, answer) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        if head.split_whitespace().nth(1) != Some("200") {
            return Err(format!("{operation}: {}: {answer}", head.lines().next().unwrap_or_default()));
        }
        serde_json::from_str(if answer.is_empty() { "{}" } else { answer }).map_err(|e| format!("{operation}: {e}"))
    }

    /// Queues answers for moto's own `GetCostAndUsage` (`POST /moto-api/static/ce/cost-and-usage-results`): each
    /// request body not seen before takes the next one, in the order requests arrive (the same body, the same answer).
    pub fn seed_cost_and_usage(&self, results: &[Value]) -> Result<(), String> {
        let body = serde_json::json!({ "results": results }).to_string();
        self.request("POST", "/moto-api/static/ce/cost-and-usage-results", &body).map(drop)
    }

    /// Seeds `GetCostForecast` (emulator section 15): `[{"Tag": {"Key", "Value"}, "DailyMean": "1.5"}]`, value
    /// `""` for the untagged bucket.
    pub fn seed_cost_forecasts(&self, forecasts: &Value) -> Result<(), String> {
        let body = serde_json::json!({ "forecasts": forecasts }).to_string();
        self.request("POST", "/_tagwarden/ce-forecast", &body).map(drop)
    }

    /// Seeds what `GetAnomalies` answers (emulator section 17): Cost Explorer's `Anomaly` shapes (`AnomalyId`,
    /// `MonitorArn` of a monitor created before, `AnomalyScore`, `Impact`, dates, `RootCauses`).
    pub fn seed_anomalies(&self, anomalies: &Value) -> Result<(), String> {
        let body = serde_json::json!({ "anomalies": anomalies }).to_string();
        self.request("POST", "/_tagwarden/ce-anomalies", &body).map(drop)
    }

    /// Adds Price List records (each a product with its terms, the `GetProducts` shape) to those the emulator
    /// serves (emulator section 18).
    pub fn seed_price_list(&self, records: &Value) -> Result<(), String> {
        let body = serde_json::json!({ "records": records }).to_string();
        self.request("POST", "/_tagwarden/price-list", &body).map(drop)
    }

    /// A plain HTTP/1.0 request to the emulator's test endpoints; the body of a 2xx answer.
    fn request(&self, method: &str, path: &str, body: &str) -> Result<String, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        if !head.split_whitespace().nth(1).is_some_and(|status| status.starts_with('2')) {
            return Err(format!("{method} {path}: {}", head.lines().next().unwrap_or_default()));
        }
        Ok(body.to_owned())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The emulator's count of AWS calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCount {
    /// All calls.
    pub total: u64,
    /// Calls by `service.Action`, e.g. `sagemaker.AddTags`.
    pub by_action: std::collections::BTreeMap<String, u64>,
    /// Of those, the calls answered with a throttle (not carried out), by `service.Action`.
    pub throttled: std::collections::BTreeMap<String, u64>,
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// `binary` (the `tagwarden` CLI) as a person runs it against `emulator`: the SDK's environment variables
/// point it there with static test credentials and no retries, and no policy comes from the caller's
/// environment. Later `.env` calls override these.
pub fn cli(binary: &str, emulator: &Emulator) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(repo_root())
        .env("AWS_ENDPOINT_URL", emulator.endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("TAGWARDEN_POLICY_FILE")
        .env_remove("TAGWARDEN_POLICY")
        .env_remove("TAGWARDEN_POLICY_PARAMETER");
    command
}

/// Reads a sample event from `events/<function>/<file>`.
pub fn sample_event(function: &str, file: &str) -> Result<Value, String> {
    let path = repo_root().join("events").join(function).join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
