//! Derived values: a `default` with placeholders (`team-{name[0]}`, `{creator}`), rendered from
//! the resource's context and made a valid tag value before it is written.

use super::scope::names;
use crate::domain::{ResourceContext, ResourceKind};
use std::fmt;

/// The placeholders a default may use.
pub const PLACEHOLDERS: &[&str] = &[
    "account",
    "region",
    "name",
    "name[N]",
    "creator",
    "creator.arn",
    "creator.role",
    "created",
];

/// The creation calls, whose actor is the resource's creator (`ReplicateKey` creates a replica
/// key, with tags of its own, in another Region): each kind's, from `kinds/`.
pub use crate::kinds::CREATION_EVENTS;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Account,
    Region,
    Name,
    NameSegment(i64),
    Creator,
    CreatorArn,
    CreatorRole,
    Created,
}

/// A default value, literal or with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// Why a template cannot be rendered for a resource (it is then a violation, never a guess).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved(pub String);

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Template {
    /// A value taken as written (v1 policies: braces are literal).
    pub fn literal(text: &str) -> Self {
        Template {
            source: text.to_owned(),
            parts: vec![Part::Literal(text.to_owned())],
        }
    }

    /// Parses placeholders in `{…}`; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let (before, after) = rest.split_at(open);
            if !before.is_empty() {
                parts.push(Part::Literal(before.to_owned()));
            }
            let after = after.get(1..).unwrap_or_default();
            let close = after
                .find('}')
                .ok_or_else(|| format!("`{{` without a closing `}}` in `{text}`"))?;
            let name = after.get(..close).unwrap_or_default();
            parts.push(placeholder(name)?);
            rest = after.get(close + 1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Template {
            source: text.to_owned(),
            parts,
        })
    }

    /// Whether it uses the resource's name (`{name}`, `{name[N]}`): for a KMS key, its aliases.
    pub fn uses_name(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Name | Part::NameSegment(_)))
    }

    /// Whether it derives from the creator (`{creator}`, `{creator.arn}`, `{creator.role}`):
    /// only the creation event knows it.
    pub fn uses_creator(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Creator | Part::CreatorArn | Part::CreatorRole))
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The value, when it has no placeholder.
    pub fn fixed(&self) -> Option<&str> {
        match &self.parts[..] {
            [] => Some(""),
            [Part::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// The value for the resource in `ctx`, made valid for the kind's tag values.
    pub fn render(&self, ctx: &ResourceContext) -> Result<String, Unresolved> {
        let mut out = String::new();
        for part in &self.parts {
            out.push_str(&resolve(part, ctx)?);
        }
        Ok(sanitize(&out, ctx.kind))
    }
}

fn placeholder(name: &str) -> Result<Part, String> {
    Ok(match name {
        "account" => Part::Account,
        "region" => Part::Region,
        "name" => Part::Name,
        "creator" => Part::Creator,
        "creator.arn" => Part::CreatorArn,
        "creator.role" => Part::CreatorRole,
        "created" => Part::Created,
        other => match other.strip_prefix("name[").and_then(|r| r.strip_suffix(']')) {
            Some(n) => Part::NameSegment(n.trim().parse().map_err(|_| {
                format!("`{{{other}}}`: the segment index must be a whole number, e.g. `{{name[0]}}` or `{{name[-1]}}`")
            })?),
            None => {
                return Err(format!(
                    "unknown placeholder `{{{other}}}` (known: {})",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        },
    })
}

fn resolve(part: &Part, ctx: &ResourceContext) -> Result<String, Unresolved> {
    let unknown = |what: &str| Unresolved(format!("{what} is not known here"));
    let creation = || {
        ctx.event
            .as_ref()
            .filter(|e| e.name.as_deref().is_some_and(|n| CREATION_EVENTS.contains(&n)))
            .ok_or_else(|| {
                Unresolved(format!(
                    "the creator is known only from the creation event ({}), and nothing is remembered",
                    CREATION_EVENTS.join(", ")
                ))
            })
    };
    Ok(match part {
        Part::Literal(s) => s.clone(),
        Part::Account => ctx.account.clone().ok_or_else(|| unknown("the account"))?,
        Part::Region => ctx.region.clone().ok_or_else(|| unknown("the region"))?,
        Part::Name => name(ctx).ok_or_else(|| unknown(name_what(ctx.kind)))?.to_owned(),
        Part::NameSegment(i) => {
            let name = name(ctx).ok_or_else(|| unknown(name_what(ctx.kind)))?;
            let segments: Vec<&str> = name.split('/').collect();
            let index = if *i < 0 { segments.len() as i64 + i } else { *i };
            usize::try_from(index)
                .ok()
                .and_then(|i| segments.get(i))
                .map(|s| (*s).to_owned())
                .ok_or_else(|| Unresolved(format!("`{name}` has no segment {i}")))?
        }
        Part::Creator => creation()?
            .actor
            .creator_name()
            .ok_or_else(|| unknown("the creator's name"))?,
        Part::CreatorArn => creation()?
            .actor
            .arn
            .clone()
            .ok_or_else(|| unknown("the creator's ARN"))?,
        Part::CreatorRole => creation()?
            .actor
            .role_name()
            .map(str::to_owned)
            .ok_or_else(|| Unresolved("the creator is not an assumed role".to_owned()))?,
        Part::Created => creation()?
            .time
            .as_deref()
            .and_then(|t| t.get(..10))
            .filter(|d| {
                d.len() == 10
                    && d.chars()
                        .enumerate()
                        .all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() })
            })
            .map(str::to_owned)
            .ok_or_else(|| unknown("the creation date"))?,
    })
}

/// A secret's name, or a key's first alias.
fn name(ctx: &ResourceContext) -> Option<&str> {
    names(ctx).into_iter().next()
}

fn name_what(kind: ResourceKind) -> &'static str {
    kind.spec().name_means
}

/// Replaces characters AWS does not allow in tag values (letters, digits, spaces and
/// `_ . : / = + - @` are allowed) with `_`, and cuts the value to the kind's length limit.
pub fn sanitize(value: &str, kind: ResourceKind) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(kind.limits().max_value_chars)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, EventInfo};

    fn ctx(kind: ResourceKind, name: &str) -> ResourceContext {
        let mut c = ResourceContext::new(kind);
        c.account = Some("111122223333".into());
        c.region = Some("eu-west-1".into());
        if kind.spec().named_by_aliases() {
            c.aliases = vec![name.into()];
        } else {
            c.name = Some(name.into());
        }
        c
    }

    fn created_by(c: &mut ResourceContext, event: &str, actor: Actor) {
        c.event = Some(EventInfo {
            name: Some(event.into()),
            time: Some("2026-11-20T10:15:32Z".into()),
            actor,
            ..EventInfo::default()
        });
    }

    fn sso() -> Actor {
        Actor {
            identity_type: Some("AssumedRole".into()),
            arn: Some("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com".into()),
            issuer_arn: Some(
                "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123"
                    .into(),
            ),
            ..Actor::default()
        }
    }

    #[test]
    fn the_creator_of_any_other_role_is_its_source_identity_or_the_role_never_the_session_name() {
        let mut c = ctx(ResourceKind::Secret, "prod/db");
        let mut deployer = Actor {
            identity_type: Some("AssumedRole".into()),
            arn: Some("arn:aws:sts::111122223333:assumed-role/ci-deployer/ceo@example.com".into()),
            issuer_arn: Some("arn:aws:iam::111122223333:role/ci-deployer".into()),
            ..Actor::default()
        };
        created_by(&mut c, "CreateSecret", deployer.clone());
        assert_eq!(render("{creator}", &c).unwrap(), "ci-deployer");
        deployer.source_identity = Some("jenkins-7".into());
        created_by(&mut c, "CreateSecret", deployer.clone());
        assert_eq!(render("{creator}", &c).unwrap(), "jenkins-7");
        // An Identity Center look-alike path elsewhere is no Identity Center role.
        deployer.source_identity = None;
        deployer.issuer_arn = Some("arn:aws:iam::111122223333:role/team/sso.amazonaws.com/ci-deployer".into());
        created_by(&mut c, "CreateSecret", deployer);
        assert_eq!(render("{creator}", &c).unwrap(), "ci-deployer");
        let root = Actor {
            identity_type: Some("Root".into()),
            arn: Some("arn:aws:iam::111122223333:root".into()),
            ..Actor::default()
        };
        created_by(&mut c, "CreateSecret", root);
        assert_eq!(render("{creator}", &c).unwrap(), "root");
    }

    fn render(t: &str, c: &ResourceContext) -> Result<String, Unresolved> {
        Template::parse(t).unwrap().render(c)
    }

    #[test]
    fn account_region_name_and_segments_render_with_literal_text_around() {
        let c = ctx(ResourceKind::Secret, "prod/payments/db");
        assert_eq!(render("{account}@{region}", &c).unwrap(), "111122223333@eu-west-1");
        assert_eq!(render("{name}", &c).unwrap(), "prod/payments/db");
        assert_eq!(render("team-{name[1]}", &c).unwrap(), "team-payments");
        assert_eq!(render("{name[0]}", &c).unwrap(), "prod");
        assert_eq!(render("{name[-1]}", &c).unwrap(), "db");
        assert!(render("{name[3]}", &c).is_err());
        assert!(render("{name[-4]}", &c).is_err());
        let key = ctx(ResourceKind::KmsKey, "team-a/data");
        assert_eq!(render("{name[0]}", &key).unwrap(), "team-a");
        assert!(
            render("{name}", &ResourceContext::new(ResourceKind::KmsKey)).is_err(),
            "no alias known"
        );
    }

    #[test]
    fn the_creator_comes_only_from_a_creation_event() {
        let mut c = ctx(ResourceKind::Secret, "prod/db");
        created_by(&mut c, "CreateSecret", sso());
        assert_eq!(
            render("{creator}", &c).unwrap(),
            "alice@example.com",
            "the session, not the role"
        );
        assert_eq!(render("{creator.role}", &c).unwrap(), "AWSReservedSSO_Admin_0123");
        assert!(render("{creator.arn}", &c).unwrap().starts_with("arn:aws:sts::"));
        assert_eq!(render("{created}", &c).unwrap(), "2026-11-20");
        let user = Actor {
            identity_type: Some("IAMUser".into()),
            user_name: Some("Alice".into()),
            arn: Some("arn:aws:iam::111122223333:user/Alice".into()),
            ..Actor::default()
        };
        created_by(&mut c, "CreateKey", user);
        assert_eq!(render("{creator}", &c).unwrap(), "Alice");
        assert!(render("{creator.role}", &c).is_err(), "a user has no role");
        created_by(&mut c, "TagResource", sso());
        let e = render("{creator}", &c).unwrap_err();
        assert!(e.0.contains("creation event"), "{e}");
        assert!(render("{created}", &c).is_err());
        assert!(
            render("{creator}", &ctx(ResourceKind::Secret, "x")).is_err(),
            "a sweep has no actor"
        );
    }

    #[test]
    fn values_aws_rejects_are_replaced_and_cut_to_the_limit() {
        assert_eq!(sanitize("a#b c*d/é@x", ResourceKind::Secret), "a_b c_d/é@x");
        assert_eq!(sanitize(&"x".repeat(300), ResourceKind::Secret).chars().count(), 255);
        assert_eq!(sanitize(&"x".repeat(300), ResourceKind::KmsKey).chars().count(), 256);
        let mut c = ctx(ResourceKind::Secret, "prod/db");
        let mut actor = sso();
        actor.arn = Some("arn:aws:sts::1:assumed-role/R/bob#admin!".into());
        created_by(&mut c, "CreateSecret", actor);
        assert_eq!(render("{creator}", &c).unwrap(), "bob_admin_");
    }

    #[test]
    fn unknown_and_malformed_placeholders_are_named() {
        assert!(Template::parse("{owner}")
            .unwrap_err()
            .contains("unknown placeholder `{owner}`"));
        assert!(Template::parse("{name[x]}").unwrap_err().contains("whole number"));
        assert!(Template::parse("team-{name").unwrap_err().contains("closing"));
        assert_eq!(Template::parse("platform").unwrap().fixed(), Some("platform"));
        assert_eq!(Template::parse("{region}").unwrap().fixed(), None);
        assert_eq!(
            Template::literal("{region}").fixed(),
            Some("{region}"),
            "v1: braces are literal"
        );
    }
}
