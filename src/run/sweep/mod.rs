//! Reconcile sweep: every secret and customer-managed KMS key in the given regions, evaluated
//! and (in enforce mode) remediated with the event path's code, at the API floor: ListSecrets
//! carries tags; KMS needs ListKeys, ListAliases and ListResourceTags per customer key, and
//! DescribeKey only before a write. Bounded concurrency, paced writes, and a deadline after
//! which no new resource is started.
//!
//! The listing streams: pages feed the bounded worker pool as they arrive, the next page is
//! fetched while the current one is worked, and only counters and the entries the report keeps
//! (those left not compliant, up to a bound) are held, so memory is flat in the number of
//! resources.

mod limit;

pub use crate::run::clock::{Deadline, MAX_MARGIN};
use limit::{paces, throttled};
pub use limit::{RateLimited, RateLimiter};

mod tally;

use crate::config::SweepSettings;
use crate::domain::{ApiError, Cell, Date, ErrorType, Outcome, Refusal, ResourceContext, ResourceKind};
use crate::engine::decide::Decision;
use crate::kinds::Service;
use crate::ports::{Backend, Inventory, Listed, ListedPage, Memory, Remembered, ResourceState, TagStore};
use crate::run::outputs::Outputs;
use crate::run::resource::{now_ms, Judge, Observed, Recall};
use crate::view::report::ResourceReport;
use crate::view::summary::{add_outcomes, MemorySummary, SweepSummary};
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tally::{Listing, Tally};

/// Progress of one kind in one region, for a progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The region.
    pub region: &'a str,
    /// The kind.
    pub kind: ResourceKind,
    /// Resources finished.
    pub done: usize,
    /// Listing pages read so far.
    pub pages: usize,
    /// Resources listed, once the last page is read (unknown before).
    pub total: Option<usize>,
}

/// One region's memory, read once (every page) before its resources are swept. Entries are
/// taken out as their resources are listed; what is left of a kind once its listing is
/// complete belongs to resources gone.
enum RegionMemory {
    Off,
    Known(Mutex<BTreeMap<String, Remembered>>),
    Unavailable(String),
}

impl RegionMemory {
    fn recall(&self, arn: &str) -> Recall {
        match self {
            RegionMemory::Off => Recall::Off,
            RegionMemory::Known(all) => Recall::Known(all.lock().unwrap_or_else(|p| p.into_inner()).remove(arn)),
            RegionMemory::Unavailable(why) => Recall::Unavailable(why.clone()),
        }
    }
}

/// What one listed resource came to.
enum Item {
    Done(Box<ResourceReport>),
    NotStarted,
    ListingFailed(ApiError),
}

/// One sweep's inputs.
pub struct Sweep<'a, B: Backend> {
    /// Where the stores come from.
    pub backend: &'a B,
    /// The policy, mode and memory.
    pub judge: Judge<'a, B::Memory>,
    /// Concurrency, write rates, report bound.
    pub settings: &'a SweepSettings,
    /// When to stop starting work.
    pub deadline: Deadline,
    /// Metrics and findings, fed every entry as it is made (a sweep's compliant resources
    /// included, which its report leaves out).
    pub outputs: Option<&'a Outputs<'a>>,
}

