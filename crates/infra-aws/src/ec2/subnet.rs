use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, SubnetId, VpcId};

/// A subnet (`aws_subnet`) in one availability zone.
///
/// Outputs: `subnet.id()` (`SubnetId`), `subnet.arn()` (`Arn`) and
/// `subnet.availability_zone_id()` (`String`, e.g. `use1-az1`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{Subnet, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let subnet = stack.add("public-a", Subnet {
///     vpc_id: vpc.id().into(),
///     cidr_block: "10.1.1.0/24".into(), // inside the VPC's block
///     availability_zone: "us-east-1a".into(), // in the provider's region
///     map_public_ip_on_launch: true,
///     ..Default::default()
/// });
/// stack.export("subnet_id", subnet.id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:Subnet",
    outputs(id: SubnetId, arn: Arn, availability_zone_id: String),
    readiness = "on_id",
    validate = validate_subnet,
    validate_stack = subnet_in_its_vpc,
    validate_type = subnets_apart
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
    crate::rules::common(ctx, &s.tags);
    if let Some(c) = super::check_cidr(ctx, "cidr_block", &s.cidr_block) {
        crate::rules::cidr_prefix(ctx, "cidr_block", "subnet", &c);
    }
    super::check_az(ctx, "availability_zone", &s.availability_zone);
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{Subnet, SubnetOut};
    use crate::ec2::sdk::{describe, lookup_filters, tag_map, tags_spec};
    use crate::ids::{Arn, SubnetId, VpcId};
    use crate::kit::{Change, Created, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:ec2:Subnet` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct SubnetKind;

    async fn set_map_public_ip(cx: &Ctx, id: &str, on: bool, op: Operation) -> Result<(), ProviderError> {
        let v = AttributeBooleanValue::builder().value(on).build();
        let call = cx.ec2().modify_subnet_attribute().subnet_id(id).map_public_ip_on_launch(v);
        settle(|| cx.send("ModifySubnetAttribute", op, || call.clone().send())).await.map(|_| ())
    }

    #[async_trait]
    impl Kind for SubnetKind {
        type Decl = Subnet;
        type Out = SubnetOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(2, 2, 3, 2, 300);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Subnet>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "subnet-id", |_| None) else { return Ok(Vec::new()) };
            let subnets =
                describe!(cx, describe_subnets, set_filters(filters) => subnets, "DescribeSubnets")?;
            subnets
                .iter()
                .map(|s| {
                    let id = s.subnet_id().ok_or_else(|| missing("subnet ID"))?.to_owned();
                    let tags = tag_map(s.tags());
                    let decl = Subnet {
                        vpc_id: Input::Value(VpcId::unchecked(s.vpc_id().unwrap_or_default())),
                        cidr_block: s.cidr_block().unwrap_or_default().to_owned(),
                        availability_zone: s.availability_zone().unwrap_or_default().to_owned(),
                        map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
                        tags: user_tags(&tags),
                    };
                    let arn = cx.arn("ec2", s.owner_id().unwrap_or_default(), &format!("subnet/{id}"));
                    let out = SubnetOut {
                        id: SubnetId::unchecked(&id),
                        arn: Arn::unchecked(arn),
                        availability_zone_id: s.availability_zone_id().unwrap_or_default().to_owned(),
                    };
                    Ok(Seen::ready(id, decl, out, tags))
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &Subnet,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        /// One call (two with `map_public_ip_on_launch`): the create's
        /// answer has the subnet's outputs, so nothing is read back.
        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &Subnet,
            tags: &Tags,
            _: &str,
        ) -> Result<Created<Self>, ProviderError> {
            // CreateSubnet takes no ClientToken: a lost create is found by
            // its token tag.
            let call = cx
                .ec2()
                .create_subnet()
                .vpc_id(d.vpc_id.id())
                .cidr_block(&d.cidr_block)
                .availability_zone(&d.availability_zone)
                .tag_specifications(tags_spec(ResourceType::Subnet, tags));
            let out = cx.send("CreateSubnet", Operation::Create, || call.clone().send()).await?;
            let subnet = out.subnet.ok_or_else(|| missing("subnet"))?;
            let id = subnet.subnet_id().ok_or_else(|| missing("subnet ID"))?.to_owned();
            if d.map_public_ip_on_launch {
                set_map_public_ip(cx, &id, true, Operation::Create).await?;
            }
            let (Some(arn), Some(zone_id)) = (subnet.subnet_arn(), subnet.availability_zone_id()) else {
                return Ok(Created::Id(id));
            };
            let out = SubnetOut {
                id: SubnetId::unchecked(&id),
                arn: Arn::unchecked(arn),
                availability_zone_id: zone_id.to_owned(),
            };
            let decl = Subnet { tags: user_tags(tags), ..d.clone() };
            Ok(Created::Seen(Seen::ready(id, decl, out, tags.clone())))
        }

        async fn update(&self, cx: &Ctx, id: &str, change: Change<'_, Subnet>) -> Result<(), ProviderError> {
            let after = change.after;
            // Only `map_public_ip_on_launch` is updatable.
            set_map_public_ip(cx, id, after.map_public_ip_on_launch, Operation::Update).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &Subnet) -> Result<(), ProviderError> {
            // A `DependencyViolation` (an ENI of a NAT gateway or load
            // balancer still being released) is retried by the executor.
            cx.send("DeleteSubnet", Operation::Delete, || cx.ec2().delete_subnet().subnet_id(id).send())
                .await
                .map(|_| ())
        }
    }
}

/// A subnet's block must lie inside its VPC's blocks and must not overlap
/// another subnet of the same VPC (when the VPC is declared in the stack).
fn subnet_in_its_vpc(
    decl: &infra_core::ResourceDecl,
    stack: &infra_core::Stack,
) -> Vec<infra_core::Diagnostic> {
    use infra_core::{Diagnostic, Resource, Value};

    use crate::net::Ipv4Cidr;

    let cidr_of = |d: &infra_core::ResourceDecl| -> Option<Ipv4Cidr> {
        d.inputs.get("cidr_block").and_then(Value::as_str).and_then(|c| c.parse().ok())
    };
    let vpc_of = |d: &infra_core::ResourceDecl| match d.inputs.get("vpc_id") {
        Some(Value::Ref(r)) => Some(r.address.clone()),
        _ => None,
    };
    let mut out = crate::rules::relations(decl, stack);
    let (Some(cidr), Some(vpc_address)) = (cidr_of(decl), vpc_of(decl)) else {
        return out;
    };
    let Some(vpc) =
        stack.resource(&vpc_address).filter(|v| v.schema.type_name == crate::ec2::Vpc::SCHEMA.type_name)
    else {
        return out;
    };
    let mut blocks: Vec<Ipv4Cidr> = Vec::new();
    blocks.extend(
        vpc.inputs.get("cidr_block").and_then(Value::as_str).and_then(|c| c.parse::<Ipv4Cidr>().ok()),
    );
    if let Some(Value::List(extra)) = vpc.inputs.get("secondary_cidr_blocks") {
        blocks.extend(extra.iter().filter_map(Value::as_str).filter_map(|c| c.parse::<Ipv4Cidr>().ok()));
    }
    if !blocks.is_empty() && !blocks.iter().any(|b| b.contains(&cidr)) {
        let listed: Vec<String> = blocks.iter().map(ToString::to_string).collect();
        out.push(Diagnostic::field(
            decl.address.clone(),
            "cidr_block",
            format!("{cidr} is outside the blocks of its VPC {vpc_address} ({})", listed.join(", ")),
        ));
    }
    out
}

/// Subnets of one VPC do not overlap: one pass over the subnets sorted by
/// block, each overlap reported once, on the later declared of the two.
fn subnets_apart(decls: &[&infra_core::ResourceDecl], _: &infra_core::Stack) -> Vec<infra_core::Diagnostic> {
    use infra_core::{Diagnostic, Value};

    use crate::net::Ipv4Cidr;

    let mut by_vpc: std::collections::BTreeMap<&infra_core::Address, Vec<(Ipv4Cidr, usize)>> =
        std::collections::BTreeMap::new();
    for (i, d) in decls.iter().enumerate() {
        let cidr =
            d.inputs.get("cidr_block").and_then(Value::as_str).and_then(|c| c.parse::<Ipv4Cidr>().ok());
        if let (Some(Value::Ref(r)), Some(cidr)) = (d.inputs.get("vpc_id"), cidr) {
            by_vpc.entry(&r.address).or_default().push((cidr, i));
        }
    }
    let mut out = Vec::new();
    for subnets in by_vpc.values_mut() {
        subnets.sort_by_key(|(c, i)| (c.first(), std::cmp::Reverse(c.prefix()), *i));
        // The block reaching furthest so far, and who declared it.
        let mut widest: Option<(Ipv4Cidr, usize)> = None;
        for &(cidr, i) in subnets.iter() {
            if let Some((w, j)) = widest
                && w.overlaps(&cidr)
            {
                let (later, earlier) = if i > j { (i, j) } else { (j, i) };
                let later_cidr = if i > j { cidr } else { w };
                out.push(Diagnostic::field(
                    decls[later].address.clone(),
                    "cidr_block",
                    format!("{later_cidr} overlaps subnet {} of the same VPC", decls[earlier].address),
                ));
            }
            if widest.is_none_or(|(w, _)| cidr.last() > w.last()) {
                widest = Some((cidr, i));
            }
        }
    }
    out
}
