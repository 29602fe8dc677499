//! A rule's `match`, loaded: names, arns, accounts, regions, tags; the policy's `waivers`. And
//! whether two rules' scopes can overlap (only then must their defaults agree and their
//! requirements not clash).

use super::{child, type_name, Loader};
use crate::domain::Date;
use crate::engine::policy::{Glob, Scope, TagCondition, Waiver};
use serde_json::Value;

impl Loader {
    pub(super) fn scope(&mut self, v: &Value, path: &str) -> Scope {
        let Some(obj) = self.object(v, path, &["names", "arns", "accounts", "regions", "tags"]) else {
            return Scope::default();
        };
        let globs = |cx: &mut Loader, key: &str| {
            obj.get(key).map(|g| {
                let gpath = child(path, key);
                let list = cx.strings(g, &gpath).unwrap_or_default();
                for (i, _) in list.iter().enumerate().filter(|(_, g)| g.is_empty()) {
                    cx.err(
                        &child(&gpath, &i.to_string()),
                        "an empty glob matches nothing".to_owned(),
                    );
                }
                list.into_iter().map(Glob::new).collect::<Vec<_>>()
            })
        };
        let names = globs(self, "names");
        let arns = globs(self, "arns");
        let regions = globs(self, "regions");
        let accounts = obj.get("accounts").map(|a| {
            let apath = child(path, "accounts");
            let list = self.strings(a, &apath).unwrap_or_default();
            for (i, acc) in list.iter().enumerate() {
                if acc.len() != 12 || !acc.chars().all(|c| c.is_ascii_digit()) {
                    self.err(
                        &child(&apath, &i.to_string()),
                        format!("`{acc}` is not an account id (12 digits)"),
                    );
                }
            }
            list.into_iter().map(str::to_owned).collect()
        });
        let tags = obj
            .get("tags")
            .map(|t| self.tag_conditions(t, &child(path, "tags")))
            .unwrap_or_default();
        Scope {
            names,
            arns,
            accounts,
            regions,
            tags,
        }
    }

    fn tag_conditions(&mut self, v: &Value, path: &str) -> Vec<(String, TagCondition)> {
        let Some(obj) = self.keyed(v, path, "condition") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, cond) in obj {
            let kpath = child(path, key);
            let cond = match cond {
                Value::Bool(true) => TagCondition::Present,
                Value::Bool(false) => TagCondition::Absent,
                Value::String(g) => TagCondition::Values(vec![Glob::new(g)]),
                Value::Array(_) => TagCondition::Values(
                    self.strings(cond, &kpath)
                        .unwrap_or_default()
                        .into_iter()
                        .map(Glob::new)
                        .collect(),
                ),
                other => {
                    self.err(
                        &kpath,
                        format!(
                            "expected a value glob, a list of them, true (present) or false (absent), found {}",
                            type_name(other)
                        ),
                    );
                    continue;
                }
            };
            out.push((key.clone(), cond));
        }
        out
    }
}

/// Whether some resource could be in both scopes. Conservative: only scopes shown disjoint
/// (different accounts, names or regions that no string matches both of, a tag required
/// present in one and absent in the other) count as disjoint.
pub(super) fn can_overlap(a: &Scope, b: &Scope) -> bool {
    let globs_meet = |x: &Option<Vec<Glob>>, y: &Option<Vec<Glob>>| match (x, y) {
        (Some(x), Some(y)) => x.iter().any(|g| y.iter().any(|h| g.can_meet(h))),
        _ => true,
    };
    let accounts_meet = match (&a.accounts, &b.accounts) {
        (Some(x), Some(y)) => x.iter().any(|acc| y.contains(acc)),
        _ => true,
    };
    let tags_meet = a.tags.iter().all(|(key, ca)| {
        b.tags.iter().filter(|(k, _)| k == key).all(|(_, cb)| {
            !matches!(
                (ca, cb),
                (TagCondition::Absent, TagCondition::Present | TagCondition::Values(_))
                    | (TagCondition::Present | TagCondition::Values(_), TagCondition::Absent)
            )
        })
    });
    accounts_meet
        && tags_meet
        && globs_meet(&a.names, &b.names)
        && globs_meet(&a.arns, &b.arns)
        && globs_meet(&a.regions, &b.regions)
}

impl Loader {
    /// Version 2's `waivers`: `{match, rules, until, reason}` each; `rules` must name rules of
    /// the policy, `until` is a `YYYY-MM-DD` day (UTC), `reason` is required.
    pub(super) fn waivers(&mut self, v: &Value, rule_names: &[&str]) -> Vec<Waiver> {
        let Some(list) = v.as_array() else {
            self.err(
                "/waivers",
                format!("expected an array of waivers, found {}", type_name(v)),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, w) in list.iter().enumerate() {
            let path = format!("/waivers/{i}");
            let Some(obj) = self.object(w, &path, &["match", "rules", "until", "reason"]) else {
                continue;
            };
            let scope = obj
                .get("match")
                .map(|m| self.scope(m, &child(&path, "match")))
                .unwrap_or_default();
            let rules = obj.get("rules").map(|r| {
                let rpath = child(&path, "rules");
                let names = self.strings(r, &rpath).unwrap_or_default();
                for (j, n) in names.iter().enumerate().filter(|(_, n)| !rule_names.contains(n)) {
                    self.err(&child(&rpath, &j.to_string()), format!("no rule is named `{n}`"));
                }
                names.into_iter().map(str::to_owned).collect()
            });
            let until = match obj.get("until").map(|u| (u, u.as_str().and_then(Date::parse))) {
                Some((_, Some(d))) => Some(d),
                Some((u, None)) => {
                    self.err(
                        &child(&path, "until"),
                        format!("expected a day as `YYYY-MM-DD`, found {u}"),
                    );
                    None
                }
                None => {
                    self.err(
                        &child(&path, "until"),
                        "required: the last day the waiver is in force (`YYYY-MM-DD`, UTC)",
                    );
                    None
                }
            };
            let reason = match obj.get("reason").and_then(|r| self.string(r, &child(&path, "reason"))) {
                Some(r) if !r.trim().is_empty() => Some(r.to_owned()),
                _ => {
                    self.err(&child(&path, "reason"), "required: why the waiver is granted");
                    None
                }
            };
            if let (Some(until), Some(reason)) = (until, reason) {
                out.push(Waiver {
                    scope,
                    rules,
                    until,
                    reason,
                });
            }
        }
        out
    }
}
