//! An organization on moto: moto is multi-account (credentials from STS AssumeRole act in the
//! role's account), so the real binary assumes the member role, writes in member accounts,
//! fans a scheduled sweep out over moto's SQS, and the test plays Lambda's SQS poller.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const HOME: &str = "123456789012";
const B: &str = "222222222222";
const C: &str = "333333333333";
const DENIED: &str = "444444444444";
const BROKEN: &str = "555555555555";
const ROLE: &str = "tag-warden-member";
const POLICY: &str = r#"{"mode":"enforce","rules":[{"name":"owner","require":{"Owner":{"default":"platform"}}}]}"#;
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn org_env() -> Vec<(&'static str, &'static str)> {
    vec![("TAG_WARDEN_POLICY", POLICY), ("TAG_WARDEN_MEMBER_ROLE", ROLE)]
}

/// An SDK configuration acting in `account` (through moto's AssumeRole) and `region`.
async fn config_in(endpoint: &str, account: &str, region: &'static str) -> aws_config::SdkConfig {
    let base = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(
            aws_sdk_secretsmanager::config::Credentials::for_tests(),
        ))
        .build();
    if account == HOME {
        return base;
    }
    let out = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/setup"))
        .role_session_name("test-setup")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let creds = aws_sdk_secretsmanager::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "test",
    );
    base.into_builder()
        .credentials_provider(aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(creds))
        .build()
}

async fn create_secret(
    endpoint: &str,
    account: &str,
    region: &'static str,
    name: &str,
    tags: &[(&str, &str)],
) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&config_in(endpoint, account, region).await);
    create_secret_with(&client, name, tags).await
}

async fn secret_tags(endpoint: &str, account: &str, region: &'static str, id: &str) -> BTreeMap<String, String> {
    let client = aws_sdk_secretsmanager::Client::new(&config_in(endpoint, account, region).await);
    secret_tags_with(&client, id).await
}

/// The TagResource sample as made by `actor_arn` in `account`, on the secret `name`.
fn tag_event(account: &str, name: &str, actor_arn: &str) -> String {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/secretsmanager-tag-resource.json")).unwrap())
            .unwrap();
    v["account"] = json!(account);
    v["detail"]["recipientAccountId"] = json!(account);
    v["detail"]["userIdentity"]["accountId"] = json!(account);
    v["detail"]["userIdentity"]["arn"] = json!(actor_arn);
    v["detail"]["requestParameters"]["secretId"] = json!(name);
    v.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_from_account_b_fixes_the_secret_in_b_and_leaves_the_same_name_in_a_alone() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    create_secret(&endpoint, HOME, "us-east-1", "prod/db", &[]).await;
    create_secret(&endpoint, B, "us-east-1", "prod/db", &[]).await;
    // Through the fault proxy, injecting nothing: it counts the AssumeRole calls per account.
    let proxy = FaultProxy::start(moto.port);
    let mut env = org_env();
    let via_proxy = proxy.endpoint();
    env.push(("AWS_ENDPOINT_URL", via_proxy.as_str()));
    env.push(("TAG_WARDEN_ACCOUNTS", B));
    let event = tag_event(B, "prod/db", &format!("arn:aws:iam::{B}:user/Alice"));
    let (out, report) = handle(&moto, &event, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.calls(&format!("sts.AssumeRole@{B}")), 1);
    let entry = &report["results"][0];
    assert_eq!(entry["outcome"], "remediated", "{report}");
    assert_eq!(entry["account"], B);
    assert!(
        entry["arn"].as_str().unwrap().contains(&format!(":{B}:secret:prod/db")),
        "{entry}"
    );
    assert_eq!(
        secret_tags(&endpoint, B, "us-east-1", "prod/db").await,
        tags(&[("Owner", "platform")])
    );
    assert_eq!(
        secret_tags(&endpoint, HOME, "us-east-1", "prod/db").await,
        tags(&[]),
        "account A untouched"
    );

    // The same event in the home account uses the function's own credentials: no AssumeRole.
    let event = tag_event(HOME, "prod/db", &format!("arn:aws:iam::{HOME}:user/Alice"));
    let (out, report) = handle(&moto, &event, &env);
    assert!(out.status.success(), "{report}");
    assert_eq!(proxy.calls(&format!("sts.AssumeRole@{HOME}")), 0);
    assert_eq!(
        proxy.calls("sts.GetCallerIdentity"),
        2,
        "one a process: each `handle` is a cold start"
    );
    assert_eq!(
        secret_tags(&endpoint, HOME, "us-east-1", "prod/db").await,
        tags(&[("Owner", "platform")])
    );
}

