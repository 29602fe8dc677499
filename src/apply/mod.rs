//! Apply stage: read a resource's current state and carry out a [`Plan`] through a small
//! trait in domain words ([`TagStore`]); the AWS adapters live in their own modules.

mod aws;
mod error;
mod kms;
mod secrets;

pub use aws::{retry_config, timeout_config, AwsBackend, ATTEMPT_TIMEOUT, RETRY_MAX_ATTEMPTS};
pub use error::{ApiError, ErrorKind};
pub use kms::KmsStore;
pub use secrets::SecretsStore;

use crate::evaluate::{evaluate, Plan};
use crate::model::{Mode, ResourceKind, Tags, EXEMPT_TAG};
use crate::policy::Policy;
use crate::report::{Outcome, ResourceReport};
use std::future::Future;

/// A resource as read from AWS just now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceState {
    /// The canonical ARN (what writes are addressed to).
    pub arn: String,
    /// Every tag, `aws:` ones included.
    pub tags: Tags,
    /// Why the resource must not be written to, if so (deleted, service- or AWS-managed,
    /// pending deletion).
    pub skip: Option<String>,
}

/// Reads and writes one kind of resource's tags.
pub trait TagStore {
    /// Reads the current state; `id` may be anything the service accepts (name, ARN, key id).
    fn read(&self, id: &str) -> impl Future<Output = Result<ResourceState, ApiError>> + Send;
    /// Removes `keys` (one call).
    fn untag(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Adds or overwrites `tags` (one call).
    fn tag(&self, arn: &str, tags: &Tags) -> impl Future<Output = Result<(), ApiError>> + Send;
}

impl<T: TagStore + Sync + Send> TagStore for std::sync::Arc<T> {
    fn read(&self, id: &str) -> impl Future<Output = Result<ResourceState, ApiError>> + Send {
        T::read(self, id)
    }
    fn untag(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send {
        T::untag(self, arn, keys)
    }
    fn tag(&self, arn: &str, tags: &Tags) -> impl Future<Output = Result<(), ApiError>> + Send {
        T::tag(self, arn, tags)
    }
}

/// A resource as a listing shows it, for the reconcile sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The canonical ARN.
    pub arn: String,
    /// Its tags when the listing carries them (ListSecrets does; ListKeys does not).
    pub tags: Option<Tags>,
    /// Why it must not be written to, when the listing already tells.
    pub skip: Option<String>,
}

/// Lists one kind of resource in a region, at the API floor.
pub trait Inventory {
    /// Every resource of this kind (every page).
    fn list(&self) -> impl Future<Output = Result<Vec<Listed>, ApiError>> + Send;
    /// The current tags of a listed resource whose listing lacks them.
    fn tags(&self, arn: &str) -> impl Future<Output = Result<Tags, ApiError>> + Send;
    /// Checked only before writing: why the resource must not be written to now, if so.
    fn write_guard(&self, arn: &str) -> impl Future<Output = Result<Option<String>, ApiError>> + Send;
}

impl<T: Inventory + Sync + Send> Inventory for std::sync::Arc<T> {
    fn list(&self) -> impl Future<Output = Result<Vec<Listed>, ApiError>> + Send {
        T::list(self)
    }
    fn tags(&self, arn: &str) -> impl Future<Output = Result<Tags, ApiError>> + Send {
        T::tags(self, arn)
    }
    fn write_guard(&self, arn: &str) -> impl Future<Output = Result<Option<String>, ApiError>> + Send {
        T::write_guard(self, arn)
    }
}

/// Hands out a store per kind and region.
pub trait Backend: Send + Sync {
    /// The store for secrets.
    type Secrets: TagStore + Inventory + Send + Sync;
    /// The store for KMS keys.
    type Keys: TagStore + Inventory + Send + Sync;
    /// The secrets store for `region`.
    fn secrets(&self, region: &str) -> Self::Secrets;
    /// The KMS store for `region`.
    fn keys(&self, region: &str) -> Self::Keys;
}

/// Reads the resource, evaluates it and, in enforce mode, writes the plan: untag, then tag.
/// Every failure becomes an outcome in the returned entry; nothing is swallowed.
pub async fn enforce<S: TagStore>(
    store: &S,
    policy: &Policy,
    mode: Mode,
    kind: ResourceKind,
    id: &str,
) -> ResourceReport {
    let mut report = ResourceReport::new(Outcome::Compliant);
    report.kind = Some(kind);
    report.resource_id = Some(id.to_owned());
    match store.read(id).await {
        Ok(state) => apply_state(store, policy, mode, kind, state, report).await,
        Err(e) => {
            failed(&mut report, &e);
            report
        }
    }
}

/// Evaluates an already-read state and, in enforce mode, writes the plan.
pub async fn apply_state<S: TagStore>(
    store: &S,
    policy: &Policy,
    mode: Mode,
    kind: ResourceKind,
    state: ResourceState,
    mut report: ResourceReport,
) -> ResourceReport {
    if let Some(plan) = assess(policy, mode, kind, &state, &mut report) {
        remediate(store, &state.arn, &plan, &mut report).await;
    }
    report
}

/// Writes an assessed plan (untag, then tag) and settles the entry's outcome: remediated, a
/// violation when unfixable findings remain, or what a failed call maps to.
pub async fn remediate<S: TagStore>(store: &S, arn: &str, plan: &Plan, report: &mut ResourceReport) {
    let violation = report.findings.iter().any(|f| !f.is_fixed());
    report.outcome = Outcome::Compliant;
    write_plan(store, arn, plan, report).await;
    report.outcome = match report.outcome {
        Outcome::Compliant if violation => Outcome::Violation,
        Outcome::Compliant => Outcome::Remediated,
        other => other,
    };
}

/// The pure part of [`apply_state`]: fills the entry from the evaluation and returns the
/// plan to write, which exists only in enforce mode when something needs writing.
pub fn assess(
    policy: &Policy,
    mode: Mode,
    kind: ResourceKind,
    state: &ResourceState,
    report: &mut ResourceReport,
) -> Option<Plan> {
    report.kind = Some(kind);
    report.arn = Some(state.arn.clone());
    if let Some(why) = &state.skip {
        report.outcome = Outcome::Skipped;
        report.reasons.push(why.clone());
        return None;
    }
    let eval = evaluate(policy, kind, &state.tags);
    if eval.exempt {
        report.outcome = Outcome::Exempt;
        report.reasons.push(format!("carries `{EXEMPT_TAG}` = `true`"));
        return None;
    }
    report.reasons = eval.findings.iter().map(|f| f.reason()).collect();
    report.outcome = match (eval.plan.is_empty(), mode) {
        (true, _) if eval.has_violations() => Outcome::Violation,
        (true, _) => Outcome::Compliant,
        (false, Mode::Report) => Outcome::WouldRemediate,
        (false, Mode::Enforce) => Outcome::Remediated,
    };
    report.findings = eval.findings;
    report.plan = eval.plan.clone();
    (report.outcome == Outcome::Remediated).then_some(eval.plan)
}

/// Writes untag then tag; on the first failure records it (with what was already written)
/// and stops.
async fn write_plan<S: TagStore>(store: &S, arn: &str, plan: &Plan, report: &mut ResourceReport) {
    if !plan.untag.is_empty() {
        if let Err(e) = store.untag(arn, &plan.untag).await {
            failed(report, &e);
            return;
        }
        report.keys_removed = plan.untag.clone();
    }
    if !plan.tag.is_empty() {
        if let Err(e) = store.tag(arn, &plan.tag).await {
            failed(report, &e);
            if !report.keys_removed.is_empty() {
                report
                    .reasons
                    .push("partially applied: the untag succeeded, the tag did not".to_owned());
            }
            return;
        }
        report.tags_added = plan.tag.clone();
    }
}

/// Records an AWS failure in the entry: gone or in a state that refuses tagging →
/// skipped; access denied → a violation (retrying will not help); anything else → error, so
/// that the invocation fails and is retried.
pub fn failed(report: &mut ResourceReport, e: &ApiError) {
    let (outcome, why) = match e.kind {
        ErrorKind::NotFound => (Outcome::Skipped, format!("the resource no longer exists ({e})")),
        ErrorKind::InvalidState => (
            Outcome::Skipped,
            format!("the resource refuses tag changes in its current state ({e})"),
        ),
        ErrorKind::AccessDenied => (Outcome::Violation, format!("access denied ({e})")),
        ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Other => (Outcome::Error, e.to_string()),
    };
    report.outcome = outcome;
    report.reasons.push(why);
    if outcome == Outcome::Error {
        report.error_type = Some(e.kind.as_str().to_owned());
    }
}

#[cfg(test)]
pub(crate) mod tests;
