//! SDK clients built once from an `SdkConfig` with Tagwarden's [`CallPolicy`] (retries and timeouts), and
//! [`AwsError`]: every SDK failure classified as retryable (throttling, 5xx, timeouts, broken connections)
//! or not (not found, denied, rejected).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// The AWS clients Tagwarden uses, shared by every invocation of a process. Each is built on first use
/// ([`Lazy`]): a function builds only the clients its events need (the auto-tagger never builds Cost Explorer,
/// a member account's clients are mostly never built), and a clone shares what was built.
#[derive(Debug, Clone)]
pub struct Clients {
    /// SageMaker.
    pub sagemaker: Lazy<aws_sdk_sagemaker::Client>,
    /// IAM (principal tags, deny policies).
    pub iam: Lazy<aws_sdk_iam::Client>,
    /// SNS (notifications).
    pub sns: Lazy<aws_sdk_sns::Client>,
    /// Resource Groups Tagging API (finding resources by tag).
    pub tagging: Lazy<aws_sdk_resourcegroupstagging::Client>,
    /// AWS Budgets (a budget's cost filters).
    pub budgets: Lazy<aws_sdk_budgets::Client>,
    /// STS (the account the functions act in).
    pub sts: Lazy<aws_sdk_sts::Client>,
    /// SSM Parameter Store (the policy, read once at cold start).
    pub ssm: Lazy<aws_sdk_ssm::Client>,
    /// DynamoDB (the budget-enforcer's ledger).
    pub dynamodb: Lazy<aws_sdk_dynamodb::Client>,
    /// Application Auto Scaling (the scalable targets of autoscaled endpoint variants).
    pub autoscaling: Lazy<aws_sdk_applicationautoscaling::Client>,
    /// Cost Explorer (the anomalies an alert names, and their monitors).
    pub costexplorer: Lazy<aws_sdk_costexplorer::Client>,
    /// CloudWatch (idle endpoints' `Invocations`, read in each place of an organization).
    pub cloudwatch: Lazy<aws_sdk_cloudwatch::Client>,
}

impl Clients {
    /// Prepares every client from one shared configuration; each is built on its first use.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            // NOTE: the interceptor lets a paced call's limiter see throttles the SDK retried (crate::pace).
            sagemaker: Lazy::new(config, |config| {
                aws_sdk_sagemaker::Client::from_conf(
                    aws_sdk_sagemaker::config::Builder::from(config).interceptor(crate::pace::ThrottleSignal).build(),
                )
            }),
            iam: Lazy::new(config, aws_sdk_iam::Client::new),
            sns: Lazy::new(config, aws_sdk_sns::Client::new),
            tagging: Lazy::new(config, aws_sdk_resourcegroupstagging::Client::new),
            budgets: Lazy::new(config, aws_sdk_budgets::Client::new),
            sts: Lazy::new(config, aws_sdk_sts::Client::new),
            ssm: Lazy::new(config, aws_sdk_ssm::Client::new),
            dynamodb: Lazy::new(config, aws_sdk_dynamodb::Client::new),
            autoscaling: Lazy::new(config, aws_sdk_applicationautoscaling::Client::new),
            costexplorer: Lazy::new(config, aws_sdk_costexplorer::Client::new),
            cloudwatch: Lazy::new(config, aws_sdk_cloudwatch::Client::new),
        }
    }

    /// The clients built so far, by field name (what a process has paid for).
    pub fn built(&self) -> Vec<&'static str> {
        let fields = [
            ("sagemaker", self.sagemaker.is_built()),
            ("iam", self.iam.is_built()),
            ("sns", self.sns.is_built()),
            ("tagging", self.tagging.is_built()),
            ("budgets", self.budgets.is_built()),
            ("sts", self.sts.is_built()),
            ("ssm", self.ssm.is_built()),
            ("dynamodb", self.dynamodb.is_built()),
            ("autoscaling", self.autoscaling.is_built()),
            ("costexplorer", self.costexplorer.is_built()),
            ("cloudwatch", self.cloudwatch.is_built()),
        ];
        fields.into_iter().filter(|(_, built)| *built).map(|(name, _)| name).collect()
    }

    /// Builds every client from `config` with `policy`'s retries and timeouts in place of its own.
    pub fn with_policy(config: &SdkConfig, policy: &CallPolicy) -> Self {
        Self::new(&policy.apply(config))
    }

    /// Loads the SDK's default configuration (environment, profile, IMDS; `AWS_ENDPOINT_URL` included)
    /// with [`CallPolicy::from_env`]'s retries and timeouts.
    pub async fn from_env() -> Self {
        Self::new(&load_config().await)
    }

    /// The region the clients act in.
    pub fn region(&self) -> Option<&str> {
        self.sagemaker.config().region().map(|r| r.as_ref())
    }
}

