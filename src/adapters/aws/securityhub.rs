//! Security Hub: findings imported as ASFF (BatchImportFindings, 100 a call, in the resource's
//! account and region, as the default product of that account requires), and tag-warden's
//! findings still open there (GetFindings), so that a resource compliant again has its finding
//! resolved, and one gone has it archived.

use super::error::from_sdk;
use super::member::partition;
use super::paginate::all_pages;
use crate::domain::{arn_account, arn_region, ApiError, Cell, Outcome};
use crate::ports::{Compliance, PolicyFinding, Published, IMPORT_MAX_FINDINGS};
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, Compliance as AsffCompliance, ComplianceStatus, RecordState,
    Resource, Severity, SeverityLabel, StringFilter, StringFilterComparison, Workflow, WorkflowStatus,
};
use std::collections::BTreeMap;

/// The ASFF version written.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// `GeneratorId` of every tag-warden finding (what the open findings are looked up by).
pub const GENERATOR_ID: &str = "tag-warden";

/// `Types` of every tag-warden finding.
pub const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices/Resource Tagging";

/// The most values one GetFindings string filter takes.
const MAX_FILTER_VALUES: usize = 20;

/// The default product of `account` in `region`: what an account's own findings are imported as.
pub fn product_arn(account: &str, region: &str) -> String {
    format!(
        "arn:{}:securityhub:{region}:{account}:product/{account}/default",
        partition(region)
    )
}

/// A finding in ASFF: FAILED and NEW while the resource departs from the policy; PASSED,
/// RESOLVED and archived once it complies (Security Hub sets it back to NEW when a later
/// import is FAILED again).
pub fn asff(f: &PolicyFinding) -> AwsSecurityFinding {
    // Only findings about resources reach Security Hub (outputs send an account's there none).
    let kind = f.kind.map_or(("Other", "Account"), |k| k.spec().security_hub);
    let region = f.region.as_deref().unwrap_or_default();
    let (status, workflow, record, severity) = match f.compliance {
        Compliance::Failed => (
            ComplianceStatus::Failed,
            WorkflowStatus::New,
            RecordState::Active,
            match f.outcome {
                Outcome::Violation => SeverityLabel::Medium,
                _ => SeverityLabel::Low,
            },
        ),
        Compliance::Passed => (
            ComplianceStatus::Passed,
            WorkflowStatus::Resolved,
            RecordState::Archived,
            SeverityLabel::Informational,
        ),
        Compliance::NotAvailable => (
            ComplianceStatus::NotAvailable,
            WorkflowStatus::Resolved,
            RecordState::Archived,
            SeverityLabel::Informational,
        ),
        Compliance::Warning => (
            ComplianceStatus::Warning,
            WorkflowStatus::New,
            RecordState::Active,
            if f.contested_by.is_some() {
                SeverityLabel::Medium
            } else {
                SeverityLabel::Informational
            },
        ),
    };
    let rules = if f.rules.is_empty() {
        String::new()
    } else {
        format!(" ({})", f.rules.join(", "))
    };
    let title = match (f.compliance, f.outcome) {
        (Compliance::NotAvailable, _) => format!("{} no longer exists: its tag finding is closed", kind.1),
        (Compliance::Warning, _) if f.contested_by.is_some() => format!(
            "{} tags contested by {}: the same change undone {} times in 24 hours{rules}",
            kind.1,
            f.contested_by.as_deref().unwrap_or_default(),
            f.contested_count.unwrap_or_default()
        ),
        (Compliance::Warning, _) => format!("{} is exempt from tag policy", kind.1),
        (_, Outcome::Remediated) => format!("{} tags remediated by tag policy{rules}", kind.1),
        (_, Outcome::Compliant) => format!("{} tags comply with tag policy again", kind.1),
        (_, Outcome::WouldRemediate) => format!("{} tags depart from tag policy (report mode){rules}", kind.1),
        _ => format!("{} tags violate tag policy{rules}", kind.1),
    };
    let description = if f.reasons.is_empty() {
        title.clone()
    } else {
        f.reasons.join("; ")
    };
    AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(&f.finding_id)
        .product_arn(product_arn(&f.account, region))
        .generator_id(GENERATOR_ID)
        .aws_account_id(&f.account)
        .types(FINDING_TYPE)
        .created_at(&f.observed_at)
        .updated_at(&f.observed_at)
        .severity(Severity::builder().label(severity).build())
        .title(truncate(&title, 256))
        .description(truncate(&description, 1024))
        .resources(
            Resource::builder()
                .r#type(kind.0)
                .id(&f.arn)
                .partition(partition(region).into())
                .region(region)
                .build(),
        )
        .compliance(AsffCompliance::builder().status(status).build())
        .workflow(Workflow::builder().status(workflow).build())
        .record_state(record)
        .product_fields("tag-warden/outcome", f.outcome.as_str())
        .product_fields("tag-warden/mode", f.mode.to_string())
        .build()
}

