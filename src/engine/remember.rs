//! Remember stage (pure core): which tag values to remember after reading a resource, so that a
//! removed value can later be restored as it was rather than as a default.

use super::evaluate::scope_keys;
use super::policy::Policy;
use crate::domain::{ResourceContext, Tags, EXEMPT_TAG, EXEMPT_UNTIL_TAG};
use std::collections::BTreeSet;

/// Whose change the read reflects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// Anyone: a locked key keeps its remembered value.
    Observed,
    /// A trusted principal (`TAG_WARDEN_IGNORE_PRINCIPALS`) or an administrator: what it set is
    /// remembered, locks included.
    Trusted,
}

/// The remembered values that change after observing `tags`: for each key a rule governing the
/// resource requires, its current value when every rule requiring it accepts the value. A
/// locked key whose remembered value is still valid keeps it (the first valid value seen is
/// the one remembered) unless `authority` is [`Authority::Trusted`]. Keys no rule requires now,
/// and missing or invalid values, leave memory as it is.
pub fn changes(policy: &Policy, ctx: &ResourceContext, tags: &Tags, authority: Authority) -> Tags {
    let rules: Vec<_> = policy.rules.iter().filter(|r| r.applies_to(ctx, tags)).collect();
    // Required keys, and the keys a rule's `match.tags` reads (so that leaving the rule by them
    // is put back).
    let keys: BTreeSet<&str> = rules
        .iter()
        .flat_map(|r| r.require.iter().map(|q| q.key.as_str()).chain(scope_keys(r)))
        .collect();
    let mut out = Tags::new();
    // An exemption is remembered only as a trusted principal or an administrator set it
    // ([`trusted_changes`]); once the resource no longer carries that value, the record is
    // revoked (an empty value never verifies), so putting the same value back later is not
    // vouched for.
    for key in EXEMPTION_KEYS {
        if let Some(recorded) = ctx.remembered.get(key).filter(|v| !v.is_empty()) {
            if tags.get(key) != Some(recorded) {
                out.insert(key.to_owned(), String::new());
            }
        }
    }
    for key in keys.into_iter().filter(|k| !EXEMPTION_KEYS.contains(k)) {
        let reqs: Vec<_> = rules
            .iter()
            .flat_map(|r| r.require.iter().filter(|q| q.key == key))
            .collect();
        let Some(value) = tags.get(key).filter(|v| reqs.iter().all(|q| q.accepts(v))) else {
            continue;
        };
        let remembered = ctx.remembered.get(key);
        if remembered == Some(value) {
            continue;
        }
        let locked_at_valid_value =
            reqs.iter().any(|q| q.lock) && remembered.is_some_and(|r| reqs.iter().all(|q| q.accepts(r)));
        if locked_at_valid_value && authority == Authority::Observed {
            continue;
        }
        out.insert(key.to_owned(), value.clone());
    }
    out
}

/// The names to keep for a KMS key: those a `match.names` rule of its kind matches now (its
/// aliases) and those kept before, so that a key losing the alias a rule matched it by stays
/// in the rule. Empty for secrets (a secret's name never changes) and when nothing matches.
pub fn names_to_keep(policy: &Policy, ctx: &ResourceContext) -> Vec<String> {
    if !ctx.kind.spec().named_by_aliases() {
        return Vec::new();
    }
    let globs: Vec<_> = policy
        .rules
        .iter()
        .filter(|r| r.kinds.contains(&ctx.kind))
        .filter_map(|r| r.scope.names.as_ref())
        .flatten()
        .collect();
    let mut keep: Vec<String> = ctx.former_names.clone();
    for alias in &ctx.aliases {
        if globs.iter().any(|g| g.matches(alias)) && !keep.contains(alias) {
            keep.push(alias.clone());
        }
    }
    keep.sort();
    keep
}

/// The tags that exempt a resource, remembered only on a trusted principal's or an
/// administrator's word.
pub const EXEMPTION_KEYS: [&str; 2] = [EXEMPT_TAG, EXEMPT_UNTIL_TAG];

