//! The resource policies of template.yaml (the queues, the memory table), resolved for given
//! parameters and evaluated the way IAM evaluates them, request by request: who may plant an
//! event or a cell, write memory, or purge and reconfigure what the function relies on. Each
//! test is a row of docs/security.md's threat model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::guardrails::{arn_like, like};
use serde_json::{json, Value as Json};
use serde_yaml::Value;
use std::collections::BTreeMap;

const ACCOUNT: &str = "123456789012";
const FUNCTION_ROLE: &str = "arn:aws:iam::123456789012:role/tag-warden-FunctionRole-ABC123";
const DEVELOPER: &str = "arn:aws:iam::123456789012:role/developer";
const OPERATOR: &str = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_SecOps_1";
const DEPLOYER: &str = "arn:aws:iam::123456789012:role/cfn-deployer";

/// The stack's parameters and conditions, as a deployment sets them.
struct Stack {
    operators: Vec<String>,
    deployers: Vec<String>,
    organization: bool,
}

impl Stack {
    fn plain() -> Stack {
        Stack {
            operators: Vec::new(),
            deployers: Vec::new(),
            organization: true,
        }
    }

    fn condition(&self, name: &str) -> bool {
        match name {
            "HasOperators" => !self.operators.is_empty(),
            "HasDeployers" => !self.deployers.is_empty(),
            "OrganizationMode" => self.organization,
            other => panic!("condition {other} not modelled"),
        }
    }

    fn arn_of(&self, resource: &str, attribute: &str) -> String {
        assert_eq!(attribute, "Arn", "{resource}.{attribute}");
        match resource {
            "FunctionRole" => FUNCTION_ROLE.to_owned(),
            r if r.ends_with("Rule") => format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/{r}"),
            r if r.ends_with("Queue") => format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{r}"),
            r => format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{r}"),
        }
    }

    /// A template value with its intrinsic functions resolved; `None` for `AWS::NoValue`.
    fn resolve(&self, v: &Value) -> Option<Json> {
        Some(match v {
            Value::Tagged(t) => {
                let args = &t.value;
                match t.tag.to_string().as_str() {
                    "!Ref" => match args.as_str().unwrap() {
                        "AWS::NoValue" => return None,
                        "OperatorPrincipals" => json!(self.operators),
                        "DeployerPrincipals" => json!(self.deployers),
                        other => json!(format!("ref:{other}")),
                    },
                    "!GetAtt" => {
                        let (r, a) = args.as_str().unwrap().split_once('.').unwrap();
                        json!(self.arn_of(r, a))
                    }
                    "!If" => {
                        let seq = args.as_sequence().unwrap();
                        let pick = if self.condition(seq[0].as_str().unwrap()) { 1 } else { 2 };
                        return self.resolve(&seq[pick]);
                    }
                    "!Join" => {
                        let seq = args.as_sequence().unwrap();
                        let sep = seq[0].as_str().unwrap();
                        let parts = self.resolve(&seq[1]).unwrap();
                        let flat: Vec<String> = flatten(&parts);
                        json!(flat.join(sep))
                    }
                    "!Split" => {
                        let seq = args.as_sequence().unwrap();
                        let sep = seq[0].as_str().unwrap();
                        let text = self.resolve(&seq[1]).unwrap();
                        json!(text.as_str().unwrap().split(sep).collect::<Vec<_>>())
                    }
                    other => panic!("intrinsic {other} not modelled"),
                }
            }
            Value::Sequence(items) => Json::Array(items.iter().filter_map(|i| self.resolve(i)).collect()),
            Value::Mapping(m) => Json::Object(
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str().unwrap().to_owned(), self.resolve(v)?)))
                    .collect(),
            ),
            Value::String(s) => json!(s),
            Value::Bool(b) => json!(b.to_string()),
            Value::Number(n) => json!(n.to_string()),
            Value::Null => Json::Null,
        })
    }
}

fn flatten(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a.iter().flat_map(flatten).collect(),
        other => panic!("not text: {other}"),
    }
}

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The resource policy document of `resource` for `stack`.
fn document(stack: &Stack, resource: &str) -> Json {
    let t = template();
    let props = &t["Resources"][resource]["Properties"];
    let doc = if props["PolicyDocument"].is_mapping() {
        &props["PolicyDocument"]
    } else {
        &props["ResourcePolicy"]["PolicyDocument"]
    };
    stack.resolve(doc).unwrap()
}

/// A request as the queue's or the table's policy sees it.
#[derive(Default, Clone)]
struct Request {
    action: &'static str,
    /// `aws:PrincipalArn`, for an IAM principal.
    principal: Option<&'static str>,
    /// The service principal, for a service (its `aws:PrincipalIsAWSService` is true).
    service: Option<&'static str>,
    /// `aws:SourceArn`, set by a service acting for a resource.
    source_arn: Option<String>,
}

