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

/// The estate of the issue: 2 compliant, 1 violating, 1 waived and 1 exempt.
fn estate() -> Vec<ResourceReport> {
    let one = |i: usize, outcome: Outcome| {
        let mut r = ResourceReport::new(outcome);
        r.kind = Some(ResourceKind::Secret);
        r.arn = Some(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:s{i}-AbCdEf"
        ));
        r.account = Some("123456789012".into());
        r.region = Some("us-east-1".into());
        r
    };
    let mut waived = one(3, Outcome::Waived);
    waived.exception = Some(Exception {
        kind: ExceptionKind::Waiver,
        until: Date::parse("2026-12-10"),
        who: Some("the policy file (waivers)".into()),
        why: Some("<script>alert(1)</script> vendor migration".into()),
        rules: vec!["prod".into()],
    });
    let mut exempt = one(4, Outcome::Exempt);
    exempt.exception = Some(Exception {
        kind: ExceptionKind::Exemption,
        until: Date::parse("2027-02-01"),
        who: Some("arn:aws:iam::123456789012:role/secops<img src=x>".into()),
        why: Some("MIG-42".into()),
        rules: Vec::new(),
    });
    vec![
        one(0, Outcome::Compliant),
        one(1, Outcome::Remediated),
        one(2, Outcome::Violation),
        waived,
        exempt,
    ]
}

#[test]
fn one_rule_decides_what_counts_in_the_report_the_table_the_metrics_the_page_and_security_hub() {
    let entries = estate();
    let report = Report::new(Mode::Enforce, entries.clone());
    // The report: exceptions in neither number.
    assert_eq!(
        (
            report.compliance.compliant,
            report.compliance.not_compliant,
            report.compliance.exceptions
        ),
        (2, 1, 2)
    );
    assert_eq!(format!("{:.1}", report.compliance.percent.unwrap()), "66.7");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["compliance"]["exceptions"], 2);
    assert_eq!(json["summary"]["waived"], 1);
    // The page's headline says what it left out.
    let page = crate::view::page::render(&report, 1_796_000_000_000, "Owner");
    assert!(page.contains("<span data-scope=\"headline\">66.7</span>% compliant · <span data-scope=\"exceptions\">2</span> exceptions not counted"), "{page}");
    // The metrics: a Waived count beside Exempt, and Compliant without either.
    let mut m = crate::view::metrics::Metrics::default();
    for e in &entries {
        m.observe(e);
    }
    use crate::view::metrics::Metric;
    assert_eq!(
        (
            m.total(Metric::Compliant),
            m.total(Metric::Remediated),
            m.total(Metric::Waived),
            m.total(Metric::Exempt)
        ),
        (1, 1, 1, 1)
    );
    // Security Hub: an exception is a WARNING, like an exemption.
    for e in &entries[3..] {
        let f = crate::view::findings::finding_of(e, Mode::Enforce, false, "2026-12-03T00:00:00Z").unwrap();
        assert_eq!(f.compliance, crate::ports::Compliance::Warning, "{:?}", e.outcome);
    }
    // Every outcome has exactly one standing; exceptions are exempt and waived only.
    let exceptions: Vec<Outcome> = crate::view::page::COLUMNS
        .into_iter()
        .filter(|o| o.standing() == Standing::Exception)
        .collect();
    assert_eq!(exceptions, [Outcome::Exempt, Outcome::Waived]);
}

#[test]
fn the_table_lists_exceptions_apart_from_what_is_not_compliant() {
    let mut sweep = crate::view::summary::SweepSummary {
        regions: vec!["us-east-1".into()],
        complete: true,
        ..crate::view::summary::SweepSummary::default()
    };
    let counts: BTreeMap<Outcome, usize> = [
        (Outcome::Compliant, 1),
        (Outcome::Remediated, 1),
        (Outcome::Violation, 1),
        (Outcome::Waived, 1),
        (Outcome::Exempt, 1),
    ]
    .into();
    sweep.by_kind.insert(ResourceKind::Secret, counts.clone());
    sweep
        .by_region
        .insert("us-east-1".into(), [(ResourceKind::Secret, counts)].into());
    let report = Report::of_sweep(Mode::Enforce, estate(), sweep);
    let text = crate::view::table::render(&report).unwrap();
    assert!(
        text.contains("compliance 66.7%: 2 of 3 compliant or fixed; 2 exception(s) not counted"),
        "{text}"
    );
    assert!(text.contains("not compliant (1):"), "{text}");
    assert!(text.contains("exceptions (2):"), "{text}");
    assert!(text.contains("waiver") && text.contains("until 2026-12-10"), "{text}");
}

