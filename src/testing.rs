//! The shared test fakes (compiled for tests only): one in-memory [`FakeStore`] serving every
//! port a runner calls, and one [`FakeBackend`] handing it out. It records each call and can
//! fail chosen operations, refuse writes to chosen resources, and answer tag reads slowly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::domain::{ApiError, Cell, ErrorKind, Outcome, PendingKeyState, Refusal, ResourceKind, Tags};
use crate::engine::evaluate::{Finding, Fix};
use crate::ports::{
    Backend, Compliance, HistoryEntry, Inventory, Listed, ListedPage, Memory, Place, PolicyFinding, Published,
    Remembered, ResourceState, Stored, TagStore,
};
use crate::view::report::ResourceReport;
use futures_util::{stream, Stream};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One call a fake received: the operation, what it addressed, and its detail (the keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `read`, `list`, `tags`, `guard`, `untag` or `tag`.
    pub op: &'static str,
    /// The id or ARN addressed (empty for `list`).
    pub target: String,
    /// The keys removed or set, comma-separated.
    pub keys: String,
}

/// Resources in memory, by ARN.
#[derive(Default)]
pub struct FakeStore {
    resources: Mutex<BTreeMap<String, ResourceState>>,
    /// One resource that every id names (as a name, partial ARN or ARN would in AWS).
    single: bool,
    /// Whether the listing carries tags (ListSecrets) or each needs its own read (ListKeys).
    tags_listed: bool,
    refuse_writes: BTreeSet<String>,
    fail: Mutex<Vec<(&'static str, ErrorKind)>>,
    slow_tags: Option<Duration>,
    /// Resources a listing page (default: all in one).
    page_size: Option<usize>,
    /// The aliases every resource answers to.
    aliases: Vec<String>,
    calls: Mutex<Vec<Call>>,
    /// Throttled attempts to report through `TagStore::throttled`.
    pub throttles: std::sync::atomic::AtomicU64,
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl FakeStore {
    /// One resource at `arn` with `tags`, named by every id; its listing carries the tags.
    pub fn with(arn: &str, pairs: &[(&str, &str)]) -> Self {
        let store = FakeStore {
            single: true,
            tags_listed: true,
            ..FakeStore::default()
        };
        store.resources.lock().unwrap().insert(
            arn.to_owned(),
            ResourceState {
                arn: arn.to_owned(),
                name: None,
                tags: tags(pairs),
                skip: None,
                state_checked: true,
            },
        );
        store
    }

    /// `n` resources `arn:r0000`… carrying `Owner=platform`; every `dirty_every`-th lacks it
    /// and carries `Debug=on` instead.
    pub fn many(n: usize, dirty_every: usize, tags_listed: bool) -> Self {
        let resources = (0..n)
            .map(|i| {
                let arn = format!("arn:r{i:04}");
                let mut t = tags(&[("Owner", "platform")]);
                if dirty_every > 0 && i % dirty_every == 0 {
                    t.remove("Owner");
                    t.insert("Debug".into(), "on".into());
                }
                let state = ResourceState {
                    arn: arn.clone(),
                    name: None,
                    tags: t,
                    skip: None,
                    state_checked: true,
                };
                (arn, state)
            })
            .collect();
        FakeStore {
            resources: Mutex::new(resources),
            tags_listed,
            ..FakeStore::default()
        }
    }

    /// Fails the next call of `op` with an error of `kind`.
    pub fn failing(self, op: &'static str, kind: ErrorKind) -> Self {
        self.fail_next(op, kind);
        self
    }

    /// [`FakeStore::failing`], on a store in use.
    pub fn fail_next(&self, op: &'static str, kind: ErrorKind) {
        self.fail.lock().unwrap().push((op, kind));
    }

    /// Deletes the resource at `arn` (listings no longer show it).
    pub fn delete(&self, arn: &str) {
        self.resources.lock().unwrap().remove(arn);
    }

    /// The write guard refuses writes to `arn` (as for a key pending deletion).
    pub fn refusing(mut self, arn: &str) -> Self {
        self.refuse_writes.insert(arn.to_owned());
        self
    }

    /// Tag reads take `delay`.
    pub fn slow_tags(mut self, delay: Duration) -> Self {
        self.slow_tags = Some(delay);
        self
    }

    /// Every resource has these aliases (a KMS key's).
    pub fn aliased(mut self, aliases: &[&str]) -> Self {
        self.aliases = aliases.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Lists `n` resources a page.
    pub fn paged(mut self, n: usize) -> Self {
        self.page_size = Some(n.max(1));
        self
    }

    /// Marks the single resource as not to be written to.
    pub fn skipping(self, why: Refusal) -> Self {
        for state in self.resources.lock().unwrap().values_mut() {
            state.skip = Some(why.clone());
        }
        self
    }

    /// The calls so far as `op detail`: the id for `read`, the keys for writes.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|c| match c.op {
                "read" => format!("read {}", c.target),
                "untag" | "tag" => format!("{} {}", c.op, c.keys),
                op => format!("{op} {}", c.target),
            })
            .collect()
    }

