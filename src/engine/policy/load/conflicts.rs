//! Checks across rules: unique names, and keys that rules whose scopes can overlap would fight
//! over (required by one and forbidden by another, different defaults, a default another
//! rejects).

use super::{escape, matching, Loader};
use crate::engine::policy::MAX_COUNTED_PROBLEMS;
use crate::engine::policy::{same_but_case, Required, Rule, Template};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// A required key's settings, as compared between rules: two alike never disagree (each
/// default is checked against its own rule's constraint on load).
fn signature(q: &Required) -> (Option<&str>, Option<&[String]>, Option<&str>) {
    (
        q.default.as_ref().map(Template::as_str),
        q.values.as_deref(),
        q.pattern.as_ref().map(|p| p.as_str()),
    )
}

/// The ordered pairs of rules (positions in `rules`, a rule paired with itself too) whose
/// comparison can find a conflict: one forbids a key the other names; one fixes key case and
/// the other names the key in another case; both name a key with different settings. Found
/// through indexes by key, never by comparing every rule with every other.
fn candidates(rules: &[(usize, Rule)]) -> Vec<(usize, usize)> {
    // key -> (position, settings) of each rule naming it; lowercase key -> spellings.
    let mut by_key: BTreeMap<&str, Vec<(usize, &Required)>> = BTreeMap::new();
    let mut spellings: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (x, (_, rule)) in rules.iter().enumerate() {
        for q in rule.require.iter().chain(&rule.optional) {
            by_key.entry(q.key.as_str()).or_default().push((x, q));
            spellings
                .entry(q.key.to_lowercase())
                .or_default()
                .insert(q.key.as_str());
        }
    }
    let n = rules.len();
    // Which pairs are marked, row by row: marking is cheap however often a pair comes up.
    let mut pairs = vec![false; n * n];
    let mut mark = |x: usize, y: usize| {
        if let Some(p) = pairs.get_mut(x * n + y) {
            *p = true;
        }
    };
    // Forbidden keys: a glob's literal prefix bounds the keys it can match, and a glob many
    // rules share is matched once.
    let mut matched: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (y, (_, b)) in rules.iter().enumerate() {
        for glob in &b.forbid {
            let keys = matched.entry(glob.as_str()).or_insert_with(|| {
                let prefix: String = glob.as_str().chars().take_while(|c| !matches!(c, '*' | '?')).collect();
                let keys: Vec<&str> = by_key
                    .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
                    .take_while(|(key, _)| key.starts_with(prefix.as_str()))
                    .filter(|(key, _)| glob.matches(key))
                    .map(|(key, _)| *key)
                    .collect();
                keys
            });
            for key in keys.iter() {
                for (x, _) in by_key.get(key).into_iter().flatten() {
                    mark(*x, y);
                }
            }
        }
    }
    for (key, namers) in &by_key {
        // Key case: every rule naming another spelling, against each rule that fixes case.
        if let Some(others) = spellings.get(&key.to_lowercase()).filter(|s| s.len() > 1) {
            for (x, _) in namers
                .iter()
                .filter(|(x, _)| rules.get(*x).is_some_and(|(_, r)| r.fix_key_case))
            {
                for other in others.iter().filter(|o| *o != key) {
                    for (y, _) in by_key.get(other).into_iter().flatten() {
                        mark(*x, *y);
                    }
                }
            }
        }
        // Defaults and constraints: only rules whose settings for the key differ.
        let mut kinds: BTreeMap<_, Vec<usize>> = BTreeMap::new();
        for (x, q) in namers {
            kinds.entry(signature(q)).or_default().push(*x);
        }
        let groups: Vec<&Vec<usize>> = kinds.values().collect();
        for (g, xs) in groups.iter().enumerate() {
            for ys in groups.iter().skip(g + 1) {
                for x in xs.iter() {
                    for y in ys.iter() {
                        mark(*x.min(y), *x.max(y));
                    }
                }
            }
        }
    }
    // In (i, j) order, each once: the order problems are listed in.
    pairs
        .iter()
        .enumerate()
        .filter(|(_, marked)| **marked)
        .map(|(p, _)| (p / n, p % n))
        .collect()
}

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
    /// Only the pairs of rules that could conflict are compared ([`candidates`]), so the check
    /// stays linear in the policy's size however many rules name the same keys alike.
    pub(super) fn cross_rule(&mut self, rules: &[(usize, Rule)]) {
        // Each rule's keys, by key: what another rule's key is compared with.
        let by_rule: Vec<BTreeMap<&str, Vec<(&Required, &str)>>> = rules
            .iter()
            .map(|(_, r)| {
                let mut by_key: BTreeMap<&str, Vec<(&Required, &str)>> = BTreeMap::new();
                let sections = r
                    .require
                    .iter()
                    .map(|q| (q, "require"))
                    .chain(r.optional.iter().map(|q| (q, "optional")));
                for (q, section) in sections {
                    by_key.entry(q.key.as_str()).or_default().push((q, section));
                }
                by_key
            })
            .collect();
        for (x, y) in candidates(rules) {
            let (Some((i, a)), Some((j, b))) = (rules.get(x), rules.get(y)) else {
                continue;
            };
            {
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
                    let others = by_rule
                        .get(y)
                        .and_then(|n| n.get(req.key.as_str()))
                        .into_iter()
                        .flatten();
                    for (other, other_section) in others {
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
