//! The catalogue of invalid stacks (docs/validation.md): each case adds to
//! a valid two-region base stack what a user could get wrong, and names
//! what the refusal must say. `tests/invalid_stacks.rs` applies each one
//! through the real stack program (`src/bin/invalid_stacks.rs`) against an
//! endpoint that counts calls.

use std::collections::BTreeMap;

use infra::aws::ec2::{
    ElasticIp, FlowLog, InternetGateway, LaunchTemplate, MetadataOptions, NatGateway, NetworkAcl,
    NetworkAclRuleSpec, Route, RouteTable, RouteTableAssociation, SecurityGroup, SecurityGroupRule,
    SecurityGroupRuleSpec, Subnet, TransitGateway, TransitGatewayRoute, TransitGatewayVpcAttachment, Vpc,
    VpcPeeringConnection,
};
use infra::aws::elasticache::{CacheParameterGroup, ReplicationGroup};
use infra::aws::elbv2::{Action, Alb, Condition, Listener, ListenerRule};
use infra::aws::ids::{CertificateArn, DbClusterIdentifier, GlobalClusterId, KmsKeyArn};
use infra::aws::rds::{AuroraCluster, ClusterInstance, DbSubnetGroup};
use infra::aws::secretsmanager::SecretSource;
use infra::core::OnDelete;
use infra::prelude::*;

/// The valid stack every case starts from, and its handles.
#[allow(missing_debug_implementations)]
pub struct Base {
    pub us: ProviderKey,
    pub eu: ProviderKey,
    pub vpc: Handle<Vpc>,
    pub other_vpc: Handle<Vpc>,
    pub eu_vpc: Handle<Vpc>,
    pub a: Handle<Subnet>,
    pub b: Handle<Subnet>,
    pub other: Handle<Subnet>,
    pub rt: Handle<RouteTable>,
    pub igw: Handle<InternetGateway>,
    pub eip: Handle<ElasticIp>,
    pub web: Handle<SecurityGroup>,
    pub tgw: Handle<TransitGateway>,
}

/// One invalid stack or misuse: the command line to run, and what the
/// refusal must name (the address and the field, or the file).
#[allow(missing_debug_implementations)]
pub struct Case {
    pub name: &'static str,
    pub args: &'static [&'static str],
    pub expect: &'static [&'static str],
    /// What the state directory holds before the command.
    pub setup: Setup,
    /// Adds the invalid part (None: the base stack as it is).
    pub build: Option<fn(&mut Stack, &Base)>,
}

/// What a case's state directory holds before its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Nothing.
    Empty,
    /// A state with no resources (one plan-free apply of nothing).
    EmptyState,
    /// A state file that is not JSON.
    CorruptState,
    /// A saved plan from another stack's lineage (`plan.json`) and a state.
    ForeignPlan,
    /// A lock held by another run.
    Locked,
    /// A state that manages `vpc-0abc123` at `us.vpc`.
    ManagedVpc,
}

fn region(stack: &mut Stack, name: &str) -> ProviderKey {
    stack.provider(ProviderConfig::aws(name))
}

/// The base stack: two VPCs in us-east-1 (two subnets in one, one in the
/// other), one in eu-west-1, an internet gateway, an Elastic IP, a route
/// table, a security group and a transit gateway.
pub fn base(stack: &mut Stack) -> Base {
    let us = region(stack, "us-east-1");
    let eu = region(stack, "eu-west-1");
    let vpc_of = |cidr: &str| Vpc { cidr_block: cidr.into(), enable_dns_support: true, ..Default::default() };
    let mut s = stack.scope("us").with_provider(&us);
    let vpc = s.add("vpc", vpc_of("10.1.0.0/16"));
    let other_vpc = s.add("other-vpc", vpc_of("10.2.0.0/16"));
    let subnet = subnet_in;
    let a = s.add("a", subnet(&vpc, "10.1.1.0/24", "us-east-1a"));
    let b = s.add("b", subnet(&vpc, "10.1.2.0/24", "us-east-1b"));
    let other = s.add("other", subnet(&other_vpc, "10.2.1.0/24", "us-east-1a"));
    let rt = s.add("rt", RouteTable { vpc_id: vpc.id().into(), ..Default::default() });
    let igw = s.add("igw", InternetGateway { vpc_id: Some(vpc.id().into()), ..Default::default() });
    let eip = s.add("eip", ElasticIp::default());
    let web =
        s.add("web", group("web", &vpc, vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["0.0.0.0/0"])]));
    let tgw = s.add("tgw", TransitGateway::default());
    let eu_vpc = stack.scope("eu").with_provider(&eu).add("vpc", vpc_of("10.3.0.0/16"));
    Base { us, eu, vpc, other_vpc, eu_vpc, a, b, other, rt, igw, eip, web, tgw }
}

