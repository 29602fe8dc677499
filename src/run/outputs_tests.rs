use super::*;
use crate::config::Config;
use crate::domain::{Cell, ResourceKind};
use crate::ports::TagStore;
use crate::run::handler::Handler;
use crate::run::sweep::Deadline;
use crate::testing::{violation, FakeBackend, FakeStore};
use crate::view::metrics::Metric;
use serde_json::Value;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-AbCdEf";
const POLICY: &str = r#"{"rules":[{"name":"cost","require":{"CostCenter":{}}},{"name":"owner","require":{"Owner":{"default":"platform"}},"forbid":["temp*"]}]}"#;

fn handler(backend: FakeBackend, hub: bool, mode: &str) -> Handler<FakeBackend> {
    let mode = mode.to_owned();
    let env = move |k: &str| match k {
        "TAG_WARDEN_POLICY" => Some(POLICY.to_owned()),
        "TAG_WARDEN_MODE" => Some(mode.clone()),
        "TAG_WARDEN_FINDINGS_BUS" => Some("findings".to_owned()),
        "TAG_WARDEN_SECURITY_HUB" => Some(hub.to_string()),
        "AWS_REGION" => Some("us-east-1".to_owned()),
        _ => None,
    };
    Handler::new(backend, Config::from_env(&env).unwrap())
}

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn findings_are_published_as_batches_fill_and_the_rest_at_the_end() {
    let backend = FakeBackend::new(FakeStore::default(), FakeStore::default());
    let settings = OutputSettings {
        findings_bus: Some("findings".into()),
        ..OutputSettings::default()
    };
    let outputs = Outputs::new(&settings, Mode::Report);
    for i in 0..25 {
        outputs.observe(&violation(i));
        outputs.flush(&backend, false).await;
        let put = backend.events.lock().unwrap().len();
        assert_eq!(put, (i + 1) / 10 * 10, "whole batches only, while the sweep runs");
    }
    outputs.flush(&backend, true).await;
    assert_eq!(backend.events.lock().unwrap().len(), 25);
    let (metrics, summary) = outputs.finish();
    assert_eq!(metrics.total(Metric::Violations), 25);
    let summary = summary.unwrap();
    assert_eq!((summary.events_put, summary.events_failed), (25, 0));
}

#[tokio::test]
async fn an_event_path_violation_is_put_on_the_bus_and_imported_failed_then_resolved_once_compliant() {
    let store = FakeStore::with(ARN, &[]);
    let h = handler(FakeBackend::new(store, FakeStore::default()), true, "enforce");
    let event = sample("secretsmanager-tag-resource.json");
    let report = h.invoke(&event, Deadline::NONE).await.0.unwrap();
    assert_eq!(report.results[0].outcome, Outcome::Violation);
    let events = h.backend().events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let (bus, f) = &events[0];
    assert_eq!(bus, "findings");
    assert_eq!(
        (
            f.arn.as_str(),
            f.account.as_str(),
            f.region.as_deref().unwrap_or_default()
        ),
        (ARN, "123456789012", "us-east-1")
    );
    assert_eq!(f.keys_added, ["Owner"], "the default was written; CostCenter has none");
    assert_eq!(f.rules, ["cost", "owner"], "every rule it departed from, fixed or not");
    assert_eq!(f.event.as_deref(), Some("TagResource"));
    let id = finding_id(ARN);
    let hub = |h: &Handler<FakeBackend>| h.backend().hub.lock().unwrap()["us-east-1"][&id].clone();
    assert_eq!(hub(&h).compliance, Compliance::Failed);
    let summary = report.findings.clone().unwrap();
    assert_eq!((summary.events_put, summary.security_hub.unwrap().imported), (1, 1));

    // Someone adds the tag; the next event finds the secret compliant and resolves the finding.
    h.backend()
        .secrets
        .tag(ARN, &[("CostCenter".to_owned(), "4100".to_owned())].into())
        .await
        .unwrap();
    let report = h.invoke(&event, Deadline::NONE).await.0.unwrap();
    assert_eq!(report.results[0].outcome, Outcome::Compliant);
    assert_eq!(
        h.backend().events.lock().unwrap().len(),
        1,
        "a compliant resource is no finding event"
    );
    assert_eq!(hub(&h).compliance, Compliance::Passed);
    assert_eq!(hub(&h).outcome, Outcome::Compliant);
    assert_eq!(report.findings.unwrap().security_hub.unwrap().resolved, 1);

    // Compliant again: no open finding, nothing imported.
    let before = hub(&h);
    let report = h.invoke(&event, Deadline::NONE).await.0.unwrap();
    assert_eq!(report.findings.unwrap().security_hub.unwrap().resolved, 0);
    assert_eq!(hub(&h), before);
}

#[tokio::test]
async fn a_sweep_resolves_the_findings_of_resources_compliant_now() {
    let store = FakeStore::with(ARN, &[("Owner", "team")]);
    let h = handler(FakeBackend::new(store, FakeStore::default()), true, "report");
    let cells = [Cell::new(None, "us-east-1")];
    let (report, metrics) = h.sweep(&cells, Deadline::NONE, &|_| {}).await;
    assert_eq!(report.summary[&Outcome::Violation], 1);
    assert_eq!(metrics.total(Metric::Violations), 1);
    assert_eq!(
        h.backend().hub.lock().unwrap()["us-east-1"][&finding_id(ARN)].compliance,
        Compliance::Failed
    );
    h.backend()
        .secrets
        .tag(ARN, &[("CostCenter".to_owned(), "4100".to_owned())].into())
        .await
        .unwrap();
    let (report, metrics) = h.sweep(&cells, Deadline::NONE, &|_| {}).await;
    assert_eq!(report.summary[&Outcome::Compliant], 1);
    assert_eq!(metrics.total(Metric::Compliant), 1);
    assert_eq!(report.findings.unwrap().security_hub.unwrap().resolved, 1);
    assert_eq!(
        h.backend().hub.lock().unwrap()["us-east-1"][&finding_id(ARN)].compliance,
        Compliance::Passed
    );
}

