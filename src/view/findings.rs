//! The finding a report entry makes ([`finding_of`]), and the closing finding of a resource a
//! sweep no longer lists ([`gone_finding`]): `ports::PolicyFinding`s, which `run::outputs`
//! publishes.

use crate::domain::{arn_account, Cell, Mode, Outcome, ResourceKind};
use crate::ports::{finding_id, Compliance, PolicyFinding};
use crate::view::metrics::rules_of;
use crate::view::report::ResourceReport;

/// The finding of an entry, when it has one: a violation or a write report mode did not make
/// (FAILED), a remediation (PASSED: fixed now), an exempt resource (WARNING: not enforced,
/// and seen), or, when `resolves`, a compliant resource whose earlier finding is still open
/// (PASSED).
pub fn finding_of(entry: &ResourceReport, mode: Mode, resolves: bool, observed_at: &str) -> Option<PolicyFinding> {
    let compliance = match entry.outcome {
        // Fixed or not, a change someone keeps re-making is a conflict to resolve: open.
        Outcome::Remediated | Outcome::WouldRemediate | Outcome::Violation if entry.contested.is_some() => {
            Compliance::Warning
        }
        Outcome::Violation | Outcome::WouldRemediate => Compliance::Failed,
        Outcome::Remediated => Compliance::Passed,
        // An exception (an exemption or a waiver): not enforced, and seen.
        Outcome::Exempt | Outcome::Waived => Compliance::Warning,
        Outcome::Compliant if resolves => Compliance::Passed,
        Outcome::NotEnrolled => return not_enrolled_finding(entry, mode, observed_at),
        _ => return None,
    };
    let (kind, arn) = (entry.kind?, entry.arn.clone()?);
    let account = entry.account.clone().or_else(|| arn_account(&arn).map(str::to_owned))?;
    let region = entry.region.clone()?;
    let (keys_to_add, keys_to_remove) = match entry.outcome {
        Outcome::WouldRemediate | Outcome::Violation => {
            let mut add: Vec<String> = entry.plan.tag.keys().cloned().collect();
            add.extend(entry.report_only.tag.keys().cloned());
            let mut remove = entry.plan.untag.clone();
            remove.extend(entry.report_only.untag.iter().cloned());
            (add, remove)
        }
        _ => (Vec::new(), Vec::new()),
    };
    Some(PolicyFinding {
        finding_id: finding_id(&arn),
        compliance,
        outcome: entry.outcome,
        mode,
        kind: Some(kind),
        account,
        region: Some(region),
        rules: rules_of(entry).into_iter().collect(),
        keys_added: entry.tags_added.keys().cloned().collect(),
        keys_removed: entry.keys_removed.clone(),
        keys_to_add,
        keys_to_remove,
        reasons: entry.reasons.clone(),
        actor: entry.event.actor.arn.clone(),
        event: entry.event.name.clone(),
        event_id: entry.event.id.clone(),
        observed_at: observed_at.to_owned(),
        contested_by: entry.contested.as_ref().map(|c| c.contested_by.clone()),
        contested_count: entry.contested.as_ref().map(|c| c.contested_count),
        arn,
    })
}

/// The finding of an account not enrolled: about its member role, which AWS refused to let
/// tag-warden assume (missing, or not trusting it). On the findings bus only: Security Hub
/// takes findings in the account itself, which cannot be reached.
fn not_enrolled_finding(entry: &ResourceReport, mode: Mode, observed_at: &str) -> Option<PolicyFinding> {
    let account = entry.account.clone()?;
    let arn = format!("arn:aws:iam::{account}:root");
    Some(PolicyFinding {
        finding_id: finding_id(&arn),
        compliance: Compliance::Failed,
        outcome: Outcome::NotEnrolled,
        mode,
        kind: None,
        arn,
        account,
        region: None,
        rules: Vec::new(),
        keys_added: Vec::new(),
        keys_removed: Vec::new(),
        keys_to_add: Vec::new(),
        keys_to_remove: Vec::new(),
        reasons: entry.reasons.clone(),
        actor: None,
        event: None,
        event_id: None,
        observed_at: observed_at.to_owned(),
        contested_by: None,
        contested_count: None,
    })
}

