//! Layer 1½, kinds: what is particular to each kind of resource, one module per kind, behind
//! one interface ([`KindSpec`]) that the pure core, the runners, the views and the adapters
//! read without knowing which kind they hold.
//!
//! A kind's module says: the AWS service that holds it and serves it ([`Service`]: its event
//! source, its write quotas, which adapter), its ARN's form, its tag limits, how a CloudTrail
//! record names it and spells its tags ([`Trail`]), how it is named ([`Naming`]: a name of its
//! own, or aliases read apart), its IAM actions and what a guardrail can scope ([`Iam`]), its
//! tag-policy resource type and how Security Hub calls it. Data and small pure functions
//! only: no SDK type, no I/O, nothing of the crate but `domain`.
//!
//! The registry is [`ResourceKind::spec`], the one `match` on the kinds (a `const fn`); the
//! tables below ([`SUPPORTED_EVENTS`], [`SUPPORTED_TAG_CHANGES`], [`CREATION_EVENTS`]) are made
//! from it while building. See ARCHITECTURE.md, "Adding a kind".

mod kms_key;
mod secret;

use crate::domain::{ResourceKind, TagLimits};
use serde_json::Value;

/// The AWS services whose resources tag-warden governs. A service holds one or more kinds;
/// its adapter (one file under `adapters/aws/`) serves them, and its write quota is paced once
/// per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// AWS Secrets Manager.
    SecretsManager,
    /// AWS Key Management Service.
    Kms,
}

impl Service {
    /// The IAM and ARN service prefix (`secretsmanager`, `kms`), also `detail.service` of a
    /// "Tag Change on Resource" event and the service half of a tag policy's
    /// `service:resource_type`.
    pub const fn prefix(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Kms => "kms",
        }
    }

    /// The name people read: `Secrets Manager`, `KMS`.
    pub fn title(self) -> &'static str {
        match self {
            Service::SecretsManager => "Secrets Manager",
            Service::Kms => "KMS",
        }
    }

    /// A CloudTrail record's `eventSource` (`secretsmanager.amazonaws.com`).
    pub const fn event_source(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager.amazonaws.com",
            Service::Kms => "kms.amazonaws.com",
        }
    }

    /// An EventBridge rule's `source` for the service's CloudTrail events (`aws.kms`).
    pub const fn rule_source(self) -> &'static str {
        match self {
            Service::SecretsManager => "aws.secretsmanager",
            Service::Kms => "aws.kms",
        }
    }

    /// How the service's tag writes are paced: Secrets Manager's TagResource and
    /// UntagResource share one quota (50 TPS per Region); KMS's each have their own.
    pub fn write_quota(self) -> WriteQuota {
        match self {
            Service::SecretsManager => WriteQuota::Shared,
            Service::Kms => WriteQuota::PerOperation,
        }
    }
}

/// Whether a service's tag and untag calls draw on one quota or on one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteQuota {
    /// TagResource and UntagResource share one rate.
    Shared,
    /// TagResource and UntagResource each have the rate.
    PerOperation,
}

/// How a resource of a kind is named, for `match.names` and `{name}`.
#[derive(Debug, Clone, Copy)]
pub enum Naming {
    /// A name of its own, read with the resource and never changed (a secret's name); its ARN
    /// carries it, and IAM can scope calls to it by ARN.
    Own {
        /// The name in a full ARN, when the ARN carries it.
        from_arn: fn(&str) -> Option<&str>,
        /// An `ArnLike` pattern for the resources whose name matches `{}` (a `StringLike`
        /// glob).
        arn_like: &'static str,
    },
    /// Aliases, read apart (one more call, only when a rule needs them) and changeable: a rule
    /// matched by an alias keeps the resource once the alias is gone (memory keeps it), and IAM
    /// scopes by a condition key.
    Aliases {
        /// The condition key IAM offers for them (`kms:ResourceAliases`).
        condition_key: &'static str,
        /// What IAM's values carry before the alias (`alias/`).
        prefix: &'static str,
    },
}

