//! Secrets Manager adapter: DescribeSecret, ListSecrets, TagResource, UntagResource.

use super::error::from_sdk;
use super::paginate::pages;
use super::throttle::Throttles;
use crate::domain::{ApiError, ErrorKind, Refusal, ReplicaOf, Tags};
use crate::ports::{Inventory, Listed, ListedPage, ResourceState, TagStore};
use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use futures_util::Stream;
use tracing::instrument;

const NOT_FOUND: (ErrorKind, &str) = (ErrorKind::NotFound, "ResourceNotFoundException");
/// Secrets Manager's answer to tagging a secret scheduled for deletion or owned by a service.
const INVALID_REQUEST: (ErrorKind, &str) = (ErrorKind::InvalidState, "InvalidRequestException");
/// Secrets Manager's answer to tagging a replica secret ("Operation not permitted on a replica
/// secret. Call must be made in primary secret's region."): a state of the resource, not a bad
/// request of ours. Any other InvalidParameterException stays what it is.
const REPLICA_REFUSED: (ErrorKind, &str) = (ErrorKind::InvalidState, "InvalidParameterException");

/// Whether an InvalidParameterException's message is the refusal of a replica secret.
fn refuses_replica(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.to_ascii_lowercase().contains("replica secret"))
}

/// Tags secrets through the Secrets Manager API.
#[derive(Debug, Clone)]
pub struct SecretsStore {
    client: Client,
    page_size: i32,
    throttles: Throttles,
}

/// ListSecrets' largest page.
pub const MAX_PAGE: i32 = 100;

impl SecretsStore {
    /// Wraps a client (its region is the store's region).
    pub fn new(client: Client) -> Self {
        SecretsStore {
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

    /// Lists `n` secrets a page (1–100; the default is 100, the fewest calls).
    pub fn with_page_size(mut self, n: i32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE);
        self
    }
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

/// The classifier of the write calls' modeled errors.
macro_rules! write_error {
    ($op:literal, $arn:expr) => {
        |e| {
            from_sdk($op, $arn, e, |e| {
                use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
                e.is_resource_not_found_exception()
                    .then_some(NOT_FOUND)
                    .or(e.is_invalid_request_exception().then_some(INVALID_REQUEST))
                    .or((e.is_invalid_parameter_exception() && refuses_replica(e.message())).then_some(REPLICA_REFUSED))
            })
        }
    };
}

impl TagStore for SecretsStore {
    fn throttled(&self) -> u64 {
        self.throttles.count()
    }

    #[instrument(skip(self), level = "debug")]
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        let out = self.client.describe_secret().secret_id(id).send().await.map_err(|e| {
            from_sdk("secretsmanager:DescribeSecret", id, e, |e| {
                e.is_resource_not_found_exception().then_some(NOT_FOUND)
            })
        })?;
        let arn = out.arn().unwrap_or(id).to_owned();
        let skip = if out.deleted_date().is_some() {
            Some(Refusal::SecretScheduledForDeletion)
        } else {
            owned_by(out.owning_service()).or_else(|| replica(&arn, out.primary_region()))
        };
        Ok(ResourceState {
            arn,
            name: out.name().map(str::to_owned),
            tags: tags_of(out.tags()),
            skip,
            state_checked: true,
        })
    }

    /// The read (DescribeSecret) and the listing (ListSecrets) already tell deleted and
    /// service-owned secrets apart: nothing more to check, and no call.
    async fn write_guard(&self, _arn: &str) -> Result<Option<Refusal>, ApiError> {
        Ok(None)
    }

    async fn aliases(&self, _arn: &str) -> Result<Vec<String>, ApiError> {
        Ok(Vec::new())
    }

    #[instrument(skip(self), level = "debug")]
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.client
            .untag_resource()
            .secret_id(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(write_error!("secretsmanager:UntagResource", arn))?;
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
            .map_err(write_error!("secretsmanager:TagResource", arn))?;
        Ok(())
    }
}

impl Inventory for SecretsStore {
    /// ListSecrets, 100 a page, tags included: no per-secret read. Secrets scheduled for
    /// deletion are not listed (Secrets Manager's default), and service-owned ones are skipped.
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_ {
        pages(move |token| async move {
            let out = self
                .client
                .list_secrets()
                .max_results(self.page_size)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| from_sdk("secretsmanager:ListSecrets", "*", e, |_| None))?;
            let page = out
                .secret_list()
                .iter()
                .filter_map(|entry| {
                    let arn = entry.arn()?;
                    Some(Listed {
                        arn: arn.to_owned(),
                        name: entry.name().map(str::to_owned),
                        aliases: Vec::new(),
                        tags: Some(tags_of(entry.tags())),
                        skip: owned_by(entry.owning_service()).or_else(|| replica(arn, entry.primary_region())),
                    })
                })
                .collect();
            Ok((page, out.next_token().map(str::to_owned)))
        })
    }

    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        Ok(self.read(arn).await?.tags)
    }
}

/// A replica secret (its `PrimaryRegion` another Region than its own) is never written: its
/// tags follow the primary's.
fn replica(arn: &str, primary_region: Option<&str>) -> Option<Refusal> {
    ReplicaOf::of(arn, primary_region).map(Refusal::Replica)
}

fn owned_by(service: Option<&str>) -> Option<Refusal> {
    service.map(|svc| Refusal::SecretManagedBy(svc.to_owned()))
}
