//! `budgets.catalog`: the AWS Budgets Tagwarden keeps, as code. In: the YAML section; out: a validated
//! [`Catalog`] whose entries `tagwarden budgets plan | apply` turn into budgets (one per tag value).
//!
//! ```yaml
//! budgets:
//!   catalog:
//!     alerts_topic_arn: arn:aws:sns:us-east-1:123456789012:tagwarden-budget-alerts
//!     entries:
//!       - key: cost-center                 # a policy key (or the creator tag)
//!         values: [CC-4100, CC-4200]       # or values_matching: "CC-*", or per: user-profile
//!         amount: 5000
//!         currency: USD                    # the default
//!         period: MONTHLY                  # or QUARTERLY, ANNUALLY
//!         name: "ml-{value}"
//!         thresholds: {actual: [80, 100, 120], forecasted: [100]}
//! ```
//!
//! An entry whose key is not in the tag policy, whose amount is not a number or whose thresholds are out of
//! order fails policy loading with the entry and its line.

use std::cell::RefCell;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::topic_arn;
use crate::tag_rules::{key_problem, value_problem};

/// The budgets Tagwarden manages, and where their notifications go.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The SNS topic every notification is subscribed to (the budget-enforcer's); `--alerts-topic` or
    /// `TAGWARDEN_ALERTS_TOPIC_ARN` override it.
    #[serde(default, deserialize_with = "topic_arn")]
    pub alerts_topic_arn: Option<String>,
    /// The entries, each one or more budgets.
    #[serde(default)]
    pub entries: Vec<CatalogEntry>,
}

/// One entry: a budget for each value it selects.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "EntryFile")]
pub struct CatalogEntry {
    /// The cost-allocation tag key whose values the budgets are scoped to (`cost-center`).
    pub key: String,
    /// Which values get a budget.
    pub select: Selection,
    /// The budgeted amount per period.
    pub amount: f64,
    /// The amount's currency (`USD`).
    pub currency: String,
    /// The budget period.
    pub period: Period,
    /// The budget name, `{value}` replaced by the tag value (`ml-{value}`).
    pub name: String,
    /// ACTUAL thresholds, percent of the amount, ascending.
    pub actual: Vec<f64>,
    /// FORECASTED thresholds, percent of the amount, ascending.
    pub forecasted: Vec<f64>,
}

impl CatalogEntry {
    /// The budget name for one tag value.
    pub fn budget_name(&self, value: &str) -> String {
        self.name.replace("{value}", value)
    }
}

/// Which tag values an entry makes budgets for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// Exactly these values.
    Values(Vec<String>),
    /// Every value billing knows for the key (Cost Explorer `GetTags`) that matches this glob.
    Matching(String),
    /// One per Studio user profile (the value is the profile's name, as the creator tag records it).
    PerUserProfile,
}

/// A budget period (AWS Budgets `TimeUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Period {
    /// A calendar month.
    Monthly,
    /// A calendar quarter.
    Quarterly,
    /// A calendar year.
    Annually,
}

impl Period {
    /// The AWS Budgets `TimeUnit` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "MONTHLY",
            Self::Quarterly => "QUARTERLY",
            Self::Annually => "ANNUALLY",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    values: Option<Vec<String>>,
    #[serde(default)]
    values_matching: Option<String>,
    #[serde(default)]
    per: Option<String>,
    amount: serde_norway::Value,
    #[serde(default = "usd")]
    currency: String,
    #[serde(default = "monthly")]
    period: Period,
    name: String,
    #[serde(default)]
    thresholds: ThresholdsFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ThresholdsFile {
    #[serde(default)]
    actual: Vec<f64>,
    #[serde(default)]
    forecasted: Vec<f64>,
}

fn usd() -> String {
    "USD".into()
}

fn monthly() -> Period {
    Period::Monthly
}

thread_local! {
    /// The keys an entry may name while a policy is being read (its tag policy's keys and creator tag).
    static KNOWN_KEYS: RefCell<Option<Known>> = const { RefCell::new(None) };
}

#[derive(Clone)]
struct Known {
    keys: Vec<String>,
    creator_tag: Option<String>,
}

/// Runs `read` with the tag policy's keys and creator tag known to the entries it reads, so an entry naming
/// another key fails where it stands (with its line).
pub(super) fn with_known_keys<T>(keys: Vec<String>, creator_tag: Option<String>, read: impl FnOnce() -> T) -> T {
    KNOWN_KEYS.with(|k| *k.borrow_mut() = Some(Known { keys, creator_tag }));
    let out = read();
    KNOWN_KEYS.with(|k| *k.borrow_mut() = None);
    out
}

/// The amount as a positive number: a YAML number or a string of one (`"5000.50"`).
fn amount(value: &serde_norway::Value) -> Result<f64, String> {
    let number = match value {
        serde_norway::Value::Number(n) => n.as_f64(),
        serde_norway::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!(
            "amount {} is not a positive number",
            serde_norway::to_string(value).unwrap_or_default().trim()
        )),
    }
}

