//! Layer 1, the domain vocabulary: the words every other layer speaks (resource kinds, tags,
//! modes, the context a resource is judged in, outcomes, and what a failed AWS call means).
//! Plain data; it imports nothing from the rest of the crate.

mod cell;
mod context;
mod date;
mod failure;
mod organization;
mod outcome;
mod principal;
mod refusal;
mod tags;

pub use cell::{is_account_id, is_region, Cell, Recheck};
pub use context::{arn_account, arn_region, Actor, EventInfo, ResourceContext};
pub use date::{parse_utc_time, utc_time, Date};
pub use failure::{ApiError, ErrorKind};
pub use organization::Organization;
pub use outcome::{ErrorType, Outcome, Standing, Standings};
pub use principal::{names_sessions, Identity, RoleArn};
pub use refusal::{PendingKeyState, Refusal, ReplicaOf};
pub use tags::{is_reserved_key, Mode, ResourceKind, TagLimits, Tags, EXEMPT_TAG, EXEMPT_UNTIL_TAG, RESERVED_PREFIX};
