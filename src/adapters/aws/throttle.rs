//! Counts the throttled attempts a client sees, the SDK's own retries included, so that a
//! sweep's pacer can slow down as soon as AWS says so (another tool may share the quota).

use crate::domain::ErrorKind;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Throttled attempts seen by the clients that share it.
#[derive(Debug, Clone, Default)]
pub struct Throttles(Arc<AtomicU64>);

impl Throttles {
    /// Throttled attempts so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The interceptor: after each attempt, a throttling answer (HTTP 429, or a throttling error
/// code in the JSON protocols' `__type` / `x-amzn-ErrorType`) adds one.
#[derive(Debug, Clone)]
pub struct ThrottleWatch(pub Throttles);

impl Intercept for ThrottleWatch {
    fn name(&self) -> &'static str {
        "tag-warden throttle watch"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response() {
            let status = response.status().as_u16();
            let header = response.headers().get("x-amzn-errortype");
            let body = response.body().bytes();
            if status == 429 || (status == 400 && is_throttling(header, body)) {
                (self.0).0.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// Whether an error response names a throttling error.
fn is_throttling(header: Option<&str>, body: Option<&[u8]>) -> bool {
    let code = header.map(|h| h.split(':').next().unwrap_or(h).to_owned()).or_else(|| {
        let value: serde_json::Value = serde_json::from_slice(body?).ok()?;
        let t = value.get("__type").or_else(|| value.get("code"))?.as_str()?;
        Some(t.rsplit('#').next().unwrap_or(t).to_owned())
    });
    code.is_some_and(|c| super::error::kind_of(&c, Some(400)) == ErrorKind::Throttled)
}

#[cfg(test)]
mod tests {
    use super::is_throttling;

    #[test]
    fn throttling_is_read_from_the_header_or_the_json_type() {
        assert!(is_throttling(
            Some("ThrottlingException:http://internal.amazon.com/"),
            None
        ));
        assert!(is_throttling(
            None,
            Some(br#"{"__type":"com.amazonaws.kms#ThrottlingException","message":"x"}"#)
        ));
        assert!(is_throttling(None, Some(br#"{"__type":"ThrottlingException"}"#)));
        assert!(!is_throttling(None, Some(br#"{"__type":"AccessDeniedException"}"#)));
        assert!(!is_throttling(None, Some(b"not json")));
        assert!(!is_throttling(None, None));
    }
}