/// How CloudTrail records a kind's calls.
#[derive(Debug, Clone, Copy)]
pub struct Trail {
    /// The calls acted on: those that set or remove tags, and those that create or change the
    /// resource.
    pub events: &'static [&'static str],
    /// Of those, the calls that make a new resource (judged whoever made them; `{created_by}`
    /// is known from them).
    pub creations: &'static [&'static str],
    /// The resource a record names (a name, partial or full ARN, or key id, as the call gave
    /// it), for `eventName`.
    pub resource_id: fn(rec: &Value, event_name: &str) -> Option<String>,
    /// Where [`Trail::resource_id`] looks, for an error that says what was missing.
    pub id_fields: fn(event_name: &str) -> &'static str,
    /// The Region a call made its resource in, when not the record's `awsRegion` (a replica
    /// made in another Region), given the id found.
    pub region: fn(rec: &Value, event_name: &str, resource_id: &str) -> Option<String>,
    /// The field names of one entry of `requestParameters.tags`: (`key`, `value`) or
    /// (`tagKey`, `tagValue`).
    pub tag_fields: (&'static str, &'static str),
}

/// A kind's IAM actions, and what a guardrail (SCP or RCP) can say about them.
#[derive(Debug, Clone, Copy)]
pub struct Iam {
    /// The action that adds or overwrites tags.
    pub tag: &'static str,
    /// The action that removes tags.
    pub untag: &'static str,
    /// The call that creates a resource, with tags of its own.
    pub create: &'static str,
    /// Whether tags given at creation are authorized against the new resource (so a guardrail
    /// can scope them by ARN and an RCP can govern them); when not, against no resource.
    pub create_on_resource: bool,
    /// The calls that copy the resource, tags and all, into other Regions, and the condition
    /// key naming those Regions: a rule kept to some Regions denies copying out of them.
    pub replicate: Option<(&'static [&'static str], &'static str)>,
    /// What a guardrail says of a replication it leaves to tag-warden.
    pub replicate_note: Option<&'static str>,
}

/// Everything particular to one kind of resource.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// The word people read (`secret`, `KMS key`).
    pub noun: &'static str,
    /// The name with its service, for a message (`Secrets Manager secret`, `KMS key`).
    pub title: &'static str,
    /// Its ARN's form, for a message (`arn:aws:kms:REGION:ACCOUNT:key/ID`).
    pub arn_form: &'static str,
    /// A word for a statement's id (`Secrets`, `Keys`).
    pub plural: &'static str,
    /// The service that holds it.
    pub service: Service,
    /// Its resource type, as its ARN, a tag policy and a "Tag Change on Resource" event name
    /// it (`secret`, `key`).
    pub resource_type: &'static str,
    /// What follows the resource type in its ARN (`:` in `secret:NAME-AbCdEf`, `/` in
    /// `key/ID`).
    pub arn_separator: char,
    /// Its tag limits.
    pub limits: TagLimits,
    /// How its calls are recorded.
    pub trail: Trail,
    /// How it is named.
    pub naming: Naming,
    /// What a name means, for a message (`the secret's name`).
    pub name_means: &'static str,
    /// Its IAM actions.
    pub iam: Iam,
    /// Security Hub's resource type (`AwsSecretsManagerSecret`) and the word a finding's title
    /// uses.
    pub security_hub: (&'static str, &'static str),
}

impl KindSpec {
    /// IAM's resource pattern for every resource of this kind in `account`, in any Region
    /// (`arn:PARTITION:kms:*:ACCOUNT:key/*`): what its read and tag grants are kept to.
    pub fn arn_pattern(&self, partition: &str, account: &str) -> String {
        format!(
            "arn:{partition}:{}:*:{account}:{}{}*",
            self.service.prefix(),
            self.resource_type,
            self.arn_separator
        )
    }

    /// Whether a resource is named by aliases read apart.
    pub fn named_by_aliases(&self) -> bool {
        matches!(self.naming, Naming::Aliases { .. })
    }
}

impl ResourceKind {
    /// What is particular to this kind: the registry, where each kind's module is named (the
    /// tables below are made from it).
    pub const fn spec(self) -> &'static KindSpec {
        match self {
            ResourceKind::Secret => &secret::SPEC,
            ResourceKind::KmsKey => &kms_key::SPEC,
        }
    }

    /// The kind an ARN names (`arn:…:secretsmanager:…:secret:…`, `arn:…:kms:…:key/…`).
    pub fn of_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, _, service) = (parts.next()?, parts.next()?, parts.next()?);
        let resource = parts.nth(2)?;
        (prefix == "arn").then_some(())?;
        Self::ALL.into_iter().find(|k| {
            let spec = k.spec();
            resource
                .strip_prefix(spec.resource_type)
                .is_some_and(|rest| rest.starts_with(spec.arn_separator))
                && spec.service.prefix() == service
        })
    }

    /// The kind a CloudTrail record's `eventSource` names.
    pub fn of_event_source(source: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.spec().service.event_source() == source)
    }

    /// The kind of a "Tag Change on Resource" event's `detail.service` and
    /// `detail.resource-type`.
    pub fn of_tag_change(service: &str, resource_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.spec().service.prefix() == service && k.spec().resource_type == resource_type)
    }

    /// The service's tag limits for this kind.
    pub fn limits(self) -> TagLimits {
        self.spec().limits
    }
}

