//! Transit gateways (`aws_ec2_transit_gateway`), their VPC attachments and
//! static routes. Peering attachments between transit gateways are in
//! `peering.rs`.

use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{
    AccountId, Arn, SubnetId, TransitGatewayAttachmentId, TransitGatewayId, TransitGatewayRouteTableId, VpcId,
};

/// The autonomous system number of Amazon's side of a transit gateway
/// unless another is given.
pub const DEFAULT_AMAZON_SIDE_ASN: i64 = 64512;

/// A transit gateway (`aws_ec2_transit_gateway`): a regional router that
/// VPCs attach to and that peers with transit gateways in other regions.
/// Takes minutes to become available.
///
/// The option flags are `enable`/`disable` in the API; here they are
/// booleans, and [`Default`] gives AWS's defaults.
///
/// Outputs: `tgw.id()` (`TransitGatewayId`), `tgw.arn()` (`Arn`),
/// `tgw.association_default_route_table_id()` and
/// `tgw.propagation_default_route_table_id()` (`TransitGatewayRouteTableId`)
/// and `tgw.owner_id()` (`AccountId`, e.g. for a peering's
/// `peer_account_id`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::TransitGateway;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let tgw = stack.add("tgw", TransitGateway {
///     description: Some("regional router".into()),
///     amazon_side_asn: 64601,
///     ..Default::default() // AWS's defaults for the rest
/// });
/// stack.export("transit_gateway_id", tgw.id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGateway",
    outputs(
        id: TransitGatewayId,
        arn: Arn,
        association_default_route_table_id: TransitGatewayRouteTableId,
        propagation_default_route_table_id: TransitGatewayRouteTableId,
        owner_id: AccountId,
    ),
    readiness = "on_available",
    validate = validate_transit_gateway
)]
pub struct TransitGateway {
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The private ASN of Amazon's side of BGP sessions: 64512–65534 or
    /// 4200000000–4294967294 (default [`DEFAULT_AMAZON_SIDE_ASN`]).
    #[resource(force_new)]
    pub amazon_side_asn: i64,
    /// Accept attachment requests from other accounts automatically.
    pub auto_accept_shared_attachments: bool,
    /// Associate new attachments with the default route table.
    pub default_route_table_association: bool,
    /// Propagate new attachments' routes into the default route table.
    pub default_route_table_propagation: bool,
    /// Resolve public DNS names of attached VPCs to private addresses.
    pub dns_support: bool,
    /// Equal-cost multi-path routing over VPN connections.
    pub vpn_ecmp_support: bool,
    /// Tags (the stack and address tags are added automatically).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Default for TransitGateway {
    /// AWS's defaults: ASN 64512, default route table association and
    /// propagation, DNS support and VPN ECMP on, shared attachments not
    /// accepted automatically.
    fn default() -> Self {
        TransitGateway {
            description: None,
            amazon_side_asn: DEFAULT_AMAZON_SIDE_ASN,
            auto_accept_shared_attachments: false,
            default_route_table_association: true,
            default_route_table_propagation: true,
            dns_support: true,
            vpn_ecmp_support: true,
            tags: BTreeMap::new(),
        }
    }
}

fn validate_transit_gateway(tgw: &TransitGateway, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &tgw.tags);
    let asn = tgw.amazon_side_asn;
    if !(64512..=65534).contains(&asn) && !(4_200_000_000..=4_294_967_294).contains(&asn) {
        ctx.error(
            "amazon_side_asn",
            format!("{asn} is not a private ASN (64512-65534 or 4200000000-4294967294)"),
        );
    }
}

