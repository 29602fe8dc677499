//! Shared end-to-end harness: a moto server per test on a free loopback port, SDK clients to
//! seed and inspect it, the sample events rewritten to the ids moto assigned, and moto's
//! request recorder to count the calls tag-warden makes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
/// Key ids the sample events use; tests map them to the ids moto assigns.
pub const SAMPLE_KEY_1: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
pub const SAMPLE_KEY_2: &str = "0987dcba-09fe-87dc-65ba-ab0987654321";
/// Full secret ARNs the sample events use (moto assigns other random suffixes).
pub const SAMPLE_SECRET_ARNS: &[(&str, &str)] = &[
    (
        "prod/payments/db",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q",
    ),
    (
        "prod/orders/api-key",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/api-key-Q2w3E4",
    ),
    (
        "legacy/reporting",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:legacy/reporting-a1B2c3",
    ),
];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The moto server executable: `TAG_WARDEN_MOTO_SERVER`, else the repo's `.venv` (made by `make venv`).
fn moto_executable() -> PathBuf {
    let path = std::env::var_os("TAG_WARDEN_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/moto_server"));
    assert!(
        path.exists(),
        "{} not found: run `make test` (it creates .venv with moto) or set TAG_WARDEN_MOTO_SERVER",
        path.display()
    );
    path
}

/// A moto server on 127.0.0.1, stopped on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// Its own request-recorder file: moto's default is `./moto_recording`, which parallel
    /// servers would share.
    _recording: tempfile::TempDir,
}

impl Moto {
    /// Starts a server, trying again on a fresh port when one exits early (another process took
    /// the port between `free_port` and moto's bind) and allowing two minutes for a start on a
    /// loaded two-core machine, where importing moto alone can take tens of seconds.
    pub fn start() -> Moto {
        let mut last = String::new();
        for _ in 0..3 {
            match Moto::try_start() {
                Ok(moto) => return moto,
                Err(why) => last = why,
            }
        }
        panic!("moto_server did not start: {last}");
    }

    fn try_start() -> Result<Moto, String> {
        let port = free_port();
        let recording = tempfile::tempdir().unwrap();
        let child = Command::new(moto_executable())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_RECORDER_FILEPATH", recording.path().join("recording.jsonl"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let mut moto = Moto {
            child,
            port,
            _recording: recording,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("moto_server on port {port} exited early: {status}"));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && moto.try_http("GET", "/moto-api/").is_ok() {
                return Ok(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("moto_server did not answer on port {port} within 120 s"))
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn try_http(&self, method: &str, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return Err(std::io::Error::other(format!("{method} {path}: {head}")));
        }
        Ok(body.to_owned())
    }

    pub fn http(&self, method: &str, path: &str) -> String {
        self.try_http(method, path).unwrap()
    }

    /// Clears and starts moto's request recorder.
    pub fn start_recording(&self) {
        self.http("POST", "/moto-api/recorder/reset-recording");
        self.http("POST", "/moto-api/recorder/start-recording");
    }

