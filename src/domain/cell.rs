//! A cell: one account and one region, the unit an organization's sweep fans out over (one
//! SQS message each) and the unit AWS counts API quotas in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One resource of a cell to judge again (a sweep-queue message that names it): the re-check
/// of a locked key an `aws.tag` event saw changed without naming the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recheck {
    /// Its kind.
    pub kind: super::ResourceKind,
    /// Its ARN (or the identifier the event gave).
    pub id: String,
}

/// One account (or the credentials' own, when `None`) in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// The 12-digit account id; `None`: the account of the credentials in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region.
    pub region: String,
}

impl Cell {
    /// The cell of `account` in `region`.
    pub fn new(account: Option<&str>, region: &str) -> Self {
        Cell {
            account: account.map(str::to_owned),
            region: region.to_owned(),
        }
    }

    /// Every account in every region, accounts outermost, without repeats, in the order given.
    pub fn grid(accounts: &[Option<String>], regions: &[String]) -> Vec<Cell> {
        let mut cells: Vec<Cell> = Vec::with_capacity(accounts.len() * regions.len());
        for account in accounts {
            for region in regions {
                let cell = Cell::new(account.as_deref(), region);
                if !cells.contains(&cell) {
                    cells.push(cell);
                }
            }
        }
        cells
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            Some(a) => write!(f, "{a}/{}", self.region),
            None => write!(f, "{}", self.region),
        }
    }
}

/// Whether `id` is an AWS account id (12 digits).
pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `region` has the shape of an AWS region code (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`, `ap-southeast-7`): lower-case words joined by `-`, ending in a number. It
/// goes into endpoint host names, so nothing else is accepted from a message.
pub fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 32
        && parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .iter()
            .rev()
            .skip(1)
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_every_account_in_every_region_once() {
        let accounts = [Some("111111111111".to_owned()), None, Some("111111111111".to_owned())];
        let regions = ["us-east-1".to_owned(), "eu-west-1".to_owned()];
        let cells: Vec<String> = Cell::grid(&accounts, &regions).iter().map(Cell::to_string).collect();
        assert_eq!(
            cells,
            [
                "111111111111/us-east-1",
                "111111111111/eu-west-1",
                "us-east-1",
                "eu-west-1"
            ]
        );
    }

    #[test]
    fn a_cell_reads_and_writes_as_a_small_json_object() {
        let cell: Cell = serde_json::from_str(r#"{"account":"222222222222","region":"eu-west-1","extra":1}"#).unwrap();
        assert_eq!(cell, Cell::new(Some("222222222222"), "eu-west-1"));
        assert_eq!(
            serde_json::to_string(&Cell::new(None, "us-east-1")).unwrap(),
            r#"{"region":"us-east-1"}"#
        );
        assert!(serde_json::from_str::<Cell>(r#"{"account":"1"}"#).is_err());
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("123456789012"));
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-7",
            "il-central-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "us-east-1.evil.example",
            "US-EAST-1",
            "us--1",
            "east-1",
            "us-east-1/..",
            "us-east-123",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(!is_account_id(bad), "{bad}");
        }
    }
}