/// At most `max` characters of `text` (on a character boundary).
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text.get(..at).unwrap_or(text).to_owned(),
        None => text.to_owned(),
    }
}

/// Imports `findings` (all in one account and region): what became of each, in order.
pub async fn import(client: &aws_sdk_securityhub::Client, findings: &[PolicyFinding]) -> Vec<Published> {
    let mut results = Vec::with_capacity(findings.len());
    for chunk in findings.chunks(IMPORT_MAX_FINDINGS) {
        let asffs: Vec<AwsSecurityFinding> = chunk.iter().map(asff).collect();
        match client.batch_import_findings().set_findings(Some(asffs)).send().await {
            Ok(out) => {
                let failed = out.failed_findings();
                results.extend(chunk.iter().map(|f| {
                    failed
                        .iter()
                        .find(|e| e.id() == Some(f.finding_id.as_str()))
                        .map_or(Published::Accepted, |e| {
                            Published::Refused(format!(
                                "{}: {}",
                                e.error_code().unwrap_or("Failed"),
                                e.error_message().unwrap_or("")
                            ))
                        })
                }));
            }
            Err(e) => {
                let e = from_sdk("securityhub:BatchImportFindings", "*", e, |_| None);
                results.extend(chunk.iter().map(|_| Published::Refused(e.to_string())));
            }
        }
    }
    results
}

fn equals(value: &str) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

/// tag-warden's active, failed findings about resources in `account` and the client's region
/// (`cell`'s): all of them, or those among `ids`; each id with its resource's ARN.
pub async fn open(
    client: &aws_sdk_securityhub::Client,
    cell: &Cell,
    account: &str,
    ids: Option<&[String]>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let groups: Vec<Option<&[String]>> = match ids {
        None => vec![None],
        Some([]) => Vec::new(),
        Some(ids) => ids.chunks(MAX_FILTER_VALUES).map(Some).collect(),
    };
    let mut open = BTreeMap::new();
    for group in groups {
        // An aggregating hub (the organization's administrator, the linking region) also
        // holds other accounts' and regions' findings: asked for this cell's only.
        let mut filters = AwsSecurityFindingFilters::builder()
            .generator_id(equals(GENERATOR_ID))
            .compliance_status(equals("FAILED"))
            .compliance_status(equals("WARNING"))
            .record_state(equals("ACTIVE"))
            .aws_account_id(equals(account))
            .region(equals(&cell.region));
        for id in group.unwrap_or_default() {
            filters = filters.id(equals(id));
        }
        let filters = filters.build();
        let resource = cell.to_string();
        let found = all_pages(|token| {
            let (filters, resource) = (filters.clone(), resource.clone());
            async move {
                let out = client
                    .get_findings()
                    .filters(filters)
                    .set_next_token(token)
                    .max_results(100)
                    .send()
                    .await
                    .map_err(|e| from_sdk("securityhub:GetFindings", &resource, e, |_| None))?;
                // The filters are asked of the service and checked again here: what comes
                // back is only what is still tag-warden's, failed and active, about a
                // resource (by its ARN) in this account and region.
                let found = out
                    .findings()
                    .iter()
                    .filter(|f| is_open(f))
                    .filter_map(|f| Some((f.id()?.to_owned(), resource_arn(f)?.to_owned())))
                    .filter(|(_, arn)| arn_account(arn) == Some(account) && arn_region(arn) == Some(&cell.region))
                    .collect();
                Ok((found, out.next_token().map(str::to_owned)))
            }
        })
        .await?;
        open.extend(found.into_iter().filter(|(id, _)| group.is_none_or(|g| g.contains(id))));
    }
    Ok(open)
}

