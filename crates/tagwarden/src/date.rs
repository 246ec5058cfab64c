//! Calendar days in UTC, written `YYYY-MM-DD` as the policy (exemption expiry) and the ledger (budget periods)
//! write them. A leaf: one date type for the crate, over `chrono`.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar day (proleptic Gregorian, UTC); ordered by date, serialised as `2026-12-01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(NaiveDate);

impl Date {
    /// The day `year-month-day`, if the month has it.
    pub fn ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, day).map(Self)
    }

    /// Parses `YYYY-MM-DD` with a real month and day (leap years counted); the error says what was wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a date as YYYY-MM-DD");
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, String> {
            let part = &text[range];
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        if !(1..=12).contains(&month) {
            return Err(format!("{text:?}: month {month} is not 1 to 12"));
        }
        let year = i32::try_from(year).map_err(|_| bad())?;
        Self::ymd(year, month, day).ok_or_else(|| {
            let days = Self::ymd(year, month, 1)
                .map_or(31, |first| first.first_of_month_after(1).0.pred_opt().map_or(31, |last| last.day()));
            format!("{text:?}: day {day} is not in month {month} (1 to {days})")
        })
    }

    /// Today by the system clock.
    pub fn today() -> Self {
        Self(Utc::now().date_naive())
    }

    /// The day of `now`.
    pub fn of(now: SystemTime) -> Self {
        Self(DateTime::<Utc>::from(now).date_naive())
    }

    /// The day `days` days after 1970-01-01 (saturating at chrono's range, ±262,000 years).
    pub fn from_unix_days(days: i64) -> Self {
        let epoch = NaiveDate::default();
        let moved = match u64::try_from(days) {
            Ok(after) => epoch.checked_add_days(chrono::Days::new(after)).unwrap_or(NaiveDate::MAX),
            Err(_) => epoch.checked_sub_days(chrono::Days::new(days.unsigned_abs())).unwrap_or(NaiveDate::MIN),
        };
        Self(moved)
    }

    /// The day of a Unix time in seconds.
    pub fn from_unix_secs(secs: i64) -> Self {
        Self::from_unix_days(secs.div_euclid(86_400))
    }

    /// Days from 1970-01-01 to this day.
    pub fn to_unix_days(self) -> i64 {
        self.0.signed_duration_since(NaiveDate::default()).num_days()
    }

    /// Seconds from the Unix epoch to this day's midnight.
    pub fn unix_secs(self) -> i64 {
        self.to_unix_days() * 86_400
    }

    /// The day after.
    pub fn next_day(self) -> Self {
        Self(self.0.succ_opt().unwrap_or(NaiveDate::MAX))
    }

    /// The first day of the month `months` months after this day's month (before it when negative).
    pub fn first_of_month_after(self, months: i32) -> Self {
        let first = self.0.with_day(1).unwrap_or(self.0);
        let moved = match u32::try_from(months) {
            Ok(after) => first.checked_add_months(Months::new(after)),
            Err(_) => first.checked_sub_months(Months::new(months.unsigned_abs())),
        };
        Self(moved.unwrap_or(first))
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u32 {
        self.0.month()
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u32 {
        self.0.day()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl FromStr for Date {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_convert_both_ways_and_months_move_across_years() {
        for (days, text) in [(0, "1970-01-01"), (-1, "1969-12-31"), (20_513, "2026-03-01"), (11_016, "2000-02-29")] {
            let date = Date::parse(text).unwrap();
            assert_eq!(date.to_unix_days(), days, "{text}");
            assert_eq!(Date::from_unix_days(days).to_string(), text);
        }
        let nov = Date::parse("2026-11-17").unwrap();
        assert_eq!(nov.first_of_month_after(2).to_string(), "2027-01-01");
        assert_eq!(nov.first_of_month_after(-11).to_string(), "2025-12-01");
        assert_eq!(Date::parse("2026-12-31").unwrap().next_day().to_string(), "2027-01-01");
    }
}
