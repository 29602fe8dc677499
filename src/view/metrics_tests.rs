use super::*;
use crate::domain::Tags;
use crate::engine::evaluate::{Fix, ValueSource};

#[path = "../../tests/common/emf_spec.rs"]
#[allow(dead_code)]
mod emf_spec;

fn entry(outcome: Outcome, kind: ResourceKind, account: Option<&str>, rules: &[&str]) -> ResourceReport {
    let mut e = ResourceReport::new(outcome);
    e.kind = Some(kind);
    e.account = account.map(str::to_owned);
    e.arn = Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".to_owned());
    for rule in rules {
        e.findings.push(Finding::Missing {
            key: "CostCenter".to_owned(),
            rule: (*rule).to_owned(),
            fix: Fix::Set {
                value: "4100".to_owned(),
                from: ValueSource::Default,
            },
        });
    }
    e
}

fn sample() -> Metrics {
    let mut m = Metrics::default();
    let mut fixed = entry(
        Outcome::Remediated,
        ResourceKind::Secret,
        Some("111122223333"),
        &["cost"],
    );
    fixed.tags_added = Tags::from([("CostCenter".to_owned(), "4100".to_owned())]);
    fixed.keys_removed = vec!["Temp".to_owned(), "Old".to_owned()];
    m.observe(&fixed);
    m.observe(&entry(
        Outcome::Violation,
        ResourceKind::Secret,
        Some("111122223333"),
        &["cost", "owner"],
    ));
    m.observe(&entry(
        Outcome::WouldRemediate,
        ResourceKind::KmsKey,
        Some("444455556666"),
        &["cost"],
    ));
    m.observe(&entry(
        Outcome::Compliant,
        ResourceKind::KmsKey,
        Some("444455556666"),
        &[],
    ));
    m.observe(&entry(Outcome::Skipped, ResourceKind::Secret, None, &[]));
    m.observe(&entry(Outcome::Exempt, ResourceKind::Secret, None, &[]));
    m.observe(&ResourceReport::new(Outcome::Ignored));
    m.observe(&ResourceReport::new(Outcome::Error));
    m.throttled(3);
    m
}

#[test]
fn every_document_meets_the_emf_specification() {
    let docs = sample().emf("TagWarden", 1_764_000_000_000);
    assert!(docs.len() > 4);
    for doc in &docs {
        let line = serde_json::to_string(doc).unwrap();
        assert!(!line.contains('\n'));
        emf_spec::check_line(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[test]
fn counts_land_in_the_right_dimension_sets() {
    let docs = sample().emf("TagWarden", 1);
    let v = |dims: &[(&str, &str)], name: &str| emf_spec::value(&docs, "TagWarden", dims, name);
    assert_eq!(v(&[], "Evaluated"), Some(6.0));
    assert_eq!(v(&[], "Errors"), Some(1.0));
    assert_eq!(v(&[], "Throttled"), Some(3.0));
    assert_eq!(v(&[], "TagsAdded"), Some(1.0));
    assert_eq!(v(&[], "TagsRemoved"), Some(2.0));
    assert_eq!(v(&[], "Violations"), Some(1.0));
    assert_eq!(v(&[("Kind", "secret")], "Evaluated"), Some(4.0));
    assert_eq!(v(&[("Kind", "secret")], "Remediated"), Some(1.0));
    assert_eq!(v(&[("Kind", "kms-key")], "WouldRemediate"), Some(1.0));
    assert_eq!(v(&[("Kind", "secret"), ("Rule", "cost")], "Violations"), Some(1.0));
    assert_eq!(v(&[("Kind", "secret"), ("Rule", "cost")], "Remediated"), Some(1.0));
    assert_eq!(v(&[("Kind", "secret"), ("Rule", "owner")], "Violations"), Some(1.0));
    assert_eq!(v(&[("Kind", "kms-key"), ("Rule", "cost")], "WouldRemediate"), Some(1.0));
    assert_eq!(v(&[("Account", "111122223333")], "Evaluated"), Some(2.0));
    assert_eq!(v(&[("Account", "444455556666")], "Compliant"), Some(1.0));
}

#[test]
fn totals_carry_every_metric_even_at_zero_and_nothing_is_an_arn_or_a_tag_value() {
    let docs = Metrics::default().emf("Custom/NS", 1);
    assert_eq!(docs.len(), 1);
    for m in Metric::COUNTED.iter().copied() {
        assert_eq!(emf_spec::value(&docs, "Custom/NS", &[], m.name()), Some(0.0), "{m}");
    }
    let text = serde_json::to_string(&sample().emf("TagWarden", 1)).unwrap();
    assert!(!text.contains("arn:"));
    assert!(!text.contains("4100"));
    assert!(!text.contains("prod/db"));
}

#[test]
fn the_checker_rejects_what_the_specification_forbids() {
    for bad in [
        r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Kind"]],"Metrics":[{"Name":"A"}]}]},"A":1}"#,
        r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]}}"#,
        r#"{"_aws":{"Timestamp":"x","CloudWatchMetrics":[]}}"#,
        r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A","Unit":"Things"}]}]},"A":1}"#,
        r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["K"]],"Metrics":[]}]},"K":7}"#,
    ] {
        assert!(emf_spec::check_line(bad).is_err(), "{bad}");
    }
}

#[test]
fn what_each_dimension_set_carries_is_what_is_written() {
    let docs = sample().emf("TagWarden", 1);
    for doc in &docs {
        let dims: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let set = Dimensions::named(&dims).unwrap_or_else(|| panic!("{dims:?} is not a set written"));
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            let metric = Metric::named(name).unwrap_or_else(|| panic!("{name} is no metric"));
            assert!(set.emitted().contains(&metric), "{name} under {dims:?}");
        }
    }
    assert_eq!(Dimensions::Kind.emitted().len(), 14);
    assert!(!Dimensions::Account.emitted().contains(&Metric::Throttled));
    assert!(Dimensions::Account.emitted().contains(&Metric::Contested));
    assert_eq!(Metric::COUNTED.len(), 15);
    assert!(!Metric::COUNTED.contains(&Metric::EventLatency));
    assert_eq!(Dimensions::named(&["Rule"]), None);
    for m in Metric::ALL {
        assert_eq!(Metric::named(m.name()), Some(m));
    }
}

#[test]
fn a_line_starts_with_its_metadata_and_says_what_the_document_says() {
    let m = sample();
    for (line, doc) in m.emf_lines("TagWarden", 5).iter().zip(m.emf("TagWarden", 5)) {
        assert!(line.starts_with("{\"_aws\":"), "{line}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(line).unwrap(), doc);
    }
}
