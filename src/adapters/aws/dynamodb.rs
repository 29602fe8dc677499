//! DynamoDB adapter for memory: one item per resource ARN (partition key `arn`), holding each
//! remembered tag value as its own attribute (`tag:KEY`) beside `kind`, `region`, `account`,
//! `observed` (when the read behind the newest write was issued, ms) and, for a resource found
//! gone, `expires_at` (the table's TTL attribute). Tag values only: nothing of a secret.
//!
//! Every write is an UpdateItem conditioned on `observed`, so an older read that finishes late
//! never overwrites a newer one, and it sets only the keys that changed. BatchWriteItem carries
//! no condition and could put a sweep's older observation over an event's newer one, so it is
//! not used: the sweep writes one conditional UpdateItem per resource whose values changed.

use super::error::{from_sdk, local};
use super::paginate::all_pages;
use crate::domain::{ApiError, Cell, ErrorKind, ResourceKind, Tags};
use crate::ports::{Grant, HistoryEntry, Memory, Place, Remembered, Stored, TrendPoint, HISTORY_LEN, TREND_DAYS};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::{BTreeMap, HashMap};
use tracing::instrument;

/// The IAM actions this adapter calls (the template grants exactly these, on the table only).
pub const ACTIONS: &[&str] = &["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"];

/// The partition key.
pub const KEY: &str = "arn";
/// Where each remembered value lives: `tag:` + the tag key.
pub const TAG_PREFIX: &str = "tag:";
/// The TTL attribute (seconds since the epoch), set only on entries of resources found gone.
pub const TTL_ATTRIBUTE: &str = "expires_at";
const OBSERVED: &str = "observed";
/// The names a `match.names` rule matched the resource by (a string set).
const NAMES: &str = "names";

/// How far apart two clocks that write memory may be (five minutes): an `observed` time further
/// ahead than that is treated as now, so that no record can be pinned by the future.
pub const CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

const TABLE_MISSING: (ErrorKind, &str) = (ErrorKind::NotFound, "ResourceNotFoundException");

/// The classifier of every table call's modeled errors: the table is gone.
macro_rules! table_missing {
    () => {
        |e| e.is_resource_not_found_exception().then_some(TABLE_MISSING)
    };
}

/// Remembered tag values in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoMemory {
    client: Client,
    table: String,
    /// The history item read last (its key, when, what), kept a moment for the append that
    /// usually follows (the contested check reads the story, then the restore appends to it):
    /// one read serves both. The append is conditioned on each slot holding what was read, so
    /// a story changed in between only costs a second read.
    last_story: std::sync::Arc<std::sync::Mutex<Option<Story>>>,
}

/// A history item read: its key, when, and what it held.
type Story = (String, std::time::Instant, HashMap<String, AttributeValue>);

/// How long a history item read is reused for the append that follows.
const STORY_REUSE: std::time::Duration = std::time::Duration::from_secs(5);

impl DynamoMemory {
    /// Memory in `table`, through `client` (whose region is the table's).
    pub fn new(client: Client, table: String) -> Self {
        DynamoMemory {
            client,
            table,
            last_story: std::sync::Arc::default(),
        }
    }

    /// The history item of `key` read a moment ago, if it was (taken: used once).
    fn story_read(&self, key: &str) -> Option<HashMap<String, AttributeValue>> {
        let mut last = self.last_story.lock().unwrap_or_else(|p| p.into_inner());
        match last.take() {
            Some((k, at, item)) if k == key && at.elapsed() < STORY_REUSE => Some(item),
            _ => None,
        }
    }
}

fn string_attr(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// Reads an item; attributes it does not know are left alone.
fn remembered(item: &HashMap<String, AttributeValue>) -> Remembered {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    Remembered {
        values: item
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(TAG_PREFIX)?.to_owned(), v.as_s().ok()?.clone())))
            .collect(),
        observed_ms: item
            .get(OBSERVED)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        kind: text("kind").and_then(|k| ResourceKind::parse(k)),
        expiring: item.contains_key(TTL_ATTRIBUTE),
        names: item
            .get(NAMES)
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default(),
    }
}

