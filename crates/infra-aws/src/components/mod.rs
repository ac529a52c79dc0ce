//! Components: functions that add a group of resources under a name, like
//! the seeds' Terraform modules. A component is a plain function over a
//! [`Scope`](infra_core::Scope); it returns the handles its callers wire to.

mod three_tier_vpc;
mod two_region;

pub use three_tier_vpc::{ThreeTierVpc, ThreeTierVpcConfig, three_tier_vpc};
pub use two_region::{RegionNetwork, TwoRegionNetwork, two_region_network};
