//! ACM: certificates and the wait for their DNS validation (see
//! docs/aws-provider.md).

mod certificate;
#[cfg(feature = "acm")]
pub(crate) mod sdk;
mod validation;

pub use certificate::*;
pub use validation::*;

/// Registers every acm resource type's implementation in `instance`.
#[cfg(feature = "acm")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, certificate::imp::CertificateKind);
    register(instance, ctx, validation::imp::CertificateValidationKind);
}
