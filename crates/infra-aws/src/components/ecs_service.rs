//! A Fargate service with everything it runs on (the seeds' `ecs_service`
//! module): its log group, an execution role allowed to pull images, write
//! logs and read the service's secrets, a task role, the task definition,
//! the service (behind a target group), target-tracking autoscaling on CPU
//! and an alarm when CPU stays high.

use std::collections::BTreeMap;

use infra_core::{Address, Handle, Input, Options, Scope};

use crate::appautoscaling::{PredefinedMetric, ScalableTarget, ScalingPolicy, TargetTracking};
use crate::cloudwatch::{AlarmAction, MetricAlarm};
use crate::ecs::{
    ContainerDefinition, ContainerSecret, EcsCluster, EnvironmentVariable, FargateService, LogConfiguration,
    PortMapping, ServiceLoadBalancer, TaskDefinition,
};
use crate::iam::{PolicyDocument, Role, RolePolicy, RolePolicyAttachment, Statement};
use crate::ids::{PolicyArn, SecurityGroupId, SubnetId, TargetGroupArn, TopicArn};
use crate::logs::LogGroup;

/// The managed policy that lets ECS pull images and write logs.
pub const TASK_EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

/// Inputs of [`ecs_service`].
#[derive(Debug, Clone, Default)]
pub struct EcsServiceConfig {
    /// The service, its task family and its container (`product-service`).
    pub name: String,
    /// Prefix of the IAM role names (`prod-us`): IAM is global, so each
    /// region's copy of a service needs its own.
    pub role_prefix: String,
    /// The region (for the `awslogs` driver).
    pub region: String,
    pub image: Input<String>,
    /// Fargate CPU units and memory (MiB), one of AWS's allowed pairs.
    pub cpu: i32,
    pub memory: i32,
    pub container_port: i32,
    pub environment: Vec<EnvironmentVariable>,
    /// Secrets the container gets as variables; the execution role may
    /// read exactly these.
    pub secrets: Vec<ContainerSecret>,
    pub subnets: Vec<Input<SubnetId>>,
    pub security_groups: Vec<Input<SecurityGroupId>>,
    /// The target group that sends the service its requests.
    pub target_group: Option<Input<TargetGroupArn>>,
    /// What must exist before the service (the listener of its target
    /// group: AWS refuses a target group without a load balancer).
    pub after: Vec<Address>,
    /// Tasks between `min_tasks` and `max_tasks`, scaled to keep average
    /// CPU at `cpu_target` percent. The desired count is autoscaling's
    /// from then on (`ignore_changes`).
    pub min_tasks: i32,
    pub max_tasks: i32,
    pub cpu_target: f64,
    /// Days the log group keeps events.
    pub log_retention_days: i32,
    /// Where the high-CPU alarm goes (none: no alarm).
    pub alarm_topic: Option<Input<TopicArn>>,
    pub tags: BTreeMap<String, String>,
}

/// The handles an [`ecs_service`] exposes.
#[derive(Debug, Clone)]
pub struct EcsServiceHandles {
    pub log_group: Handle<LogGroup>,
    pub execution_role: Handle<Role>,
    pub task_role: Handle<Role>,
    pub task_definition: Handle<TaskDefinition>,
    pub service: Handle<FargateService>,
    pub scalable_target: Handle<ScalableTarget>,
    pub cpu_policy: Handle<ScalingPolicy>,
    pub cpu_alarm: Option<Handle<MetricAlarm>>,
}

