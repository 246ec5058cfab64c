//! Cost anomalies as a second signal: a Cost Anomaly Detection alert in, the policy's anomaly rule
//! (`budgets.anomalies`, notify by default) carried out through the same action table as budget alerts.
//!
//! The alert is a claim. Before acting, the enforcer reads AWS's own record of it (`ce:GetAnomalies` for the
//! alert's monitor and dates, the anomaly found by id) and acts on the *verified* figures: the lower of the
//! claimed and the recorded impact, the recorded root causes and dimension. An anomaly that is not in the
//! record, belongs to another monitor, or whose recorded impact is below the rule's minimums is
//! [`EnforcementOutcome::UnverifiedAnomaly`]: it acts on nothing and one notice says why. Root causes that
//! are not Amazon SageMaker are skipped (nothing Tagwarden can act on).
//!
//! The scope comes from the rule, or from the monitor (`ce:GetAnomalyMonitors`): a custom monitor on a
//! cost-allocation tag names the tag value (`team=nlp`), a service monitor the whole account. The ledger
//! records the run under `anomaly:<monitor>` for the day it acted, so the tick undoes reversible actions the
//! next day and `tagwarden restore --budget anomaly:<monitor>` before that.
//!
//! Pure: [`verify_anomaly`], [`scope_from_monitor`], [`notice`]; the handler's part is
//! [`BudgetEnforcer::enforce_anomaly`].

use std::collections::BTreeMap;

use aws_sdk_costexplorer::types::{
    Anomaly, AnomalyDateInterval, AnomalyMonitor, Expression, MonitorDimension, MonitorType,
};
use serde::Serialize;
use tracing::warn;

use super::apply::{BudgetEnforcer, ledger_error};
use super::ledger::{self, Journal, PeriodKey};
use super::plan::EnforcementPlan;
use super::report::{ActionResult, Tally};
use super::scope::ResolvedScope;
use super::verify::{Period, PeriodUnit};
use super::{EnforceError, EnforcementOutcome, EnforcementReport};
use crate::aws::{AwsError, ResultExt};
use crate::date::Date;
use crate::event::budget::{AlertType, AnomalyAlert, AnomalyImpact, BudgetAlert, BudgetPeriod, RootCause};
use crate::notice::{self, Notice, Severity};
use crate::policy::{AnomalyRule, AnomalyScope, Scope};
use crate::telemetry::clip;

/// At most this many pages of `GetAnomalies` are read looking for one anomaly.
const MAX_PAGES: usize = 20;

/// What AWS's own record says of an anomaly, and what the enforcer acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedAnomaly {
    /// The anomaly's id.
    pub anomaly_id: String,
    /// The monitor that recorded it.
    pub monitor_arn: String,
    /// The recorded dimension value (a tag monitor's value, a service monitor's service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension_value: Option<String>,
    /// The impact acted on: each figure the lower of the claimed and the recorded one.
    pub impact: AnomalyImpact,
    /// The recorded total impact, USD.
    pub recorded_total_impact: f64,
    /// The claimed total impact, USD.
    pub claimed_total_impact: f64,
    /// The recorded root causes.
    pub root_causes: Vec<RootCause>,
    /// The anomaly's page in the console, built from the verified ids (never the message's link).
    pub details_link: String,
}

/// The name the ledger, the markers and the notices use for a monitor's anomalies: `anomaly:<monitor>`.
pub fn ledger_name(anomaly: &AnomalyAlert) -> String {
    format!("anomaly:{}", anomaly.monitor_label())
}

/// The interval `GetAnomalies` is asked for: from the claimed start to the later of the claimed end and
/// `today` (AWS filters on the anomaly's end date, which moves while an anomaly goes on).
pub fn date_interval(anomaly: &AnomalyAlert, today: Date) -> (Date, Date) {
    let end = anomaly.end_date.map_or(today, |end| end.max(today));
    (anomaly.start_date, end.max(anomaly.start_date))
}

