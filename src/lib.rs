//! tag-warden: tag governance for AWS Secrets Manager secrets and KMS keys.
//!
//! The crate is layered, ground up; each layer imports only the layers below it (see
//! ARCHITECTURE.md):
//! 1. [`domain`]: the vocabulary (kinds, tags, modes, resource context, outcomes, failures).
//!    [`kinds`]: what is particular to each kind of resource, one module each, on the domain.
//! 2. [`engine`]: the pure core: intake → policy → evaluate → decide. No I/O.
//! 3. [`ports`]: small traits in domain words (read/write tags, list resources).
//! 4. three rooms side by side, none importing another: [`adapters`] (the ports against AWS,
//!    one file per service, and offline), [`config`] (the environment read once into
//!    `Config`) and [`view`] (pure views of results: the report, EMF, the page, the text table,
//!    findings).
//! 5. [`run`]: orchestration: one resource, the event handler, the SQS cells, the sweep, the
//!    outputs sent.
//! 6. [`cli`]: the command line; `main.rs` picks Lambda or the CLI.
//!
//! [`logging`] is process set-up shared by `main` and the CLI.

pub mod adapters;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod kinds;
pub mod logging;
pub mod ports;
pub mod run;
pub mod view;

#[cfg(test)]
pub(crate) mod testing;
