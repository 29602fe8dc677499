//! The DynamoDB memory adapter over aws-smithy-mocks: the item shape it reads and writes, a
//! failed condition (a newer observation) that is not an error, error kinds, scan pagination.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::collections::HashMap;
use tag_warden::adapters::aws::{retry_config, DynamoMemory, RETRY_MAX_ATTEMPTS};
use tag_warden::domain::{Cell, ErrorKind, ResourceKind, Tags};
use tag_warden::ports::{Memory, Place, Stored};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

fn memory(rules: &[&Rule]) -> DynamoMemory {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
        .retry_config(retry_config()));
    DynamoMemory::new(client, "memory".into())
}

/// DynamoDB's awsJson 1.0 error.
fn json_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}"#);
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn item(arn: &str, region: &str, extra: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    let mut item: HashMap<String, AttributeValue> = [
        ("arn".to_string(), s(arn)),
        ("kind".to_string(), s("secret")),
        ("region".to_string(), s(region)),
        ("observed".to_string(), AttributeValue::N("1700000000000".into())),
        ("tag:Owner".to_string(), s("payments")),
        ("tag:CostCenter".to_string(), s("4100")),
    ]
    .into();
    item.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    item
}

fn place() -> Place {
    Place {
        kind: ResourceKind::Secret,
        region: "us-east-1".into(),
        account: Some("123456789012".into()),
        names: Vec::new(),
    }
}

fn owner(v: &str) -> Tags {
    [("Owner".to_string(), v.to_string())].into()
}

#[tokio::test]
async fn recall_reads_the_tag_attributes_and_the_observation() {
    let rule = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.table_name() == Some("memory")
                && r.key().and_then(|k| k.get("arn")) == Some(&s(ARN))
                && r.consistent_read() == Some(true)
        })
        .then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(item(ARN, "us-east-1", &[])))
                .build()
        });
    let r = memory(&[&rule]).recall(ARN).await.unwrap().unwrap();
    assert_eq!(r.values.get("Owner").map(String::as_str), Some("payments"));
    assert_eq!(r.values.len(), 2, "only tag: attributes are values");
    assert_eq!(r.observed_ms, 1_700_000_000_000);
    assert_eq!(r.kind, Some(ResourceKind::Secret));
    assert!(!r.expiring);
}

#[tokio::test]
async fn nothing_remembered_is_none_and_an_expiring_entry_says_so() {
    let none = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    assert_eq!(memory(&[&none]).recall(ARN).await.unwrap(), None);
    let expiring = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .set_item(Some(item(
                ARN,
                "us-east-1",
                &[("expires_at", AttributeValue::N("1".into()))],
            )))
            .build()
    });
    assert!(memory(&[&expiring]).recall(ARN).await.unwrap().unwrap().expiring);
}

