//! `make demo`: both functions end to end on the local emulator.
//!
//! Starts the emulator, seeds a Studio domain, user profiles, IAM roles and users with cost tags, creates
//! the resources the sample events announce (as their creators would have, with only the caller's own
//! tags), replays every event through the real handler, and prints each resource's tags before and after.
//! Then a budget climbs through its alerts: the budget-enforcer acts on the budget's scope only, and restores.
//! Then an untidy estate of existing resources is audited, swept and audited again (coverage before -> after).
//! Then organization scale: events forwarded from two member accounts are tagged in their own account and
//! region with their OU's policy, and an event from a foreign account is refused. Last, the cost team's tools:
//! spend by cost center from Cost Explorer, budgets as code, and the budgets' status.
//!
//! `demo --serve PORT` instead seeds both worlds, creates every sample's resource untagged and keeps the
//! emulator running, for replaying events by hand (`make emulator`).

// NOTE: under demo/, not beside demo.rs, where cargo would take it for a binary of its own.
#[path = "demo/burn.rs"]
mod burn;
#[path = "demo/cost_teams.rs"]
mod cost_teams;
#[path = "demo/idle.rs"]
mod idle;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use tagwarden::enforce::ActionResult;
use tagwarden::tagging::apply::list_tags;
use tagwarden::tagging::{TaggerSettings, Tags};
use tagwarden::{AutoTagger, BudgetEnforcer, Clients, EnforcementOutcome, Outcome, Policy};
use tagwarden_e2e::budget_world::seed_budget_world;
use tagwarden_e2e::world::{create_resource, seed_world};
use tagwarden_e2e::{Emulator, REGION, repo_root, sample_event};

