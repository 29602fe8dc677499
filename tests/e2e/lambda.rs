//! The function as Lambda runs it: the release artifacts `cargo lambda build --release` made
//! (`make lambda-build`, before the tests), the release `bootstrap` (panic = abort) under a
//! Runtime API on loopback, and the debug build under `cargo lambda watch` + `cargo lambda invoke`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common::runtime_api::{peak_rss_kib, RuntimeApi};
use crate::common::*;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn lambda_dir() -> PathBuf {
    root().join("target/lambda/tag-warden")
}

fn release_bootstrap() -> PathBuf {
    let path = lambda_dir().join("bootstrap");
    assert!(
        path.is_file(),
        "{} missing: run `make lambda-build` (make test does)",
        path.display()
    );
    path
}

fn path_with_venv() -> String {
    format!(
        "{}:{}",
        root().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn cargo_lambda_release_build_made_the_bootstrap_and_its_zip() {
    let bin = std::fs::read(release_bootstrap()).unwrap();
    assert_eq!(&bin[..4], b"\x7fELF", "an ELF executable");
    assert_eq!(bin[18], 0x3e, "x86-64 (arm64 cannot be built on this machine)");
    let zip = std::fs::read(lambda_dir().join("bootstrap.zip")).unwrap();
    assert_eq!(&zip[..4], b"PK\x03\x04", "a zip archive");
    assert!(zip.windows(9).any(|w| w == b"bootstrap"), "holding the bootstrap");
    eprintln!("bootstrap {} bytes, bootstrap.zip {} bytes", bin.len(), zip.len());
    // Security Hub's SDK (ASFF: hundreds of resource-detail types) took it past 8 MB.
    assert!(zip.len() < 10 * 1024 * 1024, "zip ≤ 10 MB");
}

#[test]
fn cargo_lambda_deploy_reads_the_package_metadata() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tag-warden")).unwrap();
    std::fs::copy(release_bootstrap(), dir.path().join("tag-warden/bootstrap")).unwrap();
    let out = Command::new(cargo_lambda())
        .args(["lambda", "deploy", "--dry", "--output-format", "json", "--lambda-dir"])
        .arg(dir.path())
        .arg("tag-warden")
        .current_dir(root())
        .env("PATH", path_with_venv())
        .envs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ])
        .envs([
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A progress line may precede the JSON document.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout[stdout.find('{').unwrap()..]).unwrap();
    let config = &v["config"];
    assert_eq!(
        (config["memory"].as_i64(), config["timeout"].as_i64()),
        (Some(128), Some(300)),
        "{v}"
    );
    assert_eq!(config["runtime"], "provided.al2023");
    assert_eq!(config["tracing"], "PassThrough", "{v}");
    let env: Vec<&str> = config["env_var"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"TAG_WARDEN_MODE=report") && env.contains(&"TAG_WARDEN_POLICY_FILE=policies/example.json"),
        "{env:?}"
    );
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"bootstrap") && files.contains(&"policies/example.json"),
        "{files:?}"
    );
}

/// Starts the release bootstrap against `api`, with moto's environment, its output discarded.
fn spawn_bootstrap(api: &RuntimeApi, moto: &Moto, extra: &[(&str, &str)]) -> Child {
    spawn_bootstrap_to(api, moto, extra, Stdio::null(), Stdio::null())
}

