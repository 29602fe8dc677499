//! The organization's sweep over SQS: a schedule fans the cells (account × region) out as
//! messages on the sweep queue, and an SQS batch of cells is swept cell by cell, answered with
//! `batchItemFailures`, a cell's last failure sent to the dead-letter queue with the reason.

use super::handler::{accounts_failed, Handler};
use crate::config::Accounts;
use crate::domain::{ApiError, Cell, Outcome};
use crate::engine::intake::CellWork;
use crate::ports::Backend;
use crate::run::outputs::Outputs;
use crate::run::sweep::Deadline;
use crate::view::report::{Report, ResourceReport};
use crate::view::summary::{BatchItemFailure, CellOutcome, CellResult, FanOut, SweepSummary};
use serde_json::Value;
use std::time::Instant;

impl<B: Backend> Handler<B> {
    /// A scheduled sweep fanned out: one message per cell on the sweep queue, for the SQS
    /// event source mapping to sweep one batch an invocation.
    pub(super) async fn fan_out(
        &self,
        queue: &str,
        accounts: &Accounts,
        regions: &[String],
        outputs: &Outputs<'_>,
    ) -> Report {
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
    pub(super) async fn cells(&self, works: Vec<CellWork>, deadline: Deadline, outputs: &Outputs<'_>) -> Report {
        let mut entries = Vec::new();
        let mut summary: Option<SweepSummary> = None;
        let mut results = Vec::with_capacity(works.len());
        let mut failures = Vec::new();
        for work in works {
            let failed = self
                .sweep_one(&work, deadline, outputs, &mut entries, &mut summary)
                .await;
            let cell = work.cell.as_ref().ok().map(Cell::to_string);
            let (outcome, reason) = match failed {
                None => (CellOutcome::Swept, None),
                Some((why, hopeless)) => self.settle(&work, why, hopeless, &mut failures).await,
            };
            tracing::info!(message_id = %work.message_id, cell = cell.as_deref().unwrap_or("-"), outcome = outcome.as_str(), reason = reason.as_deref().unwrap_or(""), attempt = work.receive_count, "sweep cell");
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

    /// Sweeps one cell of the batch, its entries and summary added to the batch's. Returns why
    /// it failed, if it did, and whether retrying is hopeless.
    async fn sweep_one(
        &self,
        work: &CellWork,
        deadline: Deadline,
        outputs: &Outputs<'_>,
        entries: &mut Vec<ResourceReport>,
        summary: &mut Option<SweepSummary>,
    ) -> Option<(String, bool)> {
        let cell = match &work.cell {
            Ok(cell) => cell,
            Err(why) => return Some((why.to_string(), true)),
        };
        // A message names an account: act there only when it is governed.
        match self.refusal(cell.account.as_deref()).await {
            Ok(None) => {}
            Ok(Some(why)) => return Some((why, true)),
            Err(e) => return Some((format!("cannot tell whether the account is governed: {e}"), false)),
        }
        if cell.account.is_some() && self.config.fleet.member_role.is_none() {
            return Some((
                format!(
                    "{} is not set: the cell's account cannot be reached (the function's own credentials would act in its own account)",
                    crate::config::ENV_MEMBER_ROLE
                ),
                true,
            ));
        }
        if !deadline.allows_start(Instant::now()) {
            return Some((
                "the invocation's deadline came before this cell started".to_owned(),
                false,
            ));
        }
        let (cell_entries, cell_summary) = self.sweeper(deadline, outputs).sweep_cell(cell, &|_| {}).await;
        let why = cell_summary.failed_cells.values().next().cloned().or_else(|| {
            cell_entries
                .iter()
                .find(|e| e.outcome == Outcome::Error)
                .map(|e| format!("a resource failed: {}", e.reasons.join("; ")))
        });
        entries.extend(cell_entries);
        match summary.as_mut() {
            Some(s) => s.merge(cell_summary),
            None => *summary = Some(cell_summary),
        }
        why.map(|w| (w, false))
    }

    /// What becomes of a failed cell: on its last receive (or when retrying is hopeless) sent
    /// to the dead-letter queue, if there is one; otherwise returned to the queue (its message
    /// id added to `failures`).
    async fn settle(
        &self,
        work: &CellWork,
        why: String,
        hopeless: bool,
        failures: &mut Vec<String>,
    ) -> (CellOutcome, Option<String>) {
        let last = hopeless || work.receive_count >= self.config.fleet.max_receives;
        match (&self.config.fleet.dead_letter_url, last) {
            (Some(dlq), true) => match self.dead_letter(dlq, work, &why).await {
                Ok(()) => (CellOutcome::DeadLettered, Some(why)),
                Err(e) => {
                    failures.push(work.message_id.clone());
                    (
                        CellOutcome::Retry,
                        Some(format!("{why}; and the dead-letter queue refused it: {e}")),
                    )
                }
            },
            _ => {
                failures.push(work.message_id.clone());
                (CellOutcome::Retry, Some(why))
            }
        }
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
}
