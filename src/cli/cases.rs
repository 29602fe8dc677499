//! `tag-warden test CASES_FILE [--policy P]`: policy tests that run offline, in CI. Each case is
//! a resource (kind, name, account, region, tags), optionally the event that names it and the
//! values remembered for it, and what to expect. Cases go through the handler's own
//! evaluation path (`Judge::settle`, over the offline store), not a second implementation.

use super::{load_policy, CliError};
use crate::adapters::offline::OfflineBackend;
use crate::domain::{Date, Outcome, ResourceContext, ResourceKind, Tags, EXEMPT_UNTIL_TAG};
use crate::engine::evaluate::Finding;
use crate::engine::intake::{intake, Intake, IntakeOptions};
use crate::engine::policy::{read_document, Format, Policy};
use crate::ports::{Backend, Remembered, ResourceState};
use crate::run::resource::{Judge, Observed, Recall};
use crate::view::report::ResourceReport;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    policy: Option<String>,
    /// The day the cases are judged on (UTC); default: today.
    today: Option<String>,
    cases: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    resource: Resource,
    event: Option<Value>,
    #[serde(default)]
    memory: Tags,
    today: Option<String>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resource {
    kind: ResourceKind,
    name: Option<String>,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    tags: Tags,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    outcome: Option<Outcome>,
    add: Option<Tags>,
    remove: Option<Vec<String>>,
    violations: Option<Vec<String>>,
}

/// A case ready to run.
struct Ready {
    name: String,
    ctx: ResourceContext,
    state: ResourceState,
    memory: Tags,
    ignored: Option<String>,
    expect: Expect,
}

/// Runs every case; prints a line per case, a diff per failure, and `N passed, N failed`.
pub fn run(path: &Path, policy_flag: Option<&Path>) -> Result<(), CliError> {
    let (policy, cases) = load(path, policy_flag)?;
    let runtime = super::runtime()?;
    let (mut passed, mut failed) = (0, 0);
    for case in cases {
        let diffs = match &case.ignored {
            Some(reason) => compare_ignored(&case.expect, reason),
            None => compare(&case.expect, &runtime.block_on(judge(&policy, &case))),
        };
        if diffs.is_empty() {
            passed += 1;
            outln!("ok   {}", case.name);
        } else {
            failed += 1;
            outln!("FAIL {}", case.name);
            for d in diffs {
                outln!("     {d}");
            }
        }
    }
    outln!("{passed} passed, {failed} failed");
    if failed > 0 {
        return Err(CliError::Quiet(super::EXIT_FAILED));
    }
    Ok(())
}

/// The case judged as the handler judges a resource whose state was just read.
async fn judge(policy: &Policy, case: &Ready) -> ResourceReport {
    let store = OfflineBackend::new(case.state.tags.clone(), case.ctx.name.clone())
        .store(&crate::domain::Cell::new(None, ""), case.ctx.kind);
    let judge = Judge::<crate::ports::NoMemory> {
        policy,
        mode: policy.mode,
        memory: None,
        patience: None,
        records: true,
    };
    let recall = Recall::Known((!case.memory.is_empty()).then(|| Remembered {
        values: case.memory.clone(),
        ..Remembered::default()
    }));
    let seen = Observed {
        state: case.state.clone(),
        recall,
        at_ms: 0,
    };
    judge.settle(&store, case.ctx.clone(), seen, None).await
}

/// What differs from what was expected, one line each.
fn compare(expect: &Expect, entry: &ResourceReport) -> Vec<String> {
    let mut diffs = Vec::new();
    if let Some(outcome) = expect.outcome {
        if outcome != entry.outcome {
            diffs.push(format!(
                "outcome: expected `{}`, got `{}`  ({})",
                outcome.as_str(),
                entry.outcome.as_str(),
                entry.reasons.join("; ")
            ));
        }
    }
    let mut added = entry.plan.tag.clone();
    added.extend(entry.report_only.tag.clone());
    if let Some(add) = expect.add.as_ref().filter(|a| **a != added) {
        diffs.push(format!("add: expected {}, got {}", pairs(add), pairs(&added)));
    }
    let removed: BTreeSet<&String> = entry.plan.untag.iter().chain(&entry.report_only.untag).collect();
    if let Some(remove) = &expect.remove {
        let want: BTreeSet<&String> = remove.iter().collect();
        if want != removed {
            diffs.push(format!("remove: expected {want:?}, got {removed:?}"));
        }
    }
    if let Some(violations) = &expect.violations {
        let want: BTreeSet<&str> = violations.iter().map(String::as_str).collect();
        let got: BTreeSet<&str> = entry
            .findings
            .iter()
            .filter(|f| !f.is_fixed())
            .flat_map(violation_keys)
            .collect();
        if want != got {
            diffs.push(format!("violations: expected {want:?}, got {got:?}"));
        }
    }
    diffs
}

