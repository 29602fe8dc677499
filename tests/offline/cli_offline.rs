//! The offline commands: `tag-warden plan` (the handler's own path over the offline backend,
//! with no AWS call: no endpoint, no credentials are set, so a call would fail the command)
//! and `tag-warden validate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

fn plan(event: &str, tags: &str, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let tags_path = dir.path().join("tags.json");
    std::fs::File::create(&tags_path)
        .unwrap()
        .write_all(tags.as_bytes())
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tag-warden"));
    cmd.args(["plan", "--policy", &format!("{}/policies/example.json", root())])
        .args(["--event", &format!("{}/events/{event}", root())])
        .arg("--tags")
        .arg(&tags_path)
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The report of a plan that ran: exit 0 when everything is compliant, 1 (saying so on stderr,
/// and nothing else) when something is not; the docs' exit-code table.
fn report(out: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{stderr}"));
    let open = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| ["violation", "would-remediate", "error", "not-enrolled"].contains(&e["outcome"].as_str().unwrap()))
        .count();
    match open {
        0 => assert!(out.status.success() && stderr.is_empty(), "{stderr}"),
        n => {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(stderr.trim().starts_with(&format!("{n} resource")), "{stderr}");
        }
    }
    r
}

#[test]
fn a_secret_event_plans_the_writes_without_making_them() {
    let out = plan(
        "secretsmanager-tag-resource.json",
        r#"{"Owner":"someone","temp-debug":"1","aws:cloudformation:stack-name":"s"}"#,
        &[],
    );
    let r = report(&out);
    assert_eq!(r["mode"], "enforce", "the report names the configured mode");
    let e = &r["results"][0];
    assert_eq!(e["outcome"], "would-remediate");
    assert_eq!(e["resource_id"], "prod/payments/db");
    assert!(e.get("arn").is_none(), "offline there is no ARN to report");
    assert_eq!(e["region"], "us-east-1");
    assert_eq!(e["plan"]["untag"], serde_json::json!(["temp-debug"]));
    assert_eq!(e["plan"]["tag"]["Owner"], "platform");
    assert_eq!(e["tags_added"], serde_json::json!({}));
    assert_eq!(e["event"]["name"], "TagResource");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "1 resource or account not compliant (see the report)",
        "plan logs nothing but its verdict"
    );
}

#[test]
fn a_kms_event_with_an_arn_reports_it_and_a_self_set_exemption_is_not_honoured() {
    let r = report(&plan(
        "kms-tag-resource.json",
        r#"{"tag-warden:exempt":"true","temp-debug":"1"}"#,
        &[],
    ));
    let e = &r["results"][0];
    assert_eq!(e["outcome"], "would-remediate", "{e}");
    assert!(e["arn"].as_str().unwrap().starts_with("arn:aws:kms:"));
    assert_eq!(e["plan"]["untag"], serde_json::json!(["temp-debug"]));
    let reasons = e["reasons"].to_string();
    assert!(reasons.contains("exemption not verified"), "{reasons}");
    // A far-off exempt-until is a violation, whoever set it.
    let r = report(&plan(
        "kms-tag-resource.json",
        r#"{"tag-warden:exempt-until":"9999-12-31","temp-debug":"1"}"#,
        &[],
    ));
    let reasons = r["results"][0]["reasons"].to_string();
    assert!(reasons.contains("more than 90 days ahead"), "{reasons}");
}

#[test]
fn plan_refuses_an_account_outside_tag_warden_accounts() {
    let r = report(&plan(
        "secretsmanager-tag-resource.json",
        "{}",
        &[
            ("TAG_WARDEN_ACCOUNTS", "111111111111"),
            ("TAG_WARDEN_MEMBER_ROLE", "tag-warden-member"),
        ],
    ));
    let e = &r["results"][0];
    assert_eq!(e["outcome"], "ignored", "{e}");
    assert!(e["reasons"][0]
        .as_str()
        .unwrap()
        .contains("account 123456789012 is not governed"));
}