impl<B: Backend> Sweep<'_, B> {
    /// Sweeps every cell (account and region), `cells_at_once` at a time: the entries the
    /// report keeps, in the cells' order, and the summary with every count.
    pub async fn run(
        &self,
        cells: &[Cell],
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> (Vec<ResourceReport>, SweepSummary) {
        let started = Instant::now();
        let done: Vec<_> = stream::iter(cells)
            .map(|cell| self.sweep_cell(cell, progress))
            .buffered(self.settings.cells_at_once.max(1))
            .collect()
            .await;
        let mut entries = Vec::new();
        let mut summary = SweepSummary {
            complete: true,
            memory: self.judge.memory.map(|_| MemorySummary::default()),
            ..SweepSummary::default()
        };
        for (cell_entries, cell_summary) in done {
            summary.merge(cell_summary);
            entries.extend(cell_entries);
        }
        for (account, why) in &summary.not_enrolled {
            entries.push(self.not_enrolled(account, why));
        }
        if entries.len() > self.settings.max_entries {
            summary.truncated += entries.len() - self.settings.max_entries;
            entries.truncate(self.settings.max_entries);
        }
        summary.seconds = started.elapsed().as_secs_f64();
        (entries, summary)
    }

    /// The entry of an account not enrolled, logged and fed to the outputs (metric, finding):
    /// once per sweep.
    pub fn not_enrolled(&self, account: &str, why: &str) -> ResourceReport {
        let entry = ResourceReport::not_enrolled(account, why);
        entry.log(false);
        if let Some(o) = self.outputs {
            o.observe(&entry);
        }
        entry
    }

    /// Sweeps one cell: its account reached (the member role assumed), its memory read once,
    /// both kinds at once (two services, two sets of quotas), writes paced per service at the
    /// cell's quotas and slowed down when AWS throttles.
    pub async fn sweep_cell(
        &self,
        cell: &Cell,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> (Vec<ResourceReport>, SweepSummary) {
        let started = Instant::now();
        let mut entries = Vec::new();
        let mut summary = SweepSummary {
            regions: vec![cell.region.clone()],
            accounts: cell.account.iter().cloned().collect(),
            complete: true,
            memory: self.judge.memory.map(|_| MemorySummary::default()),
            ..SweepSummary::default()
        };
        if let Err(e) = self.backend.reach(cell.account.as_deref()).await {
            // Not enrolled: the caller reports the account once, however many of its cells.
            if let (true, Some(account)) = (e.not_enrolled(), &cell.account) {
                summary.not_enrolled.insert(account.clone(), e.to_string());
                summary.seconds = started.elapsed().as_secs_f64();
                return (Vec::new(), summary);
            }
            let entry = unreachable(cell, &e);
            entry.log(false);
            if let Some(o) = self.outputs {
                o.observe(&entry);
            }
            summary.complete = false;
            summary.failed_cells.insert(cell.to_string(), e.to_string());
            summary.seconds = started.elapsed().as_secs_f64();
            return (vec![entry], summary);
        }
        // Observations are dated before memory is read: a sweep's read never counts as
        // newer than an event's read (and memory write) made while the sweep ran.
        let observed = now_ms();
        let memory = self.cell_memory(cell).await;
        if let Some(o) = self.outputs {
            o.prepare_cell(self.backend, cell).await;
        }
        if let (Some(m), RegionMemory::Unavailable(why)) = (summary.memory.as_mut(), &memory) {
            m.unavailable.get_or_insert_with(|| why.clone());
        }
        // One pace per service and cell, shared by the service's kinds.
        let mut by_service: BTreeMap<Service, (Arc<RateLimiter>, Arc<RateLimiter>)> = BTreeMap::new();
        let stores: Vec<(ResourceKind, RateLimited<B::Store>)> = ResourceKind::ALL
            .into_iter()
            .map(|kind| {
                let service = kind.spec().service;
                let (untag, tag) = by_service
                    .entry(service)
                    .or_insert_with(|| paces(self.settings, service))
                    .clone();
                (kind, RateLimited::new(self.backend.store(cell, kind), untag, tag))
            })
            .collect();
        let throttled_before = throttled(&stores);
        let tallies = futures_util::future::join_all(
            stores
                .iter()
                .map(|(kind, store)| self.sweep_kind(store, (*kind, cell), (&memory, observed), progress)),
        )
        .await;
        summary.throttled = throttled(&stores).saturating_sub(throttled_before);
        if let Some(o) = self.outputs {
            o.throttled(summary.throttled);
        }
        summary.group_by.clone_from(&self.settings.group_by);
        for (kind, tally) in ResourceKind::ALL.into_iter().zip(tallies) {
            summary.not_started += tally.not_started;
            summary.complete &= tally.complete();
            summary.truncated += tally.truncated;
            summary.pages += tally.listing.pages;
            summary.waivers.active += tally.waivers.active;
            summary.waivers.expiring_within_14_days += tally.waivers.expiring_within_14_days;
            if let Some(m) = summary.memory.as_mut() {
                m.expired += tally.expired;
                m.remembered += tally.remembered;
            }
            let counts = || tally.counts.iter().map(|(o, n)| (*o, *n));
            add_outcomes(summary.by_kind.entry(kind).or_default(), counts());
            let in_region = summary.by_region.entry(cell.region.clone()).or_default();
            add_outcomes(in_region.entry(kind).or_default(), counts());
            if let Some(account) = &cell.account {
                let in_account = summary.by_account.entry(account.clone()).or_default();
                add_outcomes(in_account.entry(kind).or_default(), counts());
            }
            for (group, outcomes) in tally.by_group {
                add_outcomes(summary.by_group.entry(group).or_default(), outcomes);
            }
            entries.extend(tally.kept);
        }
        summary.complete &= summary.not_started == 0;
        if !summary.complete {
            let why = if summary.not_started > 0 {
                format!("the deadline came first: {} resources not started", summary.not_started)
            } else {
                "a listing failed or was cut short".to_owned()
            };
            summary.failed_cells.insert(cell.to_string(), why);
        }
        summary.seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            cell = %cell, complete = summary.complete, pages = summary.pages, throttled = summary.throttled,
            seconds = summary.seconds, "cell swept"
        );
        (entries, summary)
    }

    /// The cell's memory, read once.
    async fn cell_memory(&self, cell: &Cell) -> RegionMemory {
        let Some(m) = self.judge.memory else {
            return RegionMemory::Off;
        };
        // The credentials' own account is read by its id: the table may hold other accounts'
        // resources in this region (an organization's), which this cell must not age out.
        let own;
        let cell = match &cell.account {
            Some(_) => cell,
            None => match self.backend.identity().await {
                Ok(Some(me)) => {
                    own = Cell::new(Some(&me.account), &cell.region);
                    &own
                }
                Ok(None) => cell,
                Err(e) => {
                    tracing::warn!(cell = %cell, error = %e, "own account unknown: memory not read");
                    return RegionMemory::Unavailable(format!("the function's own account is not known: {e}"));
                }
            },
        };
        match m.recall_cell(cell).await {
            Ok(all) => RegionMemory::Known(Mutex::new(all)),
            Err(e) => {
                tracing::warn!(cell = %cell, error = %e, "memory unavailable: values restored from defaults");
                RegionMemory::Unavailable(e.to_string())
            }
        }
    }

    /// Sweeps one kind: a producer fetches listing pages (one ahead of the workers) and stops
    /// at the deadline; the workers take resources as they come, at most `concurrency` at
    /// once. Then the memory of this kind's resources no longer listed is let expire.
    async fn sweep_kind<S: TagStore + Inventory + Sync>(
        &self,
        store: &S,
        (kind, cell): (ResourceKind, &Cell),
        (memory, observed): (&RegionMemory, u64),
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Tally {
        let listing = Listing::default();
        let today = Date::of_epoch_ms(now_ms());
        let (tx, rx) = tokio::sync::mpsc::channel::<ListedPage>(1);
        let producer = produce(store, tx, &listing, self.deadline);
        let items =
            stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|page| (page, rx)) }).flat_map(|page| {
                match page {
                    Ok(items) => {
                        listing.pages.fetch_add(1, Ordering::Relaxed);
                        listing.listed.fetch_add(items.len(), Ordering::Relaxed);
                        stream::iter(items.into_iter().map(Ok).collect::<Vec<_>>()).left_stream()
                    }
                    Err(e) => stream::iter([Err(e)]).right_stream(),
                }
            });
        let consumer = items
            .map(|item| async move {
                match item {
                    Err(e) => Item::ListingFailed(e),
                    Ok(_) if !self.deadline.allows_start(Instant::now()) => Item::NotStarted,
                    Ok(item) => {
                        let recall = memory.recall(&item.arn);
                        Item::Done(Box::new(self.resource(store, kind, cell, item, recall, observed).await))
                    }
                }
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .fold(Tally::default(), |mut tally, item| {
                let entry = match item {
                    Item::Done(entry) => Some(*entry),
                    Item::NotStarted => {
                        tally.not_started += 1;
                        None
                    }
                    Item::ListingFailed(e) => {
                        tally.listing_failed = true;
                        Some(listing_failed(kind, cell, &e))
                    }
                };
                if let Some(entry) = entry {
                    if let Some(o) = self.outputs {
                        o.observe(&entry);
                    }
                    tally.add(entry, self.settings.max_entries, today, &self.settings.group_by);
                }
                progress(Progress {
                    region: &cell.region,
                    kind,
                    done: tally.done(),
                    pages: listing.pages.load(Ordering::Relaxed),
                    total: listing
                        .ended
                        .load(Ordering::Relaxed)
                        .then(|| listing.listed.load(Ordering::Relaxed)),
                });
                let (outputs, backend) = (self.outputs, self.backend);
                async move {
                    if let Some(o) = outputs {
                        o.flush(backend, false).await;
                    }
                    tally
                }
            });
        let ((), mut tally) = tokio::join!(producer, consumer);
        tally.listing = listing.snapshot();
        // Only a listing that showed everything, every resource of it judged, tells which
        // resources are gone (a resource the deadline left unstarted was not recalled).
        if !tally.listing_failed && !tally.listing.cut && tally.not_started == 0 {
            tally.expired = self.expire_unlisted(kind, memory).await;
            if let Some(o) = self.outputs {
                o.archive_unlisted(cell, kind);
            }
        }
        tally
    }

    /// Sets the memory of this kind's resources that the listing no longer showed to expire
    /// (a TTL, not a delete: a secret being deleted can still be restored). A failure is
    /// logged; the next sweep tries again.
    async fn expire_unlisted(&self, kind: ResourceKind, memory: &RegionMemory) -> usize {
        let RegionMemory::Known(all) = memory else { return 0 };
        let gone: Vec<String> = all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, r)| r.kind == Some(kind) && !r.expiring)
            .map(|(arn, _)| arn.clone())
            .collect();
        let mut expired = 0;
        for arn in gone {
            let mut entry = ResourceReport::new(Outcome::Skipped);
            self.judge.forget(&arn, &mut entry).await;
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
        cell: &Cell,
        item: Listed,
        recall: Recall,
        observed: u64,
    ) -> ResourceReport {
        let mut ctx = ResourceContext::new(kind);
        ctx.region = Some(cell.region.clone());
        ctx.account = cell.account.clone();
        ctx.aliases = item.aliases;
        // A resource the listing already skips needs no tags: settling it records why. A
        // replica is judged by the tags it carries (its primary's), so those are kept.
        let tags = match (&item.skip, item.tags) {
            (Some(Refusal::Replica(_)), Some(tags)) => tags,
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
            state_checked: false,
        };
        let seen = Observed {
            state,
            recall,
            at_ms: observed,
        };
        self.judge.settle(store, ctx, seen, None).await
    }
}

