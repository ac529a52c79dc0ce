//! `infra-state`: persistence of infra state.
//!
//! - [`format`]: the versioned on-disk formats of [`infra_core::State`]
//!   ([`format::encode`], [`format::decode`], upgrades of older versions).
//! - [`Backend`] and [`Lock`]: what every state store implements — locking
//!   with fencing tokens, compare-and-swap writes, history.
//! - [`LocalBackend`]: the embedded default, state files in a local
//!   directory locked with OS file locks.
//! - [`migrate()`]: moving a stack's state between backends.
//! - `conformance` (feature `conformance`): the test suite every backend
//!   must pass.
//!
//! The format is documented field by field in `state/README.md` at the
//! repository root.

pub mod backend;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod error;
pub mod format;
pub mod local;
pub mod memory;
pub mod migrate;

pub use backend::{
    Backend, HistoryEntry, Lock, LockInfo, MAX_STACK_NAME_LEN, StateVersion, new_state, validate_stack_name,
};
pub use error::Error;
pub use format::{CURRENT_FORMAT_VERSION, decode, digest, encode};
pub use local::{DEFAULT_HISTORY_LIMIT, LocalBackend, LocalLock};
pub use memory::{MemoryBackend, MemoryLock};
pub use migrate::{Migrated, migrate};
