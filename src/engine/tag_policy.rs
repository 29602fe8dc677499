//! AWS Organizations tag policies (pure core): a tag policy, in policy syntax or as an effective
//! policy, read into what it says of Secrets Manager secrets and KMS keys, and written as a
//! version 2 tag-warden policy (YAML) that means the same, so the two never drift apart.
//!
//! Per key of `tags`: `tag_key` is the key in its exact case; `tag_value` the allowed values
//! (`*` a wildcard); `report_required_tag_for` naming the kind makes the key required, else
//! optional; `enforced_for` naming the kind makes its rule `mode: enforce`, else `report` (AWS
//! only reports those). Tag policies have no defaults; key case always counts
//! (`fix_key_case: true`).

use crate::domain::ResourceKind;
use serde_json::Value;

/// What a tag policy says of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagKeyRule {
    /// The key, in its exact case.
    pub key: String,
    /// The allowed values (`*` a wildcard), when restricted.
    pub values: Option<Vec<String>>,
    /// The kinds that must carry the key (`report_required_tag_for`).
    pub required_for: Vec<ResourceKind>,
    /// The kinds where non-compliant values are refused (`enforced_for`).
    pub enforced_for: Vec<ResourceKind>,
}

/// A tag policy as read: its keys, and what was ignored on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPolicy {
    /// The keys, in the document's order.
    pub keys: Vec<TagKeyRule>,
    /// Inheritance controls and fields that mean nothing for one policy, one line each.
    pub ignored: Vec<String>,
}

/// Why a document is not a tag policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagPolicyError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but no tag policy shape.
    #[error("not a tag policy: {0}; a tag policy is {{\"tags\": {{\"costcenter\": {{\"tag_key\": {{\"@@assign\": \"CostCenter\"}}, \"tag_value\": {{\"@@assign\": [\"100\", \"300*\"]}}, \"enforced_for\": …, \"report_required_tag_for\": …}}}}}}, or the response of `aws organizations describe-effective-policy --policy-type TAG_POLICY`, or its PolicyContent")]
    NotATagPolicy(String),
    /// A field with a value of the wrong shape.
    #[error("{path}: {why}")]
    Malformed {
        /// A JSON pointer into the tag policy.
        path: String,
        /// What was expected.
        why: String,
    },
}

/// The service spellings that name a kind in `enforced_for` and `report_required_tag_for`.
fn kinds_named(entry: &str) -> Vec<ResourceKind> {
    match entry {
        "secretsmanager:secret" | "secretsmanager:*" | "secretsmanager:ALL_SUPPORTED" => vec![ResourceKind::Secret],
        "kms:key" | "kms:*" | "kms:ALL_SUPPORTED" => vec![ResourceKind::KmsKey],
        _ => Vec::new(),
    }
}

/// Reads a tag policy: policy syntax (`@@assign`), an effective policy's `PolicyContent`, or
/// the whole `describe-effective-policy` response.
pub fn read(text: &str) -> Result<TagPolicy, TagPolicyError> {
    let value: Value = serde_json::from_str(text).map_err(|e| TagPolicyError::NotJson(e.to_string()))?;
    let content = match value.get("EffectivePolicy") {
        Some(effective) => {
            let text = effective.get("PolicyContent").and_then(Value::as_str).ok_or_else(|| {
                TagPolicyError::NotATagPolicy("`EffectivePolicy` has no `PolicyContent` string".to_owned())
            })?;
            serde_json::from_str(text).map_err(|e| {
                TagPolicyError::NotATagPolicy(format!("`EffectivePolicy.PolicyContent` is not JSON: {e}"))
            })?
        }
        None => value,
    };
    let tags = match content.get("tags") {
        Some(Value::Object(tags)) => tags,
        Some(_) => return Err(TagPolicyError::NotATagPolicy("`tags` is not an object".to_owned())),
        None => {
            let found = match &content {
                Value::Object(o) if o.contains_key("Statement") => "an IAM policy (`Statement`)".to_owned(),
                Value::Object(o) => format!(
                    "an object with keys [{}]",
                    o.keys().take(8).cloned().collect::<Vec<_>>().join(", ")
                ),
                other => format!("a JSON {}", if other.is_array() { "array" } else { "value" }),
            };
            return Err(TagPolicyError::NotATagPolicy(format!(
                "no `tags` object, found {found}"
            )));
        }
    };
    if tags.is_empty() {
        return Err(TagPolicyError::NotATagPolicy("`tags` names no key".to_owned()));
    }
    let mut cx = Reader::default();
    let mut keys = Vec::new();
    for (id, spec) in tags {
        if id.starts_with("@@") {
            cx.ignored.push(format!("/tags/{id}: an inheritance control, ignored"));
            continue;
        }
        keys.push(cx.key(id, spec)?);
    }
    Ok(TagPolicy {
        keys,
        ignored: cx.ignored,
    })
}

