//! EC2 Auto Scaling: groups and scaling policies.

/// Registers every autoscaling resource type's implementation in `instance`.
#[cfg(feature = "autoscaling")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
