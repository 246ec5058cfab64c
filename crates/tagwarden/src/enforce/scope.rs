//! Which resources and accounts a budget pays for: the rule's scope, or the budget's own cost filters and
//! filter expression read back from AWS Budgets. Pure: the `DescribeBudget` call is the handler's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_budgets::types::Budget;

use crate::tagging::Tags;

/// Tag conditions that must all hold: each key must carry one of its values.
pub type TagGroup = Vec<(String, Vec<String>)>;

/// Resources in scope: an OR of AND-groups of tag filters, or the whole account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedScope {
    /// Everything (the rule said `scope: account`).
    Account,
    /// Any group matches; within a group every key must carry one of its values.
    Tags(Vec<TagGroup>),
}

impl ResolvedScope {
    /// Whether a resource with these tags is in scope.
    pub fn matches(&self, tags: &Tags) -> bool {
        match self {
            Self::Account => true,
            Self::Tags(groups) => groups
                .iter()
                .any(|group| group.iter().all(|(key, values)| tags.get(key).is_some_and(|v| values.contains(v)))),
        }
    }

    /// The tags every resource in scope carries for certain: the keys with exactly one value when there is
    /// one group (what a notice is routed by); empty for the whole account or alternatives.
    pub fn certain_tags(&self) -> Tags {
        match self {
            Self::Tags(groups) if groups.len() == 1 => groups[0]
                .iter()
                .filter(|(_, values)| values.len() == 1)
                .map(|(key, values)| (key.clone(), values[0].clone()))
                .collect(),
            _ => Tags::new(),
        }
    }

    /// The scope for people; `from_budget` adds where it came from.
    pub fn describe(&self, from_budget: bool) -> String {
        let text = match self {
            Self::Account => "the whole account".to_owned(),
            Self::Tags(groups) => groups
                .iter()
                .map(|g| g.iter().map(|(k, vs)| format!("{k}={}", vs.join("|"))).collect::<Vec<_>>().join(" and "))
                .collect::<Vec<_>>()
                .join(" or "),
        };
        if from_budget { format!("{text} (from the budget's cost filters)") } else { text }
    }
}

/// The scope from a budget's `CostFilters`: each `TagKeyValue` entry `user:<key>$<value>`; different keys
/// are alternatives (AWS Budgets ORs the values of one filter). `None` when the budget filters by no tag.
pub fn scope_from_cost_filters(filters: &HashMap<String, Vec<String>>) -> Option<ResolvedScope> {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in filters.get("TagKeyValue").into_iter().flatten() {
        let Some((key, value)) = entry.split_once('$') else {
            continue;
        };
        let key = key.strip_prefix("user:").unwrap_or(key);
        if key.is_empty() || value.is_empty() {
            continue;
        }
        by_key.entry(key.to_owned()).or_default().push(value.to_owned());
    }
    (!by_key.is_empty()).then(|| ResolvedScope::Tags(by_key.into_iter().map(|kv| vec![kv]).collect()))
}

/// The scope from a budget's `FilterExpression`: tag conditions, combined through `And` and `Or`; other
/// dimensions (service, region) only narrow the spend and are ignored. `None` when no tag condition is
/// found or a `Not` makes the scope inexpressible as tag filters.
pub fn scope_from_expression(expression: &aws_sdk_budgets::types::Expression) -> Option<ResolvedScope> {
    fn groups(e: &aws_sdk_budgets::types::Expression) -> Option<Vec<TagGroup>> {
        if e.not().is_some() {
            return None;
        }
        if let Some(tags) = e.tags() {
            let key = tags.key().unwrap_or_default();
            let key = key.strip_prefix("user:").unwrap_or(key);
            let values: Vec<String> = tags.values().iter().filter(|v| !v.is_empty()).cloned().collect();
            return Some(if key.is_empty() || values.is_empty() {
                vec![]
            } else {
                vec![vec![(key.to_owned(), values)]]
            });
        }
        if !e.or().is_empty() {
            let mut out = Vec::new();
            for child in e.or() {
                out.extend(groups(child)?);
            }
            return Some(out);
        }
        // And: every tag condition must hold at once (cross product of the children's alternatives).
        let mut out: Vec<TagGroup> = vec![vec![]];
        for child in e.and() {
            let alternatives = groups(child)?;
            if alternatives.is_empty() {
                continue;
            }
            out = out
                .iter()
                .flat_map(|g| alternatives.iter().map(move |a| g.iter().chain(a).cloned().collect()))
                .collect();
        }
        Some(out.into_iter().filter(|g| !g.is_empty()).collect())
    }
    let groups = groups(expression)?;
    (!groups.is_empty()).then_some(ResolvedScope::Tags(groups))
}

