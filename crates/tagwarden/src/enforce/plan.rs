//! The pure enforcement decisions: which rule and step an alert reaches, and which of the resources found
//! in scope an action touches. No I/O here.

use serde::Serialize;

use super::report::{ActionResult, ResultKind};
use crate::event::budget::{AlertType, BudgetAlert};
use crate::policy::exemptions::judge;
use crate::policy::{Action, BudgetPolicy, Day, Exemption, ForecastedMode, Judgement};
use crate::tagging::Tags;

/// What an alert calls for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnforcementPlan {
    /// The matching rule's `budget` pattern.
    pub rule: String,
    /// The step reached, in percent of the budgeted amount.
    pub step: f64,
    /// The percentage the step was chosen from: the alert's, or after verification the lower of the alert's
    /// and the budget's own figure.
    pub percent: f64,
    /// The actions to take, in order (cumulative over the ladder).
    pub actions: Vec<Action>,
    /// Decide and report only.
    pub dry_run: bool,
    /// Set when a FORECASTED alert was limited to `notify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limited: Option<String>,
}

/// Decides the rule, step and actions for an alert at its own figure; `Err` is the reason to do nothing.
pub fn plan_enforcement(
    alert: &BudgetAlert,
    policy: &BudgetPolicy,
    force_dry_run: bool,
) -> Result<EnforcementPlan, String> {
    plan_at(alert, alert.percent_of_budget, policy, force_dry_run)
}

/// [`plan_enforcement`] with the step chosen from `percent` (the verified figure, see
/// [`verify`](super::verify)) instead of the alert's own.
pub fn plan_at(
    alert: &BudgetAlert,
    percent: f64,
    policy: &BudgetPolicy,
    force_dry_run: bool,
) -> Result<EnforcementPlan, String> {
    let Some(rule) = policy.rule_for(&alert.budget_name) else {
        return Err(format!("no budget rule matches budget {:?}", alert.budget_name));
    };
    let Some((step, mut actions)) = rule.step_for(percent) else {
        let first = rule.steps.first().map(|s| s.at).unwrap_or_default();
        return Err(format!(
            "budget {:?} is at {percent}% of its budgeted amount, below the rule's first step ({first}%)",
            alert.budget_name
        ));
    };
    let mut limited = None;
    if alert.alert_type == AlertType::Forecasted && rule.forecasted == ForecastedMode::Notify {
        if actions.iter().any(|a| !a.is_notice()) {
            limited = Some("FORECASTED alert: notify only (rule says forecasted: notify)".to_owned());
        }
        // NOTE: `notify-storage` only tells, so a notify-only alert keeps it.
        let storage = actions.contains(&Action::NotifyStorage);
        actions = vec![Action::Notify];
        if storage {
            actions.push(Action::NotifyStorage);
        }
    }
    Ok(EnforcementPlan {
        rule: rule.budget.clone(),
        step,
        percent,
        actions,
        dry_run: force_dry_run || rule.dry_run.unwrap_or(policy.dry_run),
        limited,
    })
}

/// A resource found in scope, with what an action needs to decide about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The resource's ARN.
    pub arn: String,
    /// Its tags (informational: tags never exempt a resource).
    pub tags: Tags,
    /// Whether it is in the state the action changes (InService, InProgress, …).
    pub active: bool,
}

/// Which candidates to act on, and the results already known for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Act on these, in ARN order.
    pub targets: Vec<Candidate>,
    /// Exempt, already in the target state, or over the safety cap.
    pub settled: Vec<ActionResult>,
}

/// Splits candidates into targets and settled results: exempt by the policy first (the result names the
/// exemption's reason), then inactive (`inactive_result`, e.g. [`ResultKind::AlreadyStopped`]), then the
/// safety cap over what is left. A candidate's own tags never exempt it; an expired exemption is reported
/// ([`ResultKind::ExemptionExpired`]) and the candidate is selected as if it had none.
pub fn select(
    action: &str,
    candidates: Vec<Candidate>,
    exemptions: &[Exemption],
    today: &Day,
    inactive_result: ResultKind,
    cap: usize,
) -> Selection {
    select_within(action, candidates, exemptions, today, inactive_result, cap, 0)
}

