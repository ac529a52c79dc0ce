//! Shield Advanced: protections (see docs/aws-provider.md). The API is in
//! us-east-1 only and metered per account.

/// Registers every shield resource type's implementation in `instance`.
#[cfg(feature = "shield")]
pub(crate) fn register(
    _instance: &mut infra_engine::ProviderInstance,
    _ctx: &std::sync::Arc<crate::sdk::Ctx>,
) {
}
