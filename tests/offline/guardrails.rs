//! Guardrails (`tag-warden guardrails`) judged by an evaluator of IAM Deny statements written
//! here: the condition operators the documents use, `ForAnyValue:`/`ForAllValues:`, `IfExists`,
//! `Null`, and the rules for keys absent from the request. A matrix of requests per kind and
//! per guardrail kind; the split of a large policy; golden files for `policies/`; cfn-lint on
//! the CloudFormation output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use tag_warden::engine::guardrails::{
    guardrails, size, GuardrailKind, Limits, Options, DEFAULT_DEPLOYERS, MAX_POLICY_BYTES,
};
use tag_warden::engine::policy::{parse_as, Format};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---- An evaluator of IAM Deny statements ------------------------------------------------

/// One pattern character: a literal, `*` (any run) or `?` (one). `${$}`, `${*}`, `${?}` are
/// literals.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Lit(char),
    Star,
    One,
}

fn tokens(pattern: &str, wildcards: bool) -> Vec<Tok> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' && chars.get(i + 1) == Some(&'{') && chars.get(i + 3) == Some(&'}') {
            let c = chars[i + 2];
            assert!(
                matches!(c, '$' | '*' | '?'),
                "an unknown policy variable in `{pattern}`"
            );
            out.push(Tok::Lit(c));
            i += 4;
            continue;
        }
        assert!(
            chars[i] != '$' || chars.get(i + 1) != Some(&'{'),
            "a policy variable in `{pattern}`"
        );
        out.push(match chars[i] {
            '*' if wildcards => Tok::Star,
            '?' if wildcards => Tok::One,
            c => Tok::Lit(c),
        });
        i += 1;
    }
    out
}

fn glob(p: &[Tok], t: &[char]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(Tok::Star), _) => glob(&p[1..], t) || (!t.is_empty() && glob(p, &t[1..])),
        (Some(Tok::One), Some(_)) => glob(&p[1..], &t[1..]),
        (Some(Tok::Lit(a)), Some(b)) if a == b => glob(&p[1..], &t[1..]),
        _ => false,
    }
}

pub(crate) fn like(pattern: &str, text: &str) -> bool {
    glob(&tokens(pattern, true), &text.chars().collect::<Vec<_>>())
}

/// `ArnLike`: each of the six `:`-separated parts matched on its own.
pub(crate) fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| like(p, a))
}

fn equals(pattern: &str, text: &str) -> bool {
    tokens(pattern, false) == text.chars().map(Tok::Lit).collect::<Vec<_>>()
}

/// A request as IAM's authorization context sees it.
#[derive(Debug, Clone, Default)]
struct Request {
    action: &'static str,
    resource: String,
    principal: String,
    service: bool,
    /// `aws:TagKeys` (absent when the call carries no tag keys).
    tag_keys: Option<Vec<String>>,
    request_tags: BTreeMap<String, String>,
    resource_tags: BTreeMap<String, String>,
    account: String,
    region: String,
    aliases: Vec<String>,
    /// `aws:PrincipalOrgID` (absent for a principal in no organization).
    org: Option<String>,
    /// `secretsmanager:AddReplicaRegions`.
    replica_regions: Option<Vec<String>>,
}

impl Request {
    fn values(&self, key: &str) -> Option<Vec<String>> {
        let one = |v: &str| Some(vec![v.to_owned()]);
        if let Some(k) = key.strip_prefix("aws:RequestTag/") {
            return self.request_tags.get(&unescape(k)).and_then(|v| one(v));
        }
        if let Some(k) = key.strip_prefix("aws:ResourceTag/") {
            return self.resource_tags.get(&unescape(k)).and_then(|v| one(v));
        }
        match key {
            "aws:TagKeys" => self.tag_keys.clone(),
            "aws:PrincipalArn" => one(&self.principal),
            "aws:PrincipalIsAWSService" => one(if self.service { "true" } else { "false" }),
            "aws:ResourceAccount" => one(&self.account),
            "aws:RequestedRegion" => one(&self.region),
            "kms:ResourceAliases" => Some(self.aliases.clone()).filter(|a| !a.is_empty()),
            "aws:PrincipalOrgID" => self.org.as_deref().and_then(one),
            "secretsmanager:AddReplicaRegions" => self.replica_regions.clone(),
            other => panic!("the evaluator does not know the condition key {other}"),
        }
    }
}

fn unescape(key: &str) -> String {
    key.replace("${$}", "$").replace("${*}", "*").replace("${?}", "?")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        other => panic!("not a string or a list: {other}"),
    }
}

/// One condition operator on one key, as IAM evaluates it.
fn holds(op: &str, key: &str, policy: &[String], req: &Request) -> bool {
    let (set, op) = match op.split_once(':') {
        Some((set @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(set), rest),
        _ => (None, op),
    };
    let (op, if_exists) = match op.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (op, false),
    };
    let context = req.values(key);
    if op == "Null" {
        let want_absent = policy == ["true"];
        return context.is_none() == want_absent;
    }
    let negated = op.contains("Not");
    let one = |value: &str| -> bool {
        let any = policy.iter().any(|p| match op {
            "StringEquals" | "StringNotEquals" => equals(p, value),
            "StringLike" | "StringNotLike" => like(p, value),
            "ArnLike" | "ArnNotLike" | "ArnEquals" | "ArnNotEquals" => arn_like(p, value),
            "Bool" => p == value,
            other => panic!("the evaluator does not know {other}"),
        });
        if negated {
            !any
        } else {
            any
        }
    };
    match (set, context) {
        (Some("ForAnyValue"), None) => false,
        (Some("ForAnyValue"), Some(vs)) => vs.iter().any(|v| one(v)),
        (Some(_), None) => true,
        (Some(_), Some(vs)) => vs.iter().all(|v| one(v)),
        // A key absent from the request: IfExists and negated operators hold, the rest do not.
        (None, None) => if_exists || negated,
        (None, Some(vs)) => vs.iter().all(|v| one(v)),
    }
}

