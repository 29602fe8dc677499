//! template.yaml, Cargo.toml's cargo-lambda metadata and deploy/iam-policy.json agree with the
//! code and with each other: one source of truth for event names and IAM actions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_yaml::Value;
use std::collections::BTreeSet;
use tag_warden::adapters::aws::{MEMORY_ACTIONS, MEMORY_KEY, TTL_ATTRIBUTE};
use tag_warden::engine::intake::{SUPPORTED_EVENTS, SUPPORTED_TAG_CHANGES, TAG_CHANGE_DETAIL_TYPE, TAG_SOURCE};
use tag_warden::engine::policy::CREATION_EVENTS;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

fn resources(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v))
        .collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => [s.clone()].into(),
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => BTreeSet::new(),
    }
}

/// Every action in a role policy, by policy name.
fn role_actions(t: &Value, policy: &str) -> BTreeSet<String> {
    let role = &t["Resources"]["FunctionRole"]["Properties"]["Policies"];
    let doc = role
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["PolicyName"] == policy)
        .unwrap();
    doc["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

const GOVERNANCE: [&str; 10] = [
    "kms:DescribeKey",
    "kms:ListAliases",
    "kms:ListKeys",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "secretsmanager:DescribeSecret",
    "secretsmanager:ListSecrets",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
];

#[test]
fn the_role_grants_exactly_the_tag_governance_actions() {
    let t = template();
    let expected: BTreeSet<String> = GOVERNANCE.iter().map(|s| s.to_string()).collect();
    assert_eq!(role_actions(&t, "tag-governance"), expected);
    // The rest is what any Lambda needs: its log group, its failure destination. No X-Ray:
    // tracing is PassThrough (`tracing_is_pass_through_on_both_paths_and_needs_no_grant`).
    let runtime: BTreeSet<&str> = ["logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"].into();
    assert_eq!(
        role_actions(&t, "runtime"),
        runtime.iter().map(|s| s.to_string()).collect()
    );
    let policies = t["Resources"]["FunctionRole"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap();
    assert_eq!(policies.len(), 2, "no other inline policy");
    assert!(
        t["Resources"]["FunctionRole"]["Properties"]["ManagedPolicyArns"].is_null(),
        "no managed policies"
    );
    for action in role_actions(&t, "tag-governance")
        .iter()
        .chain(&role_actions(&t, "runtime"))
    {
        assert!(!action.contains('*'), "wildcard action {action}");
    }
}

#[test]
fn the_cargo_lambda_iam_policy_grants_the_same_actions() {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/iam-policy.json")).unwrap()).unwrap();
    let actions: BTreeSet<String> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
            _ => vec![],
        })
        .collect();
    assert_eq!(actions, GOVERNANCE.iter().map(|s| s.to_string()).collect());
}

#[test]
fn rule_patterns_match_exactly_the_events_the_code_handles() {
    let t = template();
    let mut covered = BTreeSet::new();
    for (name, r) in resources(&t) {
        let pattern = &r["Properties"]["EventPattern"];
        if r["Type"] != "AWS::Events::Rule" || pattern.is_null() {
            continue;
        }
        let sources = strings(&pattern["source"]);
        assert_eq!(sources.len(), 1, "{name}: one source per rule");
        let source = sources.into_iter().next().unwrap();
        if source == TAG_SOURCE {
            continue; // `the_tag_change_rule_matches_exactly_the_changes_the_code_handles`
        }
        let (_, names) = SUPPORTED_EVENTS
            .iter()
            .find(|(s, _)| *s == source)
            .unwrap_or_else(|| panic!("{name}: {source} not handled"));
        let expected: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
        assert_eq!(strings(&pattern["detail"]["eventName"]), expected, "{name}");
        assert_eq!(
            strings(&pattern["detail-type"]),
            ["AWS API Call via CloudTrail".to_string()].into(),
            "{name}"
        );
        let error_code = &pattern["detail"]["errorCode"][0]["exists"];
        assert_eq!(error_code, &Value::Bool(false), "{name}: failed calls are dropped");
        let own = own_call_filter(&name, pattern);
        assert!(
            own.trim() == "!GetAtt FunctionRole.Arn" || own.contains("iam::${AWS::AccountId}:role/${FunctionRole}"),
            "{name}: the function's own role, by its ARN: {own}"
        );
        let target = &r["Properties"]["Targets"][0];
        assert!(
            !target["RetryPolicy"].is_null() && !target["DeadLetterConfig"].is_null(),
            "{name}"
        );
        covered.insert(source);
    }
    let all: BTreeSet<String> = SUPPORTED_EVENTS.iter().map(|(s, _)| s.to_string()).collect();
    assert_eq!(covered, all, "a rule per handled source");
}

