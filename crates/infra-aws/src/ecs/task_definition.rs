use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{LogGroupName, RoleArn, SecretArn, TaskDefinitionArn};

/// A container's port (`portMappings[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortMapping {
    pub container_port: i32,
    /// With `awsvpc` the host port is the container port (AWS fills it in;
    /// recorded as unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// `tcp` (the default, recorded as unset) or `udp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl PortMapping {
    /// A TCP port.
    pub fn tcp(port: i32) -> Self {
        PortMapping { container_port: port, ..Default::default() }
    }
}

/// An environment variable (`environment[]`): its value may be another
/// resource's output (a database endpoint).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: Input<String>,
}

/// A secret the container gets as an environment variable (`secrets[]`):
/// the secret's ARN (optionally with a `:json-key::` suffix), never its
/// value. The execution role must be allowed to read it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerSecret {
    pub name: String,
    pub value_from: Input<SecretArn>,
}

/// Where a container's output goes (`logConfiguration`). For `awslogs`
/// the typed options are the log group, its region and the stream prefix
/// (which Fargate requires).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfiguration {
    /// `awslogs`, `awsfirelens` or `splunk` on Fargate.
    pub log_driver: String,
    /// `awslogs-group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Input<LogGroupName>>,
    /// `awslogs-region`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `awslogs-stream-prefix`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_prefix: Option<String>,
    /// The driver's other options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl LogConfiguration {
    /// The `awslogs` driver to `group` in `region`, streams prefixed `prefix`.
    pub fn awslogs(group: impl Into<Input<LogGroupName>>, region: &str, prefix: &str) -> Self {
        LogConfiguration {
            log_driver: "awslogs".into(),
            group: Some(group.into()),
            region: Some(region.into()),
            stream_prefix: Some(prefix.into()),
            options: BTreeMap::new(),
        }
    }
}

/// A container's health check (`healthCheck`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheck {
    /// `["CMD-SHELL", "curl -f http://localhost/ || exit 1"]` or `["CMD", …]`.
    pub command: Vec<String>,
    /// 5 to 300 seconds; 30 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    /// 2 to 60 seconds; 5 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    /// 1 to 10; 3 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    /// 0 (the default, recorded as unset) to 300 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i32>,
}

/// A container this one waits for (`dependsOn[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerDependency {
    pub container_name: String,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: String,
}

/// One container of a task definition (`containerDefinitions[]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerDefinition {
    pub name: String,
    /// The image, e.g. `interpolate!(repo.repository_url(), ":latest")`.
    pub image: Input<String>,
    /// CPU units reserved (0, AWS's value when unset, is recorded as unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,
    /// Hard memory limit in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    /// true (the default, recorded as unset): the task stops when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// Recorded sorted by name (AWS keeps no order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<EnvironmentVariable>,
    /// Recorded sorted by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<ContainerSecret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ContainerDependency>,
}