/// The replay order: parents before the jobs they start, then the rest of the story.
const STORY: &[&str] = &[
    "training-job-studio-source-identity.json",
    "notebook-instance-iam-user.json",
    "endpoint-config-assumed-role-ci.json",
    "model-assumed-role-ci.json",
    "endpoint-assumed-role-ci.json",
    "processing-job-identity-center.json",
    "transform-job-ec2-instance-role.json",
    "pipeline-lambda-role.json",
    "processing-job-pipeline-step.json",
    "hyper-parameter-tuning-job-studio.json",
    "training-job-tuning-child.json",
    "user-profile-iam-user-admin.json",
    "space-studio-owner.json",
    "app-studio-user-profile.json",
    "model-studio-system-tags.json",
    "notebook-instance-assumed-role-console.json",
    "model-package-group-assumed-role-ci.json",
    "mlflow-tracking-server-assumed-role-ci.json",
    "domain-root.json",
    "app-amplify.json",
    "training-job-failed-call.json",
    "endpoint-delete-not-a-create.json",
    "model-package-versioned.json",
];

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => run().await,
        [flag, port] if flag == "--serve" => match port.parse() {
            Ok(port) => serve(port).await,
            Err(_) => Err(format!("--serve takes a port number, got {port:?}")),
        },
        _ => Err("usage: demo [--serve PORT]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let started = Instant::now();
    // Part 3's emulator starts while parts 1 and 2 run.
    let estate_emulator = std::thread::spawn(Emulator::start);
    let emulator = Emulator::start()?;
    let config = emulator.sdk_config(REGION, 3).await;
    println!(
        "Tagwarden demo: the auto-tagger against a local AWS (moto server + extension) at {}",
        emulator.endpoint()
    );
    println!("Policy: policy/tagwarden.yaml (required: cost-center, team, environment; creator tag: created-by)\n");

    seed_world(&config).await?;
    println!("Seeded the world the sample events come from:");
    println!("  Studio domain ml-platform      cost-center=CC-1000 team=ml-platform environment=production");
    println!("  user profile alice             cost-center=CC-2100 team=marketing-analytics");
    println!("  user profile bob               cost-center=CC-3300 team=fraud-detection environment=Staging");
    println!("  IAM roles ci-deployer (CC-4000), batch-runner (CC-5000), nightly-retrain (CC-6000);");
    println!("  IAM user intern (team=growth); Identity Center user carol; SNS topic tagwarden-noncompliance\n");

    let clients = Clients::new(&config);
    let policy = Policy::example().map_err(|e| e.to_string())?;
    // As the deployment does (TAGWARDEN_TRUSTED_PRINCIPALS): the budget-enforcer's tag writes are Tagwarden's.
    let settings = TaggerSettings { trusted_principals: vec![ENFORCER_ROLE.into()], ..TaggerSettings::default() };
    let tagger = AutoTagger::new(clients.clone(), Arc::new(policy), &settings);
    println!("=== Part 1: auto-tagger ===\n");
    let mut summary = Vec::new();

    for (i, file) in STORY.iter().enumerate() {
        let event = sample_event("auto-tagger", file)?;
        let arn = create_resource(&config, &event).await?;
        let before = match &arn {
            Some(arn) => list_tags(&clients, arn).await.map_err(|e| e.to_string())?,
            None => Tags::new(),
        };
        emulator.reset_calls()?;
        let outcome = tagger.handle(&event).await.map_err(|e| e.to_string())?;
        let calls = emulator.calls()?.total;
        let name = event["detail"]["eventName"].as_str().unwrap_or("?");
        println!("[{:>2}/{}] {name}  (events/auto-tagger/{file})", i + 1, STORY.len());
        match &outcome {
            Outcome::Tagged(report) | Outcome::Restored(report) | Outcome::Unchanged(report) => {
                let after = list_tags(&clients, &report.resource_arn).await.map_err(|e| e.to_string())?;
                println!("        resource  {}", report.resource_arn);
                println!(
                    "        creator   {} {:?} (via {}){}",
                    kebab(&report.creator.kind),
                    report.creator.name,
                    report.creator.via,
                    report.parent_arn.as_ref().map(|p| format!(", inherits from {p}")).unwrap_or_default()
                );
                print_tags(&before, &after, &report.origins);
                if !report.missing_required.is_empty() {
                    println!(
                        "        still missing: {}{}",
                        report.missing_required.join(", "),
                        if report.notified { "  -> notified tagwarden-noncompliance" } else { "" }
                    );
                }
                for warning in &report.warnings {
                    println!("        warning: {warning}");
                }
                summary.push(row(file, outcome.label(), &report.creator.name, report.added.len(), calls));
            }
            Outcome::Skipped(skip) => {
                println!("        skipped: {}", skip.reason);
                summary.push(row(file, "skipped", "-", 0, calls));
            }
            Outcome::ProfileBudgets(report) => {
                println!("        budgets of profile {}: {:?}", report.profile, report.budgets);
                summary.push(row(file, "profile-budgets", "-", 0, calls));
            }
            Outcome::Failed { reason, .. } => {
                println!("        FAILED: {reason}");
                summary.push(row(file, "failed", "-", 0, calls));
            }
        }
        println!("        outcome {} with {calls} AWS call(s)\n", outcome.label());
    }

    print_summary(&summary);
    tamper_part(&emulator, &clients, &tagger).await?;

    budget_part(&emulator, &config, clients).await?;
    let estate_emulator = estate_emulator.join().map_err(|_| "the estate emulator thread panicked".to_owned())??;
    estate_part(&estate_emulator).await?;
    org_part(&emulator, &config).await?;
    cost_teams::cost_teams_part().await?;
    burn::burn_part().await?;
    idle::idle_part().await?;
    println!(
        "\nDone in {:.1} s. Replay any sample yourself (`make emulator`, then): tagwarden replay <auto-tagger|budget-enforcer> --event events/<function>/<file>\n(budget alerts: add --alert-topic arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts, the topic the enforcer takes alerts from)",
        started.elapsed().as_secs_f64()
    );
    println!("(samples live in {})", repo_root().join("events").display());
    Ok(())
}

/// The budget-enforcer's role in `events/auto-tagger/tamper-by-tagwarden.json`.
const ENFORCER_ROLE: &str = "arn:aws:iam::123456789012:role/tagwarden-BudgetEnforcerRole-1X2Y3Z";

