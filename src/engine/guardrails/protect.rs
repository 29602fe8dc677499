//! `--protect`: SCP statements that keep tag-warden's own stack the deployer's. Everything the
//! stack creates is named after it (`STACK-TagWardenFunction-…`, `STACK-FunctionRole-…`,
//! `STACK-FailureQueue-…`, `STACK-MemoryTable-…`, `STACK-…Rule-…`), so a prefix names it all:
//! invoking or changing the function, changing its role, writing its memory, planting or
//! purging its queues' messages, changing its rules, and changing its stacks and StackSet are
//! denied to all but the deployers (the function's role keeps what it does itself, the
//! operators their memory writes). SCPs do not apply to AWS service principals: EventBridge
//! still invokes the function and Lambda still polls its queue.

use super::statement::{Exempt, Statement};
use super::ROLE_CHANGES;

/// What `--protect` is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protect {
    /// The stack's name, or the prefix of the names of the stacks to protect (`tag-warden`).
    pub stack_prefix: String,
    /// Principal ARN globs that may write memory besides the function (`tag-warden memory
    /// set`, `tag-warden exempt`): the template's `OperatorPrincipals`.
    pub operators: Vec<String>,
}

const FUNCTION: [&str; 8] = [
    "lambda:InvokeFunction",
    "lambda:InvokeFunctionUrl",
    "lambda:Update*",
    "lambda:Delete*",
    "lambda:PutFunctionConcurrency",
    "lambda:PutFunctionEventInvokeConfig",
    "lambda:AddPermission",
    "lambda:RemovePermission",
];

const ITEM_WRITES: [&str; 8] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
];

const TABLE_CHANGES: [&str; 8] = [
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:PutResourcePolicy",
    "dynamodb:DeleteResourcePolicy",
    "dynamodb:RestoreTableToPointInTime",
    "dynamodb:ImportTable",
];

const QUEUE_CHANGES: [&str; 5] = [
    "sqs:PurgeQueue",
    "sqs:SetQueueAttributes",
    "sqs:DeleteQueue",
    "sqs:AddPermission",
    "sqs:RemovePermission",
];

const RULE_CHANGES: [&str; 7] = [
    "events:DisableRule",
    "events:DeleteRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:DeleteEventBus",
    "events:PutPermission",
];

const STACK_CHANGES: [&str; 12] = [
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:CreateChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:SetStackPolicy",
    "cloudformation:UpdateTerminationProtection",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:UpdateStackSet",
    "cloudformation:DeleteStackSet",
    "cloudformation:CreateStackInstances",
    "cloudformation:UpdateStackInstances",
    "cloudformation:DeleteStackInstances",
];

/// The statements, and what they do (one line each, for stderr).
pub(super) fn statements(p: &Protect, deployers: &[String], done: &mut Vec<String>) -> Vec<Statement> {
    let s = p.stack_prefix.trim_end_matches('-');
    let arn = |service: &str, rest: String| format!("arn:*:{service}:*:*:{rest}");
    let function_role = format!("arn:*:iam::*:role/{s}-FunctionRole-*");
    let only = |extra: &[String]| {
        let mut who = deployers.to_vec();
        who.extend(extra.iter().cloned());
        Exempt::Only(who)
    };
    let queues = vec![arn("sqs", format!("{s}-*"))];
    let table = vec![arn("dynamodb", format!("table/{s}-*"))];
    let mut memory_writers = vec![function_role.clone()];
    memory_writers.extend(p.operators.iter().cloned());
    done.push(format!(
        "--protect: the function, role, memory table, queues, rules and stacks named `{s}-…` (and the StackSet `{s}…`) may be changed only by the deployers ({}); the function's role keeps its own sends and memory writes{}",
        deployers.join(", "),
        if p.operators.is_empty() { String::new() } else { format!(", the operators ({}) their memory writes", p.operators.join(", ")) }
    ));
    vec![
        Statement::new(
            "ProtectFunction".to_owned(),
            FUNCTION.to_vec(),
            vec![arn("lambda", format!("function:{s}-*"))],
        )
        .exempting(only(&[])),
        Statement::new(
            "ProtectFunctionRole".to_owned(),
            ROLE_CHANGES.to_vec(),
            vec![format!("arn:*:iam::*:role/{s}-*")],
        )
        .exempting(only(&[])),
        Statement::new(
            "ProtectQueueMessages".to_owned(),
            vec!["sqs:SendMessage"],
            queues.clone(),
        )
        .exempting(only(std::slice::from_ref(&function_role))),
        Statement::new("ProtectQueues".to_owned(), QUEUE_CHANGES.to_vec(), queues).exempting(only(&[])),
        Statement::new("ProtectMemoryItems".to_owned(), ITEM_WRITES.to_vec(), table.clone())
            .exempting(Exempt::Only(memory_writers)),
        Statement::new("ProtectMemoryTable".to_owned(), TABLE_CHANGES.to_vec(), table).exempting(only(&[])),
        Statement::new(
            "ProtectRules".to_owned(),
            RULE_CHANGES.to_vec(),
            vec![
                arn("events", format!("rule/{s}-*")),
                arn("events", format!("rule/*/{s}-*")),
                arn("events", format!("event-bus/{s}-*")),
            ],
        )
        .exempting(only(&[])),
        Statement::new(
            "ProtectStacks".to_owned(),
            STACK_CHANGES.to_vec(),
            vec![
                arn("cloudformation", format!("stack/{s}/*")),
                arn("cloudformation", format!("stack/{s}-*/*")),
                arn("cloudformation", format!("stack/StackSet-{s}*/*")),
                arn("cloudformation", format!("stackset/{s}*")),
            ],
        )
        .exempting(only(&[])),
    ]
}