/// A task definition (`aws_ecs_task_definition`) for Fargate: a revision
/// of its family.
///
/// Every field but the tags is force-new: a change registers a new
/// revision (create before destroy) and the old one is deregistered (AWS
/// keeps it listed as `INACTIVE`). Its ID and `arn` carry the revision.
/// `cpu` and `memory` must be one of Fargate's pairs, checked before any
/// call; so are the containers' names, references, ports and health checks.
///
/// Outputs: `td.arn()` (`TaskDefinitionArn`, what a service runs),
/// `td.family()` and `td.revision()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ecs::{ContainerDefinition, LogConfiguration, PortMapping, TaskDefinition};
/// use infra::aws::ids::{LogGroupName, RoleArn};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let td = stack.add("app", TaskDefinition {
///     family: "prod-app".into(),
///     cpu: 512,
///     memory: 1024,
///     // Reads the image and writes the logs (`role.arn()` in a stack).
///     execution_role_arn: Some(
///         RoleArn::new("arn:aws:iam::123456789012:role/prod-ecs-execution").unwrap().into(),
///     ),
///     container_definitions: vec![ContainerDefinition {
///         name: "app".into(),
///         image: "public.ecr.aws/nginx/nginx:latest".into(),
///         port_mappings: vec![PortMapping::tcp(8080)],
///         log_configuration: Some(LogConfiguration::awslogs(
///             LogGroupName::unchecked("/ecs/prod-app"),
///             "us-east-1",
///             "ecs",
///         )),
///         ..Default::default()
///     }],
///     ..TaskDefinition::fargate()
/// });
/// let _arn: Output<infra::aws::ids::TaskDefinitionArn> = td.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ecs:TaskDefinition",
    outputs(arn: TaskDefinitionArn, family: String, revision: i64),
    readiness = "on_id",
    validate = validate_task_definition,
    normalise = canonical
)]
pub struct TaskDefinition {
    /// The family: each registration is its next revision.
    #[resource(force_new)]
    pub family: String,
    /// `["FARGATE"]`.
    #[resource(force_new, set)]
    pub requires_compatibilities: Vec<String>,
    /// `awsvpc` (Fargate's only mode).
    #[resource(force_new)]
    pub network_mode: String,
    /// CPU units of the task (256, 512, 1024, 2048, 4096, 8192, 16384).
    #[resource(force_new)]
    pub cpu: i32,
    /// MiB of the task, one of the sizes Fargate allows with `cpu`.
    #[resource(force_new)]
    pub memory: i32,
    /// The role ECS pulls images, reads secrets and writes logs with.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<Input<RoleArn>>,
    /// The role the containers' code runs as.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<Input<RoleArn>>,
    #[resource(force_new)]
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl TaskDefinition {
    /// The Fargate settings (`requires_compatibilities = ["FARGATE"]`,
    /// `network_mode = "awsvpc"`) for `..TaskDefinition::fargate()`.
    pub fn fargate() -> Self {
        TaskDefinition {
            requires_compatibilities: vec!["FARGATE".into()],
            network_mode: "awsvpc".into(),
            ..Default::default()
        }
    }
}

/// Fargate's task sizes: per CPU value, the memory range and its step (MiB).
const FARGATE_SIZES: &[(i32, i32, i32, i32)] = &[
    (256, 512, 2048, 0),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// The memory sizes Fargate allows with `cpu`, described; `None` when the
/// CPU value is not one of Fargate's.
fn fargate_memory(cpu: i32) -> Option<(Vec<i32>, String)> {
    let &(_, lo, hi, step) = FARGATE_SIZES.iter().find(|(c, ..)| *c == cpu)?;
    if step == 0 {
        // 256 CPU: 512, 1024 or 2048.
        return Some((vec![512, 1024, 2048], "512, 1024 or 2048".into()));
    }
    let sizes = (lo..=hi).step_by(step as usize).collect();
    Some((sizes, format!("{lo} to {hi} in steps of {step}")))
}

fn validate_task_definition(t: &TaskDefinition, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &t.tags);
    super::check_name(ctx, "family", &t.family);
    let fargate = t.requires_compatibilities.iter().any(|c| c == "FARGATE");
    for (i, c) in t.requires_compatibilities.iter().enumerate() {
        if !matches!(c.as_str(), "FARGATE" | "EC2" | "EXTERNAL" | "MANAGED_INSTANCES") {
            ctx.error(
                &format!("requires_compatibilities[{i}]"),
                format!("{c:?} must be FARGATE, EC2 or EXTERNAL"),
            );
        }
    }
    if !fargate {
        ctx.error("requires_compatibilities", "must include FARGATE (e.g. ..TaskDefinition::fargate())");
    }
    if fargate && t.network_mode != "awsvpc" {
        ctx.error("network_mode", format!("{:?}: Fargate tasks take awsvpc only", t.network_mode));
    }
    match fargate_memory(t.cpu) {
        None => ctx.error(
            "cpu",
            format!("{} is not a Fargate CPU value (256, 512, 1024, 2048, 4096, 8192 or 16384)", t.cpu),
        ),
        Some((sizes, described)) if !sizes.contains(&t.memory) => ctx.error(
            "memory",
            format!("{} MiB does not go with cpu {}: Fargate allows {described}", t.memory, t.cpu),
        ),
        Some(_) => {}
    }
    validate_containers(t, ctx);
}

fn validate_containers(t: &TaskDefinition, ctx: &mut ValidationContext<'_>) {
    let cs = &t.container_definitions;
    if cs.is_empty() {
        ctx.error("container_definitions", "a task definition needs at least one container");
    }
    if !cs.is_empty() && cs.iter().all(|c| c.essential == Some(false)) {
        ctx.error("container_definitions", "at least one container must be essential");
    }
    let names: Vec<&str> = cs.iter().map(|c| c.name.as_str()).collect();
    let cpu: i32 = cs.iter().filter_map(|c| c.cpu).sum();
    if cpu > t.cpu {
        ctx.error(
            "container_definitions",
            format!("the containers reserve {cpu} CPU units; the task has {}", t.cpu),
        );
    }
    let memory: i32 = cs.iter().filter_map(|c| c.memory).sum();
    if memory > t.memory {
        ctx.error(
            "container_definitions",
            format!("the containers take {memory} MiB; the task has {}", t.memory),
        );
    }
    for (i, c) in cs.iter().enumerate() {
        let at = format!("container_definitions[{i}]");
        super::check_name(ctx, &format!("{at}.name"), &c.name);
        if names.iter().filter(|n| **n == c.name).count() > 1 {
            ctx.error(&format!("{at}.name"), format!("{:?}: container names are unique in a task", c.name));
        }
        if matches!(&c.image, Input::Value(s) if s.is_empty()) {
            ctx.error(&format!("{at}.image"), "is empty");
        }
        let mut ports = Vec::new();
        for (j, p) in c.port_mappings.iter().enumerate() {
            let pat = format!("{at}.port_mappings[{j}]");
            if !(1..=65535).contains(&p.container_port) {
                ctx.error(
                    &format!("{pat}.container_port"),
                    format!("{} must be 1 to 65535", p.container_port),
                );
            }
            if let Some(h) = p.host_port
                && h != p.container_port
            {
                ctx.error(
                    &format!("{pat}.host_port"),
                    format!("{h}: with awsvpc the host port is the container port"),
                );
            }
            if let Some(proto) = &p.protocol
                && proto != "tcp"
                && proto != "udp"
            {
                ctx.error(&format!("{pat}.protocol"), format!("{proto:?} must be tcp or udp"));
            }
            let key = (p.container_port, p.protocol.clone().unwrap_or_else(|| "tcp".into()));
            if ports.contains(&key) {
                ctx.error(&format!("{pat}.container_port"), format!("{} is mapped twice", p.container_port));
            }
            ports.push(key);
        }
        let mut seen_env = Vec::new();
        for (j, e) in c.environment.iter().enumerate() {
            if e.name.is_empty() {
                ctx.error(&format!("{at}.environment[{j}].name"), "is empty");
            }
            if seen_env.contains(&&e.name) || c.secrets.iter().any(|s| s.name == e.name) {
                ctx.error(&format!("{at}.environment[{j}].name"), format!("{:?} is set twice", e.name));
            }
            seen_env.push(&e.name);
        }
        for (j, s) in c.secrets.iter().enumerate() {
            if s.name.is_empty() {
                ctx.error(&format!("{at}.secrets[{j}].name"), "is empty");
            }
            if c.secrets.iter().filter(|o| o.name == s.name).count() > 1 {
                ctx.error(&format!("{at}.secrets[{j}].name"), format!("{:?} is set twice", s.name));
            }
        }
        if !c.secrets.is_empty() && t.execution_role_arn.is_none() {
            ctx.error(&format!("{at}.secrets"), "secrets need the task's execution_role_arn (it reads them)");
        }
        if let Some(l) = &c.log_configuration {
            validate_log(l, &format!("{at}.log_configuration"), t.execution_role_arn.is_some(), ctx);
        }
        if let Some(h) = &c.health_check {
            validate_health(h, &format!("{at}.health_check"), ctx);
        }
        for (j, d) in c.depends_on.iter().enumerate() {
            let dat = format!("{at}.depends_on[{j}]");
            match cs.iter().find(|o| o.name == d.container_name) {
                None => ctx.error(
                    &format!("{dat}.container_name"),
                    format!("{:?} is not a container of this task", d.container_name),
                ),
                Some(o) if o.name == c.name => {
                    ctx.error(&format!("{dat}.container_name"), "a container cannot wait for itself")
                }
                Some(o) if d.condition == "HEALTHY" && o.health_check.is_none() => ctx.error(
                    &format!("{dat}.condition"),
                    format!("HEALTHY needs a health_check on {:?}", o.name),
                ),
                Some(_) => {}
            }
            if !matches!(d.condition.as_str(), "START" | "COMPLETE" | "SUCCESS" | "HEALTHY") {
                ctx.error(
                    &format!("{dat}.condition"),
                    format!("{:?} must be START, COMPLETE, SUCCESS or HEALTHY", d.condition),
                );
            }
        }
    }
}

fn validate_log(l: &LogConfiguration, at: &str, execution_role: bool, ctx: &mut ValidationContext<'_>) {
    if !matches!(l.log_driver.as_str(), "awslogs" | "awsfirelens" | "splunk") {
        ctx.error(
            &format!("{at}.log_driver"),
            format!("{:?}: Fargate takes awslogs, awsfirelens or splunk", l.log_driver),
        );
    }
    if l.log_driver == "awslogs" {
        for (field, set) in [
            ("group", l.group.is_some()),
            ("region", l.region.is_some()),
            ("stream_prefix", l.stream_prefix.is_some()),
        ] {
            if !set {
                ctx.error(
                    &format!("{at}.{field}"),
                    "awslogs on Fargate needs the group, region and stream_prefix",
                );
            }
        }
        if let Some(r) = &l.region
            && let Some(problem) = crate::rules::unknown_region(r)
        {
            ctx.error(&format!("{at}.region"), problem);
        }
        if !execution_role {
            ctx.error(
                &format!("{at}.log_driver"),
                "awslogs needs the task's execution_role_arn (it writes the logs)",
            );
        }
    }
    for k in l.options.keys() {
        if matches!(k.as_str(), "awslogs-group" | "awslogs-region" | "awslogs-stream-prefix") {
            ctx.error(
                &format!("{at}.options.{k}"),
                "set it with the typed field (group, region, stream_prefix)",
            );
        }
    }
}

fn validate_health(h: &HealthCheck, at: &str, ctx: &mut ValidationContext<'_>) {
    match h.command.first().map(String::as_str) {
        Some("CMD" | "CMD-SHELL") if h.command.len() >= 2 => {}
        Some("NONE") => {}
        _ => ctx.error(&format!("{at}.command"), "must start with CMD or CMD-SHELL, then the command"),
    }
    for (field, v, lo, hi) in [
        ("interval", h.interval, 5, 300),
        ("timeout", h.timeout, 2, 60),
        ("retries", h.retries, 1, 10),
        ("start_period", h.start_period, 0, 300),
    ] {
        if let Some(v) = v
            && !(lo..=hi).contains(&v)
        {
            ctx.error(&format!("{at}.{field}"), format!("{v} must be {lo} to {hi}"));
        }
    }
    if let (Some(t), Some(i)) = (h.timeout, h.interval)
        && t >= i
    {
        ctx.error(&format!("{at}.timeout"), format!("{t} must be shorter than the interval ({i})"));
    }
}

/// The canonical form: what AWS fills in recorded as unset, unordered
/// lists sorted.
fn canonical(t: &mut TaskDefinition) {
    t.requires_compatibilities.sort();
    for c in &mut t.container_definitions {
        if c.cpu == Some(0) {
            c.cpu = None;
        }
        if c.essential == Some(true) {
            c.essential = None;
        }
        for p in &mut c.port_mappings {
            if p.host_port == Some(p.container_port) {
                p.host_port = None;
            }
            if p.protocol.as_deref() == Some("tcp") {
                p.protocol = None;
            }
        }
        c.environment.sort_by(|a, b| a.name.cmp(&b.name));
        c.secrets.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(h) = &mut c.health_check {
            for (v, default) in
                [(&mut h.interval, 30), (&mut h.timeout, 5), (&mut h.retries, 3), (&mut h.start_period, 0)]
            {
                if *v == Some(default) {
                    *v = None;
                }
            }
        }
    }
}

#[cfg(feature = "ecs")]
pub(crate) mod imp {
    use std::collections::{BTreeMap, HashMap};

