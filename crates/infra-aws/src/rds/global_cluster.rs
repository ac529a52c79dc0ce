use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, DbClusterArn, GlobalClusterId};
use crate::rds::{check_engine, check_identifier};

/// An Aurora global database (`aws_rds_global_cluster`): one primary
/// cluster that writes and secondary clusters in other regions that
/// replicate its volume.
///
/// The seed's shape: the primary [`super::AuroraCluster`] is made first,
/// the global cluster from it (`source_db_cluster_identifier:
/// primary.arn()`), then each secondary cluster in its own region joins
/// (`global_cluster_identifier: global.id()`, no master user or database).
/// A secondary can join only once the primary has an instance: give it
/// `Options::depends_on` on one. Made from a source, the global cluster
/// takes the source's engine, version, database and encryption (leave
/// them unset); a global cluster without a source names its `engine`.
///
/// The identifier, the source, the engine, the database name and the
/// encryption replace it (AWS cannot change them). Deletion protection
/// and a major `engine_version` change in place (`ModifyGlobalCluster`,
/// with `AllowMajorVersionUpgrade`); a minor version is changed on each
/// member cluster. The version is read as declared (AWS picks it when
/// unset); the source reads as the writer member.
///
/// Delete removes the source cluster from it (`RemoveFromGlobalCluster`)
/// and deletes it (`DeleteGlobalCluster`), waiting until it is gone. Any
/// other member left is refused, named: delete the secondaries first (a
/// stack's secondaries, which depend on it, already are).
///
/// Outputs: `id` (`GlobalClusterId`, a secondary's
/// `global_cluster_identifier`), `arn`, `global_cluster_resource_id`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ids::DbClusterArn;
/// use infra::aws::rds::GlobalCluster;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let primary = DbClusterArn::new("arn:aws:rds:us-east-1:123456789012:cluster:product-db-primary").unwrap();
/// let global = stack.add("product-global", GlobalCluster {
///     global_cluster_identifier: "product-db".into(),
///     source_db_cluster_identifier: Some(primary.into()),
///     deletion_protection: Some(true),
///     ..Default::default()
/// });
/// let _id: Output<infra::aws::ids::GlobalClusterId> = global.id();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:rds:GlobalCluster",
    outputs(arn: Arn, id: GlobalClusterId, global_cluster_resource_id: String),
    validate = validate_global,
    validate_type = crate::rules::unique,
    normalise = inherited_unset
)]
pub struct GlobalCluster {
    /// 1 to 63 lowercase letters, digits and hyphens, a letter first;
    /// unique in the account.
    #[resource(force_new)]
    pub global_cluster_identifier: String,
    /// The primary cluster it is made from (`primary.arn()`).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_db_cluster_identifier: Option<Input<DbClusterArn>>,
    /// Without a source: `aurora-postgresql` or `aurora-mysql`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Without a source: the version; a change of major version upgrades
    /// every member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_encrypted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_global(g: &GlobalCluster, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    check_identifier(ctx, "global_cluster_identifier", &g.global_cluster_identifier, 63);
    match (&g.source_db_cluster_identifier, &g.engine) {
        (Some(_), _) => {
            let inherited = [
                ("engine", g.engine.is_some()),
                ("engine_version", g.engine_version.is_some()),
                ("database_name", g.database_name.is_some()),
                ("storage_encrypted", g.storage_encrypted.is_some()),
            ];
            for (field, _) in inherited.iter().filter(|(_, set)| *set) {
                ctx.error(
                    field,
                    "comes from the source cluster (source_db_cluster_identifier): leave it unset",
                );
            }
        }
        (None, None) => ctx.error("engine", "a global cluster without a source cluster names its engine"),
        (None, Some(e)) => check_engine(ctx, "engine", e),
    }
}

/// What comes from the source recorded as unset, and AWS's defaults.
fn inherited_unset(g: &mut GlobalCluster) {
    if g.source_db_cluster_identifier.is_some() {
        g.engine = None;
        g.engine_version = None;
        g.database_name = None;
        g.storage_encrypted = None;
    }
    if g.storage_encrypted == Some(false) {
        g.storage_encrypted = None;
    }
    if g.deletion_protection == Some(false) {
        g.deletion_protection = None;
    }
}

