//! The handler: one event → intake → per resource: read, evaluate, apply → one report.
//! The same code serves the Lambda runtime and the CLI's `handle`.

pub(super) use super::handler_entries::{accounts_failed, ignored, unreached};
use super::handler_entries::{bad_item, counting, error_entry, latency};
use crate::config::{Accounts, Config, OutputSettings};
use crate::domain::{ApiError, Cell, ErrorType, Mode, Outcome, ReplicaOf, ResourceContext};
use crate::engine::intake::{self, Ignored, Intake, IntakeError, IntakeOptions, Trigger};
use crate::ports::Backend;
use crate::run::outputs::Outputs;
use crate::run::resource::Judge;
use crate::run::sweep::{Deadline, Progress, Sweep};
use crate::view::metrics::Metrics;
use crate::view::report::{Report, ResourceReport};
use crate::view::summary::FindingsSummary;
use serde_json::Value;

/// Why an invocation failed (so that Lambda retries it or parks it in the failure queue).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The payload is not an event tag-warden can take in.
    #[error("{0}")]
    Intake(#[from] IntakeError),
    /// Some resources could not be handled; the report lists each.
    #[error("{failed} of {total} report entries failed; first: {first}")]
    Incomplete {
        /// Entries with outcome `error`.
        failed: usize,
        /// All entries.
        total: usize,
        /// The first failure's reasons.
        first: String,
    },
}

impl HandlerError {
    /// A fixed, searchable error type for the Lambda error response.
    pub fn error_type(&self) -> ErrorType {
        match self {
            HandlerError::Intake(e) => e.error_type(),
            HandlerError::Incomplete { .. } => ErrorType::Incomplete,
        }
    }
}

/// Handles events against a backend with a fixed configuration.
#[derive(Debug)]
pub struct Handler<B> {
    pub(super) backend: B,
    pub(super) config: Config,
    /// False for an offline plan: nothing is written and no sweep runs, whatever the mode.
    pub(super) live: bool,
    /// `handle --dry-run`: AWS is read (tags, memory) and nothing is written, neither a tag
    /// nor memory.
    dry_run: bool,
    /// An offline plan's stand-ins for the event's account and region.
    account: Option<String>,
    region: Option<String>,
    /// The intake options with the function's own identity learnt (once, from the backend).
    pub(super) intake: tokio::sync::OnceCell<IntakeOptions>,
    /// The organization (`TAG_WARDEN_ACCOUNTS=ORG`), listed once.
    pub(super) organization: tokio::sync::OnceCell<crate::domain::Organization>,
}

/// What `tag-warden plan` says of a scheduled event, which it cannot sweep offline.
pub const OFFLINE_SWEEP: &str = "a scheduled sweep lists every resource: run `tag-warden reconcile --dry-run`";

impl<B: Backend> Handler<B> {
    /// A handler over `backend` with `config`.
    pub fn new(backend: B, config: Config) -> Self {
        Handler {
            backend,
            config,
            live: true,
            dry_run: false,
            account: None,
            region: None,
            intake: tokio::sync::OnceCell::new(),
            organization: tokio::sync::OnceCell::new(),
        }
    }

    /// A handler that plans without acting (`tag-warden plan`): resources are judged as in
    /// report mode (the report still names the configured mode) and a schedule sweeps nothing.
    pub fn offline(backend: B, config: Config) -> Self {
        Handler {
            backend,
            config,
            live: false,
            dry_run: false,
            account: None,
            region: None,
            intake: tokio::sync::OnceCell::new(),
            organization: tokio::sync::OnceCell::new(),
        }
    }

    /// Reads and judges, writes nothing (`handle --dry-run`): no tag call, no memory write;
    /// the report says what would be done.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Judges resources as if in `account` and `region` rather than the event's (`plan
    /// --account`, `--region`).
    pub fn as_if_in(mut self, account: Option<String>, region: Option<String>) -> Self {
        self.account = account;
        self.region = region;
        self
    }

