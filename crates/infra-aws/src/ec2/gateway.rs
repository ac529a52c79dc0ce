use std::collections::BTreeMap;

use infra_core::Input;
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{AllocationId, Arn, InternetGatewayId, NatGatewayId, SubnetId, VpcId};

/// An internet gateway (`aws_internet_gateway`), attached to a VPC.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:InternetGateway", outputs(id: InternetGatewayId, arn: Arn), readiness = "on_id")]
pub struct InternetGateway {
    /// The VPC it is attached to (attached and detached in place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<VpcId>>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An Elastic IP address (`aws_eip`) for use in a VPC.
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(type = "aws:ec2:ElasticIp", outputs(id: AllocationId, public_ip: String), readiness = "on_id")]
pub struct ElasticIp {
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A NAT gateway (`aws_nat_gateway`). Takes minutes to become available.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:NatGateway",
    outputs(id: NatGatewayId, public_ip: String, private_ip: String),
    readiness = "on_available"
)]
pub struct NatGateway {
    /// The (public) subnet it lives in.
    #[resource(force_new)]
    pub subnet_id: Input<SubnetId>,
    /// The Elastic IP of a public NAT gateway.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<Input<AllocationId>>,
    /// `public` (default) or `private`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectivity_type: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}
