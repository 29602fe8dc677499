//! Reconcile sweep: every secret and customer-managed KMS key in the given regions, evaluated
//! and (in enforce mode) remediated with the event path's code, at the API floor: ListSecrets
//! carries tags; KMS needs ListKeys, ListAliases and ListResourceTags per customer key, and
//! DescribeKey only before a write. Bounded concurrency, paced writes, and a deadline after
//! which no new resource is started.

mod limit;

pub use limit::{RateLimited, RateLimiter};

use crate::apply::{assess, failed, remediate, Backend, Inventory, Listed, ResourceState, TagStore};
use crate::model::{Mode, ResourceKind, Tags};
use crate::policy::Policy;
use crate::report::{Outcome, ResourceReport};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How hard a sweep may push.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSettings {
    /// Resources handled at once, per kind and region.
    pub concurrency: usize,
    /// Secrets Manager TagResource + UntagResource calls a second, per region (they share a
    /// 50 TPS quota).
    pub secrets_write_rps: f64,
    /// KMS TagResource calls a second, and UntagResource calls a second, per region (about 5
    /// each is the quota).
    pub kms_write_rps: f64,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            concurrency: 16,
            secrets_write_rps: 40.0,
            kms_write_rps: 4.0,
        }
    }
}

/// The most time kept back from an invocation's deadline: a resource in flight makes at most
/// two writes, each retried with backoff.
pub const MAX_MARGIN: Duration = Duration::from_secs(15);

/// When to stop starting new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    cutoff: Option<Instant>,
}

impl Deadline {
    /// No deadline (the CLI).
    pub const NONE: Deadline = Deadline { cutoff: None };

    /// Stop starting work `margin` before `deadline`, so that work in flight can finish.
    pub fn before(deadline: Instant, margin: Duration) -> Self {
        Deadline {
            cutoff: Some(deadline.checked_sub(margin).unwrap_or(deadline)),
        }
    }

    /// For an invocation with `left` to run from `now`: keep back [`MAX_MARGIN`] for work in
    /// flight and the report, but never more than a fifth of the time, so that short timeouts
    /// still sweep.
    pub fn for_invocation(now: Instant, left: Duration) -> Self {
        Deadline::before(now + left, MAX_MARGIN.min(left / 5))
    }

    /// From the Runtime API's `Lambda-Runtime-Deadline-Ms`: milliseconds since the epoch from
    /// Lambda; local emulators (cargo lambda watch) send the time remaining instead, so a value
    /// before 2001 is read that way.
    pub fn from_runtime(deadline_ms: u64, now: SystemTime, now_instant: Instant) -> Self {
        const EPOCH_2001_MS: u64 = 978_307_200_000;
        let left = if deadline_ms < EPOCH_2001_MS {
            Duration::from_millis(deadline_ms)
        } else {
            (UNIX_EPOCH + Duration::from_millis(deadline_ms))
                .duration_since(now)
                .unwrap_or(Duration::ZERO)
        };
        Deadline::for_invocation(now_instant, left)
    }

    /// Whether a new resource may be started at `now`.
    pub fn allows_start(&self, now: Instant) -> bool {
        self.cutoff.is_none_or(|c| now < c)
    }
}

/// Progress of one kind in one region, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The region.
    pub region: &'a str,
    /// The kind.
    pub kind: ResourceKind,
    /// Resources finished.
    pub done: usize,
    /// Resources listed.
    pub total: usize,
}

/// What a sweep did, beside the per-resource entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepSummary {
    /// The regions swept.
    pub regions: Vec<String>,
    /// False when the deadline stopped the sweep or a listing failed: the next run finishes it.
    pub complete: bool,
    /// Resources listed but not started before the deadline.
    pub not_started: usize,
    /// Outcome counts per kind.
    pub by_kind: BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>,
    /// Outcome counts per region and kind.
    pub by_region: BTreeMap<String, BTreeMap<ResourceKind, BTreeMap<Outcome, usize>>>,
    /// Wall time.
    pub seconds: f64,
}

/// One sweep's inputs.
pub struct Sweep<'a, B> {
    /// Where the stores come from.
    pub backend: &'a B,
    /// The policy.
    pub policy: &'a Policy,
    /// Enforce or report.
    pub mode: Mode,
    /// Concurrency and write rates.
    pub settings: &'a SweepSettings,
    /// When to stop starting work.
    pub deadline: Deadline,
}

