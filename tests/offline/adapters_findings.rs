//! The findings adapters (EventBridge PutEvents, Security Hub BatchImportFindings and
//! GetFindings) against the real SDK clients, driven by aws-smithy-mocks: batching, entries
//! refused and retried, whole calls failing, pagination.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_securityhub::operation::batch_import_findings::BatchImportFindingsOutput;
use aws_sdk_securityhub::operation::get_findings::GetFindingsOutput;
use aws_sdk_securityhub::types::{AwsSecurityFinding, ImportFindingsError};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::sync::{Arc, Mutex};
use tag_warden::adapters::aws::{
    import_hub_findings, open_hub_findings, put_finding_events, retry_config, EVENT_ATTEMPTS, GENERATOR_ID,
};
use tag_warden::domain::{Cell, Mode, Outcome, ResourceKind};
use tag_warden::ports::{finding_id, Compliance, PolicyFinding, Published};

/// Why a finding was not published (a test failure when it was).
fn why_not(p: &Published) -> &str {
    match p {
        Published::Refused(why) => why,
        Published::Accepted => panic!("published, but a refusal was expected"),
    }
}

fn finding(i: usize) -> PolicyFinding {
    let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:s{i}-AbCdEf");
    PolicyFinding {
        finding_id: finding_id(&arn),
        compliance: Compliance::Failed,
        outcome: Outcome::Violation,
        mode: Mode::Enforce,
        kind: Some(ResourceKind::Secret),
        arn,
        account: "123456789012".into(),
        region: Some("us-east-1".into()),
        rules: vec!["cost".into()],
        keys_added: vec![],
        keys_removed: vec![],
        keys_to_add: vec!["CostCenter".into()],
        keys_to_remove: vec![],
        reasons: vec!["CostCenter is required and has no default".into()],
        actor: None,
        event: None,
        event_id: None,
        observed_at: "2026-12-01T10:00:00Z".into(),
        contested_by: None,
        contested_count: None,
    }
}

fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn ok_entries(n: usize) -> PutEventsOutput {
    let mut out = PutEventsOutput::builder().failed_entry_count(0);
    for i in 0..n {
        out = out.entries(PutEventsResultEntry::builder().event_id(format!("e{i}")).build());
    }
    out.build()
}

#[tokio::test]
async fn events_go_ten_a_call_with_the_finding_as_detail_and_a_refused_entry_is_sent_again() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sizes);
    let put = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(move |r| {
            let entries = r.entries();
            assert!(entries.iter().all(|e| e.source() == Some("tag-warden")
                && e.detail_type() == Some("Tag Policy Finding")
                && e.event_bus_name() == Some("findings")));
            let detail: serde_json::Value = serde_json::from_str(entries[0].detail().unwrap()).unwrap();
            assert_eq!(detail["kind"], "secret");
            assert_eq!(detail["resources"], serde_json::Value::Null);
            assert_eq!(entries[0].resources(), [detail["arn"].as_str().unwrap()]);
            seen.lock().unwrap().push(entries.len());
            true
        })
        .sequence()
        .output(|| {
            // Ten sent; the fourth refused.
            let mut out = PutEventsOutput::builder().failed_entry_count(1);
            for i in 0..10 {
                let e = PutEventsResultEntry::builder();
                out = out.entries(if i == 3 {
                    e.error_code("ThrottlingException")
                        .error_message("Rate exceeded")
                        .build()
                } else {
                    e.event_id(format!("e{i}")).build()
                });
            }
            out.build()
        })
        .output(|| ok_entries(1))
        .output(|| ok_entries(5))
        .build();
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&put], |c| c
        .retry_config(retry_config()));
    let findings: Vec<_> = (0..15).map(finding).collect();
    let results = put_finding_events(&client, "findings", &findings).await;
    assert_eq!(results, vec![Published::Accepted; 15]);
    assert_eq!(*sizes.lock().unwrap(), [10, 1, 5]);
}

