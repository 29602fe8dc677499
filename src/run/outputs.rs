//! What leaves an invocation besides its response: metrics and findings. [`Outputs`] is fed
//! every report entry as it is made (a sweep's compliant resources too, which its response
//! leaves out), counts it for the metrics, and turns what departs from the policy into a
//! [`PolicyFinding`] for the findings bus and Security Hub, published in batches as they
//! fill, so that a sweep of any size holds at most a batch of them.
//!
//! Publishing comes after the resource's writes and never changes its outcome: a finding AWS
//! refuses is retried by the adapter, then counted and named in the report.

use crate::config::OutputSettings;
use crate::domain::{utc_time, Cell, Mode, Outcome, ResourceKind};
use crate::ports::{
    finding_id, Backend, Compliance, PolicyFinding, Published, IMPORT_MAX_FINDINGS, PUT_EVENTS_MAX_ENTRIES,
};
use crate::run::clock::now_ms;
use crate::view::findings::{finding_of, gone_finding};
use crate::view::metrics::Metrics;
use crate::view::report::ResourceReport;
use crate::view::summary::{FindingsSummary, HubSummary};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Failures the report names one by one; past these, they are counted.
const MAX_NAMED_FAILURES: usize = 100;

#[derive(Debug, Default)]
struct State {
    metrics: Metrics,
    events: Vec<PolicyFinding>,
    hub: BTreeMap<Cell, Vec<PolicyFinding>>,
    /// The ids of tag-warden's open Security Hub findings in the cells looked up (an id is a
    /// hash of the resource's ARN, which names its account and region).
    open: BTreeSet<String>,
    /// The open findings of the cells swept (id → the cell and the resource's ARN) whose
    /// resource no entry has named yet: what is left of a kind in a cell once its listing is
    /// complete is gone.
    unlisted: BTreeMap<String, (Cell, String)>,
    summary: FindingsSummary,
}

/// One invocation's metrics and findings.
#[derive(Debug)]
pub struct Outputs<'a> {
    settings: &'a OutputSettings,
    mode: Mode,
    state: Mutex<State>,
}

/// The Security Hub cell of an entry: its account (as the entry names it, so that it matches
/// the cell the resource was read in) and region.
fn cell_of(entry: &ResourceReport) -> Option<Cell> {
    let region = entry.region.as_deref()?;
    Some(Cell::new(entry.account.as_deref(), region))
}

