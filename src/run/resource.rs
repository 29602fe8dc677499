//! One resource, from its state to its report entry: recall what memory holds, evaluate it in
//! its context, carry out the plan when enforcing (untag, then tag), let the pure `decide`
//! step settle the outcome from what the writes did, and remember the valid values seen. The
//! event path and the sweep both end here.

use crate::domain::{ApiError, Date, ErrorKind, Mode, Outcome, Refusal, ResourceContext, Tags, EXEMPT_UNTIL_TAG};
use crate::engine::decide::{decide, writes_due, Applied, Decision};
use crate::engine::evaluate::{evaluate, Finding};
use crate::engine::policy::Policy;
use crate::engine::remember::{changes, names_to_keep, trusted_changes, Authority};
use crate::ports::{Grant, HistoryEntry, Memory, Place, Remembered, ResourceState, Stored, TagStore};
use crate::run::clock::Deadline;
use crate::view::report::{Contested, ResourceReport};
use std::time::Duration;

/// How long the memory of a resource found gone is kept before DynamoDB's TTL removes it
/// (long enough to outlive Secrets Manager's longest recovery window, 30 days).
pub const MEMORY_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// The undo by which a principal's repeated change is `contested` (the third).
pub const CONTESTED_AT: usize = 3;
/// The window in which repeated undos count.
pub const CONTESTED_WITHIN: Duration = Duration::from_secs(24 * 3600);

/// What the policy is applied with.
#[derive(Debug)]
pub struct Judge<'a, M> {
    /// The policy.
    pub policy: &'a Policy,
    /// Enforce (write) or report (write nothing).
    pub mode: Mode,
    /// Remembered values, when configured.
    pub memory: Option<&'a M>,
    /// On the event path, the invocation's deadline: a throttled write is waited out and
    /// retried (backoff with jitter) while it allows. `None`: the SDK's own retries only (the
    /// sweep paces its writes itself).
    pub patience: Option<Deadline>,
    /// Whether memory is written (what was seen, history, expiries); false for `handle
    /// --dry-run`, which reads memory and writes nothing at all.
    pub records: bool,
}

impl<M> Clone for Judge<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for Judge<'_, M> {}

/// What memory said of a resource before it was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recall {
    /// No memory is configured.
    Off,
    /// What memory holds (nothing yet, or an entry).
    Known(Option<Remembered>),
    /// Memory could not be read: values come from defaults, and nothing is remembered (a
    /// locked value must not be overwritten by a guess).
    Unavailable(String),
}

/// A resource as just read: its state, what memory said of it, and when the read was issued.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The state read.
    pub state: ResourceState,
    /// What memory said.
    pub recall: Recall,
    /// When the read was issued (milliseconds since the epoch): memory keeps the newest.
    pub at_ms: u64,
}

pub use crate::run::clock::now_ms;

