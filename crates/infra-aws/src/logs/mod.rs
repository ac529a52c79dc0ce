//! CloudWatch Logs: log groups.

/// Registers every logs resource type's implementation in `instance`.
#[cfg(feature = "logs")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
