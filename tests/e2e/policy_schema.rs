//! The policy's JSON Schema: every policy in `policies/` validates against it (checked with the `jsonschema`
//! package of the repository's .venv, draft 2020-12), while documents the loader rejects for
//! their shape are rejected by the schema too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Validates each document (JSON or YAML text by the file name) with Python's jsonschema;
/// returns the names of those that fail.
fn invalid(docs: &[(String, String)]) -> Vec<String> {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: run `make test` (it creates .venv)",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in docs {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let script = r#"
import json, pathlib, sys, yaml
from jsonschema import Draft202012Validator
schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
for p in sorted(pathlib.Path(sys.argv[2]).iterdir()):
    doc = yaml.safe_load(p.read_text()) if p.suffix in (".yaml", ".yml") else json.loads(p.read_text())
    if list(v.iter_errors(doc)):
        print(p.name)
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(root().join("policy.schema.json"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

// That the committed schema is what the binary prints is checked in the offline tier
// (`cli_offline::the_committed_schema_is_what_the_binary_prints`), where plain `cargo test`
// runs it.

#[test]
fn every_shipped_policy_validates_and_malformed_ones_do_not() {
    let mut docs: Vec<(String, String)> = std::fs::read_dir(root().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        // Cases files (`*.cases.yaml`) are tests of a policy, `*.guardrails.*` what `tag-warden
        // guardrails` makes of one, and `*.tag-policy.json` an AWS Organizations tag policy
        // (what `tag-warden import-tag-policy` reads): not tag-warden policies.
        .filter(|p| {
            let name = p.to_string_lossy();
            !name.contains(".cases.") && !name.contains(".guardrails.") && !name.ends_with(".tag-policy.json")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    assert!(docs.len() >= 2);
    let bad = [
        (
            "bad-mode.json",
            r#"{"mode":"loud","rules":[{"name":"r","forbid":["a"]}]}"#,
        ),
        ("bad-field.json", r#"{"rules":[{"name":"r","forbid":["a"],"extra":1}]}"#),
        (
            "bad-account.yaml",
            "version: 2\nrules:\n  - name: r\n    match: { accounts: ['12'] }\n    forbid: [a]\n",
        ),
        ("bad-aws-key.json", r#"{"rules":[{"name":"r","require":{"aws:x":{}}}]}"#),
    ];
    docs.extend(bad.iter().map(|(n, t)| (n.to_string(), t.to_string())));
    let mut expected: Vec<String> = bad.iter().map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(invalid(&docs), expected);
}
