use super::*;
use crate::engine::policy::parse;

fn statements_of(g: &Guardrails) -> Vec<Value> {
    g.documents
        .iter()
        .flat_map(|d| d["Statement"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn a_value_check_also_requires_the_key_in_the_request_and_dollars_are_escaped() {
    let p = parse(r#"{"rules":[{"name":"r","require":{"Cost$":{"values":["a$b"]}}}]}"#).unwrap();
    let g = guardrails(&p, GuardrailKind::Scp, &["arn:aws:iam::*:role/warden".into()]).unwrap();
    let st = statements_of(&g);
    let values = st.iter().find(|s| s["Sid"] == "ValuesSecrets0x0").unwrap();
    assert_eq!(
        values["Condition"]["StringNotEquals"]["aws:RequestTag/Cost${$}"],
        "a${$}b"
    );
    assert_eq!(values["Condition"]["Null"]["aws:RequestTag/Cost${$}"], "false");
    assert_eq!(
        values["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        "arn:aws:iam::*:role/warden"
    );
    assert!(values.get("Principal").is_none(), "an SCP names no principal");
}

#[test]
fn an_rcp_names_every_principal_but_spares_aws_services_and_leaves_create_key_to_the_scp() {
    let p = parse(r#"{"rules":[{"name":"r","forbid":["Debug"]}]}"#).unwrap();
    let g = guardrails(&p, GuardrailKind::Rcp, &[]).unwrap();
    for st in statements_of(&g) {
        assert_eq!(st["Principal"], "*");
        assert_eq!(st["Condition"]["BoolIfExists"]["aws:PrincipalIsAWSService"], "false");
        assert!(!st["Action"].to_string().contains("kms:CreateKey"), "{st}");
    }
    assert!(g.notes.iter().any(|n| n.contains("CreateKey")));
    assert!(g.notes.iter().any(|n| n.contains("deny everyone")));
}

#[test]
fn report_rules_make_nothing_and_what_iam_cannot_say_is_named() {
    let p = parse(
        r#"{"version":2,"rules":[
          {"name":"quiet","mode":"report","forbid":["Debug"]},
          {"name":"cc","require":{"CostCenter":{"pattern":"^[0-9]{4}$"},"CreatedBy":{"default":"{creator}"}}},
          {"name":"both","match":{"names":["a/*"],"arns":["arn:*"]},"forbid":["x"]}]}"#,
    )
    .unwrap();
    let g = guardrails(&p, GuardrailKind::Scp, &["arn:aws:iam::*:role/w".into()]).unwrap();
    let sids: Vec<String> = statements_of(&g)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !sids.iter().any(|s| s.ends_with('0') && s.starts_with("Forbid")),
        "{sids:?}"
    );
    assert!(!sids.iter().any(|s| s.starts_with("ForbidSecrets2")), "{sids:?}");
    let notes = g.notes.join("\n");
    assert!(notes.contains("rule `quiet` is `mode: report`"), "{notes}");
    assert!(notes.contains("key `CostCenter`: `pattern`"), "{notes}");
    assert!(notes.contains("key `CreatedBy`: the default `{creator}`"), "{notes}");
    assert!(notes.contains("rule `both`: `match` gives both"), "{notes}");
}
