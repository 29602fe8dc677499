//! Configuration from the environment, read once at start-up (cold start) and identical under
//! Lambda and the CLI. An invalid policy fails start-up with every problem listed.

use crate::intake::IntakeOptions;
use crate::model::Mode;
use crate::policy::{self, Glob, Policy, PolicyErrors};

/// Inline policy JSON; wins over the file when set and not blank.
pub const ENV_POLICY: &str = "TAG_WARDEN_POLICY";
/// Path of a policy file.
pub const ENV_POLICY_FILE: &str = "TAG_WARDEN_POLICY_FILE";
/// `enforce` or `report`: overrides the policy's mode.
pub const ENV_MODE: &str = "TAG_WARDEN_MODE";
/// Comma-separated ARN globs of principals whose events are ignored.
pub const ENV_IGNORE_PRINCIPALS: &str = "TAG_WARDEN_IGNORE_PRINCIPALS";
/// Set by Lambda: the function's own name, which is its assumed-role session name.
pub const ENV_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// Everything the handler needs besides AWS clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// The validated policy.
    pub policy: Policy,
    /// The effective mode (the environment's override, else the policy's).
    pub mode: Mode,
    /// How to recognise events to ignore.
    pub intake: IntakeOptions,
}

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
    /// `TAG_WARDEN_MODE` is not a mode.
    #[error("{ENV_MODE}=`{0}` is not a mode: use `enforce` or `report`")]
    BadMode(String),
}

impl Config {
    /// Reads the whole configuration through `env` (a variable lookup).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let (text, origin) = policy_source(env)?;
        let policy = policy::parse(&text).map_err(|source| ConfigError::Policy { origin, source })?;
        Config::with_policy(policy, env)
    }

    /// The configuration for an already-loaded policy, with the rest from `env`.
    pub fn with_policy(policy: Policy, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mode = match env(ENV_MODE).filter(|m| !m.trim().is_empty()) {
            Some(m) => Mode::parse(m.trim()).ok_or(ConfigError::BadMode(m))?,
            None => policy.mode,
        };
        let ignore_principals = env(ENV_IGNORE_PRINCIPALS)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Glob::new)
            .collect();
        Ok(Config {
            policy,
            mode,
            intake: IntakeOptions {
                self_session: env(ENV_FUNCTION_NAME).filter(|n| !n.is_empty()),
                ignore_principals,
            },
        })
    }
}

/// The policy text and a description of where it came from.
fn policy_source(env: &dyn Fn(&str) -> Option<String>) -> Result<(String, String), ConfigError> {
    if let Some(inline) = env(ENV_POLICY).filter(|p| !p.trim().is_empty()) {
        return Ok((inline, ENV_POLICY.to_owned()));
    }
    let path = env(ENV_POLICY_FILE)
        .filter(|p| !p.trim().is_empty())
        .ok_or(ConfigError::NoPolicy)?;
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadPolicy {
        path: path.clone(),
        source,
    })?;
    Ok((text, format!("{ENV_POLICY_FILE}={path}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const POLICY: &str = r#"{"mode":"enforce","rules":[{"name":"r","forbid":["Debug"]}]}"#;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn inline_policy_wins_over_the_file() {
        let env = env_of(&[(ENV_POLICY, POLICY), (ENV_POLICY_FILE, "/nonexistent/policy.json")]);
        let config = Config::from_env(&env).unwrap();
        assert_eq!(config.policy.rules.len(), 1);
    }

    #[test]
    fn blank_inline_policy_falls_back_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, POLICY).unwrap();
        let env = env_of(&[(ENV_POLICY, "  "), (ENV_POLICY_FILE, path.to_str().unwrap())]);
        assert!(Config::from_env(&env).is_ok());
    }

    #[test]
    fn missing_policy_is_a_start_up_error() {
        let err = Config::from_env(&env_of(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::NoPolicy), "{err}");
    }

    #[test]
    fn unreadable_policy_file_names_the_path() {
        let err = Config::from_env(&env_of(&[(ENV_POLICY_FILE, "/nonexistent/p.json")])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/p.json"), "{err}");
    }

    #[test]
    fn invalid_policy_lists_every_problem_with_its_origin() {
        let env = env_of(&[(ENV_POLICY, r#"{"mode":"loud","rules":[],"extra":1}"#)]);
        let err = Config::from_env(&env).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(ENV_POLICY), "{text}");
        assert!(text.contains("3 problems"), "{text}");
    }

    #[test]
    fn mode_variable_overrides_the_policy() {
        let env = env_of(&[(ENV_POLICY, POLICY), (ENV_MODE, "report")]);
        assert_eq!(Config::from_env(&env).unwrap().mode, Mode::Report);
        let env = env_of(&[(ENV_POLICY, POLICY), (ENV_MODE, "dry")]);
        assert!(matches!(Config::from_env(&env).unwrap_err(), ConfigError::BadMode(m) if m == "dry"));
    }

    #[test]
    fn ignore_principals_are_split_trimmed_and_blank_entries_dropped() {
        let env = env_of(&[
            (ENV_POLICY, POLICY),
            (
                ENV_IGNORE_PRINCIPALS,
                " arn:aws:iam::*:role/terraform , ,arn:aws:sts::*:assumed-role/ci/*",
            ),
            (ENV_FUNCTION_NAME, "tag-warden"),
        ]);
        let config = Config::from_env(&env).unwrap();
        let globs: Vec<&str> = config.intake.ignore_principals.iter().map(Glob::as_str).collect();
        assert_eq!(
            globs,
            ["arn:aws:iam::*:role/terraform", "arn:aws:sts::*:assumed-role/ci/*"]
        );
        assert_eq!(config.intake.self_session.as_deref(), Some("tag-warden"));
    }
}
