//! `aws:elasticache:ReplicationGroup` through the ElastiCache API.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticache::operation::modify_replication_group::builders::ModifyReplicationGroupFluentBuilder;
use aws_sdk_elasticache::types::{
    AuthTokenUpdateStrategyType, AutomaticFailoverStatus, CacheCluster, MultiAzStatus,
    ReplicationGroup as Group,
};
use infra_core::{Input, OnDelete};
use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

use super::{ReplicationGroup, ReplicationGroupOut, check_auth_token};
use crate::elasticache::sdk::{PAGE, ec_tags, invalid, named, or_none, retag, tags_of};
use crate::ids::{
    Arn, CacheParameterGroupName, CacheSubnetGroupName, DnsName, KmsKeyArn, SecurityGroupId, TopicArn,
};
use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, settle, user_tags};
use crate::secretsmanager::reveal;

/// `aws:elasticache:ReplicationGroup` through the ElastiCache API.
#[derive(Debug)]
pub(crate) struct ReplicationGroupKind;

/// Between the polls of a wait inside an update.
const POLL: Duration = Duration::from_secs(15);
/// How long a wait inside an update lasts at most (Terraform's update
/// timeout).
const STEP_TIMEOUT: Duration = Duration::from_secs(40 * 60);

/// The fields a member cluster holds, and the member count: unknown when
/// the member was not described (a list of members the API cannot
/// describe is not trusted either: moto 5.2.5 lists one member for two).
const MEMBER_FIELDS: [&str; 5] = [
    "parameter_group_name",
    "subnet_group_name",
    "security_group_ids",
    "notification_topic_arn",
    "num_cache_clusters",
];
/// Never compared (see the type's documentation).
const NOT_COMPARED: [&str; 3] = ["engine_version", "snapshot_window", "maintenance_window"];
/// In flux while the group is not `available` (members being added or
/// removed, an endpoint not made yet): unknown until it is.
const IN_FLUX: [&str; 4] = ["num_cache_clusters", "num_node_groups", "replicas_per_node_group", "port"];

/// The replication group `id`, or every one (`None`, pages of 100); a
/// missing one is an empty answer.
async fn describe(cx: &Ctx, id: Option<String>) -> Result<Vec<Group>, ProviderError> {
    let listed = cx
        .paged(|marker| {
            let call = cx
                .elasticache()
                .describe_replication_groups()
                .set_replication_group_id(id.clone())
                .max_records(PAGE)
                .set_marker(marker);
            async move {
                let out = cx
                    .send_in(Service::ElastiCache, "DescribeReplicationGroups", Operation::Read, || {
                        call.clone().send()
                    })
                    .await?;
                Ok((out.replication_groups.unwrap_or_default(), out.marker))
            }
        })
        .await;
    or_none(listed)
}

/// The cache clusters `ids` by ID: one call for one, every cluster (pages
/// of 100) for several (the API takes one ID or none).
async fn clusters(cx: &Ctx, ids: &[&str]) -> Result<HashMap<String, CacheCluster>, ProviderError> {
    let one = match ids {
        [] => return Ok(HashMap::new()),
        [id] => Some((*id).to_owned()),
        _ => None,
    };
    let listed = cx
        .paged(|marker| {
            let call = cx
                .elasticache()
                .describe_cache_clusters()
                .set_cache_cluster_id(one.clone())
                .max_records(PAGE)
                .set_marker(marker);
            async move {
                let out = cx
                    .send_in(Service::ElastiCache, "DescribeCacheClusters", Operation::Read, || {
                        call.clone().send()
                    })
                    .await?;
                Ok((out.cache_clusters.unwrap_or_default(), out.marker))
            }
        })
        .await;
    Ok(or_none(listed)?
        .into_iter()
        .filter_map(|c| Some((c.cache_cluster_id()?.to_owned(), c)))
        .filter(|(id, _)| ids.contains(&id.as_str()))
        .collect())
}

