//! The IAM permissions each function needs, declared next to the code that makes the calls.
//!
//! The deployment's least-privilege policies are written from these sets, and a test compares the SAM
//! template with them: a new AWS call without a declared permission (or a template statement the code does
//! not need) fails the build.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use crate::policy::Action;
use crate::resource::{KINDS, Listing};

pub use crate::grant::{MARKER_TAG_KEYS, Permission, SOURCE_RECORD_KEYS, SWEEP_PROGRESS_KEYS, Scope};

/// What every function needs: its policy from SSM.
const COMMON: &[Permission] = &[("ssm:GetParameter", Scope::PolicyParameter)];

/// The auto-tagger's own calls, whatever the kind: read and write tags of the created resource, read its
/// sources (profiles, spaces, principals), notify.
const TAGGER_CALLS: &[Permission] = &[
    ("sagemaker:ListTags", Scope::SageMaker),
    ("sagemaker:AddTags", Scope::SageMaker),
    // drop_aliased_keys
    ("sagemaker:DeleteTags", Scope::SageMaker),
    ("sagemaker:DescribeUserProfile", Scope::SageMaker),
    ("sagemaker:DescribeSpace", Scope::SageMaker),
    // the evidence: execution roles that confirm a Studio claim, a pipeline's own role
    ("sagemaker:DescribeDomain", Scope::SageMaker),
    ("sagemaker:DescribePipeline", Scope::SageMaker),
    ("sagemaker:ListUserProfiles", Scope::Any),
    ("iam:ListRoleTags", Scope::IamRoles),
    ("iam:ListUserTags", Scope::IamUsers),
    ("sns:Publish", Scope::NotifyTopic),
];

/// The auto-tagger's keeping of a user profile's budgets ([`crate::tagging::profiles`]), on the payer's budgets
/// only. AWS Budgets authorizes `DescribeBudget` and the notification reads with `ViewBudget`; `CreateBudget`,
/// `UpdateBudget`, `DeleteBudget` and the notification writes with `ModifyBudget` (there are no per-call
/// actions); `CreateBudget` with `ResourceTags` also needs `TagResource`; reading the managed tag
/// `ListTagsForResource` (Service Authorization Reference, AWS Budgets).
pub const PROFILE_BUDGETS: &[Permission] = &[
    ("budgets:ViewBudget", Scope::Budgets),
    ("budgets:ModifyBudget", Scope::Budgets),
    ("budgets:TagResource", Scope::Budgets),
    ("budgets:ListTagsForResource", Scope::Budgets),
];

/// The auto-tagger's event path: [`TAGGER_CALLS`], each kind's parent lookup from the registry
/// ([`crate::resource::KINDS`]), and its execution-role lookup (a tamper restore confirms the resource's
/// Studio tags with it).
pub static AUTO_TAGGER: LazyLock<Vec<Permission>> = LazyLock::new(|| {
    let parents = KINDS.iter().filter_map(|k| k.parent).map(|p| (p.iam_action(), Scope::SageMaker));
    let roles = KINDS.iter().filter_map(|k| k.role).map(|r| (r.iam_action(), Scope::SageMaker));
    unique(TAGGER_CALLS.iter().copied().chain(PROFILE_BUDGETS.iter().copied()).chain(parents).chain(roles))
});

/// The Studio idle shutdown the auto-tagger and the sweep keep ([`crate::studio_idle`]): describe a domain,
/// profile or space, and update its idle settings.
pub const STUDIO_IDLE: &[Permission] = &[
    ("sagemaker:DescribeDomain", Scope::SageMaker),
    ("sagemaker:DescribeUserProfile", Scope::SageMaker),
    ("sagemaker:DescribeSpace", Scope::SageMaker),
    ("sagemaker:UpdateDomain", Scope::SageMaker),
    ("sagemaker:UpdateUserProfile", Scope::SageMaker),
    ("sagemaker:UpdateSpace", Scope::SageMaker),
];

