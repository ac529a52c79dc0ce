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
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1].iter().all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit());
    if !ok {
        ctx.error(field, format!("{region:?} is not an AWS region name (e.g. eu-west-1)"));
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
#[derive(Debug, Clone, Serialize, Resource)]
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

fn validate_tgw_peering(p: &TransitGatewayPeeringAttachment, ctx: &mut ValidationContext<'_>) {
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
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGatewayPeeringAttachmentAccepter",
    outputs(
        id: TransitGatewayAttachmentId,
        transit_gateway_id: TransitGatewayId,
        peer_transit_gateway_id: TransitGatewayId,
        peer_region: String,
        peer_account_id: AccountId,
    ),
    readiness = "on_available"
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
#[derive(Debug, Clone, Serialize, Resource)]
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
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:VpcPeeringConnectionAccepter",
    outputs(
        id: VpcPeeringConnectionId,
        vpc_id: VpcId,
        peer_vpc_id: VpcId,
        peer_region: String,
        peer_owner_id: AccountId,
    ),
    readiness = "on_id"
)]
pub struct VpcPeeringConnectionAccepter {
    /// The connection (the requester's `id`).
    #[resource(force_new)]
    pub vpc_peering_connection_id: Input<VpcPeeringConnectionId>,
    /// Accept the request.
    pub auto_accept: bool,
}

#[cfg(any())] // PORTING: not yet on the kit
pub(crate) mod imp {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{Filter, ResourceType};
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Operation, ProviderError,
        ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use crate::ec2::sdk::{filter, missing, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::ec2::transit::imp::{Tokens, attachment_gone, has_token, wait_deleted};
    use crate::sdk::{Ctx, bool_of, fields, opt_value, req_str, sdk_error, tags_value, user_tags};

    type TgwPeering = aws_sdk_ec2::types::TransitGatewayPeeringAttachment;
    type Pcx = aws_sdk_ec2::types::VpcPeeringConnection;

    fn not_visible(what: &str, id: &str) -> ProviderError {
        ProviderError::new(
            ErrorKind::EventualConsistency,
            format!("{what} {id} is not visible in this region yet"),
        )
        .with_code("NotVisibleYet")
    }

    // ----- transit gateway peering: shared reads -------------------------

    /// Peering attachments matching `filters`, in every state.
    async fn describe_tgw_peerings(
        ctx: &Ctx,
        filters: Vec<Filter>,
        op: Operation,
    ) -> Result<Vec<TgwPeering>, ProviderError> {
        let mut pages = ctx
            .ec2()
            .describe_transit_gateway_peering_attachments()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            ctx.stats.count("DescribeTransitGatewayPeeringAttachments");
            let page = page.map_err(|e| sdk_error(e, op))?;
            out.extend(page.transit_gateway_peering_attachments().iter().cloned());
        }
        Ok(out)
    }

    /// Peering attachments with one of `ids`, in every state (filters are
    /// checked again on the client).
    async fn tgw_peerings(
        ctx: &Ctx,
        ids: &[String],
        op: Operation,
    ) -> Result<Vec<TgwPeering>, ProviderError> {
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let found =
            describe_tgw_peerings(ctx, vec![filter("transit-gateway-attachment-id", ids.to_vec())], op)
                .await?;
        Ok(found
            .into_iter()
            .filter(|a| a.transit_gateway_attachment_id().is_some_and(|id| wanted.contains(id)))
            .collect())
    }

    fn tgw_peering_state(a: &TgwPeering) -> Option<&str> {
        a.state().map(|s| s.as_str())
    }

    // ----- TransitGatewayPeeringAttachment -------------------------------

    /// `aws:ec2:TransitGatewayPeeringAttachment` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct TgwPeeringProvider(pub(crate) Arc<Ctx>, pub(crate) Tokens);