impl<'a> Outputs<'a> {
    /// Outputs of an invocation in `mode`.
    pub fn new(settings: &'a OutputSettings, mode: Mode) -> Self {
        Outputs {
            settings,
            mode,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere mid-update of counters; they stay usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts throttled attempts AWS answered during the invocation.
    pub fn throttled(&self, n: u64) {
        self.state().metrics.throttled(n);
    }

    /// Before a sweep of `cell`: the open Security Hub findings there, so that its compliant
    /// resources that had one are resolved.
    pub async fn prepare_cell<B: Backend>(&self, backend: &B, cell: &Cell) {
        if !self.settings.security_hub {
            return;
        }
        if let Some(open) = self.look_up_open(backend, cell, None).await {
            let open = open.into_iter().map(|(id, arn)| (id, (cell.clone(), arn)));
            self.state().unlisted.extend(open);
        }
    }

    /// Before an event's compliant entry is observed: whether its resource has an open finding.
    pub async fn prepare_entry<B: Backend>(&self, backend: &B, entry: &ResourceReport) {
        if !self.settings.security_hub || entry.outcome != Outcome::Compliant {
            return;
        }
        let (Some(cell), Some(arn)) = (cell_of(entry), entry.arn.as_deref()) else {
            return;
        };
        self.look_up_open(backend, &cell, Some(&[finding_id(arn)])).await;
    }

    /// Adds the open findings of `cell` (all, or those among `ids`) to those known, and
    /// returns them; a failed lookup is logged and reported (compliant resources there are
    /// then not resolved, nor gone ones archived).
    async fn look_up_open<B: Backend>(
        &self,
        backend: &B,
        cell: &Cell,
        ids: Option<&[String]>,
    ) -> Option<BTreeMap<String, String>> {
        match backend.open_findings(cell, ids).await {
            Ok(open) => {
                self.state().open.extend(open.keys().cloned());
                Some(open)
            }
            Err(e) => {
                tracing::warn!(cell = %cell, error = %e, "cannot look up open Security Hub findings: compliant resources are not resolved there");
                let mut st = self.state();
                let hub = st.summary.security_hub.get_or_insert_with(HubSummary::default);
                hub.lookup_failed.get_or_insert_with(|| e.to_string());
                None
            }
        }
    }

    /// After a sweep listed every resource of `kind` in `cell` (no page failed, none cut short
    /// or left unstarted by the deadline): the open findings of that kind whose resource no
    /// entry named are about resources gone (deleted, or scheduled for deletion, which
    /// ListSecrets leaves out), and are closed: NOT_AVAILABLE, resolved and archived.
    pub fn archive_unlisted(&self, cell: &Cell, kind: ResourceKind) {
        let mut st = self.state();
        let (gone, left): (BTreeMap<_, _>, BTreeMap<_, _>) = std::mem::take(&mut st.unlisted)
            .into_iter()
            .partition(|(_, (c, arn))| c == cell && ResourceKind::of_arn(arn) == Some(kind));
        st.unlisted = left;
        let observed_at = utc_time(now_ms());
        for (id, (_, arn)) in gone {
            let Some(finding) = gone_finding(&arn, kind, cell, self.mode, &observed_at) else {
                continue;
            };
            tracing::info!(arn = %arn, finding_id = %id, "resource gone: its Security Hub finding is archived");
            st.hub.entry(cell.clone()).or_default().push(finding);
        }
    }

    /// Counts an entry and queues its finding, if it has one.
    pub fn observe(&self, entry: &ResourceReport) {
        let mut st = self.state();
        st.metrics.observe(entry);
        if !self.settings.publishes() {
            return;
        }
        let cell = cell_of(entry);
        let id = entry.arn.as_deref().map(finding_id);
        // Named, so not gone (by the id, a hash of the ARN: a sweep's cell of the function's
        // own account has no account, while the entry has its ARN's).
        if let Some(id) = &id {
            st.unlisted.remove(id);
        }
        let resolves = match &id {
            Some(id) if entry.outcome == Outcome::Compliant => st.open.contains(id),
            _ => false,
        };
        let Some(finding) = finding_of(entry, self.mode, resolves, &utc_time(now_ms())) else {
            return;
        };
        // A finding about an account (not enrolled) has no resource for Security Hub, and its
        // account cannot be reached to import it: the findings bus only.
        if self.settings.security_hub && finding.kind.is_some() {
            if let Some(cell) = cell {
                st.hub.entry(cell).or_default().push(finding.clone());
            }
        }
        if self.settings.findings_bus.is_some() && entry.outcome != Outcome::Compliant {
            st.events.push(finding);
        }
    }

    /// Publishes the batches that are full (or, with `all`, everything queued).
    pub async fn flush<B: Backend>(&self, backend: &B, all: bool) {
        let (events, hub) = {
            let mut st = self.state();
            let n = if all {
                st.events.len()
            } else {
                st.events.len() - st.events.len() % PUT_EVENTS_MAX_ENTRIES
            };
            let events: Vec<PolicyFinding> = st.events.drain(..n).collect();
            let cells: Vec<Cell> = st
                .hub
                .iter()
                .filter(|(_, fs)| !fs.is_empty() && (all || fs.len() >= IMPORT_MAX_FINDINGS))
                .map(|(c, _)| c.clone())
                .collect();
            let hub: Vec<(Cell, Vec<PolicyFinding>)> = cells
                .into_iter()
                .filter_map(|c| st.hub.remove(&c).map(|fs| (c, fs)))
                .collect();
            (events, hub)
        };
        if let (Some(bus), false) = (&self.settings.findings_bus, events.is_empty()) {
            let results = backend.put_findings(bus, &events).await;
            self.record(&events, &results, false);
        }
        for (cell, findings) in hub {
            let results = backend.import_findings(&cell, &findings).await;
            self.record(&findings, &results, true);
        }
    }

    fn record(&self, findings: &[PolicyFinding], results: &[Published], hub: bool) {
        let mut st = self.state();
        let summary = &mut st.summary;
        // A result missing from an adapter's answer is a finding not known to be published.
        let missing = Published::Refused("no result for the finding".to_owned());
        for (f, result) in findings.iter().zip(results.iter().chain(std::iter::repeat(&missing))) {
            match result {
                Published::Accepted if hub => {
                    let h = summary.security_hub.get_or_insert_with(HubSummary::default);
                    match (f.compliance, f.outcome) {
                        (Compliance::NotAvailable, _) => h.archived += 1,
                        (_, Outcome::Compliant) => h.resolved += 1,
                        _ => h.imported += 1,
                    }
                }
                Published::Accepted => summary.events_put += 1,
                Published::Refused(why) => {
                    let target = if hub { "Security Hub" } else { "findings bus" };
                    tracing::warn!(arn = %f.arn, finding_id = %f.finding_id, error = %why, "finding not published to the {target}");
                    if hub {
                        summary.security_hub.get_or_insert_with(HubSummary::default).failed += 1;
                    } else {
                        summary.events_failed += 1;
                    }
                    if summary.failures.len() < MAX_NAMED_FAILURES {
                        summary
                            .failures
                            .entry(f.arn.clone())
                            .or_insert_with(|| format!("{target}: {why}"));
                    }
                }
            }
        }
    }

    /// The invocation's metrics, and what became of its findings (when any are published).
    pub fn finish(self) -> (Metrics, Option<FindingsSummary>) {
        let mut st = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        if self.settings.security_hub {
            st.summary.security_hub.get_or_insert_with(HubSummary::default);
        }
        let published = self.settings.publishes().then_some(st.summary);
        (st.metrics, published)
    }
}

#[cfg(test)]
#[path = "outputs_tests.rs"]
mod tests;
