//! `tag-warden guardrails`: the policy as SCPs or RCPs that refuse a tag change up front (see
//! `engine::guardrails`), printed as a JSON array of documents or a CloudFormation template of
//! `AWS::Organizations::Policy` resources, or written one file per document.

use super::{load_policy, CliError};
use crate::config::{role_name, ENV_IGNORE_PRINCIPALS, ENV_MEMBER_ROLE};
use crate::domain::names_sessions;
use crate::engine::guardrails::{guardrails, GuardrailKind, Guardrails};
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
    /// and break-glass role. tag-warden's member role (TAG_WARDEN_MEMBER_ROLE), its function's
    /// role as the template names it, and TAG_WARDEN_IGNORE_PRINCIPALS are added.
    #[arg(long = "exempt-principal", value_name = "GLOB")]
    exempt: Vec<String>,
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
}

/// The template's function role, by the name CloudFormation gives a role it names itself
/// (`STACK-FunctionRole-RANDOM`).
pub const TEMPLATE_FUNCTION_ROLE: &str = "arn:*:iam::*:role/*-FunctionRole-*";

/// The exempt principals: those given, then the defaults (unless refused), without repeats.
/// A glob over session ARNs is refused: the guardrails match `aws:PrincipalArn`, a role's ARN.
fn exempt_principals(args: &GuardrailsArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, CliError> {
    let mut all: Vec<String> = args.exempt.iter().map(|g| g.trim().to_owned()).collect();
    if !args.no_default_principals {
        if let Some(role) = env(ENV_MEMBER_ROLE).as_deref().and_then(role_name) {
            all.push(format!("arn:*:iam::*:role/{role}"));
        }
        all.push(TEMPLATE_FUNCTION_ROLE.to_owned());
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

/// A CloudFormation template (JSON) of one `AWS::Organizations::Policy` per document.
pub fn cloudformation(g: &Guardrails, kind: GuardrailKind, source: &str) -> Value {
    let mut resources = Map::new();
    for (i, doc) in g.documents.iter().enumerate() {
        let n = i + 1;
        resources.insert(
            format!("TagWardenGuardrail{n}"),
            json!({
                "Type": "AWS::Organizations::Policy",
                "Properties": {
                    "Name": format!("tag-warden-{}-{n}", kind.as_str()),
                    "Description": format!("tag-warden guardrails {n} of {} from {source}", g.documents.len()),
                    "Type": kind.organizations_type(),
                    "TargetIds": {"Ref": "TargetIds"},
                    "Content": doc,
                }
            }),
        );
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "tag-warden guardrails ({}) generated from {source}: deploy in the organization's management account or a delegated administrator",
            kind.organizations_type()
        ),
        "Parameters": {
            "TargetIds": {
                "Type": "CommaDelimitedList",
                "Description": "The roots (r-...), organizational units (ou-...) or accounts the policies are attached to"
            }
        },
        "Resources": resources,
    })
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
    let exempt = exempt_principals(args, env)?;
    let g = guardrails(&policy, kind, &exempt).map_err(|e| CliError::Invalid(e.to_string()))?;
    for principal in &exempt {
        eprintln!("exempt: {principal}");
    }
    for note in &g.notes {
        eprintln!("not expressed: {note}");
    }
    let source = args.policy.display().to_string();
    match (args.format, &args.out) {
        (FormatArg::Json, None) => outln!("{}", pretty(&Value::Array(g.documents.clone()))?),
        (FormatArg::Cloudformation, None) => outln!("{}", pretty(&cloudformation(&g, kind, &source))?),
        (FormatArg::Json, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Failed(format!("cannot create `{}`: {e}", dir.display())))?;
            for (i, doc) in g.documents.iter().enumerate() {
                let path = dir.join(format!("{}-{}.json", kind.as_str(), i + 1));
                write(&path, &doc.to_string())?;
                outln!("{}", path.display());
            }
        }
        (FormatArg::Cloudformation, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Failed(format!("cannot create `{}`: {e}", dir.display())))?;
            let path = dir.join(format!("{}-guardrails.template.json", kind.as_str()));
            write(&path, &pretty(&cloudformation(&g, kind, &source))?)?;
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
