//! Role session names that say which tool acted, not who: the defaults of common CI/CD tools, AWS SDKs
//! and AWS services, each with where it comes from, and the policy's own patterns (`tags.machine_sessions`).
//!
//! In: a role session name. Out: the [`MachineSession`] it matches, if any. Pure: no I/O, no policy.
//! A session that matches is not the creator's name; the role is (see `Creator::from_identity`).

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// How a tool's default session name is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Exactly this name.
    Exact(&'static str),
    /// This prefix, then anything (a job name, a run id).
    Prefix(&'static str),
    /// This prefix, then one or more digits (a timestamp).
    PrefixDigits(&'static str),
    /// This prefix, then a UUID (`8-4-4-4-12` hex digits).
    PrefixUuid(&'static str),
    /// Digits only (a timestamp).
    Digits,
    /// An EC2 instance id: `i-` then 8 or 17 hex digits.
    InstanceId,
    /// An ECS task id: 32 hex digits, or a UUID (the older task ARN format).
    TaskId,
    /// 32 letters and digits in both cases, as a service generates at random.
    Random32,
}

impl Shape {
    /// Whether `session` has this shape.
    pub fn matches(self, session: &str) -> bool {
        match self {
            Self::Exact(name) => session == name,
            Self::Prefix(prefix) => session.len() > prefix.len() && session.starts_with(prefix),
            Self::PrefixDigits(prefix) => session.strip_prefix(prefix).is_some_and(is_digits),
            Self::PrefixUuid(prefix) => session.strip_prefix(prefix).is_some_and(is_uuid),
            Self::Digits => is_digits(session),
            Self::InstanceId => session
                .strip_prefix("i-")
                .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())),
            Self::TaskId => (session.len() == 32 && session.bytes().all(|b| b.is_ascii_hexdigit())) || is_uuid(session),
            Self::Random32 => {
                session.len() == 32
                    && session.bytes().all(|b| b.is_ascii_alphanumeric())
                    && session.bytes().any(|b| b.is_ascii_uppercase())
                    && session.bytes().any(|b| b.is_ascii_lowercase())
            }
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => f.write_str(name),
            Self::Prefix(prefix) => write!(f, "{prefix}*"),
            Self::PrefixDigits(prefix) => write!(f, "{prefix}<digits>"),
            Self::PrefixUuid(prefix) => write!(f, "{prefix}<uuid>"),
            Self::Digits => f.write_str("<digits>"),
            Self::InstanceId => f.write_str("i-<hex>"),
            Self::TaskId => f.write_str("<task-id>"),
            Self::Random32 => f.write_str("<32 random letters and digits>"),
        }
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// One tool's default role session name, and where that default is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultSession {
    /// A short kebab-case name of the tool, as the outcome's `machine_session.tool` carries it.
    pub tool: &'static str,
    /// The shape of the default session name.
    pub shape: Shape,
    /// A real session name of this shape (what the tests replay).
    pub example: &'static str,
    /// Where the default comes from: the tool's source or documentation, or a record of it in the wild.
    pub source: &'static str,
}

/// The default session names Tagwarden knows, in the order they are tried. `docs/references.md`
/// lists the same sources.
///
/// Not here because they cannot be told from a person's choice: Lambda names a function's session after the
/// function (since October 2016), the CircleCI `aws-cli` orb after the job (`${CIRCLE_JOB}`), and
/// `aws sts assume-role` requires a name. A policy names those in `tags.machine_sessions`.
pub const DEFAULT_SESSIONS: &[DefaultSession] = &[
    DefaultSession {
        tool: "github-actions",
        shape: Shape::Exact("GitHubActions"),
        example: "GitHubActions",
        source: "https://github.com/aws-actions/configure-aws-credentials/blob/main/action.yml",
    },
    DefaultSession {
        tool: "codebuild",
        shape: Shape::PrefixUuid("AWSCodeBuild-"),
        example: "AWSCodeBuild-dd50b2ee-cc57-4110-a68f-5277a6806036",
        source: "https://github.com/awslabs/aws-deployment-framework/pull/247",
    },
    DefaultSession {
        tool: "gitlab-ci",
        shape: Shape::Prefix("GitLabRunner-"),
        example: "GitLabRunner-41236544-1071153297",
        source: "https://docs.gitlab.com/ee/ci/cloud_services/aws/",
    },
    DefaultSession {
        tool: "buildkite",
        shape: Shape::Prefix("buildkite-job-"),
        example: "buildkite-job-01890f4a-77c5-4b9e-9a57-3f1b2c1d0e9f",
        source: "https://github.com/buildkite-plugins/aws-assume-role-with-web-identity-buildkite-plugin",
    },
    DefaultSession {
        tool: "jenkins",
        shape: Shape::Prefix("Jenkins-"),
        example: "Jenkins-train-churn-model-42",
        source: "https://github.com/jenkinsci/pipeline-aws-plugin/blob/master/src/main/java/de/taimos/pipeline/aws/RoleSessionNameBuilder.java",
    },
    DefaultSession {
        tool: "glue",
        shape: Shape::Exact("GlueJobRunnerSession"),
        example: "GlueJobRunnerSession",
        source: "https://github.com/LBHackney-IT/Data-Platform/pull/1654",
    },
    DefaultSession {
        tool: "mwaa",
        shape: Shape::Exact("AmazonMWAA-airflow"),
        example: "AmazonMWAA-airflow",
        source: "https://github.com/LBHackney-IT/Data-Platform/pull/2274",
    },
    DefaultSession {
        tool: "sagemaker",
        shape: Shape::Exact("SageMaker"),
        example: "SageMaker",
        source: "https://github.com/aws/amazon-sagemaker-feedback/issues/61",
    },
    DefaultSession {
        tool: "ec2-instance",
        shape: Shape::InstanceId,
        example: "i-0d87aae0ea9c6b1f2",
        source: "https://github.com/aws-samples/aws-hpc-tutorials/issues/271",
    },
    DefaultSession {
        tool: "ecs-task",
        shape: Shape::TaskId,
        example: "5d6c3a0f2e9b4c1d8a7e6f5b4c3d2e1f",
        source: "https://github.com/aws/containers-roadmap/issues/1917",
    },
    DefaultSession {
        tool: "step-functions",
        shape: Shape::Random32,
        example: "SVCYoZXhoIJzVtyCRCpayDZwRYlWEKHX",
        source: "https://github.com/aws-solutions-library-samples/data-lakes-on-aws/issues/242",
    },
    DefaultSession {
        tool: "lambda-before-2016",
        shape: Shape::Prefix("awslambda_"),
        example: "awslambda_642_20261127090000123",
        source: "https://github.com/cloud-custodian/cloud-custodian/issues/306",
    },
    DefaultSession {
        tool: "botocore",
        shape: Shape::PrefixDigits("botocore-session-"),
        example: "botocore-session-1764579741",
        source: "https://github.com/boto/botocore/blob/develop/botocore/credentials.py",
    },
    DefaultSession {
        tool: "aws-cli-v1-2015",
        shape: Shape::PrefixDigits("AWS-CLI-session-"),
        example: "AWS-CLI-session-1440675385",
        source: "https://github.com/aws/aws-cli/pull/1469",
    },
    DefaultSession {
        tool: "aws-sdk-js",
        shape: Shape::PrefixDigits("aws-sdk-js-"),
        example: "aws-sdk-js-1694231277404",
        source: "https://github.com/aws/aws-sdk-js-v3/blob/main/packages/credential-provider-ini/src/resolveAssumeRoleCredentials.ts",
    },
    DefaultSession {
        tool: "aws-sdk-java",
        shape: Shape::PrefixDigits("aws-sdk-java-"),
        example: "aws-sdk-java-1764579741123",
        source: "https://github.com/aws/aws-sdk-java-v2/blob/master/services/sts/src/main/java/software/amazon/awssdk/services/sts/internal/StsProfileCredentialsProviderFactory.java",
    },
    DefaultSession {
        tool: "aws-sdk-go",
        shape: Shape::PrefixDigits("aws-go-sdk-"),
        example: "aws-go-sdk-1764579741123456789",
        source: "https://github.com/aws/aws-sdk-go-v2/blob/main/credentials/stscreds/assume_role_provider.go",
    },
    DefaultSession {
        tool: "aws-sdk-rust",
        shape: Shape::PrefixDigits("assume-role-provider-"),
        example: "assume-role-provider-1764579741123",
        source: "https://github.com/smithy-lang/smithy-rs/blob/main/aws/rust-runtime/aws-config/src/sts/assume_role.rs",
    },
    DefaultSession {
        tool: "aws-sdk-rust",
        shape: Shape::PrefixDigits("assume-role-from-profile-"),
        example: "assume-role-from-profile-1764579741123",
        source: "https://github.com/smithy-lang/smithy-rs/blob/main/aws/rust-runtime/aws-config/src/profile/credentials/exec.rs",
    },
    DefaultSession {
        tool: "aws-sdk-rust",
        shape: Shape::PrefixDigits("web-identity-token-profile-"),
        example: "web-identity-token-profile-1764579741123",
        source: "https://github.com/smithy-lang/smithy-rs/blob/main/aws/rust-runtime/aws-config/src/profile/credentials/exec.rs",
    },
    DefaultSession {
        tool: "aws-sdk-rust",
        shape: Shape::PrefixDigits("web-identity-token-"),
        example: "web-identity-token-1764579741123",
        source: "https://github.com/smithy-lang/smithy-rs/blob/main/aws/rust-runtime/aws-config/src/web_identity_token.rs",
    },
    DefaultSession {
        tool: "aws-sdk-go-web-identity",
        shape: Shape::Digits,
        example: "1764579741123456789",
        source: "https://github.com/aws/aws-sdk-go-v2/blob/main/credentials/stscreds/web_identity_provider.go",
    },
];

/// The tool default a session name is, if any.
pub fn default_session(session: &str) -> Option<&'static DefaultSession> {
    DEFAULT_SESSIONS.iter().find(|d| d.shape.matches(session))
}

/// Why a role session name was not taken as the creator's name: the tool whose default it is (or `policy`)
/// and the pattern it matched. Serialised in the outcome as `creator.machine_session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineSession {
    /// The tool (`github-actions`, `codebuild`, `botocore`…), or `policy` for a `tags.machine_sessions` pattern.
    pub tool: String,
    /// The pattern the session name matched (`GitHubActions`, `AWSCodeBuild-<uuid>`, `deploy-*`).
    pub pattern: String,
}