/// Adds a Fargate service in `cluster` under `scope.<name>`.
pub fn ecs_service(
    scope: &mut Scope<'_>,
    name: &str,
    cluster: &Handle<EcsCluster>,
    cfg: &EcsServiceConfig,
) -> EcsServiceHandles {
    let mut s = scope.scope(name);
    let log_group = s.add(
        "logs",
        LogGroup {
            name: format!("/ecs/{}", cfg.name),
            retention_in_days: Some(cfg.log_retention_days),
            tags: cfg.tags.clone(),
            ..Default::default()
        },
    );
    let role = |s: &mut Scope<'_>, suffix: &str| {
        s.add(
            &format!("{suffix}-role"),
            Role {
                name: format!("{}-{}-{suffix}", cfg.role_prefix, cfg.name),
                assume_role_policy: PolicyDocument::assume_role("ecs-tasks.amazonaws.com"),
                tags: cfg.tags.clone(),
                ..Default::default()
            },
        )
    };
    let execution_role = role(&mut s, "exec");
    let task_role = role(&mut s, "task");
    let managed = s.add(
        "exec-policy",
        RolePolicyAttachment {
            role: execution_role.name().into(),
            policy_arn: PolicyArn::unchecked(TASK_EXECUTION_POLICY).into(),
        },
    );
    let mut ready: Vec<Address> = vec![managed.address().clone()];
    if !cfg.secrets.is_empty() {
        let read = cfg
            .secrets
            .iter()
            .fold(Statement::allow(["secretsmanager:GetSecretValue"]), |st, x| st.on(&x.value_from));
        let inline = s.add(
            "exec-secrets",
            RolePolicy {
                role: execution_role.name().into(),
                name: "read-secrets".into(),
                policy: PolicyDocument::new([read]),
            },
        );
        ready.push(inline.address().clone());
    }
    let task_definition = s.add(
        "task",
        TaskDefinition {
            family: cfg.name.clone(),
            cpu: cfg.cpu,
            memory: cfg.memory,
            execution_role_arn: Some(execution_role.arn().into()),
            task_role_arn: Some(task_role.arn().into()),
            container_definitions: vec![ContainerDefinition {
                name: cfg.name.clone(),
                image: cfg.image.clone(),
                port_mappings: vec![PortMapping::tcp(cfg.container_port)],
                environment: cfg.environment.clone(),
                secrets: cfg.secrets.clone(),
                log_configuration: Some(LogConfiguration::awslogs(log_group.name(), &cfg.region, "ecs")),
                ..Default::default()
            }],
            tags: cfg.tags.clone(),
            ..TaskDefinition::fargate()
        },
    );
    let options = cfg
        .after
        .iter()
        .chain(&ready)
        .fold(Options::new().ignore_changes(["desired_count"]), |o, a| o.depends_on(a));
    let service = s.add_with(
        "service",
        FargateService {
            name: cfg.name.clone(),
            cluster: cluster.arn().into(),
            task_definition: task_definition.arn().into(),
            desired_count: cfg.min_tasks,
            subnets: cfg.subnets.clone(),
            security_groups: cfg.security_groups.clone(),
            load_balancers: cfg
                .target_group
                .iter()
                .map(|tg| ServiceLoadBalancer {
                    target_group_arn: tg.clone(),
                    container_name: cfg.name.clone(),
                    container_port: cfg.container_port,
                })
                .collect(),
            tags: cfg.tags.clone(),
            ..Default::default()
        },
        options,
    );
    let scalable_target = s.add(
        "scaling-target",
        ScalableTarget {
            min_capacity: cfg.min_tasks,
            max_capacity: cfg.max_tasks,
            ..ScalableTarget::ecs_service(cluster.name(), service.name())
        },
    );
    let cpu_policy = s.add(
        "scaling-cpu",
        ScalingPolicy {
            name: format!("{}-cpu", cfg.name),
            service_namespace: "ecs".into(),
            resource_id: scalable_target.resource_id().into(),
            scalable_dimension: "ecs:service:DesiredCount".into(),
            policy_type: "TargetTrackingScaling".into(),
            target_tracking_scaling_policy_configuration: Some(TargetTracking {
                target_value: cfg.cpu_target,
                predefined_metric_specification: Some(PredefinedMetric {
                    predefined_metric_type: "ECSServiceAverageCPUUtilization".into(),
                    resource_label: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let cpu_alarm = cfg.alarm_topic.as_ref().map(|topic| {
        s.add(
            "cpu-high",
            MetricAlarm {
                alarm_name: format!("{}-{}-cpu-high", cfg.role_prefix, cfg.name),
                alarm_description: Some(format!("{} has run above 90% CPU for 15 minutes", cfg.name)),
                comparison_operator: "GreaterThanThreshold".into(),
                evaluation_periods: 3,
                metric_name: Some("CPUUtilization".into()),
                namespace: Some("AWS/ECS".into()),
                period: Some(300),
                statistic: Some("Average".into()),
                threshold: Some(90.0),
                dimensions: BTreeMap::from([
                    ("ClusterName".to_owned(), cluster.name().into()),
                    ("ServiceName".to_owned(), service.name().into()),
                ]),
                alarm_actions: vec![AlarmAction::Topic(topic.clone())],
                tags: cfg.tags.clone(),
                ..Default::default()
            },
        )
    });
    EcsServiceHandles {
        log_group,
        execution_role,
        task_role,
        task_definition,
        service,
        scalable_target,
        cpu_policy,
        cpu_alarm,
    }
}
