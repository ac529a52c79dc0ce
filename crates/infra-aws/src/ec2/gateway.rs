use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{AllocationId, Arn, InternetGatewayId, NatGatewayId, SubnetId, VpcId};

/// An internet gateway (`aws_internet_gateway`), attached to a VPC.
///
/// Outputs: `igw.id()` (`InternetGatewayId`) and `igw.arn()` (`Arn`).
///
/// Public [`NatGateway`]s in its VPC need it attached first; infra adds
/// that dependency itself when both are in the stack.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{InternetGateway, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let igw = stack.add("igw", InternetGateway {
///     vpc_id: Some(vpc.id().into()),
///     ..Default::default()
/// });
/// stack.export("igw_id", igw.id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:InternetGateway",
    outputs(id: InternetGatewayId, arn: Arn),
    readiness = "on_id",
    validate = validate_internet_gateway,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique
)]
pub struct InternetGateway {
    /// The VPC it is attached to (attached and detached in place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<VpcId>>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An Elastic IP address (`aws_eip`) for use in a VPC.
///
/// Outputs: `eip.id()` (`AllocationId`, e.g. for a NAT gateway's
/// `allocation_id`) and `eip.public_ip()` (`String`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::ElasticIp;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let eip = stack.add("nat-eip-a", ElasticIp {
///     tags: [("Name".to_owned(), "nat-a".to_owned())].into(),
///     ..Default::default()
/// });
/// stack.export("nat_public_ip", eip.public_ip());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:ElasticIp",
    outputs(id: AllocationId, public_ip: String),
    readiness = "on_id",
    validate = validate_elastic_ip
)]
pub struct ElasticIp {
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A NAT gateway (`aws_nat_gateway`). Takes minutes to become available,
/// and a minute or so to delete (the delete waits until it is gone, since
/// its Elastic IP and subnet cannot go before).
///
/// A replacement creates the new gateway before deleting the old one, and
/// an Elastic IP backs one NAT gateway at a time: a change of `subnet_id`
/// needs a new `allocation_id` too (or `Options::delete_before_create`).
///
/// Outputs: `nat.id()` (`NatGatewayId`), `nat.public_ip()` and
/// `nat.private_ip()` (`String`).
///
/// A public NAT gateway needs its VPC's [`InternetGateway`] attached
/// first; infra adds that dependency itself when both are in the stack.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{ElasticIp, InternetGateway, NatGateway, Subnet, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// stack.add("igw", InternetGateway { vpc_id: Some(vpc.id().into()), ..Default::default() });
/// let public = stack.add("public-a", Subnet {
///     vpc_id: vpc.id().into(),
///     cidr_block: "10.1.1.0/24".into(),
///     availability_zone: "us-east-1a".into(),
///     map_public_ip_on_launch: true,
///     ..Default::default()
/// });
/// let eip = stack.add("nat-eip-a", ElasticIp::default());
/// let nat = stack.add("nat-a", NatGateway {
///     subnet_id: public.id().into(),
///     allocation_id: Some(eip.id().into()),
///     ..Default::default()
/// });
/// stack.export("nat_public_ip", nat.public_ip());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:NatGateway",
    outputs(id: NatGatewayId, public_ip: String, private_ip: String),
    readiness = "on_available",
    validate = validate_nat_gateway,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    needs = after_internet_gateway
)]
pub struct NatGateway {
    /// The (public) subnet it lives in.
    #[resource(force_new)]
    pub subnet_id: Input<SubnetId>,
    /// The Elastic IP of a public NAT gateway.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<Input<AllocationId>>,
    /// `public` (default) or `private`. `public` is recorded as unset, the
    /// way a refresh reports the default, so either spelling converges.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "is_public")]
    pub connectivity_type: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// True for the default connectivity type (unset or `public`).
fn is_public(c: &Option<String>) -> bool {
    c.as_deref().is_none_or(|c| c == "public")
}

/// A public NAT gateway works only once its VPC's internet gateway is
/// attached (AWS fails it otherwise): it waits for the internet gateway
/// declared on its subnet's VPC.
fn after_internet_gateway(
    nat: &infra_core::ResourceDecl,
    other: &infra_core::ResourceDecl,
    stack: &infra_core::Stack,
) -> bool {
    use infra_core::Value;
    let public = nat.inputs.get("connectivity_type").and_then(Value::as_str).is_none_or(|c| c == "public");
    if !public || other.schema.type_name != "aws:ec2:InternetGateway" {
        return false;
    }
    let vpc_of_subnet = match nat.inputs.get("subnet_id") {
        Some(Value::Ref(r)) => {
            stack.resource(&r.address).and_then(|subnet| match subnet.inputs.get("vpc_id") {
                Some(Value::Ref(v)) => Some(v.address.clone()),
                _ => None,
            })
        }
        _ => None,
    };
    let igw_vpc = match other.inputs.get("vpc_id") {
        Some(Value::Ref(v)) => Some(v.address.clone()),
        _ => None,
    };
    vpc_of_subnet.is_some() && vpc_of_subnet == igw_vpc
}

fn validate_internet_gateway(g: &InternetGateway, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
}

fn validate_elastic_ip(e: &ElasticIp, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &e.tags);
}

