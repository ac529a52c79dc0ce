//! API rate budgets: token buckets per (provider instance, API class),
//! granted to the waiting step with the longest remaining path first.
//!
//! There is no global concurrency limit: any number of steps may be in
//! flight; what is limited is the rate of calls per budget, as AWS limits
//! them. Waiting for readiness holds no token (each poll takes one
//! non-mutating token), so a slow NAT gateway never starves other steps.
//!
//! When a call is throttled anyway (another client shares the account's
//! budget), the bucket halves its rate and empties; each successful call
//! then adds back 5% of the nominal rate (additive increase, multiplicative
//! decrease).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::{Arc, Mutex};

use infra_core::ProviderKey;
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};

use crate::provider::ApiClass;

/// A bucket's rate: `per_second` tokens are added each second, up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// A rate of `per_second` with a bucket of `burst`.
    pub const fn new(per_second: f64, burst: f64) -> Self {
        Rate { per_second, burst }
    }
}

/// Budget limits by API class, with defaults.
///
/// The defaults are AWS's published EC2 API request limits (token bucket
/// sizes and refill rates, "Request throttling for the Amazon EC2 API"):
/// mutating actions 5/s with a bucket of 50, non-mutating actions 20/s with a
/// bucket of 100, `CreateNatGateway` and `DeleteNatGateway` 1/s with a
/// bucket of 10, resource-intensive actions 5/s with a bucket of 50. Other
/// services get the same generic figures unless configured; a category
/// without an entry counts as mutating.
#[derive(Debug, Clone)]
pub struct BudgetConfig {
    /// Limits for specific classes, e.g. `ec2/CreateNatGateway`.
    pub classes: BTreeMap<ApiClass, Rate>,
    /// Limit of a class without an entry (other than `*/non-mutating`).
    pub mutating: Rate,
    /// Limit of a `*/non-mutating` class without an entry.
    pub non_mutating: Rate,
    /// Multiplier applied to every rate (tests and benchmarks use it to
    /// match a simulated cloud's time scale).
    pub scale: f64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        let mut classes = BTreeMap::new();
        classes.insert(ApiClass::new("ec2", "CreateNatGateway"), Rate::new(1.0, 10.0));
        classes.insert(ApiClass::new("ec2", "DeleteNatGateway"), Rate::new(1.0, 10.0));
        classes.insert(ApiClass::new("ec2", "resource-intensive"), Rate::new(5.0, 50.0));
        BudgetConfig {
            classes,
            mutating: Rate::new(5.0, 50.0),
            non_mutating: Rate::new(20.0, 100.0),
            scale: 1.0,
        }
    }
}

impl BudgetConfig {
    /// The configured rate of `class`.
    pub fn rate(&self, class: &ApiClass) -> Rate {
        // A category the configuration does not know is treated as
        // mutating: the conservative choice.
        let base = self.classes.get(class).copied().unwrap_or(if class.category == "non-mutating" {
            self.non_mutating
        } else {
            self.mutating
        });
        Rate::new(base.per_second * self.scale, base.burst)
    }
}

/// The key of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BudgetKey {
    pub provider: ProviderKey,
    pub class: ApiClass,
}

struct Waiter {
    priority: u64,
    seq: u64,
    grant: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority && self.seq == other.seq
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> Ordering {
        // Highest priority first; among equals, first come first served.
        self.priority.cmp(&other.priority).then_with(|| other.seq.cmp(&self.seq))
    }
}

struct Bucket {
    nominal: Rate,
    rate: f64,
    tokens: f64,
    last: Instant,
    waiters: BinaryHeap<Waiter>,
    draining: bool,
    throttled: u64,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.nominal.burst);
        self.last = now;
    }
}

/// Statistics of one bucket, for reports and benchmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketStats {
    pub key: BudgetKey,
    /// Throttling errors reported to this bucket.
    pub throttled: u64,
    /// The current (possibly slowed) rate.
    pub rate: f64,
}

