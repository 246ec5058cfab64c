//! `budgets.exemptions`: the only way a resource or a role is spared by the budget-enforcer. Exemptions live
//! in the policy, where only its owner writes; a resource's own tags never exempt it (the `tagwarden:` key
//! namespace is reserved, and the auto-tagger removes keys of it that anyone else wrote).
//!
//! ```yaml
//! budgets:
//!   exemptions:
//!     - {resource: "prod-fraud-*", reason: "fraud scoring serves customers; INC-2291"}
//!     - {resource_type: model, reason: "models cost nothing until deployed"}
//!     - {role: "arn:aws:iam::123456789012:role/oncall-exec", reason: "on-call must be able to act", expires: 2026-12-31}
//! ```
//!
//! Each entry has exactly one selector, a `reason`, and optionally `expires` (a UTC day: the exemption holds
//! through that day). An expired exemption is never honoured: the enforcer reports it instead.

use serde::Deserialize;

use crate::resource::{SageMakerArn, kind_for_arn_type};

/// One entry of `budgets.exemptions`: what it spares, why, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ExemptionFile")]
pub struct Exemption {
    /// What it spares.
    pub selector: Selector,
    /// Why: named in every result it decides.
    pub reason: String,
    /// The last day (UTC) it holds; `None`: until the policy changes.
    pub expires: Option<Day>,
}

/// What an exemption spares; each entry has exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// SageMaker resources whose ARN, or whose name (the ARN's path after `<type>/`: `nb-1`, `d-abc/alice`
    /// for a user profile), matches this glob (`*`, `?`; case-insensitive, as SageMaker lower-cases many
    /// ARNs). Not the last segment alone: `default` would then spare every Studio app of that name.
    Resource(String),
    /// Every SageMaker resource of this kind of the resource registry (`notebook-instance`, `endpoint`, …).
    ResourceType(String),
    /// IAM roles (for `deny-iam`) whose ARN without its path, `arn:aws:iam::<account>:role/<name>`, matches
    /// this glob (case-insensitive, as IAM role names are).
    Role(String),
}

/// How the exemptions judge one resource or role on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement<'a> {
    /// No exemption names it.
    None,
    /// Spared by this exemption.
    Honoured(&'a Exemption),
    /// Only expired exemptions name it (the first is given): it is not spared, and that is reported.
    Expired(&'a Exemption),
}

/// Judges `arn` (a SageMaker resource or an IAM role) by `exemptions` on `today`: the first exemption in
/// force that matches wins; an expired one is only reported.
pub fn judge<'a>(exemptions: &'a [Exemption], arn: &str, today: &Day) -> Judgement<'a> {
    let mut expired = None;
    for exemption in exemptions.iter().filter(|e| e.matches(arn)) {
        if exemption.expired_on(today) {
            expired = expired.or(Some(exemption));
        } else {
            return Judgement::Honoured(exemption);
        }
    }
    expired.map_or(Judgement::None, Judgement::Expired)
}

impl Exemption {
    /// Whether it names `arn`: role selectors name IAM role ARNs only, the others SageMaker ARNs only.
    pub fn matches(&self, arn: &str) -> bool {
        let is_role = arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/");
        match &self.selector {
            Selector::Role(glob) => is_role && matches_ignoring_case(glob, arn),
            Selector::Resource(glob) => {
                if is_role {
                    return false;
                }
                if matches_ignoring_case(glob, arn) {
                    return true;
                }
                SageMakerArn::parse(arn).is_some_and(|parsed| matches_ignoring_case(glob, &parsed.path))
            }
            Selector::ResourceType(kind) => SageMakerArn::parse(arn).is_some_and(|p| p.resource_type == *kind),
        }
    }

    /// Whether it no longer holds on `today` (it holds through its `expires` day).
    pub fn expired_on(&self, today: &Day) -> bool {
        self.expires.as_ref().is_some_and(|last| last < today)
    }

    /// `exemption expired 2026-11-30: <reason>` (or the reason alone when it has no expiry), for results.
    pub fn expiry_text(&self) -> String {
        match &self.expires {
            Some(day) => format!("exemption expired {day}: {}", self.reason),
            None => self.reason.clone(),
        }
    }
}

fn matches_ignoring_case(glob: &str, text: &str) -> bool {
    super::glob_match(&glob.to_lowercase(), &text.to_lowercase())
}

