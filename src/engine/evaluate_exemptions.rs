//! Exemption tags (`tag-warden:exempt`, `tag-warden:exempt-until`), judged by the policy's
//! `exemptions`: who may set them, and how far ahead `exempt-until` may run.

use super::Finding;
use crate::domain::{Date, ResourceContext, Tags, EXEMPT_TAG, EXEMPT_UNTIL_TAG};
use crate::engine::policy::{ExemptionSetter, Exemptions};

/// What an exemption tag the resource carries comes to.
pub(super) enum Claim {
    /// It exempts the resource (through `until`, when it is `exempt-until`'s); `how` says who
    /// established it.
    Honoured {
        /// The last day, for `exempt-until`.
        until: Option<Date>,
        /// How it was established.
        how: String,
    },
    /// It does not, and the resource is enforced: why.
    Refused(String),
    /// It is malformed or runs too far ahead: a finding, and the resource is enforced.
    Bad(Finding),
}

/// The start of the note of an exemption that memory does not vouch for.
pub const NOT_VERIFIED: &str = "exemption not verified";
const NOT_HONOURED: &str = "exemption not honoured";

/// The exemption tags the resource carries, each judged by the policy's `exemptions`: who may
/// set them (with `trusted`, memory must hold the tag's current value, which only a trusted
/// principal's change or `tag-warden exempt` records) and how far ahead `exempt-until` may
/// run. An `exempt-until` day already past claims nothing.
pub(super) fn claims(rules: Exemptions, ctx: &ResourceContext, tags: &Tags) -> Vec<Claim> {
    let mut out = Vec::new();
    let claim = |key: &str, value: &str, until: Option<Date>| {
        match rules.set_by {
        ExemptionSetter::Anyone => Claim::Honoured {
            until,
            how: format!("`{key}` = `{value}` honoured: the policy lets anyone set exemptions"),
        },
        ExemptionSetter::Nobody => Claim::Refused(format!(
            "{NOT_HONOURED}: `{key}` = `{value}`, but the policy's exemptions.set_by is `nobody`; the resource is enforced"
        )),
        ExemptionSetter::Trusted if ctx.remembered.get(key).is_some_and(|v| v == value) => Claim::Honoured {
            until,
            how: format!("`{key}` = `{value}` was set by a trusted principal or `tag-warden exempt`, as memory records"),
        },
        ExemptionSetter::Trusted => Claim::Refused(format!(
            "{NOT_VERIFIED}: `{key}` = `{value}` was not set by a trusted principal or `tag-warden exempt` as far as memory records; the resource is enforced"
        )),
    }
    };
    if let Some(value) = tags.get(EXEMPT_TAG).filter(|v| *v == "true") {
        out.push(claim(EXEMPT_TAG, value, None));
    }
    if let Some(value) = tags.get(EXEMPT_UNTIL_TAG) {
        match (Date::parse(value), ctx.today) {
            (None, _) => out.push(Claim::Bad(Finding::BadWaiver {
                value: value.clone(),
                max_days: None,
            })),
            (Some(until), Some(today)) if today <= until => {
                if until > today.plus_days(i64::from(rules.max_days)) {
                    out.push(Claim::Bad(Finding::BadWaiver {
                        value: value.clone(),
                        max_days: Some(rules.max_days),
                    }));
                } else {
                    out.push(claim(EXEMPT_UNTIL_TAG, value, Some(until)));
                }
            }
            // Past, or today unknown: it exempts nothing.
            _ => {}
        }
    }
    out
}
