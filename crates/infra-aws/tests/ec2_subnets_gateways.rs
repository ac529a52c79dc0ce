//! Emulator lifecycle tests (see ec2_lifecycle.rs for the pattern) of
//! subnets, internet gateways, Elastic IPs and NAT gateways, each in both
//! regions with its fixtures (VPCs, subnets, gateways) in the same stack,
//! plus the batched refresh and the provider calls moto lets us observe.
//!
//! moto gaps: every resource is available at once (a NAT gateway is never
//! `pending`, nor `deleting` after DeleteNatGateway), ClientToken is
//! ignored, `tag:` filters on DescribeNatGateways are ignored, a deleted NAT
//! gateway keeps its Elastic IP associated, and a NAT gateway's private IP
//! is not taken from its subnet. The tests do not rely on any of these.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{REGIONS, lifecycle};
use infra_aws::ec2::{ElasticIp, InternetGateway, NatGateway, Subnet, Vpc};
use infra_aws::sdk::AwsProvider;
use infra_core::{Handle, Options, ProviderConfig, ProviderKey, ReplaceOrder, Stack, Value};
use infra_engine::{DeleteRequest, Deletion, FindRequest, PollRequest, ReadRequest, Readiness};

/// `Name` = `v0`, then `v1` from version 1 on (with a second tag).
fn tags(v: u8) -> BTreeMap<String, String> {
    let mut t = BTreeMap::from([("Name".to_string(), format!("v{}", v.min(1)))]);
    if v >= 1 {
        t.insert("Tier".into(), "public".into());
    }
    t
}

/// `kind-aws-us-east-1`.
fn name(kind: &str, key: &ProviderKey) -> String {
    format!("{kind}-{}", key.0.replace('.', "-"))
}

/// Both provider instances with their region and a distinct second octet.
fn regions<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str, u8); 2] {
    [(us, REGIONS[0], 1), (eu, REGIONS[1], 2)]
}