/// Tamper protection: someone removes and overwrites a protected tag; Tagwarden's own writes are left alone.
async fn tamper_part(emulator: &Emulator, clients: &Clients, tagger: &AutoTagger) -> Result<(), String> {
    const MODEL: &str = "arn:aws:sagemaker:us-east-1:123456789012:model/alice-quick-deploy";
    println!("\nTamper protection on {MODEL} (cost-center is protected):");
    /// What happens, the sample event, the tag someone overwrites (else the event's keys are deleted).
    type Step<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);
    let steps: [Step; 4] = [
        ("intern deletes cost-center", "tamper-delete-cost-center.json", None),
        ("ci-deployer sets cost-center=CC-0000", "tamper-overwrite-cost-center.json", Some(("cost-center", "CC-0000"))),
        ("intern deletes project (not protected)", "tamper-unprotected-key.json", None),
        ("the budget-enforcer writes its marker", "tamper-by-tagwarden.json", None),
    ];
    for (what, file, overwrite) in steps {
        let event = sample_event("auto-tagger", file)?;
        let sm = &clients.sagemaker;
        match overwrite {
            Some((key, value)) => {
                let tags = Tags::from([(key.to_owned(), value.to_owned())]);
                tagwarden::tagging::apply::add_tags(clients, MODEL, &tags).await.map_err(|e| e.to_string())?;
            }
            None if file != "tamper-by-tagwarden.json" => {
                let keys = event["detail"]["requestParameters"]["tagKeys"].as_array().cloned().unwrap_or_default();
                let keys = keys.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect();
                sm.delete_tags()
                    .resource_arn(MODEL)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
            }
            None => {}
        }
        emulator.reset_calls()?;
        let outcome = tagger.handle(&event).await.map_err(|e| e.to_string())?;
        let calls = emulator.calls()?.total;
        let cost_center = list_tags(clients, MODEL).await.map_err(|e| e.to_string())?.get("cost-center").cloned();
        let detail = match &outcome {
            Outcome::Skipped(skip) => skip.reason.clone(),
            _ => format!("cost-center is {}", cost_center.as_deref().unwrap_or("missing")),
        };
        println!("  {what:<40} -> {:<9} {detail} ({calls} AWS call(s))", outcome.label());
    }
    Ok(())
}

