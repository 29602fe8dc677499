//! Principals as AWS vouches for them: an IAM role's ARN (the issuer of a session), an IAM
//! user's ARN, the identity tag-warden runs as. A session's *name* is free text to whoever
//! calls AssumeRole, so trust never rests on it: these types read only the parts AWS sets.

/// An IAM role ARN, `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleArn<'a> {
    /// `aws`, `aws-us-gov`, `aws-cn`.
    pub partition: &'a str,
    /// The account the role lives in.
    pub account: &'a str,
    /// The role's path without its slashes at either end (`""` for `/`).
    pub path: &'a str,
    /// The role's name.
    pub name: &'a str,
}

impl<'a> RoleArn<'a> {
    /// Splits an IAM role ARN; anything else (a session ARN, a user) is `None`.
    pub fn parse(arn: &'a str) -> Option<RoleArn<'a>> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if prefix != "arn" || service != "iam" || !region.is_empty() || account.is_empty() {
            return None;
        }
        let full = resource.strip_prefix("role/")?;
        let (path, name) = match full.rsplit_once('/') {
            Some((path, name)) => (path.trim_matches('/'), name),
            None => ("", full),
        };
        (!name.is_empty()).then_some(RoleArn {
            partition,
            account,
            path,
            name,
        })
    }

    /// The role's path and name as `TAG_WARDEN_MEMBER_ROLE` writes them (`path/name`, or
    /// `name` at the root path).
    pub fn path_and_name(&self) -> String {
        if self.path.is_empty() {
            self.name.to_owned()
        } else {
            format!("{}/{}", self.path, self.name)
        }
    }

    /// An IAM Identity Center (SSO) permission set's role: its sessions are named after the
    /// person signed in, and Identity Center sets that name, not the caller.
    pub fn is_identity_center(&self) -> bool {
        self.path == "aws-reserved/sso.amazonaws.com" || self.path.starts_with("aws-reserved/sso.amazonaws.com/")
    }
}

/// Who tag-warden runs as: STS GetCallerIdentity's answer, asked once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The account of the credentials: the function's own account.
    pub account: String,
    /// The caller's ARN: `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION` for a Lambda
    /// function (or any role), `arn:PARTITION:iam::ACCOUNT:user/NAME` for a user.
    pub arn: String,
}

impl Identity {
    /// The role behind an assumed-role identity (its name: STS does not show the path).
    pub fn role_name(&self) -> Option<&str> {
        let (_, rest) = self.arn.split_once(":assumed-role/")?;
        rest.split_once('/').map(|(role, _)| role).filter(|r| !r.is_empty())
    }

    /// Whether `actor` is this identity: for a role, a session whose *issuer* is that role in
    /// this account (whatever the session is named); for a user, that user's ARN.
    pub fn made(&self, actor: &super::Actor) -> bool {
        match self.role_name() {
            Some(role) => actor
                .issuer_role()
                .is_some_and(|r| r.account == self.account && r.name == role),
            None => {
                actor.identity_type.as_deref() == Some("IAMUser") && actor.arn.as_deref() == Some(self.arn.as_str())
            }
        }
    }
}

/// Whether an ARN glob could only ever match session ARNs (`arn:…:sts::…:assumed-role/…`),
/// whose last part the caller chooses: such a glob cannot name a trusted principal.
pub fn names_sessions(glob: &str) -> bool {
    let g = glob.to_ascii_lowercase();
    g.contains(":sts:") || g.contains("assumed-role/") || g.contains("federated-user/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Actor;

    #[test]
    fn role_arns_are_split_with_their_path() {
        let r = RoleArn::parse("arn:aws:iam::111122223333:role/ops/tag-warden-member").unwrap();
        assert_eq!(
            (r.account, r.path, r.name),
            ("111122223333", "ops", "tag-warden-member")
        );
        assert_eq!(r.path_and_name(), "ops/tag-warden-member");
        let r = RoleArn::parse("arn:aws:iam::111122223333:role/warden").unwrap();
        assert_eq!((r.path, r.path_and_name().as_str()), ("", "warden"));
        let sso = RoleArn::parse(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123",
        )
        .unwrap();
        assert!(sso.is_identity_center());
        assert!(!r.is_identity_center());
        for not in [
            "arn:aws:sts::111122223333:assumed-role/warden/s",
            "arn:aws:iam::111122223333:user/warden",
            "arn:aws:iam:::role/x",
            "role/x",
        ] {
            assert_eq!(RoleArn::parse(not), None, "{not}");
        }
    }

    fn session(issuer: &str, session_arn: &str) -> Actor {
        Actor {
            identity_type: Some("AssumedRole".into()),
            arn: Some(session_arn.into()),
            issuer_arn: Some(issuer.into()),
            ..Actor::default()
        }
    }

    #[test]
    fn the_function_is_known_by_its_role_and_account_never_by_a_session_name() {
        let me = Identity {
            account: "111122223333".into(),
            arn: "arn:aws:sts::111122223333:assumed-role/warden-role/tag-warden".into(),
        };
        assert!(me.made(&session(
            "arn:aws:iam::111122223333:role/service-role/warden-role",
            "arn:aws:sts::111122223333:assumed-role/warden-role/anything"
        )));
        // Named like the function, in another role: not the function.
        assert!(!me.made(&session(
            "arn:aws:iam::111122223333:role/ci",
            "arn:aws:sts::111122223333:assumed-role/ci/tag-warden"
        )));
        // The same role name in another account: not the function.
        assert!(!me.made(&session(
            "arn:aws:iam::444455556666:role/warden-role",
            "arn:aws:sts::444455556666:assumed-role/warden-role/tag-warden"
        )));
        let user = Identity {
            account: "111122223333".into(),
            arn: "arn:aws:iam::111122223333:user/admin".into(),
        };
        let mut actor = Actor {
            identity_type: Some("IAMUser".into()),
            arn: Some("arn:aws:iam::111122223333:user/admin".into()),
            ..Actor::default()
        };
        assert!(user.made(&actor));
        actor.arn = Some("arn:aws:iam::111122223333:user/other".into());
        assert!(!user.made(&actor));
    }

    #[test]
    fn globs_over_session_arns_are_recognised() {
        assert!(names_sessions("arn:aws:sts::*:assumed-role/terraform/*"));
        assert!(names_sessions("*assumed-role/ci*"));
        assert!(!names_sessions("arn:aws:iam::111122223333:role/terraform"));
        assert!(!names_sessions("arn:aws:iam::*:user/deployer"));
    }
}
