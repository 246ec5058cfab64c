//! `stop-tracking-servers`: an MLflow tracking server bills every hour it runs. Running ones in scope are
//! recorded in the ledger (name and status) and stopped with `StopMlflowTrackingServer`; `restore`
//! (`start-tracking-server`) starts each recorded one again with `StartMlflowTrackingServer` if it is still
//! Stopped (its own description decides).

use std::collections::HashMap;

use aws_sdk_sagemaker::types::TrackingServerStatus;
use futures::future::BoxFuture;

use super::actor::Actor;
use super::ledger::{Before, Undo};
use super::report::{ResultKind, Tally};
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};

/// The `stop-tracking-servers` row.
pub(crate) struct StopTrackingServers;

/// The result name of `restore`.
const RESTORE: &str = "start-tracking-server";

/// The tagging API's type of a tracking server.
const TAGGING_TYPE: &str = "sagemaker:mlflow-tracking-server";

impl EnforcementAction for StopTrackingServers {
    fn action(&self) -> Action {
        Action::StopTrackingServers
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &[TAGGING_TYPE]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListMlflowTrackingServers", Grant::Any),
            ("sagemaker:StopMlflowTrackingServer", Grant::SageMaker),
            // restore
            ("sagemaker:DescribeMlflowTrackingServer", Grant::SageMaker),
            ("sagemaker:StartMlflowTrackingServer", Grant::SageMaker),
        ]
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "stop running MLflow tracking servers in scope (restore starts them again)".to_owned()
    }

    fn act<'a>(
        &'a self,
        actor: &'a Actor<'a>,
        cx: &'a Context<'a>,
        tally: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(stop(actor, cx, tally))
    }

    fn restore_name(&self) -> Option<&'static str> {
        Some(RESTORE)
    }

    fn undo<'a>(&'a self, actor: &'a Actor<'a>, undo: &'a Undo) -> BoxFuture<'a, Result<ResultKind, AwsError>> {
        Box::pin(start(actor, undo))
    }
}

/// Whether a tracking server in this status runs (and bills).
// NOTE: a server runs from `Created` on, not only once `Started` (which follows a stop and a start):
// filtering the listing on `Started` alone would miss every server that was never stopped.
fn runs(status: &TrackingServerStatus) -> bool {
    matches!(
        status,
        TrackingServerStatus::Created
            | TrackingServerStatus::Started
            | TrackingServerStatus::Updated
            | TrackingServerStatus::MaintenanceComplete
    )
}

async fn stop(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let mut running: Vec<(String, String)> = Vec::new();
    let mut statuses: HashMap<String, String> = HashMap::new();
    let mut pages = actor.clients.sagemaker.list_mlflow_tracking_servers().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for server in page.aws("ListMlflowTrackingServers")?.tracking_server_summaries() {
            let (Some(arn), Some(name), Some(status)) =
                (server.tracking_server_arn(), server.tracking_server_name(), server.tracking_server_status())
            else {
                continue;
            };
            if runs(status) {
                statuses.insert(arn.to_ascii_lowercase(), status.to_string());
                running.push((arn.to_owned(), name.to_owned()));
            }
        }
    }
    let action = Action::StopTrackingServers.to_string();
    let (candidates, names) = actor.candidates(cx.scope, TAGGING_TYPE, &running).await?;
    let targets = actor.select(&action, candidates, ResultKind::AlreadyStopped, tally);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let key = target.arn.to_ascii_lowercase();
            let name = names.get(&key).cloned().unwrap_or_default();
            let status = statuses.get(&key).cloned().unwrap_or_default();
            async move {
                let before = Before::TrackingServer { name: name.clone(), status };
                cx.remember(actor, Action::StopTrackingServers, &target.arn, before).await?;
                let stopped =
                    actor.clients.sagemaker.stop_mlflow_tracking_server().tracking_server_name(&name).send().await;
                match stopped.aws("StopMlflowTrackingServer") {
                    Ok(_) => Ok(ResultKind::Done),
                    // NOTE: a conflict is what a stop that SageMaker carried out before a retried attempt (or
                    // someone else's stop since the listing) answers: its own description says which.
                    Err(err) if is_conflict(&err) => match status_of(actor, &name).await? {
                        Some(TrackingServerStatus::Stopping | TrackingServerStatus::Stopped) => {
                            Ok(ResultKind::AlreadyStopped)
                        }
                        _ => Err(err),
                    },
                    Err(err) => Err(err),
                }
            }
        })
        .await;
    Ok(())
}

