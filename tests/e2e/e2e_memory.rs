//! End to end: remembered tag values in moto server's DynamoDB, with the real binary. A removed
//! value comes back as it was; locked keys hold; an older read answered late never overwrites
//! a newer one; unavailable memory falls back to defaults; sweeps seed memory; trusted
//! principals' changes are remembered; `aws.tag` events are handled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::*;
use std::time::Duration;

const TABLE: &str = "tag-warden-memory";

/// Owner from a short list with a default; CreatedBy locked; CostCenter by pattern.
const POLICY: &str = r#"{"rules":[{"name":"owners","require":{
    "Owner":{"default":"platform","values":["platform","payments","search"]},
    "CostCenter":{"pattern":"^[0-9]{4}$","default":"0000"},
    "CreatedBy":{"lock":true}
}, "forbid":["temp*"]}]}"#;

fn env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("TAG_WARDEN_POLICY", POLICY), ("TAG_WARDEN_MEMORY_TABLE", TABLE)];
    v.extend_from_slice(extra);
    v
}

async fn moto_with_table() -> Moto {
    let moto = Moto::start();
    moto.create_memory_table(TABLE).await;
    moto
}

async fn untag(moto: &Moto, arn: &str, key: &str) {
    moto.secrets()
        .untag_resource()
        .secret_id(arn)
        .tag_keys(key)
        .send()
        .await
        .unwrap();
}

fn memory_show(moto: &Moto, arn: &str) -> serde_json::Value {
    let (out, v) = run_cli(
        moto,
        &["memory", "show", arn, "--json"],
        &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    v["values"].clone()
}

const TAG_EVENT: &str = "secretsmanager-tag-resource.json";
const UNTAG_EVENT: &str = "secretsmanager-untag-resource.json";

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_owner_comes_back_as_payments_not_the_default() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("Owner", "payments"), ("CostCenter", "4100"), ("CreatedBy", "alice")],
        )
        .await;
    // A compliant resource seen for the first time: one read, one memory read, one write.
    moto.start_recording();
    let (out, report) = handle(&moto, &event(TAG_EVENT, &[], &[]), &env(&[]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["results"][0]["outcome"], "compliant");
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "dynamodb.GetItem",
            "dynamodb.UpdateItem"
        ]
    );
    assert_eq!(report["results"][0]["remembered"]["CostCenter"], "4100");
    // Seen again unchanged: one memory read more than without memory, no write.
    moto.start_recording();
    handle(&moto, &event(TAG_EVENT, &[], &[]), &env(&[]));
    assert_eq!(
        moto.recorded(),
        [WHO_AM_I, "secretsmanager.DescribeSecret", "dynamodb.GetItem"]
    );

    untag(&moto, &arn, "Owner").await;
    untag(&moto, &arn, "CostCenter").await;
    moto.start_recording();
    let (out, report) = handle(&moto, &event(UNTAG_EVENT, &[], &[]), &env(&[]));
    assert!(out.status.success());
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "dynamodb.GetItem",
            "secretsmanager.TagResource",
            "dynamodb.GetItem",
            "dynamodb.UpdateItem",
            "dynamodb.UpdateItem"
        ],
        "a restore writes no value anew: the history is read once (is the change contested? \
         and the places after the last step), appended to, then the observation written"
    );
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "remediated");
    assert_eq!(
        entry["tags_added"],
        serde_json::json!({"CostCenter": "4100", "Owner": "payments"})
    );
    assert!(entry["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["from"] == "remembered"));
    let now = moto.secret_tags(&arn).await;
    assert_eq!(now["Owner"], "payments");
    assert_eq!(now["CostCenter"], "4100");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_created_by_changed_is_put_back_and_removed_is_restored() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("Owner", "payments"), ("CostCenter", "4100"), ("CreatedBy", "alice")],
        )
        .await;
    handle(&moto, &event(TAG_EVENT, &[], &[]), &env(&[]));
    assert_eq!(memory_show(&moto, &arn)["CreatedBy"], "alice");

    moto.tag_secret(&arn, "CreatedBy", "mallory").await;
    let (_, report) = handle(&moto, &event(TAG_EVENT, &[], &[]), &env(&[]));
    assert_eq!(report["results"][0]["outcome"], "remediated");
    assert_eq!(moto.secret_tags(&arn).await["CreatedBy"], "alice");
    assert_eq!(
        memory_show(&moto, &arn)["CreatedBy"],
        "alice",
        "the lock holds in memory too"
    );

    untag(&moto, &arn, "CreatedBy").await;
    handle(&moto, &event(UNTAG_EVENT, &[], &[]), &env(&[]));
    assert_eq!(moto.secret_tags(&arn).await["CreatedBy"], "alice");

    // An administrator changes a locked value with `memory set`.
    let (out, _) = run_cli(
        &moto,
        &["memory", "set", &arn, "CreatedBy=bob"],
        &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    handle(&moto, &event(TAG_EVENT, &[], &[]), &env(&[]));
    assert_eq!(moto.secret_tags(&arn).await["CreatedBy"], "bob");
}

