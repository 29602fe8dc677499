//! End to end: the real `tag-warden handle` binary against a moto server on loopback, for
//! secrets and keys, counting every AWS call with moto's request recorder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::*;

const COMPLIANT_SECRET: &[(&str, &str)] = &[("Owner", "payments"), ("CostCenter", "1234"), ("DataClass", "internal")];
const COMPLIANT_KEY: &[(&str, &str)] = &[("Owner", "payments"), ("CostCenter", "1234")];

fn with(
    base: &[(&'static str, &'static str)],
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = base
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .copied()
        .collect();
    v.extend_from_slice(extra);
    v
}

fn without(base: &[(&'static str, &'static str)], key: &str) -> Vec<(&'static str, &'static str)> {
    base.iter().filter(|(k, _)| *k != key).copied().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_untag_of_required_key_by_partial_arn_is_restored_with_one_read_and_one_tag() {
    let moto = Moto::start();
    let arn = moto
        .create_secret("prod/payments/db", &without(COMPLIANT_SECRET, "Owner"))
        .await;
    moto.start_recording();
    let (out, report) = handle(&moto, &event("secretsmanager-untag-resource.json", &[], &[]), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        moto.recorded(),
        [WHO_AM_I, "secretsmanager.DescribeSecret", "secretsmanager.TagResource"]
    );
    assert_eq!(report["results"][0]["outcome"], "remediated");
    assert_eq!(report["results"][0]["arn"], arn.as_str());
    assert_eq!(
        moto.secret_tags(&arn).await,
        tags(&with(COMPLIANT_SECRET, &[("Owner", "platform")]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_tagged_by_name_with_a_forbidden_key_and_bad_value_is_fixed_untag_first() {
    let moto = Moto::start();
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &with(COMPLIANT_SECRET, &[("temp-debug", "true"), ("Owner", "someone-else")]),
        )
        .await;
    moto.start_recording();
    let (out, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert!(out.status.success());
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "secretsmanager.UntagResource",
            "secretsmanager.TagResource"
        ]
    );
    assert_eq!(report["results"][0]["keys_removed"], serde_json::json!(["temp-debug"]));
    assert_eq!(
        report["results"][0]["tags_added"],
        serde_json::json!({"Owner": "platform"})
    );
    assert_eq!(
        moto.secret_tags(&arn).await,
        tags(&with(COMPLIANT_SECRET, &[("Owner", "platform")]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_named_by_full_arn_is_found_and_a_compliant_one_costs_one_read() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", COMPLIANT_SECRET).await;
    moto.start_recording();
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-update-secret.json", &[("prod/payments/db", &arn)], &[]),
        &[],
    );
    assert!(out.status.success());
    assert_eq!(moto.recorded(), [WHO_AM_I, "secretsmanager.DescribeSecret"]);
    assert_eq!(report["results"][0]["outcome"], "compliant");
    assert_eq!(report["results"][0]["resource_id"], arn.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn create_secret_events_new_and_legacy_spelling_get_required_tags() {
    let moto = Moto::start();
    let orders = moto
        .create_secret("prod/orders/api-key", &[("Owner", "payments")])
        .await;
    let legacy = moto.create_secret("legacy/reporting", &[]).await;
    let map = [
        ("prod/orders/api-key", orders.as_str()),
        ("legacy/reporting", legacy.as_str()),
    ];
    for file in [
        "secretsmanager-create-secret.json",
        "secretsmanager-create-secret-legacy-arn.json",
    ] {
        let (out, report) = handle(&moto, &event(file, &map, &[]), &[]);
        assert!(out.status.success(), "{file}");
        assert_eq!(report["results"][0]["outcome"], "remediated", "{file}");
    }
    assert_eq!(
        moto.secret_tags(&orders).await,
        tags(&[
            ("Owner", "payments"),
            ("CostCenter", "0000"),
            ("DataClass", "confidential")
        ])
    );
    assert_eq!(
        moto.secret_tags(&legacy).await,
        tags(&[
            ("Owner", "platform"),
            ("CostCenter", "0000"),
            ("DataClass", "confidential")
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn key_untag_of_required_key_is_restored() {
    let moto = Moto::start();
    let key = moto.create_key(&without(COMPLIANT_KEY, "Owner")).await;
    moto.start_recording();
    let (out, report) = handle(
        &moto,
        &event("kms-untag-resource.json", &[], &[(SAMPLE_KEY_1, &key)]),
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Tags first; the key's state only because a write is due.
    assert_eq!(
        moto.recorded(),
        [WHO_AM_I, "kms.ListResourceTags", "kms.DescribeKey", "kms.TagResource"]
    );
    assert_eq!(report["results"][0]["kind"], "kms-key");
    assert_eq!(
        moto.key_tags(&key).await,
        tags(&with(COMPLIANT_KEY, &[("Owner", "platform")]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compliant_key_costs_one_call() {
    let moto = Moto::start();
    let key = moto.create_key(COMPLIANT_KEY).await;
    moto.start_recording();
    let (out, report) = handle(
        &moto,
        &event("kms-tag-resource.json", &[], &[(SAMPLE_KEY_1, &key)]),
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["results"][0]["outcome"], "compliant");
    assert_eq!(moto.recorded(), [WHO_AM_I, "kms.ListResourceTags"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_tagged_with_forbidden_key_and_bad_value_is_fixed_untag_first() {
    let moto = Moto::start();
    let key = moto
        .create_key(&with(COMPLIANT_KEY, &[("CostCenter", "12"), ("Debug", "on")]))
        .await;
    moto.start_recording();
    let (out, _) = handle(
        &moto,
        &event("kms-tag-resource.json", &[], &[(SAMPLE_KEY_1, &key)]),
        &[],
    );
    assert!(out.status.success());
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "kms.ListResourceTags",
            "kms.DescribeKey",
            "kms.UntagResource",
            "kms.TagResource"
        ]
    );
    assert_eq!(
        moto.key_tags(&key).await,
        tags(&with(COMPLIANT_KEY, &[("CostCenter", "0000")]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_event_tags_the_new_key() {
    let moto = Moto::start();
    let key = moto.create_key(&[]).await;
    let (out, _) = handle(&moto, &event("kms-create-key.json", &[], &[(SAMPLE_KEY_2, &key)]), &[]);
    assert!(out.status.success());
    assert_eq!(
        moto.key_tags(&key).await,
        tags(&[("Owner", "platform"), ("CostCenter", "0000")])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_to_ignore_make_no_aws_call_at_all() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", &[("Debug", "on")]).await;
    for file in ["ignored-failed-call.json", "ignored-other-service.json"] {
        moto.start_recording();
        let (out, report) = handle(&moto, &event(file, &[("prod/payments/db", &arn)], &[]), &[]);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(report["results"][0]["outcome"], "ignored", "{file}");
        assert_eq!(moto.recorded(), Vec::<String>::new(), "{file}");
    }
    assert_eq!(moto.secret_tags(&arn).await, tags(&[("Debug", "on")]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_functions_own_role_is_its_own_call_and_a_session_named_like_it_in_another_role_is_judged() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", &[("Debug", "on")]).await;
    // The process runs as a session of the sample's function role, as Lambda runs it.
    let me = moto
        .as_role("arn:aws:iam::123456789012:role/tag-warden-role", "tag-warden")
        .await;
    let me: Vec<(&str, &str)> = me.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let own = event("ignored-own-call.json", &[("prod/payments/db", &arn)], &[]);
    moto.start_recording();
    let (out, report) = handle(&moto, &own, &me);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["results"][0]["outcome"], "ignored", "{report}");
    assert!(report["results"][0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("own role"));
    assert_eq!(
        moto.recorded(),
        [WHO_AM_I],
        "who it is, then nothing: no read, no write"
    );
    assert_eq!(moto.secret_tags(&arn).await, tags(&[("Debug", "on")]));

    // A session named like the function, issued by another role: judged.
    let mut v: serde_json::Value = serde_json::from_str(&own).unwrap();
    v["detail"]["userIdentity"]["arn"] = serde_json::json!("arn:aws:sts::123456789012:assumed-role/ci/tag-warden");
    v["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        serde_json::json!("arn:aws:iam::123456789012:role/ci");
    let (_, report) = handle(&moto, &v.to_string(), &me);
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    assert!(!moto.secret_tags(&arn).await.contains_key("Debug"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ignore_principals_variable_stops_the_call() {
    let moto = Moto::start();
    moto.create_secret("prod/payments/db", &[]).await;
    moto.start_recording();
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-tag-resource.json", &[], &[]),
        &[(
            "TAG_WARDEN_IGNORE_PRINCIPALS",
            "arn:aws:iam::*:role/terraform,arn:aws:iam::123456789012:user/*",
        )],
    );
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "ignored");
    assert!(moto.recorded().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn report_mode_reads_and_never_writes() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", &[("temp-debug", "true")]).await;
    let key = moto.create_key(&[("Debug", "on")]).await;
    moto.start_recording();
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-tag-resource.json", &[], &[]),
        &[("TAG_WARDEN_MODE", "report")],
    );
    assert!(judged(&out));
    assert_eq!(report["mode"], "report");
    assert_eq!(report["results"][0]["outcome"], "would-remediate");
    assert_eq!(report["results"][0]["plan"]["untag"], serde_json::json!(["temp-debug"]));
    let (out, _) = handle(
        &moto,
        &event("kms-tag-resource.json", &[], &[(SAMPLE_KEY_1, &key)]),
        &[("TAG_WARDEN_MODE", "report")],
    );
    assert!(judged(&out));
    let calls = moto.recorded();
    assert!(calls.iter().all(|c| !c.ends_with("TagResource")), "{calls:?}");
    assert_eq!(moto.secret_tags(&arn).await, tags(&[("temp-debug", "true")]));
    assert_eq!(moto.key_tags(&key).await, tags(&[("Debug", "on")]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_set_exemption_is_enforced_and_says_why() {
    let moto = Moto::start();
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &with(COMPLIANT_SECRET, &[("tag-warden:exempt", "true"), ("Debug", "on")]),
        )
        .await;
    moto.start_recording();
    let (out, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    assert!(report["results"][0]["reasons"]
        .to_string()
        .contains("exemption not verified"));
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "secretsmanager.UntagResource"
        ]
    );
    assert_eq!(
        moto.secret_tags(&arn).await,
        tags(&with(COMPLIANT_SECRET, &[("tag-warden:exempt", "true")]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forty_eight_tags_two_forbidden_two_required_missing_ends_compliant_untag_before_tag() {
    let moto = Moto::start();
    let mut initial: Vec<(String, String)> = (0..44).map(|i| (format!("team-{i:02}"), "x".to_owned())).collect();
    initial.extend(
        [
            ("DataClass", "internal"),
            ("Team", "core"),
            ("temp-a", "1"),
            ("temp-b", "2"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    initial.push(("aws:cloudformation:stack-name".to_owned(), "stack".to_owned()));
    let refs: Vec<(&str, &str)> = initial.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let arn = moto.create_secret("prod/payments/db", &refs).await;
    assert_eq!(
        moto.secret_tags(&arn)
            .await
            .keys()
            .filter(|k| !k.starts_with("aws:"))
            .count(),
        48
    );
    moto.start_recording();
    let (out, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert!(out.status.success());
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "secretsmanager.UntagResource",
            "secretsmanager.TagResource"
        ]
    );
    assert_eq!(report["results"][0]["outcome"], "remediated");
    let after = moto.secret_tags(&arn).await;
    assert_eq!(after.keys().filter(|k| !k.starts_with("aws:")).count(), 48);
    assert_eq!(after.get("Owner").map(String::as_str), Some("platform"));
    assert_eq!(after.get("CostCenter").map(String::as_str), Some("0000"));
    assert!(!after.contains_key("temp-a") && !after.contains_key("temp-b"));
    assert!(after.contains_key("aws:cloudformation:stack-name"));
    // A second event finds it compliant: one read, no write.
    moto.start_recording();
    let (_, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert_eq!(report["results"][0]["outcome"], "compliant");
    assert_eq!(moto.recorded(), [WHO_AM_I, "secretsmanager.DescribeSecret"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudtrail_log_file_gets_one_entry_per_record() {
    let moto = Moto::start();
    let arn = moto
        .create_secret("prod/payments/db", &with(COMPLIANT_SECRET, &[("tempOwner", "bob")]))
        .await;
    let key = moto.create_key(&without(COMPLIANT_KEY, "CostCenter")).await;
    let (out, report) = handle(
        &moto,
        &event("cloudtrail-log-file.json", &[], &[(SAMPLE_KEY_1, &key)]),
        &[],
    );
    assert!(out.status.success());
    let outcomes = outcomes(&report);
    assert_eq!(outcomes, ["remediated", "remediated", "ignored"]);
    assert_eq!(moto.secret_tags(&arn).await, tags(COMPLIANT_SECRET));
    assert_eq!(
        moto.key_tags(&key).await,
        tags(&with(COMPLIANT_KEY, &[("CostCenter", "0000")]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_secrets_and_keys_pending_deletion_are_skipped_without_writes() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", &[("Debug", "on")]).await;
    moto.secrets()
        .delete_secret()
        .secret_id(&arn)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let key = moto.create_key(&[("Debug", "on")]).await;
    moto.kms()
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    moto.start_recording();
    let (out, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "skipped");
    assert!(report["results"][0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("scheduled for deletion"));
    let (out, report) = handle(
        &moto,
        &event("kms-untag-resource.json", &[], &[(SAMPLE_KEY_1, &key)]),
        &[],
    );
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "skipped");
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            WHO_AM_I,
            "kms.ListResourceTags",
            "kms.DescribeKey"
        ],
        "one GetCallerIdentity a process"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_that_no_longer_exists_is_skipped() {
    let moto = Moto::start();
    let (out, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "skipped");
    assert!(report["results"][0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("no longer exists"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_supported_event_missing_its_resource_fails_with_no_aws_call() {
    let moto = Moto::start();
    let mut v: serde_json::Value = serde_json::from_str(&event("secretsmanager-tag-resource.json", &[], &[])).unwrap();
    v["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("secretId");
    moto.start_recording();
    let (out, report) = handle(&moto, &v.to_string(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("requestParameters.secretId"));
    assert_eq!(report["results"][0]["outcome"], "error");
    assert!(moto.recorded().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn input_that_is_not_an_event_fails_and_an_invalid_policy_fails_start_up() {
    let moto = Moto::start();
    let (out, _) = handle(&moto, "this is not json", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
    let (out, _) = handle(&moto, r#"{"hello":"world"}"#, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an event"));
    let (out, _) = handle(
        &moto,
        "{}",
        &[("TAG_WARDEN_POLICY", r#"{"rules":[{"name":"r"}],"x":1}"#)],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 problems") && stderr.contains("/rules/0") && stderr.contains("/x"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_fails_the_invocation_after_retries() {
    let moto = Moto::start();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-tag-resource.json", &[], &[]),
        &[("AWS_ENDPOINT_URL", &dead)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["results"][0]["outcome"], "error");
    assert_eq!(report["results"][0]["error_type"], "Transient");
}

/// Whether the rule pattern in `file` (placeholders filled for the function's role) takes the
/// CloudTrail record `detail`: a rule with that pattern on a bus of its own delivers to a queue
/// (moto's EventBridge matching), and the event is put on the bus.
async fn rule_takes(moto: &Moto, file: &str, detail: &serde_json::Value) -> bool {
    let name = file.replace(['/', '.'], "-");
    let pattern = std::fs::read_to_string(root().join(file))
        .unwrap()
        .replace("PARTITION", "aws")
        .replace("ACCOUNT_ID", "123456789012")
        .replace("ROLE_NAME", "tag-warden-role");
    let events = moto.events();
    let url = match events.describe_event_bus().name(&name).send().await {
        Ok(_) => moto
            .sqs()
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap(),
        Err(_) => {
            events.create_event_bus().name(&name).send().await.unwrap();
            let url = moto
                .sqs()
                .create_queue()
                .queue_name(&name)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap();
            events
                .put_rule()
                .name(&name)
                .event_bus_name(&name)
                .event_pattern(pattern)
                .send()
                .await
                .unwrap();
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(format!("arn:aws:sqs:us-east-1:123456789012:{name}"))
                .build()
                .unwrap();
            events
                .put_targets()
                .rule(&name)
                .event_bus_name(&name)
                .targets(target)
                .send()
                .await
                .unwrap();
            url
        }
    };
    let source = match detail["eventSource"].as_str() {
        Some("kms.amazonaws.com") => "aws.kms",
        _ => "aws.secretsmanager",
    };
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(&name)
        .source(source)
        .detail_type("AWS API Call via CloudTrail")
        .detail(detail.to_string())
        .build();
    events.put_events().entries(entry).send().await.unwrap();
    !moto.drain(&url).await.is_empty()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rules_drop_the_functions_own_role_by_its_arn_and_take_everyone_else_and_every_creation() {
    let moto = Moto::start();
    let sample = |file: &str| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(root().join("events").join(file)).unwrap())
            .unwrap()["detail"]
            .clone()
    };
    let sm = "deploy/secretsmanager-rule.json";
    let own = sample("ignored-own-call.json");
    assert!(!rule_takes(&moto, sm, &own).await, "the function's own role: dropped");
    let mut renamed = own.clone();
    renamed["userIdentity"]["arn"] = serde_json::json!("arn:aws:sts::123456789012:assumed-role/tag-warden-role/other");
    assert!(!rule_takes(&moto, sm, &renamed).await, "whatever the session is named");
    let mut other_role = own.clone();
    other_role["userIdentity"]["arn"] = serde_json::json!("arn:aws:sts::123456789012:assumed-role/ci/tag-warden");
    other_role["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        serde_json::json!("arn:aws:iam::123456789012:role/ci");
    assert!(
        rule_takes(&moto, sm, &other_role).await,
        "named like the function, another role"
    );
    let mut created = own.clone();
    created["eventName"] = serde_json::json!("CreateSecret");
    assert!(
        rule_takes(&moto, sm, &created).await,
        "a creation, even by the function's role"
    );
    // An IAM user, with and without an empty sessionIssuer (console records have `{}`).
    assert!(rule_takes(&moto, sm, &sample("secretsmanager-tag-resource.json")).await);
    let mut user = sample("secretsmanager-tag-resource.json");
    user["userIdentity"].as_object_mut().unwrap().remove("sessionContext");
    assert!(rule_takes(&moto, sm, &user).await);
    assert!(
        rule_takes(&moto, sm, &sample("secretsmanager-untag-resource.json")).await,
        "an SSO role"
    );
    let mut failed = sample("secretsmanager-untag-resource.json");
    failed["errorCode"] = serde_json::json!("AccessDeniedException");
    assert!(!rule_takes(&moto, sm, &failed).await, "a failed call");
    let kms = "deploy/kms-rule.json";
    assert!(rule_takes(&moto, kms, &sample("kms-create-key.json")).await);
    let mut own_key = sample("kms-untag-resource.json");
    own_key["userIdentity"] = own["userIdentity"].clone();
    assert!(!rule_takes(&moto, kms, &own_key).await);
}
