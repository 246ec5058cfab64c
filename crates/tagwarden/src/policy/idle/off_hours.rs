//! `idle.off_hours`: notebook instances and Studio apps in scope are stopped at an hour of the rule's time
//! zone on chosen weekdays; notebooks it stopped may be started again in the morning.
//!
//! ```yaml
//! idle:
//!   off_hours:
//!     - name: dev-evenings             # the ledger's key (`idle:dev-evenings`)
//!       scope: {tags: {environment: dev}}   # or `account`
//!       resources: [notebooks, studio-apps]
//!       stop_at: "20:00"               # local time of time_zone
//!       start_at: "08:00"              # optional, notebooks only: start again what this rule stopped
//!       time_zone: Europe/Berlin       # an IANA name
//!       weekdays: [mon, tue, wed, thu, fri]   # the default
//!       dry_run: false                 # optional
//! ```

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

use super::{check_name, scope_of};
use crate::policy::Scope;
use crate::policy::budgets::ScopeFile;

/// What an off-hours rule stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffHoursResource {
    /// InService notebook instances (`stop-notebooks`).
    Notebooks,
    /// Running Studio apps (`delete-studio-apps`; user files stay on the domain's EFS).
    StudioApps,
}

/// One `idle.off_hours` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RuleFile")]
pub struct OffHoursRule {
    /// The rule's name: its ledger key is `idle:<name>`.
    pub name: String,
    /// The resources it stops (`account` or tags; never `from-budget`).
    pub scope: Scope,
    /// What it stops.
    pub resources: Vec<OffHoursResource>,
    /// Local time from which the evening's stop is due.
    pub stop_at: NaiveTime,
    /// Local time from which the notebooks it stopped are started again (notebooks only).
    pub start_at: Option<NaiveTime>,
    /// The zone `stop_at` and `start_at` are read in.
    pub time_zone: Tz,
    /// The local weekdays it stops on (and starts on).
    pub weekdays: Vec<Weekday>,
    /// Decide and record only (`None`: the `budgets.dry_run` default).
    pub dry_run: Option<bool>,
}

