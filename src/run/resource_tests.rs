use super::*;
use crate::domain::{ErrorKind, Outcome, Refusal, ResourceKind};
use crate::engine::policy::parse;
use crate::testing::FakeStore;

const POLICY: &str =
    r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"},"Reviewer":{}},"forbid":["Debug"]}]}"#;

async fn run(store: &FakeStore, mode: Mode) -> ResourceReport {
    let policy = parse(POLICY).unwrap();
    Judge::<crate::ports::NoMemory> {
        policy: &policy,
        mode,
        memory: None,
        patience: None,
        records: true,
    }
    .check(store, ResourceContext::new(ResourceKind::Secret), "db")
    .await
}

#[tokio::test]
async fn compliant_resource_costs_one_read_and_no_write() {
    let store = FakeStore::with("arn:db", &[("Owner", "x"), ("Reviewer", "y")]);
    let r = run(&store, Mode::Enforce).await;
    assert_eq!(r.outcome, Outcome::Compliant);
    assert_eq!(store.calls(), ["read db"]);
    assert_eq!(r.arn.as_deref(), Some("arn:db"));
}

#[tokio::test]
async fn untag_comes_before_tag_and_both_are_reported() {
    let store = FakeStore::with("arn:db", &[("Debug", "1"), ("Reviewer", "y")]);
    let r = run(&store, Mode::Enforce).await;
    assert_eq!(store.calls(), ["read db", "untag Debug", "tag Owner"]);
    assert_eq!(r.outcome, Outcome::Remediated);
    assert_eq!(r.keys_removed, ["Debug"]);
    assert_eq!(r.tags_added.get("Owner").map(String::as_str), Some("platform"));
    assert!(evaluate(
        &parse(POLICY).unwrap(),
        &ResourceContext::new(ResourceKind::Secret),
        &store.tags()
    )
    .findings
    .is_empty());
}

#[tokio::test]
async fn report_mode_reads_but_never_writes() {
    let store = FakeStore::with("arn:db", &[("Debug", "1")]);
    let r = run(&store, Mode::Report).await;
    assert_eq!(r.outcome, Outcome::WouldRemediate);
    assert_eq!(store.calls(), ["read db"]);
    assert!(r.tags_added.is_empty() && r.keys_removed.is_empty());
    assert_eq!(r.plan.untag, ["Debug"]);
}

#[tokio::test]
async fn fixable_and_unfixable_findings_together_end_as_a_violation_after_writing() {
    let store = FakeStore::with("arn:db", &[]);
    let r = run(&store, Mode::Enforce).await;
    assert_eq!(r.outcome, Outcome::Violation);
    assert_eq!(store.calls(), ["read db", "tag Owner"]);
    assert!(r.reasons.iter().any(|x| x.contains("`Reviewer` is required")));
}

#[tokio::test]
async fn skipped_state_is_reported_without_writes() {
    let store = FakeStore::with("arn:db", &[("Debug", "1")]).skipping(Refusal::SecretScheduledForDeletion);
    let r = run(&store, Mode::Enforce).await;
    assert_eq!((r.outcome, store.calls().len()), (Outcome::Skipped, 1));
    assert_eq!(r.reasons, [Refusal::SecretScheduledForDeletion.to_string()]);
}

#[tokio::test]
async fn a_self_set_exemption_is_enforced_and_says_why() {
    let store = FakeStore::with("arn:db", &[("Debug", "1"), ("tag-warden:exempt", "true")]);
    let r = run(&store, Mode::Enforce).await;
    assert_ne!(r.outcome, Outcome::Exempt);
    assert!(store.calls().contains(&"untag Debug".to_owned()), "{:?}", store.calls());
    assert!(
        r.reasons.iter().any(|x| x.starts_with("exemption not verified")),
        "{:?}",
        r.reasons
    );
}

