//! CloudTrail `userIdentity` -> [`Creator`]: who made a resource, and where that person's tags live.
//!
//! Pure: reads only the event. Later refinement from the resource's own Studio tags
//! ([`Creator::from_studio_tags`]) happens once those tags have been read, and from the policy's own
//! machine session names ([`Creator::with_machine_sessions`]) where the policy is known.

use serde::Serialize;

use crate::event::UserIdentity;

pub mod sessions;

pub use sessions::{DEFAULT_SESSIONS, DefaultSession, MachineSession, SessionPatterns};

/// The session name SageMaker Studio uses when it assumes an execution role.
pub const STUDIO_SESSION_NAME: &str = "SageMaker";
/// Studio's system tag naming the user profile a resource was created from.
pub const STUDIO_PROFILE_TAG: &str = "sagemaker:user-profile-arn";
/// Studio's system tag naming the space a resource was created from.
pub const STUDIO_SPACE_TAG: &str = "sagemaker:space-arn";
/// Studio's system tag naming the domain a resource was created in.
pub const STUDIO_DOMAIN_TAG: &str = "sagemaker:domain-arn";
/// SageMaker Pipelines' system tag on the jobs a pipeline execution starts.
pub const PIPELINE_EXECUTION_TAG: &str = "sagemaker:pipeline-execution-arn";

/// What kind of principal created a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreatorKind {
    /// An IAM user.
    IamUser,
    /// An assumed IAM role (CI, instance roles, Lambda roles, federated console roles).
    AssumedRole,
    /// An IAM Identity Center (SSO) user.
    IdentityCenter,
    /// A SageMaker Studio user profile.
    StudioUserProfile,
    /// An AWS service acting on its own (e.g. a tuning job launching training jobs).
    Service,
    /// The account's root user.
    Root,
    /// An identity Tagwarden cannot attribute.
    Unknown,
}

/// How a creator was worked out: serialised as `via` (`source-identity`, `studio-tag`, `session-name`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The event has no `userIdentity`.
    NoUserIdentity,
    /// An IAM user's name.
    IamUser,
    /// The root user.
    Root,
    /// An AWS service acting on its own.
    AwsService,
    /// An Identity Center user.
    IdentityCenter,
    /// The session of an Identity Center permission-set role.
    IdentityCenterSession,
    /// A federated user's name.
    FederatedUser,
    /// A `userIdentity.type` Tagwarden does not know.
    UnsupportedIdentityType,
    /// The session's `sourceIdentity` (set by Studio, or by whoever assumed the role).
    SourceIdentity,
    /// A role session name that names a person.
    SessionName,
    /// The role's own name, when nothing names a person (no session name, or one a tool or service chose:
    /// then `machine_session` says which).
    RoleName,
    /// Studio's `sagemaker:user-profile-arn` tag on the resource.
    StudioTag,
    /// Found by the sweep: nobody recorded the creator.
    Sweep,
    /// An app's user profile, from the listing.
    AppOwner,
    /// A space's owner (`ownershipSettings.ownerUserProfileName`).
    SpaceOwner,
    /// An app's `userProfileName` in the create request.
    RequestUserProfile,
}

impl Via {
    /// The kebab-case name the JSON carries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoUserIdentity => "no-user-identity",
            Self::IamUser => "iam-user",
            Self::Root => "root",
            Self::AwsService => "aws-service",
            Self::IdentityCenter => "identity-center",
            Self::IdentityCenterSession => "identity-center-session",
            Self::FederatedUser => "federated-user",
            Self::UnsupportedIdentityType => "unsupported-identity-type",
            Self::SourceIdentity => "source-identity",
            Self::SessionName => "session-name",
            Self::RoleName => "role-name",
            Self::StudioTag => "studio-tag",
            Self::Sweep => "sweep",
            Self::AppOwner => "app-owner",
            Self::SpaceOwner => "space-owner",
            Self::RequestUserProfile => "request-user-profile",
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The IAM principal whose own tags are a tag source (this is how CI roles carry a cost center).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Principal {
    /// An IAM role, by name (without path).
    Role {
        /// Role name.
        name: String,
        /// Role ARN, with path.
        arn: String,
    },
    /// An IAM user, by name.
    User {
        /// User name.
        name: String,
        /// User ARN.
        arn: String,
    },
}

/// A Studio user profile, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileRef {
    /// Profile name.
    pub name: String,
    /// Domain id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// Profile ARN, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// Who created a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Creator {
    /// The kind of principal.
    pub kind: CreatorKind,
    /// A name for people: user name, profile name, meaningful session name or role name.
    pub name: String,
    /// The IAM principal behind the call, whose tags are a source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// The role session name, for assumed roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Why the session name is not the creator's name: the tool default or policy pattern it matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_session: Option<MachineSession>,
    /// The Studio user profile, for Studio creators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRef>,
    /// How the creator was worked out, e.g. `source-identity`, `studio-tag`, `session-name`.
    pub via: Via,
}

