//! Evaluate stage (pure core): (policy, resource context, current tags) → findings and a
//! [`Plan`]. Pure and total: it does no I/O and never fails; it returns a decision plus the
//! reasons for it.

use crate::domain::{is_reserved_key, Date, Mode, ResourceContext, ResourceKind, Tags};
use crate::engine::intake::{TAG_CHANGE_DETAIL_TYPE, TAG_SOURCE};
use crate::engine::policy::{Policy, Required, Rule};
use serde::Serialize;
use std::collections::BTreeSet;

/// The writes that would bring a resource into compliance: untag first, then tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Keys to remove (one UntagResource call).
    pub untag: Vec<String>,
    /// Tags to set (one TagResource call).
    pub tag: Tags,
}

impl Plan {
    /// True when nothing needs writing.
    pub fn is_empty(&self) -> bool {
        self.untag.is_empty() && self.tag.is_empty()
    }
}

/// The decision for one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// The resource carries `tag-warden:exempt = true`, or `tag-warden:exempt-until` a day not
    /// past, and is left alone.
    pub exempt: bool,
    /// The last day of the exemption, when it is `tag-warden:exempt-until`'s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt_until: Option<Date>,
    /// How the exemption was established, or why one the resource carries is not honoured
    /// ("exemption not verified"): said in the entry's reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Rules the policy's waivers set aside for this resource today.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<Waived>,
    /// Every departure from the policy.
    pub findings: Vec<Finding>,
    /// The writes that fix what can be fixed (the policy's mode decides whether they are made).
    pub plan: Plan,
    /// Writes of rules in `mode: report`: reported, never made.
    pub report_only: Plan,
    /// Locked keys changed by a call the event does not name (an `aws.tag` event): left to the
    /// CloudTrail record of the call, or a re-check of the resource.
    #[serde(skip)]
    pub awaiting: Vec<String>,
}

/// A rule a policy waiver sets aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waived {
    /// The rule.
    pub rule: String,
    /// The waiver's last day.
    pub until: Date,
    /// The waiver's reason.
    pub reason: String,
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Evaluation {
    /// The plan a write goes in: the one carried out when an enforcing rule asks for it, else
    /// the report-only one.
    pub(super) fn plan_for(&mut self, enforced: bool) -> &mut Plan {
        if enforced {
            &mut self.plan
        } else {
            &mut self.report_only
        }
    }

    /// The first day a waiver in force here ends (the exemption tag's or a policy waiver's).
    pub fn waived_until(&self) -> Option<Date> {
        self.exempt_until
            .into_iter()
            .chain(self.waived.iter().map(|w| w.until))
            .min()
    }

    /// True when some finding is not fixed by the plan.
    pub fn has_violations(&self) -> bool {
        self.findings.iter().any(|f| !f.is_fixed())
    }
}

/// Evaluates a resource's current tags against the rules that govern it in its context.
pub fn evaluate(policy: &Policy, ctx: &ResourceContext, tags: &Tags) -> Evaluation {
    let mut eval = Evaluation::default();
    let (mut honoured, mut how, mut refused) = (None, Vec::new(), Vec::new());
    for claim in claims(policy.exemptions, ctx, tags) {
        match claim {
            Claim::Honoured { until, how: h } => {
                honoured = honoured.or(Some(until));
                how.push(h);
            }
            Claim::Refused(why) => refused.push(why),
            Claim::Bad(finding) => eval.findings.push(finding),
        }
    }
    // One honoured exemption exempts: the refused ones are then not the resource's story.
    if let Some(until) = honoured {
        return Evaluation {
            exempt: true,
            exempt_until: until,
            notes: how,
            ..Evaluation::default()
        };
    }
    eval.notes = refused;
    // A scope key removed or changed to leave a rule is put back first: the rule still applies.
    let kept = scope::kept(policy, ctx, tags, &mut eval);
    let tags = &kept;
    let mut rules: Vec<&Rule> = Vec::new();
    for rule in policy.rules.iter().filter(|r| r.applies_to(ctx, tags)) {
        match policy.waivers.iter().find(|w| w.waives(&rule.name, ctx, tags)) {
            Some(w) => eval.waived.push(Waived {
                rule: rule.name.clone(),
                until: w.until,
                reason: w.reason.clone(),
            }),
            None => rules.push(rule),
        }
    }
    scope::by_former_names(&rules, ctx, tags, &mut eval);
    // Keys in the wrong case are renamed first; every check after reads the tags as they will
    // be (`view`).
    let view = fix_key_case(&rules, tags, &mut eval);
    let tags = &view;
    for key in tags.keys().filter(|k| !is_reserved_key(k)) {
        // An enforcing rule's word wins over a report-only one's.
        let forbidding = rules
            .iter()
            .filter(|r| !report_only(r))
            .chain(rules.iter().filter(|r| report_only(r)))
            .find_map(|r| r.forbidding(key).map(|g| (r, g)));
        if let Some((rule, glob)) = forbidding {
            let plan = eval.plan_for(!report_only(rule));
            plan.untag.push(key.clone());
            eval.findings.push(Finding::Forbidden {
                key: key.clone(),
                rule: rule.name.clone(),
                glob: glob.as_str().to_owned(),
            });
        }
    }
    let mut seen = BTreeSet::new();
    for req in rules.iter().flat_map(|r| &r.require) {
        if seen.insert(req.key.as_str()) {
            check_required(&rules, &req.key, tags, ctx, &mut eval);
        }
    }
    for req in rules.iter().flat_map(|r| &r.optional) {
        if seen.insert(req.key.as_str()) {
            check_optional(&rules, &req.key, tags, ctx, &mut eval);
        }
    }
    enforce_limit(ctx.kind, tags, &mut eval);
    eval
}

