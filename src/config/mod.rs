//! Configuration from the environment, read once at start-up (cold start) and identical under
//! Lambda and the CLI. An invalid policy fails start-up with every problem listed.

use crate::domain::Mode;
use crate::engine::intake::IntakeOptions;
use crate::engine::policy::{self, Format, Glob, Policy, PolicyErrors};

mod settings;
pub use settings::{OutputSettings, Rate, SweepSettings, DEFAULT_NAMESPACE};

/// Inline policy JSON; wins over the file when set and not blank.
pub const ENV_POLICY: &str = "TAG_WARDEN_POLICY";
/// Path of a policy file.
pub const ENV_POLICY_FILE: &str = "TAG_WARDEN_POLICY_FILE";
/// `enforce` or `report`: overrides the policy's mode.
pub const ENV_MODE: &str = "TAG_WARDEN_MODE";
/// Comma-separated ARN globs of trusted principals (issuer roles, IAM users) whose changes are
/// not enforced.
pub const ENV_IGNORE_PRINCIPALS: &str = "TAG_WARDEN_IGNORE_PRINCIPALS";
/// Comma-separated extra regions the reconcile sweep covers, beside the home region.
pub const ENV_REGIONS: &str = "TAG_WARDEN_REGIONS";
/// Resources a sweep handles at once (per kind and region).
pub const ENV_CONCURRENCY: &str = "TAG_WARDEN_CONCURRENCY";
/// Secrets Manager tag + untag calls a second during a sweep, per region.
pub const ENV_SECRETS_WRITE_RPS: &str = "TAG_WARDEN_SECRETS_WRITE_RPS";
/// KMS TagResource (and, separately, UntagResource) calls a second during a sweep, per region.
pub const ENV_KMS_WRITE_RPS: &str = "TAG_WARDEN_KMS_WRITE_RPS";
/// The most entries a sweep's report lists (the counts always cover everything).
pub const ENV_REPORT_MAX_ENTRIES: &str = "TAG_WARDEN_REPORT_MAX_ENTRIES";
/// Resources a listing page asks for (ListSecrets 1–100, ListKeys 1–1000); default the most.
pub const ENV_LIST_PAGE_SIZE: &str = "TAG_WARDEN_LIST_PAGE_SIZE";
/// The DynamoDB table that remembers tag values (in the home region); unset = no memory.
pub const ENV_MEMORY_TABLE: &str = "TAG_WARDEN_MEMORY_TABLE";
/// The role tag-warden assumes in other accounts (`arn:PARTITION:iam::ACCOUNT:role/NAME`);
/// unset = the function's own credentials everywhere (one account).
pub const ENV_MEMBER_ROLE: &str = "TAG_WARDEN_MEMBER_ROLE";
/// The accounts a sweep covers: comma-separated ids, or `ORG` (every active account of the
/// organization); unset = the function's own.
pub const ENV_ACCOUNTS: &str = "TAG_WARDEN_ACCOUNTS";
/// The SQS queue a scheduled sweep fans out over (one message per account and region).
pub const ENV_SWEEP_QUEUE_URL: &str = "TAG_WARDEN_SWEEP_QUEUE_URL";
/// The sweep queue's dead-letter queue: a cell whose last attempt fails goes there with the reason.
pub const ENV_SWEEP_DLQ_URL: &str = "TAG_WARDEN_SWEEP_DLQ_URL";
/// The receives a cell gets (the sweep queue's `maxReceiveCount`); the last failure is dead-lettered.
pub const ENV_SWEEP_MAX_RECEIVES: &str = "TAG_WARDEN_SWEEP_MAX_RECEIVES";
/// Seconds before a resource whose locked key an `aws.tag` event saw changed is judged again
/// (default 300, at most 900): by then the CloudTrail record of the call has come, or not.
pub const ENV_RECHECK_DELAY_SECONDS: &str = "TAG_WARDEN_RECHECK_DELAY_SECONDS";
/// The tag a sweep counts resources by, for a compliance rate per team (default `Owner`).
pub const ENV_GROUP_BY: &str = "TAG_WARDEN_GROUP_BY";
/// Cells (account and region) one sweep works on at once.
pub const ENV_CELLS_AT_ONCE: &str = "TAG_WARDEN_CELLS_AT_ONCE";
/// The CloudWatch namespace of the EMF metrics (default `TagWarden`).
pub const ENV_METRICS_NAMESPACE: &str = "TAG_WARDEN_METRICS_NAMESPACE";
/// The EventBridge bus (name or ARN) finding events are put on; unset: none are.
pub const ENV_FINDINGS_BUS: &str = "TAG_WARDEN_FINDINGS_BUS";
/// `true` to import findings into Security Hub.
pub const ENV_SECURITY_HUB: &str = "TAG_WARDEN_SECURITY_HUB";

