use super::*;
use crate::engine::policy::{parse_as, Format};

const COST_CENTER: &str = r#"{"tags": {
    "costcenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["100", "300*"]},
                    "enforced_for": {"@@assign": ["secretsmanager:ALL_SUPPORTED"]},
                    "report_required_tag_for": {"@@assign": ["kms:key", "secretsmanager:secret"]}},
    "project": {"tag_key": {"@@assign": "Project", "@@operators_allowed_for_child_policies": ["@@none"]},
                "report_required_tag_for": {"@@assign": ["kms:ALL_SUPPORTED"]}},
    "team": {"tag_key": {"@@assign": "Team"}, "tag_value": {"@@assign": ["a.b", "c"]},
             "enforced_for": {"@@assign": ["ec2:instance"]}}}}"#;

#[test]
fn the_policy_syntax_and_the_effective_policy_read_the_same() {
    let syntax = read(COST_CENTER).unwrap();
    assert_eq!(syntax.keys.len(), 3);
    assert_eq!(syntax.keys[0].key, "CostCenter");
    assert_eq!(syntax.keys[0].values, Some(vec!["100".into(), "300*".into()]));
    assert_eq!(syntax.keys[0].enforced_for, [ResourceKind::Secret]);
    assert_eq!(
        syntax.keys[0].required_for,
        [ResourceKind::KmsKey, ResourceKind::Secret]
    );
    assert!(syntax
        .ignored
        .iter()
        .any(|i| i.contains("@@operators_allowed_for_child_policies")));
    let content = r#"{"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["100","300*"],"enforced_for":["secretsmanager:ALL_SUPPORTED"],"report_required_tag_for":["kms:key","secretsmanager:secret"]},"project":{"tag_key":"Project","report_required_tag_for":["kms:ALL_SUPPORTED"]},"team":{"tag_key":"Team","tag_value":["a.b","c"],"enforced_for":["ec2:instance"]}}}"#;
    let effective = read(content).unwrap();
    assert_eq!(effective.keys, syntax.keys);
    let response = serde_json::json!({"EffectivePolicy": {"PolicyContent": content, "PolicyType": "TAG_POLICY", "TargetId": "111122223333"}});
    assert_eq!(read(&response.to_string()).unwrap().keys, syntax.keys);
}