#[tokio::test]
async fn a_refused_finding_is_reported_in_the_entry_and_the_remediation_stands() {
    let store = FakeStore::with(ARN, &[("temp-debug", "1"), ("CostCenter", "4100")]);
    let mut backend = FakeBackend::new(store, FakeStore::default());
    backend.refuse_events = Some("ThrottlingException: Rate exceeded".into());
    let h = handler(backend, false, "enforce");
    let (result, metrics) = h
        .invoke(&sample("secretsmanager-tag-resource.json"), Deadline::NONE)
        .await;
    let report = result.expect("a refused finding does not fail the invocation");
    let entry = &report.results[0];
    assert_eq!(entry.outcome, Outcome::Remediated);
    assert!(h.backend().secrets.wrote(ARN));
    assert!(entry.unpublished.as_deref().unwrap().contains("ThrottlingException"));
    assert_eq!(report.findings.unwrap().events_failed, 1);
    assert_eq!(
        (
            metrics.total(Metric::Remediated),
            metrics.total(Metric::TagsAdded),
            metrics.total(Metric::TagsRemoved)
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_offline_plan_publishes_nothing() {
    let h = Handler::offline(
        FakeBackend::new(FakeStore::with(ARN, &[]), FakeStore::default()),
        handler(
            FakeBackend::new(FakeStore::default(), FakeStore::default()),
            true,
            "enforce",
        )
        .config()
        .clone(),
    );
    let report = h
        .handle(&sample("secretsmanager-tag-resource.json"), Deadline::NONE)
        .await
        .0
        .unwrap();
    assert_eq!(report.results[0].outcome, Outcome::WouldRemediate);
    assert!(h.backend().events.lock().unwrap().is_empty());
    assert!(h.backend().hub.lock().unwrap().is_empty());
    assert!(report.findings.is_none());
}

#[tokio::test]
async fn a_complete_sweep_archives_the_findings_of_resources_gone_and_an_incomplete_one_does_not() {
    // A secret to be deleted, and a key that stays, both departing from the policy.
    const LISTED: &str = "arn:aws:kms:us-east-1:123456789012:key/0000abcd-12ab-34cd-56ef-1234567890ab";
    let h = handler(
        FakeBackend::new(
            FakeStore::with(ARN, &[("Owner", "team")]),
            FakeStore::with(LISTED, &[("Owner", "team")]),
        ),
        true,
        "report",
    );
    let cells = [Cell::new(None, "us-east-1")];
    h.sweep(&cells, Deadline::NONE, &|_| {}).await;
    let hub = |arn: &str| h.backend().hub.lock().unwrap()["us-east-1"][&finding_id(arn)].clone();
    assert_eq!(hub(ARN).compliance, Compliance::Failed);
    assert_eq!(hub(LISTED).compliance, Compliance::Failed);
    // A key's open finding, the key gone before this sweep; and one in another region,
    // which this cell's sweep does not judge.
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const ELSEWHERE: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf";
    for (arn, region, kind) in [
        (KEY, "us-east-1", ResourceKind::KmsKey),
        (ELSEWHERE, "eu-west-1", ResourceKind::Secret),
    ] {
        let mut f = hub(ARN);
        (f.finding_id, f.arn, f.region, f.kind) =
            (finding_id(arn), arn.to_owned(), Some(region.to_owned()), Some(kind));
        h.backend()
            .hub
            .lock()
            .unwrap()
            .entry(region.to_owned())
            .or_default()
            .insert(f.finding_id.clone(), f);
    }

    // The secret is deleted, and the secrets' listing fails: which secrets are gone is not
    // known, so the secret's finding stays open; the keys' listing was complete.
    h.backend().secrets.delete(ARN);
    h.backend()
        .secrets
        .fail_next("list", crate::domain::ErrorKind::Transient);
    let (report, _) = h.sweep(&cells, Deadline::NONE, &|_| {}).await;
    assert!(!report.sweep.as_ref().unwrap().complete);
    assert_eq!(hub(ARN).compliance, Compliance::Failed);
    assert_eq!(hub(KEY).compliance, Compliance::NotAvailable);
    assert_eq!(hub(KEY).outcome, Outcome::Skipped);
    assert_eq!(report.findings.unwrap().security_hub.unwrap().archived, 1);

    // A complete listing without the secret: its finding is closed, the other region's not.
    let (report, metrics) = h.sweep(&cells, Deadline::NONE, &|_| {}).await;
    let closed = hub(ARN);
    assert_eq!(closed.compliance, Compliance::NotAvailable);
    assert!(closed.reasons[0].contains("no longer exists"), "{:?}", closed.reasons);
    assert_eq!(report.findings.unwrap().security_hub.unwrap().archived, 1);
    assert_eq!(
        metrics.total(Metric::Evaluated),
        1,
        "the key; a gone resource is not evaluated"
    );
    assert_eq!(hub(LISTED).compliance, Compliance::Failed, "listed: not gone");
    assert_eq!(
        h.backend().hub.lock().unwrap()["eu-west-1"][&finding_id(ELSEWHERE)].compliance,
        Compliance::Failed
    );

    // Closed once: the next sweep finds nothing open to close.
    let (report, _) = h.sweep(&cells, Deadline::NONE, &|_| {}).await;
    assert_eq!(report.findings.unwrap().security_hub.unwrap().archived, 0);
}
