//! `tagwarden`: run Tagwarden's functions from a laptop against AWS or the local emulator.
//!
//! `tagwarden replay <function> --event FILE [--policy FILE]` runs exactly the Lambda handler code
//! in-process and prints its JSON outcome; `tagwarden restore [--budget NAME]` undoes what the enforcement
//! ledger says the budget-enforcer did, and `tagwarden history` shows it. The SDK's own environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, profiles) decides where
//! calls go.

mod budgets;
mod burn;
mod cost;
mod costs;
mod cur;
mod history;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

mod progress;
mod sweep;
use serde::Serialize;
use tagwarden::enforce::ledger::{LedgerTable, PlanState};
use tagwarden::{AutoTagger, BudgetEnforcer, Clients, Config, EnforcementOutcome, Outcome, Policy};

#[derive(Parser)]
#[command(name = "tagwarden", version, about = "Cost-allocation tagging and budget guardrails for Amazon SageMaker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a function's handler on an event file and print its outcome as JSON.
    Replay {
        /// Which function.
        function: Function,
        /// The event file (as in events/<function>/).
        #[arg(long)]
        event: PathBuf,
        /// Policy file; default: TAGWARDEN_POLICY_FILE, TAGWARDEN_POLICY, or the built-in example.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// budget-enforcer only: decide and report, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The ledger's DynamoDB table: for the budget-enforcer dedup and what restore can undo, for the
        /// auto-tagger the tag sources' last values (tamper repair of a profile).
        #[arg(long, env = tagwarden::enforce::ledger::TABLE_ENV)]
        ledger_table: Option<String>,
        /// budget-enforcer only: an SNS topic alerts may come from (repeatable, or comma-separated in
        /// TAGWARDEN_ALERT_TOPICS), as the Lambda checks. Without one every alert is refused (commands still
        /// run); the samples in events/budget-enforcer come from
        /// arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts.
        #[arg(long = "alert-topic", value_name = "ARN", env = "TAGWARDEN_ALERT_TOPICS", value_delimiter = ',')]
        alert_topics: Vec<String>,
    },
    /// Undo what the enforcement ledger says the budget-enforcer did (deny policies, endpoint scaling,
    /// stopped notebooks); tags on resources are not read.
    Restore {
        /// Only what was done for this budget; default: every budget.
        #[arg(long)]
        budget: Option<String>,
        /// Policy file (as for replay).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Report what would be undone, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The enforcement ledger's DynamoDB table.
        #[arg(long, env = tagwarden::enforce::ledger::TABLE_ENV)]
        ledger_table: String,
    },
    /// The budget-enforcer's plans: steps with `approval: required` or `grace` wait as plans (the ledger).
    Plans {
        /// Every plan, not only the pending ones.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: history::HistoryFormat,
        /// The enforcement ledger's DynamoDB table.
        #[arg(long, env = tagwarden::enforce::ledger::TABLE_ENV)]
        ledger_table: String,
    },
    /// Carry out a pending plan, after checking it in the ledger and the budget's own figure again (the
    /// same as sending `{"tagwarden": "approve", "plan": ID}` to the function).
    Approve {
        /// The plan id (`p-…`, from the plan's notice or `tagwarden plans`).
        plan: String,
        /// Policy file (as for replay).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Report what would be done, change nothing (the plan stays pending).
        #[arg(long)]
        dry_run: bool,
        /// The enforcement ledger's DynamoDB table.
        #[arg(long, env = tagwarden::enforce::ledger::TABLE_ENV)]
        ledger_table: String,
    },
    /// What the budget-enforcer did to what, when, by which alert, and what restore undid (the ledger).
    History {
        /// Only this budget.
        #[arg(long)]
        budget: Option<String>,
        /// Only this resource (ARN).
        #[arg(long)]
        resource: Option<String>,
        /// From this date (2026-11-30) or RFC 3339 time on.
        #[arg(long)]
        since: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: history::HistoryFormat,
        /// The enforcement ledger's DynamoDB table.
        #[arg(long, env = tagwarden::enforce::ledger::TABLE_ENV)]
        ledger_table: String,
    },
    /// What runs now costs per hour, itemised (instance type × count × on-demand price): each burn rule's
    /// scope against its limit, or `--scope key=value`. Changes nothing.
    Burn(burn::BurnArgs),
    /// Print the deployment manifest (event names, permissions by scope) that SAM and CDK are checked against.
    Manifest,
    /// Print the deny policy `deny-iam` attaches (infra/generated/deny-policy.json; the templates deploy it).
    DenyPolicy,
    /// Print the instance-types deny policy `deny-instance-types` attaches, for the given patterns or the default
    /// list (infra/generated/deny-instance-types-policy.json).
    DenyInstanceTypesPolicy {
        /// Instance-type patterns to deny (`ml.p*`, `ml.*.24xlarge`); none: the default list.
        patterns: Vec<String>,
    },
    /// Check a policy file and print what it requires.
    CheckPolicy {
        /// The policy file.
        policy: PathBuf,
    },
    /// Write the IAM policies, SCPs and tag policy that deny untagged SageMaker creation and protect the tag
    /// sources, and their README.
    Guardrails {
        /// Policy file; default: the built-in example (policy/tagwarden.yaml).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Directory to write to (created if missing).
        #[arg(long, default_value = "infra/policies")]
        out: PathBuf,
        /// Exact IAM role or user ARN of a principal the untagged-creation guardrails never apply to
        /// (repeatable; default: the example account's Tagwarden roles, as checked in).
        #[arg(long = "exempt-principal", value_name = "ARN", default_values = tagwarden_ops::guardrails::EXAMPLE_TAGWARDEN_ROLES)]
        exempt_principals: Vec<String>,
        /// Accept `*`/`?` patterns as exempt principals (anyone who can create a role named to match is exempt).
        #[arg(long)]
        allow_exempt_patterns: bool,
        /// Also deny create requests carrying tag keys that are not in the policy.
        #[arg(long)]
        strict: bool,
        /// Exact ARN of one of Tagwarden's roles: the only principals that may write `tagwarden:` tag keys
        /// (repeatable; default: the example account's, as checked in).
        #[arg(long = "tagwarden-role", value_name = "ARN", default_values = tagwarden_ops::guardrails::EXAMPLE_TAGWARDEN_ROLES)]
        tagwarden_roles: Vec<String>,
    },
    /// Activate the policy's required keys as cost-allocation tags. Run it in the PAYER (management)
    /// account: Cost Explorer refuses member accounts. Keys billing has not seen yet are reported as pending.
    ActivateTags {
        /// Policy file; default: TAGWARDEN_POLICY_FILE, TAGWARDEN_POLICY, or the built-in example.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Report what would be activated, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the Athena named queries over the CUR (SageMaker cost by each required tag, untagged items).
    AthenaQueries {
        /// Policy file; default: the built-in example (policy/tagwarden.yaml).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The table's export format: legacy (flattened resource_tags_user_* columns), cur2 (the
        /// resource_tags map) or focus (Tags, BilledCost, x_ServiceCode).
        #[arg(long, default_value = "legacy", value_parser = export_format())]
        export: tagwarden_ops::cost::ExportFormat,
        /// The Athena database of the CUR table.
        #[arg(long, default_value = tagwarden_ops::cost::DEFAULT_DATABASE)]
        database: String,
        /// The CUR table.
        #[arg(long, default_value = tagwarden_ops::cost::DEFAULT_TABLE)]
        table: String,
        /// Directory to write the .sql files to (created if missing).
        #[arg(long, default_value = cost::DEFAULT_ATHENA_DIR)]
        out: PathBuf,
    },
    /// SageMaker cost by tag value and untagged SageMaker cost from a billing export (legacy CUR, CUR 2.0 or
    /// FOCUS; CSV, .csv.gz, Parquet).
    Report {
        /// The export file (legacy CUR, CUR 2.0 or FOCUS).
        #[arg(long)]
        cur: PathBuf,
        /// Its format; default: found from its columns.
        #[arg(long, value_parser = export_format())]
        export: Option<tagwarden_ops::cost::ExportFormat>,
        /// The cost summed: billed (CUR line_item_unblended_cost, FOCUS BilledCost) or effective (FOCUS
        /// EffectiveCost).
        #[arg(long, default_value = "billed", value_parser = cost_measure())]
        cost: tagwarden_ops::cost::CostMeasure,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: cost::ReportFormat,
        /// Tag key to report on (repeatable); default: the policy's required keys.
        #[arg(long = "tag", value_name = "KEY")]
        tags: Vec<String>,
        /// Policy file for the default keys; default: the built-in example.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// SageMaker spend by each required tag's values from Cost Explorer: shares, the untagged bucket,
    /// forecasts, linked accounts; says how many (billed) requests it made.
    Costs(costs::CostsArgs),
    /// Tag every existing SageMaker resource by the policy (resumable with --state); JSON lines when piped.
    Sweep(sweep::SweepArgs),
    /// Report tag coverage of the existing resources per type and required key (table, json, csv, html).
    Audit(sweep::AuditArgs),
    /// Budgets as code: `plan | apply [--prune]` keep the policy's budgets.catalog in AWS Budgets; `status`
    /// reports every SageMaker budget.
    Budgets {
        /// Policy file; default: TAGWARDEN_POLICY_FILE, TAGWARDEN_POLICY, or the built-in example.
        #[arg(long, global = true)]
        policy: Option<PathBuf>,
        #[command(subcommand)]
        command: budgets::BudgetsCommand,
    },
}

/// `--export`: legacy, cur2 or focus.
fn export_format() -> impl clap::builder::TypedValueParser<Value = tagwarden_ops::cost::ExportFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["legacy", "cur2", "focus"]).try_map(|s| s.parse())
}

