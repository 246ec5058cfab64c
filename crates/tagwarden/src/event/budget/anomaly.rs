//! The JSON an AWS Cost Anomaly Detection subscription publishes to SNS (`IMMEDIATE` frequency): one anomaly,
//! its monitor, its dollar impact and its root causes.
//!
//! In: the SNS `Message` when it is a JSON object with an `anomalyId` key. Out: an [`AnomalyAlert`], or an
//! [`AlertError::BadAnomaly`] naming the missing or unreadable field. Everything in it is a claim: the
//! enforcer looks the anomaly up by id (`ce:GetAnomalies`) before acting on any of it.
//!
//! Fields as AWS documents them (Cost Management user guide, "Viewing your anomalies"): `accountId`,
//! `anomalyId`, `anomalyStartDate`/`anomalyEndDate` (`2021-05-25T00:00:00Z`), `anomalyDetailsLink`,
//! `anomalyScore{currentScore,maxScore}`, `impact{maxImpact,totalActualSpend,totalExpectedSpend,totalImpact,
//! totalImpactPercentage}`, `monitorArn`, `monitorName`, `monitorType`, `dimensionalValue`,
//! `rootCauses[{service,region,linkedAccount,linkedAccountName,usageType}]`, `subscriptionId`,
//! `subscriptionName`. Required: `anomalyId`, `monitorArn`, `anomalyStartDate`, `impact.totalImpact`; the rest
//! is optional and a field of the wrong JSON type reads as absent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AlertError, clip};
use crate::date::Date;
use crate::ids::is_account_id;

/// The impact figures are USD; anything above this is not a believable anomaly.
const MAX_IMPACT: f64 = 1e12;
/// The API model's limit on ids and ARNs.
const MAX_ID: usize = 1024;
/// At most this many root causes are kept (AWS ranks them by impact; the notice lists a few).
const MAX_ROOT_CAUSES: usize = 50;

/// The dollar impact of an anomaly, as AWS's `Impact` shape: `totalImpact` is required, the rest optional.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnomalyImpact {
    /// `totalImpact`: actual minus expected spend over the anomaly, USD.
    pub total_impact: f64,
    /// `maxImpact`: the largest daily impact, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_impact: Option<f64>,
    /// `totalActualSpend`, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_actual_spend: Option<f64>,
    /// `totalExpectedSpend`, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_expected_spend: Option<f64>,
    /// `totalImpactPercentage`: the impact over the expected spend, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_impact_percentage: Option<f64>,
}

/// One root cause: where the unexpected spend came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCause {
    /// `service`, e.g. `Amazon SageMaker`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `region`, e.g. `us-east-1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `linkedAccount`: the 12-digit account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_account: Option<String>,
    /// `linkedAccountName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_account_name: Option<String>,
    /// `usageType`, e.g. `USE1-Notebk:ml.p3.2xlarge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_type: Option<String>,
}

impl RootCause {
    /// Whether the service is Amazon SageMaker (`Amazon SageMaker`, `AmazonSageMaker`; any case).
    pub fn is_sagemaker(&self) -> bool {
        self.service.as_deref().is_some_and(is_sagemaker_service)
    }

    /// `Amazon SageMaker in us-east-1, account 123456789012 (ml-prod), USE1-Notebk:ml.p3.2xlarge`.
    pub fn describe(&self) -> String {
        let mut text = self.service.clone().unwrap_or_else(|| "(no service)".into());
        if let Some(region) = &self.region {
            text.push_str(&format!(" in {region}"));
        }
        if let Some(account) = &self.linked_account {
            text.push_str(&format!(", account {account}"));
            if let Some(name) = &self.linked_account_name {
                text.push_str(&format!(" ({name})"));
            }
        }
        if let Some(usage) = &self.usage_type {
            text.push_str(&format!(", {usage}"));
        }
        text
    }
}