fn by(principal: &'static str, action: &'static str) -> Request {
    Request {
        action,
        principal: Some(principal),
        ..Request::default()
    }
}

fn values(v: &Json) -> Vec<String> {
    flatten(v)
}

fn holds(op: &str, key: &str, policy: &[String], req: &Request) -> bool {
    let context: Option<String> = match key {
        "aws:PrincipalArn" => req.principal.map(str::to_owned),
        "aws:SourceArn" => req.source_arn.clone(),
        "aws:PrincipalIsAWSService" => Some(req.service.is_some().to_string()),
        other => panic!("condition key {other} not modelled"),
    };
    let negated = op.contains("Not");
    let Some(value) = context else {
        // An absent key: negated operators hold, the rest do not.
        return negated;
    };
    let any = policy.iter().any(|p| match op {
        "ArnEquals" | "ArnNotEquals" => p == &value,
        "ArnLike" | "ArnNotLike" => arn_like(p, &value),
        "Bool" => p == &value,
        other => panic!("operator {other} not modelled"),
    });
    any != negated
}

fn matches(st: &Json, req: &Request) -> bool {
    let principal = match &st["Principal"] {
        Json::String(s) if s == "*" => true,
        p => p["Service"].as_str().is_some_and(|s| Some(s) == req.service),
    };
    let action = values(&st["Action"]).iter().any(|a| like(a, req.action));
    principal
        && action
        && st["Condition"].as_object().into_iter().flatten().all(|(op, keys)| {
            keys.as_object()
                .unwrap()
                .iter()
                .all(|(key, v)| holds(op, key, &values(v), req))
        })
}

/// Whether the document denies the request explicitly.
fn denies(doc: &Json, req: &Request) -> bool {
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .any(|st| st["Effect"] == "Deny" && matches(st, req))
}

/// Whether the document allows the request (a service principal needs it: it has no identity
/// policy) and does not deny it.
fn grants(doc: &Json, req: &Request) -> bool {
    !denies(doc, req)
        && doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["Effect"] == "Allow" && matches(st, req))
}

