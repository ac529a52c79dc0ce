//! The local-file backend: state in a directory, locked with OS file locks.
//!
//! Layout of the directory (created on first lock):
//!
//! ```text
//! <dir>/<stack>.infra-state.json        current state (format: crate::format)
//! <dir>/<stack>.lock                    lock file; while locked, the holder's LockInfo JSON
//! <dir>/<stack>.fence                   fencing counter, incremented on every acquisition
//! <dir>/history/<stack>/<seq>-s<serial>.infra-state.json   earlier versions
//! ```
//!
//! The lock is an exclusive OS lock (`File::try_lock`: `flock` on Linux and
//! macOS, `LockFileEx` on Windows) on the lock file, held by the open file inside [`LocalLock`].
//! The operating system releases it when the holder exits for any reason,
//! so a local lock never goes stale. The lock file itself is never deleted
//! (deleting a locked file lets two processes lock two different files of
//! the same name); it is emptied on release.
//!
//! Writes are atomic: the new state goes to a temporary file in the same
//! directory, which is flushed to disk and renamed over the state file,
//! then the directory is flushed. Readers see the old state or the new one.
//!
//! All file IO runs on tokio's blocking thread pool.
//!
//! On Windows, where file locks are mandatory, another process cannot read a
//! held lock file, so [`Error::Locked`] there may not name the holder.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use infra_core::State;

use crate::backend::{Backend, HistoryEntry, Lock, LockInfo, StateVersion, validate_stack_name};
use crate::{Error, format};

/// How many earlier versions per stack [`LocalBackend::new`] keeps.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;

/// How often [`Backend::lock`] retries while the stack is locked.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

const STATE_SUFFIX: &str = ".infra-state.json";

/// State stored as files in one local directory; the embedded default
/// backend (no server). See the module documentation for the layout.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    dir: PathBuf,
    history_limit: usize,
}

/// A held lock of a [`LocalBackend`] stack: the open, OS-locked lock file.
#[derive(Debug)]
pub struct LocalLock {
    info: LockInfo,
    token: u64,
    path: PathBuf,
    /// The locked file; `None` once released.
    file: Option<File>,
}

