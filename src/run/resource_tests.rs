use super::*;
use crate::domain::{ErrorKind, Outcome, ResourceKind};
use crate::engine::policy::parse;
use crate::testing::FakeStore;

const POLICY: &str =
    r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"},"Reviewer":{}},"forbid":["Debug"]}]}"#;

async fn run(store: &FakeStore, mode: Mode) -> ResourceReport {
    let policy = parse(POLICY).unwrap();
    Judge { policy: &policy, mode }
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
    let store = FakeStore::with("arn:db", &[("Debug", "1")]).skipping("scheduled for deletion");
    let r = run(&store, Mode::Enforce).await;
    assert_eq!((r.outcome, store.calls().len()), (Outcome::Skipped, 1));
    assert_eq!(r.reasons, ["scheduled for deletion"]);
}

#[tokio::test]
async fn exempt_resource_is_left_alone() {
    let store = FakeStore::with("arn:db", &[("Debug", "1"), ("tag-warden:exempt", "true")]);
    let r = run(&store, Mode::Enforce).await;
    assert_eq!((r.outcome, store.calls().len()), (Outcome::Exempt, 1));
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
