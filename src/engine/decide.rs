//! Decide stage (pure core): the outcome of a resource, decided once, from the evaluation and
//! the facts of what carrying out its plan did. Adapters report facts; this turns them into
//! the outcome, the reasons and what was actually written.

use super::evaluate::Evaluation;
use crate::domain::{ApiError, ErrorKind, ErrorType, Outcome, Refusal, ReplicaOf, Tags, EXEMPT_TAG, EXEMPT_UNTIL_TAG};

/// What carrying out a plan did, as the apply layer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Nothing was written: report mode, an offline plan, or nothing to write.
    Nothing,
    /// A check just before writing found the resource must not be written to (why).
    Refused(Refusal),
    /// The check before writing failed.
    CheckFailed(ApiError),
    /// The writes attempted, in order (untag, then tag); `None` where not attempted. After a
    /// failed untag the tag is not attempted.
    Written {
        /// UntagResource's result.
        untag: Option<Result<(), ApiError>>,
        /// TagResource's result.
        tag: Option<Result<(), ApiError>>,
    },
}

/// The decision for one resource: its outcome and what the report says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What happened.
    pub outcome: Outcome,
    /// Why, for people: the findings first, then what the writes met.
    pub reasons: Vec<String>,
    /// For `error`: the fixed, searchable type.
    pub error_type: Option<ErrorType>,
    /// Tags written (TagResource succeeded).
    pub tags_added: Tags,
    /// Keys removed (UntagResource succeeded).
    pub keys_removed: Vec<String>,
}

impl Decision {
    fn of(outcome: Outcome, reasons: Vec<String>) -> Self {
        Decision {
            outcome,
            reasons,
            error_type: None,
            tags_added: Tags::new(),
            keys_removed: Vec::new(),
        }
    }

    /// A resource that must not be written to, for the reason given (deleted, service- or
    /// AWS-managed, pending deletion).
    pub fn skipped(why: &Refusal) -> Self {
        Decision::of(Outcome::Skipped, vec![why.to_string()])
    }

    /// A replica secret, judged through its primary: its tags are the primary's, so what they
    /// lack is the primary's to fix, in the primary's Region. Nothing is written here.
    pub fn replica(eval: &Evaluation, of: &ReplicaOf) -> Self {
        let mut reasons = vec![Refusal::Replica(of.clone()).to_string()];
        reasons.extend(eval.findings.iter().map(|f| f.reason()));
        if !eval.plan.is_empty() {
            reasons.push(format!(
                "the fix belongs to the primary: it is made where {} is governed, in {}",
                of.primary_arn, of.primary_region
            ));
        }
        Decision::of(Outcome::Replica, reasons)
    }

    /// A resource an administrator exempted (`tag-warden exempt`); the caller gives the why.
    pub fn exempted() -> Self {
        Decision::of(Outcome::Exempt, Vec::new())
    }

    /// A resource whose state could not be read.
    pub fn failed(e: &ApiError) -> Self {
        let mut d = Decision::of(Outcome::Compliant, Vec::new());
        d.fail(e);
        d
    }

    /// Records an AWS failure: gone or in a state that refuses tagging → skipped; access
    /// denied → a violation (retrying will not help); anything else → error, so that the
    /// invocation fails and is retried.
    fn fail(&mut self, e: &ApiError) {
        let (outcome, why) = match e.kind {
            ErrorKind::NotFound => (Outcome::Skipped, format!("the resource no longer exists ({e})")),
            ErrorKind::InvalidState => (
                Outcome::Skipped,
                format!("the resource refuses tag changes in its current state ({e})"),
            ),
            ErrorKind::AccessDenied => (Outcome::Violation, format!("access denied ({e})")),
            ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Other => (Outcome::Error, e.to_string()),
        };
        self.outcome = outcome;
        self.reasons.push(why);
        self.error_type = (outcome == Outcome::Error).then(|| ErrorType::from(e.kind));
    }
}

/// Whether the evaluation calls for writes (in enforce mode they are then attempted).
pub fn writes_due(eval: &Evaluation) -> bool {
    !eval.exempt && !eval.plan.is_empty()
}