/// What a trusted principal's call may have remembered: of the tags the call itself set
/// (`requested`), those the resource still carries with that value — the required keys' valid
/// values (locks included) and the exemption tags. Nothing another caller set around it, and
/// nothing the resource no longer carries. An exemption the call removed (`removed`) is
/// revoked whatever the resource carries now: a re-add in between is nobody's word.
pub fn trusted_changes(
    policy: &Policy,
    ctx: &ResourceContext,
    tags: &Tags,
    requested: &Tags,
    removed: &[String],
) -> Tags {
    let still: Tags = requested
        .iter()
        .filter(|(k, v)| tags.get(*k) == Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Judged on the whole resource (rule scopes read its tags), kept to what the call set.
    let mut out = changes(policy, ctx, tags, Authority::Trusted);
    out.retain(|k, v| still.get(k) == Some(v));
    // The exemption keys, and the scope keys of its kind's rules (a trusted principal may take
    // a resource out of a rule): remembered as the call left them. A key the call removed is
    // revoked whatever the resource carries now (a re-add in between is nobody's word).
    let scoped = policy
        .rules
        .iter()
        .filter(|r| r.kinds.contains(&ctx.kind))
        .flat_map(scope_keys);
    let keys: BTreeSet<&str> = EXEMPTION_KEYS.into_iter().chain(scoped).collect();
    for key in keys {
        let recorded = ctx.remembered.get(key).is_some_and(|v| !v.is_empty());
        if recorded && removed.iter().any(|k| k == key) {
            out.insert(key.to_owned(), String::new());
        } else if let Some(v) = still.get(key).filter(|v| ctx.remembered.get(key) != Some(*v)) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ResourceKind;
    use crate::engine::policy::parse;

    const POLICY: &str = r#"{"rules":[{"name":"r","require":{
        "Owner":{"values":["payments","platform"]},
        "CreatedBy":{"lock":true},
        "CostCenter":{"pattern":"^[0-9]{4}$","default":"0000"}
    }, "forbid":["Debug"]}]}"#;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn ctx(remembered: &[(&str, &str)]) -> ResourceContext {
        let mut c = ResourceContext::new(ResourceKind::Secret);
        c.remembered = tags(remembered);
        c
    }

    #[test]
    fn valid_values_of_required_keys_are_remembered_and_nothing_else() {
        let p = parse(POLICY).unwrap();
        let seen = tags(&[
            ("Owner", "payments"),
            ("CostCenter", "41x"),
            ("Debug", "1"),
            ("Team", "a"),
        ]);
        assert_eq!(
            changes(&p, &ctx(&[]), &seen, Authority::Observed),
            tags(&[("Owner", "payments")])
        );
    }

    #[test]
    fn a_trusted_call_remembers_only_what_it_set_and_the_resource_still_carries() {
        let p = parse(POLICY).unwrap();
        let c = ctx(&[("CreatedBy", "alice"), ("Owner", "payments")]);
        // Someone else changed the locked CreatedBy just before; the trusted call set Owner.
        let now = tags(&[
            ("CreatedBy", "mallory"),
            ("Owner", "platform"),
            ("tag-warden:exempt", "true"),
        ]);
        let requested = tags(&[
            ("Owner", "platform"),
            ("tag-warden:exempt", "true"),
            ("CostCenter", "4100"),
        ]);
        assert_eq!(
            trusted_changes(&p, &c, &now, &requested, &[]),
            tags(&[("Owner", "platform"), ("tag-warden:exempt", "true")]),
            "not CreatedBy (not in the call), not CostCenter (no longer carried)"
        );
    }

    #[test]
    fn an_exemption_is_never_remembered_from_observation_and_is_revoked_once_gone() {
        let p = parse(r#"{"rules":[{"name":"r","require":{"tag-warden:exempt":{"values":["true"]}}}]}"#).unwrap();
        let seen = tags(&[("tag-warden:exempt", "true")]);
        assert!(changes(&p, &ctx(&[]), &seen, Authority::Observed).is_empty());
        let recorded = ctx(&[("tag-warden:exempt-until", "2027-01-10")]);
        assert!(changes(
            &p,
            &recorded,
            &tags(&[("tag-warden:exempt-until", "2027-01-10")]),
            Authority::Observed
        )
        .is_empty());
        assert_eq!(
            changes(
                &p,
                &recorded,
                &tags(&[("tag-warden:exempt-until", "2027-03-01")]),
                Authority::Observed
            ),
            tags(&[("tag-warden:exempt-until", "")]),
            "another value: the record is revoked"
        );
    }

    #[test]
    fn unchanged_and_missing_values_change_nothing() {
        let p = parse(POLICY).unwrap();
        let c = ctx(&[("Owner", "payments"), ("CostCenter", "4100")]);
        assert!(changes(&p, &c, &tags(&[("Owner", "payments")]), Authority::Observed).is_empty());
    }

    #[test]
    fn a_trusted_removal_revokes_a_recorded_exemption_whatever_the_resource_carries_now() {
        let p = parse(POLICY).unwrap();
        let c = ctx(&[(EXEMPT_TAG, "true"), ("Owner", "payments")]);
        let readded = tags(&[(EXEMPT_TAG, "true"), ("Owner", "payments")]);
        let removed = [EXEMPT_TAG.to_owned()];
        assert_eq!(
            trusted_changes(&p, &c, &readded, &Tags::new(), &removed),
            tags(&[(EXEMPT_TAG, "")])
        );
        // Removing a key that was never vouched for, or another key, revokes nothing.
        assert_eq!(
            trusted_changes(&p, &ctx(&[]), &readded, &Tags::new(), &removed),
            Tags::new()
        );
        assert_eq!(
            trusted_changes(&p, &c, &readded, &Tags::new(), &["Owner".to_owned()]),
            Tags::new()
        );
    }

    #[test]
    fn the_keys_a_rule_is_matched_by_are_remembered_and_a_trusted_principal_may_move_them() {
        let p = crate::engine::policy::parse(
            r#"{"version":2,"rules":[{"name":"prod","match":{"tags":{"Environment":["prod"]}},
                "require":{"Owner":{"default":"platform"}}}]}"#,
        )
        .unwrap();
        let seen = tags(&[("Environment", "prod"), ("Owner", "payments")]);
        assert_eq!(
            changes(&p, &ctx(&[]), &seen, Authority::Observed),
            tags(&[("Environment", "prod"), ("Owner", "payments")])
        );
        // A trusted principal moves the resource out of the rule: remembered as it left it.
        let c = ctx(&[("Environment", "prod")]);
        let moved = tags(&[("Environment", "dev"), ("Owner", "payments")]);
        assert_eq!(
            trusted_changes(&p, &c, &moved, &tags(&[("Environment", "dev")]), &[]),
            tags(&[("Environment", "dev")])
        );
        assert_eq!(
            trusted_changes(
                &p,
                &c,
                &tags(&[("Owner", "payments")]),
                &Tags::new(),
                &["Environment".to_owned()]
            ),
            tags(&[("Environment", "")])
        );
    }

    #[test]
    fn a_locked_key_keeps_its_first_valid_value_unless_a_trusted_principal_sets_it() {
        let p = parse(POLICY).unwrap();
        let c = ctx(&[("CreatedBy", "alice")]);
        let seen = tags(&[("CreatedBy", "mallory")]);
        assert!(changes(&p, &c, &seen, Authority::Observed).is_empty());
        assert_eq!(changes(&p, &c, &seen, Authority::Trusted), seen);
        assert_eq!(changes(&p, &ctx(&[]), &seen, Authority::Observed), seen, "first seen");
    }

    #[test]
    fn a_changed_allowed_value_of_an_unlocked_key_replaces_the_remembered_one() {
        let p = parse(POLICY).unwrap();
        let c = ctx(&[("Owner", "payments")]);
        assert_eq!(
            changes(&p, &c, &tags(&[("Owner", "platform")]), Authority::Observed),
            tags(&[("Owner", "platform")])
        );
    }

    #[test]
    fn a_locked_value_the_policy_no_longer_allows_gives_way_to_a_valid_one() {
        let p =
            parse(r#"{"rules":[{"name":"r","require":{"DataClass":{"values":["restricted"],"lock":true}}}]}"#).unwrap();
        let c = ctx(&[("DataClass", "public")]);
        assert_eq!(
            changes(&p, &c, &tags(&[("DataClass", "restricted")]), Authority::Observed),
            tags(&[("DataClass", "restricted")])
        );
    }
}