/// An SDK client built from the shared configuration on first use (through `Deref`), then kept; clones share
/// it. `From<client>` wraps a client already built (tests' mocks).
pub struct Lazy<C> {
    config: SdkConfig,
    build: fn(&SdkConfig) -> C,
    cell: Arc<OnceLock<C>>,
}

impl<C> Lazy<C> {
    /// A client `build` makes from `config` when it is first used.
    pub fn new(config: &SdkConfig, build: fn(&SdkConfig) -> C) -> Self {
        Self { config: config.clone(), build, cell: Arc::new(OnceLock::new()) }
    }

    /// Whether the client has been built.
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }

    /// The client, built now if it was not yet.
    pub fn get(&self) -> &C {
        self.cell.get_or_init(|| (self.build)(&self.config))
    }
}

impl<C: Clone> Lazy<C> {
    /// A clone of the client itself (built now if it was not yet), for what takes the SDK client.
    pub fn client(&self) -> C {
        self.get().clone()
    }
}

impl<C> From<C> for Lazy<C> {
    fn from(client: C) -> Self {
        // NOTE: the cell holds the client, so `build` is never called.
        fn never<C>(_: &SdkConfig) -> C {
            unreachable!("a Lazy made from a client holds it")
        }
        Self { config: SdkConfig::builder().build(), build: never::<C>, cell: Arc::new(OnceLock::from(client)) }
    }
}

impl<C> Clone for Lazy<C> {
    fn clone(&self) -> Self {
        Self { config: self.config.clone(), build: self.build, cell: self.cell.clone() }
    }
}

impl<C> std::ops::Deref for Lazy<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.get()
    }
}

impl<C> std::fmt::Debug for Lazy<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_built() { "Lazy(built)" } else { "Lazy(not built)" })
    }
}

/// The SDK's default configuration (environment, profile, IMDS; `AWS_ENDPOINT_URL` included) with
/// [`CallPolicy::from_env`]'s retries and timeouts: what every client of the functions and the CLI is built from.
pub async fn load_config() -> SdkConfig {
    let policy = CallPolicy::from_env();
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(policy.retry_config())
        .timeout_config(policy.timeout_config())
        .load()
        .await
}

/// How every AWS call is retried and timed out; [`CallPolicy::DEFAULT`] holds the numbers.
///
/// Retries use the SDK's *standard* mode: after a retryable failure (throttling, 5xx, timeout, I/O error)
/// attempt `i` (from 1) waits `rand[0,1) * min(initial_backoff * 2^(i-1), max_backoff)` (full jitter),
/// or a server's `x-amz-retry-after` capped at `max_backoff`, and every retry takes tokens from a
/// process-wide bucket per service (500 tokens, 5 per retry, 10 after a timeout), so a long outage stops
/// retrying instead of multiplying the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Upper bound of the first retry's backoff (doubled per retry, jittered).
    pub initial_backoff: Duration,
    /// Upper bound of any one backoff.
    pub max_backoff: Duration,
    /// TCP and TLS connection set-up.
    pub connect_timeout: Duration,
    /// One attempt: connect, send and read the whole response.
    pub attempt_timeout: Duration,
    /// The whole call: every attempt and backoff. The hard bound on one call.
    pub operation_timeout: Duration,
}

impl CallPolicy {
    /// The deployed numbers. One call takes at most [`CallPolicy::worst_case`] =
    /// `min(operation_timeout, max_attempts * attempt_timeout + (max_attempts - 1) * max_backoff)`
    /// = min(10 s, 3 * 5 s + 2 * 2 s) = 10 s: a third of the auto-tagger's 30 s Lambda timeout and a
    /// thirtieth of the budget-enforcer's 300 s (checked against `infra/template.yaml` by a test), so a
    /// function whose AWS calls fail still returns its retryable error before Lambda kills it. Fast
    /// failures (throttling, 5xx, refused connections) get all 3 attempts within about 1.5 s of backoff;
    /// hanging connections get 2 before the operation timeout.
    pub const DEFAULT: Self = Self {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(10),
    };

