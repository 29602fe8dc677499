use super::*;
use crate::engine::policy::parse;

fn exempting(principals: &[&str]) -> Options {
    Options {
        exempt: principals.iter().map(|p| (*p).to_owned()).collect(),
        ..Options::default()
    }
}

fn statements_of(g: &Guardrails) -> Vec<Value> {
    g.documents
        .iter()
        .flat_map(|d| d["Statement"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn a_value_check_also_requires_the_key_in_the_request_and_dollars_are_escaped() {
    let p = parse(r#"{"rules":[{"name":"r","require":{"Cost$":{"values":["a$b"]}}}]}"#).unwrap();
    let g = guardrails(&p, GuardrailKind::Scp, &exempting(&["arn:aws:iam::*:role/warden"])).unwrap();
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
    let g = guardrails(&p, GuardrailKind::Rcp, &exempting(&[])).unwrap();
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
    let g = guardrails(&p, GuardrailKind::Scp, &exempting(&["arn:aws:iam::*:role/w"])).unwrap();
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

#[test]
fn statements_that_differ_only_in_their_alternatives_or_actions_are_one() {
    // Three rules forbidding keys everywhere, over both kinds: one statement, every glob in it.
    let p = parse(
        r#"{"rules":[{"name":"a","forbid":["Debug"]},{"name":"b","forbid":["temp*"]},
                     {"name":"c","resources":["secret"],"forbid":["scratch"]}]}"#,
    )
    .unwrap();
    let merged = guardrails(&p, GuardrailKind::Scp, &exempting(&["arn:aws:iam::*:role/w"])).unwrap();
    let unmerged = guardrails(
        &p,
        GuardrailKind::Scp,
        &Options {
            unmerged: true,
            ..exempting(&["arn:aws:iam::*:role/w"])
        },
    )
    .unwrap();
    let forbids = |g: &Guardrails| {
        statements_of(g)
            .into_iter()
            .filter(|s| s["Sid"].as_str().unwrap().starts_with("Forbid"))
            .collect::<Vec<_>>()
    };
    assert_eq!(forbids(&unmerged).len(), 5, "a, b over two kinds, c over one");
    let f = forbids(&merged);
    assert_eq!(f.len(), 2, "{f:#?}");
    let keys: Vec<String> = f
        .iter()
        .flat_map(|s| {
            let v = &s["Condition"]["ForAnyValue:StringLike"]["aws:TagKeys"];
            v.as_array().map_or_else(
                || vec![v.as_str().unwrap().to_owned()],
                |a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
            )
        })
        .collect();
    for k in ["Debug", "temp*", "scratch"] {
        assert!(keys.contains(&k.to_owned()), "{keys:?}");
    }
}

#[test]
fn a_policy_that_needs_more_documents_than_allowed_is_refused_saying_how_many() {
    let globs: Vec<String> = (0..700).map(|i| format!("\"scratch-area-number-{i:03}-*\"")).collect();
    let p = parse(&format!(
        r#"{{"rules":[{{"name":"big","forbid":[{}]}}]}}"#,
        globs.join(",")
    ))
    .unwrap();
    let err = guardrails(&p, GuardrailKind::Scp, &exempting(&["arn:aws:iam::*:role/w"])).unwrap_err();
    let GuardrailError::TooMany { needed, limit, .. } = err.clone() else {
        panic!("{err}")
    };
    assert_eq!(limit, MAX_DOCUMENTS);
    assert!(needed > limit);
    let text = err.to_string();
    assert!(
        text.contains("--max-documents") && text.contains("FullAWSAccess"),
        "{text}"
    );
    let opts = Options {
        limits: Limits {
            max_documents: needed,
            ..Limits::default()
        },
        ..exempting(&["arn:aws:iam::*:role/w"])
    };
    assert_eq!(
        guardrails(&p, GuardrailKind::Scp, &opts).unwrap().documents.len(),
        needed
    );
}

#[test]
fn what_was_done_beyond_the_rules_is_said_apart_from_what_cannot_be_expressed() {
    let p =
        parse(r#"{"version":2,"exemptions":{"set_by":"anyone"},"rules":[{"name":"r","forbid":["Debug"]}]}"#).unwrap();
    let g = guardrails(&p, GuardrailKind::Scp, &exempting(&["arn:aws:iam::*:role/w"])).unwrap();
    assert!(g.done.iter().any(|d| d.contains("set_by is `anyone`")), "{:?}", g.done);
    assert!(
        g.done.iter().any(|d| d.contains("only by the deployers")),
        "{:?}",
        g.done
    );
    assert!(
        !g.notes.iter().any(|n| n.contains("set_by")),
        "not a gap: {:?}",
        g.notes
    );
    assert!(!statements_of(&g)
        .iter()
        .any(|s| s["Sid"].as_str().unwrap().starts_with("OwnKeys")));
}
