//! Elastic Load Balancing v2: application load balancers ([`Alb`]), target
//! groups, listeners and listener rules, with typed actions ([`Action`]:
//! forward to weighted target groups, redirect, fixed response) and rule
//! conditions ([`Condition`]) (see docs/aws-provider.md).
//!
//! Every object is identified by its ARN. ELBv2 cannot list by tag, so a
//! create whose answer was lost is found by its natural key: a load
//! balancer's or target group's name (unique per region), a listener's
//! load balancer and port, a rule's listener and priority.

mod action;
mod listener;
mod listener_rule;
mod load_balancer;
#[cfg(feature = "elbv2")]
pub(crate) mod sdk;
mod target_group;

pub use action::*;
pub use listener::*;
pub use listener_rule::*;
pub use load_balancer::*;
pub use target_group::*;

use infra_core::ValidationContext;

/// A load balancer's or target group's name: 1 to 32 letters, digits and
/// hyphens, not beginning or ending with a hyphen.
pub(crate) fn check_name(ctx: &mut ValidationContext<'_>, field: &str, name: &str) {
    let n = name.chars().count();
    if n == 0 || n > 32 {
        ctx.error(field, format!("{name:?} must be 1 to 32 characters; it has {n}"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        ctx.error(field, format!("{name:?} has {c:?}: names take letters, digits and hyphens only"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        ctx.error(field, format!("{name:?} may not begin or end with a hyphen"));
    }
}

/// The part of an ARN after `marker` (`app/name/id` after `:loadbalancer/`):
/// what CloudWatch's dimensions take.
#[cfg(feature = "elbv2")]
pub(crate) fn arn_suffix(arn: &str, marker: &str) -> String {
    arn.split_once(marker).map_or_else(String::new, |(_, rest)| rest.to_owned())
}

/// Registers every elbv2 resource type's implementation in `instance`.
#[cfg(feature = "elbv2")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, load_balancer::imp::AlbKind);
    register(instance, ctx, target_group::imp::TargetGroupKind);
    register(instance, ctx, listener::imp::ListenerKind);
    register(instance, ctx, listener_rule::imp::ListenerRuleKind);
}