    /// [`CallPolicy::DEFAULT`], with `max_attempts` from `TAGWARDEN_MAX_ATTEMPTS` (1 to 10) when set.
    /// The operation timeout still bounds every call.
    pub fn from_env() -> Self {
        let attempts = std::env::var("TAGWARDEN_MAX_ATTEMPTS").ok().and_then(|v| v.trim().parse::<u32>().ok());
        match attempts {
            Some(n) if (1..=10).contains(&n) => Self { max_attempts: n, ..Self::DEFAULT },
            _ => Self::DEFAULT,
        }
    }

    /// The longest one call can take, retries and backoffs included.
    pub fn worst_case(&self) -> Duration {
        let attempts = self.attempt_timeout * self.max_attempts;
        let backoffs = self.max_backoff * self.max_attempts.saturating_sub(1);
        self.operation_timeout.min(attempts + backoffs)
    }

    /// The SDK retry configuration: standard mode, these attempts and backoffs.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    /// The SDK timeout configuration: connect, per-attempt and whole-operation timeouts.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }

    /// `config` with this policy's retries and timeouts (endpoint, region and credentials kept).
    pub fn apply(&self, config: &SdkConfig) -> SdkConfig {
        config.to_builder().retry_config(self.retry_config()).timeout_config(self.timeout_config()).build()
    }
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An AWS call that failed, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The service throttled us (after the SDK's own retries).
    #[error("{operation}: throttled ({code}): {message}")]
    Throttled {
        /// The SDK operation.
        operation: &'static str,
        /// The AWS error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// 5xx, timeout or connection failure.
    #[error("{operation}: service unavailable: {message}")]
    Unavailable {
        /// The SDK operation.
        operation: &'static str,
        /// What failed.
        message: String,
    },
    /// The resource does not exist (any more).
    #[error("{operation}: not found: {message}")]
    NotFound {
        /// The SDK operation.
        operation: &'static str,
        /// The service's message.
        message: String,
    },
    /// Missing permission: a deployment problem, not fixed by retrying.
    #[error("{operation}: access denied: {message}")]
    AccessDenied {
        /// The SDK operation.
        operation: &'static str,
        /// The service's message.
        message: String,
    },
    /// The request was refused for another reason (validation, limits).
    #[error("{operation}: {code}: {message}")]
    Rejected {
        /// The SDK operation.
        operation: &'static str,
        /// The AWS error code.
        code: String,
        /// The service's message.
        message: String,
    },
}

impl AwsError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }

    /// Whether the error says the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Classifies an SDK error from `operation`.
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().unwrap_or_default().to_owned();
        let message = err
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(&err).to_string());
        if let SdkError::DispatchFailure(_) = &err
            && let Some(assume) = assume_role_failure(&err)
        {
            return assume;
        }
        match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                return Self::Unavailable { operation, message };
            }
            SdkError::ConstructionFailure(_) => {
                return Self::Rejected { operation, code: "ConstructionFailure".into(), message };
            }
            _ => {}
        }
        classify(operation, status, code, message)
    }
}

/// A call that failed before it was sent because its credentials could not be obtained from STS
/// `AssumeRole` (a member role, see [`crate::org`]): classified by STS's answer, with operation
/// `AssumeRole` (denied: not retryable; throttled or unreachable: retryable).
fn assume_role_failure(err: &(dyn std::error::Error + 'static)) -> Option<AwsError> {
    type AssumeRoleSdkError = aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>;
    let mut cause = err.source();
    while let Some(current) = cause {
        if let Some(sts) = current.downcast_ref::<AssumeRoleSdkError>() {
            let message = sts
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(sts).to_string());
            return Some(match sts {
                SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                    AwsError::Unavailable { operation: "AssumeRole", message }
                }
                _ => classify(
                    "AssumeRole",
                    sts.raw_response().map(|r| r.status().as_u16()),
                    sts.code().unwrap_or_default().to_owned(),
                    message,
                ),
            });
        }
        cause = current.source();
    }
    None
}

/// AWS error codes that mean "slow down".
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
];

/// Whether an AWS error code means the service throttled the call.
pub fn is_throttling_code(code: &str) -> bool {
    THROTTLING.contains(&code)
}

/// Classification by AWS error code, message and HTTP status.
fn classify(operation: &'static str, status: Option<u16>, code: String, message: String) -> AwsError {
    const NOT_FOUND: &[&str] =
        &["ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity", "NotFound", "NotFoundException"];
    const DENIED: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
    ];
    let lower = message.to_ascii_lowercase();
    if THROTTLING.contains(&code.as_str()) || status == Some(429) {
        AwsError::Throttled { operation, code, message }
    } else if NOT_FOUND.contains(&code.as_str())
        // NOTE: SageMaker reports unknown ARNs in AddTags/ListTags as a ValidationException.
        || (code == "ValidationException"
            && (lower.contains("not found") || lower.contains("does not exist") || lower.contains("could not find")))
    {
        AwsError::NotFound { operation, message }
    } else if DENIED.contains(&code.as_str()) || status == Some(403) {
        AwsError::AccessDenied { operation, message }
    } else if status.is_some_and(|s| s >= 500) || code == "InternalFailure" || code == "ServiceUnavailable" {
        AwsError::Unavailable { operation, message }
    } else {
        let code = if code.is_empty() { format!("HTTP {}", status.unwrap_or(0)) } else { code };
        AwsError::Rejected { operation, code, message }
    }
}

