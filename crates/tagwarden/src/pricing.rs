//! On-demand prices of SageMaker ML instances, from the AWS Price List API (`pricing:GetProducts`, service
//! `AmazonSageMaker`; the API's endpoint is in us-east-1 whatever region is priced).
//!
//! In: the Price List's records — each a JSON *string* (`PriceList` is a list of strings) with
//! `product.attributes` (`instanceName`, `component`, `regionCode`) and `terms.OnDemand.<offer>.priceDimensions.
//! <rate>.{unit, pricePerUnit.USD}`. Out: [`Prices`], the hourly USD price of one instance type in one region
//! for each [`Usage`] (notebook, hosting, training, …). [`parse_records`] is pure; [`PriceBook`] asks the API
//! once per (region, instance type) — one call answers every usage — and keeps the answer a day in the
//! process; the enforcer keeps it in the ledger table too (`price#<region>#<instance type>`), so that a
//! cold start does not ask again.
//!
//! A record that does not read (not JSON, no `Hrs` dimension, a price that is not a positive number) is
//! left out, never read as 0: a usage without a readable record is *unpriced* and the estimate says so.
//! Where several on-demand records give one usage different prices, the highest is kept (the guard then
//! over-estimates rather than misses).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_pricing::types::{Filter, FilterType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::{AwsError, ResultExt};

/// The Price List's service code for SageMaker.
pub const SERVICE_CODE: &str = "AmazonSageMaker";
/// The region of the Price List API's endpoint.
pub const PRICING_REGION: &str = "us-east-1";
/// How long a price is kept before it is asked again.
pub const REFRESH: Duration = Duration::from_secs(24 * 3600);
/// At most this many pages of `GetProducts` are read for one instance type.
const MAX_PAGES: usize = 10;

/// What an instance is used for: each is a separate line (`component`) of the SageMaker price list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Usage {
    /// A notebook instance.
    Notebook,
    /// A real-time endpoint's instance (and the inference components placed on it).
    Hosting,
    /// A training job's instance.
    Training,
    /// A processing job's instance.
    Processing,
    /// A batch transform job's instance.
    Transform,
    /// A Studio app's instance (JupyterLab, Code Editor, kernel gateway).
    Studio,
    /// A HyperPod cluster's instance.
    Cluster,
}

impl Usage {
    /// The `component` values of the price list that price this usage (compared case-insensitively).
    /// NOTE: `Notebook`, `Hosting`, `Training` and `Processing` are on record; the Studio, transform and
    /// HyperPod names are unconfirmed (several spellings are accepted). Searched again (December 2026): no AWS
    /// page lists the `component` values; one public reader's fixture spells Studio's `studio-jupyterlab`
    /// (accepted), none shows transform's or HyperPod's. An unmatched name leaves the part unpriced, never 0.
    pub fn components(self) -> &'static [&'static str] {
        match self {
            Self::Notebook => &["Notebook"],
            Self::Hosting => &["Hosting"],
            Self::Training => &["Training"],
            Self::Processing => &["Processing"],
            Self::Transform => &["Batch Transform", "BatchTransform", "Transform"],
            Self::Studio => &["Studio Notebook", "studio-jupyterlab", "Studio", "JupyterLab"],
            Self::Cluster => &["HyperPod", "Cluster", "HyperPod Cluster"],
        }
    }

    /// The usage a `component` value prices, if any.
    pub fn of_component(component: &str) -> Option<Self> {
        [Self::Notebook, Self::Hosting, Self::Training, Self::Processing, Self::Transform, Self::Studio, Self::Cluster]
            .into_iter()
            .find(|usage| usage.components().iter().any(|c| c.eq_ignore_ascii_case(component.trim())))
    }
}

/// The hourly on-demand prices of one instance type in one region, by usage (USD).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// USD per hour, by usage; a usage without a readable record is absent.
    pub per_hour: BTreeMap<Usage, f64>,
    /// Records that did not read, and why (kept for the estimate's notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
}

impl Prices {
    /// The price of one usage, if the price list gave one.
    pub fn of(&self, usage: Usage) -> Option<f64> {
        self.per_hour.get(&usage).copied()
    }
}

/// Reads the records `GetProducts` returned for `instance_type` in `region` (pure): the hourly USD
/// on-demand price per usage. Records of another instance type or region are ignored.
pub fn parse_records(records: &[String], region: &str, instance_type: &str) -> Prices {
    let mut prices = Prices::default();
    for (i, record) in records.iter().enumerate() {
        match parse_record(record) {
            Ok(Some(found))
                if found.instance == instance_type && found.region.as_deref().is_none_or(|r| r == region) =>
            {
                let slot = prices.per_hour.entry(found.usage).or_insert(found.per_hour);
                *slot = slot.max(found.per_hour);
            }
            Ok(_) => {}
            Err(why) => prices.rejected.push(format!("record {i}: {why}")),
        }
    }
    prices
}

