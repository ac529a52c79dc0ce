//! EC2 networking resources.

mod flow_log;
mod gateway;
mod launch_template;
mod lookups;
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
pub use lookups::*;
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

/// Registers every EC2 resource type's implementation in `instance`, and
/// the EC2 inventory (orphan listing through DescribeTags).
#[cfg(feature = "ec2")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use std::sync::Arc;

    use infra_core::Resource;
    use infra_engine::ResourceProvider;

    use crate::kit::{Kind, Kit};

    let mut inventory = sdk::TaggedTypes::new();
    let mut add = |tag_type: Option<&'static str>, type_name: &'static str, p: Arc<dyn ResourceProvider>| {
        instance.register(type_name, p.clone());
        if let Some(t) = tag_type {
            inventory.entry(t).or_default().push((type_name, p));
        }
    };
    fn kit<K: Kind>(ctx: &Arc<crate::sdk::Ctx>, kind: K) -> (&'static str, Arc<dyn ResourceProvider>) {
        (K::Decl::SCHEMA.type_name, Arc::new(Kit::new(ctx.clone(), kind)))
    }
    // (EC2 resource type in DescribeTags, provider); `None`: not taggable.
    let kinds = [
        (Some("vpc"), kit(ctx, vpc::imp::VpcKind)),
        (Some("subnet"), kit(ctx, subnet::imp::SubnetKind)),
        (Some("internet-gateway"), kit(ctx, gateway::imp::InternetGatewayKind)),
        (Some("elastic-ip"), kit(ctx, gateway::imp::ElasticIpKind)),
        (Some("natgateway"), kit(ctx, gateway::imp::NatGatewayKind)),
        (Some("route-table"), kit(ctx, route::imp::RouteTableKind)),
        (None, kit(ctx, route::imp::RouteKind)),
        (None, kit(ctx, route::imp::RouteTableAssociationKind)),
        (Some("transit-gateway"), kit(ctx, transit::imp::TransitGatewayKind)),
        (Some("transit-gateway-attachment"), kit(ctx, transit::imp::TransitGatewayVpcAttachmentKind)),
        (None, kit(ctx, transit::imp::TransitGatewayRouteKind)),
        (Some("transit-gateway-attachment"), kit(ctx, peering::imp::Requester(peering::imp::Tgw))),
        (None, kit(ctx, peering::imp::Accepter(peering::imp::Tgw))),
        (Some("vpc-peering-connection"), kit(ctx, peering::imp::Requester(peering::imp::Pcx))),
        (None, kit(ctx, peering::imp::Accepter(peering::imp::Pcx))),
        (Some("network-acl"), kit(ctx, nacl::imp::NetworkAclKind)),
        (Some("vpc-flow-log"), kit(ctx, flow_log::imp::FlowLogKind)),
        (Some("launch-template"), kit(ctx, launch_template::imp::LaunchTemplateKind)),
        (Some("security-group"), kit(ctx, security_group::imp::SecurityGroupKind)),
        (Some("security-group-rule"), kit(ctx, security_group::imp::SecurityGroupRuleKind)),
    ];
    for (tag_type, (type_name, p)) in kinds {
        add(tag_type, type_name, p);
    }
    instance.register_inventory(Arc::new(sdk::Ec2Inventory { ctx: ctx.clone(), types: inventory }));
    // Lookups: read-only, never in the inventory.
    crate::kit::register_query(instance, ctx, lookups::imp::AmiQuery);
    crate::kit::register_query(instance, ctx, lookups::imp::AzQuery);
    crate::kit::register_query(instance, ctx, lookups::imp::VpcQuery);
    crate::kit::register_query(instance, ctx, lookups::imp::SubnetQuery);
}
