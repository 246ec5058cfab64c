//! `stop-notebooks`: stop InService notebook instances in scope, each recorded in the ledger first; `restore`
//! restarts the ones the ledger recorded when the rule says `restart_notebooks_on_restore` (the
//! `tagwarden:stopped-by` tag is a hint for people, never read).

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::ledger::{Before, Undo};
use super::report::ResultKind;
use super::report::Tally;
use super::{Context, EnforcementAction, STOPPED_BY_TAG};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};
use crate::tag_rules::sanitize_value;

/// The `stop-notebooks` row.
pub(crate) struct StopNotebooks;

/// The result name of `restore`.
const RESTART: &str = "restart-notebook";

impl EnforcementAction for StopNotebooks {
    fn action(&self) -> Action {
        Action::StopNotebooks
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &["sagemaker:notebook-instance"]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListNotebookInstances", Grant::Any),
            ("sagemaker:StopNotebookInstance", Grant::SageMaker),
            // restore, and the `tagwarden:stopped-by` marker
            ("sagemaker:StartNotebookInstance", Grant::SageMaker),
            ("sagemaker:AddTags", Grant::SageMakerMarkers),
            ("sagemaker:DeleteTags", Grant::SageMakerMarkers),
        ]
    }

    fn describe(&self, rule: &BudgetRule) -> String {
        let marker = if rule.restart_notebooks_on_restore { ", marked for restart on restore" } else { "" };
        format!("stop InService notebook instances in scope{marker}")
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
        Some(RESTART)
    }

    fn undo<'a>(&'a self, actor: &'a Actor<'a>, undo: &'a Undo) -> BoxFuture<'a, Result<ResultKind, AwsError>> {
        Box::pin(restart(actor, undo))
    }
}

async fn stop(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let request = actor.clients.sagemaker.list_notebook_instances().status_equals(NotebookInstanceStatus::InService);
    let running =
        running!(request, "ListNotebookInstances", notebook_instances, notebook_instance_arn, notebook_instance_name);
    let action = Action::StopNotebooks.to_string();
    let (candidates, names) = actor.candidates(cx.scope, "sagemaker:notebook-instance", &running).await?;
    let targets = actor.select(&action, candidates, ResultKind::AlreadyStopped, tally);
    // NOTE: the marker is a hint for people (restore reads the ledger); it costs one call per notebook, so it
    // is written only when restore will restart the notebook.
    let marker = cx.rule.restart_notebooks_on_restore.then(|| sanitize_value(&cx.alert.budget_name));
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyStopped, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            let marker = marker.clone();
            async move {
                let before =
                    Before::Notebook { name: name.clone(), status: NotebookInstanceStatus::InService.to_string() };
                cx.remember(actor, Action::StopNotebooks, &target.arn, before).await?;
                if let Some(marker) = marker {
                    actor.mark(&target.arn, &[(STOPPED_BY_TAG, marker)]).await?;
                }
                let stopped = actor
                    .clients
                    .sagemaker
                    .stop_notebook_instance()
                    .notebook_instance_name(&name)
                    .send()
                    .await
                    .aws("StopNotebookInstance");
                match stopped {
                    Ok(_) => Ok(ResultKind::Done),
                    Err(err) if already_stopping(&err) => Ok(ResultKind::AlreadyStopped),
                    Err(err) => Err(err),
                }
            }
        })
        .await;
    Ok(())
}

/// Restarts a notebook the ledger recorded stopping, if its budget's rule says so and it is still stopped.
async fn restart(actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
    let Before::Notebook { name, .. } = &undo.before else {
        return Ok(ResultKind::failed("the ledger's record is not a notebook's"));
    };
    if !actor.policy.budgets.rule_for(&undo.budget).is_some_and(|r| r.restart_notebooks_on_restore) {
        return Ok(ResultKind::LeftStopped);
    }
    let started = actor.clients.sagemaker.start_notebook_instance().notebook_instance_name(name).send().await;
    match started.aws("StartNotebookInstance") {
        Ok(_) => {}
        Err(err) if err.is_not_found() => return Ok(ResultKind::NotebookGone),
        // NOTE: SageMaker starts only Stopped (or Failed) notebooks: `Status (InService) not in ([Stopped,
        // Failed])` means someone started it already; Stopping or Pending are retried at the next tick.
        Err(AwsError::Rejected { code, message, .. })
            if code == "ValidationException" && message.contains("Status (InService)") =>
        {
            return Ok(ResultKind::NotStopped);
        }
        Err(err) => return Err(err),
    }
    match actor.unmark(&undo.resource, &[STOPPED_BY_TAG]).await {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(ResultKind::Done),
    }
}

