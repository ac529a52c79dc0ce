//! CloudFront: distributions, origin access, cache and header policies (see docs/aws-provider.md).
//! CloudFront is global: one API endpoint, metered per account.

mod distribution;
mod etag;
mod origin_access;
mod policies;
mod response_headers;
#[cfg(feature = "cloudfront")]
pub(crate) mod sdk;

pub use distribution::*;
pub use origin_access::*;
pub use policies::*;
pub use response_headers::*;

/// Registers every cloudfront resource type's implementation in `instance`.
#[cfg(feature = "cloudfront")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register as kit;
    kit(instance, ctx, origin_access::imp::OriginAccessControlKind);
    kit(instance, ctx, origin_access::imp::OriginAccessIdentityKind);
    kit(instance, ctx, policies::imp::CachePolicyKind);
    kit(instance, ctx, policies::imp::OriginRequestPolicyKind);
    kit(instance, ctx, response_headers::imp::ResponseHeadersPolicyKind);
    kit(instance, ctx, distribution::imp::DistributionKind);
}