/// The closing finding of a resource gone, about `arn` in `cell`.
pub fn gone_finding(
    arn: &str,
    kind: ResourceKind,
    cell: &Cell,
    mode: Mode,
    observed_at: &str,
) -> Option<PolicyFinding> {
    let account = cell.account.as_deref().or_else(|| arn_account(arn))?;
    Some(PolicyFinding {
        finding_id: finding_id(arn),
        compliance: Compliance::NotAvailable,
        outcome: Outcome::Skipped,
        mode,
        kind: Some(kind),
        arn: arn.to_owned(),
        account: account.to_owned(),
        region: Some(cell.region.clone()),
        rules: Vec::new(),
        keys_added: Vec::new(),
        keys_removed: Vec::new(),
        keys_to_add: Vec::new(),
        keys_to_remove: Vec::new(),
        reasons: vec!["the resource no longer exists: a sweep of its account and region did not list it".to_owned()],
        actor: None,
        event: None,
        event_id: None,
        observed_at: observed_at.to_owned(),
        contested_by: None,
        contested_count: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::violation;

    #[test]
    fn only_departures_and_fixes_are_findings_and_they_carry_the_entry() {
        let mut e = violation(1);
        e.event.actor.arn = Some("arn:aws:iam::123456789012:user/Alice".to_owned());
        e.event.name = Some("UntagResource".to_owned());
        let f = finding_of(&e, Mode::Enforce, false, "2026-12-01T00:00:00Z").unwrap();
        assert_eq!(f.compliance, Compliance::Failed);
        assert_eq!(
            f.account, "123456789012",
            "the account comes from the ARN when the entry has none"
        );
        assert_eq!(f.rules, ["cost"]);
        assert_eq!(f.actor.as_deref(), Some("arn:aws:iam::123456789012:user/Alice"));
        assert_eq!(f.finding_id, finding_id(e.arn.as_deref().unwrap()));
        let mut fixed = violation(1);
        fixed.outcome = Outcome::Remediated;
        fixed.tags_added.insert("Owner".into(), "platform".into());
        let f = finding_of(&fixed, Mode::Enforce, false, "t").unwrap();
        assert_eq!(
            (f.compliance, f.keys_added.as_slice()),
            (Compliance::Passed, ["Owner".to_owned()].as_slice())
        );
        let mut exempt = violation(1);
        exempt.outcome = Outcome::Exempt;
        assert_eq!(
            finding_of(&exempt, Mode::Enforce, false, "t").map(|f| f.compliance),
            Some(Compliance::Warning),
            "an exempt resource is a finding of its own kind"
        );
        for outcome in [Outcome::Compliant, Outcome::Skipped, Outcome::Ignored, Outcome::Error] {
            let mut e = violation(1);
            e.outcome = outcome;
            assert!(finding_of(&e, Mode::Enforce, false, "t").is_none(), "{outcome:?}");
        }
        let mut compliant = violation(1);
        compliant.outcome = Outcome::Compliant;
        assert_eq!(
            finding_of(&compliant, Mode::Enforce, true, "t").map(|f| f.compliance),
            Some(Compliance::Passed),
            "a compliant resource with an open finding resolves it"
        );
    }

    #[test]
    fn a_finding_never_carries_a_tag_value() {
        let mut e = violation(1);
        e.outcome = Outcome::Remediated;
        e.tags_added.insert("CostCenter".into(), "canary-value-4100".into());
        let f = finding_of(&e, Mode::Enforce, false, "t").unwrap();
        assert!(!serde_json::to_string(&f).unwrap().contains("canary-value-4100"));
    }
}
