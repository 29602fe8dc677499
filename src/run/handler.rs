//! The handler: one event → intake → per resource: read, evaluate, apply → one report.
//! The same code serves the Lambda runtime and the CLI's `handle`.

use crate::domain::{ApiError, Cell, ErrorType, Mode, Outcome, ResourceContext, ResourceKind};
use crate::engine::decide::Decision;
use crate::engine::intake::{self, CellWork, Ignored, Intake, IntakeError, IntakeOptions, Trigger};
use crate::ports::{Backend, TagStore};
use crate::run::config::{Accounts, Config};
use crate::run::metrics::Metrics;
use crate::run::outputs::{OutputSettings, Outputs};
use crate::run::report::{BatchItemFailure, CellResult, FanOut, FindingsSummary, Report, ResourceReport, SweepSummary};
use crate::run::resource::Judge;
use crate::run::sweep::{Deadline, Progress, Sweep};
use serde_json::Value;
use std::time::Instant;

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

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().as_str().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Handles events against a backend with a fixed configuration.
#[derive(Debug)]
pub struct Handler<B> {
    backend: B,
    config: Config,
    /// False for an offline plan: nothing is written and no sweep runs, whatever the mode.
    live: bool,
    /// An offline plan's stand-ins for the event's account and region.
    account: Option<String>,
    region: Option<String>,
    /// The intake options with the function's own identity learnt (once, from the backend).
    intake: tokio::sync::OnceCell<IntakeOptions>,
    /// The organization's active accounts (`TAG_WARDEN_ACCOUNTS=ORG`), listed once.
    organization: tokio::sync::OnceCell<Vec<String>>,
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
            account: None,
            region: None,
            intake: tokio::sync::OnceCell::new(),
            organization: tokio::sync::OnceCell::new(),
        }
    }

    /// Judges resources as if in `account` and `region` rather than the event's (`plan
    /// --account`, `--region`).
    pub fn as_if_in(mut self, account: Option<String>, region: Option<String>) -> Self {
        self.account = account;
        self.region = region;
        self
    }

    /// What a trigger tells of its resource before it is read.
    fn context(&self, t: &Trigger) -> ResourceContext {
        ResourceContext {
            account: self.account.clone().or_else(|| t.account.clone()),
            region: Some(self.region.clone().unwrap_or_else(|| t.region.clone())),
            event: Some(t.event.clone()),
            ..ResourceContext::new(t.kind)
        }
    }

    fn judge(&self) -> Judge<'_, B::Memory> {
        Judge {
            policy: &self.config.policy,
            mode: if self.live { self.config.mode } else { Mode::Report },
            memory: self.backend.memory().filter(|_| self.live),
            patience: None,
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

    /// Handles one event as the Lambda function does: the report, or the error that fails
    /// the invocation (so that it is retried or reaches the failure queue).
    pub async fn invoke(&self, event: &Value, deadline: Deadline) -> Result<Report, HandlerError> {
        self.invoke_measured(event, deadline).await.0
    }

    /// [`Handler::invoke`], and the invocation's metrics (failed invocations count too).
    pub async fn invoke_measured(&self, event: &Value, deadline: Deadline) -> (Result<Report, HandlerError>, Metrics) {
        let (result, metrics) = self.measured(event, deadline).await;
        let result = result.and_then(|report| match failure(&report) {
            Some(e) => Err(e),
            None => Ok(report),
        });
        (result, metrics)
    }

    /// Takes in the event and produces one entry per item, in order, logging each. Fails only
    /// when the payload as a whole is not an event; see [`failure`] for failed entries.
    pub async fn report(&self, event: &Value, deadline: Deadline) -> Result<Report, HandlerError> {
        self.measured(event, deadline).await.0
    }

    /// The report (its findings published) and the invocation's metrics.
    pub async fn measured(&self, event: &Value, deadline: Deadline) -> (Result<Report, HandlerError>, Metrics) {
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
                Ok(Intake::Trigger(t)) => latency(self.trigger(&t, deadline, outputs).await),
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

    /// The intake options, with who the function is (its role and account, from the
    /// backend's credentials, asked once). When that cannot be learnt, nothing is taken for
    /// the function's own call this time: everything is judged, and it is asked again.
    async fn intake_options(&self) -> std::borrow::Cow<'_, IntakeOptions> {
        let learnt = self
            .intake
            .get_or_try_init(|| async {
                let own = self.backend.identity().await?;
                Ok::<_, ApiError>(IntakeOptions {
                    own,
                    ..self.config.intake.clone()
                })
            })
            .await;
        match learnt {
            Ok(opts) => std::borrow::Cow::Borrowed(opts),
            Err(e) => {
                tracing::warn!(error = %e, "cannot learn the function's own identity: no event is taken for its own");
                std::borrow::Cow::Borrowed(&self.config.intake)
            }
        }
    }

    /// Why tag-warden does not act in `account`, if it does not: it governs its own account
    /// and those of `TAG_WARDEN_ACCOUNTS` (the organization's active accounts with `ORG`, listed
    /// once). Offline, the own account is unknown: only a list can refuse.
    pub async fn refusal(&self, account: Option<&str>) -> Result<Option<String>, ApiError> {
        let Some(account) = account else {
            return Ok(None);
        };
        let own = self.backend.identity().await?.map(|me| me.account);
        if own.as_deref() == Some(account) {
            return Ok(None);
        }
        let governed = match &self.config.fleet.accounts {
            Accounts::Own => own.is_none(),
            Accounts::List(ids) => ids.iter().any(|id| id == account),
            Accounts::Organization if !self.live => true,
            Accounts::Organization => self
                .organization
                .get_or_try_init(|| self.backend.organization_accounts())
                .await?
                .iter()
                .any(|id| id == account),
        };
        Ok((!governed).then(|| {
            let listed = match &self.config.fleet.accounts {
                Accounts::Own => format!("{} is not set", crate::run::config::ENV_ACCOUNTS),
                Accounts::List(ids) => format!("{}={}", crate::run::config::ENV_ACCOUNTS, ids.join(",")),
                Accounts::Organization => "not an active account of the organization".to_owned(),
            };
            format!(
                "account {account} is not governed by this tag-warden (its own account is {}; {listed}): nothing is done there",
                own.as_deref().unwrap_or("not known offline")
            )
        }))
    }

    /// The entry of a trigger refused for its account, or of a failure to tell.
    async fn ungoverned(&self, t: &Trigger) -> Option<ResourceReport> {
        let reason = match self.refusal(t.account.as_deref()).await {
            Ok(None) => return None,
            Ok(Some(reason)) => reason,
            Err(e) => return Some(unreached(self.context(t), &t.resource_id, &e)),
        };
        Some(ignored(Ignored {
            reason,
            kind: Some(t.kind),
            resource_id: Some(t.resource_id.clone()),
            region: Some(t.region.clone()),
            event: t.event.clone(),
        }))
    }

    /// Every account in every region: `None` for the function's own account; an
    /// organization's accounts listed now.
    pub async fn cells_of(&self, accounts: &Accounts, regions: &[String]) -> Result<Vec<Cell>, ApiError> {
        let accounts: Vec<Option<String>> = match accounts {
            Accounts::Own => vec![None],
            Accounts::List(ids) => ids.iter().cloned().map(Some).collect(),
            Accounts::Organization => self
                .backend
                .organization_accounts()
                .await?
                .into_iter()
                .map(Some)
                .collect(),
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
        Report::of_sweep(self.config.mode, entries, summary)
    }

    fn sweeper<'s>(&'s self, deadline: Deadline, outputs: &'s Outputs<'s>) -> Sweep<'s, B> {
        Sweep {
            backend: &self.backend,
            judge: self.judge(),
            settings: &self.config.sweep,
            deadline,
            outputs: Some(outputs),
        }
    }

    /// A scheduled sweep fanned out: one message per cell on the sweep queue, for the SQS
    /// event source mapping to sweep one batch an invocation.
    async fn fan_out(&self, queue: &str, accounts: &Accounts, regions: &[String], outputs: &Outputs<'_>) -> Report {
        let sent = async {
            let cells = self.cells_of(accounts, regions).await?;
            let bodies: Vec<String> = cells.iter().filter_map(|c| serde_json::to_string(c).ok()).collect();
            self.backend.enqueue(queue, &bodies).await?;
            Ok::<_, ApiError>(cells)
        };
        match sent.await {
            Ok(cells) => {
                let mut accounts: Vec<String> = Vec::new();
                for a in cells.iter().filter_map(|c| c.account.clone()) {
                    if !accounts.contains(&a) {
                        accounts.push(a);
                    }
                }
                tracing::info!(
                    cells = cells.len(),
                    accounts = accounts.len(),
                    ?regions,
                    "sweep fanned out"
                );
                let mut report = Report::new(self.config.mode, Vec::new());
                report.fanout = Some(FanOut {
                    cells: cells.len(),
                    accounts,
                    regions: regions.to_vec(),
                });
                report
            }
            Err(e) => {
                let entry = accounts_failed(&e);
                entry.log(false);
                outputs.observe(&entry);
                Report::new(self.config.mode, vec![entry])
            }
        }
    }

    /// An SQS batch of cells: each swept in turn; a failed one returned to the queue, or, on
    /// its last receive, sent to the dead-letter queue with the reason.
    async fn cells(&self, works: Vec<CellWork>, deadline: Deadline, outputs: &Outputs<'_>) -> Report {
        let mut entries = Vec::new();
        let mut summary: Option<SweepSummary> = None;
        let mut results = Vec::with_capacity(works.len());
        let mut failures = Vec::new();
        for work in works {
            // A message names an account: act there only when it is governed.
            let refused = match &work.cell {
                Ok(cell) => match self.refusal(cell.account.as_deref()).await {
                    Ok(refused) => refused.map(|why| (why, true)),
                    Err(e) => Some((format!("cannot tell whether the account is governed: {e}"), false)),
                },
                Err(_) => None,
            };
            let failed = match &work.cell {
                _ if refused.is_some() => refused,
                Err(why) => Some((why.clone(), true)),
                Ok(cell) if cell.account.is_some() && self.config.fleet.member_role.is_none() => Some((
                    format!(
                        "{} is not set: the cell's account cannot be reached (the function's own credentials would act in its own account)",
                        crate::run::config::ENV_MEMBER_ROLE
                    ),
                    true,
                )),
                Ok(_) if !deadline.allows_start(Instant::now()) => Some((
                    "the invocation's deadline came before this cell started".to_owned(),
                    false,
                )),
                Ok(cell) => {
                    let (cell_entries, cell_summary) = self.sweeper(deadline, outputs).cell(cell, &|_| {}).await;
                    let why = cell_summary.failed_cells.values().next().cloned().or_else(|| {
                        cell_entries
                            .iter()
                            .find(|e| e.outcome == Outcome::Error)
                            .map(|e| format!("a resource failed: {}", e.reasons.join("; ")))
                    });
                    entries.extend(cell_entries);
                    match summary.as_mut() {
                        Some(s) => s.merge(cell_summary),
                        None => summary = Some(cell_summary),
                    }
                    why.map(|w| (w, false))
                }
            };
            let cell = work.cell.as_ref().ok().map(Cell::to_string);
            let (outcome, reason) = match failed {
                None => ("swept", None),
                Some((why, hopeless)) => {
                    let last = hopeless || work.receive_count >= self.config.fleet.max_receives;
                    match (&self.config.fleet.dead_letter_url, last) {
                        (Some(dlq), true) => match self.dead_letter(dlq, &work, &why).await {
                            Ok(()) => ("dead-lettered", Some(why)),
                            Err(e) => {
                                failures.push(work.message_id.clone());
                                (
                                    "retry",
                                    Some(format!("{why}; and the dead-letter queue refused it: {e}")),
                                )
                            }
                        },
                        _ => {
                            failures.push(work.message_id.clone());
                            ("retry", Some(why))
                        }
                    }
                }
            };
            tracing::info!(message_id = %work.message_id, cell = cell.as_deref().unwrap_or("-"), outcome, reason = reason.as_deref().unwrap_or(""), attempt = work.receive_count, "sweep cell");
            results.push(CellResult {
                message_id: work.message_id,
                cell,
                outcome,
                reason,
                attempt: work.receive_count,
            });
        }
        let mut report = match summary {
            Some(s) => Report::of_sweep(self.config.mode, entries, s),
            None => Report::new(self.config.mode, Vec::new()),
        };
        report.cells = results;
        report.batch_item_failures = Some(
            failures
                .into_iter()
                .map(|item_identifier| BatchItemFailure { item_identifier })
                .collect(),
        );
        report
    }

    /// Sends a cell that failed its last attempt to the dead-letter queue: the cell (so the
    /// message can be sent back to the sweep queue as it is) and why it failed.
    async fn dead_letter(&self, dlq: &str, work: &CellWork, why: &str) -> Result<(), ApiError> {
        let mut body = serde_json::json!({
            "failure": {"reason": why, "attempts": work.receive_count, "message_id": work.message_id},
        });
        if let (Ok(cell), Some(obj)) = (&work.cell, body.as_object_mut()) {
            obj.insert("region".to_owned(), Value::String(cell.region.clone()));
            if let Some(a) = &cell.account {
                obj.insert("account".to_owned(), Value::String(a.clone()));
            }
        }
        self.backend.enqueue(dlq, &[body.to_string()]).await
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
        match t.kind {
            ResourceKind::Secret => {
                counting(self.backend.secrets(&cell), outputs, async |s| {
                    judge.check(s, ctx, id).await
                })
                .await
            }
            ResourceKind::KmsKey => {
                counting(self.backend.keys(&cell), outputs, async |s| {
                    judge.check(s, ctx, id).await
                })
                .await
            }
        }
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
        match t.kind {
            ResourceKind::Secret => {
                counting(self.backend.secrets(&cell), outputs, async |s| {
                    judge.trust(s, ctx, id, &t.requested, e).await
                })
                .await
            }
            ResourceKind::KmsKey => {
                counting(self.backend.keys(&cell), outputs, async |s| {
                    judge.trust(s, ctx, id, &t.requested, e).await
                })
                .await
            }
        }
        if !entry.remembered.is_empty() {
            entry
                .reasons
                .push("not enforced: the values it set are remembered".to_owned());
        }
        entry
    }
}

