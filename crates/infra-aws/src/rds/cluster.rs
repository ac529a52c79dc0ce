use std::collections::BTreeMap;

use infra_core::{Input, OnDelete, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{
    DbClusterArn, DbClusterIdentifier, DbClusterParameterGroupName, DbSubnetGroupName, DnsName,
    GlobalClusterId, HostedZoneId, KmsKeyArn, SecurityGroupId,
};
use crate::rds::{check_engine, check_identifier, daily_window, default_port, overlap, weekly_window};
use crate::secretsmanager::SecretSource;

/// An Aurora DB cluster (`aws_rds_cluster`): the cluster volume, its
/// writer and reader endpoints, backups and master user. Its instances are
/// [`super::ClusterInstance`]s.
///
/// **Identity and replacement.** The ID is `cluster_identifier` (AWS
/// stores it lowercased). These replace the cluster, each for AWS's
/// reason: the identifier (a new name is a new cluster), `engine` and
/// `engine_mode` (no conversion in place), `database_name` and
/// `master_username` (made once, with the volume), `storage_encrypted`
/// and `kms_key_id` (a volume's encryption is fixed: a snapshot restore
/// makes a new one), `db_subnet_group_name` (a cluster does not move to
/// other subnets in place), and `global_cluster_identifier` (an existing
/// cluster cannot join a global cluster, and leaving one promotes it to a
/// standalone writer). Replacing or deleting it needs `on_delete` decided
/// (the planner refuses otherwise).
///
/// **In place** (`ModifyDBCluster`): `engine_version` (a major version
/// change sends `AllowMajorVersionUpgrade`), the master password or
/// switching to an AWS-managed one, backup retention and windows, security
/// groups, the cluster parameter group, port, deletion protection, IAM
/// authentication, log exports, copying tags to snapshots; with
/// `apply_immediately` (default false, as AWS) or in the next maintenance
/// window. Changing only `on_delete` or `apply_immediately` makes no call.
///
/// **Master user.** `master_username` with `master_password`
/// ([`SecretSource`]: a given value or a secret's, e.g. a
/// [`crate::secretsmanager::GeneratedPassword`]'s, read just before the
/// call and never stored), or with `manage_master_user_password` (AWS
/// keeps it in Secrets Manager: output `master_user_secret_arn`). A
/// secondary cluster of a [`super::GlobalCluster`] sets
/// `global_cluster_identifier` and no master user or database: it has the
/// primary's.
///
/// **Read back.** `engine_version` and the two windows are what the
/// declaration asked for: AWS picks them when unset and upgrades minor
/// versions by itself, so a read reports them unknown (refresh keeps the
/// recorded value; the running version is output `engine_version_actual`).
/// Pending modifications read as their new values. Defaults are recorded
/// as unset (engine mode `provisioned`, backup retention 1, the engine's
/// port, the `default` subnet group, `default.*` parameter groups, false
/// flags).
///
/// **Delete** removes a secondary from its global cluster first
/// (`RemoveFromGlobalCluster`), then `DeleteDBCluster` with the final
/// snapshot `on_delete` names, or none for `OnDelete::DeleteData`, and
/// waits until the cluster is gone. A cluster with `deletion_protection`
/// is not deleted: turn it off first.
///
/// Outputs: `id` (`DbClusterIdentifier`, an instance's `cluster_identifier`),
/// `arn` (`DbClusterArn`, a global cluster's source), `endpoint`,
/// `reader_endpoint`, `port`, `cluster_resource_id`, `hosted_zone_id`,
/// `engine_version_actual`, `master_user_secret_arn` (empty unless AWS
/// manages the password).
///
/// # Example
///
/// The seed's primary: Aurora PostgreSQL, encrypted with its own key, 35
/// days of backups, the password generated into a secret.
///
/// ```
/// use infra::prelude::*;
/// use infra::core::OnDelete;
/// use infra::aws::ids::{DbSubnetGroupName, KmsKeyArn, SecurityGroupId};
/// use infra::aws::rds::AuroraCluster;
/// use infra::aws::secretsmanager::{GeneratedPassword, Secret, SecretSource};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let secret = stack.add("db-password", Secret { name: "prod/db/master".into(), ..Default::default() });
/// let password = stack.add("db-password-value", GeneratedPassword {
///     secret_id: secret.arn().into(),
///     length: 32,
///     exclude_characters: Some("/@\" ".into()),
///     ..Default::default()
/// });
/// let cluster = stack.add("product-primary", AuroraCluster {
///     cluster_identifier: "product-db-primary".into(),
///     engine: "aurora-postgresql".into(),
///     engine_mode: Some("provisioned".into()),
///     database_name: Some("products".into()),
///     master_username: Some("dbadmin".into()),
///     master_password: Some(SecretSource::Secret(password.secret_arn().into())),
///     storage_encrypted: Some(true),
///     kms_key_id: Some(KmsKeyArn::new("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab").unwrap().into()),
///     backup_retention_period: Some(35),
///     preferred_backup_window: Some("03:00-04:00".into()),
///     vpc_security_group_ids: vec![SecurityGroupId::new("sg-0123456789abcdef0").unwrap().into()],
///     db_subnet_group_name: Some(DbSubnetGroupName::new("product-data").unwrap().into()),
///     on_delete: Some(OnDelete::FinalSnapshot("product-db-primary-final".into())),
///     ..Default::default()
/// });
/// let _endpoint: Output<infra::aws::ids::DnsName> = cluster.endpoint();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:rds:Cluster",
    outputs(
        arn: DbClusterArn,
        id: DbClusterIdentifier,
        endpoint: DnsName,
        reader_endpoint: DnsName,
        port: i32,
        cluster_resource_id: String,
        hosted_zone_id: HostedZoneId,
        engine_version_actual: String,
        master_user_secret_arn: String
    ),
    keeps_data = "on_delete",
    validate = validate_cluster,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct AuroraCluster {
    /// 1 to 63 lowercase letters, digits and hyphens, a letter first.
    #[resource(force_new)]
    pub cluster_identifier: String,
    /// `aurora-postgresql` or `aurora-mysql`.
    #[resource(force_new)]
    pub engine: String,
    /// `provisioned` (the default, recorded as unset).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_mode: Option<String>,
    /// `15.4`, `8.0.mysql_aurora.3.05.2`; unset: AWS's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_username: Option<String>,
    /// 8 to 128 printable characters but `/`, `"`, `@` and space. Never
    /// read back.
    #[resource(secret, reference)]
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "crate::rds::recorded_secret")]
    pub master_password: Option<SecretSource>,
    /// AWS generates the password and keeps it in Secrets Manager.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_master_user_password: Option<bool>,
    /// The key of that secret; unset: `aws/secretsmanager`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_user_secret_kms_key_id: Option<Input<KmsKeyArn>>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_encrypted: Option<bool>,
    /// The key of an encrypted cluster (required with `storage_encrypted`).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<KmsKeyArn>>,
    /// Days of automated backups, 1 (the default) to 35.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_retention_period: Option<i32>,
    /// `hh24:mi-hh24:mi` UTC, at least 30 minutes; unset: AWS picks one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_backup_window: Option<String>,
    /// `ddd:hh24:mi-ddd:hh24:mi` UTC, not overlapping the backup window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_maintenance_window: Option<String>,
    /// At least one (AWS would otherwise use the VPC's default group).
    #[resource(set)]
    pub vpc_security_group_ids: Vec<Input<SecurityGroupId>>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_subnet_group_name: Option<Input<DbSubnetGroupName>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_cluster_parameter_group_name: Option<Input<DbClusterParameterGroupName>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_database_authentication_enabled: Option<bool>,
    /// `postgresql`; `audit`, `error`, `general`, `slowquery` (MySQL).
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enabled_cloudwatch_logs_exports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_tags_to_snapshot: Option<bool>,
    /// The global cluster this secondary cluster joins (`global.id()`).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_cluster_identifier: Option<Input<GlobalClusterId>>,
    /// Apply modifications now rather than in the maintenance window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_immediately: Option<bool>,
    /// What deleting the cluster does with its data (required to delete
    /// or replace it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// Fields AWS never reports, or reports as it chose (see the type).