    /// The AWS operations recorded since `start_recording`, in order (`secretsmanager.TagResource`;
    /// [`WHO_AM_I`] is the process learning its own identity, once, before an event it acts on).
    pub fn recorded(&self) -> Vec<String> {
        self.http("POST", "/moto-api/recorder/stop-recording");
        let log = self.http("GET", "/moto-api/recorder/download-recording");
        log.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                // JSON protocols name the call in a header; query protocols (STS) in the body.
                let body = v["body"].as_str().unwrap_or_default();
                let body = if v["body_encoded"] == true {
                    base64(body)
                } else {
                    body.to_owned()
                };
                let action = body
                    .split('&')
                    .find_map(|p| p.strip_prefix("Action="))
                    .map(|a| format!("query.{a}"));
                let target = v["headers"]["X-Amz-Target"].as_str().map(str::to_owned).or(action);
                target
                    .unwrap_or_else(|| "?".to_owned())
                    .replace("TrentService.", "kms.")
                    .replace("DynamoDB_20120810.", "dynamodb.")
                    .replace("query.GetCallerIdentity", "sts.GetCallerIdentity")
                    .replace("query.AssumeRole", "sts.AssumeRole")
            })
            .collect()
    }

    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint().as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(
                aws_sdk_secretsmanager::config::Credentials::for_tests(),
            ))
            .build()
    }

    /// The environment of a process that runs as a session of `role_arn` (moto's AssumeRole:
    /// GetCallerIdentity then answers with that session), as the Lambda function runs as its
    /// execution role.
    pub async fn as_role(&self, role_arn: &str, session: &str) -> Vec<(String, String)> {
        let out = aws_sdk_sts::Client::new(&self.sdk_config())
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session)
            .send()
            .await
            .unwrap();
        let c = out.credentials().unwrap();
        vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), c.access_key_id().to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), c.secret_access_key().to_owned()),
            ("AWS_SESSION_TOKEN".to_owned(), c.session_token().to_owned()),
        ]
    }

    /// Tags the secret `arn` `key=value`, as a caller would (straight to moto).
    pub async fn tag_secret(&self, arn: &str, key: &str, value: &str) {
        let t = aws_sdk_secretsmanager::types::Tag::builder()
            .key(key)
            .value(value)
            .build();
        self.secrets()
            .tag_resource()
            .secret_id(arn)
            .tags(t)
            .send()
            .await
            .unwrap();
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config())
    }

    pub fn secrets_in(&self, region: &'static str) -> aws_sdk_secretsmanager::Client {
        let conf = aws_sdk_secretsmanager::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(conf)
    }

    pub fn events(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk_config())
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config())
    }

    pub fn securityhub(&self) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.sdk_config())
    }

    /// A bus, and a rule on it delivering tag-warden's findings to a new queue: the queue's URL.
    pub async fn findings_queue(&self, bus: &str) -> String {
        let events = self.events();
        events.create_event_bus().name(bus).send().await.unwrap();
        let sqs = self.sqs();
        let url = sqs
            .create_queue()
            .queue_name("findings")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:findings");
        events
            .put_rule()
            .name("findings-to-queue")
            .event_bus_name(bus)
            .event_pattern(r#"{"source":["tag-warden"],"detail-type":["Tag Policy Finding"]}"#)
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule("findings-to-queue")
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("q")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        url
    }

    /// Every message on the queue (events as EventBridge delivers them), removed.
    pub async fn drain(&self, url: &str) -> Vec<serde_json::Value> {
        let sqs = self.sqs();
        let mut all = Vec::new();
        loop {
            let out = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return all;
            }
            for m in messages {
                all.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk_config())
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config())
    }

    /// Creates the memory table as the template does (partition key `arn`, on demand).
    pub async fn create_memory_table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.dynamodb()
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("arn")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("arn")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    /// Creates a secret with `tags` and returns its ARN.
    pub async fn create_secret(&self, name: &str, tags: &[(&str, &str)]) -> String {
        create_secret_with(&self.secrets(), name, tags).await
    }

    /// Deletes a secret at once (no recovery window): it is gone, as a sweep will find it.
    pub async fn delete_secret_now(&self, id: &str) {
        self.secrets()
            .delete_secret()
            .secret_id(id)
            .force_delete_without_recovery(true)
            .send()
            .await
            .unwrap();
    }

    pub async fn secret_tags(&self, id: &str) -> BTreeMap<String, String> {
        secret_tags_with(&self.secrets(), id).await
    }

    /// Creates a customer-managed key with `tags` and returns its key id.
    pub async fn create_key(&self, tags: &[(&str, &str)]) -> String {
        let tags = tags.iter().map(|(k, v)| {
            aws_sdk_kms::types::Tag::builder()
                .tag_key(*k)
                .tag_value(*v)
                .build()
                .unwrap()
        });
        let out = self
            .kms()
            .create_key()
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .unwrap();
        out.key_metadata().unwrap().key_id().to_owned()
    }

    pub async fn key_tags(&self, key_id: &str) -> BTreeMap<String, String> {
        let out = self.kms().list_resource_tags().key_id(key_id).send().await.unwrap();
        out.tags()
            .iter()
            .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a secret through `client` (any account and region) and returns its ARN.
pub async fn create_secret_with(client: &aws_sdk_secretsmanager::Client, name: &str, tags: &[(&str, &str)]) -> String {
    let tags = tags
        .iter()
        .map(|(k, v)| aws_sdk_secretsmanager::types::Tag::builder().key(*k).value(*v).build());
    let out = client
        .create_secret()
        .name(name)
        .secret_string("not-a-real-secret")
        .set_tags(Some(tags.collect()))
        .send()
        .await
        .unwrap();
    out.arn().unwrap().to_owned()
}

/// A secret's tags, read through `client`.
pub async fn secret_tags_with(client: &aws_sdk_secretsmanager::Client, id: &str) -> BTreeMap<String, String> {
    let out = client.describe_secret().secret_id(id).send().await.unwrap();
    out.tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap_or("").to_owned()))
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A sample event with its ids rewritten to those moto assigned: `secrets` maps secret names
/// to real ARNs, `keys` maps sample key ids to real key ids.
pub fn event(name: &str, secrets: &[(&str, &str)], keys: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join("events").join(name)).unwrap();
    for (secret_name, real_arn) in secrets {
        if let Some((_, sample_arn)) = SAMPLE_SECRET_ARNS.iter().find(|(n, _)| n == secret_name) {
            text = text.replace(sample_arn, real_arn);
        }
    }
    for (sample_id, real_id) in keys {
        text = text.replace(sample_id, real_id);
    }
    text
}

