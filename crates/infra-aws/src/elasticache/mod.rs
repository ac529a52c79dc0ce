//! ElastiCache: Redis replication groups, subnet and parameter groups (see
//! docs/aws-provider.md).

/// Registers every elasticache resource type's implementation in `instance`.
#[cfg(feature = "elasticache")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
