//! The seed architecture's network: a three-tier VPC in each of two
//! regions, a transit gateway in each, the VPCs attached through their
//! application subnets, and a cross-region transit gateway peering with
//! routes both ways, so the application tiers reach each other.

use infra_core::{Handle, Options, ProviderKey, Stack};

use super::three_tier_vpc::{ThreeTierVpc, ThreeTierVpcConfig, three_tier_vpc};
use crate::ec2::{
    Route, TransitGateway, TransitGatewayPeeringAttachment, TransitGatewayPeeringAttachmentAccepter,
    TransitGatewayRoute, TransitGatewayVpcAttachment,
};

/// One region of the network.
#[derive(Debug, Clone)]
pub struct RegionNetwork {
    pub provider: ProviderKey,
    pub vpc: ThreeTierVpc,
    pub transit_gateway: Handle<TransitGateway>,
    pub attachment: Handle<TransitGatewayVpcAttachment>,
}

/// The two regions and the peering between them.
#[derive(Debug, Clone)]
pub struct TwoRegionNetwork {
    pub primary: RegionNetwork,
    pub secondary: RegionNetwork,
    pub peering: Handle<TransitGatewayPeeringAttachment>,
    pub accepter: Handle<TransitGatewayPeeringAttachmentAccepter>,
}

/// Adds the network under `<scope>.network` in each region's scope
/// (`primary.0` and `secondary.0` name the scopes, e.g. `us` and `eu`).
pub fn two_region_network(
    stack: &mut Stack,
    primary: (&str, &ProviderKey, &ThreeTierVpcConfig),
    secondary: (&str, &ProviderKey, &ThreeTierVpcConfig),
) -> TwoRegionNetwork {
    let regional = |stack: &mut Stack, (scope, key, cfg): (&str, &ProviderKey, &ThreeTierVpcConfig)| {
        let mut s = stack.scope(scope).with_provider(key);
        let vpc = three_tier_vpc(&mut s, "network", cfg);
        let mut n = s.scope("network");
        let tgw = n.add(
            "tgw",
            TransitGateway {
                description: Some(format!("{} transit gateway", cfg.name)),
                amazon_side_asn: 64512,
                auto_accept_shared_attachments: false,
                default_route_table_association: true,
                default_route_table_propagation: true,
                dns_support: true,
                vpn_ecmp_support: true,
                tags: cfg.tags.clone(),
            },
        );
        let attachment = n.add(
            "tgw-attachment",
            TransitGatewayVpcAttachment {
                transit_gateway_id: tgw.id().into(),
                vpc_id: vpc.vpc.id().into(),
                subnet_ids: vpc.app_subnet_ids(),
                dns_support: true,
                tags: cfg.tags.clone(),
            },
        );
        RegionNetwork { provider: key.clone(), vpc, transit_gateway: tgw, attachment }
    };
    let p = regional(stack, primary);
    let q = regional(stack, secondary);

    let (p_scope, p_key, p_cfg) = primary;
    let (q_scope, q_key, q_cfg) = secondary;
    let q_region = stack.providers().get(q_key).map(|c| c.region.clone()).unwrap_or_default();
    let peering = stack.scope(p_scope).with_provider(p_key).add(
        "network.tgw-peering",
        TransitGatewayPeeringAttachment {
            transit_gateway_id: p.transit_gateway.id().into(),
            peer_transit_gateway_id: q.transit_gateway.id().into(),
            peer_region: q_region,
            peer_account_id: q.transit_gateway.owner_id().into(),
            tags: p_cfg.tags.clone(),
        },
    );
    let accepter = stack.scope(q_scope).with_provider(q_key).add(
        "network.tgw-peering-accepter",
        TransitGatewayPeeringAttachmentAccepter { transit_gateway_attachment_id: peering.id().into() },
    );

    // Routes: each transit gateway sends the other region's block over the
    // peering; each application tier sends it to its transit gateway.
    for (scope, key, here, there_cidr) in
        [(p_scope, p_key, &p, q_cfg.cidr_block.clone()), (q_scope, q_key, &q, p_cfg.cidr_block.clone())]
    {
        let mut s = stack.scope(scope).with_provider(key);
        s.add_with(
            "network.tgw-route-peer",
            TransitGatewayRoute {
                destination_cidr_block: there_cidr.clone(),
                transit_gateway_route_table_id: here
                    .transit_gateway
                    .association_default_route_table_id()
                    .into(),
                transit_gateway_attachment_id: Some(peering.id().into()),
                blackhole: false,
            },
            Options::new().depends_on(&accepter),
        );
        for (i, rt) in here.vpc.app_route_tables.iter().enumerate() {
            s.add_with(
                &format!("network.app-peer-route-{}", ["a", "b", "c"].get(i).copied().unwrap_or("x")),
                Route {
                    route_table_id: rt.id().into(),
                    destination_cidr_block: there_cidr.clone(),
                    gateway_id: None,
                    nat_gateway_id: None,
                    transit_gateway_id: Some(here.transit_gateway.id().into()),
                    vpc_peering_connection_id: None,
                },
                Options::new().depends_on(&here.attachment),
            );
        }
    }
    TwoRegionNetwork { primary: p, secondary: q, peering, accepter }
}
