use std::collections::BTreeMap;

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{Arn, DbClusterParameterGroupName, DbParameterGroupName};
use crate::rds::subnet_group::DEFAULT_DESCRIPTION;

/// One parameter's value and when a change of it takes effect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbParameter {
    pub value: String,
    /// `immediate` (the default, recorded as unset) or `pending-reboot`
    /// (what AWS requires for a static parameter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_method: Option<String>,
}

impl DbParameter {
    /// A value applied at once (a dynamic parameter).
    pub fn new(value: impl Into<String>) -> Self {
        DbParameter { value: value.into(), apply_method: None }
    }

    /// A value applied at the next reboot (a static parameter).
    pub fn pending_reboot(value: impl Into<String>) -> Self {
        DbParameter { value: value.into(), apply_method: Some("pending-reboot".into()) }
    }
}

/// An Aurora cluster parameter group (`aws_rds_cluster_parameter_group`):
/// settings of every instance of the clusters that use it.
///
/// Its ID is its name (AWS stores it lowercased). The name, the family
/// (`aurora-postgresql15`, `aurora-mysql8.0`: the engine's major version)
/// and the description replace the group; the parameters change in place
/// (`ModifyDBClusterParameterGroup` for new and changed values,
/// `ResetDBClusterParameterGroup` for removed ones, 20 per call). Only the
/// declared parameters are read back (`Source=user`): the engine's
/// hundreds of defaults are not the declaration's business.
///
/// Outputs: `group.name()` (for a cluster's
/// `db_cluster_parameter_group_name`), `arn`.
///
/// # Example
///
/// ```
/// use std::collections::BTreeMap;
/// use infra::prelude::*;
/// use infra::aws::rds::{DbClusterParameterGroup, DbParameter};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// stack.add("cluster-params", DbClusterParameterGroup {
///     name: "product-pg15".into(),
///     family: "aurora-postgresql15".into(),
///     parameters: BTreeMap::from([
///         ("log_min_duration_statement".into(), DbParameter::new("500")),
///         ("shared_preload_libraries".into(), DbParameter::pending_reboot("pg_stat_statements")),
///     ]),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:rds:ClusterParameterGroup",
    outputs(arn: Arn, name: DbClusterParameterGroupName),
    readiness = "on_id",
    validate = validate_cluster_group,
    validate_type = crate::rules::unique,
    normalise = cluster_defaults_unset
)]
pub struct DbClusterParameterGroup {
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub family: String,
    /// Unset: "Managed by infra" (AWS requires one).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, DbParameter>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An RDS DB parameter group (`aws_db_parameter_group`): settings of the
/// instances that use it (an Aurora instance's `db_parameter_group_name`).
/// Behaves as [`DbClusterParameterGroup`] does, through the instance-level
/// calls (`ModifyDBParameterGroup`, `ResetDBParameterGroup`).
///
/// # Example
///
/// ```
/// use std::collections::BTreeMap;
/// use infra::prelude::*;
/// use infra::aws::rds::{DbParameter, DbParameterGroup};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let params = stack.add("instance-params", DbParameterGroup {
///     name: "product-pg15-instances".into(),
///     family: "aurora-postgresql15".into(),
///     parameters: BTreeMap::from([("log_connections".into(), DbParameter::new("1"))]),
///     ..Default::default()
/// });
/// let _name: Output<infra::aws::ids::DbParameterGroupName> = params.name();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:rds:ParameterGroup",
    outputs(arn: Arn, name: DbParameterGroupName),
    readiness = "on_id",
    validate = validate_instance_group,
    validate_type = crate::rules::unique,
    normalise = instance_defaults_unset
)]
pub struct DbParameterGroup {
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub family: String,
    /// Unset: "Managed by infra" (AWS requires one).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, DbParameter>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_group(
    ctx: &mut ValidationContext<'_>,
    name: &str,
    family: &str,
    params: &BTreeMap<String, DbParameter>,
) {
    crate::rds::check_identifier(ctx, "name", name, 255);
    let family_ok = !family.is_empty()
        && family.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if !family_ok {
        ctx.error("family", format!("{family:?} is not a parameter group family, e.g. aurora-postgresql15"));
    }
    for (name, p) in params {
        if name.is_empty() || name.contains(char::is_whitespace) {
            ctx.error(&format!("parameters[{name:?}]"), "a parameter name has no spaces");
        }
        if let Some(m) = &p.apply_method
            && m != "immediate"
            && m != "pending-reboot"
        {
            ctx.error(
                &format!("parameters[{name:?}].apply_method"),
                format!("{m:?} must be immediate or pending-reboot"),
            );
        }
    }
}

