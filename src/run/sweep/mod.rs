//! Reconcile sweep: every secret and customer-managed KMS key in the given regions, evaluated
//! and (in enforce mode) remediated with the event path's code, at the API floor: ListSecrets
//! carries tags; KMS needs ListKeys, ListAliases and ListResourceTags per customer key, and
//! DescribeKey only before a write. Bounded concurrency, paced writes, and a deadline after
//! which no new resource is started.

mod deadline;
mod limit;

pub use deadline::{Deadline, MAX_MARGIN};
pub use limit::{Rate, RateLimited, RateLimiter};

use crate::domain::{ApiError, ResourceContext, ResourceKind};
use crate::engine::decide::Decision;
use crate::ports::{Backend, Inventory, Listed, Memory, Remembered, ResourceState, TagStore};
use crate::run::report::{MemorySummary, ResourceReport, SweepSummary};
use crate::run::resource::{now_ms, Guard, Judge, Observed, Recall};
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// How hard a sweep may push.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSettings {
    /// Resources handled at once, per kind and region.
    pub concurrency: usize,
    /// Secrets Manager TagResource + UntagResource calls a second, per region (they share a
    /// 50 TPS quota).
    pub secrets_write_rps: Rate,
    /// KMS TagResource calls a second, and UntagResource calls a second, per region (about 5
    /// each is the quota).
    pub kms_write_rps: Rate,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            concurrency: 16,
            secrets_write_rps: Rate::SECRETS_WRITE_DEFAULT,
            kms_write_rps: Rate::KMS_WRITE_DEFAULT,
        }
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

/// What sweeping one kind in one region came to.
struct Swept {
    entries: Vec<ResourceReport>,
    not_started: usize,
    /// The listing failed: the entries hold its error, and the sweep is incomplete.
    listing_failed: bool,
    /// Memory entries of resources no longer listed, set to expire.
    expired: usize,
}

/// One region's memory, read once (every page) before its resources are swept.
enum RegionMemory {
    Off,
    Known(BTreeMap<String, Remembered>),
    Unavailable(String),
}

impl RegionMemory {
    fn recall(&self, arn: &str) -> Recall {
        match self {
            RegionMemory::Off => Recall::Off,
            RegionMemory::Known(all) => Recall::Known(all.get(arn).cloned()),
            RegionMemory::Unavailable(why) => Recall::Unavailable(why.clone()),
        }
    }
}

impl Swept {
    /// The listing failed: one `error` entry (or what the failure maps to) saying so.
    fn listing_failed(kind: ResourceKind, region: &str, e: &ApiError) -> Self {
        let mut ctx = ResourceContext::new(kind);
        ctx.region = Some(region.to_owned());
        let mut entry = ResourceReport::judged(ctx, None, None, Decision::failed(e));
        entry
            .reasons
            .insert(0, format!("listing every {kind} in {region} failed"));
        Swept {
            entries: vec![entry],
            not_started: 0,
            listing_failed: true,
            expired: 0,
        }
    }
}

