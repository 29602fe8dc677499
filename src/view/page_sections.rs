//! The page's sections that read a security lead's questions: a rate per group, the trend,
//! the exceptions and the contested keys.

use super::{escape, resource_cell, with_code, EXCEPTION_SOON_DAYS};
use crate::domain::{Date, Outcome, Standings};
use crate::ports::TrendPoint;
use crate::view::report::{Report, ResourceReport};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A rate per group: every resource counted by the value of the tag `key` (a team finds its
/// own): resources, compliant, not compliant, exceptions and the compliance rate (the
/// headline's rule), worst first, with the resources left not compliant; resources without the
/// tag are a group like the others.
pub(super) fn groups(out: &mut String, report: &Report, key: &str) {
    let counted = report
        .sweep
        .as_ref()
        .filter(|s| s.group_by == key && !s.by_group.is_empty());
    let mut counts: BTreeMap<String, BTreeMap<Outcome, usize>> =
        counted.map(|s| s.by_group.clone()).unwrap_or_default();
    let mut open: BTreeMap<String, Vec<&ResourceReport>> = BTreeMap::new();
    for e in report.results.iter().filter(|e| e.kind.is_some()) {
        let group = e.tags.get(key).cloned().unwrap_or_default();
        if counted.is_none() {
            *counts.entry(group.clone()).or_default().entry(e.outcome).or_insert(0) += 1;
        }
        if e.outcome.needs_attention() {
            open.entry(group).or_default().push(e);
        }
    }
    let _ = write!(out, "<h2 id=\"by-group\">By {}</h2>", escape(key));
    if counts.is_empty() {
        out.push_str("<p>No resource to group.</p>");
        return;
    }
    let mut rows: Vec<(&String, Standings, usize)> = counts
        .iter()
        .map(|(g, c)| {
            (
                g,
                Standings::of(c),
                c.iter().filter(|(o, _)| **o != Outcome::Ignored).map(|(_, n)| n).sum(),
            )
        })
        .collect();
    // Worst first: the lowest rate, then the most left not compliant; groups with no rate last.
    rows.sort_by(|a, b| {
        let rate = |s: &Standings| s.percent().unwrap_or(f64::INFINITY);
        rate(&a.1)
            .total_cmp(&rate(&b.1))
            .then(b.1.not_compliant.cmp(&a.1.not_compliant))
            .then(a.0.cmp(b.0))
    });
    out.push_str("<table><tr><th>group</th><th>resources</th><th>compliant</th><th>not compliant</th><th>exceptions</th><th>rate</th><th>resources left not compliant</th></tr>");
    for (group, st, total) in rows {
        let label = if group.is_empty() {
            format!("(no {})", escape(key))
        } else {
            escape(group)
        };
        let g = escape(group);
        let listed = open
            .get(group)
            .map_or_else(Vec::new, |v| v.iter().map(|e| resource_cell(e)).collect());
        let _ = write!(
            out,
            "<tr data-group=\"{g}\"><th>{label}</th><td class=\"n\" data-scope=\"group-resources\" data-key=\"{g}\">{total}</td>\
<td class=\"n\" data-scope=\"group-compliant\" data-key=\"{g}\">{}</td><td class=\"n\" data-scope=\"group\" data-key=\"{g}\">{}</td>\
<td class=\"n\" data-scope=\"group-exceptions\" data-key=\"{g}\">{}</td><td class=\"n\" data-scope=\"group-rate\" data-key=\"{g}\">{}</td>\
<td class=\"arn\">{}</td></tr>",
            st.compliant,
            st.not_compliant,
            st.exceptions,
            st.percent().map_or_else(|| "-".to_owned(), |p| format!("{p:.1}%")),
            listed.join("<br>")
        );
    }
    out.push_str("</table>");
}

/// One sweep on the trend: every account's point of that sweep added up.
struct Swept {
    at: String,
    compliant: usize,
    not_compliant: usize,
    exceptions: usize,
    contested: usize,
    dry_run: bool,
}

impl Swept {
    fn percent(&self) -> Option<f64> {
        Standings {
            compliant: self.compliant,
            not_compliant: self.not_compliant,
            exceptions: self.exceptions,
        }
        .percent()
    }
}

/// The sweeps kept (their points added up per sweep), oldest first.
fn sweeps(points: &[TrendPoint]) -> Vec<Swept> {
    let mut by: BTreeMap<u64, Swept> = BTreeMap::new();
    for p in points {
        let s = Standings::of(&p.counts);
        let e = by.entry(p.at_ms).or_insert_with(|| Swept {
            at: p.at.clone(),
            compliant: 0,
            not_compliant: 0,
            exceptions: 0,
            contested: 0,
            dry_run: p.dry_run,
        });
        e.compliant += s.compliant;
        e.not_compliant += s.not_compliant;
        e.exceptions += s.exceptions;
        e.contested += p.contested;
    }
    by.into_values().collect()
}

/// The chart's size (SVG user units).
const CHART_W: f64 = 640.0;
const CHART_H: f64 = 180.0;
const CHART_PAD: f64 = 28.0;

/// The trend over the sweeps memory keeps (90 days): the headline rate and the count left not
/// compliant, as an inline SVG chart (no script, nothing fetched), and the same dated points as
/// a table, for screen readers and copy-paste.
pub(super) fn trend(out: &mut String, points: &[TrendPoint]) {
    let swept = sweeps(points);
    let _ = write!(
        out,
        "<h2 id=\"trend\">Trend (<span data-scope=\"trend-points\">{}</span> sweeps)</h2>",
        swept.len()
    );
    if swept.is_empty() {
        out.push_str("<p>No sweep kept yet: with memory (TAG_WARDEN_MEMORY_TABLE), every sweep keeps its summary for 90 days.</p>");
        return;
    }
    let n = swept.len();
    let max_open = swept.iter().map(|s| s.not_compliant).max().unwrap_or(0).max(1) as f64;
    let x = |i: usize| {
        if n == 1 {
            CHART_W / 2.0
        } else {
            CHART_PAD + (CHART_W - 2.0 * CHART_PAD) * i as f64 / (n - 1) as f64
        }
    };
    let y = |fraction: f64| CHART_H - CHART_PAD - (CHART_H - 2.0 * CHART_PAD) * fraction;
    let rate: Vec<String> = swept
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.percent().map(|p| format!("{:.1},{:.1}", x(i), y(p / 100.0))))
        .collect();
    let open: Vec<String> = swept
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{:.1},{:.1}", x(i), y(s.not_compliant as f64 / max_open)))
        .collect();
    let _ = write!(
        out,
        "<svg role=\"img\" aria-labelledby=\"trend-title\" viewBox=\"0 0 {CHART_W} {CHART_H}\" width=\"{CHART_W}\" height=\"{CHART_H}\" class=\"trend\">\
<title id=\"trend-title\">compliance rate and resources left not compliant, {} sweeps</title>\
<line x1=\"{CHART_PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#c9d1d9\"/>\
<text x=\"2\" y=\"{}\" font-size=\"10\">100%</text><text x=\"2\" y=\"{}\" font-size=\"10\">0%</text>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{} not compliant</text>",
        n,
        y(0.0),
        CHART_W - CHART_PAD,
        y(0.0),
        y(1.0) + 4.0,
        y(0.0),
        CHART_W - 2.0,
        y(1.0) - 6.0,
        max_open
    );
    let _ = write!(
        out,
        "<polyline data-series=\"rate\" fill=\"none\" stroke=\"#2f7d32\" stroke-width=\"2\" points=\"{}\"/>\
<polyline data-series=\"not-compliant\" fill=\"none\" stroke=\"#b3261e\" stroke-width=\"2\" stroke-dasharray=\"4 3\" points=\"{}\"/>",
        rate.join(" "),
        open.join(" ")
    );
    for (i, s) in swept.iter().enumerate() {
        if let Some(p) = s.percent() {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#2f7d32\"><title>{}: {p:.1}%</title></circle>",
                x(i),
                y(p / 100.0),
                escape(&s.at)
            );
        }
    }
    out.push_str("</svg><p class=\"meta\">solid: compliance rate (0–100%); dashed: resources left not compliant.</p>");
    out.push_str("<table><tr><th>sweep (UTC)</th><th>rate</th><th>compliant</th><th>not compliant</th><th>exceptions</th><th>contested</th><th></th></tr>");
    for s in &swept {
        let _ = write!(
            out,
            "<tr data-scope=\"trend\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&s.at),
            s.percent().map_or_else(|| "-".to_owned(), |p| format!("{p:.1}%")),
            s.compliant,
            s.not_compliant,
            s.exceptions,
            s.contested,
            if s.dry_run { "dry run" } else { "" }
        );
    }
    out.push_str("</table>");
}

