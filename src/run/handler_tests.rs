use super::*;
use crate::domain::{ErrorKind, ResourceKind};
use crate::ports::TagStore;
use crate::run::sweep::Deadline;
use crate::testing::{FakeBackend, FakeStore};
use crate::view::metrics::Metric;
use serde_json::json;

fn handler(secrets: FakeStore, keys: FakeStore) -> Handler<FakeBackend> {
    let policy = r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"}},"forbid":["Debug","temp*"]}]}"#;
    let env = move |k: &str| match k {
        "TAG_WARDEN_POLICY" => Some(policy.to_owned()),
        _ => None,
    };
    let mut backend = FakeBackend::new(secrets, keys);
    backend.identity = Some(crate::testing::sample_function());
    Handler::new(backend, Config::from_env(&env).unwrap())
}

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn ignored_events_make_no_aws_call() {
    let h = handler(FakeStore::with("arn:s", &[]), FakeStore::with("arn:k", &[]));
    for name in [
        "ignored-own-call.json",
        "ignored-failed-call.json",
        "ignored-other-service.json",
    ] {
        let report = h.invoke(&sample(name), Deadline::NONE).await.0.unwrap();
        assert_eq!(report.results[0].outcome, Outcome::Ignored, "{name}");
    }
    assert!(h.backend.secrets.calls().is_empty());
    assert!(
        h.backend.regions.lock().unwrap().is_empty(),
        "no client was even requested"
    );
}

