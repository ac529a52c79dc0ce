//! EC2 networking resources.

mod flow_log;
mod gateway;
mod launch_template;
mod nacl;
mod peering;
mod route;
#[cfg(feature = "ec2")]
pub(crate) mod sdk;
mod security_group;
mod subnet;
mod transit;
mod vpc;

pub use flow_log::*;
pub use gateway::*;
pub use launch_template::*;
pub use nacl::*;
pub use peering::*;
pub use route::*;
pub use security_group::*;
pub use subnet::*;
pub use transit::*;
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
    instance.register(Subnet::SCHEMA.type_name, Arc::new(subnet::imp::SubnetProvider(ctx.clone())));
    instance.register(
        InternetGateway::SCHEMA.type_name,
        Arc::new(gateway::imp::InternetGatewayProvider(ctx.clone())),
    );
    instance.register(ElasticIp::SCHEMA.type_name, Arc::new(gateway::imp::ElasticIpProvider(ctx.clone())));
    instance.register(NatGateway::SCHEMA.type_name, Arc::new(gateway::imp::NatGatewayProvider(ctx.clone())));
    // register: network-b
    instance.register(RouteTable::SCHEMA.type_name, Arc::new(route::imp::RouteTableProvider(ctx.clone())));
    instance.register(Route::SCHEMA.type_name, Arc::new(route::imp::RouteProvider::new(ctx.clone())));
    instance.register(
        RouteTableAssociation::SCHEMA.type_name,
        Arc::new(route::imp::RouteTableAssociationProvider::new(ctx.clone())),
    );
    instance.register(
        SecurityGroup::SCHEMA.type_name,
        Arc::new(security_group::imp::SecurityGroupProvider::new(ctx.clone())),
    );
    instance.register(
        SecurityGroupRule::SCHEMA.type_name,
        Arc::new(security_group::imp::SecurityGroupRuleProvider::new(ctx.clone())),
    );
    // register: transit
    instance.register(
        TransitGateway::SCHEMA.type_name,
        Arc::new(transit::imp::TransitGatewayProvider(ctx.clone(), Default::default())),
    );
    instance.register(
        TransitGatewayVpcAttachment::SCHEMA.type_name,
        Arc::new(transit::imp::TransitGatewayVpcAttachmentProvider(ctx.clone(), Default::default())),
    );
    instance.register(
        TransitGatewayRoute::SCHEMA.type_name,
        Arc::new(transit::imp::TransitGatewayRouteProvider(ctx.clone())),
    );
    instance.register(
        TransitGatewayPeeringAttachment::SCHEMA.type_name,
        Arc::new(peering::imp::TgwPeeringProvider(ctx.clone(), Default::default())),
    );
    instance.register(
        TransitGatewayPeeringAttachmentAccepter::SCHEMA.type_name,
        Arc::new(peering::imp::TgwPeeringAccepterProvider(ctx.clone())),
    );
    instance.register(
        VpcPeeringConnection::SCHEMA.type_name,
        Arc::new(peering::imp::VpcPeeringProvider(ctx.clone(), Default::default())),
    );
    instance.register(
        VpcPeeringConnectionAccepter::SCHEMA.type_name,
        Arc::new(peering::imp::VpcPeeringAccepterProvider(ctx.clone())),
    );
    instance.register(NetworkAcl::SCHEMA.type_name, Arc::new(nacl::imp::NetworkAclProvider(ctx.clone())));
    instance.register(FlowLog::SCHEMA.type_name, Arc::new(flow_log::imp::FlowLogProvider(ctx.clone())));
    instance.register(
        LaunchTemplate::SCHEMA.type_name,
        Arc::new(launch_template::imp::LaunchTemplateProvider(ctx.clone())),
    );
}
