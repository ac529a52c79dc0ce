//! Route tables, routes, route table associations, security groups and
//! standalone security group rules on the emulator, in both regions: create,
//! a refreshed plan is empty, update in place, plan empty, a force-new
//! change replaces in the type's order, plan empty, destroy (see
//! ec2_lifecycle.rs for the pattern). And drift: a rule added to a security
//! group outside infra shows in the next plan, which revokes it.
//!
//! moto gaps (nothing here fakes them):
//! - `ClientToken` (CreateRouteTable) is accepted and ignored;
//! - everything exists and is available at once (no eventual consistency,
//!   NAT gateways need no wait);
//! - AssociateRouteTable on a subnet that already has an association
//!   returns that association instead of failing with
//!   `Resource.AlreadyAssociated`;
//! - DescribeSecurityGroupRules reports no description for a rule that
//!   references a group when the description was given at authorize time
//!   (it does after ModifySecurityGroupRules), so the group-reference
//!   standalone rule below has no description; the CIDR one changes its
//!   description in place.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use common::{REGIONS, World, addr, lifecycle, stack, world};
use infra_aws::ec2::{
    ElasticIp, InternetGateway, NatGateway, Route, RouteTable, RouteTableAssociation, SecurityGroup,
    SecurityGroupRule, SecurityGroupRuleSpec, Subnet, Vpc,
};
use infra_aws::sdk::AwsProvider;
use infra_core::plan::PlanOptions;
use infra_core::{Action, Handle, Options, ProviderConfig, ProviderKey, ReplaceOrder, Stack};
use infra_engine::{
    Budget, BudgetConfig, Events, Executor, ExecutorConfig, Interrupt, Mode, Outcome, Registry, RunOptions,
    run,
};
use infra_state::Backend;

fn tags(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("Name".to_string(), format!("v{}", v.min(1)))])
}

/// The suffix of a region's addresses, e.g. `aws-us-east-1`.
fn suffix(key: &ProviderKey) -> String {
    key.0.replace('.', "-")
}

/// Each region of the stack: its provider key, region and second octet.
fn regions<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str, u8); 2] {
    [(us, REGIONS[0], 1), (eu, REGIONS[1], 2)]
}

fn vpc(s: &mut Stack, key: &ProviderKey, name: &str, cidr: String) -> Handle<Vpc> {
    s.add_with(
        &format!("{name}-{}", suffix(key)),
        Vpc { cidr_block: cidr, enable_dns_support: true, ..Default::default() },
        Options::new().provider(key),
    )
}

fn subnet(
    s: &mut Stack,
    key: &ProviderKey,
    name: &str,
    vpc: &Handle<Vpc>,
    cidr: String,
    az: String,
) -> Handle<Subnet> {
    s.add_with(
        &format!("{name}-{}", suffix(key)),
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: cidr,
            availability_zone: az,
            map_public_ip_on_launch: false,
            tags: BTreeMap::new(),
        },
        Options::new().provider(key),
    )
}

fn route_table(s: &mut Stack, key: &ProviderKey, name: &str, vpc: &Handle<Vpc>) -> Handle<RouteTable> {
    s.add_with(
        &format!("{name}-{}", suffix(key)),
        RouteTable { vpc_id: vpc.id().into(), tags: BTreeMap::new() },
        Options::new().provider(key),
    )
}

fn group(
    s: &mut Stack,
    key: &ProviderKey,
    name: &str,
    vpc: &Handle<Vpc>,
    ingress: Vec<SecurityGroupRuleSpec>,
    egress: Vec<SecurityGroupRuleSpec>,
) -> Handle<SecurityGroup> {
    s.add_with(
        &format!("{name}-{}", suffix(key)),
        SecurityGroup {
            name: name.into(),
            description: format!("{name} group"),
            vpc_id: vpc.id().into(),
            ingress,
            egress,
            tags: BTreeMap::new(),
        },
        Options::new().provider(key),
    )
}

