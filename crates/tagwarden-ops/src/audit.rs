//! The audit: how well the estate's tags comply with the policy, per resource type and required key.
//!
//! In: the tags of every listed resource (gathered by [`collect`] with the sweep's listing) and the tag
//! policy. Out: an [`AuditReport`] ([`audit`], pure) rendered as a table, JSON, CSV or a self-contained
//! HTML page with an inline SVG chart ([`render`], pure). Keys, aliases, allowed values and patterns are
//! the policy's own ([`TagPolicy::rule_for`], [`KeyRule::check`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use futures::StreamExt;
use serde::Serialize;

use tagwarden::aws::{AwsError, Clients};
use tagwarden::identity::STUDIO_PROFILE_TAG;
use tagwarden::policy::idle::studio::{StudioIdleRule, rule_for};
use tagwarden::policy::{KeyRule, Rejection, TagPolicy};
use tagwarden::resource::{ResourceKind, SageMakerArn, kind_for_arn_type};
use tagwarden::studio_idle::Difference;
use tagwarden::studio_idle::apply::{domain_arn, has_idle_settings, keep};
use tagwarden::sweep::{Listed, Lister};
use tagwarden::tagging::Tags;
use tagwarden::tagging::apply::list_tags;

/// The colour of the compliant part of a coverage bar in the HTML report.
pub const COMPLIANT_COLOUR: &str = "#2e7d32";
/// The colour of the non-compliant part of a coverage bar in the HTML report.
pub const NONCOMPLIANT_COLOUR: &str = "#c62828";

/// One resource and its tags, as the audit sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResource {
    /// ARN resource type, e.g. `training-job`.
    pub resource_type: String,
    /// The resource.
    pub arn: String,
    /// Its tags.
    pub tags: Tags,
    /// The owning user profile the listing names (apps, spaces), if any.
    pub owner_profile: Option<String>,
    /// Its name, when its ARN names it by an id (HyperPod clusters, MLflow and partner apps).
    pub name: Option<String>,
}

/// What is wrong with one required key on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// The key is absent, under any spelling.
    Missing,
    /// The key is present only under another spelling (`Environment`, an alias).
    WrongKey {
        /// The key found.
        found: String,
        /// Its value.
        value: String,
    },
    /// The value is not one of the allowed values.
    Disallowed {
        /// The value.
        value: String,
        /// The allowed values.
        allowed: Vec<String>,
    },
    /// The value is allowed but not in its canonical case (`DEV` for `dev`): cost reports split them.
    WrongCaseValue {
        /// The value.
        value: String,
        /// The canonical spelling.
        canonical: String,
    },
    /// The value does not match the key's pattern.
    PatternMismatch {
        /// The value.
        value: String,
        /// The pattern.
        pattern: String,
    },
}

impl Problem {
    /// Short name: `missing`, `wrong-key`, `disallowed`, `wrong-case-value`, `pattern-mismatch`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::WrongKey { .. } => "wrong-key",
            Self::Disallowed { .. } => "disallowed",
            Self::WrongCaseValue { .. } => "wrong-case-value",
            Self::PatternMismatch { .. } => "pattern-mismatch",
        }
    }

    /// One line for people.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Self::Missing => format!("{key}: missing"),
            Self::WrongKey { found, value } => format!("{key}: found as {found:?} = {value:?}"),
            Self::Disallowed { value, allowed } => format!("{key}: {value:?} is not one of {}", allowed.join(", ")),
            Self::WrongCaseValue { value, canonical } => format!("{key}: {value:?} should be {canonical:?}"),
            Self::PatternMismatch { value, pattern } => format!("{key}: {value:?} does not match {pattern}"),
        }
    }
}

/// A problem with one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The policy's canonical key.
    pub key: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: Problem,
}

/// The required keys' problems on one resource's tags; empty when it complies. Pure.
pub fn evaluate(tags: &Tags, policy: &TagPolicy) -> Vec<Finding> {
    policy
        .keys
        .iter()
        .filter(|rule| rule.required)
        .filter_map(|rule| problem(tags, rule, policy).map(|problem| Finding { key: rule.key.clone(), problem }))
        .collect()
}

