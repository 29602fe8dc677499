//! The entries the handler makes of what is not a judged resource (an ignored event, a record
//! that could not be taken in, an account that cannot be reached), and the latency and throttle
//! counts it adds to the entries it makes.

use crate::domain::{ApiError, ErrorType, Outcome, ResourceContext};
use crate::engine::decide::Decision;
use crate::engine::intake::{Ignored, IntakeError};
use crate::ports::TagStore;
use crate::run::outputs::Outputs;
use crate::view::report::ResourceReport;

/// The entry with its latency: from the event's time to now, the decision.
pub(super) fn latency(mut entry: ResourceReport) -> ResourceReport {
    entry.latency_ms = entry
        .event
        .time
        .as_deref()
        .and_then(crate::domain::parse_utc_time)
        .map(|at| crate::run::resource::now_ms().saturating_sub(at));
    entry
}

/// `work` on `store`, its throttled attempts (the SDK's retries included) counted as a sweep's
/// are: the store's count before and after.
pub(super) async fn counting<S: TagStore, T>(store: S, outputs: &Outputs<'_>, work: impl AsyncFnOnce(&S) -> T) -> T {
    let before = store.throttled();
    let out = work(&store).await;
    outputs.throttled(store.throttled().saturating_sub(before));
    out
}

/// The entry of a resource in an account that cannot be reached (its member role not assumed).
/// AccessDenied is a configuration fact, the account not enrolled (reported, with a finding,
/// and not retried: retrying does not deploy the member stack); any other failure is an error,
/// so that the event is retried and, failing that, reaches the failure queue.
pub(super) fn unreached(ctx: ResourceContext, id: &str, e: &ApiError) -> ResourceReport {
    if let (true, Some(account)) = (e.not_enrolled(), ctx.account.as_deref()) {
        let mut entry = ResourceReport::not_enrolled(account, &e.to_string());
        entry.kind = Some(ctx.kind);
        entry.resource_id = Some(id.to_owned());
        entry.region = ctx.region;
        entry.event = ctx.event.unwrap_or_default();
        return entry;
    }
    let mut entry = ResourceReport::judged(ctx, Some(id), None, Decision::failed(e));
    entry.outcome = Outcome::Error;
    entry.error_type = Some(ErrorType::from(e.kind));
    entry.reasons = vec![format!("cannot reach the resource's account: {e}")];
    entry
}

/// The entry of a sweep whose accounts could not be listed or whose cells could not be sent.
pub(super) fn accounts_failed(e: &ApiError) -> ResourceReport {
    error_entry(ErrorType::from(e.kind), format!("the sweep did not start: {e}"))
}

/// The entry for a record that could not be taken in; it fails the invocation.
pub(super) fn bad_item(e: &IntakeError) -> ResourceReport {
    error_entry(e.error_type(), e.to_string())
}

/// An entry that failed, with its error type and why (no resource named).
pub(super) fn error_entry(error_type: ErrorType, why: String) -> ResourceReport {
    let mut r = ResourceReport::new(Outcome::Error);
    r.error_type = Some(error_type);
    r.reasons.push(why);
    r
}

/// The entry for an event that needs no action.
pub(super) fn ignored(i: Ignored) -> ResourceReport {
    let mut r = ResourceReport::new(Outcome::Ignored);
    r.kind = i.kind;
    r.resource_id = i.resource_id;
    r.region = i.region;
    r.event = i.event;
    r.reasons.push(i.reason);
    r
}
