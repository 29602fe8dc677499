//! The AWS backend: one Secrets Manager and one KMS client per region, built on first use
//! from the shared SDK configuration and reused across invocations; the SDK's retry and
//! timeout settings; one file per service.

mod dynamodb;
mod error;
mod kms;
mod paginate;
mod secretsmanager;

pub use dynamodb::{
    DynamoMemory, ACTIONS as MEMORY_ACTIONS, KEY as MEMORY_KEY, TAG_PREFIX as MEMORY_TAG_PREFIX, TTL_ATTRIBUTE,
};
pub use error::from_sdk;
pub use kms::KmsStore;
pub use secretsmanager::SecretsStore;

use crate::ports::Backend;
use aws_config::{Region, SdkConfig};
use std::collections::HashMap;
use std::sync::Mutex;

/// Builds and caches clients per region; holds the memory table's client when configured.
#[derive(Debug)]
pub struct AwsBackend {
    base: SdkConfig,
    clients: Mutex<HashMap<String, (aws_sdk_secretsmanager::Client, aws_sdk_kms::Client)>>,
    memory: Option<DynamoMemory>,
    page_size: Option<i32>,
}

impl AwsBackend {
    /// A backend over the loaded SDK configuration (credentials, endpoint, retries), with
    /// memory in `memory_table` (in the configuration's region, the home region) when given.
    pub fn new(base: SdkConfig, memory_table: Option<String>) -> Self {
        let memory = memory_table.map(|table| DynamoMemory::new(aws_sdk_dynamodb::Client::new(&base), table));
        AwsBackend {
            base,
            clients: Mutex::new(HashMap::new()),
            memory,
            page_size: None,
        }
    }

    /// Lists `n` resources a page instead of the APIs' largest pages (tests use tiny pages).
    pub fn with_page_size(mut self, n: Option<i32>) -> Self {
        self.page_size = n;
        self
    }

    fn clients(&self, region: &str) -> (aws_sdk_secretsmanager::Client, aws_sdk_kms::Client) {
        // A poisoned lock only means another thread panicked mid-insert of a cache entry;
        // the map is still usable.
        let mut cache = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(region.to_owned())
            .or_insert_with(|| {
                let region = Region::new(region.to_owned());
                let sm = aws_sdk_secretsmanager::config::Builder::from(&self.base)
                    .region(region.clone())
                    .build();
                let kms = aws_sdk_kms::config::Builder::from(&self.base).region(region).build();
                (
                    aws_sdk_secretsmanager::Client::from_conf(sm),
                    aws_sdk_kms::Client::from_conf(kms),
                )
            })
            .clone()
    }
}

impl Backend for AwsBackend {
    type Secrets = SecretsStore;
    type Keys = KmsStore;
    type Memory = DynamoMemory;

    fn memory(&self) -> Option<&DynamoMemory> {
        self.memory.as_ref()
    }

    fn secrets(&self, region: &str) -> SecretsStore {
        let store = SecretsStore::new(self.clients(region).0);
        match self.page_size {
            Some(n) => store.with_page_size(n),
            None => store,
        }
    }

    fn keys(&self, region: &str) -> KmsStore {
        let store = KmsStore::new(self.clients(region).1);
        match self.page_size {
            Some(n) => store.with_page_size(n),
            None => store,
        }
    }
}

impl AwsBackend {
    /// Loads the SDK configuration from the environment (credential chain, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, ...). Regions come from each event, so none is required here; the
    /// memory table, when given, is in the home region.
    pub async fn from_env(memory_table: Option<String>) -> Self {
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(retry_config())
            .timeout_config(timeout_config())
            .load()
            .await;
        AwsBackend::new(base, memory_table)
    }
}

/// Attempts per call, first included.
pub const RETRY_MAX_ATTEMPTS: u32 = 4;

/// How long one attempt may take before it is abandoned and retried: tag calls answer in
/// milliseconds, so a response this late is a stuck connection, not a slow service.
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Connecting (TCP and TLS) to the regional endpoint.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// One call with all its attempts and backoff: 4 × 5 s plus backoff fits, and a resource's
/// read + untag + tag stays well inside a 300 s function timeout.
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The SDK timeouts: see the constants.
pub fn timeout_config() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The SDK's standard retry mode (exponential backoff with jitter; throttling, 5xx, timeouts
/// and connection errors are retried) with [`RETRY_MAX_ATTEMPTS`] attempts per call.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(RETRY_MAX_ATTEMPTS)
}
