//! Loops and races: the function's own CloudTrail events, a competing actor that keeps flipping
//! a tag, and many events for one resource at once. Writes stay bounded and the end is compliant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::*;
use serde_json::json;

const COMPLIANT: &[(&str, &str)] = &[("Owner", "payments"), ("CostCenter", "1234"), ("DataClass", "internal")];

/// The TagResource event CloudTrail records for the function's own write, as EventBridge
/// delivers it (the own-call sample, pointed at `arn`).
fn own_tag_event(arn: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&event("ignored-own-call.json", &[], &[])).unwrap();
    v["detail"]["requestParameters"]["secretId"] = json!(arn);
    v.to_string()
}

/// An actor's UntagResource of `keys` on `arn`, as CloudTrail records it.
fn actor_untag_event(arn: &str, keys: &[&str]) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&event("secretsmanager-untag-resource.json", &[], &[])).unwrap();
    v["detail"]["requestParameters"] = json!({"secretId": arn, "tagKeys": keys});
    v.to_string()
}

fn writes(calls: &[String]) -> usize {
    calls.iter().filter(|c| c.ends_with("TagResource")).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_competing_actor_flipping_a_tag_meets_one_write_per_flip_and_its_own_events_cost_nothing() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", COMPLIANT).await;
    let sm = moto.secrets();
    // Each `handle` runs as the function does: a session of its role (the own-call sample's).
    let me = moto
        .as_role("arn:aws:iam::123456789012:role/tag-warden-role", "tag-warden")
        .await;
    let me: Vec<(&str, &str)> = me.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut total_writes = 0;
    for round in 0..15 {
        // The actor removes Owner; CloudTrail records it; the function restores it.
        sm.untag_resource()
            .secret_id(&arn)
            .tag_keys("Owner")
            .send()
            .await
            .unwrap();
        moto.start_recording();
        let (out, report) = handle(&moto, &actor_untag_event(&arn, &["Owner"]), &me);
        assert!(out.status.success());
        assert_eq!(report["results"][0]["outcome"], "remediated", "round {round}");
        let calls = moto.recorded();
        assert_eq!(writes(&calls), 1, "round {round}: {calls:?}");
        total_writes += writes(&calls);
        // The function's own TagResource comes back through EventBridge: ignored, no call but
        // the new process learning who it is.
        moto.start_recording();
        let (out, report) = handle(&moto, &own_tag_event(&arn), &me);
        assert!(out.status.success());
        assert_eq!(report["results"][0]["outcome"], "ignored");
        assert_eq!(moto.recorded(), [WHO_AM_I], "round {round}");
    }
    assert_eq!(total_writes, 15, "bounded: one write per flip");
    assert_eq!(
        moto.secret_tags(&arn).await.get("Owner").map(String::as_str),
        Some("platform")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn even_without_the_self_guard_its_own_events_converge_with_one_read_and_no_write() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", COMPLIANT).await;
    for _ in 0..5 {
        moto.start_recording();
        // Run as another principal (moto's default user): the event is not its own.
        let (out, report) = handle(&moto, &own_tag_event(&arn), &[]);
        assert!(out.status.success());
        assert_eq!(report["results"][0]["outcome"], "compliant");
        assert_eq!(
            moto.recorded(),
            [WHO_AM_I, "secretsmanager.DescribeSecret"],
            "a compliant resource is never written"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn many_events_for_one_resource_at_once_end_compliant_with_no_required_tag_lost() {
    let moto = Moto::start();
    let arn = moto
        .create_secret(
            "prod/payments/db",
            &[
                ("temp-a", "1"),
                ("temp-b", "2"),
                ("Owner", "nobody"),
                ("DataClass", "internal"),
            ],
        )
        .await;
    let events: Vec<String> = (0..12)
        .map(|i| match i % 3 {
            0 => actor_untag_event(&arn, &["CostCenter"]),
            1 => event("secretsmanager-tag-resource.json", &[], &[]),
            _ => event("secretsmanager-update-secret.json", &[("prod/payments/db", &arn)], &[]),
        })
        .collect();
    let handles: Vec<_> = events
        .into_iter()
        .map(|e| {
            let env = moto.env();
            std::thread::spawn(move || {
                let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tag-warden"));
                cmd.args(["handle", "-"])
                    .env_clear()
                    .env("TAG_WARDEN_POLICY", example_policy())
                    .envs(env)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = cmd.spawn().unwrap();
                use std::io::Write;
                child.stdin.take().unwrap().write_all(e.as_bytes()).unwrap();
                child.wait_with_output().unwrap()
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(
        moto.secret_tags(&arn).await,
        tags(&[("Owner", "platform"), ("CostCenter", "0000"), ("DataClass", "internal")])
    );
}
