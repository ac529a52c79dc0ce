//! Application Auto Scaling: scalable targets and scaling policies (an ECS service's task count).

/// Registers every appautoscaling resource type's implementation in `instance`.
#[cfg(feature = "appautoscaling")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
