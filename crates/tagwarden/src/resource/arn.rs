//! SageMaker ARNs: where they point ([`ArnScope`], the one place they are built, in the partition of their
//! region) and how they are read ([`SageMakerArn`]).

use std::fmt;

use super::{APP, DOMAIN, ResourceKind, SPACE, Studio, USER_PROFILE};

use crate::ids::partition_of;

/// Where SageMaker ARNs point: partition, region and account. The one place ARNs are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    /// `aws`, `aws-cn`, `aws-us-gov`…
    pub partition: String,
    /// The region.
    pub region: String,
    /// The account id.
    pub account: String,
}

/// The owner an app's ARN names: its user profile, or its space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppOwner<'a> {
    /// An app of a user profile (`CreateApp` with `UserProfileName`).
    UserProfile(&'a str),
    /// An app of a space (`CreateApp` with `SpaceName`).
    Space(&'a str),
}

impl<'a> AppOwner<'a> {
    /// The owner of an app as `ListApps` or `DescribeApp` report it: the space when there is one.
    ///
    /// NOTE: AWS's app ARN is `app/<domain>/<owner>/<type>/<name>`; the service authorization reference
    /// calls the segment `${UserProfileName}`, and an app created in a space (where the profile is not
    /// part of the request) carries the space name there. A summary naming both is a space's app.
    pub fn of(user_profile: Option<&'a str>, space: Option<&'a str>) -> Option<Self> {
        match (user_profile, space) {
            (_, Some(space)) => Some(Self::Space(space)),
            (Some(profile), None) => Some(Self::UserProfile(profile)),
            (None, None) => None,
        }
    }

    /// The owner's name, the app ARN's second segment.
    pub fn name(self) -> &'a str {
        match self {
            Self::UserProfile(name) | Self::Space(name) => name,
        }
    }

    /// The owner's kind: a user profile or a space.
    pub fn kind(self) -> &'static ResourceKind {
        match self {
            Self::UserProfile(_) => &USER_PROFILE,
            Self::Space(_) => &SPACE,
        }
    }
}

impl ArnScope {
    /// A scope in `region` of `account`, in the region's partition.
    pub fn new(region: &str, account: &str) -> Self {
        Self { partition: partition_of(region).to_owned(), region: region.to_owned(), account: account.to_owned() }
    }

    /// `arn:<partition>:sagemaker:<region>:<account>:<arn_type>/<path>`.
    pub fn arn(&self, kind: &ResourceKind, path: &str) -> SageMakerArn {
        SageMakerArn {
            partition: self.partition.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
            resource_type: kind.arn_type.to_owned(),
            path: path.to_owned(),
        }
    }

    /// A Studio domain: `domain/<id>`.
    pub fn domain(&self, domain_id: &str) -> SageMakerArn {
        self.arn(&DOMAIN, domain_id)
    }

    /// A user profile: `user-profile/<domain>/<name>`.
    pub fn user_profile(&self, domain_id: &str, name: &str) -> SageMakerArn {
        self.arn(&USER_PROFILE, &format!("{domain_id}/{name}"))
    }

    /// A space: `space/<domain>/<name>`.
    pub fn space(&self, domain_id: &str, name: &str) -> SageMakerArn {
        self.arn(&SPACE, &format!("{domain_id}/{name}"))
    }

    /// The user profile or space that owns an app.
    pub fn app_owner(&self, domain_id: &str, owner: AppOwner<'_>) -> SageMakerArn {
        self.arn(owner.kind(), &format!("{domain_id}/{}", owner.name()))
    }

    /// An app: `app/<domain>/<owner>/<app type, lower case>/<name>`.
    pub fn app(&self, domain_id: &str, owner: AppOwner<'_>, app_type: &str, name: &str) -> SageMakerArn {
        let path = format!("{domain_id}/{}/{}/{name}", owner.name(), app_type.to_ascii_lowercase());
        self.arn(&APP, &path)
    }
}

/// A parsed SageMaker ARN: `arn:<partition>:sagemaker:<region>:<account>:<type>/<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SageMakerArn {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// Region of the resource.
    pub region: String,
    /// Account id of the resource.
    pub account: String,
    /// ARN resource type, e.g. `user-profile`.
    pub resource_type: String,
    /// Everything after `<type>/`, e.g. `d-abc/alice` for a user profile.
    pub path: String,
}

impl SageMakerArn {
    /// Parses a SageMaker ARN; `None` for anything else (other services, missing parts).
    pub fn parse(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
        if prefix != "arn" || service != "sagemaker" || partition.is_empty() {
            return None;
        }
        let (resource_type, path) = resource.split_once('/')?;
        if resource_type.is_empty() || path.is_empty() || region.is_empty() || account.is_empty() {
            return None;
        }
        Some(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource_type: resource_type.to_owned(),
            path: path.to_owned(),
        })
    }

    /// Its partition, region and account, to build other ARNs there.
    pub fn scope(&self) -> ArnScope {
        ArnScope { partition: self.partition.clone(), region: self.region.clone(), account: self.account.clone() }
    }

    /// The Studio domain id, for kinds that live in a domain (the ARN path's first segment).
    pub fn domain_id(&self, kind: &ResourceKind) -> Option<&str> {
        let (domain, _) = self.path.split_once('/')?;
        (kind.studio == Studio::InDomain).then_some(domain)
    }

    /// The last path segment: the resource's name for most kinds.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

impl fmt::Display for SageMakerArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { partition, region, account, resource_type, path } = self;
        write!(f, "arn:{partition}:sagemaker:{region}:{account}:{resource_type}/{path}")
    }
}
