//! Layer 6, the command line: `validate`, `plan` (offline), `handle` (one real invocation) and
//! `reconcile` (a sweep), with the same configuration and handler code as the Lambda function.

/// `println!` for the CLI's output: a closed stdout (`| head`) ends the command quietly.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` for the CLI's output: a closed stdout (`| head`) ends the command quietly.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::cli::write_stdout(format_args!($($t)*))
    };
}

mod cases;
mod commands;
mod error;
mod exempt;
mod guardrails;
mod import;
mod memory;
mod reconcile;
mod redrive;

pub use error::{CliError, EXIT_FAILED};

use crate::domain::Tags;
use crate::view::report::Report;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use crate::config::EXIT_INVALID;

#[derive(Debug, Parser)]
#[command(
    name = "tag-warden",
    version,
    about = "Tag governance for AWS Secrets Manager secrets and KMS keys.",
    after_help = "Exit codes, every command: 0 done and compliant; 1 something not compliant, or failed; \
                  2 usage or configuration error.\n\
                  `handle` and `reconcile` write as the policy's mode says: try them with --dry-run first.\n\
                  TAG_WARDEN_ACCOUNTS=ORG (or --accounts ORG): the organization's active accounts, without the \
                  management account unless tag-warden runs there.\n\
                  Every command has --help; docs/cli.md has them all."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a policy (offline): exit 0 when valid, 2 with every problem listed.
    Validate {
        /// The policy file (YAML or JSON), as `--policy FILE` or on its own.
        #[arg(
            value_name = "POLICY",
            required_unless_present = "policy_flag",
            conflicts_with = "policy_flag"
        )]
        policy: Option<PathBuf>,
        /// The policy file (YAML or JSON), as every other command takes it.
        #[arg(long = "policy", value_name = "POLICY")]
        policy_flag: Option<PathBuf>,
    },
    /// Offline, no AWS call and no AWS setting needed: what the handler would do to a resource
    /// whose current tags are TAGS. Exit 0 when compliant, 1 when not.
    Plan {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
        /// The event file (`-` for stdin).
        #[arg(long)]
        event: String,
        /// The resource's current tags: a file holding a JSON object of key → value, or that
        /// object inline (`--tags '{"Owner":"payments"}'`).
        #[arg(long, value_name = "FILE|JSON")]
        tags: String,
        /// What memory remembers of the resource (restored values, locks): a file or inline
        /// JSON object of key → value. Default: nothing remembered.
        #[arg(long, value_name = "FILE|JSON")]
        remembered: Option<String>,
        /// Judge the resource as in this account (default: the event's).
        #[arg(long)]
        account: Option<String>,
        /// Judge the resource as in this region (default: the event's).
        #[arg(long)]
        region: Option<String>,
        /// The secret's name, or the KMS key's alias (default: what the event tells).
        #[arg(long)]
        name: Option<String>,
    },
    /// Run the handler once on an event (`-` for stdin) against AWS and print the report.
    /// It writes (tags, memory) as the policy's mode says, unless --dry-run. Exit 0 when
    /// everything is compliant now, 1 when something is not (or failed).
    Handle {
        /// The event file, or `-` for stdin.
        event: String,
        /// Read and judge, write nothing: no tag call and no memory write, whatever the mode;
        /// the report says what would be done.
        #[arg(long)]
        dry_run: bool,
        /// Also print the invocation's metrics as CloudWatch Embedded Metric Format lines on
        /// stdout, after the report (as the Lambda function writes them).
        #[arg(long)]
        emf: bool,
        /// The invocation's time, as Lambda gives it (seconds): throttled writes are waited out
        /// and retried while it allows. Default: no deadline, and a few retries.
        #[arg(long, value_name = "SECONDS")]
        deadline_seconds: Option<u64>,
    },
    /// Sweep every secret and customer-managed KMS key in the regions: evaluate the policy and
    /// remediate (or, with --dry-run, only report). Exit 0 when all is compliant (or fixed), 1
    /// when something is not or failed.
    Reconcile(reconcile::ReconcileArgs),
    /// Sweep again, from here, the cells an organization's sweep dead-lettered, and delete each
    /// letter once its cell is swept (the sweep queue takes cells from the function alone).
    /// Exit 0 when all were swept and compliant, 1 otherwise.
    Redrive(redrive::RedriveArgs),
    /// The policy as AWS Organizations guardrails (SCPs or RCPs) that refuse tag changes up
    /// front, where IAM can express them; what it cannot is named on stderr.
    Guardrails(guardrails::GuardrailsArgs),
    /// An AWS Organizations tag policy (a file, or each account's effective one) as a version 2
    /// tag-warden policy (YAML); `--check FILE` exits 1 when it no longer gives FILE.
    ImportTagPolicy(import::ImportArgs),
    /// Print the policy's JSON Schema (draft 2020-12), for editors and CI.
    Schema,
    /// The story of a resource (TAG_WARDEN_MEMORY_TABLE): who changed what, and what
    /// tag-warden did, oldest first (the last 50 changes).
    History {
        /// The resource's ARN.
        arn: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run policy test cases offline (no AWS call): exit 0 when all pass, 1 when any fails,
    /// 2 when the file or the policy is invalid.
    Test {
        /// The cases file (YAML or JSON).
        cases: PathBuf,
        /// The policy (default: the file's `policy`, relative to it).
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Grant an exemption as an administrator: tag the resource `tag-warden:exempt-until=DAY`
    /// and record who, why and until when in memory and history (TAG_WARDEN_MEMORY_TABLE), so
    /// that it is honoured (an exemption tag anyone else sets is not, by default).
    Exempt {
        /// The secret's or key's ARN.
        arn: String,
        /// The last day exempt (YYYY-MM-DD, UTC), at most the policy's exemptions.max_days ahead.
        #[arg(long)]
        until: String,
        /// Why: kept in the history.
        #[arg(long)]
        reason: String,
    },
    /// What tag-warden remembers of a resource (TAG_WARDEN_MEMORY_TABLE), and how to change it.
    #[command(subcommand)]
    Memory(memory::MemoryCommand),
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
    let result = match cli.command {
        Command::Validate { policy, policy_flag } => match policy.or(policy_flag) {
            Some(policy) => commands::validate(&policy, &env),
            None => Err(CliError::Invalid("validate: give the policy file".to_owned())),
        },
        Command::Plan {
            policy,
            event,
            tags,
            remembered,
            account,
            region,
            name,
        } => commands::plan(
            &policy,
            &event,
            (&tags, remembered.as_deref()),
            (account, region, name),
            &env,
        ),
        Command::Handle {
            event,
            dry_run,
            emf,
            deadline_seconds,
        } => commands::handle(&event, dry_run, emf, deadline_seconds, &env),
        Command::Reconcile(args) => reconcile::run(&args, &env),
        Command::Redrive(args) => redrive::run(&args, &env),
        Command::Guardrails(args) => guardrails::run(&args, &env),
        Command::ImportTagPolicy(args) => import::run(&args),
        Command::Memory(command) => memory::run(&command, &env),
        Command::Exempt { arn, until, reason } => exempt::run(&arn, &until, &reason, &env),
        Command::History { arn, json } => memory::history(&arn, json, &env),
        Command::Test { cases, policy } => cases::run(&cases, policy.as_deref()),
        Command::Schema => serde_json::to_string_pretty(&crate::engine::policy::schema())
            .map(|s| outln!("{s}"))
            .map_err(|e| CliError::Failed(e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.exit(),
    }
}

/// The AWS backend for `config`: the one way it is built (the Lambda function and every command
/// that acts): the SDK's configuration from the environment, memory, page size, member role.
pub async fn aws_backend(config: &crate::config::Config) -> crate::adapters::aws::AwsBackend {
    crate::adapters::aws::AwsBackend::from_env(config.memory_table.clone())
        .await
        .with_page_size(config.list_page_size)
        .with_member_role(config.fleet.member_role.clone())
}

/// The single-threaded async runtime the CLI's commands run on.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

/// Writes to stdout. A reader that went away (`tag-warden history ARN | head`) ends the command
/// at once and quietly, with exit 0, as a Unix tool's SIGPIPE would, rather than with a panic;
/// any other write failure ends it with exit 1, saying why.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        std::process::exit(i32::from(stdout_failed(&e)));
    }
}

/// The exit code of a failed write to stdout: 0 for a closed pipe (nobody is reading: the
/// output was cut short on purpose), 1 otherwise (said on stderr).
fn stdout_failed(e: &std::io::Error) -> u8 {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        0
    } else {
        eprintln!("error: cannot write to stdout: {e}");
        EXIT_FAILED
    }
}

