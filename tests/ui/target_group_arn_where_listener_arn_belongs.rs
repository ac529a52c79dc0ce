use infra_aws::ec2::Vpc;
use infra_aws::elbv2::{Action, Condition, ListenerRule, TargetGroup};
use infra_core::{ProviderConfig, Stack};

fn main() {
    let mut stack = Stack::new("prod");
    stack.provider(ProviderConfig::aws("us-east-1"));
    let vpc = stack.add("vpc", Vpc { cidr_block: "10.0.0.0/16".into(), ..Default::default() });
    let api = stack.add(
        "api",
        TargetGroup {
            name: "api".into(),
            port: 8080,
            protocol: "HTTP".into(),
            vpc_id: vpc.id().into(),
            ..Default::default()
        },
    );
    // A target group's ARN is not a listener's.
    stack.add(
        "api-rule",
        ListenerRule {
            listener_arn: api.arn().into(),
            priority: 100,
            conditions: vec![Condition::PathPattern(vec!["/api/*".into()])],
            actions: vec![Action::forward(api.arn())],
            ..Default::default()
        },
    );
}
