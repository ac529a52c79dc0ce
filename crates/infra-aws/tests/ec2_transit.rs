//! Cross-region connectivity on the emulator: transit gateways, their VPC
//! and peering attachments (us-east-1 → eu-west-1, accepted in eu-west-1),
//! static routes, and VPC peering across regions. Each type goes through
//! create, a refreshed plan that is empty, an in-place update, a
//! replacement in the right order and destroy (see ec2_lifecycle.rs);
//! the peerings are also checked from both regions through the SDK.
//!
//! What moto 5.2.5 cannot show, and is therefore not asserted here:
//! - Everything is ready at once: no transit gateway is ever `pending`, no
//!   peering attachment passes through `pending` after its acceptance, no
//!   delete is ever `deleting`, so the readiness and delete waits return on
//!   their first look.
//! - `ClientToken` does not exist on these APIs; a retried create that
//!   finds what its first attempt made is not exercised.
//! - A transit gateway route's attachment is not returned by
//!   SearchTransitGatewayRoutes (moto serializes it as an empty list), so a
//!   route to an attachment cannot read back its target: it is checked by
//!   apply and destroy through the SDK, and the converged-plan lifecycle
//!   uses blackhole routes, which read back completely.
//! - CreateTransitGatewayVpcAttachment drops its tag specifications (the
//!   provider adds missing tags after create; on AWS that call never
//!   happens).
//! - DescribeVpcPeeringConnections ignores filters, and
//!   DescribeTransitGatewayVpcAttachments ignores tag filters (the
//!   provider checks them again on the client).
//! - A duplicate CreateTransitGatewayRoute overwrites instead of failing
//!   with RouteAlreadyExists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use common::{REGIONS, addr, lifecycle, stack, world};
use infra_aws::ec2::{
    DEFAULT_AMAZON_SIDE_ASN, Subnet, TransitGateway, TransitGatewayPeeringAttachment,
    TransitGatewayPeeringAttachmentAccepter, TransitGatewayRoute, TransitGatewayVpcAttachment, Vpc,
    VpcPeeringConnection, VpcPeeringConnectionAccepter,
};
use infra_core::{Handle, Options, ProviderKey, ReplaceOrder, Stack, Value};

fn tags(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("Name".to_string(), format!("v{}", v.min(1)))])
}

fn on(key: &ProviderKey) -> Options {
    Options::new().provider(key)
}

fn vpc(s: &mut Stack, key: &ProviderKey, name: &str, cidr: &str) -> Handle<Vpc> {
    s.add_with(name, Vpc { cidr_block: cidr.into(), enable_dns_support: true, ..Default::default() }, on(key))
}

fn subnet(
    s: &mut Stack,
    key: &ProviderKey,
    name: &str,
    vpc: &Handle<Vpc>,
    cidr: &str,
    az: &str,
) -> Handle<Subnet> {
    s.add_with(
        name,
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: cidr.into(),
            availability_zone: az.into(),
            map_public_ip_on_launch: false,
            tags: BTreeMap::new(),
        },
        on(key),
    )
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_else(|| panic!("not a string: {v:?}")).to_owned()
}