/// The item holding a resource's history: `HISTORY_LEN` slots (`h0`…) used in turn, so the
/// oldest entry is overwritten; kept apart from the values so a sweep's scan of a region's
/// values never carries histories (the item has no `region`).
fn history_key(arn: &str) -> String {
    format!("{arn}#history")
}

const HISTORY_SLOT: &str = "h";

/// The item holding a resource's exemption grant (no `region`: a sweep's scan never reads it).
fn grant_key(arn: &str) -> String {
    format!("{arn}#grant")
}

/// The grant's attribute: the grant as JSON.
const GRANT: &str = "grant";

/// The items holding sweeps' summaries: `sweep#ACCOUNT#MS` (no `region`: a resource scan never
/// reads them), each with its TTL.
const TREND_PREFIX: &str = "sweep#";
/// A sweep summary's attribute: the point as JSON.
const TREND: &str = "trend";

impl DynamoMemory {
    /// The item at `key` (a strongly consistent read), for the resource `arn`.
    async fn get(&self, key: &str, arn: &str) -> Result<Option<HashMap<String, AttributeValue>>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, string_attr(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("dynamodb:GetItem", arn, e, table_missing!()))?;
        Ok(out.item)
    }

    /// Sets `attribute` of the item `key` to `value` as JSON, with the item's TTL (`expires`,
    /// epoch seconds) when given: a grant, a sweep's summary. `resource` names it in errors.
    async fn put_json<T: serde::Serialize>(
        &self,
        (key, resource): (&str, &str),
        attribute: &str,
        value: &T,
        expires: Option<u64>,
    ) -> Result<(), ApiError> {
        let body = serde_json::to_string(value)
            .map_err(|e| local("dynamodb:UpdateItem", resource, "Serialization", e.to_string()))?;
        let set = format!("SET #{attribute} = :{attribute}");
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, string_attr(key));
        let update = match expires {
            Some(at) => update
                .update_expression(format!("{set}, #expires = :expires"))
                .expression_attribute_names("#expires", TTL_ATTRIBUTE)
                .expression_attribute_values(":expires", AttributeValue::N(at.to_string())),
            None => update.update_expression(set),
        };
        update
            .expression_attribute_names(format!("#{attribute}"), attribute)
            .expression_attribute_values(format!(":{attribute}"), string_attr(&body))
            .send()
            .await
            .map_err(|e| from_sdk("dynamodb:UpdateItem", resource, e, table_missing!()))?;
        Ok(())
    }

    /// One page of a scan from `start` (the last key of the page before): its items, and the
    /// key to start the next page from (none: the last page).
    async fn scan_page(
        &self,
        scan: aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
        start: Option<String>,
    ) -> Result<(Vec<HashMap<String, AttributeValue>>, Option<String>), ApiError> {
        let out = scan
            .set_exclusive_start_key(start.map(|arn| HashMap::from([(KEY.to_owned(), string_attr(&arn))])))
            .send()
            .await
            .map_err(|e| from_sdk("dynamodb:Scan", &self.table, e, table_missing!()))?;
        let next = out
            .last_evaluated_key()
            .and_then(|k| k.get(KEY))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok((out.items.unwrap_or_default(), next))
    }

    /// Appends `history` to the resource's story: the next places after the last step stored
    /// (read consistently), written on condition that each slot still holds what was read, so
    /// that appends made side by side never overwrite each other: the loser reads again and
    /// takes the places after. Returns the places used.
    async fn append_history(&self, arn: &str, history: &[HistoryEntry]) -> Result<(), ApiError> {
        let key = history_key(arn);
        let mut known = self.story_read(&key);
        for _ in 0..APPEND_ATTEMPTS {
            let item = match known.take() {
                Some(item) => item,
                None => self.get(&key, arn).await?.unwrap_or_default(),
            };
            let next = item
                .iter()
                .filter(|(k, _)| k.starts_with(HISTORY_SLOT))
                .filter_map(|(_, v)| serde_json::from_str::<HistoryEntry>(v.as_s().ok()?).ok())
                .map(|h| h.seq + 1)
                .max()
                .unwrap_or(0);
            let mut set = Vec::new();
            let mut condition = Vec::new();
            let mut names = HashMap::new();
            let mut values = HashMap::new();
            for (i, entry) in history.iter().enumerate() {
                let seq = next + i as u64;
                let slot = format!("{HISTORY_SLOT}{}", seq % HISTORY_LEN);
                let entry = HistoryEntry { seq, ..entry.clone() };
                let json = serde_json::to_string(&entry)
                    .map_err(|e| local("dynamodb:UpdateItem", arn, "Serialize", e.to_string()))?;
                set.push(format!("#h{i} = :h{i}"));
                match item.get(&slot) {
                    Some(old) => {
                        condition.push(format!("#h{i} = :o{i}"));
                        values.insert(format!(":o{i}"), old.clone());
                    }
                    None => condition.push(format!("attribute_not_exists(#h{i})")),
                }
                names.insert(format!("#h{i}"), slot);
                values.insert(format!(":h{i}"), string_attr(&json));
            }
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(KEY, string_attr(&key))
                .update_expression(format!("SET {}", set.join(", ")))
                .condition_expression(condition.join(" AND "))
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await;
            match out {
                Ok(_) => return Ok(()),
                // Another invocation took these places first: read again.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(from_sdk("dynamodb:UpdateItem", arn, e, table_missing!())),
            }
        }
        Err(local(
            "dynamodb:UpdateItem",
            arn,
            "HistoryContended",
            format!("the history could not be appended in {APPEND_ATTEMPTS} attempts"),
        ))
    }
}

