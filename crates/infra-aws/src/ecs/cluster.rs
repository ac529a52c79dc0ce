use std::collections::BTreeMap;

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::EcsClusterArn;

/// One entry of a cluster's default capacity provider strategy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapacityProviderStrategy {
    /// `FARGATE`, `FARGATE_SPOT` or a capacity provider of the account;
    /// one of the cluster's `capacity_providers`.
    pub capacity_provider: String,
    /// The share of tasks (0 to 1000).
    pub weight: i32,
    /// Tasks placed here first (0 to 100000; one entry at most sets it).
    pub base: i32,
}

/// An ECS cluster (`aws_ecs_cluster` with its capacity providers).
///
/// Its ID is its ARN. The name is unique per region: changing it replaces
/// the cluster, destroy first. Container Insights, the capacity providers
/// and their default strategy, and the tags change in place.
///
/// Outputs: `cluster.arn()` (`EcsClusterArn`, where services take their
/// cluster) and `cluster.name()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ecs::{CapacityProviderStrategy, EcsCluster};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let cluster = stack.add("cluster", EcsCluster {
///     name: "prod-cluster".into(),
///     container_insights: Some("enabled".into()),
///     capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
///     default_capacity_provider_strategy: vec![CapacityProviderStrategy {
///         capacity_provider: "FARGATE".into(),
///         weight: 1,
///         base: 1,
///     }],
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::EcsClusterArn> = cluster.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ecs:Cluster",
    outputs(arn: EcsClusterArn, name: String),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_cluster,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct EcsCluster {
    /// The cluster's name, unique in the region.
    #[resource(force_new)]
    pub name: String,
    /// The `containerInsights` setting: `enabled`, `enhanced` or
    /// `disabled` (the default, recorded as unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_insights: Option<String>,
    /// `FARGATE`, `FARGATE_SPOT` or the account's capacity providers.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<String>,
    /// How services without a strategy of their own spread their tasks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategy>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_cluster(c: &EcsCluster, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &c.tags);
    super::check_name(ctx, "name", &c.name);
    if let Some(v) = &c.container_insights
        && !matches!(v.as_str(), "enabled" | "enhanced" | "disabled")
    {
        ctx.error("container_insights", format!("{v:?} must be enabled, enhanced or disabled"));
    }
    let mut based = 0;
    for (i, s) in c.default_capacity_provider_strategy.iter().enumerate() {
        let at = format!("default_capacity_provider_strategy[{i}]");
        if !c.capacity_providers.contains(&s.capacity_provider) {
            ctx.error(
                &format!("{at}.capacity_provider"),
                format!("{:?} is not one of the cluster's capacity_providers", s.capacity_provider),
            );
        }
        if !(0..=1000).contains(&s.weight) {
            ctx.error(&format!("{at}.weight"), format!("{} must be 0 to 1000", s.weight));
        }
        if !(0..=100_000).contains(&s.base) {
            ctx.error(&format!("{at}.base"), format!("{} must be 0 to 100000", s.base));
        }
        if s.base > 0 {
            based += 1;
            if based > 1 {
                ctx.error(&format!("{at}.base"), "only one entry of a strategy may set a base");
            }
        }
    }
    if !c.default_capacity_provider_strategy.is_empty()
        && c.default_capacity_provider_strategy.iter().all(|s| s.weight == 0)
    {
        ctx.error("default_capacity_provider_strategy", "at least one entry needs a weight above 0");
    }
}

/// The canonical form: `disabled` recorded as unset, the providers sorted.
fn defaults_unset(c: &mut EcsCluster) {
    if c.container_insights.as_deref() == Some("disabled") {
        c.container_insights = None;
    }
    c.capacity_providers.sort();
    c.capacity_providers.dedup();
}

