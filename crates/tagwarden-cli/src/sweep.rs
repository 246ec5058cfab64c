//! `tagwarden sweep` and `tagwarden audit`: the existing estate, tagged by the auto-tagger's plan and
//! measured against the policy. All logic is in `tagwarden::sweep` and `tagwarden_ops::audit`; this is glue:
//! arguments, the state file, progress on a terminal, JSON lines when piped, the summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use tagwarden::sweep::{self, EventHistory, Lister, Progress, SweepOptions, SweepState, SweepSummary};
use tagwarden::{AutoTagger, Clients};
use tagwarden_ops::audit::{self, CollectProgress, Format};

use crate::progress;

/// Arguments of `tagwarden sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// Resource types to sweep (ARN types, comma-separated, e.g. training-job,notebook-instance); default: all.
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Plan and report, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Resources tagged at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Checkpoint file: created if missing, updated after every page; a rerun continues where it stopped.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Policy file (as for replay).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Do not read who created what from CloudTrail's event history (90 days) before sweeping.
    #[arg(long)]
    no_history: bool,
    /// Milliseconds between two `LookupEvents` calls (AWS allows 2 a second; lower only against an emulator).
    #[arg(long, default_value_t = 500)]
    lookup_pace_ms: u64,
}

/// Arguments of `tagwarden audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    format: AuditFormat,
    /// Write to this file instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Resource types to audit (as for sweep); default: all.
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Tags read at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Policy file (as for replay).
    #[arg(long)]
    policy: Option<PathBuf>,
}

/// `--format` of `tagwarden audit`.
#[derive(Clone, Copy, ValueEnum)]
enum AuditFormat {
    /// Plain-text table.
    Table,
    /// JSON report.
    Json,
    /// CSV, one row per non-compliant resource and required key.
    Csv,
    /// Self-contained HTML page with a chart.
    Html,
}