/// A calendar day, `YYYY-MM-DD` (UTC): the crate's one date type.
pub use crate::date::Date as Day;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptionFile {
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expires: Option<String>,
}

impl TryFrom<ExemptionFile> for Exemption {
    type Error = String;

    fn try_from(file: ExemptionFile) -> Result<Self, String> {
        let selectors: Vec<(&str, String)> =
            [("resource", file.resource), ("resource_type", file.resource_type), ("role", file.role)]
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name, v)))
                .collect();
        let (name, value) = match selectors.as_slice() {
            [one] => one.clone(),
            [] => return Err("exemption: give exactly one of resource, resource_type or role".into()),
            many => {
                let names: Vec<&str> = many.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "exemption: give exactly one of resource, resource_type or role, not {}",
                    names.join(" and ")
                ));
            }
        };
        let at = format!("exemption {name} {value:?}");
        if value.trim().is_empty() {
            return Err(format!("exemption: {name} is empty"));
        }
        let selector = match name {
            "resource" => Selector::Resource(value),
            "resource_type" => {
                if kind_for_arn_type(&value).is_none() {
                    return Err(format!(
                        "{at}: not a SageMaker resource type Tagwarden knows (e.g. notebook-instance, endpoint, training-job)"
                    ));
                }
                Selector::ResourceType(value)
            }
            _ => {
                let Some((head, name_part)) = value.split_once(":role/") else {
                    return Err(format!("{at}: not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"));
                };
                if !(head.starts_with("arn:") && head.contains(":iam::")) {
                    return Err(format!("{at}: not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"));
                }
                if name_part.contains('/') {
                    return Err(format!(
                        "{at}: give the role's ARN without its path (arn:aws:iam::<account>:role/<name>): role names are unique per account"
                    ));
                }
                Selector::Role(value)
            }
        };
        let reason = file.reason.map(|r| r.trim().to_owned()).unwrap_or_default();
        if reason.is_empty() {
            return Err(format!("{at}: a reason is required (it is named in every result the exemption decides)"));
        }
        let expires = match file.expires {
            Some(text) => Some(Day::parse(&text).map_err(|e| format!("{at}: expires: {e}"))?),
            None => None,
        };
        Ok(Self { selector, reason, expires })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exemption(yaml: &str) -> Result<Exemption, String> {
        serde_norway::from_str::<Exemption>(yaml).map_err(|e| e.to_string())
    }

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    const NOTEBOOK: &str = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/prod-fraud-1";
    const ROLE: &str = "arn:aws:iam::123456789012:role/oncall-exec";

    #[test]
    fn an_entry_needs_exactly_one_selector_and_a_reason() {
        let none = exemption("{reason: because}").unwrap_err();
        assert!(none.contains("exactly one of resource, resource_type or role"), "{none}");
        let two = exemption("{resource: 'a*', role: 'arn:aws:iam::1:role/r', reason: x}").unwrap_err();
        assert!(two.contains("not resource and role"), "{two}");
        let no_reason = exemption("{resource: 'prod-*'}").unwrap_err();
        assert!(no_reason.contains("a reason is required"), "{no_reason}");
        let blank_reason = exemption("{resource: 'prod-*', reason: '  '}").unwrap_err();
        assert!(blank_reason.contains("a reason is required"), "{blank_reason}");
        let unknown = exemption("{resource: 'prod-*', reason: x, until: 2026-01-01}").unwrap_err();
        assert!(unknown.contains("until"), "{unknown}");
    }

    #[test]
    fn a_bad_expiry_date_is_refused_with_what_was_wrong() {
        let words = exemption("{resource: 'a', reason: x, expires: next week}").unwrap_err();
        assert!(words.contains("expires: \"next week\" is not a date as YYYY-MM-DD"), "{words}");
        let month = exemption("{resource: 'a', reason: x, expires: 2026-13-01}").unwrap_err();
        assert!(month.contains("month 13 is not 1 to 12"), "{month}");
        let feb = exemption("{resource: 'a', reason: x, expires: 2026-02-29}").unwrap_err();
        assert!(feb.contains("day 29 is not in month 2"), "{feb}");
        assert!(exemption("{resource: 'a', reason: x, expires: 2028-02-29}").is_ok());
        assert!(exemption("{resource: 'a', reason: x, expires: 2026-1-01}").is_err());
    }

    #[test]
    fn resource_types_must_be_kinds_of_the_registry_and_roles_iam_role_arns_without_a_path() {
        assert!(exemption("{resource_type: notebook-instance, reason: x}").is_ok());
        let kind = exemption("{resource_type: notebook, reason: x}").unwrap_err();
        assert!(kind.contains("not a SageMaker resource type"), "{kind}");
        let not_role = exemption("{role: 'arn:aws:iam::1:user/u', reason: x}").unwrap_err();
        assert!(not_role.contains("not an IAM role ARN"), "{not_role}");
        let path = exemption("{role: 'arn:aws:iam::1:role/service-role/r', reason: x}").unwrap_err();
        assert!(path.contains("without its path"), "{path}");
    }

    #[test]
    fn a_resource_glob_matches_the_arn_or_the_name_ignoring_case_and_never_a_role() {
        let by_name = exemption("{resource: 'Prod-Fraud-*', reason: x}").unwrap();
        assert!(by_name.matches(NOTEBOOK));
        assert!(!by_name.matches("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/dev-fraud-1"));
        let by_arn = exemption("{resource: 'arn:aws:sagemaker:*:notebook-instance/prod-*', reason: x}").unwrap();
        assert!(by_arn.matches(NOTEBOOK));
        let profile = "arn:aws:sagemaker:us-east-1:1:user-profile/d-abc/alice";
        assert!(exemption("{resource: 'd-abc/alice', reason: x}").unwrap().matches(profile));
        assert!(exemption("{resource: '*/alice', reason: x}").unwrap().matches(profile));
        let app = "arn:aws:sagemaker:us-east-1:1:app/d-abc/alice/jupyterlab/default";
        assert!(!exemption("{resource: default, reason: x}").unwrap().matches(app), "not the last segment alone");
        assert!(!exemption("{resource: '*', reason: x}").unwrap().matches(ROLE));
    }

    #[test]
    fn a_type_names_only_its_kind_and_a_role_glob_only_roles() {
        let kind = exemption("{resource_type: endpoint, reason: x}").unwrap();
        assert!(kind.matches("arn:aws:sagemaker:us-east-1:1:endpoint/e"));
        assert!(!kind.matches(NOTEBOOK));
        let role = exemption("{role: 'arn:aws:iam::*:role/OnCall-*', reason: x}").unwrap();
        assert!(role.matches(ROLE));
        assert!(!role.matches("arn:aws:sagemaker:us-east-1:1:notebook-instance/oncall-x"));
    }

    #[test]
    fn an_exemption_holds_through_its_expiry_day_and_an_expired_one_is_only_reported() {
        let list = vec![
            exemption("{resource: 'prod-*', reason: old ticket, expires: 2026-11-30}").unwrap(),
            exemption("{role: 'arn:aws:iam::*:role/oncall-*', reason: on call}").unwrap(),
        ];
        assert!(
            matches!(judge(&list, NOTEBOOK, &day("2026-11-30")), Judgement::Honoured(e) if e.reason == "old ticket")
        );
        let Judgement::Expired(expired) = judge(&list, NOTEBOOK, &day("2026-12-01")) else { panic!("expired") };
        assert_eq!(expired.expiry_text(), "exemption expired 2026-11-30: old ticket");
        assert!(matches!(judge(&list, ROLE, &day("2030-01-01")), Judgement::Honoured(e) if e.reason == "on call"));
        assert_eq!(judge(&list, "arn:aws:sagemaker:us-east-1:1:endpoint/e", &day("2026-01-01")), Judgement::None);
    }

    #[test]
    fn an_exemption_in_force_wins_over_an_expired_one_for_the_same_resource() {
        let list = vec![
            exemption("{resource: 'prod-*', reason: old, expires: 2020-01-01}").unwrap(),
            exemption("{resource_type: notebook-instance, reason: new}").unwrap(),
        ];
        assert!(matches!(judge(&list, NOTEBOOK, &day("2026-12-01")), Judgement::Honoured(e) if e.reason == "new"));
    }

    #[test]
    fn days_order_by_date_and_today_is_a_valid_day() {
        assert!(day("2026-11-30") < day("2026-12-01"));
        assert!(day("2026-12-31") < day("2027-01-01"));
        let today = Day::today();
        assert_eq!(Day::parse(&today.to_string()), Ok(today));
    }
}
