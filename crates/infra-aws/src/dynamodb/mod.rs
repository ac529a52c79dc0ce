//! DynamoDB: tables (see docs/aws-provider.md).

/// Registers every dynamodb resource type's implementation in `instance`.
#[cfg(feature = "dynamodb")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
