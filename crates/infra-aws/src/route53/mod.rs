//! Route 53: hosted zones ([`HostedZone`]), records ([`Record`], with
//! typed routing policies and aliases, batched per zone), health checks
//! ([`HealthCheck`]) and the hosted zone lookup ([`HostedZoneLookup`])
//! (see docs/aws-provider.md, "Route 53").
//!
//! Route 53 is global: every provider instance reads the same zones, and
//! its calls are metered per account (one budget for every region's
//! instance).

#[cfg(feature = "route53")]
mod batch;
mod health_check;
mod lookup;
mod names;
mod record;
#[cfg(feature = "route53")]
pub(crate) mod sdk;
mod zone;

pub use health_check::*;
pub use lookup::*;
pub use record::*;
/// What the emulator does differently, listed once (docs/aws-provider.md).
#[cfg(feature = "route53")]
pub use sdk::EMULATOR_GAPS;
pub use zone::*;

/// Registers the Route 53 types and lookups in `instance`.
#[cfg(feature = "route53")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    crate::kit::register_query(instance, ctx, lookup::imp::HostedZoneQuery);
    register(instance, ctx, zone::imp::HostedZoneKind);
    register(instance, ctx, record::imp::RecordKind::new(ctx.clone()));
    register(instance, ctx, health_check::imp::HealthCheckKind);
}
