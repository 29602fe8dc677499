//! Guardrails (pure core): the policy as AWS Organizations service control policies (SCPs) or
//! resource control policies (RCPs) that refuse a tag change up front, where IAM can say it.
//! tag-warden repairs after the fact; these close the window before.
//!
//! Every statement is a `Deny` with the exempt principals left out (`ArnNotLike
//! aws:PrincipalArn`), so statements are independent and any split of them into documents
//! means the same. Statements that differ only in their alternatives (`ForAnyValue:` values)
//! or only in their actions are merged first, so that a policy fits the few documents a root,
//! OU or account takes. The statements, for each rule in `enforce` mode and each kind it governs:
//! 1. (once, for every rule, as the policy's `exemptions.set_by` says) setting or removing any
//!    `tag-warden:*` key;
//! 2. setting a forbidden key (`forbid` globs), on TagResource and at creation;
//! 3. removing a required key (UntagResource);
//! 4. changing a locked key the resource already carries (`Null aws:ResourceTag/KEY` false);
//! 5. setting a key with a `values` list to another value, when the key is in the request.
//!
//! And, so that no one else can claim an exemption: in an SCP, changes to the exempt roles (by
//! their ARN patterns) by anyone but the deployers; in an RCP, any tag change by a principal
//! named like an exempt one from outside the organization.
//!
//! What IAM cannot express (a `pattern`, a derived value, a scope without an equivalent) is
//! returned as notes, one per rule or key; a rule whose scope cannot be expressed produces
//! nothing rather than a broader denial.

use crate::domain::{Mode, ResourceKind};
use crate::engine::policy::{Glob, Policy, Rule, Scope, TagCondition, Template};
use crate::kinds::Naming;
mod beside;
mod options;
mod protect;
mod statement;

use beside::{exemptions_kept, own_keys, replication};
pub use options::{Limits, Options, DEFAULT_DEPLOYERS, MAX_DOCUMENTS, MAX_POLICY_BYTES, OWN_KEYS, ROLE_CHANGES};
pub use protect::Protect;
use serde_json::Value;
pub use statement::size;
use statement::{merge, pack, Statement};

/// Which kind of organization policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardrailKind {
    /// A service control policy: attached to principals' accounts; no `Principal` element.
    Scp,
    /// A resource control policy: attached to resources' accounts; `Principal: "*"`, and AWS
    /// service principals are never denied.
    Rcp,
}

impl GuardrailKind {
    /// `scp` or `rcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardrailKind::Scp => "scp",
            GuardrailKind::Rcp => "rcp",
        }
    }

    /// AWS Organizations' policy type.
    pub fn organizations_type(self) -> &'static str {
        match self {
            GuardrailKind::Scp => "SERVICE_CONTROL_POLICY",
            GuardrailKind::Rcp => "RESOURCE_CONTROL_POLICY",
        }
    }
}

/// The documents, and what they could not say.
#[derive(Debug, Clone, PartialEq)]
pub struct Guardrails {
    /// Policy documents, each at most [`Limits::max_bytes`] minified.
    pub documents: Vec<Value>,
    /// What IAM cannot express, one line each, with why.
    pub notes: Vec<String>,
    /// What was done beyond the rules, as the policy or the options asked (not a gap).
    pub done: Vec<String>,
}

/// Why no documents could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardrailError {
    /// One statement is too large for a document on its own and cannot be split.
    #[error("statement {sid} alone takes {bytes} bytes, more than the {max} a policy may have (--max-size): shorten its values or the exempt principals")]
    TooLarge {
        /// The statement.
        sid: String,
        /// Its size in a document of its own.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The policy needs more documents than a target can take.
    #[error(
        "the policy needs {needed} {} documents, and a root, OU or account takes at most {limit} beside the AWS-managed {}: \
         spread them over root, OU and account levels and say how many each level takes (--max-documents {needed}), \
         or guard fewer scopes (rules with `mode: report` produce none)",
        kind.as_str().to_uppercase(),
        match kind { GuardrailKind::Scp => "FullAWSAccess", GuardrailKind::Rcp => "RCPFullAWSAccess" }
    )]
    TooMany {
        /// SCP or RCP.
        kind: GuardrailKind,
        /// Documents needed.
        needed: usize,
        /// Documents allowed.
        limit: usize,
    },
}

/// A literal for IAM string operators: `$` starts a policy variable, so it is written `${$}`.
fn literal(text: &str) -> String {
    text.replace('$', "${$}")
}

/// A glob for `StringLike`/`ArnLike`: the same `*` and `?`; `$` escaped.
fn like(glob: &Glob) -> String {
    literal(glob.as_str())
}

