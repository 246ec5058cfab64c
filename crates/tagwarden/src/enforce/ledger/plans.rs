//! Plans: a step's actions deferred for an approval or a grace period, and when the tick carries them out.

use serde::{Deserialize, Serialize};

use super::{Item, LedgerError, LedgerTable, PeriodKey, expires, key_of, now, optional, s, text};
use crate::aws::{AwsError, ResultExt};

/// How a plan waits: for a person's approval, or for its grace to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanMode {
    /// `tagwarden approve <plan id>` runs it.
    Approval,
    /// The tick runs it once `due` has passed.
    Grace,
}

/// Where a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanState {
    /// Waiting.
    Pending,
    /// Being carried out by one invocation (a conditional update took it).
    Running,
    /// Carried out.
    Executed,
    /// Its budget period ended before it was approved: never carried out.
    Expired,
    /// The budget's own figure had fallen below the step when it was due: nothing done.
    Lapsed,
}

/// Actions a step deferred: exactly what they would do, waiting for an approval or a grace period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan id (`p-` and 16 hex digits).
    pub id: String,
    /// The budget.
    pub budget: String,
    /// The budget period; the plan expires at its end.
    pub period: PeriodKey,
    /// The step reached.
    pub step: f64,
    /// The verified percentage it was planned at.
    pub percent: f64,
    /// The alert, to be checked again and acted on.
    pub alert: crate::event::budget::BudgetAlert,
    /// `(action, resource)` of every planned change: nothing else is touched.
    pub targets: Vec<(String, String)>,
    /// How it waits.
    pub mode: PlanMode,
    /// When the tick carries it out (grace plans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// When it was made.
    pub created: String,
    /// The SNS `MessageId` of the alert that made it.
    pub trigger: String,
    /// Where it is.
    pub state: PlanState,
    /// How it ended (`enforced`, `expired: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

impl LedgerTable {
    /// Records a new plan (and its due time for the tick); `false` if a plan of this id exists already
    /// (the same alert delivered again).
    pub async fn put_plan(&self, plan: &Plan) -> Result<bool, LedgerError> {
        let json = serde_json::to_string(plan).unwrap_or_default();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s("plans"))
            .item("sk", s(&plan.id))
            .item("plan", s(json))
            .item("state", s(plan_state(plan.state)))
            .item("expires", expires(now()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .aws("PutItem");
        match put {
            Ok(_) => {}
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => return Ok(false),
            Err(err) => return Err(self.fail("PutItem")(err)),
        }
        if let Some(due) = &plan.due {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s("due"))
                .item("sk", s(format!("{due}#{}", plan.id)))
                .item("plan_id", s(&plan.id))
                .send()
                .await
                .aws("PutItem")
                .map_err(self.fail("PutItem"))?;
        }
        Ok(true)
    }

    /// A plan by id, `None` if there is none.
    pub async fn plan(&self, id: &str) -> Result<Option<Plan>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("plans"))
            .key("sk", s(id))
            .consistent_read(true)
            .send()
            .await
            .aws("GetItem")
            .map_err(self.fail("GetItem"))?;
        out.item().map(plan_of).transpose()
    }

    /// Every plan, newest first.
    pub async fn plans(&self) -> Result<Vec<Plan>, LedgerError> {
        let items = self.query("plans", None, None).await?;
        let mut plans: Vec<Plan> = items.iter().map(plan_of).collect::<Result<_, _>>()?;
        plans.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(plans)
    }

    /// The ids of plans due at `now` (RFC 3339), with their due items' keys.
    pub async fn due_plans(&self, now: &str) -> Result<Vec<(String, String)>, LedgerError> {
        let items = self.query("due", None, Some(format!("{now}$"))).await?;
        items.iter().map(|item| Ok((text(item, "sk")?.to_owned(), text(item, "plan_id")?.to_owned()))).collect()
    }

    /// Removes a due item once its plan ran (or could not).
    pub async fn drop_due(&self, key: &str) -> Result<(), LedgerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("due"))
            .key("sk", s(key))
            .send()
            .await
            .aws("DeleteItem")
            .map_err(self.fail("DeleteItem"))?;
        Ok(())
    }

    /// Moves a plan from `from` to `to` (a conditional update: of two invocations, one wins), recording
    /// `outcome`; `false` if the plan was not in `from`.
    pub async fn move_plan(
        &self,
        plan: &Plan,
        from: PlanState,
        to: PlanState,
        outcome: Option<&str>,
    ) -> Result<bool, LedgerError> {
        let mut moved = plan.clone();
        moved.state = to;
        moved.outcome = outcome.map(str::to_owned);
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("plans"))
            .key("sk", s(&plan.id))
            .update_expression("SET #state = :to, #plan = :plan")
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_values(":to", s(plan_state(to)))
            .expression_attribute_values(":from", s(plan_state(from)))
            .expression_attribute_values(":plan", s(serde_json::to_string(&moved).unwrap_or_default()))
            .send()
            .await
            .aws("UpdateItem");
        match updated {
            Ok(_) => Ok(true),
            Err(AwsError::Rejected { code, .. }) if code == "ConditionalCheckFailedException" => Ok(false),
            Err(err) => Err(self.fail("UpdateItem")(err)),
        }
    }
}

fn plan_state(state: PlanState) -> String {
    serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn plan_of(item: &Item) -> Result<Plan, LedgerError> {
    let mut plan: Plan = serde_json::from_str(text(item, "plan")?)
        .map_err(|e| LedgerError::Malformed { key: key_of(item), problem: format!("plan: {e}") })?;
    // NOTE: `state` is what conditional updates test; the JSON copy follows it.
    if let Some(state) = optional(item, "state").and_then(|s| serde_json::from_value(serde_json::json!(s)).ok()) {
        plan.state = state;
    }
    Ok(plan)
}
