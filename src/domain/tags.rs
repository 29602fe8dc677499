//! Resource kinds, tags and their AWS limits, and the enforcement mode.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A resource's tags, key → value, ordered so that plans and reports are deterministic.
pub type Tags = BTreeMap<String, String>;

/// The tag that exempts a resource from enforcement when its value is `true`.
pub const EXEMPT_TAG: &str = "tag-warden:exempt";

/// The tag that exempts a resource through the day it names (`YYYY-MM-DD`, UTC), and not after.
pub const EXEMPT_UNTIL_TAG: &str = "tag-warden:exempt-until";

/// Prefix AWS reserves for its own tags; such keys are never added, changed or removed.
pub const RESERVED_PREFIX: &str = "aws:";

/// The kinds of resource tag-warden governs. What is particular to each is in its module
/// under `kinds/` (`ResourceKind::spec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    /// An AWS Secrets Manager secret.
    #[serde(rename = "secret")]
    Secret,
    /// A customer-managed AWS KMS key.
    #[serde(rename = "kms-key")]
    KmsKey,
}

impl ResourceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::Secret, ResourceKind::KmsKey];

    /// The name used in policies and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Secret => "secret",
            ResourceKind::KmsKey => "kms-key",
        }
    }

    /// Parses a policy/report name (`secret`, `kms-key`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-kind tag limits as AWS documents them (each kind's are in its module under `kinds/`) (lengths in Unicode characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagLimits {
    /// Longest tag key.
    pub max_key_chars: usize,
    /// Longest tag value.
    pub max_value_chars: usize,
    /// Most user tags (keys outside `aws:`) on one resource.
    pub max_user_tags: usize,
}

/// True for keys in the namespace AWS reserves (`aws:`), which tag-warden never touches.
pub fn is_reserved_key(key: &str) -> bool {
    key.get(..RESERVED_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_PREFIX))
}

/// Whether the policy is enforced (writes) or only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Remediate: restore required tags and strip forbidden ones.
    #[default]
    Enforce,
    /// Compute and report the plan; write nothing.
    Report,
}

impl Mode {
    /// Parses `enforce` / `report`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enforce" => Some(Mode::Enforce),
            "report" => Some(Mode::Report),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Enforce => "enforce",
            Mode::Report => "report",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefix_is_matched_case_insensitively() {
        assert!(is_reserved_key("aws:cloudformation:stack-name"));
        assert!(is_reserved_key("AWS:thing"));
        assert!(!is_reserved_key("aws"));
        assert!(!is_reserved_key("awsome"));
        assert!(!is_reserved_key("Owner"));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in ResourceKind::ALL {
            assert_eq!(ResourceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ResourceKind::parse("bucket"), None);
    }
}