/// Prints a report as pretty JSON on stdout.
fn print_report(report: &Report) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| CliError::Failed(format!("cannot serialize the report: {e}")))?;
    outln!("{json}");
    Ok(())
}

/// Prints metrics as EMF lines on stdout (`--emf`), namespace as configured.
fn print_emf(metrics: &crate::view::metrics::Metrics, namespace: &str) -> Result<(), CliError> {
    metrics
        .write_emf(&mut std::io::stdout().lock(), namespace, crate::run::resource::now_ms())
        .map_err(|e| CliError::Quiet(stdout_failed(&e)))
}

fn read_file(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::Invalid(format!("cannot read `{}`: {e}", path.display())))
}

/// The text of a policy file, read no further than the largest policy accepted.
fn read_policy_text(path: &Path) -> Result<String, CliError> {
    crate::config::read_policy_file(path)
        .map_err(|e| CliError::Invalid(format!("cannot read `{}`: {e}", path.display())))
}

/// A policy file (YAML or JSON by its extension), validated; every problem listed.
fn load_policy(path: &Path) -> Result<crate::engine::policy::Policy, CliError> {
    use crate::engine::policy::{parse_as, Format};
    let text = read_policy_text(path)?;
    parse_as(&text, Format::of_path(&path.to_string_lossy()))
        .map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))
}

/// Tags given as a JSON object of strings: inline (an argument starting with `{`) or in the
/// file the argument names. `flag` names the option in messages.
fn read_tags(arg: &str, flag: &str) -> Result<Tags, CliError> {
    let (text, origin) = if arg.trim_start().starts_with('{') {
        (arg.to_owned(), format!("{flag} (inline)"))
    } else {
        (read_file(Path::new(arg))?, format!("{flag} {arg}"))
    };
    serde_json::from_str(&text)
        .map_err(|e| CliError::Invalid(format!("{origin}: expected a JSON object of string tags: {e}")))
}
