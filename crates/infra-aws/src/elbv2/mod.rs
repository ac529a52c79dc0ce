//! Elastic Load Balancing v2: application load balancers, target groups, listeners and rules.

/// Registers every elbv2 resource type's implementation in `instance`.
#[cfg(feature = "elbv2")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
