//! One resource, from its state to its report entry: evaluate it in its context, carry out
//! the plan when enforcing (untag, then tag), and let the pure `decide` step settle the
//! outcome from what the writes did. The event path and the sweep both end here.

use crate::domain::{Mode, ResourceContext};
use crate::engine::decide::{decide, writes_due, Applied, Decision};
use crate::engine::evaluate::{evaluate, Plan};
use crate::engine::policy::Policy;
use crate::ports::{ResourceState, TagStore};
use crate::run::report::ResourceReport;

/// What the policy is applied with.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Enforce (write) or report (write nothing).
    pub mode: Mode,
}

/// Whether the store must be asked, just before writing, if the resource may be written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The state was read with the tags (the event path's read): nothing more to ask.
    Checked,
    /// The state came from a listing (the sweep): ask before the first write.
    BeforeWrite,
}

impl Judge<'_> {
    /// The event path: reads the resource `id` names, then settles it.
    pub async fn check<S: TagStore>(&self, store: &S, ctx: ResourceContext, id: &str) -> ResourceReport {
        match store.read(id).await {
            Ok(state) => self.settle(store, ctx, state, Some(id), Guard::Checked).await,
            Err(e) => ResourceReport::judged(ctx, Some(id), None, Decision::failed(&e)),
        }
    }

    /// Evaluates a resource whose state is known, writes when due, and decides.
    pub async fn settle<S: TagStore>(
        &self,
        store: &S,
        ctx: ResourceContext,
        state: ResourceState,
        resource_id: Option<&str>,
        guard: Guard,
    ) -> ResourceReport {
        let mut ctx = ctx.with_arn(&state.arn);
        ctx.name = ctx.name.or(state.name);
        if let Some(why) = &state.skip {
            return ResourceReport::judged(ctx, resource_id, None, Decision::skipped(why));
        }
        let eval = evaluate(self.policy, &ctx, &state.tags);
        let applied = if self.mode == Mode::Enforce && writes_due(&eval) {
            write(store, &state.arn, &eval.plan, guard).await
        } else {
            Applied::Nothing
        };
        let decision = decide(&eval, &applied);
        ResourceReport::judged(ctx, resource_id, Some(eval), decision)
    }
}

/// Carries out a plan: the guard when asked for, then untag, then tag, stopping at the first
/// failure. Returns the facts; `decide` turns them into an outcome.
async fn write<S: TagStore>(store: &S, arn: &str, plan: &Plan, guard: Guard) -> Applied {
    if guard == Guard::BeforeWrite {
        match store.write_guard(arn).await {
            Ok(None) => {}
            Ok(Some(why)) => return Applied::Refused(why),
            Err(e) => return Applied::CheckFailed(e),
        }
    }
    let untag = match plan.untag.is_empty() {
        true => None,
        false => Some(store.untag(arn, &plan.untag).await),
    };
    if matches!(untag, Some(Err(_))) {
        return Applied::Written { untag, tag: None };
    }
    let tag = match plan.tag.is_empty() {
        true => None,
        false => Some(store.tag(arn, &plan.tag).await),
    };
    Applied::Written { untag, tag }
}

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