#[cfg_attr(not(feature = "rds"), allow(dead_code))]
const WRITE_ONLY: &[&str] = &[
    "master_password",
    "master_user_secret_kms_key_id",
    "engine_version",
    "preferred_backup_window",
    "preferred_maintenance_window",
    "apply_immediately",
    "on_delete",
];

fn log_types(engine: &str) -> &'static [&'static str] {
    if engine == "aurora-mysql" {
        &["audit", "error", "general", "slowquery", "iam-db-auth-error", "instance"]
    } else {
        &["postgresql", "iam-db-auth-error", "instance"]
    }
}

fn validate_cluster(c: &AuroraCluster, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &c.tags);
    check_identifier(ctx, "cluster_identifier", &c.cluster_identifier, 63);
    check_engine(ctx, "engine", &c.engine);
    if let Some(m) = c.engine_mode.as_deref().filter(|m| *m != "provisioned") {
        ctx.error("engine_mode", format!("{m:?}: Aurora clusters here are provisioned (Serverless v2 is an instance class, db.serverless)"));
    }
    if let Some(v) = &c.engine_version
        && !(v.starts_with(|c: char| c.is_ascii_digit())
            && v.chars().all(|c| c.is_ascii_alphanumeric() || "._".contains(c)))
    {
        ctx.error(
            "engine_version",
            format!("{v:?} is not an engine version, e.g. 15.4 or 8.0.mysql_aurora.3.05.2"),
        );
    }
    if let Some(db) = &c.database_name {
        let ok = db.len() <= 63
            && db.starts_with(|c: char| c.is_ascii_alphabetic())
            && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            ctx.error(
                "database_name",
                format!("{db:?}: 1 to 63 letters, digits and underscores, a letter first"),
            );
        }
    }
    validate_master(c, ctx);
    match (c.storage_encrypted, &c.kms_key_id) {
        (Some(true), None) => ctx.error("kms_key_id", "an encrypted cluster names its key: AWS's own aws/rds key would read back as an ARN a plan cannot tell from another key"),
        (Some(false) | None, Some(_)) => ctx.error("kms_key_id", "a KMS key goes with storage_encrypted: Some(true)"),
        _ => {}
    }
    if let Some(days) = c.backup_retention_period
        && !(1..=35).contains(&days)
    {
        ctx.error("backup_retention_period", format!("{days} must be 1 to 35 days"));
    }
    let backup =
        c.preferred_backup_window.as_deref().and_then(|w| daily_window(ctx, "preferred_backup_window", w));
    let maintenance = c
        .preferred_maintenance_window
        .as_deref()
        .and_then(|w| weekly_window(ctx, "preferred_maintenance_window", w));
    if let (Some(b), Some(m)) = (backup, maintenance)
        && overlap(b, m)
    {
        ctx.error("preferred_maintenance_window", "overlaps the backup window: AWS requires them apart");
    }
    if c.vpc_security_group_ids.is_empty() {
        ctx.error("vpc_security_group_ids", "name at least one security group: AWS would otherwise put the cluster in the VPC's default group");
    }
    if let Some(p) = c.port
        && !(1150..=65535).contains(&p)
    {
        ctx.error("port", format!("{p} must be 1150 to 65535"));
    }
    let allowed = log_types(&c.engine);
    for (i, t) in c.enabled_cloudwatch_logs_exports.iter().enumerate() {
        if !allowed.contains(&t.as_str()) {
            ctx.error(
                &format!("enabled_cloudwatch_logs_exports[{i}]"),
                format!("{t:?}: {} exports {}", c.engine, allowed.join(", ")),
            );
        }
    }
    if let Some(OnDelete::FinalSnapshot(name)) = &c.on_delete {
        check_identifier(ctx, "on_delete", name, 255);
    }
}