#[test]
fn the_page_lists_each_exception_with_who_why_and_its_last_day_the_soonest_first_and_marked() {
    let report = Report::new(Mode::Enforce, estate());
    // 2026-12-03: the waiver ends in 7 days, the exemption in 60.
    let today_ms = 1_796_256_000_000;
    assert_eq!(Date::of_epoch_ms(today_ms).to_string(), "2026-12-03");
    let page = crate::view::page::render(&report, today_ms, "Owner");
    let section = &page[page.find("id=\"exceptions\"").unwrap()..];
    assert!(section.contains("Exceptions (<span data-scope=\"listed-exceptions\">2</span>)"));
    let waiver = section.find("s3-AbCdEf").unwrap();
    let exemption = section.find("s4-AbCdEf").unwrap();
    assert!(waiver < exemption, "the one ending soonest first");
    assert!(
        section.contains("<tr data-exception=\"waiver\" class=\"soon\">"),
        "{section}"
    );
    assert!(section.contains("<tr data-exception=\"exemption\"><td"), "{section}");
    assert!(
        section.contains("<b class=\"warn\">7</b>") && section.contains(">60<"),
        "{section}"
    );
    assert!(section.contains("arn:aws:iam::123456789012:role/secops&lt;img src=x&gt;") && section.contains("MIG-42"));
    assert!(!page.contains("<img"), "who is escaped");
    assert!(section.contains("waiver of prod"));
    // Hostile text (a waiver's reason) is escaped.
    assert!(!page.contains("<script>") && section.contains("&lt;script&gt;alert(1)&lt;/script&gt; vendor migration"));
    // Exceptions are never among "not compliant".
    let open = &page[page.find("Not compliant (").unwrap()..];
    assert!(
        open.starts_with("Not compliant (<span data-scope=\"listed\">1</span>)"),
        "{open}"
    );
}

#[test]
fn a_secret_shows_its_name_and_a_key_its_aliases_with_the_arn_on_hover_everywhere() {
    let mut secret = ResourceReport::new(Outcome::Violation);
    secret.kind = Some(ResourceKind::Secret);
    secret.arn = Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-AbCdEf".into());
    secret.name = Some("prod/payments/db".into());
    let mut key = ResourceReport::new(Outcome::Violation);
    key.kind = Some(ResourceKind::KmsKey);
    key.arn = Some("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab".into());
    key.aliases = vec!["team-a/data".into(), "<b>x</b>".into()];
    assert_eq!(secret.display_name(), "prod/payments/db");
    assert_eq!(
        key.display_name(),
        "alias/team-a/data, alias/<b>x</b> (1234abcd-12ab-34cd-56ef-1234567890ab)"
    );
    let report = Report::new(Mode::Enforce, vec![secret, key]);
    let page = crate::view::page::render(&report, 1_796_256_000_000, "Owner");
    assert!(page.contains(
        "<span class=\"name\" title=\"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-AbCdEf\">prod/payments/db</span>"
    ), "{page}");
    assert!(page.contains("alias/team-a/data, alias/&lt;b&gt;x&lt;/b&gt; (1234abcd-12ab-34cd-56ef-1234567890ab)"));
    assert!(!page.contains("<b>x</b>"));
    // A key without aliases shows its ARN.
    let mut bare = ResourceReport::new(Outcome::Violation);
    bare.arn = Some("arn:aws:kms:us-east-1:123456789012:key/k".into());
    assert_eq!(bare.display_name(), "arn:aws:kms:us-east-1:123456789012:key/k");
}