    /// How many calls of `op` were made.
    pub fn count(&self, op: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|c| c.op == op).count()
    }

    /// The operations called, in order.
    pub fn ops(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().iter().map(|c| c.op).collect()
    }

    /// Whether any write addressed `arn`.
    pub fn wrote(&self, arn: &str) -> bool {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| matches!(c.op, "untag" | "tag") && c.target == arn)
    }

    /// The tags of `arn` now.
    pub fn tags_of(&self, arn: &str) -> Tags {
        self.resources.lock().unwrap()[arn].tags.clone()
    }

    /// The single resource's tags now.
    pub fn tags(&self) -> Tags {
        self.resources.lock().unwrap().values().next().unwrap().tags.clone()
    }

    fn call(&self, op: &'static str, target: &str, keys: String) -> Result<(), ApiError> {
        self.calls.lock().unwrap().push(Call {
            op,
            target: target.to_owned(),
            keys,
        });
        let mut fail = self.fail.lock().unwrap();
        if let Some(i) = fail.iter().position(|(o, _)| *o == op) {
            let (_, kind) = fail.remove(i);
            return Err(ApiError {
                operation: op,
                resource: target.to_owned(),
                kind,
                code: format!("{kind:?}Code"),
                message: "injected".into(),
            });
        }
        Ok(())
    }

    /// The resource `id` names, changed by `f`.
    fn update<T>(&self, id: &str, f: impl FnOnce(&mut ResourceState) -> T) -> Option<T> {
        let mut all = self.resources.lock().unwrap();
        let state = match self.single {
            true => all.values_mut().next(),
            false => all.get_mut(id),
        };
        state.map(f)
    }
}

fn not_found(op: &'static str, id: &str) -> ApiError {
    ApiError {
        operation: op,
        resource: id.into(),
        kind: ErrorKind::NotFound,
        code: "ResourceNotFoundException".into(),
        message: "gone".into(),
    }
}

impl TagStore for FakeStore {
    fn throttled(&self) -> u64 {
        self.throttles.load(std::sync::atomic::Ordering::Relaxed)
    }
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        self.call("read", id, String::new())?;
        self.update(id, |s| s.clone()).ok_or_else(|| not_found("read", id))
    }
    async fn write_guard(&self, arn: &str) -> Result<Option<Refusal>, ApiError> {
        self.call("guard", arn, String::new())?;
        Ok(self
            .refuse_writes
            .contains(arn)
            .then_some(Refusal::KeyState(PendingKeyState::PendingDeletion)))
    }
    async fn aliases(&self, arn: &str) -> Result<Vec<String>, ApiError> {
        self.call("aliases", arn, String::new())?;
        Ok(self.aliases.clone())
    }
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.call("untag", arn, keys.join(","))?;
        self.update(arn, |s| keys.iter().for_each(|k| drop(s.tags.remove(k))));
        Ok(())
    }
    async fn tag(&self, arn: &str, new: &Tags) -> Result<(), ApiError> {
        self.call("tag", arn, new.keys().cloned().collect::<Vec<_>>().join(","))?;
        self.update(arn, |s| s.tags.extend(new.clone()));
        Ok(())
    }
}