/// A primary names its master user and how its password is kept; a
/// secondary (in a global cluster) has the primary's.
fn validate_master(c: &AuroraCluster, ctx: &mut ValidationContext<'_>) {
    let managed = c.manage_master_user_password == Some(true);
    if c.global_cluster_identifier.is_some() {
        let set = [
            ("master_username", c.master_username.is_some()),
            ("master_password", c.master_password.is_some()),
            ("manage_master_user_password", managed),
            ("database_name", c.database_name.is_some()),
        ];
        for (field, _) in set.iter().filter(|(_, on)| *on) {
            ctx.error(field, "a secondary cluster (global_cluster_identifier) has the primary's master user and database: leave it unset");
        }
    } else {
        match &c.master_username {
            None => ctx.error(
                "master_username",
                "required (unless the cluster joins a global cluster as a secondary)",
            ),
            Some(u) => {
                let max = if c.engine == "aurora-mysql" { 16 } else { 63 };
                let ok = u.len() <= max
                    && u.starts_with(|c: char| c.is_ascii_alphabetic())
                    && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    ctx.error(
                        "master_username",
                        format!("{u:?}: 1 to {max} letters, digits and underscores, a letter first"),
                    );
                }
                if u.eq_ignore_ascii_case("rdsadmin") {
                    ctx.error("master_username", "`rdsadmin` is reserved by RDS");
                }
            }
        }
        match (&c.master_password, managed) {
            (None, false) => {
                ctx.error("master_password", "give the master password, or set manage_master_user_password")
            }
            (Some(_), true) => ctx.error(
                "manage_master_user_password",
                "AWS manages the password or master_password gives it, not both",
            ),
            _ => {}
        }
    }
    if let Some(SecretSource::Value(v)) = &c.master_password {
        let n = v.0.chars().count();
        if !(8..=128).contains(&n) {
            ctx.error("master_password", format!("must be 8 to 128 characters; it has {n}"));
        }
        if v.0.chars().any(|c| "/\"@ ".contains(c) || !(c.is_ascii_graphic() || c == ' ')) {
            ctx.error("master_password", "printable ASCII characters only, and none of / \" @ or space");
        }
    }
    if c.master_user_secret_kms_key_id.is_some() && !managed {
        ctx.error("master_user_secret_kms_key_id", "goes with manage_master_user_password: Some(true)");
    }
}

