//! Views: what the runners' results look like to the outside, pure (no I/O, no clock, no SDK
//! types): the report ([`report`]: entries and `Report`; [`summary`]: what a sweep, a fan-out, an SQS batch and the findings came to), the metrics of an invocation
//! as CloudWatch EMF documents ([`metrics`]), the compliance page ([`page`]), the CLI's text
//! summary ([`table`]) and the finding an entry makes ([`findings`]).

pub mod findings;
pub mod metrics;
pub mod page;
pub mod report;
pub mod summary;
pub mod table;
