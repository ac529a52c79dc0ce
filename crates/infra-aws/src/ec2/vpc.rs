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

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tenancy, VpcAttributeName};
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, FindRequest, Observed, Operation, ProviderError, ReadRequest,
        ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use crate::ec2::sdk::{filter, missing, settle, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{
        Ctx, bool_of, fields, list_value, opt_str, opt_value, req_str, sdk_error, str_list, tags_value,
        user_tags,
    };

    /// `aws:ec2:Vpc` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct VpcProvider(pub(crate) Arc<Ctx>);

    impl VpcProvider {
        async fn set_attribute(&self, id: &str, name: &str, value: bool) -> Result<(), ProviderError> {
            let ec2 = self.0.ec2();
            let v = AttributeBooleanValue::builder().value(value).build();
            settle(|| {
                self.0.stats.count("ModifyVpcAttribute");
                let mut call = ec2.modify_vpc_attribute().vpc_id(id);
                call = if name == "enable_dns_support" {
                    call.enable_dns_support(v.clone())
                } else {
                    call.enable_dns_hostnames(v.clone())
                };
                async move { call.send().await.map(|_| ()).map_err(|e| sdk_error(e, Operation::Update)) }
            })
            .await
        }

        async fn attribute(&self, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
            self.0.stats.count("DescribeVpcAttribute");
            let out = self
                .0
                .ec2()
                .describe_vpc_attribute()
                .vpc_id(id)
                .attribute(name.clone())
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Read))?;
            let v = if name == VpcAttributeName::EnableDnsSupport {
                out.enable_dns_support().and_then(|a| a.value())
            } else {
                out.enable_dns_hostnames().and_then(|a| a.value())
            };
            Ok(v.unwrap_or(false))
        }

        async fn describe(
            &self,
            filters: Vec<aws_sdk_ec2::types::Filter>,
        ) -> Result<Vec<Observed>, ProviderError> {
            let ec2 = self.0.ec2();
            let mut pages = ec2.describe_vpcs().set_filters(Some(filters)).into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeVpcs");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                for vpc in page.vpcs() {
                    let id = vpc.vpc_id().ok_or_else(|| missing("VPC ID"))?.to_owned();
                    let primary = vpc.cidr_block().unwrap_or_default().to_owned();
                    let secondary: Vec<String> = vpc
                        .cidr_block_association_set()
                        .iter()
                        .filter(|a| {
                            a.cidr_block_state()
                                .and_then(|s| s.state())
                                .is_some_and(|s| s.as_str() == "associated")
                        })
                        .filter_map(|a| a.cidr_block().map(str::to_owned))
                        .filter(|c| *c != primary)
                        .collect();
                    let dns_support = self.attribute(&id, VpcAttributeName::EnableDnsSupport).await?;
                    let dns_hostnames = self.attribute(&id, VpcAttributeName::EnableDnsHostnames).await?;
                    let tenancy =
                        vpc.instance_tenancy().map(|t| t.as_str().to_owned()).filter(|t| t != "default");
                    let inputs = fields([
                        ("cidr_block", Value::from(primary)),
                        ("secondary_cidr_blocks", list_value(secondary)),
                        ("enable_dns_support", Value::Bool(dns_support)),
                        ("enable_dns_hostnames", Value::Bool(dns_hostnames)),
                        ("instance_tenancy", opt_value(tenancy.as_deref())),
                        ("tags", tags_value(tag_pairs(vpc.tags()))),
                    ]);
                    let outputs = self.outputs(&id, vpc.owner_id().unwrap_or_default()).await?;
                    out.push(Observed { id, inputs, outputs });
                }
            }
            Ok(out)
        }

        async fn outputs(&self, id: &str, owner: &str) -> Result<Fields, ProviderError> {
            let ec2 = self.0.ec2();
            self.0.stats.count("DescribeSecurityGroups");
            let sgs = ec2
                .describe_security_groups()
                .filters(filter("vpc-id", [id.to_owned()]))
                .filters(filter("group-name", ["default".to_owned()]))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Read))?;
            let default_sg = sgs.security_groups().first().and_then(|g| g.group_id()).map(str::to_owned);
            self.0.stats.count("DescribeRouteTables");
            let rts = ec2
                .describe_route_tables()
                .filters(filter("vpc-id", [id.to_owned()]))
                .filters(filter("association.main", ["true".to_owned()]))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Read))?;
            let main_rt = rts.route_tables().first().and_then(|r| r.route_table_id()).map(str::to_owned);
            Ok(fields([
                ("id", Value::from(id)),
                ("arn", Value::from(format!("arn:aws:ec2:{}:{owner}:vpc/{id}", self.0.region))),
                ("default_security_group_id", opt_value(default_sg.as_deref())),
                ("main_route_table_id", opt_value(main_rt.as_deref())),
                ("owner_id", Value::from(owner)),
            ]))
        }

        async fn sync_secondary(&self, id: &str, wanted: &[String]) -> Result<(), ProviderError> {
            let ec2 = self.0.ec2();
            self.0.stats.count("DescribeVpcs");
            let out =
                ec2.describe_vpcs().vpc_ids(id).send().await.map_err(|e| sdk_error(e, Operation::Read))?;
            let vpc = out.vpcs().first().ok_or_else(|| missing("VPC"))?;
            let primary = vpc.cidr_block().unwrap_or_default();
            let mut current: BTreeMap<String, String> = BTreeMap::new();
            for a in vpc.cidr_block_association_set() {
                let associated =
                    a.cidr_block_state().and_then(|s| s.state()).is_some_and(|s| s.as_str() == "associated");
                if let (Some(c), Some(assoc), true) = (a.cidr_block(), a.association_id(), associated)
                    && c != primary
                {
                    current.insert(c.to_owned(), assoc.to_owned());
                }
            }
            for (cidr, assoc) in &current {
                if !wanted.contains(cidr) {
                    self.0.stats.count("DisassociateVpcCidrBlock");
                    ec2.disassociate_vpc_cidr_block()
                        .association_id(assoc)
                        .send()
                        .await
                        .map_err(|e| sdk_error(e, Operation::Update))?;
                }
            }
            for cidr in wanted {
                if !current.contains_key(cidr) {
                    settle(|| {
                        self.0.stats.count("AssociateVpcCidrBlock");
                        let call = ec2.associate_vpc_cidr_block().vpc_id(id).cidr_block(cidr);
                        async move { call.send().await.map(|_| ()).map_err(|e| sdk_error(e, Operation::Update)) }
                    })
                    .await?;
                }
            }
            Ok(())
        }
    }

    #[async_trait]
    impl ResourceProvider for VpcProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(3),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(3),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            let ec2 = self.0.ec2();
            self.0.stats.count("CreateVpc");
            let mut call = ec2
                .create_vpc()
                .cidr_block(req_str(f, "cidr_block")?)
                .tag_specifications(tag_spec(ResourceType::Vpc, f, &req.tags));
            if let Some(t) = opt_str(f, "instance_tenancy") {
                call = call.instance_tenancy(Tenancy::from(t.as_str()));
            }
            let out = call.send().await.map_err(|e| sdk_error(e, Operation::Create))?;
            let id = out.vpc().and_then(|v| v.vpc_id()).ok_or_else(|| missing("VPC ID"))?.to_owned();
            // Follow-ups: DNS support is on by default, hostnames off.
            if !bool_of(f, "enable_dns_support") {
                self.set_attribute(&id, "enable_dns_support", false).await?;
            }
            if bool_of(f, "enable_dns_hostnames") {
                self.set_attribute(&id, "enable_dns_hostnames", true).await?;
            }
            self.sync_secondary(&id, &str_list(f, "secondary_cidr_blocks")).await?;
            self.describe(vec![filter("vpc-id", [id.clone()])]).await?.pop().ok_or_else(|| missing("new VPC"))
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("vpc-id", req.ids)]).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            for name in &req.changed {
                match name.as_str() {
                    "enable_dns_support" | "enable_dns_hostnames" => {
                        self.set_attribute(&req.id, name, bool_of(f, name)).await?;
                    }
                    "secondary_cidr_blocks" => self.sync_secondary(&req.id, &str_list(f, name)).await?,
                    "tags" => sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(f)).await?,
                    _ => {}
                }
            }
            let observed = self.describe(vec![filter("vpc-id", [req.id.clone()])]).await?;
            Ok(observed.into_iter().next().map(|o| o.outputs).unwrap_or_default())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteVpc");
            self.0
                .ec2()
                .delete_vpc()
                .vpc_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            Ok(())
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            self.0.stats.count("DescribeVpcs");
            let out = self
                .0
                .ec2()
                .describe_vpcs()
                .vpc_ids(id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Poll))?;
            let state = out.vpcs().first().and_then(|v| v.state()).map(|s| s.as_str().to_owned());
            match state.as_deref() {
                Some("available") | None => Ok(Readiness::Ready { outputs: Fields::new() }),
                Some(s) => Ok(Readiness::Pending { status: s.to_owned() }),
            }
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.describe(vec![token_filter(&req.token)]).await?.into_iter().next())
        }
    }
}