fn group(name: &str, vpc: &Handle<Vpc>, ingress: Vec<SecurityGroupRuleSpec>) -> SecurityGroup {
    SecurityGroup {
        name: name.into(),
        description: "catalogue".into(),
        vpc_id: vpc.id().into(),
        ingress,
        egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
        ..Default::default()
    }
}

fn subnet_in(vpc: &Handle<Vpc>, cidr: &str, az: &str) -> Subnet {
    Subnet {
        vpc_id: vpc.id().into(),
        cidr_block: cidr.into(),
        availability_zone: az.into(),
        ..Default::default()
    }
}

fn tcp(from: i32, to: i32) -> SecurityGroupRuleSpec {
    SecurityGroupRuleSpec {
        protocol: "tcp".into(),
        from_port: from,
        to_port: to,
        cidr_blocks: vec!["10.0.0.0/8".into()],
        ..Default::default()
    }
}

/// A valid replication group (one cluster, no encryption).
fn redis() -> ReplicationGroup {
    ReplicationGroup {
        replication_group_id: "prod-redis".into(),
        description: "catalogue".into(),
        node_type: "cache.t4g.medium".into(),
        ..Default::default()
    }
}

/// A valid Aurora cluster in the base's VPC.
fn aurora(b: &Base) -> AuroraCluster {
    AuroraCluster {
        cluster_identifier: "product".into(),
        engine: "aurora-postgresql".into(),
        master_username: Some("dbadmin".into()),
        master_password: Some(SecretSource::Value(Sensitive("correct-horse-battery".into()))),
        vpc_security_group_ids: vec![b.web.id().into()],
        on_delete: Some(OnDelete::DeleteData),
        ..Default::default()
    }
}

fn us<'s>(stack: &'s mut Stack, base: &Base) -> Scope<'s> {
    stack.scope("us").with_provider(&base.us)
}

