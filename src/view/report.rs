//! Report stage: per-resource outcomes → the JSON response ([`Report`]) and one structured log
//! line each ([`ResourceReport`]). What a sweep, a fan-out, an SQS batch or the findings came to
//! is in [`summary`](super::summary).

use crate::domain::{
    Date, ErrorType, EventInfo, Mode, Outcome, ReplicaOf, ResourceContext, ResourceKind, Standing, Tags,
};
use crate::engine::decide::Decision;
use crate::engine::evaluate::{Evaluation, Finding, Plan};
use crate::ports::TrendPoint;

use crate::view::summary::{is_zero, BatchItemFailure, CellResult, FanOut, FindingsSummary, SweepSummary};
use serde::Serialize;
use std::collections::BTreeMap;

/// The report entry for one resource or event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceReport {
    /// What happened.
    pub outcome: Outcome,
    /// The kind of resource, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceKind>,
    /// The canonical ARN, once read from AWS (or as the event gives it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The identifier as the event gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The account, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Tags written (TagResource succeeded).
    pub tags_added: Tags,
    /// Keys removed (UntagResource succeeded).
    pub keys_removed: Vec<String>,
    /// What the policy asked for, written or not.
    #[serde(skip_serializing_if = "Plan::is_empty")]
    pub plan: Plan,
    /// What rules in `mode: report` ask for: reported, never written.
    #[serde(skip_serializing_if = "Plan::is_empty")]
    pub report_only: Plan,
    /// Departures from the policy found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Why, for people.
    pub reasons: Vec<String>,
    /// The first day a waiver in force here ends (`tag-warden:exempt-until` or a policy waiver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived_until: Option<Date>,
    /// The name people know it by: a secret's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A KMS key's aliases (without `alias/`), where known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// For an exception (exempt, waived): what kind, until when, granted by whom and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<Exception>,
    /// Values written to memory by this evaluation.
    #[serde(skip_serializing_if = "Tags::is_empty")]
    pub remembered: Tags,
    /// For `error`: a fixed, searchable error type (`Throttled`, `Transient`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<ErrorType>,
    /// The event behind this entry.
    #[serde(skip_serializing_if = "is_default")]
    pub event: EventInfo,
    /// Why the finding about this resource could not be published (findings bus, Security
    /// Hub), after retries. The outcome stands: publishing never undoes a write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpublished: Option<String>,
    /// On the event path: milliseconds from the event's time to tag-warden's decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// For a resource a sweep fixed: how long it had been wrong, in milliseconds, since memory
    /// last saw it (when memory knows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrong_for_ms: Option<u64>,
    /// Throttled writes the event path waited out and retried.
    #[serde(skip_serializing_if = "no_retries")]
    pub throttle_retries: u32,
    /// The resource's tags after tag-warden (what was read, less the keys removed, plus the
    /// tags written): tag keys and values only.
    #[serde(skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    /// The same principal keeps re-making a change tag-warden undoes.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub contested: Option<Contested>,
    /// A replica secret's primary: where its tags are set and fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_of: Option<ReplicaOf>,
    /// Locked keys changed by a call the event did not name, left to the CloudTrail record or
    /// a re-check (the handler schedules one, or says it is left to the next sweep).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub awaiting: Vec<String>,
}

/// A change tag-warden keeps undoing, made again by the same principal: a conflict to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contested {
    /// Always true (the entry's `contested` flag).
    pub contested: bool,
    /// The principal (issuer role or IAM user ARN).
    pub contested_by: String,
    /// How many times within 24 hours, this one included.
    pub contested_count: u32,
    /// The keys tag-warden undoes.
    pub contested_keys: Vec<String>,
    /// When the first of the undone changes counted was made (UTC), when history says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contested_since: Option<String>,
}

fn no_retries(n: &u32) -> bool {
    *n == 0
}

/// An event with nothing the report would show.
fn is_default(e: &EventInfo) -> bool {
    e.source.is_none() && e.name.is_none() && e.id.is_none() && e.time.is_none() && e.actor.arn.is_none()
}

impl ResourceReport {
    /// An entry with the given outcome and nothing else filled in.
    pub fn new(outcome: Outcome) -> Self {
        ResourceReport {
            outcome,
            kind: None,
            arn: None,
            resource_id: None,
            account: None,
            region: None,
            tags_added: Tags::new(),
            keys_removed: Vec::new(),
            plan: Plan::default(),
            report_only: Plan::default(),
            findings: Vec::new(),
            reasons: Vec::new(),
            waived_until: None,
            name: None,
            aliases: Vec::new(),
            exception: None,
            remembered: Tags::new(),
            error_type: None,
            event: EventInfo::default(),
            unpublished: None,
            latency_ms: None,
            wrong_for_ms: None,
            throttle_retries: 0,
            tags: Tags::new(),
            contested: None,
            replica_of: None,
            awaiting: Vec::new(),
        }
    }