#[test]
fn the_page_gives_a_rate_per_owner_worst_first_with_no_owner_a_group_like_the_others() {
    let mut sweep = crate::view::summary::SweepSummary {
        regions: vec!["us-east-1".into()],
        complete: true,
        group_by: "Owner".into(),
        ..crate::view::summary::SweepSummary::default()
    };
    let counts = |c: &[(Outcome, usize)]| -> BTreeMap<Outcome, usize> { c.iter().copied().collect() };
    sweep.by_group.insert(
        "payments".into(),
        counts(&[(Outcome::Compliant, 3), (Outcome::Violation, 1)]),
    );
    sweep.by_group.insert(
        "search".into(),
        counts(&[(Outcome::Compliant, 1), (Outcome::Violation, 3)]),
    );
    sweep
        .by_group
        .insert("<i>ops</i>".into(), counts(&[(Outcome::Waived, 2)]));
    sweep
        .by_group
        .insert(String::new(), counts(&[(Outcome::Exempt, 1), (Outcome::Compliant, 1)]));
    let report = Report::of_sweep(Mode::Enforce, Vec::new(), sweep);
    let page = crate::view::page::render(&report, 0, "Owner");
    let section = &page[page.find("id=\"by-group\"").unwrap()..];
    let order: Vec<usize> = [
        "data-group=\"search\"",
        "data-group=\"payments\"",
        "data-group=\"\"",
        "data-group=\"&lt;i&gt;ops&lt;/i&gt;\"",
    ]
    .iter()
    .map(|g| section.find(g).unwrap_or_else(|| panic!("{g} in {section}")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "worst first, no rate last: {order:?}"
    );
    for (scope, group, value) in [
        ("group-rate", "search", "25.0%"),
        ("group-rate", "payments", "75.0%"),
        ("group-rate", "", "100.0%"),
        ("group-exceptions", "", "1"),
        ("group-resources", "", "2"),
        ("group", "search", "3"),
        ("group-rate", "&lt;i&gt;ops&lt;/i&gt;", "-"),
    ] {
        let cell = format!("data-scope=\"{scope}\" data-key=\"{group}\">{value}<");
        assert!(section.contains(&cell), "{cell} in {section}");
    }
    assert!(section.contains("<th>(no Owner)</th>") && !page.contains("<i>ops</i>"));
}

#[test]
fn contested_keys_have_a_section_of_their_own_with_who_how_often_since_when_and_what_to_do() {
    let mut e = ResourceReport::new(Outcome::Remediated);
    e.kind = Some(ResourceKind::Secret);
    e.arn = Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf".into());
    e.name = Some("app/db".into());
    e.reasons.push("contested: `arn:aws:iam::123456789012:role/<terraform>` has made this change to `Owner` 3 times in 24 hours and tag-warden undid it each time; tag-warden still enforces. Resolve it: trust that principal in TAG_WARDEN_IGNORE_PRINCIPALS, or fix its code (Terraform: `ignore_tags` for `Owner`)".into());
    e.contested = Some(Contested {
        contested: true,
        contested_by: "arn:aws:iam::123456789012:role/<terraform>".into(),
        contested_count: 3,
        contested_keys: vec!["Owner".into()],
        contested_since: Some("2026-12-03T08:00:00Z".into()),
    });
    let page = crate::view::page::render(&Report::new(Mode::Enforce, vec![e]), 0, "Owner");
    let section = &page[page.find("id=\"contested\"").unwrap()..];
    assert!(section.contains("Contested keys (<span data-scope=\"listed-contested\">1</span>)"));
    assert!(section.contains("app/db") && section.contains(">Owner<") && section.contains(">3<"));
    assert!(section.contains("2026-12-03T08:00:00Z"));
    assert!(section.contains("role/&lt;terraform&gt;") && !page.contains("<terraform>"));
    assert!(section.contains("trust that principal in TAG_WARDEN_IGNORE_PRINCIPALS, or fix its code (Terraform: <code>ignore_tags</code> for <code>Owner</code>)"), "{section}");
}

#[test]
fn a_dry_run_says_would_fix_and_never_counts_it_as_compliant_or_fixed() {
    let mut would = ResourceReport::new(Outcome::WouldRemediate);
    would.kind = Some(ResourceKind::Secret);
    let mut ok = ResourceReport::new(Outcome::Compliant);
    ok.kind = Some(ResourceKind::Secret);
    let report = Report::new(Mode::Report, vec![would, ok]);
    assert_eq!((report.compliance.compliant, report.compliance.not_compliant), (1, 1));
    let page = crate::view::page::render(&report, 0, "Owner");
    assert!(
        page.contains(r#"<div class="tile">would fix<b data-scope="total" data-outcome="would-remediate">1</b></div>"#),
        "{page}"
    );
    assert!(page.contains(r#"<span data-scope="headline">50.0</span>% compliant"#));
}
