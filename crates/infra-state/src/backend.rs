//! The [`Backend`] and [`Lock`] traits every state store implements, and the
//! data they exchange.
//!
//! Backends are chosen at runtime and used as `Box<dyn Backend>` or
//! `Arc<dyn Backend>`. The local-file backend ([`crate::LocalBackend`]) is
//! the embedded default; remote backends (S3 with a DynamoDB lock table)
//! implement the same traits and pass the same conformance suite.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use infra_core::State;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Who holds a stack's lock, for what, and since when. Stored with the lock
/// so that anyone who finds the stack locked can name the holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random UUID of this lock acquisition (what `force_unlock` takes).
    pub id: String,
    /// The locked stack.
    pub stack: String,
    /// What the holder is doing (`apply`, `destroy`, `refresh`, …).
    pub operation: String,
    /// The user running the holder.
    pub who: String,
    /// The host the holder runs on.
    pub host: String,
    /// The holder's process ID.
    pub pid: u32,
    /// The infra version of the holder.
    pub version: String,
    /// When the lock was taken (RFC 3339, UTC).
    pub created: String,
}

impl LockInfo {
    /// Describes a lock about to be taken by this process: a fresh random
    /// ID, the current user, host, process ID, infra version and time.
    pub fn new(stack: &str, operation: &str) -> Result<Self, Error> {
        Ok(LockInfo {
            id: random_uuid()?,
            stack: stack.to_owned(),
            operation: operation.to_owned(),
            who: current_user(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        })
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "held by {}@{} (pid {}) for {} since {} (lock id {}, infra {})",
            self.who, self.host, self.pid, self.operation, self.created, self.id, self.version
        )
    }
}

/// The version of a stack's stored state, as returned by reads and writes
/// and given back to [`Backend::write`] for compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateVersion {
    /// The state's serial.
    pub serial: u64,
    /// SHA-256 (hex) of the stored bytes ([`crate::format::digest`]), or
    /// for a backend's journal entry, of the previous digest followed by
    /// the entry ([`crate::format::delta::chain_digest`]); two versions
    /// with the same serial but different content differ here.
    pub digest: String,
}

impl fmt::Display for StateVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.digest.get(..12).unwrap_or(&self.digest);
        write!(f, "serial {} (sha256 {short})", self.serial)
    }
}

/// One earlier version of a stack's state, kept by the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Backend-specific ID, given to [`Backend::read_version`].
    pub version_id: String,
    /// The serial of that version.
    pub serial: u64,
    /// When that version was written (RFC 3339, UTC).
    pub written_at: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A held lock on one stack, obtained from [`Backend::lock`].
///
/// Call [`Lock::release`] when the operation is done. A holder that never
/// gets to release it (an early return, a crash, a `kill -9`) must not block
/// the stack forever: the local backend's OS lock is freed by the operating
/// system the moment the process ends, and a backend that cannot detect
/// that offers [`Backend::force_unlock`].
#[async_trait]
pub trait Lock: Send + Sync + fmt::Debug {
    /// Who holds the lock, for what, since when; `info().stack` is the
    /// locked stack.
    fn info(&self) -> &LockInfo;

    /// A number that strictly grows with every acquisition of this stack's
    /// lock. A write carrying an older token than the latest acquisition is
    /// refused, so a holder that lost its lock cannot clobber the state.
    fn fencing_token(&self) -> u64;

    /// The holder this lock was taken over from, when the stack was still
    /// locked by a holder whose lease had run out (it was killed, or lost
    /// its connection): the takeover is reported, never silent. `None` for
    /// an ordinary acquisition, and always for backends without leases.
    fn taken_over_from(&self) -> Option<&LockInfo> {
        None
    }

    /// Releases the lock. Afterwards writes with this lock are refused.
    async fn release(self: Box<Self>) -> Result<(), Error>;
}

