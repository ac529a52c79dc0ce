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
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGatewayVpcAttachment",
    outputs(id: TransitGatewayAttachmentId, arn: Arn, vpc_owner_id: AccountId),
    readiness = "on_available",
    validate = validate_vpc_attachment
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
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:TransitGatewayRoute",
    outputs(id: String),
    replace = "delete_before_create",
    readiness = "on_id",
    validate = validate_transit_gateway_route
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

#[cfg(any())] // PORTING: not yet on the kit
pub(crate) mod imp {
    use std::collections::{BTreeMap, BTreeSet};
    use std::future::Future;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{
        AutoAcceptSharedAttachmentsValue, CreateTransitGatewayVpcAttachmentRequestOptions,
        DefaultRouteTableAssociationValue, DefaultRouteTablePropagationValue, DnsSupportValue, Filter,
        ModifyTransitGatewayOptions, ModifyTransitGatewayVpcAttachmentRequestOptions, ResourceType, Tag,
        TransitGatewayRequestOptions, VpnEcmpSupportValue,
    };
    use infra_core::{Fields, Value};
    use infra_engine::provider::TAG_TOKEN;
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Operation, ProviderError,
        ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use super::DEFAULT_AMAZON_SIDE_ASN;
    use crate::ec2::sdk::{filter, missing, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{
        Ctx, bool_of, fields, int_of, list_value, opt_str, opt_value, req_str, sdk_error, str_list,
        tags_value, user_tags,
    };

    // ----- helpers shared with peering.rs -------------------------------

    /// The tokens of the creates a provider has sent. The transit gateway
    /// and peering APIs take no `ClientToken`, so when the executor retries
    /// a create (the first attempt timed out, its answer was lost) the
    /// provider first looks for what the earlier attempt made, by its
    /// `infra:token` tag, instead of making a second one.
    #[derive(Debug, Default)]
    pub(crate) struct Tokens(Mutex<BTreeSet<String>>);

    impl Tokens {
        /// True the first time `token` is seen.
        pub(crate) fn first(&self, token: &str) -> bool {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(token.to_owned())
        }
    }

    /// `enable` or `disable`, as the transit gateway options spell booleans.
    pub(crate) fn enable(on: bool) -> &'static str {
        if on { "enable" } else { "disable" }
    }

    /// An `enable`/`disable` option as a boolean (`default` when absent).
    pub(crate) fn enabled(value: Option<&str>, default: bool) -> bool {
        value.map_or(default, |v| v == "enable")
    }

    /// True when `tags` hold the engine's token tag with `token`. Filters
    /// are checked again on the client: some endpoints (the emulator) ignore
    /// tag filters on these calls.
    pub(crate) fn has_token(tags: &[Tag], token: &str) -> bool {
        tags.iter().any(|t| t.key() == Some(TAG_TOKEN) && t.value() == Some(token))
    }

    /// Attachment states in which the attachment no longer exists.
    pub(crate) fn attachment_gone(state: Option<&str>) -> bool {
        matches!(state, Some("deleted" | "deleting"))
    }

