//! Secrets Manager adapter: DescribeSecret, TagResource, UntagResource.

use super::{ApiError, ErrorKind, Inventory, Listed, ResourceState, TagStore};
use crate::model::Tags;
use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use tracing::instrument;

const NOT_FOUND: (ErrorKind, &str) = (ErrorKind::NotFound, "ResourceNotFoundException");
/// Secrets Manager's answer to tagging a secret scheduled for deletion or owned by a service.
const INVALID_REQUEST: (ErrorKind, &str) = (ErrorKind::InvalidState, "InvalidRequestException");

/// Tags secrets through the Secrets Manager API.
#[derive(Debug, Clone)]
pub struct SecretsStore {
    client: Client,
}

impl SecretsStore {
    /// Wraps a client (its region is the store's region).
    pub fn new(client: Client) -> Self {
        SecretsStore { client }
    }
}

impl TagStore for SecretsStore {
    #[instrument(skip(self), level = "debug")]
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        let out = self.client.describe_secret().secret_id(id).send().await.map_err(|e| {
            ApiError::from_sdk("secretsmanager:DescribeSecret", id, e, |e| {
                e.is_resource_not_found_exception().then_some(NOT_FOUND)
            })
        })?;
        let tags: Tags = out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect();
        let skip = if out.deleted_date().is_some() {
            Some("the secret is scheduled for deletion: Secrets Manager refuses tag changes".to_owned())
        } else {
            owned_by(out.owning_service())
        };
        Ok(ResourceState {
            arn: out.arn().unwrap_or(id).to_owned(),
            tags,
            skip,
        })
    }

    #[instrument(skip(self), level = "debug")]
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.client
            .untag_resource()
            .secret_id(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| {
                ApiError::from_sdk("secretsmanager:UntagResource", arn, e, |e| {
                    e.is_resource_not_found_exception()
                        .then_some(NOT_FOUND)
                        .or(e.is_invalid_request_exception().then_some(INVALID_REQUEST))
                })
            })?;
        Ok(())
    }

    #[instrument(skip(self), level = "debug")]
    async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), ApiError> {
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .tag_resource()
            .secret_id(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| {
                ApiError::from_sdk("secretsmanager:TagResource", arn, e, |e| {
                    e.is_resource_not_found_exception()
                        .then_some(NOT_FOUND)
                        .or(e.is_invalid_request_exception().then_some(INVALID_REQUEST))
                })
            })?;
        Ok(())
    }
}

impl Inventory for SecretsStore {
    /// ListSecrets, 100 a page, tags included: no per-secret read. Secrets scheduled for
    /// deletion are not listed (Secrets Manager's default), and service-owned ones are skipped.
    #[instrument(skip(self), level = "debug")]
    async fn list(&self) -> Result<Vec<Listed>, ApiError> {
        let mut listed = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_secrets()
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("secretsmanager:ListSecrets", "*", e, |_| None))?;
            for entry in out.secret_list() {
                let Some(arn) = entry.arn() else { continue };
                let tags = entry
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                    .collect();
                listed.push(Listed {
                    arn: arn.to_owned(),
                    tags: Some(tags),
                    skip: owned_by(entry.owning_service()),
                });
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(listed),
            }
        }
    }

    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        Ok(self.read(arn).await?.tags)
    }

    /// The listing already excluded deleted and service-owned secrets: nothing more to check.
    async fn write_guard(&self, _arn: &str) -> Result<Option<String>, ApiError> {
        Ok(None)
    }
}

fn owned_by(service: Option<&str>) -> Option<String> {
    service.map(|svc| format!("the secret is managed by `{svc}`: Secrets Manager refuses tag changes"))
}