fn statement_denies(st: &Value, req: &Request, kind: GuardrailKind) -> bool {
    assert_eq!(st["Effect"], "Deny", "Deny statements only");
    match kind {
        GuardrailKind::Rcp => assert_eq!(st["Principal"], "*", "an RCP statement names every principal"),
        GuardrailKind::Scp => assert!(st.get("Principal").is_none(), "an SCP has no Principal"),
    }
    let action = strings(&st["Action"]).iter().any(|a| like(a, req.action));
    let resource = strings(&st["Resource"])
        .iter()
        .any(|r| r == "*" || arn_like(r, &req.resource));
    action
        && resource
        && st["Condition"].as_object().into_iter().flatten().all(|(op, keys)| {
            keys.as_object()
                .unwrap()
                .iter()
                .all(|(key, values)| holds(op, key, &strings(values), req))
        })
}

fn denied(documents: &[Value], req: &Request, kind: GuardrailKind) -> bool {
    // SCPs govern the organization's IAM principals: an AWS service principal (EventBridge
    // invoking a function, Lambda polling a queue) is never subject to them.
    if kind == GuardrailKind::Scp && req.service {
        return false;
    }
    documents.iter().any(|d| {
        assert_eq!(d["Version"], "2012-10-17");
        d["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| statement_denies(st, req, kind))
    })
}

#[test]
fn the_evaluator_follows_iams_rules_for_absent_keys_and_sets() {
    let req = Request {
        tag_keys: Some(vec!["Owner".into(), "Team".into()]),
        ..Request::default()
    };
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(holds("ForAnyValue:StringLike", "aws:TagKeys", &v(&["Own*"]), &req));
    assert!(!holds("ForAllValues:StringEquals", "aws:TagKeys", &v(&["Owner"]), &req));
    assert!(
        holds("StringNotEquals", "aws:RequestTag/Owner", &v(&["x"]), &req),
        "negated on an absent key: true"
    );
    assert!(!holds("StringEquals", "aws:RequestTag/Owner", &v(&["x"]), &req));
    assert!(holds("StringEqualsIfExists", "aws:RequestTag/Owner", &v(&["x"]), &req));
    assert!(holds("Null", "aws:RequestTag/Owner", &v(&["true"]), &req));
    let none = Request::default();
    assert!(
        !holds("ForAnyValue:StringLike", "aws:TagKeys", &v(&["*"]), &none),
        "no keys: no value"
    );
    assert!(
        holds("ForAllValues:StringLike", "aws:TagKeys", &v(&["x"]), &none),
        "vacuously"
    );
    assert!(like("a${*}b", "a*b") && !like("a${*}b", "axb") && like("c${$}", "c$"));
    assert!(arn_like(
        "arn:*:iam::*:role/*-FunctionRole-*",
        "arn:aws:iam::1:role/s-FunctionRole-X"
    ));
    assert!(!arn_like("arn:*:iam::*:role/x", "arn:aws:iam::1:role/x:y"));
}

// ---- The matrix ------------------------------------------------------------------------

const POLICY: &str = r#"
version: 2
rules:
  - name: base
    require:
      Owner: { values: [platform, payments], default: platform }
      CostCenter: { pattern: "^[0-9]{4}$", default: "0000" }
      DataClass: { values: [internal, restricted], lock: true }
    forbid: ["temp*", Debug]
"#;

const MEMBER: &str = "arn:aws:iam::*:role/tag-warden-member";
const ORG: &str = "o-abc123defg";
const BREAK_GLASS: &str = "arn:aws:iam::111122223333:role/break-glass";
const ALICE: &str = "arn:aws:iam::111122223333:role/developer";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn options() -> Options {
    Options {
        exempt: vec![MEMBER.to_owned(), BREAK_GLASS.to_owned()],
        deployers: DEFAULT_DEPLOYERS.iter().map(|d| (*d).to_owned()).collect(),
        org_id: Some(ORG.to_owned()),
        ..Options::default()
    }
}

fn docs_with(policy: &str, kind: GuardrailKind, opts: &Options) -> Vec<Value> {
    let p = parse_as(policy, Format::Yaml).unwrap();
    let g = guardrails(&p, kind, opts).unwrap();
    for d in &g.documents {
        assert!(size(d) <= opts.limits.max_bytes, "{} bytes", size(d));
    }
    g.documents
}

fn docs(policy: &str, kind: GuardrailKind) -> Vec<Value> {
    docs_with(policy, kind, &options())
}

/// The actions of one kind: (tag, untag, create).
fn acts(secret: bool) -> (&'static str, &'static str, &'static str) {
    if secret {
        (
            "secretsmanager:TagResource",
            "secretsmanager:UntagResource",
            "secretsmanager:CreateSecret",
        )
    } else {
        ("kms:TagResource", "kms:UntagResource", "kms:CreateKey")
    }
}

fn tagging(action: &'static str, resource: &str, tags: &[(&str, &str)], carried: &[(&str, &str)]) -> Request {
    Request {
        action,
        resource: resource.to_owned(),
        principal: ALICE.to_owned(),
        tag_keys: (!tags.is_empty()).then(|| tags.iter().map(|(k, _)| k.to_string()).collect()),
        request_tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        resource_tags: carried.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        account: "111122223333".into(),
        region: "us-east-1".into(),
        org: Some(ORG.into()),
        ..Request::default()
    }
}

fn untagging(action: &'static str, resource: &str, keys: &[&str], carried: &[(&str, &str)]) -> Request {
    let mut r = tagging(action, resource, &[], carried);
    r.tag_keys = Some(keys.iter().map(|k| k.to_string()).collect());
    r
}

#[test]
fn each_denial_holds_for_a_normal_principal_and_none_for_an_exempt_one_on_secrets_and_keys() {
    for kind in [GuardrailKind::Scp, GuardrailKind::Rcp] {
        let d = docs(POLICY, kind);
        for secret in [true, false] {
            let (tag, untag, create) = acts(secret);
            let arn = if secret { SECRET } else { KEY };
            let carried = [("Owner", "platform"), ("DataClass", "internal")];
            // A new resource: CreateSecret on its ARN; CreateKey (and the kms:TagResource its
            // tags are authorized through) against no key. RCPs leave CreateKey to the SCP.
            let creations: Vec<(&'static str, &str)> = match (secret, kind) {
                (true, _) => vec![(create, SECRET)],
                (false, GuardrailKind::Scp) => vec![(create, "*"), (tag, "*")],
                (false, GuardrailKind::Rcp) => vec![],
            };
            let must = |req: &Request, deny: bool, what: &str| {
                assert_eq!(denied(&d, req, kind), deny, "{kind:?} {what}: {req:?}");
                if deny {
                    let mut exempt = req.clone();
                    exempt.principal = BREAK_GLASS.into();
                    assert!(!denied(&d, &exempt, kind), "{kind:?} {what}: the exempt principal");
                    exempt.principal = "arn:aws:iam::444455556666:role/tag-warden-member".into();
                    assert!(!denied(&d, &exempt, kind), "{kind:?} {what}: the member role");
                }
            };
            // 1. tag-warden's own keys.
            must(
                &tagging(tag, arn, &[("tag-warden:exempt", "true")], &carried),
                true,
                "set an exemption",
            );
            must(
                &untagging(untag, arn, &["tag-warden:exempt-until"], &carried),
                true,
                "remove an exemption",
            );
            for (a, r) in &creations {
                must(
                    &tagging(a, r, &[("tag-warden:exempt", "true")], &[]),
                    true,
                    "create exempt",
                );
            }
            // 2. forbidden keys.
            must(&tagging(tag, arn, &[("Debug", "1")], &carried), true, "set Debug");
            must(
                &tagging(tag, arn, &[("Team", "a"), ("temp-x", "1")], &carried),
                true,
                "set temp-x",
            );
            for (a, r) in &creations {
                must(&tagging(a, r, &[("Debug", "1")], &[]), true, "create with Debug");
            }
            // 3. required keys removed.
            must(
                &untagging(untag, arn, &["Team", "Owner"], &carried),
                true,
                "remove Owner",
            );
            must(
                &untagging(untag, arn, &["Team"], &carried),
                false,
                "remove an unrelated key",
            );
            // 4. a locked key: changed when carried; set the first time.
            must(
                &tagging(tag, arn, &[("DataClass", "restricted")], &carried),
                true,
                "change DataClass",
            );
            must(
                &tagging(tag, arn, &[("DataClass", "restricted")], &[("Owner", "platform")]),
                false,
                "first DataClass",
            );
            for (a, r) in &creations {
                must(
                    &tagging(a, r, &[("DataClass", "internal"), ("Owner", "payments")], &[]),
                    false,
                    "create locked",
                );
            }
            // 5. values lists.
            must(
                &tagging(tag, arn, &[("Owner", "orders")], &carried),
                true,
                "Owner outside its values",
            );
            must(
                &tagging(tag, arn, &[("Owner", "payments")], &carried),
                false,
                "Owner inside its values",
            );
            must(
                &tagging(tag, arn, &[("Team", "search")], &carried),
                false,
                "no Owner in the request",
            );
            for (a, r) in &creations {
                must(
                    &tagging(a, r, &[("Owner", "orders")], &[]),
                    true,
                    "create with a bad Owner",
                );
                must(&tagging(a, r, &[], &[]), false, "create with no tags");
            }
            // Reads, and AWS services under an RCP.
            let read = if secret {
                "secretsmanager:GetSecretValue"
            } else {
                "kms:Decrypt"
            };
            must(&tagging(read, arn, &[], &carried), false, "a read");
            if kind == GuardrailKind::Rcp {
                let mut service = tagging(tag, arn, &[("Debug", "1")], &carried);
                service.service = true;
                service.principal = String::new();
                assert!(!denied(&d, &service, kind), "an AWS service principal");
            }
        }
    }
}

#[test]
fn scopes_map_to_resources_accounts_regions_and_tags() {
    let p = r#"
version: 2
rules:
  - name: prod
    match: { names: ["prod/*"], accounts: ["111122223333"], regions: ["us-*"], tags: { Env: [prod] } }
    forbid: [Debug]
"#;
    let d = docs(p, GuardrailKind::Scp);
    let carried = [("Env", "prod")];
    let (tag, _, create) = acts(true);
    assert!(denied(
        &d,
        &tagging(tag, SECRET, &[("Debug", "1")], &carried),
        GuardrailKind::Scp
    ));
    let other_name = "arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/db-AbCdEf";
    assert!(!denied(
        &d,
        &tagging(tag, other_name, &[("Debug", "1")], &carried),
        GuardrailKind::Scp
    ));
    let mut elsewhere = tagging(tag, SECRET, &[("Debug", "1")], &carried);
    elsewhere.account = "999999999999".into();
    assert!(!denied(&d, &elsewhere, GuardrailKind::Scp));
    elsewhere = tagging(tag, SECRET, &[("Debug", "1")], &carried);
    elsewhere.region = "eu-west-1".into();
    assert!(!denied(&d, &elsewhere, GuardrailKind::Scp));
    assert!(!denied(
        &d,
        &tagging(tag, SECRET, &[("Debug", "1")], &[("Env", "dev")]),
        GuardrailKind::Scp
    ));
    // At creation, the scope's tags are the request's.
    assert!(denied(
        &d,
        &tagging(create, SECRET, &[("Debug", "1"), ("Env", "prod")], &[]),
        GuardrailKind::Scp
    ));
    assert!(!denied(
        &d,
        &tagging(create, SECRET, &[("Debug", "1")], &[]),
        GuardrailKind::Scp
    ));
    // Keys by alias (kms:ResourceAliases) on existing keys.
    let keys = docs(
        "version: 2\nrules:\n  - name: team\n    resources: [kms-key]\n    match: { names: [\"team-*\"] }\n    forbid: [Debug]\n",
        GuardrailKind::Scp,
    );
    let mut aliased = tagging("kms:TagResource", KEY, &[("Debug", "1")], &[]);
    aliased.aliases = vec!["alias/team-search".into()];
    assert!(denied(&keys, &aliased, GuardrailKind::Scp));
    aliased.aliases = vec!["alias/other".into()];
    assert!(!denied(&keys, &aliased, GuardrailKind::Scp));
}

#[test]
fn eighty_forbidden_globs_and_forty_value_lists_split_into_documents_that_still_deny_all_of_it() {
    let globs: Vec<String> = (0..80).map(|i| format!("\"scratch-area-number-{i:02}-*\"")).collect();
    let values: Vec<String> = (0..40)
        .map(|i| format!("      Key{i:02}: {{ values: [alpha-{i}, beta-{i}, gamma-{i}] }}"))
        .collect();
    let policy = format!(
        "version: 2\nrules:\n  - name: big\n    forbid: [{}]\n    require:\n{}\n",
        globs.join(", "),
        values.join("\n")
    );
    for kind in [GuardrailKind::Scp, GuardrailKind::Rcp] {
        // More than the 4 documents a target takes: spread over levels (--max-documents).
        let spread = Options {
            limits: Limits {
                max_documents: 20,
                ..Limits::default()
            },
            ..options()
        };
        let d = docs_with(&policy, kind, &spread);
        assert!(d.len() > 2, "{kind:?}: {} documents", d.len());
        for doc in &d {
            let n = size(doc);
            assert!(n <= MAX_POLICY_BYTES, "{n}");
        }
        for secret in [true, false] {
            let (tag, _, _) = acts(secret);
            let arn = if secret { SECRET } else { KEY };
            for i in 0..80 {
                let key = format!("scratch-area-number-{i:02}-x");
                assert!(
                    denied(&d, &tagging(tag, arn, &[(&key, "1")], &[]), kind),
                    "{kind:?} {key}"
                );
            }
            for i in 0..40 {
                let key = format!("Key{i:02}");
                assert!(
                    denied(&d, &tagging(tag, arn, &[(&key, "delta")], &[]), kind),
                    "{kind:?} {key}"
                );
                let ok = format!("beta-{i}");
                assert!(
                    !denied(&d, &tagging(tag, arn, &[(&key, &ok)], &[]), kind),
                    "{kind:?} {key}"
                );
            }
            assert!(!denied(&d, &tagging(tag, arn, &[("scratch", "1")], &[]), kind));
        }
    }
}

// ---- The command: golden files and cfn-lint -------------------------------------------------

/// `tag-warden guardrails` run from the project's root, with `args`.
fn command(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .arg("guardrails")
        .args(args)
        .current_dir(root())
        .env_clear()
        .output()
        .unwrap()
}

/// The committed outputs for `policies/` and how each is made: `make guardrails` writes them.
const GOLDEN: &[(&str, &[&str])] = &[
    (
        "policies/example.guardrails.scp.json",
        &[
            "--policy",
            "policies/example.json",
            "--kind",
            "scp",
            "--exempt-principal",
            "arn:aws:iam::*:role/tag-warden-member",
        ],
    ),
    (
        "policies/example-v2.guardrails.rcp.json",
        &[
            "--policy",
            "policies/example-v2.yaml",
            "--kind",
            "rcp",
            "--exempt-principal",
            "arn:aws:iam::*:role/tag-warden-member",
            "--org-id",
            "o-exampleorg1",
        ],
    ),
    (
        "policies/example-v2.guardrails.scp.template.json",
        &[
            "--policy",
            "policies/example-v2.yaml",
            "--kind",
            "scp",
            "--exempt-principal",
            "arn:aws:iam::*:role/tag-warden-member",
            "--format",
            "cloudformation",
        ],
    ),
];

#[test]
fn the_committed_guardrails_of_the_example_policies_are_what_the_binary_prints() {
    for (file, args) in GOLDEN {
        let out = command(args);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let committed = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            committed,
            "{file} is stale: run `make guardrails`"
        );
    }
}