/// Decides the outcome of an evaluated resource from what carrying out its plan did.
pub fn decide(eval: &Evaluation, applied: &Applied) -> Decision {
    if eval.exempt {
        let why = match eval.exempt_until {
            Some(until) => format!("carries `{EXEMPT_UNTIL_TAG}` = `{until}`: exempt through {until} (UTC)"),
            None => format!("carries `{EXEMPT_TAG}` = `true`"),
        };
        let mut reasons = vec![why];
        reasons.extend(eval.notes.iter().cloned());
        return Decision::of(Outcome::Exempt, reasons);
    }
    let reasons = eval
        .findings
        .iter()
        .map(|f| f.reason())
        .chain(eval.notes.iter().cloned())
        .chain(
            eval.waived
                .iter()
                .map(|w| format!("rule `{}` is waived through {}: {}", w.rule, w.until, w.reason)),
        )
        .collect();
    if eval.plan.is_empty() {
        return Decision::of(settled(eval), reasons);
    }
    let mut d = Decision::of(Outcome::WouldRemediate, reasons);
    match applied {
        Applied::Nothing => {}
        Applied::Refused(why) => {
            d.outcome = Outcome::Skipped;
            d.reasons.push(why.to_string());
        }
        Applied::CheckFailed(e)
        | Applied::Written {
            untag: Some(Err(e)), ..
        } => d.fail(e),
        Applied::Written { untag, tag } => {
            if untag.is_some() {
                d.keys_removed = eval.plan.untag.clone();
            }
            match tag {
                Some(Err(e)) => {
                    d.fail(e);
                    if !d.keys_removed.is_empty() {
                        d.reasons
                            .push("partially applied: the untag succeeded, the tag did not".to_owned());
                    }
                    return d;
                }
                Some(Ok(())) => d.tags_added = eval.plan.tag.clone(),
                None => {}
            }
            d.outcome = match settled(eval) {
                Outcome::Compliant => Outcome::Remediated,
                still => still,
            };
        }
    }
    d
}

