//! Peering across regions (or accounts): transit gateway peering
//! attachments (`aws_ec2_transit_gateway_peering_attachment`) and VPC
//! peering connections (`aws_vpc_peering_connection`), each with its
//! accepter, which is bound to the provider of the peer's region.
//!
//! A peering is requested on one side and accepted on the other: the
//! requester resource lives in the requester's region, the accepter
//! resource in the peer's (`Options::new().provider(&peer_region)`), and
//! references the requester's ID, so the engine orders them.

use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{AccountId, TransitGatewayAttachmentId, TransitGatewayId, VpcId, VpcPeeringConnectionId};

/// Reports `field` when `region` does not look like an AWS region name
/// (`us-east-1`, `eu-west-1`, `ap-southeast-2`, `us-gov-west-1`).
fn check_region(ctx: &mut ValidationContext<'_>, field: &str, region: &str) {
    if let Some(problem) = crate::rules::unknown_region(region) {
        ctx.error(field, problem);
    }
}

/// Requests a peering between two transit gateways
/// (`aws_ec2_transit_gateway_peering_attachment`), usually in different
/// regions. It waits in `pendingAcceptance` until a
/// [`TransitGatewayPeeringAttachmentAccepter`] in the peer's region accepts
/// it; it is ready (for the accepter to start) once the request is there.
///
/// Unlike Terraform, `peer_account_id` is required: give the peer transit
/// gateway's `owner_id` output, so what is declared and what AWS reports
/// always agree.
///
/// Outputs: `peering.id()` (`TransitGatewayAttachmentId`).
///
/// It lives in the requester's region and its accepter is bound to the
/// peer region's provider; routes over the peering wait for the accepter
/// (`Options::new().depends_on(&accepter)`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{
///     TransitGateway, TransitGatewayPeeringAttachment, TransitGatewayPeeringAttachmentAccepter,
/// };
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
/// let tgw_us = stack.add("tgw-us", TransitGateway::default());
/// let tgw_eu = stack.add_with("tgw-eu", TransitGateway::default(), Options::new().provider(&eu));
/// let peering = stack.add("tgw-peering", TransitGatewayPeeringAttachment {
///     transit_gateway_id: tgw_us.id().into(),
///     peer_transit_gateway_id: tgw_eu.id().into(),
///     peer_region: "eu-west-1".into(),
///     peer_account_id: tgw_eu.owner_id().into(),
///     ..Default::default()
/// });
/// stack.add_with(
///     "tgw-peering-accepter",
///     TransitGatewayPeeringAttachmentAccepter { transit_gateway_attachment_id: peering.id().into() },
///     Options::new().provider(&eu),
/// );
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGatewayPeeringAttachment",
    outputs(id: TransitGatewayAttachmentId),
    readiness = "on_available",
    validate = validate_tgw_peering
)]
pub struct TransitGatewayPeeringAttachment {
    /// The requester's transit gateway (in this provider's region).
    #[resource(force_new)]
    pub transit_gateway_id: Input<TransitGatewayId>,
    /// The peer's transit gateway.
    #[resource(force_new)]
    pub peer_transit_gateway_id: Input<TransitGatewayId>,
    /// The peer transit gateway's region.
    #[resource(force_new)]
    pub peer_region: String,
    /// The account that owns the peer transit gateway.
    #[resource(force_new)]
    pub peer_account_id: Input<AccountId>,
    /// Tags of the requester's side (the stack and address tags are added
    /// automatically).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An accepter checks its own provider's region.
fn accepter_region<T>(_: &T, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
}

fn validate_tgw_peering(p: &TransitGatewayPeeringAttachment, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &p.tags);
    check_region(ctx, "peer_region", &p.peer_region);
}