fn problem(tags: &Tags, rule: &KeyRule, policy: &TagPolicy) -> Option<Problem> {
    let Some(value) = tags.get(&rule.key) else {
        return Some(
            tags.iter()
                .find(|(key, _)| policy.rule_for(key).is_some_and(|r| r.key == rule.key))
                .map(|(found, value)| Problem::WrongKey { found: found.clone(), value: value.clone() })
                .unwrap_or(Problem::Missing),
        );
    };
    match rule.check(value) {
        Ok(canonical) if canonical == *value => None,
        Ok(canonical) => Some(Problem::WrongCaseValue { value: value.clone(), canonical }),
        Err(Rejection::NotAllowed { value, allowed }) => Some(Problem::Disallowed { value, allowed }),
        Err(Rejection::NoPatternMatch { value, pattern }) => Some(Problem::PatternMismatch { value, pattern }),
    }
}

/// Who created a resource, when its tags or the listing say: Studio's profile tag, the owning profile of
/// an app or space, or the policy's creator tag.
pub fn creator_of(resource: &AuditResource, policy: &TagPolicy) -> Option<String> {
    let studio = resource.tags.get(STUDIO_PROFILE_TAG).and_then(|arn| {
        let parsed = SageMakerArn::parse(arn)?;
        Some(parsed.name().to_owned())
    });
    studio
        .or_else(|| resource.owner_profile.clone())
        .or_else(|| policy.creator_tag.as_ref().and_then(|tag| resource.tags.get(tag).cloned()))
}

/// Coverage of one resource type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TypeCoverage {
    /// ARN resource type.
    pub resource_type: String,
    /// Resources of this type.
    pub resources: u64,
    /// Resources carrying every required key with a valid value.
    pub compliant: u64,
    /// Per required key: resources whose value for it is valid.
    pub keys: BTreeMap<String, u64>,
}

impl TypeCoverage {
    /// `compliant / resources`, 1.0 when there are none.
    pub fn coverage(&self) -> f64 {
        if self.resources == 0 { 1.0 } else { self.compliant as f64 / self.resources as f64 }
    }
}

/// One non-compliant resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NonCompliant {
    /// ARN resource type.
    pub resource_type: String,
    /// The resource.
    pub resource_arn: String,
    /// Its name, when its ARN names it by an id (a HyperPod cluster's `cluster/<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Who created it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// What is wrong.
    pub findings: Vec<Finding>,
}

/// The audit's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AuditReport {
    /// The policy's required keys, in policy order.
    pub required_keys: Vec<String>,
    /// Per resource type, in the order audited.
    pub types: Vec<TypeCoverage>,
    /// All types together.
    pub total: TypeCoverage,
    /// Every non-compliant resource.
    pub non_compliant: Vec<NonCompliant>,
    /// Types whose listing failed: (type, error).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<(String, String)>,
    /// Studio domains, profiles and spaces whose idle shutdown differs from their `idle.studio` rule
    /// ([`collect_studio_idle`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub studio_idle: Vec<IdleNonCompliant>,
}

/// One Studio domain, user profile or space whose idle shutdown is not what its rule asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdleNonCompliant {
    /// `domain`, `user-profile` or `space`.
    pub resource_type: String,
    /// The resource.
    pub resource_arn: String,
    /// The idle timeout its rule asks for, in minutes.
    pub idle_timeout_minutes: i32,
    /// The request that would fix it (`UpdateUserProfile`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<&'static str>,
    /// What differs.
    pub differences: Vec<Difference>,
}

/// Checks the idle shutdown of every audited domain, profile and space against the first `idle.studio`
/// rule matching its domain's tags (read from `resources` when the domains were audited, else `ListTags`).
/// Changes nothing. Returns the non-compliant ones and the resources that could not be read.
pub async fn collect_studio_idle(
    clients: &Clients,
    rules: &[StudioIdleRule],
    resources: &[AuditResource],
    concurrency: usize,
) -> (Vec<IdleNonCompliant>, Vec<(String, String)>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    if rules.is_empty() {
        return (found, errors);
    }
    let mut domain_tags: BTreeMap<String, Option<Tags>> = resources
        .iter()
        .filter(|r| r.resource_type == "domain")
        .map(|r| (r.arn.clone(), Some(r.tags.clone())))
        .collect();
    let mut todo = Vec::new();
    for resource in resources {
        let Some(kind) = kind_for_arn_type(&resource.resource_type).filter(|k| has_idle_settings(k)) else {
            continue;
        };
        let Some(arn) = SageMakerArn::parse(&resource.arn) else { continue };
        let Some(domain) = domain_arn(kind, &arn) else { continue };
        if !domain_tags.contains_key(&domain) {
            let tags = match list_tags(clients, &domain).await {
                Ok(tags) => Some(tags),
                Err(err) => {
                    errors.push((kind.arn_type.to_owned(), format!("{domain}: {err}")));
                    None
                }
            };
            domain_tags.insert(domain.clone(), tags);
        }
        if let Some(rule) = domain_tags[&domain].as_ref().and_then(|tags| rule_for(rules, tags)) {
            todo.push((kind, arn, rule));
        }
    }
    let mut checked = futures::stream::iter(todo)
        .map(|(kind, arn, rule)| async move {
            let report = keep(&clients.sagemaker, rule, kind, &arn, true).await;
            (kind, arn, report)
        })
        .buffered(concurrency.max(1));
    while let Some((kind, arn, report)) = checked.next().await {
        match report {
            Ok(Some(report)) if !report.differences.is_empty() => found.push(IdleNonCompliant {
                resource_type: kind.arn_type.to_owned(),
                resource_arn: arn.to_string(),
                idle_timeout_minutes: report.idle_timeout_minutes,
                operation: report.operation,
                differences: report.differences,
            }),
            Ok(_) => {}
            Err(err) => errors.push((kind.arn_type.to_owned(), format!("{arn}: {err}"))),
        }
    }
    (found, errors)
}