    /// Waits, after a delete call, until `state` reports the object gone
    /// (`None`, `deleted` or not found), for at most `limit`. Dependents
    /// need that: a transit gateway cannot be deleted while an attachment
    /// is `deleting`, nor a VPC while an attachment's interfaces remain.
    pub(crate) async fn wait_deleted<F, Fut>(
        what: &str,
        id: &str,
        limit: Duration,
        mut state: F,
    ) -> Result<(), ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<String>, ProviderError>>,
    {
        let began = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let last = match state().await {
                Ok(None) => return Ok(()),
                Ok(Some(s)) if s == "deleted" => return Ok(()),
                Ok(Some(s)) => s,
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
                Err(e) if e.kind.is_retryable() => "unknown".to_owned(),
                Err(e) => return Err(e),
            };
            if began.elapsed() >= limit {
                return Err(ProviderError::new(
                    ErrorKind::Transient,
                    format!("{what} {id} is still {last} {}s after the delete call", limit.as_secs()),
                )
                .with_code("DeleteTimeout"));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    // ----- TransitGateway ------------------------------------------------

    /// `aws:ec2:TransitGateway` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct TransitGatewayProvider(pub(crate) Arc<Ctx>, pub(crate) Tokens);

    impl TransitGatewayProvider {
        /// Transit gateways matching `filters`, in every state.
        async fn describe(
            &self,
            filters: Vec<Filter>,
            op: Operation,
        ) -> Result<Vec<aws_sdk_ec2::types::TransitGateway>, ProviderError> {
            let mut pages =
                self.0.ec2().describe_transit_gateways().set_filters(Some(filters)).into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeTransitGateways");
                let page = page.map_err(|e| sdk_error(e, op))?;
                out.extend(page.transit_gateways().iter().cloned());
            }
            Ok(out)
        }

        fn observe(&self, tgw: &aws_sdk_ec2::types::TransitGateway) -> Result<Observed, ProviderError> {
            let id = tgw.transit_gateway_id().ok_or_else(|| missing("transit gateway ID"))?.to_owned();
            let o = tgw.options();
            let flag = |v: Option<&str>, default: bool| Value::Bool(enabled(v, default));
            let inputs = fields([
                ("description", opt_value(tgw.description().filter(|d| !d.is_empty()))),
                (
                    "amazon_side_asn",
                    Value::from(o.and_then(|o| o.amazon_side_asn()).unwrap_or(DEFAULT_AMAZON_SIDE_ASN)),
                ),
                (
                    "auto_accept_shared_attachments",
                    flag(o.and_then(|o| o.auto_accept_shared_attachments()).map(|v| v.as_str()), false),
                ),
                (
                    "default_route_table_association",
                    flag(o.and_then(|o| o.default_route_table_association()).map(|v| v.as_str()), true),
                ),
                (
                    "default_route_table_propagation",
                    flag(o.and_then(|o| o.default_route_table_propagation()).map(|v| v.as_str()), true),
                ),
                ("dns_support", flag(o.and_then(|o| o.dns_support()).map(|v| v.as_str()), true)),
                ("vpn_ecmp_support", flag(o.and_then(|o| o.vpn_ecmp_support()).map(|v| v.as_str()), true)),
                ("tags", tags_value(tag_pairs(tgw.tags()))),
            ]);
            let owner = tgw.owner_id().unwrap_or_default();
            let arn = tgw.transit_gateway_arn().map_or_else(
                || format!("arn:aws:ec2:{}:{owner}:transit-gateway/{id}", self.0.region),
                str::to_owned,
            );
            let outputs = fields([
                ("id", Value::from(id.as_str())),
                ("arn", Value::from(arn)),
                (
                    "association_default_route_table_id",
                    opt_value(o.and_then(|o| o.association_default_route_table_id())),
                ),
                (
                    "propagation_default_route_table_id",
                    opt_value(o.and_then(|o| o.propagation_default_route_table_id())),
                ),
                ("owner_id", Value::from(owner)),
            ]);
            Ok(Observed { id, inputs, outputs })
        }

        async fn find_token(&self, token: &str) -> Result<Option<Observed>, ProviderError> {
            let found = self.describe(vec![token_filter(token)], Operation::Read).await?;
            found
                .iter()
                .filter(|t| has_token(t.tags(), token))
                .filter(|t| !matches!(t.state().map(|s| s.as_str()), Some("deleted" | "deleting")))
                .map(|t| self.observe(t))
                .next()
                .transpose()
        }
    }

    #[async_trait]
    impl ResourceProvider for TransitGatewayProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(240),
                update: Duration::from_secs(60),
                delete: Duration::from_secs(180),
                poll_interval: Duration::from_secs(15),
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
            let options =
                TransitGatewayRequestOptions::builder()
                    .amazon_side_asn(int_of(f, "amazon_side_asn").unwrap_or(DEFAULT_AMAZON_SIDE_ASN))
                    .auto_accept_shared_attachments(AutoAcceptSharedAttachmentsValue::from(enable(bool_of(
                        f,
                        "auto_accept_shared_attachments",
                    ))))
                    .default_route_table_association(DefaultRouteTableAssociationValue::from(enable(
                        bool_of(f, "default_route_table_association"),
                    )))
                    .default_route_table_propagation(DefaultRouteTablePropagationValue::from(enable(
                        bool_of(f, "default_route_table_propagation"),
                    )))
                    .dns_support(DnsSupportValue::from(enable(bool_of(f, "dns_support"))))
                    .vpn_ecmp_support(VpnEcmpSupportValue::from(enable(bool_of(f, "vpn_ecmp_support"))))
                    .build();
            self.0.stats.count("CreateTransitGateway");
            let mut call = self
                .0
                .ec2()
                .create_transit_gateway()
                .options(options)
                .tag_specifications(tag_spec(ResourceType::TransitGateway, f, &req.tags));
            if let Some(d) = opt_str(f, "description") {
                call = call.description(d);
            }
            let out = call.send().await.map_err(|e| sdk_error(e, Operation::Create))?;
            self.observe(out.transit_gateway().ok_or_else(|| missing("transit gateway"))?)
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let wanted: BTreeSet<&str> = req.ids.iter().map(String::as_str).collect();
            let found =
                self.describe(vec![filter("transit-gateway-id", req.ids.clone())], Operation::Read).await?;
            let mut out = ReadResponse::default();
            for tgw in &found {
                let live = !matches!(tgw.state().map(|s| s.as_str()), Some("deleted" | "deleting"));
                if live && tgw.transit_gateway_id().is_some_and(|id| wanted.contains(id)) {
                    let o = self.observe(tgw)?;
                    out.found.insert(o.id.clone(), o);
                }
            }
            Ok(out)
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            let mut options = ModifyTransitGatewayOptions::builder();
            let mut modify = false;
            let mut description = None;
            for name in &req.changed {
                let on = bool_of(f, name);
                match name.as_str() {
                    "description" => description = Some(opt_str(f, name).unwrap_or_default()),
                    "auto_accept_shared_attachments" => {
                        options = options.auto_accept_shared_attachments(
                            AutoAcceptSharedAttachmentsValue::from(enable(on)),
                        );
                    }
                    "default_route_table_association" => {
                        options = options.default_route_table_association(
                            DefaultRouteTableAssociationValue::from(enable(on)),
                        );
                    }
                    "default_route_table_propagation" => {
                        options = options.default_route_table_propagation(
                            DefaultRouteTablePropagationValue::from(enable(on)),
                        );
                    }
                    "dns_support" => options = options.dns_support(DnsSupportValue::from(enable(on))),
                    "vpn_ecmp_support" => {
                        options = options.vpn_ecmp_support(VpnEcmpSupportValue::from(enable(on)))
                    }
                    "tags" => {
                        sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(f)).await?;
                        continue;
                    }
                    _ => continue,
                }
                modify = true;
            }
            if !modify {
                return Ok(Fields::new());
            }
            self.0.stats.count("ModifyTransitGateway");
            let mut call =
                self.0.ec2().modify_transit_gateway().transit_gateway_id(&req.id).options(options.build());
            if let Some(d) = description {
                call = call.description(d);
            }
            let out = call.send().await.map_err(|e| sdk_error(e, Operation::Update))?;
            match out.transit_gateway() {
                Some(tgw) => Ok(self.observe(tgw)?.outputs),
                None => Ok(Fields::new()),
            }
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteTransitGateway");
            match self.0.ec2().delete_transit_gateway().transit_gateway_id(&req.id).send().await {
                Ok(_) => Ok(()),
                Err(e) => {
                    let e = sdk_error(e, Operation::Delete);
                    // IncorrectState: an attachment is still being deleted
                    // (a peer region may lag behind); worth retrying.
                    if e.code.as_deref() == Some("IncorrectState") {
                        Err(ProviderError { kind: ErrorKind::EventualConsistency, ..e })
                    } else {
                        Err(e)
                    }
                }
            }
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let found =
                self.describe(vec![filter("transit-gateway-id", [id.to_owned()])], Operation::Poll).await?;
            let Some(tgw) = found.iter().find(|t| t.transit_gateway_id() == Some(id)) else {
                return Ok(Readiness::Pending { status: "not visible yet".into() });
            };
            match tgw.state().map(|s| s.as_str()).unwrap_or("pending") {
                "available" => Ok(Readiness::Ready { outputs: self.observe(tgw)?.outputs }),
                s @ ("pending" | "modifying") => Ok(Readiness::Pending { status: s.to_owned() }),
                s => Ok(Readiness::Failed { message: format!("transit gateway {id} is {s}") }),
            }
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            self.find_token(&req.token).await
        }
    }

    // ----- TransitGatewayVpcAttachment ----------------------------------

    /// `aws:ec2:TransitGatewayVpcAttachment` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct TransitGatewayVpcAttachmentProvider(pub(crate) Arc<Ctx>, pub(crate) Tokens);

    impl TransitGatewayVpcAttachmentProvider {
        /// VPC attachments matching `filters`, in every state.
        async fn describe(
            &self,
            filters: Vec<Filter>,
            op: Operation,
        ) -> Result<Vec<aws_sdk_ec2::types::TransitGatewayVpcAttachment>, ProviderError> {
            let mut pages = self
                .0
                .ec2()
                .describe_transit_gateway_vpc_attachments()
                .set_filters(Some(filters))
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeTransitGatewayVpcAttachments");
                let page = page.map_err(|e| sdk_error(e, op))?;
                out.extend(page.transit_gateway_vpc_attachments().iter().cloned());
            }
            Ok(out)
        }

        /// The attachment `id`, if visible (in any state).
        async fn one(
            &self,
            id: &str,
            op: Operation,
        ) -> Result<Option<aws_sdk_ec2::types::TransitGatewayVpcAttachment>, ProviderError> {
            let found =
                self.describe(vec![filter("transit-gateway-attachment-id", [id.to_owned()])], op).await?;
            Ok(found.into_iter().find(|a| a.transit_gateway_attachment_id() == Some(id)))
        }

        fn observe(
            &self,
            a: &aws_sdk_ec2::types::TransitGatewayVpcAttachment,
        ) -> Result<Observed, ProviderError> {
            let id = a.transit_gateway_attachment_id().ok_or_else(|| missing("attachment ID"))?.to_owned();
            let mut subnets: Vec<String> = a.subnet_ids().to_vec();
            subnets.sort();
            let dns = a.options().and_then(|o| o.dns_support()).map(|v| v.as_str());
            let inputs = fields([
                ("transit_gateway_id", opt_value(a.transit_gateway_id())),
                ("vpc_id", opt_value(a.vpc_id())),
                ("subnet_ids", list_value(subnets)),
                ("dns_support", Value::Bool(enabled(dns, true))),
                ("tags", tags_value(tag_pairs(a.tags()))),
            ]);
            let owner = a.vpc_owner_id().unwrap_or_default();
            let outputs = fields([
                ("id", Value::from(id.as_str())),
                (
                    "arn",
                    Value::from(format!(
                        "arn:aws:ec2:{}:{owner}:transit-gateway-attachment/{id}",
                        self.0.region
                    )),
                ),
                ("vpc_owner_id", Value::from(owner)),
            ]);
            Ok(Observed { id, inputs, outputs })
        }

        async fn find_token(&self, token: &str) -> Result<Option<Observed>, ProviderError> {
            let found = self.describe(vec![token_filter(token)], Operation::Read).await?;
            found
                .iter()
                .filter(|a| has_token(a.tags(), token))
                .filter(|a| !attachment_gone(a.state().map(|s| s.as_str())))
                .map(|a| self.observe(a))
                .next()
                .transpose()
        }
    }

    #[async_trait]
    impl ResourceProvider for TransitGatewayVpcAttachmentProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(90),
                update: Duration::from_secs(60),
                delete: Duration::from_secs(90),
                poll_interval: Duration::from_secs(10),
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
            let options = CreateTransitGatewayVpcAttachmentRequestOptions::builder()
                .dns_support(DnsSupportValue::from(enable(bool_of(f, "dns_support"))))
                .build();
            self.0.stats.count("CreateTransitGatewayVpcAttachment");
            let out = self
                .0
                .ec2()
                .create_transit_gateway_vpc_attachment()
                .transit_gateway_id(req_str(f, "transit_gateway_id")?)
                .vpc_id(req_str(f, "vpc_id")?)
                .set_subnet_ids(Some(str_list(f, "subnet_ids")))
                .options(options)
                .tag_specifications(tag_spec(ResourceType::TransitGatewayAttachment, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            let a = out.transit_gateway_vpc_attachment().ok_or_else(|| missing("attachment"))?;
            let made = self.observe(a)?;
            // Tags the new attachment lacks are added now (the emulator
            // drops this call's tag specifications; AWS keeps them, and then
            // nothing is called).
            let have: BTreeMap<String, String> =
                tag_pairs(a.tags()).into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            let mut wanted = user_tags(f);
            wanted.extend(req.tags.clone());
            if wanted.iter().any(|(k, v)| have.get(k) != Some(v)) {
                sync_tags(&self.0, &made.id, &have, &wanted).await?;
            }
            Ok(made)
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let wanted: BTreeSet<&str> = req.ids.iter().map(String::as_str).collect();
            let found = self
                .describe(vec![filter("transit-gateway-attachment-id", req.ids.clone())], Operation::Read)
                .await?;
            let mut out = ReadResponse::default();
            for a in &found {
                let live = !attachment_gone(a.state().map(|s| s.as_str()));
                if live && a.transit_gateway_attachment_id().is_some_and(|id| wanted.contains(id)) {
                    let o = self.observe(a)?;
                    out.found.insert(o.id.clone(), o);
                }
            }
            Ok(out)
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            let mut call =
                self.0.ec2().modify_transit_gateway_vpc_attachment().transit_gateway_attachment_id(&req.id);
            let mut modify = false;
            for name in &req.changed {
                match name.as_str() {
                    "subnet_ids" => {
                        let before: BTreeSet<String> = str_list(&req.before, name).into_iter().collect();
                        let after: BTreeSet<String> = str_list(f, name).into_iter().collect();
                        for s in after.difference(&before) {
                            call = call.add_subnet_ids(s);
                            modify = true;
                        }
                        for s in before.difference(&after) {
                            call = call.remove_subnet_ids(s);
                            modify = true;
                        }
                    }
                    "dns_support" => {
                        call = call.options(
                            ModifyTransitGatewayVpcAttachmentRequestOptions::builder()
                                .dns_support(DnsSupportValue::from(enable(bool_of(f, name))))
                                .build(),
                        );
                        modify = true;
                    }
                    "tags" => sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(f)).await?,
                    _ => {}
                }
            }
            if !modify {
                return Ok(Fields::new());
            }
            self.0.stats.count("ModifyTransitGatewayVpcAttachment");
            let out = call.send().await.map_err(|e| sdk_error(e, Operation::Update))?;
            match out.transit_gateway_vpc_attachment() {
                Some(a) => Ok(self.observe(a)?.outputs),
                None => Ok(Fields::new()),
            }
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteTransitGatewayVpcAttachment");
            let sent = self
                .0
                .ec2()
                .delete_transit_gateway_vpc_attachment()
                .transit_gateway_attachment_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete));
            if let Err(e) = sent {
                // Already being deleted (an earlier attempt): wait for it.
                if e.kind != ErrorKind::Conflict {
                    return Err(e);
                }
                let state = self.one(&req.id, Operation::Delete).await?;
                let state = state.as_ref().and_then(|a| a.state()).map(|s| s.as_str());
                if state.is_some() && !attachment_gone(state) {
                    return Err(e);
                }
            }
            wait_deleted("transit gateway attachment", &req.id, Duration::from_secs(15 * 60), || async {
                let a = self.one(&req.id, Operation::Delete).await?;
                Ok(a.and_then(|a| a.state().map(|s| s.as_str().to_owned())))
            })
            .await
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let Some(a) = self.one(id, Operation::Poll).await? else {
                return Ok(Readiness::Pending { status: "not visible yet".into() });
            };
            match a.state().map(|s| s.as_str()).unwrap_or("pending") {
                // pendingAcceptance: a transit gateway shared from another
                // account accepts it there; nothing to wait for here.
                "available" | "pendingAcceptance" => {
                    Ok(Readiness::Ready { outputs: self.observe(&a)?.outputs })
                }
                s @ ("pending" | "modifying" | "initiating" | "initiatingRequest") => {
                    Ok(Readiness::Pending { status: s.to_owned() })
                }
                s => Ok(Readiness::Failed { message: format!("transit gateway attachment {id} is {s}") }),
            }
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            self.find_token(&req.token).await
        }
    }

    // ----- TransitGatewayRoute -------------------------------------------

    /// `aws:ec2:TransitGatewayRoute` through the EC2 API. Routes are not
    /// taggable and have no ID of their own: the ID is
    /// `<route table ID>_<destination>`.
    #[derive(Debug)]
    pub(crate) struct TransitGatewayRouteProvider(pub(crate) Arc<Ctx>);

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

    impl TransitGatewayRouteProvider {
        /// The static routes to `destinations` in route table `table`, by
        /// destination, with the route's state. One paginated call.
        async fn search(
            &self,
            table: &str,
            destinations: Vec<String>,
            op: Operation,
        ) -> Result<BTreeMap<String, (Observed, String)>, ProviderError> {
            let mut pages = self
                .0
                .ec2()
                .search_transit_gateway_routes()
                .transit_gateway_route_table_id(table)
                .filters(filter("type", ["static".to_owned()]))
                .filters(filter("route-search.exact-match", destinations))
                .into_paginator()
                .send();
            let mut out = BTreeMap::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("SearchTransitGatewayRoutes");
                let page = match page.map_err(|e| sdk_error(e, op)) {
                    Ok(p) => p,
                    // The route table is gone, and its routes with it.
                    Err(e) if e.kind == ErrorKind::NotFound => return Ok(BTreeMap::new()),
                    Err(e) => return Err(e),
                };
                for r in page.routes() {
                    let state = r.state().map(|s| s.as_str().to_owned()).unwrap_or_default();
                    let Some(cidr) = r.destination_cidr_block() else { continue };
                    if state == "deleted" || state == "deleting" {
                        continue;
                    }
                    let id = format!("{table}_{cidr}");
                    let attachment = r
                        .transit_gateway_attachments()
                        .iter()
                        .find_map(|a| a.transit_gateway_attachment_id());
                    // An active route always has a target; when the answer
                    // leaves it out (the emulator does), say it is unknown,
                    // so the recorded target is kept rather than erased.
                    let target = match attachment {
                        Some(a) => Value::from(a),
                        None if state == "active" => Value::Unknown,
                        None => Value::Null,
                    };
                    let inputs = fields([
                        ("destination_cidr_block", Value::from(cidr)),
                        ("transit_gateway_route_table_id", Value::from(table)),
                        ("transit_gateway_attachment_id", target),
                        ("blackhole", Value::Bool(state == "blackhole")),
                    ]);
                    let outputs = fields([("id", Value::from(id.as_str()))]);
                    out.insert(cidr.to_owned(), (Observed { id, inputs, outputs }, state));
                }
            }
            Ok(out)
        }
    }

    #[async_trait]
    impl ResourceProvider for TransitGatewayRouteProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(2),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(2),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            let table = req_str(f, "transit_gateway_route_table_id")?;
            let cidr = req_str(f, "destination_cidr_block")?;
            let attachment = opt_str(f, "transit_gateway_attachment_id");
            let blackhole = bool_of(f, "blackhole");
            self.0.stats.count("CreateTransitGatewayRoute");
            let mut call = self
                .0
                .ec2()
                .create_transit_gateway_route()
                .transit_gateway_route_table_id(&table)
                .destination_cidr_block(&cidr);
            if let Some(a) = &attachment {
                call = call.transit_gateway_attachment_id(a);
            }
            if blackhole {
                call = call.blackhole(true);
            }
            let id = format!("{table}_{cidr}");
            let inputs = fields([
                ("destination_cidr_block", Value::from(cidr.as_str())),
                ("transit_gateway_route_table_id", Value::from(table.as_str())),
                ("transit_gateway_attachment_id", opt_value(attachment.as_deref())),
                ("blackhole", Value::Bool(blackhole)),
            ]);
            if let Err(e) = call.send().await.map_err(|e| sdk_error(e, Operation::Create)) {
                // RouteAlreadyExists after a retried create: the route the
                // first attempt made is adopted when it is the one wanted.
                if e.kind != ErrorKind::Conflict {
                    return Err(e);
                }
                let found = self.search(&table, vec![cidr.clone()], Operation::Create).await?;
                return match found.get(&cidr) {
                    Some((o, _)) if o.inputs == inputs => Ok(o.clone()),
                    _ => Err(e),
                };
            }
            let outputs = fields([("id", Value::from(id.as_str()))]);
            Ok(Observed { id, inputs, outputs })
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            // One search per route table in the batch (routes have no
            // Describe call across tables).
            let mut tables: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for id in &req.ids {
                let (table, cidr) = split_route_id(id)?;
                tables.entry(table).or_default().push(cidr.to_owned());
            }
            let mut out = ReadResponse::default();
            for (table, cidrs) in tables {
                for (_, (o, _)) in self.search(table, cidrs, Operation::Read).await? {
                    if req.ids.contains(&o.id) {
                        out.found.insert(o.id.clone(), o);
                    }
                }
            }
            Ok(out)
        }

        async fn update(&self, _req: UpdateRequest) -> Result<Fields, ProviderError> {
            // Every field is force-new: nothing changes in place.
            Ok(Fields::new())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            let (table, cidr) = split_route_id(&req.id)?;
            self.0.stats.count("DeleteTransitGatewayRoute");
            self.0
                .ec2()
                .delete_transit_gateway_route()
                .transit_gateway_route_table_id(table)
                .destination_cidr_block(cidr)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            Ok(())
        }

        async fn poll(&self, id: &str) -> Result<Readiness, ProviderError> {
            let (table, cidr) = split_route_id(id)?;
            let found = self.search(table, vec![cidr.to_owned()], Operation::Poll).await?;
            match found.get(cidr) {
                None => Ok(Readiness::Pending { status: "not visible yet".into() }),
                Some((o, state)) if state == "active" || state == "blackhole" => {
                    Ok(Readiness::Ready { outputs: o.outputs.clone() })
                }
                Some((_, state)) => Ok(Readiness::Pending { status: state.clone() }),
            }
        }

        async fn find(&self, _req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            // Routes carry no tags to find them by; a repeated create adopts
            // an identical route instead (see `create`).
            Ok(None)
        }
    }
}