#[tokio::test]
async fn a_resource_gone_before_the_read_is_skipped() {
    let store = FakeStore::default();
    let r = run(&store, Mode::Enforce).await;
    assert_eq!(r.outcome, Outcome::Skipped);
    assert!(r.reasons[0].contains("no longer exists"));
}

#[tokio::test]
async fn failed_writes_map_to_outcomes_by_kind() {
    let cases = [
        (ErrorKind::NotFound, Outcome::Skipped),
        (ErrorKind::InvalidState, Outcome::Skipped),
        (ErrorKind::AccessDenied, Outcome::Violation),
        (ErrorKind::Throttled, Outcome::Error),
        (ErrorKind::Transient, Outcome::Error),
        (ErrorKind::Other, Outcome::Error),
    ];
    for (kind, outcome) in cases {
        let store = FakeStore::with("arn:db", &[("Debug", "1"), ("Reviewer", "y")]).failing("untag", kind);
        let r = run(&store, Mode::Enforce).await;
        assert_eq!(r.outcome, outcome, "{kind:?}");
        assert_eq!(
            store.calls(),
            ["read db", "untag Debug"],
            "{kind:?}: no tag after a failed untag"
        );
        assert!(r.keys_removed.is_empty());
        assert_eq!(r.error_type.is_some(), outcome == Outcome::Error, "{kind:?}");
    }
}

#[tokio::test]
async fn access_denied_keeps_aws_message() {
    let store =
        FakeStore::with("arn:db", &[("Debug", "1"), ("Reviewer", "y")]).failing("untag", ErrorKind::AccessDenied);
    let r = run(&store, Mode::Enforce).await;
    assert!(
        r.reasons
            .iter()
            .any(|x| x.contains("access denied") && x.contains("injected")),
        "{:?}",
        r.reasons
    );
}

#[tokio::test]
async fn partial_failure_is_reported_and_the_next_attempt_converges() {
    let store = FakeStore::with("arn:db", &[("Debug", "1"), ("Reviewer", "y")]).failing("tag", ErrorKind::Throttled);
    let r = run(&store, Mode::Enforce).await;
    assert_eq!(r.outcome, Outcome::Error);
    assert_eq!(r.keys_removed, ["Debug"]);
    assert!(r.tags_added.is_empty());
    assert!(r.reasons.iter().any(|x| x.contains("partially applied")));
    let again = run(&store, Mode::Enforce).await;
    assert_eq!(again.outcome, Outcome::Remediated);
    assert!(again.keys_removed.is_empty(), "Debug was already gone");
    assert_eq!(again.tags_added.len(), 1);
    assert_eq!(run(&store, Mode::Enforce).await.outcome, Outcome::Compliant);
}

mod memory {
    use super::*;
    use crate::testing::FakeMemory;

