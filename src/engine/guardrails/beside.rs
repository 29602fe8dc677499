//! The statements beside the rules': tag-warden's own keys (as `exemptions.set_by` says), the
//! replication of region-scoped secrets, and what keeps an exemption the deployer's (the exempt
//! roles' names in an SCP, the organization in an RCP).

use super::statement::{Exempt, Statement};
use super::{every, kind_word, like, tag_changes, GuardrailKind, Options, OWN_KEYS, ROLE_CHANGES};
use crate::domain::ResourceKind;
use crate::engine::policy::{ExemptionSetter, Rule};

/// The statements on tag-warden's own keys, as the policy's `exemptions.set_by` says: none for
/// `anyone`; for `nobody`, the exempt principals may not set them either.
pub(super) fn own_keys(set_by: ExemptionSetter, kind: GuardrailKind, done: &mut Vec<String>) -> Vec<Statement> {
    let who = match set_by {
        ExemptionSetter::Anyone => {
            done.push(
                "exemptions.set_by is `anyone`: setting and removing `tag-warden:*` keys is not denied".to_owned(),
            );
            return Vec::new();
        }
        ExemptionSetter::Nobody => {
            done.push(
                "exemptions.set_by is `nobody`: `tag-warden:*` keys are denied to everyone, the exempt principals included".to_owned(),
            );
            Exempt::Only(Vec::new())
        }
        ExemptionSetter::Trusted => {
            done.push(
                "exemptions.set_by is `trusted`: only the exempt principals may set or remove `tag-warden:*` keys"
                    .to_owned(),
            );
            Exempt::Default
        }
    };
    ResourceKind::ALL
        .into_iter()
        .map(|k| {
            Statement::new(format!("OwnKeys{}", kind_word(k)), tag_changes(k, kind), vec![every(k)])
                .any_of("ForAnyValue:StringLike", "aws:TagKeys", vec![OWN_KEYS.to_owned()])
                .exempting(who.clone())
        })
        .collect()
}

/// Replication of resources (secrets) a region-scoped rule governs into Regions it does not:
/// the replicas' tags are the primary's, but the rule does not govern them there. The kind's
/// condition key (`secretsmanager:AddReplicaRegions`) names the Regions on its replicating
/// calls (ReplicateSecretToRegions and CreateSecret).
pub(super) fn replication(
    rule: &Rule,
    index: usize,
    (kind, (calls, regions_key)): (ResourceKind, (&'static [&'static str], &'static str)),
    notes: &mut Vec<String>,
) -> Vec<Statement> {
    let Some(regions) = &rule.scope.regions else {
        return Vec::new();
    };
    if rule.scope.names.is_some() && rule.scope.arns.is_some() {
        return Vec::new();
    }
    notes.push(format!(
        "rule `{}`: replicas in other Regions carry the primary's tags, but the rule does not govern them there: replicating its {}s out of its Regions is denied",
        rule.name,
        kind.spec().noun
    ));
    let mut st = Statement::new(
        format!("Replicate{}{index}", kind_word(kind)),
        calls.to_vec(),
        vec![every(kind)],
    );
    st.with("StringLike", "aws:RequestedRegion", regions.iter().map(like).collect());
    st.with(
        "ForAnyValue:StringNotLike",
        regions_key,
        regions.iter().map(like).collect(),
    );
    if let Some(accounts) = &rule.scope.accounts {
        st.with("StringEquals", "aws:ResourceAccount", accounts.clone());
    }
    vec![st]
}

/// What keeps an exemption the deployer's: in an SCP, changes to roles named like the exempt
/// ones by anyone but the deployers; in an RCP, any tag change by a principal named like an
/// exempt one from outside the organization.
pub(super) fn exemptions_kept(
    kind: GuardrailKind,
    opts: &Options,
    notes: &mut Vec<String>,
    done: &mut Vec<String>,
) -> Vec<Statement> {
    let roles: Vec<String> = opts.exempt.iter().filter(|g| g.contains(":role/")).cloned().collect();
    if roles.is_empty() {
        return Vec::new();
    }
    match kind {
        GuardrailKind::Scp => {
            done.push(format!(
                "roles named like the exempt ones ({}) may be created and changed only by the deployers",
                roles.join(", ")
            ));
            vec![Statement::new("ExemptRoles".to_owned(), ROLE_CHANGES.to_vec(), roles)
                .exempting(Exempt::Only(opts.deployers.clone()))]
        }
        GuardrailKind::Rcp => {
            let Some(org) = &opts.org_id else {
                notes.push(
                    "no organization id: a principal outside the organization named like an exempt one is not denied (give --org-id)".to_owned(),
                );
                return Vec::new();
            };
            let acts: Vec<&'static str> = ResourceKind::ALL
                .into_iter()
                .flat_map(|k| tag_changes(k, GuardrailKind::Rcp))
                .collect();
            done.push(format!(
                "principals named like the exempt ones are exempt only inside organization {org}"
            ));
            let mut st = Statement::new("ExemptOnlyInside".to_owned(), acts, vec!["*".to_owned()])
                .exempting(Exempt::Only(Vec::new()));
            st.with("ArnLike", "aws:PrincipalArn", opts.exempt.clone());
            st.with("StringNotEqualsIfExists", "aws:PrincipalOrgID", vec![org.clone()]);
            vec![st]
        }
    }
}
