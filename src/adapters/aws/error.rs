//! The one classifier of SDK failures: an `SdkError` becomes the domain's [`ApiError`] with
//! its kind kept (throttled, not found, invalid state, access denied, transient).

use crate::domain::{ApiError, ErrorKind};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Classifies an AWS error code (and HTTP status) from any service: AWS's codes are the
/// adapters' business; the domain keeps only the kind.
pub fn kind_of(code: &str, status: Option<u16>) -> ErrorKind {
    match code {
        "ResourceNotFoundException" | "NotFoundException" => ErrorKind::NotFound,
        "InvalidRequestException" | "KMSInvalidStateException" => ErrorKind::InvalidState,
        "AccessDeniedException" | "AccessDenied" => ErrorKind::AccessDenied,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException" => ErrorKind::Throttled,
        "InternalServiceError" | "KMSInternalException" | "ServiceUnavailable" | "InternalFailure" => {
            ErrorKind::Transient
        }
        _ if status.is_some_and(|s| s >= 500) => ErrorKind::Transient,
        _ if status == Some(429) => ErrorKind::Throttled,
        _ => ErrorKind::Other,
    }
}

/// Builds an error from an SDK failure, keeping its kind: `typed` classifies the operation's
/// modeled error variants; unmodeled ones fall back to the error code.
pub fn from_sdk<E>(
    operation: &'static str,
    resource: &str,
    err: SdkError<E, HttpResponse>,
    typed: impl Fn(&E) -> Option<(ErrorKind, &'static str)>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let context = |err: &SdkError<E, HttpResponse>| DisplayErrorContext(err).to_string();
    let (kind, code, message) = match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let message = se.err().message().unwrap_or("").to_owned();
            match (typed(se.err()), se.err().code()) {
                (Some((kind, name)), code) => (kind, code.unwrap_or(name).to_owned(), message),
                (None, code) => {
                    let code = code.unwrap_or("Unknown").to_owned();
                    (kind_of(&code, Some(status)), code, message)
                }
            }
        }
        SdkError::TimeoutError(_) => (ErrorKind::Transient, "Timeout".to_owned(), context(&err)),
        SdkError::DispatchFailure(_) => (ErrorKind::Transient, "DispatchFailure".to_owned(), context(&err)),
        SdkError::ResponseError(_) => (ErrorKind::Transient, "ResponseError".to_owned(), context(&err)),
        _ => (ErrorKind::Other, "SdkError".to_owned(), context(&err)),
    };
    ApiError {
        operation,
        resource: resource.to_owned(),
        kind,
        code,
        message,
    }
}

/// An error tag-warden raises itself about a response or request it cannot use.
pub fn local(operation: &'static str, resource: &str, code: &str, message: String) -> ApiError {
    ApiError {
        operation,
        resource: resource.to_owned(),
        kind: ErrorKind::Other,
        code: code.to_owned(),
        message,
    }
}
