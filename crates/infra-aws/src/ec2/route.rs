use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{
    InternetGatewayId, NatGatewayId, RouteTableAssociationId, RouteTableId, SubnetId, TransitGatewayId,
    VpcId, VpcPeeringConnectionId,
};

/// A route table (`aws_route_table`); routes are separate [`Route`]s.
///
/// Outputs: `rt.id()` (`RouteTableId`).
///
/// Subnets use it through a [`RouteTableAssociation`] each; a subnet
/// without one uses its VPC's main route table.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{RouteTable, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let rt = stack.add("private-rt", RouteTable {
///     vpc_id: vpc.id().into(),
///     ..Default::default()
/// });
/// stack.export("private_route_table_id", rt.id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:RouteTable",
    outputs(id: RouteTableId),
    readiness = "on_id",
    validate = validate_route_table,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique
)]
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
///
/// Outputs: `route.id()` (`String`, the ID above).
///
/// A route to a transit gateway also needs the VPC's
/// [`TransitGatewayVpcAttachment`](crate::ec2::TransitGatewayVpcAttachment)
/// first, which it does not reference: add it with
/// `stack.add_with(.., Options::new().depends_on(&attachment))`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{InternetGateway, Route, RouteTable, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let igw = stack.add("igw", InternetGateway { vpc_id: Some(vpc.id().into()), ..Default::default() });
/// let rt = stack.add("public-rt", RouteTable { vpc_id: vpc.id().into(), ..Default::default() });
/// stack.add("public-default-route", Route {
///     route_table_id: rt.id().into(),
///     destination_cidr_block: "0.0.0.0/0".into(),
///     gateway_id: Some(igw.id().into()), // the one target
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:Route",
    outputs(id: String),
    readiness = "on_id",
    validate = validate_route,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique
)]
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

fn validate_route_table(t: &RouteTable, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &t.tags);
}

fn validate_route(r: &Route, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
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
///
/// Outputs: `assoc.id()` (`RouteTableAssociationId`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{RouteTable, RouteTableAssociation, Subnet, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let subnet = stack.add("app-a", Subnet {
///     vpc_id: vpc.id().into(),
///     cidr_block: "10.1.10.0/24".into(),
///     availability_zone: "us-east-1a".into(),
///     ..Default::default()
/// });
/// let rt = stack.add("app-rt", RouteTable { vpc_id: vpc.id().into(), ..Default::default() });
/// stack.add("app-a-assoc", RouteTableAssociation {
///     route_table_id: rt.id().into(),
///     subnet_id: subnet.id().into(),
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:RouteTableAssociation",
    outputs(id: RouteTableAssociationId),
    readiness = "on_id",
    validate = validate_association,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique
)]
pub struct RouteTableAssociation {
    /// The route table (changed in place with ReplaceRouteTableAssociation).
    pub route_table_id: Input<RouteTableId>,
    /// The subnet.
    #[resource(force_new)]
    pub subnet_id: Input<SubnetId>,
}

