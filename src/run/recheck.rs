//! The re-check of one resource: an `aws.tag` tag-change event names no caller, so a locked key
//! it saw changed waits for the CloudTrail record of the call (a trusted principal's change
//! stands, remembered) — but not unbounded: a message on the sweep queue, delayed
//! `TAG_WARDEN_RECHECK_DELAY_SECONDS`, judges the resource again as a sweep would (no event:
//! whatever memory holds by then is put back).

use super::handler::Handler;
use super::handler_entries::{counting, unreached};
use crate::domain::{Cell, Recheck, ResourceContext};
use crate::engine::intake::Trigger;
use crate::ports::Backend;
use crate::run::outputs::Outputs;
use crate::view::report::ResourceReport;

impl<B: Backend> Handler<B> {
    /// After an event's entry: when a locked key awaits the CloudTrail record, schedules the
    /// re-check of the resource on the sweep queue, or says it is left to the next sweep.
    pub(super) async fn recheck_later(&self, t: &Trigger, entry: &mut ResourceReport) {
        if entry.awaiting.is_empty() {
            return;
        }
        let keys = entry.awaiting.join("`, `");
        let queue = self.config.fleet.queue_url.as_deref().filter(|_| self.live);
        let Some(queue) = queue else {
            entry.reasons.push(format!(
                "the re-check of `{keys}` is left to the next sweep (no sweep queue, {}, to schedule one on)",
                crate::config::ENV_SWEEP_QUEUE_URL
            ));
            return;
        };
        // Without a member role every cell is the function's own account: named by none.
        let account = entry
            .account
            .clone()
            .or_else(|| t.account.clone())
            .filter(|_| self.config.fleet.member_role.is_some());
        let mut body = serde_json::json!({
            "account": account,
            "region": entry.region.clone().unwrap_or_else(|| t.region.clone()),
            "recheck": Recheck {
                kind: t.kind,
                id: entry.arn.clone().unwrap_or_else(|| t.resource_id.clone()),
            },
        });
        if let Some(obj) = body.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        let delay = self.config.fleet.recheck_delay_seconds;
        match self.backend.enqueue_after(queue, &body.to_string(), delay).await {
            Ok(()) => entry.reasons.push(format!(
                "`{keys}` re-checked in {delay} s (a message on the sweep queue): by then the CloudTrail record of the call has decided, or the locked value is put back"
            )),
            Err(e) => entry.reasons.push(format!(
                "the re-check of `{keys}` could not be scheduled ({e}): it is left to the next sweep"
            )),
        }
    }