/// Evaluates every resource against the policy and counts. Pure.
pub fn audit(resources: &[AuditResource], policy: &TagPolicy) -> AuditReport {
    let required_keys: Vec<String> = policy.required_keys().map(str::to_owned).collect();
    let zero_keys: BTreeMap<String, u64> = required_keys.iter().map(|k| (k.clone(), 0)).collect();
    let mut report = AuditReport {
        required_keys: required_keys.clone(),
        total: TypeCoverage { resource_type: "all".into(), keys: zero_keys.clone(), ..Default::default() },
        ..Default::default()
    };
    for resource in resources {
        let findings = evaluate(&resource.tags, policy);
        let index = match report.types.iter().position(|t| t.resource_type == resource.resource_type) {
            Some(i) => i,
            None => {
                report.types.push(TypeCoverage {
                    resource_type: resource.resource_type.clone(),
                    keys: zero_keys.clone(),
                    ..Default::default()
                });
                report.types.len() - 1
            }
        };
        for coverage in [&mut report.types[index], &mut report.total] {
            coverage.resources += 1;
            coverage.compliant += u64::from(findings.is_empty());
            for key in &required_keys {
                if !findings.iter().any(|f| &f.key == key) {
                    *coverage.keys.entry(key.clone()).or_default() += 1;
                }
            }
        }
        if !findings.is_empty() {
            report.non_compliant.push(NonCompliant {
                resource_type: resource.resource_type.clone(),
                resource_arn: resource.arn.clone(),
                resource_name: resource.name.clone(),
                creator: creator_of(resource, policy),
                findings,
            });
        }
    }
    report
}

/// Reads the tags of every resource of `kinds` (the sweep's listing, then `ListTags`, `concurrency` at
/// once). Deleted apps and the like are left out; a type whose listing fails is reported, not fatal.
pub async fn collect(
    lister: &Lister,
    kinds: &[&'static ResourceKind],
    concurrency: usize,
) -> (Vec<AuditResource>, Vec<(String, String)>) {
    collect_with_progress(lister, kinds, concurrency, |_| {}).await
}

/// How far [`collect_with_progress`] got (for a progress bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectProgress<'a> {
    /// A type was listed: the tags of `count` of its resources will be read.
    Listed {
        /// The resource type (ARN type).
        resource_type: &'a str,
        /// How many resources of it will be read.
        count: usize,
    },
    /// The tags of one resource were read (or could not be).
    Read {
        /// The resource type (ARN type).
        resource_type: &'a str,
    },
}

