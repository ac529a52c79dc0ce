//! A Redis cache (the seeds' `elasticache` module): its subnet group, a
//! parameter group when parameters are set, and the replication group —
//! encrypted at rest and in transit, with an auth token, automatic
//! failover across zones and daily snapshots.

use std::collections::BTreeMap;

use infra_core::{Handle, Input, OnDelete, Options, Scope};

use crate::elasticache::{CacheParameterGroup, CacheSubnetGroup, ReplicationGroup};
use crate::ids::{KmsKeyArn, SecurityGroupId, SubnetId, TopicArn};
use crate::secretsmanager::SecretSource;

/// Inputs of [`redis`].
#[derive(Debug, Clone, Default)]
pub struct RedisConfig {
    /// The replication group's ID and the groups' names.
    pub name: String,
    pub description: String,
    /// `7.0`.
    pub engine_version: String,
    pub node_type: String,
    /// Primary plus replicas (2 or more for failover).
    pub num_cache_clusters: i32,
    pub subnets: Vec<Input<SubnetId>>,
    pub security_groups: Vec<Input<SecurityGroupId>>,
    /// Parameter group family (`redis7`) and parameters; no group is made
    /// when there are none (the engine's default group serves).
    pub family: String,
    pub parameters: BTreeMap<String, String>,
    pub kms_key: Option<Input<KmsKeyArn>>,
    pub auth_token: Option<SecretSource>,
    pub snapshot_retention_days: i32,
    pub snapshot_window: String,
    pub maintenance_window: String,
    pub notification_topic: Option<Input<TopicArn>>,
    pub on_delete: Option<OnDelete>,
    pub protect: bool,
    pub tags: BTreeMap<String, String>,
}

/// The handles a [`redis`] exposes.
#[derive(Debug, Clone)]
pub struct Redis {
    pub subnet_group: Handle<CacheSubnetGroup>,
    pub parameter_group: Option<Handle<CacheParameterGroup>>,
    pub group: Handle<ReplicationGroup>,
}

/// Adds the cache under `scope.<name>`: `subnets`, `parameters`, `group`.
pub fn redis(scope: &mut Scope<'_>, name: &str, cfg: &RedisConfig) -> Redis {
    let mut s = scope.scope(name);
    let subnet_group = s.add(
        "subnets",
        CacheSubnetGroup {
            name: format!("{}-cache-subnet", cfg.name),
            description: Some(format!("{} cache subnets", cfg.name)),
            subnet_ids: cfg.subnets.clone(),
            tags: cfg.tags.clone(),
        },
    );
    let parameter_group = (!cfg.parameters.is_empty()).then(|| {
        s.add(
            "parameters",
            CacheParameterGroup {
                name: format!("{}-redis-params", cfg.name),
                family: cfg.family.clone(),
                description: Some(format!("{} cache parameters", cfg.name)),
                parameters: cfg.parameters.clone(),
                tags: cfg.tags.clone(),
            },
        )
    });
    let options = if cfg.protect { Options::new().protect() } else { Options::new() };
    let group = s.add_with(
        "group",
        ReplicationGroup {
            replication_group_id: cfg.name.clone(),
            description: cfg.description.clone(),
            engine: Some("redis".into()),
            engine_version: Some(cfg.engine_version.clone()),
            node_type: cfg.node_type.clone(),
            port: Some(6379),
            parameter_group_name: parameter_group.as_ref().map(|p| p.name().into()),
            num_cache_clusters: Some(cfg.num_cache_clusters),
            subnet_group_name: Some(subnet_group.name().into()),
            security_group_ids: cfg.security_groups.clone(),
            snapshot_retention_limit: Some(cfg.snapshot_retention_days),
            snapshot_window: Some(cfg.snapshot_window.clone()),
            maintenance_window: Some(cfg.maintenance_window.clone()),
            at_rest_encryption_enabled: true,
            kms_key_id: cfg.kms_key.clone(),
            transit_encryption_enabled: true,
            auth_token: cfg.auth_token.clone(),
            automatic_failover_enabled: cfg.num_cache_clusters > 1,
            multi_az_enabled: cfg.num_cache_clusters > 1,
            notification_topic_arn: cfg.notification_topic.clone(),
            on_delete: cfg.on_delete.clone(),
            tags: cfg.tags.clone(),
            ..Default::default()
        },
        options,
    );
    Redis { subnet_group, parameter_group, group }
}
