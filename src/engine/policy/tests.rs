use super::*;

fn errors(text: &str) -> Vec<PolicyError> {
    match parse(text) {
        Ok(_) => panic!("expected the policy to be rejected: {text}"),
        Err(PolicyErrors(errors, _)) => errors,
    }
}

fn has(errors: &[PolicyError], path: &str, fragment: &str) -> bool {
    errors.iter().any(|e| e.path == path && e.message.contains(fragment))
}

#[test]
fn the_example_policy_in_the_repository_is_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/example.json")).unwrap();
    let policy = parse(&text).unwrap();
    assert_eq!(policy.mode, Mode::Enforce);
    assert_eq!(policy.rules.len(), 2);
    assert_eq!(policy.rules[1].kinds, vec![ResourceKind::Secret]);
}

#[test]
fn omitted_resources_means_both_kinds_and_mode_defaults_to_enforce() {
    let p = parse(r#"{"rules":[{"name":"r","forbid":["Debug"]}]}"#).unwrap();
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(p.rules[0].kinds, ResourceKind::ALL.to_vec());
}

#[test]
fn report_mode_is_read() {
    let p = parse(r#"{"mode":"report","rules":[{"name":"r","forbid":["Debug"]}]}"#).unwrap();
    assert_eq!(p.mode, Mode::Report);
}

#[test]
fn requirement_accepts_values_and_pattern_together() {
    let p =
        parse(r#"{"rules":[{"name":"r","require":{"Env":{"values":["prod","dev"],"pattern":"^[a-z]+$"}}}]}"#).unwrap();
    let req = &p.rules[0].require[0];
    assert!(req.accepts("prod"));
    assert!(!req.accepts("qa"));
    assert!(req.default.is_none());
}

#[test]
fn every_problem_is_reported_at_once_with_its_path() {
    let errs = errors(
        r#"{"mode":"loud","extra":true,"rules":[
            {"name":"a","require":{"Owner":{"default":"x","values":["y"],"colour":"red"}},"forbid":[""]},
            {"resources":["bucket"],"forbid":["Debug"]}
        ]}"#,
    );
    assert!(has(&errs, "/mode", "not a mode"), "{errs:?}");
    assert!(has(&errs, "/extra", "unknown field `extra`"), "{errs:?}");
    assert!(has(&errs, "/rules/0/require/Owner/colour", "unknown field"), "{errs:?}");
    assert!(
        has(&errs, "/rules/0/require/Owner/default", "not valid by its own rule"),
        "{errs:?}"
    );
    assert!(has(&errs, "/rules/0/forbid/0", "must not be empty"), "{errs:?}");
    assert!(has(&errs, "/rules/1/name", "required"), "{errs:?}");
    assert!(has(&errs, "/rules/1/resources/0", "not a resource kind"), "{errs:?}");
    assert_eq!(errs.len(), 7, "{errs:?}");
}

#[test]
fn invalid_json_is_one_error_with_a_position() {
    let errs = errors("{\"rules\": [\n  {\"name\": }\n]}");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].message.contains("line 2"), "{errs:?}");
}