impl Inventory for FakeStore {
    /// The resources as they are when listing starts, a page at a time; each page recorded
    /// as a `list` call when it is fetched.
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_ {
        let all: Vec<Listed> = self
            .resources
            .lock()
            .unwrap()
            .values()
            .map(|s| Listed {
                arn: s.arn.clone(),
                name: s.name.clone(),
                aliases: Vec::new(),
                tags: self.tags_listed.then(|| s.tags.clone()),
                skip: s.skip.clone(),
            })
            .collect();
        let size = self.page_size.unwrap_or(usize::MAX);
        let chunks: Vec<Vec<Listed>> = match all.is_empty() {
            true => vec![Vec::new()],
            false => all.chunks(size).map(<[Listed]>::to_vec).collect(),
        };
        stream::unfold((chunks.into_iter(), false), move |(mut rest, failed)| async move {
            if failed {
                return None;
            }
            let page = rest.next()?;
            match self.call("list", "", String::new()) {
                Ok(()) => Some((Ok(page), (rest, false))),
                Err(e) => Some((Err(e), (rest, true))),
            }
        })
    }
    async fn tags(&self, arn: &str) -> Result<Tags, ApiError> {
        self.call("tags", arn, String::new())?;
        if let Some(d) = self.slow_tags {
            tokio::time::sleep(d).await;
        }
        self.update(arn, |s| s.tags.clone())
            .ok_or_else(|| not_found("tags", arn))
    }
}

/// Memory in memory: entries by ARN, conditional writes as DynamoDB makes them, every call
/// recorded, and an injectable failure.
#[derive(Default)]
pub struct FakeMemory {
    /// The entries, with the place each was stored with.
    pub entries: Mutex<BTreeMap<String, (Remembered, Option<Place>)>>,
    /// Every call: `recall ARN`, `scan REGION`, `remember ARN`, `expire ARN`.
    pub calls: Mutex<Vec<String>>,
    /// When set, every call fails with an error of this kind.
    pub fail: Option<ErrorKind>,
    /// The history written, by ARN.
    pub stories: Mutex<BTreeMap<String, Vec<HistoryEntry>>>,
    /// Exemption grants, by ARN.
    pub grants: Mutex<BTreeMap<String, crate::ports::Grant>>,
    /// Sweep summaries kept.
    pub trend: Mutex<Vec<crate::ports::TrendPoint>>,
}

impl FakeMemory {
    /// Memory holding `values` for `arn`, observed at `observed_ms`.
    pub fn with(self, arn: &str, values: &[(&str, &str)], observed_ms: u64) -> Self {
        let r = Remembered {
            values: tags(values),
            observed_ms,
            kind: None,
            expiring: false,
            names: Vec::new(),
        };
        self.entries.lock().unwrap().insert(arn.to_owned(), (r, None));
        self
    }

    /// What is remembered for `arn`.
    pub fn values(&self, arn: &str) -> Tags {
        self.entries
            .lock()
            .unwrap()
            .get(arn)
            .map(|(r, _)| r.values.clone())
            .unwrap_or_default()
    }

    /// How many calls of `op` were made.
    pub fn count(&self, op: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.split(' ').next() == Some(op))
            .count()
    }

    fn call(&self, op: &str, target: &str) -> Result<(), ApiError> {
        self.calls.lock().unwrap().push(format!("{op} {target}"));
        match self.fail {
            Some(kind) => Err(ApiError {
                operation: "dynamodb:fake",
                resource: target.to_owned(),
                kind,
                code: format!("{kind:?}Code"),
                message: "injected".into(),
            }),
            None => Ok(()),
        }
    }
}