impl Creator {
    fn new(kind: CreatorKind, name: impl Into<String>, via: Via) -> Self {
        Self { kind, name: name.into(), principal: None, session: None, machine_session: None, profile: None, via }
    }

    /// A creator nobody recorded (a resource found by the sweep), with the execution role the resource
    /// runs as, if any: the role's tags are then the `principal` source, but its name is not the creator.
    pub fn unknown(via: Via, execution_role_arn: Option<&str>) -> Self {
        let mut creator = Self::new(CreatorKind::Unknown, "unknown", via);
        creator.principal = execution_role_arn.and_then(|arn| {
            let name = arn.split_once(":role/")?.1.rsplit('/').next()?;
            Some(Principal::Role { name: name.to_owned(), arn: arn.to_owned() }).filter(|_| !name.is_empty())
        });
        creator
    }

    /// Works out the creator from a CloudTrail `userIdentity` alone.
    pub fn from_identity(identity: Option<&UserIdentity>) -> Self {
        let Some(identity) = identity else {
            return Self::new(CreatorKind::Unknown, "unknown", Via::NoUserIdentity);
        };
        match identity.kind.as_deref() {
            Some("IAMUser") => {
                let name = identity
                    .user_name
                    .clone()
                    .or_else(|| identity.arn.as_deref().and_then(last_segment).map(str::to_owned))
                    .unwrap_or_else(|| "unknown-user".into());
                let mut creator = Self::new(CreatorKind::IamUser, name.clone(), Via::IamUser);
                creator.principal = identity.arn.clone().map(|arn| Principal::User { name, arn });
                creator
            }
            Some("AssumedRole") => Self::from_assumed_role(identity),
            Some("Root") => Self::new(CreatorKind::Root, "root", Via::Root),
            Some("AWSService") => {
                let service = identity.invoked_by.as_deref().unwrap_or("aws-service");
                Self::new(CreatorKind::Service, service, Via::AwsService)
            }
            Some("IdentityCenterUser") => {
                let name = identity.user_name.clone().unwrap_or_else(|| "unknown".into());
                Self::new(CreatorKind::IdentityCenter, name, Via::IdentityCenter)
            }
            Some("FederatedUser") => {
                let name = identity.arn.as_deref().and_then(last_segment).unwrap_or("federated-user");
                Self::new(CreatorKind::AssumedRole, name, Via::FederatedUser)
            }
            _ => Self::new(CreatorKind::Unknown, "unknown", Via::UnsupportedIdentityType),
        }
    }