#[cfg(feature = "rds")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_rds::types::GlobalCluster as Global;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{GlobalCluster, GlobalClusterOut};
    use crate::ids::{Arn, DbClusterArn, GlobalClusterId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::rds::major;
    use crate::rds::sdk::{
        global_clusters, id_of, leave_global, protected, rds_tags, retag_found, send, status, tag_map, taken,
        writer,
    };

    /// `aws:rds:GlobalCluster`.
    #[derive(Debug)]
    pub(crate) struct GlobalClusterKind;

    fn seen(g: &Global) -> Result<Seen<GlobalClusterKind>, ProviderError> {
        let id =
            g.global_cluster_identifier().ok_or_else(|| missing("global cluster identifier"))?.to_owned();
        let tags = tag_map(g.tag_list());
        let decl = GlobalCluster {
            global_cluster_identifier: id.clone(),
            source_db_cluster_identifier: writer(g).map(|a| Input::Value(DbClusterArn::unchecked(a))),
            engine: g.engine().map(str::to_owned),
            engine_version: None,
            database_name: g.database_name().map(str::to_owned),
            storage_encrypted: g.storage_encrypted(),
            deletion_protection: g.deletion_protection(),
            tags: user_tags(&tags),
        };
        let out = GlobalClusterOut {
            arn: Arn::unchecked(g.global_cluster_arn().unwrap_or_default()),
            id: GlobalClusterId::unchecked(&id),
            global_cluster_resource_id: g.global_cluster_resource_id().unwrap_or_default().to_owned(),
        };
        Ok(Seen { id, decl, out, tags, status: status(g.status()) })
    }

    async fn one(cx: &Ctx, id: &str) -> Result<Option<Global>, ProviderError> {
        Ok(global_clusters(cx, Some(id))
            .await?
            .into_iter()
            .find(|g| g.global_cluster_identifier() == Some(id)))
    }

    #[async_trait]
    impl Kind for GlobalClusterKind {
        type Decl = GlobalCluster;
        type Out = GlobalClusterOut;
        const SERVICE: Service = Service::Rds;
        const TIMINGS: Timings = Timings::secs(300, 900, 300, 15, 7200);
        const DELETE_WAITS: bool = true;
        const WRITE_ONLY: &'static [&'static str] = &["engine_version"];

        /// One call for one identifier, else one listing of the account's
        /// global clusters.
        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, GlobalCluster>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let found = match by {
                Lookup::Ids([one]) | Lookup::Key(GlobalCluster { global_cluster_identifier: one, .. }) => {
                    global_clusters(cx, Some(one)).await?
                }
                Lookup::Ids([]) | Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Ids(ids) => {
                    let mut all = global_clusters(cx, None).await?;
                    all.retain(|g| g.global_cluster_identifier().is_some_and(|i| ids.iter().any(|x| x == i)));
                    all
                }
            };
            found.iter().map(seen).collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &GlobalCluster,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            if one(cx, &d.global_cluster_identifier).await?.is_some() {
                return Err(taken("global cluster", &d.global_cluster_identifier));
            }
            let call = cx
                .rds()
                .create_global_cluster()
                .global_cluster_identifier(&d.global_cluster_identifier)
                .set_source_db_cluster_identifier(id_of(&d.source_db_cluster_identifier))
                .set_engine(d.engine.clone())
                .set_engine_version(d.engine_version.clone())
                .set_database_name(d.database_name.clone())
                .set_storage_encrypted(d.storage_encrypted)
                .set_deletion_protection(d.deletion_protection)
                .set_tags(Some(rds_tags(tags)));
            send(cx, "CreateGlobalCluster", Operation::Create, || call.clone().send()).await?;
            Ok(d.global_cluster_identifier.clone())
        }

        /// Deletion protection, and a major version upgrade of every member.
        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, GlobalCluster>,
        ) -> Result<(), ProviderError> {
            let d = c.after;
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            let mut call = cx.rds().modify_global_cluster().global_cluster_identifier(id);
            let mut any = false;
            if changed("deletion_protection") {
                call = call.deletion_protection(d.deletion_protection.unwrap_or(false));
                any = true;
            }
            if changed("engine_version")
                && let Some(v) = &d.engine_version
            {
                let g = one(cx, id).await?.ok_or_else(|| missing("global cluster"))?;
                let running = g.engine_version().unwrap_or_default();
                if running != v && !running.starts_with(&format!("{v}.")) {
                    if major(g.engine().unwrap_or_default(), running)
                        == major(g.engine().unwrap_or_default(), v)
                    {
                        return Err(ProviderError::new(
                            ErrorKind::Final,
                            format!("engine_version: {running} to {v} is a minor version change: change each member cluster's engine_version"),
                        )
                        .with_code("InvalidInput"));
                    }
                    call = call.engine_version(v).allow_major_version_upgrade(true);
                    any = true;
                }
            }
            if !any {
                return Ok(());
            }
            send(cx, "ModifyGlobalCluster", Operation::Update, || call.clone().send()).await.map(drop)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let arn = one(cx, id).await?.and_then(|g| g.global_cluster_arn);
            retag_found(cx, arn.as_deref(), "global cluster", remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &GlobalCluster) -> Result<(), ProviderError> {
            let Some(g) = one(cx, id).await? else { return Ok(()) };
            if g.deletion_protection() == Some(true) {
                return Err(protected(id));
            }
            let source = id_of(&d.source_db_cluster_identifier);
            let members: Vec<&str> =
                g.global_cluster_members().iter().filter_map(|m| m.db_cluster_arn()).collect();
            let others: Vec<&str> =
                members.iter().copied().filter(|m| Some(*m) != source.as_deref()).collect();
            if !others.is_empty() {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!(
                        "{id} still has member clusters {}: delete them, or remove them from it, first",
                        others.join(", ")
                    ),
                )
                .with_code("GlobalClusterNotEmpty"));
            }
            if let Some(source) = source.filter(|s| members.contains(&s.as_str())) {
                leave_global(cx, id, &source, Operation::Delete).await?;
            }
            let call = cx.rds().delete_global_cluster().global_cluster_identifier(id);
            send(cx, "DeleteGlobalCluster", Operation::Delete, || call.clone().send()).await.map(drop)
        }
    }
}
