//! One EventBridge "Tag Change on Resource" event (source `aws.tag`) → one [`Intake`] item.
//! It is sent for changes made through the service's own API, Tag Editor and the Resource
//! Groups Tagging API; it carries the tags after the change and the ARN, but never who made
//! the change or a removed key's old value. So it is handled like a CloudTrail event: read the
//! current state, evaluate, write. tag-warden's own writes come back as such events too; they
//! find the resource compliant and write nothing.

use super::record::{string_at, MAX_ID_CHARS};
use super::{Ignored, Intake, IntakeError, ItemResult, Trigger};
use crate::domain::{arn_account, EventInfo, ResourceKind};
use serde_json::Value;

/// The event's `source`.
pub const TAG_SOURCE: &str = "aws.tag";
/// The event's `detail-type`.
pub const TAG_CHANGE_DETAIL_TYPE: &str = "Tag Change on Resource";

pub use crate::kinds::SUPPORTED_TAG_CHANGES;

/// Takes in the envelope `value` whose `detail` is `detail`.
pub(super) fn take(value: &Value, detail: &Value) -> ItemResult {
    let region = string_at(value, &["region"]);
    let event = EventInfo {
        source: Some(TAG_SOURCE.to_owned()),
        name: Some(TAG_CHANGE_DETAIL_TYPE.to_owned()),
        id: string_at(value, &["id"]),
        time: string_at(value, &["time"]),
        account: string_at(value, &["account"]),
        ..EventInfo::default()
    };
    let service = string_at(detail, &["service"]).unwrap_or_default();
    let resource_type = string_at(detail, &["resource-type"]).unwrap_or_default();
    let Some(kind) = ResourceKind::of_tag_change(&service, &resource_type) else {
        return Ok(Intake::Ignored(Ignored {
            reason: format!(
                "{TAG_CHANGE_DETAIL_TYPE} of `{service}` `{resource_type}`: not a {}",
                crate::kinds::nouns(" or ")
            ),
            kind: None,
            resource_id: None,
            region,
            event,
        }));
    };
    let missing = |field: &str| IntakeError::MissingField {
        event: format!("{} {TAG_CHANGE_DETAIL_TYPE}", kind.as_str()),
        id: event.id.as_ref().map(|id| format!(" {id}")).unwrap_or_default(),
        field: field.to_owned(),
    };
    let arn = value
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|rs| rs.iter().filter_map(Value::as_str).find(|r| r.starts_with("arn:")))
        .ok_or_else(|| missing("resources[0] (the resource's ARN)"))?;
    let chars = arn.chars().count();
    if chars > MAX_ID_CHARS {
        return Err(IntakeError::TooLong {
            event: format!("{} {TAG_CHANGE_DETAIL_TYPE}", kind.as_str()),
            id: event.id.as_ref().map(|id| format!(" {id}")).unwrap_or_default(),
            field: "resources[0]".to_owned(),
            chars,
            max: MAX_ID_CHARS,
        });
    }
    let region = region.ok_or_else(|| missing("region"))?;
    let account = arn_account(arn).map(str::to_owned).or_else(|| event.account.clone());
    Ok(Intake::Trigger(Trigger {
        kind,
        resource_id: arn.to_owned(),
        region,
        account,
        event,
        requested: crate::domain::Tags::new(),
        removed: Vec::new(),
    }))
}
