//! The story of a resource: the history steps an evaluation, a trusted call or an
//! administrator adds.

use super::now_ms;
use crate::domain::{parse_utc_time, utc_time, ResourceContext, Tags};
use crate::ports::HistoryEntry;
use crate::view::report::ResourceReport;

/// The steps of `story` that undid `principal`'s change to `key`, made since `since` (ms).
pub(super) fn steps_by<'a>(
    story: &'a [HistoryEntry],
    principal: &'a str,
    key: &'a str,
    since: u64,
) -> impl Iterator<Item = &'a HistoryEntry> + 'a {
    story
        .iter()
        .filter(move |h| h.cause.as_deref() == Some(principal) && h.keys.iter().any(|k| k == key))
        .filter(move |h| parse_utc_time(&h.at).is_some_and(|at| at >= since))
}

/// The keys tag-warden sets or removes for an entry: written, or (report mode) planned.
pub(super) fn undone_keys(entry: &ResourceReport) -> Vec<String> {
    let mut keys: Vec<String> = entry
        .keys_removed
        .iter()
        .chain(entry.tags_added.keys())
        .cloned()
        .collect();
    if keys.is_empty() {
        keys = entry.plan.untag.iter().chain(entry.plan.tag.keys()).cloned().collect();
    }
    keys.sort();
    keys.dedup();
    keys
}

/// When the change a step records happened: the event's time, or now when a sweep found it.
fn happened_at(ctx: &ResourceContext) -> String {
    ctx.event
        .as_ref()
        .and_then(|e| e.time.clone())
        .unwrap_or_else(|| utc_time(now_ms()))
}

/// The history step of values set on a trusted principal's or an administrator's word, under
/// `action`. The memory adapter numbers the steps (`seq`) as it appends them.
pub(super) fn granted(
    ctx: &ResourceContext,
    set: &Tags,
    who: Option<String>,
    action: String,
    why: Vec<String>,
) -> Vec<HistoryEntry> {
    if set.is_empty() {
        return Vec::new();
    }
    vec![HistoryEntry {
        at: happened_at(ctx),
        who: who.unwrap_or_else(|| "unknown".to_owned()),
        event: ctx.event.as_ref().and_then(|e| e.name.clone()),
        changes: set
            .iter()
            .map(|(k, v)| (k.clone(), ctx.remembered.get(k).cloned(), Some(v.clone())))
            .collect(),
        action,
        why,
        keys: set.keys().cloned().collect(),
        ..HistoryEntry::default()
    }]
}

/// The story this evaluation adds: remembered values someone changed (with who, from the
/// event, or `unknown` when a sweep found it), then what tag-warden wrote. Nothing when nothing
/// changed and nothing was written. The memory adapter numbers the steps (`seq`).
pub(super) fn history(ctx: &ResourceContext, tags: &Tags, entry: &ResourceReport) -> Vec<HistoryEntry> {
    let mut story = Vec::new();
    let changes: Vec<_> = ctx
        .remembered
        .iter()
        .filter(|(k, v)| tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), Some(v.clone()), tags.get(k).cloned()))
        .collect();
    if !changes.is_empty() {
        story.push(HistoryEntry {
            at: happened_at(ctx),
            who: ctx
                .event
                .as_ref()
                .and_then(|e| e.actor.arn.clone())
                .unwrap_or_else(|| "unknown".to_owned()),
            event: ctx.event.as_ref().and_then(|e| e.name.clone()),
            changes,
            ..HistoryEntry::default()
        });
    }
    let mut did = Vec::new();
    if !entry.keys_removed.is_empty() {
        did.push(format!("removed {}", entry.keys_removed.join(", ")));
    }
    if !entry.tags_added.is_empty() {
        let set: Vec<String> = entry.tags_added.iter().map(|(k, v)| format!("{k}={v}")).collect();
        did.push(format!("set {}", set.join(", ")));
    }
    if !did.is_empty() {
        let contested = entry
            .contested
            .as_ref()
            .map(|c| {
                format!(
                    " (contested by {}: {} times in 24 hours)",
                    c.contested_by, c.contested_count
                )
            })
            .unwrap_or_default();
        story.push(HistoryEntry {
            at: utc_time(now_ms()),
            who: "tag-warden".to_owned(),
            action: format!("{}: {}{contested}", entry.outcome.as_str(), did.join("; ")),
            why: entry.reasons.iter().take(5).cloned().collect(),
            cause: ctx.event.as_ref().and_then(|e| e.actor.principal()).map(str::to_owned),
            keys: undone_keys(entry),
            ..HistoryEntry::default()
        });
    }
    story
}
