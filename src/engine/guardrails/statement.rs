//! One Deny statement, statements that say the same merged, and documents of them at most
//! [`Limits::max_bytes`] long.

use super::{GuardrailError, GuardrailKind, Limits};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A condition block: operator → key → values.
type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Who a statement leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Exempt {
    /// The exempt principals given to [`super::guardrails`].
    Default,
    /// These principals only (none: the statement denies everyone).
    Only(Vec<String>),
}

/// One Deny statement before the exempt principals are added.
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) sid: String,
    actions: Vec<&'static str>,
    resources: Vec<String>,
    conditions: Conditions,
    /// The (operator, key) whose values are alternatives (`ForAnyValue:`): the statement may be
    /// split into several on them, each denying part, and statements that differ only there
    /// are one statement with all the values.
    any_of: Option<(String, String)>,
    exempt: Exempt,
}

impl Statement {
    pub(super) fn new(sid: String, actions: Vec<&'static str>, resources: Vec<String>) -> Self {
        Statement {
            sid,
            actions,
            resources,
            conditions: Conditions::new(),
            any_of: None,
            exempt: Exempt::Default,
        }
    }

    /// Leaves out `principals` only, in place of the default exempt principals.
    pub(super) fn exempting(mut self, exempt: Exempt) -> Self {
        self.exempt = exempt;
        self
    }

    /// Adds a condition; false when the statement already asks the opposite of the same key
    /// (it could then never apply).
    pub(super) fn with(&mut self, op: &str, key: &str, values: Vec<String>) -> bool {
        let entry = self.conditions.entry(op.to_owned()).or_default();
        match entry.get(key) {
            Some(existing) if *existing != values => false,
            _ => {
                entry.insert(key.to_owned(), values);
                true
            }
        }
    }

    pub(super) fn any_of(mut self, op: &str, key: &str, values: Vec<String>) -> Self {
        self.with(op, key, values);
        self.any_of = Some((op.to_owned(), key.to_owned()));
        self
    }

    fn to_json(&self, kind: GuardrailKind, exempt: &[String]) -> Value {
        let mut st = Map::new();
        st.insert("Sid".into(), json!(self.sid));
        st.insert("Effect".into(), json!("Deny"));
        if kind == GuardrailKind::Rcp {
            st.insert("Principal".into(), json!("*"));
        }
        st.insert(
            "Action".into(),
            one_or_many(self.actions.iter().map(|a| (*a).to_owned()).collect()),
        );
        st.insert("Resource".into(), one_or_many(self.resources.clone()));
        let mut conditions = self.conditions.clone();
        let exempt = match &self.exempt {
            Exempt::Default => exempt,
            Exempt::Only(these) => these.as_slice(),
        };
        if !exempt.is_empty() {
            conditions
                .entry("ArnNotLike".into())
                .or_default()
                .insert("aws:PrincipalArn".into(), exempt.to_vec());
        }
        if kind == GuardrailKind::Rcp {
            conditions
                .entry("BoolIfExists".into())
                .or_default()
                .insert("aws:PrincipalIsAWSService".into(), vec!["false".to_owned()]);
        }
        let condition: Map<String, Value> = conditions
            .into_iter()
            .map(|(op, keys)| {
                let keys: Map<String, Value> = keys.into_iter().map(|(k, vs)| (k, one_or_many(vs))).collect();
                (op, Value::Object(keys))
            })
            .collect();
        if !condition.is_empty() {
            st.insert("Condition".into(), Value::Object(condition));
        }
        Value::Object(st)
    }

    /// The statement in two, each with half of its alternatives; `None` when it has fewer than
    /// two.
    fn halves(&self) -> Option<(Statement, Statement)> {
        let (op, key) = self.any_of.as_ref()?;
        let values = self.conditions.get(op)?.get(key)?;
        if values.len() < 2 {
            return None;
        }
        let (a, b) = values.split_at(values.len() / 2);
        let half = |part: &[String], suffix: &str| {
            let mut s = self.clone();
            s.sid = format!("{}{suffix}", self.sid);
            s.conditions
                .entry(op.clone())
                .or_default()
                .insert(key.clone(), part.to_vec());
            s
        };
        Some((half(a, "A"), half(b, "B")))
    }