    /// A re-check: the one resource judged again in its cell, as a sweep judges it (no event).
    pub(super) async fn recheck_one(&self, cell: &Cell, r: &Recheck, outputs: &Outputs<'_>) -> ResourceReport {
        let ctx = ResourceContext {
            account: cell.account.clone(),
            region: Some(cell.region.clone()),
            ..ResourceContext::new(r.kind)
        };
        if let Err(e) = self.backend.reach(cell.account.as_deref()).await {
            return unreached(ctx, &r.id, &e);
        }
        let judge = self.judge();
        let mut entry = counting(self.backend.store(cell, r.kind), outputs, async |s| {
            judge.check(s, ctx, &r.id).await
        })
        .await;
        entry
            .reasons
            .insert(0, "re-check of a locked key a tag-change event saw changed".to_owned());
        entry
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::domain::Outcome;
    use crate::run::handler::Handler;
    use crate::run::sweep::Deadline;
    use crate::testing::{FakeBackend, FakeMemory, FakeStore};
    use serde_json::{json, Value};

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q";
    const POLICY: &str =
        r#"{"rules":[{"name":"r","require":{"DataClass":{"values":["restricted","internal"],"lock":true}}}]}"#;

    fn handler(queue: Option<&'static str>) -> Handler<FakeBackend> {
        let env = move |k: &str| match k {
            "TAG_WARDEN_POLICY" => Some(POLICY.to_owned()),
            "TAG_WARDEN_MEMORY_TABLE" => Some("memory".to_owned()),
            "TAG_WARDEN_SWEEP_QUEUE_URL" => queue.map(str::to_owned),
            "TAG_WARDEN_RECHECK_DELAY_SECONDS" => Some("120".to_owned()),
            _ => None,
        };
        // Memory holds `restricted`; someone changed it to `internal` (still a valid value).
        let backend = FakeBackend::new(FakeStore::with(ARN, &[("DataClass", "internal")]), FakeStore::default())
            .remembering(FakeMemory::default().with(ARN, &[("DataClass", "restricted")], 1));
        Handler::new(backend, Config::from_env(&env).unwrap())
    }

    fn tag_change() -> Value {
        let path = format!("{}/events/tag-change-secret.json", env!("CARGO_MANIFEST_DIR"));
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["detail"]["changed-tag-keys"] = json!(["DataClass"]);
        v["detail"]["tags"] = json!({"DataClass": "internal"});
        v
    }

    #[tokio::test]
    async fn a_locked_key_a_tag_change_saw_changed_is_rechecked_after_the_delay_and_put_back() {
        let h = handler(Some("https://queue/sweep"));
        let report = h.invoke(&tag_change(), Deadline::NONE).await.0.unwrap();
        let entry = &report.results[0];
        assert!(
            entry.reasons.iter().any(|r| r.contains("re-checked in 120 s")),
            "{:?}",
            entry.reasons
        );
        assert_eq!(h.backend.secrets.count("tag"), 0, "the event itself writes nothing");
        let sent = h.backend.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].0, "https://queue/sweep (after 120 s)");
        let body: Value = serde_json::from_str(&sent[0].1).unwrap();
        assert_eq!(body["recheck"], json!({"kind": "secret", "id": ARN}));
        assert_eq!(body["region"], "us-east-1");
        // The message comes back: no CloudTrail record made the change a trusted one, so the
        // locked value is put back.
        let sqs = json!({"Records": [{"messageId": "m1", "body": sent[0].1, "eventSource": "aws:sqs",
                                      "attributes": {"ApproximateReceiveCount": "1"}}]});
        let report = h.invoke(&sqs, Deadline::NONE).await.0.unwrap();
        assert_eq!(report.cells[0].outcome.as_str(), "swept");
        let entry = &report.results[0];
        assert_eq!(entry.outcome, Outcome::Remediated, "{entry:?}");
        assert!(entry.reasons[0].starts_with("re-check"), "{:?}", entry.reasons);
        assert_eq!(
            h.backend.secrets.tags_of(ARN).get("DataClass").map(String::as_str),
            Some("restricted")
        );
    }

    #[tokio::test]
    async fn a_trusted_change_recorded_before_the_recheck_stands() {
        let h = handler(Some("https://queue/sweep"));
        h.invoke(&tag_change(), Deadline::NONE).await.0.unwrap();
        let body = h.backend.sent.lock().unwrap()[0].1.clone();
        // The CloudTrail record was a trusted principal's: memory now holds `internal`.
        if let Some((r, _)) = h.backend.memory.as_ref().unwrap().entries.lock().unwrap().get_mut(ARN) {
            r.values.insert("DataClass".to_owned(), "internal".to_owned());
        }
        let sqs = json!({"Records": [{"messageId": "m1", "body": body, "eventSource": "aws:sqs",
                                      "attributes": {"ApproximateReceiveCount": "1"}}]});
        let report = h.invoke(&sqs, Deadline::NONE).await.0.unwrap();
        assert_eq!(report.summary.get(&Outcome::Compliant), Some(&1), "{report:?}");
        assert_eq!(h.backend.secrets.count("tag"), 0);
    }

    #[tokio::test]
    async fn without_a_sweep_queue_the_entry_says_the_recheck_is_left_to_the_next_sweep() {
        let h = handler(None);
        let report = h.invoke(&tag_change(), Deadline::NONE).await.0.unwrap();
        let entry = &report.results[0];
        assert!(
            entry.reasons.iter().any(|r| r.contains("left to the next sweep")),
            "{:?}",
            entry.reasons
        );
        assert!(h.backend.sent.lock().unwrap().is_empty());
    }
}
