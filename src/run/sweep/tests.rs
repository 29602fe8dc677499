use super::*;
use crate::config::Rate;
use crate::domain::{ErrorKind, Mode, Outcome};
use crate::engine::policy::parse;
use crate::testing::{FakeBackend, FakeStore};
use std::time::{Duration, UNIX_EPOCH};

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
        judge: Judge {
            policy: &policy,
            mode,
            memory: backend.memory.as_ref(),
            patience: None,
            records: true,
        },
        settings,
        deadline,
        outputs: None,
    };
    s.run(&[crate::domain::Cell::new(None, "us-east-1")], &|_| {}).await
}

/// Resources of every kind that ended as `outcome` (the summary counts them all; the entries
/// returned are only those the report keeps).
fn count(summary: &SweepSummary, outcome: Outcome) -> usize {
    summary.by_kind.values().filter_map(|o| o.get(&outcome)).sum()
}

/// Resources finished.
fn total(summary: &SweepSummary) -> usize {
    summary.by_kind.values().flat_map(|o| o.values()).sum()
}

#[tokio::test]
async fn mixed_compliance_is_fixed_with_writes_only_where_needed_and_a_second_sweep_writes_nothing() {
    let backend = FakeBackend::new(FakeStore::many(250, 10, true), FakeStore::many(20, 4, false));
    let (entries, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert!(summary.complete);
    assert_eq!(total(&summary), 270);
    assert!(entries.is_empty(), "nothing left needing attention is kept");
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
    assert_eq!((backend.secrets.count("untag"), backend.secrets.count("tag")), (25, 25));
    // Keys: tags per key; the state check only where a write is due.
    assert_eq!((backend.keys.count("tags"), backend.keys.count("guard")), (20, 5));

    let (_, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert_eq!(count(&summary, Outcome::Compliant), 270);
    assert_eq!(
        backend.secrets.count("untag") + backend.secrets.count("tag"),
        50,
        "no new writes"
    );
    assert_eq!(backend.keys.count("guard"), 5, "no new state checks");
}

#[tokio::test]
async fn report_mode_writes_nothing_and_checks_no_key_state() {
    let backend = FakeBackend::new(FakeStore::many(30, 3, true), FakeStore::many(6, 2, false));
    let (entries, summary) = sweep(&backend, Mode::Report, &SweepSettings::default(), Deadline::NONE).await;
    assert_eq!(count(&summary, Outcome::WouldRemediate), 13);
    assert_eq!(
        backend.secrets.count("untag") + backend.secrets.count("tag") + backend.keys.count("guard"),
        0
    );
    let report = crate::view::report::Report::of_sweep(Mode::Report, entries, SweepSummary::default());
    assert_eq!(report.results.len(), 13, "the report lists what is left not compliant");
}

#[tokio::test]
async fn a_key_whose_state_refuses_writes_is_skipped_before_writing() {
    let keys = FakeStore::many(4, 1, false).refusing("arn:r0002");
    let backend = FakeBackend::new(FakeStore::many(0, 0, true), keys);
    let (_, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert_eq!(
        (count(&summary, Outcome::Remediated), count(&summary, Outcome::Skipped)),
        (3, 1)
    );
    assert!(!backend.keys.wrote("arn:r0002"));
}

#[tokio::test]
async fn a_failed_listing_is_an_error_entry_and_an_incomplete_sweep() {
    let secrets = FakeStore::many(3, 1, true).failing("list", ErrorKind::Throttled);
    let backend = FakeBackend::new(secrets, FakeStore::many(2, 0, false));
    let (entries, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
    assert!(!summary.complete);
    let error = entries.iter().find(|e| e.outcome == Outcome::Error).unwrap();
    assert_eq!(
        error.error_type.map(crate::domain::ErrorType::as_str),
        Some("Throttled")
    );
    assert!(error.reasons[0].contains("listing every secret in us-east-1 failed"));
    assert_eq!(count(&summary, Outcome::Compliant), 2, "keys were still swept");
}

#[tokio::test]
async fn nothing_starts_after_the_deadline_and_the_rest_is_counted() {
    let keys = FakeStore::many(40, 1, false).slow_tags(Duration::from_millis(20));
    let backend = FakeBackend::new(FakeStore::many(0, 0, true), keys);
    let settings = SweepSettings {
        concurrency: 2,
        ..SweepSettings::default()
    };
    let deadline = Deadline::before(Instant::now() + Duration::from_millis(150), Duration::from_millis(50));
    let (_, summary) = sweep(&backend, Mode::Enforce, &settings, deadline).await;
    assert!(!summary.complete);
    let handled = total(&summary);
    assert!(handled > 0 && handled < 40, "{handled} handled");
    assert_eq!(handled + summary.not_started, 40);
    // Whatever was started finished: every handled key was written both ways, none half-done.
    assert_eq!(count(&summary, Outcome::Remediated), handled);
    assert_eq!(backend.keys.count("untag"), handled);
    assert_eq!(backend.keys.count("tag"), handled);
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
    let backend = FakeBackend::new(FakeStore::many(20, 1, true), FakeStore::many(0, 0, false));
    let settings = SweepSettings {
        concurrency: 20,
        secrets_write_rps: Rate::new(10.0).unwrap(),
        kms_write_rps: Rate::new(4.0).unwrap(),
        ..SweepSettings::default()
    };
    let start = tokio::time::Instant::now();
    let (_, summary) = sweep(&backend, Mode::Enforce, &settings, Deadline::NONE).await;
    assert_eq!(count(&summary, Outcome::Remediated), 20);
    // 40 Secrets Manager writes (20 untag + 20 tag) sharing one 10/s limiter: 3.9 s at least.
    assert!(tokio::time::Instant::now() - start >= Duration::from_millis(3900));
}

mod memory {
    use super::*;
    use crate::ports::{Memory, Place};
    use crate::testing::FakeMemory;

    #[tokio::test]
    async fn a_report_mode_sweep_seeds_memory_and_a_second_sweep_writes_nothing_to_it() {
        let backend = FakeBackend::new(FakeStore::many(30, 3, true), FakeStore::many(0, 0, false))
            .remembering(FakeMemory::default());
        let (_, summary) = sweep(&backend, Mode::Report, &SweepSettings::default(), Deadline::NONE).await;
        let memory = backend.memory.as_ref().unwrap();
        // 20 secrets carry a valid Owner; the dirty ones have none to remember.
        assert_eq!(summary.memory.as_ref().unwrap().remembered, 20);
        assert_eq!((memory.count("scan"), memory.count("remember")), (1, 20));
        assert_eq!(
            memory.values("arn:r0001").get("Owner").map(String::as_str),
            Some("platform")
        );
        assert_eq!(memory.count("recall"), 0, "one scan per region, no per-resource read");
        let (_, summary) = sweep(&backend, Mode::Report, &SweepSettings::default(), Deadline::NONE).await;
        assert_eq!(summary.memory.as_ref().unwrap().remembered, 0);
        assert_eq!((memory.count("scan"), memory.count("remember")), (2, 20));
    }

    #[tokio::test]
    async fn a_sweep_restores_the_remembered_value_before_the_default() {
        let memory = FakeMemory::default().with("arn:r0000", &[("Owner", "team-a")], 1);
        let backend = FakeBackend::new(FakeStore::many(3, 3, true), FakeStore::many(0, 0, false)).remembering(memory);
        sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
        let tags = backend.secrets.tags_of("arn:r0000");
        assert_eq!(tags.get("Owner").map(String::as_str), Some("team-a"));
    }

    /// Memory holding `Owner=x` for each of `arns`, resources of `kind` in us-east-1.
    async fn remembering(arns: &[String], kind: ResourceKind) -> FakeMemory {
        let memory = FakeMemory::default();
        let place = Place {
            kind,
            region: "us-east-1".into(),
            account: None,
            names: Vec::new(),
        };
        let owner: crate::domain::Tags = [("Owner".to_string(), "x".to_string())].into();
        for arn in arns {
            memory.remember(arn, &place, &owner, 1, &[]).await.unwrap();
        }
        memory
    }

    #[tokio::test]
    async fn memory_of_resources_no_longer_listed_expires_once() {
        let memory = remembering(&["arn:gone".to_owned()], ResourceKind::Secret).await;
        let backend = FakeBackend::new(FakeStore::many(2, 0, true), FakeStore::many(1, 0, false)).remembering(memory);
        let (_, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
        assert_eq!(
            summary.memory.as_ref().unwrap().expired,
            1,
            "the key sweep does not expire a secret"
        );
        let (_, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
        assert_eq!(summary.memory.as_ref().unwrap().expired, 0, "already expiring");
        assert_eq!(backend.memory.as_ref().unwrap().count("expire"), 1);
    }

    #[tokio::test]
    async fn resources_listed_but_left_unstarted_by_the_deadline_keep_their_memory() {
        let arns: Vec<String> = (0..40).map(|i| format!("arn:r{i:04}")).collect();
        let memory = remembering(&arns, ResourceKind::KmsKey).await;
        let keys = FakeStore::many(40, 1, false).slow_tags(Duration::from_millis(20));
        let backend = FakeBackend::new(FakeStore::many(0, 0, true), keys).remembering(memory);
        let settings = SweepSettings {
            concurrency: 2,
            ..SweepSettings::default()
        };
        let deadline = Deadline::before(Instant::now() + Duration::from_millis(150), Duration::from_millis(50));
        let (_, summary) = sweep(&backend, Mode::Enforce, &settings, deadline).await;
        assert!(summary.not_started > 0, "{summary:?}");
        // Listed in full, yet not every key was judged: none of them is gone.
        assert_eq!(summary.memory.as_ref().unwrap().expired, 0);
        assert_eq!(backend.memory.as_ref().unwrap().count("expire"), 0);
    }

    #[tokio::test]
    async fn unreadable_memory_sweeps_with_defaults_and_says_so() {
        let memory = FakeMemory {
            fail: Some(ErrorKind::NotFound),
            ..FakeMemory::default()
        };
        let backend = FakeBackend::new(FakeStore::many(3, 3, true), FakeStore::many(0, 0, false)).remembering(memory);
        let (_, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), Deadline::NONE).await;
        assert!(summary.complete, "memory never fails a sweep");
        assert_eq!(count(&summary, Outcome::Remediated), 1);
        assert!(summary.memory.unwrap().unavailable.is_some());
        assert_eq!(backend.memory.as_ref().unwrap().count("remember"), 0);
    }
}

mod streaming {
    use super::*;

    #[tokio::test]
    async fn resources_are_worked_while_later_pages_are_still_to_be_listed() {
        let secrets = FakeStore::many(120, 1, true).paged(10);
        let backend = FakeBackend::new(secrets, FakeStore::many(0, 0, false));
        let settings = SweepSettings {
            concurrency: 4,
            secrets_write_rps: Rate::new(10_000.0).unwrap(),
            ..SweepSettings::default()
        };
        let (_, summary) = sweep(&backend, Mode::Enforce, &settings, Deadline::NONE).await;
        // 12 pages of secrets, and the keys' one empty page.
        assert_eq!((summary.pages, count(&summary, Outcome::Remediated)), (13, 120));
        let ops = backend.secrets.ops();
        let first_write = ops.iter().position(|o| *o == "untag").unwrap();
        let last_page = ops.iter().rposition(|o| *o == "list").unwrap();
        assert!(first_write < last_page, "a write came before the last page: {ops:?}");
        // The listing runs at most two pages ahead of the workers (one page waiting for them,
        // one being fetched): the last page is fetched only once most of the others are done.
        let before_last: usize = ops[..last_page].iter().filter(|o| **o == "untag").count();
        assert!(
            before_last >= 120 - 3 * 10 - 4,
            "{before_last} resources written before the last page"
        );
    }

    #[tokio::test]
    async fn the_report_keeps_only_what_needs_attention_up_to_its_bound_and_counts_the_rest() {
        let backend = FakeBackend::new(FakeStore::many(40, 2, true).paged(7), FakeStore::many(0, 0, false));
        let settings = SweepSettings {
            max_entries: 5,
            ..SweepSettings::default()
        };
        let (entries, summary) = sweep(&backend, Mode::Report, &settings, Deadline::NONE).await;
        assert_eq!(entries.len(), 5);
        assert!(entries.iter().all(|e| e.outcome == Outcome::WouldRemediate));
        assert_eq!((count(&summary, Outcome::WouldRemediate), summary.truncated), (20, 15));
        assert_eq!(count(&summary, Outcome::Compliant), 20);
        let report = crate::view::report::Report::of_sweep(Mode::Report, entries, summary);
        assert_eq!(
            report.summary[&Outcome::WouldRemediate],
            20,
            "the counts cover everything"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["sweep"]["truncated"], 15);
    }

    #[tokio::test]
    async fn a_deadline_already_past_lists_and_starts_nothing() {
        let backend = FakeBackend::new(FakeStore::many(30, 1, true).paged(10), FakeStore::many(0, 0, false));
        let deadline = Deadline::before(Instant::now(), Duration::from_secs(1));
        let (_, summary) = sweep(&backend, Mode::Enforce, &SweepSettings::default(), deadline).await;
        assert!(!summary.complete, "a cut listing is not complete");
        assert_eq!((summary.pages, total(&summary)), (0, 0));
        assert_eq!(backend.secrets.count("list"), 0);
    }
}
