//! The end-to-end tier, one test binary, behind the `e2e` feature (`make test` runs it): the
//! real binary against moto server (a server per test, on loopback), under a fault-injecting
//! proxy, under a Lambda Runtime API and `cargo lambda watch`, the release build `make
//! lambda-build` made, and the policy schema against a JSON Schema validator. Needs what
//! `make venv` installs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../common/mod.rs"]
mod common;

mod e2e_findings;
mod e2e_living;
mod e2e_memory;
mod e2e_moto;
mod e2e_org;
mod e2e_policy_v2;
mod e2e_replica;
mod e2e_sweep;
mod faults;
mod lambda;
mod loops;
mod policy_schema;
