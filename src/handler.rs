//! The handler: one event → intake → per resource: read, evaluate, apply → one report.
//! The same code serves the Lambda runtime and the CLI's `handle`.

use crate::apply::{enforce, Backend};
use crate::config::Config;
use crate::intake::{self, Ignored, Intake, IntakeError, Trigger};
use crate::model::ResourceKind;
use crate::report::{Outcome, Report, ResourceReport};
use crate::sweep::{Deadline, Progress, Sweep};
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
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Intake(IntakeError::NotJson(_)) => "TagWarden.NotJson",
            HandlerError::Intake(IntakeError::TooManyRecords { .. }) => "TagWarden.TooManyRecords",
            HandlerError::Intake(IntakeError::NotAnEvent { .. } | IntakeError::BadRecord { .. }) => {
                "TagWarden.NotAnEvent"
            }
            HandlerError::Intake(IntakeError::MissingField { .. }) => "TagWarden.MissingField",
            HandlerError::Intake(IntakeError::TooLong { .. }) => "TagWarden.BadField",
            HandlerError::Incomplete { .. } => "TagWarden.Incomplete",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Handles events against a backend with a fixed configuration.
#[derive(Debug)]
pub struct Handler<B> {
    backend: B,
    config: Config,
}

impl<B: Backend> Handler<B> {
    /// A handler over `backend` with `config`.
    pub fn new(backend: B, config: Config) -> Self {
        Handler { backend, config }
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
        tracing::debug!(event = %crate::redact::redacted(event), "event received");
        let items = intake::intake(event, &self.config.intake)?;
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let entry = match item {
                Ok(Intake::Trigger(t)) => self.trigger(&t).await,
                Ok(Intake::Ignored(i)) => ignored(i),
                // A schedule fires one sweep; a sweep is its own report.
                Ok(Intake::Sweep(req)) => {
                    let regions = self.config.sweep_regions(req.region.as_deref());
                    return Ok(self.sweep(&regions, deadline, &|_| {}).await);
                }
                Err(e) => bad_item(&e),
            };
            entry.log(false);
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
            policy: &self.config.policy,
            mode: self.config.mode,
            settings: &self.config.sweep,
            deadline,
        };
        let (entries, summary) = sweep.run(regions, progress).await;
        entries.iter().for_each(|e| e.log(true));
        tracing::info!(
            regions = ?summary.regions, complete = summary.complete, not_started = summary.not_started,
            seconds = summary.seconds, "sweep finished"
        );
        Report::of_sweep(self.config.mode, entries, summary)
    }

    async fn trigger(&self, t: &Trigger) -> ResourceReport {
        let (policy, mode) = (&self.config.policy, self.config.mode);
        let mut entry = match t.kind {
            ResourceKind::Secret => {
                enforce(&self.backend.secrets(&t.region), policy, mode, t.kind, &t.resource_id).await
            }
            ResourceKind::KmsKey => enforce(&self.backend.keys(&t.region), policy, mode, t.kind, &t.resource_id).await,
        };
        entry.region = Some(t.region.clone());
        entry.event = t.event.clone();
        entry
    }
}

/// The entry for a record that could not be taken in; it fails the invocation.
pub(crate) fn bad_item(e: &IntakeError) -> ResourceReport {
    let mut r = ResourceReport::new(Outcome::Error);
    r.error_type = Some(HandlerError::from(e.clone()).error_type().to_owned());
    r.reasons.push(e.to_string());
    r
}

/// The entry for an event that needs no action.
pub(crate) fn ignored(i: Ignored) -> ResourceReport {
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
