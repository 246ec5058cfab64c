//! Cost allocation: what arrives is the policy's required tag keys, billing's view of them and CUR line
//! items; what leaves is an activation plan (and its outcome), Athena named queries over the CUR, and a
//! cost report by tag value.
//!
//! Pure parts: [`plan_activation`], [`cur_column`], [`athena_queries`], [`CostReport`]. The side effects
//! are [`activate_tags`] (Cost Explorer `ListCostAllocationTags` + `UpdateCostAllocationTagsStatus`, which
//! only work in the payer/management account).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_costexplorer::types::{CostAllocationTagStatus, CostAllocationTagStatusEntry};
use serde::Serialize;

use tagwarden::aws::{AwsError, ResultExt};
use tagwarden::policy::TagPolicy;

/// `line_item_product_code` of SageMaker line items.
pub const SAGEMAKER_PRODUCT_CODE: &str = "AmazonSageMaker";
/// The region Cost Explorer's API lives in (its only endpoint for the `aws` partition).
pub const COST_EXPLORER_REGION: &str = "us-east-1";
/// `UpdateCostAllocationTagsStatus` takes at most this many keys per call.
const UPDATE_BATCH: usize = 20;
/// `ListCostAllocationTags` filters on at most this many keys per call.
const LIST_BATCH: usize = 100;

// --------------------------------------------------------------------------------------------------
// Cost-allocation tag activation
// --------------------------------------------------------------------------------------------------

/// What billing knows about a tag key (one `CostAllocationTag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownTag {
    /// The tag key.
    pub key: String,
    /// Active as a cost-allocation tag.
    pub active: bool,
}

/// Which keys to activate, which already are, and which billing has not seen yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivationPlan {
    /// Already active cost-allocation tags.
    pub already_active: Vec<String>,
    /// Known to billing but inactive: to activate.
    pub to_activate: Vec<String>,
    /// Not known to billing yet (it lists a key up to 24 h after a resource first carries it).
    pub not_seen: Vec<String>,
}

/// Decides what to do for each wanted key given billing's view; keys keep the order of `wanted`.
pub fn plan_activation<'a>(wanted: impl IntoIterator<Item = &'a str>, known: &[KnownTag]) -> ActivationPlan {
    let mut plan = ActivationPlan::default();
    let mut seen = BTreeSet::new();
    for key in wanted {
        if !seen.insert(key) {
            continue;
        }
        match known.iter().find(|k| k.key == key) {
            Some(k) if k.active => plan.already_active.push(key.to_owned()),
            Some(_) => plan.to_activate.push(key.to_owned()),
            None => plan.not_seen.push(key.to_owned()),
        }
    }
    plan
}

/// A key `UpdateCostAllocationTagsStatus` refused for another reason than "not seen yet".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyFailure {
    /// The tag key.
    pub key: String,
    /// The error code from the `Errors` entry.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// What `activate-tags` did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivationOutcome {
    /// Nothing was changed.
    pub dry_run: bool,
    /// Keys that were already active.
    pub already_active: Vec<String>,
    /// Keys activated now (with `dry_run`: that would be activated).
    pub activated: Vec<String>,
    /// Keys billing has not seen yet: run again once a resource has carried them for a day.
    pub pending: Vec<String>,
    /// Keys refused for another reason.
    pub failed: Vec<KeyFailure>,
}

/// Activation failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// The credentials belong to a member (linked) account: cost-allocation tags are managed by the payer.
    #[error(
        "cost-allocation tags can only be managed from the payer (management) account of the organization; \
         run this with credentials of that account ({0})"
    )]
    NotPayerAccount(String),
    /// Any other AWS failure.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl CostError {
    fn classify(err: AwsError) -> Self {
        match &err {
            AwsError::AccessDenied { message, .. } | AwsError::Rejected { message, .. }
                if message.to_ascii_lowercase().contains("linked account") =>
            {
                Self::NotPayerAccount(message.clone())
            }
            // NOTE: Cost Explorer's throttling error is `LimitExceededException` ("too many calls").
            AwsError::Rejected { operation, code, message } if code == "LimitExceededException" => {
                Self::Aws(AwsError::Throttled { operation, code: code.clone(), message: message.clone() })
            }
            _ => Self::Aws(err),
        }
    }
}

