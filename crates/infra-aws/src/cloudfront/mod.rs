//! CloudFront: distributions, origin access, cache and header policies (see docs/aws-provider.md).
//! CloudFront is global: one API endpoint, metered per account.

/// Registers every cloudfront resource type's implementation in `instance`.
#[cfg(feature = "cloudfront")]
pub(crate) fn register(
    _instance: &mut infra_engine::ProviderInstance,
    _ctx: &std::sync::Arc<crate::sdk::Ctx>,
) {
}
