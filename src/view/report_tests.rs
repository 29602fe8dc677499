use super::*;

fn entries(n: usize, outcome: Outcome) -> Vec<ResourceReport> {
    (0..n)
        .map(|i| {
            let mut r = ResourceReport::new(outcome);
            r.arn = Some(format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:s{i:05}"));
            r.reasons.push("x".repeat(200));
            r
        })
        .collect()
}

#[test]
fn a_report_that_fits_is_left_alone() {
    let mut r = Report::new(Mode::Enforce, entries(10, Outcome::Ignored));
    r.fit(1_000_000);
    assert_eq!((r.results.len(), r.omitted), (10, 0));
}

#[test]
fn fitting_drops_routine_entries_first_and_keeps_the_counts() {
    let mut all = entries(5_000, Outcome::Ignored);
    all.extend(entries(20, Outcome::Violation));
    let mut r = Report::new(Mode::Enforce, all);
    r.fit(100_000);
    assert_eq!(r.results.len(), 20);
    assert!(r.results.iter().all(|e| e.outcome == Outcome::Violation));
    assert_eq!(r.omitted, 5_000);
    assert_eq!(r.summary[&Outcome::Ignored], 5_000);
    assert!(serde_json::to_vec(&r).unwrap().len() <= 100_000);
}

#[test]
fn fitting_truncates_what_still_does_not_fit() {
    let mut r = Report::new(Mode::Enforce, entries(2_000, Outcome::Error));
    r.fit(50_000);
    assert!(serde_json::to_vec(&r).unwrap().len() <= 50_000);
    assert_eq!(r.results.len() + r.omitted, 2_000);
    assert_eq!(r.summary[&Outcome::Error], 2_000);
}
