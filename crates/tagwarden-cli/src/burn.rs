//! `tagwarden burn [--policy P] [--scope key=value]… [--json]`: what runs now costs per hour, itemised —
//! each `budgets.burn` rule's scope against its limit, or the given tag scope (or the whole account with
//! `--scope account`). Changes nothing and records nothing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tagwarden::enforce::ResolvedScope;
use tagwarden::pricing::PriceBook;
use tagwarden::{BudgetEnforcer, Clients};

/// The `burn` command's arguments.
#[derive(clap::Args)]
pub(crate) struct BurnArgs {
    /// Policy file; default: TAGWARDEN_POLICY_FILE, TAGWARDEN_POLICY, or the built-in example.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Estimate this tag scope instead of the policy's rules: `key=value` (repeatable: all must hold), or
    /// `account` for everything running.
    #[arg(long = "scope", value_name = "KEY=VALUE")]
    scope: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The scope `--scope` names: `account`, or every `key=value` (a key given twice takes either value).
pub(crate) fn parse_scope(args: &[String]) -> Result<Option<ResolvedScope>, String> {
    if args.is_empty() {
        return Ok(None);
    }
    if args.iter().any(|a| a.trim() == "account") {
        return Ok(Some(ResolvedScope::Account));
    }
    let mut group: Vec<(String, Vec<String>)> = Vec::new();
    for arg in args {
        let Some((key, value)) = arg.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(format!("--scope {arg:?}: expected key=value or account"));
        };
        let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
        match group.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value),
            None => group.push((key, vec![value])),
        }
    }
    Ok(Some(ResolvedScope::Tags(vec![group])))
}

/// Runs `tagwarden burn`.
pub(crate) async fn run(args: BurnArgs) -> Result<ExitCode, String> {
    let scope = parse_scope(&args.scope)?;
    let clients = Clients::from_env().await;
    let policy = Arc::new(crate::load_config(&clients, args.policy.as_deref()).await?.policy);
    if scope.is_none() && policy.budgets.burn.is_empty() {
        return Err("the policy has no budgets.burn rules: give --scope key=value (or --scope account)".into());
    }
    let pricing = Arc::new(PriceBook::from_config(&tagwarden::aws::load_config().await));
    let enforcer = BudgetEnforcer::new(clients, policy).with_pricing(pricing);
    let estimates = enforcer.burn_estimates(scope.as_ref()).await.map_err(|e| e.to_string())?;
    if args.json {
        crate::print_json(&estimates)?;
    } else {
        for estimate in &estimates {
            crate::print_line(estimate.table().trim_end())?;
            for note in &estimate.notes {
                crate::print_line(&format!("  note: {note}"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_key_value_pairs_all_holding_or_the_account() {
        assert_eq!(parse_scope(&[]).unwrap(), None);
        assert_eq!(parse_scope(&["account".into()]).unwrap(), Some(ResolvedScope::Account));
        let scope = parse_scope(&["team=nlp".into(), "env=dev".into(), "team=cv".into()]).unwrap().unwrap();
        assert_eq!(
            scope,
            ResolvedScope::Tags(vec![vec![
                ("team".into(), vec!["nlp".into(), "cv".into()]),
                ("env".into(), vec!["dev".into()])
            ]])
        );
        assert!(parse_scope(&["team".into()]).unwrap_err().contains("expected key=value"));
    }
}