    /// What a trigger tells of its resource before it is read.
    pub(super) fn context(&self, t: &Trigger) -> ResourceContext {
        ResourceContext {
            account: self.account.clone().or_else(|| t.account.clone()),
            region: Some(self.region.clone().unwrap_or_else(|| t.region.clone())),
            event: Some(t.event.clone()),
            ..ResourceContext::new(t.kind)
        }
    }

    pub(super) fn judge(&self) -> Judge<'_, B::Memory> {
        Judge {
            policy: &self.config.policy,
            mode: if self.live && !self.dry_run {
                self.config.mode
            } else {
                Mode::Report
            },
            memory: self.backend.memory(),
            patience: None,
            records: self.live && !self.dry_run,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The backend it acts through.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Handles one event as the Lambda function does: the report, or the error that fails the
    /// invocation (so that it is retried or reaches the failure queue); and the invocation's
    /// metrics (failed invocations count too).
    pub async fn invoke(&self, event: &Value, deadline: Deadline) -> (Result<Report, HandlerError>, Metrics) {
        let (result, metrics) = self.handle(event, deadline).await;
        let result = result.and_then(|report| match failure(&report) {
            Some(e) => Err(e),
            None => Ok(report),
        });
        (result, metrics)
    }

    /// Takes in the event and produces one entry per item, in order, logging each: the report
    /// (its findings published) and the invocation's metrics. Fails only when the payload as a
    /// whole is not an event; [`failure`] tells of failed entries (as [`Handler::invoke`] does).
    pub async fn handle(&self, event: &Value, deadline: Deadline) -> (Result<Report, HandlerError>, Metrics) {
        // An offline plan publishes nothing.
        let offline = (!self.live).then(|| OutputSettings {
            namespace: self.config.outputs.namespace.clone(),
            ..OutputSettings::default()
        });
        let outputs = Outputs::new(offline.as_ref().unwrap_or(&self.config.outputs), self.config.mode);
        let result = self.entries(event, deadline, &outputs).await;
        if let Err(e) = &result {
            outputs.observe(&error_entry(e.error_type(), e.to_string()));
        }
        let (metrics, findings) = self.finish(outputs).await;
        let result = result.map(|mut report| {
            report.place(findings);
            report
        });
        (result, metrics)
    }

    /// Publishes what is left of the findings: the metrics, and what became of the findings.
    async fn finish(&self, outputs: Outputs<'_>) -> (Metrics, Option<FindingsSummary>) {
        outputs.flush(&self.backend, true).await;
        outputs.finish()
    }

    async fn entries(&self, event: &Value, deadline: Deadline, outputs: &Outputs<'_>) -> Result<Report, HandlerError> {
        tracing::debug!(event = %crate::engine::intake::redacted(event), "event received");
        let mut items = intake::intake(event, &self.config.intake)?;
        // Who the function is matters only for an event that would be acted on: learnt then
        // (GetCallerIdentity, once per process), and the event taken in again knowing it.
        if items
            .iter()
            .any(|i| matches!(i, Ok(Intake::Trigger(_) | Intake::Trusted(..))))
        {
            let opts = self.intake_options().await;
            if opts.own.is_some() {
                items = intake::intake(event, &opts)?;
            }
        }
        if items.iter().any(|i| matches!(i, Ok(Intake::Cell(_)))) {
            let works = items
                .into_iter()
                .filter_map(|i| match i {
                    Ok(Intake::Cell(w)) => Some(w),
                    _ => None,
                })
                .collect();
            return Ok(self.cells(works, deadline, outputs).await);
        }
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let entry = match item {
                Ok(Intake::Trigger(t)) => {
                    let mut entry = self.trigger(&t, deadline, outputs).await;
                    self.recheck_later(&t, &mut entry).await;
                    latency(entry)
                }
                Ok(Intake::Trusted(t, reason)) => latency(self.trusted(&t, reason, outputs).await),
                Ok(Intake::Ignored(i)) => ignored(i),
                Ok(Intake::Sweep(_)) if !self.live => {
                    let mut entry = ResourceReport::new(Outcome::Ignored);
                    entry.reasons.push(OFFLINE_SWEEP.to_owned());
                    entry
                }
                // A schedule fires one sweep (or sends its cells to the sweep queue); a sweep
                // is its own report.
                Ok(Intake::Sweep(req)) => {
                    let regions = self.config.sweep_regions(req.region.as_deref());
                    return Ok(match &self.config.fleet.queue_url {
                        Some(queue) => {
                            self.fan_out(queue, &self.config.fleet.accounts, &regions, outputs)
                                .await
                        }
                        None => match self.cells_of(&self.config.fleet.accounts, &regions).await {
                            Ok(cells) => self.sweep_into(&cells, deadline, &|_| {}, outputs).await,
                            Err(e) => {
                                let entry = accounts_failed(&e);
                                outputs.observe(&entry);
                                Report::new(self.config.mode, vec![entry])
                            }
                        },
                    });
                }
                Ok(Intake::Cell(_)) => ignored(Ignored {
                    reason: "a sweep cell among other records".to_owned(),
                    kind: None,
                    resource_id: None,
                    region: None,
                    event: Default::default(),
                }),
                Err(e) => bad_item(&e),
            };
            // An offline plan's entries are its output; it logs nothing of its own.
            if self.live {
                entry.log(false);
                outputs.prepare_entry(&self.backend, &entry).await;
            }
            outputs.observe(&entry);
            outputs.flush(&self.backend, false).await;
            results.push(entry);
        }
        Ok(Report::new(self.config.mode, results))
    }

