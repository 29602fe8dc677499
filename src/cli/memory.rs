//! `memory show ARN` and `memory set ARN KEY=VALUE…`: what tag-warden remembers of a resource,
//! and how an administrator changes it (a locked value included).

use super::{runtime, CliError};
use crate::adapters::aws::AwsBackend;
use crate::config::ENV_MEMORY_TABLE;
use crate::domain::{arn_account, arn_region, is_reserved_key, utc_time, ResourceKind, Tags};
use crate::ports::{Backend, HistoryEntry, Memory, Place, Stored};
use crate::run::resource::now_ms;
use clap::Subcommand;
use serde_json::json;

/// `tag-warden history ARN`: the story of a resource, as a table or JSON.
pub fn history(arn: &str, as_json: bool, env: &dyn Fn(&str) -> Option<String>) -> Result<(), CliError> {
    let table = memory_table(env)?;
    runtime()?.block_on(async {
        let backend = AwsBackend::from_env(Some(table)).await;
        let memory = backend
            .memory()
            .ok_or_else(|| CliError::Failed("no memory".to_owned()))?;
        let story = memory.history(arn).await.map_err(|e| CliError::Failed(e.to_string()))?;
        let grant = memory.grant(arn).await.map_err(|e| CliError::Failed(e.to_string()))?;
        if as_json {
            let v = json!({"arn": arn, "history": story, "grant": grant});
            outln!("{v}");
            return Ok(());
        }
        if let Some(g) = &grant {
            outln!("{arn}: {}", granted(g));
        }
        if story.is_empty() {
            outln!("{arn}: no history");
            return Ok(());
        }
        outln!("{arn}");
        outln!("{:<21} {:<40} {:<16} what", "when", "who", "event");
        for h in &story {
            let mut what: Vec<String> = h
                .changes
                .iter()
                .map(|(k, old, new)| {
                    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
                    format!("{k}: {} -> {}", show(old), show(new))
                })
                .collect();
            if !h.action.is_empty() {
                what.push(h.action.clone());
            }
            let event = h.event.as_deref().unwrap_or("-");
            outln!("{:<21} {:<40} {:<16} {}", h.at, h.who, event, what.join("; "));
        }
        Ok(())
    })
}

fn memory_table(env: &dyn Fn(&str) -> Option<String>) -> Result<String, CliError> {
    env(ENV_MEMORY_TABLE)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CliError::Invalid(format!("no memory: set {ENV_MEMORY_TABLE} to the table's name")))
}