    fn from_assumed_role(identity: &UserIdentity) -> Self {
        let context = identity.session_context.as_ref();
        let issuer = context.and_then(|c| c.session_issuer.as_ref());
        // NOTE: the STS ARN is `arn:aws:sts::<acct>:assumed-role/<role>/<session>`; the issuer is the
        // authority for the role name and ARN, the STS ARN a fallback for records that lack it.
        let sts_parts = identity.arn.as_deref().and_then(|arn| {
            let resource = arn.split_once(":assumed-role/")?.1;
            resource.split_once('/')
        });
        let role_name = issuer
            .and_then(|i| i.user_name.clone())
            .or_else(|| sts_parts.map(|(role, _)| role.to_owned()))
            .unwrap_or_else(|| "unknown-role".into());
        let session = sts_parts.map(|(_, session)| session.to_owned());
        let role_arn = issuer.and_then(|i| i.arn.clone()).or_else(|| {
            let account = identity.account_id.as_deref()?;
            Some(format!("arn:aws:iam::{account}:role/{role_name}"))
        });
        let source_identity = context.and_then(|c| c.source_identity.clone()).filter(|s| !s.is_empty());

        let studio = session.as_deref() == Some(STUDIO_SESSION_NAME);
        let mut creator = if let Some(permission_set) = identity_center_permission_set(&role_name) {
            let name = session.clone().unwrap_or_else(|| permission_set.to_owned());
            Self::new(CreatorKind::IdentityCenter, name, Via::IdentityCenterSession)
        } else if let (true, Some(profile)) = (studio, source_identity.as_ref()) {
            let mut creator = Self::new(CreatorKind::StudioUserProfile, profile.clone(), Via::SourceIdentity);
            creator.profile = Some(ProfileRef { name: profile.clone(), domain_id: None, arn: None });
            creator
        } else if let Some(person) = source_identity {
            Self::new(CreatorKind::AssumedRole, person, Via::SourceIdentity)
        } else if let Some(person) = session.as_deref().filter(|s| is_meaningful_session(s)) {
            Self::new(CreatorKind::AssumedRole, person, Via::SessionName)
        } else {
            let mut creator = Self::new(CreatorKind::AssumedRole, role_name.clone(), Via::RoleName);
            creator.machine_session = session.as_deref().and_then(sessions::default_session).map(MachineSession::from);
            creator
        };
        creator.session = session;
        creator.principal = role_arn.map(|arn| Principal::Role { name: role_name, arn });
        creator
    }

    /// Names the role instead of a session name the policy says a machine chose (`tags.machine_sessions`),
    /// keeping the session and the pattern it matched as detail. Any other creator is returned as it is.
    pub fn with_machine_sessions(mut self, patterns: &SessionPatterns) -> Self {
        if (self.kind, self.via) != (CreatorKind::AssumedRole, Via::SessionName) {
            return self;
        }
        let Some(pattern) = self.session.as_deref().and_then(|s| patterns.matching(s)) else {
            return self;
        };
        let Some(Principal::Role { name, .. }) = &self.principal else {
            return self;
        };
        self.machine_session = Some(MachineSession { tool: "policy".into(), pattern: pattern.to_owned() });
        self.name = name.clone();
        self.via = Via::RoleName;
        self
    }

    /// Refines a creator from Studio's own tags on the resource (`sagemaker:user-profile-arn`).
    ///
    /// A profile named by the tag wins over a bare execution role; an explicit `sourceIdentity` is kept.
    pub fn from_studio_tags(mut self, profile_arn: Option<&str>, domain_arn: Option<&str>) -> Self {
        let Some(profile_arn) = profile_arn else {
            return self;
        };
        let Some(parsed) = crate::resource::SageMakerArn::parse(profile_arn) else {
            return self;
        };
        let Some((domain_id, name)) = parsed.path.split_once('/') else {
            return self;
        };
        let domain_id = domain_arn
            .and_then(crate::resource::SageMakerArn::parse)
            .map(|d| d.path)
            .unwrap_or_else(|| domain_id.to_owned());
        let profile =
            ProfileRef { name: name.to_owned(), domain_id: Some(domain_id), arn: Some(profile_arn.to_owned()) };
        match self.kind {
            CreatorKind::StudioUserProfile if self.name == profile.name => {
                self.profile = Some(profile);
            }
            CreatorKind::AssumedRole | CreatorKind::Unknown | CreatorKind::Service
                if self.via != Via::SourceIdentity && self.via != Via::SessionName =>
            {
                self.kind = CreatorKind::StudioUserProfile;
                self.name = profile.name.clone();
                self.profile = Some(profile);
                self.via = Via::StudioTag;
            }
            _ => {}
        }
        self
    }