    const POLICY: &str = r#"{"rules":[{"name":"r","require":{
        "Owner":{"default":"platform","values":["platform","payments","search"]},
        "CreatedBy":{"lock":true}
    }}]}"#;
    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    async fn run(store: &FakeStore, memory: &FakeMemory, mode: Mode) -> ResourceReport {
        let policy = parse(POLICY).unwrap();
        let mut ctx = ResourceContext::new(ResourceKind::Secret);
        ctx.region = Some("us-east-1".into());
        Judge {
            policy: &policy,
            mode,
            memory: Some(memory),
            patience: None,
            records: true,
        }
        .check(store, ctx, "prod/db")
        .await
    }

    #[tokio::test]
    async fn a_removed_value_comes_back_as_remembered_not_as_the_default() {
        let store = FakeStore::with(ARN, &[("CreatedBy", "alice")]);
        let memory = FakeMemory::default().with(ARN, &[("Owner", "payments"), ("CreatedBy", "alice")], 1);
        let r = run(&store, &memory, Mode::Enforce).await;
        assert_eq!(r.outcome, Outcome::Remediated);
        assert_eq!(r.tags_added.get("Owner").map(String::as_str), Some("payments"));
        assert_eq!(store.tags().get("Owner").map(String::as_str), Some("payments"));
        assert!(
            r.reasons[0].contains("fix: set `payments` (the remembered value)"),
            "{:?}",
            r.reasons
        );
        let finding = serde_json::to_value(&r.findings[0]).unwrap();
        assert_eq!(finding["from"], "remembered");
        // No value to remember anew; the one write is the story: the removal, then the restore.
        assert_eq!((memory.count("recall"), memory.count("remember")), (1, 1));
        let story = &memory.stories.lock().unwrap()[ARN];
        assert_eq!(story.len(), 2, "{story:?}");
        assert_eq!(
            story[0].changes,
            [("Owner".to_string(), Some("payments".to_string()), None)]
        );
        assert_eq!((story[1].who.as_str(), story[1].seq), ("tag-warden", 1));
        assert!(story[1].action.contains("set Owner=payments"), "{}", story[1].action);
    }

    #[tokio::test]
    async fn a_remembered_value_the_policy_no_longer_allows_gives_way_to_the_default() {
        let store = FakeStore::with(ARN, &[("CreatedBy", "alice")]);
        let memory = FakeMemory::default().with(ARN, &[("Owner", "marketing")], 1);
        let r = run(&store, &memory, Mode::Enforce).await;
        assert_eq!(r.tags_added.get("Owner").map(String::as_str), Some("platform"));
        assert_eq!(serde_json::to_value(&r.findings[0]).unwrap()["from"], "default");
    }

    #[tokio::test]
    async fn a_locked_value_changed_to_another_allowed_one_is_put_back_and_a_removed_one_restored() {
        let store = FakeStore::with(ARN, &[("Owner", "payments"), ("CreatedBy", "mallory")]);
        let memory = FakeMemory::default().with(ARN, &[("Owner", "payments"), ("CreatedBy", "alice")], 1);
        let r = run(&store, &memory, Mode::Enforce).await;
        assert_eq!(r.outcome, Outcome::Remediated);
        assert_eq!(store.tags().get("CreatedBy").map(String::as_str), Some("alice"));
        assert!(r.reasons[0].contains("locked"), "{:?}", r.reasons);
        assert_eq!(
            memory.values(ARN).get("CreatedBy").map(String::as_str),
            Some("alice"),
            "the lock holds"
        );

        let store = FakeStore::with(ARN, &[("Owner", "payments")]);
        let r = run(&store, &memory, Mode::Enforce).await;
        assert_eq!(r.tags_added.get("CreatedBy").map(String::as_str), Some("alice"));
    }

    #[tokio::test]
    async fn valid_values_seen_are_remembered_once_and_a_compliant_resource_costs_one_recall() {
        let store = FakeStore::with(ARN, &[("Owner", "search"), ("CreatedBy", "bob")]);
        let memory = FakeMemory::default();
        let r = run(&store, &memory, Mode::Report).await;
        assert_eq!(r.outcome, Outcome::Compliant);
        assert_eq!(r.remembered.len(), 2, "report mode remembers too");
        assert_eq!(memory.values(ARN).get("Owner").map(String::as_str), Some("search"));
        run(&store, &memory, Mode::Enforce).await;
        assert_eq!((memory.count("recall"), memory.count("remember")), (2, 1));
    }

    #[tokio::test]
    async fn an_older_observation_does_not_overwrite_a_newer_one() {
        let store = FakeStore::with(ARN, &[("Owner", "search"), ("CreatedBy", "bob")]);
        let memory = FakeMemory::default().with(ARN, &[("Owner", "payments")], u64::MAX);
        let r = run(&store, &memory, Mode::Enforce).await;
        assert!(r.remembered.is_empty());
        assert_eq!(memory.values(ARN).get("Owner").map(String::as_str), Some("payments"));
    }

    #[tokio::test]
    async fn unavailable_memory_falls_back_to_the_default_says_so_and_remembers_nothing() {
        let store = FakeStore::with(ARN, &[("CreatedBy", "alice")]);
        let memory = FakeMemory {
            fail: Some(ErrorKind::AccessDenied),
            ..FakeMemory::default()
        };
        let r = run(&store, &memory, Mode::Enforce).await;
        assert_eq!(r.outcome, Outcome::Remediated, "memory never costs a remediation");
        assert_eq!(r.tags_added.get("Owner").map(String::as_str), Some("platform"));
        assert!(
            r.reasons.iter().any(|x| x.contains("memory unavailable")),
            "{:?}",
            r.reasons
        );
        assert_eq!(memory.count("remember"), 0);
    }

    #[tokio::test]
    async fn a_resource_found_gone_lets_its_memory_expire() {
        let store = FakeStore::default();
        let memory = FakeMemory::default().with(ARN, &[("Owner", "payments")], 1);
        let policy = parse(POLICY).unwrap();
        let judge = Judge {
            policy: &policy,
            mode: Mode::Enforce,
            memory: Some(&memory),
            patience: None,
            records: true,
        };
        let r = judge
            .check(&store, ResourceContext::new(ResourceKind::Secret), ARN)
            .await;
        assert_eq!(r.outcome, Outcome::Skipped);
        assert_eq!(memory.count("expire"), 1);
        assert!(memory.entries.lock().unwrap()[ARN].0.expiring);
    }
}

