//! The AWS backend: one Secrets Manager and one KMS client per account and region (the member
//! role's credentials in other accounts), built on first use from the shared SDK configuration
//! and reused across invocations; the SDK's retry and timeout settings; one file per service.

mod dynamodb;
mod error;
mod eventbridge;
mod fleet;
mod kms;
mod member;
mod paginate;
mod secretsmanager;
mod securityhub;
mod stores;
mod throttle;

pub use dynamodb::{
    DynamoMemory, ACTIONS as MEMORY_ACTIONS, KEY as MEMORY_KEY, TAG_PREFIX as MEMORY_TAG_PREFIX, TTL_ATTRIBUTE,
};
pub use error::from_sdk;
pub use eventbridge::{put_findings as put_finding_events, ATTEMPTS as EVENT_ATTEMPTS};
pub use fleet::{active_accounts, describe_organization, effective_tag_policy, management_account};
pub use kms::KmsStore;
pub use member::{role_arn, MemberCredentials, RENEW_BEFORE, SESSION_NAME};
pub use secretsmanager::SecretsStore;
pub use securityhub::{import as import_hub_findings, open as open_hub_findings, GENERATOR_ID};
pub use stores::ServiceStore;
pub use throttle::{ThrottleWatch, Throttles};

use crate::domain::{arn_region, ApiError, Cell, Identity, Organization, ResourceKind};
use crate::kinds::Service;
use crate::ports::{Backend, PolicyFinding, Published, Received};
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One cell's clients, and the throttled attempts each has seen.
#[derive(Debug, Clone)]
struct Clients {
    secrets: (aws_sdk_secretsmanager::Client, Throttles),
    kms: (aws_sdk_kms::Client, Throttles),
    securityhub: aws_sdk_securityhub::Client,
}