impl From<&DefaultSession> for MachineSession {
    fn from(default: &DefaultSession) -> Self {
        Self { tool: default.tool.to_owned(), pattern: default.shape.to_string() }
    }
}

/// The longest role session name STS accepts.
const MAX_SESSION_NAME: usize = 64;

/// Why a `tags.machine_sessions` pattern is refused at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionPatternError {
    /// The pattern is empty.
    #[error("pattern {index} is empty")]
    Empty {
        /// Its position in the list, from 0.
        index: usize,
    },
    /// The pattern has a character no role session name can contain, so it could never match.
    #[error(
        "{pattern:?} has {character:?}, which no role session name contains (letters, digits and _+=,.@- only; * and ? are wildcards)"
    )]
    Character {
        /// The pattern.
        pattern: String,
        /// The first character that cannot occur.
        character: char,
    },
    /// The pattern asks for more characters than a role session name can have.
    #[error("{pattern:?} is longer than any role session name (at most {MAX_SESSION_NAME} characters)")]
    TooLong {
        /// The pattern.
        pattern: String,
    },
    /// The pattern is listed twice.
    #[error("{pattern:?} is listed twice")]
    Twice {
        /// The pattern.
        pattern: String,
    },
}

/// The policy's own session-name patterns (`tags.machine_sessions`): globs where `*` is any run of characters
/// and `?` one character, matched against the whole session name, case-sensitive as STS records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionPatterns {
    patterns: Vec<String>,
}

