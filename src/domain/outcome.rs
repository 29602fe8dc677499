//! What happened to a resource, and the closed set of error types a failure reports.

use super::ErrorKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What happened to one resource (or one event that names none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Already compliant: nothing written.
    Compliant,
    /// Writes made; now compliant.
    Remediated,
    /// Report mode: writes were needed but none made.
    WouldRemediate,
    /// Not compliant and not fixable here (no default, tag limit, access denied).
    Violation,
    /// Carries `tag-warden:exempt = true`.
    Exempt,
    /// Under a policy waiver (the waived rules set aside until its day), and otherwise
    /// compliant: an exception, like an exemption.
    Waived,
    /// Not governable now (deleted, managed by a service or AWS, pending deletion, gone).
    Skipped,
    /// An account whose member role is missing or refuses AssumeRole: a configuration fact,
    /// reported once per sweep, never retried through the queue.
    NotEnrolled,
    /// A replica secret: never written, its tags follow its primary, which is governed in the
    /// primary's Region. Judged, and counted apart.
    Replica,
    /// The event needs no action.
    Ignored,
    /// Failed, possibly part-way; the invocation fails so that it is retried.
    Error,
}

impl Outcome {
    /// Whether the resource is left not compliant: a violation, an error, or a write that
    /// report mode did not make.
    pub fn needs_attention(self) -> bool {
        matches!(self, Outcome::Violation | Outcome::Error | Outcome::WouldRemediate)
    }

    /// Whether a report counts it as left not compliant: what needs attention, and an account
    /// not enrolled (what a command's exit 1 means).
    pub fn left_open(self) -> bool {
        self.needs_attention() || self == Outcome::NotEnrolled
    }

    /// How it counts toward a compliance rate: the one rule every count (the report's summary,
    /// the CLI table, the metrics, the page, Security Hub) follows.
    pub fn standing(self) -> Standing {
        match self {
            Outcome::Compliant | Outcome::Remediated => Standing::Compliant,
            Outcome::WouldRemediate | Outcome::Violation | Outcome::Error => Standing::NotCompliant,
            Outcome::Exempt | Outcome::Waived => Standing::Exception,
            Outcome::Skipped | Outcome::Replica | Outcome::NotEnrolled | Outcome::Ignored => Standing::Apart,
        }
    }

    /// The kebab-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Compliant => "compliant",
            Outcome::Remediated => "remediated",
            Outcome::WouldRemediate => "would-remediate",
            Outcome::Violation => "violation",
            Outcome::Exempt => "exempt",
            Outcome::Waived => "waived",
            Outcome::Skipped => "skipped",
            Outcome::Replica => "replica",
            Outcome::NotEnrolled => "not-enrolled",
            Outcome::Ignored => "ignored",
            Outcome::Error => "error",
        }
    }
}

/// How an outcome counts toward a compliance rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Compliant as found, or fixed.
    Compliant,
    /// Left not compliant: a violation, an error, or a fix not made (report mode, a dry run).
    NotCompliant,
    /// An exception (an exemption or a waiver): neither compliant nor not; counted apart.
    Exception,
    /// Not judged against the policy here (skipped, a replica, an account, an ignored event).
    Apart,
}

/// Counts by standing, and the compliance rate they give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standings {
    /// Compliant or fixed.
    pub compliant: usize,
    /// Left not compliant.
    pub not_compliant: usize,
    /// Exemptions and waivers.
    pub exceptions: usize,
}

impl Standings {
    /// The standings of outcome counts.
    pub fn of<'a>(counts: impl IntoIterator<Item = (&'a Outcome, &'a usize)>) -> Standings {
        let mut s = Standings::default();
        for (o, n) in counts {
            match o.standing() {
                Standing::Compliant => s.compliant += n,
                Standing::NotCompliant => s.not_compliant += n,
                Standing::Exception => s.exceptions += n,
                Standing::Apart => {}
            }
        }
        s
    }

    /// Compliant of compliant and not compliant, in percent; exceptions are in neither the
    /// numerator nor the denominator. `None` when nothing counts.
    pub fn percent(&self) -> Option<f64> {
        let judged = self.compliant + self.not_compliant;
        (judged > 0).then(|| self.compliant as f64 * 100.0 / judged as f64)
    }
}

/// The fixed, searchable type of a failure: a report entry's `error_type` and the Lambda
/// error response's `errorType`. AWS failures keep their kind's name; failures of the
/// payload itself are `TagWarden.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorType {
    /// AWS throttled the call past the SDK's retries.
    Throttled,
    /// 5xx, timeouts or connection failures past the SDK's retries.
    Transient,
    /// Any other AWS failure.
    Other,
    /// The payload is not JSON.
    #[serde(rename = "TagWarden.NotJson")]
    NotJson,
    /// The payload (or a record in it) is not an event tag-warden takes in.
    #[serde(rename = "TagWarden.NotAnEvent")]
    NotAnEvent,
    /// A handled event lacks the field naming its resource or region.
    #[serde(rename = "TagWarden.MissingField")]
    MissingField,
    /// A field is beyond what AWS allows (an identifier over 2,048 characters).
    #[serde(rename = "TagWarden.BadField")]
    BadField,
    /// A log file with more records than one invocation takes.
    #[serde(rename = "TagWarden.TooManyRecords")]
    TooManyRecords,
    /// Some entries of the report failed.
    #[serde(rename = "TagWarden.Incomplete")]
    Incomplete,
}

impl ErrorType {
    /// The searchable name (what it serialises to).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Throttled => "Throttled",
            ErrorType::Transient => "Transient",
            ErrorType::Other => "Other",
            ErrorType::NotJson => "TagWarden.NotJson",
            ErrorType::NotAnEvent => "TagWarden.NotAnEvent",
            ErrorType::MissingField => "TagWarden.MissingField",
            ErrorType::BadField => "TagWarden.BadField",
            ErrorType::TooManyRecords => "TagWarden.TooManyRecords",
            ErrorType::Incomplete => "TagWarden.Incomplete",
        }
    }
}

impl From<ErrorKind> for ErrorType {
    /// The error type of an AWS failure that ends a resource as `error` (the other kinds end
    /// as `skipped` or `violation`, which carry no error type).
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Throttled => ErrorType::Throttled,
            ErrorKind::Transient => ErrorType::Transient,
            ErrorKind::NotFound | ErrorKind::InvalidState | ErrorKind::AccessDenied | ErrorKind::Other => {
                ErrorType::Other
            }
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_serialise_to_their_searchable_names() {
        for t in [
            ErrorType::Throttled,
            ErrorType::Transient,
            ErrorType::Other,
            ErrorType::NotJson,
            ErrorType::NotAnEvent,
            ErrorType::MissingField,
            ErrorType::BadField,
            ErrorType::TooManyRecords,
            ErrorType::Incomplete,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }
}
