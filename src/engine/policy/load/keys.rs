//! A rule's kinds, required and optional keys, values and forbidden globs, each checked against
//! AWS's limits for the kinds the rule governs.

use super::{child, Loader, REGEX_SIZE_LIMIT};
use crate::domain::{is_reserved_key, ResourceKind, RESERVED_PREFIX};
use crate::engine::policy::{Glob, Required, Template};
use regex::RegexBuilder;
use serde_json::Value;

impl Loader {
    pub(super) fn kinds(&mut self, v: &Value, path: &str) -> Vec<ResourceKind> {
        let mut kinds = Vec::new();
        for (i, s) in self.strings(v, path).unwrap_or_default().into_iter().enumerate() {
            match ResourceKind::parse(s) {
                Some(k) if kinds.contains(&k) => {
                    self.err(&child(path, &i.to_string()), format!("`{s}` is listed twice"))
                }
                Some(k) => kinds.push(k),
                None => self.err(
                    &child(path, &i.to_string()),
                    format!("`{s}` is not a resource kind: use {}", crate::kinds::names()),
                ),
            }
        }
        kinds
    }

    pub(super) fn require(&mut self, v: &Value, path: &str, kinds: &[ResourceKind]) -> Vec<Required> {
        let Some(obj) = self.keyed(v, path, "requirement") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, spec) in obj {
            let kpath = child(path, key);
            self.key(key, &kpath, kinds, "required");
            if let Some(r) = self.required(key, spec, &kpath, kinds) {
                out.push(r);
            }
        }
        out
    }

    fn required(&mut self, key: &str, v: &Value, path: &str, kinds: &[ResourceKind]) -> Option<Required> {
        let obj = self.object(v, path, &["default", "values", "pattern", "lock"])?;
        let lock = self.flag(obj, "lock", path);
        let default_text = obj.get("default").and_then(|d| self.string(d, &child(path, "default")));
        let default = default_text.and_then(|d| self.template(d, &child(path, "default")));
        let values = obj
            .get("values")
            .and_then(|vs| self.strings(vs, &child(path, "values")));
        let pattern = obj.get("pattern").and_then(|p| self.string(p, &child(path, "pattern")));
        let pattern = pattern.and_then(|p| {
            if let Some(re) = self.patterns.get(p) {
                return Some(re.clone());
            }
            match RegexBuilder::new(p).size_limit(REGEX_SIZE_LIMIT).build() {
                Ok(re) => {
                    self.patterns.insert(p.to_owned(), re.clone());
                    Some(re)
                }
                Err(e) => {
                    self.err(&child(path, "pattern"), format!("bad regular expression: {e}"));
                    None
                }
            }
        });
        if let Some(d) = default.as_ref().and_then(Template::fixed) {
            self.value(d, &child(path, "default"), kinds);
        }
        for (i, val) in values.iter().flatten().enumerate() {
            let vpath = child(&child(path, "values"), &i.to_string());
            self.value(val, &vpath, kinds);
            if let Some(re) = pattern.as_ref().filter(|re| !re.is_match(val)) {
                self.err(
                    &vpath,
                    format!(
                        "`{val}` can never be valid: it does not match the pattern /{}/",
                        re.as_str()
                    ),
                );
            }
        }
        let required = Required {
            key: key.to_owned(),
            default,
            values: values.map(|vs| vs.into_iter().map(str::to_owned).collect()),
            pattern,
            lock,
        };
        // A derived value is checked when it is rendered: if it then fails, it is a violation.
        if let Some(d) = required
            .default
            .as_ref()
            .and_then(Template::fixed)
            .filter(|d| !required.accepts(d))
        {
            self.err(
                &child(path, "default"),
                format!(
                    "the default `{d}` is not valid by its own rule: expected {}",
                    required.expectation()
                ),
            );
        }
        Some(required)
    }

    /// Checks a tag key against AWS's rules for every kind the rule governs.
    fn key(&mut self, key: &str, path: &str, kinds: &[ResourceKind], what: &str) {
        if key.is_empty() {
            self.err(path, format!("a {what} tag key must not be empty"));
        }
        if is_reserved_key(key) {
            self.err(
                path,
                format!("`{RESERVED_PREFIX}` keys are reserved by AWS and can never be {what}"),
            );
        }
        let chars = key.chars().count();
        for kind in kinds {
            let max = kind.limits().max_key_chars;
            if chars > max {
                self.err(
                    path,
                    format!("a {kind} tag key is at most {max} characters; this one has {chars}"),
                );
            }
        }
    }

    fn value(&mut self, value: &str, path: &str, kinds: &[ResourceKind]) {
        let chars = value.chars().count();
        for kind in kinds {
            let max = kind.limits().max_value_chars;
            if chars > max {
                self.err(
                    path,
                    format!("a {kind} tag value is at most {max} characters; this one has {chars}"),
                );
            }
        }
    }

    pub(super) fn forbid(&mut self, v: &Value, path: &str, kinds: &[ResourceKind]) -> Vec<Glob> {
        let globs = self.strings(v, path).unwrap_or_default();
        let mut out = Vec::new();
        for (i, g) in globs.into_iter().enumerate() {
            let gpath = child(path, &i.to_string());
            if g.is_empty() {
                self.err(&gpath, "a forbidden key glob must not be empty");
                continue;
            }
            if is_reserved_key(g) {
                self.err(
                    &gpath,
                    format!("`{RESERVED_PREFIX}` keys are reserved by AWS and can never be removed"),
                );
            }
            let glob = Glob::new(g);
            if glob.is_literal() {
                self.key(g, &gpath, kinds, "forbidden");
            }
            out.push(glob);
        }
        out
    }
}