/// `tag-warden memory …`.
#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Show what is remembered for a resource.
    Show {
        /// The resource's ARN.
        arn: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set remembered values, locked ones included (as a trusted principal's change would).
    Set {
        /// The resource's ARN.
        arn: String,
        /// `KEY=VALUE` pairs.
        #[arg(required = true, value_name = "KEY=VALUE")]
        values: Vec<String>,
    },
}

/// Runs a memory command against `TAG_WARDEN_MEMORY_TABLE`.
pub fn run(command: &MemoryCommand, env: &dyn Fn(&str) -> Option<String>) -> Result<(), CliError> {
    let table = memory_table(env)?;
    match command {
        MemoryCommand::Show { arn, json } => runtime()?.block_on(show(table, arn, *json)),
        MemoryCommand::Set { arn, values } => {
            let (place, values) = parse_set(arn, values)?;
            runtime()?.block_on(set(table, arn, &place, &values))
        }
    }
}

async fn show(table: String, arn: &str, as_json: bool) -> Result<(), CliError> {
    let backend = AwsBackend::from_env(Some(table)).await;
    let memory = backend
        .memory()
        .ok_or_else(|| CliError::Failed("no memory".to_owned()))?;
    let found = memory.recall(arn).await.map_err(|e| CliError::Failed(e.to_string()))?;
    let grant = memory.grant(arn).await.map_err(|e| CliError::Failed(e.to_string()))?;
    let Some(r) = found else {
        if as_json {
            outln!("{}", json!({"arn": arn, "values": {}}));
        } else {
            outln!("{arn}: nothing remembered");
        }
        return Ok(());
    };
    if as_json {
        let v = json!({"arn": arn, "values": r.values, "observed": utc_time(r.observed_ms), "expiring": r.expiring, "names": r.names, "grant": grant});
        outln!("{v}");
        return Ok(());
    }
    let mut out = format!("{arn}\n  observed {}", utc_time(r.observed_ms));
    if r.expiring {
        out.push_str(" (the resource was found gone: this entry expires)");
    }
    for (k, v) in &r.values {
        out.push_str(&format!("\n  {k} = {v}"));
    }
    if !r.names.is_empty() {
        out.push_str(&format!("\n  matched by the names: {}", r.names.join(", ")));
    }
    if let Some(g) = &grant {
        out.push_str(&format!("\n  {}", granted(g)));
    }
    outln!("{out}");
    Ok(())
}

async fn set(table: String, arn: &str, place: &Place, values: &Tags) -> Result<(), CliError> {
    let backend = AwsBackend::from_env(Some(table)).await;
    let memory = backend
        .memory()
        .ok_or_else(|| CliError::Failed("no memory".to_owned()))?;
    let before = memory
        .recall(arn)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?
        .unwrap_or_default();
    // Who set what: the caller AWS vouches for (GetCallerIdentity), as `exempt` records it.
    let who = match backend.identity().await {
        Ok(Some(me)) => format!("{} (tag-warden memory set)", me.arn),
        _ => "administrator (tag-warden memory set)".to_owned(),
    };
    let story = [HistoryEntry {
        at: utc_time(now_ms()),
        who,
        changes: values
            .iter()
            .map(|(k, v)| (k.clone(), before.values.get(k).cloned(), Some(v.clone())))
            .collect(),
        ..HistoryEntry::default()
    }];
    match memory.remember(arn, place, values, now_ms(), &story).await {
        Ok(Stored::Written) => {
            outln!("{arn}: remembered {}", pairs(values));
            Ok(())
        }
        Ok(Stored::Newer) => Err(CliError::Failed(format!(
            "{arn}: memory holds an observation newer than this machine's clock; nothing written"
        ))),
        Err(e) => Err(CliError::Failed(e.to_string())),
    }
}

/// The resource's place (from its ARN) and the values to set.
fn parse_set(arn: &str, values: &[String]) -> Result<(Place, Tags), CliError> {
    let kind = ResourceKind::of_arn(arn).ok_or_else(|| {
        let kinds = crate::kinds::nouns(" or a ");
        CliError::Invalid(format!("`{arn}` is not the ARN of a {kinds}"))
    })?;
    let region = arn_region(arn).unwrap_or_default().to_owned();
    let place = Place {
        kind,
        region,
        account: arn_account(arn).map(str::to_owned),
        names: Vec::new(),
    };
    let limits = kind.limits();
    let mut tags = Tags::new();
    for pair in values {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CliError::Invalid(format!("`{pair}`: expected KEY=VALUE")));
        };
        if k.is_empty() || is_reserved_key(k) || k.chars().count() > limits.max_key_chars {
            return Err(CliError::Invalid(format!(
                "`{k}`: a {kind} tag key is 1–{} characters, outside `aws:`",
                limits.max_key_chars
            )));
        }
        // An exemption is granted with `tag-warden exempt` (a day, a reason, who), never by
        // writing memory by hand, which would record a grant nobody made.
        if k.starts_with("tag-warden:") {
            return Err(CliError::Invalid(format!(
                "`{k}` is tag-warden's own key: grant an exemption with `tag-warden exempt ARN --until DAY --reason TEXT`"
            )));
        }
        if v.chars().count() > limits.max_value_chars {
            return Err(CliError::Invalid(format!(
                "`{k}`: a {kind} tag value is at most {} characters",
                limits.max_value_chars
            )));
        }
        tags.insert(k.to_owned(), v.to_owned());
    }
    Ok((place, tags))
}

fn pairs(tags: &Tags) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A grant, as the CLI says it.
fn granted(g: &crate::ports::Grant) -> String {
    format!(
        "exemption granted by {} at {} through {}: {}",
        g.who, g.at, g.until, g.why
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_takes_key_value_pairs_and_refuses_what_aws_would() {
        let arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf";
        let (place, tags) = parse_set(arn, &["CreatedBy=alice".into(), "Note=a=b".into()]).unwrap();
        assert_eq!((place.kind, place.region.as_str()), (ResourceKind::Secret, "eu-west-1"));
        assert_eq!(place.account.as_deref(), Some("111122223333"));
        assert_eq!(tags.get("Note").map(String::as_str), Some("a=b"));
        for bad in ["novalue", "=x", "aws:x=y"] {
            assert!(
                matches!(parse_set(arn, &[bad.into()]), Err(CliError::Invalid(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_set("prod/db", &["a=b".into()]),
            Err(CliError::Invalid(_))
        ));
    }

    #[test]
    fn set_refuses_exemption_keys_which_tag_warden_exempt_grants() {
        let arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf";
        for key in ["tag-warden:exempt=true", "tag-warden:exempt-until=2099-01-01"] {
            match parse_set(arn, &[key.into()]) {
                Err(CliError::Invalid(why)) => assert!(why.contains("tag-warden exempt"), "{why}"),
                other => panic!("{key}: {other:?}"),
            }
        }
    }
}
