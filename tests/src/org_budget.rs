//! A small organization for the budget-enforcer's cross-account tests: an AWS Organizations organization
//! in the emulator's default (payer, central) account, three member accounts with the member role, running
//! notebook instances in and out of a budget's tag scope in two regions, and a payer budget that filters by
//! two of the accounts (`LinkedAccount`) and by a cost-allocation tag, reporting 120 % of its limit spent.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_sagemaker::types::{InstanceType, Tag};

use crate::budget_world::{OTHER_VALUE, SCOPE_KEY, SCOPE_VALUE};
use crate::{ACCOUNT, Emulator};

/// The budget of the organization world: `LinkedAccount` = the first two members, tag = [`SCOPE_VALUE`].
pub const ORG_BUDGET: &str = "ml-org";
/// What [`ORG_BUDGET`] reports as spent (ACTUAL and FORECASTED, USD, of 1,000): 120 %.
pub const ORG_SPEND: &str = "1200";
/// The member role created in every member account.
pub const MEMBER_ROLE: &str = "tagwarden-member";
/// The regions notebooks run in (the enforcer's configured regions).
pub const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// Member accounts created.
pub const MEMBERS: usize = 3;

/// One seeded notebook instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededNotebook {
    /// Its ARN (names the account and region).
    pub arn: String,
    /// The member account.
    pub account: String,
    /// The region.
    pub region: String,
    /// Whether it carries the budget's tag.
    pub tagged_in_scope: bool,
}

/// What [`seed_org_budget_world`] created.
#[derive(Debug, Clone)]
pub struct OrgWorld {
    /// The member accounts, in creation order; the budget covers the first two.
    pub members: Vec<String>,
    /// Every notebook instance, all running.
    pub notebooks: Vec<SeededNotebook>,
}

impl OrgWorld {
    /// The accounts the budget's `LinkedAccount` filter names.
    pub fn budget_accounts(&self) -> &[String] {
        &self.members[..2]
    }

    /// Notebooks the budget pays for: in a budget account and carrying the tag.
    pub fn in_scope(&self) -> impl Iterator<Item = &SeededNotebook> {
        self.notebooks.iter().filter(|n| n.tagged_in_scope && self.budget_accounts().contains(&n.account))
    }
}

/// The configuration of `account` in `region`: the organization's admin role assumed from `base`
/// ([`crate::org::config_as`]), moved to `region`.
pub async fn member_config(base: &SdkConfig, account: &str, region: &str) -> Result<SdkConfig, String> {
    let config = crate::org::config_as(base, account).await;
    Ok(config.to_builder().region(aws_config::Region::new(region.to_owned())).build())
}

/// Seeds the organization world through `base` (the emulator's default account, region us-east-1).
///
/// Per member account: the member role, and per region one running notebook with the budget's tag and one
/// with another value of it (plus, in us-east-1, a second in-scope one).
pub async fn seed_org_budget_world(_emulator: &Emulator, base: &SdkConfig) -> Result<OrgWorld, String> {
    let organizations = aws_sdk_organizations::Client::new(base);
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .map_err(|e| format!("CreateOrganization: {e:?}"))?;
    let mut members = Vec::new();
    for n in 1..=MEMBERS {
        let out = organizations
            .create_account()
            .account_name(format!("ml-member-{n}"))
            .email(format!("ml-member-{n}@example.com"))
            .send()
            .await
            .map_err(|e| format!("CreateAccount {n}: {e:?}"))?;
        let account = out
            .create_account_status()
            .and_then(|s| s.account_id())
            .ok_or("CreateAccount returned no account id")?
            .to_owned();
        members.push(account);
    }
    let mut notebooks = Vec::new();
    for account in &members {
        let home = member_config(base, account, REGIONS[0]).await?;
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        aws_sdk_iam::Client::new(&home)
            .create_role()
            .role_name(MEMBER_ROLE)
            .assume_role_policy_document(trust)
            .send()
            .await
            .map_err(|e| format!("CreateRole {account}: {e:?}"))?;
        for region in REGIONS {
            let config = member_config(base, account, region).await?;
            let sm = aws_sdk_sagemaker::Client::new(&config);
            let mut specs = vec![("mkt-1", SCOPE_VALUE, true), ("research-1", OTHER_VALUE, false)];
            if region == REGIONS[0] {
                specs.push(("mkt-2", SCOPE_VALUE, true));
            }
            for (name, value, tagged_in_scope) in specs {
                let arn = create_notebook(&sm, account, name, value).await?;
                notebooks.push(SeededNotebook {
                    arn,
                    account: account.clone(),
                    region: region.to_owned(),
                    tagged_in_scope,
                });
            }
        }
    }
    seed_org_budget(base, &members[..2]).await?;
    Ok(OrgWorld { members, notebooks })
}

async fn create_notebook(
    sm: &aws_sdk_sagemaker::Client,
    account: &str,
    name: &str,
    value: &str,
) -> Result<String, String> {
    let tag = Tag::builder().key(SCOPE_KEY).value(value).build();
    let out = sm
        .create_notebook_instance()
        .notebook_instance_name(name)
        .instance_type(InstanceType::MlT3Medium)
        .role_arn(format!("arn:aws:iam::{account}:role/sagemaker-exec"))
        .tags(tag)
        .send()
        .await
        .map_err(|e| format!("CreateNotebookInstance {account}/{name}: {e:?}"))?;
    out.notebook_instance_arn().map(str::to_owned).ok_or_else(|| "no notebook ARN".to_owned())
}

/// The payer budget [`ORG_BUDGET`]: `CostFilters` `LinkedAccount` = `accounts`, `TagKeyValue` = the scope tag,
/// reporting [`ORG_SPEND`] of 1,000 USD spent.
// `CostFilters` is deprecated in favour of `FilterExpression`, but it is what the enforcer reads first.
#[allow(deprecated)]
async fn seed_org_budget(base: &SdkConfig, accounts: &[String]) -> Result<(), String> {
    use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
    let usd = |amount: &str| Spend::builder().amount(amount).unit("USD").build().map_err(|e| e.to_string());
    let limit = usd("1000")?;
    // NOTE: the enforcer checks every alert against the budget's own figure; the tests' alerts say $1,200.
    let spend = CalculatedSpend::builder().actual_spend(usd(ORG_SPEND)?).forecasted_spend(usd(ORG_SPEND)?).build();
    let filters = BTreeMap::from([
        ("LinkedAccount".to_owned(), accounts.to_vec()),
        ("TagKeyValue".to_owned(), vec![format!("user:{SCOPE_KEY}${SCOPE_VALUE}")]),
    ]);
    let mut budget = Budget::builder()
        .budget_name(ORG_BUDGET)
        .budget_type(BudgetType::Cost)
        .time_unit(TimeUnit::Monthly)
        .budget_limit(limit)
        .calculated_spend(spend);
    for (key, values) in filters {
        budget = budget.cost_filters(key, values);
    }
    aws_sdk_budgets::Client::new(base)
        .create_budget()
        .account_id(ACCOUNT)
        .budget(budget.build().map_err(|e| e.to_string())?)
        .send()
        .await
        .map_err(|e| format!("CreateBudget {ORG_BUDGET}: {e:?}"))?;
    Ok(())
}