/// Checks the claim against the record `GetAnomalies` returned (`None`: no anomaly of that id in the
/// monitor's record for the interval). `Err` is the reason nothing is done.
pub fn verify_anomaly(claim: &AnomalyAlert, found: Option<&Anomaly>) -> Result<VerifiedAnomaly, String> {
    let id = &claim.anomaly_id;
    let Some(record) = found else {
        return Err(format!(
            "anomaly {id:?} is not in the record of monitor {} (GetAnomalies from {}): the alert is forged or names \
             another monitor; acting on nothing",
            claim.monitor_arn, claim.start_date
        ));
    };
    if record.monitor_arn() != claim.monitor_arn {
        return Err(format!(
            "anomaly {id:?} was recorded by monitor {}, not {} as the alert claims; acting on nothing",
            record.monitor_arn(),
            claim.monitor_arn
        ));
    }
    let Some(recorded) = record.impact() else {
        return Err(format!("anomaly {id:?}: the record has no impact to compare with; acting on nothing"));
    };
    let lower = |claimed: Option<f64>, recorded: Option<f64>| match (claimed, recorded) {
        (Some(c), Some(r)) => Some(c.min(r)),
        (_, recorded) => recorded,
    };
    let claimed = &claim.impact;
    let impact = AnomalyImpact {
        total_impact: claimed.total_impact.min(recorded.total_impact()),
        max_impact: lower(claimed.max_impact, Some(recorded.max_impact())),
        total_actual_spend: lower(claimed.total_actual_spend, recorded.total_actual_spend()),
        total_expected_spend: recorded.total_expected_spend(),
        total_impact_percentage: lower(claimed.total_impact_percentage, recorded.total_impact_percentage()),
    };
    let root_causes = record
        .root_causes()
        .iter()
        .map(|c| RootCause {
            service: c.service().map(str::to_owned),
            region: c.region().map(str::to_owned),
            linked_account: c.linked_account().map(str::to_owned),
            linked_account_name: c.linked_account_name().map(str::to_owned),
            usage_type: c.usage_type().map(str::to_owned),
        })
        .collect();
    Ok(VerifiedAnomaly {
        anomaly_id: record.anomaly_id().to_owned(),
        monitor_arn: record.monitor_arn().to_owned(),
        dimension_value: record.dimension_value().map(str::to_owned),
        impact,
        recorded_total_impact: recorded.total_impact(),
        claimed_total_impact: claimed.total_impact,
        root_causes,
        details_link: console_link(record.monitor_arn(), record.anomaly_id()),
    })
}

/// `https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/<id>/anomalies/<id>`.
fn console_link(monitor_arn: &str, anomaly_id: &str) -> String {
    let monitor = monitor_arn.rsplit('/').next().unwrap_or_default();
    format!(
        "https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/{monitor}/anomalies/{anomaly_id}"
    )
}

/// The resources a monitor watches: a custom monitor's tag condition (`Tags {Key, Values}`, alone or inside
/// `And`) narrowed to the anomaly's value, or the whole account for a service monitor. `Err` says why the
/// monitor names neither (linked accounts, cost categories, several tag values and none recorded).
pub fn scope_from_monitor(monitor: &AnomalyMonitor, dimension_value: Option<&str>) -> Result<ResolvedScope, String> {
    let name = monitor.monitor_name();
    if *monitor.monitor_type() == MonitorType::Dimensional {
        return match monitor.monitor_dimension() {
            Some(MonitorDimension::Service) => Ok(ResolvedScope::Account),
            other => Err(format!(
                "monitor {name:?} watches the dimension {}: it names no tag value and not the account; set the anomaly rule's scope",
                other.map_or("(none)", |d| d.as_str())
            )),
        };
    }
    let Some((key, values)) = monitor.monitor_specification().and_then(tag_condition) else {
        return Err(format!(
            "monitor {name:?} is a custom monitor without a cost-allocation tag condition; set the anomaly rule's scope"
        ));
    };
    let key = key.strip_prefix("user:").unwrap_or(key).to_owned();
    let value = match (values, dimension_value) {
        ([only], _) => only.clone(),
        (values, Some(value)) if values.iter().any(|v| v == value) => value.to_owned(),
        (values, value) => {
            return Err(format!(
                "monitor {name:?} watches {key} = {} and the anomaly's recorded value is {}: which team spiked cannot be told; acting on nothing",
                values.join("|"),
                value.map_or("absent".to_owned(), |v| format!("{v:?}"))
            ));
        }
    };
    Ok(ResolvedScope::Tags(vec![vec![(key, vec![value])]]))
}

