use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, PrefixListId, SecurityGroupId, SecurityGroupRuleId, VpcId};

/// One inline ingress or egress rule of a [`SecurityGroup`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct SecurityGroupRuleSpec {
    /// `tcp`, `udp`, `icmp` or `-1` for all.
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cidr_blocks: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv6_cidr_blocks: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefix_list_ids: Vec<Input<PrefixListId>>,
    /// Source (ingress) or destination (egress) security groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<Input<SecurityGroupId>>,
    /// The group itself as source or destination.
    #[serde(rename = "self", skip_serializing_if = "std::ops::Not::not")]
    pub self_: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SecurityGroupRuleSpec {
    /// A TCP rule for one port from CIDR blocks.
    pub fn tcp_from_cidrs(port: i32, cidrs: &[&str]) -> Self {
        SecurityGroupRuleSpec {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            cidr_blocks: cidrs.iter().map(|c| (*c).to_owned()).collect(),
            ..Default::default()
        }
    }

    /// A TCP rule for one port from other security groups.
    pub fn tcp_from_groups(port: i32, groups: Vec<Input<SecurityGroupId>>) -> Self {
        SecurityGroupRuleSpec {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            security_groups: groups,
            ..Default::default()
        }
    }

    /// All traffic to anywhere (the usual egress rule).
    pub fn all_to_anywhere() -> Self {
        SecurityGroupRuleSpec {
            protocol: "-1".into(),
            from_port: 0,
            to_port: 0,
            cidr_blocks: vec!["0.0.0.0/0".into()],
            ..Default::default()
        }
    }
}

/// A security group (`aws_security_group`) with inline rules. Group names
/// are unique per VPC, so a replacement deletes the old group first.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:SecurityGroup",
    outputs(id: SecurityGroupId, arn: Arn),
    replace = "delete_before_create",
    readiness = "on_id",
    validate = validate_group
)]
pub struct SecurityGroup {
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub description: String,
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// Ingress rules (authorized and revoked in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<SecurityGroupRuleSpec>,
    /// Egress rules (authorized and revoked in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<SecurityGroupRuleSpec>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_group(g: &SecurityGroup, ctx: &mut ValidationContext<'_>) {
    if g.name.is_empty() || g.name.len() > 255 {
        ctx.error("name", "must be 1 to 255 characters");
    }
    if g.name.starts_with("sg-") {
        ctx.error("name", "may not start with \"sg-\"");
    }
    for (field, rules) in [("ingress", &g.ingress), ("egress", &g.egress)] {
        for r in rules {
            check_rule(ctx, field, &r.protocol, r.from_port, r.to_port, &r.cidr_blocks);
        }
    }
}

fn check_rule(
    ctx: &mut ValidationContext<'_>,
    field: &str,
    protocol: &str,
    from: i32,
    to: i32,
    cidrs: &[String],
) {
    if !matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6" | "-1" | "all")
        && protocol.parse::<u8>().is_err()
    {
        ctx.error(field, format!("protocol {protocol:?} is not tcp, udp, icmp, -1 or a protocol number"));
    }
    if protocol != "-1" && protocol != "icmp" && from > to {
        ctx.error(field, format!("from_port {from} is greater than to_port {to}"));
    }
    for c in cidrs {
        super::check_cidr(ctx, field, c);
    }
}

/// One standalone rule (`aws_vpc_security_group_ingress_rule` /
/// `_egress_rule`), for rules between groups that reference each other.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:SecurityGroupRule",
    outputs(id: SecurityGroupRuleId),
    readiness = "on_id",
    validate = validate_rule
)]
pub struct SecurityGroupRule {
    /// `ingress` or `egress`.
    #[resource(force_new)]
    #[serde(rename = "type")]
    pub direction: String,
    #[resource(force_new)]
    pub security_group_id: Input<SecurityGroupId>,
    #[resource(force_new)]
    pub protocol: String,
    #[resource(force_new)]
    pub from_port: i32,
    #[resource(force_new)]
    pub to_port: i32,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_ipv4: Option<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_ipv6: Option<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<Input<PrefixListId>>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referenced_security_group_id: Option<Input<SecurityGroupId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn validate_rule(r: &SecurityGroupRule, ctx: &mut ValidationContext<'_>) {
    if r.direction != "ingress" && r.direction != "egress" {
        ctx.error("type", format!("{:?} must be \"ingress\" or \"egress\"", r.direction));
    }
    let cidrs: Vec<String> = r.cidr_ipv4.iter().cloned().collect();
    check_rule(ctx, "cidr_ipv4", &r.protocol, r.from_port, r.to_port, &cidrs);
    let sources = [
        r.cidr_ipv4.is_some(),
        r.cidr_ipv6.is_some(),
        r.prefix_list_id.is_some(),
        r.referenced_security_group_id.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if sources != 1 {
        ctx.error(
            "cidr_ipv4",
            format!("a rule needs exactly one of cidr_ipv4, cidr_ipv6, prefix_list_id, referenced_security_group_id; {sources} given"),
        );
    }
}