/// The auto-tagger's last known values of the tag sources ([`crate::tagging::tamper`]): one read and one put
/// of a `source#` item of the ledger, nothing else of it.
pub const SOURCE_LEDGER: &[Permission] =
    &[("dynamodb:GetItem", Scope::SourceRecords), ("dynamodb:PutItem", Scope::SourceRecords)];

/// The queued sweep ([`crate::sweep::worker`]): send a listing's next page to the stack's queue, and claim,
/// settle or release a page's progress in the ledger's `sweep#` items (nothing else of the ledger).
pub const SWEEP_QUEUE: &[Permission] = &[
    ("sqs:SendMessage", Scope::SweepQueue),
    ("dynamodb:GetItem", Scope::SweepProgress),
    ("dynamodb:PutItem", Scope::SweepProgress),
    ("dynamodb:DeleteItem", Scope::SweepProgress),
];

/// The scheduled sweep (the auto-tagger on its `Schedule` event, and `tagwarden sweep`), from the
/// registry: each kind's `List*` call (no resource-level permissions), and the `Describe*` calls that
/// name an execution role.
pub static SWEEP: LazyLock<Vec<Permission>> = LazyLock::new(|| {
    let kinds = crate::resource::distinct_kinds();
    let listings = kinds.iter().flat_map(|k| {
        let domains = k.listing.needs_domain_arns().then_some(Listing::Domains);
        let lists = [Some(k.listing), domains].into_iter().flatten().map(|l| (l.iam_action(), Scope::Any));
        let arns = k.listing.arn_lookup().map(|a| (a, Scope::SageMaker));
        lists.chain(arns).chain(k.role.map(|r| (r.iam_action(), Scope::SageMaker)))
    });
    // the creators of what existed before, from the event history (no resource-level permissions)
    unique(listings.chain([("cloudtrail:LookupEvents", Scope::Any)]))
});

/// Permissions in first-seen order, without repeats.
fn unique(permissions: impl Iterator<Item = Permission>) -> Vec<Permission> {
    let mut seen = BTreeSet::new();
    permissions.filter(|p| seen.insert(*p)).collect()
}

/// Organization scale (both functions, central account): assume the function's member role in each member
/// account with the external id read from its SecureString parameter, and read the organization's accounts
/// and OUs (`ListAccounts` supports no resource-level permissions).
pub const ORGANIZATION: &[Permission] = &[
    ("sts:AssumeRole", Scope::MemberRoles),
    ("ssm:GetParameter", Scope::MemberExternalId),
    ("organizations:ListAccounts", Scope::Any),
    ("organizations:DescribeAccount", Scope::Any),
    ("organizations:ListParents", Scope::Any),
];

/// What the budget-enforcer needs whatever the actions: the budget's filters, a cost anomaly's record and
/// its monitor (`enforce/anomaly.rs`), idle endpoints' invocations (`enforce/idle/`; no resource-level
/// permissions), the tagging API and the enforcement ledger (the stack's DynamoDB table and its `by-resource`
/// index).
pub const ENFORCER_BASE: &[Permission] = &[
    ("budgets:ViewBudget", Scope::Budgets),
    ("ce:GetAnomalies", Scope::AnomalyMonitors),
    ("ce:GetAnomalyMonitors", Scope::AnomalyMonitors),
    ("cloudwatch:GetMetricData", Scope::Any),
    ("tag:GetResources", Scope::Any),
    ("dynamodb:GetItem", Scope::Ledger),
    ("dynamodb:PutItem", Scope::Ledger),
    ("dynamodb:UpdateItem", Scope::Ledger),
    ("dynamodb:DeleteItem", Scope::Ledger),
    ("dynamodb:Query", Scope::Ledger),
    ("dynamodb:BatchWriteItem", Scope::Ledger),
];

