use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{
    InternetGatewayId, NatGatewayId, RouteTableAssociationId, RouteTableId, SubnetId, TransitGatewayId,
    VpcId, VpcPeeringConnectionId,
};

/// A route table (`aws_route_table`); routes are separate [`Route`]s.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:RouteTable", outputs(id: RouteTableId), readiness = "on_id")]
pub struct RouteTable {
    /// The VPC.
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One route (`aws_route`): a destination and exactly one target.
///
/// Routes have no ID of their own in EC2: the resource's ID is
/// `<route table ID>_<destination>` (e.g. `rtb-0abc_0.0.0.0/0`). The target
/// changes in place (ReplaceRoute).
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:Route", outputs(id: String), readiness = "on_id", validate = validate_route)]
pub struct Route {
    /// The route table.
    #[resource(force_new)]
    pub route_table_id: Input<RouteTableId>,
    /// The destination, e.g. `0.0.0.0/0`.
    #[resource(force_new)]
    pub destination_cidr_block: String,
    /// Target: an internet gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<Input<InternetGatewayId>>,
    /// Target: a NAT gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_gateway_id: Option<Input<NatGatewayId>>,
    /// Target: a transit gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transit_gateway_id: Option<Input<TransitGatewayId>>,
    /// Target: a VPC peering connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_peering_connection_id: Option<Input<VpcPeeringConnectionId>>,
}

fn validate_route(r: &Route, ctx: &mut ValidationContext<'_>) {
    super::check_cidr(ctx, "destination_cidr_block", &r.destination_cidr_block);
    let targets = [
        r.gateway_id.is_some(),
        r.nat_gateway_id.is_some(),
        r.transit_gateway_id.is_some(),
        r.vpc_peering_connection_id.is_some(),
    ]
    .iter()
    .filter(|t| **t)
    .count();
    if targets != 1 {
        ctx.error(
            "gateway_id",
            format!(
                "a route needs exactly one target (gateway_id, nat_gateway_id, transit_gateway_id or vpc_peering_connection_id); {targets} given"
            ),
        );
    }
}

/// Associates a subnet with a route table (`aws_route_table_association`).
///
/// The resource's ID is the subnet's ID (a subnet has at most one route
/// table association) and its `id` output the association ID: moving the
/// subnet to another route table in place (ReplaceRouteTableAssociation)
/// gives the association a new ID, while a resource keeps its ID across an
/// update.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:RouteTableAssociation", outputs(id: RouteTableAssociationId), readiness = "on_id")]
pub struct RouteTableAssociation {
    /// The route table (changed in place with ReplaceRouteTableAssociation).
    pub route_table_id: Input<RouteTableId>,
    /// The subnet.
    #[resource(force_new)]
    pub subnet_id: Input<SubnetId>,
}

#[cfg(any())] // PORTING: not yet on the kit
pub(crate) mod imp {
    //! Route tables, routes and associations through the EC2 API. Routes
    //! and associations are not EC2 objects of their own: both are read
    //! through `DescribeRouteTables`, one call per batch.

    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{Filter, ResourceType, RouteTable as AwsRouteTable};
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Operation, ProviderError,
        ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use crate::ec2::sdk::{Memo, filter, missing, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{Ctx, fields, opt_str, opt_value, req_str, sdk_error, tags_value, user_tags};

    /// The target fields of a [`super::Route`].
    const TARGETS: [&str; 4] =
        ["gateway_id", "nat_gateway_id", "transit_gateway_id", "vpc_peering_connection_id"];

    fn timings() -> Timings {
        Timings {
            create: Duration::from_secs(2),
            update: Duration::from_secs(2),
            delete: Duration::from_secs(2),
            poll_interval: Duration::from_secs(2),
            timeout: Duration::from_secs(300),
        }
    }

    fn not_found(what: &str) -> ProviderError {
        ProviderError::new(ErrorKind::NotFound, format!("{what} does not exist")).with_code("NotFound")
    }

    /// Route tables matching `filters`: one paginated `DescribeRouteTables`.
    async fn route_tables(ctx: &Ctx, filters: Vec<Filter>) -> Result<Vec<AwsRouteTable>, ProviderError> {
        let mut pages = ctx.ec2().describe_route_tables().set_filters(Some(filters)).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            ctx.stats.count("DescribeRouteTables");
            let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
            out.extend(page.route_tables().iter().cloned());
        }
        Ok(out)
    }

    fn ready() -> Readiness {
        Readiness::Ready { outputs: Fields::new() }
    }

