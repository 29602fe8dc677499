//! The compliance page (`tag-warden reconcile --html FILE`): one self-contained HTML file
//! (inline style, no script, nothing fetched) drawn from the same [`Report`] the JSON output
//! prints: a headline compliance percentage, counts per kind, region and account, the rules
//! most violated as a bar chart, the resources left not compliant grouped by the value of a
//! tag (`--group-by`, default `Owner`: each team finds its own), and every one of them with its
//! reasons (code in them as `<code>`). Every count cell carries `data-` attributes naming what
//! it counts, so that tests (and scrapers) can read the numbers back.

use crate::domain::{utc_time, Date, Outcome, ResourceKind};
use crate::view::metrics::rules_of;
use crate::view::report::{Report, ResourceReport};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The outcomes the tables show, in order.
pub const COLUMNS: [Outcome; 9] = [
    Outcome::Compliant,
    Outcome::Remediated,
    Outcome::WouldRemediate,
    Outcome::Violation,
    Outcome::Exempt,
    Outcome::Waived,
    Outcome::Skipped,
    Outcome::Replica,
    Outcome::Error,
];

/// The most rules the bar chart shows.
pub const TOP_RULES: usize = 10;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d232a}\
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}\
tr.soon td{background:#fff4e5}.meta{color:#5b6570}table{border-collapse:collapse;margin:.25rem 0}\
th,td{padding:.3rem .6rem;border-bottom:1px solid #e3e7eb;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.tiles{display:flex;gap:1rem;flex-wrap:wrap}.tile{border:1px solid #e3e7eb;border-radius:6px;padding:.6rem 1rem}\
.tile b{display:block;font-size:1.4rem}.bar{background:#c0392b;height:.9rem;border-radius:2px}\
.warn{color:#a04000}.arn{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}\
code{font-family:ui-monospace,monospace;font-size:12px;background:#f2f4f6;padding:0 .2rem;border-radius:3px}\
.headline{font-size:2.4rem;font-weight:600;margin:.5rem 0}.headline small{font-size:.9rem;font-weight:400;color:#5b6570}";

/// Counts per outcome under one kind.
pub type Counts = BTreeMap<Outcome, usize>;

/// A table row: a name (a region, an account), a kind, and its counts if it has any.
pub type Row<'a> = (String, ResourceKind, Option<&'a Counts>);

fn table(out: &mut String, first: &str, rows: &[Row<'_>], scope: &str) {
    // A table by kind names the kind once.
    let by_kind = scope == "kind";
    let _ = write!(out, "<table><tr><th>{}</th>", escape(first));
    if !by_kind {
        out.push_str("<th>kind</th>");
    }
    for c in COLUMNS {
        let _ = write!(out, "<th>{}</th>", label(c));
    }
    out.push_str("</tr>");
    for (name, kind, counts) in rows {
        let _ = write!(out, "<tr><td>{}</td>", escape(name));
        if !by_kind {
            let _ = write!(out, "<td>{}</td>", kind.as_str());
        }
        for c in COLUMNS {
            let n = counts.and_then(|o| o.get(&c)).copied().unwrap_or(0);
            let _ = write!(
                out,
                "<td class=\"n\" data-scope=\"{scope}\" data-key=\"{}\" data-kind=\"{}\" data-outcome=\"{}\">{n}</td>",
                escape(name),
                kind.as_str(),
                c.as_str()
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// A row per name (a region, an account) and kind.
pub fn rows_of(by: &BTreeMap<String, BTreeMap<ResourceKind, Counts>>) -> Vec<Row<'_>> {
    by.iter()
        .flat_map(|(name, kinds)| ResourceKind::ALL.iter().map(move |k| (name.clone(), *k, kinds.get(k))))
        .collect()
}

/// Escaped text with its `code` spans (between backticks) as `<code>`; an unpaired backtick
/// stays as it is.
pub fn with_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() < 3 {
        return escape(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        match (i % 2 == 1, i == last) {
            (true, false) => {
                let _ = write!(out, "<code>{}</code>", escape(part));
            }
            // An odd count of backticks: the last one has no pair.
            (true, true) => {
                let _ = write!(out, "`{}", escape(part));
            }
            (false, _) => out.push_str(&escape(part)),
        }
    }
    out
}

/// The share of the resources counted that are compliant now (compliant, or fixed): the
/// report's compliance rate ([`Outcome::standing`]), exceptions, skipped ones and replica
/// secrets left out; `None` when nothing counts.
pub fn compliance_percent(report: &Report) -> Option<f64> {
    report.compliance.percent
}

/// What the page calls an outcome: its report name, but for a fix not made ("would fix", as
/// a dry run or report mode says it: never counted as compliant or fixed).
fn label(o: Outcome) -> &'static str {
    match o {
        Outcome::WouldRemediate => "would fix",
        other => other.as_str(),
    }
}

/// Exceptions ending within this many days come first, marked.
pub const EXCEPTION_SOON_DAYS: i64 = 14;

/// The tag the not-compliant resources are grouped by, unless `--group-by` says another.
pub const DEFAULT_GROUP_BY: &str = "Owner";

/// Renders the page of `report`, stamped `now_ms`, its resources grouped by the tag
/// `group_by`.
pub fn render(report: &Report, now_ms: u64, group_by: &str) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>tag-warden compliance</title><style>{STYLE}</style></head><body><h1>tag-warden compliance</h1>"
    );
    let sweep = report.sweep.as_ref();
    let _ = write!(
        out,
        "<p class=\"meta\">{} · mode <b>{}</b>{}{}</p>",
        utc_time(now_ms),
        report.mode,
        sweep.map_or(String::new(), |s| format!(
            " · regions {} · {:.1}s",
            escape(&s.regions.join(", ")),
            s.seconds
        )),
        match sweep {
            Some(s) if !s.complete => " · <span class=\"warn\">INCOMPLETE: the next sweep finishes it</span>",
            _ => "",
        }
    );
    if let Some(pct) = compliance_percent(report) {
        let exceptions = report.compliance.exceptions;
        let _ = write!(
            out,
            "<p class=\"headline\"><span data-scope=\"headline\">{pct:.1}</span>% compliant{} \
<small>compliant or fixed, of the resources judged; exceptions (exempt, waived), skipped ones and replicas left out</small></p>",
            match exceptions {
                0 => String::new(),
                n => format!(
                    " · <span data-scope=\"exceptions\">{n}</span> exception{} not counted",
                    if n == 1 { "" } else { "s" }
                ),
            }
        );
    }
    out.push_str("<div class=\"tiles\">");
    let total: usize = report.summary.values().sum();
    let _ = write!(
        out,
        "<div class=\"tile\">resources<b data-scope=\"total\" data-outcome=\"all\">{total}</b></div>"
    );
    for c in COLUMNS {
        let n = report.summary.get(&c).copied().unwrap_or(0);
        let _ = write!(
            out,
            "<div class=\"tile\">{}<b data-scope=\"total\" data-outcome=\"{}\">{n}</b></div>",
            label(c),
            c.as_str()
        );
    }
    out.push_str("</div>");
    if let Some(s) = sweep {
        out.push_str("<h2>By kind</h2>");
        let rows: Vec<_> = ResourceKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), *k, s.by_kind.get(k)))
            .collect();
        table(&mut out, "kind", &rows, "kind");
        out.push_str("<h2>By region</h2>");
        table(&mut out, "region", &rows_of(&s.by_region), "region");
        if !s.by_account.is_empty() {
            out.push_str("<h2>By account</h2>");
            table(&mut out, "account", &rows_of(&s.by_account), "account");
        }
        if !s.failed_cells.is_empty() {
            out.push_str("<h2>Cells not swept to the end</h2><ul>");
            for (cell, why) in &s.failed_cells {
                let _ = write!(out, "<li><b>{}</b>: {}</li>", escape(cell), escape(why));
            }
            out.push_str("</ul>");
        }
    }
    rules_chart(&mut out, report);
    trend(&mut out, &report.trend);
    exceptions(&mut out, report, Date::of_epoch_ms(now_ms));
    contested(&mut out, report);
    groups(&mut out, report, group_by);
    resources(&mut out, report);
    out.push_str("</body></html>\n");
    out
}

/// The rules most violated among the resources left not compliant, as horizontal bars.
fn rules_chart(out: &mut String, report: &Report) {
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for e in report.results.iter().filter(|e| e.outcome.needs_attention()) {
        for rule in rules_of(e) {
            *by_rule.entry(rule).or_insert(0) += 1;
        }
    }
    let mut ranked: Vec<(String, usize)> = by_rule.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(TOP_RULES);
    out.push_str("<h2>Rules most violated</h2>");
    let Some(max) = ranked.first().map(|(_, n)| *n) else {
        out.push_str("<p>No resource is left in violation of a rule.</p>");
        return;
    };
    out.push_str("<table>");
    for (rule, n) in &ranked {
        let width = n * 100 / max.max(1);
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\" data-scope=\"rule\" data-key=\"{}\">{n}</td>\
<td style=\"width:24rem\"><div class=\"bar\" style=\"width:{width}%\"></div></td></tr>",
            escape(rule),
            escape(rule)
        );
    }
    out.push_str("</table>");
}

/// A resource as people know it (a secret's name, a key's aliases), its ARN on hover and in a
/// detail line under it.
fn resource_cell(e: &ResourceReport) -> String {
    let shown = e.display_name();
    match e.arn.as_deref().filter(|arn| *arn != shown) {
        Some(arn) => format!(
            "<span class=\"name\" title=\"{}\">{}</span><br><small class=\"detail\">{}</small>",
            escape(arn),
            escape(&shown),
            escape(arn)
        ),
        None => escape(&shown),
    }
}

/// Every resource left not compliant, with its reasons.
fn resources(out: &mut String, report: &Report) {
    let left: Vec<_> = report.results.iter().filter(|e| e.outcome.needs_attention()).collect();
    let _ = write!(
        out,
        "<h2>Not compliant (<span data-scope=\"listed\">{}</span>)</h2>",
        left.len()
    );
    let cut = report.sweep.as_ref().map_or(0, |s| s.truncated) + report.omitted;
    if cut > 0 {
        let _ = write!(
            out,
            "<p class=\"warn\">{cut} more are counted above but not listed (the report's bound).</p>"
        );
    }
    if left.is_empty() {
        return;
    }
    out.push_str("<table><tr><th>outcome</th><th>kind</th><th>account</th><th>region</th><th>resource</th><th>rules</th><th>reasons</th></tr>");
    for e in left {
        let rules: Vec<String> = rules_of(e).into_iter().collect();
        let _ = write!(
            out,
            "<tr data-outcome=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"arn\">{}</td><td>{}</td><td>{}</td></tr>",
            e.outcome.as_str(),
            e.outcome.as_str(),
            e.kind.map_or("-", ResourceKind::as_str),
            escape(e.account.as_deref().unwrap_or("-")),
            escape(e.region.as_deref().unwrap_or("-")),
            resource_cell(e),
            escape(&rules.join(", ")),
            e.reasons.iter().map(|r| with_code(r)).collect::<Vec<_>>().join("<br>")
        );
    }
    out.push_str("</table>");
}

#[path = "page_sections.rs"]
mod sections;
use sections::{contested, exceptions, groups, trend};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Mode;
    use crate::engine::evaluate::{Finding, Fix};
    use crate::view::report::ResourceReport;
    use crate::view::summary::SweepSummary;

    fn report() -> Report {
        let mut s = SweepSummary {
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            complete: true,
            ..SweepSummary::default()
        };
        let counts = |pairs: &[(Outcome, usize)]| pairs.iter().copied().collect::<Counts>();
        s.by_kind.insert(
            ResourceKind::Secret,
            counts(&[(Outcome::Compliant, 7), (Outcome::Violation, 2)]),
        );
        s.by_kind
            .insert(ResourceKind::KmsKey, counts(&[(Outcome::Remediated, 3)]));
        s.by_region.insert(
            "us-east-1".into(),
            BTreeMap::from([(
                ResourceKind::Secret,
                counts(&[(Outcome::Compliant, 7), (Outcome::Violation, 2)]),
            )]),
        );
        s.by_region.insert(
            "eu-west-1".into(),
            BTreeMap::from([(ResourceKind::KmsKey, counts(&[(Outcome::Remediated, 3)]))]),
        );
        let mut kept = Vec::new();
        for (i, rule) in ["cost", "cost"].iter().enumerate() {
            let mut e = ResourceReport::new(Outcome::Violation);
            e.kind = Some(ResourceKind::Secret);
            e.arn = Some(format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:<b>{i}"));
            e.findings.push(Finding::Missing {
                key: "CostCenter".into(),
                rule: (*rule).into(),
                fix: Fix::Manual(None),
            });
            e.reasons.push("`CostCenter` is missing & has no default".into());
            if i == 0 {
                e.tags.insert("Owner".into(), "payments".into());
            }
            kept.push(e);
        }
        Report::of_sweep(Mode::Enforce, kept, s)
    }

    fn cell(page: &str, attrs: &str) -> Option<usize> {
        let at = page.find(attrs)?;
        let rest = page.get(at..)?;
        let start = rest.find('>')? + 1;
        let end = rest.find('<')?;
        rest.get(start..end)?.trim().parse().ok()
    }

    #[test]
    fn the_page_shows_the_reports_numbers() {
        let r = report();
        let page = render(&r, 1_764_000_000_000, DEFAULT_GROUP_BY);
        assert_eq!(cell(&page, "data-scope=\"total\" data-outcome=\"all\""), Some(12));
        assert_eq!(cell(&page, "data-scope=\"total\" data-outcome=\"violation\""), Some(2));
        assert_eq!(
            cell(
                &page,
                "data-scope=\"kind\" data-key=\"secret\" data-kind=\"secret\" data-outcome=\"compliant\""
            ),
            Some(7)
        );
        assert_eq!(
            cell(
                &page,
                "data-scope=\"region\" data-key=\"eu-west-1\" data-kind=\"kms-key\" data-outcome=\"remediated\""
            ),
            Some(3)
        );
        assert_eq!(cell(&page, "data-scope=\"rule\" data-key=\"cost\""), Some(2));
        assert_eq!(cell(&page, "data-scope=\"listed\""), Some(2));
    }

    #[test]
    fn no_column_repeats_reasons_show_code_and_resources_are_grouped_by_owner() {
        let page = render(&report(), 0, DEFAULT_GROUP_BY);
        assert!(
            !page.contains("<th>kind</th><th>kind</th>"),
            "the by-kind table names the kind once"
        );
        assert!(
            page.contains("<code>CostCenter</code> is missing &amp; has no default"),
            "{page}"
        );
        assert!(!page.contains('`'));
        assert!(page.contains("<h2 id=\"by-group\">By Owner</h2>"));
        assert_eq!(cell(&page, "data-scope=\"group\" data-key=\"payments\""), Some(1));
        assert_eq!(cell(&page, "data-scope=\"group\" data-key=\"\""), Some(1), "(no Owner)");
        // 7 compliant + 3 remediated of 12 judged.
        let pct: f64 = page
            .split("data-scope=\"headline\">")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!((pct - 83.3).abs() < 0.1, "{pct}");
        assert!(render(&report(), 0, "Team").contains("By Team"));
    }

    #[test]
    fn code_spans_pair_backticks_and_leave_an_odd_one() {
        assert_eq!(with_code("`a` & `b<`"), "<code>a</code> &amp; <code>b&lt;</code>");
        assert_eq!(with_code("no code"), "no code");
        assert_eq!(with_code("`a` and `b"), "<code>a</code> and `b");
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_what_it_shows() {
        let page = render(&report(), 0, DEFAULT_GROUP_BY);
        assert!(page.contains("secret:&lt;b&gt;0"));
        assert!(page.contains("missing &amp; has no default"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("src=") && !page.contains("href="));
    }
}
