//! The CLI's error: what went wrong and, by its variant, the exit code.

use crate::config::EXIT_INVALID;
use std::process::ExitCode;

/// Exit code for a handler that returned an error (the invocation would fail) or a command
/// that failed.
pub const EXIT_FAILED: u8 = 1;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Invalid configuration, policy, input or usage: exit 2, the message printed as is.
    #[error("{0}")]
    Invalid(String),
    /// The command (or the handler it ran) failed: exit 1, printed as `error: …`.
    #[error("error: {0}")]
    Failed(String),
    /// The command did its work and found resources not compliant: exit 1, the message on
    /// stderr as is.
    #[error("{0}")]
    Findings(String),
    /// The command said all there is to say on stdout (test results): just this exit code.
    #[error("")]
    Quiet(u8),
}

impl CliError {
    /// Prints the error on stderr and gives its exit code.
    pub fn exit(self) -> ExitCode {
        if let CliError::Quiet(code) = self {
            return ExitCode::from(code);
        }
        eprintln!("{self}");
        ExitCode::from(match self {
            CliError::Invalid(_) => EXIT_INVALID,
            CliError::Failed(_) | CliError::Findings(_) | CliError::Quiet(_) => EXIT_FAILED,
        })
    }
}
