//! What the emulator tests of the production example share: the stack
//! program's command line, and the count of what the emulator holds
//! against what the example declares.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use aws_sdk_ec2::Client;

#[path = "../../../../examples/prod_multi_region.rs"]
#[allow(dead_code)]
pub mod example;

pub fn program(endpoint: &str, state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prod_multi_region"));
    c.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent/infra-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/infra-test-credentials")
        .env_remove("AWS_PROFILE")
        .env("INFRA_BACKEND", format!("local:{}", state.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

pub fn must(endpoint: &str, state: &Path, args: &[&str], what: &str, trial: u32) {
    let out = program(endpoint, state).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trial {trial}: {what} exited {:?}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Live objects carrying the `infra:stack=prod` tag, per (type, region).
pub async fn held(endpoint: &str) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for region in ["us-east-1", "eu-west-1"] {
        let sdk = infra_testkit::loopback_sdk_config(endpoint, region).unwrap();
        let ec2 = Client::from_conf(aws_sdk_ec2::config::Builder::from(&sdk).build());
        let ours = |tags: &[aws_sdk_ec2::types::Tag]| {
            tags.iter().any(|t| t.key() == Some("infra:stack") && t.value() == Some("prod"))
        };
        let mut count = |t: &str, n: usize| *out.entry((t.to_owned(), region.to_owned())).or_default() += n;
        let v = ec2.describe_vpcs().send().await.unwrap();
        count("aws:ec2:Vpc", v.vpcs().iter().filter(|x| ours(x.tags())).count());
        let s = ec2.describe_subnets().send().await.unwrap();
        count("aws:ec2:Subnet", s.subnets().iter().filter(|x| ours(x.tags())).count());
        let g = ec2.describe_internet_gateways().send().await.unwrap();
        count("aws:ec2:InternetGateway", g.internet_gateways().iter().filter(|x| ours(x.tags())).count());
        let a = ec2.describe_addresses().send().await.unwrap();
        count("aws:ec2:ElasticIp", a.addresses().iter().filter(|x| ours(x.tags())).count());
        let n = ec2.describe_nat_gateways().send().await.unwrap();
        let live_nat = |x: &&aws_sdk_ec2::types::NatGateway| {
            !matches!(x.state().map(|s| s.as_str()), Some("deleted" | "deleting" | "failed"))
        };
        count(
            "aws:ec2:NatGateway",
            n.nat_gateways().iter().filter(live_nat).filter(|x| ours(x.tags())).count(),
        );
        let r = ec2.describe_route_tables().send().await.unwrap();
        count("aws:ec2:RouteTable", r.route_tables().iter().filter(|x| ours(x.tags())).count());
        let sg = ec2.describe_security_groups().send().await.unwrap();
        count("aws:ec2:SecurityGroup", sg.security_groups().iter().filter(|x| ours(x.tags())).count());
        let t = ec2.describe_transit_gateways().send().await.unwrap();
        let live = |s: Option<&str>| !matches!(s, Some("deleted" | "deleting" | "failed"));
        count(
            "aws:ec2:TransitGateway",
            t.transit_gateways()
                .iter()
                .filter(|x| live(x.state().map(|s| s.as_str())) && ours(x.tags()))
                .count(),
        );
        // Every live VPC attachment, tagged or not: an untagged one is what
        // a kill between create and tagging leaves.
        let va = ec2.describe_transit_gateway_vpc_attachments().send().await.unwrap();
        count(
            "aws:ec2:TransitGatewayVpcAttachment",
            va.transit_gateway_vpc_attachments()
                .iter()
                // The emulator lists peering attachments here too.
                .filter(|x| x.vpc_id().is_some_and(|v| !v.is_empty()))
                .filter(|x| live(x.state().map(|s| s.as_str())))
                .count(),
        );
    }
    out.retain(|_, n| *n > 0);
    out
}

/// What the example declares, per (type, region), for the types `held`
/// counts.
pub fn declared() -> BTreeMap<(String, String), usize> {
    let stack = example::stack();
    let counted = [
        "aws:ec2:Vpc",
        "aws:ec2:Subnet",
        "aws:ec2:InternetGateway",
        "aws:ec2:ElasticIp",
        "aws:ec2:NatGateway",
        "aws:ec2:RouteTable",
        "aws:ec2:SecurityGroup",
        "aws:ec2:TransitGateway",
        "aws:ec2:TransitGatewayVpcAttachment",
    ];
    let mut out = BTreeMap::new();
    for r in stack.resources() {
        if counted.contains(&r.schema.type_name) {
            let region = stack.provider_of(r).map(|p| p.region.clone()).unwrap_or_default();
            *out.entry((r.schema.type_name.to_owned(), region)).or_default() += 1;
        }
    }
    out
}

/// A shared emulator with the fault proxy in front of it, and a runtime
/// for the test's own SDK calls.
pub fn emulator() -> (&'static infra_testkit::Moto, infra_testkit::faults::FaultProxy, tokio::runtime::Runtime)
{
    let moto = infra_testkit::Moto::shared();
    let proxy = infra_testkit::faults::FaultProxy::start(&moto.endpoint()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    (moto, proxy, rt)
}
