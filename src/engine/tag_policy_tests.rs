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