/// A store of stack states with locking, compare-and-swap writes and
/// history.
///
/// Stack names are letters, digits, `-` and `_` ([`validate_stack_name`]);
/// every method refuses other names with [`Error::InvalidStackName`].
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// A one-line, human description of where state lives, e.g.
    /// `local directory ./.infra/state`.
    fn describe(&self) -> String;

    /// Takes the stack's lock for `operation`, waiting up to `timeout`
    /// (polling) while someone else holds it. On timeout gives
    /// [`Error::Locked`] naming the holder. A zero timeout tries once.
    async fn lock(&self, stack: &str, operation: &str, timeout: Duration) -> Result<Box<dyn Lock>, Error>;

    /// The stack's stored state and its version, or `None` when the stack
    /// has no state. Older formats are upgraded in memory; a format newer
    /// than this build understands gives [`Error::UnsupportedFormat`].
    /// Reading needs no lock.
    async fn read(&self, stack: &str) -> Result<Option<(State, StateVersion)>, Error>;

    /// Stores `state` as the state of the stack `lock.info().stack`.
    ///
    /// The write is refused, and nothing is stored, when:
    /// - `lock` is not the stack's current lock: [`Error::NotLocked`] when
    ///   the stack is not locked at all (e.g. the lock was released),
    ///   [`Error::LockLost`] when someone else has locked it since (a newer
    ///   fencing token);
    /// - `expected` is not the stored version (compare-and-swap; `None`
    ///   means "no state is stored yet"): [`Error::Conflict`] naming both;
    /// - `state.lineage` differs from the stored lineage:
    ///   [`Error::LineageMismatch`];
    /// - `state.serial` is lower than the stored serial:
    ///   [`Error::SerialRegression`]. The *same* serial may be written
    ///   again: an apply writes many times at serial N+1 under one lock.
    ///
    /// The write is atomic: readers see the old state or the new one, never
    /// a mix. When the write starts a new serial, the version it replaces
    /// (the last of the previous operation) is kept in the history, so the
    /// history has one entry per operation. Returns the new version, to pass
    /// as `expected` to the next write.
    async fn write(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error>;

    /// Ends an operation's writes under `lock`, `version` being the last
    /// one written. A backend that journals its writes (S3: each write
    /// stores what changed) stores the state whole here, so that a stack at
    /// rest is one object and the history has one per operation. Returns
    /// the version now stored: the same state, its digest possibly new.
    /// Backends that store every write whole return `version`.
    async fn settle(&self, lock: &dyn Lock, version: &StateVersion) -> Result<StateVersion, Error> {
        let _ = lock;
        Ok(version.clone())
    }

    /// Clears a lock left behind by a holder that went away, given its
    /// lock ID (from [`Error::Locked`]). A different ID gives
    /// [`Error::WrongLockId`]; a stack that is not locked gives
    /// [`Error::NotLocked`]. A backend that can tell the holder is still
    /// alive refuses with [`Error::LockHeldByLiveProcess`].
    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<(), Error>;

    /// Who holds the stack's lock, when the backend can tell without
    /// taking it (`None`: free, or the backend cannot tell). Lets a command
    /// refuse before locking, writing nothing, when no one else could
    /// change the state meanwhile.
    async fn holder(&self, stack: &str) -> Result<Option<LockInfo>, Error> {
        let _ = stack;
        Ok(None)
    }

    /// Earlier versions of the stack's state, newest first (the current
    /// version is not included). Empty for an unknown stack.
    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, Error>;

    /// One earlier version, by the ID [`Backend::history`] listed.
    /// [`Error::VersionNotFound`] when there is no such version.
    async fn read_version(&self, stack: &str, version_id: &str) -> Result<State, Error>;

    /// Names of the stacks that have stored state, sorted.
    async fn list_stacks(&self) -> Result<Vec<String>, Error>;
}

/// The longest stack name backends accept.
pub const MAX_STACK_NAME_LEN: usize = 128;

/// Checks a stack name: 1 to [`MAX_STACK_NAME_LEN`] ASCII letters, digits,
/// `-` or `_`. Such a name is safe as a file name and an object-key part
/// (it can never escape the backend's directory or prefix).
pub fn validate_stack_name(name: &str) -> Result<(), Error> {
    let invalid = |reason: String| Err(Error::InvalidStackName { name: name.to_owned(), reason });
    if name.is_empty() {
        return invalid("it is empty".to_owned());
    }
    if name.len() > MAX_STACK_NAME_LEN {
        return invalid(format!("it is longer than {MAX_STACK_NAME_LEN} characters"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return invalid(format!("{c:?} is not allowed (use letters, digits, '-' and '_')"));
    }
    Ok(())
}

/// A fresh, empty state: serial 0, a random UUID lineage and a random
/// 32-byte secret key (hex). Fails only when the operating system's random
/// number generator does.
pub fn new_state() -> Result<State, Error> {
    let key: [u8; 32] = random_bytes()?;
    Ok(State::new(random_uuid()?, hex::encode(key)))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| Error::Random { reason: e.to_string() })?;
    Ok(buf)
}

/// A random (version 4) UUID, as lowercase hyphenated text.
pub(crate) fn random_uuid() -> Result<String, Error> {
    let bytes: [u8; 16] = random_bytes()?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string())
}

fn current_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn new_states_are_distinct_and_well_formed() {
        let a = new_state().unwrap();
        let b = new_state().unwrap();
        assert_ne!(a.lineage, b.lineage);
        assert_ne!(a.secret_key, b.secret_key);
        assert_eq!(a.serial, 0);
        assert_eq!(hex::decode(&a.secret_key).unwrap().len(), 32);
        let uuid = uuid::Uuid::parse_str(&a.lineage).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
    }

    #[test]
    fn stack_names_cannot_escape() {
        for bad in ["", "../x", "a/b", "a.b", "a b", "é", &"x".repeat(129)] {
            assert!(matches!(validate_stack_name(bad), Err(Error::InvalidStackName { .. })), "{bad:?}");
        }
        for good in ["prod", "us-east_1", "A9"] {
            assert!(validate_stack_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn lock_info_display_names_the_holder() {
        let info = LockInfo::new("prod", "apply").unwrap();
        let text = info.to_string();
        for part in [&info.who, &info.host, &info.pid.to_string(), "apply", &info.created] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
    }
}
