//! CloudWatch: metric alarms and dashboards.

/// Registers every cloudwatch resource type's implementation in `instance`.
#[cfg(feature = "cloudwatch")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
