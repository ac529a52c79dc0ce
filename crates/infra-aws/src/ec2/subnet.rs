use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, SubnetId, VpcId};

/// A subnet (`aws_subnet`) in one availability zone.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:Subnet",
    outputs(id: SubnetId, arn: Arn, availability_zone_id: String),
    readiness = "on_id",
    validate = validate_subnet
)]
pub struct Subnet {
    /// The VPC.
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// The IPv4 CIDR block, inside the VPC's.
    #[resource(force_new)]
    pub cidr_block: String,
    /// The availability zone, in the provider's region (e.g. `us-east-1a`).
    #[resource(force_new)]
    pub availability_zone: String,
    /// Give instances launched here a public IPv4 address.
    pub map_public_ip_on_launch: bool,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_subnet(s: &Subnet, ctx: &mut ValidationContext<'_>) {
    super::check_cidr(ctx, "cidr_block", &s.cidr_block);
    super::check_az(ctx, "availability_zone", &s.availability_zone);
}
