//! An in-memory backend: the same semantics as the others (locks with
//! holders and fencing tokens, compare-and-swap writes, history), no
//! persistence. For tests and benchmarks; it passes the conformance suite.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use infra_core::State;

use crate::backend::{Backend, HistoryEntry, Lock, LockInfo, StateVersion, validate_stack_name};
use crate::error::Error;
use crate::format;

#[derive(Debug, Default)]
struct StackData {
    /// The stored bytes, their version and lineage.
    current: Option<(Vec<u8>, StateVersion, String)>,
    history: Vec<(HistoryEntry, Vec<u8>)>,
    holder: Option<LockInfo>,
    fence: u64,
}

/// A backend that keeps everything in memory (shared by clones).
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    stacks: Arc<Mutex<BTreeMap<String, StackData>>>,
}

/// A lock held on a [`MemoryBackend`].
#[derive(Debug)]
pub struct MemoryLock {
    info: LockInfo,
    token: u64,
    backend: MemoryBackend,
}

const POLL: Duration = Duration::from_millis(50);

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn stacks(&self) -> MutexGuard<'_, BTreeMap<String, StackData>> {
        self.stacks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn try_lock(&self, info: &LockInfo) -> Result<u64, Box<LockInfo>> {
        let mut all = self.stacks();
        let data = all.entry(info.stack.clone()).or_default();
        match &data.holder {
            Some(h) => Err(Box::new(h.clone())),
            None => {
                data.fence += 1;
                data.holder = Some(info.clone());
                Ok(data.fence)
            }
        }
    }
}

#[async_trait]
impl Lock for MemoryLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }
    fn fencing_token(&self) -> u64 {
        self.token
    }
    async fn release(self: Box<Self>) -> Result<(), Error> {
        let mut all = self.backend.stacks();
        if let Some(d) = all.get_mut(&self.info.stack)
            && d.holder.as_ref().is_some_and(|h| h.id == self.info.id)
        {
            d.holder = None;
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn describe(&self) -> String {
        "in-memory state (not persisted)".into()
    }

    async fn lock(&self, stack: &str, operation: &str, timeout: Duration) -> Result<Box<dyn Lock>, Error> {
        validate_stack_name(stack)?;
        let info = LockInfo::new(stack, operation)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.try_lock(&info) {
                Ok(token) => return Ok(Box::new(MemoryLock { info, token, backend: self.clone() })),
                Err(holder) => {
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        return Err(Error::Locked { stack: stack.to_owned(), holder });
                    }
                    tokio::time::sleep(POLL.min(deadline - now)).await;
                }
            }
        }
    }

    async fn read(&self, stack: &str) -> Result<Option<(State, StateVersion)>, Error> {
        validate_stack_name(stack)?;
        let current = self.stacks().get(stack).and_then(|d| d.current.clone());
        match current {
            None => Ok(None),
            Some((bytes, v, _)) => Ok(Some((format::decode_from(&bytes, stack)?, v))),
        }
    }

    async fn write(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error> {
        let stack = lock.info().stack.clone();
        let bytes = format::encode(state)?;
        let mut all = self.stacks();
        let data = all.entry(stack.clone()).or_default();
        match &data.holder {
            None => return Err(Error::NotLocked { stack }),
            Some(h) if h.id != lock.info().id || data.fence != lock.fencing_token() => {
                return Err(Error::LockLost {
                    stack,
                    lock_id: lock.info().id.clone(),
                    reason: format!("the stack is now locked by someone else: {h}"),
                });
            }
            Some(_) => {}
        }
        let found = data.current.as_ref().map(|(_, v, _)| v);
        if found != expected {
            return Err(Error::Conflict { stack, expected: expected.cloned(), found: found.cloned() });
        }
        if let Some((old_bytes, old_v, old_lineage)) = &data.current {
            if *old_lineage != state.lineage {
                return Err(Error::LineageMismatch {
                    stack,
                    stored: old_lineage.clone(),
                    given: state.lineage.clone(),
                });
            }
            if state.serial < old_v.serial {
                return Err(Error::SerialRegression { stack, stored: old_v.serial, attempted: state.serial });
            }
            if old_v.serial != state.serial {
                let entry = HistoryEntry {
                    version_id: format!("{}-{}", data.history.len() + 1, old_v.serial),
                    serial: old_v.serial,
                    written_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
                    size: u64::try_from(old_bytes.len()).unwrap_or(u64::MAX),
                };
                data.history.push((entry, old_bytes.clone()));
            }
        }
        let version = StateVersion { serial: state.serial, digest: format::digest(&bytes) };
        data.current = Some((bytes, version.clone(), state.lineage.clone()));
        Ok(version)
    }

    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<(), Error> {
        validate_stack_name(stack)?;
        let mut all = self.stacks();
        let data = all.entry(stack.to_owned()).or_default();
        match &data.holder {
            None => Err(Error::NotLocked { stack: stack.to_owned() }),
            Some(h) if h.id != lock_id => Err(Error::WrongLockId {
                stack: stack.to_owned(),
                given: lock_id.to_owned(),
                holder: Box::new(h.clone()),
            }),
            Some(_) => {
                data.holder = None;
                Ok(())
            }
        }
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, Error> {
        validate_stack_name(stack)?;
        Ok(self
            .stacks()
            .get(stack)
            .map(|d| d.history.iter().rev().map(|(e, _)| e.clone()).collect())
            .unwrap_or_default())
    }

    async fn read_version(&self, stack: &str, version_id: &str) -> Result<State, Error> {
        validate_stack_name(stack)?;
        let bytes = self
            .stacks()
            .get(stack)
            .and_then(|d| d.history.iter().find(|(e, _)| e.version_id == version_id).map(|(_, b)| b.clone()));
        match bytes {
            Some(b) => format::decode_from(&b, stack),
            None => {
                Err(Error::VersionNotFound { stack: stack.to_owned(), version_id: version_id.to_owned() })
            }
        }
    }

    async fn list_stacks(&self) -> Result<Vec<String>, Error> {
        Ok(self.stacks().iter().filter(|(_, d)| d.current.is_some()).map(|(k, _)| k.clone()).collect())
    }
}
