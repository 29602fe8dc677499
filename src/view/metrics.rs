//! Metrics of one invocation, counted from its report entries (every entry, a sweep's
//! compliant ones included) and written as CloudWatch Embedded Metric Format documents: one
//! JSON object a line, which CloudWatch Logs turns into metrics. Dimensions stay few and low in
//! cardinality: none (the totals), `Kind`, `Kind` × `Rule`, and `Account` when entries name
//! accounts. Never an ARN, a name or a tag value.

use crate::domain::{Outcome, ResourceKind};
use crate::engine::evaluate::Finding;
use crate::view::report::ResourceReport;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Every metric tag-warden emits, in the order written.
pub const METRICS: [&str; 12] = [
    "Evaluated",
    "Compliant",
    "Remediated",
    "WouldRemediate",
    "Violations",
    "Exempt",
    "Skipped",
    "Errors",
    "TagsAdded",
    "TagsRemoved",
    "Contested",
    "Throttled",
];

/// The metric of each event's latency (its time to tag-warden's decision), in milliseconds:
/// the values of an invocation, in documents of their own (totals only), when it had events.
pub const EVENT_LATENCY: &str = "EventLatency";

/// The most values one EMF member holds.
pub const MAX_VALUES_PER_METRIC: usize = 100;

/// The metrics written per rule (`Kind` × `Rule`): the resources that departed from it.
pub const RULE_METRICS: [&str; 3] = ["Violations", "Remediated", "WouldRemediate"];

/// The dimension sets written: the totals (none), then per kind, per kind and rule, per account.
pub const DIMENSION_SETS: [&[&str]; 4] = [&[], &["Kind"], &["Kind", "Rule"], &["Account"]];

/// The metrics written under a dimension set (one of [`DIMENSION_SETS`]): the totals carry
/// every one; `Throttled` is counted per invocation only; per rule, only [`RULE_METRICS`].
pub fn emitted(dimensions: &[&str]) -> &'static [&'static str] {
    const TOTALS: [&str; 13] = [
        METRICS[0],
        METRICS[1],
        METRICS[2],
        METRICS[3],
        METRICS[4],
        METRICS[5],
        METRICS[6],
        METRICS[7],
        METRICS[8],
        METRICS[9],
        METRICS[10],
        METRICS[11],
        EVENT_LATENCY,
    ];
    match dimensions {
        [] => &TOTALS,
        ["Kind"] | ["Account"] => METRICS.split_last().map_or(&[], |(_, rest)| rest),
        ["Kind", "Rule"] => &RULE_METRICS,
        _ => &[],
    }
}

/// The most metrics a metric directive may hold (EMF specification).
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;

/// Counts by metric name.
type Counts = BTreeMap<&'static str, u64>;

/// One invocation's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    total: Counts,
    by_kind: BTreeMap<ResourceKind, Counts>,
    by_rule: BTreeMap<(ResourceKind, String), Counts>,
    by_account: BTreeMap<String, Counts>,
    /// Each event entry's latency, in milliseconds.
    latencies: Vec<u64>,
}

/// The rules a resource departs from, as its findings name them.
pub fn rules_of(entry: &ResourceReport) -> BTreeSet<String> {
    entry
        .findings
        .iter()
        .filter_map(|f| match f {
            Finding::Forbidden { rule, .. }
            | Finding::Missing { rule, .. }
            | Finding::Invalid { rule, .. }
            | Finding::Locked { rule, .. }
            | Finding::KeyCase { rule, .. } => Some(rule.clone()),
            Finding::BadWaiver { .. } | Finding::TagLimit { .. } => None,
        })
        .collect()
}

