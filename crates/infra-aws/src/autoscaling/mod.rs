//! EC2 Auto Scaling: groups and their scaling policies (see
//! docs/aws-provider.md).
//!
//! A group is known by its name (unique per region): its ID in state, its
//! natural key, the key its policies and alarms use. Policies are known by
//! their ARN, which names their group and their own name.

mod group;
mod policy;
#[cfg(feature = "autoscaling")]
pub(crate) mod sdk;

pub use group::*;
pub use policy::*;

use infra_core::ValidationContext;

/// An Auto Scaling name (a group's, a policy's): 1 to 255 characters.
pub(crate) fn check_name(ctx: &mut ValidationContext<'_>, field: &str, name: &str) {
    let n = name.chars().count();
    if n == 0 || n > 255 {
        ctx.error(field, format!("{name:?} must be 1 to 255 characters; it has {n}"));
    }
}

/// Registers every autoscaling resource type's implementation in `instance`.
#[cfg(feature = "autoscaling")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, group::imp::GroupKind);
    register(instance, ctx, policy::imp::PolicyKind);
}
