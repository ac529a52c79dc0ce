//! An Aurora PostgreSQL database (the seeds' `rds-aurora` module): a
//! cluster and its instances, as a primary that owns its data or as a
//! secondary that joins a global cluster in another region (the seed's
//! cross-region read replica).

use std::collections::BTreeMap;

use infra_core::{Address, Handle, Input, OnDelete, Options, Scope};

use crate::ids::{DbSubnetGroupName, GlobalClusterId, KmsKeyArn, SecurityGroupId};
use crate::rds::{AuroraCluster, ClusterInstance};
use crate::secretsmanager::SecretSource;

/// What the cluster is.
#[derive(Debug, Clone)]
pub enum AuroraRole {
    /// A primary with its own master user (the password from a
    /// [`SecretSource`]: a `GeneratedPassword`'s secret keeps it in AWS).
    Primary { database_name: String, master_username: String, master_password: SecretSource },
    /// A secondary that replicates the global cluster's primary; AWS
    /// accepts it once the primary has an instance (`after`: the primary's
    /// instances).
    Secondary { global_cluster: Input<GlobalClusterId>, after: Vec<Address> },
}

/// Inputs of [`aurora`].
#[derive(Debug, Clone)]
pub struct AuroraConfig {
    /// The cluster identifier; instances are `<name>-<n>`.
    pub name: String,
    pub role: AuroraRole,
    /// `15.4`.
    pub engine_version: String,
    pub instance_class: String,
    pub instances: u32,
    pub kms_key: Input<KmsKeyArn>,
    pub subnet_group: Input<DbSubnetGroupName>,
    pub security_groups: Vec<Input<SecurityGroupId>>,
    pub backup_retention_days: i32,
    pub backup_window: String,
    pub maintenance_window: String,
    pub deletion_protection: bool,
    /// What deleting the cluster does with the data (the plan refuses a
    /// delete without it).
    pub on_delete: Option<OnDelete>,
    /// `protect`: a plan that would delete or replace the cluster is refused.
    pub protect: bool,
    pub tags: BTreeMap<String, String>,
}

/// The handles an [`aurora`] exposes.
#[derive(Debug, Clone)]
pub struct Aurora {
    pub cluster: Handle<AuroraCluster>,
    pub instances: Vec<Handle<ClusterInstance>>,
}

/// Adds the database under `scope.<name>`: `cluster`, `instance-<n>`.
pub fn aurora(scope: &mut Scope<'_>, name: &str, cfg: &AuroraConfig) -> Aurora {
    let mut s = scope.scope(name);
    let mut options = if cfg.protect { Options::new().protect() } else { Options::new() };
    let (database_name, master_username, master_password, global) = match &cfg.role {
        AuroraRole::Primary { database_name, master_username, master_password } => {
            (Some(database_name.clone()), Some(master_username.clone()), Some(master_password.clone()), None)
        }
        AuroraRole::Secondary { global_cluster, after } => {
            for a in after {
                options = options.depends_on(a);
            }
            (None, None, None, Some(global_cluster.clone()))
        }
    };
    let cluster = s.add_with(
        "cluster",
        AuroraCluster {
            cluster_identifier: cfg.name.clone(),
            engine: "aurora-postgresql".into(),
            engine_mode: Some("provisioned".into()),
            engine_version: Some(cfg.engine_version.clone()),
            database_name,
            master_username,
            master_password,
            storage_encrypted: Some(true),
            kms_key_id: Some(cfg.kms_key.clone()),
            backup_retention_period: Some(cfg.backup_retention_days),
            preferred_backup_window: Some(cfg.backup_window.clone()),
            preferred_maintenance_window: Some(cfg.maintenance_window.clone()),
            vpc_security_group_ids: cfg.security_groups.clone(),
            db_subnet_group_name: Some(cfg.subnet_group.clone()),
            deletion_protection: Some(cfg.deletion_protection),
            copy_tags_to_snapshot: Some(true),
            global_cluster_identifier: global,
            on_delete: cfg.on_delete.clone(),
            tags: cfg.tags.clone(),
            ..Default::default()
        },
        options,
    );
    let instances = (0..cfg.instances)
        .map(|n| {
            s.add(
                &format!("instance-{n}"),
                ClusterInstance {
                    identifier: format!("{}-{n}", cfg.name),
                    cluster_identifier: cluster.id().into(),
                    instance_class: cfg.instance_class.clone(),
                    engine: "aurora-postgresql".into(),
                    promotion_tier: Some(n as i32),
                    tags: cfg.tags.clone(),
                    ..Default::default()
                },
            )
        })
        .collect();
    Aurora { cluster, instances }
}