/// The burn-rate guard ([`crate::enforce::burn`]): the Price List (no resource-level permissions) and the
/// describes that tell a running resource's instance type and count (the list calls are the actions').
pub const BURN_RATE: &[Permission] = &[
    ("pricing:GetProducts", Scope::Any),
    ("sagemaker:DescribeEndpoint", Scope::SageMaker),
    ("sagemaker:DescribeEndpointConfig", Scope::SageMaker),
    ("sagemaker:DescribeTrainingJob", Scope::SageMaker),
    ("sagemaker:DescribeProcessingJob", Scope::SageMaker),
    ("sagemaker:DescribeTransformJob", Scope::SageMaker),
    ("sagemaker:DescribeInferenceComponent", Scope::SageMaker),
    ("sagemaker:DescribeCluster", Scope::SageMaker),
    ("sagemaker:ListNotebookInstances", Scope::Any),
    ("sagemaker:ListEndpoints", Scope::Any),
    ("sagemaker:ListTrainingJobs", Scope::Any),
    ("sagemaker:ListProcessingJobs", Scope::Any),
    ("sagemaker:ListTransformJobs", Scope::Any),
    ("sagemaker:ListApps", Scope::Any),
    ("sagemaker:ListInferenceComponents", Scope::Any),
    ("sagemaker:ListClusters", Scope::Any),
];

/// Grants a deployment makes only when its operator opts in, under the scope they are granted on: the
/// templates put each in a statement of its own behind a template Condition (`AllowEndpointDeletion`), so
/// that a policy file alone (`endpoints: {delete: true}`) cannot delete endpoints. `CreateEndpoint` is what
/// `restore` creates a deleted endpoint again with (from its recorded endpoint config).
pub const OPT_IN: &[Permission] =
    &[("sagemaker:DeleteEndpoint", Scope::EndpointDeletion), ("sagemaker:CreateEndpoint", Scope::EndpointDeletion)];

/// `permission` as the deployment grants it: under its opt-in scope when [`OPT_IN`] names its action.
fn as_granted(permission: Permission) -> Permission {
    OPT_IN.iter().copied().find(|(action, _)| *action == permission.0).unwrap_or(permission)
}
/// An enforcement that continues ([`crate::enforce::continuation`]): the budget-enforcer sends its next part
/// to the stack's continuation queue (the event source mapping reads it with the poller's own grant).
pub const CONTINUATION_QUEUE: &[Permission] = &[("sqs:SendMessage", Scope::ContinuationQueue)];

/// The permissions one enforcement action (and its restore) needs: what its row in the enforcer's action
/// table declares (`enforce/<family>.rs`).
pub fn for_action(action: Action) -> &'static [Permission] {
    crate::enforce::permissions_of(action)
}

/// The auto-tagger's permissions (events and the scheduled sweep), deduplicated and sorted.
pub fn auto_tagger() -> BTreeSet<Permission> {
    let own = COMMON.iter().chain(AUTO_TAGGER.iter()).chain(SWEEP.iter()).chain(ORGANIZATION);
    own.chain(SOURCE_LEDGER).chain(SWEEP_QUEUE).chain(STUDIO_IDLE).copied().collect()
}

/// The budget-enforcer's permissions for every action, deduplicated and sorted; the [`OPT_IN`] ones under
/// their opt-in scope.
pub fn budget_enforcer() -> BTreeSet<Permission> {
    // NOTE: every action, for the deployment (which cannot know which ones a policy will use).
    let actions = crate::enforce::actions().flat_map(|a| for_action(a).iter());
    let own = COMMON.iter().chain(ENFORCER_BASE).chain(CONTINUATION_QUEUE).chain(BURN_RATE);
    own.chain(actions).chain(ORGANIZATION).copied().map(as_granted).collect()
}

