//! Keys the rules name in another case (`fix_key_case`), and optional keys.

use super::{report_only, Evaluation, Finding, Fix};
use crate::domain::{is_reserved_key, ResourceContext, Tags};
use crate::engine::policy::{same_but_case, Required, Rule};

/// Renames keys in the wrong case for the rules that fix key case: a tag whose key is a key the
/// rule names but for case becomes the named key with its value (when valid for every rule
/// naming that key), or is removed when the named key is there already (or its value is not
/// valid: the named key's own check then applies). Returns the tags as they will be.
pub(super) fn fix_key_case(rules: &[&Rule], tags: &Tags, eval: &mut Evaluation) -> Tags {
    let mut view = tags.clone();
    for rule in rules.iter().filter(|r| r.fix_key_case) {
        for named in rule.named_keys() {
            let strays: Vec<String> = view
                .keys()
                .filter(|k| !is_reserved_key(k) && same_but_case(k, named))
                .cloned()
                .collect();
            let accepts = |v: &str| {
                rules
                    .iter()
                    .flat_map(|r| r.require.iter().chain(&r.optional))
                    .filter(|q| q.key == named)
                    .all(|q| q.accepts(v))
            };
            for stray in strays {
                let Some(value) = view.remove(&stray) else { continue };
                // The key with a valid value wins: a valid value in the wrong case replaces an
                // invalid one (or none) in the right case; nothing valid is ever discarded.
                let named_valid = view.get(named).is_some_and(|v| accepts(v));
                let renamed = accepts(&value) && !named_valid;
                let plan = eval.plan_for(!report_only(rule));
                plan.untag.push(stray.clone());
                if renamed {
                    plan.tag.insert(named.to_owned(), value.clone());
                    view.insert(named.to_owned(), value);
                }
                eval.findings.push(Finding::KeyCase {
                    key: stray,
                    named: named.to_owned(),
                    rule: rule.name.clone(),
                    renamed,
                });
            }
        }
    }
    view
}

/// Checks an optional key, when present, against every rule naming it: a value one of them
/// rejects is replaced by the default (made valid as a required key's is), else a violation.
pub(super) fn check_optional(rules: &[&Rule], key: &str, tags: &Tags, ctx: &ResourceContext, eval: &mut Evaluation) {
    let Some(value) = tags.get(key) else { return };
    let reqs: Vec<(&Rule, &Required)> = rules
        .iter()
        .flat_map(|r| r.optional.iter().filter(|q| q.key == key).map(move |q| (*r, q)))
        .collect();
    let Some((rule, q)) = reqs.iter().find(|(_, q)| !q.accepts(value)) else {
        return;
    };
    let valid = |v: &str| reqs.iter().all(|(_, q)| q.accepts(v));
    let fix = Fix::by_default(reqs.iter().find_map(|(_, q)| q.default.as_ref()), ctx, valid);
    if let Some(v) = fix.value() {
        let plan = eval.plan_for(reqs.iter().any(|(r, _)| !report_only(r)));
        plan.tag.insert(key.to_owned(), v.to_owned());
    }
    eval.findings.push(Finding::Invalid {
        key: key.to_owned(),
        value: value.clone(),
        expected: q.expectation(),
        rule: rule.name.clone(),
        fix,
    });
}

/// A locked key seen for the first time (nothing remembered): at creation, a default derived
/// from the creator wins over what the caller passed (a finding, fixed); otherwise the value
/// stands and becomes the locked one, and who set it is noted (an untrusted caller's first
/// value is named, for a trusted principal to replace).
pub(super) fn first_lock(
    rule: &Rule,
    key: &str,
    value: &str,
    template: Option<&crate::engine::policy::Template>,
    fix: &Fix,
    ctx: &ResourceContext,
    eval: &mut Evaluation,
) -> Option<Finding> {
    if let (Some(_), Some(derived)) = (template.filter(|t| t.uses_creator()), fix.value()) {
        return (derived != value).then(|| Finding::Derived {
            key: key.to_owned(),
            value: value.to_owned(),
            derived: derived.to_owned(),
            rule: rule.name.clone(),
        });
    }
    if let Some(setter) = ctx.event.as_ref().and_then(|e| e.actor.principal()) {
        eval.notes.push(format!(
            "`{key}` = `{value}` is locked by rule `{rule}` from now on, first set by `{setter}`, not a trusted principal: a trusted principal may replace it",
            rule = rule.name
        ));
    }
    None
}