#[derive(Default)]
struct Reader {
    ignored: Vec<String>,
}

impl Reader {
    fn key(&mut self, id: &str, spec: &Value) -> Result<TagKeyRule, TagPolicyError> {
        let path = format!("/tags/{id}");
        let Some(obj) = spec.as_object() else {
            return Err(malformed(&path, "expected an object"));
        };
        let mut out = TagKeyRule {
            key: id.to_owned(),
            values: None,
            required_for: Vec::new(),
            enforced_for: Vec::new(),
        };
        for (field, v) in obj {
            let fpath = format!("{path}/{field}");
            match field.as_str() {
                "tag_key" => {
                    if let Some(k) = self.assigned(v, &fpath)? {
                        out.key = k
                            .as_str()
                            .filter(|k| !k.is_empty())
                            .map(str::to_owned)
                            .ok_or_else(|| malformed(&fpath, "expected a key"))?;
                    }
                }
                "tag_value" => out.values = self.assigned(v, &fpath)?.map(|v| strings(&v, &fpath)).transpose()?,
                "enforced_for" => out.enforced_for = self.kinds(v, &fpath)?,
                "report_required_tag_for" => out.required_for = self.kinds(v, &fpath)?,
                other if other.starts_with("@@") => {
                    self.ignored.push(format!("{fpath}: an inheritance control, ignored"))
                }
                _ => self.ignored.push(format!("{fpath}: not a tag policy field, ignored")),
            }
        }
        Ok(out)
    }

    /// A field's value: plain (an effective policy) or `{"@@assign": …}`; `@@append`,
    /// `@@remove` and `@@operators_allowed_for_child_policies` are inheritance controls,
    /// ignored (`None` when nothing is assigned).
    fn assigned(&mut self, v: &Value, path: &str) -> Result<Option<Value>, TagPolicyError> {
        let Some(obj) = v.as_object() else {
            return Ok(Some(v.clone()));
        };
        let mut assigned = None;
        for (op, x) in obj {
            match op.as_str() {
                "@@assign" => assigned = Some(x.clone()),
                "@@append" | "@@remove" | "@@operators_allowed_for_child_policies" => self
                    .ignored
                    .push(format!("{path}/{op}: an inheritance control, ignored (import the effective policy to see what it resolves to)")),
                other => return Err(malformed(path, &format!("`{other}` is not a tag policy operator (expected @@assign)"))),
            }
        }
        Ok(assigned)
    }

    fn kinds(&mut self, v: &Value, path: &str) -> Result<Vec<ResourceKind>, TagPolicyError> {
        let Some(v) = self.assigned(v, path)? else {
            return Ok(Vec::new());
        };
        let mut kinds = Vec::new();
        for entry in strings(&v, path)? {
            for k in kinds_named(&entry) {
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
        }
        Ok(kinds)
    }
}

fn malformed(path: &str, why: &str) -> TagPolicyError {
    TagPolicyError::Malformed {
        path: path.to_owned(),
        why: why.to_owned(),
    }
}

fn strings(v: &Value, path: &str) -> Result<Vec<String>, TagPolicyError> {
    let items = v
        .as_array()
        .ok_or_else(|| malformed(path, "expected a list of strings"))?;
    items
        .iter()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .ok_or_else(|| malformed(path, "expected a list of strings"))
        })
        .collect()
}

/// A tag value list as a tag-warden constraint: `values` when none has a wildcard, else an
/// anchored `pattern` in which every character but `*` keeps its literal meaning.
fn constraint(values: &[String]) -> String {
    if !values.iter().any(|v| v.contains('*')) {
        let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
        return format!("values: [{}]", list.join(", "));
    }
    let alternatives: Vec<String> = values
        .iter()
        .map(|v| v.split('*').map(regex::escape).collect::<Vec<_>>().join(".*"))
        .collect();
    format!("pattern: {}", quote(&format!("^(?:{})$", alternatives.join("|"))))
}

/// A YAML scalar: a JSON string is a valid YAML double-quoted scalar.
fn quote(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A set of accounts sharing one effective tag policy (`None`: every account, a single file).
#[derive(Debug, Clone)]
pub struct Scoped<'a> {
    /// The accounts, or all.
    pub accounts: Option<&'a [String]>,
    /// Their tag policy.
    pub policy: &'a TagPolicy,
}

