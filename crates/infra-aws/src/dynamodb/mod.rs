//! DynamoDB: tables (see docs/aws-provider.md).

#[cfg(feature = "dynamodb")]
mod sdk;
mod table;

pub use table::*;

/// Registers every dynamodb resource type's implementation in `instance`.
#[cfg(feature = "dynamodb")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, table::imp::TableKind);
}