impl Memory for FakeMemory {
    async fn recall(&self, arn: &str) -> Result<Option<Remembered>, ApiError> {
        self.call("recall", arn)?;
        Ok(self.entries.lock().unwrap().get(arn).map(|(r, _)| r.clone()))
    }
    async fn recall_cell(&self, cell: &Cell) -> Result<BTreeMap<String, Remembered>, ApiError> {
        let region = cell.region.as_str();
        self.call("scan", region)?;
        Ok(self
            .entries
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, (_, p))| {
                p.as_ref().is_none_or(|p| {
                    p.region == region && cell.account.as_ref().is_none_or(|a| p.account.as_ref() == Some(a))
                })
            })
            .map(|(arn, (r, _))| (arn.clone(), r.clone()))
            .collect())
    }
    async fn remember(
        &self,
        arn: &str,
        place: &Place,
        changes: &Tags,
        observed_ms: u64,
        history: &[HistoryEntry],
    ) -> Result<Stored, ApiError> {
        self.call("remember", arn)?;
        // Each step happened: appended whatever comes of the values, numbered after the last.
        {
            let mut stories = self.stories.lock().unwrap();
            let story = stories.entry(arn.to_owned()).or_default();
            let next = story.last().map_or(0, |h| h.seq + 1);
            story.extend(history.iter().cloned().zip(next..).map(|(mut h, seq)| {
                h.seq = seq;
                h
            }));
        }
        let mut all = self.entries.lock().unwrap();
        if all.get(arn).is_some_and(|(r, _)| r.observed_ms >= observed_ms) {
            return Ok(Stored::Newer);
        }
        let (r, p) = all.entry(arn.to_owned()).or_default();
        r.values.extend(changes.clone());
        r.observed_ms = observed_ms;
        r.kind = Some(place.kind);
        r.expiring = false;
        if !place.names.is_empty() {
            r.names = place.names.clone();
        }
        *p = Some(place.clone());
        Ok(Stored::Written)
    }
    async fn history(&self, arn: &str) -> Result<Vec<HistoryEntry>, ApiError> {
        self.call("history", arn)?;
        Ok(self.stories.lock().unwrap().get(arn).cloned().unwrap_or_default())
    }
    async fn expire(&self, arn: &str, _at_s: u64) -> Result<(), ApiError> {
        self.call("expire", arn)?;
        if let Some((r, _)) = self.entries.lock().unwrap().get_mut(arn) {
            r.expiring = true;
        }
        Ok(())
    }
    async fn put_grant(&self, arn: &str, grant: &crate::ports::Grant) -> Result<(), ApiError> {
        self.call("grant", arn)?;
        self.grants.lock().unwrap().insert(arn.to_owned(), grant.clone());
        Ok(())
    }
    async fn grant(&self, arn: &str) -> Result<Option<crate::ports::Grant>, ApiError> {
        self.call("read-grant", arn)?;
        Ok(self.grants.lock().unwrap().get(arn).cloned())
    }
    async fn put_trend(&self, point: &crate::ports::TrendPoint) -> Result<(), ApiError> {
        self.call("trend", &point.account)?;
        self.trend.lock().unwrap().push(point.clone());
        Ok(())
    }
    async fn trend(&self) -> Result<Vec<crate::ports::TrendPoint>, ApiError> {
        Ok(self.trend.lock().unwrap().clone())
    }
}

/// Hands out one fake store per kind, whatever the region, and records the regions asked for.
pub struct FakeBackend {
    /// The secrets.
    pub secrets: Arc<FakeStore>,
    /// The keys.
    pub keys: Arc<FakeStore>,
    /// Every region a store was asked for, in order.
    pub regions: Mutex<Vec<String>>,
    /// The memory, when configured.
    pub memory: Option<FakeMemory>,
    /// Every account reached, in order.
    pub reached: Mutex<Vec<Option<String>>>,
    /// Accounts whose member role cannot be assumed.
    pub unreachable: BTreeSet<String>,
    /// How AssumeRole fails there (AccessDenied: not enrolled).
    pub unreachable_kind: ErrorKind,
    /// The organization's accounts (`None`: ListAccounts fails).
    pub organization: Option<Vec<String>>,
    /// The organization's management account.
    pub management: Option<String>,
    /// Messages sent: (queue, body).
    pub sent: Mutex<Vec<(String, String)>>,
    /// Finding events put: (bus, finding).
    pub events: Mutex<Vec<(String, PolicyFinding)>>,
    /// Why every finding event is refused, when it is.
    pub refuse_events: Option<String>,
    /// Security Hub: per region (one account: its own and the event's account are one hub, as
    /// in AWS), the findings by id (the latest import of each).
    pub hub: Mutex<BTreeMap<String, BTreeMap<String, PolicyFinding>>>,
    /// Who the credentials are (`None`: unknown, as offline).
    pub identity: Option<crate::domain::Identity>,
}

/// The function of the sample events: role `tag-warden-role` in account 123456789012.
pub fn sample_function() -> crate::domain::Identity {
    crate::domain::Identity {
        account: "123456789012".into(),
        arn: "arn:aws:sts::123456789012:assumed-role/tag-warden-role/tag-warden".into(),
    }
}

impl FakeBackend {
    /// A backend over the two stores, without memory.
    pub fn new(secrets: FakeStore, keys: FakeStore) -> Self {
        FakeBackend {
            secrets: Arc::new(secrets),
            keys: Arc::new(keys),
            regions: Mutex::new(Vec::new()),
            memory: None,
            reached: Mutex::new(Vec::new()),
            unreachable: BTreeSet::new(),
            organization: None,
            management: None,
            unreachable_kind: ErrorKind::AccessDenied,
            sent: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            refuse_events: None,
            hub: Mutex::new(BTreeMap::new()),
            identity: None,
        }
    }

