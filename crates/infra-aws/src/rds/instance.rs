use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, DbClusterIdentifier, DbInstanceId, DbParameterGroupName, DnsName, KmsKeyArn, RoleArn};
use crate::rds::{check_engine, check_identifier, check_instance_class};

/// An instance of an Aurora cluster (`aws_rds_cluster_instance`): the
/// compute that serves the cluster's volume. The first is the writer,
/// the others readers, promoted in `promotion_tier` order on failover.
///
/// Its ID is `identifier` (AWS stores it lowercased). The identifier, the
/// cluster and the engine replace it (an instance does not move between
/// clusters). The class, promotion tier, Performance Insights, Enhanced
/// Monitoring, public accessibility, parameter group, minor-version
/// upgrades and tags change in place (`ModifyDBInstance`), now with
/// `apply_immediately` or else in the maintenance window: a pending class
/// reads as the new class. An Aurora instance runs its cluster's engine
/// version (no version here) and holds no data of its own; delete waits
/// until it is gone.
///
/// Read back as declared: the Performance Insights key is reported
/// unknown (AWS picks `aws/rds` when unset); defaults are recorded as
/// unset (promotion tier 1, retention 7 days, monitoring 0, not public,
/// minor upgrades on, `default.*` parameter groups).
///
/// Outputs: `id`, `arn`, `endpoint`, `port`, `dbi_resource_id`.
///
/// # Example
///
/// The seed's two instances of the primary cluster.
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ids::DbClusterIdentifier;
/// use infra::aws::rds::ClusterInstance;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// for i in 0..2 {
///     stack.add(&format!("product-primary-{i}"), ClusterInstance {
///         identifier: format!("product-db-primary-{i}"),
///         cluster_identifier: DbClusterIdentifier::new("product-db-primary").unwrap().into(),
///         instance_class: "db.r6g.large".into(),
///         engine: "aurora-postgresql".into(),
///         performance_insights_enabled: Some(true),
///         ..Default::default()
///     });
/// }
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:rds:ClusterInstance",
    outputs(arn: Arn, id: DbInstanceId, endpoint: DnsName, port: i32, dbi_resource_id: String),
    validate = validate_instance,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct ClusterInstance {
    /// 1 to 63 lowercase letters, digits and hyphens, a letter first.
    #[resource(force_new)]
    pub identifier: String,
    /// The cluster (`cluster.id()`).
    #[resource(force_new)]
    pub cluster_identifier: Input<DbClusterIdentifier>,
    /// `db.r6g.large`, `db.serverless`.
    pub instance_class: String,
    /// The cluster's engine.
    #[resource(force_new)]
    pub engine: String,
    /// Failover order, 0 (first) to 15; AWS's default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion_tier: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_insights_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_insights_kms_key_id: Option<Input<KmsKeyArn>>,
    /// 7 (the default), 731, or a multiple of 31 up to 713 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_insights_retention_period: Option<i32>,
    /// Enhanced Monitoring every 1, 5, 10, 15, 30 or 60 s; 0 (the default)
    /// is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring_interval: Option<i32>,
    /// The role Enhanced Monitoring publishes with (with an interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring_role_arn: Option<Input<RoleArn>>,
    /// Default false (sent explicitly: AWS's own default depends on the
    /// subnets' routes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publicly_accessible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_parameter_group_name: Option<Input<DbParameterGroupName>>,
    /// Default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_minor_version_upgrade: Option<bool>,
    /// Apply modifications now rather than in the maintenance window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_immediately: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_instance(i: &ClusterInstance, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &i.tags);
    check_identifier(ctx, "identifier", &i.identifier, 63);
    check_instance_class(ctx, "instance_class", &i.instance_class);
    check_engine(ctx, "engine", &i.engine);
    if let Some(t) = i.promotion_tier
        && !(0..=15).contains(&t)
    {
        ctx.error("promotion_tier", format!("{t} must be 0 to 15"));
    }
    let insights = i.performance_insights_enabled == Some(true);
    if let Some(days) = i.performance_insights_retention_period {
        if !insights {
            ctx.error(
                "performance_insights_retention_period",
                "goes with performance_insights_enabled: Some(true)",
            );
        }
        if !(days == 7 || days == 731 || (days % 31 == 0 && (31..=713).contains(&days))) {
            ctx.error(
                "performance_insights_retention_period",
                format!("{days} must be 7, 731 or a multiple of 31 up to 713"),
            );
        }
    }
    if i.performance_insights_kms_key_id.is_some() && !insights {
        ctx.error("performance_insights_kms_key_id", "goes with performance_insights_enabled: Some(true)");
    }
    let interval = i.monitoring_interval.unwrap_or(0);
    if ![0, 1, 5, 10, 15, 30, 60].contains(&interval) {
        ctx.error("monitoring_interval", format!("{interval} must be 0, 1, 5, 10, 15, 30 or 60 seconds"));
    }
    match (interval > 0, i.monitoring_role_arn.is_some()) {
        (true, false) => {
            ctx.error("monitoring_role_arn", "Enhanced Monitoring needs the role it publishes with")
        }
        (false, true) => {
            ctx.error("monitoring_interval", "a monitoring role goes with an interval of 1 to 60 seconds")
        }
        _ => {}
    }
}