/// Where the resource stands once the plan is written: a violation while some finding is not
/// fixed at all; would-remediate while report-only rules' writes remain; waived when a policy
/// waiver sets rules aside (an exception, never compliance); else compliant.
fn settled(eval: &Evaluation) -> Outcome {
    if eval.has_violations() {
        Outcome::Violation
    } else if !eval.report_only.is_empty() {
        Outcome::WouldRemediate
    } else if !eval.waived.is_empty() {
        Outcome::Waived
    } else {
        Outcome::Compliant
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::evaluate::{Finding, Fix, Plan, ValueSource};

    fn eval(untag: &[&str], tag: &[(&str, &str)], unfixable: bool) -> Evaluation {
        let mut findings: Vec<Finding> = untag
            .iter()
            .map(|k| Finding::Forbidden {
                key: k.to_string(),
                rule: "r".into(),
                glob: k.to_string(),
            })
            .collect();
        findings.extend(tag.iter().map(|(k, v)| Finding::Missing {
            key: k.to_string(),
            rule: "r".into(),
            fix: Fix::Set {
                value: v.to_string(),
                from: ValueSource::Default,
            },
        }));
        if unfixable {
            findings.push(Finding::Missing {
                key: "Reviewer".into(),
                rule: "r".into(),
                fix: Fix::Manual(None),
            });
        }
        Evaluation {
            exempt: false,
            findings,
            report_only: Plan::default(),
            exempt_until: None,
            waived: Vec::new(),
            notes: Vec::new(),
            awaiting: Vec::new(),
            plan: Plan {
                untag: untag.iter().map(|k| k.to_string()).collect(),
                tag: tag.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            },
        }
    }

    fn err(kind: ErrorKind) -> ApiError {
        ApiError {
            operation: "op",
            resource: "r".into(),
            kind,
            code: "Code".into(),
            message: "injected".into(),
        }
    }

    #[test]
    fn nothing_to_write_is_compliant_or_a_violation() {
        assert_eq!(
            decide(&eval(&[], &[], false), &Applied::Nothing).outcome,
            Outcome::Compliant
        );
        let d = decide(&eval(&[], &[], true), &Applied::Nothing);
        assert_eq!(d.outcome, Outcome::Violation);
        assert!(d.reasons[0].contains("`Reviewer` is required"));
    }

    #[test]
    fn a_plan_not_carried_out_would_remediate() {
        let d = decide(&eval(&["Debug"], &[], false), &Applied::Nothing);
        assert_eq!(d.outcome, Outcome::WouldRemediate);
        assert!(d.keys_removed.is_empty() && d.tags_added.is_empty());
    }

    #[test]
    fn successful_writes_remediate_and_say_what_was_written() {
        let e = eval(&["Debug"], &[("Owner", "platform")], false);
        let d = decide(
            &e,
            &Applied::Written {
                untag: Some(Ok(())),
                tag: Some(Ok(())),
            },
        );
        assert_eq!(d.outcome, Outcome::Remediated);
        assert_eq!(d.keys_removed, ["Debug"]);
        assert_eq!(d.tags_added, e.plan.tag);
    }

    #[test]
    fn writes_that_leave_an_unfixable_finding_end_as_a_violation() {
        let d = decide(
            &eval(&[], &[("Owner", "platform")], true),
            &Applied::Written {
                untag: None,
                tag: Some(Ok(())),
            },
        );
        assert_eq!(d.outcome, Outcome::Violation);
        assert_eq!(d.tags_added.len(), 1);
    }

    #[test]
    fn a_failed_untag_maps_by_kind_and_writes_nothing() {
        for (kind, outcome, error_type) in [
            (ErrorKind::NotFound, Outcome::Skipped, None),
            (ErrorKind::InvalidState, Outcome::Skipped, None),
            (ErrorKind::AccessDenied, Outcome::Violation, None),
            (ErrorKind::Throttled, Outcome::Error, Some(ErrorType::Throttled)),
            (ErrorKind::Transient, Outcome::Error, Some(ErrorType::Transient)),
            (ErrorKind::Other, Outcome::Error, Some(ErrorType::Other)),
        ] {
            let d = decide(
                &eval(&["Debug"], &[("Owner", "p")], false),
                &Applied::Written {
                    untag: Some(Err(err(kind))),
                    tag: None,
                },
            );
            assert_eq!((d.outcome, d.error_type), (outcome, error_type), "{kind:?}");
            assert!(d.keys_removed.is_empty() && d.tags_added.is_empty());
        }
    }

    #[test]
    fn a_failed_tag_after_an_untag_is_partially_applied() {
        let d = decide(
            &eval(&["Debug"], &[("Owner", "p")], false),
            &Applied::Written {
                untag: Some(Ok(())),
                tag: Some(Err(err(ErrorKind::Throttled))),
            },
        );
        assert_eq!(d.outcome, Outcome::Error);
        assert_eq!(d.keys_removed, ["Debug"]);
        assert!(d.reasons.last().unwrap().contains("partially applied"));
    }

    #[test]
    fn a_refusal_before_writing_skips_and_a_failed_check_maps_by_kind() {
        let e = eval(&["Debug"], &[], false);
        use crate::domain::PendingKeyState;
        let why = Refusal::KeyState(PendingKeyState::PendingDeletion);
        let d = decide(&e, &Applied::Refused(why.clone()));
        assert_eq!(d.outcome, Outcome::Skipped);
        assert_eq!(d.reasons.last(), Some(&why.to_string()));
        let d = decide(&e, &Applied::CheckFailed(err(ErrorKind::Transient)));
        assert_eq!((d.outcome, d.error_type), (Outcome::Error, Some(ErrorType::Transient)));
    }

    #[test]
    fn report_only_writes_leave_the_resource_would_remediate_after_the_enforced_ones() {
        let mut e = eval(&["Debug"], &[], false);
        e.report_only.tag.insert("Team".into(), "a".into());
        let d = decide(
            &e,
            &Applied::Written {
                untag: Some(Ok(())),
                tag: None,
            },
        );
        assert_eq!((d.outcome, d.keys_removed.len()), (Outcome::WouldRemediate, 1));
        let only = Evaluation {
            report_only: e.report_only.clone(),
            ..Evaluation::default()
        };
        assert_eq!(decide(&only, &Applied::Nothing).outcome, Outcome::WouldRemediate);
    }

    #[test]
    fn an_exempt_resource_is_exempt_whatever_was_planned() {
        let mut e = eval(&["Debug"], &[], false);
        e.exempt = true;
        assert!(!writes_due(&e));
        let d = decide(&e, &Applied::Nothing);
        assert_eq!(d.outcome, Outcome::Exempt);
        assert_eq!(d.reasons, ["carries `tag-warden:exempt` = `true`"]);
    }

    #[test]
    fn a_resource_a_waiver_sets_rules_aside_for_is_an_exception_never_compliant() {
        let waived = crate::engine::evaluate::Waived {
            rule: "prod".into(),
            until: crate::domain::Date::parse("2027-01-01").unwrap(),
            reason: "vendor migration".into(),
        };
        let mut e = eval(&[], &[], false);
        e.waived.push(waived.clone());
        let d = decide(&e, &Applied::Nothing);
        assert_eq!(d.outcome, Outcome::Waived);
        assert!(d.reasons.iter().any(|r| r.contains("waived through 2027-01-01")));
        // What other rules leave unfixed is still a violation.
        let mut bad = eval(&[], &[], true);
        bad.waived.push(waived);
        assert_eq!(decide(&bad, &Applied::Nothing).outcome, Outcome::Violation);
    }
}
