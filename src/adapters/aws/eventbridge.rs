//! Finding events: EventBridge PutEvents on the findings bus, in batches within AWS's limits
//! (10 entries, 256 KB by AWS's own reckoning of an entry's size); entries refused (throttled,
//! an internal failure) are sent again, twice, after a pause.

use super::error::from_sdk;
use crate::ports::{PolicyFinding, Published, FINDING_DETAIL_TYPE, FINDING_SOURCE, PUT_EVENTS_MAX_ENTRIES};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use std::time::Duration;

/// The most bytes a PutEvents call's entries may add up to.
pub const MAX_BYTES: usize = 256 * 1024;

/// Sends of an entry refused, first included.
pub const ATTEMPTS: u32 = 3;

/// An entry as EventBridge counts its size: the source, detail-type, detail and each resource
/// in UTF-8 bytes (plus 14 for a time, which tag-warden leaves to EventBridge).
pub fn entry_size(detail: &str, resources: &[String]) -> usize {
    FINDING_SOURCE.len() + FINDING_DETAIL_TYPE.len() + detail.len() + resources.iter().map(String::len).sum::<usize>()
}

/// Splits entries of the given sizes into batches of at most [`PUT_EVENTS_MAX_ENTRIES`] and
/// [`MAX_BYTES`], in order; an entry larger than a batch on its own is left out (its index is
/// in the second list).
pub fn batches(sizes: &[usize]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let (mut out, mut too_big) = (Vec::new(), Vec::new());
    let (mut batch, mut bytes) = (Vec::new(), 0);
    for (i, &size) in sizes.iter().enumerate() {
        if size > MAX_BYTES {
            too_big.push(i);
            continue;
        }
        if batch.len() == PUT_EVENTS_MAX_ENTRIES || bytes + size > MAX_BYTES {
            out.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push(i);
        bytes += size;
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    (out, too_big)
}

/// Puts one event per finding on `bus`: what became of each, in order.
pub async fn put_findings(
    client: &aws_sdk_eventbridge::Client,
    bus: &str,
    findings: &[PolicyFinding],
) -> Vec<Published> {
    let mut results = vec![Published::Accepted; findings.len()];
    let details: Vec<(String, Vec<String>)> = findings
        .iter()
        .map(|f| (serde_json::to_string(f).unwrap_or_default(), vec![f.arn.clone()]))
        .collect();
    let sizes: Vec<usize> = details.iter().map(|(d, r)| entry_size(d, r)).collect();
    let (chunks, too_big) = batches(&sizes);
    for i in too_big {
        if let Some(r) = results.get_mut(i) {
            *r = Published::Refused(format!("the event is larger than PutEvents takes ({MAX_BYTES} bytes)"));
        }
    }
    for chunk in chunks {
        let mut pending = chunk;
        for attempt in 1..=ATTEMPTS {
            let entries: Vec<PutEventsRequestEntry> = pending
                .iter()
                .filter_map(|&i| details.get(i))
                .map(|(detail, resources)| {
                    PutEventsRequestEntry::builder()
                        .source(FINDING_SOURCE)
                        .detail_type(FINDING_DETAIL_TYPE)
                        .detail(detail.as_str())
                        .set_resources(Some(resources.clone()))
                        .event_bus_name(bus)
                        .build()
                })
                .collect();
            let refused: Vec<(usize, String)> = match client.put_events().set_entries(Some(entries)).send().await {
                // Result entries come in the order of the request's.
                Ok(out) => pending
                    .iter()
                    .zip(out.entries().iter().map(Some).chain(std::iter::repeat(None)))
                    .filter_map(|(&i, entry)| match entry {
                        Some(e) => e
                            .error_code()
                            .map(|code| (i, format!("{code}: {}", e.error_message().unwrap_or("")))),
                        None => Some((i, "no result entry for the event".to_owned())),
                    })
                    .collect(),
                Err(e) => {
                    let e = from_sdk("events:PutEvents", bus, e, |_| None);
                    pending.iter().map(|&i| (i, e.to_string())).collect()
                }
            };
            for &i in &pending {
                if let Some(r) = results.get_mut(i) {
                    *r = refused
                        .iter()
                        .find(|(j, _)| *j == i)
                        .map_or(Published::Accepted, |(_, why)| Published::Refused(why.clone()));
                }
            }
            if refused.is_empty() || attempt == ATTEMPTS {
                break;
            }
            pending = refused.into_iter().map(|(i, _)| i).collect();
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_ten_entries_at_most() {
        let (b, big) = batches(&[100; 25]);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);
        assert!(big.is_empty());
        assert_eq!(b.concat(), (0..25).collect::<Vec<_>>());
    }

    #[test]
    fn batches_hold_256_kb_at_most_and_an_entry_too_big_alone_is_left_out() {
        let (b, big) = batches(&[100_000, 100_000, 100_000, MAX_BYTES + 1, 62_144]);
        assert_eq!(b, vec![vec![0, 1], vec![2, 4]]);
        assert_eq!(big, vec![3]);
        let (b, _) = batches(&[MAX_BYTES, 1]);
        assert_eq!(b, vec![vec![0], vec![1]]);
    }

    #[test]
    fn an_entry_is_sized_as_eventbridge_sizes_it() {
        let size = entry_size("{}", &["arn:x".to_owned()]);
        assert_eq!(size, "tag-warden".len() + "Tag Policy Finding".len() + 2 + 5);
    }
}
