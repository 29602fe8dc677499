//! What sweeping one kind in one region came to, kept small: counts per outcome, and only the
//! entries the report lists (those left not compliant, up to a bound).

use crate::domain::{Date, Outcome};
use crate::view::report::ResourceReport;
use crate::view::summary::WaiverCounts;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The listing's progress, shared by the producer of pages and the workers.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub pages: AtomicUsize,
    pub listed: AtomicUsize,
    /// The last page was read.
    pub ended: AtomicBool,
    /// The deadline stopped the listing.
    pub cut: AtomicBool,
}

impl Listing {
    pub fn snapshot(&self) -> ListingDone {
        ListingDone {
            pages: self.pages.load(Ordering::Relaxed),
            cut: self.cut.load(Ordering::Relaxed),
        }
    }
}

/// The listing, once over.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ListingDone {
    pub pages: usize,
    pub cut: bool,
}

/// Counts and kept entries of one kind in one region.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub counts: BTreeMap<Outcome, usize>,
    pub kept: Vec<ResourceReport>,
    /// Entries left out of `kept` past the bound (still counted and logged).
    pub truncated: usize,
    pub not_started: usize,
    pub remembered: usize,
    pub expired: usize,
    pub waivers: WaiverCounts,
    /// Outcome counts per value of the sweep's group tag (`""`: without it).
    pub by_group: BTreeMap<String, BTreeMap<Outcome, usize>>,
    pub listing_failed: bool,
    pub listing: ListingDone,
}

impl Tally {
    /// Counts and logs an entry (and a waiver in force, expiring within 14 days of `today`
    /// or not); keeps it when it needs attention (or is a replica whose primary does) and the
    /// bound allows.
    pub fn add(&mut self, entry: ResourceReport, max_kept: usize, today: Date, group_by: &str) {
        entry.log(true);
        *self.counts.entry(entry.outcome).or_insert(0) += 1;
        if entry.kind.is_some() {
            let group = entry.tags.get(group_by).cloned().unwrap_or_default();
            *self
                .by_group
                .entry(group)
                .or_default()
                .entry(entry.outcome)
                .or_insert(0) += 1;
        }
        if let Some(until) = entry.waived_until {
            self.waivers.active += 1;
            self.waivers.expiring_within_14_days += usize::from(until <= today.plus_days(14));
        }
        self.remembered += usize::from(!entry.remembered.is_empty());
        if entry.worth_listing() {
            if self.kept.len() < max_kept {
                self.kept.push(entry);
            } else {
                self.truncated += 1;
            }
        }
    }

    /// Resources finished.
    pub fn done(&self) -> usize {
        self.counts.values().sum()
    }

    /// Whether every resource listed was started and the listing was whole.
    pub fn complete(&self) -> bool {
        !self.listing_failed && !self.listing.cut && self.not_started == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(outcome: Outcome) -> ResourceReport {
        ResourceReport::new(outcome)
    }

    #[test]
    fn only_entries_needing_attention_are_kept_up_to_the_bound_and_all_are_counted() {
        let today = Date::parse("2026-11-23").unwrap();
        let mut t = Tally::default();
        for _ in 0..5 {
            t.add(entry(Outcome::Compliant), 2, today, "Owner");
        }
        for o in [
            Outcome::Violation,
            Outcome::WouldRemediate,
            Outcome::Error,
            Outcome::Violation,
        ] {
            t.add(entry(o), 2, today, "Owner");
        }
        assert_eq!(t.done(), 9);
        assert_eq!(t.kept.len(), 2);
        assert_eq!(t.truncated, 2);
        assert_eq!(t.counts[&Outcome::Violation], 2);
        assert!(t.kept.iter().all(|e| e.outcome.needs_attention()));
    }

    #[test]
    fn waivers_in_force_are_counted_and_those_ending_within_14_days_too() {
        let today = Date::parse("2026-11-23").unwrap();
        let mut t = Tally::default();
        for until in ["2026-12-07", "2026-12-08", "2027-06-01"] {
            let mut e = entry(Outcome::Exempt);
            e.waived_until = Date::parse(until);
            t.add(e, 10, today, "Owner");
        }
        t.add(entry(Outcome::Compliant), 10, today, "Owner");
        assert_eq!((t.waivers.active, t.waivers.expiring_within_14_days), (3, 1));
    }

    #[test]
    fn a_cut_or_failed_listing_or_resources_not_started_make_it_incomplete() {
        assert!(Tally::default().complete());
        let mut t = Tally::default();
        t.listing.cut = true;
        assert!(!t.complete());
        let t = Tally {
            not_started: 1,
            ..Tally::default()
        };
        assert!(!t.complete());
    }
}