fn is_conflict(err: &AwsError) -> bool {
    matches!(err, AwsError::Rejected { code, .. } if code == "ConflictException")
}

async fn status_of(actor: &Actor<'_>, name: &str) -> Result<Option<TrackingServerStatus>, AwsError> {
    let described = actor
        .clients
        .sagemaker
        .describe_mlflow_tracking_server()
        .tracking_server_name(name)
        .send()
        .await
        .aws("DescribeMlflowTrackingServer")?;
    Ok(described.tracking_server_status().cloned())
}

/// What restoring a tracking server in this status does (pure): `None` to start it, else the result.
fn restore_for(name: &str, status: Option<&TrackingServerStatus>) -> Option<ResultKind> {
    match status {
        Some(TrackingServerStatus::Stopped) => None,
        // NOTE: a failed undo stays open: the next restore or tick starts it once it is Stopped.
        Some(TrackingServerStatus::Stopping) => {
            Some(ResultKind::failed(format!("tracking server {name} is still Stopping; started at the next tick")))
        }
        Some(TrackingServerStatus::Deleting) => Some(ResultKind::ResourceGone),
        _ => Some(ResultKind::NotStopped),
    }
}

/// Starts a tracking server the ledger recorded stopping, if it is still Stopped.
async fn start(actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
    let Before::TrackingServer { name, .. } = &undo.before else {
        return Ok(ResultKind::failed("the ledger's record is not a tracking server's"));
    };
    let status = match status_of(actor, name).await {
        Ok(status) => status,
        Err(err) if err.is_not_found() => return Ok(ResultKind::ResourceGone),
        Err(err) => return Err(err),
    };
    if let Some(result) = restore_for(name, status.as_ref()) {
        return Ok(result);
    }
    let started = actor.clients.sagemaker.start_mlflow_tracking_server().tracking_server_name(name).send().await;
    match started.aws("StartMlflowTrackingServer") {
        Ok(_) => Ok(ResultKind::Done),
        Err(err) if err.is_not_found() => Ok(ResultKind::ResourceGone),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_runs_from_created_on_and_not_while_stopped() {
        assert!(runs(&TrackingServerStatus::Created), "a server never stopped is Created, and bills");
        assert!(runs(&TrackingServerStatus::Started));
        assert!(!runs(&TrackingServerStatus::Stopped) && !runs(&TrackingServerStatus::Stopping));
        assert!(!runs(&TrackingServerStatus::Creating), "nothing to stop yet");
    }

    #[test]
    fn restore_starts_only_a_stopped_server_and_retries_a_stopping_one() {
        assert_eq!(restore_for("t", Some(&TrackingServerStatus::Stopped)), None);
        assert_eq!(restore_for("t", Some(&TrackingServerStatus::Started)), Some(ResultKind::NotStopped));
        assert!(restore_for("t", Some(&TrackingServerStatus::Stopping)).is_some_and(|r| r.is_failed()));
        assert_eq!(restore_for("t", Some(&TrackingServerStatus::Deleting)), Some(ResultKind::ResourceGone));
    }
}

#[cfg(test)]
mod mock_tests {
    use std::sync::Arc;

    use super::*;
    use crate::aws::Clients;
    use crate::enforce::ledger::{PeriodKey, Place};
    use crate::enforce::{BudgetEnforcer, EnforcementOutcome};
    use crate::policy::Policy;
    use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag as RgtTag};
    use aws_sdk_sagemaker::Client as SageMaker;
    use aws_sdk_sagemaker::operation::describe_mlflow_tracking_server::DescribeMlflowTrackingServerOutput;
    use aws_sdk_sagemaker::operation::list_mlflow_tracking_servers::ListMlflowTrackingServersOutput;
    use aws_sdk_sagemaker::operation::start_mlflow_tracking_server::StartMlflowTrackingServerOutput;
    use aws_sdk_sagemaker::operation::stop_mlflow_tracking_server::StopMlflowTrackingServerOutput;
    use aws_sdk_sagemaker::types::TrackingServerSummary;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use serde_json::{Value, json};

    const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  rules:\n    - budget: ml-marketing\n      scope: {tags: {cost-center: CC-4100}}\n      steps: [{at: 100, actions: [stop-tracking-servers]}]\n";

    fn arn(name: &str) -> String {
        format!("arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/{name}")
    }

    fn alert() -> Value {
        let message = "AWS Budget Notification\nAWS Account 123456789012\n\nBudget Name: ml-marketing\nBudget Type: Cost\nBudgeted Amount: $100.00\nAlert Type: ACTUAL\nAlert Threshold: > $100.00\nACTUAL Amount: $120.00\n";
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": "AWS Budgets: ml-marketing has exceeded your alert threshold", "Message": message}}]})
    }

    fn error(status: u16, code: &str) -> HttpResponse {
        let body = json!({"__type": code, "message": "from the mock"}).to_string();
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    fn enforcer(sagemaker: &[&Rule], tagging: &[&Rule]) -> BudgetEnforcer {
        let empty = std::iter::empty::<&Rule>;
        let budget = crate::enforce::verify::test_support::described("ml-marketing", "100", "120");
        let no_retry = |c: aws_sdk_sagemaker::config::Builder| {
            c.retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        };
        let clients = Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, sagemaker.iter().copied(), no_retry).into(),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, empty()).into(),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, empty()).into(),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, tagging.iter().copied()).into(),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, [&budget]).into(),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, empty()).into(),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, empty()).into(),
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, empty()).into(),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, empty()).into(),
            costexplorer: mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, empty()).into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, empty()).into(),
        };
        BudgetEnforcer::new(clients, Arc::new(Policy::from_yaml(POLICY, "test").unwrap()))
    }

    fn in_scope(names: &'static [&'static str]) -> Rule {
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(move || {
            let mappings = names.iter().map(|name| {
                ResourceTagMapping::builder()
                    .resource_arn(arn(name))
                    .tags(RgtTag::builder().key("cost-center").value("CC-4100").build().unwrap())
                    .build()
            });
            GetResourcesOutput::builder().set_resource_tag_mapping_list(Some(mappings.collect())).build()
        })
    }

    fn summary(name: &str, status: TrackingServerStatus) -> TrackingServerSummary {
        TrackingServerSummary::builder()
            .tracking_server_name(name)
            .tracking_server_arn(arn(name))
            .tracking_server_status(status)
            .build()
    }

    fn described(status: TrackingServerStatus) -> Rule {
        mock!(SageMaker::describe_mlflow_tracking_server).then_output(move || {
            DescribeMlflowTrackingServerOutput::builder().tracking_server_status(status.clone()).build()
        })
    }

    fn undo(name: &str) -> Undo {
        Undo {
            budget: "ml-marketing".into(),
            period: PeriodKey { start: "2026-11-01".into(), end: "2026-12-01".into() },
            action: "stop-tracking-servers".into(),
            resource: arn(name),
            before: Before::TrackingServer { name: name.into(), status: "Created".into() },
            trigger: "m-1".into(),
            at: "2026-11-20T10:00:00.000Z".into(),
            place: Place::default(),
        }
    }

    #[tokio::test]
    async fn running_servers_in_scope_are_stopped_and_a_stopped_one_is_left_alone() {
        let list = mock!(SageMaker::list_mlflow_tracking_servers).then_output(|| {
            ListMlflowTrackingServersOutput::builder()
                .tracking_server_summaries(summary("created", TrackingServerStatus::Created))
                .tracking_server_summaries(summary("started", TrackingServerStatus::Started))
                .tracking_server_summaries(summary("stopped", TrackingServerStatus::Stopped))
                .build()
        });
        let stop = mock!(SageMaker::stop_mlflow_tracking_server)
            .then_output(|| StopMlflowTrackingServerOutput::builder().build());
        let tagging = in_scope(&["created", "started", "stopped"]);
        let outcome = enforcer(&[&list, &stop], &[&tagging]).handle(&alert(), false).await.unwrap();
        let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
        let mut results: Vec<(String, String)> =
            report.results.iter().map(|r| (r.resource_arn.clone(), r.result.to_string())).collect();
        results.sort();
        assert_eq!(
            results,
            [
                (arn("created"), "done".to_owned()),
                (arn("started"), "done".to_owned()),
                (arn("stopped"), "already-stopped".to_owned())
            ]
        );
        assert_eq!(stop.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_stop_that_conflicts_because_the_server_is_stopping_counts_as_stopped() {
        let list = mock!(SageMaker::list_mlflow_tracking_servers).then_output(|| {
            ListMlflowTrackingServersOutput::builder()
                .tracking_server_summaries(summary("t", TrackingServerStatus::Started))
                .build()
        });
        let conflict =
            mock!(SageMaker::stop_mlflow_tracking_server).then_http_response(|| error(400, "ConflictException"));
        let describe = described(TrackingServerStatus::Stopping);
        let tagging = in_scope(&["t"]);
        let outcome = enforcer(&[&list, &conflict, &describe], &[&tagging]).handle(&alert(), false).await.unwrap();
        let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
        assert_eq!(report.results[0].result, ResultKind::AlreadyStopped);
    }

    #[tokio::test]
    async fn restoring_a_server_gone_since_is_resource_gone() {
        let gone =
            mock!(SageMaker::describe_mlflow_tracking_server).then_http_response(|| error(400, "ResourceNotFound"));
        let start = mock!(SageMaker::start_mlflow_tracking_server)
            .then_output(|| StartMlflowTrackingServerOutput::builder().build());
        let enforcer = enforcer(&[&gone, &start], &[]);
        let result = StopTrackingServers.undo(&enforcer.central_actor(), &undo("t")).await.unwrap();
        assert_eq!(result, ResultKind::ResourceGone);
        assert_eq!(start.num_calls(), 0);
    }

    #[tokio::test]
    async fn restoring_a_server_someone_started_already_says_so_and_starts_nothing() {
        let started = described(TrackingServerStatus::Started);
        let start = mock!(SageMaker::start_mlflow_tracking_server)
            .then_output(|| StartMlflowTrackingServerOutput::builder().build());
        let enforcer = enforcer(&[&started, &start], &[]);
        let result = StopTrackingServers.undo(&enforcer.central_actor(), &undo("t")).await.unwrap();
        assert_eq!(result, ResultKind::NotStopped);
        assert_eq!(start.num_calls(), 0);
    }

    #[tokio::test]
    async fn restoring_a_stopped_server_starts_it() {
        let stopped = described(TrackingServerStatus::Stopped);
        let start = mock!(SageMaker::start_mlflow_tracking_server)
            .then_output(|| StartMlflowTrackingServerOutput::builder().build());
        let enforcer = enforcer(&[&stopped, &start], &[]);
        let result = StopTrackingServers.undo(&enforcer.central_actor(), &undo("t")).await.unwrap();
        assert_eq!(result, ResultKind::Done);
        assert_eq!(start.num_calls(), 1);
    }
}
