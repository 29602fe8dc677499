//! `tag-warden guardrails`: the policy as SCPs or RCPs that refuse a tag change up front (see
//! `engine::guardrails`), printed as a JSON array of documents or a CloudFormation template of
//! `AWS::Organizations::Policy` resources, or written one file per document.

use super::{load_policy, CliError};
use crate::config::{role_name, ENV_IGNORE_PRINCIPALS, ENV_MEMBER_ROLE};
use crate::domain::names_sessions;
use crate::engine::guardrails::{
    guardrails, GuardrailKind, Guardrails, Limits, Options, Protect, DEFAULT_DEPLOYERS, MAX_DOCUMENTS, MAX_POLICY_BYTES,
};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// `scp` or `rcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Service control policies.
    Scp,
    /// Resource control policies.
    Rcp,
}

/// How the documents are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A JSON array of policy documents.
    Json,
    /// A CloudFormation template of `AWS::Organizations::Policy` resources.
    Cloudformation,
}

/// `tag-warden guardrails …`.
#[derive(Debug, Args)]
pub struct GuardrailsArgs {
    /// The policy file (YAML or JSON).
    #[arg(long)]
    policy: PathBuf,
    /// Service control policies (principals' accounts) or resource control policies (the
    /// resources' accounts).
    #[arg(long, value_enum)]
    kind: KindArg,
    /// A principal ARN glob the guardrails never deny (repeatable): your trusted principals
    /// and break-glass role. tag-warden's member role (TAG_WARDEN_MEMBER_ROLE) and
    /// TAG_WARDEN_IGNORE_PRINCIPALS are added.
    #[arg(long = "exempt-principal", value_name = "GLOB")]
    exempt: Vec<String>,
    /// The central function's role, by its exact ARN (template.yaml's FunctionRoleArn output):
    /// exempt. The CloudFormation form takes it as its FunctionRoleArn parameter instead.
    #[arg(long, value_name = "ARN")]
    function_role_arn: Option<String>,
    /// Who may create and change roles named like the exempt ones (repeatable; SCP); default:
    /// the StackSets execution roles (stacksets-exec-*, AWSCloudFormationStackSetExecutionRole).
    #[arg(long = "deployer-principal", value_name = "GLOB")]
    deployers: Vec<String>,
    /// The organization's id (o-…): under an RCP, a principal named like an exempt one from
    /// outside it is denied. Default: asked of AWS Organizations (DescribeOrganization).
    #[arg(long, value_name = "ID")]
    org_id: Option<String>,
    /// Documents of this kind at most (default 4: a root, OU or account takes 5, one of them the
    /// AWS-managed FullAWSAccess / RCPFullAWSAccess). More, when you attach them at several levels.
    #[arg(long, value_name = "N", default_value_t = MAX_DOCUMENTS, value_parser = clap::value_parser!(usize))]
    max_documents: usize,
    /// Bytes a document at most (UTF-8, minified; default 5120): raise it if your organization's
    /// quota is larger.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_POLICY_BYTES)]
    max_size: usize,
    /// The prefix of every policy's name (`PREFIX-scp-1`…), unique per organization. The
    /// CloudFormation form, without it, names them after its stack.
    #[arg(long, value_name = "PREFIX")]
    name_prefix: Option<String>,
    /// Only the principals given: no default ones.
    #[arg(long)]
    no_default_principals: bool,
    /// `json` (default) or `cloudformation`.
    #[arg(long, value_enum, default_value = "json")]
    format: FormatArg,
    /// Write one file per document (minified: the size AWS counts) instead of printing.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Exit 1 when some part of the policy cannot be expressed.
    #[arg(long)]
    strict: bool,
    /// Also keep tag-warden's own stack the deployers' (SCP): its function, role, memory table,
    /// queues, rules, stacks and StackSet, all named after the stack (--stack-prefix), may be
    /// changed only by the --deployer-principal roles; nobody else may invoke the function.
    #[arg(long)]
    protect: bool,
    /// With --protect: the stack's name, the prefix of everything it creates.
    #[arg(long, value_name = "PREFIX", default_value = "tag-warden", requires = "protect")]
    stack_prefix: String,
    /// With --protect: who may write the memory table besides the function (repeatable; the
    /// template's OperatorPrincipals).
    #[arg(long = "operator-principal", value_name = "GLOB", requires = "protect")]
    operators: Vec<String>,
}

