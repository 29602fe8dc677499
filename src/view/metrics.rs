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

/// A metric tag-warden emits: its name in CloudWatch is [`Metric::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Resources judged.
    Evaluated,
    /// Resources compliant as found.
    Compliant,
    /// Resources tag-warden fixed.
    Remediated,
    /// Resources report mode (or a report-only rule) would have fixed.
    WouldRemediate,
    /// Resources left departing from the policy.
    Violations,
    /// Resources exempt (a verified exemption).
    Exempt,
    /// Resources under a policy waiver and otherwise compliant.
    Waived,
    /// Resources AWS would refuse tag changes on.
    Skipped,
    /// Replica secrets: judged through their primary, never written.
    Replicas,
    /// Accounts whose member role cannot be assumed (once per sweep).
    NotEnrolled,
    /// Resources whose handling failed.
    Errors,
    /// Tags tag-warden added or set.
    TagsAdded,
    /// Tags tag-warden removed.
    TagsRemoved,
    /// Resources whose undoing was contested (the same change undone again and again).
    Contested,
    /// Throttled attempts AWS answered (the SDK retried them); per invocation only.
    Throttled,
    /// Each event's latency (its time to tag-warden's decision), in milliseconds: the values
    /// of an invocation, in documents of their own (totals only), when it had events.
    EventLatency,
}

impl Metric {
    /// Every metric, in the order written: the counts (the totals carry every one, zeros
    /// included; `Throttled`, counted per invocation only, last of them), then `EventLatency`.
    pub const ALL: [Metric; 16] = [
        Metric::Evaluated,
        Metric::Compliant,
        Metric::Remediated,
        Metric::WouldRemediate,
        Metric::Violations,
        Metric::Exempt,
        Metric::Waived,
        Metric::Skipped,
        Metric::Replicas,
        Metric::NotEnrolled,
        Metric::Errors,
        Metric::TagsAdded,
        Metric::TagsRemoved,
        Metric::Contested,
        Metric::Throttled,
        Metric::EventLatency,
    ];

    /// The counted metrics (all but `EventLatency`, a list of values).
    pub const COUNTED: &[Metric] = Metric::ALL.split_at(Metric::ALL.len() - 1).0;

    /// The metrics written per rule (`Kind` × `Rule`): the resources that departed from it.
    pub const PER_RULE: [Metric; 3] = [Metric::Violations, Metric::Remediated, Metric::WouldRemediate];

    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Evaluated => "Evaluated",
            Metric::Compliant => "Compliant",
            Metric::Remediated => "Remediated",
            Metric::WouldRemediate => "WouldRemediate",
            Metric::Violations => "Violations",
            Metric::Exempt => "Exempt",
            Metric::Waived => "Waived",
            Metric::Skipped => "Skipped",
            Metric::Replicas => "Replicas",
            Metric::NotEnrolled => "NotEnrolled",
            Metric::Errors => "Errors",
            Metric::TagsAdded => "TagsAdded",
            Metric::TagsRemoved => "TagsRemoved",
            Metric::Contested => "Contested",
            Metric::Throttled => "Throttled",
            Metric::EventLatency => "EventLatency",
        }
    }

    /// The metric named `name` in CloudWatch, if tag-warden emits one.
    pub fn named(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The metric that counts resources of `outcome`; none for an ignored event.
    fn of_outcome(outcome: Outcome) -> Option<Metric> {
        match outcome {
            Outcome::Ignored => None,
            Outcome::Compliant => Some(Metric::Compliant),
            Outcome::Remediated => Some(Metric::Remediated),
            Outcome::WouldRemediate => Some(Metric::WouldRemediate),
            Outcome::Violation => Some(Metric::Violations),
            Outcome::Skipped => Some(Metric::Skipped),
            Outcome::Replica => Some(Metric::Replicas),
            Outcome::NotEnrolled => Some(Metric::NotEnrolled),
            Outcome::Error => Some(Metric::Errors),
            Outcome::Exempt => Some(Metric::Exempt),
            Outcome::Waived => Some(Metric::Waived),
        }
    }
}

/// Metrics are kept (and written) in the order of their names, as CloudWatch lists them.
impl Ord for Metric {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Metric {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The most values one EMF member holds.
pub const MAX_VALUES_PER_METRIC: usize = 100;

/// A dimension set tag-warden writes metrics under. Dimensions stay few and low in
/// cardinality: never an ARN, a name or a tag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimensions {
    /// None: the invocation's totals.
    Totals,
    /// `Kind`.
    Kind,
    /// `Kind` × `Rule`.
    KindRule,
    /// `Account` (when entries name accounts).
    Account,
}

impl Dimensions {
    /// Every dimension set written, in order.
    pub const ALL: [Dimensions; 4] = [
        Dimensions::Totals,
        Dimensions::Kind,
        Dimensions::KindRule,
        Dimensions::Account,
    ];