#[test]
fn a_policy_needs_rules_and_each_rule_needs_an_effect() {
    assert!(has(&errors(r#"{}"#), "/rules", "required"));
    assert!(has(&errors(r#"{"rules":[]}"#), "/rules", "at least one rule"));
    assert!(has(&errors(r#"{"rules":{}}"#), "/rules", "expected an array"));
    assert!(has(
        &errors(r#"{"rules":[{"name":"r"}]}"#),
        "/rules/0",
        "`require`, `optional` or `forbid`"
    ));
    assert!(has(&errors(r#"[1]"#), "", "expected an object"));
}

#[test]
fn a_flag_that_is_not_true_or_false_is_rejected_where_it_stands() {
    let errs = errors(r#"{"rules":[{"name":"r","require":{"Owner":{"default":"x","lock":"yes"}}}]}"#);
    assert!(
        has(
            &errs,
            "/rules/0/require/Owner/lock",
            "expected true or false, found a string"
        ),
        "{errs:?}"
    );
    let errs = errors(r#"{"version":2,"rules":[{"name":"r","fix_key_case":1,"forbid":["x"]}]}"#);
    assert!(
        has(&errs, "/rules/0/fix_key_case", "expected true or false, found a number"),
        "{errs:?}"
    );
}

#[test]
fn a_key_both_required_and_forbidden_for_one_kind_is_rejected() {
    let errs = errors(r#"{"rules":[{"name":"r","require":{"tempOwner":{"default":"x"}},"forbid":["temp*"]}]}"#);
    assert!(
        has(&errs, "/rules/0/require/tempOwner", "forbids it (`temp*`)"),
        "{errs:?}"
    );
}

#[test]
fn a_key_required_and_forbidden_across_rules_conflicts_only_when_kinds_overlap() {
    let overlapping = r#"{"rules":[
        {"name":"a","resources":["secret"],"require":{"Debug":{}}},
        {"name":"b","forbid":["Debug"]}]}"#;
    assert!(has(
        &errors(overlapping),
        "/rules/0/require/Debug",
        "rule `b` forbids it"
    ));
    let disjoint = r#"{"rules":[
        {"name":"a","resources":["secret"],"require":{"Debug":{}}},
        {"name":"b","resources":["kms-key"],"forbid":["Debug"]}]}"#;
    assert!(parse(disjoint).is_ok());
}

#[test]
fn two_rules_with_different_defaults_for_one_key_and_kind_are_rejected() {
    let errs = errors(
        r#"{"rules":[
        {"name":"a","require":{"Owner":{"default":"platform"}}},
        {"name":"b","resources":["kms-key"],"require":{"Owner":{"default":"security"}}}]}"#,
    );
    assert!(
        has(
            &errs,
            "/rules/1/require/Owner/default",
            "but to `platform` in rule `a` for kms-key"
        ),
        "{errs:?}"
    );
}

#[test]
fn a_default_that_another_rule_rejects_is_rejected() {
    let errs = errors(
        r#"{"rules":[
        {"name":"a","require":{"Owner":{"default":"platform"}}},
        {"name":"b","require":{"Owner":{"values":["payments"]}}}]}"#,
    );
    assert!(
        has(&errs, "/rules/1/require/Owner/default", "which this rule rejects"),
        "{errs:?}"
    );
}

#[test]
fn a_default_outside_its_own_pattern_is_rejected() {
    let errs = errors(r#"{"rules":[{"name":"r","require":{"CostCenter":{"pattern":"^[0-9]{4}$","default":"none"}}}]}"#);
    assert!(
        has(&errs, "/rules/0/require/CostCenter/default", "matching /^[0-9]{4}$/"),
        "{errs:?}"
    );
}

#[test]
fn allowed_values_that_fail_the_pattern_are_rejected() {
    let errs = errors(r#"{"rules":[{"name":"r","require":{"Env":{"values":["prod","QA"],"pattern":"^[a-z]+$"}}}]}"#);
    assert!(
        has(&errs, "/rules/0/require/Env/values/1", "can never be valid"),
        "{errs:?}"
    );
}

#[test]
fn keys_and_values_beyond_aws_limits_are_rejected_per_kind() {
    let k127 = "k".repeat(127);
    let k128 = "k".repeat(128);
    let v256 = "v".repeat(256);
    // 128-char key: fine for KMS (≤ 128), too long for secrets (≤ 127).
    let text = format!(r#"{{"rules":[{{"name":"r","require":{{"{k128}":{{"default":"{v256}"}}}}}}]}}"#);
    let errs = errors(&text);
    assert!(
        errs.iter().any(|e| e.message.contains("secret tag key is at most 127")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.message.contains("secret tag value is at most 255")),
        "{errs:?}"
    );
    assert!(!errs.iter().any(|e| e.message.contains("kms-key")), "{errs:?}");
    let ok = format!(
        r#"{{"rules":[{{"name":"r","resources":["kms-key"],"require":{{"{k128}":{{"default":"{v256}"}}}}}}]}}"#
    );
    assert!(parse(&ok).is_ok());
    let ok = format!(r#"{{"rules":[{{"name":"r","require":{{"{k127}":{{}}}}}}]}}"#);
    assert!(parse(&ok).is_ok());
    let too_long_kms = format!(
        r#"{{"rules":[{{"name":"r","resources":["kms-key"],"forbid":["{}"]}}]}}"#,
        "k".repeat(129)
    );
    assert!(errors(&too_long_kms)
        .iter()
        .any(|e| e.message.contains("kms-key tag key is at most 128")));
}

#[test]
fn aws_prefixed_keys_can_be_neither_required_nor_forbidden() {
    let errs = errors(r#"{"rules":[{"name":"r","require":{"aws:owner":{}},"forbid":["AWS:*"]}]}"#);
    assert!(has(&errs, "/rules/0/require/aws:owner", "reserved by AWS"), "{errs:?}");
    assert!(has(&errs, "/rules/0/forbid/0", "reserved by AWS"), "{errs:?}");
}

#[test]
fn bad_regular_expressions_are_rejected() {
    let errs = errors(r#"{"rules":[{"name":"r","require":{"Env":{"pattern":"^(prod"}}}]}"#);
    assert!(
        has(&errs, "/rules/0/require/Env/pattern", "bad regular expression"),
        "{errs:?}"
    );
}

#[test]
fn wrong_types_are_named() {
    let errs = errors(r#"{"rules":[{"name":7,"require":{"Env":{"default":1,"values":"prod"}},"forbid":"Debug"}]}"#);
    assert!(
        has(&errs, "/rules/0/name", "expected a string, found a number"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "/rules/0/require/Env/default", "expected a string"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "/rules/0/require/Env/values", "expected an array of strings"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "/rules/0/forbid", "expected an array of strings"),
        "{errs:?}"
    );
}

#[test]
fn duplicate_rule_names_and_kinds_are_rejected() {
    let errs = errors(
        r#"{"rules":[{"name":"r","resources":["secret","secret"],"forbid":["a"]},{"name":"r","forbid":["b"]}]}"#,
    );
    assert!(has(&errs, "/rules/1/name", "used twice"), "{errs:?}");
    assert!(has(&errs, "/rules/0/resources/1", "listed twice"), "{errs:?}");
}

#[test]
fn scoping_and_rule_modes_need_version_2_with_a_clear_message() {
    let errs = errors(r#"{"rules":[{"name":"r","match":{"arns":["*"]},"mode":"report","forbid":["a"]}]}"#);
    assert!(has(&errs, "/rules/0/match", "needs `version: 2`"), "{errs:?}");
    assert!(has(&errs, "/rules/0/mode", "needs `version: 2`"), "{errs:?}");
}

#[test]
fn pointer_paths_escape_slashes_and_tildes() {
    let errs = errors(r#"{"rules":[{"name":"r","require":{"team/a~b":{"bogus":1}}}]}"#);
    assert!(
        has(&errs, "/rules/0/require/team~1a~0b/bogus", "unknown field"),
        "{errs:?}"
    );
}

#[test]
fn version_must_be_one_or_two_when_given() {
    assert!(parse(r#"{"version":1,"rules":[{"name":"r","forbid":["a"]}]}"#).is_ok());
    assert!(parse(r#"{"version":2,"rules":[{"name":"r","forbid":["a"]}]}"#).is_ok());
    assert!(has(
        &errors(r#"{"version":3,"rules":[{"name":"r","forbid":["a"]}]}"#),
        "/version",
        "the policy versions are 1 and 2"
    ));
}

#[test]
fn the_error_list_displays_every_problem_on_its_own_line() {
    let err = parse(r#"{"mode":"x","bogus":1,"rules":[{"name":"r","forbid":["a"]}]}"#).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("invalid policy (2 problems):"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
}

mod v2 {
    use super::*;

    fn v2(rules: &str) -> String {
        format!(r#"{{"version":2,"rules":{rules}}}"#)
    }

    #[test]
    fn the_v2_example_in_the_repository_loads_from_yaml() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/example-v2.yaml")).unwrap();
        let p = parse_as(&text, Format::Yaml).unwrap();
        assert_eq!((p.version, p.rules.len()), (2, 4));
        assert_eq!(p.rules[3].mode, Some(Mode::Report));
        assert!(p.rules[1].scope.names.is_some());
        assert!(p.needs_key_aliases(), "team keys are matched by alias");
        assert_eq!(p.locks().len(), 2);
    }

    #[test]
    fn match_conditions_and_rule_modes_load_and_bad_ones_are_all_listed() {
        let p = parse(&v2(r#"[{"name":"r","mode":"report","match":{"names":["prod/*"],"arns":["arn:*"],
            "accounts":["111122223333"],"regions":["eu-*"],"tags":{"Env":["prod*","stage"],"Team":true,"Sandbox":false}},
            "forbid":["Debug"]}]"#))
        .unwrap();
        let scope = &p.rules[0].scope;
        assert_eq!(scope.tags.len(), 3);
        assert_eq!(scope.accounts.as_deref(), Some(&["111122223333".to_string()][..]));
        let errs = errors(&v2(
            r#"[{"name":"r","mode":"loud","match":{"names":[""],"accounts":["12"],"tags":{"A":1},"bogus":[]},"forbid":["D"]}]"#,
        ));
        assert!(has(&errs, "/rules/0/mode", "not a mode"), "{errs:?}");
        assert!(has(&errs, "/rules/0/match/names/0", "empty glob"), "{errs:?}");
        assert!(has(&errs, "/rules/0/match/accounts/0", "12 digits"), "{errs:?}");
        assert!(
            has(&errs, "/rules/0/match/tags/A", "true (present) or false (absent)"),
            "{errs:?}"
        );
        assert!(has(&errs, "/rules/0/match/bogus", "unknown field"), "{errs:?}");
    }

    #[test]
    fn unknown_placeholders_are_named_and_v1_braces_stay_literal() {
        let errs = errors(&v2(r#"[{"name":"r","require":{"Owner":{"default":"{owner}"}}}]"#));
        assert!(
            has(&errs, "/rules/0/require/Owner/default", "unknown placeholder `{owner}`"),
            "{errs:?}"
        );
        let v1 = parse(r#"{"rules":[{"name":"r","require":{"Owner":{"default":"{owner}"}}}]}"#).unwrap();
        assert_eq!(
            v1.rules[0].require[0].default.as_ref().and_then(Template::fixed),
            Some("{owner}")
        );
        // A derived default is checked when rendered, not against `values` at load.
        assert!(parse(&v2(
            r#"[{"name":"r","require":{"Env":{"default":"{name[0]}","values":["prod"]}}}]"#
        ))
        .is_ok());
        let errs = errors(&v2(
            r#"[{"name":"r","require":{"Env":{"default":"dev","values":["prod"]}}}]"#,
        ));
        assert!(
            has(&errs, "/rules/0/require/Env/default", "not valid by its own rule"),
            "{errs:?}"
        );
    }

    #[test]
    fn different_defaults_are_allowed_only_where_scopes_cannot_overlap() {
        let disjoint = v2(r#"[
            {"name":"prod","match":{"names":["prod/*"]},"require":{"Tier":{"default":"gold"}}},
            {"name":"dev","match":{"names":["dev/*"]},"require":{"Tier":{"default":"bronze"}}},
            {"name":"sandbox","match":{"accounts":["210987654321"]},"require":{"Env":{"default":"sandbox"}}},
            {"name":"main","match":{"accounts":["111122223333"]},"require":{"Env":{"default":"main"}}}]"#);
        assert!(parse(&disjoint).is_ok(), "{:?}", parse(&disjoint).err());
        let overlapping = v2(r#"[
            {"name":"prod","match":{"names":["prod/*"]},"require":{"Tier":{"default":"gold"}}},
            {"name":"payments","match":{"names":["*/payments/*"]},"require":{"Tier":{"default":"silver"}}}]"#);
        assert!(has(
            &errors(&overlapping),
            "/rules/1/require/Tier/default",
            "defaults to `silver` here but to `gold`"
        ));
        let by_tag = v2(r#"[
            {"name":"a","match":{"tags":{"Sandbox":true}},"require":{"Debug":{}}},
            {"name":"b","match":{"tags":{"Sandbox":false}},"forbid":["Debug"]}]"#);
        assert!(parse(&by_tag).is_ok(), "present vs absent never overlap");
    }

    #[test]
    fn yaml_and_json_report_the_same_problems_and_inline_text_is_detected() {
        let yaml = "version: 2\nrules:\n  - name: r\n    require:\n      Owner: { default: '{owner}' }\n";
        let errs = match parse_as(yaml, Format::Detect) {
            Err(PolicyErrors(e, _)) => e,
            Ok(_) => panic!("invalid"),
        };
        assert!(
            has(&errs, "/rules/0/require/Owner/default", "unknown placeholder"),
            "{errs:?}"
        );
        assert!(parse_as(r#"{"rules":[{"name":"r","forbid":["a"]}]}"#, Format::Detect).is_ok());
        assert_eq!(Format::of_path("p.YML"), Format::Yaml);
        assert_eq!(Format::of_path("p.json"), Format::Json);
    }
}
