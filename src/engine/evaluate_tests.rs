use super::*;
use crate::engine::policy::parse;

const POLICY: &str = r#"{"rules":[{
    "name":"base",
    "require":{
        "Owner":{"default":"platform","values":["platform","payments"]},
        "CostCenter":{"pattern":"^[0-9]{4}$","default":"0000"},
        "Reviewer":{}
    },
    "forbid":["temp*","Debug"]
}]}"#;

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn eval(policy: &str, kind: ResourceKind, current: &[(&str, &str)]) -> Evaluation {
    evaluate(&parse(policy).unwrap(), &ResourceContext::new(kind), &tags(current))
}

const COMPLIANT: &[(&str, &str)] = &[("Owner", "payments"), ("CostCenter", "1234"), ("Reviewer", "bob")];

#[test]
fn compliant_tags_need_no_writes() {
    let e = eval(POLICY, ResourceKind::Secret, COMPLIANT);
    assert_eq!(e, Evaluation::default());
}

#[test]
fn untag_of_required_key_restores_default() {
    let e = eval(
        POLICY,
        ResourceKind::KmsKey,
        &[("CostCenter", "1234"), ("Reviewer", "bob")],
    );
    assert_eq!(e.plan.tag, tags(&[("Owner", "platform")]));
    assert!(e.plan.untag.is_empty());
    assert!(!e.has_violations());
    assert!(
        matches!(&e.findings[..], [Finding::Missing { key, fix: Fix::Set { value, .. }, .. }] if key == "Owner" && value == "platform")
    );
}

#[test]
fn value_outside_allowed_values_is_reset_to_default() {
    let e = eval(
        POLICY,
        ResourceKind::Secret,
        &[("Owner", "someone-else"), ("CostCenter", "1234"), ("Reviewer", "b")],
    );
    assert_eq!(e.plan.tag, tags(&[("Owner", "platform")]));
    assert!(matches!(&e.findings[..], [Finding::Invalid { value, .. }] if value == "someone-else"));
}

#[test]
fn value_not_matching_pattern_is_reset_to_default() {
    let e = eval(
        POLICY,
        ResourceKind::Secret,
        &[("Owner", "platform"), ("CostCenter", "12"), ("Reviewer", "b")],
    );
    assert_eq!(e.plan.tag, tags(&[("CostCenter", "0000")]));
}

#[test]
fn values_are_case_sensitive() {
    let e = eval(
        POLICY,
        ResourceKind::Secret,
        &[("Owner", "Platform"), ("CostCenter", "1234"), ("Reviewer", "b")],
    );
    assert_eq!(e.plan.tag, tags(&[("Owner", "platform")]));
    // A differently cased key is a different key: `owner` does not satisfy `Owner`.
    let e = eval(
        POLICY,
        ResourceKind::Secret,
        &[("owner", "platform"), ("CostCenter", "1234"), ("Reviewer", "b")],
    );
    assert_eq!(e.plan.tag, tags(&[("Owner", "platform")]));
}

#[test]
fn missing_required_key_without_default_is_a_violation_with_no_write() {
    let e = eval(
        POLICY,
        ResourceKind::Secret,
        &[("Owner", "platform"), ("CostCenter", "1234")],
    );
    assert!(e.plan.is_empty());
    assert!(e.has_violations());
    assert!(matches!(&e.findings[..], [Finding::Missing { key, fix: Fix::Manual(_), .. }] if key == "Reviewer"));
    assert!(e.findings[0].reason().contains("no default"));
}

#[test]
fn invalid_value_without_default_is_a_violation_with_no_write() {
    let p = r#"{"rules":[{"name":"r","require":{"Env":{"values":["prod","dev"]}}}]}"#;
    let e = eval(p, ResourceKind::Secret, &[("Env", "qa")]);
    assert!(e.plan.is_empty());
    assert!(e.has_violations());
}

#[test]
fn forbidden_keys_are_removed_case_sensitively() {
    let mut current = COMPLIANT.to_vec();
    current.extend([("temp-debug", "1"), ("Debug", "on"), ("debug", "on"), ("Temp", "x")]);
    let e = eval(POLICY, ResourceKind::Secret, &current);
    assert_eq!(e.plan.untag, vec!["Debug".to_string(), "temp-debug".to_string()]);
    assert!(e.plan.tag.is_empty());
    assert!(!e.has_violations());
}