/// `.aws(operation)` on an SDK result: classify its error as an [`AwsError`].
pub trait ResultExt<T> {
    /// Maps the SDK error to an [`AwsError`] tagged with `operation`.
    fn aws(self, operation: &'static str) -> Result<T, AwsError>;
}

impl<T, E> ResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn aws(self, operation: &'static str) -> Result<T, AwsError> {
        self.map_err(|e| AwsError::from_sdk(operation, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_is_built_on_its_first_use_and_every_clone_shares_it() {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .load()
            .await;
        let clients = Clients::new(&config);
        let copy = clients.clone();
        assert!(clients.built().is_empty(), "{:?}", clients.built());
        assert_eq!(clients.sagemaker.config().region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(copy.built(), ["sagemaker"]);
        let wrapped = Lazy::from(clients.sagemaker.client());
        assert!(wrapped.is_built());
    }

    /// Each function's `Timeout` (or the template's `Globals`), by logical id.
    fn lambda_timeouts() -> Vec<(String, Duration)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
        let template: serde_norway::Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let global = template["Globals"]["Function"]["Timeout"].as_u64();
        let mut timeouts = Vec::new();
        for (id, resource) in template["Resources"].as_mapping().unwrap() {
            if resource["Type"].as_str() == Some("AWS::Serverless::Function") {
                let seconds = resource["Properties"]["Timeout"].as_u64().or(global).unwrap_or(3);
                timeouts.push((id.as_str().unwrap().to_owned(), Duration::from_secs(seconds)));
            }
        }
        timeouts
    }

    #[test]
    fn one_call_with_every_retry_takes_at_most_a_third_of_each_lambda_timeout() {
        let policy = CallPolicy::DEFAULT;
        let retried = policy.attempt_timeout * policy.max_attempts + policy.max_backoff * (policy.max_attempts - 1);
        assert_eq!(policy.worst_case(), policy.operation_timeout.min(retried));
        assert!(policy.connect_timeout <= policy.attempt_timeout && policy.attempt_timeout <= policy.operation_timeout);
        assert!(policy.initial_backoff <= policy.max_backoff && policy.max_attempts > 1);
        let timeouts = lambda_timeouts();
        assert_eq!(timeouts.len(), 2, "{timeouts:?}");
        for (function, timeout) in timeouts {
            println!("{function}: Lambda timeout {timeout:?}, worst case of one AWS call {:?}", policy.worst_case());
            assert!(policy.worst_case() * 3 <= timeout, "{function}: {:?} x 3 > {timeout:?}", policy.worst_case());
        }
    }

    #[test]
    fn the_policy_reaches_the_sdk_configuration() {
        let policy = CallPolicy::DEFAULT;
        let config = policy.apply(&SdkConfig::builder().build());
        let retry = config.retry_config().unwrap();
        assert_eq!(retry.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(
            (retry.max_attempts(), retry.initial_backoff(), retry.max_backoff()),
            (3, policy.initial_backoff, policy.max_backoff)
        );
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(policy.connect_timeout));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(policy.attempt_timeout));
        assert_eq!(timeouts.operation_timeout(), Some(policy.operation_timeout));
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_the_rest_is_not() {
        let c = |status, code: &str, message: &str| classify("Op", status, code.into(), message.into());
        assert!(c(Some(400), "ThrottlingException", "Rate exceeded").is_retryable());
        assert!(c(Some(429), "", "").is_retryable());
        assert!(c(Some(500), "", "<html>").is_retryable());
        assert!(c(Some(503), "ServiceUnavailable", "").is_retryable());
        assert!(!c(Some(403), "AccessDeniedException", "no").is_retryable());
        assert!(c(Some(400), "ValidationException", "Could not find model with name x").is_not_found());
        assert!(c(Some(404), "NoSuchEntity", "").is_not_found());
        let rejected = c(Some(400), "ValidationException", "too many tags");
        assert!(!rejected.is_retryable() && !rejected.is_not_found());
    }
}