#[test]
fn wildcards_become_an_anchored_pattern_that_keeps_every_other_character_literal() {
    let yaml = to_yaml(
        &["test".into()],
        &[Scoped {
            accounts: None,
            policy: &read(COST_CENTER).unwrap(),
        }],
    );
    assert!(yaml.starts_with("# test\nversion: 2\n"), "{yaml}");
    assert!(
        yaml.contains(r#""CostCenter": { pattern: "^(?:100|300.*)$" }"#),
        "{yaml}"
    );
    assert!(yaml.contains(r#""Team": { values: ["a.b", "c"] }"#), "{yaml}");
    let policy = parse_as(&yaml, Format::Yaml).unwrap();
    let by_name = |n: &str| policy.rules.iter().find(|r| r.name == n).unwrap();
    let secrets = by_name("tag-policy-secret-enforce");
    assert_eq!(secrets.require[0].key, "CostCenter");
    let cc = &secrets.require[0];
    assert!(
        cc.accepts("100") && cc.accepts("300") && cc.accepts("300-9") && !cc.accepts("1000") && !cc.accepts("x300")
    );
    assert!(secrets.fix_key_case);
    let keys_report = by_name("tag-policy-kms-key-report");
    let required: Vec<&str> = keys_report.require.iter().map(|q| q.key.as_str()).collect();
    assert_eq!(
        required,
        ["CostCenter", "Project"],
        "required for keys, not enforced for them"
    );
    let optional: Vec<&str> = keys_report.optional.iter().map(|q| q.key.as_str()).collect();
    assert_eq!(optional, ["Team"], "enforced for EC2 only: optional and reported here");
}

#[test]
fn anything_else_is_refused_saying_what_a_tag_policy_needs() {
    for bad in [
        "not json",
        r#"{"Version":"2012-10-17","Statement":[]}"#,
        r#"{"tags": []}"#,
        r#"{"tags": {}}"#,
        r#"{"tags": {"cc": {"tag_value": {"@@assign": "100"}}}}"#,
        r#"{"tags": {"cc": {"tag_key": {"@@set": "X"}}}}"#,
        r#"{"EffectivePolicy": {"PolicyContent": 7}}"#,
    ] {
        let e = read(bad).unwrap_err().to_string();
        assert!(
            e.contains("tag policy") || e.contains("expected") || e.contains("not JSON") || e.contains("operator"),
            "{bad}: {e}"
        );
    }
    assert!(read(r#"{"Statement": []}"#)
        .unwrap_err()
        .to_string()
        .contains("an IAM policy"));
}

#[test]
fn accounts_with_different_policies_get_their_own_scoped_rules_and_the_diff_ignores_comments() {
    let a = read(r#"{"tags":{"owner":{"tag_key":"Owner","report_required_tag_for":["secretsmanager:*"]}}}"#).unwrap();
    let b = read(r#"{"tags":{"team":{"tag_key":"Team","enforced_for":["kms:*"]}}}"#).unwrap();
    let (ga, gb) = (
        vec!["111111111111".to_owned()],
        vec!["222222222222".to_owned(), "333333333333".to_owned()],
    );
    let yaml = to_yaml(
        &["one".into()],
        &[
            Scoped {
                accounts: Some(&ga),
                policy: &a,
            },
            Scoped {
                accounts: Some(&gb),
                policy: &b,
            },
        ],
    );
    assert!(
        yaml.contains(r#"match: { accounts: ["222222222222", "333333333333"] }"#),
        "{yaml}"
    );
    assert!(parse_as(&yaml, Format::Yaml).is_ok(), "{yaml}");
    let other_day = yaml.replace("# one", "# two");
    assert!(diff(&yaml, &other_day).is_empty());
    let changed = yaml.replace("Team", "Squad");
    let d = diff(&yaml, &changed);
    assert!(
        !d.is_empty() && d.iter().all(|l| l.contains("Team") || l.contains("Squad")),
        "{d:?}"
    );
}

/// The rules a tag policy imports as, loaded back as a tag-warden policy.
fn imported(text: &str) -> crate::engine::policy::Policy {
    let yaml = to_yaml(
        &["test".into()],
        &[Scoped {
            accounts: None,
            policy: &read(text).unwrap(),
        }],
    );
    parse_as(&yaml, Format::Yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

#[test]
fn without_tag_key_the_policy_key_in_lowercase_is_required() {
    // AWS: "If case treatment isn't defined, lowercase is the default case treatment for tag
    // keys." A policy key `CostCenter` with no `tag_key` requires `costcenter`.
    let p = imported(r#"{"tags":{"CostCenter":{"report_required_tag_for":{"@@assign":["secretsmanager:secret"]}}}}"#);
    let rule = p.rules.iter().find(|r| r.name == "tag-policy-secret-report").unwrap();
    assert_eq!(rule.require[0].key, "costcenter");
    assert!(rule.fix_key_case, "a `CostCenter` is renamed to `costcenter`");
}

#[test]
fn append_with_nothing_inherited_sets_the_field_as_assign_would() {
    let p = read(
        r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@append":["100","200"]},
            "enforced_for":{"@@append":["secretsmanager:ALL_SUPPORTED"]}}}}"#,
    )
    .unwrap();
    assert_eq!(p.keys[0].values, Some(vec!["100".into(), "200".into()]));
    assert_eq!(p.keys[0].enforced_for, [ResourceKind::Secret]);
    let both = read(r#"{"tags":{"cc":{"tag_value":{"@@assign":["1"],"@@append":["2","1"]}}}}"#).unwrap();
    assert_eq!(both.keys[0].values, Some(vec!["1".into(), "2".into()]));
}

#[test]
fn an_empty_value_list_prevents_the_key_enforced_where_enforced_for_says() {
    // AWS's "Prevent use of a tag key": no value is compliant.
    let p = imported(
        r#"{"tags":{"debug":{"tag_key":{"@@assign":"Debug"},"tag_value":{"@@assign":[]},
            "enforced_for":{"@@assign":["kms:ALL_SUPPORTED"]}}}}"#,
    );
    let keys = p.rules.iter().find(|r| r.name == "tag-policy-kms-key-enforce").unwrap();
    assert_eq!(keys.forbid.iter().map(|g| g.as_str()).collect::<Vec<_>>(), ["Debug"]);
    let secrets = p.rules.iter().find(|r| r.name == "tag-policy-secret-report").unwrap();
    assert_eq!(secrets.forbid.len(), 1, "reported for secrets, not enforced");
    assert_eq!(secrets.mode, Some(crate::domain::Mode::Report));
}

#[test]
fn a_key_that_fits_kms_only_is_imported_for_kms_only_and_one_that_fits_neither_is_refused() {
    let key128 = "K".repeat(128);
    let text = format!(
        r#"{{"tags":{{"{}":{{"tag_key":{{"@@assign":"{key128}"}},"enforced_for":{{"@@assign":["kms:key","secretsmanager:secret"]}}}}}}}}"#,
        key128.to_lowercase()
    );
    let policy = read(&text).unwrap();
    assert!(
        policy.ignored.iter().any(|i| i.contains("secret")),
        "{:?}",
        policy.ignored
    );
    let p = imported(&text);
    assert!(p.rules.iter().any(|r| r.name == "tag-policy-kms-key-enforce"));
    assert!(
        !p.rules.iter().any(|r| r.name.starts_with("tag-policy-secret")),
        "{:?}",
        p.rules.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    let key129 = "K".repeat(129);
    let text = format!(r#"{{"tags":{{"{}":{{"tag_key":"{key129}"}}}}}}"#, key129.to_lowercase());
    assert!(read(&text).unwrap_err().to_string().contains("longer than"));
}

#[test]
fn policies_aws_documents_as_invalid_are_refused_naming_the_place() {
    for (bad, says) in [
        (
            r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"Owner"}}}}"#,
            "/tags/costcenter/tag_key",
        ),
        (
            r#"{"tags":{"cc":{"tag_value":{"@@assign":["1*2*"]}}}}"#,
            "more than one `*`",
        ),
        (
            r#"{"tags":{"cc":{"enforced_for":{"@@assign":["*"]}}}}"#,
            "`*` is not allowed",
        ),
        (
            r#"{"tags":{"cc":{"report_required_tag_for":{"@@assign":["*:*"]}}}}"#,
            "`*:*` is not allowed",
        ),
        (
            r#"{"tags":{"cc":{"enforced_for":{"@@assign":["secretmanager:*"]}}}}"#,
            "did you mean `secretsmanager`",
        ),
        (
            r#"{"tags":{"cc":{"enforced_for":{"@@assign":["kms:Key"]}}}}"#,
            "no resource type `Key`",
        ),
        (r#"{"tags":{"CostCenter":{},"costcenter":{}}}"#, "one policy key to AWS"),
        (
            r#"{"tags":{"cc":{"tag_key":"CC"},"cc":{"tag_key":"cc"}}}"#,
            "appears twice",
        ),
        (
            r#"{"EffectivePolicy":{"PolicyType":"BACKUP_POLICY","PolicyContent":"{\"tags\":{}}"}}"#,
            "TAG_POLICY",
        ),
    ] {
        let e = read(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
        assert!(
            !e.contains("YAML"),
            "about the tag policy, never the generated YAML: {e}"
        );
    }
    // Another service's own types pass untouched.
    assert!(read(r#"{"tags":{"cc":{"enforced_for":{"@@assign":["ec2:instance","s3:ALL_SUPPORTED"]}}}}"#).is_ok());
}

#[test]
fn other_three_letter_services_are_not_taken_for_a_misspelt_kms() {
    // sqs, sns and ssm are each two edits from `kms`: other services, not typos. Whether AWS
    // supports enforcement for a type of theirs is AWS's to check when the policy is attached;
    // tag-warden's reader passes another service's entries untouched, as it does ec2 and s3.
    for entry in ["sqs:queue", "sns:topic", "ssm:parameter", "ses:identity"] {
        let text = format!(r#"{{"tags":{{"cc":{{"enforced_for":{{"@@assign":["{entry}"]}}}}}}}}"#);
        assert!(read(&text).is_ok(), "{entry}: {:?}", read(&text).err());
    }
    // One edit from a short name, or a few from a long one, is still a misspelling.
    for (entry, says) in [
        ("kns:key", "did you mean `kms`"),
        ("secretmanagr:secret", "did you mean `secretsmanager`"),
    ] {
        let text = format!(r#"{{"tags":{{"cc":{{"enforced_for":{{"@@assign":["{entry}"]}}}}}}}}"#);
        let e = read(&text).unwrap_err().to_string();
        assert!(e.contains(says), "{entry}: {e}");
    }
}

#[test]
fn a_byte_order_mark_and_a_quoted_policy_content_are_read() {
    let content = r#"{"tags":{"owner":{"tag_key":"Owner"}}}"#;
    assert_eq!(read(&format!("\u{feff}{content}")).unwrap().keys[0].key, "Owner");
    let quoted = serde_json::Value::String(content.to_owned()).to_string();
    assert_eq!(read(&quoted).unwrap().keys[0].key, "Owner");
}

/// AWS's Example 1 ("Inheritance examples"): Policy B alone, and its effective form (the
/// operators resolved by hand), committed under tests/fixtures/aws-docs.
fn aws_doc(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/aws-docs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn a_policy_and_its_effective_form_give_the_same_verdict(
        key in proptest::sample::select(vec!["CostCenter", "costcenter", "COSTCENTER", "Owner"]),
        value in proptest::sample::select(vec!["Sandbox", "Development", "Support", "sandbox", ""]),
        secret in proptest::bool::ANY,
        extra in proptest::option::of(proptest::sample::select(vec!["CostCenter", "Team"])),
    ) {
        let syntax = imported(&aws_doc("tag-policy-inheritance-example-1-policy-b.json"));
        let effective = imported(&aws_doc("tag-policy-inheritance-example-1-effective.json"));
        let kind = if secret { ResourceKind::Secret } else { ResourceKind::KmsKey };
        let ctx = crate::domain::ResourceContext::new(kind);
        let mut tags = crate::domain::Tags::new();
        tags.insert(key.to_owned(), value.to_owned());
        if let Some(k) = extra {
            tags.insert(k.to_owned(), "Sandbox".to_owned());
        }
        let a = crate::engine::evaluate::evaluate(&syntax, &ctx, &tags);
        let b = crate::engine::evaluate::evaluate(&effective, &ctx, &tags);
        proptest::prop_assert_eq!(a.plan, b.plan);
        proptest::prop_assert_eq!(a.report_only, b.report_only);
        proptest::prop_assert_eq!(a.findings.len(), b.findings.len());
    }
}

#[test]
fn a_hostile_file_name_in_the_header_stays_a_comment() {
    // Before: the name was written as is, so a newline in it injected policy lines.
    let hostile = "evil.json\nexemptions: {set_by: anyone}\r\nmode: report";
    let yaml = to_yaml(
        &[format!("imported from {hostile}")],
        &[Scoped {
            accounts: None,
            policy: &read(COST_CENTER).unwrap(),
        }],
    );
    assert_eq!(yaml.lines().filter(|l| l.starts_with('#')).count(), 1, "{yaml}");
    assert!(
        !yaml
            .lines()
            .any(|l| l.starts_with("exemptions") || l.starts_with("mode")),
        "{yaml}"
    );
    let policy = parse_as(&yaml, Format::Yaml).unwrap();
    assert_eq!(
        policy.exemptions.set_by,
        crate::engine::policy::ExemptionSetter::Trusted
    );
}