/// Runs `tagwarden sweep`.
pub async fn run_sweep(args: SweepArgs) -> Result<ExitCode, String> {
    let kinds = sweep::kinds_named(&args.types)?;
    let sdk_config = tagwarden::aws::load_config().await;
    let clients = Clients::new(&sdk_config);
    let config = super::load_config(&clients, args.policy.as_deref()).await?;
    let tagger = AutoTagger::new(clients.clone(), Arc::new(config.policy), &config.tagger);
    let mut lister = Lister::new(clients);
    if !args.no_history {
        let pace = std::time::Duration::from_millis(args.lookup_pace_ms);
        lister = lister.with_history(EventHistory::new(&sdk_config).with_pace(pace));
    }
    let mut state = match &args.state {
        Some(path) => read_state(path)?,
        None => SweepState::default(),
    };
    let options =
        SweepOptions { kinds, dry_run: args.dry_run, concurrency: usize::from(args.concurrency), deadline: None };
    let lines = !std::io::stdout().is_terminal();
    let bar = progress::bar("sweep", progress::SWEEP_TEMPLATE);
    let started = Instant::now();
    let mut save_error: Option<String> = None;
    let mut write_error: Option<String> = None;
    let state_path = args.state.clone();
    let dry_run = args.dry_run;
    let mut observe = |event: Progress<'_>| match event {
        Progress::Resource { outcome, summary } => {
            if lines && write_error.is_none() {
                let kind = resource_type(outcome);
                let line = sweep::outcome_line(&kind, outcome, dry_run);
                if let Err(e) = super::print_line(&line.to_string()) {
                    write_error = Some(e);
                }
            }
            if !bar.is_hidden() {
                bar.set_message(progress_message(summary, started.elapsed()));
            }
        }
        Progress::Checkpoint(state) => {
            if let Some(path) = &state_path
                && let Err(e) = write_state(path, state)
            {
                save_error = Some(e);
            }
        }
    };
    let summary = sweep::sweep(&tagger, &lister, &options, &mut state, &mut observe).await;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e);
    }
    if lines {
        let value = serde_json::json!({ "summary": summary });
        super::print_line(&value.to_string())?;
        eprint!("{}", summary_table(&summary));
    } else {
        super::print_line(summary_table(&summary).trim_end())?;
    }
    if let Some(e) = save_error {
        return Err(e);
    }
    let listing_errors = summary.types.values().filter(|t| t.error.is_some()).count();
    if summary.total.failed > 0 || listing_errors > 0 {
        return Err(format!(
            "{} resource(s) failed, {listing_errors} type(s) could not be listed; rerun to retry",
            summary.total.failed
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn resource_type(outcome: &tagwarden::Outcome) -> String {
    use tagwarden::Outcome;
    let arn = match outcome {
        Outcome::Tagged(r) | Outcome::Restored(r) | Outcome::Unchanged(r) => return r.resource_type.to_owned(),
        Outcome::Skipped(skip) => skip.resource_arn.as_deref(),
        Outcome::Failed { resource_arn, .. } => Some(resource_arn.as_str()),
        Outcome::ProfileBudgets(r) => Some(r.resource_arn.as_str()),
    };
    arn.and_then(tagwarden::resource::SageMakerArn::parse).map(|a| a.resource_type).unwrap_or_default()
}

fn progress_message(summary: &SweepSummary, elapsed: Duration) -> String {
    let t = &summary.total;
    format!(
        "{} scanned, {} tagged, {} unchanged, {} skipped, {} failed ({:.0}/s)",
        t.scanned,
        t.tagged,
        t.unchanged,
        t.skipped,
        t.failed,
        t.scanned as f64 / elapsed.as_secs_f64().max(0.001)
    )
}

/// The summary as a table: one row per type, then the totals and how far the sweep got.
pub fn summary_table(summary: &SweepSummary) -> String {
    let mut out = format!(
        "{:<28} {:>8} {:>8} {:>9} {:>8} {:>7} {:>12}\n",
        "type", "scanned", "tagged", "unchanged", "skipped", "failed", "already done"
    );
    let row = |name: &str, t: &sweep::TypeSummary| {
        let note = match (&t.error, t.resumed_complete) {
            (Some(e), _) => format!("  error: {}", tagwarden::tagging::rules::truncate(e, 160)),
            (None, true) => "  (complete in the state file)".to_owned(),
            _ => String::new(),
        };
        format!(
            "{name:<28} {:>8} {:>8} {:>9} {:>8} {:>7} {:>12}{note}\n",
            t.scanned, t.tagged, t.unchanged, t.skipped, t.failed, t.already_done
        )
    };
    for (name, t) in &summary.types {
        out.push_str(&row(name, t));
    }
    out.push_str(&row("total", &summary.total));
    let verb = if summary.dry_run { "dry run, nothing written" } else { "written" };
    if summary.total.idle_updated > 0 {
        let set = if summary.dry_run { "would be set" } else { "set" };
        out.push_str(&format!(
            "Studio idle shutdown {set} on {} domains, profiles and spaces (idle.studio)\n",
            summary.total.idle_updated
        ));
    }
    out.push_str(&format!(
        "{} resources in {:.1} s ({:.1}/s, at most {} at once; {verb})\n",
        summary.total.scanned,
        summary.elapsed_ms as f64 / 1000.0,
        summary.per_second(),
        summary.max_in_flight
    ));
    if let Some(why) = &summary.stopped_early {
        out.push_str(&format!("stopped early: {why}; rerun with the same --state to continue\n"));
    }
    out
}

/// Runs `tagwarden audit`.
pub async fn run_audit(args: AuditArgs) -> Result<ExitCode, String> {
    let kinds = sweep::kinds_named(&args.types)?;
    let clients = Clients::from_env().await;
    let config = super::load_config(&clients, args.policy.as_deref()).await?;
    let lister = Lister::new(clients);
    let bar = progress::bar("audit", progress::AUDIT_TEMPLATE);
    let observe = |event: CollectProgress<'_>| match event {
        CollectProgress::Listed { resource_type, count } => {
            bar.inc_length(count as u64);
            bar.set_message(resource_type.to_owned());
        }
        CollectProgress::Read { .. } => bar.inc(1),
    };
    let concurrency = usize::from(args.concurrency);
    let (resources, errors) = audit::collect_with_progress(&lister, &kinds, concurrency, observe).await;
    bar.finish_and_clear();
    let mut report = audit::audit(&resources, &config.policy.tags);
    report.errors = errors;
    let rules = &config.policy.idle.studio;
    let (idle, idle_errors) = audit::collect_studio_idle(lister.clients(), rules, &resources, concurrency).await;
    report.studio_idle = idle;
    report.errors.extend(idle_errors);
    let format = match args.format {
        AuditFormat::Table => Format::Table,
        AuditFormat::Json => Format::Json,
        AuditFormat::Csv => Format::Csv,
        AuditFormat::Html => Format::Html,
    };
    let text = audit::render(&report, format);
    match &args.output {
        Some(path) => std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => super::print_line(text.trim_end())?,
    }
    if !report.errors.is_empty() {
        return Err(format!("{} listing error(s); the report is incomplete", report.errors.len()));
    }
    Ok(ExitCode::SUCCESS)
}

fn read_state(path: &Path) -> Result<SweepState, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| format!("{} is not a sweep state file: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SweepState::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the state next to the file and renames it over, so an interrupted write never corrupts it.
fn write_state(path: &Path, state: &SweepState) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string(state).map_err(|e| e.to_string())?;
    let mut file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
