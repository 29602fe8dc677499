//! AWS Organizations tag policies (pure core): a tag policy, in policy syntax or as an effective
//! policy, read into what it says of Secrets Manager secrets and KMS keys, and written as a
//! version 2 tag-warden policy (YAML) that means the same, so the two never drift apart.
//!
//! Per key of `tags`, as AWS reads it: `tag_key` is the key in its exact case, and without it
//! the policy key in lowercase ("lowercase is the default case treatment"); it may differ from
//! the policy key only in case. `tag_value` the allowed values (one `*` a value at most, a
//! wildcard); an empty list means no value is compliant (the key is prevented);
//! `report_required_tag_for` naming the kind makes the key required, else optional;
//! `enforced_for` naming the kind makes its rule `mode: enforce`, else `report` (AWS only
//! reports those). One policy read alone has nothing to inherit: `@@append` sets a field as
//! `@@assign` does. Tag policies have no defaults; key case always counts (`fix_key_case: true`).
//! Keys and values are checked against each kind's limits (a secret's key 127 characters and
//! value 255, a KMS key's 128 and 256): what fits one kind only is imported for that one.

pub use super::tag_policy_syntax::{diff, TagPolicyError};
use super::tag_policy_syntax::{document, kinds_named};
use crate::domain::ResourceKind;
use serde_json::Value;

/// What a tag policy says of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagKeyRule {
    /// The key, in its exact case.
    pub key: String,
    /// The allowed values (`*` a wildcard), when restricted; an empty list: no value is
    /// compliant, the key must not be used.
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

/// Reads a tag policy: policy syntax (`@@assign`), an effective policy's `PolicyContent`, or
/// the whole `describe-effective-policy` response.
pub fn read(text: &str) -> Result<TagPolicy, TagPolicyError> {
    read_content(&document(text)?)
}

/// Reads a tag policy's content (the object with `tags`), as [`read`] does.
pub fn read_content(content: &Value) -> Result<TagPolicy, TagPolicyError> {
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
    let mut keys: Vec<TagKeyRule> = Vec::new();
    let mut ids: Vec<&str> = Vec::new();
    for (id, spec) in tags {
        if id.starts_with("@@") {
            cx.ignored.push(format!("/tags/{id}: an inheritance control, ignored"));
            continue;
        }
        if let Some(other) = ids.iter().find(|o| o.eq_ignore_ascii_case(id)) {
            return Err(malformed(
                &format!("/tags/{id}"),
                &format!("`{id}` and `{other}` are one policy key to AWS (policy keys are not case-sensitive)"),
            ));
        }
        ids.push(id);
        let key = cx.key(id, spec)?;
        fits_a_kind(&key, &format!("/tags/{id}"))?;
        for kind in ResourceKind::ALL.into_iter().filter(|k| !fits(&key, *k)) {
            cx.ignored.push(format!(
                "/tags/{id}: `{}` or a value is longer than a {} can carry: imported for the other kind only",
                key.key,
                kind.as_str()
            ));
        }
        if key.values.as_ref().is_some_and(Vec::is_empty) && !key.required_for.is_empty() {
            cx.ignored.push(format!(
                "/tags/{id}: no value is allowed, so the key is forbidden; that it is also required (report_required_tag_for) can never be met, and is left out"
            ));
        }
        keys.push(key);
    }
    Ok(TagPolicy {
        keys,
        ignored: cx.ignored,
    })
}

/// Whether the key may be carried by some kind; which kinds it fits is [`fits`].
fn fits_a_kind(key: &TagKeyRule, path: &str) -> Result<(), TagPolicyError> {
    if ResourceKind::ALL.into_iter().any(|k| fits(key, k)) {
        return Ok(());
    }
    let each: Vec<String> = ResourceKind::ALL
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let (l, title) = (k.limits(), k.spec().title);
            match i {
                0 => format!(
                    "a {title} (key {}, value {} characters)",
                    l.max_key_chars, l.max_value_chars
                ),
                _ => format!("a {title} ({}, {})", l.max_key_chars, l.max_value_chars),
            }
        })
        .collect();
    Err(malformed(
        path,
        &format!(
            "the key or one of its values is longer than {} can carry",
            each.join(" or ")
        ),
    ))
}

