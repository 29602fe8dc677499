//! KMS adapter: DescribeKey, ListResourceTags (every page), ListKeys, ListAliases,
//! TagResource, UntagResource.

use super::error::{from_sdk, local};
use super::paginate::{all_pages, kms_marker, pages};
use super::throttle::Throttles;
use crate::domain::{ApiError, ErrorKind, PendingKeyState, Refusal, Tags};
use crate::ports::{Inventory, Listed, ListedPage, ResourceState, TagStore};
use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
use aws_sdk_kms::types::{KeyManagerType, KeyState, Tag};
use aws_sdk_kms::Client;
use futures_util::{stream, Stream, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::instrument;

const NOT_FOUND: (ErrorKind, &str) = (ErrorKind::NotFound, "NotFoundException");
/// KMS's answer to tagging a key pending deletion.
const INVALID_STATE: (ErrorKind, &str) = (ErrorKind::InvalidState, "KMSInvalidStateException");
/// The alias prefix of AWS-managed keys.
const AWS_MANAGED_ALIAS: &str = "alias/aws/";

/// Tags customer-managed keys through the KMS API.
#[derive(Debug, Clone)]
pub struct KmsStore {
    client: Client,
    page_size: i32,
    throttles: Throttles,
}

/// ListKeys' largest page.
pub const MAX_PAGE: i32 = 1000;

/// The classifier of the write calls' modeled errors.
macro_rules! write_error {
    ($op:literal, $arn:expr) => {
        |e| {
            from_sdk($op, $arn, e, |e| {
                e.is_not_found_exception()
                    .then_some(NOT_FOUND)
                    .or(e.is_kms_invalid_state_exception().then_some(INVALID_STATE))
            })
        }
    };
}

impl KmsStore {
    /// Wraps a client (its region is the store's region).
    pub fn new(client: Client) -> Self {
        KmsStore {
            client,
            page_size: MAX_PAGE,
            throttles: Throttles::default(),
        }
    }

    /// Counts throttled attempts in `throttles` (the client's [`super::ThrottleWatch`]'s).
    pub fn with_throttles(mut self, throttles: Throttles) -> Self {
        self.throttles = throttles;
        self
    }

    /// Lists `n` keys a page (1–1000; the default is 1000, the fewest calls).
    pub fn with_page_size(mut self, n: i32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE);
        self
    }

    /// DescribeKey, a missing key mapped to NotFound (the event path's read and the sweep's
    /// write guard both need the key's manager and state).
    async fn describe(&self, id: &str) -> Result<DescribeKeyOutput, ApiError> {
        self.client.describe_key().key_id(id).send().await.map_err(|e| {
            from_sdk("kms:DescribeKey", id, e, |e| {
                e.is_not_found_exception().then_some(NOT_FOUND)
            })
        })
    }

    /// Every alias by the key id it points at (`alias/` stripped).
    async fn aliases(&self) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
        let pairs = all_pages(|marker| async move {
            let out = self
                .client
                .list_aliases()
                .limit(100)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| from_sdk("kms:ListAliases", "*", e, |_| None))?;
            let page = out
                .aliases()
                .iter()
                .filter_map(|a| Some((a.target_key_id()?.to_owned(), a.alias_name()?.to_owned())))
                .collect();
            Ok((page, kms_marker(out.truncated(), out.next_marker())))
        })
        .await?;
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, alias) in pairs {
            by_key.entry(key).or_default().push(alias);
        }
        Ok(by_key)
    }

    async fn list_tags(&self, arn: &str) -> Result<Tags, ApiError> {
        let tags = all_pages(|marker| async move {
            let out = self
                .client
                .list_resource_tags()
                .key_id(arn)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| {
                    from_sdk("kms:ListResourceTags", arn, e, |e| {
                        e.is_not_found_exception().then_some(NOT_FOUND)
                    })
                })?;
            let page = out
                .tags()
                .iter()
                .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
                .collect();
            Ok((page, kms_marker(out.truncated(), out.next_marker())))
        })
        .await?;
        Ok(tags.into_iter().collect())
    }
}

/// A listed key, its aliases (without `alias/`) attached; AWS-managed when one of them is
/// `alias/aws/*`.
fn listed(id: &str, arn: &str, aliases: &BTreeMap<String, Vec<String>>) -> Listed {
    let names = aliases.get(id).map(Vec::as_slice).unwrap_or_default();
    let managed = names.iter().any(|a| a.starts_with(AWS_MANAGED_ALIAS));
    Listed {
        arn: arn.to_owned(),
        name: Some(id.to_owned()),
        aliases: names
            .iter()
            .map(|a| a.strip_prefix("alias/").unwrap_or(a).to_owned())
            .collect(),
        tags: None,
        skip: managed.then_some(Refusal::AwsManagedAlias),
    }
}