/// A Cost Explorer client from `config` with its region forced to us-east-1, Cost Explorer's endpoint
/// (the endpoint URL, e.g. `AWS_ENDPOINT_URL` for the emulator, is kept).
pub fn cost_explorer_client(config: &aws_config::SdkConfig) -> aws_sdk_costexplorer::Client {
    let config = aws_sdk_costexplorer::config::Builder::from(config)
        .region(aws_config::Region::new(COST_EXPLORER_REGION))
        .build();
    aws_sdk_costexplorer::Client::from_conf(config)
}

/// [`cost_explorer_client`] from the SDK's default configuration (environment, profile, IMDS).
pub async fn cost_explorer_from_env() -> aws_sdk_costexplorer::Client {
    cost_explorer_client(&aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await)
}

/// Billing's view of `keys` (`ListCostAllocationTags` filtered by key, every page).
pub async fn list_cost_allocation_tags(
    ce: &aws_sdk_costexplorer::Client,
    keys: &[String],
) -> Result<Vec<KnownTag>, CostError> {
    let mut known = Vec::new();
    for chunk in keys.chunks(LIST_BATCH) {
        let mut pages = ce.list_cost_allocation_tags().set_tag_keys(Some(chunk.to_vec())).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.aws("ListCostAllocationTags").map_err(CostError::classify)?;
            known.extend(page.cost_allocation_tags().iter().map(|t| KnownTag {
                key: t.tag_key().to_owned(),
                active: *t.status() == CostAllocationTagStatus::Active,
            }));
        }
    }
    Ok(known)
}

/// Activates the policy's required keys as cost-allocation tags (payer account only).
///
/// Keys billing has not seen yet are reported as pending, not as failures: either they are absent from
/// `ListCostAllocationTags`, or `UpdateCostAllocationTagsStatus` answers `TagKeysNotFoundException` for them.
pub async fn activate_tags(
    ce: &aws_sdk_costexplorer::Client,
    policy: &TagPolicy,
    dry_run: bool,
) -> Result<ActivationOutcome, CostError> {
    let wanted: Vec<String> = policy.required_keys().map(str::to_owned).collect();
    let known = list_cost_allocation_tags(ce, &wanted).await?;
    let plan = plan_activation(wanted.iter().map(String::as_str), &known);
    let mut outcome = ActivationOutcome {
        dry_run,
        already_active: plan.already_active,
        pending: plan.not_seen,
        ..ActivationOutcome::default()
    };
    if dry_run {
        outcome.activated = plan.to_activate;
        return Ok(outcome);
    }
    for chunk in plan.to_activate.chunks(UPDATE_BATCH) {
        let entries = chunk
            .iter()
            .map(|key| {
                CostAllocationTagStatusEntry::builder().tag_key(key).status(CostAllocationTagStatus::Active).build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError::Rejected {
                operation: "UpdateCostAllocationTagsStatus",
                code: "ConstructionFailure".into(),
                message: e.to_string(),
            })?;
        let answer = ce
            .update_cost_allocation_tags_status()
            .set_cost_allocation_tags_status(Some(entries))
            .send()
            .await
            .aws("UpdateCostAllocationTagsStatus")
            .map_err(CostError::classify)?;
        let errors: BTreeMap<&str, _> = answer.errors().iter().filter_map(|e| Some((e.tag_key()?, e))).collect();
        for key in chunk {
            match errors.get(key.as_str()) {
                None => outcome.activated.push(key.clone()),
                Some(e) if e.code() == Some("TagKeysNotFoundException") => outcome.pending.push(key.clone()),
                Some(e) => outcome.failed.push(KeyFailure {
                    key: key.clone(),
                    code: e.code().unwrap_or_default().to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                }),
            }
        }
    }
    Ok(outcome)
}

// --------------------------------------------------------------------------------------------------
// CUR column names
// --------------------------------------------------------------------------------------------------

/// The Athena/CUR 2.0-style column name of a CUR header: `lineItem/UnblendedCost` ->
/// `line_item_unblended_cost`, `resourceTags/user:cost-center` -> `resource_tags_user_cost_center`.
///
/// The rules AWS applies when it builds the Athena table: a word boundary (`_`) before an upper-case
/// letter that follows a lower-case letter or digit (or that starts a word after an acronym), every
/// character that is not a letter or digit becomes `_`, runs of `_` collapse to one, leading and trailing
/// `_` are dropped, and everything is lower-cased. Already normalised names are left as they are.
pub fn cur_column(header: &str) -> String {
    let chars: Vec<char> = header.chars().collect();
    let mut out = String::with_capacity(header.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                    out.push('_');
                }
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    // NOTE: collapse again: a camel-case boundary next to a separator (`user:Cost`) produced `__`.
    let mut collapsed = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    collapsed
}

/// The CUR/Athena column of a user-defined tag key: `cost-center` -> `resource_tags_user_cost_center`.
pub fn tag_column(key: &str) -> String {
    cur_column(&format!("resourceTags/user:{key}"))
}

// --------------------------------------------------------------------------------------------------
// Athena named queries
// --------------------------------------------------------------------------------------------------

/// One Athena named query over the CUR table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedQuery {
    /// The query's name (also the `.sql` file's stem).
    pub name: String,
    /// What it answers.
    pub description: String,
    /// The SQL (Athena/Trino dialect, runs unchanged on DuckDB).
    pub sql: String,
}