/// All buckets of one run.
#[derive(Clone)]
pub struct Budget {
    config: Arc<BudgetConfig>,
    buckets: Arc<Mutex<BTreeMap<BudgetKey, Arc<Mutex<Bucket>>>>>,
    seq: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget").field("config", &self.config).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked while holding it;
    // the bucket's numbers are still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Budget {
    /// Buckets with the given limits.
    pub fn new(config: BudgetConfig) -> Self {
        Budget {
            config: Arc::new(config),
            buckets: Arc::new(Mutex::new(BTreeMap::new())),
            seq: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    fn bucket(&self, key: &BudgetKey) -> Arc<Mutex<Bucket>> {
        let mut all = lock(&self.buckets);
        all.entry(key.clone())
            .or_insert_with(|| {
                let nominal = self.config.rate(&key.class);
                Arc::new(Mutex::new(Bucket {
                    nominal,
                    rate: nominal.per_second,
                    tokens: nominal.burst,
                    last: Instant::now(),
                    waiters: BinaryHeap::new(),
                    draining: false,
                    throttled: 0,
                }))
            })
            .clone()
    }

    /// Waits for one token of `key`'s bucket. Among waiters, the highest
    /// `priority` (the longest remaining path) is served first.
    pub async fn acquire(&self, key: &BudgetKey, priority: u64) {
        let bucket = self.bucket(key);
        let (tx, rx) = oneshot::channel();
        let start_drainer = {
            let mut b = lock(&bucket);
            b.refill(Instant::now());
            if b.waiters.is_empty() && b.tokens >= 1.0 {
                b.tokens -= 1.0;
                return;
            }
            let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            b.waiters.push(Waiter { priority, seq, grant: tx });
            !std::mem::replace(&mut b.draining, true)
        };
        if start_drainer {
            tokio::spawn(drain(bucket));
        }
        // The drainer only drops a waiter's sender when it grants it.
        let _ = rx.await;
    }

    /// Reports a throttling error on `key`: halve its rate and empty it.
    pub fn throttled(&self, key: &BudgetKey) {
        let bucket = self.bucket(key);
        let mut b = lock(&bucket);
        b.refill(Instant::now());
        b.rate = (b.rate / 2.0).max(b.nominal.per_second / 16.0);
        b.tokens = 0.0;
        b.throttled += 1;
    }

    /// Reports a successful call on `key`: recover toward the nominal rate.
    pub fn succeeded(&self, key: &BudgetKey) {
        let bucket = self.bucket(key);
        let mut b = lock(&bucket);
        if b.rate < b.nominal.per_second {
            b.refill(Instant::now());
            b.rate = (b.rate + b.nominal.per_second * 0.05).min(b.nominal.per_second);
        }
    }

    /// Per-bucket statistics.
    pub fn stats(&self) -> Vec<BucketStats> {
        lock(&self.buckets)
            .iter()
            .map(|(k, b)| {
                let b = lock(b);
                BucketStats { key: k.clone(), throttled: b.throttled, rate: b.rate }
            })
            .collect()
    }
}

/// Grants tokens to a bucket's waiters, highest priority first, sleeping
/// until the next token when the bucket is empty; exits when no one waits.
async fn drain(bucket: Arc<Mutex<Bucket>>) {
    loop {
        let wait = {
            let mut b = lock(&bucket);
            b.refill(Instant::now());
            loop {
                if b.waiters.is_empty() {
                    b.draining = false;
                    return;
                }
                if b.tokens < 1.0 {
                    break;
                }
                if let Some(w) = b.waiters.pop() {
                    // A waiter that went away (its step was aborted) simply
                    // does not take the token.
                    if w.grant.send(()).is_ok() {
                        b.tokens -= 1.0;
                    }
                }
            }
            let missing = 1.0 - b.tokens;
            Duration::from_secs_f64((missing / b.rate.max(1e-9)).max(0.0))
        };
        tokio::time::sleep(wait.max(Duration::from_micros(1))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(class: &str) -> BudgetKey {
        BudgetKey { provider: ProviderKey("aws.us-east-1".into()), class: ApiClass::new("ec2", class) }
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_refill_rate() {
        let budget = Budget::new(BudgetConfig::default());
        let k = key("CreateNatGateway");
        let start = Instant::now();
        for _ in 0..10 {
            budget.acquire(&k, 0).await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        for _ in 0..5 {
            budget.acquire(&k, 0).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((4.9..5.2).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn highest_priority_waiter_is_served_first() {
        let budget = Budget::new(BudgetConfig::default());
        let k = key("CreateNatGateway");
        for _ in 0..10 {
            budget.acquire(&k, 0).await;
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for p in [1u64, 5, 3] {
            let (b, k, order) = (budget.clone(), k.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                b.acquire(&k, p).await;
                lock(&order).push(p);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*lock(&order), [5, 3, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_slows_the_bucket_and_success_recovers_it() {
        let budget = Budget::new(BudgetConfig::default());
        let k = key("mutating");
        budget.acquire(&k, 0).await;
        budget.throttled(&k);
        let s = &budget.stats()[0];
        assert_eq!(s.throttled, 1);
        assert!((s.rate - 2.5).abs() < 1e-9);
        for _ in 0..20 {
            budget.succeeded(&k);
        }
        assert!((budget.stats()[0].rate - 5.0).abs() < 1e-9);
    }
}
