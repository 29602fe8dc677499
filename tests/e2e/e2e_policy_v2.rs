//! Policy version 2 end to end, with the real binary against moto: creator tags at creation
//! (and never from a tagger), values derived from a secret's name, a report-only rule, rules
//! scoped by tag and by account, and a KMS key matched by its alias.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::*;

/// A policy as a YAML file's text would give it (inline YAML is detected).
const POLICY: &str = r#"
version: 2
rules:
  - name: creator
    resources: [secret]
    require:
      CreatedBy: { default: "{creator}" }
  - name: prod-secrets
    resources: [secret]
    match: { names: ["prod/*"] }
    require:
      Service: { default: "{name[1]}" }
  - name: sandbox
    mode: report
    match: { tags: { Sandbox: "true" } }
    forbid: ["temp*"]
  - name: this-account
    resources: [secret]
    match: { accounts: ["123456789012"], tags: { Team: false } }
    require:
      Team: { default: "unassigned" }
  - name: other-account
    match: { accounts: ["210987654321"] }
    require:
      Audit: { default: "yes" }
  - name: team-keys
    resources: [kms-key]
    match: { names: ["team-*/*"] }
    require:
      Team: { default: "{name[0]}" }
"#;

fn run(moto: &Moto, event: &str) -> serde_json::Value {
    let (out, report) = handle(moto, event, &[("TAG_WARDEN_POLICY", POLICY)]);
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    report
}

/// The TagResource sample, on the secret `name`.
fn tag_event(name: &str) -> String {
    event("secretsmanager-tag-resource.json", &[], &[]).replace("\"prod/payments/db\"", &format!("\"{name}\""))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_created_by_an_identity_center_session_is_tagged_with_that_user() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/orders/api-key", &[("Team", "orders")]).await;
    let report = run(
        &moto,
        &event(
            "secretsmanager-create-secret.json",
            &[("prod/orders/api-key", &arn)],
            &[],
        ),
    );
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    let now = moto.secret_tags(&arn).await;
    assert_eq!(now["CreatedBy"], "alice@example.com", "the person, not the SSO role");
    assert_eq!(now["Service"], "orders", "prod/orders/api-key: segment 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tagger_is_not_tagged_as_the_creator_and_only_prod_secrets_get_a_service() {
    let moto = Moto::start();
    let prod = moto.create_secret("prod/payments/db", &[("Team", "payments")]).await;
    let dev = moto.create_secret("dev/payments/db", &[("Team", "payments")]).await;
    let report = run(&moto, &tag_event("prod/payments/db"));
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "violation", "CreatedBy cannot be known: {entry}");
    assert!(entry["reasons"].to_string().contains("creation event"), "{entry}");
    let now = moto.secret_tags(&prod).await;
    assert!(!now.contains_key("CreatedBy"), "Alice only tagged it");
    assert_eq!(now["Service"], "payments");
    run(&moto, &tag_event("dev/payments/db"));
    assert!(!moto.secret_tags(&dev).await.contains_key("Service"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_mode_rule_writes_nothing_and_reports_what_it_would_do() {
    let moto = Moto::start();
    let arn = moto
        .create_secret(
            "dev/scratch",
            &[("Sandbox", "true"), ("temp-x", "1"), ("Team", "t"), ("CreatedBy", "c")],
        )
        .await;
    moto.start_recording();
    let report = run(&moto, &tag_event("dev/scratch"));
    assert_eq!(moto.recorded(), [WHO_AM_I, "secretsmanager.DescribeSecret"], "no write");
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "would-remediate");
    assert_eq!(entry["report_only"]["untag"], serde_json::json!(["temp-x"]));
    assert!(entry.get("plan").is_none(), "nothing for enforcing rules");
    assert_eq!(moto.secret_tags(&arn).await["temp-x"], "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_and_account_conditions_scope_rules() {
    let moto = Moto::start();
    let untagged = moto.create_secret("dev/a", &[("CreatedBy", "c")]).await;
    let teamed = moto
        .create_secret("dev/b", &[("CreatedBy", "c"), ("Team", "search")])
        .await;
    run(&moto, &tag_event("dev/a"));
    run(&moto, &tag_event("dev/b"));
    let a = moto.secret_tags(&untagged).await;
    assert_eq!(a["Team"], "unassigned", "this account's rule, Team absent");
    assert!(!a.contains_key("Audit"), "the other account's rule does not apply");
    assert_eq!(moto.secret_tags(&teamed).await["Team"], "search");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kms_key_is_matched_by_its_alias_with_one_list_aliases_call() {
    let moto = Moto::start();
    let key = moto.create_key(&[]).await;
    moto.kms()
        .create_alias()
        .alias_name("alias/team-search/index")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    moto.start_recording();
    let report = run(&moto, &event("kms-tag-resource.json", &[], &[(SAMPLE_KEY_1, &key)]));
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    let calls = moto.recorded();
    assert_eq!(calls.iter().filter(|c| *c == "kms.ListAliases").count(), 1, "{calls:?}");
    let now = moto.key_tags(&key).await;
    assert_eq!(now["Team"], "team-search");
}

/// What an imported tag policy asks: key case fixed, an optional key checked when present.
const CASE: &str = r#"
version: 2
rules:
  - name: tag-policy
    fix_key_case: true
    require:
      Owner: { values: [payments, search] }
    optional:
      Team: { values: [payments, search] }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn keys_in_the_wrong_case_are_fixed_with_one_tag_and_one_untag_and_an_optional_key_is_only_checked() {
    let moto = Moto::start();
    let arn = moto
        .create_secret("prod/payments/db", &[("owner", "payments"), ("team", "search")])
        .await;
    moto.start_recording();
    let (out, report) = handle(&moto, &tag_event("prod/payments/db"), &[("TAG_WARDEN_POLICY", CASE)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["results"][0]["outcome"], "remediated", "{report}");
    assert_eq!(
        moto.recorded(),
        [
            WHO_AM_I,
            "secretsmanager.DescribeSecret",
            "secretsmanager.UntagResource",
            "secretsmanager.TagResource"
        ]
    );
    assert_eq!(
        moto.secret_tags(&arn).await,
        tags(&[("Owner", "payments"), ("Team", "search")])
    );

    // A stray-case duplicate of a key that is there is removed.
    moto.tag_secret(&arn, "OWNER", "search").await;
    let (_, report) = handle(&moto, &tag_event("prod/payments/db"), &[("TAG_WARDEN_POLICY", CASE)]);
    assert_eq!(
        report["results"][0]["keys_removed"],
        serde_json::json!(["OWNER"]),
        "{report}"
    );
    assert_eq!(
        moto.secret_tags(&arn).await,
        tags(&[("Owner", "payments"), ("Team", "search")])
    );

    // An optional key outside its values, with no default: a violation, left unchanged.
    moto.tag_secret(&arn, "Team", "infra").await;
    moto.start_recording();
    let (_, report) = handle(&moto, &tag_event("prod/payments/db"), &[("TAG_WARDEN_POLICY", CASE)]);
    assert_eq!(report["results"][0]["outcome"], "violation", "{report}");
    assert_eq!(moto.recorded(), [WHO_AM_I, "secretsmanager.DescribeSecret"], "no write");
    assert_eq!(moto.secret_tags(&arn).await["Team"], "infra");
}
