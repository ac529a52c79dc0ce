//! KMS: keys and aliases.

/// Registers every kms resource type's implementation in `instance`.
#[cfg(feature = "kms")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
