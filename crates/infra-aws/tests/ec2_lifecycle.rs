//! For every EC2 resource type, on the emulator in both regions: create,
//! a refreshed plan is empty, update in place, plan empty, a force-new
//! change replaces it in the right order, plan empty, destroy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::lifecycle;
use infra_aws::ec2::Vpc;
use infra_core::{Options, ReplaceOrder};

fn tags(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("Name".to_string(), format!("v{}", v.min(1)))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpc() {
    lifecycle(
        "vpc",
        |s, us, eu, v| {
            for (key, octet) in [(us, 1), (eu, 2)] {
                let octet = if v == 2 { octet + 10 } else { octet };
                s.add_with(
                    &format!("vpc-{}", key.0.replace('.', "-")),
                    Vpc {
                        cidr_block: format!("10.{octet}.0.0/16"),
                        secondary_cidr_blocks: if v >= 1 {
                            vec![format!("10.{}.0.0/16", octet + 100)]
                        } else {
                            vec![]
                        },
                        enable_dns_support: true,
                        enable_dns_hostnames: v >= 1,
                        instance_tenancy: None,
                        tags: tags(v),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["vpc-aws-us-east-1", "vpc-aws-eu-west-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

fn fixture_vpc(
    s: &mut infra_core::Stack,
    key: &infra_core::ProviderKey,
    name: &str,
    octet: u8,
) -> infra_core::Handle<Vpc> {
    s.add_with(
        name,
        Vpc { cidr_block: format!("10.{octet}.0.0/16"), enable_dns_support: true, ..Default::default() },
        Options::new().provider(key),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_acl() {
    use infra_aws::ec2::{NetworkAcl, NetworkAclRuleSpec, Subnet};
    lifecycle(
        "nacl",
        |s, us, eu, v| {
            for (key, region, octet) in [(us, "us-east-1", 1), (eu, "eu-west-1", 2)] {
                let r = &region[..2];
                let vpc = fixture_vpc(s, key, &format!("{r}-vpc"), octet);
                let other = fixture_vpc(s, key, &format!("{r}-vpc2"), octet + 10);
                let subnet = s.add_with(
                    &format!("{r}-subnet"),
                    Subnet {
                        vpc_id: vpc.id().into(),
                        cidr_block: format!("10.{octet}.1.0/24"),
                        availability_zone: format!("{region}a"),
                        map_public_ip_on_launch: false,
                        tags: BTreeMap::new(),
                    },
                    Options::new().provider(key),
                );
                let mut egress = vec![];
                if v >= 1 {
                    egress.push(NetworkAclRuleSpec::all(100, "allow", "0.0.0.0/0"));
                }
                s.add_with(
                    &format!("{r}-nacl"),
                    NetworkAcl {
                        // v2 moves the ACL to another VPC: a replacement.
                        vpc_id: if v == 2 { other.id().into() } else { vpc.id().into() },
                        subnet_ids: if v == 2 { vec![] } else { vec![subnet.id().into()] },
                        ingress: vec![
                            NetworkAclRuleSpec::tcp(100, "allow", "0.0.0.0/0", 443, 443),
                            NetworkAclRuleSpec::tcp(200, "deny", "192.0.2.0/24", 0, 65535),
                        ],
                        egress,
                        tags: tags(v),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["us-nacl", "eu-nacl"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_log() {
    use infra_aws::ec2::FlowLog;
    common::lifecycle_with(
        "flowlog",
        async |w: &common::World| {
            w.bucket("us-east-1", "flow-logs-us").await;
            w.bucket("eu-west-1", "flow-logs-eu").await;
        },
        |s, us, eu, v| {
            for (key, region, octet) in [(us, "us-east-1", 1), (eu, "eu-west-1", 2)] {
                let r = &region[..2];
                let vpc = fixture_vpc(s, key, &format!("{r}-vpc"), octet);
                s.add_with(
                    &format!("{r}-flow-log"),
                    FlowLog {
                        vpc_id: vpc.id().into(),
                        traffic_type: if v == 2 { "REJECT".into() } else { "ALL".into() },
                        log_destination_type: Some("s3".into()),
                        log_destination: Some(format!("arn:aws:s3:::flow-logs-{r}").into()),
                        iam_role_arn: None,
                        max_aggregation_interval: Some(600),
                        tags: tags(v),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["us-flow-log", "eu-flow-log"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_template() {
    use infra_aws::ec2::{BlockDeviceMapping, EbsSpec, LaunchTemplate, MetadataOptions};
    lifecycle(
        "lt",
        |s, us, eu, v| {
            for key in [us, eu] {
                let r = &key.0[4..6];
                s.add_with(
                    &format!("{r}-web"),
                    LaunchTemplate {
                        name: if v == 2 { format!("{r}-web-v2") } else { format!("{r}-web") },
                        image_id: Some(infra_aws::AmiId::new("ami-12c6146b").unwrap().into()),
                        // v1 changes the data: a new default version, in place.
                        instance_type: Some(if v >= 1 { "t3.small".into() } else { "t3.micro".into() }),
                        ebs_optimized: Some(true),
                        block_device_mappings: vec![BlockDeviceMapping {
                            device_name: "/dev/xvda".into(),
                            ebs: Some(EbsSpec {
                                volume_size: Some(20),
                                volume_type: Some("gp3".into()),
                                delete_on_termination: Some(true),
                                encrypted: Some(true),
                            }),
                        }],
                        metadata_options: Some(MetadataOptions {
                            http_endpoint: Some("enabled".into()),
                            http_tokens: Some("required".into()),
                        }),
                        monitoring: Some(true),
                        instance_tags: BTreeMap::from([("Type".to_string(), "web".to_string())]),
                        tags: tags(v),
                        ..Default::default()
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["us-web", "eu-web"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}