/// `tag-warden validate FILE` under a 256 MiB address-space limit, and how long it took.
fn validate_bounded(text: &str, name: &str) -> (Output, std::time::Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let started = std::time::Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 262144 && exec \"$0\" validate \"$1\"")
        .arg(env!("CARGO_BIN_EXE_tag-warden"))
        .arg(&path)
        .env_clear()
        .output()
        .unwrap();
    (out, started.elapsed())
}

#[test]
fn hostile_policies_fail_fast_in_little_memory() {
    // A "billion laughs": 569 bytes that expand to 9^9 strings.
    let mut bomb =
        String::from("version: 2\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (i, c) in ('b'..='i').enumerate() {
        let prev = char::from(b'a' + i as u8);
        bomb.push_str(&format!("{c}: &{c} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
    }
    bomb.push_str("rules: [{name: r, forbid: [*i]}]\n");
    // 3,000 rules whose defaults all clash: 4.5 million pairs.
    let clash: Vec<String> = (0..3000)
        .map(|i| format!(r#"{{"name":"r{i}","require":{{"CostCenter":{{"default":"{i:04}"}}}}}}"#))
        .collect();
    let clash = format!(r#"{{"rules":[{}]}}"#, clash.join(","));
    // 500 rules (the most allowed) whose defaults all clash: every problem found is counted,
    // the first 100 listed.
    let many: Vec<String> = (0..500)
        .map(|i| format!(r#"{{"name":"r{i}","require":{{"CostCenter":{{"default":"{i:04}"}}}}}}"#))
        .collect();
    let many = format!(r#"{{"rules":[{}]}}"#, many.join(","));
    let big = format!(
        r#"{{"description":"{}","rules":[{{"name":"r","forbid":["Debug"]}}]}}"#,
        "x".repeat(2 << 20)
    );
    for (name, text, says) in [
        ("bomb.yaml", bomb.as_str(), "anchors and aliases"),
        ("clash.json", clash.as_str(), "3000 rules are more than the 500"),
        ("many.json", many.as_str(), "and at least 9900 more (checking stopped)"),
        ("big.json", big.as_str(), "more than the 1048576 accepted"),
    ] {
        let (out, took) = validate_bounded(text, name);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(says), "{name}: {}", &err[..err.len().min(600)]);
        assert!(err.lines().count() <= 103, "{name}: {} lines", err.lines().count());
        assert!(took < std::time::Duration::from_secs(1), "{name}: {took:?}");
    }
}

/// A valid policy near the 1 MiB cap: 500 rules of `keys` keys each, from `line(rule, key)`.
fn near_the_cap(keys: usize, scope: impl Fn(usize) -> String, line: impl Fn(usize, usize) -> String) -> String {
    let mut out = String::from("version: 2\nrules:\n");
    for r in 0..500 {
        out.push_str(&format!("  - name: rule-{r}\n{}    require:\n", scope(r)));
        for k in 0..keys {
            out.push_str(&format!("      {}\n", line(r, k)));
        }
        out.push_str(&format!("    forbid: [\"tmp{r}*\", \"*secret*\", Debug{r}]\n"));
    }
    out
}

#[test]
fn valid_policies_near_the_size_cap_validate_in_linear_time() {
    // Every rule comparing with every other (keys × keys each) took 9.5 s for 175 KB of rules
    // naming the same keys alike; only rules that could conflict are compared now, and a
    // pattern shared by many keys is compiled once.
    let unscoped = |_: usize| String::new();
    let shapes = [
        (
            "alike.yaml",
            near_the_cap(34, unscoped, |_, k| {
                format!("Key{k}: {{ pattern: \"^v{k}-[0-9]+$\", default: v{k}-0 }}")
            }),
        ),
        (
            "distinct.yaml",
            near_the_cap(
                12,
                |r| format!("    match:\n      names: [\"team-{r}/*\"]\n"),
                |r, k| {
                    let values: Vec<String> = (0..10).map(|j| format!("v{r}-{k}-{j}")).collect();
                    format!("Key{r}x{k}: {{ values: [{}], default: v{r}-{k}-0 }}", values.join(", "))
                },
            ),
        ),
        (
            "scoped-defaults.yaml",
            near_the_cap(
                30,
                |r| format!("    match:\n      accounts: [\"{}\"]\n", 100_000_000_000u64 + r as u64),
                |r, k| format!("Key{k}: {{ pattern: \"^v{k}-[0-9]+$\", default: v{k}-{r} }}"),
            ),
        ),
    ];
    for (name, text) in &shapes {
        assert!(
            text.len() > 700_000 && text.len() < 1 << 20,
            "{name}: {} bytes",
            text.len()
        );
        let (out, took) = validate_bounded(text, name);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {}", &err[..err.len().min(600)]);
        eprintln!("{name}: {} bytes validated in {took:?}", text.len());
        // A debug build on a loaded two-core machine; a release build takes a fraction.
        assert!(took < std::time::Duration::from_secs(6), "{name}: {took:?}");
    }
}

#[test]
fn the_mode_variable_names_the_mode_and_a_schedule_is_not_swept_offline() {
    let r = report(&plan(
        "scheduled-reconcile.json",
        "{}",
        &[("TAG_WARDEN_MODE", "report")],
    ));
    assert_eq!(r["mode"], "report");
    assert_eq!(r["results"][0]["outcome"], "ignored");
    assert!(r["results"][0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("tag-warden reconcile --dry-run"));
}

#[test]
fn ignored_events_and_log_files_go_through_the_handler_path() {
    let r = report(&plan("ignored-failed-call.json", "{}", &[]));
    assert_eq!(r["results"][0]["outcome"], "ignored");
    let r = report(&plan("cloudtrail-log-file.json", r#"{"Owner":"platform"}"#, &[]));
    assert_eq!(r["results"].as_array().unwrap().len(), 3);
}

#[test]
fn bad_tags_exit_2_and_a_payload_that_is_no_event_exits_1() {
    let out = plan("kms-tag-resource.json", "[1]", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a JSON object of string tags"));
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("e.json");
    std::fs::write(&event, r#"{"hello":"world"}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .args(["plan", "--policy", &format!("{}/policies/example.json", root())])
        .arg("--event")
        .arg(&event)
        .args(["--tags", &format!("{}/policies/example.json", root())])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the tags file is checked before the event");
    let tags = dir.path().join("t.json");
    std::fs::write(&tags, "{}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .args(["plan", "--policy", &format!("{}/policies/example.json", root())])
        .arg("--event")
        .arg(&event)
        .arg("--tags")
        .arg(&tags)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: not an event"));
}

#[test]
fn validate_warns_of_a_lock_without_memory_and_start_up_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("locked.json");
    std::fs::write(
        &policy,
        r#"{"rules":[{"name":"creator","require":{"CreatedBy":{"lock":true}}}]}"#,
    )
    .unwrap();
    let validate = |env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .arg("validate")
            .arg(&policy)
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let out = validate(&[]);
    assert!(out.status.success(), "a warning, not an error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("`CreatedBy` (rule `creator`)"),
        "{err}"
    );
    let out = validate(&[("TAG_WARDEN_MEMORY_TABLE", "memory")]);
    assert!(out.status.success() && out.stderr.is_empty());

    let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .args(["handle", &format!("{}/events/ignored-failed-call.json", root())])
        .env_clear()
        .env("TAG_WARDEN_POLICY_FILE", &policy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TAG_WARDEN_MEMORY_TABLE is not set"));
}

#[test]
fn plan_judges_as_in_the_account_region_and_name_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("v2.yaml");
    std::fs::write(
        &policy,
        "version: 2\nrules:\n  - name: sandbox\n    match: { accounts: ['210987654321'], regions: ['eu-*'] }\n    require:\n      Team: { default: '{name[0]}' }\n",
    )
    .unwrap();
    let tags = dir.path().join("tags.json");
    std::fs::write(&tags, "{}").unwrap();
    let plan = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .args(["plan", "--policy"])
            .arg(&policy)
            .args(["--event", &format!("{}/events/kms-tag-resource.json", root())])
            .arg("--tags")
            .arg(&tags)
            .args(extra)
            .env_clear()
            .output()
            .unwrap();
        report(&out)
    };
    assert_eq!(
        plan(&[])["results"][0]["outcome"],
        "compliant",
        "the event's own account is out of scope"
    );
    let r = plan(&[
        "--account",
        "210987654321",
        "--region",
        "eu-west-1",
        "--name",
        "team-x/data",
    ]);
    assert_eq!(r["results"][0]["plan"]["tag"]["Team"], "team-x", "{r}");
    assert_eq!(r["results"][0]["region"], "eu-west-1");
}

fn test_cmd(cases: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .arg("test")
        .arg(cases)
        .args(extra)
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn policy_test_cases_pass_fail_with_a_diff_or_are_invalid_in_yaml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let policy = format!("{}/policies/example.json", root());
    let json = dir.path().join("cases.json");
    std::fs::write(
        &json,
        r#"{"today":"2026-11-23","cases":[
            {"name":"passes","resource":{"kind":"kms-key","tags":{"Owner":"orders","CostCenter":"1234"}},"expect":{"outcome":"compliant"}},
            {"name":"fails","resource":{"kind":"kms-key","tags":{}},"expect":{"outcome":"compliant","add":{"Owner":"payments"}}}]}"#,
    )
    .unwrap();
    let out = test_cmd(&json, &["--policy", &policy]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok   passes") && text.contains("FAIL fails"), "{text}");
    assert!(
        text.contains("outcome: expected `compliant`, got `remediated`"),
        "{text}"
    );
    assert!(
        text.contains("add: expected {Owner=payments}, got {CostCenter=0000, Owner=platform}"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));

    let yaml = dir.path().join("cases.yaml");
    std::fs::write(
        &yaml,
        format!("policy: {policy}\ncases:\n  - name: yaml passes\n    resource: {{ kind: secret, tags: {{ Owner: orders, CostCenter: '1234', DataClass: public }} }}\n    expect: {{ outcome: compliant, violations: [] }}\n"),
    )
    .unwrap();
    let out = test_cmd(&yaml, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().last(),
        Some("1 passed, 0 failed")
    );

    let invalid = dir.path().join("bad.yaml");
    std::fs::write(
        &invalid,
        "cases:\n  - name: a\n    resource: { kind: bucket }\n    expect: {}\n  - nme: b\n  - name: c\n    resource: { kind: secret }\n    expect: { outcome: complaint }\n",
    )
    .unwrap();
    let out = test_cmd(&invalid, &["--policy", &policy]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid cases (3)") && err.contains("/cases/0") && err.contains("/cases/1"),
        "{err}"
    );
    // A kind or an outcome out of the closed sets is refused when the file is read, naming
    // what would do, not run as a case that can never pass.
    assert!(
        err.contains("/cases/0: unknown variant `bucket`, expected `secret` or `kms-key`"),
        "{err}"
    );
    assert!(
        err.contains("/cases/2: unknown variant `complaint`") && err.contains("`compliant`"),
        "{err}"
    );
    let out = test_cmd(&yaml, &["--policy", "/nonexistent.json"]);
    assert_eq!(out.status.code(), Some(2), "an unreadable policy is invalid");
}

#[test]
fn the_shipped_policy_cases_pass() {
    for file in ["example.cases.yaml", "example-v2.cases.yaml"] {
        let out = test_cmd(&PathBuf::from(root()).join("policies").join(file), &[]);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

fn import(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .arg("import-tag-policy")
        .args(args)
        .current_dir(root())
        .env_clear()
        .output()
        .unwrap()
}

#[test]
fn a_tag_policy_imports_the_same_from_policy_syntax_an_effective_policy_or_its_content() {
    let syntax = import(&["policies/example.tag-policy.json"]);
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
    let err = String::from_utf8_lossy(&syntax.stderr);
    assert!(
        err.contains("@@operators_allowed_for_child_policies: an inheritance control for child policies, ignored"),
        "{err}"
    );
    // The same policy as AWS resolves it: plain values, then inside the API's response.
    let content = r#"{"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["100","200","300*"],"enforced_for":["secretsmanager:ALL_SUPPORTED"],"report_required_tag_for":["secretsmanager:secret","kms:key"]},"owner":{"tag_key":"Owner","report_required_tag_for":["secretsmanager:*","kms:ALL_SUPPORTED"]},"team":{"tag_key":"Team","tag_value":["payments","search"],"enforced_for":["ec2:instance"]}}}"#;
    let response = serde_json::json!({"EffectivePolicy": {"PolicyContent": content, "LastUpdatedTimestamp": "2026-11-30T10:00:00Z", "TargetId": "111122223333", "PolicyType": "TAG_POLICY"}});
    let dir = tempfile::tempdir().unwrap();
    let body = |out: &Output| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (name, text) in [
        ("content.json", content.to_owned()),
        ("response.json", response.to_string()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = import(&[path.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(body(&out), body(&syntax), "{name}");
    }
}

#[test]
fn the_committed_import_is_current_and_check_catches_a_changed_tag_policy() {
    let out = import(&[
        "policies/example.tag-policy.json",
        "--check",
        "policies/example.tag-policy.imported.yaml",
    ]);
    assert!(out.status.success(), "stale: {}", String::from_utf8_lossy(&out.stdout));
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("changed.json");
    let text = std::fs::read_to_string(format!("{}/policies/example.tag-policy.json", root())).unwrap();
    std::fs::write(&changed, text.replace("\"300*\"", "\"400*\"")).unwrap();
    let out = import(&[
        changed.to_str().unwrap(),
        "--check",
        "policies/example.tag-policy.imported.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("- ") && diff.contains("400.*"), "{diff}");
}

#[test]
fn anything_but_a_tag_policy_exits_2_saying_what_one_needs() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "iam.json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        ),
        ("empty.json", r#"{"tags": {}}"#),
        (
            "bad-values.json",
            r#"{"tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": "100"}}}"#,
        ),
        ("not-json.json", "tags: {}"),
        (
            "too-long.json",
            &format!(
                r#"{{"tags": {{"{}": {{"tag_key": "{}"}}}}}}"#,
                "k".repeat(129),
                "K".repeat(129)
            ),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = import(&[path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("tag policy")
                || err.contains("expected")
                || err.contains("not JSON")
                || err.contains("at most")
                || err.contains("longer than"),
            "{name}: {err}"
        );
        assert!(out.stdout.is_empty(), "{name}: nothing printed");
    }
}

/// A policy that locks `CreatedBy`, in a temporary file.
fn locked_policy(dir: &std::path::Path) -> PathBuf {
    let policy = dir.join("locked.json");
    std::fs::write(
        &policy,
        r#"{"rules":[{"name":"creator","require":{"CreatedBy":{"lock":true},"Owner":{"default":"platform"}}}]}"#,
    )
    .unwrap();
    policy
}

#[test]
fn plan_is_offline_with_a_lock_and_takes_remembered_values_and_inline_tags() {
    let dir = tempfile::tempdir().unwrap();
    let policy = locked_policy(dir.path());
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .args(["plan", "--policy"])
            .arg(&policy)
            .args([
                "--event",
                &format!("{}/events/secretsmanager-untag-resource.json", root()),
            ])
            .args(extra)
            .env_clear()
            .output()
            .unwrap()
    };
    // Before: exit 2, "TAG_WARDEN_MEMORY_TABLE is not set", for an offline command.
    let out = run(&["--tags", r#"{"Owner":"payments"}"#]);
    let r = report(&out);
    assert_eq!(
        r["results"][0]["outcome"], "violation",
        "a lock with nothing remembered has no value to restore"
    );
    // With what memory holds, the locked value comes back, from a file or inline.
    let remembered = dir.path().join("remembered.json");
    std::fs::write(&remembered, r#"{"CreatedBy":"alice"}"#).unwrap();
    for arg in [remembered.to_str().unwrap(), r#"{"CreatedBy":"alice"}"#] {
        let r = report(&run(&["--tags", r#"{"Owner":"payments"}"#, "--remembered", arg]));
        let e = &r["results"][0];
        assert_eq!(e["outcome"], "would-remediate", "{e:#}");
        assert_eq!(e["plan"]["tag"]["CreatedBy"], "alice", "{e:#}");
    }
    // Inline tags that are not a JSON object of strings: exit 2, naming the option.
    let out = run(&["--tags", r#"{"Owner":1}"#]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tags (inline)"));
}

#[test]
fn validate_takes_the_policy_as_every_command_does_or_on_its_own() {
    let policy = format!("{}/policies/example.json", root());
    for args in [vec!["validate", "--policy", &policy], vec!["validate", &policy]] {
        let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .args(&args)
            .env_clear()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .arg("validate")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no policy is a usage error");
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    // `tag-warden … | head`: the reader is gone before the command writes. Before: a panic
    // ("failed printing to stdout: Broken pipe"), exit 101.
    let policy = format!("{}/policies/example.json", root());
    let event = format!("{}/events/cloudtrail-log-file.json", root());
    let commands: Vec<Vec<&str>> = vec![
        vec!["schema"],
        vec!["validate", &policy],
        vec!["guardrails", "--policy", &policy, "--kind", "scp"],
        vec!["plan", "--policy", &policy, "--event", &event, "--tags", "{}"],
    ];
    for args in commands {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .args(&args)
            .env_clear()
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
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

#[test]
fn the_aws_documentation_examples_import_as_committed_and_their_cases_state_aws_verdicts() {
    let dir = format!("{}/tests/fixtures/aws-docs", root());
    // Each import: the committed YAML, and the policies it comes from (root first; `+` joins
    // policies attached to one place, in attachment order).
    let ex = |n: &str| format!("{dir}/tag-policy-inheritance-example-{n}.json");
    let imports: Vec<(&str, Vec<String>)> = vec![
        (
            "tag-policy-syntax-basic",
            vec![format!("{dir}/tag-policy-syntax-basic.json")],
        ),
        ("tag-policy-inheritance-example-1-policy-a", vec![ex("1-policy-a")]),
        ("tag-policy-inheritance-example-1-policy-b", vec![ex("1-policy-b")]),
        ("tag-policy-inheritance-example-1-effective", vec![ex("1-effective")]),
        (
            "tag-policy-inheritance-example-2",
            vec![ex("1-policy-a"), ex("2-policy-c")],
        ),
        (
            "tag-policy-inheritance-example-3",
            vec![ex("1-policy-a"), ex("2-policy-c"), ex("3-policy-d-corrected")],
        ),
        (
            "tag-policy-inheritance-example-4",
            vec![ex("4-policy-e"), ex("4-policy-f")],
        ),
        (
            "tag-policy-inheritance-example-5",
            vec![format!("{}+{}", ex("5-policy-g"), ex("5-policy-h")), ex("5-child")],
        ),
        (
            "tag-policy-inheritance-example-6",
            vec![format!("{}+{}", ex("6-policy-j"), ex("6-policy-k"))],
        ),
        (
            "tag-policy-describe-effective-policy.response",
            vec![format!("{dir}/tag-policy-describe-effective-policy.response.json")],
        ),
    ];
    for (example, sources) in &imports {
        let committed = format!("{dir}/{example}.imported.yaml");
        let mut args: Vec<&str> = sources.iter().map(String::as_str).collect();
        args.extend(["--check", &committed]);
        let out = import(&args);
        assert!(
            out.status.success(),
            "{example}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // `--effective` prints the merge as AWS displays it: Example 2's effective policy, as the
    // page shows it; Policy D as the page prints it is refused (exit 2), naming the place.
    let shown = import(&[&ex("1-policy-a"), &ex("2-policy-c"), "--effective"]);
    let ours: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(ex("2-effective")).unwrap()).unwrap();
    assert_eq!(ours, theirs);
    let d = import(&[&ex("1-policy-a"), &ex("2-policy-c"), &ex("3-policy-d")]);
    assert_eq!(d.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&d.stderr).contains("/tags/costcenter/tag_value: `enforced_for`"));
    // Every case file there is run (make test runs them too), and each import has one.
    let mut case_files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".cases.yaml"))
        .collect();
    case_files.sort();
    assert!(case_files.len() >= 9, "{case_files:?}");
    for cases in case_files.iter().map(|n| n.trim_end_matches(".cases.yaml")) {
        let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .args(["test", &format!("{dir}/{cases}.cases.yaml")])
            .env_clear()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cases}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn the_committed_schema_is_what_the_binary_prints() {
    let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .arg("schema")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}/policy.schema.json", root())).unwrap()).unwrap();
    assert_eq!(
        committed, printed,
        "policy.schema.json is stale: run `tag-warden schema > policy.schema.json`"
    );
}
