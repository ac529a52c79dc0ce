use std::collections::BTreeMap;

use infra_core::{Identifier as _, Input, OnDelete, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{
    Arn, CacheParameterGroupName, CacheSubnetGroupName, DnsName, KmsKeyArn, SecurityGroupId, TopicArn,
};
use crate::secretsmanager::SecretSource;

/// A Redis or Valkey replication group (`aws_elasticache_replication_group`):
/// a primary and its replicas (`num_cache_clusters`), or with cluster mode
/// shards of a primary and replicas each (`num_node_groups`,
/// `replicas_per_node_group`).
///
/// Its ID is `replication_group_id`, unique per region. It holds data, so
/// `on_delete` must say what a delete does with it before the group can be
/// deleted or replaced: `OnDelete::FinalSnapshot(name)` deletes with a
/// final snapshot (`FinalSnapshotIdentifier`), `OnDelete::DeleteData`
/// without one. A delete waits until the group is gone.
///
/// **Replaced** (destroy first, the ID being the user's): the ID, the port,
/// the subnet group, at-rest encryption and its key, transit encryption
/// (enabling it in place needs AWS's two-step migration through
/// `preferred` mode, which this type does not do).
///
/// **In place**, with `ApplyImmediately` (`apply_immediately`, default
/// true; false defers to the maintenance window and the plan shows the
/// change until then): the description, engine and version, node type,
/// parameter group, security groups, snapshot retention and window,
/// maintenance window, failover, multi-AZ, notification topic and tags
/// (`ModifyReplicationGroup`); the auth token is rotated
/// (`AuthTokenUpdateStrategy=ROTATE`) when its value changes; the number of
/// cache clusters or replicas through `IncreaseReplicaCount` /
/// `DecreaseReplicaCount`, the number of shards through
/// `ModifyReplicationGroupShardConfiguration`. Each call waits for the group
/// to be `available` again before the next; the last wait is the apply's
/// readiness wait. Growing comes before the modification and shrinking
/// after, so a failover switched on or off never meets too few nodes.
/// Switching cluster mode on or off is refused: it needs a new group.
///
/// **Refresh** reads the group (`DescribeReplicationGroups`), its first
/// member cluster (`DescribeCacheClusters`: the parameter group, subnet
/// group, security groups and notification topic live there) and its tags.
/// `num_cache_clusters` is the number of member clusters. The engine
/// version, snapshot window and maintenance window are not compared (AWS
/// picks a window when none is declared, and reports the full version
/// `7.1.0` for a declared `7.1`): refresh keeps the declared values, and
/// the running version is the `engine_version_actual` output. When the
/// member cluster cannot be described, its four fields are kept as
/// recorded too.
///
/// Outputs: `arn`, `primary_endpoint_address` and `reader_endpoint_address`
/// (cluster mode off), `configuration_endpoint_address` (cluster mode on),
/// `port`, `member_clusters` and `engine_version_actual`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::core::OnDelete;
/// use infra::aws::ec2::{SecurityGroup, Subnet, Vpc};
/// use infra::aws::elasticache::{CacheParameterGroup, CacheSubnetGroup, ReplicationGroup};
/// use infra::aws::secretsmanager::SecretSource;
/// use infra::aws::sns::SnsTopic;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let subnets: Vec<_> = ["us-east-1a", "us-east-1b"]
///     .iter()
///     .enumerate()
///     .map(|(i, az)| {
///         stack.add(&format!("private-{i}"), Subnet {
///             vpc_id: vpc.id().into(),
///             cidr_block: format!("10.1.{}.0/24", 10 + i),
///             availability_zone: (*az).into(),
///             ..Default::default()
///         })
///     })
///     .collect();
/// let redis_sg = stack.add("redis-sg", SecurityGroup {
///     name: "prod-redis-sg".into(),
///     description: "Security group for Redis".into(),
///     vpc_id: vpc.id().into(),
///     ..Default::default()
/// });
/// let subnet_group = stack.add("cache-subnet", CacheSubnetGroup {
///     name: "prod-cache-subnet".into(),
///     subnet_ids: subnets.iter().map(|s| s.id().into()).collect(),
///     ..Default::default()
/// });
/// let params = stack.add("redis-params", CacheParameterGroup {
///     name: "prod-redis-params".into(),
///     family: "redis7".into(),
///     parameters: [("maxmemory-policy".to_owned(), "allkeys-lru".to_owned())].into(),
///     ..Default::default()
/// });
/// let alerts = stack.add("alerts", SnsTopic { name: "prod-alerts".into(), ..Default::default() });
/// let token = std::env::var("REDIS_AUTH_TOKEN").unwrap_or_else(|_| "a-token-of-16-chars-or-more".into());
/// let redis = stack.add("redis", ReplicationGroup {
///     replication_group_id: "prod-redis".into(),
///     description: "Redis cluster for prod".into(),
///     engine: Some("redis".into()),
///     engine_version: Some("7.0".into()),
///     node_type: "cache.t4g.medium".into(),
///     port: Some(6379),
///     parameter_group_name: Some(params.name().into()),
///     num_cache_clusters: Some(2),
///     subnet_group_name: Some(subnet_group.name().into()),
///     security_group_ids: vec![redis_sg.id().into()],
///     snapshot_retention_limit: Some(5),
///     snapshot_window: Some("03:00-05:00".into()),
///     maintenance_window: Some("sun:05:00-sun:07:00".into()),
///     at_rest_encryption_enabled: true,
///     transit_encryption_enabled: true,
///     auth_token: Some(SecretSource::Value(Sensitive(token))),
///     automatic_failover_enabled: true,
///     multi_az_enabled: true,
///     notification_topic_arn: Some(alerts.arn().into()),
///     on_delete: Some(OnDelete::FinalSnapshot("prod-redis-final".into())),
///     tags: [("Name".to_owned(), "prod-redis".to_owned())].into(),
///     ..Default::default()
/// });
/// stack.export("redis_endpoint", redis.primary_endpoint_address());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:elasticache:ReplicationGroup",
    outputs(
        arn: Arn,
        primary_endpoint_address: DnsName,
        reader_endpoint_address: DnsName,
        configuration_endpoint_address: DnsName,
        port: i64,
        member_clusters: Vec<String>,
        engine_version_actual: String
    ),
    replace = "delete_before_create",
    keeps_data = "on_delete",
    validate = validate_replication_group,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct ReplicationGroup {
    /// 1 to 40 lowercase letters, digits and hyphens, a letter first.
    #[resource(force_new)]
    pub replication_group_id: String,
    /// Required by AWS.
    pub description: String,
    /// `redis` (the default, recorded as unset) or `valkey`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// `7.1`, `6.2` (major.minor from Redis 6 and for Valkey),
    /// `5.0.6` before; AWS's latest when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    /// `cache.t4g.medium`, `cache.r7g.large`, …
    pub node_type: String,
    /// 6379 (the default) is recorded as unset.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// A declared [`super::CacheParameterGroup`]'s `name()` or AWS's
    /// (`default.redis7`, recorded as unset with the other defaults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_group_name: Option<Input<CacheParameterGroupName>>,
    /// Cluster mode off: the primary and its replicas, 1 to 6 (1, the
    /// default, is recorded as unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_cache_clusters: Option<i32>,
    /// Cluster mode on: the number of shards (1 to 500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_node_groups: Option<i32>,
    /// Cluster mode on: replicas in each shard (0 to 5), required with
    /// `num_node_groups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas_per_node_group: Option<i32>,
    /// A [`super::CacheSubnetGroup`]'s `name()`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_group_name: Option<Input<CacheSubnetGroupName>>,
    /// VPC security groups of the subnet group's VPC.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<Input<SecurityGroupId>>,
    /// Days of daily snapshots kept, 0 to 35 (0, none, is recorded as
    /// unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_retention_limit: Option<i32>,
    /// Daily, UTC: `03:00-05:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_window: Option<String>,
    /// Weekly, UTC, at least an hour: `sun:05:00-sun:07:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_rest_encryption_enabled: bool,
    /// The key for at-rest encryption (AWS's own when unset).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<KmsKeyArn>>,
    /// TLS between clients and nodes (required by an auth token).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transit_encryption_enabled: bool,
    /// The Redis AUTH token: 16 to 128 letters, digits and `! & # $ ^ < >
    /// -`. Sent to AWS only (never in a plan, the state or a log), never
    /// read back; a new value rotates it.
    #[resource(secret, reference)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::secretsmanager::recorded_secret"
    )]
    pub auth_token: Option<SecretSource>,
    /// Promote a replica when the primary fails (needs two clusters;
    /// always on with cluster mode).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub automatic_failover_enabled: bool,
    /// Replicas in other availability zones than the primary (needs
    /// automatic failover).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub multi_az_enabled: bool,
    /// Where ElastiCache sends the group's events (`topic.arn()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_topic_arn: Option<Input<TopicArn>>,
    /// Whether modifications apply at once (the default) or in the
    /// maintenance window. Used at update only; never read back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_immediately: Option<bool>,
    /// What a delete (or a replacement) does with the data: a final
    /// snapshot of this name, or none. Never read back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// `Err(why)` when `t` is not an auth token AWS takes (the message never
