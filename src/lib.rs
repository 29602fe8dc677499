//! tag-warden: tag governance for AWS Secrets Manager secrets and KMS keys.
//!
//! The crate is one pipeline, and its modules follow it:
//! `intake` (event JSON → triggers) → `policy` (policy JSON → validated policy) →
//! `evaluate` (policy + current tags → findings and a plan) → `apply` (plan → AWS calls
//! through small traits) → `report` (outcomes → JSON and log lines).
//! `intake`, `policy` and `evaluate` are pure: no I/O, no SDK types, no environment.

pub mod apply;
pub mod cli;
pub mod config;
pub mod evaluate;
pub mod handler;
pub mod intake;
pub mod logging;
pub mod model;
pub mod policy;
pub mod reconcile;
pub mod redact;
pub mod report;
pub mod sweep;
