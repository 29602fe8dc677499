//! `tag-warden redrive`: the dead letters of an organization's sweep, swept again here by an
//! operator. The sweep queue's policy lets only the function's role send cells, so a dead letter
//! is never sent back: each letter's cell is swept from this process (through the member role,
//! as the function would) and the letter is deleted once its cell is swept to the end. A cell
//! that fails again keeps its letter, which comes back after the queue's visibility timeout.

use super::commands::verdict;
use super::{print_report, runtime, CliError};
use crate::config::{role_name, Config};
use crate::ports::Backend;
use crate::run::handler::Handler;
use crate::run::sweep::Deadline;
use crate::view::report::Report;
use clap::Args;
use serde_json::json;

/// `tag-warden redrive` options.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The sweep's dead-letter queue URL (the stack's `SweepDeadLetterQueueUrl` output);
    /// default: TAG_WARDEN_SWEEP_DLQ_URL.
    #[arg(long, value_name = "URL")]
    dlq: Option<String>,
    /// The role assumed in member accounts (TAG_WARDEN_MEMBER_ROLE); the member stack's
    /// `OperatorPrincipals` must trust the caller.
    #[arg(long, value_name = "ROLE")]
    member_role: Option<String>,
    /// Dead letters redriven at most (each one cell), 10 a batch.
    #[arg(long, default_value_t = 100)]
    max: usize,
}

/// The most messages one ReceiveMessage returns.
const BATCH: usize = 10;

/// Sweeps the dead letters' cells, deletes the letters of the cells swept, prints the report.
pub fn run(args: &RedriveArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<(), CliError> {
    let mut config = Config::from_env(env).map_err(|e| CliError::Invalid(e.start_up()))?;
    if let Some(role) = args.member_role.as_deref().and_then(role_name) {
        config.set_member_role(role);
    }
    let dlq = args
        .dlq
        .clone()
        .or_else(|| config.fleet.dead_letter_url.clone())
        .ok_or_else(|| CliError::Invalid("redrive: give --dlq URL (or set TAG_WARDEN_SWEEP_DLQ_URL)".to_owned()))?;
    // A cell that fails here keeps its letter in the dead-letter queue: nothing is sent there.
    config.fleet.dead_letter_url = None;
    let (report, kept) = runtime()?.block_on(async {
        let backend = super::aws_backend(&config).await;
        let handler = Handler::new(backend, config);
        redrive(&handler, &dlq, args.max).await
    })?;
    print_report(&report)?;
    if kept > 0 {
        let first = report.cells.iter().find_map(|c| c.reason.clone()).unwrap_or_default();
        return Err(CliError::Failed(format!(
            "{kept} of {} dead letters failed again and stay in the queue; first: {first}",
            report.cells.len()
        )));
    }
    verdict(&report)
}

/// Receives up to `max` dead letters from `dlq`, a batch at a time, sweeps their cells as the
/// function sweeps an SQS batch, and deletes the letters of the cells swept (or refused for
/// good, such as an account not enrolled or a body that is no cell): the report, and how many
/// letters stay.
pub async fn redrive<B: Backend>(handler: &Handler<B>, dlq: &str, max: usize) -> Result<(Report, usize), CliError> {
    let failed = |e: crate::domain::ApiError| CliError::Failed(e.to_string());
    let mut entries = Vec::new();
    let mut cells = Vec::new();
    let mut kept = Vec::new();
    let mut done = 0;
    while done < max {
        let want = i32::try_from((max - done).min(BATCH)).unwrap_or(1);
        let letters = handler.backend().receive(dlq, want).await.map_err(failed)?;
        if letters.is_empty() {
            break;
        }
        done += letters.len();
        let records: Vec<_> = letters
            .iter()
            .map(|m| {
                json!({"messageId": m.message_id, "body": m.body, "eventSource": crate::engine::intake::SQS_EVENT_SOURCE,
                       "attributes": {"ApproximateReceiveCount": "1"}})
            })
            .collect();
        let (result, _) = handler.handle(&json!({ "Records": records }), Deadline::NONE).await;
        let report = result.map_err(|e| CliError::Failed(e.to_string()))?;
        let retry: Vec<&str> = report
            .batch_item_failures
            .iter()
            .flatten()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for m in &letters {
            if retry.contains(&m.message_id.as_str()) {
                kept.push(m.message_id.clone());
            } else {
                handler
                    .backend()
                    .delete_received(dlq, &m.receipt)
                    .await
                    .map_err(failed)?;
            }
        }
        entries.extend(report.results);
        cells.extend(report.cells);
    }
    let mut report = Report::new(handler.config().mode, entries);
    report.cells = cells;
    Ok((report, kept.len()))
}