/// Accepts a transit gateway peering attachment in the peer's region
/// (`aws_ec2_transit_gateway_peering_attachment_accepter`); bind it to that
/// region's provider. Ready once the attachment is `available` (minutes in
/// AWS), so routes over the peering can be created after it.
///
/// Its ID is the attachment's. Deleting it deletes nothing: an acceptance
/// cannot be undone, and the requester's
/// [`TransitGatewayPeeringAttachment`] owns the peering (deleting that
/// tears it down on both sides). Tags of the accepter's side are not
/// managed.
///
/// Outputs, seen from the accepter's side: `accepter.id()`
/// (`TransitGatewayAttachmentId`), `accepter.transit_gateway_id()` (its
/// own) and `accepter.peer_transit_gateway_id()` (the requester's)
/// (`TransitGatewayId`), `accepter.peer_region()` (`String`) and
/// `accepter.peer_account_id()` (`AccountId`).
///
/// It is bound to the peer region's provider, with
/// `Options::new().provider(&eu)` or in a scope
/// `stack.scope("eu").with_provider(&eu)`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{
///     TransitGateway, TransitGatewayPeeringAttachment, TransitGatewayPeeringAttachmentAccepter,
/// };
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
/// let tgw_us = stack.add("tgw", TransitGateway::default());
/// let tgw_eu = stack.scope("eu").with_provider(&eu).add("tgw", TransitGateway::default());
/// let peering = stack.add("tgw-peering", TransitGatewayPeeringAttachment {
///     transit_gateway_id: tgw_us.id().into(),
///     peer_transit_gateway_id: tgw_eu.id().into(),
///     peer_region: "eu-west-1".into(),
///     peer_account_id: tgw_eu.owner_id().into(),
///     ..Default::default()
/// });
/// let accepter = stack.scope("eu").with_provider(&eu).add(
///     "tgw-peering-accepter",
///     TransitGatewayPeeringAttachmentAccepter { transit_gateway_attachment_id: peering.id().into() },
/// );
/// stack.export("peer_region", accepter.peer_region());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGatewayPeeringAttachmentAccepter",
    outputs(
        id: TransitGatewayAttachmentId,
        transit_gateway_id: TransitGatewayId,
        peer_transit_gateway_id: TransitGatewayId,
        peer_region: String,
        peer_account_id: AccountId,
    ),
    readiness = "on_available",
    validate = accepter_region
)]
pub struct TransitGatewayPeeringAttachmentAccepter {
    /// The peering attachment to accept (the requester's `id`).
    #[resource(force_new)]
    pub transit_gateway_attachment_id: Input<TransitGatewayAttachmentId>,
}

/// Requests a peering between two VPCs (`aws_vpc_peering_connection`),
/// here across regions: it waits in `pending-acceptance` until a
/// [`VpcPeeringConnectionAccepter`] in the peer's region accepts it.
///
/// Unlike Terraform, `peer_region` and `peer_owner_id` are required (give
/// the peer VPC's `owner_id` output), so what is declared and what AWS
/// reports always agree.
///
/// Outputs: `pcx.id()` (`VpcPeeringConnectionId`, e.g. for a route's
/// `vpc_peering_connection_id` on either side).
///
/// It lives in the requester's region and its accepter is bound to the
/// peer region's provider.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{Vpc, VpcPeeringConnection, VpcPeeringConnectionAccepter};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
/// let vpc_us = stack.add("vpc-us", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let vpc_eu = Vpc { cidr_block: "10.2.0.0/16".into(), ..Default::default() };
/// let vpc_eu = stack.add_with("vpc-eu", vpc_eu, Options::new().provider(&eu));
/// let pcx = stack.add("pcx", VpcPeeringConnection {
///     vpc_id: vpc_us.id().into(),
///     peer_vpc_id: vpc_eu.id().into(),
///     peer_region: "eu-west-1".into(),
///     peer_owner_id: vpc_eu.owner_id().into(),
///     ..Default::default()
/// });
/// let accept = VpcPeeringConnectionAccepter {
///     vpc_peering_connection_id: pcx.id().into(),
///     auto_accept: true,
/// };
/// stack.add_with("pcx-accepter", accept, Options::new().provider(&eu));
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:VpcPeeringConnection",
    outputs(id: VpcPeeringConnectionId),
    readiness = "on_available",
    validate = validate_vpc_peering
)]
pub struct VpcPeeringConnection {
    /// The requester's VPC (in this provider's region).
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// The peer's VPC.
    #[resource(force_new)]
    pub peer_vpc_id: Input<VpcId>,
    /// The peer VPC's region.
    #[resource(force_new)]
    pub peer_region: String,
    /// The account that owns the peer VPC.
    #[resource(force_new)]
    pub peer_owner_id: Input<AccountId>,
    /// Tags of the requester's side (the stack and address tags are added
    /// automatically).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_vpc_peering(p: &VpcPeeringConnection, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &p.tags);
    check_region(ctx, "peer_region", &p.peer_region);
}

