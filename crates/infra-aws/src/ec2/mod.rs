//! EC2 networking resources.

mod gateway;
mod route;
#[cfg(feature = "ec2")]
pub(crate) mod sdk;
mod security_group;
mod subnet;
mod vpc;

pub use gateway::*;
pub use route::*;
pub use security_group::*;
pub use subnet::*;
pub use vpc::*;

use infra_core::ValidationContext;

use crate::net::Ipv4Cidr;

/// Reports `field` when `value` is not a valid IPv4 CIDR block.
pub(crate) fn check_cidr(ctx: &mut ValidationContext<'_>, field: &str, value: &str) -> Option<Ipv4Cidr> {
    match value.parse::<Ipv4Cidr>() {
        Ok(c) => Some(c),
        Err(e) => {
            ctx.error(field, e);
            None
        }
    }
}

/// Reports `field` when the availability zone is not in the provider's region.
pub(crate) fn check_az(ctx: &mut ValidationContext<'_>, field: &str, az: &str) {
    let Some(region) = ctx.region().map(str::to_owned) else {
        return;
    };
    let suffix_ok = az
        .strip_prefix(region.as_str())
        .is_some_and(|rest| rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase()));
    if !suffix_ok {
        ctx.error(
            field,
            format!(
                "availability zone {az:?} is not in the provider's region {region} (expected e.g. {region}a)"
            ),
        );
    }
}

/// Registers every EC2 resource type's implementation in `instance`.
#[cfg(feature = "ec2")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use infra_core::Resource;
    use std::sync::Arc;
    instance.register(Vpc::SCHEMA.type_name, Arc::new(vpc::imp::VpcProvider(ctx.clone())));
    // register: network-a
    // register: network-b
}