#[test]
fn aws_keys_are_never_removed_even_when_a_glob_would_match() {
    let p = r#"{"rules":[{"name":"r","forbid":["*"]}]}"#;
    let e = eval(
        p,
        ResourceKind::Secret,
        &[("aws:cloudformation:stack-name", "s"), ("x", "1")],
    );
    assert_eq!(e.plan.untag, vec!["x".to_string()]);
}

/// A context whose memory records `remembered` (as a trusted principal's change or `tag-warden
/// exempt` would have).
fn vouched(kind: ResourceKind, remembered: &[(&str, &str)]) -> ResourceContext {
    let mut c = ResourceContext::new(kind);
    c.remembered = tags(remembered);
    c
}

#[test]
fn exempt_resources_are_left_alone_when_memory_vouches_for_the_exemption() {
    let p = parse(POLICY).unwrap();
    let current = tags(&[("tag-warden:exempt", "true"), ("Debug", "on")]);
    let e = evaluate(
        &p,
        &vouched(ResourceKind::Secret, &[("tag-warden:exempt", "true")]),
        &current,
    );
    assert!(e.exempt);
    assert!(e.plan.is_empty());
    assert!(e.findings.is_empty());
    assert!(e.notes[0].contains("as memory records"), "{:?}", e.notes);
    // Only the exact value `true` exempts.
    let e = evaluate(
        &p,
        &vouched(ResourceKind::Secret, &[("tag-warden:exempt", "yes")]),
        &tags(&[("tag-warden:exempt", "yes"), ("Debug", "on")]),
    );
    assert!(!e.exempt);
    assert!(!e.plan.is_empty());
}

