use std::collections::BTreeMap;

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{AccountId, Arn, RouteTableId, SecurityGroupId, VpcId};

/// A VPC (`aws_vpc`), with optional secondary IPv4 CIDR blocks.
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:Vpc",
    outputs(
        id: VpcId,
        arn: Arn,
        default_security_group_id: SecurityGroupId,
        main_route_table_id: RouteTableId,
        owner_id: AccountId,
    ),
    readiness = "on_id",
    validate = validate_vpc
)]
pub struct Vpc {
    /// The primary IPv4 CIDR block, e.g. `10.1.0.0/16`.
    #[resource(force_new)]
    pub cidr_block: String,
    /// Secondary IPv4 CIDR blocks (associated and disassociated in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secondary_cidr_blocks: Vec<String>,
    /// Resolve DNS through the Amazon-provided server.
    pub enable_dns_support: bool,
    /// Give instances public DNS hostnames.
    pub enable_dns_hostnames: bool,
    /// `default` or `dedicated`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_tenancy: Option<String>,
    /// Tags (the stack and address tags are added automatically).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_vpc(vpc: &Vpc, ctx: &mut ValidationContext<'_>) {
    let primary = super::check_cidr(ctx, "cidr_block", &vpc.cidr_block);
    if let Some(p) = primary
        && !(16..=28).contains(&p.prefix())
    {
        ctx.error("cidr_block", format!("{p}: a VPC block must be between /16 and /28"));
    }
    let mut seen = Vec::new();
    for c in &vpc.secondary_cidr_blocks {
        if let Some(s) = super::check_cidr(ctx, "secondary_cidr_blocks", c) {
            if primary.is_some_and(|p| p.overlaps(&s))
                || seen.iter().any(|x: &crate::net::Ipv4Cidr| x.overlaps(&s))
            {
                ctx.error("secondary_cidr_blocks", format!("{s} overlaps another block of the VPC"));
            }
            seen.push(s);
        }
    }
    if let Some(t) = &vpc.instance_tenancy
        && t != "default"
        && t != "dedicated"
    {
        ctx.error("instance_tenancy", format!("{t:?} must be \"default\" or \"dedicated\""));
    }
}
