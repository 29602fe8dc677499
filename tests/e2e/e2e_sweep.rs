//! The reconcile sweep end to end: `tag-warden reconcile` against moto server, with every call
//! counted by moto's recorder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::*;
use std::collections::BTreeMap;

/// 150 secrets (two ListSecrets pages) and 12 keys: every 5th secret and every 3rd key miss
/// `Owner`; every 10th secret carries a forbidden key.
async fn seed(moto: &Moto) -> (Vec<String>, Vec<String>) {
    let mut secrets = Vec::new();
    for i in 0..150 {
        let mut t = vec![("Owner", "payments"), ("CostCenter", "1234"), ("DataClass", "internal")];
        if i % 5 == 0 {
            t.remove(0);
        }
        if i % 10 == 0 {
            t.push(("temp-note", "x"));
        }
        secrets.push(moto.create_secret(&format!("app/secret-{i:03}"), &t).await);
    }
    let mut keys = Vec::new();
    for i in 0..12 {
        let t: &[(&str, &str)] = if i % 3 == 0 {
            &[("CostCenter", "1234")]
        } else {
            &[("Owner", "payments"), ("CostCenter", "1234")]
        };
        keys.push(moto.create_key(t).await);
    }
    (secrets, keys)
}

fn counts(calls: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in calls {
        *m.entry(c.clone()).or_insert(0) += 1;
    }
    m
}