async fn run_patiently(store: &FakeStore, deadline: Deadline) -> ResourceReport {
    let policy = parse(POLICY).unwrap();
    Judge::<crate::ports::NoMemory> {
        policy: &policy,
        mode: Mode::Enforce,
        memory: None,
        patience: Some(deadline),
        records: true,
    }
    .check(store, ResourceContext::new(ResourceKind::Secret), "db")
    .await
}

#[tokio::test(start_paused = true)]
async fn on_the_event_path_a_throttled_write_is_waited_out_and_retried_while_time_allows() {
    let store = FakeStore::with("arn:db", &[("Reviewer", "y")])
        .failing("tag", ErrorKind::Throttled)
        .failing("tag", ErrorKind::Throttled);
    let deadline = Deadline::for_invocation(std::time::Instant::now(), Duration::from_secs(300));
    let r = run_patiently(&store, deadline).await;
    assert_eq!(r.outcome, Outcome::Remediated, "{:?}", r.reasons);
    assert_eq!(r.throttle_retries, 2);
    assert_eq!(store.count("tag"), 3);
    // Without patience (the sweep paces itself), the first throttled answer is the outcome.
    let store = FakeStore::with("arn:db", &[("Reviewer", "y")]).failing("tag", ErrorKind::Throttled);
    let r = run(&store, Mode::Enforce).await;
    assert_eq!((r.outcome, r.throttle_retries), (Outcome::Error, 0));
}

#[tokio::test(start_paused = true)]
async fn patience_ends_with_the_invocations_time_or_after_a_few_retries_without_a_deadline() {
    let throttled_always = || {
        let s = FakeStore::with("arn:db", &[("Reviewer", "y")]);
        for _ in 0..20 {
            s.fail_next("tag", ErrorKind::Throttled);
        }
        s
    };
    let past = Deadline::before(std::time::Instant::now(), Duration::ZERO);
    let store = throttled_always();
    let r = run_patiently(&store, past).await;
    assert_eq!(
        (r.outcome, r.throttle_retries),
        (Outcome::Error, 0),
        "no time left: no retry"
    );
    let store = throttled_always();
    let r = run_patiently(&store, Deadline::NONE).await;
    assert_eq!(r.outcome, Outcome::Error);
    assert_eq!(r.throttle_retries, RETRIES_WITHOUT_DEADLINE);
}

#[test]
fn jitter_stays_between_a_tenth_of_the_cap_and_the_cap() {
    for _ in 0..200 {
        let j = jitter(Duration::from_millis(1000));
        assert!(
            j >= Duration::from_millis(100) && j <= Duration::from_millis(1000),
            "{j:?}"
        );
    }
}
