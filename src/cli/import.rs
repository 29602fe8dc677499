//! `tag-warden import-tag-policy`: an AWS Organizations tag policy (a file, or the organization's
//! effective policies) as a version 2 tag-warden policy, so the two never drift apart;
//! `--check FILE` says when they have.

use super::{runtime, CliError};
use crate::adapters::aws::AwsBackend;
use crate::config::Accounts;
use crate::domain::{utc_time, Date};
use crate::engine::policy::{parse_as, Format, MAX_POLICY_BYTES};
use crate::engine::tag_policy::{diff, organization_yaml, read, read_content, to_yaml, Scoped};
use crate::engine::tag_policy_inherit::{effective, Attached};
use crate::ports::Backend;
use crate::run::resource::now_ms;
use clap::Args;
use std::path::{Path, PathBuf};

/// `tag-warden import-tag-policy …`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A tag policy (policy syntax), an effective policy (`describe-effective-policy`'s
    /// response), or its PolicyContent. Several: the policies an account inherits, root first,
    /// then each OU's, then the account's own, merged as AWS merges them; policies attached to
    /// the same place are joined with `+` in attachment order (`root-1.json+root-2.json`).
    #[arg(
        required_unless_present = "from_organizations",
        conflicts_with = "from_organizations",
        value_name = "FILE"
    )]
    files: Vec<String>,
    /// Print the effective tag policy the files merge into, as AWS displays one, instead of
    /// the tag-warden policy.
    #[arg(long, conflicts_with_all = ["from_organizations", "check"])]
    effective: bool,
    /// Read each account's effective tag policy (DescribeEffectivePolicy, from the management
    /// account or a delegated administrator) instead of a file.
    #[arg(long)]
    from_organizations: bool,
    /// With --from-organizations: comma-separated account ids, or ORG (default: every active
    /// account).
    #[arg(long, requires = "from_organizations", default_value = "ORG")]
    accounts: String,
    /// Exit 1 with the differences when the import no longer gives FILE (comments aside).
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

fn read_text(path: &Path) -> Result<String, CliError> {
    let text = super::read_policy_text(path)?;
    if text.len() > MAX_POLICY_BYTES {
        return Err(CliError::Invalid(format!(
            "`{}` is more than {MAX_POLICY_BYTES} bytes",
            path.display()
        )));
    }
    Ok(text)
}

fn today() -> String {
    Date::of_epoch_ms(now_ms()).to_string()
}

/// Runs the import.
pub fn run(args: &ImportArgs) -> Result<(), CliError> {
    let (yaml, notes, failed) = match args.files.as_slice() {
        [] => runtime()?.block_on(from_organizations(&args.accounts))?,
        files => {
            let (policy, what) = match files {
                [one] if !one.contains('+') && !args.effective => {
                    let path = Path::new(one);
                    let policy = read(&read_text(path)?).map_err(|e| CliError::Invalid(format!("{one}: {e}")))?;
                    (policy, format!("the AWS Organizations tag policy {one}"))
                }
                _ => {
                    let levels = files
                        .iter()
                        .map(|level| {
                            level
                                .split('+')
                                .map(|name| {
                                    Ok(Attached {
                                        name: name.to_owned(),
                                        text: read_text(Path::new(name))?,
                                    })
                                })
                                .collect::<Result<Vec<_>, CliError>>()
                        })
                        .collect::<Result<Vec<_>, CliError>>()?;
                    let merged = effective(&levels).map_err(|e| CliError::Invalid(e.to_string()))?;
                    for note in &merged.notes {
                        eprintln!("inheritance: {note}");
                    }
                    if args.effective {
                        let text = serde_json::to_string_pretty(&merged.policy)
                            .map_err(|e| CliError::Invalid(e.to_string()))?;
                        outln!("{text}");
                        return Ok(());
                    }
                    let policy = read_content(&merged.policy).map_err(|e| {
                        CliError::Invalid(format!("the effective policy of {}: {e}", files.join(" < ")))
                    })?;
                    (
                        policy,
                        format!(
                            "the effective AWS Organizations tag policy of {} (root first)",
                            files.join(", ")
                        ),
                    )
                }
            };
            let header = [
                format!(
                    "tag-warden policy imported from {what} by `tag-warden import-tag-policy` on {} (UTC).",
                    today()
                ),
                "It means, for Secrets Manager secrets and KMS keys, what the tag policy means: review it, commit it, deploy it.".to_owned(),
            ];
            let scoped = [Scoped {
                accounts: None,
                policy: &policy,
            }];
            (to_yaml(&header, &scoped), policy.ignored.clone(), Vec::new())
        }
    };
    for note in &notes {
        eprintln!("ignored: {note}");
    }
    // What is printed must load: a tag policy may name keys or values beyond a kind's limits.
    parse_as(&yaml, Format::Yaml)
        .map_err(|e| CliError::Invalid(format!("the imported policy does not load as a tag-warden policy: {e}")))?;
    for f in &failed {
        eprintln!("not imported: {f}");
    }
    let some_failed = || {
        (!failed.is_empty()).then(|| {
            CliError::Failed(format!(
                "{} account(s) could not be imported (above); the others were",
                failed.len()
            ))
        })
    };
    match &args.check {
        None => {
            out!("{yaml}");
            some_failed().map_or(Ok(()), Err)
        }
        Some(committed) => {
            let differences = diff(&read_text(committed)?, &yaml);
            if differences.is_empty() {
                eprintln!("{}: up to date with the tag policy", committed.display());
                return some_failed().map_or(Ok(()), Err);
            }
            outln!("{}", differences.join("\n"));
            Err(CliError::Failed(format!(
                "{} no longer matches the tag policy ({} line(s) differ): import it again",
                committed.display(),
                differences.len()
            )))
        }
    }
}

/// Every account's effective tag policy, through the function's own credentials: the policy,
/// the notes, and the accounts that failed (the others imported all the same).
async fn from_organizations(accounts: &str) -> Result<(String, Vec<String>, Vec<String>), CliError> {
    if accounts.trim().is_empty() {
        return Err(CliError::Invalid(
            "--accounts is empty: give comma-separated account ids, or ORG for the whole organization".to_owned(),
        ));
    }
    let accounts = Accounts::parse(accounts).map_err(|bad| {
        CliError::Invalid(format!(
            "--accounts has `{bad}`, which is not a 12-digit account id: use comma-separated ids, or ORG"
        ))
    })?;
    let backend = AwsBackend::from_env(None).await;
    let failed = |e: crate::domain::ApiError| CliError::Failed(e.to_string());
    let ids = match accounts {
        Accounts::List(ids) => ids.clone(),
        Accounts::Organization | Accounts::Own => backend.organization().await.map_err(failed)?.accounts,
    };
    let mut per_account = Vec::with_capacity(ids.len());
    for id in ids {
        // One account's failure (access, throttling) is that account's; the others go on.
        let content = backend.effective_tag_policy(&id).await.map_err(|e| e.to_string());
        per_account.push((id, content));
    }
    let header = [
        format!(
            "tag-warden policy imported from the effective AWS Organizations tag policies of {} account(s) by `tag-warden import-tag-policy --from-organizations` at {}.",
            per_account.len(),
            utc_time(now_ms())
        ),
        "Accounts with the same effective tag policy share rules (match.accounts): review it, commit it, deploy it.".to_owned(),
    ];
    let import = organization_yaml(&header, &per_account).map_err(|e| CliError::Invalid(e.to_string()))?;
    Ok((import.yaml, import.notes, import.failed))
}