/// The ARN of the resource a finding is about (tag-warden's name one).
fn resource_arn(f: &AwsSecurityFinding) -> Option<&str> {
    f.resources().first().and_then(|r| r.id())
}

/// Whether a finding is tag-warden's, failed (or exempt) and active.
fn is_open(f: &AwsSecurityFinding) -> bool {
    f.generator_id() == Some(GENERATOR_ID)
        && matches!(
            f.compliance().and_then(|c| c.status()),
            Some(ComplianceStatus::Failed | ComplianceStatus::Warning)
        )
        && f.record_state() == Some(&RecordState::Active)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Mode;
    use crate::domain::ResourceKind;

    fn finding(compliance: Compliance, outcome: Outcome) -> PolicyFinding {
        PolicyFinding {
            finding_id: "tw-1".to_owned(),
            compliance,
            outcome,
            mode: Mode::Enforce,
            kind: Some(ResourceKind::Secret),
            arn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf".to_owned(),
            account: "111122223333".to_owned(),
            region: Some("eu-west-1".to_owned()),
            rules: vec!["cost".to_owned()],
            keys_added: vec![],
            keys_removed: vec![],
            keys_to_add: vec!["CostCenter".to_owned()],
            keys_to_remove: vec![],
            reasons: vec!["CostCenter is missing".to_owned()],
            actor: None,
            event: None,
            event_id: None,
            observed_at: "2026-12-01T10:00:00Z".to_owned(),
            contested_by: None,
            contested_count: None,
        }
    }

    #[test]
    fn a_failed_finding_is_new_active_and_names_the_resource_and_the_default_product() {
        let a = asff(&finding(Compliance::Failed, Outcome::Violation));
        assert_eq!(a.schema_version(), Some(SCHEMA_VERSION));
        assert_eq!(
            a.product_arn(),
            Some("arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default")
        );
        assert_eq!(a.aws_account_id(), Some("111122223333"));
        assert_eq!(a.compliance().and_then(|c| c.status()), Some(&ComplianceStatus::Failed));
        assert_eq!(a.workflow().and_then(|w| w.status()), Some(&WorkflowStatus::New));
        assert_eq!(a.record_state(), Some(&RecordState::Active));
        let r = a.resources().first().unwrap();
        assert_eq!(
            (r.r#type(), r.region()),
            (Some("AwsSecretsManagerSecret"), Some("eu-west-1"))
        );
        assert_eq!(a.description(), Some("CostCenter is missing"));
        assert_eq!(a.title(), Some("Secret tags violate tag policy (cost)"));
    }

    #[test]
    fn a_passed_finding_is_resolved_and_archived() {
        let a = asff(&finding(Compliance::Passed, Outcome::Compliant));
        assert_eq!(a.compliance().and_then(|c| c.status()), Some(&ComplianceStatus::Passed));
        assert_eq!(a.workflow().and_then(|w| w.status()), Some(&WorkflowStatus::Resolved));
        assert_eq!(a.record_state(), Some(&RecordState::Archived));
    }

    #[test]
    fn a_gone_resources_finding_is_not_available_resolved_archived_and_says_so() {
        let a = asff(&finding(Compliance::NotAvailable, Outcome::Skipped));
        assert_eq!(
            a.compliance().and_then(|c| c.status()),
            Some(&ComplianceStatus::NotAvailable)
        );
        assert_eq!(a.workflow().and_then(|w| w.status()), Some(&WorkflowStatus::Resolved));
        assert_eq!(a.record_state(), Some(&RecordState::Archived));
        assert_eq!(
            a.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::Informational)
        );
        assert_eq!(a.title(), Some("Secret no longer exists: its tag finding is closed"));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(truncate("ééé", 2), "éé");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