/// Whether a Cost Explorer service name is Amazon SageMaker's.
pub fn is_sagemaker_service(service: &str) -> bool {
    let squashed: String = service.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect();
    squashed == "amazonsagemaker" || squashed == "sagemaker"
}

/// One Cost Anomaly Detection alert, as its SNS message claims it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyAlert {
    /// `anomalyId`.
    pub anomaly_id: String,
    /// `accountId` (12 digits), else the SNS topic's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `monitorArn`: `arn:aws:ce::<account>:anomalymonitor/<id>`.
    pub monitor_arn: String,
    /// `monitorName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor_name: Option<String>,
    /// `monitorType`: `DIMENSIONAL` or `CUSTOM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor_type: Option<String>,
    /// `dimensionalValue`: the service of a service monitor, the tag value of a tag monitor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensional_value: Option<String>,
    /// The day of `anomalyStartDate`.
    pub start_date: Date,
    /// The day of `anomalyEndDate` (absent while the anomaly goes on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Date>,
    /// `anomalyScore.currentScore`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_score: Option<f64>,
    /// `anomalyScore.maxScore`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_score: Option<f64>,
    /// `impact`.
    pub impact: AnomalyImpact,
    /// `rootCauses` (at most 50).
    pub root_causes: Vec<RootCause>,
    /// `anomalyDetailsLink`, kept only when it points at the AWS console (a forged link is dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details_link: Option<String>,
    /// `subscriptionId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// `subscriptionName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_name: Option<String>,
    /// The SNS topic the alert came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
}

impl AnomalyAlert {
    /// The monitor's name, else its ARN (what notices and the ledger call it).
    pub fn monitor_label(&self) -> &str {
        self.monitor_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(&self.monitor_arn)
    }

    /// Whether any root cause is Amazon SageMaker.
    pub fn names_sagemaker(&self) -> bool {
        self.root_causes.iter().any(RootCause::is_sagemaker)
    }
}

/// Whether a message parsed as JSON is an anomaly alert (an object with an `anomalyId` key).
pub(super) fn is_anomaly(json: &Value) -> bool {
    json.as_object().is_some_and(|o| o.contains_key("anomalyId"))
}

/// Reads an anomaly alert from the SNS message's JSON (an object with an `anomalyId` key).
pub fn parse_anomaly(json: &Value) -> Result<AnomalyAlert, AlertError> {
    let bad = |why: String| AlertError::BadAnomaly(why);
    let Some(object) = json.as_object() else {
        return Err(bad("the message is not a JSON object".into()));
    };
    let anomaly_id = required_id(object, "anomalyId")?;
    let monitor_arn = required_id(object, "monitorArn")?;
    if !is_monitor_arn(&monitor_arn) {
        return Err(bad(format!("monitorArn '{}' is not an anomaly monitor's ARN", clip(&monitor_arn))));
    }
    let start_date = match object.get("anomalyStartDate") {
        Some(Value::String(text)) => day(text).map_err(|why| bad(format!("anomalyStartDate: {why}")))?,
        Some(_) => return Err(bad("anomalyStartDate is not a string".into())),
        None => return Err(bad("no anomalyStartDate".into())),
    };
    let end_date = match object.get("anomalyEndDate") {
        Some(Value::String(text)) => Some(day(text).map_err(|why| bad(format!("anomalyEndDate: {why}")))?),
        _ => None,
    };
    if end_date.is_some_and(|end| end < start_date) {
        return Err(bad("anomalyEndDate is before anomalyStartDate".into()));
    }
    let impact = match object.get("impact") {
        Some(Value::Object(impact)) => read_impact(impact)?,
        Some(_) => return Err(bad("impact is not an object".into())),
        None => return Err(bad("no impact".into())),
    };
    let score = object.get("anomalyScore").and_then(Value::as_object);
    let score = |key: &str| score.and_then(|s| s.get(key)).and_then(number).filter(|n| n.is_finite());
    let root_causes = match object.get("rootCauses") {
        Some(Value::Array(causes)) => {
            causes.iter().filter_map(Value::as_object).take(MAX_ROOT_CAUSES).map(read_root_cause).collect()
        }
        _ => Vec::new(),
    };
    let details_link = text(object, "anomalyDetailsLink").filter(|link| is_console_link(link));
    Ok(AnomalyAlert {
        anomaly_id,
        account_id: text(object, "accountId").filter(|id| is_account_id(id)),
        monitor_arn,
        monitor_name: text(object, "monitorName"),
        monitor_type: text(object, "monitorType"),
        dimensional_value: text(object, "dimensionalValue"),
        start_date,
        end_date,
        current_score: score("currentScore"),
        max_score: score("maxScore"),
        impact,
        root_causes,
        details_link,
        subscription_id: text(object, "subscriptionId"),
        subscription_name: text(object, "subscriptionName"),
        topic_arn: None,
    })
}