/// What stands for the function role's ARN in the CloudFormation form (its `FunctionRoleArn`
/// parameter), as long as a role ARN with a 64-character name, so that sizes hold.
pub const FUNCTION_ROLE_PLACEHOLDER: &str =
    "arn:aws:iam::000000000000:role/TagWardenFunctionRoleArnParameter-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// The exempt principals: those given, then the defaults (unless refused), without repeats.
/// A glob over session ARNs is refused: the guardrails match `aws:PrincipalArn`, a role's ARN.
fn exempt_principals(args: &GuardrailsArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, CliError> {
    let mut all: Vec<String> = args.exempt.iter().map(|g| g.trim().to_owned()).collect();
    if !args.no_default_principals {
        if let Some(role) = env(ENV_MEMBER_ROLE).as_deref().and_then(role_name) {
            all.push(format!("arn:*:iam::*:role/{role}"));
        }
        match (&args.function_role_arn, args.format) {
            (Some(arn), _) => all.push(arn.trim().to_owned()),
            (None, FormatArg::Cloudformation) => all.push(FUNCTION_ROLE_PLACEHOLDER.to_owned()),
            (None, FormatArg::Json) => {}
        }
        all.extend(
            env(ENV_IGNORE_PRINCIPALS)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned),
        );
    }
    let mut unique: Vec<String> = Vec::new();
    for g in all.into_iter().filter(|g| !g.is_empty()) {
        if names_sessions(&g) {
            return Err(CliError::Invalid(format!(
                "exempt principal `{g}` names assumed-role sessions: aws:PrincipalArn is the role's ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            )));
        }
        if !unique.contains(&g) {
            unique.push(g);
        }
    }
    Ok(unique)
}

/// The placeholder of the function role, in a document, as the template's parameter.
fn with_parameter(v: &Value) -> Value {
    match v {
        Value::String(s) if s == FUNCTION_ROLE_PLACEHOLDER => json!({"Ref": "FunctionRoleArn"}),
        Value::Array(items) => Value::Array(items.iter().map(with_parameter).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), with_parameter(v))).collect()),
        other => other.clone(),
    }
}

/// A policy's name: `PREFIX-KIND-N`, or, without a prefix, the stack's name in it.
fn name(prefix: Option<&str>, kind: GuardrailKind, n: usize) -> Value {
    match prefix {
        Some(p) => json!(format!("{p}-{}-{n}", kind.as_str())),
        None => json!({"Fn::Sub": format!("${{AWS::StackName}}-{}-{n}", kind.as_str())}),
    }
}

/// A CloudFormation template (JSON) of one `AWS::Organizations::Policy` per document.
pub fn cloudformation(g: &Guardrails, kind: GuardrailKind, source: &str, prefix: Option<&str>) -> Value {
    let mut resources = Map::new();
    let uses_parameter = g
        .documents
        .iter()
        .any(|d| d.to_string().contains(FUNCTION_ROLE_PLACEHOLDER));
    for (i, doc) in g.documents.iter().enumerate() {
        let n = i + 1;
        resources.insert(
            format!("TagWardenGuardrail{n}"),
            json!({
                "Type": "AWS::Organizations::Policy",
                "Properties": {
                    "Name": name(prefix, kind, n),
                    "Description": format!("tag-warden guardrails {n} of {} from {source}", g.documents.len()),
                    "Type": kind.organizations_type(),
                    "TargetIds": {"Ref": "TargetIds"},
                    "Content": with_parameter(doc),
                }
            }),
        );
    }
    let mut parameters = Map::new();
    parameters.insert(
        "TargetIds".into(),
        json!({
            "Type": "CommaDelimitedList",
            "Description": "The roots (r-...), organizational units (ou-...) or accounts the policies are attached to"
        }),
    );
    if uses_parameter {
        parameters.insert(
            "FunctionRoleArn".into(),
            json!({
                "Type": "String",
                "AllowedPattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$",
                "Description": "The central tag-warden function's role (template.yaml's FunctionRoleArn output): exempt by its exact ARN"
            }),
        );
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "tag-warden guardrails ({}) generated from {source}: deploy in the organization's management account or a delegated administrator",
            kind.organizations_type()
        ),
        "Parameters": parameters,
        "Resources": resources,
    })
}

/// The organization's id, asked of AWS Organizations (DescribeOrganization), for an RCP given no
/// `--org-id`.
fn organization_id() -> Result<String, CliError> {
    let id = super::runtime()?.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        crate::adapters::aws::describe_organization(&aws_sdk_organizations::Client::new(&config)).await
    });
    match id {
        Ok((Some(id), _)) => Ok(id),
        Ok((None, _)) => Err(CliError::Invalid("--org-id: AWS Organizations named no organization".to_owned())),
        Err(e) => Err(CliError::Invalid(format!(
            "an RCP exempts principals only inside the organization: give --org-id o-… (asking AWS Organizations failed: {e})"
        ))),
    }
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| CliError::Failed(format!("cannot write `{}`: {e}", path.display())))
}

