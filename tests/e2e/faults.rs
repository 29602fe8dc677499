//! Faults end to end: the real binary talks to moto through a fault-injecting proxy. Transient
//! faults are retried to a compliant end; faults that outlast the retries fail the invocation;
//! partial writes are reported and converge; AccessDenied is a violation, not a retry storm.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::*;
use std::time::Duration;
use tag_warden::adapters::aws::RETRY_MAX_ATTEMPTS;
use tag_warden::run::resource::RETRIES_WITHOUT_DEADLINE;

const DIRTY_SECRET: &[(&str, &str)] = &[
    ("temp-debug", "true"),
    ("CostCenter", "1234"),
    ("DataClass", "internal"),
];
const FIXED_SECRET: &[(&str, &str)] = &[("Owner", "platform"), ("CostCenter", "1234"), ("DataClass", "internal")];

fn through(proxy: &FaultProxy) -> String {
    proxy.endpoint()
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_faults_are_retried_with_backoff_and_the_secret_ends_compliant() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port);
    let arn = moto.create_secret("prod/payments/db", DIRTY_SECRET).await;
    proxy.inject("secretsmanager.DescribeSecret", Fault::ServerError, 2);
    proxy.inject("secretsmanager.UntagResource", Fault::Reset, 1);
    proxy.inject("secretsmanager.TagResource", Fault::Throttle, 2);
    let (out, report, emf) = handle_emf(
        &moto,
        &event("secretsmanager-tag-resource.json", &[], &[]),
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["results"][0]["outcome"], "remediated");
    assert_eq!(
        emf_spec::value(&emf, "TagWarden", &[], "Throttled"),
        Some(2.0),
        "the throttled attempts the SDK retried are counted; the server errors are not"
    );
    assert_eq!(emf_spec::value(&emf, "TagWarden", &[], "Errors"), Some(0.0));
    assert_eq!(proxy.injected(), 5);
    assert_eq!(proxy.calls("secretsmanager.DescribeSecret"), 3);
    assert_eq!(proxy.calls("secretsmanager.TagResource"), 3);
    assert_eq!(moto.secret_tags(&arn).await, tags(FIXED_SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_internal_errors_throttling_and_a_response_slower_than_the_timeout_are_survived() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port);
    let key = moto.create_key(&[("CostCenter", "12"), ("Debug", "on")]).await;
    proxy.inject("kms.DescribeKey", Fault::Throttle, 1);
    proxy.inject("kms.ListResourceTags", Fault::Slow(Duration::from_secs(6)), 1);
    proxy.inject("kms.TagResource", Fault::ServerError, 2);
    let started = std::time::Instant::now();
    let (out, report) = handle(
        &moto,
        &event("kms-tag-resource.json", &[], &[(SAMPLE_KEY_1, &key)]),
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["results"][0]["outcome"], "remediated");
    assert_eq!(
        proxy.calls("kms.ListResourceTags"),
        2,
        "the slow attempt timed out and was retried"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(
        moto.key_tags(&key).await,
        tags(&[("Owner", "platform"), ("CostCenter", "0000")])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_that_outlasts_the_retries_fails_the_invocation_and_leaves_no_success_report() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port);
    let arn = moto
        .create_secret("prod/payments/db", &[("CostCenter", "1234"), ("DataClass", "internal")])
        .await;
    proxy.always("secretsmanager.TagResource", Fault::Throttle);
    let (out, report, emf) = handle_emf(
        &moto,
        &event("secretsmanager-untag-resource.json", &[], &[]),
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    // The SDK's attempts, then the event path's own rounds (without a deadline, a few), each of
    // the SDK's attempts again.
    let attempts = RETRY_MAX_ATTEMPTS * (1 + RETRIES_WITHOUT_DEADLINE);
    assert_eq!(
        emf_spec::value(&emf, "TagWarden", &[], "Throttled"),
        Some(f64::from(attempts))
    );
    assert_eq!(emf_spec::value(&emf, "TagWarden", &[], "Errors"), Some(1.0));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the invocation fails, so Lambda retries it or parks it in the failure queue"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("TagWarden.Incomplete"));
    assert_eq!(report["results"][0]["outcome"], "error");
    assert_eq!(report["results"][0]["error_type"], "Throttled");
    assert_eq!(proxy.calls("secretsmanager.TagResource"), attempts as usize);
    assert_eq!(report["results"][0]["throttle_retries"], RETRIES_WITHOUT_DEADLINE);
    assert!(!moto.secret_tags(&arn).await.contains_key("Owner"));
    // The retried invocation, once the throttling stops, fixes it.
    proxy.clear();
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-untag-resource.json", &[], &[]),
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    assert!(out.status.success());
    assert_eq!(report["results"][0]["outcome"], "remediated");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_write_is_reported_as_such_and_the_next_attempt_converges() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port);
    let arn = moto.create_secret("prod/payments/db", DIRTY_SECRET).await;
    proxy.always("secretsmanager.TagResource", Fault::ServerError);
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-tag-resource.json", &[], &[]),
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    assert_eq!(out.status.code(), Some(1));
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "error");
    assert_eq!(entry["keys_removed"], serde_json::json!(["temp-debug"]));
    assert_eq!(entry["tags_added"], serde_json::json!({}));
    assert!(entry["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("partially applied")));
    proxy.clear();
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-tag-resource.json", &[], &[]),
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    assert!(out.status.success());
    assert_eq!(report["results"][0]["keys_removed"], serde_json::json!([]));
    assert_eq!(
        report["results"][0]["tags_added"],
        serde_json::json!({"Owner": "platform"})
    );
    assert_eq!(moto.secret_tags(&arn).await, tags(FIXED_SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_a_write_is_a_reported_violation_with_aws_message_and_is_not_retried() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port);
    moto.create_secret("prod/payments/db", DIRTY_SECRET).await;
    proxy.always("secretsmanager.UntagResource", Fault::AccessDenied);
    let (out, report) = handle(
        &moto,
        &event("secretsmanager-tag-resource.json", &[], &[]),
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    assert!(judged(&out), "a violation is reported, not retried by Lambda");
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "violation");
    assert!(
        entry["reasons"]
            .to_string()
            .contains("would revoke the caller's access"),
        "{entry}"
    );
    assert_eq!(proxy.calls("secretsmanager.UntagResource"), 1, "no retry storm");
    assert_eq!(proxy.calls("secretsmanager.TagResource"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_under_throttling_retries_and_ends_compliant() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port);
    for i in 0..30 {
        moto.create_secret(
            &format!("app/s{i:02}"),
            &[("CostCenter", "1234"), ("DataClass", "internal")],
        )
        .await;
    }
    proxy.inject("secretsmanager.ListSecrets", Fault::ServerError, 1);
    proxy.inject("secretsmanager.TagResource", Fault::Throttle, 10);
    let (out, _) = run_cli(
        &moto,
        &["reconcile", "--json", "--emf", "--region", REGION],
        &[("AWS_ENDPOINT_URL", &through(&proxy))],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (report, emf) = report_and_emf(&out.stdout);
    assert_eq!(report["summary"]["remediated"], 30);
    assert_eq!(proxy.calls("secretsmanager.TagResource"), 40);
    assert_eq!(
        emf_spec::value(&emf, "TagWarden", &[], "Throttled"),
        Some(10.0),
        "every throttled attempt of the sweep; the listing's server error is not one"
    );
}
