//! `tagwarden`: run Tagwarden's functions from a laptop against AWS or the local emulator.
//!
//! `tagwarden replay auto-tagger --event FILE [--policy FILE]` runs exactly the Lambda handler code
//! in-process and prints its JSON outcome. The SDK's own environment (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! profiles) decides where calls go.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use tagwarden::{AutoTagger, Clients, Config, Outcome, Policy};

#[derive(Parser)]
#[command(name = "tagwarden", version, about = "Cost-allocation tagging and budget guardrails for Amazon SageMaker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a function's handler on a sample event and print its outcome as JSON.
    Replay {
        /// Which function.
        function: Function,
        /// The event file (as in events/<function>/).
        #[arg(long)]
        event: PathBuf,
        /// Policy file; default: TAGWARDEN_POLICY_FILE, TAGWARDEN_POLICY, or the built-in example.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Check a policy file and print its required keys.
    CheckPolicy {
        /// The policy file.
        policy: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Function {
    /// The auto-tagger Lambda.
    AutoTagger,
}

#[tokio::main]
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
        Command::Replay { function: Function::AutoTagger, event, policy } => {
            let text = std::fs::read_to_string(&event).map_err(|e| format!("cannot read {}: {e}", event.display()))?;
            let payload: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", event.display()))?;
            // --policy wins over the environment, through the same loader the Lambda uses.
            let config = Config::from_lookup(|name| match (name, &policy) {
                ("TAGWARDEN_POLICY_FILE", Some(path)) => Some(path.display().to_string()),
                _ => std::env::var(name).ok(),
            })
            .map_err(|e| e.to_string())?;
            let tagger = AutoTagger::new(Clients::from_env().await, Arc::new(config.policy), &config.tagger);
            let outcome = tagger.handle(&payload).await.map_err(|e| e.to_string())?;
            let json = serde_json::to_string_pretty(&outcome).map_err(|e| e.to_string())?;
            print_line(&json)?;
            Ok(match outcome {
                Outcome::Failed { reason, .. } => {
                    eprintln!("tagwarden: failed: {reason}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            })
        }
        Command::CheckPolicy { policy } => {
            let policy = Policy::from_file(&policy).map_err(|e| e.to_string())?;
            let required: Vec<_> = policy.tags.required_keys().collect();
            println!("policy ok: {} keys, required: {}", policy.tags.keys.len(), required.join(", "));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints a line on stdout; a closed pipe (`tagwarden … | head`) is not an error.
fn print_line(text: &str) -> Result<(), String> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("cannot write to stdout: {e}")),
        _ => Ok(()),
    }
}