/// A version 2 tag-warden policy (YAML) meaning, for secrets and keys, what the tag policies
/// mean where they apply; `header` lines become comments on top.
pub fn to_yaml(header: &[String], scoped: &[Scoped<'_>]) -> String {
    let mut out: Vec<String> = header.iter().map(|h| format!("# {h}")).collect();
    out.push("version: 2".to_owned());
    out.push("rules:".to_owned());
    for (group, s) in scoped.iter().enumerate() {
        for kind in ResourceKind::ALL {
            for enforce in [true, false] {
                let keys: Vec<&TagKeyRule> = s
                    .policy
                    .keys
                    .iter()
                    .filter(|k| k.enforced_for.contains(&kind) == enforce)
                    .collect();
                let (required, optional): (Vec<&TagKeyRule>, Vec<&TagKeyRule>) =
                    keys.into_iter().partition(|k| k.required_for.contains(&kind));
                if required.is_empty() && optional.is_empty() {
                    continue;
                }
                let mode = if enforce { "enforce" } else { "report" };
                let suffix = if s.accounts.is_some() {
                    format!("-{}", group + 1)
                } else {
                    String::new()
                };
                out.push(format!(
                    "  - name: {}",
                    quote(&format!("tag-policy-{}-{mode}{suffix}", kind.as_str()))
                ));
                out.push(format!("    resources: [{}]", kind.as_str()));
                out.push(format!("    mode: {mode}"));
                if let Some(accounts) = s.accounts {
                    let list: Vec<String> = accounts.iter().map(|a| quote(a)).collect();
                    out.push(format!("    match: {{ accounts: [{}] }}", list.join(", ")));
                }
                out.push("    fix_key_case: true".to_owned());
                for (section, keys) in [("require", required), ("optional", optional)] {
                    if keys.is_empty() {
                        continue;
                    }
                    out.push(format!("    {section}:"));
                    for k in keys {
                        let spec = k.values.as_deref().map(constraint).unwrap_or_default();
                        out.push(format!("      {}: {{ {spec} }}", quote(&k.key)).replace("{  }", "{}"));
                    }
                }
            }
        }
    }
    out.push(String::new());
    out.join("\n")
}

/// The policy of an organization: each account's effective tag policy (`None`: none applies
/// there), accounts with the same one sharing rules scoped to them. Also says which accounts
/// have none, and what was ignored.
pub fn organization_yaml(
    header: &[String],
    per_account: &[(String, Option<String>)],
) -> Result<(String, Vec<String>), TagPolicyError> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let mut notes = Vec::new();
    for (account, content) in per_account {
        match content {
            None => notes.push(format!(
                "account {account}: no tag policy applies, so no rule is scoped to it"
            )),
            Some(c) => match groups.iter_mut().find(|(g, _)| g == c) {
                Some((_, accounts)) => accounts.push(account.clone()),
                None => groups.push((c.clone(), vec![account.clone()])),
            },
        }
    }
    let mut policies = Vec::with_capacity(groups.len());
    for (content, accounts) in &groups {
        let policy = read(content).map_err(|e| TagPolicyError::Malformed {
            path: format!("the effective tag policy of {}", accounts.join(", ")),
            why: e.to_string(),
        })?;
        notes.extend(policy.ignored.iter().cloned());
        policies.push(policy);
    }
    let scoped: Vec<Scoped<'_>> = groups
        .iter()
        .zip(&policies)
        .map(|((_, accounts), policy)| Scoped {
            accounts: Some(accounts.as_slice()),
            policy,
        })
        .collect();
    if scoped.is_empty() {
        return Err(TagPolicyError::NotATagPolicy("no account has a tag policy".to_owned()));
    }
    Ok((to_yaml(header, &scoped), notes))
}

/// The lines of `ours` and `theirs` that differ, comments left out (the header carries a date),
/// as `-`/`+` lines; empty when they mean the same text.
pub fn diff(theirs: &str, ours: &str) -> Vec<String> {
    let lines = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    let (a, b) = (lines(theirs), lines(ours));
    if a == b {
        return Vec::new();
    }
    let mut out: Vec<String> = a.iter().filter(|l| !b.contains(l)).map(|l| format!("- {l}")).collect();
    out.extend(b.iter().filter(|l| !a.contains(l)).map(|l| format!("+ {l}")));
    if out.is_empty() {
        out.push("(the same lines in another order)".to_owned());
    }
    out
}

#[cfg(test)]
#[path = "tag_policy_tests.rs"]
mod tests;
