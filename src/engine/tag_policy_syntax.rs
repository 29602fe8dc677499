//! A tag policy's text and an import's (pure core): JSON with no key named twice in one
//! object, the service spellings of `enforced_for` / `report_required_tag_for` AWS allows, and
//! how two imports differ.

use crate::domain::ResourceKind;
use serde_json::Value;

/// Why a document is not a tag policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagPolicyError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but no tag policy shape.
    #[error("not a tag policy: {0}; a tag policy is {{\"tags\": {{\"costcenter\": {{\"tag_key\": {{\"@@assign\": \"CostCenter\"}}, \"tag_value\": {{\"@@assign\": [\"100\", \"300*\"]}}, \"enforced_for\": …, \"report_required_tag_for\": …}}}}}}, or the response of `aws organizations describe-effective-policy --policy-type TAG_POLICY`, or its PolicyContent")]
    NotATagPolicy(String),
    /// A field with a value of the wrong shape.
    #[error("{path}: {why}")]
    Malformed {
        /// A JSON pointer into the tag policy.
        path: String,
        /// What was expected.
        why: String,
    },
}

/// The service spellings that name a kind in `enforced_for` and `report_required_tag_for`:
/// the kind, none (another service), or why AWS refuses the entry.
pub(super) fn kinds_named(entry: &str) -> Result<Vec<ResourceKind>, String> {
    if matches!(entry, "*" | "*:*") {
        return Err(format!(
            "`{entry}` is not allowed here: AWS takes `service:ALL_SUPPORTED`, `service:*` or `service:resource_type`"
        ));
    }
    let Some((service, kind)) = entry.split_once(':') else {
        return Err(format!("`{entry}` is not `service:resource_type`"));
    };
    let ours: Vec<ResourceKind> = ResourceKind::ALL
        .into_iter()
        .filter(|k| k.spec().service.prefix() == service)
        .collect();
    let named: Vec<ResourceKind> = ours
        .iter()
        .copied()
        .filter(|k| matches!(kind, "*" | "ALL_SUPPORTED") || k.spec().resource_type == kind)
        .collect();
    if !named.is_empty() {
        return Ok(named);
    }
    if !ours.is_empty() {
        let types: Vec<String> = ours
            .iter()
            .map(|k| format!("`{service}:{}`", k.spec().resource_type))
            .collect();
        return Err(format!(
            "`{entry}`: {service} has no resource type `{kind}` in tag policies ({}, `{service}:*` or `{service}:ALL_SUPPORTED`)",
            types.join(", ")
        ));
    }
    if let Some(s) = ResourceKind::ALL
        .map(|k| k.spec().service.prefix())
        .into_iter()
        .find(|s| service.eq_ignore_ascii_case(s) || edits(service, s) <= typo_distance(s))
    {
        return Err(format!("`{entry}`: no service `{service}` (did you mean `{s}`?)"));
    }
    let well_formed = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !kind.is_empty()
        && (kind == "*"
            || kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    if well_formed {
        Ok(Vec::new())
    } else {
        Err(format!("`{entry}` is not `service:resource_type`"))
    }
}

/// How many edits away from a service's name a word is taken for a misspelling of it: a
/// third of the name (at least one). Two edits was every other three-letter service (`sqs`,
/// `sns`, `ssm` are two from `kms`), so valid tag policies naming them were refused.
fn typo_distance(service: &str) -> usize {
    (service.len() / 3).max(1)
}

/// The edit distance of two short words (a misspelt service).
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cur = row.get(j + 1).copied().unwrap_or(0);
            let best = (prev + usize::from(ca != *cb))
                .min(cur + 1)
                .min(row.get(j).copied().unwrap_or(0) + 1);
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = best;
            }
            prev = cur;
        }
    }
    row.last().copied().unwrap_or(0)
}

/// JSON in which an object naming one key twice is refused (serde_json keeps the last; AWS
/// refuses the document).
pub(super) fn strict_json(text: &str) -> Result<Value, String> {
    use serde::de::{Deserializer, Error, MapAccess, SeqAccess, Visitor};
    struct Strict;
    impl<'de> Visitor<'de> for Strict {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(v) = seq.next_element_seed(Seed)? {
                items.push(v);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut obj = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if obj.contains_key(&key) {
                    return Err(A::Error::custom(format!(
                        "the key `{key}` appears twice in one object (AWS refuses the document; JSON readers keep one or the other)"
                    )));
                }
                let v = map.next_value_seed(Seed)?;
                obj.insert(key, v);
            }
            Ok(Value::Object(obj))
        }
    }
    struct Seed;
    impl<'de> serde::de::DeserializeSeed<'de> for Seed {
        type Value = Value;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(Strict)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let v = serde::de::DeserializeSeed::deserialize(Seed, &mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v)
}

/// The tag policy in a document: policy syntax, an effective policy's `PolicyContent` (also
/// saved as a quoted JSON string), or the whole `describe-effective-policy` response; a UTF-8
/// byte-order mark skipped, duplicate object keys refused.
pub(super) fn document(text: &str) -> Result<Value, TagPolicyError> {
    // A UTF-8 byte-order mark (editors on Windows write one) is no part of the JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut value: Value = strict_json(text).map_err(TagPolicyError::NotJson)?;
    // A PolicyContent saved as it comes, a quoted JSON string: the JSON inside it.
    if let Value::String(inner) = &value {
        value = strict_json(inner).map_err(|e| {
            TagPolicyError::NotATagPolicy(format!("a JSON string that is not a quoted tag policy ({e})"))
        })?;
    }
    Ok(match value.get("EffectivePolicy") {
        Some(effective) => {
            match effective.get("PolicyType").and_then(Value::as_str) {
                None | Some("TAG_POLICY") => {}
                Some(other) => {
                    return Err(TagPolicyError::NotATagPolicy(format!(
                        "the effective policy is of type `{other}`: ask for `--policy-type TAG_POLICY`"
                    )))
                }
            }
            let text = effective.get("PolicyContent").and_then(Value::as_str).ok_or_else(|| {
                TagPolicyError::NotATagPolicy("`EffectivePolicy` has no `PolicyContent` string".to_owned())
            })?;
            strict_json(text).map_err(|e| {
                TagPolicyError::NotATagPolicy(format!("`EffectivePolicy.PolicyContent` is not JSON: {e}"))
            })?
        }
        None => value,
    })
}

/// The lines of `ours` and `theirs` that differ, comments left out (the header carries a date),
/// as `-`/`+` lines; empty when they mean the same text.
pub fn diff(theirs: &str, ours: &str) -> Vec<String> {
    let lines = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    let (a, b) = (lines(theirs), lines(ours));
    if a == b {
        return Vec::new();
    }
    let mut out: Vec<String> = a.iter().filter(|l| !b.contains(l)).map(|l| format!("- {l}")).collect();
    out.extend(b.iter().filter(|l| !a.contains(l)).map(|l| format!("+ {l}")));
    if out.is_empty() {
        out.push("(the same lines in another order)".to_owned());
    }
    out
}