/// Starts the release bootstrap against `api`, with moto's environment, output to `stdout`
/// and `stderr`.
fn spawn_bootstrap_to(api: &RuntimeApi, moto: &Moto, extra: &[(&str, &str)], stdout: Stdio, stderr: Stdio) -> Child {
    Command::new(release_bootstrap())
        .env_clear()
        .envs(moto.env())
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "tag-warden")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("TAG_WARDEN_POLICY", example_policy())
        .envs(extra.iter().copied())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_release_bootstrap_answers_hostile_payloads_without_dying() {
    let moto = Moto::start();
    let api = RuntimeApi::start();
    let mut child = spawn_bootstrap(&api, &moto, &[]);
    let mut payloads: Vec<(String, bool)> = Vec::new();
    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        // The resources do not exist: handled as skipped, a success.
        payloads.push((std::fs::read_to_string(entry.unwrap().path()).unwrap(), true));
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let bad_records = format!(
        r#"{{"Records":[{}]}}"#,
        vec![r#"{"eventSource":"kms.amazonaws.com","eventName":"TagResource","awsRegion":"us-east-1"}"#; 500].join(",")
    );
    for (hostile, ok) in [
        ("not json at all".to_owned(), false),
        ("[]".to_owned(), false),
        ("null".to_owned(), false),
        (r#"{"detail-type":"AWS API Call via CloudTrail","detail":[1,2]}"#.to_owned(), false),
        (r#"{"eventSource":7,"eventName":{"a":1},"awsRegion":[]}"#.to_owned(), true),
        (r#"{"eventSource":"kms.amazonaws.com","eventName":"TagResource","awsRegion":"us-east-1","resources":[{"ARN":5}],"requestParameters":{"keyId":"\u0000\uffff"}}"#.to_owned(), true),
        (deep, false),
        (bad_records, false),
        (format!(r#"{{"eventSource":"secretsmanager.amazonaws.com","eventName":"TagResource","awsRegion":"us-east-1","requestParameters":{{"secretId":"{}"}}}}"#, "x".repeat(200_000)), false),
    ] {
        payloads.push((hostile, ok));
    }
    let ids: Vec<String> = payloads.iter().map(|(p, _)| api.push(p)).collect();
    let answers = api.answers(ids.len(), Duration::from_secs(120));
    assert_eq!(answers.len(), ids.len(), "every invocation answered: {answers:?}");
    assert!(child.try_wait().unwrap().is_none(), "the process is still alive");
    for ((id, (payload, ok)), answer) in ids.iter().zip(&payloads).zip(&answers) {
        assert_eq!(&answer.request_id, id);
        let short = |s: &str| s.chars().take(160).collect::<String>();
        assert_eq!(answer.ok, *ok, "{}: {}", short(payload), short(&answer.body));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn cold_start_and_peak_rss_per_event_kind() {
    let moto = Moto::start();
    let mut rows = Vec::new();
    for file in [
        "secretsmanager-tag-resource.json",
        "kms-tag-resource.json",
        "cloudtrail-log-file.json",
        "ignored-own-call.json",
    ] {
        reset(&moto);
        let (secrets, keys) = seed_samples(&moto).await;
        let secret_map: Vec<(&str, &str)> = secrets.iter().map(|(n, a)| (*n, a.as_str())).collect();
        let key_map: Vec<(&str, &str)> = keys.iter().map(|(s, k)| (*s, k.as_str())).collect();
        // The function runs as its execution role (the own-call sample's).
        let me = moto
            .as_role("arn:aws:iam::123456789012:role/tag-warden-role", "tag-warden")
            .await;
        let me: Vec<(&str, &str)> = me.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let api = RuntimeApi::start();
        let spawned = Instant::now();
        let mut child = spawn_bootstrap(&api, &moto, &me);
        let deadline = Instant::now() + Duration::from_secs(10);
        while api.first_next().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        let cold = api.first_next().expect("the bootstrap asked for an event") - spawned;
        api.push(&event(file, &secret_map, &key_map));
        let answers = api.answers(1, Duration::from_secs(30));
        assert!(answers.len() == 1 && answers[0].ok, "{file}: {answers:?}");
        let rss = peak_rss_kib(child.id()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            sample_tags(&moto, &secrets, &keys).await,
            expected_after(file),
            "{file}"
        );
        rows.push(
            serde_json::json!({"event": file, "cold_start_ms": cold.as_secs_f64() * 1000.0, "peak_rss_kib": rss}),
        );
        eprintln!(
            "{file:48} cold start {:7.2} ms   peak RSS {:6} KiB",
            cold.as_secs_f64() * 1000.0,
            rss
        );
        // Bounds with room for a loaded CI machine; the measured figures are what the note reports.
        assert!(cold < Duration::from_millis(250), "{file}: cold start {cold:?}");
        assert!(rss < 48 * 1024, "{file}: peak RSS {rss} KiB");
    }
    std::fs::write(
        root().join("target/lambda-metrics.json"),
        serde_json::to_string_pretty(&rows).unwrap(),
    )
    .unwrap();
}

/// `cargo lambda watch` on a free loopback port with moto's environment, stopped on drop.
struct Watch {
    child: Child,
    port: u16,
}

impl Drop for Watch {
    /// Ctrl-C to cargo-lambda alone (it stops the function it runs), a bounded wait, and only
    /// then a kill of its own process group.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
        let _ = self.child.wait();
    }
}

/// `cargo lambda watch`, the function's output (and cargo-lambda's) written to `stdout`.
/// `cargo lambda watch` with moto's environment and `extra` (which wins over it).
fn watch(moto: &Moto, stdout: Stdio, extra: &[(String, String)]) -> Watch {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let mut cmd = Command::new(cargo_lambda());
    cmd.args([
        "lambda",
        "watch",
        "--ignore-changes",
        "--invoke-address",
        "127.0.0.1",
        "--invoke-port",
        &port.to_string(),
    ])
    .current_dir(root())
    .env("PATH", path_with_venv())
    .stdout(stdout)
    .stderr(Stdio::null())
    .process_group(0);
    for (k, v) in moto
        .env()
        .into_iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
    {
        cmd.arg("--env-var").arg(format!("{k}={v}"));
    }
    for (k, v) in extra {
        cmd.arg("--env-var").arg(format!("{k}={v}"));
    }
    cmd.arg("--env-var").arg("TAG_WARDEN_POLICY_FILE=policies/example.json");
    Watch {
        child: cmd.spawn().unwrap(),
        port,
    }
}

fn invoke(w: &Watch, file: &std::path::Path) -> std::process::Output {
    Command::new(cargo_lambda())
        .args([
            "lambda",
            "invoke",
            "tag-warden",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &w.port.to_string(),
            "--output-format",
            "json",
            "--data-file",
        ])
        .arg(file)
        .env("PATH", path_with_venv())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_event_under_cargo_lambda_watch() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watch.out");
    // The function runs as its execution role (the own-call sample's), and learns so on its
    // first event, before the loop below resets moto (and with it the role's session).
    let me = moto
        .as_role("arn:aws:iam::123456789012:role/tag-warden-role", "tag-warden")
        .await;
    let w = watch(&moto, std::fs::File::create(&log).unwrap().into(), &me);
    let mut files: Vec<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    // The first invoke waits for watch to compile and start the function.
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::net::TcpStream::connect(("127.0.0.1", w.port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let warm = dir.path().join("warm-up.json");
    std::fs::write(&warm, event("ignored-own-call.json", &[], &[])).unwrap();
    let out = invoke(&w, &warm);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcomes(&report), ["ignored"], "its own call: {report}");
    for file in files {
        reset(&moto);
        let (secrets, keys) = seed_samples(&moto).await;
        let secret_map: Vec<(&str, &str)> = secrets.iter().map(|(n, a)| (*n, a.as_str())).collect();
        let key_map: Vec<(&str, &str)> = keys.iter().map(|(s, k)| (*s, k.as_str())).collect();
        let data = dir.path().join(&file);
        std::fs::write(&data, event(&file, &secret_map, &key_map)).unwrap();
        let out = invoke(&w, &data);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["summary"]["error"], serde_json::Value::Null, "{file}: {report}");
        if file == "scheduled-reconcile.json" {
            assert_eq!(report["sweep"]["complete"], true, "{file}: {report}");
            assert_eq!(report["summary"]["remediated"], 5, "{file}: {report}");
        }
        let outcomes = outcomes(&report);
        assert!(!outcomes.iter().any(|o| o == "error"), "{file}: {outcomes:?}");
        assert_eq!(
            sample_tags(&moto, &secrets, &keys).await,
            expected_after(&file),
            "{file}"
        );
    }
    // A failed invocation is an error response with tag-warden's error type.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"hello":"world"}"#).unwrap();
    let out = invoke(&w, &bad);
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("TagWarden.NotAnEvent"), "{text}");

    // Each invocation wrote its metrics as EMF documents on stdout, one a line, beside the
    // log records: every one meets the specification, and the totals add up to the samples'.
    let out = std::fs::read_to_string(&log).unwrap();
    let docs = emf_spec::documents(&out);
    // Every sample, the bad payload, and the warm-up (the function's own call).
    let invocations = std::fs::read_dir(root().join("events")).unwrap().count() + 2;
    // The totals documents (the EventLatency ones have no dimension either, but no count).
    let totals = docs
        .iter()
        .filter(|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == serde_json::json!([[]]))
        .filter(|d| d.get("Evaluated").is_some())
        .count();
    let latencies = docs.iter().filter(|d| d.get("EventLatency").is_some()).count();
    assert!(latencies > 0, "event invocations write their latencies");
    assert_eq!(totals, invocations, "one totals document per invocation:\n{out}");
    assert_eq!(
        emf_spec::value(&docs, "TagWarden", &[], "Errors"),
        Some(1.0),
        "the bad payload"
    );
    assert!(emf_spec::value(&docs, "TagWarden", &[], "Remediated").unwrap() >= 5.0);
    assert!(emf_spec::value(&docs, "TagWarden", &[("Kind", "secret")], "Evaluated").unwrap() > 0.0);
    assert!(emf_spec::value(&docs, "TagWarden", &[("Kind", "kms-key")], "Evaluated").unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bootstrap_writes_one_set_of_emf_documents_per_invocation_on_stdout() {
    let moto = Moto::start();
    let (secrets, keys) = seed_samples(&moto).await;
    let secret_map: Vec<(&str, &str)> = secrets.iter().map(|(n, a)| (*n, a.as_str())).collect();
    let key_map: Vec<(&str, &str)> = keys.iter().map(|(s, k)| (*s, k.as_str())).collect();
    let api = RuntimeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let stdout = dir.path().join("stdout");
    let mut child = spawn_bootstrap_to(
        &api,
        &moto,
        &[
            ("TAG_WARDEN_METRICS_NAMESPACE", "Governance/Tags"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
        std::fs::File::create(&stdout).unwrap().into(),
        Stdio::null(),
    );
    api.push(&event("secretsmanager-untag-resource.json", &secret_map, &key_map));
    api.push(&event("kms-tag-resource.json", &secret_map, &key_map));
    api.push(r#"{"hello":"world"}"#);
    let answers = api.answers(3, Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answers.len(), 3);
    let out = std::fs::read_to_string(&stdout).unwrap();
    let mut docs = Vec::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v.get("_aws").is_some() {
            emf_spec::check(&v).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(!line.contains("arn:"), "no ARN in a metric: {line}");
            docs.push(v);
        } else {
            assert!(v.get("level").is_some(), "a log record: {line}");
        }
    }
    let ns = "Governance/Tags";
    assert_eq!(emf_spec::value(&docs, ns, &[], "Evaluated"), Some(2.0), "{out}");
    assert_eq!(emf_spec::value(&docs, ns, &[], "Errors"), Some(1.0));
    assert_eq!(
        emf_spec::value(&docs, ns, &[("Kind", "secret")], "Evaluated"),
        Some(1.0)
    );
    assert_eq!(
        emf_spec::value(&docs, ns, &[("Kind", "kms-key")], "Evaluated"),
        Some(1.0)
    );
    assert_eq!(
        emf_spec::value(&docs, ns, &[("Account", ACCOUNT)], "Evaluated"),
        Some(2.0)
    );
    let remediated = emf_spec::value(&docs, ns, &[], "Remediated").unwrap();
    let added = emf_spec::value(&docs, ns, &[], "TagsAdded").unwrap();
    assert!(remediated >= 1.0 && added >= 1.0, "{out}");
}

/// Events carrying a canary secret value where CloudTrail could put one.
fn canary_events(secrets: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for (file, name) in [
        ("secretsmanager-create-secret.json", "CreateSecret"),
        ("secretsmanager-update-secret.json", "UpdateSecret"),
        ("secretsmanager-update-secret.json", "PutSecretValue"),
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&event(file, secrets, &[])).unwrap();
        v["detail"]["eventName"] = serde_json::json!(name);
        v["detail"]["requestParameters"]["secretString"] = serde_json::json!(CANARY);
        v["detail"]["requestParameters"]["secretBinary"] = serde_json::json!(CANARY_B64);
        v["detail"]["responseElements"]["secretString"] = serde_json::json!(CANARY);
        out.push(v.to_string());
    }
    out
}

const CANARY: &str = "canary-6f1d2c9e-secret-value";
const CANARY_B64: &str = "Y2FuYXJ5LWJpbmFyeS03YjJhOQ==";

fn assert_no_canary(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY) && !text.contains(CANARY_B64),
        "{what} leaked the canary"
    );
    assert!(!text.contains("canary-6f1d"), "{what} leaked part of the canary");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_value_never_reaches_stdout_stderr_logs_or_the_report_at_trace() {
    let moto = Moto::start();
    let api_key = moto.create_secret("prod/orders/api-key", &[]).await;
    let db = moto.create_secret("prod/payments/db", &[]).await;
    let secrets = [
        ("prod/orders/api-key", api_key.as_str()),
        ("prod/payments/db", db.as_str()),
    ];
    let trace = [("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("RUST_LOG", "trace")];
    // The CLI, text and JSON logs.
    for format in ["text", "JSON"] {
        for e in canary_events(&secrets) {
            let mut env = trace.to_vec();
            env.push(("AWS_LAMBDA_LOG_FORMAT", format));
            let (out, _) = handle(&moto, &e, &env);
            assert!(String::from_utf8_lossy(&out.stderr).contains("TRACE") || format == "JSON");
            assert_no_canary("handle stdout", &String::from_utf8_lossy(&out.stdout));
            assert_no_canary("handle stderr", &String::from_utf8_lossy(&out.stderr));
        }
    }
    // The release bootstrap under the Runtime API, logs (and EMF metrics) captured, findings
    // put on a bus (delivered to a queue) and imported into Security Hub: the tags the CLI
    // wrote are taken off again, so that the secrets are findings once more.
    for arn in [&api_key, &db] {
        moto.secrets()
            .untag_resource()
            .secret_id(arn)
            .set_tag_keys(Some(vec!["Owner".into(), "CostCenter".into(), "DataClass".into()]))
            .send()
            .await
            .unwrap();
    }
    let queue = moto.findings_queue("findings").await;
    let api = RuntimeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut env = trace.to_vec();
    env.extend([
        ("TAG_WARDEN_FINDINGS_BUS", "findings"),
        ("TAG_WARDEN_SECURITY_HUB", "true"),
    ]);
    let mut child = spawn_bootstrap_to(
        &api,
        &moto,
        &env,
        std::fs::File::create(&stdout).unwrap().into(),
        std::fs::File::create(&stderr).unwrap().into(),
    );
    let events = canary_events(&secrets);
    events.iter().for_each(|e| {
        api.push(e);
    });
    let answers = api.answers(events.len(), Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answers.len(), events.len());
    let logs = std::fs::read_to_string(&stdout).unwrap() + &std::fs::read_to_string(&stderr).unwrap();
    assert!(logs.contains("TRACE"), "trace logging was on");
    assert_no_canary("bootstrap logs", &logs);
    assert!(logs.contains("\"_aws\""), "metrics were written");
    for a in &answers {
        assert_no_canary("the report", &a.body);
    }
    let events = moto.drain(&queue).await;
    assert!(!events.is_empty(), "the secrets created without tags are findings");
    assert_no_canary("finding events", &serde_json::to_string(&events).unwrap());
    let hub = moto.securityhub().get_findings().send().await.unwrap();
    assert!(!hub.findings().is_empty());
    assert_no_canary("Security Hub findings", &format!("{hub:?}"));
    // The compliance page of a sweep.
    let page = dir.path().join("page.html");
    let (out, _) = run_cli(
        &moto,
        &["reconcile", "--dry-run", "--html", page.to_str().unwrap()],
        &trace,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_no_canary("the HTML page", &std::fs::read_to_string(&page).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_6_mb_payload_and_a_log_file_of_10000_records_are_handled_in_bounded_memory() {
    let moto = Moto::start();
    let api = RuntimeApi::start();
    let mut child = spawn_bootstrap(&api, &moto, &[]);
    // 6 MB: one event whose request carries a huge (legal) description.
    let mut big: serde_json::Value =
        serde_json::from_str(&event("secretsmanager-update-secret.json", &[], &[])).unwrap();
    big["detail"]["requestParameters"]["description"] = serde_json::json!("d".repeat(6 * 1024 * 1024));
    api.push(&big.to_string());
    // 10,000 records, the limit: other services' noise and a few secrets that do not exist.
    let noise = serde_json::from_str::<serde_json::Value>(&event("ignored-other-service.json", &[], &[])).unwrap()
        ["detail"]
        .clone();
    let ours = serde_json::from_str::<serde_json::Value>(&event("secretsmanager-tag-resource.json", &[], &[])).unwrap()
        ["detail"]
        .clone();
    let records: Vec<serde_json::Value> = (0..10_000)
        .map(|i| if i % 1000 == 0 { ours.clone() } else { noise.clone() })
        .collect();
    api.push(&serde_json::json!({ "Records": records }).to_string());
    // One more record than the limit is refused with a clear message.
    let over: Vec<serde_json::Value> = vec![noise; 10_001];
    api.push(&serde_json::json!({ "Records": over }).to_string());
    let answers = api.answers(3, Duration::from_secs(120));
    let rss = peak_rss_kib(child.id()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answers.len(), 3);
    assert!(answers[0].ok, "{}", &answers[0].body[..answers[0].body.len().min(300)]);
    assert!(answers[1].ok);
    let report: serde_json::Value = serde_json::from_str(&answers[1].body).unwrap();
    assert_eq!(report["summary"]["ignored"], 9_990);
    assert_eq!(report["summary"]["skipped"], 10);
    assert!(
        answers[1].body.len() <= 5 * 1024 * 1024,
        "response within Lambda's limit: {} bytes",
        answers[1].body.len()
    );
    assert!(!answers[2].ok);
    assert!(
        answers[2].body.contains("TagWarden.TooManyRecords") && answers[2].body.contains("split it"),
        "{}",
        answers[2].body
    );
    eprintln!("peak RSS over a 6 MB event and a 10,000-record log file: {rss} KiB");
    assert!(rss < 256 * 1024, "bounded memory: {rss} KiB");
}
