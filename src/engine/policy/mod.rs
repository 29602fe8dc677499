//! Policy stage (pure core): policy JSON → a validated [`Policy`], with *every* problem reported at once.
//! Pure: no I/O.

mod glob;
mod load;
mod schema;
mod scope;
mod template;

pub use glob::Glob;
pub use load::{parse, parse_as, read_document, Format, MAX_POLICY_BYTES, MAX_RULES};
pub use schema::{schema, SCHEMA_ID};
pub use scope::{Scope, TagCondition};

pub use template::{sanitize, Template, Unresolved, CREATION_EVENTS, PLACEHOLDERS};

use crate::domain::{Date, Mode, ResourceContext, ResourceKind, Tags};
use regex::Regex;
use std::fmt;

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// 1 or 2 (scopes, rule modes and derived values are version 2's).
    pub version: u8,
    /// Enforce (write) or report only; the environment may override it.
    pub mode: Mode,
    /// The rules, in document order.
    pub rules: Vec<Rule>,
    /// Rules waived for chosen resources until a date (version 2).
    pub waivers: Vec<Waiver>,
    /// Who may exempt a resource with `tag-warden:exempt`/`tag-warden:exempt-until`, and for
    /// how long (version 2 may set it; the default holds for version 1 too).
    pub exemptions: Exemptions,
}

/// Whose exemption tags are honoured, and how far ahead `tag-warden:exempt-until` may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exemptions {
    /// Who may set them.
    pub set_by: ExemptionSetter,
    /// `tag-warden:exempt-until` more than this many days after today is a violation.
    pub max_days: u32,
}

impl Default for Exemptions {
    fn default() -> Self {
        Exemptions {
            set_by: ExemptionSetter::Trusted,
            max_days: 90,
        }
    }
}

/// Who may set an exemption tag for it to be honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExemptionSetter {
    /// A trusted principal (`TAG_WARDEN_IGNORE_PRINCIPALS`) or an administrator's `tag-warden
    /// exempt`: memory must record that the tag's current value was set that way.
    Trusted,
    /// Anyone who can tag the resource (opt-in).
    Anyone,
    /// No one: the tags exempt nothing.
    Nobody,
}

impl ExemptionSetter {
    /// The policy's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExemptionSetter::Trusted => "trusted",
            ExemptionSetter::Anyone => "anyone",
            ExemptionSetter::Nobody => "nobody",
        }
    }

    /// From the policy's word.
    pub fn parse(text: &str) -> Option<Self> {
        [
            ExemptionSetter::Trusted,
            ExemptionSetter::Anyone,
            ExemptionSetter::Nobody,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The longest `exemptions.max_days` a policy may set (ten years).
pub const MAX_EXEMPTION_DAYS: u32 = 3650;

/// A policy waiver: chosen rules do not apply to chosen resources through a day (UTC).
#[derive(Debug, Clone)]
pub struct Waiver {
    /// The resources it covers.
    pub scope: Scope,
    /// The rules it waives; `None`: every rule.
    pub rules: Option<Vec<String>>,
    /// The last day it is in force.
    pub until: Date,
    /// Why, for people.
    pub reason: String,
}

impl Waiver {
    /// Whether it is in force on `today` for the resource in `ctx` carrying `tags`, for `rule`.
    pub fn waives(&self, rule: &str, ctx: &ResourceContext, tags: &Tags) -> bool {
        ctx.today.is_some_and(|today| today <= self.until)
            && self.rules.as_ref().is_none_or(|r| r.iter().any(|n| n == rule))
            && self.scope.matches(ctx, tags)
    }
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

    /// Whether some rule that governs `kind`, a kind named by aliases (KMS keys), scopes by name
    /// or derives a value from the name, so that the event path must read a resource's aliases
    /// (one ListAliases call).
    pub fn needs_aliases(&self, kind: ResourceKind) -> bool {
        kind.spec().named_by_aliases()
            && self.rules.iter().any(|r| {
                r.kinds.contains(&kind)
                    && (r.scope.uses_names()
                        || r.require
                            .iter()
                            .any(|q| q.default.as_ref().is_some_and(Template::uses_name)))
            })
    }

    /// Whether any kind's aliases must be read ([`Policy::needs_aliases`]).
    pub fn needs_key_aliases(&self) -> bool {
        ResourceKind::ALL.into_iter().any(|k| self.needs_aliases(k))
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
    /// Optional tags (version 2): checked only when present; an invalid value is replaced by
    /// the `default` when there is one, else a violation. Never `lock`ed.
    pub optional: Vec<Required>,
    /// Version 2: a tag whose key equals a key this rule names (required or optional) but for
    /// case is renamed to the named key (or removed, when the named key is there already).
    pub fix_key_case: bool,
    /// The resources it governs beyond their kind (`match`).
    pub scope: Scope,
    /// Enforce or report this rule's writes, over the policy's mode.
    pub mode: Option<Mode>,
}

impl Rule {
    /// Whether the rule governs the resource in `ctx` carrying `tags`: its kind, then its
    /// `match`. Every caller asks here.
    pub fn applies_to(&self, ctx: &ResourceContext, tags: &Tags) -> bool {
        self.kinds.contains(&ctx.kind) && self.scope.matches(ctx, tags)
    }

    /// The mode of this rule's writes under the effective `global` mode: report everywhere
    /// when the global mode is report (a safe rollout wins), else the rule's own, else enforce.
    pub fn effective_mode(&self, global: Mode) -> Mode {
        match global {
            Mode::Report => Mode::Report,
            Mode::Enforce => self.mode.unwrap_or(Mode::Enforce),
        }
    }

    /// The first forbid glob matching `key`, if any.
    pub fn forbidding(&self, key: &str) -> Option<&Glob> {
        self.forbid.iter().find(|g| g.matches(key))
    }

    /// Every key the rule names (required, then optional).
    pub fn named_keys(&self) -> impl Iterator<Item = &str> {
        self.require.iter().chain(&self.optional).map(|q| q.key.as_str())
    }
}

/// Whether two keys are the same but for case (and not the same).
pub fn same_but_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a != b && a.eq_ignore_ascii_case(b);
    }
    a != b && a.to_lowercase() == b.to_lowercase()
}

/// A required tag.
#[derive(Debug, Clone)]
pub struct Required {
    /// The tag key (case-sensitive).
    pub key: String,
    /// The value written when the tag is missing or invalid and nothing valid is remembered
    /// (literal, or derived with placeholders); none means "report, don't fix".
    pub default: Option<Template>,
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

/// Every problem found in a policy document (never empty): the first
/// [`MAX_LISTED_PROBLEMS`], and how many more were found but not listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyErrors(pub Vec<PolicyError>, pub usize);

/// The problems a [`PolicyErrors`] lists; the rest are only counted.
pub const MAX_LISTED_PROBLEMS: usize = 100;

/// After this many problems the checks between rules stop: the count is then a lower bound.
pub const MAX_COUNTED_PROBLEMS: usize = 10_000;

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len() + self.1;
        let at_least = if n >= MAX_COUNTED_PROBLEMS { "at least " } else { "" };
        write!(
            f,
            "invalid policy ({at_least}{n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        if n >= MAX_COUNTED_PROBLEMS {
            write!(f, "\n  and at least {} more (checking stopped)", self.1)?;
        } else if self.1 > 0 {
            write!(f, "\n  and {} more", self.1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