/// The entry with its latency: from the event's time to now, the decision.
fn latency(mut entry: ResourceReport) -> ResourceReport {
    entry.latency_ms = entry
        .event
        .time
        .as_deref()
        .and_then(crate::domain::parse_utc_time)
        .map(|at| crate::run::resource::now_ms().saturating_sub(at));
    entry
}

/// `work` on `store`, its throttled attempts (the SDK's retries included) counted as a sweep's
/// are: the store's count before and after.
async fn counting<S: TagStore, T>(store: S, outputs: &Outputs<'_>, work: impl AsyncFnOnce(&S) -> T) -> T {
    let before = store.throttled();
    let out = work(&store).await;
    outputs.throttled(store.throttled().saturating_sub(before));
    out
}

/// The entry of a resource in an account that cannot be reached (its member role not assumed).
/// It is an error whatever AWS said (access denied included): the member stack is missing or
/// wrong, which someone must fix, so the event goes to the failure queue.
fn unreached(ctx: ResourceContext, id: &str, e: &ApiError) -> ResourceReport {
    let mut entry = ResourceReport::judged(ctx, Some(id), None, Decision::failed(e));
    entry.outcome = Outcome::Error;
    entry.error_type = Some(ErrorType::from(e.kind));
    entry.reasons = vec![format!("cannot reach the resource's account: {e}")];
    entry
}

/// The entry of a sweep whose accounts could not be listed or whose cells could not be sent.
fn accounts_failed(e: &ApiError) -> ResourceReport {
    error_entry(ErrorType::from(e.kind), format!("the sweep did not start: {e}"))
}

/// The entry for a record that could not be taken in; it fails the invocation.
fn bad_item(e: &IntakeError) -> ResourceReport {
    error_entry(e.error_type(), e.to_string())
}

/// An entry that failed, with its error type and why (no resource named).
fn error_entry(error_type: ErrorType, why: String) -> ResourceReport {
    let mut r = ResourceReport::new(Outcome::Error);
    r.error_type = Some(error_type);
    r.reasons.push(why);
    r
}

/// The entry for an event that needs no action.
fn ignored(i: Ignored) -> ResourceReport {
    let mut r = ResourceReport::new(Outcome::Ignored);
    r.kind = i.kind;
    r.resource_id = i.resource_id;
    r.region = i.region;
    r.event = i.event;
    r.reasons.push(i.reason);
    r
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
