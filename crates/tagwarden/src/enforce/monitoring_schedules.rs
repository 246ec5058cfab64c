//! `stop-monitoring-schedules`: a monitoring schedule starts a processing job on every run. Scheduled ones in
//! scope are recorded in the ledger (name and status) and stopped with `StopMonitoringSchedule`; `restore`
//! (`start-monitoring-schedule`) starts each recorded one again with `StartMonitoringSchedule` if it is still
//! Stopped (its own description decides).

use aws_sdk_sagemaker::types::ScheduleStatus;
use futures::future::BoxFuture;

use super::actor::{Actor, running};
use super::ledger::{Before, Undo};
use super::report::{ResultKind, Tally};
use super::{Context, EnforcementAction};
use crate::aws::{AwsError, ResultExt};
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};

/// The `stop-monitoring-schedules` row.
pub(crate) struct StopMonitoringSchedules;

/// The result name of `restore`.
const RESTORE: &str = "start-monitoring-schedule";

/// The tagging API's type of a monitoring schedule.
const TAGGING_TYPE: &str = "sagemaker:monitoring-schedule";

impl EnforcementAction for StopMonitoringSchedules {
    fn action(&self) -> Action {
        Action::StopMonitoringSchedules
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &[TAGGING_TYPE]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[
            ("sagemaker:ListMonitoringSchedules", Grant::Any),
            ("sagemaker:StopMonitoringSchedule", Grant::SageMaker),
            // restore
            ("sagemaker:DescribeMonitoringSchedule", Grant::SageMaker),
            ("sagemaker:StartMonitoringSchedule", Grant::SageMaker),
        ]
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "stop Scheduled monitoring schedules in scope (restore starts them again)".to_owned()
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

async fn stop(actor: &Actor<'_>, cx: &Context<'_>, tally: &mut Tally) -> Result<(), AwsError> {
    let request = actor.clients.sagemaker.list_monitoring_schedules().status_equals(ScheduleStatus::Scheduled);
    let running = running!(
        request,
        "ListMonitoringSchedules",
        monitoring_schedule_summaries,
        monitoring_schedule_arn,
        monitoring_schedule_name
    );
    let action = Action::StopMonitoringSchedules.to_string();
    let (candidates, names) = actor.candidates(cx.scope, TAGGING_TYPE, &running).await?;
    let targets = actor.select(&action, candidates, ResultKind::AlreadyStopped, tally);
    actor
        .execute(&action, targets, cx.dry_run, ResultKind::AlreadyDeleted, tally, |target| {
            let name = names.get(&target.arn.to_ascii_lowercase()).cloned().unwrap_or_default();
            async move {
                let before =
                    Before::MonitoringSchedule { name: name.clone(), status: ScheduleStatus::Scheduled.to_string() };
                cx.remember(actor, Action::StopMonitoringSchedules, &target.arn, before).await?;
                actor
                    .clients
                    .sagemaker
                    .stop_monitoring_schedule()
                    .monitoring_schedule_name(&name)
                    .send()
                    .await
                    .aws("StopMonitoringSchedule")?;
                Ok(ResultKind::Done)
            }
        })
        .await;
    Ok(())
}

/// Starts a monitoring schedule the ledger recorded stopping, if it is still Stopped.
async fn start(actor: &Actor<'_>, undo: &Undo) -> Result<ResultKind, AwsError> {
    let Before::MonitoringSchedule { name, .. } = &undo.before else {
        return Ok(ResultKind::failed("the ledger's record is not a monitoring schedule's"));
    };
    let sm = &actor.clients.sagemaker;
    let described = sm.describe_monitoring_schedule().monitoring_schedule_name(name).send().await;
    let described = match described.aws("DescribeMonitoringSchedule") {
        Ok(described) => described,
        Err(err) if err.is_not_found() => return Ok(ResultKind::ResourceGone),
        Err(err) => return Err(err),
    };
    // NOTE: Scheduled or Pending: someone started it already; Failed: starting it would not run it.
    if described.monitoring_schedule_status() != Some(&ScheduleStatus::Stopped) {
        return Ok(ResultKind::NotStopped);
    }
    match sm.start_monitoring_schedule().monitoring_schedule_name(name).send().await.aws("StartMonitoringSchedule") {
        Ok(_) => Ok(ResultKind::Done),
        Err(err) if err.is_not_found() => Ok(ResultKind::ResourceGone),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod mock_tests {
    use std::sync::Arc;

    use super::*;
    use crate::aws::Clients;
    use crate::enforce::BudgetEnforcer;
    use crate::enforce::ledger::{PeriodKey, Place};
    use crate::policy::Policy;
    use aws_sdk_sagemaker::Client as SageMaker;
    use aws_sdk_sagemaker::operation::describe_monitoring_schedule::DescribeMonitoringScheduleOutput;
    use aws_sdk_sagemaker::operation::start_monitoring_schedule::StartMonitoringScheduleOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn enforcer(sagemaker: &[&Rule]) -> BudgetEnforcer {
        let empty = std::iter::empty::<&Rule>;
        let no_retry = |c: aws_sdk_sagemaker::config::Builder| {
            c.retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        };
        let clients = Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, sagemaker.iter().copied(), no_retry).into(),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, empty()).into(),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, empty()).into(),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, empty()).into(),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, empty()).into(),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, empty()).into(),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, empty()).into(),
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, empty()).into(),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, empty()).into(),
            costexplorer: mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, empty()).into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, empty()).into(),
        };
        BudgetEnforcer::new(clients, Arc::new(Policy::example().unwrap()))
    }

    fn undo() -> Undo {
        Undo {
            budget: "ml-marketing".into(),
            period: PeriodKey { start: "2026-11-01".into(), end: "2026-12-01".into() },
            action: "stop-monitoring-schedules".into(),
            resource: "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/drift".into(),
            before: Before::MonitoringSchedule { name: "drift".into(), status: "Scheduled".into() },
            trigger: "m-1".into(),
            at: "2026-11-20T10:00:00.000Z".into(),
            place: Place::default(),
        }
    }

    fn described(status: ScheduleStatus) -> Rule {
        mock!(SageMaker::describe_monitoring_schedule).then_output(move || {
            DescribeMonitoringScheduleOutput::builder().monitoring_schedule_status(status.clone()).build()
        })
    }

    fn start_rule() -> Rule {
        mock!(SageMaker::start_monitoring_schedule).then_output(|| StartMonitoringScheduleOutput::builder().build())
    }

    #[tokio::test]
    async fn restoring_a_schedule_deleted_since_is_resource_gone() {
        let gone = mock!(SageMaker::describe_monitoring_schedule).then_http_response(|| {
            let body = r#"{"__type": "ResourceNotFound", "message": "no such schedule"}"#;
            HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
        });
        let start = start_rule();
        let enforcer = enforcer(&[&gone, &start]);
        assert_eq!(
            StopMonitoringSchedules.undo(&enforcer.central_actor(), &undo()).await.unwrap(),
            ResultKind::ResourceGone
        );
        assert_eq!(start.num_calls(), 0);
    }

    #[tokio::test]
    async fn restoring_a_schedule_someone_started_already_says_so_and_a_stopped_one_is_started() {
        let (scheduled, start) = (described(ScheduleStatus::Scheduled), start_rule());
        let enforcer_started = enforcer(&[&scheduled, &start]);
        let result = StopMonitoringSchedules.undo(&enforcer_started.central_actor(), &undo()).await.unwrap();
        assert_eq!((result, start.num_calls()), (ResultKind::NotStopped, 0));
        let (stopped, start) = (described(ScheduleStatus::Stopped), start_rule());
        let enforcer_stopped = enforcer(&[&stopped, &start]);
        let result = StopMonitoringSchedules.undo(&enforcer_stopped.central_actor(), &undo()).await.unwrap();
        assert_eq!((result, start.num_calls()), (ResultKind::Done, 1));
    }
}