    /// The entry of a resource judged in `ctx`: the evaluation (when there was one) and the
    /// decision. `resource_id` is the identifier as an event gave it.
    pub fn judged(ctx: ResourceContext, resource_id: Option<&str>, eval: Option<Evaluation>, d: Decision) -> Self {
        let waived_until = eval.as_ref().and_then(Evaluation::waived_until);
        let exception = eval.as_ref().and_then(Exception::of);
        let name = ctx.name.clone().filter(|_| !ctx.kind.spec().named_by_aliases());
        let aliases = ctx.aliases.clone();
        let (findings, plan, report_only, awaiting) = eval
            .map(|e| (e.findings, e.plan, e.report_only, e.awaiting))
            .unwrap_or_default();
        ResourceReport {
            outcome: d.outcome,
            kind: Some(ctx.kind),
            arn: ctx.arn,
            resource_id: resource_id.map(str::to_owned),
            account: ctx.account,
            region: ctx.region,
            tags_added: d.tags_added,
            keys_removed: d.keys_removed,
            plan,
            report_only,
            findings,
            reasons: d.reasons,
            waived_until,
            name,
            aliases,
            exception,
            remembered: Tags::new(),
            error_type: d.error_type,
            event: ctx.event.unwrap_or_default(),
            unpublished: None,
            latency_ms: None,
            wrong_for_ms: None,
            throttle_retries: 0,
            tags: Tags::new(),
            contested: None,
            replica_of: None,
            awaiting,
        }
    }

    /// The entry of an account whose member role cannot be assumed (`e`, AccessDenied): it is
    /// not enrolled, which someone must fix; no cell of it is swept or retried.
    pub fn not_enrolled(account: &str, e: &str) -> Self {
        let mut entry = ResourceReport::new(Outcome::NotEnrolled);
        entry.account = Some(account.to_owned());
        entry.reasons.push(format!(
            "account {account} is not enrolled: tag-warden's member role cannot be assumed there ({e}). \
             Deploy deploy/member.yaml there (a service-managed StackSet never reaches the management account), \
             or leave the account out of TAG_WARDEN_ACCOUNTS; it is not retried"
        ));
        entry
    }

    /// The name people know the resource by: a secret's name; a KMS key's aliases (`alias/…`)
    /// with its id; else its ARN or identifier.
    pub fn display_name(&self) -> String {
        let id = self.arn.as_deref().or(self.resource_id.as_deref()).unwrap_or("-");
        if let Some(name) = &self.name {
            return name.clone();
        }
        if !self.aliases.is_empty() {
            let key = id.rsplit_once("key/").map_or(id, |(_, k)| k);
            let aliases: Vec<String> = self.aliases.iter().map(|a| format!("alias/{a}")).collect();
            return format!("{} ({key})", aliases.join(", "));
        }
        id.to_owned()
    }

    /// Whether a sweep's report lists the entry: it needs attention, is an account not
    /// enrolled, an exception, or a replica whose primary does (so that a sweep of the
    /// replica's Region alone says where the fix belongs).
    pub fn worth_listing(&self) -> bool {
        self.outcome.left_open()
            || self.outcome.standing() == Standing::Exception
            || (self.outcome == Outcome::Replica && !self.plan.is_empty())
    }

    /// Emits the entry's structured log line (warn for violations and errors; with `quiet`,
    /// entries that need nothing are logged at debug, as a sweep does for thousands of them).
    pub fn log(&self, quiet: bool) {
        let kind = self.kind.map(ResourceKind::as_str).unwrap_or("-");
        let arn = self.arn.as_deref().or(self.resource_id.as_deref()).unwrap_or("-");
        let account = self.account.as_deref().unwrap_or("-");
        let event = self.event.name.as_deref().unwrap_or("-");
        let added: Vec<&str> = self.tags_added.keys().map(String::as_str).collect();
        let reasons = self.reasons.join("; ");
        match self.outcome {
            Outcome::Violation | Outcome::Error | Outcome::NotEnrolled => tracing::warn!(
                outcome = self.outcome.as_str(), kind, arn, account, event, tags_added = ?added,
                keys_removed = ?self.keys_removed, error_type = self.error_type.map(ErrorType::as_str),
                reasons, "resource outcome"
            ),
            Outcome::Compliant | Outcome::Exempt | Outcome::Waived | Outcome::Skipped | Outcome::Replica if quiet => {
                tracing::debug!(
                    outcome = self.outcome.as_str(),
                    kind,
                    arn,
                    account,
                    event,
                    reasons,
                    "resource outcome"
                )
            }
            _ => tracing::info!(
                outcome = self.outcome.as_str(), kind, arn, account, event, tags_added = ?added,
                keys_removed = ?self.keys_removed, reasons, "resource outcome"
            ),
        }
    }
}

