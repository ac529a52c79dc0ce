//! The knobs of a simulated cloud: time scale, profile, rate limits,
//! eventual consistency, injected failures and API latency.

use std::collections::BTreeMap;
use std::time::Duration;

use infra_core::{Address, ProviderKey};
use infra_engine::{ApiClass, Operation, ProviderError};

use crate::profile::Profile;

/// A token bucket: `rate` tokens per second refill a bucket of at most
/// `burst` tokens; every call takes one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second (may be fractional, e.g. `0.1`).
    pub rate: f64,
    /// The bucket's capacity, and how full it starts.
    pub burst: u32,
}

impl RateLimit {
    /// A bucket refilled at `rate` tokens per second holding at most `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        RateLimit { rate, burst }
    }
}

/// The rate limits of a cloud: one token bucket per (provider key, API
/// class), as AWS throttles per account and region.
///
/// The limit of a class is looked up in order: a per-provider override, the
/// class's own limit, then the generic limit for its category (`mutating`
/// for every category except `non-mutating`). A class with no limit at any
/// level is not throttled.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Limits per class, applied to every provider key separately.
    pub classes: BTreeMap<ApiClass, RateLimit>,
    /// Limits for one class in one provider instance only.
    pub per_provider: BTreeMap<(ProviderKey, ApiClass), RateLimit>,
    /// Fallback for mutating classes without a limit of their own.
    pub mutating: Option<RateLimit>,
    /// Fallback for `non-mutating` classes without a limit of their own.
    pub non_mutating: Option<RateLimit>,
}

impl Default for RateLimits {
    /// [`RateLimits::aws`].
    fn default() -> Self {
        Self::aws()
    }
}

impl RateLimits {
    /// No throttling at all.
    pub fn unlimited() -> Self {
        RateLimits {
            classes: BTreeMap::new(),
            per_provider: BTreeMap::new(),
            mutating: None,
            non_mutating: None,
        }
    }

    /// AWS's published EC2 request limits (token bucket capacity and refill
    /// rate per second): mutating 50/5, non-mutating 100/20, resource-intensive
    /// 50/5, `CreateNatGateway` and `DeleteNatGateway` 10/1. Every other
    /// service's generic classes get the same mutating and non-mutating
    /// limits (an estimate: most services publish lower or per-action limits).
    pub fn aws() -> Self {
        let mutating = RateLimit::new(5.0, 50);
        let non_mutating = RateLimit::new(20.0, 100);
        RateLimits::unlimited()
            .with_class(ApiClass::new("ec2", "mutating"), mutating)
            .with_class(ApiClass::new("ec2", "non-mutating"), non_mutating)
            .with_class(ApiClass::new("ec2", "resource-intensive"), RateLimit::new(5.0, 50))
            .with_class(ApiClass::new("ec2", "CreateNatGateway"), RateLimit::new(1.0, 10))
            .with_class(ApiClass::new("ec2", "DeleteNatGateway"), RateLimit::new(1.0, 10))
            .with_fallbacks(Some(mutating), Some(non_mutating))
    }

    /// Every limit multiplied by `factor` (rate and bucket): an account
    /// whose limits AWS raised.
    pub fn scaled(mut self, factor: f64) -> Self {
        let scale =
            |l: RateLimit| RateLimit::new(l.rate * factor, (f64::from(l.burst) * factor).round() as u32);
        for l in self.classes.values_mut().chain(self.per_provider.values_mut()) {
            *l = scale(*l);
        }
        self.mutating = self.mutating.map(scale);
        self.non_mutating = self.non_mutating.map(scale);
        self
    }

    /// Sets the limit of `class` in every provider instance.
    pub fn with_class(mut self, class: ApiClass, limit: RateLimit) -> Self {
        self.classes.insert(class, limit);
        self
    }

    /// Sets the limit of `class` in the provider instance `key` only.
    pub fn with_provider_class(mut self, key: ProviderKey, class: ApiClass, limit: RateLimit) -> Self {
        self.per_provider.insert((key, class), limit);
        self
    }