fn total(report: &serde_json::Value, outcome: &str) -> u64 {
    report["summary"][outcome].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_fixes_mixed_compliance_at_the_api_floor_and_a_second_sweep_writes_nothing() {
    let moto = Moto::start();
    let (secrets, keys) = seed(&moto).await;
    moto.start_recording();
    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let calls = counts(&moto.recorded());
    assert_eq!(
        calls.get("secretsmanager.ListSecrets"),
        Some(&2),
        "150 secrets, 100 a page: {calls:?}"
    );
    assert_eq!(
        calls.get("secretsmanager.DescribeSecret"),
        None,
        "ListSecrets carries the tags"
    );
    assert_eq!(calls.get("secretsmanager.TagResource"), Some(&30), "{calls:?}");
    assert_eq!(calls.get("secretsmanager.UntagResource"), Some(&15), "{calls:?}");
    assert_eq!(calls.get("kms.ListKeys"), Some(&1));
    assert_eq!(calls.get("kms.ListResourceTags"), Some(&12));
    assert_eq!(
        calls.get("kms.DescribeKey"),
        Some(&4),
        "key state only where a write is due"
    );
    assert_eq!(calls.get("kms.TagResource"), Some(&4));
    assert_eq!(total(&report, "remediated"), 34);
    assert_eq!(report["sweep"]["complete"], true);
    assert_eq!(report["sweep"]["by_kind"]["secret"]["remediated"], 30);
    assert_eq!(report["sweep"]["by_region"][REGION]["kms-key"]["remediated"], 4);
    for arn in &secrets {
        let t = moto.secret_tags(arn).await;
        assert!(
            t.contains_key("Owner") && !t.keys().any(|k| k.starts_with("temp")),
            "{arn}: {t:?}"
        );
    }
    for key in &keys {
        assert!(moto.key_tags(key).await.contains_key("Owner"), "{key}");
    }

    moto.start_recording();
    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &[]);
    assert!(out.status.success());
    let writes: Vec<String> = moto
        .recorded()
        .into_iter()
        .filter(|c| c.ends_with("TagResource"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(total(&report, "compliant"), 162);
    assert!(report["results"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_or_report_mode_writes_nothing_and_lists_what_it_would_fix() {
    let moto = Moto::start();
    let (secrets, _) = seed(&moto).await;
    for (args, env) in [
        (vec!["reconcile", "--json", "--dry-run", "--region", REGION], vec![]),
        (
            vec!["reconcile", "--json", "--region", REGION],
            vec![("TAG_WARDEN_MODE", "report")],
        ),
    ] {
        moto.start_recording();
        let (out, report) = run_cli(&moto, &args, &env);
        assert!(judged(&out));
        assert!(moto
            .recorded()
            .iter()
            .all(|c| !c.ends_with("TagResource") && c != "kms.DescribeKey"));
        assert_eq!(report["mode"], "report");
        assert_eq!(total(&report, "would-remediate"), 34);
        assert_eq!(
            report["results"].as_array().unwrap().len(),
            34,
            "every resource left not compliant is listed"
        );
    }
    assert!(!moto.secret_tags(&secrets[0]).await.contains_key("Owner"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_summarises_per_region_and_kind_and_no_progress_goes_to_a_pipe() {
    let moto = Moto::start();
    seed(&moto).await;
    let (out, _) = run_cli(&moto, &["reconcile", "--dry-run", "--region", REGION], &[]);
    assert!(judged(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    let secret_row = table
        .lines()
        .find(|l| l.starts_with("us-east-1") && l.contains(" secret "))
        .unwrap();
    let cells: Vec<&str> = secret_row.split_whitespace().collect();
    assert_eq!(cells[2..5], ["120", "0", "30"], "{table}");
    assert!(
        table.contains("not compliant (34)") && table.contains("complete"),
        "{table}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("sweeping"),
        "no progress line when piped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_event_sweeps_the_home_region_and_extra_regions() {
    let moto = Moto::start();
    seed(&moto).await;
    let west = moto.secrets_in("us-west-2");
    west.create_secret()
        .name("west/one")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let event = std::fs::read_to_string(root().join("events/scheduled-reconcile.json")).unwrap();
    let (out, report) = handle(&moto, &event, &[("TAG_WARDEN_REGIONS", "us-west-2")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        report["sweep"]["regions"],
        serde_json::json!(["us-east-1", "us-west-2"])
    );
    assert_eq!(report["sweep"]["by_region"]["us-west-2"]["secret"]["remediated"], 1);
    assert_eq!(total(&report, "remediated"), 35);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_are_refused_before_any_call() {
    let moto = Moto::start();
    moto.start_recording();
    let (out, _) = run_cli(&moto, &["reconcile", "--kms-write-rps", "0", "--region", REGION], &[]);
    assert_eq!(out.status.code(), Some(2));
    let (out, _) = run_cli(
        &moto,
        &["reconcile", "--region", REGION],
        &[("TAG_WARDEN_SECRETS_WRITE_RPS", "lots")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TAG_WARDEN_SECRETS_WRITE_RPS"));
    assert!(moto.recorded().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_streams_pages_into_the_workers_and_keeps_only_what_needs_attention() {
    let moto = Moto::start();
    for i in 0..60 {
        let t: &[(&str, &str)] = if i % 2 == 0 {
            &[("CostCenter", "1234"), ("DataClass", "internal")]
        } else {
            &[("Owner", "payments"), ("CostCenter", "1234"), ("DataClass", "internal")]
        };
        moto.create_secret(&format!("app/s{i:02}"), t).await;
    }
    // 5 secrets a page: 12 pages.
    let small = [("TAG_WARDEN_LIST_PAGE_SIZE", "5")];
    moto.start_recording();
    let (out, report) = run_cli(&moto, &["reconcile", "--json", "--region", REGION], &small);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let calls = moto.recorded();
    let lists: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| *c == "secretsmanager.ListSecrets")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(lists.len(), 12, "{calls:?}");
    assert_eq!(
        report["sweep"]["pages"].as_u64(),
        Some(12 + 1),
        "and the keys' one page"
    );
    let first_write = calls.iter().position(|c| c == "secretsmanager.TagResource").unwrap();
    assert!(
        first_write < *lists.last().unwrap(),
        "processing starts before the listing ends: {calls:?}"
    );
    assert_eq!(total(&report, "remediated"), 30);
    assert!(
        report["results"].as_array().unwrap().is_empty(),
        "compliant entries are not kept"
    );

    // A report-mode sweep bounded to 4 entries: all counted, 4 listed, the rest truncated.
    for i in 0..10 {
        let id = format!("app/s{:02}", i * 2);
        moto.secrets()
            .untag_resource()
            .secret_id(id)
            .tag_keys("Owner")
            .send()
            .await
            .unwrap();
    }
    let (out, report) = run_cli(
        &moto,
        &["reconcile", "--json", "--dry-run", "--region", REGION],
        &[
            ("TAG_WARDEN_LIST_PAGE_SIZE", "5"),
            ("TAG_WARDEN_REPORT_MAX_ENTRIES", "4"),
            ("RUST_LOG", "debug"),
        ],
    );
    assert!(judged(&out));
    assert_eq!(total(&report, "would-remediate"), 10);
    assert_eq!(report["results"].as_array().unwrap().len(), 4);
    assert_eq!(report["sweep"]["truncated"], 6);
    let logged = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        logged.matches("resource outcome").count(),
        60,
        "every entry is logged, kept or not"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_stops_early_ends_reconcile_and_history_quietly() {
    // `tag-warden reconcile --json | head -1`: before, a panic ("failed printing to stdout").
    let moto = Moto::start();
    let (secrets, _) = seed(&moto).await;
    moto.create_memory_table("tag-warden-memory").await;
    let memory = [("TAG_WARDEN_MEMORY_TABLE", "tag-warden-memory")];
    run_cli(&moto, &["reconcile", "--region", REGION], &memory);
    let (out, _) = run_cli(&moto, &["history", &secrets[0]], &memory);
    assert!(
        out.stdout.len() > 100,
        "a history to print: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for args in [
        vec!["reconcile", "--json", "--dry-run", "--region", REGION],
        vec!["history", secrets[0].as_str()],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TAG_WARDEN_POLICY", example_policy())
            .env("TAG_WARDEN_MEMORY_TABLE", "tag-warden-memory")
            .envs(moto.env())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_ne!(out.status.code(), Some(101), "{args:?}");
    }
}