/// One record read.
struct Record {
    instance: String,
    region: Option<String>,
    usage: Usage,
    per_hour: f64,
}

/// One record: `Ok(None)` for a record that prices something else (no instance, another component).
fn parse_record(record: &str) -> Result<Option<Record>, String> {
    let json: Value = serde_json::from_str(record).map_err(|e| format!("not JSON ({e})"))?;
    let attributes = json.pointer("/product/attributes").and_then(Value::as_object).ok_or("no product.attributes")?;
    let text = |key: &str| attributes.get(key).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let Some(instance) = text("instanceName").or_else(|| text("instanceType")) else { return Ok(None) };
    let Some(usage) = text("component").and_then(Usage::of_component) else { return Ok(None) };
    let on_demand = json.pointer("/terms/OnDemand").and_then(Value::as_object).ok_or("no terms.OnDemand")?;
    let mut best: Option<f64> = None;
    for offer in on_demand.values() {
        let dimensions = offer.get("priceDimensions").and_then(Value::as_object).ok_or("no priceDimensions")?;
        for dimension in dimensions.values() {
            let unit = dimension.get("unit").and_then(Value::as_str).unwrap_or_default();
            if !unit.eq_ignore_ascii_case("Hrs") && !unit.eq_ignore_ascii_case("Hours") {
                continue;
            }
            let usd = dimension.pointer("/pricePerUnit/USD").and_then(Value::as_str).ok_or("no pricePerUnit.USD")?;
            let price: f64 = usd.trim().parse().map_err(|_| format!("price {usd:?} is not a number"))?;
            if !(price.is_finite() && price > 0.0 && price < 100_000.0) {
                return Err(format!("price {usd:?} per hour is not a positive price"));
            }
            best = Some(best.map_or(price, |b| b.max(price)));
        }
    }
    let per_hour = best.ok_or_else(|| format!("{instance} {usage:?}: no hourly on-demand price"))?;
    Ok(Some(Record { instance: instance.to_owned(), region: text("regionCode").map(str::to_owned), usage, per_hour }))
}

/// Prices kept, with when they were fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    /// The prices.
    pub prices: Prices,
    /// When the API gave them.
    pub fetched_at: DateTime<Utc>,
}

impl Fetched {
    /// Whether they are older than [`REFRESH`] at `now`.
    pub fn stale(&self, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(self.fetched_at).to_std().is_ok_and(|age| age >= REFRESH)
    }
}

/// The Price List client with the process's cache (a day); the enforcer keeps fetched prices in its ledger
/// too (`price#<region>#<instance type>`, see `enforce::burn`).
#[derive(Debug)]
pub struct PriceBook {
    client: aws_sdk_pricing::Client,
    cache: Mutex<HashMap<(String, String), Fetched>>,
}

impl PriceBook {
    /// A price book asking through `client` (whose region must be [`PRICING_REGION`]).
    pub fn new(client: aws_sdk_pricing::Client) -> Self {
        Self { client, cache: Mutex::new(HashMap::new()) }
    }

