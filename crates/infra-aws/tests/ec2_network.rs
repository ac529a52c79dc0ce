//! The seed architecture's network on the emulator, and what a plan costs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{REGIONS, world};
use infra_aws::ec2::{SecurityGroup, SecurityGroupRuleSpec, Subnet, Vpc};
use infra_aws::sdk::AwsProvider;
use infra_core::{Options, ProviderConfig, Stack};
use infra_engine::ReadRequest;

/// A no-op plan of a state with 300 security groups and 300 subnets in one
/// region reads them with a handful of Describe calls: one batched,
/// filtered call per resource type (plus the VPC's attribute reads), not
/// one or more per resource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_plan_of_600_resources_costs_a_handful_of_describe_calls() {
    let w = world();
    let mut stack = Stack::new("count");
    let us = stack.provider(ProviderConfig::aws(REGIONS[0]));
    let vpc = stack.add_with(
        "vpc",
        Vpc { cidr_block: "10.0.0.0/16".into(), enable_dns_support: true, ..Default::default() },
        Options::new().provider(&us),
    );
    for i in 0..300 {
        stack.add_with(
            &format!("subnet-{i:03}"),
            Subnet {
                vpc_id: vpc.id().into(),
                cidr_block: format!("10.0.{}.{}/28", i / 16, (i % 16) * 16),
                availability_zone: format!("us-east-1{}", ["a", "b", "c"][i % 3]),
                map_public_ip_on_launch: false,
                tags: BTreeMap::new(),
            },
            Options::new().provider(&us),
        );
        stack.add_with(
            &format!("sg-{i:03}"),
            SecurityGroup {
                name: format!("group-{i:03}"),
                description: "counted".into(),
                vpc_id: vpc.id().into(),
                ingress: vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])],
                egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                tags: BTreeMap::new(),
            },
            Options::new().provider(&us),
        );
    }
    let stats = w.stats(&us);
    stats.reset();
    w.apply(&stack).await;
    // A group with AWS's default egress and an ingress rule: two calls
    // (the create with its tags, one authorize), nothing read back.
    let applied = stats.snapshot();
    eprintln!("apply of 601 resources: {applied:?}");
    assert_eq!(applied.get("CreateSecurityGroup"), Some(&300));
    assert_eq!(applied.get("AuthorizeSecurityGroupIngress"), Some(&300));
    assert_eq!(applied.get("RevokeSecurityGroupEgress"), None);
    // One read for the VPC's default group; a created group or subnet is
    // not read back (the create's answer has its outputs).
    assert_eq!(applied.get("DescribeSecurityGroups"), Some(&1));
    assert_eq!(applied.get("DescribeSubnets"), None);
    stats.reset();
    assert!(w.converged(&stack).await, "the plan after apply is not empty");
    let calls = stats.snapshot();
    let describes: u64 = calls.iter().filter(|(k, _)| k.starts_with("Describe")).map(|(_, v)| v).sum();
    eprintln!("no-op plan of 601 resources: {describes} Describe calls: {calls:?}");
    assert!(describes <= 9, "{describes} Describe calls: {calls:?}");
    // 300 subnets and 300 groups of one stack: each type read by the
    // stack's tag in one call, not by 300 IDs (AWS takes 200 values per
    // filter); the groups' rules by group ID, 200 per call.
    assert_eq!(calls.get("DescribeSubnets"), Some(&1));
    assert_eq!(calls.get("DescribeSecurityGroupRules"), Some(&2));
    assert_eq!(
        calls.get("DescribeSecurityGroups").copied().unwrap_or(0),
        2,
        "one batched read, one for the VPC's default group"
    );
    assert!(calls.keys().all(|k| k.starts_with("Describe")), "a no-op plan makes no other call: {calls:?}");

    // A read of many IDs by the stack's tag still finds an object without
    // the tag (one imported, made outside infra), and a read without the
    // stack's name finds all of them 200 IDs at a time.
    let state = w.state("count").await;
    let ec2 = w.ec2(REGIONS[0]);
    let vpc_id = &state.resources[&common::addr("vpc")].id;
    let outside = ec2.create_subnet().vpc_id(vpc_id).cidr_block("10.0.200.0/28").send().await.unwrap();
    let outside = outside.subnet().and_then(|s| s.subnet_id()).unwrap().to_owned();
    let mut ids: Vec<String> =
        state.resources.values().filter(|r| r.type_name == "aws:ec2:Subnet").map(|r| r.id.clone()).collect();
    ids.push(outside.clone());
    let inst = AwsProvider::with_sdk_config(
        &ProviderConfig::aws(REGIONS[0]),
        infra_testkit::loopback_sdk_config(&w.endpoint, REGIONS[0]).unwrap(),
    );
    let subnets = inst.instance.get("aws:ec2:Subnet").unwrap();
    for req in [ReadRequest::of_stack(ids.clone(), "count"), ReadRequest::new(ids.clone())] {
        let found = subnets.read(req).await.unwrap().found;
        assert_eq!(found.len(), 301, "found {} of 301", found.len());
        assert!(found.contains_key(&outside));
    }
    ec2.delete_subnet().subnet_id(&outside).send().await.unwrap();
}

