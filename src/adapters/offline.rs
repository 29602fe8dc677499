//! The offline backend behind `tag-warden plan`: every resource it is asked about has the
//! tags it was given, so the handler's own path can run with no AWS call. It lists nothing
//! (it knows no resource by ARN) and keeps any write in memory. Remembered values, when given
//! (`plan --remembered`), are what its memory holds for every resource; it stores nothing.

use crate::domain::{ApiError, Cell, Refusal, ResourceKind, Tags};
use crate::ports::{
    Backend, HistoryEntry, Inventory, ListedPage, Memory, Place, Remembered, ResourceState, Stored, TagStore,
};
use futures_util::{stream, Stream};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A backend whose every resource carries the given tags.
#[derive(Debug, Clone)]
pub struct OfflineBackend {
    store: OfflineStore,
    memory: Option<OfflineMemory>,
}

/// What memory holds offline: the same remembered values for every resource, read only.
#[derive(Debug, Clone)]
pub struct OfflineMemory {
    values: Tags,
}

impl OfflineBackend {
    /// Every resource asked about carries `tags`; `name`, when given, is a secret's name or a
    /// key's alias.
    pub fn new(tags: Tags, name: Option<String>) -> Self {
        OfflineBackend {
            store: OfflineStore {
                tags: Arc::new(Mutex::new(tags)),
                aliases: name.iter().cloned().collect(),
                name,
            },
            memory: None,
        }
    }

    /// Memory holds `values` for every resource asked about (`plan --remembered FILE`).
    pub fn remembering(mut self, values: Tags) -> Self {
        self.memory = Some(OfflineMemory { values });
        self
    }
}

impl Backend for OfflineBackend {
    type Store = OfflineStore;
    type Memory = OfflineMemory;
    /// The remembered values given, if any.
    fn memory(&self) -> Option<&OfflineMemory> {
        self.memory.as_ref()
    }
    fn store(&self, _cell: &Cell, _kind: ResourceKind) -> OfflineStore {
        self.store.clone()
    }
}

/// The store of [`OfflineBackend`].
#[derive(Debug, Clone)]
pub struct OfflineStore {
    tags: Arc<Mutex<Tags>>,
    name: Option<String>,
    aliases: Vec<String>,
}

impl OfflineStore {
    fn with_tags<T>(&self, f: impl FnOnce(&mut Tags) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-update; the map is usable.
        f(&mut self.tags.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl TagStore for OfflineStore {
    /// The given tags, addressed by the id as given (offline there is no canonical ARN).
    async fn read(&self, id: &str) -> Result<ResourceState, ApiError> {
        Ok(ResourceState {
            arn: id.to_owned(),
            name: self.name.clone(),
            tags: self.with_tags(|t| t.clone()),
            skip: None,
            state_checked: true,
        })
    }
    async fn write_guard(&self, _arn: &str) -> Result<Option<Refusal>, ApiError> {
        Ok(None)
    }
    /// Offline a key's aliases are what `plan --name` says.
    async fn aliases(&self, _arn: &str) -> Result<Vec<String>, ApiError> {
        Ok(self.aliases.clone())
    }
    async fn untag(&self, _arn: &str, keys: &[String]) -> Result<(), ApiError> {
        self.with_tags(|t| keys.iter().for_each(|k| drop(t.remove(k))));
        Ok(())
    }
    async fn tag(&self, _arn: &str, tags: &Tags) -> Result<(), ApiError> {
        self.with_tags(|t| t.extend(tags.clone()));
        Ok(())
    }
}

impl Inventory for OfflineStore {
    fn pages(&self) -> impl Stream<Item = ListedPage> + Send + '_ {
        stream::empty()
    }
    async fn tags(&self, _arn: &str) -> Result<Tags, ApiError> {
        Ok(self.with_tags(|t| t.clone()))
    }
}

impl Memory for OfflineMemory {
    async fn recall(&self, _arn: &str) -> Result<Option<Remembered>, ApiError> {
        Ok(Some(Remembered {
            values: self.values.clone(),
            ..Remembered::default()
        }))
    }
    async fn recall_cell(&self, _cell: &Cell) -> Result<BTreeMap<String, Remembered>, ApiError> {
        Ok(BTreeMap::new())
    }
    /// Offline nothing is stored (a plan is never live, so this is not called).
    async fn remember(
        &self,
        _arn: &str,
        _place: &Place,
        _changes: &Tags,
        _observed_ms: u64,
        _history: &[HistoryEntry],
    ) -> Result<Stored, ApiError> {
        Ok(Stored::Newer)
    }
    async fn history(&self, _arn: &str) -> Result<Vec<HistoryEntry>, ApiError> {
        Ok(Vec::new())
    }
    async fn expire(&self, _arn: &str, _at_s: u64) -> Result<(), ApiError> {
        Ok(())
    }
    /// Offline nothing is granted (`tag-warden exempt` needs the table).
    async fn put_grant(&self, arn: &str, _grant: &crate::ports::Grant) -> Result<(), ApiError> {
        Err(ApiError {
            operation: "dynamodb:UpdateItem",
            resource: arn.to_owned(),
            kind: crate::domain::ErrorKind::Other,
            code: "Offline".to_owned(),
            message: "an offline plan records nothing".to_owned(),
        })
    }
    async fn grant(&self, _arn: &str) -> Result<Option<crate::ports::Grant>, ApiError> {
        Ok(None)
    }
}