/// v1 changes the description, tags and two options in place; v2 changes
/// the (force-new) Amazon-side ASN, which replaces both gateways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_gateway() {
    lifecycle(
        "tgw",
        |s, us, eu, v| {
            for key in [us, eu] {
                s.add_with(
                    &format!("tgw-{}", key.0.replace('.', "-")),
                    TransitGateway {
                        description: Some(format!("hub v{}", v.min(1))),
                        amazon_side_asn: if v == 2 { 64513 } else { DEFAULT_AMAZON_SIDE_ASN },
                        auto_accept_shared_attachments: v >= 1,
                        dns_support: v == 0,
                        tags: tags(v),
                        ..Default::default()
                    },
                    on(key),
                );
            }
        },
        &["tgw-aws-us-east-1", "tgw-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// v1 adds a subnet (in another zone), turns DNS support off and changes
/// the tags, in place; v2 attaches another VPC, which replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_gateway_vpc_attachment() {
    lifecycle(
        "tgw-attach",
        |s, us, _eu, v| {
            let tgw = s.add_with("tgw", TransitGateway::default(), on(us));
            let vpc_a = vpc(s, us, "vpc-a", "10.1.0.0/16");
            let vpc_b = vpc(s, us, "vpc-b", "10.2.0.0/16");
            let a1 = subnet(s, us, "a-1", &vpc_a, "10.1.1.0/24", "us-east-1a");
            let a2 = subnet(s, us, "a-2", &vpc_a, "10.1.2.0/24", "us-east-1b");
            let b1 = subnet(s, us, "b-1", &vpc_b, "10.2.1.0/24", "us-east-1a");
            let (vpc, subnets) = match v {
                0 => (&vpc_a, vec![a1.id().into()]),
                // Listed in another order than the cloud reports them: the
                // field is a set.
                1 => (&vpc_a, vec![a2.id().into(), a1.id().into()]),
                _ => (&vpc_b, vec![b1.id().into()]),
            };
            s.add_with(
                "attach",
                TransitGatewayVpcAttachment {
                    dns_support: v == 0,
                    tags: tags(v),
                    ..TransitGatewayVpcAttachment::new(tgw.id(), vpc.id(), subnets)
                },
                on(us),
            );
        },
        &["attach"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// A blackhole route in the default route table (every field force-new):
/// v1 changes only the transit gateway's tags, v2 the destination, which
/// replaces the route, deleting it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_gateway_route() {
    lifecycle(
        "tgw-route",
        |s, us, _eu, v| {
            let tgw = s.add_with("tgw", TransitGateway { tags: tags(v), ..Default::default() }, on(us));
            s.add_with(
                "blackhole",
                TransitGatewayRoute {
                    destination_cidr_block: if v == 2 { "10.51.0.0/16" } else { "10.50.0.0/16" }.into(),
                    transit_gateway_route_table_id: tgw.association_default_route_table_id().into(),
                    transit_gateway_attachment_id: None,
                    blackhole: true,
                },
                on(us),
            );
        },
        &["blackhole"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// A route to a VPC attachment is created with its target and deleted
/// (checked through the SDK; see the module comment for why no plan is
/// checked here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_gateway_route_to_an_attachment() {
    let w = world();
    let (mut s, us, _eu) = stack("tgw-route-attach");
    let tgw = s.add_with("tgw", TransitGateway::default(), on(&us));
    let v = vpc(&mut s, &us, "vpc", "10.1.0.0/16");
    let sn = subnet(&mut s, &us, "subnet", &v, "10.1.1.0/24", "us-east-1a");
    let attach = s.add_with(
        "attach",
        TransitGatewayVpcAttachment::new(tgw.id(), v.id(), vec![sn.id().into()]),
        on(&us),
    );
    s.add_with(
        "route",
        TransitGatewayRoute {
            destination_cidr_block: "10.60.0.0/16".into(),
            transit_gateway_route_table_id: tgw.association_default_route_table_id().into(),
            transit_gateway_attachment_id: Some(attach.id().into()),
            blackhole: false,
        },
        on(&us),
    );
    w.apply(&s).await;
    let state = w.state("tgw-route-attach").await;
    let table = text(state.resources[&addr("tgw")].outputs.get("association_default_route_table_id"));
    assert_eq!(state.resources[&addr("route")].id, format!("{table}_10.60.0.0/16"));
    let ec2 = w.ec2(REGIONS[0]);
    let search = || {
        ec2.search_transit_gateway_routes()
            .transit_gateway_route_table_id(&table)
            .filters(Filter::builder().name("route-search.exact-match").values("10.60.0.0/16").build())
            .send()
    };
    let routes = search().await.unwrap();
    assert_eq!(routes.routes().len(), 1, "{routes:?}");
    assert_eq!(routes.routes()[0].state().map(|s| s.as_str()), Some("active"));
    w.destroy(&s).await;
    assert!(search().await.map(|r| r.routes().is_empty()).unwrap_or(true), "the route is still there");
}

/// The seed's shape: a transit gateway in us-east-1 peers with one in
/// eu-west-1; the accepter is bound to eu-west-1. v1 changes the
/// requester's tags; v2 peers with another eu-west-1 gateway, which
/// replaces the attachment and its accepter (create before destroy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_gateway_peering_across_regions() {
    lifecycle(
        "tgw-peering",
        |s, us, eu, v| {
            let local = s.add_with("tgw-us", TransitGateway::default(), on(us));
            let peer_a = s.add_with(
                "tgw-eu-a",
                TransitGateway { amazon_side_asn: 64513, ..Default::default() },
                on(eu),
            );
            let peer_b = s.add_with(
                "tgw-eu-b",
                TransitGateway { amazon_side_asn: 64514, ..Default::default() },
                on(eu),
            );
            let peer = if v == 2 { &peer_b } else { &peer_a };
            let attachment = s.add_with(
                "peering",
                TransitGatewayPeeringAttachment {
                    transit_gateway_id: local.id().into(),
                    peer_transit_gateway_id: peer.id().into(),
                    peer_region: REGIONS[1].into(),
                    peer_account_id: peer.owner_id().into(),
                    tags: tags(v),
                },
                on(us),
            );
            s.add_with(
                "accepter",
                TransitGatewayPeeringAttachmentAccepter {
                    transit_gateway_attachment_id: attachment.id().into(),
                },
                on(eu),
            );
        },
        &["peering", "accepter"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

fn tgw_peering_stack() -> (Stack, ProviderKey, ProviderKey) {
    let (mut s, us, eu) = stack("tgw-peering-check");
    let local = s.add_with("tgw-us", TransitGateway::default(), on(&us));
    let peer = s.add_with("tgw-eu", TransitGateway { amazon_side_asn: 64513, ..Default::default() }, on(&eu));
    let attachment = s.add_with(
        "peering",
        TransitGatewayPeeringAttachment {
            transit_gateway_id: local.id().into(),
            peer_transit_gateway_id: peer.id().into(),
            peer_region: REGIONS[1].into(),
            peer_account_id: peer.owner_id().into(),
            tags: BTreeMap::new(),
        },
        on(&us),
    );
    s.add_with(
        "accepter",
        TransitGatewayPeeringAttachmentAccepter { transit_gateway_attachment_id: attachment.id().into() },
        on(&eu),
    );
    (s, us, eu)
}

async fn tgw_peering_state(w: &common::World, region: &str, id: &str) -> Option<String> {
    let out = w
        .ec2(region)
        .describe_transit_gateway_peering_attachments()
        .transit_gateway_attachment_ids(id)
        .send();
    let out = out.await.unwrap();
    out.transit_gateway_peering_attachments().first().and_then(|a| a.state()).map(|s| s.as_str().to_owned())
}

/// After apply the attachment is accepted, as both regions see it; the
/// accepter reports the requester's side; a refresh reads each type with
/// one call per region; destroy deletes the attachment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_gateway_peering_is_accepted_in_the_peer_region() {
    let w = world();
    let (s, us, eu) = tgw_peering_stack();
    w.apply(&s).await;
    let state = w.state("tgw-peering-check").await;
    let id = state.resources[&addr("peering")].id.clone();
    assert_eq!(state.resources[&addr("accepter")].id, id);
    for region in REGIONS {
        assert_eq!(tgw_peering_state(&w, region, &id).await.as_deref(), Some("available"), "{region}");
    }
    let accepter = &state.resources[&addr("accepter")].outputs;
    assert_eq!(text(accepter.get("peer_region")), REGIONS[0]);
    assert_eq!(text(accepter.get("peer_transit_gateway_id")), state.resources[&addr("tgw-us")].id);
    assert_eq!(text(accepter.get("transit_gateway_id")), state.resources[&addr("tgw-eu")].id);

    for key in [&us, &eu] {
        w.stats(key).reset();
    }
    assert!(w.converged(&s).await, "the plan after apply is not empty");
    let eu_calls = w.stats(&eu).snapshot();
    assert_eq!(eu_calls.get("DescribeTransitGateways"), Some(&1), "{eu_calls:?}");
    assert_eq!(eu_calls.get("DescribeTransitGatewayPeeringAttachments"), Some(&1), "{eu_calls:?}");
    assert!(!eu_calls.keys().any(|k| k.starts_with("Accept")), "{eu_calls:?}");

    w.destroy(&s).await;
    for region in REGIONS {
        let after = tgw_peering_state(&w, region, &id).await;
        assert!(after.is_none() || after.as_deref() == Some("deleted"), "{region}: {after:?}");
    }
}

/// A VPC in us-east-1 peers with one in eu-west-1; the accepter is bound
/// to eu-west-1. v1 changes the requester's tags; v2 peers with another
/// eu-west-1 VPC, which replaces the connection and its accepter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpc_peering_across_regions() {
    lifecycle(
        "vpc-peering",
        |s, us, eu, v| {
            let local = vpc(s, us, "vpc-us", "10.1.0.0/16");
            let peer_a = vpc(s, eu, "vpc-eu-a", "10.2.0.0/16");
            let peer_b = vpc(s, eu, "vpc-eu-b", "10.3.0.0/16");
            let peer = if v == 2 { &peer_b } else { &peer_a };
            let pcx = s.add_with(
                "peering",
                VpcPeeringConnection {
                    vpc_id: local.id().into(),
                    peer_vpc_id: peer.id().into(),
                    peer_region: REGIONS[1].into(),
                    peer_owner_id: peer.owner_id().into(),
                    tags: tags(v),
                },
                on(us),
            );
            s.add_with(
                "accepter",
                VpcPeeringConnectionAccepter {
                    vpc_peering_connection_id: pcx.id().into(),
                    auto_accept: true,
                },
                on(eu),
            );
        },
        &["peering", "accepter"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

fn vpc_peering_stack(auto_accept: bool) -> Stack {
    let (mut s, us, eu) = stack("vpc-peering-check");
    let local = vpc(&mut s, &us, "vpc-us", "10.1.0.0/16");
    let peer = vpc(&mut s, &eu, "vpc-eu", "10.2.0.0/16");
    let pcx = s.add_with(
        "peering",
        VpcPeeringConnection {
            vpc_id: local.id().into(),
            peer_vpc_id: peer.id().into(),
            peer_region: REGIONS[1].into(),
            peer_owner_id: peer.owner_id().into(),
            tags: BTreeMap::new(),
        },
        on(&us),
    );
    s.add_with(
        "accepter",
        VpcPeeringConnectionAccepter { vpc_peering_connection_id: pcx.id().into(), auto_accept },
        on(&eu),
    );
    s
}

async fn pcx_status(w: &common::World, region: &str, id: &str) -> Option<String> {
    let out = w.ec2(region).describe_vpc_peering_connections().vpc_peering_connection_ids(id).send();
    let out = out.await.unwrap();
    out.vpc_peering_connections()
        .iter()
        .find(|p| p.vpc_peering_connection_id() == Some(id))
        .and_then(|p| p.status())
        .and_then(|s| s.code())
        .map(|c| c.as_str().to_owned())
}

/// An accepter without auto_accept leaves the request pending (and the
/// plan empty); turning auto_accept on accepts it in place, as both
/// regions see; destroy deletes the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpc_peering_is_accepted_in_the_peer_region() {
    let w = world();
    w.apply(&vpc_peering_stack(false)).await;
    let state = w.state("vpc-peering-check").await;
    let id = state.resources[&addr("peering")].id.clone();
    assert_eq!(state.resources[&addr("accepter")].id, id);
    assert_eq!(pcx_status(&w, REGIONS[1], &id).await.as_deref(), Some("pending-acceptance"));
    let accepter = &state.resources[&addr("accepter")].outputs;
    assert_eq!(text(accepter.get("peer_region")), REGIONS[0]);
    assert_eq!(text(accepter.get("peer_vpc_id")), state.resources[&addr("vpc-us")].id);
    assert_eq!(text(accepter.get("vpc_id")), state.resources[&addr("vpc-eu")].id);
    assert!(w.converged(&vpc_peering_stack(false)).await, "the plan of a pending peering is not empty");

    let (o, _) = w.apply(&vpc_peering_stack(true)).await;
    let change = o.plan.change(&addr("accepter")).unwrap();
    assert_eq!(change.action, infra_core::Action::Update, "{change:?}");
    for region in REGIONS {
        assert_eq!(pcx_status(&w, region, &id).await.as_deref(), Some("active"), "{region}");
    }
    assert!(w.converged(&vpc_peering_stack(true)).await, "the plan after accepting is not empty");

    w.destroy(&vpc_peering_stack(true)).await;
    for region in REGIONS {
        assert_eq!(pcx_status(&w, region, &id).await.as_deref(), Some("deleted"), "{region}");
    }
}