fn validate_association(_: &RouteTableAssociation, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    //! Route tables, routes and associations through the EC2 API. Routes
    //! and associations are not EC2 objects of their own: both are read
    //! through `DescribeRouteTables`, one call per batch. They carry no
    //! tags or token: a lost create is found by its natural key.

    use std::collections::BTreeSet;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{Filter, ResourceType, RouteTable as AwsRouteTable};
    use infra_core::Identifier;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::*;
    use crate::ec2::sdk::{describe, filter, lookup_filters, tag_map, tags_spec};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, user_tags};

    const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 300);

    /// Route tables matching `filters`: one paginated `DescribeRouteTables`.
    async fn route_tables(cx: &Ctx, filters: Vec<Filter>) -> Result<Vec<AwsRouteTable>, ProviderError> {
        describe!(cx, describe_route_tables, set_filters(filters) => route_tables, "DescribeRouteTables")
    }

    // --------------------------------------------------------- route table

    /// `aws:ec2:RouteTable` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct RouteTableKind;

    #[async_trait]
    impl Kind for RouteTableKind {
        type Decl = RouteTable;
        type Out = RouteTableOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = TIMINGS;

        async fn list(&self, cx: &Ctx, by: Lookup<'_, RouteTable>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "route-table-id", |_| None) else {
                return Ok(Vec::new());
            };
            route_tables(cx, filters)
                .await?
                .iter()
                .map(|t| {
                    let id = t.route_table_id().ok_or_else(|| missing("route table ID"))?.to_owned();
                    let tags = tag_map(t.tags());
                    let vpc_id = Input::Value(VpcId::unchecked(t.vpc_id().unwrap_or_default()));
                    let decl = RouteTable { vpc_id, tags: user_tags(&tags) };
                    Ok(Seen {
                        out: RouteTableOut { id: RouteTableId::unchecked(&id) },
                        id,
                        decl,
                        tags,
                        status: Status::Ready,
                    })
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &RouteTable,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .ec2()
                .create_route_table()
                .vpc_id(d.vpc_id.id())
                .client_token(token)
                .tag_specifications(tags_spec(ResourceType::RouteTable, tags));
            let out = cx.send("CreateRouteTable", Operation::Create, || call.clone().send()).await?;
            out.route_table.and_then(|t| t.route_table_id).ok_or_else(|| missing("route table ID"))
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &RouteTable) -> Result<(), ProviderError> {
            cx.send("DeleteRouteTable", Operation::Delete, || {
                cx.ec2().delete_route_table().route_table_id(id).send()
            })
            .await
            .map(|_| ())
        }
    }

    // --------------------------------------------------------------- route

    /// `aws:ec2:Route` through the EC2 API. The ID is
    /// `<route table ID>_<destination>`; a refresh reads every route of a
    /// batch with one `DescribeRouteTables` on their tables.
    #[derive(Debug)]
    pub(crate) struct RouteKind;

    /// The ID of a route: its table and destination (routes have no ID of
    /// their own), e.g. `rtb-0abc_0.0.0.0/0`.
    pub(crate) fn route_id(table: &str, destination: &str) -> String {
        format!("{table}_{destination}")
    }

    /// The table and destination of a route ID.
    pub(crate) fn split_route_id(id: &str) -> Option<(&str, &str)> {
        id.split_once('_').filter(|(t, d)| !t.is_empty() && !d.is_empty())
    }

    /// A route's targets: gateway, NAT gateway, transit gateway, peering.
    fn targets(r: &Route) -> [Option<&str>; 4] {
        [
            r.gateway_id.as_ref().map(|t| t.id()),
            r.nat_gateway_id.as_ref().map(|t| t.id()),
            r.transit_gateway_id.as_ref().map(|t| t.id()),
            r.vpc_peering_connection_id.as_ref().map(|t| t.id()),
        ]
    }

    /// `$call` (CreateRoute or ReplaceRoute) for route `$r`: its table,
    /// destination and target.
    macro_rules! route_call {
        ($call:expr, $r:expr) => {{
            let r: &Route = $r;
            let [gateway, nat, transit, peering] = targets(r).map(|t| t.map(str::to_owned));
            $call
                .route_table_id(r.route_table_id.id())
                .destination_cidr_block(&r.destination_cidr_block)
                .set_gateway_id(gateway)
                .set_nat_gateway_id(nat)
                .set_transit_gateway_id(transit)
                .set_vpc_peering_connection_id(peering)
        }};
    }

    /// The routes with these IDs that exist.
    async fn routes(cx: &Ctx, ids: &[String]) -> Result<Vec<Seen<RouteKind>>, ProviderError> {
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let tables: BTreeSet<String> =
            ids.iter().filter_map(|id| split_route_id(id)).map(|(t, _)| t.to_owned()).collect();
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = Vec::new();
        for table in route_tables(cx, vec![filter("route-table-id", tables)]).await? {
            let Some(table_id) = table.route_table_id() else { continue };
            for r in table.routes() {
                let Some(destination) = r.destination_cidr_block() else { continue };
                let id = route_id(table_id, destination);
                if !wanted.contains(id.as_str()) {
                    continue;
                }
                let decl = Route {
                    route_table_id: Input::Value(RouteTableId::unchecked(table_id)),
                    destination_cidr_block: destination.to_owned(),
                    // `local` is the VPC's own route, not a gateway.
                    gateway_id: r
                        .gateway_id()
                        .filter(|g| *g != "local")
                        .map(|g| Input::Value(InternetGatewayId::unchecked(g))),
                    nat_gateway_id: r.nat_gateway_id().map(|g| Input::Value(NatGatewayId::unchecked(g))),
                    transit_gateway_id: r
                        .transit_gateway_id()
                        .map(|g| Input::Value(TransitGatewayId::unchecked(g))),
                    vpc_peering_connection_id: r
                        .vpc_peering_connection_id()
                        .map(|p| Input::Value(VpcPeeringConnectionId::unchecked(p))),
                };
                seen.push(Seen {
                    out: RouteOut { id: id.clone() },
                    id,
                    decl,
                    tags: Tags::new(),
                    status: Status::Ready,
                });
            }
        }
        Ok(seen)
    }

    #[async_trait]
    impl Kind for RouteKind {
        type Decl = Route;
        type Out = RouteOut;
        const SERVICE: Service = Service::Ec2;
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;
        const TIMINGS: Timings = TIMINGS;

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Route>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => routes(cx, ids).await,
                Lookup::Tag(..) => Ok(Vec::new()),
                // The route at the table and destination, if it has the
                // same target (another one is not this create's).
                Lookup::Key(d) => {
                    let id = route_id(d.route_table_id.id(), &d.destination_cidr_block);
                    let found = routes(cx, &[id]).await?;
                    Ok(found.into_iter().filter(|s| targets(&s.decl) == targets(d)).collect())
                }
            }
        }

        async fn create(&self, cx: &Ctx, d: &Route, _: &Tags, _: &str) -> Result<String, ProviderError> {
            let call = route_call!(cx.ec2().create_route(), d);
            // "Already exists" (a create repeated after a crash meets its
            // own route) makes the engine adopt it through `Lookup::Key`.
            cx.send("CreateRoute", Operation::Create, || call.clone().send()).await?;
            Ok(route_id(d.route_table_id.id(), &d.destination_cidr_block))
        }

        async fn update(&self, cx: &Ctx, _: &str, change: Change<'_, Route>) -> Result<(), ProviderError> {
            let after = change.after;
            // Only the target is updatable: in place with ReplaceRoute.
            let call = route_call!(cx.ec2().replace_route(), after);
            cx.send("ReplaceRoute", Operation::Update, || call.clone().send()).await.map(|_| ())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &Route) -> Result<(), ProviderError> {
            let (table, destination) =
                split_route_id(id).unwrap_or((d.route_table_id.id(), &d.destination_cidr_block));
            let call = cx.ec2().delete_route().route_table_id(table).destination_cidr_block(destination);
            cx.send("DeleteRoute", Operation::Delete, || call.clone().send()).await.map(|_| ())
        }
    }

    // --------------------------------------------------------- association

    /// `aws:ec2:RouteTableAssociation` through the EC2 API.
    ///
    /// The resource's ID is the **subnet's** ID (a subnet has at most one
    /// route table association), and the `id` output is the association ID:
    /// `ReplaceRouteTableAssociation`, which moves a subnet to another table
    /// in place, gives the association a new ID, while the engine keeps a
    /// resource's ID across an update. Reads filter on
    /// `association.subnet-id`, one `DescribeRouteTables` per batch.
    #[derive(Debug)]
    pub(crate) struct RouteTableAssociationKind;

    /// The current association of each of `subnets` that has one.
    async fn associations(
        cx: &Ctx,
        subnets: &[String],
    ) -> Result<Vec<Seen<RouteTableAssociationKind>>, ProviderError> {
        if subnets.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = Vec::new();
        for table in route_tables(cx, vec![filter("association.subnet-id", subnets.iter().cloned())]).await? {
            let Some(table_id) = table.route_table_id() else { continue };
            for a in table.associations() {
                let state =
                    a.association_state().and_then(|s| s.state()).map_or("associated", |s| s.as_str());
                let status = match state {
                    "associated" => Status::Ready,
                    "associating" => Status::Pending(state.to_owned()),
                    _ => continue,
                };
                let (Some(subnet), Some(id)) = (a.subnet_id(), a.route_table_association_id()) else {
                    continue;
                };
                if !subnets.iter().any(|s| s == subnet) {
                    continue;
                }
                let decl = RouteTableAssociation {
                    route_table_id: Input::Value(RouteTableId::unchecked(table_id)),
                    subnet_id: Input::Value(SubnetId::unchecked(subnet)),
                };
                let out = RouteTableAssociationOut { id: RouteTableAssociationId::unchecked(id) };
                seen.push(Seen { id: subnet.to_owned(), decl, out, tags: Tags::new(), status });
            }
        }
        Ok(seen)
    }

    /// The association of `subnet` now (`NotFound` when it has none).
    async fn current(cx: &Ctx, subnet: &str) -> Result<Seen<RouteTableAssociationKind>, ProviderError> {
        associations(cx, &[subnet.to_owned()]).await?.into_iter().next().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                format!("the route table association of subnet {subnet} does not exist"),
            )
            .with_code("NotFound")
        })
    }

    #[async_trait]
    impl Kind for RouteTableAssociationKind {
        type Decl = RouteTableAssociation;
        type Out = RouteTableAssociationOut;
        const SERVICE: Service = Service::Ec2;
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;
        const TIMINGS: Timings = TIMINGS;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, RouteTableAssociation>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(subnets) => associations(cx, subnets).await,
                Lookup::Tag(..) => Ok(Vec::new()),
                // The subnet's association, if it is with the same table.
                Lookup::Key(d) => {
                    let found = associations(cx, &[d.subnet_id.id().to_owned()]).await?;
                    Ok(found
                        .into_iter()
                        .filter(|s| s.decl.route_table_id.id() == d.route_table_id.id())
                        .collect())
                }
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &RouteTableAssociation,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .ec2()
                .associate_route_table()
                .route_table_id(d.route_table_id.id())
                .subnet_id(d.subnet_id.id());
            cx.send("AssociateRouteTable", Operation::Create, || call.clone().send()).await?;
            Ok(d.subnet_id.id().to_owned())
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, RouteTableAssociation>,
        ) -> Result<(), ProviderError> {
            let after = change.after;
            // Only `route_table_id` is updatable. From the table the subnet
            // is with now, not what was recorded.
            let table = after.route_table_id.id();
            let now = current(cx, id).await?;
            if now.decl.route_table_id.id() == table {
                return Ok(());
            }
            let call = cx
                .ec2()
                .replace_route_table_association()
                .association_id(now.out.id.as_str())
                .route_table_id(table);
            cx.send("ReplaceRouteTableAssociation", Operation::Update, || call.clone().send())
                .await
                .map(|_| ())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &RouteTableAssociation) -> Result<(), ProviderError> {
            let call =
                cx.ec2().disassociate_route_table().association_id(current(cx, id).await?.out.id.as_str());
            cx.send("DisassociateRouteTable", Operation::Delete, || call.clone().send()).await.map(|_| ())
        }
    }
}
