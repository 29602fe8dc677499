//! Multi-Region secrets and replica keys against moto, which models them as AWS documents them:
//! a replica secret carries `PrimaryRegion`, its ARN differs from the primary's only in Region,
//! and TagResource on it fails ("Operation not permitted on a replica secret"). A replica is
//! never written; it is judged through its primary, which is governed in its own Region.

use crate::common::*;

const PRIMARY: &str = "us-east-1";
const REPLICA: &str = "eu-west-1";

/// A secret in us-east-1, replicated to eu-west-1, missing the example policy's required tags
/// and carrying a forbidden one: (primary ARN, replica ARN).
async fn replicated(moto: &Moto) -> (String, String) {
    let out = moto
        .secrets()
        .create_secret()
        .name("prod/replicated")
        .secret_string("not-a-real-secret")
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("Debug")
                .value("on")
                .build(),
        )
        .add_replica_regions(
            aws_sdk_secretsmanager::types::ReplicaRegionType::builder()
                .region(REPLICA)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let primary = out.arn().unwrap().to_owned();
    let replica = primary.replace(PRIMARY, REPLICA);
    // What AWS does (and moto models): the replica names its primary, and refuses tags.
    let described = moto
        .secrets_in(REPLICA)
        .describe_secret()
        .secret_id(&replica)
        .send()
        .await
        .unwrap();
    assert_eq!(described.primary_region(), Some(PRIMARY));
    let refused = moto
        .secrets_in(REPLICA)
        .tag_resource()
        .secret_id(&replica)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("Owner")
                .value("x")
                .build(),
        )
        .send()
        .await;
    assert!(refused.is_err(), "AWS refuses tags on a replica");
    (primary, replica)
}

