//! Secrets Manager: secrets, their versions, and generated passwords.

/// Registers every secretsmanager resource type's implementation in `instance`.
#[cfg(feature = "secretsmanager")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
