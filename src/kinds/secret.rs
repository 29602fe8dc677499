//! An AWS Secrets Manager secret.

use super::{string_at, Iam, KindSpec, Naming, Service, Trail};
use crate::domain::TagLimits;
use serde_json::Value;

/// What is particular to a secret.
pub(super) const SPEC: KindSpec = KindSpec {
    noun: "secret",
    title: "Secrets Manager secret",
    arn_form: "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
    plural: "Secrets",
    service: Service::SecretsManager,
    resource_type: "secret",
    arn_separator: ':',
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Tag.html
    limits: TagLimits {
        max_key_chars: 127,
        max_value_chars: 255,
        max_user_tags: 50,
    },
    trail: Trail {
        events: &[
            "CreateSecret",
            "ReplicateSecretToRegions",
            "TagResource",
            "UntagResource",
            "UpdateSecret",
        ],
        creations: &["CreateSecret"],
        resource_id,
        id_fields,
        region: |_, _, _| None,
        tag_fields: ("key", "value"),
    },
    naming: Naming::Own {
        from_arn: name_of_arn,
        // A secret's ARN is its name, `-` and six random characters.
        arn_like: "arn:*:secretsmanager:*:*:secret:{}-??????",
    },
    name_means: "the secret's name",
    iam: Iam {
        tag: "secretsmanager:TagResource",
        untag: "secretsmanager:UntagResource",
        create: "secretsmanager:CreateSecret",
        create_on_resource: true,
        replicate: Some((
            &["secretsmanager:ReplicateSecretToRegions", "secretsmanager:CreateSecret"],
            "secretsmanager:AddReplicaRegions",
        )),
        replicate_note: None,
    },
    security_hub: ("AwsSecretsManagerSecret", "Secret"),
};

/// CreateSecret names the secret in `responseElements.arn` (older records: `aRN`), or by
/// `requestParameters.name`; every other call by `requestParameters.secretId`.
fn resource_id(rec: &Value, name: &str) -> Option<String> {
    if name == "CreateSecret" {
        string_at(rec, &["responseElements", "arn"])
            .or_else(|| string_at(rec, &["responseElements", "aRN"]))
            .or_else(|| string_at(rec, &["requestParameters", "name"]))
    } else {
        string_at(rec, &["requestParameters", "secretId"])
    }
}

fn id_fields(name: &str) -> &'static str {
    match name {
        "CreateSecret" => "responseElements.arn, responseElements.aRN or requestParameters.name",
        _ => "requestParameters.secretId",
    }
}

/// A secret's name from its full ARN (`…:secret:NAME-AbCdEf`: Secrets Manager appends a dash
/// and six random characters).
fn name_of_arn(arn: &str) -> Option<&str> {
    let tail = arn.split_once(":secret:")?.1;
    let (name, suffix) = tail.rsplit_once('-')?;
    (suffix.len() == 6).then_some(name)
}