/// [`collect`], telling `observe` after each listing and each resource read.
pub async fn collect_with_progress(
    lister: &Lister,
    kinds: &[&'static ResourceKind],
    concurrency: usize,
    mut observe: impl FnMut(CollectProgress<'_>),
) -> (Vec<AuditResource>, Vec<(String, String)>) {
    let mut resources = Vec::new();
    let mut errors = Vec::new();
    for kind in kinds {
        let mut listed: Vec<Listed> = Vec::new();
        let mut token = None;
        let failed = loop {
            match lister.page(kind, token).await {
                Ok(page) => {
                    listed.extend(page.items);
                    token = page.next_token;
                    if token.is_none() {
                        break None;
                    }
                }
                Err(err) => break Some(err),
            }
        };
        if let Some(err) = failed {
            errors.push((kind.arn_type.to_owned(), err.to_string()));
            continue;
        }
        listed.retain(|l| tagwarden::sweep::subject_for(kind, l, None).is_ok());
        observe(CollectProgress::Listed { resource_type: kind.arn_type, count: listed.len() });
        let mut read = futures::stream::iter(listed)
            .map(|l| async move {
                let tags: Result<Tags, AwsError> = list_tags(lister.clients(), &l.arn).await;
                (l, tags)
            })
            .buffered(concurrency.max(1));
        while let Some((l, tags)) = read.next().await {
            observe(CollectProgress::Read { resource_type: kind.arn_type });
            match tags {
                Ok(tags) => resources.push(AuditResource {
                    resource_type: kind.arn_type.to_owned(),
                    arn: l.arn,
                    tags,
                    owner_profile: l.owner_profile,
                    name: l.name,
                }),
                Err(err) if err.is_not_found() => {}
                Err(err) => errors.push((kind.arn_type.to_owned(), format!("{}: {err}", l.arn))),
            }
        }
    }
    (resources, errors)
}

/// Output formats of the audit and of `tagwarden costs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A plain-text table for terminals.
    Table,
    /// The report as JSON.
    Json,
    /// One row per resource and required key.
    Csv,
    /// A self-contained HTML page with an inline SVG chart.
    Html,
}

/// Renders the report. Pure.
pub fn render(report: &AuditReport, format: Format) -> String {
    match format {
        Format::Table => table(report),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Csv => csv(report),
        Format::Html => html(report),
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 { "-".into() } else { format!("{:.0}%", part as f64 * 100.0 / whole as f64) }
}

fn table(report: &AuditReport) -> String {
    let mut out = String::new();
    let mut header = format!("{:<28} {:>9} {:>9} {:>8}", "type", "resources", "compliant", "coverage");
    for key in &report.required_keys {
        let _ = write!(header, " {key:>12}");
    }
    out.push_str(&header);
    out.push('\n');
    for t in report.types.iter().chain(std::iter::once(&report.total)) {
        let _ = write!(
            out,
            "{:<28} {:>9} {:>9} {:>8}",
            t.resource_type,
            t.resources,
            t.compliant,
            percent(t.compliant, t.resources)
        );
        for key in &report.required_keys {
            let _ = write!(out, " {:>12}", percent(t.keys.get(key).copied().unwrap_or(0), t.resources));
        }
        out.push('\n');
    }
    if !report.non_compliant.is_empty() {
        let _ = writeln!(out, "\nnon-compliant ({}):", report.non_compliant.len());
        for r in &report.non_compliant {
            let problems: Vec<String> = r.findings.iter().map(|f| f.problem.describe(&f.key)).collect();
            let creator = r.creator.as_deref().map(|c| format!(" (created by {c})")).unwrap_or_default();
            let name = r.resource_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            let _ = writeln!(out, "  {}{name}{creator}\n    {}", r.resource_arn, problems.join("; "));
        }
    }
    if !report.studio_idle.is_empty() {
        let _ = writeln!(out, "\nStudio idle shutdown not as the policy asks ({}):", report.studio_idle.len());
        for r in &report.studio_idle {
            let _ = writeln!(out, "  {} (idle timeout {} min)", r.resource_arn, r.idle_timeout_minutes);
            for d in &r.differences {
                let found = d.found.as_deref().unwrap_or("not set");
                let _ = writeln!(out, "    {}: {found}, expected {}", d.field, d.expected);
            }
        }
    }
    for (kind, error) in &report.errors {
        let _ = writeln!(out, "error: {kind}: {error}");
    }
    out
}

/// Rows: `resource_type,resource_arn,creator,key,status,detail`; non-compliant resources list each
/// required key (compliant keys with status `ok`).
fn csv(report: &AuditReport) -> String {
    let mut out = String::from("resource_type,resource_arn,creator,key,status,detail\n");
    for r in &report.non_compliant {
        for key in &report.required_keys {
            let finding = r.findings.iter().find(|f| &f.key == key);
            let (status, detail) = match finding {
                Some(f) => (f.problem.label(), f.problem.describe(key)),
                None => ("ok", String::new()),
            };
            let row = [
                crate::csv_cell::cell(&r.resource_type),
                crate::csv_cell::cell(&r.resource_arn),
                crate::csv_cell::cell(r.creator.as_deref().unwrap_or("")),
                crate::csv_cell::cell(key),
                crate::csv_cell::cell(status),
                crate::csv_cell::cell(&detail),
            ];
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Geometry of the SVG chart: label column, bar width, row height.
pub const CHART_LABEL_WIDTH: u32 = 220;
/// Width of a full (100 %) bar, in CSS pixels.
pub const CHART_BAR_WIDTH: u32 = 600;
/// Height of one bar, in CSS pixels.
pub const CHART_BAR_HEIGHT: u32 = 20;
const CHART_ROW: u32 = 28;

fn chart(report: &AuditReport) -> String {
    let height = CHART_ROW * report.types.len() as u32 + 8;
    let width = CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 80;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="Tag coverage by resource type" shape-rendering="crispEdges">"#
    );
    for (i, t) in report.types.iter().enumerate() {
        let y = CHART_ROW * i as u32 + 4;
        let green = (t.coverage() * f64::from(CHART_BAR_WIDTH)).round() as u32;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text><rect x="{CHART_LABEL_WIDTH}" y="{y}" width="{green}" height="{CHART_BAR_HEIGHT}" fill="{COMPLIANT_COLOUR}"/><rect x="{}" y="{y}" width="{}" height="{CHART_BAR_HEIGHT}" fill="{NONCOMPLIANT_COLOUR}"/><text x="{}" y="{}" class="value">{} of {}</text>"#,
            CHART_LABEL_WIDTH - 8,
            y + 15,
            escape(&t.resource_type),
            CHART_LABEL_WIDTH + green,
            CHART_BAR_WIDTH - green,
            CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 8,
            y + 15,
            t.compliant,
            t.resources,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn html(report: &AuditReport) -> String {
    let mut rows = String::new();
    for t in report.types.iter().chain(std::iter::once(&report.total)) {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            escape(&t.resource_type),
            t.resources,
            t.compliant,
            percent(t.compliant, t.resources)
        );
        for key in &report.required_keys {
            let _ = write!(rows, "<td>{}</td>", percent(t.keys.get(key).copied().unwrap_or(0), t.resources));
        }
        rows.push_str("</tr>\n");
    }
    let key_headers: String = report.required_keys.iter().map(|k| format!("<th>{}</th>", escape(k))).collect();
    let mut problems = String::new();
    for r in &report.non_compliant {
        let list: Vec<String> = r.findings.iter().map(|f| escape(&f.problem.describe(&f.key))).collect();
        let _ = writeln!(
            problems,
            "<tr><td>{}</td><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.resource_type),
            escape(&r.resource_arn),
            r.resource_name.as_deref().map(|n| format!(" ({})", escape(n))).unwrap_or_default(),
            escape(r.creator.as_deref().unwrap_or("unknown")),
            list.join("<br>")
        );
    }
    let errors: String =
        report.errors.iter().map(|(k, e)| format!("<p class=\"error\">{}: {}</p>", escape(k), escape(e))).collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tagwarden tag audit</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1f2328; background: #ffffff; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }}
h2 {{ font-size: 17px; margin: 28px 0 8px; }}
p.summary {{ margin: 0 0 16px; color: #444c56; }}
svg .label {{ font-size: 13px; fill: #1f2328; }}
svg .value {{ font-size: 12px; fill: #444c56; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
code {{ font-size: 12px; }}
.error {{ color: #8a4600; }}
</style>
</head>
<body>
<h1>Tag coverage</h1>
<p class="summary">{compliant} of {total} resources ({pct}) carry every required key ({keys}) with a valid value.</p>
{chart}
<h2>By type and key</h2>
<table>
<tr><th>type</th><th>resources</th><th>compliant</th><th>coverage</th>{key_headers}</tr>
{rows}</table>
<h2>Non-compliant resources ({count})</h2>
<table>
<tr><th>type</th><th>resource</th><th>creator</th><th>problems</th></tr>
{problems}</table>
{errors}
</body>
</html>
"#,
        compliant = report.total.compliant,
        total = report.total.resources,
        pct = percent(report.total.compliant, report.total.resources),
        keys = escape(&report.required_keys.join(", ")),
        chart = chart(report),
        count = report.non_compliant.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagwarden::policy::Policy;

    fn policy() -> TagPolicy {
        Policy::example().unwrap().tags
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn resource(kind: &str, name: &str, pairs: &[(&str, &str)]) -> AuditResource {
        AuditResource {
            resource_type: kind.into(),
            arn: format!("arn:aws:sagemaker:us-east-1:1:{kind}/{name}"),
            tags: tags(pairs),
            owner_profile: None,
            name: None,
        }
    }

    const GOOD: &[(&str, &str)] = &[("cost-center", "CC-1000"), ("team", "a"), ("environment", "dev")];

    #[test]
    fn a_resource_with_every_required_key_valid_complies() {
        assert!(evaluate(&tags(GOOD), &policy()).is_empty());
    }

    #[test]
    fn each_kind_of_problem_is_named() {
        let found =
            evaluate(&tags(&[("cost-center", "marketing"), ("Environment", "dev"), ("project", "x")]), &policy());
        let labels: Vec<_> = found.iter().map(|f| (f.key.as_str(), f.problem.label())).collect();
        assert_eq!(labels, [("cost-center", "pattern-mismatch"), ("team", "missing"), ("environment", "wrong-key")]);
        let found = evaluate(&tags(&[("cost-center", "CC-1000"), ("team", "a"), ("environment", "qa")]), &policy());
        assert_eq!(found[0].problem.label(), "disallowed");
        let found = evaluate(&tags(&[("cost-center", "CC-1000"), ("team", "a"), ("environment", "DEV")]), &policy());
        assert_eq!(found[0].problem, Problem::WrongCaseValue { value: "DEV".into(), canonical: "dev".into() });
    }

    #[test]
    fn counts_per_type_and_key_add_up() {
        let resources =
            [resource("model", "a", GOOD), resource("model", "b", &[("team", "x")]), resource("endpoint", "c", &[])];
        let report = audit(&resources, &policy());
        assert_eq!(report.types.len(), 2);
        assert_eq!((report.types[0].resources, report.types[0].compliant), (2, 1));
        assert_eq!(report.types[0].keys["team"], 2);
        assert_eq!(report.types[0].keys["cost-center"], 1);
        assert_eq!((report.total.resources, report.total.compliant), (3, 1));
        assert_eq!(report.non_compliant.len(), 2);
    }

    #[test]
    fn a_hyperpod_cluster_named_by_id_is_reported_by_its_name() {
        let mut cluster = resource("cluster", "pwbqjjlstbop", &[]);
        cluster.name = Some("fraud-llm-pretrain".into());
        let report = audit(&[cluster], &policy());
        assert_eq!(report.non_compliant[0].resource_name.as_deref(), Some("fraud-llm-pretrain"));
        for format in [Format::Table, Format::Json, Format::Html] {
            assert!(render(&report, format).contains("fraud-llm-pretrain"), "{format:?}");
        }
    }

    #[test]
    fn the_creator_comes_from_studios_tag_then_the_owner_then_the_creator_tag() {
        let mut r = resource("model", "a", &[("created-by", "ci")]);
        assert_eq!(creator_of(&r, &policy()).as_deref(), Some("ci"));
        r.owner_profile = Some("bob".into());
        assert_eq!(creator_of(&r, &policy()).as_deref(), Some("bob"));
        r.tags.insert(STUDIO_PROFILE_TAG.into(), "arn:aws:sagemaker:us-east-1:1:user-profile/d-x/alice".into());
        assert_eq!(creator_of(&r, &policy()).as_deref(), Some("alice"));
    }

    #[test]
    fn csv_quotes_fields_and_has_one_row_per_key_of_each_non_compliant_resource() {
        let report = audit(&[resource("model", "a", &[("team", "x,y")]), resource("model", "b", GOOD)], &policy());
        let text = render(&report, Format::Csv);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 1 + report.required_keys.len());
        assert!(lines.iter().any(|l| l.ends_with(",team,ok,")));
        let missing = lines.iter().find(|l| l.contains(",cost-center,")).unwrap();
        assert!(missing.contains(",missing,"), "{missing}");
    }

    #[test]
    fn csv_neutralises_formula_looking_values_written_by_users() {
        let mut r = resource("model", "a", &[("team", "x")]);
        r.owner_profile = Some("=HYPERLINK(\"http://evil\",\"x\")".into());
        let text = render(&audit(&[r], &policy()), Format::Csv);
        assert!(text.contains(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\","), "{text}");
        assert!(!text.lines().any(|l| l.split(',').any(|c| c.starts_with(['=', '+', '-', '@']))), "{text}");
    }

    #[test]
    fn html_is_self_contained_and_escapes_names() {
        let report = audit(&[resource("model", "<script>", &[])], &policy());
        let page = render(&report, Format::Html);
        assert!(!page.contains("<script>"));
        // The only URL is the SVG namespace: no external stylesheet, script or image.
        assert_eq!(page.matches("http").count(), 1);
        assert!(!page.contains("src=") && !page.contains("<link"));
        assert!(page.contains(NONCOMPLIANT_COLOUR));
    }
}