/// Part two: a budget climbs through its alerts; the enforcer acts on its scope only, then restores.
async fn budget_part(emulator: &Emulator, config: &aws_config::SdkConfig, clients: Clients) -> Result<(), String> {
    let world = seed_budget_world(emulator, config, 3).await?;
    seed_running_costs(&clients).await?;
    println!("\n=== Part 2: budget-enforcer ===\n");
    println!("Budget ml-marketing: $1,000.00 a month, filtered on the cost-allocation tag user:cost-center$CC-4100.");
    println!("Seeded: Studio domain marketing-studio (profiles mia in scope, raj out of scope, ed exempt), and per");
    println!("category (cost-center=CC-4100 / CC-4200 / CC-4100, exempt by the policy's budgets.exemptions):");
    println!("3 running notebooks, a training, processing, transform and tuning job in progress, an endpoint at");
    println!("3 instances, Studio apps, an execution role; in scope also an MLflow tracking server (billed every");
    println!("hour it runs) and a HyperPod cluster of 4 GPU workers; plus 3 stopped and 2 finished in-scope");
    println!("resources, a role with the deny policy already attached by a person, and an in-scope role SageMaker");
    println!("cannot assume.\n");

    let policy = Policy::example().map_err(|e| e.to_string())?;
    // NOTE: as the Lambda is configured: alerts only from the alerts topic the samples come through.
    let topic = format!("arn:aws:sns:{REGION}:123456789012:{}", tagwarden_e2e::budget_world::ALERTS_TOPIC);
    let ledger = tagwarden_e2e::ledger::create_ledger(config).await?;
    let enforcer = BudgetEnforcer::new(clients, Arc::new(policy)).with_alert_topics(vec![topic]).with_ledger(ledger);
    let alerts =
        ["actual-80-percent.json", "forecasted-110-percent.json", "actual-105-percent.json", "actual-125-percent.json"];
    for file in alerts {
        let event = sample_event("budget-enforcer", file)?;
        let outcome = enforcer.handle(&event, false).await.map_err(|e| e.to_string())?;
        match &outcome {
            EnforcementOutcome::Enforced(r) | EnforcementOutcome::Notified(r) | EnforcementOutcome::DryRun(r) => {
                let a = &r.alert;
                println!(
                    "ALERT {:?} {} ${:.2} of ${:.2} = {:.0}% (events/budget-enforcer/{file})",
                    a.alert_type, a.budget_name, a.amount, a.budgeted_amount, a.percent_of_budget
                );
                if let Some(own) = r.budget_percent {
                    println!("  verified: the budget's own record says {own:.0}%; acting on {:.0}%", r.plan.percent);
                }
                let actions: Vec<String> = r.plan.actions.iter().map(ToString::to_string).collect();
                println!("  rule {} step {}%: {}", r.plan.rule, r.plan.step, actions.join(", "));
                if let Some(limited) = &r.plan.limited {
                    println!("  {limited}");
                }
                println!("  scope: {}", r.scope);
                print_results(&r.results);
                println!(
                    "  outcome: {}{}\n",
                    outcome.label(),
                    if r.notified { ", summary sent to tagwarden-enforcement" } else { "" }
                );
            }
            other => println!("ALERT {file}: {}\n", serde_json::to_string(other).unwrap_or_default()),
        }
    }
    // Forged alerts: another topic, and a budget that does not exist (the rule `ml-*` matches its name).
    let mut forged = sample_event("budget-enforcer", "actual-125-percent.json")?;
    forged["Records"][0]["Sns"]["TopicArn"] = serde_json::json!("arn:aws:sns:us-east-1:123456789012:ml-team-chat");
    let outcome = enforcer.handle_lambda(&forged).await.map_err(|e| e.to_string())?;
    if let EnforcementOutcome::Rejected { error } = &outcome {
        println!("FORGED the 125 % alert, published to another topic\n  outcome: rejected: {error}\n");
    }
    let mut ghost = sample_event("budget-enforcer", "actual-125-percent.json")?;
    let message =
        ghost["Records"][0]["Sns"]["Message"].as_str().unwrap_or_default().replace("ml-marketing", "ml-ghost");
    ghost["Records"][0]["Sns"]["Message"] = serde_json::Value::from(message);
    ghost["Records"][0]["Sns"]["MessageId"] = serde_json::json!("forged-ml-ghost");
    let outcome = enforcer.handle_lambda(&ghost).await.map_err(|e| e.to_string())?;
    if let EnforcementOutcome::Unverified { reason, notified, .. } = &outcome {
        let notice = if *notified { ", one notice sent to tagwarden-enforcement" } else { "" };
        println!("FORGED 125 % for the budget ml-ghost\n  outcome: unverified{notice}: {reason}\n");
    }
    let untouched = world.out_of_scope.notebooks_running.len()
        + world.out_of_scope.endpoints.len()
        + world.out_of_scope.apps.len()
        + world.out_of_scope.training_jobs.len()
        + world.out_of_scope.roles.len();
    println!("Out of scope (cost-center=CC-4200) and never touched: {untouched} resources and roles.\n");

    let restore = sample_event("budget-enforcer", "restore-command.json")?;
    let restored = enforcer.handle(&restore, false).await.map_err(|e| e.to_string())?;
    if let EnforcementOutcome::Restored(r) = &restored {
        println!(
            "RESTORE ml-marketing from the enforcement ledger (events/budget-enforcer/restore-command.json; the tick does it when the budget's period ends)"
        );
        print_results(&r.results);
        println!("  the deny policy a person attached to {} stays attached.", world.preattached_role);
    }
    Ok(())
}