/// One sweep's inputs.
pub struct Sweep<'a, B: Backend> {
    /// Where the stores come from.
    pub backend: &'a B,
    /// The policy, mode and memory.
    pub judge: Judge<'a, B::Memory>,
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
        let mut memory_summary = self.judge.memory.map(|_| MemorySummary::default());
        for region in regions {
            // Observations are dated before memory is read: a sweep's read never counts as
            // newer than an event's read (and memory write) made while the sweep ran.
            let observed = now_ms();
            let memory = self.region_memory(region).await;
            if let (Some(m), RegionMemory::Unavailable(why)) = (memory_summary.as_mut(), &memory) {
                m.unavailable.get_or_insert_with(|| why.clone());
            }
            let secrets_rate = Arc::new(RateLimiter::per_second(self.settings.secrets_write_rps));
            let secrets = RateLimited::new(self.backend.secrets(region), Arc::clone(&secrets_rate), secrets_rate);
            let kms_rate = || Arc::new(RateLimiter::per_second(self.settings.kms_write_rps));
            let keys = RateLimited::new(self.backend.keys(region), kms_rate(), kms_rate());
            // Two services, two sets of quotas: both kinds are swept at once.
            let (secrets, keys) = tokio::join!(
                self.kind(&secrets, (ResourceKind::Secret, region), (&memory, observed), progress),
                self.kind(&keys, (ResourceKind::KmsKey, region), (&memory, observed), progress),
            );
            for (kind, swept) in [(ResourceKind::Secret, secrets), (ResourceKind::KmsKey, keys)] {
                summary.not_started += swept.not_started;
                summary.complete &= !swept.listing_failed;
                if let Some(m) = memory_summary.as_mut() {
                    m.expired += swept.expired;
                    m.remembered += swept.entries.iter().filter(|e| !e.remembered.is_empty()).count();
                }
                for e in &swept.entries {
                    *summary.by_kind.entry(kind).or_default().entry(e.outcome).or_insert(0) += 1;
                    let in_region = summary.by_region.entry(region.clone()).or_default();
                    *in_region.entry(kind).or_default().entry(e.outcome).or_insert(0) += 1;
                }
                entries.extend(swept.entries);
            }
        }
        summary.complete &= summary.not_started == 0;
        summary.memory = memory_summary;
        summary.seconds = started.elapsed().as_secs_f64();
        (entries, summary)
    }

    /// The region's memory, read once.
    async fn region_memory(&self, region: &str) -> RegionMemory {
        match self.judge.memory {
            None => RegionMemory::Off,
            Some(m) => match m.recall_region(region).await {
                Ok(all) => RegionMemory::Known(all),
                Err(e) => {
                    tracing::warn!(region, error = %e, "memory unavailable: values restored from defaults");
                    RegionMemory::Unavailable(e.to_string())
                }
            },
        }
    }

    /// Lists one kind and handles each resource, then lets the memory of resources no longer
    /// listed expire.
    async fn kind<S: TagStore + Inventory + Sync>(
        &self,
        store: &S,
        (kind, region): (ResourceKind, &str),
        (memory, observed): (&RegionMemory, u64),
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Swept {
        let listed = match store.list().await {
            Ok(l) => l,
            Err(e) => return Swept::listing_failed(kind, region, &e),
        };
        let arns: BTreeSet<String> = match memory {
            RegionMemory::Known(_) => listed.iter().map(|l| l.arn.clone()).collect(),
            _ => BTreeSet::new(),
        };
        let total = listed.len();
        let done = AtomicUsize::new(0);
        let handled: Vec<Option<ResourceReport>> = stream::iter(listed)
            .map(|item| async {
                if !self.deadline.allows_start(Instant::now()) {
                    return None;
                }
                let recall = memory.recall(&item.arn);
                let entry = self.resource(store, kind, region, item, recall, observed).await;
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
        let expired = self.expire_unlisted(kind, memory, &arns).await;
        Swept {
            entries: handled.into_iter().flatten().collect(),
            not_started,
            listing_failed: false,
            expired,
        }
    }

    /// Sets the memory of this kind's resources that the listing no longer shows to expire
    /// (a TTL, not a delete: a secret being deleted can still be restored). A failure is
    /// logged; the next sweep tries again.
    async fn expire_unlisted(&self, kind: ResourceKind, memory: &RegionMemory, listed: &BTreeSet<String>) -> usize {
        let RegionMemory::Known(all) = memory else { return 0 };
        let gone = all
            .iter()
            .filter(|(arn, r)| r.kind == Some(kind) && !r.expiring && !listed.contains(*arn));
        let mut expired = 0;
        for (arn, _) in gone {
            let mut entry = ResourceReport::new(crate::domain::Outcome::Skipped);
            self.judge.forget(arn, &mut entry).await;
            if entry.reasons.is_empty() {
                expired += 1;
            } else {
                tracing::warn!(arn, reasons = ?entry.reasons, "memory of a resource gone could not be set to expire");
            }
        }
        expired
    }

    /// One listed resource: tags (from the listing, or one read), then the event path's
    /// evaluation and writes, with the write guard asked before the first write.
    async fn resource<S: TagStore + Inventory + Sync>(
        &self,
        store: &S,
        kind: ResourceKind,
        region: &str,
        item: Listed,
        recall: Recall,
        observed: u64,
    ) -> ResourceReport {
        let mut ctx = ResourceContext::new(kind);
        ctx.region = Some(region.to_owned());
        ctx.aliases = item.aliases;
        // A resource the listing already skips needs no tags: settling it records why.
        let tags = match (&item.skip, item.tags) {
            (Some(_), _) => Default::default(),
            (None, Some(tags)) => tags,
            (None, None) => match store.tags(&item.arn).await {
                Ok(tags) => tags,
                Err(e) => return ResourceReport::judged(ctx.with_arn(&item.arn), None, None, Decision::failed(&e)),
            },
        };
        let state = ResourceState {
            arn: item.arn,
            name: item.name,
            tags,
            skip: item.skip,
        };
        let seen = Observed {
            state,
            recall,
            at_ms: observed,
        };
        self.judge.settle(store, ctx, seen, None, Guard::BeforeWrite).await
    }
}

#[cfg(test)]
mod tests;
