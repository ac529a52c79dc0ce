//! API rate budgets: token buckets per (provider instance, API class),
//! granted to the waiting step with the longest remaining path first.
//!
//! There is no global concurrency limit: any number of steps may be in
//! flight; what is limited is the rate of calls per budget, as AWS limits
//! them. Waiting for readiness holds no token (each poll takes one
//! non-mutating token), so a slow NAT gateway never starves other steps.
//!
//! Budgets adapt (docs/performance.md). A bucket starts at AWS's published
//! rate and, while steps queue for it and no throttle comes back, probes
//! upward: 10% more per successful call until the first throttle (slow
//! start), then 5% of the published rate per call (additive increase), up
//! to `probe_ceiling` times the published rate. A throttle halves the rate
//! (once per 250 ms burst of throttles: one congestion signal, not one per
//! call) and empties the bucket (multiplicative decrease). A limit the user
//! set (`--rate ec2=20`) is fixed. Against an endpoint override (an
//! emulator, LocalStack) a budget starts unbounded; its first throttle
//! bounds it at half the rate it was seen to sustain, never below the
//! published rate.

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
    /// Fixed limits the user set per service (`--rate ec2=20`, `[rates]`
    /// in infra.toml): not probed, not halved.
    pub services: BTreeMap<String, Rate>,
    /// How far above the published rate a bucket may probe.
    pub probe_ceiling: f64,
    /// Budgets start unbounded (an endpoint override: an emulator or
    /// LocalStack), until a throttle bounds them.
    pub unbounded: bool,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        let mut classes = BTreeMap::new();
        classes.insert(ApiClass::new("ec2", "CreateNatGateway"), Rate::new(1.0, 10.0));
        classes.insert(ApiClass::new("ec2", "DeleteNatGateway"), Rate::new(1.0, 10.0));
        classes.insert(ApiClass::new("ec2", "resource-intensive"), Rate::new(5.0, 50.0));
        // Route 53 record steps: the provider sends one zone's changes as
        // one batched call (up to 1000 changes), so a step is not a call;
        // the calls themselves stay within AWS's 5 per second per account.
        classes.insert(
            ApiClass::new("route53", "ChangeResourceRecordSets").per_account(),
            Rate::new(50.0, 1000.0),
        );
        BudgetConfig {
            classes,
            mutating: Rate::new(5.0, 50.0),
            non_mutating: Rate::new(20.0, 100.0),
            scale: 1.0,
            services: BTreeMap::new(),
            probe_ceiling: 10.0,
            unbounded: false,
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

    /// The user's fixed limit for `class`'s service, if set.
    pub fn fixed(&self, class: &ApiClass) -> Option<Rate> {
        self.services.get(&class.service).map(|r| Rate::new(r.per_second * self.scale, r.burst))
    }

    /// The class a call named `operation` of `service` draws from (its own
    /// class when the configuration has one, e.g. `ec2/CreateNatGateway`,
    /// else the generic mutating or non-mutating class).
    pub fn class_of(&self, service: &str, operation: &str, mutating: bool) -> ApiClass {
        let own = ApiClass::new(service, operation);
        if self.classes.contains_key(&own) {
            own
        } else {
            ApiClass::new(service, if mutating { "mutating" } else { "non-mutating" })
        }
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
    /// Tokens granted (one per provider operation).
    calls: u64,
    /// Calls a provider reported sending ([`Budget::record_call`]): the
    /// exact count when the provider reports, e.g. several per operation.
    sent: u64,
    /// A user-set limit: never probed or halved.
    fixed: bool,
    /// No limit yet (an endpoint override, before any throttle).
    unbounded: bool,
    /// Before the first throttle: probe multiplicatively.
    slow_start: bool,
    /// When the rate was last cut (one cut per burst of throttles).
    last_cut: Option<Instant>,
    /// Calls in the current one-second window and the last whole one.
    window: (Instant, u64, u64),
    ceiling: f64,
    /// The rate a throttle never takes it below: 1/16 of the published
    /// rate against AWS; the published rate itself against an endpoint
    /// override (no other client shares an emulator's budget).
    floor: f64,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        let capacity = self.nominal.burst.max(self.rate);
        self.tokens = (self.tokens + elapsed * self.rate).min(capacity);
        self.last = now;
    }

    fn count(&mut self, now: Instant) {
        self.calls += 1;
        let (start, current, _) = self.window;
        if now.saturating_duration_since(start) >= Duration::from_secs(1) {
            self.window = (now, 1, current);
        } else {
            self.window.1 += 1;
        }
    }
}

