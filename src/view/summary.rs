//! What an invocation came to beside its per-resource entries, as the report carries it: a
//! sweep's coverage and counts ([`SweepSummary`]), a fan-out's cells ([`FanOut`]), an SQS batch's
//! messages ([`CellResult`], [`BatchItemFailure`]) and the findings published
//! ([`FindingsSummary`]).

use crate::domain::{Outcome, ResourceKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a sweep did, beside the per-resource entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepSummary {
    /// The regions swept.
    pub regions: Vec<String>,
    /// The accounts swept, when the sweep names them (an organization's sweep).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// False when the deadline stopped the sweep or a listing failed: the next run finishes it.
    pub complete: bool,
    /// Resources listed but not started before the deadline (the listing itself stops at the
    /// deadline too).
    pub not_started: usize,
    /// Listing pages read.
    pub pages: usize,
    /// Entries left not compliant but left out of `results` past the report's bound
    /// (`TAG_WARDEN_REPORT_MAX_ENTRIES`); every one is counted and logged.
    #[serde(skip_serializing_if = "is_zero")]
    pub truncated: usize,
    /// Outcome counts per kind.
    pub by_kind: BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>,
    /// Outcome counts per region and kind.
    pub by_region: BTreeMap<String, BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>>,
    /// Outcome counts per account and kind, when the sweep names accounts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_account: BTreeMap<String, BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>>,
    /// Cells (`account/region`) not swept to the end, and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_cells: BTreeMap<String, String>,
    /// Accounts whose member role cannot be assumed, and what AWS answered: not enrolled,
    /// reported once each, their cells neither swept nor failed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub not_enrolled: BTreeMap<String, String>,
    /// The tag resources are counted by (`group_by`), and the outcome counts per value of it
    /// (`""`: resources without the tag), every resource swept included: a rate per team.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group_by: String,
    /// Outcome counts per value of `group_by`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_group: BTreeMap<String, BTreeMap<Outcome, usize>>,
    /// Throttled attempts AWS answered during the sweep (the SDK retried them; the pacer
    /// slowed down on each).
    pub throttled: u64,
    /// Waivers in force, and those ending soon.
    pub waivers: WaiverCounts,
    /// What the sweep did with memory, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemorySummary>,
    /// Wall time.
    pub seconds: f64,
}

impl SweepSummary {
    /// Adds another cell's (or sweep's) summary to this one. `seconds` is left to the caller
    /// (cells run at once).
    pub fn merge(&mut self, other: SweepSummary) {
        for r in other.regions {
            if !self.regions.contains(&r) {
                self.regions.push(r);
            }
        }
        for a in other.accounts {
            if !self.accounts.contains(&a) {
                self.accounts.push(a);
            }
        }
        self.complete &= other.complete;
        self.not_started += other.not_started;
        self.pages += other.pages;
        self.truncated += other.truncated;
        self.throttled += other.throttled;
        add_counts(&mut self.by_kind, other.by_kind);
        for (region, counts) in other.by_region {
            add_counts(self.by_region.entry(region).or_default(), counts);
        }
        for (account, counts) in other.by_account {
            add_counts(self.by_account.entry(account).or_default(), counts);
        }
        if self.group_by.is_empty() {
            self.group_by = other.group_by;
        }
        for (group, outcomes) in other.by_group {
            add_outcomes(self.by_group.entry(group).or_default(), outcomes);
        }
        self.failed_cells.extend(other.failed_cells);
        self.not_enrolled.extend(other.not_enrolled);
        self.waivers.active += other.waivers.active;
        self.waivers.expiring_within_14_days += other.waivers.expiring_within_14_days;
        match (self.memory.as_mut(), other.memory) {
            (Some(m), Some(o)) => {
                m.remembered += o.remembered;
                m.expired += o.expired;
                if m.unavailable.is_none() {
                    m.unavailable = o.unavailable;
                }
            }
            (None, Some(o)) => self.memory = Some(o),
            _ => {}
        }
    }
}

fn add_counts(
    into: &mut BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>,
    from: BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>,
) {
    for (kind, outcomes) in from {
        add_outcomes(into.entry(kind).or_default(), outcomes);
    }
}

/// Adds counts per outcome to `into`.
pub fn add_outcomes(into: &mut BTreeMap<Outcome, usize>, from: impl IntoIterator<Item = (Outcome, usize)>) {
    for (outcome, n) in from {
        *into.entry(outcome).or_insert(0) += n;
    }
}

/// Counts per outcome of every kind together.
pub fn outcomes_of(by_kind: &BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>) -> BTreeMap<Outcome, usize> {
    let mut out = BTreeMap::new();
    for counts in by_kind.values() {
        add_outcomes(&mut out, counts.iter().map(|(o, n)| (*o, *n)));
    }
    out
}

/// Waivers in force (the exemption-until tag or a policy waiver) among the resources swept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WaiverCounts {
    /// Resources under a waiver today.
    pub active: usize,
    /// Of those, the ones whose waiver ends within 14 days.
    pub expiring_within_14_days: usize,
}

