//! Intake stage (pure core): raw event JSON → domain [`Intake`] items. Pure: no I/O.
//!
//! Accepted shapes: an EventBridge envelope ("AWS API Call via CloudTrail", a "Tag Change on
//! Resource" from `aws.tag`, or a "Scheduled Event"), a bare CloudTrail record, and a
//! CloudTrail log file (`{"Records": [...]}`).
//! The CloudTrail record is read through tolerant accessors over `serde_json::Value`, not a
//! strict struct: real records vary (`"sessionIssuer": {}`, `aRN` vs `arn`, `null`s), and a
//! value is never echoed back in an error message, so a secret in a record cannot leak here.

mod record;
mod redact;
mod sqs;
mod tag_change;

use crate::domain::{ErrorType, EventInfo, Identity, ResourceKind, Tags};
use serde_json::Value;

pub use record::SUPPORTED_EVENTS;
pub use redact::{redacted, REDACTED};
pub use sqs::{BadCell, CellWork, SQS_EVENT_SOURCE};
pub use tag_change::{SUPPORTED_TAG_CHANGES, TAG_CHANGE_DETAIL_TYPE, TAG_SOURCE};

/// A supported event that names one resource to check now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// What kind of resource.
    pub kind: ResourceKind,
    /// The identifier as the event gives it: a secret name, partial ARN or ARN; a key id or ARN.
    pub resource_id: String,
    /// The region the call was made in (`awsRegion`).
    pub region: String,
    /// The account the resource lives in: the ARN's, else the record's `recipientAccountId`.
    pub account: Option<String>,
    /// The event it came from.
    pub event: EventInfo,
    /// The tags the call itself set (`requestParameters.tags`), when it set any: what a
    /// trusted principal's change may have remembered, and nothing else.
    pub requested: Tags,
    /// The tag keys the call itself removed (`requestParameters.tagKeys`): a trusted
    /// principal's removal of an exemption revokes its record, whatever the resource carries by
    /// the time the event is read.
    pub removed: Vec<String>,
}

/// A well-formed event that needs no action, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// Why nothing is done.
    pub reason: String,
    /// The kind, when the event is about a governed resource.
    pub kind: Option<ResourceKind>,
    /// The resource identifier, when the event names one.
    pub resource_id: Option<String>,
    /// The region, when known.
    pub region: Option<String>,
    /// The event it came from.
    pub event: EventInfo,
}

/// A scheduled request to sweep every resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRequest {
    /// The region of the schedule rule, when the envelope names it.
    pub region: Option<String>,
    /// The schedule rule ARNs from the envelope's `resources`.
    pub rules: Vec<String>,
}

/// One item of work found in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// Check and remediate one resource.
    Trigger(Trigger),
    /// Nothing to do, for a stated reason.
    Ignored(Ignored),
    /// Sweep every resource (a scheduled event).
    Sweep(SweepRequest),
    /// A change by a trusted principal (`TAG_WARDEN_IGNORE_PRINCIPALS`, with memory
    /// configured): not enforced, but what it set is remembered. The text says who.
    Trusted(Trigger, String),
    /// Sweep one account in one region (a message of an organization's fanned-out sweep).
    Cell(CellWork),
}

