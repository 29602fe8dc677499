//! The context a resource is judged in: what it is (kind, ARN, name, aliases), where it lives
//! (account, region) and, on the event path, the event that named it and who made it.
//! Evaluation sees all of it, so rules can be scoped and values derived from it.

use super::{Date, ResourceKind, RoleArn, Tags};
use serde::{Serialize, Serializer};

/// Who made a call, from a CloudTrail record's `userIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// `type`: `IAMUser`, `AssumedRole`, `AWSService`, `Root`, ...
    pub identity_type: Option<String>,
    /// `arn` of the caller (for an assumed role, the session's `assumed-role/ROLE/SESSION`).
    pub arn: Option<String>,
    /// `accountId` of the caller.
    pub account: Option<String>,
    /// `userName` (an IAM user's name).
    pub user_name: Option<String>,
    /// `sessionContext.sessionIssuer.arn`: the role behind an assumed-role session.
    pub issuer_arn: Option<String>,
    /// `sessionContext.sourceIdentity`: the identity the first caller had to give when it
    /// assumed the role (set once, and kept along a chain of roles).
    pub source_identity: Option<String>,
}

impl Actor {
    /// The session name of an assumed-role ARN (`arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    pub fn session_name(&self) -> Option<&str> {
        assumed_role(self.arn.as_deref()?).map(|(_, session)| session)
    }

    /// The role name of an assumed-role ARN.
    pub fn role_name(&self) -> Option<&str> {
        assumed_role(self.arn.as_deref()?).map(|(role, _)| role)
    }

    /// The role behind a session, from the issuer's ARN (account, path and name as AWS
    /// records them).
    pub fn issuer_role(&self) -> Option<RoleArn<'_>> {
        RoleArn::parse(self.issuer_arn.as_deref()?)
    }

    /// The principal AWS vouches for: the session's issuer (a role, or the IAM user behind a
    /// federated session), else the caller's own ARN when it is an IAM user's or the root's.
    /// Never a session ARN, whose last part the caller chooses.
    pub fn principal(&self) -> Option<&str> {
        if let Some(issuer) = self.issuer_arn.as_deref() {
            return Some(issuer);
        }
        self.arn.as_deref().filter(|arn| {
            arn.split(':').nth(2) == Some("iam") && matches!(self.identity_type.as_deref(), Some("IAMUser" | "Root"))
        })
    }

    /// Who created something, as `{creator}` renders it: an IAM user's name; `root`; for an
    /// IAM Identity Center role, the session name (the person signed in, set by Identity
    /// Center); else the session's source identity when there is one; else the issuer role's
    /// name. Never the session name of any other role: its caller chose it.
    pub fn creator_name(&self) -> Option<String> {
        match self.identity_type.as_deref() {
            Some("IAMUser") => self.user_name.clone().or_else(|| {
                self.arn
                    .as_deref()?
                    .rsplit_once(":user/")
                    .map(|(_, u)| u.rsplit('/').next().unwrap_or(u).to_owned())
            }),
            Some("Root") => Some("root".to_owned()),
            _ => {
                let role = self.issuer_role();
                if role.is_some_and(|r| r.is_identity_center()) {
                    return self.session_name().map(str::to_owned);
                }
                self.source_identity
                    .clone()
                    .or_else(|| role.map(|r| r.name.to_owned()))
                    .or_else(|| self.role_name().map(str::to_owned))
            }
        }
    }
}

/// `(role, session)` of `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
fn assumed_role(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, _partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let resource = parts.nth(2)?;
    if prefix != "arn" || service != "sts" {
        return None;
    }
    resource.strip_prefix("assumed-role/")?.split_once('/')
}

/// Who and what produced an event, carried into the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventInfo {
    /// `eventSource`, e.g. `secretsmanager.amazonaws.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `eventName`, e.g. `UntagResource`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `eventID` of the CloudTrail record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `eventTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The caller; reports show its ARN.
    #[serde(serialize_with = "actor_arn", skip_serializing_if = "no_actor_arn")]
    pub actor: Actor,
    /// `recipientAccountId`: the account the call was made in.
    #[serde(skip)]
    pub account: Option<String>,
}

fn actor_arn<S: Serializer>(actor: &Actor, s: S) -> Result<S::Ok, S::Error> {
    actor.arn.serialize(s)
}

fn no_actor_arn(actor: &Actor) -> bool {
    actor.arn.is_none()
}