pub fn example_policy() -> String {
    std::fs::read_to_string(root().join("policies/example.json")).unwrap()
}

/// Runs `tag-warden handle -` on `event` with moto's environment plus `extra`.
pub fn handle(moto: &Moto, event: &str, extra: &[(&str, &str)]) -> (Output, serde_json::Value) {
    let out = run_handle(moto, &["handle", "-"], event, extra);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, report)
}

/// [`handle`] with `--emf`: also the EMF documents printed after the report, each checked
/// against the specification.
pub fn handle_emf(
    moto: &Moto,
    event: &str,
    extra: &[(&str, &str)],
) -> (Output, serde_json::Value, Vec<serde_json::Value>) {
    let out = run_handle(moto, &["handle", "--emf", "-"], event, extra);
    let (report, emf) = report_and_emf(&out.stdout);
    (out, report, emf)
}

/// The stdout of a command run with `--emf`: the report, then the EMF documents printed after
/// it, each checked against the specification.
pub fn report_and_emf(stdout: &[u8]) -> (serde_json::Value, Vec<serde_json::Value>) {
    let stdout = String::from_utf8_lossy(stdout);
    let mut values = serde_json::Deserializer::from_str(&stdout).into_iter::<serde_json::Value>();
    let report = values.next().and_then(Result::ok).unwrap_or(serde_json::Value::Null);
    (report, emf_spec::documents(&stdout))
}

