//! The lease lock: taking it (or taking it over from a holder whose lease
//! ran out), renewing it in the background, releasing it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use infra_state::{Error, Lock, LockInfo};

use crate::backend::{S3Backend, Update};
use crate::record::{Holder, n, s};

/// How often a waiter looks at the lock again.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A held lock of an [`S3Backend`] stack. While it is held, a background
/// task renews the lease every third of its length; if a renewal finds the
/// lock taken over, [`S3Lock::is_lost`] turns true (and every write with
/// the lock is refused anyway, by its fencing token).
#[derive(Debug)]
pub struct S3Lock {
    info: LockInfo,
    token: u64,
    taken_over_from: Option<LockInfo>,
    backend: S3Backend,
    record_key: String,
    renewal: Option<tokio::task::JoinHandle<()>>,
    lost: Arc<AtomicBool>,
    released: bool,
}

impl S3Lock {
    /// Whether a renewal found that someone else took the lock (after this
    /// holder failed to renew for a whole lease, e.g. it was paused).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing the lease without releasing the lock, as if this
    /// holder had frozen: the lock expires one lease later and can then be
    /// taken over. For tests of takeover and fencing.
    #[doc(hidden)]
    pub fn stop_renewing(&mut self) {
        if let Some(task) = self.renewal.take() {
            task.abort();
        }
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl S3Backend {
    /// Takes the lock of `stack`, waiting up to `timeout`, and taking it
    /// over from a holder whose lease ran out. See
    /// `docs/state-and-locking.md` for the rules.
    pub(crate) async fn acquire(
        &self,
        stack: &str,
        operation: &str,
        timeout: Duration,
    ) -> Result<S3Lock, Error> {
        let info = LockInfo::new(stack, operation)?;
        let record_key = self.record_key(stack);
        let deadline = Instant::now() + timeout;
        // The holder and heartbeat seen, and since when (our clock).
        let mut observed: Option<(String, u64, Instant)> = None;
        loop {
            let record = self.record_at(&record_key).await?;
            let Some(holder) = record.holder else {
                if let Some(token) = self.try_take(&record_key, &info, None).await? {
                    return Ok(self.held(info, token, None, record_key));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let now = Instant::now();
            let since = match &observed {
                Some((id, beat, since)) if *id == holder.id && *beat == holder.heartbeat => *since,
                _ => {
                    observed = Some((holder.id.clone(), holder.heartbeat, now));
                    now
                }
            };
            let lease = Duration::from_millis(holder.lease_ms);
            let wall = now_ms();
            // Expired by a whole lease on the holder's own clock (tolerates
            // clock skew up to a lease), or not renewed for a whole lease
            // while we watched (no clocks compared at all).
            let long_expired = wall > holder.expires_ms.saturating_add(holder.lease_ms);
            let watched_expire = now.duration_since(since) >= lease;
            if long_expired || watched_expire {
                let previous = holder.info.clone();
                if let Some(token) = self.try_take(&record_key, &info, Some(&holder)).await? {
                    return Ok(self.held(info, token, Some(previous), record_key));
                }
                continue;
            }
            // A lease that ran out is a holder that is probably gone: keep
            // watching until it can be taken over, even past the timeout.
            let give_up_at =
                if wall > holder.expires_ms { deadline.max(since + lease + POLL_INTERVAL) } else { deadline };
            if now >= give_up_at {
                return Err(Error::Locked { stack: stack.to_owned(), holder: Box::new(holder.info) });
            }
            tokio::time::sleep(POLL_INTERVAL.min(give_up_at - now)).await;
        }
    }

    /// One conditional attempt to take the lock: free (`previous` `None`)
    /// or from `previous`, unchanged since it was read. The new fencing
    /// token, or `None` when someone else got there first.
    async fn try_take(
        &self,
        record_key: &str,
        info: &LockInfo,
        previous: Option<&Holder>,
    ) -> Result<Option<u64>, Error> {
        let info_json = serde_json::to_string(info).map_err(|e| Error::Encode { reason: e.to_string() })?;
        let lease = millis(self.config().lock_lease);
        let mut values = vec![
            (":id", s(&info.id)),
            (":info", s(&info_json)),
            (":zero", n(0)),
            (":one", n(1)),
            (":exp", n(now_ms().saturating_add(lease))),
            (":lease", n(lease)),
        ];
        let condition = match previous {
            None => "attribute_not_exists(#holder)",
            Some(h) => {
                values.push((":old", s(&h.id)));
                values.push((":beat", n(h.heartbeat)));
                "#holder = :old AND #heartbeat = :beat"
            }
        };
        let update = Update {
            record_key,
            expression: "SET #holder = :id, #info = :info, #heartbeat = :zero, #expires_ms = :exp, \
                         #lease_ms = :lease, #fence = if_not_exists(#fence, :zero) + :one",
            condition,
            values,
            action: "take the lock in",
        };
        match self.update(update, true).await? {
            Some(new) => {
                let record = crate::record::Record::parse(Some(&new), &self.table_location())?;
                Ok(Some(record.fence))
            }
            None => Ok(None),
        }
    }

    fn held(
        &self,
        info: LockInfo,
        token: u64,
        taken_over_from: Option<LockInfo>,
        record_key: String,
    ) -> S3Lock {
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = {
            let backend = self.clone();
            let id = info.id.clone();
            let key = record_key.clone();
            let lost = Arc::clone(&lost);
            let every = self.config().lock_lease / 3;
            tokio::spawn(async move {
                let mut wait = every;
                loop {
                    tokio::time::sleep(wait).await;
                    // A call that hangs must not hold the lease hostage.
                    match tokio::time::timeout(every, backend.renew(&key, &id, token)).await {
                        Ok(Ok(true)) => wait = every,
                        Ok(Ok(false)) => {
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        // A failed or hung call (a slow or busy endpoint) is
                        // retried soon, not a whole tick later, so two
                        // transient failures in a row cannot cost the lease.
                        Ok(Err(_)) | Err(_) => wait = (every / 10).max(Duration::from_millis(50)),
                    }
                }
            })
        };
        S3Lock {
            info,
            token,
            taken_over_from,
            backend: self.clone(),
            record_key,
            renewal: Some(renewal),
            lost,
            released: false,
        }
    }

    /// Extends the lease; `false` when the lock is no longer ours.
    async fn renew(&self, record_key: &str, id: &str, token: u64) -> Result<bool, Error> {
        let lease = millis(self.config().lock_lease);
        let update = Update {
            record_key,
            expression: "SET #heartbeat = #heartbeat + :one, #expires_ms = :exp",
            condition: "#holder = :id AND #fence = :token",
            values: vec![
                (":one", n(1)),
                (":exp", n(now_ms().saturating_add(lease))),
                (":id", s(id)),
                (":token", n(token)),
            ],
            action: "renew the lock lease in",
        };
        Ok(self.update(update, false).await?.is_some())
    }

    /// Removes the holder `id` (with fencing token `token`, when given).
    /// `false` when `id` was not the holder.
    pub(crate) async fn remove_holder(
        &self,
        record_key: &str,
        id: &str,
        token: Option<u64>,
    ) -> Result<bool, Error> {
        let mut values = vec![(":id", s(id))];
        let condition = match token {
            Some(t) => {
                values.push((":token", n(t)));
                "#holder = :id AND #fence = :token"
            }
            None => "#holder = :id",
        };
        let update = Update {
            record_key,
            expression: "REMOVE #holder, #info, #heartbeat, #expires_ms, #lease_ms",
            condition,
            values,
            action: "release the lock in",
        };
        Ok(self.update(update, false).await?.is_some())
    }
}

#[async_trait]
impl Lock for S3Lock {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn fencing_token(&self) -> u64 {
        self.token
    }

    fn taken_over_from(&self) -> Option<&LockInfo> {
        self.taken_over_from.as_ref()
    }

    async fn release(mut self: Box<Self>) -> Result<(), Error> {
        self.stop_renewing();
        self.released = true;
        if self.backend.remove_holder(&self.record_key, &self.info.id, Some(self.token)).await? {
            return Ok(());
        }
        let record = self.backend.record_at(&self.record_key).await?;
        match record.holder {
            // Force-unlocked meanwhile: nothing left to release.
            None => Ok(()),
            Some(h) => Err(Error::LockLost {
                stack: self.info.stack.clone(),
                lock_id: self.info.id.clone(),
                reason: format!("its lease ran out and the stack was taken over: {}", h.info),
            }),
        }
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        self.stop_renewing();
        if self.released {
            return;
        }
        // Dropped without `release` (an error path): release in the
        // background when a runtime is still there; otherwise the lease
        // runs out and the next run takes the lock over.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let backend = self.backend.clone();
            let key = self.record_key.clone();
            let id = self.info.id.clone();
            let token = self.token;
            handle.spawn(async move {
                let _ = backend.remove_holder(&key, &id, Some(token)).await;
            });
        }
    }
}