fn status_of(g: &Group) -> Status {
    match g.status().unwrap_or_default() {
        "available" => Status::Ready,
        "deleting" => Status::Deleting("deleting".into()),
        "create-failed" => {
            Status::Failed("the replication group could not be created (create-failed)".into())
        }
        "" => Status::Pending("no status yet".into()),
        s => Status::Pending(s.to_owned()),
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The group as the declaration would spell it; `member` is its first
/// member cluster when it could be described.
fn seen(
    g: &Group,
    member: Option<&CacheCluster>,
    tags: Tags,
) -> Result<Seen<ReplicationGroupKind>, ProviderError> {
    let id = g.replication_group_id().ok_or_else(|| missing("replication group ID"))?.to_owned();
    let sharded = g.cluster_enabled().unwrap_or(false);
    let shards = g.node_groups();
    let first = shards.first();
    let endpoint =
        if sharded { g.configuration_endpoint() } else { first.and_then(|n| n.primary_endpoint()) };
    let topic = member
        .and_then(CacheCluster::notification_configuration)
        .filter(|n| n.topic_status() != Some("inactive"))
        .and_then(|n| n.topic_arn());
    let decl = ReplicationGroup {
        replication_group_id: id.clone(),
        description: g.description().unwrap_or_default().to_owned(),
        engine: g.engine().map(str::to_owned),
        engine_version: None,
        node_type: g.cache_node_type().unwrap_or_default().to_owned(),
        port: endpoint.and_then(|e| e.port()),
        parameter_group_name: member
            .and_then(CacheCluster::cache_parameter_group)
            .and_then(|p| p.cache_parameter_group_name())
            .map(|p| Input::Value(CacheParameterGroupName::unchecked(p))),
        // The primary and its replicas are the member clusters (the
        // emulator makes one member whatever the number asked for).
        num_cache_clusters: (!sharded).then(|| count(g.member_clusters().len())),
        num_node_groups: sharded.then(|| count(shards.len())),
        replicas_per_node_group: sharded
            .then(|| first.map_or(0, |s| count(s.node_group_members().len().saturating_sub(1)))),
        subnet_group_name: member
            .and_then(CacheCluster::cache_subnet_group_name)
            .map(|s| Input::Value(CacheSubnetGroupName::unchecked(s))),
        security_group_ids: member
            .map(|m| {
                m.security_groups()
                    .iter()
                    .filter(|s| s.status() != Some("revoking"))
                    .filter_map(|s| s.security_group_id())
                    .map(|s| Input::Value(SecurityGroupId::unchecked(s)))
                    .collect()
            })
            .unwrap_or_default(),
        snapshot_retention_limit: g.snapshot_retention_limit(),
        snapshot_window: None,
        maintenance_window: None,
        at_rest_encryption_enabled: g.at_rest_encryption_enabled().unwrap_or(false),
        kms_key_id: g.kms_key_id().map(|k| Input::Value(KmsKeyArn::unchecked(k))),
        transit_encryption_enabled: g.transit_encryption_enabled().unwrap_or(false),
        auth_token: None,
        automatic_failover_enabled: matches!(
            g.automatic_failover(),
            Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling)
        ),
        multi_az_enabled: g.multi_az() == Some(&MultiAzStatus::Enabled),
        notification_topic_arn: topic.map(|t| Input::Value(TopicArn::unchecked(t))),
        apply_immediately: None,
        on_delete: None,
        tags: user_tags(&tags),
    };
    let dns = |e: Option<&aws_sdk_elasticache::types::Endpoint>| {
        DnsName::unchecked(e.and_then(|e| e.address()).unwrap_or_default())
    };
    let out = ReplicationGroupOut {
        arn: Arn::unchecked(g.arn().unwrap_or_default()),
        primary_endpoint_address: dns(first.and_then(|n| n.primary_endpoint()).filter(|_| !sharded)),
        reader_endpoint_address: dns(first.and_then(|n| n.reader_endpoint()).filter(|_| !sharded)),
        configuration_endpoint_address: dns(g.configuration_endpoint().filter(|_| sharded)),
        // 0 until the endpoint exists.
        port: i64::from(endpoint.and_then(|e| e.port()).unwrap_or(0)),
        member_clusters: g.member_clusters().to_vec(),
        engine_version_actual: member.and_then(CacheCluster::engine_version).unwrap_or_default().to_owned(),
    };
    Ok(Seen { id, decl, out, tags, status: status_of(g) })
}

/// Waits until the group is `available` (between the calls of one
/// update: AWS refuses a modification while another runs).
async fn until_available(cx: &Ctx, id: &str) -> Result<(), ProviderError> {
    let began = tokio::time::Instant::now();
    loop {
        let found = describe(cx, Some(id.to_owned())).await?;
        let Some(g) = found.first() else {
            return Err(ProviderError::new(ErrorKind::NotFound, format!("{id} is gone")));
        };
        match status_of(g) {
            Status::Ready => return Ok(()),
            Status::Pending(_) if began.elapsed() < STEP_TIMEOUT => tokio::time::sleep(POLL).await,
            Status::Pending(s) | Status::Deleting(s) | Status::Failed(s) => {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!("{id} is {s}; it must be available for the next change"),
                )
                .with_code("InvalidReplicationGroupState"));
            }
            Status::Gone => return Err(ProviderError::new(ErrorKind::NotFound, format!("{id} is gone"))),
        }
    }
}

