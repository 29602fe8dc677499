//! `validate`, `plan` and `handle`.

use super::{load_policy, print_emf, print_report, read_tags, runtime, CliError};
use crate::adapters::offline::OfflineBackend;
use crate::config::{Config, ENV_MEMORY_TABLE};
use crate::engine::intake::{self, IntakeError};
use crate::run::handler::{failure, Handler};
use crate::run::sweep::Deadline;
use std::io::Read;
use std::path::Path;

/// `validate POLICY`: exit 0 when valid, 2 with every problem listed. A lock without memory
/// configured is a warning here (the policy may be deployed with memory) and an error at
/// start-up.
pub fn validate(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<(), CliError> {
    let p = load_policy(path)?;
    let rules = p.rules.len();
    outln!(
        "{}: valid ({rules} rule{}, mode {})",
        path.display(),
        if rules == 1 { "" } else { "s" },
        p.mode
    );
    let today = crate::domain::Date::of_epoch_ms(crate::run::resource::now_ms());
    for (i, w) in p.waivers.iter().enumerate().filter(|(_, w)| w.until < today) {
        eprintln!(
            "warning: /waivers/{i}: expired on {} ({}): it waives nothing; remove it",
            w.until, w.reason
        );
    }
    let locks = p.locks();
    if !locks.is_empty() && env(ENV_MEMORY_TABLE).is_none_or(|t| t.trim().is_empty()) {
        let keys: Vec<String> = locks
            .iter()
            .map(|(rule, key)| format!("`{key}` (rule `{rule}`)"))
            .collect();
        eprintln!(
            "warning: {} locked; without {ENV_MEMORY_TABLE} set, tag-warden refuses to start with this policy",
            keys.join(", ")
        );
    }
    Ok(())
}

/// `plan`: the handler's own path over an offline backend that serves the given tags (and
/// remembered values). Offline: no AWS setting is read or needed.
pub fn plan(
    policy_path: &Path,
    event: &str,
    (tags, remembered): (&str, Option<&str>),
    (account, region, name): (Option<String>, Option<String>, Option<String>),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), CliError> {
    let policy = load_policy(policy_path)?;
    let config = Config::offline(policy, env).map_err(|e| CliError::Invalid(e.to_string()))?;
    let tags = read_tags(tags, "--tags")?;
    let mut backend = OfflineBackend::new(tags, name);
    if let Some(remembered) = remembered {
        backend = backend.remembering(read_tags(remembered, "--remembered")?);
    }
    // A payload that is no event fails the handler, as the Lambda invocation would: exit 1.
    let value =
        read_event(event).and_then(|bytes| intake::parse_json(&bytes).map_err(|e| CliError::Failed(e.to_string())))?;
    let handler = Handler::offline(backend, config).as_if_in(account, region);
    let report = runtime()?
        .block_on(handler.handle(&value, Deadline::NONE))
        .0
        .map_err(|e| CliError::Failed(e.to_string()))?;
    print_report(&report)?;
    verdict(&report)
}

/// The exit status a report calls for, the same for every command that judges resources: a
/// failed entry is exit 1 with its error; anything left not compliant (a violation, a write
/// not made, an account not enrolled) is exit 1, said on stderr; else 0.
pub fn verdict(report: &crate::view::report::Report) -> Result<(), CliError> {
    if let Some(e) = failure(report) {
        return Err(CliError::Failed(format!("{}: {e}", e.error_type())));
    }
    match report.needing_attention() {
        0 => Ok(()),
        n => Err(CliError::Findings(format!(
            "{n} resource{} or account{} not compliant (see the report)",
            if n == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" }
        ))),
    }
}

/// `handle EVENT`: one real invocation against AWS (`dry_run`: reads only).
pub fn handle(
    event: &str,
    dry_run: bool,
    emf: bool,
    deadline_seconds: Option<u64>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), CliError> {
    let deadline = deadline_seconds.map_or(Deadline::NONE, |s| {
        Deadline::for_invocation(std::time::Instant::now(), std::time::Duration::from_secs(s))
    });
    let config = Config::from_env(env).map_err(|e| CliError::Invalid(e.start_up()))?;
    let bytes = read_event(event)?;
    runtime()?.block_on(async {
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            CliError::Failed(IntakeError::NotJson(format!("line {} column {}", e.line(), e.column())).to_string())
        })?;
        let backend = super::aws_backend(&config).await;
        let handler = Handler::new(backend, config);
        let handler = if dry_run { handler.dry_run() } else { handler };
        let (report, metrics) = handler.handle(&value, deadline).await;
        let report = report.map_err(|e| CliError::Failed(format!("{}: {e}", e.error_type())))?;
        print_report(&report)?;
        if emf {
            print_emf(&metrics, &handler.config().outputs.namespace)?;
        }
        verdict(&report)
    })
}

/// The event's bytes from a file, or stdin for `-`.
fn read_event(arg: &str) -> Result<Vec<u8>, CliError> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::Failed(format!("cannot read stdin: {e}")))?;
        Ok(buf)
    } else {
        std::fs::read(arg).map_err(|e| CliError::Failed(format!("cannot read `{arg}`: {e}")))
    }
}