/// The peer's side of a VPC peering connection
/// (`aws_vpc_peering_connection_accepter`); bind it to the peer region's
/// provider. With `auto_accept` it accepts the request (and the field reads
/// back true once the connection is accepted).
///
/// Its ID is the connection's. Deleting it deletes nothing (as in
/// Terraform): the requester's [`VpcPeeringConnection`] owns the
/// connection. Tags of the accepter's side are not managed.
///
/// Outputs, seen from the accepter's side: `accepter.id()`
/// (`VpcPeeringConnectionId`), `accepter.vpc_id()` (its own) and
/// `accepter.peer_vpc_id()` (the requester's) (`VpcId`),
/// `accepter.peer_region()` (`String`) and `accepter.peer_owner_id()`
/// (`AccountId`).
///
/// It is bound to the peer region's provider, with
/// `Options::new().provider(&eu)` or in a scope
/// `stack.scope("eu").with_provider(&eu)`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{Vpc, VpcPeeringConnection, VpcPeeringConnectionAccepter};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
/// let vpc_us = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let vpc_eu = Vpc { cidr_block: "10.2.0.0/16".into(), ..Default::default() };
/// let vpc_eu = stack.scope("eu").with_provider(&eu).add("vpc", vpc_eu);
/// let pcx = stack.add("pcx", VpcPeeringConnection {
///     vpc_id: vpc_us.id().into(),
///     peer_vpc_id: vpc_eu.id().into(),
///     peer_region: "eu-west-1".into(),
///     peer_owner_id: vpc_eu.owner_id().into(),
///     ..Default::default()
/// });
/// let accept = VpcPeeringConnectionAccepter {
///     vpc_peering_connection_id: pcx.id().into(),
///     auto_accept: true,
/// };
/// let accepter = stack.scope("eu").with_provider(&eu).add("pcx-accepter", accept);
/// stack.export("requester_vpc_id", accepter.peer_vpc_id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:VpcPeeringConnectionAccepter",
    outputs(
        id: VpcPeeringConnectionId,
        vpc_id: VpcId,
        peer_vpc_id: VpcId,
        peer_region: String,
        peer_owner_id: AccountId,
    ),
    readiness = "on_id",
    validate = accepter_region
)]
pub struct VpcPeeringConnectionAccepter {
    /// The connection (the requester's `id`).
    #[resource(force_new)]
    pub vpc_peering_connection_id: Input<VpcPeeringConnectionId>,
    /// Accept the request.
    pub auto_accept: bool,
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    //! Both peerings have one shape: a [`Requester`] asks for the peering
    //! in its region (tags in the create call) and owns it; an [`Accepter`]
    //! in the peer's region accepts it by ID (its ID is the peering's) and
    //! deletes nothing. [`Api`] is what differs: [`Tgw`] (transit gateway
    //! peering attachments) and [`Pcx`] (VPC peering connections).

