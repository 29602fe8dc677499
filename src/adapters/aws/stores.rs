//! The store of one cell and kind: the adapter of the service that holds the kind (the kind's
//! module names its [`Service`]), so that runners hold one store type whatever the kind.

use super::kms::KmsStore;
use super::secretsmanager::SecretsStore;
use crate::domain::{ApiError, Refusal, Tags};
use crate::kinds::Service;
use crate::ports::{Inventory, ListedPage, ResourceState, TagStore};
use futures_util::future::Either;
use futures_util::Stream;

/// One service's store: what `AwsBackend::store` hands out.
#[derive(Debug, Clone)]
pub enum ServiceStore {
    /// Secrets Manager ([`SecretsStore`]).
    SecretsManager(SecretsStore),
    /// KMS ([`KmsStore`]).
    Kms(KmsStore),
}

impl ServiceStore {
    /// Which service it talks to.
    pub fn service(&self) -> Service {
        match self {
            ServiceStore::SecretsManager(_) => Service::SecretsManager,
            ServiceStore::Kms(_) => Service::Kms,
        }
    }

    /// Lists `n` resources a page (tests: pagination in small pages).
    pub fn with_page_size(self, n: i32) -> Self {
        match self {
            ServiceStore::SecretsManager(s) => ServiceStore::SecretsManager(s.with_page_size(n)),
            ServiceStore::Kms(s) => ServiceStore::Kms(s.with_page_size(n)),
        }
    }
}

impl TagStore for ServiceStore {
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        match self {
            ServiceStore::SecretsManager(s) => s.read(id).await,
            ServiceStore::Kms(s) => s.read(id).await,
        }
    }
    async fn write_guard(&self, arn: &str) -> Result<Option<Refusal>, ApiError> {
        match self {
            ServiceStore::SecretsManager(s) => s.write_guard(arn).await,
            ServiceStore::Kms(s) => s.write_guard(arn).await,
        }
    }
    async fn aliases(&self, arn: &str) -> Result<Vec<String>, ApiError> {
        match self {
            ServiceStore::SecretsManager(s) => s.aliases(arn).await,
            ServiceStore::Kms(s) => s.aliases(arn).await,
        }
    }
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        match self {
            ServiceStore::SecretsManager(s) => s.untag(arn, keys).await,
            ServiceStore::Kms(s) => s.untag(arn, keys).await,
        }
    }
    async fn tag(&self, arn: &str, tags: &Tags) -> Result<(), ApiError> {
        match self {
            ServiceStore::SecretsManager(s) => s.tag(arn, tags).await,
            ServiceStore::Kms(s) => s.tag(arn, tags).await,
        }
    }
    fn throttled(&self) -> u64 {
        match self {
            ServiceStore::SecretsManager(s) => s.throttled(),
            ServiceStore::Kms(s) => s.throttled(),
        }
    }
}

impl Inventory for ServiceStore {
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_ {
        match self {
            ServiceStore::SecretsManager(s) => Either::Left(s.pages()),
            ServiceStore::Kms(s) => Either::Right(s.pages()),
        }
    }
    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        match self {
            ServiceStore::SecretsManager(s) => s.tags(arn).await,
            ServiceStore::Kms(s) => s.tags(arn).await,
        }
    }
}
