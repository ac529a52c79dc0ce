use infra_aws::ec2::{FlowLog, Vpc};
use infra_aws::iam::{PolicyDocument, Role};
use infra_core::{ProviderConfig, Stack};

fn main() {
    let mut stack = Stack::new("prod");
    stack.provider(ProviderConfig::aws("us-east-1"));
    let vpc = stack.add("vpc", Vpc { cidr_block: "10.0.0.0/16".into(), ..Default::default() });
    let role = stack.add(
        "flow-logs",
        Role {
            name: "flow-logs".into(),
            assume_role_policy: PolicyDocument::assume_role("vpc-flow-logs.amazonaws.com"),
            ..Default::default()
        },
    );
    // A role's name is not its ARN.
    stack.add(
        "flow-log",
        FlowLog {
            vpc_id: vpc.id().into(),
            traffic_type: "ALL".into(),
            iam_role_arn: Some(role.name().into()),
            ..Default::default()
        },
    );
}