/// AWS's defaults recorded as unset.
fn defaults_unset(c: &mut AuroraCluster) {
    let port = default_port(&c.engine);
    if c.engine_mode.as_deref() == Some("provisioned") {
        c.engine_mode = None;
    }
    if c.backup_retention_period == Some(1) {
        c.backup_retention_period = None;
    }
    if c.port == Some(port) {
        c.port = None;
    }
    for flag in [
        &mut c.storage_encrypted,
        &mut c.manage_master_user_password,
        &mut c.deletion_protection,
        &mut c.iam_database_authentication_enabled,
        &mut c.copy_tags_to_snapshot,
    ] {
        if *flag == Some(false) {
            *flag = None;
        }
    }
    if c.db_subnet_group_name.as_ref().and_then(Input::value).is_some_and(|g| g.to_string() == "default") {
        c.db_subnet_group_name = None;
    }
    if c.db_cluster_parameter_group_name
        .as_ref()
        .and_then(Input::value)
        .is_some_and(|g| g.to_string().starts_with("default."))
    {
        c.db_cluster_parameter_group_name = None;
    }
}

#[cfg(feature = "rds")]
pub(crate) mod imp {
    use std::collections::HashMap;

    use async_trait::async_trait;
    use aws_sdk_rds::types::{CloudwatchLogsExportConfiguration, DbCluster};
    use infra_core::{Input, OnDelete};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{AuroraCluster, AuroraClusterOut, WRITE_ONLY};
    use crate::ids::{
        DbClusterArn, DbClusterIdentifier, DbClusterParameterGroupName, DbSubnetGroupName, DnsName,
        GlobalClusterId, HostedZoneId, KmsKeyArn, SecurityGroupId,
    };
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::rds::sdk::{
        PER_FILTER, filter, global_clusters, global_id, id_of, invalid, leave_global, protected, rds_tags,
        retag_found, send, status, tag_map, taken, writer,
    };
    use crate::rds::{default_group, major};
    use crate::secretsmanager::reveal;

    /// `aws:rds:Cluster`.
    #[derive(Debug)]
    pub(crate) struct AuroraClusterKind;