/// The network of the seed architecture in both regions (VPCs 10.1.0.0/16
/// and 10.2.0.0/16, public, application and data subnets over three zones,
/// an internet gateway, a NAT gateway per zone, route tables and security
/// groups per tier, a transit gateway per region with a cross-region
/// peering): apply, a no-op plan, drift made with the raw SDK (a route
/// deleted, an ingress rule added) reported by the plan and repaired by
/// apply, then destroy leaves the emulator's VPCs as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_network_in_both_regions_drift_and_destroy() {
    use infra_aws::components::{ThreeTierVpcConfig, two_region_network};
    use infra_core::{Action, plan::PlanOptions};
    use infra_engine::Mode;

    let w = world();
    let vpcs = |region: &'static str| {
        let ec2 = w.ec2(region);
        async move {
            let out = ec2.describe_vpcs().send().await.unwrap();
            let mut ids: Vec<String> =
                out.vpcs().iter().filter_map(|v| v.vpc_id().map(str::to_owned)).collect();
            ids.sort();
            ids
        }
    };
    let before = (vpcs("us-east-1").await, vpcs("eu-west-1").await);

    let build = || {
        let (mut s, us, eu) = common::stack("seed");
        let net = two_region_network(
            &mut s,
            ("us", &us, &ThreeTierVpcConfig::seed("prod-us", "us-east-1", 1)),
            ("eu", &eu, &ThreeTierVpcConfig::seed("prod-eu", "eu-west-1", 2)),
        );
        (s, net)
    };
    let (stack, _) = build();
    let (o, _) = w.apply(&stack).await;
    assert_eq!(o.state.resources.len(), stack.resources().len());
    assert!(w.converged(&stack).await, "plan after apply is not empty");

    // Drift: delete the us application tier's default route in zone a, and
    // open SSH on the eu data tier's security group.
    let state = w.state("seed").await;
    let rt = state.resources[&common::addr("us.network.app-rt-a")].id.clone();
    w.ec2("us-east-1")
        .delete_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    let sg = state.resources[&common::addr("eu.network.data-sg")].id.clone();
    w.ec2("eu-west-1")
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();

    let (o, _) = w.run(&stack, Mode::Apply(PlanOptions::default())).await;
    let actions: Vec<(String, &Action)> =
        o.plan.actionable().map(|c| (c.address.to_string(), &c.action)).collect();
    assert!(
        actions.contains(&("us.network.app-default-route-a".to_string(), &Action::Create)),
        "{actions:?}"
    );
    assert!(actions.contains(&("eu.network.data-sg".to_string(), &Action::Update)), "{actions:?}");
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(o.report.success(), "{:?}", o.report);
    assert!(w.converged(&stack).await, "the drift was not repaired");

    w.destroy(&stack).await;
    assert_eq!((vpcs("us-east-1").await, vpcs("eu-west-1").await), before, "destroy left VPCs behind");
}

/// A VPC made outside infra is imported at a declared address by its ID;
/// the next plan shows only what differs from the declaration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_id_then_plan() {
    use infra_core::plan::PlanOptions;
    let w = world();
    let ec2 = w.ec2("eu-west-1");
    let made = ec2.create_vpc().cidr_block("10.7.0.0/16").send().await.unwrap();
    let id = made.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned();

    let build = |hostnames: bool| {
        let (mut s, _, eu) = common::stack("import");
        s.add_with(
            "legacy",
            Vpc {
                cidr_block: "10.7.0.0/16".into(),
                enable_dns_support: true,
                enable_dns_hostnames: hostnames,
                ..Default::default()
            },
            Options::new().provider(&eu),
        );
        s
    };
    let stack = build(false);
    let backend: std::sync::Arc<dyn infra_state::Backend> = w.backend.clone();
    let state = infra_engine::import(
        w.executor.registry(),
        backend,
        &stack,
        &common::addr("legacy"),
        &id,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(state.resources[&common::addr("legacy")].id, id);
    assert!(w.converged(&stack).await, "an imported resource that matches its declaration plans nothing");

    // A declaration that differs plans an update of the imported VPC, not
    // a new one.
    let (o, _) = w.run(&build(true), infra_engine::Mode::Apply(PlanOptions::default())).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions, [("legacy".to_string(), infra_core::Action::Update)]);
    // Importing over a managed address is refused.
    let backend: std::sync::Arc<dyn infra_state::Backend> = w.backend.clone();
    let err = infra_engine::import(
        w.executor.registry(),
        backend,
        &stack,
        &common::addr("legacy"),
        &id,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("legacy: already managed"), "{err}");
}