/// Reads and conditional writes an append makes at most, when others append side by side.
const APPEND_ATTEMPTS: usize = 8;

impl Memory for DynamoMemory {
    #[instrument(skip(self), level = "debug")]
    async fn recall(&self, arn: &str) -> Result<Option<Remembered>, ApiError> {
        Ok(self.get(arn, arn).await?.as_ref().map(remembered))
    }

    #[instrument(skip(self), level = "debug")]
    async fn recall_cell(&self, cell: &Cell) -> Result<BTreeMap<String, Remembered>, ApiError> {
        let (filter, account) = match &cell.account {
            Some(a) => ("#region = :region AND #account = :account", Some(string_attr(a))),
            None => ("#region = :region", None),
        };
        let items = all_pages(|start| {
            let account = account.clone();
            async move {
                let mut scan = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .filter_expression(filter)
                    .expression_attribute_names("#region", "region")
                    .expression_attribute_values(":region", string_attr(&cell.region));
                if let Some(account) = account {
                    scan = scan
                        .expression_attribute_names("#account", "account")
                        .expression_attribute_values(":account", account);
                }
                let (items, next) = self.scan_page(scan, start).await?;
                let page = items
                    .iter()
                    .filter_map(|item| Some((item.get(KEY)?.as_s().ok()?.clone(), remembered(item))))
                    .collect();
                Ok((page, next))
            }
        })
        .await?;
        Ok(items.into_iter().collect())
    }