/// A route table in place: v1 changes its tags, v2 moves it to another VPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_table_lifecycle() {
    lifecycle(
        "route-table",
        |s, us, eu, v| {
            for (key, _, octet) in regions(us, eu) {
                let a = vpc(s, key, "vpc-a", format!("10.{octet}.0.0/16"));
                let b = vpc(s, key, "vpc-b", format!("10.{}.0.0/16", octet + 10));
                s.add_with(
                    &format!("rt-{}", suffix(key)),
                    RouteTable { vpc_id: if v < 2 { a.id() } else { b.id() }.into(), tags: tags(v) },
                    Options::new().provider(key),
                );
            }
        },
        &["rt-aws-us-east-1", "rt-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// A route: v1 moves it from the internet gateway to a NAT gateway
/// (ReplaceRoute), v2 changes its destination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_lifecycle() {
    lifecycle(
        "route",
        |s, us, eu, v| {
            for (key, region, octet) in regions(us, eu) {
                let net = vpc(s, key, "vpc", format!("10.{octet}.0.0/16"));
                let igw = s.add_with(
                    &format!("igw-{}", suffix(key)),
                    InternetGateway { vpc_id: Some(net.id().into()), tags: BTreeMap::new() },
                    Options::new().provider(key),
                );
                let public =
                    subnet(s, key, "public", &net, format!("10.{octet}.1.0/24"), format!("{region}a"));
                let eip = s.add_with(
                    &format!("eip-{}", suffix(key)),
                    ElasticIp { tags: BTreeMap::new() },
                    Options::new().provider(key),
                );
                let nat = s.add_with(
                    &format!("nat-{}", suffix(key)),
                    NatGateway {
                        subnet_id: public.id().into(),
                        allocation_id: Some(eip.id().into()),
                        connectivity_type: None,
                        tags: BTreeMap::new(),
                    },
                    Options::new().provider(key),
                );
                let rt = route_table(s, key, "rt", &net);
                s.add_with(
                    &format!("route-{}", suffix(key)),
                    Route {
                        route_table_id: rt.id().into(),
                        destination_cidr_block: if v < 2 { "0.0.0.0/0" } else { "192.168.0.0/16" }.into(),
                        gateway_id: (v == 0).then(|| igw.id().into()),
                        nat_gateway_id: (v >= 1).then(|| nat.id().into()),
                        transit_gateway_id: None,
                        vpc_peering_connection_id: None,
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["route-aws-us-east-1", "route-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// A subnet's association: v1 moves it to another route table
/// (ReplaceRouteTableAssociation, which gives it a new association ID), v2
/// associates another subnet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_table_association_lifecycle() {
    lifecycle(
        "route-table-association",
        |s, us, eu, v| {
            for (key, region, octet) in regions(us, eu) {
                let net = vpc(s, key, "vpc", format!("10.{octet}.0.0/16"));
                let a = subnet(s, key, "subnet-a", &net, format!("10.{octet}.1.0/24"), format!("{region}a"));
                let b = subnet(s, key, "subnet-b", &net, format!("10.{octet}.2.0/24"), format!("{region}b"));
                let rt1 = route_table(s, key, "rt-1", &net);
                let rt2 = route_table(s, key, "rt-2", &net);
                s.add_with(
                    &format!("assoc-{}", suffix(key)),
                    RouteTableAssociation {
                        route_table_id: if v == 0 { rt1.id() } else { rt2.id() }.into(),
                        subnet_id: if v < 2 { a.id() } else { b.id() }.into(),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["assoc-aws-us-east-1", "assoc-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// A security group: v1 adds an ingress rule (from another group and from
/// itself, with a description) and changes its tags, v2 renames it (names
/// are unique per VPC: the old group goes first). A second group declares
/// no egress at all, so the allow-all rule AWS adds must be revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_group_lifecycle() {
    lifecycle(
        "security-group",
        |s, us, eu, v| {
            for (key, _, octet) in regions(us, eu) {
                let net = vpc(s, key, "vpc", format!("10.{octet}.0.0/16"));
                let peer =
                    group(s, key, "peer", &net, vec![], vec![SecurityGroupRuleSpec::all_to_anywhere()]);
                group(s, key, "closed", &net, vec![], vec![]);
                let mut ingress =
                    vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8", "192.168.0.0/16"])];
                if v >= 1 {
                    ingress.push(SecurityGroupRuleSpec {
                        self_: true,
                        description: Some("app".into()),
                        ..SecurityGroupRuleSpec::tcp_from_groups(8080, &[peer.id()])
                    });
                }
                s.add_with(
                    &format!("sg-{}", suffix(key)),
                    SecurityGroup {
                        name: if v < 2 { "web" } else { "web-2" }.into(),
                        description: "web tier".into(),
                        vpc_id: net.id().into(),
                        ingress,
                        egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                        tags: tags(v),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["sg-aws-us-east-1", "sg-aws-eu-west-1"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// Standalone rules on a group that also has inline rules (the group's
/// read leaves them out): v1 changes a description in place
/// (ModifySecurityGroupRules), v2 changes the ports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_group_rule_lifecycle() {
    lifecycle(
        "security-group-rule",
        |s, us, eu, v| {
            for (key, _, octet) in regions(us, eu) {
                let net = vpc(s, key, "vpc", format!("10.{octet}.0.0/16"));
                let app = group(s, key, "app", &net, vec![], vec![SecurityGroupRuleSpec::all_to_anywhere()]);
                let db = group(
                    s,
                    key,
                    "db",
                    &net,
                    vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])],
                    vec![SecurityGroupRuleSpec::all_to_anywhere()],
                );
                let port = |p: i32| if v < 2 { p } else { p + 1 };
                s.add_with(
                    &format!("from-app-{}", suffix(key)),
                    SecurityGroupRule {
                        direction: "ingress".into(),
                        security_group_id: db.id().into(),
                        protocol: "tcp".into(),
                        from_port: port(5432),
                        to_port: port(5432),
                        cidr_ipv4: None,
                        cidr_ipv6: None,
                        prefix_list_id: None,
                        referenced_security_group_id: Some(app.id().into()),
                        description: None,
                    },
                    Options::new().provider(key),
                );
                s.add_with(
                    &format!("to-vpc-{}", suffix(key)),
                    SecurityGroupRule {
                        direction: "egress".into(),
                        security_group_id: db.id().into(),
                        protocol: "tcp".into(),
                        from_port: port(8443),
                        to_port: port(8443),
                        cidr_ipv4: Some(format!("10.{octet}.0.0/16")),
                        cidr_ipv6: None,
                        prefix_list_id: None,
                        referenced_security_group_id: None,
                        description: Some(format!("to the vpc v{}", v.min(1))),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["from-app-aws-us-east-1", "from-app-aws-eu-west-1", "to-vpc-aws-us-east-1", "to-vpc-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// An ingress rule added with the raw SDK shows in the next refreshed plan
/// as an update of the group, the apply revokes exactly it, and the plan
/// after that is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_outside_infra_is_drift_and_is_revoked() {
    let w = world();
    let (mut s, us, eu) = stack("drift");
    for (key, _, octet) in regions(&us, &eu) {
        let net = vpc(&mut s, key, "vpc", format!("10.{octet}.0.0/16"));
        group(
            &mut s,
            key,
            "sg",
            &net,
            vec![
                SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"]),
                SecurityGroupRuleSpec::tcp_from_cidrs(80, &["10.0.0.0/8"]),
            ],
            vec![SecurityGroupRuleSpec::all_to_anywhere()],
        );
    }
    w.apply(&s).await;
    assert!(w.converged(&s).await, "plan after create is not empty");

    let state = w.state("drift").await;
    let mut ids = Vec::new();
    for (key, region, _) in regions(&us, &eu) {
        let a = addr(&format!("sg-{}", suffix(key)));
        let id = state.resources[&a].id.clone();
        w.ec2(region)
            .authorize_security_group_ingress()
            .group_id(&id)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("203.0.113.0/24").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        ids.push((a, region, id));
    }

    let (o, _) = w.apply(&s).await;
    for (a, region, id) in &ids {
        let change = o.plan.change(a).unwrap();
        assert_eq!(change.action, Action::Update, "{a}");
        assert_eq!(change.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["ingress"], "{a}");
        let out = w.ec2(region).describe_security_groups().group_ids(id).send().await.unwrap();
        let ports: Vec<Option<i32>> =
            out.security_groups()[0].ip_permissions().iter().map(|p| p.from_port()).collect();
        assert!(!ports.contains(&Some(22)), "{a}: the rule added outside is still there: {ports:?}");
        assert_eq!(ports.len(), 2, "{a}: the declared rules are gone: {ports:?}");
    }
    assert!(w.converged(&s).await, "plan after the repair is not empty");
    w.destroy(&s).await;
}

/// Applies `stack` to the world's emulator and state through new provider
/// instances, as a new process would: nothing the old ones remembered.
async fn apply_in_a_new_process(w: &World, stack: &Stack) -> Outcome {
    let mut registry = Registry::new();
    for r in REGIONS {
        let config = ProviderConfig::aws(r);
        let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, r).unwrap();
        registry.insert(AwsProvider::with_sdk_config(&config, sdk).instance);
    }
    let executor =
        Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default());
    let (events, _rx) = Events::channel();
    let options = RunOptions {
        mode: Mode::Apply(PlanOptions::default()),
        lock_timeout: Duration::from_secs(5),
        refresh: true,
    };
    let backend: Arc<dyn Backend> = w.backend.clone();
    let outcome = run(&executor, backend, stack, &options, &events, &Interrupt::new()).await.unwrap();
    assert!(outcome.report.success(), "apply failed: {:?}", outcome.report);
    outcome
}

/// A new process has no memory of how the rules were spelled: it reads
/// them in the canonical form (one rule per protocol, ports and
/// description; peers and rules sorted), so rules declared that way, and
/// standalone rules, show no diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_reads_canonically_declared_rules_without_a_diff() {
    let w = world();
    let (mut s, us, eu) = stack("new-process");
    for (key, _, octet) in regions(&us, &eu) {
        let net = vpc(&mut s, key, "vpc", format!("10.{octet}.0.0/16"));
        let peer = group(&mut s, key, "peer", &net, vec![], vec![SecurityGroupRuleSpec::all_to_anywhere()]);
        group(&mut s, key, "closed", &net, vec![], vec![]);
        let web = group(
            &mut s,
            key,
            "web",
            &net,
            vec![
                SecurityGroupRuleSpec::tcp_from_cidrs(80, &["10.0.0.0/8", "192.168.0.0/16"]),
                SecurityGroupRuleSpec {
                    self_: true,
                    description: Some("app".into()),
                    ..SecurityGroupRuleSpec::tcp_from_groups(443, &[peer.id()])
                },
            ],
            vec![
                SecurityGroupRuleSpec::all_to_anywhere(),
                SecurityGroupRuleSpec {
                    protocol: "udp".into(),
                    ..SecurityGroupRuleSpec::tcp_from_cidrs(53, &["10.0.0.2/32"])
                },
            ],
        );
        s.add_with(
            &format!("rule-{}", suffix(key)),
            SecurityGroupRule {
                direction: "ingress".into(),
                security_group_id: web.id().into(),
                protocol: "tcp".into(),
                from_port: 22,
                to_port: 22,
                cidr_ipv4: Some("10.0.0.0/8".into()),
                cidr_ipv6: None,
                prefix_list_id: None,
                referenced_security_group_id: None,
                description: Some("ssh".into()),
            },
            Options::new().provider(key),
        );
    }
    w.apply(&s).await;
    let o = apply_in_a_new_process(&w, &s).await;
    assert!(o.plan.is_empty(), "{}", infra_core::plan::render::render(&o.plan, Default::default()));
    w.destroy(&s).await;
}

/// Rules written in a grouping the cloud does not keep — several sources
/// in one rule, one source split over two rules, the same rule twice,
/// protocols by number and `all` — plan empty in a new process: the
/// declaration is normalised to the form a read reports (one rule per
/// source, sorted), with nothing remembered in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_in_a_non_canonical_grouping_plan_empty_in_a_new_process() {
    let w = world();
    let (mut s, us, eu) = stack("grouping");
    for (key, _, octet) in regions(&us, &eu) {
        let net = vpc(&mut s, key, "vpc", format!("10.{octet}.0.0/16"));
        let peer = group(&mut s, key, "peer", &net, vec![], vec![]);
        let https = |cidrs: &[&str]| SecurityGroupRuleSpec {
            protocol: "6".into(),
            ..SecurityGroupRuleSpec::tcp_from_cidrs(443, cidrs)
        };
        group(
            &mut s,
            key,
            "mixed",
            &net,
            vec![
                https(&["192.168.0.0/16", "10.0.0.0/8"]),
                https(&["172.16.0.0/12"]),
                https(&["10.0.0.0/8"]),
                SecurityGroupRuleSpec {
                    cidr_blocks: vec!["10.1.0.0/16".into()],
                    self_: true,
                    ..SecurityGroupRuleSpec::tcp_from_groups(8080, &[peer.id()])
                },
            ],
            vec![SecurityGroupRuleSpec {
                protocol: "all".into(),
                ..SecurityGroupRuleSpec::all_to_anywhere()
            }],
        );
    }
    w.apply(&s).await;
    let o = apply_in_a_new_process(&w, &s).await;
    assert!(o.plan.is_empty(), "{}", infra_core::plan::render::render(&o.plan, Default::default()));
    w.destroy(&s).await;
}
