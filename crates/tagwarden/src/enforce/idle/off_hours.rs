//! `idle.off_hours`: at the first tick at or after `stop_at` (the rule's local time, on a listed weekday)
//! the notebooks (`stop-notebooks`) and Studio apps (`delete-studio-apps`) in scope are stopped, once per
//! local day (the ledger's `off-hours#<day>` claim, `off-hours#<day>#<account>#<region>` for one place of
//! an organization: a notebook a person starts again that evening stays up). At `start_at`, the notebooks
//! this rule stopped and nobody restored (its open undo items of earlier days, in the run's place) are
//! started again, and no other.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use tracing::info;

use super::{IdleReport, Where};
use crate::aws::{AwsError, ResultExt};
use crate::enforce::EnforceError;
use crate::enforce::apply::{BudgetEnforcer, ledger_error};
use crate::enforce::ledger::{self, Before, Entry, Place, Undo};
use crate::enforce::report::{ActionResult, ResultKind};
use crate::notice::{self, Notice, Severity};
use crate::policy::idle::off_hours::{OffHoursResource, OffHoursRule};
use crate::policy::{Action, EndpointAction};

/// What an off-hours rule is due to do at a moment. (Pure: [`decide`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Stop what is in scope, for this local day.
    Stop {
        /// The local day.
        day: NaiveDate,
    },
    /// Start the notebooks the rule stopped before this local day.
    Start {
        /// The local day.
        day: NaiveDate,
    },
    /// Working hours, or a day the rule does not list.
    Nothing,
}

/// What the rule is due to do at `now`, in its own time zone: `Stop` from `stop_at` (until `start_at` when
/// that comes later the same day), `Start` from `start_at` until `stop_at`, on listed weekdays only.
/// Comparing clock times makes a `stop_at` that a DST jump skips fall due at the first tick after it.
pub fn decide(rule: &OffHoursRule, now: DateTime<Utc>) -> Due {
    let local = now.with_timezone(&rule.time_zone);
    let (day, time) = (local.date_naive(), local.time());
    if !rule.weekdays.contains(&local.weekday()) {
        return Due::Nothing;
    }
    if in_window(time, rule.stop_at, rule.start_at) {
        return Due::Stop { day };
    }
    match rule.start_at {
        Some(start) if in_window(time, start, Some(rule.stop_at)) => Due::Start { day },
        _ => Due::Nothing,
    }
}

/// Whether `time` is at or after `from` and, when `until` comes later that day, before it.
fn in_window(time: NaiveTime, from: NaiveTime, until: Option<NaiveTime>) -> bool {
    time >= from && until.is_none_or(|until| until <= from || time < until)
}

/// What an off-hours rule decided at a tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OffHoursDecision {
    /// The rule.
    pub rule: String,
    /// The tick's local time in the rule's zone (`2026-12-08 20:10 CET`).
    pub local_time: String,
    /// What was due: `stop <local day>`, `start <local day>` or `nothing`.
    pub due: String,
    /// What the tick did about it (`stopped`, `stopped already on <day>`, `started`, `nothing`).
    pub done: String,
}

impl BudgetEnforcer {
    /// Runs one off-hours rule at `now` in `here` (see the module).
    pub(super) async fn off_hours(
        &self,
        rule: &OffHoursRule,
        now: DateTime<Utc>,
        force_dry_run: bool,
        here: &Where,
        report: &mut IdleReport,
    ) -> Result<(), EnforceError> {
        let name = rule.ledger_name();
        let dry_run = force_dry_run || rule.dry_run.unwrap_or(self.policy.budgets.dry_run);
        let due = decide(rule, now);
        let local_time = now.with_timezone(&rule.time_zone).format("%Y-%m-%d %H:%M %Z").to_string();
        let done = match due {
            Due::Nothing => "nothing".to_owned(),
            Due::Stop { day } => self.stop_off_hours(rule, day, now, (dry_run, force_dry_run), here, report).await?,
            Due::Start { day } => self.start_after_hours(rule, day, dry_run, here, report).await?,
        };
        let due = match due {
            Due::Stop { day } => format!("stop {day}"),
            Due::Start { day } => format!("start {day}"),
            Due::Nothing => "nothing".to_owned(),
        };
        report.off_hours.push(OffHoursDecision { rule: name, local_time, due, done });
        Ok(())
    }