#[test]
fn strict_fails_on_what_is_not_expressed_and_out_writes_minified_documents() {
    let out = command(&["--policy", "policies/example-v2.yaml", "--kind", "scp", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not expressed: rule `baseline`, key `CostCenter`: `pattern`"),
        "{err}"
    );
    assert!(
        !err.contains("FunctionRole-*"),
        "no glob that any role named so matches: {err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = command(&[
        "--policy",
        "policies/example.json",
        "--kind",
        "scp",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let written = std::fs::read_to_string(dir.path().join("tag-warden-scp-1.json")).unwrap();
    assert!(!written.contains('\n') && written.len() <= MAX_POLICY_BYTES);
    let doc: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(doc["Version"], "2012-10-17");
    let out = command(&[
        "--policy",
        "policies/example.json",
        "--kind",
        "scp",
        "--exempt-principal",
        "arn:aws:sts::*:assumed-role/ci/*",
    ]);
    assert_eq!(out.status.code(), Some(2), "a session glob cannot be exempted");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs cfn-lint from `make venv`: `make test` runs it"
)]
fn cfn_lint_accepts_the_cloudformation_output_of_two_prefixes() {
    let lint = root().join(".venv/bin/cfn-lint");
    assert!(
        lint.exists(),
        "{} missing: run `make venv` (make test does)",
        lint.display()
    );
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["payments", "platform"] {
        let out = command(&[
            "--policy",
            "policies/example-v2.yaml",
            "--kind",
            "rcp",
            "--org-id",
            "o-exampleorg1",
            "--format",
            "cloudformation",
            "--name-prefix",
            prefix,
        ]);
        let path = dir.path().join(format!("{prefix}.json"));
        std::fs::write(&path, &out.stdout).unwrap();
        let lint = Command::new(&lint).arg(&path).output().unwrap();
        assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stdout));
    }
    let out = Command::new(lint)
        .arg(root().join("policies/example-v2.guardrails.scp.template.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let t: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("policies/example-v2.guardrails.scp.template.json")).unwrap(),
    )
    .unwrap();
    let resources = t["Resources"].as_object().unwrap();
    assert!(!resources.is_empty());
    for r in resources.values() {
        assert_eq!(r["Type"], "AWS::Organizations::Policy");
        assert_eq!(r["Properties"]["Type"], "SERVICE_CONTROL_POLICY");
        assert_eq!(r["Properties"]["TargetIds"]["Ref"], "TargetIds");
        assert!(size(&r["Properties"]["Content"]) <= MAX_POLICY_BYTES);
    }
}