/// Whether a rule's writes are only reported (`mode: report`).
fn report_only(rule: &Rule) -> bool {
    rule.mode == Some(Mode::Report)
}

/// Checks one required key against every rule that requires it (validation guarantees their
/// defaults agree and satisfy each other). A missing or invalid value is restored from memory
/// when the remembered value is still valid, else from the default (rendered from the context
/// and made a valid tag value; one that still fails the rules is no fix); a locked key carrying
/// any value other than a valid remembered one is put back.
fn check_required(rules: &[&Rule], key: &str, tags: &Tags, ctx: &ResourceContext, eval: &mut Evaluation) {
    // A key one rule requires and another makes optional must satisfy both.
    let reqs: Vec<(&Rule, &Required)> = rules
        .iter()
        .flat_map(|r| {
            r.require
                .iter()
                .chain(&r.optional)
                .filter(|q| q.key == key)
                .map(move |q| (*r, q))
        })
        .collect();
    let valid = |v: &str| reqs.iter().all(|(_, q)| q.accepts(v));
    let recalled = ctx.remembered.get(key).filter(|v| valid(v));
    let template = reqs.iter().find_map(|(_, q)| q.default.as_ref());
    let fix = match recalled {
        Some(v) => Fix::Set {
            value: v.clone(),
            from: ValueSource::Remembered,
        },
        None => Fix::by_default(template, ctx, valid),
    };
    let finding = match tags.get(key) {
        None => reqs.first().map(|(rule, _)| Finding::Missing {
            key: key.to_owned(),
            rule: rule.name.clone(),
            fix: fix.clone(),
        }),
        Some(value) => match reqs.iter().find(|(_, q)| !q.accepts(value)) {
            Some((rule, q)) => Some(Finding::Invalid {
                key: key.to_owned(),
                value: value.clone(),
                expected: q.expectation(),
                rule: rule.name.clone(),
                fix: fix.clone(),
            }),
            None => {
                let lock = reqs.iter().find(|(_, q)| q.lock);
                match (lock, recalled) {
                    (Some((rule, _)), Some(r)) if r != value => Some(Finding::Locked {
                        key: key.to_owned(),
                        value: value.clone(),
                        remembered: r.clone(),
                        rule: rule.name.clone(),
                    }),
                    (Some((rule, _)), None) => keys::first_lock(rule, key, value, template, &fix, ctx, eval),
                    _ => None,
                }
            }
        },
    };
    if let (
        Some(Finding::Locked {
            key, value, remembered, ..
        }),
        true,
    ) = (&finding, caller_unknown(ctx))
    {
        // The tag-change event names no caller: a trusted principal's change must stand, so
        // the CloudTrail record of the call decides (or, should it never come, the next sweep).
        eval.notes.push(format!(
            "`{key}` is locked at `{remembered}` but is `{value}`: this {TAG_CHANGE_DETAIL_TYPE} event names no caller, so the CloudTrail record of the call decides (a trusted principal's change stands), or else a re-check of the resource"
        ));
        eval.awaiting.push(key.clone());
        return;
    }
    if let Some(finding) = finding {
        if let Fix::Set { value, .. } = fix {
            let plan = eval.plan_for(reqs.iter().any(|(r, _)| !report_only(r)));
            plan.tag.insert(key.to_owned(), value);
        }
        eval.findings.push(finding);
    }
}

/// Whether the event that named the resource names no caller (an `aws.tag` tag-change event).
fn caller_unknown(ctx: &ResourceContext) -> bool {
    ctx.event
        .as_ref()
        .is_some_and(|e| e.source.as_deref() == Some(TAG_SOURCE))
}

/// Drops additions that would take the resource past its user-tag limit (after the planned
/// removals), keeping the first keys in order, and records what was left out.
fn enforce_limit(kind: ResourceKind, tags: &Tags, eval: &mut Evaluation) {
    let limit = kind.limits().max_user_tags;
    let kept = tags
        .keys()
        .filter(|k| !is_reserved_key(k) && !eval.plan.untag.contains(k))
        .count();
    let new: Vec<String> = eval
        .plan
        .tag
        .keys()
        .filter(|k| !tags.contains_key(*k))
        .cloned()
        .collect();
    let room = limit.saturating_sub(kept);
    let Some(dropped) = new.get(room..).filter(|d| !d.is_empty()) else {
        return;
    };
    for key in dropped {
        eval.plan.tag.remove(key);
    }
    // The limit finding replaces the "missing, set to default" findings it overrules.
    eval.findings
        .retain(|f| !matches!(f, Finding::Missing { key, .. } if dropped.contains(key)));
    eval.findings.push(Finding::TagLimit {
        keys: dropped.to_vec(),
        limit,
    });
}

#[path = "evaluate_exemptions.rs"]
mod exemptions;
#[path = "evaluate_finding.rs"]
mod finding;
#[path = "evaluate_fix.rs"]
mod fix;
#[path = "evaluate_keys.rs"]
mod keys;
#[path = "evaluate_scope.rs"]
mod scope;

pub use exemptions::NOT_VERIFIED;
use exemptions::{claims, Claim};
pub use finding::Finding;
pub use fix::{Fix, ValueSource};
use keys::{check_optional, fix_key_case};
pub use scope::scope_keys;

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
