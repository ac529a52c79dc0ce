use std::collections::BTreeMap;

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{AccountId, Arn, RouteTableId, SecurityGroupId, VpcId};

/// A VPC (`aws_vpc`), with optional secondary IPv4 CIDR blocks.
///
/// Outputs: `vpc.id()` (`VpcId`), `vpc.arn()` (`Arn`),
/// `vpc.default_security_group_id()` (`SecurityGroupId`),
/// `vpc.main_route_table_id()` (`RouteTableId`) and `vpc.owner_id()`
/// (`AccountId`, e.g. for a peering's `peer_owner_id`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::Vpc;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc {
///     cidr_block: "10.1.0.0/16".into(),
///     secondary_cidr_blocks: vec!["10.2.0.0/16".into()],
///     enable_dns_support: true,
///     enable_dns_hostnames: true,
///     ..Default::default()
/// });
/// stack.export("vpc_id", vpc.id());
/// assert!(stack.validate().is_ok());
/// ```
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
    crate::rules::common(ctx, &vpc.tags);
    let primary = super::check_cidr(ctx, "cidr_block", &vpc.cidr_block);
    if let Some(p) = &primary {
        crate::rules::cidr_prefix(ctx, "cidr_block", "VPC", p);
    }
    let mut seen = Vec::new();
    for (i, c) in vpc.secondary_cidr_blocks.iter().enumerate() {
        let field = format!("secondary_cidr_blocks[{i}]");
        if let Some(s) = super::check_cidr(ctx, &field, c) {
            crate::rules::cidr_prefix(ctx, &field, "VPC", &s);
            if primary.is_some_and(|p| p.overlaps(&s))
                || seen.iter().any(|x: &crate::net::Ipv4Cidr| x.overlaps(&s))
            {
                ctx.error(&field, format!("{s} overlaps another block of the VPC"));
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

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tenancy, VpcAttributeName};
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{Vpc, VpcOut};
    use crate::ec2::sdk::{describe, filter, lookup_filters, tag_map, tags_spec};
    use crate::ids::{AccountId, Arn, RouteTableId, SecurityGroupId, VpcId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, settle, user_tags};

    /// `aws:ec2:Vpc` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct VpcKind;

    async fn set_attribute(cx: &Ctx, id: &str, name: &str, on: bool) -> Result<(), ProviderError> {
        let v = AttributeBooleanValue::builder().value(on).build();
        let call = cx.ec2().modify_vpc_attribute().vpc_id(id);
        let call = if name == "enable_dns_support" {
            call.enable_dns_support(v)
        } else {
            call.enable_dns_hostnames(v)
        };
        settle(|| cx.send("ModifyVpcAttribute", Operation::Update, || call.clone().send())).await.map(|_| ())
    }

    async fn attribute(cx: &Ctx, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
        let call = cx.ec2().describe_vpc_attribute().vpc_id(id).attribute(name.clone());
        let out = cx.send("DescribeVpcAttribute", Operation::Read, || call.clone().send()).await?;
        let v = if name == VpcAttributeName::EnableDnsSupport {
            out.enable_dns_support
        } else {
            out.enable_dns_hostnames
        };
        Ok(v.and_then(|a| a.value).unwrap_or(false))
    }

    /// The VPC's secondary blocks that are associated: block → association ID.
    fn secondary(vpc: &aws_sdk_ec2::types::Vpc) -> BTreeMap<String, String> {
        let primary = vpc.cidr_block().unwrap_or_default();
        vpc.cidr_block_association_set()
            .iter()
            .filter(|a| {
                a.cidr_block_state().and_then(|s| s.state()).is_some_and(|s| s.as_str() == "associated")
            })
            .filter_map(|a| Some((a.cidr_block()?.to_owned(), a.association_id()?.to_owned())))
            .filter(|(c, _)| c != primary)
            .collect()
    }

    /// One batched describe of the default security group or main route
    /// table of `vpcs`: VPC ID → the object's ID.
    async fn per_vpc(cx: &Ctx, vpcs: &[String], sg: bool) -> Result<BTreeMap<String, String>, ProviderError> {
        if vpcs.is_empty() {
            return Ok(BTreeMap::new());
        }
        let vpc_filter = filter("vpc-id", vpcs.iter().cloned());
        Ok(if sg {
            let call = cx
                .ec2()
                .describe_security_groups()
                .filters(vpc_filter)
                .filters(filter("group-name", ["default".into()]));
            let out = cx.send("DescribeSecurityGroups", Operation::Read, || call.clone().send()).await?;
            out.security_groups()
                .iter()
                .filter_map(|g| Some((g.vpc_id()?.to_owned(), g.group_id()?.to_owned())))
                .collect()
        } else {
            let call = cx
                .ec2()
                .describe_route_tables()
                .filters(vpc_filter)
                .filters(filter("association.main", ["true".into()]));
            let out = cx.send("DescribeRouteTables", Operation::Read, || call.clone().send()).await?;
            out.route_tables()
                .iter()
                .filter_map(|r| Some((r.vpc_id()?.to_owned(), r.route_table_id()?.to_owned())))
                .collect()
        })
    }

    async fn sync_secondary(
        cx: &Ctx,
        id: &str,
        have: &BTreeMap<String, String>,
        wanted: &[String],
    ) -> Result<(), ProviderError> {
        let ec2 = cx.ec2();
        for (cidr, assoc) in have.iter().filter(|(c, _)| !wanted.contains(c)) {
            let _ = cidr;
            cx.send("DisassociateVpcCidrBlock", Operation::Update, || {
                ec2.disassociate_vpc_cidr_block().association_id(assoc).send()
            })
            .await?;
        }
        for cidr in wanted.iter().filter(|c| !have.contains_key(*c)) {
            let call = ec2.associate_vpc_cidr_block().vpc_id(id).cidr_block(cidr);
            settle(|| cx.send("AssociateVpcCidrBlock", Operation::Update, || call.clone().send())).await?;
        }
        Ok(())
    }

    #[async_trait]
    impl Kind for VpcKind {
        type Decl = Vpc;
        type Out = VpcOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(3, 2, 3, 2, 300);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Vpc>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "vpc-id", |_| None) else { return Ok(Vec::new()) };
            let vpcs = describe!(cx, describe_vpcs, set_filters(filters) => vpcs, "DescribeVpcs")?;
            let ids: Vec<String> = vpcs.iter().filter_map(|v| v.vpc_id().map(str::to_owned)).collect();
            let default_sgs = per_vpc(cx, &ids, true).await?;
            let main_rts = per_vpc(cx, &ids, false).await?;
            let mut seen = Vec::new();
            for vpc in &vpcs {
                let id = vpc.vpc_id().ok_or_else(|| missing("VPC ID"))?.to_owned();
                let owner = vpc.owner_id().unwrap_or_default();
                let tags = tag_map(vpc.tags());
                let decl = Vpc {
                    cidr_block: vpc.cidr_block().unwrap_or_default().to_owned(),
                    secondary_cidr_blocks: secondary(vpc).into_keys().collect(),
                    enable_dns_support: attribute(cx, &id, VpcAttributeName::EnableDnsSupport).await?,
                    enable_dns_hostnames: attribute(cx, &id, VpcAttributeName::EnableDnsHostnames).await?,
                    instance_tenancy: vpc
                        .instance_tenancy()
                        .map(|t| t.as_str().to_owned())
                        .filter(|t| t != "default"),
                    tags: user_tags(&tags),
                };
                let out = VpcOut {
                    id: VpcId::unchecked(&id),
                    arn: Arn::unchecked(cx.arn("ec2", owner, &format!("vpc/{id}"))),
                    default_security_group_id: SecurityGroupId::unchecked(
                        default_sgs.get(&id).cloned().unwrap_or_default(),
                    ),
                    main_route_table_id: RouteTableId::unchecked(
                        main_rts.get(&id).cloned().unwrap_or_default(),
                    ),
                    owner_id: AccountId::unchecked(owner),
                };
                let status = match vpc.state().map(|s| s.as_str()) {
                    Some("available") | None => Status::Ready,
                    Some(s) => Status::Pending(s.to_owned()),
                };
                seen.push(Seen { id, decl, out, tags, status });
            }
            Ok(seen)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &Vpc,
            tags: &Tags,
            _token: &str,
        ) -> Result<String, ProviderError> {
            let mut call = cx
                .ec2()
                .create_vpc()
                .cidr_block(&d.cidr_block)
                .tag_specifications(tags_spec(ResourceType::Vpc, tags));
            if let Some(t) = &d.instance_tenancy {
                call = call.instance_tenancy(Tenancy::from(t.as_str()));
            }
            let out = cx.send("CreateVpc", Operation::Create, || call.clone().send()).await?;
            let id = out.vpc.and_then(|v| v.vpc_id).ok_or_else(|| missing("VPC ID"))?;
            // Follow-ups: DNS support is on by default, hostnames off.
            if !d.enable_dns_support {
                set_attribute(cx, &id, "enable_dns_support", false).await?;
            }
            if d.enable_dns_hostnames {
                set_attribute(cx, &id, "enable_dns_hostnames", true).await?;
            }
            if !d.secondary_cidr_blocks.is_empty() {
                sync_secondary(cx, &id, &BTreeMap::new(), &d.secondary_cidr_blocks).await?;
            }
            Ok(id)
        }

        async fn update(&self, cx: &Ctx, id: &str, change: Change<'_, Vpc>) -> Result<(), ProviderError> {
            let (after, changed) = (change.after, change.fields);
            for name in changed {
                match name.as_str() {
                    "enable_dns_support" => set_attribute(cx, id, name, after.enable_dns_support).await?,
                    "enable_dns_hostnames" => set_attribute(cx, id, name, after.enable_dns_hostnames).await?,
                    "secondary_cidr_blocks" => {
                        let call = cx.ec2().describe_vpcs().vpc_ids(id);
                        let out = cx.send("DescribeVpcs", Operation::Read, || call.clone().send()).await?;
                        let have = out.vpcs().first().map(secondary).unwrap_or_default();
                        sync_secondary(cx, id, &have, &after.secondary_cidr_blocks).await?;
                    }
                    _ => {}
                }
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _d: &Vpc) -> Result<(), ProviderError> {
            cx.send("DeleteVpc", Operation::Delete, || cx.ec2().delete_vpc().vpc_id(id).send())
                .await
                .map(|_| ())
        }
    }
}
