//! The budget world: what exists when a budget alert for `ml-marketing` reaches the budget enforcer.
//!
//! [`seed_budget_world`] creates, in one fresh emulator, resources in three categories that differ only
//! in their tags: **in scope** (`cost-center=CC-4100`, the budget's cost filter), **out of scope**
//! (`cost-center=CC-4200`) and **exempt** (`cost-center=CC-4100`, named `exempt-*`, spared by the example
//! policy's `budgets.exemptions` by name glob and execution role ARN). The in-scope category also carries
//! the attack on the old tag exemption: one running notebook and its execution role tagged
//! `tagwarden:exempt=true` by their owner, which must change nothing.
//! Each category gets running notebook instances, one InProgress job of every kind, an endpoint, Studio
//! apps, a user profile and IAM execution roles; the in-scope category also gets stopped notebooks,
//! completed training jobs, an execution role that is only in scope through its user profile and a role
//! with the deny policy already attached. Around them: the budgets `ml-marketing` (with a tag cost
//! filter) and `ml-unscoped` (without), both reporting $1,250 of $1,000 spent (the enforcer checks every
//! alert against the budget's own figure), the deny policy, a role trusted only by EC2 and the SNS topics.

use aws_config::SdkConfig;
use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
use aws_sdk_sagemaker::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, AppNetworkAccessType, AppSpecification, AppType, AuthMode, ContainerDefinition,
    HyperParameterAlgorithmSpecification, HyperParameterTrainingJobDefinition, HyperParameterTuningJobConfig,
    HyperParameterTuningJobStrategyType, InstanceType, OutputDataConfig, OwnershipSettings, ProcessingClusterConfig,
    ProcessingInstanceType, ProcessingResources, ProcessingStoppingCondition, ProductionVariant,
    ProductionVariantInstanceType, ResourceConfig, ResourceLimits, S3DataType, SharingType, SpaceSettings,
    SpaceSharingSettings, StoppingCondition, TrainingInputMode, TrainingInstanceType, TransformDataSource,
    TransformInput, TransformInstanceType, TransformOutput, TransformResources, TransformS3DataSource, UserSettings,
};
use tokio::task::JoinSet;

use crate::world::{iam_tags, sm_tags};
use crate::{ACCOUNT, Emulator};

/// The budget whose alert the enforcer acts on.
pub const BUDGET: &str = "ml-marketing";
/// A budget without cost filters (no scope can be derived from it).
pub const UNSCOPED_BUDGET: &str = "ml-unscoped";
/// The daily budget of the example policy's tag-scoped rule (`events/budget-enforcer/daily-name-with-spaces.json`).
pub const DAILY_BUDGET: &str = "ML Research Daily";
/// What [`BUDGET`] and [`UNSCOPED_BUDGET`] report as spent (ACTUAL and FORECASTED, USD, of 1,000): the
/// highest sample alert's 125 %, so that every sample alert is confirmed by the budget's own record.
pub const BUDGET_SPEND: &str = "1250";
/// What [`DAILY_BUDGET`] reports as spent (USD, of 50): the daily sample's 123 %.
pub const DAILY_SPEND: &str = "61.5";
/// The cost-allocation tag key the budget filters on.
pub const SCOPE_KEY: &str = "cost-center";
/// The tag value that puts a resource in the budget's scope.
pub const SCOPE_VALUE: &str = "CC-4100";
/// The tag value of out-of-scope resources.
pub const OTHER_VALUE: &str = "CC-4200";
/// The tag key that used to exempt a resource: a user writing it on their own resource must change nothing.
pub const EXEMPT_KEY: &str = "tagwarden:exempt";
/// The self-exemption tag's value.
pub const EXEMPT_VALUE: &str = "true";
/// The in-scope execution role that tagged itself `tagwarden:exempt=true` (it must still be denied).
pub const SELF_TAGGED_ROLE: &str = "ml-marketing-exec";
/// The exempt category's execution role, exempt by its ARN in the example policy.
pub const EXEMPT_ROLE: &str = "ml-marketing-exempt-exec";
/// The topic the enforcer sends its summary to.
pub const SUMMARY_TOPIC: &str = "tagwarden-enforcement";
/// The topic AWS Budgets sends its alerts to.
pub const ALERTS_TOPIC: &str = "tagwarden-budget-alerts";
/// The customer-managed policy `deny-iam` attaches.
pub const DENY_POLICY: &str = "tagwarden-deny-sagemaker";
/// The instance-types deny policy `deny-instance-types` attaches (the example policy's ARN names it).
pub const INSTANCE_TYPES_POLICY: &str = "tagwarden-deny-instance-types";
/// The Studio domain's name (its moto id is [`DOMAIN_ID`]).
pub const DOMAIN_NAME: &str = "marketing-studio";
/// The Studio domain's id.
pub const DOMAIN_ID: &str = "d-marketing-studio";
/// The in-scope role that already has the deny policy attached.
pub const PREATTACHED_ROLE: &str = "ml-marketing-preattached";
/// The in-scope role trusted only by EC2 (never denied).
pub const UNTRUSTED_ROLE: &str = "ml-marketing-ec2";
/// The untagged execution role of the in-scope user profile `mia`.
pub const MIA_ROLE: &str = "mia-exec";
/// In-scope notebook instances created and then stopped.
pub const STOPPED_NOTEBOOKS: usize = 3;
/// In-scope training jobs left Completed.
pub const COMPLETED_JOBS: usize = 2;
/// Initial instance count of every endpoint's only variant (`AllTraffic`).
pub const ENDPOINT_INSTANCES: i32 = 3;

