//! Components: the seeds' three-tier VPC module, used in two regions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use infra_aws::components::{ThreeTierVpcConfig, three_tier_vpc};
use infra_core::plan::{PlanOptions, plan};
use infra_core::{Action, ProviderConfig, Stack};
use infra_tests::{addr, empty_state, fake_apply};

fn two_regions() -> Stack {
    let mut stack = Stack::new("prod");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
    three_tier_vpc(
        &mut stack.scope("us").with_provider(&us),
        "network",
        &ThreeTierVpcConfig::seed("prod-us", "us-east-1", 1),
    );
    three_tier_vpc(
        &mut stack.scope("eu").with_provider(&eu),
        "network",
        &ThreeTierVpcConfig::seed("prod-eu", "eu-west-1", 2),
    );
    stack
}

#[test]
fn a_component_adds_its_resources_under_its_name_in_each_region() {
    let stack = two_regions();
    let graph = stack.validate().unwrap();
    // 1 VPC, 1 IGW, 9 subnets, 3 EIPs, 3 NATs, 5 route tables, 4 routes,
    // 9 associations, 3 security groups.
    assert_eq!(graph.len(), 2 * 38);
    for region in ["us", "eu"] {
        for name in ["vpc", "igw", "public-a", "app-c", "data-b", "nat-a", "app-rt-b", "data-sg"] {
            assert!(graph.contains(&addr(&format!("{region}.network.{name}"))), "{region}.network.{name}");
        }
    }
    let eu_subnet = stack.resource(&addr("eu.network.data-c")).unwrap();
    assert_eq!(stack.provider_of(eu_subnet).unwrap().region, "eu-west-1");
    assert_eq!(eu_subnet.inputs["cidr_block"], "10.2.22.0/24".into());
    let us_nat = addr("us.network.nat-a");
    // The internet gateway is the NAT gateway's implicit need (its VPC's
    // gateway must be attached first), added by the type, not the component.
    assert_eq!(
        graph.dependencies(&us_nat),
        [&addr("us.network.igw"), &addr("us.network.nat-eip-a"), &addr("us.network.public-a")]
    );
    assert_eq!(
        graph.dependencies(&addr("us.network.data-sg")),
        [&addr("us.network.app-sg"), &addr("us.network.vpc")]
    );
}

#[test]
fn the_component_plans_and_converges_in_both_regions() {
    let stack = two_regions();
    let mut state = empty_state();
    let p = plan(&stack, &state, &PlanOptions::default()).unwrap();
    assert_eq!(p.actionable().filter(|c| c.action == Action::Create).count(), 76);
    fake_apply(&stack, &mut state, &p);
    assert_eq!(state.resources[&addr("eu.network.vpc")].region, "eu-west-1");
    assert!(plan(&stack, &state, &PlanOptions::default()).unwrap().is_empty());
}

#[test]
fn component_input_problems_are_reported_with_addresses() {
    let mut stack = Stack::new("prod");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let mut cfg = ThreeTierVpcConfig::seed("prod-us", "us-east-1", 1);
    cfg.availability_zones[2] = "eu-west-1c".into();
    cfg.data_cidrs.pop();
    three_tier_vpc(&mut stack.scope("us").with_provider(&us), "network", &cfg);
    let err = stack.validate().unwrap_err().to_string();
    assert!(err.contains("us.network: data_cidrs has 2 blocks for 3 availability zones"), "{err}");
    assert!(
        err.contains("us.network.public-c: field `availability_zone`: availability zone \"eu-west-1c\" is not in the provider's region us-east-1"),
        "{err}"
    );
}

#[test]
fn alb_component_misuse_is_reported_with_its_address() {
    use infra_aws::components::{AlbConfig, AlbTarget, alb};
    let mut stack = Stack::new("prod");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let mut s = stack.scope("us").with_provider(&us);
    let net = three_tier_vpc(&mut s, "network", &ThreeTierVpcConfig::seed("prod-us", "us-east-1", 1));
    let cfg = AlbConfig {
        name: "prod-us-alb".into(),
        vpc_id: net.vpc.id().into(),
        subnets: net.public_subnet_ids(),
        ..Default::default()
    };
    alb(&mut s, "empty", &cfg);
    let targets =
        vec![AlbTarget::fargate("web", 80, "/health", &[]), AlbTarget::fargate("api", 8080, "/health", &[])];
    let lb = alb(&mut s, "alb", &AlbConfig { name: "prod-us-alb2".into(), targets, ..cfg.clone() });
    drop(s);
    // The default target is the first; a rule only for targets with paths.
    assert!(lb.rules.is_empty());
    assert_eq!(lb.serving_listener().address(), &addr("us.alb.listener-80"));
    let err = stack.validate().unwrap_err().to_string();
    assert!(err.contains("us.empty: targets is empty"), "{err}");
    assert!(err.contains("us.alb: targets[1] (api) has no path patterns"), "{err}");
}