fn validate_cluster_group(g: &DbClusterParameterGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    validate_group(ctx, &g.name, &g.family, &g.parameters);
}

fn validate_instance_group(g: &DbParameterGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    validate_group(ctx, &g.name, &g.family, &g.parameters);
}

/// AWS's defaults recorded as unset.
fn defaults_unset(description: &mut Option<String>, params: &mut BTreeMap<String, DbParameter>) {
    if description.as_deref() == Some(DEFAULT_DESCRIPTION) {
        *description = None;
    }
    for p in params.values_mut() {
        if p.apply_method.as_deref() == Some("immediate") {
            p.apply_method = None;
        }
    }
}

fn cluster_defaults_unset(g: &mut DbClusterParameterGroup) {
    defaults_unset(&mut g.description, &mut g.parameters);
}

fn instance_defaults_unset(g: &mut DbParameterGroup) {
    defaults_unset(&mut g.description, &mut g.parameters);
}

#[cfg(feature = "rds")]
pub(crate) mod imp {
    use std::collections::BTreeMap;
    use std::fmt::Debug;
    use std::marker::PhantomData;

    use async_trait::async_trait;
    use aws_sdk_rds::types::{ApplyMethod, Parameter};
    use infra_core::Resource;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::{
        DEFAULT_DESCRIPTION, DbClusterParameterGroup, DbClusterParameterGroupOut, DbParameter,
        DbParameterGroup, DbParameterGroupOut,
    };
    use crate::ids::{Arn, DbClusterParameterGroupName, DbParameterGroupName};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::rds::sdk::{each, list_tags, rds_tags, retag, send};

    /// A group as both APIs describe it.
    pub(crate) struct Group {
        name: String,
        arn: String,
        family: String,
        description: Option<String>,
    }

    /// What differs between the cluster and the instance parameter groups:
    /// the declaration, its outputs, and which calls (`CLUSTER`).
    pub(crate) trait Flavour:
        Resource + DeserializeOwned + Clone + Debug + Send + Sync + 'static
    {
        const CLUSTER: bool;
        type Out: Serialize + Clone + Debug + Send + Sync;
        fn name(&self) -> &str;
        fn family(&self) -> &str;
        fn description(&self) -> Option<&str>;
        fn parameters(&self) -> &BTreeMap<String, DbParameter>;
        fn seen(g: Group, parameters: BTreeMap<String, DbParameter>, tags: Tags) -> (Self, Self::Out);
    }

    /// The [`Flavour`] of a declaration `$decl` with outputs `$out` and
    /// name type `$name`.
    macro_rules! flavour {
        ($decl:ident, $out:ident, $name:ident, $cluster:literal) => {
            impl Flavour for $decl {
                const CLUSTER: bool = $cluster;
                type Out = $out;
                fn name(&self) -> &str {
                    &self.name
                }
                fn family(&self) -> &str {
                    &self.family
                }
                fn description(&self) -> Option<&str> {
                    self.description.as_deref()
                }
                fn parameters(&self) -> &BTreeMap<String, DbParameter> {
                    &self.parameters
                }
                fn seen(
                    g: Group,
                    parameters: BTreeMap<String, DbParameter>,
                    tags: Tags,
                ) -> (Self, Self::Out) {
                    let out = $out { arn: Arn::unchecked(g.arn), name: $name::unchecked(&g.name) };
                    let (name, family, description) = (g.name, g.family, g.description);
                    ($decl { name, family, description, parameters, tags }, out)
                }
            }
        };
    }

    flavour!(DbClusterParameterGroup, DbClusterParameterGroupOut, DbClusterParameterGroupName, true);
    flavour!(DbParameterGroup, DbParameterGroupOut, DbParameterGroupName, false);

    /// `aws:rds:ClusterParameterGroup` and `aws:rds:ParameterGroup`.
    #[derive(Debug)]
    pub(crate) struct ParameterGroupKind<D>(pub(crate) PhantomData<D>);

