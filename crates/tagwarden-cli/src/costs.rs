//! `tagwarden costs`: SageMaker spend by the policy's required keys from Cost Explorer (the operator's
//! credentials; in an organization, the payer account's for `--by-account`). The report goes to stdout, the
//! number of billed requests to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use tagwarden_ops::costs::{self, CostsQuery, Format, Granularity, Period};

use crate::print_line;

/// Output format of `costs`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CostsFormat {
    /// Aligned text.
    Table,
    /// The whole report, with the request count.
    Json,
    /// One row per key and value (and account): key,tag_value,account,unblended_cost,share_percent,forecast,projected.
    Csv,
    /// One self-contained page with a bar chart per key.
    Html,
}

/// Bucket size of `costs`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CostsGranularity {
    /// Calendar months.
    Monthly,
    /// Days.
    Daily,
}

/// `tagwarden costs` options.
#[derive(Args)]
pub struct CostsArgs {
    /// First day (YYYY-MM-DD); with --to.
    #[arg(long, requires = "to", conflicts_with = "months")]
    from: Option<String>,
    /// Day after the last (YYYY-MM-DD, exclusive as in Cost Explorer); with --from.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// The last N calendar months up to today (default 1: this month so far).
    #[arg(long)]
    months: Option<u32>,
    /// Bucket size.
    #[arg(long, value_enum, default_value = "monthly")]
    granularity: CostsGranularity,
    /// Forecast each value to the period's end (one more billed request per key and value).
    #[arg(long)]
    forecast: bool,
    /// Group by linked account too (organization mode: run it in the payer account).
    #[arg(long)]
    by_account: bool,
    /// Tag key to report on (repeatable); default: the policy's required keys.
    #[arg(long = "tag", value_name = "KEY")]
    tags: Vec<String>,
    /// Policy file for the default keys; default: TAGWARDEN_POLICY_FILE, TAGWARDEN_POLICY, or the built-in example.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: CostsFormat,
}

/// `tagwarden costs`.
pub async fn run(args: CostsArgs) -> Result<ExitCode, String> {
    let today = chrono::Utc::now().date_naive();
    let period = match (&args.from, &args.to) {
        (Some(from), Some(to)) => Period::between(from, to),
        _ => Period::months(args.months.unwrap_or(1), today),
    }
    .map_err(|e| e.to_string())?;
    let keys = if args.tags.is_empty() {
        let policy = match &args.policy {
            Some(path) => tagwarden::Policy::from_file(path).map_err(|e| e.to_string())?,
            None => {
                let clients = tagwarden::Clients::from_env().await;
                crate::load_config(&clients, None).await?.policy
            }
        };
        policy.tags.required_keys().map(str::to_owned).collect()
    } else {
        args.tags
    };
    let query = CostsQuery {
        keys,
        period,
        granularity: match args.granularity {
            CostsGranularity::Monthly => Granularity::Monthly,
            CostsGranularity::Daily => Granularity::Daily,
        },
        by_account: args.by_account,
        forecast: args.forecast,
        today,
    };
    let ce = tagwarden_ops::cost::cost_explorer_from_env().await;
    let report = costs::fetch(&ce, &query).await.map_err(|e| match e {
        costs::CostsError::Aws(tagwarden::AwsError::AccessDenied { .. }) => {
            format!("{e}\n(costs needs ce:GetCostAndUsage, and ce:GetCostForecast for --forecast)")
        }
        e => e.to_string(),
    })?;
    let format = match args.format {
        CostsFormat::Table => Format::Table,
        CostsFormat::Json => Format::Json,
        CostsFormat::Csv => Format::Csv,
        CostsFormat::Html => Format::Html,
    };
    print_line(costs::render(&report, format).trim_end())?;
    eprintln!("{}", report.calls.summary());
    Ok(ExitCode::SUCCESS)
}
