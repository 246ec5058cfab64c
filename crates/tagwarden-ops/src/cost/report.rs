//! The cost report: what arrives is line items already reduced to service, cost and tag values (whatever the
//! export format); what leaves is SageMaker cost by tag value and the SageMaker cost lacking any key, summed
//! exactly in [`Money`].

use std::collections::BTreeMap;

use serde::Serialize;

/// The tag value under which line items without a value are counted.
pub const UNTAGGED: &str = "(untagged)";

/// An exact amount of money in units of 10^-10 (CUR costs carry at most ten decimals): sums never drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(i128);

/// Decimal places [`Money`] keeps.
const SCALE: u32 = 10;

impl Money {
    /// Parses a decimal such as `12.5`, `-0.0000000021` or `1E-5`; more than ten decimals are rounded half away from zero.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Some(Self(0));
        }
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.chars().chain(frac_part.chars()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let all: String = format!("{int_part}{frac_part}");
        let all = all.trim_start_matches('0');
        // value = all * 10^(exponent - frac_len); scaled = value * 10^SCALE
        let shift = exponent + SCALE as i32 - frac_part.len() as i32;
        let mut value: i128 = 0;
        let dropped = if shift >= 0 { 0 } else { shift.unsigned_abs() as usize };
        let keep = all.len().saturating_sub(dropped);
        for c in all[..keep].chars() {
            value = value.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
        }
        if shift > 0 {
            value = value.checked_mul(10i128.checked_pow(shift.unsigned_abs())?)?;
        } else if dropped > 0 && dropped <= all.len() && all[keep..].starts_with(['5', '6', '7', '8', '9']) {
            value = value.checked_add(1)?;
        }
        Some(Self(if negative { -value } else { value }))
    }

    /// The amount as a decimal string with ten places trimmed of trailing zeros (at least two).
    pub fn to_decimal_string(self) -> String {
        let scale = 10i128.pow(SCALE);
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / scale.unsigned_abs(), abs % scale.unsigned_abs());
        let mut frac = format!("{frac:010}");
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        format!("{sign}{int}.{frac}")
    }

    /// The raw count of 10^-10 units.
    pub fn units(self) -> i128 {
        self.0
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, other: Self) {
        self.0 = self.0.saturating_add(other.0);
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_decimal_string())
    }
}

/// One line item of a billing export, reduced to what the report needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineItem {
    /// A SageMaker charge (`line_item_product_code` or FOCUS `x_ServiceCode` = `AmazonSageMaker`).
    pub sagemaker: bool,
    /// The summed cost column's amount (see [`super::Layout::cost_column`]).
    pub cost: Money,
    /// The report keys' values, in the report's key order (`None` or empty: untagged).
    pub tags: Vec<Option<String>>,
}

/// Cost and line-item count of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Total {
    /// Summed cost.
    pub cost: Money,
    /// Number of line items.
    pub line_items: u64,
}

impl Total {
    fn add(&mut self, cost: Money) {
        self.cost += cost;
        self.line_items += 1;
    }
}

/// SageMaker cost by tag value for each key, and the SageMaker cost lacking any of the keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CostReport {
    /// The export format read (`legacy`, `cur2`, `focus`).
    pub export: String,
    /// The cost column summed, as the file names it (`line_item_unblended_cost`, `BilledCost`, …).
    pub cost_column: String,
    /// The keys reported on, in order.
    pub keys: Vec<String>,
    /// All line items read.
    pub line_items_read: u64,
    /// Every SageMaker line item.
    pub sagemaker: Total,
    /// For each key (same order as `keys`): value -> total; missing values under [`UNTAGGED`].
    pub by_tag: Vec<BTreeMap<String, Total>>,
    /// SageMaker line items missing at least one of the keys.
    pub untagged: Total,
}

impl CostReport {
    /// An empty report over `keys`.
    pub fn new(keys: Vec<String>) -> Self {
        let by_tag = keys.iter().map(|_| BTreeMap::new()).collect();
        Self { keys, by_tag, ..Self::default() }
    }

    /// Counts one line item (non-SageMaker items only count as read).
    pub fn add(&mut self, item: &LineItem) {
        self.line_items_read += 1;
        if !item.sagemaker {
            return;
        }
        self.sagemaker.add(item.cost);
        let mut any_missing = false;
        for (i, groups) in self.by_tag.iter_mut().enumerate() {
            let value = item.tags.get(i).and_then(Option::as_deref).filter(|v| !v.is_empty());
            any_missing |= value.is_none();
            groups.entry(value.unwrap_or(UNTAGGED).to_owned()).or_default().add(item.cost);
        }
        if any_missing {
            self.untagged.add(item.cost);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn money_parses_decimals_exactly_and_sums_without_drift() {
        assert_eq!(Money::parse("0.1").unwrap().units(), 1_000_000_000);
        assert_eq!(Money::parse("-0.0000000021").unwrap().units(), -21);
        assert_eq!(Money::parse("1.5E-5").unwrap().units(), 150_000);
        assert_eq!(Money::parse("2e3").unwrap().to_decimal_string(), "2000.00");
        assert_eq!(Money::parse("0.00000000005").unwrap().units(), 1);
        assert_eq!(Money::parse("0.000000000005").unwrap().units(), 0);
        assert_eq!(Money::parse("").unwrap().units(), 0);
        assert!(Money::parse("abc").is_none() && Money::parse("1.2.3").is_none() && Money::parse("-").is_none());
        let mut sum = Money::default();
        for _ in 0..10 {
            sum += Money::parse("0.1").unwrap();
        }
        assert_eq!(sum.to_decimal_string(), "1.00");
    }

    #[test]
    fn report_groups_sagemaker_cost_by_tag_value_and_counts_missing_tags() {
        let mut report = CostReport::new(vec!["team".into(), "environment".into()]);
        let item = |product: &str, cost: &str, team: Option<&str>, env: Option<&str>| LineItem {
            sagemaker: product == "AmazonSageMaker",
            cost: Money::parse(cost).unwrap(),
            tags: vec![team.map(Into::into), env.map(Into::into)],
        };
        report.add(&item("AmazonSageMaker", "1.25", Some("nlp"), Some("dev")));
        report.add(&item("AmazonSageMaker", "2.5", Some("nlp"), Some("")));
        report.add(&item("AmazonSageMaker", "0.25", None, Some("dev")));
        report.add(&item("AmazonEC2", "100", None, None));
        assert_eq!(report.line_items_read, 4);
        assert_eq!(report.sagemaker.cost.to_decimal_string(), "4.00");
        assert_eq!(report.by_tag[0]["nlp"].cost.to_decimal_string(), "3.75");
        assert_eq!(report.by_tag[0][UNTAGGED].line_items, 1);
        assert_eq!(report.by_tag[1][UNTAGGED].cost.to_decimal_string(), "2.50");
        assert_eq!(report.untagged.cost.to_decimal_string(), "2.75");
        assert_eq!(report.untagged.line_items, 2);
    }
}

#[cfg(test)]
mod property_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn money_parse_never_panics_on_any_text(text in ".{0,40}") {
            let _ = Money::parse(&text);
        }

        #[test]
        fn money_reads_back_what_it_writes(units in any::<i64>()) {
            let money = Money(i128::from(units));
            prop_assert_eq!(Money::parse(&money.to_decimal_string()), Some(money));
        }
    }
}