/// The tag condition of a monitor's specification: `Tags` itself, or the one `Tags` inside an `And`.
fn tag_condition(expression: &Expression) -> Option<(&str, &[String])> {
    if let Some(tags) = expression.tags() {
        return Some((tags.key()?, tags.values()));
    }
    let mut found = expression.and().iter().filter_map(|e| e.tags().and_then(|t| Some((t.key()?, t.values()))));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The resolved scope of an explicit rule scope (`None` for `from-monitor`).
fn explicit_scope(scope: &AnomalyScope) -> Option<ResolvedScope> {
    match scope {
        AnomalyScope::FromMonitor => None,
        AnomalyScope::Account => Some(ResolvedScope::Account),
        AnomalyScope::Tags(tags) => {
            Some(ResolvedScope::Tags(vec![tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()]))
        }
    }
}

/// The alert the action table runs with: named `anomaly:<monitor>` (the markers and the ledger's key),
/// the verified impact as its amount over the expected spend.
fn as_budget_alert(anomaly: &AnomalyAlert, verified: &VerifiedAnomaly) -> BudgetAlert {
    let expected = verified.impact.total_expected_spend.unwrap_or_default();
    BudgetAlert {
        budget_name: ledger_name(anomaly),
        budget_type: "Anomaly".into(),
        account_id: anomaly.account_id.clone(),
        alert_type: AlertType::Actual,
        budgeted_amount: expected,
        threshold: None,
        amount: expected + verified.impact.total_impact,
        unit: "USD".into(),
        period: BudgetPeriod::Daily,
        percent_of_budget: verified.impact.total_impact_percentage.unwrap_or_default(),
        topic_arn: anomaly.topic_arn.clone(),
    }
}

/// The notice of a verified anomaly: kind `anomaly`, the verified impact, the root causes, the console link,
/// what was done; routed by the scope's certain tags and the account.
pub fn notice(
    anomaly: &AnomalyAlert,
    verified: &VerifiedAnomaly,
    report: &EnforcementReport,
    routing: &crate::tagging::Tags,
) -> Notice {
    let acted = !report.plan.dry_run && report.plan.actions.iter().any(|a| !a.is_notice());
    let done = report.results.iter().filter(|r| r.result.is_done()).count();
    let impact = &verified.impact;
    let subject = format!(
        "Tagwarden: cost anomaly in {} - ${:.2} impact - {done} action(s) taken",
        anomaly.monitor_label(),
        impact.total_impact
    );
    let mut body = format!(
        "Cost anomaly {} of monitor {:?}, from {}{}: impact ${:.2} (verified; the alert claimed ${:.2}, AWS's record ${:.2})",
        verified.anomaly_id,
        anomaly.monitor_label(),
        anomaly.start_date,
        anomaly.end_date.map(|d| format!(" to {d}")).unwrap_or_default(),
        impact.total_impact,
        verified.claimed_total_impact,
        verified.recorded_total_impact,
    );
    if let (Some(actual), Some(expected)) = (impact.total_actual_spend, impact.total_expected_spend) {
        body.push_str(&format!(", ${actual:.2} spent where ${expected:.2} was expected"));
    }
    if let Some(percent) = impact.total_impact_percentage {
        body.push_str(&format!(" (+{percent:.2}%)"));
    }
    body.push_str(&format!(".\nScope: {}. Actions: {}.\n", report.scope, list(&report.plan.actions)));
    body.push_str("Root causes:\n");
    for cause in verified.root_causes.iter().take(10) {
        body.push_str(&format!("  {}\n", cause.describe()));
    }
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &report.results {
        *counts.entry((r.action.as_str(), r.result.label())).or_default() += 1;
    }
    for ((action, result), n) in &counts {
        body.push_str(&format!("  {action}: {n} {result}\n"));
    }
    body.push_str(&format!("Details: {}\n", verified.details_link));
    let severity = if acted { Severity::Critical } else { Severity::Warning };
    let mut notice = Notice::new("anomaly", severity, subject, body);
    notice.set(notice::BUDGET, Some(&report.alert.budget_name)).set(notice::ACCOUNT, anomaly.account_id.as_deref());
    notice.route_by_tags(routing);
    if acted {
        notice.step(format!("Undo what can be undone: `tagwarden restore --budget {:?}`", report.alert.budget_name));
    }
    notice.step(format!("Look at the anomaly's root causes in Cost Explorer: {}", verified.details_link));
    notice.resources = report.results.iter().map(|r| r.resource_arn.clone()).take(20).collect();
    notice.resources.dedup();
    notice.detail("anomaly", verified.anomaly_id.clone()).detail("monitor", verified.monitor_arn.clone());
    notice
}

/// The one notice an unverified anomaly sends: what it claimed, why it is not believed, that nothing was done.
pub fn unverified_notice(anomaly: &AnomalyAlert, reason: &str) -> Notice {
    let subject = format!("Tagwarden: UNVERIFIED cost anomaly in {} - nothing done", anomaly.monitor_label());
    let body = format!(
        "An alert claims cost anomaly {:?} of monitor {} with an impact of ${:.2}.\nNothing was stopped, deleted, \
         scaled or denied: {reason}.\nTopic: {}; account: {}.\n",
        anomaly.anomaly_id,
        anomaly.monitor_arn,
        anomaly.impact.total_impact,
        anomaly.topic_arn.as_deref().unwrap_or("(none)"),
        anomaly.account_id.as_deref().unwrap_or("(none)"),
    );
    let mut notice = Notice::new("unverified-alert", Severity::Warning, subject, body);
    notice.set(notice::BUDGET, Some(&ledger_name(anomaly))).set(notice::ACCOUNT, anomaly.account_id.as_deref());
    notice.step("Compare the alert with the monitor's anomalies in Cost Explorer; find who can publish to the topic");
    notice.detail("reason", reason.to_owned());
    notice
}

fn list(actions: &[crate::policy::Action]) -> String {
    actions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl BudgetEnforcer {
    /// Acts on one anomaly alert as the policy's anomaly rule says, after checking it against AWS's record
    /// (see the module). `trigger` is the SNS `MessageId` the ledger records the run under.
    pub async fn enforce_anomaly(
        &self,
        anomaly: AnomalyAlert,
        trigger: Option<&str>,
        force_dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let skipped = |reason: String| Ok(EnforcementOutcome::Skipped { reason, alert: None });
        let label = anomaly.monitor_label().to_owned();
        let Some(rule) = self.policy.budgets.anomaly_rule(&anomaly.monitor_arn, anomaly.monitor_name.as_deref()) else {
            return skipped(format!("no anomaly rule names monitor {label:?}"));
        };
        // NOTE: the alert's own claim first: one that asks for nothing needs no AWS call.
        if !anomaly.names_sagemaker() {
            return skipped(format!(
                "anomaly {:?} of monitor {label:?}: its root causes name no Amazon SageMaker ({}): nothing Tagwarden can act on",
                anomaly.anomaly_id,
                services(&anomaly.root_causes)
            ));
        }
        if let Some(why) = rule.below(anomaly.impact.total_impact, anomaly.impact.total_impact_percentage) {
            return skipped(format!("anomaly {:?} of monitor {label:?}: {why}", anomaly.anomaly_id));
        }
        let dry_run = force_dry_run || rule.dry_run.unwrap_or(self.policy.budgets.dry_run);
        let today = Date::today();
        let found = match self.find_anomaly(&anomaly, today).await {
            Ok(found) => found,
            Err(err) if err.is_retryable() => return Err(EnforceError::Retryable(err)),
            Err(err) => {
                let reason =
                    format!("cannot read the anomaly's record ({err}): it cannot be verified; acting on nothing");
                return self.unverified_anomaly(anomaly, reason, None, dry_run).await;
            }
        };
        let verified = match verify_anomaly(&anomaly, found.as_ref()) {
            Ok(verified) => verified,
            Err(reason) => return self.unverified_anomaly(anomaly, reason, None, dry_run).await,
        };
        let recorded = Some(verified.recorded_total_impact);
        if let Some(why) = rule.below(verified.impact.total_impact, verified.impact.total_impact_percentage) {
            let reason = format!(
                "by AWS's record, {why} (the alert claims ${:.2}); acting on nothing",
                anomaly.impact.total_impact
            );
            return self.unverified_anomaly(anomaly, reason, recorded, dry_run).await;
        }
        if !verified.root_causes.iter().any(RootCause::is_sagemaker) {
            let reason = format!(
                "AWS's record names no Amazon SageMaker root cause ({}) while the alert does; acting on nothing",
                services(&verified.root_causes)
            );
            return self.unverified_anomaly(anomaly, reason, recorded, dry_run).await;
        }
        let scope = match explicit_scope(&rule.scope) {
            Some(scope) => scope,
            None => match self.monitor_scope(&anomaly.monitor_arn, verified.dimension_value.as_deref()).await {
                Ok(Ok(scope)) => scope,
                Ok(Err(reason)) => return skipped(reason),
                Err(err) if err.is_retryable() => return Err(EnforceError::Retryable(err)),
                Err(err) => return skipped(format!("monitor {label:?}: cannot read it ({err}); acting on nothing")),
            },
        };
        self.act_on_anomaly(anomaly, verified, &rule, scope, trigger, dry_run, force_dry_run).await
    }

    /// Carries out the rule's actions on the resolved scope, records them and sends the `anomaly` notice.
    #[allow(clippy::too_many_arguments)]
    async fn act_on_anomaly(
        &self,
        anomaly: AnomalyAlert,
        verified: VerifiedAnomaly,
        rule: &AnomalyRule,
        scope: ResolvedScope,
        trigger: Option<&str>,
        dry_run: bool,
        force_dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        let alert = as_budget_alert(&anomaly, &verified);
        let budget_rule = rule.as_budget_rule(&alert.budget_name, Scope::Account);
        let plan = EnforcementPlan {
            rule: rule.monitor.clone(),
            step: 0.0,
            percent: alert.percent_of_budget,
            actions: rule.actions.clone(),
            dry_run,
            limited: None,
        };
        let today = Date::today();
        let period = Period { start: today, end: today.next_day(), unit: PeriodUnit::Daily };
        let period_key = PeriodKey { start: period.start.to_string(), end: period.end.to_string() };
        let trigger = trigger.unwrap_or("replay");
        // NOTE: a forced dry run (replay --dry-run) is a what-if, not a decision of the enforcer: not recorded.
        let journal = self
            .ledger
            .as_ref()
            .filter(|_| !force_dry_run)
            .map(|table| Journal::new(table, &alert.budget_name, period_key, trigger, plan.step));
        let journal = journal.as_ref();
        // NOTE: the central account (and in an organization its regions); fanning out to the root causes'
        // linked accounts is not done yet.
        let places = match &self.pool {
            None => vec![],
            Some(_) => self.places(&[]).await.map_err(EnforceError::Retryable)?,
        };
        let mut tally = Tally::default();
        self.act_everywhere(&budget_rule, &scope, &alert, &plan, journal, &[], places, &mut tally).await?;
        if let Some(journal) = journal {
            let entries = journal.entries(&tally.results, plan.dry_run, ledger::now());
            journal.table.record(&entries).await.map_err(ledger_error)?;
        }
        let mut report = EnforcementReport {
            alert,
            plan,
            scope: format!("{} (from {})", scope.describe(false), scope_origin(&rule.scope)),
            budget_percent: None,
            period: Some(period),
            results: tally.results,
            notified: false,
            anomaly: None,
            throttled: tally.throttled,
        };
        if report.plan.actions.iter().any(|a| a.is_notice()) && !report.plan.dry_run {
            let notice = notice(&anomaly, &verified, &report, &scope.certain_tags());
            report.notified = self.publish(&notice).await.map_err(|err| retryable(err, &report.results))?;
        }
        report.anomaly = Some(Box::new(verified));
        Ok(EnforcementOutcome::of_report(report))
    }

    /// The anomaly of the alert's id in its monitor's record (`GetAnomalies`, paged), or `None`.
    async fn find_anomaly(&self, anomaly: &AnomalyAlert, today: Date) -> Result<Option<Anomaly>, AwsError> {
        let (start, end) = date_interval(anomaly, today);
        let interval =
            AnomalyDateInterval::builder().start_date(start.to_string()).end_date(end.to_string()).build().map_err(
                |e| AwsError::Rejected { operation: "GetAnomalies", code: "Build".into(), message: e.to_string() },
            )?;
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .clients
                .costexplorer
                .get_anomalies()
                .monitor_arn(&anomaly.monitor_arn)
                .date_interval(interval.clone())
                .set_next_page_token(token.take())
                .send()
                .await
                .aws("GetAnomalies")?;
            if let Some(found) = page.anomalies().iter().find(|a| a.anomaly_id() == anomaly.anomaly_id) {
                return Ok(Some(found.clone()));
            }
            match page.next_page_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_owned()),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The monitor's scope (`GetAnomalyMonitors`); the inner `Err` is why it names none.
    async fn monitor_scope(
        &self,
        monitor_arn: &str,
        dimension_value: Option<&str>,
    ) -> Result<Result<ResolvedScope, String>, AwsError> {
        let out = self
            .clients
            .costexplorer
            .get_anomaly_monitors()
            .monitor_arn_list(monitor_arn)
            .send()
            .await
            .aws("GetAnomalyMonitors");
        let out = match out {
            Ok(out) => out,
            Err(err) if err.is_not_found() => {
                return Ok(Err(format!("monitor {monitor_arn} does not exist; acting on nothing")));
            }
            Err(err) => return Err(err),
        };
        Ok(match out.anomaly_monitors().iter().find(|m| m.monitor_arn() == Some(monitor_arn)) {
            Some(monitor) => scope_from_monitor(monitor, dimension_value),
            None => Err(format!("monitor {monitor_arn} does not exist; acting on nothing")),
        })
    }

    /// An anomaly AWS's record does not confirm: nothing is done, one notice says why (none under a dry run).
    async fn unverified_anomaly(
        &self,
        anomaly: AnomalyAlert,
        reason: String,
        recorded_impact: Option<f64>,
        dry_run: bool,
    ) -> Result<EnforcementOutcome, EnforceError> {
        warn!(anomaly = %clip(&anomaly.anomaly_id), reason = %clip(&reason), "unverified anomaly; nothing done");
        let notified = if dry_run {
            false
        } else {
            self.publish(&unverified_notice(&anomaly, &reason)).await.map_err(EnforceError::Retryable)?
        };
        Ok(EnforcementOutcome::UnverifiedAnomaly {
            reason,
            claimed_impact: anomaly.impact.total_impact,
            recorded_impact,
            anomaly: Box::new(anomaly),
            notified,
        })
    }
}

/// A retryable failure after the actions: the results go with it.
fn retryable(err: AwsError, results: &[ActionResult]) -> EnforceError {
    EnforceError::retryable(err, results.to_vec())
}

/// `Amazon EC2, AWS Lambda` (the distinct services of the root causes), or `none named`.
fn services(causes: &[RootCause]) -> String {
    let mut names: Vec<&str> = causes.iter().filter_map(|c| c.service.as_deref()).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() { "none named".into() } else { names.join(", ") }
}

fn scope_origin(scope: &AnomalyScope) -> &'static str {
    match scope {
        AnomalyScope::FromMonitor => "the anomaly monitor",
        AnomalyScope::Account | AnomalyScope::Tags(_) => "the anomaly rule",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_costexplorer::types::{Impact, TagValues};
    use serde_json::json;

    const MONITOR: &str = "arn:aws:ce::123456789012:anomalymonitor/abcdef12";

    fn claim(total: f64) -> AnomalyAlert {
        crate::event::budget::parse_anomaly(&json!({
            "anomalyId": "an-1", "monitorArn": MONITOR, "monitorName": "ml-team-spend",
            "anomalyStartDate": "2026-11-20T00:00:00Z", "anomalyEndDate": "2026-11-21T00:00:00Z",
            "impact": {"totalImpact": total, "totalImpactPercentage": 250.0, "totalActualSpend": total + 40.0, "totalExpectedSpend": 40.0},
            "rootCauses": [{"service": "Amazon SageMaker", "region": "us-east-1"}],
        }))
        .unwrap()
    }

    fn record(total: f64, monitor: &str, service: &str) -> Anomaly {
        Anomaly::builder()
            .anomaly_id("an-1")
            .monitor_arn(monitor)
            .dimension_value("nlp")
            .anomaly_score(
                aws_sdk_costexplorer::types::AnomalyScore::builder().max_score(0.9).current_score(0.9).build(),
            )
            .impact(
                Impact::builder()
                    .max_impact(total)
                    .total_impact(total)
                    .total_impact_percentage(120.0)
                    .total_expected_spend(40.0)
                    .build(),
            )
            .root_causes(aws_sdk_costexplorer::types::RootCause::builder().service(service).region("us-east-1").build())
            .build()
            .unwrap()
    }

    fn monitor(
        kind: MonitorType,
        dimension: Option<MonitorDimension>,
        tags: Option<(&str, &[&str])>,
    ) -> AnomalyMonitor {
        let mut builder =
            AnomalyMonitor::builder().monitor_arn(MONITOR).monitor_name("ml-team-spend").monitor_type(kind);
        if let Some(dimension) = dimension {
            builder = builder.monitor_dimension(dimension);
        }
        if let Some((key, values)) = tags {
            let tags = TagValues::builder()
                .key(key)
                .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
                .build();
            builder = builder.monitor_specification(Expression::builder().tags(tags).build());
        }
        builder.build().unwrap()
    }

    #[test]
    fn a_forged_anomaly_id_verifies_nothing() {
        let why = verify_anomaly(&claim(500.0), None).unwrap_err();
        assert!(why.contains("\"an-1\" is not in the record of monitor") && why.contains("acting on nothing"), "{why}");
    }

    #[test]
    fn an_anomaly_recorded_by_another_monitor_verifies_nothing() {
        let other = "arn:aws:ce::123456789012:anomalymonitor/other";
        let why = verify_anomaly(&claim(500.0), Some(&record(500.0, other, "Amazon SageMaker"))).unwrap_err();
        assert!(why.contains("was recorded by monitor arn:aws:ce::123456789012:anomalymonitor/other"), "{why}");
    }

    #[test]
    fn the_lower_of_the_claimed_and_the_recorded_impact_is_acted_on() {
        let verified = verify_anomaly(&claim(5000.0), Some(&record(150.0, MONITOR, "Amazon SageMaker"))).unwrap();
        assert_eq!(
            (verified.impact.total_impact, verified.claimed_total_impact, verified.recorded_total_impact),
            (150.0, 5000.0, 150.0)
        );
        assert_eq!(verified.impact.total_impact_percentage, Some(120.0), "the lower percentage too");
        let verified = verify_anomaly(&claim(100.0), Some(&record(150.0, MONITOR, "Amazon SageMaker"))).unwrap();
        assert_eq!(verified.impact.total_impact, 100.0);
        assert_eq!(verified.dimension_value.as_deref(), Some("nlp"));
        assert_eq!(verified.root_causes[0].service.as_deref(), Some("Amazon SageMaker"));
        assert_eq!(
            verified.details_link,
            "https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/abcdef12/anomalies/an-1"
        );
    }

    #[test]
    fn the_interval_asked_for_reaches_today_so_a_growing_anomaly_is_found() {
        let today = Date::parse("2026-11-25").unwrap();
        let (start, end) = date_interval(&claim(1.0), today);
        assert_eq!((start.to_string(), end.to_string()), ("2026-11-20".into(), "2026-11-25".into()));
    }

    #[test]
    fn a_tag_monitor_names_the_anomalys_value_and_a_service_monitor_the_account() {
        let one = monitor(MonitorType::Custom, None, Some(("team", &["nlp"])));
        assert_eq!(
            scope_from_monitor(&one, None),
            Ok(ResolvedScope::Tags(vec![vec![("team".into(), vec!["nlp".into()])]]))
        );
        let several = monitor(MonitorType::Custom, None, Some(("user:team", &["cv", "nlp"])));
        assert_eq!(
            scope_from_monitor(&several, Some("nlp")),
            Ok(ResolvedScope::Tags(vec![vec![("team".into(), vec!["nlp".into()])]]))
        );
        let why = scope_from_monitor(&several, Some("finance")).unwrap_err();
        assert!(why.contains("which team spiked cannot be told"), "{why}");
        let service = monitor(MonitorType::Dimensional, Some(MonitorDimension::Service), None);
        assert_eq!(scope_from_monitor(&service, None), Ok(ResolvedScope::Account));
    }

    #[test]
    fn monitors_that_name_neither_a_tag_value_nor_the_account_give_no_scope() {
        let accounts = monitor(MonitorType::Dimensional, Some(MonitorDimension::LinkedAccount), None);
        assert!(scope_from_monitor(&accounts, None).unwrap_err().contains("LINKED_ACCOUNT"));
        let custom = monitor(MonitorType::Custom, None, None);
        assert!(scope_from_monitor(&custom, None).unwrap_err().contains("without a cost-allocation tag condition"));
    }

    #[test]
    fn the_anomaly_notice_carries_the_verified_impact_root_causes_link_and_routing() {
        let anomaly = claim(5000.0);
        let verified = verify_anomaly(&anomaly, Some(&record(150.0, MONITOR, "Amazon SageMaker"))).unwrap();
        let alert = as_budget_alert(&anomaly, &verified);
        let report = EnforcementReport {
            plan: EnforcementPlan {
                rule: "ml-*".into(),
                step: 0.0,
                percent: 0.0,
                actions: vec![crate::policy::Action::Notify],
                dry_run: false,
                limited: None,
            },
            alert,
            scope: "team=nlp (from the anomaly monitor)".into(),
            budget_percent: None,
            period: None,
            results: vec![],
            notified: false,
            anomaly: None,
            throttled: 0,
        };
        let routing: crate::tagging::Tags = [("team".to_owned(), "nlp".to_owned())].into_iter().collect();
        let notice = notice(&anomaly, &verified, &report, &routing);
        assert_eq!(notice.attributes()["kind"], "anomaly");
        assert_eq!(notice.attributes()["team"], "nlp");
        assert_eq!(notice.attributes()["budget"], "anomaly:ml-team-spend");
        assert!(
            notice.description.contains("impact $150.00 (verified; the alert claimed $5000.00"),
            "{}",
            notice.description
        );
        assert!(notice.description.contains("Amazon SageMaker in us-east-1"), "{}", notice.description);
        assert!(notice.description.contains("anomaly-detection/monitors/abcdef12/anomalies/an-1"));
        let unverified = unverified_notice(&anomaly, "forged");
        assert_eq!(unverified.attributes()["kind"], "unverified-alert");
        assert!(unverified.subject.contains("UNVERIFIED cost anomaly in ml-team-spend"));
    }
}

#[cfg(test)]
mod mocked {
    use std::sync::Arc;

    use aws_sdk_costexplorer::operation::get_anomalies::GetAnomaliesOutput;
    use aws_sdk_sns::operation::publish::PublishOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use serde_json::{Value, json};

    use crate::aws::Clients;
    use crate::enforce::{BudgetEnforcer, EnforcementOutcome};
    use crate::policy::Policy;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts";
    const POLICY: &str = "tags:\n  keys:\n    team: {}\nbudgets:\n  notify_topic_arn: arn:aws:sns:us-east-1:123456789012:tagwarden-enforcement\n";

    fn alert() -> Value {
        let message = json!({"anomalyId": "an-1", "monitorArn": "arn:aws:ce::123456789012:anomalymonitor/m-1",
            "monitorName": "team-nlp", "anomalyStartDate": "2026-11-30", "impact": {"totalImpact": 500},
            "rootCauses": [{"service": "Amazon SageMaker"}]});
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"TopicArn": TOPIC, "Message": message.to_string()}}]})
    }

    fn error(code: &str) -> HttpResponse {
        let body = json!({"__type": code, "Message": "from the mock"}).to_string();
        HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
    }

    /// An enforcer whose only answering services are Cost Explorer and SNS: any other call panics.
    fn enforcer(costexplorer: &[&Rule], sns: &[&Rule]) -> BudgetEnforcer {
        let empty = std::iter::empty::<&Rule>;
        let no_retry = |c: aws_sdk_costexplorer::config::Builder| {
            c.retry_config(aws_sdk_costexplorer::config::retry::RetryConfig::disabled())
        };
        let clients = Clients {
            sagemaker: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, empty()).into(),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, empty()).into(),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns.iter().copied()).into(),
            tagging: mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, empty()).into(),
            budgets: mock_client!(aws_sdk_budgets, RuleMode::MatchAny, empty()).into(),
            sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, empty()).into(),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, empty()).into(),
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, empty()).into(),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, empty()).into(),
            costexplorer: mock_client!(
                aws_sdk_costexplorer,
                RuleMode::MatchAny,
                costexplorer.iter().copied(),
                no_retry
            )
            .into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, empty()).into(),
        };
        BudgetEnforcer::new(clients, Arc::new(Policy::from_yaml(POLICY, "test").unwrap()))
    }

    #[tokio::test]
    async fn a_throttled_get_anomalies_makes_the_alert_retryable() {
        let throttled =
            mock!(aws_sdk_costexplorer::Client::get_anomalies).then_http_response(|| error("ThrottlingException"));
        let err = enforcer(&[&throttled], &[]).handle(&alert(), false).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "Tagwarden.Retryable.Throttled");
    }

    #[tokio::test]
    async fn a_refused_get_anomalies_is_unverified_with_one_notice_and_no_retry() {
        let denied =
            mock!(aws_sdk_costexplorer::Client::get_anomalies).then_http_response(|| error("AccessDeniedException"));
        let notice =
            mock!(aws_sdk_sns::Client::publish).then_output(|| PublishOutput::builder().message_id("m").build());
        let outcome = enforcer(&[&denied], &[&notice]).handle_lambda(&alert()).await.unwrap();
        let EnforcementOutcome::UnverifiedAnomaly { reason, notified, .. } = &outcome else {
            panic!("expected unverified, got {outcome:?}")
        };
        assert!(reason.contains("cannot read the anomaly's record") && *notified, "{reason}");
        assert_eq!((denied.num_calls(), notice.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn every_page_is_read_before_an_anomaly_is_called_missing() {
        let pages = mock!(aws_sdk_costexplorer::Client::get_anomalies)
            .sequence()
            .output(|| GetAnomaliesOutput::builder().set_anomalies(Some(vec![])).next_page_token("2").build().unwrap())
            .output(|| GetAnomaliesOutput::builder().set_anomalies(Some(vec![])).build().unwrap())
            .build();
        let notice =
            mock!(aws_sdk_sns::Client::publish).then_output(|| PublishOutput::builder().message_id("m").build());
        let outcome = enforcer(&[&pages], &[&notice]).handle(&alert(), false).await.unwrap();
        assert_eq!(outcome.label(), "unverified", "{outcome:?}");
        assert_eq!(pages.num_calls(), 2, "both pages were read before calling it unverified");
    }
}