#[test]
fn an_older_read_answered_last_does_not_overwrite_the_newer_memory() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(moto_with_table());
    let arn = rt.block_on(moto.create_secret("prod/payments/db", &[("Owner", "payments"), ("CostCenter", "4100")]));
    let proxy = FaultProxy::start(moto.port);
    proxy.inject("secretsmanager.DescribeSecret", Fault::Late(Duration::from_secs(3)), 1);
    let endpoint = proxy.endpoint();
    let older_event = event(TAG_EVENT, &[], &[]);
    let (out, report) = std::thread::scope(|s| {
        let older = s.spawn(|| {
            let mut e = env(&[]);
            e.push(("AWS_ENDPOINT_URL", endpoint.as_str()));
            handle(&moto, &older_event, &e)
        });
        // The older invocation's read has reached moto (Owner=payments) and waits in the
        // proxy; Owner changes, and a newer invocation reads and remembers it.
        std::thread::sleep(Duration::from_millis(1000));
        rt.block_on(moto.tag_secret(&arn, "Owner", "search"));
        let (_, newer) = handle(&moto, &event(TAG_EVENT, &[], &[]), &env(&[]));
        assert_eq!(newer["results"][0]["remembered"]["Owner"], "search", "{newer}");
        older.join().unwrap()
    });
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.calls("secretsmanager.DescribeSecret"), 1);
    assert_eq!(
        proxy.calls("dynamodb.UpdateItem"),
        2,
        "the older read appended its step (each step happened) and tried to write its values: {report}"
    );
    assert!(
        report["results"][0].get("remembered").is_none(),
        "the older read's write lost to the newer observation: {report}"
    );
    assert_eq!(
        memory_show(&moto, &arn)["Owner"],
        "search",
        "memory keeps the newer value"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_value_the_policy_no_longer_allows_gives_way_to_the_default() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret("prod/payments/db", &[("CostCenter", "4100"), ("CreatedBy", "alice")])
        .await;
    let (out, _) = run_cli(
        &moto,
        &["memory", "set", &arn, "Owner=marketing"],
        &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
    );
    assert!(out.status.success());
    let (_, report) = handle(&moto, &event(UNTAG_EVENT, &[], &[]), &env(&[]));
    assert_eq!(report["results"][0]["tags_added"]["Owner"], "platform");
    assert_eq!(moto.secret_tags(&arn).await["Owner"], "platform");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_table_or_denied_memory_falls_back_to_the_default_and_says_why() {
    let moto = Moto::start();
    let arn = moto
        .create_secret("prod/payments/db", &[("CostCenter", "4100"), ("CreatedBy", "alice")])
        .await;
    let (out, report) = handle(
        &moto,
        &event(UNTAG_EVENT, &[], &[]),
        &[
            ("TAG_WARDEN_POLICY", POLICY),
            ("TAG_WARDEN_MEMORY_TABLE", "no-such-table"),
        ],
    );
    assert!(out.status.success(), "memory never fails an invocation");
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "remediated");
    assert_eq!(entry["tags_added"]["Owner"], "platform");
    let reasons = entry["reasons"].to_string();
    assert!(
        reasons.contains("memory unavailable") && reasons.contains("ResourceNotFoundException"),
        "{reasons}"
    );

    moto.create_memory_table(TABLE).await;
    untag(&moto, &arn, "Owner").await;
    let proxy = FaultProxy::start(moto.port);
    proxy.always("dynamodb.GetItem", Fault::AccessDenied);
    let endpoint = proxy.endpoint();
    let (out, report) = handle(
        &moto,
        &event(UNTAG_EVENT, &[], &[]),
        &env(&[("AWS_ENDPOINT_URL", endpoint.as_str())]),
    );
    assert!(out.status.success());
    let entry = &report["results"][0];
    assert_eq!(entry["tags_added"]["Owner"], "platform");
    assert!(entry["reasons"].to_string().contains("AccessDenied"), "{entry}");
    assert_eq!(proxy.calls("dynamodb.UpdateItem"), 0, "nothing remembered from a guess");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_mode_sweep_seeds_memory_and_a_second_sweep_writes_nothing_to_it() {
    let moto = moto_with_table().await;
    let mut arns = Vec::new();
    for i in 0..12 {
        let owner = if i % 3 == 0 { "nobody" } else { "payments" };
        arns.push(
            moto.create_secret(&format!("app/s{i:02}"), &[("Owner", owner), ("CostCenter", "4100")])
                .await,
        );
    }
    moto.start_recording();
    let (out, report) = run_cli(&moto, &["reconcile", "--dry-run", "--json"], &env(&[]));
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    let calls = moto.recorded();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(count("dynamodb.Scan"), 1, "memory read once for the region");
    assert_eq!(
        count("dynamodb.UpdateItem"),
        12 + 1,
        "every secret has a valid CostCenter to remember; and the sweep keeps its summary"
    );
    assert_eq!(count("dynamodb.GetItem"), 0);
    assert_eq!(report["sweep"]["memory"]["remembered"], 12);
    assert_eq!(count("secretsmanager.TagResource"), 0, "a dry run writes no tag");
    assert_eq!(memory_show(&moto, &arns[1])["Owner"], "payments");
    assert!(
        memory_show(&moto, &arns[0]).get("Owner").is_none(),
        "an invalid value is not remembered"
    );

    moto.start_recording();
    let (_, report) = run_cli(&moto, &["reconcile", "--dry-run", "--json"], &env(&[]));
    let calls = moto.recorded();
    assert_eq!(
        calls.iter().filter(|c| *c == "dynamodb.UpdateItem").count(),
        1,
        "nothing remembered again, only the sweep's summary kept: {calls:?}"
    );
    assert_eq!(report["sweep"]["memory"]["remembered"], 0);

    // A secret deleted since: its memory is set to expire, not deleted.
    moto.delete_secret_now(&arns[5]).await;
    let (_, report) = run_cli(&moto, &["reconcile", "--dry-run", "--json"], &env(&[]));
    assert_eq!(report["sweep"]["memory"]["expired"], 1);
    let (out, v) = run_cli(
        &moto,
        &["memory", "show", &arns[5], "--json"],
        &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
    );
    assert!(out.status.success());
    assert_eq!(v["expiring"], true);
    assert_eq!(v["values"]["Owner"], "payments");
}

/// `sample`'s record turned into a TagResource of the secret `arn` that sets `tags`.
fn tagging(sample: &str, arn: &str, tags: &[(&str, &str)]) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&event(sample, &[], &[])).unwrap();
    v["detail"]["eventName"] = serde_json::json!("TagResource");
    v["detail"]["requestParameters"] = serde_json::json!({
        "secretId": arn,
        "tags": tags.iter().map(|(k, v)| serde_json::json!({"key": k, "value": v})).collect::<Vec<_>>(),
    });
    v.to_string()
}

