//! The state of a run: one in-memory copy, one writer.
//!
//! Steps change the in-memory state through [`StateStore::commit`], which
//! returns once a write that includes the change is durable. A single
//! writer task persists snapshots through the backend, so writes never
//! race; changes that arrive while a write is in flight are coalesced into
//! the next one (group commit). Every write is compare-and-swap on the
//! version the writer last wrote. If a write fails, every later commit fails
//! too, so no further mutating call is made.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use infra_core::State;
use infra_state::{Backend, Lock, StateVersion};
use tokio::sync::{Notify, watch};

use crate::error::Error;

struct Inner {
    state: Mutex<State>,
    /// Generation of the latest change.
    generation: AtomicU64,
    wake: Notify,
    closing: std::sync::atomic::AtomicBool,
}

/// Outcome of the writer: the generation persisted, or the failure.
#[derive(Debug, Clone)]
enum Persisted {
    Upto(u64),
    Failed(String),
}

/// The in-memory state of a run and its writer.
#[derive(Clone)]
pub struct StateStore {
    inner: Arc<Inner>,
    persisted: watch::Receiver<Persisted>,
    writer: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<WriterEnd>>>>,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore").finish_non_exhaustive()
    }
}

/// What the writer hands back when the run ends.
struct WriterEnd {
    lock: Box<dyn Lock>,
    version: Option<StateVersion>,
    error: Option<infra_state::Error>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StateStore {
    /// Starts the writer for `state`, last stored as `version` (None when
    /// never stored), holding `lock`. The state's serial is advanced once
    /// for this operation (written with the first change).
    pub fn start(
        backend: Arc<dyn Backend>,
        lock: Box<dyn Lock>,
        mut state: State,
        version: Option<StateVersion>,
    ) -> Self {
        state.serial += 1;
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            generation: AtomicU64::new(0),
            wake: Notify::new(),
            closing: std::sync::atomic::AtomicBool::new(false),
        });
        let (tx, rx) = watch::channel(Persisted::Upto(0));
        let handle = tokio::spawn(writer(inner.clone(), backend, lock, version, tx));
        StateStore { inner, persisted: rx, writer: Arc::new(tokio::sync::Mutex::new(Some(handle))) }
    }

    /// Runs `work` as one operation under the stack's lock: lock, read (a
    /// fresh state when none is stored), work on a store, flush, release.
    /// Returns what `work` returned and the state as saved.
    pub async fn locked<T>(
        backend: Arc<dyn Backend>,
        stack: &str,
        operation: &str,
        lock_timeout: std::time::Duration,
        work: impl AsyncFnOnce(&StateStore) -> Result<T, Error>,
    ) -> Result<(T, State), Error> {
        let lock = backend.lock(stack, operation, lock_timeout).await?;
        let (state, version) = match crate::run::read_state(backend.as_ref(), stack).await {
            Ok(v) => v,
            Err(e) => {
                let _ = lock.release().await;
                return Err(e);
            }
        };
        let store = StateStore::start(backend, lock, state, version);
        let result = work(&store).await;
        let (state, lock, _) = store.finish().await?;
        lock.release().await?;
        result.map(|t| (t, state))
    }

    /// A copy of the current in-memory state.
    pub fn snapshot(&self) -> State {
        guard(&self.inner.state).clone()
    }

    /// Reads the current state without copying it.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&guard(&self.inner.state))
    }

    /// Applies `change` and lets the writer save it with the next write,
    /// without waiting: for a change whose loss costs nothing but a repeat
    /// (a `waiting` mark cleared: the next run polls once more).
    pub fn commit_later(&self, change: impl FnOnce(&mut State)) {
        change(&mut guard(&self.inner.state));
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.wake.notify_one();
    }

    /// Applies `change` and waits until it is durable.
    pub async fn commit(&self, change: impl FnOnce(&mut State)) -> Result<(), Error> {
        let generation = {
            let mut s = guard(&self.inner.state);
            change(&mut s);
            self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1
        };
        self.inner.wake.notify_one();
        let mut rx = self.persisted.clone();
        let outcome = rx
            .wait_for(|p| match p {
                Persisted::Upto(g) => *g >= generation,
                Persisted::Failed(_) => true,
            })
            .await
            .map(|p| p.clone());
        match outcome {
            Ok(Persisted::Upto(_)) => Ok(()),
            Ok(Persisted::Failed(reason)) => {
                Err(Error::State(infra_state::Error::Task { what: "saving state".into(), reason }))
            }
            Err(_) => Err(Error::State(infra_state::Error::Task {
                what: "saving state".into(),
                reason: "the state writer stopped".into(),
            })),
        }
    }

    /// Flushes, stops the writer and returns the final state, the lock (for
    /// the caller to release) and the stored version.
    pub async fn finish(self) -> Result<(State, Box<dyn Lock>, Option<StateVersion>), Error> {
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
        let handle = self.writer.lock().await.take();
        let Some(handle) = handle else {
            return Err(Error::State(infra_state::Error::Task {
                what: "finishing the run".into(),
                reason: "already finished".into(),
            }));
        };
        let end = handle.await.map_err(|e| {
            Error::State(infra_state::Error::Task { what: "state writer".into(), reason: e.to_string() })
        })?;
        let state = self.snapshot();
        match end.error {
            Some(e) => {
                // Give the lock back so the caller can release it even now.
                let _ = end.lock.release().await;
                Err(Error::State(e))
            }
            None => Ok((state, end.lock, end.version)),
        }
    }
}

async fn writer(
    inner: Arc<Inner>,
    backend: Arc<dyn Backend>,
    lock: Box<dyn Lock>,
    mut version: Option<StateVersion>,
    tx: watch::Sender<Persisted>,
) -> WriterEnd {
    let mut written = 0u64;
    loop {
        let target = inner.generation.load(Ordering::SeqCst);
        if target > written {
            let snapshot = guard(&inner.state).clone();
            match backend.write(lock.as_ref(), &snapshot, version.as_ref()).await {
                Ok(v) => {
                    version = Some(v);
                    written = target;
                    let _ = tx.send(Persisted::Upto(written));
                }
                Err(e) => {
                    let _ = tx.send(Persisted::Failed(e.to_string()));
                    return WriterEnd { lock, version, error: Some(e) };
                }
            }
            continue;
        }
        if inner.closing.load(Ordering::SeqCst) {
            // The operation's last write: a journaling backend stores the
            // state whole now.
            if written > 0
                && let Some(v) = &version
            {
                match backend.settle(lock.as_ref(), v).await {
                    Ok(v) => version = Some(v),
                    Err(e) => return WriterEnd { lock, version, error: Some(e) },
                }
            }
            return WriterEnd { lock, version, error: None };
        }
        inner.wake.notified().await;
    }
}