#[test]
fn a_self_set_exemption_is_not_verified_and_the_resource_is_enforced() {
    // Forbidding `tag-warden:*` and `Debug`: an exemption anyone set keeps neither.
    let p = parse(r#"{"rules":[{"name":"r","forbid":["tag-warden:*","Debug"]}]}"#).unwrap();
    let current = tags(&[("tag-warden:exempt", "true"), ("Debug", "grant-access")]);
    for ctx in [
        ResourceContext::new(ResourceKind::Secret),
        // Memory holds another value (or a revoked one): not this one.
        vouched(ResourceKind::Secret, &[("tag-warden:exempt", "")]),
    ] {
        let e = evaluate(&p, &ctx, &current);
        assert!(!e.exempt);
        assert_eq!(e.plan.untag, ["Debug", "tag-warden:exempt"]);
        assert!(e.notes.iter().any(|n| n.starts_with(NOT_VERIFIED)), "{:?}", e.notes);
    }
    let mut c = ResourceContext::new(ResourceKind::Secret);
    c.today = crate::domain::Date::parse("2026-12-02");
    let e = evaluate(
        &p,
        &c,
        &tags(&[("tag-warden:exempt-until", "9999-12-31"), ("Debug", "x")]),
    );
    assert!(!e.exempt);
    assert!(e.has_violations(), "beyond max_days: a violation");
    assert!(e
        .findings
        .iter()
        .any(|f| f.reason().contains("more than 90 days ahead")));
}

#[test]
fn exemptions_set_by_anyone_are_honoured_within_max_days_and_by_nobody_never() {
    let anyone = parse(
        r#"{"version":2,"exemptions":{"set_by":"anyone","max_days":30},"rules":[{"name":"r","forbid":["Debug"]}]}"#,
    )
    .unwrap();
    let mut c = ResourceContext::new(ResourceKind::Secret);
    c.today = crate::domain::Date::parse("2026-12-02");
    let within = tags(&[("tag-warden:exempt-until", "2027-01-01"), ("Debug", "1")]);
    let e = evaluate(&anyone, &c, &within);
    assert!(e.exempt, "{e:?}");
    assert!(e.notes[0].contains("anyone"), "{:?}", e.notes);
    let beyond = tags(&[("tag-warden:exempt-until", "2027-01-02"), ("Debug", "1")]);
    let e = evaluate(&anyone, &c, &beyond);
    assert!(!e.exempt && e.has_violations());
    assert!(e
        .findings
        .iter()
        .any(|f| f.reason().contains("more than 30 days ahead")));
    assert!(evaluate(&anyone, &c, &tags(&[("tag-warden:exempt", "true")])).exempt);
    let nobody =
        parse(r#"{"version":2,"exemptions":{"set_by":"nobody"},"rules":[{"name":"r","forbid":["Debug"]}]}"#).unwrap();
    let mut c = vouched(ResourceKind::Secret, &[("tag-warden:exempt", "true")]);
    c.today = crate::domain::Date::parse("2026-12-02");
    let e = evaluate(&nobody, &c, &tags(&[("tag-warden:exempt", "true"), ("Debug", "1")]));
    assert!(!e.exempt);
    assert_eq!(e.plan.untag, ["Debug"]);
    assert!(e.notes[0].contains("`nobody`"), "{:?}", e.notes);
}

#[test]
fn on_a_tag_change_event_a_changed_locked_key_is_left_to_the_cloudtrail_record() {
    let p = parse(r#"{"rules":[{"name":"r","require":{"CreatedBy":{"lock":true}},"forbid":["Debug"]}]}"#).unwrap();
    let mut c = vouched(ResourceKind::Secret, &[("CreatedBy", "alice")]);
    let current = tags(&[("CreatedBy", "terraform"), ("Debug", "1")]);
    c.event = Some(crate::domain::EventInfo {
        source: Some(crate::engine::intake::TAG_SOURCE.to_owned()),
        ..Default::default()
    });
    let e = evaluate(&p, &c, &current);
    assert_eq!(e.plan.untag, ["Debug"], "everything else is enforced");
    assert!(!e.plan.tag.contains_key("CreatedBy"));
    assert!(e.notes.iter().any(|n| n.contains("CloudTrail record")), "{:?}", e.notes);
    // From a CloudTrail record (a caller named) or a sweep, the lock is enforced.
    c.event = None;
    assert_eq!(
        evaluate(&p, &c, &current).plan.tag.get("CreatedBy").map(String::as_str),
        Some("alice")
    );
}

#[test]
fn rules_apply_only_to_their_kinds() {
    let p = r#"{"rules":[{"name":"s","resources":["secret"],"require":{"DataClass":{"default":"internal"}}}]}"#;
    assert!(!eval(p, ResourceKind::Secret, &[]).plan.is_empty());
    assert!(eval(p, ResourceKind::KmsKey, &[]).plan.is_empty());
}

#[test]
fn a_key_required_by_two_rules_must_satisfy_both() {
    let p = r#"{"rules":[
        {"name":"a","require":{"Owner":{"default":"platform"}}},
        {"name":"b","require":{"Owner":{"values":["platform","payments"]}}}]}"#;
    let e = eval(p, ResourceKind::Secret, &[("Owner", "orders")]);
    assert_eq!(e.plan.tag, tags(&[("Owner", "platform")]));
    assert!(matches!(&e.findings[..], [Finding::Invalid { rule, .. }] if rule == "b"));
    assert!(eval(p, ResourceKind::Secret, &[("Owner", "payments")])
        .findings
        .is_empty());
}

#[test]
fn forty_eight_tags_two_forbidden_two_required_missing_fits_the_limit() {
    let p = r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"},"CostCenter":{"default":"0000"}},"forbid":["temp*"]}]}"#;
    let mut current: Tags = (0..46).map(|i| (format!("k{i:02}"), "v".to_string())).collect();
    current.insert("temp1".into(), "x".into());
    current.insert("temp2".into(), "x".into());
    current.insert("aws:cloudformation:stack-id".into(), "s".into());
    assert_eq!(
        current.keys().filter(|k| !crate::domain::is_reserved_key(k)).count(),
        48
    );
    let e = evaluate(
        &parse(p).unwrap(),
        &ResourceContext::new(ResourceKind::Secret),
        &current,
    );
    assert_eq!(e.plan.untag, vec!["temp1".to_string(), "temp2".to_string()]);
    assert_eq!(e.plan.tag.len(), 2);
    assert!(!e.has_violations());
}

#[test]
fn additions_beyond_the_tag_limit_are_dropped_and_reported() {
    let p = r#"{"rules":[{"name":"r","require":{"A":{"default":"1"},"B":{"default":"2"},"C":{"default":"3"}}}]}"#;
    // 48 user tags (aws: ones do not count): room for two of the three required keys.
    let mut current: Tags = (0..48).map(|i| (format!("k{i:02}"), "v".to_string())).collect();
    current.insert("aws:x".into(), "y".into());
    let e = evaluate(
        &parse(p).unwrap(),
        &ResourceContext::new(ResourceKind::Secret),
        &current,
    );
    assert_eq!(e.plan.tag, tags(&[("A", "1"), ("B", "2")]));
    assert!(e.has_violations());
    assert!(e
        .findings
        .iter()
        .any(|f| matches!(f, Finding::TagLimit { keys, limit: 50 } if keys == &["C".to_string()])));
    assert!(!e
        .findings
        .iter()
        .any(|f| matches!(f, Finding::Missing { key, .. } if key == "C")));
}

#[test]
fn resetting_an_existing_key_does_not_count_against_the_limit() {
    let p = r#"{"rules":[{"name":"r","require":{"k00":{"default":"fixed","values":["fixed"]}}}]}"#;
    let current: Tags = (0..50).map(|i| (format!("k{i:02}"), "v".to_string())).collect();
    let e = evaluate(
        &parse(p).unwrap(),
        &ResourceContext::new(ResourceKind::KmsKey),
        &current,
    );
    assert_eq!(e.plan.tag, tags(&[("k00", "fixed")]));
    assert!(!e.has_violations());
}

mod v2 {
    use super::*;
    use crate::domain::{Actor, EventInfo};

    const POLICY: &str = r#"{"version":2,"rules":[
        {"name":"base","require":{"CreatedBy":{"default":"{creator}"}}},
        {"name":"prod","resources":["secret"],"match":{"names":["prod/*"]},
         "require":{"Service":{"default":"{name[1]}","pattern":"^[a-z]+$"}}},
        {"name":"sandbox","mode":"report","match":{"accounts":["210987654321"]},"forbid":["Debug"]},
        {"name":"teams","resources":["kms-key"],"match":{"names":["team-*/*"],"tags":{"Shared":false}},
         "require":{"Team":{"default":"{name[0]}"}}}]}"#;

    fn secret(name: &str, account: &str) -> ResourceContext {
        let mut c = ResourceContext::new(ResourceKind::Secret);
        c.name = Some(name.into());
        c.account = Some(account.into());
        c
    }

    fn create_event(c: &mut ResourceContext, name: &str) {
        c.event = Some(EventInfo {
            name: Some(name.into()),
            actor: Actor {
                identity_type: Some("AssumedRole".into()),
                arn: Some("arn:aws:sts::1:assumed-role/AWSReservedSSO_Dev_1/alice@example.com".into()),
                issuer_arn: Some("arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_1".into()),
                ..Actor::default()
            },
            ..EventInfo::default()
        });
    }

    #[test]
    fn a_prod_secret_gets_its_service_from_its_name_and_a_dev_one_does_not() {
        let p = parse(POLICY).unwrap();
        let mut prod = secret("prod/payments/db", "111122223333");
        create_event(&mut prod, "CreateSecret");
        let e = evaluate(&p, &prod, &Tags::new());
        assert_eq!(e.plan.tag.get("Service").map(String::as_str), Some("payments"));
        assert_eq!(
            e.plan.tag.get("CreatedBy").map(String::as_str),
            Some("alice@example.com")
        );
        let mut dev = secret("dev/payments/db", "111122223333");
        create_event(&mut dev, "CreateSecret");
        assert!(!evaluate(&p, &dev, &Tags::new()).plan.tag.contains_key("Service"));
    }

    #[test]
    fn a_locked_key_derived_from_the_creator_takes_the_derived_value_at_creation() {
        let p = parse(
            r#"{"version":2,"rules":[{"name":"who","require":{
                "CreatedBy":{"default":"{creator}","lock":true},
                "DataClass":{"values":["internal","restricted"],"lock":true}}}]}"#,
        )
        .unwrap();
        let mut c = secret("prod/payments/db", "111122223333");
        create_event(&mut c, "CreateSecret");
        // The creator (alice) names someone else: squatting the lock. The derived value wins.
        let e = evaluate(&p, &c, &tags(&[("CreatedBy", "mallory"), ("DataClass", "internal")]));
        assert_eq!(e.plan.tag, tags(&[("CreatedBy", "alice@example.com")]));
        assert!(matches!(&e.findings[..], [Finding::Derived { key, value, derived, .. }]
            if key == "CreatedBy" && value == "mallory" && derived == "alice@example.com"));
        assert!(e.findings[0].reason().contains("derived from the creator"));
        // Other locked keys keep the first valid value, and say who set it.
        assert!(
            e.notes.iter().any(|n| n.contains("`DataClass` = `internal` is locked")
                && n.contains(
                    "first set by `arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_1`"
                )),
            "{:?}",
            e.notes
        );
        // The derived value itself: compliant, nothing to write.
        let e = evaluate(
            &p,
            &c,
            &tags(&[("CreatedBy", "alice@example.com"), ("DataClass", "internal")]),
        );
        assert!(e.plan.is_empty() && e.findings.is_empty(), "{e:?}");
        // After creation (a tag call), the creator is unknown: the first value stands.
        create_event(&mut c, "TagResource");
        let e = evaluate(&p, &c, &tags(&[("CreatedBy", "mallory"), ("DataClass", "internal")]));
        assert!(e.plan.is_empty(), "{e:?}");
    }

    #[test]
    fn the_creator_is_never_guessed_from_a_tagger() {
        let p = parse(POLICY).unwrap();
        let mut c = secret("prod/payments/db", "111122223333");
        create_event(&mut c, "TagResource");
        let e = evaluate(&p, &c, &tags(&[("Service", "payments")]));
        assert!(!e.plan.tag.contains_key("CreatedBy"));
        assert!(e.has_violations());
        assert!(
            e.findings[0].reason().contains("creation event"),
            "{}",
            e.findings[0].reason()
        );
        // A sweep has no event: the remembered value is used when there is one.
        let mut swept = secret("prod/payments/db", "111122223333");
        swept.remembered = tags(&[("CreatedBy", "bob")]);
        assert_eq!(
            evaluate(&p, &swept, &Tags::new())
                .plan
                .tag
                .get("CreatedBy")
                .map(String::as_str),
            Some("bob")
        );
    }

    #[test]
    fn a_derived_value_that_fails_the_rule_is_a_violation_not_a_write() {
        let p = parse(POLICY).unwrap();
        let c = secret("prod/Pay-ments!/db", "111122223333");
        let e = evaluate(&p, &c, &tags(&[("CreatedBy", "x")]));
        assert!(!e.plan.tag.contains_key("Service"));
        assert!(
            e.findings
                .iter()
                .any(|f| f.reason().contains("`Pay-ments_`, which is not valid")),
            "{:?}",
            e.findings
        );
    }

    #[test]
    fn a_report_mode_rule_plans_its_writes_apart() {
        let p = parse(POLICY).unwrap();
        let e = evaluate(
            &p,
            &secret("x", "210987654321"),
            &tags(&[("Debug", "1"), ("CreatedBy", "x")]),
        );
        assert!(e.plan.is_empty());
        assert_eq!(e.report_only.untag, ["Debug"]);
        let e = evaluate(
            &p,
            &secret("x", "111122223333"),
            &tags(&[("Debug", "1"), ("CreatedBy", "x")]),
        );
        assert!(
            e.report_only.is_empty() && e.plan.is_empty(),
            "out of the sandbox's scope"
        );
    }

    #[test]
    fn a_key_is_matched_by_alias_and_a_tag_condition_scopes_the_rule() {
        let p = parse(POLICY).unwrap();
        let mut key = ResourceContext::new(ResourceKind::KmsKey);
        key.aliases = vec!["team-search/index".into()];
        let e = evaluate(&p, &key, &tags(&[("CreatedBy", "x")]));
        assert_eq!(e.plan.tag.get("Team").map(String::as_str), Some("team-search"));
        let e = evaluate(&p, &key, &tags(&[("CreatedBy", "x"), ("Shared", "yes")]));
        assert!(!e.plan.tag.contains_key("Team"), "Shared keys are out of scope");
    }
}