    use std::fmt;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{Filter, ResourceType};
    use infra_core::{Input, Resource};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::{
        TransitGatewayPeeringAttachment, TransitGatewayPeeringAttachmentAccepter,
        TransitGatewayPeeringAttachmentAccepterOut, TransitGatewayPeeringAttachmentOut, VpcPeeringConnection,
        VpcPeeringConnectionAccepter, VpcPeeringConnectionAccepterOut, VpcPeeringConnectionOut,
    };
    use crate::ec2::sdk::{filter, lookup_filters, tag_map, tags_spec};
    use crate::ids::{
        AccountId, TransitGatewayAttachmentId, TransitGatewayId, VpcId, VpcPeeringConnectionId,
    };
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, user_tags};

    /// One side of a peering: its transit gateway or VPC, region, account.
    #[derive(Debug)]
    pub(crate) struct Side {
        id: String,
        region: String,
        owner: String,
    }

    fn side(id: Option<&str>, region: Option<&str>, owner: Option<&str>) -> Side {
        let s = |v: Option<&str>| v.unwrap_or_default().to_owned();
        Side { id: s(id), region: s(region), owner: s(owner) }
    }

    /// A peering as either API reports it.
    #[derive(Debug)]
    pub(crate) struct Peering {
        id: String,
        state: String,
        message: String,
        requester: Side,
        accepter: Side,
        tags: Tags,
    }

    /// What an API's states mean for each side (other than `deleting` and
    /// `deleted`; any other state is a failure).
    #[derive(Debug)]
    pub(crate) struct States {
        /// The requester's ready states (the request has reached the peer:
        /// the accepter can start) and pending ones.
        requester: [&'static [&'static str]; 2],
        /// The accepter's ready and pending states.
        accepter: [&'static [&'static str]; 2],
        /// Waiting for acceptance.
        awaiting: &'static str,
        /// Accepted, and not gone.
        accepted: &'static [&'static str],
    }

    fn status(p: &Peering, [ready, pending]: [&[&str]; 2], what: &str) -> Status {
        match p.state.as_str() {
            s if ready.contains(&s) => Status::Ready,
            s if pending.contains(&s) => Status::Pending(s.to_owned()),
            "deleting" => Status::Deleting("deleting".into()),
            "deleted" => Status::Gone,
            s if p.message.is_empty() => Status::Failed(format!("{what} {} is {s}", p.id)),
            s => Status::Failed(format!("{what} {} is {s}: {}", p.id, p.message)),
        }
    }

    /// What differs between the two peering APIs.
    #[async_trait]
    pub(crate) trait Api: fmt::Debug + Send + Sync + 'static {
        type Req: Resource + DeserializeOwned + Clone + fmt::Debug + Send + Sync;
        type ReqOut: Serialize + Clone + fmt::Debug + Send + Sync;
        type Acc: Resource + DeserializeOwned + Clone + fmt::Debug + Send + Sync;
        type AccOut: Serialize + Clone + fmt::Debug + Send + Sync;
        /// The object, in messages.
        const WHAT: &'static str;
        /// The describe filters on the ID and on the requester's own side.
        const ID_FILTER: &'static str;
        const KEY_FILTER: &'static str;
        const STATES: States;
        /// The requester's timings and the accepter's.
        const TIMINGS: [Timings; 2];

        /// Peerings matching `filters` (which the emulator may ignore), in
        /// every state.
        async fn describe(cx: &Ctx, filters: Vec<Filter>) -> Result<Vec<Peering>, ProviderError>;
        /// Requests the peering; returns its ID.
        async fn request(cx: &Ctx, d: &Self::Req, tags: &Tags) -> Result<String, ProviderError>;
        async fn accept(cx: &Ctx, id: &str, op: Operation) -> Result<(), ProviderError>;
        async fn delete(cx: &Ctx, id: &str) -> Result<(), ProviderError>;

        /// The requester's natural key: its side, the peer's, the peer's
        /// region.
        fn key(d: &Self::Req) -> [&str; 3];
        fn requester(p: &Peering) -> (Self::Req, Self::ReqOut);
        /// The peering an accepter is for, and whether it accepts it.
        fn accepts(d: &Self::Acc) -> (&str, bool);
        fn accepter(p: &Peering) -> (Self::Acc, Self::AccOut);
    }

    async fn one<A: Api>(cx: &Ctx, id: &str) -> Result<Option<Peering>, ProviderError> {
        let found = A::describe(cx, vec![filter(A::ID_FILTER, [id.to_owned()])]).await?;
        Ok(found.into_iter().find(|p| p.id == id))
    }

    /// Accepts `id` when it waits for acceptance; accepted already (a
    /// retried create) or gone, there is nothing to do (the read and the
    /// readiness tell).
    async fn accept<A: Api>(cx: &Ctx, id: &str, op: Operation) -> Result<(), ProviderError> {
        let not_visible = |state: &str| {
            let e = format!("{} {id} is not waiting for acceptance in this region yet ({state})", A::WHAT);
            ProviderError::new(ErrorKind::EventualConsistency, e).with_code("NotVisibleYet")
        };
        let Some(p) = one::<A>(cx, id).await? else { return Err(not_visible("not visible")) };
        if A::STATES.requester[1].contains(&p.state.as_str()) {
            return Err(not_visible(&p.state));
        }
        if p.state != A::STATES.awaiting {
            return Ok(());
        }
        match A::accept(cx, id, op).await {
            // Accepted meanwhile (InvalidStateTransition, IncorrectState):
            // look again.
            Err(e) if e.kind == ErrorKind::Conflict => match one::<A>(cx, id).await? {
                Some(p) if A::STATES.accepted.contains(&p.state.as_str()) => Ok(()),
                _ => Err(e),
            },
            other => other,
        }
    }

    /// The requester's side of a peering, in its own region
    /// (`Requester<Tgw>`: `aws:ec2:TransitGatewayPeeringAttachment`,
    /// `Requester<Pcx>`: `aws:ec2:VpcPeeringConnection`).
    #[derive(Debug)]
    pub(crate) struct Requester<A>(pub(crate) A);

    #[async_trait]
    impl<A: Api> Kind for Requester<A> {
        type Decl = A::Req;
        type Out = A::ReqOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = A::TIMINGS[0];
        // The transit gateways (or VPCs) cannot be deleted until it is gone.
        const DELETE_WAITS: bool = true;

        async fn list(&self, cx: &Ctx, by: Lookup<'_, A::Req>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let key = |d: &A::Req| Some(vec![filter(A::KEY_FILTER, [A::key(d)[0].to_owned()])]);
            let Some(filters) = lookup_filters(&by, A::ID_FILTER, key) else { return Ok(Vec::new()) };
            // Checked again on the client: the emulator ignores some filters.
            let wanted = |p: &Peering| match by {
                Lookup::Ids(ids) => ids.contains(&p.id),
                Lookup::Tag(k, v) => p.tags.get(k).is_some_and(|t| t == v),
                Lookup::Key(d) => {
                    A::key(d) == [&p.requester.id, &p.accepter.id, &p.accepter.region].map(String::as_str)
                }
            };
            let found = A::describe(cx, filters).await?;
            Ok(found
                .into_iter()
                .filter(wanted)
                .map(|p| {
                    let (decl, out) = A::requester(&p);
                    let status = status(&p, A::STATES.requester, A::WHAT);
                    Seen { id: p.id, decl, out, tags: p.tags, status }
                })
                .collect())
        }

        async fn create(&self, cx: &Ctx, d: &A::Req, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            // No ClientToken on these APIs: a lost create is found by its
            // token tag, or its natural key.
            A::request(cx, d, tags).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &A::Req) -> Result<(), ProviderError> {
            match A::delete(cx, id).await {
                // Rejected, expired, failed or deleting: nothing to delete.
                Err(e) if e.kind == ErrorKind::Conflict => match one::<A>(cx, id).await? {
                    Some(p) if status(&p, A::STATES.requester, A::WHAT).live() => Err(e),
                    _ => Ok(()),
                },
                other => other,
            }
        }
    }

    /// The peer's side of a peering, in the peer's region: its ID is the
    /// peering's. Tags of the accepter's side are not managed.
    #[derive(Debug)]
    pub(crate) struct Accepter<A>(pub(crate) A);

    #[async_trait]
    impl<A: Api> Kind for Accepter<A> {
        type Decl = A::Acc;
        type Out = A::AccOut;
        const SERVICE: Service = Service::Ec2;
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;
        const TIMINGS: Timings = A::TIMINGS[1];

        async fn list(&self, cx: &Ctx, by: Lookup<'_, A::Acc>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let ids = match by {
                Lookup::Ids(ids) => ids.to_vec(),
                // The accepter's side is not tagged.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![A::accepts(d).0.to_owned()],
            };
            // By key (a create whose outcome is unknown): it did its work
            // once the peering is accepted, if it accepts.
            let done = |p: &Peering| match by {
                Lookup::Key(d) => !A::accepts(d).1 || A::STATES.accepted.contains(&p.state.as_str()),
                _ => true,
            };
            let found = A::describe(cx, vec![filter(A::ID_FILTER, ids.clone())]).await?;
            Ok(found
                .into_iter()
                .filter(|p| ids.contains(&p.id) && done(p))
                .map(|p| {
                    let (decl, out) = A::accepter(&p);
                    let status = status(&p, A::STATES.accepter, A::WHAT);
                    Seen { id: p.id, decl, out, tags: Tags::new(), status }
                })
                .collect())
        }

        async fn create(&self, cx: &Ctx, d: &A::Acc, _: &Tags, _: &str) -> Result<String, ProviderError> {
            // A repeated create is harmless (see `accept`).
            let (id, accepts) = A::accepts(d);
            if accepts {
                accept::<A>(cx, id, Operation::Create).await?;
            }
            Ok(id.to_owned())
        }

        async fn update(&self, cx: &Ctx, id: &str, change: Change<'_, A::Acc>) -> Result<(), ProviderError> {
            let after = change.after;
            // `auto_accept` turned on accepts; turned off changes nothing (an
            // acceptance cannot be undone). Other fields are force-new.
            if A::accepts(after).1 {
                accept::<A>(cx, id, Operation::Update).await?;
            }
            Ok(())
        }

        async fn delete(&self, _: &Ctx, _: &str, _: &A::Acc) -> Result<(), ProviderError> {
            // As in Terraform: an acceptance cannot be undone, and the
            // requester owns the peering (deleting it tears it down on both
            // sides).
            Ok(())
        }
    }

    // ------------------------------------------------ transit gateway peering

    /// Transit gateway peering attachments.
    #[derive(Debug)]
    pub(crate) struct Tgw;

    #[async_trait]
    impl Api for Tgw {
        type Req = TransitGatewayPeeringAttachment;
        type ReqOut = TransitGatewayPeeringAttachmentOut;
        type Acc = TransitGatewayPeeringAttachmentAccepter;
        type AccOut = TransitGatewayPeeringAttachmentAccepterOut;
        const WHAT: &'static str = "transit gateway peering attachment";
        const ID_FILTER: &'static str = "transit-gateway-attachment-id";
        const KEY_FILTER: &'static str = "transit-gateway-id";
        const STATES: States = States {
            requester: [
                &["pendingAcceptance", "pending", "available", "modifying"],
                &["initiating", "initiatingRequest"],
            ],
            // pendingAcceptance: the acceptance is not visible yet.
            accepter: [&["available"], &["pendingAcceptance", "pending", "modifying"]],
            awaiting: "pendingAcceptance",
            accepted: &["pending", "available", "modifying"],
        };
        const TIMINGS: [Timings; 2] =
            [Timings::secs(30, 2, 120, 5, 1200), Timings::secs(300, 2, 1, 15, 1200)];

        async fn describe(cx: &Ctx, filters: Vec<Filter>) -> Result<Vec<Peering>, ProviderError> {
            let found = cx
                .paged(|next| {
                    let call = cx.ec2().describe_transit_gateway_peering_attachments();
                    let call = call.set_filters(Some(filters.clone())).set_next_token(next);
                    async move {
                        let out = cx
                            .send("DescribeTransitGatewayPeeringAttachments", Operation::Read, || {
                                call.clone().send()
                            })
                            .await?;
                        Ok((out.transit_gateway_peering_attachments.unwrap_or_default(), out.next_token))
                    }
                })
                .await?;
            // The emulator lists every kind of attachment here: only
            // peerings have a requester.
            found
                .iter()
                .filter(|a| a.requester_tgw_info().is_some())
                .map(|a| {
                    let info = |i: Option<&aws_sdk_ec2::types::PeeringTgwInfo>| {
                        side(
                            i.and_then(|i| i.transit_gateway_id()),
                            i.and_then(|i| i.region()),
                            i.and_then(|i| i.owner_id()),
                        )
                    };
                    Ok(Peering {
                        id: a
                            .transit_gateway_attachment_id()
                            .ok_or_else(|| missing("attachment ID"))?
                            .to_owned(),
                        state: a.state().map_or("pending", |s| s.as_str()).to_owned(),
                        message: a.status().and_then(|s| s.message()).unwrap_or_default().to_owned(),
                        requester: info(a.requester_tgw_info()),
                        accepter: info(a.accepter_tgw_info()),
                        tags: tag_map(a.tags()),
                    })
                })
                .collect()
        }

        async fn request(cx: &Ctx, d: &Self::Req, tags: &Tags) -> Result<String, ProviderError> {
            let call = cx
                .ec2()
                .create_transit_gateway_peering_attachment()
                .transit_gateway_id(d.transit_gateway_id.id())
                .peer_transit_gateway_id(d.peer_transit_gateway_id.id())
                .peer_region(&d.peer_region)
                .peer_account_id(d.peer_account_id.id())
                .tag_specifications(tags_spec(ResourceType::TransitGatewayAttachment, tags));
            let out = cx
                .send("CreateTransitGatewayPeeringAttachment", Operation::Create, || call.clone().send())
                .await?;
            out.transit_gateway_peering_attachment
                .and_then(|a| a.transit_gateway_attachment_id)
                .ok_or_else(|| missing("attachment ID"))
        }

        async fn accept(cx: &Ctx, id: &str, op: Operation) -> Result<(), ProviderError> {
            let call = cx.ec2().accept_transit_gateway_peering_attachment().transit_gateway_attachment_id(id);
            cx.send("AcceptTransitGatewayPeeringAttachment", op, || call.clone().send()).await.map(|_| ())
        }

        async fn delete(cx: &Ctx, id: &str) -> Result<(), ProviderError> {
            let call = cx.ec2().delete_transit_gateway_peering_attachment().transit_gateway_attachment_id(id);
            cx.send("DeleteTransitGatewayPeeringAttachment", Operation::Delete, || call.clone().send())
                .await
                .map(|_| ())
        }

        fn key(d: &Self::Req) -> [&str; 3] {
            [d.transit_gateway_id.id(), d.peer_transit_gateway_id.id(), &d.peer_region]
        }

        fn requester(p: &Peering) -> (Self::Req, Self::ReqOut) {
            let decl = TransitGatewayPeeringAttachment {
                transit_gateway_id: Input::Value(TransitGatewayId::unchecked(&p.requester.id)),
                peer_transit_gateway_id: Input::Value(TransitGatewayId::unchecked(&p.accepter.id)),
                peer_region: p.accepter.region.clone(),
                peer_account_id: Input::Value(AccountId::unchecked(&p.accepter.owner)),
                tags: user_tags(&p.tags),
            };
            (decl, TransitGatewayPeeringAttachmentOut { id: TransitGatewayAttachmentId::unchecked(&p.id) })
        }

        fn accepts(d: &Self::Acc) -> (&str, bool) {
            (d.transit_gateway_attachment_id.id(), true)
        }

        fn accepter(p: &Peering) -> (Self::Acc, Self::AccOut) {
            let id = TransitGatewayAttachmentId::unchecked(&p.id);
            let out = TransitGatewayPeeringAttachmentAccepterOut {
                id: id.clone(),
                transit_gateway_id: TransitGatewayId::unchecked(&p.accepter.id),
                peer_transit_gateway_id: TransitGatewayId::unchecked(&p.requester.id),
                peer_region: p.requester.region.clone(),
                peer_account_id: AccountId::unchecked(&p.requester.owner),
            };
            (TransitGatewayPeeringAttachmentAccepter { transit_gateway_attachment_id: Input::Value(id) }, out)
        }
    }

    // ------------------------------------------------------------ VPC peering

    /// VPC peering connections.
    #[derive(Debug)]
    pub(crate) struct Pcx;

    #[async_trait]
    impl Api for Pcx {
        type Req = VpcPeeringConnection;
        type ReqOut = VpcPeeringConnectionOut;
        type Acc = VpcPeeringConnectionAccepter;
        type AccOut = VpcPeeringConnectionAccepterOut;
        const WHAT: &'static str = "VPC peering connection";
        const ID_FILTER: &'static str = "vpc-peering-connection-id";
        const KEY_FILTER: &'static str = "requester-vpc-info.vpc-id";
        // Rejected, expired and failed connections never become active (AWS
        // keeps showing them, and deleted ones, for a while).
        const STATES: States = States {
            requester: [&["pending-acceptance", "active", "provisioning"], &["initiating-request"]],
            accepter: [&["active", "pending-acceptance"], &["provisioning", "initiating-request"]],
            awaiting: "pending-acceptance",
            accepted: &["active", "provisioning"],
        };
        const TIMINGS: [Timings; 2] = [Timings::secs(10, 2, 10, 3, 600), Timings::secs(5, 5, 1, 2, 600)];

        async fn describe(cx: &Ctx, filters: Vec<Filter>) -> Result<Vec<Peering>, ProviderError> {
            // The emulator ignores these filters.
            let found = cx
                .paged(|next| {
                    let call = cx.ec2().describe_vpc_peering_connections().set_filters(Some(filters.clone()));
                    let call = call.set_next_token(next);
                    async move {
                        let out = cx
                            .send("DescribeVpcPeeringConnections", Operation::Read, || call.clone().send())
                            .await?;
                        Ok((out.vpc_peering_connections.unwrap_or_default(), out.next_token))
                    }
                })
                .await?;
            found
                .iter()
                .map(|p| {
                    let info = |i: Option<&aws_sdk_ec2::types::VpcPeeringConnectionVpcInfo>| {
                        side(
                            i.and_then(|i| i.vpc_id()),
                            i.and_then(|i| i.region()),
                            i.and_then(|i| i.owner_id()),
                        )
                    };
                    let code = p.status().and_then(|s| s.code()).map_or("initiating-request", |c| c.as_str());
                    Ok(Peering {
                        id: p
                            .vpc_peering_connection_id()
                            .ok_or_else(|| missing("peering connection ID"))?
                            .to_owned(),
                        state: code.to_owned(),
                        message: p.status().and_then(|s| s.message()).unwrap_or_default().to_owned(),
                        requester: info(p.requester_vpc_info()),
                        accepter: info(p.accepter_vpc_info()),
                        tags: tag_map(p.tags()),
                    })
                })
                .collect()
        }

        async fn request(cx: &Ctx, d: &Self::Req, tags: &Tags) -> Result<String, ProviderError> {
            let call = cx
                .ec2()
                .create_vpc_peering_connection()
                .vpc_id(d.vpc_id.id())
                .peer_vpc_id(d.peer_vpc_id.id())
                .peer_region(&d.peer_region)
                .peer_owner_id(d.peer_owner_id.id())
                .tag_specifications(tags_spec(ResourceType::VpcPeeringConnection, tags));
            let out =
                cx.send("CreateVpcPeeringConnection", Operation::Create, || call.clone().send()).await?;
            out.vpc_peering_connection
                .and_then(|p| p.vpc_peering_connection_id)
                .ok_or_else(|| missing("peering connection ID"))
        }

        async fn accept(cx: &Ctx, id: &str, op: Operation) -> Result<(), ProviderError> {
            let call = cx.ec2().accept_vpc_peering_connection().vpc_peering_connection_id(id);
            cx.send("AcceptVpcPeeringConnection", op, || call.clone().send()).await.map(|_| ())
        }

        async fn delete(cx: &Ctx, id: &str) -> Result<(), ProviderError> {
            let call = cx.ec2().delete_vpc_peering_connection().vpc_peering_connection_id(id);
            cx.send("DeleteVpcPeeringConnection", Operation::Delete, || call.clone().send()).await.map(|_| ())
        }

        fn key(d: &Self::Req) -> [&str; 3] {
            [d.vpc_id.id(), d.peer_vpc_id.id(), &d.peer_region]
        }

        fn requester(p: &Peering) -> (Self::Req, Self::ReqOut) {
            let decl = VpcPeeringConnection {
                vpc_id: Input::Value(VpcId::unchecked(&p.requester.id)),
                peer_vpc_id: Input::Value(VpcId::unchecked(&p.accepter.id)),
                peer_region: p.accepter.region.clone(),
                peer_owner_id: Input::Value(AccountId::unchecked(&p.accepter.owner)),
                tags: user_tags(&p.tags),
            };
            (decl, VpcPeeringConnectionOut { id: VpcPeeringConnectionId::unchecked(&p.id) })
        }

        fn accepts(d: &Self::Acc) -> (&str, bool) {
            (d.vpc_peering_connection_id.id(), d.auto_accept)
        }

        fn accepter(p: &Peering) -> (Self::Acc, Self::AccOut) {
            let id = VpcPeeringConnectionId::unchecked(&p.id);
            let out = VpcPeeringConnectionAccepterOut {
                id: id.clone(),
                vpc_id: VpcId::unchecked(&p.accepter.id),
                peer_vpc_id: VpcId::unchecked(&p.requester.id),
                peer_region: p.requester.region.clone(),
                peer_owner_id: AccountId::unchecked(&p.requester.owner),
            };
            // `auto_accept` reads back true once the connection is accepted.
            let auto_accept = Self::STATES.accepted.contains(&p.state.as_str());
            (VpcPeeringConnectionAccepter { vpc_peering_connection_id: Input::Value(id), auto_accept }, out)
        }
    }
}
