//! What a report counts as compliance, and an exception as a security lead reads it.

use crate::domain::{Date, Outcome, Standings};
use crate::engine::evaluate::Evaluation;
use serde::Serialize;
use std::collections::BTreeMap;

/// A report's compliance rate, as every count makes it ([`Outcome::standing`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Compliance {
    /// Compliant or fixed.
    pub compliant: usize,
    /// Left not compliant (a violation, an error, a fix not made).
    pub not_compliant: usize,
    /// Exceptions (exempt, waived): in neither number.
    pub exceptions: usize,
    /// Compliant of compliant and not compliant, in percent; none when nothing counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

impl Compliance {
    /// The rate of outcome counts.
    pub fn of(summary: &BTreeMap<Outcome, usize>) -> Compliance {
        let s = Standings::of(summary);
        Compliance {
            compliant: s.compliant,
            not_compliant: s.not_compliant,
            exceptions: s.exceptions,
            percent: s.percent(),
        }
    }
}

/// What kind of exception a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionKind {
    /// `tag-warden:exempt` / `exempt-until`, granted (`tag-warden exempt`) or trusted.
    Exemption,
    /// A policy `waivers` entry.
    Waiver,
}

impl ExceptionKind {
    /// `exemption` or `waiver`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Exemption => "exemption",
            ExceptionKind::Waiver => "waiver",
        }
    }
}

/// An exception, as a security lead reads it: kind, last day, who granted it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// Exemption or waiver.
    pub kind: ExceptionKind,
    /// The last day (UTC); none for `tag-warden:exempt = true`, which has no end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
    /// Who granted it: the exemption's grant (memory), or the policy file for a waiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// Why: the grant's or the waiver's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// For a waiver: the rules it sets aside.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl Exception {
    /// The exception an evaluation makes of a resource, if any.
    pub fn of(eval: &Evaluation) -> Option<Exception> {
        if eval.exempt {
            return Some(Exception {
                kind: ExceptionKind::Exemption,
                until: eval.exempt_until,
                who: None,
                why: None,
                rules: Vec::new(),
            });
        }
        let first = eval.waived.iter().min_by_key(|w| w.until)?;
        let mut why: Vec<&str> = eval.waived.iter().map(|w| w.reason.as_str()).collect();
        why.dedup();
        Some(Exception {
            kind: ExceptionKind::Waiver,
            until: Some(first.until),
            who: Some("the policy file (waivers)".to_owned()),
            why: Some(why.join("; ")),
            rules: eval.waived.iter().map(|w| w.rule.clone()).collect(),
        })
    }
}
