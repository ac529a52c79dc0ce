//! The one error type of this crate.

use std::path::PathBuf;

use crate::backend::{LockInfo, StateVersion};

/// Everything that can go wrong while encoding, decoding, locking, reading
/// or writing state. Each variant names what it was acting on (stack, path,
/// lock holder, serials) so the message alone tells the user what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A stack name that backends refuse (it must stay a single, safe path
    /// segment or object-key part).
    #[error("invalid stack name {name:?}: {reason}")]
    InvalidStackName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A file-system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `rename temp file over`, …).
        action: &'static str,
        /// The file or directory acted on.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// Stored state (or a lock or fencing file) that cannot be read: not
    /// JSON, truncated, missing fields, values of the wrong type.
    #[error("{location} is corrupt: {reason}")]
    Corrupt {
        /// Where the data came from (a path, `stack "prod"`, `state data`).
        location: String,
        /// What is wrong, with line and column when known.
        reason: String,
    },

    /// State written by a newer infra, in a format this version cannot read.
    /// Nothing is read from it, so it is never half-understood or
    /// overwritten.
    #[error(
        "{location} uses state format version {found}, but this infra only understands \
         versions up to {supported}; upgrade infra to read it"
    )]
    UnsupportedFormat {
        /// Where the data came from.
        location: String,
        /// The `format_version` found in the data.
        found: u64,
        /// The newest version this build reads and writes.
        supported: u32,
    },

    /// The state to encode holds a plaintext secret. Secrets must be sealed
    /// (`Value::seal`) before state is written; plaintext never reaches disk.
    #[error("refusing to write state: {location} holds a plaintext secret (seal it first)")]
    PlaintextSecret {
        /// Where in the state the secret was found, e.g.
        /// `resource "db.main" input "password"`.
        location: String,
    },

    /// The state could not be serialized for another reason.
    #[error("could not encode state: {reason}")]
    Encode {
        /// The serializer's message.
        reason: String,
    },

    /// The stack is locked by someone else and the wait timed out.
    #[error("stack {stack:?} is locked: {holder}")]
    Locked {
        /// The stack.
        stack: String,
        /// Who holds the lock.
        holder: Box<LockInfo>,
    },

    /// A write or release was attempted with a lock that is not held (it was
    /// released, or never taken).
    #[error("stack {stack:?} is not locked; take the lock before writing its state")]
    NotLocked {
        /// The stack.
        stack: String,
    },

    /// The lock handle is no longer the stack's current lock (it was broken
    /// and someone else locked the stack since).
    #[error("lock {lock_id} on stack {stack:?} is no longer held: {reason}")]
    LockLost {
        /// The stack.
        stack: String,
        /// The ID of the lost lock.
        lock_id: String,
        /// What the backend found instead.
        reason: String,
    },

    /// `force_unlock` was given an ID that is not the current lock's.
    #[error("refusing to unlock stack {stack:?}: lock id {given} does not match the current lock ({holder})")]
    WrongLockId {
        /// The stack.
        stack: String,
        /// The ID given by the caller.
        given: String,
        /// The lock actually recorded.
        holder: Box<LockInfo>,
    },

    /// `force_unlock` on a lock that a running process still holds. Such a
    /// lock cannot be broken; the holder has to finish or be stopped.
    #[error(
        "cannot force-unlock stack {stack:?}: the lock is held by a running process \
         (pid {pid} on {host}, {operation} since {since}); stop that process and the lock \
         is released automatically",
        pid = holder.pid, host = holder.host, operation = holder.operation, since = holder.created
    )]
    LockHeldByLiveProcess {
        /// The stack.
        stack: String,
        /// The live holder.
        holder: Box<LockInfo>,
    },

    /// Compare-and-swap failed: the stored state is not the version the
    /// writer last read. Nothing was written.
    #[error(
        "state of stack {stack:?} changed since it was read (expected {}, found {}); \
         nothing was written — re-read the state and try again",
        describe_version(.expected.as_ref()),
        describe_version(.found.as_ref())
    )]
    Conflict {
        /// The stack.
        stack: String,
        /// The version the writer expected (`None`: no state at all).
        expected: Option<StateVersion>,
        /// The version actually stored (`None`: no state at all).
        found: Option<StateVersion>,
    },

    /// The state to write belongs to another lineage than the stored one.
    #[error(
        "refusing to overwrite state of stack {stack:?}: its lineage is {stored} but the new \
         state's is {given} (they are unrelated states)"
    )]
    LineageMismatch {
        /// The stack.
        stack: String,
        /// The stored lineage.
        stored: String,
        /// The lineage of the state being written.
        given: String,
    },

    /// The state to write has a lower serial than the stored one.
    #[error(
        "refusing to write state of stack {stack:?} with serial {attempted}: the stored state \
         is already at serial {stored}"
    )]
    SerialRegression {
        /// The stack.
        stack: String,
        /// The stored serial.
        stored: u64,
        /// The serial of the state being written.
        attempted: u64,
    },

    /// `read_version` was given an ID that the stack's history does not hold.
    #[error("stack {stack:?} has no state version {version_id:?}")]
    VersionNotFound {
        /// The stack.
        stack: String,
        /// The ID asked for.
        version_id: String,
    },

    /// The operating system's random number generator failed.
    #[error("could not get random bytes from the operating system: {reason}")]
    Random {
        /// The OS error.
        reason: String,
    },

    /// A call to a remote store (S3, DynamoDB) failed. Carries the
    /// service's error code and request ID, for the user and for support.
    #[error(
        "{action} {location} failed{}: {message}{}",
        code.as_deref().map(|c| format!(" with {c}")).unwrap_or_default(),
        request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default()
    )]
    Remote {
        /// What was being done (`read state object`, `take lock`, …).
        action: String,
        /// What it was done to (`s3://bucket/key`, `DynamoDB table t`).
        location: String,
        /// The service's error code, when it gave one.
        code: Option<String>,
        /// The service's (or the transport's) message.
        message: String,
        /// The service's request ID, when it gave one.
        request_id: Option<String>,
    },

    /// Stored state that the backend's own records do not account for (for
    /// example an S3 state object with no commit record in the lock
    /// table). Nothing is read from it or written over it; see
    /// `docs/state-and-locking.md` for how to adopt it.
    #[error("{location}: {reason}")]
    Unrecorded {
        /// Where the data is.
        location: String,
        /// What is missing and what to do.
        reason: String,
    },

    /// A migration between backends that would lose or mix state.
    #[error("cannot migrate stack {stack:?}: {reason}")]
    Migration {
        /// The stack.
        stack: String,
        /// Why not.
        reason: String,
    },

    /// A background task running blocking IO failed to complete.
    #[error("background task for {what} failed: {reason}")]
    Task {
        /// What the task was doing.
        what: String,
        /// Why it failed.
        reason: String,
    },
}

fn describe_version(v: Option<&StateVersion>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "no state".to_owned(),
    }
}

impl Error {
    /// Builds an [`Error::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }
}
