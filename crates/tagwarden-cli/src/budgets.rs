//! `tagwarden budgets plan | apply [--prune] | status`: the policy's `budgets.catalog` kept in AWS Budgets,
//! and the report of every SageMaker budget. Glue only: the planning and the calls are
//! `tagwarden_ops::budgets`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use tagwarden::enforce::ledger::LedgerTable;
use tagwarden::{Clients, Policy};
use tagwarden_ops::budgets::aws::{BudgetsApi, last_enforcements};
use tagwarden_ops::budgets::status;

/// The environment variable that names the alerts topic when the policy and the command line do not.
pub const ALERTS_TOPIC_ENV: &str = "TAGWARDEN_ALERTS_TOPIC_ARN";

/// `tagwarden budgets …`.
#[derive(Subcommand)]
pub enum BudgetsCommand {
    /// Print the difference between the catalog and what AWS Budgets holds; change nothing.
    Plan(CatalogArgs),
    /// Carry the plan out (a second run changes nothing and says so).
    Apply(CatalogArgs),
    /// Every SageMaker budget: limit, actual, forecast, percent, the policy step reached, the last enforcement.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: StatusFormat,
        /// The enforcement ledger's DynamoDB table (for the last enforcement of each budget).
        #[arg(long, env = tagwarden::enforce::ledger::TABLE_ENV)]
        ledger_table: Option<String>,
    },
}

/// What `plan` and `apply` take.
#[derive(Args)]
pub struct CatalogArgs {
    /// Also delete budgets marked `tagwarden:managed=true` that the catalog no longer names.
    #[arg(long)]
    pub prune: bool,
    /// The SNS topic every notification is subscribed to; default: budgets.catalog.alerts_topic_arn.
    #[arg(long, value_name = "ARN", env = ALERTS_TOPIC_ENV)]
    pub alerts_topic: Option<String>,
}

/// How `status` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusFormat {
    /// One aligned line per budget.
    Table,
    /// One self-contained HTML page.
    Html,
    /// A JSON array of rows.
    Json,
}

/// Runs a `budgets` command with the loaded policy; what it prints goes to stdout.
pub async fn run(command: BudgetsCommand, policy: &Policy) -> Result<ExitCode, String> {
    let config = tagwarden::aws::load_config().await;
    let clients = Clients::new(&config);
    let identity = clients.sts.get_caller_identity().send().await.map_err(|e| format!("GetCallerIdentity: {e}"))?;
    let account = identity.account().unwrap_or_default().to_owned();
    let api = BudgetsApi::new(&config, account);
    match command {
        BudgetsCommand::Plan(args) => {
            let plan = api
                .plan_catalog(&policy.budgets.catalog, args.alerts_topic.as_deref(), args.prune)
                .await
                .map_err(|e| e.to_string())?;
            print!("{}", plan.describe());
            // NOTE: + 1: GetCallerIdentity, which found the account.
            println!("{} AWS call(s)", api.calls() + 1);
        }
        BudgetsCommand::Apply(args) => {
            let plan = api
                .plan_catalog(&policy.budgets.catalog, args.alerts_topic.as_deref(), args.prune)
                .await
                .map_err(|e| e.to_string())?;
            print!("{}", plan.describe());
            if plan.is_empty() {
                println!("nothing to apply");
            }
            for line in api.apply(&plan).await.map_err(|e| e.to_string())? {
                println!("{line}");
            }
            println!("{} AWS call(s)", api.calls() + 1);
        }
        BudgetsCommand::Status { format, ledger_table } => {
            let budgets = api.budgets().await.map_err(|e| e.to_string())?;
            let last = match ledger_table {
                Some(table) => {
                    let ledger = LedgerTable::new(clients.dynamodb.client(), table);
                    let names: Vec<&str> = budgets
                        .iter()
                        .filter(|b| status::is_sagemaker(b, &policy.budgets))
                        .map(|b| b.budget_name())
                        .collect();
                    last_enforcements(&ledger, &names).await.map_err(|e| e.to_string())?
                }
                None => BTreeMap::new(),
            };
            let rows = status::rows(&budgets, &policy.budgets, &last);
            match format {
                StatusFormat::Table => print!("{}", status::table(&rows)),
                StatusFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?);
                }
                StatusFormat::Html => {
                    let generated =
                        format!("as of {}", tagwarden::enforce::ledger::timestamp(tagwarden::enforce::ledger::now()));
                    print!("{}", status::html(&rows, &generated));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
