use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, CacheSubnetGroupName, SubnetId};

/// The description AWS requires when none is declared (recorded as unset).
pub(crate) const DEFAULT_DESCRIPTION: &str = "Managed by infra";

/// An ElastiCache subnet group (`aws_elasticache_subnet_group`): the
/// subnets of one VPC a [`super::ReplicationGroup`]'s nodes are placed in.
///
/// Its ID is its name, unique per region (AWS folds it to lowercase, so it
/// is declared in lowercase). The name replaces it, destroy first; the
/// description and the subnets change in place
/// (`ModifyCacheSubnetGroup`). A group still used by a replication group
/// cannot be deleted: its delete is retried while that group goes.
///
/// Outputs: `group.name()` (`CacheSubnetGroupName`, for a replication
/// group's `subnet_group_name`) and `group.arn()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{Subnet, Vpc};
/// use infra::aws::elasticache::CacheSubnetGroup;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let private: Vec<_> = ["us-east-1a", "us-east-1b"]
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
/// let group = stack.add("cache-subnets", CacheSubnetGroup {
///     name: "prod-cache-subnet".into(),
///     subnet_ids: private.iter().map(|s| s.id().into()).collect(),
///     ..Default::default()
/// });
/// let _name: Output<infra::aws::ids::CacheSubnetGroupName> = group.name();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:elasticache:SubnetGroup",
    outputs(name: CacheSubnetGroupName, arn: Arn),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_subnet_group,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct CacheSubnetGroup {
    /// 1 to 255 lowercase letters, digits and hyphens, a letter first.
    #[resource(force_new)]
    pub name: String,
    /// At most 255 characters; `Managed by infra` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Subnets of one VPC (at least one; AWS takes up to 20).
    #[resource(set)]
    pub subnet_ids: Vec<Input<SubnetId>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_subnet_group(g: &CacheSubnetGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    super::check_name(ctx, "name", &g.name, 255);
    if g.name == "default" {
        ctx.error("name", "\"default\" is AWS's own subnet group: choose another name");
    }
    if let Some(d) = &g.description
        && (d.is_empty() || d.chars().count() > 255)
    {
        ctx.error("description", "a description is 1 to 255 characters (leave it unset for the default)");
    }
    match g.subnet_ids.len() {
        0 => ctx.error("subnet_ids", "a subnet group needs at least one subnet"),
        n if n > 20 => ctx.error("subnet_ids", format!("{n} subnets: a subnet group takes at most 20")),
        _ => {}
    }
}

fn defaults_unset(g: &mut CacheSubnetGroup) {
    if g.description.as_deref() == Some(DEFAULT_DESCRIPTION) {
        g.description = None;
    }
}

#[cfg(feature = "elasticache")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_elasticache::types::CacheSubnetGroup as Group;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{CacheSubnetGroup, CacheSubnetGroupOut, DEFAULT_DESCRIPTION};
    use crate::elasticache::sdk::{PAGE, ec_tags, named, or_none, retag, tags_of};
    use crate::ids::{Arn, CacheSubnetGroupName, SubnetId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:elasticache:SubnetGroup` through the ElastiCache API.
    #[derive(Debug)]
    pub(crate) struct CacheSubnetGroupKind;

    /// The subnet group `name`, or every one (`None`); a missing name is
    /// an empty answer.
    async fn describe(cx: &Ctx, name: Option<String>) -> Result<Vec<Group>, ProviderError> {
        let listed = cx
            .paged(|marker| {
                let call = cx
                    .elasticache()
                    .describe_cache_subnet_groups()
                    .set_cache_subnet_group_name(name.clone())
                    .max_records(PAGE)
                    .set_marker(marker);
                async move {
                    let out = cx
                        .send_in(Service::ElastiCache, "DescribeCacheSubnetGroups", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    Ok((out.cache_subnet_groups.unwrap_or_default(), out.marker))
                }
            })
            .await;
        or_none(listed)
    }

    async fn seen(cx: &Ctx, g: &Group) -> Result<Option<Seen<CacheSubnetGroupKind>>, ProviderError> {
        let name = g.cache_subnet_group_name().ok_or_else(|| missing("subnet group name"))?.to_owned();
        let arn = g.arn().ok_or_else(|| missing("subnet group ARN"))?.to_owned();
        let tags = match tags_of(cx, &arn).await {
            Ok(t) => t,
            // Deleted between the two calls.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let decl = CacheSubnetGroup {
            name: name.clone(),
            description: g.cache_subnet_group_description().map(str::to_owned),
            subnet_ids: g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier())
                .map(|s| Input::Value(SubnetId::unchecked(s)))
                .collect(),
            tags: user_tags(&tags),
        };
        let out =
            CacheSubnetGroupOut { name: CacheSubnetGroupName::unchecked(&name), arn: Arn::unchecked(arn) };
        Ok(Some(Seen::ready(name, decl, out, tags)))
    }

    async fn arn_of(cx: &Ctx, name: &str) -> Result<String, ProviderError> {
        let found = describe(cx, Some(name.to_owned())).await?;
        found.first().and_then(|g| g.arn()).map(str::to_owned).ok_or_else(|| missing("subnet group"))
    }

    #[async_trait]
    impl Kind for CacheSubnetGroupKind {
        type Decl = CacheSubnetGroup;
        type Out = CacheSubnetGroupOut;
        const SERVICE: Service = Service::ElastiCache;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 600);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, CacheSubnetGroup>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let groups =
                named(by, |d| &d.name, |g: &Group| g.cache_subnet_group_name(), |n| describe(cx, n)).await?;
            let mut out = Vec::new();
            for s in futures_util::future::join_all(groups.iter().map(|g| seen(cx, g))).await {
                out.extend(s?);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &CacheSubnetGroup,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .elasticache()
                .create_cache_subnet_group()
                .cache_subnet_group_name(&d.name)
                .cache_subnet_group_description(d.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
                .set_subnet_ids(Some(d.subnet_ids.iter().map(|s| s.id().to_owned()).collect()))
                .set_tags(Some(ec_tags(tags)));
            cx.send_in(Service::ElastiCache, "CreateCacheSubnetGroup", Operation::Create, || {
                call.clone().send()
            })
            .await?;
            Ok(d.name.clone())
        }

        async fn update(
            &self,
            cx: &Ctx,
            name: &str,
            c: Change<'_, CacheSubnetGroup>,
        ) -> Result<(), ProviderError> {
            let d = c.after;
            let call = cx
                .elasticache()
                .modify_cache_subnet_group()
                .cache_subnet_group_name(name)
                .cache_subnet_group_description(d.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
                .set_subnet_ids(Some(d.subnet_ids.iter().map(|s| s.id().to_owned()).collect()));
            settle(|| {
                cx.send_in(Service::ElastiCache, "ModifyCacheSubnetGroup", Operation::Update, || {
                    call.clone().send()
                })
            })
            .await
            .map(drop)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            name: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, &arn_of(cx, name).await?, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, name: &str, _: &CacheSubnetGroup) -> Result<(), ProviderError> {
            let call = cx.elasticache().delete_cache_subnet_group().cache_subnet_group_name(name);
            cx.send_in(Service::ElastiCache, "DeleteCacheSubnetGroup", Operation::Delete, || {
                call.clone().send()
            })
            .await
            .map(drop)
        }
    }
}
