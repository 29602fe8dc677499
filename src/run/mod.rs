//! Layer 5, runners (orchestration, generic over the ports): one resource from state to report
//! entry ([`resource`]), the event handler ([`handler`]; who the function is and which accounts
//! it governs in `governed`; the SQS fan-out and cell path in `cells`), the reconcile sweep
//! ([`sweep`]) and what leaves an invocation besides its response ([`outputs`]). Configuration
//! comes from `config`, the shapes of results from `view`; the CLI and `main` pick the adapters.

mod cells;
pub mod clock;
mod governed;
pub mod handler;
mod handler_entries;
pub mod outputs;
mod recheck;
pub mod resource;
pub mod sweep;
pub mod trend;
