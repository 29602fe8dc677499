//! The `reconcile` command: a sweep from the command line, with a progress line on a terminal,
//! a summary table (or `--json`, the report the Lambda function returns) and an exit code.

use super::{load_policy, print_emf, print_report, runtime, CliError};
use crate::config::{role_name, Accounts, Config, Rate};
use crate::domain::Mode;
use crate::ports::{Backend as _, Memory as _};
use crate::run::handler::Handler;
use crate::run::sweep::{Deadline, Progress};
use crate::view::report::Report;
use crate::view::table;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// `tag-warden reconcile` options; environment settings apply where a flag is not given.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Report what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// A region to sweep (repeatable); default: AWS_REGION plus TAG_WARDEN_REGIONS.
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Print the JSON report (as the Lambda function returns it) instead of a table.
    #[arg(long)]
    json: bool,
    /// The policy file; default: TAG_WARDEN_POLICY / TAG_WARDEN_POLICY_FILE.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Resources handled at once, per kind and region (TAG_WARDEN_CONCURRENCY).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Secrets Manager tag+untag calls a second, per region (TAG_WARDEN_SECRETS_WRITE_RPS).
    #[arg(long)]
    secrets_write_rps: Option<f64>,
    /// KMS TagResource and UntagResource calls a second each, per region (TAG_WARDEN_KMS_WRITE_RPS).
    #[arg(long)]
    kms_write_rps: Option<f64>,
    /// Accounts to sweep: comma-separated ids, or ORG for every active account of the
    /// organization without its management account unless you run this there (no StackSet puts
    /// the member role in it; list it to include it) (TAG_WARDEN_ACCOUNTS); needs --member-role
    /// for accounts other than yours. An account whose member role cannot be assumed is reported
    /// as not enrolled.
    #[arg(long, value_name = "ID,ID|ORG")]
    accounts: Option<String>,
    /// The role assumed in other accounts (TAG_WARDEN_MEMBER_ROLE).
    #[arg(long, value_name = "ROLE")]
    member_role: Option<String>,
    /// Cells (account × region) swept at once (TAG_WARDEN_CELLS_AT_ONCE, default 4).
    #[arg(long)]
    cells_at_once: Option<usize>,
    /// Also print the sweep's metrics as CloudWatch Embedded Metric Format lines on stdout,
    /// after the report.
    #[arg(long)]
    emf: bool,
    /// Write a self-contained HTML compliance page to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// The tag the page groups the resources left not compliant by (each team finds its own).
    #[arg(long, value_name = "KEY", default_value = crate::view::page::DEFAULT_GROUP_BY)]
    group_by: String,
}

/// Runs the sweep and prints the result.
pub fn run(args: &ReconcileArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<(), CliError> {
    let config = configure(args, env)?;
    let regions = if args.regions.is_empty() {
        config.sweep_regions(None)
    } else {
        args.regions.clone()
    };
    if regions.is_empty() {
        return Err(CliError::Invalid(
            "no region to sweep: pass --region or set AWS_REGION".to_owned(),
        ));
    }
    let runtime = runtime()?;
    let interactive = std::io::stderr().is_terminal();
    let namespace = config.outputs.namespace.clone();
    let page = args.html.is_some();
    let (report, metrics) = runtime.block_on(async {
        let backend = super::aws_backend(&config).await;
        let accounts = config.fleet.accounts.clone();
        let handler = Handler::new(backend, config);
        let cells = handler
            .cells_of(&accounts, &regions)
            .await
            .map_err(|e| CliError::Failed(format!("cannot list the accounts to sweep: {e}")))?;
        let (mut report, metrics) = handler
            .sweep(&cells, Deadline::NONE, &|p| {
                if interactive {
                    show_progress(&p)
                }
            })
            .await;
        // The page's trend: every sweep memory keeps (this one included).
        if let Some(memory) = handler.backend().memory().filter(|_| page) {
            match memory.trend().await {
                Ok(points) => report.trend = points,
                Err(e) => eprintln!("the trend could not be read ({e}): the page shows none"),
            }
        }
        Ok::<_, CliError>((report, metrics))
    })?;
    if interactive {
        eprint!("\x1b[2K\r");
    }
    if args.json {
        print_report(&report)?;
    } else {
        print_table(&report)?;
    }
    if args.emf {
        print_emf(&metrics, &namespace)?;
    }
    if let Some(path) = &args.html {
        std::fs::write(
            path,
            crate::view::page::render(&report, crate::run::resource::now_ms(), &args.group_by),
        )
        .map_err(|e| CliError::Failed(format!("cannot write `{}`: {e}", path.display())))?;
    }
    super::commands::verdict(&report)
}

fn configure(args: &ReconcileArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, CliError> {
    let mut config = match &args.policy {
        Some(path) => Config::with_policy(load_policy(path)?, env),
        None => Config::from_env(env),
    }
    .map_err(|e| CliError::Invalid(e.start_up()))?;
    if args.dry_run {
        config.mode = Mode::Report;
    }
    if let Some(n) = args.concurrency {
        config.sweep.concurrency = n.max(1);
    }
    config.sweep.group_by.clone_from(&args.group_by);
    if let Some(n) = args.cells_at_once {
        config.sweep.cells_at_once = n.max(1);
    }
    if let Some(role) = args.member_role.as_deref().and_then(role_name) {
        config.set_member_role(role);
    }
    if let Some(text) = &args.accounts {
        config.fleet.accounts = Accounts::parse(text).map_err(|bad| {
            CliError::Invalid(format!(
                "--accounts: `{bad}` is not a 12-digit account id (use ids, or ORG)"
            ))
        })?;
    }
    if config.fleet.accounts != Accounts::Own && config.fleet.member_role.is_none() {
        return Err(CliError::Invalid(
            "--accounts needs --member-role (or TAG_WARDEN_MEMBER_ROLE): other accounts are reached through it"
                .to_owned(),
        ));
    }
    for (flag, value, slot) in [
        (
            "--secrets-write-rps",
            args.secrets_write_rps,
            &mut config.sweep.secrets_write_rps,
        ),
        ("--kms-write-rps", args.kms_write_rps, &mut config.sweep.kms_write_rps),
    ] {
        if let Some(v) = value {
            *slot = Rate::new(v)
                .ok_or_else(|| CliError::Invalid(format!("{flag} {v}: a rate must be a positive number")))?;
        }
    }
    Ok(config)
}

fn show_progress(p: &Progress<'_>) {
    let mut err = std::io::stderr().lock();
    let total = p.total.map_or_else(|| "?".to_owned(), |t| t.to_string());
    let _ = write!(
        err,
        "\x1b[2K\rsweeping {} {}: {}/{} done, {} page{} read",
        p.region,
        p.kind,
        p.done,
        total,
        p.pages,
        if p.pages == 1 { "" } else { "s" }
    );
    let _ = err.flush();
}

/// The human summary of a sweep ([`table::render`]), or the JSON report when there was none.
fn print_table(report: &Report) -> Result<(), CliError> {
    match table::render(report) {
        Some(text) => {
            out!("{text}");
            Ok(())
        }
        None => print_report(report),
    }
}
