use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{
    EcsClusterArn, SecurityGroupId, ServiceDiscoveryArn, SubnetId, TargetGroupArn, TaskDefinitionArn,
};

/// A target group the service registers its tasks in (`load_balancer`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceLoadBalancer {
    pub target_group_arn: Input<TargetGroupArn>,
    /// The container (of the task definition) and port that serve.
    pub container_name: String,
    pub container_port: i32,
}

/// A Cloud Map service the tasks register in (`service_registries`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceRegistry {
    pub registry_arn: Input<ServiceDiscoveryArn>,
    /// For SRV records: the port, or the container and its port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
}

/// The deployment circuit breaker: a deployment whose tasks keep failing
/// stops (`FAILED`), and with `rollback` goes back to the last good one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentCircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

/// An ECS service on Fargate (`aws_ecs_service` with `launch_type =
/// "FARGATE"`) in `awsvpc` mode.
///
/// Its ID is `cluster-name/service-name` (Terraform's import form). The
/// name and cluster are force-new (destroy first: a name is unique in its
/// cluster); everything else changes in place through `UpdateService`. A
/// delete scales the service to 0, deletes it (forced) and waits until it
/// is `INACTIVE`.
///
/// With `wait_for_steady_state` (default false, as in Terraform) a create
/// or update waits until the primary deployment is `COMPLETED` with every
/// desired task running — showing e.g. `deployment IN_PROGRESS: 1/3
/// running` meanwhile — and fails when the circuit breaker marks it
/// `FAILED`. It is infra's own setting: a read keeps the recorded value.
///
/// Outputs: `service.arn()`, `service.name()` and `service.cluster()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ecs::{
///     ContainerDefinition, DeploymentCircuitBreaker, EcsCluster, FargateService, PortMapping,
///     TaskDefinition,
/// };
/// use infra::aws::ids::SubnetId;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let cluster = stack.add("cluster", EcsCluster { name: "prod".into(), ..Default::default() });
/// let td = stack.add("app-td", TaskDefinition {
///     family: "prod-app".into(),
///     cpu: 512,
///     memory: 1024,
///     container_definitions: vec![ContainerDefinition {
///         name: "app".into(),
///         image: "public.ecr.aws/nginx/nginx:latest".into(),
///         port_mappings: vec![PortMapping::tcp(8080)],
///         ..Default::default()
///     }],
///     ..TaskDefinition::fargate()
/// });
/// stack.add_with(
///     "app",
///     FargateService {
///         name: "prod-app".into(),
///         cluster: cluster.arn().into(),
///         task_definition: td.arn().into(),
///         desired_count: 3,
///         subnets: vec![SubnetId::new("subnet-0123456789abcdef0").unwrap().into()],
///         deployment_circuit_breaker: Some(DeploymentCircuitBreaker { enable: true, rollback: true }),
///         wait_for_steady_state: true,
///         ..Default::default()
///     },
///     // Autoscaling owns the count once the service runs.
///     Options::new().ignore_changes(["desired_count"]),
/// );
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ecs:Service",
    outputs(arn: String, name: String, cluster: EcsClusterArn),
    readiness = "on_available",
    replace = "delete_before_create",
    validate = validate_service,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct FargateService {
    /// The service's name, unique in its cluster.
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub cluster: Input<EcsClusterArn>,
    /// The revision the tasks run (`td.arn()`): a new one deploys.
    pub task_definition: Input<TaskDefinitionArn>,
    pub desired_count: i32,
    /// The subnets of the tasks' network interfaces.
    #[resource(set)]
    pub subnets: Vec<Input<SubnetId>>,
    /// The tasks' security groups (the VPC's default group when empty).
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<Input<SecurityGroupId>>,
    /// A public IP per task (public subnets without a NAT gateway).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub assign_public_ip: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<ServiceLoadBalancer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_registries: Vec<ServiceRegistry>,
    /// 0 to 100; 100 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_minimum_healthy_percent: Option<i32>,
    /// 100 to 200 or more; 200 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_maximum_percent: Option<i32>,
    /// Off (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// Seconds load balancer health checks are ignored after a task starts
    /// (0, the default, is recorded as unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i32>,
    /// ECS Exec into the tasks.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enable_execute_command: bool,
    /// `SERVICE` or `TASK_DEFINITION`; `NONE` (the default) is recorded as
    /// unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<String>,
    /// e.g. `1.4.0`; `LATEST` (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// Wait for the deployment to finish after a create or update.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub wait_for_steady_state: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_service(s: &FargateService, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &s.tags);
    super::check_name(ctx, "name", &s.name);
    if s.desired_count < 0 {
        ctx.error("desired_count", format!("{} must be 0 or more", s.desired_count));
    }
    if s.subnets.is_empty() {
        ctx.error("subnets", "a Fargate service needs at least one subnet");
    }
    if s.subnets.len() > 16 {
        ctx.error("subnets", format!("{} subnets: at most 16", s.subnets.len()));
    }
    if s.security_groups.len() > 5 {
        ctx.error("security_groups", format!("{} groups: at most 5", s.security_groups.len()));
    }
    if let Some(p) = s.deployment_minimum_healthy_percent
        && !(0..=100).contains(&p)
    {
        ctx.error("deployment_minimum_healthy_percent", format!("{p} must be 0 to 100"));
    }
    if let Some(p) = s.deployment_maximum_percent {
        let min = s.deployment_minimum_healthy_percent.unwrap_or(100);
        if p < 100 || p <= min.min(99) {
            ctx.error(
                "deployment_maximum_percent",
                format!("{p} must be at least 100 and above the minimum healthy percent"),
            );
        }
    }
    if let Some(g) = s.health_check_grace_period_seconds {
        if g < 0 {
            ctx.error("health_check_grace_period_seconds", format!("{g} must be 0 or more"));
        }
        if g > 0 && s.load_balancers.is_empty() {
            ctx.error(
                "health_check_grace_period_seconds",
                "only a service with load_balancers takes a grace period",
            );
        }
    }
    if let Some(p) = &s.propagate_tags
        && !matches!(p.as_str(), "SERVICE" | "TASK_DEFINITION" | "NONE")
    {
        ctx.error("propagate_tags", format!("{p:?} must be SERVICE, TASK_DEFINITION or NONE"));
    }
    if s.load_balancers.len() > 5 {
        ctx.error("load_balancers", "a service takes at most 5 target groups");
    }
    for (i, lb) in s.load_balancers.iter().enumerate() {
        if lb.container_name.is_empty() {
            ctx.error(&format!("load_balancers[{i}].container_name"), "is empty");
        }
        if !(1..=65535).contains(&lb.container_port) {
            ctx.error(
                &format!("load_balancers[{i}].container_port"),
                format!("{} must be 1 to 65535", lb.container_port),
            );
        }
    }
    if s.service_registries.len() > 1 {
        ctx.error("service_registries", "a service takes one service registry");
    }
}