fn vpc(s: &mut Stack, key: &ProviderKey, kind: &str, cidr: String) -> Handle<Vpc> {
    s.add_with(
        &name(kind, key),
        Vpc { cidr_block: cidr, enable_dns_support: true, ..Default::default() },
        Options::new().provider(key),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subnet() {
    lifecycle(
        "subnet",
        |s, us, eu, v| {
            for (key, region, octet) in regions(us, eu) {
                let vpc = vpc(s, key, "vpc", format!("10.{octet}.0.0/16"));
                // v1: map_public_ip_on_launch and tags in place. v2: a new
                // CIDR and zone (force-new); create-before-destroy needs a
                // block that does not overlap the old subnet's.
                let (third, zone) = if v == 2 { (2, "b") } else { (1, "a") };
                s.add_with(
                    &name("subnet", key),
                    Subnet {
                        vpc_id: vpc.id().into(),
                        cidr_block: format!("10.{octet}.{third}.0/24"),
                        availability_zone: format!("{region}{zone}"),
                        map_public_ip_on_launch: v >= 1,
                        tags: tags(v),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["subnet-aws-us-east-1", "subnet-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internet_gateway() {
    // An internet gateway has no force-new field: v1 moves it to a second
    // VPC (detach, attach) and retags it, v2 detaches it, both in place;
    // nothing is replaced.
    lifecycle(
        "igw",
        |s, us, eu, v| {
            for (key, _, octet) in regions(us, eu) {
                let a = vpc(s, key, "vpc-a", format!("10.{octet}.0.0/16"));
                let b = vpc(s, key, "vpc-b", format!("10.{}.0.0/16", octet + 10));
                let vpc_id = match v {
                    0 => Some(a.id().into()),
                    1 => Some(b.id().into()),
                    _ => None,
                };
                s.add_with(
                    &name("igw", key),
                    InternetGateway { vpc_id, tags: tags(v) },
                    Options::new().provider(key),
                );
            }
        },
        &[],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elastic_ip() {
    // An Elastic IP has only tags: v1 changes them, v2 removes them, both in
    // place; nothing is replaced.
    lifecycle(
        "eip",
        |s, us, eu, v| {
            for (key, _, _) in regions(us, eu) {
                let tags = if v == 2 { BTreeMap::new() } else { tags(v) };
                s.add_with(&name("eip", key), ElasticIp { tags }, Options::new().provider(key));
            }
        },
        &[],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// Per region: a VPC with an internet gateway, public subnets `a` and `b`
/// with an Elastic IP each, and a NAT gateway in `subnet` using `eip`.
fn nat_network(
    s: &mut Stack,
    key: &ProviderKey,
    region: &str,
    octet: u8,
    nat_in: &str,
    nat_tags: BTreeMap<String, String>,
) {
    let vpc = vpc(s, key, "vpc", format!("10.{octet}.0.0/16"));
    let on = |key: &ProviderKey| Options::new().provider(key);
    let igw = s.add_with(
        &name("igw", key),
        InternetGateway { vpc_id: Some(vpc.id().into()), tags: tags(0) },
        on(key),
    );
    let mut public = BTreeMap::new();
    for (third, zone) in [(1, "a"), (2, "b")] {
        let subnet = s.add_with(
            &name(&format!("public-{zone}"), key),
            Subnet {
                vpc_id: vpc.id().into(),
                cidr_block: format!("10.{octet}.{third}.0/24"),
                availability_zone: format!("{region}{zone}"),
                map_public_ip_on_launch: true,
                tags: tags(0),
            },
            on(key),
        );
        let eip = s.add_with(&name(&format!("eip-{zone}"), key), ElasticIp { tags: tags(0) }, on(key));
        public.insert(zone, (subnet, eip));
    }
    let (subnet, eip) = &public[nat_in];
    // A public NAT gateway needs the VPC's internet gateway, and must be
    // deleted before the gateway is detached.
    s.add_with(
        &name("nat", key),
        NatGateway {
            subnet_id: subnet.id().into(),
            allocation_id: Some(eip.id().into()),
            connectivity_type: None,
            tags: nat_tags,
        },
        on(key).depends_on(&igw),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nat_gateway() {
    // v1 retags it in place; v2 moves it to subnet `b` (force-new). The
    // replacement creates before it destroys, and an Elastic IP backs one
    // NAT gateway at a time on AWS, so v2 gives it subnet b's own Elastic
    // IP (moto would not notice a shared one). Destroy deletes it and waits
    // until it is `deleted` before releasing the Elastic IPs.
    lifecycle(
        "nat",
        |s, us, eu, v| {
            for (key, region, octet) in regions(us, eu) {
                nat_network(s, key, region, octet, if v == 2 { "b" } else { "a" }, tags(v));
            }
        },
        &["nat-aws-us-east-1", "nat-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

fn out<'a>(r: &'a infra_core::ResourceState, field: &str) -> &'a str {
    r.outputs.get(field).and_then(Value::as_str).unwrap_or_else(|| panic!("{}: no output {field}", r.id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_batches_reads_and_nat_reads() {
    let w = common::world();
    let build = || {
        let (mut s, us, eu) = common::stack("batch");
        for (key, region, octet) in regions(&us, &eu) {
            nat_network(&mut s, key, region, octet, "a", tags(0));
        }
        s
    };
    w.apply(&build()).await;

    // A refresh reads each type with one Describe call per region,
    // however many resources of the type there are.
    for (_, stats) in &w.stats {
        stats.reset();
    }
    assert!(w.converged(&build()).await);
    for (key, stats) in &w.stats {
        let calls = stats.snapshot();
        for op in ["DescribeSubnets", "DescribeInternetGateways", "DescribeAddresses", "DescribeNatGateways"]
        {
            assert_eq!(calls.get(op), Some(&1), "{key:?}: {op}: {calls:?}");
        }
        assert_eq!(stats.total("Create") + stats.total("Delete") + stats.total("Modify"), 0, "{calls:?}");
    }

    // Outputs.
    let state = w.state("batch").await;
    let at = |s: &str| state.resources.get(&common::addr(s)).unwrap_or_else(|| panic!("{s} not in state"));
    for (key, region) in [("aws-us-east-1", REGIONS[0]), ("aws-eu-west-1", REGIONS[1])] {
        let subnet = at(&format!("public-a-{key}"));
        assert!(out(subnet, "arn").starts_with(&format!("arn:aws:ec2:{region}:")), "{:?}", subnet.outputs);
        assert!(out(subnet, "arn").ends_with(&format!(":subnet/{}", subnet.id)), "{:?}", subnet.outputs);
        assert_eq!(out(subnet, "id"), subnet.id);
        assert!(!out(subnet, "availability_zone_id").is_empty());
        let igw = at(&format!("igw-{key}"));
        let account = out(subnet, "arn").split(':').nth(4).unwrap();
        assert_eq!(out(igw, "arn"), format!("arn:aws:ec2:{region}:{account}:internet-gateway/{}", igw.id));
        let eip = at(&format!("eip-a-{key}"));
        out(eip, "public_ip").parse::<Ipv4Addr>().unwrap();
        let nat = at(&format!("nat-{key}"));
        assert_eq!(out(nat, "public_ip"), out(eip, "public_ip"));
        // moto does not take the private IP from the subnet: only its shape.
        out(nat, "private_ip").parse::<Ipv4Addr>().unwrap();
    }

    // The NAT gateway provider, called directly in us-east-1.
    let region = REGIONS[0];
    let config = ProviderConfig::aws(region);
    let inst = AwsProvider::with_sdk_config(
        &config,
        infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap(),
    );
    let nat = inst.instance.get("aws:ec2:NatGateway").unwrap();
    let ec2 = w.ec2(region);
    let nat_a = at("nat-aws-us-east-1").id.clone();

    // A second NAT gateway (in subnet b), made outside the stack with its
    // own token tag: find must tell the two apart although moto ignores
    // the `tag:` filter.
    let subnet_b = at("public-b-aws-us-east-1").id.clone();
    let eip_b = at("eip-b-aws-us-east-1").id.clone();
    let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    let made = ec2
        .create_nat_gateway()
        .subnet_id(&subnet_b)
        .allocation_id(&eip_b)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Natgateway)
                .tags(tag("infra:token", "other-token"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let nat_b = made.nat_gateway().unwrap().nat_gateway_id().unwrap().to_owned();
    let find = |token: &str| FindRequest {
        address: common::addr("nat-aws-us-east-1"),
        token: token.to_owned(),
        tags: BTreeMap::new(),
        inputs: Default::default(),
    };
    assert_eq!(nat.find(find("other-token")).await.unwrap().map(|o| o.id), Some(nat_b.clone()));
    assert_eq!(nat.find(find("no-such-token")).await.unwrap(), None);

    // Both read in one call; the found inputs are the declaration's.
    inst.stats.reset();
    let read = nat.read(ReadRequest::new(vec![nat_a.clone(), nat_b.clone()])).await.unwrap();
    assert_eq!(read.found.len(), 2);
    assert_eq!(inst.stats.snapshot().get("DescribeNatGateways"), Some(&1));
    let inputs = &read.found[&nat_b].inputs;
    assert_eq!(inputs.get("subnet_id").and_then(Value::as_str), Some(subnet_b.as_str()));
    assert_eq!(inputs.get("allocation_id").and_then(Value::as_str), Some(eip_b.as_str()));
    assert!(!inputs.contains_key("connectivity_type"), "public is the default: {inputs:?}");
    assert!(matches!(nat.poll(PollRequest::id(&nat_b)).await.unwrap(), Readiness::Ready { .. }));

    // Deleted outside infra: the API still lists it (state `deleted`), a
    // read treats it as absent, a poll as failed, and deleting it again
    // is done at once.
    ec2.delete_nat_gateway().nat_gateway_id(&nat_a).send().await.unwrap();
    let read = nat.read(ReadRequest::new(vec![nat_a.clone(), nat_b.clone()])).await.unwrap();
    assert_eq!(read.found.keys().cloned().collect::<Vec<_>>(), vec![nat_b.clone()]);
    assert!(matches!(nat.poll(PollRequest::id(&nat_a)).await.unwrap(), Readiness::Failed { .. }));
    let listed = ec2.describe_nat_gateways().nat_gateway_ids(&nat_a).send().await.unwrap();
    assert_eq!(listed.nat_gateways()[0].state().map(|s| s.as_str()), Some("deleted"));

    // The provider's delete of a gateway already deleted returns at once.
    let delete = DeleteRequest {
        address: common::addr("nat-aws-us-east-1"),
        id: nat_b.clone(),
        inputs: read.found[&nat_b].inputs.clone(),
        token: "delete-b".into(),
    };
    assert_eq!(nat.delete(delete.clone()).await.unwrap(), Deletion::Gone);
    assert_eq!(nat.delete(delete).await.unwrap(), Deletion::Gone);
    assert!(nat.read(ReadRequest::new(vec![nat_b])).await.unwrap().found.is_empty());

    // Destroy: the refresh finds the stack's NAT gateway gone (it is no
    // longer waited for) and deletes the rest.
    let o = w.destroy(&build()).await;
    assert!(o.state.resources.is_empty());
}