    /// The evening's stop, once per local day (and place); `dry` is (the rule's dry run, the forced one).
    async fn stop_off_hours(
        &self,
        rule: &OffHoursRule,
        day: NaiveDate,
        now: DateTime<Utc>,
        (dry_run, force_dry_run): (bool, bool),
        here: &Where,
        report: &mut IdleReport,
    ) -> Result<String, EnforceError> {
        let name = rule.ledger_name();
        let ledger = self.ledger()?;
        let key = day.to_string();
        let claim = here.day_key(day);
        if !dry_run && !ledger.claim_off_hours(&name, &claim, now).await.map_err(ledger_error)? {
            return Ok(format!("stopped already on {key}"));
        }
        let actions: Vec<Action> = rule
            .resources
            .iter()
            .map(|r| match r {
                OffHoursResource::Notebooks => Action::StopNotebooks,
                OffHoursResource::StudioApps => Action::DeleteStudioApps,
            })
            .collect();
        let acted = self
            .act_idle(here, &name, actions, EndpointAction::ScaleTo(1), &rule.scope, None, day, dry_run, !force_dry_run)
            .await;
        let results = match acted {
            Ok(results) => results,
            Err(err) => {
                if !dry_run {
                    // NOTE: the next tick tries again (what was stopped is stopped; it is not stopped twice).
                    ledger.release_off_hours(&name, &claim).await.map_err(ledger_error)?;
                }
                return Err(err);
            }
        };
        let done = results.iter().filter(|r| r.result.is_done()).count();
        info!(rule = %name, day = %key, done, dry_run, "off-hours stop");
        if done > 0 && !dry_run {
            let notice = stop_notice(rule, &key, &results);
            if self.publish(&notice).await.map_err(EnforceError::Retryable)? {
                report.notices += 1;
            }
        }
        report.results.extend(results);
        Ok(if dry_run { format!("would stop ({key})") } else { format!("stopped ({key}): {done} done") })
    }

    /// The morning's start: the notebooks this rule stopped on earlier days in `here` and nobody restored.
    async fn start_after_hours(
        &self,
        rule: &OffHoursRule,
        day: NaiveDate,
        dry_run: bool,
        here: &Where,
        report: &mut IdleReport,
    ) -> Result<String, EnforceError> {
        let name = rule.ledger_name();
        let ledger = self.ledger()?;
        let today = day.to_string();
        let stopped: Vec<Undo> = ledger
            .undos(&name)
            .await
            .map_err(ledger_error)?
            .into_iter()
            .filter(|u| u.action == Action::StopNotebooks.to_string() && u.period.start <= today)
            .filter(|u| here.holds(&u.resource))
            .collect();
        let mut entries = Vec::new();
        let mut started = 0;
        for undo in &stopped {
            let Before::Notebook { name: notebook, .. } = &undo.before else { continue };
            let result = if dry_run {
                ResultKind::DryRun
            } else {
                let actor = match here {
                    Where::Place { account, region } if self.pool.is_some() => self.actor(account, region),
                    _ if undo.place.account.is_empty() => self.central_actor(),
                    _ => self.actor(&undo.place.account, &undo.place.region),
                };
                let outcome = start_notebook(&actor.clients.sagemaker, notebook).await;
                match outcome {
                    Ok(kind) => kind,
                    Err(err) if err.is_not_found() => ResultKind::NotebookGone,
                    Err(err) if err.is_retryable() => return Err(EnforceError::Retryable(err)),
                    Err(err) => ResultKind::failed(err),
                }
            };
            started += usize::from(result.is_done());
            if !dry_run && !result.is_failed() {
                ledger.undone(undo, &result.to_string(), ledger::now()).await.map_err(ledger_error)?;
            }
            let entry = Entry {
                at: ledger::timestamp(ledger::now()),
                budget: name.clone(),
                period: Some(undo.period.clone()),
                trigger: "idle".into(),
                step: None,
                action: START.into(),
                resource: undo.resource.clone(),
                result: result.to_string(),
                before: Some(undo.before.clone()),
                dry_run,
                place: Place::of_arn(&undo.resource),
            };
            entries.push(entry);
            report.results.push(ActionResult::new(START, &undo.resource, result));
        }
        if !dry_run && !entries.is_empty() {
            ledger.record(&entries).await.map_err(ledger_error)?;
        }
        Ok(if dry_run { format!("would start {}", stopped.len()) } else { format!("started {started}") })
    }
}

/// The result name of the morning start.
const START: &str = "start-notebook";

/// Starts a stopped notebook; one that is InService already (a person started it) is `not-stopped`.
async fn start_notebook(sagemaker: &aws_sdk_sagemaker::Client, name: &str) -> Result<ResultKind, AwsError> {
    match sagemaker.start_notebook_instance().notebook_instance_name(name).send().await.aws("StartNotebookInstance") {
        Ok(_) => Ok(ResultKind::Done),
        Err(AwsError::Rejected { code, message, .. })
            if code == "ValidationException" && message.contains("Status (InService)") =>
        {
            Ok(ResultKind::NotStopped)
        }
        Err(err) => Err(err),
    }
}

