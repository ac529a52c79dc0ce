//! The stack and settings of the crash test (`src/bin/crash_apply.rs`).

use infra_aws::components::{ThreeTierVpcConfig, three_tier_vpc};
use infra_core::{ProviderConfig, Stack};
use infra_engine::{Budget, BudgetConfig};
use infra_sim::SimConfig;

/// The simulated cloud's time scale: a NAT gateway's two minutes take
/// under a second.
pub const TIME_SCALE: f64 = 0.005;

/// The seed network in one region; each variant changes things that force
/// replacements: variant 1 moves the data subnets (create-before-destroy,
/// cascading to their route table associations), variant 2 renames the
/// security groups (delete-before-create).
pub fn stack(variant: u32) -> Stack {
    let mut stack = Stack::new("crash");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let mut cfg = ThreeTierVpcConfig::seed("prod-us", "us-east-1", 1);
    if variant == 1 {
        cfg.data_cidrs = (0..3).map(|i| format!("10.1.{}.0/24", 30 + i)).collect();
    }
    if variant == 2 {
        cfg.name = "prod-us-v2".into();
    }
    three_tier_vpc(&mut stack.scope("us").with_provider(&us), "network", &cfg);
    stack
}

/// The simulated cloud's settings.
pub fn sim_config() -> SimConfig {
    SimConfig::default().with_time_scale(TIME_SCALE)
}

/// A budget matching the scaled cloud's rate limits.
pub fn budget() -> Budget {
    Budget::new(BudgetConfig { scale: 1.0 / TIME_SCALE, ..BudgetConfig::default() })
}

/// xorshift64*: a small deterministic generator for kill instants, so a
/// failure reproduces.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}