/// How many kinds there are.
const N: usize = ResourceKind::ALL.len();

/// The (EventBridge source, event names) pairs tag-warden acts on: the single source of truth
/// that the SAM template's EventBridge patterns are checked against.
#[allow(clippy::indexing_slicing)] // evaluated while building: an index out of range fails the build
pub const SUPPORTED_EVENTS: &[(&str, &[&str])] = &{
    let mut out: [(&str, &[&str]); N] = [("", &[]); N];
    let mut i = 0;
    while i < N {
        let spec = ResourceKind::ALL[i].spec();
        out[i] = (spec.service.rule_source(), spec.trail.events);
        i += 1;
    }
    out
};

/// The (`detail.service`, `detail.resource-type`) pairs of "Tag Change on Resource" governed:
/// the single source of truth the template's `aws.tag` rule is checked against.
#[allow(clippy::indexing_slicing)] // evaluated while building: an index out of range fails the build
pub const SUPPORTED_TAG_CHANGES: &[(&str, &str, ResourceKind)] = &{
    let mut out = [("", "", ResourceKind::ALL[0]); N];
    let mut i = 0;
    while i < N {
        let kind = ResourceKind::ALL[i];
        out[i] = (kind.spec().service.prefix(), kind.spec().resource_type, kind);
        i += 1;
    }
    out
};

#[allow(clippy::indexing_slicing)] // evaluated while building: an index out of range fails the build
const CREATIONS: usize = {
    let (mut n, mut i) = (0, 0);
    while i < N {
        n += ResourceKind::ALL[i].spec().trail.creations.len();
        i += 1;
    }
    n
};

/// The calls that create a resource, of every kind.
#[allow(clippy::indexing_slicing)] // evaluated while building: an index out of range fails the build
pub const CREATION_EVENTS: &[&str] = &{
    let mut out = [""; CREATIONS];
    let (mut n, mut i) = (0, 0);
    while i < N {
        let creations = ResourceKind::ALL[i].spec().trail.creations;
        let mut j = 0;
        while j < creations.len() {
            out[n] = creations[j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    out
};

/// Every kind's noun, for a message, joined by `separator`: `secret or KMS key` (" or "),
/// `secret or a KMS key` (" or a ").
pub fn nouns(separator: &str) -> String {
    ResourceKind::ALL.map(|k| k.spec().noun).join(separator)
}

/// Every kind's policy name, for a message: `` `secret` or `kms-key` ``.
pub fn names() -> String {
    ResourceKind::ALL.map(|k| format!("`{k}`")).join(" or ")
}

/// A non-empty string at `path` of a JSON value, or None for absent, null, non-string or empty.
pub fn string_at(v: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_names_its_kind() {
        let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";
        assert_eq!(ResourceKind::of_arn(secret), Some(ResourceKind::Secret));
        let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(ResourceKind::of_arn(key), Some(ResourceKind::KmsKey));
        assert_eq!(ResourceKind::of_arn("arn:aws:kms:us-east-1:123456789012:alias/x"), None);
        assert_eq!(ResourceKind::of_arn("prod/db"), None);
    }

    #[test]
    fn the_tables_follow_the_kinds_order() {
        for (i, kind) in ResourceKind::ALL.into_iter().enumerate() {
            assert_eq!(SUPPORTED_EVENTS[i].1, kind.spec().trail.events, "{kind}");
            assert_eq!(SUPPORTED_TAG_CHANGES[i].2, kind);
        }
        assert_eq!(CREATION_EVENTS, ["CreateSecret", "CreateKey", "ReplicateKey"]);
    }

    #[test]
    fn a_record_names_its_kind_by_its_source() {
        assert_eq!(
            ResourceKind::of_event_source("kms.amazonaws.com"),
            Some(ResourceKind::KmsKey)
        );
        assert_eq!(
            ResourceKind::of_event_source("secretsmanager.amazonaws.com"),
            Some(ResourceKind::Secret)
        );
        assert_eq!(ResourceKind::of_event_source("s3.amazonaws.com"), None);
        assert_eq!(ResourceKind::of_tag_change("kms", "key"), Some(ResourceKind::KmsKey));
        assert_eq!(ResourceKind::of_tag_change("kms", "alias"), None);
    }
}