impl SessionPatterns {
    /// Validated patterns: each non-empty, made of characters a session name can hold, not longer than one.
    pub fn new(patterns: Vec<String>) -> Result<Self, SessionPatternError> {
        for (index, pattern) in patterns.iter().enumerate() {
            if pattern.is_empty() {
                return Err(SessionPatternError::Empty { index });
            }
            let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-*?".contains(c);
            if let Some(character) = pattern.chars().find(|&c| !allowed(c)) {
                return Err(SessionPatternError::Character { pattern: pattern.clone(), character });
            }
            if pattern.chars().filter(|&c| c != '*').count() > MAX_SESSION_NAME {
                return Err(SessionPatternError::TooLong { pattern: pattern.clone() });
            }
            if patterns[..index].contains(pattern) {
                return Err(SessionPatternError::Twice { pattern: pattern.clone() });
            }
        }
        Ok(Self { patterns })
    }

    /// The patterns, in policy order.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The first pattern `session` matches, if any.
    pub fn matching(&self, session: &str) -> Option<&str> {
        self.patterns.iter().map(String::as_str).find(|p| wildmatch::WildMatch::new(p).matches(session))
    }
}

impl<'de> Deserialize<'de> for SessionPatterns {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let patterns = Vec::<String>::deserialize(d)?;
        Self::new(patterns).map_err(|e| de::Error::custom(format!("machine_sessions: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tool whose default `session` is.
    fn tool_of(session: &str) -> Option<&'static str> {
        default_session(session).map(|d| d.tool)
    }

    #[test]
    fn every_default_matches_its_own_example_and_cites_a_source() {
        for default in DEFAULT_SESSIONS {
            assert!(default.shape.matches(default.example), "{default:?}");
            assert_eq!(tool_of(default.example), Some(default.tool), "{default:?} is found first");
            assert!(default.source.starts_with("https://"), "{default:?}");
        }
    }

    #[test]
    fn github_actions_default_session_names_the_role() {
        assert_eq!(tool_of("GitHubActions"), Some("github-actions"));
        assert_eq!(tool_of("GitHubActionsDeploy"), None, "a name the workflow chose");
        assert_eq!(tool_of("githubactions"), None, "STS records the case the action sends");
    }

    #[test]
    fn codebuild_default_session_names_the_role() {
        assert_eq!(tool_of("AWSCodeBuild-dd50b2ee-cc57-4110-a68f-5277a6806036"), Some("codebuild"));
        assert_eq!(tool_of("AWSCodeBuild-alice"), None, "only a build id follows the prefix");
    }

    #[test]
    fn gitlab_ci_documented_session_names_the_role() {
        assert_eq!(tool_of("GitLabRunner-41236544-1071153297"), Some("gitlab-ci"));
        assert_eq!(tool_of("GitLabRunner-"), None, "the prefix alone is not the documented name");
    }

    #[test]
    fn buildkite_plugin_default_session_names_the_role() {
        assert_eq!(tool_of("buildkite-job-01890f4a-77c5-4b9e-9a57-3f1b2c1d0e9f"), Some("buildkite"));
    }

    #[test]
    fn jenkins_pipeline_aws_plugin_default_session_names_the_role() {
        assert_eq!(tool_of("Jenkins-train-churn-model-42"), Some("jenkins"));
        assert_eq!(tool_of("jenkins-admin"), None, "the plugin writes `Jenkins-`");
    }

    #[test]
    fn glue_job_session_names_the_role() {
        assert_eq!(tool_of("GlueJobRunnerSession"), Some("glue"));
    }

    #[test]
    fn mwaa_airflow_session_names_the_role() {
        assert_eq!(tool_of("AmazonMWAA-airflow"), Some("mwaa"));
    }

    #[test]
    fn sagemaker_execution_role_session_names_the_role() {
        assert_eq!(tool_of("SageMaker"), Some("sagemaker"));
    }

    #[test]
    fn ec2_instance_profile_session_names_the_role() {
        assert_eq!(tool_of("i-0d87aae0ea9c6b1f2"), Some("ec2-instance"));
        assert_eq!(tool_of("i-0abc1234"), Some("ec2-instance"), "the older 8-digit ids");
        assert_eq!(tool_of("i-am-bob"), None);
    }

    #[test]
    fn ecs_task_role_session_names_the_role() {
        assert_eq!(tool_of("5d6c3a0f2e9b4c1d8a7e6f5b4c3d2e1f"), Some("ecs-task"));
        assert_eq!(tool_of("12345678-90ab-cdef-1234-567890abcdef"), Some("ecs-task"), "older UUID task ids");
    }

    #[test]
    fn step_functions_random_session_names_the_role() {
        assert_eq!(tool_of("SVCYoZXhoIJzVtyCRCpayDZwRYlWEKHX"), Some("step-functions"));
        assert_eq!(tool_of("svcyozxhoijzvtycrcpaydzwrylwekhx"), None, "one case only: not this shape");
        assert_eq!(tool_of("SVCYoZXhoIJzVtyCRCpayDZwRYlWEKH"), None, "31 characters");
    }

    #[test]
    fn lambda_session_before_2016_names_the_role() {
        assert_eq!(tool_of("awslambda_642_20261127090000123"), Some("lambda-before-2016"));
    }

    #[test]
    fn botocore_and_aws_cli_v2_default_session_names_the_role() {
        assert_eq!(tool_of("botocore-session-1764579741"), Some("botocore"));
        assert_eq!(tool_of("botocore-session-bob"), None, "the default ends in an epoch");
    }

    #[test]
    fn aws_cli_2015_default_session_names_the_role() {
        assert_eq!(tool_of("AWS-CLI-session-1440675385"), Some("aws-cli-v1-2015"));
    }

    #[test]
    fn javascript_sdk_default_session_names_the_role() {
        assert_eq!(tool_of("aws-sdk-js-1694231277404"), Some("aws-sdk-js"));
    }

    #[test]
    fn java_sdk_default_session_names_the_role() {
        assert_eq!(tool_of("aws-sdk-java-1764579741123"), Some("aws-sdk-java"));
    }

    #[test]
    fn go_sdk_default_session_names_the_role() {
        assert_eq!(tool_of("aws-go-sdk-1764579741123456789"), Some("aws-sdk-go"));
    }

    #[test]
    fn go_sdk_web_identity_and_terraform_default_session_names_the_role() {
        assert_eq!(tool_of("1764579741123456789"), Some("aws-sdk-go-web-identity"));
    }

    #[test]
    fn rust_sdk_default_sessions_name_the_role() {
        for session in [
            "assume-role-provider-1764579741123",
            "assume-role-from-profile-1764579741123",
            "web-identity-token-1764579741123",
            "web-identity-token-profile-1764579741123",
        ] {
            assert_eq!(tool_of(session), Some("aws-sdk-rust"), "{session}");
        }
    }

    #[test]
    fn people_and_chosen_names_are_no_tool_default() {
        for session in ["bob@example.com", "alice", "github-actions-run-4711", "deploy-prod", "AWSCLI", ""] {
            assert_eq!(tool_of(session), None, "{session:?}");
        }
    }

    #[test]
    fn policy_patterns_glob_the_whole_session_name() {
        let patterns = SessionPatterns::new(vec!["deploy-*".into(), "jenkins-?".into()]).unwrap();
        assert_eq!(patterns.matching("deploy-prod-7"), Some("deploy-*"));
        assert_eq!(patterns.matching("jenkins-7"), Some("jenkins-?"));
        assert_eq!(patterns.matching("jenkins-77"), None, "? is one character");
        assert_eq!(patterns.matching("redeploy-prod"), None, "anchored at the start");
        assert_eq!(patterns.matching("Deploy-prod"), None, "case-sensitive");
        assert!(SessionPatterns::default().matching("anything").is_none());
    }

    #[test]
    fn a_pattern_no_session_name_could_match_is_refused_saying_why() {
        let err = |p: &[&str]| SessionPatterns::new(p.iter().map(|s| s.to_string()).collect()).unwrap_err().to_string();
        assert_eq!(err(&["ok-*", ""]), "pattern 1 is empty");
        assert!(err(&["deploy/*"]).contains("\"deploy/*\" has '/'"), "{}", err(&["deploy/*"]));
        assert!(err(&["ci run*"]).contains("has ' '"));
        assert!(err(&[&"a".repeat(65)]).contains("longer than any role session name"));
        assert!(SessionPatterns::new(vec![format!("{}*", "a".repeat(64))]).is_ok(), "64 plus a wildcard fits");
        assert_eq!(err(&["ci-*", "ci-*"]), "\"ci-*\" is listed twice");
    }
}
