//! A failed AWS call as tag-warden's decisions see it: its kind kept (not flattened into a
//! string) so that outcomes and retries can depend on it. Adapters build these from SDK errors.

use serde::Serialize;

/// What kind of failure, as far as tag-warden's decisions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorKind {
    /// The resource does not exist (any more).
    NotFound,
    /// The resource's state refuses the call (secret scheduled for deletion or service-owned;
    /// key pending deletion).
    InvalidState,
    /// The caller may not do this (IAM, key policy, or ABAC on the tag being changed).
    AccessDenied,
    /// Throttled, after the SDK's own retries.
    Throttled,
    /// A 5xx, a timeout or a connection failure, after the SDK's own retries.
    Transient,
    /// Anything else (validation errors, unexpected responses).
    Other,
}

impl ErrorKind {
    /// The name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::InvalidState => "InvalidState",
            ErrorKind::AccessDenied => "AccessDenied",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::Transient => "Transient",
            ErrorKind::Other => "Other",
        }
    }
}

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on `{resource}` failed: {code}: {message}")]
pub struct ApiError {
    /// The API operation, e.g. `secretsmanager:TagResource`.
    pub operation: &'static str,
    /// The resource as addressed.
    pub resource: String,
    /// The classification.
    pub kind: ErrorKind,
    /// AWS's error code (or the SDK's failure class).
    pub code: String,
    /// AWS's message (never contains secret values: tag-warden reads no secret values).
    pub message: String,
}

impl ApiError {
    /// Whether this is AssumeRole of the member role answered AccessDenied: the role is not
    /// there (IAM answers a missing role so) or does not trust tag-warden. A configuration
    /// fact about the account ("not enrolled"), which retrying does not change.
    pub fn not_enrolled(&self) -> bool {
        self.operation == "sts:AssumeRole" && self.kind == ErrorKind::AccessDenied
    }
}