    /// Sets the generic fallbacks (`None`: classes without a limit of their
    /// own are not throttled).
    pub fn with_fallbacks(mut self, mutating: Option<RateLimit>, non_mutating: Option<RateLimit>) -> Self {
        self.mutating = mutating;
        self.non_mutating = non_mutating;
        self
    }

    /// The limit that applies to `class` in provider instance `key`, if any.
    pub fn limit_for(&self, key: &ProviderKey, class: &ApiClass) -> Option<RateLimit> {
        if let Some(limit) = self.per_provider.get(&(key.clone(), class.clone())) {
            return Some(*limit);
        }
        if let Some(limit) = self.classes.get(class) {
            return Some(*limit);
        }
        if class.category == "non-mutating" { self.non_mutating } else { self.mutating }
    }
}

/// Fail the next `times` calls that match with `error`.
///
/// A rule matches a call of `operation` when its optional type name,
/// provider key and address all equal the call's. The address of a poll or
/// read of one resource is the resource's `infra:address` tag. A `find` is
/// a read (`Operation::Read`).
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRule {
    /// Only calls on this type, e.g. `aws:ec2:Subnet`.
    pub type_name: Option<String>,
    /// Only calls on the resource at this address.
    pub address: Option<String>,
    /// Only calls through this provider instance.
    pub provider: Option<ProviderKey>,
    /// The operation to fail.
    pub operation: Operation,
    /// How many matching calls are still to fail.
    pub times: u32,
    /// What they fail with.
    pub error: ProviderError,
}

impl FailureRule {
    /// Fails the next `times` calls of `operation`, of any type, with `error`.
    pub fn new(operation: Operation, times: u32, error: ProviderError) -> Self {
        FailureRule { type_name: None, address: None, provider: None, operation, times, error }
    }

    /// Restricts the rule to one type.
    pub fn on_type(mut self, type_name: &str) -> Self {
        self.type_name = Some(type_name.to_owned());
        self
    }

    /// Restricts the rule to the resource at one address.
    pub fn at_address(mut self, address: &str) -> Self {
        self.address = Some(address.to_owned());
        self
    }

    /// Restricts the rule to one provider instance.
    pub fn on_provider(mut self, key: ProviderKey) -> Self {
        self.provider = Some(key);
        self
    }

    pub(crate) fn matches(
        &self,
        operation: Operation,
        type_name: &str,
        provider: &ProviderKey,
        address: Option<&Address>,
    ) -> bool {
        self.times > 0
            && self.operation == operation
            && self.type_name.as_deref().is_none_or(|t| t == type_name)
            && self.provider.as_ref().is_none_or(|p| p == provider)
            && self.address.as_deref().is_none_or(|a| address.is_some_and(|x| x.as_str() == a))
    }
}

/// Everything a simulated cloud is configured with.
///
/// `time_scale` scales all simulated time: API latency, the profile's
/// latencies and times to ready, poll intervals and timeouts, the
/// consistency window and the token buckets' refill intervals. `1.0` is
/// realistic; `0.001` runs a 10-minute create in 600 ms; `0.0` makes
/// everything instant and unthrottled.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Multiplies every simulated duration.
    pub time_scale: f64,
    /// Per-type latencies, ID prefixes, API classes and outputs.
    pub profile: Profile,
    /// Token buckets per (provider key, API class).
    pub rate_limits: RateLimits,
    /// For this long after a create, a create or update whose inputs mention
    /// the new ID fails with `EventualConsistency` (`InvalidID.NotFound`).
    pub consistency_window: Duration,
    /// Injected failures.
    pub failures: Vec<FailureRule>,
    /// The round trip of every call, before the operation's own latency.
    pub api_latency: Duration,
    /// Resources (by address) that never become ready: once their time to
    /// ready has passed, a readiness poll reports them failed with this
    /// message (a deployment its circuit breaker stopped, a certificate
    /// whose validation timed out).
    pub failed_readiness: Vec<(String, String)>,
}

