//! A finding: one way a resource departs from the policy, for people (`reason`) and for the
//! report (serialized with `"finding": "kind"`).

use super::Fix;
use crate::domain::EXEMPT_UNTIL_TAG;
use serde::Serialize;

/// One way a resource departs from the policy, and whether the plan fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    /// A forbidden key is present; the plan removes it.
    Forbidden {
        /// The key.
        key: String,
        /// The rule forbidding it.
        rule: String,
        /// The glob that matched.
        glob: String,
    },
    /// A required key is absent.
    Missing {
        /// The key.
        key: String,
        /// The rule requiring it.
        rule: String,
        /// How the plan fixes it, if it can.
        #[serde(flatten)]
        fix: Fix,
    },
    /// A required key has a value the rule rejects.
    Invalid {
        /// The key.
        key: String,
        /// The current value.
        value: String,
        /// What the rule accepts.
        expected: String,
        /// The rule.
        rule: String,
        /// How the plan fixes it, if it can.
        #[serde(flatten)]
        fix: Fix,
    },
    /// A locked key carries a value other than the remembered one; the plan puts it back.
    Locked {
        /// The key.
        key: String,
        /// The current value.
        value: String,
        /// The remembered value the plan sets.
        remembered: String,
        /// The rule locking it.
        rule: String,
    },
    /// At creation, a locked key whose default derives from the creator carries another value
    /// than the derived one (a caller naming someone else as `CreatedBy`); the plan sets the
    /// derived value, which is then the one remembered.
    Derived {
        /// The key.
        key: String,
        /// The value the creation call passed.
        value: String,
        /// The value derived from the creator, which the plan sets.
        derived: String,
        /// The rule locking it.
        rule: String,
    },
    /// A key a rule's `match.tags` reads was removed or changed so that the resource would leave
    /// the rule it matched (memory holds the value it matched with): the plan puts it back,
    /// and the rule still applies.
    Scope {
        /// The key.
        key: String,
        /// The current value (`None`: removed).
        value: Option<String>,
        /// The remembered value the plan sets.
        remembered: String,
        /// The rule the resource would have left.
        rule: String,
    },
    /// A key that is a key the rule names but for case (`fix_key_case`): renamed to the named
    /// key (the value kept when valid), or removed when the named key is there already.
    KeyCase {
        /// The key as found.
        key: String,
        /// The key the rule names.
        named: String,
        /// The rule.
        rule: String,
        /// Whether its value moves to the named key (else it is dropped).
        renamed: bool,
    },
    /// `tag-warden:exempt-until` is not a day (`YYYY-MM-DD`), or runs further ahead than the
    /// policy's `exemptions.max_days`: it exempts nothing.
    BadWaiver {
        /// The tag's value.
        value: String,
        /// `exemptions.max_days` when the day is too far ahead; `None` when it is not a day.
        max_days: Option<u32>,
    },
    /// Required tags missing, whose defaults the plan cannot add without exceeding the
    /// service's tag limit.
    TagLimit {
        /// The keys left out.
        keys: Vec<String>,
        /// The limit on user tags.
        limit: usize,
    },
}

impl Finding {
    /// Whether the plan fixes this finding.
    pub fn is_fixed(&self) -> bool {
        match self {
            Finding::Forbidden { .. }
            | Finding::Locked { .. }
            | Finding::Derived { .. }
            | Finding::Scope { .. }
            | Finding::KeyCase { .. } => true,
            Finding::Missing { fix, .. } | Finding::Invalid { fix, .. } => fix.value().is_some(),
            Finding::TagLimit { .. } | Finding::BadWaiver { .. } => false,
        }
    }

    /// One line for people.
    pub fn reason(&self) -> String {
        match self {
            Finding::Forbidden { key, rule, glob } => {
                format!("`{key}` is forbidden by rule `{rule}` (`{glob}`); fix: remove it")
            }
            Finding::Missing { key, rule, fix } => {
                format!("`{key}` is required by rule `{rule}` but missing: {}", fix.describe())
            }
            Finding::Invalid {
                key,
                value,
                expected,
                rule,
                fix,
            } => format!(
                "`{key}` = `{value}` is invalid by rule `{rule}` (expected {expected}): {}",
                fix.describe()
            ),
            Finding::Locked {
                key,
                value,
                remembered,
                rule,
            } => format!(
                "`{key}` is locked by rule `{rule}` at `{remembered}` but is `{value}`: fix: set `{remembered}` (the remembered value)"
            ),
            Finding::Derived {
                key,
                value,
                derived,
                rule,
            } => format!(
                "`{key}` = `{value}` at creation, but rule `{rule}` locks it to its default derived from the creator: fix: set `{derived}`"
            ),
            Finding::Scope {
                key,
                value,
                remembered,
                rule,
            } => format!(
                "`{key}` {} would take the resource out of rule `{rule}`, which it matched with `{remembered}`: fix: set `{remembered}` (the remembered value)",
                value.as_ref().map_or("was removed: that".to_owned(), |v| format!("= `{v}`"))
            ),
            Finding::KeyCase {
                key,
                named,
                rule,
                renamed: true,
            } => format!("`{key}` is `{named}` in the wrong case (rule `{rule}`): fix: rename it to `{named}`"),
            Finding::KeyCase {
                key,
                named,
                rule,
                renamed: false,
            } => format!(
                "`{key}` is `{named}` in the wrong case (rule `{rule}`): fix: remove it (`{named}` is set, or its value is not valid)"
            ),
            Finding::BadWaiver { value, max_days: None } => format!(
                "`{EXEMPT_UNTIL_TAG}` = `{value}` is not a day (YYYY-MM-DD): it exempts nothing, and the resource is enforced"
            ),
            Finding::BadWaiver {
                value,
                max_days: Some(days),
            } => format!(
                "`{EXEMPT_UNTIL_TAG}` = `{value}` is more than {days} days ahead (the policy's exemptions.max_days): it exempts nothing, and the resource is enforced"
            ),
            Finding::TagLimit { keys, limit } => format!(
                "required [{}] missing, but adding them would exceed the limit of {limit} user tags; they cannot be added",
                keys.join(", ")
            ),
        }
    }
}