/// Builds and caches clients per account and region; holds the memory table's client when
/// configured; assumes the member role in other accounts when one is configured.
#[derive(Debug)]
pub struct AwsBackend {
    base: SdkConfig,
    /// Clients by (account, region); the account is `None` for the function's own.
    clients: Mutex<HashMap<(Option<String>, String), Clients>>,
    memory: Option<DynamoMemory>,
    page_size: Option<i32>,
    /// `TAG_WARDEN_MEMBER_ROLE`: the role assumed in other accounts.
    member_role: Option<String>,
    /// Who the credentials are (STS GetCallerIdentity, once per process).
    identity: tokio::sync::OnceCell<Identity>,
    /// The member role's credentials, per account.
    members: Mutex<HashMap<String, Arc<MemberCredentials>>>,
    /// STS, SQS and Organizations: built on first use (only organization mode calls them) and
    /// shared, like the per-cell clients, across invocations.
    sts: OnceLock<aws_sdk_sts::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    organizations: OnceLock<aws_sdk_organizations::Client>,
    /// EventBridge in the findings bus's region (its ARN's, else the home region).
    events: OnceLock<aws_sdk_eventbridge::Client>,
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
            member_role: None,
            identity: tokio::sync::OnceCell::new(),
            members: Mutex::new(HashMap::new()),
            sts: OnceLock::new(),
            sqs: OnceLock::new(),
            organizations: OnceLock::new(),
            events: OnceLock::new(),
        }
    }

    /// Lists `n` resources a page instead of the APIs' largest pages (tests use tiny pages).
    pub fn with_page_size(mut self, n: Option<i32>) -> Self {
        self.page_size = n;
        self
    }

    /// Governs other accounts through `role` (a role name, with its path if any), assumed in
    /// each; without it every call uses the function's own credentials.
    pub fn with_member_role(mut self, role: Option<String>) -> Self {
        self.member_role = role;
        self
    }

    /// The function's own account (GetCallerIdentity, asked once).
    pub async fn home_account(&self) -> Result<&str, ApiError> {
        Ok(&self.caller().await?.account)
    }

    /// Who the credentials are: GetCallerIdentity, asked once per process and kept.
    async fn caller(&self) -> Result<&Identity, ApiError> {
        self.identity
            .get_or_try_init(|| async {
                let out = self
                    .sts()
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| from_sdk("sts:GetCallerIdentity", "*", e, |_| None))?;
                match (out.account(), out.arn()) {
                    (Some(account), Some(arn)) => Ok(Identity {
                        account: account.to_owned(),
                        arn: arn.to_owned(),
                    }),
                    _ => Err(error::local(
                        "sts:GetCallerIdentity",
                        "*",
                        "NoAccount",
                        "no account or ARN in the answer".to_owned(),
                    )),
                }
            })
            .await
    }

    /// The one Organizations client: the function's own credentials.
    fn organizations(&self) -> &aws_sdk_organizations::Client {
        self.organizations
            .get_or_init(|| aws_sdk_organizations::Client::new(&self.base))
    }

    /// The one STS client: the function's own credentials, in the home region.
    fn sts(&self) -> &aws_sdk_sts::Client {
        self.sts.get_or_init(|| aws_sdk_sts::Client::new(&self.base))
    }

    /// The account whose member role a cell's calls go through, if not the function's own.
    fn member_account<'a>(&self, account: Option<&'a str>) -> Option<&'a str> {
        self.member_role.as_ref()?;
        let account = account?;
        match self.identity.get() {
            Some(me) if me.account == account => None,
            _ => Some(account),
        }
    }

    /// The member role's credentials in `account`, made on first use.
    fn member(&self, account: &str) -> Option<Arc<MemberCredentials>> {
        let role = self.member_role.as_deref()?;
        let region = self.base.region().map(Region::as_ref).unwrap_or("us-east-1");
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        let entry = members.entry(account.to_owned()).or_insert_with(|| {
            let arn = role_arn(member::partition(region), account, role);
            Arc::new(MemberCredentials::new(self.sts().clone(), arn))
        });
        Some(Arc::clone(entry))
    }

    fn clients(&self, cell: &Cell) -> Clients {
        let account = self.member_account(cell.account.as_deref());
        let key = (account.map(str::to_owned), cell.region.clone());
        // A poisoned lock only means another thread panicked mid-insert of a cache entry;
        // the map is still usable.
        let mut cache = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&key) {
            return c.clone();
        }
        let credentials = account
            .and_then(|a| self.member(a))
            .map(|m| SharedCredentialsProvider::new(member::MemberProvider(m)));
        let region = Region::new(cell.region.clone());
        let (sm_throttles, kms_throttles) = (Throttles::default(), Throttles::default());
        let mut sm = aws_sdk_secretsmanager::config::Builder::from(&self.base)
            .region(region.clone())
            .interceptor(ThrottleWatch(sm_throttles.clone()));
        let mut kms = aws_sdk_kms::config::Builder::from(&self.base)
            .region(region.clone())
            .interceptor(ThrottleWatch(kms_throttles.clone()));
        // Findings about an account's resources are imported in that account (the default
        // product accepts no other) and in the resource's region.
        let mut hub = aws_sdk_securityhub::config::Builder::from(&self.base).region(region);
        if let Some(c) = credentials {
            sm = sm.credentials_provider(c.clone());
            kms = kms.credentials_provider(c.clone());
            hub = hub.credentials_provider(c);
        }
        let clients = Clients {
            secrets: (aws_sdk_secretsmanager::Client::from_conf(sm.build()), sm_throttles),
            kms: (aws_sdk_kms::Client::from_conf(kms.build()), kms_throttles),
            securityhub: aws_sdk_securityhub::Client::from_conf(hub.build()),
        };
        cache.insert(key, clients.clone());
        clients
    }
}

impl Backend for AwsBackend {
    type Store = ServiceStore;
    type Memory = DynamoMemory;

    fn memory(&self) -> Option<&DynamoMemory> {
        self.memory.as_ref()
    }