/// AWS's own parameter group for the declared engine and version
/// (`default.redis7`, `default.valkey8.cluster.on`): where a group whose
/// `parameter_group_name` is unset again goes back to.
fn default_parameter_group(d: &ReplicationGroup) -> Result<String, ProviderError> {
    let engine = d.engine.as_deref().unwrap_or("redis");
    let major: Option<u32> = d.engine_version.as_deref().and_then(|v| v.split('.').next()?.parse().ok());
    let family = match (engine, major) {
        ("valkey", Some(m)) => format!("valkey{m}"),
        ("redis", Some(m)) if m >= 7 => "redis7".to_owned(),
        ("redis", Some(6)) => "redis6.x".to_owned(),
        ("redis", Some(5)) => "redis5.0".to_owned(),
        ("redis", Some(4)) => "redis4.0".to_owned(),
        ("redis", Some(3)) => "redis3.2".to_owned(),
        _ => {
            return Err(invalid(
                "parameter_group_name",
                "going back to AWS's default parameter group needs the engine version: declare \
                 engine_version, or name the group (default.redis7, …)",
            ));
        }
    };
    let sharded = if d.num_node_groups.is_some() { ".cluster.on" } else { "" };
    Ok(format!("default.{family}{sharded}"))
}

/// The `ModifyReplicationGroup` call for the changed fields, if any.
async fn modification(
    cx: &Ctx,
    id: &str,
    c: &Change<'_, ReplicationGroup>,
) -> Result<Option<ModifyReplicationGroupFluentBuilder>, ProviderError> {
    let (b, a) = (c.before, c.after);
    let changed = |f: &str| c.fields.iter().any(|x| x == f);
    let mut call = cx
        .elasticache()
        .modify_replication_group()
        .replication_group_id(id)
        .apply_immediately(a.apply_immediately.unwrap_or(true));
    let mut any = false;
    let mut set = |f: bool| any |= f;
    if changed("description") {
        call = call.replication_group_description(&a.description);
        set(true);
    }
    if changed("engine") {
        call = call.engine(a.engine.as_deref().unwrap_or("redis"));
        set(true);
    }
    if (changed("engine") || changed("engine_version"))
        && let Some(v) = &a.engine_version
    {
        call = call.engine_version(v);
        set(true);
    }
    if changed("node_type") {
        call = call.cache_node_type(&a.node_type);
        set(true);
    }
    if changed("parameter_group_name") {
        let name = match &a.parameter_group_name {
            Some(p) => p.id().to_owned(),
            None => default_parameter_group(a)?,
        };
        call = call.cache_parameter_group_name(name);
        set(true);
    }
    if changed("security_group_ids") {
        call = call
            .set_security_group_ids(Some(a.security_group_ids.iter().map(|s| s.id().to_owned()).collect()));
        set(true);
    }
    if changed("snapshot_retention_limit") {
        call = call.snapshot_retention_limit(a.snapshot_retention_limit.unwrap_or(0));
        set(true);
    }
    // An unset window leaves AWS's as it is.
    if changed("snapshot_window")
        && let Some(w) = &a.snapshot_window
    {
        call = call.snapshot_window(w);
        set(true);
    }
    if changed("maintenance_window")
        && let Some(w) = &a.maintenance_window
    {
        call = call.preferred_maintenance_window(w);
        set(true);
    }
    if changed("automatic_failover_enabled") {
        call = call.automatic_failover_enabled(a.automatic_failover_enabled);
        set(true);
    }
    if changed("multi_az_enabled") {
        call = call.multi_az_enabled(a.multi_az_enabled);
        set(true);
    }
    if changed("notification_topic_arn") {
        match (&a.notification_topic_arn, &b.notification_topic_arn) {
            (Some(t), _) => call = call.notification_topic_arn(t.id()).notification_topic_status("active"),
            (None, Some(old)) => {
                call = call.notification_topic_arn(old.id()).notification_topic_status("inactive")
            }
            (None, None) => {}
        }
        set(true);
    }
    if changed("auth_token")
        && let Some(source) = &a.auth_token
    {
        let token = reveal(cx, source).await?;
        check_auth_token(&token).map_err(|e| invalid("auth_token", e))?;
        call = call.auth_token(token).auth_token_update_strategy(AuthTokenUpdateStrategyType::Rotate);
        set(true);
    }
    Ok(any.then_some(call))
}