fn add_sg(stack: &mut Stack, base: &Base, sg: SecurityGroup) {
    us(stack, base).add("bad", sg);
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn route_to_igw(base: &Base, dest: &str) -> Route {
    Route {
        route_table_id: base.rt.id().into(),
        destination_cidr_block: dest.into(),
        gateway_id: Some(base.igw.id().into()),
        ..Default::default()
    }
}

fn nacl_rule(rule_no: i32, action: &str, from: i32, to: i32) -> NetworkAclRuleSpec {
    NetworkAclRuleSpec::tcp(rule_no, action, "10.0.0.0/8", from, to)
}

fn nacl(base: &Base, ingress: Vec<NetworkAclRuleSpec>) -> NetworkAcl {
    NetworkAcl { vpc_id: base.vpc.id().into(), ingress, ..Default::default() }
}

fn sg_rule(base: &Base) -> SecurityGroupRule {
    SecurityGroupRule {
        direction: "ingress".into(),
        security_group_id: base.web.id().into(),
        protocol: "tcp".into(),
        from_port: 22,
        to_port: 22,
        cidr_ipv4: Some("10.0.0.0/8".into()),
        ..Default::default()
    }
}

fn alb(base: &Base) -> Alb {
    Alb {
        name: "web".into(),
        subnets: vec![base.a.id().into(), base.b.id().into()],
        security_groups: vec![base.web.id().into()],
        ..Default::default()
    }
}

fn http_listener(lb: &Handle<Alb>) -> Listener {
    Listener {
        load_balancer_arn: lb.arn().into(),
        port: 80,
        protocol: "HTTP".into(),
        default_actions: vec![Action::fixed_response("404", "text/plain", "")],
        ..Default::default()
    }
}

fn https_listener(lb: &Handle<Alb>, certificate_arn: Option<Input<CertificateArn>>) -> Listener {
    Listener {
        port: 443,
        protocol: "HTTPS".into(),
        ssl_policy: Some("ELBSecurityPolicy-TLS13-1-2-2021-06".into()),
        certificate_arn,
        ..http_listener(lb)
    }
}

fn rule(listener: &Handle<Listener>, priority: i32) -> ListenerRule {
    ListenerRule {
        listener_arn: listener.arn().into(),
        priority,
        conditions: vec![Condition::PathPattern(vec!["/api/*".into()])],
        actions: vec![Action::fixed_response("503", "text/plain", "")],
        ..Default::default()
    }
}

const APPLY: &[&str] = &["apply", "--yes"];
const PLAN: &[&str] = &["plan"];

macro_rules! case {
    ($name:literal, [$($e:literal),*], |$s:ident, $b:ident| $body:expr) => {
        Case {
            name: $name,
            args: APPLY,
            expect: &[$($e),*],
            setup: Setup::Empty,
            build: Some(|$s: &mut Stack, $b: &Base| {
                $body;
            }),
        }
    };
}

/// Every case.
pub fn cases() -> Vec<Case> {
    let mut out = stack_cases();
    out.extend(misuses());
    out
}

/// Invalid declarations: values, combinations and relations.
fn stack_cases() -> Vec<Case> {
    vec![
        // Values AWS would refuse that the type knows.
        case!("port above 65535", ["us.bad", "ingress[0].to_port", "0-65535"], |s, b| add_sg(
            s,
            b,
            group("bad", &b.vpc, vec![tcp(80, 70000)])
        )),
        case!("negative port", ["us.bad", "ingress[1].from_port", "0-65535"], |s, b| add_sg(
            s,
            b,
            group("bad", &b.vpc, vec![tcp(80, 80), tcp(-5, 80)])
        )),
        case!("from port above to port", ["us.bad", "ingress[0].from_port", "greater than"], |s, b| add_sg(
            s,
            b,
            group("bad", &b.vpc, vec![tcp(443, 80)])
        )),
        case!("rule without a source", ["us.bad", "ingress[0]", "needs a source"], |s, b| add_sg(
            s,
            b,
            group("bad", &b.vpc, vec![SecurityGroupRuleSpec { cidr_blocks: vec![], ..tcp(22, 22) }])
        )),
        case!("egress rule without a destination", ["us.bad", "egress[0]", "needs a source"], |s, b| add_sg(
            s,
            b,
            SecurityGroup {
                egress: vec![SecurityGroupRuleSpec { protocol: "-1".into(), ..Default::default() }],
                ..group("bad", &b.vpc, vec![])
            }
        )),
        case!("unknown protocol", ["us.bad", "ingress[0].protocol", "tcpp"], |s, b| add_sg(
            s,
            b,
            group("bad", &b.vpc, vec![SecurityGroupRuleSpec { protocol: "tcpp".into(), ..tcp(22, 22) }])
        )),
        case!("ICMP type out of range", ["us.bad", "ingress[0].from_port", "ICMP"], |s, b| add_sg(
            s,
            b,
            group("bad", &b.vpc, vec![SecurityGroupRuleSpec { protocol: "icmp".into(), ..tcp(300, 0) }])
        )),
        case!("bad rule CIDR", ["us.bad", "ingress[0].cidr_blocks[1]", "10.0.0.0/33"], |s, b| add_sg(
            s,
            b,
            group(
                "bad",
                &b.vpc,
                vec![SecurityGroupRuleSpec {
                    cidr_blocks: vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()],
                    ..tcp(22, 22)
                }]
            )
        )),
        case!("group name starting with sg-", ["us.bad", "`name`", "sg-"], |s, b| add_sg(
            s,
            b,
            group("sg-web", &b.vpc, vec![])
        )),
        case!("empty group name", ["us.bad", "`name`", "1 to 255"], |s, b| add_sg(
            s,
            b,
            group("", &b.vpc, vec![])
        )),
        case!("group description too long", ["us.bad", "`description`", "255"], |s, b| add_sg(
            s,
            b,
            SecurityGroup { description: "d".repeat(300), ..group("bad", &b.vpc, vec![]) }
        )),
        case!("tag key longer than 128", ["us.bad", "tags[", "1 to 128"], |s, b| add_sg(
            s,
            b,
            SecurityGroup { tags: tags(&[(&"k".repeat(129), "v")]), ..group("bad", &b.vpc, vec![]) }
        )),
        case!("tag key starting with aws:", ["us.bad", "tags[\"aws:team\"]", "reserved for AWS"], |s, b| {
            us(s, b).add(
                "bad",
                Vpc {
                    cidr_block: "10.9.0.0/16".into(),
                    tags: tags(&[("aws:team", "x")]),
                    ..Default::default()
                },
            )
        }),
        case!(
            "tag key starting with infra:",
            ["us.bad", "tags[\"infra:stack\"]", "reserved for infra"],
            |s, b| { us(s, b).add("bad", ElasticIp { tags: tags(&[("infra:stack", "other")]) }) }
        ),
        case!("tag value longer than 256", ["us.bad", "tags[\"team\"]", "256"], |s, b| {
            us(s, b).add("bad", ElasticIp { tags: tags(&[("team", &"v".repeat(300))]) })
        }),
        case!("more than 50 tags", ["us.bad", "`tags`", "at most 47"], |s, b| {
            let many: BTreeMap<String, String> = (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect();
            us(s, b).add("bad", ElasticIp { tags: many })
        }),
        case!("subnet smaller than /28", ["us.bad", "cidr_block", "/16 and /28"], |s, b| {
            us(s, b).add("bad", subnet_in(&b.vpc, "10.1.9.0/29", "us-east-1a"))
        }),
        case!("subnet outside its VPC", ["us.bad", "cidr_block", "outside the blocks of its VPC"], |s, b| {
            us(s, b).add("bad", subnet_in(&b.vpc, "10.7.0.0/24", "us-east-1a"))
        }),
        case!("overlapping subnets", ["us.bad", "cidr_block", "overlaps subnet us.a"], |s, b| {
            us(s, b).add("bad", subnet_in(&b.vpc, "10.1.1.0/25", "us-east-1a"))
        }),
        case!("zone of another region", ["us.bad", "availability_zone", "eu-west-1a"], |s, b| {
            us(s, b).add("bad", subnet_in(&b.vpc, "10.1.9.0/24", "eu-west-1a"))
        }),
        case!("required input left unset", ["us.bad", "`vpc_id`", "not set"], |s, b| {
            us(s, b).add(
                "bad",
                Subnet {
                    cidr_block: "10.1.9.0/24".into(),
                    availability_zone: "us-east-1a".into(),
                    ..Default::default()
                },
            )
        }),
        case!("malformed VPC block", ["us.bad", "cidr_block", "10.0.0.0/33"], |s, b| {
            us(s, b).add("bad", Vpc { cidr_block: "10.0.0.0/33".into(), ..Default::default() })
        }),
        case!("VPC block larger than /16", ["us.bad", "cidr_block", "/16 and /28"], |s, b| {
            us(s, b).add("bad", Vpc { cidr_block: "10.0.0.0/12".into(), ..Default::default() })
        }),
        case!("overlapping secondary block", ["us.bad", "secondary_cidr_blocks[0]", "overlaps"], |s, b| {
            us(s, b).add(
                "bad",
                Vpc {
                    cidr_block: "10.9.0.0/16".into(),
                    secondary_cidr_blocks: vec!["10.9.128.0/17".into()],
                    ..Default::default()
                },
            )
        }),
        case!("unknown tenancy", ["us.bad", "instance_tenancy", "dedicated"], |s, b| {
            us(s, b).add(
                "bad",
                Vpc {
                    cidr_block: "10.9.0.0/16".into(),
                    instance_tenancy: Some("host".into()),
                    ..Default::default()
                },
            )
        }),
        case!("unknown NAT connectivity", ["us.bad", "connectivity_type", "private"], |s, b| {
            us(s, b).add(
                "bad",
                NatGateway {
                    subnet_id: b.a.id().into(),
                    connectivity_type: Some("semi".into()),
                    ..Default::default()
                },
            )
        }),
        case!(
            "private NAT gateway with an Elastic IP",
            ["us.bad", "allocation_id", "private NAT"],
            |s, b| {
                us(s, b).add(
                    "bad",
                    NatGateway {
                        subnet_id: b.a.id().into(),
                        allocation_id: Some(b.eip.id().into()),
                        connectivity_type: Some("private".into()),
                        ..Default::default()
                    },
                )
            }
        ),
        case!("route with two targets", ["us.bad", "gateway_id", "exactly one target"], |s, b| {
            us(s, b).add(
                "bad",
                Route { transit_gateway_id: Some(b.tgw.id().into()), ..route_to_igw(b, "0.0.0.0/0") },
            )
        }),
        case!("route without a target", ["us.bad", "gateway_id", "exactly one target"], |s, b| {
            us(s, b).add("bad", Route { gateway_id: None, ..route_to_igw(b, "0.0.0.0/0") })
        }),
        case!("route to a malformed block", ["us.bad", "destination_cidr_block", "0.0.0.0/40"], |s, b| {
            us(s, b).add("bad", route_to_igw(b, "0.0.0.0/40"))
        }),
        case!("network ACL rule number 0", ["us.bad", "ingress[0].rule_no", "1 to 32766"], |s, b| {
            us(s, b).add("bad", nacl(b, vec![nacl_rule(0, "allow", 80, 80)]))
        }),
        case!("network ACL rule number twice", ["us.bad", "ingress[1].rule_no", "used twice"], |s, b| {
            us(s, b)
                .add("bad", nacl(b, vec![nacl_rule(100, "allow", 80, 80), nacl_rule(100, "deny", 22, 22)]))
        }),
        case!("network ACL action", ["us.bad", "ingress[0].action", "permit"], |s, b| {
            us(s, b).add("bad", nacl(b, vec![nacl_rule(100, "permit", 80, 80)]))
        }),
        case!("network ACL port", ["us.bad", "ingress[0].to_port", "0-65535"], |s, b| {
            us(s, b).add("bad", nacl(b, vec![nacl_rule(100, "allow", 80, 99999)]))
        }),
        case!("flow log traffic type", ["us.bad", "traffic_type", "ACCEPT, REJECT or ALL"], |s, b| {
            us(s, b).add(
                "bad",
                FlowLog { vpc_id: b.vpc.id().into(), traffic_type: "SOME".into(), ..Default::default() },
            )
        }),
        case!("flow log interval", ["us.bad", "max_aggregation_interval", "60 or 600"], |s, b| {
            us(s, b).add(
                "bad",
                FlowLog {
                    vpc_id: b.vpc.id().into(),
                    traffic_type: "ALL".into(),
                    max_aggregation_interval: Some(300),
                    ..Default::default()
                },
            )
        }),
        case!("launch template name too short", ["us.bad", "`name`", "3 to 128"], |s, b| {
            us(s, b).add("bad", LaunchTemplate { name: "lt".into(), ..Default::default() })
        }),
        case!("launch template metadata tokens", ["us.bad", "metadata_options", "required"], |s, b| {
            us(s, b).add(
                "bad",
                LaunchTemplate {
                    name: "app".into(),
                    metadata_options: Some(MetadataOptions {
                        http_tokens: Some("maybe".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
        }),
        case!("transit gateway public ASN", ["us.bad", "amazon_side_asn", "private ASN"], |s, b| {
            us(s, b).add("bad", TransitGateway { amazon_side_asn: 100, ..Default::default() })
        }),
        case!("attachment without subnets", ["us.bad", "subnet_ids", "at least one subnet"], |s, b| {
            us(s, b).add("bad", TransitGatewayVpcAttachment::new(b.tgw.id(), b.vpc.id(), vec![]))
        }),
        case!(
            "blackhole route with a target",
            ["us.bad", "transit_gateway_attachment_id", "blackhole"],
            |s, b| {
                let att = us(s, b).add(
                    "att",
                    TransitGatewayVpcAttachment::new(b.tgw.id(), b.vpc.id(), vec![b.a.id().into()]),
                );
                us(s, b).add(
                    "bad",
                    TransitGatewayRoute {
                        destination_cidr_block: "10.50.0.0/16".into(),
                        transit_gateway_route_table_id: b.tgw.association_default_route_table_id().into(),
                        transit_gateway_attachment_id: Some(att.id().into()),
                        blackhole: true,
                    },
                )
            }
        ),
        case!("misspelt peer region", ["us.bad", "peer_region", "did you mean eu-west-1?"], |s, b| {
            us(s, b).add(
                "bad",
                VpcPeeringConnection {
                    vpc_id: b.vpc.id().into(),
                    peer_vpc_id: b.eu_vpc.id().into(),
                    peer_region: "eu-wset-1".into(),
                    peer_owner_id: b.vpc.owner_id().into(),
                    ..Default::default()
                },
            )
        }),
        case!("standalone rule with two peers", ["us.bad", "cidr_ipv4", "exactly one of"], |s, b| {
            us(s, b).add("bad", SecurityGroupRule { cidr_ipv6: Some("::/0".into()), ..sg_rule(b) })
        }),
        case!("standalone rule direction", ["us.bad", "`type`", "ingress"], |s, b| {
            us(s, b).add("bad", SecurityGroupRule { direction: "inbound".into(), ..sg_rule(b) })
        }),
        case!("standalone rule port", ["us.bad", "`to_port`", "0-65535"], |s, b| {
            us(s, b).add("bad", SecurityGroupRule { to_port: 65536, ..sg_rule(b) })
        }),
        // Relations inside the stack.
        case!("unknown region", ["aws.us-esat-1", "did you mean us-east-1?"], |s, _b| {
            let bad = region(s, "us-esat-1");
            s.scope("bad")
                .with_provider(&bad)
                .add("vpc", Vpc { cidr_block: "10.8.0.0/16".into(), ..Default::default() })
        }),
        case!("NAT gateway of another VPC in a route", ["us.bad", "nat_gateway_id", "one VPC"], |s, b| {
            let nat = us(s, b).add(
                "nat",
                NatGateway {
                    subnet_id: b.other.id().into(),
                    allocation_id: Some(b.eip.id().into()),
                    ..Default::default()
                },
            );
            us(s, b).add(
                "bad",
                Route {
                    gateway_id: None,
                    nat_gateway_id: Some(nat.id().into()),
                    ..route_to_igw(b, "0.0.0.0/0")
                },
            )
        }),
        case!("association with a subnet of another VPC", ["us.bad", "subnet_id", "one VPC"], |s, b| {
            us(s, b).add(
                "bad",
                RouteTableAssociation { route_table_id: b.rt.id().into(), subnet_id: b.other.id().into() },
            )
        }),
        case!("attachment with a subnet of another VPC", ["us.bad", "subnet_ids[1]", "one VPC"], |s, b| {
            us(s, b).add(
                "bad",
                TransitGatewayVpcAttachment::new(
                    b.tgw.id(),
                    b.vpc.id(),
                    vec![b.a.id().into(), b.other.id().into()],
                ),
            )
        }),
        case!(
            "launch template with groups of two VPCs",
            ["us.bad", "vpc_security_group_ids[1]", "one VPC"],
            |s, b| {
                let g = us(s, b).add("g2", group("g2", &b.other_vpc, vec![]));
                us(s, b).add(
                    "bad",
                    LaunchTemplate {
                        name: "app".into(),
                        vpc_security_group_ids: vec![b.web.id().into(), g.id().into()],
                        ..Default::default()
                    },
                )
            }
        ),
        case!("network ACL with a subnet of another VPC", ["us.bad", "subnet_ids[0]", "one VPC"], |s, b| {
            us(s, b).add("bad", NetworkAcl { subnet_ids: vec![b.other.id().into()], ..nacl(b, vec![]) })
        }),
        case!("VPC of another region", ["eu.bad", "vpc_id", "us-east-1", "regional"], |s, b| {
            s.scope("eu").with_provider(&b.eu).add("bad", subnet_in(&b.vpc, "10.1.9.0/24", "eu-west-1a"))
        }),
        case!("two routes for one destination", ["us.bad", "destination_cidr_block", "us.first"], |s, b| {
            us(s, b).add("first", route_to_igw(b, "0.0.0.0/0"));
            us(s, b).add("bad", route_to_igw(b, "0.0.0.0/0"))
        }),
        case!("two associations for one subnet", ["us.bad", "subnet_id", "us.first"], |s, b| {
            us(s, b).add(
                "first",
                RouteTableAssociation { route_table_id: b.rt.id().into(), subnet_id: b.a.id().into() },
            );
            us(s, b).add(
                "bad",
                RouteTableAssociation { route_table_id: b.rt.id().into(), subnet_id: b.a.id().into() },
            )
        }),
        case!("one Elastic IP for two NAT gateways", ["us.bad", "allocation_id", "us.first"], |s, b| {
            us(s, b).add(
                "first",
                NatGateway {
                    subnet_id: b.a.id().into(),
                    allocation_id: Some(b.eip.id().into()),
                    ..Default::default()
                },
            );
            us(s, b).add(
                "bad",
                NatGateway {
                    subnet_id: b.b.id().into(),
                    allocation_id: Some(b.eip.id().into()),
                    ..Default::default()
                },
            )
        }),
        case!("two groups of one name in one VPC", ["us.bad", "`name`", "us.web"], |s, b| add_sg(
            s,
            b,
            group("web", &b.vpc, vec![])
        )),
        case!("two internet gateways on one VPC", ["us.bad", "vpc_id", "us.igw"], |s, b| {
            us(s, b).add("bad", InternetGateway { vpc_id: Some(b.vpc.id().into()), ..Default::default() })
        }),
        case!("one subnet in two network ACLs", ["us.bad", "subnet_ids[0]", "us.first"], |s, b| {
            us(s, b).add("first", NetworkAcl { subnet_ids: vec![b.a.id().into()], ..nacl(b, vec![]) });
            us(s, b).add("bad", NetworkAcl { subnet_ids: vec![b.a.id().into()], ..nacl(b, vec![]) })
        }),
        case!("one VPC attached twice to a transit gateway", ["us.bad", "vpc_id", "us.first"], |s, b| {
            us(s, b).add(
                "first",
                TransitGatewayVpcAttachment::new(b.tgw.id(), b.vpc.id(), vec![b.a.id().into()]),
            );
            us(s, b)
                .add("bad", TransitGatewayVpcAttachment::new(b.tgw.id(), b.vpc.id(), vec![b.b.id().into()]))
        }),
        // Load balancers: combinations and relations.
        case!("HTTPS listener without a certificate", ["us.bad", "certificate_arn"], |s, b| {
            let lb = us(s, b).add("alb", alb(b));
            us(s, b).add("bad", https_listener(&lb, None))
        }),
        case!("two rules of one priority on a listener", ["us.bad", "priority", "us.first"], |s, b| {
            let lb = us(s, b).add("alb", alb(b));
            let l = us(s, b).add("listener", http_listener(&lb));
            us(s, b).add("first", rule(&l, 10));
            us(s, b).add("bad", rule(&l, 10))
        }),
        case!(
            "listener on another region's load balancer",
            ["eu.bad", "load_balancer_arn", "us-east-1"],
            |s, b| {
                let lb = us(s, b).add("alb", alb(b));
                s.scope("eu").with_provider(&b.eu).add("bad", http_listener(&lb))
            }
        ),
        // ElastiCache: IDs, combinations and families.
        case!(
            "replication group ID with two hyphens",
            ["us.bad", "replication_group_id", "two hyphens"],
            |s, b| {
                us(s, b)
                    .add("bad", ReplicationGroup { replication_group_id: "prod--redis".into(), ..redis() })
            }
        ),
        case!(
            "auth token without transit encryption",
            ["us.bad", "auth_token", "transit_encryption_enabled"],
            |s, b| {
                let token =
                    infra::aws::secretsmanager::SecretSource::Value(Sensitive("a-token-of-sixteen".into()));
                us(s, b).add("bad", ReplicationGroup { auth_token: Some(token), ..redis() })
            }
        ),
        case!(
            "automatic failover with one cluster",
            ["us.bad", "automatic_failover_enabled", "2 or more"],
            |s, b| { us(s, b).add("bad", ReplicationGroup { automatic_failover_enabled: true, ..redis() }) }
        ),
        case!(
            "multi-AZ without failover",
            ["us.bad", "multi_az_enabled", "automatic_failover_enabled"],
            |s, b| {
                us(s, b).add(
                    "bad",
                    ReplicationGroup { multi_az_enabled: true, num_cache_clusters: Some(2), ..redis() },
                )
            }
        ),
        case!("cache node type without cache.", ["us.bad", "node_type", "cache.t4g.medium"], |s, b| {
            us(s, b).add("bad", ReplicationGroup { node_type: "t4g.medium".into(), ..redis() })
        }),
        case!(
            "cluster mode and a cluster count",
            ["us.bad", "num_cache_clusters", "exclude each other"],
            |s, b| {
                let both = ReplicationGroup {
                    num_cache_clusters: Some(2),
                    num_node_groups: Some(2),
                    replicas_per_node_group: Some(1),
                    automatic_failover_enabled: true,
                    ..redis()
                };
                us(s, b).add("bad", both)
            }
        ),
        case!("parameter group family redis7.x", ["us.bad", "family", "did you mean redis7?"], |s, b| {
            let params = CacheParameterGroup {
                name: "redis-params".into(),
                family: "redis7.x".into(),
                ..Default::default()
            };
            us(s, b).add("bad", params)
        }),
        // The stack's own structure.
        case!("output the type does not have", ["us.bad", "no such output"], |s, b| {
            us(s, b).add(
                "bad",
                Subnet {
                    vpc_id: b.vpc.output("nope").into(),
                    cidr_block: "10.1.9.0/24".into(),
                    availability_zone: "us-east-1a".into(),
                    ..Default::default()
                },
            )
        }),
        case!("provider registered twice", ["aws.us-east-1", "registered twice"], |s, _b| {
            region(s, "us-east-1");
        }),
        case!("address declared twice", ["us.vpc", "more than once"], |s, b| {
            us(s, b).add("vpc", Vpc { cidr_block: "10.9.0.0/16".into(), ..Default::default() })
        }),
        case!("invalid resource name", ["invalid resource name", "Bad Name"], |s, b| {
            us(s, b).add("Bad Name", ElasticIp::default())
        }),
        case!("ignore_changes of a field the type lacks", ["us.bad", "colour", "ignore_changes"], |s, b| {
            us(s, b).add_with("bad", ElasticIp::default(), Options::new().ignore_changes(["colour"]))
        }),
        case!("dependency cycle", ["cycle"], |s, b| {
            if let Ok(y) = Address::parse("us.y") {
                let x = us(s, b).add_with("x", ElasticIp::default(), Options::new().depends_on(y));
                us(s, b).add_with("y", ElasticIp::default(), Options::new().depends_on(x.address()));
            }
        }),
        case!(
            "several problems at once",
            ["us.bad", "ingress[0].to_port", "ingress[1]", "tags[\"aws:x\"]", "us.bad2", "cidr_block"],
            |s, b| {
                add_sg(
                    s,
                    b,
                    SecurityGroup {
                        tags: tags(&[("aws:x", "1")]),
                        ..group(
                            "bad",
                            &b.vpc,
                            vec![tcp(1, 70000), SecurityGroupRuleSpec { cidr_blocks: vec![], ..tcp(22, 22) }],
                        )
                    },
                );
                us(s, b).add("bad2", Vpc { cidr_block: "10.0.0.0/8".into(), ..Default::default() })
            }
        ),
        // RDS: identifiers, ranges, windows and combinations.
        case!("cluster identifier in upper case", ["us.bad", "cluster_identifier", "lowercased"], |s, b| {
            us(s, b).add("bad", AuroraCluster { cluster_identifier: "Product".into(), ..aurora(b) })
        }),
        case!("backup retention beyond 35 days", ["us.bad", "backup_retention_period", "1 to 35"], |s, b| {
            us(s, b).add("bad", AuroraCluster { backup_retention_period: Some(36), ..aurora(b) })
        }),
        case!(
            "maintenance window over the backup window",
            ["us.bad", "preferred_maintenance_window", "overlaps"],
            |s, b| {
                let windows = AuroraCluster {
                    preferred_backup_window: Some("03:00-04:00".into()),
                    preferred_maintenance_window: Some("wed:03:30-wed:04:30".into()),
                    ..aurora(b)
                };
                us(s, b).add("bad", windows)
            }
        ),
        case!("KMS key on an unencrypted cluster", ["us.bad", "kms_key_id", "storage_encrypted"], |s, b| {
            let key =
                KmsKeyArn::new("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab");
            us(s, b).add("bad", AuroraCluster { kms_key_id: key.ok().map(Into::into), ..aurora(b) })
        }),
        case!("secondary cluster with a master user", ["us.bad", "master_username", "secondary"], |s, b| {
            let global = GlobalClusterId::new("product-db").ok().map(Into::into);
            us(s, b).add("bad", AuroraCluster { global_cluster_identifier: global, ..aurora(b) })
        }),
        case!("instance class without db.", ["us.bad", "instance_class", "db.r6g.large"], |s, b| {
            let instance = ClusterInstance {
                identifier: "product-0".into(),
                cluster_identifier: DbClusterIdentifier::new("product").map(Into::into).unwrap_or_default(),
                instance_class: "r6g.large".into(),
                engine: "aurora-postgresql".into(),
                ..Default::default()
            };
            us(s, b).add("bad", instance)
        }),
        case!("DB subnet group of one subnet", ["us.bad", "subnet_ids", "two availability zones"], |s, b| {
            us(s, b).add(
                "bad",
                DbSubnetGroup {
                    name: "data".into(),
                    subnet_ids: vec![b.a.id().into()],
                    ..Default::default()
                },
            )
        }),
        Case {
            name: "plan refuses as apply does",
            args: PLAN,
            expect: &["us.bad", "ingress[0].to_port"],
            setup: Setup::Empty,
            build: Some(|s, b| add_sg(s, b, group("bad", &b.vpc, vec![tcp(80, 70000)]))),
        },
        Case {
            name: "validate refuses as apply does",
            args: &["validate"],
            expect: &["us.bad", "ingress[0].to_port"],
            setup: Setup::Empty,
            build: Some(|s, b| add_sg(s, b, group("bad", &b.vpc, vec![tcp(80, 70000)]))),
        },
        Case {
            name: "destroy with an invalid stack",
            args: &["destroy", "--yes"],
            expect: &["us.bad", "ingress[0].to_port"],
            setup: Setup::EmptyState,
            build: Some(|s, b| add_sg(s, b, group("bad", &b.vpc, vec![tcp(80, 70000)]))),
        },
    ]
}

/// Misuses of the command line and the state.
fn misuses() -> Vec<Case> {
    let misuse = |name, args, expect, setup| Case { name, args, expect, setup, build: None };
    vec![
        misuse(
            "unknown target",
            &["apply", "--yes", "--target", "us.nope"],
            &["--target us.nope", "no resource is declared"],
            Setup::Empty,
        ),
        misuse("malformed target", &["plan", "--target", "us..x"], &["--target us..x"], Setup::Empty),
        misuse(
            "state that does not parse",
            &["plan"],
            &["prod.infra-state.json", "is corrupt"],
            Setup::CorruptState,
        ),
        misuse(
            "apply with a state that does not parse",
            &["apply", "--yes"],
            &["prod.infra-state.json", "is corrupt"],
            Setup::CorruptState,
        ),
        misuse(
            "saved plan of another lineage",
            &["apply", "plan.json"],
            &["lineage", "plan.json"],
            Setup::ForeignPlan,
        ),
        misuse("saved plan that does not exist", &["apply", "missing.json"], &["missing.json"], Setup::Empty),
        misuse(
            "force-unlock with no lock held",
            &["force-unlock", "some-lock-id"],
            &["nothing to unlock"],
            Setup::EmptyState,
        ),
        misuse(
            "force-unlock of another lock ID",
            &["force-unlock", "not-the-holder"],
            &["not-the-holder", "held by"],
            Setup::Locked,
        ),
        misuse(
            "lock timeout that is not a duration",
            &["plan", "--lock-timeout", "banana"],
            &["banana", "30s"],
            Setup::Empty,
        ),
        misuse(
            "import of an ID of another type",
            &["import", "us.vpc", "subnet-0abc123"],
            &["us.vpc", "a subnet ID", "infra::aws::ids::SubnetId"],
            Setup::Empty,
        ),
        misuse(
            "import of an ID another address manages",
            &["import", "us.other-vpc", "vpc-0abc123"],
            &["us.other-vpc", "already managed at us.vpc"],
            Setup::ManagedVpc,
        ),
        misuse(
            "import into an undeclared address",
            &["import", "us.nope", "vpc-0abc123"],
            &["us.nope", "not declared"],
            Setup::Empty,
        ),
        misuse("import of an empty ID", &["import", "us.vpc", ""], &["us.vpc", "vpc-"], Setup::Empty),
        misuse(
            "state rm of an unknown address",
            &["state", "rm", "us.nope"],
            &["us.nope"],
            Setup::EmptyState,
        ),
        misuse(
            "state mv of an unknown address",
            &["state", "mv", "us.nope", "us.other"],
            &["us.nope"],
            Setup::EmptyState,
        ),
        misuse(
            "state show of an unknown address",
            &["state", "show", "us.nope"],
            &["us.nope"],
            Setup::EmptyState,
        ),
        misuse(
            "apply while another run holds the lock",
            &["apply", "--yes", "--lock-timeout", "0s"],
            &["locked", "force-unlock"],
            Setup::Locked,
        ),
        misuse("unknown stack name", &["--stack", "nope", "plan"], &["nope"], Setup::Empty),
    ]
}

/// The case named `name`'s stack (the base stack for misuses).
pub fn stack(name: &str) -> Stack {
    let mut stack = Stack::new("prod");
    let base = base(&mut stack);
    if let Some(build) = cases().into_iter().find(|c| c.name == name).and_then(|c| c.build) {
        build(&mut stack, &base);
    }
    stack
}
