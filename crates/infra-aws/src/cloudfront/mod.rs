//! CloudFront: distributions, origin access, cache and header policies (see docs/aws-provider.md).
//! CloudFront is global: one API endpoint, metered per account.

mod distribution;
#[cfg(feature = "cloudfront")]
pub(crate) mod sdk;

pub use distribution::*;

/// Registers every cloudfront resource type's implementation in `instance`.
#[cfg(feature = "cloudfront")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, distribution::imp::DistributionKind);
}