#[test]
fn the_function_is_built_and_configured_for_lambda() {
    let t = template();
    let f = &t["Resources"]["TagWardenFunction"];
    assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
    let p = &f["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(p["MemorySize"], 128);
    assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(p["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(t["Parameters"]["Architecture"]["Default"], "arm64");
    assert_eq!(
        t["Parameters"]["Mode"]["Default"], "report",
        "safe rollout starts in report mode"
    );
    let schedule = resources(&t)
        .into_iter()
        .find(|(_, r)| !r["Properties"]["ScheduleExpression"].is_null());
    assert!(schedule.is_some(), "a scheduled reconcile rule");
    for output in [
        "FunctionArn",
        "FailureQueueUrl",
        "SecretsManagerRuleArn",
        "KmsRuleArn",
        "ReconcileRuleArn",
    ] {
        assert!(!t["Outputs"][output].is_null(), "{output}");
    }
}

#[test]
fn cargo_lambda_deploy_makes_the_same_function() {
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let deploy = &manifest["package"]["metadata"]["lambda"]["deploy"];
    let props = &template()["Resources"]["TagWardenFunction"]["Properties"];
    assert_eq!(
        deploy["memory"].as_integer().unwrap(),
        props["MemorySize"].as_i64().unwrap()
    );
    assert_eq!(
        deploy["timeout"].as_integer().unwrap(),
        props["Timeout"].as_i64().unwrap()
    );
    assert_eq!(deploy["runtime"].as_str().unwrap(), props["Runtime"].as_str().unwrap());
    assert_eq!(
        deploy["tracing"].as_str().unwrap().to_lowercase(),
        props["Tracing"].as_str().unwrap().to_lowercase()
    );
    let env = deploy["env"].as_table().unwrap();
    assert_eq!(env["TAG_WARDEN_MODE"].as_str(), Some("report"));
    let file = env["TAG_WARDEN_POLICY_FILE"].as_str().unwrap();
    assert!(root().join(file).is_file(), "{file} is bundled by `include`");
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    tag_warden::engine::policy::parse(&text).unwrap();
    assert_eq!(
        t_default(&template(), "PolicyFile"),
        std::path::Path::new(file).file_name().unwrap().to_str().unwrap()
    );
}

fn t_default(t: &Value, param: &str) -> String {
    t["Parameters"][param]["Default"].as_str().unwrap().to_owned()
}

#[test]
fn the_standalone_rule_patterns_for_cargo_lambda_users_match_the_template() {
    let t = template();
    for (file, rule) in [
        ("deploy/secretsmanager-rule.json", "SecretsManagerRule"),
        ("deploy/kms-rule.json", "KmsRule"),
    ] {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root().join(file)).unwrap()).unwrap();
        let mut from_template: serde_json::Value =
            serde_json::to_value(&t["Resources"][rule]["Properties"]["EventPattern"]).unwrap();
        // The template's own role is a !GetAtt; the file has placeholders for the same ARN.
        let but = &doc["detail"]["$or"][2]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"][0]["anything-but"];
        assert_eq!(but, "arn:PARTITION:iam::ACCOUNT_ID:role/ROLE_NAME", "{file}");
        from_template["detail"]["$or"][2] = doc["detail"]["$or"][2].clone();
        assert_eq!(doc, from_template, "{file} differs from {rule}");
    }
}

/// The own-call filter of a CloudTrail rule, checked: `$or` of the creation call (judged
/// whoever made it), no issuer role (users, the root, the console), and an issuer role other
/// than tag-warden's; what that last one excludes, as YAML.
fn own_call_filter(name: &str, pattern: &Value) -> String {
    let alternatives = pattern["detail"]["$or"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{name}: no $or"));
    assert_eq!(alternatives.len(), 3, "{name}");
    let creations = strings(&alternatives[0]["eventName"]);
    assert!(!creations.is_empty(), "{name}");
    assert!(
        creations.iter().all(|c| CREATION_EVENTS.contains(&c.as_str())),
        "{name}: {creations:?}"
    );
    let issuer = |a: &Value| a["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"][0].clone();
    assert_eq!(issuer(&alternatives[1])["exists"], Value::Bool(false), "{name}");
    let but = issuer(&alternatives[2])["anything-but"].clone();
    assert!(!but.is_null(), "{name}");
    serde_yaml::to_string(&but).unwrap()
}

/// A rule's pattern with the last alternative of its own-call filter (which role is its own)
/// left out, for comparing rules that differ only there.
fn but_for_whose(pattern: &Value) -> Value {
    let mut p = pattern.clone();
    if let Some(alternatives) = p["detail"]["$or"].as_sequence_mut() {
        alternatives.pop();
    }
    p
}

#[test]
fn the_tag_change_rule_matches_exactly_the_changes_the_code_handles() {
    let t = template();
    let rule = &t["Resources"]["TagChangeRule"]["Properties"];
    let pattern = &rule["EventPattern"];
    assert_eq!(strings(&pattern["source"]), [TAG_SOURCE.to_string()].into());
    assert_eq!(
        strings(&pattern["detail-type"]),
        [TAG_CHANGE_DETAIL_TYPE.to_string()].into()
    );
    let services: BTreeSet<String> = SUPPORTED_TAG_CHANGES.iter().map(|(s, _, _)| s.to_string()).collect();
    let types: BTreeSet<String> = SUPPORTED_TAG_CHANGES.iter().map(|(_, t, _)| t.to_string()).collect();
    assert_eq!(strings(&pattern["detail"]["service"]), services);
    assert_eq!(strings(&pattern["detail"]["resource-type"]), types);
    let target = &rule["Targets"][0];
    assert!(!target["RetryPolicy"].is_null() && !target["DeadLetterConfig"].is_null());
    assert!(!t["Resources"]["TagChangeRulePermission"].is_null());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/tag-change-rule.json")).unwrap()).unwrap();
    assert_eq!(
        doc,
        serde_json::to_value(pattern).unwrap(),
        "deploy/tag-change-rule.json differs"
    );
}

#[test]
fn the_memory_table_is_on_demand_encrypted_recoverable_retained_and_expires_gone_resources() {
    let t = template();
    let table = &t["Resources"]["MemoryTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["Condition"], "MemoryEnabled", "the Memory parameter turns it off");
    assert_eq!(
        (&table["DeletionPolicy"], &table["UpdateReplacePolicy"]),
        (&"Retain".into(), &"Retain".into())
    );
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(p["KeySchema"][0]["AttributeName"], MEMORY_KEY);
    assert_eq!(p["KeySchema"].as_sequence().unwrap().len(), 1, "no sort key");
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(p["TimeToLiveSpecification"]["AttributeName"], TTL_ATTRIBUTE);
    assert_eq!(t["Parameters"]["Memory"]["Default"], "enabled");
    let env = serde_yaml::to_string(&t["Resources"]["TagWardenFunction"]["Properties"]["Environment"]).unwrap();
    assert!(
        env.contains("TAG_WARDEN_MEMORY_TABLE") && env.contains("MemoryTable"),
        "{env}"
    );
}

#[test]
fn the_memory_policy_grants_exactly_the_calls_the_adapter_makes_on_the_table_only() {
    let t = template();
    let policy = &t["Resources"]["MemoryPolicy"];
    assert_eq!(policy["Condition"], "MemoryEnabled");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    let expected: BTreeSet<String> = MEMORY_ACTIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(strings(&statements[0]["Action"]), expected);
    let resource = serde_yaml::to_string(&statements[0]["Resource"]).unwrap();
    assert!(resource.contains("MemoryTable.Arn"), "{resource}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/iam-memory-policy.json")).unwrap()).unwrap();
    let file: BTreeSet<String> = doc["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(file, expected, "deploy/iam-memory-policy.json differs");
    assert!(doc["Statement"][0]["Resource"].as_str().unwrap().contains(":table/"));
}

/// A value as YAML text (`!Ref X` stays a tag, as serde_yaml reads it).
fn yaml(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap().trim().to_owned()
}

fn member_stack() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("deploy/member.yaml")).unwrap()).unwrap()
}

