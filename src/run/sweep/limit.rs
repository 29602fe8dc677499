//! Client-side write pacing at the services' quotas, per cell: a [`Rate`] (validated in
//! `config`), a [`RateLimiter`] that spaces calls evenly at a rate that halves when AWS
//! throttles and climbs back as calls succeed (other tools share the account's quota), and
//! [`RateLimited`], which applies limiters to a store's writes (reads are not limited).
//!
//! Why our own and not only the SDK's adaptive retry mode (`RetryConfig::adaptive()`): the
//! SDK's client rate limiter starts unlimited and only slows down after throttled calls, so a
//! sweep with 16 resources at once against KMS's 5 calls a second is throttled on every
//! burst. This limiter never exceeds the quota in the first place; it only needs to react to
//! others' calls, and it hears of every throttled attempt (the SDK's retries included) through
//! [`TagStore::throttled`].

use crate::config::{Rate, SweepSettings};
use crate::domain::{ApiError, ErrorKind, Refusal, ResourceKind, Tags};
use crate::kinds::{Service, WriteQuota};
use crate::ports::{Inventory, ListedPage, ResourceState, TagStore};
use futures_util::Stream;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The lowest the rate goes, as a fraction of the ceiling.
const FLOOR: f64 = 1.0 / 32.0;
/// What each success adds back, as a fraction of the ceiling: from half the ceiling back to
/// all of it in 25 calls.
const STEP: f64 = 1.0 / 50.0;

#[derive(Debug)]
struct State {
    rate: f64,
    next: Option<Instant>,
    /// When the rate was last cut: throttles within one interval of it come from the same
    /// burst and cut it once.
    last_cut: Option<Instant>,
}

/// Spaces acquisitions `1 / rate` apart (no bursts), shared by every task that holds it. The
/// rate starts at the ceiling, halves (once per burst) when a call is throttled, and climbs
/// back by a fiftieth of the ceiling per successful call.
#[derive(Debug)]
pub struct RateLimiter {
    ceiling: f64,
    state: Mutex<State>,
}