fn compare_ignored(expect: &Expect, reason: &str) -> Vec<String> {
    match expect.outcome {
        Some(o) if o != Outcome::Ignored => {
            vec![format!("outcome: expected `{}`, got `ignored` ({reason})", o.as_str())]
        }
        _ => Vec::new(),
    }
}

fn violation_keys(f: &Finding) -> Vec<&str> {
    match f {
        Finding::Missing { key, .. } | Finding::Invalid { key, .. } => vec![key],
        Finding::TagLimit { keys, .. } => keys.iter().map(String::as_str).collect(),
        Finding::BadWaiver { .. } => vec![EXEMPT_UNTIL_TAG],
        Finding::Forbidden { key, .. }
        | Finding::Locked { key, .. }
        | Finding::Derived { key, .. }
        | Finding::Scope { key, .. }
        | Finding::KeyCase { key, .. } => vec![key],
    }
}

fn pairs(tags: &Tags) -> String {
    format!(
        "{{{}}}",
        tags.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The policy and the cases, or every problem found in them (exit 2).
fn load(path: &Path, policy_flag: Option<&Path>) -> Result<(Policy, Vec<Ready>), CliError> {
    let invalid = |m: String| CliError::Invalid(format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read: {e}")))?;
    let doc = read_document(&text, Format::of_path(&path.to_string_lossy())).map_err(invalid)?;
    let file: CasesFile = serde_json::from_value(doc).map_err(|e| invalid(e.to_string()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let policy_path = match (policy_flag, &file.policy) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) => base.join(p),
        (None, None) => return Err(invalid("no policy: give `policy:` in the file or --policy".to_owned())),
    };
    let policy = load_policy(&policy_path)?;
    let today = day(file.today.as_deref(), "today").map_err(invalid)?;
    let mut problems = Vec::new();
    let mut ready = Vec::new();
    for (i, raw) in file.cases.into_iter().enumerate() {
        match serde_json::from_value::<Case>(raw)
            .map_err(|e| e.to_string())
            .and_then(|c| prepare(c, &base, today))
        {
            Ok(r) => ready.push(r),
            Err(e) => problems.push(format!("/cases/{i}: {e}")),
        }
    }
    if ready.is_empty() && problems.is_empty() {
        problems.push("/cases: no case".to_owned());
    }
    if problems.is_empty() {
        Ok((policy, ready))
    } else {
        Err(invalid(format!(
            "invalid cases ({}):\n  {}",
            problems.len(),
            problems.join("\n  ")
        )))
    }
}

fn day(text: Option<&str>, field: &str) -> Result<Option<Date>, String> {
    text.map(|t| Date::parse(t).ok_or_else(|| format!("`{field}`: expected a day as YYYY-MM-DD, found `{t}`")))
        .transpose()
}

fn prepare(case: Case, base: &Path, today: Option<Date>) -> Result<Ready, String> {
    let kind = case.resource.kind;
    let mut ctx = ResourceContext::new(kind);
    ctx.name = case.resource.name.clone();
    ctx.aliases = case.resource.aliases.clone();
    ctx.account = case.resource.account.clone();
    ctx.region = case.resource.region.clone();
    ctx.today = day(case.today.as_deref(), "today")?.or(today);
    let mut ignored = None;
    if let Some(event) = case.event {
        let value = match event {
            Value::String(rel) => {
                let file: PathBuf = base.join(&rel);
                let text = std::fs::read_to_string(&file).map_err(|e| format!("event `{rel}`: {e}"))?;
                serde_json::from_str(&text).map_err(|e| format!("event `{rel}`: {e}"))?
            }
            inline => inline,
        };
        let items = intake(&value, &IntakeOptions::default()).map_err(|e| format!("event: {e}"))?;
        match items.into_iter().next() {
            Some(Ok(Intake::Trigger(t))) if t.kind == kind => {
                ctx.account = ctx.account.or(t.account);
                ctx.region = ctx.region.or(Some(t.region));
                ctx.event = Some(t.event);
            }
            Some(Ok(Intake::Trigger(t))) => {
                return Err(format!("event: it names a {}, the resource is a {kind}", t.kind))
            }
            Some(Ok(Intake::Ignored(i))) => ignored = Some(i.reason),
            Some(Ok(_)) => return Err("event: a schedule or a trusted change judges no single resource".to_owned()),
            Some(Err(e)) => return Err(format!("event: {e}")),
            None => return Err("event: it holds no record".to_owned()),
        }
    }
    let arn = case
        .resource
        .arn
        .clone()
        .or_else(|| case.resource.name.clone())
        .unwrap_or_else(|| "resource".to_owned());
    Ok(Ready {
        name: case.name,
        state: ResourceState {
            arn,
            name: case.resource.name,
            tags: case.resource.tags,
            skip: None,
            state_checked: true,
        },
        ctx,
        memory: case.memory,
        ignored,
        expect: case.expect,
    })
}