/// [`tag_event`] made by a session of the role `issuer` (its ARN), named `session`.
fn role_event(account: &str, name: &str, issuer: &str, session: &str) -> String {
    let role = issuer.rsplit('/').next().unwrap();
    let mut v: Value = serde_json::from_str(&tag_event(
        account,
        name,
        &format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
    ))
    .unwrap();
    v["detail"]["userIdentity"]["type"] = json!("AssumedRole");
    v["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"] =
        json!({"type": "Role", "arn": issuer, "accountId": account, "userName": role});
    v.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_role_sessions_own_change_is_ignored_with_zero_calls_and_look_alikes_are_not() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    create_secret(&endpoint, B, "us-east-1", "prod/db", &[]).await;
    let mut env = org_env();
    let governed = format!("{B},{C}");
    env.push(("TAG_WARDEN_ACCOUNTS", governed.as_str()));
    let event = role_event(B, "prod/db", &format!("arn:aws:iam::{B}:role/{ROLE}"), "any-session");
    moto.start_recording();
    let (out, report) = handle(&moto, &event, &env);
    assert!(out.status.success(), "{report}");
    assert_eq!(outcomes(&report), ["ignored"]);
    assert!(
        report["results"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("member role"),
        "{report}"
    );
    assert_eq!(moto.recorded(), Vec::<String>::new(), "not one call");
    assert_eq!(secret_tags(&endpoint, B, "us-east-1", "prod/db").await, tags(&[]));

    // The member role's name at another path is someone else's role: judged.
    let event = role_event(B, "prod/db", &format!("arn:aws:iam::{B}:role/ci/{ROLE}"), "tag-warden");
    let (_, report) = handle(&moto, &event, &env);
    assert_eq!(outcomes(&report), ["remediated"], "{report}");

    // In an account not governed, the member role's name is refused without AssumeRole.
    let event = role_event(DENIED, "prod/db", &format!("arn:aws:iam::{DENIED}:role/{ROLE}"), "s");
    moto.start_recording();
    let (_, report) = handle(&moto, &event, &env);
    assert_eq!(outcomes(&report), ["ignored"]);
    let why = report["results"][0]["reasons"][0].as_str().unwrap();
    assert!(why.contains(&format!("account {DENIED} is not governed")), "{why}");
    let mut judged = tag_event(DENIED, "prod/db", &format!("arn:aws:iam::{DENIED}:user/Alice"));
    let (_, report) = handle(&moto, &judged, &env);
    assert_eq!(outcomes(&report), ["ignored"], "any event of that account");
    judged.clear();
    assert!(moto.recorded().iter().all(|c| c == WHO_AM_I), "no AssumeRole, no read");
}

struct Queues {
    sqs: aws_sdk_sqs::Client,
    sweep: String,
    dlq: String,
}

async fn queues(endpoint: &str) -> Queues {
    let sqs = aws_sdk_sqs::Client::new(&config_in(endpoint, HOME, "us-east-1").await);
    let dlq = sqs.create_queue().queue_name("tw-sweep-dlq").send().await.unwrap();
    let dlq = dlq.queue_url().unwrap().to_owned();
    let redrive =
        json!({"deadLetterTargetArn": format!("arn:aws:sqs:us-east-1:{HOME}:tw-sweep-dlq"), "maxReceiveCount": "3"});
    let sweep = sqs
        .create_queue()
        .queue_name("tw-sweep")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            redrive.to_string(),
        )
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .unwrap();
    Queues {
        sqs,
        sweep: sweep.queue_url().unwrap().to_owned(),
        dlq,
    }
}

