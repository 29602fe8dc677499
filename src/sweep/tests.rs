use super::*;
use crate::apply::{ApiError, ErrorKind};
use crate::model::Tags;
use crate::policy::parse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A region's worth of one kind of resource, in memory: `tags_listed` says whether the listing
/// carries tags (ListSecrets) or each needs its own call (ListKeys + ListResourceTags).
#[derive(Default)]
struct FakeInventory {
    resources: Mutex<BTreeMap<String, Tags>>,
    tags_listed: bool,
    refuse_writes: BTreeSet<String>,
    calls: Mutex<Vec<String>>,
    fail_list: bool,
    slow_tags: Option<Duration>,
}

impl FakeInventory {
    fn with(n: usize, dirty_every: usize, tags_listed: bool) -> Self {
        let resources = (0..n)
            .map(|i| {
                let mut tags: Tags = [("Owner".to_string(), "platform".to_string())].into();
                if dirty_every > 0 && i % dirty_every == 0 {
                    tags.remove("Owner");
                    tags.insert("Debug".into(), "on".into());
                }
                (format!("arn:r{i:04}"), tags)
            })
            .collect();
        FakeInventory {
            resources: Mutex::new(resources),
            tags_listed,
            ..Default::default()
        }
    }

    fn count(&self, op: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|c| c.starts_with(op)).count()
    }
}

impl TagStore for FakeInventory {
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        self.calls.lock().unwrap().push(format!("read {id}"));
        let tags = self.resources.lock().unwrap().get(id).cloned().unwrap_or_default();
        Ok(ResourceState {
            arn: id.into(),
            tags,
            skip: None,
        })
    }
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.calls.lock().unwrap().push(format!("untag {arn}"));
        let mut all = self.resources.lock().unwrap();
        if let Some(t) = all.get_mut(arn) {
            keys.iter().for_each(|k| {
                t.remove(k);
            });
        }
        Ok(())
    }
    async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), ApiError> {
        self.calls.lock().unwrap().push(format!("tag {arn}"));
        if let Some(t) = self.resources.lock().unwrap().get_mut(arn) {
            t.extend(tags.clone());
        }
        Ok(())
    }
}

impl Inventory for FakeInventory {
    async fn list(&self) -> Result<Vec<Listed>, ApiError> {
        self.calls.lock().unwrap().push("list".into());
        if self.fail_list {
            return Err(ApiError {
                operation: "list",
                resource: "*".into(),
                kind: ErrorKind::Throttled,
                code: "ThrottlingException".into(),
                message: "Rate exceeded".into(),
            });
        }
        let all = self.resources.lock().unwrap();
        Ok(all
            .iter()
            .map(|(arn, tags)| Listed {
                arn: arn.clone(),
                tags: self.tags_listed.then(|| tags.clone()),
                skip: None,
            })
            .collect())
    }
    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        self.calls.lock().unwrap().push(format!("tags {arn}"));
        if let Some(d) = self.slow_tags {
            tokio::time::sleep(d).await;
        }
        Ok(self.resources.lock().unwrap().get(arn).cloned().unwrap_or_default())
    }
    async fn write_guard(&self, arn: &str) -> Result<Option<String>, ApiError> {
        self.calls.lock().unwrap().push(format!("guard {arn}"));
        Ok(self.refuse_writes.contains(arn).then(|| "pending deletion".to_owned()))
    }
}

struct FakeBackend {
    secrets: Arc<FakeInventory>,
    keys: Arc<FakeInventory>,
}

impl Backend for FakeBackend {
    type Secrets = Arc<FakeInventory>;
    type Keys = Arc<FakeInventory>;
    fn secrets(&self, _region: &str) -> Arc<FakeInventory> {
        Arc::clone(&self.secrets)
    }
    fn keys(&self, _region: &str) -> Arc<FakeInventory> {
        Arc::clone(&self.keys)
    }
}

const POLICY: &str = r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"}},"forbid":["Debug"]}]}"#;

