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

/// Accounts a fan-out reaches at once to tell which are not enrolled.
const REACH_AT_ONCE: usize = 8;

/// Why a cell of the batch was not swept to the end.
enum CellFailure {
    /// Its account is not enrolled (AWS's answer): reported, not retried.
    NotEnrolled(String),
    /// It failed (why), and whether retrying is hopeless.
    Failed(String, bool),
}

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
            // An account not enrolled is reported here, once, and none of its cells is sent:
            // nothing of it is retried or dead-lettered.
            let not_enrolled = self.not_enrolled(&cells).await;
            let cells: Vec<Cell> = cells
                .into_iter()
                .filter(|c| c.account.as_ref().is_none_or(|a| !not_enrolled.contains_key(a)))
                .collect();
            // Every cell of one scheduled sweep carries its time: their summaries are one sweep
            // on the page's trend.
            let sweep_ms = crate::run::resource::now_ms();
            let bodies: Vec<String> = cells
                .iter()
                .filter_map(|c| {
                    let mut body = serde_json::to_value(c).ok()?;
                    body.as_object_mut()?.insert("sweep_ms".to_owned(), sweep_ms.into());
                    Some(body.to_string())
                })
                .collect();
            if !bodies.is_empty() {
                self.backend.enqueue(queue, &bodies).await?;
            }
            Ok::<_, ApiError>((cells, not_enrolled))
        };
        match sent.await {
            Ok((cells, not_enrolled)) => {
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
                let entries = not_enrolled
                    .iter()
                    .map(|(account, why)| {
                        let entry = ResourceReport::not_enrolled(account, why);
                        entry.log(false);
                        outputs.observe(&entry);
                        entry
                    })
                    .collect();
                let mut report = Report::new(self.config.mode, entries);
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

    /// The accounts of `cells` whose member role cannot be assumed, with what AWS answered:
    /// each reached once, a few at a time.
    async fn not_enrolled(&self, cells: &[Cell]) -> std::collections::BTreeMap<String, String> {
        use futures_util::StreamExt;
        let mut accounts: Vec<&str> = cells.iter().filter_map(|c| c.account.as_deref()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        futures_util::stream::iter(accounts)
            .map(|a| async move { (a, self.backend.reach(Some(a)).await) })
            .buffer_unordered(REACH_AT_ONCE)
            .filter_map(|(a, reached)| async move {
                match reached {
                    Err(e) if e.not_enrolled() => Some((a.to_owned(), e.to_string())),
                    _ => None,
                }
            })
            .collect()
            .await
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
                Some(CellFailure::NotEnrolled(why)) => (CellOutcome::NotEnrolled, Some(why)),
                Some(CellFailure::Failed(why, hopeless)) => self.settle(&work, why, hopeless, &mut failures).await,
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
            // Re-checks only (no cell swept): their entries, as an event's are.
            None => Report::new(self.config.mode, entries),
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
    /// it failed, if it did: its account not enrolled, or a failure (and whether retrying is
    /// hopeless).
    async fn sweep_one(
        &self,
        work: &CellWork,
        deadline: Deadline,
        outputs: &Outputs<'_>,
        entries: &mut Vec<ResourceReport>,
        summary: &mut Option<SweepSummary>,
    ) -> Option<CellFailure> {
        let cell = match &work.cell {
            Ok(cell) => cell,
            Err(why) => return Some(CellFailure::Failed(why.to_string(), true)),
        };
        // A message names an account: act there only when it is governed.
        match self.refusal(cell.account.as_deref()).await {
            Ok(None) => {}
            Ok(Some(why)) => return Some(CellFailure::Failed(why, true)),
            Err(e) => {
                return Some(CellFailure::Failed(
                    format!("cannot tell whether the account is governed: {e}"),
                    false,
                ))
            }
        }
        if cell.account.is_some() && self.config.fleet.member_role.is_none() {
            return Some(CellFailure::Failed(
                format!(
                    "{} is not set: the cell's account cannot be reached (the function's own credentials would act in its own account)",
                    crate::config::ENV_MEMBER_ROLE
                ),
                true,
            ));
        }
        if !deadline.allows_start(Instant::now()) {
            return Some(CellFailure::Failed(
                "the invocation's deadline came before this cell started".to_owned(),
                false,
            ));
        }
        if let Some(r) = &work.recheck {
            let entry = self.recheck_one(cell, r, outputs).await;
            let failed = (entry.outcome == Outcome::Error)
                .then(|| CellFailure::Failed(format!("the re-check failed: {}", entry.reasons.join("; ")), false));
            entries.push(entry);
            return failed;
        }
        let sweeper = self.sweeper(deadline, outputs);
        let (cell_entries, cell_summary) = sweeper.sweep_cell(cell, &|_| {}).await;
        if let Some(at) = work.sweep_ms {
            let report = Report::of_sweep(self.config.mode, cell_entries.clone(), cell_summary.clone());
            self.keep_trend(&report, at, &cell.region).await;
        }
        let not_enrolled = cell_summary.not_enrolled.iter().next().map(|(account, why)| {
            entries.push(sweeper.not_enrolled(account, why));
            CellFailure::NotEnrolled(why.clone())
        });
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
        not_enrolled.or(why.map(|w| CellFailure::Failed(w, false)))
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