/// Tag changes, by kind: (tag, untag, create), from the kind's module.
fn actions(kind: ResourceKind) -> (&'static str, &'static str, &'static str) {
    let iam = kind.spec().iam;
    (iam.tag, iam.untag, iam.create)
}

/// The creation call a guardrail kind can govern, if any: an RCP governs calls on existing
/// resources, so it has none for a kind whose creation is authorized against no resource
/// (KMS: tags given at CreateKey).
fn creation(kind: ResourceKind, gk: GuardrailKind) -> Option<&'static str> {
    let iam = kind.spec().iam;
    (iam.create_on_resource || gk != GuardrailKind::Rcp).then_some(iam.create)
}

/// Every call that changes a kind's tags that a guardrail kind can govern: tag, untag and,
/// where it can, the creation.
fn tag_changes(kind: ResourceKind, gk: GuardrailKind) -> Vec<&'static str> {
    let (tag, untag, _) = actions(kind);
    let mut acts = vec![tag, untag];
    acts.extend(creation(kind, gk));
    acts
}

/// Every resource of a kind: `*`, which the actions keep to that kind's resources (so that
/// statements of both kinds saying the same can be one).
fn every(_kind: ResourceKind) -> String {
    "*".to_owned()
}

fn kind_word(kind: ResourceKind) -> &'static str {
    kind.spec().plural
}

/// An IAM action's call (`kms:CreateKey` → `CreateKey`).
fn call_name(action: &str) -> &str {
    action.split_once(':').map_or(action, |(_, call)| call)
}

/// Which of a rule's statements apply where, as IAM can say it.
struct Where {
    /// Resources of statements on existing resources.
    resources: Vec<String>,
    /// Conditions of statements on existing resources.
    existing: Vec<(String, String, Vec<String>)>,
    /// Conditions of creation statements; `None`: creation cannot be scoped so.
    creation: Option<Vec<(String, String, Vec<String>)>>,
}

/// A rule's `match` for one kind as resources and conditions, or why it cannot be said.
fn scope_of(scope: &Scope, kind: ResourceKind, notes: &mut Vec<String>, rule: &str) -> Option<Where> {
    let mut w = Where {
        resources: vec![every(kind)],
        existing: Vec::new(),
        creation: Some(Vec::new()),
    };
    let both = |w: &mut Where, op: &str, key: &str, values: Vec<String>| {
        w.existing.push((op.to_owned(), key.to_owned(), values.clone()));
        if let Some(c) = w.creation.as_mut() {
            c.push((op.to_owned(), key.to_owned(), values));
        }
    };
    let spec = kind.spec();
    let create_call = call_name(spec.iam.create);
    match (kind, &scope.names, &scope.arns) {
        (_, Some(_), Some(_)) => {
            notes.push(format!(
                "rule `{rule}`: `match` gives both `names` and `arns`, which IAM cannot require together: no guardrail for it ({})",
                kind.as_str()
            ));
            return None;
        }
        (_, Some(names), None) => match kind.spec().naming {
            Naming::Own { arn_like, .. } => {
                w.resources = names.iter().map(|g| arn_like.replace("{}", &like(g))).collect();
            }
            Naming::Aliases { condition_key, prefix } => {
                w.existing.push((
                    "ForAnyValue:StringLike".into(),
                    condition_key.into(),
                    names.iter().map(|g| format!("{prefix}{}", like(g))).collect(),
                ));
                w.creation = None;
                notes.push(format!(
                    "rule `{rule}`: a new {} has no alias yet, so `names` cannot scope tags given at {}: only changes to existing {}s are denied",
                    spec.resource_type, create_call, spec.resource_type
                ));
            }
        },
        (_, None, Some(arns)) => {
            w.resources = arns.iter().map(like).collect();
            if !spec.iam.create_on_resource {
                w.creation = None;
                notes.push(format!(
                    "rule `{rule}`: tags given at {create_call} are authorized against no {} ARN, so `arns` cannot scope them: only changes to existing {}s are denied",
                    spec.resource_type, spec.resource_type
                ));
            }
        }
        (_, None, None) => {}
    }
    if let Some(accounts) = &scope.accounts {
        both(&mut w, "StringEquals", "aws:ResourceAccount", accounts.clone());
    }
    if let Some(regions) = &scope.regions {
        both(
            &mut w,
            "StringLike",
            "aws:RequestedRegion",
            regions.iter().map(like).collect(),
        );
    }
    if !scope.tags.is_empty() {
        notes.push(format!(
            "rule `{rule}`: `match.tags` is read before the change (aws:ResourceTag; at creation, the request's tags), tag-warden reads the tags after it"
        ));
    }
    for (key, cond) in &scope.tags {
        let (op, values) = match cond {
            TagCondition::Present => ("Null", vec!["false".to_owned()]),
            TagCondition::Absent => ("Null", vec!["true".to_owned()]),
            TagCondition::Values(globs) => ("StringLike", globs.iter().map(like).collect()),
        };
        w.existing.push((
            op.to_owned(),
            format!("aws:ResourceTag/{}", literal(key)),
            values.clone(),
        ));
        if let Some(c) = w.creation.as_mut() {
            c.push((op.to_owned(), format!("aws:RequestTag/{}", literal(key)), values));
        }
    }
    Some(w)
}

