//! Every action the code can call is granted on each deploy path, and every grant is used: the
//! actions are read from the adapters (each SDK call names its operation, `"service:Action"`,
//! for its errors) and compared, both ways, with the three role documents: the SAM function
//! role (template.yaml), the member role (deploy/member.yaml) and the role `cargo lambda
//! deploy` is given (deploy/iam-*.json).

use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use tag_warden::domain::ResourceKind;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The services whose resources tag-warden governs, as each kind's module names them.
fn kind_services() -> Vec<&'static str> {
    ResourceKind::ALL.map(|k| k.spec().service.prefix()).to_vec()
}

/// Every service the adapters call: the kinds' and those of memory, accounts, queues and
/// findings.
fn services() -> Vec<&'static str> {
    let mut all = kind_services();
    all.extend(["dynamodb", "sts", "organizations", "sqs", "events", "securityhub"]);
    all
}

/// The operations the adapters call, as IAM names the action each needs: every
/// `"service:Action"` literal in `src/adapters/aws/`.
fn adapter_operations() -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("src/adapters/aws")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            let Some((service, action)) = piece.split_once(':') else {
                continue;
            };
            if services().contains(&service) && !action.is_empty() && action.chars().all(|c| c.is_ascii_alphanumeric())
            {
                ops.insert(piece.to_owned());
            }
        }
    }
    ops
}

/// The IAM action an operation is authorized as; none for a call that needs no permission.
fn iam_action(op: &str) -> Option<String> {
    match op {
        // AWS: "No permissions are required to perform this operation" (STS API Reference).
        "sts:GetCallerIdentity" => None,
        // SQS authorizes SendMessageBatch as sqs:SendMessage (no action of its own in IAM).
        "sqs:SendMessageBatch" => Some("sqs:SendMessage".to_owned()),
        other => Some(other.to_owned()),
    }
}

fn needed() -> BTreeSet<String> {
    adapter_operations().iter().filter_map(|op| iam_action(op)).collect()
}

/// Called only by an operator's CLI, never by the function: `import-tag-policy
/// --from-organizations`.
const CLI_ONLY: [&str; 1] = ["organizations:DescribeEffectivePolicy"];

fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => [s.clone()].into(),
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => BTreeSet::new(),
    }
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap()
}