/// Why a key's state or manager forbids tag changes, if it does.
fn refusal(manager: Option<&KeyManagerType>, state: Option<&KeyState>) -> Option<Refusal> {
    if manager == Some(&KeyManagerType::Aws) {
        return Some(Refusal::AwsManagedKey);
    }
    match state {
        Some(KeyState::PendingDeletion) => Some(Refusal::KeyState(PendingKeyState::PendingDeletion)),
        Some(KeyState::PendingReplicaDeletion) => Some(Refusal::KeyState(PendingKeyState::PendingReplicaDeletion)),
        _ => None,
    }
}

impl TagStore for KmsStore {
    fn throttled(&self) -> u64 {
        self.throttles.count()
    }

    /// A key named by its ARN (as events name it): ListResourceTags alone, which works in
    /// every key state; whether the key may be written to (customer-managed, not pending
    /// deletion) is asked with DescribeKey only when a write is due. A bare key id or alias:
    /// DescribeKey first, for the canonical ARN.
    #[instrument(skip(self), level = "debug")]
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        if id.starts_with("arn:") && id.contains(":key/") {
            return Ok(ResourceState {
                arn: id.to_owned(),
                name: id.rsplit('/').next().map(str::to_owned),
                tags: self.list_tags(id).await?,
                skip: None,
                state_checked: false,
            });
        }
        let out = self.describe(id).await?;
        let Some(meta) = out.key_metadata() else {
            return Err(local(
                "kms:DescribeKey",
                id,
                "MissingKeyMetadata",
                "the response carried no KeyMetadata".to_owned(),
            ));
        };
        let arn = meta.arn().unwrap_or(id).to_owned();
        let skip = refusal(meta.key_manager(), meta.key_state());
        // A key that cannot be tagged needs no tag read: one call is enough to skip it.
        let tags = if skip.is_some() {
            Tags::new()
        } else {
            self.list_tags(&arn).await?
        };
        Ok(ResourceState {
            arn,
            name: Some(meta.key_id().to_owned()),
            tags,
            skip,
            state_checked: true,
        })
    }

    /// ListAliases for this key (every page), without `alias/`.
    #[instrument(skip(self), level = "debug")]
    async fn aliases(&self, arn: &str) -> Result<Vec<String>, ApiError> {
        all_pages(|marker| async move {
            let out = self
                .client
                .list_aliases()
                .key_id(arn)
                .limit(100)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| {
                    from_sdk("kms:ListAliases", arn, e, |e| {
                        e.is_not_found_exception().then_some(NOT_FOUND)
                    })
                })?;
            let page = out
                .aliases()
                .iter()
                .filter_map(|a| a.alias_name())
                .map(|a| a.strip_prefix("alias/").unwrap_or(a).to_owned())
                .collect();
            Ok((page, kms_marker(out.truncated(), out.next_marker())))
        })
        .await
    }

    /// DescribeKey, only when a write is due: a key pending deletion refuses tag changes.
    async fn write_guard(&self, arn: &str) -> Result<Option<Refusal>, ApiError> {
        let out = self.describe(arn).await?;
        Ok(out.key_metadata().and_then(|m| refusal(m.key_manager(), m.key_state())))
    }

    #[instrument(skip(self), level = "debug")]
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.client
            .untag_resource()
            .key_id(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(write_error!("kms:UntagResource", arn))?;
        Ok(())
    }

    #[instrument(skip(self), level = "debug")]
    async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), ApiError> {
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| local("kms:TagResource", arn, "BuildError", e.to_string()))?;
        self.client
            .tag_resource()
            .key_id(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(write_error!("kms:TagResource", arn))?;
        Ok(())
    }
}

impl Inventory for KmsStore {
    /// ListAliases (every page, first: they mark AWS-managed keys, skipped without a call),
    /// then ListKeys a page at a time; tags come per customer key from [`Inventory::tags`].
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_ {
        stream::once(self.aliases()).flat_map(move |aliases| match aliases {
            Err(e) => stream::iter([Err(e)]).left_stream(),
            Ok(aliases) => {
                let aliases = Arc::new(aliases);
                pages(move |marker| {
                    let aliases = Arc::clone(&aliases);
                    async move {
                        let out = self
                            .client
                            .list_keys()
                            .limit(self.page_size)
                            .set_marker(marker)
                            .send()
                            .await
                            .map_err(|e| from_sdk("kms:ListKeys", "*", e, |_| None))?;
                        let page = out
                            .keys()
                            .iter()
                            .filter_map(|k| Some(listed(k.key_id()?, k.key_arn()?, &aliases)))
                            .collect();
                        Ok((page, kms_marker(out.truncated(), out.next_marker())))
                    }
                })
                .right_stream()
            }
        })
    }

    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        self.list_tags(arn).await
    }
}
