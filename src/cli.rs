//! The command line: `validate`, `plan` (offline) and `handle` (one real invocation), with the
//! same configuration and handler code as the Lambda function.

use crate::apply::{assess, AwsBackend, ResourceState};
use crate::config::{Config, ConfigError};
use crate::handler::{failure, Handler};
use crate::intake::{self, Intake};
use crate::model::Tags;
use crate::policy;
use crate::report::{Outcome, Report, ResourceReport};
use crate::sweep::Deadline;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for a handler that returned an error (the invocation would fail).
pub const EXIT_FAILED: u8 = 1;
/// Exit code for invalid configuration, policy or usage.
pub const EXIT_INVALID: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "tag-warden",
    version,
    about = "Tag governance for AWS Secrets Manager secrets and KMS keys."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a policy: exit 0 when valid, 2 with every problem listed.
    Validate {
        /// The policy file (JSON).
        policy: PathBuf,
    },
    /// Offline, no AWS call: what the handler would do to a resource whose current tags are
    /// TAGS (a JSON object of key → value).
    Plan {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
        /// The event file (`-` for stdin).
        #[arg(long)]
        event: String,
        /// The resource's current tags.
        #[arg(long)]
        tags: PathBuf,
    },
    /// Run the handler once on an event (`-` for stdin) against AWS and print the report;
    /// exit 0 when the handler succeeded, 1 when it returned an error.
    Handle {
        /// The event file, or `-` for stdin.
        event: String,
    },
    /// Sweep every secret and customer-managed KMS key in the regions: evaluate the policy and
    /// remediate (or, with --dry-run, only report). Exit 1 when some resource failed.
    Reconcile(crate::reconcile::ReconcileArgs),
}

/// Runs the CLI with process arguments; returns the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_INVALID } else { 0 });
        }
    };
    crate::logging::init(
        std::io::stderr,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        tracing::level_filters::LevelFilter::WARN,
    );
    let env = |k: &str| std::env::var(k).ok();
    match cli.command {
        Command::Validate { policy } => validate(&policy),
        Command::Plan { policy, event, tags } => plan(&policy, &event, &tags, &env),
        Command::Handle { event } => handle(&event, &env),
        Command::Reconcile(args) => crate::reconcile::run(&args, &env),
    }
}

fn validate(path: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return invalid(format!("cannot read `{}`: {e}", path.display())),
    };
    match policy::parse(&text) {
        Ok(p) => {
            let rules = p.rules.len();
            println!(
                "{}: valid ({rules} rule{}, mode {})",
                path.display(),
                if rules == 1 { "" } else { "s" },
                p.mode
            );
            ExitCode::SUCCESS
        }
        Err(errors) => invalid(format!("{}: {errors}", path.display())),
    }
}

fn plan(policy_path: &Path, event: &str, tags_path: &Path, env: &dyn Fn(&str) -> Option<String>) -> ExitCode {
    let loaded = read_file(policy_path)
        .and_then(|text| policy::parse(&text).map_err(|e| format!("{}: {e}", policy_path.display())));
    let config = match loaded.and_then(|p| Config::with_policy(p, env).map_err(|e| e.to_string())) {
        Ok(c) => c,
        Err(e) => return invalid(e),
    };
    let tags: Tags = match read_file(tags_path).and_then(|t| {
        serde_json::from_str(&t)
            .map_err(|e| format!("{}: expected a JSON object of string tags: {e}", tags_path.display()))
    }) {
        Ok(t) => t,
        Err(e) => return invalid(e),
    };
    let items = match read_event(event)
        .and_then(|bytes| intake::intake_bytes(&bytes, &config.intake).map_err(|e| e.to_string()))
    {
        Ok(items) => items,
        Err(e) => return failed(e),
    };
    let results = items
        .into_iter()
        .map(|item| match item {
            Ok(Intake::Trigger(t)) => {
                let state = ResourceState {
                    arn: t.resource_id.clone(),
                    tags: tags.clone(),
                    skip: None,
                };
                let mut entry = ResourceReport::new(Outcome::Compliant);
                entry.resource_id = Some(t.resource_id);
                entry.region = Some(t.region);
                entry.event = t.event;
                // Offline nothing is written: needed writes show as would-remediate.
                assess(&config.policy, crate::model::Mode::Report, t.kind, &state, &mut entry);
                entry.arn = entry.arn.filter(|a| a.starts_with("arn:"));
                entry
            }
            Ok(Intake::Ignored(i)) => crate::handler::ignored(i),
            Ok(Intake::Sweep(_)) => {
                let mut entry = ResourceReport::new(Outcome::Ignored);
                entry
                    .reasons
                    .push("a scheduled sweep lists every resource: run `tag-warden reconcile --dry-run`".to_owned());
                entry
            }
            Err(e) => crate::handler::bad_item(&e),
        })
        .collect();
    print_report(&Report::new(config.mode, results))
}

fn handle(event: &str, env: &dyn Fn(&str) -> Option<String>) -> ExitCode {
    let config = match Config::from_env(env) {
        Ok(c) => c,
        Err(e) => return invalid(start_up(&e)),
    };
    let bytes = match read_event(event) {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return failed(
                    intake::IntakeError::NotJson(format!("line {} column {}", e.line(), e.column())).to_string(),
                )
            }
        };
        let handler = Handler::new(AwsBackend::from_env().await, config);
        let report = match handler.report(&value, Deadline::NONE).await {
            Ok(r) => r,
            Err(e) => return failed(format!("{}: {e}", e.error_type())),
        };
        let code = print_report(&report);
        match failure(&report) {
            Some(e) => failed(format!("{}: {e}", e.error_type())),
            None => code,
        }
    })
}

/// The single-threaded async runtime the CLI's AWS commands run on, or the exit code saying
/// why there is none.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the async runtime: {e}")))
}

/// The start-up error text, shared with the Lambda entry point.
pub fn start_up(e: &ConfigError) -> String {
    format!("tag-warden cannot start: {e}")
}

/// Prints a report as pretty JSON on stdout.
pub(crate) fn print_report(report: &Report) -> ExitCode {
    match serde_json::to_string_pretty(report) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => failed(format!("cannot serialize the report: {e}")),
    }
}

pub(crate) fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

fn read_event(arg: &str) -> Result<Vec<u8>, String> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(arg).map_err(|e| format!("cannot read `{arg}`: {e}"))
    }
}

pub(crate) fn invalid(message: String) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(EXIT_INVALID)
}

pub(crate) fn failed(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_FAILED)
}
