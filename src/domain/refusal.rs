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
}