mod waivers {
    use super::*;
    use crate::domain::Date;

    const POLICY: &str = r#"{"version":2,"rules":[
        {"name":"owner","require":{"Owner":{"default":"platform"}}},
        {"name":"no-debug","forbid":["Debug"]}],
      "waivers":[
        {"match":{"names":["legacy/*"]},"rules":["owner"],"until":"2026-11-23","reason":"migration MIG-42"},
        {"match":{"names":["old/*"]},"until":"2026-11-20","reason":"expired"}]}"#;

    fn on(day: &str, name: &str) -> ResourceContext {
        let mut c = ResourceContext::new(ResourceKind::Secret);
        c.name = Some(name.into());
        c.today = Date::parse(day);
        // Memory vouches for the exemption the tests give (granted by `tag-warden exempt`).
        c.remembered = tags(&[("tag-warden:exempt-until", "2026-11-23")]);
        c
    }

    #[test]
    fn the_exempt_until_tag_exempts_through_its_day_in_utc_and_not_after() {
        let p = parse(POLICY).unwrap();
        let t = tags(&[("tag-warden:exempt-until", "2026-11-23"), ("Debug", "1")]);
        for (today, exempt) in [("2026-11-22", true), ("2026-11-23", true), ("2026-11-24", false)] {
            let e = evaluate(&p, &on(today, "app/x"), &t);
            assert_eq!(e.exempt, exempt, "{today}");
            assert_eq!(
                e.plan.untag.is_empty(),
                exempt,
                "{today}: enforced like any other after the day"
            );
        }
        let e = evaluate(&p, &on("2026-11-22", "app/x"), &t);
        assert_eq!(e.exempt_until, Date::parse("2026-11-23"));
        assert_eq!(e.waived_until(), Date::parse("2026-11-23"));
    }

    #[test]
    fn a_malformed_date_exempts_nothing_and_is_a_violation() {
        let p = parse(POLICY).unwrap();
        for bad in ["tomorrow", "2026-02-30", "23/11/2026", ""] {
            let e = evaluate(
                &p,
                &on("2026-11-22", "app/x"),
                &tags(&[("tag-warden:exempt-until", bad), ("Debug", "1")]),
            );
            assert!(!e.exempt, "{bad}");
            assert_eq!(e.plan.untag, ["Debug"], "{bad}");
            assert!(e.has_violations(), "{bad}");
            assert!(e.findings.iter().any(|f| f.reason().contains("is not a day")), "{bad}");
        }
    }

    #[test]
    fn a_policy_waiver_sets_chosen_rules_aside_for_matching_resources_until_its_day() {
        let p = parse(POLICY).unwrap();
        let t = tags(&[("Debug", "1")]);
        let e = evaluate(&p, &on("2026-11-23", "legacy/db"), &t);
        assert!(!e.plan.tag.contains_key("Owner"), "owner waived");
        assert_eq!(e.plan.untag, ["Debug"], "no-debug is not waived");
        assert_eq!(e.waived.len(), 1);
        assert_eq!(e.waived[0].reason, "migration MIG-42");
        let after = evaluate(&p, &on("2026-11-24", "legacy/db"), &t);
        assert!(
            after.plan.tag.contains_key("Owner") && after.waived.is_empty(),
            "expired"
        );
        let other = evaluate(&p, &on("2026-11-23", "app/db"), &t);
        assert!(other.plan.tag.contains_key("Owner"), "out of the waiver's match");
        let expired = evaluate(&p, &on("2026-11-23", "old/db"), &t);
        assert_eq!(expired.plan.untag, ["Debug"], "a waiver past its day waives nothing");
        let unknown_day = evaluate(
            &p,
            &ResourceContext {
                today: None,
                ..on("2026-11-23", "legacy/db")
            },
            &t,
        );
        assert!(unknown_day.waived.is_empty(), "no day known: no waiver in force");
    }

    #[test]
    fn waivers_need_a_day_a_reason_and_existing_rules() {
        let errs = match parse(
            r#"{"version":2,"rules":[{"name":"r","forbid":["a"]}],
            "waivers":[{"rules":["nope"],"until":"2026-13-01"}]}"#,
        ) {
            Err(e) => e.0,
            Ok(_) => panic!("invalid"),
        };
        let text = format!("{errs:?}");
        assert!(text.contains("no rule is named `nope`"), "{text}");
        assert!(text.contains("YYYY-MM-DD"), "{text}");
        assert!(text.contains("why the waiver is granted"), "{text}");
        assert!(
            parse(r#"{"rules":[{"name":"r","forbid":["a"]}],"waivers":[]}"#).is_err(),
            "version 2 only"
        );
    }
}

