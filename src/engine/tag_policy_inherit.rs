//! Tag policy inheritance (pure core): the policies an account inherits, root first, merged
//! into its effective policy the way AWS Organizations documents it ("Policy syntax and
//! inheritance for management policy types", and its six inheritance examples).
//!
//! - `@@assign` overwrites what is inherited (a list: replaces it), `@@append` adds to a list,
//!   `@@remove` takes values out of one; a plain value (an effective policy) is an `@@assign`.
//! - `@@operators_allowed_for_child_policies` (`@@all`, `@@none`, or some of the three), at the
//!   `tags`, the policy key or the field, limits the policies *below* it; a child cannot lift a
//!   limit, and two limits at one level give their intersection (Example 5). An operator a
//!   parent does not allow is without effect (Example 4), and said so.
//! - Policies attached to the same place are taken in attachment order, and a setting the first
//!   of them assigned is kept against a later one's `@@assign` (Example 6).
//! - Policy keys are one key whatever their case; the effective policy keeps the first
//!   spelling met, root first.

use super::tag_policy_syntax::{document, TagPolicyError};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The value-setting operators, in the order one field's are applied.
const OPERATORS: [&str; 3] = ["@@assign", "@@append", "@@remove"];
const CHILD_CONTROL: &str = "@@operators_allowed_for_child_policies";
/// A policy key's fields (`tag_key` single-valued, the rest lists).
const FIELDS: [&str; 4] = ["tag_key", "tag_value", "enforced_for", "report_required_tag_for"];

/// One policy attached to a place: a name for messages, and its text.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The name messages give it (a file name).
    pub name: String,
    /// The policy's text (policy syntax, or an effective policy).
    pub text: String,
}

/// An effective policy as AWS displays it (plain values, no operators), and what the merge
/// left without effect, one line each.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// `{"tags": {…}}`.
    pub policy: Value,
    /// Operators without effect (not allowed by a parent, or a later same-level assignment).
    pub notes: Vec<String>,
}

type Allowed = BTreeSet<&'static str>;

fn all() -> Allowed {
    OPERATORS.into_iter().collect()
}

#[derive(Default)]
struct Key {
    /// The policy key as first spelt.
    id: String,
    fields: BTreeMap<&'static str, Value>,
}

