//! The handler: one event → intake → per resource: read, evaluate, apply → one report.
//! The same code serves the Lambda runtime and the CLI's `handle`.

use crate::domain::{ErrorType, Mode, Outcome, ResourceContext, ResourceKind};
use crate::engine::intake::{self, Ignored, Intake, IntakeError, Trigger};
use crate::ports::Backend;
use crate::run::config::Config;
use crate::run::report::{Report, ResourceReport};
use crate::run::resource::Judge;
use crate::run::sweep::{Deadline, Progress, Sweep};
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
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one event as the Lambda function does: the report, or the error that fails
    /// the invocation (so that it is retried or reaches the failure queue).
    pub async fn invoke(&self, event: &Value, deadline: Deadline) -> Result<Report, HandlerError> {
        let report = self.report(event, deadline).await?;
        match failure(&report) {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Takes in the event and produces one entry per item, in order, logging each. Fails only
    /// when the payload as a whole is not an event; see [`failure`] for failed entries.
    pub async fn report(&self, event: &Value, deadline: Deadline) -> Result<Report, HandlerError> {
        tracing::debug!(event = %crate::engine::intake::redacted(event), "event received");
        let items = intake::intake(event, &self.config.intake)?;
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let entry = match item {
                Ok(Intake::Trigger(t)) => self.trigger(&t).await,
                Ok(Intake::Trusted(t, reason)) => self.trusted(&t, reason).await,
                Ok(Intake::Ignored(i)) => ignored(i),
                Ok(Intake::Sweep(_)) if !self.live => {
                    let mut entry = ResourceReport::new(Outcome::Ignored);
                    entry.reasons.push(OFFLINE_SWEEP.to_owned());
                    entry
                }
                // A schedule fires one sweep; a sweep is its own report.
                Ok(Intake::Sweep(req)) => {
                    let regions = self.config.sweep_regions(req.region.as_deref());
                    return Ok(self.sweep(&regions, deadline, &|_| {}).await);
                }
                Err(e) => bad_item(&e),
            };
            // An offline plan's entries are its output; it logs nothing of its own.
            if self.live {
                entry.log(false);
            }
            results.push(entry);
        }
        Ok(Report::new(self.config.mode, results))
    }

    /// Sweeps `regions` (the scheduled event and the CLI's `reconcile`).
    pub async fn sweep(
        &self,
        regions: &[String],
        deadline: Deadline,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Report {
        let sweep = Sweep {
            backend: &self.backend,
            judge: self.judge(),
            settings: &self.config.sweep,
            deadline,
        };
        // The sweep logs every entry as it finishes; the report keeps the ones needing attention.
        let (entries, summary) = sweep.run(regions, progress).await;
        tracing::info!(
            regions = ?summary.regions, complete = summary.complete, not_started = summary.not_started,
            pages = summary.pages, truncated = summary.truncated, seconds = summary.seconds, "sweep finished"
        );
        Report::of_sweep(self.config.mode, entries, summary)
    }

    async fn trigger(&self, t: &Trigger) -> ResourceReport {
        let judge = self.judge();
        let (ctx, id) = (self.context(t), t.resource_id.as_str());
        match t.kind {
            ResourceKind::Secret => judge.check(&self.backend.secrets(&t.region), ctx, id).await,
            ResourceKind::KmsKey => judge.check(&self.backend.keys(&t.region), ctx, id).await,
        }
    }

    /// A trusted principal's change: ignored as before, and with memory, what it set is
    /// remembered.
    async fn trusted(&self, t: &Trigger, reason: String) -> ResourceReport {
        let mut entry = ignored(Ignored {
            reason,
            kind: Some(t.kind),
            resource_id: Some(t.resource_id.clone()),
            region: Some(t.region.clone()),
            event: t.event.clone(),
        });
        let judge = self.judge();
        let (ctx, id) = (self.context(t), t.resource_id.as_str());
        match t.kind {
            ResourceKind::Secret => judge.trust(&self.backend.secrets(&t.region), ctx, id, &mut entry).await,
            ResourceKind::KmsKey => judge.trust(&self.backend.keys(&t.region), ctx, id, &mut entry).await,
        }
        if !entry.remembered.is_empty() {
            entry
                .reasons
                .push("not enforced: the values it set are remembered".to_owned());
        }
        entry
    }
}

/// The entry for a record that could not be taken in; it fails the invocation.
fn bad_item(e: &IntakeError) -> ResourceReport {
    let mut r = ResourceReport::new(Outcome::Error);
    r.error_type = Some(e.error_type());
    r.reasons.push(e.to_string());
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

/// The error that must fail the invocation, when any entry failed.
pub fn failure(report: &Report) -> Option<HandlerError> {
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
