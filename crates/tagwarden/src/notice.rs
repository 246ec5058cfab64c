//! Every SNS notice Tagwarden publishes, in one shape: a [`Notice`] with a subject, routing attributes and
//! a body, published by [`publish`].
//!
//! In: what a notice is about (its kind, budget, the tag values of what it concerns). Out: an SNS `Publish`
//! whose message attributes (`kind`, `budget`, `team`, `cost-center`, `environment`, `account`,
//! `severity`; String type; only those with a value) let each team subscribe with a filter policy, and
//! whose body is Amazon Q Developer in chat's custom-notification JSON (`version` 1.0, `source` custom,
//! `content` with client-markdown `title`, `description`, `nextSteps`, `keywords`; `metadata`), which a
//! chat channel renders and a person reads as indented JSON.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{Value, json};

use crate::aws::{AwsError, ResultExt};

/// The attribute naming what kind of notice this is (`enforcement`, `non-compliant`, …).
pub const KIND: &str = "kind";
/// The attribute naming the budget a notice is about.
pub const BUDGET: &str = "budget";
/// The attribute naming the team (the `team` tag value) a notice concerns.
pub const TEAM: &str = "team";
/// The attribute naming the cost center (the `cost-center` tag value) a notice concerns.
pub const COST_CENTER: &str = "cost-center";
/// The attribute naming the environment (the `environment` tag value) a notice concerns.
pub const ENVIRONMENT: &str = "environment";
/// The attribute naming the AWS account a notice concerns.
pub const ACCOUNT: &str = "account";
/// The attribute giving the notice's [`Severity`].
pub const SEVERITY: &str = "severity";

/// The tag keys whose values become routing attributes of the same name.
pub const ROUTING_TAGS: [&str; 3] = [TEAM, COST_CENTER, ENVIRONMENT];

/// SNS accepts at most 10 message attributes per message.
pub const MAX_ATTRIBUTES: usize = 10;

/// Amazon Q Developer in chat truncates longer titles; the description allows far more.
const MAX_TITLE: usize = 250;
/// A conservative cap on the description so the message stays well under SNS's 256 KiB.
const MAX_DESCRIPTION: usize = 8000;

/// How urgent a notice is: the `severity` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// For the record: nothing needs doing.
    Info,
    /// Someone should look: a resource out of policy, a budget nearing its limit, an unverified alert.
    Warning,
    /// Tagwarden acted (stopped, scaled, denied) or cannot act at all.
    Critical,
}

impl Severity {
    /// The attribute's value: `info`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// One notice: subject line, routing attributes, and the parts of its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The SNS `Subject` (made legal by [`crate::tag_rules::sns_subject`] when published).
    pub subject: String,
    /// The chat title.
    pub title: String,
    /// The body a person reads: the description in markdown.
    pub description: String,
    /// What someone should do next, one line each.
    pub next_steps: Vec<String>,
    /// Short words chat shows as labels.
    pub keywords: Vec<String>,
    /// ARNs the notice is about.
    pub resources: Vec<String>,
    /// Details for machines (`metadata.additionalContext`), strings only.
    pub context: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
}

impl Notice {
    /// A notice of `kind` and `severity` whose subject is also its title.
    pub fn new(kind: &str, severity: Severity, subject: impl Into<String>, description: impl Into<String>) -> Self {
        let subject = subject.into();
        let mut notice = Self {
            title: subject.clone(),
            subject,
            description: description.into(),
            next_steps: Vec::new(),
            keywords: vec!["Tagwarden".to_owned(), kind.to_owned()],
            resources: Vec::new(),
            context: BTreeMap::new(),
            attributes: BTreeMap::new(),
        };
        notice.set(KIND, Some(kind));
        notice.set(SEVERITY, Some(severity.as_str()));
        notice
    }