    #[instrument(skip(self, changes, history), level = "debug")]
    async fn remember(
        &self,
        arn: &str,
        place: &Place,
        changes: &Tags,
        observed_ms: u64,
        history: &[HistoryEntry],
    ) -> Result<Stored, ApiError> {
        let mut set = vec!["#observed = :observed", "#kind = :kind", "#region = :region"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        let mut names: HashMap<String, String> = [
            ("#arn", KEY),
            ("#observed", OBSERVED),
            ("#kind", "kind"),
            ("#region", "region"),
            ("#expires", TTL_ATTRIBUTE),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut values: HashMap<String, AttributeValue> = [
            (":observed".to_owned(), AttributeValue::N(observed_ms.to_string())),
            (
                ":future".to_owned(),
                AttributeValue::N(observed_ms.saturating_add(CLOCK_SKEW_MS).to_string()),
            ),
            (":kind".to_owned(), string_attr(place.kind.as_str())),
            (":region".to_owned(), string_attr(&place.region)),
        ]
        .into();
        if !place.names.is_empty() {
            set.push("#names = :names".to_owned());
            names.insert("#names".into(), NAMES.into());
            values.insert(":names".into(), AttributeValue::Ss(place.names.clone()));
        }
        if let Some(account) = &place.account {
            set.push("#account = :account".to_owned());
            names.insert("#account".into(), "account".into());
            values.insert(":account".into(), string_attr(account));
        }
        for (i, (key, value)) in changes.iter().enumerate() {
            set.push(format!("#t{i} = :t{i}"));
            names.insert(format!("#t{i}"), format!("{TAG_PREFIX}{key}"));
            values.insert(format!(":t{i}"), string_attr(value));
        }
        let update = format!("SET {} REMOVE #expires", set.join(", "));
        // An observation later than this one plus the clock skew is from the future: no reader
        // makes one, so it was written by hand to pin the record; it counts as now, and loses.
        let condition = "attribute_not_exists(#arn) OR #observed < :observed OR #observed > :future";
        let failed = |e| {
            from_sdk(
                "dynamodb:UpdateItem",
                arn,
                e,
                |e: &aws_sdk_dynamodb::operation::update_item::UpdateItemError| {
                    e.is_resource_not_found_exception().then_some(TABLE_MISSING)
                },
            )
        };
        // Each step happened, whatever comes of the values: appended first.
        if !history.is_empty() {
            self.append_history(arn, history).await?;
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, string_attr(arn))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match out {
            Ok(_) => Ok(Stored::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Stored::Newer)
            }
            Err(e) => Err(failed(e)),
        }
    }

    #[instrument(skip(self), level = "debug")]
    async fn history(&self, arn: &str) -> Result<Vec<HistoryEntry>, ApiError> {
        let key = history_key(arn);
        let item = self.get(&key, arn).await?;
        *self.last_story.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((key, std::time::Instant::now(), item.clone().unwrap_or_default()));
        let mut entries: Vec<HistoryEntry> = item
            .iter()
            .flat_map(|item| item.iter())
            .filter(|(k, _)| k.starts_with(HISTORY_SLOT))
            .filter_map(|(_, v)| serde_json::from_str(v.as_s().ok()?).ok())
            .collect();
        entries.sort_by_key(|e| e.seq);
        Ok(entries)
    }

    #[instrument(skip(self, grant), level = "debug")]
    async fn put_grant(&self, arn: &str, grant: &Grant) -> Result<(), ApiError> {
        self.put_json((&grant_key(arn), arn), GRANT, grant, None).await
    }

    #[instrument(skip(self), level = "debug")]
    async fn grant(&self, arn: &str) -> Result<Option<Grant>, ApiError> {
        let item = self.get(&grant_key(arn), arn).await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get(GRANT))
            .and_then(|v| v.as_s().ok())
            .and_then(|s| serde_json::from_str(s).ok()))
    }

    #[instrument(skip(self, point), level = "debug")]
    async fn put_trend(&self, point: &TrendPoint) -> Result<(), ApiError> {
        let key = match point.region.as_str() {
            "" => format!("{TREND_PREFIX}{}#{}", point.account, point.at_ms),
            region => format!("{TREND_PREFIX}{}#{}#{region}", point.account, point.at_ms),
        };
        let expires = (point.at_ms / 1000).saturating_add(TREND_DAYS * 86_400);
        self.put_json((&key, &key), TREND, point, Some(expires)).await
    }

    #[instrument(skip(self), level = "debug")]
    async fn trend(&self) -> Result<Vec<TrendPoint>, ApiError> {
        let items = all_pages(|start| async move {
            let scan = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(#arn, :prefix)")
                .expression_attribute_names("#arn", KEY)
                .expression_attribute_values(":prefix", string_attr(TREND_PREFIX));
            let (items, next) = self.scan_page(scan, start).await?;
            let page: Vec<TrendPoint> = items
                .iter()
                .filter_map(|item| serde_json::from_str(item.get(TREND)?.as_s().ok()?).ok())
                .collect();
            Ok((page, next))
        })
        .await?;
        let mut points: Vec<TrendPoint> = items;
        points.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.account.cmp(&b.account)));
        Ok(points)
    }

    #[instrument(skip(self), level = "debug")]
    async fn expire(&self, arn: &str, at_s: u64) -> Result<(), ApiError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, string_attr(arn))
            .update_expression("SET #expires = :at")
            .condition_expression("attribute_exists(#arn)")
            .expression_attribute_names("#arn", KEY)
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":at", AttributeValue::N(at_s.to_string()))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // Nothing remembered for it: nothing to expire.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(from_sdk("dynamodb:UpdateItem", arn, e, table_missing!())),
        }
    }
}