    /// The same, with memory.
    pub fn remembering(mut self, memory: FakeMemory) -> Self {
        self.memory = Some(memory);
        self
    }
}

impl Backend for FakeBackend {
    type Store = Arc<FakeStore>;
    type Memory = FakeMemory;
    fn memory(&self) -> Option<&FakeMemory> {
        self.memory.as_ref()
    }
    fn store(&self, cell: &Cell, kind: ResourceKind) -> Arc<FakeStore> {
        self.regions.lock().unwrap().push(cell.region.clone());
        match kind {
            ResourceKind::Secret => Arc::clone(&self.secrets),
            ResourceKind::KmsKey => Arc::clone(&self.keys),
        }
    }
    async fn reach(&self, account: Option<&str>) -> Result<(), ApiError> {
        self.reached.lock().unwrap().push(account.map(str::to_owned));
        match account.filter(|a| self.unreachable.contains(*a)) {
            Some(a) => Err(ApiError {
                operation: "sts:AssumeRole",
                resource: format!("arn:aws:iam::{a}:role/tag-warden-member"),
                kind: self.unreachable_kind,
                code: self.unreachable_kind.as_str().into(),
                message: "not authorized to perform sts:AssumeRole".into(),
            }),
            None => Ok(()),
        }
    }
    async fn identity(&self) -> Result<Option<crate::domain::Identity>, ApiError> {
        Ok(self.identity.clone())
    }
    async fn organization(&self) -> Result<crate::domain::Organization, ApiError> {
        let accounts = self
            .organization
            .clone()
            .ok_or_else(|| crate::ports::unsupported("organizations:ListAccounts"))?;
        Ok(crate::domain::Organization {
            accounts,
            management: self.management.clone(),
        })
    }
    async fn enqueue(&self, queue_url: &str, messages: &[String]) -> Result<(), ApiError> {
        let mut sent = self.sent.lock().unwrap();
        sent.extend(messages.iter().map(|m| (queue_url.to_owned(), m.clone())));
        Ok(())
    }
    async fn enqueue_after(&self, queue_url: &str, message: &str, delay_seconds: u32) -> Result<(), ApiError> {
        let mut sent = self.sent.lock().unwrap();
        sent.push((format!("{queue_url} (after {delay_seconds} s)"), message.to_owned()));
        Ok(())
    }
    async fn put_findings(&self, bus: &str, findings: &[PolicyFinding]) -> Vec<Published> {
        if let Some(why) = &self.refuse_events {
            return vec![Published::Refused(why.clone()); findings.len()];
        }
        let mut events = self.events.lock().unwrap();
        events.extend(findings.iter().map(|f| (bus.to_owned(), f.clone())));
        vec![Published::Accepted; findings.len()]
    }
    async fn import_findings(&self, cell: &Cell, findings: &[PolicyFinding]) -> Vec<Published> {
        let mut hub = self.hub.lock().unwrap();
        let cell = hub.entry(cell.region.clone()).or_default();
        for f in findings {
            cell.insert(f.finding_id.clone(), f.clone());
        }
        vec![Published::Accepted; findings.len()]
    }
    async fn open_findings(&self, cell: &Cell, ids: Option<&[String]>) -> Result<BTreeMap<String, String>, ApiError> {
        let hub = self.hub.lock().unwrap();
        Ok(hub
            .get(&cell.region)
            .map(|fs| {
                fs.values()
                    .filter(|f| f.compliance == Compliance::Failed)
                    .filter(|f| ids.is_none_or(|ids| ids.contains(&f.finding_id)))
                    .map(|f| (f.finding_id.clone(), f.arn.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// A sweep entry for secret `s{i}`: a violation of rule `cost` (`CostCenter` missing, no default).
pub fn violation(i: usize) -> ResourceReport {
    let mut e = ResourceReport::new(Outcome::Violation);
    e.kind = Some(ResourceKind::Secret);
    e.arn = Some(format!(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:s{i}-AbCdEf"
    ));
    e.region = Some("us-east-1".to_owned());
    e.findings.push(Finding::Missing {
        key: "CostCenter".to_owned(),
        rule: "cost".to_owned(),
        fix: Fix::Manual(None),
    });
    e.reasons.push("CostCenter is required and has no default".to_owned());
    e
}