fn validate_nat_gateway(n: &NatGateway, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &n.tags);
    match n.connectivity_type.as_deref() {
        None | Some("public") => {}
        Some("private") => {
            if n.allocation_id.is_some() {
                ctx.error("allocation_id", "a private NAT gateway has no Elastic IP");
            }
        }
        Some(other) => {
            ctx.error("connectivity_type", format!("{other:?} must be \"public\" or \"private\""));
        }
    }
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_ec2::types::{ConnectivityType, DomainType, ResourceType};
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::*;
    use crate::ec2::sdk::{describe, lookup_filters, tag_map, tags_spec};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, settle, user_tags};

    // ---------------------------------------------------------------- IGW

    /// `aws:ec2:InternetGateway` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct InternetGatewayKind;

    async fn attach(cx: &Ctx, id: &str, vpc: &str, op: Operation) -> Result<(), ProviderError> {
        let call = cx.ec2().attach_internet_gateway().internet_gateway_id(id).vpc_id(vpc);
        settle(|| cx.send("AttachInternetGateway", op, || call.clone().send())).await.map(|_| ())
    }

    async fn detach(cx: &Ctx, id: &str, vpc: &str, op: Operation) -> Result<(), ProviderError> {
        // `DependencyViolation` (public addresses still mapped in the VPC)
        // is retried by the executor.
        let call = cx.ec2().detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc);
        cx.send("DetachInternetGateway", op, || call.clone().send()).await.map(|_| ())
    }

    /// The VPCs the gateway is attached (or attaching) to now. AWS reports
    /// an attached internet gateway's attachment as `available`.
    async fn attached(cx: &Ctx, id: &str, op: Operation) -> Result<Vec<String>, ProviderError> {
        let call = cx.ec2().describe_internet_gateways().internet_gateway_ids(id);
        let out = cx.send("DescribeInternetGateways", op, || call.clone().send()).await?;
        Ok(out.internet_gateways().first().map(vpcs_of).unwrap_or_default())
    }

    fn vpcs_of(igw: &aws_sdk_ec2::types::InternetGateway) -> Vec<String> {
        igw.attachments()
            .iter()
            .filter(|a| {
                a.state().is_none_or(|s| matches!(s.as_str(), "available" | "attached" | "attaching"))
            })
            .filter_map(|a| a.vpc_id().map(str::to_owned))
            .collect()
    }

    #[async_trait]
    impl Kind for InternetGatewayKind {
        type Decl = InternetGateway;
        type Out = InternetGatewayOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(2, 3, 4, 2, 300);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, InternetGateway>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "internet-gateway-id", |_| None) else {
                return Ok(Vec::new());
            };
            let igws = describe!(cx, describe_internet_gateways, set_filters(filters) => internet_gateways, "DescribeInternetGateways")?;
            igws.iter()
                .map(|igw| {
                    let id =
                        igw.internet_gateway_id().ok_or_else(|| missing("internet gateway ID"))?.to_owned();
                    let tags = tag_map(igw.tags());
                    let decl = InternetGateway {
                        vpc_id: vpcs_of(igw).into_iter().next().map(|v| Input::Value(VpcId::unchecked(v))),
                        tags: user_tags(&tags),
                    };
                    let owner = igw.owner_id().unwrap_or_default();
                    let out = InternetGatewayOut {
                        id: InternetGatewayId::unchecked(&id),
                        arn: Arn::unchecked(cx.arn("ec2", owner, &format!("internet-gateway/{id}"))),
                    };
                    Ok(Seen::ready(id, decl, out, tags))
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &InternetGateway,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            // CreateInternetGateway takes no ClientToken: a lost create is
            // found by its token tag.
            let call = cx
                .ec2()
                .create_internet_gateway()
                .tag_specifications(tags_spec(ResourceType::InternetGateway, tags));
            let out = cx.send("CreateInternetGateway", Operation::Create, || call.clone().send()).await?;
            let id = out
                .internet_gateway
                .and_then(|g| g.internet_gateway_id)
                .ok_or_else(|| missing("internet gateway ID"))?;
            if let Some(vpc) = &d.vpc_id {
                attach(cx, &id, vpc.id(), Operation::Create).await?;
            }
            Ok(id)
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, InternetGateway>,
        ) -> Result<(), ProviderError> {
            let after = change.after;
            // Only `vpc_id` is updatable. From what is attached now, not what
            // was recorded, so a half-done earlier update converges.
            let wanted = after.vpc_id.as_ref().map(|v| v.id().to_owned());
            let current = attached(cx, id, Operation::Update).await?;
            for vpc in current.iter().filter(|v| Some(*v) != wanted.as_ref()) {
                detach(cx, id, vpc, Operation::Update).await?;
            }
            if let Some(vpc) = wanted.filter(|w| !current.contains(w)) {
                attach(cx, id, &vpc, Operation::Update).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &InternetGateway) -> Result<(), ProviderError> {
            // Detach first: an attached gateway cannot be deleted.
            for vpc in attached(cx, id, Operation::Delete).await? {
                detach(cx, id, &vpc, Operation::Delete).await?;
            }
            let call = cx.ec2().delete_internet_gateway().internet_gateway_id(id);
            cx.send("DeleteInternetGateway", Operation::Delete, || call.clone().send()).await.map(|_| ())
        }
    }

    // ---------------------------------------------------------------- EIP

    /// `aws:ec2:ElasticIp` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct ElasticIpKind;

    #[async_trait]
    impl Kind for ElasticIpKind {
        type Decl = ElasticIp;
        type Out = ElasticIpOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(1, 1, 2, 2, 300);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, ElasticIp>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "allocation-id", |_| None) else { return Ok(Vec::new()) };
            // DescribeAddresses has no pagination.
            let call = cx.ec2().describe_addresses().set_filters(Some(filters));
            let out = cx.send("DescribeAddresses", Operation::Read, || call.clone().send()).await?;
            out.addresses()
                .iter()
                .map(|a| {
                    let id = a.allocation_id().ok_or_else(|| missing("allocation ID"))?.to_owned();
                    let tags = tag_map(a.tags());
                    let out = ElasticIpOut {
                        id: AllocationId::unchecked(&id),
                        public_ip: a.public_ip().unwrap_or_default().to_owned(),
                    };
                    Ok(Seen::ready(id, ElasticIp { tags: user_tags(&tags) }, out, tags))
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            _: &ElasticIp,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            // AllocateAddress takes no ClientToken: found by its token tag.
            let call = cx
                .ec2()
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(tags_spec(ResourceType::ElasticIp, tags));
            let out = cx.send("AllocateAddress", Operation::Create, || call.clone().send()).await?;
            out.allocation_id.ok_or_else(|| missing("allocation ID"))
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &ElasticIp) -> Result<(), ProviderError> {
            cx.send("ReleaseAddress", Operation::Delete, || {
                cx.ec2().release_address().allocation_id(id).send()
            })
            .await
            .map(|_| ())
        }
    }

    // ---------------------------------------------------------------- NAT

    /// `aws:ec2:NatGateway` through the EC2 API. Its delete returns at
    /// once; the engine waits until it is gone (its Elastic IP and subnet,
    /// and the internet gateway's detachment, cannot go before).
    #[derive(Debug)]
    pub(crate) struct NatGatewayKind;

    #[async_trait]
    impl Kind for NatGatewayKind {
        type Decl = NatGateway;
        type Out = NatGatewayOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(120, 2, 60, 15, 600);
        const DELETE_WAITS: bool = true;

        fn category(op: Operation) -> Option<&'static str> {
            match op {
                Operation::Create => Some("CreateNatGateway"),
                Operation::Delete => Some("DeleteNatGateway"),
                _ => None,
            }
        }

        async fn list(&self, cx: &Ctx, by: Lookup<'_, NatGateway>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "nat-gateway-id", |_| None) else {
                return Ok(Vec::new());
            };
            let nats = describe!(cx, describe_nat_gateways, set_filter(filters) => nat_gateways, "DescribeNatGateways")?;
            nats.iter()
                .map(|nat| {
                    let id = nat.nat_gateway_id().ok_or_else(|| missing("NAT gateway ID"))?.to_owned();
                    let addrs = nat.nat_gateway_addresses();
                    let addr = addrs.iter().find(|a| a.is_primary() == Some(true)).or_else(|| addrs.first());
                    let tags = tag_map(nat.tags());
                    let decl = NatGateway {
                        subnet_id: Input::Value(SubnetId::unchecked(nat.subnet_id().unwrap_or_default())),
                        allocation_id: addr
                            .and_then(|a| a.allocation_id())
                            .map(|a| Input::Value(AllocationId::unchecked(a))),
                        // `public` is the default, recorded as unset.
                        connectivity_type: nat
                            .connectivity_type()
                            .map(|c| c.as_str().to_owned())
                            .filter(|c| c != "public"),
                        tags: user_tags(&tags),
                    };
                    let out = NatGatewayOut {
                        id: NatGatewayId::unchecked(&id),
                        public_ip: addr.and_then(|a| a.public_ip()).unwrap_or_default().to_owned(),
                        private_ip: addr.and_then(|a| a.private_ip()).unwrap_or_default().to_owned(),
                    };
                    let status = match nat.state().map_or("pending", |s| s.as_str()) {
                        "available" => Status::Ready,
                        "failed" => Status::Failed(format!(
                            "NAT gateway {id} failed: {}: {}",
                            nat.failure_code().unwrap_or("Failed"),
                            nat.failure_message().unwrap_or("no message")
                        )),
                        "deleting" => Status::Deleting("deleting".into()),
                        "deleted" => Status::Gone,
                        s => Status::Pending(s.to_owned()),
                    };
                    Ok(Seen { id, decl, out, tags, status })
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &NatGateway,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let mut call = cx
                .ec2()
                .create_nat_gateway()
                .subnet_id(d.subnet_id.id())
                .client_token(token)
                .tag_specifications(tags_spec(ResourceType::Natgateway, tags));
            if let Some(a) = &d.allocation_id {
                call = call.allocation_id(a.id());
            }
            if let Some(c) = &d.connectivity_type {
                call = call.connectivity_type(ConnectivityType::from(c.as_str()));
            }
            let out = cx.send("CreateNatGateway", Operation::Create, || call.clone().send()).await?;
            out.nat_gateway.and_then(|n| n.nat_gateway_id).ok_or_else(|| missing("NAT gateway ID"))
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &NatGateway) -> Result<(), ProviderError> {
            cx.send("DeleteNatGateway", Operation::Delete, || {
                cx.ec2().delete_nat_gateway().nat_gateway_id(id).send()
            })
            .await
            .map(|_| ())
        }
    }
}
