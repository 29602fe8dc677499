//! Layer 2, the pure core: intake (event JSON → triggers), policy (policy text → validated
//! policy), evaluate (policy + resource context + tags → findings and a plan), decide
//! (evaluation + what the writes did → outcome), remember (tags read → values to remember) and
//! guardrails (policy → SCP/RCP documents that refuse the change up front) and tag_policy (an AWS
//! Organizations tag policy → a tag-warden policy). No I/O, no async, no SDK types, no
//! environment: plain data in, plain data out. Imports only `domain`.

pub mod decide;
pub mod evaluate;
pub mod guardrails;
pub mod intake;
pub mod policy;
pub mod remember;
pub mod tag_policy;
pub mod tag_policy_inherit;
mod tag_policy_syntax;
