//! ACM: certificates and their DNS validation.

/// Registers every acm resource type's implementation in `instance`.
#[cfg(feature = "acm")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