impl<B: Backend> Sweep<'_, B> {
    /// Sweeps every region: every entry, and the summary.
    pub async fn run(
        &self,
        regions: &[String],
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> (Vec<ResourceReport>, SweepSummary) {
        let started = Instant::now();
        let mut entries = Vec::new();
        let mut summary = SweepSummary {
            regions: regions.to_vec(),
            complete: true,
            ..SweepSummary::default()
        };
        for region in regions {
            let secrets_rate = limiter(self.settings.secrets_write_rps);
            let secrets = RateLimited::new(self.backend.secrets(region), Arc::clone(&secrets_rate), secrets_rate);
            let keys = RateLimited::new(
                self.backend.keys(region),
                limiter(self.settings.kms_write_rps),
                limiter(self.settings.kms_write_rps),
            );
            // Two services, two sets of quotas: both kinds are swept at once.
            let (found_secrets, found_keys) = tokio::join!(
                self.kind(&secrets, ResourceKind::Secret, region, progress),
                self.kind(&keys, ResourceKind::KmsKey, region, progress),
            );
            for (kind, (found, not_started)) in [
                (ResourceKind::Secret, found_secrets),
                (ResourceKind::KmsKey, found_keys),
            ] {
                summary.not_started += not_started;
                for e in &found {
                    *summary.by_kind.entry(kind).or_default().entry(e.outcome).or_insert(0) += 1;
                    let in_region = summary.by_region.entry(region.clone()).or_default();
                    *in_region.entry(kind).or_default().entry(e.outcome).or_insert(0) += 1;
                }
                entries.extend(found);
            }
        }
        let listing_failed = entries.iter().any(|e| e.arn.is_none() && e.outcome == Outcome::Error);
        summary.complete = summary.not_started == 0 && !listing_failed;
        summary.seconds = started.elapsed().as_secs_f64();
        (entries, summary)
    }

    /// Lists one kind and handles each resource; returns the entries and how many were not started.
    async fn kind<S: TagStore + Inventory + Sync>(
        &self,
        store: &S,
        kind: ResourceKind,
        region: &str,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> (Vec<ResourceReport>, usize) {
        let listed = match store.list().await {
            Ok(l) => l,
            Err(e) => {
                let mut entry = ResourceReport::new(Outcome::Error);
                entry.kind = Some(kind);
                entry.region = Some(region.to_owned());
                failed(&mut entry, &e);
                entry
                    .reasons
                    .insert(0, format!("listing every {kind} in {region} failed"));
                return (vec![entry], 0);
            }
        };
        let total = listed.len();
        let done = AtomicUsize::new(0);
        let handled: Vec<Option<ResourceReport>> = stream::iter(listed)
            .map(|item| async {
                if !self.deadline.allows_start(Instant::now()) {
                    return None;
                }
                let mut entry = self.resource(store, kind, item).await;
                entry.region = Some(region.to_owned());
                let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(Progress {
                    region,
                    kind,
                    done,
                    total,
                });
                Some(entry)
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let not_started = handled.iter().filter(|e| e.is_none()).count();
        (handled.into_iter().flatten().collect(), not_started)
    }

    /// One listed resource: tags (from the listing, or one read), evaluation, and, when a
    /// write is due, the write guard and the writes.
    async fn resource<S: TagStore + Inventory + Sync>(
        &self,
        store: &S,
        kind: ResourceKind,
        item: Listed,
    ) -> ResourceReport {
        let mut entry = ResourceReport::new(Outcome::Compliant);
        entry.kind = Some(kind);
        entry.arn = Some(item.arn.clone());
        // A resource the listing already skips needs no tags: `assess` records why.
        let tags = match (&item.skip, item.tags) {
            (Some(_), _) => Tags::new(),
            (None, Some(tags)) => tags,
            (None, None) => match store.tags(&item.arn).await {
                Ok(tags) => tags,
                Err(e) => {
                    failed(&mut entry, &e);
                    return entry;
                }
            },
        };
        let state = ResourceState {
            arn: item.arn,
            tags,
            skip: item.skip,
        };
        if let Some(plan) = assess(self.policy, self.mode, kind, &state, &mut entry) {
            match store.write_guard(&state.arn).await {
                Ok(None) => remediate(store, &state.arn, &plan, &mut entry).await,
                Ok(Some(why)) => {
                    entry.outcome = Outcome::Skipped;
                    entry.reasons.push(why);
                }
                Err(e) => failed(&mut entry, &e),
            }
        }
        entry
    }
}

/// A limiter for `rps`. Configuration rejects rates that are not positive; should one arrive
/// anyway, the slowest quota's pace (4/s) is used rather than no limit.
fn limiter(rps: f64) -> Arc<RateLimiter> {
    Arc::new(RateLimiter::per_second(rps).unwrap_or_else(|| RateLimiter::every(Duration::from_millis(250))))
}

#[cfg(test)]
mod tests;