    /// Sets attribute `name` to `value`, trimmed; an absent or blank value is skipped, and an attribute
    /// beyond the tenth is dropped (SNS refuses the message otherwise).
    pub fn set(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return self;
        };
        if self.attributes.len() < MAX_ATTRIBUTES || self.attributes.contains_key(name) {
            self.attributes.insert(name.to_owned(), value.to_owned());
        }
        self
    }

    /// Sets `team`, `cost-center` and `environment` from the tags of the same keys, where present.
    pub fn route_by_tags<'a>(&mut self, tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> &mut Self {
        for (key, value) in tags {
            if ROUTING_TAGS.contains(&key.as_str()) {
                self.set(key, Some(value));
            }
        }
        self
    }

    /// Sets `account` from the fifth field of an ARN (`arn:aws:sagemaker:region:account:…`).
    pub fn account_of_arn(&mut self, arn: &str) -> &mut Self {
        self.set(ACCOUNT, arn.split(':').nth(4))
    }

    /// Adds a next step.
    pub fn step(&mut self, text: impl Into<String>) -> &mut Self {
        self.next_steps.push(text.into());
        self
    }

    /// Adds a detail to `metadata.additionalContext` (skipped when blank).
    pub fn detail(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if !value.trim().is_empty() {
            self.context.insert(key.to_owned(), value);
        }
        self
    }

    /// The routing attributes, by name.
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }

    /// The body: Amazon Q Developer in chat's custom-notification JSON, indented for people.
    pub fn body(&self) -> String {
        let mut keywords = self.keywords.clone();
        keywords.extend(self.attributes.get(BUDGET).cloned());
        keywords.extend(self.attributes.get(COST_CENTER).cloned());
        keywords.dedup();
        let mut context: BTreeMap<String, String> = self.attributes.clone();
        context.extend(self.context.clone());
        let value = json!({
            "version": "1.0",
            "source": "custom",
            "content": {
                "textType": "client-markdown",
                "title": clip_chars(&self.title, MAX_TITLE),
                "description": clip_chars(&self.description, MAX_DESCRIPTION),
                "nextSteps": self.next_steps,
                "keywords": keywords,
            },
            "metadata": {
                "summary": crate::tag_rules::sns_subject(&self.subject),
                "eventType": self.attributes.get(KIND),
                "relatedResources": self.resources,
                "additionalContext": context,
            },
        });
        serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
    }

    /// The SNS message attributes: one String attribute per routing value.
    pub fn message_attributes(&self) -> HashMap<String, MessageAttributeValue> {
        self.attributes
            .iter()
            .filter_map(|(name, value)| {
                let attribute = MessageAttributeValue::builder().data_type("String").string_value(value).build();
                attribute.ok().map(|a| (name.clone(), a))
            })
            .collect()
    }
}

/// Reads back a published body: the description, or `None` when it is not a Tagwarden notice.
pub fn description_of(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    (value["source"] == "custom").then(|| value["content"]["description"].as_str().map(str::to_owned))?
}

/// Publishes `notice` to `topic`. The caller decides which failures matter (retryable ones, usually).
pub async fn publish(sns: &aws_sdk_sns::Client, topic: &str, notice: &Notice) -> Result<(), AwsError> {
    sns.publish()
        .topic_arn(topic)
        .subject(crate::tag_rules::sns_subject(&notice.subject))
        .message(notice.body())
        .set_message_attributes(Some(notice.message_attributes()))
        .send()
        .await
        .aws("Publish")
        .map(drop)
}

