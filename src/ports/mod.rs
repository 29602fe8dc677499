//! Layer 3, ports: the small traits the runners call, in domain words. Adapters (layer 4)
//! implement them; runners (layer 5) are generic over them, so tests drive the runners with
//! in-memory fakes and the real adapters stay thin.
//!
//! - [`TagStore`]: read one resource's tags and state; remove and add tags.
//! - [`Inventory`]: list every resource of a kind in a region, at the API floor.
//! - [`Memory`]: remembered tag values per resource, written only by a newer observation.
//! - [`Backend`]: hands out a store per kind and region, and the memory when there is one;
//!   sends to queues; publishes [`PolicyFinding`]s (EventBridge, Security Hub).
//!
//! A new capability gets its own small trait here (or a method of `Backend` with a default
//! body), and its adapter in `adapters/`.

mod findings;
mod memory;

pub use findings::{
    finding_id, Compliance, PolicyFinding, Published, FINDING_DETAIL_TYPE, FINDING_SOURCE, IMPORT_MAX_FINDINGS,
    PUT_EVENTS_MAX_ENTRIES,
};
pub use memory::{
    Grant, HistoryEntry, Memory, NoMemory, Place, Remembered, Stored, TrendPoint, HISTORY_LEN, TREND_DAYS,
};

use crate::domain::{ApiError, Cell, ErrorKind, Identity, Organization, Refusal, ResourceKind, Tags};
use futures_util::Stream;
use std::collections::BTreeMap;
use std::future::Future;

/// A resource as read from AWS just now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceState {
    /// The canonical ARN (what writes are addressed to).
    pub arn: String,
    /// A secret's name; a KMS key's id.
    pub name: Option<String>,
    /// Every tag, `aws:` ones included.
    pub tags: Tags,
    /// Why the resource must not be written to, if so (deleted, service- or AWS-managed,
    /// pending deletion).
    pub skip: Option<Refusal>,
    /// Whether the read looked at the resource's state, so `skip` is the whole answer; when
    /// not (a KMS key read by its tags alone, a listed resource), the write guard is asked
    /// before the first write.
    pub state_checked: bool,
}

