//! Why a resource must not be written to now: a fact an adapter read (the resource's state or
//! who manages it), not a failure. The adapters report the fact; its wording, the reason a
//! report entry gives, lives here and only here ([`Refusal`]'s `Display`).

use std::fmt;

/// A resource AWS would refuse tag changes on, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A secret scheduled for deletion (DescribeSecret's `DeletedDate`).
    SecretScheduledForDeletion,
    /// A secret another service manages (its `OwningService`, e.g. `rds`).
    SecretManagedBy(String),
    /// A KMS key AWS manages, as DescribeKey's `KeyManager` says.
    AwsManagedKey,
    /// A KMS key AWS manages, as a listing's `alias/aws/*` alias says (no DescribeKey made).
    AwsManagedAlias,
    /// A KMS key in a state in which KMS refuses tag changes.
    KeyState(PendingKeyState),
    /// A replica of a multi-Region secret: Secrets Manager copies the primary's tags to it and
    /// refuses tag changes on it ("Operation not permitted on a replica secret").
    Replica(ReplicaOf),
}

/// The primary of a replica secret: where its tags are set (and fixed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaOf {
    /// The primary's ARN (the replica's with the primary's Region).
    pub primary_arn: String,
    /// The primary's Region (DescribeSecret's and ListSecrets' `PrimaryRegion`).
    pub primary_region: String,
}

impl ReplicaOf {
    /// The primary of the replica `replica_arn` whose `PrimaryRegion` is `primary_region`:
    /// `None` when it is no replica (no primary Region, or its own), or the ARN names no Region.
    pub fn of(replica_arn: &str, primary_region: Option<&str>) -> Option<Self> {
        let primary_region = primary_region.filter(|r| !r.is_empty())?;
        let mut parts: Vec<&str> = replica_arn.splitn(5, ':').collect();
        let region = parts.get_mut(3)?;
        if *region == primary_region || region.is_empty() {
            return None;
        }
        *region = primary_region;
        Some(ReplicaOf {
            primary_arn: parts.join(":"),
            primary_region: primary_region.to_owned(),
        })
    }
}

/// The KMS key states in which TagResource and UntagResource fail (KMSInvalidStateException).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingKeyState {
    /// `PendingDeletion`.
    PendingDeletion,
    /// `PendingReplicaDeletion`.
    PendingReplicaDeletion,
}

impl PendingKeyState {
    /// The state as KMS names it.
    pub fn as_str(self) -> &'static str {
        match self {
            PendingKeyState::PendingDeletion => "PendingDeletion",
            PendingKeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::SecretScheduledForDeletion => {
                f.write_str("the secret is scheduled for deletion: Secrets Manager refuses tag changes")
            }
            Refusal::SecretManagedBy(service) => {
                write!(
                    f,
                    "the secret is managed by `{service}`: Secrets Manager refuses tag changes"
                )
            }
            Refusal::AwsManagedKey => f.write_str("AWS-managed key: only customer-managed keys can be tagged"),
            Refusal::AwsManagedAlias => {
                f.write_str("AWS-managed key (alias/aws/*): only customer-managed keys can be tagged")
            }
            Refusal::KeyState(state) => write!(f, "key state {}: KMS refuses tag changes", state.as_str()),
            Refusal::Replica(of) => write!(
                f,
                "replica of {}: tags follow the primary in {}",
                of.primary_arn, of.primary_region
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_says_what_refuses_and_why() {
        assert_eq!(
            Refusal::SecretManagedBy("rds".into()).to_string(),
            "the secret is managed by `rds`: Secrets Manager refuses tag changes"
        );
        assert_eq!(
            Refusal::KeyState(PendingKeyState::PendingReplicaDeletion).to_string(),
            "key state PendingReplicaDeletion: KMS refuses tag changes"
        );
        assert!(Refusal::SecretScheduledForDeletion
            .to_string()
            .contains("scheduled for deletion"));
        assert!(Refusal::AwsManagedAlias.to_string().contains("alias/aws/*"));
        assert!(!Refusal::AwsManagedKey.to_string().contains("alias"));
    }

    #[test]
    fn a_replica_names_its_primary_by_the_arn_with_the_primary_region() {
        let replica = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";
        let of = ReplicaOf::of(replica, Some("us-east-1")).unwrap();
        assert_eq!(
            of.primary_arn,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
        );
        assert_eq!(
            Refusal::Replica(of).to_string(),
            "replica of arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf: \
             tags follow the primary in us-east-1"
        );
        // The primary itself (moto and AWS may name its own Region), and no Region at all.
        assert_eq!(ReplicaOf::of(replica, Some("eu-west-1")), None);
        assert_eq!(ReplicaOf::of(replica, None), None);
        assert_eq!(ReplicaOf::of("prod/db", Some("us-east-1")), None);
    }
}