impl LocalBackend {
    /// A backend storing state in `dir`. Nothing is touched until the first
    /// lock or write; reading a directory that does not exist finds no
    /// stacks.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalBackend { dir: dir.into(), history_limit: DEFAULT_HISTORY_LIMIT }
    }

    /// Keeps the newest `limit` earlier versions of each stack (default
    /// [`DEFAULT_HISTORY_LIMIT`]); 0 keeps none.
    pub fn with_history_limit(mut self, limit: usize) -> Self {
        self.history_limit = limit;
        self
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the stack's state file.
    pub fn state_path(&self, stack: &str) -> Result<PathBuf, Error> {
        validate_stack_name(stack)?;
        Ok(self.dir.join(format!("{stack}{STATE_SUFFIX}")))
    }

    /// The path of the stack's lock file.
    pub fn lock_path(&self, stack: &str) -> Result<PathBuf, Error> {
        validate_stack_name(stack)?;
        Ok(self.dir.join(format!("{stack}.lock")))
    }

    fn fence_path(&self, stack: &str) -> PathBuf {
        self.dir.join(format!("{stack}.fence"))
    }

    fn history_dir(&self, stack: &str) -> PathBuf {
        self.dir.join("history").join(stack)
    }

    /// Runs blocking file IO on tokio's blocking pool.
    async fn blocking<T, F>(&self, what: &str, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(LocalBackend) -> Result<T, Error> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this))
            .await
            .map_err(|e| Error::Task { what: what.to_owned(), reason: e.to_string() })?
    }

    // ---- locking -------------------------------------------------------

    /// One attempt to take the lock; `None` when someone else holds it.
    fn try_acquire(&self, info: LockInfo) -> Result<Option<LocalLock>, Error> {
        let path = self.lock_path(&info.stack)?;
        fs::create_dir_all(&self.dir).map_err(|e| Error::io("create state directory", &self.dir, e))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
        }
        // From here on the OS lock is ours; dropping `file` releases it.
        // Record the holder first, so that anyone finding the stack locked
        // reads this holder and not a record left by a dead one.
        let token = write_lock_info(&file, &info)
            .map_err(|e| Error::io("write lock info to", &path, e))
            .and_then(|()| self.bump_fence(&info.stack));
        let token = match token {
            Ok(token) => token,
            Err(e) => {
                // Best effort: the OS lock is released when `file` drops.
                clear_lock_info(&file).ok();
                return Err(e);
            }
        };
        self.remove_leftovers(&info.stack);
        Ok(Some(LocalLock { info, token, path, file: Some(file) }))
    }

    /// Removes temporary files of the stack's state and fencing counter
    /// that a process killed between writing and renaming left behind.
    /// Called only while holding the stack's lock: nobody else writes them
    /// then, so every such file is a leftover. Best effort.
    fn remove_leftovers(&self, stack: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        let prefixes = [format!(".{stack}{STATE_SUFFIX}."), format!(".{stack}.fence.")];
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") && prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                fs::remove_file(entry.path()).ok();
            }
        }
    }

    /// Increments and returns the stack's fencing counter. Called only while
    /// holding the stack's lock, so increments never race.
    fn bump_fence(&self, stack: &str) -> Result<u64, Error> {
        let path = self.fence_path(stack);
        let next = read_fence(&path)?.checked_add(1).ok_or_else(|| Error::Corrupt {
            location: path.display().to_string(),
            reason: "fencing counter overflowed".to_owned(),
        })?;
        write_atomic(&path, format!("{next}\n").as_bytes(), || Ok(()))?;
        Ok(next)
    }

    /// The holder recorded in the lock file, retrying briefly while a new
    /// holder is still writing it.
    fn current_holder(&self, stack: &str) -> Result<LockInfo, Error> {
        let path = self.lock_path(stack)?;
        for _ in 0..20 {
            if let Ok(Some(info)) = read_lock_info(&path) {
                return Ok(info);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(LockInfo {
            id: String::new(),
            stack: stack.to_owned(),
            operation: "unknown operation".to_owned(),
            who: "unknown".to_owned(),
            host: "unknown host".to_owned(),
            pid: 0,
            version: "unknown".to_owned(),
            created: "an unknown time".to_owned(),
        })
    }

    /// Checks that `lock` is the stack's current lock.
    fn check_lock(&self, lock: &dyn Lock) -> Result<(), Error> {
        let stack = &lock.info().stack;
        let path = self.lock_path(stack)?;
        let recorded = read_lock_info(&path).map_err(|e| lock_file_error(&path, e))?;
        let Some(recorded) = recorded else {
            return Err(Error::NotLocked { stack: stack.clone() });
        };
        if recorded.id != lock.info().id {
            return Err(Error::LockLost {
                stack: stack.clone(),
                lock_id: lock.info().id.clone(),
                reason: format!("the stack is now locked by someone else: {recorded}"),
            });
        }
        let latest = read_fence(&self.fence_path(stack))?;
        if latest != lock.fencing_token() {
            return Err(Error::LockLost {
                stack: stack.clone(),
                lock_id: lock.info().id.clone(),
                reason: format!("its fencing token {} is stale (latest is {latest})", lock.fencing_token()),
            });
        }
        Ok(())
    }

    fn force_unlock_sync(&self, stack: &str, lock_id: &str) -> Result<(), Error> {
        let path = self.lock_path(stack)?;
        let not_locked = || Error::NotLocked { stack: stack.to_owned() };
        let check_id = |info: Option<LockInfo>| match info {
            None => Err(not_locked()),
            Some(holder) if holder.id != lock_id => Err(Error::WrongLockId {
                stack: stack.to_owned(),
                given: lock_id.to_owned(),
                holder: Box::new(holder),
            }),
            Some(holder) => Ok(holder),
        };
        let holder = check_id(read_lock_info(&path).map_err(|e| lock_file_error(&path, e))?)?;
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_locked()),
            Err(e) => return Err(Error::io("open lock file", &path, e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::LockHeldByLiveProcess {
                    stack: stack.to_owned(),
                    holder: Box::new(holder),
                });
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
        }
        // The holder is gone; only its record is left. Check again under the
        // lock, then clear it.
        check_id(read_lock_info(&path).map_err(|e| lock_file_error(&path, e))?)?;
        clear_lock_info(&file).map_err(|e| Error::io("clear lock file", &path, e))?;
        file.unlock().map_err(|e| Error::io("unlock", &path, e))
    }

    // ---- state ---------------------------------------------------------

    /// The stored bytes of the stack's state, if any.
    fn read_bytes(&self, stack: &str) -> Result<Option<(PathBuf, Vec<u8>)>, Error> {
        let path = self.state_path(stack)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some((path, bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read state file", &path, e)),
        }
    }

    fn read_sync(&self, stack: &str) -> Result<Option<(State, StateVersion)>, Error> {
        let Some((path, bytes)) = self.read_bytes(stack)? else {
            return Ok(None);
        };
        let state = format::decode_from(&bytes, &path.display().to_string())?;
        let version = StateVersion { serial: state.serial, digest: format::digest(&bytes) };
        Ok(Some((state, version)))
    }

    fn write_sync(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error> {
        let stack = lock.info().stack.as_str();
        let path = self.state_path(stack)?;
        self.check_lock(lock)?;
        let stored = self.read_sync(stack)?;
        let found = stored.as_ref().map(|(_, v)| v);
        if found != expected {
            return Err(Error::Conflict {
                stack: stack.to_owned(),
                expected: expected.cloned(),
                found: found.cloned(),
            });
        }
        if let Some((old, _)) = &stored {
            if old.lineage != state.lineage {
                return Err(Error::LineageMismatch {
                    stack: stack.to_owned(),
                    stored: old.lineage.clone(),
                    given: state.lineage.clone(),
                });
            }
            if state.serial < old.serial {
                return Err(Error::SerialRegression {
                    stack: stack.to_owned(),
                    stored: old.serial,
                    attempted: state.serial,
                });
            }
        }
        let bytes = format::encode(state)?;
        let version = StateVersion { serial: state.serial, digest: format::digest(&bytes) };
        if found == Some(&version) {
            // Identical content: nothing to write, nothing to keep.
            return Ok(version);
        }
        // One history entry per operation: the version an operation ends
        // with is kept when the next operation (a new serial) replaces it;
        // the many intermediate writes of one apply are not.
        let keep_history =
            stored.as_ref().is_some_and(|(old, _)| old.serial != state.serial) && self.history_limit > 0;
        write_atomic(&path, &bytes, || {
            if keep_history {
                let old_serial = stored.as_ref().map_or(0, |(s, _)| s.serial);
                self.archive(stack, &path, old_serial)?;
            }
            Ok(())
        })?;
        if keep_history {
            self.prune_history(stack)?;
        }
        Ok(version)
    }

    // ---- history -------------------------------------------------------

    /// Keeps the current state file (about to be replaced) in the history,
    /// as a hard link where possible so its modification time (when it was
    /// written) is preserved.
    fn archive(&self, stack: &str, current: &Path, serial: u64) -> Result<(), Error> {
        let dir = self.history_dir(stack);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create history directory", &dir, e))?;
        let seq = self.history_files(stack)?.first().map_or(1, |(id, _)| id.seq.saturating_add(1));
        let target = dir.join(VersionId { seq, serial }.file_name());
        if fs::hard_link(current, &target).is_err() {
            let written = fs::metadata(current)
                .and_then(|m| m.modified())
                .map_err(|e| Error::io("read metadata of", current, e))?;
            fs::copy(current, &target).map_err(|e| Error::io("copy state into", &target, e))?;
            File::options()
                .write(true)
                .open(&target)
                .and_then(|f| {
                    f.set_modified(written)?;
                    f.sync_all()
                })
                .map_err(|e| Error::io("finish history copy", &target, e))?;
        }
        sync_dir(&dir)
    }

    /// Deletes all but the newest `history_limit` earlier versions.
    fn prune_history(&self, stack: &str) -> Result<(), Error> {
        for (_, path) in self.history_files(stack)?.into_iter().skip(self.history_limit) {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove old history file", &path, e)),
            }
        }
        Ok(())
    }

    /// History files of the stack, newest first.
    fn history_files(&self, stack: &str) -> Result<Vec<(VersionId, PathBuf)>, Error> {
        let dir = self.history_dir(stack);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list history directory", &dir, e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list history directory", &dir, e))?;
            let name = entry.file_name();
            let Some(id) =
                name.to_str().and_then(|n| n.strip_suffix(STATE_SUFFIX)).and_then(VersionId::parse)
            else {
                continue;
            };
            files.push((id, entry.path()));
        }
        files.sort_by_key(|(id, _)| std::cmp::Reverse(id.seq));
        Ok(files)
    }

    fn history_sync(&self, stack: &str) -> Result<Vec<HistoryEntry>, Error> {
        validate_stack_name(stack)?;
        let mut out = Vec::new();
        for (id, path) in self.history_files(stack)? {
            let meta = match fs::metadata(&path) {
                Ok(m) => m,
                // Pruned by a concurrent writer since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("read metadata of", &path, e)),
            };
            let written = meta.modified().map_err(|e| Error::io("read modification time of", &path, e))?;
            out.push(HistoryEntry {
                version_id: id.to_string(),
                serial: id.serial,
                written_at: humantime::format_rfc3339_seconds(written).to_string(),
                size: meta.len(),
            });
        }
        Ok(out)
    }

    fn read_version_sync(&self, stack: &str, version_id: &str) -> Result<State, Error> {
        validate_stack_name(stack)?;
        let not_found =
            || Error::VersionNotFound { stack: stack.to_owned(), version_id: version_id.to_owned() };
        let id = VersionId::parse(version_id).ok_or_else(not_found)?;
        let path = self.history_dir(stack).join(id.file_name());
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_found()),
            Err(e) => return Err(Error::io("read state version", &path, e)),
        };
        format::decode_from(&bytes, &path.display().to_string())
    }

    fn list_stacks_sync(&self) -> Result<Vec<String>, Error> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list state directory", &self.dir, e)),
        };
        let mut stacks = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list state directory", &self.dir, e))?;
            let name = entry.file_name();
            if let Some(stack) = name.to_str().and_then(|n| n.strip_suffix(STATE_SUFFIX))
                && validate_stack_name(stack).is_ok()
            {
                stacks.push(stack.to_owned());
            }
        }
        stacks.sort();
        Ok(stacks)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self) -> String {
        format!("local directory {}", self.dir.display())
    }

    async fn lock(&self, stack: &str, operation: &str, timeout: Duration) -> Result<Box<dyn Lock>, Error> {
        validate_stack_name(stack)?;
        let info = LockInfo::new(stack, operation)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let attempt = info.clone();
            if let Some(lock) = self.blocking("locking", move |b| b.try_acquire(attempt)).await? {
                return Ok(Box::new(lock));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                let name = stack.to_owned();
                let holder = self.blocking("reading lock holder", move |b| b.current_holder(&name)).await?;
                return Err(Error::Locked { stack: stack.to_owned(), holder: Box::new(holder) });
            }
            tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
        }
    }

    async fn read(&self, stack: &str) -> Result<Option<(State, StateVersion)>, Error> {
        let stack = stack.to_owned();
        self.blocking("reading state", move |b| b.read_sync(&stack)).await
    }

    async fn write(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error> {
        // The lock handle cannot move to another thread, so copy what the
        // checks need into a stand-in.
        let handle = LockRecord { info: lock.info().clone(), token: lock.fencing_token() };
        let state = state.clone();
        let expected = expected.cloned();
        self.blocking("writing state", move |b| b.write_sync(&handle, &state, expected.as_ref())).await
    }

    async fn holder(&self, stack: &str) -> Result<Option<LockInfo>, Error> {
        let path = self.lock_path(stack)?;
        read_lock_info(&path).map_err(|e| lock_file_error(&path, e))
    }

    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<(), Error> {
        let stack = stack.to_owned();
        let lock_id = lock_id.to_owned();
        self.blocking("force-unlocking", move |b| b.force_unlock_sync(&stack, &lock_id)).await
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, Error> {
        let stack = stack.to_owned();
        self.blocking("listing history", move |b| b.history_sync(&stack)).await
    }

    async fn read_version(&self, stack: &str, version_id: &str) -> Result<State, Error> {
        let stack = stack.to_owned();
        let version_id = version_id.to_owned();
        self.blocking("reading state version", move |b| b.read_version_sync(&stack, &version_id)).await
    }

    async fn list_stacks(&self) -> Result<Vec<String>, Error> {
        self.blocking("listing stacks", |b| b.list_stacks_sync()).await
    }
}

#[async_trait]
impl Lock for LocalLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn fencing_token(&self) -> u64 {
        self.token
    }

    async fn release(mut self: Box<Self>) -> Result<(), Error> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            clear_lock_info(&file).map_err(|e| Error::io("clear lock file", &path, e))?;
            file.unlock().map_err(|e| Error::io("unlock", &path, e))
        })
        .await
        .map_err(|e| Error::Task { what: "releasing lock".to_owned(), reason: e.to_string() })?
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Dropped without `release` (an error path, a panic): closing the
            // file releases the OS lock; clear the record first so no one
            // sees a stale holder. Best effort: a failure here only leaves a
            // record that the next holder overwrites.
            clear_lock_info(&file).ok();
        }
    }
}