/// The actions of a policy document's statements.
fn actions_of(doc: &Value) -> BTreeSet<String> {
    doc["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

/// Every action granted to `role` in a template: its inline policies and the
/// `AWS::IAM::RolePolicy` resources attached to it.
fn granted(t: &Value, role: &str) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    let res = t["Resources"].as_mapping().unwrap();
    for p in res[role]["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        actions.extend(actions_of(&p["PolicyDocument"]));
    }
    for (_, r) in res {
        if r["Type"] == "AWS::IAM::RolePolicy"
            && serde_yaml::to_string(&r["Properties"]["RoleName"])
                .unwrap()
                .contains(role)
        {
            actions.extend(actions_of(&r["Properties"]["PolicyDocument"]));
        }
    }
    actions
}

/// What the runtime itself needs of the function role beside the code's calls: its logs (the
/// Lambda service writes them), the failure destination (Lambda sends to it), and the sweep
/// queue's event source mapping (Lambda polls it: ReceiveMessage, DeleteMessage,
/// GetQueueAttributes).
const LAMBDA_RUNTIME: [&str; 4] = [
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "sqs:GetQueueAttributes",
];

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_adapters_name_every_call_they_make() {
    // The scan must see the calls it judges: one per SDK call site of each service at least.
    let ops = adapter_operations();
    for op in [
        "secretsmanager:TagResource",
        "kms:ListAliases",
        "dynamodb:UpdateItem",
        "sts:AssumeRole",
        "organizations:DescribeOrganization",
        "sqs:ReceiveMessage",
        "events:PutEvents",
        "securityhub:GetFindings",
    ] {
        assert!(ops.contains(op), "{op} not found among {ops:?}");
    }
    let sources: String = std::fs::read_dir(root().join("src/adapters/aws"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let sends = sources.matches(".send()").count();
    let named = sources.matches("from_sdk(").count() + sources.matches("\"sts:GetCallerIdentity\"").count();
    assert!(
        named >= sends,
        "{sends} SDK calls, {named} named operations: name each call's operation"
    );
}

#[test]
fn the_sam_function_role_grants_what_the_function_calls_and_nothing_else() {
    let t = yaml("template.yaml");
    let granted = granted(&t, "FunctionRole");
    let cli_only = set(&CLI_ONLY);
    let mut expected: BTreeSet<String> = needed().difference(&cli_only).cloned().collect();
    expected.extend(set(&LAMBDA_RUNTIME));
    let missing: Vec<_> = expected.difference(&granted).collect();
    let unused: Vec<_> = granted.difference(&expected).collect();
    assert!(missing.is_empty(), "called but not granted: {missing:?}");
    assert!(unused.is_empty(), "granted but never called: {unused:?}");
}

#[test]
fn the_member_role_grants_what_is_called_in_a_member_account_and_nothing_else() {
    let t = yaml("deploy/member.yaml");
    let granted = granted(&t, "MemberRole");
    // In a member account tag-warden reads and tags (the kinds' stores) and imports findings.
    let expected: BTreeSet<String> = needed()
        .into_iter()
        .filter(|a| {
            kind_services()
                .into_iter()
                .chain(["securityhub"])
                .any(|p| a.starts_with(&format!("{p}:")))
        })
        .collect();
    assert_eq!(granted, expected, "the member role's grants, both ways");
}

#[test]
fn the_cargo_lambda_role_grants_what_one_account_calls_and_nothing_else() {
    // `cargo lambda deploy` makes a single-account function: no organization, no sweep queue,
    // no failure queue (docs/deploy.md says what this path lacks). Its logs come from the
    // AWSLambdaBasicExecutionRole managed policy the docs attach.
    let mut granted = BTreeSet::new();
    for file in [
        "deploy/iam-policy.json",
        "deploy/iam-memory-policy.json",
        "deploy/iam-findings-policy.json",
    ] {
        let doc: Json = serde_json::from_str(&std::fs::read_to_string(root().join(file)).unwrap()).unwrap();
        let doc: Value = serde_yaml::to_value(&doc).unwrap();
        granted.extend(actions_of(&doc));
    }
    let single_account: BTreeSet<String> = needed()
        .into_iter()
        .filter(|a| !["sts:", "organizations:", "sqs:"].iter().any(|p| a.starts_with(p)))
        .collect();
    assert_eq!(granted, single_account, "deploy/iam-*.json, both ways");
}

#[test]
fn the_hand_made_documents_name_no_partition() {
    // IAM has no partition variable outside CloudFormation: the documents say PARTITION, filled
    // in with ACCOUNT_ID (docs/deploy.md), so that they work in aws, aws-cn and aws-us-gov.
    for entry in std::fs::read_dir(root().join("deploy")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("arn:aws:"), "{}: write arn:PARTITION:", path.display());
        }
    }
}

#[test]
fn tracing_is_pass_through_on_both_paths_and_needs_no_grant() {
    // Lambda refuses a function with active tracing whose role lacks xray:PutTraceSegments and
    // xray:PutTelemetryRecords (and `cargo lambda deploy --iam-role` adds nothing to a role it
    // is given). The binary emits no segments: PassThrough on both paths, no X-Ray grant.
    let t = yaml("template.yaml");
    assert_eq!(
        t["Resources"]["TagWardenFunction"]["Properties"]["Tracing"],
        "PassThrough"
    );
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    assert_eq!(
        manifest["package"]["metadata"]["lambda"]["deploy"]["tracing"].as_str(),
        Some("passthrough")
    );
    assert!(granted(&t, "FunctionRole").iter().all(|a| !a.starts_with("xray:")));
}

/// A statement's `Resource`, as text (`!Sub` unwrapped), or its list.
fn resources_of(statement: &Value) -> BTreeSet<String> {
    match &statement["Resource"] {
        Value::Tagged(t) => strings(&t.value),
        other => strings(other),
    }
}

/// Every statement of `role`'s inline policies in a template.
fn statements(t: &Value, role: &str) -> Vec<Value> {
    t["Resources"][role]["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn each_kinds_tag_grants_are_kept_to_its_own_arns() {
    // Least privilege: a kind's TagResource and UntagResource are granted on that kind's
    // resources in the account only (the pattern its module gives), on every path.
    let t = yaml("template.yaml");
    let member = yaml("deploy/member.yaml");
    let json: Json =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/iam-policy.json")).unwrap()).unwrap();
    let cargo_lambda: Vec<Value> = serde_yaml::to_value(&json).unwrap()["Statement"]
        .as_sequence()
        .cloned()
        .unwrap();
    let paths = [
        (
            "template.yaml FunctionRole",
            statements(&t, "FunctionRole"),
            ("${AWS::Partition}", "${AWS::AccountId}"),
        ),
        (
            "deploy/member.yaml MemberRole",
            statements(&member, "MemberRole"),
            ("${AWS::Partition}", "${AWS::AccountId}"),
        ),
        ("deploy/iam-policy.json", cargo_lambda, ("PARTITION", "ACCOUNT_ID")),
    ];
    for (path, statements, (partition, account)) in &paths {
        for kind in ResourceKind::ALL {
            let spec = kind.spec();
            let granting: Vec<&Value> = statements
                .iter()
                .filter(|s| {
                    let acts = strings(&s["Action"]);
                    acts.contains(spec.iam.tag) || acts.contains(spec.iam.untag)
                })
                .collect();
            assert!(!granting.is_empty(), "{path}: {kind}'s tag actions are granted");
            for s in granting {
                assert_eq!(
                    resources_of(s),
                    set(&[&spec.arn_pattern(partition, account)]),
                    "{path}: {kind}"
                );
            }
        }
    }
}