fn pretty(v: &Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(v).map_err(|e| CliError::Failed(e.to_string()))
}

/// Runs `tag-warden guardrails`.
pub fn run(args: &GuardrailsArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<(), CliError> {
    let policy = load_policy(&args.policy)?;
    let kind = match args.kind {
        KindArg::Scp => GuardrailKind::Scp,
        KindArg::Rcp => GuardrailKind::Rcp,
    };
    if args.max_documents == 0 || args.max_size == 0 {
        return Err(CliError::Invalid(
            "--max-documents and --max-size take a number of at least 1".to_owned(),
        ));
    }
    let exempt = exempt_principals(args, env)?;
    let deployers: Vec<String> = if args.deployers.is_empty() {
        DEFAULT_DEPLOYERS.iter().map(|d| (*d).to_owned()).collect()
    } else {
        args.deployers.iter().map(|d| d.trim().to_owned()).collect()
    };
    let org_id = match (kind, &args.org_id) {
        (_, Some(id)) => Some(id.trim().to_owned()),
        (GuardrailKind::Rcp, None) => Some(organization_id()?),
        (GuardrailKind::Scp, None) => None,
    };
    let opts = Options {
        exempt: exempt.clone(),
        deployers: deployers.clone(),
        org_id,
        limits: Limits {
            max_documents: args.max_documents,
            max_bytes: args.max_size,
        },
        unmerged: false,
        protect: match (args.protect, kind) {
            (false, _) => None,
            (true, GuardrailKind::Scp) if !args.stack_prefix.trim().is_empty() => Some(Protect {
                stack_prefix: args.stack_prefix.trim().to_owned(),
                operators: args.operators.iter().map(|o| o.trim().to_owned()).collect(),
            }),
            (true, GuardrailKind::Scp) => {
                return Err(CliError::Invalid(
                    "--protect needs the stack's name: --stack-prefix (default tag-warden)".to_owned(),
                ))
            }
            (true, GuardrailKind::Rcp) => {
                return Err(CliError::Invalid(
                    "--protect makes SCP statements (RCPs do not cover Lambda, IAM, EventBridge or CloudFormation): use --kind scp".to_owned(),
                ))
            }
        },
    };
    let g = guardrails(&policy, kind, &opts).map_err(|e| CliError::Invalid(e.to_string()))?;
    for principal in &exempt {
        match principal.as_str() {
            FUNCTION_ROLE_PLACEHOLDER => eprintln!("exempt: the FunctionRoleArn parameter"),
            p => eprintln!("exempt: {p}"),
        }
    }
    if kind == GuardrailKind::Scp {
        for d in &deployers {
            eprintln!("may change the exempt roles: {d}");
        }
    }
    for line in &g.done {
        eprintln!("guardrails: {line}");
    }
    for note in &g.notes {
        eprintln!("not expressed: {note}");
    }
    let source = args.policy.display().to_string();
    match (args.format, &args.out) {
        (FormatArg::Json, None) => outln!("{}", pretty(&Value::Array(g.documents.clone()))?),
        (FormatArg::Cloudformation, None) => outln!(
            "{}",
            pretty(&cloudformation(&g, kind, &source, args.name_prefix.as_deref()))?
        ),
        (FormatArg::Json, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Failed(format!("cannot create `{}`: {e}", dir.display())))?;
            for (i, doc) in g.documents.iter().enumerate() {
                let prefix = args.name_prefix.as_deref().unwrap_or("tag-warden");
                let path = dir.join(format!("{prefix}-{}-{}.json", kind.as_str(), i + 1));
                write(&path, &doc.to_string())?;
                outln!("{}", path.display());
            }
        }
        (FormatArg::Cloudformation, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Failed(format!("cannot create `{}`: {e}", dir.display())))?;
            let path = dir.join(format!("{}-guardrails.template.json", kind.as_str()));
            write(
                &path,
                &pretty(&cloudformation(&g, kind, &source, args.name_prefix.as_deref()))?,
            )?;
            outln!("{}", path.display());
        }
    }
    if args.strict && !g.notes.is_empty() {
        return Err(CliError::Failed(format!(
            "--strict: {} part(s) of the policy are not expressed (above)",
            g.notes.len()
        )));
    }
    Ok(())
}