/// The accounts a sweep covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Accounts {
    /// The function's own account.
    #[default]
    Own,
    /// These accounts.
    List(Vec<String>),
    /// Every active account of the organization (Organizations ListAccounts).
    Organization,
}

impl Accounts {
    /// `ORG`, or comma-separated 12-digit ids; the first entry that is neither is the error.
    pub fn parse(text: &str) -> Result<Accounts, String> {
        let entries = list(Some(text.to_owned()));
        if entries.is_empty() {
            return Ok(Accounts::Own);
        }
        if entries.len() == 1 && entries.iter().all(|e| e.eq_ignore_ascii_case("ORG")) {
            return Ok(Accounts::Organization);
        }
        match entries.iter().find(|e| !crate::domain::is_account_id(e)) {
            Some(bad) => Err(bad.clone()),
            None => {
                let mut ids: Vec<String> = Vec::new();
                for e in entries {
                    if !ids.contains(&e) {
                        ids.push(e);
                    }
                }
                Ok(Accounts::List(ids))
            }
        }
    }
}

/// An organization's sweep: which accounts, and the queue it fans out over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FleetConfig {
    /// The role assumed in other accounts (`TAG_WARDEN_MEMBER_ROLE`): its name with its path
    /// (`tag-warden-member`, `governance/tag-warden-member`), not an ARN: the account is each
    /// governed one's ([`role_name`] reads the setting).
    pub member_role: Option<String>,
    /// `TAG_WARDEN_ACCOUNTS`.
    pub accounts: Accounts,
    /// `TAG_WARDEN_SWEEP_QUEUE_URL`: set, a schedule sends cells instead of sweeping.
    pub queue_url: Option<String>,
    /// `TAG_WARDEN_SWEEP_DLQ_URL`.
    pub dead_letter_url: Option<String>,
    /// `TAG_WARDEN_SWEEP_MAX_RECEIVES` (default 3).
    pub max_receives: u32,
    /// `TAG_WARDEN_RECHECK_DELAY_SECONDS` (default 300, 0–900): a re-check goes on the sweep
    /// queue, delayed this long.
    pub recheck_delay_seconds: u32,
}

/// Everything the handler needs besides AWS clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// The validated policy.
    pub policy: Policy,
    /// The effective mode (the environment's override, else the policy's).
    pub mode: Mode,
    /// How to recognise events to ignore.
    pub intake: IntakeOptions,
    /// The home region (`AWS_REGION`), swept first.
    pub home_region: Option<String>,
    /// Extra regions to sweep (`TAG_WARDEN_REGIONS`).
    pub extra_regions: Vec<String>,
    /// Sweep concurrency and write rates.
    pub sweep: SweepSettings,
    /// The memory table, when configured.
    pub memory_table: Option<String>,
    /// Listing page size, when not the APIs' largest.
    pub list_page_size: Option<i32>,
    /// Accounts, member role and sweep queue.
    pub fleet: FleetConfig,
    /// Metrics namespace, findings bus, Security Hub.
    pub outputs: OutputSettings,
}