impl OffHoursRule {
    /// The name the ledger, the markers and the notices use: `idle:<name>`.
    pub fn ledger_name(&self) -> String {
        format!("idle:{}", self.name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    scope: Option<ScopeFile>,
    resources: Vec<OffHoursResource>,
    stop_at: String,
    #[serde(default)]
    start_at: Option<String>,
    time_zone: String,
    #[serde(default)]
    weekdays: Option<Vec<String>>,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// Reads `HH:MM` (24-hour clock).
fn clock(at: &str, field: &str, text: &str) -> Result<NaiveTime, String> {
    let valid = text.len() == 5 && text.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("{at}: {field} {text:?} is not a time of day as HH:MM (\"20:00\")"))
}

/// Reads `mon` … `sun` (or the full English name).
fn weekday(at: &str, text: &str) -> Result<Weekday, String> {
    let word = text.trim().to_ascii_lowercase();
    let day = match word.get(..3).filter(|_| word.len() == 3 || is_full_name(&word)) {
        Some("mon") => Weekday::Mon,
        Some("tue") => Weekday::Tue,
        Some("wed") => Weekday::Wed,
        Some("thu") => Weekday::Thu,
        Some("fri") => Weekday::Fri,
        Some("sat") => Weekday::Sat,
        Some("sun") => Weekday::Sun,
        _ => return Err(format!("{at}: weekday {text:?} is not one of mon, tue, wed, thu, fri, sat, sun")),
    };
    Ok(day)
}

fn is_full_name(word: &str) -> bool {
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"].contains(&word)
}

impl TryFrom<RuleFile> for OffHoursRule {
    type Error = String;

    fn try_from(file: RuleFile) -> Result<Self, String> {
        let at = format!("off-hours rule {:?}", file.name);
        check_name("off-hours rule", &file.name)?;
        let scope = scope_of(&at, file.scope)?;
        let mut resources = file.resources;
        resources.sort();
        resources.dedup();
        if resources.is_empty() {
            return Err(format!("{at}: `resources` is empty (notebooks, studio-apps)"));
        }
        let stop_at = clock(&at, "stop_at", &file.stop_at)?;
        let start_at = file.start_at.as_deref().map(|t| clock(&at, "start_at", t)).transpose()?;
        if start_at.is_some() && !resources.contains(&OffHoursResource::Notebooks) {
            return Err(format!("{at}: start_at starts notebooks again; the rule stops none (add `notebooks`)"));
        }
        if start_at == Some(stop_at) {
            return Err(format!("{at}: start_at and stop_at are both {}", file.stop_at));
        }
        let time_zone: Tz = file.time_zone.parse().map_err(|_| {
            format!("{at}: time_zone {:?} is not an IANA time zone (Europe/Berlin, UTC)", file.time_zone)
        })?;
        let mut weekdays = match file.weekdays {
            None => vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            Some(days) => days.iter().map(|d| weekday(&at, d)).collect::<Result<_, _>>()?,
        };
        weekdays.sort_by_key(|d| d.num_days_from_monday());
        weekdays.dedup();
        if weekdays.is_empty() {
            return Err(format!("{at}: `weekdays` is empty; leave it out for mon to fri"));
        }
        Ok(Self { name: file.name, scope, resources, stop_at, start_at, time_zone, weekdays, dry_run: file.dry_run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(rules: &str) -> Result<Vec<OffHoursRule>, String> {
        let yaml = format!("tags:\n  keys:\n    environment: {{}}\nidle:\n  off_hours:\n{rules}");
        Policy::from_yaml(&yaml, "test").map(|p| p.idle.off_hours).map_err(|e| e.to_string())
    }

    #[test]
    fn an_off_hours_rule_reads_its_clock_zone_and_weekdays_mon_to_fri_by_default() {
        let rules = parse(
            "    - {name: dev-evenings, scope: {tags: {environment: dev}}, resources: [studio-apps, notebooks], stop_at: \"20:00\", start_at: \"07:30\", time_zone: Europe/Berlin}\n",
        )
        .unwrap();
        let rule = &rules[0];
        assert_eq!(rule.stop_at, NaiveTime::from_hms_opt(20, 0, 0).unwrap());
        assert_eq!(rule.start_at, NaiveTime::from_hms_opt(7, 30, 0));
        assert_eq!(rule.time_zone, chrono_tz::Europe::Berlin);
        assert_eq!(rule.weekdays, [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]);
        assert_eq!(rule.resources, [OffHoursResource::Notebooks, OffHoursResource::StudioApps]);
        let weekend = parse(
            "    - {name: w, scope: account, resources: [notebooks], stop_at: \"18:00\", time_zone: UTC, weekdays: [Sat, sunday]}\n",
        )
        .unwrap();
        assert_eq!(weekend[0].weekdays, [Weekday::Sat, Weekday::Sun]);
    }

    #[test]
    fn a_bad_off_hours_rule_is_refused_at_load_and_says_why() {
        let base = "name: x, scope: account, resources: [notebooks]";
        for (rule, expected) in [
            (format!("{base}, stop_at: \"8pm\", time_zone: UTC"), "not a time of day as HH:MM"),
            (format!("{base}, stop_at: \"24:00\", time_zone: UTC"), "not a time of day as HH:MM"),
            (format!("{base}, stop_at: \"20:00\", time_zone: Mars/Olympus"), "not an IANA time zone"),
            (format!("{base}, stop_at: \"20:00\", time_zone: UTC, weekdays: [fry]"), "weekday \"fry\""),
            (format!("{base}, stop_at: \"20:00\", time_zone: UTC, weekdays: []"), "`weekdays` is empty"),
            (format!("{base}, stop_at: \"20:00\", start_at: \"20:00\", time_zone: UTC"), "are both 20:00"),
            (
                "name: x, scope: account, resources: [studio-apps], stop_at: \"20:00\", start_at: \"08:00\", time_zone: UTC"
                    .into(),
                "the rule stops none",
            ),
            ("name: x, scope: account, resources: [], stop_at: \"20:00\", time_zone: UTC".into(), "is empty"),
        ] {
            let err = parse(&format!("    - {{{rule}}}\n")).unwrap_err();
            assert!(err.contains(expected), "{rule}: {err}");
        }
    }
}