#[tokio::test]
async fn remember_sets_only_the_changes_under_the_observation_condition() {
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            let names = r.expression_attribute_names().unwrap();
            let values = r.expression_attribute_values().unwrap();
            r.condition_expression()
                == Some("attribute_not_exists(#arn) OR #observed < :observed OR #observed > :future")
                && r.update_expression().unwrap().starts_with("SET ")
                && r.update_expression().unwrap().ends_with(" REMOVE #expires")
                && names.values().any(|n| n == "tag:Owner")
                && !names.values().any(|n| n == "tag:CostCenter")
                && values.get(":observed") == Some(&AttributeValue::N("42".into()))
                && values.get(":future") == Some(&AttributeValue::N((42 + 300_000).to_string()))
                && values.get(":account") == Some(&s("123456789012"))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let stored = memory(&[&rule])
        .remember(ARN, &place(), &owner("search"), 42, &[])
        .await
        .unwrap();
    assert_eq!(stored, Stored::Written);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_condition_is_a_newer_observation_not_an_error() {
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_http_response(|| json_error(400, "ConditionalCheckFailedException"));
    let m = memory(&[&rule]);
    assert_eq!(
        m.remember(ARN, &place(), &owner("x"), 1, &[]).await.unwrap(),
        Stored::Newer
    );
    assert_eq!(rule.num_calls(), 1, "not retried");
    // Expiring an entry that does not exist is nothing to do.
    m.expire(ARN, 99).await.unwrap();
}

#[tokio::test]
async fn a_missing_table_is_not_found_and_denial_is_access_denied() {
    for (code, kind) in [
        ("ResourceNotFoundException", ErrorKind::NotFound),
        ("AccessDeniedException", ErrorKind::AccessDenied),
    ] {
        let rule = mock!(aws_sdk_dynamodb::Client::get_item).then_http_response(move || json_error(400, code));
        let e = memory(&[&rule]).recall(ARN).await.unwrap_err();
        assert_eq!(e.kind, kind, "{code}");
        assert_eq!(e.operation, "dynamodb:GetItem");
    }
}

#[tokio::test]
async fn throughput_exceeded_is_retried_then_throttled() {
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .http_response(|| json_error(400, "ProvisionedThroughputExceededException"))
        .repeatedly()
        .build();
    let e = memory(&[&rule])
        .remember(ARN, &place(), &owner("x"), 1, &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled);
    assert_eq!(rule.num_calls(), RETRY_MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_region_is_scanned_page_by_page_with_the_region_filter() {
    let first = mock!(aws_sdk_dynamodb::Client::scan)
        .match_requests(|r| r.exclusive_start_key().is_none() && r.filter_expression() == Some("#region = :region"))
        .then_output(|| {
            ScanOutput::builder()
                .items(item("arn:a", "eu-west-1", &[]))
                .set_last_evaluated_key(Some([("arn".to_string(), s("arn:a"))].into()))
                .build()
        });
    let second = mock!(aws_sdk_dynamodb::Client::scan)
        .match_requests(|r| r.exclusive_start_key().and_then(|k| k.get("arn")) == Some(&s("arn:a")))
        .then_output(|| ScanOutput::builder().items(item("arn:b", "eu-west-1", &[])).build());
    let all = memory(&[&first, &second])
        .recall_cell(&Cell::new(None, "eu-west-1"))
        .await
        .unwrap();
    assert_eq!(all.keys().map(String::as_str).collect::<Vec<_>>(), ["arn:a", "arn:b"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn an_accounts_cell_is_scanned_with_the_account_filter_too() {
    let rule = mock!(aws_sdk_dynamodb::Client::scan)
        .match_requests(|r| {
            r.filter_expression() == Some("#region = :region AND #account = :account")
                && r.expression_attribute_values().and_then(|v| v.get(":account")) == Some(&s("222222222222"))
                && r.expression_attribute_names()
                    .and_then(|v| v.get("#account"))
                    .map(String::as_str)
                    == Some("account")
        })
        .then_output(|| ScanOutput::builder().items(item("arn:b", "eu-west-1", &[])).build());
    let all = memory(&[&rule])
        .recall_cell(&Cell::new(Some("222222222222"), "eu-west-1"))
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn expire_sets_the_ttl_only_on_an_existing_entry() {
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.condition_expression() == Some("attribute_exists(#arn)")
                && r.update_expression() == Some("SET #expires = :at")
                && r.expression_attribute_values().unwrap().get(":at") == Some(&AttributeValue::N("1800000000".into()))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    memory(&[&rule]).expire(ARN, 1_800_000_000).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn history_is_appended_after_the_last_step_into_rotating_slots_and_a_lost_race_reads_again() {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    let step = |seq: u64, who: &str| {
        serde_json::to_string(&tag_warden::ports::HistoryEntry {
            seq,
            who: who.into(),
            ..tag_warden::ports::HistoryEntry::default()
        })
        .unwrap()
    };
    // The story holds steps 0..=49 (h0…h49 full); another invocation then appends step 50 (h0).
    let full = move || {
        let mut item: std::collections::HashMap<String, AttributeValue> =
            (0..50).map(|i| (format!("h{i}"), s(&step(i, "old")))).collect();
        item.insert("arn".into(), s(&format!("{ARN}#history")));
        GetItemOutput::builder().set_item(Some(item)).build()
    };
    let after_race = move || {
        let mut item: std::collections::HashMap<String, AttributeValue> =
            (0..50).map(|i| (format!("h{i}"), s(&step(i, "old")))).collect();
        item.insert("h0".into(), s(&step(50, "other invocation")));
        GetItemOutput::builder().set_item(Some(item)).build()
    };
    let reads = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("arn")) == Some(&s(&format!("{ARN}#history")))
                && r.consistent_read() == Some(true)
        })
        .sequence()
        .output(full)
        .output(after_race)
        .build();
    let appends = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.key().and_then(|k| k.get("arn")) == Some(&s(&format!("{ARN}#history"))))
        .sequence()
        .error(|| UpdateItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build()))
        .output(|| UpdateItemOutput::builder().build())
        .build();
    let values = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("arn")) == Some(&s(ARN))
                && r.condition_expression()
                    == Some("attribute_not_exists(#arn) OR #observed < :observed OR #observed > :future")
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let entries = [
        tag_warden::ports::HistoryEntry {
            who: "alice".into(),
            ..tag_warden::ports::HistoryEntry::default()
        },
        tag_warden::ports::HistoryEntry {
            who: "tag-warden".into(),
            ..tag_warden::ports::HistoryEntry::default()
        },
    ];
    let stored = memory(&[&reads, &appends, &values])
        .remember(ARN, &place(), &owner("x"), 7, &entries)
        .await
        .unwrap();
    assert_eq!(stored, Stored::Written);
    assert_eq!(
        (reads.num_calls(), appends.num_calls(), values.num_calls()),
        (2, 2, 1),
        "read again after the lost race"
    );
}

#[tokio::test]
async fn the_append_is_conditioned_on_each_slot_holding_what_was_read() {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    let old = serde_json::to_string(&tag_warden::ports::HistoryEntry {
        seq: 1,
        who: "old".into(),
        ..tag_warden::ports::HistoryEntry::default()
    })
    .unwrap();
    let reads = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .item("h1", s(&old))
            .item("arn", s(&format!("{ARN}#history")))
            .build()
    });
    let append = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |r| {
            let names = r.expression_attribute_names().unwrap();
            let values = r.expression_attribute_values().unwrap();
            r.key().and_then(|k| k.get("arn")) == Some(&s(&format!("{ARN}#history")))
                && names.get("#h0").map(String::as_str) == Some("h2")
                && r.condition_expression() == Some("attribute_not_exists(#h0)")
                && values
                    .get(":h0")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|v| v.contains("\"seq\":2"))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let values = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.key().and_then(|k| k.get("arn")) == Some(&s(ARN)))
        .then_error(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                aws_sdk_dynamodb::types::error::ConditionalCheckFailedException::builder().build(),
            )
        });
    let stored = memory(&[&reads, &append, &values])
        .remember(
            ARN,
            &place(),
            &owner("x"),
            7,
            &[tag_warden::ports::HistoryEntry::default()],
        )
        .await
        .unwrap();
    assert_eq!(stored, Stored::Newer, "a newer observation's values win");
    assert_eq!(append.num_calls(), 1, "and the step is kept all the same");
}