    use async_trait::async_trait;
    use aws_sdk_ecs::types as sdk;
    use aws_sdk_ecs::types::{
        Compatibility, ContainerCondition, LogDriver, NetworkMode, TaskDefinitionField, TaskDefinitionStatus,
        TransportProtocol,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::*;
    use crate::ecs::sdk::{ecs_tags, invalid, retag, tag_map};
    use crate::kit::{Created, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, user_tags};

    /// `aws:ecs:TaskDefinition` through the ECS API.
    #[derive(Debug)]
    pub(crate) struct TaskDefinitionKind;

    fn container(c: &sdk::ContainerDefinition) -> ContainerDefinition {
        let log_configuration = c.log_configuration().map(|l| {
            let mut options: BTreeMap<String, String> = l
                .options()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            LogConfiguration {
                log_driver: l.log_driver().as_str().to_owned(),
                group: options.remove("awslogs-group").map(|g| Input::Value(LogGroupName::unchecked(g))),
                region: options.remove("awslogs-region"),
                stream_prefix: options.remove("awslogs-stream-prefix"),
                options,
            }
        });
        ContainerDefinition {
            name: c.name().unwrap_or_default().to_owned(),
            image: Input::Value(c.image().unwrap_or_default().to_owned()),
            cpu: Some(c.cpu()),
            memory: c.memory(),
            essential: c.essential(),
            command: c.command().to_vec(),
            port_mappings: c
                .port_mappings()
                .iter()
                .map(|p| PortMapping {
                    container_port: p.container_port().unwrap_or_default(),
                    host_port: p.host_port(),
                    protocol: p.protocol().map(|p| p.as_str().to_owned()),
                })
                .collect(),
            environment: c
                .environment()
                .iter()
                .map(|e| EnvironmentVariable {
                    name: e.name().unwrap_or_default().to_owned(),
                    value: Input::Value(e.value().unwrap_or_default().to_owned()),
                })
                .collect(),
            secrets: c
                .secrets()
                .iter()
                .map(|s| ContainerSecret {
                    name: s.name().to_owned(),
                    value_from: Input::Value(SecretArn::unchecked(s.value_from())),
                })
                .collect(),
            log_configuration,
            health_check: c.health_check().map(|h| HealthCheck {
                command: h.command().to_vec(),
                interval: h.interval(),
                timeout: h.timeout(),
                retries: h.retries(),
                start_period: h.start_period(),
            }),
            depends_on: c
                .depends_on()
                .iter()
                .map(|d| ContainerDependency {
                    container_name: d.container_name().to_owned(),
                    condition: d.condition().as_str().to_owned(),
                })
                .collect(),
        }
    }

    fn seen(t: &sdk::TaskDefinition, tags: Tags) -> Result<Seen<TaskDefinitionKind>, ProviderError> {
        let arn = t.task_definition_arn().ok_or_else(|| missing("task definition ARN"))?.to_owned();
        let family = t.family().unwrap_or_default().to_owned();
        let number = |s: Option<&str>| s.and_then(|s| s.parse().ok()).unwrap_or_default();
        let decl = TaskDefinition {
            family: family.clone(),
            requires_compatibilities: t
                .requires_compatibilities()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            network_mode: t.network_mode().map(|m| m.as_str().to_owned()).unwrap_or_default(),
            cpu: number(t.cpu()),
            memory: number(t.memory()),
            execution_role_arn: t.execution_role_arn().map(|r| Input::Value(RoleArn::unchecked(r))),
            task_role_arn: t.task_role_arn().map(|r| Input::Value(RoleArn::unchecked(r))),
            container_definitions: t.container_definitions().iter().map(container).collect(),
            tags: user_tags(&tags),
        };
        let status = match t.status() {
            Some(TaskDefinitionStatus::Inactive | TaskDefinitionStatus::DeleteInProgress) => Status::Gone,
            _ => Status::Ready,
        };
        let out = TaskDefinitionOut {
            arn: TaskDefinitionArn::unchecked(&arn),
            family,
            revision: i64::from(t.revision()),
        };
        Ok(Seen { id: arn, decl, out, tags, status })
    }

    /// True for ECS's answer to a task definition that does not exist
    /// (a `ClientException`, which otherwise means a bad request).
    fn absent(e: &ProviderError) -> bool {
        e.kind == ErrorKind::NotFound
            || (e.code.as_deref() == Some("ClientException")
                && (e.message.contains("Unable to describe task definition")
                    || e.message.contains("does not exist")))
    }

    /// The task definition `name` (an ARN, `family:revision`, or a family:
    /// its latest active revision); `None` when there is none.
    async fn describe(cx: &Ctx, name: &str) -> Result<Option<Seen<TaskDefinitionKind>>, ProviderError> {
        let call =
            cx.ecs().describe_task_definition().task_definition(name).include(TaskDefinitionField::Tags);
        match cx
            .send_in(Service::Ecs, "DescribeTaskDefinition", Operation::Read, || call.clone().send())
            .await
        {
            Ok(out) => {
                let t = out.task_definition().ok_or_else(|| missing("task definition"))?;
                seen(t, tag_map(out.tags())).map(Some)
            }
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn port(p: &PortMapping) -> sdk::PortMapping {
        sdk::PortMapping::builder()
            .container_port(p.container_port)
            .set_host_port(p.host_port)
            .set_protocol(p.protocol.as_deref().map(TransportProtocol::from))
            .build()
    }

    fn to_sdk(c: &ContainerDefinition, at: &str) -> Result<sdk::ContainerDefinition, ProviderError> {
        let log = match &c.log_configuration {
            None => None,
            Some(l) => {
                let mut options: HashMap<String, String> = l.options.clone().into_iter().collect();
                if let Some(g) = &l.group {
                    options.insert("awslogs-group".into(), g.id().to_owned());
                }
                if let Some(r) = &l.region {
                    options.insert("awslogs-region".into(), r.clone());
                }
                if let Some(p) = &l.stream_prefix {
                    options.insert("awslogs-stream-prefix".into(), p.clone());
                }
                let built = sdk::LogConfiguration::builder()
                    .log_driver(LogDriver::from(l.log_driver.as_str()))
                    .set_options(Some(options))
                    .build();
                Some(built.map_err(|e| invalid(&format!("{at}.log_configuration"), e))?)
            }
        };
        let health = match &c.health_check {
            None => None,
            Some(h) => Some(
                sdk::HealthCheck::builder()
                    .set_command(Some(h.command.clone()))
                    .set_interval(h.interval)
                    .set_timeout(h.timeout)
                    .set_retries(h.retries)
                    .set_start_period(h.start_period)
                    .build()
                    .map_err(|e| invalid(&format!("{at}.health_check"), e))?,
            ),
        };
        let secrets = c
            .secrets
            .iter()
            .map(|s| {
                sdk::Secret::builder()
                    .name(&s.name)
                    .value_from(s.value_from.id())
                    .build()
                    .map_err(|e| invalid(&format!("{at}.secrets"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let depends = c
            .depends_on
            .iter()
            .map(|d| {
                sdk::ContainerDependency::builder()
                    .container_name(&d.container_name)
                    .condition(ContainerCondition::from(d.condition.as_str()))
                    .build()
                    .map_err(|e| invalid(&format!("{at}.depends_on"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sdk::ContainerDefinition::builder()
            .name(&c.name)
            .image(c.image.as_str())
            .set_cpu(c.cpu)
            .set_memory(c.memory)
            .set_essential(c.essential)
            .set_command((!c.command.is_empty()).then(|| c.command.clone()))
            .set_port_mappings(Some(c.port_mappings.iter().map(port).collect()))
            .set_environment(Some(
                c.environment
                    .iter()
                    .map(|e| sdk::KeyValuePair::builder().name(&e.name).value(e.value.as_str()).build())
                    .collect(),
            ))
            .set_secrets((!secrets.is_empty()).then_some(secrets))
            .set_log_configuration(log)
            .set_health_check(health)
            .set_depends_on((!depends.is_empty()).then_some(depends))
            .build())
    }

    /// The declaration in canonical form, tags aside: what a found
    /// revision must equal to be this create's.
    fn same(a: &TaskDefinition, b: &TaskDefinition) -> bool {
        let mut a = TaskDefinition { tags: BTreeMap::new(), ..a.clone() };
        let mut b = TaskDefinition { tags: BTreeMap::new(), ..b.clone() };
        canonical(&mut a);
        canonical(&mut b);
        match (infra_core::value::to_value(&a), infra_core::value::to_value(&b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    #[async_trait]
    impl Kind for TaskDefinitionKind {
        type Decl = TaskDefinition;
        type Out = TaskDefinitionOut;
        const SERVICE: Service = Service::Ecs;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, TaskDefinition>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                // One revision per call: ECS has no batched describe.
                Lookup::Ids(ids) => {
                    let found = futures_util::future::join_all(ids.iter().map(|id| describe(cx, id))).await;
                    let mut out = Vec::new();
                    for f in found {
                        out.extend(f?);
                    }
                    Ok(out)
                }
                Lookup::Tag(..) => Ok(Vec::new()),
                // The family's latest revision, when it is what this create
                // registers: a lost registration is found, while an older
                // revision of the same address (a replacement's) is not.
                Lookup::Key(d) => {
                    Ok(describe(cx, &d.family).await?.into_iter().filter(|s| same(&s.decl, d)).collect())
                }
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &TaskDefinition,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &TaskDefinition,
            tags: &Tags,
            _: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let containers = d
                .container_definitions
                .iter()
                .enumerate()
                .map(|(i, c)| to_sdk(c, &format!("container_definitions[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            let call = cx
                .ecs()
                .register_task_definition()
                .family(&d.family)
                .set_requires_compatibilities(Some(
                    d.requires_compatibilities.iter().map(|c| Compatibility::from(c.as_str())).collect(),
                ))
                .network_mode(NetworkMode::from(d.network_mode.as_str()))
                .cpu(d.cpu.to_string())
                .memory(d.memory.to_string())
                .set_execution_role_arn(d.execution_role_arn.as_ref().map(|r| r.id().to_owned()))
                .set_task_role_arn(d.task_role_arn.as_ref().map(|r| r.id().to_owned()))
                .set_container_definitions(Some(containers))
                .set_tags(Some(ecs_tags(tags)));
            let out = cx
                .send_in(Service::Ecs, "RegisterTaskDefinition", Operation::Create, || call.clone().send())
                .await?;
            let t = out.task_definition().ok_or_else(|| missing("task definition"))?;
            let answered = tag_map(out.tags());
            seen(t, if answered.is_empty() { tags.clone() } else { answered }).map(Created::Seen)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, id, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &TaskDefinition) -> Result<(), ProviderError> {
            let sent = cx
                .send_in(Service::Ecs, "DeregisterTaskDefinition", Operation::Delete, || {
                    cx.ecs().deregister_task_definition().task_definition(id).send()
                })
                .await;
            match sent {
                Ok(_) => Ok(()),
                Err(e) if absent(&e) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}