/// SageMaker's answer to stopping a notebook that is already stopping or stopped:
/// `ValidationException: Status (Stopping) not in ([InService]). Unable to transition to (Stopping) …`.
// NOTE: this is what the SDK's retry meets when an attempt timed out after SageMaker had carried it out,
// and what a stop by someone else between the list call and ours looks like: done, not failed.
fn already_stopping(err: &AwsError) -> bool {
    matches!(err, AwsError::Rejected { code, message, .. }
        if code == "ValidationException"
            && (message.contains("Status (Stopping)") || message.contains("Status (Stopped)")))
}

#[cfg(test)]
mod mock_tests {
    use std::sync::Arc;

    use super::*;
    use crate::aws::Clients;
    use crate::enforce::{BudgetEnforcer, EnforcementOutcome};
    use crate::policy::Policy;
    use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag as RgtTag};
    use aws_sdk_sagemaker::Client as SageMaker;
    use aws_sdk_sagemaker::operation::list_notebook_instances::ListNotebookInstancesOutput;
    use aws_sdk_sagemaker::operation::stop_notebook_instance::StopNotebookInstanceOutput;
    use aws_sdk_sagemaker::types::NotebookInstanceSummary;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use serde_json::{Value, json};

    const POLICY: &str = "tags:\n  keys:\n    cost-center: {}\nbudgets:\n  rules:\n    - budget: ml-marketing\n      scope: {tags: {cost-center: CC-4100}}\n      steps: [{at: 100, actions: [stop-notebooks]}]\n";

    fn arn(i: usize) -> String {
        format!("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb-{i}")
    }

    fn alert() -> Value {
        let message = "AWS Budget Notification\nAWS Account 123456789012\n\nBudget Name: ml-marketing\nBudget Type: Cost\nBudgeted Amount: $100.00\nAlert Type: ACTUAL\nAlert Threshold: > $100.00\nACTUAL Amount: $120.00\n";
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": "AWS Budgets: ml-marketing has exceeded your alert threshold", "Message": message}}]})
    }

    fn error(status: u16, code: &str) -> HttpResponse {
        let body = json!({"__type": code, "message": "from the mock"}).to_string();
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    fn in_scope(n: usize) -> Rule {
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(move || {
            let mappings = (0..n).map(|i| {
                ResourceTagMapping::builder()
                    .resource_arn(arn(i))
                    .tags(RgtTag::builder().key("cost-center").value("CC-4100").build().unwrap())
                    .build()
            });
            GetResourcesOutput::builder().set_resource_tag_mapping_list(Some(mappings.collect())).build()
        })
    }

    fn summary(i: usize) -> NotebookInstanceSummary {
        NotebookInstanceSummary::builder()
            .notebook_instance_name(format!("nb-{i}"))
            .notebook_instance_arn(arn(i))
            .notebook_instance_status(NotebookInstanceStatus::InService)
            .build()
    }

    fn enforcer(sagemaker: &[&Rule], tagging: &[&Rule]) -> BudgetEnforcer {
        let empty = std::iter::empty::<&Rule>;
        // NOTE: the budget's own record confirms the alert's 120 % (see enforce::verify).
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

    fn results(outcome: EnforcementOutcome) -> Vec<String> {
        let EnforcementOutcome::Enforced(report) = outcome else { panic!("expected enforced, got {outcome:?}") };
        report.results.into_iter().map(|r| r.result.to_string()).collect()
    }

    #[tokio::test]
    async fn notebooks_on_every_list_page_are_stopped() {
        let list = mock!(SageMaker::list_notebook_instances)
            .sequence()
            .output(|| ListNotebookInstancesOutput::builder().notebook_instances(summary(0)).next_token("p2").build())
            .output(|| ListNotebookInstancesOutput::builder().notebook_instances(summary(1)).build())
            .build();
        let stop =
            mock!(SageMaker::stop_notebook_instance).then_output(|| StopNotebookInstanceOutput::builder().build());
        let tagging = in_scope(2);
        let outcome = enforcer(&[&list, &stop], &[&tagging]).handle(&alert(), false).await.unwrap();
        assert_eq!(results(outcome), ["done", "done"]);
        assert_eq!((list.num_calls(), stop.num_calls()), (2, 2));
    }

    #[tokio::test]
    async fn a_notebook_gone_before_the_stop_counts_as_stopped_and_a_denied_stop_is_reported() {
        let list = mock!(SageMaker::list_notebook_instances).then_output(|| {
            ListNotebookInstancesOutput::builder().notebook_instances(summary(0)).notebook_instances(summary(1)).build()
        });
        let gone = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-0"))
            .then_http_response(|| error(400, "ResourceNotFound"));
        let denied = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-1"))
            .then_http_response(|| error(400, "AccessDeniedException"));
        let tagging = in_scope(2);
        let outcome = enforcer(&[&list, &gone, &denied], &[&tagging]).handle(&alert(), false).await.unwrap();
        let results = results(outcome);
        assert_eq!(results[0], "already-stopped");
        assert!(results[1].starts_with("failed: StopNotebookInstance: access denied"), "{}", results[1]);
    }

    #[tokio::test]
    async fn throttling_that_outlasts_the_sdk_retries_makes_the_whole_alert_retryable() {
        let list = mock!(SageMaker::list_notebook_instances).then_output(|| {
            ListNotebookInstancesOutput::builder().notebook_instances(summary(0)).notebook_instances(summary(1)).build()
        });
        let ok = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-0"))
            .then_output(|| StopNotebookInstanceOutput::builder().build());
        let throttled = mock!(SageMaker::stop_notebook_instance)
            .match_requests(|r| r.notebook_instance_name() == Some("nb-1"))
            .then_http_response(|| error(400, "ThrottlingException"));
        let tagging = in_scope(2);
        let err = enforcer(&[&list, &ok, &throttled], &[&tagging]).handle(&alert(), false).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(ok.num_calls(), 1, "the other notebooks were still stopped before the retry");
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "Tagwarden.Retryable.Throttled");
    }

    #[tokio::test]
    async fn a_refused_listing_is_a_failed_outcome_for_lambda_not_a_retry() {
        let denied =
            mock!(SageMaker::list_notebook_instances).then_http_response(|| error(400, "AccessDeniedException"));
        let tagging = in_scope(2);
        let enforcer = enforcer(&[&denied], &[&tagging]);
        let err = enforcer.handle(&alert(), false).await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        let outcome = enforcer.handle_lambda(&alert()).await.unwrap();
        let EnforcementOutcome::Failed { error } = outcome else { panic!("expected failed, got {outcome:?}") };
        assert!(error.contains("ListNotebookInstances: access denied"), "{error}");
    }

    #[tokio::test]
    async fn the_safety_cap_limits_how_many_notebooks_one_alert_stops() {
        let list = mock!(SageMaker::list_notebook_instances).then_output(|| {
            let mut out = ListNotebookInstancesOutput::builder();
            for i in 0..5 {
                out = out.notebook_instances(summary(i));
            }
            out.build()
        });
        let stop =
            mock!(SageMaker::stop_notebook_instance).then_output(|| StopNotebookInstanceOutput::builder().build());
        let tagging = in_scope(5);
        let mut enforcer = enforcer(&[&list, &stop], &[&tagging]);
        Arc::make_mut(&mut enforcer.policy).budgets.max_resources_per_action = 3;
        let results = results(enforcer.handle(&alert(), false).await.unwrap());
        assert_eq!(results.iter().filter(|r| *r == "done").count(), 3);
        assert_eq!(results.iter().filter(|r| r.starts_with("capped")).count(), 2);
        assert_eq!(stop.num_calls(), 3);
    }
}