impl Default for SimConfig {
    /// Realistic: scale 1, the seed profile, AWS's rate limits, no
    /// consistency window, no failures, 100 ms per call.
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            profile: Profile::seed(),
            rate_limits: RateLimits::aws(),
            consistency_window: Duration::ZERO,
            failures: Vec::new(),
            api_latency: Duration::from_millis(100),
            failed_readiness: Vec::new(),
        }
    }
}

impl SimConfig {
    /// Everything instant and unthrottled (time scale 0), with the seed
    /// profile: for tests of engine logic that do not care about time.
    pub fn instant() -> Self {
        SimConfig { time_scale: 0.0, rate_limits: RateLimits::unlimited(), ..SimConfig::default() }
    }

    /// Sets the time scale.
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Sets the profile.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Sets the rate limits.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Sets the eventual-consistency window (before scaling).
    pub fn with_consistency_window(mut self, window: Duration) -> Self {
        self.consistency_window = window;
        self
    }

    /// Adds a failure rule.
    pub fn with_failure(mut self, rule: FailureRule) -> Self {
        self.failures.push(rule);
        self
    }

    /// Makes the resource at `address` fail its readiness wait with
    /// `message` once its time to ready has passed.
    pub fn with_failed_readiness(mut self, address: &str, message: &str) -> Self {
        self.failed_readiness.push((address.to_owned(), message.to_owned()));
        self
    }

    /// Sets the API round trip (before scaling).
    pub fn with_api_latency(mut self, latency: Duration) -> Self {
        self.api_latency = latency;
        self
    }

    /// `d` multiplied by the time scale, rounded to the nanosecond.
    /// Non-positive or invalid scales give zero; overflow saturates.
    pub fn scaled(&self, d: Duration) -> Duration {
        scale_duration(d, self.time_scale)
    }
}

/// `d * scale`, exact for scale 1, rounded to the nanosecond otherwise.
pub(crate) fn scale_duration(d: Duration, scale: f64) -> Duration {
    if scale == 1.0 {
        return d;
    }
    let nanos = d.as_nanos() as f64 * scale;
    if nanos.is_nan() || nanos <= 0.0 {
        return Duration::ZERO;
    }
    if nanos >= u64::MAX as f64 {
        return Duration::MAX;
    }
    Duration::from_nanos(nanos.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_is_exact_at_one_and_rounded_otherwise() {
        let d = Duration::from_secs(121);
        assert_eq!(scale_duration(d, 1.0), d);
        assert_eq!(scale_duration(d, 0.01), Duration::from_millis(1210));
        assert_eq!(scale_duration(d, 0.0), Duration::ZERO);
        assert_eq!(scale_duration(d, -1.0), Duration::ZERO);
        assert_eq!(scale_duration(d, f64::NAN), Duration::ZERO);
        assert_eq!(scale_duration(Duration::MAX, 2.0), Duration::MAX);
    }

    #[test]
    fn limits_fall_back_from_provider_to_class_to_category() {
        let key = ProviderKey("aws.us-east-1".into());
        let other = ProviderKey("aws.eu-west-1".into());
        let class = ApiClass::new("ec2", "mutating");
        let limits =
            RateLimits::aws().with_provider_class(key.clone(), class.clone(), RateLimit::new(1.0, 1));
        assert_eq!(limits.limit_for(&key, &class), Some(RateLimit::new(1.0, 1)));
        assert_eq!(limits.limit_for(&other, &class), Some(RateLimit::new(5.0, 50)));
        assert_eq!(
            limits.limit_for(&other, &ApiClass::new("rds", "non-mutating")),
            Some(RateLimit::new(20.0, 100))
        );
        assert_eq!(
            limits.limit_for(&other, &ApiClass::new("rds", "mutating")),
            Some(RateLimit::new(5.0, 50))
        );
        assert_eq!(RateLimits::unlimited().limit_for(&other, &class), None);
    }
}