impl Config {
    /// The regions to sweep: `first` (or the home region), then the extra ones, without repeats.
    pub fn sweep_regions(&self, first: Option<&str>) -> Vec<String> {
        let mut regions: Vec<String> = Vec::new();
        for r in first
            .or(self.home_region.as_deref())
            .into_iter()
            .chain(self.extra_regions.iter().map(String::as_str))
        {
            if !regions.iter().any(|x| x == r) {
                regions.push(r.to_owned());
            }
        }
        regions
    }
}

/// The exit code of a process that cannot start for invalid configuration: the Lambda
/// bootstrap's and the CLI's alike.
pub const EXIT_INVALID: u8 = 2;

/// Why start-up cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither policy variable is set.
    #[error("no policy: set {ENV_POLICY} (inline JSON) or {ENV_POLICY_FILE} (a path)")]
    NoPolicy,
    /// The policy file cannot be read.
    #[error("cannot read the policy file `{path}`: {source}")]
    ReadPolicy {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The policy is invalid.
    #[error("{origin}: {source}")]
    Policy {
        /// Where it came from.
        origin: String,
        /// Every problem.
        source: PolicyErrors,
    },
    /// `TAG_WARDEN_ACCOUNTS` has an entry that is not an account id.
    #[error("{ENV_ACCOUNTS} has `{0}`, which is not a 12-digit account id: use comma-separated ids, or ORG")]
    BadAccount(String),
    /// Accounts other than the function's own need the member role.
    #[error("{ENV_ACCOUNTS} names other accounts but {ENV_MEMBER_ROLE} is not set: tag-warden reaches other accounts through that role")]
    AccountsWithoutRole,
    /// `TAG_WARDEN_MODE` is not a mode.
    #[error("{ENV_MODE}=`{0}` is not a mode: use `enforce` or `report`")]
    BadMode(String),
    /// The policy locks keys, which needs remembered values, and no memory is configured.
    #[error("the policy locks {locks} but {ENV_MEMORY_TABLE} is not set: a lock keeps the remembered value, so it needs memory (set the table, or drop `lock`)")]
    LockWithoutMemory {
        /// `rule`/`key` of each lock.
        locks: String,
    },
    /// A setting that is not one of the values it takes.
    #[error("{name}=`{value}`: {expected}")]
    BadSetting {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// A numeric setting is not a positive number.
    #[error("{name}=`{value}` is not a positive number")]
    BadNumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

impl ConfigError {
    /// The start-up failure as the Lambda bootstrap and the CLI say it.
    pub fn start_up(&self) -> String {
        format!("tag-warden cannot start: {self}")
    }
}

impl Config {
    /// Reads the whole configuration through `env` (a variable lookup).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let (text, origin, format) = policy_source(env)?;
        let policy = policy::parse_as(&text, format).map_err(|source| ConfigError::Policy { origin, source })?;
        Config::with_policy(policy, env)
    }

    /// The configuration for an already-loaded policy, with the rest from `env`.
    pub fn with_policy(policy: Policy, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::assemble(policy, env, true)
    }

    /// The configuration of an offline command (`plan`): tag-warden's own settings as for
    /// [`Config::with_policy`] (the mode, the accounts it governs), but nothing that only AWS
    /// gives is required: a lock needs no memory table, remembered values come from a file.
    pub fn offline(policy: Policy, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::assemble(policy, env, false)
    }

    fn assemble(
        policy: Policy,
        env: &dyn Fn(&str) -> Option<String>,
        locks_need_memory: bool,
    ) -> Result<Config, ConfigError> {
        let mode = match env(ENV_MODE).filter(|m| !m.trim().is_empty()) {
            Some(m) => Mode::parse(m.trim()).ok_or(ConfigError::BadMode(m))?,
            None => policy.mode,
        };
        let ignore_principals = trusted_principals(env)?;
        let memory_table = setting_text(env, ENV_MEMORY_TABLE);
        let locks = policy.locks();
        if locks_need_memory && memory_table.is_none() && !locks.is_empty() {
            let locks = locks
                .iter()
                .map(|(rule, key)| format!("`{key}` (rule `{rule}`)"))
                .collect::<Vec<_>>();
            return Err(ConfigError::LockWithoutMemory {
                locks: locks.join(", "),
            });
        }
        let defaults = SweepSettings::default();
        let concurrency = setting(env, ENV_CONCURRENCY, |v| {
            let n: f64 = v.trim().parse().ok()?;
            (n.is_finite() && n > 0.0).then(|| n.ceil() as usize)
        })?;
        let count = |v: &str| v.trim().parse::<usize>().ok().filter(|n| *n > 0);
        let member_role = env(ENV_MEMBER_ROLE).as_deref().and_then(role_name);
        let accounts = Accounts::parse(&env(ENV_ACCOUNTS).unwrap_or_default()).map_err(ConfigError::BadAccount)?;
        if accounts != Accounts::Own && member_role.is_none() {
            return Err(ConfigError::AccountsWithoutRole);
        }
        if accounts == Accounts::Own && member_role.is_some() {
            tracing::warn!(
                "{ENV_MEMBER_ROLE} is set but {ENV_ACCOUNTS} is not: only the function's own account is governed (events and cells of any other account are refused)"
            );
        }
        let fleet = FleetConfig {
            member_role: member_role.clone(),
            accounts,
            queue_url: setting_text(env, ENV_SWEEP_QUEUE_URL),
            dead_letter_url: setting_text(env, ENV_SWEEP_DLQ_URL),
            max_receives: setting(env, ENV_SWEEP_MAX_RECEIVES, |v| {
                count(v).and_then(|n| u32::try_from(n).ok())
            })?
            .unwrap_or(3),
            recheck_delay_seconds: setting(env, ENV_RECHECK_DELAY_SECONDS, |v| {
                v.trim().parse::<u32>().ok().filter(|n| *n <= 900)
            })?
            .unwrap_or(300),
        };
        Ok(Config {
            policy,
            mode,
            intake: IntakeOptions {
                own: None,
                ignore_principals,
                remember_trusted: memory_table.is_some(),
                member_role,
                member_accounts: match &fleet.accounts {
                    Accounts::Own => Some(Vec::new()),
                    Accounts::List(ids) => Some(ids.clone()),
                    Accounts::Organization => None,
                },
            },
            home_region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .filter(|r| !r.trim().is_empty()),
            extra_regions: list(env(ENV_REGIONS)),
            sweep: SweepSettings {
                concurrency: concurrency.unwrap_or(defaults.concurrency),
                cells_at_once: setting(env, ENV_CELLS_AT_ONCE, count)?.unwrap_or(defaults.cells_at_once),
                secrets_write_rps: setting(env, ENV_SECRETS_WRITE_RPS, Rate::parse)?
                    .unwrap_or(defaults.secrets_write_rps),
                kms_write_rps: setting(env, ENV_KMS_WRITE_RPS, Rate::parse)?.unwrap_or(defaults.kms_write_rps),
                max_entries: setting(env, ENV_REPORT_MAX_ENTRIES, count)?.unwrap_or(defaults.max_entries),
                group_by: setting_text(env, ENV_GROUP_BY).unwrap_or(defaults.group_by),
            },
            list_page_size: setting(env, ENV_LIST_PAGE_SIZE, |v| {
                count(v).and_then(|n| i32::try_from(n.min(1000)).ok())
            })?,
            memory_table,
            fleet,
            outputs: outputs(env)?,
        })
    }
}

/// `TAG_WARDEN_IGNORE_PRINCIPALS`: globs over issuer roles' and IAM users' ARNs. A glob over
/// session ARNs (`arn:…:sts::…:assumed-role/…`) is refused: a session's last part is chosen by
/// whoever assumes the role, so it can name no one.
fn trusted_principals(env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Glob>, ConfigError> {
    let globs = list(env(ENV_IGNORE_PRINCIPALS));
    if let Some(bad) = globs.iter().find(|g| crate::domain::names_sessions(g)) {
        return Err(ConfigError::BadSetting {
            name: ENV_IGNORE_PRINCIPALS,
            value: bad.clone(),
            expected: "name the role (arn:aws:iam::ACCOUNT:role/NAME) or the IAM user, not an assumed-role session: a session's name is chosen by whoever assumes the role",
        });
    }
    Ok(globs.iter().map(|p| Glob::new(p)).collect())
}

/// Where metrics and findings go.
fn outputs(env: &dyn Fn(&str) -> Option<String>) -> Result<OutputSettings, ConfigError> {
    let namespace = match setting_text(env, ENV_METRICS_NAMESPACE) {
        None => OutputSettings::default().namespace,
        Some(ns) if ns.len() <= 255 && !ns.starts_with("AWS/") && !ns.contains(':') => ns,
        Some(ns) => {
            return Err(ConfigError::BadSetting {
                name: ENV_METRICS_NAMESPACE,
                value: ns,
                expected: "a CloudWatch namespace: at most 255 characters, no `:`, not starting with `AWS/`",
            })
        }
    };
    let security_hub = match setting_text(env, ENV_SECURITY_HUB).map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(v) => {
            return Err(ConfigError::BadSetting {
                name: ENV_SECURITY_HUB,
                value: v,
                expected: "`true` or `false`",
            })
        }
    };
    Ok(OutputSettings {
        namespace,
        findings_bus: setting_text(env, ENV_FINDINGS_BUS),
        security_hub,
    })
}

/// A role as `TAG_WARDEN_MEMBER_ROLE` or `--member-role` give it: its name with its path, outer
/// slashes and blanks trimmed; `None` when blank.
pub fn role_name(text: &str) -> Option<String> {
    Some(text.trim().trim_matches('/').to_owned()).filter(|r| !r.is_empty())
}

impl Config {
    /// Governs other accounts through `role`: the backend assumes it, and intake takes its
    /// sessions for tag-warden's own calls.
    pub fn set_member_role(&mut self, role: String) {
        self.intake.member_role = Some(role.clone());
        self.fleet.member_role = Some(role);
    }
}

/// A comma-separated list, trimmed, blanks dropped.
fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The setting `name`, trimmed; `None` when unset or blank.
fn setting_text(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The setting `name` as `parse` reads it; `None` when unset or blank; an error naming the
/// variable when `parse` rejects it.
fn setting<T>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ConfigError> {
    match env(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(value) => parse(&value).map(Some).ok_or(ConfigError::BadNumber { name, value }),
    }
}

/// The policy text, a description of where it came from, and its format (by the file's
/// extension; an inline policy may be JSON or YAML).
fn policy_source(env: &dyn Fn(&str) -> Option<String>) -> Result<(String, String, Format), ConfigError> {
    if let Some(inline) = env(ENV_POLICY).filter(|p| !p.trim().is_empty()) {
        return Ok((inline, ENV_POLICY.to_owned(), Format::Detect));
    }
    let path = env(ENV_POLICY_FILE)
        .filter(|p| !p.trim().is_empty())
        .ok_or(ConfigError::NoPolicy)?;
    let text = read_policy_file(std::path::Path::new(&path)).map_err(|source| ConfigError::ReadPolicy {
        path: path.clone(),
        source,
    })?;
    let format = Format::of_path(&path);
    Ok((text, format!("{ENV_POLICY_FILE}={path}"), format))
}

/// A policy file's text, read no further than one byte past the size the loader accepts (so a
/// huge file costs nothing and is still refused by the loader, with its size).
pub fn read_policy_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let limit = u64::try_from(crate::engine::policy::MAX_POLICY_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit).read_to_end(&mut bytes)?;
    if bytes.len() > crate::engine::policy::MAX_POLICY_BYTES {
        // Cut anywhere, perhaps inside a character: only its size matters now.
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests;