/// A sweep's memory traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemorySummary {
    /// Resources whose remembered values were written.
    pub remembered: usize,
    /// Entries of resources no longer listed, set to expire.
    pub expired: usize,
    /// Why memory could not be read, when it could not (values then come from defaults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// What became of an invocation's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingsSummary {
    /// Finding events EventBridge accepted.
    pub events_put: usize,
    /// Finding events refused after retries.
    pub events_failed: usize,
    /// Security Hub, when findings are imported there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_hub: Option<HubSummary>,
    /// Resources (by ARN) whose finding could not be published, and why; the first 100.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, String>,
}

/// Security Hub's part of an invocation's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HubSummary {
    /// Findings imported (FAILED, or PASSED for a remediation).
    pub imported: usize,
    /// Earlier findings resolved: their resources are compliant now.
    pub resolved: usize,
    /// Earlier findings closed (NOT_AVAILABLE, archived): their resources are gone.
    pub archived: usize,
    /// Findings Security Hub refused after retries.
    pub failed: usize,
    /// Why the open findings could not be looked up, if so (compliant resources were then
    /// not resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_failed: Option<String>,
}

/// A scheduled sweep, fanned out: one message per cell on the sweep queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FanOut {
    /// Messages sent.
    pub cells: usize,
    /// The accounts (empty: the function's own only).
    pub accounts: Vec<String>,
    /// The regions.
    pub regions: Vec<String>,
}

/// One message of an SQS batch of sweep cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellResult {
    /// The SQS message id.
    pub message_id: String,
    /// The cell (`account/region`), when the message is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    /// What became of the message.
    pub outcome: CellOutcome,
    /// Why it is not `swept`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Which receive of the message this was.
    pub attempt: u32,
}

/// What became of a sweep cell's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellOutcome {
    /// Swept to the end.
    Swept,
    /// Back to the queue (a `batchItemFailures` entry), for another attempt.
    Retry,
    /// Its last attempt failed: sent to the dead-letter queue with the reason.
    DeadLettered,
    /// Its account is not enrolled (the member role cannot be assumed): reported, and the
    /// message deleted, neither retried nor dead-lettered.
    NotEnrolled,
}

impl CellOutcome {
    /// As the report and the log say it.
    pub fn as_str(self) -> &'static str {
        match self {
            CellOutcome::Swept => "swept",
            CellOutcome::Retry => "retry",
            CellOutcome::DeadLettered => "dead-lettered",
            CellOutcome::NotEnrolled => "not-enrolled",
        }
    }
}

/// A message Lambda returns to the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    /// The message id.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// For `skip_serializing_if`: a count of nothing.
pub(super) fn is_zero(n: &usize) -> bool {
    *n == 0
}
