//! Client-side write pacing, below the services' quotas: a [`Rate`] (validated here and only
//! here), a [`RateLimiter`] that spaces calls evenly, and [`RateLimited`], which applies
//! limiters to a store's writes (reads are not limited).

use crate::domain::{ApiError, Tags};
use crate::ports::{Inventory, ListedPage, ResourceState, TagStore};
use futures_util::Stream;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Calls a second: positive and finite, by construction.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// The default pace of Secrets Manager TagResource + UntagResource together, per region
    /// (the quota is 50 TPS, shared).
    pub const SECRETS_WRITE_DEFAULT: Rate = Rate(40.0);
    /// The default pace of KMS TagResource, and separately of UntagResource, per region (the
    /// quota is about 5 rps each).
    pub const KMS_WRITE_DEFAULT: Rate = Rate(4.0);

    /// `per_second` when it is a positive, finite number.
    pub fn new(per_second: f64) -> Option<Rate> {
        (per_second.is_finite() && per_second > 0.0).then_some(Rate(per_second))
    }

    /// Parses a setting's text (`40`, `0.5`).
    pub fn parse(text: &str) -> Option<Rate> {
        text.trim().parse().ok().and_then(Rate::new)
    }

    /// Calls a second.
    pub fn per_second(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

/// Spaces acquisitions `1 / rate` apart (no bursts), shared by every task that holds it.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter of `rate` calls a second.
    pub fn per_second(rate: Rate) -> Self {
        RateLimiter::every(Duration::from_secs_f64(1.0 / rate.per_second()))
    }

    /// A limiter of one call every `interval`.
    pub fn every(interval: Duration) -> Self {
        RateLimiter {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// A store whose untag and tag calls wait for their limiters (the same one when the service
/// counts both against one quota, as Secrets Manager does).
#[derive(Debug, Clone)]
pub struct RateLimited<S> {
    inner: S,
    untag: Arc<RateLimiter>,
    tag: Arc<RateLimiter>,
}

impl<S> RateLimited<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, untag: Arc<RateLimiter>, tag: Arc<RateLimiter>) -> Self {
        RateLimited { inner, untag, tag }
    }
}

impl<S: TagStore + Sync> TagStore for RateLimited<S> {
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        self.inner.read(id).await
    }
    async fn write_guard(&self, arn: &str) -> Result<Option<String>, ApiError> {
        self.inner.write_guard(arn).await
    }
    async fn aliases(&self, arn: &str) -> Result<Vec<String>, ApiError> {
        self.inner.aliases(arn).await
    }
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.untag.acquire().await;
        self.inner.untag(arn, keys).await
    }
    async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), ApiError> {
        self.tag.acquire().await;
        self.inner.tag(arn, tags).await
    }
}

impl<S: Inventory + Sync> Inventory for RateLimited<S> {
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_ {
        self.inner.pages()
    }
    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        self.inner.tags(arn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_finite_rates_make_a_limiter() {
        assert!(Rate::new(0.0).is_none());
        assert!(Rate::new(-1.0).is_none());
        assert!(Rate::new(f64::NAN).is_none());
        assert!(Rate::new(f64::INFINITY).is_none());
        assert!(Rate::new(0.5).is_some());
        assert_eq!(Rate::parse(" 40 ").map(Rate::per_second), Some(40.0));
        for bad in ["0", "-3", "fast", "NaN", "inf", ""] {
            assert!(Rate::parse(bad).is_none(), "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_at_the_rate_across_concurrent_tasks() {
        let limiter = Arc::new(RateLimiter::per_second(Rate::new(5.0).unwrap()));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let limiter = Arc::clone(&limiter);
            tasks.push(tokio::spawn(async move {
                limiter.acquire().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap() - start);
        }
        times.sort();
        // 10 calls at 5/s: the first at once, the last 9 × 200 ms later.
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(times[9], Duration::from_millis(1800));
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(200));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_limiter_does_not_save_up_a_burst() {
        let limiter = RateLimiter::per_second(Rate::new(2.0).unwrap());
        limiter.acquire().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(500));
    }
}