fn eventbridge(rule: &str) -> Request {
    Request {
        action: "sqs:SendMessage",
        service: Some("events.amazonaws.com"),
        source_arn: Some(format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/{rule}")),
        ..Request::default()
    }
}

#[test]
fn only_the_function_and_its_rules_put_events_in_the_failure_queue() {
    let doc = document(&Stack::plain(), "FailureQueuePolicy");
    // A developer (or anyone in the account) planting an event for an operator to replay.
    assert!(denies(&doc, &by(DEVELOPER, "sqs:SendMessage")));
    assert!(denies(&doc, &by(OPERATOR, "sqs:SendMessage")));
    // Lambda's on-failure destination sends as the function's role.
    assert!(!denies(&doc, &by(FUNCTION_ROLE, "sqs:SendMessage")));
    // EventBridge, for the stack's own rules only (its dead-letter queue).
    for rule in [
        "SecretsManagerRule",
        "KmsRule",
        "TagChangeRule",
        "ReconcileRule",
        "CentralTagChangeRule",
    ] {
        assert!(grants(&doc, &eventbridge(rule)), "{rule}");
    }
    assert!(!grants(&doc, &eventbridge("SomebodysRule")));
    // Reading and deleting (replay, redrive) are not denied.
    assert!(!denies(&doc, &by(OPERATOR, "sqs:ReceiveMessage")));
}

#[test]
fn only_the_function_sends_sweep_cells_or_dead_letters() {
    let doc = document(&Stack::plain(), "SweepQueuePolicy");
    for who in [DEVELOPER, OPERATOR, DEPLOYER] {
        assert!(denies(&doc, &by(who, "sqs:SendMessage")), "{who}");
    }
    assert!(!denies(&doc, &by(FUNCTION_ROLE, "sqs:SendMessage")));
    let t = template();
    let queues = Stack::plain()
        .resolve(&t["Resources"]["SweepQueuePolicy"]["Properties"]["Queues"])
        .unwrap();
    assert_eq!(queues, json!(["ref:SweepQueue", "ref:SweepDeadLetterQueue"]));
}

#[test]
fn with_deployers_named_nobody_else_purges_reconfigures_or_deletes_the_queues() {
    let stack = Stack {
        deployers: vec![DEPLOYER.to_owned()],
        ..Stack::plain()
    };
    for queue in ["FailureQueuePolicy", "SweepQueuePolicy"] {
        let doc = document(&stack, queue);
        for action in [
            "sqs:PurgeQueue",
            "sqs:SetQueueAttributes",
            "sqs:DeleteQueue",
            "sqs:AddPermission",
        ] {
            assert!(denies(&doc, &by(DEVELOPER, action)), "{queue} {action}");
            assert!(denies(&doc, &by(FUNCTION_ROLE, action)), "{queue} {action}");
            assert!(!denies(&doc, &by(DEPLOYER, action)), "{queue} {action}");
        }
        // Without deployers named, the statement is not there (a stack must stay deployable).
        let open = document(&Stack::plain(), queue);
        assert!(!denies(&open, &by(DEVELOPER, "sqs:PurgeQueue")), "{queue}");
    }
}

#[test]
fn only_the_function_and_the_operators_named_write_memory() {
    let stack = Stack {
        operators: vec![
            OPERATOR.to_owned(),
            "arn:aws:iam::123456789012:role/secops-*".to_owned(),
        ],
        ..Stack::plain()
    };
    let doc = document(&stack, "MemoryTable");
    let writes = [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLUpdate",
        "dynamodb:RestoreTableToPointInTime",
    ];
    for action in writes {
        // A developer pinning an exemption or a lock with a far-future `observed`.
        assert!(denies(&doc, &by(DEVELOPER, action)), "{action}");
        assert!(!denies(&doc, &by(FUNCTION_ROLE, action)), "{action}");
        assert!(!denies(&doc, &by(OPERATOR, action)), "{action}");
        assert!(
            !denies(&doc, &by("arn:aws:iam::123456789012:role/secops-oncall", action)),
            "{action}"
        );
    }
    // Reads stay as the identity policies allow them.
    assert!(!denies(&doc, &by(DEVELOPER, "dynamodb:GetItem")));
    // No operators: the function alone.
    let alone = document(&Stack::plain(), "MemoryTable");
    assert!(denies(&alone, &by(OPERATOR, "dynamodb:UpdateItem")));
    assert!(!denies(&alone, &by(FUNCTION_ROLE, "dynamodb:UpdateItem")));
    // Every item write the memory adapter makes is one the function keeps.
    for action in tag_warden::adapters::aws::MEMORY_ACTIONS {
        assert!(!denies(&alone, &by(FUNCTION_ROLE, action)), "{action}");
    }
}

#[test]
fn with_deployers_named_nobody_else_reconfigures_or_deletes_the_memory_table() {
    let stack = Stack {
        deployers: vec![DEPLOYER.to_owned()],
        ..Stack::plain()
    };
    let doc = document(&stack, "MemoryTable");
    for action in [
        "dynamodb:DeleteTable",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:PutResourcePolicy",
        "dynamodb:DeleteResourcePolicy",
    ] {
        assert!(denies(&doc, &by(DEVELOPER, action)), "{action}");
        assert!(!denies(&doc, &by(DEPLOYER, action)), "{action}");
    }
    assert!(!denies(
        &document(&Stack::plain(), "MemoryTable"),
        &by(DEVELOPER, "dynamodb:DeleteTable")
    ));
}

#[test]
fn the_function_is_invoked_by_eventbridge_only_for_its_own_rules() {
    // Lambda function policies hold Allow statements only: each names EventBridge and one rule
    // of the stack. An IAM principal of the account with lambda:InvokeFunction is not stopped
    // by them: that takes `tag-warden guardrails --protect` (docs/security.md).
    let t = template();
    let mut rules: BTreeMap<String, String> = BTreeMap::new();
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::Lambda::Permission") {
            let p = Stack::plain().resolve(&r["Properties"]).unwrap();
            assert_eq!(p["Principal"], "events.amazonaws.com", "{name:?}");
            assert_eq!(p["Action"], "lambda:InvokeFunction", "{name:?}");
            rules.insert(
                name.as_str().unwrap().to_owned(),
                p["SourceArn"].as_str().unwrap().to_owned(),
            );
        }
    }
    assert!(rules.len() >= 7, "{rules:?}");
    for arn in rules.values() {
        assert!(
            arn.starts_with(&format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/")),
            "{arn}"
        );
    }
}

#[test]
fn the_cargo_lambda_path_gets_the_same_memory_table_policy() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/memory-table-policy.json");
    let file: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ours = &document(&Stack::plain(), "MemoryTable")["Statement"][0];
    let theirs = &file["Statement"][0];
    assert_eq!(theirs["Action"], ours["Action"], "the same item writes denied");
    assert_eq!(
        (&theirs["Effect"], &theirs["Principal"], &theirs["Sid"]),
        (&ours["Effect"], &ours["Principal"], &ours["Sid"])
    );
    assert_eq!(
        theirs["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!(["arn:PARTITION:iam::ACCOUNT_ID:role/ROLE_NAME"]),
        "the function's role (operators are added by hand, as the docs say)"
    );
}
