//! The apply layer's error: an AWS call that failed, with its kind kept (not flattened into a
//! string) so that outcomes and retries can depend on it.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
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
    /// The fixed, searchable name used as the report's `error_type`.
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

    /// Classifies an AWS error code (and HTTP status) from either service.
    pub fn of(code: &str, status: Option<u16>) -> Self {
        match code {
            "ResourceNotFoundException" | "NotFoundException" => ErrorKind::NotFound,
            "InvalidRequestException" | "KMSInvalidStateException" => ErrorKind::InvalidState,
            "AccessDeniedException" | "AccessDenied" => ErrorKind::AccessDenied,
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                ErrorKind::Throttled
            }
            "InternalServiceError" | "KMSInternalException" | "ServiceUnavailable" | "InternalFailure" => {
                ErrorKind::Transient
            }
            _ if status.is_some_and(|s| s >= 500) => ErrorKind::Transient,
            _ if status == Some(429) => ErrorKind::Throttled,
            _ => ErrorKind::Other,
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
    /// Builds an error from an SDK failure, keeping its kind: `typed` classifies the
    /// operation's modeled error variants; unmodeled ones fall back to the error code.
    pub fn from_sdk<E>(
        operation: &'static str,
        resource: &str,
        err: SdkError<E, HttpResponse>,
        typed: impl Fn(&E) -> Option<(ErrorKind, &'static str)>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (kind, code, message) = match &err {
            SdkError::ServiceError(se) => {
                let status = se.raw().status().as_u16();
                let message = se.err().message().unwrap_or("").to_owned();
                match (typed(se.err()), se.err().code()) {
                    (Some((kind, name)), code) => (kind, code.unwrap_or(name).to_owned(), message),
                    (None, code) => {
                        let code = code.unwrap_or("Unknown").to_owned();
                        (ErrorKind::of(&code, Some(status)), code, message)
                    }
                }
            }
            SdkError::TimeoutError(_) => (
                ErrorKind::Transient,
                "Timeout".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
            SdkError::DispatchFailure(_) => (
                ErrorKind::Transient,
                "DispatchFailure".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
            SdkError::ResponseError(_) => (
                ErrorKind::Transient,
                "ResponseError".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
            _ => (
                ErrorKind::Other,
                "SdkError".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
        };
        ApiError {
            operation,
            resource: resource.to_owned(),
            kind,
            code,
            message,
        }
    }
}