impl Metrics {
    /// Counts one report entry. Ignored events count nothing.
    pub fn observe(&mut self, entry: &ResourceReport) {
        let name = match entry.outcome {
            Outcome::Ignored => return,
            Outcome::Compliant => "Compliant",
            Outcome::Remediated => "Remediated",
            Outcome::WouldRemediate => "WouldRemediate",
            Outcome::Violation => "Violations",
            Outcome::Skipped => "Skipped",
            Outcome::Error => "Errors",
            Outcome::Exempt => "Exempt",
        };
        let mut counts: Vec<(&'static str, u64)> = Vec::with_capacity(4);
        if entry.kind.is_some() {
            counts.push(("Evaluated", 1));
        }
        if !name.is_empty() {
            counts.push((name, 1));
        }
        counts.push(("TagsAdded", entry.tags_added.len() as u64));
        counts.push(("TagsRemoved", entry.keys_removed.len() as u64));
        counts.push(("Contested", u64::from(entry.contested.is_some())));
        self.latencies.extend(entry.latency_ms);
        let mut targets: Vec<&mut Counts> = vec![&mut self.total];
        if let Some(kind) = entry.kind {
            targets.push(self.by_kind.entry(kind).or_default());
        }
        if let Some(account) = &entry.account {
            targets.push(self.by_account.entry(account.clone()).or_default());
        }
        for target in targets {
            for (metric, n) in &counts {
                *target.entry(metric).or_insert(0) += n;
            }
        }
        if let (Some(kind), true) = (entry.kind, RULE_METRICS.contains(&name)) {
            for rule in rules_of(entry) {
                *self.by_rule.entry((kind, rule)).or_default().entry(name).or_insert(0) += 1;
            }
        }
    }

    /// Counts throttled attempts AWS answered (the SDK retried them).
    pub fn throttled(&mut self, n: u64) {
        *self.total.entry("Throttled").or_insert(0) += n;
    }

    /// The total of `metric` (for reports and tests).
    pub fn total(&self, metric: &str) -> u64 {
        self.total.get(metric).copied().unwrap_or(0)
    }

    /// The EMF documents of these counts, stamped `timestamp_ms`: the totals (every metric,
    /// zeros included, so that alarms see a value each invocation), then one per kind, per kind
    /// and rule, and per account.
    pub fn emf(&self, namespace: &str, timestamp_ms: u64) -> Vec<Value> {
        let mut docs = Vec::new();
        let all: Counts = METRICS
            .iter()
            .map(|m| (*m, self.total.get(m).copied().unwrap_or(0)))
            .collect();
        docs.push(document(namespace, timestamp_ms, &[], &all));
        for (kind, counts) in &self.by_kind {
            docs.push(document(namespace, timestamp_ms, &[("Kind", kind.as_str())], counts));
        }
        for ((kind, rule), counts) in &self.by_rule {
            docs.push(document(
                namespace,
                timestamp_ms,
                &[("Kind", kind.as_str()), ("Rule", rule)],
                counts,
            ));
        }
        for (account, counts) in &self.by_account {
            docs.push(document(namespace, timestamp_ms, &[("Account", account)], counts));
        }
        for values in self.latencies.chunks(MAX_VALUES_PER_METRIC) {
            docs.push(latency_document(namespace, timestamp_ms, values));
        }
        docs
    }

    /// The event latencies counted (milliseconds), in order.
    pub fn latencies(&self) -> &[u64] {
        &self.latencies
    }

    /// The EMF documents as log lines: one compact JSON object a line, for stdout (under
    /// Lambda, CloudWatch Logs reads them; they must not be inside another log record).
    pub fn emf_lines(&self, namespace: &str, timestamp_ms: u64) -> Vec<String> {
        self.emf(namespace, timestamp_ms).iter().map(line).collect()
    }

    /// Writes the EMF lines, stamped `timestamp_ms`, to `out` (stdout: under Lambda, after
    /// each invocation; the CLI's `--emf`), each line in one write so that it stays whole.
    pub fn write_emf(&self, out: &mut impl std::io::Write, namespace: &str, timestamp_ms: u64) -> std::io::Result<()> {
        for line in self.emf_lines(namespace, timestamp_ms) {
            out.write_all(format!("{line}\n").as_bytes())?;
        }
        out.flush()
    }
}

/// A document on one line, its `_aws` metadata first (whatever order the JSON map keeps),
/// so that a reader of the log sees at once what the line is.
fn line(doc: &Value) -> String {
    let Value::Object(map) = doc else {
        return doc.to_string();
    };
    let mut out = String::from("{");
    let first = map.get_key_value("_aws");
    for (k, v) in first.into_iter().chain(map.iter().filter(|(k, _)| *k != "_aws")) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

/// One EMF document: the `_aws` metadata with one metric directive (its one dimension set)
/// and the dimension and metric values as members of the root.
fn document(namespace: &str, timestamp_ms: u64, dimensions: &[(&str, &str)], counts: &Counts) -> Value {
    let mut root = Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let metrics: Vec<Value> = counts
        .keys()
        .take(MAX_METRICS_PER_DIRECTIVE)
        .map(|m| json!({"Name": m, "Unit": "Count"}))
        .collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [names], "Metrics": metrics}],
        }),
    );
    for (k, v) in dimensions {
        root.insert((*k).to_owned(), Value::String((*v).to_owned()));
    }
    for (m, n) in counts.iter().take(MAX_METRICS_PER_DIRECTIVE) {
        root.insert((*m).to_owned(), json!(n));
    }
    Value::Object(root)
}

/// A document of event latencies (milliseconds; CloudWatch keeps each value, so its p50 and
/// p99 are the events', not the invocations').
fn latency_document(namespace: &str, timestamp_ms: u64, values: &[u64]) -> Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [[]], "Metrics": [{"Name": EVENT_LATENCY, "Unit": "Milliseconds"}]}],
        },
        EVENT_LATENCY: values,
    })
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
