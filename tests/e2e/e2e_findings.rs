//! Findings and metrics end to end, against moto server: finding events put on an EventBridge
//! bus and delivered by a rule to an SQS queue; Security Hub findings imported FAILED, then
//! resolved by a later sweep; the `--html` page against the JSON report; `--emf` lines
//! against the EMF specification.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// CostCenter has no default (a violation when missing); Owner has one (a remediation).
const POLICY: &str = r#"{"rules":[
  {"name":"cost-center","require":{"CostCenter":{"pattern":"^[0-9]{4}$"}}},
  {"name":"owner","require":{"Owner":{"default":"platform"}},"forbid":["temp*"]}
]}"#;

const BUS: &str = "tag-warden-findings";

/// Security Hub's findings by id.
async fn hub_findings(moto: &Moto) -> BTreeMap<String, aws_sdk_securityhub::types::AwsSecurityFinding> {
    let out = moto.securityhub().get_findings().send().await.unwrap();
    out.findings()
        .iter()
        .map(|f| (f.id().unwrap().to_owned(), f.clone()))
        .collect()
}

fn env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("TAG_WARDEN_POLICY", POLICY)];
    all.extend_from_slice(extra);
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn findings_reach_a_queue_through_a_bus_rule_and_security_hub_resolves_them_once_fixed() {
    let moto = Moto::start();
    let queue = moto.findings_queue(BUS).await;
    moto.create_secret("app/ok", &[("Owner", "a"), ("CostCenter", "1234")])
        .await;
    let fix = moto
        .create_secret("app/fix", &[("CostCenter", "1234"), ("temp-x", "1")])
        .await;
    let bad = moto.create_secret("app/bad", &[("Owner", "a")]).await;
    let key = moto.create_key(&[]).await;
    let key_arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}");
    let extra = env(&[("TAG_WARDEN_FINDINGS_BUS", BUS), ("TAG_WARDEN_SECURITY_HUB", "true")]);

    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &extra);
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["summary"]["violation"], 2, "{report:#}");
    assert_eq!(report["summary"]["remediated"], 1);
    assert_eq!(report["findings"]["events_put"], 3, "{:#}", report["findings"]);
    assert_eq!(report["findings"]["security_hub"]["imported"], 3);

    let events = moto.drain(&queue).await;
    assert_eq!(events.len(), 3, "{events:#?}");
    let by_arn: BTreeMap<&str, &Value> = events
        .iter()
        .map(|e| (e["detail"]["arn"].as_str().unwrap(), e))
        .collect();
    for e in &events {
        assert_eq!(e["source"], "tag-warden");
        assert_eq!(e["detail-type"], "Tag Policy Finding");
        assert_eq!(e["detail"]["account"], ACCOUNT);
        assert_eq!(e["detail"]["region"], REGION);
        assert!(e["detail"]["finding_id"].as_str().unwrap().starts_with("tw-"));
        assert_eq!(e["resources"][0], e["detail"]["arn"]);
    }
    let fixed = &by_arn[fix.as_str()]["detail"];
    assert_eq!(fixed["outcome"], "remediated");
    assert_eq!(fixed["keys_added"], serde_json::json!(["Owner"]));
    assert_eq!(fixed["keys_removed"], serde_json::json!(["temp-x"]));
    let violated = &by_arn[bad.as_str()]["detail"];
    assert_eq!(
        (violated["outcome"].as_str(), violated["kind"].as_str()),
        (Some("violation"), Some("secret"))
    );
    assert_eq!(violated["rules"], serde_json::json!(["cost-center"]));
    assert!(violated["reasons"][0].as_str().unwrap().contains("CostCenter"));
    assert_eq!(by_arn[key_arn.as_str()]["detail"]["kind"], "kms-key");

    let hub = hub_findings(&moto).await;
    let status = |f: &aws_sdk_securityhub::types::AwsSecurityFinding| {
        (
            f.compliance().and_then(|c| c.status()).map(|s| s.as_str().to_owned()),
            f.record_state().map(|s| s.as_str().to_owned()),
        )
    };
    let of = |arn: &str| {
        hub.values()
            .find(|f| f.resources().first().and_then(|r| r.id()) == Some(arn))
            .unwrap_or_else(|| panic!("no finding for {arn}"))
    };
    assert_eq!(status(of(&bad)), (Some("FAILED".into()), Some("ACTIVE".into())));
    assert_eq!(status(of(&key_arn)), (Some("FAILED".into()), Some("ACTIVE".into())));
    assert_eq!(status(of(&fix)), (Some("PASSED".into()), Some("ARCHIVED".into())));
    let bad_finding = of(&bad);
    assert_eq!(
        bad_finding.product_arn(),
        Some(format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default").as_str())
    );
    assert_eq!(bad_finding.resources()[0].r#type(), Some("AwsSecretsManagerSecret"));
    let bad_id = bad_finding.id().unwrap().to_owned();

    // The owner adds the cost center; the next sweep finds the secret compliant and resolves
    // its finding. The key still departs: its finding stays FAILED and another event goes out.
    moto.secrets()
        .tag_resource()
        .secret_id(&bad)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("CostCenter")
                .value("4100")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &extra);
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["summary"]["compliant"], 3);
    assert_eq!(
        report["findings"]["security_hub"]["resolved"], 1,
        "{:#}",
        report["findings"]
    );
    assert_eq!(report["findings"]["security_hub"]["imported"], 1);
    assert_eq!(report["findings"]["events_put"], 1);
    let hub = hub_findings(&moto).await;
    assert_eq!(status(&hub[&bad_id]), (Some("PASSED".into()), Some("ARCHIVED".into())));
    assert_eq!(
        hub[&bad_id].workflow().and_then(|w| w.status()).map(|s| s.as_str()),
        Some("RESOLVED")
    );
    let events = moto.drain(&queue).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["arn"], key_arn.as_str());

    // A third sweep: nothing newly compliant, nothing resolved twice.
    let (_, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &extra);
    assert_eq!(report["findings"]["security_hub"]["resolved"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_puts_its_finding_on_a_bus_named_by_arn_and_a_missing_bus_leaves_the_remediation_standing() {
    let moto = Moto::start();
    let queue = moto.findings_queue(BUS).await;
    let arn = moto
        .create_secret("prod/payments/db", &[("CostCenter", "1234"), ("temp-debug", "1")])
        .await;
    let event = event(
        "secretsmanager-untag-resource.json",
        &[("prod/payments/db", arn.as_str())],
        &[],
    );
    let bus_arn = format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}");
    let (out, report) = handle(&moto, &event, &env(&[("TAG_WARDEN_FINDINGS_BUS", &bus_arn)]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(outcomes(&report), ["remediated"]);
    let events = moto.drain(&queue).await;
    assert_eq!(events.len(), 1);
    let detail = &events[0]["detail"];
    assert_eq!(detail["event"], "UntagResource");
    assert!(detail["actor"].as_str().unwrap().starts_with("arn:aws:"));
    assert!(detail["event_id"].is_string());

    // A bus that does not exist: PutEvents fails; the write stands, the entry says why.
    moto.secrets()
        .untag_resource()
        .secret_id(&arn)
        .tag_keys("Owner")
        .send()
        .await
        .unwrap();
    let (out, report) = handle(&moto, &event, &env(&[("TAG_WARDEN_FINDINGS_BUS", "no-such-bus")]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(outcomes(&report), ["remediated"]);
    assert_eq!(
        moto.secret_tags(&arn).await.get("Owner").map(String::as_str),
        Some("platform")
    );
    assert!(
        report["results"][0]["unpublished"]
            .as_str()
            .unwrap()
            .contains("findings bus"),
        "{report:#}"
    );
    assert_eq!(report["findings"]["events_failed"], 1);
}

/// The number in the page's element whose attributes are `attrs`.
fn page_number(page: &str, attrs: &str) -> u64 {
    let at = page.find(attrs).unwrap_or_else(|| panic!("no element with {attrs}"));
    let rest = &page[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find('<').unwrap();
    rest[start..end].trim().parse().unwrap()
}

/// A report-mode sweep of moto that also writes the page into `dir`: the JSON report, and the
/// page's path.
fn sweep_with_page(moto: &Moto, dir: &std::path::Path) -> (serde_json::Value, std::path::PathBuf) {
    let html = dir.join("compliance.html");
    let (out, report) = run_cli(
        moto,
        &[
            "reconcile",
            "--json",
            "--dry-run",
            "--region",
            REGION,
            "--html",
            html.to_str().unwrap(),
        ],
        &env(&[]),
    );
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    (report, html)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_page_shows_the_numbers_of_the_json_report() {
    let moto = Moto::start();
    for i in 0..6 {
        let tags: &[(&str, &str)] = match i % 3 {
            0 => &[("Owner", "a"), ("CostCenter", "1234")],
            1 => &[("Owner", "a")],
            _ => &[("CostCenter", "1234")],
        };
        moto.create_secret(&format!("app/s{i}"), tags).await;
    }
    moto.create_key(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let (report, html) = sweep_with_page(&moto, dir.path());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    let total: u64 = report["summary"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(page_number(&page, r#"data-scope="total" data-outcome="all""#), total);
    for (outcome, n) in report["summary"].as_object().unwrap() {
        assert_eq!(
            page_number(&page, &format!(r#"data-scope="total" data-outcome="{outcome}""#)),
            n.as_u64().unwrap()
        );
    }
    for (kind, counts) in report["sweep"]["by_kind"].as_object().unwrap() {
        for (outcome, n) in counts.as_object().unwrap() {
            let attrs = format!(r#"data-scope="kind" data-key="{kind}" data-kind="{kind}" data-outcome="{outcome}""#);
            assert_eq!(page_number(&page, &attrs), n.as_u64().unwrap(), "{attrs}");
        }
    }
    for (region, kinds) in report["sweep"]["by_region"].as_object().unwrap() {
        for (kind, counts) in kinds.as_object().unwrap() {
            for (outcome, n) in counts.as_object().unwrap() {
                let attrs =
                    format!(r#"data-scope="region" data-key="{region}" data-kind="{kind}" data-outcome="{outcome}""#);
                assert_eq!(page_number(&page, &attrs), n.as_u64().unwrap(), "{attrs}");
            }
        }
    }
    let listed = report["results"].as_array().unwrap().len() as u64;
    assert_eq!(page_number(&page, r#"data-scope="listed""#), listed);
    // Two secrets and the key lack CostCenter, which has no default: the rule tops the chart.
    assert_eq!(page_number(&page, r#"data-scope="rule" data-key="cost-center""#), 3);
    for r in report["results"].as_array().unwrap() {
        assert!(page.contains(r["arn"].as_str().unwrap()));
    }
}

/// Headless Chromium (Debian's `chromium`; `.ci/run` installs it when missing), started as the
/// machine's closed network wants it.
fn chromium(args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("chromium: `.ci/run` installs it (apt-get install chromium)")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_of_a_sweep_reads_right_in_a_real_browser() {
    let moto = Moto::start();
    for (i, owner) in ["payments", "payments", "search", ""].iter().enumerate() {
        let mut tags = vec![("Team", "x")];
        if !owner.is_empty() {
            tags.push(("Owner", *owner));
        }
        moto.create_secret(&format!("app/s{i}"), &tags).await;
    }
    moto.create_secret("app/ok", &[("Owner", "a"), ("CostCenter", "1234")])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (report, html) = sweep_with_page(&moto, dir.path());
    let url = format!("file://{}", html.display());
    let dom = chromium(&["--dump-dom", &url]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    // The DOM the browser built: counts per outcome as the report says them.
    for (outcome, n) in report["summary"].as_object().unwrap() {
        assert_eq!(
            page_number(&dom, &format!(r#"data-scope="total" data-outcome="{outcome}""#)),
            n.as_u64().unwrap(),
            "{outcome}"
        );
    }
    // No raw backticks: reasons show code as <code>.
    let visible = dom.split("<body>").nth(1).unwrap();
    assert!(!visible.contains('`'), "raw backticks in the page");
    assert!(visible.contains("<code>CostCenter</code>"), "code in the reasons");
    // Grouped by Owner: each team finds its own, and the resources without one.
    assert!(visible.contains("By Owner"));
    assert_eq!(page_number(&dom, r#"data-scope="group" data-key="payments""#), 2);
    assert_eq!(page_number(&dom, r#"data-scope="group" data-key="search""#), 1);
    assert_eq!(page_number(&dom, r#"data-scope="group" data-key="""#), 1);
    assert!(visible.contains("% compliant"), "the headline");
    assert!(!visible.contains("<th>kind</th><th>kind</th>"));
    // A picture of it, for people.
    let shot = root().join("target/compliance-page.png");
    let png = chromium(&[
        "--window-size=1280,1600",
        &format!("--screenshot={}", shot.display()),
        &url,
    ]);
    assert!(png.status.success(), "{}", String::from_utf8_lossy(&png.stderr));
    let bytes = std::fs::read(&shot).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn emf_lines_follow_the_report_only_when_asked_and_meet_the_specification() {
    let moto = Moto::start();
    let arn = moto.create_secret("prod/payments/db", &[("temp-debug", "1")]).await;
    let event = event(
        "secretsmanager-tag-resource.json",
        &[("prod/payments/db", arn.as_str())],
        &[],
    );
    let (out, report, docs) = handle_emf(
        &moto,
        &event,
        &env(&[("TAG_WARDEN_METRICS_NAMESPACE", "TagWardenTest")]),
    );
    assert!(out.status.success() || out.status.code() == Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(report.is_object(), "the report comes first: {stdout}");
    assert!(!docs.is_empty(), "{stdout}");
    assert_eq!(emf_spec::value(&docs, "TagWardenTest", &[], "Evaluated"), Some(1.0));
    assert_eq!(emf_spec::value(&docs, "TagWardenTest", &[], "Violations"), Some(1.0));
    assert_eq!(emf_spec::value(&docs, "TagWardenTest", &[], "TagsRemoved"), Some(1.0));
    assert_eq!(
        emf_spec::value(&docs, "TagWardenTest", &[("Kind", "secret")], "Violations"),
        Some(1.0)
    );
    assert_eq!(
        emf_spec::value(
            &docs,
            "TagWardenTest",
            &[("Kind", "secret"), ("Rule", "cost-center")],
            "Violations"
        ),
        Some(1.0)
    );
    assert_eq!(
        emf_spec::value(&docs, "TagWardenTest", &[("Account", ACCOUNT)], "Evaluated"),
        Some(1.0)
    );
    assert!(!stdout
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .any(|l| l.contains("arn:")));

    // Without --emf, stdout is the report alone.
    let (out, report) = handle(&moto, &event, &env(&[]));
    assert!(report.is_object(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"_aws\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_complete_sweep_closes_the_finding_of_a_secret_deleted_since() {
    let moto = Moto::start();
    let gone = moto.create_secret("app/gone", &[("Owner", "a")]).await;
    let stays = moto.create_secret("app/stays", &[("Owner", "a")]).await;
    let extra = env(&[("TAG_WARDEN_SECURITY_HUB", "true")]);
    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &extra);
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["findings"]["security_hub"]["imported"], 2, "{report:#}");

    moto.delete_secret_now(&gone).await;
    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &extra);
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = &report["findings"]["security_hub"];
    assert_eq!(summary["archived"], 1, "{summary:#}");
    assert_eq!(
        (summary["imported"].as_u64(), summary["resolved"].as_u64()),
        (Some(1), Some(0))
    );
    let hub = hub_findings(&moto).await;
    let of = |arn: &str| {
        hub.values()
            .find(|f| f.resources().first().and_then(|r| r.id()) == Some(arn))
            .unwrap_or_else(|| panic!("no finding for {arn}"))
    };
    let closed = of(&gone);
    assert_eq!(
        (
            closed.compliance().and_then(|c| c.status()).map(|s| s.as_str()),
            closed.record_state().map(|s| s.as_str()),
            closed.workflow().and_then(|w| w.status()).map(|s| s.as_str()),
        ),
        (Some("NOT_AVAILABLE"), Some("ARCHIVED"), Some("RESOLVED"))
    );
    assert_eq!(
        of(&stays).compliance().and_then(|c| c.status()).map(|s| s.as_str()),
        Some("FAILED")
    );

    // Closed once.
    let (_, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &extra);
    assert_eq!(report["findings"]["security_hub"]["archived"], 0);
}

/// The estate of issue 32 in moto: 2 compliant, 1 violating, 1 waived, 1 exempt (a KMS key
/// known by its alias), swept twice with memory; the page read in headless Chromium.
#[tokio::test(flavor = "multi_thread")]
async fn a_security_lead_reads_exceptions_apart_names_people_know_a_rate_per_owner_and_the_trend() {
    let moto = Moto::start();
    let table = "tag-warden-memory";
    moto.create_memory_table(table).await;
    let waiver_until = day(7);
    let policy = format!(
        r#"{{"version":2,"rules":[{{"name":"baseline","require":{{"CostCenter":{{"pattern":"^[0-9]{{4}}$"}}}}}}],
            "waivers":[{{"match":{{"names":["legacy/*"]}},"rules":["baseline"],"until":"{waiver_until}","reason":"<b>vendor</b> migration"}}]}}"#
    );
    let env = [
        ("TAG_WARDEN_POLICY", policy.as_str()),
        ("TAG_WARDEN_MEMORY_TABLE", table),
    ];
    moto.create_secret("app/a", &[("Owner", "payments"), ("CostCenter", "1234")])
        .await;
    moto.create_secret("app/b", &[("Owner", "search"), ("CostCenter", "1234")])
        .await;
    moto.create_secret("app/c", &[("Owner", "payments")]).await;
    moto.create_secret("legacy/d", &[("Owner", "search")]).await;
    let key = moto.create_key(&[("Owner", "payments")]).await;
    moto.kms()
        .create_alias()
        .alias_name("alias/team-a/keys")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let key_arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}");
    let exempt_until = day(40);
    let (out, _) = run_cli(
        &moto,
        &[
            "exempt",
            &key_arn,
            "--until",
            &exempt_until,
            "--reason",
            "HSM rotation RISK-7",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("compliance.html");
    let sweep = || {
        run_cli(
            &moto,
            &[
                "reconcile",
                "--json",
                "--dry-run",
                "--region",
                REGION,
                "--html",
                html.to_str().unwrap(),
            ],
            &env,
        )
    };
    let (out, first) = sweep();
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(first["compliance"]["exceptions"], 2, "{first}");
    let (out, report) = sweep();
    assert!(judged(&out), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["summary"]["waived"], 1, "{report}");
    assert_eq!(report["summary"]["exempt"], 1, "{report}");
    let url = format!("file://{}", html.display());
    let dom = chromium(&["--dump-dom", &url]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    let visible = dom.split("<body>").nth(1).unwrap();
    // The headline: 2 of 3, the exceptions left out and said so.
    assert!(visible.contains(r#"<span data-scope="headline">66.7</span>% compliant · <span data-scope="exceptions">2</span> exceptions not counted"#), "{visible}");
    // Exceptions: both, with who, why and the last day; the waiver (7 days) first and marked.
    let exceptions = &visible[visible.find(r#"id="exceptions""#).unwrap()..];
    let (w, x) = (
        exceptions.find("legacy/d").unwrap(),
        exceptions.find("alias/team-a/keys").unwrap(),
    );
    assert!(w < x, "the one ending soonest first");
    assert!(exceptions.contains(r#"<tr data-exception="waiver" class="soon">"#));
    assert!(exceptions.contains("&lt;b&gt;vendor&lt;/b&gt; migration") && !visible.contains("<b>vendor</b>"));
    assert!(exceptions.contains(&waiver_until) && exceptions.contains(&exempt_until));
    assert!(exceptions.contains("HSM rotation RISK-7") && exceptions.contains("arn:aws:sts::123456789012:user/moto"));
    // Names people know: the key by its alias, with its ARN on hover.
    assert!(
        exceptions.contains(&format!(r#"title="{key_arn}">alias/team-a/keys ({key})</span>"#)),
        "{exceptions}"
    );
    // A rate per Owner, worst first.
    assert_eq!(
        page_number(&dom, r#"data-scope="group-compliant" data-key="payments""#),
        1
    );
    assert_eq!(page_number(&dom, r#"data-scope="group" data-key="payments""#), 1);
    assert_eq!(
        page_number(&dom, r#"data-scope="group-exceptions" data-key="payments""#),
        1
    );
    assert!(visible.contains(r#"data-scope="group-rate" data-key="payments">50.0%<"#));
    assert!(visible.contains(r#"data-scope="group-rate" data-key="search">100.0%<"#));
    assert!(visible.find(r#"data-group="payments""#) < visible.find(r#"data-group="search""#));
    // The trend: the two sweeps, charted and tabled.
    assert_eq!(page_number(&dom, r#"data-scope="trend-points""#), 2);
    assert_eq!(visible.matches(r#"<tr data-scope="trend">"#).count(), 2);
    assert!(visible.contains(r#"<polyline data-series="rate""#) && visible.contains("<svg"));
    assert!(!dom.contains("<script"), "no script");
    let shot = root().join("target/compliance-page-security-lead.png");
    let png = chromium(&[
        "--window-size=1280,2200",
        &format!("--screenshot={}", shot.display()),
        &url,
    ]);
    assert!(png.status.success(), "{}", String::from_utf8_lossy(&png.stderr));
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
}