/// [`select`] when `used` targets of this action were already selected elsewhere (other accounts and
/// regions of one alert): the cap counts them too, so it bounds one alert's action across the organization.
pub fn select_within(
    action: &str,
    mut candidates: Vec<Candidate>,
    exemptions: &[Exemption],
    today: &Day,
    inactive_result: ResultKind,
    cap: usize,
    used: usize,
) -> Selection {
    candidates.sort_by(|a, b| a.arn.cmp(&b.arn));
    candidates.dedup_by(|a, b| a.arn == b.arn);
    let mut selection = Selection::default();
    for candidate in candidates {
        match judge(exemptions, &candidate.arn, today) {
            Judgement::Honoured(exemption) => {
                let reason = exemption.reason.clone();
                selection.settled.push(ActionResult::new(action, &candidate.arn, ResultKind::Exempt { reason }));
                continue;
            }
            Judgement::Expired(exemption) => {
                let detail = exemption.expiry_text();
                let expired = ResultKind::ExemptionExpired { detail };
                selection.settled.push(ActionResult::new(action, &candidate.arn, expired));
            }
            Judgement::None => {}
        }
        if !candidate.active {
            selection.settled.push(ActionResult::new(action, &candidate.arn, inactive_result.clone()));
        } else if used + selection.targets.len() >= cap {
            selection.settled.push(ActionResult::new(action, &candidate.arn, ResultKind::Capped { cap }));
        } else {
            selection.targets.push(candidate);
        }
    }
    selection
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::budget::{BudgetPeriod, Threshold, ThresholdKind};
    use crate::policy::Policy;

    fn alert(percent: f64, alert_type: AlertType) -> BudgetAlert {
        BudgetAlert {
            budget_name: "ml-marketing".into(),
            budget_type: "Cost".into(),
            account_id: Some("123456789012".into()),
            alert_type,
            budgeted_amount: 1000.0,
            threshold: Some(Threshold { value: 100.0, kind: ThresholdKind::Percentage }),
            amount: percent * 10.0,
            unit: "USD".into(),
            period: BudgetPeriod::Monthly,
            percent_of_budget: percent,
            topic_arn: None,
        }
    }

    fn policy() -> BudgetPolicy {
        Policy::example().unwrap().budgets
    }

    #[test]
    fn an_actual_alert_over_100_percent_stops_things_and_notifies() {
        let plan = plan_enforcement(&alert(105.0, AlertType::Actual), &policy(), false).unwrap();
        assert_eq!(plan.rule, "ml-*");
        assert_eq!(plan.step, 100.0);
        assert!(plan.actions.contains(&Action::StopNotebooks));
        assert!(!plan.actions.contains(&Action::DenyIam));
        assert!(!plan.dry_run);
    }

    #[test]
    fn a_forecasted_alert_only_notifies_by_default() {
        let plan = plan_enforcement(&alert(130.0, AlertType::Forecasted), &policy(), false).unwrap();
        assert_eq!(plan.actions, [Action::Notify, Action::NotifyStorage], "only the notices of the steps reached");
        assert!(plan.limited.is_some());
    }

    #[test]
    fn below_the_first_step_or_without_a_rule_nothing_is_done_and_the_reason_names_the_budget() {
        let low = plan_enforcement(&alert(50.0, AlertType::Actual), &policy(), false).unwrap_err();
        assert!(low.contains("ml-marketing") && low.contains("80"), "{low}");
        let mut other = alert(150.0, AlertType::Actual);
        other.budget_name = "finance".into();
        let none = plan_enforcement(&other, &policy(), false).unwrap_err();
        assert!(none.contains("\"finance\""), "{none}");
    }

    #[test]
    fn the_step_comes_from_the_verified_percent_when_one_is_given() {
        let plan = plan_at(&alert(125.0, AlertType::Actual), 105.0, &policy(), false).unwrap();
        assert_eq!((plan.step, plan.percent), (100.0, 105.0));
        assert!(!plan.actions.contains(&Action::DenyIam));
        assert!(plan_at(&alert(125.0, AlertType::Actual), 10.0, &policy(), false).unwrap_err().contains("10%"));
    }

    #[test]
    fn dry_run_can_be_forced() {
        assert!(plan_enforcement(&alert(125.0, AlertType::Actual), &policy(), true).unwrap().dry_run);
    }

    fn candidate(arn: &str, active: bool, self_tagged: bool) -> Candidate {
        let mut tags = Tags::new();
        if self_tagged {
            tags.insert("tagwarden:exempt".into(), "true".into());
        }
        Candidate { arn: arn.into(), tags, active }
    }

    fn exemptions(yaml: &str) -> Vec<Exemption> {
        serde_norway::from_str(yaml).unwrap()
    }

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn selection_spares_exempt_and_inactive_resources_and_obeys_the_cap() {
        let exempt = exemptions("[{resource: 'arn:a', reason: INC-1}]");
        let candidates = vec![
            candidate("arn:d", true, false),
            candidate("arn:a", true, false),
            candidate("arn:b", false, false),
            candidate("arn:c", true, false),
            candidate("arn:e", true, false),
            candidate("arn:c", true, false),
        ];
        let today = day("2026-12-01");
        let selection = select("stop-notebooks", candidates, &exempt, &today, ResultKind::AlreadyStopped, 2);
        let targets: Vec<_> = selection.targets.iter().map(|c| c.arn.as_str()).collect();
        assert_eq!(targets, ["arn:c", "arn:d"]);
        let settled: Vec<_> = selection.settled.iter().map(|r| (r.resource_arn.as_str(), r.result.label())).collect();
        assert_eq!(settled, [("arn:a", "exempt"), ("arn:b", "already-stopped"), ("arn:e", "capped")]);
        assert_eq!(selection.settled[0].result.to_string(), "exempt: INC-1");
    }

    #[test]
    fn a_self_tagged_resource_is_not_exempt() {
        let arn = "arn:aws:sagemaker:us-east-1:1:notebook-instance/nb";
        let today = day("2026-12-01");
        let selection =
            select("stop-notebooks", vec![candidate(arn, true, true)], &[], &today, ResultKind::AlreadyStopped, 9);
        assert_eq!(selection.targets.len(), 1);
        assert!(selection.settled.is_empty());
    }

    #[test]
    fn an_expired_exemption_is_reported_and_the_resource_is_selected_as_if_it_had_none() {
        let arn = "arn:aws:sagemaker:us-east-1:1:notebook-instance/prod-1";
        let exempt = exemptions("[{resource: 'prod-*', reason: INC-7, expires: 2026-11-30}]");
        let on_the_day = select(
            "stop-notebooks",
            vec![candidate(arn, true, false)],
            &exempt,
            &day("2026-11-30"),
            ResultKind::AlreadyStopped,
            9,
        );
        assert!(on_the_day.targets.is_empty(), "it holds through its expiry day");
        let after = select(
            "stop-notebooks",
            vec![candidate(arn, true, false)],
            &exempt,
            &day("2026-12-01"),
            ResultKind::AlreadyStopped,
            9,
        );
        assert_eq!(after.targets.len(), 1);
        assert_eq!(after.settled.len(), 1);
        assert_eq!(after.settled[0].result.to_string(), "exemption-expired: exemption expired 2026-11-30: INC-7");
    }

    #[test]
    fn the_cap_counts_targets_already_selected_in_other_accounts() {
        let candidates = vec![candidate("arn:a", true, false), candidate("arn:b", true, false)];
        let today = day("2026-12-01");
        let selection = select_within("stop-notebooks", candidates, &[], &today, ResultKind::AlreadyStopped, 3, 2);
        assert_eq!(selection.targets.len(), 1);
        assert!(selection.settled[0].result.to_string().starts_with("capped: safety cap of 3"));
    }
}