// ---- Exemptions nobody else can claim --------------------------------------------------

#[test]
fn a_role_merely_named_like_the_functions_role_is_denied_and_the_exact_arn_is_not() {
    let function = "arn:aws:iam::111122223333:role/tag-warden-FunctionRole-AbC123";
    let look_alike = "arn:aws:iam::111122223333:role/mine-FunctionRole-anything";
    let run = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["--policy", "policies/example.json", "--kind", "scp"];
        args.extend_from_slice(extra);
        let out = command(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let set_debug = |principal: &str| {
        let mut r = tagging("secretsmanager:TagResource", SECRET, &[("Debug", "1")], &[]);
        r.principal = principal.to_owned();
        r
    };
    // Before: `*-FunctionRole-*` was exempt by default, so any role named so escaped.
    let d = run(&[]);
    assert!(denied(&d, &set_debug(look_alike), GuardrailKind::Scp));
    let d = run(&["--function-role-arn", function]);
    assert!(!denied(&d, &set_debug(function), GuardrailKind::Scp));
    assert!(denied(&d, &set_debug(look_alike), GuardrailKind::Scp));
}

#[test]
fn creating_or_changing_a_role_with_an_exempt_name_is_denied_but_to_the_deployers() {
    let d = docs(POLICY, GuardrailKind::Scp);
    let role = "arn:aws:iam::111122223333:role/tag-warden-member";
    for action in [
        "iam:CreateRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DeleteRole",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:UpdateRole",
    ] {
        let mut r = tagging(action, role, &[], &[]);
        assert!(denied(&d, &r, GuardrailKind::Scp), "{action} by a developer");
        r.principal = "arn:aws:iam::111122223333:role/stacksets-exec-0123456789abcdef".into();
        assert!(!denied(&d, &r, GuardrailKind::Scp), "{action} by the StackSet");
        r.principal = "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetExecutionRole".into();
        assert!(
            !denied(&d, &r, GuardrailKind::Scp),
            "{action} by a self-managed StackSet"
        );
        // Another role's name is the developer's business.
        let other = tagging(action, "arn:aws:iam::111122223333:role/app", &[], &[]);
        assert!(!denied(&d, &other, GuardrailKind::Scp), "{action} of another role");
    }
    // The break-glass role is protected the same way.
    let r = tagging("iam:UpdateAssumeRolePolicy", BREAK_GLASS, &[], &[]);
    assert!(denied(&d, &r, GuardrailKind::Scp));
}

#[test]
fn under_an_rcp_a_principal_outside_the_organization_named_like_the_member_role_is_denied() {
    let d = docs(POLICY, GuardrailKind::Rcp);
    let mut r = tagging("secretsmanager:TagResource", SECRET, &[("Debug", "1")], &[]);
    r.principal = "arn:aws:iam::444455556666:role/tag-warden-member".into();
    assert!(!denied(&d, &r, GuardrailKind::Rcp), "inside the organization: exempt");
    r.org = Some("o-someoneelse".into());
    assert!(
        denied(&d, &r, GuardrailKind::Rcp),
        "another organization's role of that name"
    );
    r.org = None;
    assert!(denied(&d, &r, GuardrailKind::Rcp), "a role in no organization");
    // Even a compliant change: an outside principal is never exempt, nor anyone's.
    let mut fine = tagging("secretsmanager:TagResource", SECRET, &[("Owner", "platform")], &[]);
    fine.principal = r.principal.clone();
    fine.org = None;
    assert!(denied(&d, &fine, GuardrailKind::Rcp));
    fine.principal = ALICE.into();
    fine.org = None;
    assert!(
        !denied(&d, &fine, GuardrailKind::Rcp),
        "a compliant outsider not named like an exempt one"
    );
}

#[test]
fn exemption_keys_follow_the_policys_set_by() {
    let with = |set_by: &str| {
        format!(
            "version: 2\nexemptions: {{ set_by: {set_by} }}\n{}",
            POLICY.trim_start().trim_start_matches("version: 2\n")
        )
    };
    let exempt_tag = |principal: &str| {
        let mut r = tagging(
            "secretsmanager:TagResource",
            SECRET,
            &[("tag-warden:exempt", "true")],
            &[],
        );
        r.principal = principal.to_owned();
        r
    };
    for kind in [GuardrailKind::Scp, GuardrailKind::Rcp] {
        let anyone = docs(&with("anyone"), kind);
        assert!(!denied(&anyone, &exempt_tag(ALICE), kind), "{kind:?}: anyone may");
        let nobody = docs(&with("nobody"), kind);
        assert!(denied(&nobody, &exempt_tag(ALICE), kind), "{kind:?}");
        assert!(
            denied(&nobody, &exempt_tag(BREAK_GLASS), kind),
            "{kind:?}: nor the exempt"
        );
        let trusted = docs(&with("trusted"), kind);
        assert!(denied(&trusted, &exempt_tag(ALICE), kind));
        assert!(!denied(&trusted, &exempt_tag(BREAK_GLASS), kind));
    }
}

// ---- Fit the places they go ------------------------------------------------------------

/// A policy of `n` rules, each scoped to its own accounts, forbidding, requiring and listing.
fn many_rules(n: usize) -> String {
    let mut p = String::from("version: 2\nrules:\n");
    for i in 0..n {
        p.push_str(&format!(
            "  - name: r{i}\n    match: {{ accounts: [\"{:012}\"] }}\n    forbid: [\"scratch-{i}-*\", Debug]\n    require:\n      Owner: {{ values: [team-{i}, platform] }}\n      CostCenter: {{}}\n",
            100_000_000_000u64 + i as u64
        ));
    }
    p
}

/// Requests each of which some statement of a policy from [`many_rules`] decides.
fn probes(n: usize) -> Vec<Request> {
    let mut out = Vec::new();
    for i in (0..n).step_by(7) {
        let account = format!("{:012}", 100_000_000_000u64 + i as u64);
        for (tags, carried) in [
            (vec![(format!("scratch-{i}-x"), "1".to_owned())], vec![]),
            (vec![("Debug".to_owned(), "1".to_owned())], vec![]),
            (vec![("Owner".to_owned(), "other".to_owned())], vec![]),
            (vec![("Owner".to_owned(), format!("team-{i}"))], vec![]),
            (vec![("tag-warden:exempt".to_owned(), "true".to_owned())], vec![]),
        ] {
            let t: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let c: Vec<(&str, &str)> = carried;
            let mut r = tagging("secretsmanager:TagResource", SECRET, &t, &c);
            r.account = account.clone();
            out.push(r.clone());
            r.account = "999999999999".into();
            out.push(r);
        }
        let mut u = untagging("kms:UntagResource", KEY, &["CostCenter"], &[]);
        u.account = account;
        out.push(u);
    }
    out
}

#[test]
fn a_policy_too_large_for_four_documents_exits_2_and_packed_documents_deny_what_unpacked_ones_do() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("big.yaml");
    std::fs::write(&policy, many_rules(100)).unwrap();
    let out = command(&["--policy", policy.to_str().unwrap(), "--kind", "scp"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at most 4") && err.contains("--max-documents"), "{err}");
    let needed: usize = err
        .split("needs ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let out = command(&[
        "--policy",
        policy.to_str().unwrap(),
        "--kind",
        "scp",
        "--max-documents",
        &needed.to_string(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The packing changes no verdict: every probe is decided alike by the statements one by one.
    for kind in [GuardrailKind::Scp, GuardrailKind::Rcp] {
        let text = many_rules(100);
        let big = Limits {
            max_documents: 1000,
            max_bytes: MAX_POLICY_BYTES,
        };
        let packed = docs_with(
            &text,
            kind,
            &Options {
                limits: big,
                ..options()
            },
        );
        let unpacked = docs_with(
            &text,
            kind,
            &Options {
                limits: big,
                unmerged: true,
                ..options()
            },
        );
        assert!(
            packed.len() < unpacked.len(),
            "{kind:?}: {} vs {}",
            packed.len(),
            unpacked.len()
        );
        for (i, r) in probes(100).iter().enumerate() {
            assert_eq!(
                denied(&packed, r, kind),
                denied(&unpacked, r, kind),
                "{kind:?} probe {i}: {r:?}"
            );
        }
    }
}

#[test]
fn documents_are_measured_in_utf8_bytes_and_max_size_raises_the_limit() {
    let values: Vec<String> = (0..120).map(|i| format!("équipe-données-{i:03}")).collect();
    let policy = format!(
        "version: 2\nrules:\n  - name: accents\n    require:\n      Équipe: {{ values: [{}] }}\n",
        values.join(", ")
    );
    for kind in [GuardrailKind::Scp, GuardrailKind::Rcp] {
        let d = docs(&policy, kind);
        for doc in &d {
            assert!(size(doc) <= MAX_POLICY_BYTES, "{} bytes", size(doc));
        }
        let chars: usize = d.iter().map(|x| x.to_string().chars().count()).sum();
        let bytes: usize = d.iter().map(size).sum();
        assert!(bytes > chars, "accented values count twice");
        // Forbidden globs whose documents fit 5,120 characters but not 5,120 bytes: counted in
        // characters they would be one document, too large in bytes.
        let globs: Vec<String> = (0..185).map(|i| format!("\"données-éàü-{i:03}*\"")).collect();
        let forbid = format!(
            "version: 2\nrules:\n  - name: accents\n    forbid: [{}]\n",
            globs.join(", ")
        );
        let split = docs(&forbid, kind);
        let chars: usize = split.iter().map(|x| x.to_string().chars().count()).sum();
        assert!(chars < MAX_POLICY_BYTES, "{kind:?}: {chars} characters in all");
        assert!(split.len() >= 2, "{kind:?}: split by bytes");
        for doc in &split {
            assert!(size(doc) <= MAX_POLICY_BYTES, "{} bytes", size(doc));
        }
        let larger = docs_with(
            &policy,
            kind,
            &Options {
                limits: Limits {
                    max_bytes: 10_240,
                    ..Limits::default()
                },
                ..options()
            },
        );
        assert!(larger.len() <= d.len());
    }
}

#[test]
fn two_stacks_from_two_prefixes_share_no_policy_name_and_without_one_the_stack_names_them() {
    let names = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "--policy",
            "policies/example-v2.yaml",
            "--kind",
            "scp",
            "--format",
            "cloudformation",
        ];
        args.extend_from_slice(extra);
        let out = command(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let t: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !t["Parameters"]["FunctionRoleArn"].is_null(),
            "the function role is a parameter"
        );
        assert!(t.to_string().contains(r#"{"Ref":"FunctionRoleArn"}"#));
        t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| r["Properties"]["Name"].to_string())
            .collect()
    };
    let a = names(&["--name-prefix", "payments"]);
    let b = names(&["--name-prefix", "platform"]);
    assert!(a.iter().all(|n| !b.contains(n)), "{a:?} {b:?}");
    assert!(a.iter().all(|n| n.contains("payments-scp-")));
    let default = names(&[]);
    assert!(default.iter().all(|n| n.contains("${AWS::StackName}")), "{default:?}");
}

#[test]
fn max_documents_takes_any_count_from_one() {
    let out = command(&[
        "--policy",
        "policies/example.json",
        "--kind",
        "scp",
        "--max-documents",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = command(&[
        "--policy",
        "policies/example.json",
        "--kind",
        "scp",
        "--max-documents",
        "1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn region_scoped_secrets_may_not_be_replicated_out_of_their_regions() {
    let p = "version: 2\nrules:\n  - name: us\n    resources: [secret]\n    match: { regions: [\"us-*\"] }\n    forbid: [Debug]\n";
    let d = docs(p, GuardrailKind::Scp);
    let mut r = tagging("secretsmanager:ReplicateSecretToRegions", SECRET, &[], &[]);
    r.replica_regions = Some(vec!["eu-west-1".into()]);
    assert!(denied(&d, &r, GuardrailKind::Scp), "out of the rule's Regions");
    r.replica_regions = Some(vec!["us-west-2".into()]);
    assert!(!denied(&d, &r, GuardrailKind::Scp), "within them");
    let mut create = tagging("secretsmanager:CreateSecret", SECRET, &[], &[]);
    assert!(!denied(&d, &create, GuardrailKind::Scp), "no replica asked");
    create.replica_regions = Some(vec!["ap-south-1".into()]);
    assert!(denied(&d, &create, GuardrailKind::Scp));
}

// ---- --protect: the stack is the deployer's ----------------------------------------------

const DEPLOYER: &str = "arn:aws:iam::111122223333:role/cfn-deployer";
const FUNCTION_ROLE: &str = "arn:aws:iam::111122223333:role/tag-warden-FunctionRole-AbC123";
const SECOPS: &str = "arn:aws:iam::111122223333:role/secops";

fn protected() -> Vec<Value> {
    let opts = Options {
        deployers: vec![DEPLOYER.to_owned()],
        protect: Some(tag_warden::engine::guardrails::Protect {
            stack_prefix: "tag-warden".to_owned(),
            operators: vec![SECOPS.to_owned()],
        }),
        ..options()
    };
    docs_with(POLICY, GuardrailKind::Scp, &opts)
}

fn on(action: &'static str, resource: &str, principal: &str) -> Request {
    let mut r = tagging(action, resource, &[], &[]);
    r.principal = principal.to_owned();
    r
}

#[test]
fn protect_keeps_the_function_its_role_and_its_stacks_the_deployers() {
    let d = protected();
    let function = "arn:aws:lambda:us-east-1:111122223333:function:tag-warden-TagWardenFunction-AbC123";
    let cases: &[(&'static str, &str)] = &[
        // A forged event, invoked straight at the function.
        ("lambda:InvokeFunction", function),
        ("lambda:UpdateFunctionConfiguration", function),
        ("lambda:UpdateFunctionCode", function),
        ("lambda:DeleteFunction", function),
        ("lambda:PutFunctionConcurrency", function),
        ("lambda:AddPermission", function),
        ("iam:PutRolePolicy", FUNCTION_ROLE),
        ("iam:UpdateAssumeRolePolicy", FUNCTION_ROLE),
        (
            "iam:CreateRole",
            "arn:aws:iam::111122223333:role/tag-warden-FunctionRole-mine",
        ),
        (
            "events:DisableRule",
            "arn:aws:events:us-east-1:111122223333:rule/tag-warden-SecretsManagerRule-AbC",
        ),
        (
            "events:RemoveTargets",
            "arn:aws:events:us-east-1:111122223333:rule/tag-warden-central/tag-warden-CentralKmsRule-AbC",
        ),
        (
            "events:PutRule",
            "arn:aws:events:us-east-1:111122223333:rule/tag-warden-TagChangeRule-AbC",
        ),
        (
            "cloudformation:DeleteStack",
            "arn:aws:cloudformation:us-east-1:111122223333:stack/tag-warden/0f1e2d3c",
        ),
        (
            "cloudformation:UpdateStack",
            "arn:aws:cloudformation:us-east-1:222233334444:stack/StackSet-tag-warden-members-0a1b/9f8e",
        ),
        (
            "cloudformation:DeleteStackInstances",
            "arn:aws:cloudformation:us-east-1:111122223333:stackset/tag-warden-members:0a1b2c",
        ),
    ];
    for (action, resource) in cases {
        assert!(
            denied(&d, &on(action, resource, ALICE), GuardrailKind::Scp),
            "{action} {resource} by a developer"
        );
        assert!(
            !denied(&d, &on(action, resource, DEPLOYER), GuardrailKind::Scp),
            "{action} {resource} by the deployer"
        );
    }
    // Somebody else's function, rule and stack are theirs.
    for (action, resource) in [
        (
            "lambda:InvokeFunction",
            "arn:aws:lambda:us-east-1:111122223333:function:orders-api",
        ),
        (
            "events:DisableRule",
            "arn:aws:events:us-east-1:111122223333:rule/orders-nightly",
        ),
        (
            "cloudformation:DeleteStack",
            "arn:aws:cloudformation:us-east-1:111122223333:stack/orders/1a2b",
        ),
    ] {
        assert!(
            !denied(&d, &on(action, resource, ALICE), GuardrailKind::Scp),
            "{action} {resource}"
        );
    }
    // EventBridge invoking the function is a service principal: SCPs do not apply.
    let mut eventbridge = on("lambda:InvokeFunction", function, "events.amazonaws.com");
    eventbridge.service = true;
    assert!(!denied(&d, &eventbridge, GuardrailKind::Scp));
}

#[test]
fn protect_keeps_the_queues_and_memory_to_the_function_the_operators_and_the_deployers() {
    let d = protected();
    let failure = "arn:aws:sqs:us-east-1:111122223333:tag-warden-FailureQueue-AbC123";
    let sweep = "arn:aws:sqs:us-east-1:111122223333:tag-warden-SweepQueue-AbC123";
    let table = "arn:aws:dynamodb:us-east-1:111122223333:table/tag-warden-MemoryTable-AbC123";
    for queue in [failure, sweep] {
        assert!(
            denied(&d, &on("sqs:SendMessage", queue, ALICE), GuardrailKind::Scp),
            "planting in {queue}"
        );
        assert!(!denied(
            &d,
            &on("sqs:SendMessage", queue, FUNCTION_ROLE),
            GuardrailKind::Scp
        ));
        for action in ["sqs:PurgeQueue", "sqs:SetQueueAttributes", "sqs:DeleteQueue"] {
            assert!(denied(&d, &on(action, queue, ALICE), GuardrailKind::Scp), "{action}");
            assert!(
                denied(&d, &on(action, queue, FUNCTION_ROLE), GuardrailKind::Scp),
                "{action}"
            );
            assert!(
                !denied(&d, &on(action, queue, DEPLOYER), GuardrailKind::Scp),
                "{action}"
            );
        }
        // Receiving (replay, redrive) stays as IAM grants it.
        assert!(!denied(
            &d,
            &on("sqs:ReceiveMessage", queue, SECOPS),
            GuardrailKind::Scp
        ));
    }
    for action in [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:PartiQLUpdate",
    ] {
        assert!(
            denied(&d, &on(action, table, ALICE), GuardrailKind::Scp),
            "{action}: pinning an exemption"
        );
        assert!(
            !denied(&d, &on(action, table, FUNCTION_ROLE), GuardrailKind::Scp),
            "{action}"
        );
        assert!(!denied(&d, &on(action, table, SECOPS), GuardrailKind::Scp), "{action}");
    }
    for action in [
        "dynamodb:DeleteTable",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:PutResourcePolicy",
    ] {
        assert!(denied(&d, &on(action, table, SECOPS), GuardrailKind::Scp), "{action}");
        assert!(
            !denied(&d, &on(action, table, DEPLOYER), GuardrailKind::Scp),
            "{action}"
        );
    }
    // A look-alike function role outside the stack's name is nobody's exemption.
    let look_alike = "arn:aws:iam::111122223333:role/mine-FunctionRole-x";
    assert!(denied(
        &d,
        &on("dynamodb:PutItem", table, look_alike),
        GuardrailKind::Scp
    ));
}

#[test]
fn protect_is_refused_for_rcps_and_without_a_stack_name() {
    for args in [
        vec![
            "--policy",
            "policies/example.json",
            "--kind",
            "rcp",
            "--org-id",
            "o-exampleorg1",
            "--protect",
        ],
        vec![
            "--policy",
            "policies/example.json",
            "--kind",
            "scp",
            "--protect",
            "--stack-prefix",
            " ",
        ],
    ] {
        let out = command(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--protect"), "{args:?}");
    }
    // The default stack name is the template's usual one; another is given with --stack-prefix.
    for args in [
        vec!["--policy", "policies/example.json", "--kind", "scp", "--protect"],
        vec![
            "--policy",
            "policies/example.json",
            "--kind",
            "scp",
            "--protect",
            "--stack-prefix",
            "governance",
        ],
    ] {
        let out = command(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let err = String::from_utf8_lossy(&out.stderr);
        let stack = args
            .last()
            .filter(|a| **a != "--protect")
            .copied()
            .unwrap_or("tag-warden");
        assert!(
            err.contains(&format!(
                "guardrails: --protect: the function, role, memory table, queues, rules and stacks named `{stack}-…`"
            )),
            "{err}"
        );
    }
    // --stack-prefix means nothing without --protect.
    let out = command(&[
        "--policy",
        "policies/example.json",
        "--kind",
        "scp",
        "--stack-prefix",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_resource_in_a_rule_by_its_tag_cannot_be_taken_out_by_that_tag() {
    let policy = r#"
version: 2
rules:
  - name: prod
    resources: [secret]
    match:
      tags: { Environment: ["prod*"] }
    require:
      DataClass: { values: [confidential, restricted], default: confidential }
"#;
    for kind in [GuardrailKind::Scp, GuardrailKind::Rcp] {
        let d = docs(policy, kind);
        let prod = [("Environment", "prod"), ("DataClass", "restricted")];
        let dev = [("Environment", "dev"), ("DataClass", "restricted")];
        // Removing the scope key, or moving it out of the rule's values, from a prod secret.
        let untag = untagging("secretsmanager:UntagResource", SECRET, &["Environment"], &prod);
        assert!(denied(&d, &untag, kind), "{kind:?}: untag Environment in prod");
        let out_of_scope = tagging("secretsmanager:TagResource", SECRET, &[("Environment", "dev")], &prod);
        assert!(
            denied(&d, &out_of_scope, kind),
            "{kind:?}: Environment=dev on a prod secret"
        );
        // Within the rule's values, or on a resource the rule does not govern: allowed.
        let within = tagging(
            "secretsmanager:TagResource",
            SECRET,
            &[("Environment", "prod-eu")],
            &prod,
        );
        assert!(!denied(&d, &within, kind), "{kind:?}: prod → prod-eu");
        let elsewhere = untagging("secretsmanager:UntagResource", SECRET, &["Environment"], &dev);
        assert!(!denied(&d, &elsewhere, kind), "{kind:?}: a dev secret's Environment");
        let other_key = tagging("secretsmanager:TagResource", SECRET, &[("Owner", "x")], &prod);
        assert!(!denied(&d, &other_key, kind), "{kind:?}: another key");
        // The exempt principals are not denied.
        let mut member = untag.clone();
        member.principal = MEMBER.replace('*', "111122223333");
        assert!(!denied(&d, &member, kind), "{kind:?}: the member role");
    }
}