/// Default Athena database: what the CUR's Athena integration creates for a report named `tagwarden`.
pub const DEFAULT_DATABASE: &str = "athenacurcfn_tagwarden";
/// Default CUR table (the report's name).
pub const DEFAULT_TABLE: &str = "tagwarden";

impl NamedQuery {
    /// The query as a `.sql` file: its description as a comment, then the SQL.
    pub fn file_text(&self) -> String {
        format!(
            "-- {}\n-- Generated by `tagwarden athena-queries` from the policy; do not edit.\n{}",
            self.description, self.sql
        )
    }
}

/// Name of the query listing SageMaker line items that lack a required tag.
pub const MISSING_TAGS_QUERY: &str = "tagwarden-sagemaker-missing-required-tags";

/// Name of the query summing SageMaker cost by the values of `key`.
pub fn cost_by_tag_query_name(key: &str) -> String {
    format!(
        "tagwarden-sagemaker-cost-by-{}",
        tag_column(key).trim_start_matches("resource_tags_user_").replace('_', "-")
    )
}

/// The named queries for a policy: SageMaker cost by each required key (untagged line items under
/// `(untagged)`), then the SageMaker line items missing any required key, by resource.
pub fn athena_queries(policy: &TagPolicy, database: &str, table: &str) -> Vec<NamedQuery> {
    let from = format!("\"{database}\".\"{table}\"");
    let keys: Vec<&str> = policy.required_keys().collect();
    let mut queries: Vec<NamedQuery> = keys
        .iter()
        .map(|key| {
            let column = tag_column(key);
            NamedQuery {
                name: cost_by_tag_query_name(key),
                description: format!("SageMaker unblended cost by the {key} tag ({column}); '{UNTAGGED}' = no value"),
                sql: format!(
                    "SELECT COALESCE(NULLIF({column}, ''), '{UNTAGGED}') AS tag_value,\n\
                     \x20      SUM(line_item_unblended_cost) AS unblended_cost,\n\
                     \x20      COUNT(*) AS line_items\n\
                     FROM {from}\n\
                     WHERE line_item_product_code = '{SAGEMAKER_PRODUCT_CODE}'\n\
                     GROUP BY 1\n\
                     ORDER BY 2 DESC, 1\n"
                ),
            }
        })
        .collect();
    if !keys.is_empty() {
        let missing = |key: &&str| format!("COALESCE({}, '') = ''", tag_column(key));
        let cases = keys
            .iter()
            .map(|key| format!("CASE WHEN {} THEN '{key}' END", missing(key)))
            .collect::<Vec<_>>()
            .join(",\n                 ");
        let any_missing = keys.iter().map(missing).collect::<Vec<_>>().join("\n    OR ");
        queries.push(NamedQuery {
            name: MISSING_TAGS_QUERY.to_owned(),
            description: format!("SageMaker line items missing a required tag ({}), by resource", keys.join(", ")),
            sql: format!(
                "SELECT line_item_resource_id,\n\
                 \x20      concat_ws(',', {cases}) AS missing_tags,\n\
                 \x20      SUM(line_item_unblended_cost) AS unblended_cost,\n\
                 \x20      COUNT(*) AS line_items\n\
                 FROM {from}\n\
                 WHERE line_item_product_code = '{SAGEMAKER_PRODUCT_CODE}'\n\
                 \x20 AND ({any_missing})\n\
                 GROUP BY 1, 2\n\
                 ORDER BY 3 DESC, 1\n"
            ),
        });
    }
    queries
}

