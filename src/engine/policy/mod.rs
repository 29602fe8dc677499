//! Policy stage (pure core): policy JSON → a validated [`Policy`], with *every* problem reported at once.
//! Pure: no I/O.

mod glob;
mod load;

pub use glob::Glob;
pub use load::parse;

use crate::domain::{Mode, ResourceContext, ResourceKind};
use regex::Regex;
use std::fmt;

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Enforce (write) or report only; the environment may override it.
    pub mode: Mode,
    /// The rules, in document order.
    pub rules: Vec<Rule>,
}

impl Policy {
    /// The `(rule, key)` of every locked required key (a lock needs remembered values).
    pub fn locks(&self) -> Vec<(&str, &str)> {
        self.rules
            .iter()
            .flat_map(|r| {
                r.require
                    .iter()
                    .filter(|q| q.lock)
                    .map(move |q| (r.name.as_str(), q.key.as_str()))
            })
            .collect()
    }
}

/// One named rule: the tags a set of resources must carry and must not carry.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name, quoted in reports.
    pub name: String,
    /// The kinds the rule governs (both when the policy omits `resources`).
    pub kinds: Vec<ResourceKind>,
    /// Required tags, in document order.
    pub require: Vec<Required>,
    /// Forbidden key globs.
    pub forbid: Vec<Glob>,
}

impl Rule {
    /// Whether the rule governs the resource in `ctx`. Scoping by name, ARN, account, region
    /// or tag (reserved as the rule field `match`) will narrow this, so every caller asks here.
    pub fn applies_to(&self, ctx: &ResourceContext) -> bool {
        self.kinds.contains(&ctx.kind)
    }

    /// The first forbid glob matching `key`, if any.
    pub fn forbidding(&self, key: &str) -> Option<&Glob> {
        self.forbid.iter().find(|g| g.matches(key))
    }
}

/// A required tag.
#[derive(Debug, Clone)]
pub struct Required {
    /// The tag key (case-sensitive).
    pub key: String,
    /// The value written when the tag is missing or invalid; none means "report, don't fix".
    pub default: Option<String>,
    /// Allowed values, when restricted.
    pub values: Option<Vec<String>>,
    /// A regular expression the value must match (not implicitly anchored).
    pub pattern: Option<Regex>,
    /// The remembered value is kept: any other value, even an allowed one, is put back.
    pub lock: bool,
}

impl Required {
    /// Whether `value` satisfies both the allowed values and the pattern.
    pub fn accepts(&self, value: &str) -> bool {
        self.values.as_ref().is_none_or(|vs| vs.iter().any(|v| v == value))
            && self.pattern.as_ref().is_none_or(|p| p.is_match(value))
    }

    /// What a valid value looks like, for reports.
    pub fn expectation(&self) -> String {
        let mut parts = Vec::new();
        if let Some(values) = &self.values {
            parts.push(format!("one of [{}]", values.join(", ")));
        }
        if let Some(p) = &self.pattern {
            parts.push(format!("matching /{}/", p.as_str()));
        }
        if parts.is_empty() {
            "any value".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Where: a JSON pointer into the document (`/rules/0/require/Owner/default`); empty for
    /// the whole document.
    pub path: String,
    /// Why.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

/// Every problem found in a policy document (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "invalid policy ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