/// Resources whose keys someone keeps changing back (the fight detection): the resource, the
/// keys, who, how many undos, since when, and what to do about it.
pub(super) fn contested(out: &mut String, report: &Report) {
    let fights: Vec<_> = report
        .results
        .iter()
        .filter_map(|e| Some((e, e.contested.as_ref()?)))
        .collect();
    let _ = write!(
        out,
        "<h2 id=\"contested\">Contested keys (<span data-scope=\"listed-contested\">{}</span>)</h2>",
        fights.len()
    );
    if fights.is_empty() {
        out.push_str("<p>No change is being fought over.</p>");
        return;
    }
    out.push_str("<table><tr><th>resource</th><th>keys</th><th>contested by</th><th>undos (24 h)</th><th>since</th><th>what to do</th></tr>");
    for (e, c) in fights {
        let advice = e
            .reasons
            .iter()
            .find(|r| r.starts_with("contested:"))
            .and_then(|r| r.split_once("Resolve it: ").map(|(_, a)| a))
            .unwrap_or("");
        let _ = write!(
            out,
            "<tr data-contested=\"{}\"><td class=\"arn\">{}</td><td>{}</td><td class=\"arn\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(e.arn.as_deref().unwrap_or("-")),
            resource_cell(e),
            escape(&c.contested_keys.join(", ")),
            escape(&c.contested_by),
            c.contested_count,
            escape(c.contested_since.as_deref().unwrap_or("-")),
            with_code(advice)
        );
    }
    out.push_str("</table>");
}

