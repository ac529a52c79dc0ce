//! Fixtures of the ECS and Application Auto Scaling emulator tests: a VPC
//! with a subnet and a security group, the execution role, a cluster, a
//! task definition and a Fargate service, per region's provider.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use infra_aws::ec2::{SecurityGroup, SecurityGroupRuleSpec, Subnet, Vpc};
use infra_aws::ecs::{
    ContainerDefinition, ContainerSecret, EcsCluster, EnvironmentVariable, FargateService, HealthCheck,
    LogConfiguration, PortMapping, TaskDefinition,
};
use infra_aws::iam::{PolicyDocument, Role};
use infra_aws::ids::{LogGroupName, SecretArn};
use infra_core::{Handle, Options, ProviderKey, Stack};

/// The us and eu providers with their region's short name.
pub fn both<'a>(
    us: &'a ProviderKey,
    eu: &'a ProviderKey,
) -> [(&'a ProviderKey, &'static str, &'static str); 2] {
    [(us, "us", "us-east-1"), (eu, "eu", "eu-west-1")]
}

pub struct Net {
    pub subnet: Handle<Subnet>,
    pub sg: Handle<SecurityGroup>,
}

/// A VPC with one subnet and one security group in `region`.
pub fn network(s: &mut Stack, key: &ProviderKey, r: &str, region: &str) -> Net {
    let o = || Options::new().provider(key);
    let vpc =
        s.add_with(&format!("vpc-{r}"), Vpc { cidr_block: "10.8.0.0/16".into(), ..Default::default() }, o());
    let subnet = s.add_with(
        &format!("subnet-{r}"),
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: "10.8.1.0/24".into(),
            availability_zone: format!("{region}a"),
            ..Default::default()
        },
        o(),
    );
    let sg = s.add_with(
        &format!("tasks-{r}"),
        SecurityGroup {
            name: format!("tasks-{r}"),
            description: "the tasks".into(),
            vpc_id: vpc.id().into(),
            egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
            ..Default::default()
        },
        o(),
    );
    Net { subnet, sg }
}

/// The task execution role (IAM is global: one per region's name).
pub fn execution_role(s: &mut Stack, key: &ProviderKey, r: &str) -> Handle<Role> {
    s.add_with(
        &format!("exec-{r}"),
        Role {
            name: format!("exec-{r}"),
            assume_role_policy: PolicyDocument::assume_role("ecs-tasks.amazonaws.com"),
            ..Default::default()
        },
        Options::new().provider(key),
    )
}

/// The seed's container: port 8080, environment, a secret, awslogs and a
/// health check.
pub fn app_container(region: &str, family: &str) -> ContainerDefinition {
    ContainerDefinition {
        name: "app".into(),
        image: "public.ecr.aws/nginx/nginx:latest".into(),
        port_mappings: vec![PortMapping {
            container_port: 8080,
            host_port: Some(8080),
            protocol: Some("tcp".into()),
        }],
        environment: vec![
            EnvironmentVariable { name: "PORT".into(), value: "8080".into() },
            EnvironmentVariable { name: "NODE_ENV".into(), value: "production".into() },
        ],
        secrets: vec![ContainerSecret {
            name: "DB_PASSWORD".into(),
            value_from: SecretArn::new(format!(
                "arn:aws:secretsmanager:{region}:123456789012:secret:db-AbCdEf"
            ))
            .unwrap()
            .into(),
        }],
        log_configuration: Some(LogConfiguration::awslogs(
            LogGroupName::unchecked(format!("/ecs/{family}")),
            region,
            "ecs",
        )),
        health_check: Some(HealthCheck {
            command: vec!["CMD-SHELL".into(), "curl -f http://localhost:8080/health || exit 1".into()],
            interval: Some(30),
            timeout: Some(5),
            retries: Some(3),
            start_period: Some(60),
        }),
        ..Default::default()
    }
}

/// The seed's task definition (512 CPU, 1024 MiB).
pub fn task_definition(
    family: &str,
    region: &str,
    role: &Handle<Role>,
    memory: i32,
    team: &str,
) -> TaskDefinition {
    TaskDefinition {
        family: family.into(),
        cpu: 512,
        memory,
        execution_role_arn: Some(role.arn().into()),
        container_definitions: vec![app_container(region, family)],
        tags: BTreeMap::from([("team".to_owned(), team.to_owned())]),
        ..TaskDefinition::fargate()
    }
}

pub fn cluster(name: &str) -> EcsCluster {
    EcsCluster {
        name: name.into(),
        container_insights: Some("enabled".into()),
        tags: BTreeMap::from([("team".to_owned(), "t0".to_owned())]),
        ..Default::default()
    }
}

/// A Fargate service (no load balancer: the elbv2 types are tested apart).
pub fn service(
    name: &str,
    cluster: &Handle<EcsCluster>,
    td: &Handle<TaskDefinition>,
    net: &Net,
) -> FargateService {
    FargateService {
        name: name.into(),
        cluster: cluster.arn().into(),
        task_definition: td.arn().into(),
        desired_count: 1,
        subnets: vec![net.subnet.id().into()],
        security_groups: vec![net.sg.id().into()],
        ..Default::default()
    }
}

/// Everything a service needs, and the service, in one region.
pub fn service_stack(
    s: &mut Stack,
    key: &ProviderKey,
    r: &str,
    region: &str,
    edit: impl FnOnce(&mut FargateService),
    options: impl FnOnce(Options) -> Options,
) -> (Handle<EcsCluster>, Handle<FargateService>) {
    let net = network(s, key, r, region);
    let role = execution_role(s, key, r);
    let o = || Options::new().provider(key);
    let c = s.add_with(&format!("cluster-{r}"), cluster(&format!("apps-{r}")), o());
    let td =
        s.add_with(&format!("td-{r}"), task_definition(&format!("app-{r}"), region, &role, 1024, "t0"), o());
    let mut svc = service(&format!("app-{r}"), &c, &td, &net);
    edit(&mut svc);
    let svc = s.add_with(&format!("svc-{r}"), svc, options(o()));
    (c, svc)
}