    /// The same creator named by its role alone: what a refused Studio claim falls back to.
    pub fn as_role(mut self) -> Self {
        if let Some(Principal::Role { name, .. }) = &self.principal {
            self.kind = CreatorKind::AssumedRole;
            self.name = name.clone();
            self.via = Via::RoleName;
        } else {
            self.kind = CreatorKind::Unknown;
            self.name = "unknown".into();
        }
        self.profile = None;
        self
    }

    /// Names a Studio user profile as the creator (the owner of an app or space named in the request).
    pub fn with_owner_profile(mut self, profile: ProfileRef, via: Via) -> Self {
        if (self.kind == CreatorKind::AssumedRole && self.via == Via::RoleName) || self.kind == CreatorKind::Unknown {
            self.kind = CreatorKind::StudioUserProfile;
            self.name = profile.name.clone();
            self.via = via;
        }
        if self.profile.is_none() {
            self.profile = Some(profile);
        }
        self
    }
}

/// The permission set of an Identity Center role name `AWSReservedSSO_<permission-set>_<id>`.
pub fn identity_center_permission_set(role_name: &str) -> Option<&str> {
    let rest = role_name.strip_prefix("AWSReservedSSO_")?;
    let (permission_set, _id) = rest.rsplit_once('_')?;
    Some(permission_set).filter(|p| !p.is_empty())
}

/// Whether a role session name says who acted, rather than which tool or service did: not empty and no
/// tool's default ([`sessions::DEFAULT_SESSIONS`], each with its source).
pub fn is_meaningful_session(session: &str) -> bool {
    !session.is_empty() && sessions::default_session(session).is_none()
}