/// Scopes only the central account has: the policy parameter, the notification topic, the payer's budgets,
/// the member roles themselves, the external id's parameter and the enforcement ledger (member accounts
/// never see the table; the auto-tagger's `source#` items are in it).
pub const CENTRAL_ONLY: &[Scope] = &[
    Scope::PolicyParameter,
    Scope::NotifyTopic,
    Scope::Budgets,
    Scope::AnomalyMonitors,
    Scope::MemberRoles,
    Scope::MemberExternalId,
    Scope::Ledger,
    Scope::SourceRecords,
    Scope::SweepProgress,
    Scope::SweepQueue,
    Scope::ContinuationQueue,
];

/// Scopes the deployment grants only when an organization is configured (the templates' `OrganizationEnabled`
/// Condition): a single-account deployment cannot assume any role nor read an external id.
pub const ORGANIZATION_ONLY: &[Scope] = &[Scope::MemberRoles, Scope::MemberExternalId];

/// What `permission` is in a member account: not a [`CENTRAL_ONLY`] scope, not Organizations.
fn in_member_account((action, scope): &Permission) -> bool {
    !CENTRAL_ONLY.contains(scope) && !action.starts_with("organizations:")
}

/// The auto-tagger's member role (`infra/member.yaml`, `AutoTaggerMemberRole`): [`auto_tagger`] inside a
/// member account, i.e. read sources and write tags; nothing the budget-enforcer does.
pub fn auto_tagger_member() -> BTreeSet<Permission> {
    auto_tagger().into_iter().filter(in_member_account).collect()
}

/// The budget-enforcer's member role (`infra/member.yaml`, `BudgetEnforcerMemberRole`): [`budget_enforcer`]
/// inside a member account, i.e. act on resources and write only `tagwarden:*` markers; no cost tags.
pub fn budget_enforcer_member() -> BTreeSet<Permission> {
    budget_enforcer().into_iter().filter(in_member_account).collect()
}

impl Scope {
    /// The scope's name in the deployment manifest and the template's statement `Sid`.
    pub fn sid(self) -> &'static str {
        match self {
            Self::Any => "ListCalls",
            Self::SageMaker => "SageMakerResources",
            Self::IamRoles => "IamRoles",
            Self::IamUsers => "IamUsers",
            Self::SageMakerMarkers => "SageMakerMarkerTags",
            Self::IamRoleMarkers => "IamRoleMarkerTags",
            Self::DenyPolicyAttachment => "DenyPolicyAttachment",
            Self::DenyInstanceTypesAttachment => "DenyInstanceTypesPolicyAttachment",
            Self::NotifyTopic => "NotifyTopic",
            Self::Budgets => "Budgets",
            Self::AnomalyMonitors => "AnomalyMonitors",
            Self::PolicyParameter => "PolicyParameter",
            Self::MemberRoles => "MemberRoles",
            Self::MemberExternalId => "MemberExternalId",
            Self::Ledger => "EnforcementLedger",
            Self::SourceRecords => "SourceRecords",
            Self::SweepProgress => "SweepProgress",
            Self::SweepQueue => "SweepQueue",
            Self::ContinuationQueue => "ContinuationQueue",
            Self::EndpointDeletion => "EndpointDeletion",
        }
    }
}

/// The auto-tagger rule's `eventName` list, sorted: every create call of the resource table, the
/// `AddTags`/`DeleteTags` calls that tamper protection watches, and `DeleteUserProfile`, which deletes the
/// profile's budget (the one delete call the auto-tagger handles).
pub fn auto_tagger_event_names() -> Vec<&'static str> {
    let mut names = crate::resource::create_event_names();
    names.extend(crate::tagging::tamper::TAG_CHANGE_EVENTS);
    names.push(crate::tagging::profiles::PROFILE_DELETE_EVENT);
    names.sort_unstable();
    names
}

