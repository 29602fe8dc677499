//! The memory port: tag values remembered per resource, so that a removed value can be restored
//! as it was. Writes are conditional on the observation time, so an older read that finishes
//! late never overwrites a newer one.

use crate::domain::{ApiError, ResourceKind, Tags};
use std::collections::BTreeMap;
use std::future::Future;

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
    /// Everything remembered in `region`, by ARN (every page).
    fn recall_region(
        &self,
        region: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, Remembered>, ApiError>> + Send;
    /// Sets `changes` (and clears any expiry) when `observed_ms` is newer than what is stored.
    fn remember(
        &self,
        arn: &str,
        place: &Place,
        changes: &Tags,
        observed_ms: u64,
    ) -> impl Future<Output = Result<Stored, ApiError>> + Send;
    /// Marks the entry of a resource found gone to expire at `at_s` (seconds since the epoch);
    /// nothing when there is no entry.
    fn expire(&self, arn: &str, at_s: u64) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// The memory of a backend that has none: it cannot be made, so `Option<&NoMemory>` is
/// always `None`.
#[derive(Debug, Clone, Copy)]
pub enum NoMemory {}

impl Memory for NoMemory {
    async fn recall(&self, _arn: &str) -> Result<Option<Remembered>, ApiError> {
        match *self {}
    }
    async fn recall_region(&self, _region: &str) -> Result<BTreeMap<String, Remembered>, ApiError> {
        match *self {}
    }
    async fn remember(
        &self,
        _arn: &str,
        _place: &Place,
        _changes: &Tags,
        _observed_ms: u64,
    ) -> Result<Stored, ApiError> {
        match *self {}
    }
    async fn expire(&self, _arn: &str, _at_s: u64) -> Result<(), ApiError> {
        match *self {}
    }
}