    /// The dimensions' names, as an EMF directive lists them.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Dimensions::Totals => &[],
            Dimensions::Kind => &["Kind"],
            Dimensions::KindRule => &["Kind", "Rule"],
            Dimensions::Account => &["Account"],
        }
    }

    /// The dimension set of these names, if tag-warden writes one.
    pub fn named(names: &[&str]) -> Option<Dimensions> {
        Dimensions::ALL.into_iter().find(|d| d.names() == names)
    }

    /// The metrics written under this set: the totals carry every one; `Throttled` is counted
    /// per invocation only; per rule, only [`Metric::PER_RULE`].
    pub fn emitted(self) -> &'static [Metric] {
        match self {
            Dimensions::Totals => &Metric::ALL,
            // The counts but `Throttled`, the last of them.
            Dimensions::Kind | Dimensions::Account => Metric::ALL.split_at(Metric::ALL.len() - 2).0,
            Dimensions::KindRule => &Metric::PER_RULE,
        }
    }
}

/// The most metrics a metric directive may hold (EMF specification).
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;

/// Counts by metric.
type Counts = BTreeMap<Metric, u64>;

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
            | Finding::Derived { rule, .. }
            | Finding::Scope { rule, .. }
            | Finding::KeyCase { rule, .. } => Some(rule.clone()),
            Finding::BadWaiver { .. } | Finding::TagLimit { .. } => None,
        })
        .collect()
}

impl Metrics {
    /// Counts one report entry. Ignored events count nothing.
    pub fn observe(&mut self, entry: &ResourceReport) {
        let Some(outcome) = Metric::of_outcome(entry.outcome) else {
            return;
        };
        let mut counts: Vec<(Metric, u64)> = Vec::with_capacity(5);
        if entry.kind.is_some() {
            counts.push((Metric::Evaluated, 1));
        }
        counts.push((outcome, 1));
        counts.push((Metric::TagsAdded, entry.tags_added.len() as u64));
        counts.push((Metric::TagsRemoved, entry.keys_removed.len() as u64));
        counts.push((Metric::Contested, u64::from(entry.contested.is_some())));
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
                *target.entry(*metric).or_insert(0) += n;
            }
        }
        if let (Some(kind), true) = (entry.kind, Metric::PER_RULE.contains(&outcome)) {
            for rule in rules_of(entry) {
                *self
                    .by_rule
                    .entry((kind, rule))
                    .or_default()
                    .entry(outcome)
                    .or_insert(0) += 1;
            }
        }
    }

    /// Counts throttled attempts AWS answered (the SDK retried them).
    pub fn throttled(&mut self, n: u64) {
        *self.total.entry(Metric::Throttled).or_insert(0) += n;
    }

    /// The total of `metric` (for reports and tests).
    pub fn total(&self, metric: Metric) -> u64 {
        self.total.get(&metric).copied().unwrap_or(0)
    }

    /// The EMF documents of these counts, stamped `timestamp_ms`: the totals (every metric,
    /// zeros included, so that alarms see a value each invocation), then one per kind, per kind
    /// and rule, and per account.
    pub fn emf(&self, namespace: &str, timestamp_ms: u64) -> Vec<Value> {
        let mut docs = Vec::new();
        let all: Counts = Metric::COUNTED.iter().map(|m| (*m, self.total(*m))).collect();
        let doc =
            |set: Dimensions, values: &[&str], counts: &Counts| document(namespace, timestamp_ms, set, values, counts);
        docs.push(doc(Dimensions::Totals, &[], &all));
        for (kind, counts) in &self.by_kind {
            docs.push(doc(Dimensions::Kind, &[kind.as_str()], counts));
        }
        for ((kind, rule), counts) in &self.by_rule {
            docs.push(doc(Dimensions::KindRule, &[kind.as_str(), rule], counts));
        }
        for (account, counts) in &self.by_account {
            docs.push(doc(Dimensions::Account, &[account], counts));
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

/// One EMF document: the `_aws` metadata with one metric directive (its one dimension set,
/// `set`, whose dimensions take `values` in order) and the dimension and metric values as
/// members of the root.
fn document(namespace: &str, timestamp_ms: u64, set: Dimensions, values: &[&str], counts: &Counts) -> Value {
    let mut root = Map::new();
    let names = set.names();
    let metrics: Vec<Value> = counts
        .keys()
        .take(MAX_METRICS_PER_DIRECTIVE)
        .map(|m| json!({"Name": m.name(), "Unit": "Count"}))
        .collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [names], "Metrics": metrics}],
        }),
    );
    for (k, v) in names.iter().zip(values) {
        root.insert((*k).to_owned(), Value::String((*v).to_owned()));
    }
    for (m, n) in counts.iter().take(MAX_METRICS_PER_DIRECTIVE) {
        root.insert(m.name().to_owned(), json!(n));
    }
    Value::Object(root)
}

/// A document of event latencies (milliseconds; CloudWatch keeps each value, so its p50 and
/// p99 are the events', not the invocations').
fn latency_document(namespace: &str, timestamp_ms: u64, values: &[u64]) -> Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [Dimensions::Totals.names()], "Metrics": [{"Name": Metric::EventLatency.name(), "Unit": "Milliseconds"}]}],
        },
        Metric::EventLatency.name(): values,
    })
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