    /// A price book for this configuration: its credentials and endpoint, the Price List's region.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        let conf = aws_sdk_pricing::config::Builder::from(config)
            .region(aws_sdk_pricing::config::Region::new(PRICING_REGION))
            .build();
        Self::new(aws_sdk_pricing::Client::from_conf(conf))
    }

    /// The prices of `instance_type` in `region` this process fetched (or was given) less than a day ago.
    pub fn cached(&self, region: &str, instance_type: &str, now: DateTime<Utc>) -> Option<Prices> {
        let cache = self.cache.lock().ok()?;
        let fetched = cache.get(&(region.to_owned(), instance_type.to_owned()))?;
        (!fetched.stale(now)).then(|| fetched.prices.clone())
    }

    /// Keeps prices in the process cache (fetched here, or read from the ledger).
    pub fn keep(&self, region: &str, instance_type: &str, fetched: Fetched) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert((region.to_owned(), instance_type.to_owned()), fetched);
        }
    }

    /// Asks the API for the prices of `instance_type` in `region` (not cached here: see [`Self::keep`]).
    pub async fn fetch(&self, region: &str, instance_type: &str, now: DateTime<Utc>) -> Result<Fetched, AwsError> {
        let records = self.get_products(region, instance_type).await?;
        Ok(Fetched { prices: parse_records(&records, region, instance_type), fetched_at: now })
    }

    /// Every record of `GetProducts` for the instance type in the region (`TERM_MATCH` on `regionCode` and
    /// `instanceName`), paged.
    async fn get_products(&self, region: &str, instance_type: &str) -> Result<Vec<String>, AwsError> {
        let filter = |field: &str, value: &str| {
            Filter::builder().r#type(FilterType::TermMatch).field(field).value(value).build().map_err(|e| {
                AwsError::Rejected { operation: "GetProducts", code: "Build".into(), message: e.to_string() }
            })
        };
        let filters = vec![filter("regionCode", region)?, filter("instanceName", instance_type)?];
        let mut records = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .get_products()
                .service_code(SERVICE_CODE)
                .format_version("aws_v1")
                .set_filters(Some(filters.clone()))
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .aws("GetProducts")?;
            records.extend(page.price_list().iter().cloned());
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(instance: &str, component: &str, region: &str, usd: &str) -> String {
        json!({
            "product": {"productFamily": "ML Instance", "sku": "SKU1",
                "attributes": {"instanceName": instance, "component": component, "regionCode": region,
                    "servicecode": "AmazonSageMaker", "usagetype": format!("USE1-Host:{instance}")}},
            "serviceCode": "AmazonSageMaker",
            "terms": {"OnDemand": {"SKU1.JRTCKXETXF": {"offerTermCode": "JRTCKXETXF", "sku": "SKU1",
                "priceDimensions": {"SKU1.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "description": "x",
                    "pricePerUnit": {"USD": usd}}}}}},
            "version": "20251101000000", "publicationDate": "2025-11-01T00:00:00Z"
        })
        .to_string()
    }

    #[test]
    fn each_component_of_an_instance_type_gives_its_usage_an_hourly_price() {
        let records = [
            record("ml.m5.xlarge", "Hosting", "us-east-1", "0.2690000000"),
            record("ml.m5.xlarge", "Training", "us-east-1", "0.2300000000"),
            record("ml.m5.xlarge", "Notebook", "us-east-1", "0.2300000000"),
            record("ml.m5.xlarge", "Hosting", "eu-west-1", "0.3000000000"),
            record("ml.g5.xlarge", "Hosting", "us-east-1", "1.4080000000"),
        ];
        let prices = parse_records(&records, "us-east-1", "ml.m5.xlarge");
        assert_eq!(prices.of(Usage::Hosting), Some(0.269));
        assert_eq!(prices.of(Usage::Training), Some(0.23));
        assert_eq!(prices.of(Usage::Notebook), Some(0.23));
        assert_eq!(prices.of(Usage::Studio), None, "no record: unpriced, never 0");
        assert!(prices.rejected.is_empty());
    }

    #[test]
    fn a_forged_or_unreadable_price_is_rejected_never_read_as_zero() {
        let records = [
            record("ml.m5.xlarge", "Hosting", "us-east-1", "free"),
            record("ml.m5.xlarge", "Training", "us-east-1", "-1"),
            record("ml.m5.xlarge", "Notebook", "us-east-1", "0.0000000000"),
            "{not json".to_owned(),
        ];
        let prices = parse_records(&records, "us-east-1", "ml.m5.xlarge");
        assert!(prices.per_hour.is_empty(), "{prices:?}");
        assert_eq!(prices.rejected.len(), 4, "{:?}", prices.rejected);
        assert!(prices.rejected[0].contains("\"free\" is not a number"), "{:?}", prices.rejected);
        assert!(prices.rejected[1].contains("not a positive price"));
    }

    #[test]
    fn of_two_on_demand_prices_for_one_usage_the_higher_is_kept() {
        let records = [
            record("ml.g5.xlarge", "Hosting", "us-east-1", "1.2000000000"),
            record("ml.g5.xlarge", "hosting", "us-east-1", "1.4080000000"),
        ];
        assert_eq!(parse_records(&records, "us-east-1", "ml.g5.xlarge").of(Usage::Hosting), Some(1.408));
    }

    #[test]
    fn components_name_usages_case_insensitively_and_others_are_ignored() {
        assert_eq!(Usage::of_component("hosting"), Some(Usage::Hosting));
        assert_eq!(Usage::of_component("Studio Notebook"), Some(Usage::Studio));
        assert_eq!(Usage::of_component("Batch Transform"), Some(Usage::Transform));
        assert_eq!(Usage::of_component("Data Wrangler"), None);
        let other = record("ml.m5.xlarge", "Data Wrangler", "us-east-1", "0.9");
        assert!(parse_records(&[other], "us-east-1", "ml.m5.xlarge").per_hour.is_empty());
    }

    #[test]
    fn prices_are_refreshed_after_a_day() {
        let fetched_at = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let fetched = Fetched { prices: Prices::default(), fetched_at };
        assert!(!fetched.stale(fetched_at + chrono::Duration::hours(23)));
        assert!(fetched.stale(fetched_at + chrono::Duration::hours(24)));
    }
}