/// Reads and writes one kind of resource's tags.
pub trait TagStore {
    /// Reads the current state; `id` may be anything the service accepts (name, ARN, key id).
    fn read(&self, id: &str) -> impl Future<Output = Result<ResourceState, ApiError>> + Send;
    /// Checked just before writing to a resource whose state was not read with its tags
    /// (`state_checked` false): why it must not be written to now, if so.
    fn write_guard(&self, arn: &str) -> impl Future<Output = Result<Option<Refusal>, ApiError>> + Send;
    /// The resource's other names: a KMS key's aliases (without `alias/`), read only when a
    /// rule scopes keys by name; nothing (and no call) for a secret, whose name is read with it.
    fn aliases(&self, arn: &str) -> impl Future<Output = Result<Vec<String>, ApiError>> + Send;
    /// Removes `keys` (one call).
    fn untag(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Adds or overwrites `tags` (one call).
    fn tag(&self, arn: &str, tags: &Tags) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Throttled attempts the store's client has seen so far (the SDK retries them), so that
    /// a pacer slows down on the first; 0 for a store that cannot tell.
    fn throttled(&self) -> u64 {
        0
    }
}

impl<T: TagStore + Sync + Send> TagStore for std::sync::Arc<T> {
    fn read(&self, id: &str) -> impl Future<Output = Result<ResourceState, ApiError>> + Send {
        T::read(self, id)
    }
    fn write_guard(&self, arn: &str) -> impl Future<Output = Result<Option<Refusal>, ApiError>> + Send {
        T::write_guard(self, arn)
    }
    fn aliases(&self, arn: &str) -> impl Future<Output = Result<Vec<String>, ApiError>> + Send {
        T::aliases(self, arn)
    }
    fn untag(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send {
        T::untag(self, arn, keys)
    }
    fn tag(&self, arn: &str, tags: &Tags) -> impl Future<Output = Result<(), ApiError>> + Send {
        T::tag(self, arn, tags)
    }
    fn throttled(&self) -> u64 {
        T::throttled(self)
    }
}

/// A resource as a listing shows it, for the reconcile sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The canonical ARN.
    pub arn: String,
    /// A secret's name; a KMS key's id.
    pub name: Option<String>,
    /// A KMS key's aliases, without `alias/` (the listing reads them anyway).
    pub aliases: Vec<String>,
    /// Its tags when the listing carries them (ListSecrets does; ListKeys does not).
    pub tags: Option<Tags>,
    /// Why it must not be written to, when the listing already tells.
    pub skip: Option<Refusal>,
}

/// One page of a listing, or why the listing failed (which ends it).
pub type ListedPage = Result<Vec<Listed>, ApiError>;

/// Lists one kind of resource in a region, at the API floor.
pub trait Inventory {
    /// Every resource of this kind, a page at a time as the pages arrive; a page is fetched
    /// only when the stream is polled for it.
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_;
    /// The current tags of a listed resource whose listing lacks them.
    fn tags(&self, arn: &str) -> impl Future<Output = Result<Tags, ApiError>> + Send;
}

impl<T: Inventory + Sync + Send> Inventory for std::sync::Arc<T> {
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_ {
        T::pages(self)
    }
    fn tags(&self, arn: &str) -> impl Future<Output = Result<Tags, ApiError>> + Send {
        T::tags(self, arn)
    }
}

/// Hands out a store per kind and cell (account and region), the memory, and an
/// organization's accounts and queue.
pub trait Backend: Send + Sync {
    /// The store of a kind (the adapter of the service that holds it).
    type Store: TagStore + Inventory + Send + Sync;
    /// Remembered values ([`NoMemory`] for a backend without).
    type Memory: Memory + Send + Sync;
    /// The memory, when one is configured.
    fn memory(&self) -> Option<&Self::Memory>;
    /// The store of `kind` in `cell` (call [`Backend::reach`] for its account first).
    fn store(&self, cell: &Cell, kind: ResourceKind) -> Self::Store;
    /// Makes `account`'s stores ready: nothing for the credentials' own account (or `None`),
    /// else the member role in that account, assumed once and kept until near expiry. The
    /// error says why the account cannot be governed now.
    fn reach(&self, account: Option<&str>) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = account;
        std::future::ready(Ok(()))
    }
    /// Who the credentials are (STS GetCallerIdentity, asked once and kept): the function's
    /// own account and role. `None` for a backend without credentials (an offline plan).
    fn identity(&self) -> impl Future<Output = Result<Option<Identity>, ApiError>> + Send {
        std::future::ready(Ok(None))
    }
    /// The organization's active accounts and its management account.
    fn organization(&self) -> impl Future<Output = Result<Organization, ApiError>> + Send {
        std::future::ready(Err(unsupported("organizations:ListAccounts")))
    }
    /// The effective AWS Organizations tag policy of `account` (its `PolicyContent`), `None`
    /// when no tag policy applies there.
    fn effective_tag_policy(&self, account: &str) -> impl Future<Output = Result<Option<String>, ApiError>> + Send {
        let _ = account;
        std::future::ready(Err(unsupported("organizations:DescribeEffectivePolicy")))
    }
    /// Sends `messages` to the SQS queue `queue_url` (a sweep's cells; a dead letter).
    fn enqueue(&self, queue_url: &str, messages: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = (queue_url, messages);
        std::future::ready(Err(unsupported("sqs:SendMessageBatch")))
    }
    /// Sends one message to the SQS queue `queue_url`, delivered after `delay_seconds` (at
    /// most 900): a re-check of one resource.
    fn enqueue_after(
        &self,
        queue_url: &str,
        message: &str,
        delay_seconds: u32,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = (queue_url, message, delay_seconds);
        std::future::ready(Err(unsupported("sqs:SendMessage")))
    }
    /// Receives up to `max` (1–10) messages from the SQS queue `queue_url` (dead letters, for
    /// `tag-warden redrive`), waiting a second at most; none when the queue is empty.
    fn receive(&self, queue_url: &str, max: i32) -> impl Future<Output = Result<Vec<Received>, ApiError>> + Send {
        let _ = (queue_url, max);
        std::future::ready(Err(unsupported("sqs:ReceiveMessage")))
    }
    /// Deletes a received message (`receipt` is its receipt handle).
    fn delete_received(&self, queue_url: &str, receipt: &str) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = (queue_url, receipt);
        std::future::ready(Err(unsupported("sqs:DeleteMessage")))
    }
    /// Puts `findings` on the EventBridge bus `bus` (a name or an ARN) as `Tag Policy Finding`
    /// events, in batches AWS takes, entries refused retried: what became of each, in order.
    fn put_findings(&self, bus: &str, findings: &[PolicyFinding]) -> impl Future<Output = Vec<Published>> + Send {
        let _ = bus;
        let refused = Published::Refused(unsupported("events:PutEvents").to_string());
        std::future::ready(vec![refused; findings.len()])
    }
    /// Imports `findings` into Security Hub in `cell` (the resource's account and region), as
    /// ASFF: what became of each, in order.
    fn import_findings(&self, cell: &Cell, findings: &[PolicyFinding]) -> impl Future<Output = Vec<Published>> + Send {
        let _ = cell;
        let refused = Published::Refused(unsupported("securityhub:BatchImportFindings").to_string());
        std::future::ready(vec![refused; findings.len()])
    }
    /// tag-warden's findings in Security Hub that are active and failed, about resources of
    /// `cell` (its account and region; an aggregating hub shows others, which are left out):
    /// all of them, or those among `ids`, each id with its resource's ARN. The resources to
    /// resolve once compliant, and to archive once gone.
    fn open_findings(
        &self,
        cell: &Cell,
        ids: Option<&[String]>,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, ApiError>> + Send {
        let _ = (cell, ids);
        std::future::ready(Err(unsupported("securityhub:GetFindings")))
    }
}

/// A message received from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Its id.
    pub message_id: String,
    /// Its body.
    pub body: String,
    /// The receipt handle that deletes it.
    pub receipt: String,
}

/// The error of a backend that cannot make `operation` (the offline planner).
pub fn unsupported(operation: &'static str) -> ApiError {
    ApiError {
        operation,
        resource: "*".to_owned(),
        kind: ErrorKind::Other,
        code: "Unsupported".to_owned(),
        message: "this backend does not make this call".to_owned(),
    }
}
