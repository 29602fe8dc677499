//! KMS adapter: DescribeKey, ListResourceTags (every page), TagResource, UntagResource.

use super::{ApiError, ErrorKind, Inventory, Listed, ResourceState, TagStore};
use crate::model::Tags;
use aws_sdk_kms::types::{KeyManagerType, KeyState, Tag};
use aws_sdk_kms::Client;
use std::collections::BTreeSet;
use tracing::instrument;

const NOT_FOUND: (ErrorKind, &str) = (ErrorKind::NotFound, "NotFoundException");
/// KMS's answer to tagging a key pending deletion.
const INVALID_STATE: (ErrorKind, &str) = (ErrorKind::InvalidState, "KMSInvalidStateException");

/// Tags customer-managed keys through the KMS API.
#[derive(Debug, Clone)]
pub struct KmsStore {
    client: Client,
}

impl KmsStore {
    /// Wraps a client (its region is the store's region).
    pub fn new(client: Client) -> Self {
        KmsStore { client }
    }

    /// DescribeKey, a missing key mapped to NotFound (the event path's read and the sweep's
    /// write guard both need the key's manager and state).
    async fn describe(&self, id: &str) -> Result<aws_sdk_kms::operation::describe_key::DescribeKeyOutput, ApiError> {
        self.client.describe_key().key_id(id).send().await.map_err(|e| {
            ApiError::from_sdk("kms:DescribeKey", id, e, |e| {
                e.is_not_found_exception().then_some(NOT_FOUND)
            })
        })
    }

    /// Key ids that `alias/aws/*` aliases point at: the AWS-managed keys.
    async fn aws_managed(&self) -> Result<BTreeSet<String>, ApiError> {
        let mut managed = BTreeSet::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_aliases()
                .limit(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("kms:ListAliases", "*", e, |_| None))?;
            managed.extend(
                out.aliases()
                    .iter()
                    .filter(|a| a.alias_name().is_some_and(|n| n.starts_with("alias/aws/")))
                    .filter_map(|a| a.target_key_id().map(str::to_owned)),
            );
            match out.next_marker() {
                Some(next) if out.truncated() => marker = Some(next.to_owned()),
                _ => return Ok(managed),
            }
        }
    }

    async fn list_tags(&self, arn: &str) -> Result<Tags, ApiError> {
        let mut tags = Tags::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_resource_tags()
                .key_id(arn)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| {
                    ApiError::from_sdk("kms:ListResourceTags", arn, e, |e| {
                        e.is_not_found_exception().then_some(NOT_FOUND)
                    })
                })?;
            tags.extend(
                out.tags()
                    .iter()
                    .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned())),
            );
            match out.next_marker() {
                Some(next) if out.truncated() => marker = Some(next.to_owned()),
                _ => return Ok(tags),
            }
        }
    }
}

/// Why a key's state or manager forbids tag changes, if it does.
fn refusal(manager: Option<&KeyManagerType>, state: Option<&KeyState>) -> Option<String> {
    if manager == Some(&KeyManagerType::Aws) {
        return Some("AWS-managed key: only customer-managed keys can be tagged".to_owned());
    }
    match state {
        Some(s @ (KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)) => {
            Some(format!("key state {}: KMS refuses tag changes", s.as_str()))
        }
        _ => None,
    }
}

impl TagStore for KmsStore {
    #[instrument(skip(self), level = "debug")]
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        let out = self.describe(id).await?;
        let Some(meta) = out.key_metadata() else {
            return Err(ApiError {
                operation: "kms:DescribeKey",
                resource: id.to_owned(),
                kind: ErrorKind::Other,
                code: "MissingKeyMetadata".to_owned(),
                message: "the response carried no KeyMetadata".to_owned(),
            });
        };
        let arn = meta.arn().unwrap_or(id).to_owned();
        let skip = refusal(meta.key_manager(), meta.key_state());
        // A key that cannot be tagged needs no tag read: one call is enough to skip it.
        let tags = if skip.is_some() {
            Tags::new()
        } else {
            self.list_tags(&arn).await?
        };
        Ok(ResourceState { arn, tags, skip })
    }

    #[instrument(skip(self), level = "debug")]
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.client
            .untag_resource()
            .key_id(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| {
                ApiError::from_sdk("kms:UntagResource", arn, e, |e| {
                    e.is_not_found_exception()
                        .then_some(NOT_FOUND)
                        .or(e.is_kms_invalid_state_exception().then_some(INVALID_STATE))
                })
            })?;
        Ok(())
    }

    #[instrument(skip(self), level = "debug")]
    async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), ApiError> {
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError {
                operation: "kms:TagResource",
                resource: arn.to_owned(),
                kind: ErrorKind::Other,
                code: "BuildError".to_owned(),
                message: e.to_string(),
            })?;
        self.client
            .tag_resource()
            .key_id(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| {
                ApiError::from_sdk("kms:TagResource", arn, e, |e| {
                    e.is_not_found_exception()
                        .then_some(NOT_FOUND)
                        .or(e.is_kms_invalid_state_exception().then_some(INVALID_STATE))
                })
            })?;
        Ok(())
    }
}

impl Inventory for KmsStore {
    /// ListKeys (1,000 a page) and ListAliases: AWS-managed keys are skipped without a call;
    /// tags come per customer key from [`Inventory::tags`].
    #[instrument(skip(self), level = "debug")]
    async fn list(&self) -> Result<Vec<Listed>, ApiError> {
        let managed = self.aws_managed().await?;
        let mut listed = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_keys()
                .limit(1000)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("kms:ListKeys", "*", e, |_| None))?;
            for key in out.keys() {
                let (Some(id), Some(arn)) = (key.key_id(), key.key_arn()) else {
                    continue;
                };
                listed.push(Listed {
                    arn: arn.to_owned(),
                    tags: None,
                    skip: managed
                        .contains(id)
                        .then(|| "AWS-managed key (alias/aws/*): only customer-managed keys can be tagged".to_owned()),
                });
            }
            match out.next_marker() {
                Some(next) if out.truncated() => marker = Some(next.to_owned()),
                _ => return Ok(listed),
            }
        }
    }

    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        self.list_tags(arn).await
    }

    /// DescribeKey, only when a write is due: a key pending deletion refuses tag changes.
    async fn write_guard(&self, arn: &str) -> Result<Option<String>, ApiError> {
        let out = self.describe(arn).await?;
        Ok(out.key_metadata().and_then(|m| refusal(m.key_manager(), m.key_state())))
    }
}