impl<M: Memory + Sync> Judge<'_, M> {
    /// The event path: reads the resource `id` names, recalls its memory, then settles it.
    pub async fn check<S: TagStore>(&self, store: &S, ctx: ResourceContext, id: &str) -> ResourceReport {
        let observed = now_ms();
        match store.read(id).await {
            Ok(state) => {
                let mut ctx = ctx;
                if ctx.aliases.is_empty() && self.policy.needs_aliases(ctx.kind) {
                    match store.aliases(&state.arn).await {
                        Ok(aliases) => ctx.aliases = aliases,
                        Err(e) => {
                            return ResourceReport::judged(
                                ctx.with_arn(&state.arn),
                                Some(id),
                                None,
                                Decision::failed(&e),
                            )
                        }
                    }
                }
                let recall = self.recall(&state.arn).await;
                let seen = Observed {
                    state,
                    recall,
                    at_ms: observed,
                };
                self.settle(store, ctx, seen, Some(id)).await
            }
            Err(e) => {
                let mut entry = ResourceReport::judged(ctx, Some(id), None, Decision::failed(&e));
                if e.kind == ErrorKind::NotFound && id.starts_with("arn:") {
                    self.forget(id, &mut entry).await;
                }
                entry
            }
        }
    }

    /// What memory holds for `arn`.
    pub async fn recall(&self, arn: &str) -> Recall {
        match self.memory {
            None => Recall::Off,
            Some(m) => match m.recall(arn).await {
                Ok(r) => Recall::Known(r),
                Err(e) => Recall::Unavailable(e.to_string()),
            },
        }
    }

    /// Evaluates a resource whose state is known, writes when due (asking the write guard
    /// first when the read did not check the resource's state), decides, and remembers the
    /// valid values seen.
    pub async fn settle<S: TagStore>(
        &self,
        store: &S,
        ctx: ResourceContext,
        seen: Observed,
        resource_id: Option<&str>,
    ) -> ResourceReport {
        let Observed {
            state,
            recall,
            at_ms: observed,
        } = seen;
        let mut ctx = ctx.with_arn(&state.arn);
        ctx.name = ctx.name.or(state.name);
        ctx.today = ctx.today.or(Some(Date::of_epoch_ms(now_ms())));
        match &state.skip {
            // A replica is judged (its tags are its primary's) but never written or remembered:
            // its primary is, in its own Region.
            Some(Refusal::Replica(of)) => {
                let eval = evaluate(self.policy, &ctx, &state.tags);
                let decision = Decision::replica(&eval, of);
                let mut entry = ResourceReport::judged(ctx, resource_id, Some(eval), decision);
                entry.replica_of = Some(of.clone());
                return entry;
            }
            Some(why) => return ResourceReport::judged(ctx, resource_id, None, Decision::skipped(why)),
            None => {}
        }
        if let Recall::Known(Some(r)) = &recall {
            ctx.remembered = r.values.clone();
            ctx.former_names = r.names.clone();
        }
        let eval = evaluate(self.policy, &ctx, &state.tags);
        let mut retries = 0;
        let applied = if self.mode == Mode::Enforce && writes_due(&eval) {
            let patience = self.patience.map(|deadline| (deadline, &mut retries));
            write(store, &state.arn, &eval.plan, !state.state_checked, patience).await
        } else {
            Applied::Nothing
        };
        let decision = decide(&eval, &applied);
        let mut entry = ResourceReport::judged(ctx.clone(), resource_id, Some(eval), decision);
        entry.throttle_retries = retries;
        if entry.outcome == Outcome::Exempt {
            self.grant_of(&state.arn, &mut entry).await;
        }
        entry.tags = state
            .tags
            .iter()
            .filter(|(k, _)| !entry.keys_removed.contains(k))
            .chain(&entry.tags_added)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match recall {
            Recall::Off => {}
            Recall::Unavailable(why) => entry
                .reasons
                .push(format!("memory unavailable ({why}): values restored from defaults")),
            Recall::Known(r) => {
                let (expiring, last_seen) = r.as_ref().map_or((false, None), |r| (r.expiring, Some(r.observed_ms)));
                // A sweep that fixes a resource says how long it had been wrong: since memory
                // last saw it.
                if ctx.event.is_none() && entry.outcome == Outcome::Remediated {
                    entry.wrong_for_ms = last_seen.filter(|t| *t > 0).map(|t| now_ms().saturating_sub(t));
                }
                self.contest(&ctx, &mut entry).await;
                // A value derived from the creator that was written over the caller's is the
                // one remembered (and locked), never the caller's.
                let mut seen = state.tags.clone();
                for f in &entry.findings {
                    if let Finding::Derived { key, derived, .. } = f {
                        if entry.tags_added.get(key) == Some(derived) {
                            seen.insert(key.clone(), derived.clone());
                        }
                    }
                }
                let changed = changes(self.policy, &ctx, &seen, Authority::Observed);
                let story = history(&ctx, &state.tags, &entry);
                self.store(&ctx, &changed, expiring, observed, &story, &mut entry).await;
            }
        }
        entry
    }

    /// Marks the entry `contested` when the principal behind its event has re-made, on this
    /// resource and one of the keys tag-warden now undoes, a change tag-warden undid before:
    /// [`CONTESTED_AT`] times or more within [`CONTESTED_WITHIN`] (this one included), as memory's
    /// history counts them. tag-warden still enforces; the entry, the finding, the metric and the
    /// history say so. Different principals do not add up.
    async fn contest(&self, ctx: &ResourceContext, entry: &mut ResourceReport) {
        let (Some(memory), Some(arn)) = (self.memory, &ctx.arn) else {
            return;
        };
        let Some(principal) = ctx.event.as_ref().and_then(|e| e.actor.principal()) else {
            return;
        };
        let undoing = undone_keys(entry);
        if undoing.is_empty() || !matches!(entry.outcome, Outcome::Remediated | Outcome::WouldRemediate) {
            return;
        }
        let story = match memory.history(arn).await {
            Ok(story) => story,
            Err(e) => {
                entry.reasons.push(format!("memory: could not read the history ({e})"));
                return;
            }
        };
        let since = now_ms().saturating_sub(CONTESTED_WITHIN.as_millis() as u64);
        let (key, n) = undoing
            .iter()
            .map(|k| (k.clone(), steps_by(&story, principal, k, since).count() + 1))
            .max_by_key(|(_, n)| *n)
            .unwrap_or_default();
        if n >= CONTESTED_AT {
            entry.reasons.push(format!(
                "contested: `{principal}` has made this change to `{key}` {n} times in 24 hours and tag-warden undid it each time; tag-warden still enforces. Resolve it: trust that principal in TAG_WARDEN_IGNORE_PRINCIPALS, or fix its code (Terraform: `ignore_tags` for `{key}`, or a matching `default_tags`)"
            ));
            entry.contested = Some(Contested {
                contested: true,
                contested_by: principal.to_owned(),
                contested_count: u32::try_from(n).unwrap_or(u32::MAX),
                contested_keys: undoing,
                contested_since: steps_by(&story, principal, &key, since).map(|h| h.at.clone()).min(),
            });
        }
    }

    /// A trusted principal's change: not enforced, but of what the call set (`requested`), the
    /// values the resource still carries are remembered, locks and exemptions included, with a
    /// history step naming who (one read, one memory read, one memory write).
    pub async fn trust<S: TagStore>(
        &self,
        store: &S,
        ctx: ResourceContext,
        id: &str,
        (requested, removed): (&Tags, &[String]),
        entry: &mut ResourceReport,
    ) {
        if self.memory.is_none() {
            return;
        }
        let observed = now_ms();
        match store.read(id).await {
            Ok(state) if state.skip.is_none() => {
                let mut ctx = ctx.with_arn(&state.arn);
                ctx.name = ctx.name.or(state.name);
                entry.arn = ctx.arn.clone();
                match self.recall(&state.arn).await {
                    Recall::Known(r) => ctx.remembered = r.unwrap_or_default().values,
                    Recall::Off => {}
                    // A trusted value written over a memory not read could drop a lock: no.
                    Recall::Unavailable(why) => {
                        entry
                            .reasons
                            .push(format!("memory unavailable ({why}): nothing remembered"));
                        return;
                    }
                };
                let changed = trusted_changes(self.policy, &ctx, &state.tags, requested, removed);
                let who = ctx.event.as_ref().and_then(|e| e.actor.principal().map(str::to_owned));
                let story = granted(&ctx, &changed, who, "trusted: remembered".to_owned(), Vec::new());
                self.store(&ctx, &changed, false, observed, &story, entry).await;
            }
            Ok(state) => entry.reasons.extend(state.skip.map(|why| why.to_string())),
            Err(e) => entry.reasons.push(format!("could not read what it set: {e}")),
        }
    }

    /// An administrator's exemption (`tag-warden exempt`): tags the resource with
    /// `tag-warden:exempt-until` = `until` and records in memory and history who granted it,
    /// why and until when, so that the exemption is verified. Needs memory.
    pub async fn exempt<S: TagStore>(
        &self,
        store: &S,
        ctx: ResourceContext,
        arn: &str,
        until: Date,
        who: &str,
        reason: &str,
    ) -> Result<ResourceReport, ApiError> {
        let observed = now_ms();
        let state = store.read(arn).await?;
        let mut ctx = ctx.with_arn(&state.arn);
        ctx.name = ctx.name.or(state.name);
        let mut entry = ResourceReport::judged(ctx.clone(), Some(arn), None, Decision::exempted());
        if let Some(why) = state.skip {
            return Err(refused(arn, &why.to_string()));
        }
        match self.recall(&state.arn).await {
            Recall::Known(r) => ctx.remembered = r.unwrap_or_default().values,
            Recall::Off => {
                return Err(refused(
                    arn,
                    "an exemption is recorded in memory: set TAG_WARDEN_MEMORY_TABLE",
                ))
            }
            Recall::Unavailable(why) => return Err(refused(arn, &format!("memory unavailable: {why}"))),
        };
        let value = until.to_string();
        let set: Tags = [(EXEMPT_UNTIL_TAG.to_owned(), value.clone())].into_iter().collect();
        // Memory first: an exemption tagged but not recorded would not be honoured.
        let action = format!("exempt: granted through {value} (UTC)");
        let story = granted(&ctx, &set, Some(who.to_owned()), action, vec![reason.to_owned()]);
        self.store(&ctx, &set, false, observed, &story, &mut entry).await;
        if entry.remembered.is_empty() {
            let why = entry.reasons.join("; ");
            return Err(refused(arn, &format!("the exemption could not be recorded: {why}")));
        }
        // The grant in an item of its own: no number of later changes pushes it out of the
        // 50-step history.
        if let Some(memory) = self.memory {
            let grant = Grant {
                who: who.to_owned(),
                why: reason.to_owned(),
                until: value.clone(),
                at: crate::domain::utc_time(observed),
            };
            memory.put_grant(&state.arn, &grant).await?;
        }
        store.tag(&state.arn, &set).await?;
        entry.tags_added = set;
        entry
            .reasons
            .push(format!("exempt through {value} (UTC), granted by {who}: {reason}"));
        Ok(entry)
    }

    /// Writes `changed` and the history to memory (and clears an expiry) when there is
    /// anything to write: one write.
    async fn store(
        &self,
        ctx: &ResourceContext,
        changed: &crate::domain::Tags,
        expiring: bool,
        observed: u64,
        story: &[HistoryEntry],
        entry: &mut ResourceReport,
    ) {
        let (Some(memory), Some(arn), Some(region)) = (self.memory, &ctx.arn, &ctx.region) else {
            return;
        };
        if !self.records {
            return;
        }
        if changed.is_empty() && !expiring && story.is_empty() {
            return;
        }
        let place = Place {
            kind: ctx.kind,
            region: region.clone(),
            account: ctx.account.clone(),
            names: names_to_keep(self.policy, ctx),
        };
        match memory.remember(arn, &place, changed, observed, story).await {
            Ok(Stored::Written) => entry.remembered = changed.clone(),
            Ok(Stored::Newer) => tracing::debug!(arn, "memory holds a newer observation; kept"),
            Err(e) => entry.reasons.push(memory_failed(&e)),
        }
    }

    /// Who granted an exemption and why, from its grant (one read of memory).
    async fn grant_of(&self, arn: &str, entry: &mut ResourceReport) {
        let (Some(memory), Some(exception)) = (self.memory, entry.exception.as_mut()) else {
            return;
        };
        match memory.grant(arn).await {
            Ok(Some(g)) => {
                exception.who = Some(g.who);
                exception.why = Some(g.why);
            }
            Ok(None) => exception.who = Some("a trusted principal (see its history)".to_owned()),
            Err(e) => entry.reasons.push(memory_failed(&e)),
        }
    }

    /// Marks the memory of a resource found gone to expire.
    pub async fn forget(&self, arn: &str, entry: &mut ResourceReport) {
        let Some(memory) = self.memory.filter(|_| self.records) else {
            return;
        };
        let at = (now_ms() / 1000).saturating_add(MEMORY_TTL.as_secs());
        if let Err(e) = memory.expire(arn, at).await {
            entry.reasons.push(memory_failed(&e));
        }
    }
}

/// An exemption that cannot be granted, as an error of the `tag-warden exempt` operation.
fn refused(arn: &str, why: &str) -> ApiError {
    ApiError {
        operation: "tag-warden:exempt",
        resource: arn.to_owned(),
        kind: ErrorKind::Other,
        code: "Refused".to_owned(),
        message: why.to_owned(),
    }
}

fn memory_failed(e: &ApiError) -> String {
    format!("memory: could not remember ({e})")
}

#[path = "resource_history.rs"]
mod story;
#[path = "resource_write.rs"]
mod write;

use story::{granted, history, steps_by, undone_keys};

#[cfg(test)]
use write::jitter;
use write::write;
pub use write::{FIRST_BACKOFF, MAX_BACKOFF, RETRIES_WITHOUT_DEADLINE};

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