/// The canonical form: AWS's defaults recorded as unset.
fn defaults_unset(s: &mut FargateService) {
    if s.deployment_minimum_healthy_percent == Some(100) {
        s.deployment_minimum_healthy_percent = None;
    }
    if s.deployment_maximum_percent == Some(200) {
        s.deployment_maximum_percent = None;
    }
    if s.deployment_circuit_breaker == Some(DeploymentCircuitBreaker::default()) {
        s.deployment_circuit_breaker = None;
    }
    if s.health_check_grace_period_seconds == Some(0) {
        s.health_check_grace_period_seconds = None;
    }
    if s.propagate_tags.as_deref() == Some("NONE") {
        s.propagate_tags = None;
    }
    if s.platform_version.as_deref() == Some("LATEST") {
        s.platform_version = None;
    }
}

#[cfg(feature = "ecs")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_ecs::types::{
        self as sdk, AssignPublicIp, AwsVpcConfiguration, DeploymentConfiguration, DeploymentRolloutState,
        LaunchType, NetworkConfiguration, PropagateTags, ServiceField,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::*;
    use crate::ecs::sdk::{as_kind, ecs_tags, invalid, retag, tag_map};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, settle, user_tags};

    /// `aws:ecs:Service` through the ECS API.
    #[derive(Debug)]
    pub(crate) struct FargateServiceKind;

    /// Services DescribeServices takes at once.
    const PER_CALL: usize = 10;

    /// A cluster's name from its ARN (or a name).
    fn cluster_name(cluster: &str) -> &str {
        cluster.rsplit('/').next().unwrap_or(cluster)
    }

    fn bad_id(id: &str) -> ProviderError {
        ProviderError::new(
            ErrorKind::Final,
            format!("{id:?} is not an ID of the form cluster-name/service-name"),
        )
        .with_code("InvalidInput")
    }

    fn decl(s: &sdk::Service, tags: &Tags) -> FargateService {
        let vpc = s.network_configuration().and_then(|n| n.awsvpc_configuration());
        let deployment = s.deployment_configuration();
        FargateService {
            name: s.service_name().unwrap_or_default().to_owned(),
            cluster: Input::Value(EcsClusterArn::unchecked(s.cluster_arn().unwrap_or_default())),
            task_definition: Input::Value(TaskDefinitionArn::unchecked(
                s.task_definition().unwrap_or_default(),
            )),
            desired_count: s.desired_count(),
            subnets: vpc
                .map(|v| v.subnets().iter().map(|x| Input::Value(SubnetId::unchecked(x))).collect())
                .unwrap_or_default(),
            security_groups: vpc
                .map(|v| {
                    v.security_groups().iter().map(|x| Input::Value(SecurityGroupId::unchecked(x))).collect()
                })
                .unwrap_or_default(),
            assign_public_ip: vpc.and_then(|v| v.assign_public_ip()) == Some(&AssignPublicIp::Enabled),
            load_balancers: s
                .load_balancers()
                .iter()
                .map(|lb| ServiceLoadBalancer {
                    target_group_arn: Input::Value(TargetGroupArn::unchecked(
                        lb.target_group_arn().unwrap_or_default(),
                    )),
                    container_name: lb.container_name().unwrap_or_default().to_owned(),
                    container_port: lb.container_port().unwrap_or_default(),
                })
                .collect(),
            service_registries: s
                .service_registries()
                .iter()
                .map(|r| ServiceRegistry {
                    registry_arn: Input::Value(ServiceDiscoveryArn::unchecked(
                        r.registry_arn().unwrap_or_default(),
                    )),
                    port: r.port(),
                    container_name: r.container_name().map(str::to_owned),
                    container_port: r.container_port(),
                })
                .collect(),
            deployment_minimum_healthy_percent: deployment.and_then(|d| d.minimum_healthy_percent()),
            deployment_maximum_percent: deployment.and_then(|d| d.maximum_percent()),
            deployment_circuit_breaker: deployment
                .and_then(|d| d.deployment_circuit_breaker())
                .map(|c| DeploymentCircuitBreaker { enable: c.enable(), rollback: c.rollback() }),
            health_check_grace_period_seconds: s.health_check_grace_period_seconds(),
            enable_execute_command: s.enable_execute_command(),
            propagate_tags: s.propagate_tags().map(|p| p.as_str().to_owned()),
            platform_version: s.platform_version().map(str::to_owned),
            wait_for_steady_state: false,
            tags: user_tags(tags),
        }
    }

    /// Where the service's rollout stands: `None` when it is steady (the
    /// primary deployment `COMPLETED`, the only one, every desired task
    /// running), else its status, `Failed` when the circuit breaker
    /// stopped it.
    fn rollout(s: &sdk::Service) -> Option<Status> {
        let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
        let state = primary.and_then(|d| d.rollout_state());
        let (running, desired) = (s.running_count(), s.desired_count());
        let event =
            s.events().first().and_then(|e| e.message()).map(|m| format!("; {m}")).unwrap_or_default();
        if state == Some(&DeploymentRolloutState::Failed) {
            let reason =
                primary.and_then(|d| d.rollout_state_reason()).unwrap_or("the circuit breaker stopped it");
            return Some(Status::Failed(format!("deployment FAILED: {reason}{event}")));
        }
        let completed = state.is_none_or(|s| *s == DeploymentRolloutState::Completed);
        if completed && s.deployments().len() <= 1 && running == desired {
            return None;
        }
        let state = state.map_or("IN_PROGRESS", |s| s.as_str());
        Some(Status::Pending(format!("deployment {state}: {running}/{desired} running{event}")))
    }

    fn seen(s: &sdk::Service) -> Result<Seen<FargateServiceKind>, ProviderError> {
        let name = s.service_name().ok_or_else(|| missing("service name"))?.to_owned();
        let cluster = s.cluster_arn().ok_or_else(|| missing("service's cluster"))?.to_owned();
        let tags = tag_map(s.tags());
        let status = match s.status().unwrap_or("ACTIVE") {
            "ACTIVE" => Status::Ready,
            "INACTIVE" => Status::Gone,
            other => Status::Deleting(other.to_owned()),
        };
        let out = FargateServiceOut {
            arn: s.service_arn().unwrap_or_default().to_owned(),
            name: name.clone(),
            cluster: EcsClusterArn::unchecked(&cluster),
        };
        let id = format!("{}/{name}", cluster_name(&cluster));
        Ok(Seen { id, decl: decl(s, &tags), out, tags, status })
    }

    /// The services `names` of `cluster` that exist, in any state, with
    /// their rollout.
    async fn describe(
        cx: &Ctx,
        cluster: &str,
        names: &[String],
    ) -> Result<Vec<(Seen<FargateServiceKind>, Option<Status>)>, ProviderError> {
        let mut found = Vec::new();
        for chunk in names.chunks(PER_CALL) {
            let call = cx
                .ecs()
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags);
            let out = match cx
                .send_in(Service::Ecs, "DescribeServices", Operation::Read, || call.clone().send())
                .await
            {
                Ok(out) => out,
                // The cluster is gone, and its services with it.
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            for s in out.services() {
                found.push((seen(s)?, rollout(s)));
            }
        }
        Ok(found)
    }

    /// The services of `ids` (`cluster/name`), one call per cluster.
    async fn by_ids(
        cx: &Ctx,
        ids: &[String],
    ) -> Result<Vec<(Seen<FargateServiceKind>, Option<Status>)>, ProviderError> {
        let mut per_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for id in ids {
            let (cluster, name) = id.split_once('/').ok_or_else(|| bad_id(id))?;
            per_cluster.entry(cluster).or_default().push(name.to_owned());
        }
        let calls = per_cluster.iter().map(|(cluster, names)| describe(cx, cluster, names));
        let mut out = Vec::new();
        for r in futures_util::future::join_all(calls).await {
            out.extend(r?);
        }
        Ok(out)
    }

    fn network(d: &FargateService) -> Result<NetworkConfiguration, ProviderError> {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(d.subnets.iter().map(|s| s.id().to_owned()).collect()))
            .set_security_groups(Some(d.security_groups.iter().map(|s| s.id().to_owned()).collect()))
            .assign_public_ip(if d.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| invalid("subnets", e))?;
        Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
    }

    fn deployment(d: &FargateService) -> DeploymentConfiguration {
        let cb = d.deployment_circuit_breaker.unwrap_or_default();
        DeploymentConfiguration::builder()
            .minimum_healthy_percent(d.deployment_minimum_healthy_percent.unwrap_or(100))
            .maximum_percent(d.deployment_maximum_percent.unwrap_or(200))
            .deployment_circuit_breaker(
                sdk::DeploymentCircuitBreaker::builder().enable(cb.enable).rollback(cb.rollback).build(),
            )
            .build()
    }

    fn load_balancers(d: &FargateService) -> Vec<sdk::LoadBalancer> {
        d.load_balancers
            .iter()
            .map(|lb| {
                sdk::LoadBalancer::builder()
                    .target_group_arn(lb.target_group_arn.id())
                    .container_name(&lb.container_name)
                    .container_port(lb.container_port)
                    .build()
            })
            .collect()
    }

    fn registries(d: &FargateService) -> Vec<sdk::ServiceRegistry> {
        d.service_registries
            .iter()
            .map(|r| {
                sdk::ServiceRegistry::builder()
                    .registry_arn(r.registry_arn.id())
                    .set_port(r.port)
                    .set_container_name(r.container_name.clone())
                    .set_container_port(r.container_port)
                    .build()
            })
            .collect()
    }

    /// The declared settings a create's answer left out (the emulator
    /// keeps no deployment configuration, grace period or ECS Exec from
    /// `CreateService`; AWS always answers them): sent again with
    /// `UpdateService`, which never fires on AWS.
    fn dropped(d: &FargateService, s: &sdk::Service) -> bool {
        let mut wanted = d.clone();
        super::defaults_unset(&mut wanted);
        let mut got = decl(s, &Tags::new());
        super::defaults_unset(&mut got);
        let deployment = (wanted.deployment_minimum_healthy_percent.is_some()
            || wanted.deployment_maximum_percent.is_some()
            || wanted.deployment_circuit_breaker.is_some())
            && s.deployment_configuration().is_none();
        deployment
            || wanted.health_check_grace_period_seconds != got.health_check_grace_period_seconds
            || wanted.enable_execute_command != got.enable_execute_command
    }

    /// The ECS client token of an engine token (at most 36 characters).
    fn client_token(token: &str) -> String {
        let t = token.strip_prefix("infra-").unwrap_or(token);
        t.chars().take(36).collect()
    }

    fn gone(e: &ProviderError) -> bool {
        e.kind == ErrorKind::NotFound || e.code.as_deref() == Some("ServiceNotActiveException")
    }

    #[async_trait]
    impl Kind for FargateServiceKind {
        type Decl = FargateService;
        type Out = FargateServiceOut;
        const SERVICE: Service = Service::Ecs;
        const TIMINGS: Timings = Timings::secs(2, 2, 5, 5, 1800);
        const DELETE_WAITS: bool = true;
        const WRITE_ONLY: &'static [&'static str] = &["wait_for_steady_state"];

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, FargateService>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let found = match by {
                Lookup::Ids(ids) => by_ids(cx, ids).await?,
                // ECS cannot search by tag: a lost create is found by its
                // cluster and name.
                Lookup::Tag(..) => Vec::new(),
                Lookup::Key(d) => describe(cx, d.cluster.id(), std::slice::from_ref(&d.name)).await?,
            };
            Ok(found.into_iter().map(|(s, _)| s).collect())
        }

        async fn poll(
            &self,
            cx: &Ctx,
            id: &str,
            d: Option<&FargateService>,
        ) -> Result<Option<Seen<Self>>, ProviderError> {
            let found = by_ids(cx, std::slice::from_ref(&id.to_owned())).await?;
            let Some((mut s, rollout)) = found.into_iter().find(|(s, _)| s.id == id) else { return Ok(None) };
            if s.status == Status::Ready
                && d.is_some_and(|d| d.wait_for_steady_state)
                && let Some(rollout) = rollout
            {
                s.status = rollout;
            }
            Ok(Some(s))
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &FargateService,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let cluster = d.cluster.id();
            // AWS refuses a second service of one name unless it is the
            // same create (and the emulator overwrites the first): one of
            // this name is refused here, so the engine adopts it only when
            // it is this stack's (a lost create) and names `import`
            // otherwise.
            if let Some((there, _)) =
                describe(cx, cluster, std::slice::from_ref(&d.name)).await?.into_iter().next()
            {
                match there.status {
                    Status::Gone => {}
                    Status::Deleting(state) => {
                        return Err(ProviderError::new(
                            ErrorKind::EventualConsistency,
                            format!("service {} is still {state}", d.name),
                        )
                        .with_code("ServiceDraining"));
                    }
                    _ => {
                        return Err(ProviderError::new(
                            ErrorKind::Conflict,
                            format!("an ECS service named {} already exists in {cluster}", d.name),
                        )
                        .with_code("ServiceAlreadyExists"));
                    }
                }
            }
            let call = cx
                .ecs()
                .create_service()
                .cluster(cluster)
                .service_name(&d.name)
                .task_definition(d.task_definition.id())
                .desired_count(d.desired_count)
                .launch_type(LaunchType::Fargate)
                .network_configuration(network(d)?)
                .set_load_balancers((!d.load_balancers.is_empty()).then(|| load_balancers(d)))
                .set_service_registries((!d.service_registries.is_empty()).then(|| registries(d)))
                .deployment_configuration(deployment(d))
                .set_health_check_grace_period_seconds(d.health_check_grace_period_seconds)
                .enable_execute_command(d.enable_execute_command)
                .set_propagate_tags(d.propagate_tags.as_deref().map(PropagateTags::from))
                .set_platform_version(d.platform_version.clone())
                .client_token(client_token(token))
                .set_tags(Some(ecs_tags(tags)));
            let out =
                cx.send_in(Service::Ecs, "CreateService", Operation::Create, || call.clone().send()).await?;
            let s = out.service().ok_or_else(|| missing("service"))?;
            let id = format!("{}/{}", cluster_name(cluster), d.name);
            if dropped(d, s) {
                let call = cx
                    .ecs()
                    .update_service()
                    .cluster(cluster)
                    .service(&d.name)
                    .deployment_configuration(deployment(d))
                    .set_health_check_grace_period_seconds(d.health_check_grace_period_seconds)
                    .enable_execute_command(d.enable_execute_command);
                settle(|| {
                    cx.send_in(Service::Ecs, "UpdateService", Operation::Create, || call.clone().send())
                })
                .await?;
            }
            Ok(id)
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, FargateService>,
        ) -> Result<(), ProviderError> {
            let (cluster, name) = id.split_once('/').ok_or_else(|| bad_id(id))?;
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            let d = c.after;
            let mut call = cx.ecs().update_service().cluster(cluster).service(name);
            let mut any = false;
            if changed("task_definition") {
                call = call.task_definition(d.task_definition.id());
                any = true;
            }
            if changed("desired_count") {
                call = call.desired_count(d.desired_count);
                any = true;
            }
            if changed("subnets") || changed("security_groups") || changed("assign_public_ip") {
                call = call.network_configuration(network(d)?);
                any = true;
            }
            if changed("load_balancers") {
                call = call.set_load_balancers(Some(load_balancers(d)));
                any = true;
            }
            if changed("service_registries") {
                call = call.set_service_registries(Some(registries(d)));
                any = true;
            }
            if changed("deployment_minimum_healthy_percent")
                || changed("deployment_maximum_percent")
                || changed("deployment_circuit_breaker")
            {
                call = call.deployment_configuration(deployment(d));
                any = true;
            }
            if changed("health_check_grace_period_seconds") {
                call =
                    call.health_check_grace_period_seconds(d.health_check_grace_period_seconds.unwrap_or(0));
                any = true;
            }
            if changed("enable_execute_command") {
                call = call.enable_execute_command(d.enable_execute_command);
                any = true;
            }
            if changed("propagate_tags") {
                call =
                    call.propagate_tags(PropagateTags::from(d.propagate_tags.as_deref().unwrap_or("NONE")));
                any = true;
            }
            if changed("platform_version") {
                call = call.platform_version(d.platform_version.as_deref().unwrap_or("LATEST"));
                any = true;
            }
            // `wait_for_steady_state` alone is infra's own: nothing to send.
            if any {
                cx.send_in(Service::Ecs, "UpdateService", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let found = by_ids(cx, std::slice::from_ref(&id.to_owned())).await?;
            let arn = found.first().map(|(s, _)| s.out.arn.clone()).ok_or_else(|| {
                ProviderError::new(ErrorKind::NotFound, format!("service {id} is gone"))
                    .with_code("ServiceNotFoundException")
            })?;
            retag(cx, &arn, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &FargateService) -> Result<(), ProviderError> {
            let (cluster, name) = id.split_once('/').ok_or_else(|| bad_id(id))?;
            // Scaled to 0 first, so its tasks stop before the service goes
            // (as Terraform does); the delete is forced either way.
            let scale = cx.ecs().update_service().cluster(cluster).service(name).desired_count(0);
            match cx.send_in(Service::Ecs, "UpdateService", Operation::Delete, || scale.clone().send()).await
            {
                Err(e) if gone(&e) => return Ok(()),
                Err(e) if e.code.as_deref() == Some("ClusterNotFoundException") => return Ok(()),
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            let call = cx.ecs().delete_service().cluster(cluster).service(name).force(true);
            match cx.send_in(Service::Ecs, "DeleteService", Operation::Delete, || call.clone().send()).await {
                Ok(_) => Ok(()),
                Err(e) if gone(&e) => Ok(()),
                Err(e) if e.code.as_deref() == Some("UpdateInProgressException") => {
                    Err(as_kind(e, ErrorKind::EventualConsistency))
                }
                Err(e) => Err(e),
            }
        }
    }
}