/// A copy of a lock handle's identity, checked against the lock file.
#[derive(Debug)]
struct LockRecord {
    info: LockInfo,
    token: u64,
}

#[async_trait]
impl Lock for LockRecord {
    fn info(&self) -> &LockInfo {
        &self.info
    }
    fn fencing_token(&self) -> u64 {
        self.token
    }
    async fn release(self: Box<Self>) -> Result<(), Error> {
        Ok(())
    }
}

/// The ID of an earlier version: a per-stack sequence number (for order)
/// and the version's serial, spelled `<seq>-s<serial>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VersionId {
    seq: u64,
    serial: u64,
}

impl VersionId {
    fn parse(s: &str) -> Option<Self> {
        let (seq, serial) = s.split_once("-s")?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(seq) || !digits(serial) {
            return None;
        }
        Some(VersionId { seq: seq.parse().ok()?, serial: serial.parse().ok()? })
    }

    fn file_name(&self) -> String {
        format!("{self}{STATE_SUFFIX}")
    }
}

impl std::fmt::Display for VersionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08}-s{}", self.seq, self.serial)
    }
}

// ---- file helpers ------------------------------------------------------

fn write_lock_info(mut file: &File, info: &LockInfo) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(info).map_err(io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&json)?;
    file.write_all(b"\n")?;
    file.sync_data()
}