/// Notebook instances created at the same time.
const CONCURRENCY: usize = 16;
const VPC_ID: &str = "vpc-0a1b2c3d4e5f60789";
const SUBNET_ID: &str = "subnet-0f1e2d3c4b5a69780";
const IMAGE: &str = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1";
const BUCKET: &str = "s3://ml-marketing-artifacts-123456789012";

/// Resources of one category, by ARN (roles by name).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Notebook instances InService.
    pub notebooks_running: Vec<String>,
    /// Notebook instances Stopped.
    pub notebooks_stopped: Vec<String>,
    /// Training jobs InProgress.
    pub training_jobs: Vec<String>,
    /// Processing jobs InProgress.
    pub processing_jobs: Vec<String>,
    /// Transform jobs InProgress.
    pub transform_jobs: Vec<String>,
    /// Hyper-parameter tuning jobs InProgress.
    pub tuning_jobs: Vec<String>,
    /// Endpoints InService.
    pub endpoints: Vec<String>,
    /// Studio apps InService.
    pub apps: Vec<String>,
    /// IAM role names.
    pub roles: Vec<String>,
    /// Studio user profiles.
    pub profiles: Vec<String>,
}

/// What `seed_budget_world` created.
#[derive(Debug, Clone)]
pub struct BudgetWorld {
    /// Tagged `cost-center=CC-4100` (or in scope through a user profile).
    pub in_scope: Inventory,
    /// Tagged `cost-center=CC-4200`.
    pub out_of_scope: Inventory,
    /// Tagged `cost-center=CC-4100` like the in-scope ones, and exempt by the example policy's exemptions.
    pub exempt: Inventory,
    /// The in-scope running notebook its owner tagged `tagwarden:exempt=true` (AddTags after creation).
    pub self_tagged_notebook: String,
    /// In-scope training jobs left Completed.
    pub completed_jobs: Vec<String>,
    /// The in-scope role a human already attached the deny policy to.
    pub preattached_role: String,
    /// The in-scope role trusted only by `ec2.amazonaws.com`: must never be denied.
    pub untrusted_role: String,
    /// The ARN of the deny policy `tagwarden-deny-sagemaker`.
    pub deny_policy_arn: String,
    /// The ARN of the topic `tagwarden-enforcement`.
    pub summary_topic_arn: String,
}

/// A category of resources: what tags they carry and how they are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    InScope,
    OutOfScope,
    Exempt,
}

impl Category {
    const ALL: [Self; 3] = [Self::InScope, Self::OutOfScope, Self::Exempt];

    fn tags(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::InScope => &[(SCOPE_KEY, SCOPE_VALUE)],
            Self::OutOfScope => &[(SCOPE_KEY, OTHER_VALUE)],
            Self::Exempt => &[(SCOPE_KEY, SCOPE_VALUE)],
        }
    }

    /// The prefix of the category's resource names.
    fn prefix(self) -> &'static str {
        match self {
            Self::InScope => "mkt",
            Self::OutOfScope => "res",
            Self::Exempt => "exempt",
        }
    }

    /// The execution role the category's notebooks, jobs and models use.
    fn role(self) -> &'static str {
        match self {
            Self::InScope => "ml-marketing-exec",
            Self::OutOfScope => "ml-research-exec",
            Self::Exempt => EXEMPT_ROLE,
        }
    }

    /// The category's user profile.
    fn profile(self) -> &'static str {
        match self {
            Self::InScope => "mia",
            Self::OutOfScope => "raj",
            Self::Exempt => "ed",
        }
    }
}

/// The ARN of IAM role `name` (path `/`).
pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// Formats an SDK error: the service's code and message, or the whole source chain if there are none.
fn sdk_error<E: std::error::Error + ProvideErrorMetadata>(what: String) -> impl FnOnce(E) -> String {
    move |e| match (e.code(), e.message()) {
        (Some(code), message) => format!("{what}: {code}: {}", message.unwrap_or_default()),
        (None, _) => format!("{what}: {}", DisplayErrorContext(&e)),
    }
}

fn arn_of(arn: Option<&str>, what: &str) -> Result<String, String> {
    arn.map(str::to_owned).ok_or_else(|| format!("{what}: the response has no ARN"))
}