#[tokio::test]
async fn an_entry_refused_every_time_is_reported_after_the_last_attempt() {
    let refused = || {
        PutEventsResultEntry::builder()
            .error_code("InternalFailure")
            .error_message("try again")
            .build()
    };
    let put = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(move || {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(PutEventsResultEntry::builder().event_id("e0").build())
                .entries(refused())
                .build()
        })
        .output(move || {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(refused())
                .build()
        })
        .times(2)
        .build();
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&put], |c| c
        .retry_config(retry_config()));
    let results = put_finding_events(&client, "findings", &[finding(0), finding(1)]).await;
    assert_eq!(results[0], Published::Accepted);
    assert!(why_not(&results[1]).starts_with("InternalFailure"));
    assert_eq!(put.num_calls(), EVENT_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_call_that_fails_reports_every_entry_of_it() {
    let put = mock!(aws_sdk_eventbridge::Client::put_events).then_http_response(|| {
        json_error(
            400,
            "AccessDeniedException",
            "not authorized to perform events:PutEvents",
        )
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put], |c| c
        .retry_config(retry_config()));
    let results = put_finding_events(&client, "findings", &[finding(0), finding(1)]).await;
    assert!(results.iter().all(|r| why_not(r).contains("AccessDeniedException")));
}

#[tokio::test]
async fn findings_are_imported_a_hundred_a_call_and_those_refused_are_named() {
    let refused = finding(7).finding_id;
    let import = mock!(aws_sdk_securityhub::Client::batch_import_findings)
        .match_requests(|r| {
            let f: &AwsSecurityFinding = &r.findings()[0];
            f.generator_id() == Some(GENERATOR_ID) && f.aws_account_id() == Some("123456789012")
        })
        .sequence()
        .output(move || {
            BatchImportFindingsOutput::builder()
                .failed_count(1)
                .success_count(99)
                .failed_findings(
                    ImportFindingsError::builder()
                        .id(refused.clone())
                        .error_code("InvalidInput")
                        .error_message("bad")
                        .build(),
                )
                .build()
        })
        .output(|| {
            BatchImportFindingsOutput::builder()
                .failed_count(0)
                .success_count(50)
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_securityhub, RuleMode::Sequential, [&import], |c| c
        .retry_config(retry_config()));
    let findings: Vec<_> = (0..150).map(finding).collect();
    let results = import_hub_findings(&client, &findings).await;
    assert_eq!(import.num_calls(), 2);
    assert_eq!(results.iter().filter(|r| **r != Published::Accepted).count(), 1);
    assert!(why_not(&results[7]).starts_with("InvalidInput"));
}

#[tokio::test]
async fn open_findings_are_read_across_pages_filtered_to_tag_wardens_failed_active_ones() {
    use aws_sdk_securityhub::types::{Compliance, ComplianceStatus, RecordState, Resource};
    let arn = |id: &str| format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{id}-AbCdEf");
    let finding = |id: &str, status: ComplianceStatus, state: RecordState, arn: String| {
        AwsSecurityFinding::builder()
            .id(id)
            .generator_id(GENERATOR_ID)
            .compliance(Compliance::builder().status(status).build())
            .record_state(state)
            .resources(Resource::builder().r#type("AwsSecretsManagerSecret").id(arn).build())
            .build()
    };
    // The service filters; what comes back is checked again (an emulator that ignores the
    // filters, as moto does, must not make a resolved finding, or an aggregating hub another
    // account's or region's, look open here).
    let page = move |ids: &[&str], next: Option<&str>| {
        let mut out = GetFindingsOutput::builder();
        for id in ids {
            out = out.findings(finding(id, ComplianceStatus::Failed, RecordState::Active, arn(id)));
        }
        out = out.findings(finding(
            "tw-resolved",
            ComplianceStatus::Passed,
            RecordState::Archived,
            arn("r"),
        ));
        out = out.findings(finding(
            "tw-archived",
            ComplianceStatus::Failed,
            RecordState::Archived,
            arn("a"),
        ));
        out = out.findings(finding(
            "tw-other-account",
            ComplianceStatus::Failed,
            RecordState::Active,
            "arn:aws:secretsmanager:us-east-1:210987654321:secret:x-AbCdEf".to_owned(),
        ));
        out = out.findings(finding(
            "tw-other-region",
            ComplianceStatus::Failed,
            RecordState::Active,
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf".to_owned(),
        ));
        out.set_next_token(next.map(str::to_owned)).build()
    };
    let get = mock!(aws_sdk_securityhub::Client::get_findings)
        .match_requests(|r| {
            let f = r.filters().unwrap();
            f.generator_id()[0].value() == Some(GENERATOR_ID)
                && f.compliance_status()
                    .iter()
                    .map(|c| c.value().unwrap())
                    .collect::<Vec<_>>()
                    == ["FAILED", "WARNING"]
                && f.record_state()[0].value() == Some("ACTIVE")
                && f.aws_account_id()[0].value() == Some("123456789012")
                && f.region()[0].value() == Some("us-east-1")
        })
        .sequence()
        .output(move || page(&["tw-1", "tw-2"], Some("t2")))
        .output(move || page(&["tw-3"], None))
        .build();
    let client = mock_client!(aws_sdk_securityhub, RuleMode::Sequential, [&get], |c| c
        .retry_config(retry_config()));
    let open = open_hub_findings(&client, &Cell::new(None, "us-east-1"), "123456789012", None)
        .await
        .unwrap();
    let expected: std::collections::BTreeMap<String, String> = ["tw-1", "tw-2", "tw-3"]
        .iter()
        .map(|id| (id.to_string(), arn(id)))
        .collect();
    assert_eq!(open, expected);
    assert_eq!(get.num_calls(), 2);
}

#[tokio::test]
async fn a_lookup_of_named_findings_filters_by_their_ids_and_a_failure_is_an_error() {
    let get = mock!(aws_sdk_securityhub::Client::get_findings)
        .match_requests(|r| r.filters().unwrap().id().len() == 1)
        .then_http_response(|| json_error(400, "InvalidAccessException", "Security Hub is not enabled"));
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&get], |c| c
        .retry_config(retry_config()));
    let err = open_hub_findings(
        &client,
        &Cell::new(None, "us-east-1"),
        "123456789012",
        Some(&["tw-1".to_owned()]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "InvalidAccessException");
    assert_eq!(get.num_calls(), 1);
}