/// Statistics of one bucket, for reports and benchmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketStats {
    pub key: BudgetKey,
    /// Throttling errors reported to this bucket.
    pub throttled: u64,
    /// The current rate (calls/s; infinite while unbounded).
    pub rate: f64,
    /// Calls made on it: as the provider reported them, else one per
    /// granted token.
    pub calls: u64,
    /// Tokens granted in the last whole second.
    pub last_second: u64,
    /// Waiting for a token now.
    pub queued: usize,
    /// No limit (an endpoint override before any throttle).
    pub unbounded: bool,
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
                let fixed = self.config.fixed(&key.class);
                let nominal = fixed.unwrap_or_else(|| self.config.rate(&key.class));
                let unbounded = fixed.is_none() && self.config.unbounded;
                let now = Instant::now();
                Arc::new(Mutex::new(Bucket {
                    nominal,
                    rate: if unbounded { f64::INFINITY } else { nominal.per_second },
                    tokens: nominal.burst,
                    last: now,
                    waiters: BinaryHeap::new(),
                    draining: false,
                    throttled: 0,
                    calls: 0,
                    sent: 0,
                    fixed: fixed.is_some(),
                    unbounded,
                    slow_start: true,
                    last_cut: None,
                    window: (now, 0, 0),
                    ceiling: nominal.per_second * self.config.probe_ceiling.max(1.0),
                    floor: if unbounded { nominal.per_second } else { nominal.per_second / 16.0 },
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
            let now = Instant::now();
            if b.unbounded {
                b.count(now);
                return;
            }
            b.refill(now);
            if b.waiters.is_empty() && b.tokens >= 1.0 {
                b.tokens -= 1.0;
                b.count(now);
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

    /// Reports a throttling answer on `key`: the rate halves (once per
    /// burst of throttles) and the bucket empties. Other buckets are not
    /// touched.
    pub fn throttled(&self, key: &BudgetKey) {
        let bucket = self.bucket(key);
        let mut b = lock(&bucket);
        let now = Instant::now();
        b.throttled += 1;
        if b.fixed {
            return;
        }
        b.slow_start = false;
        if b.last_cut.is_some_and(|t| now.saturating_duration_since(t) < Duration::from_millis(250)) {
            return;
        }
        b.last_cut = Some(now);
        if b.unbounded {
            // Bounded at half what it was seen to sustain.
            let (start, current, last) = b.window;
            let elapsed = now.saturating_duration_since(start).as_secs_f64().max(0.001);
            let seen = (last as f64).max(current as f64 / elapsed.max(1.0));
            b.unbounded = false;
            b.rate = (seen / 2.0).max(b.nominal.per_second);
            b.ceiling = b.ceiling.max(b.rate * 2.0);
            b.last = now;
        } else {
            b.refill(now);
            b.rate = (b.rate / 2.0).max(b.floor);
        }
        b.tokens = 0.0;
    }

    /// Reports a successful call on `key`: while steps queue for the
    /// bucket, its rate probes upward (see the module docs).
    pub fn succeeded(&self, key: &BudgetKey) {
        let bucket = self.bucket(key);
        let mut b = lock(&bucket);
        if b.fixed || b.unbounded || b.rate >= b.ceiling {
            return;
        }
        let queued = !b.waiters.is_empty();
        if queued || b.rate < b.nominal.per_second {
            b.refill(Instant::now());
            let step = if b.slow_start { b.rate * 0.10 } else { b.nominal.per_second * 0.05 };
            b.rate = (b.rate + step).min(b.ceiling);
        }
    }

    /// Counts a call made on `key` outside [`Budget::acquire`] (a call a
    /// provider sent again itself), so the run's totals are complete.
    pub fn record_call(&self, key: &BudgetKey) {
        let bucket = self.bucket(key);
        lock(&bucket).sent += 1;
    }

    /// The configuration (for providers choosing a call's class).
    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    /// Calls and throttles over every bucket.
    pub fn totals(&self) -> (u64, u64) {
        self.stats().iter().fold((0, 0), |(c, t), s| (c + s.calls, t + s.throttled))
    }

    /// Per-bucket statistics.
    pub fn stats(&self) -> Vec<BucketStats> {
        lock(&self.buckets)
            .iter()
            .map(|(k, b)| {
                let b = lock(b);
                let calls = if b.sent > 0 { b.sent } else { b.calls };
                // The window holds the current second and the last whole
                // one; a window older than that saw nothing since.
                let age = Instant::now().saturating_duration_since(b.window.0);
                let last_second = match age.as_secs() {
                    0 => b.window.2,
                    1 => b.window.1,
                    _ => 0,
                };
                BucketStats {
                    key: k.clone(),
                    throttled: b.throttled,
                    rate: b.rate,
                    calls,
                    last_second,
                    queued: b.waiters.len(),
                    unbounded: b.unbounded,
                }
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
                        b.count(Instant::now());
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
    async fn a_burst_of_throttles_halves_one_budget_once_and_slows_no_other() {
        let budget = Budget::new(BudgetConfig::default());
        let (a, b) = (key("mutating"), key("non-mutating"));
        budget.acquire(&a, 0).await;
        budget.acquire(&b, 0).await;
        // Ten throttles within one burst: one congestion signal.
        for _ in 0..10 {
            budget.throttled(&a);
        }
        let rate = |k: &BudgetKey| budget.stats().into_iter().find(|s| &s.key == k).map(|s| s.rate);
        assert_eq!(rate(&a), Some(2.5));
        assert_eq!(rate(&b), Some(20.0), "the other budget is untouched");
        // A later burst halves again.
        tokio::time::advance(Duration::from_millis(300)).await;
        budget.throttled(&a);
        assert_eq!(rate(&a), Some(1.25));
        // The other bucket still grants its burst at once.
        let start = Instant::now();
        for _ in 0..50 {
            budget.acquire(&b, 0).await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        assert_eq!(budget.totals(), (52, 11));
    }

    #[tokio::test(start_paused = true)]
    async fn a_queued_budget_probes_above_the_published_rate_until_throttled() {
        let budget = Budget::new(BudgetConfig::default());
        let k = key("mutating");
        // 300 steps queue for the bucket; each call succeeds.
        let mut tasks = Vec::new();
        for _ in 0..300 {
            let (budget, k) = (budget.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                budget.acquire(&k, 0).await;
                budget.succeeded(&k);
            }));
        }
        let start = Instant::now();
        for t in tasks {
            t.await.unwrap();
        }
        // At the published 5/s after a burst of 50, 300 calls take 50 s.
        let took = start.elapsed().as_secs_f64();
        assert!(took < 20.0, "{took}");
        let rate = budget.stats()[0].rate;
        assert!(rate > 5.0 && rate <= 50.0, "{rate}");
        budget.throttled(&k);
        assert!((budget.stats()[0].rate - rate / 2.0).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn an_endpoint_override_starts_unbounded_and_a_user_limit_is_fixed() {
        let mut config = BudgetConfig { unbounded: true, ..BudgetConfig::default() };
        config.services.insert("s3".into(), Rate::new(2.0, 2.0));
        let budget = Budget::new(config);
        let (ec2, s3) = (
            key("mutating"),
            BudgetKey {
                provider: ProviderKey("aws.us-east-1".into()),
                class: ApiClass::new("s3", "mutating"),
            },
        );
        let start = Instant::now();
        for _ in 0..1000 {
            budget.acquire(&ec2, 0).await;
        }
        assert!(start.elapsed() < Duration::from_millis(1), "unbounded");
        for _ in 0..4 {
            budget.acquire(&s3, 0).await;
        }
        assert!((0.9..1.1).contains(&start.elapsed().as_secs_f64()), "the user's 2/s holds");
        budget.throttled(&s3);
        budget.succeeded(&s3);
        let s3_rate = budget.stats().into_iter().find(|s| s.key == s3).map(|s| s.rate);
        assert_eq!(s3_rate, Some(2.0), "a user's limit is neither halved nor probed");
        // The first throttle bounds the unbounded budget, not below 5/s.
        budget.throttled(&ec2);
        let ec2_rate = budget.stats().into_iter().find(|s| s.key == ec2).map(|s| s.rate).unwrap_or_default();
        assert!(ec2_rate.is_finite() && ec2_rate >= 5.0, "{ec2_rate}");
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