/// `arn:<partition>:ce::<12 digits>:anomalymonitor/<id>`.
pub fn is_monitor_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "ce", _, account, resource]
        if partition.starts_with("aws") && is_account_id(account)
            && resource.strip_prefix("anomalymonitor/").is_some_and(|id| !id.is_empty()))
}

/// The AWS console's own pages (`https://console.aws.amazon.com/…`, the China and GovCloud consoles).
fn is_console_link(link: &str) -> bool {
    ["https://console.aws.amazon.com/", "https://console.amazonaws.cn/", "https://console.amazonaws-us-gov.com/"]
        .iter()
        .any(|prefix| link.starts_with(prefix))
        && !link.chars().any(char::is_whitespace)
}

/// The day of `2021-05-25T00:00:00Z` or `2021-05-25`.
fn day(text: &str) -> Result<Date, String> {
    let date = text.trim().get(..10).ok_or_else(|| format!("'{}' is not a date", clip(text)))?;
    Date::parse(date).map_err(|_| format!("'{}' is not a date", clip(text)))
}

fn required_id(object: &Map<String, Value>, key: &str) -> Result<String, AlertError> {
    match object.get(key) {
        Some(Value::String(id)) if id.trim().is_empty() => Err(AlertError::BadAnomaly(format!("{key} is empty"))),
        Some(Value::String(id)) if id.len() > MAX_ID || id.chars().any(char::is_control) => {
            Err(AlertError::BadAnomaly(format!("{key} '{}' is not an id AWS would send", clip(id))))
        }
        Some(Value::String(id)) => Ok(id.trim().to_owned()),
        Some(_) => Err(AlertError::BadAnomaly(format!("{key} is not a string"))),
        None => Err(AlertError::BadAnomaly(format!("no {key}"))),
    }
}

fn read_impact(impact: &Map<String, Value>) -> Result<AnomalyImpact, AlertError> {
    let figure = |key: &str| -> Result<Option<f64>, AlertError> {
        match impact.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match number(value) {
                Some(n) if n.is_finite() && n.abs() <= MAX_IMPACT => Ok(Some(n)),
                _ => Err(AlertError::BadAnomaly(format!(
                    "impact.{key} '{}' is not a plausible amount",
                    clip(&value.to_string())
                ))),
            },
        }
    };
    let Some(total_impact) = figure("totalImpact")? else {
        return Err(AlertError::BadAnomaly("no impact.totalImpact".into()));
    };
    Ok(AnomalyImpact {
        total_impact,
        max_impact: figure("maxImpact")?,
        total_actual_spend: figure("totalActualSpend")?,
        total_expected_spend: figure("totalExpectedSpend")?,
        total_impact_percentage: figure("totalImpactPercentage")?,
    })
}

