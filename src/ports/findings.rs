//! Findings as they leave tag-warden: one record per resource that departs from the policy
//! (or that did and no longer does), published as an EventBridge event and, optionally, as a
//! Security Hub finding. In domain words: the adapters turn a [`PolicyFinding`] into a
//! `PutEvents` entry or an ASFF finding.

use crate::domain::{Mode, Outcome, ResourceKind};
use serde::Serialize;

/// The `source` of every finding event.
pub const FINDING_SOURCE: &str = "tag-warden";

/// The `detail-type` of every finding event.
pub const FINDING_DETAIL_TYPE: &str = "Tag Policy Finding";

/// Whether the resource complies now, as Security Hub's `Compliance.Status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    /// Left not compliant (a violation, or a write report mode did not make).
    Failed,
    /// Compliant now (remediated, or found compliant after an earlier finding).
    Passed,
    /// The resource is gone (a sweep that listed its whole account and region did not list
    /// it): its finding is closed, neither passed nor failed.
    NotAvailable,
    /// Exempt: not enforced while an exemption is in force, and counted so someone sees it.
    Warning,
}

/// One finding: what an EventBridge rule matches on and a Security Hub finding shows. It
/// carries tag keys and the reasons a report entry gives, never a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyFinding {
    /// Stable per resource (a hash of its ARN): every finding about one resource has the same
    /// id, so a ticket or a Security Hub finding is updated rather than opened anew.
    pub finding_id: String,
    /// Whether the resource complies now.
    pub compliance: Compliance,
    /// What tag-warden did: `violation`, `remediated`, `would-remediate`, or `compliant` (a
    /// resource that had a finding and complies now).
    pub outcome: Outcome,
    /// `enforce` or `report`.
    pub mode: Mode,
    /// `secret` or `kms-key`; none for a finding about an account (not enrolled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceKind>,
    /// The resource's ARN.
    pub arn: String,
    /// The resource's account.
    pub account: String,
    /// The resource's region; none for a finding about an account (not enrolled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The rules the resource departs from (sorted, once each).
    pub rules: Vec<String>,
    /// Keys of the tags written.
    pub keys_added: Vec<String>,
    /// Keys removed.
    pub keys_removed: Vec<String>,
    /// Keys a write would set or that are missing without a value (report mode, violations).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys_to_add: Vec<String>,
    /// Keys a write would remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys_to_remove: Vec<String>,
    /// Why, for people.
    pub reasons: Vec<String>,
    /// The caller whose API call led here, when an event did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The CloudTrail event name, when an event led here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The CloudTrail event id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// When tag-warden judged the resource (`YYYY-MM-DDTHH:MM:SSZ`).
    pub observed_at: String,
    /// The principal that keeps re-making a change tag-warden undoes (a conflict to resolve).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contested_by: Option<String>,
    /// How many times within 24 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contested_count: Option<u32>,
}

/// The finding id of the resource `arn`: `tw-` and a 128-bit FNV-1a hash of the ARN in hex.
/// Stable across runs and versions, short enough for Security Hub's 512-character `Id`.
pub fn finding_id(arn: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = arn.bytes().fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    format!("tw-{hash:032x}")
}

/// The most entries one PutEvents call takes (EventBridge's limit).
pub const PUT_EVENTS_MAX_ENTRIES: usize = 10;

/// The most findings one BatchImportFindings call takes (Security Hub's limit).
pub const IMPORT_MAX_FINDINGS: usize = 100;

/// What became of publishing one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The service took it.
    Accepted,
    /// It was not published: why (the service's error code and message, or why it was never
    /// sent).
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_ids_are_stable_distinct_and_short() {
        let a = finding_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf");
        let b = finding_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:b-AbCdEf");
        assert_eq!(
            a,
            finding_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf")
        );
        assert_ne!(a, b);
        assert_eq!(a.len(), 35);
        assert!(a.starts_with("tw-"));
        // The reference value of FNV-1a 128 for the empty string is its offset basis.
        assert_eq!(finding_id(""), "tw-6c62272e07bb014262b821756295c58d");
        // And for "a" (published test vector).
        assert_eq!(finding_id("a"), "tw-d228cb696f1a8caf78912b704e4a8964");
    }

    #[test]
    fn compliance_is_spelt_as_security_hub_spells_it() {
        assert_eq!(serde_json::to_string(&Compliance::Failed).unwrap(), "\"FAILED\"");
        assert_eq!(serde_json::to_string(&Compliance::Passed).unwrap(), "\"PASSED\"");
        assert_eq!(
            serde_json::to_string(&Compliance::NotAvailable).unwrap(),
            "\"NOT_AVAILABLE\""
        );
    }
}