/// Attaches a VPC to a transit gateway (`aws_ec2_transit_gateway_vpc_attachment`)
/// through one subnet per availability zone. Takes a minute or two to
/// become available.
///
/// Outputs: `attachment.id()` (`TransitGatewayAttachmentId`),
/// `attachment.arn()` (`Arn`) and `attachment.vpc_owner_id()`
/// (`AccountId`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{Subnet, TransitGateway, TransitGatewayVpcAttachment, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let subnet = stack.add("tgw-a", Subnet {
///     vpc_id: vpc.id().into(),
///     cidr_block: "10.1.100.0/28".into(),
///     availability_zone: "us-east-1a".into(),
///     ..Default::default()
/// });
/// let tgw = stack.add("tgw", TransitGateway::default());
/// let attachment = stack.add(
///     "tgw-attachment",
///     TransitGatewayVpcAttachment::new(tgw.id(), vpc.id(), vec![subnet.id().into()]),
/// );
/// stack.export("attachment_id", attachment.id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGatewayVpcAttachment",
    outputs(id: TransitGatewayAttachmentId, arn: Arn, vpc_owner_id: AccountId),
    readiness = "on_available",
    validate = validate_vpc_attachment,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique
)]
pub struct TransitGatewayVpcAttachment {
    /// The transit gateway.
    #[resource(force_new)]
    pub transit_gateway_id: Input<TransitGatewayId>,
    /// The VPC.
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// The subnets the attachment's interfaces live in, at most one per
    /// availability zone (added and removed in place).
    #[resource(set)]
    pub subnet_ids: Vec<Input<SubnetId>>,
    /// DNS support through the attachment.
    pub dns_support: bool,
    /// Tags (the stack and address tags are added automatically).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// AWS's defaults (DNS support on); the gateway, VPC and subnets are
/// required.
impl Default for TransitGatewayVpcAttachment {
    fn default() -> Self {
        TransitGatewayVpcAttachment {
            transit_gateway_id: Input::default(),
            vpc_id: Input::default(),
            subnet_ids: Vec::new(),
            dns_support: true,
            tags: BTreeMap::new(),
        }
    }
}

impl TransitGatewayVpcAttachment {
    /// An attachment of `vpc_id` to `transit_gateway_id` through
    /// `subnet_ids`, with DNS support (AWS's default) and no tags.
    pub fn new(
        transit_gateway_id: impl Into<Input<TransitGatewayId>>,
        vpc_id: impl Into<Input<VpcId>>,
        subnet_ids: Vec<Input<SubnetId>>,
    ) -> Self {
        TransitGatewayVpcAttachment {
            transit_gateway_id: transit_gateway_id.into(),
            vpc_id: vpc_id.into(),
            subnet_ids,
            dns_support: true,
            tags: BTreeMap::new(),
        }
    }
}

fn validate_vpc_attachment(a: &TransitGatewayVpcAttachment, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &a.tags);
    if a.subnet_ids.is_empty() {
        ctx.error("subnet_ids", "an attachment needs at least one subnet");
    }
}

/// A static route in a transit gateway route table
/// (`aws_ec2_transit_gateway_route`): to an attachment, or a blackhole.
/// Its ID is `<route table ID>_<destination>`, as in Terraform.
///
/// Replaced delete-before-create: a route table holds one route per
/// destination, so the new route cannot exist beside the old one.
///
/// Outputs: `route.id()` (`String`, the ID above).
///
/// A route over a peering attachment needs the peering accepted first,
/// which it does not reference: add it with
/// `stack.add_with(.., Options::new().depends_on(&accepter))` (the
/// [`TransitGatewayPeeringAttachmentAccepter`](crate::ec2::TransitGatewayPeeringAttachmentAccepter)).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{TransitGateway, TransitGatewayRoute};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let tgw = stack.add("tgw", TransitGateway::default());
/// // Drop traffic to a retired range; set `transit_gateway_attachment_id`
/// // instead to send it to an attachment.
/// stack.add("retired-blackhole", TransitGatewayRoute {
///     destination_cidr_block: "10.99.0.0/16".into(),
///     transit_gateway_route_table_id: tgw.association_default_route_table_id().into(),
///     blackhole: true,
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGatewayRoute",
    outputs(id: String),
    replace = "delete_before_create",
    readiness = "on_id",
    validate = validate_transit_gateway_route,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique
)]
pub struct TransitGatewayRoute {
    /// The destination, e.g. `10.2.0.0/16`.
    #[resource(force_new)]
    pub destination_cidr_block: String,
    /// The transit gateway route table (e.g. a transit gateway's
    /// `association_default_route_table_id`).
    #[resource(force_new)]
    pub transit_gateway_route_table_id: Input<TransitGatewayRouteTableId>,
    /// The attachment traffic goes to; unset for a blackhole route.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transit_gateway_attachment_id: Option<Input<TransitGatewayAttachmentId>>,
    /// Drop traffic to the destination.
    #[resource(force_new)]
    pub blackhole: bool,
}