/// The whole response: one entry per resource or event, and counts per outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The mode the policy ran in.
    pub mode: Mode,
    /// Counts per outcome.
    pub summary: BTreeMap<Outcome, usize>,
    /// The compliance rate of `summary`: compliant or fixed, of those compliant or not;
    /// exceptions (exempt, waived) counted apart, never in it.
    pub compliance: Compliance,
    /// For a sweep: what it covered, and counts per kind and region. Its `results` then list
    /// only the resources left not compliant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
    /// For a scheduled sweep fanned out over the sweep queue: the cells sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fanout: Option<FanOut>,
    /// For an SQS batch of sweep cells: what became of each message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<CellResult>,
    /// For an SQS batch: the messages to return to the queue (Lambda's partial batch response,
    /// with `ReportBatchItemFailures` on the event source mapping).
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
    /// What became of the findings published (findings bus, Security Hub), when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingsSummary>,
    /// Entries left out of `results` to keep the response within Lambda's size limit (the
    /// counts in `summary` still include them).
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
    /// The entries, in event order.
    pub results: Vec<ResourceReport>,
    /// The sweeps memory keeps (for the page's trend), oldest first, when read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trend: Vec<TrendPoint>,
}

impl Report {
    /// Builds the report and its summary.
    pub fn new(mode: Mode, results: Vec<ResourceReport>) -> Self {
        let mut summary = BTreeMap::new();
        for r in &results {
            *summary.entry(r.outcome).or_insert(0) += 1;
        }
        Report {
            mode,
            compliance: Compliance::of(&summary),
            summary,
            sweep: None,
            fanout: None,
            cells: Vec::new(),
            batch_item_failures: None,
            findings: None,
            omitted: 0,
            results,
            trend: Vec::new(),
        }
    }

    /// A sweep's report: the counts of every resource (from the sweep's summary) and the
    /// entries it kept, those needing attention.
    pub fn of_sweep(mode: Mode, mut kept: Vec<ResourceReport>, sweep: SweepSummary) -> Self {
        kept.retain(ResourceReport::worth_listing);
        let mut summary = crate::view::summary::outcomes_of(&sweep.by_kind);
        if !sweep.not_enrolled.is_empty() {
            summary.insert(Outcome::NotEnrolled, sweep.not_enrolled.len());
        }
        Report {
            mode,
            compliance: Compliance::of(&summary),
            summary,
            sweep: Some(sweep),
            fanout: None,
            cells: Vec::new(),
            batch_item_failures: None,
            findings: None,
            omitted: 0,
            results: kept,
            trend: Vec::new(),
        }
    }

    /// Shrinks the report until its JSON fits in `max_bytes`: entries that need nothing
    /// (compliant, exempt, skipped, ignored) go first, then, if need be, the latest of the rest.
    /// `summary` keeps counting everything; `omitted` says how many entries were left out.
    pub fn fit(&mut self, max_bytes: usize) {
        let size = |r: &Report| serde_json::to_vec(r).map_or(usize::MAX, |v| v.len());
        if size(self) <= max_bytes {
            return;
        }
        let before = self.results.len();
        self.results.retain(|r| {
            !matches!(
                r.outcome,
                Outcome::Compliant
                    | Outcome::Exempt
                    | Outcome::Waived
                    | Outcome::Skipped
                    | Outcome::Replica
                    | Outcome::Ignored
            )
        });
        self.omitted += before - self.results.len();
        while size(self) > max_bytes && !self.results.is_empty() {
            let drop = self.results.len().div_ceil(10);
            self.results.truncate(self.results.len() - drop);
            self.omitted += drop;
        }
    }

    /// Puts what became of the invocation's findings in the report, and in each entry whose
    /// finding could not be published, why.
    pub fn place(&mut self, findings: Option<FindingsSummary>) {
        let Some(findings) = findings else { return };
        for e in &mut self.results {
            if let Some(why) = e.arn.as_ref().and_then(|arn| findings.failures.get(arn)) {
                e.unpublished = Some(why.clone());
            }
        }
        self.findings = Some(findings);
    }

    /// How many resources (or accounts) the report counts as left not compliant: violations,
    /// writes report mode did not make, errors, accounts not enrolled. From the counts, so a
    /// sweep's resources the report does not list count too. What a command's exit 1 means.
    pub fn needing_attention(&self) -> usize {
        self.summary.iter().filter(|(o, _)| o.left_open()).map(|(_, n)| n).sum()
    }

    /// The entries that failed, so that the invocation must fail too.
    pub fn errors(&self) -> impl Iterator<Item = &ResourceReport> {
        self.results.iter().filter(|r| r.outcome == Outcome::Error)
    }
}

#[path = "report_exception.rs"]
mod exception;
pub use exception::{Compliance, Exception, ExceptionKind};

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