/// AWS's defaults recorded as unset.
fn defaults_unset(i: &mut ClusterInstance) {
    let unset = |v: &mut Option<i32>, default: i32| {
        if *v == Some(default) {
            *v = None;
        }
    };
    unset(&mut i.promotion_tier, 1);
    unset(&mut i.performance_insights_retention_period, 7);
    unset(&mut i.monitoring_interval, 0);
    if i.performance_insights_enabled == Some(false) {
        i.performance_insights_enabled = None;
    }
    if i.publicly_accessible == Some(false) {
        i.publicly_accessible = None;
    }
    if i.auto_minor_version_upgrade == Some(true) {
        i.auto_minor_version_upgrade = None;
    }
    if i.db_parameter_group_name
        .as_ref()
        .and_then(Input::value)
        .is_some_and(|g| g.to_string().starts_with("default."))
    {
        i.db_parameter_group_name = None;
    }
}

#[cfg(feature = "rds")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_rds::types::DbInstance;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{ClusterInstance, ClusterInstanceOut};
    use crate::ids::{Arn, DbClusterIdentifier, DbInstanceId, DbParameterGroupName, DnsName, RoleArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::rds::default_group;
    use crate::rds::sdk::{PER_FILTER, filter, id_of, rds_tags, retag_found, send, status, tag_map, taken};

    /// `aws:rds:ClusterInstance`.
    #[derive(Debug)]
    pub(crate) struct ClusterInstanceKind;

    /// The instances `ids`, 100 per filter.
    async fn describe(cx: &Ctx, ids: &[String]) -> Result<Vec<DbInstance>, ProviderError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(PER_FILTER) {
            let f = filter("db-instance-id", chunk);
            let page = cx.paged(|next| {
                let call = cx.rds().describe_db_instances().filters(f.clone()).set_marker(next);
                async move {
                    let out =
                        send(cx, "DescribeDBInstances", Operation::Read, || call.clone().send()).await?;
                    Ok((out.db_instances.unwrap_or_default(), out.marker))
                }
            });
            match page.await {
                Ok(instances) => found.extend(instances),
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    fn seen(i: &DbInstance) -> Result<Seen<ClusterInstanceKind>, ProviderError> {
        let id = i.db_instance_identifier().ok_or_else(|| missing("instance identifier"))?.to_owned();
        let tags = tag_map(i.tag_list());
        let pending_class = i.pending_modified_values().and_then(|p| p.db_instance_class());
        let decl = ClusterInstance {
            identifier: id.clone(),
            cluster_identifier: Input::Value(DbClusterIdentifier::unchecked(
                i.db_cluster_identifier().unwrap_or_default(),
            )),
            instance_class: pending_class.or(i.db_instance_class()).unwrap_or_default().to_owned(),
            engine: i.engine().unwrap_or_default().to_owned(),
            promotion_tier: i.promotion_tier(),
            performance_insights_enabled: i.performance_insights_enabled(),
            performance_insights_kms_key_id: None,
            performance_insights_retention_period: i
                .performance_insights_retention_period()
                .filter(|_| i.performance_insights_enabled() == Some(true)),
            monitoring_interval: i.monitoring_interval(),
            monitoring_role_arn: i.monitoring_role_arn().map(|r| Input::Value(RoleArn::unchecked(r))),
            publicly_accessible: i.publicly_accessible(),
            db_parameter_group_name: i
                .db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name())
                .map(|g| Input::Value(DbParameterGroupName::unchecked(g))),
            auto_minor_version_upgrade: i.auto_minor_version_upgrade(),
            apply_immediately: None,
            tags: user_tags(&tags),
        };
        let endpoint = i.endpoint();
        let out = ClusterInstanceOut {
            arn: Arn::unchecked(i.db_instance_arn().unwrap_or_default()),
            id: DbInstanceId::unchecked(&id),
            endpoint: DnsName::unchecked(endpoint.and_then(|e| e.address()).unwrap_or_default()),
            port: endpoint.and_then(|e| e.port()).or(i.db_instance_port()).unwrap_or_default(),
            dbi_resource_id: i.dbi_resource_id().unwrap_or_default().to_owned(),
        };
        Ok(Seen { id, decl, out, tags, status: status(i.db_instance_status()) })
    }

    async fn one(cx: &Ctx, id: &str) -> Result<Option<DbInstance>, ProviderError> {
        Ok(describe(cx, &[id.to_owned()]).await?.into_iter().find(|i| i.db_instance_identifier() == Some(id)))
    }

    #[async_trait]
    impl Kind for ClusterInstanceKind {
        type Decl = ClusterInstance;
        type Out = ClusterInstanceOut;
        const SERVICE: Service = Service::Rds;
        const TIMINGS: Timings = Timings::secs(900, 900, 600, 15, 7200);
        const DELETE_WAITS: bool = true;
        const WRITE_ONLY: &'static [&'static str] = &["performance_insights_kms_key_id", "apply_immediately"];

        /// DescribeDBInstances by `db-instance-id`, 100 per filter.
        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, ClusterInstance>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let instances = match by {
                Lookup::Ids(ids) => describe(cx, ids).await?,
                Lookup::Key(d) => describe(cx, std::slice::from_ref(&d.identifier)).await?,
                Lookup::Tag(..) => return Ok(Vec::new()),
            };
            instances.iter().map(seen).collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &ClusterInstance,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            if one(cx, &d.identifier).await?.is_some() {
                return Err(taken("DB instance", &d.identifier));
            }
            let call = cx
                .rds()
                .create_db_instance()
                .db_instance_identifier(&d.identifier)
                .db_cluster_identifier(d.cluster_identifier.id())
                .db_instance_class(&d.instance_class)
                .engine(&d.engine)
                .set_promotion_tier(d.promotion_tier)
                .set_enable_performance_insights(d.performance_insights_enabled)
                .set_performance_insights_kms_key_id(id_of(&d.performance_insights_kms_key_id))
                .set_performance_insights_retention_period(d.performance_insights_retention_period)
                .set_monitoring_interval(d.monitoring_interval)
                .set_monitoring_role_arn(id_of(&d.monitoring_role_arn))
                .publicly_accessible(d.publicly_accessible.unwrap_or(false))
                .set_db_parameter_group_name(id_of(&d.db_parameter_group_name))
                .set_auto_minor_version_upgrade(d.auto_minor_version_upgrade)
                .set_tags(Some(rds_tags(tags)));
            send(cx, "CreateDBInstance", Operation::Create, || call.clone().send()).await?;
            Ok(d.identifier.clone())
        }

        /// One ModifyDBInstance with every changed field.
        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, ClusterInstance>,
        ) -> Result<(), ProviderError> {
            let d = c.after;
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            let mut call = cx
                .rds()
                .modify_db_instance()
                .db_instance_identifier(id)
                .apply_immediately(d.apply_immediately.unwrap_or(false));
            let mut any = false;
            if changed("instance_class") {
                call = call.db_instance_class(&d.instance_class);
                any = true;
            }
            if changed("promotion_tier") {
                call = call.promotion_tier(d.promotion_tier.unwrap_or(1));
                any = true;
            }
            let insights = [
                "performance_insights_enabled",
                "performance_insights_kms_key_id",
                "performance_insights_retention_period",
            ];
            if insights.iter().any(|f| changed(f)) {
                let on = d.performance_insights_enabled == Some(true);
                call = call
                    .enable_performance_insights(on)
                    .set_performance_insights_kms_key_id(
                        id_of(&d.performance_insights_kms_key_id).filter(|_| on),
                    )
                    .set_performance_insights_retention_period(
                        d.performance_insights_retention_period.filter(|_| on),
                    );
                any = true;
            }
            if changed("monitoring_interval") || changed("monitoring_role_arn") {
                call = call
                    .monitoring_interval(d.monitoring_interval.unwrap_or(0))
                    .set_monitoring_role_arn(id_of(&d.monitoring_role_arn));
                any = true;
            }
            if changed("publicly_accessible") {
                call = call.publicly_accessible(d.publicly_accessible.unwrap_or(false));
                any = true;
            }
            if changed("db_parameter_group_name") {
                let group = match id_of(&d.db_parameter_group_name) {
                    Some(g) => g,
                    // Unset: back to the engine's default group.
                    None => {
                        let i = one(cx, id).await?.ok_or_else(|| missing("DB instance"))?;
                        default_group(&d.engine, i.engine_version().unwrap_or_default())
                    }
                };
                call = call.db_parameter_group_name(group);
                any = true;
            }
            if changed("auto_minor_version_upgrade") {
                call = call.auto_minor_version_upgrade(d.auto_minor_version_upgrade.unwrap_or(true));
                any = true;
            }
            if !any {
                return Ok(());
            }
            send(cx, "ModifyDBInstance", Operation::Update, || call.clone().send()).await.map(drop)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let arn = one(cx, id).await?.and_then(|i| i.db_instance_arn);
            retag_found(cx, arn.as_deref(), "DB instance", remove, add).await
        }

        /// An Aurora instance has no final snapshot of its own (the
        /// cluster's volume holds the data).
        async fn delete(&self, cx: &Ctx, id: &str, _: &ClusterInstance) -> Result<(), ProviderError> {
            let call = cx.rds().delete_db_instance().db_instance_identifier(id);
            send(cx, "DeleteDBInstance", Operation::Delete, || call.clone().send()).await.map(drop)
        }
    }
}
