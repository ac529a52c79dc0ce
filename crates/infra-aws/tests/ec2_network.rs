//! The seed architecture's network on the emulator, and what a plan costs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{REGIONS, world};
use infra_aws::ec2::{SecurityGroup, SecurityGroupRuleSpec, Subnet, Vpc};
use infra_core::{Options, ProviderConfig, Stack};

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
                name: format!("sg-{i:03}"),
                description: "counted".into(),
                vpc_id: vpc.id().into(),
                ingress: vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])],
                egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                tags: BTreeMap::new(),
            },
            Options::new().provider(&us),
        );
    }
    w.apply(&stack).await;
    let stats = w.stats(&us);
    stats.reset();
    assert!(w.converged(&stack).await, "the plan after apply is not empty");
    let calls = stats.snapshot();
    let describes: u64 = calls.iter().filter(|(k, _)| k.starts_with("Describe")).map(|(_, v)| v).sum();
    eprintln!("no-op plan of 601 resources: {describes} Describe calls: {calls:?}");
    assert!(describes <= 8, "{describes} Describe calls: {calls:?}");
    assert_eq!(calls.get("DescribeSubnets"), Some(&1));
    assert_eq!(
        calls.get("DescribeSecurityGroups").copied().unwrap_or(0),
        2,
        "one batched read, one for the VPC's default group"
    );
    assert!(calls.keys().all(|k| k.starts_with("Describe")), "a no-op plan makes no other call: {calls:?}");
}