/// In the budget's scope besides the budget world: an MLflow tracking server and a HyperPod cluster of 4 workers.
async fn seed_running_costs(clients: &Clients) -> Result<(), String> {
    use aws_sdk_sagemaker::types::{
        ClusterInstanceGroupSpecification, ClusterInstanceType, ClusterLifeCycleConfig, Tag,
    };
    let role = "arn:aws:iam::123456789012:role/ml-marketing-exec";
    let tag = Tag::builder().key("cost-center").value("CC-4100").build();
    let sm = &clients.sagemaker;
    sm.create_mlflow_tracking_server()
        .tracking_server_name("mkt-mlflow")
        .artifact_store_uri("s3://ml-marketing-artifacts-123456789012/mlflow")
        .role_arn(role)
        .tags(tag.clone())
        .send()
        .await
        .map_err(|e| format!("CreateMlflowTrackingServer: {e:?}"))?;
    let lifecycle =
        ClusterLifeCycleConfig::builder().source_s3_uri("s3://sagemaker-lifecycle/").on_create("on_create.sh").build();
    let workers = ClusterInstanceGroupSpecification::builder()
        .instance_group_name("workers")
        .instance_type(ClusterInstanceType::MlP548Xlarge)
        .instance_count(4)
        .life_cycle_config(lifecycle)
        .execution_role(role)
        .threads_per_core(1)
        .build();
    sm.create_cluster()
        .cluster_name("mkt-hyperpod")
        .instance_groups(workers)
        .tags(tag)
        .send()
        .await
        .map_err(|e| format!("CreateCluster: {e:?}"))?;
    Ok(())
}

/// The estate's MLflow tracking server whose creation CloudTrail's event history holds.
const HISTORY_SERVER: &str = "estate-mlflow-untagged";

