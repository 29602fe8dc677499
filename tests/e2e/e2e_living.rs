//! Living with the policy, end to end against moto: exemptions an administrator grants (`tag-warden
//! exempt`), which expire, and which no one else can grant themselves; and the story of a resource (`tag-warden history`) after a removal and a restore.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::*;

const TABLE: &str = "tag-warden-memory";

#[tokio::test(flavor = "multi_thread")]
async fn an_exemption_holds_only_when_granted_with_tag_warden_exempt_and_only_through_its_day() {
    let moto = Moto::start();
    moto.create_memory_table(TABLE).await;
    let memory = [("TAG_WARDEN_MEMORY_TABLE", TABLE)];
    let (expired, future) = (day(-1), day(30));
    // Anyone who can tag the secret sets an exemption: it is not verified, and enforced.
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[("tag-warden:exempt-until", &future), ("temp-debug", "1")],
        )
        .await;
    let tagged = event("secretsmanager-tag-resource.json", &[], &[]);
    let (_, report) = handle(&moto, &tagged, &memory);
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    assert!(report["results"][0]["reasons"]
        .to_string()
        .contains("exemption not verified"));
    assert!(!moto.secret_tags(&arn).await.contains_key("temp-debug"));

    // An administrator grants it: tagged, and recorded in memory and history.
    let (out, granted) = run_cli(
        &moto,
        &["exempt", &arn, "--until", &future, "--reason", "migration MIG-42"],
        &memory,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(granted["results"][0]["outcome"], "exempt", "{granted}");
    assert_eq!(moto.secret_tags(&arn).await["tag-warden:exempt-until"], future);
    let (_, story) = run_cli(&moto, &["history", &arn, "--json"], &memory);
    let step = story["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(step["who"], "arn:aws:sts::123456789012:user/moto", "{step}");
    assert_eq!(step["why"], serde_json::json!(["migration MIG-42"]));
    assert!(step["action"]
        .as_str()
        .unwrap()
        .contains(&format!("granted through {future}")));
    // Too far ahead for the policy: refused before any call.
    let (out, _) = run_cli(&moto, &["exempt", &arn, "--until", &day(91), "--reason", "x"], &memory);
    assert_eq!(out.status.code(), Some(2));

    moto.tag_secret(&arn, "temp-debug", "1").await;
    let (_, report, emf) = handle_emf(&moto, &tagged, &memory);
    assert_eq!(report["results"][0]["outcome"], "exempt", "{report}");
    assert!(report["results"][0]["reasons"]
        .to_string()
        .contains("as memory records"));
    assert_eq!(moto.secret_tags(&arn).await["temp-debug"], "1");
    assert_eq!(emf[0]["Exempt"], 1, "{}", emf[0]);

    // Once the day has passed, it is enforced; and the record is revoked, so putting the
    // granted value back later is no exemption either.
    moto.tag_secret(&arn, "tag-warden:exempt-until", &expired).await;
    let (_, report) = handle(&moto, &tagged, &memory);
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    assert!(!moto.secret_tags(&arn).await.contains_key("temp-debug"));
    moto.tag_secret(&arn, "tag-warden:exempt-until", &future).await;
    moto.tag_secret(&arn, "temp-debug", "1").await;
    let (_, report) = handle(&moto, &tagged, &memory);
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
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

/// The grant of an exemption (who, why, until) is kept in an item of its own: 52 later changes,
/// more than the 50-step history keeps, do not push it out.
#[tokio::test(flavor = "multi_thread")]
async fn an_exemptions_grant_outlives_the_fifty_step_history() {
    let moto = Moto::start();
    moto.create_memory_table(TABLE).await;
    let memory = [("TAG_WARDEN_MEMORY_TABLE", TABLE)];
    let arn = moto.create_secret("prod/payments/db", &[("Owner", "payments")]).await;
    let until = day(30);
    let (out, _) = run_cli(
        &moto,
        &["exempt", &arn, "--until", &until, "--reason", "migration MIG-42"],
        &memory,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for i in 0..52 {
        let (out, _) = run_cli(&moto, &["memory", "set", &arn, &format!("Owner=team-{i}")], &memory);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (_, story) = run_cli(&moto, &["history", &arn, "--json"], &memory);
    let steps = story["history"].as_array().unwrap();
    assert_eq!(steps.len(), 50, "the history keeps 50 steps");
    assert_eq!(
        steps.last().unwrap()["who"],
        "arn:aws:sts::123456789012:user/moto (tag-warden memory set)",
        "memory set records who set what"
    );
    assert!(
        !steps
            .iter()
            .any(|s| s["action"].to_string().contains("granted through")),
        "the grant's step is gone from the history"
    );
    assert_eq!(story["grant"]["why"], "migration MIG-42", "{story}");
    assert_eq!(story["grant"]["until"], until.as_str());
    assert_eq!(story["grant"]["who"], "arn:aws:sts::123456789012:user/moto");
    let (out, shown) = run_cli(&moto, &["memory", "show", &arn, "--json"], &memory);
    assert!(out.status.success());
    assert_eq!(shown["grant"]["why"], "migration MIG-42", "{shown}");
}
