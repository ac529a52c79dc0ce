use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
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

/// A NAT gateway (`aws_nat_gateway`). Takes minutes to become available,
/// and a minute or so to delete (the delete waits until it is gone, since
/// its Elastic IP and subnet cannot go before).
///
/// A replacement creates the new gateway before deleting the old one, and
/// an Elastic IP backs one NAT gateway at a time: a change of `subnet_id`
/// needs a new `allocation_id` too (or `Options::delete_before_create`).
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:NatGateway",
    outputs(id: NatGatewayId, public_ip: String, private_ip: String),
    readiness = "on_available",
    validate = validate_nat_gateway
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

fn validate_nat_gateway(n: &NatGateway, ctx: &mut ValidationContext<'_>) {
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
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{ConnectivityType, DomainType, Filter, ResourceType};
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Operation, ProviderError,
        ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use crate::ec2::sdk::{filter, has_token, missing, settle, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{Ctx, fields, opt_str, opt_value, req_str, sdk_error, tags_value, user_tags};

    /// The outputs of an observed resource, for an update's answer.
    fn outputs_of(observed: Vec<Observed>) -> Fields {
        observed.into_iter().next().map(|o| o.outputs).unwrap_or_default()
    }

    // ---------------------------------------------------------------- IGW

    /// `aws:ec2:InternetGateway` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct InternetGatewayProvider(pub(crate) Arc<Ctx>);

    impl InternetGatewayProvider {
        /// Every internet gateway matching `filters` (one paginated
        /// DescribeInternetGateways), keeping only those created with
        /// `token` when one is given.
        async fn describe(
            &self,
            filters: Vec<Filter>,
            token: Option<&str>,
        ) -> Result<Vec<Observed>, ProviderError> {
            let ec2 = self.0.ec2();
            let mut pages =
                ec2.describe_internet_gateways().set_filters(Some(filters)).into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeInternetGateways");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                for igw in page.internet_gateways() {
                    if token.is_some_and(|t| !has_token(igw.tags(), t)) {
                        continue;
                    }
                    out.push(self.observe(igw)?);
                }
            }
            Ok(out)
        }

        /// A described gateway as inputs (in the declaration's shape) and outputs.
        fn observe(&self, igw: &aws_sdk_ec2::types::InternetGateway) -> Result<Observed, ProviderError> {
            let id = igw.internet_gateway_id().ok_or_else(|| missing("internet gateway ID"))?.to_owned();
            let vpc = attached(igw).into_iter().next();
            let inputs =
                fields([("vpc_id", opt_value(vpc.as_deref())), ("tags", tags_value(tag_pairs(igw.tags())))]);
            let owner = igw.owner_id().unwrap_or_default();
            let outputs = fields([
                ("id", Value::from(id.as_str())),
                ("arn", Value::from(format!("arn:aws:ec2:{}:{owner}:internet-gateway/{id}", self.0.region))),
            ]);
            Ok(Observed { id, inputs, outputs })
        }

        /// The gateway `id`, retried for a moment after a create.
        async fn one(&self, id: &str) -> Result<Observed, ProviderError> {
            settle(|| {
                let id = id.to_owned();
                async move {
                    self.describe(vec![filter("internet-gateway-id", [id])], None)
                        .await?
                        .pop()
                        .ok_or_else(|| missing("internet gateway in DescribeInternetGateways"))
                }
            })
            .await
        }

        /// The VPCs the gateway `id` is attached to now. A gateway that does
        /// not exist is a `NotFound` error.
        async fn current_vpcs(&self, id: &str, op: Operation) -> Result<Vec<String>, ProviderError> {
            self.0.stats.count("DescribeInternetGateways");
            let out = self
                .0
                .ec2()
                .describe_internet_gateways()
                .internet_gateway_ids(id)
                .send()
                .await
                .map_err(|e| sdk_error(e, op))?;
            Ok(out.internet_gateways().first().map(attached).unwrap_or_default())
        }

        async fn detach(&self, id: &str, vpc: &str, op: Operation) -> Result<(), ProviderError> {
            // `DependencyViolation` (public addresses still mapped in the
            // VPC) is retried by the executor.
            self.0.stats.count("DetachInternetGateway");
            self.0
                .ec2()
                .detach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc)
                .send()
                .await
                .map_err(|e| sdk_error(e, op))?;
            Ok(())
        }

        async fn attach(&self, id: &str, vpc: &str, op: Operation) -> Result<(), ProviderError> {
            let ec2 = self.0.ec2();
            settle(|| {
                self.0.stats.count("AttachInternetGateway");
                let call = ec2.attach_internet_gateway().internet_gateway_id(id).vpc_id(vpc);
                async move { call.send().await.map(|_| ()).map_err(|e| sdk_error(e, op)) }
            })
            .await
        }
    }

    /// The VPCs an internet gateway is attached (or attaching) to. AWS
    /// reports an attached internet gateway's attachment as `available`.
    fn attached(igw: &aws_sdk_ec2::types::InternetGateway) -> Vec<String> {
        igw.attachments()
            .iter()
            .filter(|a| {
                a.state().is_none_or(|s| matches!(s.as_str(), "available" | "attached" | "attaching"))
            })
            .filter_map(|a| a.vpc_id().map(str::to_owned))
            .collect()
    }

    #[async_trait]
    impl ResourceProvider for InternetGatewayProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(2),
                update: Duration::from_secs(3),
                delete: Duration::from_secs(4),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.0.stats.count("CreateInternetGateway");
            // CreateInternetGateway takes no ClientToken: a lost create is
            // found by its `infra:token` tag instead.
            let out = self
                .0
                .ec2()
                .create_internet_gateway()
                .tag_specifications(tag_spec(ResourceType::InternetGateway, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            let id = out
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| missing("internet gateway ID"))?
                .to_owned();
            if let Some(vpc) = opt_str(f, "vpc_id") {
                self.attach(&id, &vpc, Operation::Create).await?;
            }
            self.one(&id).await
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("internet-gateway-id", req.ids)], None).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            for name in &req.changed {
                match name.as_str() {
                    "vpc_id" => {
                        // From what is attached now, not what was recorded,
                        // so a half-done earlier update converges.
                        let wanted = opt_str(f, "vpc_id");
                        let current = self.current_vpcs(&req.id, Operation::Update).await?;
                        for vpc in current.iter().filter(|v| Some(*v) != wanted.as_ref()) {
                            self.detach(&req.id, vpc, Operation::Update).await?;
                        }
                        if let Some(vpc) = wanted.filter(|w| !current.contains(w)) {
                            self.attach(&req.id, &vpc, Operation::Update).await?;
                        }
                    }
                    "tags" => sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(f)).await?,
                    _ => {}
                }
            }
            Ok(outputs_of(self.describe(vec![filter("internet-gateway-id", [req.id.clone()])], None).await?))
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            // Detach first: an attached gateway cannot be deleted.
            for vpc in self.current_vpcs(&req.id, Operation::Delete).await? {
                self.detach(&req.id, &vpc, Operation::Delete).await?;
            }
            self.0.stats.count("DeleteInternetGateway");
            self.0
                .ec2()
                .delete_internet_gateway()
                .internet_gateway_id(&req.id)
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

    // ---------------------------------------------------------------- EIP

    /// `aws:ec2:ElasticIp` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct ElasticIpProvider(pub(crate) Arc<Ctx>);

    impl ElasticIpProvider {
        /// Every address matching `filters` (one DescribeAddresses, which
        /// has no pagination), keeping only those created with `token` when
        /// one is given.
        async fn describe(
            &self,
            filters: Vec<Filter>,
            token: Option<&str>,
        ) -> Result<Vec<Observed>, ProviderError> {
            self.0.stats.count("DescribeAddresses");
            let out = self
                .0
                .ec2()
                .describe_addresses()
                .set_filters(Some(filters))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Read))?;
            let mut found = Vec::new();
            for a in out.addresses() {
                if token.is_some_and(|t| !has_token(a.tags(), t)) {
                    continue;
                }
                let id = a.allocation_id().ok_or_else(|| missing("allocation ID"))?.to_owned();
                let inputs = fields([("tags", tags_value(tag_pairs(a.tags())))]);
                let outputs =
                    fields([("id", Value::from(id.as_str())), ("public_ip", opt_value(a.public_ip()))]);
                found.push(Observed { id, inputs, outputs });
            }
            Ok(found)
        }

        /// The address `id`, retried for a moment after a create.
        async fn one(&self, id: &str) -> Result<Observed, ProviderError> {
            settle(|| {
                let id = id.to_owned();
                async move {
                    self.describe(vec![filter("allocation-id", [id])], None)
                        .await?
                        .pop()
                        .ok_or_else(|| missing("address in DescribeAddresses"))
                }
            })
            .await
        }
    }

    #[async_trait]
    impl ResourceProvider for ElasticIpProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(1),
                update: Duration::from_secs(1),
                delete: Duration::from_secs(2),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            self.0.stats.count("AllocateAddress");
            // AllocateAddress takes no ClientToken: a lost create is found
            // by its `infra:token` tag instead.
            let out = self
                .0
                .ec2()
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(tag_spec(ResourceType::ElasticIp, &req.inputs, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            let id = out.allocation_id().ok_or_else(|| missing("allocation ID"))?.to_owned();
            self.one(&id).await
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("allocation-id", req.ids)], None).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(&req.after)).await?;
            }
            Ok(outputs_of(self.describe(vec![filter("allocation-id", [req.id.clone()])], None).await?))
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("ReleaseAddress");
            self.0
                .ec2()
                .release_address()
                .allocation_id(&req.id)
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

    // ---------------------------------------------------------------- NAT

    /// `aws:ec2:NatGateway` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct NatGatewayProvider(pub(crate) Arc<Ctx>);

    /// States of a NAT gateway that is gone or going: read as absent.
    const GONE: [&str; 3] = ["deleted", "deleting", "failed"];

    /// A NAT gateway's state, e.g. `pending`.
    fn state(nat: &aws_sdk_ec2::types::NatGateway) -> &str {
        nat.state().map_or("", |s| s.as_str())
    }

    /// The primary address of a NAT gateway (else its first).
    fn primary(nat: &aws_sdk_ec2::types::NatGateway) -> Option<&aws_sdk_ec2::types::NatGatewayAddress> {
        let addrs = nat.nat_gateway_addresses();
        addrs.iter().find(|a| a.is_primary() == Some(true)).or_else(|| addrs.first())
    }

    /// A NAT gateway's outputs.
    fn nat_outputs(id: &str, nat: &aws_sdk_ec2::types::NatGateway) -> Fields {
        let addr = primary(nat);
        fields([
            ("id", Value::from(id)),
            ("public_ip", opt_value(addr.and_then(|a| a.public_ip()))),
            ("private_ip", opt_value(addr.and_then(|a| a.private_ip()))),
        ])
    }

    /// A described NAT gateway as inputs (in the declaration's shape) and
    /// outputs.
    fn observe_nat(nat: &aws_sdk_ec2::types::NatGateway) -> Result<Observed, ProviderError> {
        let id = nat.nat_gateway_id().ok_or_else(|| missing("NAT gateway ID"))?.to_owned();
        // `public` is the default, which the declaration records as unset.
        let connectivity = nat.connectivity_type().map(|c| c.as_str().to_owned()).filter(|c| c != "public");
        let inputs = fields([
            ("subnet_id", opt_value(nat.subnet_id())),
            ("allocation_id", opt_value(primary(nat).and_then(|a| a.allocation_id()))),
            ("connectivity_type", opt_value(connectivity.as_deref())),
            ("tags", tags_value(tag_pairs(nat.tags()))),
        ]);
        let outputs = nat_outputs(&id, nat);
        Ok(Observed { id, inputs, outputs })
    }

    impl NatGatewayProvider {
        /// Every NAT gateway matching `filters`, in any state (one
        /// paginated DescribeNatGateways).
        async fn describe_raw(
            &self,
            filters: Vec<Filter>,
            op: Operation,
        ) -> Result<Vec<aws_sdk_ec2::types::NatGateway>, ProviderError> {
            let ec2 = self.0.ec2();
            let mut pages = ec2.describe_nat_gateways().set_filter(Some(filters)).into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeNatGateways");
                let page = page.map_err(|e| sdk_error(e, op))?;
                out.extend(page.nat_gateways().iter().cloned());
            }
            Ok(out)
        }

        /// The live NAT gateways matching `filters` (deleted, deleting and
        /// failed ones are absent), keeping only those created with `token`
        /// when one is given.
        async fn describe(
            &self,
            filters: Vec<Filter>,
            token: Option<&str>,
        ) -> Result<Vec<Observed>, ProviderError> {
            self.describe_raw(filters, Operation::Read)
                .await?
                .iter()
                .filter(|n| !GONE.contains(&state(n)))
                .filter(|n| token.is_none_or(|t| has_token(n.tags(), t)))
                .map(observe_nat)
                .collect()
        }

        /// The NAT gateway `id` in any state, if the API still lists it.
        async fn raw(
            &self,
            id: &str,
            op: Operation,
        ) -> Result<Option<aws_sdk_ec2::types::NatGateway>, ProviderError> {
            Ok(self
                .describe_raw(vec![filter("nat-gateway-id", [id.to_owned()])], op)
                .await?
                .into_iter()
                .next())
        }
    }

    #[async_trait]
    impl ResourceProvider for NatGatewayProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            match op {
                Operation::Create => ApiClass::new("ec2", "CreateNatGateway"),
                Operation::Delete => ApiClass::new("ec2", "DeleteNatGateway"),
                _ => ApiClass::generic("ec2", op),
            }
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(120),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(60),
                poll_interval: Duration::from_secs(15),
                timeout: Duration::from_secs(600),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.0.stats.count("CreateNatGateway");
            let mut call = self
                .0
                .ec2()
                .create_nat_gateway()
                .subnet_id(req_str(f, "subnet_id")?)
                .client_token(&req.token)
                .tag_specifications(tag_spec(ResourceType::Natgateway, f, &req.tags));
            if let Some(a) = opt_str(f, "allocation_id") {
                call = call.allocation_id(a);
            }
            if let Some(c) = opt_str(f, "connectivity_type") {
                call = call.connectivity_type(ConnectivityType::from(c.as_str()));
            }
            let out = call.send().await.map_err(|e| sdk_error(e, Operation::Create))?;
            // The answer describes the new (pending) gateway in full; the
            // readiness poll fills in what appears later.
            observe_nat(out.nat_gateway().ok_or_else(|| missing("NAT gateway"))?)
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("nat-gateway-id", req.ids)], None).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(&req.after)).await?;
            }
            // Tags change no output; the readiness poll that follows an
            // update of an `on_available` type reports them anyway.
            Ok(Fields::new())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteNatGateway");
            self.0
                .ec2()
                .delete_nat_gateway()
                .nat_gateway_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            // Wait until it is gone: its Elastic IP and subnet (and the
            // internet gateway's detachment) cannot go before.
            let timings = self.timings();
            let began = Instant::now();
            let mut nap = Duration::from_secs(2);
            loop {
                let Some(nat) = self.raw(&req.id, Operation::Delete).await? else { return Ok(()) };
                match state(&nat) {
                    "deleted" | "failed" => return Ok(()),
                    status if began.elapsed() >= timings.timeout => {
                        return Err(ProviderError::new(
                            ErrorKind::Final,
                            format!(
                                "NAT gateway {} is still {status} {} s after DeleteNatGateway",
                                req.id,
                                began.elapsed().as_secs()
                            ),
                        )
                        .with_code("DeleteTimeout"));
                    }
                    _ => {
                        tokio::time::sleep(nap).await;
                        nap = (nap * 2).min(timings.poll_interval);
                    }
                }
            }
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let Some(nat) = self.raw(id, Operation::Poll).await? else {
                // Not listed yet right after the create (eventual consistency).
                return Ok(Readiness::Pending { status: "not visible yet".into() });
            };
            match state(&nat) {
                "available" => Ok(Readiness::Ready { outputs: nat_outputs(id, &nat) }),
                "failed" => {
                    let code = nat.failure_code().unwrap_or("Failed");
                    let message = nat.failure_message().unwrap_or("no message");
                    Ok(Readiness::Failed { message: format!("NAT gateway {id} failed: {code}: {message}") })
                }
                s @ ("deleting" | "deleted") => {
                    Ok(Readiness::Failed { message: format!("NAT gateway {id} is {s}") })
                }
                "" => Ok(Readiness::Pending { status: "pending".into() }),
                s => Ok(Readiness::Pending { status: s.to_owned() }),
            }
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            // The client-side token check matters: moto ignores `tag:`
            // filters on DescribeNatGateways and answers every gateway.
            Ok(self.describe(vec![token_filter(&req.token)], Some(&req.token)).await?.into_iter().next())
        }
    }
}
