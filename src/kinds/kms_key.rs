//! A customer-managed AWS KMS key.

use super::{string_at, Iam, KindSpec, Naming, Service, Trail};
use crate::domain::TagLimits;
use serde_json::Value;

/// KMS's call that creates a replica key in another Region (`requestParameters.replicaRegion`),
/// with tags of its own: the replica is judged there, not the primary the record's
/// `resources[]` names.
const REPLICATE_KEY: &str = "ReplicateKey";

/// What is particular to a KMS key.
pub(super) const SPEC: KindSpec = KindSpec {
    noun: "KMS key",
    title: "KMS key",
    arn_form: "arn:aws:kms:REGION:ACCOUNT:key/ID",
    plural: "Keys",
    service: Service::Kms,
    resource_type: "key",
    arn_separator: '/',
    // https://docs.aws.amazon.com/kms/latest/APIReference/API_Tag.html
    limits: TagLimits {
        max_key_chars: 128,
        max_value_chars: 256,
        max_user_tags: 50,
    },
    trail: Trail {
        events: &["CreateKey", REPLICATE_KEY, "TagResource", "UntagResource"],
        creations: &["CreateKey", REPLICATE_KEY],
        resource_id,
        id_fields,
        region,
        tag_fields: ("tagKey", "tagValue"),
    },
    naming: Naming::Aliases {
        condition_key: "kms:ResourceAliases",
        prefix: "alias/",
    },
    name_means: "an alias of the key",
    iam: Iam {
        tag: "kms:TagResource",
        untag: "kms:UntagResource",
        // Tags given at CreateKey are authorized through `kms:TagResource`, against no
        // particular key.
        create: "kms:CreateKey",
        create_on_resource: false,
        replicate: None,
        replicate_note: Some(
            "kms:ReplicateKey takes tags of its own, with no tag condition keys of its own: they are authorized as kms:CreateKey and kms:TagResource in the replica's Region, which the SCP's KMS statements cover; in an RCP, tag-warden judges the replica at runtime",
        ),
    },
    security_hub: ("AwsKmsKey", "KMS key"),
};

/// The key's ARN in `resources[]` (type `AWS::KMS::Key`), else what the call gave: CreateKey's
/// `responseElements.keyMetadata`, an ARN in `responseElements.keyId`, or
/// `requestParameters.keyId`. ReplicateKey: the new replica's ARN only.
fn resource_id(rec: &Value, name: &str) -> Option<String> {
    let from_resources = rec.get("resources").and_then(Value::as_array).and_then(|rs| {
        rs.iter()
            .filter(|r| {
                r.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "AWS::KMS::Key")
            })
            .find_map(|r| string_at(r, &["ARN"]))
    });
    if name == REPLICATE_KEY {
        return string_at(rec, &["responseElements", "replicaKeyMetadata", "arn"]);
    }
    let from_request = if name == "CreateKey" {
        string_at(rec, &["responseElements", "keyMetadata", "arn"])
            .or_else(|| string_at(rec, &["responseElements", "keyMetadata", "keyId"]))
    } else {
        string_at(rec, &["responseElements", "keyId"])
            .filter(|k| k.starts_with("arn:"))
            .or_else(|| string_at(rec, &["requestParameters", "keyId"]))
    };
    from_resources.or(from_request)
}

fn id_fields(name: &str) -> &'static str {
    match name {
        "CreateKey" => "resources[].ARN or responseElements.keyMetadata.arn/keyId",
        REPLICATE_KEY => "responseElements.replicaKeyMetadata.arn",
        _ => "resources[].ARN or requestParameters.keyId",
    }
}

/// A replica key lives in the replica Region, which its ARN (or the request) names.
fn region(rec: &Value, name: &str, id: &str) -> Option<String> {
    (name == REPLICATE_KEY).then_some(())?;
    crate::domain::arn_region(id)
        .map(str::to_owned)
        .or_else(|| string_at(rec, &["requestParameters", "replicaRegion"]))
}