/// Every action of every statement of a role's inline policies.
fn inline_actions(role: &Value) -> BTreeSet<String> {
    role["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_sequence().unwrap().iter())
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

const ORGANIZATION_RESOURCES: [&str; 13] = [
    "CentralEventBus",
    "CentralEventBusPolicy",
    "CentralSecretsManagerRule",
    "CentralKmsRule",
    "CentralTagChangeRule",
    "CentralSecretsManagerRulePermission",
    "CentralKmsRulePermission",
    "CentralTagChangeRulePermission",
    "SweepQueue",
    "SweepDeadLetterQueue",
    "SweepQueueMapping",
    "FleetPolicy",
    "SweepDeadLetterAlarm",
];

#[test]
fn organization_mode_is_parameters_with_defaults_and_resources_made_only_in_that_mode() {
    let t = template();
    for p in [
        "MemberRoleName",
        "OrganizationId",
        "Accounts",
        "Regions",
        "SweepBatchSize",
    ] {
        assert!(
            !t["Parameters"][p]["Default"].is_null(),
            "{p}: a single-account deployment needs no new parameter"
        );
    }
    assert_eq!(t_default(&t, "MemberRoleName"), "", "organization mode is opt-in");
    for r in ORGANIZATION_RESOURCES {
        assert_eq!(t["Resources"][r]["Condition"], "OrganizationMode", "{r}");
    }
    let policy = &t["Resources"]["CentralEventBusPolicy"]["Properties"]["Statement"];
    assert_eq!(policy["Action"], "events:PutEvents");
    assert!(
        !policy["Condition"]["StringEquals"]["aws:PrincipalOrgID"].is_null(),
        "the bus admits the organization only"
    );
    let env = &t["Resources"]["TagWardenFunction"]["Properties"]["Environment"]["Variables"];
    for v in [
        "TAG_WARDEN_MEMBER_ROLE",
        "TAG_WARDEN_ACCOUNTS",
        "TAG_WARDEN_REGIONS",
        "TAG_WARDEN_SWEEP_QUEUE_URL",
        "TAG_WARDEN_SWEEP_DLQ_URL",
    ] {
        assert!(!env[v].is_null(), "{v}");
    }
    // tag-warden dead-letters a cell on its last receive: the same count as the redrive policy.
    let receives = env["TAG_WARDEN_SWEEP_MAX_RECEIVES"].as_str().unwrap();
    let redrive = &t["Resources"]["SweepQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"];
    assert_eq!(receives, redrive.as_u64().unwrap().to_string());
    let mapping = &t["Resources"]["SweepQueueMapping"]["Properties"];
    assert_eq!(
        strings(&mapping["FunctionResponseTypes"]),
        ["ReportBatchItemFailures".to_string()].into()
    );
    // Visibility at least 6 × the function's timeout, as AWS advises for SQS event sources.
    let timeout = t["Resources"]["TagWardenFunction"]["Properties"]["Timeout"]
        .as_u64()
        .unwrap();
    let visibility = t["Resources"]["SweepQueue"]["Properties"]["VisibilityTimeout"]
        .as_u64()
        .unwrap();
    assert!(visibility >= 6 * timeout, "{visibility} < 6 × {timeout}");
    let fleet = &t["Resources"]["FleetPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let actions: BTreeSet<String> = fleet
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    let expected: BTreeSet<String> = [
        "organizations:DescribeOrganization",
        "organizations:ListAccounts",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
        "sts:AssumeRole",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(actions, expected);
    let assume = fleet
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "sts:AssumeRole")
        .unwrap();
    let resource = serde_yaml::to_string(&assume["Resource"]).unwrap();
    assert!(
        resource.contains(":role/${MemberRoleName}"),
        "only the member role: {resource}"
    );
    assert_eq!(
        yaml(&assume["Condition"]["StringEquals"]["aws:ResourceOrgID"]),
        "!Ref OrganizationId",
        "only inside the organization"
    );
    // Only the function's role may send a cell (which names an account to act in).
    let queue = &t["Resources"]["SweepQueuePolicy"]["Properties"];
    assert_eq!(yaml(&queue["Queues"][0]), "!Ref SweepQueue");
    let deny = &queue["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (deny["Effect"].as_str(), deny["Action"].as_str()),
        (Some("Deny"), Some("sqs:SendMessage"))
    );
    assert_eq!(deny["Principal"], "*");
    assert_eq!(
        yaml(&deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]),
        "!GetAtt FunctionRole.Arn"
    );
}

#[test]
fn the_central_bus_rules_are_the_default_bus_rules_that_also_drop_member_role_sessions() {
    let t = template();
    for (central, own) in [
        ("CentralSecretsManagerRule", "SecretsManagerRule"),
        ("CentralKmsRule", "KmsRule"),
        ("CentralTagChangeRule", "TagChangeRule"),
    ] {
        let c = &t["Resources"][central]["Properties"];
        assert_eq!(yaml(&c["EventBusName"]), "!Ref CentralEventBus", "{central}");
        let pattern = &c["EventPattern"];
        let expected = &t["Resources"][own]["Properties"]["EventPattern"];
        if !pattern["detail"]["$or"].is_null() {
            let own_calls = own_call_filter(central, pattern);
            assert!(
                own_calls.contains("iam::*:role/${MemberRoleName}")
                    && own_calls.contains("iam::${AWS::AccountId}:role/${FunctionRole}"),
                "{central}: the member role in every account, and the function's role: {own_calls}"
            );
        }
        assert_eq!(
            but_for_whose(pattern),
            but_for_whose(expected),
            "{central} differs from {own}"
        );
    }
}

#[test]
fn the_member_stack_trusts_only_the_central_role_with_the_same_tag_actions_and_nothing_more() {
    let m = member_stack();
    let role = &m["Resources"]["MemberRole"];
    assert_eq!(
        role["Condition"], "MakesTheRole",
        "a global role, made in one region of the StackSet"
    );
    let trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    // The central function, and the operators the deployer lists (if any), both inside the
    // organization only.
    assert_eq!(trust.len(), 2);
    assert_eq!(yaml(&trust[0]["Principal"]["AWS"]), "!Ref CentralFunctionRoleArn");
    assert_eq!(trust[0]["Action"], "sts:AssumeRole");
    assert_eq!(
        yaml(&trust[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"]),
        "!Ref OrganizationId"
    );
    let operators = yaml(&trust[1]);
    for part in [
        "HasOperators",
        "Principal",
        "!Ref OperatorPrincipals",
        "aws:PrincipalOrgID: !Ref OrganizationId",
        "!Ref AWS::NoValue",
    ] {
        assert!(operators.contains(part), "{part} in {operators}");
    }
    assert_eq!(
        m["Parameters"]["OperatorPrincipals"]["Default"], "",
        "no operator unless listed"
    );
    let expected: BTreeSet<String> = GOVERNANCE.iter().map(|s| s.to_string()).collect();
    assert_eq!(inline_actions(role), expected);
    assert_eq!(
        inline_actions(role),
        role_actions(&template(), "tag-governance"),
        "the same as the central role"
    );
    let text = std::fs::read_to_string(root().join("deploy/member.yaml")).unwrap();
    for never in [
        "GetSecretValue",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "\"*:*\"",
        "iam:PassRole",
    ] {
        assert!(!text.contains(never), "{never}");
    }
    let forwarding = &m["Resources"]["ForwardingRole"];
    assert_eq!(inline_actions(forwarding), ["events:PutEvents".to_string()].into());
    let statement = &forwarding["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(yaml(&statement["Resource"]), "!Ref CentralEventBusArn");
}

#[test]
fn the_member_stack_forwards_exactly_the_events_the_central_rules_take_but_not_its_own_calls() {
    let m = member_stack();
    let t = template();
    for (forward, central) in [
        ("ForwardSecretsManagerRule", "SecretsManagerRule"),
        ("ForwardKmsRule", "KmsRule"),
        ("ForwardTagChangeRule", "TagChangeRule"),
    ] {
        let f = &m["Resources"][forward]["Properties"];
        let target = &f["Targets"][0];
        assert_eq!(yaml(&target["Arn"]), "!Ref CentralEventBusArn", "{forward}");
        assert_eq!(yaml(&target["RoleArn"]), "!GetAtt ForwardingRole.Arn", "{forward}");
        let pattern = &f["EventPattern"];
        let expected = &t["Resources"][central]["Properties"]["EventPattern"];
        if !pattern["detail"]["$or"].is_null() {
            let own = own_call_filter(forward, pattern);
            assert!(
                own.contains("iam::${AWS::AccountId}:role/${MemberRoleName}"),
                "{forward}: this account's member role, by its ARN: {own}"
            );
        }
        assert_eq!(
            but_for_whose(pattern),
            but_for_whose(expected),
            "{forward} differs from {central}"
        );
    }
}

/// A `!Sub` (or `!If`, ...) value's arguments.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

/// The dashboard's body as JSON, with the stack's substitutions made: the default metrics
/// namespace, placeholders for names CloudFormation fills in, and the organization-mode
/// variable empty (as outside that mode).
fn dashboard(t: &Value) -> serde_json::Value {
    let sub = untag(&t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]);
    let body = sub[0].as_str().unwrap();
    let namespace = t["Parameters"]["MetricsNamespace"]["Default"].as_str().unwrap();
    let text = body
        .replace("${MetricsNamespace}", namespace)
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::StackName}", "stack")
        .replace("${TagWardenFunction}", "fn")
        .replace("${FailureQueue.QueueName}", "failures")
        .replace("${SweepDeadLetterMetric}", "");
    assert!(!text.contains("${"), "every substitution is known: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_metric_the_dashboard_and_alarms_use_is_one_the_code_emits() {
    use tag_warden::config::DEFAULT_NAMESPACE;
    use tag_warden::view::metrics::{Dimensions, Metric};
    let emitted = |dims: &[&str], name: &str| {
        Dimensions::named(dims).is_some_and(|d| Metric::named(name).is_some_and(|m| d.emitted().contains(&m)))
    };
    let t = template();
    assert_eq!(t["Parameters"]["MetricsNamespace"]["Default"], DEFAULT_NAMESPACE);
    let d = dashboard(&t);
    let mut plotted = Vec::new();
    for w in d["widgets"].as_array().unwrap() {
        for m in w["properties"]["metrics"].as_array().into_iter().flatten() {
            let m = m.as_array().unwrap();
            if let Some(expr) = m[0]["expression"].as_str() {
                // SEARCH('{Namespace,Dim,...} MetricName="Name"', 'Sum', period)
                let schema = &expr[expr.find('{').unwrap() + 1..expr.find('}').unwrap()];
                let mut parts = schema.split(',');
                let ns = parts.next().unwrap();
                let dims: Vec<&str> = parts.collect();
                let name = expr.split("MetricName=\"").nth(1).unwrap().split('"').next().unwrap();
                plotted.push((
                    ns.to_owned(),
                    dims.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    name.to_owned(),
                ));
                continue;
            }
            let strings: Vec<&str> = m.iter().filter_map(|v| v.as_str()).collect();
            let (ns, name) = (strings[0], strings[1]);
            let dims: Vec<String> = strings[2..].chunks(2).map(|p| p[0].to_owned()).collect();
            plotted.push((ns.to_owned(), dims, name.to_owned()));
        }
    }
    let ours: Vec<_> = plotted.iter().filter(|(ns, _, _)| ns == DEFAULT_NAMESPACE).collect();
    assert!(ours.len() >= 10, "{plotted:?}");
    for (_, dims, name) in &ours {
        let dims: Vec<&str> = dims.iter().map(String::as_str).collect();
        assert!(
            Dimensions::named(&dims).is_some(),
            "{name} plotted under {dims:?}, which is not written"
        );
        assert!(emitted(&dims, name), "{name} under {dims:?} is not emitted");
    }
    for wanted in [
        "Violations",
        "Remediated",
        "Errors",
        "Throttled",
        "EventLatency",
        "Contested",
    ] {
        assert!(ours.iter().any(|(_, _, n)| n == wanted), "the dashboard plots {wanted}");
    }
    let text = serde_json::to_string(&d).unwrap();
    assert!(
        text.contains(r#""stat":"p50""#) && text.contains(r#""stat":"p99""#),
        "EventLatency's p50 and p99"
    );
    // The latency alarm: the p99 of an emitted metric, in seconds, against the parameter.
    let latency = &t["Resources"]["EventLatencyAlarm"]["Properties"];
    let stat = &latency["Metrics"][0]["MetricStat"];
    assert_eq!(stat["Stat"], "p99");
    assert!(emitted(&[], stat["Metric"]["MetricName"].as_str().unwrap()));
    assert_eq!(yaml(&stat["Metric"]["Namespace"]), "!Ref MetricsNamespace");
    assert_eq!(latency["Metrics"][1]["Expression"], "latency / 1000");
    assert_eq!(yaml(&latency["Threshold"]), "!Ref EventLatencyAlarmSeconds");
    assert_eq!(t["Parameters"]["EventLatencyAlarmSeconds"]["Default"], 300);
    assert!(
        yaml(&t["Resources"]["TagWardenFunction"]["Properties"]["ReservedConcurrentExecutions"])
            .contains("ReservedConcurrency")
    );
    assert!(ours.iter().any(|(_, d, _)| d == &["Kind", "Rule"]), "per rule");
    assert!(ours.iter().any(|(_, d, _)| d == &["Kind"]), "per kind");
    let others: BTreeSet<String> = plotted
        .iter()
        .filter(|(ns, _, _)| ns != DEFAULT_NAMESPACE)
        .map(|(ns, _, n)| format!("{ns}/{n}"))
        .collect();
    assert_eq!(
        others,
        [
            "AWS/Lambda/Duration",
            "AWS/Lambda/Errors",
            "AWS/SQS/ApproximateNumberOfMessagesVisible"
        ]
        .map(str::to_owned)
        .into(),
        "duration, failed invocations and dead-letter depth"
    );
    // The errors alarm watches an emitted total, to the alarm topic.
    let alarm = &t["Resources"]["ErrorsAlarm"]["Properties"];
    assert_eq!(yaml(&alarm["Namespace"]), "!Ref MetricsNamespace");
    assert!(emitted(&[], alarm["MetricName"].as_str().unwrap()));
    assert!(alarm.get("Dimensions").is_none(), "the totals");
    assert!(yaml(&alarm["AlarmActions"]).contains("AlarmTopicArn"));
    // Organization mode adds the sweep's dead-letter queue to the dashboard.
    let vars = untag(&t["Resources"]["Dashboard"]["Properties"]["DashboardBody"])[1].clone();
    assert!(yaml(&vars["SweepDeadLetterMetric"]).contains("SweepDeadLetterQueue.QueueName"));
}

#[test]
fn findings_go_to_the_named_bus_only_and_security_hub_is_one_import_and_one_lookup() {
    let t = template();
    let vars = &t["Resources"]["TagWardenFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(yaml(&vars["TAG_WARDEN_FINDINGS_BUS"]), "!Ref FindingsBus");
    assert_eq!(yaml(&vars["TAG_WARDEN_METRICS_NAMESPACE"]), "!Ref MetricsNamespace");
    assert!(yaml(&vars["TAG_WARDEN_SECURITY_HUB"]).contains("SecurityHubEnabled"));
    assert_eq!(
        t["Parameters"]["FindingsBus"]["Default"], "",
        "no finding events unless asked"
    );
    assert_eq!(t["Parameters"]["SecurityHub"]["Default"], "disabled");

    let findings = &t["Resources"]["FindingsPolicy"];
    assert_eq!(findings["Condition"], "HasFindingsBus");
    let statements = findings["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Action"], "events:PutEvents");
    let resource = yaml(&statements[0]["Resource"]);
    assert!(
        resource.contains("!Ref FindingsBus") && resource.contains("event-bus/${FindingsBus}"),
        "{resource}"
    );
    assert!(!resource.contains('*'), "that bus only: {resource}");

    let hub = &t["Resources"]["SecurityHubPolicy"];
    assert_eq!(hub["Condition"], "SecurityHubEnabled");
    let actions: BTreeSet<String> = hub["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    let expected: BTreeSet<String> = ["securityhub:BatchImportFindings", "securityhub:GetFindings"]
        .map(str::to_owned)
        .into();
    assert_eq!(actions, expected);
    assert!(yaml(&hub["Properties"]["PolicyDocument"]).contains("product/${AWS::AccountId}/default"));

    // Organization mode: the member role imports in its own account, with the same actions.
    let m = member_stack();
    let member = &m["Resources"]["MemberSecurityHubPolicy"];
    assert_eq!(member["Condition"], "MakesTheSecurityHubPolicy");
    assert_eq!(yaml(&member["Properties"]["RoleName"]), "!Ref MemberRole");
    assert_eq!(
        yaml(&member["Properties"]["PolicyDocument"]),
        yaml(&hub["Properties"]["PolicyDocument"]),
        "the same statements as the central role's"
    );
}

/// deploy/iam-findings-policy.json (for `cargo lambda deploy`) holds the template's finding
/// statements, Sid for Sid: the same action on the same resource, with placeholders for what
/// CloudFormation substitutes.
#[test]
fn the_cargo_lambda_findings_policy_is_the_templates() {
    let t = template();
    let mut from_template = BTreeSet::new();
    for name in ["FindingsPolicy", "SecurityHubPolicy"] {
        for s in t["Resources"][name]["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
        {
            // The bus given by name (the `!If`'s second branch); an ARN is used as given.
            let resource = match &s["Resource"] {
                Value::Tagged(when) if when.tag == "If" => &when.value[2],
                other => other,
            };
            let resource = untag(resource)
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {}", yaml(resource)))
                .replace("${AWS::Partition}", "PARTITION")
                .replace("${AWS::Region}", "REGION")
                .replace("${AWS::AccountId}", "ACCOUNT_ID")
                .replace("${FindingsBus}", "BUS_NAME");
            from_template.insert((
                s["Sid"].as_str().unwrap().to_owned(),
                s["Action"].as_str().unwrap().to_owned(),
                resource,
            ));
        }
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/iam-findings-policy.json")).unwrap())
            .unwrap();
    let from_file: BTreeSet<(String, String, String)> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow");
            (
                s["Sid"].as_str().unwrap().to_owned(),
                s["Action"].as_str().unwrap().to_owned(),
                s["Resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(from_template.len(), 3);
    assert_eq!(from_file, from_template, "deploy/iam-findings-policy.json differs");
}