mod key_case_and_optional {
    use super::*;

    const POLICY: &str = r#"{"version":2,"rules":[{"name":"tp","fix_key_case":true,
        "require":{"Owner":{"values":["payments","platform"]},"CostCenter":{}},
        "optional":{"Team":{"values":["a","b"]},"Env":{"values":["prod","dev"],"default":"dev"}}}]}"#;

    fn run(current: &[(&str, &str)]) -> Evaluation {
        eval(POLICY, ResourceKind::Secret, current)
    }

    #[test]
    fn a_key_in_the_wrong_case_is_renamed_with_its_value_in_one_tag_and_one_untag() {
        let e = run(&[("owner", "payments"), ("team", "a"), ("CostCenter", "1")]);
        assert_eq!(e.plan.untag, ["owner", "team"]);
        assert_eq!(e.plan.tag, tags(&[("Owner", "payments"), ("Team", "a")]));
        assert!(!e.has_violations(), "{:?}", e.findings);
        assert!(e
            .findings
            .iter()
            .all(|f| matches!(f, Finding::KeyCase { renamed: true, .. })));
    }

    #[test]
    fn a_stray_case_duplicate_is_removed_and_an_invalid_value_is_not_carried_over() {
        let e = run(&[("Owner", "platform"), ("OWNER", "payments"), ("CostCenter", "1")]);
        assert_eq!(e.plan.untag, ["OWNER"]);
        assert!(e.plan.tag.is_empty());
        let e = run(&[("owner", "nobody"), ("CostCenter", "1")]);
        assert_eq!(e.plan.untag, ["owner"]);
        assert!(!e.plan.tag.contains_key("Owner"), "not valid: not carried over");
        assert!(e.has_violations(), "Owner is then missing and has no default");
    }

    #[test]
    fn an_optional_key_is_checked_only_when_present_and_its_default_replaces_a_bad_value() {
        assert!(run(&[("Owner", "platform"), ("CostCenter", "1")]).findings.is_empty());
        let e = run(&[("Owner", "platform"), ("CostCenter", "1"), ("Team", "zzz")]);
        assert!(e.has_violations(), "no default: a violation");
        assert!(e.plan.is_empty(), "and left unchanged");
        let e = run(&[("Owner", "platform"), ("CostCenter", "1"), ("Env", "qa")]);
        assert_eq!(e.plan.tag, tags(&[("Env", "dev")]));
        assert!(!e.has_violations());
    }

    #[test]
    fn without_fix_key_case_a_wrong_case_key_is_just_another_key() {
        let p = POLICY.replace("\"fix_key_case\":true,", "");
        let e = eval(&p, ResourceKind::Secret, &[("owner", "payments"), ("CostCenter", "1")]);
        assert!(e.plan.untag.is_empty());
        assert!(matches!(&e.findings[..], [Finding::Missing { key, .. }] if key == "Owner"));
    }

    #[test]
    fn the_loader_takes_the_new_fields_in_version_2_only_and_refuses_fights() {
        use crate::engine::policy::PolicyErrors;
        let errors = |p: &str| match parse(p) {
            Err(PolicyErrors(e, _)) => e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"),
            Ok(_) => String::new(),
        };
        assert!(errors(r#"{"rules":[{"name":"r","optional":{"A":{}}}]}"#).contains("needs `version: 2`"));
        assert!(errors(r#"{"rules":[{"name":"r","fix_key_case":true,"forbid":["x"]}]}"#).contains("needs `version: 2`"));
        let e = errors(r#"{"version":2,"rules":[{"name":"r","optional":{"A":{"lock":true}}}]}"#);
        assert!(e.contains("cannot be locked"), "{e}");
        let e = errors(
            r#"{"version":2,"rules":[{"name":"a","fix_key_case":true,"require":{"Owner":{}}},{"name":"b","require":{"owner":{}}}]}"#,
        );
        assert!(e.contains("one would rename the other's key"), "{e}");
        let e =
            errors(r#"{"version":2,"rules":[{"name":"a","optional":{"Debug":{}}},{"name":"b","forbid":["Debug"]}]}"#);
        assert!(e.contains("`Debug` is optional but rule `b` forbids it"), "{e}");
        assert!(parse(POLICY).is_ok());
    }
}

#[test]
fn a_fix_serializes_as_the_set_from_and_note_fields_reports_carry() {
    let json = |fix: Fix| {
        serde_json::to_value(Finding::Missing {
            key: "Owner".into(),
            rule: "r".into(),
            fix,
        })
        .unwrap()
    };
    assert_eq!(
        json(Fix::Set {
            value: "platform".into(),
            from: ValueSource::Remembered
        }),
        serde_json::json!({"finding": "missing", "key": "Owner", "rule": "r", "set": "platform", "from": "remembered"})
    );
    assert_eq!(
        json(Fix::Manual(Some("the default `{creator}` cannot be derived".into()))),
        serde_json::json!({"finding": "missing", "key": "Owner", "rule": "r", "set": null, "note": "the default `{creator}` cannot be derived"})
    );
    assert_eq!(
        json(Fix::Manual(None)),
        serde_json::json!({"finding": "missing", "key": "Owner", "rule": "r", "set": null})
    );
}

#[test]
fn fix_key_case_keeps_the_valid_value_whichever_case_carries_it() {
    let p = parse(
        r#"{"version":2,"rules":[{"name":"cc","fix_key_case":true,"require":{"CostCenter":{"values":["100","200"]}}}]}"#,
    )
    .unwrap();
    let ctx = ResourceContext::new(ResourceKind::Secret);
    // CostCenter=999 (invalid) beside costcenter=100 (valid): 100 wins, under the right name.
    let tags: Tags = [
        ("CostCenter".to_owned(), "999".to_owned()),
        ("costcenter".to_owned(), "100".to_owned()),
    ]
    .into();
    let e = evaluate(&p, &ctx, &tags);
    assert_eq!(e.plan.untag, ["costcenter"]);
    assert_eq!(e.plan.tag.get("CostCenter").map(String::as_str), Some("100"), "{e:?}");
    // Both valid: the right case stays, the other goes.
    let tags: Tags = [
        ("CostCenter".to_owned(), "200".to_owned()),
        ("costcenter".to_owned(), "100".to_owned()),
    ]
    .into();
    let e = evaluate(&p, &ctx, &tags);
    assert_eq!(e.plan.untag, ["costcenter"]);
    assert!(e.plan.tag.is_empty(), "{e:?}");
}

#[test]
fn a_resource_that_changes_or_removes_the_tag_a_rule_matched_it_by_is_put_back_in_scope() {
    let p = parse(
        r#"{"version":2,"rules":[{"name":"prod","match":{"tags":{"Environment":["prod"]}},
            "require":{"DataClass":{"values":["confidential","restricted"],"default":"confidential"}}}]}"#,
    )
    .unwrap();
    let mut c = ResourceContext::new(ResourceKind::Secret);
    c.remembered = tags(&[("Environment", "prod")]);
    for now in [tags(&[("Environment", "dev")]), Tags::new()] {
        let e = evaluate(&p, &c, &now);
        assert_eq!(
            e.plan.tag,
            tags(&[("Environment", "prod"), ("DataClass", "confidential")]),
            "{now:?}: the scope key restored, and the rule still applies"
        );
        assert!(e
            .findings
            .iter()
            .any(|f| matches!(f, Finding::Scope { key, rule, .. } if key == "Environment" && rule == "prod")));
        assert!(
            e.findings.iter().any(|f| f.reason().contains("out of rule `prod`")),
            "{:?}",
            e.findings
        );
    }
    // Without memory of it, a resource that never matched is not pulled in.
    let fresh = ResourceContext::new(ResourceKind::Secret);
    assert!(evaluate(&p, &fresh, &tags(&[("Environment", "dev")])).plan.is_empty());
    // A remembered value the rule would not match with pulls nothing in either.
    let mut other = ResourceContext::new(ResourceKind::Secret);
    other.remembered = tags(&[("Environment", "staging")]);
    assert!(evaluate(&p, &other, &tags(&[("Environment", "dev")])).plan.is_empty());
}

#[test]
fn a_key_that_lost_the_alias_a_rule_matched_it_by_stays_in_the_rule_and_says_so() {
    let p = parse(
        r#"{"version":2,"rules":[{"name":"teams","resources":["kms-key"],"match":{"names":["team-*/*"]},
            "require":{"Team":{"default":"{name[0]}"}}}]}"#,
    )
    .unwrap();
    let mut key = ResourceContext::new(ResourceKind::KmsKey);
    key.former_names = vec!["team-a/data".into()];
    let e = evaluate(&p, &key, &Tags::new());
    assert_eq!(e.plan.tag, tags(&[("Team", "team-a")]));
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("former alias") && n.contains("team-a/data")),
        "{:?}",
        e.notes
    );
    // With the alias still there, nothing to say.
    key.aliases = vec!["team-a/data".into()];
    assert!(evaluate(&p, &key, &Tags::new()).notes.is_empty());
    // Never matched: not governed.
    assert!(evaluate(&p, &ResourceContext::new(ResourceKind::KmsKey), &Tags::new())
        .plan
        .is_empty());
    // What memory keeps: the aliases a names rule matches, and those kept before.
    let mut now = ResourceContext::new(ResourceKind::KmsKey);
    now.aliases = vec!["team-b/logs".into(), "misc".into()];
    now.former_names = vec!["team-a/data".into()];
    assert_eq!(
        crate::engine::remember::names_to_keep(&p, &now),
        vec!["team-a/data".to_owned(), "team-b/logs".to_owned()]
    );
}
