//! Crash test on the emulator: the production example's apply (the real
//! stack program, talking to moto through the fault proxy) killed with
//! SIGKILL at pseudo-random instants, 30 trials, each on a fresh emulator
//! and a fresh local state. Five trials kill it while the tagging call that
//! follows CreateTransitGatewayVpcAttachment is held by the proxy (the
//! emulator drops that call's tags, so they go in a second call): between
//! a create and its tagging. After each kill, `apply --yes` and
//! `plan --detailed-exitcode` must exit 0, the emulator must hold exactly
//! the declared resources (count per type and region, every type that
//! carries tags; routes and associations cannot be duplicated, AWS refuses
//! a second one for the same key) and no temporary file may remain in the
//! state directory. The instants come from a fixed seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::Client;
use infra_testkit::Moto;
use infra_testkit::faults::{Effect, Fault, FaultProxy};
use infra_tests::crash::Rng;

const TRIALS: u32 = 30;
const BETWEEN_CREATE_AND_TAGS: u32 = 5;

#[path = "../../../examples/prod_multi_region.rs"]
#[allow(dead_code)]
mod example;

fn program(endpoint: &str, state: &Path) -> Command {
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

fn must(endpoint: &str, state: &Path, args: &[&str], what: &str, trial: u32) {
    let out = program(endpoint, state).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trial {trial}: {what} exited {:?}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Live objects carrying the `infra:stack=prod` tag, per (type, region).
async fn held(endpoint: &str) -> BTreeMap<(String, String), usize> {
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
fn declared() -> BTreeMap<(String, String), usize> {
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

fn temporary_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_production_example_killed_at_random_instants_converges_on_the_emulator() {
    let moto = Moto::shared();
    let proxy = FaultProxy::start(&moto.endpoint()).unwrap();
    let endpoint = proxy.endpoint();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let expected = declared();

    // Calibrate: how long a whole apply takes here.
    moto.reset().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    must(&endpoint, dir.path(), &["apply", "--yes"], "the calibration apply", 0);
    let whole = started.elapsed();
    assert_eq!(rt.block_on(held(&moto.endpoint())), expected, "the calibration apply");
    eprintln!("a whole apply of the production example takes {whole:?} here");

    let mut rng = Rng(0xC0FF_EE15_DEAD_BEEF);
    let mut mid_run = 0;
    for trial in 1..=TRIALS {
        moto.reset().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let between = trial <= BETWEEN_CREATE_AND_TAGS;
        proxy.set(if between { vec![Fault::new("CreateTags", 1, Effect::Stall)] } else { Vec::new() });
        let mut child = program(&endpoint, dir.path()).args(["apply", "--yes"]).spawn().unwrap();
        if between {
            let deadline = Instant::now() + whole * 3;
            while proxy.injected().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(!proxy.injected().is_empty(), "trial {trial}: the apply never reached the tagging call");
        } else {
            std::thread::sleep(whole.mul_f64(rng.next_unit()));
        }
        if child.try_wait().unwrap().is_none() {
            mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        proxy.set(Vec::new());

        must(&endpoint, dir.path(), &["apply", "--yes"], "the apply after the kill", trial);
        must(&endpoint, dir.path(), &["plan", "--detailed-exitcode"], "plan --detailed-exitcode", trial);
        assert_eq!(rt.block_on(held(&moto.endpoint())), expected, "trial {trial}: what the emulator holds");
        let left = temporary_files(dir.path());
        assert!(left.is_empty(), "trial {trial}: temporary files remain: {left:?}");
    }
    assert!(mid_run >= 20, "only {mid_run} of {TRIALS} kills hit a running apply");
    eprintln!("{mid_run} of {TRIALS} kills hit a running apply; every next apply converged");
}