/// Why an event could not be taken in. Messages name what is missing, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// The payload is JSON but none of the accepted event shapes.
    #[error("not an event: expected an EventBridge envelope (`detail-type` and `detail`), a CloudTrail record (`eventSource` and `eventName`) or a CloudTrail log file (`Records`); {found}")]
    NotAnEvent {
        /// What was found instead.
        found: String,
    },
    /// The bytes are not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// A supported event lacks the field that identifies its resource or region.
    #[error("{event} record{id} has no {field}")]
    MissingField {
        /// `source EventName`, e.g. `secretsmanager TagResource`.
        event: String,
        /// ` eventID`, or empty.
        id: String,
        /// The field(s) looked for.
        field: String,
    },
    /// The field identifying the resource is longer than AWS allows for any identifier.
    #[error("{event} record{id} has a {field} of {chars} characters; AWS identifiers are at most {max}")]
    TooLong {
        /// `source EventName`.
        event: String,
        /// ` eventID`, or empty.
        id: String,
        /// The field.
        field: String,
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A log file with more records than one invocation takes.
    #[error("a CloudTrail log file of {count} records is more than the {max} one invocation takes: split it")]
    TooManyRecords {
        /// Records in the file.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An element of `Records` is not a JSON object.
    #[error("Records[{index}] is not a JSON object")]
    BadRecord {
        /// Position in `Records`.
        index: usize,
    },
}

impl IntakeError {
    /// The fixed, searchable type of this failure.
    pub fn error_type(&self) -> ErrorType {
        match self {
            IntakeError::NotJson(_) => ErrorType::NotJson,
            IntakeError::TooManyRecords { .. } => ErrorType::TooManyRecords,
            IntakeError::NotAnEvent { .. } | IntakeError::BadRecord { .. } => ErrorType::NotAnEvent,
            IntakeError::MissingField { .. } => ErrorType::MissingField,
            IntakeError::TooLong { .. } => ErrorType::BadField,
        }
    }
}

/// Settings intake needs to recognise the function's own calls and trusted principals. Each
/// rests on what AWS records of the caller (the issuer role's ARN, the account), never on a
/// session name.
#[derive(Debug, Clone, Default)]
pub struct IntakeOptions {
    /// Who tag-warden runs as (GetCallerIdentity): a session issued by that role in that
    /// account is the function itself. Unknown (offline, or STS unreachable): nothing is taken
    /// for its own call, so everything is judged.
    pub own: Option<Identity>,
    /// ARN globs (`*`, `?`) of trusted principals, matched against the issuer role's ARN or an
    /// IAM user's ARN ([`crate::domain::Actor::principal`]); their events are not enforced.
    pub ignore_principals: Vec<crate::engine::policy::Glob>,
    /// The member role (`TAG_WARDEN_MEMBER_ROLE`, `path/name`): a session issued by exactly
    /// `arn:PARTITION:iam::ACCOUNT:role/path/name`, in the account the call was made in, is
    /// tag-warden's own call there.
    pub member_role: Option<String>,
    /// The member accounts governed (`TAG_WARDEN_ACCOUNTS`), when known: the member role is
    /// tag-warden's own only in those. `None`: not known here (the organization's, listed
    /// later); the handler refuses an event of any account not governed in any case.
    pub member_accounts: Option<Vec<String>>,
    /// Whether a trusted principal's change is remembered (memory is configured) rather than
    /// only ignored.
    pub remember_trusted: bool,
}

/// Parses raw bytes (the CLI's input) as JSON; the error names the position, never the content.
pub fn parse_json(bytes: &[u8]) -> Result<Value, IntakeError> {
    serde_json::from_slice(bytes).map_err(|e| IntakeError::NotJson(syntax_only(&e)))
}

/// Parses raw bytes (the CLI's input) and takes in the event.
pub fn intake_bytes(bytes: &[u8], opts: &IntakeOptions) -> Result<Vec<ItemResult>, IntakeError> {
    intake(&parse_json(bytes)?, opts)
}

/// The result for one record: an item, or the reason it could not be taken in.
pub type ItemResult = Result<Intake, IntakeError>;

/// Takes in one event payload. A payload of no accepted shape is an error; a log file yields
/// one result per record, so one bad record does not hide the others.
pub fn intake(value: &Value, opts: &IntakeOptions) -> Result<Vec<ItemResult>, IntakeError> {
    let Some(obj) = value.as_object() else {
        return Err(IntakeError::NotAnEvent {
            found: format!("found a JSON {}", json_type(value)),
        });
    };
    if let (Some(detail_type), Some(detail)) = (obj.get("detail-type"), obj.get("detail")) {
        return Ok(vec![envelope(value, detail_type, detail, opts)]);
    }
    if let Some(records) = obj.get("Records") {
        let Some(records) = records.as_array() else {
            return Err(IntakeError::NotAnEvent {
                found: "found `Records` that is not an array".into(),
            });
        };
        if records.len() > MAX_RECORDS {
            return Err(IntakeError::TooManyRecords {
                count: records.len(),
                max: MAX_RECORDS,
            });
        }
        if sqs::is_sqs(records) {
            return Ok(records.iter().enumerate().map(|(i, r)| Ok(sqs::take(r, i))).collect());
        }
        return Ok(records
            .iter()
            .enumerate()
            .map(|(index, r)| {
                if r.is_object() {
                    record::take(r, None, opts)
                } else {
                    Err(IntakeError::BadRecord { index })
                }
            })
            .collect());
    }
    if obj.contains_key("eventSource") && obj.contains_key("eventName") {
        return Ok(vec![record::take(value, None, opts)]);
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
    keys.sort_unstable();
    Err(IntakeError::NotAnEvent {
        found: format!("found an object with keys [{}]", keys.join(", ")),
    })
}

/// The most records one log file may carry (CloudTrail writes files of a few thousand).
pub const MAX_RECORDS: usize = 10_000;

const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
const SCHEDULED_DETAIL_TYPE: &str = "Scheduled Event";

fn envelope(value: &Value, detail_type: &Value, detail: &Value, opts: &IntakeOptions) -> ItemResult {
    let source = value.get("source").and_then(Value::as_str);
    let region = value.get("region").and_then(Value::as_str);
    match detail_type.as_str() {
        Some(CLOUDTRAIL_DETAIL_TYPE) if detail.is_object() => record::take(detail, region, opts),
        Some(CLOUDTRAIL_DETAIL_TYPE) => Err(IntakeError::NotAnEvent {
            found: "found a CloudTrail envelope whose `detail` is not an object".into(),
        }),
        Some(TAG_CHANGE_DETAIL_TYPE) if source == Some(TAG_SOURCE) => tag_change::take(value, detail),
        Some(SCHEDULED_DETAIL_TYPE) if source == Some("aws.events") => Ok(Intake::Sweep(SweepRequest {
            region: region.map(str::to_owned),
            rules: value
                .get("resources")
                .and_then(Value::as_array)
                .map(|rs| rs.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        })),
        other => Ok(Intake::Ignored(Ignored {
            reason: format!(
                "EventBridge detail-type {} from {} is not handled",
                other.map_or_else(|| "(not a string)".to_owned(), |s| format!("`{s}`")),
                source.map_or_else(|| "(no source)".to_owned(), |s| format!("`{s}`")),
            ),
            kind: None,
            resource_id: None,
            region: region.map(str::to_owned),
            event: EventInfo::default(),
        })),
    }
}

/// serde_json's message with its position; it never quotes the input's content.
fn syntax_only(e: &serde_json::Error) -> String {
    format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests;
