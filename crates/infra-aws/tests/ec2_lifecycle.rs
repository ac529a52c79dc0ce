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
