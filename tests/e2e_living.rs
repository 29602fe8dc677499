//! Living with the policy, end to end against moto: waivers that expire (the exemption-until
//! tag) and the story of a resource (`tag-warden history`) after a removal and a restore.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use tag_warden::domain::Date;

const TABLE: &str = "tag-warden-memory";

/// The day `offset_days` from today, UTC, as the code reads it.
fn day(offset_days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Date::of_epoch_ms(now.as_millis() as u64)
        .plus_days(offset_days)
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_waiver_is_enforced_and_a_future_one_exempts() {
    let moto = Moto::start();
    let expired = day(-1);
    let future = day(30);
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("tag-warden:exempt-until", &future), ("temp-debug", "1")],
        )
        .await;
    let (out, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "exempt", "{report}");
    assert!(report["results"][0]["reasons"][0].as_str().unwrap().contains(&future));
    assert_eq!(moto.secret_tags(&arn).await["temp-debug"], "1");

    let t = aws_sdk_secretsmanager::types::Tag::builder()
        .key("tag-warden:exempt-until")
        .value(&expired)
        .build();
    moto.secrets()
        .tag_resource()
        .secret_id(&arn)
        .tags(t)
        .send()
        .await
        .unwrap();
    let (_, report) = handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &[]);
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    assert!(!moto.secret_tags(&arn).await.contains_key("temp-debug"));
}

#[tokio::test(flavor = "multi_thread")]
async fn history_after_a_removal_and_a_restore_shows_both_steps_with_the_actor() {
    let moto = Moto::start();
    moto.create_memory_table(TABLE).await;
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[
                ("Owner", "payments"),
                ("CostCenter", "4100"),
                ("DataClass", "restricted"),
            ],
        )
        .await;
    let memory = [("TAG_WARDEN_MEMORY_TABLE", TABLE)];
    handle(&moto, &event("secretsmanager-tag-resource.json", &[], &[]), &memory);
    moto.secrets()
        .untag_resource()
        .secret_id(&arn)
        .tag_keys("Owner")
        .tag_keys("CostCenter")
        .send()
        .await
        .unwrap();
    let (out, report) = handle(&moto, &event("secretsmanager-untag-resource.json", &[], &[]), &memory);
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "remediated");

    let (out, story) = run_cli(&moto, &["history", &arn, "--json"], &memory);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let steps = story["history"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{story}");
    let removal = &steps[0];
    assert!(
        removal["who"].as_str().unwrap().ends_with("/alice@example.com"),
        "{removal}"
    );
    assert_eq!(removal["event"], "UntagResource");
    assert_eq!(
        removal["changes"],
        serde_json::json!([["CostCenter", "4100", null], ["Owner", "payments", null]])
    );
    let restore = &steps[1];
    assert_eq!(restore["who"], "tag-warden");
    assert!(
        restore["action"]
            .as_str()
            .unwrap()
            .contains("set CostCenter=4100, Owner=payments"),
        "{restore}"
    );
    assert!(
        !story.to_string().contains("not-a-real-secret"),
        "nothing of a secret's value"
    );

    let (out, _) = run_cli(&moto, &["history", &arn], &memory);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("Owner: payments -> (none)") && table.contains("tag-warden"),
        "{table}"
    );
}