// --------------------------------------------------------------------------------------------------
// Cost report over CUR line items
// --------------------------------------------------------------------------------------------------

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

/// One CUR line item, reduced to what the report needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineItem {
    /// `line_item_product_code`.
    pub product_code: String,
    /// `line_item_unblended_cost`.
    pub cost: Money,
    /// The report keys' values, in the report's key order (`None` or empty: untagged).
    pub tags: Vec<Option<String>>,
}

/// Cost and line-item count of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Total {
    /// Summed unblended cost.
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
        if item.product_code != SAGEMAKER_PRODUCT_CODE {
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
    use tagwarden::Policy;

    fn known(key: &str, active: bool) -> KnownTag {
        KnownTag { key: key.into(), active }
    }

    #[test]
    fn activation_plan_splits_active_inactive_and_unseen_keys_in_policy_order() {
        let plan = plan_activation(
            ["cost-center", "team", "environment", "team"],
            &[known("environment", true), known("cost-center", false), known("other", false)],
        );
        assert_eq!(plan.already_active, ["environment"]);
        assert_eq!(plan.to_activate, ["cost-center"]);
        assert_eq!(plan.not_seen, ["team"]);
    }

    #[test]
    fn cur_headers_normalise_to_athena_column_names() {
        assert_eq!(cur_column("lineItem/UnblendedCost"), "line_item_unblended_cost");
        assert_eq!(cur_column("lineItem/ProductCode"), "line_item_product_code");
        assert_eq!(cur_column("lineItem/UsageStartDate"), "line_item_usage_start_date");
        assert_eq!(cur_column("resourceTags/user:cost-center"), "resource_tags_user_cost_center");
        assert_eq!(cur_column("resourceTags/user:CostCenter"), "resource_tags_user_cost_center");
        assert_eq!(cur_column("resourceTags/user:MLTeam"), "resource_tags_user_ml_team");
        assert_eq!(cur_column("resourceTags/user:app.name/v2"), "resource_tags_user_app_name_v2");
        assert_eq!(cur_column("line_item_unblended_cost"), "line_item_unblended_cost");
        assert_eq!(tag_column("environment"), "resource_tags_user_environment");
    }

    #[test]
    fn example_policy_queries_cover_every_required_key() {
        let policy = Policy::example().unwrap();
        let queries = athena_queries(&policy.tags, "cur", "report");
        let names: Vec<_> = queries.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "tagwarden-sagemaker-cost-by-cost-center",
                "tagwarden-sagemaker-cost-by-team",
                "tagwarden-sagemaker-cost-by-environment",
                MISSING_TAGS_QUERY
            ]
        );
        assert!(queries[0].sql.contains("GROUP BY 1") && queries[0].sql.contains("resource_tags_user_cost_center"));
        let missing = &queries[3].sql;
        for key in policy.tags.required_keys() {
            assert!(missing.contains(&format!("COALESCE({}, '') = ''", tag_column(key))), "{key}");
        }
        assert!(queries.iter().all(|q| q.sql.contains("FROM \"cur\".\"report\"")));
    }

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
            product_code: product.into(),
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

        #[test]
        fn cur_columns_are_lower_snake_case_and_stable(header in "[ -~]{0,40}") {
            let column = cur_column(&header);
            prop_assert!(column.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            prop_assert!(!column.starts_with('_') && !column.ends_with('_') && !column.contains("__"));
            prop_assert_eq!(cur_column(&column), column.clone());
        }
    }
}