/// quotes the token).
pub(crate) fn check_auth_token(t: &str) -> Result<(), String> {
    let n = t.chars().count();
    if !(16..=128).contains(&n) {
        return Err(format!("an auth token is 16 to 128 characters; this one has {n}"));
    }
    if !t.chars().all(|c| c.is_ascii_alphanumeric() || "!&#$^<>-".contains(c)) {
        return Err("an auth token takes letters, digits and ! & # $ ^ < > - only (no @, \" or /)".into());
    }
    Ok(())
}

fn check_engine_version(ctx: &mut ValidationContext<'_>, v: &str) {
    let parts: Vec<&str> = v.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let ok = match parts.first().and_then(|m| m.parse::<u32>().ok()) {
        Some(6) if parts.len() == 2 && parts[1] == "x" => true,
        Some(m) if m >= 6 => parts.len() == 2 && parts.iter().all(numeric),
        Some(_) => parts.len() == 3 && parts.iter().all(numeric),
        None => false,
    };
    if !ok {
        ctx.error(
            "engine_version",
            format!(
                "{v:?}: Redis 6 and later and Valkey take major.minor (7.1, 6.2), earlier Redis \
                 major.minor.patch (5.0.6)"
            ),
        );
    }
}

fn validate_replication_group(g: &ReplicationGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    super::check_name(ctx, "replication_group_id", &g.replication_group_id, 40);
    if g.description.trim().is_empty() {
        ctx.error("description", "AWS requires a description");
    }
    if let Some(e) = &g.engine
        && e != "redis"
        && e != "valkey"
    {
        ctx.error("engine", format!("{e:?} must be redis or valkey"));
    }
    if let Some(v) = &g.engine_version {
        check_engine_version(ctx, v);
    }
    let parts: Vec<&str> = g.node_type.split('.').collect();
    if parts.len() != 3 || parts[0] != "cache" || parts.iter().any(|p| p.is_empty()) {
        ctx.error(
            "node_type",
            format!("{:?} is not a cache node type (cache.t4g.medium, cache.r7g.large)", g.node_type),
        );
    }
    if let Some(p) = g.port
        && !(1..=65535).contains(&p)
    {
        ctx.error("port", format!("{p} is not a port"));
    }
    validate_topology(g, ctx);
    if g.multi_az_enabled && !g.automatic_failover_enabled {
        ctx.error("multi_az_enabled", "multi-AZ needs automatic_failover_enabled");
    }
    if let Some(n) = g.snapshot_retention_limit
        && !(0..=35).contains(&n)
    {
        ctx.error("snapshot_retention_limit", format!("{n} must be 0 to 35 days"));
    }
    if let Some(w) = &g.snapshot_window {
        super::check_daily_window(ctx, "snapshot_window", w);
    }
    if let Some(w) = &g.maintenance_window {
        super::check_weekly_window(ctx, "maintenance_window", w);
    }
    if g.kms_key_id.is_some() && !g.at_rest_encryption_enabled {
        ctx.error("kms_key_id", "a key goes with at_rest_encryption_enabled");
    }
    if let Some(token) = &g.auth_token {
        if !g.transit_encryption_enabled {
            ctx.error("auth_token", "an auth token needs transit_encryption_enabled");
        }
        if let SecretSource::Value(v) = token
            && let Err(why) = check_auth_token(&v.0)
        {
            ctx.error("auth_token", why);
        }
    }
}

