//! An SQS batch of sweep cells (the fan-out of an organization's sweep): one [`CellWork`] per
//! message. Lambda's SQS records say `"eventSource": "aws:sqs"`, which is how they are told
//! from a CloudTrail log file (`Records` too).

use super::record::string_at;
use super::Intake;
use crate::domain::{is_account_id, Cell};
use serde_json::Value;

/// The `eventSource` of Lambda's SQS records.
pub const SQS_EVENT_SOURCE: &str = "aws:sqs";

/// One message of the batch: the cell to sweep, or why its body is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellWork {
    /// The message id, which a partial batch response names to return a message to the queue.
    pub message_id: String,
    /// The cell, or what is wrong with the body.
    pub cell: Result<Cell, BadCell>,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
    /// The one resource of the cell to judge again, when the message is a re-check.
    pub recheck: Option<crate::domain::Recheck>,
    /// When the scheduled sweep that sent the cell fanned out (milliseconds since the epoch):
    /// every cell's summary is kept under that time, as one sweep.
    pub sweep_ms: Option<u64>,
}

/// Why a message's body is not a sweep cell. Messages name fields only, never the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadCell {
    /// The record has no `body` string.
    #[error("the message has no `body` string")]
    NoBody,
    /// The body is not JSON.
    #[error("the message body is not JSON (line {line} column {column})")]
    NotJson {
        /// Where.
        line: usize,
        /// Where.
        column: usize,
    },
    /// JSON, but not `{"account", "region"}`.
    #[error(
        "the message body is not a sweep cell: expected {{\"account\": \"123456789012\", \"region\": \"us-east-1\"}}"
    )]
    NotACell,
    /// The region is not a region code.
    #[error("the sweep cell's `region` is not a region code (like `us-east-1`)")]
    BadRegion,
    /// The account is not an account id.
    #[error("the sweep cell's `account` is not a 12-digit account id")]
    BadAccount,
}

/// Whether `records` are Lambda's SQS records (the first one says so).
pub(super) fn is_sqs(records: &[Value]) -> bool {
    records
        .first()
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some(SQS_EVENT_SOURCE)
}

/// One SQS record → one cell to sweep.
pub(super) fn take(record: &Value, index: usize) -> Intake {
    let message_id = string_at(record, &["messageId"]).unwrap_or_else(|| format!("Records[{index}]"));
    let receive_count = string_at(record, &["attributes", "ApproximateReceiveCount"])
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let (cell, recheck, sweep_ms) = match cell(record) {
        Ok((cell, recheck, sweep_ms)) => (Ok(cell), recheck, sweep_ms),
        Err(e) => (Err(e), None, None),
    };
    Intake::Cell(CellWork {
        message_id,
        cell,
        receive_count,
        recheck,
        sweep_ms,
    })
}

/// The body's cell, the resource to re-check if it names one, and the time of the sweep that
/// sent it if it says (the body read once).
fn cell(record: &Value) -> Result<(Cell, Option<crate::domain::Recheck>, Option<u64>), BadCell> {
    let body = record.get("body").and_then(Value::as_str).ok_or(BadCell::NoBody)?;
    let value: Value = serde_json::from_str(body).map_err(|e| BadCell::NotJson {
        line: e.line(),
        column: e.column(),
    })?;
    let recheck = match value.get("recheck") {
        None => None,
        Some(r) => Some(serde_json::from_value(r.clone()).map_err(|_| BadCell::NotACell)?),
    };
    let sweep_ms = value.get("sweep_ms").and_then(Value::as_u64);
    let cell: Cell = serde_json::from_value(value).map_err(|_| BadCell::NotACell)?;
    if !crate::domain::is_region(&cell.region) {
        return Err(BadCell::BadRegion);
    }
    if cell.account.as_deref().is_some_and(|a| !is_account_id(a)) {
        return Err(BadCell::BadAccount);
    }
    Ok((cell, recheck, sweep_ms))
}
