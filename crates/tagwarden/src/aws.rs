//! SDK clients built once from an `SdkConfig`, and [`AwsError`]: every SDK failure classified as
//! retryable (throttling, 5xx, timeouts, broken connections) or not (not found, denied, rejected).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// The AWS clients Tagwarden uses, built once per process and shared by every invocation.
#[derive(Debug, Clone)]
pub struct Clients {
    /// SageMaker.
    pub sagemaker: aws_sdk_sagemaker::Client,
    /// IAM (principal tags, deny policies).
    pub iam: aws_sdk_iam::Client,
    /// SNS (notifications).
    pub sns: aws_sdk_sns::Client,
    /// Resource Groups Tagging API (finding resources by tag).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// AWS Budgets (a budget's cost filters).
    pub budgets: aws_sdk_budgets::Client,
    /// STS (the account the functions act in).
    pub sts: aws_sdk_sts::Client,
    /// SSM Parameter Store (the policy, read once at cold start).
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    /// Builds every client from one shared configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            sagemaker: aws_sdk_sagemaker::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            budgets: aws_sdk_budgets::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
        }
    }

    /// Loads the SDK's default configuration (environment, profile, IMDS; `AWS_ENDPOINT_URL` included).
    pub async fn from_env() -> Self {
        Self::new(&aws_config::defaults(BehaviorVersion::latest()).load().await)
    }

    /// The region the clients act in.
    pub fn region(&self) -> Option<&str> {
        self.sagemaker.config().region().map(|r| r.as_ref())
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

/// Classification by AWS error code, message and HTTP status.
fn classify(operation: &'static str, status: Option<u16>, code: String, message: String) -> AwsError {
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
    ];
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