/// Every exception (exemption or waiver): the resource, its kind, who granted it, why, its last
/// day and the days left; those ending within [`EXCEPTION_SOON_DAYS`] first, and marked.
pub(super) fn exceptions(out: &mut String, report: &Report, today: Date) {
    let mut listed: Vec<_> = report
        .results
        .iter()
        .filter_map(|e| Some((e, e.exception.as_ref()?)))
        .collect();
    let _ = write!(
        out,
        "<h2 id=\"exceptions\">Exceptions (<span data-scope=\"listed-exceptions\">{}</span>)</h2>",
        listed.len()
    );
    if listed.is_empty() {
        out.push_str("<p>No resource is exempt or waived.</p>");
        return;
    }
    // Soonest ending first; an exemption without a day (`exempt = true`) last.
    listed.sort_by_key(|(e, x)| (x.until.is_none(), x.until, e.arn.clone()));
    out.push_str("<table><tr><th>resource</th><th>kind</th><th>granted by</th><th>reason</th><th>last day</th><th>days left</th></tr>");
    for (e, x) in listed {
        let left = x.until.map(|u| u.days_after(today));
        let soon = left.is_some_and(|d| d <= EXCEPTION_SOON_DAYS);
        let _ = write!(
            out,
            "<tr data-exception=\"{}\"{}><td class=\"arn\">{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            x.kind.as_str(),
            if soon { " class=\"soon\"" } else { "" },
            resource_cell(e),
            x.kind.as_str(),
            if x.rules.is_empty() { String::new() } else { format!(" of {}", escape(&x.rules.join(", "))) },
            escape(x.who.as_deref().unwrap_or("-")),
            escape(x.why.as_deref().unwrap_or("-")),
            x.until.map_or_else(|| "none".to_owned(), |u| u.to_string()),
            match left {
                Some(d) if soon => format!("<b class=\"warn\">{d}</b>"),
                Some(d) => d.to_string(),
                None => "-".to_owned(),
            }
        );
    }
    out.push_str("</table>");
}