fn trust_policy(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

/// The deny policy `deny-iam` attaches: the library's one document, as the templates deploy it.
fn deny_policy_document() -> String {
    tagwarden::deny_policy::document().to_string()
}

type Sm = aws_sdk_sagemaker::Client;

/// An IAM role of the world: name, the service its trust policy names, tags.
type RoleSpec = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

/// Seeds the budget world; `notebooks` = running notebook instances per category (in scope / out of scope / exempt).
///
/// Call it once per fresh emulator whose configuration `config` points at (account [`ACCOUNT`], region
/// `us-east-1`). Notebook instances are created [`CONCURRENCY`] at a time; jobs are switched to InProgress
/// through `emulator`'s `/_tagwarden/status`.
pub async fn seed_budget_world(
    emulator: &Emulator,
    config: &SdkConfig,
    notebooks: usize,
) -> Result<BudgetWorld, String> {
    let mut world = BudgetWorld {
        in_scope: Inventory::default(),
        out_of_scope: Inventory::default(),
        exempt: Inventory::default(),
        self_tagged_notebook: String::new(),
        completed_jobs: Vec::new(),
        preattached_role: PREATTACHED_ROLE.to_owned(),
        untrusted_role: UNTRUSTED_ROLE.to_owned(),
        deny_policy_arn: String::new(),
        summary_topic_arn: String::new(),
    };
    seed_budget(config).await?;
    world.summary_topic_arn = seed_topics(config).await?;
    world.deny_policy_arn = seed_iam(config, &mut world).await?;

    let sm = Sm::new(config);
    seed_studio(&sm, &mut world).await?;
    for category in Category::ALL {
        let inventory = world.inventory_mut(category);
        inventory.notebooks_running = create_notebooks(&sm, category, notebooks, false).await?;
        seed_jobs(&sm, emulator, category, inventory).await?;
        inventory.endpoints.push(create_endpoint(&sm, category).await?);
    }
    world.self_tagged_notebook = self_tag_a_notebook(&sm, &world.in_scope).await?;
    world.in_scope.notebooks_stopped = create_notebooks(&sm, Category::InScope, STOPPED_NOTEBOOKS, true).await?;
    for n in 1..=COMPLETED_JOBS {
        let name = format!("mkt-training-done-{n:04}");
        world.completed_jobs.push(create_training_job(&sm, Category::InScope, &name).await?);
    }
    Ok(world)
}

impl BudgetWorld {
    fn inventory_mut(&mut self, category: Category) -> &mut Inventory {
        match category {
            Category::InScope => &mut self.in_scope,
            Category::OutOfScope => &mut self.out_of_scope,
            Category::Exempt => &mut self.exempt,
        }
    }
}

/// The attack on the old tag exemption: the owner of an in-scope notebook tags it `tagwarden:exempt=true`
/// (AddTags straight to the emulator: no auto-tagger runs here). Returns its ARN (the first running one).
async fn self_tag_a_notebook(sm: &Sm, in_scope: &Inventory) -> Result<String, String> {
    let arn = in_scope.notebooks_running.first().ok_or("no in-scope notebook to self-tag")?.clone();
    sm.add_tags()
        .resource_arn(&arn)
        .set_tags(Some(sm_tags(&[(EXEMPT_KEY, EXEMPT_VALUE)])))
        .send()
        .await
        .map_err(sdk_error(format!("AddTags {arn}")))?;
    Ok(arn)
}

/// Creates only the budgets: [`BUDGET`] (COST, MONTHLY, 1000 USD, `CostFilters`
/// `{"TagKeyValue": ["user:cost-center$CC-4100"]}`), [`UNSCOPED_BUDGET`] (no cost filters) and
/// [`DAILY_BUDGET`] (DAILY, 50 USD, the example policy's tag-scoped rule), each with the spend AWS Budgets
/// would report ([`BUDGET_SPEND`], [`DAILY_SPEND`]): the enforcer checks every alert against it.
/// [`seed_budget_world`] calls it; call it alone for a world of your own.
pub async fn seed_budget(config: &SdkConfig) -> Result<(), String> {
    let filter = format!("user:{SCOPE_KEY}${SCOPE_VALUE}");
    let budgets: [BudgetSpec; 3] = [
        (BUDGET, "1000", BUDGET_SPEND, Some(filter), TimeUnit::Monthly),
        (UNSCOPED_BUDGET, "1000", BUDGET_SPEND, None, TimeUnit::Monthly),
        (DAILY_BUDGET, "50", DAILY_SPEND, None, TimeUnit::Daily),
    ];
    for (name, limit, spend, filter, unit) in budgets {
        create_budget(config, name, limit, spend, filter, unit).await?;
    }
    Ok(())
}

/// A budget of the world: name, limit (USD), actual and forecasted spend (USD), tag filter, time unit.
type BudgetSpec = (&'static str, &'static str, &'static str, Option<String>, TimeUnit);

/// Creates budget `name` (COST) with this limit, ACTUAL and FORECASTED spend `spend` (moto reports
/// `CalculatedSpend` only as given at CreateBudget) and optional `TagKeyValue` filter.
// `CostFilters` is deprecated in favour of `FilterExpression`, but it is what the enforcer reads first.
#[allow(deprecated)]
async fn create_budget(
    config: &SdkConfig,
    name: &str,
    limit: &str,
    spend: &str,
    filter: Option<String>,
    unit: TimeUnit,
) -> Result<(), String> {
    let usd = |amount: &str| Spend::builder().amount(amount).unit("USD").build().map_err(|e| format!("Spend: {e}"));
    let calculated = CalculatedSpend::builder().actual_spend(usd(spend)?).forecasted_spend(usd(spend)?).build();
    let mut budget = Budget::builder()
        .budget_name(name)
        .budget_type(BudgetType::Cost)
        .time_unit(unit)
        .budget_limit(usd(limit)?)
        .calculated_spend(calculated);
    if let Some(filter) = filter {
        budget = budget.cost_filters("TagKeyValue", vec![filter]);
    }
    let budget = budget.build().map_err(|e| format!("Budget {name}: {e}"))?;
    aws_sdk_budgets::Client::new(config)
        .create_budget()
        .account_id(ACCOUNT)
        .budget(budget)
        .send()
        .await
        .map_err(sdk_error(format!("CreateBudget {name}")))?;
    Ok(())
}

/// Sets what [`BUDGET`] reports as its ACTUAL and FORECASTED spend (USD), as AWS Budgets would after
/// spend changes: the emulator has no UpdateBudget, so the budget is deleted and created again.
pub async fn set_budget_spend(config: &SdkConfig, spend: &str) -> Result<(), String> {
    recreate_budget(config, spend, TimeUnit::Monthly).await
}

/// Makes [`BUDGET`] a budget of another period (`QUARTERLY`, …) with this spend, deleting and creating it again.
pub async fn set_budget_period(config: &SdkConfig, unit: TimeUnit, spend: &str) -> Result<(), String> {
    recreate_budget(config, spend, unit).await
}

async fn recreate_budget(config: &SdkConfig, spend: &str, unit: TimeUnit) -> Result<(), String> {
    aws_sdk_budgets::Client::new(config)
        .delete_budget()
        .account_id(ACCOUNT)
        .budget_name(BUDGET)
        .send()
        .await
        .map_err(sdk_error(format!("DeleteBudget {BUDGET}")))?;
    let filter = format!("user:{SCOPE_KEY}${SCOPE_VALUE}");
    create_budget(config, BUDGET, "1000", spend, Some(filter), unit).await
}

/// The SNS topics; returns the summary topic's ARN.
async fn seed_topics(config: &SdkConfig) -> Result<String, String> {
    let sns = aws_sdk_sns::Client::new(config);
    sns.create_topic().name(ALERTS_TOPIC).send().await.map_err(sdk_error(format!("CreateTopic {ALERTS_TOPIC}")))?;
    let out = sns
        .create_topic()
        .name(SUMMARY_TOPIC)
        .send()
        .await
        .map_err(sdk_error(format!("CreateTopic {SUMMARY_TOPIC}")))?;
    arn_of(out.topic_arn(), "CreateTopic")
}

/// The deny policy and the roles (recorded in `world`); returns the policy's ARN.
async fn seed_iam(config: &SdkConfig, world: &mut BudgetWorld) -> Result<String, String> {
    let iam = aws_sdk_iam::Client::new(config);
    let policy = iam
        .create_policy()
        .policy_name(DENY_POLICY)
        .policy_document(deny_policy_document())
        .description("Tagwarden: deny new SageMaker spend while a budget is exceeded")
        .send()
        .await
        .map_err(sdk_error(format!("CreatePolicy {DENY_POLICY}")))?;
    let policy_arn = policy.policy().and_then(|p| p.arn()).map(str::to_owned).ok_or("CreatePolicy: no ARN")?;
    let patterns = tagwarden::deny_policy::DEFAULT_DENIED_INSTANCE_TYPES;
    iam.create_policy()
        .policy_name(INSTANCE_TYPES_POLICY)
        .policy_document(tagwarden::deny_policy::instance_types_document(patterns).to_string())
        .description("Tagwarden: deny GPU, accelerator and huge SageMaker instances while a budget is exceeded")
        .send()
        .await
        .map_err(sdk_error(format!("CreatePolicy {INSTANCE_TYPES_POLICY}")))?;

    let sagemaker = "sagemaker.amazonaws.com";
    let roles: [RoleSpec; 6] = [
        (SELF_TAGGED_ROLE, sagemaker, &[(SCOPE_KEY, SCOPE_VALUE), (EXEMPT_KEY, EXEMPT_VALUE)]),
        (Category::OutOfScope.role(), sagemaker, Category::OutOfScope.tags()),
        (Category::Exempt.role(), sagemaker, Category::Exempt.tags()),
        (MIA_ROLE, sagemaker, &[]),
        (PREATTACHED_ROLE, sagemaker, Category::InScope.tags()),
        (UNTRUSTED_ROLE, "ec2.amazonaws.com", Category::InScope.tags()),
    ];
    for (name, service, tags) in roles {
        iam.create_role()
            .role_name(name)
            .path("/")
            .assume_role_policy_document(trust_policy(service))
            .set_tags((!tags.is_empty()).then(|| iam_tags(tags)).transpose()?)
            .send()
            .await
            .map_err(sdk_error(format!("CreateRole {name}")))?;
    }
    iam.attach_role_policy()
        .role_name(PREATTACHED_ROLE)
        .policy_arn(&policy_arn)
        .send()
        .await
        .map_err(sdk_error(format!("AttachRolePolicy {PREATTACHED_ROLE}")))?;

    let own = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    world.in_scope.roles = own(&[Category::InScope.role(), MIA_ROLE, PREATTACHED_ROLE]);
    world.out_of_scope.roles = own(&[Category::OutOfScope.role()]);
    world.exempt.roles = own(&[Category::Exempt.role()]);
    Ok(policy_arn)
}

/// The domain, the profiles `mia`/`raj`/`ed`, the space `mia-space` and the five apps.
async fn seed_studio(sm: &Sm, world: &mut BudgetWorld) -> Result<(), String> {
    sm.create_domain()
        .domain_name(DOMAIN_NAME)
        .auth_mode(AuthMode::Iam)
        .default_user_settings(UserSettings::builder().execution_role(role_arn(MIA_ROLE)).build())
        .subnet_ids(SUBNET_ID)
        .vpc_id(VPC_ID)
        .app_network_access_type(AppNetworkAccessType::PublicInternetOnly)
        .set_tags(Some(Vec::new()))
        .send()
        .await
        .map_err(sdk_error(format!("CreateDomain {DOMAIN_NAME}")))?;
    for category in Category::ALL {
        let name = category.profile();
        // mia runs as the untagged mia-exec (in scope through her profile); the others as their category's role
        let role = if category == Category::InScope { MIA_ROLE } else { category.role() };
        let out = sm
            .create_user_profile()
            .domain_id(DOMAIN_ID)
            .user_profile_name(name)
            .user_settings(UserSettings::builder().execution_role(role_arn(role)).build())
            .set_tags(Some(sm_tags(category.tags())))
            .send()
            .await
            .map_err(sdk_error(format!("CreateUserProfile {name}")))?;
        world.inventory_mut(category).profiles.push(arn_of(out.user_profile_arn(), "CreateUserProfile")?);
    }
    let space = "mia-space";
    sm.create_space()
        .domain_id(DOMAIN_ID)
        .space_name(space)
        .space_settings(SpaceSettings::builder().app_type(AppType::CodeEditor).build())
        .ownership_settings(OwnershipSettings::builder().owner_user_profile_name("mia").build())
        .space_sharing_settings(SpaceSharingSettings::builder().sharing_type(SharingType::Private).build())
        .set_tags(Some(sm_tags(Category::InScope.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateSpace {space}")))?;

    // (category, owner, is a space, app type, app name)
    let apps = [
        (Category::InScope, "mia", false, AppType::JupyterLab, "default"),
        (Category::InScope, "mia", false, AppType::KernelGateway, "datascience"),
        (Category::InScope, space, true, AppType::CodeEditor, "default"),
        (Category::OutOfScope, "raj", false, AppType::JupyterLab, "default"),
        (Category::Exempt, "ed", false, AppType::JupyterLab, "default"),
    ];
    for (category, owner, is_space, app_type, name) in apps {
        let (user, space) = if is_space { (None, Some(owner)) } else { (Some(owner), None) };
        let out = sm
            .create_app()
            .domain_id(DOMAIN_ID)
            .set_user_profile_name(user.map(str::to_owned))
            .set_space_name(space.map(str::to_owned))
            .app_type(app_type)
            .app_name(name)
            .set_tags(Some(sm_tags(category.tags())))
            .send()
            .await
            .map_err(sdk_error(format!("CreateApp {owner}/{name}")))?;
        world.inventory_mut(category).apps.push(arn_of(out.app_arn(), "CreateApp")?);
    }
    Ok(())
}

/// Creates `count` notebook instances of `category` ([`CONCURRENCY`] at a time), stopping each if `stop`;
/// returns their ARNs in name order (`mkt-nb-0001`, ... or `mkt-nb-stopped-0001`, ...).
async fn create_notebooks(sm: &Sm, category: Category, count: usize, stop: bool) -> Result<Vec<String>, String> {
    let infix = if stop { "nb-stopped" } else { "nb" };
    let mut names = (1..=count).map(|n| format!("{}-{infix}-{n:04}", category.prefix())).enumerate();
    let mut arns: Vec<Option<String>> = vec![None; count];
    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < CONCURRENCY {
            let Some((i, name)) = names.next() else { break };
            let sm = sm.clone();
            tasks.spawn(async move { (i, create_notebook(&sm, category, &name, stop).await) });
        }
        let Some(joined) = tasks.join_next().await else { break };
        let (i, arn) = joined.map_err(|e| format!("notebook task: {e}"))?;
        if let Some(slot) = arns.get_mut(i) {
            *slot = Some(arn?);
        }
    }
    arns.into_iter().map(|a| a.ok_or_else(|| "a notebook instance was not created".to_owned())).collect()
}

async fn create_notebook(sm: &Sm, category: Category, name: &str, stop: bool) -> Result<String, String> {
    let out = sm
        .create_notebook_instance()
        .notebook_instance_name(name)
        .instance_type(InstanceType::MlT3Medium)
        .role_arn(role_arn(category.role()))
        .volume_size_in_gb(5)
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateNotebookInstance {name}")))?;
    let arn = arn_of(out.notebook_instance_arn(), "CreateNotebookInstance")?;
    if stop {
        sm.stop_notebook_instance()
            .notebook_instance_name(name)
            .send()
            .await
            .map_err(sdk_error(format!("StopNotebookInstance {name}")))?;
    }
    Ok(arn)
}

/// One training, processing, transform and tuning job of `category`, each set InProgress.
async fn seed_jobs(sm: &Sm, emulator: &Emulator, category: Category, inventory: &mut Inventory) -> Result<(), String> {
    let prefix = category.prefix();
    let model = create_model(sm, category).await?;
    let training = create_training_job(sm, category, &format!("{prefix}-training-0001")).await?;
    let processing = create_processing_job(sm, category, &format!("{prefix}-processing-0001")).await?;
    let transform = create_transform_job(sm, category, &format!("{prefix}-transform-0001"), &model).await?;
    let tuning = create_tuning_job(sm, category, &format!("{prefix}-tuning-0001")).await?;
    for arn in [&training, &processing, &transform, &tuning] {
        emulator.set_status(arn, "InProgress")?;
    }
    inventory.training_jobs.push(training);
    inventory.processing_jobs.push(processing);
    inventory.transform_jobs.push(transform);
    inventory.tuning_jobs.push(tuning);
    Ok(())
}

/// Model `<prefix>-model`; returns its name.
async fn create_model(sm: &Sm, category: Category) -> Result<String, String> {
    let name = format!("{}-model", category.prefix());
    sm.create_model()
        .model_name(&name)
        .execution_role_arn(role_arn(category.role()))
        .primary_container(
            ContainerDefinition::builder()
                .image(IMAGE)
                .model_data_url(format!("{BUCKET}/models/{name}/model.tar.gz"))
                .build(),
        )
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateModel {name}")))?;
    Ok(name)
}

fn output_config(name: &str) -> OutputDataConfig {
    OutputDataConfig::builder().s3_output_path(format!("{BUCKET}/{name}/output/")).build()
}

fn resource_config() -> ResourceConfig {
    ResourceConfig::builder()
        .instance_type(TrainingInstanceType::MlM5Xlarge)
        .instance_count(1)
        .volume_size_in_gb(30)
        .build()
}

async fn create_training_job(sm: &Sm, category: Category, name: &str) -> Result<String, String> {
    let out = sm
        .create_training_job()
        .training_job_name(name)
        .role_arn(role_arn(category.role()))
        .algorithm_specification(
            AlgorithmSpecification::builder()
                .training_image(IMAGE)
                .training_input_mode(TrainingInputMode::File)
                .build(),
        )
        .output_data_config(output_config(name))
        .resource_config(resource_config())
        .stopping_condition(StoppingCondition::builder().max_runtime_in_seconds(86_400).build())
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateTrainingJob {name}")))?;
    arn_of(out.training_job_arn(), "CreateTrainingJob")
}

async fn create_processing_job(sm: &Sm, category: Category, name: &str) -> Result<String, String> {
    let out = sm
        .create_processing_job()
        .processing_job_name(name)
        .role_arn(role_arn(category.role()))
        .app_specification(AppSpecification::builder().image_uri(IMAGE).container_entrypoint("python3").build())
        .processing_resources(
            ProcessingResources::builder()
                .cluster_config(
                    ProcessingClusterConfig::builder()
                        .instance_count(1)
                        .instance_type(ProcessingInstanceType::MlM5Xlarge)
                        .volume_size_in_gb(30)
                        .build(),
                )
                .build(),
        )
        .stopping_condition(ProcessingStoppingCondition::builder().max_runtime_in_seconds(86_400).build())
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateProcessingJob {name}")))?;
    arn_of(out.processing_job_arn(), "CreateProcessingJob")
}

async fn create_transform_job(sm: &Sm, category: Category, name: &str, model: &str) -> Result<String, String> {
    let source = TransformS3DataSource::builder()
        .s3_data_type(S3DataType::S3Prefix)
        .s3_uri(format!("{BUCKET}/{name}/input/"))
        .build();
    let out = sm
        .create_transform_job()
        .transform_job_name(name)
        .model_name(model)
        .transform_input(
            TransformInput::builder()
                .data_source(TransformDataSource::builder().s3_data_source(source).build())
                .content_type("text/csv")
                .build(),
        )
        .transform_output(TransformOutput::builder().s3_output_path(format!("{BUCKET}/{name}/output/")).build())
        .transform_resources(
            TransformResources::builder().instance_type(TransformInstanceType::MlM5Xlarge).instance_count(1).build(),
        )
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateTransformJob {name}")))?;
    arn_of(out.transform_job_arn(), "CreateTransformJob")
}

async fn create_tuning_job(sm: &Sm, category: Category, name: &str) -> Result<String, String> {
    let out = sm
        .create_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(name)
        .hyper_parameter_tuning_job_config(
            HyperParameterTuningJobConfig::builder()
                .strategy(HyperParameterTuningJobStrategyType::Bayesian)
                .resource_limits(
                    ResourceLimits::builder().max_number_of_training_jobs(10).max_parallel_training_jobs(2).build(),
                )
                .build(),
        )
        .training_job_definition(
            HyperParameterTrainingJobDefinition::builder()
                .algorithm_specification(
                    HyperParameterAlgorithmSpecification::builder()
                        .training_image(IMAGE)
                        .training_input_mode(TrainingInputMode::File)
                        .build(),
                )
                .role_arn(role_arn(category.role()))
                .output_data_config(output_config(name))
                .resource_config(resource_config())
                .stopping_condition(StoppingCondition::builder().max_runtime_in_seconds(3_600).build())
                .build(),
        )
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateHyperParameterTuningJob {name}")))?;
    arn_of(out.hyper_parameter_tuning_job_arn(), "CreateHyperParameterTuningJob")
}

/// Endpoint `<prefix>-endpoint` on config `<prefix>-endpoint-config` (variant `AllTraffic`,
/// [`ENDPOINT_INSTANCES`] × ml.m5.large, serving `<prefix>-model`).
async fn create_endpoint(sm: &Sm, category: Category) -> Result<String, String> {
    let prefix = category.prefix();
    let config = format!("{prefix}-endpoint-config");
    sm.create_endpoint_config()
        .endpoint_config_name(&config)
        .production_variants(
            ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name(format!("{prefix}-model"))
                .initial_instance_count(ENDPOINT_INSTANCES)
                .instance_type(ProductionVariantInstanceType::MlM5Large)
                .initial_variant_weight(1.0)
                .build(),
        )
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateEndpointConfig {config}")))?;
    let name = format!("{prefix}-endpoint");
    let out = sm
        .create_endpoint()
        .endpoint_name(&name)
        .endpoint_config_name(&config)
        .set_tags(Some(sm_tags(category.tags())))
        .send()
        .await
        .map_err(sdk_error(format!("CreateEndpoint {name}")))?;
    arn_of(out.endpoint_arn(), "CreateEndpoint")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::REGION;
    use aws_sdk_sagemaker::types::{AppStatus, NotebookInstanceStatus, TrainingJobStatus};

    #[test]
    fn every_tag_value_the_budget_world_seeds_is_accepted_by_the_example_policy() {
        // NOTE: the demo's worlds follow the example policy, so `tagwarden audit` against `make emulator`
        // does not report the enforcer's whole scope as non-compliant.
        let policy = tagwarden::Policy::example().unwrap();
        let mut checked = 0;
        for category in Category::ALL {
            for &(key, value) in category.tags() {
                let Some(rule) = policy.tags.rule(key) else {
                    assert!(key.starts_with("tagwarden:"), "{key} is neither a policy key nor a Tagwarden marker");
                    continue;
                };
                assert_eq!(rule.check(value), Ok(value.to_owned()), "{category:?}: {key}={value}");
                checked += 1;
            }
        }
        assert_eq!(checked, Category::ALL.len(), "every category carries a cost center");
        assert!(policy.budgets.rule_for(BUDGET).is_some(), "the example policy has a rule for {BUDGET}");
    }

    /// `GetResources` through the Resource Groups Tagging API's JSON protocol (this package has no
    /// tagging SDK): every ARN matching the tag filter and resource types, all pages.
    fn get_resources(emulator: &Emulator, key: &str, value: &str, types: &[&str]) -> Vec<String> {
        use std::io::{Read, Write};
        let mut arns = Vec::new();
        let mut token = String::new();
        loop {
            let body = serde_json::json!({
                "TagFilters": [{"Key": key, "Values": [value]}],
                "ResourceTypeFilters": types,
                "PaginationToken": token,
            })
            .to_string();
            let host = emulator.endpoint().trim_start_matches("http://").to_owned();
            let mut stream = std::net::TcpStream::connect(&host).unwrap();
            let request = format!(
                "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources\r\n\
                 Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/tagging/aws4_request, \
                 SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            let (head, body) = response.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "{head}");
            let page: serde_json::Value = serde_json::from_str(body).unwrap();
            for mapping in page["ResourceTagMappingList"].as_array().unwrap() {
                arns.push(mapping["ResourceARN"].as_str().unwrap().to_owned());
            }
            token = page["PaginationToken"].as_str().unwrap_or_default().to_owned();
            if token.is_empty() {
                return arns;
            }
        }
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(deprecated)] // Budget::cost_filters
    async fn seeds_the_budget_world() {
        let emulator = Emulator::start().unwrap();
        let config = emulator.sdk_config(REGION, 1).await;
        let world = seed_budget_world(&emulator, &config, 5).await.unwrap();

        // the budget carries its tag filter back; the unscoped one has none
        let budgets = aws_sdk_budgets::Client::new(&config);
        let out = budgets.describe_budget().account_id(ACCOUNT).budget_name(BUDGET).send().await.unwrap();
        let budget = out.budget().unwrap();
        let filters = budget.cost_filters().unwrap();
        assert_eq!(filters.get("TagKeyValue").unwrap(), &vec!["user:cost-center$CC-4100".to_owned()]);
        assert_eq!(budget.budget_limit().map(|l| (l.amount(), l.unit())), Some(("1000", "USD")));
        let spent = budget.calculated_spend().and_then(|c| c.actual_spend()).map(|s| s.amount());
        assert_eq!(spent, Some(BUDGET_SPEND), "the budget reports the spend it was given");
        let out = budgets.describe_budget().account_id(ACCOUNT).budget_name(UNSCOPED_BUDGET).send().await.unwrap();
        assert!(out.budget().unwrap().cost_filters().is_none_or(|f| f.is_empty()));

        let sm = Sm::new(&config);
        let running: Vec<_> = sm
            .list_notebook_instances()
            .status_equals(NotebookInstanceStatus::InService)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        assert_eq!(running.len(), 15);
        let stopped = sm
            .list_notebook_instances()
            .status_equals(NotebookInstanceStatus::Stopped)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        let stopped: Vec<String> =
            stopped.iter().filter_map(|n| n.notebook_instance_arn().map(str::to_owned)).collect();
        assert_eq!(sorted(stopped), sorted(world.in_scope.notebooks_stopped.clone()));

        let training = sm.list_training_jobs().status_equals(TrainingJobStatus::InProgress).send().await.unwrap();
        assert_eq!(training.training_job_summaries().len(), 3);
        let completed = sm.list_training_jobs().status_equals(TrainingJobStatus::Completed).send().await.unwrap();
        let completed: Vec<String> =
            completed.training_job_summaries().iter().filter_map(|j| j.training_job_arn().map(str::to_owned)).collect();
        assert_eq!(sorted(completed), sorted(world.completed_jobs.clone()));
        for (kind, count) in [
            (
                "processing",
                sm.list_processing_jobs()
                    .status_equals("InProgress".into())
                    .send()
                    .await
                    .unwrap()
                    .processing_job_summaries()
                    .len(),
            ),
            (
                "transform",
                sm.list_transform_jobs()
                    .status_equals("InProgress".into())
                    .send()
                    .await
                    .unwrap()
                    .transform_job_summaries()
                    .len(),
            ),
            (
                "tuning",
                sm.list_hyper_parameter_tuning_jobs()
                    .status_equals("InProgress".into())
                    .send()
                    .await
                    .unwrap()
                    .hyper_parameter_tuning_job_summaries()
                    .len(),
            ),
        ] {
            assert_eq!(count, 3, "{kind}");
        }

        let apps = sm.list_apps().domain_id_equals(DOMAIN_ID).max_results(50).send().await.unwrap();
        assert!(apps.apps().iter().all(|a| a.status() == Some(&AppStatus::InService)));
        let listed: Vec<String> = apps
            .apps()
            .iter()
            .map(|a| {
                let owner = a.user_profile_name().or(a.space_name()).unwrap();
                let kind = a.app_type().unwrap().as_str().to_lowercase();
                format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/{DOMAIN_ID}/{owner}/{kind}/{}", a.app_name().unwrap())
            })
            .collect();
        let all_apps = [&world.in_scope.apps, &world.out_of_scope.apps, &world.exempt.apps];
        assert_eq!(sorted(listed), sorted(all_apps.iter().flat_map(|a| a.iter().cloned()).collect()));
        assert_eq!(world.in_scope.apps.len(), 3);
        assert!(
            world.in_scope.apps.contains(&format!(
                "arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/{DOMAIN_ID}/mia-space/codeeditor/default"
            ))
        );

        // in scope by tag: running + stopped in-scope notebooks and the exempt ones
        let tagged = get_resources(&emulator, SCOPE_KEY, SCOPE_VALUE, &["sagemaker:notebook-instance"]);
        assert_eq!(tagged.len(), 5 + 3 + 5);
        let expected =
            [&world.in_scope.notebooks_running, &world.in_scope.notebooks_stopped, &world.exempt.notebooks_running];
        assert_eq!(sorted(tagged), sorted(expected.iter().flat_map(|a| a.iter().cloned()).collect()));
        let profiles = get_resources(&emulator, SCOPE_KEY, SCOPE_VALUE, &["sagemaker:user-profile"]);
        assert_eq!(profiles.len(), 2); // mia and ed

        // mia runs as mia-exec
        let mia = sm.describe_user_profile().domain_id(DOMAIN_ID).user_profile_name("mia").send().await.unwrap();
        let role = mia.user_settings().and_then(|s| s.execution_role());
        assert_eq!(role, Some(role_arn(MIA_ROLE).as_str()));

        // the deny policy is attached to the pre-attached role only
        let iam = aws_sdk_iam::Client::new(&config);
        let roles = iam.list_roles().path_prefix("/").send().await.unwrap();
        let mut attached = Vec::new();
        for role in roles.roles() {
            let policies = iam.list_attached_role_policies().role_name(role.role_name()).send().await.unwrap();
            if policies.attached_policies().iter().any(|p| p.policy_arn() == Some(world.deny_policy_arn.as_str())) {
                attached.push(role.role_name().to_owned());
            }
        }
        assert_eq!(attached, [PREATTACHED_ROLE]);
        assert_eq!(world.deny_policy_arn, format!("arn:aws:iam::{ACCOUNT}:policy/{DENY_POLICY}"));
        let ec2 = iam.get_role().role_name(UNTRUSTED_ROLE).send().await.unwrap();
        let trust = ec2.role().and_then(|r| r.assume_role_policy_document()).unwrap();
        assert!(!trust.contains("sagemaker"));

        // endpoints: 3 instances desired and current
        for arn in [&world.in_scope.endpoints[0], &world.out_of_scope.endpoints[0], &world.exempt.endpoints[0]] {
            let name = arn.rsplit('/').next().unwrap();
            let endpoint = sm.describe_endpoint().endpoint_name(name).send().await.unwrap();
            let variant = &endpoint.production_variants()[0];
            assert_eq!(variant.variant_name(), Some("AllTraffic"));
            assert_eq!(variant.current_instance_count(), Some(ENDPOINT_INSTANCES), "{name}");
            assert_eq!(variant.desired_instance_count(), Some(ENDPOINT_INSTANCES), "{name}");
        }

        let topics = aws_sdk_sns::Client::new(&config).list_topics().send().await.unwrap();
        let topics: Vec<&str> = topics.topics().iter().filter_map(|t| t.topic_arn()).collect();
        assert!(topics.contains(&world.summary_topic_arn.as_str()));
        assert!(topics.contains(&format!("arn:aws:sns:{REGION}:{ACCOUNT}:{ALERTS_TOPIC}").as_str()));
    }
}