#[cfg(test)]
mod apply_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use aws_sdk_costexplorer::operation::list_cost_allocation_tags::ListCostAllocationTagsOutput;
    use aws_sdk_costexplorer::operation::update_cost_allocation_tags_status::UpdateCostAllocationTagsStatusOutput;
    use aws_sdk_costexplorer::types::{CostAllocationTag, CostAllocationTagType, UpdateCostAllocationTagsStatusError};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use tagwarden::Policy;

    type Ce = aws_sdk_costexplorer::Client;

    fn tag(key: &str, status: CostAllocationTagStatus) -> CostAllocationTag {
        CostAllocationTag::builder()
            .tag_key(key)
            .r#type(CostAllocationTagType::UserDefined)
            .status(status)
            .build()
            .unwrap()
    }

    fn client(rules: &[&Rule]) -> Ce {
        let no_retry = |c: aws_sdk_costexplorer::config::Builder| {
            c.retry_config(aws_sdk_costexplorer::config::retry::RetryConfig::disabled())
        };
        mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, rules.iter().copied(), no_retry)
    }

    fn example() -> TagPolicy {
        Policy::example().unwrap().tags
    }

    #[tokio::test]
    async fn every_page_of_billings_list_is_read() {
        let list = mock!(Ce::list_cost_allocation_tags)
            .sequence()
            .output(|| {
                ListCostAllocationTagsOutput::builder()
                    .cost_allocation_tags(tag("cost-center", CostAllocationTagStatus::Active))
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                ListCostAllocationTagsOutput::builder()
                    .cost_allocation_tags(tag("team", CostAllocationTagStatus::Active))
                    .cost_allocation_tags(tag("environment", CostAllocationTagStatus::Active))
                    .build()
            })
            .build();
        let outcome = activate_tags(&client(&[&list]), &example(), false).await.unwrap();
        assert_eq!(outcome.already_active, ["cost-center", "team", "environment"]);
        assert!(outcome.activated.is_empty() && outcome.pending.is_empty());
        assert_eq!(list.num_calls(), 2);
    }

    #[tokio::test]
    async fn per_key_errors_of_the_update_become_pending_or_failed() {
        let list = mock!(Ce::list_cost_allocation_tags).then_output(|| {
            ListCostAllocationTagsOutput::builder()
                .cost_allocation_tags(tag("cost-center", CostAllocationTagStatus::Inactive))
                .cost_allocation_tags(tag("team", CostAllocationTagStatus::Inactive))
                .cost_allocation_tags(tag("environment", CostAllocationTagStatus::Inactive))
                .build()
        });
        let error = |key: &str, code: &str| {
            UpdateCostAllocationTagsStatusError::builder().tag_key(key).code(code).message("from the mock").build()
        };
        let update = mock!(Ce::update_cost_allocation_tags_status)
            .match_requests(|r| r.cost_allocation_tags_status().len() == 3)
            .then_output(move || {
                UpdateCostAllocationTagsStatusOutput::builder()
                    .errors(error("team", "TagKeysNotFoundException"))
                    .errors(error("environment", "SomethingElse"))
                    .build()
            });
        let outcome = activate_tags(&client(&[&list, &update]), &example(), false).await.unwrap();
        assert_eq!(outcome.activated, ["cost-center"]);
        assert_eq!(outcome.pending, ["team"]);
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!((outcome.failed[0].key.as_str(), outcome.failed[0].code.as_str()), ("environment", "SomethingElse"));
    }

    #[tokio::test]
    async fn a_linked_account_is_told_to_use_the_payer_account_and_throttling_stays_retryable() {
        let denied = mock!(Ce::list_cost_allocation_tags).then_http_response(|| {
            let body = r#"{"__type":"AccessDeniedException","Message":"Failed to update Cost Allocation Tag: Linked account doesn't have access to cost allocation tags."}"#;
            HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
        });
        let err = activate_tags(&client(&[&denied]), &example(), false).await.unwrap_err();
        assert!(matches!(err, CostError::NotPayerAccount(_)), "{err:?}");

        let throttled = mock!(Ce::list_cost_allocation_tags).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"LimitExceededException"}"#),
            )
        });
        let err = activate_tags(&client(&[&throttled]), &example(), false).await.unwrap_err();
        assert!(matches!(&err, CostError::Aws(e) if e.is_retryable()), "{err:?}");
    }
}