/// The member accounts a budget's `CostFilters` name (`LinkedAccount`), sorted and deduplicated; empty when
/// the budget filters by no account (then only the central account is acted in).
pub fn accounts_from_cost_filters(filters: &HashMap<String, Vec<String>>) -> Vec<String> {
    let accounts: BTreeSet<String> = filters
        .get("LinkedAccount")
        .into_iter()
        .flatten()
        .map(|a| a.trim().to_owned())
        .filter(|a| crate::ids::is_account_id(a))
        .collect();
    accounts.into_iter().collect()
}

/// The member accounts a budget's `FilterExpression` restricts its spend to: `LINKED_ACCOUNT` dimensions,
/// intersected through `And` and united through `Or` (an `Or` with a branch that names no account is not
/// restricted). `Ok(empty)` when no account is named; `Err` (refuse to act) when a `Not` covers accounts:
/// "every account but these" cannot be enumerated from the budget.
pub fn accounts_from_expression(expression: &aws_sdk_budgets::types::Expression) -> Result<Vec<String>, String> {
    use aws_sdk_budgets::types::{Dimension, Expression};
    /// `None`: not restricted to accounts.
    fn accounts(e: &Expression) -> Result<Option<BTreeSet<String>>, String> {
        if let Some(inner) = e.not() {
            return match accounts(inner)? {
                Some(_) => Err("its filter excludes linked accounts (Not LINKED_ACCOUNT)".to_owned()),
                None => Ok(None),
            };
        }
        if let Some(dimension) = e.dimensions() {
            return Ok((*dimension.key() == Dimension::LinkedAccount).then(|| {
                dimension
                    .values()
                    .iter()
                    .map(|a| a.trim().to_owned())
                    .filter(|a| crate::ids::is_account_id(a))
                    .collect()
            }));
        }
        if !e.or().is_empty() {
            let mut union = BTreeSet::new();
            for child in e.or() {
                match accounts(child)? {
                    Some(found) => union.extend(found),
                    None => return Ok(None),
                }
            }
            return Ok(Some(union));
        }
        let mut intersection: Option<BTreeSet<String>> = None;
        for child in e.and() {
            if let Some(found) = accounts(child)? {
                intersection = Some(match intersection {
                    Some(so_far) => so_far.intersection(&found).cloned().collect(),
                    None => found,
                });
            }
        }
        Ok(intersection)
    }
    Ok(accounts(expression)?.map(|a| a.into_iter().collect()).unwrap_or_default())
}

