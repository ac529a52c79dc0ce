use infra_aws::ec2::{Subnet, Vpc};
use infra_core::{ProviderConfig, Stack};

fn main() {
    let mut stack = Stack::new("prod");
    stack.provider(ProviderConfig::aws("us-east-1"));
    let vpc = stack.add("vpc", Vpc { cidr_block: "10.0.0.0/16".into(), ..Default::default() });
    let a = stack.add(
        "a",
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: "10.0.1.0/24".into(),
            availability_zone: "us-east-1a".into(),
            map_public_ip_on_launch: false,
            tags: Default::default(),
        },
    );
    // A subnet ID is not a VPC ID.
    stack.add(
        "b",
        Subnet {
            vpc_id: a.id().into(),
            cidr_block: "10.0.2.0/24".into(),
            availability_zone: "us-east-1a".into(),
            map_public_ip_on_launch: false,
            tags: Default::default(),
        },
    );
}
