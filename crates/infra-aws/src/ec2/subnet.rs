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
    validate = validate_subnet,
    validate_stack = subnet_in_its_vpc
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

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType};
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, FindRequest, Observed, Operation, ProviderError, ReadRequest,
        ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use crate::ec2::sdk::{filter, has_token, missing, settle, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{Ctx, bool_of, fields, opt_value, req_str, sdk_error, tags_value, user_tags};

    /// `aws:ec2:Subnet` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct SubnetProvider(pub(crate) Arc<Ctx>);

    impl SubnetProvider {
        /// Every subnet matching `filters` (one paginated DescribeSubnets),
        /// keeping only those created with `token` when one is given.
        async fn describe(
            &self,
            filters: Vec<Filter>,
            token: Option<&str>,
        ) -> Result<Vec<Observed>, ProviderError> {
            let ec2 = self.0.ec2();
            let mut pages = ec2.describe_subnets().set_filters(Some(filters)).into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeSubnets");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                for subnet in page.subnets() {
                    if token.is_some_and(|t| !has_token(subnet.tags(), t)) {
                        continue;
                    }
                    out.push(self.observe(subnet)?);
                }
            }
            Ok(out)
        }

        /// A described subnet as inputs (in the declaration's shape) and outputs.
        fn observe(&self, subnet: &aws_sdk_ec2::types::Subnet) -> Result<Observed, ProviderError> {
            let id = subnet.subnet_id().ok_or_else(|| missing("subnet ID"))?.to_owned();
            let inputs = fields([
                ("vpc_id", opt_value(subnet.vpc_id())),
                ("cidr_block", opt_value(subnet.cidr_block())),
                ("availability_zone", opt_value(subnet.availability_zone())),
                ("map_public_ip_on_launch", Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false))),
                ("tags", tags_value(tag_pairs(subnet.tags()))),
            ]);
            let arn = match subnet.subnet_arn() {
                Some(arn) => arn.to_owned(),
                None => format!(
                    "arn:aws:ec2:{}:{}:subnet/{id}",
                    self.0.region,
                    subnet.owner_id().unwrap_or_default()
                ),
            };
            let outputs = fields([
                ("id", Value::from(id.as_str())),
                ("arn", Value::from(arn)),
                ("availability_zone_id", opt_value(subnet.availability_zone_id())),
            ]);
            Ok(Observed { id, inputs, outputs })
        }

        /// The subnet `id`, retried for a moment after a create (eventual
        /// consistency).
        async fn one(&self, id: &str) -> Result<Observed, ProviderError> {
            settle(|| {
                let id = id.to_owned();
                async move {
                    self.describe(vec![filter("subnet-id", [id])], None)
                        .await?
                        .pop()
                        .ok_or_else(|| missing("subnet in DescribeSubnets"))
                }
            })
            .await
        }

        async fn set_map_public_ip(&self, id: &str, value: bool, op: Operation) -> Result<(), ProviderError> {
            let ec2 = self.0.ec2();
            settle(|| {
                self.0.stats.count("ModifySubnetAttribute");
                let call = ec2
                    .modify_subnet_attribute()
                    .subnet_id(id)
                    .map_public_ip_on_launch(AttributeBooleanValue::builder().value(value).build());
                async move { call.send().await.map(|_| ()).map_err(|e| sdk_error(e, op)) }
            })
            .await
        }
    }

    #[async_trait]
    impl ResourceProvider for SubnetProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(2),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(3),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.0.stats.count("CreateSubnet");
            // CreateSubnet takes no ClientToken: a lost create is found by
            // its `infra:token` tag instead.
            let out = self
                .0
                .ec2()
                .create_subnet()
                .vpc_id(req_str(f, "vpc_id")?)
                .cidr_block(req_str(f, "cidr_block")?)
                .availability_zone(req_str(f, "availability_zone")?)
                .tag_specifications(tag_spec(ResourceType::Subnet, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            let id = out.subnet().and_then(|s| s.subnet_id()).ok_or_else(|| missing("subnet ID"))?.to_owned();
            if bool_of(f, "map_public_ip_on_launch") {
                self.set_map_public_ip(&id, true, Operation::Create).await?;
            }
            self.one(&id).await
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("subnet-id", req.ids)], None).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            for name in &req.changed {
                match name.as_str() {
                    "map_public_ip_on_launch" => {
                        self.set_map_public_ip(&req.id, bool_of(f, name), Operation::Update).await?;
                    }
                    "tags" => sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(f)).await?,
                    _ => {}
                }
            }
            let observed = self.describe(vec![filter("subnet-id", [req.id.clone()])], None).await?;
            Ok(observed.into_iter().next().map(|o| o.outputs).unwrap_or_default())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            // A `DependencyViolation` (an ENI of a NAT gateway or load
            // balancer still being released) is retried by the executor.
            self.0.stats.count("DeleteSubnet");
            self.0
                .ec2()
                .delete_subnet()
                .subnet_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            Ok(())
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            // Usable as soon as it has an ID.
            Ok(Readiness::Ready { outputs: Fields::new() })
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.describe(vec![token_filter(&req.token)], Some(&req.token)).await?.into_iter().next())
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
    let mut out = Vec::new();
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
    // Report an overlap once, on the later of the two subnets.
    for other in stack.resources() {
        if other.address == decl.address {
            break;
        }
        if other.schema.type_name == decl.schema.type_name
            && vpc_of(other).as_ref() == Some(&vpc_address)
            && cidr_of(other).is_some_and(|c| c.overlaps(&cidr))
        {
            out.push(Diagnostic::field(
                decl.address.clone(),
                "cidr_block",
                format!("{cidr} overlaps subnet {} of the same VPC", other.address),
            ));
        }
    }
    out
}