/// The replicas of the group (cluster mode off: the clusters but the
/// primary; on: each shard's).
fn replicas(d: &ReplicationGroup) -> i32 {
    match d.num_node_groups {
        Some(_) => d.replicas_per_node_group.unwrap_or(0),
        None => d.num_cache_clusters.unwrap_or(1) - 1,
    }
}

async fn set_replicas(cx: &Ctx, id: &str, new: i32, grow: bool) -> Result<(), ProviderError> {
    let ec = cx.elasticache();
    if grow {
        let call = ec
            .increase_replica_count()
            .replication_group_id(id)
            .new_replica_count(new)
            .apply_immediately(true);
        settle(|| {
            cx.send_in(Service::ElastiCache, "IncreaseReplicaCount", Operation::Update, || {
                call.clone().send()
            })
        })
        .await
        .map(drop)
    } else {
        let call = ec
            .decrease_replica_count()
            .replication_group_id(id)
            .new_replica_count(new)
            .apply_immediately(true);
        settle(|| {
            cx.send_in(Service::ElastiCache, "DecreaseReplicaCount", Operation::Update, || {
                call.clone().send()
            })
        })
        .await
        .map(drop)
    }
}

/// Reshards to `count` shards; shrinking removes the highest-numbered.
async fn set_shards(cx: &Ctx, id: &str, count: i32, grow: bool) -> Result<(), ProviderError> {
    let mut call = cx
        .elasticache()
        .modify_replication_group_shard_configuration()
        .replication_group_id(id)
        .node_group_count(count)
        .apply_immediately(true);
    if !grow {
        let found = describe(cx, Some(id.to_owned())).await?;
        let mut shards: Vec<String> = found
            .first()
            .map(|g| g.node_groups().iter().filter_map(|n| n.node_group_id().map(str::to_owned)).collect())
            .unwrap_or_default();
        shards.sort();
        let keep = usize::try_from(count).unwrap_or(0);
        call = call.set_node_groups_to_remove(Some(shards.split_off(keep.min(shards.len()))));
    }
    let name = "ModifyReplicationGroupShardConfiguration";
    settle(|| cx.send_in(Service::ElastiCache, name, Operation::Update, || call.clone().send()))
        .await
        .map(drop)
}

/// The calls of one update, each after the previous one has finished.
struct Calls<'a> {
    cx: &'a Ctx,
    id: &'a str,
    made: bool,
}