/// A TagResource by the SSO admin role (the trusted principal below).
fn trusted_tag(arn: &str, tags: &[(&str, &str)]) -> String {
    tagging(UNTAG_EVENT, arn, tags)
}

/// A TagResource by Alice (an IAM user, not trusted).
fn alice_tag(arn: &str, tags: &[(&str, &str)]) -> String {
    tagging("secretsmanager-tag-resource.json", arn, tags)
}

const TRUSTED: (&str, &str) = (
    "TAG_WARDEN_IGNORE_PRINCIPALS",
    "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*",
);

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_principals_change_is_remembered_as_it_set_it_with_one_read_of_each() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("Owner", "search"), ("CreatedBy", "terraform"), ("temp-x", "1")],
        )
        .await;
    moto.start_recording();
    let (out, report) = handle(&moto, &trusted_tag(&arn, &[("Owner", "search")]), &env(&[TRUSTED]));
    assert!(out.status.success());
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "dynamodb.GetItem",
            "dynamodb.GetItem",
            "dynamodb.UpdateItem",
            "dynamodb.UpdateItem"
        ],
        "its memory, then the history appended (read, write), then the values"
    );
    assert_eq!(report["results"][0]["outcome"], "ignored");
    assert_eq!(moto.secret_tags(&arn).await["temp-x"], "1", "not enforced");
    assert_eq!(memory_show(&moto, &arn)["Owner"], "search");
    assert!(
        memory_show(&moto, &arn).get("CreatedBy").is_none(),
        "not set by the call"
    );

    // A later removal by someone else restores what the trusted principal set.
    untag(&moto, &arn, "Owner").await;
    handle(&moto, &event(UNTAG_EVENT, &[], &[]), &env(&[]));
    assert_eq!(moto.secret_tags(&arn).await["Owner"], "search");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_callers_change_to_a_locked_key_is_not_laundered_by_a_trusted_call_after_it() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("Owner", "search"), ("CreatedBy", "alice"), ("CostCenter", "4100")],
        )
        .await;
    handle(&moto, &trusted_tag(&arn, &[("CreatedBy", "alice")]), &env(&[TRUSTED]));
    assert_eq!(memory_show(&moto, &arn)["CreatedBy"], "alice");
    // Alice's change to the locked key, then a trusted call on another key, then Alice's event.
    moto.tag_secret(&arn, "CreatedBy", "mallory").await;
    let (_, report) = handle(&moto, &trusted_tag(&arn, &[("CostCenter", "4100")]), &env(&[TRUSTED]));
    assert_eq!(report["results"][0]["outcome"], "ignored");
    assert_eq!(memory_show(&moto, &arn)["CreatedBy"], "alice", "not laundered");
    let (_, report) = handle(&moto, &alice_tag(&arn, &[("CreatedBy", "mallory")]), &env(&[]));
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    assert_eq!(moto.secret_tags(&arn).await["CreatedBy"], "alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exemption_a_trusted_principal_set_is_honoured_and_one_anyone_set_is_not() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("Owner", "search"), ("tag-warden:exempt", "true"), ("temp-x", "1")],
        )
        .await;
    let (_, report) = handle(&moto, &alice_tag(&arn, &[("tag-warden:exempt", "true")]), &env(&[]));
    assert_eq!(
        report["results"][0]["outcome"], "violation",
        "enforced, CreatedBy has no default: {report}"
    );
    assert!(report["results"][0]["reasons"]
        .to_string()
        .contains("exemption not verified"));
    assert!(!moto.secret_tags(&arn).await.contains_key("temp-x"));
    handle(
        &moto,
        &trusted_tag(&arn, &[("tag-warden:exempt", "true")]),
        &env(&[TRUSTED]),
    );
    moto.tag_secret(&arn, "temp-x", "1").await;
    let (_, report) = handle(&moto, &alice_tag(&arn, &[("temp-x", "1")]), &env(&[]));
    assert_eq!(report["results"][0]["outcome"], "exempt", "{report}");
    assert_eq!(moto.secret_tags(&arn).await["temp-x"], "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_of_the_own_account_leaves_another_accounts_memory_alone() {
    let moto = moto_with_table().await;
    // Memory of a member account's secret in the same region, which this sweep does not list.
    let other = "arn:aws:secretsmanager:us-east-1:222222222222:secret:prod/db-AbCdEf";
    let (out, _) = run_cli(
        &moto,
        &["memory", "set", other, "Owner=payments", "CreatedBy=alice"],
        &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let gone = moto.create_secret("prod/gone", &[("Owner", "search")]).await;
    run_cli(&moto, &["reconcile", "--dry-run", "--json"], &env(&[]));
    moto.delete_secret_now(&gone).await;
    let (_, report) = run_cli(&moto, &["reconcile", "--dry-run", "--json"], &env(&[]));
    assert_eq!(report["sweep"]["memory"]["expired"], 1, "{report}");
    let show = |arn: &str| {
        let (_, v) = run_cli(
            &moto,
            &["memory", "show", arn, "--json"],
            &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
        );
        v
    };
    assert_eq!(show(&gone)["expiring"], true);
    assert_eq!(
        show(other)["expiring"],
        false,
        "another account's memory is not aged out"
    );
    assert_eq!(show(other)["values"]["CreatedBy"], "alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_change_events_are_handled_like_cloudtrail_events() {
    let moto = moto_with_table().await;
    let (secrets, keys) = seed_samples(&moto).await;
    for file in [
        "tag-change-secret.json",
        "tag-change-kms-key.json",
        "ignored-tag-change-other-service.json",
    ] {
        let (out, report) = handle(
            &moto,
            &event(
                file,
                &secrets.iter().map(|(n, a)| (*n, a.as_str())).collect::<Vec<_>>(),
                &keys.iter().map(|(s, k)| (*s, k.as_str())).collect::<Vec<_>>(),
            ),
            &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
        );
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let expected = if file.starts_with("ignored") {
            "ignored"
        } else {
            "remediated"
        };
        assert_eq!(report["results"][0]["outcome"], expected, "{file}: {report}");
    }
    assert_eq!(
        sample_tags(&moto, &secrets, &keys).await[0].1,
        expected_after("tag-change-secret.json")[0].1
    );
    assert_eq!(
        sample_tags(&moto, &secrets, &keys).await[3].1,
        expected_after("tag-change-kms-key.json")[3].1
    );
}

/// A role's TagResource of `arn` setting `temp-x`, at `time`.
fn temp_by(arn: &str, role: &str, time: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&trusted_tag(arn, &[("temp-x", "1")])).unwrap();
    v["detail"]["eventTime"] = serde_json::json!(time);
    v["detail"]["userIdentity"]["arn"] =
        serde_json::json!(format!("arn:aws:sts::123456789012:assumed-role/{role}/apply"));
    v["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        serde_json::json!(format!("arn:aws:iam::123456789012:role/{role}"));
    v.to_string()
}

fn now_text() -> String {
    tag_warden::domain::utc_time(tag_warden::run::resource::now_ms())
}

#[tokio::test(flavor = "multi_thread")]
async fn three_undos_of_one_roles_change_are_contested_naming_it_and_three_roles_are_not() {
    let moto = moto_with_table().await;
    for (roles, contested) in [(["terraform"; 3], true), (["a", "b", "c"], false)] {
        let arn = moto
            .create_secret(
                &format!("prod/{}", roles[1]),
                &[("Owner", "search"), ("CostCenter", "4100"), ("CreatedBy", "x")],
            )
            .await;
        let mut last = (serde_json::Value::Null, Vec::new());
        for role in roles {
            moto.tag_secret(&arn, "temp-x", "1").await;
            let (out, report, emf) = handle_emf(&moto, &temp_by(&arn, role, &now_text()), &env(&[]));
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(
                report["results"][0]["outcome"], "remediated",
                "tag-warden still enforces"
            );
            last = (report, emf);
        }
        let (report, emf) = last;
        let entry = &report["results"][0];
        assert_eq!(entry["contested"] == true, contested, "{roles:?}: {entry}");
        assert_eq!(
            emf_spec::value(&emf, "TagWarden", &[], "Contested"),
            Some(if contested { 1.0 } else { 0.0 })
        );
        if contested {
            assert_eq!(entry["contested_by"], "arn:aws:iam::123456789012:role/terraform");
            assert_eq!(entry["contested_count"], 3);
            let (_, story) = run_cli(
                &moto,
                &["history", &arn, "--json"],
                &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
            );
            let last = story["history"].as_array().unwrap().last().unwrap().clone();
            assert!(
                last["action"]
                    .as_str()
                    .unwrap()
                    .contains("contested by arn:aws:iam::123456789012:role/terraform"),
                "{last}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_seven_seconds_old_reports_a_latency_near_seven_seconds_in_the_entry_and_the_metric() {
    let moto = moto_with_table().await;
    let arn = moto.create_secret("prod/payments/db", &[("Owner", "search")]).await;
    let then = tag_warden::domain::utc_time(tag_warden::run::resource::now_ms() - 7_000);
    let (out, report, emf) = handle_emf(&moto, &temp_by(&arn, "ci", &then), &env(&[]));
    assert!(judged(&out));
    let latency = report["results"][0]["latency_ms"].as_u64().unwrap();
    assert!((7_000..9_000).contains(&latency), "{latency}");
    let doc = emf
        .iter()
        .find(|d| d.get("EventLatency").is_some())
        .expect("an EventLatency document");
    assert_eq!(doc["EventLatency"], serde_json::json!([latency]));
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Milliseconds"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invocations_side_by_side_on_one_resource_keep_every_history_step() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("Owner", "search"), ("CostCenter", "4100"), ("CreatedBy", "x")],
        )
        .await;
    // Eight callers each add a scratch tag; eight invocations at once each remove theirs.
    let mut events = Vec::new();
    for i in 0..8 {
        let key = format!("temp-{i}");
        moto.tag_secret(&arn, &key, "1").await;
        let mut v: serde_json::Value = serde_json::from_str(&temp_by(&arn, &format!("r{i}"), &now_text())).unwrap();
        v["detail"]["requestParameters"]["tags"] = serde_json::json!([{"key": key, "value": "1"}]);
        events.push(v.to_string());
    }
    std::thread::scope(|s| {
        for e in &events {
            let moto = &moto;
            s.spawn(move || {
                let (out, _) = handle(moto, e, &env(&[]));
                assert!(out.status.success());
            });
        }
    });
    let (_, story) = run_cli(
        &moto,
        &["history", &arn, "--json"],
        &[("TAG_WARDEN_MEMORY_TABLE", TABLE)],
    );
    let steps = story["history"].as_array().unwrap();
    let removed: std::collections::BTreeSet<String> = steps
        .iter()
        .filter(|s| s["who"] == "tag-warden")
        .flat_map(|s| {
            s["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_owned())
        })
        .collect();
    let expected: std::collections::BTreeSet<String> = (0..8).map(|i| format!("temp-{i}")).collect();
    assert!(expected.is_subset(&removed), "every step kept: {removed:?}");
    let seqs: Vec<u64> = steps.iter().map(|s| s["seq"].as_u64().unwrap()).collect();
    let unique: std::collections::BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len(), "no step overwrote another: {seqs:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn handle_dry_run_reads_tags_and_memory_and_writes_neither() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("Owner", "payments"), ("CostCenter", "4100"), ("CreatedBy", "alice")],
        )
        .await;
    handle(&moto, &event(TAG_EVENT, &[], &[]), &env(&[]));
    untag(&moto, &arn, "Owner").await;
    // The bundled policies enforce: a new user's first `handle` must change nothing.
    moto.start_recording();
    let out = run_handle(
        &moto,
        &["handle", "--dry-run", "-"],
        &event(UNTAG_EVENT, &[], &[]),
        &env(&[]),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "a write not made: not compliant");
    let calls = moto.recorded();
    assert_eq!(
        calls,
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "dynamodb.GetItem",
            "dynamodb.GetItem"
        ],
        "reads only: the tags, memory, the history (to tell a contested change)"
    );
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "would-remediate");
    assert_eq!(
        entry["plan"]["tag"]["Owner"], "payments",
        "remembered, as the real run would restore"
    );
    assert!(!moto.secret_tags(&arn).await.contains_key("Owner"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_pinned_by_a_far_future_observation_is_overwritten_as_if_observed_now() {
    let moto = moto_with_table().await;
    let arn = moto
        .create_secret("prod/payments/db", &[("Owner", "payments"), ("CostCenter", "4100")])
        .await;
    let (out, _) = run_cli(&moto, &["memory", "set", &arn, "CreatedBy=alice"], &env(&[]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Someone with dynamodb:UpdateItem pins the record a hundred years ahead.
    moto.dynamodb()
        .update_item()
        .table_name(TABLE)
        .key("arn", aws_sdk_dynamodb::types::AttributeValue::S(arn.clone()))
        .update_expression("SET observed = :far, #v = :who")
        .expression_attribute_names("#v", "tag:CreatedBy")
        .expression_attribute_values(
            ":far",
            aws_sdk_dynamodb::types::AttributeValue::N("4102444800000".into()),
        )
        .expression_attribute_values(":who", aws_sdk_dynamodb::types::AttributeValue::S("mallory".into()))
        .send()
        .await
        .unwrap();
    // Before: "memory holds an observation newer than this machine's clock; nothing written".
    let (out, _) = run_cli(&moto, &["memory", "set", &arn, "CreatedBy=alice"], &env(&[]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(memory_show(&moto, &arn)["CreatedBy"], "alice");
}

/// Scope escape, both ways: a secret leaves the `prod` rule by changing the tag the rule
/// matches; a KMS key leaves the `team` rule by losing the alias the rule matches. Once they
/// have matched, memory keeps what they matched by: the tag is put back and the alias's rule
/// still applies.
#[tokio::test(flavor = "multi_thread")]
async fn a_resource_cannot_leave_a_rule_by_its_scope_tag_or_a_key_by_losing_its_alias() {
    let policy = r#"{"version":2,"rules":[
        {"name":"prod","resources":["secret"],"match":{"tags":{"Environment":["prod"]}},
         "require":{"DataClass":{"values":["confidential","restricted"],"default":"confidential"}}},
        {"name":"team","resources":["kms-key"],"match":{"names":["team-*/*"]},
         "require":{"Team":{"default":"{name[0]}"}}}]}"#;
    let env = [("TAG_WARDEN_POLICY", policy), ("TAG_WARDEN_MEMORY_TABLE", TABLE)];
    let moto = moto_with_table().await;
    let secret = moto
        .create_secret("orders/db", &[("Environment", "prod"), ("DataClass", "restricted")])
        .await;
    let key = moto.create_key(&[("Team", "team-a")]).await;
    moto.kms()
        .create_alias()
        .alias_name("alias/team-a/data")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    // The first sweep finds both compliant, and remembers what they match by.
    let (out, _) = run_cli(&moto, &["reconcile", "--json"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The escapes: Environment changed (DataClass then dropped), the alias deleted (Team dropped).
    moto.secrets()
        .tag_resource()
        .secret_id(&secret)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("Environment")
                .value("dev")
                .build(),
        )
        .send()
        .await
        .unwrap();
    untag(&moto, &secret, "DataClass").await;
    moto.kms()
        .delete_alias()
        .alias_name("alias/team-a/data")
        .send()
        .await
        .unwrap();
    moto.kms()
        .untag_resource()
        .key_id(&key)
        .tag_keys("Team")
        .send()
        .await
        .unwrap();
    let (out, report) = run_cli(&moto, &["reconcile", "--json"], &env);
    assert!(
        out.status.success(),
        "{}\n{report}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tags = moto.secret_tags(&secret).await;
    assert_eq!(tags.get("Environment").map(String::as_str), Some("prod"), "{report}");
    assert_eq!(
        tags.get("DataClass").map(String::as_str),
        Some("restricted"),
        "the remembered value"
    );
    let key_tags = moto.key_tags(&key).await;
    assert_eq!(key_tags.get("Team").map(String::as_str), Some("team-a"), "{report}");
}