/// Cluster mode (shards) or not (clusters), and what failover and
/// multi-AZ need of each.
fn validate_topology(g: &ReplicationGroup, ctx: &mut ValidationContext<'_>) {
    match g.num_node_groups {
        Some(shards) => {
            if g.num_cache_clusters.is_some() {
                ctx.error(
                    "num_cache_clusters",
                    "num_cache_clusters (cluster mode off) and num_node_groups (cluster mode on) exclude each other",
                );
            }
            if !(1..=500).contains(&shards) {
                ctx.error("num_node_groups", format!("{shards} must be 1 to 500 shards"));
            }
            match g.replicas_per_node_group {
                None => ctx
                    .error("replicas_per_node_group", "cluster mode needs replicas_per_node_group (0 to 5)"),
                Some(r) if !(0..=5).contains(&r) => {
                    ctx.error("replicas_per_node_group", format!("{r} must be 0 to 5 replicas"))
                }
                Some(0) if g.multi_az_enabled => {
                    ctx.error("multi_az_enabled", "multi-AZ needs at least one replica per shard")
                }
                Some(_) => {}
            }
            if !g.automatic_failover_enabled {
                ctx.error("automatic_failover_enabled", "cluster mode needs automatic failover");
            }
        }
        None => {
            if g.replicas_per_node_group.is_some() {
                ctx.error(
                    "replicas_per_node_group",
                    "replicas_per_node_group goes with num_node_groups (cluster mode); without it, \
                     num_cache_clusters counts the primary and its replicas",
                );
            }
            let n = g.num_cache_clusters.unwrap_or(1);
            if !(1..=6).contains(&n) {
                ctx.error(
                    "num_cache_clusters",
                    format!("{n} must be 1 to 6 (a primary and up to 5 replicas)"),
                );
            } else if g.automatic_failover_enabled && n < 2 {
                ctx.error(
                    "automatic_failover_enabled",
                    "automatic failover needs num_cache_clusters of 2 or more",
                );
            }
        }
    }
}

/// AWS's defaults recorded as unset.
fn defaults_unset(g: &mut ReplicationGroup) {
    if g.engine.as_deref() == Some("redis") {
        g.engine = None;
    }
    if g.port == Some(6379) {
        g.port = None;
    }
    if g.num_node_groups.is_none() && g.num_cache_clusters == Some(1) {
        g.num_cache_clusters = None;
    }
    if g.snapshot_retention_limit == Some(0) {
        g.snapshot_retention_limit = None;
    }
    if g.parameter_group_name
        .as_ref()
        .and_then(Input::value)
        .is_some_and(|p| p.as_str().starts_with("default."))
    {
        g.parameter_group_name = None;
    }
    if g.subnet_group_name.as_ref().and_then(Input::value).is_some_and(|s| s.as_str() == "default") {
        g.subnet_group_name = None;
    }
    if let Some(w) = &mut g.maintenance_window {
        *w = w.to_ascii_lowercase();
    }
}

#[cfg(feature = "elasticache")]
pub(crate) mod imp;