    /// The group `name`, or every group of the region.
    async fn describe<D: Flavour>(cx: &Ctx, name: Option<&str>) -> Result<Vec<Group>, ProviderError> {
        let name = name.map(str::to_owned);
        let found = cx
            .paged(|next| {
                let rds = cx.rds();
                let name = name.clone();
                async move {
                    if D::CLUSTER {
                        let call = rds
                            .describe_db_cluster_parameter_groups()
                            .set_db_cluster_parameter_group_name(name)
                            .set_marker(next);
                        let out = send(cx, "DescribeDBClusterParameterGroups", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                        let groups =
                            out.db_cluster_parameter_groups.unwrap_or_default().into_iter().map(|g| Group {
                                name: g.db_cluster_parameter_group_name.unwrap_or_default(),
                                arn: g.db_cluster_parameter_group_arn.unwrap_or_default(),
                                family: g.db_parameter_group_family.unwrap_or_default(),
                                description: g.description,
                            });
                        Ok((groups.collect(), out.marker))
                    } else {
                        let call = rds
                            .describe_db_parameter_groups()
                            .set_db_parameter_group_name(name)
                            .set_marker(next);
                        let out =
                            send(cx, "DescribeDBParameterGroups", Operation::Read, || call.clone().send())
                                .await?;
                        let groups = out.db_parameter_groups.unwrap_or_default().into_iter().map(|g| Group {
                            name: g.db_parameter_group_name.unwrap_or_default(),
                            arn: g.db_parameter_group_arn.unwrap_or_default(),
                            family: g.db_parameter_group_family.unwrap_or_default(),
                            description: g.description,
                        });
                        Ok((groups.collect(), out.marker))
                    }
                }
            })
            .await;
        match found {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    /// The parameters the group's owner set (`Source=user`).
    async fn parameters<D: Flavour>(
        cx: &Ctx,
        name: &str,
    ) -> Result<BTreeMap<String, DbParameter>, ProviderError> {
        let params: Vec<Parameter> = cx
            .paged(|next| {
                let rds = cx.rds();
                async move {
                    if D::CLUSTER {
                        let call = rds
                            .describe_db_cluster_parameters()
                            .db_cluster_parameter_group_name(name)
                            .source("user")
                            .set_marker(next);
                        let out =
                            send(cx, "DescribeDBClusterParameters", Operation::Read, || call.clone().send())
                                .await?;
                        Ok((out.parameters.unwrap_or_default(), out.marker))
                    } else {
                        let call = rds
                            .describe_db_parameters()
                            .db_parameter_group_name(name)
                            .source("user")
                            .set_marker(next);
                        let out =
                            send(cx, "DescribeDBParameters", Operation::Read, || call.clone().send()).await?;
                        Ok((out.parameters.unwrap_or_default(), out.marker))
                    }
                }
            })
            .await?;
        Ok(params
            .into_iter()
            .filter_map(|p| {
                let value = p.parameter_value?;
                let apply_method = p.apply_method.map(|m| m.as_str().to_owned()).filter(|m| m != "immediate");
                Some((p.parameter_name?, DbParameter { value, apply_method }))
            })
            .collect())
    }

    async fn seen<D: Flavour>(cx: &Ctx, g: Group) -> Result<Seen<ParameterGroupKind<D>>, ProviderError> {
        let (params, tags) =
            futures_util::future::try_join(parameters::<D>(cx, &g.name), list_tags(cx, &g.arn)).await?;
        let id = g.name.clone();
        let (decl, out) = D::seen(g, params, user_tags(&tags));
        Ok(Seen::ready(id, decl, out, tags))
    }

    /// Sets `set` and resets `reset` to the engine's defaults, 20 per call.
    async fn modify<D: Flavour>(
        cx: &Ctx,
        name: &str,
        set: Vec<Parameter>,
        reset: Vec<Parameter>,
        op: Operation,
    ) -> Result<(), ProviderError> {
        let rds = cx.rds();
        for chunk in set.chunks(20) {
            if D::CLUSTER {
                let call = rds
                    .modify_db_cluster_parameter_group()
                    .db_cluster_parameter_group_name(name)
                    .set_parameters(Some(chunk.to_vec()));
                send(cx, "ModifyDBClusterParameterGroup", op, || call.clone().send()).await?;
            } else {
                let call = rds
                    .modify_db_parameter_group()
                    .db_parameter_group_name(name)
                    .set_parameters(Some(chunk.to_vec()));
                send(cx, "ModifyDBParameterGroup", op, || call.clone().send()).await?;
            }
        }
        for chunk in reset.chunks(20) {
            if D::CLUSTER {
                let call = rds
                    .reset_db_cluster_parameter_group()
                    .db_cluster_parameter_group_name(name)
                    .reset_all_parameters(false)
                    .set_parameters(Some(chunk.to_vec()));
                send(cx, "ResetDBClusterParameterGroup", op, || call.clone().send()).await?;
            } else {
                let call = rds
                    .reset_db_parameter_group()
                    .db_parameter_group_name(name)
                    .reset_all_parameters(false)
                    .set_parameters(Some(chunk.to_vec()));
                send(cx, "ResetDBParameterGroup", op, || call.clone().send()).await?;
            }
        }
        Ok(())
    }

    fn parameter(name: &str, p: Option<&DbParameter>) -> Parameter {
        let method = p.and_then(|p| p.apply_method.as_deref()).unwrap_or("immediate");
        Parameter::builder()
            .parameter_name(name)
            .set_parameter_value(p.map(|p| p.value.clone()))
            .apply_method(ApplyMethod::from(method))
            .build()
    }

    #[async_trait]
    impl<D: Flavour> Kind for ParameterGroupKind<D> {
        type Decl = D;
        type Out = D::Out;
        const SERVICE: Service = Service::Rds;
        const TIMINGS: Timings = Timings::secs(2, 2, 5, 2, 900);

        /// One call for one name, else one listing of the region's groups;
        /// then each group's parameters and tags (one call each per group:
        /// the API has no batched form).
        async fn list(&self, cx: &Ctx, by: Lookup<'_, D>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let groups = match by {
                Lookup::Ids([one]) => describe::<D>(cx, Some(one)).await?,
                Lookup::Key(d) => describe::<D>(cx, Some(d.name())).await?,
                Lookup::Ids([]) | Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Ids(names) => {
                    let mut all = describe::<D>(cx, None).await?;
                    all.retain(|g| names.contains(&g.name));
                    all
                }
            };
            each(groups, |g| seen::<D>(cx, g)).await
        }

        async fn create(&self, cx: &Ctx, d: &D, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            let (family, description) = (d.family(), d.description().unwrap_or(DEFAULT_DESCRIPTION));
            let rds = cx.rds();
            if D::CLUSTER {
                let call = rds
                    .create_db_cluster_parameter_group()
                    .db_cluster_parameter_group_name(d.name())
                    .db_parameter_group_family(family)
                    .description(description)
                    .set_tags(Some(rds_tags(tags)));
                send(cx, "CreateDBClusterParameterGroup", Operation::Create, || call.clone().send()).await?;
            } else {
                let call = rds
                    .create_db_parameter_group()
                    .db_parameter_group_name(d.name())
                    .db_parameter_group_family(family)
                    .description(description)
                    .set_tags(Some(rds_tags(tags)));
                send(cx, "CreateDBParameterGroup", Operation::Create, || call.clone().send()).await?;
            }
            let set = d.parameters().iter().map(|(k, p)| parameter(k, Some(p))).collect();
            modify::<D>(cx, d.name(), set, Vec::new(), Operation::Create).await?;
            Ok(d.name().to_owned())
        }

        /// New and changed values are set, removed ones reset.
        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, D>) -> Result<(), ProviderError> {
            let (before, after) = (c.before.parameters(), c.after.parameters());
            let set = after
                .iter()
                .filter(|(k, p)| before.get(*k) != Some(p))
                .map(|(k, p)| parameter(k, Some(p)))
                .collect();
            let reset =
                before.keys().filter(|k| !after.contains_key(*k)).map(|k| parameter(k, None)).collect();
            modify::<D>(cx, id, set, reset, Operation::Update).await
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let found = describe::<D>(cx, Some(id)).await?;
            let arn = found.first().map(|g| g.arn.clone()).ok_or_else(|| missing("parameter group"))?;
            retag(cx, &arn, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &D) -> Result<(), ProviderError> {
            let rds = cx.rds();
            if D::CLUSTER {
                let call = rds.delete_db_cluster_parameter_group().db_cluster_parameter_group_name(id);
                send(cx, "DeleteDBClusterParameterGroup", Operation::Delete, || call.clone().send())
                    .await
                    .map(drop)
            } else {
                let call = rds.delete_db_parameter_group().db_parameter_group_name(id);
                send(cx, "DeleteDBParameterGroup", Operation::Delete, || call.clone().send()).await.map(drop)
            }
        }
    }
}