#[tokio::test]
async fn a_trigger_reads_and_remediates_in_the_event_region() {
    let h = handler(FakeStore::with("arn:s", &[("temp-debug", "1")]), FakeStore::default());
    let report = h
        .invoke(&sample("secretsmanager-tag-resource.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    let entry = &report.results[0];
    assert_eq!(entry.outcome, Outcome::Remediated);
    assert_eq!(entry.region.as_deref(), Some("us-east-1"));
    assert_eq!(entry.event.name.as_deref(), Some("TagResource"));
    assert_eq!(
        h.backend.secrets.calls(),
        ["read prod/payments/db", "untag temp-debug", "tag Owner"]
    );
    assert_eq!(*h.backend.regions.lock().unwrap(), ["us-east-1"]);
}

#[tokio::test]
async fn a_log_file_is_handled_record_by_record() {
    let h = handler(
        FakeStore::with("arn:s", &[("Owner", "x")]),
        FakeStore::with("arn:k", &[]),
    );
    let report = h
        .invoke(&sample("cloudtrail-log-file.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    let outcomes: Vec<Outcome> = report.results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Compliant, Outcome::Remediated, Outcome::Ignored]);
    assert_eq!(report.summary.get(&Outcome::Compliant), Some(&1));
}

#[tokio::test]
async fn one_bad_record_fails_the_invocation_but_not_the_others() {
    let h = handler(FakeStore::with("arn:s", &[("Debug", "1")]), FakeStore::default());
    let mut bad = sample("cloudtrail-record-kms-untag-resource.json");
    bad["requestParameters"] = json!({});
    bad["resources"] = json!([]);
    let good = sample("secretsmanager-tag-resource.json")["detail"].clone();
    let event = json!({"Records": [bad, good]});
    let report = h.handle(&event, Deadline::NONE).await.0.unwrap();
    assert_eq!(report.results[0].outcome, Outcome::Error);
    assert_eq!(
        report.results[0].error_type.map(ErrorType::as_str),
        Some("TagWarden.MissingField")
    );
    assert_eq!(report.results[1].outcome, Outcome::Remediated);
    let err = h.invoke(&event, Deadline::NONE).await.0.unwrap_err();
    assert_eq!(err.error_type().as_str(), "TagWarden.Incomplete");
    assert!(err.to_string().contains("1 of 2"), "{err}");
    assert!(err.to_string().contains("requestParameters.keyId"), "{err}");
}

#[tokio::test]
async fn a_transient_failure_fails_the_invocation_so_it_is_retried() {
    let h = handler(
        FakeStore::with("arn:s", &[("Debug", "1")]).failing("tag", ErrorKind::Transient),
        FakeStore::default(),
    );
    let err = h
        .invoke(&sample("secretsmanager-tag-resource.json"), Deadline::NONE)
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(
            err,
            HandlerError::Incomplete {
                failed: 1,
                total: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.error_type().as_str(), "TagWarden.Incomplete");
}

#[tokio::test]
async fn payloads_that_are_not_events_fail_with_a_typed_error() {
    let h = handler(FakeStore::default(), FakeStore::default());
    let err = h
        .invoke(&json!({"hello": "world"}), Deadline::NONE)
        .await
        .0
        .unwrap_err();
    assert_eq!(err.error_type().as_str(), "TagWarden.NotAnEvent");
    assert!(err.to_string().contains("hello"), "names what it found: {err}");
}

#[tokio::test]
async fn a_scheduled_event_sweeps_the_envelope_region_and_reports_only_what_needs_attention() {
    let h = handler(
        FakeStore::with("arn:s", &[("Debug", "1")]),
        FakeStore::with("arn:k", &[("Owner", "x")]),
    );
    let report = h
        .invoke(&sample("scheduled-reconcile.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    let sweep = report.sweep.as_ref().unwrap();
    assert_eq!(sweep.regions, ["us-east-1"]);
    assert!(sweep.complete);
    assert_eq!(report.summary.get(&Outcome::Remediated), Some(&1));
    assert_eq!(report.summary.get(&Outcome::Compliant), Some(&1));
    assert!(report.results.is_empty(), "nothing left needing attention");
    assert_eq!(*h.backend.regions.lock().unwrap(), ["us-east-1", "us-east-1"]);
}

#[tokio::test]
async fn the_report_serialises_with_kebab_case_outcomes_and_a_summary() {
    let h = handler(FakeStore::with("arn:s", &[("Owner", "x")]), FakeStore::default());
    let report = h
        .invoke(&sample("secretsmanager-tag-resource.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["mode"], "enforce");
    assert_eq!(v["summary"]["compliant"], 1);
    assert_eq!(v["results"][0]["outcome"], "compliant");
    assert_eq!(v["results"][0]["kind"], "secret");
    assert_eq!(v["results"][0]["arn"], "arn:s");
}

/// A TagResource by a trusted principal (the SSO admin role) that sets `tags`.
fn trusted_tag_event(tags: &[(&str, &str)]) -> Value {
    let mut v = sample("secretsmanager-untag-resource.json");
    v["detail"]["eventName"] = json!("TagResource");
    v["detail"]["requestParameters"] = json!({
        "secretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q",
        "tags": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    });
    v
}

/// The value memory holds for the trusted secret's `key`.
fn remembered(h: &Handler<FakeBackend>, key: &str) -> Option<String> {
    h.backend.memory.as_ref()?.values(TRUSTED_ARN).get(key).cloned()
}

/// The value the trusted secret carries for `key`.
fn carried(h: &Handler<FakeBackend>, key: &str) -> Option<String> {
    h.backend.secrets.tags_of(TRUSTED_ARN).get(key).cloned()
}

fn trusting(policy: &'static str) -> impl Fn(&str) -> Option<String> {
    move |k: &str| match k {
        "TAG_WARDEN_POLICY" => Some(policy.to_owned()),
        "TAG_WARDEN_MEMORY_TABLE" => Some("memory".to_owned()),
        "TAG_WARDEN_IGNORE_PRINCIPALS" => Some("arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*".to_owned()),
        _ => None,
    }
}

const LOCKING: &str = r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"},"CreatedBy":{"lock":true}},"forbid":["temp*"]}]}"#;
const TRUSTED_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q";

#[tokio::test]
async fn a_trusted_removal_of_an_exemption_revokes_it_though_someone_put_it_back_before_the_event_was_read() {
    // The exemption was vouched for (memory holds it). A trusted principal removes it; before
    // the event is read, someone else adds it again: the resource carries it, unvouched.
    let memory = crate::testing::FakeMemory::default().with(TRUSTED_ARN, &[("tag-warden:exempt", "true")], 1);
    let backend = FakeBackend::new(
        FakeStore::with(TRUSTED_ARN, &[("Owner", "payments"), ("tag-warden:exempt", "true")]),
        FakeStore::default(),
    )
    .remembering(memory);
    let h = Handler::new(backend, Config::from_env(&trusting(LOCKING)).unwrap());
    let mut untag = trusted_tag_event(&[]);
    untag["detail"]["eventName"] = json!("UntagResource");
    untag["detail"]["requestParameters"] = json!({"secretId": TRUSTED_ARN, "tagKeys": ["tag-warden:exempt"]});
    h.invoke(&untag, Deadline::NONE).await.0.unwrap();
    assert_eq!(
        remembered(&h, "tag-warden:exempt").as_deref(),
        Some(""),
        "revoked at once"
    );
    // The re-added tag's own event: not vouched for, so the resource is enforced.
    let mut readd = sample("secretsmanager-tag-resource.json");
    readd["detail"]["requestParameters"] =
        json!({"secretId": TRUSTED_ARN, "tags": [{"key": "tag-warden:exempt", "value": "true"}]});
    let report = h.invoke(&readd, Deadline::NONE).await.0.unwrap();
    let entry = serde_json::to_value(&report).unwrap();
    assert!(entry.to_string().contains("exemption not verified"), "{entry}");
}

#[tokio::test]
async fn a_creator_naming_someone_else_in_a_locked_creator_key_is_overwritten_and_the_derived_value_remembered() {
    const CREATED: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/api-key-Q2w3E4";
    let policy = r#"{"version":2,"rules":[{"name":"r","require":{"CreatedBy":{"default":"{creator}","lock":true}}}]}"#;
    let backend = FakeBackend::new(
        FakeStore::with(CREATED, &[("Owner", "payments"), ("CreatedBy", "mallory")]),
        FakeStore::default(),
    )
    .remembering(crate::testing::FakeMemory::default());
    let env = move |k: &str| match k {
        "TAG_WARDEN_POLICY" => Some(policy.to_owned()),
        "TAG_WARDEN_MEMORY_TABLE" => Some("memory".to_owned()),
        _ => None,
    };
    let h = Handler::new(backend, Config::from_env(&env).unwrap());
    let report = h
        .invoke(&sample("secretsmanager-create-secret.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    assert_eq!(report.summary.get(&Outcome::Remediated), Some(&1), "{report:?}");
    let carried = h.backend.secrets.tags_of(CREATED);
    assert_eq!(carried.get("CreatedBy").map(String::as_str), Some("alice@example.com"));
    let memory = h.backend.memory.as_ref().unwrap();
    assert_eq!(
        memory.values(CREATED).get("CreatedBy").map(String::as_str),
        Some("alice@example.com"),
        "the derived value is the locked one, never the caller's"
    );
}

#[tokio::test]
async fn a_trusted_principals_change_is_not_enforced_and_only_what_it_set_is_remembered() {
    let memory = crate::testing::FakeMemory::default().with(TRUSTED_ARN, &[("CreatedBy", "alice")], 1);
    let backend = FakeBackend::new(
        FakeStore::with(
            TRUSTED_ARN,
            &[("Owner", "payments"), ("CreatedBy", "terraform"), ("temp-x", "1")],
        ),
        FakeStore::default(),
    )
    .remembering(memory);
    let h = Handler::new(backend, Config::from_env(&trusting(LOCKING)).unwrap());
    let report = h
        .invoke(&trusted_tag_event(&[("CreatedBy", "terraform")]), Deadline::NONE)
        .await
        .0
        .unwrap();
    let entry = &report.results[0];
    assert_eq!(entry.outcome, Outcome::Ignored);
    assert!(entry.reasons[0].contains("TAG_WARDEN_IGNORE_PRINCIPALS"));
    assert_eq!(
        h.backend.secrets.calls().len(),
        1,
        "one read, no write: {:?}",
        h.backend.secrets.calls()
    );
    let memory = h.backend.memory.as_ref().unwrap();
    assert_eq!((memory.count("recall"), memory.count("remember")), (1, 1));
    assert_eq!(
        memory.values(TRUSTED_ARN).get("CreatedBy").map(String::as_str),
        Some("terraform"),
        "a trusted principal changes even a locked value"
    );
    assert_eq!(
        memory.values(TRUSTED_ARN).get("Owner"),
        None,
        "the call did not set Owner"
    );
}

#[tokio::test]
async fn another_callers_change_is_not_laundered_through_a_trusted_call() {
    // Mallory changes the locked CreatedBy; a trusted call then sets Owner; Mallory's event is
    // judged last. The lock holds.
    let memory = crate::testing::FakeMemory::default().with(TRUSTED_ARN, &[("CreatedBy", "alice")], 1);
    let backend = FakeBackend::new(
        FakeStore::with(TRUSTED_ARN, &[("Owner", "payments"), ("CreatedBy", "mallory")]),
        FakeStore::default(),
    )
    .remembering(memory);
    let h = Handler::new(backend, Config::from_env(&trusting(LOCKING)).unwrap());
    h.invoke(&trusted_tag_event(&[("Owner", "payments")]), Deadline::NONE)
        .await
        .0
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(remembered(&h, "CreatedBy").as_deref(), Some("alice"));
    let mut mallory = sample("secretsmanager-tag-resource.json");
    mallory["detail"]["requestParameters"] =
        json!({"secretId": TRUSTED_ARN, "tags": [{"key": "CreatedBy", "value": "mallory"}]});
    let report = h.invoke(&mallory, Deadline::NONE).await.0.unwrap();
    assert_eq!(
        report.results[0].outcome,
        Outcome::Remediated,
        "{:?}",
        report.results[0].reasons
    );
    assert_eq!(carried(&h, "CreatedBy").as_deref(), Some("alice"));
}

#[tokio::test]
async fn a_trusted_change_to_a_locked_key_stands_whichever_event_comes_first() {
    let tag_change = {
        let mut v = sample("tag-change-secret.json");
        v["resources"] = json!([TRUSTED_ARN]);
        v
    };
    let trusted = trusted_tag_event(&[("CreatedBy", "terraform")]);
    for order in [[&tag_change, &trusted], [&trusted, &tag_change]] {
        let memory = crate::testing::FakeMemory::default().with(TRUSTED_ARN, &[("CreatedBy", "alice")], 1);
        let backend = FakeBackend::new(
            FakeStore::with(TRUSTED_ARN, &[("Owner", "payments"), ("CreatedBy", "terraform")]),
            FakeStore::default(),
        )
        .remembering(memory);
        let h = Handler::new(backend, Config::from_env(&trusting(LOCKING)).unwrap());
        for event in order {
            h.invoke(event, Deadline::NONE).await.0.unwrap();
            // Memory keeps the newer observation: two reads in one millisecond are a tie.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(
            carried(&h, "CreatedBy").as_deref(),
            Some("terraform"),
            "{:?}",
            order.map(|e| e["detail-type"].as_str().unwrap_or("record"))
        );
        assert_eq!(remembered(&h, "CreatedBy").as_deref(), Some("terraform"));
    }
}

#[tokio::test]
async fn an_event_of_an_account_not_governed_is_refused_without_reaching_it() {
    let h = handler(FakeStore::with("arn:s", &[]), FakeStore::default());
    let mut v = sample("secretsmanager-untag-resource.json");
    v["detail"]["recipientAccountId"] = json!("999999999999");
    v["detail"]["requestParameters"]["secretId"] =
        json!("arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf");
    let report = h.invoke(&v, Deadline::NONE).await.0.unwrap();
    let entry = &report.results[0];
    assert_eq!(entry.outcome, Outcome::Ignored);
    assert!(
        entry.reasons[0].contains("account 999999999999 is not governed"),
        "{:?}",
        entry.reasons
    );
    assert!(h.backend.reached.lock().unwrap().is_empty(), "no AssumeRole");
    assert!(h.backend.secrets.calls().is_empty());
}

#[tokio::test]
async fn a_key_is_read_with_its_aliases_only_when_a_rule_scopes_keys_by_name() {
    let policy = r#"{"version":2,"rules":[{"name":"teams","resources":["kms-key"],
        "match":{"names":["team-*/*"]},"require":{"Team":{"default":"{name[0]}"}}}]}"#;
    let env = move |k: &str| (k == "TAG_WARDEN_POLICY").then(|| policy.to_owned());
    let keys = FakeStore::with("arn:aws:kms:us-east-1:123456789012:key/k", &[]).aliased(&["team-search/index"]);
    let h = Handler::new(
        FakeBackend::new(FakeStore::default(), keys),
        Config::from_env(&env).unwrap(),
    );
    let report = h
        .invoke(&sample("kms-tag-resource.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    assert_eq!(
        report.results[0].tags_added.get("Team").map(String::as_str),
        Some("team-search")
    );
    assert_eq!(h.backend.keys.count("aliases"), 1);
    // Without such a rule, no alias is read.
    let h = handler(
        FakeStore::default(),
        FakeStore::with("arn:k", &[("Owner", "x")]).aliased(&["team-a/x"]),
    );
    h.invoke(&sample("kms-tag-resource.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    assert_eq!(h.backend.keys.count("aliases"), 0);
}

fn fleet_handler(
    secrets: FakeStore,
    extra: &[(&'static str, &'static str)],
    backend: impl FnOnce(&mut FakeBackend),
) -> Handler<FakeBackend> {
    let policy = r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"}}}]}"#;
    let extra: Vec<(&str, &str)> = extra.to_vec();
    let env = move |k: &str| match k {
        "TAG_WARDEN_POLICY" => Some(policy.to_owned()),
        "AWS_REGION" => Some("us-east-1".to_owned()),
        "TAG_WARDEN_MEMBER_ROLE" => Some("tag-warden-member".to_owned()),
        _ => extra.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned()),
    };
    let mut b = FakeBackend::new(secrets, FakeStore::default());
    backend(&mut b);
    Handler::new(b, Config::from_env(&env).unwrap())
}

#[tokio::test]
async fn a_schedule_with_a_sweep_queue_sends_one_cell_per_account_and_region_and_sweeps_nothing() {
    let h = fleet_handler(
        FakeStore::with("arn:s", &[]),
        &[
            ("TAG_WARDEN_SWEEP_QUEUE_URL", "https://queue/sweep"),
            ("TAG_WARDEN_ACCOUNTS", "ORG"),
            ("TAG_WARDEN_REGIONS", "eu-west-1"),
        ],
        |b| b.organization = Some(vec!["111111111111".into(), "222222222222".into()]),
    );
    let report = h
        .invoke(&sample("scheduled-reconcile.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    let fanout = report.fanout.clone().unwrap();
    assert_eq!((fanout.cells, fanout.accounts.len()), (4, 2));
    let sent = h.backend.sent.lock().unwrap().clone();
    let bodies: Vec<&str> = sent
        .iter()
        .map(|(q, b)| {
            assert_eq!(q, "https://queue/sweep");
            b.as_str()
        })
        .collect();
    let cells: Vec<(String, String)> = bodies
        .iter()
        .map(|b| {
            let v: Value = serde_json::from_str(b).unwrap();
            (
                v["account"].as_str().unwrap().to_owned(),
                v["region"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let cell = |a: &str, r: &str| (a.to_owned(), r.to_owned());
    assert_eq!(
        cells,
        [
            cell("111111111111", "us-east-1"),
            cell("111111111111", "eu-west-1"),
            cell("222222222222", "us-east-1"),
            cell("222222222222", "eu-west-1"),
        ]
    );
    // Every cell carries the sweep's time: one sweep on the trend.
    let stamps: std::collections::BTreeSet<u64> = bodies
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).unwrap()["sweep_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(stamps.len(), 1);
    assert!(
        h.backend.secrets.calls().is_empty(),
        "the schedule itself sweeps nothing"
    );
}

#[tokio::test]
async fn a_schedule_whose_accounts_cannot_be_listed_fails_so_that_it_is_retried() {
    let h = fleet_handler(
        FakeStore::default(),
        &[
            ("TAG_WARDEN_SWEEP_QUEUE_URL", "https://queue/sweep"),
            ("TAG_WARDEN_ACCOUNTS", "ORG"),
        ],
        |_| {},
    );
    let err = h
        .invoke(&sample("scheduled-reconcile.json"), Deadline::NONE)
        .await
        .0
        .unwrap_err();
    assert!(err.to_string().contains("organizations:ListAccounts"), "{err}");
    assert!(h.backend.sent.lock().unwrap().is_empty());
}

fn sqs_event(cells: &[(&str, &str, u32)]) -> Value {
    let records: Vec<Value> = cells
        .iter()
        .map(|(id, body, count)| {
            json!({"messageId": id, "body": body, "eventSource": "aws:sqs",
                   "attributes": {"ApproximateReceiveCount": count.to_string()}})
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn an_sqs_batch_sweeps_each_cell_and_an_account_not_enrolled_is_reported_not_retried() {
    let h = fleet_handler(
        FakeStore::with("arn:aws:secretsmanager:us-east-1:222222222222:secret:a", &[]),
        &[],
        |b| b.unreachable = ["333333333333".to_owned()].into(),
    );
    let event = sqs_event(&[
        ("m1", r#"{"account":"222222222222","region":"us-east-1"}"#, 1),
        ("m2", r#"{"account":"333333333333","region":"us-east-1"}"#, 1),
    ]);
    let report = h.invoke(&event, Deadline::NONE).await.0.unwrap();
    let failures: Vec<&str> = report
        .batch_item_failures
        .as_ref()
        .unwrap()
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert!(
        failures.is_empty(),
        "AssumeRole denied is a configuration fact: the message is not returned to the queue"
    );
    assert!(h.backend.sent.lock().unwrap().is_empty(), "nor dead-lettered");
    assert_eq!(report.cells[0].outcome.as_str(), "swept");
    assert_eq!(report.cells[1].outcome.as_str(), "not-enrolled");
    let entry = report
        .results
        .iter()
        .find(|e| e.outcome == Outcome::NotEnrolled)
        .unwrap();
    assert_eq!(entry.account.as_deref(), Some("333333333333"));
    assert!(entry.reasons[0].contains("is not enrolled"), "{:?}", entry.reasons);
    assert_eq!(report.summary[&Outcome::NotEnrolled], 1);
    assert!(
        report.cells[1].reason.as_deref().unwrap().contains("AssumeRole"),
        "{:?}",
        report.cells[1]
    );
    assert_eq!(
        (h.backend.secrets.count("list"), h.backend.secrets.count("tag")),
        (1, 1)
    );
    let sweep = report.sweep.as_ref().unwrap();
    assert_eq!(sweep.accounts, ["222222222222", "333333333333"]);
    assert_eq!(
        sweep.by_account["222222222222"][&ResourceKind::Secret][&Outcome::Remediated],
        1
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["batchItemFailures"], json!([]));
    assert_eq!(
        *h.backend.reached.lock().unwrap(),
        [Some("222222222222".to_owned()), Some("333333333333".to_owned())]
    );
}

#[tokio::test]
async fn a_cell_failing_its_last_attempt_goes_to_the_dead_letter_queue_with_the_reason() {
    let h = fleet_handler(
        FakeStore::default()
            .failing("list", ErrorKind::AccessDenied)
            .failing("list", ErrorKind::AccessDenied),
        &[
            ("TAG_WARDEN_SWEEP_DLQ_URL", "https://queue/dlq"),
            ("TAG_WARDEN_SWEEP_MAX_RECEIVES", "2"),
        ],
        |_| {},
    );
    let event = sqs_event(&[
        ("first", r#"{"account":"222222222222","region":"us-east-1"}"#, 1),
        ("last", r#"{"account":"222222222222","region":"eu-west-1"}"#, 2),
        ("junk", r#"{"hello":1}"#, 1),
    ]);
    let report = h.invoke(&event, Deadline::NONE).await.0.unwrap();
    let outcomes: Vec<&str> = report.cells.iter().map(|c| c.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "dead-lettered", "dead-lettered"]);
    assert_eq!(report.batch_item_failures.as_ref().unwrap().len(), 1);
    let sent = h.backend.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    let letter: Value = serde_json::from_str(&sent[0].1).unwrap();
    assert_eq!(sent[0].0, "https://queue/dlq");
    assert_eq!(
        (letter["account"].as_str(), letter["region"].as_str()),
        (Some("222222222222"), Some("eu-west-1"))
    );
    assert_eq!(letter["failure"]["attempts"], 2);
    assert!(
        letter["failure"]["reason"].as_str().unwrap().contains("listing"),
        "{letter}"
    );
    let junk: Value = serde_json::from_str(&sent[1].1).unwrap();
    assert!(
        junk["failure"]["reason"].as_str().unwrap().contains("not a sweep cell"),
        "{junk}"
    );
}

#[tokio::test]
async fn an_event_in_another_account_reaches_that_account_and_a_denied_role_is_not_enrolled() {
    let h = fleet_handler(FakeStore::with("arn:s", &[("Owner", "x")]), &[], |b| {
        b.unreachable = ["999999999999".to_owned()].into()
    });
    let mut event = sample("secretsmanager-tag-resource.json");
    event["detail"]["recipientAccountId"] = json!("999999999999");
    event["detail"]["userIdentity"]["accountId"] = json!("999999999999");
    let report = h.handle(&event, Deadline::NONE).await.0.unwrap();
    let entry = &report.results[0];
    assert_eq!(entry.outcome, Outcome::NotEnrolled, "{entry:?}");
    assert_eq!(entry.account.as_deref(), Some("999999999999"));
    assert!(entry.reasons[0].contains("is not enrolled"), "{:?}", entry.reasons);
    assert!(h.backend.secrets.calls().is_empty());
    assert!(
        crate::run::handler::failure(&report).is_none(),
        "not retried by EventBridge or Lambda"
    );

    // Any other failure to reach the account is still an error, retried.
    let h = fleet_handler(FakeStore::with("arn:s", &[("Owner", "x")]), &[], |b| {
        b.unreachable = ["999999999999".to_owned()].into();
        b.unreachable_kind = ErrorKind::Transient;
    });
    let report = h.handle(&event, Deadline::NONE).await.0.unwrap();
    assert_eq!(report.results[0].outcome, Outcome::Error);
    assert!(report.results[0].reasons[0].contains("cannot reach"));
}

#[tokio::test]
async fn without_the_member_role_a_cell_naming_an_account_is_not_swept_with_the_functions_own_credentials() {
    let h = handler(FakeStore::with("arn:s", &[]), FakeStore::default());
    let event = sqs_event(&[
        ("other", r#"{"account":"222222222222","region":"us-east-1"}"#, 1),
        ("own", r#"{"region":"us-east-1"}"#, 1),
    ]);
    let report = h.invoke(&event, Deadline::NONE).await.0.unwrap();
    assert_eq!(report.cells[0].outcome.as_str(), "retry");
    let why = report.cells[0].reason.as_deref().unwrap();
    assert!(why.contains("account 222222222222 is not governed"), "{why}");
    assert_eq!(report.cells[1].outcome.as_str(), "swept");
    assert_eq!(
        h.backend.secrets.count("list"),
        1,
        "only the own account's cell was listed"
    );
}

/// A TagResource of `TRUSTED_ARN` setting `Debug=1`, by a session of the role `role` (its
/// issuer), at `time`.
fn debug_by(role: &str, time: &str) -> Value {
    let mut v = sample("secretsmanager-untag-resource.json");
    v["detail"]["eventName"] = json!("TagResource");
    v["detail"]["eventTime"] = json!(time);
    v["detail"]["requestParameters"] = json!({"secretId": TRUSTED_ARN, "tags": [{"key": "Debug", "value": "1"}]});
    v["detail"]["userIdentity"]["arn"] = json!(format!("arn:aws:sts::123456789012:assumed-role/{role}/apply"));
    v["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!(format!("arn:aws:iam::123456789012:role/{role}"));
    v
}

fn remembering_handler() -> Handler<FakeBackend> {
    let env = |k: &str| match k {
        "TAG_WARDEN_POLICY" => Some(r#"{"rules":[{"name":"r","forbid":["Debug"]}]}"#.to_owned()),
        "TAG_WARDEN_MEMORY_TABLE" => Some("memory".to_owned()),
        _ => None,
    };
    let backend = FakeBackend::new(FakeStore::with(TRUSTED_ARN, &[]), FakeStore::default())
        .remembering(crate::testing::FakeMemory::default());
    Handler::new(backend, Config::from_env(&env).unwrap())
}

#[tokio::test]
async fn the_third_undo_of_one_principals_change_is_contested_and_different_principals_do_not_add_up() {
    let now = crate::domain::utc_time(crate::run::resource::now_ms());
    for (roles, contested) in [(["terraform"; 3], true), (["a", "b", "c"], false)] {
        let h = remembering_handler();
        let mut last = None;
        for role in roles {
            let debug: crate::domain::Tags = [("Debug".to_owned(), "1".to_owned())].into();
            h.backend.secrets.tag(TRUSTED_ARN, &debug).await.unwrap();
            let (report, metrics) = h.invoke(&debug_by(role, &now), Deadline::NONE).await;
            let entry = report.unwrap().results.remove(0);
            assert_eq!(entry.outcome, Outcome::Remediated);
            last = Some((entry, metrics.total(Metric::Contested)));
        }
        let (entry, counted) = last.unwrap();
        assert_eq!(entry.contested.is_some(), contested, "{roles:?}: {:?}", entry.reasons);
        assert_eq!(counted, u64::from(contested));
        if let Some(c) = entry.contested {
            assert_eq!(c.contested_by, "arn:aws:iam::123456789012:role/terraform");
            assert_eq!((c.contested_count, c.contested_keys), (3, vec!["Debug".to_owned()]));
            assert!(entry
                .reasons
                .iter()
                .any(|r| r.contains("TAG_WARDEN_IGNORE_PRINCIPALS") && r.contains("ignore_tags")));
            let story = h.backend.memory.as_ref().unwrap().stories.lock().unwrap()[TRUSTED_ARN].clone();
            assert!(story
                .last()
                .unwrap()
                .action
                .contains("contested by arn:aws:iam::123456789012:role/terraform"));
            assert_eq!(
                story.iter().map(|s| s.seq).collect::<Vec<_>>(),
                [0, 1, 2],
                "every step kept"
            );
        }
    }
}

#[tokio::test]
async fn an_event_seven_seconds_old_reports_its_latency_and_the_metric_carries_it() {
    let h = remembering_handler();
    let then = crate::domain::utc_time(crate::run::resource::now_ms() - 7_000);
    let (report, metrics) = h.invoke(&debug_by("ci", &then), Deadline::NONE).await;
    let latency = report.unwrap().results[0].latency_ms.unwrap();
    assert!((7_000..9_000).contains(&latency), "{latency}");
    assert_eq!(metrics.latencies(), [latency]);
}

/// An organization whose management account is 999999999999, with the function (identity
/// 123456789012, a delegated administrator) and one more member.
fn org_handler(queue: bool, unreachable: &[&str]) -> Handler<FakeBackend> {
    let mut extra = vec![("TAG_WARDEN_ACCOUNTS", "ORG")];
    if queue {
        extra.push(("TAG_WARDEN_SWEEP_QUEUE_URL", "https://queue/sweep"));
    }
    let unreachable: Vec<String> = unreachable.iter().map(|a| (*a).to_owned()).collect();
    fleet_handler(FakeStore::with("arn:s", &[]), &extra, move |b| {
        b.identity = Some(crate::testing::sample_function());
        b.organization = Some(vec![
            "999999999999".into(),
            "123456789012".into(),
            "222222222222".into(),
        ]);
        b.management = Some("999999999999".into());
        b.unreachable = unreachable.into_iter().collect();
    })
}

#[tokio::test]
async fn org_leaves_out_the_management_account_where_no_stackset_puts_the_member_role() {
    let h = org_handler(true, &[]);
    let report = h
        .invoke(&sample("scheduled-reconcile.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    assert_eq!(report.fanout.unwrap().accounts, ["123456789012", "222222222222"]);
    let sent = h.backend.sent.lock().unwrap().clone();
    assert!(sent.iter().all(|(_, b)| !b.contains("999999999999")), "{sent:?}");
    // An event there is not acted on either, with the reason.
    let mut event = sample("secretsmanager-tag-resource.json");
    event["detail"]["recipientAccountId"] = json!("999999999999");
    event["detail"]["userIdentity"]["accountId"] = json!("999999999999");
    let report = h.handle(&event, Deadline::NONE).await.0.unwrap();
    assert_eq!(report.results[0].outcome, Outcome::Ignored);
    assert!(
        report.results[0].reasons[0].contains("management account"),
        "{:?}",
        report.results[0].reasons
    );

    // Run from the management account itself, ORG includes it.
    let h = fleet_handler(
        FakeStore::with("arn:s", &[]),
        &[("TAG_WARDEN_ACCOUNTS", "ORG"), ("TAG_WARDEN_SWEEP_QUEUE_URL", "q")],
        |b| {
            b.identity = Some(crate::domain::Identity {
                account: "999999999999".into(),
                arn: "arn:aws:sts::999999999999:assumed-role/tag-warden-role/tag-warden".into(),
            });
            b.organization = Some(vec!["999999999999".into(), "222222222222".into()]);
            b.management = Some("999999999999".into());
        },
    );
    let report = h
        .invoke(&sample("scheduled-reconcile.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    assert_eq!(report.fanout.unwrap().accounts, ["999999999999", "222222222222"]);
}

#[tokio::test]
async fn a_fan_out_reports_an_account_not_enrolled_once_and_sends_none_of_its_cells() {
    let h = org_handler(true, &["222222222222"]);
    let (result, metrics) = h.invoke(&sample("scheduled-reconcile.json"), Deadline::NONE).await;
    let report = result.unwrap();
    assert_eq!(report.fanout.as_ref().unwrap().accounts, ["123456789012"]);
    let sent = h.backend.sent.lock().unwrap().clone();
    assert!(sent.iter().all(|(_, b)| !b.contains("222222222222")), "{sent:?}");
    let not_enrolled: Vec<_> = report
        .results
        .iter()
        .filter(|e| e.outcome == Outcome::NotEnrolled)
        .collect();
    assert_eq!(not_enrolled.len(), 1);
    assert_eq!(not_enrolled[0].account.as_deref(), Some("222222222222"));
    assert_eq!(metrics.total(crate::view::metrics::Metric::NotEnrolled), 1);
}

#[tokio::test]
async fn a_sweep_over_regions_reports_an_account_not_enrolled_once_and_is_not_incomplete() {
    let h = fleet_handler(
        FakeStore::with("arn:aws:secretsmanager:us-east-1:123456789012:secret:a", &[]),
        &[
            ("TAG_WARDEN_ACCOUNTS", "123456789012,222222222222"),
            ("TAG_WARDEN_REGIONS", "eu-west-1"),
        ],
        |b| {
            b.identity = Some(crate::testing::sample_function());
            b.unreachable = ["222222222222".to_owned()].into();
        },
    );
    let (result, _) = h.invoke(&sample("scheduled-reconcile.json"), Deadline::NONE).await;
    let report = result.expect("not enrolled is not a failure of the invocation");
    let sweep = report.sweep.as_ref().unwrap();
    assert!(sweep.failed_cells.is_empty(), "{:?}", sweep.failed_cells);
    assert_eq!(sweep.not_enrolled.len(), 1);
    assert_eq!(report.summary[&Outcome::NotEnrolled], 1, "once, not once per region");
    assert_eq!(
        report
            .results
            .iter()
            .filter(|e| e.outcome == Outcome::NotEnrolled)
            .count(),
        1
    );
}
