//! The CLI's text summary of a sweep (`tag-warden reconcile` without `--json`): counts per
//! outcome by region and kind, and by account, as the page counts them ([`rows_of`]).

use crate::domain::ResourceKind;
use crate::view::page::{rows_of, Row, COLUMNS};
use crate::view::report::Report;

/// A table of counts per outcome: a header, then a line per row.
fn text_table(out: &mut String, first: &str, rows: &[Row<'_>]) {
    // As wide as the longest kind's name, and 8 at least.
    let w = ResourceKind::ALL
        .map(|k| k.as_str().len())
        .into_iter()
        .fold(8, usize::max);
    out.push_str(&format!("{first:<16} {:<w$}", "kind"));
    for c in COLUMNS {
        out.push_str(&format!(" {:>15}", c.as_str()));
    }
    out.push('\n');
    for (name, kind, counts) in rows {
        out.push_str(&format!("{name:<16} {:<w$}", kind.as_str()));
        for c in COLUMNS {
            let n = counts.and_then(|o| o.get(&c)).copied().unwrap_or(0);
            out.push_str(&format!(" {n:>15}"));
        }
        out.push('\n');
    }
}

/// The human summary of a sweep: a row per region and kind (and per account, when the sweep
/// named accounts), the cells not swept to the end, then every resource left not compliant.
/// `None` when the report is not a sweep's.
pub fn render(report: &Report) -> Option<String> {
    let sweep = report.sweep.as_ref()?;
    let mut out = String::new();
    // Every region swept, those with nothing in them too.
    let regions: Vec<Row<'_>> = sweep
        .regions
        .iter()
        .flat_map(|r| {
            let kinds = sweep.by_region.get(r);
            ResourceKind::ALL.map(|k| (r.clone(), k, kinds.and_then(|m| m.get(&k))))
        })
        .collect();
    text_table(&mut out, "region", &regions);
    if !sweep.by_account.is_empty() {
        out.push('\n');
        text_table(&mut out, "account", &rows_of(&sweep.by_account));
    }
    if !sweep.failed_cells.is_empty() {
        out.push_str(&format!(
            "\ncells not swept to the end ({}):\n",
            sweep.failed_cells.len()
        ));
        for (cell, why) in &sweep.failed_cells {
            out.push_str(&format!("  {cell}: {why}\n"));
        }
    }
    let c = &report.compliance;
    if let Some(pct) = c.percent {
        out.push_str(&format!(
            "\ncompliance {pct:.1}%: {} of {} compliant or fixed; {} exception(s) not counted\n",
            c.compliant,
            c.compliant + c.not_compliant,
            c.exceptions
        ));
    }
    let open: Vec<_> = report.results.iter().filter(|r| r.outcome.left_open()).collect();
    if !open.is_empty() {
        out.push_str(&format!("\nnot compliant ({}):\n", open.len()));
        for r in open {
            let name = r.display_name();
            let why = r.reasons.first().map(String::as_str).unwrap_or("");
            out.push_str(&format!("  {:<15} {name}: {why}\n", r.outcome.as_str()));
        }
    }
    let exceptions: Vec<_> = report
        .results
        .iter()
        .filter_map(|r| Some((r, r.exception.as_ref()?)))
        .collect();
    if !exceptions.is_empty() {
        out.push_str(&format!("\nexceptions ({}):\n", exceptions.len()));
        for (r, x) in exceptions {
            let name = r.display_name();
            out.push_str(&format!(
                "  {:<15} {name}: until {}, granted by {}: {}\n",
                x.kind.as_str(),
                x.until.map_or_else(|| "no end".to_owned(), |u| u.to_string()),
                x.who.as_deref().unwrap_or("-"),
                x.why.as_deref().unwrap_or("-")
            ));
        }
    }
    out.push_str(&format!(
        "\nmode {}; {} in {:.2}s; {} throttled attempts{}\n",
        report.mode,
        if sweep.complete { "complete" } else { "INCOMPLETE" },
        sweep.seconds,
        sweep.throttled,
        if sweep.not_started > 0 {
            format!(" ({} resources not started)", sweep.not_started)
        } else {
            String::new()
        }
    ));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Outcome;
    use crate::domain::ResourceKind;
    use crate::view::page::Counts;

    #[test]
    fn a_text_table_has_a_header_and_a_line_per_row_zeros_included() {
        let counts: Counts = [(Outcome::Compliant, 7), (Outcome::Violation, 2)].into();
        let rows: Vec<Row<'_>> = vec![
            ("123456789012".to_owned(), ResourceKind::Secret, Some(&counts)),
            ("123456789012".to_owned(), ResourceKind::KmsKey, None),
        ];
        let mut out = String::new();
        text_table(&mut out, "account", &rows);
        let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[0][..2], ["account", "kind"]);
        assert_eq!(lines[0][2..], COLUMNS.map(|c| c.as_str()));
        assert_eq!(
            lines[1],
            ["123456789012", "secret", "7", "0", "0", "2", "0", "0", "0", "0", "0"]
        );
        assert_eq!(
            lines[2],
            ["123456789012", "kms-key", "0", "0", "0", "0", "0", "0", "0", "0", "0"]
        );
    }
}
