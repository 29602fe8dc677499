//! One CloudTrail record → one [`Intake`] item.

use super::{Ignored, Intake, IntakeError, IntakeOptions, ItemResult, Trigger};
use crate::domain::{arn_account, Actor, EventInfo, ResourceKind, RoleArn, Tags};
use serde_json::Value;

/// The longest secret id (name or ARN) or key id (id, ARN or alias) AWS accepts.
pub(super) const MAX_ID_CHARS: usize = 2048;

pub use crate::kinds::SUPPORTED_EVENTS;

/// Takes in one CloudTrail record (an object). `envelope_region` is the EventBridge envelope's
/// `region`, used when the record lacks `awsRegion`.
pub(super) fn take(rec: &Value, envelope_region: Option<&str>, opts: &IntakeOptions) -> ItemResult {
    let event = event_info(rec);
    let region = string_at(rec, &["awsRegion"]).or_else(|| envelope_region.map(str::to_owned));
    let ignored = |reason: String, kind: Option<ResourceKind>| {
        Ok(Intake::Ignored(Ignored {
            reason,
            kind,
            resource_id: None,
            region: region.clone(),
            event: event.clone(),
        }))
    };

    let source = event.source.as_deref().unwrap_or("");
    let name = event.name.as_deref().unwrap_or("");
    let Some(kind) = ResourceKind::of_event_source(source) else {
        return ignored(format!("event source `{source}` is not {}", services()), None);
    };
    if !is_supported(kind, name) {
        return ignored(format!("{source} {name} does not change tags"), Some(kind));
    }
    if let Some(code) = string_at(rec, &["errorCode"]) {
        return ignored(format!("the call failed ({code}): nothing changed"), Some(kind));
    }
    let creation = kind.spec().trail.creations.contains(&name);
    match own_call(&event, opts) {
        // tag-warden never creates a secret or a key: a creation is judged whoever made it.
        Some(Caller::Function(_)) if creation => trigger(rec, kind, region, event),
        Some(Caller::Function(reason)) => ignored(reason, Some(kind)),
        Some(Caller::Trusted(reason)) if opts.remember_trusted => match trigger(rec, kind, region, event)? {
            Intake::Trigger(t) => Ok(Intake::Trusted(t, reason)),
            other => Ok(other),
        },
        Some(Caller::Trusted(reason)) => ignored(reason, Some(kind)),
        None => trigger(rec, kind, region, event),
    }
}

/// Who made a call that is not enforced.
enum Caller {
    /// This function itself.
    Function(String),
    /// A principal in `TAG_WARDEN_IGNORE_PRINCIPALS`.
    Trusted(String),
}

/// Who made the call, what it was, and where.
fn event_info(rec: &Value) -> EventInfo {
    EventInfo {
        source: string_at(rec, &["eventSource"]),
        name: string_at(rec, &["eventName"]),
        id: string_at(rec, &["eventID"]),
        time: string_at(rec, &["eventTime"]),
        actor: Actor {
            identity_type: string_at(rec, &["userIdentity", "type"]),
            arn: string_at(rec, &["userIdentity", "arn"]),
            account: string_at(rec, &["userIdentity", "accountId"]),
            user_name: string_at(rec, &["userIdentity", "userName"]),
            issuer_arn: string_at(rec, &["userIdentity", "sessionContext", "sessionIssuer", "arn"]),
            source_identity: string_at(rec, &["userIdentity", "sessionContext", "sourceIdentity"])
                .or_else(|| string_at(rec, &["userIdentity", "sourceIdentity"])),
        },
        account: string_at(rec, &["recipientAccountId"]),
    }
}