    impl TgwPeeringProvider {
        fn observe(a: &TgwPeering) -> Result<Observed, ProviderError> {
            let id = a.transit_gateway_attachment_id().ok_or_else(|| missing("attachment ID"))?.to_owned();
            let requester = a.requester_tgw_info();
            let accepter = a.accepter_tgw_info();
            let inputs = fields([
                ("transit_gateway_id", opt_value(requester.and_then(|r| r.transit_gateway_id()))),
                ("peer_transit_gateway_id", opt_value(accepter.and_then(|r| r.transit_gateway_id()))),
                ("peer_region", opt_value(accepter.and_then(|r| r.region()))),
                ("peer_account_id", opt_value(accepter.and_then(|r| r.owner_id()))),
                ("tags", tags_value(tag_pairs(a.tags()))),
            ]);
            let outputs = fields([("id", Value::from(id.as_str()))]);
            Ok(Observed { id, inputs, outputs })
        }

        async fn find_token(&self, token: &str) -> Result<Option<Observed>, ProviderError> {
            let found = describe_tgw_peerings(&self.0, vec![token_filter(token)], Operation::Read).await?;
            found
                .iter()
                .filter(|a| has_token(a.tags(), token) && !attachment_gone(tgw_peering_state(a)))
                .map(Self::observe)
                .next()
                .transpose()
        }
    }

