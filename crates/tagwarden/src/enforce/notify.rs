//! `notify`: one summary to the policy's `notify_topic_arn`. It touches no resource in any place; the
//! handler publishes the [`summary`](super::report::summary) once, after every place was acted in.

use futures::future::BoxFuture;

use super::actor::Actor;
use super::report::Tally;
use super::{Context, EnforcementAction};
use crate::aws::AwsError;
use crate::grant::{Permission, Scope as Grant};
use crate::policy::{Action, BudgetRule};

/// The `notify` row.
pub(crate) struct Notify;

impl EnforcementAction for Notify {
    fn action(&self) -> Action {
        Action::Notify
    }

    fn resource_types(&self) -> &'static [&'static str] {
        &[]
    }

    fn permissions(&self) -> &'static [Permission] {
        &[("sns:Publish", Grant::NotifyTopic)]
    }

    fn describe(&self, _rule: &BudgetRule) -> String {
        "publish one summary to the notification topic".to_owned()
    }

    fn act<'a>(
        &'a self,
        _: &'a Actor<'a>,
        _: &'a Context<'a>,
        _: &'a mut Tally,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async { Ok(()) })
    }
}