fn last_segment(arn: &str) -> Option<&str> {
    arn.rsplit('/').next().filter(|s| !s.is_empty() && !s.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{SessionContext, SessionIssuer};

    fn role(role: &str, session: &str, source_identity: Option<&str>) -> UserIdentity {
        UserIdentity {
            kind: Some("AssumedRole".into()),
            arn: Some(format!("arn:aws:sts::123456789012:assumed-role/{role}/{session}")),
            account_id: Some("123456789012".into()),
            session_context: Some(SessionContext {
                session_issuer: Some(SessionIssuer {
                    kind: Some("Role".into()),
                    arn: Some(format!("arn:aws:iam::123456789012:role/service-role/{role}")),
                    user_name: Some(role.into()),
                }),
                source_identity: source_identity.map(Into::into),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn iam_user_is_named_by_user_name_and_carries_its_arn() {
        let identity = UserIdentity {
            kind: Some("IAMUser".into()),
            arn: Some("arn:aws:iam::123456789012:user/intern".into()),
            user_name: Some("intern".into()),
            ..Default::default()
        };
        let creator = Creator::from_identity(Some(&identity));
        assert_eq!(creator.kind, CreatorKind::IamUser);
        assert_eq!(creator.name, "intern");
        assert!(matches!(creator.principal, Some(Principal::User { ref name, .. }) if name == "intern"));
    }

    #[test]
    fn meaningful_session_name_names_the_person_and_keeps_the_role_as_principal() {
        let creator = Creator::from_identity(Some(&role("ci-deployer", "github-actions-run-4711", None)));
        assert_eq!(creator.kind, CreatorKind::AssumedRole);
        assert_eq!(creator.name, "github-actions-run-4711");
        assert_eq!(creator.via, Via::SessionName);
        assert_eq!(
            creator.principal,
            Some(Principal::Role {
                name: "ci-deployer".into(),
                arn: "arn:aws:iam::123456789012:role/service-role/ci-deployer".into()
            })
        );
    }

    #[test]
    fn machine_session_names_fall_back_to_the_role_name() {
        for session in ["i-0abc1234def567890", "awslambda_642_20261127090000123", "SageMaker", "1700000000"] {
            let creator = Creator::from_identity(Some(&role("batch-runner", session, None)));
            assert_eq!(creator.name, "batch-runner", "session {session}");
            assert_eq!(creator.via, Via::RoleName);
        }
    }

    #[test]
    fn github_actions_default_session_names_the_role_and_keeps_the_session_as_detail() {
        let creator = Creator::from_identity(Some(&role("ci-deployer", "GitHubActions", None)));
        assert_eq!(
            (creator.kind, creator.name.as_str(), creator.via),
            (CreatorKind::AssumedRole, "ci-deployer", Via::RoleName)
        );
        assert_eq!(creator.session.as_deref(), Some("GitHubActions"));
        assert_eq!(
            creator.machine_session,
            Some(MachineSession { tool: "github-actions".into(), pattern: "GitHubActions".into() })
        );
        let json = serde_json::to_value(&creator).unwrap();
        assert_eq!(json["via"], "role-name");
        assert_eq!(json["session"], "GitHubActions");
        assert_eq!(json["machine_session"], serde_json::json!({"tool": "github-actions", "pattern": "GitHubActions"}));
    }

    #[test]
    fn codebuild_default_session_names_the_role() {
        let session = "AWSCodeBuild-dd50b2ee-cc57-4110-a68f-5277a6806036";
        let creator = Creator::from_identity(Some(&role("codebuild-ml", session, None)));
        assert_eq!((creator.name.as_str(), creator.via), ("codebuild-ml", Via::RoleName));
        assert_eq!(creator.machine_session.map(|m| m.pattern), Some("AWSCodeBuild-<uuid>".into()));
    }

    #[test]
    fn every_known_default_session_names_the_role() {
        for default in DEFAULT_SESSIONS {
            let creator = Creator::from_identity(Some(&role("automation", default.example, None)));
            assert_eq!((creator.name.as_str(), creator.via), ("automation", Via::RoleName), "{default:?}");
            assert_eq!(creator.machine_session.as_ref().map(|m| m.tool.as_str()), Some(default.tool));
        }
    }

    #[test]
    fn a_session_with_no_name_at_all_names_the_role_without_a_machine_detail() {
        let mut identity = role("batch-runner", "x", None);
        identity.arn = None;
        let creator = Creator::from_identity(Some(&identity));
        assert_eq!((creator.name.as_str(), creator.via), ("batch-runner", Via::RoleName));
        assert_eq!((creator.session, creator.machine_session), (None, None));
    }

    #[test]
    fn a_policy_machine_session_pattern_names_the_role_with_the_pattern_as_detail() {
        let patterns = SessionPatterns::new(vec!["deploy-*".into()]).unwrap();
        let creator = Creator::from_identity(Some(&role("ci-deployer", "deploy-prod-7", None)));
        assert_eq!(creator.name, "deploy-prod-7", "without the policy, a chosen name names the creator");
        let creator = creator.with_machine_sessions(&patterns);
        assert_eq!((creator.name.as_str(), creator.via), ("ci-deployer", Via::RoleName));
        assert_eq!(creator.session.as_deref(), Some("deploy-prod-7"));
        assert_eq!(creator.machine_session, Some(MachineSession { tool: "policy".into(), pattern: "deploy-*".into() }));
        let person = Creator::from_identity(Some(&role("ci-deployer", "bob@example.com", None)));
        assert_eq!(person.clone().with_machine_sessions(&patterns), person, "a session no pattern matches");
    }

    #[test]
    fn policy_patterns_never_rename_a_source_identity_an_identity_center_user_or_an_iam_user() {
        let patterns = SessionPatterns::new(vec!["*".into()]).unwrap();
        let source = Creator::from_identity(Some(&role("Exec", "SageMaker", Some("alice"))));
        assert_eq!(source.clone().with_machine_sessions(&patterns), source);
        let sso = Creator::from_identity(Some(&role("AWSReservedSSO_DataScientist_0a1b", "carol@example.com", None)));
        assert_eq!(sso.clone().with_machine_sessions(&patterns), sso);
        let user = UserIdentity {
            kind: Some("IAMUser".into()),
            arn: Some("arn:aws:iam::123456789012:user/intern".into()),
            user_name: Some("intern".into()),
            ..Default::default()
        };
        let user = Creator::from_identity(Some(&user));
        assert_eq!(user.clone().with_machine_sessions(&patterns), user);
    }

    #[test]
    fn a_machine_session_creator_still_yields_to_the_apps_owner_profile() {
        let creator = Creator::from_identity(Some(&role("ci-deployer", "GitHubActions", None)));
        let profile = ProfileRef { name: "alice".into(), domain_id: Some("d-ml".into()), arn: None };
        let creator = creator.with_owner_profile(profile, Via::RequestUserProfile);
        assert_eq!((creator.kind, creator.name.as_str()), (CreatorKind::StudioUserProfile, "alice"));
    }

    #[test]
    fn studio_session_with_source_identity_is_the_user_profile() {
        let creator = Creator::from_identity(Some(&role("Exec", "SageMaker", Some("alice"))));
        assert_eq!(creator.kind, CreatorKind::StudioUserProfile);
        assert_eq!(creator.name, "alice");
        assert_eq!(creator.profile.as_ref().map(|p| p.name.as_str()), Some("alice"));
    }

    #[test]
    fn identity_center_role_is_named_by_its_session() {
        let identity = role("AWSReservedSSO_DataScientist_0a1b2c3d4e5f6789", "carol@example.com", None);
        let creator = Creator::from_identity(Some(&identity));
        assert_eq!(creator.kind, CreatorKind::IdentityCenter);
        assert_eq!(creator.name, "carol@example.com");
        assert_eq!(identity_center_permission_set("AWSReservedSSO_DataScientist_0a1b"), Some("DataScientist"));
        assert_eq!(identity_center_permission_set("AWSReservedSSO_"), None);
    }

    #[test]
    fn studio_profile_tag_turns_an_execution_role_into_the_profile() {
        let creator = Creator::from_identity(Some(&role("Exec", "SageMaker", None)))
            .from_studio_tags(Some("arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml/alice"), None);
        assert_eq!(creator.kind, CreatorKind::StudioUserProfile);
        assert_eq!(creator.name, "alice");
        assert_eq!(creator.via, Via::StudioTag);
        let profile = creator.profile.unwrap();
        assert_eq!(profile.domain_id.as_deref(), Some("d-ml"));
    }

    #[test]
    fn studio_profile_tag_does_not_override_a_named_person() {
        let creator = Creator::from_identity(Some(&role("ci", "bob@example.com", None)))
            .from_studio_tags(Some("arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-ml/alice"), None);
        assert_eq!(creator.name, "bob@example.com");
    }

    #[test]
    fn root_service_and_missing_identities_are_classified() {
        let root = UserIdentity { kind: Some("Root".into()), ..Default::default() };
        assert_eq!(Creator::from_identity(Some(&root)).kind, CreatorKind::Root);
        let service = UserIdentity {
            kind: Some("AWSService".into()),
            invoked_by: Some("sagemaker.amazonaws.com".into()),
            ..Default::default()
        };
        let creator = Creator::from_identity(Some(&service));
        assert_eq!((creator.kind, creator.name.as_str()), (CreatorKind::Service, "sagemaker.amazonaws.com"));
        assert_eq!(Creator::from_identity(None).kind, CreatorKind::Unknown);
    }

    #[test]
    fn via_serialises_as_the_kebab_case_names_the_json_always_carried() {
        let all = [
            Via::NoUserIdentity,
            Via::IamUser,
            Via::Root,
            Via::AwsService,
            Via::IdentityCenter,
            Via::IdentityCenterSession,
            Via::FederatedUser,
            Via::UnsupportedIdentityType,
            Via::SourceIdentity,
            Via::SessionName,
            Via::RoleName,
            Via::StudioTag,
            Via::Sweep,
            Via::AppOwner,
            Via::SpaceOwner,
            Via::RequestUserProfile,
        ];
        for via in all {
            assert_eq!(serde_json::to_value(via).unwrap(), via.as_str(), "{via:?}");
            assert_eq!(via.to_string(), via.as_str());
        }
        let creator = Creator::from_identity(Some(&role("Exec", "SageMaker", Some("alice"))));
        assert_eq!(serde_json::to_value(&creator).unwrap()["via"], "source-identity");
    }
}