/// The trigger of a supported, successful call by someone else: its resource, region and
/// account, or the field that is missing or too long.
fn trigger(rec: &Value, kind: ResourceKind, region: Option<String>, event: EventInfo) -> ItemResult {
    let name = event.name.as_deref().unwrap_or("");
    let missing = |field: &str| IntakeError::MissingField {
        event: format!("{} {name}", kind.as_str()),
        id: event.id.as_ref().map(|id| format!(" {id}")).unwrap_or_default(),
        field: field.to_owned(),
    };
    let trail = kind.spec().trail;
    let resource_id = (trail.resource_id)(rec, name).ok_or_else(|| missing((trail.id_fields)(name)))?;
    let chars = resource_id.chars().count();
    if chars > MAX_ID_CHARS {
        return Err(IntakeError::TooLong {
            event: format!("{} {name}", kind.as_str()),
            id: event.id.as_ref().map(|id| format!(" {id}")).unwrap_or_default(),
            field: (trail.id_fields)(name).to_owned(),
            chars,
            max: MAX_ID_CHARS,
        });
    }
    let region = (trail.region)(rec, name, &resource_id)
        .or(region)
        .ok_or_else(|| missing("awsRegion"))?;
    let account = arn_account(&resource_id)
        .map(str::to_owned)
        .or_else(|| event.account.clone());
    Ok(Intake::Trigger(Trigger {
        kind,
        resource_id,
        region,
        account,
        event,
        requested: requested_tags(rec, trail.tag_fields),
        removed: removed_keys(rec),
    }))
}

/// The tags a call set: `requestParameters.tags`, as `[{key, value}]` (Secrets Manager) or
/// `[{tagKey, tagValue}]` (KMS): the kind's `fields`. An entry without both is skipped.
fn requested_tags(rec: &Value, (key_field, value_field): (&str, &str)) -> Tags {
    rec.get("requestParameters")
        .and_then(|p| p.get("tags"))
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| {
                    let key = t.get(key_field).and_then(Value::as_str)?;
                    let value = t.get(value_field).and_then(Value::as_str)?;
                    Some((key.to_owned(), value.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The tag keys a call removed: `requestParameters.tagKeys` (both services).
fn removed_keys(rec: &Value) -> Vec<String> {
    rec.get("requestParameters")
        .and_then(|p| p.get("tagKeys"))
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn is_supported(kind: ResourceKind, name: &str) -> bool {
    kind.spec().trail.events.contains(&name)
}

/// The services governed, for a message: `Secrets Manager or KMS`.
pub(super) fn services() -> String {
    let mut titles: Vec<&str> = Vec::new();
    for title in ResourceKind::ALL.map(|k| k.spec().service.title()) {
        if !titles.contains(&title) {
            titles.push(title);
        }
    }
    titles.join(" or ")
}

/// Whether the record was made by this function or a trusted principal, with the reason. Only
/// what AWS records is read: the issuer role's ARN (account, path, name) and an IAM user's
/// ARN, never a session name.
fn own_call(event: &EventInfo, opts: &IntakeOptions) -> Option<Caller> {
    let actor = &event.actor;
    if let Some(me) = opts.own.as_ref().filter(|me| me.made(actor)) {
        return Some(Caller::Function(format!(
            "made by this function's own role (`{}` in account {}): its own change",
            me.role_name().unwrap_or(&me.arn),
            me.account
        )));
    }
    if let (Some(member), Some(issuer)) = (opts.member_role.as_deref(), actor.issuer_role()) {
        let called_in = event.account.as_deref().or(actor.account.as_deref());
        let governed = opts
            .member_accounts
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| id == issuer.account));
        // The function acts in its own account with its own credentials, never through the
        // member role: a role of that name there is somebody else's, and judged.
        let elsewhere = opts.own.as_ref().is_none_or(|me| me.account != issuer.account);
        if issuer.path_and_name() == member.trim_matches('/')
            && called_in == Some(issuer.account)
            && governed
            && elsewhere
        {
            return Some(Caller::Function(format!(
                "made by tag-warden's member role `{}` in account {}: its own change",
                member_arn(&issuer),
                issuer.account
            )));
        }
    }
    let principal = actor.principal()?;
    let glob = opts.ignore_principals.iter().find(|g| g.matches(principal))?;
    Some(Caller::Trusted(format!(
        "principal `{principal}` matches TAG_WARDEN_IGNORE_PRINCIPALS entry `{}`",
        glob.as_str()
    )))
}

fn member_arn(role: &RoleArn<'_>) -> String {
    format!(
        "arn:{}:iam::{}:role/{}",
        role.partition,
        role.account,
        role.path_and_name()
    )
}

pub(super) use crate::kinds::string_at;
