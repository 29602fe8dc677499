//! The policy loader: walks the JSON document itself (rather than stopping at serde's first
//! error) so that every problem is reported, each with its JSON-pointer path. YAML documents
//! are read into the same JSON value first (yaml-rust2), so both formats share every check.

mod conflicts;
mod keys;
mod matching;
mod yaml;

use super::{
    ExemptionSetter, Exemptions, Policy, PolicyError, PolicyErrors, Rule, Scope, Template, MAX_EXEMPTION_DAYS,
    MAX_LISTED_PROBLEMS,
};
use crate::domain::{Mode, ResourceKind};
use serde_json::{Map, Value};

/// Compiled-regex size cap: a policy is trusted input, but a typo should not cost a cold start.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How a policy document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// YAML (comments welcome).
    Yaml,
    /// JSON when the text is an object, else YAML (an inline policy may be either).
    Detect,
}

impl Format {
    /// By a file's extension: `.yaml`/`.yml` YAML, `.json` JSON, anything else detected.
    pub fn of_path(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") {
            Format::Json
        } else {
            Format::Detect
        }
    }
}

fn single_problem(message: String) -> PolicyErrors {
    PolicyErrors(
        vec![PolicyError {
            path: String::new(),
            message,
        }],
        0,
    )
}

/// The largest policy document read: a policy is a few kilobytes; a megabyte is a mistake or
/// an attack, and is refused before it is parsed.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// The most rules a policy may have. Rules are checked against each other in pairs, so this
/// bounds that work (and a policy this long is unreviewable anyway).
pub const MAX_RULES: usize = 500;

/// Reads a YAML or JSON document (a policy, a cases file) into a JSON value.
pub fn read_document(text: &str, format: Format) -> Result<Value, String> {
    let format = match format {
        Format::Detect if text.trim_start().starts_with('{') => Format::Json,
        Format::Detect => Format::Yaml,
        f => f,
    };
    match format {
        Format::Yaml => yaml::to_json(text),
        _ => serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}")),
    }
}

/// Parses and validates a JSON policy document, returning every problem found.
pub fn parse(text: &str) -> Result<Policy, PolicyErrors> {
    parse_as(text, Format::Json)
}

/// Parses and validates a policy document in `format`, returning every problem found.
pub fn parse_as(text: &str, format: Format) -> Result<Policy, PolicyErrors> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(single_problem(format!(
            "a policy of {} bytes is more than the {MAX_POLICY_BYTES} accepted",
            text.len()
        )));
    }
    let value = read_document(text, format).map_err(single_problem)?;
    let mut cx = Loader::default();
    let policy = cx.policy(&value);
    if cx.errors.is_empty() {
        Ok(policy)
    } else {
        Err(PolicyErrors(cx.errors, cx.unlisted))
    }
}

#[derive(Default)]
struct Loader {
    /// The first [`MAX_LISTED_PROBLEMS`] problems.
    errors: Vec<PolicyError>,
    /// Problems found beyond those.
    unlisted: usize,
    /// The document's version (1 when not given): version 2 brings `match`, rule `mode` and
    /// placeholders in defaults (in version 1 a `{` is a literal character).
    version: u8,
    /// Each pattern compiled once, however many keys share it (a regex costs far more to
    /// build than to clone).
    patterns: std::collections::HashMap<String, regex::Regex>,
}

impl Loader {
    fn err(&mut self, path: &str, message: impl Into<String>) {
        if self.errors.len() >= MAX_LISTED_PROBLEMS {
            self.unlisted += 1;
            return;
        }
        self.errors.push(PolicyError {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// The object at `path`, after flagging fields outside `allowed`.
    fn object<'v>(&mut self, v: &'v Value, path: &str, allowed: &[&str]) -> Option<&'v Map<String, Value>> {
        let Some(obj) = v.as_object() else {
            self.err(path, format!("expected an object, found {}", type_name(v)));
            return None;
        };
        for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.err(
                &child(path, key),
                format!("unknown field `{key}` (expected one of: {})", allowed.join(", ")),
            );
        }
        Some(obj)
    }