    /// The conditions but the alternatives' values: what two statements must share to be one
    /// with the union of their alternatives.
    fn but_alternatives(&self) -> Conditions {
        let mut c = self.conditions.clone();
        if let Some((op, key)) = &self.any_of {
            if let Some(keys) = c.get_mut(op) {
                keys.remove(key);
            }
        }
        c
    }

    fn alternatives(&self) -> Vec<String> {
        self.any_of
            .as_ref()
            .and_then(|(op, key)| self.conditions.get(op)?.get(key).cloned())
            .unwrap_or_default()
    }

    /// `other` folded into this one, when the two are one statement: the same actions,
    /// resources and conditions but for the alternatives (the alternatives united: "any of X
    /// or any of Y" is "any of X ∪ Y"), or the same but for the actions (the actions united).
    fn absorb(&mut self, other: &Statement) -> bool {
        if self.exempt != other.exempt || self.resources != other.resources || self.any_of != other.any_of {
            return false;
        }
        if self.actions == other.actions && self.any_of.is_some() && self.but_alternatives() == other.but_alternatives()
        {
            let mut values = self.alternatives();
            for v in other.alternatives() {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            if let Some((op, key)) = self.any_of.clone() {
                self.conditions.entry(op).or_default().insert(key, values);
            }
            return true;
        }
        if self.conditions == other.conditions {
            for a in &other.actions {
                if !self.actions.contains(a) {
                    self.actions.push(a);
                }
            }
            return true;
        }
        false
    }
}

/// Statements that say the same, merged until none can be: each keeps the first one's Sid.
pub(super) fn merge(statements: Vec<Statement>) -> Vec<Statement> {
    let mut out: Vec<Statement> = Vec::new();
    let mut todo = statements;
    loop {
        let before = todo.len();
        for st in todo {
            if !out.iter_mut().any(|kept| kept.absorb(&st)) {
                out.push(st);
            }
        }
        if out.len() == before {
            return out;
        }
        todo = std::mem::take(&mut out);
    }
}

fn one_or_many(values: Vec<String>) -> Value {
    match values.as_slice() {
        [one] => json!(one),
        _ => json!(values),
    }
}

fn document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The size AWS Organizations counts: the UTF-8 bytes of the minified document (AWS's pages
/// disagree on characters or bytes; bytes are never refused).
pub fn size(v: &Value) -> usize {
    v.to_string().len()
}

/// Packs statements into as few documents of at most `limits.max_bytes` as the order allows,
/// splitting a statement too large on its own on its alternatives; more than
/// `limits.max_documents` documents is an error saying how many are needed.
pub(super) fn pack(
    statements: Vec<Statement>,
    kind: GuardrailKind,
    exempt: &[String],
    limits: &Limits,
) -> Result<Vec<Value>, GuardrailError> {
    let max = limits.max_bytes;
    let mut pieces = Vec::new();
    let mut todo: Vec<Statement> = statements.into_iter().rev().collect();
    while let Some(st) = todo.pop() {
        let alone = size(&document(&[st.to_json(kind, exempt)]));
        if alone <= max {
            pieces.push(st.to_json(kind, exempt));
            continue;
        }
        match st.halves() {
            Some((a, b)) => {
                todo.push(b);
                todo.push(a);
            }
            None => {
                return Err(GuardrailError::TooLarge {
                    sid: st.sid,
                    bytes: alone,
                    max,
                })
            }
        }
    }
    // First fit, largest first: fewer documents than in the statements' order.
    pieces.sort_by_key(|p| std::cmp::Reverse(size(p)));
    let mut docs: Vec<Vec<Value>> = Vec::new();
    for piece in pieces {
        let fits = docs.iter_mut().find(|d| {
            let mut with = (*d).clone();
            with.push(piece.clone());
            size(&document(&with)) <= max
        });
        match fits {
            Some(d) => d.push(piece),
            None => docs.push(vec![piece]),
        }
    }
    if docs.len() > limits.max_documents {
        return Err(GuardrailError::TooMany {
            kind,
            needed: docs.len(),
            limit: limits.max_documents,
        });
    }
    Ok(docs.iter().map(|d| document(d)).collect())
}
