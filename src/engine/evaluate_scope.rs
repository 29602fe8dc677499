//! Scope escape: a resource leaves a rule by changing the tag its `match.tags` reads. Once a
//! resource has matched, memory holds the values it matched with (the scope keys are remembered
//! like required ones), and a removal or change that would take it out of the rule is put back.

use super::{report_only, Evaluation, Finding};
use crate::domain::{ResourceContext, Tags};
use crate::engine::policy::{Policy, Rule, TagCondition};

/// The tags as rules read them once escaped scope keys are put back (from memory), with a
/// finding and a planned write for each.
pub(super) fn kept(policy: &Policy, ctx: &ResourceContext, tags: &Tags, eval: &mut Evaluation) -> Tags {
    let mut view = tags.clone();
    for rule in policy.rules.iter().filter(|r| r.kinds.contains(&ctx.kind)) {
        if rule.scope.tags.is_empty() || rule.applies_to(ctx, &view) {
            continue;
        }
        let mut trial = view.clone();
        let mut put: Vec<(&str, &str)> = Vec::new();
        for (key, cond) in &rule.scope.tags {
            let Some(r) = ctx.remembered.get(key).filter(|r| !r.is_empty()) else {
                continue;
            };
            if !cond.holds(trial.get(key)) && cond.holds(Some(r)) {
                trial.insert(key.clone(), r.clone());
                put.push((key, r));
            }
        }
        if put.is_empty() || !rule.applies_to(ctx, &trial) {
            continue;
        }
        for (key, r) in put {
            eval.findings.push(Finding::Scope {
                key: key.to_owned(),
                value: view.get(key).cloned(),
                remembered: r.to_owned(),
                rule: rule.name.clone(),
            });
            let plan = eval.plan_for(!report_only(rule));
            plan.tag.insert(key.to_owned(), r.to_owned());
        }
        view = trial;
    }
    view
}

/// Says which rules apply only through a name memory keeps (a KMS key's former alias): the key
/// lost the alias a rule matched it by, and stays in the rule.
pub(super) fn by_former_names(rules: &[&Rule], ctx: &ResourceContext, tags: &Tags, eval: &mut Evaluation) {
    if ctx.former_names.is_empty() {
        return;
    }
    let now = ResourceContext {
        former_names: Vec::new(),
        ..ctx.clone()
    };
    for rule in rules
        .iter()
        .filter(|r| r.scope.uses_names() && !r.applies_to(&now, tags))
    {
        eval.notes.push(format!(
            "rule `{}` applies through a former alias memory keeps ({}): the key lost the alias it matched by, and stays in the rule",
            rule.name,
            ctx.former_names.join(", ")
        ));
    }
}

/// The keys a rule's `match.tags` requires present (or of some values): remembered once the
/// rule applies, so that leaving it by that key is put back.
pub fn scope_keys(rule: &Rule) -> impl Iterator<Item = &str> {
    rule.scope
        .tags
        .iter()
        .filter(|(_, c)| !matches!(c, TagCondition::Absent))
        .map(|(k, _)| k.as_str())
}
