//! RDS: Aurora clusters and instances, global clusters, subnet and
//! parameter groups (see docs/aws-provider.md).

/// Registers every rds resource type's implementation in `instance`.
#[cfg(feature = "rds")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
