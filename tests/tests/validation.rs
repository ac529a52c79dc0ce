//! What validation promises a stack author beyond the catalogue
//! (`crates/infra-e2e/tests/invalid_stacks.rs`): typed IDs check their
//! shape, and ordering needs a type knows are added whichever resource is
//! declared first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use infra_aws::ec2::{ElasticIp, InternetGateway, NatGateway, Subnet, Vpc};
use infra_aws::{SubnetId, TransitGatewayAttachmentId, TransitGatewayId, VpcId};
use infra_core::{Address, ProviderConfig, Stack};

fn check_id<T: std::fmt::Debug>(parsed: Result<T, infra_core::InvalidId>, expected: Result<(), &str>) {
    match (parsed, expected) {
        (Ok(_), Ok(())) => {}
        (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{e} lacks {needle:?}"),
        (got, want) => panic!("got {got:?}, wanted {want:?}"),
    }
}

#[test]
fn typed_ids_refuse_strings_of_another_kind_naming_the_public_type() {
    check_id(VpcId::new("vpc-0abc123"), Ok(()));
    check_id(
        VpcId::new("subnet-0abc123"),
        Err("infra::aws::ids::VpcId: \"subnet-0abc123\" is not a VPC ID (expected vpc-…)"),
    );
    check_id(SubnetId::new(""), Err("is not a subnet ID"));
    check_id(TransitGatewayAttachmentId::new("tgw-attach-0abc"), Ok(()));
    // A longer prefix of another kind is not a shorter one's.
    check_id(TransitGatewayId::new("tgw-attach-0abc"), Err("is not a transit gateway ID"));
    check_id(infra_aws::RoleArn::new("arn:aws:iam::123456789012:role/app"), Ok(()));
    check_id(infra_aws::RoleArn::new("arn:aws:iam::123456789012:policy/app"), Err("role/"));
    check_id(infra_aws::AccountId::new("12345"), Err("12 digits"));
    assert_eq!(
        infra_aws::ids::kind_of("subnet-0abc").map(|(path, _)| path),
        Some("infra::aws::ids::SubnetId".to_owned())
    );
}

fn nat_stack(gateway_first: bool, private: bool) -> Stack {
    let mut stack = Stack::new("needs");
    stack.provider(ProviderConfig::aws("us-east-1"));
    let vpc = stack.add("vpc", Vpc { cidr_block: "10.0.0.0/16".into(), ..Default::default() });
    let igw = || InternetGateway { vpc_id: Some(vpc.id().into()), ..Default::default() };
    if gateway_first {
        stack.add("igw", igw());
    }
    let subnet = stack.add(
        "public",
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: "10.0.1.0/24".into(),
            availability_zone: "us-east-1a".into(),
            ..Default::default()
        },
    );
    let eip = (!private).then(|| stack.add("eip", ElasticIp::default()));
    stack.add(
        "nat",
        NatGateway {
            subnet_id: subnet.id().into(),
            allocation_id: eip.map(|e| e.id().into()),
            connectivity_type: private.then(|| "private".to_owned()),
            ..Default::default()
        },
    );
    if !gateway_first {
        stack.add("igw", igw());
    }
    stack
}

#[test]
fn a_public_nat_gateway_waits_for_its_vpcs_internet_gateway_in_either_order() {
    let (nat, igw) = (Address::parse("nat").unwrap(), Address::parse("igw").unwrap());
    for gateway_first in [true, false] {
        let graph = nat_stack(gateway_first, false).validate().unwrap();
        assert!(graph.dependencies(&nat).contains(&&igw), "gateway declared first: {gateway_first}");
    }
    // A private NAT gateway does not use the internet gateway.
    let graph = nat_stack(true, true).validate().unwrap();
    assert!(!graph.dependencies(&nat).contains(&&igw));
}