/// Part three: the resources that existed before Tagwarden: audit, sweep, audit again.
async fn estate_part(emulator: &Emulator) -> Result<(), String> {
    use tagwarden::sweep::{self, EventHistory, Lister, Progress, SweepOptions, SweepState};
    use tagwarden_e2e::estate::{ESTATE, ESTATE_TYPES, seed_estate};
    use tagwarden_ops::audit::{self, Format};

    let started = Instant::now();
    let config = emulator.sdk_config(REGION, 3).await;
    seed_estate(&config).await?;
    println!("\n=== Part 3: the existing estate (tagwarden audit, tagwarden sweep) ===\n");
    println!(
        "Seeded on a fresh emulator: the demo world plus {} resources made before Tagwarden was deployed: untagged",
        ESTATE.iter().filter(|e| !e.existing).count()
    );
    println!("jobs and models whose execution roles carry cost tags, misspelt keys (Environment, env, costcentre),");
    println!("values not allowed (qa) or in the wrong case (PRODUCTION), resources Studio made for alice and bob,");
    println!("a notebook whose protected cost-center someone overwrote, a space, apps (one deleted).\n");

    // One resource made before Tagwarden whose creation CloudTrail's 90-day event history still holds.
    let mut record = sample_event("auto-tagger", "mlflow-tracking-server-assumed-role-ci.json")?["detail"].clone();
    record["requestParameters"]["trackingServerName"] = HISTORY_SERVER.into();
    record["responseElements"]["trackingServerArn"] =
        format!("arn:aws:sagemaker:{REGION}:123456789012:mlflow-tracking-server/{HISTORY_SERVER}").into();
    emulator.record_cloudtrail_event(&record)?;
    println!("CloudTrail's event history still holds who created the MLflow tracking server {HISTORY_SERVER}");
    println!(
        "(the ci-deployer role); the sweep reads it once (LookupEvents) and tags it as the auto-tagger would have.\n"
    );

    let clients = Clients::new(&config);
    let policy = Arc::new(Policy::example().map_err(|e| e.to_string())?);
    let history = EventHistory::new(&config).with_pace(std::time::Duration::ZERO);
    let lister = Lister::new(clients.clone()).with_history(history);
    let kinds = sweep::kinds_named(&ESTATE_TYPES.iter().map(|t| t.to_string()).collect::<Vec<_>>())?;
    let coverage = |report: &audit::AuditReport| {
        let table = audit::render(report, Format::Table);
        table.split("\nnon-compliant").next().unwrap_or_default().to_owned()
    };

    let (resources, _) = audit::collect(&lister, &kinds, 8).await;
    let before = audit::audit(&resources, &policy.tags);
    println!("tagwarden audit (before):\n{}", indent(&coverage(&before)));
    for r in before.non_compliant.iter().take(4) {
        let problems: Vec<String> = r.findings.iter().map(|f| f.problem.describe(&f.key)).collect();
        println!("    {}: {}", shorten(r.resource_arn.rsplit(':').next().unwrap_or_default(), 40), problems.join("; "));
    }
    println!("    … {} non-compliant in all\n", before.non_compliant.len());

    let tagger = AutoTagger::new(clients, policy.clone(), &TaggerSettings::default());
    emulator.reset_calls()?;
    let options = SweepOptions { kinds: kinds.clone(), ..SweepOptions::default() };
    let mut drift = Vec::new();
    let mut from_history = None;
    let summary = sweep::sweep(&tagger, &lister, &options, &mut SweepState::default(), &mut |p| {
        if let Progress::Resource { outcome: Outcome::Tagged(r), .. } = p
            && r.resource_arn.ends_with(HISTORY_SERVER)
        {
            from_history = Some(r.added.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
        }
        if let Progress::Resource { outcome: Outcome::Tagged(r), .. } = p
            && r.origins.get("cost-center").is_some_and(|o| o != "caller")
            && r.added.contains_key("cost-center")
        {
            drift.push(format!(
                "{} -> cost-center={}",
                r.resource_arn.rsplit('/').next().unwrap_or_default(),
                r.added["cost-center"]
            ));
        }
    })
    .await;
    let calls = emulator.calls()?.total;
    let t = &summary.total;
    println!(
        "tagwarden sweep: {} resources, {} tagged, {} unchanged, {} skipped, {} failed; {calls} AWS calls ({:.1} per resource), {:.2} s",
        t.scanned,
        t.tagged,
        t.unchanged,
        t.skipped,
        t.failed,
        calls as f64 / t.scanned.max(1) as f64,
        summary.elapsed_ms as f64 / 1000.0
    );
    if let Some(h) = &summary.history {
        println!(
            "  CloudTrail history: {} LookupEvents call(s), {} create record(s), {} creator(s) named",
            h.calls, h.records, h.creators_named
        );
    }
    if let Some(tags) = from_history {
        println!("  e.g. {HISTORY_SERVER}: {tags}");
    }
    println!("  cost centers set or put back from profiles and execution roles: {}", drift.len());
    if let Some(line) = drift.iter().find(|l| l.starts_with("estate-nb-drift")) {
        println!("  e.g. the hand-edited notebook: {line}");
    }

    let (resources, _) = audit::collect(&lister, &kinds, 8).await;
    let after = audit::audit(&resources, &policy.tags);
    println!("\ntagwarden audit (after):\n{}", indent(&coverage(&after)));
    for r in &after.non_compliant {
        let problems: Vec<String> = r.findings.iter().map(|f| f.problem.describe(&f.key)).collect();
        println!("    {}: {}", shorten(r.resource_arn.rsplit(':').next().unwrap_or_default(), 40), problems.join("; "));
    }
    println!(
        "\nCoverage: {} of {} resources compliant before, {} after (the rest have no source for a cost center or team).",
        before.total.compliant, before.total.resources, after.total.compliant
    );
    println!("(part 3, seeding included: {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// Results grouped by action and result, resources by short name.
fn print_results(results: &[ActionResult]) {
    let mut grouped: BTreeMap<(&str, String), Vec<String>> = BTreeMap::new();
    for r in results {
        let result = r.result.label().to_owned();
        // An app is named by owner/type/name; everything else by the last part of its ARN.
        let parts = if r.action == "delete-studio-apps" { 3 } else { 1 };
        let mut tail: Vec<&str> = r.resource_arn.rsplit('/').take(parts).collect();
        tail.reverse();
        let name = tail.join("/");
        grouped.entry((r.action.as_str(), result)).or_default().push(name);
    }
    if grouped.is_empty() {
        println!("  (no resource actions at this step)");
    }
    for ((action, result), names) in grouped {
        println!("  {action:<26} {result:<16} {}", names.join(", "));
    }
}

/// Seeds the world, creates every sample's resource and keeps the emulator up until Ctrl-C.
async fn serve(port: u16) -> Result<(), String> {
    let emulator = Emulator::start_on(port)?;
    let config = emulator.sdk_config(REGION, 3).await;
    seed_world(&config).await?;
    let mut created = 0;
    for file in STORY {
        created += usize::from(create_resource(&config, &sample_event("auto-tagger", file)?).await?.is_some());
    }
    seed_budget_world(&emulator, &config, 3).await?;
    let ledger = tagwarden_e2e::ledger::create_ledger(&config).await?;
    let endpoint = emulator.endpoint();
    println!(
        "Emulator on {endpoint} with the demo world, {created} untagged sample resources, the ml-marketing budget's world and the ledger table {}.",
        ledger.table()
    );
    println!("In another shell:\n");
    println!(
        "  export AWS_ENDPOINT_URL={endpoint} AWS_REGION={REGION} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
    );
    println!(
        "  cargo run -p tagwarden-cli -- replay auto-tagger --event events/auto-tagger/model-assumed-role-ci.json"
    );
    println!(
        "  cargo run -p tagwarden-cli -- replay budget-enforcer --event events/budget-enforcer/actual-105-percent.json \\\n      --alert-topic arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts --ledger-table {}",
        ledger.table()
    );
    println!("  cargo run -p tagwarden-cli -- history --budget ml-marketing --ledger-table {}", ledger.table());
    println!("  cargo run -p tagwarden-cli -- restore --budget ml-marketing --ledger-table {}\n", ledger.table());
    println!("Ctrl-C stops the emulator.");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}

fn kebab(kind: &tagwarden::identity::CreatorKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn print_tags(before: &Tags, after: &Tags, origins: &BTreeMap<String, String>) {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(3).clamp(3, 34);
    println!("        {:<width$}  {:<22}  {:<22}  from", "tag", "before", "after");
    for key in keys {
        let old = before.get(key).map(String::as_str).unwrap_or("-");
        let new = after.get(key).map(String::as_str).unwrap_or("-");
        let mark = if old == new { " " } else { "+" };
        let origin = origins.get(key).map(String::as_str).unwrap_or("");
        println!(
            "      {mark} {:<width$}  {:<22}  {:<22}  {origin}",
            shorten(key, width),
            shorten(old, 22),
            shorten(new, 22)
        );
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let head: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

struct Row {
    file: String,
    outcome: &'static str,
    creator: String,
    added: usize,
    calls: u64,
}

fn row(file: &str, outcome: &'static str, creator: &str, added: usize, calls: u64) -> Row {
    Row { file: file.trim_end_matches(".json").to_owned(), outcome, creator: creator.to_owned(), added, calls }
}

fn print_summary(rows: &[Row]) {
    println!("Summary");
    println!("  {:<44} {:<10} {:<26} {:>5} {:>9}", "event", "outcome", "creator", "tags+", "AWS calls");
    for r in rows {
        println!(
            "  {:<44} {:<10} {:<26} {:>5} {:>9}",
            shorten(&r.file, 44),
            r.outcome,
            shorten(&r.creator, 26),
            r.added,
            r.calls
        );
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *counts.entry(r.outcome).or_default() += 1;
    }
    let line: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!("  {}", line.join(", "));
}

/// Part four: one Tagwarden for an organization: member accounts' events tagged where they happened.
async fn org_part(emulator: &Emulator, central: &aws_config::SdkConfig) -> Result<(), String> {
    use tagwarden::aws::CallPolicy;
    use tagwarden::org::{ClientPool, Membership, Organization};
    use tagwarden::tagging::org::OrgTagger;
    use tagwarden_e2e::org::{MEMBER_ROLE, config_as, event_from, seed_organization};

    let started = Instant::now();
    println!("\n=== Part 4: organization scale (member accounts forward their events to this account) ===\n");
    let org =
        seed_organization(central, &["research", "production"], &[("lab", "research"), ("shop", "production")]).await?;
    let ou = |name: &str| org.ou(name).unwrap_or_default().to_owned();
    let overrides = format!(
        "\noverrides:\n  - {{name: research, ous: [{}], tags: {{keys: {{data-class: {{default: research-data}}}}}}}}\n  - {{name: production, ous: [{}], tags: {{keys: {{data-class: {{default: restricted}}}}}}}}\n",
        ou("research"),
        ou("production")
    );
    let policy = Policy::from_yaml(&format!("{}{overrides}", tagwarden::policy::EXAMPLE_POLICY), "demo org policy")
        .map_err(|e| e.to_string())?;
    println!("Policy overrides: research OU -> data-class=research-data, production OU -> data-class=restricted");
    let organization = Organization {
        membership: Membership::Organizations,
        member_role_name: MEMBER_ROLE.into(),
        external_id_parameter: None,
        external_id: None,
        regions: vec![REGION.into(), "eu-west-1".into()],
    };
    let pool = ClientPool::new(central, &CallPolicy::DEFAULT, tagwarden_e2e::ACCOUNT, organization, "auto-tagger");
    let tagger = OrgTagger::new(pool, Arc::new(policy), &TaggerSettings::default());
    let model = sample_event("auto-tagger", "model-assumed-role-ci.json")?;
    let renamed = |name: &str| -> Result<serde_json::Value, String> {
        serde_json::from_str(&model.to_string().replace("fraud-scorer-v3", name)).map_err(|e| e.to_string())
    };
    let mut places: Vec<(String, String, String, String, serde_json::Value)> = Vec::new();
    for (name, account, ou_name) in &org.members {
        for (region, model) in [(REGION, "fraud-scorer-v3"), ("eu-west-1", "fraud-scorer-v3"), (REGION, "churn-v1")] {
            places.push((
                format!("{name} ({ou_name})"),
                account.clone(),
                region.to_owned(),
                model.into(),
                renamed(model)?,
            ));
        }
    }
    // An MLflow tracking server (billed every hour it exists), made in the first member's second region.
    if let Some((name, account, ou_name)) = org.members.first() {
        let server = sample_event("auto-tagger", "mlflow-tracking-server-assumed-role-ci.json")?;
        places.push((
            format!("{name} ({ou_name})"),
            account.clone(),
            "eu-west-1".into(),
            "mlflow fraud-experiments".into(),
            server,
        ));
    }
    places.push((
        "outsider (not in the org)".into(),
        "999999999999".into(),
        REGION.to_owned(),
        "fraud-scorer-v3".into(),
        renamed("fraud-scorer-v3")?,
    ));
    let mut events = Vec::new();
    for (label, account, region, resource, sample) in &places {
        let event = event_from(sample, account, region);
        if org.members.iter().any(|(_, a, _)| a == account) {
            create_resource(&config_as(central, account).await, &event).await?;
        }
        events.push((label, account, region, resource, event));
    }
    emulator.reset_calls()?;
    println!("  {:<26} {:<13} {:<10} {:<25} {:<8} {:>5}", "account", "id", "region", "resource", "outcome", "calls");
    for (label, account, region, resource, event) in &events {
        let before = emulator.calls()?.total;
        let outcome = tagger.handle(event).await.map_err(|e| e.to_string())?;
        let calls = emulator.calls()?.total - before;
        let detail = match &outcome {
            Outcome::Tagged(r) => {
                format!("data-class={}", r.added.get("data-class").map(String::as_str).unwrap_or("-"))
            }
            Outcome::Skipped(s) => s.reason.clone(),
            Outcome::Failed { reason, .. } => reason.clone(),
            _ => String::new(),
        };
        println!(
            "  {label:<26} {account:<13} {region:<10} {resource:<25} {:<8} {calls:>5}   {detail}",
            outcome.label()
        );
    }
    let calls = emulator.calls()?;
    let count = |k: &str| calls.by_action.get(k).copied().unwrap_or(0);
    println!(
        "sts.AssumeRole: {} for {} member accounts in 2 regions (credentials shared by an account's regions); \
         sns.Publish for the outsider: {} ({:.1} s)",
        count("sts.AssumeRole"),
        org.members.len(),
        count("sns.Publish"),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
