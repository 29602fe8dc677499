//! AWS's six inheritance examples (Organizations User Guide, "Policy syntax and inheritance for
//! management policy types" → "Policy inheritance examples"), committed under
//! tests/fixtures/aws-docs with their sources in its README. Each test states AWS's verdict.

use super::*;
use serde_json::json;

const EX: &str = "tag-policy-inheritance-example";

fn doc(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/aws-docs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn attached(name: &str) -> Attached {
    Attached {
        name: name.to_owned(),
        text: doc(&format!("{EX}-{name}.json")),
    }
}

/// The effective policy of the levels (root first), each level's policies in attachment order.
fn merged(levels: &[&[&str]]) -> Effective {
    let levels: Vec<Vec<Attached>> = levels.iter().map(|l| l.iter().map(|n| attached(n)).collect()).collect();
    effective(&levels).unwrap()
}

fn displayed(name: &str) -> Value {
    serde_json::from_str(&doc(&format!("{EX}-{name}.json"))).unwrap()
}

#[test]
fn example_1_policy_b_overwrites_policy_a_values_and_adds_enforced_for() {
    // AWS: "Sandbox is the only compliant value"; enforced for Redshift and DynamoDB tables.
    let e = merged(&[&["1-policy-a"], &["1-policy-b"]]);
    assert_eq!(e.policy, displayed("1-effective"));
    assert!(e.notes.is_empty(), "{:?}", e.notes);
}

#[test]
fn example_2_append_adds_marketing_to_the_inherited_values() {
    // AWS: the effective policy of 999999999999 (root A, OU2 C) allows Development, Support
    // and Marketing, enforced for Redshift and DynamoDB tables.
    let e = merged(&[&["1-policy-a"], &["2-policy-c"]]);
    assert_eq!(e.policy, displayed("2-effective"));
}

#[test]
fn example_3_remove_leaves_support_and_no_enforcement() {
    // AWS: with A at the root, C at OU2 and D at 999999999999, "the only acceptable value for
    // the CostCenter tag key is Support" and "compliance is not enforced".
    let e = merged(&[&["1-policy-a"], &["2-policy-c"], &["3-policy-d-corrected"]]);
    assert_eq!(e.policy, displayed("3-effective"));
    // Policy D as the page prints it nests `enforced_for` inside `tag_value`, where the syntax
    // has no place for it: refused, naming the place (the corrected file moves it up a level).
    let levels = vec![
        vec![attached("1-policy-a")],
        vec![attached("2-policy-c")],
        vec![attached("3-policy-d")],
    ];
    let err = effective(&levels).unwrap_err().to_string();
    assert!(
        err.contains("3-policy-d: /tags/costcenter/tag_value") && err.contains("`enforced_for`"),
        "{err}"
    );
}

#[test]
fn example_4_a_child_cannot_change_a_key_its_parent_locked_but_may_append_values() {
    // AWS: "Policy F attempts to change the case treatment, but it can't … policy F can append
    // tag values". The page's displayed effective policy spells the key `project`, which its
    // own words contradict (Policy E assigns `Project` and locks it with @@none): the words win.
    let e = merged(&[&["4-policy-e"], &["4-policy-f"]]);
    assert_eq!(
        e.policy,
        json!({"tags": {"project": {"tag_key": "Project",
            "tag_value": ["Maintenance", "Escalations", "Escalations - research"]}}})
    );
    assert_eq!(e.notes.len(), 1, "{:?}", e.notes);
    assert!(
        e.notes[0].contains("4-policy-f: /tags/project/tag_key/@@assign"),
        "{:?}",
        e.notes
    );
    let mut shown = displayed("4-effective");
    shown["tags"]["project"]["tag_key"] = json!("Project");
    assert_eq!(e.policy, shown, "the displayed policy differs in the key's case only");
}

#[test]
fn example_5_two_child_controls_at_one_level_allow_their_intersection() {
    // AWS: G allows children @@append, H @@append and @@remove: "child policies can append
    // values, but not remove values … can't remove the Maintenance value". The page shows no
    // child policy; `5-child` is ours, doing both.
    let e = merged(&[&["5-policy-g", "5-policy-h"], &["5-child"]]);
    assert_eq!(
        e.policy,
        json!({"tags": {"project": {"tag_value": ["Maintenance", "Escalations"]}}})
    );
    assert!(e.notes[0].contains("@@remove"), "{:?}", e.notes);
    // Either control alone lets more through: H alone allows the removal.
    let h_only = merged(&[&["5-policy-h"], &["5-child"]]);
    assert_eq!(
        h_only.policy,
        json!({"tags": {"project": {"tag_value": ["Escalations"]}}})
    );
}

#[test]
fn example_6_the_policy_attached_first_keeps_its_key_case() {
    // AWS: "the tag key PROJECT is used in the effective tag policy because the policy that
    // defined it was attached to the organization root first". The page's displayed policy
    // reads " PROJECT" (a leading space) and lists an `Escalations` that neither J nor K
    // names: the words win, and attaching K first gives `project`.
    let e = merged(&[&["6-policy-j", "6-policy-k"]]);
    assert_eq!(
        e.policy,
        json!({"tags": {"project": {"tag_key": "PROJECT", "tag_value": ["Maintenance"]}}})
    );
    let k_first = merged(&[&["6-policy-k", "6-policy-j"]]);
    assert_eq!(k_first.policy["tags"]["project"]["tag_key"], json!("project"));
    let shown = displayed("6-effective");
    assert_eq!(shown["tags"]["project"]["tag_key"], json!(" PROJECT"));
}

#[test]
fn one_policy_alone_merges_to_what_reading_it_alone_means() {
    for name in ["1-policy-a", "1-policy-b", "2-policy-c", "4-policy-e"] {
        let e = merged(&[&[name]]);
        let alone = crate::engine::tag_policy::read(&doc(&format!("{EX}-{name}.json"))).unwrap();
        let via = crate::engine::tag_policy::read_content(&e.policy).unwrap();
        assert_eq!(alone.keys, via.keys, "{name}");
    }
}

#[test]
fn a_restriction_cannot_be_lifted_below_and_a_tags_level_control_covers_every_key() {
    let level = |text: &str| {
        vec![Attached {
            name: "p".into(),
            text: text.into(),
        }]
    };
    let root = level(
        r#"{"tags": {"@@operators_allowed_for_child_policies": ["@@none"], "team": {"tag_value": {"@@assign": ["a"]}}}}"#,
    );
    let ou = level(
        r#"{"tags": {"team": {"tag_value": {"@@operators_allowed_for_child_policies": ["@@all"], "@@append": ["b"]}}}}"#,
    );
    let account = level(r#"{"tags": {"team": {"tag_value": {"@@assign": ["c"]}}}}"#);
    let e = effective(&[root, ou, account]).unwrap();
    assert_eq!(e.policy, json!({"tags": {"team": {"tag_value": ["a"]}}}));
    assert_eq!(e.notes.len(), 2, "{:?}", e.notes);
    let bad = level(r#"{"tags": {"team": {"tag_key": {"@@append": ["Team"]}}}}"#);
    assert!(effective(&[bad]).unwrap_err().to_string().contains("only @@assign"));
    let unknown =
        level(r#"{"tags": {"team": {"tag_value": {"@@operators_allowed_for_child_policies": ["@@replace"]}}}}"#);
    assert!(effective(&[unknown]).unwrap_err().to_string().contains("@@replace"));
}
