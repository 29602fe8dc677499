//! A rule's `match`, loaded: names, arns, accounts, regions, tags. And whether two rules'
//! scopes can overlap (only then must their defaults agree and their requirements not clash).

use super::{child, type_name, Cx};
use crate::engine::policy::{Glob, Scope, TagCondition};
use serde_json::Value;

impl Cx {
    pub(super) fn scope(&mut self, v: &Value, path: &str) -> Scope {
        let Some(obj) = self.object(v, path, &["names", "arns", "accounts", "regions", "tags"]) else {
            return Scope::default();
        };
        let globs = |cx: &mut Cx, key: &str| {
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
        let Some(obj) = v.as_object() else {
            self.err(
                path,
                format!("expected an object of tag key → condition, found {}", type_name(v)),
            );
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