/// Builds statements of one rule and kind, scoped by `w`, dropping any whose conditions
/// contradict the scope's.
fn scoped(
    statement: Statement,
    conditions: &[(String, String, Vec<String>)],
    out: &mut Vec<Statement>,
    notes: &mut Vec<String>,
) {
    let mut st = statement;
    for (op, key, values) in conditions {
        if !st.with(op, key, values.clone()) {
            notes.push(format!(
                "{}: its scope contradicts its own condition on `{key}`, so it could never apply: left out",
                st.sid
            ));
            return;
        }
    }
    out.push(st);
}

/// The statements of one rule for one kind.
fn rule_statements(
    rule: &Rule,
    index: usize,
    kind: ResourceKind,
    gk: GuardrailKind,
    notes: &mut Vec<String>,
) -> Vec<Statement> {
    let mut out = Vec::new();
    let Some(w) = scope_of(&rule.scope, kind, notes, &rule.name) else {
        return out;
    };
    let (tag, untag, _) = actions(kind);
    let k = kind_word(kind);
    // Tags given at creation: CreateSecret on the new secret; for KMS, CreateKey and the
    // kms:TagResource it is authorized through (none under an RCP).
    let creating: Vec<&'static str> = creation(kind, gk).into_iter().collect();
    let setting = |sid: String, with_creation: bool| {
        let mut acts = vec![tag];
        if with_creation {
            acts.extend(creating.iter().copied());
        }
        Statement::new(sid, acts, w.resources.clone())
    };
    // Setting happens both on existing resources and at creation; when the creation cannot be
    // scoped as the rule is, only the existing resources are covered.
    let creation = w.creation.as_ref();
    let set_scope: &[(String, String, Vec<String>)] = &w.existing;
    if !rule.forbid.is_empty() {
        let globs: Vec<String> = rule.forbid.iter().map(like).collect();
        // Existing resources (aws:ResourceTag scope) and creation (aws:RequestTag scope) differ
        // when the rule scopes by tags: then two statements.
        let same = creation.is_some_and(|c| *c == w.existing);
        scoped(
            setting(format!("Forbid{k}{index}"), same).any_of("ForAnyValue:StringLike", "aws:TagKeys", globs.clone()),
            set_scope,
            &mut out,
            notes,
        );
        if let (false, Some(c), false) = (same, creation, creating.is_empty()) {
            scoped(
                Statement::new(format!("Forbid{k}{index}New"), creating.clone(), w.resources.clone()).any_of(
                    "ForAnyValue:StringLike",
                    "aws:TagKeys",
                    globs,
                ),
                c,
                &mut out,
                notes,
            );
        }
    }
    let required: Vec<String> = rule.require.iter().map(|q| literal(&q.key)).collect();
    if !required.is_empty() {
        scoped(
            Statement::new(format!("Required{k}{index}"), vec![untag], w.resources.clone()).any_of(
                "ForAnyValue:StringEquals",
                "aws:TagKeys",
                required,
            ),
            &w.existing,
            &mut out,
            notes,
        );
    }
    // The keys the rule's `match.tags` reads: removing one, or setting it to a value out of the
    // rule, would take the resource out of it (the runtime puts it back; this refuses it).
    let scope_keys: Vec<String> = crate::engine::evaluate::scope_keys(rule).map(literal).collect();
    if !scope_keys.is_empty() {
        scoped(
            Statement::new(format!("ScopeKeys{k}{index}"), vec![untag], w.resources.clone()).any_of(
                "ForAnyValue:StringEquals",
                "aws:TagKeys",
                scope_keys,
            ),
            &w.existing,
            &mut out,
            notes,
        );
        for (j, (key, cond)) in rule.scope.tags.iter().enumerate() {
            if let TagCondition::Values(globs) = cond {
                let key = literal(key);
                let mut st = Statement::new(format!("ScopeValue{k}{index}x{j}"), vec![tag], w.resources.clone());
                st.with(
                    "StringNotLike",
                    &format!("aws:RequestTag/{key}"),
                    globs.iter().map(like).collect(),
                );
                st.with("Null", &format!("aws:RequestTag/{key}"), vec!["false".to_owned()]);
                scoped(st, &w.existing, &mut out, notes);
            }
        }
    }
    for (j, q) in rule.require.iter().chain(&rule.optional).enumerate() {
        let key = literal(&q.key);
        if q.lock {
            let mut st = Statement::new(format!("Lock{k}{index}x{j}"), vec![tag], w.resources.clone());
            st.with("ForAnyValue:StringEquals", "aws:TagKeys", vec![key.clone()]);
            st.with("Null", &format!("aws:ResourceTag/{key}"), vec!["false".to_owned()]);
            scoped(st, &w.existing, &mut out, notes);
        }
        if let Some(values) = &q.values {
            let values: Vec<String> = values.iter().map(|v| literal(v)).collect();
            let same = creation.is_some_and(|c| *c == w.existing);
            let value_check = |mut st: Statement| {
                st.with("StringNotEquals", &format!("aws:RequestTag/{key}"), values.clone());
                // A negated operator on a key absent from the request is true: the key must be
                // in the request for the value check to mean anything.
                st.with("Null", &format!("aws:RequestTag/{key}"), vec!["false".to_owned()]);
                st
            };
            scoped(
                value_check(setting(format!("Values{k}{index}x{j}"), same)),
                set_scope,
                &mut out,
                notes,
            );
            if let (false, Some(c), false) = (same, creation, creating.is_empty()) {
                let st = Statement::new(
                    format!("Values{k}{index}x{j}New"),
                    creating.clone(),
                    w.resources.clone(),
                );
                scoped(value_check(st), c, &mut out, notes);
            }
        }
        if q.pattern.is_some() {
            notes.push(format!(
                "rule `{}`, key `{}`: `pattern` is a regular expression, which IAM cannot match: tag-warden repairs it at runtime",
                rule.name, q.key
            ));
        }
        if q.default.as_ref().is_some_and(|d| d.fixed().is_none()) {
            notes.push(format!(
                "rule `{}`, key `{}`: the default `{}` is derived from the resource or its creator, which IAM cannot require: tag-warden sets it",
                rule.name,
                q.key,
                q.default.as_ref().map_or("", Template::as_str)
            ));
        }
    }
    out
}