#[cfg(feature = "ecs")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_ecs::types::{
        CapacityProviderStrategyItem, ClusterField, ClusterSetting, ClusterSettingName,
    };
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{CapacityProviderStrategy, EcsCluster, EcsClusterOut};
    use crate::ecs::sdk::{as_kind, ecs_tags, invalid, retag, tag_map};
    use crate::ids::EcsClusterArn;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, user_tags};

    /// `aws:ecs:Cluster` through the ECS API.
    #[derive(Debug)]
    pub(crate) struct EcsClusterKind;

    /// Clusters DescribeClusters takes at once.
    const PER_CALL: usize = 100;

    fn seen(c: &aws_sdk_ecs::types::Cluster) -> Result<Seen<EcsClusterKind>, ProviderError> {
        let arn = c.cluster_arn().ok_or_else(|| missing("cluster ARN"))?.to_owned();
        let name = c.cluster_name().unwrap_or_default().to_owned();
        let tags = tag_map(c.tags());
        let decl = EcsCluster {
            name: name.clone(),
            container_insights: c
                .settings()
                .iter()
                .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
                .and_then(|s| s.value().map(str::to_owned)),
            capacity_providers: c.capacity_providers().to_vec(),
            default_capacity_provider_strategy: c
                .default_capacity_provider_strategy()
                .iter()
                .map(|s| CapacityProviderStrategy {
                    capacity_provider: s.capacity_provider().to_owned(),
                    weight: s.weight(),
                    base: s.base(),
                })
                .collect(),
            tags: user_tags(&tags),
        };
        let status = match c.status().unwrap_or("ACTIVE") {
            "ACTIVE" => Status::Ready,
            "INACTIVE" => Status::Gone,
            "FAILED" => Status::Failed(format!("cluster {name} is FAILED")),
            s @ "DEPROVISIONING" => Status::Deleting(s.to_owned()),
            s => Status::Pending(s.to_owned()),
        };
        let out = EcsClusterOut { arn: EcsClusterArn::unchecked(&arn), name };
        Ok(Seen { id: arn, decl, out, tags, status })
    }

    /// The clusters of `names` (names or ARNs) that exist, in any state.
    pub(crate) async fn describe(
        cx: &Ctx,
        names: &[String],
    ) -> Result<Vec<Seen<EcsClusterKind>>, ProviderError> {
        let mut found = Vec::new();
        for chunk in names.chunks(PER_CALL) {
            let call = cx
                .ecs()
                .describe_clusters()
                .set_clusters(Some(chunk.to_vec()))
                .include(ClusterField::Settings)
                .include(ClusterField::Tags);
            let out =
                cx.send_in(Service::Ecs, "DescribeClusters", Operation::Read, || call.clone().send()).await?;
            for c in out.clusters() {
                found.push(seen(c)?);
            }
        }
        Ok(found)
    }

    fn strategy(s: &[CapacityProviderStrategy]) -> Result<Vec<CapacityProviderStrategyItem>, ProviderError> {
        s.iter()
            .map(|s| {
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(&s.capacity_provider)
                    .weight(s.weight)
                    .base(s.base)
                    .build()
                    .map_err(|e| invalid("default_capacity_provider_strategy", e))
            })
            .collect()
    }

    fn insights(d: &EcsCluster) -> ClusterSetting {
        ClusterSetting::builder()
            .name(ClusterSettingName::ContainerInsights)
            .value(d.container_insights.as_deref().unwrap_or("disabled"))
            .build()
    }

    #[async_trait]
    impl Kind for EcsClusterKind {
        type Decl = EcsCluster;
        type Out = EcsClusterOut;
        const SERVICE: Service = Service::Ecs;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 600);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, EcsCluster>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => describe(cx, ids).await,
                // ECS cannot search by tag: a lost create is found by name.
                Lookup::Tag(..) => Ok(Vec::new()),
                Lookup::Key(d) => describe(cx, std::slice::from_ref(&d.name)).await,
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &EcsCluster,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            // AWS answers a CreateCluster of a name in use with the existing
            // cluster (and the emulator re-creates it): a cluster of this
            // name is refused here, so the engine adopts it only when it is
            // this stack's (a lost create) and names `import` otherwise.
            if let Some(there) =
                describe(cx, std::slice::from_ref(&d.name)).await?.into_iter().find(|s| s.status.live())
            {
                return Err(ProviderError::new(
                    ErrorKind::Conflict,
                    format!("an ECS cluster named {} already exists ({})", d.name, there.id),
                )
                .with_code("ClusterAlreadyExists"));
            }
            let call = cx
                .ecs()
                .create_cluster()
                .cluster_name(&d.name)
                .settings(insights(d))
                .set_capacity_providers(
                    (!d.capacity_providers.is_empty()).then(|| d.capacity_providers.clone()),
                )
                .set_default_capacity_provider_strategy(
                    (!d.default_capacity_provider_strategy.is_empty())
                        .then(|| strategy(&d.default_capacity_provider_strategy))
                        .transpose()?,
                )
                .set_tags(Some(ecs_tags(tags)));
            let out =
                cx.send_in(Service::Ecs, "CreateCluster", Operation::Create, || call.clone().send()).await?;
            Ok(out.cluster().and_then(|c| c.cluster_arn()).ok_or_else(|| missing("cluster ARN"))?.to_owned())
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, EcsCluster>) -> Result<(), ProviderError> {
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            let d = c.after;
            if changed("container_insights") {
                // UpdateCluster takes the settings (as Terraform sends
                // them); UpdateClusterSettings does the same on AWS but
                // answers 500 on the emulator.
                let call = cx.ecs().update_cluster().cluster(id).settings(insights(d));
                cx.send_in(Service::Ecs, "UpdateCluster", Operation::Update, || call.clone().send()).await?;
            }
            if changed("capacity_providers") || changed("default_capacity_provider_strategy") {
                let call = cx
                    .ecs()
                    .put_cluster_capacity_providers()
                    .cluster(id)
                    .set_capacity_providers(Some(d.capacity_providers.clone()))
                    .set_default_capacity_provider_strategy(Some(strategy(
                        &d.default_capacity_provider_strategy,
                    )?));
                cx.send_in(Service::Ecs, "PutClusterCapacityProviders", Operation::Update, || {
                    call.clone().send()
                })
                .await?;
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
            retag(cx, id, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &EcsCluster) -> Result<(), ProviderError> {
            let sent = cx
                .send_in(Service::Ecs, "DeleteCluster", Operation::Delete, || {
                    cx.ecs().delete_cluster().cluster(id).send()
                })
                .await;
            match sent {
                Ok(_) => Ok(()),
                // Services deleted moments ago drain for a while: retried.
                Err(e)
                    if matches!(
                        e.code.as_deref(),
                        Some("ClusterContainsServicesException" | "ClusterContainsTasksException")
                            | Some("UpdateInProgressException")
                    ) =>
                {
                    Err(as_kind(e, ErrorKind::EventualConsistency))
                }
                Err(e) => Err(e),
            }
        }
    }
}