    /// The object at `path` mapping tag keys to `what` (any key: they are checked by the caller).
    fn keyed<'v>(&mut self, v: &'v Value, path: &str, what: &str) -> Option<&'v Map<String, Value>> {
        let obj = v.as_object();
        if obj.is_none() {
            self.err(
                path,
                format!("expected an object of tag key → {what}, found {}", type_name(v)),
            );
        }
        obj
    }

    /// The true/false `field` of the object at `path`: false when absent or not a boolean.
    fn flag(&mut self, obj: &Map<String, Value>, field: &str, path: &str) -> bool {
        match obj.get(field) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.err(
                    &child(path, field),
                    format!("expected true or false, found {}", type_name(other)),
                );
                false
            }
        }
    }

    fn string<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v str> {
        let s = v.as_str();
        if s.is_none() {
            self.err(path, format!("expected a string, found {}", type_name(v)));
        }
        s
    }

    fn strings<'v>(&mut self, v: &'v Value, path: &str) -> Option<Vec<&'v str>> {
        let Some(items) = v.as_array() else {
            self.err(path, format!("expected an array of strings, found {}", type_name(v)));
            return None;
        };
        if items.is_empty() {
            self.err(path, "must not be empty");
        }
        let strings: Vec<_> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.string(item, &child(path, &i.to_string())))
            .collect();
        (strings.len() == items.len()).then_some(strings)
    }

    fn policy(&mut self, v: &Value) -> Policy {
        let mut mode = Mode::Enforce;
        let mut rules: Vec<(usize, Rule)> = Vec::new();
        self.version = 1;
        let mut waivers = Vec::new();
        let mut exemptions = Exemptions::default();
        if let Some(obj) = self.object(
            v,
            "",
            &["version", "description", "mode", "rules", "waivers", "exemptions"],
        ) {
            match obj.get("version").map(|v| v.as_u64()) {
                None | Some(Some(1)) => {}
                Some(Some(2)) => self.version = 2,
                Some(_) => self.err("/version", "the policy versions are 1 and 2"),
            }
            if let Some(d) = obj.get("description") {
                self.string(d, "/description");
            }
            if let Some(m) = obj.get("mode").and_then(|m| self.string(m, "/mode")) {
                match Mode::parse(m) {
                    Some(m) => mode = m,
                    None => self.err("/mode", format!("`{m}` is not a mode: use `enforce` or `report`")),
                }
            }
            match obj.get("rules").map(|r| (r, r.as_array())) {
                None => self.err("/rules", "required: an array of rules"),
                Some((r, None)) => self.err("/rules", format!("expected an array of rules, found {}", type_name(r))),
                Some((_, Some(list))) if list.is_empty() => self.err("/rules", "a policy needs at least one rule"),
                Some((_, Some(list))) if list.len() > MAX_RULES => self.err(
                    "/rules",
                    format!("{} rules are more than the {MAX_RULES} a policy may have", list.len()),
                ),
                Some((_, Some(list))) => {
                    rules = list
                        .iter()
                        .enumerate()
                        .filter_map(|(i, r)| self.rule(r, &format!("/rules/{i}")).map(|rule| (i, rule)))
                        .collect();
                }
            }
            if let Some(w) = obj.get("waivers") {
                if self.v2("/waivers", "`waivers`") {
                    let names: Vec<&str> = rules.iter().map(|(_, r)| r.name.as_str()).collect();
                    waivers = self.waivers(w, &names);
                }
            }
            if let Some(e) = obj.get("exemptions") {
                if self.v2("/exemptions", "`exemptions`") {
                    exemptions = self.exemptions(e);
                }
            }
        }
        self.names_unique(&rules);
        self.cross_rule(&rules);
        Policy {
            version: self.version,
            mode,
            rules: rules.into_iter().map(|(_, r)| r).collect(),
            waivers,
            exemptions,
        }
    }

    /// `exemptions: {set_by: trusted | anyone | nobody, max_days: N}`; what is not given keeps
    /// its default.
    fn exemptions(&mut self, v: &Value) -> Exemptions {
        let mut out = Exemptions::default();
        let Some(obj) = self.object(v, "/exemptions", &["set_by", "max_days"]) else {
            return out;
        };
        if let Some(s) = obj.get("set_by").and_then(|s| self.string(s, "/exemptions/set_by")) {
            match ExemptionSetter::parse(s) {
                Some(setter) => out.set_by = setter,
                None => self.err(
                    "/exemptions/set_by",
                    format!("`{s}` is not who may set exemptions: use `trusted`, `anyone` or `nobody`"),
                ),
            }
        }
        if let Some(d) = obj.get("max_days") {
            match d.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if (1..=MAX_EXEMPTION_DAYS).contains(&n) => out.max_days = n,
                _ => self.err(
                    "/exemptions/max_days",
                    format!("expected a whole number of days from 1 to {MAX_EXEMPTION_DAYS}"),
                ),
            }
        }
        out
    }

    fn rule(&mut self, v: &Value, path: &str) -> Option<Rule> {
        let obj = self.object(
            v,
            path,
            &[
                "name",
                "description",
                "resources",
                "require",
                "optional",
                "forbid",
                "match",
                "mode",
                "fix_key_case",
            ],
        )?;
        let name = match obj.get("name") {
            Some(n) => self.string(n, &child(path, "name")).unwrap_or_default().to_owned(),
            None => {
                self.err(&child(path, "name"), "required: a name for the rule");
                String::new()
            }
        };
        if obj.get("name").is_some_and(|n| n.as_str() == Some("")) {
            self.err(&child(path, "name"), "must not be empty");
        }
        if let Some(d) = obj.get("description") {
            self.string(d, &child(path, "description"));
        }
        let scope = match obj.get("match") {
            Some(m) if self.v2(&child(path, "match"), "`match`") => self.scope(m, &child(path, "match")),
            _ => Scope::default(),
        };
        let mode = obj.get("mode").and_then(|m| {
            let mpath = child(path, "mode");
            if !self.v2(&mpath, "a rule's `mode`") {
                return None;
            }
            let m = self.string(m, &mpath)?;
            let parsed = Mode::parse(m);
            if parsed.is_none() {
                self.err(&mpath, format!("`{m}` is not a mode: use `enforce` or `report`"));
            }
            parsed
        });
        let kinds = match obj.get("resources") {
            None => ResourceKind::ALL.to_vec(),
            Some(r) => self.kinds(r, &child(path, "resources")),
        };
        let require = match obj.get("require") {
            None => Vec::new(),
            Some(r) => self.require(r, &child(path, "require"), &kinds),
        };
        let forbid = match obj.get("forbid") {
            None => Vec::new(),
            Some(f) => self.forbid(f, &child(path, "forbid"), &kinds),
        };
        let optional = match obj.get("optional") {
            Some(o) if self.v2(&child(path, "optional"), "`optional`") => {
                let opath = child(path, "optional");
                let optional = self.require(o, &opath, &kinds);
                for q in optional.iter().filter(|q| q.lock) {
                    self.err(
                        &child(&child(&opath, &escape(&q.key)), "lock"),
                        "an optional key cannot be locked: lock a required one",
                    );
                }
                for q in optional.iter().filter(|q| require.iter().any(|r| r.key == q.key)) {
                    self.err(
                        &child(&opath, &escape(&q.key)),
                        format!("`{}` is both required and optional in this rule", q.key),
                    );
                }
                optional
            }
            _ => Vec::new(),
        };
        let fix_key_case = obj.contains_key("fix_key_case")
            && self.v2(&child(path, "fix_key_case"), "`fix_key_case`")
            && self.flag(obj, "fix_key_case", path);
        if !["require", "forbid", "optional"].iter().any(|k| obj.contains_key(*k)) {
            self.err(path, "a rule needs `require`, `optional` or `forbid`");
        }
        // Kept even when it has errors of its own, so that cross-rule checks still see it.
        Some(Rule {
            name,
            kinds,
            require,
            forbid,
            optional,
            fix_key_case,
            scope,
            mode,
        })
    }

    /// Whether version-2 features may be used; an error at `path` otherwise.
    fn v2(&mut self, path: &str, what: &str) -> bool {
        if self.version < 2 {
            self.err(path, format!("{what} needs `version: 2`"));
        }
        self.version >= 2
    }

    /// A default: literal in version 1; with placeholders in version 2.
    fn template(&mut self, text: &str, path: &str) -> Option<Template> {
        if self.version < 2 {
            return Some(Template::literal(text));
        }
        match Template::parse(text) {
            Ok(t) => Some(t),
            Err(message) => {
                self.err(path, message);
                None
            }
        }
    }
}

fn child(path: &str, segment: &str) -> String {
    format!("{path}/{}", escape(segment))
}

/// RFC 6901 escaping of one JSON-pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