impl Calls<'_> {
    async fn next(&mut self) -> Result<(), ProviderError> {
        if self.made {
            until_available(self.cx, self.id).await?;
        }
        self.made = true;
        Ok(())
    }
}

async fn arn_of(cx: &Ctx, id: &str) -> Result<String, ProviderError> {
    let found = describe(cx, Some(id.to_owned())).await?;
    found.first().and_then(|g| g.arn()).map(str::to_owned).ok_or_else(|| missing("replication group"))
}

#[async_trait]
impl Kind for ReplicationGroupKind {
    type Decl = ReplicationGroup;
    type Out = ReplicationGroupOut;
    const SERVICE: Service = Service::ElastiCache;
    // Typically 10 minutes to create, 5 to modify or delete; one timeout
    // for all three (Terraform's create timeout, its longest).
    const TIMINGS: Timings = Timings::secs(600, 300, 300, 15, 3600);
    const DELETE_WAITS: bool = true;
    const WRITE_ONLY: &'static [&'static str] = &["auth_token", "apply_immediately", "on_delete"];

    fn unread(seen: &Seen<Self>) -> Vec<&'static str> {
        let mut out = NOT_COMPARED.to_vec();
        if seen.out.engine_version_actual.is_empty() {
            out.extend(MEMBER_FIELDS);
        }
        if seen.status != Status::Ready || seen.out.port == 0 {
            out.extend(IN_FLUX);
        }
        out
    }

    async fn list(
        &self,
        cx: &Ctx,
        by: Lookup<'_, ReplicationGroup>,
    ) -> Result<Vec<Seen<Self>>, ProviderError> {
        let groups = named(
            by,
            |d| &d.replication_group_id,
            |g: &Group| g.replication_group_id(),
            |id| describe(cx, id),
        )
        .await?;
        let going = |g: &Group| matches!(status_of(g), Status::Deleting(_));
        let firsts: Vec<&str> = groups
            .iter()
            .filter(|g| !going(g))
            .filter_map(|g| g.member_clusters().first().map(String::as_str))
            .collect();
        let members = clusters(cx, &firsts).await?;
        // Tags: one call per group (no batched form); none for a group
        // being deleted.
        let tags = futures_util::future::join_all(groups.iter().map(|g| async move {
            if going(g) {
                return Ok(Some(Tags::new()));
            }
            match tags_of(cx, g.arn().unwrap_or_default()).await {
                Ok(t) => Ok(Some(t)),
                Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }))
        .await;
        let mut out = Vec::new();
        for (g, tags) in groups.iter().zip(tags) {
            let Some(tags) = tags? else { continue };
            let member = g.member_clusters().first().and_then(|m| members.get(m));
            out.push(seen(g, member, tags)?);
        }
        Ok(out)
    }

    async fn create(
        &self,
        cx: &Ctx,
        d: &ReplicationGroup,
        tags: &Tags,
        _: &str,
    ) -> Result<String, ProviderError> {
        let token = match &d.auth_token {
            Some(source) => {
                let t = reveal(cx, source).await?;
                check_auth_token(&t).map_err(|e| invalid("auth_token", e))?;
                Some(t)
            }
            None => None,
        };
        let ids = |v: &[Input<SecurityGroupId>]| {
            (!v.is_empty()).then(|| v.iter().map(|s| s.id().to_owned()).collect::<Vec<_>>())
        };
        let call = cx
            .elasticache()
            .create_replication_group()
            .replication_group_id(&d.replication_group_id)
            .replication_group_description(&d.description)
            .set_engine(d.engine.clone())
            .set_engine_version(d.engine_version.clone())
            .cache_node_type(&d.node_type)
            .set_port(d.port)
            .set_cache_parameter_group_name(d.parameter_group_name.as_ref().map(|p| p.id().to_owned()))
            .set_num_cache_clusters(d.num_cache_clusters)
            .set_num_node_groups(d.num_node_groups)
            .set_replicas_per_node_group(d.replicas_per_node_group)
            .set_cache_subnet_group_name(d.subnet_group_name.as_ref().map(|s| s.id().to_owned()))
            .set_security_group_ids(ids(&d.security_group_ids))
            .set_snapshot_retention_limit(d.snapshot_retention_limit)
            .set_snapshot_window(d.snapshot_window.clone())
            .set_preferred_maintenance_window(d.maintenance_window.clone())
            .at_rest_encryption_enabled(d.at_rest_encryption_enabled)
            .set_kms_key_id(d.kms_key_id.as_ref().map(|k| k.id().to_owned()))
            .transit_encryption_enabled(d.transit_encryption_enabled)
            .set_auth_token(token)
            .automatic_failover_enabled(d.automatic_failover_enabled)
            .multi_az_enabled(d.multi_az_enabled)
            .set_notification_topic_arn(d.notification_topic_arn.as_ref().map(|t| t.id().to_owned()))
            .set_tags(Some(ec_tags(tags)));
        cx.send_in(Service::ElastiCache, "CreateReplicationGroup", Operation::Create, || call.clone().send())
            .await?;
        Ok(d.replication_group_id.clone())
    }

    async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, ReplicationGroup>) -> Result<(), ProviderError> {
        let (b, a) = (c.before, c.after);
        let changed = |f: &str| c.fields.iter().any(|x| x == f);
        // Refused before any call.
        if b.num_node_groups.is_some() != a.num_node_groups.is_some() {
            return Err(invalid(
                "num_node_groups",
                "switching cluster mode on or off needs a new replication group: change replication_group_id",
            ));
        }
        if changed("auth_token") && a.auth_token.is_none() {
            return Err(invalid(
                "auth_token",
                "removing an auth token needs a user group (RBAC), which this type does not manage: \
                 replace the group (a new replication_group_id) instead",
            ));
        }
        let modify = modification(cx, id, &c).await?;
        let (rb, ra) = (replicas(b), replicas(a));
        let (sb, sa) = (b.num_node_groups.unwrap_or(1), a.num_node_groups.unwrap_or(1));
        let mut calls = Calls { cx, id, made: false };
        // Grow first and shrink last, so that a failover switched on meets
        // its replicas and one switched off is off before they go.
        if ra > rb {
            calls.next().await?;
            set_replicas(cx, id, ra, true).await?;
        }
        if sa > sb {
            calls.next().await?;
            set_shards(cx, id, sa, true).await?;
        }
        if let Some(call) = modify {
            calls.next().await?;
            settle(|| {
                cx.send_in(Service::ElastiCache, "ModifyReplicationGroup", Operation::Update, || {
                    call.clone().send()
                })
            })
            .await?;
        }
        if sa < sb {
            calls.next().await?;
            set_shards(cx, id, sa, false).await?;
        }
        if ra < rb {
            calls.next().await?;
            set_replicas(cx, id, ra, false).await?;
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
        retag(cx, &arn_of(cx, id).await?, remove, add).await
    }

    async fn delete(&self, cx: &Ctx, id: &str, d: &ReplicationGroup) -> Result<(), ProviderError> {
        let mut call = cx
            .elasticache()
            .delete_replication_group()
            .replication_group_id(id)
            .retain_primary_cluster(false);
        match &d.on_delete {
            Some(OnDelete::FinalSnapshot(name)) => call = call.final_snapshot_identifier(name),
            Some(OnDelete::DeleteData) => {}
            // The planner refuses this delete; never delete data silently.
            None => {
                return Err(invalid(
                    "on_delete",
                    "the group holds data and on_delete does not say what happens to it",
                ));
            }
        }
        match cx
            .send_in(Service::ElastiCache, "DeleteReplicationGroup", Operation::Delete, || {
                call.clone().send()
            })
            .await
        {
            Ok(_) => Ok(()),
            // Already being deleted (a delete run again after a timeout):
            // the wait goes on.
            Err(e) if e.code.as_deref() == Some("InvalidReplicationGroupState") => {
                match describe(cx, Some(id.to_owned())).await?.first().map(status_of) {
                    Some(Status::Deleting(_)) | None => Ok(()),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