/// Runs `tag-warden ARGS` with `event` on stdin, moto's environment plus `extra`.
pub fn run_handle(moto: &Moto, args: &[&str], event: &str, extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tag-warden"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TAG_WARDEN_POLICY", example_policy())
        .envs(moto.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(event.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub mod emf_spec;
pub mod fault_proxy;
pub mod http;
pub mod runtime_api;

/// The sample resources every file in events/ refers to, created dirty: returns the secret
/// name → ARN and sample key id → real key id maps used to rewrite the events.
pub async fn seed_samples(moto: &Moto) -> (Vec<(&'static str, String)>, Vec<(&'static str, String)>) {
    let secrets = vec![
        (
            "prod/payments/db",
            moto.create_secret(
                "prod/payments/db",
                &[
                    ("Owner", "someone-else"),
                    ("temp-debug", "true"),
                    ("CostCenter", "1234"),
                    ("DataClass", "internal"),
                ],
            )
            .await,
        ),
        (
            "prod/orders/api-key",
            moto.create_secret("prod/orders/api-key", &[("Owner", "payments")])
                .await,
        ),
        ("legacy/reporting", moto.create_secret("legacy/reporting", &[]).await),
    ];
    let keys = vec![
        (
            SAMPLE_KEY_1,
            moto.create_key(&[("Owner", "payments"), ("CostCenter", "12"), ("Debug", "on")])
                .await,
        ),
        (SAMPLE_KEY_2, moto.create_key(&[]).await),
    ];
    (secrets, keys)
}

/// Every sample resource's tags after tag-warden ran on the given sample event with the example policy.
pub fn expected_after(file: &str) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let db_fixed = tags(&[("Owner", "platform"), ("CostCenter", "1234"), ("DataClass", "internal")]);
    let db_dirty = tags(&[
        ("Owner", "someone-else"),
        ("temp-debug", "true"),
        ("CostCenter", "1234"),
        ("DataClass", "internal"),
    ]);
    let key1_fixed = tags(&[("Owner", "payments"), ("CostCenter", "0000")]);
    let key1_dirty = tags(&[("Owner", "payments"), ("CostCenter", "12"), ("Debug", "on")]);
    let orders = tags(&[("Owner", "payments")]);
    let untouched = vec![
        ("prod/payments/db", db_dirty.clone()),
        ("prod/orders/api-key", orders.clone()),
        ("legacy/reporting", tags(&[])),
        (SAMPLE_KEY_1, key1_dirty.clone()),
        (SAMPLE_KEY_2, tags(&[])),
    ];
    let with = |changes: Vec<(&'static str, BTreeMap<String, String>)>| {
        untouched
            .iter()
            .map(|(k, v)| changes.iter().find(|(c, _)| c == k).cloned().unwrap_or((*k, v.clone())))
            .collect()
    };
    match file {
        "secretsmanager-tag-resource.json"
        | "secretsmanager-untag-resource.json"
        | "secretsmanager-update-secret.json" => with(vec![("prod/payments/db", db_fixed)]),
        "secretsmanager-create-secret.json" => with(vec![(
            "prod/orders/api-key",
            tags(&[
                ("Owner", "payments"),
                ("CostCenter", "0000"),
                ("DataClass", "confidential"),
            ]),
        )]),
        "secretsmanager-create-secret-legacy-arn.json" => with(vec![(
            "legacy/reporting",
            tags(&[
                ("Owner", "platform"),
                ("CostCenter", "0000"),
                ("DataClass", "confidential"),
            ]),
        )]),
        "kms-tag-resource.json" | "kms-untag-resource.json" | "cloudtrail-record-kms-untag-resource.json" => {
            with(vec![(SAMPLE_KEY_1, key1_fixed)])
        }
        "tag-change-secret.json" => with(vec![("prod/payments/db", db_fixed.clone())]),
        "tag-change-kms-key.json" => with(vec![(SAMPLE_KEY_1, key1_fixed.clone())]),
        "kms-create-key.json" => with(vec![(
            SAMPLE_KEY_2,
            tags(&[("Owner", "platform"), ("CostCenter", "0000")]),
        )]),
        "cloudtrail-log-file.json" => with(vec![("prod/payments/db", db_fixed), (SAMPLE_KEY_1, key1_fixed)]),
        // The schedule sweeps the region: everything is fixed.
        "scheduled-reconcile.json" => with(vec![
            ("prod/payments/db", db_fixed),
            (
                "prod/orders/api-key",
                tags(&[
                    ("Owner", "payments"),
                    ("CostCenter", "0000"),
                    ("DataClass", "confidential"),
                ]),
            ),
            (
                "legacy/reporting",
                tags(&[
                    ("Owner", "platform"),
                    ("CostCenter", "0000"),
                    ("DataClass", "confidential"),
                ]),
            ),
            (SAMPLE_KEY_1, key1_fixed),
            (SAMPLE_KEY_2, tags(&[("Owner", "platform"), ("CostCenter", "0000")])),
        ]),
        _ => untouched,
    }
}

/// The tags of every sample resource now, in the order of `expected_after`.
pub async fn sample_tags(
    moto: &Moto,
    secrets: &[(&'static str, String)],
    keys: &[(&'static str, String)],
) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for (name, arn) in secrets {
        out.push((*name, moto.secret_tags(arn).await));
    }
    for (sample, id) in keys {
        out.push((*sample, moto.key_tags(id).await));
    }
    out
}

pub fn reset(moto: &Moto) {
    moto.http("POST", "/moto-api/reset");
}

/// The cargo-lambda executable: `TAG_WARDEN_CARGO_LAMBDA`, else the repo's `.venv`.
pub fn cargo_lambda() -> PathBuf {
    let path = std::env::var_os("TAG_WARDEN_CARGO_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/cargo-lambda"));
    assert!(
        path.exists(),
        "{} not found: run `make test` (it installs cargo-lambda into .venv)",
        path.display()
    );
    path
}

/// Runs `tag-warden ARGS` with moto's environment and the example policy.
pub fn run_cli(moto: &Moto, args: &[&str], extra: &[(&str, &str)]) -> (Output, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TAG_WARDEN_POLICY", example_policy())
        .envs(moto.env())
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, report)
}

/// Whether a command that judges resources ran to its verdict: exit 0 (everything compliant),
/// or exit 1 saying only that some resources are not (docs/cli.md, "Exit codes"), not that the
/// command failed.
pub fn judged(out: &Output) -> bool {
    match out.status.code() {
        Some(0) => true,
        Some(1) => String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .is_some_and(|l| l.ends_with("not compliant (see the report)")),
        _ => false,
    }
}

/// The outcome of every entry of a report, in order.
pub fn outcomes(report: &serde_json::Value) -> Vec<String> {
    report["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["outcome"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The call a process makes once, to learn who it is, before judging an event.
pub const WHO_AM_I: &str = "sts.GetCallerIdentity";

/// Standard base64 (moto's recorder keeps request bodies so), as text.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The day `offset_days` from today, UTC, as the code reads it (`YYYY-MM-DD`).
pub fn day(offset_days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    tag_warden::domain::Date::of_epoch_ms(now.as_millis() as u64)
        .plus_days(offset_days)
        .to_string()
}