fn validate_transit_gateway_route(r: &TransitGatewayRoute, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    super::check_cidr(ctx, "destination_cidr_block", &r.destination_cidr_block);
    match (r.blackhole, r.transit_gateway_attachment_id.is_some()) {
        (true, true) => ctx.error(
            "transit_gateway_attachment_id",
            "a blackhole route has no attachment; set either blackhole or transit_gateway_attachment_id",
        ),
        (false, false) => ctx.error(
            "transit_gateway_attachment_id",
            "a route needs a target: set transit_gateway_attachment_id, or blackhole = true",
        ),
        _ => {}
    }
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use std::collections::BTreeSet;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{
        AutoAcceptSharedAttachmentsValue, CreateTransitGatewayVpcAttachmentRequestOptions,
        DefaultRouteTableAssociationValue, DefaultRouteTablePropagationValue, DnsSupportValue, Filter,
        ModifyTransitGatewayOptions, ModifyTransitGatewayVpcAttachmentRequestOptions, ResourceType,
        TransitGatewayRequestOptions, VpnEcmpSupportValue,
    };
    use infra_core::{Identifier, Value};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::*;
    use crate::ec2::sdk::{describe, filter, lookup_filters, tag_map, tags_spec};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, settle, user_tags};

    // ----- helpers (also for peering.rs) --------------------------------

    /// `enable` or `disable`, as the transit gateway options spell booleans.
    pub(crate) fn enable(on: bool) -> &'static str {
        if on { "enable" } else { "disable" }
    }

    /// An `enable`/`disable` option as a boolean (`default` when absent).
    pub(crate) fn enabled(value: Option<&str>, default: bool) -> bool {
        value.map_or(default, |v| v == "enable")
    }

    /// Attachment states in which the attachment no longer exists.
    pub(crate) fn attachment_gone(state: Option<&str>) -> bool {
        matches!(state, Some("deleted" | "deleting"))
    }

    /// Where a gateway, attachment or route stands by its `state`; `ready`
    /// are the states it is usable in.
    fn status(what: &str, id: &str, state: Option<&str>, ready: &[&str]) -> Status {
        match state.unwrap_or("pending") {
            s if ready.contains(&s) => Status::Ready,
            "deleting" => Status::Deleting("deleting".into()),
            "deleted" => Status::Gone,
            s @ ("pending" | "modifying" | "initiating" | "initiatingRequest") => {
                Status::Pending(s.to_owned())
            }
            s => Status::Failed(format!("{what} {id} is {s}")),
        }
    }

    // ----- TransitGateway ------------------------------------------------

    /// `aws:ec2:TransitGateway` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct TransitGatewayKind;

    #[async_trait]
    impl Kind for TransitGatewayKind {
        type Decl = TransitGateway;
        type Out = TransitGatewayOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(240, 60, 180, 15, 20 * 60);
        /// The delete returns while the gateway is `deleting`.
        const DELETE_WAITS: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, TransitGateway>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "transit-gateway-id", |_| None) else {
                return Ok(Vec::new());
            };
            let tgws = describe!(cx, describe_transit_gateways, set_filters(filters) => transit_gateways, "DescribeTransitGateways")?;
            tgws.iter()
                .map(|tgw| {
                    let id =
                        tgw.transit_gateway_id().ok_or_else(|| missing("transit gateway ID"))?.to_owned();
                    let o = tgw.options();
                    let tags = tag_map(tgw.tags());
                    let decl = TransitGateway {
                        description: tgw.description().filter(|d| !d.is_empty()).map(str::to_owned),
                        amazon_side_asn: o
                            .and_then(|o| o.amazon_side_asn())
                            .unwrap_or(DEFAULT_AMAZON_SIDE_ASN),
                        auto_accept_shared_attachments: enabled(
                            o.and_then(|o| o.auto_accept_shared_attachments()).map(|v| v.as_str()),
                            false,
                        ),
                        default_route_table_association: enabled(
                            o.and_then(|o| o.default_route_table_association()).map(|v| v.as_str()),
                            true,
                        ),
                        default_route_table_propagation: enabled(
                            o.and_then(|o| o.default_route_table_propagation()).map(|v| v.as_str()),
                            true,
                        ),
                        dns_support: enabled(o.and_then(|o| o.dns_support()).map(|v| v.as_str()), true),
                        vpn_ecmp_support: enabled(
                            o.and_then(|o| o.vpn_ecmp_support()).map(|v| v.as_str()),
                            true,
                        ),
                        tags: user_tags(&tags),
                    };
                    let owner = tgw.owner_id().unwrap_or_default();
                    let arn = tgw.transit_gateway_arn().map_or_else(
                        || cx.arn("ec2", owner, &format!("transit-gateway/{id}")),
                        str::to_owned,
                    );
                    let table =
                        |t: Option<&str>| TransitGatewayRouteTableId::unchecked(t.unwrap_or_default());
                    let out = TransitGatewayOut {
                        id: TransitGatewayId::unchecked(&id),
                        arn: Arn::unchecked(arn),
                        association_default_route_table_id: table(
                            o.and_then(|o| o.association_default_route_table_id()),
                        ),
                        propagation_default_route_table_id: table(
                            o.and_then(|o| o.propagation_default_route_table_id()),
                        ),
                        owner_id: AccountId::unchecked(owner),
                    };
                    let status =
                        status("transit gateway", &id, tgw.state().map(|s| s.as_str()), &["available"]);
                    Ok(Seen { id, decl, out, tags, status })
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &TransitGateway,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            // CreateTransitGateway takes no ClientToken: a lost create is
            // found by its token tag.
            let options = TransitGatewayRequestOptions::builder()
                .amazon_side_asn(d.amazon_side_asn)
                .auto_accept_shared_attachments(enable(d.auto_accept_shared_attachments).into())
                .default_route_table_association(enable(d.default_route_table_association).into())
                .default_route_table_propagation(enable(d.default_route_table_propagation).into())
                .dns_support(enable(d.dns_support).into())
                .vpn_ecmp_support(enable(d.vpn_ecmp_support).into())
                .build();
            let call = cx
                .ec2()
                .create_transit_gateway()
                .options(options)
                .set_description(d.description.clone())
                .tag_specifications(tags_spec(ResourceType::TransitGateway, tags));
            let out = cx.send("CreateTransitGateway", Operation::Create, || call.clone().send()).await?;
            out.transit_gateway
                .and_then(|t| t.transit_gateway_id)
                .ok_or_else(|| missing("transit gateway ID"))
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, TransitGateway>,
        ) -> Result<(), ProviderError> {
            let (after, changed) = (change.after, change.fields);
            let mut call = cx.ec2().modify_transit_gateway().transit_gateway_id(id);
            let mut options = ModifyTransitGatewayOptions::builder();
            for name in changed {
                options = match name.as_str() {
                    "description" => {
                        call = call.description(after.description.clone().unwrap_or_default());
                        options
                    }
                    "auto_accept_shared_attachments" => options.auto_accept_shared_attachments(
                        AutoAcceptSharedAttachmentsValue::from(enable(after.auto_accept_shared_attachments)),
                    ),
                    "default_route_table_association" => {
                        options.default_route_table_association(DefaultRouteTableAssociationValue::from(
                            enable(after.default_route_table_association),
                        ))
                    }
                    "default_route_table_propagation" => {
                        options.default_route_table_propagation(DefaultRouteTablePropagationValue::from(
                            enable(after.default_route_table_propagation),
                        ))
                    }
                    "dns_support" => options.dns_support(DnsSupportValue::from(enable(after.dns_support))),
                    "vpn_ecmp_support" => {
                        options.vpn_ecmp_support(VpnEcmpSupportValue::from(enable(after.vpn_ecmp_support)))
                    }
                    _ => options,
                };
            }
            let call = call.options(options.build());
            cx.send("ModifyTransitGateway", Operation::Update, || call.clone().send()).await.map(|_| ())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &TransitGateway) -> Result<(), ProviderError> {
            let call = cx.ec2().delete_transit_gateway().transit_gateway_id(id);
            match cx.send("DeleteTransitGateway", Operation::Delete, || call.clone().send()).await {
                // IncorrectState: an attachment is still being deleted (a
                // peer region may lag behind); worth retrying.
                Err(e) if e.code.as_deref() == Some("IncorrectState") => {
                    Err(ProviderError { kind: ErrorKind::EventualConsistency, ..e })
                }
                other => other.map(|_| ()),
            }
        }
    }

    // ----- TransitGatewayVpcAttachment ----------------------------------

    /// `aws:ec2:TransitGatewayVpcAttachment` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct TransitGatewayVpcAttachmentKind;

    /// VPC attachments matching `filters`, in every state.
    async fn vpc_attachments(
        cx: &Ctx,
        filters: Vec<Filter>,
    ) -> Result<Vec<aws_sdk_ec2::types::TransitGatewayVpcAttachment>, ProviderError> {
        describe!(cx, describe_transit_gateway_vpc_attachments, set_filters(filters) => transit_gateway_vpc_attachments, "DescribeTransitGatewayVpcAttachments")
    }

    #[async_trait]
    impl Kind for TransitGatewayVpcAttachmentKind {
        type Decl = TransitGatewayVpcAttachment;
        type Out = TransitGatewayVpcAttachmentOut;
        const SERVICE: Service = Service::Ec2;
        // The emulator drops this call's tags; they go in a second call.
        const ADOPT_UNTAGGED: bool = true;
        const TIMINGS: Timings = Timings::secs(90, 60, 90, 10, 20 * 60);
        /// The delete returns while the attachment is `deleting`; a transit
        /// gateway cannot be deleted before, nor a VPC while the
        /// attachment's interfaces remain.
        const DELETE_WAITS: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, TransitGatewayVpcAttachment>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            // The natural key: AWS attaches a VPC to a transit gateway once.
            // It finds an attachment whose tags were lost: the emulator drops
            // the create call's tags, and a process that died before the
            // follow-up CreateTags left it untagged.
            let key = |d: &TransitGatewayVpcAttachment| {
                Some(vec![
                    filter("transit-gateway-id", [d.transit_gateway_id.id().to_owned()]),
                    filter("vpc-id", [d.vpc_id.id().to_owned()]),
                ])
            };
            let Some(filters) = lookup_filters(&by, "transit-gateway-attachment-id", key) else {
                return Ok(Vec::new());
            };
            let mut seen = vpc_attachments(cx, filters)
                .await?
                .iter()
                .map(|a| {
                    let id =
                        a.transit_gateway_attachment_id().ok_or_else(|| missing("attachment ID"))?.to_owned();
                    let mut subnets = a.subnet_ids().to_vec();
                    subnets.sort();
                    let tags = tag_map(a.tags());
                    let decl = TransitGatewayVpcAttachment {
                        transit_gateway_id: Input::Value(TransitGatewayId::unchecked(
                            a.transit_gateway_id().unwrap_or_default(),
                        )),
                        vpc_id: Input::Value(VpcId::unchecked(a.vpc_id().unwrap_or_default())),
                        subnet_ids: subnets
                            .into_iter()
                            .map(|s| Input::Value(SubnetId::unchecked(s)))
                            .collect(),
                        dns_support: enabled(
                            a.options().and_then(|o| o.dns_support()).map(|v| v.as_str()),
                            true,
                        ),
                        tags: user_tags(&tags),
                    };
                    let owner = a.vpc_owner_id().unwrap_or_default();
                    let out = TransitGatewayVpcAttachmentOut {
                        id: TransitGatewayAttachmentId::unchecked(&id),
                        arn: Arn::unchecked(cx.arn(
                            "ec2",
                            owner,
                            &format!("transit-gateway-attachment/{id}"),
                        )),
                        vpc_owner_id: AccountId::unchecked(owner),
                    };
                    // pendingAcceptance: a transit gateway shared from
                    // another account accepts it there; nothing to wait for
                    // here.
                    let state = a.state().map(|s| s.as_str());
                    let status =
                        status("transit gateway attachment", &id, state, &["available", "pendingAcceptance"]);
                    Ok(Seen { id, decl, out, tags, status })
                })
                .collect::<Result<Vec<_>, ProviderError>>()?;
            // Checked again on the client: the emulator ignores some filters.
            if let Lookup::Key(d) = by {
                seen.retain(|s: &Seen<Self>| {
                    s.decl.transit_gateway_id.id() == d.transit_gateway_id.id()
                        && s.decl.vpc_id.id() == d.vpc_id.id()
                });
            }
            Ok(seen)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &TransitGatewayVpcAttachment,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            // No ClientToken: a lost create is found by its token tag, or by
            // its natural key when the tags were lost too.
            let options = CreateTransitGatewayVpcAttachmentRequestOptions::builder()
                .dns_support(enable(d.dns_support).into())
                .build();
            let call = cx
                .ec2()
                .create_transit_gateway_vpc_attachment()
                .transit_gateway_id(d.transit_gateway_id.id())
                .vpc_id(d.vpc_id.id())
                .set_subnet_ids(Some(d.subnet_ids.iter().map(|s| s.id().to_owned()).collect()))
                .options(options)
                .tag_specifications(tags_spec(ResourceType::TransitGatewayAttachment, tags));
            let out = cx
                .send("CreateTransitGatewayVpcAttachment", Operation::Create, || call.clone().send())
                .await?;
            let a = out.transit_gateway_vpc_attachment.ok_or_else(|| missing("attachment"))?;
            let id = a.transit_gateway_attachment_id().ok_or_else(|| missing("attachment ID"))?.to_owned();
            // Tags the new attachment lacks are added now (the emulator drops
            // this call's tag specifications; AWS keeps them, and then
            // nothing is called).
            let have = tag_map(a.tags());
            if tags.iter().any(|(k, v)| have.get(k) != Some(v)) {
                settle(|| crate::kit::sync_tags(self, cx, &id, &have, tags)).await?;
            }
            Ok(id)
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, TransitGatewayVpcAttachment>,
        ) -> Result<(), ProviderError> {
            let (before, after, changed) = (change.before, change.after, change.fields);
            let subnets = |d: &TransitGatewayVpcAttachment| -> BTreeSet<String> {
                d.subnet_ids.iter().map(|s| s.id().to_owned()).collect()
            };
            let (was, now) = (subnets(before), subnets(after));
            let mut call = cx.ec2().modify_transit_gateway_vpc_attachment().transit_gateway_attachment_id(id);
            for s in now.difference(&was) {
                call = call.add_subnet_ids(s);
            }
            for s in was.difference(&now) {
                call = call.remove_subnet_ids(s);
            }
            let dns = changed.iter().any(|c| c == "dns_support");
            if dns {
                let dns = DnsSupportValue::from(enable(after.dns_support));
                call = call.options(
                    ModifyTransitGatewayVpcAttachmentRequestOptions::builder().dns_support(dns).build(),
                );
            }
            if was == now && !dns {
                return Ok(());
            }
            cx.send("ModifyTransitGatewayVpcAttachment", Operation::Update, || call.clone().send())
                .await
                .map(|_| ())
        }

        async fn delete(
            &self,
            cx: &Ctx,
            id: &str,
            _: &TransitGatewayVpcAttachment,
        ) -> Result<(), ProviderError> {
            let call = cx.ec2().delete_transit_gateway_vpc_attachment().transit_gateway_attachment_id(id);
            match cx
                .send("DeleteTransitGatewayVpcAttachment", Operation::Delete, || call.clone().send())
                .await
            {
                Ok(_) => Ok(()),
                // Already being deleted (an earlier attempt): the engine
                // waits for it.
                Err(e) if e.kind == ErrorKind::Conflict => {
                    let found =
                        vpc_attachments(cx, vec![filter("transit-gateway-attachment-id", [id.to_owned()])])
                            .await?;
                    let a = found.iter().find(|a| a.transit_gateway_attachment_id() == Some(id));
                    let state = a.and_then(|a| a.state()).map(|s| s.as_str());
                    if state.is_some() && !attachment_gone(state) { Err(e) } else { Ok(()) }
                }
                Err(e) => Err(e),
            }
        }
    }

    // ----- TransitGatewayRoute -------------------------------------------

    /// `aws:ec2:TransitGatewayRoute` through the EC2 API. Routes are not
    /// taggable and have no ID of their own: the ID is
    /// `<route table ID>_<destination>`, and a lost create is found by its
    /// natural key (route table, destination).
    #[derive(Debug)]
    pub(crate) struct TransitGatewayRouteKind;

    /// Splits a route ID into its route table and destination.
    fn split_route_id(id: &str) -> Result<(&str, &str), ProviderError> {
        id.split_once('_').ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Final,
                format!("{id:?} is not a transit gateway route ID (<route table ID>_<destination>)"),
            )
            .with_code("InvalidInput")
        })
    }

    /// The static routes to `cidrs` in route table `table`, in every state.
    async fn routes(
        cx: &Ctx,
        table: &str,
        cidrs: Vec<String>,
    ) -> Result<Vec<Seen<TransitGatewayRouteKind>>, ProviderError> {
        let found = cx
            .paged(|next| {
                let call = cx
                    .ec2()
                    .search_transit_gateway_routes()
                    .transit_gateway_route_table_id(table)
                    .filters(filter("type", ["static".to_owned()]))
                    .filters(filter("route-search.exact-match", cidrs.clone()))
                    .set_next_token(next);
                async move {
                    let out = cx
                        .send("SearchTransitGatewayRoutes", Operation::Read, || call.clone().send())
                        .await?;
                    Ok((out.routes.unwrap_or_default(), out.next_token))
                }
            })
            .await;
        let found = match found {
            Ok(found) => found,
            // The route table is gone, and its routes with it.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let seen = found.iter().filter_map(|r| {
            let cidr = r.destination_cidr_block()?;
            let state = r.state().map(|s| s.as_str());
            let id = format!("{table}_{cidr}");
            let attachment =
                r.transit_gateway_attachments().iter().find_map(|a| a.transit_gateway_attachment_id());
            // An active route always has a target; when the answer leaves
            // it out (the emulator does), say it is unknown, so the recorded
            // target is kept rather than erased.
            let target = match attachment {
                Some(a) => Some(Input::Value(TransitGatewayAttachmentId::unchecked(a))),
                None if state == Some("active") => Some(Input::Expr(Value::Unknown)),
                None => None,
            };
            let decl = TransitGatewayRoute {
                destination_cidr_block: cidr.to_owned(),
                transit_gateway_route_table_id: Input::Value(TransitGatewayRouteTableId::unchecked(table)),
                transit_gateway_attachment_id: target,
                blackhole: state == Some("blackhole"),
            };
            let status = status("transit gateway route", &id, state, &["active", "blackhole"]);
            Some(Seen { id: id.clone(), decl, out: TransitGatewayRouteOut { id }, tags: Tags::new(), status })
        });
        Ok(seen.collect())
    }

    #[async_trait]
    impl Kind for TransitGatewayRouteKind {
        type Decl = TransitGatewayRoute;
        type Out = TransitGatewayRouteOut;
        const SERVICE: Service = Service::Ec2;
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 300);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, TransitGatewayRoute>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => {
                    // One search per route table in the batch (routes have
                    // no Describe call across tables).
                    let mut tables: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                    for id in ids {
                        let (table, cidr) = split_route_id(id)?;
                        tables.entry(table).or_default().push(cidr.to_owned());
                    }
                    let mut seen = Vec::new();
                    for (table, cidrs) in tables {
                        seen.extend(routes(cx, table, cidrs).await?);
                    }
                    Ok(seen)
                }
                // Routes carry no tags.
                Lookup::Tag(..) => Ok(Vec::new()),
                Lookup::Key(d) => {
                    let table = d.transit_gateway_route_table_id.id();
                    let mut seen = routes(cx, table, vec![d.destination_cidr_block.clone()]).await?;
                    // Adopted only when it is the route wanted: the same
                    // target (one to an attachment the answer leaves out
                    // is not adopted).
                    fn target(r: &TransitGatewayRoute) -> (bool, Option<Option<&str>>) {
                        (
                            r.blackhole,
                            r.transit_gateway_attachment_id
                                .as_ref()
                                .map(|a| a.value().map(Identifier::as_str)),
                        )
                    }
                    seen.retain(|s| target(&s.decl) == target(d));
                    Ok(seen)
                }
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &TransitGatewayRoute,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let table = d.transit_gateway_route_table_id.id();
            let call = cx
                .ec2()
                .create_transit_gateway_route()
                .transit_gateway_route_table_id(table)
                .destination_cidr_block(&d.destination_cidr_block)
                .set_transit_gateway_attachment_id(
                    d.transit_gateway_attachment_id.as_ref().map(|a| a.id().to_owned()),
                )
                .set_blackhole(d.blackhole.then_some(true));
            cx.send("CreateTransitGatewayRoute", Operation::Create, || call.clone().send()).await?;
            Ok(format!("{table}_{}", d.destination_cidr_block))
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &TransitGatewayRoute) -> Result<(), ProviderError> {
            let (table, cidr) = split_route_id(id)?;
            let call = cx
                .ec2()
                .delete_transit_gateway_route()
                .transit_gateway_route_table_id(table)
                .destination_cidr_block(cidr);
            cx.send("DeleteTransitGatewayRoute", Operation::Delete, || call.clone().send()).await.map(|_| ())
        }
    }
}
