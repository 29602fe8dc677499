//! A rule's `match`: the resources it governs beyond their kind. Every condition given must
//! hold; inside a list, any one entry.

use super::Glob;
use crate::domain::{ResourceContext, Tags};
use crate::kinds::Naming;

/// What a tag condition asks of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagCondition {
    /// The key is present (`true`).
    Present,
    /// The key is absent (`false`).
    Absent,
    /// The key is present with a value matching one of the globs.
    Values(Vec<Glob>),
}

impl TagCondition {
    /// Whether a tag's value (`None`: the tag is absent) meets the condition.
    pub fn holds(&self, value: Option<&String>) -> bool {
        match (self, value) {
            (TagCondition::Present, v) => v.is_some(),
            (TagCondition::Absent, v) => v.is_none(),
            (TagCondition::Values(gs), Some(v)) => gs.iter().any(|g| g.matches(v)),
            (TagCondition::Values(_), None) => false,
        }
    }
}

/// The conditions of a rule's `match` (all empty: every resource of the rule's kinds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Globs on a secret's name, or on any of a KMS key's aliases (without `alias/`).
    pub names: Option<Vec<Glob>>,
    /// Globs on the resource's ARN.
    pub arns: Option<Vec<Glob>>,
    /// Account ids.
    pub accounts: Option<Vec<String>>,
    /// Globs on the region.
    pub regions: Option<Vec<Glob>>,
    /// Conditions on the current tags, by key.
    pub tags: Vec<(String, TagCondition)>,
}

impl Scope {
    /// Whether the resource in `ctx`, carrying `tags`, is in scope. A condition on something
    /// not known (no ARN offline, no account) does not hold: a rule never applies by guess.
    pub fn matches(&self, ctx: &ResourceContext, tags: &Tags) -> bool {
        let any = |globs: &Option<Vec<Glob>>, text: Option<&str>| {
            globs
                .as_ref()
                .is_none_or(|gs| text.is_some_and(|t| gs.iter().any(|g| g.matches(t))))
        };
        let names_hold = self
            .names
            .as_ref()
            .is_none_or(|gs| names(ctx).iter().any(|n| gs.iter().any(|g| g.matches(n))));
        names_hold
            && any(&self.arns, ctx.arn.as_deref())
            && self
                .accounts
                .as_ref()
                .is_none_or(|a| ctx.account.as_ref().is_some_and(|acc| a.contains(acc)))
            && any(&self.regions, ctx.region.as_deref())
            && self.tags.iter().all(|(key, cond)| cond.holds(tags.get(key)))
    }

    /// Whether the scope looks at names (for KMS keys: their aliases, which the event path
    /// then reads with one ListAliases call).
    pub fn uses_names(&self) -> bool {
        self.names.is_some()
    }
}

/// The names a resource answers to: a secret's name; a KMS key's aliases.
pub fn names(ctx: &ResourceContext) -> Vec<&str> {
    match ctx.kind.spec().naming {
        Naming::Own { from_arn, .. } => ctx
            .name
            .as_deref()
            .or_else(|| ctx.arn.as_deref().and_then(from_arn))
            .into_iter()
            .collect(),
        // A key answers to the aliases a rule matched it by before, too (memory keeps them).
        Naming::Aliases { .. } => ctx
            .aliases
            .iter()
            .chain(&ctx.former_names)
            .map(String::as_str)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ResourceKind;

    fn ctx(kind: ResourceKind) -> ResourceContext {
        let mut c = ResourceContext::new(kind);
        c.region = Some("eu-west-1".into());
        c.account = Some("111122223333".into());
        c
    }

    fn globs(gs: &[&str]) -> Option<Vec<Glob>> {
        Some(gs.iter().map(|g| Glob::new(g)).collect())
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn names_match_a_secrets_name_or_its_arn_and_a_keys_aliases() {
        let scope = Scope {
            names: globs(&["prod/*"]),
            ..Scope::default()
        };
        let mut secret = ctx(ResourceKind::Secret);
        secret.name = Some("prod/payments/db".into());
        assert!(scope.matches(&secret, &Tags::new()));
        secret.name = Some("dev/payments/db".into());
        assert!(!scope.matches(&secret, &Tags::new()));
        let from_arn =
            ctx(ResourceKind::Secret).with_arn("arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/x-AbCdEf");
        assert!(scope.matches(&from_arn, &Tags::new()));
        let mut key = ctx(ResourceKind::KmsKey);
        key.aliases = vec!["team-a/data".into(), "prod/data".into()];
        assert!(scope.matches(&key, &Tags::new()), "any alias");
        key.aliases.clear();
        assert!(!scope.matches(&key, &Tags::new()), "no alias known: no match");
    }

    #[test]
    fn arns_accounts_and_regions_must_each_match_one_entry() {
        let c = ctx(ResourceKind::KmsKey).with_arn("arn:aws:kms:eu-west-1:111122223333:key/k1");
        let with = |s: Scope| s.matches(&c, &Tags::new());
        assert!(with(Scope {
            arns: globs(&["arn:aws:kms:*:key/*"]),
            ..Scope::default()
        }));
        assert!(!with(Scope {
            arns: globs(&["*:secret:*"]),
            ..Scope::default()
        }));
        assert!(with(Scope {
            accounts: Some(vec!["9".into(), "111122223333".into()]),
            ..Scope::default()
        }));
        assert!(!with(Scope {
            accounts: Some(vec!["999999999999".into()]),
            ..Scope::default()
        }));
        assert!(with(Scope {
            regions: globs(&["eu-*"]),
            ..Scope::default()
        }));
        assert!(!with(Scope {
            regions: globs(&["us-*"]),
            ..Scope::default()
        }));
        let unknown = ResourceContext::new(ResourceKind::KmsKey);
        assert!(!Scope {
            accounts: Some(vec!["111122223333".into()]),
            ..Scope::default()
        }
        .matches(&unknown, &Tags::new()));
    }

    #[test]
    fn tag_conditions_test_presence_absence_and_value_globs() {
        let c = ctx(ResourceKind::Secret);
        let t = tags(&[("Env", "prod-eu"), ("Team", "payments")]);
        let scope = |conds: Vec<(&str, TagCondition)>| Scope {
            tags: conds.into_iter().map(|(k, c)| (k.to_owned(), c)).collect(),
            ..Scope::default()
        };
        assert!(scope(vec![("Env", TagCondition::Values(vec![Glob::new("prod*")]))]).matches(&c, &t));
        assert!(!scope(vec![("Env", TagCondition::Values(vec![Glob::new("dev*")]))]).matches(&c, &t));
        assert!(scope(vec![("Team", TagCondition::Present), ("Sandbox", TagCondition::Absent)]).matches(&c, &t));
        assert!(!scope(vec![("Team", TagCondition::Absent)]).matches(&c, &t));
        assert!(!scope(vec![("Owner", TagCondition::Values(vec![Glob::new("*")]))]).matches(&c, &t));
    }
}
