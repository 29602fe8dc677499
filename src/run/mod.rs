//! Layer 5, runners: configuration read once ([`config`]), one resource from state to report
//! entry ([`resource`]), the event handler ([`handler`]; its SQS fan-out and cell path in
//! `cells`) and the reconcile sweep ([`sweep`]), and the report they produce ([`report`]). Generic over the ports; the CLI and `main` pick
//! the adapters.

mod cells;
pub mod config;
mod governed;
pub mod handler;
pub mod metrics;
pub mod outputs;
pub mod page;
pub mod report;
pub mod resource;
pub mod sweep;
