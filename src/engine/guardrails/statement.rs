//! One Deny statement, and documents of them at most [`MAX_POLICY_CHARS`] long.

use super::{GuardrailError, GuardrailKind, MAX_POLICY_CHARS};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A condition block: operator → key → values.
type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// One Deny statement before the exempt principals are added.
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) sid: String,
    actions: Vec<&'static str>,
    resources: Vec<String>,
    conditions: Conditions,
    /// The (operator, key) whose values are alternatives (`ForAnyValue:`): the statement may be
    /// split into several on them, each denying part.
    any_of: Option<(String, String)>,
}

impl Statement {
    pub(super) fn new(sid: String, actions: Vec<&'static str>, resources: Vec<String>) -> Self {
        Statement {
            sid,
            actions,
            resources,
            conditions: Conditions::new(),
            any_of: None,
        }
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
        st.insert("Condition".into(), Value::Object(condition));
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
            s.with(op, key, part.to_vec());
            s
        };
        Some((half(a, "A"), half(b, "B")))
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

fn chars(v: &Value) -> usize {
    v.to_string().chars().count()
}

/// Packs statements into as few documents of at most [`MAX_POLICY_CHARS`] as the order allows,
/// splitting a statement too large on its own on its alternatives.
pub(super) fn pack(
    statements: Vec<Statement>,
    kind: GuardrailKind,
    exempt: &[String],
) -> Result<Vec<Value>, GuardrailError> {
    let mut pieces = Vec::new();
    let mut todo: Vec<Statement> = statements.into_iter().rev().collect();
    while let Some(st) = todo.pop() {
        let alone = chars(&document(&[st.to_json(kind, exempt)]));
        if alone <= MAX_POLICY_CHARS {
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
                    chars: alone,
                })
            }
        }
    }
    let mut docs = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    for piece in pieces {
        current.push(piece);
        if chars(&document(&current)) > MAX_POLICY_CHARS {
            if let Some(last) = current.pop() {
                docs.push(document(&current));
                current = vec![last];
            }
        }
    }
    if !current.is_empty() {
        docs.push(document(&current));
    }
    Ok(docs)
}