    /// Every account in every region: `None` for the function's own account; an
    /// organization's accounts listed now.
    pub async fn cells_of(&self, accounts: &Accounts, regions: &[String]) -> Result<Vec<Cell>, ApiError> {
        let accounts: Vec<Option<String>> = match accounts {
            Accounts::Own => vec![None],
            Accounts::List(ids) => ids.iter().cloned().map(Some).collect(),
            Accounts::Organization => {
                let own = self.backend.identity().await?.map(|me| me.account);
                self.backend
                    .organization()
                    .await?
                    .governed(own.as_deref())
                    .into_iter()
                    .map(Some)
                    .collect()
            }
        };
        Ok(Cell::grid(&accounts, regions))
    }

    /// Sweeps `cells` (the CLI's `reconcile`): the report, its findings published, and the
    /// sweep's metrics.
    pub async fn sweep(
        &self,
        cells: &[Cell],
        deadline: Deadline,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> (Report, Metrics) {
        let outputs = Outputs::new(&self.config.outputs, self.config.mode);
        let mut report = self.sweep_into(cells, deadline, progress, &outputs).await;
        let (metrics, findings) = self.finish(outputs).await;
        report.place(findings);
        (report, metrics)
    }

    async fn sweep_into(
        &self,
        cells: &[Cell],
        deadline: Deadline,
        progress: &(dyn Fn(Progress<'_>) + Sync),
        outputs: &Outputs<'_>,
    ) -> Report {
        // The sweep logs every entry as it finishes; the report keeps the ones needing attention.
        let (entries, summary) = self.sweeper(deadline, outputs).run(cells, progress).await;
        tracing::info!(
            regions = ?summary.regions, accounts = summary.accounts.len(), complete = summary.complete,
            not_started = summary.not_started, pages = summary.pages, truncated = summary.truncated,
            throttled = summary.throttled, seconds = summary.seconds, "sweep finished"
        );
        let report = Report::of_sweep(self.config.mode, entries, summary);
        self.keep_trend(&report, crate::run::resource::now_ms(), "").await;
        report
    }

    pub(super) fn sweeper<'s>(&'s self, deadline: Deadline, outputs: &'s Outputs<'s>) -> Sweep<'s, B> {
        Sweep {
            backend: &self.backend,
            judge: self.judge(),
            settings: &self.config.sweep,
            deadline,
            outputs: Some(outputs),
        }
    }

    async fn trigger(&self, t: &Trigger, deadline: Deadline, outputs: &Outputs<'_>) -> ResourceReport {
        if let Some(refused) = self.ungoverned(t).await {
            return refused;
        }
        // The event path rides out throttling itself, while the invocation's time allows.
        let judge = Judge {
            patience: Some(deadline),
            ..self.judge()
        };
        let (ctx, id) = (self.context(t), t.resource_id.as_str());
        if let Err(e) = self.backend.reach(t.account.as_deref()).await {
            return unreached(ctx, id, &e);
        }
        let cell = Cell::new(t.account.as_deref(), &t.region);
        let entry = counting(self.backend.store(&cell, t.kind), outputs, async |s| {
            judge.check(s, ctx, id).await
        })
        .await;
        match entry.replica_of.clone() {
            Some(of) => self.primary_of(judge, t, &entry, &of, outputs).await,
            None => entry,
        }
    }

    /// An event named a replica (a replica secret), whose tags follow its primary: the primary
    /// is judged (and fixed) in its own Region instead, and the entry says so.
    async fn primary_of(
        &self,
        judge: Judge<'_, B::Memory>,
        t: &Trigger,
        replica: &ResourceReport,
        of: &ReplicaOf,
        outputs: &Outputs<'_>,
    ) -> ResourceReport {
        let cell = Cell::new(t.account.as_deref(), &of.primary_region);
        let ctx = ResourceContext {
            region: Some(of.primary_region.clone()),
            ..self.context(t)
        };
        let mut entry = counting(self.backend.store(&cell, t.kind), outputs, async |s| {
            judge.check(s, ctx, &of.primary_arn).await
        })
        .await;
        let replica_arn = replica.arn.as_deref().unwrap_or(&t.resource_id);
        entry.reasons.insert(
            0,
            format!(
                "the event named {replica_arn}, a replica in {}: its tags follow the primary, judged here in {}",
                t.region, of.primary_region
            ),
        );
        entry
    }

    /// A trusted principal's change: ignored as before, and with memory, what it set is
    /// remembered.
    async fn trusted(&self, t: &Trigger, reason: String, outputs: &Outputs<'_>) -> ResourceReport {
        if let Some(refused) = self.ungoverned(t).await {
            return refused;
        }
        let mut entry = ignored(Ignored {
            reason,
            kind: Some(t.kind),
            resource_id: Some(t.resource_id.clone()),
            region: Some(t.region.clone()),
            event: t.event.clone(),
        });
        let judge = self.judge();
        let (ctx, id) = (self.context(t), t.resource_id.as_str());
        if let Err(e) = self.backend.reach(t.account.as_deref()).await {
            return unreached(ctx, id, &e);
        }
        let cell = Cell::new(t.account.as_deref(), &t.region);
        let e = &mut entry;
        counting(self.backend.store(&cell, t.kind), outputs, async |s| {
            judge.trust(s, ctx, id, (&t.requested, &t.removed), e).await
        })
        .await;
        if !entry.remembered.is_empty() {
            entry
                .reasons
                .push("not enforced: the values it set are remembered".to_owned());
        }
        entry
    }
}

/// The error that must fail the invocation, when any entry failed. Never for an SQS batch: it
/// answers failures message by message (the partial batch response), and failing the
/// invocation would return every message of the batch to the queue.
pub fn failure(report: &Report) -> Option<HandlerError> {
    if report.batch_item_failures.is_some() {
        return None;
    }
    let mut errors = report.errors();
    let first = errors.next()?;
    Some(HandlerError::Incomplete {
        failed: 1 + errors.count(),
        total: report.results.len(),
        first: first.reasons.join("; "),
    })
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
