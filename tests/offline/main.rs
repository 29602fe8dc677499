//! The offline tier, one test binary: what a plain `cargo test` runs on a fresh clone with
//! nothing installed. The adapters over `aws-smithy-mocks` (error mapping, pagination, retries,
//! states moto cannot produce), the CLI's offline commands, the guardrails, the template, the
//! architecture and docs rules, and a short fuzzing pass. One binary links the SDK stack once
//! and runs the modules' tests side by side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod adapters;
mod adapters_findings;
mod adapters_member;
mod adapters_memory;
mod architecture;
mod cli_offline;
mod docs_deploy;
mod fuzz;
mod guardrails;
mod iam_actions;
mod resource_policies;
mod template;
