use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{
    InternetGatewayId, NatGatewayId, RouteTableAssociationId, RouteTableId, SubnetId, TransitGatewayId,
    VpcId, VpcPeeringConnectionId,
};

/// A route table (`aws_route_table`); routes are separate [`Route`]s.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:RouteTable", outputs(id: RouteTableId), readiness = "on_id")]
pub struct RouteTable {
    /// The VPC.
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One route (`aws_route`): a destination and exactly one target.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:Route", outputs(id: String), readiness = "on_id", validate = validate_route)]
pub struct Route {
    /// The route table.
    #[resource(force_new)]
    pub route_table_id: Input<RouteTableId>,
    /// The destination, e.g. `0.0.0.0/0`.
    #[resource(force_new)]
    pub destination_cidr_block: String,
    /// Target: an internet gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<Input<InternetGatewayId>>,
    /// Target: a NAT gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_gateway_id: Option<Input<NatGatewayId>>,
    /// Target: a transit gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transit_gateway_id: Option<Input<TransitGatewayId>>,
    /// Target: a VPC peering connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_peering_connection_id: Option<Input<VpcPeeringConnectionId>>,
}

fn validate_route(r: &Route, ctx: &mut ValidationContext<'_>) {
    super::check_cidr(ctx, "destination_cidr_block", &r.destination_cidr_block);
    let targets = [
        r.gateway_id.is_some(),
        r.nat_gateway_id.is_some(),
        r.transit_gateway_id.is_some(),
        r.vpc_peering_connection_id.is_some(),
    ]
    .iter()
    .filter(|t| **t)
    .count();
    if targets != 1 {
        ctx.error(
            "gateway_id",
            format!(
                "a route needs exactly one target (gateway_id, nat_gateway_id, transit_gateway_id or vpc_peering_connection_id); {targets} given"
            ),
        );
    }
}

/// Associates a subnet with a route table (`aws_route_table_association`).
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:RouteTableAssociation", outputs(id: RouteTableAssociationId), readiness = "on_id")]
pub struct RouteTableAssociation {
    /// The route table (changed in place with ReplaceRouteTableAssociation).
    pub route_table_id: Input<RouteTableId>,
    /// The subnet.
    #[resource(force_new)]
    pub subnet_id: Input<SubnetId>,
}
