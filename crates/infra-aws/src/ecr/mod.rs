//! ECR: container image repositories.

/// Registers every ecr resource type's implementation in `instance`.
#[cfg(feature = "ecr")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