#[tokio::test]
async fn the_names_a_rule_matched_a_key_by_are_kept_as_a_string_set_and_read_back() {
    let write = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            let names = r.expression_attribute_names().unwrap();
            let values = r.expression_attribute_values().unwrap();
            r.update_expression().unwrap().contains("#names = :names")
                && names.get("#names").map(String::as_str) == Some("names")
                && values.get(":names") == Some(&AttributeValue::Ss(vec!["team-a/data".into()]))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let mut kept = place();
    kept.names = vec!["team-a/data".into()];
    memory(&[&write])
        .remember(ARN, &kept, &owner("search"), 42, &[])
        .await
        .unwrap();
    assert_eq!(write.num_calls(), 1);
    // No names: the attribute is not touched (what was kept stays).
    let plain = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| !r.update_expression().unwrap().contains("#names"))
        .then_output(|| UpdateItemOutput::builder().build());
    memory(&[&plain])
        .remember(ARN, &place(), &owner("search"), 43, &[])
        .await
        .unwrap();
    assert_eq!(plain.num_calls(), 1);
    let read = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .set_item(Some(item(
                ARN,
                "us-east-1",
                &[("names", AttributeValue::Ss(vec!["team-a/data".into()]))],
            )))
            .build()
    });
    let r = memory(&[&read]).recall(ARN).await.unwrap().unwrap();
    assert_eq!(r.names, ["team-a/data"]);
    assert_eq!(r.values.len(), 2, "names are no tag value");
}