fn read_root_cause(cause: &Map<String, Value>) -> RootCause {
    RootCause {
        service: text(cause, "service"),
        region: text(cause, "region"),
        linked_account: text(cause, "linkedAccount"),
        linked_account_name: text(cause, "linkedAccountName"),
        usage_type: text(cause, "usageType"),
    }
}

/// A string field, trimmed and clipped to the model's 1024 characters; anything else is absent.
fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    let value = object.get(key)?.as_str()?.trim();
    (!value.is_empty()).then(|| value.chars().take(MAX_ID).collect())
}

/// A JSON number, or a string holding one (`"151.2"`).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AlertError, BudgetEvent, parse_budget_envelope, parse_budget_event};
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const MONITOR: &str = "arn:aws:ce::123456789012:anomalymonitor/abcdef12-1234-4ea0-84cc-918a97d736ef";

    /// AWS's documented example message, with a SageMaker root cause and the monitor's name and type.
    fn documented() -> Value {
        json!({
            "accountId": "123456789012",
            "anomalyDetailsLink": "https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/abcdef12-1234-4ea0-84cc-918a97d736ef/anomalies/12345678-abcd-ef12-3456-987654321a12",
            "anomalyEndDate": "2021-05-25T00:00:00Z",
            "anomalyId": "12345678-abcd-ef12-3456-987654321a12",
            "anomalyScore": {"currentScore": 0.47, "maxScore": 0.47},
            "anomalyStartDate": "2021-05-24T00:00:00Z",
            "dimensionalValue": "nlp",
            "impact": {"maxImpact": 151, "totalActualSpend": 1301, "totalExpectedSpend": 300, "totalImpact": 1001, "totalImpactPercentage": 333.67},
            "monitorArn": MONITOR,
            "monitorName": "ml-team-spend",
            "monitorType": "CUSTOM",
            "rootCauses": [{"linkedAccount": "123456789012", "linkedAccountName": "ml-prod", "region": "us-east-1",
                            "service": "Amazon SageMaker", "usageType": "USE1-Notebk:ml.p3.2xlarge", "impact": {"contribution": 601}}],
            "subscriptionId": "874c100c-59a6-4abb-a10a-4682cc3f2d69",
            "subscriptionName": "alertSubscription"
        })
    }

    fn sns(message: &Value) -> Value {
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {
            "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:210987654321:cost-anomalies",
            "Subject": "AWS Cost Anomaly Detection", "Message": message.to_string()}}]})
    }

    fn error(message: &Value) -> String {
        parse_anomaly(message).unwrap_err().to_string()
    }

    #[test]
    fn the_documented_message_is_read_field_by_field() {
        let anomaly = parse_anomaly(&documented()).unwrap();
        assert_eq!(anomaly.anomaly_id, "12345678-abcd-ef12-3456-987654321a12");
        assert_eq!(anomaly.account_id.as_deref(), Some("123456789012"));
        assert_eq!(anomaly.monitor_arn, MONITOR);
        assert_eq!(anomaly.monitor_name.as_deref(), Some("ml-team-spend"));
        assert_eq!(anomaly.monitor_type.as_deref(), Some("CUSTOM"));
        assert_eq!(anomaly.dimensional_value.as_deref(), Some("nlp"));
        assert_eq!(anomaly.start_date, Date::parse("2021-05-24").unwrap());
        assert_eq!(anomaly.end_date, Some(Date::parse("2021-05-25").unwrap()));
        assert_eq!((anomaly.current_score, anomaly.max_score), (Some(0.47), Some(0.47)));
        assert_eq!(
            anomaly.impact,
            AnomalyImpact {
                total_impact: 1001.0,
                max_impact: Some(151.0),
                total_actual_spend: Some(1301.0),
                total_expected_spend: Some(300.0),
                total_impact_percentage: Some(333.67),
            }
        );
        assert_eq!(
            anomaly.root_causes,
            [RootCause {
                service: Some("Amazon SageMaker".into()),
                region: Some("us-east-1".into()),
                linked_account: Some("123456789012".into()),
                linked_account_name: Some("ml-prod".into()),
                usage_type: Some("USE1-Notebk:ml.p3.2xlarge".into()),
            }]
        );
        assert!(anomaly.names_sagemaker());
        assert!(
            anomaly.details_link.as_deref().unwrap().starts_with("https://console.aws.amazon.com/cost-management/")
        );
        assert_eq!(anomaly.subscription_id.as_deref(), Some("874c100c-59a6-4abb-a10a-4682cc3f2d69"));
        assert_eq!(anomaly.subscription_name.as_deref(), Some("alertSubscription"));
        assert_eq!(anomaly.monitor_label(), "ml-team-spend");
    }

    #[test]
    fn an_sns_delivery_of_an_anomaly_is_an_anomaly_event_with_its_topic() {
        let envelope = parse_budget_envelope(&sns(&documented())).unwrap();
        let BudgetEvent::Anomaly(anomaly) = envelope.event else { panic!("expected an anomaly") };
        assert_eq!(anomaly.topic_arn.as_deref(), Some("arn:aws:sns:us-east-1:210987654321:cost-anomalies"));
        assert_eq!(envelope.sns.unwrap().message_id.as_deref(), Some("m-1"));
        let mut no_account = documented();
        no_account.as_object_mut().unwrap().remove("accountId");
        let BudgetEvent::Anomaly(anomaly) = parse_budget_event(&sns(&no_account)).unwrap() else { panic!() };
        assert_eq!(anomaly.account_id.as_deref(), Some("210987654321"), "the topic's account as a fallback");
    }

    #[test]
    fn json_that_is_not_an_anomaly_keeps_its_classified_error() {
        let alarm = json!({"AlarmName": "x", "NewStateValue": "ALARM"});
        let err = parse_budget_event(&sns(&alarm)).unwrap_err().to_string();
        assert!(err.starts_with("not an AWS Budgets alert: the message is JSON (keys: AlarmName"), "{err}");
    }

    #[test]
    fn the_optional_fields_may_be_absent_or_of_the_wrong_type() {
        let minimal = json!({"anomalyId": "a-1", "monitorArn": MONITOR, "anomalyStartDate": "2026-11-20",
            "impact": {"totalImpact": "12.5"}, "monitorName": 7, "rootCauses": "EC2", "anomalyScore": [1],
            "accountId": "not-an-account"});
        let anomaly = parse_anomaly(&minimal).unwrap();
        assert_eq!(anomaly.impact.total_impact, 12.5);
        assert_eq!((&anomaly.monitor_name, &anomaly.account_id, anomaly.current_score), (&None, &None, None));
        assert!(anomaly.root_causes.is_empty() && !anomaly.names_sagemaker());
        assert_eq!(anomaly.end_date, None);
        assert_eq!(anomaly.monitor_label(), MONITOR);
    }

    #[test]
    fn a_missing_or_malformed_required_field_is_named() {
        let with = |key: &str, value: Value| {
            let mut message = documented();
            match value {
                Value::Null => drop(message.as_object_mut().unwrap().remove(key)),
                value => message[key] = value,
            }
            error(&message)
        };
        assert_eq!(with("anomalyId", Value::Null), "not a readable cost anomaly alert: no anomalyId");
        assert_eq!(with("anomalyId", json!(" ")), "not a readable cost anomaly alert: anomalyId is empty");
        assert_eq!(with("anomalyId", json!(5)), "not a readable cost anomaly alert: anomalyId is not a string");
        assert_eq!(with("monitorArn", Value::Null), "not a readable cost anomaly alert: no monitorArn");
        assert!(
            with("monitorArn", json!("arn:aws:sns:us-east-1:123456789012:x"))
                .contains("is not an anomaly monitor's ARN")
        );
        assert_eq!(with("anomalyStartDate", Value::Null), "not a readable cost anomaly alert: no anomalyStartDate");
        assert!(with("anomalyStartDate", json!("yesterday")).contains("anomalyStartDate: 'yesterday' is not a date"));
        assert!(with("anomalyEndDate", json!("2021-05-01")).contains("anomalyEndDate is before anomalyStartDate"));
        assert_eq!(with("impact", Value::Null), "not a readable cost anomaly alert: no impact");
        assert_eq!(with("impact", json!({"maxImpact": 1})), "not a readable cost anomaly alert: no impact.totalImpact");
        assert!(
            with("impact", json!({"totalImpact": "lots"}))
                .contains("impact.totalImpact '\"lots\"' is not a plausible amount")
        );
        assert!(with("impact", json!({"totalImpact": 1e15})).contains("is not a plausible amount"));
        assert_eq!(error(&json!(["anomalyId"])), "not a readable cost anomaly alert: the message is not a JSON object");
    }

    #[test]
    fn a_details_link_outside_the_aws_console_is_dropped() {
        let mut message = documented();
        message["anomalyDetailsLink"] = json!("https://console.aws.amazon.com.evil.example/login");
        assert_eq!(parse_anomaly(&message).unwrap().details_link, None);
        message["anomalyDetailsLink"] = json!("https://evil.example/https://console.aws.amazon.com/");
        assert_eq!(parse_anomaly(&message).unwrap().details_link, None);
    }

    #[test]
    fn sagemaker_is_recognised_however_cost_explorer_spells_it() {
        for service in ["Amazon SageMaker", "AmazonSageMaker", "amazon sagemaker", "SageMaker"] {
            assert!(is_sagemaker_service(service), "{service}");
        }
        for service in ["Amazon Elastic Compute Cloud - Compute", "Amazon SageMaker Studio Lab Fake", ""] {
            assert!(!is_sagemaker_service(service), "{service}");
        }
    }

    #[test]
    fn monitor_arns_are_checked_for_shape() {
        assert!(is_monitor_arn(MONITOR));
        assert!(is_monitor_arn("arn:aws-cn:ce::123456789012:anomalymonitor/x"));
        assert!(!is_monitor_arn("arn:aws:ce::123456789012:anomalysubscription/x"));
        assert!(!is_monitor_arn("arn:aws:ce::12345:anomalymonitor/x"));
        assert!(!is_monitor_arn("arn:aws:ce::123456789012:anomalymonitor/"));
    }

    #[test]
    fn bad_anomaly_errors_are_not_retryable_bad_input() {
        let err = parse_budget_event(&sns(&json!({"anomalyId": "a"}))).unwrap_err();
        assert!(matches!(err, AlertError::BadAnomaly(_)), "{err:?}");
    }

    proptest! {
        #[test]
        fn any_json_with_an_anomaly_id_is_an_anomaly_or_a_named_error(
            id in prop_oneof![Just(json!("a-1")), Just(json!(1)), Just(Value::Null)],
            total in prop_oneof![Just(json!(1.5)), Just(json!("2")), Just(json!(-3)), Just(json!({})), Just(json!(1e300))],
            start in prop_oneof![Just(json!("2026-11-20T00:00:00Z")), Just(json!("2026-13-01")), Just(json!(""))],
            causes in prop::collection::vec(prop_oneof![Just(json!({"service": "Amazon SageMaker"})), Just(json!(3)), Just(json!({"service": 4}))], 0..4),
        ) {
            let message = json!({"anomalyId": id, "monitorArn": MONITOR, "anomalyStartDate": start,
                "impact": {"totalImpact": total}, "rootCauses": causes});
            match parse_anomaly(&message) {
                Ok(anomaly) => prop_assert!(anomaly.impact.total_impact.is_finite() && !anomaly.anomaly_id.is_empty()),
                Err(e) => prop_assert!(e.to_string().starts_with("not a readable cost anomaly alert: ")),
            }
        }
    }
}
