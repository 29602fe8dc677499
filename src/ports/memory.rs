//! The memory port: tag values remembered per resource, so that a removed value can be restored
//! as it was. Writes are conditional on the observation time, so an older read that finishes
//! late never overwrites a newer one.

use crate::domain::{ApiError, Cell, ResourceKind, Tags};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

/// How many changes a resource's history keeps; the oldest is dropped.
pub const HISTORY_LEN: u64 = 50;

/// One step in the story of a resource: who changed what, and what tag-warden did. Tag keys
/// and values only, never anything of a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Its place in the story (0, 1, …).
    pub seq: u64,
    /// When (`eventTime`, or when tag-warden acted).
    pub at: String,
    /// Who: the caller's ARN, `tag-warden`, or `unknown` (a change found by a sweep).
    pub who: String,
    /// The event, when one told of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Remembered values changed: key, old, new (`None`: absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<(String, Option<String>, Option<String>)>,
    /// What tag-warden did (`set Owner=payments (remembered)`, `removed temp-debug`), if anything.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// Why, for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
    /// For tag-warden's step on the event path: the principal (issuer role or IAM user ARN)
    /// whose change it undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// For tag-warden's step: the keys it set or removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// An exemption's grant (`tag-warden exempt`): who, why, until when. Kept in an item of its
/// own, so that no number of later changes pushes it out of the resource's 50-step history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Who granted it (the operator's name or ARN).
    pub who: String,
    /// Why.
    pub why: String,
    /// The last day (`YYYY-MM-DD`, UTC).
    pub until: String,
    /// When it was granted (UTC).
    pub at: String,
}

/// One sweep's summary, kept for the page's trend: when, the counts by outcome, and the
/// compliance rate as the page's headline makes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// When the sweep finished (UTC).
    pub at: String,
    /// The same, in milliseconds since the epoch (the order of the points).
    pub at_ms: u64,
    /// The account swept (`""`: the function's own).
    pub account: String,
    /// For one cell of a fanned-out sweep: its region (`""`: the whole sweep).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// Counts by outcome.
    pub counts: BTreeMap<crate::domain::Outcome, usize>,
    /// The compliance rate, when something counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// Left not compliant.
    pub not_compliant: usize,
    /// Exceptions (exempt, waived).
    pub exceptions: usize,
    /// Resources whose keys were contested.
    pub contested: usize,
    /// A dry run (report mode): its rate is the estate as it was.
    #[serde(default)]
    pub dry_run: bool,
}

/// How long a sweep's summary is kept (the table's TTL).
pub const TREND_DAYS: u64 = 90;

/// What memory holds for one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remembered {
    /// Remembered tag values, key → value.
    pub values: Tags,
    /// When the read behind the newest write was issued (milliseconds since the epoch).
    pub observed_ms: u64,
    /// The kind of resource, as stored.
    pub kind: Option<ResourceKind>,
    /// The resource was found gone: the entry expires unless the resource is seen again.
    pub expiring: bool,
    /// The names a `match.names` rule matched the resource by (a KMS key's aliases).
    pub names: Vec<String>,
}

/// Where a resource lives, stored beside its values (a sweep reads one region's memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The kind.
    pub kind: ResourceKind,
    /// The region.
    pub region: String,
    /// The account, when known.
    pub account: Option<String>,
    /// The names a `match.names` rule matched the resource by, to keep (a KMS key's aliases;
    /// empty: those stored stay).
    pub names: Vec<String>,
}

/// What a conditional write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written.
    Written,
    /// Not written: memory already holds a newer observation, which wins.
    Newer,
}

/// Remembered tag values, by resource ARN.
pub trait Memory {
    /// What is remembered for `arn`, if anything.
    fn recall(&self, arn: &str) -> impl Future<Output = Result<Option<Remembered>, ApiError>> + Send;
    /// Everything remembered in `cell` (its region, and its account when it names one), by ARN
    /// (every page).
    fn recall_cell(&self, cell: &Cell) -> impl Future<Output = Result<BTreeMap<String, Remembered>, ApiError>> + Send;
    /// Sets `changes` (and clears any expiry) when `observed_ms` is newer than what is stored;
    /// and appends `history` whatever comes of that (each step happened), numbered after the
    /// last step stored (their `seq` is set then), keeping the last [`HISTORY_LEN`]. Appends
    /// made side by side each keep their steps.
    fn remember(
        &self,
        arn: &str,
        place: &Place,
        changes: &Tags,
        observed_ms: u64,
        history: &[HistoryEntry],
    ) -> impl Future<Output = Result<Stored, ApiError>> + Send;
    /// The story of a resource, oldest first (at most [`HISTORY_LEN`] entries).
    fn history(&self, arn: &str) -> impl Future<Output = Result<Vec<HistoryEntry>, ApiError>> + Send;
    /// Marks the entry of a resource found gone to expire at `at_s` (seconds since the epoch);
    /// nothing when there is no entry.
    fn expire(&self, arn: &str, at_s: u64) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Keeps the grant of the resource's exemption (the latest replaces an earlier one).
    fn put_grant(&self, arn: &str, grant: &Grant) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// The grant of the resource's latest exemption, if one was recorded.
    fn grant(&self, arn: &str) -> impl Future<Output = Result<Option<Grant>, ApiError>> + Send;
    /// Keeps a sweep's summary (an item of its own, expiring after [`TREND_DAYS`]).
    fn put_trend(&self, point: &TrendPoint) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = point;
        std::future::ready(Ok(()))
    }
    /// Every sweep summary kept, oldest first.
    fn trend(&self) -> impl Future<Output = Result<Vec<TrendPoint>, ApiError>> + Send {
        std::future::ready(Ok(Vec::new()))
    }
}

/// The memory of a backend that has none: it cannot be made, so `Option<&NoMemory>` is
/// always `None`.
#[derive(Debug, Clone, Copy)]
pub enum NoMemory {}

impl Memory for NoMemory {
    async fn recall(&self, _arn: &str) -> Result<Option<Remembered>, ApiError> {
        match *self {}
    }
    async fn recall_cell(&self, _cell: &Cell) -> Result<BTreeMap<String, Remembered>, ApiError> {
        match *self {}
    }
    async fn remember(
        &self,
        _arn: &str,
        _place: &Place,
        _changes: &Tags,
        _observed_ms: u64,
        _history: &[HistoryEntry],
    ) -> Result<Stored, ApiError> {
        match *self {}
    }
    async fn history(&self, _arn: &str) -> Result<Vec<HistoryEntry>, ApiError> {
        match *self {}
    }
    async fn expire(&self, _arn: &str, _at_s: u64) -> Result<(), ApiError> {
        match *self {}
    }
    async fn put_grant(&self, _arn: &str, _grant: &Grant) -> Result<(), ApiError> {
        match *self {}
    }
    async fn grant(&self, _arn: &str) -> Result<Option<Grant>, ApiError> {
        match *self {}
    }
}
