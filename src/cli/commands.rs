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
    println!(
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

/// `plan`: the handler's own path over an offline backend that serves the given tags.
pub fn plan(
    policy_path: &Path,
    event: &str,
    tags_path: &Path,
    (account, region, name): (Option<String>, Option<String>, Option<String>),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), CliError> {
    let policy = load_policy(policy_path)?;
    let config = Config::with_policy(policy, env).map_err(|e| CliError::Invalid(e.to_string()))?;
    let tags = read_tags(tags_path)?;
    let value =
        read_event(event).and_then(|bytes| intake::parse_json(&bytes).map_err(|e| CliError::Failed(e.to_string())))?;
    let handler = Handler::offline(OfflineBackend::new(tags, name), config).as_if_in(account, region);
    let report = runtime()?
        .block_on(handler.handle(&value, Deadline::NONE))
        .0
        .map_err(|e| CliError::Failed(e.to_string()))?;
    print_report(&report)
}

/// `handle EVENT`: one real invocation against AWS.
pub fn handle(
    event: &str,
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
        let (report, metrics) = handler.handle(&value, deadline).await;
        let report = report.map_err(|e| CliError::Failed(format!("{}: {e}", e.error_type())))?;
        print_report(&report)?;
        if emf {
            print_emf(&metrics, &handler.config().outputs.namespace)?;
        }
        match failure(&report) {
            Some(e) => Err(CliError::Failed(format!("{}: {e}", e.error_type()))),
            None => Ok(()),
        }
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