    /// The adapter of the service that holds `kind`, with this cell's client.
    fn store(&self, cell: &Cell, kind: ResourceKind) -> ServiceStore {
        let clients = self.clients(cell);
        let store = match kind.spec().service {
            Service::SecretsManager => {
                let (client, throttles) = clients.secrets;
                ServiceStore::SecretsManager(SecretsStore::new(client).with_throttles(throttles))
            }
            Service::Kms => {
                let (client, throttles) = clients.kms;
                ServiceStore::Kms(KmsStore::new(client).with_throttles(throttles))
            }
        };
        match self.page_size {
            Some(n) => store.with_page_size(n),
            None => store,
        }
    }

    async fn reach(&self, account: Option<&str>) -> Result<(), ApiError> {
        if self.member_role.is_none() || account.is_none() {
            return Ok(());
        }
        self.home_account().await?;
        match self.member_account(account).and_then(|a| self.member(a)) {
            Some(member) => member.get().await.map(|_| ()),
            None => Ok(()),
        }
    }

    async fn identity(&self) -> Result<Option<Identity>, ApiError> {
        self.caller().await.map(|me| Some(me.clone()))
    }

    async fn organization(&self) -> Result<Organization, ApiError> {
        let accounts = fleet::active_accounts(self.organizations()).await?;
        let management = fleet::management_account(self.organizations()).await?;
        Ok(Organization { accounts, management })
    }

    async fn effective_tag_policy(&self, account: &str) -> Result<Option<String>, ApiError> {
        fleet::effective_tag_policy(self.organizations(), account).await
    }

    async fn enqueue(&self, queue_url: &str, messages: &[String]) -> Result<(), ApiError> {
        let client = self.sqs();
        match messages {
            [one] => fleet::send_one(client, queue_url, one.clone()).await,
            _ => fleet::send_all(client, queue_url, messages).await,
        }
    }

    async fn enqueue_after(&self, queue_url: &str, message: &str, delay_seconds: u32) -> Result<(), ApiError> {
        fleet::send_after(self.sqs(), queue_url, message, delay_seconds).await
    }

    async fn receive(&self, queue_url: &str, max: i32) -> Result<Vec<Received>, ApiError> {
        fleet::receive(self.sqs(), queue_url, max).await
    }

    async fn delete_received(&self, queue_url: &str, receipt: &str) -> Result<(), ApiError> {
        fleet::delete(self.sqs(), queue_url, receipt).await
    }

    async fn put_findings(&self, bus: &str, findings: &[PolicyFinding]) -> Vec<Published> {
        let client = self.events.get_or_init(|| {
            // A bus ARN names its region; PutEvents goes to that region's endpoint.
            let mut conf = aws_sdk_eventbridge::config::Builder::from(&self.base);
            if let Some(region) = arn_region(bus) {
                conf = conf.region(Region::new(region.to_owned()));
            }
            aws_sdk_eventbridge::Client::from_conf(conf.build())
        });
        eventbridge::put_findings(client, bus, findings).await
    }

    async fn import_findings(&self, cell: &Cell, findings: &[PolicyFinding]) -> Vec<Published> {
        // The cell's account is the resource's (from its ARN): reaching it tells the home
        // account from a member one, whose role then imports there.
        if let Err(e) = self.reach(cell.account.as_deref()).await {
            return vec![Published::Refused(e.to_string()); findings.len()];
        }
        securityhub::import(&self.clients(cell).securityhub, findings).await
    }

    async fn open_findings(&self, cell: &Cell, ids: Option<&[String]>) -> Result<BTreeMap<String, String>, ApiError> {
        self.reach(cell.account.as_deref()).await?;
        let account = match cell.account.as_deref() {
            Some(account) => account,
            None => self.home_account().await?,
        };
        securityhub::open(&self.clients(cell).securityhub, cell, account, ids).await
    }
}

impl AwsBackend {
    fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| aws_sdk_sqs::Client::new(&self.base))
    }

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