fn clear_lock_info(file: &File) -> io::Result<()> {
    file.set_len(0)?;
    file.sync_data()
}

/// The holder recorded in a lock file: `None` when the file is missing or
/// empty (not locked), an `InvalidData` error when it holds something else.
fn read_lock_info(path: &Path) -> io::Result<Option<LockInfo>> {
    let mut text = String::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_string(&mut text)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn lock_file_error(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData {
        Error::Corrupt { location: path.display().to_string(), reason: e.to_string() }
    } else {
        Error::io("read lock file", path, e)
    }
}

fn read_fence(path: &Path) -> Result<u64, Error> {
    match fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|e| Error::Corrupt {
            location: path.display().to_string(),
            reason: format!("fencing counter is not a number: {e}"),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io("read fencing counter", path, e)),
    }
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same
/// directory is written and flushed, `before_rename` runs, the temporary
/// file is renamed over `path` and the directory is flushed. On any error
/// the temporary file is removed and `path` is untouched.
fn write_atomic(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp =
        dir.join(format!(".{name}.{}-{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io("create temporary file", &tmp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write temporary file", &tmp, e))?;
        drop(file);
        before_rename()?;
        fs::rename(&tmp, path).map_err(|e| Error::io("rename temporary file over", path, e))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        fs::remove_file(&tmp).ok();
    }
    result
}

/// Flushes a directory's entries (a rename is durable only after this).
fn sync_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("flush directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