/// Whether the key and every value fit the kind's limits.
pub fn fits(key: &TagKeyRule, kind: ResourceKind) -> bool {
    let limits = kind.limits();
    key.key.chars().count() <= limits.max_key_chars
        && key
            .values
            .iter()
            .flatten()
            .all(|v| v.chars().count() <= limits.max_value_chars)
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
        // Without `tag_key`, AWS requires the policy key in lowercase.
        let mut out = TagKeyRule {
            key: id.to_lowercase(),
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
                        if !out.key.eq_ignore_ascii_case(id) {
                            return Err(malformed(
                                &fpath,
                                &format!(
                                    "`{}` must be the policy key `{id}` in some case (AWS refuses a tag_key that differs otherwise)",
                                    out.key
                                ),
                            ));
                        }
                    }
                }
                "tag_value" => {
                    out.values = self.assigned(v, &fpath)?.map(|v| strings(&v, &fpath)).transpose()?;
                    for value in out.values.iter().flatten() {
                        if value.matches('*').count() > 1 {
                            return Err(malformed(
                                &fpath,
                                &format!("`{value}` has more than one `*`: AWS allows one wildcard a value"),
                            ));
                        }
                    }
                }
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

    /// A field's value: plain (an effective policy) or `{"@@assign": …}`. A policy read alone
    /// inherits nothing, so `@@append` adds to what `@@assign` set, or sets it; `@@remove`
    /// and `@@operators_allowed_for_child_policies` govern children only, ignored (`None` when
    /// nothing is assigned).
    fn assigned(&mut self, v: &Value, path: &str) -> Result<Option<Value>, TagPolicyError> {
        let Some(obj) = v.as_object() else {
            return Ok(Some(v.clone()));
        };
        let mut assigned: Option<Value> = None;
        for (op, x) in obj {
            match op.as_str() {
                "@@assign" => {
                    assigned = Some(match (assigned.take(), x) {
                        (Some(Value::Array(mut before)), Value::Array(more)) => {
                            before.extend(more.iter().cloned());
                            Value::Array(before)
                        }
                        _ => x.clone(),
                    })
                }
                "@@append" => {
                    assigned = Some(match (assigned.take(), x) {
                        (Some(Value::Array(mut before)), Value::Array(more)) => {
                            for m in more {
                                if !before.contains(m) {
                                    before.push(m.clone());
                                }
                            }
                            Value::Array(before)
                        }
                        _ => x.clone(),
                    })
                }
                "@@remove" | "@@operators_allowed_for_child_policies" => self
                    .ignored
                    .push(format!("{path}/{op}: an inheritance control for child policies, ignored (import the effective policy to see what it resolves to)")),
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
            for k in kinds_named(&entry).map_err(|why| malformed(path, &why))? {
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

/// Text for a YAML comment: control characters (a newline above all) escaped, so the comment
/// stays one line.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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
    // A header line names a file or account someone chose: a newline in it must not start a
    // line of policy, so every control character is written escaped.
    let mut out: Vec<String> = header.iter().map(|h| format!("# {}", comment(h))).collect();
    out.push("version: 2".to_owned());
    out.push("rules:".to_owned());
    for (group, s) in scoped.iter().enumerate() {
        for kind in ResourceKind::ALL {
            for enforce in [true, false] {
                let keys: Vec<&TagKeyRule> = s
                    .policy
                    .keys
                    .iter()
                    .filter(|k| k.enforced_for.contains(&kind) == enforce && fits(k, kind))
                    .collect();
                // An empty value list: no value is compliant, the key must not be there.
                let (prevented, keys): (Vec<&TagKeyRule>, Vec<&TagKeyRule>) = keys
                    .into_iter()
                    .partition(|k| k.values.as_ref().is_some_and(Vec::is_empty));
                let (required, optional): (Vec<&TagKeyRule>, Vec<&TagKeyRule>) =
                    keys.into_iter().partition(|k| k.required_for.contains(&kind));
                if required.is_empty() && optional.is_empty() && prevented.is_empty() {
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
                if !required.is_empty() || !optional.is_empty() {
                    out.push("    fix_key_case: true".to_owned());
                }
                if !prevented.is_empty() {
                    let list: Vec<String> = prevented.iter().map(|k| quote(&k.key)).collect();
                    out.push(format!("    forbid: [{}]", list.join(", ")));
                }
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

/// What an organization's import came to: the policy, what was ignored, and the accounts
/// that could not be imported (each with why), which the others do not wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationImport {
    /// The tag-warden policy (YAML).
    pub yaml: String,
    /// What was ignored or left out, one line each.
    pub notes: Vec<String>,
    /// `account: why`, for each account whose tag policy could not be read or imported.
    pub failed: Vec<String>,
}

/// The policy of an organization: each account's effective tag policy (`Ok(None)`: none
/// applies there; `Err`: it could not be read), accounts with the same one sharing rules
/// scoped to them. The rules' order and numbering depend on the policies alone (sorted by
/// their text), never on the order accounts are listed in.
pub fn organization_yaml(
    header: &[String],
    per_account: &[(String, Result<Option<String>, String>)],
) -> Result<OrganizationImport, TagPolicyError> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let mut notes = Vec::new();
    let mut failed = Vec::new();
    let mut none = 0;
    for (account, content) in per_account {
        match content {
            Err(why) => failed.push(format!("account {account}: {why}")),
            Ok(None) => {
                none += 1;
                notes.push(format!(
                    "account {account}: no tag policy applies, so no rule is scoped to it"
                ))
            }
            Ok(Some(c)) => match groups.iter_mut().find(|(g, _)| g == c) {
                Some((_, accounts)) => accounts.push(account.clone()),
                None => groups.push((c.clone(), vec![account.clone()])),
            },
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut read_ok: Vec<(Vec<String>, TagPolicy)> = Vec::with_capacity(groups.len());
    for (content, mut accounts) in groups {
        accounts.sort();
        match read(&content) {
            Ok(policy) => {
                notes.extend(policy.ignored.iter().cloned());
                read_ok.push((accounts, policy));
            }
            Err(e) => failed.extend(
                accounts
                    .iter()
                    .map(|a| format!("account {a}: its effective tag policy is refused: {e}")),
            ),
        }
    }
    let scoped: Vec<Scoped<'_>> = read_ok
        .iter()
        .map(|(accounts, policy)| Scoped {
            accounts: Some(accounts.as_slice()),
            policy,
        })
        .collect();
    if scoped.is_empty() {
        let why = if none > 0 && failed.is_empty() {
            "no account has an effective tag policy: are tag policies enabled in the organization (`aws organizations enable-policy-type --root-id r-… --policy-type TAG_POLICY`) and attached?".to_owned()
        } else {
            format!("no account's tag policy could be imported ({})", failed.join("; "))
        };
        return Err(TagPolicyError::NotATagPolicy(why));
    }
    Ok(OrganizationImport {
        yaml: to_yaml(header, &scoped),
        notes,
        failed,
    })
}

#[cfg(test)]
#[path = "tag_policy_tests.rs"]
mod tests;
