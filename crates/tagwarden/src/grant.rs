//! What an IAM permission is: an IAM action on a scope. A leaf, so that the modules declaring the calls they
//! make (the resource registry, the enforcer's actions) and the manifest that gathers them (`permissions`)
//! can all use it without importing each other.

/// What an IAM action may be granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Actions that support no resource-level permissions (`List*`, `tag:GetResources`): `*`.
    Any,
    /// SageMaker resources of this account and region.
    SageMaker,
    /// IAM roles of this account.
    IamRoles,
    /// IAM users of this account.
    IamUsers,
    /// Writing only Tagwarden's own `tagwarden:*` marker tags on SageMaker resources (`aws:TagKeys`
    /// condition): the budget-enforcer cannot change cost-allocation tags.
    SageMakerMarkers,
    /// Writing only `tagwarden:*` marker tags on IAM roles: role tags can drive access (ABAC).
    IamRoleMarkers,
    /// Attaching or detaching only the deny policy (`iam:PolicyARN` condition).
    DenyPolicyAttachment,
    /// Attaching or detaching only the instance-types deny policy (`iam:PolicyARN` condition).
    DenyInstanceTypesAttachment,
    /// The notification topic.
    NotifyTopic,
    /// This account's budgets.
    Budgets,
    /// This account's Cost Anomaly Detection monitors (`ce:GetAnomalies`, `ce:GetAnomalyMonitors`).
    AnomalyMonitors,
    /// The policy's SSM parameter.
    PolicyParameter,
    /// The function's own member role (`AutoTaggerMemberRoleName`, `BudgetEnforcerMemberRoleName`) in the
    /// accounts of the organization (`aws:ResourceOrgID`): `sts:AssumeRole`, granted only in organization mode.
    MemberRoles,
    /// The SecureString parameter holding the member roles' external id (central account, organization mode).
    MemberExternalId,
    /// The enforcement ledger (the stack's DynamoDB table) and its indexes; the central account's only.
    Ledger,
    /// The ledger's `source#` items only (`dynamodb:LeadingKeys` condition): the auto-tagger's last known
    /// values of the tag sources; it can neither read nor write what the enforcer recorded.
    SourceRecords,
    /// The ledger's `sweep#` items only (`dynamodb:LeadingKeys` condition): the queued sweep's progress.
    SweepProgress,
    /// The stack's sweep queue: the auto-tagger sends the next page of a listing.
    SweepQueue,
    /// The stack's continuation queue: the budget-enforcer sends the next part of an enforcement to itself.
    ContinuationQueue,
    /// SageMaker endpoints, granted only where the deployment opts in to deleting them
    /// (`AllowEndpointDeletion`): a conditional statement in the templates.
    EndpointDeletion,
}

/// The tag-key pattern the marker scopes allow (`aws:TagKeys`, `ForAllValues:StringLike`).
pub const MARKER_TAG_KEYS: &str = "tagwarden:*";

/// The partition-key pattern [`Scope::SourceRecords`] allows (`dynamodb:LeadingKeys`, `ForAllValues:StringLike`).
pub const SOURCE_RECORD_KEYS: &str = "source#*";

/// The partition-key pattern [`Scope::SweepProgress`] allows (`dynamodb:LeadingKeys`, `ForAllValues:StringLike`).
pub const SWEEP_PROGRESS_KEYS: &str = "sweep#*";

/// One permission: an IAM action on a scope.
pub type Permission = (&'static str, Scope);