/// At most `max` characters of `text`, the cut marked with an ellipsis.
fn clip_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sns::operation::publish::{PublishInput, PublishOutput};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_notice_carries_kind_and_severity_and_only_the_routing_tags_with_a_value() {
        let mut notice = Notice::new("enforcement", Severity::Critical, "s", "d");
        notice
            .set(BUDGET, Some("ml-marketing"))
            .route_by_tags(&tags(&[("cost-center", "CC-4100"), ("team", "  "), ("project", "x")]))
            .set(ENVIRONMENT, None)
            .account_of_arn("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/n");
        let names: Vec<&str> = notice.attributes().keys().map(String::as_str).collect();
        assert_eq!(names, ["account", "budget", "cost-center", "kind", "severity"]);
        assert_eq!(notice.attributes()["cost-center"], "CC-4100");
        assert_eq!(notice.attributes()["account"], "123456789012");
        assert_eq!(notice.attributes()["severity"], "critical");
        let sent = notice.message_attributes();
        assert_eq!(sent.len(), 5);
        assert_eq!(sent["budget"].data_type(), "String");
        assert_eq!(sent["budget"].string_value(), Some("ml-marketing"));
    }

    #[test]
    fn values_are_trimmed_and_an_arn_without_an_account_sets_none() {
        let mut notice = Notice::new("plan", Severity::Warning, "s", "d");
        notice.set(TEAM, Some("  research ")).account_of_arn("not-an-arn").set(BUDGET, Some(""));
        assert_eq!(notice.attributes().get(TEAM).map(String::as_str), Some("research"));
        assert!(!notice.attributes().contains_key(ACCOUNT));
        assert!(!notice.attributes().contains_key(BUDGET));
    }

    #[test]
    fn no_more_than_ten_attributes_are_kept_but_a_kept_one_can_be_replaced() {
        let mut notice = Notice::new("k", Severity::Info, "s", "d");
        for i in 0..20 {
            notice.set(&format!("extra-{i:02}"), Some("v"));
        }
        assert_eq!(notice.attributes().len(), MAX_ATTRIBUTES);
        notice.set(KIND, Some("other"));
        assert_eq!(notice.attributes()[KIND], "other");
        assert_eq!(notice.message_attributes().len(), MAX_ATTRIBUTES);
    }

    #[test]
    fn the_body_is_a_q_developer_custom_notification_with_the_description_kept_whole() {
        let mut notice = Notice::new(
            "non-compliant",
            Severity::Warning,
            "Tagwarden: model m is missing tags",
            "line one\n  line two",
        );
        notice.set(TEAM, Some("research")).step("Tag it").detail("missing_required", "cost-center");
        notice.resources.push("arn:aws:sagemaker:us-east-1:1:model/m".into());
        let body: Value = serde_json::from_str(&notice.body()).unwrap();
        assert_eq!(body["version"], "1.0");
        assert_eq!(body["source"], "custom");
        assert_eq!(body["content"]["textType"], "client-markdown");
        assert_eq!(body["content"]["title"], "Tagwarden: model m is missing tags");
        assert_eq!(body["content"]["description"], "line one\n  line two");
        assert_eq!(body["content"]["nextSteps"], json!(["Tag it"]));
        assert_eq!(body["content"]["keywords"], json!(["Tagwarden", "non-compliant"]));
        assert_eq!(body["metadata"]["eventType"], "non-compliant");
        assert_eq!(body["metadata"]["relatedResources"][0], "arn:aws:sagemaker:us-east-1:1:model/m");
        assert_eq!(body["metadata"]["additionalContext"]["team"], "research");
        assert_eq!(body["metadata"]["additionalContext"]["missing_required"], "cost-center");
        assert_eq!(description_of(&notice.body()).as_deref(), Some("line one\n  line two"));
        assert_eq!(description_of("plain text"), None);
    }

    #[test]
    fn a_long_title_and_description_are_cut_with_an_ellipsis() {
        let notice = Notice::new("k", Severity::Info, "t".repeat(300), "é".repeat(9000));
        let body: Value = serde_json::from_str(&notice.body()).unwrap();
        let title = body["content"]["title"].as_str().unwrap();
        assert_eq!(title.chars().count(), MAX_TITLE);
        assert!(title.ends_with('…'));
        assert_eq!(body["content"]["description"].as_str().unwrap().chars().count(), MAX_DESCRIPTION);
        assert!(body["metadata"]["summary"].as_str().unwrap().len() < 100);
    }

    #[tokio::test]
    async fn publish_sends_the_legal_subject_the_body_and_every_attribute() {
        let mut notice = Notice::new("enforcement", Severity::Warning, "Budget\nline", "d");
        notice.set(COST_CENTER, Some("CC-4100"));
        let expected = notice.body();
        let rule = mock!(aws_sdk_sns::Client::publish)
            .match_requests(move |input: &PublishInput| {
                let attributes = input.message_attributes().cloned().unwrap_or_default();
                input.subject() == Some("Budget line")
                    && input.message() == Some(expected.as_str())
                    && attributes.len() == 3
                    && attributes["cost-center"].string_value() == Some("CC-4100")
            })
            .then_output(|| PublishOutput::builder().message_id("m").build());
        let client = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
        publish(&client, "arn:aws:sns:us-east-1:1:t", &notice).await.unwrap();
        assert_eq!(rule.num_calls(), 1);
    }
}