#[tokio::test]
async fn an_exemptions_grant_is_an_item_of_its_own_beside_the_values_and_the_history() {
    let grant = tag_warden::ports::Grant {
        who: "arn:aws:iam::123456789012:role/secops".into(),
        why: "migration MIG-42".into(),
        until: "2027-01-31".into(),
        at: "2026-12-03T10:00:00Z".into(),
    };
    let body = serde_json::to_string(&grant).unwrap();
    let expected = body.clone();
    let write = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |r| {
            r.key().and_then(|k| k.get("arn")) == Some(&s(&format!("{ARN}#grant")))
                && r.update_expression() == Some("SET #grant = :grant")
                && r.expression_attribute_values().unwrap().get(":grant") == Some(&s(&expected))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    memory(&[&write]).put_grant(ARN, &grant).await.unwrap();
    assert_eq!(write.num_calls(), 1);
    let read = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.key().and_then(|k| k.get("arn")) == Some(&s(&format!("{ARN}#grant"))))
        .then_output(move || {
            GetItemOutput::builder()
                .item("arn", s(&format!("{ARN}#grant")))
                .item("grant", s(&body))
                .build()
        });
    assert_eq!(memory(&[&read]).grant(ARN).await.unwrap(), Some(grant));
    let none = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    assert_eq!(memory(&[&none]).grant(ARN).await.unwrap(), None);
}

#[tokio::test]
async fn a_sweeps_summary_is_an_item_of_its_own_that_expires_and_the_trend_scans_them_back() {
    let point = tag_warden::ports::TrendPoint {
        at: "2026-12-03T00:00:00Z".into(),
        at_ms: 1_796_256_000_000,
        account: "123456789012".into(),
        counts: [(tag_warden::domain::Outcome::Compliant, 2)].into(),
        percent: Some(100.0),
        ..tag_warden::ports::TrendPoint::default()
    };
    let body = serde_json::to_string(&point).unwrap();
    let write = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            let values = r.expression_attribute_values().unwrap();
            r.key().and_then(|k| k.get("arn")) == Some(&s("sweep#123456789012#1796256000000"))
                && r.update_expression() == Some("SET #trend = :trend, #expires = :expires")
                // 90 days after the sweep.
                && values.get(":expires") == Some(&AttributeValue::N((1_796_256_000 + 90 * 86_400).to_string()))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    memory(&[&write]).put_trend(&point).await.unwrap();
    assert_eq!(write.num_calls(), 1);
    let later = tag_warden::ports::TrendPoint {
        at_ms: point.at_ms + 1,
        ..point.clone()
    };
    let (first, second) = (body.clone(), serde_json::to_string(&later).unwrap());
    let scan = mock!(aws_sdk_dynamodb::Client::scan)
        .match_requests(|r| r.filter_expression() == Some("begins_with(#arn, :prefix)"))
        .then_output(move || {
            aws_sdk_dynamodb::operation::scan::ScanOutput::builder()
                .items(HashMap::from([
                    ("arn".to_owned(), s("sweep#b")),
                    ("trend".to_owned(), s(&second)),
                ]))
                .items(HashMap::from([
                    ("arn".to_owned(), s("sweep#a")),
                    ("trend".to_owned(), s(&first)),
                ]))
                .build()
        });
    let points = memory(&[&scan]).trend().await.unwrap();
    assert_eq!(points, [point, later], "oldest first");
}

#[tokio::test]
async fn the_history_read_for_the_contested_check_serves_the_append_that_follows() {
    let step = tag_warden::ports::HistoryEntry {
        seq: 4,
        at: "2026-12-03T00:00:00Z".into(),
        who: "x".into(),
        ..tag_warden::ports::HistoryEntry::default()
    };
    let stored = serde_json::to_string(&step).unwrap();
    let read = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .item("arn", s(&format!("{ARN}#history")))
            .item("h4", s(&stored))
            .build()
    });
    let append = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.key().and_then(|k| k.get("arn")) == Some(&s(&format!("{ARN}#history"))))
        .then_output(|| UpdateItemOutput::builder().build());
    let values = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.key().and_then(|k| k.get("arn")) == Some(&s(ARN)))
        .then_output(|| UpdateItemOutput::builder().build());
    let m = memory(&[&read, &append, &values]);
    assert_eq!(m.history(ARN).await.unwrap(), [step]);
    let next = tag_warden::ports::HistoryEntry {
        who: "tag-warden".into(),
        ..tag_warden::ports::HistoryEntry::default()
    };
    m.remember(ARN, &place(), &owner("search"), 42, &[next]).await.unwrap();
    assert_eq!(read.num_calls(), 1, "one read serves the check and the append");
    assert_eq!((append.num_calls(), values.num_calls()), (1, 1));
    // Later, with nothing read a moment ago, the append reads for itself.
    m.remember(
        ARN,
        &place(),
        &owner("search"),
        43,
        &[tag_warden::ports::HistoryEntry::default()],
    )
    .await
    .unwrap();
    assert_eq!(read.num_calls(), 2);
}