/// Lambda's SQS poller, played: receive a batch, invoke with a standard SQS event, delete the
/// messages not named in `batchItemFailures`; until the queue is empty. Returns each
/// invocation's report.
fn poll(moto: &Moto, function_endpoint: &str, q: &Queues, extra: &[(&str, &str)], batch: i32) -> Vec<Value> {
    let runtime = tokio::runtime::Handle::current();
    let mut reports = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut extra = extra.to_vec();
    extra.push(("AWS_ENDPOINT_URL", function_endpoint));
    loop {
        assert!(Instant::now() < deadline, "the queue did not drain");
        let out = tokio::task::block_in_place(|| {
            runtime.block_on(
                q.sqs
                    .receive_message()
                    .queue_url(&q.sweep)
                    .max_number_of_messages(batch)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                    .send(),
            )
        })
        .unwrap();
        let messages = out.messages();
        if messages.is_empty() {
            let attrs = tokio::task::block_in_place(|| {
                runtime.block_on(
                    q.sqs
                        .get_queue_attributes()
                        .queue_url(&q.sweep)
                        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                        .send(),
                )
            })
            .unwrap();
            let count = |name| {
                attrs
                    .attributes()
                    .and_then(|a| a.get(&name))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == 0
            {
                return reports;
            }
            continue;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let count = m
                    .attributes()
                    .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
                    .cloned()
                    .unwrap_or_else(|| "1".into());
                json!({
                    "messageId": m.message_id().unwrap(),
                    "receiptHandle": m.receipt_handle().unwrap(),
                    "body": m.body().unwrap(),
                    "attributes": {"ApproximateReceiveCount": count},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": format!("arn:aws:sqs:us-east-1:{HOME}:tw-sweep"),
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        let (out, report) = handle(moto, &json!({ "Records": records }).to_string(), &extra);
        assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
        let failed: Vec<&str> = report["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect();
        for m in messages {
            if !failed.contains(&m.message_id().unwrap()) {
                tokio::task::block_in_place(|| {
                    runtime.block_on(
                        q.sqs
                            .delete_message()
                            .queue_url(&q.sweep)
                            .receipt_handle(m.receipt_handle().unwrap())
                            .send(),
                    )
                })
                .unwrap();
            }
        }
        reports.push(report);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_fanned_out_over_3_accounts_and_2_regions_through_sqs_converges_every_cell() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let accounts = [HOME, B, C];
    for account in accounts {
        for region in REGIONS {
            create_secret(&endpoint, account, region, "app/kept", &[("Owner", "team")]).await;
            create_secret(&endpoint, account, region, "app/missing", &[]).await;
        }
    }
    let q = queues(&endpoint).await;
    let accounts_env = format!("{HOME},{B},{C}");
    let mut env = org_env();
    env.extend([
        ("TAG_WARDEN_ACCOUNTS", accounts_env.as_str()),
        ("TAG_WARDEN_REGIONS", "eu-west-1"),
        ("TAG_WARDEN_SWEEP_QUEUE_URL", q.sweep.as_str()),
        ("TAG_WARDEN_SWEEP_DLQ_URL", q.dlq.as_str()),
    ]);
    let schedule = std::fs::read_to_string(root().join("events/scheduled-reconcile.json")).unwrap();
    let (out, report) = handle(&moto, &schedule, &env);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["fanout"]["cells"], 6, "{report}");
    assert_eq!(report["fanout"]["accounts"], json!([HOME, B, C]));

    let reports = poll(&moto, &endpoint, &q, &env, 2);
    assert_eq!(reports.len(), 3, "6 cells, 2 a batch: {reports:?}");
    let mut swept: Vec<String> = reports
        .iter()
        .flat_map(|r| r["cells"].as_array().unwrap().clone())
        .map(|c| {
            assert_eq!(c["outcome"], "swept", "{c}");
            c["cell"].as_str().unwrap().to_owned()
        })
        .collect();
    swept.sort();
    let mut expected: Vec<String> = accounts
        .iter()
        .flat_map(|a| REGIONS.iter().map(move |r| format!("{a}/{r}")))
        .collect();
    expected.sort();
    assert_eq!(swept, expected);
    for r in &reports {
        assert_eq!(r["batchItemFailures"], json!([]));
        assert_eq!(r["sweep"]["complete"], true, "{r}");
    }
    for account in accounts {
        for region in REGIONS {
            assert_eq!(
                secret_tags(&endpoint, account, region, "app/missing").await,
                tags(&[("Owner", "platform")]),
                "{account}/{region}"
            );
            assert_eq!(
                secret_tags(&endpoint, account, region, "app/kept").await,
                tags(&[("Owner", "team")])
            );
        }
    }
    let dead = q.sqs.receive_message().queue_url(&q.dlq).send().await.unwrap();
    assert!(dead.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cell_that_keeps_failing_lands_in_the_dead_letter_queue_and_an_account_not_enrolled_does_not() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    create_secret(&endpoint, HOME, "us-east-1", "app/missing", &[]).await;
    create_secret(&endpoint, B, "us-east-1", "app/missing", &[]).await;
    create_secret(&endpoint, BROKEN, "us-east-1", "app/missing", &[]).await;
    let proxy = FaultProxy::start(moto.port);
    // DENIED has no member role (AssumeRole: AccessDenied, a configuration fact); BROKEN's
    // STS keeps failing (a failure worth retrying).
    proxy.always(&format!("sts.AssumeRole@{DENIED}"), Fault::AccessDenied);
    proxy.always(&format!("sts.AssumeRole@{BROKEN}"), Fault::ServerError);
    let q = queues(&endpoint).await;
    let accounts_env = format!("{HOME},{DENIED},{BROKEN},{B}");
    let mut env = org_env();
    env.extend([
        ("TAG_WARDEN_ACCOUNTS", accounts_env.as_str()),
        ("TAG_WARDEN_SWEEP_QUEUE_URL", q.sweep.as_str()),
        ("TAG_WARDEN_SWEEP_DLQ_URL", q.dlq.as_str()),
        ("TAG_WARDEN_SWEEP_MAX_RECEIVES", "3"),
    ]);
    let schedule = std::fs::read_to_string(root().join("events/scheduled-reconcile.json")).unwrap();
    let (out, report) = handle(&moto, &schedule, &env);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["fanout"]["cells"], 4);

    let reports = poll(&moto, &proxy.endpoint(), &q, &env, 4);
    let attempts = |account: &str| -> Vec<(String, u64)> {
        reports
            .iter()
            .flat_map(|r| r["cells"].as_array().unwrap().clone())
            .filter(|c| c["cell"].as_str().unwrap().starts_with(account))
            .map(|c| {
                (
                    c["outcome"].as_str().unwrap().to_owned(),
                    c["attempt"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        attempts(BROKEN),
        [
            ("retry".to_owned(), 1),
            ("retry".to_owned(), 2),
            ("dead-lettered".to_owned(), 3)
        ],
        "{reports:?}"
    );
    // Before: AccessDenied was retried, dead-lettered and fired the dead-letter alarm on every
    // sweep. Now: reported once as not enrolled, the message deleted.
    assert_eq!(attempts(DENIED), [("not-enrolled".to_owned(), 1)], "{reports:?}");
    assert_eq!(proxy.calls(&format!("sts.AssumeRole@{DENIED}")), 1);
    let entry = reports
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap().clone())
        .find(|e| e["outcome"] == "not-enrolled")
        .unwrap();
    assert_eq!(entry["account"], DENIED);
    assert!(
        entry["reasons"][0].as_str().unwrap().contains("deploy/member.yaml"),
        "{entry}"
    );
    // The other accounts converged on the first attempt.
    for account in [HOME, B] {
        assert_eq!(
            secret_tags(&endpoint, account, "us-east-1", "app/missing").await,
            tags(&[("Owner", "platform")])
        );
    }
    let dead = q
        .sqs
        .receive_message()
        .queue_url(&q.dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let [letter] = dead.messages() else {
        panic!("one dead letter, BROKEN's: {dead:?}")
    };
    let body: Value = serde_json::from_str(letter.body().unwrap()).unwrap();
    assert_eq!(
        (body["account"].as_str(), body["region"].as_str()),
        (Some(BROKEN), Some("us-east-1"))
    );
    assert_eq!(body["failure"]["attempts"], 3);
    let reason = body["failure"]["reason"].as_str().unwrap();
    assert!(reason.contains("sts:AssumeRole"), "{reason}");

    // BROKEN's STS recovers; an operator redrives the dead letter. The sweep queue takes cells
    // from the function's role alone, so `tag-warden redrive` sweeps the cell itself and
    // deletes the letter.
    q.sqs
        .change_message_visibility()
        .queue_url(&q.dlq)
        .receipt_handle(letter.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let (out, report) = run_cli(&moto, &["redrive", "--dlq", &q.dlq], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{report:#}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["cells"][0]["cell"], format!("{BROKEN}/us-east-1"), "{report:#}");
    assert_eq!(report["cells"][0]["outcome"], "swept");
    assert_eq!(
        secret_tags(&endpoint, BROKEN, "us-east-1", "app/missing").await,
        tags(&[("Owner", "platform")])
    );
    let left = q.sqs.receive_message().queue_url(&q.dlq).send().await.unwrap();
    assert!(
        left.messages().is_empty(),
        "the letter is deleted once its cell is swept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn security_hub_findings_are_imported_in_each_resources_own_account_through_its_member_role() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let home_arn = create_secret(&endpoint, HOME, "us-east-1", "prod/db", &[]).await;
    let b_arn = create_secret(&endpoint, B, "us-east-1", "prod/db", &[]).await;
    let policy = r#"{"rules":[{"name":"cost","require":{"CostCenter":{"pattern":"^[0-9]{4}$"}}}]}"#;
    let env = [
        ("TAG_WARDEN_POLICY", policy),
        ("TAG_WARDEN_MEMBER_ROLE", ROLE),
        ("TAG_WARDEN_SECURITY_HUB", "true"),
    ];
    let accounts = format!("{HOME},{B}");
    let (out, report) = run_cli(
        &moto,
        &["reconcile", "--json", "--region", "us-east-1", "--accounts", &accounts],
        &env,
    );
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        report["findings"]["security_hub"]["imported"], 2,
        "{:#}",
        report["findings"]
    );
    for (account, arn) in [(HOME, &home_arn), (B, &b_arn)] {
        let hub = aws_sdk_securityhub::Client::new(&config_in(&endpoint, account, "us-east-1").await);
        let found = hub.get_findings().send().await.unwrap();
        let ids: Vec<&str> = found.findings().iter().filter_map(|f| f.resources()[0].id()).collect();
        assert_eq!(ids, [arn.as_str()], "account {account} holds its own finding only");
        let f = &found.findings()[0];
        assert_eq!(f.aws_account_id(), Some(account));
        assert_eq!(
            f.product_arn(),
            Some(format!("arn:aws:securityhub:us-east-1:{account}:product/{account}/default").as_str())
        );
    }
}
