//! Shield Advanced: protections ([`ShieldProtection`]) of load balancers,
//! distributions and other protectable resources (see
//! docs/aws-provider.md). The API is in us-east-1 only and metered per
//! account; the account must hold a Shield Advanced subscription (not
//! managed here).

mod protection;

pub use protection::*;

/// Registers every shield resource type's implementation in `instance`.
#[cfg(feature = "shield")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, protection::imp::ShieldProtectionKind);
}
