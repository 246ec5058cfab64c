//! JSON for policy documents: objects that keep their keys in the order written, statement ids, sizes.

use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::GuardrailError;

/// `6144` as `6,144`.
pub(super) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `cost-center` as `CostCenter`: the ASCII letters and digits of each word, capitalised (a `Sid` is alphanumeric).
pub(super) fn pascal(key: &str) -> String {
    key.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars)
        })
        .collect()
}

/// Statement ids, made unique with a number when two keys spell the same (`a:b` and `a-b`).
#[derive(Default)]
pub(super) struct Sids(Vec<String>);

impl Sids {
    pub(super) fn unique(&mut self, wanted: &str) -> String {
        let mut sid = wanted.to_owned();
        let mut n = 2;
        while self.0.contains(&sid) {
            sid.clear();
            let _ = write!(sid, "{wanted}{n}");
            n += 1;
        }
        self.0.push(sid.clone());
        sid
    }
}

pub(super) fn pretty(document: &'static str, node: &Node) -> Result<String, GuardrailError> {
    serde_json::to_string_pretty(node).map(|s| s + "\n").map_err(|source| GuardrailError::Json { document, source })
}

pub(super) fn minified(document: &'static str, node: &Node) -> Result<String, GuardrailError> {
    serde_json::to_string(node).map_err(|source| GuardrailError::Json { document, source })
}

/// A JSON value whose objects keep their keys in the order written (`Version` before `Statement`, `Sid` first);
/// serde_json's own map sorts keys in this build.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Str(String),
    List(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

impl Node {
    pub(super) fn str(s: impl Into<String>) -> Self {
        Self::Str(s.into())
    }

    pub(super) fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        Self::List(items.into_iter().map(Self::str).collect())
    }

    pub(super) fn obj<K: Into<String>>(entries: impl IntoIterator<Item = (K, Node)>) -> Self {
        Self::Obj(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Str(s) => serializer.serialize_str(s),
            Self::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Obj(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}
