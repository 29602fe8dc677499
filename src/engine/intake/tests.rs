use super::*;
use crate::domain::Cell;
use crate::engine::policy::Glob;
use serde_json::json;

/// The function of the samples: role `tag-warden-role` in account 123456789012.
fn me() -> crate::domain::Identity {
    crate::domain::Identity {
        account: "123456789012".into(),
        arn: "arn:aws:sts::123456789012:assumed-role/tag-warden-role/tag-warden".into(),
    }
}

fn opts() -> IntakeOptions {
    IntakeOptions {
        own: Some(me()),
        ..IntakeOptions::default()
    }
}

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn one(v: &Value, o: &IntakeOptions) -> ItemResult {
    let mut items = intake(v, o).unwrap();
    assert_eq!(items.len(), 1);
    items.remove(0)
}

/// What each sample must produce: a trigger (kind, id) or an ignore (reason fragment).
enum Expect {
    Trigger(ResourceKind, &'static str),
    Ignored(&'static str),
    Sweep,
    Records(usize),
    Cells(usize),
}

const KEY1_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn expectation(file: &str) -> Expect {
    use Expect::*;
    use ResourceKind::*;
    match file {
        "secretsmanager-tag-resource.json" => Trigger(Secret, "prod/payments/db"),
        "secretsmanager-untag-resource.json" => Trigger(
            Secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db",
        ),
        "secretsmanager-update-secret.json" => Trigger(
            Secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q",
        ),
        "secretsmanager-create-secret.json" => Trigger(
            Secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/api-key-Q2w3E4",
        ),
        "secretsmanager-create-secret-legacy-arn.json" => Trigger(
            Secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:legacy/reporting-a1B2c3",
        ),
        "kms-tag-resource.json" | "kms-untag-resource.json" | "cloudtrail-record-kms-untag-resource.json" => {
            Trigger(KmsKey, KEY1_ARN)
        }
        "kms-create-key.json" => Trigger(
            KmsKey,
            "arn:aws:kms:us-east-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321",
        ),
        "cloudtrail-log-file.json" => Records(3),
        "sqs-sweep-cells.json" => Cells(3),
        "ignored-failed-call.json" => Ignored("the call failed (AccessDenied)"),
        "ignored-own-call.json" => Ignored("made by this function"),
        "ignored-other-service.json" => Ignored("`s3.amazonaws.com` is not Secrets Manager or KMS"),
        "scheduled-reconcile.json" => Sweep,
        "tag-change-secret.json" => Trigger(
            Secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q",
        ),
        "tag-change-kms-key.json" => Trigger(KmsKey, KEY1_ARN),
        "ignored-tag-change-other-service.json" => {
            Ignored("Tag Change on Resource of `ec2` `instance`: not a secret or KMS key")
        }
        other => panic!("events/{other} has no expectation in intake tests: add one"),
    }
}

#[test]
fn every_sample_event_is_taken_in_as_expected() {
    let dir = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/events")).unwrap();
    let mut seen = 0;
    for entry in dir {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let items = intake(&sample(&name), &opts()).unwrap();
        match expectation(&name) {
            Expect::Trigger(kind, id) => match &items[..] {
                [Ok(Intake::Trigger(t))] => {
                    assert_eq!(
                        (t.kind, t.resource_id.as_str(), t.region.as_str()),
                        (kind, id, "us-east-1"),
                        "{name}"
                    );
                    assert!(t.event.name.is_some() && t.event.id.is_some(), "{name}");
                }
                other => panic!("{name}: expected a trigger, got {other:?}"),
            },
            Expect::Ignored(why) => match &items[..] {
                [Ok(Intake::Ignored(i))] => assert!(i.reason.contains(why), "{name}: {}", i.reason),
                other => panic!("{name}: expected ignored, got {other:?}"),
            },
            Expect::Sweep => assert!(matches!(&items[..], [Ok(Intake::Sweep(_))]), "{name}: {items:?}"),
            Expect::Records(n) => assert_eq!(items.len(), n, "{name}"),
            Expect::Cells(n) => {
                assert_eq!(items.len(), n, "{name}");
                assert!(items.iter().all(|i| matches!(i, Ok(Intake::Cell(_)))), "{name}");
            }
        }
        seen += 1;
    }
    assert!(seen >= 17, "only {seen} samples found");
}

#[test]
fn a_tag_change_event_names_its_resource_account_and_event() {
    let items = intake(&sample("tag-change-secret.json"), &opts()).unwrap();
    let [Ok(Intake::Trigger(t))] = &items[..] else {
        panic!("{items:?}")
    };
    assert_eq!(t.account.as_deref(), Some("123456789012"));
    assert_eq!(t.event.source.as_deref(), Some("aws.tag"));
    assert_eq!(t.event.name.as_deref(), Some("Tag Change on Resource"));
    assert_eq!(
        t.event.actor,
        crate::domain::Actor::default(),
        "the event names no actor"
    );
}

#[test]
fn a_tag_change_without_an_arn_or_region_is_a_missing_field() {
    let mut v = sample("tag-change-kms-key.json");
    v["resources"] = json!([]);
    assert!(matches!(one(&v, &opts()), Err(IntakeError::MissingField { field, .. }) if field.contains("resources")));
    let mut v = sample("tag-change-kms-key.json");
    v.as_object_mut().unwrap().remove("region");
    assert!(matches!(one(&v, &opts()), Err(IntakeError::MissingField { field, .. }) if field == "region"));
    let mut v = sample("tag-change-kms-key.json");
    v["resources"] = json!([format!("arn:{}", "x".repeat(3000))]);
    assert!(matches!(one(&v, &opts()), Err(IntakeError::TooLong { .. })));
}

#[test]
fn a_trusted_principals_change_is_remembered_only_when_memory_is_configured() {
    let v = sample("secretsmanager-untag-resource.json");
    let trusted = IntakeOptions {
        ignore_principals: vec![Glob::new("arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*")],
        ..opts()
    };
    assert!(matches!(one(&v, &trusted), Ok(Intake::Ignored(i)) if i.reason.contains("TAG_WARDEN_IGNORE_PRINCIPALS")));
    let remembering = IntakeOptions {
        remember_trusted: true,
        ..trusted
    };
    match one(&v, &remembering) {
        Ok(Intake::Trusted(t, reason)) => {
            assert_eq!(t.kind, ResourceKind::Secret);
            assert!(reason.contains("TAG_WARDEN_IGNORE_PRINCIPALS"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // The function's own calls are never remembered as a principal's.
    let own = sample("ignored-own-call.json");
    assert!(matches!(one(&own, &remembering), Ok(Intake::Ignored(_))));
}

#[test]
fn a_log_file_yields_one_item_per_record_in_order() {
    let items = intake(&sample("cloudtrail-log-file.json"), &opts()).unwrap();
    assert!(
        matches!(&items[0], Ok(Intake::Trigger(t)) if t.kind == ResourceKind::Secret && t.resource_id == "prod/payments/db")
    );
    assert!(matches!(&items[1], Ok(Intake::Trigger(t)) if t.kind == ResourceKind::KmsKey && t.resource_id == KEY1_ARN));
    assert!(matches!(&items[2], Ok(Intake::Ignored(i)) if i.reason.contains("GetSecretValue does not change tags")));
}

#[test]
fn console_records_with_an_empty_session_issuer_are_accepted() {
    let v = sample("secretsmanager-tag-resource.json");
    assert_eq!(
        v["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"],
        json!({})
    );
    assert!(matches!(one(&v, &opts()), Ok(Intake::Trigger(_))));
}

#[test]
fn own_calls_are_recognised_by_the_issuer_role_and_account_never_by_the_session_name() {
    let v = sample("ignored-own-call.json");
    assert!(
        matches!(one(&v, &opts()), Ok(Intake::Ignored(i)) if i.reason.contains("own role (`tag-warden-role` in account 123456789012)"))
    );
    let unknown = IntakeOptions::default();
    assert!(
        matches!(one(&v, &unknown), Ok(Intake::Trigger(_))),
        "identity unknown: judged"
    );
    // A session named like the function in another role is judged.
    let mut other_role = v.clone();
    other_role["detail"]["userIdentity"]["arn"] = json!("arn:aws:sts::123456789012:assumed-role/ci/tag-warden");
    other_role["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!("arn:aws:iam::123456789012:role/ci");
    assert!(matches!(one(&other_role, &opts()), Ok(Intake::Trigger(_))));
    // The function's role name in another account is judged.
    let mut elsewhere = v.clone();
    elsewhere["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!("arn:aws:iam::444455556666:role/tag-warden-role");
    assert!(matches!(one(&elsewhere, &opts()), Ok(Intake::Trigger(_))));
    // The function's own role under any session name is its own.
    let mut renamed = v.clone();
    renamed["detail"]["userIdentity"]["arn"] =
        json!("arn:aws:sts::123456789012:assumed-role/tag-warden-role/something-else");
    assert!(matches!(one(&renamed, &opts()), Ok(Intake::Ignored(_))));
}

#[test]
fn a_creation_is_judged_even_when_the_function_made_it() {
    let mut v = sample("ignored-own-call.json");
    v["detail"]["eventName"] = json!("CreateSecret");
    v["detail"]["requestParameters"] = json!({"name": "prod/x"});
    v["detail"]["responseElements"] =
        json!({"arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/x-AbCdEf"});
    assert!(matches!(one(&v, &opts()), Ok(Intake::Trigger(_))));
}

#[test]
fn trusted_principals_match_the_issuer_role_or_an_iam_user_never_the_session() {
    let v = sample("secretsmanager-untag-resource.json");
    let with = |glob: &str| IntakeOptions {
        ignore_principals: vec![Glob::new(glob)],
        ..IntakeOptions::default()
    };
    let by_role = with("arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*");
    assert!(matches!(one(&v, &by_role), Ok(Intake::Ignored(i)) if i.reason.contains("TAG_WARDEN_IGNORE_PRINCIPALS")));
    // The session's last part is the caller's choice: a glob over it matches nothing.
    assert!(matches!(one(&v, &with("*/alice@example.com")), Ok(Intake::Trigger(_))));
    assert!(matches!(
        one(&v, &with("arn:aws:iam::*:role/terraform")),
        Ok(Intake::Trigger(_))
    ));
    let mut user = v.clone();
    user["detail"]["userIdentity"] = json!({
        "type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/deployer", "accountId": "123456789012", "userName": "deployer"
    });
    assert!(matches!(
        one(&user, &with("arn:aws:iam::*:user/deployer")),
        Ok(Intake::Ignored(_))
    ));
}

#[test]
fn a_trigger_carries_the_tags_its_call_set_in_either_service_s_shape() {
    let v = sample("secretsmanager-tag-resource.json");
    let Ok(Intake::Trigger(t)) = one(&v, &opts()) else {
        panic!()
    };
    let tags = &v["detail"]["requestParameters"]["tags"];
    assert_eq!(t.requested.len(), tags.as_array().unwrap().len());
    let first = &tags[0];
    assert_eq!(
        t.requested.get(first["key"].as_str().unwrap()).map(String::as_str),
        first["value"].as_str()
    );
    let k = sample("kms-tag-resource.json");
    let Ok(Intake::Trigger(t)) = one(&k, &opts()) else {
        panic!()
    };
    let first = &k["detail"]["requestParameters"]["tags"][0];
    assert_eq!(
        t.requested.get(first["tagKey"].as_str().unwrap()).map(String::as_str),
        first["tagValue"].as_str()
    );
}

#[test]
fn kms_key_arn_comes_from_resources_before_a_bare_key_id() {
    let mut v = sample("kms-untag-resource.json");
    assert_eq!(
        v["detail"]["requestParameters"]["keyId"],
        "1234abcd-12ab-34cd-56ef-1234567890ab"
    );
    assert!(matches!(one(&v, &opts()), Ok(Intake::Trigger(t)) if t.resource_id == KEY1_ARN));
    // Without resources, the bare key id is used as is.
    v["detail"]["resources"] = json!([]);
    assert!(
        matches!(one(&v, &opts()), Ok(Intake::Trigger(t)) if t.resource_id == "1234abcd-12ab-34cd-56ef-1234567890ab")
    );
}

#[test]
fn create_secret_falls_back_to_the_request_name() {
    let mut v = sample("secretsmanager-create-secret.json");
    v["detail"]["responseElements"] = Value::Null;
    assert!(matches!(one(&v, &opts()), Ok(Intake::Trigger(t)) if t.resource_id == "prod/orders/api-key"));
}

#[test]
fn a_supported_event_without_its_resource_is_an_error_naming_the_field() {
    let mut v = sample("secretsmanager-tag-resource.json");
    v["detail"]["requestParameters"] = json!({"tags": []});
    let err = one(&v, &opts()).unwrap_err();
    assert!(err.to_string().contains("requestParameters.secretId"), "{err}");
    assert!(err.to_string().contains("secret TagResource"), "{err}");

    let mut v = sample("kms-tag-resource.json");
    v["detail"]["resources"] = json!([]);
    v["detail"]["requestParameters"] = json!({});
    v["detail"]["responseElements"] = Value::Null;
    let err = one(&v, &opts()).unwrap_err();
    assert!(err.to_string().contains("requestParameters.keyId"), "{err}");
}

#[test]
fn a_missing_region_is_taken_from_the_envelope_or_is_an_error() {
    let mut v = sample("kms-tag-resource.json");
    v["detail"].as_object_mut().unwrap().remove("awsRegion");
    v["region"] = json!("eu-west-1");
    assert!(matches!(one(&v, &opts()), Ok(Intake::Trigger(t)) if t.region == "eu-west-1"));
    let mut bare = sample("cloudtrail-record-kms-untag-resource.json");
    bare.as_object_mut().unwrap().remove("awsRegion");
    assert!(one(&bare, &opts()).unwrap_err().to_string().contains("awsRegion"));
}

#[test]
fn read_only_and_unsupported_calls_are_ignored_with_the_reason() {
    let mut v = sample("secretsmanager-tag-resource.json");
    v["detail"]["eventName"] = json!("DescribeSecret");
    assert!(
        matches!(one(&v, &opts()), Ok(Intake::Ignored(i)) if i.reason.contains("DescribeSecret does not change tags"))
    );
    v["detail"]["eventName"] = json!("CreateKey");
    assert!(
        matches!(one(&v, &opts()), Ok(Intake::Ignored(_))),
        "CreateKey is a KMS event, not a Secrets Manager one"
    );
}

#[test]
fn other_eventbridge_detail_types_are_ignored() {
    let v = json!({"version":"0","detail-type":"Tag Change on Resource","source":"aws.tag","region":"us-east-1","detail":{}});
    assert!(matches!(one(&v, &opts()), Ok(Intake::Ignored(i)) if i.reason.contains("Tag Change on Resource")));
}

#[test]
fn payloads_that_are_not_events_are_errors() {
    for v in [
        json!(42),
        json!("TagResource"),
        json!([1, 2]),
        json!(null),
        json!({"hello": "world"}),
        json!({"Records": {}}),
    ] {
        let err = intake(&v, &opts()).unwrap_err();
        assert!(matches!(err, IntakeError::NotAnEvent { .. }), "{v}: {err}");
    }
    let v = json!({"detail-type": "AWS API Call via CloudTrail", "detail": "oops"});
    assert!(matches!(one(&v, &opts()), Err(IntakeError::NotAnEvent { .. })));
}

#[test]
fn bad_records_in_a_log_file_fail_alone() {
    let v = json!({"Records": [7, sample("cloudtrail-record-kms-untag-resource.json")]});
    let items = intake(&v, &opts()).unwrap();
    assert_eq!(items[0], Err(IntakeError::BadRecord { index: 0 }));
    assert!(matches!(items[1], Ok(Intake::Trigger(_))));
}

#[test]
fn bytes_that_are_not_json_are_an_error_without_echoing_them() {
    let err = intake_bytes(b"{\"secretString\": \"canary-123\"", &opts()).unwrap_err();
    assert!(matches!(err, IntakeError::NotJson(_)));
    assert!(!err.to_string().contains("canary"), "{err}");
    assert!(intake_bytes(&[0xff, 0xfe, 0x00], &opts()).is_err());
}

#[test]
fn wrongly_typed_fields_are_treated_as_absent_not_as_a_crash() {
    let mut v = sample("secretsmanager-tag-resource.json");
    v["detail"]["requestParameters"]["secretId"] = json!(12);
    v["detail"]["userIdentity"] = json!("weird");
    v["detail"]["errorCode"] = json!({"nested": true});
    assert!(matches!(one(&v, &opts()), Err(IntakeError::MissingField { .. })));
}

#[test]
fn identifiers_longer_than_aws_allows_are_refused_without_echoing_them() {
    let mut v = sample("secretsmanager-tag-resource.json");
    v["detail"]["requestParameters"]["secretId"] = json!("x".repeat(2049));
    let err = one(&v, &opts()).unwrap_err();
    assert!(
        matches!(
            err,
            IntakeError::TooLong {
                chars: 2049,
                max: 2048,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("xxxx"), "{err}");
    v["detail"]["requestParameters"]["secretId"] = json!("x".repeat(2048));
    assert!(matches!(one(&v, &opts()), Ok(Intake::Trigger(_))));
}

#[test]
fn log_files_beyond_the_record_limit_are_refused_with_a_clear_message() {
    let record = sample("cloudtrail-record-kms-untag-resource.json");
    let at_limit = json!({"Records": vec![record.clone(); MAX_RECORDS]});
    assert_eq!(intake(&at_limit, &opts()).unwrap().len(), MAX_RECORDS);
    let over = json!({"Records": vec![record; MAX_RECORDS + 1]});
    let err = intake(&over, &opts()).unwrap_err();
    assert_eq!(
        err,
        IntakeError::TooManyRecords {
            count: MAX_RECORDS + 1,
            max: MAX_RECORDS
        }
    );
    assert!(err.to_string().contains("split it"));
}

#[test]
fn the_member_role_is_its_own_only_at_its_exact_path_in_the_account_called() {
    let mut v = sample("secretsmanager-untag-resource.json");
    let as_member = |v: &mut Value, issuer: &str, account: &str| {
        v["detail"]["recipientAccountId"] = json!(account);
        v["detail"]["userIdentity"]["arn"] = json!(format!(
            "arn:aws:sts::{account}:assumed-role/tag-warden-member/tag-warden"
        ));
        v["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = json!(issuer);
    };
    let opts = IntakeOptions {
        member_role: Some("org/tag-warden-member".to_owned()),
        ..IntakeOptions::default()
    };
    as_member(
        &mut v,
        "arn:aws:iam::222222222222:role/org/tag-warden-member",
        "222222222222",
    );
    assert!(
        matches!(one(&v, &opts), Ok(Intake::Ignored(i)) if i.reason.contains("member role `arn:aws:iam::222222222222:role/org/tag-warden-member`"))
    );
    // At another path: judged.
    as_member(
        &mut v,
        "arn:aws:iam::222222222222:role/tag-warden-member",
        "222222222222",
    );
    assert!(matches!(one(&v, &opts), Ok(Intake::Trigger(_))));
    // The member role of another account than the one called: judged.
    as_member(
        &mut v,
        "arn:aws:iam::999999999999:role/org/tag-warden-member",
        "222222222222",
    );
    assert!(matches!(one(&v, &opts), Ok(Intake::Trigger(_))));
    // A longer name: judged; no member role configured: judged.
    as_member(
        &mut v,
        "arn:aws:iam::222222222222:role/org/tag-warden-member-2",
        "222222222222",
    );
    assert!(matches!(one(&v, &opts), Ok(Intake::Trigger(_))));
    as_member(
        &mut v,
        "arn:aws:iam::222222222222:role/org/tag-warden-member",
        "222222222222",
    );
    assert!(matches!(one(&v, &IntakeOptions::default()), Ok(Intake::Trigger(_))));
    // The member role's name in the function's own account: tag-warden acts there with its
    // own credentials, never through the member role, so the role is somebody's: judged.
    let mine = me().account;
    as_member(
        &mut v,
        &format!("arn:aws:iam::{mine}:role/org/tag-warden-member"),
        &mine,
    );
    let at_home = IntakeOptions {
        own: Some(me()),
        member_accounts: Some(vec![mine.clone(), "222222222222".to_owned()]),
        ..opts.clone()
    };
    assert!(matches!(one(&v, &at_home), Ok(Intake::Trigger(_))));
    // The same role in a member account, with the function's identity known: its own.
    as_member(
        &mut v,
        "arn:aws:iam::222222222222:role/org/tag-warden-member",
        "222222222222",
    );
    assert!(matches!(one(&v, &at_home), Ok(Intake::Ignored(_))));
}

#[test]
fn an_sqs_batch_is_one_cell_per_message_and_a_bad_body_is_named_not_quoted() {
    let v = sample("sqs-sweep-cells.json");
    let items = intake(&v, &IntakeOptions::default()).unwrap();
    let works: Vec<CellWork> = items
        .into_iter()
        .map(|i| match i {
            Ok(Intake::Cell(w)) => w,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(works.len(), 3);
    assert_eq!(works[0].cell, Ok(Cell::new(Some("222222222222"), "us-east-1")));
    assert_eq!(
        (works[0].message_id.as_str(), works[0].receive_count),
        ("059f36b4-87a3-44ab-83d2-661975830a7d", 1)
    );
    assert_eq!(works[1].cell, Ok(Cell::new(Some("333333333333"), "eu-west-1")));
    assert_eq!(works[1].receive_count, 3);
    assert_eq!(works[2].cell, Err(BadCell::BadAccount));
    let why = works[2].cell.clone().unwrap_err().to_string();
    assert!(
        why.contains("not a 12-digit account id") && !why.contains("12345"),
        "{why}"
    );
}

#[test]
fn a_cloudtrail_log_file_is_not_mistaken_for_an_sqs_batch() {
    let v = sample("cloudtrail-log-file.json");
    let items = intake(&v, &IntakeOptions::default()).unwrap();
    assert!(items.iter().all(|i| !matches!(i, Ok(Intake::Cell(_)))));
}

/// An example from AWS's documentation (tests/fixtures/aws-docs, sources in its README).
fn aws_doc(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/aws-docs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn replicate_key_judges_the_new_replica_in_its_region_not_the_primary_the_record_names() {
    // AWS's sample: awsRegion and resources[] are the primary's (us-east-1); the replica, with
    // tags of its own, is responseElements.replicaKeyMetadata.arn in us-west-2.
    match one(&aws_doc("kms-replicate-key.cloudtrail.json"), &opts()) {
        Ok(Intake::Trigger(t)) => {
            assert_eq!(t.kind, ResourceKind::KmsKey);
            assert_eq!(
                t.resource_id,
                "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            );
            assert_eq!(t.region, "us-west-2");
            assert_eq!(t.account.as_deref(), Some("111122223333"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn replicate_key_is_a_creation_judged_whoever_made_it() {
    // Made by the function's own role, a creation is still judged (tag-warden never creates).
    let mut rec = aws_doc("kms-replicate-key.cloudtrail.json");
    rec["userIdentity"] = json!({
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/tag-warden-role/tag-warden",
        "accountId": "123456789012",
        "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/tag-warden-role"}}
    });
    assert!(matches!(one(&rec, &opts()), Ok(Intake::Trigger(_))));
    assert!(crate::engine::policy::CREATION_EVENTS.contains(&"ReplicateKey"));
}

#[test]
fn replicate_key_without_the_replica_arn_names_the_field_it_lacks() {
    let mut rec = aws_doc("kms-replicate-key.cloudtrail.json");
    rec["responseElements"] = Value::Null;
    let err = one(&rec, &opts()).unwrap_err();
    assert!(
        err.to_string().contains("responseElements.replicaKeyMetadata.arn"),
        "{err}"
    );
}

#[test]
fn replicate_secret_to_regions_judges_the_primary_whose_tags_the_replicas_get() {
    match one(
        &aws_doc("secretsmanager-replicate-secret-to-regions.cloudtrail.json"),
        &opts(),
    ) {
        Ok(Intake::Trigger(t)) => {
            assert_eq!(
                (t.kind, t.resource_id.as_str(), t.region.as_str()),
                (ResourceKind::Secret, "MyTestSecret", "us-east-1")
            );
        }
        other => panic!("{other:?}"),
    }
}
