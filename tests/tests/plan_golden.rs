//! Golden files of the plan's human and JSON renderings. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p infra-tests --test plan_golden` and review
//! the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use infra_aws::ec2::{
    AmiLookup, Filter, LaunchTemplate, SecurityGroup, SecurityGroupRuleSpec, Subnet, SubnetLookup, Vpc,
};
use infra_core::plan::render::{RenderOptions, render};
use infra_core::plan::{LookupRead, PlanOptions, plan, plan_destroy};
use infra_core::{Options, Plan, ProviderConfig, Stack};
use infra_tests::{Node, empty_state, fake_apply};

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    assert!(
        expected == actual,
        "{} differs from the rendering; run with UPDATE_GOLDEN=1 and review the diff.\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

struct Knobs {
    subnet_cidr: &'static str,
    public_ip: bool,
    sg_name: &'static str,
    https: bool,
    with_cache: bool,
    with_logs_bucket: bool,
    password: &'static str,
    /// The VPC's `env` tag (a change renders key by key).
    env: &'static str,
}

fn network(k: &Knobs) -> Stack {
    let mut s = Stack::new("prod");
    s.provider(ProviderConfig::aws("us-east-1"));
    let vpc = s.add(
        "net.vpc",
        Vpc {
            cidr_block: "10.1.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: [("Name".to_string(), "prod".to_string()), ("env".to_string(), k.env.to_string())].into(),
            ..Default::default()
        },
    );
    let subnet = s.add(
        "net.public-a",
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: k.subnet_cidr.into(),
            availability_zone: "us-east-1a".into(),
            map_public_ip_on_launch: k.public_ip,
            tags: Default::default(),
        },
    );
    let mut ingress = vec![SecurityGroupRuleSpec::tcp_from_cidrs(80, &["0.0.0.0/0"])];
    if k.https {
        ingress.push(SecurityGroupRuleSpec::tcp_from_cidrs(443, &["0.0.0.0/0"]));
    }
    s.add(
        "app.alb-sg",
        SecurityGroup {
            name: k.sg_name.into(),
            description: "ALB".into(),
            vpc_id: vpc.id().into(),
            ingress,
            egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
            tags: Default::default(),
        },
    );
    if k.with_cache {
        s.add("data.cache", Node { zone: "us-east-1a".into(), size: 2, ..Default::default() });
    }
    if k.with_logs_bucket {
        s.add_with(
            "data.logs",
            Node { zone: "us-east-1a".into(), size: 1, ..Default::default() },
            Options::new().retain_on_delete(),
        );
    }
    s.add(
        "data.db",
        Node {
            zone: "us-east-1a".into(),
            size: 4,
            password: Some(k.password.into()),
            label: Some(subnet.id().to_string_output().into()),
            ..Default::default()
        },
    );
    s.export("vpc_id", vpc.id());
    s
}

fn scenario() -> Plan {
    let before = network(&Knobs {
        subnet_cidr: "10.1.1.0/24",
        public_ip: false,
        sg_name: "prod-alb",
        https: false,
        with_cache: true,
        with_logs_bucket: true,
        password: "old-password",
        env: "staging",
    });
    let mut state = empty_state();
    let p = plan(&before, &state, &PlanOptions::default()).unwrap();
    fake_apply(&before, &mut state, &p);
    let after = network(&Knobs {
        subnet_cidr: "10.1.2.0/24",
        public_ip: true,
        sg_name: "prod-alb-v2",
        https: true,
        with_cache: false,
        with_logs_bucket: false,
        password: "new-password",
        env: "prod",
    });
    // Also show a create: a resource the state does not have yet.
    let mut with_new = after;
    with_new.add("data.queue", Node { zone: "us-east-1b".into(), size: 1, ..Default::default() });
    plan(&with_new, &state, &PlanOptions::default()).unwrap()
}

#[test]
fn human_rendering_of_every_action() {
    let p = scenario();
    golden("plan_all_actions.txt", &render(&p, RenderOptions { color: false }));
    golden("plan_all_actions.color.txt", &render(&p, RenderOptions { color: true }));
}

#[test]
fn json_rendering_of_every_action() {
    let p = scenario();
    let json = p.to_json().unwrap() + "\n";
    golden("plan_all_actions.json", &json);
    // The human renderer reads only the plan: a saved plan renders the same.
    let reread = Plan::from_json(&json).unwrap();
    assert_eq!(render(&reread, RenderOptions::default()), render(&p, RenderOptions::default()));
}

#[test]
fn human_rendering_of_no_changes_and_destroy() {
    let s = network(&Knobs {
        subnet_cidr: "10.1.1.0/24",
        public_ip: false,
        sg_name: "prod-alb",
        https: false,
        with_cache: true,
        with_logs_bucket: false,
        password: "pw",
        env: "prod",
    });
    let mut state = empty_state();
    let p = plan(&s, &state, &PlanOptions::default()).unwrap();
    golden("plan_create.txt", &render(&p, RenderOptions::default()));
    fake_apply(&s, &mut state, &p);
    let p = plan(&s, &state, &PlanOptions::default()).unwrap();
    golden("plan_no_changes.txt", &render(&p, RenderOptions::default()));
    let d = plan_destroy("prod", &state, &[]).unwrap();
    golden("plan_destroy.txt", &render(&d, RenderOptions::default()));
}

/// Lookups: an AMI read for this plan, wired into a launch template (which
/// plans with the image it found), and a subnet lookup whose query waits on
/// a VPC the apply makes (read during apply).
#[test]
fn human_and_json_rendering_of_reads() {
    let mut s = Stack::new("prod");
    s.provider(ProviderConfig::aws("us-east-1"));
    let ami = s.add(
        "ami",
        AmiLookup {
            owners: vec!["amazon".into()],
            filters: vec![Filter::new("name", ["al2023-ami-*-x86_64"])],
            most_recent: true,
        },
    );
    s.add(
        "app-lt",
        LaunchTemplate { name: "app".into(), image_id: Some(ami.image_id().into()), ..Default::default() },
    );
    let vpc = s.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
    s.add("db-a", SubnetLookup { vpc_id: Some(vpc.id().into()), ..Default::default() });
    let state = empty_state();
    let decl = s.resource(&"ami".parse().unwrap()).unwrap();
    let key = state.secret_key_bytes();
    let inputs = state.resolve_inputs(decl).unwrap().into_iter().map(|(k, v)| (k, v.seal(&key))).collect();
    let read = LookupRead {
        inputs,
        id: "ami-0abcdef1234567890".into(),
        outputs: [
            ("image_id".to_string(), "ami-0abcdef1234567890".into()),
            ("name".to_string(), "al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64".into()),
        ]
        .into(),
    };
    let options = PlanOptions { reads: [(decl.address.clone(), read)].into(), ..PlanOptions::default() };
    let p = plan(&s, &state, &options).unwrap();
    golden("plan_reads.txt", &render(&p, RenderOptions::default()));
    let json = p.to_json().unwrap() + "\n";
    golden("plan_reads.json", &json);
    assert_eq!(
        render(&Plan::from_json(&json).unwrap(), RenderOptions::default()),
        render(&p, RenderOptions::default())
    );
}