/// Everything known about a resource when it is evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceContext {
    /// What kind of resource.
    pub kind: ResourceKind,
    /// The canonical ARN, once known.
    pub arn: Option<String>,
    /// A secret's name; a KMS key's id.
    pub name: Option<String>,
    /// A KMS key's aliases without `alias/`, where known (the sweep lists them).
    pub aliases: Vec<String>,
    /// The names memory says a `match.names` rule matched the resource by (a KMS key's aliases,
    /// without `alias/`): losing an alias does not take the key out of the rule.
    pub former_names: Vec<String>,
    /// The account the resource lives in.
    pub account: Option<String>,
    /// The region the resource lives in.
    pub region: Option<String>,
    /// On the event path, the event that named the resource.
    pub event: Option<EventInfo>,
    /// The tag values remembered for this resource (empty without memory).
    pub remembered: Tags,
    /// Today (UTC), for waivers; unknown means no waiver is in force.
    pub today: Option<Date>,
}

impl ResourceContext {
    /// A context that knows only the kind.
    pub fn new(kind: ResourceKind) -> Self {
        ResourceContext {
            kind,
            arn: None,
            name: None,
            aliases: Vec::new(),
            former_names: Vec::new(),
            account: None,
            region: None,
            event: None,
            remembered: Tags::new(),
            today: None,
        }
    }

    /// Learns the canonical ARN, and from it the account and region when not known yet. An
    /// identifier that is not an ARN (offline, a secret's name) teaches nothing.
    pub fn with_arn(mut self, arn: &str) -> Self {
        if !arn.starts_with("arn:") {
            return self;
        }
        if let Some((region, account)) = arn_region_account(arn) {
            self.account = self.account.or(Some(account.to_owned()));
            self.region = self.region.or(Some(region.to_owned()));
        }
        self.arn = Some(arn.to_owned());
        self
    }
}

/// The account of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`), if it names one.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn_region_account(arn).map(|(_, account)| account)
}

/// The region of an ARN, if it names one.
pub fn arn_region(arn: &str) -> Option<&str> {
    arn_region_account(arn).map(|(region, _)| region)
}

fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let (_partition, _service, region, account) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    parts.next()?;
    Some((region, account)).filter(|(r, a)| !r.is_empty() && !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_and_role_names_are_read_from_assumed_role_arns_only() {
        let actor = |arn: &str| Actor {
            arn: Some(arn.to_owned()),
            ..Actor::default()
        };
        let a = actor("arn:aws:sts::123456789012:assumed-role/warden-role/tag-warden");
        assert_eq!(
            (a.role_name(), a.session_name()),
            (Some("warden-role"), Some("tag-warden"))
        );
        assert_eq!(
            actor("arn:aws-us-gov:sts::123456789012:assumed-role/r/s").session_name(),
            Some("s")
        );
        assert_eq!(actor("arn:aws:iam::123456789012:user/Alice").session_name(), None);
        assert_eq!(actor("arn:aws:iam::123456789012:role/r/s").session_name(), None);
        assert_eq!(actor("not-an-arn").session_name(), None);
    }

    #[test]
    fn an_arn_gives_the_account_and_region_unless_they_are_known() {
        let c = ResourceContext::new(ResourceKind::Secret)
            .with_arn("arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf");
        assert_eq!(
            (c.account.as_deref(), c.region.as_deref()),
            (Some("111122223333"), Some("eu-west-1"))
        );
        let mut known = ResourceContext::new(ResourceKind::KmsKey);
        known.region = Some("us-east-1".into());
        let c = known.with_arn("arn:aws:kms:us-west-2:111122223333:key/k");
        assert_eq!(c.region.as_deref(), Some("us-east-1"));
        assert_eq!(arn_account("arn:aws:s3:::bucket"), None);
        assert_eq!(arn_account("prod/db"), None);
        assert_eq!(
            arn_region("arn:aws:events:eu-west-1:111122223333:event-bus/findings"),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("arn:aws:iam::111122223333:role/r"), None);
        assert_eq!(arn_region("findings"), None);
    }

    #[test]
    fn the_report_shows_the_actor_as_its_arn() {
        let mut e = EventInfo::default();
        assert_eq!(serde_json::to_value(&e).unwrap(), serde_json::json!({}));
        e.actor.arn = Some("arn:aws:iam::1:user/Alice".into());
        e.actor.identity_type = Some("IAMUser".into());
        e.account = Some("1".into());
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"actor": "arn:aws:iam::1:user/Alice"})
        );
    }
}
