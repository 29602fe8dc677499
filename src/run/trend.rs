//! The trend: every sweep (dry runs included) keeps its summary in memory for
//! [`TREND_DAYS`](crate::ports::TREND_DAYS), one item per sweep and account, for the page's
//! Trend section.

use super::handler::Handler;
use crate::domain::{utc_time, Mode, Outcome, Standings};
use crate::ports::{Backend, Memory, TrendPoint};
use crate::view::report::Report;
use crate::view::summary::outcomes_of;
use std::collections::BTreeMap;

/// The points a sweep's report makes: one per account it names, else one for the function's
/// own account (`""`).
pub fn points_of(report: &Report, at_ms: u64) -> Vec<TrendPoint> {
    let Some(sweep) = &report.sweep else {
        return Vec::new();
    };
    let point = |account: &str, counts: BTreeMap<Outcome, usize>| {
        let s = Standings::of(&counts);
        TrendPoint {
            at: utc_time(at_ms),
            at_ms,
            account: account.to_owned(),
            region: String::new(),
            percent: s.percent(),
            not_compliant: s.not_compliant,
            exceptions: s.exceptions,
            contested: report
                .results
                .iter()
                .filter(|e| e.contested.is_some())
                .filter(|e| account.is_empty() || e.account.as_deref() == Some(account))
                .count(),
            dry_run: report.mode == Mode::Report,
            counts,
        }
    };
    if sweep.by_account.is_empty() {
        return vec![point("", report.summary.clone())];
    }
    sweep
        .by_account
        .iter()
        .map(|(account, kinds)| point(account, outcomes_of(kinds)))
        .collect()
}

impl<B: Backend> Handler<B> {
    /// Keeps a sweep's summary in memory, when configured (a failure is logged: the sweep
    /// itself stands). For one cell of a fanned-out sweep, `at_ms` is the sweep's time, so that
    /// the cells add up to one sweep on the trend, and `region` keeps the cells' items apart
    /// (`""`: a whole sweep).
    pub(super) async fn keep_trend(&self, report: &Report, at_ms: u64, region: &str) {
        let Some(memory) = self.backend.memory().filter(|_| self.live) else {
            return;
        };
        for mut point in points_of(report, at_ms) {
            region.clone_into(&mut point.region);
            if let Err(e) = memory.put_trend(&point).await {
                tracing::warn!(error = %e, "could not keep the sweep's summary for the trend");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ResourceKind;
    use crate::view::summary::SweepSummary;

    #[test]
    fn a_sweep_makes_one_point_per_account_it_names_else_one_for_its_own() {
        let counts: BTreeMap<Outcome, usize> =
            [(Outcome::Compliant, 2), (Outcome::Violation, 1), (Outcome::Waived, 1)].into();
        let own = SweepSummary {
            by_kind: [(ResourceKind::Secret, counts.clone())].into(),
            ..SweepSummary::default()
        };
        let report = Report::of_sweep(Mode::Report, Vec::new(), own);
        let points = points_of(&report, 1_796_256_000_000);
        assert_eq!(points.len(), 1);
        let p = &points[0];
        assert_eq!(
            (p.account.as_str(), p.not_compliant, p.exceptions, p.dry_run),
            ("", 1, 1, true)
        );
        assert_eq!(format!("{:.1}", p.percent.unwrap()), "66.7");
        assert_eq!(p.at, "2026-12-03T00:00:00Z");
        let mut org = SweepSummary::default();
        for account in ["111111111111", "222222222222"] {
            org.by_account
                .insert(account.into(), [(ResourceKind::Secret, counts.clone())].into());
        }
        let report = Report::of_sweep(Mode::Enforce, Vec::new(), org);
        let accounts: Vec<String> = points_of(&report, 0).into_iter().map(|p| p.account).collect();
        assert_eq!(accounts, ["111111111111", "222222222222"]);
        // Not a sweep: no point.
        assert!(points_of(&Report::new(Mode::Enforce, Vec::new()), 0).is_empty());
    }

    #[tokio::test]
    async fn the_cells_of_one_fanned_out_sweep_are_kept_as_one_sweep_on_the_trend() {
        use crate::config::Config;
        use crate::run::handler::Handler;
        use crate::run::sweep::Deadline;
        use crate::testing::{FakeBackend, FakeMemory, FakeStore};
        let env = |k: &str| match k {
            "TAG_WARDEN_POLICY" => {
                Some(r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"}}}]}"#.to_owned())
            }
            "TAG_WARDEN_MEMORY_TABLE" => Some("memory".to_owned()),
            _ => None,
        };
        let backend = FakeBackend::new(FakeStore::with("arn:s", &[("Owner", "x")]), FakeStore::default())
            .remembering(FakeMemory::default());
        let h = Handler::new(backend, Config::from_env(&env).unwrap());
        let record = |id: &str, region: &str| {
            serde_json::json!({"messageId": id, "eventSource": "aws:sqs",
                "body": format!(r#"{{"region":"{region}","sweep_ms":42}}"#),
                "attributes": {"ApproximateReceiveCount": "1"}})
        };
        let batch = serde_json::json!({"Records": [record("m1", "us-east-1"), record("m2", "eu-west-1")]});
        h.invoke(&batch, Deadline::NONE).await.0.unwrap();
        let points = h.backend.memory.as_ref().unwrap().trend.lock().unwrap().clone();
        let kept: Vec<(u64, &str)> = points.iter().map(|p| (p.at_ms, p.region.as_str())).collect();
        assert_eq!(kept, [(42, "us-east-1"), (42, "eu-west-1")]);
        // On the page they are one sweep.
        let mut report = Report::new(Mode::Enforce, Vec::new());
        report.trend = points;
        let page = crate::view::page::render(&report, 0, "Owner");
        assert!(
            page.contains("Trend (<span data-scope=\"trend-points\">1</span> sweeps)"),
            "{page}"
        );
    }
}