impl RateLimiter {
    /// A limiter of at most `rate` calls a second.
    pub fn per_second(rate: Rate) -> Self {
        RateLimiter {
            ceiling: rate.per_second(),
            state: Mutex::new(State {
                rate: rate.per_second(),
                next: None,
                last_cut: None,
            }),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut state = self.state.lock().await;
            let now = Instant::now();
            let slot = state.next.map_or(now, |n| n.max(now));
            state.next = Some(slot + Duration::from_secs_f64(1.0 / state.rate));
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// AWS throttled a call: halve the rate (once per burst) and hold the next slot back.
    pub async fn throttled(&self) {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / state.rate);
        if state
            .last_cut
            .is_some_and(|t| now < t + interval.max(Duration::from_secs(1)))
        {
            return;
        }
        state.rate = (state.rate / 2.0).max(self.ceiling * FLOOR);
        state.last_cut = Some(now);
        let pause = now + Duration::from_secs_f64(1.0 / state.rate);
        state.next = Some(state.next.map_or(pause, |n| n.max(pause)));
        tracing::debug!(rate = state.rate, "throttled: pacing slowed down");
    }

    /// A call went through: climb back toward the ceiling.
    pub async fn succeeded(&self) {
        let mut state = self.state.lock().await;
        state.rate = (state.rate + self.ceiling * STEP).min(self.ceiling);
    }

    /// The rate now, in calls a second.
    pub async fn rate(&self) -> f64 {
        self.state.lock().await.rate
    }
}

/// A store whose untag and tag calls wait for their limiters (the same one when the service
/// counts both against one quota, as Secrets Manager does), and tell them how each went.
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

impl<S: TagStore + Sync> RateLimited<S> {
    /// Tells `limiter` how a call went: throttled (any attempt of it, as the store counts, or
    /// its final answer) or through.
    async fn feedback(&self, limiter: &RateLimiter, throttled_before: u64, result: &Result<(), ApiError>) {
        let throttled =
            self.inner.throttled() > throttled_before || matches!(result, Err(e) if e.kind == ErrorKind::Throttled);
        if throttled {
            limiter.throttled().await;
        } else if result.is_ok() {
            limiter.succeeded().await;
        }
    }
}

impl<S: TagStore + Sync> TagStore for RateLimited<S> {
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        self.inner.read(id).await
    }
    async fn write_guard(&self, arn: &str) -> Result<Option<Refusal>, ApiError> {
        self.inner.write_guard(arn).await
    }
    async fn aliases(&self, arn: &str) -> Result<Vec<String>, ApiError> {
        self.inner.aliases(arn).await
    }
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.untag.acquire().await;
        let before = self.inner.throttled();
        let result = self.inner.untag(arn, keys).await;
        self.feedback(&self.untag, before, &result).await;
        result
    }
    async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), ApiError> {
        self.tag.acquire().await;
        let before = self.inner.throttled();
        let result = self.inner.tag(arn, tags).await;
        self.feedback(&self.tag, before, &result).await;
        result
    }
    fn throttled(&self) -> u64 {
        self.inner.throttled()
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

/// A service's write pace in one cell: one limiter for tag and untag when they share a
/// quota (Secrets Manager), one each when not (KMS).
pub(super) fn paces(settings: &SweepSettings, service: Service) -> (Arc<RateLimiter>, Arc<RateLimiter>) {
    let rate = settings.write_rps(service);
    let pace = Arc::new(RateLimiter::per_second(rate));
    match service.write_quota() {
        WriteQuota::Shared => (Arc::clone(&pace), pace),
        WriteQuota::PerOperation => (pace, Arc::new(RateLimiter::per_second(rate))),
    }
}

/// The throttled attempts the stores' clients have seen: one store per service (a service's
/// kinds share its client, and its count).
pub(super) fn throttled<S: TagStore + Sync>(stores: &[(ResourceKind, RateLimited<S>)]) -> u64 {
    let mut seen = Vec::new();
    let mut n = 0;
    for (kind, store) in stores {
        let service = kind.spec().service;
        if !seen.contains(&service) {
            seen.push(service);
            n += store.throttled();
        }
    }
    n
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
    async fn a_throttle_halves_the_rate_once_per_burst_and_successes_climb_back() {
        let limiter = RateLimiter::per_second(Rate::new(5.0).unwrap());
        limiter.acquire().await;
        // Three calls of one burst throttled: one cut, to 2.5/s, and the next slot held back.
        limiter.throttled().await;
        limiter.throttled().await;
        limiter.throttled().await;
        assert_eq!(limiter.rate().await, 2.5);
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(
            Instant::now() - start,
            Duration::from_millis(400) + Duration::from_millis(400)
        );
        // A throttle a while later is another burst: cut again.
        tokio::time::sleep(Duration::from_secs(2)).await;
        limiter.throttled().await;
        assert_eq!(limiter.rate().await, 1.25);
        // 50 × 0.1/s climbs back to the ceiling and no further.
        for _ in 0..50 {
            limiter.succeeded().await;
        }
        assert_eq!(limiter.rate().await, 5.0);
        // Never below a 32nd of the ceiling.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_secs(60)).await;
            limiter.throttled().await;
        }
        assert_eq!(limiter.rate().await, 5.0 / 32.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_saw_throttled_attempts_slows_its_limiter_and_successes_restore_it() {
        use crate::testing::FakeStore;
        let store = FakeStore::with("arn:1", &[]);
        let limiter = Arc::new(RateLimiter::per_second(Rate::new(50.0).unwrap()));
        let limited = RateLimited::new(store, Arc::clone(&limiter), Arc::clone(&limiter));
        let tags: Tags = [("Owner".to_owned(), "x".to_owned())].into();
        limited.tag("arn:1", &tags).await.unwrap();
        assert_eq!(limiter.rate().await, 50.0);
        // The SDK retried two throttled attempts before this call went through.
        limited
            .inner
            .throttles
            .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
        let before = limited.inner.throttled();
        limited.feedback(&limiter, before - 2, &Ok(())).await;
        assert_eq!(limiter.rate().await, 25.0);
        for _ in 0..25 {
            limited.tag("arn:1", &tags).await.unwrap();
        }
        assert_eq!(limiter.rate().await, 50.0);
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