fn entry<'a>(report: &'a serde_json::Value, arn: &str) -> &'a serde_json::Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["arn"] == arn)
        .unwrap_or_else(|| panic!("no entry for {arn}: {report:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_of_the_replica_region_alone_writes_nothing_fails_nothing_and_says_where_the_fix_belongs() {
    let moto = Moto::start();
    let (primary, replica) = replicated(&moto).await;
    moto.start_recording();
    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REPLICA], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Before: the replica's write failed, and every sweep of the Region exited 1 (Incomplete).
    assert_ne!(out.status.code(), Some(1), "{stderr}\n{report:#}");
    assert!(
        moto.recorded().iter().all(|c| !c.ends_with("TagResource")),
        "a replica is never written"
    );
    assert_eq!(report["summary"]["replica"], 1, "{report:#}");
    assert!(report["summary"].get("error").is_none(), "{report:#}");
    let e = entry(&report, &replica);
    assert_eq!(e["outcome"], "replica");
    assert_eq!(e["replica_of"]["primary_arn"], primary.as_str());
    assert_eq!(e["replica_of"]["primary_region"], PRIMARY);
    let reasons = e["reasons"].to_string();
    assert!(
        reasons.contains(&format!("replica of {primary}: tags follow the primary in {PRIMARY}")),
        "{reasons}"
    );
    assert!(reasons.contains("the fix belongs to the primary"), "{reasons}");
    assert!(
        moto.secret_tags(&primary).await.contains_key("Debug"),
        "nothing fixed from here"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_of_both_regions_fixes_the_primary_and_the_replica_follows() {
    let moto = Moto::start();
    let (primary, replica) = replicated(&moto).await;
    let (out, report) = run_cli(
        &moto,
        &["reconcile", "--json", "--region", PRIMARY, "--region", REPLICA],
        &[],
    );
    assert!(
        out.status.success(),
        "{}\n{report:#}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["summary"]["remediated"], 1, "{report:#}");
    assert_eq!(report["summary"]["replica"], 1, "{report:#}");
    let tags = moto.secret_tags(&primary).await;
    assert_eq!(tags.get("Owner").map(String::as_str), Some("platform"));
    assert!(!tags.contains_key("Debug"));
    // Tags follow the primary: moto copies them as AWS does.
    let replica_tags = secret_tags_with(&moto.secrets_in(REPLICA), &replica).await;
    assert_eq!(replica_tags, tags);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_naming_a_replica_judges_and_fixes_the_primary_in_its_region() {
    let moto = Moto::start();
    let (primary, replica) = replicated(&moto).await;
    // A Tag Change on Resource event of the replica, in the replica's Region.
    let event = std::fs::read_to_string(root().join("events/tag-change-secret.json"))
        .unwrap()
        .replace(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q",
            &replica,
        )
        .replace("\"region\": \"us-east-1\"", &format!("\"region\": \"{REPLICA}\""));
    moto.start_recording();
    let (out, report) = handle(&moto, &event, &[]);
    assert!(
        out.status.success(),
        "{}\n{report:#}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = &report["results"][0];
    assert_eq!(e["outcome"], "remediated", "{report:#}");
    assert_eq!(e["arn"], primary.as_str());
    assert_eq!(e["region"], PRIMARY);
    assert!(
        e["reasons"][0].as_str().unwrap().contains("a replica in eu-west-1"),
        "{e:#}"
    );
    let tags = moto.secret_tags(&primary).await;
    assert_eq!(tags.get("Owner").map(String::as_str), Some("platform"));
    assert!(!tags.contains_key("Debug"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replicate_secret_to_regions_record_judges_the_primary() {
    let moto = Moto::start();
    let (primary, _) = replicated(&moto).await;
    let record = std::fs::read_to_string(
        root().join("tests/fixtures/aws-docs/secretsmanager-replicate-secret-to-regions.cloudtrail.json"),
    )
    .unwrap()
    .replace("\"MyTestSecret\"", &format!("\"{primary}\""))
    .replace("111122223333", "123456789012");
    let (out, report) = handle(&moto, &record, &[]);
    assert!(
        out.status.success(),
        "{}\n{report:#}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report:#}");
    assert_eq!(report["results"][0]["arn"], primary.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replicate_key_record_judges_the_new_replica_key_in_its_region() {
    let moto = Moto::start();
    let kms = moto.kms();
    let key = kms
        .create_key()
        .multi_region(true)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("Owner")
                .tag_value("platform")
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("CostCenter")
                .tag_value("4100")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    // The replica takes tags of its own (here: none required, one forbidden).
    let out = kms
        .replicate_key()
        .key_id(&key_id)
        .replica_region(REPLICA)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("Debug")
                .tag_value("on")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let replica_arn = out.replica_key_metadata().unwrap().arn().unwrap().to_owned();
    assert!(replica_arn.contains(REPLICA));
    let primary_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let record = std::fs::read_to_string(root().join("tests/fixtures/aws-docs/kms-replicate-key.cloudtrail.json"))
        .unwrap()
        .replace(
            "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            &replica_arn,
        )
        .replace(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            &primary_arn,
        )
        .replace("us-west-2", REPLICA)
        .replace("111122223333", "123456789012");
    let (out, report) = handle(&moto, &record, &[]);
    assert!(
        out.status.success(),
        "{}\n{report:#}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = &report["results"][0];
    assert_eq!(e["arn"], replica_arn.as_str(), "{report:#}");
    assert_eq!(e["region"], REPLICA);
    assert_eq!(e["outcome"], "remediated", "{report:#}");
    let regional = aws_sdk_kms::Client::from_conf(
        moto.kms()
            .config()
            .to_builder()
            .region(aws_config::Region::new(REPLICA))
            .build(),
    );
    let tags: std::collections::BTreeMap<String, String> = regional
        .list_resource_tags()
        .key_id(&replica_arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect();
    assert_eq!(tags.get("Owner").map(String::as_str), Some("platform"), "{tags:?}");
    assert!(!tags.contains_key("Debug"), "{tags:?}");
    // The primary's tags are its own, untouched.
    assert_eq!(
        moto.key_tags(&key_id).await.get("CostCenter").map(String::as_str),
        Some("4100")
    );
}
