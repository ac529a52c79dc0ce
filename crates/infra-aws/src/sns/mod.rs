//! SNS: topics and subscriptions.

/// Registers every sns resource type's implementation in `instance`.
#[cfg(feature = "sns")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
