//! Token buckets, in exact integer time so that virtual-time tests can
//! assert the instant a token comes back.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::RateLimit;

/// One token bucket.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    tokens: u64,
    burst: u64,
    /// Time to refill one token; `None`: never refills; zero: never empties.
    interval: Option<Duration>,
    /// The instant the refill clock last counted from.
    last: Instant,
}

impl Bucket {
    /// A full bucket for `limit`, its refill interval scaled by `scale`.
    pub(crate) fn new(limit: RateLimit, scale: f64, now: Instant) -> Self {
        let interval = if limit.rate > 0.0 && limit.rate.is_finite() {
            let nanos = 1e9 / limit.rate * scale;
            if nanos.is_nan() || nanos <= 0.0 {
                Some(Duration::ZERO)
            } else if nanos >= u64::MAX as f64 {
                None
            } else {
                Some(Duration::from_nanos(nanos.round() as u64))
            }
        } else {
            None
        };
        Bucket { tokens: u64::from(limit.burst), burst: u64::from(limit.burst), interval, last: now }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        if self.interval == Some(Duration::ZERO) {
            return true;
        }
        self.refill(now);
        if self.tokens == 0 {
            return false;
        }
        if self.tokens == self.burst {
            // A full bucket accumulates nothing: the refill clock starts now.
            self.last = now;
        }
        self.tokens -= 1;
        true
    }

    fn refill(&mut self, now: Instant) {
        let Some(interval) = self.interval else { return };
        let elapsed = now.saturating_duration_since(self.last);
        let earned = elapsed.as_nanos() / interval.as_nanos().max(1);
        let missing = u128::from(self.burst - self.tokens);
        if earned >= missing {
            self.tokens = self.burst;
            self.last = now;
        } else if earned > 0 {
            // `earned < burst <= u32::MAX`, so the casts are lossless.
            self.tokens += earned as u64;
            self.last =
                interval.checked_mul(earned as u32).and_then(|d| self.last.checked_add(d)).unwrap_or(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_then_refills_one_token_per_interval() {
        let t0 = Instant::now();
        let mut b = Bucket::new(RateLimit::new(5.0, 3), 1.0, t0);
        assert!(b.try_take(t0) && b.try_take(t0) && b.try_take(t0));
        assert!(!b.try_take(t0));
        let ms = Duration::from_millis;
        assert!(!b.try_take(t0 + ms(199)));
        assert!(b.try_take(t0 + ms(200)));
        assert!(!b.try_take(t0 + ms(200)));
        // 1 s later: 5 tokens earned, capped at 3.
        let t1 = t0 + ms(1200);
        assert!(b.try_take(t1) && b.try_take(t1) && b.try_take(t1));
        assert!(!b.try_take(t1));
    }

    #[test]
    fn scale_shortens_the_interval_and_zero_disables_the_limit() {
        let t0 = Instant::now();
        let mut b = Bucket::new(RateLimit::new(1.0, 1), 0.001, t0);
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0));
        assert!(b.try_take(t0 + Duration::from_millis(1)));
        let mut free = Bucket::new(RateLimit::new(1.0, 0), 0.0, t0);
        assert!(free.try_take(t0) && free.try_take(t0));
        let mut never = Bucket::new(RateLimit::new(0.0, 1), 1.0, t0);
        assert!(never.try_take(t0));
        assert!(!never.try_take(t0 + Duration::from_secs(3600)));
    }
}