/// `--cost`: billed or effective.
fn cost_measure() -> impl clap::builder::TypedValueParser<Value = tagwarden_ops::cost::CostMeasure> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["billed", "effective"]).try_map(|s| s.parse())
}

#[derive(Clone, Copy, ValueEnum)]
enum Function {
    /// The auto-tagger Lambda.
    AutoTagger,
    /// The budget-enforcer Lambda.
    BudgetEnforcer,
}

// NOTE: the functions' runtime (one thread), so `replay` measures what Lambda runs; see docs/benchmarks.md.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tagwarden::telemetry::init(false, "warn");
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("tagwarden: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Replay { function, event, policy, dry_run, ledger_table, alert_topics } => {
            let payload = read_json(&event)?;
            let clients = Clients::from_env().await;
            let mut config = load_config(&clients, policy.as_deref()).await?;
            config.tagger.ledger = ledger_table.clone().map(|table| LedgerTable::new(clients.dynamodb.client(), table));
            let policy = Arc::new(config.policy);
            match function {
                // The auto-tagger's schedule runs a sweep, as in the Lambda (no deadline here).
                Function::AutoTagger if tagwarden::sweep::is_schedule(&payload) => {
                    let lister = tagwarden::sweep::Lister::new(clients.clone());
                    let tagger = AutoTagger::new(clients, policy, &config.tagger);
                    let outcome = tagwarden::sweep::handle_event(&tagger, &lister, &payload, None).await;
                    print_json(&outcome.map_err(|e| e.to_string())?)?;
                }
                Function::AutoTagger => {
                    let tagger = AutoTagger::new(clients, policy, &config.tagger);
                    let outcome = tagger.handle(&payload).await.map_err(|e| e.to_string())?;
                    print_json(&outcome)?;
                    if let Outcome::Failed { reason, .. } = &outcome {
                        return Err(format!("failed: {reason}"));
                    }
                }
                Function::BudgetEnforcer => {
                    // NOTE: the same checks as the Lambda: the alert's topic here, the budget's own figures in `handle`.
                    let topics = Config::alert_topic_list(&alert_topics.join(",")).map_err(|e| {
                        e.to_string().replace("environment variable TAGWARDEN_ALERT_TOPICS", "--alert-topic")
                    })?;
                    let ledger = ledger_table.map(|table| LedgerTable::new(clients.dynamodb.client(), table));
                    let enforcer = BudgetEnforcer::new(clients, policy).with_alert_topics(topics);
                    let enforcer = match ledger {
                        Some(ledger) => enforcer.with_ledger(ledger),
                        None => enforcer,
                    };
                    let outcome = enforcer.handle(&payload, dry_run).await.map_err(|e| e.to_string())?;
                    print_json(&outcome)?;
                    report_failures(&outcome)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { budget, policy, dry_run, ledger_table } => {
            let clients = Clients::from_env().await;
            let policy = Arc::new(load_config(&clients, policy.as_deref()).await?.policy);
            let ledger = LedgerTable::new(clients.dynamodb.client(), ledger_table);
            let enforcer = BudgetEnforcer::new(clients, policy).with_ledger(ledger);
            let outcome = enforcer.restore(budget.as_deref(), dry_run).await.map_err(|e| e.to_string())?;
            print_json(&outcome)?;
            report_failures(&outcome)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plans { all, format, ledger_table } => {
            let clients = Clients::from_env().await;
            let ledger = LedgerTable::new(clients.dynamodb.client(), ledger_table);
            let mut plans = ledger.plans().await.map_err(|e| e.to_string())?;
            if !all {
                plans.retain(|p| p.state == PlanState::Pending);
            }
            match format {
                history::HistoryFormat::Json => print_json(&plans)?,
                history::HistoryFormat::Table => print!("{}", history::plans_table(&plans)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Approve { plan, policy, dry_run, ledger_table } => {
            let clients = Clients::from_env().await;
            let policy = Arc::new(load_config(&clients, policy.as_deref()).await?.policy);
            let ledger = LedgerTable::new(clients.dynamodb.client(), ledger_table);
            let enforcer = BudgetEnforcer::new(clients, policy).with_ledger(ledger);
            let command = serde_json::json!({"tagwarden": "approve", "plan": plan});
            let outcome = enforcer.handle(&command, dry_run).await.map_err(|e| e.to_string())?;
            print_json(&outcome)?;
            report_failures(&outcome)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::History { budget, resource, since, format, ledger_table } => {
            let clients = Clients::from_env().await;
            let ledger = LedgerTable::new(clients.dynamodb.client(), ledger_table);
            let query =
                history::Query { budget: budget.as_deref(), resource: resource.as_deref(), since: since.as_deref() };
            let entries = history::read(&ledger, &query).await?;
            match format {
                history::HistoryFormat::Json => print_json(&entries)?,
                history::HistoryFormat::Table => print!("{}", history::table(&entries)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Manifest => {
            print_json(&tagwarden::permissions::manifest())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::DenyPolicy => {
            print_json(&tagwarden::deny_policy::document())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::DenyInstanceTypesPolicy { patterns } => {
            let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
            let patterns =
                if patterns.is_empty() { tagwarden::deny_policy::DEFAULT_DENIED_INSTANCE_TYPES } else { &patterns };
            print_json(&tagwarden::deny_policy::instance_types_document(patterns))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckPolicy { policy } => {
            let policy = Policy::from_file(&policy).map_err(|e| e.to_string())?;
            let required: Vec<_> = policy.tags.required_keys().collect();
            let (keys, rules) = (policy.tags.keys.len(), policy.budgets.rules.len());
            print_line(&format!(
                "policy ok: {keys} tag keys (required: {}), {rules} budget rules",
                required.join(", ")
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Guardrails { policy, out, exempt_principals, allow_exempt_patterns, strict, tagwarden_roles } => {
            let policy = match policy {
                Some(path) => Policy::from_file(&path),
                None => Policy::example(),
            }
            .map_err(|e| e.to_string())?;
            let options = tagwarden_ops::guardrails::GuardrailOptions {
                exempt_principals,
                allow_exempt_patterns,
                strict,
                tagwarden_roles,
            };
            let guardrails = tagwarden_ops::guardrails::generate(&policy, &options).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
            for (name, text) in &guardrails.files {
                let path = out.join(name);
                std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                let size = tagwarden_ops::guardrails::counted_size(name, text);
                let size = match tagwarden_ops::guardrails::size_limit(name) {
                    Some(limit) => format!("{size} of {limit} characters"),
                    None => format!("{size} characters"),
                };
                print_line(&format!("wrote {} ({size})", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ActivateTags { policy, dry_run } => cost::activate_tags(policy.as_deref(), dry_run).await,
        Command::AthenaQueries { policy, export, database, table, out } => {
            cost::athena_queries(policy.as_deref(), export, &database, &table, &out)
        }
        Command::Report { cur, export, cost: measure, format, tags, policy } => {
            let request = cur::ExportRequest { keys: tags, forced: export, measure };
            cost::report(&cur, format, request, policy.as_deref())
        }
        Command::Costs(args) => costs::run(args).await,
        Command::Burn(args) => burn::run(args).await,
        Command::Sweep(args) => sweep::run_sweep(args).await,
        Command::Audit(args) => sweep::run_audit(args).await,
        Command::Budgets { policy, command } => {
            let policy = load_config(&Clients::from_env().await, policy.as_deref()).await?.policy;
            budgets::run(command, &policy).await
        }
    }
}

/// The configuration through the loader the Lambdas use; `--policy` wins over the environment.
async fn load_config(clients: &Clients, policy: Option<&Path>) -> Result<Config, String> {
    let config = match policy {
        None => Config::load(clients).await,
        Some(path) => Config::from_lookup(|name| match name {
            "TAGWARDEN_POLICY_FILE" => Some(path.display().to_string()),
            _ => std::env::var(name).ok(),
        }),
    };
    config.map_err(|e| e.to_string())
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    // NOTE: bytes, as the Lambda runtime reads them: a file that is not UTF-8 is "not JSON", not unreadable.
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// A permanent failure of any action makes the command fail (after printing the whole outcome).
fn report_failures(outcome: &EnforcementOutcome) -> Result<(), String> {
    let results = match outcome {
        EnforcementOutcome::Enforced(r) | EnforcementOutcome::Notified(r) | EnforcementOutcome::DryRun(r) => &r.results,
        EnforcementOutcome::Restored(r) => &r.results,
        EnforcementOutcome::Idle(r) => &r.results,
        _ => return Ok(()),
    };
    match results.iter().filter(|r| r.result.is_failed()).count() {
        0 => Ok(()),
        n => Err(format!("{n} action(s) failed; see the outcome")),
    }
}

fn print_json(value: &impl Serialize) -> Result<(), String> {
    print_line(&serde_json::to_string_pretty(value).map_err(|e| e.to_string())?)
}

/// Prints a line on stdout; a closed pipe (`tagwarden … | head`) is not an error.
fn print_line(text: &str) -> Result<(), String> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("cannot write to stdout: {e}")),
        _ => Ok(()),
    }
}