    /// `aws:ec2:RouteTable` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct RouteTableProvider(pub(crate) Arc<Ctx>);

    impl RouteTableProvider {
        fn observe(t: &AwsRouteTable) -> Result<Observed, ProviderError> {
            let id = t.route_table_id().ok_or_else(|| missing("route table ID"))?.to_owned();
            Ok(Observed {
                inputs: fields([
                    ("vpc_id", opt_value(t.vpc_id())),
                    ("tags", tags_value(tag_pairs(t.tags()))),
                ]),
                outputs: fields([("id", Value::from(id.as_str()))]),
                id,
            })
        }

        async fn describe(&self, filters: Vec<Filter>) -> Result<Vec<Observed>, ProviderError> {
            route_tables(&self.0, filters).await?.iter().map(Self::observe).collect()
        }
    }

    #[async_trait]
    impl ResourceProvider for RouteTableProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            timings()
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.0.stats.count("CreateRouteTable");
            let out = self
                .0
                .ec2()
                .create_route_table()
                .vpc_id(req_str(f, "vpc_id")?)
                .tag_specifications(tag_spec(ResourceType::RouteTable, f, &req.tags))
                .client_token(&req.token)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            Self::observe(out.route_table().ok_or_else(|| missing("route table"))?)
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("route-table-id", req.ids)]).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(&req.after)).await?;
            }
            Ok(fields([("id", Value::from(req.id.as_str()))]))
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteRouteTable");
            self.0
                .ec2()
                .delete_route_table()
                .route_table_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            Ok(())
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(ready())
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.describe(vec![token_filter(&req.token)]).await?.into_iter().next())
        }
    }

    /// The ID of a route: its table and destination (routes have no ID of
    /// their own), e.g. `rtb-0abc_0.0.0.0/0`.
    pub(crate) fn route_id(table: &str, destination: &str) -> String {
        format!("{table}_{destination}")
    }

    /// The table and destination of a route ID.
    pub(crate) fn split_route_id(id: &str) -> Option<(&str, &str)> {
        id.split_once('_').filter(|(t, d)| !t.is_empty() && !d.is_empty())
    }

    /// A route's inputs as the declaration spells them.
    fn route_inputs(table: &str, destination: &str, target: [Option<&str>; 4]) -> Fields {
        let [gateway, nat, transit, peering] = target;
        fields([
            ("route_table_id", Value::from(table)),
            ("destination_cidr_block", Value::from(destination)),
            ("gateway_id", opt_value(gateway)),
            ("nat_gateway_id", opt_value(nat)),
            ("transit_gateway_id", opt_value(transit)),
            ("vpc_peering_connection_id", opt_value(peering)),
        ])
    }

    /// The target fields of `f`.
    fn target_of(f: &Fields) -> [Option<String>; 4] {
        TARGETS.map(|t| opt_str(f, t))
    }

    /// `aws:ec2:Route` through the EC2 API. The ID is
    /// `<route table ID>_<destination>`; a refresh reads every route of a
    /// batch with one `DescribeRouteTables` on their tables.
    #[derive(Debug)]
    pub(crate) struct RouteProvider {
        ctx: Arc<Ctx>,
        /// The inputs of creates by token, for `find` (routes carry no tags).
        made: Memo,
    }

    impl RouteProvider {
        /// The provider of one instance, remembering nothing yet.
        pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
            RouteProvider { ctx, made: Memo::default() }
        }

        /// The routes with these IDs that exist.
        async fn routes(&self, ids: &[String]) -> Result<BTreeMap<String, Observed>, ProviderError> {
            let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
            let tables: BTreeSet<String> =
                ids.iter().filter_map(|id| split_route_id(id)).map(|(t, _)| t.to_owned()).collect();
            if tables.is_empty() {
                return Ok(BTreeMap::new());
            }
            let mut out = BTreeMap::new();
            for table in route_tables(&self.ctx, vec![filter("route-table-id", tables)]).await? {
                let Some(table_id) = table.route_table_id() else { continue };
                for r in table.routes() {
                    let Some(destination) = r.destination_cidr_block() else { continue };
                    let id = route_id(table_id, destination);
                    if !wanted.contains(id.as_str()) {
                        continue;
                    }
                    // `local` is the VPC's own route, not a gateway.
                    let gateway = r.gateway_id().filter(|g| *g != "local");
                    let inputs = route_inputs(
                        table_id,
                        destination,
                        [gateway, r.nat_gateway_id(), r.transit_gateway_id(), r.vpc_peering_connection_id()],
                    );
                    let outputs = fields([("id", Value::from(id.as_str()))]);
                    out.insert(id.clone(), Observed { id, inputs, outputs });
                }
            }
            Ok(out)
        }

        fn declared(f: &Fields) -> Result<Observed, ProviderError> {
            let table = req_str(f, "route_table_id")?;
            let destination = req_str(f, "destination_cidr_block")?;
            let target = target_of(f);
            let id = route_id(&table, &destination);
            Ok(Observed {
                inputs: route_inputs(&table, &destination, target.each_ref().map(|t| t.as_deref())),
                outputs: fields([("id", Value::from(id.as_str()))]),
                id,
            })
        }
    }

    #[async_trait]
    impl ResourceProvider for RouteProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            timings()
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            let declared = Self::declared(f)?;
            let [gateway, nat, transit, peering] = target_of(f);
            self.made.set(&req.token, f);
            self.ctx.stats.count("CreateRoute");
            let sent = self
                .ctx
                .ec2()
                .create_route()
                .route_table_id(req_str(f, "route_table_id")?)
                .destination_cidr_block(req_str(f, "destination_cidr_block")?)
                .set_gateway_id(gateway)
                .set_nat_gateway_id(nat)
                .set_transit_gateway_id(transit)
                .set_vpc_peering_connection_id(peering)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create));
            match sent {
                Ok(_) => {
                    self.made.forget(&req.token);
                    Ok(declared)
                }
                // `RouteAlreadyExists`: routes carry no tags or token, so a
                // create repeated after a crash finds its route this way; an
                // identical route is adopted, a different one is a conflict.
                Err(e) if e.kind == ErrorKind::Conflict => {
                    match self.routes(std::slice::from_ref(&declared.id)).await?.remove(&declared.id) {
                        Some(o) if o.inputs == declared.inputs => Ok(o),
                        _ => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            Ok(ReadResponse { found: self.routes(&req.ids).await? })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            if req.changed.iter().any(|c| TARGETS.contains(&c.as_str())) {
                let [gateway, nat, transit, peering] = target_of(f);
                self.ctx.stats.count("ReplaceRoute");
                self.ctx
                    .ec2()
                    .replace_route()
                    .route_table_id(req_str(f, "route_table_id")?)
                    .destination_cidr_block(req_str(f, "destination_cidr_block")?)
                    .set_gateway_id(gateway)
                    .set_nat_gateway_id(nat)
                    .set_transit_gateway_id(transit)
                    .set_vpc_peering_connection_id(peering)
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, Operation::Update))?;
            }
            Ok(fields([("id", Value::from(req.id.as_str()))]))
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            let (table, destination) = match split_route_id(&req.id) {
                Some((t, d)) => (t.to_owned(), d.to_owned()),
                None => {
                    (req_str(&req.inputs, "route_table_id")?, req_str(&req.inputs, "destination_cidr_block")?)
                }
            };
            self.ctx.stats.count("DeleteRoute");
            self.ctx
                .ec2()
                .delete_route()
                .route_table_id(table)
                .destination_cidr_block(destination)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            Ok(())
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(ready())
        }

        /// Routes carry no tags: a create this instance started is looked
        /// up by its table and destination.
        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            let Some(f) = self.made.get(&req.token) else { return Ok(None) };
            let declared = Self::declared(&f)?;
            let found = self.routes(std::slice::from_ref(&declared.id)).await?.remove(&declared.id);
            Ok(found.filter(|o| o.inputs == declared.inputs))
        }
    }

    /// The association of a subnet: its ID and route table.
    #[derive(Debug)]
    struct Association {
        id: String,
        route_table_id: String,
    }

    /// `aws:ec2:RouteTableAssociation` through the EC2 API.
    ///
    /// The resource's ID is the **subnet's** ID (a subnet has at most one
    /// route table association), and the `id` output is the association ID:
    /// `ReplaceRouteTableAssociation`, which moves a subnet to another table
    /// in place, gives the association a new ID, while the engine keeps a
    /// resource's ID across an update. Reads filter on
    /// `association.subnet-id`, one `DescribeRouteTables` per batch.
    #[derive(Debug)]
    pub(crate) struct RouteTableAssociationProvider {
        ctx: Arc<Ctx>,
        /// The inputs of creates by token, for `find` (associations carry
        /// no tags).
        made: Memo,
    }

    impl RouteTableAssociationProvider {
        /// The provider of one instance, remembering nothing yet.
        pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
            RouteTableAssociationProvider { ctx, made: Memo::default() }
        }

        /// The current association of each of `subnets` that has one.
        async fn by_subnet(
            &self,
            subnets: impl IntoIterator<Item = String>,
        ) -> Result<BTreeMap<String, Association>, ProviderError> {
            let wanted: BTreeSet<String> = subnets.into_iter().collect();
            if wanted.is_empty() {
                return Ok(BTreeMap::new());
            }
            let tables =
                route_tables(&self.ctx, vec![filter("association.subnet-id", wanted.clone())]).await?;
            let mut out = BTreeMap::new();
            for table in &tables {
                let Some(table_id) = table.route_table_id() else { continue };
                for a in table.associations() {
                    let live = a
                        .association_state()
                        .and_then(|s| s.state())
                        .is_none_or(|s| matches!(s.as_str(), "associated" | "associating"));
                    if let (Some(subnet), Some(id), true) =
                        (a.subnet_id(), a.route_table_association_id(), live)
                        && wanted.contains(subnet)
                    {
                        out.insert(
                            subnet.to_owned(),
                            Association { id: id.to_owned(), route_table_id: table_id.to_owned() },
                        );
                    }
                }
            }
            Ok(out)
        }

        fn observe(subnet: &str, a: &Association) -> Observed {
            Observed {
                id: subnet.to_owned(),
                inputs: fields([
                    ("route_table_id", Value::from(a.route_table_id.as_str())),
                    ("subnet_id", Value::from(subnet)),
                ]),
                outputs: fields([("id", Value::from(a.id.as_str()))]),
            }
        }

        async fn current(&self, subnet: &str) -> Result<Association, ProviderError> {
            self.by_subnet([subnet.to_owned()])
                .await?
                .remove(subnet)
                .ok_or_else(|| not_found(&format!("the route table association of subnet {subnet}")))
        }
    }

    #[async_trait]
    impl ResourceProvider for RouteTableAssociationProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            timings()
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            let table = req_str(f, "route_table_id")?;
            let subnet = req_str(f, "subnet_id")?;
            self.made.set(&req.token, f);
            self.ctx.stats.count("AssociateRouteTable");
            let sent = self
                .ctx
                .ec2()
                .associate_route_table()
                .route_table_id(&table)
                .subnet_id(&subnet)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create));
            match sent {
                Ok(out) => {
                    self.made.forget(&req.token);
                    let id = out.association_id().ok_or_else(|| missing("association ID"))?.to_owned();
                    Ok(Self::observe(&subnet, &Association { id, route_table_id: table }))
                }
                // `Resource.AlreadyAssociated`: associations carry no tags
                // or token, so a create repeated after a crash finds its
                // association this way; one with the same table is adopted.
                Err(e) if e.kind == ErrorKind::Conflict => {
                    match self.by_subnet([subnet.clone()]).await?.remove(&subnet) {
                        Some(a) if a.route_table_id == table => Ok(Self::observe(&subnet, &a)),
                        _ => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            let found = self.by_subnet(req.ids).await?;
            Ok(ReadResponse { found: found.iter().map(|(s, a)| (s.clone(), Self::observe(s, a))).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let current = self.current(&req.id).await?;
            let table = req_str(&req.after, "route_table_id")?;
            if current.route_table_id == table {
                return Ok(fields([("id", Value::from(current.id.as_str()))]));
            }
            self.ctx.stats.count("ReplaceRouteTableAssociation");
            let out = self
                .ctx
                .ec2()
                .replace_route_table_association()
                .association_id(&current.id)
                .route_table_id(&table)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Update))?;
            let id = out.new_association_id().ok_or_else(|| missing("new association ID"))?;
            Ok(fields([("id", Value::from(id))]))
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            let current = self.current(&req.id).await?;
            self.ctx.stats.count("DisassociateRouteTable");
            self.ctx
                .ec2()
                .disassociate_route_table()
                .association_id(&current.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            Ok(())
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(ready())
        }

        /// Associations carry no tags: a create this instance started is
        /// looked up by its subnet.
        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            let Some(f) = self.made.get(&req.token) else { return Ok(None) };
            let (table, subnet) = (req_str(&f, "route_table_id")?, req_str(&f, "subnet_id")?);
            let found = self.by_subnet([subnet.clone()]).await?.remove(&subnet);
            Ok(found.filter(|a| a.route_table_id == table).map(|a| Self::observe(&subnet, &a)))
        }
    }
}
