//! ECS on Fargate: clusters, task definitions and services.

/// Registers every ecs resource type's implementation in `instance`.
#[cfg(feature = "ecs")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
