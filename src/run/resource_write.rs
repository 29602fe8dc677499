//! Carrying out a plan: untag, then tag; on the event path, a throttled write waited out and
//! retried while the invocation's time allows.

use crate::domain::{ApiError, ErrorKind};
use crate::engine::decide::Applied;
use crate::engine::evaluate::Plan;
use crate::ports::TagStore;
use crate::run::sweep::Deadline;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Carries out a plan: the write guard when `guard`, then untag, then tag, stopping at the
/// first failure. With `patience` (the event path), a throttled write is waited out and retried
/// while the deadline allows, each retry counted. Returns the facts; `decide` turns them into
/// an outcome.
pub(super) async fn write<S: TagStore>(
    store: &S,
    arn: &str,
    plan: &Plan,
    guard: bool,
    mut patience: Option<(Deadline, &mut u32)>,
) -> Applied {
    if guard {
        match store.write_guard(arn).await {
            Ok(None) => {}
            Ok(Some(why)) => return Applied::Refused(why),
            Err(e) => return Applied::CheckFailed(e),
        }
    }
    let untag = match plan.untag.is_empty() {
        true => None,
        false => Some(patiently(&mut patience, || store.untag(arn, &plan.untag)).await),
    };
    if matches!(untag, Some(Err(_))) {
        return Applied::Written { untag, tag: None };
    }
    let tag = match plan.tag.is_empty() {
        true => None,
        false => Some(patiently(&mut patience, || store.tag(arn, &plan.tag)).await),
    };
    Applied::Written { untag, tag }
}

/// The first wait before retrying a throttled write, doubled each time up to [`MAX_BACKOFF`],
/// with full jitter (a random wait up to that), so that many invocations throttled at once do
/// not come back at once.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest single wait.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Retries without a deadline (the CLI's `handle`): bounded, so that throttling that never ends
/// still ends the command.
pub const RETRIES_WITHOUT_DEADLINE: u32 = 3;

async fn patiently<T, F, Fut>(patience: &mut Option<(Deadline, &mut u32)>, call: F) -> Result<T, ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut round: u32 = 0;
    loop {
        let result = call().await;
        let Some((deadline, retries)) = patience.as_mut() else {
            return result;
        };
        match result {
            Err(e) if e.kind == ErrorKind::Throttled => {
                if !deadline.is_bounded() && round >= RETRIES_WITHOUT_DEADLINE {
                    return Err(e);
                }
                let cap = FIRST_BACKOFF.saturating_mul(1 << round.min(16)).min(MAX_BACKOFF);
                let wait = jitter(cap);
                if !deadline.allows_start(std::time::Instant::now() + wait) {
                    return Err(e);
                }
                tokio::time::sleep(wait).await;
                round += 1;
                **retries += 1;
            }
            other => return other,
        }
    }
}

/// A random duration up to `cap` (at least a tenth of it): xorshift over the clock and a
/// counter, which is all jitter needs.
pub(super) fn jitter(cap: Duration) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64)
        ^ STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    let mut x = seed | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    let cap_ms = cap.as_millis().max(1) as u64;
    Duration::from_millis(cap_ms / 10 + x % (cap_ms - cap_ms / 10).max(1))
}
