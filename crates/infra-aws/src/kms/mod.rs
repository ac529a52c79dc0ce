//! KMS: keys and aliases (see docs/aws-provider.md).

mod alias;
mod key;

pub use alias::*;
pub use key::*;

/// Registers every kms resource type's implementation in `instance`.
#[cfg(feature = "kms")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, key::imp::KmsKeyKind);
    crate::kit::register(instance, ctx, alias::imp::KmsAliasKind);
}
