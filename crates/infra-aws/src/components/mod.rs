//! Components: functions that add a group of resources under a name, like
//! the seeds' Terraform modules. A component is a plain function over a
//! [`Scope`](infra_core::Scope); it returns the handles its callers wire to.

mod alb;
mod aurora;
mod ecs_service;
mod redis;
mod three_tier_vpc;
mod two_region;
mod web_asg;

pub use alb::{AlbConfig, AlbHandles, AlbTarget, Https, alb};
pub use aurora::{Aurora, AuroraConfig, AuroraRole, aurora};
pub use ecs_service::{EcsServiceConfig, EcsServiceHandles, TASK_EXECUTION_POLICY, ecs_service};
pub use redis::{Redis, RedisConfig, redis};
pub use three_tier_vpc::{ThreeTierVpc, ThreeTierVpcConfig, three_tier_vpc};
pub use two_region::{RegionNetwork, TwoRegionNetwork, two_region_network};
pub use web_asg::{WebAsg, WebAsgConfig, web_asg};