    /// The clusters `ids`, 100 per filter.
    pub(crate) async fn describe(cx: &Ctx, ids: &[String]) -> Result<Vec<DbCluster>, ProviderError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(PER_FILTER) {
            let f = filter("db-cluster-id", chunk);
            let page = cx.paged(|next| {
                let call = cx.rds().describe_db_clusters().filters(f.clone()).set_marker(next);
                async move {
                    let out = send(cx, "DescribeDBClusters", Operation::Read, || call.clone().send()).await?;
                    Ok((out.db_clusters.unwrap_or_default(), out.marker))
                }
            });
            match page.await {
                Ok(clusters) => found.extend(clusters),
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// Each member cluster's global cluster and whether it is the writer,
    /// by cluster ARN: one DescribeGlobalClusters, only when one of
    /// `clusters` is in a global cluster.
    async fn memberships(
        cx: &Ctx,
        clusters: &[DbCluster],
    ) -> Result<HashMap<String, (String, bool)>, ProviderError> {
        if clusters.iter().all(|c| c.global_cluster_identifier().is_none_or(str::is_empty)) {
            return Ok(HashMap::new());
        }
        let mut out = HashMap::new();
        for g in global_clusters(cx, None).await? {
            let id = g.global_cluster_identifier().unwrap_or_default().to_owned();
            let w = writer(&g);
            for m in g.global_cluster_members().iter().filter_map(|m| m.db_cluster_arn()) {
                out.insert(m.to_owned(), (id.clone(), Some(m) == w));
            }
        }
        Ok(out)
    }

    fn seen(
        c: &DbCluster,
        member: Option<&(String, bool)>,
    ) -> Result<Seen<AuroraClusterKind>, ProviderError> {
        let id = c.db_cluster_identifier().ok_or_else(|| missing("cluster identifier"))?.to_owned();
        let engine = c.engine().unwrap_or_default().to_owned();
        let secondary = member.filter(|(_, writer)| !writer).map(|(g, _)| g.clone());
        let primary = secondary.is_none();
        let pending = c.pending_modified_values();
        let mut logs: Vec<String> = c.enabled_cloudwatch_logs_exports().to_vec();
        if let Some(p) = pending.and_then(|p| p.pending_cloudwatch_logs_exports()) {
            logs.retain(|l| !p.log_types_to_disable().contains(l));
            logs.extend(
                p.log_types_to_enable().iter().filter(|l| !logs.contains(l)).cloned().collect::<Vec<_>>(),
            );
        }
        let encrypted = c.storage_encrypted();
        let tags = tag_map(c.tag_list());
        let decl = AuroraCluster {
            cluster_identifier: id.clone(),
            engine: engine.clone(),
            engine_mode: c.engine_mode().map(str::to_owned),
            engine_version: None,
            database_name: c.database_name().filter(|_| primary).map(str::to_owned),
            master_username: c.master_username().filter(|_| primary).map(str::to_owned),
            master_password: None,
            manage_master_user_password: c.master_user_secret().map(|_| true),
            master_user_secret_kms_key_id: None,
            storage_encrypted: encrypted,
            kms_key_id: c
                .kms_key_id()
                .filter(|_| encrypted == Some(true))
                .map(|k| Input::Value(KmsKeyArn::unchecked(k))),
            backup_retention_period: pending
                .and_then(|p| p.backup_retention_period())
                .or(c.backup_retention_period()),
            preferred_backup_window: None,
            preferred_maintenance_window: None,
            vpc_security_group_ids: c
                .vpc_security_groups()
                .iter()
                .filter(|g| g.status() != Some("removing"))
                .filter_map(|g| g.vpc_security_group_id())
                .map(|g| Input::Value(SecurityGroupId::unchecked(g)))
                .collect(),
            db_subnet_group_name: c.db_subnet_group().map(|g| Input::Value(DbSubnetGroupName::unchecked(g))),
            db_cluster_parameter_group_name: c
                .db_cluster_parameter_group()
                .map(|g| Input::Value(DbClusterParameterGroupName::unchecked(g))),
            port: c.port(),
            deletion_protection: c.deletion_protection(),
            iam_database_authentication_enabled: pending
                .and_then(|p| p.iam_database_authentication_enabled())
                .or(c.iam_database_authentication_enabled()),
            enabled_cloudwatch_logs_exports: logs,
            copy_tags_to_snapshot: c.copy_tags_to_snapshot(),
            global_cluster_identifier: secondary.map(|g| Input::Value(GlobalClusterId::unchecked(g))),
            apply_immediately: None,
            on_delete: None,
            tags: user_tags(&tags),
        };
        let out = AuroraClusterOut {
            arn: DbClusterArn::unchecked(c.db_cluster_arn().unwrap_or_default()),
            id: DbClusterIdentifier::unchecked(&id),
            endpoint: DnsName::unchecked(c.endpoint().unwrap_or_default()),
            reader_endpoint: DnsName::unchecked(c.reader_endpoint().unwrap_or_default()),
            port: c.port().unwrap_or_else(|| crate::rds::default_port(&engine)),
            cluster_resource_id: c.db_cluster_resource_id().unwrap_or_default().to_owned(),
            hosted_zone_id: HostedZoneId::unchecked(c.hosted_zone_id().unwrap_or_default()),
            engine_version_actual: c.engine_version().unwrap_or_default().to_owned(),
            master_user_secret_arn: c
                .master_user_secret()
                .and_then(|s| s.secret_arn())
                .unwrap_or_default()
                .to_owned(),
        };
        Ok(Seen { id, decl, out, tags, status: status(c.status()) })
    }

    async fn one(cx: &Ctx, id: &str) -> Result<Option<DbCluster>, ProviderError> {
        Ok(describe(cx, &[id.to_owned()]).await?.into_iter().find(|c| c.db_cluster_identifier() == Some(id)))
    }

    #[async_trait]
    impl Kind for AuroraClusterKind {
        type Decl = AuroraCluster;
        type Out = AuroraClusterOut;
        const SERVICE: Service = Service::Rds;
        const TIMINGS: Timings = Timings::secs(900, 600, 600, 15, 7200);
        const DELETE_WAITS: bool = true;
        const WRITE_ONLY: &'static [&'static str] = WRITE_ONLY;

        /// DescribeDBClusters by `db-cluster-id` (100 per filter), and one
        /// DescribeGlobalClusters when a cluster is in a global cluster (to
        /// tell a secondary from the writer).
        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, AuroraCluster>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let clusters = match by {
                Lookup::Ids(ids) => describe(cx, ids).await?,
                Lookup::Key(d) => describe(cx, std::slice::from_ref(&d.cluster_identifier)).await?,
                Lookup::Tag(..) => return Ok(Vec::new()),
            };
            let members = memberships(cx, &clusters).await?;
            clusters.iter().map(|c| seen(c, c.db_cluster_arn().and_then(|a| members.get(a)))).collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &AuroraCluster,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            if one(cx, &d.cluster_identifier).await?.is_some() {
                return Err(taken("DB cluster", &d.cluster_identifier));
            }
            let password = match &d.master_password {
                Some(source) => Some(reveal(cx, source).await?),
                None => None,
            };
            let call = cx
                .rds()
                .create_db_cluster()
                .db_cluster_identifier(&d.cluster_identifier)
                .engine(&d.engine)
                .set_engine_mode(d.engine_mode.clone())
                .set_engine_version(d.engine_version.clone())
                .set_database_name(d.database_name.clone())
                .set_master_username(d.master_username.clone())
                .set_master_user_password(password)
                .set_manage_master_user_password(d.manage_master_user_password)
                .set_master_user_secret_kms_key_id(id_of(&d.master_user_secret_kms_key_id))
                .set_storage_encrypted(d.storage_encrypted)
                .set_kms_key_id(id_of(&d.kms_key_id))
                .set_backup_retention_period(d.backup_retention_period)
                .set_preferred_backup_window(d.preferred_backup_window.clone())
                .set_preferred_maintenance_window(d.preferred_maintenance_window.clone())
                .set_vpc_security_group_ids(Some(
                    d.vpc_security_group_ids.iter().map(|g| g.id().to_owned()).collect(),
                ))
                .set_db_subnet_group_name(id_of(&d.db_subnet_group_name))
                .set_db_cluster_parameter_group_name(id_of(&d.db_cluster_parameter_group_name))
                .set_port(d.port)
                .set_deletion_protection(d.deletion_protection)
                .set_enable_iam_database_authentication(d.iam_database_authentication_enabled)
                .set_enable_cloudwatch_logs_exports(
                    Some(d.enabled_cloudwatch_logs_exports.clone()).filter(|l| !l.is_empty()),
                )
                .set_copy_tags_to_snapshot(d.copy_tags_to_snapshot)
                .set_global_cluster_identifier(id_of(&d.global_cluster_identifier))
                .set_tags(Some(rds_tags(tags)));
            send(cx, "CreateDBCluster", Operation::Create, || call.clone().send()).await?;
            Ok(d.cluster_identifier.clone())
        }

        /// One ModifyDBCluster with every changed field.
        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, AuroraCluster>,
        ) -> Result<(), ProviderError> {
            let (before, d) = (c.before, c.after);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            let mut call = cx
                .rds()
                .modify_db_cluster()
                .db_cluster_identifier(id)
                .apply_immediately(d.apply_immediately.unwrap_or(false));
            let mut any = false;
            let needs_actual = changed("engine_version") || changed("db_cluster_parameter_group_name");
            let actual = if needs_actual { one(cx, id).await? } else { None };
            let running = actual.as_ref().and_then(|a| a.engine_version()).unwrap_or_default().to_owned();
            if changed("engine_version")
                && let Some(v) = &d.engine_version
                && running != *v
                && !running.starts_with(&format!("{v}."))
            {
                let upgrade = !running.is_empty() && major(&d.engine, &running) != major(&d.engine, v);
                call = call.engine_version(v).allow_major_version_upgrade(upgrade);
                any = true;
            }
            if changed("master_password")
                && let Some(source) = &d.master_password
            {
                call = call.master_user_password(reveal(cx, source).await?);
                any = true;
            }
            if changed("manage_master_user_password") || changed("master_user_secret_kms_key_id") {
                let managed = d.manage_master_user_password == Some(true);
                call = call.manage_master_user_password(managed).set_master_user_secret_kms_key_id(
                    id_of(&d.master_user_secret_kms_key_id).filter(|_| managed),
                );
                any = true;
            }
            if changed("backup_retention_period") {
                call = call.backup_retention_period(d.backup_retention_period.unwrap_or(1));
                any = true;
            }
            if changed("preferred_backup_window") && d.preferred_backup_window.is_some() {
                call = call.set_preferred_backup_window(d.preferred_backup_window.clone());
                any = true;
            }
            if changed("preferred_maintenance_window") && d.preferred_maintenance_window.is_some() {
                call = call.set_preferred_maintenance_window(d.preferred_maintenance_window.clone());
                any = true;
            }
            if changed("vpc_security_group_ids") {
                call = call.set_vpc_security_group_ids(Some(
                    d.vpc_security_group_ids.iter().map(|g| g.id().to_owned()).collect(),
                ));
                any = true;
            }
            if changed("db_cluster_parameter_group_name") {
                // Unset: back to the engine's default group.
                let group = id_of(&d.db_cluster_parameter_group_name)
                    .unwrap_or_else(|| default_group(&d.engine, &running));
                call = call.db_cluster_parameter_group_name(group);
                any = true;
            }
            if changed("port") {
                call = call.port(d.port.unwrap_or_else(|| crate::rds::default_port(&d.engine)));
                any = true;
            }
            if changed("deletion_protection") {
                call = call.deletion_protection(d.deletion_protection.unwrap_or(false));
                any = true;
            }
            if changed("iam_database_authentication_enabled") {
                call = call.enable_iam_database_authentication(
                    d.iam_database_authentication_enabled.unwrap_or(false),
                );
                any = true;
            }
            if changed("enabled_cloudwatch_logs_exports") {
                let (old, new) =
                    (&before.enabled_cloudwatch_logs_exports, &d.enabled_cloudwatch_logs_exports);
                let logs = CloudwatchLogsExportConfiguration::builder()
                    .set_enable_log_types(Some(new.iter().filter(|l| !old.contains(l)).cloned().collect()))
                    .set_disable_log_types(Some(old.iter().filter(|l| !new.contains(l)).cloned().collect()))
                    .build();
                call = call.cloudwatch_logs_export_configuration(logs);
                any = true;
            }
            if changed("copy_tags_to_snapshot") {
                call = call.copy_tags_to_snapshot(d.copy_tags_to_snapshot.unwrap_or(false));
                any = true;
            }
            if !any {
                return Ok(());
            }
            send(cx, "ModifyDBCluster", Operation::Update, || call.clone().send()).await.map(drop)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let arn = one(cx, id).await?.and_then(|c| c.db_cluster_arn);
            retag_found(cx, arn.as_deref(), "DB cluster", remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &AuroraCluster) -> Result<(), ProviderError> {
            let Some(c) = one(cx, id).await? else { return Ok(()) };
            if c.deletion_protection() == Some(true) {
                return Err(protected(id));
            }
            if let (Some(global), Some(arn)) =
                (c.global_cluster_identifier().filter(|g| !g.is_empty()), c.db_cluster_arn())
            {
                leave_global(cx, global_id(global), arn, Operation::Delete).await?;
            }
            let call = cx.rds().delete_db_cluster().db_cluster_identifier(id);
            let call = match &d.on_delete {
                Some(OnDelete::FinalSnapshot(name)) => {
                    call.skip_final_snapshot(false).final_db_snapshot_identifier(name)
                }
                Some(OnDelete::DeleteData) => call.skip_final_snapshot(true),
                None => {
                    return Err(invalid("on_delete", "undecided: say what happens to the cluster's data"));
                }
            };
            send(cx, "DeleteDBCluster", Operation::Delete, || call.clone().send()).await.map(drop)
        }
    }
}