async fn sweep(
    backend: &FakeBackend,
    mode: Mode,
    settings: &SweepSettings,
    deadline: Deadline,
) -> (Vec<ResourceReport>, SweepSummary) {
    let policy = parse(POLICY).unwrap();
    let s = Sweep {
        backend,
        policy: &policy,
        mode,
        settings,
        deadline,
    };
    s.run(&["us-east-1".to_owned()], &|_| {}).await
}

fn count(entries: &[ResourceReport], outcome: Outcome) -> usize {
    entries.iter().filter(|e| e.outcome == outcome).count()
}

#[tokio::test]
async fn mixed_compliance_is_fixed_with_writes_only_where_needed_and_a_second_sweep_writes_nothing() {
    let backend = FakeBackend {
        secrets: Arc::new(FakeInventory::with(250, 10, true)),
        keys: Arc::new(FakeInventory::with(20, 4, false)),
    };
    let (entries, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert!(summary.complete);
    assert_eq!(entries.len(), 270);
    assert_eq!(summary.by_kind[&ResourceKind::Secret][&Outcome::Remediated], 25);
    assert_eq!(summary.by_kind[&ResourceKind::KmsKey][&Outcome::Remediated], 5);
    assert_eq!(
        summary.by_region["us-east-1"][&ResourceKind::Secret][&Outcome::Compliant],
        225
    );
    // Secrets: one list, no per-secret read; writes for the 25 dirty ones only.
    assert_eq!(
        (
            backend.secrets.count("list"),
            backend.secrets.count("read"),
            backend.secrets.count("tags")
        ),
        (1, 0, 0)
    );
    assert_eq!(
        (backend.secrets.count("untag"), backend.secrets.count("tag ")),
        (25, 25)
    );
    // Keys: tags per key; the state check only where a write is due.
    assert_eq!((backend.keys.count("tags"), backend.keys.count("guard")), (20, 5));

    let (entries, _) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert_eq!(count(&entries, Outcome::Compliant), 270);
    assert_eq!(
        backend.secrets.count("untag") + backend.secrets.count("tag "),
        50,
        "no new writes"
    );
    assert_eq!(backend.keys.count("guard"), 5, "no new state checks");
}

#[tokio::test]
async fn report_mode_writes_nothing_and_checks_no_key_state() {
    let backend = FakeBackend {
        secrets: Arc::new(FakeInventory::with(30, 3, true)),
        keys: Arc::new(FakeInventory::with(6, 2, false)),
    };
    let (entries, _) = sweep(&backend, Mode::Report, &SweepSettings::default(), Deadline::NONE).await;
    assert_eq!(count(&entries, Outcome::WouldRemediate), 13);
    assert_eq!(
        backend.secrets.count("untag") + backend.secrets.count("tag ") + backend.keys.count("guard"),
        0
    );
    let report = crate::report::Report::of_sweep(Mode::Report, entries, SweepSummary::default());
    assert_eq!(report.results.len(), 13, "the report lists what is left not compliant");
}

#[tokio::test]
async fn a_key_whose_state_refuses_writes_is_skipped_before_writing() {
    let mut keys = FakeInventory::with(4, 1, false);
    keys.refuse_writes.insert("arn:r0002".into());
    let backend = FakeBackend {
        secrets: Arc::new(FakeInventory::with(0, 0, true)),
        keys: Arc::new(keys),
    };
    let (entries, _) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert_eq!(
        (count(&entries, Outcome::Remediated), count(&entries, Outcome::Skipped)),
        (3, 1)
    );
    assert!(!backend
        .keys
        .calls
        .lock()
        .unwrap()
        .iter()
        .any(|c| c == "untag arn:r0002" || c == "tag arn:r0002"));
}

#[tokio::test]
async fn a_failed_listing_is_an_error_entry_and_an_incomplete_sweep() {
    let mut secrets = FakeInventory::with(3, 1, true);
    secrets.fail_list = true;
    let backend = FakeBackend {
        secrets: Arc::new(secrets),
        keys: Arc::new(FakeInventory::with(2, 0, false)),
    };
    let (entries, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert!(!summary.complete);
    let error = entries.iter().find(|e| e.outcome == Outcome::Error).unwrap();
    assert_eq!(error.error_type.as_deref(), Some("Throttled"));
    assert!(error.reasons[0].contains("listing every secret in us-east-1 failed"));
    assert_eq!(count(&entries, Outcome::Compliant), 2, "keys were still swept");
}

#[tokio::test]
async fn nothing_starts_after_the_deadline_and_the_rest_is_counted() {
    let mut keys = FakeInventory::with(40, 1, false);
    keys.slow_tags = Some(Duration::from_millis(20));
    let backend = FakeBackend {
        secrets: Arc::new(FakeInventory::with(0, 0, true)),
        keys: Arc::new(keys),
    };
    let settings = SweepSettings {
        concurrency: 2,
        ..SweepSettings::default()
    };
    let deadline = Deadline::before(Instant::now() + Duration::from_millis(150), Duration::from_millis(50));
    let (entries, summary) = sweep(&backend, Mode::Enforce, &settings, deadline).await;
    assert!(!summary.complete);
    assert!(!entries.is_empty() && entries.len() < 40, "{} handled", entries.len());
    assert_eq!(entries.len() + summary.not_started, 40);
    // Whatever was started finished: every handled key was written both ways, none half-done.
    assert!(entries.iter().all(|e| e.outcome == Outcome::Remediated));
    assert_eq!(backend.keys.count("untag"), entries.len());
    assert_eq!(backend.keys.count("tag "), entries.len());
}

#[test]
fn short_invocations_keep_back_a_fifth_and_long_ones_fifteen_seconds() {
    let now = Instant::now();
    let three = Deadline::for_invocation(now, Duration::from_secs(3));
    assert!(three.allows_start(now + Duration::from_millis(2399)));
    assert!(!three.allows_start(now + Duration::from_millis(2400)));
    let fifteen_min = Deadline::for_invocation(now, Duration::from_secs(900));
    assert!(fifteen_min.allows_start(now + Duration::from_secs(884)));
    assert!(!fifteen_min.allows_start(now + Duration::from_secs(885)));
    assert!(!Deadline::for_invocation(now, Duration::ZERO).allows_start(now));
}

#[test]
fn runtime_deadlines_are_read_as_epoch_millis_or_as_time_left_from_emulators() {
    let now = Instant::now();
    let wall = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let lambda = Deadline::from_runtime(1_795_000_060_000, wall, now);
    assert_eq!(lambda, Deadline::for_invocation(now, Duration::from_secs(60)));
    let emulator = Deadline::from_runtime(600_000, wall, now);
    assert_eq!(emulator, Deadline::for_invocation(now, Duration::from_secs(600)));
    let past = Deadline::from_runtime(1_794_999_000_000, wall, now);
    assert!(!past.allows_start(now));
}

#[test]
fn a_deadline_allows_starts_only_before_its_margin() {
    let now = Instant::now();
    let d = Deadline::before(now + Duration::from_secs(60), Duration::from_secs(15));
    assert!(d.allows_start(now));
    assert!(d.allows_start(now + Duration::from_secs(44)));
    assert!(!d.allows_start(now + Duration::from_secs(45)));
    assert!(Deadline::NONE.allows_start(now + Duration::from_secs(1_000_000)));
}

#[tokio::test(start_paused = true)]
async fn writes_are_paced_by_the_configured_rates() {
    let backend = FakeBackend {
        secrets: Arc::new(FakeInventory::with(20, 1, true)),
        keys: Arc::new(FakeInventory::with(0, 0, false)),
    };
    let settings = SweepSettings {
        concurrency: 20,
        secrets_write_rps: 10.0,
        kms_write_rps: 4.0,
    };
    let start = tokio::time::Instant::now();
    let (entries, _) = sweep(&backend, Mode::Enforce, &settings, Deadline::NONE).await;
    assert_eq!(count(&entries, Outcome::Remediated), 20);
    // 40 Secrets Manager writes (20 untag + 20 tag) sharing one 10/s limiter: 3.9 s at least.
    assert!(tokio::time::Instant::now() - start >= Duration::from_millis(3900));
}