    #[async_trait]
    impl ResourceProvider for TgwPeeringProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(30),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(120),
                poll_interval: Duration::from_secs(5),
                timeout: Duration::from_secs(20 * 60),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            if !self.1.first(&req.token)
                && let Some(made) = self.find_token(&req.token).await?
            {
                return Ok(made);
            }
            let f = &req.inputs;
            self.0.stats.count("CreateTransitGatewayPeeringAttachment");
            let out = self
                .0
                .ec2()
                .create_transit_gateway_peering_attachment()
                .transit_gateway_id(req_str(f, "transit_gateway_id")?)
                .peer_transit_gateway_id(req_str(f, "peer_transit_gateway_id")?)
                .peer_region(req_str(f, "peer_region")?)
                .peer_account_id(req_str(f, "peer_account_id")?)
                .tag_specifications(tag_spec(ResourceType::TransitGatewayAttachment, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            Self::observe(out.transit_gateway_peering_attachment().ok_or_else(|| missing("attachment"))?)
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let mut out = ReadResponse::default();
            for a in tgw_peerings(&self.0, &req.ids, Operation::Read).await? {
                if !attachment_gone(tgw_peering_state(&a)) {
                    let o = Self::observe(&a)?;
                    out.found.insert(o.id.clone(), o);
                }
            }
            Ok(out)
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(&req.after)).await?;
            }
            Ok(Fields::new())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteTransitGatewayPeeringAttachment");
            let sent = self
                .0
                .ec2()
                .delete_transit_gateway_peering_attachment()
                .transit_gateway_attachment_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete));
            if let Err(e) = sent {
                if e.kind != ErrorKind::Conflict {
                    return Err(e);
                }
                let now = tgw_peerings(&self.0, std::slice::from_ref(&req.id), Operation::Delete).await?;
                let state = now.first().and_then(tgw_peering_state);
                if state.is_some() && !attachment_gone(state) {
                    return Err(e);
                }
            }
            // The transit gateways cannot be deleted until this is gone.
            wait_deleted(
                "transit gateway peering attachment",
                &req.id,
                Duration::from_secs(15 * 60),
                || async {
                    let now = tgw_peerings(&self.0, std::slice::from_ref(&req.id), Operation::Delete).await?;
                    Ok(now.first().and_then(tgw_peering_state).map(str::to_owned))
                },
            )
            .await
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let now = tgw_peerings(&self.0, &[id.to_owned()], Operation::Poll).await?;
            let Some(a) = now.first() else {
                return Ok(Readiness::Pending { status: "not visible yet".into() });
            };
            match tgw_peering_state(a).unwrap_or("pending") {
                // The request has reached the peer: the accepter can start.
                "pendingAcceptance" | "pending" | "available" | "modifying" => {
                    Ok(Readiness::Ready { outputs: Self::observe(a)?.outputs })
                }
                s @ ("initiating" | "initiatingRequest") => Ok(Readiness::Pending { status: s.to_owned() }),
                s => Ok(Readiness::Failed {
                    message: format!("transit gateway peering attachment {id} is {s}"),
                }),
            }
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            self.find_token(&req.token).await
        }
    }

    // ----- TransitGatewayPeeringAttachmentAccepter -----------------------

    /// `aws:ec2:TransitGatewayPeeringAttachmentAccepter` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct TgwPeeringAccepterProvider(pub(crate) Arc<Ctx>);

    /// States of an attachment that has been accepted and still exists.
    fn accepted(state: Option<&str>) -> bool {
        matches!(state, Some("pending" | "available" | "modifying"))
    }

    impl TgwPeeringAccepterProvider {
        fn observe(a: &TgwPeering) -> Result<Observed, ProviderError> {
            let id = a.transit_gateway_attachment_id().ok_or_else(|| missing("attachment ID"))?.to_owned();
            let requester = a.requester_tgw_info();
            let accepter = a.accepter_tgw_info();
            let inputs = fields([("transit_gateway_attachment_id", Value::from(id.as_str()))]);
            let outputs = fields([
                ("id", Value::from(id.as_str())),
                ("transit_gateway_id", opt_value(accepter.and_then(|r| r.transit_gateway_id()))),
                ("peer_transit_gateway_id", opt_value(requester.and_then(|r| r.transit_gateway_id()))),
                ("peer_region", opt_value(requester.and_then(|r| r.region()))),
                ("peer_account_id", opt_value(requester.and_then(|r| r.owner_id()))),
            ]);
            Ok(Observed { id, inputs, outputs })
        }
    }

    #[async_trait]
    impl ResourceProvider for TgwPeeringAccepterProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(300),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(1),
                poll_interval: Duration::from_secs(15),
                timeout: Duration::from_secs(20 * 60),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let id = req_str(&req.inputs, "transit_gateway_attachment_id")?;
            self.0.stats.count("AcceptTransitGatewayPeeringAttachment");
            let sent = self
                .0
                .ec2()
                .accept_transit_gateway_peering_attachment()
                .transit_gateway_attachment_id(&id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create));
            match sent {
                Ok(out) => match out.transit_gateway_peering_attachment() {
                    Some(a) => Self::observe(a),
                    None => Ok(Observed {
                        id: id.clone(),
                        inputs: fields([("transit_gateway_attachment_id", Value::from(id.as_str()))]),
                        outputs: fields([("id", Value::from(id.as_str()))]),
                    }),
                },
                // Accepted already (a retried or repeated create): fine.
                Err(e) if e.kind == ErrorKind::Conflict => {
                    let now = tgw_peerings(&self.0, std::slice::from_ref(&id), Operation::Create).await?;
                    match now.first() {
                        Some(a) if accepted(tgw_peering_state(a)) => Self::observe(a),
                        _ => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let mut out = ReadResponse::default();
            // Not accepted (any more): the accepter does not exist.
            for a in tgw_peerings(&self.0, &req.ids, Operation::Read).await? {
                if accepted(tgw_peering_state(&a)) {
                    let o = Self::observe(&a)?;
                    out.found.insert(o.id.clone(), o);
                }
            }
            Ok(out)
        }

        async fn update(&self, _req: UpdateRequest) -> Result<Fields, ProviderError> {
            // The only field is force-new.
            Ok(Fields::new())
        }

        async fn delete(&self, _req: DeleteRequest) -> Result<(), ProviderError> {
            // An acceptance cannot be undone; the requester's attachment
            // owns the peering.
            Ok(())
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let now = tgw_peerings(&self.0, &[id.to_owned()], Operation::Poll).await?;
            let Some(a) = now.first() else {
                return Ok(Readiness::Pending { status: "not visible yet".into() });
            };
            match tgw_peering_state(a).unwrap_or("pending") {
                "available" => Ok(Readiness::Ready { outputs: Self::observe(a)?.outputs }),
                // pendingAcceptance: the acceptance is not visible yet.
                s @ ("pendingAcceptance" | "pending" | "modifying") => {
                    Ok(Readiness::Pending { status: s.to_owned() })
                }
                s => Ok(Readiness::Failed {
                    message: format!("transit gateway peering attachment {id} is {s}"),
                }),
            }
        }

        async fn find(&self, _req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            // The accepter's side is not tagged; a repeated create is
            // harmless (see `create`).
            Ok(None)
        }
    }

    // ----- VPC peering: shared reads -------------------------------------

    /// Peering connection states after which the connection no longer
    /// exists or can never become active (AWS keeps showing them for a
    /// while).
    fn pcx_gone(status: Option<&str>) -> bool {
        matches!(status, Some("deleted" | "deleting" | "rejected" | "expired" | "failed"))
    }

    fn pcx_status(p: &Pcx) -> Option<&str> {
        p.status().and_then(|s| s.code()).map(|c| c.as_str())
    }

    /// Peering connections matching `filters`, in every state.
    async fn describe_pcxs(
        ctx: &Ctx,
        filters: Vec<Filter>,
        op: Operation,
    ) -> Result<Vec<Pcx>, ProviderError> {
        let mut pages =
            ctx.ec2().describe_vpc_peering_connections().set_filters(Some(filters)).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            ctx.stats.count("DescribeVpcPeeringConnections");
            let page = page.map_err(|e| sdk_error(e, op))?;
            out.extend(page.vpc_peering_connections().iter().cloned());
        }
        Ok(out)
    }

    /// Peering connections with one of `ids`, in every state (filters are
    /// checked again on the client: the emulator ignores them here).
    async fn pcxs(ctx: &Ctx, ids: &[String], op: Operation) -> Result<Vec<Pcx>, ProviderError> {
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let found = describe_pcxs(ctx, vec![filter("vpc-peering-connection-id", ids.to_vec())], op).await?;
        Ok(found
            .into_iter()
            .filter(|p| p.vpc_peering_connection_id().is_some_and(|id| wanted.contains(id)))
            .collect())
    }

    // ----- VpcPeeringConnection ------------------------------------------

    /// `aws:ec2:VpcPeeringConnection` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct VpcPeeringProvider(pub(crate) Arc<Ctx>, pub(crate) Tokens);

    impl VpcPeeringProvider {
        fn observe(p: &Pcx) -> Result<Observed, ProviderError> {
            let id =
                p.vpc_peering_connection_id().ok_or_else(|| missing("peering connection ID"))?.to_owned();
            let requester = p.requester_vpc_info();
            let accepter = p.accepter_vpc_info();
            let inputs = fields([
                ("vpc_id", opt_value(requester.and_then(|r| r.vpc_id()))),
                ("peer_vpc_id", opt_value(accepter.and_then(|r| r.vpc_id()))),
                ("peer_region", opt_value(accepter.and_then(|r| r.region()))),
                ("peer_owner_id", opt_value(accepter.and_then(|r| r.owner_id()))),
                ("tags", tags_value(tag_pairs(p.tags()))),
            ]);
            let outputs = fields([("id", Value::from(id.as_str()))]);
            Ok(Observed { id, inputs, outputs })
        }

        async fn find_token(&self, token: &str) -> Result<Option<Observed>, ProviderError> {
            let found = describe_pcxs(&self.0, vec![token_filter(token)], Operation::Read).await?;
            found
                .iter()
                .filter(|p| has_token(p.tags(), token) && !pcx_gone(pcx_status(p)))
                .map(Self::observe)
                .next()
                .transpose()
        }
    }

    #[async_trait]
    impl ResourceProvider for VpcPeeringProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(10),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(10),
                poll_interval: Duration::from_secs(3),
                timeout: Duration::from_secs(10 * 60),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            if !self.1.first(&req.token)
                && let Some(made) = self.find_token(&req.token).await?
            {
                return Ok(made);
            }
            let f = &req.inputs;
            self.0.stats.count("CreateVpcPeeringConnection");
            let out = self
                .0
                .ec2()
                .create_vpc_peering_connection()
                .vpc_id(req_str(f, "vpc_id")?)
                .peer_vpc_id(req_str(f, "peer_vpc_id")?)
                .peer_region(req_str(f, "peer_region")?)
                .peer_owner_id(req_str(f, "peer_owner_id")?)
                .tag_specifications(tag_spec(ResourceType::VpcPeeringConnection, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            Self::observe(out.vpc_peering_connection().ok_or_else(|| missing("peering connection"))?)
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let mut out = ReadResponse::default();
            for p in pcxs(&self.0, &req.ids, Operation::Read).await? {
                if !pcx_gone(pcx_status(&p)) {
                    let o = Self::observe(&p)?;
                    out.found.insert(o.id.clone(), o);
                }
            }
            Ok(out)
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(&req.after)).await?;
            }
            Ok(Fields::new())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteVpcPeeringConnection");
            let sent = self
                .0
                .ec2()
                .delete_vpc_peering_connection()
                .vpc_peering_connection_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete));
            if let Err(e) = sent {
                if e.kind != ErrorKind::Conflict {
                    return Err(e);
                }
                // Rejected, expired, failed or deleting: nothing to delete.
                let now = pcxs(&self.0, std::slice::from_ref(&req.id), Operation::Delete).await?;
                let status = now.first().and_then(pcx_status);
                if status.is_some() && !pcx_gone(status) {
                    return Err(e);
                }
            }
            wait_deleted("VPC peering connection", &req.id, Duration::from_secs(5 * 60), || async {
                let now = pcxs(&self.0, std::slice::from_ref(&req.id), Operation::Delete).await?;
                let status = now.first().and_then(pcx_status);
                // Terminal states count as gone.
                Ok(status.filter(|s: &&str| !pcx_gone(Some(*s)) || *s == "deleting").map(str::to_owned))
            })
            .await
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let now = pcxs(&self.0, &[id.to_owned()], Operation::Poll).await?;
            let Some(p) = now.first() else {
                return Ok(Readiness::Pending { status: "not visible yet".into() });
            };
            match pcx_status(p).unwrap_or("initiating-request") {
                // The request has reached the peer: the accepter can start.
                "pending-acceptance" | "active" | "provisioning" => {
                    Ok(Readiness::Ready { outputs: Self::observe(p)?.outputs })
                }
                s @ "initiating-request" => Ok(Readiness::Pending { status: s.to_owned() }),
                s => {
                    let why = p.status().and_then(|r| r.message()).unwrap_or_default();
                    Ok(Readiness::Failed { message: format!("VPC peering connection {id} is {s}: {why}") })
                }
            }
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            self.find_token(&req.token).await
        }
    }

    // ----- VpcPeeringConnectionAccepter ----------------------------------

    /// `aws:ec2:VpcPeeringConnectionAccepter` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct VpcPeeringAccepterProvider(pub(crate) Arc<Ctx>);

    /// Statuses of a connection that has been accepted.
    fn pcx_accepted(status: Option<&str>) -> bool {
        matches!(status, Some("active" | "provisioning"))
    }

    impl VpcPeeringAccepterProvider {
        fn observe(p: &Pcx) -> Result<Observed, ProviderError> {
            let id =
                p.vpc_peering_connection_id().ok_or_else(|| missing("peering connection ID"))?.to_owned();
            let requester = p.requester_vpc_info();
            let accepter = p.accepter_vpc_info();
            let inputs = fields([
                ("vpc_peering_connection_id", Value::from(id.as_str())),
                ("auto_accept", Value::Bool(pcx_accepted(pcx_status(p)))),
            ]);
            let outputs = fields([
                ("id", Value::from(id.as_str())),
                ("vpc_id", opt_value(accepter.and_then(|r| r.vpc_id()))),
                ("peer_vpc_id", opt_value(requester.and_then(|r| r.vpc_id()))),
                ("peer_region", opt_value(requester.and_then(|r| r.region()))),
                ("peer_owner_id", opt_value(requester.and_then(|r| r.owner_id()))),
            ]);
            Ok(Observed { id, inputs, outputs })
        }

        /// Accepts `id` when it waits for acceptance; returns what is there.
        async fn accept(&self, id: &str, op: Operation) -> Result<Observed, ProviderError> {
            let now = pcxs(&self.0, &[id.to_owned()], op).await?;
            let Some(p) = now.first() else {
                return Err(not_visible("VPC peering connection", id));
            };
            if pcx_status(p) != Some("pending-acceptance") {
                return Self::observe(p);
            }
            self.0.stats.count("AcceptVpcPeeringConnection");
            let sent = self
                .0
                .ec2()
                .accept_vpc_peering_connection()
                .vpc_peering_connection_id(id)
                .send()
                .await
                .map_err(|e| sdk_error(e, op));
            match sent {
                Ok(out) => Self::observe(out.vpc_peering_connection().unwrap_or(p)),
                // Accepted meanwhile (InvalidStateTransition): look again.
                Err(e) if e.kind == ErrorKind::Conflict => {
                    let now = pcxs(&self.0, &[id.to_owned()], op).await?;
                    match now.first() {
                        Some(p) if pcx_accepted(pcx_status(p)) => Self::observe(p),
                        _ => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
    }

    #[async_trait]
    impl ResourceProvider for VpcPeeringAccepterProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(5),
                update: Duration::from_secs(5),
                delete: Duration::from_secs(1),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(10 * 60),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            let id = req_str(f, "vpc_peering_connection_id")?;
            if bool_of(f, "auto_accept") {
                return self.accept(&id, Operation::Create).await;
            }
            let now = pcxs(&self.0, std::slice::from_ref(&id), Operation::Create).await?;
            match now.first() {
                Some(p) => Self::observe(p),
                None => Err(not_visible("VPC peering connection", &id)),
            }
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let mut out = ReadResponse::default();
            for p in pcxs(&self.0, &req.ids, Operation::Read).await? {
                if !pcx_gone(pcx_status(&p)) {
                    let o = Self::observe(&p)?;
                    out.found.insert(o.id.clone(), o);
                }
            }
            Ok(out)
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            // auto_accept turned on accepts; turned off changes nothing (an
            // acceptance cannot be undone).
            if req.changed.iter().any(|c| c == "auto_accept") && bool_of(&req.after, "auto_accept") {
                return Ok(self.accept(&req.id, Operation::Update).await?.outputs);
            }
            Ok(Fields::new())
        }

        async fn delete(&self, _req: DeleteRequest) -> Result<(), ProviderError> {
            // As in Terraform: the requester's connection owns the peering.
            Ok(())
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let now = pcxs(&self.0, &[id.to_owned()], Operation::Poll).await?;
            let Some(p) = now.first() else {
                return Ok(Readiness::Pending { status: "not visible yet".into() });
            };
            match pcx_status(p).unwrap_or("initiating-request") {
                "active" | "pending-acceptance" => {
                    Ok(Readiness::Ready { outputs: Self::observe(p)?.outputs })
                }
                s @ ("provisioning" | "initiating-request") => {
                    Ok(Readiness::Pending { status: s.to_owned() })
                }
                s => Ok(Readiness::Failed { message: format!("VPC peering connection {id} is {s}") }),
            }
        }

        async fn find(&self, _req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            // The accepter's side is not tagged; a repeated create is
            // harmless (see `create`).
            Ok(None)
        }
    }
}
