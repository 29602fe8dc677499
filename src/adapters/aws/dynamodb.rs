//! DynamoDB adapter for memory: one item per resource ARN (partition key `arn`), holding each
//! remembered tag value as its own attribute (`tag:KEY`) beside `kind`, `region`, `account`,
//! `observed` (when the read behind the newest write was issued, ms) and, for a resource found
//! gone, `expires_at` (the table's TTL attribute). Tag values only: nothing of a secret.
//!
//! Every write is an UpdateItem conditioned on `observed`, so an older read that finishes late
//! never overwrites a newer one, and it sets only the keys that changed. BatchWriteItem carries
//! no condition and could put a sweep's older observation over an event's newer one, so it is
//! not used: the sweep writes one conditional UpdateItem per resource whose values changed.

use super::error::from_sdk;
use super::paginate::all_pages;
use crate::domain::{ApiError, ErrorKind, ResourceKind, Tags};
use crate::ports::{Memory, Place, Remembered, Stored};
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

const TABLE_MISSING: (ErrorKind, &str) = (ErrorKind::NotFound, "ResourceNotFoundException");

/// Remembered tag values in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoMemory {
    client: Client,
    table: String,
}

impl DynamoMemory {
    /// Memory in `table`, through `client` (whose region is the table's).
    pub fn new(client: Client, table: String) -> Self {
        DynamoMemory { client, table }
    }
}

fn s(v: &str) -> AttributeValue {
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
    }
}

impl Memory for DynamoMemory {
    #[instrument(skip(self), level = "debug")]
    async fn recall(&self, arn: &str) -> Result<Option<Remembered>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(arn))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                from_sdk("dynamodb:GetItem", arn, e, |e| {
                    e.is_resource_not_found_exception().then_some(TABLE_MISSING)
                })
            })?;
        Ok(out.item().map(remembered))
    }

    #[instrument(skip(self), level = "debug")]
    async fn recall_region(&self, region: &str) -> Result<BTreeMap<String, Remembered>, ApiError> {
        let items = all_pages(|start| async move {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#region = :region")
                .expression_attribute_names("#region", "region")
                .expression_attribute_values(":region", s(region))
                .set_exclusive_start_key(start.map(|arn| HashMap::from([(KEY.to_owned(), s(&arn))])))
                .send()
                .await
                .map_err(|e| {
                    from_sdk("dynamodb:Scan", &self.table, e, |e| {
                        e.is_resource_not_found_exception().then_some(TABLE_MISSING)
                    })
                })?;
            let page = out
                .items()
                .iter()
                .filter_map(|item| Some((item.get(KEY)?.as_s().ok()?.clone(), remembered(item))))
                .collect();
            let next = out
                .last_evaluated_key()
                .and_then(|k| k.get(KEY))
                .and_then(|v| v.as_s().ok())
                .cloned();
            Ok((page, next))
        })
        .await?;
        Ok(items.into_iter().collect())
    }

    #[instrument(skip(self, changes), level = "debug")]
    async fn remember(&self, arn: &str, place: &Place, changes: &Tags, observed_ms: u64) -> Result<Stored, ApiError> {
        let mut set = vec![
            "#observed = :observed".to_owned(),
            "#kind = :kind".to_owned(),
            "#region = :region".to_owned(),
        ];
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(arn))
            .expression_attribute_names("#arn", KEY)
            .expression_attribute_names("#observed", OBSERVED)
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#region", "region")
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":observed", AttributeValue::N(observed_ms.to_string()))
            .expression_attribute_values(":kind", s(place.kind.as_str()))
            .expression_attribute_values(":region", s(&place.region));
        if let Some(account) = &place.account {
            set.push("#account = :account".to_owned());
            req = req
                .expression_attribute_names("#account", "account")
                .expression_attribute_values(":account", s(account));
        }
        for (i, (key, value)) in changes.iter().enumerate() {
            set.push(format!("#t{i} = :t{i}"));
            req = req
                .expression_attribute_names(format!("#t{i}"), format!("{TAG_PREFIX}{key}"))
                .expression_attribute_values(format!(":t{i}"), s(value));
        }
        let out = req
            .update_expression(format!("SET {} REMOVE #expires", set.join(", ")))
            .condition_expression("attribute_not_exists(#arn) OR #observed < :observed")
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
            Err(e) => Err(from_sdk("dynamodb:UpdateItem", arn, e, |e| {
                e.is_resource_not_found_exception().then_some(TABLE_MISSING)
            })),
        }
    }

    #[instrument(skip(self), level = "debug")]
    async fn expire(&self, arn: &str, at_s: u64) -> Result<(), ApiError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(arn))
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
            Err(e) => Err(from_sdk("dynamodb:UpdateItem", arn, e, |e| {
                e.is_resource_not_found_exception().then_some(TABLE_MISSING)
            })),
        }
    }
}