/// Sends listing pages down `tx` until the last one, a failure, or the deadline (then the
/// listing is cut short: the resources not listed are neither started nor counted).
async fn produce<S: Inventory>(
    store: &S,
    tx: tokio::sync::mpsc::Sender<ListedPage>,
    listing: &Listing,
    deadline: Deadline,
) {
    let mut pages = std::pin::pin!(store.pages());
    loop {
        if !deadline.allows_start(Instant::now()) {
            listing.cut.store(true, Ordering::Relaxed);
            break;
        }
        let Some(page) = pages.next().await else {
            listing.ended.store(true, Ordering::Relaxed);
            break;
        };
        let failed = page.is_err();
        if tx.send(page).await.is_err() || failed {
            break;
        }
    }
}

/// The entry of a failed listing.
fn listing_failed(kind: ResourceKind, cell: &Cell, e: &ApiError) -> ResourceReport {
    let mut ctx = ResourceContext::new(kind);
    ctx.region = Some(cell.region.clone());
    ctx.account = cell.account.clone();
    let mut entry = ResourceReport::judged(ctx, None, None, Decision::failed(e));
    entry
        .reasons
        .insert(0, format!("listing every {kind} in {cell} failed"));
    entry
}

/// The entry of a cell whose account cannot be reached (the member role not assumed).
fn unreachable(cell: &Cell, e: &ApiError) -> ResourceReport {
    let mut entry = ResourceReport::new(Outcome::Error);
    entry.account = cell.account.clone();
    entry.region = Some(cell.region.clone());
    entry.error_type = Some(ErrorType::from(e.kind));
    entry.reasons.push(format!(
        "cannot reach account {} (nothing in {cell} was swept): {e}",
        cell.account.as_deref().unwrap_or("(own)")
    ));
    entry
}

#[cfg(test)]
mod tests;