fn thresholds(kind: &str, list: &[f64]) -> Result<(), String> {
    for t in list {
        if !(t.is_finite() && *t > 0.0 && *t <= 10_000.0) {
            return Err(format!("thresholds.{kind}: {t} is not a percentage between 0 and 10000"));
        }
    }
    if let Some(pair) = list.windows(2).find(|p| p[1] <= p[0]) {
        return Err(format!("thresholds.{kind} must be ascending ({} then {})", pair[0], pair[1]));
    }
    Ok(())
}

impl TryFrom<EntryFile> for CatalogEntry {
    type Error = String;

    fn try_from(file: EntryFile) -> Result<Self, String> {
        let at = format!("budgets.catalog entry {:?}", file.name);
        let known = KNOWN_KEYS.with(|k| k.borrow().clone());
        let select = match (file.values, file.values_matching, file.per.as_deref()) {
            (Some(values), None, None) => {
                if values.is_empty() {
                    return Err(format!("{at}: values is empty"));
                }
                if let Some(problem) = values.iter().find_map(|v| value_problem(v)) {
                    return Err(format!("{at}: values: {problem}"));
                }
                Selection::Values(values)
            }
            (None, Some(pattern), None) if !pattern.trim().is_empty() => Selection::Matching(pattern),
            (None, None, Some("user-profile")) => Selection::PerUserProfile,
            (None, None, Some(other)) => return Err(format!("{at}: per {other:?} is not user-profile")),
            _ => return Err(format!("{at}: give exactly one of values, values_matching or per: user-profile")),
        };
        let key = match (file.key, &select) {
            (Some(key), _) => key,
            (None, Selection::PerUserProfile) => match known.as_ref().and_then(|k| k.creator_tag.clone()) {
                Some(tag) => tag,
                None => return Err(format!("{at}: per: user-profile needs a key (the policy has no creator_tag)")),
            },
            (None, _) => return Err(format!("{at}: key is required")),
        };
        if let Some(problem) = key_problem(&key) {
            return Err(format!("{at}: key: {problem}"));
        }
        if let Some(known) = &known
            && !known.keys.contains(&key)
            && known.creator_tag.as_deref() != Some(key.as_str())
        {
            return Err(format!(
                "{at}: key {key:?} is not in the tag policy (keys: {})",
                known.keys.iter().chain(&known.creator_tag).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let amount = amount(&file.amount).map_err(|e| format!("{at}: {e}"))?;
        if !(file.currency.len() == 3 && file.currency.chars().all(|c| c.is_ascii_uppercase())) {
            return Err(format!("{at}: currency {:?} is not a three-letter code (USD)", file.currency));
        }
        let many = !matches!(&select, Selection::Values(v) if v.len() == 1);
        if many && !file.name.contains("{value}") {
            return Err(format!("{at}: name must contain {{value}} when the entry makes more than one budget"));
        }
        if file.name.trim().is_empty() || file.name.contains([':', '\\']) || file.name.chars().count() > 100 {
            return Err(format!("{at}: name must be 1 to 100 characters without ':' or '\\'"));
        }
        thresholds("actual", &file.thresholds.actual).map_err(|e| format!("{at}: {e}"))?;
        thresholds("forecasted", &file.thresholds.forecasted).map_err(|e| format!("{at}: {e}"))?;
        if file.thresholds.actual.len() + file.thresholds.forecasted.len() > 10 {
            return Err(format!("{at}: AWS Budgets allows at most 10 notifications per budget"));
        }
        Ok(Self {
            key,
            select,
            amount,
            currency: file.currency,
            period: file.period,
            name: file.name,
            actual: file.thresholds.actual,
            forecasted: file.thresholds.forecasted,
        })
    }
}

/// Deserializes `budgets.catalog` and refuses two entries that would name one budget the same way.
pub(super) fn catalog<'de, D: Deserializer<'de>>(d: D) -> Result<Catalog, D::Error> {
    let catalog = Catalog::deserialize(d)?;
    for (i, entry) in catalog.entries.iter().enumerate() {
        if catalog.entries[..i].iter().any(|e| e.name == entry.name) {
            return Err(de::Error::custom(format!("budgets.catalog: two entries are named {:?}", entry.name)));
        }
    }
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(entries: &str) -> Result<Catalog, String> {
        let yaml = format!(
            "tags:\n  keys:\n    cost-center: {{}}\n    team: {{}}\nbudgets:\n  catalog:\n    entries:\n{entries}"
        );
        Policy::from_yaml(&yaml, "test").map(|p| p.budgets.catalog).map_err(|e| e.to_string())
    }

    #[test]
    fn an_entry_of_values_takes_the_defaults_for_currency_and_period() {
        let catalog = parse(
            "      - key: cost-center\n        values: [CC-4100, CC-4200]\n        amount: 5000\n        name: 'ml-{value}'\n        thresholds: {actual: [80, 100], forecasted: [100]}\n",
        )
        .unwrap();
        let entry = &catalog.entries[0];
        assert_eq!(entry.select, Selection::Values(vec!["CC-4100".into(), "CC-4200".into()]));
        assert_eq!((entry.amount, entry.currency.as_str(), entry.period), (5000.0, "USD", Period::Monthly));
        assert_eq!((entry.actual.as_slice(), entry.forecasted.as_slice()), (&[80.0, 100.0][..], &[100.0][..]));
        assert_eq!(entry.budget_name("CC-4100"), "ml-CC-4100");
    }

    #[test]
    fn a_pattern_and_per_user_profile_entries_are_read_and_per_profile_defaults_to_the_creator_tag() {
        let catalog = parse(
            "      - {key: cost-center, values_matching: 'CC-*', amount: '250.5', period: QUARTERLY, name: 'q-{value}'}\n      - {per: user-profile, amount: 100, name: 'studio-{value}'}\n",
        )
        .unwrap();
        assert_eq!(catalog.entries[0].select, Selection::Matching("CC-*".into()));
        assert_eq!((catalog.entries[0].amount, catalog.entries[0].period), (250.5, Period::Quarterly));
        assert_eq!(catalog.entries[1].select, Selection::PerUserProfile);
        assert_eq!(catalog.entries[1].key, "created-by");
    }

    #[test]
    fn a_key_outside_the_tag_policy_is_refused_naming_the_entry_and_its_line() {
        let err =
            parse("      - key: costcenter\n        values: [CC-1]\n        amount: 5\n        name: 'b-{value}'\n")
                .unwrap_err();
        assert!(
            err.contains("budgets.catalog entry \"b-{value}\": key \"costcenter\" is not in the tag policy"),
            "{err}"
        );
        assert!(err.contains("line 8"), "{err}");
    }

    #[test]
    fn an_amount_that_is_not_a_number_is_refused_with_the_line() {
        let err = parse("      - {key: team, values: [a], amount: 5k, name: 'team-a'}\n").unwrap_err();
        assert!(err.contains("entry \"team-a\": amount 5k is not a positive number"), "{err}");
        assert!(err.contains("line 8"), "{err}");
        let err = parse("      - {key: team, values: [a], amount: -3, name: 'team-a'}\n").unwrap_err();
        assert!(err.contains("amount -3 is not a positive number"), "{err}");
    }

    #[test]
    fn thresholds_out_of_order_or_out_of_range_are_refused_with_the_line() {
        let err = parse(
            "      - {key: team, values: [a], amount: 5, name: t}\n      - key: team\n        values: [b]\n        amount: 5\n        name: u\n        thresholds: {actual: [100, 80]}\n",
        )
        .unwrap_err();
        assert!(err.contains("entry \"u\": thresholds.actual must be ascending (100 then 80)"), "{err}");
        // NOTE: serde_norway places an error of a list element at the list's first line; the name tells the entry.
        assert!(err.contains("line 8"), "{err}");
        let err =
            parse("      - {key: team, values: [a], amount: 5, name: t, thresholds: {forecasted: [0]}}\n").unwrap_err();
        assert!(err.contains("thresholds.forecasted: 0 is not a percentage"), "{err}");
    }

    #[test]
    fn selections_names_and_periods_are_checked() {
        let both = parse("      - {key: team, values: [a], values_matching: 'x*', amount: 5, name: 'n-{value}'}\n");
        assert!(both.unwrap_err().contains("exactly one of values, values_matching or per"));
        let no_placeholder = parse("      - {key: team, values: [a, b], amount: 5, name: fixed}\n");
        assert!(no_placeholder.unwrap_err().contains("must contain {value}"));
        let period = parse("      - {key: team, values: [a], amount: 5, name: n, period: WEEKLY}\n");
        assert!(period.unwrap_err().contains("WEEKLY"));
        let twice = parse(
            "      - {key: team, values: [a], amount: 5, name: n}\n      - {key: team, values: [b], amount: 5, name: n}\n",
        );
        assert!(twice.unwrap_err().contains("two entries are named \"n\""));
        let colon = parse("      - {key: team, values: [a], amount: 5, name: 'a:b'}\n");
        assert!(colon.unwrap_err().contains("without ':'"));
    }
}
