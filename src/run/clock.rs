//! Time for the runners (a leaf: it imports nothing of the crate): the observation time of a
//! read about to be issued, and when a sweep stops starting new resources, before the
//! invocation's deadline, keeping time back for the work in flight and the report.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch now: the observation time of a read about to be issued.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The most time kept back from an invocation's deadline: a resource in flight makes at most
/// two writes, each retried with backoff.
pub const MAX_MARGIN: Duration = Duration::from_secs(15);

/// When to stop starting new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    cutoff: Option<Instant>,
}

impl Deadline {
    /// No deadline (the CLI).
    pub const NONE: Deadline = Deadline { cutoff: None };

    /// Stop starting work `margin` before `deadline`, so that work in flight can finish.
    pub fn before(deadline: Instant, margin: Duration) -> Self {
        Deadline {
            cutoff: Some(deadline.checked_sub(margin).unwrap_or(deadline)),
        }
    }

    /// For an invocation with `left` to run from `now`: keep back [`MAX_MARGIN`] for work in
    /// flight and the report, but never more than a fifth of the time, so that short timeouts
    /// still sweep.
    pub fn for_invocation(now: Instant, left: Duration) -> Self {
        Deadline::before(now + left, MAX_MARGIN.min(left / 5))
    }

    /// From the Runtime API's `Lambda-Runtime-Deadline-Ms`: milliseconds since the epoch from
    /// Lambda; local emulators (cargo lambda watch) send the time remaining instead, so a value
    /// before 2001 is read that way.
    pub fn from_runtime(deadline_ms: u64, now: SystemTime, now_instant: Instant) -> Self {
        const EPOCH_2001_MS: u64 = 978_307_200_000;
        let left = if deadline_ms < EPOCH_2001_MS {
            Duration::from_millis(deadline_ms)
        } else {
            (UNIX_EPOCH + Duration::from_millis(deadline_ms))
                .duration_since(now)
                .unwrap_or(Duration::ZERO)
        };
        Deadline::for_invocation(now_instant, left)
    }

    /// Whether there is a deadline at all.
    pub fn is_bounded(&self) -> bool {
        self.cutoff.is_some()
    }

    /// Whether a new resource may be started at `now`.
    pub fn allows_start(&self, now: Instant) -> bool {
        self.cutoff.is_none_or(|c| now < c)
    }
}
