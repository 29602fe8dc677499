//! Checks across rules: unique names, and keys that rules whose scopes can overlap would fight
//! over (required by one and forbidden by another, different defaults, a default another
//! rejects).

use super::{escape, matching, Loader};
use crate::engine::policy::MAX_COUNTED_PROBLEMS;
use crate::engine::policy::{same_but_case, Required, Rule, Template};
use std::collections::BTreeSet;

impl Loader {
    pub(super) fn names_unique(&mut self, rules: &[(usize, Rule)]) {
        let mut seen = BTreeSet::new();
        for (i, rule) in rules {
            if !rule.name.is_empty() && !seen.insert(rule.name.as_str()) {
                self.err(
                    &format!("/rules/{i}/name"),
                    format!("the rule name `{}` is used twice", rule.name),
                );
            }
        }
    }

    /// Conflicts between rules (and within one): a key both required and forbidden, defaults
    /// that disagree, or a default another rule would reject — each would make tag-warden
    /// fight itself, so they are rejected up front.
    pub(super) fn cross_rule(&mut self, rules: &[(usize, Rule)]) {
        for (i, a) in rules {
            for (j, b) in rules {
                if self.errors.len() + self.unlisted >= MAX_COUNTED_PROBLEMS {
                    return;
                }
                let shared: Vec<&str> = a
                    .kinds
                    .iter()
                    .filter(|k| b.kinds.contains(k))
                    .map(|k| k.as_str())
                    .collect();
                if shared.is_empty() || !matching::can_overlap(&a.scope, &b.scope) {
                    continue;
                }
                let on = shared.join(" and ");
                let named = a
                    .require
                    .iter()
                    .map(|q| (q, "require", "required"))
                    .chain(a.optional.iter().map(|q| (q, "optional", "optional")));
                for (req, section, what) in named {
                    let path = format!("/rules/{i}/{section}/{}", escape(&req.key));
                    if let Some(g) = b.forbidding(&req.key) {
                        self.err(
                            &path,
                            format!(
                                "`{}` is {what} but rule `{}` forbids it (`{}`) for {on}",
                                req.key,
                                b.name,
                                g.as_str()
                            ),
                        );
                    }
                    // A rule that fixes key case renames a key another rule names in another
                    // case: they would fight.
                    if a.fix_key_case {
                        if let Some(other) = b.named_keys().find(|k| same_but_case(k, &req.key)) {
                            self.err(
                                &path,
                                format!(
                                    "`{}` is fixed for case by this rule but rule `{}` names `{other}` for {on}: one would rename the other's key",
                                    req.key, b.name
                                ),
                            );
                        }
                    }
                    if j <= i {
                        continue;
                    }
                    let others = b
                        .require
                        .iter()
                        .map(|q| (q, "require"))
                        .chain(b.optional.iter().map(|q| (q, "optional")));
                    for (other, other_section) in others.filter(|(o, _)| o.key == req.key) {
                        self.defaults_agree(req, other, &a.name, (*j, other_section), &on);
                    }
                }
            }
        }
    }

    fn defaults_agree(&mut self, a: &Required, b: &Required, a_rule: &str, (j, section): (usize, &str), on: &str) {
        let path = format!("/rules/{j}/{section}/{}/default", escape(&b.key));
        let (fa, fb) = (
            a.default.as_ref().map(Template::as_str),
            b.default.as_ref().map(Template::as_str),
        );
        let fixed = |t: &Option<Template>| t.as_ref().and_then(|t| t.fixed().map(str::to_owned));
        match (fa, fb) {
            (Some(da), Some(db)) if da != db => self.err(
                &path,
                format!(
                    "`{}` defaults to `{db}` here but to `{da}` in rule `{a_rule}` for {on}",
                    b.key
                ),
            ),
            _ if fixed(&a.default).is_some_and(|d| !b.accepts(&d)) => self.err(
                &path,
                format!(
                    "rule `{a_rule}` sets `{}` to `{}`, which this rule rejects (expected {}) for {on}",
                    b.key,
                    fa.unwrap_or_default(),
                    b.expectation()
                ),
            ),
            _ if fixed(&b.default).is_some_and(|d| !a.accepts(&d)) => self.err(
                &path,
                format!(
                    "this default `{}` for `{}` is rejected by rule `{a_rule}` (expected {}) for {on}",
                    fb.unwrap_or_default(),
                    b.key,
                    a.expectation()
                ),
            ),
            _ => {}
        }
    }
}