/// Where a child control applies: the whole `tags`, a policy key, or one field of it.
type Place = (Option<String>, Option<&'static str>);

#[derive(Default)]
struct Merge {
    keys: BTreeMap<String, Key>,
    /// The limits in force for the level being read (set by the levels above).
    limits: BTreeMap<Place, Allowed>,
    notes: Vec<String>,
}

/// The effective policy of an account that inherits `levels`, root first; each level the
/// policies attached to one place, in attachment order.
pub fn effective(levels: &[Vec<Attached>]) -> Result<Effective, TagPolicyError> {
    let mut merge = Merge::default();
    for level in levels {
        let mut assigned_here: BTreeSet<(String, &'static str)> = BTreeSet::new();
        let mut new_limits: BTreeMap<Place, Allowed> = BTreeMap::new();
        for policy in level {
            let content = document(&policy.text)?;
            let tags = content
                .get("tags")
                .and_then(Value::as_object)
                .ok_or_else(|| TagPolicyError::NotATagPolicy(format!("{}: no `tags` object", policy.name)))?;
            merge.policy(&policy.name, tags, &mut assigned_here, &mut new_limits)?;
        }
        for (place, allowed) in new_limits {
            narrow(&mut merge.limits, place, &allowed);
        }
    }
    let mut tags = Map::new();
    for key in merge.keys.into_values() {
        let mut fields = Map::new();
        for field in FIELDS {
            match key.fields.get(field) {
                // An emptied scope list is no scope (AWS's Example 3 displays none).
                Some(Value::Array(a)) if a.is_empty() && field != "tag_value" => {}
                Some(v) => {
                    fields.insert(field.to_owned(), v.clone());
                }
                None => {}
            }
        }
        tags.insert(key.id, Value::Object(fields));
    }
    let mut policy = Map::new();
    policy.insert("tags".to_owned(), Value::Object(tags));
    Ok(Effective {
        policy: Value::Object(policy),
        notes: merge.notes,
    })
}

fn malformed(path: String, why: &str) -> TagPolicyError {
    TagPolicyError::Malformed {
        path,
        why: why.to_owned(),
    }
}

/// Narrows the operators allowed at `place` to those `allowed` also names (a limit is never
/// lifted: two limits give their intersection).
fn narrow(limits: &mut BTreeMap<Place, Allowed>, place: Place, allowed: &Allowed) {
    let limit = limits.entry(place).or_insert_with(all);
    *limit = limit.intersection(allowed).copied().collect();
}

/// The operators a child control names (`@@all`, `@@none`, or some of the three).
fn allowed(v: &Value, path: &str) -> Result<Allowed, TagPolicyError> {
    let items = v
        .as_array()
        .ok_or_else(|| malformed(path.to_owned(), "expected a list of operators"))?;
    let mut out = Allowed::new();
    for item in items {
        match item.as_str() {
            Some("@@all") => out.extend(OPERATORS),
            Some("@@none") => {}
            Some(op) => match OPERATORS.iter().find(|o| **o == op) {
                Some(o) => {
                    out.insert(o);
                }
                None => return Err(malformed(path.to_owned(), &format!("`{op}` is not an operator a child control can name (@@all, @@none, @@assign, @@append, @@remove)"))),
            },
            None => return Err(malformed(path.to_owned(), "expected operator names")),
        }
    }
    Ok(out)
}

impl Merge {
    /// What the levels above allow at one field.
    fn allows(&self, key: &str, field: &'static str, op: &str) -> bool {
        [
            (None, None),
            (Some(key.to_owned()), None),
            (Some(key.to_owned()), Some(field)),
        ]
        .iter()
        .all(|place| self.limits.get(place).is_none_or(|a| a.contains(op)))
    }

    fn policy(
        &mut self,
        name: &str,
        tags: &Map<String, Value>,
        assigned_here: &mut BTreeSet<(String, &'static str)>,
        new_limits: &mut BTreeMap<Place, Allowed>,
    ) -> Result<(), TagPolicyError> {
        for (id, spec) in tags {
            let path = format!("{name}: /tags/{id}");
            if id == CHILD_CONTROL {
                narrow(new_limits, (None, None), &allowed(spec, &path)?);
                continue;
            }
            let Some(spec) = spec.as_object() else {
                return Err(malformed(path, "expected an object"));
            };
            let lc = id.to_lowercase();
            self.keys.entry(lc.clone()).or_insert_with(|| Key {
                id: id.clone(),
                ..Key::default()
            });
            for (field_name, v) in spec {
                let fpath = format!("{path}/{field_name}");
                if field_name == CHILD_CONTROL {
                    narrow(new_limits, (Some(lc.clone()), None), &allowed(v, &fpath)?);
                    continue;
                }
                let Some(field) = FIELDS.into_iter().find(|f| f == field_name) else {
                    self.notes.push(format!("{fpath}: not a tag policy field, ignored"));
                    continue;
                };
                let ops: Vec<(&str, &Value)> = match v.as_object() {
                    None => vec![("@@assign", v)],
                    Some(obj) => {
                        for (op, x) in obj {
                            if op == CHILD_CONTROL {
                                narrow(new_limits, (Some(lc.clone()), Some(field)), &allowed(x, &fpath)?);
                            } else if !OPERATORS.contains(&op.as_str()) {
                                return Err(malformed(
                                    fpath.clone(),
                                    &format!(
                                        "`{op}` is not a tag policy operator (expected @@assign, @@append or @@remove)"
                                    ),
                                ));
                            }
                        }
                        OPERATORS
                            .iter()
                            .filter_map(|op| obj.get(*op).map(|x| (*op, x)))
                            .collect()
                    }
                };
                for (op, x) in ops {
                    self.apply(&lc, field, op, x, &fpath, assigned_here)?;
                }
            }
        }
        Ok(())
    }

    fn apply(
        &mut self,
        key: &str,
        field: &'static str,
        op: &str,
        x: &Value,
        path: &str,
        assigned_here: &mut BTreeSet<(String, &'static str)>,
    ) -> Result<(), TagPolicyError> {
        if !self.allows(key, field, op) {
            self.notes.push(format!(
                "{path}/{op}: a parent policy does not allow child policies `{op}` here; without effect"
            ));
            return Ok(());
        }
        if field == "tag_key" && op != "@@assign" {
            return Err(malformed(
                format!("{path}/{op}"),
                "`tag_key` is one value: only @@assign sets it",
            ));
        }
        if field != "tag_key" && !x.is_array() {
            return Err(malformed(format!("{path}/{op}"), "expected a list"));
        }
        let Some(entry) = self.keys.get_mut(key) else {
            return Ok(());
        };
        match op {
            "@@assign" => {
                if !assigned_here.insert((key.to_owned(), field)) {
                    self.notes.push(format!(
                        "{path}/@@assign: a policy attached earlier to the same place assigned `{field}` first; it is kept"
                    ));
                    return Ok(());
                }
                entry.fields.insert(field, x.clone());
            }
            "@@append" => {
                let list = entry.fields.entry(field).or_insert_with(|| Value::Array(Vec::new()));
                if let (Value::Array(list), Value::Array(more)) = (list, x) {
                    for m in more {
                        if !list.contains(m) {
                            list.push(m.clone());
                        }
                    }
                }
            }
            _ => {
                if let (Some(Value::Array(list)), Value::Array(gone)) = (entry.fields.get_mut(field), x) {
                    list.retain(|v| !gone.contains(v));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tag_policy_inherit_tests.rs"]
mod tests;