/// The evening's notice: what the rule stopped, routed by its scope's tags.
fn stop_notice(rule: &OffHoursRule, day: &str, results: &[ActionResult]) -> Notice {
    let done: Vec<&ActionResult> = results.iter().filter(|r| r.result.is_done()).collect();
    let subject = format!("Tagwarden: off-hours rule {} stopped {} resource(s)", rule.name, done.len());
    let mut body = format!(
        "Off-hours rule {:?} ({} in {}, {day}) stopped:\n",
        rule.name,
        rule.stop_at.format("%H:%M"),
        rule.time_zone
    );
    for r in done.iter().take(50) {
        body.push_str(&format!("  {} {}\n", r.action, r.resource_arn));
    }
    let mut notice = Notice::new("off-hours", Severity::Info, subject, body);
    notice.set(notice::BUDGET, Some(&rule.ledger_name()));
    notice.route_by_tags(&super::resolved(&rule.scope).certain_tags());
    match rule.start_at {
        Some(start) => {
            notice.step(format!("The notebooks start again at {} ({})", start.format("%H:%M"), rule.time_zone))
        }
        None => notice.step("Start a notebook when you need it: it is not stopped again until the next evening"),
    };
    notice.resources = done.iter().map(|r| r.resource_arn.clone()).take(20).collect();
    notice
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn rule(stop: &str, start: Option<&str>, zone: &str, weekdays: &[Weekday]) -> OffHoursRule {
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").unwrap();
        OffHoursRule {
            name: "dev".into(),
            scope: crate::policy::Scope::Account,
            resources: vec![OffHoursResource::Notebooks],
            stop_at: time(stop),
            start_at: start.map(time),
            time_zone: zone.parse().unwrap(),
            weekdays: weekdays.to_vec(),
            dry_run: None,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    const WEEK: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

    #[test]
    fn the_stop_falls_due_at_the_rules_local_time_not_utc() {
        let berlin = rule("20:00", Some("08:00"), "Europe/Berlin", &WEEK);
        // Tuesday 8 December 2026: Berlin is UTC+1.
        assert_eq!(decide(&berlin, at("2026-12-08T18:59:00Z")), Due::Start { day: day("2026-12-08") });
        assert_eq!(decide(&berlin, at("2026-12-08T19:00:00Z")), Due::Stop { day: day("2026-12-08") });
        assert_eq!(decide(&berlin, at("2026-12-08T22:50:00Z")), Due::Stop { day: day("2026-12-08") });
        // After local midnight it is Wednesday's night: before start_at, nothing.
        assert_eq!(decide(&berlin, at("2026-12-08T23:10:00Z")), Due::Nothing);
        assert_eq!(decide(&berlin, at("2026-12-09T07:00:00Z")), Due::Start { day: day("2026-12-09") });
        let tokyo = rule("20:00", None, "Asia/Tokyo", &WEEK);
        assert_eq!(decide(&tokyo, at("2026-12-08T11:00:00Z")), Due::Stop { day: day("2026-12-08") });
        assert_eq!(decide(&tokyo, at("2026-12-08T10:59:00Z")), Due::Nothing);
    }

    #[test]
    fn only_listed_weekdays_of_the_local_calendar_count() {
        let berlin = rule("20:00", Some("08:00"), "Europe/Berlin", &WEEK);
        // Friday 11 December 2026, 23:30 UTC: already Saturday in Berlin.
        assert_eq!(decide(&berlin, at("2026-12-11T23:30:00Z")), Due::Nothing);
        assert_eq!(decide(&berlin, at("2026-12-11T19:30:00Z")), Due::Stop { day: day("2026-12-11") });
        assert_eq!(decide(&berlin, at("2026-12-12T19:30:00Z")), Due::Nothing, "Saturday");
        assert_eq!(decide(&berlin, at("2026-12-14T07:30:00Z")), Due::Start { day: day("2026-12-14") }, "Monday");
    }

    #[test]
    fn daylight_saving_moves_the_utc_hour_and_a_skipped_stop_time_falls_due_just_after() {
        let berlin = rule("20:00", None, "Europe/Berlin", &WEEK);
        // Summer (UTC+2): 20:00 in Berlin is 18:00 UTC.
        assert_eq!(decide(&berlin, at("2026-07-07T17:59:00Z")), Due::Nothing);
        assert_eq!(decide(&berlin, at("2026-07-07T18:00:00Z")), Due::Stop { day: day("2026-07-07") });
        // 29 March 2026 (a Sunday): clocks jump from 02:00 to 03:00; 02:30 never happens.
        let night = rule("02:30", None, "Europe/Berlin", &[Weekday::Sun]);
        assert_eq!(decide(&night, at("2026-03-29T00:59:00Z")), Due::Nothing, "01:59 local");
        assert_eq!(decide(&night, at("2026-03-29T01:00:00Z")), Due::Stop { day: day("2026-03-29") }, "03:00 local");
        // New York: 20:00 EST is 01:00 UTC the next day.
        let ny = rule("20:00", None, "America/New_York", &WEEK);
        assert_eq!(decide(&ny, at("2026-12-09T01:05:00Z")), Due::Stop { day: day("2026-12-08") });
    }

    #[test]
    fn a_rule_that_stops_in_the_morning_and_starts_in_the_evening_works_the_other_way_round() {
        let nights = rule("06:00", Some("18:00"), "UTC", &WEEK);
        assert_eq!(decide(&nights, at("2026-12-08T07:00:00Z")), Due::Stop { day: day("2026-12-08") });
        assert_eq!(decide(&nights, at("2026-12-08T19:00:00Z")), Due::Start { day: day("2026-12-08") });
        assert_eq!(decide(&nights, at("2026-12-08T05:00:00Z")), Due::Nothing);
    }
}