/// What a deployment (SAM, CDK) must know from the library: the auto-tagger's event names and each
/// function's permissions grouped by scope. Checked in as `infra/generated/manifest.json`.
pub fn manifest() -> serde_json::Value {
    fn grouped(permissions: BTreeSet<Permission>) -> serde_json::Value {
        let mut by_scope: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
        for (action, scope) in permissions {
            by_scope.entry(scope.sid()).or_default().push(action);
        }
        serde_json::json!(by_scope)
    }
    serde_json::json!({
        "auto-tagger": {
            "event_names": auto_tagger_event_names(),
            "permissions": grouped(auto_tagger()),
        },
        "budget-enforcer": {
            "permissions": grouped(budget_enforcer()),
        },
        "auto-tagger-member": {
            "permissions": grouped(auto_tagger_member()),
        },
        "budget-enforcer-member": {
            "permissions": grouped(budget_enforcer_member()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_permission_is_a_wildcard_action() {
        for (action, _) in auto_tagger().into_iter().chain(budget_enforcer()) {
            assert!(!action.contains('*'), "{action}");
            assert_eq!(action.split(':').count(), 2, "{action}");
        }
    }

    #[test]
    fn every_stop_the_enforcer_can_make_is_declared() {
        let granted: BTreeSet<&str> = budget_enforcer().into_iter().map(|(a, _)| a).collect();
        for op in [
            "StopNotebookInstance",
            "StopTrainingJob",
            "StopProcessingJob",
            "StopTransformJob",
            "StopHyperParameterTuningJob",
            "DeleteApp",
            "UpdateEndpointWeightsAndCapacities",
        ] {
            assert!(granted.contains(format!("sagemaker:{op}").as_str()), "{op}");
        }
    }

    #[test]
    fn every_kind_the_sweep_lists_has_its_list_permission() {
        let granted: BTreeSet<&str> = auto_tagger().into_iter().map(|(a, _)| a).collect();
        for op in [
            "ListTrainingJobs",
            "ListNotebookInstances",
            "ListApps",
            "ListSpaces",
            "ListDomains",
            "DescribeNotebookInstance",
            "DescribeModel",
        ] {
            assert!(granted.contains(format!("sagemaker:{op}").as_str()), "{op}");
        }
        assert_eq!(
            SWEEP.iter().filter(|(a, _)| a.starts_with("sagemaker:List")).count(),
            crate::sweep::sweep_kinds().len()
        );
    }

    #[test]
    fn every_call_of_every_kind_in_the_registry_is_declared() {
        let tagger = auto_tagger();
        let enforcer = budget_enforcer();
        let granted = |set: &BTreeSet<Permission>, action: &str| set.iter().any(|(a, _)| *a == action);
        for kind in KINDS {
            let name = kind.arn_type;
            assert!(granted(&tagger, kind.listing.iam_action()), "{name}: {:?} not declared", kind.listing);
            assert!(tagger.contains(&(kind.listing.iam_action(), Scope::Any)), "{name}: List* is granted on *");
            for action in kind.sweep_iam_actions() {
                assert!(SWEEP.iter().any(|(a, _)| *a == action), "{name}: {action} missing from SWEEP");
            }
            if let Some(role) = kind.role {
                assert!(tagger.contains(&(role.iam_action(), Scope::SageMaker)), "{name}: {role:?}");
            }
            if let Some(parent) = kind.parent {
                assert!(AUTO_TAGGER.contains(&(parent.iam_action(), Scope::SageMaker)), "{name}: {parent:?}");
            }
            if let Some(stop) = kind.stop {
                assert!(granted(&enforcer, stop.iam_action()), "{name}: {} not declared", stop.iam_action());
                if let Some(undo) = stop.undo_iam_action() {
                    assert!(granted(&enforcer, undo), "{name}: {undo} not declared");
                }
            }
        }
    }

    #[test]
    fn each_member_role_acts_for_its_own_function_and_reaches_no_central_resource() {
        let tagger = auto_tagger_member();
        let enforcer = budget_enforcer_member();
        for member in [&tagger, &enforcer] {
            assert!(member.iter().all(|(action, scope)| !CENTRAL_ONLY.contains(scope)
                && !action.starts_with("organizations:")
                && !action.starts_with("sts:")
                && !action.starts_with("ssm:")
                && !action.starts_with("dynamodb:")
                && *action != "budgets:ViewBudget"));
        }
        assert!(tagger.contains(&("sagemaker:ListTags", Scope::SageMaker)));
        assert!(tagger.contains(&("sagemaker:AddTags", Scope::SageMaker)));
        assert!(enforcer.contains(&("sagemaker:StopNotebookInstance", Scope::SageMaker)));
        assert!(enforcer.contains(&("sagemaker:AddTags", Scope::SageMakerMarkers)));
        for function in [auto_tagger(), budget_enforcer()] {
            assert!(function.contains(&("sts:AssumeRole", Scope::MemberRoles)));
            assert!(function.contains(&("ssm:GetParameter", Scope::MemberExternalId)));
        }
    }

    #[test]
    fn the_enforcers_member_role_writes_only_tagwarden_keys_and_the_taggers_stops_nothing() {
        let enforcer = budget_enforcer_member();
        let writes_tags = |(action, _): &&Permission| ["sagemaker:AddTags", "sagemaker:DeleteTags"].contains(action);
        let tag_writes: Vec<&Permission> = enforcer.iter().filter(writes_tags).collect();
        assert!(!tag_writes.is_empty());
        assert!(tag_writes.iter().all(|(_, scope)| *scope == Scope::SageMakerMarkers), "{tag_writes:?}");
        let tagger = auto_tagger_member();
        for (action, scope) in &tagger {
            let acts = ["Stop", "Delete", "Start", "Update", "Attach", "Detach"]
                .iter()
                .any(|verb| action.split(':').nth(1).is_some_and(|op| op.starts_with(verb)));
            // NOTE: sagemaker:DeleteTags (dropping aliased keys) is a tag write, not an action on the resource;
            // the Studio idle settings (STUDIO_IDLE's Update* calls) are configuration: they stop nothing running.
            let configures = STUDIO_IDLE.iter().any(|(a, _)| a == action && a.starts_with("sagemaker:Update"));
            assert!(
                !acts || *action == "sagemaker:DeleteTags" || configures,
                "the auto-tagger's member role {action} on {scope:?}"
            );
        }
        assert!(!tagger.iter().any(|(_, scope)| *scope == Scope::EndpointDeletion));
    }

    #[test]
    fn endpoint_deletion_is_granted_only_under_its_opt_in_scope_and_a_row_declares_it() {
        let enforcer = budget_enforcer();
        assert!(enforcer.contains(&("sagemaker:DeleteEndpoint", Scope::EndpointDeletion)));
        assert!(enforcer.contains(&("sagemaker:CreateEndpoint", Scope::EndpointDeletion)), "restore of a deletion");
        for (action, scope) in OPT_IN {
            let granted: Vec<Scope> = enforcer.iter().filter(|(a, _)| a == action).map(|(_, s)| *s).collect();
            assert_eq!(granted, [*scope], "{action} is granted only behind its opt-in");
            let declared = crate::enforce::actions().any(|a| for_action(a).iter().any(|(d, _)| d == action));
            assert!(declared, "{action}: no action row declares it; drop it from OPT_IN");
        }
        assert!(budget_enforcer_member().contains(&("sagemaker:DeleteEndpoint", Scope::EndpointDeletion)));
        assert!(!auto_tagger().iter().any(|(_, scope)| *scope == Scope::EndpointDeletion));
    }

    #[test]
    fn list_calls_are_the_only_sagemaker_grants_on_every_resource() {
        for (action, scope) in auto_tagger().into_iter().chain(budget_enforcer()) {
            if action.starts_with("sagemaker:") && scope == Scope::Any {
                assert!(action.starts_with("sagemaker:List"), "{action} should be scoped to SageMaker ARNs");
            }
        }
    }
}
