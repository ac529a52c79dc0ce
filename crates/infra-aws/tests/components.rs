//! The application-tier components on the emulator: `alb`, `ecs_service`
//! and `web_asg` over a `three_tier_vpc` in one region apply, converge
//! (the next plan is empty), are wired as the seed's modules are (what the
//! emulator holds is read back with the services' own clients), and
//! destroy leaves nothing of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use infra_aws::components::{
    AlbConfig, AlbTarget, EcsServiceConfig, ThreeTierVpcConfig, WebAsgConfig, alb, ecs_service,
    three_tier_vpc, web_asg,
};
use infra_aws::ecs::EcsCluster;
use infra_aws::ids::AmiId;
use infra_aws::sns::SnsTopic;
use infra_core::Stack;

/// An AMI the emulator knows in every region.
const AMI: &str = "ami-12c6146b";

fn tier() -> Stack {
    let (mut stack, us, _) = stack("cmp");
    let mut s = stack.scope("us").with_provider(&us);
    let net = three_tier_vpc(&mut s, "network", &ThreeTierVpcConfig::seed("cmp", "us-east-1", 7));
    let lb = alb(
        &mut s,
        "alb",
        &AlbConfig {
            name: "cmp-alb".into(),
            vpc_id: net.vpc.id().into(),
            subnets: net.public_subnet_ids(),
            targets: vec![
                AlbTarget { target_type: None, ..AlbTarget::fargate("web", 80, "/health", &[]) },
                AlbTarget::fargate("api", 8080, "/api/health", &["/api/*"]),
            ],
            ..Default::default()
        },
    );
    let topic = s.add("alerts", SnsTopic { name: "cmp-alerts".into(), ..Default::default() });
    let cluster = s.add("cluster", EcsCluster { name: "cmp".into(), ..Default::default() });
    ecs_service(
        &mut s,
        "api",
        &cluster,
        &EcsServiceConfig {
            name: "api".into(),
            role_prefix: "cmp".into(),
            region: "us-east-1".into(),
            image: "public.ecr.aws/nginx/nginx:latest".into(),
            cpu: 256,
            memory: 512,
            container_port: 8080,
            subnets: net.app_subnet_ids(),
            security_groups: vec![net.app_security_group.id().into()],
            target_group: Some(lb.target_groups["api"].arn().into()),
            after: vec![lb.serving_listener().address().clone()],
            min_tasks: 2,
            max_tasks: 20,
            cpu_target: 70.0,
            log_retention_days: 30,
            alarm_topic: Some(topic.arn().into()),
            ..Default::default()
        },
    );
    web_asg(
        &mut s,
        "web",
        &WebAsgConfig {
            name: "cmp-web".into(),
            image_id: AmiId::new(AMI).unwrap().into(),
            instance_type: "t3.micro".into(),
            subnets: net.app_subnet_ids(),
            security_groups: vec![net.app_security_group.id().into()],
            target_group_arns: vec![lb.target_groups["web"].arn().into()],
            root_volume_size: 20,
            min_size: 1,
            max_size: 4,
            desired_capacity: 2,
            scale_up_above: 70.0,
            scale_down_below: 30.0,
            ..Default::default()
        },
    );
    drop(s);
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_tier_components_apply_wire_converge_and_destroy() {
    let w = world();
    let stack = tier();
    w.apply(&stack).await;
    assert!(w.converged(&stack).await, "the plan after apply is not empty");

    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, "us-east-1").unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lb = elb.describe_load_balancers().names("cmp-alb").send().await.unwrap();
    let lb_arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tgs = elb.describe_target_groups().names("cmp-alb-web").names("cmp-alb-api").send().await.unwrap();
    let tg = |name: &str| {
        tgs.target_groups()
            .iter()
            .find(|t| t.target_group_name() == Some(name))
            .unwrap()
            .target_group_arn()
            .unwrap()
    };
    let listeners = elb.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    let l80 = &listeners.listeners()[0];
    assert_eq!(l80.port(), Some(80));
    let forward = l80.default_actions()[0].target_group_arn().map(str::to_owned).or_else(|| {
        let f = l80.default_actions()[0].forward_config()?;
        f.target_groups()[0].target_group_arn().map(str::to_owned)
    });
    assert_eq!(forward.as_deref(), Some(tg("cmp-alb-web")), "port 80 forwards to the first target");
    let rules = elb.describe_rules().listener_arn(l80.listener_arn().unwrap()).send().await.unwrap();
    let api = rules.rules().iter().find(|r| r.is_default() != Some(true)).unwrap();
    assert_eq!(api.priority(), Some("100"));
    let paths = api.conditions()[0].path_pattern_config().map(|p| p.values().to_vec());
    assert_eq!(paths.unwrap_or_else(|| api.conditions()[0].values().to_vec()), ["/api/*"]);

    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let svc = ecs.describe_services().cluster("cmp").services("api").send().await.unwrap();
    let svc = &svc.services()[0];
    assert_eq!(svc.load_balancers()[0].target_group_arn(), Some(tg("cmp-alb-api")));
    assert_eq!(svc.desired_count(), 2);
    let td =
        ecs.describe_task_definition().task_definition(svc.task_definition().unwrap()).send().await.unwrap();
    let td = td.task_definition().unwrap();
    assert!(td.execution_role_arn().unwrap().ends_with(":role/cmp-api-exec"));
    let logs = td.container_definitions()[0].log_configuration().unwrap().options().unwrap();
    assert_eq!(logs.get("awslogs-group").map(String::as_str), Some("/ecs/api"));

    let aas = aws_sdk_applicationautoscaling::Client::new(&sdk);
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    let t = &targets.scalable_targets()[0];
    assert_eq!((t.resource_id(), t.min_capacity(), t.max_capacity()), ("service/cmp/api", 2, 20));

    let asg = aws_sdk_autoscaling::Client::new(&sdk);
    let policies = asg.describe_policies().auto_scaling_group_name("cmp-web-asg").send().await.unwrap();
    let up =
        policies.scaling_policies().iter().find(|p| p.policy_name() == Some("cmp-web-scale-up")).unwrap();
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let alarms = cw
        .describe_alarms()
        .alarm_names("cmp-web-cpu-high")
        .alarm_names("api-cpu-high")
        .send()
        .await
        .unwrap();
    let high = alarms.metric_alarms().iter().find(|a| a.alarm_name() == Some("cmp-web-cpu-high")).unwrap();
    assert_eq!(high.alarm_actions(), [up.policy_arn().unwrap()]);
    assert_eq!(high.dimensions()[0].value(), Some("cmp-web-asg"));
    let groups =
        asg.describe_auto_scaling_groups().auto_scaling_group_names("cmp-web-asg").send().await.unwrap();
    assert_eq!(groups.auto_scaling_groups()[0].target_group_arns(), [tg("cmp-alb-web")]);

    w.destroy(&stack).await;
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    assert!(
        lbs.load_balancers().iter().all(|l| l.load_balancer_name() != Some("cmp-alb")),
        "the ALB remains"
    );
    let groups = asg.describe_auto_scaling_groups().send().await.unwrap();
    assert!(groups.auto_scaling_groups().is_empty(), "an Auto Scaling group remains");
    let iam = aws_sdk_iam::Client::new(&sdk);
    let roles = iam.list_roles().send().await.unwrap();
    assert!(roles.roles().iter().all(|r| !r.role_name().starts_with("cmp-")), "a role remains");
    // A deleted service reads back INACTIVE, as on AWS for an hour.
    let svc = ecs.describe_services().cluster("cmp").services("api").send().await.unwrap();
    assert!(svc.services().iter().all(|s| s.status() != Some("ACTIVE")), "the service remains");
    let cluster = ecs.describe_clusters().clusters("cmp").send().await.unwrap();
    assert!(cluster.clusters().iter().all(|c| c.status() != Some("ACTIVE")), "the cluster remains");
}