/// The guardrails of `policy` as `kind` documents that never deny the exempt principals.
pub fn guardrails(policy: &Policy, kind: GuardrailKind, opts: &Options) -> Result<Guardrails, GuardrailError> {
    let exempt = &opts.exempt;
    let mut notes = Vec::new();
    let mut statements = Vec::new();
    if policy.mode == Mode::Report {
        notes.push(
            "the policy's mode is `report`: tag-warden writes nothing, but these guardrails deny; deploy them only when you mean to enforce".to_owned(),
        );
    }
    if !policy.waivers.is_empty() {
        notes.push("policy `waivers` are not expressed: the guardrails apply to waived resources too".to_owned());
    }
    if exempt.is_empty() {
        notes.push("no exempt principal: the guardrails deny everyone, tag-warden itself included".to_owned());
    }
    let mut done = Vec::new();
    statements.extend(own_keys(policy.exemptions.set_by, kind, &mut done));
    if kind == GuardrailKind::Rcp {
        for spec in ResourceKind::ALL
            .map(ResourceKind::spec)
            .iter()
            .filter(|s| !s.iam.create_on_resource)
        {
            notes.push(format!(
                "RCPs govern calls on existing resources: tags given at {} are authorized against no {}, so use the SCP for them",
                call_name(spec.iam.create),
                spec.resource_type
            ));
        }
    }
    for (i, rule) in policy.rules.iter().enumerate() {
        if rule.mode == Some(Mode::Report) {
            notes.push(format!("rule `{}` is `mode: report`: no guardrail", rule.name));
            continue;
        }
        for k in &rule.kinds {
            statements.extend(rule_statements(rule, i, *k, kind, &mut notes));
        }
        for k in &rule.kinds {
            let iam = k.spec().iam;
            if let Some(replicate) = iam.replicate {
                statements.extend(replication(rule, i, (*k, replicate), &mut notes));
            }
            notes.extend(iam.replicate_note.map(str::to_owned));
        }
    }
    statements.extend(exemptions_kept(kind, opts, &mut notes, &mut done));
    if let (Some(p), GuardrailKind::Scp) = (&opts.protect, kind) {
        statements.extend(protect::statements(p, &opts.deployers, &mut done));
    }
    // A rule over both kinds says the same of each: once.
    let mut unique: Vec<String> = Vec::new();
    for n in notes {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    let mut said: Vec<String> = Vec::new();
    for d in done {
        if !said.contains(&d) {
            said.push(d);
        }
    }
    let statements = if opts.unmerged { statements } else { merge(statements) };
    Ok(Guardrails {
        documents: pack(statements, kind, exempt, &opts.limits)?,
        notes: unique,
        done: said,
    })
}

#[cfg(test)]
mod tests;