/// The scope and member accounts of a `scope: from-budget` rule, from the budget AWS Budgets returned
/// (`None`: no such budget). `Err` is the reason to refuse acting, naming `budget_name`.
pub fn scope_of_budget(budget: Option<&Budget>, budget_name: &str) -> Result<(ResolvedScope, Vec<String>), String> {
    let (scope, accounts) = match budget {
        None => (None, vec![]),
        Some(budget) => {
            // NOTE: older budgets filter with CostFilters, newer ones with a FilterExpression.
            #[allow(deprecated)]
            let filters = budget.cost_filters().cloned().unwrap_or_default();
            let scope = scope_from_cost_filters(&filters)
                .or_else(|| budget.filter_expression().and_then(scope_from_expression));
            let mut accounts = accounts_from_cost_filters(&filters);
            if let (true, Some(expression)) = (accounts.is_empty(), budget.filter_expression()) {
                accounts = accounts_from_expression(expression)
                    .map_err(|why| format!("budget {budget_name:?}: {why}; refusing to act"))?;
            }
            (scope, accounts)
        }
    };
    match scope {
        Some(scope) => Ok((scope, accounts)),
        // NOTE: a budget that names linked accounts and no tag pays for everything in those accounts.
        None if !accounts.is_empty() => Ok((ResolvedScope::Account, accounts)),
        None => Err(format!(
            "budget {budget_name:?} filters by no cost-allocation tag; refusing to act on the whole account (say `scope: account` to mean it)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_tags_are_the_single_values_of_a_single_group_only() {
        let one = ResolvedScope::Tags(vec![vec![
            ("cost-center".into(), vec!["CC-4100".into()]),
            ("team".into(), vec!["a".into(), "b".into()]),
        ]]);
        assert_eq!(one.certain_tags(), Tags::from([("cost-center".to_owned(), "CC-4100".to_owned())]));
        let two = ResolvedScope::Tags(vec![
            vec![("cost-center".into(), vec!["CC-1".into()])],
            vec![("cost-center".into(), vec!["CC-2".into()])],
        ]);
        assert!(two.certain_tags().is_empty());
        assert!(ResolvedScope::Account.certain_tags().is_empty());
    }

    #[test]
    fn cost_filters_become_one_alternative_per_tag_key() {
        let filters = HashMap::from([(
            "TagKeyValue".to_string(),
            vec!["user:cost-center$CC-4100".to_string(), "user:cost-center$ML-Ads".into(), "user:team$growth".into()],
        )]);
        let scope = scope_from_cost_filters(&filters).unwrap();
        let ResolvedScope::Tags(groups) = &scope else { panic!("tags") };
        assert_eq!(groups.len(), 2);
        let tags = |k: &str, v: &str| Tags::from([(k.to_string(), v.to_string())]);
        assert!(scope.matches(&tags("cost-center", "ML-Ads")));
        assert!(scope.matches(&tags("team", "growth")));
        assert!(!scope.matches(&tags("cost-center", "Finance")));
    }

    #[test]
    fn filter_expressions_with_and_or_of_tags_become_scopes() {
        use aws_sdk_budgets::types::{Expression, TagValues};
        let tag = |k: &str, v: &str| Expression::builder().tags(TagValues::builder().key(k).values(v).build()).build();
        let expression = Expression::builder()
            .and(tag("cost-center", "CC-4100"))
            .and(Expression::builder().or(tag("team", "a")).or(tag("team", "b")).build())
            .build();
        let scope = scope_from_expression(&expression).unwrap();
        let has = |pairs: &[(&str, &str)]| {
            scope.matches(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        };
        assert!(has(&[("cost-center", "CC-4100"), ("team", "b")]));
        assert!(!has(&[("cost-center", "CC-4100")]));
        assert!(!has(&[("team", "a")]));
        let negated = Expression::builder().not(tag("team", "a")).build();
        assert_eq!(scope_from_expression(&negated), None);
    }

    #[test]
    fn budgets_without_tag_filters_have_no_scope() {
        let filters = HashMap::from([("Service".to_string(), vec!["Amazon SageMaker".to_string()])]);
        assert_eq!(scope_from_cost_filters(&filters), None);
        let empty = HashMap::from([("TagKeyValue".to_string(), vec!["user:cost-center$".to_string()])]);
        assert_eq!(scope_from_cost_filters(&empty), None);
    }

    #[test]
    fn linked_account_cost_filters_name_the_accounts_to_act_in() {
        let filters = HashMap::from([
            ("LinkedAccount".to_string(), vec!["222222222222".to_string(), "111111111111".into(), "junk".into()]),
            ("TagKeyValue".to_string(), vec!["user:cost-center$CC-4100".to_string()]),
        ]);
        assert_eq!(accounts_from_cost_filters(&filters), ["111111111111", "222222222222"]);
        assert!(scope_from_cost_filters(&filters).is_some(), "the tag filter still scopes resources");
        assert!(accounts_from_cost_filters(&HashMap::new()).is_empty());
    }

    #[test]
    fn linked_account_dimensions_intersect_through_and_and_unite_through_or() {
        use aws_sdk_budgets::types::{Dimension, Expression, ExpressionDimensionValues, TagValues};
        let accounts = |ids: &[&str]| {
            let values = ExpressionDimensionValues::builder()
                .key(Dimension::LinkedAccount)
                .set_values(Some(ids.iter().map(|a| a.to_string()).collect()))
                .build()
                .unwrap();
            Expression::builder().dimensions(values).build()
        };
        let tag = Expression::builder().tags(TagValues::builder().key("user:team").values("a").build()).build();
        let and = Expression::builder()
            .and(accounts(&["111111111111", "222222222222"]))
            .and(accounts(&["222222222222", "333333333333"]))
            .and(tag.clone())
            .build();
        assert_eq!(accounts_from_expression(&and).unwrap(), ["222222222222"]);
        let or = Expression::builder().or(accounts(&["111111111111"])).or(accounts(&["333333333333"])).build();
        assert_eq!(accounts_from_expression(&or).unwrap(), ["111111111111", "333333333333"]);
        let open = Expression::builder().or(accounts(&["111111111111"])).or(tag.clone()).build();
        assert!(accounts_from_expression(&open).unwrap().is_empty(), "one branch spans every account");
        let not = Expression::builder().not(accounts(&["111111111111"])).build();
        assert!(accounts_from_expression(&not).unwrap_err().contains("Not LINKED_ACCOUNT"));
        let service =
            ExpressionDimensionValues::builder().key(Dimension::Service).values("Amazon SageMaker").build().unwrap();
        let not_service = Expression::builder().not(Expression::builder().dimensions(service).build()).build();
        assert!(accounts_from_expression(&not_service).unwrap().is_empty());
    }
}
